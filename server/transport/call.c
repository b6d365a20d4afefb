/*
 * One call's state machine: decoding the request, running the handler, the per-call
 * write queue of streams (gRPC core allows one SEND_MESSAGE in flight per call), and the
 * final status with its google.rpc.Status details.
 */
#include "server/transport/call-internal.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <inttypes.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/libvirt-errors.h"
#include "server/limits.h"
#include "server/log.h"
#include "server/transport/admission.h"
#include "server/transport/audit.h"
#include "server/transport/status-details.h"

static void vg_call_unary_done(vg_tag *tag, bool ok);
static void vg_call_send_done(vg_tag *tag, bool ok);
static void vg_call_status_done(vg_tag *tag, bool ok);
static void vg_call_close_done(vg_tag *tag, bool ok);
static void vg_call_recv_done(vg_tag *tag, bool ok);

/* --- memory ---------------------------------------------------------------------- */

static void *
vg_call_pb_alloc(void *data, size_t size)
{
    return vg_call_alloc(data, size);
}

static void
vg_call_pb_free(void *data, void *pointer)
{
    /* Released with the arena. */
}

vg_call *
vg_call_new(vg_server *server, const vg_method *method, grpc_call *grpc_call,
            gpr_timespec deadline)
{
    vg_call *call = malloc(sizeof(*call));

    if (!call)
        abort();
    /* The inline arena is large: clear only the bookkeeping before it. */
    memset(call, 0, offsetof(vg_call, arena_inline));
    atomic_init(&call->refs, 1);
    call->server = server;
    call->method = method;
    call->call = grpc_call;
    call->deadline = gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC);
    call->is_stream = method && method->kind != VG_RPC_UNARY;
    vg_arena_init(&call->arena, call->arena_inline, sizeof(call->arena_inline));
    call->allocator.alloc = vg_call_pb_alloc;
    call->allocator.free = vg_call_pb_free;
    call->allocator.allocator_data = call;
    pthread_mutex_init(&call->lock, NULL);
    call->unary_tag.on_complete = vg_call_unary_done;
    call->send_tag.on_complete = vg_call_send_done;
    call->status_tag.on_complete = vg_call_status_done;
    call->close_tag.on_complete = vg_call_close_done;
    call->recv_tag.on_complete = vg_call_recv_done;
    return call;
}

vg_call *
vg_call_new_background(const vg_method *method)
{
    vg_call *call = vg_call_new(NULL, method, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC));

    call->is_stream = false;
    return call;
}

/*
 * The arena itself is not thread-safe, and a stream's memory is used from several
 * threads at once: a worker resolving the domain (vg_domain_lookup defers the handle's
 * release) while the transport thread records a failure for a bad client message or
 * the loop thread ends every stream at shutdown. So each use takes the call's lock
 * (uncontended for unary calls).
 */
void *
vg_call_alloc(vg_call *call, size_t size)
{
    void *memory;

    pthread_mutex_lock(&call->lock);
    memory = vg_arena_alloc(&call->arena, size);
    pthread_mutex_unlock(&call->lock);
    return memory;
}

char *
vg_call_strdup(vg_call *call, const char *string)
{
    char *copy;

    pthread_mutex_lock(&call->lock);
    copy = vg_arena_strdup(&call->arena, string);
    pthread_mutex_unlock(&call->lock);
    return copy;
}

void
vg_call_defer(vg_call *call, void (*release)(void *data), void *data)
{
    pthread_mutex_lock(&call->lock);
    vg_arena_defer(&call->arena, release, data);
    pthread_mutex_unlock(&call->lock);
}

ProtobufCAllocator *
vg_call_allocator(vg_call *call)
{
    return &call->allocator;
}

vg_arena *
vg_call_arena(vg_call *call)
{
    return &call->arena;
}

const vg_method *
vg_call_method(const vg_call *call)
{
    return call->method;
}

const char *
vg_call_peer(vg_call *call)
{
    if (!call->call)
        return "virtgrpcd (background job)";
    if (!call->peer) {
        char *peer = grpc_call_get_peer(call->call);

        call->peer = vg_call_strdup(call, peer ? peer : "unknown");
        gpr_free(peer);
    }
    return call->peer;
}

vg_call *
vg_call_ref(vg_call *call)
{
    atomic_fetch_add(&call->refs, 1);
    return call;
}

