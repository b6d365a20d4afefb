// VcpuService on a real QEMU guest (TCG), through virtgrpcd and grpc++ stubs only: what
// the test driver cannot show — hot-plugging a vCPU (SetDomainVcpu) that the guest then
// sees, the guest agent's view of its vCPUs and switching them online and offline inside
// the guest, pinning vCPUs, emulator and I/O threads of a running QEMU, I/O thread tuning
// and CPU statistics — and the errors QEMU and the agent give for requests they refuse.
//
// Each test has its own server and domain (tests/support/qemu-guest.h). The guest has
// 1 vCPU; the hot-plug tests raise its maximum to 2 before they boot it.
#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/qemu-guest.h"
#include "tests/support/typed-params.h"
#include "tests/support/vcpu-client.h"

namespace virtgrpc::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// How long the guest may take to notice a hot-plugged vCPU, or a pinned vCPU to be seen
// on its new host CPU.
constexpr std::chrono::milliseconds kGuestNoticeTimeout{20000};

template <typename Base>
class VcpuQemuTest : public Base {
  protected:
    void SetUp() override {
        Base::SetUp();
        if (this->HasFatalFailure())
            return;
        vcpus_ = std::make_unique<VcpuClient>(this->channel(), kHypervisorCallTimeout);
    }

    void TearDown() override {
        vcpus_.reset();
        Base::TearDown();
    }

    std::string Xml(bool inactive = false) {
        return DomainXmlOf(*this->domains_, this->name(), inactive);
    }

    // GetDomainGuestVcpus; fails the test when the call fails.
    v1::GetDomainGuestVcpusResponse GuestVcpus() {
        v1::GetDomainGuestVcpusResponse response;
        EXPECT_TRUE(Succeeded(vcpus_->GuestVcpus(this->name(), &response)));
        return response;
    }

    // Polls GetDomainGuestVcpus until `online` is the guest's online list.
    ::testing::AssertionResult WaitForGuestOnline(const std::vector<uint32_t> &online) {
        v1::GetDomainGuestVcpusResponse last;
        bool held = WaitUntil(
            [&] {
                return vcpus_->GuestVcpus(this->name(), &last).ok() &&
                       std::vector<uint32_t>(last.online().begin(), last.online().end()) ==
                           online;
            },
            kGuestNoticeTimeout);
        if (held)
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure()
               << "the guest's online vCPUs did not become the expected list; last answer: "
               << last.ShortDebugString();
    }

    std::unique_ptr<VcpuClient> vcpus_;
};

using VcpuShutOffQemuTest = VcpuQemuTest<QemuGuestTest>;
using VcpuBootedQemuTest = VcpuQemuTest<BootedQemuGuestTest>;

// A guest whose vCPU maximum is 2 (1 plugged in), booted: room to hot-plug vCPU 1.
class VcpuHotplugQemuTest : public VcpuQemuTest<QemuGuestTest> {
  protected:
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(VcpuQemuTest<QemuGuestTest>::SetUp());
        ASSERT_TRUE(Succeeded(
            vcpus_->SetCount(name(), 2, {v1::VCPU_FLAG_MAXIMUM, v1::VCPU_FLAG_CONFIG})));
        Boot();
        ASSERT_FALSE(HasFailure()) << "the guest did not boot";
    }
};

// ---- A shut-off guest ----

TEST_F(VcpuShutOffQemuTest, RaisingTheMaximumWithConfigKeepsOneVcpuPluggedIn) {
    ASSERT_TRUE(
        Succeeded(vcpus_->SetCount(name(), 2, {v1::VCPU_FLAG_MAXIMUM, v1::VCPU_FLAG_CONFIG})));

    EXPECT_EQ(vcpus_->CountOf(name(), {v1::VCPU_FLAG_MAXIMUM}), 2u);
    EXPECT_EQ(vcpus_->CountOf(name()), kGuestVcpus);
    EXPECT_THAT(Xml(), HasSubstr("current='1'>2</vcpu>"));
    // The configuration's affinity lists both possible vCPUs.
    v1::GetDomainVcpuInfoResponse info;
    ASSERT_TRUE(Succeeded(vcpus_->Info(name(), {v1::MODIFICATION_IMPACT_CONFIG}, &info)));
    ASSERT_EQ(info.vcpus_size(), 2);
    EXPECT_FALSE(info.vcpus(0).has_runtime());
    EXPECT_THAT(info.vcpus(0).affinity(), Not(IsEmpty()));
}

