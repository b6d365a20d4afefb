// TuningService against the real virtgrpcd and libvirt's embedded test driver, through
// grpc++ stubs: every getter, every setter with its change read back (through the
// getter and, where the test driver writes it, the domain XML), and the bad requests
// every setter refuses before libvirt changes anything — unknown names, wrong types,
// nothing to set — plus unknown domains, devices and LIVE impact on a shut-off domain.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/server-test.h"
#include "tests/support/typed-params.h"
#include "virtgrpc/v1/tuning.grpc.pb.h"

namespace virtgrpc::testing {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::UnorderedElementsAre;

// libvirt's "no memory limit" (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED), in KiB.
constexpr uint64_t kUnlimitedKiB = 9007199254740991ULL;

// The stock domain's devices (libvirt's test driver defines them).
constexpr const char kStockDisk[] = "vda";
constexpr const char kStockInterface[] = "testnet0";
constexpr const char kStockInterfaceMac[] = "aa:bb:cc:dd:ee:ff";

// A shut-off domain with a disk and an interface, for device-scoped calls.
constexpr const char kOffDomain[] = "tuned-off";
constexpr const char kOffInterfaceMac[] = "52:54:00:00:00:01";

std::string OffDomainXml() {
    return std::string("<domain type='test'><name>") + kOffDomain +
           "</name><memory>8192</memory><os><type>hvm</type></os><devices>"
           "<disk type='file' device='disk'><source file='/tuned-off.img'/>"
           "<target dev='vda' bus='virtio'/></disk>"
           "<interface type='network'><mac address='" +
           kOffInterfaceMac +
           "'/><source network='default'/><target dev='offnet0'/></interface>"
           "</devices></domain>";
}

// Matches a TypedParameter with a uint64/uint32/int32/string/bool value.
MATCHER_P(HasUint64, value, "") {
    *result_listener << "which is " << arg.ShortDebugString();
    return arg.value_case() == v1::TypedParameter::kUint64Value && arg.uint64_value() == value;
}
MATCHER_P(HasUint32, value, "") {
    *result_listener << "which is " << arg.ShortDebugString();
    return arg.value_case() == v1::TypedParameter::kUint32Value && arg.uint32_value() == value;
}
MATCHER_P(HasInt32, value, "") {
    *result_listener << "which is " << arg.ShortDebugString();
    return arg.value_case() == v1::TypedParameter::kInt32Value && arg.int32_value() == value;
}
MATCHER_P(HasString, value, "") {
    *result_listener << "which is " << arg.ShortDebugString();
    return arg.value_case() == v1::TypedParameter::kStringValue &&
           arg.string_value() == std::string(value);
}
MATCHER_P(HasBool, value, "") {
    *result_listener << "which is " << arg.ShortDebugString();
    return arg.value_case() == v1::TypedParameter::kBoolValue && arg.bool_value() == value;
}

class TuningTest : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure())
            return;
        tuning_ = v1::TuningService::NewStub(channel());
    }

    void TearDown() override {
        tuning_.reset();
        ServerTest::TearDown();
    }

    void DefineOffDomain() {
        v1::DefineDomainRequest request;
        request.set_xml(OffDomainXml());
        v1::Domain domain;
        ASSERT_TRUE(
            Succeeded(domains_->DefineDomain(ContextWithDeadline().get(), request, &domain)));
    }

    std::string XmlOf(const std::string &name) {
        v1::GetDomainXMLRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::GetDomainXMLResponse response;
        EXPECT_TRUE(
            Succeeded(domains_->GetDomainXML(ContextWithDeadline().get(), request, &response)));
        return response.xml();
    }

    // Getters that fail the test when the call fails.
    TypedParameters Memory(const std::string &domain,
                           std::initializer_list<v1::ModificationImpact> impact = {}) {
        v1::DomainMemoryParameters response;
        EXPECT_TRUE(Succeeded(tuning_->GetDomainMemoryParameters(
            ContextWithDeadline().get(),
            ParamsRequest<v1::GetDomainMemoryParametersRequest>(domain, impact), &response)));
        return response.parameters();
    }

    TypedParameters Blkio(const std::string &domain,
                          std::initializer_list<v1::ModificationImpact> impact = {}) {
        v1::DomainBlkioParameters response;
        EXPECT_TRUE(Succeeded(tuning_->GetDomainBlkioParameters(
            ContextWithDeadline().get(),
            ParamsRequest<v1::GetDomainBlkioParametersRequest>(domain, impact), &response)));
        return response.parameters();
    }

    v1::DomainNumaParameters Numa(const std::string &domain) {
        v1::DomainNumaParameters response;
        EXPECT_TRUE(Succeeded(tuning_->GetDomainNumaParameters(
            ContextWithDeadline().get(),
            ParamsRequest<v1::GetDomainNumaParametersRequest>(domain), &response)));
        return response;
    }

    TypedParameters Interface(const std::string &domain, const std::string &device,
                              std::initializer_list<v1::ModificationImpact> impact = {}) {
        auto request = ParamsRequest<v1::GetDomainInterfaceParametersRequest>(domain, impact);
        request.set_device(device);
        v1::DomainInterfaceParameters response;
        EXPECT_TRUE(Succeeded(tuning_->GetDomainInterfaceParameters(ContextWithDeadline().get(),
                                                                    request, &response)));
        return response.parameters();
    }

    TypedParameters IoTune(const std::string &domain, const std::string &disk,
                           std::initializer_list<v1::ModificationImpact> impact = {}) {
        auto request = ParamsRequest<v1::GetDomainBlockIoTuneRequest>(domain, impact);
        request.set_disk(disk);
        v1::DomainBlockIoTune response;
        EXPECT_TRUE(Succeeded(
            tuning_->GetDomainBlockIoTune(ContextWithDeadline().get(), request, &response)));
        return response.parameters();
    }

    TypedParameters Perf(const std::string &domain,
                         std::initializer_list<v1::ModificationImpact> impact = {}) {
        v1::DomainPerfEvents response;
        EXPECT_TRUE(Succeeded(tuning_->GetDomainPerfEvents(
            ContextWithDeadline().get(),
            ParamsRequest<v1::GetDomainPerfEventsRequest>(domain, impact), &response)));
        return response.parameters();
    }

    grpc::Status SetMemory(const std::string &domain,
                           std::initializer_list<v1::TypedParameter> parameters,
                           std::initializer_list<v1::ModificationImpact> impact = {},
                           v1::DomainMemoryParameters *response = nullptr) {
        v1::DomainMemoryParameters ignored;
        return tuning_->SetDomainMemoryParameters(
            ContextWithDeadline().get(),
            SetParamsRequest<v1::SetDomainMemoryParametersRequest>(domain, parameters, impact),
            response ? response : &ignored);
    }

    grpc::Status SetIoTune(const std::string &domain, const std::string &disk,
                           std::initializer_list<v1::TypedParameter> parameters,
                           std::initializer_list<v1::ModificationImpact> impact = {},
                           v1::DomainBlockIoTune *response = nullptr) {
        auto request =
            SetParamsRequest<v1::SetDomainBlockIoTuneRequest>(domain, parameters, impact);
        request.set_disk(disk);
        v1::DomainBlockIoTune ignored;
        return tuning_->SetDomainBlockIoTune(ContextWithDeadline().get(), request,
                                             response ? response : &ignored);
    }

    grpc::Status SetInterface(const std::string &domain, const std::string &device,
                              std::initializer_list<v1::TypedParameter> parameters,
                              std::initializer_list<v1::ModificationImpact> impact = {},
                              v1::DomainInterfaceParameters *response = nullptr) {
        auto request =
            SetParamsRequest<v1::SetDomainInterfaceParametersRequest>(domain, parameters, impact);
        request.set_device(device);
        v1::DomainInterfaceParameters ignored;
        return tuning_->SetDomainInterfaceParameters(ContextWithDeadline().get(), request,
                                                     response ? response : &ignored);
    }

    std::unique_ptr<v1::TuningService::Stub> tuning_;
};

