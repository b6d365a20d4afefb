// The generated C client (<virtgrpc/virtgrpc.h>, vgc_*) against the real virtgrpcd:
// typed unary calls, the failure status with libvirt's error, the connection options
// (Unix socket target, default deadline, max message size), many threads on one
// client, server streams in both forms (iterator _next, callback _each) with cancels
// from another thread, bidirectional streams (reflection, console), and deadlines
// against a server that is not there.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <virtgrpc/virtgrpc.h>

#include "tests/support/client-test-certs.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

// Frees a protobuf-c message at scope exit.
struct FreeUnpacked {
    void operator()(void *message) const {
        if (message)
            protobuf_c_message_free_unpacked(static_cast<ProtobufCMessage *>(message), nullptr);
    }
};
template <typename Message>
using Unpacked = std::unique_ptr<Message, FreeUnpacked>;

constexpr int64_t kDeadlineMs = 10000;

class CClientTest : public ServerTest {
  public:
    CClientTest() = default;
    explicit CClientTest(VirtgrpcdProcess::Options options) : ServerTest(std::move(options)) {}

  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure())
            return;
        vg_client_options options = {};
        options.target = server().target().c_str();
        ASSERT_EQ(vg_client_new(&options, &client_, &status_), 0) << status_.message;
    }

    void TearDown() override {
        client_ = vg_client_free(client_);
        vg_status_clear(&status_);
        ServerTest::TearDown();
    }

    // A DomainRef by name; `name` must outlive the request.
    static Virtgrpc__V1__DomainRef NameRef(const char *name) {
        Virtgrpc__V1__DomainRef ref = VIRTGRPC__V1__DOMAIN_REF__INIT;
        ref.ref_case = VIRTGRPC__V1__DOMAIN_REF__REF_NAME;
        ref.name = const_cast<char *>(name);
        return ref;
    }

    // GetDomainState through the C client; fails the test when the call fails.
    Unpacked<Virtgrpc__V1__DomainStateInfo> StateOf(const char *name) {
        Virtgrpc__V1__DomainRef ref = NameRef(name);
        Virtgrpc__V1__GetDomainStateRequest request = VIRTGRPC__V1__GET_DOMAIN_STATE_REQUEST__INIT;
        request.domain = &ref;
        Virtgrpc__V1__DomainStateInfo *state = nullptr;
        EXPECT_EQ(vgc_domain_service_get_domain_state(client_, &request, &state, kDeadlineMs,
                                                      &status_),
                  0)
            << status_.message;
        return Unpacked<Virtgrpc__V1__DomainStateInfo>(state);
    }

    // Opens Health.Watch("") with no deadline.
    vg_client_stream *OpenWatch() {
        Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        request.service = const_cast<char *>("");
        vg_client_stream *stream = nullptr;
        EXPECT_EQ(vgc_grpc_health_v1_health_watch_open(client_, &request, -1, &stream, &status_),
                  0)
            << status_.message;
        return stream;
    }

    vg_client *client_ = nullptr;
    vg_status status_ = {};
};

TEST_F(CClientTest, ListDomainsShowsTheStockDomainRunning) {
    Virtgrpc__V1__ListDomainsRequest request = VIRTGRPC__V1__LIST_DOMAINS_REQUEST__INIT;
    Virtgrpc__V1__ListDomainsResponse *raw = nullptr;

    ASSERT_EQ(vgc_domain_service_list_domains(client_, &request, &raw, kDeadlineMs, &status_), 0)
        << status_.message;
    Unpacked<Virtgrpc__V1__ListDomainsResponse> response(raw);

    ASSERT_EQ(response->n_domains, 1u);
    EXPECT_STREQ(response->domains[0]->name, kStockDomainName);
    EXPECT_STREQ(response->domains[0]->uuid, kStockDomainUuid);
    ASSERT_NE(response->domains[0]->state, nullptr);
    EXPECT_EQ(response->domains[0]->state->state, VIRTGRPC__V1__DOMAIN_STATE__DOMAIN_STATE_RUNNING);
}

TEST_F(CClientTest, GetDomainByNameReturnsItsUuidAndState) {
    Virtgrpc__V1__DomainRef ref = NameRef(kStockDomainName);
    Virtgrpc__V1__GetDomainRequest request = VIRTGRPC__V1__GET_DOMAIN_REQUEST__INIT;
    request.domain = &ref;
    Virtgrpc__V1__Domain *raw = nullptr;

    ASSERT_EQ(vgc_domain_service_get_domain(client_, &request, &raw, kDeadlineMs, &status_), 0)
        << status_.message;
    Unpacked<Virtgrpc__V1__Domain> domain(raw);

    EXPECT_STREQ(domain->name, kStockDomainName);
    EXPECT_STREQ(domain->uuid, kStockDomainUuid);
    EXPECT_GT(domain->id, 0);
    EXPECT_EQ(domain->state->state, VIRTGRPC__V1__DOMAIN_STATE__DOMAIN_STATE_RUNNING);
}

