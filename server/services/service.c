#include "server/services/service.h"

#include <libvirt/virterror.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/limits.h"
#include "server/runtime/arena.h"
#include "server/services/domain-cache.h"

static vg_libvirt *vg_services_connection;
static vg_loop *vg_services_event_loop;
static vg_worker_pool *vg_services_workers;

/* Never blocks: virConnectIsAlive reads the client's state without a round trip. */
static bool
vg_services_libvirt_alive(void)
{
    virConnectPtr conn = vg_libvirt_get(vg_services_connection);
    bool alive = conn && virConnectIsAlive(conn) == 1;

    if (conn)
        virConnectClose(conn);
    return alive;
}

void
vg_services_init(vg_libvirt *libvirt, vg_loop *loop, vg_worker_pool *pool)
{
    vg_services_connection = libvirt;
    vg_services_event_loop = loop;
    vg_services_workers = pool;
    vg_call_set_libvirt_alive_probe(vg_services_libvirt_alive);
}

vg_loop *
vg_services_loop(void)
{
    return vg_services_event_loop;
}

vg_worker_pool *
vg_services_pool(void)
{
    return vg_services_workers;
}

vg_libvirt *
vg_services_libvirt(void)
{
    return vg_services_connection;
}

static void
vg_service_release_conn(void *conn)
{
    virConnectClose(conn);
}

virConnectPtr
vg_service_conn(vg_call *call)
{
    virConnectPtr conn = vg_libvirt_get(vg_services_connection);

    if (!conn) {
        vg_call_fail(call, GRPC_STATUS_UNAVAILABLE, VG_REASON_UNAVAILABLE,
                     "not connected to libvirt at '%s'; reconnecting",
                     vg_libvirt_uri(vg_services_connection));
        return NULL;
    }
    vg_call_defer(call, vg_service_release_conn, conn);
    return conn;
}

int
vg_service_flags(vg_call *call, const vg_enum_map *map, const void *values,
                 size_t n_values, const char *field, unsigned int *flags)
{
    int bad_value;

    if (vg_enum_flags_to_libvirt(map, values, n_values, flags, &bad_value) < 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "field '%s' has value %d, which is not a %s",
                            field, bad_value, map->full_name);
    }
    return 0;
}

static void
vg_domain_release(void *domain)
{
    virDomainFree(domain);
}

virDomainPtr
vg_domain_adopt(vg_call *call, virDomainPtr domain)
{
    if (domain)
        vg_call_defer(call, vg_domain_release, domain);
    return domain;
}

