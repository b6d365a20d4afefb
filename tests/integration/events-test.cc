// EventService.WatchEvents against the embedded test driver, which emits LIFECYCLE and
// METADATA_CHANGE events: the listing that opens a stream, every lifecycle change with
// its detail, filters by domain and kind, sequence numbers, bad requests, and a watcher
// that does not read being cut off while another keeps receiving everything.
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/event-watcher.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

using namespace std::chrono_literals;

// The bound: an event must reach a watcher within 2 s of the call causing it.
constexpr auto kEventTimeout = 2000ms;

v1::WatchEventsRequest AllEvents() { return v1::WatchEventsRequest(); }

// libvirt queues events and dispatches them from its event loop, so the DEFINED event of
// a domain defined just before a stream opens may still arrive after its listing. Tests
// that count messages watch metadata changes only.
v1::WatchEventsRequest MetadataEvents()
{
    v1::WatchEventsRequest request;
    request.add_kinds(v1::EVENT_KIND_METADATA_CHANGE);
    return request;
}

class EventsTest : public ServerTest {
  protected:
    EventsTest() = default;
    explicit EventsTest(VirtgrpcdProcess::Options options) : ServerTest(std::move(options)) {}

    // Opens a watcher and waits for its listing, so what follows is live.
    std::unique_ptr<EventWatcher> Watch(const v1::WatchEventsRequest &request)
    {
        auto watcher = std::make_unique<EventWatcher>(channel(), request);
        if (!request.skip_current_domains()) {
            EXPECT_TRUE(watcher->WaitForListing(kEventTimeout)) << watcher->DescribeSkipped();
        }
        return watcher;
    }

    grpc::Status Call(const char *what, const std::string &name)
    {
        auto context = ContextWithDeadline();
        v1::Domain reply;
        std::string verb(what);

        if (verb == "start") {
            v1::StartDomainRequest request;
            *request.mutable_domain() = RefByName(name);
            return domains_->StartDomain(context.get(), request, &reply);
        }
        if (verb == "suspend") {
            v1::SuspendDomainRequest request;
            *request.mutable_domain() = RefByName(name);
            return domains_->SuspendDomain(context.get(), request, &reply);
        }
        if (verb == "resume") {
            v1::ResumeDomainRequest request;
            *request.mutable_domain() = RefByName(name);
            return domains_->ResumeDomain(context.get(), request, &reply);
        }
        if (verb == "shutdown") {
            v1::ShutdownDomainRequest request;
            *request.mutable_domain() = RefByName(name);
            return domains_->ShutdownDomain(context.get(), request, &reply);
        }
        if (verb == "destroy") {
            v1::DestroyDomainRequest request;
            *request.mutable_domain() = RefByName(name);
            return domains_->DestroyDomain(context.get(), request, &reply);
        }
        if (verb == "undefine") {
            v1::UndefineDomainRequest request;
            *request.mutable_domain() = RefByName(name);
            return domains_->UndefineDomain(context.get(), request, &reply);
        }
        ADD_FAILURE() << "no such action " << verb;
        return grpc::Status::CANCELLED;
    }

    grpc::Status SetTitle(const std::string &name, const std::string &title)
    {
        auto context = ContextWithDeadline();
        v1::SetDomainMetadataRequest request;
        v1::Domain reply;

        *request.mutable_domain() = RefByName(name);
        request.set_type(v1::METADATA_TYPE_TITLE);
        request.set_metadata(title);
        return domains_->SetDomainMetadata(context.get(), request, &reply);
    }

    std::vector<v1::Domain> ListAll()
    {
        auto context = ContextWithDeadline();
        v1::ListDomainsResponse reply;

        EXPECT_TRUE(Succeeded(domains_->ListDomains(context.get(), v1::ListDomainsRequest(),
                                                    &reply)));
        return {reply.domains().begin(), reply.domains().end()};
    }
};

TEST_F(EventsTest, StreamOpensWithTheListingListDomainsReturns)
{
    DefineDomain("ev-listed-off");
    DefineRunningDomain("ev-listed-on");
    std::vector<v1::Domain> expected = ListAll();

    EventWatcher watcher(channel(), AllEvents());
    std::optional<v1::DomainEvent> listing = watcher.WaitForListing(kEventTimeout);

    ASSERT_TRUE(listing) << watcher.DescribeSkipped();
    EXPECT_EQ(listing->sequence(), 1u);
    EXPECT_GT(listing->time().seconds(), 0);
    ASSERT_EQ(listing->current_domains().domains_size(), (int)expected.size());
    ASSERT_EQ(expected.size(), 3u); // the stock "test" and ours
    for (size_t i = 0; i < expected.size(); i++) {
        const v1::Domain &got = listing->current_domains().domains((int)i);
        EXPECT_EQ(got.uuid(), expected[i].uuid());
        EXPECT_EQ(got.name(), expected[i].name());
        EXPECT_EQ(got.id(), expected[i].id());
        EXPECT_EQ(got.state().state(), expected[i].state().state()) << got.name();
    }
}

