// The C client against an in-process grpc++ server that stands in for virtgrpcd: every
// call shape (unary, server streaming, bidirectional), failures with the rich
// google.rpc.Status, deadlines, cancellation from another thread, and many threads on
// one vg_client. Health and reflection carry the test traffic because they exercise
// all three shapes; their behaviour here is the fake's, not virtgrpcd's.
#include <atomic>
#include <chrono>
#include <condition_variable>
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

}  // namespace
