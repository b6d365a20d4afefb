/*
 * The bridge between a bidirectional gRPC stream and a guest-side byte stream (see
 * byte-stream.h for the threads).
 *
 * Lifetime: a bridge holds a reference on its call and is itself counted: one
 * reference until the call's on_done ran, one until the guest side is released, one per
 * job posted to the loop or the pool. Every state change after the open happens on the
 * loop thread, so the flags marked "loop" need no lock.
 *
 * Ending: whatever ends the stream (client half-close, cancel, guest end of file or
 * error, idle timeout, a refused send) goes through vg_bridge_close() on the loop: it
 * stops the libvirt stream callback and the libuv handles, then a worker finishes or
 * aborts the libvirt stream (round trips to libvirtd), closes the socket, gives the
 * limit slot back and ends the RPC with the failure recorded, if any, else OK.
 */
#include "server/services/byte-stream.h"
#include "server/services/domain-xml.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "server/limits.h"
#include "server/runtime/loop.h"
#include "server/runtime/worker-pool.h"
#include "server/services/service.h"
#include "virtgrpc/v1/console.pb-c.h"

/* Largest output message, and how much is read from the guest at once. */
#define VG_CHUNK_BYTES (64 * 1024)
/* Client input the guest has not taken yet is bounded by the limit
 * max-console-input-bytes; more fails with RESOURCE_EXHAUSTED. gRPC delivers client
 * messages as they come (the transport re-arms its read at once), so this bound is what
 * keeps a client that out-types the guest from growing the server. */
/* Reading from the guest stops while this many messages wait for the client, and
 * resumes below half of it. */
#define VG_OUTPUT_HIGH_WATER 32
/* How often a paused stream checks whether the client caught up: the transport has no
 * "send queue drained" notice. */
#define VG_RESUME_POLL_MS 10
/* Reads per wake-up, so one busy guest cannot hold the loop. */
#define VG_READS_PER_EVENT 16

typedef struct vg_chunk {
    struct vg_chunk *next;
    size_t length;
    size_t offset;
    uint8_t data[];
} vg_chunk;

typedef enum vg_end_mode {
    VG_END_ABORT,   /* virStreamAbort: the stream failed or the client went away */
    VG_END_FINISH,  /* virStreamFinish: both sides are done, nothing is lost */
} vg_end_mode;

typedef struct vg_bridge {
    atomic_int refs;
    vg_call *call;
    const vg_byte_stream_kind *kind;
    vg_loop *loop;

    bool got_open;                /* transport thread only */
    atomic_bool open_pending;     /* an open job runs and has not attached yet */

    /* Input from the client: the transport thread appends, the loop consumes. */
    pthread_mutex_t lock;
    vg_chunk *in_head;
    vg_chunk *in_tail;
    size_t in_bytes;
    bool client_eof;
    bool input_posted;

    /* Written by the open job before it posts vg_bridge_attached; loop afterwards. */
    const ProtobufCMessage *open;
    vg_guest_end end;
    char uuid[VIR_UUID_STRING_BUFLEN];
    bool counted;

    /* Loop thread only. */
    bool attached;
    bool closing;
    vg_end_mode end_mode;
    bool guest_eof;
    bool write_blocked;           /* the guest refused input: wait until writable */
    bool throttled;               /* output waits for the client */
    uint8_t *out;                 /* output the transport refused, sent on resume */
    size_t out_length;
    bool stream_cb;
    int watched;                  /* events asked for, VIR_STREAM_EVENT_* or UV_* */
    bool poll_ready;
    bool timers_ready;
    int open_handles;
    uint64_t last_activity_ms;
    uv_poll_t poll;
    uv_timer_t idle_timer;
    uv_timer_t resume_timer;
} vg_bridge;

/* --- limits -------------------------------------------------------------------------- */

typedef struct vg_domain_count {
    struct vg_domain_count *next;
    char uuid[VIR_UUID_STRING_BUFLEN];
    unsigned open;
} vg_domain_count;

