// The generated C client (<virtgrpc/virtgrpc.h>, vgc_*) against the real virtgrpcd:
// typed unary calls, the failure status with libvirt's error, deadlines against a
// server that is not there, and the server-streaming Health.Watch including a cancel
// from another thread.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <virtgrpc/virtgrpc.h>

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
