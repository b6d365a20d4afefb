// BlockJobService on a real QEMU guest (TCG), through virtgrpcd only: block pull,
// rebase, commit (below the active image, and of the active image with a pivot) and
// copy (throttled, then pivoted; shallow, then cancelled), each followed by polling
// GetBlockJobInfo, and its end state checked on the disk images themselves.
//
// Every test first grows the guest's disk into its own chain, before the guest boots:
//   b.qcow2 (active) -> a.qcow2 -> <domain>.qcow2 (make-domain.sh's overlay) -> the
//   shared cached guest disk
// with a 2 MiB pattern written by qemu-io into each of the three own layers, in a region
// the guest's file system leaves unused (44-50 MiB of the 64 MiB disk). Where a pattern
// can be read from, with which backing files, says where each job moved the data.
// No job ever writes into the shared guest disk: commits always name their base.
//
// Backing files are read with `qemu-img info -U` while QEMU holds the images (a job
// rewrites the qcow2 header when it ends). The data is read with `qemu-io` only once the
// guest is destroyed: a running QEMU keeps qcow2 metadata in its cache, so a reader
// beside it can see clusters a job wrote as still unallocated. Each operation's duration
// goes to the test log ("[ block jobs ]").
#include <stdio.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/block-job-client.h"
#include "virtgrpc/v1/jobs.grpc.pb.h"
#include "tests/support/domain-request.h"
#include "tests/support/qemu-guest.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

constexpr const char kDisk[] = "vda";
constexpr uint64_t kMiB = 1024 * 1024;
// How long a job of a few MiB may take under TCG on a busy host.
constexpr std::chrono::milliseconds kJobTimeout{120000};
// The throttle that keeps a job running for seconds: the chain holds ~7 MiB of data.
constexpr uint64_t kSlowBytesPerSecond = 1 * kMiB;

// One layer's pattern: byte `fill` over 2 MiB at `offset`.
struct Pattern {
    const char *fill;
    const char *offset;
};
constexpr Pattern kOverlayData{"0x11", "44M"};
constexpr Pattern kMiddleData{"0x22", "46M"};
constexpr Pattern kTopData{"0x33", "48M"};

