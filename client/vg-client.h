/**
 * @file vg-client.h
 * @brief virtgrpc C client: the connection, its options, the status of a failed call
 * and the generic calls that the generated typed functions (vg-client-gen.h, one per
 * RPC) are built on.
 *
 * Users include <virtgrpc/virtgrpc.h>, which pulls in this header, the generated one
 * and the protobuf-c message types, and link one library (`pkg-config virtgrpc`).
 *
 * Conventions of every function:
 * - 0 on success and -1 on failure with `status` filled (when not NULL); streaming
 *   reads return 1 for a message, 0 at a clean end, -1 on failure.
 * - A failure overwrites `status` without freeing what it held, so start from
 *   `vg_status status = { 0 };` and call vg_status_clear() after handling each failure.
 * - Messages a call returns are protobuf-c messages owned by the caller: free each with
 *   protobuf_c_message_free_unpacked(&message->base, NULL).
 * - Deadlines (`deadline_ms`) are relative to the moment of the call: 0 uses the
 *   client's default (vg_client_options.default_deadline_ms), a negative value waits
 *   forever. A stream's deadline covers the whole stream.
 *
 * Threads: a vg_client may be shared by any number of threads, which may call at the
 * same time. A vg_client_stream allows one reader, one writer and any number of
 * vg_client_stream_cancel() callers at once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/**
 * Marks a declaration as part of the shared library's interface: the library is
 * compiled with -fvisibility=hidden, so everything else stays internal.
 */
#define VG_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

/** A connection to one virtgrpcd (one gRPC channel); see vg_client_new(). */
typedef struct vg_client vg_client;
/** One open server-streaming or bidirectional call; see vg_client_stream_open(). */
typedef struct vg_client_stream vg_client_stream;

/** gRPC status codes (the numbers are fixed by the gRPC specification). */
typedef enum vg_code {
    VG_CODE_OK = 0,                  /**< Success. */
    VG_CODE_CANCELLED = 1,           /**< The call was cancelled (usually by the caller). */
    VG_CODE_UNKNOWN = 2,             /**< An error without a better code. */
    VG_CODE_INVALID_ARGUMENT = 3,    /**< The request is malformed or names bad values. */
    VG_CODE_DEADLINE_EXCEEDED = 4,   /**< The deadline passed before the call ended. */
    VG_CODE_NOT_FOUND = 5,           /**< The domain (or other object) does not exist. */
    VG_CODE_ALREADY_EXISTS = 6,      /**< The object to create exists already. */
    VG_CODE_PERMISSION_DENIED = 7,   /**< The caller's role does not allow the call. */
    VG_CODE_RESOURCE_EXHAUSTED = 8,  /**< A limit was hit (messages, calls, streams). */
    VG_CODE_FAILED_PRECONDITION = 9, /**< The object is in the wrong state for the call. */
    VG_CODE_ABORTED = 10,            /**< A conflict or a timeout inside libvirt. */
    VG_CODE_OUT_OF_RANGE = 11,       /**< A value beyond the valid range. */
    VG_CODE_UNIMPLEMENTED = 12,      /**< The hypervisor or server lacks the call. */
    VG_CODE_INTERNAL = 13,           /**< A bug or an unexpected libvirt failure. */
    VG_CODE_UNAVAILABLE = 14,        /**< The server or libvirt cannot be reached now. */
    VG_CODE_DATA_LOSS = 15,          /**< Unrecoverable data loss. */
    VG_CODE_UNAUTHENTICATED = 16,    /**< The caller has no valid credentials. */
} vg_code;

/**
 * The name of a status code as gRPC spells it.
 *
 * @param code a status code.
 * @return "NOT_FOUND" etc., or "UNKNOWN_CODE" for a number outside the specification;
 *   a static string.
 */
VG_EXPORT const char *vg_code_name(vg_code code);

/**
 * The outcome of a failed call. `reason` and the libvirt fields come from the
 * google.rpc.ErrorInfo in the `grpc-status-details-bin` trailer when the server sent
 * one (reason "VIR_ERR_NO_DOMAIN", domain "libvirt.org"); otherwise they are NULL / 0.
 * Failures found on the client's side (bad arguments, unreadable files) have no reason.
 */
