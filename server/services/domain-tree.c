#include "server/services/domain-tree.h"

#include <stdlib.h>
#include <string.h>

int
vg_tree_ref_check(vg_call *call, const char *field, bool is_set, const char *name)
{
    if (!is_set) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' is not set: give its 'domain' and 'name'", field);
    }
    if (!name || !*name) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s.name' is empty: give the %s's name", field, field);
    }
    return 0;
}

int
vg_tree_list_flags(vg_call *call, const vg_enum_map *map, const void *values,
                   size_t n_values, const char *field, int wrong_value,
                   const char *wrong_use, unsigned int *flags)
{
    const int *filters = values;

    for (size_t i = 0; i < n_values; i++) {
        if (filters[i] != wrong_value)
            continue;
        for (size_t e = 0; e < map->n_entries; e++) {
            if (map->entries[e].proto_value != wrong_value)
                continue;
            return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                                VG_REASON_INVALID_REQUEST,
                                "field '%s' has %s, which applies only to %s", field,
                                map->entries[e].name, wrong_use);
        }
    }
    return vg_service_flags(call, map, values, n_values, field, flags);
}

static int
vg_tree_compare_handles(const void *a, const void *b, void *name_fn)
{
    vg_tree_name_fn name = *(vg_tree_name_fn *)name_fn;

    return strcmp(name(*(void *const *)a), name(*(void *const *)b));
}

void
vg_tree_sort_handles(void **handles, size_t n, vg_tree_name_fn name)
{
    qsort_r(handles, n, sizeof(*handles), vg_tree_compare_handles, &name);
}

static int
vg_tree_compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
vg_tree_sort_names(char **names, size_t n)
{
    qsort(names, n, sizeof(*names), vg_tree_compare_names);
}
