/*
 * MigrationService: migrating a domain to another host (virDomainMigrateToURI3 for
 * peer-to-peer, virDomainMigrate3 over a destination connection virtgrpcd opens itself
 * otherwise, since a remote client cannot hand over a virConnectPtr) and the per-domain
 * migration tunables. The request's flags and parameters are checked in
 * migration-params.c before anything is looked up.
 */

#include "server/services/migration-params.h"
#include "server/services/service.h"
#include "vg-methods.h"

static void
vg_connection_close(void *conn)
{
    virConnectClose(conn);
}

int
vgh_migration_service_migrate_domain(vg_call *call,
                                     const Virtgrpc__V1__MigrateDomainRequest *request,
                                     Virtgrpc__V1__MigrateDomainResponse *response)
{
    virTypedParameterPtr params = NULL;
    virDomainPtr domain;
    virDomainPtr moved;
    virConnectPtr dconn;
    unsigned int flags = 0;
    int n_params = 0;

    if (VG_FLAGS(call, vg_enum_migrate_flag, request, flags, &flags) < 0)
        return -1;
    if (!request->dest_uri || !*request->dest_uri) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'dest_uri' is empty: give the destination's libvirt URI, "
                            "e.g. 'qemu+ssh://host2/system'");
    }
    if (vg_migration_flags_check(call, request, flags) < 0 ||
        vg_migration_params_build(call, request, &params, &n_params) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;

    if (flags & VIR_MIGRATE_PEER2PEER) {
        /* The source libvirtd opens dest_uri and drives the migration. */
        if (virDomainMigrateToURI3(domain, request->dest_uri, params, (unsigned)n_params,
                                   flags) < 0)
            return vg_call_fail_libvirt(call);
    } else {
        if (!(dconn = virConnectOpen(request->dest_uri))) {
            return vg_call_fail_libvirt_about(call, "destination '%s'", request->dest_uri);
        }
        vg_call_defer(call, vg_connection_close, dconn);
        if (!(moved = virDomainMigrate3(domain, dconn, params, (unsigned)n_params, flags)))
            return vg_call_fail_libvirt(call);
        vg_domain_adopt(call, moved);
        response->destination =
            VG_NEW(call, Virtgrpc__V1__Domain, virtgrpc__v1__domain__init);
        if (vg_domain_fill(call, moved, response->destination) < 0)
            return -1;
    }
    response->source = VG_NEW(call, Virtgrpc__V1__Domain, virtgrpc__v1__domain__init);
    /* A transient or UNDEFINE_SOURCE domain is gone from this host once it has left. */
    return vg_domain_fill_gone(call, domain, VIR_DOMAIN_SHUTOFF,
                               VIR_DOMAIN_SHUTOFF_MIGRATED, response->source);
}

/* The tunables' shapes: a 64-bit value per domain, read or written with flags. */
typedef int (*vg_migration_get_fn)(virDomainPtr domain, unsigned long long *value,
                                   unsigned int flags);
typedef int (*vg_migration_set_fn)(virDomainPtr domain, unsigned long long value,
                                   unsigned int flags);

static int
vg_migration_get(vg_call *call, const Virtgrpc__V1__DomainRef *ref, vg_migration_get_fn get,
                 unsigned int flags, uint64_t *value, protobuf_c_boolean *has_value)
{
    virDomainPtr domain = vg_domain_lookup(call, ref);
    unsigned long long read;

    if (!domain)
        return -1;
    if (get(domain, &read, flags) < 0)
        return vg_call_fail_libvirt(call);
    *value = read;
    *has_value = 1;
    return 0;
}

