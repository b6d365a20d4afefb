/*
 * Conversions between proto enum values and libvirt constants, driven by the generated
 * vg_enum_map tables (enum-map.h). Pure functions: no libvirt calls, no gRPC.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "server/enum-map.h"

/*
 * ORs the libvirt constants of `values` (a protobuf-c repeated enum field) into
 * `*flags`. Returns 0, or -1 when a value has no libvirt constant (an unknown number, or
 * the _UNSPECIFIED zero value): then `*bad_value` holds it and `*flags` is untouched.
 */
int vg_enum_flags_to_libvirt(const vg_enum_map *map, const int *values, size_t n_values,
                             unsigned int *flags, int *bad_value);

/* The libvirt constant of one proto value. Returns 0, or -1 when it has none. */
int vg_enum_to_libvirt(const vg_enum_map *map, int proto_value, int64_t *libvirt_value);

/* The proto value of a libvirt constant; 0 (the _UNSPECIFIED value) when the map has
 * no entry, e.g. for a constant newer libvirt added. */
int vg_enum_from_libvirt(const vg_enum_map *map, int64_t libvirt_value);

/* Expands a libvirt bitmask into proto values: writes up to `max_values` values and
 * returns how many bits matched entries. Bits without an entry are ignored. */
size_t vg_enum_flags_from_libvirt(const vg_enum_map *map, uint64_t flags, int *values,
                                  size_t max_values);
