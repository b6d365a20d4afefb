#include "tests/support/raw-call.h"

#include <future>

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

namespace virtgrpc::testing
{

namespace
{

std::unique_ptr<grpc::ClientContext>
Context(std::chrono::milliseconds timeout)
{
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    return context;
}

} // namespace

grpc::Status
CallRawUnary(const std::shared_ptr<grpc::Channel> &channel, const std::string &method,
             const std::string &payload, std::chrono::milliseconds timeout)
{
    grpc::GenericStub stub(channel);
    auto context = Context(timeout);
    grpc::Slice slice(payload);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status status) { done.set_value(std::move(status)); });
    return done.get_future().get();
}

grpc::Status
CallRawStream(const std::shared_ptr<grpc::Channel> &channel, const std::string &method,
              const std::string &payload, std::chrono::milliseconds timeout,
              int *messages_read)
{
    grpc::GenericStub stub(channel);
    grpc::CompletionQueue queue;
    auto context = Context(timeout);
    auto call = stub.PrepareCall(context.get(), method, &queue);
    // Each step completes on `queue` before the next starts; the deadline bounds all.
    auto step = [&queue](void *expected_tag) {
        void *tag = nullptr;
        bool ok = false;
        EXPECT_TRUE(queue.Next(&tag, &ok));
        EXPECT_EQ(tag, expected_tag);
        return ok;
    };
    int tags[5];
    *messages_read = 0;
    call->StartCall(&tags[0]);
    if (step(&tags[0])) {
        grpc::Slice slice(payload);
        grpc::ByteBuffer message(&slice, 1);
        call->Write(message, &tags[1]);
        if (step(&tags[1])) {
            call->WritesDone(&tags[2]);
            step(&tags[2]);
        }
        grpc::ByteBuffer response;
        call->Read(&response, &tags[3]);
        if (step(&tags[3])) {
            *messages_read = 1;
            context->TryCancel();
        }
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

} // namespace virtgrpc::testing
