// Clients misbehaving: cancelling unary calls while they wait inside libvirt, processes
// killed (SIGKILL: no gRPC goodbye) with unary calls in flight or with every stream slot
// open, and a client that opens WatchEvents and never reads while events pour in. The
// server must release everything they held (every --max-inflight and --max-streams slot
// can be taken again), cut only the stream that does not read, and keep serving.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/client-process.h"
#include "tests/support/event-watcher.h"
#include "tests/support/fault-fixture.h"
#include "tests/support/server-log.h"
#include "virtgrpc/v1/events.grpc.pb.h"
#include "virtgrpc/v1/stats.grpc.pb.h"

namespace virtgrpc::testing
{
namespace
{

using namespace std::chrono_literals;
using grpc::StatusCode;

constexpr char kTargetEnv[] = "VG_FAULTS_CHILD_TARGET";
constexpr char kStreamsEnv[] = "VG_FAULTS_CHILD_STREAMS";

class FaultsClientsTest : public LibvirtdFaultTest
{
};

// ---- the children (run only through ClientProcess) ----

// Starts unary calls that wait inside the (stopped) libvirtd, then waits to be killed.
TEST(FaultsClientChild, UnaryCallsInFlight)
{
    const char *target = std::getenv(kTargetEnv);
    if (!target)
        GTEST_SKIP() << "only run by ClientsKilledMidCall...";
    auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
    auto stub = v1::DomainService::NewStub(channel);
    grpc::CompletionQueue cq;
    constexpr int kCalls = 4;
    grpc::ClientContext contexts[kCalls];
    v1::DomainInfo replies[kCalls];
    grpc::Status statuses[kCalls];
    std::vector<std::unique_ptr<grpc::ClientAsyncResponseReader<v1::DomainInfo>>> calls;
    v1::GetDomainInfoRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    for (int i = 0; i < kCalls; i++) {
        calls.push_back(stub->AsyncGetDomainInfo(&contexts[i], request, &cq));
        calls.back()->Finish(&replies[i], &statuses[i], &contexts[i]);
    }
    ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() + 5s));
    std::this_thread::sleep_for(300ms); // the calls reach the server
    ClientProcess::SignalReadyAndWait();
}

// Opens `VG_FAULTS_CHILD_STREAMS` streams of three kinds, reads the first message of
// each (so the server has them all open), then waits to be killed while they flow.
TEST(FaultsClientChild, StreamsOpen)
{
    const char *target = std::getenv(kTargetEnv);
    const char *count = std::getenv(kStreamsEnv);
    if (!target || !count)
        GTEST_SKIP() << "only run by ClientKilledMidStream...";
    auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
    auto events = v1::EventService::NewStub(channel);
    auto stats = v1::StatsService::NewStub(channel);
    auto health = grpc::health::v1::Health::NewStub(channel);
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::vector<std::unique_ptr<grpc::ClientReader<v1::DomainEvent>>> event_streams;
    std::vector<std::unique_ptr<grpc::ClientReader<v1::DomainStatsSample>>> stats_streams;
    std::vector<std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>>>
        health_streams;
    for (int i = 0; i < std::atoi(count); i++) {
        contexts.push_back(std::make_unique<grpc::ClientContext>());
        if (i % 3 == 0) {
            v1::WatchEventsRequest request;
            event_streams.push_back(events->WatchEvents(contexts.back().get(), request));
            v1::DomainEvent first;
            ASSERT_TRUE(event_streams.back()->Read(&first));
        } else if (i % 3 == 1) {
            v1::WatchDomainStatsRequest request;
            *request.add_domains() = RefByName(kStockDomainName);
            request.set_interval_ms(100);
            stats_streams.push_back(
                stats->WatchDomainStats(contexts.back().get(), request));
            v1::DomainStatsSample first;
            ASSERT_TRUE(stats_streams.back()->Read(&first));
        } else {
            grpc::health::v1::HealthCheckRequest request;
            health_streams.push_back(health->Watch(contexts.back().get(), request));
            grpc::health::v1::HealthCheckResponse first;
            ASSERT_TRUE(health_streams.back()->Read(&first));
        }
    }
    ClientProcess::SignalReadyAndWait();
}

// ---- the tests ----

