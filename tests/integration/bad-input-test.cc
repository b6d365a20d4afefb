// What virtgrpcd does with requests it cannot serve: unknown domains, malformed XML,
// empty or malformed references, flag values the API does not have, oversized
// messages, methods that do not exist, bytes that are not protobuf, and more calls at
// once than it admits. Each fails with the status (and google.rpc.ErrorInfo) the API
// promises, changes nothing, and leaves the server serving: every test ends by
// checking Health.Check("") is still SERVING.
#include <future>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

using ::testing::HasSubstr;

class BadInputTest : public ServerTest {
  protected:
    BadInputTest() = default;
    explicit BadInputTest(VirtgrpcdProcess::Options options)
        : ServerTest(std::move(options)) {}

    // Calls `method` with `payload` as the raw request bytes, bypassing the stubs.
    grpc::Status CallRaw(const std::string &method, const std::string &payload,
                         std::chrono::milliseconds timeout = kCallTimeout) {
        grpc::GenericStub stub(channel());
        auto context = ContextWithDeadline(timeout);
        grpc::Slice slice(payload);
        grpc::ByteBuffer request(&slice, 1);
        grpc::ByteBuffer response;
        std::promise<grpc::Status> done;
        stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                       [&done](grpc::Status status) { done.set_value(std::move(status)); });
        return done.get_future().get();
    }

    // Opens a streaming call to `method`, sends `payload` as the raw bytes of one
    // message, half-closes, reads until the end and returns how the call ended.
    grpc::Status StreamRaw(const std::string &method, const std::string &payload,
                           int *messages_read) {
        grpc::GenericStub stub(channel());
        grpc::CompletionQueue queue;
        auto context = ContextWithDeadline();
        auto call = stub.PrepareCall(context.get(), method, &queue);
        // Each step completes on `queue` before the next starts; the deadline bounds all.
        auto step = [&queue](void *expected_tag) {
            void *tag = nullptr;
            bool ok = false;
            EXPECT_TRUE(queue.Next(&tag, &ok));
            EXPECT_EQ(tag, expected_tag);
            return ok;
        };
        int tags[6];
        call->StartCall(&tags[0]);
        step(&tags[0]);
        grpc::Slice slice(payload);
        grpc::ByteBuffer message(&slice, 1);
        call->Write(message, &tags[1]);
        step(&tags[1]);
        call->WritesDone(&tags[2]);
        step(&tags[2]);
        *messages_read = 0;
        for (;;) {
            grpc::ByteBuffer response;
            call->Read(&response, &tags[3]);
            if (!step(&tags[3]))
                break;
            ++*messages_read;
            // A Watch would go on for ever: one message is enough to know it answered.
            context->TryCancel();
        }
        grpc::Status status;
        call->Finish(&status, &tags[4]);
        step(&tags[4]);
        queue.Shutdown();
        void *tag;
        bool ok;
        while (queue.Next(&tag, &ok)) {
        }
        return status;
    }

    grpc::Status Start(const v1::StartDomainRequest &request) {
        v1::Domain domain;
        return domains_->StartDomain(ContextWithDeadline().get(), request, &domain);
    }
};

// --- references to domains -----------------------------------------------------

