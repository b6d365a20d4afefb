// DomainService's RPCs that act on a running guest without stopping it, against the
// real virtgrpcd and libvirt's embedded test driver: StartDomainWithFiles (always
// refused), PM suspend and wake-up (unsupported by the test driver), NMI, keys, process
// signals and the guest clock. Every bad request is shown to change nothing and to leave
// the server serving.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "tests/support/domain-call.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;

using Stub = v1::DomainService::Stub;

// The test driver's canned guest clock until SetDomainTime changes it.
constexpr int64_t kTestDriverTime = 627319920;

class DomainPowerTest : public DomainCalls<ServerTest>
{
  protected:
    grpc::Status
    SendKeys(const std::string &name, v1::KeycodeSet keycode_set,
             const std::vector<uint32_t> &keycodes, uint32_t hold_time_ms = 0)
    {
        v1::SendDomainKeyRequest request;
        *request.mutable_domain() = RefByName(name);
        request.set_keycode_set(keycode_set);
        request.set_hold_time_ms(hold_time_ms);
        for (uint32_t keycode : keycodes)
            request.add_keycodes(keycode);
        v1::Domain domain;
        return Call(&Stub::SendDomainKey, request, &domain);
    }

    grpc::Status
    Signal(const std::string &name, int64_t pid, v1::ProcessSignal signal)
    {
        v1::SendDomainProcessSignalRequest request;
        *request.mutable_domain() = RefByName(name);
        request.set_pid(pid);
        request.set_signal(signal);
        v1::Domain domain;
        return Call(&Stub::SendDomainProcessSignal, request, &domain);
    }

    grpc::Status
    GetTime(const std::string &name, v1::DomainTime *time)
    {
        v1::GetDomainTimeRequest request;
        *request.mutable_domain() = RefByName(name);
        return Call(&Stub::GetDomainTime, request, time);
    }

    grpc::Status
    SetTime(const std::string &name, int64_t seconds, uint32_t nanoseconds,
            std::initializer_list<v1::SetTimeFlag> flags = {})
    {
        v1::SetDomainTimeRequest request;
        *request.mutable_domain() = RefByName(name);
        request.set_seconds(seconds);
        request.set_nanoseconds(nanoseconds);
        for (v1::SetTimeFlag flag : flags)
            request.add_flags(flag);
        v1::Domain domain;
        return Call(&Stub::SetDomainTime, request, &domain);
    }

    // The stock domain is still running with the id it had: nothing restarted it.
    void
    ExpectStockDomainUntouched(int32_t id)
    {
        v1::Domain domain;
        ASSERT_TRUE(Succeeded(GetDomain(kStockDomainName, &domain)));
        EXPECT_EQ(domain.state().state(), v1::DOMAIN_STATE_RUNNING);
        EXPECT_EQ(domain.id(), id);
    }

    int32_t
    StockDomainId()
    {
        v1::Domain domain;
        EXPECT_TRUE(Succeeded(GetDomain(kStockDomainName, &domain)));
        return domain.id();
    }
};

// --- StartDomainWithFiles ----------------------------------------------------------

TEST_F(DomainPowerTest, StartDomainWithFilesIsUnimplementedAndLeavesTheDomainShutOff)
{
    DefineDomain("web1");
    v1::StartDomainWithFilesRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain domain;
    grpc::Status status = Call(&Stub::StartDomainWithFiles, request, &domain);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::UNIMPLEMENTED, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("file descriptors"));
    EXPECT_THAT(status.error_message(), HasSubstr("StartDomain"));
    EXPECT_EQ(StateOf("web1").state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainPowerTest, StartDomainWithFilesChecksTheDomainAndFlagsFirst)
{
    v1::StartDomainWithFilesRequest request;
    *request.mutable_domain() = RefByName("no-such-domain");
    v1::Domain domain;
    EXPECT_TRUE(FailedWith(Call(&Stub::StartDomainWithFiles, request, &domain),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));

    DefineDomain("web1");
    *request.mutable_domain() = RefByName("web1");
    request.add_flags(static_cast<v1::StartFlag>(42));
    grpc::Status status = Call(&Stub::StartDomainWithFiles, request, &domain);
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'flags'"));
}

// --- PM suspend / wake-up ----------------------------------------------------------

