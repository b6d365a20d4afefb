// StatsService and JobService on a real QEMU guest (TCG), cross-checked against libvirt
// itself: the test process opens its own qemu:///system connection and asks
// virDomainListGetStats / virDomainGetJobInfo / virDomainGetJobStats about the same
// guest. Stable values must be equal (state, balloon sizes, vCPU counts, disk and
// interface names, paths and capacities), counters must not go backwards between the
// direct read and virtgrpcd's later one, and every key libvirt reports for a group the
// proto models must arrive typed (not in `unknown`). Jobs: an idle guest has none
// (NONE), AbortDomainJob then fails FAILED_PRECONDITION; a core dump leaves typed
// completed-job statistics equal to libvirt's; a dump held up by an unread FIFO is seen
// running (UNBOUNDED) and is aborted.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tests/support/domain-call.h"
#include "tests/support/qemu-guest.h"
#include "tests/support/stats-client.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Writing 128 MiB of guest memory under TCG on a busy host.
constexpr std::chrono::milliseconds kDumpTimeout{120000};

// One parameter as the test compares it.
struct Value {
    int type = 0;
    unsigned long long number = 0; // integer types and booleans
    long long signed_number = 0;
    std::string text;
};

// libvirt's own answer, read from this process.
class DirectLibvirt
{
  public:
    DirectLibvirt()
    {
        conn_ = virConnectOpen("qemu:///system");
    }
    ~DirectLibvirt()
    {
        if (domain_)
            virDomainFree(domain_);
        if (conn_)
            virConnectClose(conn_);
    }
    bool
    Open(const std::string &name)
    {
        return conn_ && (domain_ = virDomainLookupByName(conn_, name.c_str())) != nullptr;
    }

    // Every key of virDomainListGetStats for all groups.
    std::map<std::string, Value>
    Stats(unsigned int groups = 0)
    {
        virDomainPtr list[] = {domain_, nullptr};
        virDomainStatsRecordPtr *records = nullptr;
        std::map<std::string, Value> out;

        int n = virDomainListGetStats(list, groups, &records, 0);
        EXPECT_EQ(n, 1) << virGetLastErrorMessage();
        if (n == 1)
            out = ToMap(records[0]->params, records[0]->nparams);
        virDomainStatsRecordListFree(records);
        return out;
    }

    // virDomainGetJobStats; `type` receives the job type.
    std::map<std::string, Value>
    JobStats(unsigned int flags, int *type)
    {
        virTypedParameterPtr params = nullptr;
        int n = 0;
        std::map<std::string, Value> out;

        EXPECT_EQ(virDomainGetJobStats(domain_, type, &params, &n, flags), 0)
            << virGetLastErrorMessage();
        out = ToMap(params, n);
        virTypedParamsFree(params, n);
        return out;
    }

    int
    JobInfoType()
    {
        virDomainJobInfo info{};
        EXPECT_EQ(virDomainGetJobInfo(domain_, &info), 0) << virGetLastErrorMessage();
        return info.type;
    }

  private:
    static std::map<std::string, Value>
    ToMap(virTypedParameterPtr params, int n)
    {
        std::map<std::string, Value> out;
        for (int i = 0; i < n; i++) {
            Value v;
            v.type = params[i].type;
            switch (params[i].type) {
            case VIR_TYPED_PARAM_INT:
                v.signed_number = params[i].value.i;
                v.number = params[i].value.i;
                break;
            case VIR_TYPED_PARAM_UINT:
                v.number = params[i].value.ui;
                break;
            case VIR_TYPED_PARAM_LLONG:
                v.signed_number = params[i].value.l;
                v.number = params[i].value.l;
                break;
            case VIR_TYPED_PARAM_ULLONG:
                v.number = params[i].value.ul;
                break;
            case VIR_TYPED_PARAM_BOOLEAN:
                v.number = params[i].value.b;
                break;
            case VIR_TYPED_PARAM_STRING:
                v.text = params[i].value.s;
                break;
            default:
                break;
            }
            out[params[i].field] = v;
        }
        return out;
    }

    virConnectPtr conn_ = nullptr;
    virDomainPtr domain_ = nullptr;
};

