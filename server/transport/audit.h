/*
 * The audit log: one line per call of a mutating RPC (a role above read-only), written
 * when its outcome is known, denied calls included:
 *
 *   time=2026-11-26T06:40:01.123Z listener=tcp who=admin-client role=admin
 *   method=/virtgrpc.v1.DomainService/DestroyDomain domain=test outcome=OK
 *
 * (one line). `who` is the certificate identity on mutual TLS, else the peer address;
 * `domain` the name, uuid:UUID or id:ID of the request's DomainRef (or of the Domain a
 * call returns when the request names none, e.g. DefineDomain); `outcome` the gRPC
 * status code name, followed by `reason=` (the ErrorInfo reason) on failure. Values
 * with spaces, quotes or control characters are double-quoted with \ escapes.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>

#include "server/transport/call.h"

/* Opens the log: "-" is stderr, anything else a file appended to (created 0600).
 * Returns 0, or -1 with `*error` set to a malloc'ed message. */
int vg_audit_open(const char *path, char **error);
void vg_audit_close(void);

/*
 * Records `call` if the log is open and its method's role is above read-only.
 * `request` and `response` may be NULL (not decoded, failed, streams). One write(2) per
 * line with O_APPEND and no lock: lines from concurrent calls never interleave.
 */
void vg_audit_call(vg_call *call, const ProtobufCMessage *request,
                   const ProtobufCMessage *response);