TEST_F(CClientTest, DefineStartDestroyAndUndefineADomain) {
    std::string xml = MinimalDomainXml("c-client");
    Virtgrpc__V1__DomainRef ref = NameRef("c-client");
    Virtgrpc__V1__Domain *raw = nullptr;

    Virtgrpc__V1__DefineDomainRequest define = VIRTGRPC__V1__DEFINE_DOMAIN_REQUEST__INIT;
    define.xml = xml.data();
    ASSERT_EQ(vgc_domain_service_define_domain(client_, &define, &raw, kDeadlineMs, &status_), 0)
        << status_.message;
    Unpacked<Virtgrpc__V1__Domain> defined(raw);
    EXPECT_STREQ(defined->name, "c-client");
    EXPECT_EQ(StateOf("c-client")->state, VIRTGRPC__V1__DOMAIN_STATE__DOMAIN_STATE_SHUTOFF);

    Virtgrpc__V1__StartDomainRequest start = VIRTGRPC__V1__START_DOMAIN_REQUEST__INIT;
    start.domain = &ref;
    ASSERT_EQ(vgc_domain_service_start_domain(client_, &start, &raw, kDeadlineMs, &status_), 0)
        << status_.message;
    Unpacked<Virtgrpc__V1__Domain> started(raw);
    auto running = StateOf("c-client");
    EXPECT_EQ(running->state, VIRTGRPC__V1__DOMAIN_STATE__DOMAIN_STATE_RUNNING);
    EXPECT_EQ(running->reason_case, VIRTGRPC__V1__DOMAIN_STATE_INFO__REASON_RUNNING_REASON);
    EXPECT_EQ(running->running_reason, VIRTGRPC__V1__RUNNING_REASON__RUNNING_REASON_BOOTED);

    Virtgrpc__V1__DestroyDomainRequest destroy = VIRTGRPC__V1__DESTROY_DOMAIN_REQUEST__INIT;
    destroy.domain = &ref;
    ASSERT_EQ(vgc_domain_service_destroy_domain(client_, &destroy, &raw, kDeadlineMs, &status_),
              0)
        << status_.message;
    Unpacked<Virtgrpc__V1__Domain> destroyed(raw);
    auto shut_off = StateOf("c-client");
    EXPECT_EQ(shut_off->state, VIRTGRPC__V1__DOMAIN_STATE__DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(shut_off->shutoff_reason, VIRTGRPC__V1__SHUTOFF_REASON__SHUTOFF_REASON_DESTROYED);

    Virtgrpc__V1__UndefineDomainRequest undefine = VIRTGRPC__V1__UNDEFINE_DOMAIN_REQUEST__INIT;
    undefine.domain = &ref;
    ASSERT_EQ(
        vgc_domain_service_undefine_domain(client_, &undefine, &raw, kDeadlineMs, &status_), 0)
        << status_.message;
    Unpacked<Virtgrpc__V1__Domain> undefined(raw);
    EXPECT_STREQ(undefined->uuid, defined->uuid);

    Virtgrpc__V1__GetDomainRequest get = VIRTGRPC__V1__GET_DOMAIN_REQUEST__INIT;
    get.domain = &ref;
    raw = nullptr;
    EXPECT_EQ(vgc_domain_service_get_domain(client_, &get, &raw, kDeadlineMs, &status_), -1);
    EXPECT_EQ(raw, nullptr);
    EXPECT_EQ(status_.code, VG_CODE_NOT_FOUND);
}

TEST_F(CClientTest, FailedCallFillsTheStatusWithLibvirtsError) {
    Virtgrpc__V1__DomainRef ref = NameRef("no-such-domain");
    Virtgrpc__V1__GetDomainRequest request = VIRTGRPC__V1__GET_DOMAIN_REQUEST__INIT;
    request.domain = &ref;
    Virtgrpc__V1__Domain *domain = nullptr;

    EXPECT_EQ(vgc_domain_service_get_domain(client_, &request, &domain, kDeadlineMs, &status_),
              -1);

    EXPECT_EQ(domain, nullptr);
    EXPECT_EQ(status_.code, VG_CODE_NOT_FOUND);
    EXPECT_STREQ(status_.reason, "VIR_ERR_NO_DOMAIN");
    EXPECT_STREQ(status_.error_domain, "libvirt.org");
    EXPECT_EQ(status_.libvirt_code, 42);  // VIR_ERR_NO_DOMAIN
    ASSERT_NE(status_.message, nullptr);
    EXPECT_NE(std::string(status_.message).find("no-such-domain"), std::string::npos)
        << status_.message;
}

TEST_F(CClientTest, ServersOwnFailureHasItsReasonAndNoLibvirtCode) {
    Virtgrpc__V1__GetDomainRequest request = VIRTGRPC__V1__GET_DOMAIN_REQUEST__INIT;
    Virtgrpc__V1__Domain *domain = nullptr;

    EXPECT_EQ(vgc_domain_service_get_domain(client_, &request, &domain, kDeadlineMs, &status_),
              -1);

    EXPECT_EQ(status_.code, VG_CODE_INVALID_ARGUMENT);
    EXPECT_STREQ(status_.reason, "VIRTGRPC_INVALID_REQUEST");
    EXPECT_STREQ(status_.error_domain, "virtgrpc.io");
    EXPECT_EQ(status_.libvirt_code, 0);
}

TEST_F(CClientTest, ManyThreadsShareOneClient) {
    constexpr int kThreads = 8;
    constexpr int kCallsEach = 25;
    std::vector<std::future<int>> workers;
    for (int t = 0; t < kThreads; t++) {
        workers.push_back(std::async(std::launch::async, [this] {
            int succeeded = 0;
            for (int i = 0; i < kCallsEach; i++) {
                Virtgrpc__V1__DomainRef ref = NameRef(kStockDomainName);
                Virtgrpc__V1__GetDomainRequest request = VIRTGRPC__V1__GET_DOMAIN_REQUEST__INIT;
                request.domain = &ref;
                Virtgrpc__V1__Domain *raw = nullptr;
                vg_status status = {};
                if (vgc_domain_service_get_domain(client_, &request, &raw, kDeadlineMs,
                                                  &status) == 0 &&
                    std::string(raw->uuid) == kStockDomainUuid)
                    succeeded++;
                Unpacked<Virtgrpc__V1__Domain> domain(raw);
                vg_status_clear(&status);
            }
            return succeeded;
        }));
    }
    int succeeded = 0;
    for (auto &worker : workers)
        succeeded += worker.get();

    EXPECT_EQ(succeeded, kThreads * kCallsEach);
}

TEST_F(CClientTest, HealthWatchReadsServing) {
    vg_client_stream *stream = OpenWatch();
    ASSERT_NE(stream, nullptr);

    Grpc__Health__V1__HealthCheckResponse *raw = nullptr;
    ASSERT_EQ(vgc_grpc_health_v1_health_watch_next(stream, &raw, &status_), 1)
        << (status_.message ? status_.message : "");
    Unpacked<Grpc__Health__V1__HealthCheckResponse> response(raw);

    EXPECT_EQ(response->status, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    vg_client_stream_free(stream);
}

TEST_F(CClientTest, CancelFromAnotherThreadEndsABlockedNext) {
    vg_client_stream *stream = OpenWatch();
    ASSERT_NE(stream, nullptr);
    Grpc__Health__V1__HealthCheckResponse *first = nullptr;
    ASSERT_EQ(vgc_grpc_health_v1_health_watch_next(stream, &first, &status_), 1);
    Unpacked<Grpc__Health__V1__HealthCheckResponse> serving(first);

    // The server sends nothing more while its health does not change: the next read
    // blocks until the cancel.
    vg_status read_status = {};
    std::future<int> read = std::async(std::launch::async, [&] {
        Grpc__Health__V1__HealthCheckResponse *message = nullptr;
        int rc = vgc_grpc_health_v1_health_watch_next(stream, &message, &read_status);
        Unpacked<Grpc__Health__V1__HealthCheckResponse> unexpected(message);
        return rc;
    });
    ASSERT_EQ(read.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout)
        << "the read did not block";

    vg_client_stream_cancel(stream);

    ASSERT_EQ(read.wait_for(std::chrono::seconds(5)), std::future_status::ready)
        << "the cancel did not end the blocked read";
    EXPECT_EQ(read.get(), -1);
    EXPECT_EQ(read_status.code, VG_CODE_CANCELLED);
    vg_status_clear(&read_status);
    vg_client_stream_free(stream);
    EXPECT_TRUE(ServerStillServes());
}

// --- connection options ------------------------------------------------------------

// Connects a second client with `options` (target filled in when empty).
class OptionsTest : public CClientTest {
  protected:
    vg_client *Connect(vg_client_options options) {
        if (options.target == nullptr)
            options.target = server().target().c_str();
        vg_client *client = nullptr;
        EXPECT_EQ(vg_client_new(&options, &client, &status_), 0) << status_.message;
        return client;
    }
};

TEST_F(OptionsTest, ResponseLargerThanMaxMessageBytesFailsResourceExhausted) {
    vg_client_options options = {};
    options.max_message_bytes = 16;  // a ListDomains response is larger
    vg_client *small = Connect(options);
    ASSERT_NE(small, nullptr);

    Virtgrpc__V1__ListDomainsRequest request = VIRTGRPC__V1__LIST_DOMAINS_REQUEST__INIT;
    Virtgrpc__V1__ListDomainsResponse *raw = nullptr;
    EXPECT_EQ(vgc_domain_service_list_domains(small, &request, &raw, kDeadlineMs, &status_), -1);
    EXPECT_EQ(raw, nullptr);
    EXPECT_EQ(status_.code, VG_CODE_RESOURCE_EXHAUSTED) << status_.message;
    vg_status_clear(&status_);

    // Small responses still fit, and the default client is unaffected.
    Virtgrpc__V1__DomainRef ref = NameRef(kStockDomainName);
    Virtgrpc__V1__IsDomainActiveRequest active = VIRTGRPC__V1__IS_DOMAIN_ACTIVE_REQUEST__INIT;
    active.domain = &ref;
    Virtgrpc__V1__IsDomainActiveResponse *is_active = nullptr;
    EXPECT_EQ(vgc_domain_service_is_domain_active(small, &active, &is_active, kDeadlineMs,
                                                  &status_),
              0)
        << status_.message;
    Unpacked<Virtgrpc__V1__IsDomainActiveResponse> answer(is_active);
    EXPECT_TRUE(is_active != nullptr && is_active->active);
    EXPECT_EQ(vgc_domain_service_list_domains(client_, &request, &raw, kDeadlineMs, &status_), 0);
    Unpacked<Virtgrpc__V1__ListDomainsResponse> listed(raw);
    vg_client_free(small);
}

TEST_F(OptionsTest, DefaultDeadlineEndsAStreamOpenedWithDeadlineZero) {
    vg_client_options options = {};
    options.default_deadline_ms = 300;
    vg_client *quick = Connect(options);
    ASSERT_NE(quick, nullptr);

    Virtgrpc__V1__WatchEventsRequest request = VIRTGRPC__V1__WATCH_EVENTS_REQUEST__INIT;
    vg_client_stream *stream = nullptr;
    auto started = std::chrono::steady_clock::now();
    ASSERT_EQ(vgc_event_service_watch_events_open(quick, &request, 0, &stream, &status_), 0)
        << status_.message;
    int rc;
    Virtgrpc__V1__DomainEvent *event = nullptr;
    while ((rc = vgc_event_service_watch_events_next(stream, &event, &status_)) == 1)
        Unpacked<Virtgrpc__V1__DomainEvent> unused(event);  // current_domains first
    auto took = std::chrono::steady_clock::now() - started;

    EXPECT_EQ(rc, -1);
    EXPECT_EQ(status_.code, VG_CODE_DEADLINE_EXCEEDED) << status_.message;
    EXPECT_GE(took, std::chrono::milliseconds(250));
    EXPECT_LT(took, std::chrono::seconds(5));
    vg_client_stream_free(stream);
    vg_client_free(quick);
}

TEST_F(OptionsTest, KeepaliveOptionsAreAcceptedAndCallsWork) {
    vg_client_options options = {};
    options.keepalive_time_ms = 10000;
    options.keepalive_timeout_ms = 5000;
    options.keepalive_without_calls = true;
    vg_client *kept = Connect(options);
    ASSERT_NE(kept, nullptr);
    Virtgrpc__V1__ListDomainsRequest request = VIRTGRPC__V1__LIST_DOMAINS_REQUEST__INIT;
    Virtgrpc__V1__ListDomainsResponse *raw = nullptr;
    EXPECT_EQ(vgc_domain_service_list_domains(kept, &request, &raw, kDeadlineMs, &status_), 0)
        << status_.message;
    Unpacked<Virtgrpc__V1__ListDomainsResponse> listed(raw);
    vg_client_free(kept);

    options.keepalive_time_ms = -1;
    vg_client *rejected = nullptr;
    EXPECT_EQ(vg_client_new(&options, &rejected, &status_), -1);
    EXPECT_EQ(rejected, nullptr);
    EXPECT_EQ(status_.code, VG_CODE_INVALID_ARGUMENT);
}

// The server also listens on a Unix socket; the client reaches it as "unix:PATH".
class UnixSocketTest : public CClientTest {
  public:
    UnixSocketTest() : CClientTest(WithSocket()) {}

  protected:
    static std::string SocketPath() {
        // sun_path holds 108 bytes: Bazel's TEST_TMPDIR can be longer.
        static const std::string path =
            "/tmp/vg-c-client-" + std::to_string(getpid()) + ".sock";
        return path;
    }
    static VirtgrpcdProcess::Options WithSocket() {
        VirtgrpcdProcess::Options options;
        options.extra_args = {"--listen=unix:" + SocketPath()};
        return options;
    }
    void TearDown() override {
        CClientTest::TearDown();
        std::remove(SocketPath().c_str());
    }
};

TEST_F(UnixSocketTest, UnixTargetReachesTheServer) {
    std::string target = "unix:" + SocketPath();
    vg_client_options options = {};
    options.target = target.c_str();
    vg_client *local = nullptr;
    ASSERT_EQ(vg_client_new(&options, &local, &status_), 0) << status_.message;

    Virtgrpc__V1__ListDomainsRequest request = VIRTGRPC__V1__LIST_DOMAINS_REQUEST__INIT;
    Virtgrpc__V1__ListDomainsResponse *raw = nullptr;
    ASSERT_EQ(vgc_domain_service_list_domains(local, &request, &raw, kDeadlineMs, &status_), 0)
        << status_.message;
    Unpacked<Virtgrpc__V1__ListDomainsResponse> response(raw);
    ASSERT_EQ(response->n_domains, 1u);
    EXPECT_STREQ(response->domains[0]->uuid, kStockDomainUuid);
    vg_client_free(local);
}

// --- threads -------------------------------------------------------------------------

TEST_F(CClientTest, ManyThreadsMixCallsAndStreamsOnOneClient) {
    constexpr int kThreads = 16;
    constexpr int kCallsEach = 40;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCallsEach; i++) {
                vg_status status = {};
                if (t % 4 == 0 && i % 8 == 0) {
                    // A stream opened, read once and cancelled in the middle of the load.
                    Virtgrpc__V1__WatchEventsRequest request =
                        VIRTGRPC__V1__WATCH_EVENTS_REQUEST__INIT;
                    vg_client_stream *stream = nullptr;
                    Virtgrpc__V1__DomainEvent *event = nullptr;
                    if (vgc_event_service_watch_events_open(client_, &request, kDeadlineMs,
                                                            &stream, &status) < 0 ||
                        vgc_event_service_watch_events_next(stream, &event, &status) != 1 ||
                        event->event_case != VIRTGRPC__V1__DOMAIN_EVENT__EVENT_CURRENT_DOMAINS)
                        failures++;
                    Unpacked<Virtgrpc__V1__DomainEvent> unused(event);
                    vg_client_stream_cancel(stream);
                    vg_client_stream_free(stream);
                } else {
                    Virtgrpc__V1__DomainRef ref = NameRef(kStockDomainName);
                    Virtgrpc__V1__GetDomainInfoRequest request =
                        VIRTGRPC__V1__GET_DOMAIN_INFO_REQUEST__INIT;
                    request.domain = &ref;
                    Virtgrpc__V1__DomainInfo *info = nullptr;
                    if (vgc_domain_service_get_domain_info(client_, &request, &info,
                                                           kDeadlineMs, &status) < 0)
                        failures++;
                    Unpacked<Virtgrpc__V1__DomainInfo> unused(info);
                }
                vg_status_clear(&status);
            }
        });
    }
    for (std::thread &thread : threads)
        thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_TRUE(ServerStillServes());
}

