// One line per DomainService call in tests: the stub method, the request, the response,
// and a deadline, instead of a ClientContext dance per call.
//
//   v1::DomainTime time;
//   grpc::Status status = CallDomains(*domains_, &v1::DomainService::Stub::GetDomainTime,
//                                     request, &time);
#pragma once

#include <chrono>

#include <grpcpp/grpcpp.h>

#include "tests/support/rpc-status.h"
#include "virtgrpc/v1/domain.grpc.pb.h"

namespace virtgrpc::testing
{

template <typename Request, typename Response>
using DomainMethod = grpc::Status (v1::DomainService::Stub::*)(grpc::ClientContext *,
                                                               const Request &, Response *);

// Calls `method` on `stub` with a deadline of `timeout`.
template <typename Request, typename Response>
grpc::Status
CallDomains(v1::DomainService::Stub &stub, DomainMethod<Request, Response> method,
            const Request &request, Response *response,
            std::chrono::milliseconds timeout = kCallTimeout)
{
    return (stub.*method)(ContextWithDeadline(timeout).get(), request, response);
}

// Gives a fixture derived from ServerTest (or QemuGuestTest...) a member
// `Call(&v1::DomainService::Stub::GetDomainTime, request, &response)` on its `domains_`
// stub:
//   class DomainPowerTest : public DomainCalls<ServerTest> { ... };
template <typename Base> class DomainCalls : public Base
{
  protected:
    template <typename Request, typename Response>
    grpc::Status
    Call(DomainMethod<Request, Response> method, const Request &request, Response *response,
         std::chrono::milliseconds timeout = kCallTimeout)
    {
        return CallDomains(*this->domains_, method, request, response, timeout);
    }
};

} // namespace virtgrpc::testing
