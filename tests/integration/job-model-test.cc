// The Job model (JobService.StartJob / GetJob / ListJobs / WatchJob / CancelJob) on the
// embedded test driver, where save, restore, managed save and core dump run for real
// but finish in milliseconds: jobs start, end COMPLETED with the operation's response,
// or FAILED with the status the foreground RPC gives; bad requests and unknown jobs get
// clear statuses; finished jobs are pruned after the retention.
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/jobs.grpc.pb.h"

namespace virtgrpc::testing {
namespace {

using namespace std::chrono_literals;

std::string TempPath(const std::string &name)
{
    const char *dir = std::getenv("TEST_TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/" + name + "-" + std::to_string(getpid());
}

class JobModelTest : public ServerTest {
  protected:
    JobModelTest() = default;
    explicit JobModelTest(VirtgrpcdProcess::Options options) : ServerTest(std::move(options)) {}

    void SetUp() override
    {
        ServerTest::SetUp();
        jobs_ = v1::JobService::NewStub(channel());
    }

    void TearDown() override
    {
        jobs_.reset();
        ServerTest::TearDown();
    }

    grpc::Status Start(const v1::StartJobRequest &request, v1::Job *job)
    {
        auto context = ContextWithDeadline();
        return jobs_->StartJob(context.get(), request, job);
    }

    grpc::Status Get(const std::string &id, v1::Job *job)
    {
        auto context = ContextWithDeadline();
        v1::GetJobRequest request;
        request.set_id(id);
        return jobs_->GetJob(context.get(), request, job);
    }

    // Reads WatchJob to its end; returns every message and the final status.
    std::vector<v1::Job> Watch(const std::string &id, grpc::Status *status,
                               uint32_t interval_ms = 100)
    {
        auto context = ContextWithDeadline();
        v1::WatchJobRequest request;
        request.set_id(id);
        request.set_interval_ms(interval_ms);
        auto reader = jobs_->WatchJob(context.get(), request);
        std::vector<v1::Job> seen;
        v1::Job job;
        while (reader->Read(&job))
            seen.push_back(job);
        *status = reader->Finish();
        return seen;
    }

    // Starts `request` and waits for the end; the final Job.
    v1::Job RunToEnd(const v1::StartJobRequest &request)
    {
        v1::Job started;
        EXPECT_TRUE(Succeeded(Start(request, &started)));
        grpc::Status status;
        std::vector<v1::Job> seen = Watch(started.id(), &status);
        EXPECT_TRUE(Succeeded(status));
        EXPECT_FALSE(seen.empty());
        return seen.empty() ? started : seen.back();
    }

    static v1::StartJobRequest Save(const std::string &domain, const std::string &path)
    {
        v1::StartJobRequest request;
        *request.mutable_save()->mutable_domain() = RefByName(domain);
        request.mutable_save()->set_path(path);
        return request;
    }

    std::unique_ptr<v1::JobService::Stub> jobs_;
};

TEST_F(JobModelTest, SaveJobStartsRunningAndCompletesWithTheSaveResponse)
{
    std::string path = TempPath("save-job");
    v1::Job started;
    ASSERT_TRUE(Succeeded(Start(Save(kStockDomainName, path), &started)));

    EXPECT_EQ(started.id().size(), 36u) << started.id();
    EXPECT_EQ(started.kind(), v1::JOB_KIND_SAVE);
    EXPECT_EQ(started.domain().name(), kStockDomainName);
    EXPECT_EQ(started.domain().uuid(), kStockDomainUuid);
    EXPECT_GT(started.created_at().seconds(), 0);

    grpc::Status status;
    std::vector<v1::Job> seen = Watch(started.id(), &status);
    ASSERT_TRUE(Succeeded(status));
    ASSERT_FALSE(seen.empty());
    const v1::Job &done = seen.back();
    EXPECT_EQ(done.state(), v1::JOB_STATE_COMPLETED);
    EXPECT_GE(done.ended_at().seconds(), done.created_at().seconds());
    ASSERT_EQ(done.outcome_case(), v1::Job::kResult);
    EXPECT_EQ(done.result().type_url(), "type.googleapis.com/virtgrpc.v1.Domain");
    v1::Domain saved;
    ASSERT_TRUE(done.result().UnpackTo(&saved));
    EXPECT_EQ(saved.name(), kStockDomainName);
    EXPECT_EQ(saved.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(saved.state().shutoff_reason(), v1::SHUTOFF_REASON_SAVED);
    // The real effect: the file is there and the domain is off.
    struct stat file;
    EXPECT_EQ(stat(path.c_str(), &file), 0) << path;
    EXPECT_EQ(StateOf(kStockDomainName).state(), v1::DOMAIN_STATE_SHUTOFF);

    v1::Job again;
    ASSERT_TRUE(Succeeded(Get(started.id(), &again)));
    EXPECT_EQ(again.state(), v1::JOB_STATE_COMPLETED);
    unlink(path.c_str());
}

TEST_F(JobModelTest, RestoreJobBringsTheSavedDomainBack)
{
    std::string path = TempPath("restore-job");
    ASSERT_EQ(RunToEnd(Save(kStockDomainName, path)).state(), v1::JOB_STATE_COMPLETED);

    v1::StartJobRequest restore;
    restore.mutable_restore()->set_path(path);
    v1::Job done = RunToEnd(restore);
    EXPECT_EQ(done.kind(), v1::JOB_KIND_RESTORE);
    EXPECT_FALSE(done.has_domain()); // a restore names its domain only when done
    EXPECT_EQ(done.state(), v1::JOB_STATE_COMPLETED);
    EXPECT_EQ(StateOf(kStockDomainName).state(), v1::DOMAIN_STATE_RUNNING);
    unlink(path.c_str());
}

TEST_F(JobModelTest, AJobTheOperationRejectsEndsFailedWithTheForegroundStatus)
{
    v1::Job done = RunToEnd(Save(kStockDomainName, "relative/path"));

    EXPECT_EQ(done.state(), v1::JOB_STATE_FAILED);
    ASSERT_EQ(done.outcome_case(), v1::Job::kError);
    EXPECT_EQ(done.error().code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(done.error().message().find("path"), std::string::npos) << done.error().message();
    ASSERT_GE(done.error().details_size(), 1);
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(done.error().details(0).UnpackTo(&info));
    EXPECT_EQ(info.reason(), "VIRTGRPC_INVALID_REQUEST");
    // Nothing happened to the domain.
    EXPECT_EQ(StateOf(kStockDomainName).state(), v1::DOMAIN_STATE_RUNNING);

    // A libvirt failure keeps libvirt's code: a shut-off domain cannot be saved.
    DefineDomain("job-off");
    v1::Job off = RunToEnd(Save("job-off", TempPath("off")));
    EXPECT_EQ(off.state(), v1::JOB_STATE_FAILED);
    EXPECT_EQ(off.error().code(), grpc::StatusCode::FAILED_PRECONDITION);
    ASSERT_TRUE(off.error().details(0).UnpackTo(&info));
    EXPECT_EQ(info.reason(), "VIR_ERR_OPERATION_INVALID");
}

TEST_F(JobModelTest, BackupJobOnTheTestDriverFailsUnimplementedAndStartsNothing)
{
    v1::StartJobRequest backup;
    *backup.mutable_backup()->mutable_domain() = RefByName(kStockDomainName);
    backup.mutable_backup()->set_backup_xml("<domainbackup/>");
    v1::Job done = RunToEnd(backup);

    EXPECT_EQ(done.kind(), v1::JOB_KIND_BACKUP);
    EXPECT_EQ(done.state(), v1::JOB_STATE_FAILED);
    EXPECT_EQ(done.error().code(), grpc::StatusCode::UNIMPLEMENTED);
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(done.error().details(0).UnpackTo(&info));
    EXPECT_EQ(info.reason(), "VIR_ERR_NO_SUPPORT");
    EXPECT_EQ(StateOf(kStockDomainName).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(JobModelTest, ListJobsFiltersByDomainAndState)
{
    DefineRunningDomain("job-list");
    v1::Job a = RunToEnd(Save(kStockDomainName, TempPath("list-a")));
    v1::Job b = RunToEnd(Save("job-list", "relative"));

    auto list = [&](const v1::ListJobsRequest &request) {
        auto context = ContextWithDeadline();
        v1::ListJobsResponse reply;
        EXPECT_TRUE(Succeeded(jobs_->ListJobs(context.get(), request, &reply)));
        std::vector<std::string> ids;
        for (const v1::Job &job : reply.jobs())
            ids.push_back(job.id());
        return ids;
    };
    EXPECT_EQ(list(v1::ListJobsRequest()), (std::vector<std::string>{a.id(), b.id()}));
    v1::ListJobsRequest by_domain;
    *by_domain.mutable_domain() = RefByName("job-list");
    EXPECT_EQ(list(by_domain), std::vector<std::string>{b.id()});
    v1::ListJobsRequest by_uuid;
    *by_uuid.mutable_domain() = RefByUuid(kStockDomainUuid);
    EXPECT_EQ(list(by_uuid), std::vector<std::string>{a.id()});
    v1::ListJobsRequest completed;
    completed.add_states(v1::JOB_STATE_COMPLETED);
    EXPECT_EQ(list(completed), std::vector<std::string>{a.id()});
    v1::ListJobsRequest running;
    running.add_states(v1::JOB_STATE_RUNNING);
    EXPECT_TRUE(list(running).empty());
}

TEST_F(JobModelTest, BadRequestsAndUnknownJobsSayWhatWasWrong)
{
    v1::Job job;
    EXPECT_TRUE(FailedWith(Start(v1::StartJobRequest(), &job),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(Start(Save("no-such-domain", "/tmp/x"), &job),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(FailedWith(Get("", &job), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(Get("6f1c0f8e-0000-4000-8000-000000000000", &job),
                           grpc::StatusCode::NOT_FOUND, "VIRTGRPC_INVALID_REQUEST"));

    grpc::Status status;
    Watch("6f1c0f8e-0000-4000-8000-000000000000", &status);
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIRTGRPC_INVALID_REQUEST"));
    v1::Job done = RunToEnd(Save(kStockDomainName, TempPath("bad")));
    Watch(done.id(), &status, 50);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_NE(status.error_message().find("interval_ms"), std::string::npos);

    v1::ListJobsRequest bad_state;
    bad_state.add_states(v1::JOB_STATE_UNSPECIFIED);
    auto context = ContextWithDeadline();
    v1::ListJobsResponse reply;
    EXPECT_TRUE(FailedWith(jobs_->ListJobs(context.get(), bad_state, &reply),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(JobModelTest, CancellingAFinishedJobIsAFailedPrecondition)
{
    v1::Job done = RunToEnd(Save(kStockDomainName, TempPath("cancel-done")));
    auto context = ContextWithDeadline();
    v1::CancelJobRequest request;
    request.set_id(done.id());
    v1::Job reply;

    grpc::Status status = jobs_->CancelJob(context.get(), request, &reply);
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_NE(status.error_message().find("completed"), std::string::npos)
        << status.error_message();
}

TEST_F(JobModelTest, WatchingAFinishedJobGivesItOnceAndEnds)
{
    v1::Job done = RunToEnd(Save(kStockDomainName, TempPath("watch-done")));
    grpc::Status status;
    std::vector<v1::Job> seen = Watch(done.id(), &status);

    ASSERT_TRUE(Succeeded(status));
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].state(), v1::JOB_STATE_COMPLETED);
}

class JobRetentionTest : public JobModelTest {
  protected:
    JobRetentionTest()
        : JobModelTest(VirtgrpcdProcess::Options{"test:///default", {"--job-retention=1"}})
    {
    }
};

TEST_F(JobRetentionTest, FinishedJobsAreForgottenAfterTheRetention)
{
    v1::Job done = RunToEnd(Save(kStockDomainName, TempPath("retention")));
    v1::Job job;
    ASSERT_TRUE(Succeeded(Get(done.id(), &job)));

    std::this_thread::sleep_for(2100ms);
    grpc::Status status = Get(done.id(), &job);
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_NE(status.error_message().find("kept for 1 s"), std::string::npos)
        << status.error_message();
}

} // namespace
} // namespace virtgrpc::testing
