// Reading a failed call's outcome the way a virtgrpc client does: the gRPC status code
// plus the google.rpc.ErrorInfo that virtgrpcd sends as details[0] of the serialized
// google.rpc.Status in the `grpc-status-details-bin` trailer (grpc::Status keeps that
// trailer in error_details()).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"

namespace virtgrpc::testing {

// The default deadline of a test's calls: generous, so a slow machine does not fail a
// test, and short enough that a hanging server fails it rather than the test runner.
constexpr std::chrono::milliseconds kCallTimeout{10000};

// The type URL of a packed google.rpc.ErrorInfo.
constexpr const char kErrorInfoTypeUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";

// The ErrorInfo in details[0] of `status`, or nullopt when the status has no details,
// they do not parse, or details[0] is not an ErrorInfo.
std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const grpc::Status &status);

// The value of ErrorInfo.metadata[key], or "" when absent.
std::string MetadataOf(const google::rpc::ErrorInfo &info, const std::string &key);

// Succeeds when `status` has `code` and an ErrorInfo with `reason`; the failure message
// says what the call really returned. Use as
//   EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
::testing::AssertionResult FailedWith(const grpc::Status &status, grpc::StatusCode code,
                                      const std::string &reason);

// Succeeds when `status` is OK; otherwise says what it was.
::testing::AssertionResult Succeeded(const grpc::Status &status);

// "NOT_FOUND" for grpc::StatusCode::NOT_FOUND.
std::string StatusCodeName(grpc::StatusCode code);

// "NOT_FOUND: <message> [reason VIR_ERR_NO_DOMAIN, domain libvirt.org, code=42 ...]".
std::string Describe(const grpc::Status &status);

// A client context whose call must end within `timeout`.
std::unique_ptr<grpc::ClientContext> ContextWithDeadline(
    std::chrono::milliseconds timeout = kCallTimeout);

// Polls `condition` until it holds or `timeout` passes; returns whether it held. For
// conditions that have no event to wait on (a process state, a server-side change).
bool WaitUntil(const std::function<bool()> &condition, std::chrono::milliseconds timeout);

}  // namespace virtgrpc::testing

namespace grpc {
// Lets googletest print a grpc::Status in failure messages.
void PrintTo(const Status &status, std::ostream *out);
}  // namespace grpc
