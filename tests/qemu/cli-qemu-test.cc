// The virtgrpc CLI's console on a real QEMU guest (TCG): on a pseudo-terminal it goes
// raw, a command typed into the guest's shell runs there, Ctrl-] leaves with exit 0 and
// the terminal cooked again; through a pipe it sends its input and ends when the input
// ran out. Also the lifecycle verbs against QEMU (where START_FLAG_PAUSED works).
#include <chrono>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/cli-process.h"
#include "tests/support/qemu-guest.h"

namespace virtgrpc::testing {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr const char kPrompt[] = "vg-guest# ";
constexpr std::chrono::milliseconds kConsoleWait{30000};

class CliQemuTest : public BootedQemuGuestTest {
  protected:
    CliProcess::Options Terminal() {
        CliProcess::Options options;
        options.on_terminal = true;
        return options;
    }

    std::vector<std::string> Args(std::initializer_list<std::string> args) {
        std::vector<std::string> all = {"--server=" + server().target()};
        all.insert(all.end(), args);
        return all;
    }

    // Presses Enter until the guest's shell prompt appears (the shell may miss early
    // input right after boot).
    ::testing::AssertionResult WaitForPrompt(CliProcess &console) {
        auto deadline = Clock::now() + kConsoleWait;
        while (Clock::now() < deadline) {
            if (!console.Type("\r"))
                return ::testing::AssertionFailure() << "cannot type";
            if (console.ReadUntil(kPrompt, std::chrono::milliseconds(1000)))
                return ::testing::AssertionSuccess();
        }
        return ::testing::AssertionFailure() << "no prompt on the console";
    }
};

// The shell computes 6*7: the output holds "cli-42", which the echoed input does not.
TEST_F(CliQemuTest, ConsoleOnATerminalRunsATypedCommandAndCtrlBracketLeaves) {
    CliProcess console(Args({"console", name()}), Terminal());
    ASSERT_TRUE(console.ReadUntil("Escape character is ^]"));
    ASSERT_TRUE(WaitForPrompt(console));
    EXPECT_TRUE(console.TerminalIsRaw());

    ASSERT_TRUE(console.Type("echo cli-$((6*7))\r"));
    EXPECT_TRUE(console.ReadUntil("cli-42", kConsoleWait));

    ASSERT_TRUE(console.Type("\x1d"));
    std::string out, err;
    EXPECT_EQ(console.Wait(&out, &err, kConsoleWait), 0) << out;
    EXPECT_FALSE(console.TerminalIsRaw()) << "the terminal was left in raw mode";
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

// A script's use: the piped command runs in the guest and its output is printed,
// because the CLI lingers until the guest is quiet before it closes.
TEST_F(CliQemuTest, ConsoleThroughAPipeRunsTheInputAndPrintsTheOutput) {
    CliProcess::Options piped;
    piped.input = "\recho piped-$((6*7))\r";
    CliProcess console(Args({"console", "--linger=2000", name()}), piped);

    std::string out, err;
    EXPECT_EQ(console.Wait(&out, &err, kConsoleWait), 0) << out << err;
    EXPECT_THAT(out, HasSubstr("piped-42")) << err;
}

TEST_F(CliQemuTest, LifecycleVerbsDriveTheGuest) {
    auto run = [&](std::initializer_list<std::string> args) {
        CliProcess process(Args(args), {});
        std::string out, err;
        int code = process.Wait(&out, &err, kConsoleWait);
        EXPECT_EQ(code, 0) << out << err;
        return code;
    };
    run({"--timeout=60", "suspend", name()});
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_PAUSED);
    run({"--timeout=60", "resume", name()});
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
    run({"--timeout=60", "destroy", name()});
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_SHUTOFF);
    run({"--timeout=60", "start", "--paused", name()});
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_PAUSED);
}

}  // namespace
}  // namespace virtgrpc::testing
