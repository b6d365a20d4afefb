#include "tests/support/cli-process.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace virtgrpc::testing {
namespace {

std::string TempPath(const std::string &name) {
    const char *dir = std::getenv("TEST_TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

[[noreturn]] void Exec(const std::vector<std::string> &args) {
    std::vector<char *> argv;
    std::string binary = CliPath();
    argv.push_back(binary.data());
    for (const std::string &arg : args) argv.push_back(const_cast<char *>(arg.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
}

}  // namespace

std::string CliPath() {
    const char *srcdir = std::getenv("TEST_SRCDIR");
    const char *workspace = std::getenv("TEST_WORKSPACE");
    if (srcdir && workspace) return std::string(srcdir) + "/" + workspace + "/client/cli/virtgrpc";
    return "client/cli/virtgrpc";
}

CliProcess::CliProcess(const std::vector<std::string> &args, const Options &options)
    : on_terminal_(options.on_terminal) {
    static std::atomic<int> counter{0};
    err_path_ =
        TempPath("cli-stderr-" + std::to_string(getpid()) + "-" + std::to_string(counter++));

    if (on_terminal_) {
        pid_ = forkpty(&out_fd_, nullptr, nullptr, nullptr);
        if (pid_ == 0) Exec(args);
        if (pid_ < 0) ADD_FAILURE() << "forkpty: " << strerror(errno);
        return;
    }

    int out[2], in[2];
    if (pipe(out) < 0 || pipe(in) < 0) {
        ADD_FAILURE() << "pipe: " << strerror(errno);
        return;
    }
    pid_ = fork();
    if (pid_ == 0) {
        int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        close(in[1]);
        close(out[0]);
        Exec(args);
    }
    close(out[1]);
    close(in[0]);
    out_fd_ = out[0];
    if (!options.input.empty() && write(in[1], options.input.data(), options.input.size()) < 0)
        ADD_FAILURE() << "writing the CLI's stdin: " << strerror(errno);
    close(in[1]);  // EOF: the CLI sees a pipe that ends
}

CliProcess::~CliProcess() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
}

// Reads what is there (waiting until `deadline` for something); false at the end.
bool CliProcess::Fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd fd = {out_fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&fd, 1, left.count()) <= 0) return false;
    char chunk[4096];
    ssize_t n = read(out_fd_, chunk, sizeof(chunk));
    if (n <= 0)  // a terminal's master reads EIO once the child side is closed
        return false;
    buffer_.append(chunk, n);
    return true;
}

bool CliProcess::ReadLine(std::string *line, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        size_t newline = buffer_.find('\n');
        if (newline != std::string::npos) {
            *line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            return true;
        }
        if (!Fill(deadline)) return false;
    }
}

::testing::AssertionResult CliProcess::ReadUntil(const std::string &text,
                                                 std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        size_t found = buffer_.find(text);
        if (found != std::string::npos) {
            buffer_.erase(0, found + text.size());
            return ::testing::AssertionSuccess();
        }
        if (!Fill(deadline))
            return ::testing::AssertionFailure()
                   << "no '" << text << "' in the output: '" << buffer_ << "'";
    }
}

bool CliProcess::Type(const std::string &bytes) {
    return on_terminal_ && write(out_fd_, bytes.data(), bytes.size()) == (ssize_t)bytes.size();
}

bool CliProcess::TerminalIsRaw() const {
    termios attributes;
    // On Linux the master side reports the terminal's (the slave side's) settings.
    return tcgetattr(out_fd_, &attributes) == 0 && !(attributes.c_lflag & (ICANON | ECHO));
}

int CliProcess::Wait(std::string *out, std::string *err, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Fill(deadline)) {
    }
    *out = buffer_;
    buffer_.clear();
    int status = 0;
    int code = -1;
    for (;;) {
        pid_t done = waitpid(pid_, &status, WNOHANG);
        if (done == pid_) {
            code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
            break;
        }
        usleep(10000);
    }
    pid_ = -1;
    *err = on_terminal_ ? "" : ReadFile(err_path_);
    return code;
}

}  // namespace virtgrpc::testing
