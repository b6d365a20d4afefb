/*
 * MigrateDomain's flags rules and VIR_MIGRATE_PARAM_* list (migration-params.h). The
 * parameters are described by tables, one row per request field, so that adding one is
 * one line and every field is checked and converted the same way.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "server/services/domain-params.h"
#include "server/services/migration-params.h"

typedef Virtgrpc__V1__MigrateDomainRequest vg_migrate_request;

/* A string parameter: the request field is NULL when unset. */
typedef struct vg_migration_string {
    const char *field;
    const char *param;
    size_t offset;
} vg_migration_string;

#define VG_STRING(field, param)                                                            \
    {                                                                                      \
#field, param, offsetof(vg_migrate_request, field)                                 \
    }

static const vg_migration_string vg_migration_strings[] = {
    VG_STRING(migrate_uri, VIR_MIGRATE_PARAM_URI),
    VG_STRING(dest_name, VIR_MIGRATE_PARAM_DEST_NAME),
    VG_STRING(dest_xml, VIR_MIGRATE_PARAM_DEST_XML),
    VG_STRING(persist_xml, VIR_MIGRATE_PARAM_PERSIST_XML),
    VG_STRING(graphics_uri, VIR_MIGRATE_PARAM_GRAPHICS_URI),
    VG_STRING(listen_address, VIR_MIGRATE_PARAM_LISTEN_ADDRESS),
    VG_STRING(disks_uri, VIR_MIGRATE_PARAM_DISKS_URI),
    VG_STRING(tls_destination, VIR_MIGRATE_PARAM_TLS_DESTINATION),
};

/*
 * A number parameter: proto2 `has_` presence, a uint64 field for libvirt's ULLONG
 * parameters and a uint32 one for its INT parameters, and the range the hypervisor
 * accepts (QEMU's, the only driver with migration parameters: levels 0-9, thread and
 * connection counts 1-255, throttle percentages 1-99, a TCP port).
 */
typedef struct vg_migration_number {
    const char *field;
    const char *param;
    size_t has_offset;
    size_t offset;
    int type; /* VIR_TYPED_PARAM_ULLONG or VIR_TYPED_PARAM_INT */
    uint64_t min;
    uint64_t max;
} vg_migration_number;

#define VG_NUMBER(field, param, type, min, max)                                            \
    {                                                                                      \
#field, param, offsetof(vg_migrate_request, has_##field),                          \
            offsetof(vg_migrate_request, field), type, min, max                            \
    }

static const vg_migration_number vg_migration_numbers[] = {
    VG_NUMBER(bandwidth_mibs, VIR_MIGRATE_PARAM_BANDWIDTH, VIR_TYPED_PARAM_ULLONG, 0,
              VG_MIGRATION_BANDWIDTH_MAX_MIBS),
    VG_NUMBER(bandwidth_postcopy_mibs, VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY,
              VIR_TYPED_PARAM_ULLONG, 0, VG_MIGRATION_BANDWIDTH_MAX_MIBS),
    VG_NUMBER(disks_port, VIR_MIGRATE_PARAM_DISKS_PORT, VIR_TYPED_PARAM_INT, 0, 65535),
    VG_NUMBER(compression_mt_level, VIR_MIGRATE_PARAM_COMPRESSION_MT_LEVEL,
              VIR_TYPED_PARAM_INT, 0, 9),
    VG_NUMBER(compression_mt_threads, VIR_MIGRATE_PARAM_COMPRESSION_MT_THREADS,
              VIR_TYPED_PARAM_INT, 1, 255),
    VG_NUMBER(compression_mt_dthreads, VIR_MIGRATE_PARAM_COMPRESSION_MT_DTHREADS,
              VIR_TYPED_PARAM_INT, 1, 255),
    VG_NUMBER(compression_xbzrle_cache_bytes, VIR_MIGRATE_PARAM_COMPRESSION_XBZRLE_CACHE,
              VIR_TYPED_PARAM_ULLONG, 0, UINT64_MAX),
    VG_NUMBER(auto_converge_initial_percent, VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL,
              VIR_TYPED_PARAM_INT, 1, 99),
    VG_NUMBER(auto_converge_increment_percent, VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT,
              VIR_TYPED_PARAM_INT, 1, 99),
    VG_NUMBER(parallel_connections, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS,
              VIR_TYPED_PARAM_INT, 1, 255),
};