static virDomainPtr
vg_domain_resolve(vg_call *call, const Virtgrpc__V1__DomainRef *ref, bool from_cache,
                  int *state, int *reason)
{
    virConnectPtr conn;
    virDomainPtr domain = NULL;
    uint64_t epoch;

    if (!ref || ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF__NOT_SET) {
        vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                     "domain reference is empty: set one of 'uuid', 'name' or 'id'");
        return NULL;
    }
    if ((ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF_UUID && !*ref->uuid) ||
        (ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF_NAME && !*ref->name)) {
        vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                     "domain reference has an empty %s",
                     ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF_UUID ? "'uuid'"
                                                                       : "'name'");
        return NULL;
    }

    conn = vg_service_conn(call);
    if (!conn)
        return NULL;

    /* Ids change with every start: only names and UUIDs are cached. */
    if (ref->ref_case != VIRTGRPC__V1__DOMAIN_REF__REF_ID) {
        bool by_name = ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF_NAME;

        if (from_cache) {
            domain = vg_domain_cache_get(conn, by_name, by_name ? ref->name : ref->uuid,
                                         state, reason);
            if (domain)
                return vg_domain_adopt(call, domain);
        }
    }
    epoch = vg_domain_cache_epoch();
    switch (ref->ref_case) {
    case VIRTGRPC__V1__DOMAIN_REF__REF_UUID: {
        /* libvirt's parser says INVALID_ARG for text that is no UUID: report it as the
         * caller's mistake rather than as a NOT_FOUND that hides the typo. */
        domain = virDomainLookupByUUIDString(conn, ref->uuid);
        if (!domain) {
            virErrorPtr error = virGetLastError();

            if (error && error->code == VIR_ERR_INVALID_ARG) {
                vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                             VG_REASON_INVALID_REQUEST,
                             "domain reference 'uuid' is not a UUID: '%s'", ref->uuid);
                return NULL;
            }
        }
        break;
    }
    case VIRTGRPC__V1__DOMAIN_REF__REF_NAME:
        domain = virDomainLookupByName(conn, ref->name);
        break;
    case VIRTGRPC__V1__DOMAIN_REF__REF_ID:
        domain = virDomainLookupByID(conn, (int)ref->id);
        break;
    default:
        break;
    }
    if (!domain) {
        if (ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF_ID)
            vg_call_fail_libvirt_about(call, "id %u", ref->id);
        else
            vg_call_fail_libvirt_about(call, "%s '%s'",
                                       ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF_UUID
                                           ? "uuid" : "name",
                                       ref->ref_case == VIRTGRPC__V1__DOMAIN_REF__REF_UUID
                                           ? ref->uuid : ref->name);
        return NULL;
    }
    /* Every fresh handle refreshes the cache, so the getters after a change made
     * through this server see the domain as it is now. */
    vg_domain_cache_put(domain, epoch);
    return vg_domain_adopt(call, domain);
}

virDomainPtr
vg_domain_lookup(vg_call *call, const Virtgrpc__V1__DomainRef *ref)
{
    int state;
    int reason;

    return vg_domain_resolve(call, ref, false, &state, &reason);
}

virDomainPtr
vg_domain_lookup_cached(vg_call *call, const Virtgrpc__V1__DomainRef *ref, bool from_cache,
                        int *state, int *reason)
{
    *state = -1;
    *reason = -1;
    return vg_domain_resolve(call, ref, from_cache, state, reason);
}

/* Reason maps by libvirt state: the oneof case to set and how to convert the reason. */
static const struct {
    const vg_enum_map *reasons;
    Virtgrpc__V1__DomainStateInfo__ReasonCase reason_case;
} vg_state_reasons[] = {
    [VIR_DOMAIN_NOSTATE] = { &vg_enum_nostate_reason,
                             VIRTGRPC__V1__DOMAIN_STATE_INFO__REASON_NOSTATE_REASON },
    [VIR_DOMAIN_RUNNING] = { &vg_enum_running_reason,
                             VIRTGRPC__V1__DOMAIN_STATE_INFO__REASON_RUNNING_REASON },
    [VIR_DOMAIN_BLOCKED] = { &vg_enum_blocked_reason,
                             VIRTGRPC__V1__DOMAIN_STATE_INFO__REASON_BLOCKED_REASON },
    [VIR_DOMAIN_PAUSED] = { &vg_enum_paused_reason,
                            VIRTGRPC__V1__DOMAIN_STATE_INFO__REASON_PAUSED_REASON },
    [VIR_DOMAIN_SHUTDOWN] = { &vg_enum_shutdown_reason,
                              VIRTGRPC__V1__DOMAIN_STATE_INFO__REASON_SHUTDOWN_REASON },
    [VIR_DOMAIN_SHUTOFF] = { &vg_enum_shutoff_reason,
                             VIRTGRPC__V1__DOMAIN_STATE_INFO__REASON_SHUTOFF_REASON },
    [VIR_DOMAIN_CRASHED] = { &vg_enum_crashed_reason,
                             VIRTGRPC__V1__DOMAIN_STATE_INFO__REASON_CRASHED_REASON },
    [VIR_DOMAIN_PMSUSPENDED] = { &vg_enum_pm_suspended_reason,
                                 VIRTGRPC__V1__DOMAIN_STATE_INFO__REASON_PM_SUSPENDED_REASON },
};

