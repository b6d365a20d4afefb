// Runs the virtgrpc CLI binary (client/cli) the way a user does, for tests: stdin a pipe
// that ends after the given input, or a pseudo-terminal (stdin, stdout and stderr on
// it, as in an interactive shell) the test types into. Output is read as it comes, with
// deadlines; the exit code at the end.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace virtgrpc::testing {

constexpr std::chrono::milliseconds kCliWait{15000};

// Path of the CLI in the test's runfiles.
std::string CliPath();

class CliProcess {
  public:
    struct Options {
        std::string input;         // pipe mode: written to stdin, which then ends
        bool on_terminal = false;  // a pseudo-terminal instead of pipes
    };

    CliProcess(const std::vector<std::string> &args, const Options &options);
    ~CliProcess();  // kills it if still running

    CliProcess(const CliProcess &) = delete;
    CliProcess &operator=(const CliProcess &) = delete;

    // The next line of output (stdout; also stderr on a terminal) without its '\n';
    // false at the end of output or after `timeout`.
    bool ReadLine(std::string *line, std::chrono::milliseconds timeout = kCliWait);
    // Reads until the output since the last ReadLine/ReadUntil contains `text`.
    ::testing::AssertionResult ReadUntil(const std::string &text,
                                         std::chrono::milliseconds timeout = kCliWait);
    // Terminal mode: types `bytes`.
    bool Type(const std::string &bytes);
    // Terminal mode: whether the terminal is in raw mode now (no line editing, no echo).
    bool TerminalIsRaw() const;
    // Reads the rest of the output and waits for the exit (killing it after `timeout`).
    // Returns the exit code, 128 + signal when killed by one, -1 when it did not exit.
    int Wait(std::string *out, std::string *err, std::chrono::milliseconds timeout = kCliWait);

  private:
    bool Fill(std::chrono::steady_clock::time_point deadline);

    pid_t pid_ = -1;
    int out_fd_ = -1;  // stdout pipe, or the terminal's master side
    bool on_terminal_ = false;
    std::string err_path_;
    std::string buffer_;
};

}  // namespace virtgrpc::testing