/* libvirt's names of the MigrationCompression values (strings, not constants). */
static const char *const vg_migration_compression_names[] = {
    [VIRTGRPC__V1__MIGRATION_COMPRESSION__MIGRATION_COMPRESSION_XBZRLE] = "xbzrle",
    [VIRTGRPC__V1__MIGRATION_COMPRESSION__MIGRATION_COMPRESSION_MT] = "mt",
};

#define VG_COUNT(array) (sizeof(array) / sizeof((array)[0]))

#define VG_INVALID(call, ...)                                                              \
    vg_call_fail((call), GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,          \
                 __VA_ARGS__)

int
vg_migration_flags_check(vg_call *call, const vg_migrate_request *request,
                         unsigned int flags)
{
    const unsigned int non_shared =
        VIR_MIGRATE_NON_SHARED_DISK | VIR_MIGRATE_NON_SHARED_INC;

    if ((flags & VIR_MIGRATE_TUNNELLED) && !(flags & VIR_MIGRATE_PEER2PEER)) {
        return VG_INVALID(call, "'flags' has MIGRATE_FLAG_TUNNELLED without "
                                "MIGRATE_FLAG_PEER2PEER: a tunnelled migration is "
                                "peer-to-peer");
    }
    if ((flags & VIR_MIGRATE_TUNNELLED) && request->migrate_uri) {
        return VG_INVALID(call, "'migrate_uri' is set with MIGRATE_FLAG_TUNNELLED: a "
                                "tunnelled migration's data goes over the libvirtd "
                                "connection");
    }
    if ((flags & non_shared) == non_shared) {
        return VG_INVALID(call, "'flags' has both MIGRATE_FLAG_NON_SHARED_DISK and "
                                "MIGRATE_FLAG_NON_SHARED_INC: choose one");
    }
    if ((flags & VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES) && !(flags & non_shared)) {
        return VG_INVALID(call, "'flags' has MIGRATE_FLAG_NON_SHARED_SYNCHRONOUS_WRITES "
                                "without MIGRATE_FLAG_NON_SHARED_DISK or "
                                "MIGRATE_FLAG_NON_SHARED_INC: it applies to a disk copy");
    }
    if ((flags & VIR_MIGRATE_OFFLINE) && !(flags & VIR_MIGRATE_PERSIST_DEST)) {
        return VG_INVALID(call, "'flags' has MIGRATE_FLAG_OFFLINE without "
                                "MIGRATE_FLAG_PERSIST_DEST: an offline migration only "
                                "defines the domain on the destination");
    }
    return 0;
}

int
vg_migration_bandwidth_check(vg_call *call, const char *field, uint64_t mibs)
{
    uint64_t max = VG_MIGRATION_BANDWIDTH_MAX_MIBS < ULONG_MAX
                       ? VG_MIGRATION_BANDWIDTH_MAX_MIBS
                       : (uint64_t)ULONG_MAX;

    if (mibs > max) {
        return VG_INVALID(call,
                          "'%s' is %llu MiB/s, more than the largest migration speed "
                          "(%llu MiB/s)",
                          field, (unsigned long long)mibs, (unsigned long long)max);
    }
    return 0;
}

