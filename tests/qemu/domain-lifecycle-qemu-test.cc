// DomainService's lifecycle on a real QEMU guest (TCG), through virtgrpcd and grpc++
// stubs only: define, start (also paused), suspend and resume, ACPI and agent shutdown,
// agent and ACPI reboot, reset, destroy, undefine; what a running guest reports (state,
// info, host name from its agent); and calls in the wrong state, with the status and
// ErrorInfo reason libvirt's QEMU driver leads to.
//
// Each test has its own server and domain (tests/support/qemu-guest.h). The guest prints
// a ready banner on its serial console at the end of every boot and a shutdown banner
// when it shuts down in an orderly way; tests count them to tell a reboot from a reset
// and an orderly shutdown from a pulled plug.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/qemu-guest.h"

namespace virtgrpc::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// How long an idle guest's cpu_time may take to visibly grow.
constexpr std::chrono::milliseconds kCpuTimeGrowthTimeout{10000};

MATCHER_P2(IsState, state, reason_name, "") {
    std::string described = DescribeState(arg);
    *result_listener << "which is " << described;
    return described == std::string(v1::DomainState_Name(state)) + "/" + reason_name;
}

// ---- A defined, shut-off guest ----

TEST_F(QemuGuestTest, DefinedGuestIsShutOff) {
    EXPECT_EQ(defined().name(), name());
    EXPECT_FALSE(defined().uuid().empty());
    EXPECT_EQ(defined().id(), -1);
    EXPECT_THAT(defined().state(), IsState(v1::DOMAIN_STATE_SHUTOFF, "SHUTOFF_REASON_UNKNOWN"));
    EXPECT_THAT(StateOf(name()), IsState(v1::DOMAIN_STATE_SHUTOFF, "SHUTOFF_REASON_UNKNOWN"));
    EXPECT_EQ(ReadSerialLog(), "") << "QEMU never ran, so there is no console output";
}

