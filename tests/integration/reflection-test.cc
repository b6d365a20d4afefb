// Server reflection as grpcurl uses it, through grpc++ stubs of both protocol versions
// (grpc.reflection.v1 and v1alpha; every test runs against each): list the services,
// fetch the file that defines each one plus its imports, build a DescriptorPool from
// them and resolve every method's request and response type. That is what
// `grpcurl describe` and `grpcurl call` need, without any .proto file on the client.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <gtest/gtest.h>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "virtgrpc/v1/options.pb.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

namespace pb = google::protobuf;
using ::testing::Contains;
using ::testing::IsSupersetOf;

struct ReflectionV1 {
    using Service = grpc::reflection::v1::ServerReflection;
    using Request = grpc::reflection::v1::ServerReflectionRequest;
    using Response = grpc::reflection::v1::ServerReflectionResponse;
};

struct ReflectionV1Alpha {
    using Service = grpc::reflection::v1alpha::ServerReflection;
    using Request = grpc::reflection::v1alpha::ServerReflectionRequest;
    using Response = grpc::reflection::v1alpha::ServerReflectionResponse;
};

// One ServerReflectionInfo stream: one request, then its response, as grpcurl does.
template <typename Api>
class ReflectionStream {
  public:
    using Request = typename Api::Request;
    using Response = typename Api::Response;

    explicit ReflectionStream(typename Api::Service::Stub &stub)
        : context_(ContextWithDeadline()), stream_(stub.ServerReflectionInfo(context_.get())) {}

    ~ReflectionStream() {
        if (!finished_) {
            context_->TryCancel();
            stream_->Finish();
        }
    }

    // Sends `request` and returns the response; nullopt (and a test failure) when the
    // stream broke instead.
    std::optional<Response> Ask(const Request &request) {
        Response response;
        if (finished_ || !stream_->Write(request) || !stream_->Read(&response)) {
            ADD_FAILURE() << "the reflection stream broke on "
                          << request.ShortDebugString() << ": " << Describe(Close());
            return std::nullopt;
        }
        return response;
    }

    std::optional<Response> FileContainingSymbol(const std::string &symbol) {
        Request request;
        request.set_file_containing_symbol(symbol);
        return Ask(request);
    }

    std::optional<Response> FileByFilename(const std::string &name) {
        Request request;
        request.set_file_by_filename(name);
        return Ask(request);
    }

    std::vector<std::string> ListServices() {
        Request request;
        request.set_list_services("*");
        std::vector<std::string> names;
        auto response = Ask(request);
        if (!response)
            return names;
        EXPECT_EQ(response->message_response_case(), Response::kListServicesResponse)
            << response->ShortDebugString();
        for (const auto &service : response->list_services_response().service())
            names.push_back(service.name());
        return names;
    }

    // Half-closes, reads what is left and returns how the stream ended.
    grpc::Status Close() {
        if (finished_)
            return status_;
        stream_->WritesDone();
        Response extra;
        while (stream_->Read(&extra))
            extra_responses_++;
        finished_ = true;
        status_ = stream_->Finish();
        return status_;
    }

    int extra_responses() const { return extra_responses_; }

  private:
    std::unique_ptr<grpc::ClientContext> context_;
    std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
    bool finished_ = false;
    grpc::Status status_;
    int extra_responses_ = 0;
};

// The descriptors a reflection client collected: every file the server sent, and the
// pool built on them.
class CollectedDescriptors {
  public:
    CollectedDescriptors() : pool_(&database_) {}

    // Adds the files of a file_descriptor_response; fails the test for a response of
    // another kind or bytes that are no FileDescriptorProto.
    template <typename Response>
    void Add(const std::optional<Response> &response) {
        if (!response)
            return;
        ASSERT_EQ(response->message_response_case(), Response::kFileDescriptorResponse)
            << response->ShortDebugString();
        ASSERT_GT(response->file_descriptor_response().file_descriptor_proto_size(), 0);
        for (const std::string &bytes :
             response->file_descriptor_response().file_descriptor_proto()) {
            pb::FileDescriptorProto file;
            ASSERT_TRUE(file.ParseFromString(bytes)) << "not a FileDescriptorProto";
            if (names_.insert(file.name()).second) {
                ASSERT_TRUE(database_.Add(file)) << "cannot add " << file.name();
            }
        }
    }

