// SnapshotService and CheckpointService calls in one line each, for tests on the test
// driver and on QEMU alike: requests built from a domain name (and a snapshot or
// checkpoint name), a deadline, the response through a pointer. Listings come back as
// the names in the server's order, which is what most assertions compare.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"
#include "virtgrpc/v1/checkpoints.grpc.pb.h"
#include "virtgrpc/v1/snapshots.grpc.pb.h"

namespace virtgrpc::testing
{

// `<domainsnapshot><name>NAME</name></domainsnapshot>`, plus `inner` elements.
inline std::string
SnapshotXml(const std::string &name, const std::string &inner = "")
{
    return "<domainsnapshot><name>" + name + "</name>" + inner + "</domainsnapshot>";
}

// `<domaincheckpoint><name>NAME</name></domaincheckpoint>`.
inline std::string
CheckpointXml(const std::string &name)
{
    return "<domaincheckpoint><name>" + name + "</name></domaincheckpoint>";
}

class SnapshotClient
{
  public:
    explicit SnapshotClient(const std::shared_ptr<grpc::Channel> &channel)
        : snapshots_(v1::SnapshotService::NewStub(channel)),
          checkpoints_(v1::CheckpointService::NewStub(channel))
    {
    }

    static v1::SnapshotRef
    Ref(const std::string &domain, const std::string &name)
    {
        v1::SnapshotRef ref;
        *ref.mutable_domain() = RefByName(domain);
        ref.set_name(name);
        return ref;
    }

    static v1::CheckpointRef
    CheckpointRef(const std::string &domain, const std::string &name)
    {
        v1::CheckpointRef ref;
        *ref.mutable_domain() = RefByName(domain);
        ref.set_name(name);
        return ref;
    }

    // ---- snapshots ----

    grpc::Status
    Create(const std::string &domain, const std::string &xml,
           std::initializer_list<v1::SnapshotCreateFlag> flags = {},
           v1::Snapshot *snapshot = nullptr,
           std::chrono::milliseconds timeout = kCallTimeout)
    {
        v1::CreateDomainSnapshotRequest request;
        *request.mutable_domain() = RefByName(domain);
        request.set_xml(xml);
        for (v1::SnapshotCreateFlag flag : flags)
            request.add_flags(flag);
        v1::Snapshot ignored;
        return snapshots_->CreateDomainSnapshot(ContextWithDeadline(timeout).get(), request,
                                                snapshot ? snapshot : &ignored);
    }

    grpc::Status
    List(const std::string &domain, std::initializer_list<v1::SnapshotListFlag> filters,
         v1::ListDomainSnapshotsResponse *response)
    {
        v1::ListDomainSnapshotsRequest request;
        *request.mutable_domain() = RefByName(domain);
        for (v1::SnapshotListFlag filter : filters)
            request.add_filters(filter);
        return snapshots_->ListDomainSnapshots(ContextWithDeadline().get(), request,
                                               response);
    }

    // The names ListDomainSnapshots returns; fails the test when the call fails.
    std::vector<std::string>
    ListNames(const std::string &domain,
              std::initializer_list<v1::SnapshotListFlag> filters = {})
    {
        v1::ListDomainSnapshotsResponse response;
        EXPECT_TRUE(Succeeded(List(domain, filters, &response))) << "ListDomainSnapshots";
        std::vector<std::string> names;
        for (const v1::Snapshot &snapshot : response.snapshots())
            names.push_back(snapshot.name());
        return names;
    }

    grpc::Status
    Count(const std::string &domain, std::initializer_list<v1::SnapshotListFlag> filters,
          uint32_t *count)
    {
        v1::CountDomainSnapshotsRequest request;
        *request.mutable_domain() = RefByName(domain);
        for (v1::SnapshotListFlag filter : filters)
            request.add_filters(filter);
        v1::CountDomainSnapshotsResponse response;
        grpc::Status status = snapshots_->CountDomainSnapshots(ContextWithDeadline().get(),
                                                               request, &response);
        *count = response.count();
        return status;
    }

    // CountDomainSnapshots; fails the test when the call fails.
    uint32_t
    CountOf(const std::string &domain,
            std::initializer_list<v1::SnapshotListFlag> filters = {})
    {
        uint32_t count = 0;
        EXPECT_TRUE(Succeeded(Count(domain, filters, &count))) << "CountDomainSnapshots";
        return count;
    }

    grpc::Status
    Names(const std::string &domain, std::initializer_list<v1::SnapshotListFlag> filters,
          std::vector<std::string> *names)
    {
        v1::ListDomainSnapshotNamesRequest request;
        *request.mutable_domain() = RefByName(domain);
        for (v1::SnapshotListFlag filter : filters)
            request.add_filters(filter);
        v1::ListDomainSnapshotNamesResponse response;
        grpc::Status status = snapshots_->ListDomainSnapshotNames(
            ContextWithDeadline().get(), request, &response);
        names->assign(response.names().begin(), response.names().end());
        return status;
    }

