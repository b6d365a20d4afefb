// How virtgrpcd stops on SIGTERM while clients are busy: every call gets an answer
// (served, or refused because the server is going away), nothing hangs, and the
// process exits 0 long before its grace period (5 s in the tests) runs out. The
// open-stream side of shutdown (Health.Watch) is in health-test.cc.
#include <signal.h>

#include <chrono>
#include <future>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

class ShutdownTest : public ServerTest {
  protected:
    // Room for the whole burst: these tests are about shutdown, not the in-flight limits
    // (a slow host, e.g. under AddressSanitizer, would otherwise refuse part of the burst
    // RESOURCE_EXHAUSTED before SIGTERM).
    ShutdownTest()
        : ServerTest(VirtgrpcdProcess::Options{
              .extra_args = {"--max-inflight=1000", "--max-inflight-per-client=0"}}) {}

    struct Call {
        grpc::ClientContext context;
        v1::ListDomainsResponse response;
        grpc::Status status;
    };

    // Starts `count` ListDomains calls at once; Answer() waits for their answers.
    void StartBurst(int count) {
        calls_ = std::vector<Call>(count);
        for (Call &call : calls_) {
            call.context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
            domains_->AsyncListDomains(&call.context, v1::ListDomainsRequest(), &queue_)
                ->Finish(&call.response, &call.status, &call);
        }
    }

    void AwaitBurst() {
        for (size_t done = 0; done < calls_.size(); done++) {
            void *tag;
            bool ok;
            ASSERT_TRUE(queue_.Next(&tag, &ok));
        }
    }

    // Forgets the burst's calls (their contexts keep the channel alive) and closes the
    // connection.
    void DisconnectAfterBurst() {
        calls_.clear();
        Disconnect();
    }

    // Sends SIGTERM from another thread; the future holds the exit code.
    std::future<int> StopInBackground() {
        return std::async(std::launch::async, [this] {
            return server().Stop(SIGTERM, std::chrono::seconds(15));
        });
    }

    void TearDown() override {
        queue_.Shutdown();
        void *tag;
        bool ok;
        while (queue_.Next(&tag, &ok)) {
        }
        ServerTest::TearDown();
    }

    grpc::CompletionQueue queue_;
    std::vector<Call> calls_;
};

constexpr int kBurst = 500;

TEST_F(ShutdownTest, SigtermDuringABurstOfCallsExitsCleanlyWellWithinTheGrace) {
    StartBurst(kBurst);
    auto signalled = std::chrono::steady_clock::now();
    std::future<int> exit_code = StopInBackground();

    AwaitBurst();
    DisconnectAfterBurst();

    EXPECT_EQ(exit_code.get(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(3));
}

// Calls that reached gRPC core before SIGTERM but were not yet matched to a posted
// request would be dropped by core's shutdown, and their clients would see CANCELLED,
// which retry policies do not retry. virtgrpcd first keeps matching for a moment and
// answers new calls UNAVAILABLE, so each call is served or refused retryably.
TEST_F(ShutdownTest, SigtermDuringABurstOfCallsServesOrRefusesEveryCall) {
    StartBurst(kBurst);
    std::future<int> exit_code = StopInBackground();

    AwaitBurst();

    std::map<std::string, int> outcomes;
    for (const Call &call : calls_) {
        outcomes[StatusCodeName(call.status.error_code())]++;
        if (call.status.ok()) {
            EXPECT_EQ(call.response.domains_size(), 1);
        } else {
            // UNAVAILABLE: the call reached a server that no longer takes calls.
            EXPECT_EQ(call.status.error_code(), grpc::StatusCode::UNAVAILABLE)
                << Describe(call.status);
        }
    }
    EXPECT_EQ(outcomes["CANCELLED"], 0) << ::testing::PrintToString(outcomes);
    RecordProperty("outcomes", ::testing::PrintToString(outcomes));
    DisconnectAfterBurst();
    EXPECT_EQ(exit_code.get(), 0);
}

TEST_F(ShutdownTest, SigtermWithNoClientActivityExitsAtOnce) {
    v1::ListDomainsResponse response;
    ASSERT_TRUE(Succeeded(
        domains_->ListDomains(ContextWithDeadline().get(), v1::ListDomainsRequest(), &response)));
    Disconnect();

    auto signalled = std::chrono::steady_clock::now();
    int exit_code = server().Stop(SIGTERM, std::chrono::seconds(15));

    EXPECT_EQ(exit_code, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(2));
}

}  // namespace
}  // namespace virtgrpc::testing