    // Imports of collected files that were not collected themselves.
    std::vector<std::string> MissingImports() const {
        std::vector<std::string> missing;
        for (const std::string &name : names_) {
            pb::FileDescriptorProto file;
            database_.FindFileByName(name, &file);
            for (const std::string &import : file.dependency()) {
                if (!names_.count(import))
                    missing.push_back(import);
            }
        }
        return missing;
    }

    const pb::DescriptorPool &pool() const { return pool_; }
    const std::set<std::string> &file_names() const { return names_; }

  private:
    mutable pb::SimpleDescriptorDatabase database_;
    pb::DescriptorPool pool_;
    std::set<std::string> names_;
};

template <typename Api>
class ReflectionTest : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (!HasFatalFailure())
            stub_ = Api::Service::NewStub(channel());
    }

    void TearDown() override {
        stub_.reset();
        ServerTest::TearDown();
    }

    // What grpcurl does for `describe SERVICE`: the file containing the symbol, then
    // (by file name) every import the server did not send along.
    void Collect(ReflectionStream<Api> &stream, const std::string &symbol,
                 CollectedDescriptors &descriptors) {
        descriptors.Add(stream.FileContainingSymbol(symbol));
        for (int round = 0; round < 16; round++) {
            std::vector<std::string> missing = descriptors.MissingImports();
            if (missing.empty())
                return;
            for (const std::string &name : missing)
                descriptors.Add(stream.FileByFilename(name));
        }
        ADD_FAILURE() << "the imports of " << symbol << " do not close";
    }

    std::unique_ptr<typename Api::Service::Stub> stub_;
};

struct VersionNames {
    template <typename Api>
    static std::string GetName(int) {
        return std::is_same_v<Api, ReflectionV1> ? "v1" : "v1alpha";
    }
};

using Versions = ::testing::Types<ReflectionV1, ReflectionV1Alpha>;
TYPED_TEST_SUITE(ReflectionTest, Versions, VersionNames);

TYPED_TEST(ReflectionTest, ListServicesNamesTheDomainHealthAndReflectionServices) {
    ReflectionStream<TypeParam> stream(*this->stub_);

    EXPECT_THAT(stream.ListServices(),
                IsSupersetOf({"virtgrpc.v1.DomainService", "grpc.health.v1.Health",
                              "grpc.reflection.v1.ServerReflection",
                              "grpc.reflection.v1alpha.ServerReflection"}));
    EXPECT_TRUE(Succeeded(stream.Close()));
}

TYPED_TEST(ReflectionTest, EveryListedServiceResolvesWithAllItsMethodTypes) {
    ReflectionStream<TypeParam> stream(*this->stub_);
    std::vector<std::string> services = stream.ListServices();
    ASSERT_FALSE(services.empty());

    for (const std::string &name : services) {
        SCOPED_TRACE(name);
        CollectedDescriptors descriptors;
        this->Collect(stream, name, descriptors);
        if (this->HasFatalFailure())
            return;

        const pb::ServiceDescriptor *service = descriptors.pool().FindServiceByName(name);
        ASSERT_NE(service, nullptr) << "files collected: "
                                    << ::testing::PrintToString(descriptors.file_names());
        EXPECT_GT(service->method_count(), 0);
        for (int i = 0; i < service->method_count(); i++) {
            const pb::MethodDescriptor *method = service->method(i);
            EXPECT_NE(method->input_type(), nullptr) << method->full_name();
            EXPECT_NE(method->output_type(), nullptr) << method->full_name();
        }
    }
    EXPECT_TRUE(Succeeded(stream.Close()));
}

TYPED_TEST(ReflectionTest, DomainServiceMethodsHaveTheirRequestAndResponseMessages) {
    ReflectionStream<TypeParam> stream(*this->stub_);
    CollectedDescriptors descriptors;
    this->Collect(stream, "virtgrpc.v1.DomainService", descriptors);
    ASSERT_FALSE(this->HasFatalFailure());

    const pb::ServiceDescriptor *service =
        descriptors.pool().FindServiceByName("virtgrpc.v1.DomainService");
    ASSERT_NE(service, nullptr);
    const pb::MethodDescriptor *get = service->FindMethodByName("GetDomain");
    ASSERT_NE(get, nullptr);
    EXPECT_EQ(get->input_type()->full_name(), "virtgrpc.v1.GetDomainRequest");
    EXPECT_EQ(get->output_type()->full_name(), "virtgrpc.v1.Domain");
    // Nested types resolve too: a client can encode a DomainRef.
    const pb::FieldDescriptor *ref = get->input_type()->FindFieldByName("domain");
    ASSERT_NE(ref, nullptr);
    ASSERT_NE(ref->message_type(), nullptr);
    EXPECT_NE(ref->message_type()->FindFieldByName("uuid"), nullptr);
    // Every RPC of the .proto this test was compiled from.
    EXPECT_EQ(service->method_count(),
              v1::Domain::descriptor()->file()->FindServiceByName("DomainService")->method_count());
}

