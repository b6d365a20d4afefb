// The probe port (--health-listen): a plaintext port that serves grpc.health.v1.Health
// and nothing else, for Kubernetes' gRPC probes (which speak no TLS) and
// grpc_health_probe-style checks with a plain client. Every other method there is
// UNIMPLEMENTED with a message saying why; it reports what the main port reports
// (NOT_SERVING while libvirt is unreachable) and drains with the server on SIGTERM.
#include <signal.h>

#include <chrono>
#include <future>
#include <string>

#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/free-port.h"
#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

// The probe port of the fixture being built: the base class starts the server before
// a member could hold it.
std::string g_probe_target;

VirtgrpcdProcess::Options WithProbePort(std::string connect_uri = "test:///default") {
    g_probe_target = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
    VirtgrpcdProcess::Options options;
    options.connect_uri = std::move(connect_uri);
    options.extra_args = {"--health-listen=" + g_probe_target};
    return options;
}

class HealthPortTest : public ServerTest {
  protected:
    HealthPortTest() : ServerTest(WithProbePort()) {}
    explicit HealthPortTest(VirtgrpcdProcess::Options options)
        : ServerTest(std::move(options)) {}

    void SetUp() override {
        ServerTest::SetUp();
        // What grpc_health_probe does: a plain (plaintext) channel, Health.Check.
        probe_channel_ = grpc::CreateChannel(probe_target_, grpc::InsecureChannelCredentials());
        ASSERT_TRUE(probe_channel_->WaitForConnected(std::chrono::system_clock::now() +
                                                     std::chrono::seconds(5)))
            << "nothing on the probe port " << probe_target_;
        probe_ = Health::NewStub(probe_channel_);
    }

    void TearDown() override {
        probe_.reset();
        probe_channel_.reset();
        ServerTest::TearDown();
    }

    grpc::Status Probe(const std::string &service, HealthCheckResponse *response) {
        HealthCheckRequest request;
        request.set_service(service);
        return probe_->Check(ContextWithDeadline().get(), request, response);
    }

    // A call to `method` on the probe port with an empty request.
    grpc::Status CallOnProbePort(const std::string &method) {
        grpc::GenericStub stub(probe_channel_);
        auto context = ContextWithDeadline();
        grpc::ByteBuffer request(nullptr, 0);
        grpc::ByteBuffer response;
        std::promise<grpc::Status> done;
        stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                       [&done](grpc::Status status) { done.set_value(std::move(status)); });
        return done.get_future().get();
    }

    const std::string probe_target_ = g_probe_target;
    std::shared_ptr<grpc::Channel> probe_channel_;
    std::unique_ptr<Health::Stub> probe_;
};

TEST_F(HealthPortTest, HealthCheckOnTheProbePortIsServing) {
    HealthCheckResponse response;
    ASSERT_TRUE(Succeeded(Probe("", &response)));
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

    ASSERT_TRUE(Succeeded(Probe("virtgrpc.v1.DomainService", &response)));
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
}

TEST_F(HealthPortTest, DomainCallsOnTheProbePortAreUnimplementedAndServedOnTheMainPort) {
    grpc::Status status = CallOnProbePort("/virtgrpc.v1.DomainService/ListDomains");

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::UNIMPLEMENTED, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("serves only 'grpc.health.v1.Health'"));

    v1::ListDomainsResponse listed;
    ASSERT_TRUE(Succeeded(
        domains_->ListDomains(ContextWithDeadline().get(), v1::ListDomainsRequest(), &listed)));
    EXPECT_EQ(listed.domains_size(), 1);
}

TEST_F(HealthPortTest, DestructiveAndReflectionCallsOnTheProbePortAreUnimplemented) {
    for (const char *method :
         {"/virtgrpc.v1.DomainService/DestroyDomain",
          "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
          "/no.Such/Method"}) {
        EXPECT_EQ(CallOnProbePort(method).error_code(), grpc::StatusCode::UNIMPLEMENTED)
            << method;
    }
    // Nothing was destroyed.
    EXPECT_EQ(StateOf(kStockDomainName).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(HealthPortTest, WatchOnTheProbePortSeesTheDrainOnSigterm) {
    auto context = ContextWithDeadline();
    auto reader = probe_->Watch(context.get(), HealthCheckRequest());
    HealthCheckResponse response;
    ASSERT_TRUE(reader->Read(&response));
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
    Disconnect();

    std::future<int> exit_code = std::async(std::launch::async, [this] {
        return server().Stop(SIGTERM, std::chrono::seconds(15));
    });

    ASSERT_TRUE(reader->Read(&response));
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
    EXPECT_FALSE(reader->Read(&response));
    EXPECT_TRUE(
        FailedWith(reader->Finish(), grpc::StatusCode::UNAVAILABLE, "VIRTGRPC_SHUTTING_DOWN"));
    probe_.reset();
    probe_channel_.reset();
    EXPECT_EQ(exit_code.get(), 0);
}

class HealthPortWithoutLibvirtTest : public HealthPortTest {
  protected:
    HealthPortWithoutLibvirtTest()
        : HealthPortTest(WithProbePort("test+unix:///default?socket=/nonexistent/libvirt-sock")) {}
};

// A probe must not say SERVING for a server that cannot reach libvirt.
TEST_F(HealthPortWithoutLibvirtTest, ProbePortSaysNotServing) {
    HealthCheckResponse response;
    ASSERT_TRUE(Succeeded(Probe("", &response)));

    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
}

}  // namespace
}  // namespace virtgrpc::testing
