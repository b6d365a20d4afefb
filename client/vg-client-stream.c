/*
 * vg_client_stream: server-streaming and bidirectional calls.
 *
 * Each stream plucks its own completion queue, one tag per kind of batch, so a reader,
 * a writer and a canceller can use one stream from three threads: gRPC core allows one
 * batch of each op type in flight, and pluck lets each thread wait for its own batch.
 * RECV_STATUS_ON_CLIENT is posted when the stream opens, so whichever thread first needs
 * the final status (reader at the end, writer after a failed send, vg_client_stream_free)
 * plucks it, under status_lock, exactly once.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "client/vg-client-internal.h"

/* Batch tags; unique within the stream's own completion queue. */
static char vg_tag_send;
static char vg_tag_recv;
static char vg_tag_status;

struct vg_client_stream {
    grpc_call *call; /* grpc_call_cancel() on it is safe from any thread */
    grpc_completion_queue *cq;
    const ProtobufCMessageDescriptor *response_type;
    char *method_path; /* for messages */
    bool is_bidi;

    /* The reading side, one reader at a time. */
    pthread_mutex_t recv_lock;
    bool is_initial_metadata_received;
    bool is_recv_done; /* no more messages: the next read reports the final status */
    grpc_metadata_array initial_metadata;

    /* The writing side: one SEND_MESSAGE in flight per call. */
    pthread_mutex_t send_lock;
    bool is_send_closed;

    /* The final status, written by the RECV_STATUS_ON_CLIENT batch. */
    pthread_mutex_t status_lock;
    bool is_status_received;
    grpc_status_code code;
    grpc_slice details;
    const char *error_string;
    grpc_metadata_array trailing_metadata;
};

