// The libvirt side of events (server/services/event-sources.c) without libvirt events:
// each callback of the vg_event_sources table is called with the arguments libvirt
// would pass, and the DomainEvent it hands to the hub is packed and parsed back with the
// C++ messages, so what is checked is what a watcher would receive. The test driver
// only emits LIFECYCLE and METADATA_CHANGE; this covers every other ID's conversion:
// enums, units, NULL strings (libvirt passes NULL where it has nothing), typed
// parameters and graphics identities.
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "virtgrpc/v1/events.pb.h"

extern "C" {
// For VIR_DOMAIN_EVENT_ID_LAST: the number of event IDs this libvirt knows.
#define VIR_ENUM_SENTINELS
#include <libvirt/libvirt.h>

#include "server/services/event-hub.h"
#include "server/services/event-sources.h"
}

namespace
{

using virtgrpc::v1::DomainEvent;

// What the fake hub received: the event ID and the packed event, parsed.
struct Published {
    virDomainPtr domain;
    int event_id;
    DomainEvent event;
};
std::vector<Published> published;

// A real, distinguishable pointer for the callbacks' `opaque`: the hub.
char fake_hub_storage;
vg_event_hub *const kFakeHub = reinterpret_cast<vg_event_hub *>(&fake_hub_storage);
virDomainPtr const kDomain = reinterpret_cast<virDomainPtr>(0x1234);

} // namespace

// The hub's entry point, replaced: packs the event like the hub does and keeps it.
extern "C" void
vg_event_hub_publish(vg_event_hub *hub, virDomainPtr domain, int event_id,
                     Virtgrpc__V1__DomainEvent *event)
{
    EXPECT_EQ(hub, kFakeHub);
    std::string bytes(protobuf_c_message_get_packed_size(&event->base), '\0');
    protobuf_c_message_pack(&event->base, reinterpret_cast<uint8_t *>(bytes.data()));
    Published p{domain, event_id, {}};
    EXPECT_TRUE(p.event.ParseFromString(bytes));
    published.push_back(std::move(p));
}

namespace
{

class EventSourcesTest : public ::testing::Test
{
  protected:
    // libvirt's typed-parameter helpers need its error handling set up.
    static void
    SetUpTestSuite()
    {
        ASSERT_EQ(virInitialize(), 0);
    }
    void
    SetUp() override
    {
        published.clear();
    }

    // The table's callback for `id`, cast to libvirt's signature for it.
    template <typename Callback>
    Callback
    Source(int id)
    {
        for (size_t i = 0; i < vg_event_sources_count; i++)
            if (vg_event_sources[i].id == id)
                return reinterpret_cast<Callback>(
                    reinterpret_cast<void (*)()>(vg_event_sources[i].callback));
        ADD_FAILURE() << "no source for event ID " << id;
        return nullptr;
    }

