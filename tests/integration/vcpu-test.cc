// VcpuService against the real virtgrpcd and libvirt's embedded test driver, through
// grpc++ stubs: vCPU counts set and read back (through the count, GetDomainInfo and the
// XML), pinning vCPUs and emulator threads read back as affinity, I/O threads added,
// pinned, tuned and removed, CPU statistics; and the bad requests of each family — more
// vCPUs than the maximum, host CPUs the host lacks, empty lists, unknown ids and
// parameters, the wrong state — each failing with its status while nothing changes.
// What the test driver lacks (hot-plug of single vCPUs, the guest agent) is checked for
// its status here and proven on QEMU in tests/qemu/vcpu-qemu-test.cc.
//
// The test driver's fake host has 16 CPUs (2 nodes x 2 sockets x 2 cores x 2 threads);
// its stock domain `test` runs with 2 vCPUs (maximum 2) and no I/O threads. It reports
// unpinned I/O threads on host CPUs 0-1 and counts 2 host CPUs in virDomainGetCPUStats.
#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-request.h"
#include "tests/support/server-test.h"
#include "tests/support/typed-params.h"
#include "tests/support/vcpu-client.h"

namespace virtgrpc::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr int kTestHostCpus = 16;
// What the test driver reports as the affinity of an I/O thread nobody pinned.
const std::vector<uint32_t> kTestUnpinnedIOThreadAffinity = {0, 1};

std::vector<uint32_t> AllTestHostCpus() {
    std::vector<uint32_t> cpus;
    for (uint32_t cpu = 0; cpu < kTestHostCpus; cpu++)
        cpus.push_back(cpu);
    return cpus;
}

class VcpuTest : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure())
            return;
        vcpus_ = std::make_unique<VcpuClient>(channel());
    }

    void TearDown() override {
        vcpus_.reset();
        ServerTest::TearDown();
    }

    std::string XmlOf(const std::string &name, bool inactive = false) {
        return DomainXmlOf(*domains_, name, inactive);
    }

    uint32_t InfoVcpus(const std::string &name) {
        return DomainInfoOf(*domains_, name).vcpus();
    }

    std::unique_ptr<VcpuClient> vcpus_;
};

// --- counts ---------------------------------------------------------------------

TEST_F(VcpuTest, GetDomainMaxVcpusOfTheStockDomainIsTwo) {
    uint32_t max_vcpus = 0;
    ASSERT_TRUE(Succeeded(vcpus_->GetMaxVcpus(kStockDomainName, &max_vcpus)));

    EXPECT_EQ(max_vcpus, 2u);
}