TYPED_TEST(ReflectionTest, CommentsOfTheProtoFilesTravelWithTheDescriptors) {
    ReflectionStream<TypeParam> stream(*this->stub_);
    CollectedDescriptors descriptors;
    this->Collect(stream, "virtgrpc.v1.DomainService", descriptors);
    ASSERT_FALSE(this->HasFatalFailure());
    const pb::ServiceDescriptor *service =
        descriptors.pool().FindServiceByName("virtgrpc.v1.DomainService");
    ASSERT_NE(service, nullptr);

    pb::SourceLocation location;
    ASSERT_TRUE(service->GetSourceLocation(&location)) << "no source info was sent";
    EXPECT_THAT(location.leading_comments, ::testing::HasSubstr("Looks domains up"));

    pb::SourceLocation method_location;
    ASSERT_TRUE(service->FindMethodByName("ListDomains")->GetSourceLocation(&method_location));
    EXPECT_FALSE(method_location.leading_comments.empty());
}

// grpcurl describes any symbol, not only services: `grpcurl describe
// virtgrpc.v1.DomainService.ListDomains` asks for the file containing the method.
TYPED_TEST(ReflectionTest, FileContainingSymbolFindsEveryKindOfSymbol) {
    ReflectionStream<TypeParam> stream(*this->stub_);

    for (const char *symbol : {"virtgrpc.v1.DomainService", "virtgrpc.v1.DomainService.ListDomains",
                               "virtgrpc.v1.Domain", "virtgrpc.v1.DomainRef.uuid",
                               "virtgrpc.v1.DomainState", "virtgrpc.v1.DOMAIN_STATE_RUNNING"}) {
        SCOPED_TRACE(symbol);
        CollectedDescriptors descriptors;
        descriptors.Add(stream.FileContainingSymbol(symbol));
        EXPECT_THAT(descriptors.file_names(), Contains("virtgrpc/v1/domain.proto"));
    }
    EXPECT_TRUE(Succeeded(stream.Close()));
}

TYPED_TEST(ReflectionTest, FileByFilenameReturnsTheDomainProto) {
    ReflectionStream<TypeParam> stream(*this->stub_);

    auto response = stream.FileByFilename("virtgrpc/v1/domain.proto");

    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->message_response_case(), TypeParam::Response::kFileDescriptorResponse)
        << response->ShortDebugString();
    ASSERT_GT(response->file_descriptor_response().file_descriptor_proto_size(), 0);
    pb::FileDescriptorProto first;
    ASSERT_TRUE(
        first.ParseFromString(response->file_descriptor_response().file_descriptor_proto(0)));
    EXPECT_EQ(first.name(), "virtgrpc/v1/domain.proto");
    EXPECT_EQ(first.package(), "virtgrpc.v1");
    std::vector<std::string> services;
    for (const auto &service : first.service())
        services.push_back(service.name());
    EXPECT_THAT(services, Contains("DomainService"));
    EXPECT_TRUE(Succeeded(stream.Close()));
}

TYPED_TEST(ReflectionTest, UnknownSymbolIsNotFoundAndTheStreamKeepsWorking) {
    ReflectionStream<TypeParam> stream(*this->stub_);

    auto response = stream.FileContainingSymbol("no.Such");

    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->message_response_case(), TypeParam::Response::kErrorResponse)
        << response->ShortDebugString();
    EXPECT_EQ(response->error_response().error_code(),
              static_cast<int>(grpc::StatusCode::NOT_FOUND));
    EXPECT_THAT(stream.ListServices(), Contains("virtgrpc.v1.DomainService"));
    CollectedDescriptors descriptors;
    descriptors.Add(stream.FileContainingSymbol("virtgrpc.v1.Domain"));
    EXPECT_THAT(descriptors.file_names(), Contains("virtgrpc/v1/domain.proto"));
    EXPECT_TRUE(Succeeded(stream.Close()));
}