    // The one event published since SetUp, which must be for `id` and kDomain.
    DomainEvent
    Only(int id)
    {
        EXPECT_EQ(published.size(), 1u);
        if (published.empty())
            return {};
        EXPECT_EQ(published[0].event_id, id);
        EXPECT_EQ(published[0].domain, kDomain);
        DomainEvent event = published[0].event;
        EXPECT_EQ(static_cast<int>(event.event_case()), 100 + id)
            << "payload field number must be 100 + the event ID";
        published.clear();
        return event;
    }
};

TEST_F(EventSourcesTest, TheTableHasEveryEventIdOnceInOrder)
{
    ASSERT_EQ(vg_event_sources_count, static_cast<size_t>(VIR_DOMAIN_EVENT_ID_LAST));
    for (size_t i = 0; i < vg_event_sources_count; i++) {
        EXPECT_EQ(vg_event_sources[i].id, static_cast<int>(i));
        EXPECT_NE(vg_event_sources[i].callback, nullptr) << "ID " << i;
    }
}

TEST_F(EventSourcesTest, EveryPayloadFieldIsNumberedAfterItsEventIdAndKind)
{
    // The EventKind enum value of an ID is ID + 1; its payload field 100 + ID.
    const auto *oneof = DomainEvent::descriptor()->FindOneofByName("event");
    ASSERT_NE(oneof, nullptr);
    int payloads = 0;
    for (int i = 0; i < oneof->field_count(); i++)
        if (oneof->field(i)->number() >= 100)
            payloads++;
    EXPECT_EQ(payloads, VIR_DOMAIN_EVENT_ID_LAST);
    for (int id = 0; id < VIR_DOMAIN_EVENT_ID_LAST; id++) {
        const auto *field = DomainEvent::descriptor()->FindFieldByNumber(100 + id);
        ASSERT_NE(field, nullptr) << "no payload field for ID " << id;
        const auto *kind = virtgrpc::v1::EventKind_descriptor()->FindValueByNumber(id + 1);
        ASSERT_NE(kind, nullptr);
        std::string upper = field->name();
        for (char &c : upper)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        EXPECT_EQ(kind->name(), "EVENT_KIND_" + upper) << "ID " << id;
    }
}

TEST_F(EventSourcesTest, RebootAndControlErrorCarryOnlyTheDomain)
{
    Source<virConnectDomainEventGenericCallback>(VIR_DOMAIN_EVENT_ID_REBOOT)(
        nullptr, kDomain, kFakeHub);
    EXPECT_TRUE(Only(VIR_DOMAIN_EVENT_ID_REBOOT).has_reboot());
    Source<virConnectDomainEventGenericCallback>(VIR_DOMAIN_EVENT_ID_CONTROL_ERROR)(
        nullptr, kDomain, kFakeHub);
    EXPECT_TRUE(Only(VIR_DOMAIN_EVENT_ID_CONTROL_ERROR).has_control_error());
}

TEST_F(EventSourcesTest, RtcChangeKeepsANegativeOffsetInSeconds)
{
    Source<virConnectDomainEventRTCChangeCallback>(VIR_DOMAIN_EVENT_ID_RTC_CHANGE)(
        nullptr, kDomain, -7200, kFakeHub);
    EXPECT_EQ(Only(VIR_DOMAIN_EVENT_ID_RTC_CHANGE).rtc_change().utc_offset_seconds(),
              -7200);
}

TEST_F(EventSourcesTest, WatchdogActionsMapOneToOne)
{
    const std::map<int, virtgrpc::v1::WatchdogAction> expected = {
        {VIR_DOMAIN_EVENT_WATCHDOG_NONE, virtgrpc::v1::WATCHDOG_ACTION_NONE},
        {VIR_DOMAIN_EVENT_WATCHDOG_PAUSE, virtgrpc::v1::WATCHDOG_ACTION_PAUSE},
        {VIR_DOMAIN_EVENT_WATCHDOG_RESET, virtgrpc::v1::WATCHDOG_ACTION_RESET},
        {VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF, virtgrpc::v1::WATCHDOG_ACTION_POWEROFF},
        {VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN, virtgrpc::v1::WATCHDOG_ACTION_SHUTDOWN},
        {VIR_DOMAIN_EVENT_WATCHDOG_DEBUG, virtgrpc::v1::WATCHDOG_ACTION_DEBUG},
        {VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI, virtgrpc::v1::WATCHDOG_ACTION_INJECT_NMI},
        // A value newer than this build: UNSPECIFIED, the event still arrives.
        {99, virtgrpc::v1::WATCHDOG_ACTION_UNSPECIFIED},
    };
    auto source =
        Source<virConnectDomainEventWatchdogCallback>(VIR_DOMAIN_EVENT_ID_WATCHDOG);
    for (const auto &[action, proto] : expected) {
        source(nullptr, kDomain, action, kFakeHub);
        EXPECT_EQ(Only(VIR_DOMAIN_EVENT_ID_WATCHDOG).watchdog().action(), proto) << action;
    }
}

TEST_F(EventSourcesTest, IoErrorsCarryPathAliasActionAndReason)
{
    Source<virConnectDomainEventIOErrorCallback>(VIR_DOMAIN_EVENT_ID_IO_ERROR)(
        nullptr, kDomain, "/var/lib/disk.qcow2", "virtio-disk0",
        VIR_DOMAIN_EVENT_IO_ERROR_PAUSE, kFakeHub);
    auto error = Only(VIR_DOMAIN_EVENT_ID_IO_ERROR).io_error();
    EXPECT_EQ(error.source_path(), "/var/lib/disk.qcow2");
    EXPECT_EQ(error.device_alias(), "virtio-disk0");
    EXPECT_EQ(error.action(), virtgrpc::v1::IO_ERROR_ACTION_PAUSE);
    EXPECT_EQ(error.reason(), "");

    Source<virConnectDomainEventIOErrorReasonCallback>(VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON)(
        nullptr, kDomain, nullptr, "virtio-disk1", VIR_DOMAIN_EVENT_IO_ERROR_REPORT,
        "enospc", kFakeHub);
    error = Only(VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON).io_error_reason();
    EXPECT_EQ(error.source_path(), "") << "NULL path (network disk) becomes \"\"";
    EXPECT_EQ(error.device_alias(), "virtio-disk1");
    EXPECT_EQ(error.action(), virtgrpc::v1::IO_ERROR_ACTION_REPORT);
    EXPECT_EQ(error.reason(), "enospc");
}

TEST_F(EventSourcesTest, GraphicsCarriesBothAddressesTheSchemeAndEveryIdentity)
{
    virDomainEventGraphicsAddress local = {VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4,
                                           const_cast<char *>("127.0.0.1"),
                                           const_cast<char *>("5900")};
    virDomainEventGraphicsAddress remote = {VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV6,
                                            const_cast<char *>("::1"), nullptr};
    // More identities than fit in the callback's stack arena's first chunk.
    std::vector<std::string> names;
    std::vector<virDomainEventGraphicsSubjectIdentity> identities;
    for (int i = 0; i < 200; i++)
        names.push_back("user-" + std::to_string(i));
    for (int i = 0; i < 200; i++)
        identities.push_back({const_cast<char *>(i == 7 ? nullptr : "saslUsername"),
                              const_cast<char *>(names[i].c_str())});
    virDomainEventGraphicsSubject subject = {static_cast<int>(identities.size()),
                                             identities.data()};
    auto source =
        Source<virConnectDomainEventGraphicsCallback>(VIR_DOMAIN_EVENT_ID_GRAPHICS);

    source(nullptr, kDomain, VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE, &local, &remote, "sasl",
           &subject, kFakeHub);
    auto graphics = Only(VIR_DOMAIN_EVENT_ID_GRAPHICS).graphics();
    EXPECT_EQ(graphics.phase(), virtgrpc::v1::GRAPHICS_PHASE_INITIALIZE);
    EXPECT_EQ(graphics.local().family(), virtgrpc::v1::GRAPHICS_ADDRESS_FAMILY_IPV4);
    EXPECT_EQ(graphics.local().node(), "127.0.0.1");
    EXPECT_EQ(graphics.local().service(), "5900");
    EXPECT_EQ(graphics.remote().family(), virtgrpc::v1::GRAPHICS_ADDRESS_FAMILY_IPV6);
    EXPECT_EQ(graphics.remote().node(), "::1");
    EXPECT_EQ(graphics.remote().service(), "");
    EXPECT_EQ(graphics.auth_scheme(), "sasl");
    ASSERT_EQ(graphics.subject_size(), 200);
    EXPECT_EQ(graphics.subject(0).type(), "saslUsername");
    EXPECT_EQ(graphics.subject(0).name(), "user-0");
    EXPECT_EQ(graphics.subject(7).type(), "");
    EXPECT_EQ(graphics.subject(199).name(), "user-199");

    // A UNIX socket client, no subject, no scheme, no local address.
    virDomainEventGraphicsAddress unix_remote = {VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_UNIX,
                                                 const_cast<char *>("/run/vnc.sock"),
                                                 nullptr};
    source(nullptr, kDomain, VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT, nullptr, &unix_remote,
           nullptr, nullptr, kFakeHub);
    graphics = Only(VIR_DOMAIN_EVENT_ID_GRAPHICS).graphics();
    EXPECT_EQ(graphics.phase(), virtgrpc::v1::GRAPHICS_PHASE_DISCONNECT);
    EXPECT_EQ(graphics.local().family(), virtgrpc::v1::GRAPHICS_ADDRESS_FAMILY_UNSPECIFIED);
    EXPECT_EQ(graphics.remote().family(), virtgrpc::v1::GRAPHICS_ADDRESS_FAMILY_UNIX);
    EXPECT_EQ(graphics.remote().node(), "/run/vnc.sock");
    EXPECT_EQ(graphics.auth_scheme(), "");
    EXPECT_EQ(graphics.subject_size(), 0);
}

TEST_F(EventSourcesTest, BothBlockJobEventsCarryDiskTypeAndStatus)
{
    Source<virConnectDomainEventBlockJobCallback>(VIR_DOMAIN_EVENT_ID_BLOCK_JOB)(
        nullptr, kDomain, "/images/top.qcow2", VIR_DOMAIN_BLOCK_JOB_TYPE_PULL,
        VIR_DOMAIN_BLOCK_JOB_COMPLETED, kFakeHub);
    auto job = Only(VIR_DOMAIN_EVENT_ID_BLOCK_JOB).block_job();
    EXPECT_EQ(job.disk(), "/images/top.qcow2");
    EXPECT_EQ(job.type(), virtgrpc::v1::BLOCK_JOB_TYPE_PULL);
    EXPECT_EQ(job.status(), virtgrpc::v1::BLOCK_JOB_STATUS_COMPLETED);

    Source<virConnectDomainEventBlockJobCallback>(VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2)(
        nullptr, kDomain, "vda", VIR_DOMAIN_BLOCK_JOB_TYPE_ACTIVE_COMMIT,
        VIR_DOMAIN_BLOCK_JOB_READY, kFakeHub);
    job = Only(VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2).block_job_2();
    EXPECT_EQ(job.disk(), "vda");
    EXPECT_EQ(job.type(), virtgrpc::v1::BLOCK_JOB_TYPE_ACTIVE_COMMIT);
    EXPECT_EQ(job.status(), virtgrpc::v1::BLOCK_JOB_STATUS_READY);

    Source<virConnectDomainEventBlockJobCallback>(VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2)(
        nullptr, kDomain, "vdb", VIR_DOMAIN_BLOCK_JOB_TYPE_BACKUP,
        VIR_DOMAIN_BLOCK_JOB_CANCELED, kFakeHub);
    job = Only(VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2).block_job_2();
    EXPECT_EQ(job.type(), virtgrpc::v1::BLOCK_JOB_TYPE_BACKUP);
    EXPECT_EQ(job.status(), virtgrpc::v1::BLOCK_JOB_STATUS_CANCELED);
}

TEST_F(EventSourcesTest, DiskChangeWithoutANewSourceHasAnEmptyOne)
{
    Source<virConnectDomainEventDiskChangeCallback>(VIR_DOMAIN_EVENT_ID_DISK_CHANGE)(
        nullptr, kDomain, "/missing.iso", nullptr, "sata0-0-1",
        VIR_DOMAIN_EVENT_DISK_CHANGE_MISSING_ON_START, kFakeHub);
    auto change = Only(VIR_DOMAIN_EVENT_ID_DISK_CHANGE).disk_change();
    EXPECT_EQ(change.old_source_path(), "/missing.iso");
    EXPECT_EQ(change.new_source_path(), "");
    EXPECT_EQ(change.device_alias(), "sata0-0-1");
    EXPECT_EQ(change.reason(), virtgrpc::v1::DISK_CHANGE_REASON_MISSING_ON_START);
}

TEST_F(EventSourcesTest, TrayChangeOpenAndClose)
{
    auto source =
        Source<virConnectDomainEventTrayChangeCallback>(VIR_DOMAIN_EVENT_ID_TRAY_CHANGE);
    source(nullptr, kDomain, "sata0-0-0", VIR_DOMAIN_EVENT_TRAY_CHANGE_OPEN, kFakeHub);
    auto tray = Only(VIR_DOMAIN_EVENT_ID_TRAY_CHANGE).tray_change();
    EXPECT_EQ(tray.device_alias(), "sata0-0-0");
    EXPECT_EQ(tray.reason(), virtgrpc::v1::TRAY_CHANGE_REASON_OPEN);
    source(nullptr, kDomain, nullptr, VIR_DOMAIN_EVENT_TRAY_CHANGE_CLOSE, kFakeHub);
    tray = Only(VIR_DOMAIN_EVENT_ID_TRAY_CHANGE).tray_change();
    EXPECT_EQ(tray.device_alias(), "");
    EXPECT_EQ(tray.reason(), virtgrpc::v1::TRAY_CHANGE_REASON_CLOSE);
}

TEST_F(EventSourcesTest, PowerManagementEventsPassTheReasonThrough)
{
    Source<virConnectDomainEventPMWakeupCallback>(VIR_DOMAIN_EVENT_ID_PMWAKEUP)(
        nullptr, kDomain, 0, kFakeHub);
    EXPECT_EQ(Only(VIR_DOMAIN_EVENT_ID_PMWAKEUP).pm_wakeup().reason(), 0);
    Source<virConnectDomainEventPMSuspendCallback>(VIR_DOMAIN_EVENT_ID_PMSUSPEND)(
        nullptr, kDomain, 3, kFakeHub);
    EXPECT_EQ(Only(VIR_DOMAIN_EVENT_ID_PMSUSPEND).pm_suspend().reason(), 3);
    Source<virConnectDomainEventPMSuspendDiskCallback>(VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK)(
        nullptr, kDomain, 4, kFakeHub);
    EXPECT_EQ(Only(VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK).pm_suspend_disk().reason(), 4);
}

TEST_F(EventSourcesTest, BalloonChangeKeepsKiBAbove4GiB)
{
    const unsigned long long kib = 6ULL << 30; // 6 TiB in KiB: needs 64 bits
    Source<virConnectDomainEventBalloonChangeCallback>(VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE)(
        nullptr, kDomain, kib, kFakeHub);
    EXPECT_EQ(Only(VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE).balloon_change().actual_kib(), kib);
}

TEST_F(EventSourcesTest, DeviceEventsCarryTheAliasInTheirOwnField)
{
    Source<virConnectDomainEventDeviceAddedCallback>(VIR_DOMAIN_EVENT_ID_DEVICE_ADDED)(
        nullptr, kDomain, "ua-disk", kFakeHub);
    EXPECT_EQ(Only(VIR_DOMAIN_EVENT_ID_DEVICE_ADDED).device_added().device_alias(),
              "ua-disk");
    Source<virConnectDomainEventDeviceRemovedCallback>(VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED)(
        nullptr, kDomain, "virtio-disk1", kFakeHub);
    EXPECT_EQ(Only(VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED).device_removed().device_alias(),
              "virtio-disk1");
    Source<virConnectDomainEventDeviceRemovalFailedCallback>(
        VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED)(nullptr, kDomain, nullptr, kFakeHub);
    EXPECT_EQ(Only(VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED)
                  .device_removal_failed()
                  .device_alias(),
              "");
}

TEST_F(EventSourcesTest, TunableAndJobCompletedConvertTheirTypedParameters)
{
    virTypedParameterPtr params = nullptr;
    int n = 0, max = 0;
    ASSERT_EQ(virTypedParamsAddULLong(&params, &n, &max, "cputune.cpu_shares", 2048), 0);
    ASSERT_EQ(virTypedParamsAddString(&params, &n, &max, "cputune.vcpupin0", "0-1"), 0);
    ASSERT_EQ(virTypedParamsAddInt(&params, &n, &max, "operation", 3), 0);
    ASSERT_EQ(virTypedParamsAddBoolean(&params, &n, &max, "success", 1), 0);
    // Enough long strings to spill out of the callback's stack arena.
    std::string long_value(3000, 'x');
    ASSERT_EQ(virTypedParamsAddString(&params, &n, &max, "long", long_value.c_str()), 0);

    Source<virConnectDomainEventTunableCallback>(VIR_DOMAIN_EVENT_ID_TUNABLE)(
        nullptr, kDomain, params, n, kFakeHub);
    auto tunable = Only(VIR_DOMAIN_EVENT_ID_TUNABLE).tunable();
    ASSERT_EQ(tunable.params_size(), 5);
    EXPECT_EQ(tunable.params(0).name(), "cputune.cpu_shares");
    EXPECT_EQ(tunable.params(0).uint64_value(), 2048u);
    EXPECT_EQ(tunable.params(1).string_value(), "0-1");
    EXPECT_EQ(tunable.params(2).int32_value(), 3);
    EXPECT_TRUE(tunable.params(3).bool_value());
    EXPECT_EQ(tunable.params(4).string_value(), long_value);

    virTypedParamsFree(params, n);
    params = nullptr;
    n = max = 0;
    // Job statistics go into JobStats' typed fields; unknown keys are kept.
    ASSERT_EQ(virTypedParamsAddInt(&params, &n, &max, VIR_DOMAIN_JOB_OPERATION,
                                   VIR_DOMAIN_JOB_OPERATION_BACKUP),
              0);
    ASSERT_EQ(virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_JOB_TIME_ELAPSED, 77),
              0);
    ASSERT_EQ(
        virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_JOB_DISK_TOTAL, 64ULL << 20),
        0);
    ASSERT_EQ(virTypedParamsAddBoolean(&params, &n, &max, VIR_DOMAIN_JOB_SUCCESS, 1), 0);
    ASSERT_EQ(virTypedParamsAddString(&params, &n, &max, "future_key", long_value.c_str()),
              0);
    Source<virConnectDomainEventJobCompletedCallback>(VIR_DOMAIN_EVENT_ID_JOB_COMPLETED)(
        nullptr, kDomain, params, n, kFakeHub);
    auto job = Only(VIR_DOMAIN_EVENT_ID_JOB_COMPLETED).job_completed();
    ASSERT_TRUE(job.has_stats());
    EXPECT_EQ(job.stats().operation(), virtgrpc::v1::JOB_OPERATION_BACKUP);
    EXPECT_EQ(job.stats().time_elapsed(), 77u);
    EXPECT_EQ(job.stats().disk_total(), 64ULL << 20);
    EXPECT_TRUE(job.stats().has_success() && job.stats().success());
    EXPECT_FALSE(job.stats().has_type()) << "the event does not carry the job type";
    ASSERT_EQ(job.stats().unknown_size(), 1);
    EXPECT_EQ(job.stats().unknown(0).name(), "future_key");
    EXPECT_EQ(job.stats().unknown(0).string_value(), long_value);

    // None at all.
    Source<virConnectDomainEventTunableCallback>(VIR_DOMAIN_EVENT_ID_TUNABLE)(
        nullptr, kDomain, nullptr, 0, kFakeHub);
    EXPECT_EQ(Only(VIR_DOMAIN_EVENT_ID_TUNABLE).tunable().params_size(), 0);
    virTypedParamsFree(params, n);
}

