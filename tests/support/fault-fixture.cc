#include "tests/support/fault-fixture.h"

#include <fstream>
#include <sstream>

#include "virtgrpc/v1/events.grpc.pb.h"

namespace virtgrpc::testing
{

using namespace std::chrono_literals;

long
RssKiB(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    }
    return 0;
}

HealthLog::HealthLog(const std::shared_ptr<grpc::Channel> &channel)
    : stub_(grpc::health::v1::Health::NewStub(channel))
{
    grpc::health::v1::HealthCheckRequest request;
    reader_ = stub_->Watch(&context_, request);
    thread_ = std::thread([this] {
        grpc::health::v1::HealthCheckResponse response;
        while (reader_->Read(&response)) {
            std::lock_guard<std::mutex> lock(mutex_);
            seen_.emplace_back(response.status(), std::chrono::steady_clock::now());
            changed_.notify_all();
        }
        reader_->Finish();
    });
}

HealthLog::~HealthLog()
{
    context_.TryCancel();
    thread_.join();
}

int
HealthLog::WaitFor(Status status, size_t seen, std::chrono::milliseconds timeout)
{
    std::unique_lock<std::mutex> lock(mutex_);
    int found = -1;
    changed_.wait_for(lock, timeout, [&] {
        for (size_t i = seen; i < seen_.size(); i++) {
            if (seen_[i].first == status) {
                found = static_cast<int>(i);
                return true;
            }
        }
        return false;
    });
    return found;
}

size_t
HealthLog::size()
{
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_.size();
}

std::chrono::steady_clock::time_point
HealthLog::ArrivedAt(size_t index)
{
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_.at(index).second;
}

LibvirtdFaultTest::LibvirtdFaultTest(std::vector<std::string> extra_args)
    : ServerTest([&] {
          VirtgrpcdProcess::Options options{
              libvirtd_.test_uri(),
              {"--libvirt-keepalive-interval=1", "--libvirt-keepalive-count=2",
               "--max-inflight=" + std::to_string(kMaxInflight),
               "--max-streams=" + std::to_string(kMaxStreams), "--workers=24"}};
          options.extra_args.insert(options.extra_args.end(), extra_args.begin(),
                                    extra_args.end());
          return options;
      }())
{
}

void
LibvirtdFaultTest::SetUp()
{
    ASSERT_TRUE(libvirtd_.ok()) << libvirtd_.error();
    ServerTest::SetUp();
}

void
LibvirtdFaultTest::ExpectEveryInflightSlotFree()
{
    libvirtd_.Pause();
    std::vector<grpc::Status> held(kMaxInflight);
    std::vector<std::thread> threads;
    for (int i = 0; i < kMaxInflight; i++) {
        threads.emplace_back([this, &held, i] {
            v1::GetDomainInfoRequest request;
            *request.mutable_domain() = RefByName(kStockDomainName);
            v1::DomainInfo reply;
            held[i] =
                domains_->GetDomainInfo(ContextWithDeadline(30s).get(), request, &reply);
        });
    }
    // The held calls are inside the stopped libvirtd, where nothing can be observed: give
    // them time to get there (the keepalive ends them only after about 3 s).
    std::this_thread::sleep_for(1000ms);
    v1::GetDomainInfoRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::DomainInfo reply;
    grpc::Status refused =
        domains_->GetDomainInfo(ContextWithDeadline(5s).get(), request, &reply);
    libvirtd_.Resume();
    for (auto &thread : threads)
        thread.join();
    EXPECT_TRUE(FailedWith(refused, grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"))
        << "the server did not count " << kMaxInflight << " calls in flight";
    for (const auto &status : held) {
        EXPECT_TRUE(status.ok() || status.error_code() == grpc::StatusCode::UNAVAILABLE)
            << "a call held in libvirt: " << Describe(status)
            << " (RESOURCE_EXHAUSTED: a slot was still taken by an earlier call)";
    }
}

void
LibvirtdFaultTest::ExpectEveryStreamSlotFree(int already_open,
                                             std::chrono::milliseconds timeout)
{
    auto events = v1::EventService::NewStub(channel());
    struct Open {
        grpc::ClientContext context;
        std::unique_ptr<grpc::ClientReader<v1::DomainEvent>> reader;
    };
    std::vector<std::unique_ptr<Open>> open;
    grpc::Status last;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (already_open + static_cast<int>(open.size()) < kMaxStreams &&
           std::chrono::steady_clock::now() < deadline) {
        auto stream = std::make_unique<Open>();
        v1::WatchEventsRequest request;
        stream->reader = events->WatchEvents(&stream->context, request);
        v1::DomainEvent listing;
        if (stream->reader->Read(&listing)) {
            open.push_back(std::move(stream));
        } else {
            last = stream->reader->Finish();
            std::this_thread::sleep_for(50ms); // slots are released asynchronously
        }
    }
    EXPECT_EQ(already_open + static_cast<int>(open.size()), kMaxStreams)
        << "stream slots still taken after " << timeout.count()
        << " ms; last refusal: " << Describe(last);
    Open extra;
    v1::WatchEventsRequest request;
    extra.reader = events->WatchEvents(&extra.context, request);
    v1::DomainEvent listing;
    EXPECT_FALSE(extra.reader->Read(&listing));
    EXPECT_TRUE(FailedWith(extra.reader->Finish(), grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"));
    for (auto &stream : open) {
        stream->context.TryCancel();
        stream->reader->Finish();
    }
}

} // namespace virtgrpc::testing
