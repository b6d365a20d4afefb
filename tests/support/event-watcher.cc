#include "tests/support/event-watcher.h"

#include <sstream>

#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing {

v1::WatchEventsRequest WatchRequestFor(const std::string &domain,
                                       std::initializer_list<v1::EventKind> kinds) {
    v1::WatchEventsRequest request;
    if (!domain.empty())
        *request.add_domains() = RefByName(domain);
    for (v1::EventKind kind : kinds)
        request.add_kinds(kind);
    return request;
}

EventPredicate IsKind(v1::DomainEvent::EventCase payload) {
    return [payload](const v1::DomainEvent &event) { return event.event_case() == payload; };
}

EventWatcher::EventWatcher(const std::shared_ptr<grpc::Channel> &channel,
                           const v1::WatchEventsRequest &request)
    : stub_(v1::EventService::NewStub(channel)) {
    reader_ = stub_->WatchEvents(&context_, request);
    thread_ = std::thread([this] { Read(); });
}

EventWatcher::~EventWatcher() {
    context_.TryCancel();
    thread_.join();
}

void EventWatcher::Read() {
    v1::DomainEvent event;
    while (reader_->Read(&event)) {
        std::lock_guard<std::mutex> lock(mutex_);
        events_.push_back(event);
        changed_.notify_all();
    }
    grpc::Status status = reader_->Finish();
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
    status_ = status;
    changed_.notify_all();
}

::testing::AssertionResult EventWatcher::WaitForListingEnd(std::chrono::milliseconds timeout) {
    return WaitFor("current_state_end", IsKind(v1::DomainEvent::kCurrentStateEnd), timeout);
}

::testing::AssertionResult EventWatcher::WaitFor(const std::string &what,
                                                 const EventPredicate &predicate,
                                                 std::chrono::milliseconds timeout,
                                                 v1::DomainEvent *event, size_t *index,
                                                 size_t from) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mutex_);
    size_t next = from;
    bool timed_out = false;
    for (;;) {
        for (; next < events_.size(); next++) {
            if (predicate(events_[next])) {
                if (event)
                    *event = events_[next];
                if (index)
                    *index = next;
                return ::testing::AssertionSuccess();
            }
        }
        // After a timeout, the loop above had one last look.
        if (ended_ || timed_out)
            break;
        timed_out = changed_.wait_until(lock, deadline) == std::cv_status::timeout;
    }
    lock.unlock();
    return ::testing::AssertionFailure()
           << "no " << what << " within " << timeout.count() << " ms (from message #" << from
           << "); received:\n"
           << Describe();
}

std::vector<v1::DomainEvent> EventWatcher::Received() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
}

size_t EventWatcher::Count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_.size();
}

std::vector<v1::DomainEvent> EventWatcher::Matching(const EventPredicate &predicate) const {
    std::vector<v1::DomainEvent> matching;
    for (const v1::DomainEvent &event : Received())
        if (predicate(event))
            matching.push_back(event);
    return matching;
}

bool EventWatcher::Ended(grpc::Status *status) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (status)
        *status = status_;
    return ended_;
}

std::string EventWatcher::Describe() const {
    std::ostringstream out;
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < events_.size(); i++)
        out << "  #" << i << " " << events_[i].ShortDebugString() << "\n";
    if (ended_)
        out << "  (ended: " << ::virtgrpc::testing::Describe(status_) << ")\n";
    return out.str();
}

}  // namespace virtgrpc::testing
