// TuningService on a real QEMU guest (TCG), through virtgrpcd and grpc++ stubs only:
// what the test driver cannot show — a scheduler change that sticks (cpu_shares), the
// blkio weight, I/O throttling of the guest's vda and NUMA/memory tunables landing in
// the domain XML, perf events on a running guest, and interface bandwidth, whose live
// change needs `tc` qdiscs this host's kernel lacks (only clearing works here).
//
// Each test has its own server and domain (tests/support/qemu-guest.h). Tests that need
// a running guest use BootedQemuGuestTest; the others leave the guest shut off.
#include <regex>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/qemu-guest.h"
#include "tests/support/typed-params.h"
#include "virtgrpc/v1/tuning.grpc.pb.h"

namespace virtgrpc::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// The TuningService stub on top of a QEMU guest fixture, with the calls the tests share.
template <typename Base>
class TuningQemuTest : public Base {
  protected:
    void SetUp() override {
        Base::SetUp();
        if (this->HasFatalFailure())
            return;
        tuning_ = v1::TuningService::NewStub(this->channel());
    }

    void TearDown() override {
        tuning_.reset();
        Base::TearDown();
    }

    std::string Xml(std::initializer_list<v1::DomainXMLFlag> flags = {}) {
        v1::GetDomainXMLRequest request;
        *request.mutable_domain() = this->ref();
        for (v1::DomainXMLFlag flag : flags)
            request.add_flags(flag);
        v1::GetDomainXMLResponse response;
        EXPECT_TRUE(Succeeded(
            this->domains_->GetDomainXML(ContextWithDeadline().get(), request, &response)));
        return response.xml();
    }

    // The MAC address of the guest's only interface, from its XML.
    std::string InterfaceMac() {
        std::smatch match;
        std::string xml = Xml();
        if (!std::regex_search(xml, match, std::regex("<mac address='([0-9a-f:]+)'/>"))) {
            ADD_FAILURE() << "no interface MAC in:\n" << xml;
            return "";
        }
        return match[1].str();
    }

    template <typename Request>
    Request Get(std::initializer_list<v1::ModificationImpact> impact = {}) {
        return ParamsRequest<Request>(this->name(), impact);
    }

    template <typename Request>
    Request Set(std::initializer_list<v1::TypedParameter> parameters,
                std::initializer_list<v1::ModificationImpact> impact = {}) {
        return SetParamsRequest<Request>(this->name(), parameters, impact);
    }

    TypedParameters Perf() {
        v1::DomainPerfEvents response;
        EXPECT_TRUE(Succeeded(tuning_->GetDomainPerfEvents(
            ContextWithDeadline().get(), Get<v1::GetDomainPerfEventsRequest>(), &response)));
        return response.parameters();
    }

    TypedParameters Interface(const std::string &device) {
        auto request = Get<v1::GetDomainInterfaceParametersRequest>();
        request.set_device(device);
        v1::DomainInterfaceParameters response;
        EXPECT_TRUE(Succeeded(tuning_->GetDomainInterfaceParameters(ContextWithDeadline().get(),
                                                                    request, &response)));
        return response.parameters();
    }

    std::unique_ptr<v1::TuningService::Stub> tuning_;
};

using ShutOffTuningQemuTest = TuningQemuTest<QemuGuestTest>;
using RunningTuningQemuTest = TuningQemuTest<BootedQemuGuestTest>;

// ---- a running guest ----------------------------------------------------------------

TEST_F(RunningTuningQemuTest, SchedulerIsPosixAndCpuSharesChangeSticks) {
    v1::GetDomainSchedulerTypeRequest type_request;
    *type_request.mutable_domain() = ref();
    v1::DomainSchedulerType type;
    ASSERT_TRUE(Succeeded(
        tuning_->GetDomainSchedulerType(ContextWithDeadline().get(), type_request, &type)));
    EXPECT_EQ(type.scheduler(), "posix");
    EXPECT_GT(type.parameter_count(), 1);

    v1::DomainSchedulerParameters before;
    ASSERT_TRUE(Succeeded(tuning_->GetDomainSchedulerParameters(
        ContextWithDeadline().get(), Get<v1::GetDomainSchedulerParametersRequest>(), &before)));
    EXPECT_EQ(before.parameters_size(), type.parameter_count());
    EXPECT_EQ(ParamOf(before.parameters(), "cpu_shares").value_case(),
              v1::TypedParameter::kUint64Value);
    EXPECT_EQ(ParamOf(before.parameters(), "vcpu_quota").value_case(),
              v1::TypedParameter::kInt64Value);

    v1::DomainSchedulerParameters after;
    ASSERT_TRUE(Succeeded(tuning_->SetDomainSchedulerParameters(
        ContextWithDeadline().get(),
        Set<v1::SetDomainSchedulerParametersRequest>({Uint64Param("cpu_shares", 2048)}),
        &after)));
    EXPECT_EQ(ParamOf(after.parameters(), "cpu_shares").uint64_value(), 2048u);

    // With impact LIVE too (QEMU takes the Flags calls).
    v1::DomainSchedulerParameters live;
    ASSERT_TRUE(Succeeded(tuning_->GetDomainSchedulerParameters(
        ContextWithDeadline().get(),
        Get<v1::GetDomainSchedulerParametersRequest>({v1::MODIFICATION_IMPACT_LIVE}), &live)));
    EXPECT_EQ(ParamOf(live.parameters(), "cpu_shares").uint64_value(), 2048u);
    EXPECT_THAT(Xml(), HasSubstr("<shares>2048</shares>"));
}

