// MemoryService against the real virtgrpcd and libvirt's embedded test driver, through
// grpc++ stubs: memory and maximum memory set and read back (through GetDomainMaxMemory,
// GetDomainInfo, the XML and the balloon statistics), the statistics period in the XML,
// every memory statistic the test driver fakes, peeks of the asked size; and the bad
// requests of each family — zero and oversized sizes, more memory than the maximum, the
// maximum of a running domain, peeks over the 1 MiB cap or without an address space, a
// shut-off domain — each failing with its status while nothing changes. Dirty rate
// measurement is QEMU only: checked for its status here, proven in
// tests/qemu/memory-qemu-test.cc.
//
// The stock domain `test` runs with 2 GiB (2097152 KiB) of its 8 GiB maximum and has a
// virtio balloon; MinimalDomainXml domains have 8 MiB and no balloon.
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/memory-client.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

constexpr uint64_t kStockMemoryKiB = 2097152;
constexpr uint64_t kStockMaxMemoryKiB = 8388608;
constexpr uint64_t kMinimalMemoryKiB = 8192;
constexpr uint32_t kOneMiB = 1024 * 1024;

class MemoryTest : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure())
            return;
        memory_ = std::make_unique<MemoryClient>(channel());
    }

    void TearDown() override {
        memory_.reset();
        ServerTest::TearDown();
    }

    v1::DomainInfo InfoOf(const std::string &name) { return DomainInfoOf(*domains_, name); }

    std::string XmlOf(const std::string &name, bool inactive = false) {
        return DomainXmlOf(*domains_, name, inactive);
    }

    std::unique_ptr<MemoryClient> memory_;
};

// --- maximum memory ---------------------------------------------------------------

TEST_F(MemoryTest, GetDomainMaxMemoryOfTheStockDomainAgreesWithGetDomainInfo) {
    EXPECT_EQ(memory_->MaxMemoryOf(kStockDomainName), kStockMaxMemoryKiB);
    EXPECT_EQ(InfoOf(kStockDomainName).max_memory_kib(), kStockMaxMemoryKiB);
}

TEST_F(MemoryTest, SetDomainMaxMemoryOfAShutOffDomainIsReadBack) {
    DefineDomain("off1");
    ASSERT_EQ(memory_->MaxMemoryOf("off1"), kMinimalMemoryKiB);

    ASSERT_TRUE(Succeeded(memory_->SetMaxMemory("off1", 16384)));

    EXPECT_EQ(memory_->MaxMemoryOf("off1"), 16384u);
    v1::DomainInfo info = InfoOf("off1");
    EXPECT_EQ(info.max_memory_kib(), 16384u);
    EXPECT_EQ(info.memory_kib(), kMinimalMemoryKiB);
    EXPECT_THAT(XmlOf("off1"), HasSubstr("<memory unit='KiB'>16384</memory>"));
}

TEST_F(MemoryTest, SetDomainMaxMemoryOfARunningDomainFailsPreconditionAndChangesNothing) {
    grpc::Status status = memory_->SetMaxMemory(kStockDomainName, kStockMaxMemoryKiB * 2);

    // libvirt: "cannot resize the maximum memory on an active domain".
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_EQ(memory_->MaxMemoryOf(kStockDomainName), kStockMaxMemoryKiB);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MemoryTest, SetDomainMaxMemoryZeroIsInvalidRequestAndChangesNothing) {
    DefineDomain("off1");
    grpc::Status status = memory_->SetMaxMemory("off1", 0);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'max_memory_kib' is 0"));
    EXPECT_EQ(memory_->MaxMemoryOf("off1"), kMinimalMemoryKiB);
}

// --- current memory -------------------------------------------------------------

TEST_F(MemoryTest, SetDomainMemoryOfTheRunningDomainShowsInGetDomainInfoAndTheBalloon) {
    ASSERT_EQ(InfoOf(kStockDomainName).memory_kib(), kStockMemoryKiB);

    ASSERT_TRUE(Succeeded(memory_->SetMemory(kStockDomainName, 1048576)));

    EXPECT_EQ(InfoOf(kStockDomainName).memory_kib(), 1048576u);
    v1::GetDomainMemoryStatsResponse stats;
    ASSERT_TRUE(Succeeded(memory_->Stats(kStockDomainName, &stats)));
    EXPECT_THAT(StatOf(stats, v1::MEMORY_STAT_TAG_ACTUAL_BALLOON), Optional(1048576u));
}

