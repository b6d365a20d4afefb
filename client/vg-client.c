/*
 * vg_client: one gRPC channel shared by every thread, and unary calls on it.
 *
 * Each unary call plucks its own completion queue, as gRPC's C++ synchronous stubs do:
 * a shared pluck queue allows only GRPC_MAX_COMPLETION_QUEUE_PLUCKERS (6) concurrent
 * waiters, and a shared `next` queue would need a dispatcher thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "client/vg-client-internal.h"

#define VG_DEFAULT_DEADLINE_MS 30000
#define VG_DEFAULT_MAX_MESSAGE_BYTES (64 * 1024 * 1024)
#define VG_DEFAULT_KEEPALIVE_TIMEOUT_MS 20000
/* PEM files are certificates and keys: anything larger is not one. */
#define VG_MAX_PEM_BYTES (1024 * 1024)
#define VG_MAX_CHANNEL_ARGS 8

/* A PEM from a string (wins) or a file: 0 with *pem set (NULL when neither is given;
 * free *owned), -1 with `status`. */
static int
vg_read_pem(const char *what, const char *pem, const char *path, const char **out,
            char **owned, vg_status *status)
{
    char *contents;
    size_t length;
    FILE *file;

    *out = NULL;
    *owned = NULL;
    if (pem != NULL) {
        *out = pem;
        return 0;
    }
    if (path == NULL)
        return 0;

    file = fopen(path, "re");
    if (file == NULL) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT, "cannot open the TLS %s '%s': %s",
                      what, path, strerror(errno));
        return -1;
    }
    contents = malloc(VG_MAX_PEM_BYTES + 1);
    if (contents == NULL) {
        fclose(file);
        vg_status_set(status, VG_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    length = fread(contents, 1, VG_MAX_PEM_BYTES + 1, file);
    if (ferror(file) || length > VG_MAX_PEM_BYTES || length == 0) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT, "cannot read the TLS %s '%s': %s",
                      what, path,
                      ferror(file)  ? strerror(errno)
                      : length == 0 ? "the file is empty"
                                    : "larger than 1 MiB");
        fclose(file);
        free(contents);
        return -1;
    }
    fclose(file);
    contents[length] = '\0';
    *out = contents;
    *owned = contents;
    return 0;
}

static bool
vg_tls_requested(const vg_tls_options *tls)
{
    return tls->enabled || tls->ca_file != NULL || tls->ca_pem != NULL ||
           tls->cert_file != NULL || tls->cert_pem != NULL || tls->key_file != NULL ||
           tls->key_pem != NULL || tls->server_name != NULL;
}

/* The channel credentials `options` ask for: insecure, or TLS with the CA and the
 * optional client key pair read now (so a bad path fails vg_client_new, not a call). */
static grpc_channel_credentials *
vg_credentials_new(const vg_tls_options *tls, vg_status *status)
{
    grpc_ssl_pem_key_cert_pair pair = {NULL, NULL};
    grpc_channel_credentials *credentials = NULL;
    char *ca_owned = NULL, *cert_owned = NULL, *key_owned = NULL;
    const char *ca, *cert, *key;

    if (!vg_tls_requested(tls))
        return grpc_insecure_credentials_create();

    if (vg_read_pem("CA", tls->ca_pem, tls->ca_file, &ca, &ca_owned, status) < 0 ||
        vg_read_pem("certificate", tls->cert_pem, tls->cert_file, &cert, &cert_owned,
                    status) < 0 ||
        vg_read_pem("key", tls->key_pem, tls->key_file, &key, &key_owned, status) < 0)
        goto cleanup;
    if ((cert == NULL) != (key == NULL)) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT,
                      "a TLS client certificate needs its key and a key its certificate "
                      "(got only the %s)",
                      cert != NULL ? "certificate" : "key");
        goto cleanup;
    }
    pair.cert_chain = cert;
    pair.private_key = key;
    /* NULL roots: gRPC's defaults (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, else its bundle). */
    credentials = grpc_ssl_credentials_create(ca, cert != NULL ? &pair : NULL, NULL, NULL);
    if (credentials == NULL)
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT, "gRPC refused the TLS settings");

cleanup:
    free(ca_owned);
    free(cert_owned);
    free(key_owned);
    return credentials;
}

static void
vg_arg_int(grpc_arg *arg, const char *key, int value)
{
    arg->type = GRPC_ARG_INTEGER;
    arg->key = (char *)key;
    arg->value.integer = value;
}

static void
vg_arg_string(grpc_arg *arg, const char *key, const char *value)
{
    arg->type = GRPC_ARG_STRING;
    arg->key = (char *)key;
    arg->value.string = (char *)value;
}