// --- server streams: iterator and callback forms ----------------------------------------

class EventStreamTest : public CClientTest {
  protected:
    // Opens WatchEvents for the stock domain's lifecycle events, no deadline, and reads
    // the opening current_domains message.
    vg_client_stream *OpenLifecycleWatch() {
        Virtgrpc__V1__DomainRef ref = NameRef(kStockDomainName);
        Virtgrpc__V1__DomainRef *refs[] = {&ref};
        Virtgrpc__V1__EventKind kinds[] = {VIRTGRPC__V1__EVENT_KIND__EVENT_KIND_LIFECYCLE};
        Virtgrpc__V1__WatchEventsRequest request = VIRTGRPC__V1__WATCH_EVENTS_REQUEST__INIT;
        request.n_domains = 1;
        request.domains = refs;
        request.n_kinds = 1;
        request.kinds = kinds;
        vg_client_stream *stream = nullptr;
        EXPECT_EQ(vgc_event_service_watch_events_open(client_, &request, -1, &stream, &status_),
                  0)
            << status_.message;
        Virtgrpc__V1__DomainEvent *first = nullptr;
        EXPECT_EQ(vgc_event_service_watch_events_next(stream, &first, &status_), 1);
        Unpacked<Virtgrpc__V1__DomainEvent> current(first);
        EXPECT_TRUE(first != nullptr &&
                    first->event_case == VIRTGRPC__V1__DOMAIN_EVENT__EVENT_CURRENT_DOMAINS);
        return stream;
    }

