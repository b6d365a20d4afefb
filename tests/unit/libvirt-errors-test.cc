// The one table from libvirt error numbers to gRPC status codes.
#define VIR_ENUM_SENTINELS  // for VIR_ERR_NUMBER_LAST
#include <string>

#include <gtest/gtest.h>

extern "C" {
#include <libvirt/virterror.h>

#include "server/libvirt-errors.h"
}

namespace {

grpc_status_code StatusOf(int code) { return vg_libvirt_error_lookup(code)->status; }

TEST(LibvirtErrorsTest, MissingObjectsAreNotFound) {
    EXPECT_EQ(StatusOf(VIR_ERR_NO_DOMAIN), GRPC_STATUS_NOT_FOUND);
    EXPECT_EQ(StatusOf(VIR_ERR_NO_DOMAIN_SNAPSHOT), GRPC_STATUS_NOT_FOUND);
    EXPECT_EQ(StatusOf(VIR_ERR_NO_DOMAIN_METADATA), GRPC_STATUS_NOT_FOUND);
}

TEST(LibvirtErrorsTest, ExistingDomainIsAlreadyExists) {
    EXPECT_EQ(StatusOf(VIR_ERR_DOM_EXIST), GRPC_STATUS_ALREADY_EXISTS);
}

TEST(LibvirtErrorsTest, BadInputIsInvalidArgument) {
    EXPECT_EQ(StatusOf(VIR_ERR_INVALID_ARG), GRPC_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(StatusOf(VIR_ERR_XML_ERROR), GRPC_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(StatusOf(VIR_ERR_XML_DETAIL), GRPC_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(StatusOf(VIR_ERR_XML_INVALID_SCHEMA), GRPC_STATUS_INVALID_ARGUMENT);
}

TEST(LibvirtErrorsTest, WrongStateIsFailedPrecondition) {
    EXPECT_EQ(StatusOf(VIR_ERR_OPERATION_INVALID), GRPC_STATUS_FAILED_PRECONDITION);
}

TEST(LibvirtErrorsTest, UnsupportedIsUnimplemented) {
    EXPECT_EQ(StatusOf(VIR_ERR_NO_SUPPORT), GRPC_STATUS_UNIMPLEMENTED);
    EXPECT_EQ(StatusOf(VIR_ERR_ARGUMENT_UNSUPPORTED), GRPC_STATUS_UNIMPLEMENTED);
    EXPECT_EQ(StatusOf(VIR_ERR_OPERATION_UNSUPPORTED), GRPC_STATUS_UNIMPLEMENTED);
}

TEST(LibvirtErrorsTest, DeniedIsPermissionDenied) {
    EXPECT_EQ(StatusOf(VIR_ERR_ACCESS_DENIED), GRPC_STATUS_PERMISSION_DENIED);
    EXPECT_EQ(StatusOf(VIR_ERR_OPERATION_DENIED), GRPC_STATUS_PERMISSION_DENIED);
}

TEST(LibvirtErrorsTest, LostPeersAreUnavailable) {
    EXPECT_EQ(StatusOf(VIR_ERR_AGENT_UNRESPONSIVE), GRPC_STATUS_UNAVAILABLE);
    EXPECT_EQ(StatusOf(VIR_ERR_NO_CONNECT), GRPC_STATUS_UNAVAILABLE);
    EXPECT_EQ(StatusOf(VIR_ERR_RPC), GRPC_STATUS_UNAVAILABLE);
}

TEST(LibvirtErrorsTest, ContentionAndTimeoutsAreAborted) {
    EXPECT_EQ(StatusOf(VIR_ERR_OPERATION_TIMEOUT), GRPC_STATUS_ABORTED);
    EXPECT_EQ(StatusOf(VIR_ERR_RESOURCE_BUSY), GRPC_STATUS_ABORTED);
}

TEST(LibvirtErrorsTest, InternalAndUnknownNumbersAreInternal) {
    EXPECT_EQ(StatusOf(VIR_ERR_INTERNAL_ERROR), GRPC_STATUS_INTERNAL);
    EXPECT_EQ(StatusOf(VIR_ERR_NUMBER_LAST + 100), GRPC_STATUS_INTERNAL);
    EXPECT_STREQ(vg_libvirt_error_lookup(-5)->name, "VIR_ERR_UNKNOWN");
}

// What virDomainGetInfo on a remote connection returned, measured, when libvirtd was
// killed under it: code 38 "Cannot recv data: Connection reset by peer", then code 1
// "internal error: client socket is closed", both from VIR_FROM_RPC.
TEST(LibvirtErrorsTest, LostLibvirtdConnectionIsUnavailable) {
    EXPECT_EQ(vg_libvirt_error_status(VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC),
              GRPC_STATUS_UNAVAILABLE);
    EXPECT_EQ(vg_libvirt_error_status(VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC),
              GRPC_STATUS_UNAVAILABLE);
    EXPECT_EQ(vg_libvirt_error_status(VIR_ERR_RPC, VIR_FROM_RPC), GRPC_STATUS_UNAVAILABLE);
    EXPECT_EQ(vg_libvirt_error_status(VIR_ERR_NO_CONNECT, VIR_FROM_REMOTE),
              GRPC_STATUS_UNAVAILABLE);
    // The same numbers from a driver are that driver's own failures.
    EXPECT_EQ(vg_libvirt_error_status(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU),
              GRPC_STATUS_INTERNAL);
    EXPECT_EQ(vg_libvirt_error_status(VIR_ERR_SYSTEM_ERROR, VIR_FROM_QEMU),
              GRPC_STATUS_INTERNAL);
    EXPECT_EQ(vg_libvirt_error_status(VIR_ERR_NO_DOMAIN, VIR_FROM_RPC), GRPC_STATUS_NOT_FOUND);
}

TEST(LibvirtErrorsTest, EveryLibvirtErrorHasItsOwnName) {
    for (int code = VIR_ERR_OK + 1; code < VIR_ERR_NUMBER_LAST; code++) {
        const vg_libvirt_error *entry = vg_libvirt_error_lookup(code);
        ASSERT_NE(entry->name, nullptr) << code;
        EXPECT_EQ(entry->code, code) << entry->name;
        std::string name = entry->name;
        EXPECT_TRUE(name.rfind("VIR_ERR_", 0) == 0 || name.rfind("VIR_WAR_", 0) == 0) << name;
        EXPECT_NE(entry->status, GRPC_STATUS_OK) << entry->name;
    }
    EXPECT_STREQ(vg_libvirt_error_lookup(VIR_ERR_NO_DOMAIN)->name, "VIR_ERR_NO_DOMAIN");
}

TEST(LibvirtErrorsTest, ErrorDomainsHaveNames) {
    EXPECT_STREQ(vg_libvirt_error_domain_name(VIR_FROM_QEMU), "VIR_FROM_QEMU");
    EXPECT_STREQ(vg_libvirt_error_domain_name(VIR_FROM_TEST), "VIR_FROM_TEST");
    EXPECT_STREQ(vg_libvirt_error_domain_name(100000), "VIR_FROM_UNKNOWN");
}

}  // namespace