static int
vg_clamp_int(int64_t value)
{
    return value > INT_MAX ? INT_MAX : (int)value;
}

/* The channel arguments `options` ask for, in `args` (VG_MAX_CHANNEL_ARGS long). */
static size_t
vg_channel_args(const vg_client_options *options, grpc_arg *args)
{
    size_t n = 0;
    size_t max_message_bytes = options->max_message_bytes != 0
                                   ? options->max_message_bytes
                                   : VG_DEFAULT_MAX_MESSAGE_BYTES;

    /* gRPC's channel argument is an int. */
    vg_arg_int(&args[n++], GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
               max_message_bytes > INT_MAX ? INT_MAX : (int)max_message_bytes);
    vg_arg_string(&args[n++], GRPC_ARG_PRIMARY_USER_AGENT_STRING, "virtgrpc-c");
    if (options->tls.server_name != NULL)
        vg_arg_string(&args[n++], GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
                      options->tls.server_name);
    if (options->keepalive_time_ms > 0) {
        vg_arg_int(&args[n++], GRPC_ARG_KEEPALIVE_TIME_MS,
                   vg_clamp_int(options->keepalive_time_ms));
        vg_arg_int(&args[n++], GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                   vg_clamp_int(options->keepalive_timeout_ms > 0
                                    ? options->keepalive_timeout_ms
                                    : VG_DEFAULT_KEEPALIVE_TIMEOUT_MS));
        vg_arg_int(&args[n++], GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
                   options->keepalive_without_calls ? 1 : 0);
        /* Core stops pinging after 2 pings without data otherwise: a quiet event
         * watch is exactly what keepalive is for. */
        vg_arg_int(&args[n++], GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    }
    return n;
}

int
vg_client_new(const vg_client_options *options, vg_client **client, vg_status *status)
{
    grpc_channel_credentials *credentials;
    grpc_arg args[VG_MAX_CHANNEL_ARGS];
    grpc_channel_args channel_args;
    vg_client *created;

    if (options == NULL || options->target == NULL || options->target[0] == '\0' ||
        client == NULL) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT,
                      "vg_client_new: options, options->target and client are required");
        return -1;
    }
    if (options->keepalive_time_ms < 0 || options->keepalive_timeout_ms < 0) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT,
                      "vg_client_new: negative keepalive time %lld or timeout %lld ms",
                      (long long)options->keepalive_time_ms,
                      (long long)options->keepalive_timeout_ms);
        return -1;
    }

    created = calloc(1, sizeof(*created));
    if (created == NULL) {
        vg_status_set(status, VG_CODE_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    created->default_deadline_ms = options->default_deadline_ms != 0
                                       ? options->default_deadline_ms
                                       : VG_DEFAULT_DEADLINE_MS;

    /* Reference-counted by core: balanced by grpc_shutdown() in vg_client_free(). */
    grpc_init();

    credentials = vg_credentials_new(&options->tls, status);
    if (credentials == NULL) {
        free(created);
        grpc_shutdown();
        return -1;
    }

    memset(args, 0, sizeof(args));
    channel_args.num_args = vg_channel_args(options, args);
    channel_args.args = args;
    created->channel = grpc_channel_create(options->target, credentials, &channel_args);
    grpc_channel_credentials_release(credentials);
    if (created->channel == NULL) {
        free(created);
        grpc_shutdown();
        vg_status_set(status, VG_CODE_INTERNAL, "cannot create a channel to '%s'",
                      options->target);
        return -1;
    }

    *client = created;
    return 0;
}

vg_client *
vg_client_free(vg_client *client)
{
    if (client == NULL)
        return NULL;
    grpc_channel_destroy(client->channel);
    free(client);
    grpc_shutdown();
    return NULL;
}

gpr_timespec
vg_client_deadline(const vg_client *client, int64_t deadline_ms)
{
    if (deadline_ms == 0)
        deadline_ms = client->default_deadline_ms;
    if (deadline_ms < 0)
        return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_millis(deadline_ms, GPR_TIMESPAN));
}

grpc_call *
vg_client_create_call(vg_client *client, grpc_completion_queue *cq, const char *method_path,
                      int64_t deadline_ms)
{
    /* Copied: a stream's call outlives the caller's string. */
    grpc_slice method = grpc_slice_from_copied_string(method_path);
    grpc_call *call;

    call =
        grpc_channel_create_call(client->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method,
                                 NULL, vg_client_deadline(client, deadline_ms), NULL);
    grpc_slice_unref(method);
    return call;
}