typedef struct vg_status {
    vg_code code;       /**< The gRPC status code. */
    char *message;      /**< The server's status message (libvirt's message); never
                             NULL after a failure. */
    char *reason;       /**< ErrorInfo.reason: libvirt's error code name such as
                             "VIR_ERR_NO_DOMAIN", or virtgrpc's own such as
                             "VIRTGRPC_INVALID_REQUEST"; NULL without one. */
    char *error_domain; /**< ErrorInfo.domain: "libvirt.org" for libvirt's errors,
                             "virtgrpc.io" for the server's own; NULL without one. */
    int libvirt_code;   /**< The virErrorNumber (ErrorInfo.metadata["code"]), 0 when
                             the error is not libvirt's. */
} vg_status;

/**
 * Frees what a failed call put in `status` and resets it to OK.
 *
 * @param status the status, or NULL.
 */
VG_EXPORT void vg_status_clear(vg_status *status);

/**
 * TLS settings of a client. TLS is used when `enabled` is true or any other field is
 * set. Each PEM can come from a file or a string; a string wins over a file.
 */
typedef struct vg_tls_options {
    bool enabled;            /**< TLS with the system's root CAs when nothing else is
                                  set (e.g. a server with a public certificate). */
    const char *ca_file;     /**< PEM file of the CA(s) that signed the server's
                                  certificate; NULL: the system's roots. */
    const char *ca_pem;      /**< The same as a PEM string. */
    const char *cert_file;   /**< PEM file of the client certificate (mutual TLS);
                                  needs a key. */
    const char *cert_pem;    /**< The same as a PEM string. */
    const char *key_file;    /**< PEM file of the client certificate's private key. */
    const char *key_pem;     /**< The same as a PEM string. */
    const char *server_name; /**< The name to verify in the server's certificate
                                  instead of the target's host (e.g. when connecting
                                  by IP address); NULL: the target's host. */
} vg_tls_options;

/**
 * How vg_client_new() connects. Zero-initialize it and set what you need:
 * `vg_client_options options = { .target = "127.0.0.1:50051" };`.
 * New fields are only ever added at the end (the library's soname changes when they
 * are), so designated initializers keep compiling.
 */
typedef struct vg_client_options {
    const char *target;          /**< "HOST:PORT" (e.g. "127.0.0.1:50051"), or
                                      "unix:/PATH" for a Unix socket. Required. */
    int64_t default_deadline_ms; /**< Used when a call passes 0; 0 here means 30000,
                                      negative means no deadline. */
    size_t max_message_bytes;    /**< Largest message the client receives; larger ones
                                      fail the call with RESOURCE_EXHAUSTED. 0 means
                                      64 MiB; at most INT_MAX. */
    vg_tls_options tls;          /**< TLS / mutual TLS; all zero: plaintext. */
    int64_t keepalive_time_ms;   /**< Send an HTTP/2 ping after this long without
                                      traffic, to notice a dead peer (or keep NATs
                                      open); 0: no keepalive. Servers refuse pings
                                      more often than every 5 minutes unless
                                      configured otherwise. */
    int64_t keepalive_timeout_ms; /**< How long to wait for the ping's answer before
                                      the connection is closed; 0 means 20000. */
    bool keepalive_without_calls; /**< Ping also while no call is open. */
} vg_client_options;

/**
 * Creates a client for `options->target`. Connecting is lazy: the first call
 * connects, and a server that is not there makes calls fail UNAVAILABLE (or
 * DEADLINE_EXCEEDED), not this function.
 *
 * @param options how to connect; only read during the call.
 * @param[out] client the new client, to free with vg_client_free().
 * @param[out] status why it failed: INVALID_ARGUMENT for bad options or unreadable
 *   TLS files.
 * @return 0, or -1 with `status`.
 */
VG_EXPORT int vg_client_new(const vg_client_options *options, vg_client **client,
                            vg_status *status);

/**
 * Closes the connection and frees the client. Streams opened on it must be freed
 * first; no other thread may be in a call on it.
 *
 * @param client the client, or NULL.
 * @return NULL, so that `client = vg_client_free(client);` clears the pointer.
 */
VG_EXPORT vg_client *vg_client_free(vg_client *client);

/**
 * One request, one response: the generic form of the generated unary functions.
 *
 * @param client the connection.
 * @param method_path "/package.Service/Method".
 * @param request the request message.
 * @param response_type the protobuf-c descriptor of the response message.
 * @param[out] response the response, to free with protobuf_c_message_free_unpacked().
 * @param deadline_ms relative deadline; 0: the client's default; negative: none.
 * @param[out] status the failure.
 * @return 0, or -1 with `status`.
 */