vg_call *
vg_call_unref(vg_call *call)
{
    if (!call || atomic_fetch_sub(&call->refs, 1) != 1)
        return NULL;

    while (call->send_head) {
        vg_send_item *next = call->send_head->next;

        grpc_byte_buffer_destroy(call->send_head->buffer);
        free(call->send_head);
        call->send_head = next;
    }
    if (call->in_flight)
        grpc_byte_buffer_destroy(call->in_flight);
    if (call->request_payload)
        grpc_byte_buffer_destroy(call->request_payload);
    if (call->recv_buffer)
        grpc_byte_buffer_destroy(call->recv_buffer);
    grpc_metadata_array_destroy(&call->request_metadata);
    if (call->status_started) {
        grpc_slice_unref(call->trailer.value);
        grpc_slice_unref(call->status_message);
    }
    vg_arena_release(&call->arena);
    if (call->server) /* background calls have neither */
        vg_server_call_released(call->server, call);
    if (call->call)
        grpc_call_unref(call->call);
    pthread_mutex_destroy(&call->lock);
    free(call);
    return NULL;
}

/* --- failures -------------------------------------------------------------------- */

static int
vg_call_record(vg_call *call, grpc_status_code code, const char *reason,
               const char *error_domain, const char *message)
{
    pthread_mutex_lock(&call->lock);
    if (!call->failed) {
        call->failed = true;
        call->code = code;
        call->reason = reason;
        call->error_domain = error_domain;
        call->message = vg_arena_strdup(&call->arena, message);
    }
    pthread_mutex_unlock(&call->lock);
    return -1;
}

int
vg_call_fail(vg_call *call, grpc_status_code code, const char *reason,
             const char *format, ...)
{
    char message[1024];
    va_list args;

    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    return vg_call_record(call, code, reason, VG_ERROR_DOMAIN, message);
}

static bool (*vg_libvirt_alive)(void);

void
vg_call_set_libvirt_alive_probe(bool (*alive)(void))
{
    vg_libvirt_alive = alive;
}

/* The status of libvirt's `error`: the one table, except that libvirt's generic failure
 * on a connection that has just died is UNAVAILABLE. */
static grpc_status_code
vg_libvirt_failure_status(int code, int domain)
{
    grpc_status_code status = vg_libvirt_error_status(code, domain);

    /* The probe makes libvirt calls, which reset the thread's error: callers pass copies. */
    if (status == GRPC_STATUS_INTERNAL && domain == VIR_FROM_NONE && vg_libvirt_alive &&
        !vg_libvirt_alive())
        return GRPC_STATUS_UNAVAILABLE;
    return status;
}

int
vg_call_fail_libvirt_about(vg_call *call, const char *format, ...)
{
    virErrorPtr error = virGetLastError();
    const vg_libvirt_error *entry;
    char message[1024];
    int code, domain;

    if (!error || error->code == VIR_ERR_OK) {
        return vg_call_fail(call, GRPC_STATUS_INTERNAL, VG_REASON_INTERNAL,
                            "libvirt reported a failure without an error");
    }
    entry = vg_libvirt_error_lookup(error->code);
    snprintf(message, sizeof(message), "%s", error->message ? error->message : entry->name);
    if (format) {
        size_t used = strlen(message);
        va_list args;

        if (used + 3 < sizeof(message)) {
            memcpy(message + used, " (", 3);
            used += 2;
            va_start(args, format);
            vsnprintf(message + used, sizeof(message) - used, format, args);
            va_end(args);
            used = strlen(message);
            if (used + 1 < sizeof(message))
                memcpy(message + used, ")", 2);
        }
    }
    code = error->code;
    domain = error->domain;
    vg_call_record(call, vg_libvirt_failure_status(code, domain), entry->name,
                   VG_LIBVIRT_ERROR_DOMAIN, message);
    pthread_mutex_lock(&call->lock);
    if (call->reason == entry->name) {
        call->libvirt_code = code;
        call->libvirt_domain = domain;
    }
    pthread_mutex_unlock(&call->lock);
    return -1;
}

int
vg_call_fail_libvirt(vg_call *call)
{
    return vg_call_fail_libvirt_about(call, NULL);
}

bool
vg_call_failed(const vg_call *call)
{
    return call->failed;
}

bool
vg_call_get_failure(vg_call *call, vg_call_failure *out)
{
    pthread_mutex_lock(&call->lock);
    if (call->failed) {
        out->code = call->code;
        out->message = call->message;
        out->reason = call->reason;
        out->libvirt_code = call->libvirt_code;
    }
    pthread_mutex_unlock(&call->lock);
    return call->failed;
}

