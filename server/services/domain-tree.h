/*
 * What the snapshot and checkpoint handlers share: both are trees of named objects
 * under a domain, addressed by (domain, name), listed with the same kind of filter
 * flags (whose bit 0 means ROOTS for a domain's listing but DESCENDANTS for a node's
 * children) and returned sorted by name unless the client asked for parents first.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "server/services/service.h"

/*
 * Checks the name part of a SnapshotRef / CheckpointRef before anything is looked up:
 * `field` ("snapshot") must be set and its name not empty. INVALID_ARGUMENT otherwise.
 */
int vg_tree_ref_check(vg_call *call, const char *field, bool is_set, const char *name);

/*
 * Converts listing filters like VG_FLAGS, first refusing `wrong_value` (the proto value
 * whose libvirt bit means something else in this call: ROOTS for children listings,
 * DESCENDANTS for a domain's) with INVALID_ARGUMENT that says where it applies.
 */
int vg_tree_list_flags(vg_call *call, const vg_enum_map *map, const void *values,
                       size_t n_values, const char *field, int wrong_value,
                       const char *wrong_use, unsigned int *flags);

/* VG_TREE_FLAGS(call, vg_enum_snapshot_list_flag, request, filters,
 *               VIRTGRPC__V1__..._DESCENDANTS, "ListDomainSnapshotChildren", &flags) */
#define VG_TREE_FLAGS(call, map, request, field, wrong_value, wrong_use, out)              \
    vg_tree_list_flags((call), &(map), (request)->field, (request)->n_##field, #field,     \
                       (wrong_value), (wrong_use), (out))

/* The name of a snapshot or checkpoint handle (virDomainSnapshotGetName...). */
typedef const char *(*vg_tree_name_fn)(void *handle);

/* Sorts libvirt handles by name, so that listings come back in a stable order. */
void vg_tree_sort_handles(void **handles, size_t n, vg_tree_name_fn name);

/* Sorts names (libvirt's ListNames calls return them in hash order). */
void vg_tree_sort_names(char **names, size_t n);
