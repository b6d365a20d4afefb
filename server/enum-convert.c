#include "server/enum-convert.h"

static const vg_enum_entry *
vg_enum_find_proto(const vg_enum_map *map, int proto_value)
{
    for (size_t i = 0; i < map->n_entries; i++) {
        if (map->entries[i].proto_value == proto_value)
            return &map->entries[i];
    }
    return NULL;
}

int
vg_enum_flags_to_libvirt(const vg_enum_map *map, const int *values, size_t n_values,
                         unsigned int *flags, int *bad_value)
{
    unsigned int result = 0;

    for (size_t i = 0; i < n_values; i++) {
        const vg_enum_entry *entry = vg_enum_find_proto(map, values[i]);

        if (!entry) {
            *bad_value = values[i];
            return -1;
        }
        result |= (unsigned int)entry->libvirt_value;
    }
    *flags |= result;
    return 0;
}

int
vg_enum_to_libvirt(const vg_enum_map *map, int proto_value, int64_t *libvirt_value)
{
    const vg_enum_entry *entry = vg_enum_find_proto(map, proto_value);

    if (!entry)
        return -1;
    *libvirt_value = entry->libvirt_value;
    return 0;
}

int
vg_enum_from_libvirt(const vg_enum_map *map, int64_t libvirt_value)
{
    for (size_t i = 0; i < map->n_entries; i++) {
        if (map->entries[i].libvirt_value == libvirt_value)
            return map->entries[i].proto_value;
    }
    return 0;
}

size_t
vg_enum_flags_from_libvirt(const vg_enum_map *map, uint64_t flags, int *values,
                           size_t max_values)
{
    size_t n = 0;

    for (size_t i = 0; i < map->n_entries; i++) {
        uint64_t bit = (uint64_t)map->entries[i].libvirt_value;

        if (bit && (flags & bit) == bit) {
            if (n < max_values)
                values[n] = map->entries[i].proto_value;
            n++;
        }
    }
    return n;
}
