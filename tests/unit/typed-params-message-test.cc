// libvirt typed parameters -> one typed message by descriptor (typed-params-message.c),
// with synthetic parameter arrays: flat keys, indexed groups, nested indexed groups,
// enum fields, type and range mismatches, unknown keys.
#include <string>

#include <gtest/gtest.h>

extern "C" {
#include <libvirt/libvirt.h>

#include "server/runtime/arena.h"
#include "server/typed-params-message.h"
#include "vg-enums.h"
#include "virtgrpc/v1/job_stats.pb-c.h"
#include "virtgrpc/v1/stats.pb-c.h"
}

namespace
{

class TypedParamsMessageTest : public ::testing::Test
{
  protected:
    static void
    SetUpTestSuite()
    {
        ASSERT_EQ(virInitialize(), 0);
    }
    void
    SetUp() override
    {
        vg_arena_init(&arena_, nullptr, 0);
        virtgrpc__v1__domain_stats__init(&stats_);
        virtgrpc__v1__job_stats__init(&job_);
    }
    void
    TearDown() override
    {
        vg_arena_release(&arena_);
        virTypedParamsFree(params_, n_params_);
    }

    void
    AddULLong(const char *key, unsigned long long v)
    {
        ASSERT_EQ(virTypedParamsAddULLong(&params_, &n_params_, &max_, key, v), 0) << key;
    }
    void
    AddUInt(const char *key, unsigned int v)
    {
        ASSERT_EQ(virTypedParamsAddUInt(&params_, &n_params_, &max_, key, v), 0) << key;
    }
    void
    AddInt(const char *key, int v)
    {
        ASSERT_EQ(virTypedParamsAddInt(&params_, &n_params_, &max_, key, v), 0) << key;
    }
    void
    AddLLong(const char *key, long long v)
    {
        ASSERT_EQ(virTypedParamsAddLLong(&params_, &n_params_, &max_, key, v), 0) << key;
    }
    void
    AddString(const char *key, const char *v)
    {
        ASSERT_EQ(virTypedParamsAddString(&params_, &n_params_, &max_, key, v), 0) << key;
    }
    void
    AddBoolean(const char *key, bool v)
    {
        ASSERT_EQ(virTypedParamsAddBoolean(&params_, &n_params_, &max_, key, v), 0) << key;
    }
    void
    AddDouble(const char *key, double v)
    {
        ASSERT_EQ(virTypedParamsAddDouble(&params_, &n_params_, &max_, key, v), 0) << key;
    }

    int
    Fill(ProtobufCMessage *out)
    {
        const vg_enum_maps_ref enums = {vg_enum_maps, vg_enum_maps_count};
        return vg_typed_params_to_message(&arena_, params_, n_params_, &enums, out);
    }
    int
    FillStats()
    {
        return Fill(&stats_.base);
    }

    // The unknown entry called `name`, or nullptr.
    static const Virtgrpc__V1__TypedParameter *
    Unknown(Virtgrpc__V1__TypedParameter **list, size_t n, const std::string &name)
    {
        for (size_t i = 0; i < n; i++) {
            if (name == list[i]->name)
                return list[i];
        }
        return nullptr;
    }

