// MemoryService calls in one line each, for tests on the test driver and on QEMU alike:
// requests built from a domain name, the default deadline, and readers that return what
// a test compares and fail the test when the call fails.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/rpc-status.h"
#include "virtgrpc/v1/memory.grpc.pb.h"

namespace virtgrpc::testing {

// The value of `tag` in `stats`, or nullopt when the driver did not report it.
inline std::optional<uint64_t> StatOf(const v1::GetDomainMemoryStatsResponse &stats,
                                      v1::MemoryStatTag tag) {
    for (const v1::MemoryStat &stat : stats.stats()) {
        if (stat.tag() == tag)
            return stat.value();
    }
    return std::nullopt;
}

class MemoryClient {
  public:
    explicit MemoryClient(const std::shared_ptr<grpc::Channel> &channel,
                          std::chrono::milliseconds timeout = kCallTimeout)
        : stub_(v1::MemoryService::NewStub(channel)), timeout_(timeout) {}

    v1::MemoryService::Stub &stub() { return *stub_; }

    grpc::Status GetMaxMemory(const std::string &domain, uint64_t *kib) {
        v1::GetDomainMaxMemoryResponse response;
        grpc::Status status = stub_->GetDomainMaxMemory(
            Context().get(), RequestFor<v1::GetDomainMaxMemoryRequest>(domain), &response);
        *kib = response.max_memory_kib();
        return status;
    }

    // The maximum; fails the test when the call fails.
    uint64_t MaxMemoryOf(const std::string &domain) {
        uint64_t kib = 0;
        EXPECT_TRUE(Succeeded(GetMaxMemory(domain, &kib))) << "max memory of " << domain;
        return kib;
    }

    grpc::Status SetMaxMemory(const std::string &domain, uint64_t kib) {
        auto request = RequestFor<v1::SetDomainMaxMemoryRequest>(domain);
        request.set_max_memory_kib(kib);
        v1::SetDomainMaxMemoryResponse response;
        return stub_->SetDomainMaxMemory(Context().get(), request, &response);
    }

    grpc::Status SetMemory(const std::string &domain, uint64_t kib,
                           std::initializer_list<v1::MemoryModFlag> flags = {}) {
        auto request = RequestFor<v1::SetDomainMemoryRequest>(domain);
        request.set_memory_kib(kib);
        for (v1::MemoryModFlag flag : flags)
            request.add_flags(flag);
        v1::SetDomainMemoryResponse response;
        return stub_->SetDomainMemory(Context().get(), request, &response);
    }

    grpc::Status SetStatsPeriod(const std::string &domain, uint32_t seconds,
                                std::initializer_list<v1::ModificationImpact> impact = {}) {
        auto request = RequestFor<v1::SetDomainMemoryStatsPeriodRequest>(domain, impact);
        request.set_period_seconds(seconds);
        v1::SetDomainMemoryStatsPeriodResponse response;
        return stub_->SetDomainMemoryStatsPeriod(Context().get(), request, &response);
    }

    grpc::Status Stats(const std::string &domain, v1::GetDomainMemoryStatsResponse *response) {
        return stub_->GetDomainMemoryStats(
            Context().get(), RequestFor<v1::GetDomainMemoryStatsRequest>(domain), response);
    }

    grpc::Status Peek(const std::string &domain, v1::MemoryAddressSpace space, uint64_t offset,
                      uint32_t size, v1::PeekDomainMemoryResponse *response) {
        auto request = RequestFor<v1::PeekDomainMemoryRequest>(domain);
        request.set_address_space(space);
        request.set_offset(offset);
        request.set_size_bytes(size);
        return stub_->PeekDomainMemory(Context().get(), request, response);
    }

    grpc::Status StartDirtyRate(const std::string &domain, uint32_t seconds,
                                v1::DirtyRateMode mode = v1::DIRTY_RATE_MODE_UNSPECIFIED) {
        auto request = RequestFor<v1::StartDomainDirtyRateCalcRequest>(domain);
        request.set_seconds(seconds);
        request.set_mode(mode);
        v1::StartDomainDirtyRateCalcResponse response;
        return stub_->StartDomainDirtyRateCalc(Context().get(), request, &response);
    }

  private:
    std::unique_ptr<grpc::ClientContext> Context() { return ContextWithDeadline(timeout_); }

    std::unique_ptr<v1::MemoryService::Stub> stub_;
    std::chrono::milliseconds timeout_;
};

}  // namespace virtgrpc::testing
