#include "server/services/event-sources.h"

#include "server/enum-convert.h"
#include "server/runtime/arena.h"
#include "server/services/event-hub.h"
#include "server/services/job-stats.h"
#include "server/typed-params.h"
#include "vg-enums.h"

/* DomainEvent's payload fields are numbered 100 + VIR_DOMAIN_EVENT_ID_* (events.proto),
 * so the oneof case names the event ID; this checks the proto says so for every ID. */
#define VG_CHECK_FIELD_NUMBER(FIELD, ID)                                                   \
    _Static_assert(                                                                        \
        VIRTGRPC__V1__DOMAIN_EVENT__EVENT_##FIELD == 100 + VIR_DOMAIN_EVENT_ID_##ID,       \
        "events.proto: field " #FIELD " must be 100 + VIR_DOMAIN_EVENT_ID_" #ID)
VG_CHECK_FIELD_NUMBER(LIFECYCLE, LIFECYCLE);
VG_CHECK_FIELD_NUMBER(REBOOT, REBOOT);
VG_CHECK_FIELD_NUMBER(RTC_CHANGE, RTC_CHANGE);
VG_CHECK_FIELD_NUMBER(WATCHDOG, WATCHDOG);
VG_CHECK_FIELD_NUMBER(IO_ERROR, IO_ERROR);
VG_CHECK_FIELD_NUMBER(GRAPHICS, GRAPHICS);
VG_CHECK_FIELD_NUMBER(IO_ERROR_REASON, IO_ERROR_REASON);
VG_CHECK_FIELD_NUMBER(CONTROL_ERROR, CONTROL_ERROR);
VG_CHECK_FIELD_NUMBER(BLOCK_JOB, BLOCK_JOB);
VG_CHECK_FIELD_NUMBER(DISK_CHANGE, DISK_CHANGE);
VG_CHECK_FIELD_NUMBER(TRAY_CHANGE, TRAY_CHANGE);
VG_CHECK_FIELD_NUMBER(PM_WAKEUP, PMWAKEUP);
VG_CHECK_FIELD_NUMBER(PM_SUSPEND, PMSUSPEND);
VG_CHECK_FIELD_NUMBER(BALLOON_CHANGE, BALLOON_CHANGE);
VG_CHECK_FIELD_NUMBER(PM_SUSPEND_DISK, PMSUSPEND_DISK);
VG_CHECK_FIELD_NUMBER(DEVICE_REMOVED, DEVICE_REMOVED);
VG_CHECK_FIELD_NUMBER(BLOCK_JOB_2, BLOCK_JOB_2);
VG_CHECK_FIELD_NUMBER(TUNABLE, TUNABLE);
VG_CHECK_FIELD_NUMBER(AGENT_LIFECYCLE, AGENT_LIFECYCLE);
VG_CHECK_FIELD_NUMBER(DEVICE_ADDED, DEVICE_ADDED);
VG_CHECK_FIELD_NUMBER(MIGRATION_ITERATION, MIGRATION_ITERATION);
VG_CHECK_FIELD_NUMBER(JOB_COMPLETED, JOB_COMPLETED);
VG_CHECK_FIELD_NUMBER(DEVICE_REMOVAL_FAILED, DEVICE_REMOVAL_FAILED);
VG_CHECK_FIELD_NUMBER(METADATA_CHANGE, METADATA_CHANGE);
VG_CHECK_FIELD_NUMBER(BLOCK_THRESHOLD, BLOCK_THRESHOLD);
VG_CHECK_FIELD_NUMBER(MEMORY_FAILURE, MEMORY_FAILURE);
VG_CHECK_FIELD_NUMBER(MEMORY_DEVICE_SIZE_CHANGE, MEMORY_DEVICE_SIZE_CHANGE);

/* Declares a DomainEvent `event` on the stack carrying `payload` in its oneof `field`. */
#define VG_EVENT(field, FIELD, payload)                                                    \
    Virtgrpc__V1__DomainEvent event = VIRTGRPC__V1__DOMAIN_EVENT__INIT;                    \
    event.event_case = VIRTGRPC__V1__DOMAIN_EVENT__EVENT_##FIELD;                          \
    event.field = (payload)

/* Hands `payload`, the DomainEvent oneof `field`, to the hub `opaque`. The event ID is
 * the field number - 100 (checked above). */
#define VG_PUBLISH(opaque, domain, field, FIELD, payload)                                  \
    do {                                                                                   \
        VG_EVENT(field, FIELD, payload);                                                   \
        vg_event_hub_publish((opaque), (domain),                                           \
                             VIRTGRPC__V1__DOMAIN_EVENT__EVENT_##FIELD - 100, &event);     \
    } while (0)

/* Strings from libvirt may be NULL; proto strings may not. The payloads only borrow
 * them until vg_event_hub_publish returns (it packs the event). */
static char *
vg_str(const char *string)
{
    return (char *)(string ? string : "");
}

/* Room on the stack for the few payloads that need allocations (typed parameters,
 * graphics identities); larger ones spill to the heap until the callback returns. */
#define VG_EVENT_ARENA_SIZE 2048

/* VIR_DOMAIN_EVENT_ID_LIFECYCLE. libvirt's `detail` means something else for every
 * `type`: each type has its own detail enum and oneof field. */
static int
vg_on_lifecycle(virConnectPtr conn, virDomainPtr domain, int type, int detail, void *opaque)
{
    Virtgrpc__V1__LifecycleEvent lifecycle = VIRTGRPC__V1__LIFECYCLE_EVENT__INIT;
    VG_EVENT(lifecycle, LIFECYCLE, &lifecycle);
    (void)conn;

    lifecycle.type = vg_enum_from_libvirt(&vg_enum_lifecycle_event_type, type);
    switch (type) {
    case VIR_DOMAIN_EVENT_DEFINED:
        lifecycle.detail_case = VIRTGRPC__V1__LIFECYCLE_EVENT__DETAIL_DEFINED;
        lifecycle.defined = vg_enum_from_libvirt(&vg_enum_defined_detail, detail);
        break;
    case VIR_DOMAIN_EVENT_UNDEFINED:
        lifecycle.detail_case = VIRTGRPC__V1__LIFECYCLE_EVENT__DETAIL_UNDEFINED;
        lifecycle.undefined = vg_enum_from_libvirt(&vg_enum_undefined_detail, detail);
        break;
    case VIR_DOMAIN_EVENT_STARTED:
        lifecycle.detail_case = VIRTGRPC__V1__LIFECYCLE_EVENT__DETAIL_STARTED;
        lifecycle.started = vg_enum_from_libvirt(&vg_enum_started_detail, detail);
        break;
    case VIR_DOMAIN_EVENT_SUSPENDED:
        lifecycle.detail_case = VIRTGRPC__V1__LIFECYCLE_EVENT__DETAIL_SUSPENDED;
        lifecycle.suspended = vg_enum_from_libvirt(&vg_enum_suspended_detail, detail);
        break;
    case VIR_DOMAIN_EVENT_RESUMED:
        lifecycle.detail_case = VIRTGRPC__V1__LIFECYCLE_EVENT__DETAIL_RESUMED;
        lifecycle.resumed = vg_enum_from_libvirt(&vg_enum_resumed_detail, detail);
        break;
    case VIR_DOMAIN_EVENT_STOPPED:
        lifecycle.detail_case = VIRTGRPC__V1__LIFECYCLE_EVENT__DETAIL_STOPPED;
        lifecycle.stopped = vg_enum_from_libvirt(&vg_enum_stopped_detail, detail);
        break;
    case VIR_DOMAIN_EVENT_SHUTDOWN:
        lifecycle.detail_case = VIRTGRPC__V1__LIFECYCLE_EVENT__DETAIL_SHUTDOWN;
        lifecycle.shutdown = vg_enum_from_libvirt(&vg_enum_shutdown_detail, detail);
        break;
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        lifecycle.detail_case = VIRTGRPC__V1__LIFECYCLE_EVENT__DETAIL_PM_SUSPENDED;
        lifecycle.pm_suspended = vg_enum_from_libvirt(&vg_enum_pm_suspended_detail, detail);
        break;
    case VIR_DOMAIN_EVENT_CRASHED:
        lifecycle.detail_case = VIRTGRPC__V1__LIFECYCLE_EVENT__DETAIL_CRASHED;
        lifecycle.crashed = vg_enum_from_libvirt(&vg_enum_crashed_detail, detail);
        break;
    default:
        /* A type newer than this build: `type` is UNSPECIFIED, no detail. */
        break;
    }
    vg_event_hub_publish(opaque, domain, VIR_DOMAIN_EVENT_ID_LIFECYCLE, &event);
    return 0;
}

/* VIR_DOMAIN_EVENT_ID_METADATA_CHANGE */
static void
vg_on_metadata_change(virConnectPtr conn, virDomainPtr domain, int type, const char *nsuri,
                      void *opaque)
{
    Virtgrpc__V1__MetadataChangeEvent change = VIRTGRPC__V1__METADATA_CHANGE_EVENT__INIT;
    VG_EVENT(metadata_change, METADATA_CHANGE, &change);
    (void)conn;

    change.type = vg_enum_from_libvirt(&vg_enum_metadata_type, type);
    change.namespace_uri = (char *)(nsuri ? nsuri : "");
    vg_event_hub_publish(opaque, domain, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, &event);
}

/* VIR_DOMAIN_EVENT_ID_REBOOT */
static void
vg_on_reboot(virConnectPtr conn, virDomainPtr domain, void *opaque)
{
    Virtgrpc__V1__RebootEvent reboot = VIRTGRPC__V1__REBOOT_EVENT__INIT;
    (void)conn;
    VG_PUBLISH(opaque, domain, reboot, REBOOT, &reboot);
}

/* VIR_DOMAIN_EVENT_ID_RTC_CHANGE */
static void
vg_on_rtc_change(virConnectPtr conn, virDomainPtr domain, long long utc_offset,
                 void *opaque)
{
    Virtgrpc__V1__RtcChangeEvent change = VIRTGRPC__V1__RTC_CHANGE_EVENT__INIT;
    (void)conn;
    change.utc_offset_seconds = utc_offset;
    VG_PUBLISH(opaque, domain, rtc_change, RTC_CHANGE, &change);
}

/* VIR_DOMAIN_EVENT_ID_WATCHDOG */
static void
vg_on_watchdog(virConnectPtr conn, virDomainPtr domain, int action, void *opaque)
{
    Virtgrpc__V1__WatchdogEvent watchdog = VIRTGRPC__V1__WATCHDOG_EVENT__INIT;
    (void)conn;
    watchdog.action = vg_enum_from_libvirt(&vg_enum_watchdog_action, action);
    VG_PUBLISH(opaque, domain, watchdog, WATCHDOG, &watchdog);
}

/* The payload of both I/O error events; `reason` is NULL for IO_ERROR. */
static Virtgrpc__V1__IoErrorEvent
vg_io_error_event(const char *source_path, const char *device_alias, int action,
                  const char *reason)
{
    Virtgrpc__V1__IoErrorEvent error = VIRTGRPC__V1__IO_ERROR_EVENT__INIT;
    error.source_path = vg_str(source_path);
    error.device_alias = vg_str(device_alias);
    error.action = vg_enum_from_libvirt(&vg_enum_io_error_action, action);
    error.reason = vg_str(reason);
    return error;
}

/* VIR_DOMAIN_EVENT_ID_IO_ERROR */
static void
vg_on_io_error(virConnectPtr conn, virDomainPtr domain, const char *source_path,
               const char *device_alias, int action, void *opaque)
{
    Virtgrpc__V1__IoErrorEvent error =
        vg_io_error_event(source_path, device_alias, action, NULL);
    (void)conn;
    VG_PUBLISH(opaque, domain, io_error, IO_ERROR, &error);
}

/* VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON */
static void
vg_on_io_error_reason(virConnectPtr conn, virDomainPtr domain, const char *source_path,
                      const char *device_alias, int action, const char *reason,
                      void *opaque)
{
    Virtgrpc__V1__IoErrorEvent error =
        vg_io_error_event(source_path, device_alias, action, reason);
    (void)conn;
    VG_PUBLISH(opaque, domain, io_error_reason, IO_ERROR_REASON, &error);
}

/* One end of a graphics connection; libvirt may leave either end out. */
static void
vg_graphics_address(const virDomainEventGraphicsAddress *from,
                    Virtgrpc__V1__GraphicsAddress *to)
{
    if (!from)
        return;
    to->family = vg_enum_from_libvirt(&vg_enum_graphics_address_family, from->family);
    to->node = vg_str(from->node);
    to->service = vg_str(from->service);
}

/* VIR_DOMAIN_EVENT_ID_GRAPHICS */
static void
vg_on_graphics(virConnectPtr conn, virDomainPtr domain, int phase,
               const virDomainEventGraphicsAddress *local,
               const virDomainEventGraphicsAddress *remote, const char *auth_scheme,
               const virDomainEventGraphicsSubject *subject, void *opaque)
{
    char storage[VG_EVENT_ARENA_SIZE];
    vg_arena arena;
    Virtgrpc__V1__GraphicsEvent graphics = VIRTGRPC__V1__GRAPHICS_EVENT__INIT;
    Virtgrpc__V1__GraphicsAddress local_address = VIRTGRPC__V1__GRAPHICS_ADDRESS__INIT;
    Virtgrpc__V1__GraphicsAddress remote_address = VIRTGRPC__V1__GRAPHICS_ADDRESS__INIT;
    size_t n_identities =
        subject && subject->nidentity > 0 ? (size_t)subject->nidentity : 0;
    (void)conn;

    vg_arena_init(&arena, storage, sizeof(storage));
    graphics.phase = vg_enum_from_libvirt(&vg_enum_graphics_phase, phase);
    vg_graphics_address(local, &local_address);
    vg_graphics_address(remote, &remote_address);
    graphics.local = &local_address;
    graphics.remote = &remote_address;
    graphics.auth_scheme = vg_str(auth_scheme);
    if (n_identities) {
        Virtgrpc__V1__GraphicsSubjectIdentity *identities =
            vg_arena_alloc(&arena, n_identities * sizeof(*identities));
        graphics.subject = vg_arena_alloc(&arena, n_identities * sizeof(*graphics.subject));
        graphics.n_subject = n_identities;
        for (size_t i = 0; i < n_identities; i++) {
            virtgrpc__v1__graphics_subject_identity__init(&identities[i]);
            identities[i].type = vg_str(subject->identities[i].type);
            identities[i].name = vg_str(subject->identities[i].name);
            graphics.subject[i] = &identities[i];
        }
    }
    VG_PUBLISH(opaque, domain, graphics, GRAPHICS, &graphics);
    vg_arena_release(&arena);
}

/* VIR_DOMAIN_EVENT_ID_CONTROL_ERROR */
static void
vg_on_control_error(virConnectPtr conn, virDomainPtr domain, void *opaque)
{
    Virtgrpc__V1__ControlErrorEvent error = VIRTGRPC__V1__CONTROL_ERROR_EVENT__INIT;
    (void)conn;
    VG_PUBLISH(opaque, domain, control_error, CONTROL_ERROR, &error);
}

/* The payload of both block job events (they differ in how `disk` is named). */
static Virtgrpc__V1__BlockJobEvent
vg_block_job_event(const char *disk, int type, int status)
{
    Virtgrpc__V1__BlockJobEvent job = VIRTGRPC__V1__BLOCK_JOB_EVENT__INIT;
    job.disk = vg_str(disk);
    job.type = vg_enum_from_libvirt(&vg_enum_block_job_type, type);
    job.status = vg_enum_from_libvirt(&vg_enum_block_job_status, status);
    return job;
}

/* VIR_DOMAIN_EVENT_ID_BLOCK_JOB: `disk` is the active layer's path. */
static void
vg_on_block_job(virConnectPtr conn, virDomainPtr domain, const char *disk, int type,
                int status, void *opaque)
{
    Virtgrpc__V1__BlockJobEvent job = vg_block_job_event(disk, type, status);
    (void)conn;
    VG_PUBLISH(opaque, domain, block_job, BLOCK_JOB, &job);
}

/* VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2: `disk` is the target ("vda"). */
static void
vg_on_block_job_2(virConnectPtr conn, virDomainPtr domain, const char *disk, int type,
                  int status, void *opaque)
{
    Virtgrpc__V1__BlockJobEvent job = vg_block_job_event(disk, type, status);
    (void)conn;
    VG_PUBLISH(opaque, domain, block_job_2, BLOCK_JOB_2, &job);
}

/* VIR_DOMAIN_EVENT_ID_DISK_CHANGE */
static void
vg_on_disk_change(virConnectPtr conn, virDomainPtr domain, const char *old_source_path,
                  const char *new_source_path, const char *device_alias, int reason,
                  void *opaque)
{
    Virtgrpc__V1__DiskChangeEvent change = VIRTGRPC__V1__DISK_CHANGE_EVENT__INIT;
    (void)conn;
    change.old_source_path = vg_str(old_source_path);
    change.new_source_path = vg_str(new_source_path);
    change.device_alias = vg_str(device_alias);
    change.reason = vg_enum_from_libvirt(&vg_enum_disk_change_reason, reason);
    VG_PUBLISH(opaque, domain, disk_change, DISK_CHANGE, &change);
}

/* VIR_DOMAIN_EVENT_ID_TRAY_CHANGE */
static void
vg_on_tray_change(virConnectPtr conn, virDomainPtr domain, const char *device_alias,
                  int reason, void *opaque)
{
    Virtgrpc__V1__TrayChangeEvent change = VIRTGRPC__V1__TRAY_CHANGE_EVENT__INIT;
    (void)conn;
    change.device_alias = vg_str(device_alias);
    change.reason = vg_enum_from_libvirt(&vg_enum_tray_change_reason, reason);
    VG_PUBLISH(opaque, domain, tray_change, TRAY_CHANGE, &change);
}

/* VIR_DOMAIN_EVENT_ID_PMWAKEUP. libvirt defines no reasons: passed on as given. */
static void
vg_on_pm_wakeup(virConnectPtr conn, virDomainPtr domain, int reason, void *opaque)
{
    Virtgrpc__V1__PMWakeupEvent wakeup = VIRTGRPC__V1__PMWAKEUP_EVENT__INIT;
    (void)conn;
    wakeup.reason = reason;
    VG_PUBLISH(opaque, domain, pm_wakeup, PM_WAKEUP, &wakeup);
}

/* VIR_DOMAIN_EVENT_ID_PMSUSPEND (S3) */
static void
vg_on_pm_suspend(virConnectPtr conn, virDomainPtr domain, int reason, void *opaque)
{
    Virtgrpc__V1__PMSuspendEvent suspend = VIRTGRPC__V1__PMSUSPEND_EVENT__INIT;
    (void)conn;
    suspend.reason = reason;
    VG_PUBLISH(opaque, domain, pm_suspend, PM_SUSPEND, &suspend);
}

/* VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK (S4) */
static void
vg_on_pm_suspend_disk(virConnectPtr conn, virDomainPtr domain, int reason, void *opaque)
{
    Virtgrpc__V1__PMSuspendEvent suspend = VIRTGRPC__V1__PMSUSPEND_EVENT__INIT;
    (void)conn;
    suspend.reason = reason;
    VG_PUBLISH(opaque, domain, pm_suspend_disk, PM_SUSPEND_DISK, &suspend);
}

/* VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE */
static void
vg_on_balloon_change(virConnectPtr conn, virDomainPtr domain, unsigned long long actual_kib,
                     void *opaque)
{
    Virtgrpc__V1__BalloonChangeEvent change = VIRTGRPC__V1__BALLOON_CHANGE_EVENT__INIT;
    (void)conn;
    change.actual_kib = actual_kib;
    VG_PUBLISH(opaque, domain, balloon_change, BALLOON_CHANGE, &change);
}

/* The payload of the three device events. */
static Virtgrpc__V1__DeviceEvent
vg_device_event(const char *device_alias)
{
    Virtgrpc__V1__DeviceEvent device = VIRTGRPC__V1__DEVICE_EVENT__INIT;
    device.device_alias = vg_str(device_alias);
    return device;
}

/* VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED */
static void
vg_on_device_removed(virConnectPtr conn, virDomainPtr domain, const char *device_alias,
                     void *opaque)
{
    Virtgrpc__V1__DeviceEvent device = vg_device_event(device_alias);
    (void)conn;
    VG_PUBLISH(opaque, domain, device_removed, DEVICE_REMOVED, &device);
}

/* VIR_DOMAIN_EVENT_ID_DEVICE_ADDED */
static void
vg_on_device_added(virConnectPtr conn, virDomainPtr domain, const char *device_alias,
                   void *opaque)
{
    Virtgrpc__V1__DeviceEvent device = vg_device_event(device_alias);
    (void)conn;
    VG_PUBLISH(opaque, domain, device_added, DEVICE_ADDED, &device);
}

/* VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED */
static void
vg_on_device_removal_failed(virConnectPtr conn, virDomainPtr domain,
                            const char *device_alias, void *opaque)
{
    Virtgrpc__V1__DeviceEvent device = vg_device_event(device_alias);
    (void)conn;
    VG_PUBLISH(opaque, domain, device_removal_failed, DEVICE_REMOVAL_FAILED, &device);
}

/* VIR_DOMAIN_EVENT_ID_TUNABLE. The parameters are copied into `arena`'s storage, which
 * the callback releases after publishing. */
static void
vg_on_tunable(virConnectPtr conn, virDomainPtr domain, virTypedParameterPtr params,
              int n_params, void *opaque)
{
    char storage[VG_EVENT_ARENA_SIZE];
    vg_arena arena;
    Virtgrpc__V1__TunableEvent tunable = VIRTGRPC__V1__TUNABLE_EVENT__INIT;
    (void)conn;

    vg_arena_init(&arena, storage, sizeof(storage));
    vg_typed_params_to_proto(&arena, params, n_params, &tunable.params, &tunable.n_params);
    VG_PUBLISH(opaque, domain, tunable, TUNABLE, &tunable);
    vg_arena_release(&arena);
}

/* VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE */
static void
vg_on_agent_lifecycle(virConnectPtr conn, virDomainPtr domain, int state, int reason,
                      void *opaque)
{
    Virtgrpc__V1__AgentLifecycleEvent agent = VIRTGRPC__V1__AGENT_LIFECYCLE_EVENT__INIT;
    (void)conn;
    agent.state = vg_enum_from_libvirt(&vg_enum_agent_lifecycle_state, state);
    agent.reason = vg_enum_from_libvirt(&vg_enum_agent_lifecycle_reason, reason);
    VG_PUBLISH(opaque, domain, agent_lifecycle, AGENT_LIFECYCLE, &agent);
}

/* VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION */
static void
vg_on_migration_iteration(virConnectPtr conn, virDomainPtr domain, int iteration,
                          void *opaque)
{
    Virtgrpc__V1__MigrationIterationEvent migration =
        VIRTGRPC__V1__MIGRATION_ITERATION_EVENT__INIT;
    (void)conn;
    migration.iteration = iteration;
    VG_PUBLISH(opaque, domain, migration_iteration, MIGRATION_ITERATION, &migration);
}

/* VIR_DOMAIN_EVENT_ID_JOB_COMPLETED: the statistics as JobService reports them. */
static void
vg_on_job_completed(virConnectPtr conn, virDomainPtr domain, virTypedParameterPtr params,
                    int n_params, void *opaque)
{
    char storage[VG_EVENT_ARENA_SIZE];
    vg_arena arena;
    Virtgrpc__V1__JobCompletedEvent job = VIRTGRPC__V1__JOB_COMPLETED_EVENT__INIT;
    Virtgrpc__V1__JobStats stats = VIRTGRPC__V1__JOB_STATS__INIT;
    (void)conn;

    vg_arena_init(&arena, storage, sizeof(storage));
    vg_job_stats_fill(&arena, params, n_params, &stats);
    job.stats = &stats;
    VG_PUBLISH(opaque, domain, job_completed, JOB_COMPLETED, &job);
    vg_arena_release(&arena);
}

/* VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD */
static void
vg_on_block_threshold(virConnectPtr conn, virDomainPtr domain, const char *device,
                      const char *path, unsigned long long threshold,
                      unsigned long long excess, void *opaque)
{
    Virtgrpc__V1__BlockThresholdEvent crossed = VIRTGRPC__V1__BLOCK_THRESHOLD_EVENT__INIT;
    (void)conn;
    crossed.device = vg_str(device);
    crossed.path = vg_str(path);
    crossed.threshold_bytes = threshold;
    crossed.excess_bytes = excess;
    VG_PUBLISH(opaque, domain, block_threshold, BLOCK_THRESHOLD, &crossed);
}

/* VIR_DOMAIN_EVENT_ID_MEMORY_FAILURE. Flag bits this build does not know are dropped. */
static void
vg_on_memory_failure(virConnectPtr conn, virDomainPtr domain, int recipient, int action,
                     unsigned int flags, void *opaque)
{
    Virtgrpc__V1__MemoryFailureEvent failure = VIRTGRPC__V1__MEMORY_FAILURE_EVENT__INIT;
    Virtgrpc__V1__MemoryFailureFlag flag_values[sizeof(flags) * 8];
    (void)conn;
    failure.recipient = vg_enum_from_libvirt(&vg_enum_memory_failure_recipient, recipient);
    failure.action = vg_enum_from_libvirt(&vg_enum_memory_failure_action, action);
    failure.flags = flag_values;
    failure.n_flags =
        vg_enum_flags_from_libvirt(&vg_enum_memory_failure_flag, flags, (int *)flag_values,
                                   sizeof(flag_values) / sizeof(flag_values[0]));
    VG_PUBLISH(opaque, domain, memory_failure, MEMORY_FAILURE, &failure);
}

/* VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE */
static void
vg_on_memory_device_size_change(virConnectPtr conn, virDomainPtr domain,
                                const char *device_alias, unsigned long long size_kib,
                                void *opaque)
{
    Virtgrpc__V1__MemoryDeviceSizeChangeEvent change =
        VIRTGRPC__V1__MEMORY_DEVICE_SIZE_CHANGE_EVENT__INIT;
    (void)conn;
    change.device_alias = vg_str(device_alias);
    change.size_kib = size_kib;
    VG_PUBLISH(opaque, domain, memory_device_size_change, MEMORY_DEVICE_SIZE_CHANGE,
               &change);
}

#define VG_SOURCE(ID, callback)                                                            \
    {                                                                                      \
        VIR_DOMAIN_EVENT_ID_##ID, VIR_DOMAIN_EVENT_CALLBACK(callback)                      \
    }

/* Every event ID of libvirt-domain.h, in ID order. */
const vg_event_source vg_event_sources[] = {
    VG_SOURCE(LIFECYCLE, vg_on_lifecycle),
    VG_SOURCE(REBOOT, vg_on_reboot),
    VG_SOURCE(RTC_CHANGE, vg_on_rtc_change),
    VG_SOURCE(WATCHDOG, vg_on_watchdog),
    VG_SOURCE(IO_ERROR, vg_on_io_error),
    VG_SOURCE(GRAPHICS, vg_on_graphics),
    VG_SOURCE(IO_ERROR_REASON, vg_on_io_error_reason),
    VG_SOURCE(CONTROL_ERROR, vg_on_control_error),
    VG_SOURCE(BLOCK_JOB, vg_on_block_job),
    VG_SOURCE(DISK_CHANGE, vg_on_disk_change),
    VG_SOURCE(TRAY_CHANGE, vg_on_tray_change),
    VG_SOURCE(PMWAKEUP, vg_on_pm_wakeup),
    VG_SOURCE(PMSUSPEND, vg_on_pm_suspend),
    VG_SOURCE(BALLOON_CHANGE, vg_on_balloon_change),
    VG_SOURCE(PMSUSPEND_DISK, vg_on_pm_suspend_disk),
    VG_SOURCE(DEVICE_REMOVED, vg_on_device_removed),
    VG_SOURCE(BLOCK_JOB_2, vg_on_block_job_2),
    VG_SOURCE(TUNABLE, vg_on_tunable),
    VG_SOURCE(AGENT_LIFECYCLE, vg_on_agent_lifecycle),
    VG_SOURCE(DEVICE_ADDED, vg_on_device_added),
    VG_SOURCE(MIGRATION_ITERATION, vg_on_migration_iteration),
    VG_SOURCE(JOB_COMPLETED, vg_on_job_completed),
    VG_SOURCE(DEVICE_REMOVAL_FAILED, vg_on_device_removal_failed),
    VG_SOURCE(METADATA_CHANGE, vg_on_metadata_change),
    VG_SOURCE(BLOCK_THRESHOLD, vg_on_block_threshold),
    VG_SOURCE(MEMORY_FAILURE, vg_on_memory_failure),
    VG_SOURCE(MEMORY_DEVICE_SIZE_CHANGE, vg_on_memory_device_size_change),
};
const size_t vg_event_sources_count =
    sizeof(vg_event_sources) / sizeof(vg_event_sources[0]);
