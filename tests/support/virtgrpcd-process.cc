#include "tests/support/virtgrpcd-process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace virtgrpc::testing {
namespace {

std::string TempDir() {
    const char *dir = std::getenv("TEST_TMPDIR");
    return dir ? dir : "/tmp";
}

std::string UniqueName(const char *what) {
    static std::atomic<int> counter{0};
    std::ostringstream name;
    name << TempDir() << "/virtgrpcd-" << getpid() << "-" << counter++ << "." << what;
    return name.str();
}

// What AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer print when a
// sanitized virtgrpcd (--config=asan) finds a bug. With halt_on_error the process also
// exits non-zero, but a test that kills the server on purpose does not look at that.
const char *const kSanitizerReports[] = {
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
};

}  // namespace

std::string VirtgrpcdProcess::BinaryPath() {
    const char *srcdir = std::getenv("TEST_SRCDIR");
    const char *workspace = std::getenv("TEST_WORKSPACE");
    if (srcdir && workspace)
        return std::string(srcdir) + "/" + workspace + "/server/virtgrpcd";
    return "server/virtgrpcd";
}

VirtgrpcdProcess::VirtgrpcdProcess(const Options &options) {
    std::string port_file = UniqueName("port");
    log_path_ = UniqueName("log");
    std::string binary = BinaryPath();

    std::vector<std::string> args = {binary,
                                     "--connect=" + options.connect_uri,
                                     "--listen=127.0.0.1:0",
                                     "--port-file=" + port_file,
                                     "--shutdown-grace=5"};
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());

    pid_ = fork();
    if (pid_ == 0) {
        int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (log >= 0) {
            dup2(log, STDERR_FILENO);
            dup2(log, STDOUT_FILENO);
        }
        std::vector<char *> argv;
        for (auto &arg : args)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        execv(binary.c_str(), argv.data());
        _exit(127);
    }
    if (pid_ < 0) {
        ADD_FAILURE() << "fork failed";
        return;
    }

    // The server writes the port file (atomically) once it serves.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        std::ifstream in(port_file);
        int port = 0;
        if (in >> port && port > 0) {
            target_ = "127.0.0.1:" + std::to_string(port);
            return;
        }
        int status;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            CheckSanitizerReports();
            ADD_FAILURE() << "virtgrpcd exited during start-up:\n" << Log();
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "virtgrpcd did not write its port within 20 s:\n" << Log();
}

VirtgrpcdProcess::~VirtgrpcdProcess() {
    if (running()) {
        int code = Stop(SIGTERM, std::chrono::seconds(15));
        EXPECT_EQ(code, 0) << "virtgrpcd did not exit cleanly on SIGTERM:\n" << Log();
    }
}

int VirtgrpcdProcess::Stop(int signal, std::chrono::milliseconds timeout) {
    if (!running())
        return -1;
    kill(pid_, signal);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        pid_t done = waitpid(pid_, &status, WNOHANG);
        if (done == pid_) {
            pid_ = -1;
            CheckSanitizerReports();
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            return 128 + WTERMSIG(status);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    CheckSanitizerReports();
    return -1;
}

void VirtgrpcdProcess::CheckSanitizerReports() const {
    std::string log = Log();
    for (const char *report : kSanitizerReports) {
        if (log.find(report) != std::string::npos) {
            ADD_FAILURE() << "virtgrpcd reported '" << report << "':\n" << log;
            return;
        }
    }
}

std::string VirtgrpcdProcess::Log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace virtgrpc::testing
