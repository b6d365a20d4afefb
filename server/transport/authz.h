/*
 * Authorization: who a caller is and whether its role allows a method. Each RPC's
 * required role comes from the generated method table (`option (virtgrpc.v1.role)` in
 * the .proto files); the caller's role from its listener and, on mutual-TLS listeners,
 * from its certificate identity mapped by the role map (the config file's [roles]
 * group: `identity = role`).
 */
#pragma once

#include <stddef.h>

#include "server/transport/call.h"
#include "server/transport/method.h"

/* ErrorInfo reason of a call refused because of the caller's role. */
#define VG_REASON_PERMISSION_DENIED "VIRTGRPC_PERMISSION_DENIED"

/* "read-only", "operator", "admin" ("none" for VG_ROLE_NONE). */
const char *vg_role_name(vg_role role);
/* Parses those names (and the proto names ROLE_READ_ONLY, ...); -1 for anything else. */
int vg_role_parse(const char *text, vg_role *role);

/*
 * Replaces the process-wide role map with a copy of `n` pairs (identity: a certificate
 * common name or subject alternative name, compared exactly). Safe while calls run:
 * calls already admitted keep the role they got. Returns 0, or -1 when an identity is
 * empty or named twice (nothing changes then).
 */
int vg_authz_set_roles(const char *const *identities, const vg_role *roles, size_t n);

/*
 * Checks the caller's role against `method->role`. Returns 0 when allowed; otherwise
 * records PERMISSION_DENIED (reason VG_REASON_PERMISSION_DENIED, a message naming the
 * method, the role it requires and the caller's role) and returns -1. The transport
 * calls it for every call before the handler; JobService.StartJob calls it again for
 * the RPC whose request the job runs.
 */
int vg_call_authorize(vg_call *call, const vg_method *method);

/* The caller's role, and its certificate identity (NULL without one). */
vg_role vg_call_role(const vg_call *call);
const char *vg_call_identity(const vg_call *call);