/* `field` names the request's value, required: proto2 presence tells 0 from unset. */
static int
vg_migration_set(vg_call *call, const Virtgrpc__V1__DomainRef *ref, vg_migration_set_fn set,
                 const char *field, protobuf_c_boolean has_value, uint64_t value,
                 unsigned int flags)
{
    virDomainPtr domain;

    if (!has_value) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' is not set: give the new value", field);
    }
    if (!(domain = vg_domain_lookup(call, ref)))
        return -1;
    if (set(domain, value, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

/* The speed calls take an `unsigned long`; vg_migration_bandwidth_check keeps the value
 * within it. */
static int
vg_max_speed_get(virDomainPtr domain, unsigned long long *value, unsigned int flags)
{
    unsigned long mibs;

    if (virDomainMigrateGetMaxSpeed(domain, &mibs, flags) < 0)
        return -1;
    *value = mibs;
    return 0;
}

static int
vg_max_speed_set(virDomainPtr domain, unsigned long long value, unsigned int flags)
{
    return virDomainMigrateSetMaxSpeed(domain, (unsigned long)value, flags);
}

int
vgh_migration_service_get_domain_migration_max_downtime(
    vg_call *call, const Virtgrpc__V1__GetDomainMigrationMaxDowntimeRequest *request,
    Virtgrpc__V1__GetDomainMigrationMaxDowntimeResponse *response)
{
    /* flags: reserved */
    return vg_migration_get(call, request->domain, virDomainMigrateGetMaxDowntime, 0,
                            &response->downtime_ms, &response->has_downtime_ms);
}

int
vgh_migration_service_set_domain_migration_max_downtime(
    vg_call *call, const Virtgrpc__V1__SetDomainMigrationMaxDowntimeRequest *request,
    Virtgrpc__V1__SetDomainMigrationMaxDowntimeResponse *response)
{
    (void)response;
    return vg_migration_set(call, request->domain, virDomainMigrateSetMaxDowntime,
                            "downtime_ms", request->has_downtime_ms, request->downtime_ms,
                            0);
}

int
vgh_migration_service_get_domain_migration_max_speed(
    vg_call *call, const Virtgrpc__V1__GetDomainMigrationMaxSpeedRequest *request,
    Virtgrpc__V1__GetDomainMigrationMaxSpeedResponse *response)
{
    unsigned int flags = 0;

    if (VG_FLAGS(call, vg_enum_migrate_max_speed_flag, request, flags, &flags) < 0)
        return -1;
    return vg_migration_get(call, request->domain, vg_max_speed_get, flags,
                            &response->bandwidth_mibs, &response->has_bandwidth_mibs);
}

int
vgh_migration_service_set_domain_migration_max_speed(
    vg_call *call, const Virtgrpc__V1__SetDomainMigrationMaxSpeedRequest *request,
    Virtgrpc__V1__SetDomainMigrationMaxSpeedResponse *response)
{
    unsigned int flags = 0;

    (void)response;
    if (VG_FLAGS(call, vg_enum_migrate_max_speed_flag, request, flags, &flags) < 0 ||
        vg_migration_bandwidth_check(call, "bandwidth_mibs", request->bandwidth_mibs) < 0)
        return -1;
    return vg_migration_set(call, request->domain, vg_max_speed_set, "bandwidth_mibs",
                            request->has_bandwidth_mibs, request->bandwidth_mibs, flags);
}

int
vgh_migration_service_get_domain_migration_compression_cache(
    vg_call *call, const Virtgrpc__V1__GetDomainMigrationCompressionCacheRequest *request,
    Virtgrpc__V1__GetDomainMigrationCompressionCacheResponse *response)
{
    /* flags: reserved */
    return vg_migration_get(call, request->domain, virDomainMigrateGetCompressionCache, 0,
                            &response->cache_bytes, &response->has_cache_bytes);
}

int
vgh_migration_service_set_domain_migration_compression_cache(
    vg_call *call, const Virtgrpc__V1__SetDomainMigrationCompressionCacheRequest *request,
    Virtgrpc__V1__SetDomainMigrationCompressionCacheResponse *response)
{
    (void)response;
    return vg_migration_set(call, request->domain, virDomainMigrateSetCompressionCache,
                            "cache_bytes", request->has_cache_bytes, request->cache_bytes,
                            0);
}

int
vgh_migration_service_start_domain_migration_post_copy(
    vg_call *call, const Virtgrpc__V1__StartDomainMigrationPostCopyRequest *request,
    Virtgrpc__V1__StartDomainMigrationPostCopyResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);

    (void)response;
    if (!domain)
        return -1;
    if (virDomainMigrateStartPostCopy(domain, 0) < 0) /* flags: reserved */
        return vg_call_fail_libvirt(call);
    return 0;
}