    // Destroys the stock domain through the C client.
    void DestroyStockDomain() {
        Virtgrpc__V1__DomainRef ref = NameRef(kStockDomainName);
        Virtgrpc__V1__DestroyDomainRequest request = VIRTGRPC__V1__DESTROY_DOMAIN_REQUEST__INIT;
        request.domain = &ref;
        Virtgrpc__V1__Domain *raw = nullptr;
        vg_status status = {};
        EXPECT_EQ(vgc_domain_service_destroy_domain(client_, &request, &raw, kDeadlineMs,
                                                    &status),
                  0)
            << status.message;
        Unpacked<Virtgrpc__V1__Domain> destroyed(raw);
        vg_status_clear(&status);
    }
};

TEST_F(EventStreamTest, IteratorReadsTheLifecycleEventOfADestroy) {
    vg_client_stream *stream = OpenLifecycleWatch();
    ASSERT_NE(stream, nullptr);
    DestroyStockDomain();

    Virtgrpc__V1__DomainEvent *raw = nullptr;
    ASSERT_EQ(vgc_event_service_watch_events_next(stream, &raw, &status_), 1) << status_.message;
    Unpacked<Virtgrpc__V1__DomainEvent> event(raw);
    ASSERT_EQ(event->event_case, VIRTGRPC__V1__DOMAIN_EVENT__EVENT_LIFECYCLE);
    EXPECT_EQ(event->lifecycle->type,
              VIRTGRPC__V1__LIFECYCLE_EVENT_TYPE__LIFECYCLE_EVENT_TYPE_STOPPED);
    EXPECT_STREQ(event->domain->name, kStockDomainName);
    EXPECT_EQ(event->sequence, 2u);
    vg_client_stream_free(stream);
}