void
vg_domain_state_set(Virtgrpc__V1__DomainStateInfo *out, int state, int reason)
{
    out->state = vg_enum_from_libvirt(&vg_enum_domain_state, state);
    out->reason_case = VIRTGRPC__V1__DOMAIN_STATE_INFO__REASON__NOT_SET;
    if (state >= 0 && (size_t)state < sizeof(vg_state_reasons) / sizeof(vg_state_reasons[0]) &&
        vg_state_reasons[state].reasons) {
        out->reason_case = vg_state_reasons[state].reason_case;
        /* Every member of the reason oneof is an enum in the same union: writing one
         * writes the value the case selects. */
        out->running_reason = vg_enum_from_libvirt(vg_state_reasons[state].reasons, reason);
    }
}

/* `known_state` >= 0: the state and reason were just read (no virDomainGetState). */
static int
vg_domain_fill_common(vg_call *call, virDomainPtr domain, Virtgrpc__V1__Domain *out,
                      bool may_be_gone, int gone_state, int gone_reason, int known_state,
                      int known_reason)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    unsigned int id;
    int state = known_state;
    int reason = known_reason;

    /* UUID and name are cached in the handle: no round trip to libvirtd. */
    if (virDomainGetUUIDString(domain, uuid) < 0)
        return vg_call_fail_libvirt(call);
    out->uuid = vg_call_strdup(call, uuid);
    out->name = vg_call_strdup(call, virDomainGetName(domain));

    out->state = VG_NEW(call, Virtgrpc__V1__DomainStateInfo,
                        virtgrpc__v1__domain_state_info__init);
    if (known_state < 0 && virDomainGetState(domain, &state, &reason, 0) < 0) {
        virErrorPtr error = virGetLastError();

        if (!may_be_gone || !error || error->code != VIR_ERR_NO_DOMAIN)
            return vg_call_fail_libvirt(call);
        virResetLastError();
        state = gone_state;
        reason = gone_reason;
    }
    vg_domain_state_set(out->state, state, reason);

    /*
     * The id is cached in the handle too, and a remote handle keeps the id it had when
     * it was looked up: after a destroy it still shows the old id, after a start of a
     * domain looked up while shut off it shows -1. Trust it only when it agrees with the
     * state; otherwise look the domain up again by UUID for the current id.
     */
    out->id = -1;
    if (state != VIR_DOMAIN_SHUTOFF) {
        id = virDomainGetID(domain);
        if (id == (unsigned int)-1) {
            virDomainPtr fresh = virDomainLookupByUUIDString(virDomainGetConnect(domain), uuid);

            if (fresh) {
                id = virDomainGetID(fresh);
                virDomainFree(fresh);
            } else {
                virResetLastError();
            }
        }
        out->id = id == (unsigned int)-1 ? -1 : (int32_t)id;
    }
    return 0;
}

int
vg_domain_fill(vg_call *call, virDomainPtr domain, Virtgrpc__V1__Domain *out)
{
    return vg_domain_fill_common(call, domain, out, false, 0, 0, -1, -1);
}

int
vg_domain_fill_state(vg_call *call, virDomainPtr domain, int state, int reason,
                     Virtgrpc__V1__Domain *out)
{
    return vg_domain_fill_common(call, domain, out, false, 0, 0, state, reason);
}

int
vg_domain_fill_gone(vg_call *call, virDomainPtr domain, int gone_state, int gone_reason,
                    Virtgrpc__V1__Domain *out)
{
    return vg_domain_fill_common(call, domain, out, true, gone_state, gone_reason, -1, -1);
}

/* libvirt's remote protocol refuses peeks over 64 KiB (VIR_ERR_RPC, which would read
 * as UNAVAILABLE): larger peeks are read in pieces of this size. */
#define VG_PEEK_PIECE_BYTES (64 * 1024)