TEST_F(QemuGuestTest, SuspendShutOffGuestFailsPrecondition) {
    grpc::Status status = Suspend();

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(status.error_message(), HasSubstr("not running"));
    EXPECT_THAT(StateOf(name()), IsState(v1::DOMAIN_STATE_SHUTOFF, "SHUTOFF_REASON_UNKNOWN"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(QemuGuestTest, AgentHostnameOfShutOffGuestFailsPrecondition) {
    std::string hostname;
    grpc::Status status = AgentHostname(&hostname);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(status.error_message(), HasSubstr("not running"));
    EXPECT_EQ(hostname, "");
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(QemuGuestTest, UndefineShutOffGuestRemovesIt) {
    v1::Domain undefined;
    ASSERT_TRUE(Succeeded(Undefine({v1::UNDEFINE_FLAG_MANAGED_SAVE,
                                    v1::UNDEFINE_FLAG_SNAPSHOTS_METADATA,
                                    v1::UNDEFINE_FLAG_CHECKPOINTS_METADATA,
                                    v1::UNDEFINE_FLAG_NVRAM},
                                   &undefined)));

    // The response is the domain as it was.
    EXPECT_EQ(undefined.name(), name());
    EXPECT_EQ(undefined.uuid(), defined().uuid());
    v1::Domain domain;
    EXPECT_TRUE(FailedWith(GetDomain(name(), &domain), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
    v1::GetDomainRequest by_uuid;
    *by_uuid.mutable_domain() = RefByUuid(defined().uuid());
    EXPECT_TRUE(FailedWith(domains_->GetDomain(ContextWithDeadline().get(), by_uuid, &domain),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

TEST_F(QemuGuestTest, StartPausedLeavesGuestPausedUntilResumed) {
    v1::Domain started;
    ASSERT_TRUE(Succeeded(Start({v1::START_FLAG_PAUSED}, &started)));

    // libvirt's QEMU driver reports a domain started paused as paused by the user.
    EXPECT_GT(started.id(), 0);
    EXPECT_THAT(started.state(), IsState(v1::DOMAIN_STATE_PAUSED, "PAUSED_REASON_USER"));
    EXPECT_THAT(StateOf(name()), IsState(v1::DOMAIN_STATE_PAUSED, "PAUSED_REASON_USER"));
    // The vCPUs never ran. libvirt does not even try the agent of a guest that is not
    // RUNNING: "domain is not running", though QEMU is.
    grpc::Status agent = AgentHostname(nullptr);
    EXPECT_TRUE(
        FailedWith(agent, grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(agent.error_message(), HasSubstr("not running"));
    EXPECT_EQ(CountReadyBanners(), 0);

    v1::Domain resumed;
    ASSERT_TRUE(Succeeded(Resume(&resumed)));
    EXPECT_EQ(resumed.id(), started.id());
    EXPECT_THAT(resumed.state(), IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_UNPAUSED"));
    std::string hostname;
    ASSERT_TRUE(WaitForAgent(kBootTimeout, &hostname)) << ReadSerialLog();
    EXPECT_EQ(hostname, kGuestHostname);
    // One boot: the first banner (printed just after the agent starts), and no second.
    EXPECT_TRUE(WaitForReadyBanners(1, kBootTimeout));
    EXPECT_EQ(CountReadyBanners(), 1);
    EXPECT_THAT(StateOf(name()), IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_UNPAUSED"));
}

// ---- A booted guest whose agent answers ----

TEST_F(BootedQemuGuestTest, StartedGuestRunsBootedAndReportsItself) {
    EXPECT_EQ(started().name(), name());
    EXPECT_EQ(started().uuid(), defined().uuid());
    EXPECT_GT(started().id(), 0);
    EXPECT_THAT(started().state(), IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_BOOTED"));
    EXPECT_THAT(StateOf(name()), IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_BOOTED"));

    std::string hostname;
    ASSERT_TRUE(Succeeded(AgentHostname(&hostname)));
    EXPECT_EQ(hostname, kGuestHostname);
    EXPECT_EQ(CountReadyBanners(), 1);

    v1::DomainInfo info;
    ASSERT_TRUE(Succeeded(Info(&info)));
    EXPECT_EQ(info.domain().name(), name());
    EXPECT_EQ(info.domain().uuid(), defined().uuid());
    EXPECT_EQ(info.domain().id(), started().id());
    EXPECT_THAT(info.domain().state(),
                IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_BOOTED"));
    EXPECT_EQ(info.max_memory_kib(), kGuestMemoryKiB);
    EXPECT_EQ(info.memory_kib(), kGuestMemoryKiB);
    EXPECT_EQ(info.vcpus(), kGuestVcpus);
    EXPECT_GT(info.cpu_time_ns(), 0u);

    // Even an idle guest burns CPU under TCG.
    uint64_t first_cpu_time = info.cpu_time_ns();
    EXPECT_TRUE(WaitUntil(
        [&] {
            v1::DomainInfo later;
            return Info(&later).ok() && later.cpu_time_ns() > first_cpu_time;
        },
        kCpuTimeGrowthTimeout))
        << "cpu_time_ns stayed at " << first_cpu_time;
}

TEST_F(BootedQemuGuestTest, StartRunningGuestFailsPrecondition) {
    grpc::Status status = Start();

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(status.error_message(), HasSubstr("already running"));
    // The guest was left alone: same QEMU, same boot, agent still there.
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(GetDomain(name(), &domain)));
    EXPECT_EQ(domain.id(), started().id());
    EXPECT_THAT(domain.state(), IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_BOOTED"));
    EXPECT_TRUE(Succeeded(AgentHostname(nullptr)));
    EXPECT_EQ(CountReadyBanners(), 1);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(BootedQemuGuestTest, SuspendPausesGuestAndResumeRunsItAgain) {
    v1::Domain suspended;
    ASSERT_TRUE(Succeeded(Suspend(&suspended)));
    EXPECT_THAT(suspended.state(), IsState(v1::DOMAIN_STATE_PAUSED, "PAUSED_REASON_USER"));
    EXPECT_THAT(StateOf(name()), IsState(v1::DOMAIN_STATE_PAUSED, "PAUSED_REASON_USER"));

    v1::Domain resumed;
    ASSERT_TRUE(Succeeded(Resume(&resumed)));
    EXPECT_EQ(resumed.id(), started().id());
    EXPECT_THAT(resumed.state(), IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_UNPAUSED"));
    EXPECT_THAT(StateOf(name()), IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_UNPAUSED"));
    // The same boot goes on.
    EXPECT_TRUE(WaitForAgent(kBootTimeout));
    EXPECT_EQ(CountReadyBanners(), 1);
}

TEST_F(BootedQemuGuestTest, AcpiShutdownPowersGuestOff) {
    ASSERT_TRUE(Succeeded(Shutdown({v1::SHUTDOWN_MODE_ACPI_POWER_BTN})));

    v1::DomainStateInfo state;
    ASSERT_TRUE(WaitForState(v1::DOMAIN_STATE_SHUTOFF, kShutdownTimeout, &state))
        << ReadSerialLog();
    EXPECT_THAT(state, IsState(v1::DOMAIN_STATE_SHUTOFF, "SHUTOFF_REASON_SHUTDOWN"));
    EXPECT_THAT(ReadSerialLog(), HasSubstr(kShutdownBanner));
}

TEST_F(BootedQemuGuestTest, AgentShutdownPowersGuestOff) {
    ASSERT_TRUE(Succeeded(Shutdown({v1::SHUTDOWN_MODE_GUEST_AGENT})));

    v1::DomainStateInfo state;
    ASSERT_TRUE(WaitForState(v1::DOMAIN_STATE_SHUTOFF, kShutdownTimeout, &state))
        << ReadSerialLog();
    EXPECT_THAT(state, IsState(v1::DOMAIN_STATE_SHUTOFF, "SHUTOFF_REASON_SHUTDOWN"));
    EXPECT_THAT(ReadSerialLog(), HasSubstr(kShutdownBanner));
}

TEST_F(BootedQemuGuestTest, AgentRebootBootsGuestAgain) {
    ASSERT_TRUE(Succeeded(Reboot({v1::REBOOT_MODE_GUEST_AGENT})));

    ASSERT_TRUE(WaitForReadyBanners(2, kBootTimeout));
    std::string hostname;
    ASSERT_TRUE(WaitForAgent(kBootTimeout, &hostname));
    EXPECT_EQ(hostname, kGuestHostname);
    EXPECT_THAT(ReadSerialLog(), HasSubstr(kShutdownBanner));
    // The guest rebooted inside the same QEMU process.
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(GetDomain(name(), &domain)));
    EXPECT_EQ(domain.id(), started().id());
    EXPECT_THAT(domain.state(), IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_BOOTED"));
}

TEST_F(BootedQemuGuestTest, AcpiRebootBootsGuestAgain) {
    ASSERT_TRUE(Succeeded(Reboot({v1::REBOOT_MODE_ACPI_POWER_BTN})));

    // libvirt presses the power button, and when the guest has powered off it resets and
    // resumes QEMU (a "fake reboot").
    ASSERT_TRUE(WaitForReadyBanners(2, kBootTimeout));
    std::string hostname;
    ASSERT_TRUE(WaitForAgent(kBootTimeout, &hostname));
    EXPECT_EQ(hostname, kGuestHostname);
    EXPECT_THAT(ReadSerialLog(), HasSubstr(kShutdownBanner));
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(GetDomain(name(), &domain)));
    EXPECT_EQ(domain.id(), started().id());
    EXPECT_THAT(domain.state(), IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_BOOTED"));
}

TEST_F(BootedQemuGuestTest, ResetRebootsGuestWithoutShutdown) {
    ASSERT_TRUE(Succeeded(Reset()));

    ASSERT_TRUE(WaitForReadyBanners(2, kBootTimeout));
    ASSERT_TRUE(WaitForAgent(kBootTimeout));
    // Like a reset button: the guest's shutdown script never ran.
    EXPECT_THAT(ReadSerialLog(), Not(HasSubstr(kShutdownBanner)));
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(GetDomain(name(), &domain)));
    EXPECT_EQ(domain.id(), started().id());
    EXPECT_THAT(domain.state(), IsState(v1::DOMAIN_STATE_RUNNING, "RUNNING_REASON_BOOTED"));
}

TEST_F(BootedQemuGuestTest, DestroyStopsGuestAtOnce) {
    v1::Domain destroyed;
    ASSERT_TRUE(Succeeded(Destroy(&destroyed)));

    // The response already says so: no waiting.
    EXPECT_THAT(destroyed.state(),
                IsState(v1::DOMAIN_STATE_SHUTOFF, "SHUTOFF_REASON_DESTROYED"));
    EXPECT_EQ(destroyed.id(), -1) << "Domain.id is -1 when the domain is not running; the "
                                     "response says "
                                  << DescribeState(destroyed.state()) << " with the old id";
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(GetDomain(name(), &domain)));
    EXPECT_EQ(domain.id(), -1);
    EXPECT_THAT(domain.state(), IsState(v1::DOMAIN_STATE_SHUTOFF, "SHUTOFF_REASON_DESTROYED"));
    EXPECT_THAT(ReadSerialLog(), Not(HasSubstr(kShutdownBanner)));
}

}  // namespace
}  // namespace virtgrpc::testing