// ---- scheduler ----------------------------------------------------------------------

TEST_F(TuningTest, GetDomainSchedulerTypeOfTheStockDomainIsFairWithOneParameter) {
    v1::GetDomainSchedulerTypeRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::DomainSchedulerType response;
    ASSERT_TRUE(Succeeded(
        tuning_->GetDomainSchedulerType(ContextWithDeadline().get(), request, &response)));

    EXPECT_EQ(response.scheduler(), "fair");
    EXPECT_EQ(response.parameter_count(), 1);
}

TEST_F(TuningTest, GetDomainSchedulerTypeOfUnknownDomainIsNotFound) {
    v1::GetDomainSchedulerTypeRequest request;
    *request.mutable_domain() = RefByName("no-such-domain");
    v1::DomainSchedulerType response;
    EXPECT_TRUE(FailedWith(
        tuning_->GetDomainSchedulerType(ContextWithDeadline().get(), request, &response),
        grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

TEST_F(TuningTest, GetDomainSchedulerParametersReportsTheWeightAsUint32) {
    v1::DomainSchedulerParameters response;
    ASSERT_TRUE(Succeeded(tuning_->GetDomainSchedulerParameters(
        ContextWithDeadline().get(),
        ParamsRequest<v1::GetDomainSchedulerParametersRequest>(kStockDomainName), &response)));

    EXPECT_THAT(ParamNames(response.parameters()), UnorderedElementsAre("weight"));
    EXPECT_THAT(ParamOf(response.parameters(), "weight"), HasUint32(50u));
}

// libvirt's public API adds VIR_TYPED_PARAM_STRING_OKAY to
// virDomainGetSchedulerParametersFlags, which the test driver refuses for any flags.
TEST_F(TuningTest, GetDomainSchedulerParametersWithImpactIsRejectedByTheTestDriver) {
    v1::DomainSchedulerParameters response;
    grpc::Status status = tuning_->GetDomainSchedulerParameters(
        ContextWithDeadline().get(),
        ParamsRequest<v1::GetDomainSchedulerParametersRequest>(
            kStockDomainName, {v1::MODIFICATION_IMPACT_LIVE}),
        &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("unsupported flags"));
}

// The test driver's scheduler setter validates the weight but does not store it (the
// QEMU suite proves a real change of cpu_shares).
TEST_F(TuningTest, SetDomainSchedulerParametersIsAcceptedAndTheTestDriverKeepsItsWeight) {
    v1::DomainSchedulerParameters response;
    ASSERT_TRUE(Succeeded(tuning_->SetDomainSchedulerParameters(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainSchedulerParametersRequest>(
            kStockDomainName, {Uint32Param("weight", 77)}),
        &response)));

    EXPECT_THAT(ParamOf(response.parameters(), "weight"), HasUint32(50u));
}

TEST_F(TuningTest, SetDomainSchedulerParametersWithLiveImpactIsRejectedByTheTestDriver) {
    v1::DomainSchedulerParameters response;
    EXPECT_TRUE(FailedWith(tuning_->SetDomainSchedulerParameters(
                               ContextWithDeadline().get(),
                               SetParamsRequest<v1::SetDomainSchedulerParametersRequest>(
                                   kStockDomainName, {Uint32Param("weight", 50)},
                                   {v1::MODIFICATION_IMPACT_LIVE}),
                               &response),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
}

TEST_F(TuningTest, SetDomainSchedulerParametersUnknownNameFailsNamingItAndTheKnownOnes) {
    v1::DomainSchedulerParameters response;
    grpc::Status status = tuning_->SetDomainSchedulerParameters(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainSchedulerParametersRequest>(
            kStockDomainName, {Uint64Param("cpu_shares", 1024)}),
        &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("scheduler parameters"), HasSubstr("'cpu_shares'"),
                      HasSubstr("known: 'weight'")));
}

TEST_F(TuningTest, SetDomainSchedulerParametersWrongTypeFailsNamingTheExpectedType) {
    v1::DomainSchedulerParameters response;
    grpc::Status status = tuning_->SetDomainSchedulerParameters(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainSchedulerParametersRequest>(
            kStockDomainName, {Uint64Param("weight", 77)}),
        &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("'weight'"), HasSubstr("uint32_value"),
                      HasSubstr("uint64_value")));
}

// ---- memory -------------------------------------------------------------------------

TEST_F(TuningTest, GetDomainMemoryParametersReportsTheLimitsInKibUnlimited) {
    TypedParameters params = Memory(kStockDomainName);

    EXPECT_THAT(ParamNames(params),
                UnorderedElementsAre("hard_limit", "soft_limit", "swap_hard_limit"));
    EXPECT_THAT(ParamOf(params, "hard_limit"), HasUint64(kUnlimitedKiB));
    EXPECT_THAT(ParamOf(params, "soft_limit"), HasUint64(kUnlimitedKiB));
    EXPECT_THAT(ParamOf(params, "swap_hard_limit"), HasUint64(kUnlimitedKiB));
}

TEST_F(TuningTest, SetDomainMemoryParametersChangesOnlyTheGivenLimit) {
    v1::DomainMemoryParameters response;
    ASSERT_TRUE(Succeeded(
        SetMemory(kStockDomainName, {Uint64Param("hard_limit", 1048576)}, {}, &response)));

    // The response is the read-back, and so is a later get and the XML.
    EXPECT_THAT(ParamOf(response.parameters(), "hard_limit"), HasUint64(1048576u));
    EXPECT_THAT(ParamOf(response.parameters(), "soft_limit"), HasUint64(kUnlimitedKiB));
    TypedParameters params = Memory(kStockDomainName);
    EXPECT_THAT(ParamOf(params, "hard_limit"), HasUint64(1048576u));
    EXPECT_THAT(ParamOf(params, "soft_limit"), HasUint64(kUnlimitedKiB));
    EXPECT_THAT(XmlOf(kStockDomainName),
                HasSubstr("<hard_limit unit='KiB'>1048576</hard_limit>"));
}

TEST_F(TuningTest, SetDomainMemoryParametersConfigOnAShutOffDomainReadsBackWithConfig) {
    DefineOffDomain();
    ASSERT_TRUE(Succeeded(SetMemory(kOffDomain, {Uint64Param("soft_limit", 524288)},
                                    {v1::MODIFICATION_IMPACT_CONFIG})));

    EXPECT_THAT(ParamOf(Memory(kOffDomain, {v1::MODIFICATION_IMPACT_CONFIG}), "soft_limit"),
                HasUint64(524288u));
    EXPECT_THAT(ParamOf(Memory(kOffDomain), "soft_limit"), HasUint64(524288u));
}

TEST_F(TuningTest, SetDomainMemoryParametersUnknownNameFailsAndAppliesNothing) {
    // A valid limit next to a typo: neither is applied.
    grpc::Status status = SetMemory(
        kStockDomainName, {Uint64Param("hard_limit", 1048576), Uint64Param("hard_limt", 1)});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("memory parameters"), HasSubstr("unknown parameter 'hard_limt'"),
                      HasSubstr("'hard_limit'"), HasSubstr("'soft_limit'"),
                      HasSubstr("'swap_hard_limit'")));
    EXPECT_THAT(ParamOf(Memory(kStockDomainName), "hard_limit"), HasUint64(kUnlimitedKiB));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(TuningTest, SetDomainMemoryParametersStringForAUint64FailsAndAppliesNothing) {
    grpc::Status status = SetMemory(kStockDomainName, {Uint64Param("soft_limit", 2048),
                                                       StringParam("hard_limit", "1G")});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("'hard_limit'"), HasSubstr("uint64_value"),
                      HasSubstr("string_value")));
    TypedParameters params = Memory(kStockDomainName);
    EXPECT_THAT(ParamOf(params, "hard_limit"), HasUint64(kUnlimitedKiB));
    EXPECT_THAT(ParamOf(params, "soft_limit"), HasUint64(kUnlimitedKiB));
}