TEST_F(VcpuTest, GetDomainMaxVcpusOfAShutOffDomainFailsPrecondition) {
    DefineDomain("off1");
    uint32_t max_vcpus = 0;

    EXPECT_TRUE(FailedWith(vcpus_->GetMaxVcpus("off1", &max_vcpus),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuTest, SetDomainVcpuCountUnplugsAndReplugsVcpusOfTheRunningDomain) {
    ASSERT_EQ(vcpus_->CountOf(kStockDomainName), 2u);

    ASSERT_TRUE(Succeeded(vcpus_->SetCount(kStockDomainName, 1)));
    EXPECT_EQ(vcpus_->CountOf(kStockDomainName), 1u);
    EXPECT_EQ(vcpus_->CountOf(kStockDomainName, {v1::VCPU_FLAG_LIVE}), 1u);
    EXPECT_EQ(InfoVcpus(kStockDomainName), 1u);
    EXPECT_EQ(vcpus_->CountOf(kStockDomainName, {v1::VCPU_FLAG_MAXIMUM}), 2u);

    ASSERT_TRUE(Succeeded(vcpus_->SetCount(kStockDomainName, 2, {v1::VCPU_FLAG_CURRENT})));
    EXPECT_EQ(vcpus_->CountOf(kStockDomainName), 2u);
    EXPECT_EQ(InfoVcpus(kStockDomainName), 2u);
}

TEST_F(VcpuTest, SetDomainVcpuCountAboveTheMaximumFailsAndLeavesTheCountUnchanged) {
    grpc::Status status = vcpus_->SetCount(kStockDomainName, 3);

    // libvirt: "requested cpu amount exceeds maximum (3 > 2)".
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("3 > 2"));
    EXPECT_EQ(vcpus_->CountOf(kStockDomainName), 2u);
    EXPECT_EQ(InfoVcpus(kStockDomainName), 2u);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuTest, SetDomainVcpuCountZeroIsInvalidRequestAndChangesNothing) {
    grpc::Status status = vcpus_->SetCount(kStockDomainName, 0);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'vcpus'"));
    EXPECT_EQ(vcpus_->CountOf(kStockDomainName), 2u);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuTest, SetDomainVcpuCountMaximumWithConfigRaisesOnlyTheConfiguredMaximum) {
    ASSERT_TRUE(Succeeded(
        vcpus_->SetCount(kStockDomainName, 4, {v1::VCPU_FLAG_MAXIMUM, v1::VCPU_FLAG_CONFIG})));

    EXPECT_EQ(vcpus_->CountOf(kStockDomainName, {v1::VCPU_FLAG_MAXIMUM, v1::VCPU_FLAG_CONFIG}),
              4u);
    EXPECT_EQ(vcpus_->CountOf(kStockDomainName, {v1::VCPU_FLAG_MAXIMUM, v1::VCPU_FLAG_LIVE}),
              2u);
    EXPECT_THAT(XmlOf(kStockDomainName, true), HasSubstr(">4</vcpu>"));
}

TEST_F(VcpuTest, SetDomainVcpuCountMaximumLiveIsInvalidAndTheMaximumStays) {
    grpc::Status status =
        vcpus_->SetCount(kStockDomainName, 4, {v1::VCPU_FLAG_MAXIMUM, v1::VCPU_FLAG_LIVE});

    // libvirt: "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'".
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_EQ(vcpus_->CountOf(kStockDomainName, {v1::VCPU_FLAG_MAXIMUM}), 2u);
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuTest, SetDomainVcpuCountOfAShutOffDomainChangesItsConfiguration) {
    DefineDomain("off1");
    ASSERT_EQ(vcpus_->CountOf("off1"), 1u);

    ASSERT_TRUE(
        Succeeded(vcpus_->SetCount("off1", 3, {v1::VCPU_FLAG_MAXIMUM, v1::VCPU_FLAG_CONFIG})));
    ASSERT_TRUE(Succeeded(vcpus_->SetCount("off1", 3, {v1::VCPU_FLAG_CONFIG})));

    EXPECT_EQ(vcpus_->CountOf("off1"), 3u);
    EXPECT_EQ(vcpus_->CountOf("off1", {v1::VCPU_FLAG_MAXIMUM}), 3u);
    EXPECT_EQ(InfoVcpus("off1"), 3u);
}

TEST_F(VcpuTest, GetDomainVcpuCountLiveOfAShutOffDomainFailsPrecondition) {
    DefineDomain("off1");
    uint32_t count = 0;

    EXPECT_TRUE(FailedWith(vcpus_->GetCount("off1", {v1::VCPU_FLAG_LIVE}, &count),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
}

TEST_F(VcpuTest, GetDomainVcpuCountFromTheGuestIsRejectedByTheTestDriver) {
    uint32_t count = 0;

    // The test driver has no agent: "unsupported flags (0x8)".
    EXPECT_TRUE(FailedWith(vcpus_->GetCount(kStockDomainName, {v1::VCPU_FLAG_GUEST}, &count),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
}

TEST_F(VcpuTest, GetDomainVcpuCountWithAFlagNumberTheEnumLacksIsInvalidRequest) {
    uint32_t count = 0;
    grpc::Status status =
        vcpus_->GetCount(kStockDomainName, {static_cast<v1::VcpuFlag>(99)}, &count);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("99"));
    EXPECT_TRUE(ServerStillServes());
}

// --- single vCPUs and the guest agent (QEMU proves them: vcpu-qemu-test.cc) -------

TEST_F(VcpuTest, SetDomainVcpuIsUnimplementedOnTheTestDriverAndChangesNothing) {
    EXPECT_TRUE(FailedWith(vcpus_->SetVcpus(kStockDomainName, {1}, false),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_EQ(vcpus_->CountOf(kStockDomainName), 2u);
}

TEST_F(VcpuTest, SetDomainVcpuWithoutVcpusIsInvalidRequest) {
    grpc::Status status = vcpus_->SetVcpus(kStockDomainName, {}, true);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'vcpus' is empty"));
}

TEST_F(VcpuTest, GuestVcpuCallsAreUnimplementedOnTheTestDriver) {
    v1::GetDomainGuestVcpusResponse guest;
    EXPECT_TRUE(FailedWith(vcpus_->GuestVcpus(kStockDomainName, &guest),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(FailedWith(vcpus_->SetGuestVcpus(kStockDomainName, {1}, false),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuTest, SetDomainGuestVcpusWithoutVcpusIsInvalidRequest) {
    EXPECT_TRUE(FailedWith(vcpus_->SetGuestVcpus(kStockDomainName, {}, true),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
}

// --- per-vCPU information and pinning --------------------------------------------

TEST_F(VcpuTest, GetDomainVcpuInfoReportsEveryVcpuRunningOnAHostCpuItMayUse) {
    v1::GetDomainVcpuInfoResponse response;
    ASSERT_TRUE(Succeeded(vcpus_->Info(kStockDomainName, {}, &response)));

    ASSERT_EQ(response.vcpus_size(), 2);
    for (int i = 0; i < 2; i++) {
        const v1::VcpuInfo &vcpu = response.vcpus(i);
        EXPECT_EQ(vcpu.number(), static_cast<uint32_t>(i));
        ASSERT_TRUE(vcpu.has_runtime()) << vcpu.DebugString();
        EXPECT_EQ(vcpu.runtime().state(), v1::VCPU_STATE_RUNNING);
        EXPECT_GT(vcpu.runtime().cpu_time_ns(), 0u);
        ASSERT_EQ(vcpu.runtime().host_cpu_case(), v1::VcpuRuntimeInfo::kCpu);
        EXPECT_LT(vcpu.runtime().cpu(), static_cast<uint32_t>(kTestHostCpus));
        EXPECT_THAT(vcpu.affinity(), ElementsAreArray(AllTestHostCpus()));
    }
}

TEST_F(VcpuTest, PinDomainVcpuIsReadBackAsTheVcpusAffinityAndInTheXml) {
    ASSERT_TRUE(Succeeded(vcpus_->PinVcpu(kStockDomainName, 0, {2, 1})));

    auto affinities = vcpus_->Affinities(kStockDomainName);
    ASSERT_THAT(affinities, SizeIs(2));
    EXPECT_THAT(affinities[0], ElementsAre(1, 2));
    EXPECT_THAT(affinities[1], ElementsAreArray(AllTestHostCpus()));
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("<vcpupin vcpu='0' cpuset='1-2'/>"));
}

TEST_F(VcpuTest, PinDomainVcpuToTheHighestHostCpuWorks) {
    ASSERT_TRUE(Succeeded(vcpus_->PinVcpu(kStockDomainName, 1, {kTestHostCpus - 1})));

    EXPECT_THAT(vcpus_->Affinities(kStockDomainName)[1], ElementsAre(kTestHostCpus - 1));
}

TEST_F(VcpuTest, PinDomainVcpuToAHostCpuBeyondTheHostsIsInvalidAndChangesNothing) {
    grpc::Status status = vcpus_->PinVcpu(kStockDomainName, 0, {1, kTestHostCpus});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("host CPU 16"));
    EXPECT_THAT(status.error_message(), HasSubstr("16 CPUs"));
    EXPECT_THAT(vcpus_->Affinities(kStockDomainName)[0], ElementsAreArray(AllTestHostCpus()));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuTest, PinDomainVcpuToNoHostCpuIsInvalidAndChangesNothing) {
    grpc::Status status = vcpus_->PinVcpu(kStockDomainName, 0, {});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'cpus' is empty"));
    EXPECT_THAT(vcpus_->Affinities(kStockDomainName)[0], ElementsAreArray(AllTestHostCpus()));
}

TEST_F(VcpuTest, PinDomainVcpuTheDomainLacksIsInvalidArgument) {
    grpc::Status status = vcpus_->PinVcpu(kStockDomainName, 7, {1});

    // libvirt: "requested vcpu '7' is not present in the domain".
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("'7'"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuTest, PinDomainVcpuLiveIsRejectedByTheTestDriver) {
    // The test driver's virDomainPinVcpuFlags takes no flags (api-support: INVALID_ARG).
    EXPECT_TRUE(
        FailedWith(vcpus_->PinVcpu(kStockDomainName, 0, {1}, {v1::MODIFICATION_IMPACT_LIVE}),
                   grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(vcpus_->Affinities(kStockDomainName)[0], ElementsAreArray(AllTestHostCpus()));
}

TEST_F(VcpuTest, GetDomainVcpuInfoOfAShutOffDomainNeedsConfig) {
    DefineDomain("off1");
    v1::GetDomainVcpuInfoResponse live;
    EXPECT_TRUE(FailedWith(vcpus_->Info("off1", {}, &live),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));

    v1::GetDomainVcpuInfoResponse config;
    ASSERT_TRUE(Succeeded(vcpus_->Info("off1", {v1::MODIFICATION_IMPACT_CONFIG}, &config)));
    ASSERT_EQ(config.vcpus_size(), 1);
    EXPECT_EQ(config.vcpus(0).number(), 0u);
    EXPECT_FALSE(config.vcpus(0).has_runtime());
    EXPECT_THAT(config.vcpus(0).affinity(), ElementsAreArray(AllTestHostCpus()));
}

TEST_F(VcpuTest, PinDomainVcpuOfAShutOffDomainFailsPreconditionOnTheTestDriver) {
    DefineDomain("off1");
    grpc::Status status = vcpus_->PinVcpu("off1", 0, {3, 5});

    // The test driver pins running domains only: "cannot pin vcpus on an inactive domain".
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(vcpus_->Affinities("off1", {v1::MODIFICATION_IMPACT_CONFIG})[0],
                ElementsAreArray(AllTestHostCpus()));
    EXPECT_THAT(XmlOf("off1"), Not(HasSubstr("<vcpupin")));
}

// --- emulator threads ------------------------------------------------------------

TEST_F(VcpuTest, PinDomainEmulatorIsReadBackAsItsAffinityAndInTheXml) {
    ASSERT_THAT(vcpus_->EmulatorAffinity(kStockDomainName),
                ElementsAreArray(AllTestHostCpus()));

    ASSERT_TRUE(Succeeded(vcpus_->PinEmulator(kStockDomainName, {1, 2, 9})));

    EXPECT_THAT(vcpus_->EmulatorAffinity(kStockDomainName), ElementsAre(1, 2, 9));
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("<emulatorpin cpuset='1-2,9'/>"));
}

TEST_F(VcpuTest, PinDomainEmulatorBeyondTheHostsCpusIsInvalidAndChangesNothing) {
    grpc::Status status = vcpus_->PinEmulator(kStockDomainName, {400});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("host CPU 400"));
    EXPECT_THAT(vcpus_->EmulatorAffinity(kStockDomainName),
                ElementsAreArray(AllTestHostCpus()));
    EXPECT_TRUE(ServerStillServes());
}

// --- I/O threads -----------------------------------------------------------------

TEST_F(VcpuTest, IOThreadsAddedPinnedAndDeletedAreListedAccordingly) {
    ASSERT_THAT(vcpus_->IOThreadIds(kStockDomainName), IsEmpty());

    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(kStockDomainName, 5)));
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(kStockDomainName, 2)));
    auto iothreads = vcpus_->IOThreads(kStockDomainName);
    ASSERT_THAT(iothreads, SizeIs(2));
    for (const v1::IOThreadInfo &iothread : iothreads)
        EXPECT_THAT(iothread.affinity(), ElementsAreArray(kTestUnpinnedIOThreadAffinity));
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("<iothread id='5'/>"));

    ASSERT_TRUE(Succeeded(vcpus_->PinIOThread(kStockDomainName, 5, {3})));
    for (const v1::IOThreadInfo &iothread : vcpus_->IOThreads(kStockDomainName)) {
        if (iothread.iothread_id() == 5)
            EXPECT_THAT(iothread.affinity(), ElementsAre(3));
        else
            EXPECT_THAT(iothread.affinity(), ElementsAreArray(kTestUnpinnedIOThreadAffinity));
    }

    ASSERT_TRUE(Succeeded(vcpus_->DeleteIOThread(kStockDomainName, 5)));
    EXPECT_THAT(vcpus_->IOThreadIds(kStockDomainName), ElementsAre(2));
    EXPECT_THAT(XmlOf(kStockDomainName), Not(HasSubstr("<iothread id='5'/>")));
}

TEST_F(VcpuTest, AddDomainIOThreadToAShutOffDomainShowsInItsConfiguration) {
    DefineDomain("off1");

    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread("off1", 3, {v1::MODIFICATION_IMPACT_CONFIG})));

    EXPECT_THAT(vcpus_->IOThreadIds("off1"), ElementsAre(3));
    EXPECT_THAT(vcpus_->IOThreadIds("off1", {v1::MODIFICATION_IMPACT_CONFIG}), ElementsAre(3));
}

TEST_F(VcpuTest, AddDomainIOThreadWithAnIdInUseIsInvalidAndAddsNothing) {
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(kStockDomainName, 5)));
    grpc::Status status = vcpus_->AddIOThread(kStockDomainName, 5);

    // libvirt: "an IOThread is already using iothread_id '5'".
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(vcpus_->IOThreadIds(kStockDomainName), ElementsAre(5));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuTest, IOThreadIdZeroIsInvalidRequestForEveryIOThreadCall) {
    std::vector<grpc::Status> statuses = {
        vcpus_->AddIOThread(kStockDomainName, 0),
        vcpus_->DeleteIOThread(kStockDomainName, 0),
        vcpus_->PinIOThread(kStockDomainName, 0, {1}),
        vcpus_->SetIOThreadParams(kStockDomainName, 0, {Uint64Param("poll_max_ns", 10)}),
    };

    for (const grpc::Status &status : statuses) {
        EXPECT_TRUE(
            FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
        EXPECT_THAT(status.error_message(), HasSubstr("'iothread_id' is 0"));
    }
    EXPECT_THAT(vcpus_->IOThreadIds(kStockDomainName), IsEmpty());
}

TEST_F(VcpuTest, IOThreadCallsOnAnIdTheDomainLacksAreInvalidArgument) {
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(kStockDomainName, 5)));

    EXPECT_TRUE(FailedWith(vcpus_->DeleteIOThread(kStockDomainName, 9),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(FailedWith(vcpus_->PinIOThread(kStockDomainName, 9, {1}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_TRUE(FailedWith(
        vcpus_->SetIOThreadParams(kStockDomainName, 9, {Uint64Param("poll_max_ns", 1)}),
        grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(vcpus_->IOThreadIds(kStockDomainName), ElementsAre(5));
}

TEST_F(VcpuTest, PinDomainIOThreadBeyondTheHostsCpusIsInvalidAndChangesNothing) {
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(kStockDomainName, 5)));

    EXPECT_TRUE(FailedWith(vcpus_->PinIOThread(kStockDomainName, 5, {kTestHostCpus + 3}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(vcpus_->IOThreads(kStockDomainName).at(0).affinity(),
                ElementsAreArray(kTestUnpinnedIOThreadAffinity));
}

TEST_F(VcpuTest, SetDomainIOThreadParamsAcceptsThePollingParameters) {
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(kStockDomainName, 5)));

    // The test driver keeps them in no place a client can read (not in the XML of
    // libvirt 9.0); QEMU's are checked in vcpu-qemu-test.cc.
    EXPECT_TRUE(Succeeded(vcpus_->SetIOThreadParams(
        kStockDomainName, 5,
        {Uint64Param("poll_max_ns", 32768), Uint32Param("poll_grow", 2),
         Uint32Param("poll_shrink", 4)})));
    EXPECT_THAT(vcpus_->IOThreadIds(kStockDomainName), ElementsAre(5));
}

TEST_F(VcpuTest, SetDomainIOThreadParamsWithAnUnknownNameIsInvalidAndNamesTheKnownOnes) {
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(kStockDomainName, 5)));
    grpc::Status status =
        vcpus_->SetIOThreadParams(kStockDomainName, 5, {Uint64Param("poll_max_nsec", 10)});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("unknown parameter 'poll_max_nsec'"));
    EXPECT_THAT(status.error_message(), HasSubstr("'poll_max_ns'"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuTest, SetDomainIOThreadParamsWithAWrongTypeIsInvalidRequest) {
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(kStockDomainName, 5)));
    grpc::Status status =
        vcpus_->SetIOThreadParams(kStockDomainName, 5, {Uint32Param("poll_max_ns", 10)});

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'poll_max_ns' takes uint64_value"));
}

TEST_F(VcpuTest, SetDomainIOThreadParamsWithoutParametersIsInvalidRequest) {
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(kStockDomainName, 5)));

    EXPECT_TRUE(FailedWith(vcpus_->SetIOThreadParams(kStockDomainName, 5, {}),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
}

TEST_F(VcpuTest, SetDomainIOThreadParamsThreadPoolIsUnsupportedByTheTestDriver) {
    ASSERT_TRUE(Succeeded(vcpus_->AddIOThread(kStockDomainName, 5)));

    // libvirt: "argument unsupported: parameter 'thread_pool_min' not supported".
    EXPECT_TRUE(FailedWith(
        vcpus_->SetIOThreadParams(kStockDomainName, 5, {Int32Param("thread_pool_min", 1)}),
        grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_ARGUMENT_UNSUPPORTED"));
}

// --- CPU statistics --------------------------------------------------------------

TEST_F(VcpuTest, GetDomainCPUStatsTotalReportsCpuUserAndSystemTime) {
    v1::GetDomainCPUStatsResponse response;
    ASSERT_TRUE(Succeeded(vcpus_->CpuStats(kStockDomainName, false, 0, 0, &response)));

    EXPECT_THAT(ParamNames(response.total()),
                ElementsAre("cpu_time", "user_time", "system_time"));
    EXPECT_EQ(ParamOf(response.total(), "cpu_time").value_case(),
              v1::TypedParameter::kUint64Value);
    EXPECT_GT(ParamOf(response.total(), "cpu_time").uint64_value(), 0u);
    EXPECT_THAT(response.per_cpu(), IsEmpty());
}

TEST_F(VcpuTest, GetDomainCPUStatsPerCpuReportsEveryHostCpuOfTheCall) {
    v1::GetDomainCPUStatsResponse response;
    ASSERT_TRUE(Succeeded(vcpus_->CpuStats(kStockDomainName, true, 0, 0, &response)));

    // The test driver's virDomainGetCPUStats counts 2 host CPUs.
    ASSERT_EQ(response.host_cpu_count(), 2u);
    ASSERT_EQ(response.per_cpu_size(), 2);
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(response.per_cpu(i).cpu(), static_cast<uint32_t>(i));
        EXPECT_THAT(ParamNames(response.per_cpu(i).parameters()),
                    ElementsAre("cpu_time", "vcpu_time"));
    }
    EXPECT_THAT(response.total(), IsEmpty());
}

TEST_F(VcpuTest, GetDomainCPUStatsPerCpuPagesFromStartCpu) {
    v1::GetDomainCPUStatsResponse response;
    ASSERT_TRUE(Succeeded(vcpus_->CpuStats(kStockDomainName, true, 1, 5, &response)));

    ASSERT_EQ(response.per_cpu_size(), 1);  // cut at the last host CPU
    EXPECT_EQ(response.per_cpu(0).cpu(), 1u);
}

TEST_F(VcpuTest, GetDomainCPUStatsOutOfRangeCpusAreInvalidRequest) {
    v1::GetDomainCPUStatsResponse response;
    grpc::Status start = vcpus_->CpuStats(kStockDomainName, true, 2, 1, &response);
    EXPECT_TRUE(
        FailedWith(start, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(start.error_message(), HasSubstr("'start_cpu' is 2"));

    grpc::Status count = vcpus_->CpuStats(kStockDomainName, true, 0, 129, &response);
    EXPECT_TRUE(
        FailedWith(count, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(count.error_message(), HasSubstr("'cpu_count' is 129"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(VcpuTest, GetDomainCPUStatsOfAShutOffDomainFailsPrecondition) {
    DefineDomain("off1");
    v1::GetDomainCPUStatsResponse response;

    EXPECT_TRUE(FailedWith(vcpus_->CpuStats("off1", false, 0, 0, &response),
                           grpc::StatusCode::FAILED_PRECONDITION, "VIR_ERR_OPERATION_INVALID"));
}

// --- every RPC on an unknown domain ----------------------------------------------

TEST_F(VcpuTest, EveryRpcOnAnUnknownDomainIsNotFound) {
    const std::string missing = "no-such-domain";
    VcpuClient &c = *vcpus_;
    std::vector<std::pair<std::string, std::function<grpc::Status()>>> calls = {
        {"GetDomainMaxVcpus",
         [&] {
             uint32_t n;
             return c.GetMaxVcpus(missing, &n);
         }},
        {"GetDomainVcpuCount",
         [&] {
             uint32_t n;
             return c.GetCount(missing, {}, &n);
         }},
        {"SetDomainVcpuCount", [&] { return c.SetCount(missing, 1); }},
        {"SetDomainVcpu", [&] { return c.SetVcpus(missing, {1}, true); }},
        {"GetDomainGuestVcpus",
         [&] {
             v1::GetDomainGuestVcpusResponse r;
             return c.GuestVcpus(missing, &r);
         }},
        {"SetDomainGuestVcpus", [&] { return c.SetGuestVcpus(missing, {1}, true); }},
        {"GetDomainVcpuInfo",
         [&] {
             v1::GetDomainVcpuInfoResponse r;
             return c.Info(missing, {}, &r);
         }},
        {"PinDomainVcpu", [&] { return c.PinVcpu(missing, 0, {1}); }},
        {"GetDomainEmulatorPinInfo",
         [&] {
             v1::GetDomainEmulatorPinInfoResponse r;
             return c.GetEmulatorPinInfo(missing, {}, &r);
         }},
        {"PinDomainEmulator", [&] { return c.PinEmulator(missing, {1}); }},
        {"ListDomainIOThreads",
         [&] {
             v1::ListDomainIOThreadsResponse r;
             return c.ListIOThreads(missing, {}, &r);
         }},
        {"PinDomainIOThread", [&] { return c.PinIOThread(missing, 1, {1}); }},
        {"AddDomainIOThread", [&] { return c.AddIOThread(missing, 1); }},
        {"DeleteDomainIOThread", [&] { return c.DeleteIOThread(missing, 1); }},
        {"SetDomainIOThreadParams",
         [&] { return c.SetIOThreadParams(missing, 1, {Uint64Param("poll_max_ns", 1)}); }},
        {"GetDomainCPUStats",
         [&] {
             v1::GetDomainCPUStatsResponse r;
             return c.CpuStats(missing, false, 0, 0, &r);
         }},
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
