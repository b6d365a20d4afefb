/*
 * virtgrpc C client: the connection, status and generic call API that the generated
 * typed functions (vg-client-gen.h, one per RPC) are built on. Users include
 * <virtgrpc/virtgrpc.h>, which pulls in this header, the generated one and the message
 * types, and link one library.
 *
 * All functions return 0 on success and -1 on failure with `status` filled (when not
 * NULL); streaming reads return 1 for a message, 0 at a clean end, -1 on failure.
 * A failure overwrites `status` without freeing what it held, so start from
 * `vg_status status = { 0 };` and call vg_status_clear() after handling each failure.
 * A vg_client may be shared by many threads.
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vg_client vg_client;
typedef struct vg_client_stream vg_client_stream;

/* gRPC status codes (the numbers are fixed by the gRPC spec). */
typedef enum vg_code {
    VG_CODE_OK = 0,
    VG_CODE_CANCELLED = 1,
    VG_CODE_UNKNOWN = 2,
    VG_CODE_INVALID_ARGUMENT = 3,
    VG_CODE_DEADLINE_EXCEEDED = 4,
    VG_CODE_NOT_FOUND = 5,
    VG_CODE_ALREADY_EXISTS = 6,
    VG_CODE_PERMISSION_DENIED = 7,
    VG_CODE_RESOURCE_EXHAUSTED = 8,
    VG_CODE_FAILED_PRECONDITION = 9,
    VG_CODE_ABORTED = 10,
    VG_CODE_OUT_OF_RANGE = 11,
    VG_CODE_UNIMPLEMENTED = 12,
    VG_CODE_INTERNAL = 13,
    VG_CODE_UNAVAILABLE = 14,
    VG_CODE_DATA_LOSS = 15,
    VG_CODE_UNAUTHENTICATED = 16,
} vg_code;

/*
 * The outcome of a failed call. `reason` and the libvirt fields come from the
 * google.rpc.ErrorInfo in the `grpc-status-details-bin` trailer when the server sent one
 * (reason "VIR_ERR_NO_DOMAIN", domain "libvirt.org"); otherwise they are NULL / 0.
 */
typedef struct vg_status {
    vg_code code;
    char *message;       /* the server's status message (libvirt's message) */
    char *reason;        /* ErrorInfo.reason, e.g. "VIR_ERR_NO_DOMAIN" */
    char *error_domain;  /* ErrorInfo.domain, e.g. "libvirt.org" */
    int libvirt_code;    /* virErrorNumber, from ErrorInfo.metadata["code"] */
} vg_status;

/* Frees what a failed call put in `status` and resets it to OK. */
void vg_status_clear(vg_status *status);

typedef struct vg_client_options {
    const char *target;          /* "127.0.0.1:50051" or "unix:/run/virtgrpc.sock" */
    int64_t default_deadline_ms; /* used when a call passes 0; 0 here means 30000 */
    size_t max_message_bytes;    /* largest message received; 0 means 64 MiB */
} vg_client_options;

int vg_client_new(const vg_client_options *options, vg_client **client,
                  vg_status *status);
/* Accepts NULL. Returns NULL. */
vg_client *vg_client_free(vg_client *client);

/*
 * Deadlines: `deadline_ms` is relative to now; 0 uses the client's default, a negative
 * value waits forever.
 */

/* One request, one response. `*response` is unpacked with protobuf-c and must be freed
 * with protobuf_c_message_free_unpacked(response, NULL). */
int vg_client_call_unary(vg_client *client, const char *method_path,
                         const ProtobufCMessage *request,
                         const ProtobufCMessageDescriptor *response_type,
                         ProtobufCMessage **response, int64_t deadline_ms,
                         vg_status *status);

/* Opens a server-streaming (request != NULL) or bidirectional (request == NULL) call. */
int vg_client_stream_open(vg_client *client, const char *method_path,
                          const ProtobufCMessage *request,
                          const ProtobufCMessageDescriptor *response_type,
                          int64_t deadline_ms, vg_client_stream **stream,
                          vg_status *status);
/* Blocks for the next message: 1 with *message set (free it with free_unpacked),
 * 0 when the server ended the stream with OK, -1 with `status` on failure or cancel. */
int vg_client_stream_next(vg_client_stream *stream, ProtobufCMessage **message,
                          vg_status *status);
/* Bidirectional streams only: send one message / half-close the sending side. */
int vg_client_stream_send(vg_client_stream *stream, const ProtobufCMessage *message,
                          vg_status *status);
int vg_client_stream_close_send(vg_client_stream *stream, vg_status *status);
/* Cancels the call; safe from any thread, also while another thread waits in _next. */
void vg_client_stream_cancel(vg_client_stream *stream);
/* Accepts NULL; cancels the call if still open. Returns NULL. */
vg_client_stream *vg_client_stream_free(vg_client_stream *stream);

/* Callback form of a server-streaming read loop: calls `on_message` for each message
 * until the stream ends, the callback returns non-zero (the call is cancelled, and 0 is
 * returned), or an error. The callback does not own `message`. */
typedef int (*vg_client_message_cb)(const ProtobufCMessage *message, void *user_data);
int vg_client_stream_each(vg_client_stream *stream, vg_client_message_cb on_message,
                          void *user_data, vg_status *status);

#ifdef __cplusplus
}
#endif
