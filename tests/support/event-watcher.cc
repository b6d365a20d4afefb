#include "tests/support/event-watcher.h"

#include <google/protobuf/text_format.h>

namespace virtgrpc::testing {

EventWatcher::EventWatcher(const std::shared_ptr<grpc::Channel> &channel,
                           const v1::WatchEventsRequest &request)
    : stub_(v1::EventService::NewStub(channel))
{
    reader_ = stub_->WatchEvents(&context_, request);
    thread_ = std::thread([this] { ReadAll(); });
}

EventWatcher::~EventWatcher()
{
    Cancel();
    thread_.join();
}

void
EventWatcher::Cancel()
{
    context_.TryCancel();
}

void
EventWatcher::ReadAll()
{
    v1::DomainEvent event;

    while (reader_->Read(&event)) {
        std::lock_guard<std::mutex> lock(mutex_);
        received_.push_back(event);
        changed_.notify_all();
    }
    grpc::Status status = reader_->Finish();
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = status;
    changed_.notify_all();
}

std::optional<v1::DomainEvent>
EventWatcher::Next(std::chrono::milliseconds timeout)
{
    std::unique_lock<std::mutex> lock(mutex_);

    if (!changed_.wait_for(lock, timeout, [this] { return !received_.empty() || status_; }) ||
        received_.empty()) {
        return std::nullopt;
    }
    v1::DomainEvent event = received_.front();
    received_.pop_front();
    return event;
}

std::optional<v1::DomainEvent>
EventWatcher::WaitFor(const Predicate &predicate, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;

    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        std::optional<v1::DomainEvent> event = Next(left);
        if (!event)
            return std::nullopt;
        if (predicate(*event))
            return event;
        skipped_.push_back(*event);
    }
}

std::optional<v1::DomainEvent>
EventWatcher::WaitForListing(std::chrono::milliseconds timeout)
{
    std::optional<v1::DomainEvent> first = Next(timeout);

    if (!first || first->event_case() != v1::DomainEvent::kCurrentDomains) {
        if (first)
            skipped_.push_back(*first);
        return std::nullopt;
    }
    return first;
}

std::optional<grpc::Status>
EventWatcher::Finished(std::chrono::milliseconds timeout)
{
    std::unique_lock<std::mutex> lock(mutex_);

    if (!changed_.wait_for(lock, timeout, [this] { return status_.has_value(); }))
        return std::nullopt;
    return status_;
}

std::string
EventWatcher::DescribeSkipped() const
{
    std::string text;

    for (const v1::DomainEvent &event : skipped_) {
        std::string one;

        google::protobuf::TextFormat::PrintToString(event, &one);
        text += "{ " + one + "}\n";
    }
    return text.empty() ? "(nothing)" : text;
}

EventWatcher::Predicate
IsLifecycle(const std::string &domain_name, v1::LifecycleEventType type)
{
    return [domain_name, type](const v1::DomainEvent &event) {
        return event.event_case() == v1::DomainEvent::kLifecycle &&
               event.domain().name() == domain_name && event.lifecycle().type() == type;
    };
}

EventWatcher::Predicate
IsKind(const std::string &domain_name, v1::DomainEvent::EventCase kind)
{
    return [domain_name, kind](const v1::DomainEvent &event) {
        return event.event_case() == kind && event.domain().name() == domain_name;
    };
}

}  // namespace virtgrpc::testing
