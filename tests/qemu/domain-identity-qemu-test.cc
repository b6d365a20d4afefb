// DomainService's identity and configuration RPCs on a real QEMU guest (TCG), where the
// test driver fakes or lacks them: the OS type libvirt reads from the XML, security
// labels of every model, launch security (none: the guest is no AMD SEV guest), the
// control interface and disk errors of a running QEMU, and a live lifecycle action that
// turns the guest's own reboot into a power-off.
//
// Each test has its own server and domain (tests/support/qemu-guest.h).
#include <regex>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-call.h"
#include "tests/support/qemu-guest.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;

using Stub = v1::DomainService::Stub;
using IdentityQemuTest = DomainCalls<QemuGuestTest>;
using BootedIdentityQemuTest = DomainCalls<BootedQemuGuestTest>;

TEST_F(IdentityQemuTest, GetDomainOSTypeOfAQemuGuestIsHvm)
{
    v1::GetDomainOSTypeRequest request;
    *request.mutable_domain() = ref();
    v1::GetDomainOSTypeResponse response;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainOSType, request, &response)));

    EXPECT_EQ(response.os_type(), "hvm");
}

// One label per security driver: with the host's default set-up the "none" model (an
// empty label) and DAC, whose label is the uid:gid QEMU runs as.
TEST_F(IdentityQemuTest, RunningGuestHasALabelPerSecurityModelIncludingDac)
{
    ASSERT_TRUE(Succeeded(Start()));
    v1::ListDomainSecurityLabelsRequest request;
    *request.mutable_domain() = ref();
    v1::ListDomainSecurityLabelsResponse response;
    ASSERT_TRUE(Succeeded(Call(&Stub::ListDomainSecurityLabels, request, &response)));

    ASSERT_GE(response.labels_size(), 1) << response.DebugString();
    bool has_dac = false;
    for (const v1::SecurityLabel &label : response.labels())
        has_dac |= std::regex_match(label.label(), std::regex("\\+[0-9]+:\\+[0-9]+"));
    EXPECT_TRUE(has_dac) << response.DebugString();

    // GetDomainSecurityLabel is the first model's label.
    v1::GetDomainSecurityLabelRequest first_request;
    *first_request.mutable_domain() = ref();
    v1::SecurityLabel first;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainSecurityLabel, first_request, &first)));
    EXPECT_EQ(first.label(), response.labels(0).label());
    EXPECT_EQ(first.enforcing(), response.labels(0).enforcing());
}

TEST_F(IdentityQemuTest, GuestWithoutSevHasNoLaunchSecurityInfo)
{
    ASSERT_TRUE(Succeeded(Start()));
    v1::GetDomainLaunchSecurityInfoRequest request;
    *request.mutable_domain() = ref();
    v1::GetDomainLaunchSecurityInfoResponse response;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainLaunchSecurityInfo, request, &response)));

    EXPECT_EQ(response.params_size(), 0) << response.DebugString();
}

TEST_F(IdentityQemuTest, SetDomainLaunchSecurityStateOnAGuestWithoutSevIsUnsupported)
{
    ASSERT_TRUE(Succeeded(Start()));
    v1::SetDomainLaunchSecurityStateRequest request;
    *request.mutable_domain() = ref();
    v1::TypedParameter *header = request.add_params();
    header->set_name("sev-secret-header");
    header->set_string_value("aGVhZGVy");
    v1::TypedParameter *secret = request.add_params();
    secret->set_name("sev-secret");
    secret->set_string_value("c2VjcmV0");
    v1::Domain domain;
    grpc::Status status = Call(&Stub::SetDomainLaunchSecurityState, request, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_OPERATION_UNSUPPORTED"));
    EXPECT_THAT(status.error_message(), HasSubstr("SEV"));
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(IdentityQemuTest, RunningGuestHasAnIdleControlInterfaceAndNoDiskErrors)
{
    ASSERT_TRUE(Succeeded(Start()));

    v1::GetDomainControlInfoRequest control_request;
    *control_request.mutable_domain() = ref();
    v1::DomainControlInfo control;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainControlInfo, control_request, &control)));
    EXPECT_EQ(control.state(), v1::DOMAIN_CONTROL_STATE_OK);
    EXPECT_EQ(control.error_reason(), v1::DOMAIN_CONTROL_ERROR_REASON_UNSPECIFIED);

    v1::GetDomainDiskErrorsRequest errors_request;
    *errors_request.mutable_domain() = ref();
    v1::GetDomainDiskErrorsResponse errors;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainDiskErrors, errors_request, &errors)));
    EXPECT_EQ(errors.errors_size(), 0) << errors.DebugString();
}

TEST_F(IdentityQemuTest, ControlInfoOfAShutOffGuestFailsPrecondition)
{
    v1::GetDomainControlInfoRequest request;
    *request.mutable_domain() = ref();
    v1::DomainControlInfo control;

    EXPECT_TRUE(FailedWith(Call(&Stub::GetDomainControlInfo, request, &control),
                           grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
}

// <on_reboot>destroy</on_reboot> set on the live guest: the guest's own reboot (through
// its agent) now ends with the domain shut off instead of a new boot.
TEST_F(BootedIdentityQemuTest, LiveRebootDestroyActionTurnsAGuestRebootIntoAPowerOff)
{
    v1::SetDomainLifecycleActionRequest request;
    *request.mutable_domain() = ref();
    request.set_lifecycle(v1::DOMAIN_LIFECYCLE_REBOOT);
    request.set_action(v1::DOMAIN_LIFECYCLE_ACTION_DESTROY);
    request.add_impact(v1::MODIFICATION_IMPACT_LIVE);
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(
        Call(&Stub::SetDomainLifecycleAction, request, &domain, kHypervisorCallTimeout)));
    v1::GetDomainXMLRequest xml_request;
    *xml_request.mutable_domain() = ref();
    v1::GetDomainXMLResponse xml;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainXML, xml_request, &xml)));
    EXPECT_THAT(xml.xml(), HasSubstr("<on_reboot>destroy</on_reboot>"));

    ASSERT_TRUE(Succeeded(Reboot({v1::REBOOT_MODE_GUEST_AGENT})));

    v1::DomainStateInfo state;
    ASSERT_TRUE(WaitForState(v1::DOMAIN_STATE_SHUTOFF, kShutdownTimeout, &state))
        << ReadSerialLog();
    EXPECT_EQ(CountReadyBanners(), 1) << "the guest booted again:\n" << ReadSerialLog();
}

} // namespace
} // namespace virtgrpc::testing