TEST_F(TuningTest, SetDomainMemoryParametersWithoutParametersFailsNothingToSet) {
    grpc::Status status = SetMemory(kStockDomainName, {});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("nothing to set"));
}

TEST_F(TuningTest, SetDomainMemoryParametersParameterWithoutValueFails) {
    v1::TypedParameter no_value;
    no_value.set_name("hard_limit");
    grpc::Status status = SetMemory(kStockDomainName, {no_value});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'hard_limit' has no value"));
    EXPECT_THAT(ParamOf(Memory(kStockDomainName), "hard_limit"), HasUint64(kUnlimitedKiB));
}

TEST_F(TuningTest, SetDomainMemoryParametersOfUnknownDomainIsNotFound) {
    EXPECT_TRUE(FailedWith(SetMemory("no-such-domain", {Uint64Param("hard_limit", 1048576)}),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

TEST_F(TuningTest, GetDomainMemoryParametersOfUnknownDomainIsNotFound) {
    v1::DomainMemoryParameters response;
    EXPECT_TRUE(FailedWith(tuning_->GetDomainMemoryParameters(
                               ContextWithDeadline().get(),
                               ParamsRequest<v1::GetDomainMemoryParametersRequest>("nope"),
                               &response),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

TEST_F(TuningTest, GetDomainMemoryParametersWithoutDomainIsInvalid) {
    v1::GetDomainMemoryParametersRequest request;
    v1::DomainMemoryParameters response;
    EXPECT_TRUE(FailedWith(
        tuning_->GetDomainMemoryParameters(ContextWithDeadline().get(), request, &response),
        grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
}

TEST_F(TuningTest, SetDomainMemoryParametersLiveOnAShutOffDomainFailsPrecondition) {
    DefineOffDomain();
    grpc::Status status = SetMemory(kOffDomain, {Uint64Param("hard_limit", 1048576)},
                                    {v1::MODIFICATION_IMPACT_LIVE});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(ParamOf(Memory(kOffDomain, {v1::MODIFICATION_IMPACT_CONFIG}), "hard_limit"),
                HasUint64(kUnlimitedKiB));
}

TEST_F(TuningTest, GetDomainMemoryParametersLiveAndConfigTogetherIsRejectedByLibvirt) {
    v1::DomainMemoryParameters response;
    grpc::Status status = tuning_->GetDomainMemoryParameters(
        ContextWithDeadline().get(),
        ParamsRequest<v1::GetDomainMemoryParametersRequest>(
            kStockDomainName, {v1::MODIFICATION_IMPACT_LIVE, v1::MODIFICATION_IMPACT_CONFIG}),
        &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("mutually exclusive"));
}

TEST_F(TuningTest, GetDomainMemoryParametersWithAnImpactOutsideTheEnumIsInvalid) {
    v1::GetDomainMemoryParametersRequest request =
        ParamsRequest<v1::GetDomainMemoryParametersRequest>(kStockDomainName);
    request.add_impact(static_cast<v1::ModificationImpact>(42));
    v1::DomainMemoryParameters response;
    grpc::Status status =
        tuning_->GetDomainMemoryParameters(ContextWithDeadline().get(), request, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), AllOf(HasSubstr("'impact'"), HasSubstr("42")));
}

// ---- blkio --------------------------------------------------------------------------

TEST_F(TuningTest, GetDomainBlkioParametersReportsTheWeightAndPerDeviceStrings) {
    TypedParameters params = Blkio(kStockDomainName);

    EXPECT_THAT(ParamNames(params),
                UnorderedElementsAre("weight", "device_weight", "device_read_iops_sec",
                                     "device_write_iops_sec", "device_read_bytes_sec",
                                     "device_write_bytes_sec"));
    EXPECT_THAT(ParamOf(params, "weight"), HasUint32(0u));
    EXPECT_THAT(ParamOf(params, "device_weight"), HasString(""));
}

TEST_F(TuningTest, SetDomainBlkioParametersChangesTheWeightAndADeviceWeight) {
    v1::DomainBlkioParameters response;
    ASSERT_TRUE(Succeeded(tuning_->SetDomainBlkioParameters(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainBlkioParametersRequest>(
            kStockDomainName,
            {Uint32Param("weight", 500), StringParam("device_weight", "/dev/vda,100")}),
        &response)));

    EXPECT_THAT(ParamOf(response.parameters(), "weight"), HasUint32(500u));
    EXPECT_THAT(ParamOf(response.parameters(), "device_weight"), HasString("/dev/vda,100"));
    TypedParameters params = Blkio(kStockDomainName);
    EXPECT_THAT(ParamOf(params, "weight"), HasUint32(500u));
    EXPECT_THAT(ParamOf(params, "device_weight"), HasString("/dev/vda,100"));
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("<weight>500</weight>"));
}

TEST_F(TuningTest, SetDomainBlkioParametersStringWeightFailsAndAppliesNothing) {
    v1::DomainBlkioParameters response;
    grpc::Status status = tuning_->SetDomainBlkioParameters(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainBlkioParametersRequest>(kStockDomainName,
                                                              {StringParam("weight", "500")}),
        &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), AllOf(HasSubstr("'weight'"), HasSubstr("uint32_value")));
    EXPECT_THAT(ParamOf(Blkio(kStockDomainName), "weight"), HasUint32(0u));
}

TEST_F(TuningTest, SetDomainBlkioParametersUnknownNameFailsListingTheKnownOnes) {
    v1::DomainBlkioParameters response;
    grpc::Status status = tuning_->SetDomainBlkioParameters(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainBlkioParametersRequest>(kStockDomainName,
                                                              {Uint32Param("wieght", 500)}),
        &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("'wieght'"), HasSubstr("'weight'"), HasSubstr("'device_weight'")));
    EXPECT_THAT(ParamOf(Blkio(kStockDomainName), "weight"), HasUint32(0u));
}

TEST_F(TuningTest, SetDomainBlkioParametersLiveOnAShutOffDomainFailsPrecondition) {
    DefineOffDomain();
    v1::DomainBlkioParameters response;
    EXPECT_TRUE(FailedWith(tuning_->SetDomainBlkioParameters(
                               ContextWithDeadline().get(),
                               SetParamsRequest<v1::SetDomainBlkioParametersRequest>(
                                   kOffDomain, {Uint32Param("weight", 500)},
                                   {v1::MODIFICATION_IMPACT_LIVE}),
                               &response),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(ParamOf(Blkio(kOffDomain), "weight"), HasUint32(0u));
}

// ---- NUMA ---------------------------------------------------------------------------

TEST_F(TuningTest, GetDomainNumaParametersReportsStrictModeDecoded) {
    v1::DomainNumaParameters numa = Numa(kStockDomainName);

    EXPECT_THAT(ParamNames(numa.parameters()), UnorderedElementsAre("numa_mode", "numa_nodeset"));
    EXPECT_THAT(ParamOf(numa.parameters(), "numa_mode"), HasInt32(0));  // strict
    EXPECT_EQ(numa.mode(), v1::NUMATUNE_MEM_MODE_STRICT);
    EXPECT_THAT(ParamOf(numa.parameters(), "numa_nodeset"), HasString(""));
}

TEST_F(TuningTest, SetDomainNumaParametersModeEnumAndNodesetReadBackChanged) {
    auto request = SetParamsRequest<v1::SetDomainNumaParametersRequest>(
        kStockDomainName, {StringParam("numa_nodeset", "0")});
    request.set_mode(v1::NUMATUNE_MEM_MODE_INTERLEAVE);
    v1::DomainNumaParameters response;
    ASSERT_TRUE(Succeeded(
        tuning_->SetDomainNumaParameters(ContextWithDeadline().get(), request, &response)));

    EXPECT_EQ(response.mode(), v1::NUMATUNE_MEM_MODE_INTERLEAVE);
    EXPECT_THAT(ParamOf(response.parameters(), "numa_mode"), HasInt32(2));
    v1::DomainNumaParameters numa = Numa(kStockDomainName);
    EXPECT_EQ(numa.mode(), v1::NUMATUNE_MEM_MODE_INTERLEAVE);
    EXPECT_THAT(ParamOf(numa.parameters(), "numa_nodeset"), HasString("0"));
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("<memory mode='interleave' nodeset='0'/>"));
}

TEST_F(TuningTest, SetDomainNumaParametersRawModeNumberIsLibvirtsValue) {
    v1::DomainNumaParameters response;
    ASSERT_TRUE(Succeeded(tuning_->SetDomainNumaParameters(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainNumaParametersRequest>(
            kStockDomainName, {Int32Param("numa_mode", 1), StringParam("numa_nodeset", "0")}),
        &response)));

    EXPECT_EQ(response.mode(), v1::NUMATUNE_MEM_MODE_PREFERRED);
    EXPECT_EQ(Numa(kStockDomainName).mode(), v1::NUMATUNE_MEM_MODE_PREFERRED);
}

TEST_F(TuningTest, SetDomainNumaParametersModeAloneIsUnsupportedWithStaticPlacement) {
    auto request = ParamsRequest<v1::SetDomainNumaParametersRequest>(kStockDomainName);
    request.set_mode(v1::NUMATUNE_MEM_MODE_INTERLEAVE);
    v1::DomainNumaParameters response;
    grpc::Status status =
        tuning_->SetDomainNumaParameters(ContextWithDeadline().get(), request, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_CONFIG_UNSUPPORTED"));
    EXPECT_THAT(status.error_message(), HasSubstr("nodeset"));
    EXPECT_EQ(Numa(kStockDomainName).mode(), v1::NUMATUNE_MEM_MODE_STRICT);
}

TEST_F(TuningTest, SetDomainNumaParametersModeTwiceFails) {
    auto request = SetParamsRequest<v1::SetDomainNumaParametersRequest>(
        kStockDomainName, {Int32Param("numa_mode", 1), StringParam("numa_nodeset", "0")});
    request.set_mode(v1::NUMATUNE_MEM_MODE_INTERLEAVE);
    v1::DomainNumaParameters response;
    grpc::Status status =
        tuning_->SetDomainNumaParameters(ContextWithDeadline().get(), request, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), AllOf(HasSubstr("'mode'"), HasSubstr("'numa_mode'")));
    EXPECT_EQ(Numa(kStockDomainName).mode(), v1::NUMATUNE_MEM_MODE_STRICT);
}

TEST_F(TuningTest, SetDomainNumaParametersModeOutsideTheEnumFails) {
    auto request = SetParamsRequest<v1::SetDomainNumaParametersRequest>(
        kStockDomainName, {StringParam("numa_nodeset", "0")});
    request.set_mode(static_cast<v1::NumatuneMemMode>(17));
    v1::DomainNumaParameters response;
    grpc::Status status =
        tuning_->SetDomainNumaParameters(ContextWithDeadline().get(), request, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), AllOf(HasSubstr("'mode'"), HasSubstr("17")));
    EXPECT_THAT(ParamOf(Numa(kStockDomainName).parameters(), "numa_nodeset"), HasString(""));
}

TEST_F(TuningTest, SetDomainNumaParametersWithoutModeOrParametersFailsNothingToSet) {
    v1::DomainNumaParameters response;
    grpc::Status status = tuning_->SetDomainNumaParameters(
        ContextWithDeadline().get(),
        ParamsRequest<v1::SetDomainNumaParametersRequest>(kStockDomainName), &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("nothing to set"));
}

TEST_F(TuningTest, SetDomainNumaParametersIntegerNodesetFailsNamingTheStringType) {
    v1::DomainNumaParameters response;
    grpc::Status status = tuning_->SetDomainNumaParameters(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainNumaParametersRequest>(kStockDomainName,
                                                             {Int32Param("numa_nodeset", 0)}),
        &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("'numa_nodeset'"), HasSubstr("string_value")));
}

TEST_F(TuningTest, SetDomainNumaParametersLiveOnAShutOffDomainFailsPrecondition) {
    DefineOffDomain();
    auto request = SetParamsRequest<v1::SetDomainNumaParametersRequest>(
        kOffDomain, {StringParam("numa_nodeset", "0")}, {v1::MODIFICATION_IMPACT_LIVE});
    request.set_mode(v1::NUMATUNE_MEM_MODE_PREFERRED);
    v1::DomainNumaParameters response;

    EXPECT_TRUE(FailedWith(
        tuning_->SetDomainNumaParameters(ContextWithDeadline().get(), request, &response),
        grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_EQ(Numa(kOffDomain).mode(), v1::NUMATUNE_MEM_MODE_STRICT);
}

// ---- interface bandwidth ------------------------------------------------------------

TEST_F(TuningTest, GetDomainInterfaceParametersReportsSevenUint32Limits) {
    auto request = ParamsRequest<v1::GetDomainInterfaceParametersRequest>(kStockDomainName);
    request.set_device(kStockInterface);
    v1::DomainInterfaceParameters response;
    ASSERT_TRUE(Succeeded(
        tuning_->GetDomainInterfaceParameters(ContextWithDeadline().get(), request, &response)));

    EXPECT_EQ(response.device(), kStockInterface);
    EXPECT_THAT(ParamNames(response.parameters()),
                UnorderedElementsAre("inbound.average", "inbound.peak", "inbound.burst",
                                     "inbound.floor", "outbound.average", "outbound.peak",
                                     "outbound.burst"));
    EXPECT_THAT(response.parameters(), Each(HasUint32(0u)));
}

TEST_F(TuningTest, SetDomainInterfaceParametersChangesTheLimitsReadBackByMac) {
    v1::DomainInterfaceParameters response;
    ASSERT_TRUE(Succeeded(SetInterface(
        kStockDomainName, kStockInterface,
        {Uint32Param("inbound.average", 1000), Uint32Param("outbound.peak", 2000),
         Uint32Param("outbound.average", 500)},
        {}, &response)));

    EXPECT_THAT(ParamOf(response.parameters(), "inbound.average"), HasUint32(1000u));
    TypedParameters params = Interface(kStockDomainName, kStockInterfaceMac);
    EXPECT_THAT(ParamOf(params, "inbound.average"), HasUint32(1000u));
    EXPECT_THAT(ParamOf(params, "outbound.average"), HasUint32(500u));
    EXPECT_THAT(ParamOf(params, "outbound.peak"), HasUint32(2000u));
    EXPECT_THAT(ParamOf(params, "inbound.peak"), HasUint32(0u));
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("<inbound average='1000'/>"));
}

TEST_F(TuningTest, SetDomainInterfaceParametersWithoutDeviceFails) {
    grpc::Status status =
        SetInterface(kStockDomainName, "", {Uint32Param("inbound.average", 1000)});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'device' is empty"));
}

TEST_F(TuningTest, GetDomainInterfaceParametersOfUnknownInterfaceIsInvalidArgument) {
    auto request = ParamsRequest<v1::GetDomainInterfaceParametersRequest>(kStockDomainName);
    request.set_device("vnet99");
    v1::DomainInterfaceParameters response;
    grpc::Status status =
        tuning_->GetDomainInterfaceParameters(ContextWithDeadline().get(), request, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("vnet99"));
}

TEST_F(TuningTest, SetDomainInterfaceParametersUint64ForAUint32FailsAndAppliesNothing) {
    grpc::Status status =
        SetInterface(kStockDomainName, kStockInterface, {Uint64Param("inbound.average", 1000)});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("'inbound.average'"), HasSubstr("uint32_value")));
    EXPECT_THAT(ParamOf(Interface(kStockDomainName, kStockInterface), "inbound.average"),
                HasUint32(0u));
}

TEST_F(TuningTest, SetDomainInterfaceParametersUnknownNameFailsAndAppliesNothing) {
    grpc::Status status =
        SetInterface(kStockDomainName, kStockInterface,
                     {Uint32Param("inbound.average", 1000), Uint32Param("inbound.ceiling", 9)});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("'inbound.ceiling'"), HasSubstr("'inbound.floor'")));
    EXPECT_THAT(ParamOf(Interface(kStockDomainName, kStockInterface), "inbound.average"),
                HasUint32(0u));
}