struct SeenEvents {
    std::atomic<int> lifecycle{0};
    int stop_after = 0;
};

static int
CountLifecycle(const Virtgrpc__V1__DomainEvent *event, void *user_data) {
    auto *seen = static_cast<SeenEvents *>(user_data);
    if (event->event_case == VIRTGRPC__V1__DOMAIN_EVENT__EVENT_LIFECYCLE)
        seen->lifecycle++;
    return seen->stop_after > 0 && seen->lifecycle >= seen->stop_after;
}

TEST_F(EventStreamTest, CallbackFormStopsWhenTheCallbackSaysSo) {
    vg_client_stream *stream = OpenLifecycleWatch();
    ASSERT_NE(stream, nullptr);
    DestroyStockDomain();

    SeenEvents seen;
    seen.stop_after = 1;
    EXPECT_EQ(vgc_event_service_watch_events_each(stream, CountLifecycle, &seen, &status_), 0)
        << status_.message;
    EXPECT_EQ(seen.lifecycle.load(), 1);
    // Stopped by the callback: the call is cancelled, later reads say so.
    Virtgrpc__V1__DomainEvent *raw = nullptr;
    EXPECT_EQ(vgc_event_service_watch_events_next(stream, &raw, &status_), -1);
    EXPECT_EQ(status_.code, VG_CODE_CANCELLED);
    vg_client_stream_free(stream);
}

