// What the fault tests share: a virtgrpcd connected to a PrivateLibvirtd (which the test
// kills, hangs and restarts), a Health.Watch log, the server's RSS, and probes that
// prove from the outside that the server holds no call or stream it should have
// released: every --max-inflight slot and every --max-streams slot can be taken again.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/private-libvirtd.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing
{

// The server's resident set size in KiB (VmRSS), 0 when it cannot be read.
long RssKiB(pid_t pid);

// Health.Watch("") read on its own thread: every status with the time it arrived.
class HealthLog
{
  public:
    using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;

    explicit HealthLog(const std::shared_ptr<grpc::Channel> &channel);
    ~HealthLog();

    // Waits until `status` arrives after the `seen`-th message; returns its index or -1.
    int WaitFor(Status status, size_t seen, std::chrono::milliseconds timeout);
    size_t size();
    std::chrono::steady_clock::time_point ArrivedAt(size_t index);

  private:
    std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>> reader_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::pair<Status, std::chrono::steady_clock::time_point>> seen_;
};

// Keeps the private libvirtd a base class, so it runs before ServerTest starts the
// server that connects to it.
class WithPrivateLibvirtd
{
  protected:
    PrivateLibvirtd libvirtd_;
};

class LibvirtdFaultTest : public WithPrivateLibvirtd, public ServerTest
{
  protected:
    // Above what the load's threads can have admitted at once (a finished call frees
    // its slot a moment after its client has the answer), within the workers.
    static constexpr int kMaxInflight = 16;
    static constexpr int kMaxStreams = 16;

    // Keepalive: a probe after 1 s of silence, dead after 2 unanswered (about 3 s).
    explicit LibvirtdFaultTest(std::vector<std::string> extra_args = {});

    void SetUp() override;

    // Hangs libvirtd, holds kMaxInflight unary calls inside it, checks that one more is
    // refused RESOURCE_EXHAUSTED (all slots were free and are now taken), resumes and
    // checks that the held calls end with OK or UNAVAILABLE (keepalive). A call leaked
    // by the server would keep a slot, and one of the held calls would be refused.
    void ExpectEveryInflightSlotFree();

    // Opens WatchEvents streams until kMaxStreams are open (counting `already_open`
    // held by the test), checks the next one is refused RESOURCE_EXHAUSTED, and closes
    // them. Retries for `timeout` while slots are still being released.
    void ExpectEveryStreamSlotFree(int already_open, std::chrono::milliseconds timeout);
};

} // namespace virtgrpc::testing
