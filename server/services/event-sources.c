#include "server/services/event-sources.h"

#include "server/enum-convert.h"
#include "server/services/event-hub.h"
#include "vg-enums.h"

/* Declares a DomainEvent `event` on the stack carrying `payload` in its oneof `field`. */
#define VG_EVENT(field, FIELD, payload)                                            \
    Virtgrpc__V1__DomainEvent event = VIRTGRPC__V1__DOMAIN_EVENT__INIT;            \
    event.event_case = VIRTGRPC__V1__DOMAIN_EVENT__EVENT_##FIELD;                  \
    event.field = (payload)

/* VIR_DOMAIN_EVENT_ID_LIFECYCLE. libvirt's `detail` means something else for every
 * `type`: each type has its own detail enum and oneof field. */
static int
vg_on_lifecycle(virConnectPtr conn, virDomainPtr domain, int type, int detail,
                void *opaque)
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
vg_on_metadata_change(virConnectPtr conn, virDomainPtr domain, int type,
                      const char *nsuri, void *opaque)
{
    Virtgrpc__V1__MetadataChangeEvent change = VIRTGRPC__V1__METADATA_CHANGE_EVENT__INIT;
    VG_EVENT(metadata_change, METADATA_CHANGE, &change);
    (void)conn;

    change.type = vg_enum_from_libvirt(&vg_enum_metadata_type, type);
    change.namespace_uri = (char *)(nsuri ? nsuri : "");
    vg_event_hub_publish(opaque, domain, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, &event);
}

const vg_event_source vg_event_sources[] = {
    { VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(vg_on_lifecycle) },
    { VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(vg_on_metadata_change) },
};
const size_t vg_event_sources_count = sizeof(vg_event_sources) / sizeof(vg_event_sources[0]);
