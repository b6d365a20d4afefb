/*
 * Proto enums <-> libvirt constants. Every proto enum value that stands for a libvirt
 * constant carries the option `(virtgrpc.v1.libvirt) = "VIR_..."`; the generator turns
 * each such enum into one vg_enum_map (vg-enums.c, declared in vg-enums.h), so the C
 * compiler checks every constant name and no mapping is written by hand.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct vg_enum_entry {
    int proto_value;       /* the proto enum number */
    int64_t libvirt_value; /* the libvirt constant's value */
    const char *name;      /* the proto value name, e.g. "START_FLAG_PAUSED" */
} vg_enum_entry;

typedef struct vg_enum_map {
    const char *full_name; /* "virtgrpc.v1.StartFlag" */
    size_t n_entries;
    const vg_enum_entry *entries; /* only annotated values; never _UNSPECIFIED */
} vg_enum_map;