TYPED_TEST(ReflectionTest, RequestWithoutAQuestionIsInvalidAndTheStreamKeepsWorking) {
    ReflectionStream<TypeParam> stream(*this->stub_);

    auto response = stream.Ask(typename TypeParam::Request());

    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->message_response_case(), TypeParam::Response::kErrorResponse)
        << response->ShortDebugString();
    EXPECT_EQ(response->error_response().error_code(),
              static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_THAT(stream.ListServices(), Contains("virtgrpc.v1.DomainService"));
    EXPECT_TRUE(Succeeded(stream.Close()));
}

TYPED_TEST(ReflectionTest, LibvirtOptionIsAnExtensionOfEnumValueOptions) {
    ReflectionStream<TypeParam> stream(*this->stub_);
    typename TypeParam::Request numbers;
    numbers.set_all_extension_numbers_of_type("google.protobuf.EnumValueOptions");

    auto response = stream.Ask(numbers);

    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->message_response_case(),
              TypeParam::Response::kAllExtensionNumbersResponse)
        << response->ShortDebugString();
    EXPECT_EQ(response->all_extension_numbers_response().base_type_name(),
              "google.protobuf.EnumValueOptions");
    EXPECT_THAT(response->all_extension_numbers_response().extension_number(),
                Contains(v1::kLibvirtFieldNumber));

    typename TypeParam::Request containing;
    containing.mutable_file_containing_extension()->set_containing_type(
        "google.protobuf.EnumValueOptions");
    containing.mutable_file_containing_extension()->set_extension_number(
        v1::kLibvirtFieldNumber);
    CollectedDescriptors descriptors;
    descriptors.Add(stream.Ask(containing));
    EXPECT_THAT(descriptors.file_names(), Contains("virtgrpc/v1/options.proto"));
    EXPECT_TRUE(Succeeded(stream.Close()));
}

// Each flag's libvirt constant is part of the API a reflection client sees.
TYPED_TEST(ReflectionTest, LibvirtConstantsOfEnumValuesTravelAsOptions) {
    ReflectionStream<TypeParam> stream(*this->stub_);

    auto response = stream.FileByFilename("virtgrpc/v1/domain.proto");

    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->message_response_case(), TypeParam::Response::kFileDescriptorResponse);
    pb::FileDescriptorProto file;
    ASSERT_TRUE(
        file.ParseFromString(response->file_descriptor_response().file_descriptor_proto(0)));
    const pb::EnumValueDescriptorProto *paused = nullptr;
    for (const auto &enumeration : file.enum_type()) {
        for (const auto &value : enumeration.value()) {
            if (value.name() == "START_FLAG_PAUSED")
                paused = &value;
        }
    }
    ASSERT_NE(paused, nullptr);
    EXPECT_EQ(paused->options().GetExtension(v1::libvirt), "VIR_DOMAIN_START_PAUSED");
    EXPECT_TRUE(Succeeded(stream.Close()));
}

TYPED_TEST(ReflectionTest, UnknownFileIsNotFound) {
    ReflectionStream<TypeParam> stream(*this->stub_);

    auto response = stream.FileByFilename("no/such.proto");

    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->message_response_case(), TypeParam::Response::kErrorResponse)
        << response->ShortDebugString();
    EXPECT_EQ(response->error_response().error_code(),
              static_cast<int>(grpc::StatusCode::NOT_FOUND));
    EXPECT_TRUE(Succeeded(stream.Close()));
}

TYPED_TEST(ReflectionTest, ResponsesEchoTheirRequest) {
    ReflectionStream<TypeParam> stream(*this->stub_);
    typename TypeParam::Request request;
    request.set_host("example");
    request.set_file_containing_symbol("virtgrpc.v1.DomainService");

    auto response = stream.Ask(request);

    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->original_request().file_containing_symbol(),
              "virtgrpc.v1.DomainService");
    EXPECT_TRUE(Succeeded(stream.Close()));
}

TYPED_TEST(ReflectionTest, StreamEndsOkWhenTheClientHalfCloses) {
    ReflectionStream<TypeParam> stream(*this->stub_);
    stream.ListServices();

    EXPECT_TRUE(Succeeded(stream.Close()));
    EXPECT_EQ(stream.extra_responses(), 0);
}

}  // namespace
}  // namespace virtgrpc::testing