TEST_F(EventStreamTest, CancelFromAnotherThreadEndsACallbackLoop) {
    vg_client_stream *stream = OpenLifecycleWatch();
    ASSERT_NE(stream, nullptr);

    SeenEvents seen;  // never stops by itself
    vg_status loop_status = {};
    std::future<int> loop = std::async(std::launch::async, [&] {
        return vgc_event_service_watch_events_each(stream, CountLifecycle, &seen, &loop_status);
    });
    DestroyStockDomain();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (seen.lifecycle == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(seen.lifecycle.load(), 1) << "the callback never saw the destroy";
    ASSERT_EQ(loop.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
        << "the loop ended by itself";

    vg_client_stream_cancel(stream);

    ASSERT_EQ(loop.wait_for(std::chrono::seconds(5)), std::future_status::ready)
        << "the cancel did not end the loop";
    EXPECT_EQ(loop.get(), -1);
    EXPECT_EQ(loop_status.code, VG_CODE_CANCELLED);
    vg_status_clear(&loop_status);
    vg_client_stream_free(stream);
    EXPECT_TRUE(ServerStillServes());
}

// --- bidirectional streams -------------------------------------------------------------

TEST_F(CClientTest, BidiReflectionListsTheServersServices) {
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(vgc_grpc_reflection_v1_server_reflection_server_reflection_info_open(
                  client_, kDeadlineMs, &stream, &status_),
              0)
        << status_.message;

    // Two requests on one stream, answered in order.
    for (int round = 0; round < 2; round++) {
        Grpc__Reflection__V1__ServerReflectionRequest request =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
        request.message_request_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
        request.list_services = const_cast<char *>("*");
        ASSERT_EQ(vgc_grpc_reflection_v1_server_reflection_server_reflection_info_send(
                      stream, &request, &status_),
                  0)
            << status_.message;

        Grpc__Reflection__V1__ServerReflectionResponse *raw = nullptr;
        ASSERT_EQ(vgc_grpc_reflection_v1_server_reflection_server_reflection_info_next(
                      stream, &raw, &status_),
                  1)
            << status_.message;
        Unpacked<Grpc__Reflection__V1__ServerReflectionResponse> response(raw);
        ASSERT_EQ(response->message_response_case,
                  GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE);
        bool has_domain_service = false;
        for (size_t i = 0; i < response->list_services_response->n_service; i++) {
            if (std::string(response->list_services_response->service[i]->name) ==
                "virtgrpc.v1.DomainService")
                has_domain_service = true;
        }
        EXPECT_TRUE(has_domain_service);
    }
    ASSERT_EQ(vg_client_stream_close_send(stream, &status_), 0) << status_.message;
    Grpc__Reflection__V1__ServerReflectionResponse *end = nullptr;
    EXPECT_EQ(vgc_grpc_reflection_v1_server_reflection_server_reflection_info_next(stream, &end,
                                                                                 &status_),
              0)
        << status_.message;
    vg_client_stream_free(stream);
}

// The test driver has no console (virDomainOpenConsole is VIR_ERR_NO_SUPPORT there; the
// QEMU suite drives real consoles): the bidirectional stream carries libvirt's error.
TEST_F(CClientTest, ConsoleOnTheTestDriverEndsWithLibvirtsNoSupport) {
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(vgc_console_service_open_domain_console_open(client_, kDeadlineMs, &stream,
                                                           &status_),
              0)
        << status_.message;
    Virtgrpc__V1__DomainRef ref = NameRef(kStockDomainName);
    Virtgrpc__V1__ConsoleOpen open = VIRTGRPC__V1__CONSOLE_OPEN__INIT;
    open.domain = &ref;
    Virtgrpc__V1__OpenDomainConsoleRequest request =
        VIRTGRPC__V1__OPEN_DOMAIN_CONSOLE_REQUEST__INIT;
    request.request_case = VIRTGRPC__V1__OPEN_DOMAIN_CONSOLE_REQUEST__REQUEST_OPEN;
    request.open = &open;
    // The send may already see the end of the call; the read reports it either way.
    vg_status send_status = {};
    vgc_console_service_open_domain_console_send(stream, &request, &send_status);
    vg_status_clear(&send_status);

    Virtgrpc__V1__GuestOutput *output = nullptr;
    EXPECT_EQ(vgc_console_service_open_domain_console_next(stream, &output, &status_), -1);
    EXPECT_EQ(output, nullptr);
    EXPECT_EQ(status_.code, VG_CODE_UNIMPLEMENTED) << status_.message;
    EXPECT_STREQ(status_.reason, "VIR_ERR_NO_SUPPORT");
    EXPECT_STREQ(status_.error_domain, "libvirt.org");
    vg_client_stream_free(stream);
    EXPECT_TRUE(ServerStillServes());
}

// The stock domain has no <graphics>: the server's own check ends the stream.
TEST_F(CClientTest, GraphicsOfADomainWithoutDisplayEndsNotFound) {
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(vgc_console_service_open_domain_graphics_open(client_, kDeadlineMs, &stream,
                                                            &status_),
              0)
        << status_.message;
    Virtgrpc__V1__DomainRef ref = NameRef(kStockDomainName);
    Virtgrpc__V1__GraphicsOpen open = VIRTGRPC__V1__GRAPHICS_OPEN__INIT;
    open.domain = &ref;
    Virtgrpc__V1__OpenDomainGraphicsRequest request =
        VIRTGRPC__V1__OPEN_DOMAIN_GRAPHICS_REQUEST__INIT;
    request.request_case = VIRTGRPC__V1__OPEN_DOMAIN_GRAPHICS_REQUEST__REQUEST_OPEN;
    request.open = &open;
    vg_status send_status = {};
    vgc_console_service_open_domain_graphics_send(stream, &request, &send_status);
    vg_status_clear(&send_status);

    Virtgrpc__V1__GuestOutput *output = nullptr;
    EXPECT_EQ(vgc_console_service_open_domain_graphics_next(stream, &output, &status_), -1);
    EXPECT_EQ(status_.code, VG_CODE_NOT_FOUND) << status_.message;
    EXPECT_STREQ(status_.error_domain, "virtgrpc.io");
    EXPECT_NE(std::string(status_.message).find("graphics"), std::string::npos)
        << status_.message;
    vg_client_stream_free(stream);
}

// A server stream with a payload: the MIME type, then the image in chunks.
TEST_F(CClientTest, ScreenshotStreamsAPngThroughTheIterator) {
    Virtgrpc__V1__DomainRef ref = NameRef(kStockDomainName);
    Virtgrpc__V1__GetDomainScreenshotRequest request =
        VIRTGRPC__V1__GET_DOMAIN_SCREENSHOT_REQUEST__INIT;
    request.domain = &ref;
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(vgc_console_service_get_domain_screenshot_open(client_, &request, kDeadlineMs,
                                                             &stream, &status_),
              0)
        << status_.message;

    std::string mime_type, image;
    int rc;
    Virtgrpc__V1__ScreenshotChunk *raw = nullptr;
    while ((rc = vgc_console_service_get_domain_screenshot_next(stream, &raw, &status_)) == 1) {
        Unpacked<Virtgrpc__V1__ScreenshotChunk> chunk(raw);
        if (chunk->chunk_case == VIRTGRPC__V1__SCREENSHOT_CHUNK__CHUNK_MIME_TYPE) {
            EXPECT_TRUE(image.empty()) << "the MIME type comes first";
            mime_type = chunk->mime_type;
        } else if (chunk->chunk_case == VIRTGRPC__V1__SCREENSHOT_CHUNK__CHUNK_DATA) {
            image.append(reinterpret_cast<const char *>(chunk->data.data), chunk->data.len);
        }
    }
    EXPECT_EQ(rc, 0) << status_.message;
    EXPECT_EQ(mime_type, "image/png");
    ASSERT_GT(image.size(), 8u);
    EXPECT_EQ(image.compare(0, 8, "\x89PNG\r\n\x1a\n"), 0);
    vg_client_stream_free(stream);
}

// --- TLS against the real server ---------------------------------------------------------

// virtgrpcd with mutual TLS on its TCP listener: the test CA's server certificate
// (localhost, 127.0.0.1), client certificates of the test CA required, the test client
// certificate (CN virtgrpc-test-client) mapped to the read-only role.
class MutualTlsServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        server_ = std::make_unique<VirtgrpcdProcess>(MutualTlsServerOptions());
        ASSERT_TRUE(server_->running());
    }
    void TearDown() override {
        if (HasFailure() && server_)
            std::cerr << "virtgrpcd log:\n" << server_->Log();
        vg_status_clear(&status_);
    }

    // A C client for the server with `tls`; fails the test when creation does.
    vg_client *Connect(const vg_tls_options &tls) {
        vg_client_options options = {};
        options.target = server_->target().c_str();
        options.tls = tls;
        vg_client *client = nullptr;
        EXPECT_EQ(vg_client_new(&options, &client, &status_), 0) << status_.message;
        return client;
    }

    std::unique_ptr<VirtgrpcdProcess> server_;
    vg_status status_ = {};
    const std::string ca_ = ClientTestCert("ca.pem");
    const std::string cert_ = ClientTestCert("client.pem");
    const std::string key_ = ClientTestCert("client.key");
};

