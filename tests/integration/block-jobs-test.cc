// BlockJobService against the real virtgrpcd and libvirt's embedded test driver, which
// implements no block job call: every well-formed request on the stock domain's disk
// `vda` is UNIMPLEMENTED (VIR_ERR_NO_SUPPORT) and leaves the disk as it was.
// tests/qemu/block-jobs-qemu-test.cc proves the calls on a real guest. Here: bad input of
// every kind (unknown domain, empty disk, flag values that are no libvirt flag,
// bandwidths and copy tunables out of range) fails with a clear status before libvirt is
// asked, and the rebase flags libvirt's own API checks reach libvirt as the right bits.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/block-job-client.h"
#include "tests/support/domain-request.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;

constexpr const char kStockDisk[] = "vda";
constexpr const char kStockDiskPath[] = "/guest/diskimage1";
constexpr const char kMissingDomain[] = "no-such-domain";
constexpr uint64_t kInt64Max = INT64_MAX;
constexpr uint64_t kTooFast = kInt64Max + 1;
constexpr const char kCopyXml[] =
    "<disk type='file'><driver type='qcow2'/><source file='/tmp/vg-copy.qcow2'/></disk>";

class BlockJobsTest : public ServerTest
{
  protected:
    void
    SetUp() override
    {
        ServerTest::SetUp();
        if (!HasFatalFailure())
            jobs_ = std::make_unique<BlockJobClient>(channel());
    }

    void
    TearDown() override
    {
        jobs_.reset();
        ServerTest::TearDown();
    }

    // Every call of the service with a well-formed request for `disk` of `domain` (no
    // flags, copy destination kCopyXml): the statuses by RPC name.
    std::vector<std::pair<std::string, grpc::Status>>
    CallEach(const std::string &domain, const std::string &disk)
    {
        v1::BlockJobInfo info;
        auto copy = BlockJobRequest<v1::BlockCopyRequest>(domain, disk);
        copy.set_destination_xml(kCopyXml);
        return {
            {"BlockPull", jobs_->Pull(BlockJobRequest<v1::BlockPullRequest>(domain, disk))},
            {"BlockRebase",
             jobs_->Rebase(BlockJobRequest<v1::BlockRebaseRequest>(domain, disk))},
            {"BlockCopy", jobs_->Copy(copy)},
            {"BlockCommit",
             jobs_->Commit(BlockJobRequest<v1::BlockCommitRequest>(domain, disk))},
            {"GetBlockJobInfo",
             jobs_->Info(BlockJobRequest<v1::GetBlockJobInfoRequest>(domain, disk), &info)},
            {"SetBlockJobSpeed",
             jobs_->SetSpeed(BlockJobRequest<v1::SetBlockJobSpeedRequest>(domain, disk))},
            {"AbortBlockJob",
             jobs_->Abort(BlockJobRequest<v1::AbortBlockJobRequest>(domain, disk))},
        };
    }

    // The stock domain's disk still on its image, with no backing chain or mirror.
    void
    ExpectStockDiskUnchanged()
    {
        std::string xml = DomainXmlOf(*domains_, kStockDomainName);
        EXPECT_THAT(xml, HasSubstr(std::string("<source file='") + kStockDiskPath + "'"));
        EXPECT_THAT(xml, ::testing::Not(HasSubstr("<mirror")));
    }

    std::unique_ptr<BlockJobClient> jobs_;
};