    grpc::Status
    Get(const std::string &domain, const std::string &name, v1::Snapshot *snapshot)
    {
        v1::GetDomainSnapshotRequest request;
        *request.mutable_snapshot() = Ref(domain, name);
        return snapshots_->GetDomainSnapshot(ContextWithDeadline().get(), request,
                                             snapshot);
    }

    grpc::Status
    HasCurrent(const std::string &domain, bool *has_current)
    {
        v1::HasDomainCurrentSnapshotRequest request;
        *request.mutable_domain() = RefByName(domain);
        v1::HasDomainCurrentSnapshotResponse response;
        grpc::Status status = snapshots_->HasDomainCurrentSnapshot(
            ContextWithDeadline().get(), request, &response);
        *has_current = response.has_current_snapshot();
        return status;
    }

    grpc::Status
    Current(const std::string &domain, v1::Snapshot *snapshot)
    {
        v1::GetDomainCurrentSnapshotRequest request;
        *request.mutable_domain() = RefByName(domain);
        return snapshots_->GetDomainCurrentSnapshot(ContextWithDeadline().get(), request,
                                                    snapshot);
    }

    grpc::Status
    Xml(const std::string &domain, const std::string &name,
        std::initializer_list<v1::SnapshotXMLFlag> flags, std::string *xml)
    {
        v1::GetDomainSnapshotXMLRequest request;
        *request.mutable_snapshot() = Ref(domain, name);
        for (v1::SnapshotXMLFlag flag : flags)
            request.add_flags(flag);
        v1::GetDomainSnapshotXMLResponse response;
        grpc::Status status = snapshots_->GetDomainSnapshotXML(ContextWithDeadline().get(),
                                                               request, &response);
        *xml = response.xml();
        return status;
    }

    grpc::Status
    Parent(const std::string &domain, const std::string &name, v1::Snapshot *parent)
    {
        v1::GetDomainSnapshotParentRequest request;
        *request.mutable_snapshot() = Ref(domain, name);
        return snapshots_->GetDomainSnapshotParent(ContextWithDeadline().get(), request,
                                                   parent);
    }

    grpc::Status
    Children(const std::string &domain, const std::string &name,
             std::initializer_list<v1::SnapshotListFlag> filters,
             v1::ListDomainSnapshotsResponse *response)
    {
        v1::ListDomainSnapshotChildrenRequest request;
        *request.mutable_snapshot() = Ref(domain, name);
        for (v1::SnapshotListFlag filter : filters)
            request.add_filters(filter);
        return snapshots_->ListDomainSnapshotChildren(ContextWithDeadline().get(), request,
                                                      response);
    }

    // The names ListDomainSnapshotChildren returns; fails the test when the call fails.
    std::vector<std::string>
    ChildNames(const std::string &domain, const std::string &name,
               std::initializer_list<v1::SnapshotListFlag> filters = {})
    {
        v1::ListDomainSnapshotsResponse response;
        EXPECT_TRUE(Succeeded(Children(domain, name, filters, &response)))
            << "ListDomainSnapshotChildren of " << name;
        std::vector<std::string> names;
        for (const v1::Snapshot &snapshot : response.snapshots())
            names.push_back(snapshot.name());
        return names;
    }

    grpc::Status
    Revert(const std::string &domain, const std::string &name,
           std::initializer_list<v1::SnapshotRevertFlag> flags = {},
           v1::Domain *reverted = nullptr, std::chrono::milliseconds timeout = kCallTimeout)
    {
        v1::RevertDomainSnapshotRequest request;
        *request.mutable_snapshot() = Ref(domain, name);
        for (v1::SnapshotRevertFlag flag : flags)
            request.add_flags(flag);
        v1::Domain ignored;
        return snapshots_->RevertDomainSnapshot(ContextWithDeadline(timeout).get(), request,
                                                reverted ? reverted : &ignored);
    }

    grpc::Status
    Delete(const std::string &domain, const std::string &name,
           std::initializer_list<v1::SnapshotDeleteFlag> flags = {},
           std::chrono::milliseconds timeout = kCallTimeout)
    {
        v1::DeleteDomainSnapshotRequest request;
        *request.mutable_snapshot() = Ref(domain, name);
        for (v1::SnapshotDeleteFlag flag : flags)
            request.add_flags(flag);
        v1::DeleteDomainSnapshotResponse response;
        return snapshots_->DeleteDomainSnapshot(ContextWithDeadline(timeout).get(), request,
                                                &response);
    }

    // ---- checkpoints ----

    grpc::Status
    CreateCheckpoint(const std::string &domain, const std::string &xml,
                     std::initializer_list<v1::CheckpointCreateFlag> flags = {},
                     v1::Checkpoint *checkpoint = nullptr,
                     std::chrono::milliseconds timeout = kCallTimeout)
    {
        v1::CreateDomainCheckpointRequest request;
        *request.mutable_domain() = RefByName(domain);
        request.set_xml(xml);
        for (v1::CheckpointCreateFlag flag : flags)
            request.add_flags(flag);
        v1::Checkpoint ignored;
        return checkpoints_->CreateDomainCheckpoint(ContextWithDeadline(timeout).get(),
                                                    request,
                                                    checkpoint ? checkpoint : &ignored);
    }