static grpc_event
vg_stream_pluck(vg_client_stream *stream, void *tag)
{
    return grpc_completion_queue_pluck(stream->cq, tag,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
}

/* Blocks until the call has ended (it must be ending: a read or send saw its end, or
 * it was cancelled) and returns its code. */
static grpc_status_code
vg_stream_wait_status(vg_client_stream *stream)
{
    grpc_status_code code;

    pthread_mutex_lock(&stream->status_lock);
    if (!stream->is_status_received) {
        vg_stream_pluck(stream, &vg_tag_status);
        stream->is_status_received = true;
    }
    code = stream->code;
    pthread_mutex_unlock(&stream->status_lock);
    return code;
}

/* The final status as the API's result: 0 for OK, -1 with `status` otherwise. */
static int
vg_stream_result(vg_client_stream *stream, vg_status *status)
{
    if (vg_stream_wait_status(stream) == GRPC_STATUS_OK)
        return 0;
    /* Read-only after is_status_received, so no lock is needed. */
    vg_status_from_call(status, stream->code, stream->details, stream->error_string,
                        &stream->trailing_metadata);
    return -1;
}

/* Starts one batch and waits for it; -1 with `status` if core refused it. */
static int
vg_stream_run_batch(vg_client_stream *stream, const grpc_op *ops, size_t n_ops, void *tag,
                    bool *success, vg_status *status)
{
    grpc_call_error error;
    grpc_event event;

    error = grpc_call_start_batch(stream->call, ops, n_ops, tag, NULL);
    if (error != GRPC_CALL_OK) {
        vg_status_set(status, VG_CODE_INTERNAL, "'%s': cannot start a batch: %s",
                      stream->method_path, grpc_call_error_to_string(error));
        return -1;
    }
    event = vg_stream_pluck(stream, tag);
    *success = event.success != 0;
    return 0;
}

static vg_client_stream *
vg_stream_alloc(const char *method_path, const ProtobufCMessageDescriptor *response_type,
                bool is_bidi)
{
    vg_client_stream *stream = calloc(1, sizeof(*stream));

    if (stream == NULL)
        return NULL;
    stream->method_path = strdup(method_path);
    if (stream->method_path == NULL) {
        free(stream);
        return NULL;
    }
    stream->response_type = response_type;
    stream->is_bidi = is_bidi;
    stream->details = grpc_empty_slice();
    grpc_metadata_array_init(&stream->initial_metadata);
    grpc_metadata_array_init(&stream->trailing_metadata);
    pthread_mutex_init(&stream->recv_lock, NULL);
    pthread_mutex_init(&stream->send_lock, NULL);
    pthread_mutex_init(&stream->status_lock, NULL);
    return stream;
}

int
vg_client_stream_open(vg_client *client, const char *method_path,
                      const ProtobufCMessage *request,
                      const ProtobufCMessageDescriptor *response_type,
                      int64_t deadline_ms, vg_client_stream **stream,
                      vg_status *status)
{
    grpc_byte_buffer *request_buffer = NULL;
    vg_client_stream *opened;
    grpc_op ops[3];
    size_t n_ops = 0;
    bool success;
    int rc;

    if (client == NULL || method_path == NULL || response_type == NULL || stream == NULL) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT,
                      "vg_client_stream_open: client, method_path, response_type and "
                      "stream are required");
        return -1;
    }
    opened = vg_stream_alloc(method_path, response_type, request == NULL);
    if (opened == NULL) {
        vg_status_set(status, VG_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    opened->cq = grpc_completion_queue_create_for_pluck(NULL);
    opened->call = vg_client_create_call(client, opened->cq, method_path, deadline_ms);
    if (opened->call == NULL) {
        vg_status_set(status, VG_CODE_INTERNAL, "cannot create a call to '%s'", method_path);
        goto error;
    }

    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &opened->trailing_metadata;
    ops[0].data.recv_status_on_client.status = &opened->code;
    ops[0].data.recv_status_on_client.status_details = &opened->details;
    ops[0].data.recv_status_on_client.error_string = &opened->error_string;
    if (grpc_call_start_batch(opened->call, ops, 1, &vg_tag_status, NULL) != GRPC_CALL_OK) {
        /* Nothing to pluck: the status batch never started. */
        opened->is_status_received = true;
        opened->code = GRPC_STATUS_INTERNAL;
        vg_status_set(status, VG_CODE_INTERNAL, "cannot start a call to '%s'", method_path);
        goto error;
    }

    /* Sending only: reading here would block open() until the server's first message. */
    memset(ops, 0, sizeof(ops));
    ops[n_ops++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (request != NULL) {
        request_buffer = vg_message_pack(request);
        ops[n_ops].op = GRPC_OP_SEND_MESSAGE;
        ops[n_ops++].data.send_message.send_message = request_buffer;
        ops[n_ops++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        opened->is_send_closed = true;
    }
    rc = vg_stream_run_batch(opened, ops, n_ops, &vg_tag_send, &success, status);
    if (request_buffer != NULL)
        grpc_byte_buffer_destroy(request_buffer);
    if (rc < 0)
        goto error;
    /* A failed send means the call already ended: report why, unless it ended well
     * (the server may answer without reading), in which case reads get the messages. */
    if (!success && vg_stream_result(opened, status) < 0)
        goto error;

    *stream = opened;
    return 0;

 error:
    vg_client_stream_free(opened);
    return -1;
}

int
vg_client_stream_next(vg_client_stream *stream, ProtobufCMessage **message,
                      vg_status *status)
{
    grpc_byte_buffer *buffer = NULL;
    grpc_op ops[2];
    size_t n_ops = 0;
    bool success;
    int rc;

    if (stream == NULL || message == NULL) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT,
                      "vg_client_stream_next: stream and message are required");
        return -1;
    }

    pthread_mutex_lock(&stream->recv_lock);
    if (stream->is_recv_done) {
        pthread_mutex_unlock(&stream->recv_lock);
        return vg_stream_result(stream, status);
    }

    memset(ops, 0, sizeof(ops));
    if (!stream->is_initial_metadata_received) {
        ops[n_ops].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n_ops++].data.recv_initial_metadata.recv_initial_metadata =
            &stream->initial_metadata;
        stream->is_initial_metadata_received = true;
    }
    ops[n_ops].op = GRPC_OP_RECV_MESSAGE;
    ops[n_ops++].data.recv_message.recv_message = &buffer;
    if (vg_stream_run_batch(stream, ops, n_ops, &vg_tag_recv, &success, status) < 0) {
        stream->is_recv_done = true;
        pthread_mutex_unlock(&stream->recv_lock);
        grpc_call_cancel(stream->call, NULL);
        return -1;
    }

    if (buffer == NULL) {
        /* The server ended the stream, or the call failed or was cancelled. */
        stream->is_recv_done = true;
        pthread_mutex_unlock(&stream->recv_lock);
        return vg_stream_result(stream, status);
    }

    rc = vg_message_unpack(buffer, stream->response_type, message, status);
    if (rc < 0) {
        /* A stream we cannot read is over: the server stops, later reads fail too. */
        stream->is_recv_done = true;
        grpc_call_cancel_with_status(stream->call, GRPC_STATUS_INTERNAL,
                                     "the client cannot decode a received message", NULL);
    }
    pthread_mutex_unlock(&stream->recv_lock);
    return rc < 0 ? -1 : 1;
}