static struct {
    pthread_mutex_t lock;
    vg_byte_stream_limits limits;
    unsigned open;
    vg_domain_count *domains;
} registry = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .limits = {
        .max_per_domain = VG_BYTE_STREAM_DEFAULT_MAX_PER_DOMAIN,
        .max_total = VG_BYTE_STREAM_DEFAULT_MAX_TOTAL,
        .idle_timeout_s = VG_BYTE_STREAM_DEFAULT_IDLE_TIMEOUT_S,
    },
};

void
vg_byte_stream_set_limits(const vg_byte_stream_limits *limits)
{
    pthread_mutex_lock(&registry.lock);
    registry.limits = *limits;
    pthread_mutex_unlock(&registry.lock);
}

static unsigned
vg_idle_timeout_s(void)
{
    unsigned timeout;

    pthread_mutex_lock(&registry.lock);
    timeout = registry.limits.idle_timeout_s;
    pthread_mutex_unlock(&registry.lock);
    return timeout;
}

/* Takes a slot for a stream to domain `uuid`, or records RESOURCE_EXHAUSTED. */
static int
vg_limits_take(vg_call *call, const char *what, const char *uuid, const char *name)
{
    vg_domain_count *count;
    int rc = 0;

    pthread_mutex_lock(&registry.lock);
    for (count = registry.domains; count; count = count->next) {
        if (strcmp(count->uuid, uuid) == 0)
            break;
    }
    if (registry.open >= registry.limits.max_total) {
        rc = vg_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT,
                          "server has %u consoles, channels and graphics tunnels open, "
                          "its limit (--max-consoles)", registry.open);
    } else if (count && count->open >= registry.limits.max_per_domain) {
        rc = vg_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT,
                          "domain '%s' has %u consoles, channels and graphics tunnels "
                          "open, the limit per domain (--max-consoles-per-domain); "
                          "no %s opened", name, count->open, what);
    } else {
        if (!count) {
            count = calloc(1, sizeof(*count));
            if (!count)
                abort();
            snprintf(count->uuid, sizeof(count->uuid), "%s", uuid);
            count->next = registry.domains;
            registry.domains = count;
        }
        count->open++;
        registry.open++;
    }
    pthread_mutex_unlock(&registry.lock);
    return rc;
}

static void
vg_limits_give_back(const char *uuid)
{
    pthread_mutex_lock(&registry.lock);
    registry.open--;
    for (vg_domain_count **p = &registry.domains; *p; p = &(*p)->next) {
        if (strcmp((*p)->uuid, uuid) == 0) {
            vg_domain_count *count = *p;

            if (--count->open == 0) {
                *p = count->next;
                free(count);
            }
            break;
        }
    }
    pthread_mutex_unlock(&registry.lock);
}

/* --- references ---------------------------------------------------------------------- */

static vg_bridge *
vg_bridge_ref(vg_bridge *bridge)
{
    atomic_fetch_add(&bridge->refs, 1);
    return bridge;
}

static void
vg_bridge_unref(vg_bridge *bridge)
{
    if (atomic_fetch_sub(&bridge->refs, 1) != 1)
        return;
    while (bridge->in_head) {
        vg_chunk *next = bridge->in_head->next;

        free(bridge->in_head);
        bridge->in_head = next;
    }
    free(bridge->out);
    pthread_mutex_destroy(&bridge->lock);
    vg_call_unref(bridge->call);
    free(bridge);
}

/* Runs `fn(bridge)` on the loop thread, holding a reference for it. */
static void
vg_bridge_post(vg_bridge *bridge, vg_loop_fn fn)
{
    vg_loop_post(bridge->loop, fn, vg_bridge_ref(bridge));
}

static void vg_bridge_close(vg_bridge *bridge, vg_end_mode mode);
static void vg_bridge_read(vg_bridge *bridge);
static void vg_bridge_write(vg_bridge *bridge);
static void vg_bridge_resume(uv_timer_t *timer);

