// StatsService and JobService against the real virtgrpcd and libvirt's embedded test
// driver. The test driver reports only the "state" group of the bulk statistics, so
// these tests prove the selection (all domains, filters, a named subset, groups), the
// state it reports against GetDomainState, the bad requests, and WatchDomainStats'
// stream: samples at the interval with increasing timestamps, a state change seen in
// a later sample, a clean end on cancel (the stream slot comes back), the cut-off of a
// client that does not read while another watcher keeps receiving.
// The test driver has no jobs: each job call is UNIMPLEMENTED (VIR_ERR_NO_SUPPORT); the
// typed fields of every group and of job statistics are proven on QEMU
// (tests/qemu/stats-qemu-test.cc).
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/server-test.h"
#include "tests/support/stats-client.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

int64_t
NanosOf(const google::protobuf::Timestamp &time)
{
    return time.seconds() * 1000000000LL + time.nanos();
}

class StatsTest : public ServerTest
{
  protected:
    StatsTest() = default;
    explicit StatsTest(VirtgrpcdProcess::Options options) : ServerTest(std::move(options))
    {
    }

    void
    SetUp() override
    {
        ServerTest::SetUp();
        if (HasFatalFailure())
            return;
        stats_ = std::make_unique<StatsClient>(channel());
    }
    void
    TearDown() override
    {
        stats_.reset();
        ServerTest::TearDown();
    }

    v1::GetAllDomainStatsResponse
    GetAll(const v1::GetAllDomainStatsRequest &request)
    {
        v1::GetAllDomainStatsResponse response;
        EXPECT_TRUE(Succeeded(stats_->GetAll(request, &response)));
        return response;
    }

    void
    Suspend(const std::string &name)
    {
        v1::Domain domain;
        EXPECT_TRUE(Succeeded(
            domains_->SuspendDomain(ContextWithDeadline().get(),
                                    RequestFor<v1::SuspendDomainRequest>(name), &domain)));
    }

    std::unique_ptr<StatsClient> stats_;
};

// --- GetAllDomainStats ------------------------------------------------------------