TEST_F(EventSourcesTest, AgentLifecycleStatesAndReasons)
{
    auto source = Source<virConnectDomainEventAgentLifecycleCallback>(
        VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE);
    source(nullptr, kDomain, VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED,
           VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_DOMAIN_STARTED, kFakeHub);
    auto agent = Only(VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE).agent_lifecycle();
    EXPECT_EQ(agent.state(), virtgrpc::v1::AGENT_LIFECYCLE_STATE_CONNECTED);
    EXPECT_EQ(agent.reason(), virtgrpc::v1::AGENT_LIFECYCLE_REASON_DOMAIN_STARTED);
    source(nullptr, kDomain, VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_DISCONNECTED,
           VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_UNKNOWN, kFakeHub);
    agent = Only(VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE).agent_lifecycle();
    EXPECT_EQ(agent.state(), virtgrpc::v1::AGENT_LIFECYCLE_STATE_DISCONNECTED);
    EXPECT_EQ(agent.reason(), virtgrpc::v1::AGENT_LIFECYCLE_REASON_UNKNOWN)
        << "libvirt's UNKNOWN (0) is a real value, not UNSPECIFIED";
}

TEST_F(EventSourcesTest, MigrationIteration)
{
    Source<virConnectDomainEventMigrationIterationCallback>(
        VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION)(nullptr, kDomain, 5, kFakeHub);
    EXPECT_EQ(
        Only(VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION).migration_iteration().iteration(), 5);
}

