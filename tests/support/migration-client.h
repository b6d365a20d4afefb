// MigrationService calls in one line each, for the test-driver and the QEMU tests alike:
// requests built from a domain name, one deadline per client, and readers that return
// the value a test compares.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/rpc-status.h"
#include "virtgrpc/v1/migration.grpc.pb.h"

namespace virtgrpc::testing
{

class MigrationClient
{
  public:
    explicit MigrationClient(const std::shared_ptr<grpc::Channel> &channel,
                             std::chrono::milliseconds timeout = kCallTimeout)
        : stub_(v1::MigrationService::NewStub(channel)), timeout_(timeout)
    {
    }

    v1::MigrationService::Stub &
    stub()
    {
        return *stub_;
    }

    // A MigrateDomain request for `domain` to `dest_uri` with `flags`; tests add
    // parameters to it.
    static v1::MigrateDomainRequest
    MigrateRequest(const std::string &domain, const std::string &dest_uri,
                   std::initializer_list<v1::MigrateFlag> flags)
    {
        auto request = RequestFor<v1::MigrateDomainRequest>(domain);
        request.set_dest_uri(dest_uri);
        for (v1::MigrateFlag flag : flags)
            request.add_flags(flag);
        return request;
    }

    grpc::Status
    Migrate(const v1::MigrateDomainRequest &request,
            v1::MigrateDomainResponse *response = nullptr)
    {
        v1::MigrateDomainResponse ignored;
        return stub_->MigrateDomain(Context().get(), request,
                                    response ? response : &ignored);
    }

    grpc::Status
    GetMaxDowntime(const std::string &domain, uint64_t *ms)
    {
        v1::GetDomainMigrationMaxDowntimeResponse response;
        grpc::Status status = stub_->GetDomainMigrationMaxDowntime(
            Context().get(), RequestFor<v1::GetDomainMigrationMaxDowntimeRequest>(domain),
            &response);
        *ms = response.downtime_ms();
        return status;
    }

    grpc::Status
    SetMaxDowntime(const std::string &domain, uint64_t ms)
    {
        auto request = RequestFor<v1::SetDomainMigrationMaxDowntimeRequest>(domain);
        request.set_downtime_ms(ms);
        v1::SetDomainMigrationMaxDowntimeResponse response;
        return stub_->SetDomainMigrationMaxDowntime(Context().get(), request, &response);
    }

    grpc::Status
    GetMaxSpeed(const std::string &domain, uint64_t *mibs, bool postcopy = false)
    {
        auto request = RequestFor<v1::GetDomainMigrationMaxSpeedRequest>(domain);
        if (postcopy)
            request.add_flags(v1::MIGRATE_MAX_SPEED_FLAG_POSTCOPY);
        v1::GetDomainMigrationMaxSpeedResponse response;
        grpc::Status status =
            stub_->GetDomainMigrationMaxSpeed(Context().get(), request, &response);
        *mibs = response.bandwidth_mibs();
        return status;
    }

    grpc::Status
    SetMaxSpeed(const std::string &domain, uint64_t mibs, bool postcopy = false)
    {
        auto request = RequestFor<v1::SetDomainMigrationMaxSpeedRequest>(domain);
        request.set_bandwidth_mibs(mibs);
        if (postcopy)
            request.add_flags(v1::MIGRATE_MAX_SPEED_FLAG_POSTCOPY);
        v1::SetDomainMigrationMaxSpeedResponse response;
        return stub_->SetDomainMigrationMaxSpeed(Context().get(), request, &response);
    }

    grpc::Status
    GetCompressionCache(const std::string &domain, uint64_t *bytes)
    {
        v1::GetDomainMigrationCompressionCacheResponse response;
        grpc::Status status = stub_->GetDomainMigrationCompressionCache(
            Context().get(),
            RequestFor<v1::GetDomainMigrationCompressionCacheRequest>(domain), &response);
        *bytes = response.cache_bytes();
        return status;
    }

    grpc::Status
    SetCompressionCache(const std::string &domain, uint64_t bytes)
    {
        auto request = RequestFor<v1::SetDomainMigrationCompressionCacheRequest>(domain);
        request.set_cache_bytes(bytes);
        v1::SetDomainMigrationCompressionCacheResponse response;
        return stub_->SetDomainMigrationCompressionCache(Context().get(), request,
                                                         &response);
    }

    grpc::Status
    StartPostCopy(const std::string &domain)
    {
        v1::StartDomainMigrationPostCopyResponse response;
        return stub_->StartDomainMigrationPostCopy(
            Context().get(), RequestFor<v1::StartDomainMigrationPostCopyRequest>(domain),
            &response);
    }

  private:
    std::unique_ptr<grpc::ClientContext>
    Context()
    {
        return ContextWithDeadline(timeout_);
    }

    std::unique_ptr<v1::MigrationService::Stub> stub_;
    std::chrono::milliseconds timeout_;
};

} // namespace virtgrpc::testing
