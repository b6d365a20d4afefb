/*
 * A bidirectional gRPC stream bridged to a guest-side byte stream: a libvirt virStream
 * (consoles, channels) or a socket (graphics). console.c says what to open; this file
 * moves the bytes, applies the limits and ends both sides.
 *
 * Threads: client messages arrive on the transport's thread; the blocking open (lookup,
 * virDomainOpen*) and the closing of a libvirt stream (virStreamFinish / virStreamAbort
 * are round trips to libvirtd) run on the worker pool; every byte moves on the loop
 * thread, driven by libvirt stream events (non-blocking stream) or a uv_poll on the
 * socket. Nothing blocks the transport or the loop.
 */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>

#include "server/transport/call.h"
#include "virtgrpc/v1/domain.pb-c.h"

/* ErrorInfo reason when libvirtd closed the guest side under an open stream (ABORTED). */
#define VG_REASON_STREAM_CLOSED "VIRTGRPC_STREAM_CLOSED"

/* The server's limits on open byte streams; set once at start-up (main.c options). */
typedef struct vg_byte_stream_limits {
    /* Consoles, channels and graphics tunnels open at once, per domain and in all. */
    unsigned max_per_domain;
    unsigned max_total;
    /* Seconds without a byte in either direction before the stream ends with
     * DEADLINE_EXCEEDED; 0 never. */
    unsigned idle_timeout_s;
} vg_byte_stream_limits;

#define VG_BYTE_STREAM_DEFAULT_MAX_PER_DOMAIN 4
#define VG_BYTE_STREAM_DEFAULT_MAX_TOTAL 64
#define VG_BYTE_STREAM_DEFAULT_IDLE_TIMEOUT_S 1800

void vg_byte_stream_set_limits(const vg_byte_stream_limits *limits);

/* The guest side an opener produced: a non-blocking libvirt stream or a socket. */
typedef struct vg_guest_end {
    virStreamPtr stream;
    int fd;
} vg_guest_end;

/* What one kind of stream (console, channel, graphics) contributes. */
typedef struct vg_byte_stream_kind {
    /* "console", for messages. */
    const char *what;
    /* Transport thread: which member of the client message's oneof is set; sets
     * `*open` or `*input` to it. */
    int (*split)(const ProtobufCMessage *message, const ProtobufCMessage **open,
                 ProtobufCBinaryData *input);
    /* The decoded `open` message's domain. */
    const Virtgrpc__V1__DomainRef *(*domain_of)(const ProtobufCMessage *open);
    /* Worker thread: opens the guest side of `domain` as `open` asks. Returns 0 with
     * `end` set, or -1 with the failure recorded on the call. */
    int (*open)(vg_call *call, virDomainPtr domain, const ProtobufCMessage *open,
                vg_guest_end *end);
} vg_byte_stream_kind;

/* split results (every Open*Request has the same oneof shape). */
enum { VG_BYTE_STREAM_NOT_SET, VG_BYTE_STREAM_OPEN, VG_BYTE_STREAM_INPUT };

/* The handler of a bidirectional Open* RPC: starts reading the client's messages. */
int vg_byte_stream_run(vg_call *call, const vg_byte_stream_kind *kind);

/* Device names are aliases or channel target names: [A-Za-z0-9._-], 1 to 64 bytes.
 * INVALID_ARGUMENT naming `field` otherwise; "" is allowed (the first device). */
int vg_byte_stream_check_device(vg_call *call, const char *field, const char *name);

/* NOT_FOUND when running `domain` has no console-like device or channel with alias or
 * target name `name`: libvirt itself answers INTERNAL_ERROR for that. "" passes. Asks
 * the live XML (domain-xml.h). */
int vg_byte_stream_check_present(vg_call *call, virDomainPtr domain, const char *what,
                                 const char *name);