    vg_arena arena_;
    virTypedParameterPtr params_ = nullptr;
    int n_params_ = 0;
    int max_ = 0;
    Virtgrpc__V1__DomainStats stats_;
    Virtgrpc__V1__JobStats job_;
};

TEST_F(TypedParamsMessageTest, FlatGroupKeysLandInTheirSubmessage)
{
    AddInt("state.state", VIR_DOMAIN_PAUSED);
    AddInt("state.reason", VIR_DOMAIN_PAUSED_USER);
    AddULLong("cpu.time", 123456789ULL);
    AddULLong("cpu.haltpoll.success.time", 42);
    AddULLong("balloon.current", 1048576);
    AddULLong("balloon.last-update", 1700000000);

    ASSERT_EQ(FillStats(), 0);

    ASSERT_NE(stats_.state, nullptr);
    EXPECT_TRUE(stats_.state->has_state);
    EXPECT_EQ(stats_.state->state, VIRTGRPC__V1__DOMAIN_STATE__DOMAIN_STATE_PAUSED);
    EXPECT_TRUE(stats_.state->has_reason);
    EXPECT_EQ(stats_.state->reason, VIR_DOMAIN_PAUSED_USER);
    ASSERT_NE(stats_.cpu, nullptr);
    EXPECT_TRUE(stats_.cpu->has_time);
    EXPECT_EQ(stats_.cpu->time, 123456789ULL);
    EXPECT_FALSE(stats_.cpu->has_user) << "not reported, so not present";
    EXPECT_TRUE(stats_.cpu->has_haltpoll_success_time);
    EXPECT_EQ(stats_.cpu->haltpoll_success_time, 42u);
    ASSERT_NE(stats_.balloon, nullptr);
    EXPECT_EQ(stats_.balloon->current, 1048576u);
    EXPECT_TRUE(stats_.balloon->has_last_update) << "'-' in a key is '_' in the field";
    EXPECT_EQ(stats_.balloon->last_update, 1700000000u);
    EXPECT_EQ(stats_.vcpu, nullptr) << "a group libvirt did not report stays unset";
    EXPECT_EQ(stats_.n_unknown, 0u);
}

TEST_F(TypedParamsMessageTest, IndexedKeysBuildOneElementPerIndex)
{
    AddUInt("vcpu.current", 2);
    AddUInt("vcpu.maximum", 4);
    AddInt("vcpu.3.state", VIR_VCPU_RUNNING);
    AddULLong("vcpu.3.time", 5000);
    AddBoolean("vcpu.3.halted", true);
    AddInt("vcpu.0.state", VIR_VCPU_OFFLINE);
    AddUInt("net.count", 2);
    AddString("net.0.name", "vnet0");
    AddString("net.1.name", "vnet1");
    AddULLong("net.1.rx.bytes", 999);
    AddULLong("net.0.tx.pkts", 7);

    ASSERT_EQ(FillStats(), 0);

    ASSERT_NE(stats_.vcpu, nullptr);
    EXPECT_EQ(stats_.vcpu->current, 2u);
    EXPECT_EQ(stats_.vcpu->maximum, 4u);
    ASSERT_EQ(stats_.vcpu->n_vcpus, 2u) << "elements in the order libvirt first names them";
    EXPECT_EQ(stats_.vcpu->vcpus[0]->index, 3u);
    EXPECT_EQ(stats_.vcpu->vcpus[0]->state, VIRTGRPC__V1__VCPU_STATE__VCPU_STATE_RUNNING);
    EXPECT_EQ(stats_.vcpu->vcpus[0]->time, 5000u);
    EXPECT_TRUE(stats_.vcpu->vcpus[0]->has_halted);
    EXPECT_TRUE(stats_.vcpu->vcpus[0]->halted);
    EXPECT_EQ(stats_.vcpu->vcpus[1]->index, 0u);
    EXPECT_EQ(stats_.vcpu->vcpus[1]->state, VIRTGRPC__V1__VCPU_STATE__VCPU_STATE_OFFLINE);
    EXPECT_FALSE(stats_.vcpu->vcpus[1]->has_time);

    EXPECT_TRUE(stats_.has_net_count)
        << "'net.count' is the field net_count, not an element";
    EXPECT_EQ(stats_.net_count, 2u);
    ASSERT_EQ(stats_.n_net, 2u);
    EXPECT_EQ(stats_.net[0]->index, 0u);
    EXPECT_STREQ(stats_.net[0]->name, "vnet0");
    EXPECT_EQ(stats_.net[0]->tx_pkts, 7u);
    EXPECT_FALSE(stats_.net[0]->has_rx_bytes);
    EXPECT_EQ(stats_.net[1]->index, 1u);
    EXPECT_STREQ(stats_.net[1]->name, "vnet1");
    EXPECT_TRUE(stats_.net[1]->has_rx_bytes) << "'rx.bytes' is the field rx_bytes";
    EXPECT_EQ(stats_.net[1]->rx_bytes, 999u);
}

TEST_F(TypedParamsMessageTest, CamelCaseKeysAndBackingChains)
{
    AddUInt("block.count", 2);
    AddString("block.0.name", "vda");
    AddUInt("block.0.backingIndex", 0);
    AddString("block.0.path", "/images/top.qcow2");
    AddULLong("block.0.capacity", 1ULL << 30);
    AddString("block.1.name", "vda");
    AddUInt("block.1.backingIndex", 1);
    AddULLong("block.1.rd.reqs", 12);

    ASSERT_EQ(FillStats(), 0);

    ASSERT_EQ(stats_.n_block, 2u);
    EXPECT_TRUE(stats_.block[0]->has_backing_index) << "backingIndex is backing_index";
    EXPECT_EQ(stats_.block[0]->backing_index, 0u);
    EXPECT_STREQ(stats_.block[0]->path, "/images/top.qcow2");
    EXPECT_EQ(stats_.block[0]->capacity, 1ULL << 30);
    EXPECT_EQ(stats_.block[1]->backing_index, 1u);
    EXPECT_EQ(stats_.block[1]->rd_reqs, 12u);
}

TEST_F(TypedParamsMessageTest, ManyElementsGrowTheArray)
{
    for (int i = 0; i < 37; i++) {
        std::string key = "block." + std::to_string(i) + ".wr.bytes";
        AddULLong(key.c_str(), 100 + i);
    }
    ASSERT_EQ(FillStats(), 0);
    ASSERT_EQ(stats_.n_block, 37u);
    for (size_t i = 0; i < 37; i++) {
        EXPECT_EQ(stats_.block[i]->index, i);
        EXPECT_EQ(stats_.block[i]->wr_bytes, 100 + i);
    }
}

TEST_F(TypedParamsMessageTest, NestedIndexedGroups)
{
    AddUInt("cpu.cache.monitor.count", 1);
    AddString("cpu.cache.monitor.0.name", "mon0");
    AddUInt("cpu.cache.monitor.0.bank.count", 2);
    AddUInt("cpu.cache.monitor.0.bank.1.id", 7);
    AddULLong("cpu.cache.monitor.0.bank.1.bytes", 4096);
    AddULLong("memory.bandwidth.monitor.0.node.2.bytes.local", 55);
    AddULLong("dirtyrate.vcpu.1.megabytes_per_second", 9);
    AddInt("dirtyrate.calc_status", VIR_DOMAIN_DIRTYRATE_MEASURED);
    AddULLong("iothread.4.poll-max-ns", 32768);
    AddUInt("iothread.4.poll-grow", 2);

    ASSERT_EQ(FillStats(), 0);

    ASSERT_NE(stats_.cpu, nullptr);
    EXPECT_EQ(stats_.cpu->cache_monitor_count, 1u);
    ASSERT_EQ(stats_.cpu->n_cache_monitor, 1u);
    auto *monitor = stats_.cpu->cache_monitor[0];
    EXPECT_STREQ(monitor->name, "mon0");
    EXPECT_EQ(monitor->bank_count, 2u);
    ASSERT_EQ(monitor->n_bank, 1u);
    EXPECT_EQ(monitor->bank[0]->index, 1u);
    EXPECT_EQ(monitor->bank[0]->id, 7u);
    EXPECT_EQ(monitor->bank[0]->bytes, 4096u);
    ASSERT_NE(stats_.memory, nullptr);
    ASSERT_EQ(stats_.memory->n_bandwidth_monitor, 1u);
    ASSERT_EQ(stats_.memory->bandwidth_monitor[0]->n_node, 1u);
    EXPECT_EQ(stats_.memory->bandwidth_monitor[0]->node[0]->index, 2u);
    EXPECT_EQ(stats_.memory->bandwidth_monitor[0]->node[0]->bytes_local, 55u);
    ASSERT_NE(stats_.dirtyrate, nullptr);
    EXPECT_EQ(stats_.dirtyrate->calc_status,
              VIRTGRPC__V1__DIRTY_RATE_STATUS__DIRTY_RATE_STATUS_MEASURED);
    ASSERT_EQ(stats_.dirtyrate->n_vcpu, 1u);
    EXPECT_EQ(stats_.dirtyrate->vcpu[0]->megabytes_per_second, 9u);
    ASSERT_EQ(stats_.n_iothread, 1u);
    EXPECT_EQ(stats_.iothread[0]->index, 4u);
    EXPECT_EQ(stats_.iothread[0]->poll_max_ns, 32768u);
    EXPECT_TRUE(stats_.iothread[0]->has_poll_grow) << "a uint into a uint64 field";
    EXPECT_EQ(stats_.iothread[0]->poll_grow, 2u);
}

TEST_F(TypedParamsMessageTest, UnknownKeysAreKeptWithFullNameAndType)
{
    AddULLong("cpu.time", 1);
    AddULLong("vm.max_mmu_page_hash_collisions", 3); // a group without a message
    AddULLong("cpu.brand_new_counter", 4);           // a group without this field
    AddULLong("net.0.rx.brand_new", 5);              // an indexed group without it
    AddULLong("vcpu.2.exits", 6);                    // QEMU's extra vCPU stats
    AddString("balloon.current", "not a number");    // known key, unexpected type
    AddLLong("block.0.capacity", -1);                // a negative value, unsigned field
    AddDouble("state.state", 1.5);                   // a double where an enum is
    AddInt("state.reason", 2);
    AddInt("state.reason", 3);  // a repeated key: the first wins
    AddInt("vcpu.0.state", 99); // an enum value this build lacks

    int n_unknown = FillStats();

    ASSERT_EQ(n_unknown, 9);
    ASSERT_EQ(stats_.n_unknown, 9u);
    const Virtgrpc__V1__TypedParameter *p;
    ASSERT_NE(
        p = Unknown(stats_.unknown, stats_.n_unknown, "vm.max_mmu_page_hash_collisions"),
        nullptr);
    EXPECT_EQ(p->value_case, VIRTGRPC__V1__TYPED_PARAMETER__VALUE_UINT64_VALUE);
    EXPECT_EQ(p->uint64_value, 3u);
    EXPECT_NE(Unknown(stats_.unknown, stats_.n_unknown, "cpu.brand_new_counter"), nullptr);
    EXPECT_NE(Unknown(stats_.unknown, stats_.n_unknown, "net.0.rx.brand_new"), nullptr);
    EXPECT_NE(Unknown(stats_.unknown, stats_.n_unknown, "vcpu.2.exits"), nullptr);
    ASSERT_NE(p = Unknown(stats_.unknown, stats_.n_unknown, "balloon.current"), nullptr);
    EXPECT_STREQ(p->string_value, "not a number");
    ASSERT_NE(p = Unknown(stats_.unknown, stats_.n_unknown, "block.0.capacity"), nullptr);
    EXPECT_EQ(p->int64_value, -1);
    EXPECT_NE(Unknown(stats_.unknown, stats_.n_unknown, "state.state"), nullptr);
    ASSERT_NE(p = Unknown(stats_.unknown, stats_.n_unknown, "state.reason"), nullptr);
    EXPECT_EQ(p->int32_value, 3);
    ASSERT_NE(p = Unknown(stats_.unknown, stats_.n_unknown, "vcpu.0.state"), nullptr);
    EXPECT_EQ(p->int32_value, 99);

    EXPECT_EQ(stats_.cpu->time, 1u) << "known keys beside unknown ones still land";
    EXPECT_EQ(stats_.state->reason, 2);
    EXPECT_FALSE(stats_.balloon->has_current);
    EXPECT_FALSE(stats_.block[0]->has_capacity);
}

TEST_F(TypedParamsMessageTest, MalformedKeysAreKeptNotMisplaced)
{
    AddULLong("net..rx.bytes", 1);            // empty part
    AddULLong("net.x.rx.bytes", 2);           // no index after a repeated group
    AddULLong("net.1", 3);                    // an index with nothing after it
    AddULLong("cpu", 4);                      // a group name alone
    AddULLong("net.0.index", 5);              // `index` is never set from a key
    AddULLong("unknown", 6);                  // nor the unknown list
    AddULLong("net.99999999999.rx.bytes", 7); // index beyond 32 bits

    EXPECT_EQ(FillStats(), 7);
    EXPECT_EQ(stats_.n_unknown, 7u);
    EXPECT_FALSE(stats_.has_net_count);
    for (size_t i = 0; i < stats_.n_net; i++)
        EXPECT_FALSE(stats_.net[i]->has_rx_bytes);
}

TEST_F(TypedParamsMessageTest, JobStatsKeysAndOperationEnum)
{
    AddInt(VIR_DOMAIN_JOB_OPERATION, VIR_DOMAIN_JOB_OPERATION_SAVE);
    AddULLong(VIR_DOMAIN_JOB_TIME_ELAPSED, 1500);
    AddULLong(VIR_DOMAIN_JOB_MEMORY_TOTAL, 1ULL << 32);
    AddULLong(VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS, 3);
    AddInt(VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE, 20);
    AddBoolean(VIR_DOMAIN_JOB_SUCCESS, true);
    AddString(VIR_DOMAIN_JOB_ERRMSG, "oops");
    AddULLong(VIR_DOMAIN_JOB_DISK_TEMP_TOTAL, 77);
    AddULLong("vfio_data_transferred", 88);
    AddULLong("some_future_counter", 9);

    ASSERT_EQ(Fill(&job_.base), 1);

    EXPECT_TRUE(job_.has_operation);
    EXPECT_EQ(job_.operation, VIRTGRPC__V1__JOB_OPERATION__JOB_OPERATION_SAVE);
    EXPECT_EQ(job_.time_elapsed, 1500u);
    EXPECT_EQ(job_.memory_total, 1ULL << 32);
    EXPECT_TRUE(job_.has_memory_postcopy_requests);
    EXPECT_EQ(job_.memory_postcopy_requests, 3u);
    EXPECT_EQ(job_.auto_converge_throttle, 20);
    EXPECT_TRUE(job_.has_success);
    EXPECT_TRUE(job_.success);
    EXPECT_STREQ(job_.errmsg, "oops");
    EXPECT_EQ(job_.disk_temp_total, 77u);
    EXPECT_EQ(job_.vfio_data_transferred, 88u);
    EXPECT_FALSE(job_.has_type) << "the type is not a parameter";
    EXPECT_FALSE(job_.has_downtime);
    ASSERT_EQ(job_.n_unknown, 1u);
    EXPECT_STREQ(job_.unknown[0]->name, "some_future_counter");
    EXPECT_EQ(job_.unknown[0]->uint64_value, 9u);
}

TEST_F(TypedParamsMessageTest, IntegerWidthsConvertWhenTheValueFits)
{
    AddUInt(VIR_DOMAIN_JOB_TIME_ELAPSED, 5); // uint into uint64
    AddLLong(VIR_DOMAIN_JOB_DOWNTIME, 6);    // non-negative llong into uint64
    AddULLong(VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE, 1ULL << 40); // too big for int32

    ASSERT_EQ(Fill(&job_.base), 1);
    EXPECT_EQ(job_.time_elapsed, 5u);
    EXPECT_EQ(job_.downtime, 6u);
    EXPECT_FALSE(job_.has_auto_converge_throttle);
    EXPECT_STREQ(job_.unknown[0]->name, VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE);
}

TEST_F(TypedParamsMessageTest, MessageWithoutUnknownFieldIsRefused)
{
    Virtgrpc__V1__StateStats state = VIRTGRPC__V1__STATE_STATS__INIT;
    AddInt("state", 1);
    EXPECT_EQ(Fill(&state.base), -1);
    EXPECT_FALSE(state.has_state) << "nothing filled";
}

TEST_F(TypedParamsMessageTest, EmptyInputFillsNothing)
{
    EXPECT_EQ(FillStats(), 0);
    EXPECT_EQ(stats_.state, nullptr);
    EXPECT_EQ(stats_.n_unknown, 0u);
}

} // namespace
