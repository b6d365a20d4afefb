/*
 * EventService: WatchEvents. The handler only checks the request; the hub
 * (event-hub.c) does the rest, and event-sources.c turns libvirt's callbacks into
 * DomainEvent payloads.
 */
#include "server/services/event-hub.h"
#include "server/services/service.h"
#include "vg-methods.h"

int
vgh_event_service_watch_events(vg_call *call,
                               const Virtgrpc__V1__WatchEventsRequest *request)
{
    uint64_t mask = 0;

    for (size_t i = 0; i < request->n_domains; i++) {
        const Virtgrpc__V1__DomainRef *ref = request->domains[i];

        if (!ref || ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF__NOT_SET ||
            (ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF_UUID && !*ref->uuid) ||
            (ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF_NAME && !*ref->name)) {
            return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                                "domains[%zu] is empty: set one of 'uuid', 'name' or 'id'",
                                i);
        }
    }
    for (size_t i = 0; i < request->n_kinds; i++) {
        int64_t event_id;

        if (vg_enum_to_libvirt(&vg_enum_event_kind, request->kinds[i], &event_id) < 0 ||
            event_id < 0 || event_id >= 64) {
            return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                                "field 'kinds' has value %d, which is not a %s",
                                request->kinds[i], vg_enum_event_kind.full_name);
        }
        mask |= UINT64_C(1) << event_id;
    }
    vg_event_hub_watch(vg_event_hub_get(), call, request->domains, request->n_domains, mask,
                       request->skip_current_domains);
    return 0;
}
