// ConsoleService's limits and clean-up on a real QEMU guest: the idle timeout and the
// per-domain and per-server stream limits of servers started with those options, and
// clients that vanish mid-stream (cancel, and a client process killed with SIGKILL)
// against a virtgrpcd running under valgrind: it must free everything (no definite
// leak, no invalid access), keep serving and exit cleanly.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/byte-stream-client.h"
#include "tests/support/qemu-guest.h"
#include "virtgrpc/v1/console.grpc.pb.h"

extern char **environ;

namespace virtgrpc::testing {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kStreamWait{30000};
// The child client of KilledClientProcessLeavesNothingBehind.
constexpr const char kChildTargetEnv[] = "VG_CONSOLE_CHILD_TARGET";
constexpr const char kChildDomainEnv[] = "VG_CONSOLE_CHILD_DOMAIN";

std::string ReadWholeFile(const std::string &path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

v1::ConsoleOpen ConsoleOpenFor(const std::string &domain) {
    v1::ConsoleOpen open;
    open.mutable_domain()->set_name(domain);
    return open;
}

v1::GraphicsOpen GraphicsOpenFor(const std::string &domain) {
    v1::GraphicsOpen open;
    open.mutable_domain()->set_name(domain);
    open.add_flags(v1::GRAPHICS_FLAG_SKIPAUTH);
    return open;
}

// A second virtgrpcd on qemu:///system with `args`, and a ConsoleService stub on it.
struct ExtraServer {
    explicit ExtraServer(std::vector<std::string> args)
        : process([&] {
              VirtgrpcdProcess::Options options;
              options.connect_uri = "qemu:///system";
              options.extra_args = std::move(args);
              return options;
          }()),
          channel(grpc::CreateChannel(process.target(), grpc::InsecureChannelCredentials())),
          console(v1::ConsoleService::NewStub(channel)),
          health(grpc::health::v1::Health::NewStub(channel)) {}

    bool Serving() {
        grpc::health::v1::HealthCheckRequest request;
        grpc::health::v1::HealthCheckResponse response;
        auto context = ContextWithDeadline(std::chrono::seconds(30));
        return health->Check(context.get(), request, &response).ok() &&
               response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    }

    VirtgrpcdProcess process;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::ConsoleService::Stub> console;
    std::unique_ptr<grpc::health::v1::Health::Stub> health;
};

using ConsoleLimitsQemuTest = BootedQemuGuestTest;

// --console-idle-timeout ends a stream nothing moves on, and only such a stream.
TEST_F(ConsoleLimitsQemuTest, IdleTimeoutEndsOnlyIdleStreams) {
    ExtraServer server({"--console-idle-timeout=2"});
    ASSERT_TRUE(server.process.running());

    auto start = Clock::now();
    GraphicsClient idle(server.console.get(), &v1::ConsoleService::Stub::OpenDomainGraphics,
                        GraphicsOpenFor(name()));
    // A console that gets a keystroke every half second stays open meanwhile.
    ConsoleClient busy(server.console.get(), &v1::ConsoleService::Stub::OpenDomainConsole,
                       ConsoleOpenFor(name()));
    ASSERT_TRUE(idle.WaitForSize(12, kStreamWait)); // the RFB greeting, then silence
    while (!idle.WaitEnded(std::chrono::milliseconds(500)) &&
           Clock::now() - start < kStreamWait)
        ASSERT_TRUE(busy.Send("\r"));
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    ASSERT_TRUE(idle.WaitEnded(std::chrono::milliseconds(0)));
    EXPECT_TRUE(FailedWith(idle.status(), grpc::StatusCode::DEADLINE_EXCEEDED,
                           "VIRTGRPC_LIMIT_EXCEEDED"));
    EXPECT_THAT(idle.status().error_message(), HasSubstr("--console-idle-timeout"));
    EXPECT_GE(seconds, 2.0);
    EXPECT_LT(seconds, 10.0);
    EXPECT_FALSE(busy.WaitEnded(std::chrono::milliseconds(0)))
        << "a console in use ended: " << Describe(busy.status());
    EXPECT_TRUE(server.Serving());
}

// --max-consoles-per-domain and --max-consoles refuse streams past them with
// RESOURCE_EXHAUSTED, and give the slot back when a stream ends.
TEST_F(ConsoleLimitsQemuTest, StreamLimitsPerDomainAndPerServer) {
    for (const char *option : {"--max-consoles-per-domain=1", "--max-consoles=1"}) {
        SCOPED_TRACE(option);
        ExtraServer server({option});
        ASSERT_TRUE(server.process.running());
        {
            GraphicsClient first(server.console.get(),
                                 &v1::ConsoleService::Stub::OpenDomainGraphics,
                                 GraphicsOpenFor(name()));
            ASSERT_TRUE(first.WaitForSize(12, kStreamWait));
            // A graphics tunnel: libvirt itself would allow a second one.
            GraphicsClient second(server.console.get(),
                                  &v1::ConsoleService::Stub::OpenDomainGraphics,
                                  GraphicsOpenFor(name()));
            ASSERT_TRUE(second.WaitEnded(kStreamWait));
            EXPECT_TRUE(FailedWith(second.status(), grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "VIRTGRPC_LIMIT_EXCEEDED"));
            EXPECT_THAT(second.status().error_message(),
                        HasSubstr(std::string(option).substr(0, std::string(option).find('='))));
            first.CloseSend();
            ASSERT_TRUE(first.WaitEnded(kStreamWait));
        }
        // The slot is free again (given back on a worker: allow it a moment).
        bool reopened = WaitUntil(
            [&] {
                GraphicsClient again(server.console.get(),
                                     &v1::ConsoleService::Stub::OpenDomainGraphics,
                                     GraphicsOpenFor(name()));
                return again.WaitForSize(12, kStreamWait);
            },
            kStreamWait);
        EXPECT_TRUE(reopened);
        EXPECT_TRUE(server.Serving());
    }
}

// With a send queue of one message, the server refuses most sends while the guest
// prints: it keeps the refused bytes, stops reading the guest and resumes when the
// client caught up. Every byte still arrives, in order.
TEST_F(ConsoleLimitsQemuTest, ConsoleOutputArrivesWholeThroughAOneMessageQueue) {
    ExtraServer server({"--max-queued-messages=1"});
    ASSERT_TRUE(server.process.running());
    ConsoleClient console(server.console.get(), &v1::ConsoleService::Stub::OpenDomainConsole,
                          ConsoleOpenFor(name()));
    for (int i = 0; i < 40 && !console.WaitFor("# ", std::chrono::milliseconds(500)); i++)
        ASSERT_TRUE(console.Send("\r"));
    size_t from = console.OutputSize();
    ASSERT_TRUE(console.Send("seq 1 5000; echo seq-$((2+3))-done\r"));
    ASSERT_TRUE(console.WaitFor("seq-5-done", std::chrono::seconds(120), from))
        << console.Output().substr(from);
    std::string expected;
    for (int i = 1; i <= 5000; i++)
        expected += std::to_string(i) + "\r\n";
    EXPECT_NE(console.Output().find(expected, from), std::string::npos)
        << "lost or reordered bytes: " << console.Output().substr(from);
    EXPECT_TRUE(server.Serving());
}

// Opens a console, a graphics tunnel, a channel-less screenshot stream that is never
// read, says READY and waits to be killed. Runs only as the child of
// KilledClientProcessLeavesNothingBehind.
TEST(ConsoleVanishingChild, OpenStreamsAndWaitToBeKilled) {
    const char *target = std::getenv(kChildTargetEnv);
    const char *domain = std::getenv(kChildDomainEnv);
    if (!target || !domain)
        GTEST_SKIP() << "only run by KilledClientProcessLeavesNothingBehind";
    auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
    auto stub = v1::ConsoleService::NewStub(channel);
    ConsoleClient console(stub.get(), &v1::ConsoleService::Stub::OpenDomainConsole,
                          ConsoleOpenFor(domain));
    GraphicsClient vnc(stub.get(), &v1::ConsoleService::Stub::OpenDomainGraphics,
                       GraphicsOpenFor(domain));
    ASSERT_TRUE(vnc.WaitForSize(12, kStreamWait));
    for (int i = 0; i < 20 && !console.WaitFor("# ", std::chrono::milliseconds(500)); i++)
        console.Send("\r");
    // Output keeps coming while the process dies.
    console.Send("while true; do echo vanishing-client-output; done\r");
    console.WaitFor("vanishing-client-output\r\nvanishing", kStreamWait);
    printf("READY\n");
    fflush(stdout);
    pause();
}

// A virtgrpcd under valgrind: its binary path is replaced by a script that runs the
// real one under valgrind (VirtgrpcdProcess finds the binary through TEST_SRCDIR).
class ValgrindServer {
  public:
    ValgrindServer() {
        std::string real = VirtgrpcdProcess::BinaryPath();
        const char *tmp = std::getenv("TEST_TMPDIR");
        root_ = std::string(tmp ? tmp : "/tmp") + "/valgrind-srcdir";
        log_ = root_ + "/valgrind.log";
        mkdir(root_.c_str(), 0755);
        mkdir((root_ + "/virtgrpc").c_str(), 0755);
        mkdir((root_ + "/virtgrpc/server").c_str(), 0755);
        std::string script = root_ + "/virtgrpc/server/virtgrpcd";
        std::ofstream(script) << "#!/bin/sh\nexec valgrind --leak-check=full "
                                 "--errors-for-leak-kinds=definite --error-exitcode=99 "
                                 "--track-fds=no --log-file="
                              << log_ << " " << real << " \"$@\"\n";
        chmod(script.c_str(), 0755);

        const char *srcdir = std::getenv("TEST_SRCDIR");
        const char *workspace = std::getenv("TEST_WORKSPACE");
        std::string saved_srcdir = srcdir ? srcdir : "";
        std::string saved_workspace = workspace ? workspace : "";
        setenv("TEST_SRCDIR", root_.c_str(), 1);
        setenv("TEST_WORKSPACE", "virtgrpc", 1);
        server_ = std::make_unique<ExtraServer>(std::vector<std::string>{});
        setenv("TEST_SRCDIR", saved_srcdir.c_str(), 1);
        setenv("TEST_WORKSPACE", saved_workspace.c_str(), 1);
    }

    ExtraServer &server() { return *server_; }
    std::string Log() const { return ReadWholeFile(log_); }

    // SIGTERM, then the exit code (99: valgrind found errors or definite leaks).
    int Stop() {
        server_->console.reset();
        server_->health.reset();
        server_->channel.reset();
        return server_->process.Stop(SIGTERM, std::chrono::seconds(180));
    }

  private:
    std::string root_;
    std::string log_;
    std::unique_ptr<ExtraServer> server_;
};

// Clients vanish in every way mid-stream; the server under valgrind frees everything.
TEST_F(ConsoleLimitsQemuTest, VanishingClientsLeaveNothingBehindUnderValgrind) {
    ValgrindServer valgrind;
    ExtraServer &server = valgrind.server();
    ASSERT_TRUE(server.process.running()) << valgrind.Log();

    // 1. A child process holding a console (with output flowing) and a VNC tunnel is
    // killed: its TCP connection drops with no gRPC goodbye.
    {
        int out[2];
        ASSERT_EQ(pipe(out), 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        std::string target_env = std::string(kChildTargetEnv) + "=" + server.process.target();
        std::string domain_env = std::string(kChildDomainEnv) + "=" + name();
        std::vector<std::string> env_strings = {target_env, domain_env};
        for (char **e = environ; *e; e++)
            env_strings.push_back(*e);
        std::vector<char *> envp;
        for (auto &e : env_strings)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        std::string self = "/proc/self/exe";
        std::string filter = "--gtest_filter=ConsoleVanishingChild.*";
        char *argv[] = {self.data(), filter.data(), nullptr};
        pid_t child;
        ASSERT_EQ(posix_spawn(&child, self.c_str(), &actions, nullptr, argv, envp.data()), 0);
        posix_spawn_file_actions_destroy(&actions);
        close(out[1]);
        FILE *child_out = fdopen(out[0], "r");
        char line[256];
        bool ready = false;
        while (fgets(line, sizeof(line), child_out)) {
            if (std::string(line) == "READY\n") {
                ready = true;
                break;
            }
        }
        kill(child, SIGKILL);
        int status;
        waitpid(child, &status, 0);
        fclose(child_out);
        ASSERT_TRUE(ready) << "the child client never got its streams open";
    }

    // 2. The server noticed: libvirt gives the console (one client at a time) to a new
    // client without FORCE once the killed client's stream was aborted. That one is
    // cancelled by its client while output flows.
    {
        std::unique_ptr<ConsoleClient> console;
        ASSERT_TRUE(WaitUntil(
            [&] {
                console = std::make_unique<ConsoleClient>(
                    server.console.get(), &v1::ConsoleService::Stub::OpenDomainConsole,
                    ConsoleOpenFor(name()));
                return console->WaitFor("vanishing-client-output",
                                        std::chrono::milliseconds(5000));
            },
            kStreamWait))
            << Describe(console->status());
        console->Cancel();
        ASSERT_TRUE(console->WaitEnded(kStreamWait));
        EXPECT_EQ(console->status().error_code(), grpc::StatusCode::CANCELLED);
    }

    // 3. A screenshot cancelled after its first message, and one never read.
    {
        v1::GetDomainScreenshotRequest request;
        request.mutable_domain()->set_name(name());
        grpc::ClientContext context;
        auto reader = server.console->GetDomainScreenshot(&context, request);
        v1::ScreenshotChunk chunk;
        EXPECT_TRUE(reader->Read(&chunk));
        context.TryCancel();
        grpc::ClientContext unread;
        auto never_read = server.console->GetDomainScreenshot(&unread, request);
        std::this_thread::sleep_for(std::chrono::seconds(2));
        unread.TryCancel();
    }

    // 4. Stop the guest's output loop with a FORCE console, then a clean half-close.
    {
        v1::ConsoleOpen open = ConsoleOpenFor(name());
        open.add_flags(v1::CONSOLE_FLAG_FORCE);
        ConsoleClient console(server.console.get(), &v1::ConsoleService::Stub::OpenDomainConsole,
                              open);
        ASSERT_TRUE(console.Send("\x03"));
        console.CloseSend();
        ASSERT_TRUE(console.WaitEnded(kStreamWait));
        EXPECT_TRUE(Succeeded(console.status()));
    }

    EXPECT_TRUE(server.Serving());
    int code = valgrind.Stop();
    std::string log = valgrind.Log();
    EXPECT_EQ(code, 0) << "virtgrpcd under valgrind exited with " << code << ":\n" << log;
    EXPECT_THAT(log, HasSubstr("ERROR SUMMARY: 0 errors"));
    std::smatch lost;
    if (std::regex_search(log, lost, std::regex("definitely lost: ([0-9,]+) bytes")))
        EXPECT_EQ(lost[1], "0") << log;
    printf("valgrind summary:\n%s\n",
           log.substr(log.find("HEAP SUMMARY") == std::string::npos ? 0 : log.find("HEAP SUMMARY"))
               .c_str());
}

}  // namespace
}  // namespace virtgrpc::testing