TEST_F(EventSourcesTest, BlockThresholdInBytes)
{
    Source<virConnectDomainEventBlockThresholdCallback>(
        VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD)(nullptr, kDomain, "vda[1]", nullptr,
                                             5ULL << 32, 4096, kFakeHub);
    auto crossed = Only(VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD).block_threshold();
    EXPECT_EQ(crossed.device(), "vda[1]");
    EXPECT_EQ(crossed.path(), "");
    EXPECT_EQ(crossed.threshold_bytes(), 5ULL << 32);
    EXPECT_EQ(crossed.excess_bytes(), 4096u);
}

TEST_F(EventSourcesTest, MemoryFailureFlagsBecomeAListAndUnknownBitsAreDropped)
{
    auto source = Source<virConnectDomainEventMemoryFailureCallback>(
        VIR_DOMAIN_EVENT_ID_MEMORY_FAILURE);
    source(nullptr, kDomain, VIR_DOMAIN_EVENT_MEMORY_FAILURE_RECIPIENT_GUEST,
           VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_INJECT,
           VIR_DOMAIN_MEMORY_FAILURE_ACTION_REQUIRED | VIR_DOMAIN_MEMORY_FAILURE_RECURSIVE |
               (1u << 31),
           kFakeHub);
    auto failure = Only(VIR_DOMAIN_EVENT_ID_MEMORY_FAILURE).memory_failure();
    EXPECT_EQ(failure.recipient(), virtgrpc::v1::MEMORY_FAILURE_RECIPIENT_GUEST);
    EXPECT_EQ(failure.action(), virtgrpc::v1::MEMORY_FAILURE_ACTION_INJECT);
    ASSERT_EQ(failure.flags_size(), 2);
    EXPECT_EQ(failure.flags(0), virtgrpc::v1::MEMORY_FAILURE_FLAG_ACTION_REQUIRED);
    EXPECT_EQ(failure.flags(1), virtgrpc::v1::MEMORY_FAILURE_FLAG_RECURSIVE);

    source(nullptr, kDomain, VIR_DOMAIN_EVENT_MEMORY_FAILURE_RECIPIENT_HYPERVISOR,
           VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_IGNORE, 0, kFakeHub);
    failure = Only(VIR_DOMAIN_EVENT_ID_MEMORY_FAILURE).memory_failure();
    EXPECT_EQ(failure.recipient(), virtgrpc::v1::MEMORY_FAILURE_RECIPIENT_HYPERVISOR);
    EXPECT_EQ(failure.action(), virtgrpc::v1::MEMORY_FAILURE_ACTION_IGNORE);
    EXPECT_EQ(failure.flags_size(), 0);
}

TEST_F(EventSourcesTest, MemoryDeviceSizeChangeInKiB)
{
    Source<virConnectDomainEventMemoryDeviceSizeChangeCallback>(
        VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE)(nullptr, kDomain, "virtiomem0",
                                                       1048576, kFakeHub);
    auto change =
        Only(VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE).memory_device_size_change();
    EXPECT_EQ(change.device_alias(), "virtiomem0");
    EXPECT_EQ(change.size_kib(), 1048576u);
}

TEST_F(EventSourcesTest, LifecycleDetailLandsInTheTypesOwnField)
{
    Source<virConnectDomainEventCallback>(VIR_DOMAIN_EVENT_ID_LIFECYCLE)(
        nullptr, kDomain, VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG,
        kFakeHub);
    auto lifecycle = Only(VIR_DOMAIN_EVENT_ID_LIFECYCLE).lifecycle();
    EXPECT_EQ(lifecycle.type(), virtgrpc::v1::LIFECYCLE_EVENT_TYPE_SUSPENDED);
    EXPECT_EQ(lifecycle.suspended(), virtgrpc::v1::SUSPENDED_DETAIL_WATCHDOG);
}

} // namespace
