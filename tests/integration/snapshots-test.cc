// SnapshotService and CheckpointService against the real virtgrpcd and libvirt's
// embedded test driver (a fresh one per test: the stock running domain `test` without
// snapshots or checkpoints). Every call's effect is read back through the other calls
// (a created snapshot is listed, counted, named, current; a revert changes the
// domain's state back; a delete removes exactly what its flags say), and every bad
// request is shown to fail with a clear status, change nothing and leave the server
// serving.
//
// The test driver takes internal full-system snapshots (REDEFINE, CURRENT, HALT, LIVE,
// QUIESCE, ATOMIC, VALIDATE accepted; NO_METADATA, DISK_ONLY, REUSE_EXT refused), does
// not delete snapshot metadata alone, and gives a domain checkpoints only while it has
// no snapshots. What it lacks is proven on QEMU (tests/qemu/snapshots-qemu-test.cc).
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/server-test.h"
#include "tests/support/snapshot-client.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char kDomain[] = "test"; // kStockDomainName

class SnapshotsTest : public ServerTest
{
  protected:
    void
    SetUp() override
    {
        ServerTest::SetUp();
        if (!HasFatalFailure())
            client_ = std::make_unique<SnapshotClient>(channel());
    }

    void
    TearDown() override
    {
        client_.reset();
        ServerTest::TearDown();
    }

    SnapshotClient &
    client()
    {
        return *client_;
    }

    // Takes snapshot `name` of the stock domain; fails the test when it fails.
    v1::Snapshot
    Take(const std::string &name, const std::string &domain = kDomain)
    {
        v1::Snapshot snapshot;
        EXPECT_TRUE(Succeeded(client().Create(domain, SnapshotXml(name), {}, &snapshot)))
            << "snapshot " << name;
        return snapshot;
    }

    // GetDomainSnapshot; fails the test when it fails.
    v1::Snapshot
    SnapshotOf(const std::string &name)
    {
        v1::Snapshot snapshot;
        EXPECT_TRUE(Succeeded(client().Get(kDomain, name, &snapshot))) << name;
        return snapshot;
    }

    grpc::Status
    Destroy(const std::string &domain)
    {
        v1::DestroyDomainRequest request;
        *request.mutable_domain() = RefByName(domain);
        v1::Domain response;
        return domains_->DestroyDomain(ContextWithDeadline().get(), request, &response);
    }

    // Builds the tree  a -> b -> c  and  a -> d  (d current): revert to a between.
    void
    BuildTree()
    {
        Take("a");
        Take("b");
        Take("c");
        ASSERT_TRUE(Succeeded(client().Revert(kDomain, "a")));
        Take("d");
    }

    std::unique_ptr<SnapshotClient> client_;
};

// --- create and read back ---------------------------------------------------------

