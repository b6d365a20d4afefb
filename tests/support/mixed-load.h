// A load generator for fault tests: client threads that cycle through a mix of calls
// against one virtgrpcd — unary reads, define + undefine, calls that fail by design
// (unknown domain, malformed request), Health.Check, and streams opened then cancelled
// (WatchEvents, WatchDomainStats) — and record the outcome of every call, so a test can
// say which status codes appeared, when, and how long the slowest call took.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace virtgrpc::testing
{

struct CallOutcome {
    int thread;                // which load thread made it
    std::string kind;          // "GetDomainInfo", "WatchEvents", ...
    grpc::StatusCode expected; // what the call returns on a healthy server
    grpc::StatusCode code;     // what it returned
    std::string reason;        // ErrorInfo.reason, "" without one
    std::string message;
    std::chrono::steady_clock::time_point started;
    std::chrono::milliseconds latency;
};

class MixedLoad
{
  public:
    struct Options {
        int threads = 4;
        // Stop after this many calls in all (0: run until Stop()).
        int max_calls = 0;
        // Each call's deadline: a call that takes this long is a hang.
        std::chrono::milliseconds deadline{10000};
        // Unique per load, so two loads on one libvirt do not clash on domain names.
        std::string name_prefix = "load";
    };

    MixedLoad(std::shared_ptr<grpc::Channel> channel, Options options);
    // Stops and joins.
    ~MixedLoad();

    void Start();
    // Asks the threads to stop after their current call and joins them.
    void Stop();
    // Joins threads that stop by themselves (max_calls).
    void Wait();

    int
    calls() const
    {
        return calls_.load();
    }
    // A copy of every outcome so far, in completion order.
    std::vector<CallOutcome> outcomes();

  private:
    void Run(int thread);
    void Record(CallOutcome outcome);

    std::shared_ptr<grpc::Channel> channel_;
    Options options_;
    std::vector<std::thread> threads_;
    std::atomic<bool> stop_{false};
    std::atomic<int> calls_{0};
    std::atomic<int> claimed_{0};
    std::mutex mutex_;
    std::vector<CallOutcome> outcomes_;
};

// "GetDomainInfo OK 120, UNAVAILABLE 3; ListDomains OK 118" for failure messages.
std::string Summarize(const std::vector<CallOutcome> &outcomes);

} // namespace virtgrpc::testing