/* --- the guest side: a libvirt stream or a socket ------------------------------------ */

/* Reads up to `size` bytes: > 0 bytes, 0 end of file, -2 nothing yet, -1 failure
 * (recorded on the call). */
static ssize_t
vg_guest_read(vg_bridge *bridge, uint8_t *buffer, size_t size)
{
    ssize_t n;

    if (bridge->end.stream) {
        virErrorPtr error;

        n = virStreamRecv(bridge->end.stream, (char *)buffer, size);
        if (n != -1)
            return n;
        error = virGetLastError();
        if (error && error->code == VIR_ERR_RPC && error->domain == VIR_FROM_STREAMS) {
            /* libvirtd closed its end of the stream: what a FORCE open by another
             * client does to this one (libvirtd reports it as an I/O failure). */
            vg_call_fail(bridge->call, GRPC_STATUS_ABORTED, VG_REASON_STREAM_CLOSED,
                         "libvirtd closed the %s stream: another client opened the "
                         "device with FORCE, or libvirtd lost it (%s)", bridge->kind->what,
                         error->message ? error->message : "no message");
        } else {
            vg_call_fail_libvirt_about(bridge->call, "reading the %s", bridge->kind->what);
        }
        return -1;
    }
    n = read(bridge->end.fd, buffer, size);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return -2;
    vg_call_fail(bridge->call, GRPC_STATUS_UNAVAILABLE, VG_REASON_INTERNAL,
                 "reading the %s failed: %s", bridge->kind->what, strerror(errno));
    return -1;
}

/* Writes up to `size` bytes: bytes taken, -2 not now, -1 failure (recorded). */
static ssize_t
vg_guest_write(vg_bridge *bridge, const uint8_t *buffer, size_t size)
{
    ssize_t n;

    if (bridge->end.stream) {
        n = virStreamSend(bridge->end.stream, (const char *)buffer, size);
        if (n == -1)
            vg_call_fail_libvirt_about(bridge->call, "writing to the %s", bridge->kind->what);
        return n;
    }
    n = send(bridge->end.fd, buffer, size, MSG_NOSIGNAL);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return -2;
    vg_call_fail(bridge->call, GRPC_STATUS_UNAVAILABLE, VG_REASON_INTERNAL,
                 "writing to the %s failed: %s", bridge->kind->what, strerror(errno));
    return -1;
}

static void
vg_bridge_stream_event(virStreamPtr stream, int events, void *opaque)
{
    vg_bridge *bridge = opaque;

    if (events & VIR_STREAM_EVENT_WRITABLE)
        vg_bridge_write(bridge);
    if (!bridge->closing &&
        (events & (VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
                   VIR_STREAM_EVENT_HANGUP)))
        vg_bridge_read(bridge);
}

static void
vg_bridge_poll_event(uv_poll_t *handle, int status, int events)
{
    vg_bridge *bridge = handle->data;

    if (status < 0) {
        vg_call_fail(bridge->call, GRPC_STATUS_UNAVAILABLE, VG_REASON_INTERNAL,
                     "polling the %s failed: %s", bridge->kind->what, uv_strerror(status));
        vg_bridge_close(bridge, VG_END_ABORT);
        return;
    }
    if (events & UV_WRITABLE)
        vg_bridge_write(bridge);
    if (!bridge->closing && (events & (UV_READABLE | UV_DISCONNECT)))
        vg_bridge_read(bridge);
}

/* Asks for the events the bridge can act on now: readable unless output waits for the
 * client or the guest ended, writable only while input waits for the guest. */