TEST_F(RunningTuningQemuTest, BlkioWeightChangeReadsBackAndShowsInTheXml) {
    v1::DomainBlkioParameters response;
    ASSERT_TRUE(Succeeded(tuning_->SetDomainBlkioParameters(
        ContextWithDeadline().get(),
        Set<v1::SetDomainBlkioParametersRequest>({Uint32Param("weight", 500)}), &response)));

    EXPECT_EQ(ParamOf(response.parameters(), "weight").uint32_value(), 500u);
    v1::DomainBlkioParameters read;
    ASSERT_TRUE(Succeeded(tuning_->GetDomainBlkioParameters(
        ContextWithDeadline().get(), Get<v1::GetDomainBlkioParametersRequest>(), &read)));
    EXPECT_EQ(ParamOf(read.parameters(), "weight").uint32_value(), 500u);
    EXPECT_THAT(Xml(), HasSubstr("<weight>500</weight>"));
}

TEST_F(RunningTuningQemuTest, BlockIoTuneOnVdaShowsInTheLiveXml) {
    auto request = Set<v1::SetDomainBlockIoTuneRequest>(
        {Uint64Param("total_iops_sec", 1000), Uint64Param("read_bytes_sec", 10485760)},
        {v1::MODIFICATION_IMPACT_LIVE});
    request.set_disk("vda");
    v1::DomainBlockIoTune response;
    ASSERT_TRUE(Succeeded(
        tuning_->SetDomainBlockIoTune(ContextWithDeadline().get(), request, &response)));

    EXPECT_EQ(response.disk(), "vda");
    EXPECT_EQ(ParamOf(response.parameters(), "total_iops_sec").uint64_value(), 1000u);
    EXPECT_EQ(ParamOf(response.parameters(), "read_bytes_sec").uint64_value(), 10485760u);
    EXPECT_EQ(ParamOf(response.parameters(), "write_bytes_sec").uint64_value(), 0u);
    std::string xml = Xml();
    EXPECT_THAT(xml, HasSubstr("<total_iops_sec>1000</total_iops_sec>"));
    EXPECT_THAT(xml, HasSubstr("<read_bytes_sec>10485760</read_bytes_sec>"));

    // 0 removes the limits again.
    auto clear = Set<v1::SetDomainBlockIoTuneRequest>(
        {Uint64Param("total_iops_sec", 0), Uint64Param("read_bytes_sec", 0)});
    clear.set_disk("vda");
    ASSERT_TRUE(
        Succeeded(tuning_->SetDomainBlockIoTune(ContextWithDeadline().get(), clear, &response)));
    EXPECT_THAT(Xml(), Not(HasSubstr("<total_iops_sec>")));
}