TEST_F(MutualTlsServerTest, ClientCertificateListsAndItsRoleIsEnforced) {
    vg_tls_options tls = {};
    tls.ca_file = ca_.c_str();
    tls.cert_file = cert_.c_str();
    tls.key_file = key_.c_str();
    vg_client *client = Connect(tls);
    ASSERT_NE(client, nullptr);

    Virtgrpc__V1__ListDomainsRequest list = VIRTGRPC__V1__LIST_DOMAINS_REQUEST__INIT;
    Virtgrpc__V1__ListDomainsResponse *listed = nullptr;
    ASSERT_EQ(vgc_domain_service_list_domains(client, &list, &listed, kDeadlineMs, &status_), 0)
        << status_.message;
    Unpacked<Virtgrpc__V1__ListDomainsResponse> domains(listed);
    ASSERT_EQ(domains->n_domains, 1u);
    EXPECT_STREQ(domains->domains[0]->name, kStockDomainName);

    // Read-only: a destroy is refused before it reaches libvirt, with the reason.
    Virtgrpc__V1__DomainRef ref = VIRTGRPC__V1__DOMAIN_REF__INIT;
    ref.ref_case = VIRTGRPC__V1__DOMAIN_REF__REF_NAME;
    ref.name = const_cast<char *>(kStockDomainName);
    Virtgrpc__V1__DestroyDomainRequest destroy = VIRTGRPC__V1__DESTROY_DOMAIN_REQUEST__INIT;
    destroy.domain = &ref;
    Virtgrpc__V1__Domain *destroyed = nullptr;
    EXPECT_EQ(vgc_domain_service_destroy_domain(client, &destroy, &destroyed, kDeadlineMs,
                                                &status_),
              -1);
    EXPECT_EQ(status_.code, VG_CODE_PERMISSION_DENIED) << status_.message;
    EXPECT_STREQ(status_.reason, "VIRTGRPC_PERMISSION_DENIED");
    vg_client_free(client);
}

