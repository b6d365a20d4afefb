/*
 * libvirt typed parameters (virTypedParameter) <-> virtgrpc.v1.TypedParameter.
 * Setters validate every name and type against what libvirt reported for the same call
 * (its getter), so a typo or a wrong type is INVALID_ARGUMENT with a message naming the
 * field, not a half-applied change.
 */
#pragma once

#include <libvirt/libvirt.h>
#include <stddef.h>

#include "server/runtime/arena.h"
#include "virtgrpc/v1/typed_parameter.pb-c.h"

/* Converts `n_params` libvirt parameters into messages allocated in `arena` (strings
 * copied). Unknown libvirt types (newer libvirt) are skipped. */
void vg_typed_params_to_proto(vg_arena *arena, const virTypedParameter *params,
                              int n_params, Virtgrpc__V1__TypedParameter ***out,
                              size_t *n_out);

/*
 * Converts messages into a libvirt parameter array (free with virTypedParamsFree).
 * When `known` is given, each name must appear in it with the same type. Returns 0, or
 * -1 with a message in `error` (e.g. "unknown parameter 'cpu_share'; known: ...",
 * "parameter 'weight' is uint32 but the request sets string_value").
 */
int vg_typed_params_from_proto(Virtgrpc__V1__TypedParameter *const *in, size_t n_in,
                               const virTypedParameter *known, int n_known,
                               virTypedParameterPtr *out, int *n_out, char *error,
                               size_t error_size);
