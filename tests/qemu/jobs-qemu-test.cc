// Jobs on a real QEMU guest, through virtgrpcd: a core dump that stalls (into a FIFO the
// test does not read) runs as a Job with live progress, blocks a second job on the same
// domain, and ends CANCELLED through CancelJob with the guest running on; a memory
// snapshot, its revert and its deletion run as Jobs and really change the guest.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "tests/support/qemu-guest.h"
#include "virtgrpc/v1/jobs.grpc.pb.h"
#include "virtgrpc/v1/snapshots.grpc.pb.h"

namespace virtgrpc::testing {
namespace {

using namespace std::chrono_literals;

class JobsQemuTest : public BootedQemuGuestTest {
  protected:
    void SetUp() override
    {
        BootedQemuGuestTest::SetUp();
        jobs_ = v1::JobService::NewStub(channel());
    }

    void TearDown() override
    {
        jobs_.reset();
        BootedQemuGuestTest::TearDown();
    }

    grpc::Status Start(const v1::StartJobRequest &request, v1::Job *job)
    {
        auto context = ContextWithDeadline();
        return jobs_->StartJob(context.get(), request, job);
    }

    // Reads WatchJob to its end (`on_message` sees each message as it comes).
    grpc::Status Watch(const std::string &id, uint32_t interval_ms,
                       const std::function<void(const v1::Job &)> &on_message)
    {
        auto context = ContextWithDeadline(std::chrono::milliseconds(120000));
        v1::WatchJobRequest request;
        request.set_id(id);
        request.set_interval_ms(interval_ms);
        auto reader = jobs_->WatchJob(context.get(), request);
        v1::Job job;
        while (reader->Read(&job))
            on_message(job);
        return reader->Finish();
    }

    v1::Job RunToEnd(const v1::StartJobRequest &request)
    {
        v1::Job last;
        EXPECT_TRUE(Succeeded(Start(request, &last)));
        EXPECT_TRUE(Succeeded(Watch(last.id(), 200, [&](const v1::Job &job) { last = job; })));
        return last;
    }

