// DeviceService against the real virtgrpcd and libvirt's embedded test driver, through
// grpc++ stubs. The test driver implements virDomainGetBlockInfo, virDomainBlockStats
// (not ...Flags: the server falls back), virDomainInterfaceStats and
// virDomainInterfaceAddresses: their answers are checked against the stock domain's XML
// (disk vda on /guest/diskimage1, interface testnet0 with MAC aa:bb:cc:dd:ee:ff) and the
// driver's fixed fake values. Attach, detach, update, peek, resize and block thresholds are
// not implemented by the test driver: UNIMPLEMENTED (VIR_ERR_NO_SUPPORT) here, with the
// XML unchanged; tests/qemu/devices-qemu-test.cc proves them on a real guest. Bad input of
// each family fails with INVALID_ARGUMENT before libvirt is asked.
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/device-client.h"
#include "tests/support/domain-request.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char kStockDisk[] = "vda";
constexpr const char kStockDiskPath[] = "/guest/diskimage1";
constexpr const char kStockNic[] = "testnet0";
constexpr const char kStockMac[] = "aa:bb:cc:dd:ee:ff";
// The test driver's fixed answer for every disk (testDomainGetBlockInfo).
constexpr uint64_t kFakeCapacity = 1099506450432ULL;
constexpr uint64_t kFakeAllocation = 1099511627776ULL;

constexpr const char kUsbDiskXml[] =
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "<source file='/tmp/vg-devices-test.img'/><target dev='sdb' bus='usb'/>"
    "<alias name='ua-test-disk'/></disk>";

class DevicesTest : public ServerTest
{
  protected:
    void
    SetUp() override
    {
        ServerTest::SetUp();
        if (HasFatalFailure())
            return;
        devices_ = std::make_unique<DeviceClient>(channel());
    }

    void
    TearDown() override
    {
        devices_.reset();
        ServerTest::TearDown();
    }

    std::string
    XmlOf(const std::string &name)
    {
        return DomainXmlOf(*domains_, name);
    }

    std::unique_ptr<DeviceClient> devices_;
};

::testing::AssertionResult
Unsupported(const grpc::Status &status)
{
    return FailedWith(status, grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT");
}

::testing::AssertionResult
Rejected(const grpc::Status &status)
{
    return FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT,
                      "VIRTGRPC_INVALID_REQUEST");
}

// --- block info ---------------------------------------------------------------------

TEST_F(DevicesTest, GetDomainBlockInfoReturnsTheTestDriversSizesByTargetAndByPath)
{
    ASSERT_THAT(XmlOf(kStockDomainName), HasSubstr("<target dev='vda' bus='virtio'/>"));
    for (const char *disk : {kStockDisk, kStockDiskPath}) {
        v1::GetDomainBlockInfoResponse info;
        ASSERT_TRUE(Succeeded(devices_->BlockInfo(kStockDomainName, disk, &info))) << disk;
        EXPECT_EQ(info.capacity_bytes(), kFakeCapacity) << disk;
        EXPECT_EQ(info.allocation_bytes(), kFakeAllocation) << disk;
        EXPECT_EQ(info.physical_bytes(), kFakeAllocation) << disk;
    }
}