uint8_t *
vg_call_failure_pack(vg_call *call, size_t *length)
{
    vg_status_details details = { 0 };
    grpc_slice encoded;
    uint8_t *bytes;

    pthread_mutex_lock(&call->lock);
    details.code = call->code;
    details.message = call->message;
    details.reason = call->reason;
    details.error_domain = call->error_domain;
    details.libvirt_code = call->libvirt_code;
    details.libvirt_domain = call->libvirt_domain;
    pthread_mutex_unlock(&call->lock);

    encoded = vg_status_details_encode(&details);
    *length = GRPC_SLICE_LENGTH(encoded);
    bytes = malloc(*length ? *length : 1);
    if (!bytes)
        abort();
    memcpy(bytes, GRPC_SLICE_START_PTR(encoded), *length);
    grpc_slice_unref(encoded);
    return bytes;
}

bool
vg_call_deadline_passed(const vg_call *call)
{
    return gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), call->deadline) > 0;
}

/* --- batches ---------------------------------------------------------------------- */

static void
vg_call_start_batch(vg_call *call, const grpc_op *ops, size_t n_ops, vg_tag *tag)
{
    grpc_call_error rc;

    vg_call_ref(call);
    rc = grpc_call_start_batch(call->call, ops, n_ops, tag, NULL);
    if (rc != GRPC_CALL_OK) {
        /* Only a programming error gets here (two ops of one kind in flight). */
        fprintf(stderr, "virtgrpcd: grpc_call_start_batch failed: %d\n", rc);
        abort();
    }
}

/* Fills `op` with the final status. Called with call->lock held (or before the call is
 * shared). The slices are kept in the call until it is freed: core reads them during
 * the batch. */
static void
vg_call_status_op(vg_call *call, grpc_op *op)
{
    grpc_status_code code = call->failed ? call->code : GRPC_STATUS_OK;

    memset(op, 0, sizeof(*op));
    op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op->data.send_status_from_server.status = code;
    call->status_started = true;
    call->status_message = grpc_slice_from_copied_string(call->failed ? call->message : "");
    op->data.send_status_from_server.status_details = &call->status_message;
    if (call->failed) {
        vg_status_details details = {
            .code = code,
            .message = call->message,
            .reason = call->reason,
            .error_domain = call->error_domain,
            .libvirt_code = call->libvirt_code,
            .libvirt_domain = call->libvirt_domain,
        };

        call->trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
        call->trailer.value = vg_status_details_encode(&details);
        op->data.send_status_from_server.trailing_metadata = &call->trailer;
        op->data.send_status_from_server.trailing_metadata_count = 1;
    } else {
        call->trailer.value = grpc_empty_slice();
    }
}

/* Packs a message for sending; NULL, with RESOURCE_EXHAUSTED recorded, when it is over
 * the message limit: the client would refuse it (gRPC's default receive limit is
 * 4 MiB) with a status that does not say which server limit to raise. */
static grpc_byte_buffer *
vg_call_pack(vg_call *call, const ProtobufCMessage *message)
{
    size_t size = protobuf_c_message_get_packed_size(message);
    size_t limit = vg_limit(VG_LIMIT_MAX_MESSAGE_BYTES);
    grpc_slice slice;
    grpc_byte_buffer *buffer;

    if (size > limit) {
        vg_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT,
                     "response '%s' is %zu bytes, over the server's message limit of "
                     "%zu bytes (%s)", message->descriptor->name, size, limit,
                     vg_limit_option(VG_LIMIT_MAX_MESSAGE_BYTES));
        return NULL;
    }
    slice = grpc_slice_malloc(size);

    protobuf_c_message_pack(message, GRPC_SLICE_START_PTR(slice));
    buffer = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice); /* the buffer holds its own reference */
    return buffer;
}

ProtobufCMessage *
vg_call_unpack(vg_call *call, const ProtobufCMessageDescriptor *type,
               grpc_byte_buffer *payload, ProtobufCAllocator *allocator)
{
    grpc_byte_buffer_reader reader;
    grpc_slice slice;
    ProtobufCMessage *message;

    if (!payload)
        return NULL;
    if (!grpc_byte_buffer_reader_init(&reader, payload))
        return NULL;
    slice = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    message = protobuf_c_message_unpack(type, allocator, GRPC_SLICE_LENGTH(slice),
                                        GRPC_SLICE_START_PTR(slice));
    grpc_slice_unref(slice);
    return message;
}