// Runs a shell command; returns its exit status and puts stdout+stderr in `output`.
int
RunShell(const std::string &command, std::string *output)
{
    output->clear();
    FILE *pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe)
        return -1;
    char buffer[4096];
    size_t got;
    while ((got = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
        output->append(buffer, got);
    return pclose(pipe);
}

// Runs a command that must succeed: fails the test otherwise (an empty answer would
// make "does not contain X" prove nothing).
std::string
MustRun(const std::string &command)
{
    std::string output;
    int status = RunShell(command, &output);
    EXPECT_EQ(status, 0) << command << " failed:\n" << output;
    return output;
}

double
SecondsSince(Clock::time_point begin)
{
    return std::chrono::duration<double>(Clock::now() - begin).count();
}

void
Report(const std::string &what, double seconds)
{
    std::cerr << "[ block jobs ] " << what << ": " << seconds << " s\n";
}

class BlockJobsQemuTest : public QemuGuestTest
{
  protected:
    void
    SetUp() override
    {
        QemuGuestTest::SetUp();
        if (HasFatalFailure())
            return;
        jobs_ = std::make_unique<BlockJobClient>(channel());
    }

    void
    TearDown() override
    {
        jobs_.reset();
        QemuGuestTest::TearDown();
    }

    std::string
    File(const std::string &file) const
    {
        return std::string(kGuestFilesRoot) + "/" + name() + "/" + file;
    }
    std::string
    Overlay() const
    {
        return File(name() + ".qcow2");
    }
    std::string
    Middle() const
    {
        return File("a.qcow2");
    }
    std::string
    Top() const
    {
        return File("b.qcow2");
    }

    // Builds the chain (see the top of the file), points the domain's vda at its top and
    // boots the guest. With `relative`, the new images name their backing files
    // relative to their own directory.
    void
    BuildChainAndBoot(bool relative = false)
    {
        std::string overlay_name = relative ? name() + ".qcow2" : Overlay();
        std::string middle_name = relative ? "a.qcow2" : Middle();
        MustRun("qemu-img create -q -f qcow2 -F qcow2 -b '" + overlay_name + "' '" +
                Middle() + "'");
        MustRun("qemu-img create -q -f qcow2 -F qcow2 -b '" + middle_name + "' '" + Top() +
                "'");
        Write(Overlay(), kOverlayData);
        Write(Middle(), kMiddleData);
        Write(Top(), kTopData);

        std::string xml = DomainXmlOf(*domains_, name(), true);
        std::string source = "<source file='" + Overlay() + "'";
        size_t at = xml.find(source);
        ASSERT_NE(at, std::string::npos) << xml;
        xml.replace(at, source.size(), "<source file='" + Top() + "'");
        v1::DefineDomainRequest define;
        define.set_xml(xml);
        v1::Domain defined;
        ASSERT_TRUE(Succeeded(
            domains_->DefineDomain(ContextWithDeadline().get(), define, &defined)));
        Boot();
        ASSERT_FALSE(HasFailure()) << "the guest did not boot: no job can run";
        ASSERT_THAT(BackingChain(Top()), HasSubstr(Middle())) << "libvirt saw the chain";
    }

    static void
    Write(const std::string &image, const Pattern &pattern)
    {
        MustRun(std::string("qemu-io -f qcow2 -c 'write -P ") + pattern.fill + " " +
                pattern.offset + " 2M' '" + image + "'");
    }

    // Destroys the guest so that QEMU writes out and closes the images; fails the test
    // when it cannot.
    void
    CloseImages()
    {
        auto begin = Clock::now();
        ASSERT_TRUE(Succeeded(Destroy()));
        Report("DestroyDomain before reading the images", SecondsSince(begin));
    }

    // Whether `image` (with its backing files, unless `alone`) reads `pattern`.
    static bool
    Holds(const std::string &image, const Pattern &pattern, bool alone = false)
    {
        std::string target = alone ? "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":"
                                     "{\"driver\":\"file\",\"filename\":\"" +
                                         image + "\"}}"
                                   : image;
        std::string output;
        int status = RunShell(std::string("qemu-io -r -U -c 'read -P ") + pattern.fill +
                                  " " + pattern.offset + " 2M' '" + target + "'",
                              &output);
        EXPECT_THAT(output, HasSubstr("read 2097152/2097152")) << "qemu-io could not read";
        return status == 0;
    }

    // What `qemu-img info --backing-chain` says about `image`.
    static std::string
    BackingChain(const std::string &image)
    {
        return MustRun("qemu-img info -U --backing-chain '" + image + "'");
    }

    // The backing file qemu-img reports for `image` alone ("" for none).
    static std::string
    BackingFile(const std::string &image)
    {
        std::string info = MustRun("qemu-img info -U '" + image + "'");
        size_t at = info.find("backing file: ");
        if (at == std::string::npos)
            return "";
        at += std::string("backing file: ").size();
        return info.substr(at, info.find('\n', at) - at);
    }

    // vda's <disk> element in the live domain XML.
    std::string
    LiveDisk()
    {
        std::string xml = DomainXmlOf(*domains_, name());
        size_t target = xml.find("<target dev='vda'");
        size_t begin = target == std::string::npos ? target : xml.rfind("<disk ", target);
        if (begin == std::string::npos)
            return "<no vda in the live XML>";
        return xml.substr(begin, xml.find("</disk>", target) - begin);
    }

    // The top image of vda in the live XML.
    std::string
    LiveSource()
    {
        std::string disk = LiveDisk();
        size_t at = disk.find("<source file='");
        if (at == std::string::npos)
            return "<no source>";
        at += std::string("<source file='").size();
        return disk.substr(at, disk.find('\'', at) - at);
    }

    // Polls GetBlockJobInfo every kPollInterval until `done` holds; `last` gets the last
    // answer. The failure says what the job looked like.
    ::testing::AssertionResult
    WaitForJob(const std::function<bool(const v1::BlockJobInfo &)> &done,
               v1::BlockJobInfo *last = nullptr)
    {
        auto deadline = Clock::now() + kJobTimeout;
        v1::BlockJobInfo info;
        for (;;) {
            grpc::Status status = jobs_->Info(
                BlockJobRequest<v1::GetBlockJobInfoRequest>(name(), kDisk), &info);
            if (!status.ok())
                return ::testing::AssertionFailure()
                       << "GetBlockJobInfo: " << Describe(status);
            if (last)
                *last = info;
            if (done(info))
                return ::testing::AssertionSuccess();
            if (Clock::now() >= deadline)
                return ::testing::AssertionFailure() << "still " << info.ShortDebugString();
            std::this_thread::sleep_for(kPollInterval);
        }
    }

    ::testing::AssertionResult
    WaitForEnd()
    {
        return WaitForJob([](const v1::BlockJobInfo &info) { return !info.active(); });
    }

    // A copy or active commit is ready once it has caught up: cur == end.
    ::testing::AssertionResult
    WaitForReady(v1::BlockJobInfo *last)
    {
        return WaitForJob(
            [](const v1::BlockJobInfo &info) {
                return !info.active() || (info.end() > 0 && info.cur() == info.end());
            },
            last);
    }

    grpc::Status
    Abort(std::initializer_list<v1::BlockJobAbortFlag> flags)
    {
        auto abort = BlockJobRequest<v1::AbortBlockJobRequest>(name(), kDisk);
        for (v1::BlockJobAbortFlag flag : flags)
            abort.add_flags(flag);
        return jobs_->Abort(abort, kHypervisorCallTimeout);
    }

    grpc::Status
    SetSpeed(uint64_t bytes_per_s)
    {
        auto speed = BlockJobRequest<v1::SetBlockJobSpeedRequest>(name(), kDisk);
        speed.set_bandwidth_bytes_per_s(bytes_per_s);
        return jobs_->SetSpeed(speed);
    }

    std::unique_ptr<BlockJobClient> jobs_;
};

::testing::AssertionResult
NoJob(const grpc::Status &status)
{
    ::testing::AssertionResult result =
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG");
    if (result && status.error_message().find("does not have an active block job") ==
                      std::string::npos) {
        return ::testing::AssertionFailure() << "unexpected message: " << Describe(status);
    }
    return result;
}

TEST_F(BlockJobsQemuTest, ThrottledPullReportsProgressAndFlattensTheChain)
{
    ASSERT_NO_FATAL_FAILURE(BuildChainAndBoot());
    EXPECT_THAT(LiveDisk(), HasSubstr(Middle())) << "the live XML shows the backing chain";
    EXPECT_FALSE(Holds(Top(), kOverlayData, true));

    auto pull = BlockJobRequest<v1::BlockPullRequest>(name(), kDisk);
    pull.set_bandwidth_bytes_per_s(kSlowBytesPerSecond);
    auto begin = Clock::now();
    ASSERT_TRUE(Succeeded(jobs_->Pull(pull, kHypervisorCallTimeout)));
    Report("BlockPull call", SecondsSince(begin));

    v1::BlockJobInfo info = jobs_->InfoOf(name(), kDisk);
    EXPECT_TRUE(info.active());
    EXPECT_EQ(info.type(), v1::BLOCK_JOB_TYPE_PULL);
    EXPECT_EQ(info.bandwidth_bytes_per_s(), kSlowBytesPerSecond);
    EXPECT_LT(info.cur(), info.end()) << "throttled: still running";
    // The cursor moves on while the job stays throttled.
    v1::BlockJobInfo later;
    EXPECT_TRUE(WaitForJob(
        [&](const v1::BlockJobInfo &now) {
            return !now.active() || now.cur() > info.cur();
        },
        &later));
    EXPECT_TRUE(later.active()) << "1 MiB/s: ~5 MiB take seconds";
    EXPECT_LT(later.cur(), later.end());
    Report("BlockPull at 1 MiB/s: cursor moved from " + std::to_string(info.cur()) +
               " to " + std::to_string(later.cur()) + " of " + std::to_string(later.end()) +
               " after",
           SecondsSince(begin));

    // A new limit is read back at once, in bytes per second.
    ASSERT_TRUE(Succeeded(SetSpeed(2 * kMiB + 512)));
    info = jobs_->InfoOf(name(), kDisk);
    EXPECT_TRUE(info.active());
    EXPECT_EQ(info.bandwidth_bytes_per_s(), 2 * kMiB + 512);
    ASSERT_TRUE(Succeeded(SetSpeed(0)));
    EXPECT_EQ(jobs_->InfoOf(name(), kDisk).bandwidth_bytes_per_s(), 0u) << "unlimited";

    ASSERT_TRUE(WaitForEnd());
    Report("BlockPull of ~7 MiB (1 MiB/s, then 2 MiB/s, then unlimited) to its end",
           SecondsSince(begin));

    info = jobs_->InfoOf(name(), kDisk);
    EXPECT_FALSE(info.active());
    EXPECT_EQ(info.type(), v1::BLOCK_JOB_TYPE_UNSPECIFIED);
    EXPECT_EQ(info.end(), 0u);
    EXPECT_EQ(BackingFile(Top()), "") << BackingChain(Top());
    EXPECT_THAT(LiveDisk(), Not(HasSubstr(Middle())));
    EXPECT_THAT(LiveDisk(), Not(HasSubstr(Overlay())));
    EXPECT_EQ(LiveSource(), Top());

    // Without a job, speed and abort are libvirt's INVALID_ARG.
    EXPECT_TRUE(NoJob(SetSpeed(kMiB)));
    EXPECT_TRUE(NoJob(Abort({})));
    // A disk the domain does not have.
    v1::BlockJobInfo none;
    EXPECT_TRUE(FailedWith(
        jobs_->Info(BlockJobRequest<v1::GetBlockJobInfoRequest>(name(), "vdz"), &none),
        grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(ServerStillServes());

    // Every layer's data is now in the top image itself.
    ASSERT_NO_FATAL_FAILURE(CloseImages());
    EXPECT_TRUE(Holds(Top(), kOverlayData, true));
    EXPECT_TRUE(Holds(Top(), kMiddleData, true));
    EXPECT_TRUE(Holds(Top(), kTopData, true));
}

TEST_F(BlockJobsQemuTest, RebaseOntoTheOverlayPullsOnlyTheMiddleImage)
{
    ASSERT_NO_FATAL_FAILURE(BuildChainAndBoot());
    auto rebase = BlockJobRequest<v1::BlockRebaseRequest>(name(), kDisk);
    rebase.set_base_image(Overlay());
    auto begin = Clock::now();
    ASSERT_TRUE(Succeeded(jobs_->Rebase(rebase, kHypervisorCallTimeout)));
    v1::BlockJobInfo info = jobs_->InfoOf(name(), kDisk);
    if (info.active()) { // it may be done already: 2 MiB, unthrottled
        EXPECT_EQ(info.type(), v1::BLOCK_JOB_TYPE_PULL);
    }
    ASSERT_TRUE(WaitForEnd());
    Report("BlockRebase (2 MiB pulled) to its end", SecondsSince(begin));

    EXPECT_EQ(BackingFile(Top()), Overlay()) << BackingChain(Top());
    EXPECT_THAT(LiveDisk(), Not(HasSubstr(Middle())));
    EXPECT_THAT(LiveDisk(), HasSubstr(Overlay()));
    EXPECT_TRUE(ServerStillServes());

    // The middle image's data is in the top image; the overlay's stayed below it.
    ASSERT_NO_FATAL_FAILURE(CloseImages());
    EXPECT_TRUE(Holds(Top(), kMiddleData, true));
    EXPECT_FALSE(Holds(Top(), kOverlayData, true));
    EXPECT_TRUE(Holds(Top(), kOverlayData)) << "through the backing file";
}

TEST_F(BlockJobsQemuTest, RelativeRebaseWritesTheNewBackingFileAsARelativeName)
{
    ASSERT_NO_FATAL_FAILURE(BuildChainAndBoot(true));
    ASSERT_EQ(BackingFile(Top()), "a.qcow2 (actual path: " + Middle() + ")");
    auto rebase = BlockJobRequest<v1::BlockRebaseRequest>(name(), kDisk);
    rebase.set_base_image(Overlay());
    rebase.add_flags(v1::BLOCK_REBASE_FLAG_RELATIVE);
    auto begin = Clock::now();
    ASSERT_TRUE(Succeeded(jobs_->Rebase(rebase, kHypervisorCallTimeout)));
    ASSERT_TRUE(WaitForEnd());
    Report("relative BlockRebase (2 MiB pulled) to its end", SecondsSince(begin));
    EXPECT_EQ(BackingFile(Top()), name() + ".qcow2 (actual path: " + Overlay() + ")")
        << BackingChain(Top());
    EXPECT_THAT(LiveDisk(), Not(HasSubstr(Middle())));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BlockJobsQemuTest, CommitBelowTheActiveImageEndsAloneAndActiveCommitPivots)
{
    ASSERT_NO_FATAL_FAILURE(BuildChainAndBoot());

    // SHALLOW reaches libvirt: with it, a base two images down is refused.
    auto shallow = BlockJobRequest<v1::BlockCommitRequest>(name(), kDisk);
    shallow.set_base_image(Overlay());
    shallow.add_flags(v1::BLOCK_COMMIT_FLAG_ACTIVE);
    shallow.add_flags(v1::BLOCK_COMMIT_FLAG_SHALLOW);
    grpc::Status refused = jobs_->Commit(shallow, kHypervisorCallTimeout);
    ASSERT_TRUE(
        FailedWith(refused, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(refused.error_message(), HasSubstr("immediately below"));
    EXPECT_FALSE(jobs_->InfoOf(name(), kDisk).active());

    // The middle image into the overlay: ends by itself; DELETE removes its file.
    auto commit = BlockJobRequest<v1::BlockCommitRequest>(name(), kDisk);
    commit.set_top_image(Middle());
    commit.set_base_image(Overlay());
    commit.add_flags(v1::BLOCK_COMMIT_FLAG_DELETE);
    auto begin = Clock::now();
    ASSERT_TRUE(Succeeded(jobs_->Commit(commit, kHypervisorCallTimeout)));
    ASSERT_TRUE(WaitForEnd());
    Report("BlockCommit of the middle image (2 MiB) to its end", SecondsSince(begin));
    EXPECT_EQ(BackingFile(Top()), Overlay()) << BackingChain(Top());
    EXPECT_THAT(LiveDisk(), Not(HasSubstr(Middle())));
    EXPECT_TRUE(WaitUntil([&] { return !std::filesystem::exists(Middle()); },
                          std::chrono::seconds(10)))
        << "DELETE removed the committed file";

    // The active image into the overlay: ready, then pivoted.
    auto active = BlockJobRequest<v1::BlockCommitRequest>(name(), kDisk);
    active.set_base_image(Overlay());
    active.add_flags(v1::BLOCK_COMMIT_FLAG_ACTIVE);
    active.add_flags(v1::BLOCK_COMMIT_FLAG_SHALLOW);
    begin = Clock::now();
    ASSERT_TRUE(Succeeded(jobs_->Commit(active, kHypervisorCallTimeout)));
    v1::BlockJobInfo info;
    ASSERT_TRUE(WaitForReady(&info));
    Report("active BlockCommit until ready", SecondsSince(begin));
    ASSERT_TRUE(info.active()) << "an active commit waits to be pivoted";
    EXPECT_EQ(info.type(), v1::BLOCK_JOB_TYPE_ACTIVE_COMMIT);
    EXPECT_EQ(LiveSource(), Top()) << "still on the top image until the pivot";

    begin = Clock::now();
    ASSERT_TRUE(Succeeded(Abort({v1::BLOCK_JOB_ABORT_FLAG_PIVOT})));
    Report("AbortBlockJob PIVOT of the active commit", SecondsSince(begin));
    EXPECT_FALSE(jobs_->InfoOf(name(), kDisk).active())
        << "a pivot without ASYNC has ended";
    EXPECT_EQ(LiveSource(), Overlay());
    std::string agent_hostname;
    EXPECT_TRUE(Succeeded(AgentHostname(&agent_hostname))) << "the guest runs on";
    EXPECT_TRUE(ServerStillServes());

    // Both commits landed in the overlay.
    ASSERT_NO_FATAL_FAILURE(CloseImages());
    EXPECT_TRUE(Holds(Overlay(), kTopData, true));
    EXPECT_TRUE(Holds(Overlay(), kMiddleData, true));
    EXPECT_TRUE(Holds(Overlay(), kOverlayData, true));
    const std::string shared_disk = BackingFile(Overlay());
    ASSERT_NE(shared_disk, "") << "the overlay keeps the shared guest disk below it";
    EXPECT_FALSE(Holds(shared_disk, kTopData, true)) << "nothing was committed into it";
    EXPECT_FALSE(Holds(shared_disk, kMiddleData, true));
}

TEST_F(BlockJobsQemuTest, ThrottledCopyIsPivotedOnceReadyAndAShallowCopyIsCancelled)
{
    ASSERT_NO_FATAL_FAILURE(BuildChainAndBoot());
    const std::string shallow_file = File("shallow.qcow2");
    const std::string copy_file = File("copy.qcow2");
    auto DiskXml = [](const std::string &file) {
        return "<disk type='file'><driver type='qcow2'/><source file='" + file +
               "'/></disk>";
    };

    // libvirt 9.0 copies a persistent domain's disk only as a transient job.
    auto persistent = BlockJobRequest<v1::BlockCopyRequest>(name(), kDisk);
    persistent.set_destination_xml(DiskXml(copy_file));
    grpc::Status refused = jobs_->Copy(persistent, kHypervisorCallTimeout);
    EXPECT_TRUE(FailedWith(refused, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(refused.error_message(), HasSubstr("not transient"));
    auto rebase_copy = BlockJobRequest<v1::BlockRebaseRequest>(name(), kDisk);
    rebase_copy.set_base_image(copy_file);
    rebase_copy.add_flags(v1::BLOCK_REBASE_FLAG_COPY);
    EXPECT_TRUE(FailedWith(jobs_->Rebase(rebase_copy, kHypervisorCallTimeout),
                           grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_FALSE(jobs_->InfoOf(name(), kDisk).active());

    // A shallow copy keeps the backing chain; cancelled (no pivot), the disk stays.
    auto shallow = BlockJobRequest<v1::BlockCopyRequest>(name(), kDisk);
    shallow.set_destination_xml(DiskXml(shallow_file));
    shallow.add_flags(v1::BLOCK_COPY_FLAG_TRANSIENT_JOB);
    shallow.add_flags(v1::BLOCK_COPY_FLAG_SHALLOW);
    shallow.add_flags(v1::BLOCK_COPY_FLAG_SYNCHRONOUS_WRITES);
    auto begin = Clock::now();
    ASSERT_TRUE(Succeeded(jobs_->Copy(shallow, kHypervisorCallTimeout)));
    v1::BlockJobInfo info;
    ASSERT_TRUE(WaitForReady(&info));
    Report("shallow BlockCopy (2 MiB) until ready", SecondsSince(begin));
    ASSERT_TRUE(info.active());
    EXPECT_EQ(info.type(), v1::BLOCK_JOB_TYPE_COPY);
    EXPECT_EQ(BackingFile(shallow_file), Middle()) << BackingChain(shallow_file);
    ASSERT_TRUE(Succeeded(Abort({v1::BLOCK_JOB_ABORT_FLAG_ASYNC})));
    ASSERT_TRUE(WaitForEnd());
    Report("shallow BlockCopy until cancelled with ASYNC", SecondsSince(begin));
    EXPECT_EQ(LiveSource(), Top()) << "cancelled: the disk stayed on its image";
    EXPECT_THAT(LiveDisk(), Not(HasSubstr(shallow_file)));
    // Cancelled, QEMU has closed the copy: it holds the top image's data only.
    EXPECT_TRUE(Holds(shallow_file, kTopData, true));
    EXPECT_FALSE(Holds(shallow_file, kMiddleData, true)) << "shallow: only the top image";

    // A full copy, throttled so that it is seen running, into an image made beforehand
    // (REUSE_EXT) with a cluster size libvirt would not choose: it is still that image.
    MustRun("qemu-img create -q -f qcow2 -o cluster_size=131072 '" + copy_file + "' 64M");
    auto copy = BlockJobRequest<v1::BlockCopyRequest>(name(), kDisk);
    copy.set_destination_xml(DiskXml(copy_file));
    copy.set_bandwidth_bytes_per_s(kSlowBytesPerSecond);
    copy.set_granularity_bytes(65536);
    copy.set_buffer_size_bytes(kMiB);
    copy.add_flags(v1::BLOCK_COPY_FLAG_TRANSIENT_JOB);
    copy.add_flags(v1::BLOCK_COPY_FLAG_REUSE_EXT);
    begin = Clock::now();
    ASSERT_TRUE(Succeeded(jobs_->Copy(copy, kHypervisorCallTimeout)));
    Report("BlockCopy call", SecondsSince(begin));
    info = jobs_->InfoOf(name(), kDisk);
    EXPECT_TRUE(info.active());
    EXPECT_EQ(info.type(), v1::BLOCK_JOB_TYPE_COPY);
    EXPECT_EQ(info.bandwidth_bytes_per_s(), kSlowBytesPerSecond);
    EXPECT_LT(info.cur(), info.end()) << "throttled: still copying";
    if (info.cur() < info.end()) {
        grpc::Status early = Abort({v1::BLOCK_JOB_ABORT_FLAG_PIVOT});
        EXPECT_TRUE(FailedWith(early, grpc::StatusCode::FAILED_PRECONDITION,
                               "VIR_ERR_BLOCK_COPY_ACTIVE"))
            << "no pivot before the copy is ready";
        EXPECT_THAT(early.error_message(), HasSubstr("not ready for pivot"));
    }
    ASSERT_TRUE(WaitForReady(&info));
    Report("BlockCopy of ~7 MiB at 1 MiB/s until ready", SecondsSince(begin));
    ASSERT_TRUE(info.active()) << "a copy waits to be pivoted";

    begin = Clock::now();
    ASSERT_TRUE(Succeeded(Abort({v1::BLOCK_JOB_ABORT_FLAG_PIVOT})));
    Report("AbortBlockJob PIVOT of the copy", SecondsSince(begin));
    EXPECT_FALSE(jobs_->InfoOf(name(), kDisk).active());
    EXPECT_EQ(LiveSource(), copy_file);
    EXPECT_EQ(BackingFile(copy_file), "") << "a full copy needs no backing file";
    EXPECT_THAT(MustRun("qemu-img info -U '" + copy_file + "'"),
                HasSubstr("cluster_size: 131072"))
        << "REUSE_EXT: libvirt used the image made beforehand";
    std::string agent_hostname;
    EXPECT_TRUE(Succeeded(AgentHostname(&agent_hostname))) << "the guest runs on the copy";
    EXPECT_TRUE(ServerStillServes());

    ASSERT_NO_FATAL_FAILURE(CloseImages());
    EXPECT_TRUE(Holds(copy_file, kOverlayData, true));
    EXPECT_TRUE(Holds(copy_file, kMiddleData, true));
    EXPECT_TRUE(Holds(copy_file, kTopData, true));
}

// The same operations as Jobs (JobService.StartJob): a throttled pull reports block
// progress through WatchJob and ends COMPLETED when libvirt's BLOCK_JOB_2 event says so;
// an active commit waits in READY and CancelJob with pivot completes it.
TEST_F(BlockJobsQemuTest, BlockJobsRunAsJobsThatEndWithLibvirtsEvents)
{
    ASSERT_NO_FATAL_FAILURE(BuildChainAndBoot());
    auto job_service = v1::JobService::NewStub(channel());
    auto watch = [&](const std::string &id, const std::function<bool(const v1::Job &)> &stop) {
        auto context = ContextWithDeadline(std::chrono::milliseconds(120000));
        v1::WatchJobRequest request;
        request.set_id(id);
        request.set_interval_ms(100);
        auto reader = job_service->WatchJob(context.get(), request);
        std::vector<v1::Job> seen;
        v1::Job job;
        while (reader->Read(&job)) {
            seen.push_back(job);
            if (stop(job)) {
                context->TryCancel();
                break;
            }
        }
        reader->Finish();
        return seen;
    };

    v1::StartJobRequest pull;
    *pull.mutable_block_pull() = BlockJobRequest<v1::BlockPullRequest>(name(), kDisk);
    pull.mutable_block_pull()->set_bandwidth_bytes_per_s(kSlowBytesPerSecond);
    v1::Job started;
    {
        auto context = ContextWithDeadline();
        ASSERT_TRUE(Succeeded(job_service->StartJob(context.get(), pull, &started)));
    }
    EXPECT_EQ(started.kind(), v1::JOB_KIND_BLOCK_PULL);
    // Unthrottle once progress was seen, so the pull ends soon.
    bool unthrottled = false;
    std::vector<v1::Job> seen = watch(started.id(), [&](const v1::Job &job) {
        if (!unthrottled && job.has_block() && job.block().cursor() > 0) {
            auto speed = BlockJobRequest<v1::SetBlockJobSpeedRequest>(name(), kDisk);
            speed.set_bandwidth_bytes_per_s(0);
            EXPECT_TRUE(Succeeded(jobs_->SetSpeed(speed)));
            unthrottled = true;
        }
        return job.state() != v1::JOB_STATE_RUNNING;
    });
    ASSERT_FALSE(seen.empty());
    bool had_progress = false;
    for (const v1::Job &job : seen) {
        if (job.has_block() && job.block().type() == v1::BLOCK_JOB_TYPE_PULL &&
            job.block().cursor() < job.block().end())
            had_progress = true;
    }
    EXPECT_TRUE(had_progress) << "no block progress while the pull ran";
    EXPECT_EQ(seen.back().state(), v1::JOB_STATE_COMPLETED) << seen.back().DebugString();
    EXPECT_EQ(BackingFile(Top()), "") << "the pull flattened the chain";
}

// An active commit as a Job waits in READY; CancelJob with pivot switches the disk to
// the image below and the Job ends COMPLETED (from libvirt's BLOCK_JOB_2 event).
TEST_F(BlockJobsQemuTest, ActiveCommitJobWaitsReadyAndCancelJobWithPivotCompletesIt)
{
    ASSERT_NO_FATAL_FAILURE(BuildChainAndBoot());
    auto job_service = v1::JobService::NewStub(channel());
    v1::StartJobRequest commit;
    *commit.mutable_block_commit() = BlockJobRequest<v1::BlockCommitRequest>(name(), kDisk);
    commit.mutable_block_commit()->set_base_image(Middle());
    commit.mutable_block_commit()->add_flags(v1::BLOCK_COMMIT_FLAG_ACTIVE);
    commit.mutable_block_commit()->add_flags(v1::BLOCK_COMMIT_FLAG_SHALLOW);
    v1::Job started;
    {
        auto context = ContextWithDeadline();
        ASSERT_TRUE(Succeeded(job_service->StartJob(context.get(), commit, &started)));
    }
    auto get = [&] {
        auto context = ContextWithDeadline();
        v1::GetJobRequest request;
        v1::Job job;
        request.set_id(started.id());
        EXPECT_TRUE(Succeeded(job_service->GetJob(context.get(), request, &job)));
        return job;
    };
    ASSERT_TRUE(WaitUntil([&] { return get().state() == v1::JOB_STATE_READY; },
                          std::chrono::seconds(60)))
        << get().DebugString();

    {
        auto context = ContextWithDeadline();
        v1::CancelJobRequest cancel;
        v1::Job reply;
        cancel.set_id(started.id());
        cancel.set_pivot(true);
        ASSERT_TRUE(Succeeded(job_service->CancelJob(context.get(), cancel, &reply)));
    }
    ASSERT_TRUE(WaitUntil([&] { return get().state() == v1::JOB_STATE_COMPLETED; },
                          std::chrono::seconds(60)))
        << get().DebugString();
    EXPECT_THAT(LiveDisk(), Not(HasSubstr(Top()))) << "the disk pivoted to the image below";
}

// A rebase and a copy as Jobs: the rebase Job ends COMPLETED with the new backing file
// on disk; the copy Job (full, throttled) reports block progress, waits in READY, and
// CancelJob with pivot moves the disk to the copy and ends it COMPLETED.
TEST_F(BlockJobsQemuTest, RebaseAndCopyJobsEndAsTheDiskChainSays)
{
    ASSERT_NO_FATAL_FAILURE(BuildChainAndBoot());
    auto job_service = v1::JobService::NewStub(channel());
    auto start = [&](const v1::StartJobRequest &request) {
        auto context = ContextWithDeadline();
        v1::Job job;
        EXPECT_TRUE(Succeeded(job_service->StartJob(context.get(), request, &job)));
        return job;
    };
    auto get = [&](const std::string &id) {
        auto context = ContextWithDeadline();
        v1::GetJobRequest request;
        v1::Job job;
        request.set_id(id);
        EXPECT_TRUE(Succeeded(job_service->GetJob(context.get(), request, &job)));
        return job;
    };
    auto watch_to_end = [&](const std::string &id) {
        auto context = ContextWithDeadline(std::chrono::milliseconds(120000));
        v1::WatchJobRequest request;
        request.set_id(id);
        request.set_interval_ms(100);
        auto reader = job_service->WatchJob(context.get(), request);
        std::vector<v1::Job> seen;
        v1::Job job;
        while (reader->Read(&job))
            seen.push_back(job);
        EXPECT_TRUE(Succeeded(reader->Finish()));
        return seen;
    };

    v1::StartJobRequest rebase;
    *rebase.mutable_block_rebase() = BlockJobRequest<v1::BlockRebaseRequest>(name(), kDisk);
    rebase.mutable_block_rebase()->set_base_image(Overlay());
    v1::Job rebase_job = start(rebase);
    EXPECT_EQ(rebase_job.kind(), v1::JOB_KIND_BLOCK_REBASE);
    std::vector<v1::Job> rebased = watch_to_end(rebase_job.id());
    ASSERT_FALSE(rebased.empty());
    EXPECT_EQ(rebased.back().state(), v1::JOB_STATE_COMPLETED) << rebased.back().DebugString();
    EXPECT_EQ(BackingFile(Top()), Overlay()) << BackingChain(Top());

    const std::string copy_file = File("job-copy.qcow2");
    v1::StartJobRequest copy;
    *copy.mutable_block_copy() = BlockJobRequest<v1::BlockCopyRequest>(name(), kDisk);
    copy.mutable_block_copy()->set_destination_xml(
        "<disk type='file'><driver type='qcow2'/><source file='" + copy_file + "'/></disk>");
    copy.mutable_block_copy()->set_bandwidth_bytes_per_s(kSlowBytesPerSecond);
    copy.mutable_block_copy()->add_flags(v1::BLOCK_COPY_FLAG_TRANSIENT_JOB);
    v1::Job copy_job = start(copy);
    EXPECT_EQ(copy_job.kind(), v1::JOB_KIND_BLOCK_COPY);
    // A watcher is what makes the server poll progress.
    std::mutex seen_lock;
    std::vector<v1::Job> seen;
    std::thread watcher([&] {
        std::vector<v1::Job> all = watch_to_end(copy_job.id());
        std::lock_guard<std::mutex> lock(seen_lock);
        seen = all;
    });
    auto copy_progress_seen = [&] {
        v1::Job now = get(copy_job.id());
        return now.has_block() && now.block().type() == v1::BLOCK_JOB_TYPE_COPY &&
               now.block().end() > 0;
    };
    bool progressed = WaitUntil(copy_progress_seen, std::chrono::seconds(30));
    auto speed = BlockJobRequest<v1::SetBlockJobSpeedRequest>(name(), kDisk);
    speed.set_bandwidth_bytes_per_s(0);
    EXPECT_TRUE(Succeeded(jobs_->SetSpeed(speed)));
    bool ready = WaitUntil([&] { return get(copy_job.id()).state() == v1::JOB_STATE_READY; },
                           std::chrono::seconds(60));
    {
        auto context = ContextWithDeadline();
        v1::CancelJobRequest cancel;
        v1::Job reply;
        cancel.set_id(copy_job.id());
        cancel.set_pivot(true);
        EXPECT_TRUE(Succeeded(job_service->CancelJob(context.get(), cancel, &reply)));
    }
    watcher.join();
    EXPECT_TRUE(progressed) << "no block progress while the copy ran";
    ASSERT_TRUE(ready) << get(copy_job.id()).DebugString();
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().state(), v1::JOB_STATE_COMPLETED) << seen.back().DebugString();
    EXPECT_THAT(LiveDisk(), HasSubstr(copy_file)) << "the disk pivoted to the copy";
}

} // namespace
} // namespace virtgrpc::testing