TEST_F(EventsTest, EveryLifecycleChangeArrivesWithItsDetail)
{
    auto watcher = Watch(AllEvents());
    const std::string name = "ev-life";
    uint64_t last_sequence = 1; // the listing

    // Waits for the next lifecycle event of ours and checks type, detail and envelope.
    auto expect = [&](v1::LifecycleEventType type, auto detail_of, int detail) {
        std::optional<v1::DomainEvent> event =
            watcher->WaitFor(IsLifecycle(name, type), kEventTimeout);
        ASSERT_TRUE(event) << v1::LifecycleEventType_Name(type)
                           << " did not arrive; got: " << watcher->DescribeSkipped();
        EXPECT_EQ(detail_of(event->lifecycle()), detail) << v1::LifecycleEventType_Name(type);
        EXPECT_GT(event->sequence(), last_sequence);
        last_sequence = event->sequence();
        EXPECT_EQ(event->domain().name(), name);
        EXPECT_EQ(event->domain().uuid().size(), 36u);
        EXPECT_GT(event->time().seconds(), 0);
    };

    v1::Domain defined = DefineDomain(name);
    expect(v1::LIFECYCLE_EVENT_TYPE_DEFINED, [](auto &l) { return (int)l.defined(); },
           v1::DEFINED_DETAIL_ADDED);
    ASSERT_TRUE(Succeeded(Call("start", name)));
    expect(v1::LIFECYCLE_EVENT_TYPE_STARTED, [](auto &l) { return (int)l.started(); },
           v1::STARTED_DETAIL_BOOTED);
    ASSERT_TRUE(Succeeded(Call("suspend", name)));
    expect(v1::LIFECYCLE_EVENT_TYPE_SUSPENDED, [](auto &l) { return (int)l.suspended(); },
           v1::SUSPENDED_DETAIL_PAUSED);
    ASSERT_TRUE(Succeeded(Call("resume", name)));
    expect(v1::LIFECYCLE_EVENT_TYPE_RESUMED, [](auto &l) { return (int)l.resumed(); },
           v1::RESUMED_DETAIL_UNPAUSED);
    ASSERT_TRUE(Succeeded(Call("shutdown", name)));
    expect(v1::LIFECYCLE_EVENT_TYPE_STOPPED, [](auto &l) { return (int)l.stopped(); },
           v1::STOPPED_DETAIL_SHUTDOWN);
    ASSERT_TRUE(Succeeded(Call("start", name)));
    expect(v1::LIFECYCLE_EVENT_TYPE_STARTED, [](auto &l) { return (int)l.started(); },
           v1::STARTED_DETAIL_BOOTED);
    ASSERT_TRUE(Succeeded(Call("destroy", name)));
    expect(v1::LIFECYCLE_EVENT_TYPE_STOPPED, [](auto &l) { return (int)l.stopped(); },
           v1::STOPPED_DETAIL_DESTROYED);
    ASSERT_TRUE(Succeeded(Call("undefine", name)));
    expect(v1::LIFECYCLE_EVENT_TYPE_UNDEFINED, [](auto &l) { return (int)l.undefined(); },
           v1::UNDEFINED_DETAIL_REMOVED);
    // Every event carried the same domain UUID.
    for (const v1::DomainEvent &skipped : watcher->skipped()) {
        if (skipped.domain().name() == name) {
            EXPECT_EQ(skipped.domain().uuid(), defined.uuid());
        }
    }
}

TEST_F(EventsTest, MetadataChangeSaysWhatChanged)
{
    DefineDomain("ev-meta");
    auto watcher = Watch(AllEvents());

    ASSERT_TRUE(Succeeded(SetTitle("ev-meta", "a title")));
    std::optional<v1::DomainEvent> event =
        watcher->WaitFor(IsKind("ev-meta", v1::DomainEvent::kMetadataChange), kEventTimeout);
    ASSERT_TRUE(event) << watcher->DescribeSkipped();
    EXPECT_EQ(event->metadata_change().type(), v1::METADATA_TYPE_TITLE);
    EXPECT_EQ(event->metadata_change().namespace_uri(), "");
}

TEST_F(EventsTest, SequenceNumbersCountEveryMessageWithoutGaps)
{
    DefineDomain("ev-seq");
    auto watcher = Watch(MetadataEvents());

    for (int i = 0; i < 20; i++)
        ASSERT_TRUE(Succeeded(SetTitle("ev-seq", "title " + std::to_string(i))));
    for (uint64_t expected = 2; expected < 22; expected++) {
        std::optional<v1::DomainEvent> event = watcher->Next(kEventTimeout);
        ASSERT_TRUE(event) << "message " << expected << " missing";
        EXPECT_EQ(event->sequence(), expected);
        EXPECT_EQ(event->event_case(), v1::DomainEvent::kMetadataChange);
    }
}