static void
vg_bridge_watch(vg_bridge *bridge)
{
    bool read = !bridge->throttled && !bridge->guest_eof;
    int events;

    if (bridge->closing)
        return;
    if (bridge->end.stream) {
        events = (read ? VIR_STREAM_EVENT_READABLE : 0) |
                 (bridge->write_blocked ? VIR_STREAM_EVENT_WRITABLE : 0);
        if (events != bridge->watched)
            virStreamEventUpdateCallback(bridge->end.stream, events);
    } else {
        events = (read ? UV_READABLE | UV_DISCONNECT : 0) |
                 (bridge->write_blocked ? UV_WRITABLE : 0);
        if (events == bridge->watched)
            return;
        if (events)
            uv_poll_start(&bridge->poll, events, vg_bridge_poll_event);
        else
            uv_poll_stop(&bridge->poll);
    }
    bridge->watched = events;
}

/* --- output: guest to client --------------------------------------------------------- */

static void
vg_bridge_touch(vg_bridge *bridge)
{
    bridge->last_activity_ms = uv_now(vg_loop_uv(bridge->loop));
}

/* The guest ended and everything it sent is queued for the client. */
static void
vg_bridge_maybe_done(vg_bridge *bridge)
{
    if (bridge->guest_eof && !bridge->out)
        vg_bridge_close(bridge, VG_END_FINISH);
}

/* Queues `data` for the client. False when the client is slow (the bytes are kept for
 * later and reading pauses) or the call is over (the bridge closes). */
static bool
vg_bridge_send(vg_bridge *bridge, const uint8_t *data, size_t length)
{
    Virtgrpc__V1__GuestOutput message = VIRTGRPC__V1__GUEST_OUTPUT__INIT;

    if (vg_call_queued(bridge->call) < VG_OUTPUT_HIGH_WATER) {
        message.output.data = (uint8_t *)data;
        message.output.len = length;
        if (vg_call_send(bridge->call, &message.base) == 0)
            return true;
        if (vg_call_queued(bridge->call) == 0 || vg_call_is_cancelled(bridge->call)) {
            /* Refused with an empty queue, or after a cancel: the call has ended. */
            vg_bridge_close(bridge, VG_END_ABORT);
            return false;
        }
        /* Refused by a --max-queued-messages below our high-water mark. */
    }
    if (data != bridge->out) {
        bridge->out = malloc(length);
        if (!bridge->out)
            abort();
        memcpy(bridge->out, data, length);
        bridge->out_length = length;
    }
    if (!bridge->throttled) {
        bridge->throttled = true;
        uv_timer_start(&bridge->resume_timer, vg_bridge_resume, VG_RESUME_POLL_MS,
                       VG_RESUME_POLL_MS);
        vg_bridge_watch(bridge);
    }
    return false;
}

static void
vg_bridge_resume(uv_timer_t *timer)
{
    vg_bridge *bridge = timer->data;
    uint8_t *pending = bridge->out;

    if (bridge->closing || vg_call_queued(bridge->call) >= VG_OUTPUT_HIGH_WATER / 2)
        return;
    if (pending) {
        if (!vg_bridge_send(bridge, pending, bridge->out_length))
            return;
        bridge->out = NULL;
        free(pending);
    }
    bridge->throttled = false;
    uv_timer_stop(&bridge->resume_timer);
    vg_bridge_watch(bridge);
    vg_bridge_maybe_done(bridge);
}

static void
vg_bridge_read(vg_bridge *bridge)
{
    /* The loop is one thread: one buffer serves every bridge. */
    static uint8_t buffer[VG_CHUNK_BYTES];

    for (int i = 0; i < VG_READS_PER_EVENT && !bridge->closing && !bridge->throttled &&
                    !bridge->guest_eof; i++) {
        ssize_t n = vg_guest_read(bridge, buffer, sizeof(buffer));

        if (n == -2)
            return;
        if (n < 0) {
            vg_bridge_close(bridge, VG_END_ABORT);
            return;
        }
        if (n == 0) {
            bridge->guest_eof = true;
            vg_bridge_watch(bridge);
            vg_bridge_maybe_done(bridge);
            return;
        }
        vg_bridge_touch(bridge);
        vg_bridge_send(bridge, buffer, (size_t)n);
    }
}

