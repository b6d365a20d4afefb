/*
 * What a MigrateDomain request may ask for: libvirt's documented rules between the
 * migration flags, and the VIR_MIGRATE_PARAM_* typed-parameter list built from the
 * request's typed fields (only those set), each checked against its range first so
 * that a bad value is INVALID_ARGUMENT naming its field, never a half-started
 * migration.
 */
#pragma once

#include <libvirt/libvirt.h>

#include "server/transport/call.h"
#include "virtgrpc/v1/migration.pb-c.h"

/* Largest migration speed in MiB/s: 2^63 bytes/s, the most QEMU takes (libvirt's QEMU
 * driver refuses more, QEMU_DOMAIN_MIG_BANDWIDTH_MAX) and more than any link carries. */
#define VG_MIGRATION_BANDWIDTH_MAX_MIBS (INT64_MAX >> 20)

/*
 * Checks `flags` (virDomainMigrateFlags) against the request: TUNNELLED needs PEER2PEER
 * and excludes migrate_uri, NON_SHARED_DISK and NON_SHARED_INC exclude each other,
 * NON_SHARED_SYNCHRONOUS_WRITES needs one of them, OFFLINE needs PERSIST_DEST. Returns
 * 0, or -1 with INVALID_ARGUMENT recorded.
 */
int vg_migration_flags_check(vg_call *call,
                             const Virtgrpc__V1__MigrateDomainRequest *request,
                             unsigned int flags);

/*
 * Builds the typed parameters of `request`'s set fields. The array is released when the
 * call ends. Returns 0, or -1 with INVALID_ARGUMENT naming the first bad field (an
 * empty string, a number out of its range, a repeated or unknown compression method).
 */
int vg_migration_params_build(vg_call *call,
                              const Virtgrpc__V1__MigrateDomainRequest *request,
                              virTypedParameterPtr *params, int *n_params);

/* Checks a speed in MiB/s for a migration field or tunable: at most
 * VG_MIGRATION_BANDWIDTH_MAX_MIBS and what `unsigned long` holds. */
int vg_migration_bandwidth_check(vg_call *call, const char *field, uint64_t mibs);
