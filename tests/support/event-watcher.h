// A WatchEvents stream read on its own thread, so a test can trigger something and then
// wait for the event it expects with a timeout, without blocking on Read.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "virtgrpc/v1/events.grpc.pb.h"

namespace virtgrpc::testing {

class EventWatcher {
  public:
    using Predicate = std::function<bool(const v1::DomainEvent &)>;

    // Opens the stream at once and starts reading.
    EventWatcher(const std::shared_ptr<grpc::Channel> &channel,
                 const v1::WatchEventsRequest &request);
    // Cancels the stream and joins the reader.
    ~EventWatcher();

    // The next message, or nullopt when none arrives within `timeout` (or the stream
    // ended).
    std::optional<v1::DomainEvent> Next(std::chrono::milliseconds timeout);

    // Reads messages until one satisfies `predicate` and returns it; nullopt after
    // `timeout`. Messages read on the way are kept in skipped().
    std::optional<v1::DomainEvent> WaitFor(const Predicate &predicate,
                                           std::chrono::milliseconds timeout);

    // The listing that opens a stream: the first message, which must be
    // `current_domains`.
    std::optional<v1::DomainEvent> WaitForListing(std::chrono::milliseconds timeout);

    // Waits until the stream has ended and returns its status (nullopt on timeout).
    std::optional<grpc::Status> Finished(std::chrono::milliseconds timeout);

    // Every message WaitFor skipped, oldest first.
    const std::vector<v1::DomainEvent> &skipped() const { return skipped_; }

    // A readable list of what was skipped, for failure messages.
    std::string DescribeSkipped() const;

    // Cancels the stream (as a client that goes away).
    void Cancel();

  private:
    void ReadAll();

    std::unique_ptr<v1::EventService::Stub> stub_;
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReader<v1::DomainEvent>> reader_;
    std::thread thread_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<v1::DomainEvent> received_;
    std::optional<grpc::Status> status_;
    std::vector<v1::DomainEvent> skipped_;
};

// Predicates for WaitFor.
EventWatcher::Predicate IsLifecycle(const std::string &domain_name, v1::LifecycleEventType type);
EventWatcher::Predicate IsKind(const std::string &domain_name, v1::DomainEvent::EventCase kind);

}  // namespace virtgrpc::testing