::testing::AssertionResult
Unsupported(const grpc::Status &status)
{
    return FailedWith(status, grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT");
}

::testing::AssertionResult
Rejected(const grpc::Status &status, const std::string &field)
{
    ::testing::AssertionResult result =
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST");
    if (result && status.error_message().find("'" + field + "'") == std::string::npos) {
        return ::testing::AssertionFailure()
               << "the message does not name '" << field << "': " << status.error_message();
    }
    return result;
}

TEST_F(BlockJobsTest, EveryCallIsUnimplementedOnTheTestDriverAndLeavesTheDiskAlone)
{
    for (const auto &[rpc, status] : CallEach(kStockDomainName, kStockDisk))
        EXPECT_TRUE(Unsupported(status)) << rpc;
    // The disk may also be named by its source path.
    for (const auto &[rpc, status] : CallEach(kStockDomainName, kStockDiskPath))
        EXPECT_TRUE(Unsupported(status)) << rpc << " on " << kStockDiskPath;
    ExpectStockDiskUnchanged();
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BlockJobsTest, EveryCallOnAnUnknownDomainIsNotFound)
{
    for (const auto &[rpc, status] : CallEach(kMissingDomain, kStockDisk)) {
        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"))
            << rpc;
    }
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BlockJobsTest, EveryCallWithAnEmptyDiskIsRejectedBeforeTheDomainIsLookedUp)
{
    // An unknown domain too: INVALID_ARGUMENT, not NOT_FOUND, shows the disk is checked
    // first.
    for (const auto &[rpc, status] : CallEach(kMissingDomain, ""))
        EXPECT_TRUE(Rejected(status, "disk")) << rpc;
    for (const auto &[rpc, status] : CallEach(kStockDomainName, ""))
        EXPECT_TRUE(Rejected(status, "disk")) << rpc;
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BlockJobsTest, FlagValuesWithoutALibvirtFlagAreRejected)
{
    for (int bad : {0, 99}) {
        auto rebase = BlockJobRequest<v1::BlockRebaseRequest>(kStockDomainName, kStockDisk);
        rebase.add_flags(v1::BLOCK_REBASE_FLAG_SHALLOW);
        rebase.add_flags(static_cast<v1::BlockRebaseFlag>(bad));
        EXPECT_TRUE(Rejected(jobs_->Rebase(rebase), "flags")) << bad;

        auto copy = BlockJobRequest<v1::BlockCopyRequest>(kStockDomainName, kStockDisk);
        copy.set_destination_xml(kCopyXml);
        copy.add_flags(static_cast<v1::BlockCopyFlag>(bad));
        EXPECT_TRUE(Rejected(jobs_->Copy(copy), "flags")) << bad;

        auto commit = BlockJobRequest<v1::BlockCommitRequest>(kStockDomainName, kStockDisk);
        commit.add_flags(static_cast<v1::BlockCommitFlag>(bad));
        EXPECT_TRUE(Rejected(jobs_->Commit(commit), "flags")) << bad;

        auto abort =
            BlockJobRequest<v1::AbortBlockJobRequest>(kStockDomainName, kStockDisk);
        abort.add_flags(static_cast<v1::BlockJobAbortFlag>(bad));
        EXPECT_TRUE(Rejected(jobs_->Abort(abort), "flags")) << bad;
    }
    // The message says what the value should have been.
    auto abort = BlockJobRequest<v1::AbortBlockJobRequest>(kStockDomainName, kStockDisk);
    abort.add_flags(static_cast<v1::BlockJobAbortFlag>(99));
    EXPECT_THAT(jobs_->Abort(abort).error_message(),
                HasSubstr("99, which is not a virtgrpc.v1.BlockJobAbortFlag"));
    ExpectStockDiskUnchanged();
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BlockJobsTest, BandwidthsAboveInt64MaxAreRejectedAndInt64MaxPassesTheChecks)
{
    auto pull = BlockJobRequest<v1::BlockPullRequest>(kStockDomainName, kStockDisk);
    auto rebase = BlockJobRequest<v1::BlockRebaseRequest>(kStockDomainName, kStockDisk);
    auto copy = BlockJobRequest<v1::BlockCopyRequest>(kStockDomainName, kStockDisk);
    copy.set_destination_xml(kCopyXml);
    auto commit = BlockJobRequest<v1::BlockCommitRequest>(kStockDomainName, kStockDisk);
    auto speed = BlockJobRequest<v1::SetBlockJobSpeedRequest>(kStockDomainName, kStockDisk);

    const std::vector<std::pair<uint64_t, std::function<bool(const grpc::Status &)>>>
        cases = {
            {kTooFast,
             [](const grpc::Status &s) {
                 return bool(Rejected(s, "bandwidth_bytes_per_s"));
             }},
            {kInt64Max, [](const grpc::Status &s) { return bool(Unsupported(s)); }},
        };
    for (const auto &[bandwidth, expected] : cases) {
        pull.set_bandwidth_bytes_per_s(bandwidth);
        rebase.set_bandwidth_bytes_per_s(bandwidth);
        copy.set_bandwidth_bytes_per_s(bandwidth);
        commit.set_bandwidth_bytes_per_s(bandwidth);
        speed.set_bandwidth_bytes_per_s(bandwidth);
        grpc::Status status;
        EXPECT_TRUE(expected(status = jobs_->Pull(pull)))
            << bandwidth << ": " << Describe(status);
        EXPECT_TRUE(expected(status = jobs_->Rebase(rebase)))
            << bandwidth << ": " << Describe(status);
        EXPECT_TRUE(expected(status = jobs_->Copy(copy)))
            << bandwidth << ": " << Describe(status);
        EXPECT_TRUE(expected(status = jobs_->Commit(commit)))
            << bandwidth << ": " << Describe(status);
        EXPECT_TRUE(expected(status = jobs_->SetSpeed(speed)))
            << bandwidth << ": " << Describe(status);
    }
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BlockJobsTest, CopyTunablesOutOfRangeAndAnEmptyDestinationAreRejected)
{
    auto copy = BlockJobRequest<v1::BlockCopyRequest>(kStockDomainName, kStockDisk);
    EXPECT_TRUE(Rejected(jobs_->Copy(copy), "destination_xml"));
    copy.set_destination_xml(kCopyXml);

    // Not a power of two; below QEMU's 512; above its 64 MiB.
    for (uint32_t granularity : {3000u, 256u, 128u * 1024 * 1024}) {
        copy.set_granularity_bytes(granularity);
        grpc::Status status = jobs_->Copy(copy);
        EXPECT_TRUE(Rejected(status, "granularity_bytes")) << granularity;
        EXPECT_THAT(status.error_message(), HasSubstr(std::to_string(granularity)));
    }
    // Both ends of the range pass the checks and reach libvirt.
    for (uint32_t granularity : {512u, 64u * 1024 * 1024}) {
        copy.set_granularity_bytes(granularity);
        EXPECT_TRUE(Unsupported(jobs_->Copy(copy))) << granularity;
    }
    copy.set_granularity_bytes(65536);
    copy.set_buffer_size_bytes(kTooFast);
    EXPECT_TRUE(Rejected(jobs_->Copy(copy), "buffer_size_bytes"));
    copy.set_buffer_size_bytes(kInt64Max);
    copy.set_bandwidth_bytes_per_s(1024 * 1024);
    for (v1::BlockCopyFlag flag :
         {v1::BLOCK_COPY_FLAG_SHALLOW, v1::BLOCK_COPY_FLAG_REUSE_EXT,
          v1::BLOCK_COPY_FLAG_TRANSIENT_JOB, v1::BLOCK_COPY_FLAG_SYNCHRONOUS_WRITES})
        copy.add_flags(flag);
    EXPECT_TRUE(Unsupported(jobs_->Copy(copy))) << "every tunable and flag set";
    ExpectStockDiskUnchanged();
    EXPECT_TRUE(ServerStillServes());
}

// libvirt's public virDomainBlockRebase checks its flags before the driver: these
// answers show each flag reached libvirt as its own bit.
TEST_F(BlockJobsTest, RebaseCopyFlagsWithoutCopyAndCopyWithoutBaseAreLibvirtsInvalidArg)
{
    for (v1::BlockRebaseFlag flag :
         {v1::BLOCK_REBASE_FLAG_SHALLOW, v1::BLOCK_REBASE_FLAG_REUSE_EXT,
          v1::BLOCK_REBASE_FLAG_COPY_RAW, v1::BLOCK_REBASE_FLAG_COPY_DEV}) {
        auto rebase = BlockJobRequest<v1::BlockRebaseRequest>(kStockDomainName, kStockDisk);
        rebase.set_base_image("/tmp/vg-base.qcow2");
        rebase.add_flags(flag);
        grpc::Status status = jobs_->Rebase(rebase);
        EXPECT_TRUE(
            FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"))
            << v1::BlockRebaseFlag_Name(flag);
        EXPECT_THAT(status.error_message(), HasSubstr("requires a copy job"));
        // With COPY the same flag passes libvirt's check.
        rebase.add_flags(v1::BLOCK_REBASE_FLAG_COPY);
        EXPECT_TRUE(Unsupported(jobs_->Rebase(rebase))) << v1::BlockRebaseFlag_Name(flag);
    }
    // RELATIVE is not a copy flag: it passes the check without COPY.
    auto relative = BlockJobRequest<v1::BlockRebaseRequest>(kStockDomainName, kStockDisk);
    relative.add_flags(v1::BLOCK_REBASE_FLAG_RELATIVE);
    EXPECT_TRUE(Unsupported(jobs_->Rebase(relative)));

    // COPY needs the destination in `base`: an empty one is passed as NULL.
    auto copy = BlockJobRequest<v1::BlockRebaseRequest>(kStockDomainName, kStockDisk);
    copy.add_flags(v1::BLOCK_REBASE_FLAG_COPY);
    EXPECT_TRUE(FailedWith(jobs_->Rebase(copy), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIR_ERR_INVALID_ARG"));
    ExpectStockDiskUnchanged();
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BlockJobsTest, CommitAndAbortWithEveryFlagReachTheDriver)
{
    auto commit = BlockJobRequest<v1::BlockCommitRequest>(kStockDomainName, kStockDisk);
    commit.set_base_image("vda[2]");
    commit.set_top_image("vda[1]");
    commit.set_bandwidth_bytes_per_s(1);
    for (v1::BlockCommitFlag flag :
         {v1::BLOCK_COMMIT_FLAG_SHALLOW, v1::BLOCK_COMMIT_FLAG_DELETE,
          v1::BLOCK_COMMIT_FLAG_ACTIVE, v1::BLOCK_COMMIT_FLAG_RELATIVE})
        commit.add_flags(flag);
    EXPECT_TRUE(Unsupported(jobs_->Commit(commit)));

    auto abort = BlockJobRequest<v1::AbortBlockJobRequest>(kStockDomainName, kStockDisk);
    abort.add_flags(v1::BLOCK_JOB_ABORT_FLAG_ASYNC);
    abort.add_flags(v1::BLOCK_JOB_ABORT_FLAG_PIVOT);
    EXPECT_TRUE(Unsupported(jobs_->Abort(abort)));
    ExpectStockDiskUnchanged();
    EXPECT_TRUE(ServerStillServes());
}

} // namespace
} // namespace virtgrpc::testing