TEST_F(MemoryTest, SetDomainMemoryConfigChangesOnlyThePersistentSize) {
    ASSERT_TRUE(
        Succeeded(memory_->SetMemory(kStockDomainName, 524288, {v1::MEMORY_MOD_FLAG_CONFIG})));

    EXPECT_EQ(InfoOf(kStockDomainName).memory_kib(), kStockMemoryKiB);
    EXPECT_THAT(XmlOf(kStockDomainName, true),
                HasSubstr("<currentMemory unit='KiB'>524288</currentMemory>"));
}

TEST_F(MemoryTest, SetDomainMemoryOfAShutOffDomainChangesItsConfiguration) {
    DefineDomain("off1");

    ASSERT_TRUE(Succeeded(memory_->SetMemory("off1", 4096)));

    EXPECT_EQ(InfoOf("off1").memory_kib(), 4096u);
    EXPECT_EQ(memory_->MaxMemoryOf("off1"), kMinimalMemoryKiB);
}

TEST_F(MemoryTest, SetDomainMemoryMaximumWithConfigRaisesTheConfiguredMaximum) {
    ASSERT_TRUE(Succeeded(
        memory_->SetMemory(kStockDomainName, kStockMaxMemoryKiB * 2,
                           {v1::MEMORY_MOD_FLAG_MAXIMUM, v1::MEMORY_MOD_FLAG_CONFIG})));

    EXPECT_EQ(InfoOf(kStockDomainName).max_memory_kib(), kStockMaxMemoryKiB);
    EXPECT_THAT(XmlOf(kStockDomainName, true),
                HasSubstr("<memory unit='KiB'>16777216</memory>"));
}

TEST_F(MemoryTest, SetDomainMemoryMaximumLiveFailsPreconditionAndChangesNothing) {
    grpc::Status status =
        memory_->SetMemory(kStockDomainName, kStockMaxMemoryKiB * 2,
                           {v1::MEMORY_MOD_FLAG_MAXIMUM, v1::MEMORY_MOD_FLAG_LIVE});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_EQ(memory_->MaxMemoryOf(kStockDomainName), kStockMaxMemoryKiB);
}

TEST_F(MemoryTest, SetDomainMemoryAboveTheMaximumIsInvalidAndChangesNothing) {
    grpc::Status status = memory_->SetMemory(kStockDomainName, kStockMaxMemoryKiB + 1);

    // libvirt: "cannot set memory higher than max memory".
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_EQ(InfoOf(kStockDomainName).memory_kib(), kStockMemoryKiB);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MemoryTest, SetDomainMemoryZeroIsInvalidRequestAndChangesNothing) {
    grpc::Status status = memory_->SetMemory(kStockDomainName, 0);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'memory_kib' is 0"));
    EXPECT_EQ(InfoOf(kStockDomainName).memory_kib(), kStockMemoryKiB);
}

TEST_F(MemoryTest, SetDomainMemoryWithAFlagNumberTheEnumLacksIsInvalidRequest) {
    grpc::Status status =
        memory_->SetMemory(kStockDomainName, 1048576, {static_cast<v1::MemoryModFlag>(42)});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_EQ(InfoOf(kStockDomainName).memory_kib(), kStockMemoryKiB);
}

// --- statistics -----------------------------------------------------------------

TEST_F(MemoryTest, SetDomainMemoryStatsPeriodShowsInTheLiveAndPersistentXml) {
    ASSERT_TRUE(Succeeded(memory_->SetStatsPeriod(kStockDomainName, 7)));
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("<stats period='7'/>"));

    ASSERT_TRUE(Succeeded(
        memory_->SetStatsPeriod(kStockDomainName, 9, {v1::MODIFICATION_IMPACT_CONFIG})));
    EXPECT_THAT(XmlOf(kStockDomainName, true), HasSubstr("<stats period='9'/>"));
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("<stats period='7'/>"));
}