/* --- input: client to guest ---------------------------------------------------------- */

static void
vg_bridge_write(vg_bridge *bridge)
{
    bool client_eof;

    bridge->write_blocked = false;
    for (;;) {
        vg_chunk *chunk;
        ssize_t n;

        pthread_mutex_lock(&bridge->lock);
        chunk = bridge->in_head;
        client_eof = bridge->client_eof;
        pthread_mutex_unlock(&bridge->lock);
        if (!chunk || bridge->closing)
            break;

        n = vg_guest_write(bridge, chunk->data + chunk->offset,
                           chunk->length - chunk->offset);
        if (n == -2) {
            bridge->write_blocked = true;
            break;
        }
        if (n < 0) {
            vg_bridge_close(bridge, VG_END_ABORT);
            return;
        }
        vg_bridge_touch(bridge);
        chunk->offset += (size_t)n;
        if (chunk->offset == chunk->length) {
            pthread_mutex_lock(&bridge->lock);
            bridge->in_head = chunk->next;
            if (!bridge->in_head)
                bridge->in_tail = NULL;
            bridge->in_bytes -= chunk->length;
            pthread_mutex_unlock(&bridge->lock);
            free(chunk);
        }
    }
    if (bridge->closing)
        return;
    if (!bridge->write_blocked && client_eof) {
        /* Everything the client sent reached the guest and it sends no more. */
        pthread_mutex_lock(&bridge->lock);
        bool drained = !bridge->in_head;
        pthread_mutex_unlock(&bridge->lock);
        if (drained) {
            vg_bridge_close(bridge, VG_END_FINISH);
            return;
        }
    }
    vg_bridge_watch(bridge);
}

/* Loop job posted by the transport thread when input or the half-close arrived. */
static void
vg_bridge_input_ready(void *data)
{
    vg_bridge *bridge = data;

    pthread_mutex_lock(&bridge->lock);
    bridge->input_posted = false;
    pthread_mutex_unlock(&bridge->lock);
    if (bridge->attached && !bridge->closing && !bridge->write_blocked)
        vg_bridge_write(bridge);
    vg_bridge_unref(bridge);
}

/* --- idle timeout -------------------------------------------------------------------- */

static void
vg_bridge_idle_check(uv_timer_t *timer)
{
    vg_bridge *bridge = timer->data;
    uint64_t timeout_ms = (uint64_t)vg_idle_timeout_s() * 1000;
    uint64_t idle_ms = uv_now(vg_loop_uv(bridge->loop)) - bridge->last_activity_ms;

    if (bridge->closing)
        return;
    if (idle_ms >= timeout_ms) {
        vg_call_fail(bridge->call, GRPC_STATUS_DEADLINE_EXCEEDED, VG_REASON_LIMIT,
                     "%s idle for %u s, the server's limit (--console-idle-timeout)",
                     bridge->kind->what, vg_idle_timeout_s());
        vg_bridge_close(bridge, VG_END_ABORT);
        return;
    }
    uv_timer_start(&bridge->idle_timer, vg_bridge_idle_check, timeout_ms - idle_ms, 0);
}

/* --- opening ------------------------------------------------------------------------- */

