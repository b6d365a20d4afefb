// StatsService and JobService calls in one line each, for the test-driver and QEMU tests
// of bulk statistics and job statistics.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/jobs.grpc.pb.h"
#include "virtgrpc/v1/stats.grpc.pb.h"

namespace virtgrpc::testing
{

// A GetAllDomainStats / WatchDomainStats request: the named domains (none: all), groups
// and flags.
template <typename Request>
Request
StatsRequest(std::initializer_list<std::string> domains,
             std::initializer_list<v1::StatsType> stats = {},
             std::initializer_list<v1::GetAllStatsFlag> flags = {})
{
    Request request;
    for (const std::string &name : domains)
        *request.add_domains() = RefByName(name);
    for (v1::StatsType s : stats)
        request.add_stats(s);
    for (v1::GetAllStatsFlag f : flags)
        request.add_flags(f);
    return request;
}

// The entry for `name` in a list of DomainStats, or nullptr.
inline const v1::DomainStats *
StatsFor(const google::protobuf::RepeatedPtrField<v1::DomainStats> &list,
         const std::string &name)
{
    for (const v1::DomainStats &stats : list) {
        if (stats.domain().name() == name)
            return &stats;
    }
    return nullptr;
}

// The domain names of a list of DomainStats, in order.
inline std::vector<std::string>
StatsNames(const google::protobuf::RepeatedPtrField<v1::DomainStats> &list)
{
    std::vector<std::string> names;
    for (const v1::DomainStats &stats : list)
        names.push_back(stats.domain().name());
    return names;
}

class StatsClient
{
  public:
    explicit StatsClient(const std::shared_ptr<grpc::Channel> &channel)
        : stats_(v1::StatsService::NewStub(channel)),
          jobs_(v1::JobService::NewStub(channel))
    {
    }

    grpc::Status
    GetAll(const v1::GetAllDomainStatsRequest &request,
           v1::GetAllDomainStatsResponse *response)
    {
        return stats_->GetAllDomainStats(ContextWithDeadline().get(), request, response);
    }

    // An open WatchDomainStats stream.
    struct Watch {
        std::unique_ptr<grpc::ClientContext> context;
        std::unique_ptr<grpc::ClientReader<v1::DomainStatsSample>> reader;

        // Cancels the call if still open and returns how it ended.
        grpc::Status
        End()
        {
            context->TryCancel();
            v1::DomainStatsSample ignored;
            while (reader->Read(&ignored)) {
            }
            return reader->Finish();
        }
        // Reads what is left and returns the status the server ended the stream with.
        grpc::Status
        Drain(int *n_read = nullptr)
        {
            v1::DomainStatsSample ignored;
            int n = 0;
            while (reader->Read(&ignored))
                n++;
            if (n_read)
                *n_read = n;
            return reader->Finish();
        }
    };

    Watch
    OpenWatch(const v1::WatchDomainStatsRequest &request,
              std::chrono::milliseconds timeout = std::chrono::seconds(30))
    {
        Watch watch;
        watch.context = ContextWithDeadline(timeout);
        watch.reader = stats_->WatchDomainStats(watch.context.get(), request);
        return watch;
    }

    grpc::Status
    JobInfo(const std::string &domain, v1::DomainJobStats *response)
    {
        v1::GetDomainJobInfoRequest request;
        *request.mutable_domain() = RefByName(domain);
        return jobs_->GetDomainJobInfo(ContextWithDeadline().get(), request, response);
    }

    grpc::Status
    JobStats(const std::string &domain, std::initializer_list<v1::JobStatsFlag> flags,
             v1::DomainJobStats *response)
    {
        v1::GetDomainJobStatsRequest request;
        *request.mutable_domain() = RefByName(domain);
        for (v1::JobStatsFlag f : flags)
            request.add_flags(f);
        return jobs_->GetDomainJobStats(ContextWithDeadline().get(), request, response);
    }

    grpc::Status
    AbortJob(const std::string &domain, std::initializer_list<v1::AbortJobFlag> flags = {})
    {
        v1::AbortDomainJobRequest request;
        *request.mutable_domain() = RefByName(domain);
        for (v1::AbortJobFlag f : flags)
            request.add_flags(f);
        v1::AbortDomainJobResponse response;
        return jobs_->AbortDomainJob(ContextWithDeadline().get(), request, &response);
    }

  private:
    std::unique_ptr<v1::StatsService::Stub> stats_;
    std::unique_ptr<v1::JobService::Stub> jobs_;
};

} // namespace virtgrpc::testing