TEST_F(RunningTuningQemuTest, InterfaceLimitsClearToZeroButSettingOneNeedsTcQdiscs) {
    std::string mac = InterfaceMac();
    ASSERT_FALSE(mac.empty());

    // Clearing (0) needs no qdisc.
    auto clear = Set<v1::SetDomainInterfaceParametersRequest>(
        {Uint32Param("inbound.average", 0), Uint32Param("outbound.average", 0)});
    clear.set_device(mac);
    v1::DomainInterfaceParameters cleared;
    ASSERT_TRUE(Succeeded(
        tuning_->SetDomainInterfaceParameters(ContextWithDeadline().get(), clear, &cleared)));
    EXPECT_EQ(cleared.device(), mac);
    EXPECT_EQ(ParamOf(cleared.parameters(), "inbound.average").uint32_value(), 0u);

    // A real limit runs `tc`, which fails on this host ("Specified qdisc kind is
    // unknown"): libvirt reports VIR_ERR_INTERNAL_ERROR, mapped to INTERNAL.
    auto limit = Set<v1::SetDomainInterfaceParametersRequest>(
        {Uint32Param("inbound.average", 1000)});
    limit.set_device(mac);
    v1::DomainInterfaceParameters response;
    grpc::Status status =
        tuning_->SetDomainInterfaceParameters(ContextWithDeadline().get(), limit, &response);
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_EQ(ParamOf(Interface(mac), "inbound.average").uint32_value(), 0u);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(RunningTuningQemuTest, PerfEventCpuClockSwitchesOnAndOff) {
    EXPECT_FALSE(ParamOf(Perf(), "cpu_clock").bool_value());

    v1::DomainPerfEvents response;
    ASSERT_TRUE(Succeeded(tuning_->SetDomainPerfEvents(
        ContextWithDeadline().get(),
        Set<v1::SetDomainPerfEventsRequest>({BoolParam("cpu_clock", true)}), &response)));
    EXPECT_TRUE(ParamOf(response.parameters(), "cpu_clock").bool_value());
    EXPECT_TRUE(ParamOf(Perf(), "cpu_clock").bool_value());
    EXPECT_FALSE(ParamOf(Perf(), "task_clock").bool_value());
    EXPECT_THAT(Xml(), HasSubstr("<event name='cpu_clock' enabled='yes'/>"));

    ASSERT_TRUE(Succeeded(tuning_->SetDomainPerfEvents(
        ContextWithDeadline().get(),
        Set<v1::SetDomainPerfEventsRequest>({BoolParam("cpu_clock", false)}), &response)));
    EXPECT_FALSE(ParamOf(response.parameters(), "cpu_clock").bool_value());
    EXPECT_FALSE(ParamOf(Perf(), "cpu_clock").bool_value());
}

// ---- a shut-off guest ---------------------------------------------------------------

TEST_F(ShutOffTuningQemuTest, MemoryHardLimitInConfigShowsInTheXml) {
    v1::DomainMemoryParameters response;
    ASSERT_TRUE(Succeeded(tuning_->SetDomainMemoryParameters(
        ContextWithDeadline().get(),
        Set<v1::SetDomainMemoryParametersRequest>({Uint64Param("hard_limit", 4194304)},
                                                  {v1::MODIFICATION_IMPACT_CONFIG}),
        &response)));

    EXPECT_EQ(ParamOf(response.parameters(), "hard_limit").uint64_value(), 4194304u);
    EXPECT_THAT(Xml(), HasSubstr("<hard_limit unit='KiB'>4194304</hard_limit>"));
}

TEST_F(ShutOffTuningQemuTest, MemoryLiveOnAShutOffGuestFailsPrecondition) {
    v1::DomainMemoryParameters response;
    grpc::Status status = tuning_->SetDomainMemoryParameters(
        ContextWithDeadline().get(),
        Set<v1::SetDomainMemoryParametersRequest>({Uint64Param("hard_limit", 4194304)},
                                                  {v1::MODIFICATION_IMPACT_LIVE}),
        &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(Xml(), Not(HasSubstr("<hard_limit")));
}

TEST_F(ShutOffTuningQemuTest, NumaStrictNodesetInConfigShowsInTheXml) {
    auto request = Set<v1::SetDomainNumaParametersRequest>({StringParam("numa_nodeset", "0")},
                                                           {v1::MODIFICATION_IMPACT_CONFIG});
    request.set_mode(v1::NUMATUNE_MEM_MODE_STRICT);
    v1::DomainNumaParameters response;
    ASSERT_TRUE(Succeeded(
        tuning_->SetDomainNumaParameters(ContextWithDeadline().get(), request, &response)));

    EXPECT_EQ(response.mode(), v1::NUMATUNE_MEM_MODE_STRICT);
    EXPECT_EQ(ParamOf(response.parameters(), "numa_nodeset").string_value(), "0");
    EXPECT_THAT(Xml(), HasSubstr("<memory mode='strict' nodeset='0'/>"));
}

TEST_F(ShutOffTuningQemuTest, SchedulerUnknownNameFailsBeforeQemuIsAsked) {
    v1::DomainSchedulerParameters response;
    grpc::Status status = tuning_->SetDomainSchedulerParameters(
        ContextWithDeadline().get(),
        Set<v1::SetDomainSchedulerParametersRequest>({Uint32Param("weight", 100)}), &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("'weight'"), HasSubstr("'cpu_shares'")));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(ShutOffTuningQemuTest, BlockIoTuneOfUnknownDiskIsInvalidArgument) {
    auto request = Set<v1::SetDomainBlockIoTuneRequest>({Uint64Param("total_iops_sec", 1000)});
    request.set_disk("vdz");
    v1::DomainBlockIoTune response;
    grpc::Status status =
        tuning_->SetDomainBlockIoTune(ContextWithDeadline().get(), request, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("vdz"));
}

}  // namespace
}  // namespace virtgrpc::testing
