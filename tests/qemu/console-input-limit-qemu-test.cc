// --max-console-input-bytes on a real guest's serial console: input the guest takes
// flows, and a client that sends more than the server may hold for the guest at once
// gets the stream ended with RESOURCE_EXHAUSTED naming the option; the server keeps
// serving consoles.
#include <chrono>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/byte-stream-client.h"
#include "tests/support/qemu-guest.h"
#include "virtgrpc/v1/console.grpc.pb.h"

namespace virtgrpc::testing {
namespace {

using ::testing::HasSubstr;

constexpr std::chrono::milliseconds kStreamWait{30000};
constexpr size_t kInputLimit = 1024;

// A second virtgrpcd on the same libvirt with a small input limit, on top of a guest
// fixture (booted when the test needs the guest to answer, else only started).
template <typename GuestFixture> class WithLimitedServer : public GuestFixture {
  protected:
    void SetUp() override {
        GuestFixture::SetUp();
        if (this->HasFatalFailure())
            return;
        VirtgrpcdProcess::Options options;
        options.connect_uri = "qemu:///system";
        options.extra_args = {"--max-console-input-bytes=" + std::to_string(kInputLimit)};
        limited_ = std::make_unique<VirtgrpcdProcess>(options);
        ASSERT_TRUE(limited_->running());
        console_stub_ = v1::ConsoleService::NewStub(
            grpc::CreateChannel(limited_->target(), grpc::InsecureChannelCredentials()));
    }

    void TearDown() override {
        console_stub_.reset();
        limited_.reset(); // expects a clean exit
        GuestFixture::TearDown();
    }

    std::unique_ptr<ConsoleClient> OpenConsole() {
        v1::ConsoleOpen open;
        *open.mutable_domain() = this->ref();
        return std::make_unique<ConsoleClient>(console_stub_.get(),
                                               &v1::ConsoleService::Stub::OpenDomainConsole,
                                               open);
    }

    std::unique_ptr<VirtgrpcdProcess> limited_;
    std::unique_ptr<v1::ConsoleService::Stub> console_stub_;
};

using ConsoleInputLimitQemuTest = WithLimitedServer<BootedQemuGuestTest>;

// The refusal does not depend on the guest: a guest started paused (no boot to wait
// for) has a console all the same.
class ConsoleInputOverLimitQemuTest : public WithLimitedServer<QemuGuestTest> {
  protected:
    void SetUp() override {
        WithLimitedServer<QemuGuestTest>::SetUp();
        if (HasFatalFailure())
            return;
        ASSERT_TRUE(Succeeded(Start({v1::START_FLAG_PAUSED})));
    }
};

TEST_F(ConsoleInputLimitQemuTest, InputUnderTheLimitReachesTheGuest) {
    auto console = OpenConsole();

    ASSERT_TRUE(console->Send("echo vg-input-$((6*7))\r"));

    EXPECT_TRUE(console->WaitFor("vg-input-42", kStreamWait)) << console->Output();
    EXPECT_FALSE(console->WaitEnded(std::chrono::milliseconds(0)));
}

TEST_F(ConsoleInputOverLimitQemuTest, InputOverTheLimitEndsTheStreamNamingTheOption) {
    auto console = OpenConsole();
    ASSERT_TRUE(console->Send("\r"));

    // More than the server may hold for the guest in one message: refused whatever the
    // guest has taken.
    console->Send(std::string(kInputLimit + 1, 'x'));

    ASSERT_TRUE(console->WaitEnded(kStreamWait));
    grpc::Status status = console->status();
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::RESOURCE_EXHAUSTED, "VIRTGRPC_LIMIT_EXCEEDED"));
    EXPECT_THAT(status.error_message(), HasSubstr("max-console-input-bytes"));

    // The server keeps serving consoles: input under the limit is taken on a new one.
    auto again = OpenConsole();
    EXPECT_TRUE(again->Send(std::string(kInputLimit / 2, 'y')));
    EXPECT_FALSE(again->WaitEnded(std::chrono::milliseconds(2000)))
        << Describe(again->status());
}

}  // namespace
}  // namespace virtgrpc::testing
