// Calling any RPC by its path with raw request bytes, for tests that sweep over every
// method (roles, bad input) without a stub per method.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace virtgrpc::testing
{

// A unary call of `method` ("/pkg.Service/Method") with `payload` as the request bytes.
grpc::Status CallRawUnary(const std::shared_ptr<grpc::Channel> &channel,
                          const std::string &method, const std::string &payload,
                          std::chrono::milliseconds timeout);

// A streaming call (any direction): sends `payload` as one message, half-closes, then
// reads until the stream ends or its first message arrived (then it cancels the call:
// a Watch never ends by itself). `*messages_read` is 0 or 1.
grpc::Status CallRawStream(const std::shared_ptr<grpc::Channel> &channel,
                           const std::string &method, const std::string &payload,
                           std::chrono::milliseconds timeout, int *messages_read);

} // namespace virtgrpc::testing
