/*
 * libvirt typed parameters (a flat list of "dotted.key" = value) -> one typed protobuf-c
 * message, driven by the message's descriptor, so that bulk stats and job statistics
 * need no per-key code: a field's name is the key's name.
 *
 * How a key finds its field, at a message M (starting with `out`):
 *   - The key is split at '.'; each part is normalised ('-' -> '_', camelCase ->
 *     snake_case: "last-update" -> "last_update", "backingIndex" -> "backing_index").
 *   - The longest run of leading parts, joined with '_', that names a field of M wins:
 *     "rx.bytes" -> rx_bytes, "net.count" -> net_count, "cpu.haltpoll.success.time" ->
 *     haltpoll_success_time inside the `cpu` message.
 *   - A singular message field consumes its part(s) and the rest of the key is looked up
 *     in that (created on first use) sub-message: "balloon.current" -> balloon.current.
 *   - A repeated message field must be followed by a number N: the element whose
 *     `index` field is N (appended, with `index` = N, on first use) takes the rest:
 *     "net.1.rx.bytes" -> net[index 1].rx_bytes.
 *   - A number right after a singular message's part selects that message's one
 *     repeated message field with an `index` the same way: "vcpu.3.time" ->
 *     vcpu.vcpus[index 3].time.
 *   - A scalar field takes the value when it consumes the last part and the value
 *     converts: integers of any libvirt width into any proto integer field whose range
 *     holds the value, enum fields through the generated vg_enum_map of the field's
 *     enum type (libvirt constant -> proto value), double, bool and string as they are.
 * Every parameter that finds no field, or whose value does not convert (a type this
 * build did not expect, an enum value newer than this build), is kept with its full
 * key in `out`'s `repeated TypedParameter unknown` field: nothing libvirt reports is
 * dropped. A field named `index` is never set from a key, nor is `unknown`. A group or
 * element is created by the first key that names it, even when that key itself then
 * goes to `unknown` ("vcpu.2.exits" alone yields vcpus[index 2] with only its index).
 *
 * Pure: no libvirt calls (only its types), no gRPC; all memory from `arena`.
 */
#pragma once

#include <libvirt/libvirt.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "server/enum-map.h"
#include "server/runtime/arena.h"

/* The enum maps enum fields may use (the generated vg_enum_maps / vg_enum_maps_count),
 * looked up by the enum's full name. */
typedef struct vg_enum_maps_ref {
    const vg_enum_map *const *maps;
    size_t n_maps;
} vg_enum_maps_ref;

/*
 * Fills `out` (an initialised message whose descriptor has a `repeated
 * virtgrpc.v1.TypedParameter unknown` field) from `params`. Strings are copied into
 * `arena`. Returns how many parameters went to `unknown`, or -1 when `out`'s type has
 * no `unknown` field of that type (a programming error; nothing is filled).
 */
int vg_typed_params_to_message(vg_arena *arena, const virTypedParameter *params,
                               int n_params, const vg_enum_maps_ref *enums,
                               ProtobufCMessage *out);