TEST_F(SnapshotsTest, NewDomainHasNoSnapshotsAndNoCurrentOne)
{
    EXPECT_THAT(client().ListNames(kDomain), IsEmpty());
    EXPECT_EQ(client().CountOf(kDomain), 0u);
    bool has_current = true;
    ASSERT_TRUE(Succeeded(client().HasCurrent(kDomain, &has_current)));
    EXPECT_FALSE(has_current);
    v1::Snapshot current;
    EXPECT_TRUE(FailedWith(client().Current(kDomain, &current), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN_SNAPSHOT"));
}

TEST_F(SnapshotsTest, CreatedSnapshotIsListedCountedNamedCurrentAndDescribed)
{
    v1::Snapshot created = Take("first");
    EXPECT_EQ(created.name(), "first");
    EXPECT_EQ(created.domain_name(), kDomain);
    EXPECT_EQ(created.domain_uuid(), kStockDomainUuid);
    EXPECT_EQ(created.parent_name(), "");
    EXPECT_TRUE(created.is_current());
    EXPECT_TRUE(created.has_metadata());

    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("first"));
    EXPECT_EQ(client().CountOf(kDomain), 1u);
    std::vector<std::string> names;
    ASSERT_TRUE(Succeeded(client().Names(kDomain, {}, &names)));
    EXPECT_THAT(names, ElementsAre("first"));

    bool has_current = false;
    ASSERT_TRUE(Succeeded(client().HasCurrent(kDomain, &has_current)));
    EXPECT_TRUE(has_current);
    v1::Snapshot current;
    ASSERT_TRUE(Succeeded(client().Current(kDomain, &current)));
    EXPECT_EQ(current.name(), "first");
    EXPECT_TRUE(current.is_current());

    v1::Snapshot got = SnapshotOf("first");
    EXPECT_EQ(got.domain_uuid(), kStockDomainUuid);
    EXPECT_TRUE(got.is_current());

    std::string xml;
    ASSERT_TRUE(Succeeded(client().Xml(kDomain, "first", {}, &xml)));
    EXPECT_THAT(xml, HasSubstr("<name>first</name>"));
    EXPECT_THAT(xml, HasSubstr("<state>running</state>"));
    EXPECT_THAT(xml, HasSubstr("<uuid>" + std::string(kStockDomainUuid) + "</uuid>"));
    std::string secure_xml;
    ASSERT_TRUE(Succeeded(
        client().Xml(kDomain, "first", {v1::SNAPSHOT_XML_FLAG_SECURE}, &secure_xml)));
    EXPECT_THAT(secure_xml, HasSubstr("<name>first</name>"));
}

TEST_F(SnapshotsTest, EmptyXmlLetsLibvirtNameTheSnapshot)
{
    v1::Snapshot created;
    ASSERT_TRUE(Succeeded(client().Create(kDomain, "", {}, &created)));
    EXPECT_THAT(created.name(), Not(IsEmpty()));
    EXPECT_THAT(client().ListNames(kDomain), ElementsAre(created.name()));
}

TEST_F(SnapshotsTest, SnapshotOfShutOffDomainIsInactiveAndOfRunningOneActive)
{
    Take("on");
    ASSERT_TRUE(Succeeded(Destroy(kDomain)));
    Take("off");
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_ACTIVE}),
                ElementsAre("on"));
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_INACTIVE}),
                ElementsAre("off"));
    // Filters of one group combine with OR.
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_ACTIVE,
                                             v1::SNAPSHOT_LIST_FLAG_INACTIVE}),
                ElementsAre("off", "on"));
    EXPECT_EQ(client().CountOf(kDomain, {v1::SNAPSHOT_LIST_FLAG_INACTIVE}), 1u);
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_DISK_ONLY}), IsEmpty());
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_INTERNAL}),
                ElementsAre("off", "on"));
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_EXTERNAL}), IsEmpty());
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_METADATA}),
                ElementsAre("off", "on"));
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_NO_METADATA}),
                IsEmpty());
    std::string xml;
    ASSERT_TRUE(Succeeded(client().Xml(kDomain, "off", {}, &xml)));
    EXPECT_THAT(xml, HasSubstr("<state>shutoff</state>"));
}

TEST_F(SnapshotsTest, HaltStopsTheDomainAfterTheSnapshot)
{
    ASSERT_TRUE(Succeeded(
        client().Create(kDomain, SnapshotXml("halted"), {v1::SNAPSHOT_CREATE_FLAG_HALT})));
    v1::DomainStateInfo state = StateOf(kDomain);
    EXPECT_EQ(state.state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(state.shutoff_reason(), v1::SHUTOFF_REASON_FROM_SNAPSHOT);
    // Taken while it ran: the snapshot has the running state.
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_ACTIVE}),
                ElementsAre("halted"));
}

TEST_F(SnapshotsTest, RedefineRestoresMetadataFromXmlAndCurrentMakesItCurrent)
{
    Take("base");
    Take("later");
    std::string xml;
    ASSERT_TRUE(Succeeded(client().Xml(kDomain, "base", {}, &xml)));
    EXPECT_FALSE(SnapshotOf("base").is_current());

    v1::Snapshot redefined;
    ASSERT_TRUE(Succeeded(client().Create(
        kDomain, xml, {v1::SNAPSHOT_CREATE_FLAG_REDEFINE, v1::SNAPSHOT_CREATE_FLAG_CURRENT},
        &redefined)));
    EXPECT_EQ(redefined.name(), "base");
    EXPECT_TRUE(redefined.is_current());
    EXPECT_FALSE(SnapshotOf("later").is_current());
    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("base", "later"));
}

