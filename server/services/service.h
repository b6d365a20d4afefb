/*
 * What every domain handler needs besides its one libvirt call: the shared connection,
 * request flags as a libvirt bitmask, the domain a DomainRef names, and a Domain
 * message for a handle. Each helper records a failure on the call and returns -1 (or
 * NULL), so handlers keep the libvirt-dbus rhythm: unpack, resolve, call, pack.
 */
#pragma once

#include <libvirt/libvirt.h>

#include "server/enum-convert.h"
#include "server/runtime/libvirt-conn.h"
#include "server/transport/call.h"
#include "virtgrpc/v1/domain.pb-c.h"
#include "vg-enums.h"

/* Sets the process-wide libvirt connection, loop and worker pool handlers use. Once, at
 * start-up. */
void vg_services_init(vg_libvirt *libvirt, vg_loop *loop, vg_worker_pool *pool);
vg_libvirt *vg_services_libvirt(void);
/* For streaming handlers, which run on the transport's thread and must not block: timers
 * and libvirt's event callbacks live on the loop, libvirt calls go to the pool. */
vg_loop *vg_services_loop(void);
vg_worker_pool *vg_services_pool(void);

/* The shared connection, released when the call ends; NULL (UNAVAILABLE recorded)
 * while libvirt is disconnected. */
virConnectPtr vg_service_conn(vg_call *call);

/* Converts a repeated enum field to a libvirt bitmask; INVALID_ARGUMENT naming the
 * field and the value for anything without a libvirt constant. */
int vg_service_flags(vg_call *call, const vg_enum_map *map, const void *values,
                     size_t n_values, const char *field, unsigned int *flags);

/* VG_FLAGS(call, vg_enum_start_flag, request, flags, &flags) */
#define VG_FLAGS(call, map, request, field, out) \
    vg_service_flags((call), &(map), (request)->field, (request)->n_##field, #field, (out))

/* The domain `ref` names, freed when the call ends. NULL with INVALID_ARGUMENT for an
 * empty or malformed reference, or libvirt's NO_DOMAIN (NOT_FOUND). */
virDomainPtr vg_domain_lookup(vg_call *call, const Virtgrpc__V1__DomainRef *ref);

/*
 * Like vg_domain_lookup, for the hot read-only getters: with `from_cache`, a handle kept
 * from an earlier call when there is one (server/services/domain-cache.h), with the
 * state and reason read last in `*state` / `*reason` (-1: unknown). A libvirt call on a
 * cached handle can fail with VIR_ERR_NO_DOMAIN because the domain changed meanwhile:
 * then vg_domain_cache_stale() is true and the caller looks up again without the cache.
 */
virDomainPtr vg_domain_lookup_cached(vg_call *call, const Virtgrpc__V1__DomainRef *ref,
                                     bool from_cache, int *state, int *reason);

/* Adopts a handle libvirt returned (freed when the call ends). */
virDomainPtr vg_domain_adopt(vg_call *call, virDomainPtr domain);

/* Fills `out` (UUID, name, id, state) for `domain`. */
int vg_domain_fill(vg_call *call, virDomainPtr domain, Virtgrpc__V1__Domain *out);
/* Same, with the state and reason the caller has just read. */
int vg_domain_fill_state(vg_call *call, virDomainPtr domain, int state, int reason,
                         Virtgrpc__V1__Domain *out);

/* Like vg_domain_fill, for a domain that may have just disappeared (a transient domain
 * destroyed, a shut-off domain undefined): then the state is `gone_state` /
 * `gone_reason` (libvirt constants) instead of a NOT_FOUND failure. */
int vg_domain_fill_gone(vg_call *call, virDomainPtr domain, int gone_state,
                        int gone_reason, Virtgrpc__V1__Domain *out);

/*
 * Every domain virConnectListAllDomains returns for `flags`, with its state, sorted by
 * name, in `arena` memory. Returns -1 with libvirt's error set (record it with
 * vg_call_fail_libvirt on the same thread). Two libvirt calls whatever the count.
 */
struct vg_arena;
int vg_domain_list(struct vg_arena *arena, virConnectPtr conn, unsigned int flags,
                   Virtgrpc__V1__Domain ***domains, size_t *n_domains);

/* Fills a DomainStateInfo from libvirt's state and reason numbers. */
void vg_domain_state_set(Virtgrpc__V1__DomainStateInfo *out, int state, int reason);

/* One libvirt peek call; `target` is the disk for block peeks, unused for memory. */
typedef int (*vg_peek_fn)(virDomainPtr domain, const char *target,
                          unsigned long long offset, size_t size, void *buffer,
                          unsigned int flags);

/* Checks a peek request before anything is looked up: 1 byte to the server's limit
 * max-peek-bytes (so an answer fits in one message),
 * and `offset` + size within 64 bits. INVALID_ARGUMENT naming the fields otherwise. */
int vg_peek_check(vg_call *call, const char *offset_field, uint64_t offset, uint32_t size);

/* Reads `size` bytes at `offset` into call memory and points `out` at them. */
int vg_peek_read(vg_call *call, virDomainPtr domain, vg_peek_fn peek, const char *target,
                 uint64_t offset, uint32_t size, unsigned int flags,
                 ProtobufCBinaryData *out);

/* Allocates and initialises a message of type T in the call's memory. */
#define VG_NEW(call, type, init) \
    ({ type *vg_new_ = vg_call_alloc((call), sizeof(type)); init(vg_new_); vg_new_; })
