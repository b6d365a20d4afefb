// Runs the real virtgrpcd binary for a test: on a free loopback port, against the
// libvirt URI given (a fresh test:///default per process, so every test fixture starts
// from libvirt's stock state), and stops it with SIGTERM at the end, checking that it
// exits cleanly.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace virtgrpc::testing {

class VirtgrpcdProcess {
  public:
    struct Options {
        std::string connect_uri = "test:///default";
        std::vector<std::string> extra_args;
    };

    // Starts the server and waits (up to 20 s) until it serves; fails the test
    // (ADD_FAILURE) and leaves target() empty when it does not.
    explicit VirtgrpcdProcess(const Options &options);
    VirtgrpcdProcess() : VirtgrpcdProcess(Options{}) {}
    ~VirtgrpcdProcess();

    VirtgrpcdProcess(const VirtgrpcdProcess &) = delete;
    VirtgrpcdProcess &operator=(const VirtgrpcdProcess &) = delete;

    // "127.0.0.1:PORT".
    const std::string &target() const { return target_; }
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }

    // Sends `signal` and waits up to `timeout` for the exit. Returns the exit code,
    // 128 + signal number when killed, or -1 when it did not exit in time (then it is
    // killed). Fails the test (ADD_FAILURE) when the server's log holds a sanitizer
    // report, whatever the exit status.
    int Stop(int signal, std::chrono::milliseconds timeout);

    // The server's stderr so far (its log), for failure messages.
    std::string Log() const;

    // Path of virtgrpcd in the test's runfiles.
    static std::string BinaryPath();

  private:
    // Fails the test when the server's log holds a sanitizer report (--config=asan).
    void CheckSanitizerReports() const;

    pid_t pid_ = -1;
    std::string target_;
    std::string log_path_;
};

}  // namespace virtgrpc::testing
