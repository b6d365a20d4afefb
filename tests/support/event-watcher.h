// A WatchEvents stream held open by a test: a thread reads every message into a list
// (with the time it arrived) while the test acts, and the test waits for the message it
// expects with a predicate. Failure messages list everything the stream delivered.
//
//   EventWatcher watcher(channel(), WatchRequestFor(name(), {v1::EVENT_KIND_REBOOT}));
//   ASSERT_TRUE(watcher.WaitForListingEnd(kEventTimeout));
//   ... act ...
//   v1::DomainEvent event;
//   ASSERT_TRUE(watcher.WaitFor("REBOOT", IsKind(v1::DomainEvent::kReboot), kEventTimeout,
//                               &event));
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "virtgrpc/v1/events.grpc.pb.h"

namespace virtgrpc::testing {

// How long a live event may take from the action that causes it to the watcher: "a few
// seconds", with room for a loaded host.
constexpr std::chrono::milliseconds kEventTimeout{5000};

// A request for the events of the domain called `domain` (all domains when empty), of
// `kinds` (all when empty).
v1::WatchEventsRequest WatchRequestFor(const std::string &domain,
                                       std::initializer_list<v1::EventKind> kinds = {});

using EventPredicate = std::function<bool(const v1::DomainEvent &)>;

// Matches messages whose payload is `payload` (e.g. v1::DomainEvent::kReboot).
EventPredicate IsKind(v1::DomainEvent::EventCase payload);

class EventWatcher {
  public:
    EventWatcher(const std::shared_ptr<grpc::Channel> &channel,
                 const v1::WatchEventsRequest &request);
    // Cancels the stream and waits for the reading thread.
    ~EventWatcher();

    EventWatcher(const EventWatcher &) = delete;
    EventWatcher &operator=(const EventWatcher &) = delete;

    // Waits for the `current_state_end` that ends the listing the stream opens with
    // (after which the server delivers live events).
    ::testing::AssertionResult WaitForListingEnd(std::chrono::milliseconds timeout);

    // Waits until a message at position `from` or later matches `predicate`; `event`
    // receives it and `index` (optional) its position. `what` names it in the failure
    // message, which lists every message received.
    ::testing::AssertionResult WaitFor(const std::string &what, const EventPredicate &predicate,
                                       std::chrono::milliseconds timeout,
                                       v1::DomainEvent *event = nullptr, size_t *index = nullptr,
                                       size_t from = 0);

    // Everything received so far.
    std::vector<v1::DomainEvent> Received() const;
    // How many messages so far: a position to wait `from`.
    size_t Count() const;
    // The messages matching `predicate` so far.
    std::vector<v1::DomainEvent> Matching(const EventPredicate &predicate) const;
    // Whether the stream ended; `status` receives its status.
    bool Ended(grpc::Status *status = nullptr) const;
    // One line per message received, for failure messages.
    std::string Describe() const;

  private:
    void Read();

    std::unique_ptr<v1::EventService::Stub> stub_;
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReader<v1::DomainEvent>> reader_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<v1::DomainEvent> events_;
    bool ended_ = false;
    grpc::Status status_;
    std::thread thread_;
};

}  // namespace virtgrpc::testing
