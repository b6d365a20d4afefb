/*
 * Internals shared by the client's source files; not installed, not part of the API.
 * Everything here is hidden from the shared library's symbol table.
 */
#pragma once

#include <stdarg.h>

#include <grpc/grpc.h>

#include <virtgrpc/vg-client.h>

#define VG_INTERNAL __attribute__((visibility("hidden")))

struct vg_client {
    grpc_channel *channel;       /* thread-safe: every call is created on it */
    int64_t default_deadline_ms; /* < 0: no deadline */
};

/* An absolute deadline for a call made now, from the API's relative `deadline_ms`. */
VG_INTERNAL gpr_timespec vg_client_deadline(const vg_client *client,
                                            int64_t deadline_ms);

/* A new call on `cq` to `method_path` (copied). */
VG_INTERNAL grpc_call *vg_client_create_call(vg_client *client, grpc_completion_queue *cq,
                                             const char *method_path, int64_t deadline_ms);

/* Shuts `cq` down, drains it and destroys it. Its calls must be unreferenced. */
VG_INTERNAL void vg_client_cq_destroy(grpc_completion_queue *cq);

/* `message` serialized into a new byte buffer for one SEND_MESSAGE. */
VG_INTERNAL grpc_byte_buffer *vg_message_pack(const ProtobufCMessage *message);

/* Decodes and destroys `buffer`. 0 with *message set, -1 with `status` (INTERNAL). */
VG_INTERNAL int vg_message_unpack(grpc_byte_buffer *buffer,
                                  const ProtobufCMessageDescriptor *type,
                                  ProtobufCMessage **message, vg_status *status);

/* A failure found on this side of the wire. Overwrites `status` (NULL: ignored). */
VG_INTERNAL void vg_status_set(vg_status *status, vg_code code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The failure the server (or gRPC core) ended a call with: code, message and, from the
 * `grpc-status-details-bin` trailer, google.rpc.ErrorInfo's reason, domain and libvirt
 * code. `error_string` (core's own diagnostic, may be NULL) stands in for an empty
 * message.
 */
VG_INTERNAL void vg_status_from_call(vg_status *status, grpc_status_code code,
                                     grpc_slice details, const char *error_string,
                                     const grpc_metadata_array *trailing_metadata);