TEST_F(FaultsClientsTest, ClientsCancelledOrKilledMidCallLeaveNoCallBehind)
{
    // Calls wait inside a stopped libvirtd while their clients give up.
    libvirtd_.Pause();
    {
        // 1. Cancelled by their client.
        auto stub = v1::DomainService::NewStub(channel());
        grpc::CompletionQueue cq;
        constexpr int kCalls = 3;
        grpc::ClientContext contexts[kCalls];
        v1::DomainInfo replies[kCalls];
        grpc::Status statuses[kCalls];
        v1::GetDomainInfoRequest request;
        *request.mutable_domain() = RefByName(kStockDomainName);
        std::vector<std::unique_ptr<grpc::ClientAsyncResponseReader<v1::DomainInfo>>> calls;
        for (int i = 0; i < kCalls; i++) {
            calls.push_back(stub->AsyncGetDomainInfo(&contexts[i], request, &cq));
            calls.back()->Finish(&replies[i], &statuses[i], &contexts[i]);
        }
        std::this_thread::sleep_for(300ms); // the calls reach the server
        for (auto &context : contexts)
            context.TryCancel();
        for (int i = 0; i < kCalls; i++) {
            void *tag;
            bool ok;
            ASSERT_TRUE(cq.Next(&tag, &ok));
        }
        for (const auto &status : statuses)
            EXPECT_EQ(status.error_code(), StatusCode::CANCELLED) << Describe(status);
    }
    {
        // 2. A client process killed with its calls in flight.
        ClientProcess child("FaultsClientChild.UnaryCallsInFlight",
                            {{kTargetEnv, server().target()}}, 20s);
        ASSERT_TRUE(child.ready()) << child.output();
        child.Kill();
    }
    libvirtd_.Resume();

    EXPECT_TRUE(ServerStillServes());
    // The abandoned calls end inside the server once libvirt answers (or keepalive gives
    // up on it) and must then free their slots.
    ASSERT_TRUE(WaitUntil([&] { return ServerStillServes(); }, 15s));
    std::this_thread::sleep_for(1000ms);
    ExpectEveryInflightSlotFree();
    ExpectEveryStreamSlotFree(0, 10s);
}

TEST_F(FaultsClientsTest, ClientKilledMidStreamFreesEveryStreamSlot)
{
    {
        ClientProcess child(
            "FaultsClientChild.StreamsOpen",
            {{kTargetEnv, server().target()}, {kStreamsEnv, std::to_string(kMaxStreams)}},
            20s);
        ASSERT_TRUE(child.ready()) << child.output();
        // The child holds every slot.
        auto events = v1::EventService::NewStub(channel());
        grpc::ClientContext context;
        v1::WatchEventsRequest request;
        auto refused = events->WatchEvents(&context, request);
        v1::DomainEvent event;
        EXPECT_FALSE(refused->Read(&event));
        EXPECT_TRUE(FailedWith(refused->Finish(), StatusCode::RESOURCE_EXHAUSTED,
                               "VIRTGRPC_LIMIT_EXCEEDED"));
        child.Kill();
    }
    // The server learns of the dead connection from TCP and ends every stream on it.
    ExpectEveryStreamSlotFree(0, 15s);
    // Cancelled streams free their slots too (ExpectEveryStreamSlotFree cancels its own).
    ExpectEveryStreamSlotFree(0, 10s);
    EXPECT_TRUE(ServerStillServes());
}

// ---- a client that never reads ----

class FaultsSlowReaderTest : public ServerTest
{
  protected:
    // Small enough to cut the stalled stream within the flood (2,000 events), large
    // enough that the reader's thread on a busy 2-core machine never falls that far
    // behind (at 256 it did with two copies of this test running).
    static constexpr int kMaxQueued = 1024;
    static constexpr int kMaxStreams = 3;
    FaultsSlowReaderTest()
        : ServerTest(VirtgrpcdProcess::Options{
              "test:///default",
              {"--max-queued-messages=" + std::to_string(kMaxQueued),
               "--max-streams=" + std::to_string(kMaxStreams)}})
    {
    }
};

