// DeviceService calls in one line each, for tests on the test driver and on QEMU alike:
// requests built from a domain name, a fixed deadline, the response through a pointer.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "tests/support/domain-request.h"
#include "tests/support/rpc-status.h"
#include "virtgrpc/v1/devices.grpc.pb.h"

namespace virtgrpc::testing
{

class DeviceClient
{
  public:
    explicit DeviceClient(const std::shared_ptr<grpc::Channel> &channel,
                          std::chrono::milliseconds timeout = kCallTimeout)
        : stub_(v1::DeviceService::NewStub(channel)), timeout_(timeout)
    {
    }

    v1::DeviceService::Stub &
    stub()
    {
        return *stub_;
    }

    grpc::Status
    Attach(const std::string &domain, const std::string &xml,
           std::initializer_list<v1::DeviceModifyFlag> flags = {})
    {
        v1::AttachDomainDeviceResponse response;
        return stub_->AttachDomainDevice(
            Context().get(), Modify<v1::AttachDomainDeviceRequest>(domain, xml, flags),
            &response);
    }

    grpc::Status
    Detach(const std::string &domain, const std::string &xml,
           std::initializer_list<v1::DeviceModifyFlag> flags = {})
    {
        v1::DetachDomainDeviceResponse response;
        return stub_->DetachDomainDevice(
            Context().get(), Modify<v1::DetachDomainDeviceRequest>(domain, xml, flags),
            &response);
    }

    grpc::Status
    Update(const std::string &domain, const std::string &xml,
           std::initializer_list<v1::DeviceModifyFlag> flags = {})
    {
        v1::UpdateDomainDeviceResponse response;
        return stub_->UpdateDomainDevice(
            Context().get(), Modify<v1::UpdateDomainDeviceRequest>(domain, xml, flags),
            &response);
    }

    grpc::Status
    DetachAlias(const std::string &domain, const std::string &alias,
                std::initializer_list<v1::DeviceModifyFlag> flags = {})
    {
        auto request = RequestFor<v1::DetachDomainDeviceAliasRequest>(domain);
        request.set_alias(alias);
        for (v1::DeviceModifyFlag flag : flags)
            request.add_flags(flag);
        v1::DetachDomainDeviceAliasResponse response;
        return stub_->DetachDomainDeviceAlias(Context().get(), request, &response);
    }

    grpc::Status
    Peek(const std::string &domain, const std::string &disk, uint64_t offset, uint32_t size,
         std::string *data)
    {
        auto request = RequestFor<v1::PeekDomainBlockRequest>(domain);
        request.set_disk(disk);
        request.set_offset_bytes(offset);
        request.set_size_bytes(size);
        v1::PeekDomainBlockResponse response;
        grpc::Status status = stub_->PeekDomainBlock(Context().get(), request, &response);
        if (data)
            *data = response.data();
        return status;
    }

    grpc::Status
    Resize(const std::string &domain, const std::string &disk, uint64_t bytes)
    {
        auto request = RequestFor<v1::ResizeDomainBlockRequest>(domain);
        request.set_disk(disk);
        request.set_size_bytes(bytes);
        v1::ResizeDomainBlockResponse response;
        return stub_->ResizeDomainBlock(Context().get(), request, &response);
    }

    grpc::Status
    BlockInfo(const std::string &domain, const std::string &disk,
              v1::GetDomainBlockInfoResponse *response)
    {
        auto request = RequestFor<v1::GetDomainBlockInfoRequest>(domain);
        request.set_disk(disk);
        return stub_->GetDomainBlockInfo(Context().get(), request, response);
    }

    grpc::Status
    BlockStats(const std::string &domain, const std::string &disk,
               v1::GetDomainBlockStatsResponse *response)
    {
        auto request = RequestFor<v1::GetDomainBlockStatsRequest>(domain);
        request.set_disk(disk);
        return stub_->GetDomainBlockStats(Context().get(), request, response);
    }

    grpc::Status
    InterfaceStats(const std::string &domain, const std::string &device,
                   v1::GetDomainInterfaceStatsResponse *response)
    {
        auto request = RequestFor<v1::GetDomainInterfaceStatsRequest>(domain);
        request.set_device(device);
        return stub_->GetDomainInterfaceStats(Context().get(), request, response);
    }

    grpc::Status
    SetThreshold(const std::string &domain, const std::string &disk, uint64_t bytes)
    {
        auto request = RequestFor<v1::SetDomainBlockThresholdRequest>(domain);
        request.set_disk(disk);
        request.set_threshold_bytes(bytes);
        v1::SetDomainBlockThresholdResponse response;
        return stub_->SetDomainBlockThreshold(Context().get(), request, &response);
    }

    grpc::Status
    Addresses(const std::string &domain, v1::InterfaceAddressSource source,
              v1::GetDomainInterfaceAddressesResponse *response)
    {
        auto request = RequestFor<v1::GetDomainInterfaceAddressesRequest>(domain);
        request.set_source(source);
        return stub_->GetDomainInterfaceAddresses(Context().get(), request, response);
    }

  private:
    template <typename Request>
    static Request
    Modify(const std::string &domain, const std::string &xml,
           std::initializer_list<v1::DeviceModifyFlag> flags)
    {
        auto request = RequestFor<Request>(domain);
        request.set_device_xml(xml);
        for (v1::DeviceModifyFlag flag : flags)
            request.add_flags(flag);
        return request;
    }

    std::unique_ptr<grpc::ClientContext>
    Context()
    {
        return ContextWithDeadline(timeout_);
    }

    std::unique_ptr<v1::DeviceService::Stub> stub_;
    std::chrono::milliseconds timeout_;
};

} // namespace virtgrpc::testing