VG_EXPORT int vg_client_call_unary(vg_client *client, const char *method_path,
                                   const ProtobufCMessage *request,
                                   const ProtobufCMessageDescriptor *response_type,
                                   ProtobufCMessage **response, int64_t deadline_ms,
                                   vg_status *status);

/**
 * Opens a server-streaming (`request` not NULL: sent and half-closed at once) or
 * bidirectional (`request` NULL: send with vg_client_stream_send()) call. It returns
 * once the call has started, without waiting for the server's first message.
 *
 * @param client the connection.
 * @param method_path "/package.Service/Method".
 * @param request the only request of a server-streaming call, or NULL.
 * @param response_type the protobuf-c descriptor of the messages the server sends.
 * @param deadline_ms relative deadline of the whole stream; 0: the client's default;
 *   negative: none (usual for watches).
 * @param[out] stream the open stream, to free with vg_client_stream_free().
 * @param[out] status the failure.
 * @return 0, or -1 with `status`.
 */
VG_EXPORT int vg_client_stream_open(vg_client *client, const char *method_path,
                                    const ProtobufCMessage *request,
                                    const ProtobufCMessageDescriptor *response_type,
                                    int64_t deadline_ms, vg_client_stream **stream,
                                    vg_status *status);

/**
 * Iterator form: blocks for the stream's next message.
 *
 * @param stream the stream.
 * @param[out] message the message (free it with protobuf_c_message_free_unpacked()).
 * @param[out] status the failure, CANCELLED after vg_client_stream_cancel().
 * @return 1 with `*message` set, 0 when the server ended the stream with OK (and on
 *   every later call), -1 with `status` on failure.
 */
VG_EXPORT int vg_client_stream_next(vg_client_stream *stream, ProtobufCMessage **message,
                                    vg_status *status);

/**
 * Bidirectional streams only: sends one message; blocks while HTTP/2 flow control
 * holds it back.
 *
 * @param stream the stream.
 * @param message the message.
 * @param[out] status the failure: INVALID_ARGUMENT on a server-streaming call,
 *   FAILED_PRECONDITION after vg_client_stream_close_send(), or the status the server
 *   ended the call with.
 * @return 0, or -1 with `status`.
 */
VG_EXPORT int vg_client_stream_send(vg_client_stream *stream,
                                    const ProtobufCMessage *message, vg_status *status);

/**
 * Half-closes the sending side: the server sees the end of the client's messages.
 * Closing twice is allowed.
 *
 * @param stream the stream.
 * @param[out] status the failure.
 * @return 0, or -1 with `status`.
 */
VG_EXPORT int vg_client_stream_close_send(vg_client_stream *stream, vg_status *status);

/**
 * Cancels the call. Safe from any thread, also while other threads wait in
 * vg_client_stream_next() or vg_client_stream_each(): they return -1 with CANCELLED.
 *
 * @param stream the stream, or NULL.
 */
VG_EXPORT void vg_client_stream_cancel(vg_client_stream *stream);

/**
 * Cancels the call if it is still open and frees the stream. No other thread may use
 * the stream any more.
 *
 * @param stream the stream, or NULL.
 * @return NULL.
 */
VG_EXPORT vg_client_stream *vg_client_stream_free(vg_client_stream *stream);

/**
 * A callback of vg_client_stream_each().
 *
 * @param message the message; the callback does not own it (copy what it keeps).
 * @param user_data as given to vg_client_stream_each().
 * @return 0 to go on, non-zero to stop (the call is then cancelled).
 */
typedef int (*vg_client_message_cb)(const ProtobufCMessage *message, void *user_data);

/**
 * Callback form of a stream's read loop: calls `on_message` for each message until
 * the stream ends, the callback returns non-zero (the call is cancelled and 0
 * returned), or a failure. Another thread may end it with vg_client_stream_cancel().
 *
 * @param stream the stream.
 * @param on_message called in this thread for each message.
 * @param user_data passed to `on_message`.
 * @param[out] status the failure, CANCELLED after vg_client_stream_cancel().
 * @return 0 at the stream's clean end or when the callback stopped it, -1 with
 *   `status` on failure.
 */
VG_EXPORT int vg_client_stream_each(vg_client_stream *stream,
                                    vg_client_message_cb on_message, void *user_data,
                                    vg_status *status);

#ifdef __cplusplus
}
#endif