TEST_F(SnapshotsTest, ValidateAcceptsSchemaValidXmlAndRefusesUnknownElements)
{
    ASSERT_TRUE(Succeeded(client().Create(kDomain, SnapshotXml("valid"),
                                          {v1::SNAPSHOT_CREATE_FLAG_VALIDATE})));
    grpc::Status status = client().Create(kDomain, SnapshotXml("bogus", "<bogus/>"),
                                          {v1::SNAPSHOT_CREATE_FLAG_VALIDATE});
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIR_ERR_XML_INVALID_SCHEMA"));
    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("valid"));
}

// --- the tree: parents, children, filters -----------------------------------------

TEST_F(SnapshotsTest, SnapshotsFormATreeOfParentsAndChildren)
{
    ASSERT_NO_FATAL_FAILURE(BuildTree());

    EXPECT_EQ(SnapshotOf("a").parent_name(), "");
    EXPECT_EQ(SnapshotOf("b").parent_name(), "a");
    EXPECT_EQ(SnapshotOf("c").parent_name(), "b");
    EXPECT_EQ(SnapshotOf("d").parent_name(), "a");
    EXPECT_TRUE(SnapshotOf("d").is_current());
    EXPECT_FALSE(SnapshotOf("c").is_current());

    v1::Snapshot parent;
    ASSERT_TRUE(Succeeded(client().Parent(kDomain, "c", &parent)));
    EXPECT_EQ(parent.name(), "b");
    EXPECT_EQ(parent.parent_name(), "a");
    EXPECT_TRUE(FailedWith(client().Parent(kDomain, "a", &parent),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_SNAPSHOT"));

    EXPECT_THAT(client().ChildNames(kDomain, "a"), ElementsAre("b", "d"));
    EXPECT_THAT(client().ChildNames(kDomain, "a", {v1::SNAPSHOT_LIST_FLAG_DESCENDANTS}),
                ElementsAre("b", "c", "d"));
    EXPECT_THAT(client().ChildNames(kDomain, "c"), IsEmpty());

    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("a", "b", "c", "d"));
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_ROOTS}),
                ElementsAre("a"));
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_LEAVES}),
                ElementsAre("c", "d"));
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_NO_LEAVES}),
                ElementsAre("a", "b"));
    EXPECT_EQ(client().CountOf(kDomain), 4u);
    EXPECT_EQ(client().CountOf(kDomain, {v1::SNAPSHOT_LIST_FLAG_ROOTS}), 1u);
    EXPECT_EQ(client().CountOf(kDomain, {v1::SNAPSHOT_LIST_FLAG_LEAVES}), 2u);
    std::vector<std::string> names;
    ASSERT_TRUE(
        Succeeded(client().Names(kDomain, {v1::SNAPSHOT_LIST_FLAG_NO_LEAVES}, &names)));
    EXPECT_THAT(names, ElementsAre("a", "b"));

    // Every listed snapshot carries the same fields GetDomainSnapshot returns.
    v1::ListDomainSnapshotsResponse listing;
    ASSERT_TRUE(Succeeded(client().List(kDomain, {}, &listing)));
    for (const v1::Snapshot &snapshot : listing.snapshots()) {
        v1::Snapshot single = SnapshotOf(snapshot.name());
        EXPECT_EQ(snapshot.SerializeAsString(), single.SerializeAsString())
            << snapshot.name();
    }
}

TEST_F(SnapshotsTest, TopologicalListingPutsEveryParentBeforeItsChildren)
{
    // Names that sort the other way round than the tree.
    Take("z-root");
    Take("m-child");
    Take("a-grandchild");
    // A chain has one topological order: its own.
    EXPECT_THAT(client().ListNames(kDomain, {v1::SNAPSHOT_LIST_FLAG_TOPOLOGICAL}),
                ElementsAre("z-root", "m-child", "a-grandchild"));
    EXPECT_THAT(client().ChildNames(kDomain, "z-root",
                                    {v1::SNAPSHOT_LIST_FLAG_DESCENDANTS,
                                     v1::SNAPSHOT_LIST_FLAG_TOPOLOGICAL}),
                ElementsAre("m-child", "a-grandchild"));
    // Without it: by name.
    EXPECT_THAT(client().ListNames(kDomain),
                ElementsAre("a-grandchild", "m-child", "z-root"));
}

// --- revert ------------------------------------------------------------------------

