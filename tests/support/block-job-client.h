// BlockJobService calls in one line each, for tests on the test driver and on QEMU alike:
// requests are built with BlockJobRequest<...>(domain, disk) and filled by the test, the
// calls take a deadline and return the status.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/rpc-status.h"
#include "virtgrpc/v1/block_jobs.grpc.pb.h"

namespace virtgrpc::testing
{

// A request of any BlockJobService call for `disk` of the domain called `domain`.
template <typename Request>
Request
BlockJobRequest(const std::string &domain, const std::string &disk)
{
    Request request = RequestFor<Request>(domain);
    request.set_disk(disk);
    return request;
}

class BlockJobClient
{
  public:
    explicit BlockJobClient(const std::shared_ptr<grpc::Channel> &channel)
        : stub_(v1::BlockJobService::NewStub(channel))
    {
    }

    grpc::Status
    Pull(const v1::BlockPullRequest &request,
         std::chrono::milliseconds timeout = kCallTimeout)
    {
        v1::BlockPullResponse response;
        return stub_->BlockPull(ContextWithDeadline(timeout).get(), request, &response);
    }

    grpc::Status
    Rebase(const v1::BlockRebaseRequest &request,
           std::chrono::milliseconds timeout = kCallTimeout)
    {
        v1::BlockRebaseResponse response;
        return stub_->BlockRebase(ContextWithDeadline(timeout).get(), request, &response);
    }

    grpc::Status
    Copy(const v1::BlockCopyRequest &request,
         std::chrono::milliseconds timeout = kCallTimeout)
    {
        v1::BlockCopyResponse response;
        return stub_->BlockCopy(ContextWithDeadline(timeout).get(), request, &response);
    }

    grpc::Status
    Commit(const v1::BlockCommitRequest &request,
           std::chrono::milliseconds timeout = kCallTimeout)
    {
        v1::BlockCommitResponse response;
        return stub_->BlockCommit(ContextWithDeadline(timeout).get(), request, &response);
    }

    grpc::Status
    Info(const v1::GetBlockJobInfoRequest &request, v1::BlockJobInfo *info)
    {
        return stub_->GetBlockJobInfo(ContextWithDeadline().get(), request, info);
    }

    // GetBlockJobInfo of `disk`; fails the test when the call fails.
    v1::BlockJobInfo
    InfoOf(const std::string &domain, const std::string &disk)
    {
        v1::BlockJobInfo info;
        EXPECT_TRUE(Succeeded(
            Info(BlockJobRequest<v1::GetBlockJobInfoRequest>(domain, disk), &info)))
            << "GetBlockJobInfo of " << disk;
        return info;
    }

    grpc::Status
    SetSpeed(const v1::SetBlockJobSpeedRequest &request)
    {
        v1::SetBlockJobSpeedResponse response;
        return stub_->SetBlockJobSpeed(ContextWithDeadline().get(), request, &response);
    }

    grpc::Status
    Abort(const v1::AbortBlockJobRequest &request,
          std::chrono::milliseconds timeout = kCallTimeout)
    {
        v1::AbortBlockJobResponse response;
        return stub_->AbortBlockJob(ContextWithDeadline(timeout).get(), request, &response);
    }

  private:
    std::unique_ptr<v1::BlockJobService::Stub> stub_;
};

} // namespace virtgrpc::testing
