/*
 * The fan-out behind EventService.WatchEvents. One libvirt registration per event ID
 * (made on every (re)connection) feeds every watcher; each watcher gets its own
 * sequence numbers, filters and bounded send queue (the call's). The hub lives on the
 * loop thread, where libvirt delivers its events: no locks.
 */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/runtime/libvirt-conn.h"
#include "server/runtime/loop.h"
#include "server/runtime/worker-pool.h"
#include "server/transport/call.h"
#include "virtgrpc/v1/events.pb-c.h"

typedef struct vg_event_hub vg_event_hub;

/* Creates the process's hub and listens to `libvirt`'s connection changes. Once, at
 * start-up, before vg_libvirt_open. */
vg_event_hub *vg_event_hub_init(vg_loop *loop, vg_worker_pool *pool, vg_libvirt *libvirt);
/* The hub vg_event_hub_init made, for handlers. */
vg_event_hub *vg_event_hub_get(void);

/* Frees the hub (at exit, after the server stopped). Accepts NULL; returns NULL. */
vg_event_hub *vg_event_hub_free(vg_event_hub *hub);

/*
 * Hands one event to every matching watcher. Loop thread only (libvirt's callbacks run
 * there). `event_id` is the VIR_DOMAIN_EVENT_ID_* it came from; `event` has its payload
 * set (event_case and the payload field); the hub fills sequence, time and domain.
 * `event` is packed before this returns, so it may live on the caller's stack.
 */
void vg_event_hub_publish(vg_event_hub *hub, virDomainPtr domain, int event_id,
                          Virtgrpc__V1__DomainEvent *event);

/*
 * Server-side consumers of events (the job registry learns from BLOCK_JOB_2 and
 * JOB_COMPLETED that a job ended). The observer runs on the loop thread for every event,
 * before watchers get it, with no hub lock held; it must not block. Register at start-up,
 * before the loop runs.
 */
typedef void (*vg_event_observer)(int event_id, const Virtgrpc__V1__DomainEvent *event,
                                  void *data);
void vg_event_hub_observe(vg_event_hub *hub, vg_event_observer observer, void *data);

/* Adds a watcher for `call` (a WatchEvents call with a valid request). Any thread.
 * `domains` are copied; `event_id_mask` has bit 1 << VIR_DOMAIN_EVENT_ID_* set for
 * each kind wanted, 0 for all. The hub keeps a reference on the call until it is done,
 * and ends it itself when the watcher falls behind. */
void vg_event_hub_watch(vg_event_hub *hub, vg_call *call,
                        Virtgrpc__V1__DomainRef *const *domains, size_t n_domains,
                        uint64_t event_id_mask, bool skip_current_domains);