TEST_F(DevicesTest, GetDomainBlockInfoOfAnUnknownDiskIsInvalidArgument)
{
    v1::GetDomainBlockInfoResponse info;
    EXPECT_TRUE(FailedWith(devices_->BlockInfo(kStockDomainName, "vdz", &info),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(ServerStillServes());
}

// --- block stats --------------------------------------------------------------------

TEST_F(DevicesTest, GetDomainBlockStatsFallsBackToVirDomainBlockStatsOnTheTestDriver)
{
    v1::GetDomainBlockStatsResponse stats;
    ASSERT_TRUE(Succeeded(devices_->BlockStats(kStockDomainName, kStockDisk, &stats)));
    // virDomainBlockStats fills the five classic counters (the test driver fakes them from
    // the clock, so they are positive), and nothing of the Flags call's extras.
    EXPECT_TRUE(stats.has_rd_req());
    EXPECT_TRUE(stats.has_rd_bytes());
    EXPECT_TRUE(stats.has_wr_req());
    EXPECT_TRUE(stats.has_wr_bytes());
    EXPECT_TRUE(stats.has_errs());
    EXPECT_GT(stats.rd_req(), 0);
    EXPECT_GT(stats.rd_bytes(), 0);
    EXPECT_GT(stats.wr_req(), 0);
    EXPECT_GT(stats.wr_bytes(), 0);
    EXPECT_FALSE(stats.has_flush_req());
    EXPECT_FALSE(stats.has_rd_total_time_ns());
    EXPECT_FALSE(stats.has_wr_total_time_ns());
    EXPECT_FALSE(stats.has_flush_total_time_ns());
    EXPECT_EQ(stats.other_size(), 0);
}

TEST_F(DevicesTest, GetDomainBlockStatsOfAnUnknownDiskIsInvalidArgument)
{
    v1::GetDomainBlockStatsResponse stats;
    EXPECT_TRUE(FailedWith(devices_->BlockStats(kStockDomainName, "vdz", &stats),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DevicesTest, GetDomainBlockStatsOfAShutOffDomainFailsPrecondition)
{
    DefineDomain("off1");
    v1::GetDomainBlockStatsResponse stats;
    EXPECT_TRUE(FailedWith(devices_->BlockStats("off1", kStockDisk, &stats),
                           grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
}

// --- interface stats ----------------------------------------------------------------

TEST_F(DevicesTest, GetDomainInterfaceStatsByDeviceAndByMacReturnsAllCounters)
{
    std::string xml = XmlOf(kStockDomainName);
    ASSERT_THAT(xml, HasSubstr("<target dev='testnet0'/>"));
    ASSERT_THAT(xml, HasSubstr("<mac address='aa:bb:cc:dd:ee:ff'/>"));
    for (const char *device : {kStockNic, kStockMac}) {
        v1::GetDomainInterfaceStatsResponse stats;
        ASSERT_TRUE(Succeeded(devices_->InterfaceStats(kStockDomainName, device, &stats)))
            << device;
        EXPECT_TRUE(stats.has_rx_bytes() && stats.has_rx_packets() && stats.has_rx_errs() &&
                    stats.has_rx_drop() && stats.has_tx_bytes() && stats.has_tx_packets() &&
                    stats.has_tx_errs() && stats.has_tx_drop())
            << device << ": " << stats.ShortDebugString();
        EXPECT_GT(stats.rx_bytes(), 0) << device;
        EXPECT_GT(stats.tx_bytes(), 0) << device;
    }
}

TEST_F(DevicesTest, GetDomainInterfaceStatsOfAnUnknownInterfaceIsInvalidArgument)
{
    v1::GetDomainInterfaceStatsResponse stats;
    EXPECT_TRUE(FailedWith(devices_->InterfaceStats(kStockDomainName, "vnet99", &stats),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(ServerStillServes());
}

// --- interface addresses ------------------------------------------------------------

TEST_F(DevicesTest, GetDomainInterfaceAddressesNamesTheXmlsInterfaceForEverySource)
{
    for (v1::InterfaceAddressSource source :
         {v1::INTERFACE_ADDRESS_SOURCE_UNSPECIFIED, v1::INTERFACE_ADDRESS_SOURCE_LEASE,
          v1::INTERFACE_ADDRESS_SOURCE_AGENT, v1::INTERFACE_ADDRESS_SOURCE_ARP}) {
        SCOPED_TRACE(v1::InterfaceAddressSource_Name(source));
        v1::GetDomainInterfaceAddressesResponse response;
        ASSERT_TRUE(Succeeded(devices_->Addresses(kStockDomainName, source, &response)));
        ASSERT_EQ(response.interfaces_size(), 1);
        const v1::InterfaceAddresses &iface = response.interfaces(0);
        EXPECT_EQ(iface.name(), kStockNic);
        EXPECT_EQ(iface.hwaddr(), kStockMac);
        ASSERT_EQ(iface.addresses_size(), 1);
        EXPECT_EQ(iface.addresses(0).type(), v1::IP_ADDRESS_TYPE_IPV4);
        EXPECT_THAT(iface.addresses(0).address(), ::testing::StartsWith("192.168.122."));
        EXPECT_EQ(iface.addresses(0).prefix(), 24u);
    }
}

TEST_F(DevicesTest, GetDomainInterfaceAddressesWithAnUnknownSourceIsInvalidArgument)
{
    v1::GetDomainInterfaceAddressesResponse response;
    EXPECT_TRUE(Rejected(devices_->Addresses(
        kStockDomainName, static_cast<v1::InterfaceAddressSource>(99), &response)));
    EXPECT_TRUE(ServerStillServes());
}

// --- calls the test driver lacks ----------------------------------------------------

TEST_F(DevicesTest, AttachDetachAndUpdateAreUnimplementedAndLeaveTheXmlAlone)
{
    const std::string before = XmlOf(kStockDomainName);
    EXPECT_TRUE(Unsupported(
        devices_->Attach(kStockDomainName, kUsbDiskXml, {v1::DEVICE_MODIFY_FLAG_LIVE})));
    EXPECT_TRUE(Unsupported(devices_->Attach(kStockDomainName, kUsbDiskXml)));
    EXPECT_TRUE(Unsupported(devices_->Detach(
        kStockDomainName,
        "<disk type='file' device='disk'><source file='/guest/diskimage1'/>"
        "<target dev='vda' bus='virtio'/></disk>",
        {v1::DEVICE_MODIFY_FLAG_LIVE, v1::DEVICE_MODIFY_FLAG_CONFIG})));
    EXPECT_TRUE(Unsupported(devices_->DetachAlias(kStockDomainName, "ua-test-disk")));
    EXPECT_TRUE(Unsupported(
        devices_->Update(kStockDomainName,
                         "<interface type='network'><mac address='aa:bb:cc:dd:ee:ff'/>"
                         "<source network='default'/><link state='down'/></interface>",
                         {v1::DEVICE_MODIFY_FLAG_CURRENT, v1::DEVICE_MODIFY_FLAG_FORCE})));
    const std::string after = XmlOf(kStockDomainName);
    EXPECT_EQ(after, before);
    EXPECT_THAT(after, Not(HasSubstr("ua-test-disk")));
    EXPECT_THAT(after, Not(HasSubstr("state='down'")));
}

TEST_F(DevicesTest, PeekResizeAndBlockThresholdAreUnimplemented)
{
    std::string data;
    EXPECT_TRUE(Unsupported(devices_->Peek(kStockDomainName, kStockDisk, 0, 16, &data)));
    EXPECT_TRUE(data.empty());
    EXPECT_TRUE(Unsupported(devices_->Resize(kStockDomainName, kStockDisk, 2ULL << 40)));
    EXPECT_TRUE(Unsupported(devices_->SetThreshold(kStockDomainName, kStockDisk, 1 << 20)));
    // The size did not change.
    v1::GetDomainBlockInfoResponse info;
    ASSERT_TRUE(Succeeded(devices_->BlockInfo(kStockDomainName, kStockDisk, &info)));
    EXPECT_EQ(info.capacity_bytes(), kFakeCapacity);
}

// --- bad input ----------------------------------------------------------------------

TEST_F(DevicesTest, EmptyDeviceXmlOrAliasIsInvalidArgumentBeforeLibvirtIsAsked)
{
    // The test driver would answer NO_SUPPORT: INVALID_ARGUMENT proves the check comes
    // first.
    for (const grpc::Status &status :
         {devices_->Attach(kStockDomainName, ""), devices_->Detach(kStockDomainName, ""),
          devices_->Update(kStockDomainName, ""),
          devices_->DetachAlias(kStockDomainName, "")}) {
        EXPECT_TRUE(Rejected(status));
        EXPECT_THAT(status.error_message(),
                    ::testing::AnyOf(HasSubstr("'device_xml'"), HasSubstr("'alias'")));
    }
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DevicesTest, UnknownOrUnspecifiedModifyFlagIsInvalidArgument)
{
    EXPECT_TRUE(Rejected(devices_->Attach(kStockDomainName, kUsbDiskXml,
                                          {static_cast<v1::DeviceModifyFlag>(42)})));
    EXPECT_TRUE(Rejected(devices_->Detach(kStockDomainName, kUsbDiskXml,
                                          {v1::DEVICE_MODIFY_FLAG_UNSPECIFIED})));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DevicesTest, EmptyDiskOrInterfaceNameIsInvalidArgument)
{
    std::string data;
    v1::GetDomainBlockInfoResponse info;
    v1::GetDomainBlockStatsResponse stats;
    v1::GetDomainInterfaceStatsResponse ifstats;
    EXPECT_TRUE(Rejected(devices_->Peek(kStockDomainName, "", 0, 16, &data)));
    EXPECT_TRUE(Rejected(devices_->Resize(kStockDomainName, "", 1 << 20)));
    EXPECT_TRUE(Rejected(devices_->BlockInfo(kStockDomainName, "", &info)));
    EXPECT_TRUE(Rejected(devices_->BlockStats(kStockDomainName, "", &stats)));
    EXPECT_TRUE(Rejected(devices_->InterfaceStats(kStockDomainName, "", &ifstats)));
    EXPECT_TRUE(Rejected(devices_->SetThreshold(kStockDomainName, "", 1 << 20)));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DevicesTest, PeekOfZeroOrMoreThanOneMiBIsInvalidArgumentNamingTheLimit)
{
    std::string data;
    grpc::Status status =
        devices_->Peek(kStockDomainName, kStockDisk, 0, 1024 * 1024 + 1, &data);
    EXPECT_TRUE(Rejected(status));
    EXPECT_THAT(status.error_message(), HasSubstr("1048576"));
    EXPECT_TRUE(Rejected(devices_->Peek(kStockDomainName, kStockDisk, 0, 0, &data)));
    EXPECT_TRUE(
        Rejected(devices_->Peek(kStockDomainName, kStockDisk, UINT64_MAX - 4, 16, &data)));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DevicesTest, ResizeToZeroBytesIsInvalidArgument)
{
    grpc::Status status = devices_->Resize(kStockDomainName, kStockDisk, 0);
    EXPECT_TRUE(Rejected(status));
    EXPECT_THAT(status.error_message(), HasSubstr("'size_bytes'"));
}

TEST_F(DevicesTest, EveryRpcOnAnUnknownDomainIsNotFound)
{
    const std::string nope = "no-such-domain";
    std::string data;
    v1::GetDomainBlockInfoResponse info;
    v1::GetDomainBlockStatsResponse stats;
    v1::GetDomainInterfaceStatsResponse ifstats;
    v1::GetDomainInterfaceAddressesResponse addresses;
    for (const grpc::Status &status :
         {devices_->Attach(nope, kUsbDiskXml), devices_->Detach(nope, kUsbDiskXml),
          devices_->Update(nope, kUsbDiskXml), devices_->DetachAlias(nope, "ua-x"),
          devices_->Peek(nope, kStockDisk, 0, 16, &data),
          devices_->Resize(nope, kStockDisk, 1 << 20),
          devices_->BlockInfo(nope, kStockDisk, &info),
          devices_->BlockStats(nope, kStockDisk, &stats),
          devices_->InterfaceStats(nope, kStockNic, &ifstats),
          devices_->SetThreshold(nope, kStockDisk, 1 << 20),
          devices_->Addresses(nope, v1::INTERFACE_ADDRESS_SOURCE_LEASE, &addresses)}) {
        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    }
    EXPECT_TRUE(ServerStillServes());
}

} // namespace
} // namespace virtgrpc::testing