TEST_F(EventsTest, DomainFilterDeliversOnlyThatDomainByNameOrUuid)
{
    v1::Domain watched = DefineDomain("ev-watched");
    DefineDomain("ev-other");
    v1::WatchEventsRequest by_name;
    *by_name.add_domains() = RefByName("ev-watched");
    v1::WatchEventsRequest by_uuid;
    *by_uuid.add_domains() = RefByUuid(watched.uuid());

    for (const v1::WatchEventsRequest &request : {by_name, by_uuid}) {
        EventWatcher watcher(channel(), request);
        std::optional<v1::DomainEvent> listing = watcher.WaitForListing(kEventTimeout);

        ASSERT_TRUE(listing) << watcher.DescribeSkipped();
        ASSERT_EQ(listing->current_domains().domains_size(), 1);
        EXPECT_EQ(listing->current_domains().domains(0).name(), "ev-watched");

        // The other domain's events come first; the next message must still be ours.
        ASSERT_TRUE(Succeeded(SetTitle("ev-other", "not for you")));
        ASSERT_TRUE(Succeeded(Call("start", "ev-other")));
        ASSERT_TRUE(Succeeded(Call("destroy", "ev-other")));
        ASSERT_TRUE(Succeeded(SetTitle("ev-watched", "for you")));
        ASSERT_TRUE(watcher.WaitFor(IsKind("ev-watched", v1::DomainEvent::kMetadataChange),
                                    kEventTimeout));
        for (const v1::DomainEvent &skipped : watcher.skipped())
            EXPECT_EQ(skipped.domain().name(), "ev-watched") << watcher.DescribeSkipped();
    }
}

TEST_F(EventsTest, NameFilterMatchesADomainDefinedAfterTheStreamOpened)
{
    v1::WatchEventsRequest request;
    *request.add_domains() = RefByName("ev-later");
    auto watcher = Watch(request);

    DefineDomain("ev-later");
    std::optional<v1::DomainEvent> event = watcher->Next(kEventTimeout);
    ASSERT_TRUE(event);
    EXPECT_EQ(event->lifecycle().type(), v1::LIFECYCLE_EVENT_TYPE_DEFINED);
    EXPECT_EQ(event->domain().name(), "ev-later");
}

TEST_F(EventsTest, KindFilterDeliversOnlyThoseKinds)
{
    DefineDomain("ev-kinds");
    v1::WatchEventsRequest request;
    request.add_kinds(v1::EVENT_KIND_METADATA_CHANGE);
    auto watcher = Watch(request);

    ASSERT_TRUE(Succeeded(Call("start", "ev-kinds")));
    ASSERT_TRUE(Succeeded(Call("suspend", "ev-kinds")));
    ASSERT_TRUE(Succeeded(SetTitle("ev-kinds", "only this")));
    std::optional<v1::DomainEvent> event = watcher->Next(kEventTimeout);
    ASSERT_TRUE(event);
    EXPECT_EQ(event->event_case(), v1::DomainEvent::kMetadataChange)
        << "lifecycle events leaked through the kind filter";
}

TEST_F(EventsTest, SkipCurrentDomainsStartsWithLiveEvents)
{
    v1::WatchEventsRequest request;
    request.set_skip_current_domains(true);
    EventWatcher watcher(channel(), request);

    // The stream is open once the server answers; events from then on must arrive.
    ASSERT_TRUE(WaitUntil(
        [&] {
            SetTitle(kStockDomainName, "poke");
            return watcher.Next(200ms).has_value();
        },
        5000ms));
    std::optional<v1::DomainEvent> event = watcher.Next(kEventTimeout);
    if (event) { // a later poke, if any, is a live event too
        EXPECT_NE(event->event_case(), v1::DomainEvent::kCurrentDomains);
    }
    for (const v1::DomainEvent &skipped : watcher.skipped())
        EXPECT_NE(skipped.event_case(), v1::DomainEvent::kCurrentDomains);
}

TEST_F(EventsTest, EveryWatcherGetsEveryEvent)
{
    DefineDomain("ev-many");
    std::vector<std::unique_ptr<EventWatcher>> watchers;
    for (int i = 0; i < 20; i++)
        watchers.push_back(Watch(MetadataEvents()));

    for (int i = 0; i < 10; i++)
        ASSERT_TRUE(Succeeded(SetTitle("ev-many", "t" + std::to_string(i))));
    for (auto &watcher : watchers) {
        for (uint64_t expected = 2; expected < 12; expected++) {
            std::optional<v1::DomainEvent> event = watcher->Next(kEventTimeout);
            ASSERT_TRUE(event);
            EXPECT_EQ(event->sequence(), expected);
        }
    }
}

