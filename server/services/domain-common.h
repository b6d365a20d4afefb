/*
 * What several domain-*.c handler files share beyond service.h: the "resolve, one
 * libvirt call with flags, report the domain" shape, and the checks of request fields
 * that are not flags (a required enum value, a path on the server's host).
 */
#pragma once

#include <libvirt/libvirt.h>

#include "server/services/service.h"

/*
 * Resolves `ref`, runs `action(domain, flags)` and fills `response` with the domain
 * as it is afterwards. When the action made the domain disappear (a transient domain
 * stopped or saved), the response carries `gone_state` / `gone_reason` (libvirt
 * constants) instead of failing NOT_FOUND.
 */
int vg_domain_act_flags(vg_call *call, const Virtgrpc__V1__DomainRef *ref,
                        int (*action)(virDomainPtr, unsigned int), unsigned int flags,
                        int gone_state, int gone_reason, Virtgrpc__V1__Domain *response);

/*
 * Converts a required enum field (one value, not a flag list) to its libvirt constant.
 * INVALID_ARGUMENT naming the field for _UNSPECIFIED (not set) and for numbers the enum
 * does not have.
 */
int vg_request_enum(vg_call *call, const vg_enum_map *map, int value, const char *field,
                    int *libvirt_value);

/* VG_ENUM(call, vg_enum_metadata_type, request, type, &type) */
#define VG_ENUM(call, map, request, field, out)                                            \
    vg_request_enum((call), &(map), (int)(request)->field, #field, (out))

/*
 * Checks a request field that names a file on the server's host (save images, core
 * dumps): not empty and absolute, since a relative path would resolve against the
 * daemon's working directory, which the client knows nothing about.
 */
int vg_request_host_path(vg_call *call, const char *field, const char *path);