/* Loop: the open job is over, with a guest end or a recorded failure. */
static void
vg_bridge_attached(void *data)
{
    vg_bridge *bridge = data;
    unsigned idle_timeout_s = vg_idle_timeout_s();
    uv_loop_t *uv = vg_loop_uv(bridge->loop);

    atomic_store(&bridge->open_pending, false);
    bridge->attached = true;
    if (bridge->closing) {
        /* The client left while the guest side was being opened. */
        bridge->closing = false;
        vg_bridge_close(bridge, VG_END_ABORT);
    } else if (!bridge->end.stream && bridge->end.fd < 0) {
        vg_call_finish(bridge->call); /* with the failure the open recorded */
    } else {
        uv_timer_init(uv, &bridge->idle_timer);
        uv_timer_init(uv, &bridge->resume_timer);
        bridge->idle_timer.data = bridge->resume_timer.data = bridge;
        bridge->timers_ready = true;
        vg_bridge_touch(bridge);
        if (idle_timeout_s)
            uv_timer_start(&bridge->idle_timer, vg_bridge_idle_check,
                           (uint64_t)idle_timeout_s * 1000, 0);

        if (bridge->end.stream) {
            if (virStreamEventAddCallback(bridge->end.stream, VIR_STREAM_EVENT_READABLE,
                                          vg_bridge_stream_event, bridge, NULL) < 0) {
                vg_call_fail_libvirt_about(bridge->call, "watching the %s",
                                           bridge->kind->what);
                vg_bridge_close(bridge, VG_END_ABORT);
                vg_bridge_unref(bridge);
                return;
            }
            bridge->stream_cb = true;
            bridge->watched = VIR_STREAM_EVENT_READABLE;
        } else {
            uv_poll_init(uv, &bridge->poll, bridge->end.fd);
            bridge->poll.data = bridge;
            bridge->poll_ready = true;
            bridge->watched = 0;
            vg_bridge_watch(bridge);
        }
        /* Input that came while opening, and a half-close. */
        vg_bridge_write(bridge);
    }
    vg_bridge_unref(bridge);
}

static void
vg_bridge_open_job(void *data)
{
    vg_bridge *bridge = data;
    vg_call *call = bridge->call;
    virDomainPtr domain = vg_domain_lookup(call, bridge->kind->domain_of(bridge->open));

    if (domain && virDomainGetUUIDString(domain, bridge->uuid) < 0) {
        vg_call_fail_libvirt(call);
        domain = NULL;
    }
    if (domain && vg_limits_take(call, bridge->kind->what, bridge->uuid,
                                 virDomainGetName(domain)) == 0) {
        bridge->counted = true;
        if (bridge->kind->open(call, domain, bridge->open, &bridge->end) < 0) {
            bridge->end.stream = NULL;
            bridge->end.fd = -1;
        }
    }
    vg_loop_post(bridge->loop, vg_bridge_attached, bridge); /* passes the job's ref */
}

/* --- closing ------------------------------------------------------------------------- */

/* Worker: the blocking part of closing, then the end of the RPC. */
static void
vg_bridge_release_job(void *data)
{
    vg_bridge *bridge = data;

    if (bridge->end.stream) {
        if (bridge->end_mode == VG_END_FINISH) {
            if (virStreamFinish(bridge->end.stream) < 0)
                vg_call_fail_libvirt_about(bridge->call, "closing the %s",
                                           bridge->kind->what);
        } else {
            virStreamAbort(bridge->end.stream);
            virResetLastError(); /* a stream the guest side ended cannot be aborted */
        }
        virStreamFree(bridge->end.stream);
        bridge->end.stream = NULL;
    }
    if (bridge->end.fd >= 0) {
        close(bridge->end.fd);
        bridge->end.fd = -1;
    }
    if (bridge->counted)
        vg_limits_give_back(bridge->uuid);
    vg_call_finish(bridge->call);
    vg_bridge_unref(bridge); /* the guest side's reference */
}

static void
vg_bridge_handle_closed(uv_handle_t *handle)
{
    vg_bridge *bridge = handle->data;

    if (--bridge->open_handles == 0)
        vg_worker_pool_submit(vg_services_pool(), vg_bridge_release_job, bridge);
}

static void
vg_bridge_close_handle(vg_bridge *bridge, uv_handle_t *handle)
{
    bridge->open_handles++;
    uv_close(handle, vg_bridge_handle_closed);
}

