#include "tests/support/rpc-status.h"

#include <map>
#include <sstream>
#include <thread>

#include "google/rpc/status.pb.h"

namespace virtgrpc::testing {

std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const grpc::Status &status) {
    google::rpc::Status details;
    if (status.error_details().empty() || !details.ParseFromString(status.error_details()))
        return std::nullopt;
    if (details.details_size() == 0 || details.details(0).type_url() != kErrorInfoTypeUrl)
        return std::nullopt;
    google::rpc::ErrorInfo info;
    if (!details.details(0).UnpackTo(&info))
        return std::nullopt;
    return info;
}

std::string MetadataOf(const google::rpc::ErrorInfo &info, const std::string &key) {
    auto found = info.metadata().find(key);
    return found == info.metadata().end() ? "" : found->second;
}

std::string StatusCodeName(grpc::StatusCode code) {
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    int index = static_cast<int>(code);
    if (index >= 0 && index < static_cast<int>(sizeof(names) / sizeof(names[0])))
        return names[index];
    return "CODE_" + std::to_string(index);
}

std::string Describe(const grpc::Status &status) {
    std::ostringstream text;
    text << StatusCodeName(status.error_code());
    if (!status.error_message().empty())
        text << ": " << status.error_message();
    if (auto info = ErrorInfoOf(status)) {
        text << " [reason " << info->reason() << ", domain " << info->domain();
        // Sorted, so messages are stable.
        std::map<std::string, std::string> metadata(info->metadata().begin(),
                                                     info->metadata().end());
        for (const auto &[key, value] : metadata)
            text << ", " << key << "=" << value;
        text << "]";
    } else if (!status.error_details().empty()) {
        text << " [details that are no google.rpc.Status with an ErrorInfo]";
    }
    return text.str();
}

::testing::AssertionResult FailedWith(const grpc::Status &status, grpc::StatusCode code,
                                      const std::string &reason) {
    auto info = ErrorInfoOf(status);
    if (status.error_code() == code && info && info->reason() == reason)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "expected " << StatusCodeName(code) << " with reason " << reason
           << ", got " << Describe(status);
}

::testing::AssertionResult Succeeded(const grpc::Status &status) {
    if (status.ok())
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "the call failed: " << Describe(status);
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(std::chrono::milliseconds timeout) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    return context;
}

bool WaitUntil(const std::function<bool()> &condition, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (condition())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace virtgrpc::testing

namespace grpc {
void PrintTo(const Status &status, std::ostream *out) {
    *out << virtgrpc::testing::Describe(status);
}
}  // namespace grpc
