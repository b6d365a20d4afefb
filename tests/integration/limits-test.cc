// The limits on what a client controls, each hit on a server started with a small value:
// concurrent calls and streams per client (a TCP peer's address; one Unix-socket
// connection), XML size in every field that carries XML (at any depth), peek size,
// the shortest watch interval, and the size of a response. Each refusal has a clear
// status, the ErrorInfo reason, and a message naming the option to raise; the server
// keeps serving. The limits that existed before (max-inflight, max-streams, request
// size, queued messages) are tested in bad-input-test, events-test and stats-test.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/devices.grpc.pb.h"
#include "virtgrpc/v1/jobs.grpc.pb.h"
#include "virtgrpc/v1/memory.grpc.pb.h"
#include "virtgrpc/v1/snapshots.grpc.pb.h"
#include "virtgrpc/v1/stats.grpc.pb.h"

namespace virtgrpc::testing {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

// A channel with its own connection: grpc++ shares one connection between channels to
// the same target unless told otherwise.
std::shared_ptr<grpc::Channel> OwnConnection(const std::string &target) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// Health.Watch("") kept open, as a stream that counts against the stream limits.
class OpenWatch {
  public:
    // Opens it and reads its first message; false (with the status) when refused.
    bool Open(const std::shared_ptr<grpc::Channel> &channel) {
        stub_ = Health::NewStub(channel);
        context_ = ContextWithDeadline();
        reader_ = stub_->Watch(context_.get(), HealthCheckRequest());
        HealthCheckResponse response;
        if (reader_->Read(&response))
            return true;
        failure_ = reader_->Finish();
        reader_.reset();
        return false;
    }
    const grpc::Status &failure() const { return failure_; }
    ~OpenWatch() {
        if (reader_) {
            context_->TryCancel();
            reader_->Finish();
        }
    }