TEST_F(StatsTest, GetAllDomainStatsReportsEveryDomainWithItsState)
{
    DefineDomain("idle");

    auto response = GetAll(StatsRequest<v1::GetAllDomainStatsRequest>({}));

    EXPECT_THAT(StatsNames(response.domains()), UnorderedElementsAre("test", "idle"));
    const v1::DomainStats *test = StatsFor(response.domains(), "test");
    ASSERT_NE(test, nullptr);
    EXPECT_EQ(test->domain().uuid(), kStockDomainUuid);
    EXPECT_GT(test->domain().id(), 0) << "a running domain has an id";
    ASSERT_TRUE(test->has_state());
    EXPECT_EQ(test->state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(test->state().state(), StateOf("test").state());
    EXPECT_TRUE(test->state().has_reason());
    const v1::DomainStats *idle = StatsFor(response.domains(), "idle");
    ASSERT_NE(idle, nullptr);
    EXPECT_EQ(idle->state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(idle->domain().id(), -1);
    // The test driver reports "state.state" and "state.reason" only: no other group,
    // and nothing it reports is unknown to this build.
    EXPECT_FALSE(test->has_cpu());
    EXPECT_FALSE(test->has_balloon());
    EXPECT_EQ(test->block_size(), 0);
    EXPECT_EQ(test->unknown_size(), 0);
}

TEST_F(StatsTest, SuspendedDomainReportsPausedByUser)
{
    Suspend("test");

    auto response = GetAll(StatsRequest<v1::GetAllDomainStatsRequest>({"test"}));

    ASSERT_EQ(response.domains_size(), 1);
    EXPECT_EQ(response.domains(0).state().state(), v1::DOMAIN_STATE_PAUSED);
    EXPECT_EQ(response.domains(0).state().reason(), 1) << "VIR_DOMAIN_PAUSED_USER";
}

TEST_F(StatsTest, ActiveFilterLeavesShutOffDomainsOut)
{
    DefineDomain("idle");

    auto active = GetAll(StatsRequest<v1::GetAllDomainStatsRequest>(
        {}, {}, {v1::GET_ALL_STATS_FLAG_ACTIVE}));
    auto inactive = GetAll(StatsRequest<v1::GetAllDomainStatsRequest>(
        {}, {}, {v1::GET_ALL_STATS_FLAG_INACTIVE}));
    auto both = GetAll(StatsRequest<v1::GetAllDomainStatsRequest>(
        {}, {}, {v1::GET_ALL_STATS_FLAG_ACTIVE, v1::GET_ALL_STATS_FLAG_INACTIVE}));

    EXPECT_THAT(StatsNames(active.domains()), ElementsAre("test"));
    EXPECT_THAT(StatsNames(inactive.domains()), ElementsAre("idle"));
    EXPECT_THAT(StatsNames(both.domains()), UnorderedElementsAre("test", "idle"));
}

TEST_F(StatsTest, StateFiltersSelectPausedAndRunning)
{
    DefineRunningDomain("other");
    Suspend("test");

    auto paused = GetAll(StatsRequest<v1::GetAllDomainStatsRequest>(
        {}, {}, {v1::GET_ALL_STATS_FLAG_PAUSED}));
    auto running = GetAll(StatsRequest<v1::GetAllDomainStatsRequest>(
        {}, {}, {v1::GET_ALL_STATS_FLAG_RUNNING}));

    EXPECT_THAT(StatsNames(paused.domains()), ElementsAre("test"));
    EXPECT_THAT(StatsNames(running.domains()), ElementsAre("other"));
}

TEST_F(StatsTest, NamedDomainsAreReportedInTheirOrder)
{
    DefineDomain("idle");
    DefineDomain("spare");

    auto response = GetAll(StatsRequest<v1::GetAllDomainStatsRequest>({"spare", "test"}));

    EXPECT_THAT(StatsNames(response.domains()), ElementsAre("spare", "test"));
}

TEST_F(StatsTest, FiltersAlsoApplyToNamedDomains)
{
    DefineDomain("idle");

    auto response = GetAll(StatsRequest<v1::GetAllDomainStatsRequest>(
        {"idle", "test"}, {}, {v1::GET_ALL_STATS_FLAG_ACTIVE}));

    EXPECT_THAT(StatsNames(response.domains()), ElementsAre("test"));
}

TEST_F(StatsTest, StateGroupAloneIsStillReported)
{
    auto response = GetAll(
        StatsRequest<v1::GetAllDomainStatsRequest>({"test"}, {v1::STATS_TYPE_STATE}));

    ASSERT_EQ(response.domains_size(), 1);
    EXPECT_TRUE(response.domains(0).has_state());
}

TEST_F(StatsTest, GroupTheDriverLacksIsLeftOutOrRefusedWhenEnforced)
{
    auto lenient = GetAll(
        StatsRequest<v1::GetAllDomainStatsRequest>({"test"}, {v1::STATS_TYPE_BALLOON}));
    ASSERT_EQ(lenient.domains_size(), 1);
    EXPECT_FALSE(lenient.domains(0).has_balloon());
    EXPECT_FALSE(lenient.domains(0).has_state()) << "only the asked group";

    v1::GetAllDomainStatsResponse response;
    grpc::Status status = stats_->GetAll(
        StatsRequest<v1::GetAllDomainStatsRequest>({}, {v1::STATS_TYPE_BALLOON},
                                                   {v1::GET_ALL_STATS_FLAG_ENFORCE_STATS}),
        &response);
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_ARGUMENT_UNSUPPORTED"));
}

TEST_F(StatsTest, UnknownDomainIsNotFound)
{
    v1::GetAllDomainStatsResponse response;
    grpc::Status status = stats_->GetAll(
        StatsRequest<v1::GetAllDomainStatsRequest>({"test", "nope"}), &response);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_THAT(status.error_message(), HasSubstr("'nope'"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(StatsTest, EmptyDomainReferenceIsInvalid)
{
    v1::GetAllDomainStatsRequest request;
    request.add_domains();
    v1::GetAllDomainStatsResponse response;

    EXPECT_TRUE(FailedWith(stats_->GetAll(request, &response),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
}

TEST_F(StatsTest, UnspecifiedGroupOrFlagIsInvalid)
{
    v1::GetAllDomainStatsResponse response;
    grpc::Status bad_group = stats_->GetAll(
        StatsRequest<v1::GetAllDomainStatsRequest>({}, {v1::STATS_TYPE_UNSPECIFIED}),
        &response);
    grpc::Status bad_flag =
        stats_->GetAll(StatsRequest<v1::GetAllDomainStatsRequest>(
                           {}, {}, {v1::GET_ALL_STATS_FLAG_UNSPECIFIED}),
                       &response);

    EXPECT_TRUE(FailedWith(bad_group, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(bad_group.error_message(), HasSubstr("stats"));
    EXPECT_TRUE(FailedWith(bad_flag, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(bad_flag.error_message(), HasSubstr("flags"));
    EXPECT_TRUE(ServerStillServes());
}

// --- WatchDomainStats -------------------------------------------------------------

v1::WatchDomainStatsRequest
WatchRequest(std::initializer_list<std::string> domains, uint32_t interval_ms)
{
    auto request = StatsRequest<v1::WatchDomainStatsRequest>(domains);
    request.set_interval_ms(interval_ms);
    return request;
}

TEST_F(StatsTest, WatchRejectsIntervalsOutOfRange)
{
    for (uint32_t interval : {0u, 99u, 3600001u}) {
        auto watch = stats_->OpenWatch(WatchRequest({}, interval));
        grpc::Status status = watch.Drain();

        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"))
            << interval;
        EXPECT_THAT(status.error_message(),
                    HasSubstr("'interval_ms' is " + std::to_string(interval)));
        EXPECT_THAT(status.error_message(), HasSubstr("100"));
        EXPECT_THAT(status.error_message(), HasSubstr("3600000"));
    }
    auto unset = stats_->OpenWatch(StatsRequest<v1::WatchDomainStatsRequest>({}));
    EXPECT_THAT(unset.Drain().error_message(), HasSubstr("not set"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(StatsTest, WatchDeliversSamplesAtTheIntervalWithIncreasingTimestamps)
{
    constexpr uint32_t kIntervalMs = 200;
    auto watch = stats_->OpenWatch(WatchRequest({"test"}, kIntervalMs));
    std::vector<int64_t> times;
    auto start = std::chrono::steady_clock::now();

    v1::DomainStatsSample sample;
    while (times.size() < 6 && watch.reader->Read(&sample)) {
        ASSERT_TRUE(sample.has_time());
        ASSERT_EQ(sample.domains_size(), 1);
        EXPECT_EQ(sample.domains(0).domain().name(), "test");
        EXPECT_EQ(sample.domains(0).state().state(), v1::DOMAIN_STATE_RUNNING);
        times.push_back(NanosOf(sample.time()));
    }
    auto elapsed = std::chrono::steady_clock::now() - start;

    ASSERT_EQ(times.size(), 6u) << Describe(watch.End());
    for (size_t i = 1; i < times.size(); i++) {
        int64_t gap_ms = (times[i] - times[i - 1]) / 1000000;
        EXPECT_GT(times[i], times[i - 1]);
        // Loose per gap (a sample that waited for a busy worker shortens the next gap);
        // the total below is the tight check: no burst, no sample per tick skipped.
        EXPECT_GE(gap_ms, kIntervalMs / 2) << "sample " << i;
        EXPECT_LE(gap_ms, kIntervalMs * 3) << "sample " << i;
    }
    // The first sample comes at once, then one per interval: 5 intervals.
    EXPECT_GE(elapsed, std::chrono::milliseconds(5 * kIntervalMs * 9 / 10));
    EXPECT_GE(times.back() - times.front(), 5LL * kIntervalMs * 9 / 10 * 1000000);
    RecordProperty("five_intervals_ms", (int)((times.back() - times.front()) / 1000000));
    EXPECT_EQ(watch.End().error_code(), grpc::StatusCode::CANCELLED);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(StatsTest, WatchSeesAStateChangeInALaterSample)
{
    auto watch = stats_->OpenWatch(WatchRequest({}, 100));
    v1::DomainStatsSample sample;
    ASSERT_TRUE(watch.reader->Read(&sample));
    ASSERT_NE(StatsFor(sample.domains(), "test"), nullptr);
    EXPECT_EQ(StatsFor(sample.domains(), "test")->state().state(),
              v1::DOMAIN_STATE_RUNNING);

    Suspend("test");
    DefineDomain("late");

    bool seen = false;
    for (int i = 0; i < 50 && !seen && watch.reader->Read(&sample); i++) {
        const v1::DomainStats *test = StatsFor(sample.domains(), "test");
        seen = test && test->state().state() == v1::DOMAIN_STATE_PAUSED &&
               StatsFor(sample.domains(), "late") != nullptr;
    }
    EXPECT_TRUE(seen) << "no sample showed 'test' paused and the new domain 'late'";
    EXPECT_EQ(watch.End().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(StatsTest, WatchOfAnUnknownDomainEndsNotFound)
{
    auto watch = stats_->OpenWatch(WatchRequest({"nope"}, 100));
    int n_read = 0;
    grpc::Status status = watch.Drain(&n_read);

    EXPECT_EQ(n_read, 0);
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(StatsTest, WatchOfADomainUndefinedMeanwhileLeavesItOutOfLaterSamples)
{
    DefineDomain("brief");
    auto watch = stats_->OpenWatch(WatchRequest({"brief", "test"}, 100));
    v1::DomainStatsSample sample;
    ASSERT_TRUE(watch.reader->Read(&sample));
    ASSERT_NE(StatsFor(sample.domains(), "brief"), nullptr);

    v1::Domain gone;
    ASSERT_TRUE(Succeeded(
        domains_->UndefineDomain(ContextWithDeadline().get(),
                                 RequestFor<v1::UndefineDomainRequest>("brief"), &gone)));

    // libvirt skips a listed domain that no longer exists; the stream goes on.
    bool left_out = false;
    for (int i = 0; i < 50 && !left_out && watch.reader->Read(&sample); i++)
        left_out = StatsFor(sample.domains(), "brief") == nullptr;
    EXPECT_TRUE(left_out) << "every sample still reported the undefined domain";
    EXPECT_NE(StatsFor(sample.domains(), "test"), nullptr);
    EXPECT_EQ(watch.End().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(StatsTest, ManyWatchersCancelledAtOnceLeaveTheServerServing)
{
    std::vector<StatsClient::Watch> watches;
    for (int i = 0; i < 20; i++)
        watches.push_back(stats_->OpenWatch(WatchRequest({}, 100)));
    for (auto &watch : watches) {
        v1::DomainStatsSample sample;
        EXPECT_TRUE(watch.reader->Read(&sample));
    }
    for (auto &watch : watches)
        EXPECT_EQ(watch.End().error_code(), grpc::StatusCode::CANCELLED);
    EXPECT_TRUE(ServerStillServes());
    // The server exits cleanly in TearDown: no watcher is left holding it.
}

// A server whose streams may hold 2 unsent messages, and a client channel that takes
// little off the wire (no BDP window growth, 1 KiB look-ahead): a watcher that does not
// read fills the server's queue within a few samples.
class SlowWatcherTest : public StatsTest
{
  protected:
    SlowWatcherTest()
        : StatsTest(
              VirtgrpcdProcess::Options{"test:///default", {"--max-queued-messages=2"}})
    {
    }

    std::unique_ptr<StatsClient>
    SlowClient()
    {
        grpc::ChannelArguments args;
        args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
        args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
        args.SetMaxReceiveMessageSize(-1);
        channel_ = grpc::CreateCustomChannel(server().target(),
                                             grpc::InsecureChannelCredentials(), args);
        return std::make_unique<StatsClient>(channel_);
    }

    void
    TearDown() override
    {
        channel_.reset();
        StatsTest::TearDown();
    }

    std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(SlowWatcherTest, WatcherThatDoesNotReadIsCutOffWithResourceExhausted)
{
    // Enough domains that each sample is a few KiB.
    for (int i = 0; i < 40; i++)
        DefineDomain("filler-" + std::to_string(i));
    auto slow = SlowClient();
    auto watch = slow->OpenWatch(WatchRequest({}, 100));
    auto fast = stats_->OpenWatch(WatchRequest({"test"}, 100));

    // The slow client reads nothing for 4 s (40 intervals) while a second watcher on
    // another connection keeps reading.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    int fast_samples = 0;
    v1::DomainStatsSample sample;
    while (std::chrono::steady_clock::now() < until && fast.reader->Read(&sample))
        fast_samples++;

    int n_read = 0;
    grpc::Status status = watch.Drain(&n_read);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"));
    EXPECT_THAT(status.error_message(), HasSubstr("fell behind"));
    RecordProperty("samples_read_before_cutoff", n_read);
    RecordProperty("fast_watcher_samples_in_4s", fast_samples);
    EXPECT_LT(n_read, 35) << "the stream was cut off, not left to run";
    EXPECT_GE(fast_samples, 30) << "the other watcher kept its samples meanwhile";
    EXPECT_EQ(fast.End().error_code(), grpc::StatusCode::CANCELLED);
    EXPECT_TRUE(ServerStillServes());
}

// A server that allows 3 open streams: a cancelled watcher must give its slot back
// (the watch releases the call once its timer is closed and no sample runs).
class StreamLimitTest : public StatsTest
{
  protected:
    StreamLimitTest()
        : StatsTest(VirtgrpcdProcess::Options{"test:///default", {"--max-streams=3"}})
    {
    }

    // Opens 3 watchers that each deliver a sample; none (all ended) when the server
    // refuses one, e.g. while it still holds slots of cancelled watchers.
    std::vector<StatsClient::Watch>
    TryOpenThree()
    {
        std::vector<StatsClient::Watch> watches;
        for (int i = 0; i < 3; i++) {
            watches.push_back(stats_->OpenWatch(WatchRequest({}, 100)));
            v1::DomainStatsSample sample;
            if (!watches.back().reader->Read(&sample)) {
                for (auto &watch : watches)
                    watch.End();
                return {};
            }
        }
        return watches;
    }
};

TEST_F(StreamLimitTest, CancelledWatchersGiveTheirStreamSlotsBack)
{
    for (int round = 0; round < 3; round++) {
        // The slots of the previous round's watchers come back once the server has
        // seen their cancels.
        std::vector<StatsClient::Watch> watches;
        ASSERT_TRUE(WaitUntil([&] { return (watches = TryOpenThree()).size() == 3; },
                              std::chrono::seconds(5)))
            << "round " << round;
        auto fourth = stats_->OpenWatch(WatchRequest({}, 100));
        EXPECT_TRUE(FailedWith(fourth.Drain(), grpc::StatusCode::RESOURCE_EXHAUSTED,
                               "VIRTGRPC_LIMIT_EXCEEDED"))
            << "round " << round;
        for (auto &watch : watches)
            EXPECT_EQ(watch.End().error_code(), grpc::StatusCode::CANCELLED);
    }
}

// --- JobService on the test driver ---------------------------------------------------

TEST_F(StatsTest, JobCallsAreUnimplementedOnTheTestDriver)
{
    v1::DomainJobStats response;

    EXPECT_TRUE(FailedWith(stats_->JobInfo("test", &response),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(FailedWith(stats_->JobStats("test", {}, &response),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(
        FailedWith(stats_->JobStats("test", {v1::JOB_STATS_FLAG_COMPLETED}, &response),
                   grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(FailedWith(stats_->AbortJob("test"), grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_NO_SUPPORT"));
    EXPECT_EQ(StateOf("test").state(), v1::DOMAIN_STATE_RUNNING)
        << "nothing happened to it";
}

TEST_F(StatsTest, JobCallsOnAnUnknownDomainAreNotFound)
{
    v1::DomainJobStats response;

    EXPECT_TRUE(FailedWith(stats_->JobInfo("nope", &response), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(FailedWith(stats_->JobStats("nope", {}, &response),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(FailedWith(stats_->AbortJob("nope"), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
}

TEST_F(StatsTest, JobCallsWithUnspecifiedFlagsAreInvalid)
{
    v1::DomainJobStats response;

    EXPECT_TRUE(
        FailedWith(stats_->JobStats("test", {v1::JOB_STATS_FLAG_UNSPECIFIED}, &response),
                   grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(stats_->AbortJob("test", {v1::ABORT_JOB_FLAG_UNSPECIFIED}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

} // namespace
} // namespace virtgrpc::testing
