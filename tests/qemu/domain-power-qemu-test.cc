// DomainService's RPCs that act on a running guest, on a real QEMU guest (TCG) with its
// guest agent: PM suspend to RAM and wake-up, an NMI the guest kernel reports on its
// serial console, key presses that type a command into the guest's VGA console, the
// guest clock read and set through the agent, and the calls QEMU refuses.
//
// Each test has its own server and domain (tests/support/qemu-guest.h).
#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-call.h"
#include "tests/support/qemu-guest.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;

using Stub = v1::DomainService::Stub;
using PowerQemuTest = DomainCalls<QemuGuestTest>;

// Host and guest clocks agree within this (both follow the host's RTC; the guest's
// agent answers within a second or two under TCG).
constexpr int64_t kClockToleranceSeconds = 30;

int64_t
HostSeconds()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class BootedPowerQemuTest : public DomainCalls<BootedQemuGuestTest>
{
  protected:
    grpc::Status
    PMSuspend(v1::PMSuspendTarget target, uint64_t duration_s = 0)
    {
        v1::PMSuspendDomainRequest request;
        *request.mutable_domain() = ref();
        request.set_target(target);
        request.set_duration_s(duration_s);
        v1::Domain domain;
        return Call(&Stub::PMSuspendDomain, request, &domain, kHypervisorCallTimeout);
    }

    grpc::Status
    PMWakeup(v1::Domain *domain)
    {
        v1::PMWakeupDomainRequest request;
        *request.mutable_domain() = ref();
        return Call(&Stub::PMWakeupDomain, request, domain, kHypervisorCallTimeout);
    }

    // Presses `keys` together (Linux input codes).
    grpc::Status
    Press(std::vector<uint32_t> keys)
    {
        v1::SendDomainKeyRequest request;
        *request.mutable_domain() = ref();
        request.set_keycode_set(v1::KEYCODE_SET_LINUX);
        for (uint32_t key : keys)
            request.add_keycodes(key);
        v1::Domain domain;
        return Call(&Stub::SendDomainKey, request, &domain, kHypervisorCallTimeout);
    }

    grpc::Status
    GuestTime(v1::DomainTime *time)
    {
        v1::GetDomainTimeRequest request;
        *request.mutable_domain() = ref();
        return Call(&Stub::GetDomainTime, request, time, kHypervisorCallTimeout);
    }

    grpc::Status
    SetGuestTime(int64_t seconds, std::initializer_list<v1::SetTimeFlag> flags)
    {
        v1::SetDomainTimeRequest request;
        *request.mutable_domain() = ref();
        request.set_seconds(seconds);
        for (v1::SetTimeFlag flag : flags)
            request.add_flags(flag);
        v1::Domain domain;
        return Call(&Stub::SetDomainTime, request, &domain, kHypervisorCallTimeout);
    }

    // Waits until the serial console shows `text`.
    ::testing::AssertionResult
    WaitForConsole(const std::string &text)
    {
        if (WaitUntil([&] { return ReadSerialLog().find(text) != std::string::npos; },
                      kBootTimeout))
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure()
               << "the console never showed '" << text << "':\n"
               << ReadSerialLog();
    }
};

// --- PM suspend / wake-up ----------------------------------------------------------

TEST_F(BootedPowerQemuTest, PMSuspendToRamSuspendsTheGuestAndPMWakeupRunsItAgain)
{
    ASSERT_TRUE(Succeeded(PMSuspend(v1::PM_SUSPEND_TARGET_MEM)));
    ASSERT_TRUE(WaitForState(v1::DOMAIN_STATE_PMSUSPENDED, kBootTimeout))
        << ReadSerialLog();

    v1::Domain woken;
    ASSERT_TRUE(Succeeded(PMWakeup(&woken)));
    v1::DomainStateInfo state;
    ASSERT_TRUE(WaitForState(v1::DOMAIN_STATE_RUNNING, kBootTimeout, &state));
    EXPECT_EQ(DescribeState(state), "DOMAIN_STATE_RUNNING/RUNNING_REASON_WAKEUP");
    // The guest answers again. (This guest does not resume from S3 where it stopped: its
    // kernel boots afresh after the wake-up, a second ready banner shows on the console.
    // That is the guest's firmware and kernel at work, not libvirt's.)
    EXPECT_TRUE(WaitForAgent(kBootTimeout));
}

