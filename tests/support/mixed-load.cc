#include "tests/support/mixed-load.h"

#include <sstream>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/domain.grpc.pb.h"
#include "virtgrpc/v1/events.grpc.pb.h"
#include "virtgrpc/v1/stats.grpc.pb.h"

namespace virtgrpc::testing
{
namespace
{

using Clock = std::chrono::steady_clock;
using grpc::StatusCode;

struct Stubs {
    explicit Stubs(const std::shared_ptr<grpc::Channel> &channel)
        : domains(v1::DomainService::NewStub(channel)),
          events(v1::EventService::NewStub(channel)),
          stats(v1::StatsService::NewStub(channel)),
          health(grpc::health::v1::Health::NewStub(channel))
    {
    }
    std::unique_ptr<v1::DomainService::Stub> domains;
    std::unique_ptr<v1::EventService::Stub> events;
    std::unique_ptr<v1::StatsService::Stub> stats;
    std::unique_ptr<grpc::health::v1::Health::Stub> health;
};

// A server stream: the first message, then cancelled as a client that goes away. The
// outcome is OK when the first message arrived, else the stream's status.
template <typename Reader, typename Message>
grpc::Status
FirstMessageThenCancel(grpc::ClientContext *context, Reader reader)
{
    Message message;
    if (reader->Read(&message)) {
        context->TryCancel();
        reader->Finish();
        return grpc::Status::OK;
    }
    return reader->Finish();
}

} // namespace

MixedLoad::MixedLoad(std::shared_ptr<grpc::Channel> channel, Options options)
    : channel_(std::move(channel)), options_(std::move(options))
{
}

MixedLoad::~MixedLoad()
{
    Stop();
}

void
MixedLoad::Start()
{
    for (int i = 0; i < options_.threads; i++)
        threads_.emplace_back([this, i] { Run(i); });
}

void
MixedLoad::Stop()
{
    stop_ = true;
    Wait();
}

void
MixedLoad::Wait()
{
    for (auto &thread : threads_)
        thread.join();
    threads_.clear();
}

std::vector<CallOutcome>
MixedLoad::outcomes()
{
    std::lock_guard<std::mutex> lock(mutex_);
    return outcomes_;
}

void
MixedLoad::Record(CallOutcome outcome)
{
    std::lock_guard<std::mutex> lock(mutex_);
    outcomes_.push_back(std::move(outcome));
    calls_++;
}

void
MixedLoad::Run(int thread)
{
    Stubs stubs(channel_);
    const std::string own = options_.name_prefix + "-" + std::to_string(getpid()) + "-" +
                            std::to_string(thread);
    int defined = 0;

    for (int step = 0; !stop_; step++) {
        if (options_.max_calls && claimed_.fetch_add(1) >= options_.max_calls)
            break;
        grpc::ClientContext context;
        // A stream's first message may wait for libvirt to come back: give up sooner.
        const bool is_stream = step % 12 == 9 || step % 12 == 10;
        context.set_deadline(
            std::chrono::system_clock::now() +
            (is_stream ? std::min(options_.deadline, std::chrono::milliseconds(2000))
                       : options_.deadline));
        CallOutcome outcome;
        outcome.thread = thread;
        outcome.started = Clock::now();
        outcome.expected = StatusCode::OK;
        grpc::Status status;

        switch (step % 12) {
        case 0: {
            v1::GetDomainInfoRequest request;
            *request.mutable_domain() = RefByName(kStockDomainName);
            v1::DomainInfo reply;
            outcome.kind = "GetDomainInfo";
            status = stubs.domains->GetDomainInfo(&context, request, &reply);
            break;
        }
        case 1: {
            v1::ListDomainsRequest request;
            v1::ListDomainsResponse reply;
            outcome.kind = "ListDomains";
            status = stubs.domains->ListDomains(&context, request, &reply);
            break;
        }
        case 2: {
            v1::GetDomainXMLRequest request;
            *request.mutable_domain() = RefByName(kStockDomainName);
            v1::GetDomainXMLResponse reply;
            outcome.kind = "GetDomainXML";
            status = stubs.domains->GetDomainXML(&context, request, &reply);
            break;
        }
        case 3: {
            v1::GetDomainRequest request;
            *request.mutable_domain() = RefByName(own + "-never-defined");
            v1::Domain reply;
            outcome.kind = "GetDomain(unknown)";
            outcome.expected = StatusCode::NOT_FOUND;
            status = stubs.domains->GetDomain(&context, request, &reply);
            break;
        }
        case 4: {
            v1::DefineDomainRequest request;
            request.set_xml(MinimalDomainXml(own + "-" + std::to_string(defined)));
            v1::Domain reply;
            outcome.kind = "DefineDomain";
            status = stubs.domains->DefineDomain(&context, request, &reply);
            break;
        }
        case 5: {
            v1::UndefineDomainRequest request;
            *request.mutable_domain() = RefByName(own + "-" + std::to_string(defined++));
            v1::Domain reply;
            outcome.kind = "UndefineDomain";
            status = stubs.domains->UndefineDomain(&context, request, &reply);
            break;
        }
        case 6: {
            v1::GetDomainInfoRequest request; // no domain: rejected before libvirt
            v1::DomainInfo reply;
            outcome.kind = "GetDomainInfo(no domain)";
            outcome.expected = StatusCode::INVALID_ARGUMENT;
            status = stubs.domains->GetDomainInfo(&context, request, &reply);
            break;
        }
        case 7: {
            v1::GetDomainStateRequest request;
            *request.mutable_domain() = RefByName(kStockDomainName);
            v1::DomainStateInfo reply;
            outcome.kind = "GetDomainState";
            status = stubs.domains->GetDomainState(&context, request, &reply);
            break;
        }
        case 8: {
            grpc::health::v1::HealthCheckRequest request;
            grpc::health::v1::HealthCheckResponse reply;
            outcome.kind = "Health.Check";
            status = stubs.health->Check(&context, request, &reply);
            break;
        }
        case 9: {
            v1::WatchEventsRequest request;
            outcome.kind = "WatchEvents";
            status = FirstMessageThenCancel<
                decltype(stubs.events->WatchEvents(&context, request)), v1::DomainEvent>(
                &context, stubs.events->WatchEvents(&context, request));
            break;
        }
        case 10: {
            v1::WatchDomainStatsRequest request;
            *request.add_domains() = RefByName(kStockDomainName);
            request.set_interval_ms(100);
            outcome.kind = "WatchDomainStats";
            status = FirstMessageThenCancel<decltype(stubs.stats->WatchDomainStats(
                                                &context, request)),
                                            v1::DomainStatsSample>(
                &context, stubs.stats->WatchDomainStats(&context, request));
            break;
        }
        default: {
            v1::GetAllDomainStatsRequest request;
            v1::GetAllDomainStatsResponse reply;
            outcome.kind = "GetAllDomainStats";
            status = stubs.stats->GetAllDomainStats(&context, request, &reply);
            break;
        }
        }
        outcome.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
            Clock::now() - outcome.started);
        outcome.code = status.error_code();
        outcome.message = status.error_message();
        if (auto info = ErrorInfoOf(status))
            outcome.reason = info->reason();
        Record(std::move(outcome));
    }
}

std::string
Summarize(const std::vector<CallOutcome> &outcomes)
{
    std::map<std::string, std::map<std::string, int>> counts;
    for (const auto &o : outcomes)
        counts[o.kind][StatusCodeName(o.code) + (o.reason.empty() ? "" : "/" + o.reason)]++;
    std::ostringstream text;
    for (const auto &[kind, by_code] : counts) {
        text << kind << ":";
        for (const auto &[code, n] : by_code)
            text << " " << code << " " << n;
        text << "\n";
    }
    return text.str();
}

} // namespace virtgrpc::testing