/* --- unary ----------------------------------------------------------------------- */

void
vg_call_run_unary(vg_call *call)
{
    const vg_method *method = call->method;
    grpc_byte_buffer *response_buffer = NULL;
    ProtobufCMessage *request = NULL;
    ProtobufCMessage *response = NULL;
    grpc_op ops[4];
    size_t n_ops = 0;

    if (!call->failed && vg_call_deadline_passed(call)) {
        /* Nobody waits for the answer any more: do not run the handler. */
        vg_call_fail(call, GRPC_STATUS_DEADLINE_EXCEEDED, VG_REASON_DEADLINE,
                     "deadline passed before a worker picked the call up");
    }
    if (!call->failed) {
        request = vg_call_unpack(call, method->input, call->request_payload,
                                 &call->allocator);
        if (!request) {
            vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                         "request is not a valid '%s' message", method->input->name);
        } else if (vg_admission_check_request(call, request) == 0) {
            response = vg_call_alloc(call, method->output->sizeof_message);
            protobuf_c_message_init(method->output, response);
            if (method->unary(call, request, response) < 0 && !call->failed) {
                vg_call_fail(call, GRPC_STATUS_INTERNAL, VG_REASON_INTERNAL,
                             "handler for '%s' failed without a reason", method->path);
            }
            if (!call->failed)
                response_buffer = vg_call_pack(call, response);
        }
    }
    vg_audit_call(call, request, response_buffer ? response : NULL);

    memset(ops, 0, sizeof(ops));
    ops[n_ops++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (response_buffer) {
        ops[n_ops].op = GRPC_OP_SEND_MESSAGE;
        ops[n_ops++].data.send_message.send_message = response_buffer;
    }
    vg_call_status_op(call, &ops[n_ops++]);
    ops[n_ops].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n_ops++].data.recv_close_on_server.cancelled = &call->cancelled;

    call->in_flight = response_buffer; /* freed with the call */
    vg_call_start_batch(call, ops, n_ops, &call->unary_tag);
    vg_call_unref(call); /* the transport's reference; the batch holds one */
}

static void
vg_call_unary_done(vg_tag *tag, bool ok)
{
    vg_call *call = (vg_call *)((char *)tag - offsetof(vg_call, unary_tag));

    vg_call_unref(call);
}

/* --- streams --------------------------------------------------------------------- */

/* Starts the next send, or the status once the queue is empty and finish was asked.
 * Called with call->lock held. */
static void
vg_call_pump_locked(vg_call *call)
{
    grpc_op ops[2];
    size_t n_ops = 0;

    if (call->in_flight || call->status_started || call->closed)
        return;

    memset(ops, 0, sizeof(ops));
    if (!call->initial_metadata_sent) {
        ops[n_ops++].op = GRPC_OP_SEND_INITIAL_METADATA;
        call->initial_metadata_sent = true;
    }
    if (call->send_head) {
        vg_send_item *item = call->send_head;

        call->send_head = item->next;
        if (!call->send_head)
            call->send_tail = NULL;
        call->n_queued--;
        call->in_flight = item->buffer;
        free(item);
        ops[n_ops].op = GRPC_OP_SEND_MESSAGE;
        ops[n_ops++].data.send_message.send_message = call->in_flight;
        vg_call_start_batch(call, ops, n_ops, &call->send_tag);
    } else if (call->finish_requested) {
        vg_call_status_op(call, &ops[n_ops++]);
        vg_call_start_batch(call, ops, n_ops, &call->status_tag);
    } else if (n_ops) {
        /* Nothing to send yet: undo, initial metadata goes with the first message. */
        call->initial_metadata_sent = false;
    }
}

int
vg_call_send(vg_call *call, const ProtobufCMessage *message)
{
    grpc_byte_buffer *buffer;
    vg_send_item *item;

    pthread_mutex_lock(&call->lock);
    if (!call->call || call->finish_requested || call->closed ||
        call->n_queued >= vg_server_max_queued_messages(call->server)) {
        pthread_mutex_unlock(&call->lock);
        return -1;
    }
    pthread_mutex_unlock(&call->lock);

    /* Pack outside the lock: it is the expensive part. */
    buffer = vg_call_pack(call, message);
    if (!buffer)
        return -1;
    item = malloc(sizeof(*item));
    if (!item)
        abort();
    item->buffer = buffer;
    item->next = NULL;

    pthread_mutex_lock(&call->lock);
    if (call->finish_requested || call->closed) {
        pthread_mutex_unlock(&call->lock);
        grpc_byte_buffer_destroy(buffer);
        free(item);
        return -1;
    }
    if (call->send_tail)
        call->send_tail->next = item;
    else
        call->send_head = item;
    call->send_tail = item;
    call->n_queued++;
    vg_call_pump_locked(call);
    pthread_mutex_unlock(&call->lock);
    return 0;
}