TEST_F(MutualTlsServerTest, ClientWithoutCertificateIsRefused) {
    vg_tls_options tls = {};
    tls.ca_file = ca_.c_str();
    vg_client *client = Connect(tls);
    ASSERT_NE(client, nullptr);
    Virtgrpc__V1__ListDomainsRequest list = VIRTGRPC__V1__LIST_DOMAINS_REQUEST__INIT;
    Virtgrpc__V1__ListDomainsResponse *listed = nullptr;
    EXPECT_EQ(vgc_domain_service_list_domains(client, &list, &listed, 3000, &status_), -1);
    EXPECT_EQ(status_.code, VG_CODE_UNAVAILABLE) << status_.message;
    vg_client_free(client);
}

TEST_F(MutualTlsServerTest, PlaintextClientIsRefused) {
    vg_client *client = Connect(vg_tls_options{});
    ASSERT_NE(client, nullptr);
    Virtgrpc__V1__ListDomainsRequest list = VIRTGRPC__V1__LIST_DOMAINS_REQUEST__INIT;
    Virtgrpc__V1__ListDomainsResponse *listed = nullptr;
    EXPECT_EQ(vgc_domain_service_list_domains(client, &list, &listed, 2000, &status_), -1);
    EXPECT_TRUE(status_.code == VG_CODE_UNAVAILABLE || status_.code == VG_CODE_DEADLINE_EXCEEDED)
        << status_.message;
    vg_client_free(client);
}

// --- no server -----------------------------------------------------------------

// A loopback port that is bound but not listening, so connections to it are refused
// for as long as the object lives (no other process can take the port meanwhile).
class RefusingPort {
  public:
    RefusingPort() {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address = {};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr *>(&address), sizeof(address)) < 0 ||
            getsockname(fd_, reinterpret_cast<sockaddr *>(&address), &length) < 0) {
            ADD_FAILURE() << "cannot bind a loopback port";
            return;
        }
        target_ = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
    }
    ~RefusingPort() {
        if (fd_ >= 0)
            close(fd_);
    }
    const std::string &target() const { return target_; }

  private:
    int fd_ = -1;
    std::string target_;
};

TEST(CClientWithoutServerTest, ShortDeadlineFailsQuicklyWhenNoServerIsThere) {
    RefusingPort port;
    vg_client_options options = {};
    options.target = port.target().c_str();
    vg_client *client = nullptr;
    vg_status status = {};
    ASSERT_EQ(vg_client_new(&options, &client, &status), 0) << status.message;

    Virtgrpc__V1__ListDomainsRequest request = VIRTGRPC__V1__LIST_DOMAINS_REQUEST__INIT;
    Virtgrpc__V1__ListDomainsResponse *response = nullptr;
    auto started = std::chrono::steady_clock::now();
    int rc = vgc_domain_service_list_domains(client, &request, &response, 500, &status);
    auto took = std::chrono::steady_clock::now() - started;

    EXPECT_EQ(rc, -1);
    EXPECT_EQ(response, nullptr);
    EXPECT_TRUE(status.code == VG_CODE_UNAVAILABLE || status.code == VG_CODE_DEADLINE_EXCEEDED)
        << "code " << status.code;
    EXPECT_LT(took, std::chrono::seconds(2));
    vg_status_clear(&status);
    vg_client_free(client);
}

}  // namespace
}  // namespace virtgrpc::testing