    grpc::Status
    ListCheckpoints(const std::string &domain,
                    std::initializer_list<v1::CheckpointListFlag> filters,
                    v1::ListDomainCheckpointsResponse *response)
    {
        v1::ListDomainCheckpointsRequest request;
        *request.mutable_domain() = RefByName(domain);
        for (v1::CheckpointListFlag filter : filters)
            request.add_filters(filter);
        return checkpoints_->ListDomainCheckpoints(ContextWithDeadline().get(), request,
                                                   response);
    }

    // The names ListDomainCheckpoints returns; fails the test when the call fails.
    std::vector<std::string>
    CheckpointNames(const std::string &domain,
                    std::initializer_list<v1::CheckpointListFlag> filters = {})
    {
        v1::ListDomainCheckpointsResponse response;
        EXPECT_TRUE(Succeeded(ListCheckpoints(domain, filters, &response)))
            << "ListDomainCheckpoints";
        return NamesOf(response);
    }

    grpc::Status
    GetCheckpoint(const std::string &domain, const std::string &name,
                  v1::Checkpoint *checkpoint)
    {
        v1::GetDomainCheckpointRequest request;
        *request.mutable_checkpoint() = CheckpointRef(domain, name);
        return checkpoints_->GetDomainCheckpoint(ContextWithDeadline().get(), request,
                                                 checkpoint);
    }

    grpc::Status
    CheckpointXmlOf(const std::string &domain, const std::string &name,
                    std::initializer_list<v1::CheckpointXMLFlag> flags, std::string *xml)
    {
        v1::GetDomainCheckpointXMLRequest request;
        *request.mutable_checkpoint() = CheckpointRef(domain, name);
        for (v1::CheckpointXMLFlag flag : flags)
            request.add_flags(flag);
        v1::GetDomainCheckpointXMLResponse response;
        grpc::Status status = checkpoints_->GetDomainCheckpointXML(
            ContextWithDeadline().get(), request, &response);
        *xml = response.xml();
        return status;
    }

    grpc::Status
    CheckpointParent(const std::string &domain, const std::string &name,
                     v1::Checkpoint *parent)
    {
        v1::GetDomainCheckpointParentRequest request;
        *request.mutable_checkpoint() = CheckpointRef(domain, name);
        return checkpoints_->GetDomainCheckpointParent(ContextWithDeadline().get(), request,
                                                       parent);
    }

    grpc::Status
    CheckpointChildren(const std::string &domain, const std::string &name,
                       std::initializer_list<v1::CheckpointListFlag> filters,
                       v1::ListDomainCheckpointsResponse *response)
    {
        v1::ListDomainCheckpointChildrenRequest request;
        *request.mutable_checkpoint() = CheckpointRef(domain, name);
        for (v1::CheckpointListFlag filter : filters)
            request.add_filters(filter);
        return checkpoints_->ListDomainCheckpointChildren(ContextWithDeadline().get(),
                                                          request, response);
    }

    // The names ListDomainCheckpointChildren returns; fails the test when the call fails.
    std::vector<std::string>
    CheckpointChildNames(const std::string &domain, const std::string &name,
                         std::initializer_list<v1::CheckpointListFlag> filters = {})
    {
        v1::ListDomainCheckpointsResponse response;
        EXPECT_TRUE(Succeeded(CheckpointChildren(domain, name, filters, &response)))
            << "ListDomainCheckpointChildren of " << name;
        return NamesOf(response);
    }

    grpc::Status
    DeleteCheckpoint(const std::string &domain, const std::string &name,
                     std::initializer_list<v1::CheckpointDeleteFlag> flags = {})
    {
        v1::DeleteDomainCheckpointRequest request;
        *request.mutable_checkpoint() = CheckpointRef(domain, name);
        for (v1::CheckpointDeleteFlag flag : flags)
            request.add_flags(flag);
        v1::DeleteDomainCheckpointResponse response;
        return checkpoints_->DeleteDomainCheckpoint(ContextWithDeadline().get(), request,
                                                    &response);
    }

    grpc::Status
    BackupXml(const std::string &domain, std::string *xml)
    {
        v1::GetDomainBackupXMLRequest request;
        *request.mutable_domain() = RefByName(domain);
        v1::GetDomainBackupXMLResponse response;
        grpc::Status status = checkpoints_->GetDomainBackupXML(ContextWithDeadline().get(),
                                                               request, &response);
        *xml = response.xml();
        return status;
    }

    v1::SnapshotService::Stub &
    snapshots()
    {
        return *snapshots_;
    }

    v1::CheckpointService::Stub &
    checkpoints()
    {
        return *checkpoints_;
    }

  private:
    static std::vector<std::string>
    NamesOf(const v1::ListDomainCheckpointsResponse &response)
    {
        std::vector<std::string> names;
        for (const v1::Checkpoint &checkpoint : response.checkpoints())
            names.push_back(checkpoint.name());
        return names;
    }

    std::unique_ptr<v1::SnapshotService::Stub> snapshots_;
    std::unique_ptr<v1::CheckpointService::Stub> checkpoints_;
};

} // namespace virtgrpc::testing