TEST_F(MemoryTest, SetDomainMemoryStatsPeriodWithoutABalloonFailsWithLibvirtsError) {
    DefineDomain("off1");
    grpc::Status status = memory_->SetStatsPeriod("off1", 5);

    // The test driver: "No memory balloon device configured, can not set the collection
    // period", as VIR_ERR_INTERNAL_ERROR.
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(status.error_message(), HasSubstr("balloon"));
    EXPECT_THAT(XmlOf("off1"), ::testing::Not(HasSubstr("period=")));
}

TEST_F(MemoryTest, SetDomainMemoryStatsPeriodBeyondIntMaxIsInvalidRequest) {
    grpc::Status status = memory_->SetStatsPeriod(kStockDomainName, 0x80000000u);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'period_seconds' is 2147483648"));
}

TEST_F(MemoryTest, GetDomainMemoryStatsReportsEveryTagTheTestDriverFakesByNameAndNumber) {
    v1::GetDomainMemoryStatsResponse response;
    ASSERT_TRUE(Succeeded(memory_->Stats(kStockDomainName, &response)));

    // The test driver reports all 13 tags of libvirt 9.0.
    std::set<uint32_t> libvirt_tags;
    for (const v1::MemoryStat &stat : response.stats()) {
        EXPECT_NE(stat.tag(), v1::MEMORY_STAT_TAG_UNSPECIFIED) << stat.DebugString();
        // Proto values are libvirt's numbers + 1 (0 is _UNSPECIFIED).
        EXPECT_EQ(static_cast<uint32_t>(stat.tag()), stat.libvirt_tag() + 1)
            << stat.DebugString();
        libvirt_tags.insert(stat.libvirt_tag());
    }
    EXPECT_EQ(libvirt_tags.size(), 13u);
    EXPECT_EQ(response.stats_size(), 13);
    EXPECT_THAT(StatOf(response, v1::MEMORY_STAT_TAG_ACTUAL_BALLOON),
                Optional(kStockMemoryKiB));
    EXPECT_THAT(StatOf(response, v1::MEMORY_STAT_TAG_AVAILABLE), Optional(kStockMemoryKiB));
    EXPECT_GT(StatOf(response, v1::MEMORY_STAT_TAG_LAST_UPDATE).value_or(0), 0u);
}

