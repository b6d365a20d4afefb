// The C client against an in-process grpc++ server that stands in for virtgrpcd: every
// call shape (unary, server streaming, bidirectional), failures with the rich
// google.rpc.Status, deadlines, cancellation from another thread, many threads on
// one vg_client, the connection options (max message size, default deadline) and
// TLS / mutual TLS against a grpc++ server with SSL credentials. Health and reflection carry the test traffic because they exercise
// all three shapes; their behaviour here is the fake's, not virtgrpcd's.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <sstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

#include <virtgrpc/virtgrpc.h>

namespace {

namespace health = grpc::health::v1;
namespace reflection = grpc::reflection::v1alpha;

// Check answers by `service`: "" SERVING; "missing" NOT_FOUND with an ErrorInfo;
// "slow" waits until the client gives up.
// Watch sends `service` = "count:N" N messages then OK; "fail" one message then ABORTED;
// "forever" one message every few ms until cancelled.
class FakeHealth final : public health::Health::Service {
  public:
    grpc::Status
    Check(grpc::ServerContext *context, const health::HealthCheckRequest *request,
          health::HealthCheckResponse *response) override
    {
        if (request->service() == "missing") {
            google::rpc::ErrorInfo info;
            info.set_reason("VIR_ERR_NO_DOMAIN");
            info.set_domain("libvirt.org");
            (*info.mutable_metadata())["code"] = "42";
            google::rpc::Status status;
            status.set_code(grpc::StatusCode::NOT_FOUND);
            status.set_message("Domain not found: no domain with matching name 'missing'");
            status.add_details()->PackFrom(info);
            return grpc::Status(grpc::StatusCode::NOT_FOUND, status.message(),
                                status.SerializeAsString());
        }
        if (request->service() == "slow") {
            while (!context->IsCancelled()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            return grpc::Status::CANCELLED;
        }
        response->set_status(health::HealthCheckResponse::SERVING);
        return grpc::Status::OK;
    }

    grpc::Status
    Watch(grpc::ServerContext *context, const health::HealthCheckRequest *request,
          grpc::ServerWriter<health::HealthCheckResponse> *writer) override
    {
        health::HealthCheckResponse response;
        response.set_status(health::HealthCheckResponse::SERVING);
        const std::string &service = request->service();
        if (service.rfind("count:", 0) == 0) {
            int count = std::stoi(service.substr(6));
            for (int i = 0; i < count; i++) {
                writer->Write(response);
            }
            return grpc::Status::OK;
        }
        if (service == "fail") {
            writer->Write(response);
            return grpc::Status(grpc::StatusCode::ABORTED, "the watch broke");
        }
        while (!context->IsCancelled() && writer->Write(response)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return grpc::Status::CANCELLED;
    }
};

// Echoes every request's `host` back as `valid_host`, until the client half-closes.
class FakeReflection final : public reflection::ServerReflection::Service {
  public:
    grpc::Status
    ServerReflectionInfo(grpc::ServerContext *context,
                         grpc::ServerReaderWriter<reflection::ServerReflectionResponse,
                                                  reflection::ServerReflectionRequest>
                             *stream) override
    {
        reflection::ServerReflectionRequest request;
        while (stream->Read(&request)) {
            reflection::ServerReflectionResponse response;
            response.set_valid_host(request.host());
            stream->Write(response);
        }
        return grpc::Status::OK;
    }
};

class ClientTest : public ::testing::Test {
  protected:
    void
    SetUp() override
    {
        int port = 0;
        grpc::ServerBuilder builder;
        builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
        builder.RegisterService(&health_);
        builder.RegisterService(&reflection_);
        server_ = builder.BuildAndStart();
        ASSERT_NE(server_, nullptr);
        target_ = "127.0.0.1:" + std::to_string(port);

        vg_client_options options = {};
        options.target = target_.c_str();
        ASSERT_EQ(vg_client_new(&options, &client_, &status_), 0) << status_.message;
    }

    void
    TearDown() override
    {
        client_ = vg_client_free(client_);
        vg_status_clear(&status_);
        if (server_ != nullptr) {
            server_->Shutdown(std::chrono::system_clock::now());
        }
    }

    int
    Check(const char *service, int64_t deadline_ms,
          Grpc__Health__V1__HealthCheckResponse **response)
    {
        Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        request.service = const_cast<char *>(service);
        return vgc_grpc_health_v1_health_check(client_, &request, response, deadline_ms,
                                               &status_);
    }

    int
    OpenWatch(const char *service, vg_client_stream **stream)
    {
        Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        request.service = const_cast<char *>(service);
        return vgc_grpc_health_v1_health_watch_open(client_, &request, -1, stream, &status_);
    }

    FakeHealth health_;
    FakeReflection reflection_;
    std::unique_ptr<grpc::Server> server_;
    std::string target_;
    vg_client *client_ = nullptr;
    vg_status status_ = {};
};

TEST_F(ClientTest, UnaryCallReturnsTheResponse)
{
    Grpc__Health__V1__HealthCheckResponse *response = nullptr;
    ASSERT_EQ(Check("", 0, &response), 0) << status_.message;
    EXPECT_EQ(response->status,
              GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    protobuf_c_message_free_unpacked(&response->base, nullptr);
}

TEST_F(ClientTest, FailedCallCarriesTheErrorInfo)
{
    Grpc__Health__V1__HealthCheckResponse *response = nullptr;
    ASSERT_EQ(Check("missing", 0, &response), -1);
    EXPECT_EQ(response, nullptr);
    EXPECT_EQ(status_.code, VG_CODE_NOT_FOUND);
    EXPECT_STREQ(status_.message, "Domain not found: no domain with matching name 'missing'");
    EXPECT_STREQ(status_.reason, "VIR_ERR_NO_DOMAIN");
    EXPECT_STREQ(status_.error_domain, "libvirt.org");
    EXPECT_EQ(status_.libvirt_code, 42);
}

TEST_F(ClientTest, StatusClearResetsToOk)
{
    Grpc__Health__V1__HealthCheckResponse *response = nullptr;
    ASSERT_EQ(Check("missing", 0, &response), -1);
    vg_status_clear(&status_);
    EXPECT_EQ(status_.code, VG_CODE_OK);
    EXPECT_EQ(status_.message, nullptr);
    EXPECT_EQ(status_.reason, nullptr);
    EXPECT_EQ(status_.error_domain, nullptr);
    EXPECT_EQ(status_.libvirt_code, 0);
}

TEST_F(ClientTest, UnaryCallPastItsDeadlineFailsDeadlineExceeded)
{
    Grpc__Health__V1__HealthCheckResponse *response = nullptr;
    ASSERT_EQ(Check("slow", 100, &response), -1);
    EXPECT_EQ(status_.code, VG_CODE_DEADLINE_EXCEEDED);
    EXPECT_EQ(status_.reason, nullptr);
}

TEST_F(ClientTest, CallToNoServerFailsUnavailable)
{
    server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
    Grpc__Health__V1__HealthCheckResponse *response = nullptr;
    ASSERT_EQ(Check("", 5000, &response), -1);
    EXPECT_EQ(status_.code, VG_CODE_UNAVAILABLE);
    EXPECT_NE(status_.message, nullptr);
}

TEST_F(ClientTest, MissingArgumentsFailInvalidArgument)
{
    ProtobufCMessage *response = nullptr;
    EXPECT_EQ(vg_client_call_unary(client_, "/grpc.health.v1.Health/Check", nullptr,
                                   &grpc__health__v1__health_check_response__descriptor,
                                   &response, 0, &status_),
              -1);
    EXPECT_EQ(status_.code, VG_CODE_INVALID_ARGUMENT);
    vg_status_clear(&status_);

    vg_client *client = nullptr;
    vg_client_options options = {};
    EXPECT_EQ(vg_client_new(&options, &client, &status_), -1);
    EXPECT_EQ(status_.code, VG_CODE_INVALID_ARGUMENT);
    EXPECT_EQ(client, nullptr);
}

TEST_F(ClientTest, ManyThreadsShareOneClient)
{
    const int threads = 16;
    const int calls = 50;
    std::atomic<int> succeeded{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; t++) {
        workers.emplace_back([&] {
            for (int i = 0; i < calls; i++) {
                Grpc__Health__V1__HealthCheckRequest request =
                    GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
                Grpc__Health__V1__HealthCheckResponse *response = nullptr;
                vg_status status = {};
                if (vgc_grpc_health_v1_health_check(client_, &request, &response, 0,
                                                    &status) == 0) {
                    succeeded++;
                    protobuf_c_message_free_unpacked(&response->base, nullptr);
                }
                vg_status_clear(&status);
            }
        });
    }
    for (std::thread &worker : workers) {
        worker.join();
    }
    EXPECT_EQ(succeeded.load(), threads * calls);
}

TEST_F(ClientTest, ServerStreamReadsEveryMessageThenEnds)
{
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(OpenWatch("count:3", &stream), 0) << status_.message;
    for (int i = 0; i < 3; i++) {
        Grpc__Health__V1__HealthCheckResponse *message = nullptr;
        ASSERT_EQ(vgc_grpc_health_v1_health_watch_next(stream, &message, &status_), 1);
        EXPECT_EQ(message->status,
                  GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
        protobuf_c_message_free_unpacked(&message->base, nullptr);
    }
    Grpc__Health__V1__HealthCheckResponse *message = nullptr;
    EXPECT_EQ(vgc_grpc_health_v1_health_watch_next(stream, &message, &status_), 0);
    EXPECT_EQ(vgc_grpc_health_v1_health_watch_next(stream, &message, &status_), 0);
    EXPECT_EQ(message, nullptr);
    stream = vg_client_stream_free(stream);
}

TEST_F(ClientTest, ServerStreamFailureReportsTheStatus)
{
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(OpenWatch("fail", &stream), 0) << status_.message;
    Grpc__Health__V1__HealthCheckResponse *message = nullptr;
    ASSERT_EQ(vgc_grpc_health_v1_health_watch_next(stream, &message, &status_), 1);
    protobuf_c_message_free_unpacked(&message->base, nullptr);
    EXPECT_EQ(vgc_grpc_health_v1_health_watch_next(stream, &message, &status_), -1);
    EXPECT_EQ(status_.code, VG_CODE_ABORTED);
    EXPECT_STREQ(status_.message, "the watch broke");
    stream = vg_client_stream_free(stream);
}

TEST_F(ClientTest, CancelFromAnotherThreadEndsABlockedRead)
{
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(OpenWatch("forever", &stream), 0) << status_.message;

    std::mutex lock;
    std::condition_variable changed;
    bool first_read = false;
    std::thread canceller([&] {
        std::unique_lock<std::mutex> guard(lock);
        changed.wait(guard, [&] { return first_read; });
        vg_client_stream_cancel(stream);
    });

    int rc;
    int messages = 0;
    Grpc__Health__V1__HealthCheckResponse *message = nullptr;
    while ((rc = vgc_grpc_health_v1_health_watch_next(stream, &message, &status_)) == 1) {
        protobuf_c_message_free_unpacked(&message->base, nullptr);
        if (++messages == 1) {
            std::lock_guard<std::mutex> guard(lock);
            first_read = true;
            changed.notify_one();
        }
    }
    canceller.join();
    EXPECT_EQ(rc, -1);
    EXPECT_EQ(status_.code, VG_CODE_CANCELLED);
    stream = vg_client_stream_free(stream);
}

TEST_F(ClientTest, EachStopsWhenTheCallbackSaysSo)
{
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(OpenWatch("forever", &stream), 0) << status_.message;
    int seen = 0;
    auto stop_at_two = [](const ProtobufCMessage *message, void *user_data) -> int {
        int *count = static_cast<int *>(user_data);
        EXPECT_EQ(message->descriptor, &grpc__health__v1__health_check_response__descriptor);
        return ++*count == 2;
    };
    EXPECT_EQ(vg_client_stream_each(stream, stop_at_two, &seen, &status_), 0);
    EXPECT_EQ(seen, 2);
    stream = vg_client_stream_free(stream);
}

TEST_F(ClientTest, FreeingAnOpenStreamCancelsIt)
{
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(OpenWatch("forever", &stream), 0) << status_.message;
    EXPECT_EQ(vg_client_stream_free(stream), nullptr);
}

TEST_F(ClientTest, BidiStreamSendsAndReceivesInOrder)
{
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(vgc_grpc_reflection_v1alpha_server_reflection_server_reflection_info_open(
                  client_, 5000, &stream, &status_),
              0)
        << status_.message;

    const char *hosts[] = {"a", "b", "c"};
    for (const char *host : hosts) {
        Grpc__Reflection__V1alpha__ServerReflectionRequest request =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
        request.host = const_cast<char *>(host);
        ASSERT_EQ(vgc_grpc_reflection_v1alpha_server_reflection_server_reflection_info_send(
                      stream, &request, &status_),
                  0)
            << status_.message;
    }
    ASSERT_EQ(vg_client_stream_close_send(stream, &status_), 0);
    Grpc__Reflection__V1alpha__ServerReflectionRequest late =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
    EXPECT_EQ(vgc_grpc_reflection_v1alpha_server_reflection_server_reflection_info_send(
                  stream, &late, &status_),
              -1);
    EXPECT_EQ(status_.code, VG_CODE_FAILED_PRECONDITION);
    vg_status_clear(&status_);

    for (const char *host : hosts) {
        Grpc__Reflection__V1alpha__ServerReflectionResponse *response = nullptr;
        ASSERT_EQ(vgc_grpc_reflection_v1alpha_server_reflection_server_reflection_info_next(
                      stream, &response, &status_),
                  1);
        EXPECT_STREQ(response->valid_host, host);
        protobuf_c_message_free_unpacked(&response->base, nullptr);
    }
    Grpc__Reflection__V1alpha__ServerReflectionResponse *response = nullptr;
    EXPECT_EQ(vgc_grpc_reflection_v1alpha_server_reflection_server_reflection_info_next(
                  stream, &response, &status_),
              0);
    stream = vg_client_stream_free(stream);
}

TEST_F(ClientTest, SendOnAServerStreamIsRejected)
{
    vg_client_stream *stream = nullptr;
    ASSERT_EQ(OpenWatch("count:1", &stream), 0) << status_.message;
    Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    EXPECT_EQ(vg_client_stream_send(stream, &request.base, &status_), -1);
    EXPECT_EQ(status_.code, VG_CODE_INVALID_ARGUMENT);
    stream = vg_client_stream_free(stream);
}

TEST_F(ClientTest, DefaultDeadlineAppliesWhenTheCallPassesZero)
{
    vg_client_options options = {};
    options.target = target_.c_str();
    options.default_deadline_ms = 200;
    vg_client *quick = nullptr;
    ASSERT_EQ(vg_client_new(&options, &quick, &status_), 0);

    Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    request.service = const_cast<char *>("slow");
    Grpc__Health__V1__HealthCheckResponse *response = nullptr;
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(vgc_grpc_health_v1_health_check(quick, &request, &response, 0, &status_), -1);
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(status_.code, VG_CODE_DEADLINE_EXCEEDED);
    EXPECT_GE(took, std::chrono::milliseconds(150));
    EXPECT_LT(took, std::chrono::seconds(3));
    vg_client_free(quick);
}

TEST_F(ClientTest, MessageOverMaxMessageBytesFailsResourceExhausted)
{
    vg_client_options options = {};
    options.target = target_.c_str();
    options.max_message_bytes = 1024;
    vg_client *small = nullptr;
    ASSERT_EQ(vg_client_new(&options, &small, &status_), 0);

    vg_client_stream *stream = nullptr;
    ASSERT_EQ(vgc_grpc_reflection_v1alpha_server_reflection_server_reflection_info_open(
                  small, 5000, &stream, &status_),
              0);
    std::string big(4096, 'x');
    for (const std::string &host : {std::string("fits"), big}) {
        Grpc__Reflection__V1alpha__ServerReflectionRequest request =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
        request.host = const_cast<char *>(host.c_str());
        ASSERT_EQ(vgc_grpc_reflection_v1alpha_server_reflection_server_reflection_info_send(
                      stream, &request, &status_),
                  0)
            << status_.message;
    }
    Grpc__Reflection__V1alpha__ServerReflectionResponse *response = nullptr;
    ASSERT_EQ(vgc_grpc_reflection_v1alpha_server_reflection_server_reflection_info_next(
                  stream, &response, &status_),
              1);
    EXPECT_STREQ(response->valid_host, "fits");
    protobuf_c_message_free_unpacked(&response->base, nullptr);
    EXPECT_EQ(vgc_grpc_reflection_v1alpha_server_reflection_server_reflection_info_next(
                  stream, &response, &status_),
              -1);
    EXPECT_EQ(status_.code, VG_CODE_RESOURCE_EXHAUSTED) << status_.message;
    stream = vg_client_stream_free(stream);
    vg_client_free(small);
}

TEST_F(ClientTest, CodeNamesAreGrpcs)
{
    EXPECT_STREQ(vg_code_name(VG_CODE_OK), "OK");
    EXPECT_STREQ(vg_code_name(VG_CODE_NOT_FOUND), "NOT_FOUND");
    EXPECT_STREQ(vg_code_name(VG_CODE_UNAUTHENTICATED), "UNAUTHENTICATED");
    EXPECT_STREQ(vg_code_name(static_cast<vg_code>(17)), "UNKNOWN_CODE");
    EXPECT_STREQ(vg_code_name(static_cast<vg_code>(-1)), "UNKNOWN_CODE");
}

// --- TLS ---------------------------------------------------------------------------

// The test certificates (client/testdata/make-certs.sh), from the runfiles.
std::string
CertPath(const char *name)
{
    return std::string("client/testdata/") + name;
}

std::string
ReadCert(const char *name)
{
    std::ifstream in(CertPath(name));
    std::stringstream contents;
    contents << in.rdbuf();
    EXPECT_FALSE(contents.str().empty()) << "cannot read " << CertPath(name);
    return contents.str();
}

// A fake server on 127.0.0.1 with a certificate for localhost and 127.0.0.1 signed by
// the test CA; `require_client_cert`: mutual TLS with client certificates of that CA.
class TlsClientTest : public ::testing::Test {
  protected:
    void
    StartServer(bool require_client_cert)
    {
        grpc::SslServerCredentialsOptions ssl(
            require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
        ssl.pem_root_certs = ReadCert("ca.pem");
        ssl.pem_key_cert_pairs.push_back({ReadCert("server.key"), ReadCert("server.pem")});
        int port = 0;
        grpc::ServerBuilder builder;
        builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port);
        builder.RegisterService(&health_);
        server_ = builder.BuildAndStart();
        ASSERT_NE(server_, nullptr);
        port_ = port;
        target_ = "127.0.0.1:" + std::to_string(port);
    }

    void
    TearDown() override
    {
        vg_status_clear(&status_);
        if (server_ != nullptr) {
            server_->Shutdown(std::chrono::system_clock::now());
        }
    }

    // Health.Check with a client made from `options` (target filled in): 0 or -1.
    int
    CheckWith(vg_client_options options)
    {
        if (options.target == nullptr) {
            options.target = target_.c_str();
        }
        vg_client *client = nullptr;
        if (vg_client_new(&options, &client, &status_) < 0) {
            ADD_FAILURE() << "vg_client_new: " << status_.message;
            return -1;
        }
        Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        Grpc__Health__V1__HealthCheckResponse *response = nullptr;
        int rc = vgc_grpc_health_v1_health_check(client, &request, &response, 3000, &status_);
        if (rc == 0) {
            EXPECT_EQ(response->status,
                      GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
            protobuf_c_message_free_unpacked(&response->base, nullptr);
        }
        vg_client_free(client);
        return rc;
    }

    FakeHealth health_;
    std::unique_ptr<grpc::Server> server_;
    std::string target_;
    int port_ = 0;
    vg_status status_ = {};
    const std::string ca_ = CertPath("ca.pem");
    const std::string cert_ = CertPath("client.pem");
    const std::string key_ = CertPath("client.key");
};

TEST_F(TlsClientTest, ServerTlsWithTheCaFileConnects)
{
    StartServer(false);
    vg_client_options options = {};
    options.tls.ca_file = ca_.c_str();
    EXPECT_EQ(CheckWith(options), 0) << status_.message;
}

TEST_F(TlsClientTest, MutualTlsWithCertificateFilesConnects)
{
    StartServer(true);
    vg_client_options options = {};
    options.tls.ca_file = ca_.c_str();
    options.tls.cert_file = cert_.c_str();
    options.tls.key_file = key_.c_str();
    EXPECT_EQ(CheckWith(options), 0) << status_.message;
}

TEST_F(TlsClientTest, MutualTlsWithPemStringsConnects)
{
    StartServer(true);
    std::string ca = ReadCert("ca.pem"), cert = ReadCert("client.pem"), key = ReadCert("client.key");
    vg_client_options options = {};
    options.tls.ca_pem = ca.c_str();
    options.tls.cert_pem = cert.c_str();
    options.tls.key_pem = key.c_str();
    EXPECT_EQ(CheckWith(options), 0) << status_.message;
}

TEST_F(TlsClientTest, MutualTlsWithoutAClientCertificateIsRefused)
{
    StartServer(true);
    vg_client_options options = {};
    options.tls.ca_file = ca_.c_str();
    EXPECT_EQ(CheckWith(options), -1);
    EXPECT_EQ(status_.code, VG_CODE_UNAVAILABLE) << status_.message;
}

TEST_F(TlsClientTest, ServerSignedByAnotherCaIsRefused)
{
    StartServer(false);
    std::string other = CertPath("other-ca.pem");
    vg_client_options options = {};
    options.tls.ca_file = other.c_str();
    EXPECT_EQ(CheckWith(options), -1);
    EXPECT_EQ(status_.code, VG_CODE_UNAVAILABLE) << status_.message;
}

TEST_F(TlsClientTest, ServerNameIsWhatTheCertificateMustName)
{
    StartServer(false);
    vg_client_options options = {};
    options.tls.ca_file = ca_.c_str();
    options.tls.server_name = "not-the-server.example";
    EXPECT_EQ(CheckWith(options), -1);
    EXPECT_EQ(status_.code, VG_CODE_UNAVAILABLE) << status_.message;
    vg_status_clear(&status_);

    options.tls.server_name = "localhost";
    EXPECT_EQ(CheckWith(options), 0) << status_.message;
}

TEST_F(TlsClientTest, PlaintextClientFailsAgainstTlsWithinItsDeadline)
{
    StartServer(false);
    vg_client_options options = {};
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(CheckWith(options), -1);
    EXPECT_TRUE(status_.code == VG_CODE_UNAVAILABLE || status_.code == VG_CODE_DEADLINE_EXCEEDED)
        << status_.message;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(TlsOptionsTest, BadTlsOptionsFailClientCreation)
{
    vg_client *client = nullptr;
    vg_status status = {};
    vg_client_options options = {};
    options.target = "127.0.0.1:1";

    options.tls.ca_file = "/nonexistent/ca.pem";
    EXPECT_EQ(vg_client_new(&options, &client, &status), -1);
    EXPECT_EQ(status.code, VG_CODE_INVALID_ARGUMENT);
    EXPECT_NE(std::string(status.message).find("'/nonexistent/ca.pem'"), std::string::npos)
        << status.message;
    vg_status_clear(&status);

    std::string cert = CertPath("client.pem");
    options.tls.ca_file = nullptr;
    options.tls.cert_file = cert.c_str();  // without its key
    EXPECT_EQ(vg_client_new(&options, &client, &status), -1);
    EXPECT_EQ(status.code, VG_CODE_INVALID_ARGUMENT);
    EXPECT_NE(std::string(status.message).find("needs its key"), std::string::npos)
        << status.message;
    vg_status_clear(&status);
    EXPECT_EQ(client, nullptr);
}

}  // namespace
