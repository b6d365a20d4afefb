/*
 * One RPC as its handler sees it. Handlers never touch gRPC core: they read the decoded
 * request, fill the response, and record failures here; the transport turns that into
 * a gRPC status with a google.rpc.ErrorInfo.
 *
 * Memory: everything allocated with vg_call_alloc / vg_call_strdup, and everything
 * registered with vg_call_defer, is released when the call ends, so handlers fill
 * responses without writing free code.
 *
 * Threads: unary handlers run on one thread from start to end. vg_call_send,
 * vg_call_finish, vg_call_ref and vg_call_unref are safe from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "server/transport/method.h"

/* ErrorInfo.domain for failures virtgrpc finds itself (bad requests, limits). */
#define VG_ERROR_DOMAIN "virtgrpc.io"
/* ErrorInfo.domain for failures libvirt reports. */
#define VG_LIBVIRT_ERROR_DOMAIN "libvirt.org"

/* ErrorInfo reasons of virtgrpc's own failures. */
#define VG_REASON_INVALID_REQUEST "VIRTGRPC_INVALID_REQUEST"
#define VG_REASON_LIMIT "VIRTGRPC_LIMIT_EXCEEDED"
#define VG_REASON_UNAVAILABLE "VIRTGRPC_LIBVIRT_DISCONNECTED"
#define VG_REASON_DEADLINE "VIRTGRPC_DEADLINE_EXCEEDED"
#define VG_REASON_SHUTDOWN "VIRTGRPC_SHUTTING_DOWN"
#define VG_REASON_INTERNAL "VIRTGRPC_INTERNAL"
#define VG_REASON_DOMAIN_BUSY "VIRTGRPC_DOMAIN_BUSY"
#define VG_REASON_JOB_FAILED "VIRTGRPC_JOB_FAILED"
#define VG_REASON_JOB_CANCELLED "VIRTGRPC_JOB_CANCELLED"

typedef struct vg_call vg_call;

/*
 * Records a failure and returns -1, so handlers can `return vg_call_fail(...)`.
 * `reason` is the ErrorInfo reason (one of VG_REASON_*). The first failure recorded
 * wins; later ones are ignored.
 */
int vg_call_fail(vg_call *call, grpc_status_code code, const char *reason,
                 const char *format, ...) __attribute__((format(printf, 4, 5)));

/*
 * Records libvirt's last error of the calling thread (libvirt keeps it per thread, so
 * call this in the thread that made the failing libvirt call, right after it) and
 * returns -1. The status code comes from the one error table (server/libvirt-errors.c).
 */
int vg_call_fail_libvirt(vg_call *call);

/*
 * Says whether the libvirt connection still works (set once at start-up by the services).
 * libvirt answers some calls that die with their connection with its generic "cause
 * unknown" INTERNAL error; when the probe says the connection is gone, such a failure is
 * UNAVAILABLE (retry later), like every other failure of a lost connection.
 */
void vg_call_set_libvirt_alive_probe(bool (*alive)(void));

/* Same, appending what the call was about to libvirt's message, when libvirt's own
 * message does not say (e.g. "Domain not found (name 'web1')"). */
int vg_call_fail_libvirt_about(vg_call *call, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* True once a failure is recorded. */
bool vg_call_failed(const vg_call *call);

/* The recorded failure; strings live as long as the call. */
typedef struct vg_call_failure {
    grpc_status_code code;
    const char *message;
    const char *reason;
    int libvirt_code; /* 0 unless libvirt reported it */
} vg_call_failure;
/* Fills `out` and returns true when a failure is recorded. */
bool vg_call_get_failure(vg_call *call, vg_call_failure *out);
/* The recorded failure as a serialized google.rpc.Status with its ErrorInfo (what a
 * client would get in the status trailer); malloc'ed, the caller frees it. */
uint8_t *vg_call_failure_pack(vg_call *call, size_t *length);

/*
 * A call no client made: the server runs a unary handler in the background (a Job)
 * with it. It has no deadline and no peer; failures are recorded as for any call and
 * read with vg_call_get_failure. Sending and streaming functions are not for it. Free
 * with vg_call_unref.
 */
vg_call *vg_call_new_background(const vg_method *method);

/*
 * In-process drivers of streaming handlers (tests/fuzz/): a background call has no
 * client, so these play its part. vg_call_read_start on a background call only records
 * the callback; vg_call_background_deliver hands it one client message (NULL: the
 * half-close), on the calling thread. vg_call_background_cancel ends the call as a
 * client cancel would: `on_done` runs with cancelled = true, later sends fail.
 */
void vg_call_background_deliver(vg_call *call, const ProtobufCMessage *message);
void vg_call_background_cancel(vg_call *call);

/* Call-lifetime memory, zero-filled. Never NULL (aborts on out-of-memory, as glib). */
void *vg_call_alloc(vg_call *call, size_t size);
char *vg_call_strdup(vg_call *call, const char *string);
/* Runs `release(data)` when the call ends, last registered first. */
void vg_call_defer(vg_call *call, void (*release)(void *data), void *data);
/* A protobuf-c allocator that allocates from the call's memory. */
ProtobufCAllocator *vg_call_allocator(vg_call *call);
/* The call's memory itself, for conversion helpers that take an arena. */
struct vg_arena *vg_call_arena(vg_call *call);

/* The method being called. */
const vg_method *vg_call_method(const vg_call *call);
/* The peer's address as gRPC core reports it ("ipv4:127.0.0.1:4242"). */
const char *vg_call_peer(vg_call *call);

/*
 * Streaming. A streaming handler that returns 0 owns the stream until it calls
 * vg_call_finish(); it may keep a reference (vg_call_ref) and send from any thread.
 */
vg_call *vg_call_ref(vg_call *call);
/* Accepts NULL; returns NULL. */
vg_call *vg_call_unref(vg_call *call);

/*
 * Queues one message for the client. Returns 0, or -1 when the call has ended
 * (finished, cancelled) or when its send queue holds `max_queued_messages` already: a
 * client that does not read cannot make the server hold unbounded memory.
 */
int vg_call_send(vg_call *call, const ProtobufCMessage *message);
/* How many messages wait to be sent. */
size_t vg_call_queued(vg_call *call);

/*
 * Ends the call after the queued messages: with OK, or with the failure recorded by
 * vg_call_fail*. Later calls are ignored.
 */
void vg_call_finish(vg_call *call);

/*
 * Called once, on the transport's thread, when the call ends from the client's side
 * (cancel, deadline, disconnect) or after vg_call_finish completed. Must not block.
 * `cancelled` tells which.
 */
typedef void (*vg_call_done_cb)(vg_call *call, bool cancelled, void *data);
void vg_call_on_done(vg_call *call, vg_call_done_cb on_done, void *data);
bool vg_call_is_cancelled(const vg_call *call);

/*
 * Client and bidirectional streaming: delivers each client message to `on_message` on
 * the transport's thread (it must not block; hand blocking work to the worker pool),
 * then `message == NULL` once the client half-closes. The message is freed after the
 * callback returns. A message that does not decode fails the call with
 * INVALID_ARGUMENT.
 */
typedef void (*vg_call_message_cb)(vg_call *call, const ProtobufCMessage *message,
                                   void *data);
int vg_call_read_start(vg_call *call, vg_call_message_cb on_message, void *data);
