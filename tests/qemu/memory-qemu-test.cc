// MemoryService on a real QEMU guest (TCG), through virtgrpcd and grpc++ stubs only: what
// the test driver cannot show — balloon statistics that come from the guest's own
// virtio-balloon driver and refresh at the period set, a balloon that follows
// SetDomainMemory, peeks of real guest memory (1 MiB, more than libvirt's remote protocol
// carries in one call), dirty rate measurement, and the errors QEMU gives for requests
// it refuses.
//
// Each test has its own server and domain (tests/support/qemu-guest.h): 128 MiB, a
// virtio balloon whose statistics period the template sets to 2 s.
#include <algorithm>
#include <functional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/memory-client.h"
#include "tests/support/qemu-guest.h"

namespace virtgrpc::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

// How long the guest's balloon driver may take to report, or to reach a new target.
constexpr std::chrono::milliseconds kBalloonTimeout{30000};
constexpr uint32_t kOneMiB = 1024 * 1024;

template <typename Base>
class MemoryQemuTest : public Base {
  protected:
    void SetUp() override {
        Base::SetUp();
        if (this->HasFatalFailure())
            return;
        memory_ = std::make_unique<MemoryClient>(this->channel(), kHypervisorCallTimeout);
    }

    void TearDown() override {
        memory_.reset();
        Base::TearDown();
    }

    std::string Xml(bool inactive = false) {
        return DomainXmlOf(*this->domains_, this->name(), inactive);
    }

    // Polls GetDomainMemoryStats until `holds(stats)`; `last` receives the last answer.
    ::testing::AssertionResult WaitForStats(
        const std::function<bool(const v1::GetDomainMemoryStatsResponse &)> &holds,
        v1::GetDomainMemoryStatsResponse *last) {
        if (WaitUntil([&] { return memory_->Stats(this->name(), last).ok() && holds(*last); },
                      kBalloonTimeout))
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure()
               << "the statistics never matched; last: " << last->ShortDebugString();
    }

    std::unique_ptr<MemoryClient> memory_;
};

using MemoryShutOffQemuTest = MemoryQemuTest<QemuGuestTest>;
using MemoryBootedQemuTest = MemoryQemuTest<BootedQemuGuestTest>;

// ---- A shut-off guest ----

TEST_F(MemoryShutOffQemuTest, SetDomainMaxMemoryOfAShutOffGuestIsReadBack) {
    ASSERT_EQ(memory_->MaxMemoryOf(name()), kGuestMemoryKiB);

    ASSERT_TRUE(Succeeded(memory_->SetMaxMemory(name(), 2 * kGuestMemoryKiB)));

    EXPECT_EQ(memory_->MaxMemoryOf(name()), 2 * kGuestMemoryKiB);
    EXPECT_EQ(DomainInfoOf(*domains_, name()).memory_kib(), kGuestMemoryKiB);
    EXPECT_THAT(Xml(), HasSubstr("<memory unit='KiB'>262144</memory>"));
}

