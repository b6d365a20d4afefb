// grpc.health.v1.Health as virtgrpcd serves it: Check for the server and each of its
// services, Watch from the first answer to the end of the stream when the server
// drains on SIGTERM, and a server whose libvirt connection is down (it runs, says
// NOT_SERVING, and fails domain calls UNAVAILABLE).
#include <signal.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class HealthTest : public ServerTest {
  protected:
    HealthTest() = default;
    explicit HealthTest(VirtgrpcdProcess::Options options) : ServerTest(std::move(options)) {}

    // An open Health.Watch stream.
    struct Watch {
        std::unique_ptr<grpc::ClientContext> context;
        std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader;

        // Cancels the call if still open and returns how it ended.
        grpc::Status End() {
            context->TryCancel();
            return reader->Finish();
        }
    };

    Watch OpenWatch(const std::string &service) {
        Watch watch;
        watch.context = ContextWithDeadline();
        HealthCheckRequest request;
        request.set_service(service);
        watch.reader = health_->Watch(watch.context.get(), request);
        return watch;
    }
};

TEST_F(HealthTest, CheckOfTheWholeServerIsServing) {
    HealthCheckResponse response;
    ASSERT_TRUE(Succeeded(CheckHealth("", &response)));

    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
}

TEST_F(HealthTest, CheckOfTheDomainServiceIsServing) {
    HealthCheckResponse response;
    ASSERT_TRUE(Succeeded(CheckHealth("virtgrpc.v1.DomainService", &response)));

    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
}

TEST_F(HealthTest, CheckOfAnUnknownServiceIsNotFound) {
    HealthCheckResponse response;
    grpc::Status status = CheckHealth("no.such.Service", &response);

    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
}

TEST_F(HealthTest, WatchSendsServingAtOnce) {
    Watch watch = OpenWatch("");

    HealthCheckResponse response;
    ASSERT_TRUE(watch.reader->Read(&response)) << Describe(watch.End());
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
    EXPECT_EQ(watch.End().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(HealthTest, WatchOfAnUnknownServiceSaysServiceUnknownAndStaysOpen) {
    Watch watch = OpenWatch("no.such.Service");

    HealthCheckResponse response;
    ASSERT_TRUE(watch.reader->Read(&response)) << Describe(watch.End());
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);
    // The health protocol keeps the stream open: the service may appear later.
    EXPECT_EQ(watch.End().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(HealthTest, SigtermMakesWatchersSeeNotServingThenEndsTheirStreamUnavailable) {
    Watch watch = OpenWatch("");
    HealthCheckResponse response;
    ASSERT_TRUE(watch.reader->Read(&response)) << Describe(watch.End());
    ASSERT_EQ(response.status(), HealthCheckResponse::SERVING);

    // The process helper's grace period is 5 s; draining an idle server takes far less.
    auto signalled = std::chrono::steady_clock::now();
    std::future<int> exit_code = std::async(std::launch::async, [this] {
        return server().Stop(SIGTERM, std::chrono::seconds(15));
    });

    ASSERT_TRUE(watch.reader->Read(&response)) << Describe(watch.End());
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
    EXPECT_FALSE(watch.reader->Read(&response))
        << "another message: " << response.ShortDebugString();
    EXPECT_TRUE(FailedWith(watch.reader->Finish(), grpc::StatusCode::UNAVAILABLE,
                           "VIRTGRPC_SHUTTING_DOWN"));

    EXPECT_EQ(exit_code.get(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(2));
}

TEST_F(HealthTest, SigtermEndsAWatchOfAnUnknownServiceToo) {
    Watch watch = OpenWatch("no.such.Service");
    HealthCheckResponse response;
    ASSERT_TRUE(watch.reader->Read(&response)) << Describe(watch.End());
    ASSERT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);

    auto signalled = std::chrono::steady_clock::now();
    std::future<int> exit_code = std::async(std::launch::async, [this] {
        return server().Stop(SIGTERM, std::chrono::seconds(15));
    });

    EXPECT_FALSE(watch.reader->Read(&response))
        << "another message: " << response.ShortDebugString();
    EXPECT_EQ(watch.reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(exit_code.get(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(2));
}

TEST_F(HealthTest, SigtermEndsEveryOpenWatch) {
    constexpr int kWatches = 20;
    std::vector<Watch> watches;
    for (int i = 0; i < kWatches; i++) {
        watches.push_back(OpenWatch(i % 2 ? "" : "virtgrpc.v1.DomainService"));
        HealthCheckResponse response;
        ASSERT_TRUE(watches.back().reader->Read(&response)) << Describe(watches.back().End());
    }

    std::future<int> exit_code = std::async(std::launch::async, [this] {
        return server().Stop(SIGTERM, std::chrono::seconds(15));
    });

    for (Watch &watch : watches) {
        HealthCheckResponse response;
        while (watch.reader->Read(&response)) {
            EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
        }
        EXPECT_TRUE(FailedWith(watch.reader->Finish(), grpc::StatusCode::UNAVAILABLE,
                               "VIRTGRPC_SHUTTING_DOWN"));
    }
    EXPECT_EQ(exit_code.get(), 0);
}

// --- a server whose libvirt is not there ---------------------------------------

class LibvirtDownTest : public HealthTest {
  protected:
    LibvirtDownTest()
        : HealthTest({.connect_uri = "test+unix:///default?socket=/nonexistent/libvirt-sock",
                      .extra_args = {}}) {}
};

TEST_F(LibvirtDownTest, ServerStartsAndSaysNotServing) {
    HealthCheckResponse response;
    ASSERT_TRUE(Succeeded(CheckHealth("", &response)));
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);

    ASSERT_TRUE(Succeeded(CheckHealth("virtgrpc.v1.DomainService", &response)));
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
}

TEST_F(LibvirtDownTest, WatchSaysNotServing) {
    Watch watch = OpenWatch("");

    HealthCheckResponse response;
    ASSERT_TRUE(watch.reader->Read(&response)) << Describe(watch.End());
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
    EXPECT_EQ(watch.End().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(LibvirtDownTest, DomainCallFailsUnavailableWithLibvirtDisconnected) {
    v1::ListDomainsResponse response;
    grpc::Status status =
        domains_->ListDomains(ContextWithDeadline().get(), v1::ListDomainsRequest(), &response);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNAVAILABLE, "VIRTGRPC_LIBVIRT_DISCONNECTED"));
    auto info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->domain(), "virtgrpc.io");
}

TEST_F(LibvirtDownTest, DomainLookupFailsUnavailableWithLibvirtDisconnected) {
    v1::Domain domain;
    grpc::Status status = GetDomain(kStockDomainName, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNAVAILABLE, "VIRTGRPC_LIBVIRT_DISCONNECTED"));
}

}  // namespace
}  // namespace virtgrpc::testing