static void
vg_bridge_close(vg_bridge *bridge, vg_end_mode mode)
{
    if (bridge->closing)
        return;
    bridge->closing = true;
    bridge->end_mode = mode;
    if (atomic_load(&bridge->open_pending))
        return; /* vg_bridge_attached closes once the open is over */

    if (bridge->stream_cb) {
        virStreamEventRemoveCallback(bridge->end.stream);
        bridge->stream_cb = false;
    }
    if (bridge->poll_ready)
        vg_bridge_close_handle(bridge, (uv_handle_t *)&bridge->poll);
    if (bridge->timers_ready) {
        vg_bridge_close_handle(bridge, (uv_handle_t *)&bridge->idle_timer);
        vg_bridge_close_handle(bridge, (uv_handle_t *)&bridge->resume_timer);
    }
    if (bridge->open_handles == 0)
        vg_worker_pool_submit(vg_services_pool(), vg_bridge_release_job, bridge);
}

/* Loop job for the call's end (client cancel or disconnect, or after our finish). */
static void
vg_bridge_call_done(void *data)
{
    vg_bridge *bridge = data;

    vg_bridge_close(bridge, VG_END_ABORT);
    vg_bridge_unref(bridge); /* on_done's reference */
}

static void
vg_bridge_on_done(vg_call *call, bool cancelled, void *data)
{
    vg_loop_post(((vg_bridge *)data)->loop, vg_bridge_call_done, data);
}

/* --- client messages (transport thread) ---------------------------------------------- */

/* Keeps the `open` message for the call's lifetime (the transport frees `message`
 * when the callback returns). */
static const ProtobufCMessage *
vg_bridge_keep(vg_call *call, const ProtobufCMessage *message)
{
    size_t size = protobuf_c_message_get_packed_size(message);
    uint8_t *packed = vg_call_alloc(call, size ? size : 1);

    protobuf_c_message_pack(message, packed);
    return protobuf_c_message_unpack(message->descriptor, vg_call_allocator(call), size,
                                     packed);
}

static void
vg_bridge_fail_close(void *data)
{
    vg_bridge *bridge = data;

    vg_bridge_close(bridge, VG_END_ABORT);
    vg_bridge_unref(bridge);
}

/* Transport thread: a bad client message. The RPC ends once the guest side is closed,
 * so a client that sees the status can open the device again at once. */
static void
vg_bridge_fail(vg_bridge *bridge, grpc_status_code code, const char *reason,
               const char *message)
{
    vg_call_fail(bridge->call, code, reason, "%s", message);
    vg_bridge_post(bridge, vg_bridge_fail_close);
}