  private:
    std::unique_ptr<Health::Stub> stub_;
    std::unique_ptr<grpc::ClientContext> context_;
    std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader_;
    grpc::Status failure_;
};

// In /tmp: a Unix socket path has at most 107 bytes, and Bazel's test directories are
// longer than that.
std::string SocketPath() {
    return "/tmp/virtgrpcd-limits-test-" + std::to_string(getpid()) + ".sock";
}

// --- concurrent calls per client ---------------------------------------------------

class InflightPerClientTest : public ServerTest {
  protected:
    // One worker, so calls pile up; the total is far above what the test sends.
    InflightPerClientTest()
        : ServerTest({.extra_args = {"--workers=1", "--max-inflight=100000",
                                     "--max-inflight-per-client=2"}}) {}
};

TEST_F(InflightPerClientTest, BurstFromOneClientIsCutAtThePerClientLimitNamingIt) {
    constexpr int kCalls = 200;
    struct Call {
        grpc::ClientContext context;
        v1::ListDomainsResponse response;
        grpc::Status status;
    };
    grpc::CompletionQueue queue;
    std::vector<Call> calls(kCalls);
    for (Call &call : calls) {
        call.context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
        domains_->AsyncListDomains(&call.context, v1::ListDomainsRequest(), &queue)
            ->Finish(&call.response, &call.status, &call);
    }
    for (int done = 0; done < kCalls; done++) {
        void *tag;
        bool ok;
        ASSERT_TRUE(queue.Next(&tag, &ok));
    }
    queue.Shutdown();

    int served = 0;
    int refused = 0;
    for (const Call &call : calls) {
        if (call.status.ok()) {
            served++;
            continue;
        }
        ASSERT_TRUE(FailedWith(call.status, grpc::StatusCode::RESOURCE_EXHAUSTED,
                               "VIRTGRPC_LIMIT_EXCEEDED"));
        EXPECT_THAT(call.status.error_message(), HasSubstr("max-inflight-per-client"));
        EXPECT_THAT(call.status.error_message(), HasSubstr("client 'ipv4:127.0.0.1'"));
        refused++;
    }
    RecordProperty("served", served);
    RecordProperty("refused", refused);
    EXPECT_GT(refused, 0);
    EXPECT_GT(served, 0);
    EXPECT_TRUE(ServerStillServes());
}

// --- streams per client ---------------------------------------------------------------

class StreamsPerClientTest : public ServerTest {
  protected:
    StreamsPerClientTest()
        : ServerTest({.extra_args = {"--listen=unix:" + SocketPath(),
                                     "--max-streams-per-client=2"}}) {}
    ~StreamsPerClientTest() override { std::remove(SocketPath().c_str()); }
};

// Every connection from one address is one client: a second channel from the same host
// shares the first one's allowance.
TEST_F(StreamsPerClientTest, ConnectionsFromOneAddressShareTheLimit) {
    OpenWatch first, second, third;
    ASSERT_TRUE(first.Open(channel())) << Describe(first.failure());
    ASSERT_TRUE(second.Open(channel())) << Describe(second.failure());

    auto other_connection = OwnConnection(server().target());
    EXPECT_FALSE(third.Open(other_connection));

    EXPECT_TRUE(FailedWith(third.failure(), grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"));
    EXPECT_THAT(third.failure().error_message(), HasSubstr("max-streams-per-client"));
    EXPECT_THAT(third.failure().error_message(), HasSubstr("'ipv4:127.0.0.1'"));
    EXPECT_TRUE(ServerStillServes());
}

// A Unix-socket peer has no address: each connection is a client of its own, and the
// TCP client's full allowance does not touch them.
TEST_F(StreamsPerClientTest, EachUnixSocketConnectionIsAClientOfItsOwn) {
    OpenWatch tcp_first, tcp_second;
    ASSERT_TRUE(tcp_first.Open(channel())) << Describe(tcp_first.failure());
    ASSERT_TRUE(tcp_second.Open(channel())) << Describe(tcp_second.failure());

    auto unix_a = OwnConnection("unix:" + SocketPath());
    auto unix_b = OwnConnection("unix:" + SocketPath());
    OpenWatch a1, a2, a3, b1, b2;
    EXPECT_TRUE(a1.Open(unix_a)) << Describe(a1.failure());
    EXPECT_TRUE(a2.Open(unix_a)) << Describe(a2.failure());
    EXPECT_TRUE(b1.Open(unix_b)) << Describe(b1.failure());
    EXPECT_TRUE(b2.Open(unix_b)) << Describe(b2.failure());

    EXPECT_FALSE(a3.Open(unix_a));
    EXPECT_TRUE(FailedWith(a3.failure(), grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"));
    EXPECT_THAT(a3.failure().error_message(), HasSubstr("max-streams-per-client"));
}

TEST_F(StreamsPerClientTest, AClosedStreamGivesItsClientSlotBack) {
    auto first = std::make_unique<OpenWatch>();
    OpenWatch second;
    ASSERT_TRUE(first->Open(channel()));
    ASSERT_TRUE(second.Open(channel()));
    {
        OpenWatch refused;
        ASSERT_FALSE(refused.Open(channel()));
    }

    first.reset(); // cancels it

    // The server learns of the cancel asynchronously: retry until it has.
    EXPECT_TRUE(WaitUntil(
        [&] {
            OpenWatch replacement;
            return replacement.Open(channel());
        },
        kCallTimeout));
}

// --- XML size --------------------------------------------------------------------------

constexpr size_t kXmlLimit = 4096;

class XmlLimitTest : public ServerTest {
  protected:
    XmlLimitTest() : ServerTest({.extra_args = {"--max-xml-bytes=4096"}}) {}

    // An XML element about `bytes` long.
    static std::string ElementOfSize(size_t bytes) {
        return "<info>" + std::string(bytes - 13, 'x') + "</info>";
    }

    static void ExpectXmlLimit(const grpc::Status &status, const std::string &field) {
        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_LIMIT_EXCEEDED"));
        EXPECT_THAT(status.error_message(), HasSubstr("'" + field + "'"));
        EXPECT_THAT(status.error_message(), HasSubstr("max-xml-bytes"));
        EXPECT_THAT(status.error_message(), HasSubstr(std::to_string(kXmlLimit)));
    }
};

std::string DomainXmlOfSize(const std::string &name, size_t bytes) {
    std::string xml = MinimalDomainXml(name);
    std::string description = "<description></description>";
    return xml.substr(0, xml.size() - 9) + "<description>" +
           std::string(bytes - xml.size() - description.size(), 'x') + "</description>" +
           "</domain>";
}

TEST_F(XmlLimitTest, DomainXmlOverTheLimitIsRefusedAndNothingIsDefined) {
    v1::DefineDomainRequest request;
    request.set_xml(DomainXmlOfSize("big", kXmlLimit + 1));
    ASSERT_EQ(request.xml().size(), kXmlLimit + 1);
    v1::Domain domain;

    ExpectXmlLimit(domains_->DefineDomain(ContextWithDeadline().get(), request, &domain), "xml");

    v1::Domain absent;
    EXPECT_EQ(GetDomain("big", &absent).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(XmlLimitTest, DomainXmlAtTheLimitIsDefined) {
    v1::DefineDomainRequest request;
    request.set_xml(DomainXmlOfSize("fits", kXmlLimit));
    ASSERT_EQ(request.xml().size(), kXmlLimit);
    v1::Domain domain;

    EXPECT_TRUE(
        Succeeded(domains_->DefineDomain(ContextWithDeadline().get(), request, &domain)));
    EXPECT_EQ(domain.name(), "fits");
}

TEST_F(XmlLimitTest, DeviceXmlOverTheLimitIsRefused) {
    auto devices = v1::DeviceService::NewStub(channel());
    v1::AttachDomainDeviceRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    request.set_device_xml(ElementOfSize(kXmlLimit + 100));
    v1::AttachDomainDeviceResponse response;

    ExpectXmlLimit(devices->AttachDomainDevice(ContextWithDeadline().get(), request, &response),
                   "device_xml");
}

TEST_F(XmlLimitTest, MetadataOverTheLimitIsRefusedAndNotStored) {
    v1::SetDomainMetadataRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    request.set_type(v1::METADATA_TYPE_ELEMENT);
    request.set_metadata(ElementOfSize(kXmlLimit + 1));
    request.set_key("app");
    request.set_namespace_uri("http://example.org/app/1");
    v1::Domain domain;

    ExpectXmlLimit(domains_->SetDomainMetadata(ContextWithDeadline().get(), request, &domain),
                   "metadata");

    v1::GetDomainMetadataRequest get;
    *get.mutable_domain() = RefByName(kStockDomainName);
    get.set_type(v1::METADATA_TYPE_ELEMENT);
    get.set_namespace_uri("http://example.org/app/1");
    v1::GetDomainMetadataResponse stored;
    EXPECT_EQ(domains_->GetDomainMetadata(ContextWithDeadline().get(), get, &stored).error_code(),
              grpc::StatusCode::NOT_FOUND);
}

TEST_F(XmlLimitTest, SnapshotXmlOverTheLimitIsRefused) {
    auto snapshots = v1::SnapshotService::NewStub(channel());
    v1::CreateDomainSnapshotRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    request.set_xml("<domainsnapshot><description>" + std::string(kXmlLimit, 'x') +
                    "</description></domainsnapshot>");
    v1::Snapshot snapshot;

    ExpectXmlLimit(snapshots->CreateDomainSnapshot(ContextWithDeadline().get(), request,
                                                   &snapshot),
                   "xml");
}

// StartJob carries the request of the RPC it runs: the limit applies inside it too.
TEST_F(XmlLimitTest, XmlInsideAJobRequestIsRefusedAndNoJobStarts) {
    auto jobs = v1::JobService::NewStub(channel());
    v1::StartJobRequest request;
    v1::RestoreDomainRequest *restore = request.mutable_restore();
    restore->set_path("/nonexistent/limits-test.save");
    restore->set_xml(DomainXmlOfSize("restored", kXmlLimit * 2));
    v1::Job job;

    ExpectXmlLimit(jobs->StartJob(ContextWithDeadline().get(), request, &job), "xml");

    v1::ListJobsRequest list;
    v1::ListJobsResponse listed;
    ASSERT_TRUE(Succeeded(jobs->ListJobs(ContextWithDeadline().get(), list, &listed)));
    EXPECT_EQ(listed.jobs_size(), 0);
}

// --- peek size ------------------------------------------------------------------------

class PeekLimitTest : public ServerTest {
  protected:
    PeekLimitTest() : ServerTest({.extra_args = {"--max-peek-bytes=4096"}}) {}

    grpc::Status Peek(uint32_t size, v1::PeekDomainMemoryResponse *response) {
        auto memory = v1::MemoryService::NewStub(channel());
        v1::PeekDomainMemoryRequest request;
        *request.mutable_domain() = RefByName(kStockDomainName);
        request.set_address_space(v1::MEMORY_ADDRESS_SPACE_VIRTUAL);
        request.set_size_bytes(size);
        return memory->PeekDomainMemory(ContextWithDeadline().get(), request, response);
    }
};

TEST_F(PeekLimitTest, PeekOverTheConfiguredLimitIsRefusedNamingIt) {
    v1::PeekDomainMemoryResponse response;
    grpc::Status status = Peek(4097, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("4097"));
    EXPECT_THAT(status.error_message(), HasSubstr("4 KiB"));
    EXPECT_THAT(status.error_message(), HasSubstr("max-peek-bytes"));
}

TEST_F(PeekLimitTest, PeekAtTheConfiguredLimitIsServed) {
    v1::PeekDomainMemoryResponse response;

    ASSERT_TRUE(Succeeded(Peek(4096, &response)));
    EXPECT_EQ(response.data().size(), 4096u);
}

// --- watch intervals --------------------------------------------------------------------

class IntervalLimitTest : public ServerTest {
  protected:
    IntervalLimitTest() : ServerTest({.extra_args = {"--min-stats-interval-ms=500"}}) {}
};

TEST_F(IntervalLimitTest, StatsWatchFasterThanTheMinimumIsRefusedNamingIt) {
    auto stats = v1::StatsService::NewStub(channel());
    v1::WatchDomainStatsRequest request;
    request.set_interval_ms(200);
    auto context = ContextWithDeadline();
    auto reader = stats->WatchDomainStats(context.get(), request);
    v1::DomainStatsSample sample;
    EXPECT_FALSE(reader->Read(&sample));
    grpc::Status status = reader->Finish();

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'interval_ms' is 200"));
    EXPECT_THAT(status.error_message(), HasSubstr("min-stats-interval-ms"));
}

TEST_F(IntervalLimitTest, StatsWatchAtTheMinimumDeliversSamples) {
    auto stats = v1::StatsService::NewStub(channel());
    v1::WatchDomainStatsRequest request;
    request.set_interval_ms(500);
    auto context = ContextWithDeadline();
    auto reader = stats->WatchDomainStats(context.get(), request);
    v1::DomainStatsSample sample;

    EXPECT_TRUE(reader->Read(&sample));
    context->TryCancel();
    reader->Finish();
}

TEST_F(IntervalLimitTest, JobWatchFasterThanTheMinimumIsRefusedNamingIt) {
    auto jobs = v1::JobService::NewStub(channel());
    v1::WatchJobRequest request;
    request.set_id("any");
    request.set_interval_ms(200);
    auto context = ContextWithDeadline();
    auto reader = jobs->WatchJob(context.get(), request);
    v1::Job job;
    EXPECT_FALSE(reader->Read(&job));
    grpc::Status status = reader->Finish();

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("min-stats-interval-ms"));
}

// --- response size ------------------------------------------------------------------------

class ResponseSizeTest : public ServerTest {
  protected:
    ResponseSizeTest() : ServerTest({.extra_args = {"--max-message-bytes=2048"}}) {}
};

// A response over the message limit is not sent: the client gets RESOURCE_EXHAUSTED
// naming the server's option instead of its own receive error.
TEST_F(ResponseSizeTest, ResponseOverTheMessageLimitIsResourceExhaustedNamingIt) {
    auto memory = v1::MemoryService::NewStub(channel());
    v1::PeekDomainMemoryRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    request.set_address_space(v1::MEMORY_ADDRESS_SPACE_VIRTUAL);
    request.set_size_bytes(4096);
    v1::PeekDomainMemoryResponse response;
    grpc::Status status =
        memory->PeekDomainMemory(ContextWithDeadline().get(), request, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::RESOURCE_EXHAUSTED, "VIRTGRPC_LIMIT_EXCEEDED"));
    EXPECT_THAT(status.error_message(), HasSubstr("max-message-bytes"));
    EXPECT_THAT(status.error_message(), HasSubstr("2048"));

    request.set_size_bytes(1024);
    EXPECT_TRUE(Succeeded(
        memory->PeekDomainMemory(ContextWithDeadline().get(), request, &response)));
    EXPECT_TRUE(ServerStillServes());
}

}  // namespace
}  // namespace virtgrpc::testing