TEST_F(TuningTest, SetDomainInterfaceParametersLiveOnAShutOffDomainFailsPrecondition) {
    DefineOffDomain();
    EXPECT_TRUE(FailedWith(SetInterface(kOffDomain, kOffInterfaceMac,
                                        {Uint32Param("inbound.average", 100)},
                                        {v1::MODIFICATION_IMPACT_LIVE}),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(ParamOf(Interface(kOffDomain, kOffInterfaceMac), "inbound.average"),
                HasUint32(0u));
}

TEST_F(TuningTest, SetDomainInterfaceParametersOnAShutOffDomainChangesItsConfig) {
    DefineOffDomain();
    ASSERT_TRUE(Succeeded(
        SetInterface(kOffDomain, kOffInterfaceMac, {Uint32Param("outbound.average", 300)})));

    EXPECT_THAT(ParamOf(Interface(kOffDomain, kOffInterfaceMac, {v1::MODIFICATION_IMPACT_CONFIG}),
                        "outbound.average"),
                HasUint32(300u));
}

// ---- block I/O tuning ---------------------------------------------------------------

TEST_F(TuningTest, GetDomainBlockIoTuneReportsTheLimitsAndTheGroupName) {
    auto request = ParamsRequest<v1::GetDomainBlockIoTuneRequest>(kStockDomainName);
    request.set_disk(kStockDisk);
    v1::DomainBlockIoTune response;
    ASSERT_TRUE(Succeeded(
        tuning_->GetDomainBlockIoTune(ContextWithDeadline().get(), request, &response)));

    EXPECT_EQ(response.disk(), kStockDisk);
    EXPECT_THAT(ParamNames(response.parameters()),
                IsSupersetOf({"total_bytes_sec", "read_iops_sec", "total_bytes_sec_max",
                              "write_iops_sec_max_length", "size_iops_sec", "group_name"}));
    EXPECT_EQ(response.parameters_size(), 20);
    EXPECT_THAT(ParamOf(response.parameters(), "total_bytes_sec"), HasUint64(0u));
    EXPECT_THAT(ParamOf(response.parameters(), "group_name"), HasString(""));
}

TEST_F(TuningTest, SetDomainBlockIoTuneWithItsBurstLimitReadsBackAndShowsInTheXml) {
    v1::DomainBlockIoTune response;
    ASSERT_TRUE(Succeeded(SetIoTune(kStockDomainName, kStockDisk,
                                    {Uint64Param("total_bytes_sec", 10000000),
                                     Uint64Param("total_bytes_sec_max", 20000000)},
                                    {}, &response)));

    EXPECT_EQ(response.disk(), kStockDisk);
    EXPECT_THAT(ParamOf(response.parameters(), "total_bytes_sec"), HasUint64(10000000u));
    TypedParameters params = IoTune(kStockDomainName, kStockDisk);
    EXPECT_THAT(ParamOf(params, "total_bytes_sec"), HasUint64(10000000u));
    EXPECT_THAT(ParamOf(params, "total_bytes_sec_max"), HasUint64(20000000u));
    EXPECT_THAT(ParamOf(params, "read_bytes_sec"), HasUint64(0u));
    std::string xml = XmlOf(kStockDomainName);
    EXPECT_THAT(xml, HasSubstr("<total_bytes_sec>10000000</total_bytes_sec>"));
    EXPECT_THAT(xml, HasSubstr("<total_bytes_sec_max>20000000</total_bytes_sec_max>"));
}

TEST_F(TuningTest, SetDomainBlockIoTuneLimitAboveItsBurstLimitIsRejectedByLibvirt) {
    grpc::Status status =
        SetIoTune(kStockDomainName, kStockDisk, {Uint64Param("total_bytes_sec", 10000000)});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("total_bytes_sec_max"));
    EXPECT_THAT(ParamOf(IoTune(kStockDomainName, kStockDisk), "total_bytes_sec"),
                HasUint64(0u));
}

TEST_F(TuningTest, SetDomainBlockIoTuneGroupNameReadsBack) {
    ASSERT_TRUE(
        Succeeded(SetIoTune(kStockDomainName, kStockDisk, {StringParam("group_name", "g1")})));

    EXPECT_THAT(ParamOf(IoTune(kStockDomainName, kStockDisk), "group_name"), HasString("g1"));
}

TEST_F(TuningTest, SetDomainBlockIoTuneStringForAUint64FailsAndAppliesNothing) {
    grpc::Status status =
        SetIoTune(kStockDomainName, kStockDisk,
                  {Uint64Param("total_bytes_sec_max", 20000000),
                   StringParam("total_bytes_sec", "10M")});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("block I/O tuning parameters"), HasSubstr("'total_bytes_sec'"),
                      HasSubstr("uint64_value")));
    EXPECT_THAT(ParamOf(IoTune(kStockDomainName, kStockDisk), "total_bytes_sec_max"),
                HasUint64(0u));
}