TEST_F(SnapshotsTest, RevertToRunningSnapshotRunsADestroyedDomainAgain)
{
    Take("running");
    ASSERT_TRUE(Succeeded(Destroy(kDomain)));
    ASSERT_EQ(StateOf(kDomain).state(), v1::DOMAIN_STATE_SHUTOFF);

    v1::Domain reverted;
    ASSERT_TRUE(Succeeded(client().Revert(kDomain, "running", {}, &reverted)));
    EXPECT_EQ(reverted.name(), kDomain);
    EXPECT_EQ(reverted.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(reverted.state().running_reason(), v1::RUNNING_REASON_FROM_SNAPSHOT);
    EXPECT_GT(reverted.id(), 0);
    v1::DomainStateInfo state = StateOf(kDomain);
    EXPECT_EQ(state.state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(state.running_reason(), v1::RUNNING_REASON_FROM_SNAPSHOT);
}

TEST_F(SnapshotsTest, RevertToShutOffSnapshotStopsARunningDomain)
{
    ASSERT_TRUE(Succeeded(Destroy(kDomain)));
    Take("off");
    v1::StartDomainRequest start;
    *start.mutable_domain() = RefByName(kDomain);
    v1::Domain started;
    ASSERT_TRUE(
        Succeeded(domains_->StartDomain(ContextWithDeadline().get(), start, &started)));

    v1::Domain reverted;
    ASSERT_TRUE(Succeeded(client().Revert(kDomain, "off", {}, &reverted)));
    EXPECT_EQ(reverted.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(reverted.state().shutoff_reason(), v1::SHUTOFF_REASON_FROM_SNAPSHOT);
    EXPECT_EQ(reverted.id(), -1);
    EXPECT_EQ(StateOf(kDomain).state(), v1::DOMAIN_STATE_SHUTOFF);
}

TEST_F(SnapshotsTest, RevertWithPausedLeavesTheDomainPaused)
{
    Take("running");
    v1::Domain reverted;
    ASSERT_TRUE(Succeeded(
        client().Revert(kDomain, "running", {v1::SNAPSHOT_REVERT_FLAG_PAUSED}, &reverted)));
    EXPECT_EQ(reverted.state().state(), v1::DOMAIN_STATE_PAUSED);
    EXPECT_EQ(reverted.state().paused_reason(), v1::PAUSED_REASON_FROM_SNAPSHOT);
    EXPECT_EQ(StateOf(kDomain).state(), v1::DOMAIN_STATE_PAUSED);
}

TEST_F(SnapshotsTest, RevertMakesTheSnapshotCurrentAndTheNextOneItsChild)
{
    Take("one");
    Take("two");
    ASSERT_TRUE(
        Succeeded(client().Revert(kDomain, "one", {v1::SNAPSHOT_REVERT_FLAG_FORCE})));
    EXPECT_TRUE(SnapshotOf("one").is_current());
    EXPECT_FALSE(SnapshotOf("two").is_current());
    EXPECT_EQ(Take("three").parent_name(), "one");
}

// --- delete ------------------------------------------------------------------------

TEST_F(SnapshotsTest, DeleteAloneRemovesOnlyItAndReparentsItsChildren)
{
    ASSERT_NO_FATAL_FAILURE(BuildTree());
    ASSERT_TRUE(Succeeded(client().Delete(kDomain, "b")));
    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("a", "c", "d"));
    EXPECT_EQ(SnapshotOf("c").parent_name(), "a");
    v1::Snapshot gone;
    EXPECT_TRUE(FailedWith(client().Get(kDomain, "b", &gone), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN_SNAPSHOT"));
}

TEST_F(SnapshotsTest, DeleteWithChildrenRemovesTheWholeSubtree)
{
    ASSERT_NO_FATAL_FAILURE(BuildTree());
    ASSERT_TRUE(
        Succeeded(client().Delete(kDomain, "b", {v1::SNAPSHOT_DELETE_FLAG_CHILDREN})));
    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("a", "d"));
    EXPECT_EQ(client().CountOf(kDomain), 2u);
    v1::Snapshot gone;
    EXPECT_TRUE(FailedWith(client().Get(kDomain, "c", &gone), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN_SNAPSHOT"));
    EXPECT_THAT(client().ChildNames(kDomain, "a"), ElementsAre("d"));
}

TEST_F(SnapshotsTest, DeleteChildrenOnlyKeepsTheSnapshotItself)
{
    ASSERT_NO_FATAL_FAILURE(BuildTree());
    ASSERT_TRUE(
        Succeeded(client().Delete(kDomain, "a", {v1::SNAPSHOT_DELETE_FLAG_CHILDREN_ONLY})));
    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("a"));
    EXPECT_THAT(client().ChildNames(kDomain, "a"), IsEmpty());
}

TEST_F(SnapshotsTest, DeletingTheCurrentSnapshotLeavesNoneCurrent)
{
    Take("only");
    ASSERT_TRUE(Succeeded(client().Delete(kDomain, "only")));
    bool has_current = true;
    ASSERT_TRUE(Succeeded(client().HasCurrent(kDomain, &has_current)));
    EXPECT_FALSE(has_current);
    EXPECT_EQ(client().CountOf(kDomain), 0u);
}

// --- what the test driver refuses (proven for real on QEMU) --------------------------

TEST_F(SnapshotsTest, TestDriverRefusesUnsupportedCreateFlagsAndCreatesNothing)
{
    for (v1::SnapshotCreateFlag flag :
         {v1::SNAPSHOT_CREATE_FLAG_NO_METADATA, v1::SNAPSHOT_CREATE_FLAG_DISK_ONLY,
          v1::SNAPSHOT_CREATE_FLAG_REUSE_EXT}) {
        grpc::Status status = client().Create(kDomain, SnapshotXml("refused"), {flag});
        EXPECT_TRUE(
            FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"))
            << v1::SnapshotCreateFlag_Name(flag);
        EXPECT_THAT(status.error_message(), HasSubstr("unsupported flags"));
    }
    EXPECT_EQ(client().CountOf(kDomain), 0u);
}

TEST_F(SnapshotsTest, TestDriverRefusesMetadataOnlyDeleteAndKeepsTheSnapshot)
{
    Take("kept");
    EXPECT_TRUE(FailedWith(
        client().Delete(kDomain, "kept", {v1::SNAPSHOT_DELETE_FLAG_METADATA_ONLY}),
        grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("kept"));
}

TEST_F(SnapshotsTest, TestDriverRefusesNvramResetOnRevertAndLeavesTheState)
{
    Take("running");
    ASSERT_TRUE(Succeeded(Destroy(kDomain)));
    EXPECT_TRUE(FailedWith(
        client().Revert(kDomain, "running", {v1::SNAPSHOT_REVERT_FLAG_RESET_NVRAM}),
        grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_EQ(StateOf(kDomain).state(), v1::DOMAIN_STATE_SHUTOFF);
}

// --- bad input ---------------------------------------------------------------------

TEST_F(SnapshotsTest, UnknownSnapshotIsNotFoundForEveryCall)
{
    Take("exists");
    const std::string missing = "missing";
    v1::Snapshot snapshot;
    std::string xml;
    v1::ListDomainSnapshotsResponse children;
    for (grpc::Status status : {
             client().Get(kDomain, missing, &snapshot),
             client().Xml(kDomain, missing, {}, &xml),
             client().Parent(kDomain, missing, &snapshot),
             client().Children(kDomain, missing, {}, &children),
             client().Revert(kDomain, missing),
             client().Delete(kDomain, missing),
         }) {
        EXPECT_TRUE(
            FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_SNAPSHOT"));
        EXPECT_THAT(status.error_message(), HasSubstr("'missing'"));
    }
    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("exists"));
    EXPECT_EQ(StateOf(kDomain).state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(SnapshotsTest, UnknownDomainIsNotFound)
{
    v1::Snapshot snapshot;
    EXPECT_TRUE(FailedWith(client().Create("nope", SnapshotXml("s"), {}, &snapshot),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(FailedWith(client().Get("nope", "s", &snapshot),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    uint32_t count = 0;
    EXPECT_TRUE(FailedWith(client().Count("nope", {}, &count), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(SnapshotsTest, EmptyOrMissingSnapshotReferenceIsInvalidArgument)
{
    Take("exists");
    v1::Snapshot snapshot;
    grpc::Status status = client().Get(kDomain, "", &snapshot);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'snapshot.name' is empty"));

    v1::DeleteDomainSnapshotRequest no_ref;
    v1::DeleteDomainSnapshotResponse deleted;
    status = client().snapshots().DeleteDomainSnapshot(ContextWithDeadline().get(), no_ref,
                                                       &deleted);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'snapshot' is not set"));

    v1::RevertDomainSnapshotRequest no_domain;
    no_domain.mutable_snapshot()->set_name("exists");
    v1::Domain reverted;
    status = client().snapshots().RevertDomainSnapshot(ContextWithDeadline().get(),
                                                       no_domain, &reverted);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("exists"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(SnapshotsTest, UnknownOrUnsetFlagValueIsInvalidArgumentAndChangesNothing)
{
    v1::CreateDomainSnapshotRequest create;
    *create.mutable_domain() = RefByName(kDomain);
    create.set_xml(SnapshotXml("never"));
    create.add_flags(static_cast<v1::SnapshotCreateFlag>(99));
    v1::Snapshot snapshot;
    grpc::Status status = client().snapshots().CreateDomainSnapshot(
        ContextWithDeadline().get(), create, &snapshot);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("99"));

    create.set_flags(0, v1::SNAPSHOT_CREATE_FLAG_UNSPECIFIED);
    status = client().snapshots().CreateDomainSnapshot(ContextWithDeadline().get(), create,
                                                       &snapshot);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_EQ(client().CountOf(kDomain), 0u);

    Take("kept");
    EXPECT_TRUE(FailedWith(
        client().Delete(kDomain, "kept", {static_cast<v1::SnapshotDeleteFlag>(42)}),
        grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(client().ListNames(kDomain), ElementsAre("kept"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(SnapshotsTest, RootsAndDescendantsAreRefusedWhereTheirBitMeansTheOther)
{
    ASSERT_NO_FATAL_FAILURE(BuildTree());
    v1::ListDomainSnapshotsResponse listing;
    grpc::Status status =
        client().List(kDomain, {v1::SNAPSHOT_LIST_FLAG_DESCENDANTS}, &listing);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("SNAPSHOT_LIST_FLAG_DESCENDANTS"));
    uint32_t count;
    EXPECT_TRUE(
        FailedWith(client().Count(kDomain, {v1::SNAPSHOT_LIST_FLAG_DESCENDANTS}, &count),
                   grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    status = client().Children(kDomain, "a", {v1::SNAPSHOT_LIST_FLAG_ROOTS}, &listing);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("SNAPSHOT_LIST_FLAG_ROOTS"));
}

TEST_F(SnapshotsTest, MalformedXmlIsInvalidArgumentAndCreatesNothing)
{
    grpc::Status status = client().Create(kDomain, "<domainsnapshot><name>x</na");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    auto info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value()) << Describe(status);
    EXPECT_THAT(info->reason(), StartsWith("VIR_ERR_XML_"));
    EXPECT_EQ(client().CountOf(kDomain), 0u);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(SnapshotsTest, ExistingNameFailsPreconditionAndKeepsTheFirstSnapshot)
{
    Take("dup");
    std::string before;
    ASSERT_TRUE(Succeeded(client().Xml(kDomain, "dup", {}, &before)));
    grpc::Status status = client().Create(kDomain, SnapshotXml("dup"));
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_FAILED"));
    EXPECT_THAT(status.error_message(), HasSubstr("dup"));
    std::string after;
    ASSERT_TRUE(Succeeded(client().Xml(kDomain, "dup", {}, &after)));
    EXPECT_EQ(before, after);
    EXPECT_EQ(client().CountOf(kDomain), 1u);
}

// --- checkpoints -------------------------------------------------------------------

class CheckpointsTest : public SnapshotsTest
{
  protected:
    // c1 -> c2 -> c3: each new checkpoint's parent is the one before.
    void
    BuildChain()
    {
        for (const char *name : {"c1", "c2", "c3"}) {
            v1::Checkpoint checkpoint;
            ASSERT_TRUE(Succeeded(
                client().CreateCheckpoint(kDomain, CheckpointXml(name), {}, &checkpoint)))
                << name;
            EXPECT_EQ(checkpoint.name(), name);
        }
    }

    v1::Checkpoint
    CheckpointOf(const std::string &name)
    {
        v1::Checkpoint checkpoint;
        EXPECT_TRUE(Succeeded(client().GetCheckpoint(kDomain, name, &checkpoint))) << name;
        return checkpoint;
    }
};

TEST_F(CheckpointsTest, CreatedCheckpointsAreListedWithTheirParents)
{
    EXPECT_THAT(client().CheckpointNames(kDomain), IsEmpty());
    v1::Checkpoint first;
    ASSERT_TRUE(
        Succeeded(client().CreateCheckpoint(kDomain, CheckpointXml("c1"), {}, &first)));
    EXPECT_EQ(first.name(), "c1");
    EXPECT_EQ(first.domain_name(), kDomain);
    EXPECT_EQ(first.domain_uuid(), kStockDomainUuid);
    EXPECT_EQ(first.parent_name(), "");
    v1::Checkpoint second;
    ASSERT_TRUE(
        Succeeded(client().CreateCheckpoint(kDomain, CheckpointXml("c2"), {}, &second)));
    EXPECT_EQ(second.parent_name(), "c1");
    v1::Checkpoint third;
    ASSERT_TRUE(Succeeded(client().CreateCheckpoint(kDomain, "", {}, &third)));
    EXPECT_THAT(third.name(), Not(IsEmpty()));
    EXPECT_EQ(third.parent_name(), "c2");

    EXPECT_EQ(client().CheckpointNames(kDomain).size(), 3u);
    EXPECT_EQ(CheckpointOf("c2").parent_name(), "c1");
    EXPECT_THAT(client().CheckpointNames(kDomain, {v1::CHECKPOINT_LIST_FLAG_ROOTS}),
                ElementsAre("c1"));
    EXPECT_THAT(client().CheckpointNames(kDomain, {v1::CHECKPOINT_LIST_FLAG_LEAVES}),
                ElementsAre(third.name()));
}

TEST_F(CheckpointsTest, ParentChildrenAndTopologicalOrderFollowTheChain)
{
    ASSERT_NO_FATAL_FAILURE(BuildChain());
    v1::Checkpoint parent;
    ASSERT_TRUE(Succeeded(client().CheckpointParent(kDomain, "c3", &parent)));
    EXPECT_EQ(parent.name(), "c2");
    EXPECT_EQ(parent.parent_name(), "c1");
    EXPECT_TRUE(FailedWith(client().CheckpointParent(kDomain, "c1", &parent),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_CHECKPOINT"));

    EXPECT_THAT(client().CheckpointChildNames(kDomain, "c1"), ElementsAre("c2"));
    EXPECT_THAT(client().CheckpointChildNames(kDomain, "c1",
                                              {v1::CHECKPOINT_LIST_FLAG_DESCENDANTS}),
                ElementsAre("c2", "c3"));
    EXPECT_THAT(client().CheckpointNames(kDomain, {v1::CHECKPOINT_LIST_FLAG_TOPOLOGICAL}),
                ElementsAre("c1", "c2", "c3"));
    EXPECT_THAT(client().CheckpointNames(kDomain, {v1::CHECKPOINT_LIST_FLAG_NO_LEAVES}),
                ElementsAre("c1", "c2"));
}

TEST_F(CheckpointsTest, XmlHasTheDomainUnlessNoDomain)
{
    ASSERT_NO_FATAL_FAILURE(BuildChain());
    std::string xml;
    ASSERT_TRUE(Succeeded(client().CheckpointXmlOf(kDomain, "c2", {}, &xml)));
    EXPECT_THAT(xml, HasSubstr("<name>c2</name>"));
    EXPECT_THAT(xml, HasSubstr("<parent>"));
    EXPECT_THAT(xml, HasSubstr("<domain type='test'>"));
    std::string bare;
    ASSERT_TRUE(Succeeded(client().CheckpointXmlOf(
        kDomain, "c2", {v1::CHECKPOINT_XML_FLAG_NO_DOMAIN, v1::CHECKPOINT_XML_FLAG_SECURE},
        &bare)));
    EXPECT_THAT(bare, HasSubstr("<name>c2</name>"));
    EXPECT_THAT(bare, Not(HasSubstr("<domain ")));
}

TEST_F(CheckpointsTest, DeleteFlagsRemoveExactlyWhatTheySay)
{
    ASSERT_NO_FATAL_FAILURE(BuildChain());
    // Alone: c3 moves up to c1.
    ASSERT_TRUE(Succeeded(client().DeleteCheckpoint(kDomain, "c2")));
    EXPECT_THAT(client().CheckpointNames(kDomain), ElementsAre("c1", "c3"));
    EXPECT_EQ(CheckpointOf("c3").parent_name(), "c1");
    // Children only: c1 stays.
    ASSERT_TRUE(Succeeded(client().DeleteCheckpoint(
        kDomain, "c1", {v1::CHECKPOINT_DELETE_FLAG_CHILDREN_ONLY})));
    EXPECT_THAT(client().CheckpointNames(kDomain), ElementsAre("c1"));
    // Metadata only.
    ASSERT_TRUE(Succeeded(client().DeleteCheckpoint(
        kDomain, "c1", {v1::CHECKPOINT_DELETE_FLAG_METADATA_ONLY})));
    EXPECT_THAT(client().CheckpointNames(kDomain), IsEmpty());
}

TEST_F(CheckpointsTest, DeleteWithChildrenRemovesTheWholeChain)
{
    ASSERT_NO_FATAL_FAILURE(BuildChain());
    ASSERT_TRUE(Succeeded(
        client().DeleteCheckpoint(kDomain, "c2", {v1::CHECKPOINT_DELETE_FLAG_CHILDREN})));
    EXPECT_THAT(client().CheckpointNames(kDomain), ElementsAre("c1"));
    v1::Checkpoint gone;
    EXPECT_TRUE(FailedWith(client().GetCheckpoint(kDomain, "c3", &gone),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_CHECKPOINT"));
}

TEST_F(CheckpointsTest, UnknownCheckpointIsNotFoundAndBadInputInvalid)
{
    ASSERT_NO_FATAL_FAILURE(BuildChain());
    v1::Checkpoint checkpoint;
    std::string xml;
    v1::ListDomainCheckpointsResponse children;
    for (grpc::Status status : {
             client().GetCheckpoint(kDomain, "missing", &checkpoint),
             client().CheckpointXmlOf(kDomain, "missing", {}, &xml),
             client().CheckpointParent(kDomain, "missing", &checkpoint),
             client().CheckpointChildren(kDomain, "missing", {}, &children),
             client().DeleteCheckpoint(kDomain, "missing"),
         }) {
        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND,
                               "VIR_ERR_NO_DOMAIN_CHECKPOINT"));
        EXPECT_THAT(status.error_message(), HasSubstr("'missing'"));
    }
    EXPECT_TRUE(FailedWith(client().GetCheckpoint(kDomain, "", &checkpoint),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(client().CheckpointChildren(
                               kDomain, "c1", {v1::CHECKPOINT_LIST_FLAG_ROOTS}, &children),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    v1::ListDomainCheckpointsResponse listing;
    EXPECT_TRUE(FailedWith(
        client().ListCheckpoints(kDomain, {v1::CHECKPOINT_LIST_FLAG_DESCENDANTS}, &listing),
        grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(client().DeleteCheckpoint(
                               kDomain, "c1", {static_cast<v1::CheckpointDeleteFlag>(7)}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    grpc::Status status = client().CreateCheckpoint(kDomain, "<domaincheckpoint><name>x");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_THAT(client().CheckpointNames(kDomain), ElementsAre("c1", "c2", "c3"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(CheckpointsTest, DomainWithSnapshotsGetsNoCheckpointOnTheTestDriver)
{
    Take("snap");
    grpc::Status status = client().CreateCheckpoint(kDomain, CheckpointXml("c1"));
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_OPERATION_UNSUPPORTED"));
    EXPECT_THAT(status.error_message(), HasSubstr("snapshot"));
    EXPECT_THAT(client().CheckpointNames(kDomain), IsEmpty());
}

TEST_F(CheckpointsTest, BackupXmlIsUnimplementedOnTheTestDriver)
{
    std::string xml;
    EXPECT_TRUE(FailedWith(client().BackupXml(kDomain, &xml),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(FailedWith(client().BackupXml("nope", &xml), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(ServerStillServes());
}

} // namespace
} // namespace virtgrpc::testing
