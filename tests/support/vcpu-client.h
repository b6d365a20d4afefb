// VcpuService calls in one line each, for tests on the test driver and on QEMU alike:
// requests built from a domain name, the default deadline, and readers that return what
// a test compares (a count, the affinity of each vCPU, the ids of the I/O threads) and
// fail the test when the call fails.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/vcpu.grpc.pb.h"

namespace virtgrpc::testing {

class VcpuClient {
  public:
    using Impact = std::initializer_list<v1::ModificationImpact>;
    using Cpus = std::vector<uint32_t>;

    explicit VcpuClient(const std::shared_ptr<grpc::Channel> &channel,
                        std::chrono::milliseconds timeout = kCallTimeout)
        : stub_(v1::VcpuService::NewStub(channel)), timeout_(timeout) {}

    v1::VcpuService::Stub &stub() { return *stub_; }

    grpc::Status GetMaxVcpus(const std::string &domain, uint32_t *max_vcpus) {
        v1::GetDomainMaxVcpusResponse response;
        grpc::Status status = stub_->GetDomainMaxVcpus(
            Context().get(), RequestFor<v1::GetDomainMaxVcpusRequest>(domain), &response);
        *max_vcpus = response.max_vcpus();
        return status;
    }

    grpc::Status GetCount(const std::string &domain, std::initializer_list<v1::VcpuFlag> flags,
                          uint32_t *count) {
        auto request = RequestFor<v1::GetDomainVcpuCountRequest>(domain);
        for (v1::VcpuFlag flag : flags)
            request.add_flags(flag);
        v1::GetDomainVcpuCountResponse response;
        grpc::Status status = stub_->GetDomainVcpuCount(Context().get(), request, &response);
        *count = response.vcpus();
        return status;
    }

    // The count; fails the test when the call fails.
    uint32_t CountOf(const std::string &domain,
                     std::initializer_list<v1::VcpuFlag> flags = {}) {
        uint32_t count = 0;
        EXPECT_TRUE(Succeeded(GetCount(domain, flags, &count))) << "vCPU count of " << domain;
        return count;
    }

    grpc::Status SetCount(const std::string &domain, uint32_t vcpus,
                          std::initializer_list<v1::VcpuFlag> flags = {}) {
        auto request = RequestFor<v1::SetDomainVcpuCountRequest>(domain);
        request.set_vcpus(vcpus);
        for (v1::VcpuFlag flag : flags)
            request.add_flags(flag);
        v1::SetDomainVcpuCountResponse response;
        return stub_->SetDomainVcpuCount(Context().get(), request, &response);
    }

    grpc::Status SetVcpus(const std::string &domain, const Cpus &vcpus, bool enable,
                          Impact impact = {}) {
        auto request = RequestFor<v1::SetDomainVcpuRequest>(domain, impact);
        for (uint32_t vcpu : vcpus)
            request.add_vcpus(vcpu);
        request.set_enable(enable);
        v1::SetDomainVcpuResponse response;
        return stub_->SetDomainVcpu(Context().get(), request, &response);
    }

    grpc::Status GuestVcpus(const std::string &domain,
                            v1::GetDomainGuestVcpusResponse *response) {
        return stub_->GetDomainGuestVcpus(
            Context().get(), RequestFor<v1::GetDomainGuestVcpusRequest>(domain), response);
    }

    grpc::Status SetGuestVcpus(const std::string &domain, const Cpus &vcpus, bool online) {
        auto request = RequestFor<v1::SetDomainGuestVcpusRequest>(domain);
        for (uint32_t vcpu : vcpus)
            request.add_vcpus(vcpu);
        request.set_online(online);
        v1::SetDomainGuestVcpusResponse response;
        return stub_->SetDomainGuestVcpus(Context().get(), request, &response);
    }

    grpc::Status Info(const std::string &domain, Impact impact,
                      v1::GetDomainVcpuInfoResponse *response) {
        return stub_->GetDomainVcpuInfo(
            Context().get(), RequestFor<v1::GetDomainVcpuInfoRequest>(domain, impact),
            response);
    }

    // The affinity of every vCPU, by number; fails the test when the call fails.
    std::vector<Cpus> Affinities(const std::string &domain, Impact impact = {}) {
        v1::GetDomainVcpuInfoResponse response;
        EXPECT_TRUE(Succeeded(Info(domain, impact, &response))) << "vCPU info of " << domain;
        std::vector<Cpus> affinities;
        for (const v1::VcpuInfo &vcpu : response.vcpus())
            affinities.emplace_back(vcpu.affinity().begin(), vcpu.affinity().end());
        return affinities;
    }