// True when `n` more WatchEvents streams open (each delivers its listing); closes them.
bool
StreamSlotsFree(v1::EventService::Stub *events, int n)
{
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::vector<std::unique_ptr<grpc::ClientReader<v1::DomainEvent>>> streams;
    bool all = true;
    for (int i = 0; i < n && all; i++) {
        contexts.push_back(std::make_unique<grpc::ClientContext>());
        v1::WatchEventsRequest request;
        streams.push_back(events->WatchEvents(contexts.back().get(), request));
        v1::DomainEvent listing;
        all = streams.back()->Read(&listing);
    }
    for (size_t i = 0; i < streams.size(); i++) {
        contexts[i]->TryCancel();
        streams[i]->Finish();
    }
    return all;
}

// A channel with its own TCP connection (grpc++ shares one between channels to the same
// target otherwise): another client, as far as the server can tell. `small_window`: a
// 1 KiB HTTP/2 stream window without BDP growth, so a client that does not read stops
// the server's sends after a few messages instead of megabytes.
std::shared_ptr<grpc::Channel>
OwnConnection(const std::string &target, bool small_window)
{
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (small_window) {
        args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
        args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
    }
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

TEST_F(FaultsSlowReaderTest, WatcherThatNeverReadsIsEndedAloneAndMemoryStaysBounded)
{
    auto events = v1::EventService::NewStub(channel());
    // The stalled client, on its own connection: opens the stream and does not call
    // Read, so HTTP/2 flow control stops the server's sends once its window is full.
    auto stalled_channel = OwnConnection(server().target(), /*small_window=*/true);
    auto stalled_events = v1::EventService::NewStub(stalled_channel);
    grpc::ClientContext stalled_context;
    stalled_context.set_deadline(std::chrono::system_clock::now() + 120s);
    v1::WatchEventsRequest all;
    auto stalled = stalled_events->WatchEvents(&stalled_context, all);
    // A well-behaved watcher: another client.
    EventWatcher reader(OwnConnection(server().target(), false), all);
    ASSERT_TRUE(reader.WaitForListing(5s));
    const long rss_before = RssKiB(server().pid());

    // Each define + undefine is two lifecycle events for both watchers: far more than
    // the stalled client's window and --max-queued-messages hold.
    constexpr int kPairs = 1000;
    long rss_max = rss_before;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < kPairs; i++) {
        const std::string name = "slow-reader-" + std::to_string(i);
        DefineDomain(name);
        v1::UndefineDomainRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::Domain reply;
        ASSERT_TRUE(Succeeded(
            domains_->UndefineDomain(ContextWithDeadline().get(), request, &reply)));
        if (i % 100 == 99)
            rss_max = std::max(rss_max, RssKiB(server().pid()));
    }
    const int generated = 2 * kPairs;
    const auto elapsed = std::chrono::steady_clock::now() - started;

    // The other client got every event, in order, and keeps its stream.
    int lifecycle = 0;
    uint64_t last_sequence = 0;
    while (lifecycle < generated) {
        auto next = reader.Next(5000ms);
        if (!next)
            break;
        if (next->event_case() == v1::DomainEvent::kLifecycle)
            lifecycle++;
        EXPECT_GT(next->sequence(), last_sequence);
        last_sequence = next->sequence();
    }
    EXPECT_EQ(lifecycle, generated);
    if (auto ended = reader.Finished(0ms))
        ADD_FAILURE() << "the reading watcher was ended too: " << Describe(*ended);

    // The server ended the stalled watcher: when its client reads at last, it finds
    // what was in flight, then RESOURCE_EXHAUSTED.
    int buffered = 0;
    v1::DomainEvent event;
    while (stalled->Read(&event))
        buffered++;
    grpc::Status stalled_status = stalled->Finish();
    EXPECT_TRUE(FailedWith(stalled_status, StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"))
        << "after " << buffered << " messages";
    EXPECT_LT(buffered, kMaxQueued + 100);
    // Its slot is back (kMaxStreams = the reader + 2).
    EXPECT_TRUE(WaitUntil([&] { return StreamSlotsFree(events.get(), 2); }, 5s));
    EXPECT_TRUE(ServerStillServes());
    printf("%d events in %.1f s: the other client got %d; the stream that never read was "
           "ended %s after %d messages; RSS %ld KiB before, %ld KiB at most\n",
           generated, std::chrono::duration<double>(elapsed).count(), lifecycle,
           StatusCodeName(stalled_status.error_code()).c_str(), buffered, rss_before,
           rss_max);
#ifndef __SANITIZE_ADDRESS__
    EXPECT_LT(rss_max, rss_before + 32 * 1024);
#else
    // AddressSanitizer keeps freed memory resident (its quarantine): RSS says nothing
    // there; LeakSanitizer checks the backlog was freed.
#endif
}

// ---- a client that never reads, even after its stream was ended ----

class FaultsStalledStreamTest : public ServerTest
{
  protected:
    static constexpr int kMaxQueued = 64;
    static constexpr int kStallTimeoutS = 4;
    FaultsStalledStreamTest()
        : ServerTest(VirtgrpcdProcess::Options{
              "test:///default",
              {"--max-queued-messages=" + std::to_string(kMaxQueued),
               // The stalled stream and one more: StreamSlotsFree(.., 2) needs its slot.
               "--max-streams=2",
               "--stream-stall-timeout=" + std::to_string(kStallTimeoutS)}})
    {
    }
};

// The server ends the stream of a client that does not read (RESOURCE_EXHAUSTED, the
// queue is full), but that status waits behind messages HTTP/2 flow control holds.
// Without --stream-stall-timeout the stream keeps its slot until the client reads or
// disconnects; with it, the stream is cancelled and the slot is back while the client
// still reads nothing. The client, reading at last, finds the status.
TEST_F(FaultsStalledStreamTest, EndedStreamWhoseClientNeverReadsIsCancelledAndFreesItsSlot)
{
    auto events = v1::EventService::NewStub(channel());
    auto stalled_channel = OwnConnection(server().target(), /*small_window=*/true);
    auto stalled_events = v1::EventService::NewStub(stalled_channel);
    grpc::ClientContext stalled_context;
    stalled_context.set_deadline(std::chrono::system_clock::now() + 120s);
    v1::WatchEventsRequest all;
    auto stalled = stalled_events->WatchEvents(&stalled_context, all);
    // The stream is open (its slot taken) once the other slot is the only one left.
    ASSERT_TRUE(WaitUntil([&] { return !StreamSlotsFree(events.get(), 2); }, 5s));

    // More events than the stalled client's window (about 11) and the queue hold; few
    // enough that the flood takes far less than the timeout, even under ASan.
    constexpr int kPairs = 100;
    const auto flood_started = std::chrono::steady_clock::now();
    for (int i = 0; i < kPairs; i++) {
        const std::string name = "stalled-" + std::to_string(i);
        DefineDomain(name);
        v1::UndefineDomainRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::Domain reply;
        ASSERT_TRUE(Succeeded(
            domains_->UndefineDomain(ContextWithDeadline().get(), request, &reply)));
    }
    // Ended but still holding its slot: the timeout has not passed yet.
    EXPECT_FALSE(StreamSlotsFree(events.get(), 2));
    // Then cancelled: both slots free while the client has read nothing.
    ASSERT_TRUE(WaitUntil([&] { return StreamSlotsFree(events.get(), 2); },
                          std::chrono::seconds(kStallTimeoutS + 8)))
        << "the stalled stream still holds its slot";
    // Not before the timeout: the stream ended during the flood, at the earliest.
    const double freed_after =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - flood_started)
            .count();
    EXPECT_GE(freed_after, kStallTimeoutS - 0.2);
    EXPECT_TRUE(LogShows(server(), "stream-stall-timeout", 5s));

    // What reached the client before the cancel, then the status: the code and message
    // (a cancel carries no ErrorInfo).
    int buffered = 0;
    v1::DomainEvent event;
    while (stalled->Read(&event))
        buffered++;
    grpc::Status status = stalled->Finish();
    EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
    EXPECT_NE(status.error_message().find("fell behind"), std::string::npos)
        << status.error_message();
    EXPECT_NE(status.error_message().find("stream-stall-timeout"), std::string::npos)
        << status.error_message();
    EXPECT_LT(buffered, 2 * kPairs);
    EXPECT_TRUE(ServerStillServes());
    printf("stalled stream's slot free %.1f s after the flood began (timeout %d s), its "
           "client got %d messages and then %s\n",
           freed_after, kStallTimeoutS, buffered, Describe(status).c_str());
}

} // namespace
} // namespace virtgrpc::testing
