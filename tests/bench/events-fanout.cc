// Event fan-out benchmark: N WatchEvents subscribers on one virtgrpcd (test:///default),
// a burst of E metadata changes, and for every delivery the latency from the moment the
// server received the event from libvirt (DomainEvent.time) to the moment the subscriber
// read it. Checks that every subscriber got every event, in order, and reports
// deliveries/s, latency p50/p99/max, and the server's RSS and CPU.
//
//   bazel run //tests/bench:events-fanout -- --subscribers=1000 --events=200
//   bazel run //tests/bench:events-fanout -- --subscribers=1000 --events=200 --rate=20
//
// A burst measures throughput (later events queue behind earlier ones); a paced run
// measures the latency of one event reaching every subscriber.
//
// Not a test: numbers depend on the machine; compare runs made on the same machine.
#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "tests/bench/process-sample.h"
#include "tests/support/virtgrpcd-process.h"
#include "virtgrpc/v1/domain.grpc.pb.h"
#include "virtgrpc/v1/events.grpc.pb.h"

namespace {

using namespace virtgrpc;
using bench::Percentile;
using bench::ProcessSample;
using bench::Sample;
using Clock = std::chrono::system_clock;

struct Options {
    int subscribers = 1000;
    int events = 200;
    int channels = 10; // subscribers are spread over this many HTTP/2 connections
    double rate = 0;   // events per second; 0: a burst, as fast as one client can
};

struct Subscriber {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientAsyncReader<v1::DomainEvent>> reader;
    v1::DomainEvent message;
    bool started = false;
    bool listed = false;
    uint64_t next_sequence = 1;
    int received = 0;
    bool out_of_order = false;
};

Options Parse(int argc, char **argv)
{
    static const option long_options[] = {
        {"subscribers", required_argument, nullptr, 's'},
        {"events", required_argument, nullptr, 'e'},
        {"channels", required_argument, nullptr, 'c'},
        {"rate", required_argument, nullptr, 'r'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    Options options;
    int opt;

    while ((opt = getopt_long(argc, argv, "s:e:c:r:h", long_options, nullptr)) != -1) {
        switch (opt) {
        case 's':
            options.subscribers = std::atoi(optarg);
            break;
        case 'e':
            options.events = std::atoi(optarg);
            break;
        case 'c':
            options.channels = std::atoi(optarg);
            break;
        case 'r':
            options.rate = std::atof(optarg);
            break;
        default:
            std::printf("usage: events-fanout [--subscribers=N] [--events=E] "
                        "[--channels=C] [--rate=EVENTS_PER_S]\n");
            std::exit(opt == 'h' ? 0 : 2);
        }
    }
    if (options.subscribers < 1 || options.events < 1 || options.channels < 1 ||
        options.rate < 0) {
        std::fprintf(stderr, "events-fanout: every count must be at least 1\n");
        std::exit(2);
    }
    return options;
}

} // namespace

int main(int argc, char **argv)
{
    Options options = Parse(argc, argv);
    // All subscribers connect from 127.0.0.1: one client to the per-client limits, which
    // would cap them; the bench plays many clients.
    testing::VirtgrpcdProcess::Options server_options;
    server_options.extra_args = {"--max-inflight-per-client=0", "--max-streams-per-client=0"};
    testing::VirtgrpcdProcess server(server_options);
    if (!server.running()) {
        std::fprintf(stderr, "events-fanout: virtgrpcd did not start\n%s", server.Log().c_str());
        return 1;
    }
    ProcessSample idle = Sample(server.pid());

    // Subscribers, spread over separate connections (a unique channel argument keeps
    // grpc++ from sharing one connection between them).
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    std::vector<std::unique_ptr<v1::EventService::Stub>> stubs;
    for (int i = 0; i < options.channels; i++) {
        grpc::ChannelArguments args;
        args.SetInt("virtgrpc.bench.channel", i);
        channels.push_back(grpc::CreateCustomChannel(server.target(),
                                                     grpc::InsecureChannelCredentials(), args));
        stubs.push_back(v1::EventService::NewStub(channels.back()));
    }
    v1::WatchEventsRequest request;
    request.add_kinds(v1::EVENT_KIND_METADATA_CHANGE);
    grpc::CompletionQueue queue;
    std::vector<std::unique_ptr<Subscriber>> subscribers(size_t(options.subscribers));
    for (int i = 0; i < options.subscribers; i++) {
        auto &sub = subscribers[size_t(i)];
        sub = std::make_unique<Subscriber>();
        sub->reader = stubs[size_t(i % options.channels)]->PrepareAsyncWatchEvents(
            &sub->context, request, &queue);
        sub->reader->StartCall(sub.get());
    }

    std::mutex latencies_lock;
    std::vector<double> latencies_ms;   // libvirt callback -> read
    std::vector<double> end_to_end_ms;  // SetDomainMetadata sent -> read
    latencies_ms.reserve(size_t(options.subscribers) * size_t(options.events));
    end_to_end_ms.reserve(size_t(options.subscribers) * size_t(options.events));
    // When the k-th metadata change was requested; the k-th event a subscriber reads is
    // its result (one domain, changes made one after the other).
    std::unique_ptr<std::atomic<int64_t>[]> triggered(new std::atomic<int64_t>[size_t(options.events)]);
    std::atomic<int> listed{0};
    std::atomic<long> delivered{0};
    std::atomic<int> ended{0};
    std::thread reader([&] {
        void *tag;
        bool ok;
        while (queue.Next(&tag, &ok)) {
            auto *sub = static_cast<Subscriber *>(tag);
            Clock::time_point now = Clock::now();
            if (!ok) {
                ended++;
                continue;
            }
            if (!sub->started) {
                sub->started = true;
            } else if (sub->message.event_case() == v1::DomainEvent::kCurrentDomains) {
                sub->listed = true;
                sub->next_sequence = sub->message.sequence() + 1;
                listed++;
            } else {
                auto sent = Clock::time_point(
                    std::chrono::duration_cast<Clock::duration>(
                        std::chrono::seconds(sub->message.time().seconds()) +
                        std::chrono::nanoseconds(sub->message.time().nanos())));
                double ms = std::chrono::duration<double, std::milli>(now - sent).count();
                if (sub->message.sequence() != sub->next_sequence)
                    sub->out_of_order = true;
                sub->next_sequence = sub->message.sequence() + 1;
                double e2e_ms = 0;
                if (sub->received < options.events) {
                    int64_t at = triggered[size_t(sub->received)].load();
                    e2e_ms = std::chrono::duration<double, std::milli>(
                                 now.time_since_epoch() - Clock::duration(at))
                                 .count();
                }
                sub->received++;
                {
                    std::lock_guard<std::mutex> lock(latencies_lock);
                    latencies_ms.push_back(ms);
                    end_to_end_ms.push_back(e2e_ms);
                }
                delivered++;
            }
            sub->reader->Read(&sub->message, sub);
        }
    });

    auto open_start = std::chrono::steady_clock::now();
    while (listed < options.subscribers && ended == 0 &&
           std::chrono::steady_clock::now() - open_start < std::chrono::seconds(60))
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    double open_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();
    if (listed < options.subscribers) {
        std::fprintf(stderr, "events-fanout: only %d of %d subscribers got their listing\n",
                     listed.load(), options.subscribers);
        return 1;
    }
    ProcessSample watching = Sample(server.pid());

    // The events: metadata changes, paced at --rate or as fast as one client can.
    auto domains = v1::DomainService::NewStub(grpc::CreateChannel(
        server.target(), grpc::InsecureChannelCredentials()));
    auto burst_start = std::chrono::steady_clock::now();
    for (int i = 0; i < options.events; i++) {
        if (options.rate > 0)
            std::this_thread::sleep_until(
                burst_start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(i / options.rate)));
        grpc::ClientContext context;
        v1::SetDomainMetadataRequest title;
        v1::Domain reply;
        title.mutable_domain()->set_name("test");
        title.set_type(v1::METADATA_TYPE_TITLE);
        title.set_metadata("burst " + std::to_string(i));
        triggered[size_t(i)] = Clock::now().time_since_epoch().count();
        grpc::Status status = domains->SetDomainMetadata(&context, title, &reply);
        if (!status.ok()) {
            std::fprintf(stderr, "events-fanout: SetDomainMetadata: %s\n",
                         status.error_message().c_str());
            return 1;
        }
    }
    double trigger_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - burst_start).count();
    long expected = long(options.subscribers) * options.events;
    while (delivered < expected &&
           std::chrono::steady_clock::now() - burst_start < std::chrono::seconds(120))
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    double burst_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - burst_start).count();
    ProcessSample after = Sample(server.pid());

    int incomplete = 0, disordered = 0;
    for (auto &sub : subscribers) {
        incomplete += sub->received != options.events;
        disordered += sub->out_of_order;
        sub->context.TryCancel();
    }
    std::vector<double> lat, e2e;
    {
        std::lock_guard<std::mutex> lock(latencies_lock);
        lat = latencies_ms;
        e2e = end_to_end_ms;
    }
    std::printf("subscribers            %d (over %d connections)\n", options.subscribers,
                options.channels);
    std::printf("events                 %d (triggered in %.3f s: %.0f events/s)\n",
                options.events, trigger_s, options.events / trigger_s);
    std::printf("deliveries             %ld of %ld in %.3f s: %.0f deliveries/s\n",
                delivered.load(), expected, burst_s, double(delivered.load()) / burst_s);
    std::printf("delivery latency       p50 %.2f ms, p99 %.2f ms, max %.2f ms "
                "(libvirt callback -> subscriber read)\n",
                Percentile(lat, 50), Percentile(lat, 99), Percentile(lat, 100));
    std::printf("end-to-end latency     p50 %.2f ms, p99 %.2f ms, max %.2f ms "
                "(change requested -> subscriber read)\n",
                Percentile(e2e, 50), Percentile(e2e, 99), Percentile(e2e, 100));
    std::printf("subscribers opened     %.3f s for all listings\n", open_s);
    std::printf("server RSS             idle %ld KiB, %d watchers %ld KiB (+%.1f KiB each), "
                "after burst %ld KiB, peak %ld KiB\n",
                idle.rss_kib, options.subscribers, watching.rss_kib,
                double(watching.rss_kib - idle.rss_kib) / options.subscribers, after.rss_kib,
                after.hwm_kib);
    std::printf("server CPU             %.3f s for the burst: %.2f us per delivery\n",
                after.cpu_s - watching.cpu_s,
                (after.cpu_s - watching.cpu_s) * 1e6 / double(std::max(1L, delivered.load())));
    std::printf("check                  %d subscribers missed events, %d saw a sequence gap\n",
                incomplete, disordered);

    queue.Shutdown();
    reader.join();
    return incomplete || disordered ? 1 : 0;
}