    grpc::Status PinVcpu(const std::string &domain, uint32_t vcpu, const Cpus &cpus,
                         Impact impact = {}) {
        auto request = RequestFor<v1::PinDomainVcpuRequest>(domain, impact);
        request.set_vcpu(vcpu);
        for (uint32_t cpu : cpus)
            request.add_cpus(cpu);
        v1::PinDomainVcpuResponse response;
        return stub_->PinDomainVcpu(Context().get(), request, &response);
    }

    grpc::Status GetEmulatorPinInfo(const std::string &domain, Impact impact,
                                    v1::GetDomainEmulatorPinInfoResponse *response) {
        return stub_->GetDomainEmulatorPinInfo(
            Context().get(), RequestFor<v1::GetDomainEmulatorPinInfoRequest>(domain, impact),
            response);
    }

    // The emulator threads' affinity; fails the test when the call fails.
    Cpus EmulatorAffinity(const std::string &domain, Impact impact = {}) {
        v1::GetDomainEmulatorPinInfoResponse response;
        EXPECT_TRUE(Succeeded(GetEmulatorPinInfo(domain, impact, &response)));
        return {response.affinity().begin(), response.affinity().end()};
    }

    grpc::Status PinEmulator(const std::string &domain, const Cpus &cpus, Impact impact = {}) {
        auto request = RequestFor<v1::PinDomainEmulatorRequest>(domain, impact);
        for (uint32_t cpu : cpus)
            request.add_cpus(cpu);
        v1::PinDomainEmulatorResponse response;
        return stub_->PinDomainEmulator(Context().get(), request, &response);
    }

    grpc::Status ListIOThreads(const std::string &domain, Impact impact,
                               v1::ListDomainIOThreadsResponse *response) {
        return stub_->ListDomainIOThreads(
            Context().get(), RequestFor<v1::ListDomainIOThreadsRequest>(domain, impact),
            response);
    }

    // The domain's I/O threads; fails the test when the call fails.
    std::vector<v1::IOThreadInfo> IOThreads(const std::string &domain, Impact impact = {}) {
        v1::ListDomainIOThreadsResponse response;
        EXPECT_TRUE(Succeeded(ListIOThreads(domain, impact, &response)));
        return {response.iothreads().begin(), response.iothreads().end()};
    }

    Cpus IOThreadIds(const std::string &domain, Impact impact = {}) {
        Cpus ids;
        for (const v1::IOThreadInfo &iothread : IOThreads(domain, impact))
            ids.push_back(iothread.iothread_id());
        return ids;
    }

    grpc::Status AddIOThread(const std::string &domain, uint32_t id, Impact impact = {}) {
        auto request = RequestFor<v1::AddDomainIOThreadRequest>(domain, impact);
        request.set_iothread_id(id);
        v1::AddDomainIOThreadResponse response;
        return stub_->AddDomainIOThread(Context().get(), request, &response);
    }

    grpc::Status DeleteIOThread(const std::string &domain, uint32_t id, Impact impact = {}) {
        auto request = RequestFor<v1::DeleteDomainIOThreadRequest>(domain, impact);
        request.set_iothread_id(id);
        v1::DeleteDomainIOThreadResponse response;
        return stub_->DeleteDomainIOThread(Context().get(), request, &response);
    }

    grpc::Status PinIOThread(const std::string &domain, uint32_t id, const Cpus &cpus,
                             Impact impact = {}) {
        auto request = RequestFor<v1::PinDomainIOThreadRequest>(domain, impact);
        request.set_iothread_id(id);
        for (uint32_t cpu : cpus)
            request.add_cpus(cpu);
        v1::PinDomainIOThreadResponse response;
        return stub_->PinDomainIOThread(Context().get(), request, &response);
    }

    grpc::Status SetIOThreadParams(const std::string &domain, uint32_t id,
                                   std::initializer_list<v1::TypedParameter> parameters,
                                   Impact impact = {}) {
        auto request = RequestFor<v1::SetDomainIOThreadParamsRequest>(domain, impact);
        request.set_iothread_id(id);
        for (const v1::TypedParameter &p : parameters)
            *request.add_parameters() = p;
        v1::SetDomainIOThreadParamsResponse response;
        return stub_->SetDomainIOThreadParams(Context().get(), request, &response);
    }

    grpc::Status CpuStats(const std::string &domain, bool per_cpu, uint32_t start_cpu,
                          uint32_t cpu_count, v1::GetDomainCPUStatsResponse *response) {
        auto request = RequestFor<v1::GetDomainCPUStatsRequest>(domain);
        request.set_per_cpu(per_cpu);
        request.set_start_cpu(start_cpu);
        request.set_cpu_count(cpu_count);
        return stub_->GetDomainCPUStats(Context().get(), request, response);
    }

  private:
    std::unique_ptr<grpc::ClientContext> Context() { return ContextWithDeadline(timeout_); }

    std::unique_ptr<v1::VcpuService::Stub> stub_;
    std::chrono::milliseconds timeout_;
};

}  // namespace virtgrpc::testing
