// Unary RPC benchmark: one virtgrpcd (test:///default) and, in the same run, the peers
// for GetDomainInfo: a direct in-process libvirt call (the floor) and libvirt's own
// remote protocol to libvirtd serving the test driver (test+unix:///default).
//
//   bazel run //tests/bench:rpc-bench -- --seconds=3 --rounds=3
//   bazel run //tests/bench:rpc-bench -- --concurrency=1,8,64 --domains=1000
//
// For every case and concurrency C: C threads, each with its own connection (gRPC channel
// or virConnectPtr) and a handle prepared before the clock starts, call back to back for
// --seconds. Reported: calls/s, latency p50 / p99, CPU per call of the process that does
// the work (virtgrpcd; libvirtd for the remote peer; this process for the in-process
// call), read from /proc/PID/stat over the run, and that process's RSS.
//
// On a 2-core machine the load generator itself eats a core, so QPS says little: the cost
// figure is server CPU per call, the latency figure is the concurrency-1 p50. Rounds are
// interleaved (every case once per round) and the table shows medians over rounds.
//
// ListDomains and GetAllDomainStats run after --domains domains have been defined through
// the API (and started, so the stats are those of running domains).
//
// Not a test: numbers depend on the machine; compare ratios from one run. Exits non-zero
// when any call failed.
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/bench/process-sample.h"
#include "tests/support/virtgrpcd-process.h"
#include "virtgrpc/v1/domain.grpc.pb.h"
#include "virtgrpc/v1/stats.grpc.pb.h"