class StatsQemuTest : public DomainCalls<BootedQemuGuestTest>
{
  protected:
    void
    SetUp() override
    {
        BootedQemuGuestTest::SetUp();
        if (HasFatalFailure())
            return;
        stats_ = std::make_unique<StatsClient>(channel());
        ASSERT_TRUE(direct_.Open(name())) << virGetLastErrorMessage();
    }
    void
    TearDown() override
    {
        stats_.reset();
        BootedQemuGuestTest::TearDown();
    }

    v1::DomainStats
    StatsOfGuest(std::initializer_list<v1::StatsType> groups = {})
    {
        v1::GetAllDomainStatsResponse response;
        EXPECT_TRUE(Succeeded(stats_->GetAll(
            StatsRequest<v1::GetAllDomainStatsRequest>({name()}, groups), &response)));
        EXPECT_EQ(response.domains_size(), 1);
        return response.domains_size() ? response.domains(0) : v1::DomainStats();
    }

    std::unique_ptr<StatsClient> stats_;
    DirectLibvirt direct_;
};

uint64_t
Number(std::map<std::string, Value> &keys, const std::string &key)
{
    EXPECT_TRUE(keys.count(key)) << "libvirt did not report '" << key << "'";
    return keys[key].number;
}

std::string
Text(std::map<std::string, Value> &keys, const std::string &key)
{
    EXPECT_TRUE(keys.count(key)) << "libvirt did not report '" << key << "'";
    return keys[key].text;
}

