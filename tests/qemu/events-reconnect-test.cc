// A server that loses its libvirt connection tells every watcher: Health goes NOT_SERVING
// and back to SERVING once it has reconnected, each WatchEvents stream gets a `resync`
// and a fresh listing, and live events flow again. The server talks to libvirtd's test
// driver (test+unix:///default); the test makes libvirtd drop exactly that client
// through libvirt's admin API (what a libvirtd restart does to it, without disturbing
// anyone else's guests).
#include <libvirt/libvirt-admin.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/event-watcher.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckResponse;

// Closes libvirtd's connection(s) from process `pid`; returns how many it closed.
int DisconnectLibvirtdClient(pid_t pid)
{
    virAdmConnectPtr admin = virAdmConnectOpen(nullptr, 0);
    int closed = 0;

    if (!admin) {
        ADD_FAILURE() << "cannot open libvirtd's admin socket";
        return 0;
    }
    virAdmServerPtr server = virAdmConnectLookupServer(admin, "libvirtd", 0);
    virAdmClientPtr *clients = nullptr;
    int n = server ? virAdmServerListClients(server, &clients, 0) : -1;
    for (int i = 0; i < n; i++) {
        virTypedParameterPtr params = nullptr;
        int nparams = 0;
        unsigned long long client_pid = 0;

        if (virAdmClientGetInfo(clients[i], &params, &nparams, 0) == 0) {
            for (int j = 0; j < nparams; j++) {
                if (std::string(params[j].field) == VIR_CLIENT_INFO_UNIX_PROCESS_ID)
                    client_pid = params[j].type == VIR_TYPED_PARAM_LLONG
                                     ? (unsigned long long)params[j].value.l
                                     : params[j].value.i;
            }
            virTypedParamsFree(params, nparams);
        }
        if (client_pid == (unsigned long long)pid && virAdmClientClose(clients[i], 0) == 0)
            closed++;
        virAdmClientFree(clients[i]);
    }
    free(clients);
    if (server)
        virAdmServerFree(server);
    virAdmConnectClose(admin);
    return closed;
}

class EventsReconnectTest : public ServerTest {
  protected:
    EventsReconnectTest() : ServerTest(VirtgrpcdProcess::Options{"test+unix:///default", {}})
    {
    }

    void TearDown() override
    {
        // libvirtd's test driver outlives this server: leave it as we found it.
        auto context = ContextWithDeadline();
        v1::UndefineDomainRequest request;
        v1::Domain reply;
        *request.mutable_domain() = RefByName(name_);
        domains_->UndefineDomain(context.get(), request, &reply);
        ServerTest::TearDown();
    }

    const std::string name_ = "ev-reconnect-" + std::to_string(getpid());
};

TEST_F(EventsReconnectTest, LosingLibvirtGivesResyncAFreshListingAndLiveEventsAgain)
{
    DefineDomain(name_);
    grpc::ClientContext health_context;
    grpc::health::v1::HealthCheckRequest health_request;
    auto health = health_->Watch(&health_context, health_request);
    HealthCheckResponse status;
    ASSERT_TRUE(health->Read(&status));
    ASSERT_EQ(status.status(), HealthCheckResponse::SERVING);

    v1::WatchEventsRequest request;
    *request.add_domains() = RefByName(name_);
    EventWatcher watcher(channel(), request);
    ASSERT_TRUE(watcher.WaitForListing(5000ms)) << watcher.DescribeSkipped();

    ASSERT_EQ(DisconnectLibvirtdClient(server().pid()), 1)
        << "libvirtd has no connection from virtgrpcd (pid " << server().pid() << ")";

    // Health: NOT_SERVING while disconnected, SERVING once reconnected (first retry
    // after 250 ms).
    ASSERT_TRUE(health->Read(&status));
    EXPECT_EQ(status.status(), HealthCheckResponse::NOT_SERVING);
    ASSERT_TRUE(health->Read(&status));
    EXPECT_EQ(status.status(), HealthCheckResponse::SERVING);
    health_context.TryCancel();

    std::optional<v1::DomainEvent> resync = watcher.WaitFor(
        [](const v1::DomainEvent &e) { return e.event_case() == v1::DomainEvent::kResync; },
        10000ms);
    ASSERT_TRUE(resync) << watcher.DescribeSkipped();
    EXPECT_EQ(resync->resync().uri(), "test+unix:///default");
    EXPECT_GT(resync->resync().disconnected_at().seconds(), 0);
    std::optional<v1::DomainEvent> listing = watcher.Next(5000ms);
    ASSERT_TRUE(listing);
    ASSERT_EQ(listing->event_case(), v1::DomainEvent::kCurrentDomains);
    EXPECT_EQ(listing->sequence(), resync->sequence() + 1);
    // libvirtd's shared test driver state dies with its last client, which was us: the
    // fresh listing says our domain is gone, as ListDomains does.
    v1::Domain gone;
    grpc::Status lookup = GetDomain(name_, &gone);
    EXPECT_TRUE(FailedWith(lookup, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_EQ(listing->current_domains().domains_size(), 0);

    // Live again: the callbacks were registered on the new connection.
    v1::Domain defined = DefineDomain(name_);
    std::optional<v1::DomainEvent> live =
        watcher.WaitFor(IsLifecycle(name_, v1::LIFECYCLE_EVENT_TYPE_DEFINED), 2000ms);
    ASSERT_TRUE(live) << watcher.DescribeSkipped();
    EXPECT_EQ(live->lifecycle().defined(), v1::DEFINED_DETAIL_ADDED);
    EXPECT_EQ(live->domain().uuid(), defined.uuid());
}

} // namespace
} // namespace virtgrpc::testing