namespace {

using namespace virtgrpc;
using Steady = std::chrono::steady_clock;

struct Options {
    double seconds = 2;
    int rounds = 1;
    int domains = 1000;
    std::vector<int> concurrency = {1, 8, 64};
    bool peers = true;
    std::string qemu_domain; // a running guest on qemu:///system, or empty
};

// One call of a case, made by one thread on its own connection; false when it failed.
using Call = std::function<bool()>;
// Makes a thread's Call (connection, handle) before the clock starts; empty on failure.
using MakeCall = std::function<Call(int thread)>;

struct Case {
    std::string name;
    std::string cost_of; // whose CPU is measured: "virtgrpcd", "libvirtd", "in-process"
    pid_t pid;           // that process
    MakeCall make;
    pid_t libvirtd = -1; // also sampled: libvirtd's CPU per call behind the gateway
};

struct Result {
    long calls = 0;
    long errors = 0;
    double qps = 0;
    double p50_us = 0;
    double p99_us = 0;
    double cpu_us_per_call = 0;
    double libvirtd_us_per_call = -1; // -1: not sampled
    double rss_mib = 0;
};

using bench::Percentile;
using bench::ProcessSample;
using bench::Sample;

double Median(std::vector<double> values)
{
    return Percentile(values, 50);
}

// Runs `concurrency` threads of one case for `seconds` and measures it.
Result Measure(const Case &c, int concurrency, double seconds)
{
    std::vector<Call> calls;
    Result result;
    for (int t = 0; t < concurrency; t++) {
        calls.push_back(c.make(t));
        if (!calls.back()) {
            result.errors = 1;
            return result;
        }
    }
    // One warm-up call per thread: connections are up before the clock starts.
    for (auto &call : calls)
        if (!call())
            result.errors++;

    std::vector<std::vector<double>> latencies(static_cast<size_t>(concurrency));
    std::vector<long> errors(size_t(concurrency), 0);
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    Steady::time_point end;
    for (int t = 0; t < concurrency; t++) {
        threads.emplace_back([&, t] {
            auto &mine = latencies[size_t(t)];
            mine.reserve(1 << 16);
            while (!go.load())
                std::this_thread::yield();
            for (;;) {
                auto start = Steady::now();
                if (start >= end)
                    break;
                if (!calls[size_t(t)]())
                    errors[size_t(t)]++;
                mine.push_back(
                    std::chrono::duration<double, std::micro>(Steady::now() - start).count());
            }
        });
    }
    ProcessSample before = Sample(c.pid);
    ProcessSample libvirtd_before = Sample(c.libvirtd > 0 ? c.libvirtd : c.pid);
    auto start = Steady::now();
    end = start + std::chrono::duration_cast<Steady::duration>(
                      std::chrono::duration<double>(seconds));
    go = true;
    for (auto &thread : threads)
        thread.join();
    double wall_s = std::chrono::duration<double>(Steady::now() - start).count();
    ProcessSample after = Sample(c.pid);
    ProcessSample libvirtd_after = Sample(c.libvirtd > 0 ? c.libvirtd : c.pid);

    std::vector<double> all;
    for (auto &mine : latencies)
        all.insert(all.end(), mine.begin(), mine.end());
    for (long e : errors)
        result.errors += e;
    result.calls = long(all.size());
    result.qps = double(result.calls) / wall_s;
    result.p50_us = Percentile(all, 50);
    result.p99_us = Percentile(all, 99);
    result.cpu_us_per_call = (after.cpu_s - before.cpu_s) * 1e6 / double(std::max(1L, result.calls));
    if (c.libvirtd > 0)
        result.libvirtd_us_per_call = (libvirtd_after.cpu_s - libvirtd_before.cpu_s) * 1e6 /
                                      double(std::max(1L, result.calls));
    result.rss_mib = double(after.rss_kib) / 1024.0;
    return result;
}

// A gRPC channel of its own for every thread (a unique channel argument keeps grpc++
// from sharing one connection between them).
std::shared_ptr<grpc::Channel> ThreadChannel(const std::string &target, int thread)
{
    grpc::ChannelArguments args;
    args.SetInt("virtgrpc.bench.channel", thread);
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// A Call for a unary RPC of `Service`: Request and Reply are made once per thread.
template <typename Service, typename Request, typename Reply>
MakeCall Unary(const std::string &target, Request request,
               grpc::Status (Service::Stub::*method)(grpc::ClientContext *, const Request &,
                                                     Reply *))
{
    return [target, request, method](int thread) -> Call {
        std::shared_ptr<typename Service::Stub> stub =
            Service::NewStub(ThreadChannel(target, thread));
        auto reply = std::make_shared<Reply>();
        return [stub, request, method, reply] {
            grpc::ClientContext context;
            context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
            return (stub.get()->*method)(&context, request, reply.get()).ok();
        };
    };
}

// A Call that does virDomainGetInfo on domain `name` of its own connection to `uri`; the
// domain handle is looked up once, as a libvirt C client would keep it.
MakeCall LibvirtGetInfo(const std::string &uri, const std::string &name = "test")
{
    return [uri, name](int) -> Call {
        virConnectPtr conn = virConnectOpen(uri.c_str());
        if (!conn) {
            std::fprintf(stderr, "rpc-bench: virConnectOpen(%s): %s\n", uri.c_str(),
                         virGetLastErrorMessage());
            return nullptr;
        }
        virDomainPtr dom = virDomainLookupByName(conn, name.c_str());
        if (!dom) {
            std::fprintf(stderr, "rpc-bench: %s: no domain '%s': %s\n", uri.c_str(),
                         name.c_str(), virGetLastErrorMessage());
            virConnectClose(conn);
            return nullptr;
        }
        // Closed when the last copy of the Call goes away.
        std::shared_ptr<virDomain> handle(dom, [conn](virDomainPtr d) {
            virDomainFree(d);
            virConnectClose(conn);
        });
        return [handle] {
            virDomainInfo info;
            return virDomainGetInfo(handle.get(), &info) == 0;
        };
    };
}

pid_t LibvirtdPid()
{
    std::ifstream file("/run/libvirtd.pid");
    long pid = 0;
    if (file >> pid && pid > 0 && kill(pid_t(pid), 0) == 0)
        return pid_t(pid);
    return -1;
}

// Defines (and starts) `count` domains "bench-N" through the API.
bool DefineDomains(const std::string &target, int count)
{
    auto stub = v1::DomainService::NewStub(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    for (int i = 0; i < count; i++) {
        std::string name = "bench-" + std::to_string(i);
        v1::DefineDomainRequest define;
        define.set_xml("<domain type='test'><name>" + name +
                       "</name><memory>8192</memory><vcpu>1</vcpu>"
                       "<os><type>hvm</type></os></domain>");
        v1::Domain domain;
        grpc::ClientContext define_context;
        grpc::Status status = stub->DefineDomain(&define_context, define, &domain);
        if (!status.ok()) {
            std::fprintf(stderr, "rpc-bench: DefineDomain %s: %s\n", name.c_str(),
                         status.error_message().c_str());
            return false;
        }
        v1::StartDomainRequest start;
        start.mutable_domain()->set_name(name);
        grpc::ClientContext start_context;
        status = stub->StartDomain(&start_context, start, &domain);
        if (!status.ok()) {
            std::fprintf(stderr, "rpc-bench: StartDomain %s: %s\n", name.c_str(),
                         status.error_message().c_str());
            return false;
        }
    }
    return true;
}

std::vector<int> ParseList(const char *text)
{
    std::vector<int> values;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        values.push_back(std::atoi(item.c_str()));
    return values;
}

Options Parse(int argc, char **argv)
{
    static const option long_options[] = {
        {"seconds", required_argument, nullptr, 's'},
        {"rounds", required_argument, nullptr, 'r'},
        {"domains", required_argument, nullptr, 'd'},
        {"concurrency", required_argument, nullptr, 'c'},
        {"no-peers", no_argument, nullptr, 'n'},
        {"qemu-domain", required_argument, nullptr, 'q'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    Options options;
    int opt;

    while ((opt = getopt_long(argc, argv, "s:r:d:c:nh", long_options, nullptr)) != -1) {
        switch (opt) {
        case 's':
            options.seconds = std::atof(optarg);
            break;
        case 'r':
            options.rounds = std::atoi(optarg);
            break;
        case 'd':
            options.domains = std::atoi(optarg);
            break;
        case 'c':
            options.concurrency = ParseList(optarg);
            break;
        case 'n':
            options.peers = false;
            break;
        case 'q':
            options.qemu_domain = optarg;
            break;
        default:
            std::printf("usage: rpc-bench [--seconds=S] [--rounds=R] [--domains=N] "
                        "[--concurrency=1,8,64] [--no-peers] "
                        "[--qemu-domain=RUNNING_GUEST]\n");
            std::exit(opt == 'h' ? 0 : 2);
        }
    }
    bool bad = options.seconds <= 0 || options.rounds < 1 || options.domains < 0 ||
               options.concurrency.empty();
    for (int c : options.concurrency)
        bad = bad || c < 1;
    if (bad) {
        std::fprintf(stderr, "rpc-bench: --seconds, --rounds and every concurrency must be "
                             "positive\n");
        std::exit(2);
    }
    return options;
}

void SilentLibvirtErrors(void *, virErrorPtr) {}

// The server as the bench runs it: per-client limits off (see main).
testing::VirtgrpcdProcess::Options BenchServerOptions(const std::string &uri)
{
    testing::VirtgrpcdProcess::Options options;
    options.connect_uri = uri;
    options.extra_args = {"--max-inflight-per-client=0", "--max-streams-per-client=0"};
    return options;
}

} // namespace

int main(int argc, char **argv)
{
    Options options = Parse(argc, argv);
    virSetErrorFunc(nullptr, SilentLibvirtErrors);
    // Every load thread connects from 127.0.0.1, i.e. is one client to the per-client
    // limits (server/transport/admission.h); the bench plays many clients, so they are off.
    testing::VirtgrpcdProcess server(BenchServerOptions("test:///default"));
    if (!server.running()) {
        std::fprintf(stderr, "rpc-bench: virtgrpcd did not start\n%s", server.Log().c_str());
        return 1;
    }
    const std::string &target = server.target();
    pid_t self = getpid();

    v1::DomainRef test;
    test.set_name("test");
    v1::GetDomainInfoRequest info;
    *info.mutable_domain() = test;
    v1::GetDomainStateRequest state;
    *state.mutable_domain() = test;

    std::vector<Case> small = {
        {"Health.Check", "virtgrpcd", server.pid(),
         Unary<grpc::health::v1::Health>(target, grpc::health::v1::HealthCheckRequest(),
                                          &grpc::health::v1::Health::Stub::Check)},
        {"GetDomainInfo", "virtgrpcd", server.pid(),
         Unary<v1::DomainService>(target, info, &v1::DomainService::Stub::GetDomainInfo)},
        {"GetDomainState", "virtgrpcd", server.pid(),
         Unary<v1::DomainService>(target, state, &v1::DomainService::Stub::GetDomainState)},
    };
    if (options.peers) {
        small.push_back({"libvirt in-process GetInfo", "in-process", self,
                         LibvirtGetInfo("test:///default")});
        pid_t libvirtd = LibvirtdPid();
        if (libvirtd > 0)
            small.push_back({"libvirtd remote GetInfo", "libvirtd", libvirtd,
                             LibvirtGetInfo("test+unix:///default")});
        else
            std::fprintf(stderr, "rpc-bench: no libvirtd (/run/libvirtd.pid): remote peer "
                                 "skipped\n");
    }
    // Against a real hypervisor: a second virtgrpcd on qemu:///system, next to a C client
    // of libvirtd holding the guest's handle (the job the gateway must not slow by more
    // than 25%). Both cost libvirtd CPU, sampled for both.
    std::unique_ptr<testing::VirtgrpcdProcess> qemu_server;
    if (!options.qemu_domain.empty()) {
        pid_t libvirtd = LibvirtdPid();
        qemu_server =
            std::make_unique<testing::VirtgrpcdProcess>(BenchServerOptions("qemu:///system"));
        if (!qemu_server->running() || libvirtd <= 0) {
            std::fprintf(stderr, "rpc-bench: no virtgrpcd on qemu:///system or no libvirtd\n%s",
                         qemu_server->Log().c_str());
            return 1;
        }
        v1::GetDomainInfoRequest guest_info;
        guest_info.mutable_domain()->set_name(options.qemu_domain);
        v1::GetDomainStateRequest guest_state;
        guest_state.mutable_domain()->set_name(options.qemu_domain);
        const std::string &qemu_target = qemu_server->target();
        small.push_back({"qemu GetDomainInfo", "virtgrpcd", qemu_server->pid(),
                         Unary<v1::DomainService>(qemu_target, guest_info,
                                                  &v1::DomainService::Stub::GetDomainInfo),
                         libvirtd});
        small.push_back({"qemu GetDomainState", "virtgrpcd", qemu_server->pid(),
                         Unary<v1::DomainService>(qemu_target, guest_state,
                                                  &v1::DomainService::Stub::GetDomainState),
                         libvirtd});
        small.push_back({"qemu direct C GetInfo", "libvirtd", libvirtd,
                         LibvirtGetInfo("qemu:///system", options.qemu_domain)});
    }
    std::vector<Case> large = {
        {"ListDomains (" + std::to_string(options.domains + 1) + ")", "virtgrpcd", server.pid(),
         Unary<v1::DomainService>(target, v1::ListDomainsRequest(),
                                  &v1::DomainService::Stub::ListDomains)},
        {"GetAllDomainStats (" + std::to_string(options.domains + 1) + ")", "virtgrpcd",
         server.pid(),
         Unary<v1::StatsService>(target, v1::GetAllDomainStatsRequest(),
                                 &v1::StatsService::Stub::GetAllDomainStats)},
    };

    // results[case][concurrency] = one Result per round.
    std::map<std::string, std::map<int, std::vector<Result>>> results;
    auto run_all = [&](const std::vector<Case> &cases) {
        for (int round = 0; round < options.rounds; round++)
            for (int c : options.concurrency)
                for (const Case &one : cases)
                    results[one.name][c].push_back(Measure(one, c, options.seconds));
    };
    run_all(small);
    if (!DefineDomains(target, options.domains))
        return 1;
    run_all(large);

    // The medians over rounds, in the order the cases were listed.
    std::vector<Case> all = small;
    all.insert(all.end(), large.begin(), large.end());
    std::map<std::string, std::map<int, Result>> median;
    long errors = 0;
    std::printf("%-28s %4s %8s %6s %9s %9s %9s %12s %-10s %8s %s\n", "case", "conc", "calls",
                "errors", "calls/s", "p50 us", "p99 us", "CPU us/call", "(of)", "RSS MiB",
                "libvirtd us/call");
    for (const Case &one : all) {
        for (int c : options.concurrency) {
            auto &rounds = results[one.name][c];
            std::vector<double> calls, qps, p50, p99, cpu, rss, behind;
            Result m;
            for (const Result &r : rounds) {
                calls.push_back(double(r.calls));
                qps.push_back(r.qps);
                p50.push_back(r.p50_us);
                p99.push_back(r.p99_us);
                cpu.push_back(r.cpu_us_per_call);
                rss.push_back(r.rss_mib);
                behind.push_back(r.libvirtd_us_per_call);
                m.errors += r.errors;
            }
            m.calls = long(Median(calls));
            m.qps = Median(qps);
            m.p50_us = Median(p50);
            m.p99_us = Median(p99);
            m.cpu_us_per_call = Median(cpu);
            m.rss_mib = Median(rss);
            m.libvirtd_us_per_call = Median(behind);
            median[one.name][c] = m;
            errors += m.errors;
            std::printf("%-28s %4d %8ld %6ld %9.0f %9.1f %9.1f %12.1f %-10s %8.1f",
                        one.name.c_str(), c, m.calls, m.errors, m.qps, m.p50_us, m.p99_us,
                        m.cpu_us_per_call, one.cost_of.c_str(), m.rss_mib);
            if (m.libvirtd_us_per_call >= 0)
                std::printf(" %10.1f", m.libvirtd_us_per_call);
            std::printf("\n");
        }
    }
    std::printf("(medians over %d interleaved round(s) of %.1f s per case and concurrency)\n",
                options.rounds, options.seconds);

    // The targets, as ratios within this run.
    std::printf("\ntargets (issue #9)\n");
    auto &health = median["Health.Check"];
    auto &get_info = median["GetDomainInfo"];
    for (int c : options.concurrency) {
        if (c == 1)
            continue;
        double ratio = get_info[c].cpu_us_per_call / std::max(1e-9, health[c].cpu_us_per_call);
        std::printf("c=%-3d GetDomainInfo / Health.Check server CPU per call   %5.2fx "
                    "(target <= 1.5x) %s\n",
                    c, ratio, ratio <= 1.5 ? "met" : "NOT met");
        if (median.count("libvirtd remote GetInfo")) {
            double peer = median["libvirtd remote GetInfo"][c].cpu_us_per_call;
            double vs = get_info[c].cpu_us_per_call / std::max(1e-9, peer);
            std::printf("c=%-3d GetDomainInfo virtgrpcd CPU / libvirtd CPU per GetInfo %5.2fx "
                        "(target <= 0.6x) %s\n",
                        c, vs, vs <= 0.6 ? "met" : "NOT met");
        }
    }
    if (health.count(1)) {
        double ratio = get_info[1].p50_us / std::max(1e-9, health[1].p50_us);
        std::printf("c=1   GetDomainInfo / Health.Check p50                    %5.2fx "
                    "(target <= 1.3x) %s\n",
                    ratio, ratio <= 1.3 ? "met" : "NOT met");
        for (const Case &one : large)
            if (one.name.rfind("ListDomains", 0) == 0) {
                double p50_ms = median[one.name][1].p50_us / 1000.0;
                std::printf("c=1   %s p50 %.2f ms (target < 10 ms) %s\n", one.name.c_str(),
                            p50_ms, p50_ms < 10 ? "met" : "NOT met");
            }
    }
    if (median.count("qemu direct C GetInfo")) {
        for (int c : options.concurrency) {
            double gateway = median["qemu GetDomainInfo"][c].p50_us;
            double direct = median["qemu direct C GetInfo"][c].p50_us;
            double ratio = gateway / std::max(1e-9, direct);
            std::printf("c=%-3d qemu GetDomainInfo p50 / direct C client GetInfo p50 %5.2fx "
                        "(target <= 1.25x) %s\n",
                        c, ratio, ratio <= 1.25 ? "met" : "NOT met");
        }
    }
    std::printf("\nerrors                 %ld\n", errors);
    return errors ? 1 : 0;
}
