// A test client for ConsoleService's bidirectional byte streams (OpenDomainConsole,
// OpenDomainChannel, OpenDomainGraphics): sends `open` then input, collects the output
// on a thread of its own, and waits for text to appear or for the stream to end.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "tests/support/rpc-status.h"
#include "virtgrpc/v1/console.grpc.pb.h"

namespace virtgrpc::testing {

template <typename Request> class ByteStreamClient {
  public:
    using Stream = grpc::ClientReaderWriter<Request, v1::GuestOutput>;
    using OpenFn = std::unique_ptr<Stream> (v1::ConsoleService::Stub::*)(grpc::ClientContext *);

    // Opens the RPC and sends `open` as the first message. The whole stream must end
    // within `deadline`.
    template <typename Open>
    ByteStreamClient(v1::ConsoleService::Stub *stub, OpenFn open_fn, const Open &open,
                     std::chrono::milliseconds deadline = std::chrono::minutes(3))
        : context_(ContextWithDeadline(deadline)) {
        stream_ = (stub->*open_fn)(context_.get());
        Request request;
        request.mutable_open()->CopyFrom(open);
        stream_->Write(request);
        reader_ = std::thread([this] { ReadAll(); });
    }

    ~ByteStreamClient() {
        context_->TryCancel();
        reader_.join();
    }

    // Sends `bytes` as one input message; false once the stream is over.
    bool Send(const std::string &bytes) {
        Request request;
        request.set_input(bytes);
        return stream_->Write(request);
    }

    // Sends a raw request (to test bad input).
    bool SendRequest(const Request &request) { return stream_->Write(request); }

    // Half-closes: the client sends no more.
    void CloseSend() { stream_->WritesDone(); }

    // Cancels the RPC from the client's side.
    void Cancel() { context_->TryCancel(); }

    // Everything received so far.
    std::string Output() {
        std::lock_guard<std::mutex> lock(mutex_);
        return output_;
    }
    size_t OutputSize() {
        std::lock_guard<std::mutex> lock(mutex_);
        return output_.size();
    }

    // Waits until the output from byte `from` on contains `text`; true when it does.
    bool WaitFor(const std::string &text, std::chrono::milliseconds timeout,
                 size_t from = 0) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] {
            return output_.find(text, from < output_.size() ? from : output_.size()) !=
                   std::string::npos;
        });
    }

    // Waits until the output holds at least `size` bytes.
    bool WaitForSize(size_t size, std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return output_.size() >= size; });
    }

    // Waits until the server ended the stream; true when it did within `timeout`.
    bool WaitEnded(std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return ended_; });
    }

    // The final status; only meaningful once WaitEnded returned true.
    grpc::Status status() {
        std::lock_guard<std::mutex> lock(mutex_);
        return status_;
    }

  private:
    void ReadAll() {
        v1::GuestOutput message;
        while (stream_->Read(&message)) {
            std::lock_guard<std::mutex> lock(mutex_);
            output_ += message.output();
            changed_.notify_all();
        }
        grpc::Status status = stream_->Finish();
        std::lock_guard<std::mutex> lock(mutex_);
        status_ = status;
        ended_ = true;
        changed_.notify_all();
    }

    std::unique_ptr<grpc::ClientContext> context_;
    std::unique_ptr<Stream> stream_;
    std::thread reader_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::string output_;
    bool ended_ = false;
    grpc::Status status_;
};

using ConsoleClient = ByteStreamClient<v1::OpenDomainConsoleRequest>;
using ChannelClient = ByteStreamClient<v1::OpenDomainChannelRequest>;
using GraphicsClient = ByteStreamClient<v1::OpenDomainGraphicsRequest>;

}  // namespace virtgrpc::testing
