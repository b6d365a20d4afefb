// virtgrpcd's options: the configuration file (a GLib key file) and the flags come from
// one table, the flags override the file, --check-config validates without serving, a
// typo in the file is an error (not silently ignored), and SIGHUP reloads the file —
// keeping the running configuration when the new file is bad.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

std::string TempPath(const std::string &name) {
    const char *dir = std::getenv("TEST_TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/" + name;
}

void WriteFile(const std::string &path, const std::string &text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
}

struct RunResult {
    int exit_code;
    std::string output;  // stdout and stderr
};

// Runs virtgrpcd with `args` to completion (it must not serve: --help, --check-config,
// usage errors).
RunResult RunVirtgrpcd(const std::string &args) {
    std::string command = VirtgrpcdProcess::BinaryPath() + " " + args + " 2>&1";
    RunResult run{-1, ""};
    FILE *pipe = popen(command.c_str(), "r");
    if (!pipe)
        return run;
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        run.output.append(buffer.data(), n);
    int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

// Waits until the server's log matches `pattern`.
bool LogShows(VirtgrpcdProcess &server, const std::string &pattern) {
    std::regex re(pattern);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        if (std::regex_search(server.Log(), re))
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

TEST(OptionsTest, HelpDocumentsEveryOptionUnderItsConfigGroup) {
    RunResult run = RunVirtgrpcd("--help");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    for (const char *text : {"[server]", "[limits]", "[jobs]", "[consoles]", "--connect=URI",
                             "--max-inflight=N", "--config=FILE", "--check-config",
                             "(default test:///default)", "reloadable"}) {
        EXPECT_NE(run.output.find(text), std::string::npos) << text << "\n" << run.output;
    }
}

TEST(OptionsTest, EveryOptionInHelpIsAcceptedAsAConfigKeyOfItsGroup) {
    // Each option --help lists under [group] is accepted as `key = default` in that group:
    // the flag and the file share one table, so they cannot drift apart.
    RunResult help = RunVirtgrpcd("--help");
    ASSERT_EQ(help.exit_code, 0);
    std::regex group_re(R"(^\[([a-z]+)\]$)");
    std::regex option_re(R"(^\s+(?:-., )?--([a-z-]+)=\S+)");
    std::regex default_re(R"(\(default ([^;)]*))");
    std::string group, file_text;
    std::istringstream lines(help.output);
    std::string line, pending;
    int options = 0;
    auto flush = [&] {
        std::smatch option, value;
        if (pending.empty() || !std::regex_search(pending, option, option_re))
            return;
        std::string name = option[1];
        ASSERT_TRUE(std::regex_search(pending, value, default_re)) << pending;
        std::string text = value[1];
        if (text == "none")
            return;
        file_text += "[" + group + "]\n" + name + " = " + text + "\n";
        options++;
    };
    while (std::getline(lines, line)) {
        std::smatch m;
        if (std::regex_match(line, m, group_re)) {
            flush();
            pending.clear();
            group = m[1];
        } else if (line.rfind("  -", 0) == 0 || line.rfind("      --", 0) == 0) {
            flush();
            pending = group.empty() || line.find("--config") != std::string::npos ? "" : line;
            if (line.find("--config") != std::string::npos)
                group.clear();
        } else if (line.find_first_not_of(' ') == std::string::npos) {
            flush();
            pending.clear();
        } else if (!pending.empty()) {
            pending += " " + line.substr(line.find_first_not_of(' '));
        }
    }
    flush();
    ASSERT_GE(options, 10) << help.output;
    std::string path = TempPath("every-option.conf");
    WriteFile(path, file_text);
    RunResult check = RunVirtgrpcd("--config=" + path + " --check-config");
    EXPECT_EQ(check.exit_code, 0) << file_text << check.output;
}

TEST(OptionsTest, CheckConfigAcceptsAValidFile) {
    std::string path = TempPath("valid.conf");
    WriteFile(path,
              "# comment\n[server]\nconnect = test:///default\nlisten = 127.0.0.1:0;unix:/tmp/x\n"
              "[limits]\nmax-inflight = 7\n[jobs]\nmax-jobs = 2\n");
    RunResult run = RunVirtgrpcd("--config " + path + " --check-config");
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("configuration OK"), std::string::npos) << run.output;
}

TEST(OptionsTest, CheckConfigRejectsUnknownGroupsKeysAndBadValuesSayingWhere) {
    struct Case {
        const char *file;
        const char *message;
    };
    for (const Case &c : {
             Case{"[limit]\nmax-inflight = 7\n", "unknown group [limit]"},
             Case{"[limits]\nmax-inflights = 7\n", "unknown key 'max-inflights' in group [limits]"},
             Case{"[server]\nmax-inflight = 7\n", "unknown key 'max-inflight' in group [server]"},
             Case{"[limits]\nmax-inflight = 0\n",
                  "[limits] max-inflight takes a whole number from 1 to 1000000, not '0'"},
             Case{"[server]\nlog-level = loud\n", "[server] log-level takes error, warn"},
             Case{"[server\n", "cannot read configuration file"},
         }) {
        std::string path = TempPath("bad.conf");
        WriteFile(path, c.file);
        RunResult run = RunVirtgrpcd("--config=" + path + " --check-config");
        EXPECT_EQ(run.exit_code, 2) << c.file << run.output;
        EXPECT_NE(run.output.find(c.message), std::string::npos) << c.file << run.output;
    }
    RunResult missing = RunVirtgrpcd("--config=" + TempPath("does-not-exist.conf") + " --check-config");
    EXPECT_EQ(missing.exit_code, 2) << missing.output;
}

TEST(OptionsTest, UsageErrorsExitTwoNamingTheFlag) {
    RunResult bogus = RunVirtgrpcd("--bogus");
    EXPECT_EQ(bogus.exit_code, 2);
    EXPECT_NE(bogus.output.find("unrecognised option '--bogus'"), std::string::npos);
    RunResult range = RunVirtgrpcd("--workers=0 --check-config");
    EXPECT_EQ(range.exit_code, 2);
    EXPECT_NE(range.output.find("--workers takes a whole number from 1 to 1024, not '0'"),
              std::string::npos)
        << range.output;
}

TEST(OptionsTest, FlagsOverrideTheFile) {
    // The file says: log at debug and connect to a URI that does not exist. The fixture's
    // own --connect=test:///default flag wins; the file's log level still applies.
    std::string path = TempPath("override.conf");
    WriteFile(path, "[server]\nlog-level = debug\nconnect = test:///nonexistent/file.xml\n");
    VirtgrpcdProcess::Options options;
    options.extra_args = {"--config=" + path};
    VirtgrpcdProcess server(options);
    ASSERT_TRUE(server.running()) << server.Log();
    EXPECT_TRUE(LogShows(server, "DEBUG|debug")) << server.Log();
    EXPECT_TRUE(LogShows(server, "libvirt 'test:///default'")) << server.Log();
    EXPECT_EQ(server.Stop(SIGTERM, std::chrono::seconds(10)), 0) << server.Log();
}

TEST(OptionsTest, SighupAppliesAReloadableChangeAndKeepsServing) {
    std::string path = TempPath("reload.conf");
    WriteFile(path, "[jobs]\nmax-jobs = 3\n");
    VirtgrpcdProcess::Options options;
    options.extra_args = {"--config=" + path};
    VirtgrpcdProcess server(options);
    ASSERT_TRUE(server.running()) << server.Log();

    WriteFile(path, "[jobs]\nmax-jobs = 5\n[server]\nworkers = 4\n");
    ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
    EXPECT_TRUE(LogShows(server, "reload: max-jobs 3 -> 5")) << server.Log();
    // Not reloadable: reported, not applied.
    EXPECT_TRUE(LogShows(server, "reload: workers changed \\(16 -> 4\\) but takes effect only "
                                 "at restart"))
        << server.Log();

    auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(health->Check(&context, {}, &response).ok());
    EXPECT_EQ(server.Stop(SIGTERM, std::chrono::seconds(10)), 0) << server.Log();
}

TEST(OptionsTest, SighupWithABadFileKeepsTheRunningConfiguration) {
    std::string path = TempPath("reload-bad.conf");
    WriteFile(path, "[jobs]\nmax-jobs = 3\n");
    VirtgrpcdProcess::Options options;
    options.extra_args = {"--config=" + path};
    VirtgrpcdProcess server(options);
    ASSERT_TRUE(server.running()) << server.Log();

    WriteFile(path, "[jobs]\nmax-jobs = many\n");
    ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
    EXPECT_TRUE(LogShows(server, "reload: .*max-jobs takes a whole number.*keeping the running "
                                 "configuration"))
        << server.Log();
    // Fixed file: the next SIGHUP compares against the configuration still running (3).
    WriteFile(path, "[jobs]\nmax-jobs = 4\n");
    ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
    EXPECT_TRUE(LogShows(server, "reload: max-jobs 3 -> 4")) << server.Log();

    auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(health->Check(&context, {}, &response).ok());
    EXPECT_EQ(server.Stop(SIGTERM, std::chrono::seconds(10)), 0) << server.Log();
}

}  // namespace
}  // namespace virtgrpc::testing
