// SIGTERM's bounded drain with a call really in flight: virtgrpcd reaches libvirtd's
// test driver through a proxy the test can freeze, so a GetDomainInfo hangs inside
// libvirt the way it does on a stuck libvirtd. Once signalled, the server refuses new
// calls; a call that libvirt answers within the grace period is served; one that it
// does not answer is cancelled when the grace period ends, and the process exits 0.
// In the qemu suite because it needs the system libvirtd (no guest).
#include <signal.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/freezable-proxy.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char kLibvirtdSocket[] = "/var/run/libvirt/libvirt-sock";
constexpr int kGraceSeconds = 2;

// The proxy of the fixture being built: the base class starts the server first.
std::unique_ptr<FreezableProxy> g_proxy;

VirtgrpcdProcess::Options ThroughProxy() {
    g_proxy = std::make_unique<FreezableProxy>(kLibvirtdSocket);
    VirtgrpcdProcess::Options options;
    options.connect_uri = "test+unix:///default?socket=" + g_proxy->path();
    options.extra_args = {"--shutdown-grace=" + std::to_string(kGraceSeconds)};
    return options;
}

class ShutdownGraceTest : public ServerTest {
  protected:
    ShutdownGraceTest() : ServerTest(ThroughProxy()), proxy_(std::move(g_proxy)) {}

    void SetUp() override {
        ASSERT_TRUE(proxy_->ok());
        ServerTest::SetUp();
        ASSERT_TRUE(WaitUntil(
            [&] {
                grpc::health::v1::HealthCheckResponse response;
                return CheckHealth("", &response).ok() &&
                       response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
            },
            kCallTimeout))
            << "never connected to libvirtd through the proxy";
    }

    void TearDown() override {
        proxy_->Thaw();
        ServerTest::TearDown();
    }

    // GetDomainInfo on its own channel, in the background.
    std::future<grpc::Status> StartInfoCall() {
        auto channel = grpc::CreateChannel(server().target(), grpc::InsecureChannelCredentials());
        return std::async(std::launch::async, [channel] {
            auto domains = v1::DomainService::NewStub(channel);
            v1::GetDomainInfoRequest request;
            *request.mutable_domain() = RefByName(kStockDomainName);
            v1::DomainInfo response;
            return domains->GetDomainInfo(ContextWithDeadline(std::chrono::seconds(60)).get(),
                                          request, &response);
        });
    }

    std::future<int> StopInBackground() {
        return std::async(std::launch::async,
                          [this] { return server().Stop(SIGTERM, std::chrono::seconds(60)); });
    }

    std::unique_ptr<FreezableProxy> proxy_;
};

TEST_F(ShutdownGraceTest, CallLibvirtAnswersWithinTheGraceIsServedAndNewCallsAreRefused) {
    Disconnect();
    proxy_->Freeze();
    std::future<grpc::Status> call = StartInfoCall();
    ASSERT_EQ(call.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout)
        << "the call did not wait for the frozen libvirtd: " << Describe(call.get());

    std::future<int> exit_code = StopInBackground();

    // A new call after the signal is refused (retryably) while the stuck one waits.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto late_channel =
        grpc::CreateChannel(server().target(), grpc::InsecureChannelCredentials());
    grpc::health::v1::HealthCheckResponse health;
    grpc::Status late = grpc::health::v1::Health::NewStub(late_channel)
                            ->Check(ContextWithDeadline().get(),
                                    grpc::health::v1::HealthCheckRequest(), &health);
    EXPECT_EQ(late.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(late);
    late_channel.reset();

    proxy_->Thaw();
    grpc::Status status = call.get();
    EXPECT_TRUE(Succeeded(status));
    EXPECT_EQ(exit_code.get(), 0);
}

TEST_F(ShutdownGraceTest, CallStuckInLibvirtIsCancelledAtTheEndOfTheGraceAndTheServerExits) {
    Disconnect();
    proxy_->Freeze();
    std::future<grpc::Status> call = StartInfoCall();
    ASSERT_EQ(call.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout)
        << "the call did not wait for the frozen libvirtd: " << Describe(call.get());

    auto signalled = Clock::now();
    std::future<int> exit_code = StopInBackground();

    grpc::Status status = call.get();
    auto answered = Clock::now() - signalled;
    EXPECT_FALSE(status.ok());
    EXPECT_TRUE(status.error_code() == grpc::StatusCode::CANCELLED ||
                status.error_code() == grpc::StatusCode::UNAVAILABLE)
        << Describe(status);
    EXPECT_GE(answered, std::chrono::seconds(kGraceSeconds) - std::chrono::milliseconds(100));
    EXPECT_LT(answered, std::chrono::seconds(kGraceSeconds + 2));

    int code = exit_code.get();
    auto exited = Clock::now() - signalled;
    RecordProperty("answered_ms",
                   (int)std::chrono::duration_cast<std::chrono::milliseconds>(answered).count());
    RecordProperty("exited_ms",
                   (int)std::chrono::duration_cast<std::chrono::milliseconds>(exited).count());
    EXPECT_EQ(code, 0);
    EXPECT_LT(exited, std::chrono::seconds(kGraceSeconds + 3))
        << "the process outlived its grace period by far";
}

}  // namespace
}  // namespace virtgrpc::testing