TEST_F(DomainPowerTest, PMSuspendDomainIsUnsupportedByTheTestDriverAndLeavesItRunning)
{
    int32_t id = StockDomainId();
    v1::PMSuspendDomainRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    request.set_target(v1::PM_SUSPEND_TARGET_MEM);
    v1::Domain domain;

    EXPECT_TRUE(FailedWith(Call(&Stub::PMSuspendDomain, request, &domain),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    ExpectStockDomainUntouched(id);
}

TEST_F(DomainPowerTest, PMSuspendDomainWithoutTargetIsInvalid)
{
    v1::PMSuspendDomainRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::Domain domain;
    grpc::Status status = Call(&Stub::PMSuspendDomain, request, &domain);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'target'"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainPowerTest, PMWakeupDomainIsUnsupportedByTheTestDriver)
{
    v1::PMWakeupDomainRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::Domain domain;

    EXPECT_TRUE(FailedWith(Call(&Stub::PMWakeupDomain, request, &domain),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
}

// --- NMI -----------------------------------------------------------------------------

TEST_F(DomainPowerTest, InjectDomainNMIKeepsARunningDomainRunning)
{
    int32_t id = StockDomainId();
    v1::InjectDomainNMIRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(Call(&Stub::InjectDomainNMI, request, &domain)));

    EXPECT_EQ(domain.state().state(), v1::DOMAIN_STATE_RUNNING);
    ExpectStockDomainUntouched(id);
}

TEST_F(DomainPowerTest, InjectDomainNMIIntoAShutOffDomainFailsPrecondition)
{
    DefineDomain("web1");
    v1::InjectDomainNMIRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain domain;

    EXPECT_TRUE(FailedWith(Call(&Stub::InjectDomainNMI, request, &domain),
                           grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_EQ(StateOf("web1").state(), v1::DOMAIN_STATE_SHUTOFF);
}

// --- keys ----------------------------------------------------------------------------

TEST_F(DomainPowerTest, SendDomainKeyPressesUpToSixteenKeys)
{
    int32_t id = StockDomainId();
    // Linux KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE.
    EXPECT_TRUE(
        Succeeded(SendKeys(kStockDomainName, v1::KEYCODE_SET_LINUX, {29, 56, 111}, 50)));
    EXPECT_TRUE(Succeeded(
        SendKeys(kStockDomainName, v1::KEYCODE_SET_LINUX, std::vector<uint32_t>(16, 30))));
    ExpectStockDomainUntouched(id);
}

TEST_F(DomainPowerTest, SendDomainKeyAcceptsEveryKeycodeSetIncludingTheRfbAlias)
{
    const google::protobuf::EnumDescriptor *sets = v1::KeycodeSet_descriptor();
    for (int i = 0; i < sets->value_count(); i++) {
        auto set = static_cast<v1::KeycodeSet>(sets->value(i)->number());
        if (set == v1::KEYCODE_SET_UNSPECIFIED)
            continue;
        // 28 is a key in every set (Enter in Linux and XT codes, 'Y' in USB HID...).
        uint32_t code = 28;
        EXPECT_TRUE(Succeeded(SendKeys(kStockDomainName, set, {code})))
            << sets->value(i)->name() << " code " << code;
    }
}

TEST_F(DomainPowerTest, SendDomainKeyWithSeventeenOrNoKeysIsInvalid)
{
    grpc::Status too_many =
        SendKeys(kStockDomainName, v1::KEYCODE_SET_LINUX, std::vector<uint32_t>(17, 30));
    EXPECT_TRUE(FailedWith(too_many, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(too_many.error_message(), HasSubstr("17"));
    EXPECT_THAT(too_many.error_message(), HasSubstr("16"));

    grpc::Status none = SendKeys(kStockDomainName, v1::KEYCODE_SET_LINUX, {});
    EXPECT_TRUE(
        FailedWith(none, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainPowerTest, SendDomainKeyWithoutKeycodeSetIsInvalid)
{
    grpc::Status status = SendKeys(kStockDomainName, v1::KEYCODE_SET_UNSPECIFIED, {30});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'keycode_set'"));
}

// A code the set does not have: libvirt's keycode table says so (INTERNAL_ERROR).
TEST_F(DomainPowerTest, SendDomainKeyWithACodeTheSetLacksFailsWithLibvirtsError)
{
    grpc::Status status = SendKeys(kStockDomainName, v1::KEYCODE_SET_LINUX, {99999});

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(status.error_message(), HasSubstr("99999"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainPowerTest, SendDomainKeyToAShutOffDomainFailsPrecondition)
{
    DefineDomain("web1");

    EXPECT_TRUE(FailedWith(SendKeys("web1", v1::KEYCODE_SET_LINUX, {30}),
                           grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
}

// --- process signals -----------------------------------------------------------------

// Every value of the ProcessSignal enum reaches libvirt as a signal it accepts: the
// test driver checks the number's range (out of range is INVALID_ARG).
TEST_F(DomainPowerTest, SendDomainProcessSignalAcceptsEverySignalOfTheEnum)
{
    const google::protobuf::EnumDescriptor *signals = v1::ProcessSignal_descriptor();
    int sent = 0;
    for (int i = 0; i < signals->value_count(); i++) {
        auto signal = static_cast<v1::ProcessSignal>(signals->value(i)->number());
        if (signal == v1::PROCESS_SIGNAL_UNSPECIFIED)
            continue;
        EXPECT_TRUE(Succeeded(Signal(kStockDomainName, 1, signal)))
            << signals->value(i)->name();
        sent++;
    }
    EXPECT_EQ(sent, 65); // VIR_DOMAIN_PROCESS_SIGNAL_NOP .. _RT32
}

TEST_F(DomainPowerTest, SendDomainProcessSignalToPidZeroIsInvalid)
{
    grpc::Status status = Signal(kStockDomainName, 0, v1::PROCESS_SIGNAL_TERM);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'pid'"));
}

TEST_F(DomainPowerTest, SendDomainProcessSignalWithoutOrWithAnUnknownSignalIsInvalid)
{
    grpc::Status unset = Signal(kStockDomainName, 1, v1::PROCESS_SIGNAL_UNSPECIFIED);
    EXPECT_TRUE(
        FailedWith(unset, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(unset.error_message(), HasSubstr("'signal'"));

    grpc::Status unknown = Signal(kStockDomainName, 1, static_cast<v1::ProcessSignal>(66));
    EXPECT_TRUE(FailedWith(unknown, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(unknown.error_message(), HasSubstr("66"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainPowerTest, SendDomainProcessSignalToAnUnknownDomainIsNotFound)
{
    EXPECT_TRUE(FailedWith(Signal("no-such-domain", 1, v1::PROCESS_SIGNAL_TERM),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

// --- the guest clock -------------------------------------------------------------------

TEST_F(DomainPowerTest, GetDomainTimeReportsTheTestDriversCannedTime)
{
    v1::DomainTime time;
    ASSERT_TRUE(Succeeded(GetTime(kStockDomainName, &time)));

    EXPECT_EQ(time.seconds(), kTestDriverTime);
    EXPECT_EQ(time.nanoseconds(), 0u);
}

TEST_F(DomainPowerTest, SetDomainTimeIsReadBackByGetDomainTime)
{
    ASSERT_TRUE(Succeeded(SetTime(kStockDomainName, 1700000000, 123456789)));

    v1::DomainTime time;
    ASSERT_TRUE(Succeeded(GetTime(kStockDomainName, &time)));
    EXPECT_EQ(time.seconds(), 1700000000);
    EXPECT_EQ(time.nanoseconds(), 123456789u);
}

TEST_F(DomainPowerTest, SetDomainTimeSyncIsAccepted)
{
    EXPECT_TRUE(Succeeded(SetTime(kStockDomainName, 0, 0, {v1::SET_TIME_FLAG_SYNC})));
}

TEST_F(DomainPowerTest, SetDomainTimeWithASecondOfNanosecondsIsInvalidAndChangesNothing)
{
    grpc::Status status = SetTime(kStockDomainName, 1700000000, 1000000000);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'nanoseconds'"));
    v1::DomainTime time;
    ASSERT_TRUE(Succeeded(GetTime(kStockDomainName, &time)));
    EXPECT_EQ(time.seconds(), kTestDriverTime);
}

TEST_F(DomainPowerTest, SetDomainTimeWithAnUnknownFlagIsInvalidAndChangesNothing)
{
    grpc::Status status =
        SetTime(kStockDomainName, 1700000000, 0, {static_cast<v1::SetTimeFlag>(5)});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    v1::DomainTime time;
    ASSERT_TRUE(Succeeded(GetTime(kStockDomainName, &time)));
    EXPECT_EQ(time.seconds(), kTestDriverTime);
}

TEST_F(DomainPowerTest, GuestClockOfAShutOffDomainFailsPrecondition)
{
    DefineDomain("web1");

    v1::DomainTime time;
    EXPECT_TRUE(FailedWith(GetTime("web1", &time), grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(FailedWith(SetTime("web1", 1700000000, 0),
                           grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
}

} // namespace
} // namespace virtgrpc::testing