/* Adds a set string field; "" is refused (libvirt would read it as a real value). */
static int
vg_add_string(vg_call *call, const char *field, const char *param, const char *value,
              virTypedParameterPtr *params, int *n_params, int *max_params)
{
    if (!*value) {
        return VG_INVALID(
            call, "'%s' is set but empty: leave it unset for libvirt's default", field);
    }
    if (virTypedParamsAddString(params, n_params, max_params, param, value) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

static int
vg_add_number(vg_call *call, const vg_migrate_request *request,
              const vg_migration_number *number, virTypedParameterPtr *params,
              int *n_params, int *max_params)
{
    const char *base = (const char *)request;
    uint64_t value;
    int rc;

    if (!*(const protobuf_c_boolean *)(base + number->has_offset))
        return 0;
    if (number->type == VIR_TYPED_PARAM_ULLONG)
        value = *(const uint64_t *)(base + number->offset);
    else
        value = *(const uint32_t *)(base + number->offset);
    if (value < number->min || value > number->max) {
        return VG_INVALID(call, "'%s' is %llu, outside %llu to %llu", number->field,
                          (unsigned long long)value, (unsigned long long)number->min,
                          (unsigned long long)number->max);
    }
    if (number->type == VIR_TYPED_PARAM_ULLONG)
        rc = virTypedParamsAddULLong(params, n_params, max_params, number->param, value);
    else
        rc = virTypedParamsAddInt(params, n_params, max_params, number->param, (int)value);
    if (rc < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

/* Adds each compression method once ("compression" is a multi-value parameter). */
static int
vg_add_compression(vg_call *call, const vg_migrate_request *request,
                   virTypedParameterPtr *params, int *n_params, int *max_params)
{
    unsigned int seen = 0;

    for (size_t i = 0; i < request->n_compression; i++) {
        int method = (int)request->compression[i];
        const char *name =
            method > 0 && (size_t)method < VG_COUNT(vg_migration_compression_names)
                ? vg_migration_compression_names[method]
                : NULL;

        if (!name) {
            return VG_INVALID(call, "'compression' has %d, not a compression method",
                              method);
        }
        if (seen & (1u << method)) {
            return VG_INVALID(call, "'compression' names '%s' twice", name);
        }
        seen |= 1u << method;
        if (virTypedParamsAddString(params, n_params, max_params,
                                    VIR_MIGRATE_PARAM_COMPRESSION, name) < 0)
            return vg_call_fail_libvirt(call);
    }
    return 0;
}

static int
vg_add_all(vg_call *call, const vg_migrate_request *request, virTypedParameterPtr *params,
           int *n_params, int *max_params)
{
    const char *base = (const char *)request;

    for (size_t i = 0; i < VG_COUNT(vg_migration_strings); i++) {
        const vg_migration_string *string = &vg_migration_strings[i];
        const char *value = *(char *const *)(base + string->offset);

        if (value && vg_add_string(call, string->field, string->param, value, params,
                                   n_params, max_params) < 0)
            return -1;
    }
    for (size_t i = 0; i < VG_COUNT(vg_migration_numbers); i++) {
        if (vg_add_number(call, request, &vg_migration_numbers[i], params, n_params,
                          max_params) < 0)
            return -1;
    }
    for (size_t i = 0; i < request->n_migrate_disks; i++) {
        if (vg_add_string(call, "migrate_disks", VIR_MIGRATE_PARAM_MIGRATE_DISKS,
                          request->migrate_disks[i], params, n_params, max_params) < 0)
            return -1;
    }
    return vg_add_compression(call, request, params, n_params, max_params);
}

int
vg_migration_params_build(vg_call *call, const vg_migrate_request *request,
                          virTypedParameterPtr *params, int *n_params)
{
    virTypedParameterPtr built = NULL;
    int n_built = 0;
    int max_built = 0;
    int rc = vg_add_all(call, request, &built, &n_built, &max_built);

    /* Owned by the call from here on, also when a later field was refused. */
    if (built)
        vg_domain_params_own(call, built, n_built, false);
    if (rc < 0)
        return -1;
    *params = built;
    *n_params = n_built;
    return 0;
}
