/*
 * Domain handles kept between calls, so that a call naming a domain does not pay a
 * lookup round trip to libvirtd each time (issue #9: a libvirt C client keeps its
 * virDomainPtr; the gateway must not cost more round trips than it does).
 *
 * Keyed by name and by UUID text (ids change with every start: never cached). Every
 * lookup or new handle a handler makes refreshes the entries of its domain; only the
 * hot read-only getters (GetDomainInfo, GetDomainState) read from the cache. A handle
 * is forgotten when
 *  - a LIFECYCLE event names its domain (defined, undefined, renamed, started,
 *    stopped, ...: an event-hub observer on the loop thread),
 *  - the libvirt connection is lost or replaced (everything is forgotten),
 *  - a call on it fails with VIR_ERR_NO_DOMAIN (the caller retries with a fresh
 *    lookup), or RenameDomain renamed it.
 * A change made by another libvirt client is seen once its event arrives (well under a
 * millisecond locally); until then a read may still describe the domain as it was.
 *
 * Each entry also remembers the state and reason read last, so GetDomainInfo needs no
 * virDomainGetState while virDomainGetInfo reports the same state (a new state or reason
 * always comes with a LIFECYCLE event, which forgets the entry).
 *
 * Thread-safe (one mutex; every operation is a few pointer moves).
 */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/runtime/libvirt-conn.h"
#include "server/services/event-hub.h"

/* Starts forgetting on events and connection changes. Once, at start-up, before the
 * loop runs. */
void vg_domain_cache_init(vg_event_hub *hub, vg_libvirt *libvirt);

/*
 * A new reference (release with virDomainFree) to the handle cached for `key` (a name
 * when `by_name`, else UUID text) on connection `conn`, or NULL. `*state` / `*reason`
 * get the state read last, or -1 when unknown.
 */
virDomainPtr vg_domain_cache_get(virConnectPtr conn, bool by_name, const char *key,
                                 int *state, int *reason);

/*
 * Remembers `domain` (takes its own reference) under its name and UUID, unless anything
 * was forgotten since `epoch` (vg_domain_cache_epoch() read before the handle was made):
 * a lookup that raced with an event must not bring back what the event forgot.
 */
uint64_t vg_domain_cache_epoch(void);
void vg_domain_cache_put(virDomainPtr domain, uint64_t epoch);

/* Remembers the state and reason just read for `domain`, if it is cached. */
void vg_domain_cache_set_state(virDomainPtr domain, int state, int reason);

/* Forgets the domain with this UUID text (and its name). */
void vg_domain_cache_forget(const char *uuid);

/*
 * After a libvirt call on `domain` failed: true when the error is VIR_ERR_NO_DOMAIN, in
 * which case the domain is forgotten and the error reset (the caller looks it up again);
 * false with libvirt's error untouched otherwise.
 */
bool vg_domain_cache_stale(virDomainPtr domain);
