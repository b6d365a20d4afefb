// A client in another process, to be killed mid-call: the test binary runs itself
// (/proc/self/exe) with a gtest filter that selects a "child" test, which reads what it
// should do from the environment, prints READY once its calls are in flight and then
// waits to be killed. SIGKILL drops its TCP connections with no gRPC goodbye.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>

namespace virtgrpc::testing
{

class ClientProcess
{
  public:
    // Runs this test binary with --gtest_filter=`filter` and `env` added to the
    // environment, and waits (up to `timeout`) for it to print READY; check ready().
    ClientProcess(const std::string &filter, const std::map<std::string, std::string> &env,
                  std::chrono::milliseconds timeout);
    // Kills it if still running.
    ~ClientProcess();

    bool
    ready() const
    {
        return ready_;
    }
    // What it printed before READY (or all of it when it never got ready).
    const std::string &
    output() const
    {
        return output_;
    }
    // SIGKILL and reap.
    void Kill();

    // In the child: tells the parent its calls are in flight, then sleeps until killed.
    static void SignalReadyAndWait();

  private:
    pid_t pid_ = -1;
    bool ready_ = false;
    std::string output_;
};

} // namespace virtgrpc::testing
