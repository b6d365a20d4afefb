// SnapshotService and CheckpointService on a real QEMU guest (TCG), for what the test
// driver cannot do: external disk-only snapshots (new qcow2 overlays the running guest
// switches to), snapshots without metadata and metadata-only deletes, the guest
// agent's file-system freeze during a snapshot, internal snapshots with memory that a
// destroyed guest is reverted to (it resumes the same boot), and checkpoints as qcow2
// dirty bitmaps. Effects are read back through virtgrpcd and, for the disk images,
// with `qemu-img -U` (it reads an image a running QEMU holds open).
//
// Each test has its own server and domain (tests/support/qemu-guest.h); snapshot files
// go to the domain's own directory, which the fixture removes with the domain (its
// UndefineDomain drops snapshot and checkpoint metadata).
#include <stdio.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/qemu-guest.h"
#include "tests/support/snapshot-client.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Writing or loading 128 MiB of guest memory under TCG on a busy host.
constexpr std::chrono::milliseconds kMemoryTimeout{120000};

template <typename Base> class SnapshotQemuCalls : public Base
{
  protected:
    void
    SetUp() override
    {
        Base::SetUp();
        if (!this->HasFatalFailure())
            client_ = std::make_unique<SnapshotClient>(this->channel());
    }

    void
    TearDown() override
    {
        client_.reset();
        Base::TearDown();
    }

    SnapshotClient &
    client()
    {
        return *client_;
    }

    // A file in the domain's own directory (tests/support/qemu-guest.cc makes it).
    std::string
    GuestFile(const std::string &file) const
    {
        return std::string(kGuestFilesRoot) + "/" + this->name() + "/" + file;
    }

    // The overlay make-domain.sh made: the disk the domain starts with.
    std::string
    Overlay() const
    {
        return GuestFile(this->name() + ".qcow2");
    }

    // The live domain XML's source file of vda.
    std::string
    DiskSource()
    {
        std::string xml = DomainXmlOf(*this->domains_, this->name());
        // The <disk> element holding vda's target; its first <source> is the top image
        // (those of <backingStore> follow it).
        size_t target = xml.find("<target dev='vda'");
        size_t disk = target == std::string::npos ? target : xml.rfind("<disk ", target);
        size_t source = disk == std::string::npos ? disk : xml.find("<source file='", disk);
        if (source == std::string::npos || source > target)
            return "<no vda source in the domain XML>";
        source += std::string("<source file='").size();
        return xml.substr(source, xml.find('\'', source) - source);
    }

    // XML for an external disk-only snapshot of vda into `file`.
    static std::string
    ExternalXml(const std::string &name, const std::string &file)
    {
        return SnapshotXml(name, "<disks><disk name='vda' snapshot='external'>"
                                 "<driver type='qcow2'/><source file='" +
                                     file + "'/></disk></disks>");
    }

    // What `qemu-img ARGS -U IMAGE` prints; fails the test when it fails, since an
    // empty answer would make "does not list X" prove nothing.
    static std::string
    QemuImg(const std::string &args, const std::string &image)
    {
        std::string command = "qemu-img " + args + " -U '" + image + "' 2>&1";
        std::string output;
        FILE *pipe = popen(command.c_str(), "r");
        if (!pipe) {
            ADD_FAILURE() << "cannot run " << command;
            return "";
        }
        char buffer[4096];
        size_t got;
        while ((got = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
            output.append(buffer, got);
        int status = pclose(pipe);
        EXPECT_EQ(status, 0) << command << " failed:\n" << output;
        return output;
    }

    std::unique_ptr<SnapshotClient> client_;
};

using BootedSnapshotQemuTest = SnapshotQemuCalls<BootedQemuGuestTest>;

// How long a blocking call took, for the test log: what a caller's deadline must cover.
void
ReportSeconds(const std::string &what, std::chrono::steady_clock::time_point begin)
{
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::cerr << "[ snapshots ] " << what << ": " << seconds << " s\n";
}

// --- external, disk-only -----------------------------------------------------------

TEST_F(BootedSnapshotQemuTest, DiskOnlyAtomicSnapshotsSwitchTheRunningGuestToNewOverlays)
{
    const std::string first_file = GuestFile("ext1.qcow2");
    const std::string second_file = GuestFile("ext2.qcow2");
    ASSERT_EQ(DiskSource(), Overlay());

    v1::Snapshot first;
    ASSERT_TRUE(Succeeded(client().Create(
        name(), ExternalXml("ext1", first_file),
        {v1::SNAPSHOT_CREATE_FLAG_DISK_ONLY, v1::SNAPSHOT_CREATE_FLAG_ATOMIC}, &first,
        kHypervisorCallTimeout)));
    EXPECT_EQ(first.name(), "ext1");
    EXPECT_EQ(first.domain_uuid(), defined().uuid());
    EXPECT_TRUE(first.is_current());
    EXPECT_TRUE(first.has_metadata());
    EXPECT_TRUE(std::filesystem::exists(first_file));
    EXPECT_EQ(DiskSource(), first_file);
    EXPECT_THAT(QemuImg("info", first_file), HasSubstr(Overlay()))
        << "the new overlay's backing file is the old disk";
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);

    EXPECT_THAT(client().ListNames(name(), {v1::SNAPSHOT_LIST_FLAG_EXTERNAL}),
                ElementsAre("ext1"));
    EXPECT_THAT(client().ListNames(name(), {v1::SNAPSHOT_LIST_FLAG_DISK_ONLY}),
                ElementsAre("ext1"));
    EXPECT_THAT(client().ListNames(name(), {v1::SNAPSHOT_LIST_FLAG_INTERNAL}), IsEmpty());
    std::string xml;
    ASSERT_TRUE(Succeeded(client().Xml(name(), "ext1", {}, &xml)));
    EXPECT_THAT(xml, HasSubstr("<state>disk-snapshot</state>"));
    EXPECT_THAT(xml, HasSubstr(first_file));

    // The second one freezes the guest's file systems through its agent meanwhile.
    v1::Snapshot second;
    ASSERT_TRUE(Succeeded(
        client().Create(name(), ExternalXml("ext2", second_file),
                        {v1::SNAPSHOT_CREATE_FLAG_DISK_ONLY,
                         v1::SNAPSHOT_CREATE_FLAG_ATOMIC, v1::SNAPSHOT_CREATE_FLAG_QUIESCE},
                        &second, kHypervisorCallTimeout)));
    EXPECT_EQ(second.parent_name(), "ext1");
    EXPECT_EQ(DiskSource(), second_file);
    EXPECT_THAT(client().ChildNames(name(), "ext1"), ElementsAre("ext2"));
    std::string agent_hostname;
    EXPECT_TRUE(Succeeded(AgentHostname(&agent_hostname))) << "the guest was thawed";

    // Deleting them commits each overlay back into the one below (libvirt 9.0).
    ASSERT_TRUE(Succeeded(client().Delete(name(), "ext2", {}, kHypervisorCallTimeout)));
    EXPECT_EQ(DiskSource(), first_file);
    ASSERT_TRUE(Succeeded(client().Delete(name(), "ext1", {}, kHypervisorCallTimeout)));
    EXPECT_EQ(DiskSource(), Overlay());
    EXPECT_THAT(client().ListNames(name()), IsEmpty());
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(BootedSnapshotQemuTest, NoMetadataSnapshotAndMetadataOnlyDeleteKeepTheOverlays)
{
    const std::string untracked_file = GuestFile("untracked.qcow2");
    v1::Snapshot untracked;
    ASSERT_TRUE(Succeeded(client().Create(
        name(), ExternalXml("untracked", untracked_file),
        {v1::SNAPSHOT_CREATE_FLAG_DISK_ONLY, v1::SNAPSHOT_CREATE_FLAG_NO_METADATA},
        &untracked, kHypervisorCallTimeout)));
    EXPECT_EQ(untracked.name(), "untracked");
    EXPECT_EQ(untracked.domain_name(), name());
    EXPECT_FALSE(untracked.has_metadata());
    EXPECT_FALSE(untracked.is_current());
    EXPECT_EQ(DiskSource(), untracked_file) << "the snapshot itself was taken";
    EXPECT_THAT(client().ListNames(name()), IsEmpty());
    v1::Snapshot lookup;
    EXPECT_TRUE(FailedWith(client().Get(name(), "untracked", &lookup),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_SNAPSHOT"));

    const std::string tracked_file = GuestFile("tracked.qcow2");
    ASSERT_TRUE(Succeeded(client().Create(name(), ExternalXml("tracked", tracked_file),
                                          {v1::SNAPSHOT_CREATE_FLAG_DISK_ONLY}, nullptr,
                                          kHypervisorCallTimeout)));
    EXPECT_EQ(client().CountOf(name(), {v1::SNAPSHOT_LIST_FLAG_METADATA}), 1u);
    ASSERT_TRUE(Succeeded(
        client().Delete(name(), "tracked", {v1::SNAPSHOT_DELETE_FLAG_METADATA_ONLY})));
    EXPECT_THAT(client().ListNames(name()), IsEmpty());
    EXPECT_EQ(DiskSource(), tracked_file) << "only the metadata went";
    EXPECT_TRUE(std::filesystem::exists(tracked_file));
}

// --- internal, with memory ---------------------------------------------------------

TEST_F(BootedSnapshotQemuTest, InternalMemorySnapshotRevertsADestroyedGuestToTheSameBoot)
{
    auto begin = std::chrono::steady_clock::now();
    v1::Snapshot taken;
    ASSERT_TRUE(
        Succeeded(client().Create(name(), SnapshotXml("mem"), {}, &taken, kMemoryTimeout)));
    ReportSeconds("CreateDomainSnapshot with memory", begin);
    EXPECT_TRUE(taken.is_current());
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING) << "resumed after it";
    EXPECT_THAT(client().ListNames(name(), {v1::SNAPSHOT_LIST_FLAG_INTERNAL,
                                            v1::SNAPSHOT_LIST_FLAG_ACTIVE}),
                ElementsAre("mem"));
    std::string xml;
    ASSERT_TRUE(Succeeded(client().Xml(name(), "mem", {}, &xml)));
    EXPECT_THAT(xml, HasSubstr("<state>running</state>"));
    EXPECT_THAT(xml, HasSubstr("<memory snapshot='internal'/>"));
    EXPECT_THAT(QemuImg("snapshot -l", Overlay()), HasSubstr("mem"))
        << "the snapshot lives inside the qcow2 image";

    ASSERT_TRUE(Succeeded(Destroy()));
    ASSERT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_SHUTOFF);

    begin = std::chrono::steady_clock::now();
    v1::Domain reverted;
    ASSERT_TRUE(Succeeded(client().Revert(name(), "mem", {}, &reverted, kMemoryTimeout)));
    ReportSeconds("RevertDomainSnapshot of a shut-off domain", begin);
    EXPECT_EQ(DescribeState(reverted.state()),
              "DOMAIN_STATE_RUNNING/RUNNING_REASON_FROM_SNAPSHOT");
    EXPECT_GT(reverted.id(), 0);
    EXPECT_TRUE(WaitForAgent(kBootTimeout));
    EXPECT_EQ(CountReadyBanners(), 0) << "a reverted guest resumes, it does not boot:\n"
                                      << ReadSerialLog();

    // Reverting a running guest with PAUSED loads the memory and leaves it paused.
    ASSERT_TRUE(Succeeded(client().Revert(name(), "mem", {v1::SNAPSHOT_REVERT_FLAG_PAUSED},
                                          &reverted, kMemoryTimeout)));
    EXPECT_EQ(DescribeState(reverted.state()),
              "DOMAIN_STATE_PAUSED/PAUSED_REASON_FROM_SNAPSHOT");
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_PAUSED);

    ASSERT_TRUE(Succeeded(client().Delete(name(), "mem", {}, kHypervisorCallTimeout)));
    EXPECT_THAT(client().ListNames(name()), IsEmpty());
    EXPECT_THAT(QemuImg("snapshot -l", Overlay()), Not(HasSubstr("mem")))
        << "deleting it removed it from the image";
    bool has_current = true;
    ASSERT_TRUE(Succeeded(client().HasCurrent(name(), &has_current)));
    EXPECT_FALSE(has_current);

    v1::Snapshot missing;
    EXPECT_TRUE(FailedWith(client().Get(name(), "mem", &missing),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_SNAPSHOT"));
    EXPECT_TRUE(ServerStillServes());
}

// --- checkpoints -------------------------------------------------------------------

TEST_F(BootedSnapshotQemuTest, CheckpointsAreBitmapsOnTheQcow2Disk)
{
    v1::Checkpoint first;
    ASSERT_TRUE(Succeeded(client().CreateCheckpoint(name(), CheckpointXml("cp1"), {},
                                                    &first, kHypervisorCallTimeout)));
    EXPECT_EQ(first.parent_name(), "");
    v1::Checkpoint second;
    ASSERT_TRUE(Succeeded(client().CreateCheckpoint(name(), CheckpointXml("cp2"), {},
                                                    &second, kHypervisorCallTimeout)));
    EXPECT_EQ(second.parent_name(), "cp1");
    EXPECT_THAT(client().CheckpointNames(name()), ElementsAre("cp1", "cp2"));
    EXPECT_THAT(client().CheckpointChildNames(name(), "cp1"), ElementsAre("cp2"));
    std::string xml;
    ASSERT_TRUE(Succeeded(client().CheckpointXmlOf(
        name(), "cp2", {v1::CHECKPOINT_XML_FLAG_SIZE, v1::CHECKPOINT_XML_FLAG_NO_DOMAIN},
        &xml)));
    EXPECT_THAT(xml, HasSubstr("checkpoint='bitmap'"));
    EXPECT_THAT(xml, HasSubstr("size='"));
    EXPECT_THAT(xml, Not(HasSubstr("<domain ")));

    // Without a backup job there is no backup XML.
    std::string backup;
    EXPECT_TRUE(FailedWith(client().BackupXml(name(), &backup), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN_BACKUP"));

    // QEMU writes persistent bitmaps into the image when it closes it.
    ASSERT_TRUE(Succeeded(Destroy()));
    std::string image = QemuImg("info --output=json", Overlay());
    EXPECT_THAT(image, HasSubstr("\"name\": \"cp1\""));
    EXPECT_THAT(image, HasSubstr("\"name\": \"cp2\""));

    // Shut off, QEMU can neither size, delete nor add bitmaps, nor take a snapshot of a
    // domain with checkpoints; nothing changes.
    EXPECT_TRUE(FailedWith(
        client().CheckpointXmlOf(name(), "cp2", {v1::CHECKPOINT_XML_FLAG_SIZE}, &xml),
        grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(FailedWith(client().DeleteCheckpoint(name(), "cp1"),
                           grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_OPERATION_UNSUPPORTED"));
    EXPECT_TRUE(FailedWith(client().CreateCheckpoint(name(), CheckpointXml("cp3")),
                           grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_OPERATION_UNSUPPORTED"));
    EXPECT_TRUE(FailedWith(client().Create(name(), SnapshotXml("s1")),
                           grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_OPERATION_UNSUPPORTED"));
    EXPECT_THAT(client().CheckpointNames(name()), ElementsAre("cp1", "cp2"));
    EXPECT_THAT(client().ListNames(name()), IsEmpty());

    // Deleting cp1 merges it into cp2, which becomes the root.
    ASSERT_TRUE(Succeeded(Start()));
    ASSERT_TRUE(Succeeded(client().DeleteCheckpoint(name(), "cp1")));
    v1::Checkpoint remaining;
    ASSERT_TRUE(Succeeded(client().GetCheckpoint(name(), "cp2", &remaining)));
    EXPECT_EQ(remaining.parent_name(), "");
    ASSERT_TRUE(Succeeded(client().DeleteCheckpoint(name(), "cp2")));
    EXPECT_THAT(client().CheckpointNames(name()), IsEmpty());
    ASSERT_TRUE(Succeeded(Destroy()));
    image = QemuImg("info --output=json", Overlay());
    EXPECT_THAT(image, Not(HasSubstr("\"name\": \"cp1\"")));
    EXPECT_THAT(image, Not(HasSubstr("\"name\": \"cp2\"")));
    EXPECT_THAT(image, HasSubstr("\"format\": \"qcow2\""));
}

} // namespace
} // namespace virtgrpc::testing