TEST_F(MemoryTest, GetDomainMemoryStatsOfAShutOffDomainFailsPrecondition) {
    DefineDomain("off1");
    v1::GetDomainMemoryStatsResponse response;

    EXPECT_TRUE(FailedWith(memory_->Stats("off1", &response),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
}

// --- peeking --------------------------------------------------------------------

TEST_F(MemoryTest, PeekDomainMemoryReturnsTheAskedBytesFromTheOffset) {
    v1::PeekDomainMemoryResponse response;
    ASSERT_TRUE(Succeeded(
        memory_->Peek(kStockDomainName, v1::MEMORY_ADDRESS_SPACE_VIRTUAL, 100, 16, &response)));

    // The test driver's memory holds byte (address & 0xff) at each address.
    ASSERT_EQ(response.data().size(), 16u);
    for (size_t i = 0; i < 16; i++)
        EXPECT_EQ(static_cast<uint8_t>(response.data()[i]), (100 + i) & 0xff) << i;
}

TEST_F(MemoryTest, PeekDomainMemoryOfOneMiBReturnsEveryByteInOrder) {
    v1::PeekDomainMemoryResponse response;
    ASSERT_TRUE(Succeeded(memory_->Peek(kStockDomainName, v1::MEMORY_ADDRESS_SPACE_PHYSICAL, 7,
                                        kOneMiB, &response)));

    // Read in 64 KiB pieces: a wrong piece offset breaks the sequence.
    ASSERT_EQ(response.data().size(), kOneMiB);
    size_t mismatches = 0;
    for (size_t i = 0; i < kOneMiB; i++)
        mismatches += static_cast<uint8_t>(response.data()[i]) != ((7 + i) & 0xff);
    EXPECT_EQ(mismatches, 0u);
}

TEST_F(MemoryTest, PeekDomainMemoryAboveOneMiBIsInvalidRequestNamingTheLimit) {
    v1::PeekDomainMemoryResponse response;
    grpc::Status status = memory_->Peek(kStockDomainName, v1::MEMORY_ADDRESS_SPACE_VIRTUAL, 0,
                                        kOneMiB + 1, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("1048577"));
    EXPECT_THAT(status.error_message(), HasSubstr("1 MiB"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MemoryTest, PeekDomainMemoryOfZeroBytesIsInvalidRequest) {
    v1::PeekDomainMemoryResponse response;

    EXPECT_TRUE(FailedWith(
        memory_->Peek(kStockDomainName, v1::MEMORY_ADDRESS_SPACE_VIRTUAL, 0, 0, &response),
        grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
}

TEST_F(MemoryTest, PeekDomainMemoryWithoutAnAddressSpaceIsInvalidRequest) {
    v1::PeekDomainMemoryResponse response;
    grpc::Status status =
        memory_->Peek(kStockDomainName, v1::MEMORY_ADDRESS_SPACE_UNSPECIFIED, 0, 16, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'address_space'"));
}

TEST_F(MemoryTest, PeekDomainMemoryWrappingAroundTheAddressSpaceIsInvalidRequest) {
    v1::PeekDomainMemoryResponse response;
    grpc::Status status = memory_->Peek(kStockDomainName, v1::MEMORY_ADDRESS_SPACE_VIRTUAL,
                                        UINT64_MAX - 10, 16, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'offset'"));
}

TEST_F(MemoryTest, PeekDomainMemoryOfAShutOffDomainFailsPrecondition) {
    DefineDomain("off1");
    v1::PeekDomainMemoryResponse response;

    EXPECT_TRUE(
        FailedWith(memory_->Peek("off1", v1::MEMORY_ADDRESS_SPACE_VIRTUAL, 0, 16, &response),
                   grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
}

// --- dirty rate (QEMU proves it: memory-qemu-test.cc) ------------------------------

TEST_F(MemoryTest, StartDomainDirtyRateCalcIsUnimplementedOnTheTestDriver) {
    EXPECT_TRUE(FailedWith(memory_->StartDirtyRate(kStockDomainName, 1),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(MemoryTest, StartDomainDirtyRateCalcWithBadSecondsOrModeIsInvalidRequest) {
    grpc::Status zero = memory_->StartDirtyRate(kStockDomainName, 0);
    EXPECT_TRUE(
        FailedWith(zero, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(zero.error_message(), HasSubstr("'seconds' is 0"));

    grpc::Status mode =
        memory_->StartDirtyRate(kStockDomainName, 1, static_cast<v1::DirtyRateMode>(17));
    EXPECT_TRUE(
        FailedWith(mode, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(mode.error_message(), HasSubstr("'mode'"));
}

// --- every RPC on an unknown domain ----------------------------------------------

TEST_F(MemoryTest, EveryRpcOnAnUnknownDomainIsNotFound) {
    const std::string missing = "no-such-domain";
    std::vector<std::pair<std::string, std::function<grpc::Status()>>> calls = {
        {"GetDomainMaxMemory",
         [&] {
             uint64_t kib;
             return memory_->GetMaxMemory(missing, &kib);
         }},
        {"SetDomainMaxMemory", [&] { return memory_->SetMaxMemory(missing, 16384); }},
        {"SetDomainMemory", [&] { return memory_->SetMemory(missing, 4096); }},
        {"SetDomainMemoryStatsPeriod", [&] { return memory_->SetStatsPeriod(missing, 5); }},
        {"GetDomainMemoryStats",
         [&] {
             v1::GetDomainMemoryStatsResponse r;
             return memory_->Stats(missing, &r);
         }},
        {"PeekDomainMemory",
         [&] {
             v1::PeekDomainMemoryResponse r;
             return memory_->Peek(missing, v1::MEMORY_ADDRESS_SPACE_VIRTUAL, 0, 16, &r);
         }},
        {"StartDomainDirtyRateCalc", [&] { return memory_->StartDirtyRate(missing, 1); }},
    };

    for (const auto &[name, call] : calls) {
        grpc::Status status = call();
        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"))
            << name;
        EXPECT_THAT(status.error_message(), HasSubstr(missing)) << name;
    }
    EXPECT_TRUE(ServerStillServes());
}

}  // namespace
}  // namespace virtgrpc::testing