TEST_F(MemoryShutOffQemuTest, RunningGuestCallsOnAShutOffGuestFailPrecondition) {
    v1::GetDomainMemoryStatsResponse stats;
    v1::PeekDomainMemoryResponse peek;

    EXPECT_TRUE(FailedWith(memory_->Stats(name(), &stats),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(
        FailedWith(memory_->Peek(name(), v1::MEMORY_ADDRESS_SPACE_PHYSICAL, 0, 16, &peek),
                   grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(FailedWith(memory_->StartDirtyRate(name(), 1),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(ServerStillServes());
}

// ---- The balloon ----

TEST_F(MemoryBootedQemuTest, GuestBalloonStatisticsRefreshAtTheSetPeriod) {
    v1::GetDomainMemoryStatsResponse stats;
    // Statistics only the guest's balloon driver provides.
    ASSERT_TRUE(WaitForStats(
        [](const v1::GetDomainMemoryStatsResponse &s) {
            return StatOf(s, v1::MEMORY_STAT_TAG_UNUSED) &&
                   StatOf(s, v1::MEMORY_STAT_TAG_AVAILABLE) &&
                   StatOf(s, v1::MEMORY_STAT_TAG_USABLE) &&
                   StatOf(s, v1::MEMORY_STAT_TAG_LAST_UPDATE);
        },
        &stats));
    EXPECT_THAT(StatOf(stats, v1::MEMORY_STAT_TAG_ACTUAL_BALLOON), Optional(kGuestMemoryKiB));
    EXPECT_LT(StatOf(stats, v1::MEMORY_STAT_TAG_AVAILABLE).value_or(0), kGuestMemoryKiB);
    EXPECT_GT(StatOf(stats, v1::MEMORY_STAT_TAG_RSS).value_or(0), 0u);
    for (const v1::MemoryStat &stat : stats.stats())
        EXPECT_NE(stat.tag(), v1::MEMORY_STAT_TAG_UNSPECIFIED) << stat.DebugString();

    ASSERT_TRUE(Succeeded(memory_->SetStatsPeriod(name(), 1, {v1::MODIFICATION_IMPACT_LIVE})));
    EXPECT_THAT(Xml(), HasSubstr("<stats period='1'/>"));
    EXPECT_THAT(Xml(true), HasSubstr("<stats period='2'/>"));
    // The guest now refreshes every second: the timestamp moves on.
    uint64_t updated = StatOf(stats, v1::MEMORY_STAT_TAG_LAST_UPDATE).value_or(0);
    EXPECT_TRUE(WaitForStats(
        [&](const v1::GetDomainMemoryStatsResponse &s) {
            return StatOf(s, v1::MEMORY_STAT_TAG_LAST_UPDATE).value_or(0) > updated;
        },
        &stats));
}

TEST_F(MemoryBootedQemuTest, SetDomainMemoryDeflatesTheGuestsBalloonToTheTarget) {
    constexpr uint64_t kTargetKiB = 98304;  // 96 MiB: the guest still runs with it.

    ASSERT_TRUE(Succeeded(memory_->SetMemory(name(), kTargetKiB, {v1::MEMORY_MOD_FLAG_LIVE})));

    v1::GetDomainMemoryStatsResponse stats;
    EXPECT_TRUE(WaitForStats(
        [&](const v1::GetDomainMemoryStatsResponse &s) {
            return StatOf(s, v1::MEMORY_STAT_TAG_ACTUAL_BALLOON) == kTargetKiB;
        },
        &stats));
    // GetDomainInfo follows QEMU's BALLOON_CHANGE events, which QEMU rate-limits: later.
    EXPECT_TRUE(WaitUntil(
        [&] { return DomainInfoOf(*domains_, name()).memory_kib() == kTargetKiB; },
        kBalloonTimeout))
        << "GetDomainInfo still says " << DomainInfoOf(*domains_, name()).memory_kib();
    EXPECT_EQ(memory_->MaxMemoryOf(name()), kGuestMemoryKiB);
    // The persistent size is untouched.
    EXPECT_THAT(Xml(true), HasSubstr("<currentMemory unit='KiB'>131072</currentMemory>"));
}

TEST_F(MemoryBootedQemuTest, MemoryChangesARunningGuestCannotTakeFailAndChangeNothing) {
    grpc::Status max = memory_->SetMaxMemory(name(), 2 * kGuestMemoryKiB);
    EXPECT_TRUE(
        FailedWith(max, grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(max.error_message(), HasSubstr("active domain"));

    EXPECT_TRUE(FailedWith(memory_->SetMemory(name(), 2 * kGuestMemoryKiB),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_EQ(memory_->MaxMemoryOf(name()), kGuestMemoryKiB);
    EXPECT_EQ(DomainInfoOf(*domains_, name()).memory_kib(), kGuestMemoryKiB);
    EXPECT_TRUE(ServerStillServes());
}

// ---- Peeking ----

TEST_F(MemoryBootedQemuTest, PeekDomainMemoryReadsOneMiBOfPhysicalMemoryConsistently) {
    v1::PeekDomainMemoryResponse whole;
    ASSERT_TRUE(Succeeded(
        memory_->Peek(name(), v1::MEMORY_ADDRESS_SPACE_PHYSICAL, 0, kOneMiB, &whole)));
    ASSERT_EQ(whole.data().size(), kOneMiB);
    EXPECT_TRUE(std::any_of(whole.data().begin(), whole.data().end(), [](char byte) {
        return byte != 0;
    })) << "the first MiB of a booted PC (BIOS data, option ROMs) is not all zero";

    // The BIOS ROM at 0xf0000-0xfffff does not change: a small peek there, across the
    // 64 KiB pieces the big one was read in, returns the same bytes.
    v1::PeekDomainMemoryResponse part;
    ASSERT_TRUE(Succeeded(
        memory_->Peek(name(), v1::MEMORY_ADDRESS_SPACE_PHYSICAL, 0xf0000 - 8, 16, &part)));
    EXPECT_EQ(part.data(), whole.data().substr(0xf0000 - 8, 16));
}

TEST_F(MemoryBootedQemuTest, PeekDomainMemoryOfAnUnmappedVirtualAddressIsQemusInternalError) {
    v1::PeekDomainMemoryResponse response;
    grpc::Status status =
        memory_->Peek(name(), v1::MEMORY_ADDRESS_SPACE_VIRTUAL, 0, 16, &response);

    // QEMU's memsave: "Invalid addr 0x0000000000000000/size 16 specified".
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(status.error_message(), HasSubstr("Invalid addr"));
    EXPECT_TRUE(ServerStillServes());
}

// ---- Dirty rate ----

TEST_F(MemoryBootedQemuTest, StartDomainDirtyRateCalcMeasuresForTheGivenSeconds) {
    ASSERT_TRUE(Succeeded(memory_->StartDirtyRate(name(), 2)));

    // While it measures, QEMU refuses a second measurement.
    grpc::Status again = memory_->StartDirtyRate(name(), 1);
    EXPECT_TRUE(FailedWith(again, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(again.error_message(), HasSubstr("already being measured"));

    // Once the 2 s are over, a new measurement starts.
    EXPECT_TRUE(WaitUntil(
        [&] {
            return memory_->StartDirtyRate(name(), 1, v1::DIRTY_RATE_MODE_PAGE_SAMPLING).ok();
        },
        std::chrono::milliseconds(20000)));
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(MemoryBootedQemuTest, StartDomainDirtyRateCalcModesQemuRefusesFail) {
    // Without KVM there is no dirty ring; more than 60 s is beyond QEMU's range.
    // (DIRTY_BITMAP is not tried: QEMU 7.2 under TCG crashes on it.)
    grpc::Status ring = memory_->StartDirtyRate(name(), 1, v1::DIRTY_RATE_MODE_DIRTY_RING);
    EXPECT_TRUE(
        FailedWith(ring, grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_OPERATION_UNSUPPORTED"));
    EXPECT_THAT(ring.error_message(), HasSubstr("dirty-ring"));

    grpc::Status long_run = memory_->StartDirtyRate(name(), 61);
    EXPECT_TRUE(
        FailedWith(long_run, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_CONFIG_UNSUPPORTED"));
    EXPECT_THAT(long_run.error_message(), HasSubstr("[1, 60]"));
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_TRUE(ServerStillServes());
}

}  // namespace
}  // namespace virtgrpc::testing
