// virtgrpcd's listeners: several at once (TCP and a Unix socket), and a port that is
// already taken refuses to start instead of sharing it (gRPC core would set
// SO_REUSEPORT by default).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"
#include "tests/support/virtgrpcd-process.h"

namespace virtgrpc::testing {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// In /tmp rather than TEST_TMPDIR: a Unix socket path has at most 107 bytes, and Bazel's
// test directories are longer than that.
std::string SocketPath() {
    return "/tmp/virtgrpcd-listen-test-" + std::to_string(getpid()) + ".sock";
}

VirtgrpcdProcess::Options WithUnixListener(const std::string &path) {
    VirtgrpcdProcess::Options options;
    options.extra_args = {"--listen=unix:" + path};
    return options;
}

HealthCheckResponse::ServingStatus CheckThrough(const std::shared_ptr<grpc::Channel> &channel) {
    auto health = Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    HealthCheckRequest request;
    HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return response.status();
}

class ListenTest : public ServerTest {
  protected:
    // SocketPath() is the same for the whole test process, so the base class and the
    // test see one path (a member would not be initialised before the base is built).
    ListenTest() : ServerTest(WithUnixListener(SocketPath())) {}

    ~ListenTest() override { std::remove(socket_path_.c_str()); }

    const std::string socket_path_ = SocketPath();
};

TEST_F(ListenTest, ServesOnTcpAndOnAUnixSocketAtOnce) {
    EXPECT_EQ(CheckThrough(channel()), HealthCheckResponse::SERVING);

    auto unix_channel =
        grpc::CreateChannel("unix:" + socket_path_, grpc::InsecureChannelCredentials());
    EXPECT_EQ(CheckThrough(unix_channel), HealthCheckResponse::SERVING);

    // A domain call works over the Unix socket too, against the same libvirt.
    auto domains = v1::DomainService::NewStub(unix_channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListDomainsRequest request;
    v1::ListDomainsResponse response;
    ASSERT_TRUE(domains->ListDomains(&context, request, &response).ok());
    ASSERT_EQ(response.domains_size(), 1);
    EXPECT_EQ(response.domains(0).name(), kStockDomainName);
}

TEST_F(ListenTest, APortInUseIsRefusedAndTheFirstServerKeepsServing) {
    const std::string &target = server().target(); // "127.0.0.1:PORT"
    std::string command = VirtgrpcdProcess::BinaryPath() + " --listen=" + target +
                          " --log-level=error 2>/dev/null";

    int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << "the second server did not exit by itself";
    EXPECT_NE(WEXITSTATUS(status), 0) << "a second server started on a port in use";
    EXPECT_EQ(CheckThrough(channel()), HealthCheckResponse::SERVING);
}

} // namespace
} // namespace virtgrpc::testing