int
vg_peek_check(vg_call *call, const char *offset_field, uint64_t offset, uint32_t size)
{
    size_t max = vg_limit(VG_LIMIT_MAX_PEEK_BYTES);
    char text[VG_BYTES_TEXT_SIZE];

    if (size == 0 || size > max) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'size_bytes' is %u: give 1 to %zu bytes (%s) per peek, the "
                            "server's limit %s", size, max, vg_bytes_text(max, text),
                            vg_limit_option(VG_LIMIT_MAX_PEEK_BYTES));
    }
    if (offset > UINT64_MAX - size) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' %llu + 'size_bytes' %u is beyond 2^64", offset_field,
                            (unsigned long long)offset, size);
    }
    return 0;
}

int
vg_peek_read(vg_call *call, virDomainPtr domain, vg_peek_fn peek, const char *target,
             uint64_t offset, uint32_t size, unsigned int flags, ProtobufCBinaryData *out)
{
    unsigned char *data = vg_call_alloc(call, size);

    for (uint32_t done = 0; done < size;) {
        uint32_t piece = size - done < VG_PEEK_PIECE_BYTES ? size - done : VG_PEEK_PIECE_BYTES;

        if (peek(domain, target, offset + done, piece, data + done, flags) < 0)
            return vg_call_fail_libvirt(call);
        done += piece;
    }
    out->data = data;
    out->len = size;
    return 0;
}

static int
vg_domain_compare_names(const void *a, const void *b)
{
    const Virtgrpc__V1__Domain *const *x = a;
    const Virtgrpc__V1__Domain *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

static void
vg_domain_list_release(void *list)
{
    virDomainPtr *domains = list;

    for (size_t i = 0; domains[i]; i++)
        virDomainFree(domains[i]);
    free(domains);
}

int
vg_domain_list(vg_arena *arena, virConnectPtr conn, unsigned int flags,
               Virtgrpc__V1__Domain ***out, size_t *n_out)
{
    virDomainPtr *domains = NULL;
    virDomainStatsRecordPtr *records = NULL;
    int n;

    *out = NULL;
    *n_out = 0;
    n = virConnectListAllDomains(conn, &domains, flags);
    if (n < 0)
        return -1;
    vg_arena_defer(arena, vg_domain_list_release, domains); /* NULL-terminated */
    if (n == 0)
        return 0;

    /* One call for every domain's state instead of one virDomainGetState each: on a
     * remote libvirtd that is one round trip instead of n. */
    if (virDomainListGetStats(domains, VIR_DOMAIN_STATS_STATE, &records, 0) < 0)
        return -1;
    vg_arena_defer(arena, (void (*)(void *))virDomainStatsRecordListFree, records);

    *out = vg_arena_alloc(arena, sizeof(**out) * (size_t)n);
    for (int i = 0; records[i]; i++) {
        Virtgrpc__V1__Domain *domain = vg_arena_alloc(arena, sizeof(*domain));
        char uuid[VIR_UUID_STRING_BUFLEN];
        unsigned int id = virDomainGetID(records[i]->dom);
        int state = VIR_DOMAIN_NOSTATE;
        int reason = 0;

        virtgrpc__v1__domain__init(domain);
        virDomainGetUUIDString(records[i]->dom, uuid);
        domain->uuid = vg_arena_strdup(arena, uuid);
        domain->name = vg_arena_strdup(arena, virDomainGetName(records[i]->dom));
        domain->id = id == (unsigned int)-1 ? -1 : (int32_t)id;
        virTypedParamsGetInt(records[i]->params, records[i]->nparams, "state.state", &state);
        virTypedParamsGetInt(records[i]->params, records[i]->nparams, "state.reason",
                             &reason);
        domain->state = vg_arena_alloc(arena, sizeof(*domain->state));
        virtgrpc__v1__domain_state_info__init(domain->state);
        vg_domain_state_set(domain->state, state, reason);
        (*out)[(*n_out)++] = domain;
    }
    qsort(*out, *n_out, sizeof(**out), vg_domain_compare_names);
    return 0;
}