TEST_F(BootedPowerQemuTest, PMWakeupOfARunningGuestFailsWithQemusError)
{
    v1::Domain domain;
    grpc::Status status = PMWakeup(&domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(status.error_message(), HasSubstr("not in suspended state"));
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(PowerQemuTest, PMSuspendForANonZeroDurationIsRefusedByQemu)
{
    v1::PMSuspendDomainRequest request;
    *request.mutable_domain() = ref();
    request.set_target(v1::PM_SUSPEND_TARGET_MEM);
    request.set_duration_s(60);
    v1::Domain domain;
    grpc::Status status = Call(&Stub::PMSuspendDomain, request, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNIMPLEMENTED,
                           "VIR_ERR_ARGUMENT_UNSUPPORTED"));
    EXPECT_THAT(status.error_message(), HasSubstr("Duration"));
}

// --- NMI, keys -----------------------------------------------------------------------

TEST_F(BootedPowerQemuTest, InjectDomainNMIReachesTheGuestKernel)
{
    v1::InjectDomainNMIRequest request;
    *request.mutable_domain() = ref();
    v1::Domain domain;
    ASSERT_TRUE(
        Succeeded(Call(&Stub::InjectDomainNMI, request, &domain, kHypervisorCallTimeout)));

    // Linux logs an NMI nobody claimed at KERN_EMERG, so even `quiet` prints it.
    EXPECT_TRUE(WaitForConsole("NMI received"));
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_TRUE(Succeeded(AgentHostname(nullptr)));
}

// The VGA console (tty1) starts a shell when Enter is pressed; typing a command there
// whose output goes to the serial console shows that the keys arrived.
TEST_F(BootedPowerQemuTest, SendDomainKeyTypesACommandIntoTheGuestsConsole)
{
    // Linux input codes.
    constexpr uint32_t kEnter = 28, kSpace = 57, kShift = 42, kSlash = 53, kDot = 52;
    const std::vector<uint32_t> kEcho = {18, 46, 35, 24};           // e c h o
    const std::vector<uint32_t> kMarker = {47, 34, 37, 18, 21, 31}; // v g k e y s
    const std::vector<uint32_t> kDevTtyS0 = {32, 18, 47};           // d e v
    const std::vector<uint32_t> kTty = {20, 20, 21};                // t t y

    ASSERT_TRUE(Succeeded(Press({kEnter}))); // "Please press Enter to activate"
    std::vector<std::vector<uint32_t>> typing;
    for (uint32_t key : kEcho)
        typing.push_back({key});
    typing.push_back({kSpace});
    for (uint32_t key : kMarker)
        typing.push_back({key});
    typing.push_back({kSpace});
    typing.push_back({kShift, kDot}); // '>'
    typing.push_back({kSlash});
    for (uint32_t key : kDevTtyS0)
        typing.push_back({key});
    typing.push_back({kSlash});
    for (uint32_t key : kTty)
        typing.push_back({key});
    typing.push_back({kShift, 31}); // 'S'
    typing.push_back({11});         // '0'
    typing.push_back({kEnter});
    for (const std::vector<uint32_t> &keys : typing)
        ASSERT_TRUE(Succeeded(Press(keys)));

    EXPECT_TRUE(WaitForConsole("vgkeys"));
}

// --- process signals: not QEMU's ---------------------------------------------------

TEST_F(PowerQemuTest, SendDomainProcessSignalIsUnsupportedByQemu)
{
    ASSERT_TRUE(Succeeded(Start()));
    v1::SendDomainProcessSignalRequest request;
    *request.mutable_domain() = ref();
    request.set_pid(1);
    request.set_signal(v1::PROCESS_SIGNAL_NOP);
    v1::Domain domain;

    EXPECT_TRUE(FailedWith(Call(&Stub::SendDomainProcessSignal, request, &domain),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_EQ(StateOf(name()).state(), v1::DOMAIN_STATE_RUNNING);
}

// --- the guest clock, through the agent ---------------------------------------------

TEST_F(BootedPowerQemuTest, GuestClockFollowsTheHostAndSetDomainTimeMovesIt)
{
    v1::DomainTime time;
    ASSERT_TRUE(Succeeded(GuestTime(&time)));
    EXPECT_NEAR(time.seconds(), HostSeconds(), kClockToleranceSeconds);
    EXPECT_LT(time.nanoseconds(), 1000000000u);

    // A day ahead, read back through the agent.
    ASSERT_TRUE(Succeeded(SetGuestTime(HostSeconds() + 86400, {})));
    ASSERT_TRUE(Succeeded(GuestTime(&time)));
    EXPECT_NEAR(time.seconds(), HostSeconds() + 86400, kClockToleranceSeconds);

    // SYNC: the guest re-reads its RTC, which the agent's set moved as well (qemu-ga
    // runs `hwclock -w`), so the clock stays a day ahead.
    ASSERT_TRUE(Succeeded(SetGuestTime(0, {v1::SET_TIME_FLAG_SYNC})));
    ASSERT_TRUE(Succeeded(GuestTime(&time)));
    EXPECT_NEAR(time.seconds(), HostSeconds() + 86400, kClockToleranceSeconds);
}

TEST_F(PowerQemuTest, GuestClockOfAShutOffGuestFailsPrecondition)
{
    v1::GetDomainTimeRequest request;
    *request.mutable_domain() = ref();
    v1::DomainTime time;

    EXPECT_TRUE(FailedWith(Call(&Stub::GetDomainTime, request, &time),
                           grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
}

} // namespace
} // namespace virtgrpc::testing