/* After a failed send or close: the call has ended, say how. */
static int
vg_stream_send_failed(vg_client_stream *stream, vg_status *status)
{
    if (vg_stream_result(stream, status) < 0)
        return -1;
    vg_status_set(status, VG_CODE_FAILED_PRECONDITION,
                  "'%s': the server already ended the stream", stream->method_path);
    return -1;
}

int
vg_client_stream_send(vg_client_stream *stream, const ProtobufCMessage *message,
                      vg_status *status)
{
    grpc_byte_buffer *buffer;
    grpc_op op;
    bool success;
    int rc;

    if (stream == NULL || message == NULL) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT,
                      "vg_client_stream_send: stream and message are required");
        return -1;
    }
    if (!stream->is_bidi) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT,
                      "'%s': only bidirectional streams take messages after open",
                      stream->method_path);
        return -1;
    }

    pthread_mutex_lock(&stream->send_lock);
    if (stream->is_send_closed) {
        pthread_mutex_unlock(&stream->send_lock);
        vg_status_set(status, VG_CODE_FAILED_PRECONDITION,
                      "'%s': the sending side is already closed", stream->method_path);
        return -1;
    }
    /* A new buffer per message: SEND_MESSAGE steals the buffer's slices. */
    buffer = vg_message_pack(message);
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = buffer;
    rc = vg_stream_run_batch(stream, &op, 1, &vg_tag_send, &success, status);
    grpc_byte_buffer_destroy(buffer);
    pthread_mutex_unlock(&stream->send_lock);

    if (rc < 0)
        return -1;
    return success ? 0 : vg_stream_send_failed(stream, status);
}

int
vg_client_stream_close_send(vg_client_stream *stream, vg_status *status)
{
    grpc_op op;
    bool success;
    int rc;

    if (stream == NULL) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT,
                      "vg_client_stream_close_send: stream is required");
        return -1;
    }

    pthread_mutex_lock(&stream->send_lock);
    if (stream->is_send_closed) {
        pthread_mutex_unlock(&stream->send_lock);
        return 0;
    }
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    rc = vg_stream_run_batch(stream, &op, 1, &vg_tag_send, &success, status);
    stream->is_send_closed = true;
    pthread_mutex_unlock(&stream->send_lock);

    if (rc < 0)
        return -1;
    return success ? 0 : vg_stream_send_failed(stream, status);
}

void
vg_client_stream_cancel(vg_client_stream *stream)
{
    if (stream != NULL && stream->call != NULL)
        grpc_call_cancel(stream->call, NULL);
}

vg_client_stream *
vg_client_stream_free(vg_client_stream *stream)
{
    if (stream == NULL)
        return NULL;
    if (stream->call != NULL) {
        /* A no-op on an ended call; otherwise it makes the status batch complete. */
        grpc_call_cancel(stream->call, NULL);
        vg_stream_wait_status(stream);
        grpc_call_unref(stream->call);
    }
    if (stream->cq != NULL)
        vg_client_cq_destroy(stream->cq);
    grpc_slice_unref(stream->details);
    gpr_free((void *)stream->error_string);
    grpc_metadata_array_destroy(&stream->initial_metadata);
    grpc_metadata_array_destroy(&stream->trailing_metadata);
    pthread_mutex_destroy(&stream->recv_lock);
    pthread_mutex_destroy(&stream->send_lock);
    pthread_mutex_destroy(&stream->status_lock);
    free(stream->method_path);
    free(stream);
    return NULL;
}

int
vg_client_stream_each(vg_client_stream *stream, vg_client_message_cb on_message,
                      void *user_data, vg_status *status)
{
    if (stream == NULL || on_message == NULL) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT,
                      "vg_client_stream_each: stream and on_message are required");
        return -1;
    }
    for (;;) {
        ProtobufCMessage *message = NULL;
        int rc = vg_client_stream_next(stream, &message, status);
        int stop;

        if (rc <= 0)
            return rc;
        stop = on_message(message, user_data);
        protobuf_c_message_free_unpacked(message, NULL);
        if (stop != 0) {
            vg_client_stream_cancel(stream);
            return 0;
        }
    }
}
