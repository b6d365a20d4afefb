// DeviceService on a real QEMU guest (TCG), through virtgrpcd and grpc++ stubs only: what
// the test driver does not implement or only fakes — a virtio disk hot-plugged with a
// user alias and unplugged by it, peeks of a raw disk returning the bytes written into its
// file (and QEMU's refusal for the qcow2 vda), a resize seen by GetDomainBlockInfo, the
// Flags variant of the block statistics with the guest's real reads, the tap's traffic
// counters, a block threshold, a NIC link state change, the guest agent's addresses, and
// the errors QEMU gives for bad device XML, unknown disks and aliases. The guest's kernel
// answers PCIe unplug requests, so live detaches (by alias and by XML) really remove the
// disk. Attach and detach by XML are also proven on the shut-off guest's configuration.
//
// One booted guest carries all the live checks (boots are slow under TCG). The extra disk
// is a raw file in the fixture's per-test directory, which teardown removes.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/device-client.h"
#include "tests/support/domain-request.h"
#include "tests/support/qemu-guest.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kMiB = 1024 * 1024;
// Where the pattern sits in the extra disk, and what it is.
constexpr uint64_t kPatternOffset = 4096;
constexpr const char kPattern[] = "VIRTGRPC-BLOCK-PEEK-PATTERN-0123456789";
constexpr const char kAlias[] = "ua-vg-extra";
// How long a live unplug may take: the guest's pciehp driver has to let the disk go.
constexpr std::chrono::milliseconds kUnplugTimeout{60000};

template <typename Base> class DevicesQemuTest : public Base
{
  protected:
    void
    SetUp() override
    {
        Base::SetUp();
        if (this->HasFatalFailure())
            return;
        devices_ = std::make_unique<DeviceClient>(this->channel(), kHypervisorCallTimeout);
    }

    void
    TearDown() override
    {
        devices_.reset();
        Base::TearDown();
    }

    std::string
    Xml(bool inactive = false)
    {
        return DomainXmlOf(*this->domains_, this->name(), inactive);
    }

    // A 1 MiB raw file in the fixture's directory with kPattern at kPatternOffset, made
    // with qemu-img and written to like dd conv=notrunc. Readable by libvirt-qemu.
    std::string
    MakeRawDisk(const std::string &file)
    {
        std::string path = std::string(kGuestFilesRoot) + "/" + this->name() + "/" + file;
        std::string command = "qemu-img create -q -f raw '" + path + "' 1M";
        EXPECT_EQ(std::system(command.c_str()), 0) << command;
        std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
        out.seekp(kPatternOffset);
        out.write(kPattern, sizeof(kPattern) - 1);
        out.close();
        EXPECT_FALSE(out.fail()) << "cannot write '" << path << "'";
        std::filesystem::permissions(path, std::filesystem::perms(0644));
        return path;
    }

    static std::string
    DiskXml(const std::string &path, const std::string &target)
    {
        return "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
               "<source file='" +
               path + "'/><target dev='" + target + "' bus='virtio'/><alias name='" +
               kAlias + "'/></disk>";
    }

    std::unique_ptr<DeviceClient> devices_;
};

using DevicesShutOffQemuTest = DevicesQemuTest<QemuGuestTest>;
using DevicesBootedQemuTest = DevicesQemuTest<BootedQemuGuestTest>;

// The first match of `pattern`'s group 1 in `text`, "" when none.
std::string
Capture(const std::string &text, const std::string &pattern)
{
    std::smatch match;
    if (std::regex_search(text, match, std::regex(pattern)))
        return match[1];
    return "";
}

// ---- A shut-off guest: the persistent configuration ----