static void
vg_bridge_on_message(vg_call *call, const ProtobufCMessage *message, void *data)
{
    vg_bridge *bridge = data;
    const ProtobufCMessage *open = NULL;
    ProtobufCBinaryData input = { 0 };
    int kind = message ? bridge->kind->split(message, &open, &input) : VG_BYTE_STREAM_NOT_SET;
    char text[256];

    if (vg_call_failed(call))
        return; /* ending already: later messages change nothing */

    if (!message && !bridge->got_open) {
        snprintf(text, sizeof(text), "the client closed the %s stream without sending "
                 "'open'", bridge->kind->what);
        vg_bridge_fail(bridge, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                       text);
        return;
    }
    if (!message) {
        pthread_mutex_lock(&bridge->lock);
        bridge->client_eof = true;
        if (!bridge->input_posted) {
            bridge->input_posted = true;
            vg_bridge_post(bridge, vg_bridge_input_ready);
        }
        pthread_mutex_unlock(&bridge->lock);
        return;
    }
    if (!bridge->got_open) {
        if (kind != VG_BYTE_STREAM_OPEN) {
            snprintf(text, sizeof(text), "the first message of a %s stream must set "
                     "'open' (which domain and device)", bridge->kind->what);
            vg_bridge_fail(bridge, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                           text);
            return;
        }
        bridge->got_open = true;
        bridge->open = vg_bridge_keep(call, open);
        atomic_store(&bridge->open_pending, true);
        vg_worker_pool_submit(vg_services_pool(), vg_bridge_open_job,
                              vg_bridge_ref(bridge));
        return;
    }
    if (kind == VG_BYTE_STREAM_OPEN) {
        snprintf(text, sizeof(text), "'open' was sent twice: a %s stream opens once; "
                 "later messages carry 'input'", bridge->kind->what);
        vg_bridge_fail(bridge, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                       text);
        return;
    }
    if (kind != VG_BYTE_STREAM_INPUT || input.len == 0)
        return;

    size_t max_input = vg_limit(VG_LIMIT_MAX_CONSOLE_INPUT_BYTES);

    pthread_mutex_lock(&bridge->lock);
    if (bridge->in_bytes + input.len > max_input) {
        size_t held = bridge->in_bytes;

        pthread_mutex_unlock(&bridge->lock);
        snprintf(text, sizeof(text), "the %s has not taken %zu bytes of input yet and "
                 "%zu more came: the server holds at most %zu (%s)", bridge->kind->what,
                 held, input.len, max_input,
                 vg_limit_option(VG_LIMIT_MAX_CONSOLE_INPUT_BYTES));
        vg_bridge_fail(bridge, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT, text);
        return;
    }
    vg_chunk *chunk = malloc(sizeof(*chunk) + input.len);

    if (!chunk)
        abort();
    chunk->next = NULL;
    chunk->length = input.len;
    chunk->offset = 0;
    memcpy(chunk->data, input.data, input.len);
    if (bridge->in_tail)
        bridge->in_tail->next = chunk;
    else
        bridge->in_head = chunk;
    bridge->in_tail = chunk;
    bridge->in_bytes += input.len;
    if (!bridge->input_posted) {
        bridge->input_posted = true;
        vg_bridge_post(bridge, vg_bridge_input_ready);
    }
    pthread_mutex_unlock(&bridge->lock);
}

int
vg_byte_stream_run(vg_call *call, const vg_byte_stream_kind *kind)
{
    vg_bridge *bridge = calloc(1, sizeof(*bridge));

    if (!bridge)
        abort();
    atomic_init(&bridge->refs, 2); /* the guest side's, and on_done's */
    atomic_init(&bridge->open_pending, false);
    bridge->call = vg_call_ref(call);
    bridge->kind = kind;
    bridge->loop = vg_services_loop();
    bridge->end.fd = -1;
    pthread_mutex_init(&bridge->lock, NULL);

    vg_call_on_done(call, vg_bridge_on_done, bridge);
    return vg_call_read_start(call, vg_bridge_on_message, bridge);
}

/* --- device names -------------------------------------------------------------------- */

int
vg_byte_stream_check_device(vg_call *call, const char *field, const char *name)
{
    size_t length = strlen(name);

    if (length > 64 || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789._-") != length) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' is not a device name ('%s': up to 64 letters, digits, "
                            "'.', '_' or '-')", name, field);
    }
    return 0;
}

int
vg_byte_stream_check_present(vg_call *call, virDomainPtr domain, const char *what,
                             const char *name)
{
    /* Aliases exist only while the domain runs; for a shut-off one libvirt's own answer
     * (not running) is the better one. Consoles are named by alias, channels by target
     * name or alias. */
    static const char count_devices[] =
        "count(/domain/devices/*[self::serial or self::console or self::parallel or "
        "self::channel][alias/@name = $name or target/@name = $name])";
    unsigned int aliases;
    unsigned int matches;

    if (!*name)
        return 0;
    if (vg_domain_xml_count(call, domain, "count(//alias)", NULL, &aliases) < 0 ||
        vg_domain_xml_count(call, domain, count_devices, name, &matches) < 0)
        return -1;
    if (aliases > 0 && matches == 0) {
        return vg_call_fail(call, GRPC_STATUS_NOT_FOUND, VG_REASON_INVALID_REQUEST,
                            "domain '%s' has no %s '%s'", virDomainGetName(domain), what,
                            name);
    }
    return 0;
}
