/*
 * The libvirt side of events: for every VIR_DOMAIN_EVENT_ID_* this libvirt knows, the
 * callback that turns libvirt's arguments into a typed DomainEvent payload and hands it
 * to the hub (vg_event_hub_publish). Callbacks run on the loop thread with the hub as
 * their opaque pointer; they make no libvirt calls that could block.
 */
#pragma once

#include <libvirt/libvirt.h>
#include <stddef.h>

typedef struct vg_event_source {
    int id; /* VIR_DOMAIN_EVENT_ID_* */
    virConnectDomainEventGenericCallback callback;
} vg_event_source;

extern const vg_event_source vg_event_sources[];
extern const size_t vg_event_sources_count;