TEST_F(StatsQemuTest, EveryGroupMatchesWhatLibvirtReportsForTheSameGuest)
{
    auto direct = direct_.Stats();
    v1::DomainStats ours = StatsOfGuest();

    EXPECT_EQ(ours.domain().name(), name());
    EXPECT_EQ(ours.domain().uuid(), defined().uuid());

    // State.
    ASSERT_TRUE(ours.has_state());
    EXPECT_EQ(ours.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(Number(direct, "state.state"), (uint64_t)VIR_DOMAIN_RUNNING);
    EXPECT_EQ((uint64_t)ours.state().reason(), Number(direct, "state.reason"));

    // Balloon: sizes are stable while nobody changes them.
    ASSERT_TRUE(ours.has_balloon());
    EXPECT_EQ(ours.balloon().maximum(), Number(direct, "balloon.maximum"));
    EXPECT_EQ(ours.balloon().maximum(), kGuestMemoryKiB);
    EXPECT_EQ(ours.balloon().current(), Number(direct, "balloon.current"));

    // vCPUs: counts stable, per-vCPU time monotonic.
    ASSERT_TRUE(ours.has_vcpu());
    EXPECT_EQ(ours.vcpu().current(), Number(direct, "vcpu.current"));
    EXPECT_EQ(ours.vcpu().maximum(), Number(direct, "vcpu.maximum"));
    EXPECT_EQ(ours.vcpu().current(), kGuestVcpus);
    ASSERT_EQ(ours.vcpu().vcpus_size(), (int)kGuestVcpus);
    EXPECT_EQ(ours.vcpu().vcpus(0).index(), 0u);
    EXPECT_EQ(ours.vcpu().vcpus(0).state(), v1::VCPU_STATE_RUNNING);
    EXPECT_GE(ours.vcpu().vcpus(0).time(), Number(direct, "vcpu.0.time"));

    // CPU time: a counter.
    ASSERT_TRUE(ours.has_cpu());
    EXPECT_GE(ours.cpu().time(), Number(direct, "cpu.time"));
    EXPECT_GT(ours.cpu().time(), 0u);

    // Disks: names, paths and capacity stable, reads monotonic.
    EXPECT_EQ(ours.block_count(), Number(direct, "block.count"));
    ASSERT_EQ(ours.block_size(), (int)ours.block_count());
    ASSERT_GE(ours.block_size(), 1);
    for (const v1::BlockStats &block : ours.block()) {
        std::string prefix = "block." + std::to_string(block.index()) + ".";
        EXPECT_EQ(block.name(), Text(direct, prefix + "name"));
        EXPECT_EQ(block.path(), Text(direct, prefix + "path"));
        EXPECT_EQ(block.capacity(), Number(direct, prefix + "capacity"));
        EXPECT_GT(block.capacity(), 0u);
        if (direct.count(prefix + "rd.bytes"))
            EXPECT_GE(block.rd_bytes(), Number(direct, prefix + "rd.bytes"));
    }
    EXPECT_EQ(ours.block(0).name(), "vda");
    EXPECT_GT(ours.block(0).rd_bytes(), 0u) << "the guest booted from vda";

    // Interfaces.
    EXPECT_EQ(ours.net_count(), Number(direct, "net.count"));
    ASSERT_EQ(ours.net_size(), (int)ours.net_count());
    for (const v1::InterfaceStats &net : ours.net()) {
        std::string prefix = "net." + std::to_string(net.index()) + ".";
        EXPECT_EQ(net.name(), Text(direct, prefix + "name"));
        EXPECT_GE(net.rx_bytes(), Number(direct, prefix + "rx.bytes"));
        EXPECT_GE(net.tx_pkts(), Number(direct, prefix + "tx.pkts"));
    }

    // Every key of a group the proto models arrived typed; what is left in `unknown`
    // is what libvirt 9.0 with this QEMU adds beyond them (recorded for the report).
    std::string unknown_keys;
    for (const v1::TypedParameter &p : ours.unknown()) {
        unknown_keys += p.name() + " ";
        for (const char *modelled : {"state.", "cpu.", "balloon.", "net.", "block.",
                                     "perf.", "iothread.", "memory.", "dirtyrate."})
            EXPECT_THAT(p.name(), ::testing::Not(StartsWith(modelled)))
                << "a key of a modelled group was not typed";
    }
    RecordProperty("unknown_keys", unknown_keys);
    size_t n_typed = direct.size() - ours.unknown_size();
    RecordProperty("typed_keys", (int)n_typed);
    EXPECT_GT(n_typed, 20u);
}

TEST_F(StatsQemuTest, OnlyTheAskedGroupsAreReported)
{
    v1::DomainStats ours = StatsOfGuest({v1::STATS_TYPE_BALLOON, v1::STATS_TYPE_BLOCK});

    EXPECT_TRUE(ours.has_balloon());
    EXPECT_GE(ours.block_size(), 1);
    EXPECT_FALSE(ours.has_state());
    EXPECT_FALSE(ours.has_cpu());
    EXPECT_FALSE(ours.has_vcpu());
    EXPECT_EQ(ours.net_size(), 0);
}

TEST_F(StatsQemuTest, BackingFlagReportsTheOverlaysBackingImage)
{
    v1::GetAllDomainStatsResponse response;
    ASSERT_TRUE(Succeeded(stats_->GetAll(
        StatsRequest<v1::GetAllDomainStatsRequest>({name()}, {v1::STATS_TYPE_BLOCK},
                                                   {v1::GET_ALL_STATS_FLAG_BACKING}),
        &response)));
    ASSERT_EQ(response.domains_size(), 1);
    const auto &ours = response.domains(0);

    // vda is a qcow2 overlay on the cached guest disk: two entries named vda, the
    // backing one with backing_index set.
    int vda_entries = 0;
    bool backing_seen = false;
    for (const v1::BlockStats &block : ours.block()) {
        if (block.name() != "vda")
            continue;
        vda_entries++;
        if (block.has_backing_index() && block.backing_index() > 0)
            backing_seen = true;
    }
    EXPECT_GE(vda_entries, 2);
    EXPECT_TRUE(backing_seen);
}

TEST_F(StatsQemuTest, WatchSamplesShowGrowingCpuTime)
{
    auto request =
        StatsRequest<v1::WatchDomainStatsRequest>({name()}, {v1::STATS_TYPE_CPU_TOTAL});
    request.set_interval_ms(500);
    auto watch = stats_->OpenWatch(request, std::chrono::seconds(60));

    std::vector<uint64_t> times;
    v1::DomainStatsSample sample;
    while (times.size() < 4 && watch.reader->Read(&sample)) {
        ASSERT_EQ(sample.domains_size(), 1);
        ASSERT_TRUE(sample.domains(0).has_cpu());
        times.push_back(sample.domains(0).cpu().time());
    }
    ASSERT_EQ(times.size(), 4u) << Describe(watch.End());
    for (size_t i = 1; i < times.size(); i++)
        EXPECT_GE(times[i], times[i - 1]);
    EXPECT_GT(times.back(), times.front()) << "a running guest uses CPU time";
    EXPECT_EQ(watch.End().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(StatsQemuTest, IdleGuestHasNoJobAndNothingToAbort)
{
    v1::DomainJobStats info;
    ASSERT_TRUE(Succeeded(stats_->JobInfo(name(), &info)));
    EXPECT_EQ(info.domain().name(), name());
    EXPECT_EQ(info.stats().type(), v1::JOB_TYPE_NONE);
    EXPECT_EQ(direct_.JobInfoType(), VIR_DOMAIN_JOB_NONE);
    EXPECT_FALSE(info.stats().has_time_elapsed());

    v1::DomainJobStats stats;
    ASSERT_TRUE(Succeeded(stats_->JobStats(name(), {}, &stats)));
    EXPECT_EQ(stats.stats().type(), v1::JOB_TYPE_NONE);

    EXPECT_TRUE(FailedWith(stats_->AbortJob(name()), grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_TRUE(WaitForState(v1::DOMAIN_STATE_RUNNING, kCallTimeout))
        << "the guest runs on";
}

TEST_F(StatsQemuTest, CoreDumpLeavesTypedCompletedJobStatsEqualToLibvirts)
{
    v1::CoreDumpDomainRequest dump;
    *dump.mutable_domain() = ref();
    dump.set_path(std::string(kGuestFilesRoot) + "/" + name() + "/guest.core");
    v1::Domain dumped;
    ASSERT_TRUE(Succeeded(
        Call(&v1::DomainService::Stub::CoreDumpDomain, dump, &dumped, kDumpTimeout)));

    v1::DomainJobStats ours;
    ASSERT_TRUE(Succeeded(stats_->JobStats(
        name(), {v1::JOB_STATS_FLAG_COMPLETED, v1::JOB_STATS_FLAG_KEEP_COMPLETED}, &ours)));
    int direct_type = -1;
    auto direct = direct_.JobStats(
        VIR_DOMAIN_JOB_STATS_COMPLETED | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED, &direct_type);

    const v1::JobStats &job = ours.stats();
    EXPECT_EQ(job.type(), v1::JOB_TYPE_COMPLETED);
    EXPECT_EQ(direct_type, VIR_DOMAIN_JOB_COMPLETED);
    EXPECT_EQ(job.operation(), v1::JOB_OPERATION_DUMP);
    EXPECT_EQ((int)Number(direct, VIR_DOMAIN_JOB_OPERATION), VIR_DOMAIN_JOB_OPERATION_DUMP);
    ASSERT_TRUE(job.has_time_elapsed());
    EXPECT_EQ(job.time_elapsed(), Number(direct, VIR_DOMAIN_JOB_TIME_ELAPSED))
        << "KEEP_COMPLETED: both reads see the same finished job";
    EXPECT_GT(job.memory_total(), 0u);
    // Every key libvirt reported is set in the field of its name, with its value
    // (operation, an enum, is compared above); no field is set that libvirt did not
    // report.
    const auto *descriptor = v1::JobStats::descriptor();
    const auto *reflection = v1::JobStats::GetReflection();
    for (auto &[key, value] : direct) {
        const auto *field = descriptor->FindFieldByName(key);
        ASSERT_NE(field, nullptr) << "no JobStats field for '" << key << "'";
        ASSERT_TRUE(reflection->HasField(job, field)) << key;
        switch (field->cpp_type()) {
        case google::protobuf::FieldDescriptor::CPPTYPE_UINT64:
            EXPECT_EQ(reflection->GetUInt64(job, field), value.number) << key;
            break;
        case google::protobuf::FieldDescriptor::CPPTYPE_INT32:
            EXPECT_EQ(reflection->GetInt32(job, field), value.signed_number) << key;
            break;
        case google::protobuf::FieldDescriptor::CPPTYPE_BOOL:
            EXPECT_EQ(reflection->GetBool(job, field), value.number != 0) << key;
            break;
        case google::protobuf::FieldDescriptor::CPPTYPE_STRING:
            EXPECT_EQ(reflection->GetString(job, field), value.text) << key;
            break;
        default:
            break;
        }
    }
    std::vector<const google::protobuf::FieldDescriptor *> set_fields;
    reflection->ListFields(job, &set_fields);
    for (const auto *field : set_fields) {
        if (field->name() != "type")
            EXPECT_TRUE(direct.count(field->name()))
                << field->name() << " set, not reported";
    }
    // Every key libvirt reported is typed or kept.
    EXPECT_EQ(job.unknown_size(), 0) << (job.unknown_size() ? job.unknown(0).name() : "");
    std::string keys;
    for (const auto &[key, value] : direct)
        keys += key + " ";
    RecordProperty("completed_dump_job_keys", keys);

    // Without KEEP_COMPLETED the read consumes them.
    v1::DomainJobStats consumed;
    ASSERT_TRUE(
        Succeeded(stats_->JobStats(name(), {v1::JOB_STATS_FLAG_COMPLETED}, &consumed)));
    EXPECT_EQ(consumed.stats().type(), v1::JOB_TYPE_COMPLETED);
    v1::DomainJobStats after;
    ASSERT_TRUE(
        Succeeded(stats_->JobStats(name(), {v1::JOB_STATS_FLAG_COMPLETED}, &after)));
    EXPECT_EQ(after.stats().type(), v1::JOB_TYPE_NONE);
}

// A core dump into a FIFO that the test does not read stays a running job (QEMU
// blocks once the pipe is full) until it is aborted: GetDomainJobInfo sees it, the
// abort ends it, the dump fails ABORTED and the completed-job statistics agree with
// libvirt's (not COMPLETED). The test drains the FIFO after the abort so that QEMU's
// blocked write returns and sees the cancel.
TEST_F(StatsQemuTest, RunningDumpShowsAsAJobAndAbortStopsIt)
{
    std::string fifo = std::string(kGuestFilesRoot) + "/" + name() + "/dump.fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << strerror(errno);
    // Open the read end first (non-blocking), so that libvirt's open for writing does
    // not wait for a reader.
    int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    ASSERT_GE(reader, 0) << strerror(errno);

    v1::CoreDumpDomainRequest dump;
    *dump.mutable_domain() = ref();
    dump.set_path(fifo);
    grpc::Status dump_status;
    std::atomic<bool> dump_ended{false};
    std::thread dumper([&] {
        v1::Domain dumped;
        dump_status =
            Call(&v1::DomainService::Stub::CoreDumpDomain, dump, &dumped, kDumpTimeout);
        dump_ended = true;
    });

    v1::DomainJobStats running;
    bool seen = WaitUntil(
        [&] {
            return stats_->JobInfo(name(), &running).ok() &&
                   running.stats().type() == v1::JOB_TYPE_UNBOUNDED;
        },
        std::chrono::seconds(30));
    grpc::Status abort_status = stats_->AbortJob(name());
    // Unblock QEMU: read (and drop) whatever it writes until the dump call returns.
    char buffer[65536];
    while (!dump_ended) {
        if (read(reader, buffer, sizeof(buffer)) <= 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    dumper.join();
    close(reader);

    ASSERT_TRUE(seen) << "GetDomainJobInfo never saw the dump running: "
                      << running.DebugString();
    EXPECT_TRUE(running.stats().has_time_elapsed());
    EXPECT_TRUE(running.stats().has_data_total());
    EXPECT_FALSE(running.stats().has_time_remaining()) << "an unbounded job";
    EXPECT_TRUE(Succeeded(abort_status));
    EXPECT_EQ(dump_status.error_code(), grpc::StatusCode::ABORTED) << Describe(dump_status);

    // What libvirt keeps of an aborted dump is libvirt's choice (9.0 keeps nothing:
    // NONE); the server must say the same as libvirt.
    v1::DomainJobStats completed;
    ASSERT_TRUE(Succeeded(stats_->JobStats(
        name(), {v1::JOB_STATS_FLAG_COMPLETED, v1::JOB_STATS_FLAG_KEEP_COMPLETED},
        &completed)));
    int direct_type = -1;
    direct_.JobStats(VIR_DOMAIN_JOB_STATS_COMPLETED, &direct_type);
    RecordProperty("aborted_dump_completed_type",
                   v1::JobType_Name(completed.stats().type()));
    EXPECT_NE(completed.stats().type(), v1::JOB_TYPE_COMPLETED) << "it did not complete";
    // JobType's numbers are virDomainJobType's plus one (0 is _UNSPECIFIED).
    EXPECT_EQ(static_cast<int>(completed.stats().type()), direct_type + 1);
    EXPECT_TRUE(WaitForState(v1::DOMAIN_STATE_RUNNING, kCallTimeout))
        << "the guest runs on";
}

} // namespace
} // namespace virtgrpc::testing