TEST_F(BadInputTest, UnknownDomainNameIsNotFoundWithLibvirtsErrorInfo) {
    v1::Domain domain;
    grpc::Status status = GetDomain("no-such-domain", &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_THAT(status.error_message(), HasSubstr("no-such-domain"));
    auto info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value()) << Describe(status);
    EXPECT_EQ(info->domain(), "libvirt.org");
    EXPECT_EQ(MetadataOf(*info, "code"), "42");
    EXPECT_THAT(MetadataOf(*info, "domain_name"), ::testing::StartsWith("VIR_FROM_"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, UnknownDomainUuidIsNotFound) {
    v1::GetDomainRequest request;
    *request.mutable_domain() = RefByUuid("00000000-0000-0000-0000-000000004242");
    v1::Domain domain;
    grpc::Status status = domains_->GetDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, UnknownDomainIdIsNotFound) {
    v1::GetDomainRequest request;
    *request.mutable_domain() = RefById(4242);
    v1::Domain domain;
    grpc::Status status = domains_->GetDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_THAT(status.error_message(), HasSubstr("4242"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, LifecycleCallOnUnknownDomainIsNotFound) {
    v1::DestroyDomainRequest request;
    *request.mutable_domain() = RefByName("no-such-domain");
    v1::Domain domain;
    grpc::Status status = domains_->DestroyDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, MissingDomainRefIsInvalidRequest) {
    v1::Domain domain;
    grpc::Status status =
        domains_->GetDomain(ContextWithDeadline().get(), v1::GetDomainRequest(), &domain);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    auto info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->domain(), "virtgrpc.io");
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, EmptyDomainRefIsInvalidRequest) {
    v1::StartDomainRequest request;
    request.mutable_domain();  // present, but none of uuid, name, id set

    EXPECT_TRUE(FailedWith(Start(request), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, EmptyDomainNameIsInvalidRequest) {
    v1::GetDomainRequest request;
    *request.mutable_domain() = RefByName("");
    v1::Domain domain;
    grpc::Status status = domains_->GetDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, MalformedUuidIsInvalidRequest) {
    v1::GetDomainRequest request;
    *request.mutable_domain() = RefByUuid("not-a-uuid");
    v1::Domain domain;
    grpc::Status status = domains_->GetDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("not-a-uuid"));
    EXPECT_TRUE(ServerStillServes());
}

// --- XML -----------------------------------------------------------------------

TEST_F(BadInputTest, MalformedXmlIsInvalidArgumentWithLibvirtsReason) {
    v1::DefineDomainRequest request;
    request.set_xml("<domain type='test'><name>broken</name");
    v1::Domain domain;
    grpc::Status status = domains_->DefineDomain(ContextWithDeadline().get(), request, &domain);

    // libvirt's XML parser: "(domain_definition):1: ... Premature end of data ...".
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_XML_DETAIL"));
    auto info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->domain(), "libvirt.org");
    EXPECT_EQ(MetadataOf(*info, "code"), "35");
    v1::Domain absent;
    EXPECT_EQ(GetDomain("broken", &absent).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, MalformedXmlForATransientDomainIsInvalidArgument) {
    v1::CreateDomainRequest request;
    request.set_xml("<domain type='test'><name>broken</name");
    v1::Domain domain;
    grpc::Status status = domains_->CreateDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_XML_DETAIL"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, EmptyXmlIsInvalidRequest) {
    v1::Domain domain;
    grpc::Status status = domains_->DefineDomain(ContextWithDeadline().get(),
                                                 v1::DefineDomainRequest(), &domain);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

// --- flags ---------------------------------------------------------------------

TEST_F(BadInputTest, UnknownStartFlagIsInvalidRequestAndLeavesTheDomainShutOff) {
    DefineDomain("web1");
    v1::StartDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    request.add_flags(static_cast<v1::StartFlag>(4242));

    grpc::Status status = Start(request);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("4242"));
    EXPECT_EQ(StateOf("web1").state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, UnspecifiedStartFlagIsInvalidRequest) {
    DefineDomain("web1");
    v1::StartDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    request.add_flags(v1::START_FLAG_UNSPECIFIED);

    EXPECT_TRUE(FailedWith(Start(request), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_EQ(StateOf("web1").state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, UnknownListFilterIsInvalidRequest) {
    v1::ListDomainsRequest request;
    request.add_filters(static_cast<v1::ListDomainsFilter>(999));
    v1::ListDomainsResponse response;
    grpc::Status status = domains_->ListDomains(ContextWithDeadline().get(), request, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

// --- the wire ------------------------------------------------------------------

// No deadline to rescue the test: an unknown method must be answered, not left to
// hang (gRPC core leaves unrequested methods pending).
TEST_F(BadInputTest, UnknownMethodOfAKnownServiceIsUnimplemented) {
    auto started = std::chrono::steady_clock::now();
    grpc::Status status = CallRaw("/virtgrpc.v1.DomainService/NoSuchMethod", "",
                                  std::chrono::milliseconds(3000));

    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << Describe(status);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2000));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, MethodOfAnUnknownServiceIsUnimplemented) {
    grpc::Status status = CallRaw("/no.Such/Service", "", std::chrono::milliseconds(3000));

    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << Describe(status);
    EXPECT_TRUE(ServerStillServes());
}

// A length-delimited field 1 claiming 100 bytes where 2 follow.
const std::string kNotProtobuf("\x0a\x64\xff\xff", 4);

TEST_F(BadInputTest, PayloadThatIsNotProtobufIsInvalidRequest) {
    grpc::Status status = CallRaw("/virtgrpc.v1.DomainService/GetDomain", kNotProtobuf);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, PayloadThatIsNotProtobufIsInvalidRequestForInlineServicesToo) {
    grpc::Status status = CallRaw("/grpc.health.v1.Health/Check", kNotProtobuf);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, ServerStreamingRequestThatIsNotProtobufIsInvalidRequest) {
    int messages = 0;
    grpc::Status status = StreamRaw("/grpc.health.v1.Health/Watch", kNotProtobuf, &messages);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_EQ(messages, 0);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BadInputTest, BidiStreamMessageThatIsNotProtobufEndsTheStreamInvalidRequest) {
    int messages = 0;
    grpc::Status status = StreamRaw("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                    kNotProtobuf, &messages);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_EQ(messages, 0);
    EXPECT_TRUE(ServerStillServes());
}

// --- limits --------------------------------------------------------------------

// A domain XML whose <description> makes it about `bytes` long.
std::string DomainXmlOfSize(const std::string &name, size_t bytes) {
    return "<domain type='test'><name>" + name + "</name><description>" +
           std::string(bytes, 'x') +
           "</description><memory>8192</memory><os><type>hvm</type></os></domain>";
}

class MessageLimitTest : public BadInputTest {
  protected:
    MessageLimitTest() : BadInputTest({.extra_args = {"--max-message-bytes=65536"}}) {}
};

TEST_F(MessageLimitTest, RequestOverTheMessageLimitIsResourceExhausted) {
    v1::DefineDomainRequest request;
    request.set_xml(DomainXmlOfSize("huge", 1 << 20));
    v1::Domain domain;
    grpc::Status status = domains_->DefineDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
    v1::Domain absent;
    EXPECT_EQ(GetDomain("huge", &absent).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MessageLimitTest, RequestUnderTheMessageLimitIsServed) {
    v1::DefineDomainRequest request;
    request.set_xml(DomainXmlOfSize("large", 32 * 1024));
    v1::Domain domain;

    EXPECT_TRUE(
        Succeeded(domains_->DefineDomain(ContextWithDeadline().get(), request, &domain)));
    EXPECT_EQ(domain.name(), "large");
    EXPECT_TRUE(ServerStillServes());
}

class InflightLimitTest : public BadInputTest {
  protected:
    InflightLimitTest() : BadInputTest({.extra_args = {"--workers=1", "--max-inflight=2"}}) {}
};

TEST_F(InflightLimitTest, CallsOverTheInflightLimitAreResourceExhaustedAndTheRestServed) {
    constexpr int kCalls = 200;
    struct Call {
        grpc::ClientContext context;
        v1::ListDomainsResponse response;
        grpc::Status status;
        std::unique_ptr<grpc::ClientAsyncResponseReader<v1::ListDomainsResponse>> reader;
    };
    grpc::CompletionQueue queue;
    std::vector<Call> calls(kCalls);
    for (int i = 0; i < kCalls; i++) {
        Call &call = calls[i];
        call.context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
        call.reader = domains_->AsyncListDomains(&call.context, v1::ListDomainsRequest(), &queue);
        call.reader->Finish(&call.response, &call.status, &call);
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
            EXPECT_EQ(call.response.domains_size(), 1);
        } else if (FailedWith(call.status, grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "VIRTGRPC_LIMIT_EXCEEDED")) {
            refused++;
        } else {
            ADD_FAILURE() << "neither served nor refused for the limit: "
                          << Describe(call.status);
        }
    }
    RecordProperty("served", served);
    RecordProperty("refused", refused);
    EXPECT_GT(refused, 0) << "all " << kCalls << " calls were admitted";
    EXPECT_GT(served, 0);
    EXPECT_EQ(served + refused, kCalls);
    EXPECT_TRUE(ServerStillServes());
}

// Refused and finished calls give their slot back: one at a time, every call is served.
TEST_F(InflightLimitTest, SequentialCallsAfterABurstAreAllServed) {
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    grpc::CompletionQueue queue;
    std::vector<grpc::Status> statuses(50);
    std::vector<v1::ListDomainsResponse> responses(50);
    for (size_t i = 0; i < statuses.size(); i++) {
        contexts.push_back(ContextWithDeadline());
        domains_->AsyncListDomains(contexts.back().get(), v1::ListDomainsRequest(), &queue)
            ->Finish(&responses[i], &statuses[i], &statuses[i]);
    }
    for (size_t done = 0; done < statuses.size(); done++) {
        void *tag;
        bool ok;
        ASSERT_TRUE(queue.Next(&tag, &ok));
    }
    queue.Shutdown();

    for (int i = 0; i < 20; i++) {
        v1::ListDomainsResponse response;
        ASSERT_TRUE(Succeeded(domains_->ListDomains(ContextWithDeadline().get(),
                                                    v1::ListDomainsRequest(), &response)))
            << "call " << i << " after the burst";
    }
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(InflightLimitTest, UnknownMethodsGiveTheirSlotBack) {
    for (int i = 0; i < 10; i++) {
        grpc::Status status = CallRaw("/no.Such/Service", "", std::chrono::milliseconds(3000));
        ASSERT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << Describe(status);
    }

    v1::ListDomainsResponse response;
    EXPECT_TRUE(Succeeded(
        domains_->ListDomains(ContextWithDeadline().get(), v1::ListDomainsRequest(), &response)));
    EXPECT_TRUE(ServerStillServes());
}

class StreamLimitTest : public BadInputTest {
  protected:
    StreamLimitTest() : BadInputTest({.extra_args = {"--max-streams=2"}}) {}

    // Opens Health.Watch("") and reads its first message; returns how the call ended
    // when it did not deliver one.
    struct Watch {
        std::unique_ptr<grpc::ClientContext> context;
        std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>> reader;
        grpc::Status failure;

        bool Open(grpc::health::v1::Health::Stub &health) {
            context = ContextWithDeadline();
            reader = health.Watch(context.get(), grpc::health::v1::HealthCheckRequest());
            grpc::health::v1::HealthCheckResponse response;
            if (reader->Read(&response))
                return true;
            failure = reader->Finish();
            reader.reset();
            return false;
        }
        void Cancel() {
            if (reader) {
                context->TryCancel();
                reader->Finish();
                reader.reset();
            }
        }
        ~Watch() { Cancel(); }
    };
};

TEST_F(StreamLimitTest, StreamOverTheLimitIsResourceExhausted) {
    Watch first, second, third;
    ASSERT_TRUE(first.Open(*health_)) << Describe(first.failure);
    ASSERT_TRUE(second.Open(*health_)) << Describe(second.failure);

    EXPECT_FALSE(third.Open(*health_));

    EXPECT_TRUE(FailedWith(third.failure, grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "VIRTGRPC_LIMIT_EXCEEDED"));
    // Unary calls have their own limit.
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(StreamLimitTest, ClosedStreamsGiveTheirSlotBack) {
    Watch first, second;
    ASSERT_TRUE(first.Open(*health_)) << Describe(first.failure);
    ASSERT_TRUE(second.Open(*health_)) << Describe(second.failure);
    Watch refused;
    ASSERT_FALSE(refused.Open(*health_));

    first.Cancel();

    // The server learns of the cancel asynchronously: retry until it has.
    Watch replacement;
    EXPECT_TRUE(WaitUntil([&] { return replacement.Open(*health_); }, kCallTimeout))
        << "no stream was admitted after one closed: " << Describe(replacement.failure);
    EXPECT_TRUE(ServerStillServes());
}

}  // namespace
}  // namespace virtgrpc::testing