size_t
vg_call_queued(vg_call *call)
{
    size_t n;

    pthread_mutex_lock(&call->lock);
    n = call->n_queued;
    pthread_mutex_unlock(&call->lock);
    return n;
}

void
vg_call_finish(vg_call *call)
{
    pthread_mutex_lock(&call->lock);
    if (call->call && !call->finish_requested) {
        call->finish_requested = true;
        vg_call_pump_locked(call);
    }
    pthread_mutex_unlock(&call->lock);
}

bool
vg_call_stalled(vg_call *call, uint64_t now_ms, uint64_t timeout_ms)
{
    bool stalled = false;

    pthread_mutex_lock(&call->lock);
    if (!call->call || !call->finish_requested || !call->in_flight ||
        call->status_started || call->closed || call->stall_cancelled) {
        call->stall_since_ms = 0;
    } else if (call->stall_since_ms == 0 || call->sends_completed != call->stall_sends_seen) {
        call->stall_sends_seen = call->sends_completed;
        call->stall_since_ms = now_ms;
    } else {
        stalled = now_ms - call->stall_since_ms >= timeout_ms;
    }
    pthread_mutex_unlock(&call->lock);
    return stalled;
}

void
vg_call_cancel_stalled(vg_call *call, uint64_t stalled_ms)
{
    grpc_status_code code = GRPC_STATUS_RESOURCE_EXHAUSTED;
    char message[1280];

    pthread_mutex_lock(&call->lock);
    if (call->stall_cancelled || call->closed) {
        pthread_mutex_unlock(&call->lock);
        return;
    }
    call->stall_cancelled = true;
    if (call->failed) {
        code = call->code;
        snprintf(message, sizeof(message), "%s; then the client read nothing for %" PRIu64
                 " s, so the stream was cancelled (stream-stall-timeout)",
                 call->message ? call->message : "stream ended", stalled_ms / 1000);
    } else {
        snprintf(message, sizeof(message), "the stream was complete but the client read "
                 "nothing for %" PRIu64 " s, so it was cancelled (stream-stall-timeout)",
                 stalled_ms / 1000);
    }
    pthread_mutex_unlock(&call->lock);

    vg_log_info("%s from %s: %s", call->method ? call->method->path : "stream",
                call->peer ? call->peer : "?", message);
    /* A server-side cancel with a status sends it as trailers and resets the stream;
     * the send held by flow control completes with ok = false and the call closes. */
    grpc_call_cancel_with_status(call->call, code, message, NULL);
}

static void
vg_call_send_done(vg_tag *tag, bool ok)
{
    vg_call *call = (vg_call *)((char *)tag - offsetof(vg_call, send_tag));

    pthread_mutex_lock(&call->lock);
    grpc_byte_buffer_destroy(call->in_flight);
    call->in_flight = NULL;
    call->sends_completed++;
    if (ok)
        vg_call_pump_locked(call);
    pthread_mutex_unlock(&call->lock);
    vg_call_unref(call);
}

static void
vg_call_status_done(vg_tag *tag, bool ok)
{
    vg_call *call = (vg_call *)((char *)tag - offsetof(vg_call, status_tag));

    vg_call_unref(call);
}

static void
vg_call_close_done(vg_tag *tag, bool ok)
{
    vg_call *call = (vg_call *)((char *)tag - offsetof(vg_call, close_tag));
    vg_call_done_cb on_done;
    void *data;

    pthread_mutex_lock(&call->lock);
    call->closed = true;
    on_done = call->on_done;
    data = call->on_done_data;
    call->on_done = NULL;
    pthread_mutex_unlock(&call->lock);

    if (on_done)
        on_done(call, call->cancelled != 0, data);
    vg_call_unref(call); /* the batch's reference */
    vg_call_unref(call); /* the transport's reference */
}