TEST_F(TuningTest, SetDomainBlockIoTuneWithoutDiskFails) {
    grpc::Status status = SetIoTune(kStockDomainName, "", {StringParam("group_name", "g1")});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'disk' is empty"));
}

TEST_F(TuningTest, GetDomainBlockIoTuneOfUnknownDiskIsInvalidArgument) {
    auto request = ParamsRequest<v1::GetDomainBlockIoTuneRequest>(kStockDomainName);
    request.set_disk("vdz");
    v1::DomainBlockIoTune response;
    grpc::Status status =
        tuning_->GetDomainBlockIoTune(ContextWithDeadline().get(), request, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("vdz"));
}

TEST_F(TuningTest, SetDomainBlockIoTuneOfUnknownDiskIsInvalidArgument) {
    EXPECT_TRUE(FailedWith(SetIoTune(kStockDomainName, "vdz", {StringParam("group_name", "g")}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
}

TEST_F(TuningTest, SetDomainBlockIoTuneLiveOnAShutOffDomainFailsPrecondition) {
    DefineOffDomain();
    EXPECT_TRUE(FailedWith(SetIoTune(kOffDomain, "vda", {StringParam("group_name", "g1")},
                                     {v1::MODIFICATION_IMPACT_LIVE}),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(ParamOf(IoTune(kOffDomain, "vda"), "group_name"), HasString(""));
}

// ---- perf events --------------------------------------------------------------------

TEST_F(TuningTest, GetDomainPerfEventsReportsEveryEventOff) {
    TypedParameters params = Perf(kStockDomainName);

    EXPECT_THAT(ParamNames(params), IsSupersetOf({"cmt", "mbmt", "cpu_cycles", "cpu_clock",
                                                  "page_faults", "emulation_faults"}));
    EXPECT_THAT(params, Each(HasBool(false)));
}

TEST_F(TuningTest, SetDomainPerfEventsSwitchesCpuClockOnAndOff) {
    v1::DomainPerfEvents response;
    ASSERT_TRUE(Succeeded(tuning_->SetDomainPerfEvents(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainPerfEventsRequest>(kStockDomainName,
                                                         {BoolParam("cpu_clock", true)}),
        &response)));
    EXPECT_THAT(ParamOf(response.parameters(), "cpu_clock"), HasBool(true));
    EXPECT_THAT(ParamOf(Perf(kStockDomainName), "cpu_clock"), HasBool(true));
    EXPECT_THAT(ParamOf(Perf(kStockDomainName), "task_clock"), HasBool(false));

    ASSERT_TRUE(Succeeded(tuning_->SetDomainPerfEvents(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainPerfEventsRequest>(kStockDomainName,
                                                         {BoolParam("cpu_clock", false)}),
        &response)));
    EXPECT_THAT(ParamOf(Perf(kStockDomainName), "cpu_clock"), HasBool(false));
}

TEST_F(TuningTest, SetDomainPerfEventsNumberForABoolFailsAndAppliesNothing) {
    v1::DomainPerfEvents response;
    grpc::Status status = tuning_->SetDomainPerfEvents(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainPerfEventsRequest>(
            kStockDomainName, {BoolParam("task_clock", true), Uint32Param("cpu_clock", 1)}),
        &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), AllOf(HasSubstr("'cpu_clock'"), HasSubstr("bool_value")));
    EXPECT_THAT(Perf(kStockDomainName), Each(HasBool(false)));
}

TEST_F(TuningTest, SetDomainPerfEventsUnknownEventFailsListingTheKnownOnes) {
    v1::DomainPerfEvents response;
    grpc::Status status = tuning_->SetDomainPerfEvents(
        ContextWithDeadline().get(),
        SetParamsRequest<v1::SetDomainPerfEventsRequest>(kStockDomainName,
                                                         {BoolParam("cpu_clocks", true)}),
        &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("perf events"), HasSubstr("'cpu_clocks'"), HasSubstr("'cmt'")));
}

TEST_F(TuningTest, SetDomainPerfEventsLiveOnAShutOffDomainFailsPrecondition) {
    DefineOffDomain();
    v1::DomainPerfEvents response;
    EXPECT_TRUE(FailedWith(tuning_->SetDomainPerfEvents(
                               ContextWithDeadline().get(),
                               SetParamsRequest<v1::SetDomainPerfEventsRequest>(
                                   kOffDomain, {BoolParam("cpu_clock", true)},
                                   {v1::MODIFICATION_IMPACT_LIVE}),
                               &response),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(Perf(kOffDomain), Each(HasBool(false)));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(TuningTest, SetDomainPerfEventsOfUnknownDomainIsNotFound) {
    v1::DomainPerfEvents response;
    EXPECT_TRUE(FailedWith(tuning_->SetDomainPerfEvents(
                               ContextWithDeadline().get(),
                               SetParamsRequest<v1::SetDomainPerfEventsRequest>(
                                   "no-such-domain", {BoolParam("cpu_clock", true)}),
                               &response),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

// ---- every RPC ----------------------------------------------------------------------

// Every RPC of the service, named, called on `domain` with the stock domain's device
// where it takes one and no impact; setters with one valid parameter, or with none.
using NamedCall = std::pair<std::string, std::function<grpc::Status()>>;

std::vector<NamedCall> EveryRpc(v1::TuningService::Stub *tuning, const std::string &domain,
                                bool with_parameters) {
    using S = v1::TuningService::Stub;
    std::vector<NamedCall> rpcs;
    // Adds a call of the stub's `method` with `request`, made when the function runs.
    auto add = [&](const char *name, auto method, auto request, auto response) {
        rpcs.emplace_back(name, [=]() mutable {
            return (tuning->*method)(ContextWithDeadline().get(), request, &response);
        });
    };
    auto set = [&](auto request, v1::TypedParameter parameter) {
        if (with_parameters)
            *request.add_parameters() = parameter;
        return request;
    };

    v1::GetDomainSchedulerTypeRequest type_request;
    *type_request.mutable_domain() = RefByName(domain);
    auto interface_get = ParamsRequest<v1::GetDomainInterfaceParametersRequest>(domain);
    interface_get.set_device(kStockInterface);
    auto interface_set = set(ParamsRequest<v1::SetDomainInterfaceParametersRequest>(domain),
                             Uint32Param("inbound.average", 1));
    interface_set.set_device(kStockInterface);
    auto iotune_get = ParamsRequest<v1::GetDomainBlockIoTuneRequest>(domain);
    iotune_get.set_disk(kStockDisk);
    auto iotune_set = set(ParamsRequest<v1::SetDomainBlockIoTuneRequest>(domain),
                          StringParam("group_name", "g"));
    iotune_set.set_disk(kStockDisk);

    add("GetDomainSchedulerType", &S::GetDomainSchedulerType, type_request,
        v1::DomainSchedulerType());
    add("GetDomainSchedulerParameters", &S::GetDomainSchedulerParameters,
        ParamsRequest<v1::GetDomainSchedulerParametersRequest>(domain),
        v1::DomainSchedulerParameters());
    add("SetDomainSchedulerParameters", &S::SetDomainSchedulerParameters,
        set(ParamsRequest<v1::SetDomainSchedulerParametersRequest>(domain),
            Uint32Param("weight", 50)),
        v1::DomainSchedulerParameters());
    add("GetDomainMemoryParameters", &S::GetDomainMemoryParameters,
        ParamsRequest<v1::GetDomainMemoryParametersRequest>(domain),
        v1::DomainMemoryParameters());
    add("SetDomainMemoryParameters", &S::SetDomainMemoryParameters,
        set(ParamsRequest<v1::SetDomainMemoryParametersRequest>(domain),
            Uint64Param("hard_limit", 1048576)),
        v1::DomainMemoryParameters());
    add("GetDomainBlkioParameters", &S::GetDomainBlkioParameters,
        ParamsRequest<v1::GetDomainBlkioParametersRequest>(domain), v1::DomainBlkioParameters());
    add("SetDomainBlkioParameters", &S::SetDomainBlkioParameters,
        set(ParamsRequest<v1::SetDomainBlkioParametersRequest>(domain),
            Uint32Param("weight", 500)),
        v1::DomainBlkioParameters());
    add("GetDomainNumaParameters", &S::GetDomainNumaParameters,
        ParamsRequest<v1::GetDomainNumaParametersRequest>(domain), v1::DomainNumaParameters());
    add("SetDomainNumaParameters", &S::SetDomainNumaParameters,
        set(ParamsRequest<v1::SetDomainNumaParametersRequest>(domain),
            StringParam("numa_nodeset", "0")),
        v1::DomainNumaParameters());
    add("GetDomainInterfaceParameters", &S::GetDomainInterfaceParameters, interface_get,
        v1::DomainInterfaceParameters());
    add("SetDomainInterfaceParameters", &S::SetDomainInterfaceParameters, interface_set,
        v1::DomainInterfaceParameters());
    add("GetDomainBlockIoTune", &S::GetDomainBlockIoTune, iotune_get, v1::DomainBlockIoTune());
    add("SetDomainBlockIoTune", &S::SetDomainBlockIoTune, iotune_set, v1::DomainBlockIoTune());
    add("GetDomainPerfEvents", &S::GetDomainPerfEvents,
        ParamsRequest<v1::GetDomainPerfEventsRequest>(domain), v1::DomainPerfEvents());
    add("SetDomainPerfEvents", &S::SetDomainPerfEvents,
        set(ParamsRequest<v1::SetDomainPerfEventsRequest>(domain), BoolParam("cpu_clock", true)),
        v1::DomainPerfEvents());
    return rpcs;
}

TEST_F(TuningTest, EveryRpcOfAnUnknownDomainIsNotFound) {
    auto rpcs = EveryRpc(tuning_.get(), "no-such-domain", true);
    ASSERT_EQ(rpcs.size(), 15u);
    for (auto &rpc : rpcs) {
        grpc::Status status = rpc.second();
        EXPECT_TRUE(FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"))
            << rpc.first;
        EXPECT_THAT(status.error_message(), HasSubstr("no-such-domain")) << rpc.first;
    }
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(TuningTest, EverySetterWithoutParametersFailsNothingToSetBeforeTheLookUp) {
    // An unknown domain: the request is refused before libvirt is asked about it.
    for (auto &rpc : EveryRpc(tuning_.get(), "no-such-domain", false)) {
        if (rpc.first.rfind("Set", 0) != 0)
            continue;
        grpc::Status status = rpc.second();
        EXPECT_TRUE(
            FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"))
            << rpc.first;
        EXPECT_THAT(status.error_message(), HasSubstr("nothing to set")) << rpc.first;
    }
    EXPECT_TRUE(ServerStillServes());
}

}  // namespace
}  // namespace virtgrpc::testing