    std::unique_ptr<v1::JobService::Stub> jobs_;
};

TEST_F(JobsQemuTest, AStalledDumpShowsProgressBlocksASecondJobAndIsCancelled)
{
    std::string fifo = std::string(kGuestFilesRoot) + "/" + name() + "/job-dump.fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << strerror(errno);
    // The read end first (non-blocking), so libvirt's open for writing does not wait.
    int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    ASSERT_GE(reader, 0) << strerror(errno);

    v1::StartJobRequest dump;
    *dump.mutable_core_dump()->mutable_domain() = ref();
    dump.mutable_core_dump()->set_path(fifo);
    v1::Job started;
    ASSERT_TRUE(Succeeded(Start(dump, &started)));
    EXPECT_EQ(started.state(), v1::JOB_STATE_RUNNING);
    EXPECT_EQ(started.kind(), v1::JOB_KIND_CORE_DUMP);

    std::atomic<bool> ended{false};
    std::vector<v1::Job> seen;
    std::mutex seen_lock;
    grpc::Status watch_status;
    std::thread watcher([&] {
        watch_status = Watch(started.id(), 100, [&](const v1::Job &job) {
            std::lock_guard<std::mutex> lock(seen_lock);
            seen.push_back(job);
        });
        ended = true;
    });
    // Progress arrives while it runs: libvirt's job statistics, typed.
    bool progressed = WaitUntil(
        [&] {
            std::lock_guard<std::mutex> lock(seen_lock);
            return !seen.empty() && seen.back().has_progress() &&
                   seen.back().progress().type() == v1::JOB_TYPE_UNBOUNDED;
        },
        30000ms);

    // One job per domain: a second one is refused, naming the first.
    v1::StartJobRequest save;
    *save.mutable_save()->mutable_domain() = ref();
    save.mutable_save()->set_path(std::string(kGuestFilesRoot) + "/" + name() + "/x.save");
    v1::Job second;
    grpc::Status busy = Start(save, &second);

    auto context = ContextWithDeadline();
    v1::CancelJobRequest cancel;
    cancel.set_id(started.id());
    v1::Job cancelling;
    grpc::Status cancel_status = jobs_->CancelJob(context.get(), cancel, &cancelling);
    // Unblock QEMU's write so it sees the abort.
    char buffer[65536];
    auto drain_until = std::chrono::steady_clock::now() + 60s;
    while (!ended && std::chrono::steady_clock::now() < drain_until) {
        if (read(reader, buffer, sizeof(buffer)) <= 0)
            std::this_thread::sleep_for(10ms);
    }
    watcher.join();
    close(reader);

    ASSERT_TRUE(progressed) << "no progress while the dump ran";
    EXPECT_TRUE(seen.back().progress().has_time_elapsed());
    EXPECT_TRUE(FailedWith(busy, grpc::StatusCode::ABORTED, "VIRTGRPC_DOMAIN_BUSY"));
    EXPECT_NE(busy.error_message().find(started.id()), std::string::npos)
        << busy.error_message();
    EXPECT_TRUE(Succeeded(cancel_status));
    EXPECT_TRUE(Succeeded(watch_status));
    const v1::Job &last = seen.back();
    EXPECT_EQ(last.state(), v1::JOB_STATE_CANCELLED);
    ASSERT_EQ(last.outcome_case(), v1::Job::kError);
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(last.error().details(0).UnpackTo(&info));
    EXPECT_EQ(info.reason(), "VIR_ERR_OPERATION_ABORTED");
    EXPECT_TRUE(WaitForState(v1::DOMAIN_STATE_RUNNING, kCallTimeout)) << "the guest runs on";
}

TEST_F(JobsQemuTest, MemorySnapshotRevertAndDeleteRunAsJobs)
{
    v1::StartJobRequest create;
    *create.mutable_create_snapshot()->mutable_domain() = ref();
    create.mutable_create_snapshot()->set_xml("<domainsnapshot><name>job-snap</name>"
                                              "</domainsnapshot>");
    v1::Job created = RunToEnd(create);
    ASSERT_EQ(created.state(), v1::JOB_STATE_COMPLETED) << created.DebugString();
    EXPECT_EQ(created.kind(), v1::JOB_KIND_SNAPSHOT_CREATE);
    v1::Snapshot snapshot;
    ASSERT_TRUE(created.result().UnpackTo(&snapshot));
    EXPECT_EQ(snapshot.name(), "job-snap");

    // Destroy the guest, then revert: it runs again from the snapshot.
    auto context = ContextWithDeadline();
    v1::DestroyDomainRequest destroy;
    *destroy.mutable_domain() = ref();
    v1::Domain destroyed;
    ASSERT_TRUE(Succeeded(domains_->DestroyDomain(context.get(), destroy, &destroyed)));
    v1::StartJobRequest revert;
    *revert.mutable_revert_snapshot()->mutable_snapshot()->mutable_domain() = ref();
    revert.mutable_revert_snapshot()->mutable_snapshot()->set_name("job-snap");
    v1::Job reverted = RunToEnd(revert);
    ASSERT_EQ(reverted.state(), v1::JOB_STATE_COMPLETED) << reverted.DebugString();
    EXPECT_EQ(reverted.domain().name(), name());
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);

    v1::StartJobRequest remove;
    *remove.mutable_delete_snapshot()->mutable_snapshot()->mutable_domain() = ref();
    remove.mutable_delete_snapshot()->mutable_snapshot()->set_name("job-snap");
    EXPECT_EQ(RunToEnd(remove).state(), v1::JOB_STATE_COMPLETED);
    v1::StartJobRequest again = revert;
    v1::Job gone = RunToEnd(again);
    EXPECT_EQ(gone.state(), v1::JOB_STATE_FAILED);
    EXPECT_EQ(gone.error().code(), grpc::StatusCode::NOT_FOUND);
}

} // namespace
} // namespace virtgrpc::testing