void
vg_call_on_done(vg_call *call, vg_call_done_cb on_done, void *data)
{
    bool already_closed;

    pthread_mutex_lock(&call->lock);
    already_closed = call->closed;
    if (!already_closed) {
        call->on_done = on_done;
        call->on_done_data = data;
    }
    pthread_mutex_unlock(&call->lock);

    if (already_closed)
        on_done(call, call->cancelled != 0, data);
}

bool
vg_call_is_cancelled(const vg_call *call)
{
    return call->closed && call->cancelled;
}

void
vg_call_run_stream(vg_call *call)
{
    const vg_method *method = call->method;
    ProtobufCMessage *request = NULL;
    grpc_op op;
    int rc;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &call->cancelled;
    /* The only notice of a client cancel: post it first. */
    vg_call_start_batch(call, &op, 1, &call->close_tag);
    vg_server_stream_started(call->server, call);

    if (method->kind == VG_RPC_SERVER_STREAMING) {
        request = vg_call_unpack(call, method->input, call->request_payload,
                                 &call->allocator);
        if (!request) {
            rc = vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                              VG_REASON_INVALID_REQUEST,
                              "request is not a valid '%s' message", method->input->name);
        } else if (vg_admission_check_request(call, request) < 0) {
            rc = -1;
        } else {
            rc = method->server_streaming(call, request);
        }
    } else {
        rc = method->streaming(call);
    }
    if (rc < 0 && !call->failed) {
        vg_call_fail(call, GRPC_STATUS_INTERNAL, VG_REASON_INTERNAL,
                     "handler for '%s' failed without a reason", method->path);
    }
    vg_audit_call(call, method->kind == VG_RPC_SERVER_STREAMING ? request : NULL, NULL);
    if (rc < 0)
        vg_call_finish(call);
}

/* --- reading client streams ------------------------------------------------------ */

static void
vg_call_post_recv(vg_call *call)
{
    grpc_op op;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &call->recv_buffer;
    vg_call_start_batch(call, &op, 1, &call->recv_tag);
}

int
vg_call_read_start(vg_call *call, vg_call_message_cb on_message, void *data)
{
    call->on_message = on_message;
    call->on_message_data = data;
    if (call->call) /* background calls get their messages from vg_call_background_deliver */
        vg_call_post_recv(call);
    return 0;
}

void
vg_call_background_deliver(vg_call *call, const ProtobufCMessage *message)
{
    bool open;

    pthread_mutex_lock(&call->lock);
    open = !call->call && call->on_message && !call->finish_requested && !call->closed;
    pthread_mutex_unlock(&call->lock);
    if (open)
        call->on_message(call, message, call->on_message_data);
}

void
vg_call_background_cancel(vg_call *call)
{
    vg_call_done_cb on_done;
    void *data;

    pthread_mutex_lock(&call->lock);
    if (call->call || call->closed) {
        pthread_mutex_unlock(&call->lock);
        return;
    }
    call->closed = true;
    call->cancelled = 1;
    on_done = call->on_done;
    data = call->on_done_data;
    call->on_done = NULL;
    pthread_mutex_unlock(&call->lock);

    if (on_done)
        on_done(call, true, data);
}

static void
vg_call_recv_done(vg_tag *tag, bool ok)
{
    vg_call *call = (vg_call *)((char *)tag - offsetof(vg_call, recv_tag));
    grpc_byte_buffer *payload = call->recv_buffer;

    call->recv_buffer = NULL;
    if (!ok || call->closed) {
        /* Cancelled: the close handler tells the owner. */
        if (payload)
            grpc_byte_buffer_destroy(payload);
    } else if (!payload) {
        call->on_message(call, NULL, call->on_message_data); /* half-close */
    } else {
        /* Streams can be long: decode with malloc, not the call's arena. */
        ProtobufCMessage *message = vg_call_unpack(call, call->method->input, payload,
                                                   NULL);
        grpc_byte_buffer_destroy(payload);
        if (!message) {
            vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                         "stream message is not a valid '%s' message",
                         call->method->input->name);
            vg_call_finish(call);
        } else if (vg_admission_check_request(call, message) < 0) {
            protobuf_c_message_free_unpacked(message, NULL);
            vg_call_finish(call);
        } else {
            call->on_message(call, message, call->on_message_data);
            protobuf_c_message_free_unpacked(message, NULL);
            pthread_mutex_lock(&call->lock);
            bool more = !call->finish_requested && !call->closed;
            pthread_mutex_unlock(&call->lock);
            if (more)
                vg_call_post_recv(call);
        }
    }
    vg_call_unref(call);
}