TEST_F(DevicesShutOffQemuTest, AttachAndDetachDeviceByXmlChangeThePersistentConfiguration)
{
    std::string path = MakeRawDisk("extra.raw");
    std::string xml = DiskXml(path, "vdb");

    ASSERT_TRUE(Succeeded(devices_->Attach(name(), xml, {v1::DEVICE_MODIFY_FLAG_CONFIG})));
    std::string attached = Xml(true);
    EXPECT_THAT(attached, HasSubstr("<source file='" + path + "'/>"));
    EXPECT_THAT(attached, HasSubstr("<target dev='vdb' bus='virtio'/>"));
    EXPECT_THAT(attached, HasSubstr(std::string("<alias name='") + kAlias + "'/>"));

    ASSERT_TRUE(Succeeded(devices_->Detach(name(), xml, {v1::DEVICE_MODIFY_FLAG_CONFIG})));
    std::string detached = Xml(true);
    EXPECT_THAT(detached, Not(HasSubstr(path)));
    EXPECT_THAT(detached, Not(HasSubstr("vdb")));
}

TEST_F(DevicesShutOffQemuTest,
       LiveDeviceChangesAndStatisticsOfAShutOffGuestFailPrecondition)
{
    std::string path = MakeRawDisk("extra.raw");
    EXPECT_TRUE(FailedWith(
        devices_->Attach(name(), DiskXml(path, "vdb"), {v1::DEVICE_MODIFY_FLAG_LIVE}),
        grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    v1::GetDomainBlockStatsResponse stats;
    EXPECT_TRUE(FailedWith(devices_->BlockStats(name(), "vda", &stats),
                           grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(Xml(true), Not(HasSubstr(path)));
}

// ---- A booted guest: every live call on one guest ----

TEST_F(DevicesBootedQemuTest, LiveDeviceAndDiskCallsActOnTheRunningGuest)
{
    const std::string live = Xml();

    // Block statistics of vda (virDomainBlockStatsFlags on QEMU): the boot read from it.
    {
        v1::GetDomainBlockStatsResponse stats;
        ASSERT_TRUE(Succeeded(devices_->BlockStats(name(), "vda", &stats)));
        EXPECT_TRUE(stats.has_rd_bytes()) << stats.ShortDebugString();
        EXPECT_GT(stats.rd_bytes(), 0) << stats.ShortDebugString();
        EXPECT_GT(stats.rd_req(), 0) << stats.ShortDebugString();
        EXPECT_TRUE(stats.has_flush_req())
            << "Flags call's extras: " << stats.ShortDebugString();
        EXPECT_TRUE(stats.has_rd_total_time_ns()) << stats.ShortDebugString();
    }

    // Interface statistics of the tap the live XML names.
    {
        std::string vnet =
            Capture(live, "<interface type='ethernet'>[\\s\\S]*?<target dev='([^']+)'");
        ASSERT_FALSE(vnet.empty()) << live;
        v1::GetDomainInterfaceStatsResponse stats;
        ASSERT_TRUE(Succeeded(devices_->InterfaceStats(name(), vnet, &stats))) << vnet;
        EXPECT_TRUE(stats.has_rx_bytes() && stats.has_tx_bytes())
            << stats.ShortDebugString();
        EXPECT_GE(stats.rx_bytes(), 0);
    }

    // vda is qcow2: QEMU peeks raw disks only.
    {
        std::string data;
        // QEMU: "peeking is only supported for disk with 'raw' format not 'qcow2'".
        EXPECT_TRUE(FailedWith(devices_->Peek(name(), "vda", 0, 16, &data),
                               grpc::StatusCode::UNIMPLEMENTED,
                               "VIR_ERR_OPERATION_UNSUPPORTED"));
    }

    // vda's size, and a threshold on it.
    {
        v1::GetDomainBlockInfoResponse info;
        ASSERT_TRUE(Succeeded(devices_->BlockInfo(name(), "vda", &info)));
        EXPECT_GT(info.capacity_bytes(), 0u);
        EXPECT_TRUE(
            Succeeded(devices_->SetThreshold(name(), "vda", info.capacity_bytes() / 2)));
    }

    // Hot-plug a raw virtio disk with a user alias into the spare root port.
    std::string path = MakeRawDisk("extra.raw");
    ASSERT_TRUE(Succeeded(
        devices_->Attach(name(), DiskXml(path, "vdb"), {v1::DEVICE_MODIFY_FLAG_LIVE})));
    {
        std::string xml = Xml();
        EXPECT_THAT(xml, HasSubstr("<source file='" + path + "'"));
        EXPECT_THAT(xml, HasSubstr(std::string("<alias name='") + kAlias + "'/>"));
        EXPECT_THAT(Xml(true), Not(HasSubstr(path))) << "LIVE must not touch the config";
    }

    // Peeks return what was written into the file; the 1 MiB peek is the whole disk.
    {
        std::string data;
        ASSERT_TRUE(Succeeded(
            devices_->Peek(name(), "vdb", kPatternOffset, sizeof(kPattern) - 1, &data)));
        EXPECT_EQ(data, kPattern);
        ASSERT_TRUE(Succeeded(devices_->Peek(name(), path, 0, kMiB, &data)));
        ASSERT_EQ(data.size(), kMiB);
        EXPECT_EQ(data.substr(kPatternOffset, sizeof(kPattern) - 1), kPattern);
        EXPECT_EQ(data.substr(0, 16), std::string(16, '\0'));
        grpc::Status beyond = devices_->Peek(name(), "vdb", kMiB - 8, 16, &data);
        // QEMU: "'vdb' starting from 1048568 has only 8 bytes available".
        EXPECT_TRUE(
            FailedWith(beyond, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
        EXPECT_TRUE(FailedWith(devices_->Peek(name(), "vdb", 0, kMiB + 1, &data),
                               grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"));
    }

    // Resize grows the disk; GetDomainBlockInfo shows the new capacity.
    {
        v1::GetDomainBlockInfoResponse info;
        ASSERT_TRUE(Succeeded(devices_->BlockInfo(name(), "vdb", &info)));
        EXPECT_EQ(info.capacity_bytes(), kMiB);
        ASSERT_TRUE(Succeeded(devices_->Resize(name(), "vdb", 4 * kMiB)));
        ASSERT_TRUE(Succeeded(devices_->BlockInfo(name(), "vdb", &info)));
        EXPECT_EQ(info.capacity_bytes(), 4 * kMiB);
        EXPECT_TRUE(FailedWith(devices_->Resize(name(), "vdb", 0),
                               grpc::StatusCode::INVALID_ARGUMENT,
                               "VIRTGRPC_INVALID_REQUEST"));
        ASSERT_TRUE(Succeeded(devices_->BlockInfo(name(), "vdb", &info)));
        EXPECT_EQ(info.capacity_bytes(), 4 * kMiB);
    }

    // Unplug by alias: the guest's kernel (pciehp) releases the disk, then libvirt drops
    // it.
    ASSERT_TRUE(
        Succeeded(devices_->DetachAlias(name(), kAlias, {v1::DEVICE_MODIFY_FLAG_LIVE})));
    EXPECT_TRUE(
        WaitUntil([&] { return Xml().find(kAlias) == std::string::npos; }, kUnplugTimeout))
        << "the disk is still in the live XML " << kUnplugTimeout.count() << " ms later";
    EXPECT_THAT(Xml(), Not(HasSubstr(path)));

    // The freed root port takes the disk again; unplugged by its XML this time
    // (virDomainDetachDeviceFlags), it leaves the live XML the same way.
    ASSERT_TRUE(Succeeded(
        devices_->Attach(name(), DiskXml(path, "vdb"), {v1::DEVICE_MODIFY_FLAG_LIVE})));
    ASSERT_THAT(Xml(), HasSubstr(path));
    ASSERT_TRUE(Succeeded(devices_->Detach(
        name(),
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='" +
            path + "'/><target dev='vdb' bus='virtio'/></disk>",
        {v1::DEVICE_MODIFY_FLAG_LIVE})));
    EXPECT_TRUE(
        WaitUntil([&] { return Xml().find(path) == std::string::npos; }, kUnplugTimeout))
        << "the disk is still in the live XML " << kUnplugTimeout.count() << " ms later";

    // The NIC's link goes down (virDomainUpdateDeviceFlags), visible in the live XML.
    {
        std::string mac = Capture(live, "<mac address='([^']+)'");
        ASSERT_FALSE(mac.empty()) << live;
        ASSERT_THAT(live, Not(HasSubstr("<link state='down'/>")));
        ASSERT_TRUE(
            Succeeded(devices_->Update(name(),
                                       "<interface type='ethernet'><mac address='" + mac +
                                           "'/><model type='virtio'/><rom "
                                           "enabled='no'/><link state='down'/></interface>",
                                       {v1::DEVICE_MODIFY_FLAG_LIVE})));
        EXPECT_THAT(Xml(), HasSubstr("<link state='down'/>"));
    }

    // The agent lists the guest's loopback (eth0 has no address).
    {
        v1::GetDomainInterfaceAddressesResponse response;
        ASSERT_TRUE(Succeeded(
            devices_->Addresses(name(), v1::INTERFACE_ADDRESS_SOURCE_AGENT, &response)));
        bool loopback = false;
        for (const v1::InterfaceAddresses &iface : response.interfaces()) {
            for (const v1::IpAddress &address : iface.addresses()) {
                if (iface.name() == "lo" && address.type() == v1::IP_ADDRESS_TYPE_IPV4 &&
                    address.address() == "127.0.0.1" && address.prefix() == 8)
                    loopback = true;
            }
        }
        EXPECT_TRUE(loopback) << response.ShortDebugString();
        // LEASE: the NIC is on no libvirt network, so no lease and no interface.
        ASSERT_TRUE(Succeeded(
            devices_->Addresses(name(), v1::INTERFACE_ADDRESS_SOURCE_LEASE, &response)));
        EXPECT_EQ(response.interfaces_size(), 0) << response.ShortDebugString();
    }
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DevicesBootedQemuTest, BadDeviceXmlUnknownDisksAndAliasesFailWithMappedStatuses)
{
    const std::string before = Xml();

    EXPECT_TRUE(FailedWith(
        devices_->Attach(name(), "<disk type='file'", {v1::DEVICE_MODIFY_FLAG_LIVE}),
        grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_XML_DETAIL"));
    EXPECT_TRUE(FailedWith(devices_->Update(name(), "not xml at all"),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_XML_DETAIL"));
    EXPECT_TRUE(FailedWith(devices_->Attach(name(), ""), grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(
        devices_->DetachAlias(name(), "ua-no-such-device", {v1::DEVICE_MODIFY_FLAG_LIVE}),
        grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));

    std::string data;
    v1::GetDomainBlockInfoResponse info;
    v1::GetDomainBlockStatsResponse stats;
    v1::GetDomainInterfaceStatsResponse ifstats;
    EXPECT_TRUE(FailedWith(devices_->Peek(name(), "vdz", 0, 16, &data),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(FailedWith(devices_->BlockStats(name(), "vdz", &stats),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(FailedWith(devices_->InterfaceStats(name(), "vnet-none", &ifstats),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(FailedWith(devices_->BlockInfo(name(), "vdz", &info),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(FailedWith(devices_->Resize(name(), "vdz", 4 * kMiB),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(FailedWith(devices_->SetThreshold(name(), "vdz", kMiB),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    // Over the cap: refused before QEMU is asked (QEMU would refuse qcow2 anyway).
    EXPECT_TRUE(FailedWith(devices_->Peek(name(), "vda", 0, kMiB + 1, &data),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(FailedWith(devices_->Resize(name(), "vda", 0),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));

    EXPECT_EQ(Xml(), before);
    EXPECT_TRUE(ServerStillServes());
}

} // namespace
} // namespace virtgrpc::testing