void
vg_client_cq_destroy(grpc_completion_queue *cq)
{
    grpc_event event;

    grpc_completion_queue_shutdown(cq);
    do {
        event =
            grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    } while (event.type != GRPC_QUEUE_SHUTDOWN);
    grpc_completion_queue_destroy(cq);
}

grpc_byte_buffer *
vg_message_pack(const ProtobufCMessage *message)
{
    size_t size = protobuf_c_message_get_packed_size(message);
    grpc_slice slice = grpc_slice_malloc(size);
    grpc_byte_buffer *buffer;

    protobuf_c_message_pack(message, GRPC_SLICE_START_PTR(slice));
    /* The buffer takes its own reference on the slice. */
    buffer = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return buffer;
}

int
vg_message_unpack(grpc_byte_buffer *buffer, const ProtobufCMessageDescriptor *type,
                  ProtobufCMessage **message, vg_status *status)
{
    grpc_byte_buffer_reader reader;
    ProtobufCMessage *decoded;
    grpc_slice slice;

    /* The reader, not the raw slices: it decompresses a compressed message. */
    if (!grpc_byte_buffer_reader_init(&reader, buffer)) {
        grpc_byte_buffer_destroy(buffer);
        vg_status_set(status, VG_CODE_INTERNAL,
                      "cannot read a received '%s' message (decompression failed)",
                      type->name);
        return -1;
    }
    slice = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    grpc_byte_buffer_destroy(buffer);

    decoded = protobuf_c_message_unpack(type, NULL, GRPC_SLICE_LENGTH(slice),
                                        GRPC_SLICE_START_PTR(slice));
    grpc_slice_unref(slice);
    if (decoded == NULL) {
        vg_status_set(status, VG_CODE_INTERNAL,
                      "the server sent a '%s' message that does not decode", type->name);
        return -1;
    }
    *message = decoded;
    return 0;
}

int
vg_client_call_unary(vg_client *client, const char *method_path,
                     const ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *response_type,
                     ProtobufCMessage **response, int64_t deadline_ms, vg_status *status)
{
    grpc_metadata_array initial_metadata;
    grpc_metadata_array trailing_metadata;
    grpc_byte_buffer *request_buffer = NULL;
    grpc_byte_buffer *response_buffer = NULL;
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;
    grpc_completion_queue *cq;
    grpc_call_error error;
    grpc_call *call;
    grpc_op ops[6];
    int ret = -1;

    if (client == NULL || method_path == NULL || request == NULL || response_type == NULL ||
        response == NULL) {
        vg_status_set(status, VG_CODE_INVALID_ARGUMENT,
                      "vg_client_call_unary: client, method_path, request, response_type "
                      "and response are required");
        return -1;
    }

    grpc_metadata_array_init(&initial_metadata);
    grpc_metadata_array_init(&trailing_metadata);
    cq = grpc_completion_queue_create_for_pluck(NULL);
    call = vg_client_create_call(client, cq, method_path, deadline_ms);
    if (call == NULL) {
        vg_status_set(status, VG_CODE_INTERNAL, "cannot create a call to '%s'",
                      method_path);
        goto cleanup;
    }
    request_buffer = vg_message_pack(request);

    /* A unary call is one batch: one op of each type. */
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = request_buffer;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_metadata;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &response_buffer;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_metadata;
    ops[5].data.recv_status_on_client.status = &code;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;

    error = grpc_call_start_batch(call, ops, sizeof(ops) / sizeof(ops[0]), ops, NULL);
    if (error != GRPC_CALL_OK) {
        vg_status_set(status, VG_CODE_INTERNAL, "cannot start a call to '%s': %s",
                      method_path, grpc_call_error_to_string(error));
        goto cleanup;
    }
    /* The deadline is the call's: the batch always completes, with a status. */
    grpc_completion_queue_pluck(cq, ops, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

    if (code != GRPC_STATUS_OK) {
        vg_status_from_call(status, code, details, error_string, &trailing_metadata);
        goto cleanup;
    }
    if (response_buffer == NULL) {
        vg_status_set(status, VG_CODE_INTERNAL,
                      "'%s' ended with OK but the server sent no response", method_path);
        goto cleanup;
    }
    ret = vg_message_unpack(response_buffer, response_type, response, status);
    response_buffer = NULL;

cleanup:
    if (response_buffer != NULL)
        grpc_byte_buffer_destroy(response_buffer);
    if (request_buffer != NULL)
        grpc_byte_buffer_destroy(request_buffer);
    grpc_slice_unref(details);
    gpr_free((void *)error_string);
    grpc_metadata_array_destroy(&initial_metadata);
    grpc_metadata_array_destroy(&trailing_metadata);
    if (call != NULL)
        grpc_call_unref(call);
    vg_client_cq_destroy(cq);
    return ret;
}