TEST_F(VcpuShutOffQemuTest, RunningGuestCallsOnAShutOffGuestFailPrecondition) {
    uint32_t max_vcpus = 0;
    v1::GetDomainVcpuInfoResponse info;
    v1::GetDomainCPUStatsResponse stats;
    v1::GetDomainGuestVcpusResponse guest;

    EXPECT_TRUE(FailedWith(vcpus_->GetMaxVcpus(name(), &max_vcpus),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(FailedWith(vcpus_->Info(name(), {}, &info),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(FailedWith(vcpus_->CpuStats(name(), false, 0, 0, &stats),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(FailedWith(vcpus_->GuestVcpus(name(), &guest),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(ServerStillServes());
}

// ---- Hot-plug and the guest agent ----

TEST_F(VcpuHotplugQemuTest, SetDomainVcpuHotplugsAVcpuThatTheGuestAgentThenSwitchesOnline) {
    uint32_t max_vcpus = 0;
    ASSERT_TRUE(Succeeded(vcpus_->GetMaxVcpus(name(), &max_vcpus)));
    EXPECT_EQ(max_vcpus, 2u);
    ASSERT_EQ(vcpus_->CountOf(name(), {v1::VCPU_FLAG_LIVE}), 1u);
    v1::GetDomainGuestVcpusResponse before = GuestVcpus();
    EXPECT_THAT(before.vcpus(), ElementsAre(0));
    EXPECT_THAT(before.online(), ElementsAre(0));

    ASSERT_TRUE(Succeeded(vcpus_->SetVcpus(name(), {1}, true, {v1::MODIFICATION_IMPACT_LIVE})));

    EXPECT_EQ(vcpus_->CountOf(name(), {v1::VCPU_FLAG_LIVE}), 2u);
    EXPECT_EQ(DomainInfoOf(*domains_, name()).vcpus(), 2u);
    v1::GetDomainVcpuInfoResponse info;
    ASSERT_TRUE(Succeeded(vcpus_->Info(name(), {}, &info)));
    ASSERT_EQ(info.vcpus_size(), 2);
    EXPECT_EQ(info.vcpus(1).number(), 1u);
    EXPECT_TRUE(info.vcpus(1).has_runtime());
    // The guest sees the new vCPU; this guest (no udev) leaves it offline.
    ASSERT_TRUE(WaitUntil(
        [&] {
            v1::GetDomainGuestVcpusResponse r;
            return vcpus_->GuestVcpus(name(), &r).ok() && r.vcpus_size() == 2;
        },
        kGuestNoticeTimeout))
        << GuestVcpus().ShortDebugString();
    EXPECT_THAT(GuestVcpus().offlinable(), ElementsAre(1));

    ASSERT_TRUE(Succeeded(vcpus_->SetGuestVcpus(name(), {1}, true)));
    EXPECT_TRUE(WaitForGuestOnline({0, 1}));
    EXPECT_EQ(vcpus_->CountOf(name(), {v1::VCPU_FLAG_GUEST}), 2u);

    ASSERT_TRUE(Succeeded(vcpus_->SetGuestVcpus(name(), {1}, false)));
    EXPECT_TRUE(WaitForGuestOnline({0}));
    EXPECT_EQ(vcpus_->CountOf(name(), {v1::VCPU_FLAG_GUEST}), 1u);
    // Offline in the guest, still plugged in.
    EXPECT_EQ(vcpus_->CountOf(name(), {v1::VCPU_FLAG_LIVE}), 2u);
}

TEST_F(VcpuHotplugQemuTest, RequestsTheGuestOrQemuRefuseFailWithTheirStatusAndChangeNothing) {
    // vCPU 1 was not made hot-pluggable, so once in it cannot be unplugged.
    ASSERT_TRUE(Succeeded(vcpus_->SetVcpus(name(), {1}, true, {v1::MODIFICATION_IMPACT_LIVE})));
    grpc::Status unplug = vcpus_->SetVcpus(name(), {1}, false, {v1::MODIFICATION_IMPACT_LIVE});
    EXPECT_TRUE(FailedWith(unplug, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(unplug.error_message(), HasSubstr("hotunplug"));
    EXPECT_EQ(vcpus_->CountOf(name(), {v1::VCPU_FLAG_LIVE}), 2u);

    // The agent: vCPU 0 cannot go offline, vCPU 5 does not exist.
    grpc::Status first = vcpus_->SetGuestVcpus(name(), {0}, false);
    EXPECT_TRUE(
        FailedWith(first, grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_OPERATION_UNSUPPORTED"));
    EXPECT_THAT(first.error_message(), HasSubstr("not offlinable"));
    grpc::Status missing = vcpus_->SetGuestVcpus(name(), {5}, true);
    EXPECT_TRUE(FailedWith(missing, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(missing.error_message(), HasSubstr("'5'"));
    EXPECT_THAT(GuestVcpus().online(), Contains(0));

    // More than the maximum.
    EXPECT_TRUE(FailedWith(vcpus_->SetCount(name(), 3, {v1::VCPU_FLAG_LIVE}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_EQ(vcpus_->CountOf(name(), {v1::VCPU_FLAG_LIVE}), 2u);
    EXPECT_TRUE(ServerStillServes());
}

// ---- Pinning, I/O threads and statistics of a running guest ----

TEST_F(VcpuBootedQemuTest, PinningTheVcpuEmulatorAndAnIOThreadIsReadBackLive) {
    v1::GetDomainVcpuInfoResponse info;
    ASSERT_TRUE(Succeeded(vcpus_->Info(name(), {}, &info)));
    ASSERT_EQ(info.vcpus_size(), 1);
    ASSERT_TRUE(info.vcpus(0).has_runtime());
    EXPECT_EQ(info.vcpus(0).runtime().state(), v1::VCPU_STATE_RUNNING);
    EXPECT_GT(info.vcpus(0).runtime().cpu_time_ns(), 0u);
    // Unpinned, the vCPU may use every host CPU: that tells how many the host has.
    std::vector<uint32_t> all(info.vcpus(0).affinity().begin(), info.vcpus(0).affinity().end());
    ASSERT_THAT(all, Not(IsEmpty()));
    ASSERT_EQ(info.vcpus(0).runtime().host_cpu_case(), v1::VcpuRuntimeInfo::kCpu);
    EXPECT_THAT(all, Contains(info.vcpus(0).runtime().cpu()));
    const uint32_t last = all.back();

    ASSERT_TRUE(Succeeded(vcpus_->PinVcpu(name(), 0, {last}, {v1::MODIFICATION_IMPACT_LIVE})));
    EXPECT_THAT(vcpus_->Affinities(name())[0], ElementsAre(last));
    EXPECT_TRUE(WaitUntil(
        [&] {
            v1::GetDomainVcpuInfoResponse now;
            return vcpus_->Info(name(), {}, &now).ok() && now.vcpus_size() == 1 &&
                   now.vcpus(0).runtime().cpu() == last;
        },
        kGuestNoticeTimeout))
        << "the vCPU never ran on host CPU " << last;
    EXPECT_THAT(Xml(), HasSubstr("<vcpupin vcpu='0' cpuset='" + std::to_string(last) + "'/>"));

    ASSERT_TRUE(Succeeded(vcpus_->PinEmulator(name(), {all.front()})));
    EXPECT_THAT(vcpus_->EmulatorAffinity(name()), ElementsAre(all.front()));
    EXPECT_THAT(Xml(),
                HasSubstr("<emulatorpin cpuset='" + std::to_string(all.front()) + "'/>"));

    ASSERT_THAT(vcpus_->IOThreadIds(name()), IsEmpty());
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(name(), 1, {v1::MODIFICATION_IMPACT_LIVE})));
    ASSERT_THAT(vcpus_->IOThreadIds(name()), ElementsAre(1));
    ASSERT_TRUE(Succeeded(vcpus_->PinIOThread(name(), 1, {all.front()})));
    EXPECT_THAT(vcpus_->IOThreads(name()).at(0).affinity(), ElementsAre(all.front()));
    EXPECT_THAT(Xml(), HasSubstr("<iothreadpin iothread='1' cpuset='" +
                                 std::to_string(all.front()) + "'/>"));

    ASSERT_TRUE(Succeeded(vcpus_->DeleteIOThread(name(), 1, {v1::MODIFICATION_IMPACT_LIVE})));
    EXPECT_THAT(vcpus_->IOThreadIds(name()), IsEmpty());
}

TEST_F(VcpuBootedQemuTest, PinningToAHostCpuTheHostLacksIsInvalidBeforeQemuIsAsked) {
    std::vector<uint32_t> all = vcpus_->Affinities(name()).at(0);
    ASSERT_THAT(all, Not(IsEmpty()));
    const uint32_t beyond = all.back() + 1;

    grpc::Status status = vcpus_->PinVcpu(name(), 0, {beyond}, {v1::MODIFICATION_IMPACT_LIVE});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("host CPU " + std::to_string(beyond)));
    EXPECT_EQ(vcpus_->Affinities(name()).at(0), all);
    EXPECT_THAT(Xml(), Not(HasSubstr("<vcpupin")));
}

TEST_F(VcpuBootedQemuTest, SetDomainIOThreadParamsTunesALiveIOThreadWithinQemusRules) {
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(name(), 1, {v1::MODIFICATION_IMPACT_LIVE})));

    EXPECT_TRUE(Succeeded(vcpus_->SetIOThreadParams(
        name(), 1,
        {Uint64Param("poll_max_ns", 32768), Uint32Param("poll_grow", 2),
         Uint32Param("poll_shrink", 2), Int32Param("thread_pool_min", 1),
         Int32Param("thread_pool_max", 4)},
        {v1::MODIFICATION_IMPACT_LIVE})));

    // -1 ("the default") is for the configuration only.
    grpc::Status status = vcpus_->SetIOThreadParams(
        name(), 1, {Int32Param("thread_pool_min", -1)}, {v1::MODIFICATION_IMPACT_LIVE});
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(status.error_message(), HasSubstr("thread_pool_min"));
    EXPECT_THAT(vcpus_->IOThreadIds(name()), ElementsAre(1));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuBootedQemuTest, GetDomainCPUStatsTotalGrowsAndPerCpuSaysWhatTheHostAllows) {
    v1::GetDomainCPUStatsResponse first;
    ASSERT_TRUE(Succeeded(vcpus_->CpuStats(name(), false, 0, 0, &first)));
    EXPECT_THAT(ParamNames(first.total()), ElementsAre("cpu_time", "user_time", "system_time"));
    uint64_t cpu_time = ParamOf(first.total(), "cpu_time").uint64_value();
    EXPECT_GT(cpu_time, 0u);
    EXPECT_TRUE(WaitUntil(
        [&] {
            v1::GetDomainCPUStatsResponse now;
            return vcpus_->CpuStats(name(), false, 0, 0, &now).ok() &&
                   ParamOf(now.total(), "cpu_time").uint64_value() > cpu_time;
        },
        kGuestNoticeTimeout));

    // Per-CPU times come from cgroup v1's cpuacct; this host has cgroup v2 for QEMU.
    v1::GetDomainCPUStatsResponse per_cpu;
    grpc::Status status = vcpus_->CpuStats(name(), true, 0, 0, &per_cpu);
    if (status.ok()) {
        EXPECT_EQ(per_cpu.per_cpu_size(), static_cast<int>(per_cpu.host_cpu_count()));
    } else {
        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNIMPLEMENTED,
                               "VIR_ERR_OPERATION_UNSUPPORTED"));
        EXPECT_THAT(status.error_message(), HasSubstr("cgroup V2"));
    }
    EXPECT_TRUE(ServerStillServes());
}

}  // namespace
}  // namespace virtgrpc::testing
