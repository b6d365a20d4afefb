// The base fixture of the integration tests: every test gets its own virtgrpcd (so the
// embedded test driver starts from libvirt's stock state: one running domain `test`), a
// grpc::Channel connected to it, and grpc++ stubs. Helpers cover what many tests repeat:
// defining a domain, reading its state back, checking that the server still serves.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/rpc-status.h"
#include "tests/support/virtgrpcd-process.h"
#include "virtgrpc/v1/domain.grpc.pb.h"

namespace virtgrpc::testing {

// The domain libvirt's test driver starts with, running.
constexpr const char kStockDomainName[] = "test";
constexpr const char kStockDomainUuid[] = "6695eb01-f6a4-8304-79aa-97f2502e193f";

// The smallest XML the test driver accepts for a domain called `name`: 8 MiB, no devices.
std::string MinimalDomainXml(const std::string &name);

v1::DomainRef RefByName(const std::string &name);
v1::DomainRef RefByUuid(const std::string &uuid);
v1::DomainRef RefById(uint32_t id);

class ServerTest : public ::testing::Test {
  protected:
    ServerTest() = default;
    // For fixtures that start the server with other options (limits, a libvirt URI).
    explicit ServerTest(VirtgrpcdProcess::Options options) : options_(std::move(options)) {}

    // Starts the server and connects; a test does not run when either fails.
    void SetUp() override;
    // Prints the server's log when the test failed, closes the client and stops the
    // server, expecting a clean exit. Fixtures that hold more stubs release them first.
    void TearDown() override;

    // Closes this fixture's connection (stubs and channel). An idle grpc-core client
    // reads the server's GOAWAY only when its backup poller runs (every 5 s) and the
    // server's shutdown waits for open connections, so tests that time a shutdown
    // disconnect first.
    void Disconnect();

    VirtgrpcdProcess &server() { return *server_; }
    const std::shared_ptr<grpc::Channel> &channel() { return channel_; }

    // Defines MinimalDomainXml(name) and returns the domain the server reports; fails
    // the test when the call fails.
    v1::Domain DefineDomain(const std::string &name);
    // Defines and starts a domain.
    v1::Domain DefineRunningDomain(const std::string &name);

    // GetDomain by name.
    grpc::Status GetDomain(const std::string &name, v1::Domain *domain);
    // The state GetDomainState reports now; fails the test when the call fails.
    v1::DomainStateInfo StateOf(const std::string &name);
    // The names ListDomains returns for `filters`, in the server's order.
    std::vector<std::string> DomainNames(std::initializer_list<v1::ListDomainsFilter> filters);

    // The status Health.Check reports for `service`.
    grpc::Status CheckHealth(const std::string &service,
                             grpc::health::v1::HealthCheckResponse *response);
    // Succeeds when the server answers Health.Check("") with SERVING: the assertion
    // every test that sent the server something nasty ends with.
    ::testing::AssertionResult ServerStillServes();

    std::unique_ptr<v1::DomainService::Stub> domains_;
    std::unique_ptr<grpc::health::v1::Health::Stub> health_;

  private:
    VirtgrpcdProcess::Options options_;
    std::unique_ptr<VirtgrpcdProcess> server_;
    std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace virtgrpc::testing