TEST_F(EventsTest, BadRequestsSayWhatWasWrong)
{
    struct Case {
        const char *what;
        v1::WatchEventsRequest request;
        const char *message_part;
    };
    std::vector<Case> cases(3);
    cases[0].what = "empty domain reference";
    cases[0].request.add_domains();
    cases[0].message_part = "domains[0]";
    cases[1].what = "kind UNSPECIFIED";
    cases[1].request.add_kinds(v1::EVENT_KIND_UNSPECIFIED);
    cases[1].message_part = "kinds";
    cases[2].what = "unknown kind number";
    cases[2].request.add_kinds(static_cast<v1::EventKind>(999));
    cases[2].message_part = "999";

    for (const Case &c : cases) {
        EventWatcher watcher(channel(), c.request);
        std::optional<grpc::Status> status = watcher.Finished(kCallTimeout);

        ASSERT_TRUE(status) << c.what;
        EXPECT_TRUE(FailedWith(*status, grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"))
            << c.what;
        EXPECT_NE(status->error_message().find(c.message_part), std::string::npos)
            << c.what << ": " << status->error_message();
    }
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(EventsTest, CancelledWatchersAreForgotten)
{
    DefineDomain("ev-cancel");
    for (int i = 0; i < 50; i++) {
        auto watcher = Watch(AllEvents());
        watcher->Cancel();
    }
    // The server still delivers to a new watcher and still serves.
    auto watcher = Watch(AllEvents());
    ASSERT_TRUE(Succeeded(SetTitle("ev-cancel", "after")));
    EXPECT_TRUE(watcher->WaitFor(IsKind("ev-cancel", v1::DomainEvent::kMetadataChange),
                                 kEventTimeout));
    EXPECT_TRUE(ServerStillServes());
}

// A small send queue so that a watcher which never reads is cut off quickly.
class SlowWatcherTest : public EventsTest {
  protected:
    SlowWatcherTest()
        // Room for the reading watcher's thread to lag on a loaded 2-core machine (at 128
        // it was cut off once while the QEMU suite ran beside it); the slow watcher still
        // overflows: kEvents is well beyond this plus its 1 KiB window.
        : EventsTest(VirtgrpcdProcess::Options{"test:///default",
                                               {"--max-queued-messages=1000"}})
    {
    }
};

long
RssKib(pid_t pid)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;

    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    }
    return -1;
}

TEST_F(SlowWatcherTest, AWatcherThatDoesNotReadIsCutOffAndOthersGetEverything)
{
    DefineDomain("ev-flood");
    // The slow watcher's own connection, with a small HTTP/2 window, so the server's
    // queue for it fills after about a thousand events instead of megabytes.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
    auto slow_channel = grpc::CreateCustomChannel(server().target(),
                                                  grpc::InsecureChannelCredentials(), args);
    auto slow_stub = v1::EventService::NewStub(slow_channel);
    grpc::ClientContext slow_context;
    auto slow = slow_stub->WatchEvents(&slow_context, AllEvents());
    auto fast = Watch(MetadataEvents());

    long rss_before = RssKib(server().pid());
    constexpr int kEvents = 3000;
    for (int i = 0; i < kEvents; i++)
        ASSERT_TRUE(Succeeded(SetTitle("ev-flood", "t" + std::to_string(i))));

    // The fast watcher got every event, in order.
    for (uint64_t expected = 2; expected < 2 + kEvents; expected++) {
        std::optional<v1::DomainEvent> event = fast->Next(kEventTimeout);
        ASSERT_TRUE(event) << "event " << expected << " missing";
        ASSERT_EQ(event->sequence(), expected);
    }
    // The slow one, read now, has what was in flight and then the limit's status.
    v1::DomainEvent event;
    int got = 0;
    while (slow->Read(&event))
        got++;
    grpc::Status status = slow->Finish();
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"))
        << "after " << got << " messages";
    EXPECT_NE(status.error_message().find("fell behind"), std::string::npos)
        << status.error_message();
    EXPECT_LT(got, kEvents);
    // Bounded: the cut-off watcher's backlog is gone, not growing with the flood.
    // Not under AddressSanitizer (tests/run.sh asan): its quarantine keeps freed memory
    // resident on purpose, so RSS says nothing there; its leak check covers the backlog.
    long rss_after = RssKib(server().pid());
#ifndef __SANITIZE_ADDRESS__
    EXPECT_LT(rss_after - rss_before, 20 * 1024) << "server RSS grew from " << rss_before
                                                  << " KiB to " << rss_after << " KiB";
#else
    (void)rss_before;
    (void)rss_after;
#endif
    EXPECT_TRUE(ServerStillServes());
}

} // namespace
} // namespace virtgrpc::testing
