/*
 * Transport internals shared by server.c (accepting and dispatching calls) and call.c
 * (one call's state machine). Nothing outside server/transport/ includes this.
 */
#pragma once

#include <grpc/grpc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "server/runtime/arena.h"
#include "server/transport/call.h"
#include "server/transport/listeners.h"
#include "server/transport/server.h"

/* A completion-queue tag: the CQ thread calls on_complete(tag, ok). */
typedef struct vg_tag {
    void (*on_complete)(struct vg_tag *tag, bool ok);
} vg_tag;

typedef struct vg_send_item {
    struct vg_send_item *next;
    grpc_byte_buffer *buffer;
} vg_send_item;

/* Bytes of call-lifetime memory kept inside the call, so most unary calls need no
 * extra allocation for their request, response and strings. */
#define VG_CALL_INLINE_ARENA 2048

/*
 * Reference counting: the transport holds one reference until RECV_CLOSE_ON_SERVER
 * completes (the call is over for gRPC core), every batch in flight holds one, and
 * streaming handlers take their own with vg_call_ref.
 */
struct vg_call {
    atomic_int refs;
    vg_server *server;
    const vg_method *method; /* NULL for an unknown method */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array request_metadata;
    grpc_byte_buffer *request_payload;
    bool is_stream;
    char *peer;
    /* Admission (admission.c): the client this call counts for, and as what. */
    struct vg_client *client;
    int client_kind;

    /* Who calls (authz.c), set on the CQ thread before dispatch, then read-only. */
    const vg_listener_config *listener; /* NULL for background calls */
    vg_role role;
    const char *identity; /* certificate identity on mutual TLS, in the arena */

    vg_arena arena;
    ProtobufCAllocator allocator;

    /* The recorded failure (first one wins); strings live in the arena. */
    bool failed;
    grpc_status_code code;
    const char *message;
    const char *reason;
    const char *error_domain;
    int libvirt_code;
    int libvirt_domain;

    /* Sending. Protected by `lock`. */
    pthread_mutex_t lock;
    vg_send_item *send_head;
    vg_send_item *send_tail;
    size_t n_queued;
    grpc_byte_buffer *in_flight; /* the message being sent */
    bool initial_metadata_sent;
    bool finish_requested;
    bool status_started;
    bool closed;     /* RECV_CLOSE_ON_SERVER completed */
    int cancelled;   /* set by gRPC core with RECV_CLOSE_ON_SERVER */
    /* Stall detection for streams ended with messages still unsent (server.c's sweep
     * through vg_call_stalled): sends completed, and when that count last moved. */
    uint64_t sends_completed;
    uint64_t stall_sends_seen;
    uint64_t stall_since_ms;
    bool stall_cancelled;

    /* Storage that must outlive the status batch. */
    grpc_metadata trailer;
    grpc_slice status_message;

    vg_call_done_cb on_done;
    void *on_done_data;
    vg_call_message_cb on_message;
    void *on_message_data;
    grpc_byte_buffer *recv_buffer;

    vg_tag unary_tag;
    vg_tag send_tag;
    vg_tag status_tag;
    vg_tag close_tag;
    vg_tag recv_tag;

    char arena_inline[VG_CALL_INLINE_ARENA];
};

/* server.c: what a call needs from its server. */
size_t vg_server_max_queued_messages(const vg_server *server);
void vg_server_call_released(vg_server *server, vg_call *call);
void vg_server_stream_started(vg_server *server, vg_call *call);

/* call.c: used by server.c when a call arrives. */
vg_call *vg_call_new(vg_server *server, const vg_method *method, grpc_call *call,
                     gpr_timespec deadline);
/* Runs a unary handler (or answers a failure recorded already) and sends the result. */
void vg_call_run_unary(vg_call *call);
/* Starts a streaming call: posts RECV_CLOSE_ON_SERVER and runs the handler. */
void vg_call_run_stream(vg_call *call);
/* Decodes a request with `allocator` (the call's arena when it is
 * vg_call_allocator(call)); NULL if there is none or it does not parse. */
ProtobufCMessage *vg_call_unpack(vg_call *call, const ProtobufCMessageDescriptor *type,
                                 grpc_byte_buffer *payload, ProtobufCAllocator *allocator);
/*
 * For server.c's sweep over open streams (loop thread). True when the stream was ended
 * by the server (vg_call_finish) but a message is still waiting for its client and no
 * send has completed for `timeout_ms` up to `now_ms`: the client reads nothing and HTTP/2
 * flow control holds the rest, so the status could never go. The first sweep that sees
 * the stream in that state starts its clock.
 */
bool vg_call_stalled(vg_call *call, uint64_t now_ms, uint64_t timeout_ms);
/* Cancels such a stream with its recorded status (code and message; the ErrorInfo
 * details cannot go with a cancel), which frees its slot now instead of whenever the
 * client reads or disconnects. */
void vg_call_cancel_stalled(vg_call *call, uint64_t stalled_ms);
/* True when the call's deadline has passed. */
bool vg_call_deadline_passed(const vg_call *call);
