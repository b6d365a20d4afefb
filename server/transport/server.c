/*
 * Accepting calls: one completion queue drained by a dedicated thread (gRPC core only
 * makes progress while a thread waits in grpc_completion_queue_next), one posted request
 * per registered method, re-posted as soon as it yields a call, plus a catch-all request
 * that answers unknown methods with UNIMPLEMENTED (without it they would hang until
 * their deadline).
 *
 * Every listener is a gRPC server of its own (an "endpoint") on the shared completion
 * queue: gRPC core's C API cannot tell which port a call came in on, and the listener
 * decides the caller's role (read-only socket, mutual-TLS identity map). The caller's
 * role is checked against the method's before anything else happens to the call.
 *
 * Admission happens on the CQ thread and costs no allocation beyond the call itself:
 * over-limit calls fail at once with RESOURCE_EXHAUSTED; accepted unary calls go to the
 * worker pool (or run inline for never-blocking services).
 *
 * Direct unary threads: handing a call to the pool costs two cross-thread wake-ups (CQ
 * thread -> worker, worker -> CQ thread for the reply), measured at ~45 us of CPU per
 * call, more than the rest of a GetDomainInfo. So the unary methods that call libvirt
 * are requested on a second completion queue drained by `direct_threads` threads that
 * run the handler themselves, blocking libvirt calls included (the rule is "never on
 * the libuv loop", and this queue carries nothing else: streams and their handlers stay
 * on the single main CQ thread, which they rely on). A direct thread runs a call only
 * while another direct thread is waiting on the queue; otherwise it hands the call to
 * the pool as before, so some thread always comes back to the queue to admit (or
 * refuse) the next call, and at most `direct_threads - 1` handlers block there.
 */
#include "server/transport/server.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/limits.h"
#include "server/log.h"
#include "server/transport/admission.h"
#include "server/transport/authz-internal.h"
#include "server/transport/authz.h"
#include "server/transport/call-internal.h"

typedef struct vg_endpoint vg_endpoint;

typedef struct vg_request_slot {
    vg_tag tag;
    vg_server *server;
    vg_endpoint *endpoint;
    const vg_method *method;   /* NULL: the catch-all slot for unknown methods */
    void *registered;          /* grpc_server_register_method handle */
    grpc_completion_queue *cq; /* where it is requested: the main or the direct CQ */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array metadata;
    grpc_byte_buffer *payload;
    grpc_call_details details; /* catch-all slot only */
} vg_request_slot;

typedef struct vg_stream_link {
    struct vg_stream_link *next;
    vg_call *call;
} vg_stream_link;

/* One listener's gRPC server. */
struct vg_endpoint {
    vg_server *server;
    const vg_listener_config *listener; /* in server->listeners */
    grpc_server *grpc;
    int port;                           /* 0 for Unix sockets */
    vg_request_slot *slots;             /* one per served method, then the catch-all */
    size_t n_slots;
    vg_tag shutdown_tag;
};

struct vg_server {
    vg_server_config config;
    vg_listener_config *listeners; /* checked copies of config.listeners */
    vg_loop *loop;
    vg_worker_pool *pool;
    grpc_completion_queue *cq;
    pthread_t cq_thread;
    bool cq_thread_started;

    /* The direct unary queue and its threads (see the top of this file); NULL / 0 when
     * config.direct_threads is 0. */
    grpc_completion_queue *direct_cq;
    pthread_t *direct_threads;
    size_t n_direct_threads;          /* started */
    atomic_size_t idle_direct_threads; /* waiting in grpc_completion_queue_next */

    vg_endpoint *endpoints; /* one per listener */
    size_t n_endpoints;
    atomic_size_t endpoints_open; /* not yet through grpc_server_shutdown_and_notify */

    vg_admission *admission; /* calls and streams in flight, in all and per client */
    atomic_bool shutting_down; /* vg_server_shutdown was called */
    atomic_bool refusing;      /* new calls are answered UNAVAILABLE */
    atomic_size_t refused;     /* calls answered so while refusing */
    size_t refused_seen;       /* `refused` at the last drain tick (loop thread) */
    uint64_t drain_started_ms; /* uv_now at SIGTERM (loop thread) */

    /* Open streams, ended with UNAVAILABLE at shutdown. Protected by streams_lock. */
    pthread_mutex_t streams_lock;
    vg_stream_link *streams;

    /* Every second, cancels streams whose client stopped reading after they ended
     * (vg_call_stalled). Allocated: closing it completes on a later loop iteration,
     * possibly after the server is freed. Loop thread only. */
    uv_timer_t *stall_timer;

    uv_timer_t grace_timer;    /* drain phase, then grace phase */
    unsigned grace_ms;
    void (*shutdown_done)(void *data);
    void *shutdown_data;
};

/* How long a shutting-down server keeps answering new calls UNAVAILABLE before it
 * stops listening: long enough to match every call already queued in gRPC core. It
 * keeps going while calls still arrive (a burst queued in core takes longer to match on
 * a loaded or slow host), in steps of VG_SHUTDOWN_DRAIN_MS, up to
 * VG_SHUTDOWN_DRAIN_MAX_MS and never beyond the grace period. */
#define VG_SHUTDOWN_DRAIN_MS 250
#define VG_SHUTDOWN_DRAIN_MAX_MS 2000

static void vg_server_slot_done(vg_tag *tag, bool ok);

/* --- the completion-queue thread ------------------------------------------------ */

/* Drains `cq` until it shuts down; `idle` (may be NULL) counts the threads waiting. */
static void
vg_server_drain(grpc_completion_queue *cq, atomic_size_t *idle)
{
    for (;;) {
        grpc_event event;

        if (idle)
            atomic_fetch_add(idle, 1);
        event = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (idle)
            atomic_fetch_sub(idle, 1);
        if (event.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (event.type == GRPC_OP_COMPLETE && event.tag) {
            vg_tag *tag = event.tag;

            tag->on_complete(tag, event.success != 0);
        }
    }
}

static void *
vg_server_cq_main(void *opaque)
{
    vg_server *server = opaque;

    vg_server_drain(server->cq, NULL);
    return NULL;
}

static void *
vg_server_direct_main(void *opaque)
{
    vg_server *server = opaque;

    vg_server_drain(server->direct_cq, &server->idle_direct_threads);
    return NULL;
}

/* --- requests -------------------------------------------------------------------- */

static void
vg_server_post(vg_request_slot *slot)
{
    vg_server *server = slot->server;
    grpc_server *grpc = slot->endpoint->grpc;
    grpc_call_error rc;

    grpc_metadata_array_init(&slot->metadata);
    slot->call = NULL;
    slot->payload = NULL;
    if (slot->method) {
        bool with_payload = slot->method->kind == VG_RPC_UNARY ||
                            slot->method->kind == VG_RPC_SERVER_STREAMING;

        rc = grpc_server_request_registered_call(
            grpc, slot->registered, &slot->call, &slot->deadline,
            &slot->metadata, with_payload ? &slot->payload : NULL, slot->cq,
            slot->cq, &slot->tag);
    } else {
        grpc_call_details_init(&slot->details);
        rc = grpc_server_request_call(grpc, &slot->call, &slot->details,
                                      &slot->metadata, server->cq, server->cq,
                                      &slot->tag);
    }
    if (rc != GRPC_CALL_OK)
        vg_log_error("cannot post a request for '%s': error %d",
                     slot->method ? slot->method->path : "unknown methods", rc);
}

static void
vg_server_dispatch_worker(void *data)
{
    vg_call_run_unary(data);
}

static void
vg_server_dispatch(vg_server *server, vg_call *call, bool on_direct_thread)
{
    const vg_method *method = call->method;

    if (atomic_load(&server->refusing)) {
        atomic_fetch_add(&server->refused, 1);
        vg_call_fail(call, GRPC_STATUS_UNAVAILABLE, VG_REASON_SHUTDOWN,
                     "server is shutting down; retry on another instance");
    }
    /* Before any limit: a caller without the role learns nothing about the server's
     * load, and the handler never runs. */
    if (!call->failed)
        vg_call_authorize(call, method);

    vg_admission_enter(server->admission, call); /* over a limit: the call has failed */
    if (method->kind == VG_RPC_UNARY) {
        /* On a direct thread, run it here while another direct thread waits on the
         * queue (see the top of this file). */
        if (method->exec == VG_EXEC_INLINE || call->failed ||
            (on_direct_thread && atomic_load(&server->idle_direct_threads) > 0))
            vg_call_run_unary(call);
        else
            vg_worker_pool_submit(server->pool, vg_server_dispatch_worker, call);
        return;
    }

    if (call->failed) {
        /* Answer like a unary call: status only. */
        vg_call_run_unary(call);
        return;
    }
    /* Streams run their handler inline: streaming handlers set up state and return;
     * blocking work inside them goes to the pool explicitly. */
    vg_call_run_stream(call);
}

static void
vg_server_slot_done(vg_tag *tag, bool ok)
{
    vg_request_slot *slot = (vg_request_slot *)tag;
    vg_server *server = slot->server;
    vg_call *call;

    if (!ok) {
        /* Server shutdown: the request will never yield a call. */
        grpc_metadata_array_destroy(&slot->metadata);
        if (!slot->method)
            grpc_call_details_destroy(&slot->details);
        return;
    }

    call = vg_call_new(server, slot->method, slot->call,
                       slot->method ? slot->deadline : slot->details.deadline);
    call->request_metadata = slot->metadata;
    call->request_payload = slot->payload;
    vg_authz_identify(call, slot->endpoint->listener);

    if (!slot->method) {
        char *path = grpc_slice_to_c_string(slot->details.method);

        if (slot->endpoint->listener->health_only) {
            vg_call_fail(call, GRPC_STATUS_UNIMPLEMENTED, VG_REASON_INVALID_REQUEST,
                         "method '%s' is not served on this port: it serves only "
                         "'grpc.health.v1.Health'",
                         path);
        } else {
            vg_call_fail(call, GRPC_STATUS_UNIMPLEMENTED, VG_REASON_INVALID_REQUEST,
                         "unknown method '%s'", path);
        }
        gpr_free(path);
        grpc_call_details_destroy(&slot->details);
        vg_admission_enter(server->admission, call); /* released with the call */
        vg_server_post(slot);
        vg_call_run_unary(call);
        return;
    }

    vg_server_post(slot); /* keep one request posted while this call runs */
    vg_server_dispatch(server, call, slot->cq == server->direct_cq);
}

/* --- what calls ask of their server ----------------------------------------------- */

size_t
vg_server_max_queued_messages(const vg_server *server)
{
    return vg_limit(VG_LIMIT_MAX_QUEUED_MESSAGES);
}

void
vg_server_stream_started(vg_server *server, vg_call *call)
{
    vg_stream_link *link = malloc(sizeof(*link));

    if (!link)
        abort();
    link->call = call;
    pthread_mutex_lock(&server->streams_lock);
    link->next = server->streams;
    server->streams = link;
    pthread_mutex_unlock(&server->streams_lock);
}

void
vg_server_call_released(vg_server *server, vg_call *call)
{
    vg_admission_leave(server->admission, call);
    if (!call->is_stream)
        return;
    pthread_mutex_lock(&server->streams_lock);
    for (vg_stream_link **p = &server->streams; *p; p = &(*p)->next) {
        if ((*p)->call == call) {
            vg_stream_link *gone = *p;

            *p = gone->next;
            free(gone);
            break;
        }
    }
    pthread_mutex_unlock(&server->streams_lock);
}

/* The open streams `select` picks (all when NULL), each with a reference, for work that
 * must not run under streams_lock (failing, cancelling: they take the call's lock).
 * Free with vg_stream_links_release. */
static vg_stream_link *
vg_server_streams_ref(vg_server *server, bool (*select)(vg_call *call, void *data),
                      void *data)
{
    vg_stream_link *picked = NULL;

    pthread_mutex_lock(&server->streams_lock);
    for (vg_stream_link *link = server->streams; link; link = link->next) {
        vg_stream_link *copy;

        if (select && !select(link->call, data))
            continue;
        copy = malloc(sizeof(*copy));
        if (!copy)
            abort();
        copy->call = vg_call_ref(link->call);
        copy->next = picked;
        picked = copy;
    }
    pthread_mutex_unlock(&server->streams_lock);
    return picked;
}

static void
vg_stream_links_release(vg_stream_link *links)
{
    while (links) {
        vg_stream_link *next = links->next;

        vg_call_unref(links->call);
        free(links);
        links = next;
    }
}

/* --- streams whose client reads nothing ----------------------------------------- */

#define VG_STALL_SWEEP_MS 1000

typedef struct vg_stall_check {
    uint64_t now_ms;
    uint64_t timeout_ms;
} vg_stall_check;

static bool
vg_server_stream_stalled(vg_call *call, void *data)
{
    const vg_stall_check *check = data;

    return vg_call_stalled(call, check->now_ms, check->timeout_ms);
}

static void
vg_server_stall_sweep(uv_timer_t *timer)
{
    vg_server *server = timer->data;
    vg_stall_check check = {
        .now_ms = uv_now(timer->loop),
        .timeout_ms = (uint64_t)vg_limit(VG_LIMIT_STREAM_STALL_TIMEOUT_S) * 1000,
    };
    vg_stream_link *stalled = vg_server_streams_ref(server, vg_server_stream_stalled, &check);

    for (vg_stream_link *link = stalled; link; link = link->next)
        vg_call_cancel_stalled(link->call, check.timeout_ms);
    vg_stream_links_release(stalled);
}

static void
vg_server_stall_timer_closed(uv_handle_t *handle)
{
    free(handle);
}

static void
vg_server_stall_timer_close(vg_server *server)
{
    if (!server->stall_timer)
        return;
    uv_close((uv_handle_t *)server->stall_timer, vg_server_stall_timer_closed);
    server->stall_timer = NULL;
}

/* --- life cycle ------------------------------------------------------------------ */

/* Health-only listeners serve grpc.health.v1 and nothing else (unknown methods get
 * UNIMPLEMENTED there). */
static bool
vg_endpoint_serves(const vg_endpoint *endpoint, const vg_method *method)
{
    return !endpoint->listener->health_only ||
           strcmp(method->service, "grpc.health.v1.Health") == 0;
}

static int
vg_endpoint_init(vg_server *server, vg_endpoint *endpoint,
                 const vg_listener_config *listener, const grpc_channel_args *args,
                 char **error)
{
    size_t n_methods = 0;

    endpoint->server = server;
    endpoint->listener = listener;
    endpoint->grpc = grpc_server_create(args, NULL);
    grpc_server_register_completion_queue(endpoint->grpc, server->cq, NULL);
    if (server->direct_cq)
        grpc_server_register_completion_queue(endpoint->grpc, server->direct_cq, NULL);

    endpoint->slots = calloc(vg_methods_count + 1, sizeof(*endpoint->slots));
    if (!endpoint->slots)
        abort();
    for (size_t i = 0; i < vg_methods_count; i++) {
        const vg_method *method = &vg_methods[i];
        bool with_payload = method->kind == VG_RPC_UNARY ||
                            method->kind == VG_RPC_SERVER_STREAMING;
        vg_request_slot *slot;

        if (!vg_endpoint_serves(endpoint, method))
            continue;
        slot = &endpoint->slots[n_methods++];
        slot->method = method;
        /* Unary calls that would go to the pool are requested on the direct queue. */
        slot->cq = server->direct_cq && method->kind == VG_RPC_UNARY &&
                           method->exec == VG_EXEC_WORKER
                       ? server->direct_cq
                       : server->cq;
        slot->registered = grpc_server_register_method(
            endpoint->grpc, method->path, NULL,
            with_payload ? GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER
                         : GRPC_SRM_PAYLOAD_NONE,
            0);
    }
    endpoint->n_slots = n_methods + 1; /* the catch-all is the last one */
    for (size_t i = 0; i < endpoint->n_slots; i++) {
        endpoint->slots[i].tag.on_complete = vg_server_slot_done;
        endpoint->slots[i].server = server;
        endpoint->slots[i].endpoint = endpoint;
        if (!endpoint->slots[i].cq)
            endpoint->slots[i].cq = server->cq; /* the catch-all */
    }

    endpoint->port = vg_listener_bind(listener, endpoint->grpc, server->config.tls_refresh_s,
                                      error);
    return endpoint->port < 0 ? -1 : 0;
}

vg_server *
vg_server_new(const vg_server_config *config, vg_loop *loop, vg_worker_pool *pool,
              char **error)
{
    vg_server *server = calloc(1, sizeof(*server));
    grpc_arg args[3];
    grpc_channel_args channel_args = { .num_args = 3, .args = args };

    if (!server)
        abort();
    server->config = *config;
    server->loop = loop;
    server->pool = pool;
    pthread_mutex_init(&server->streams_lock, NULL);
    server->admission = vg_admission_new();

    server->listeners = calloc(config->n_listeners ? config->n_listeners : 1,
                               sizeof(*server->listeners));
    if (!server->listeners)
        abort();
    for (size_t i = 0; i < config->n_listeners; i++) {
        server->listeners[i] = config->listeners[i];
        if (vg_listener_check(&server->listeners[i], config->allow_insecure_plaintext,
                              error) < 0) {
            vg_server_free(server);
            return NULL;
        }
    }

    args[0] = (grpc_arg){ .type = GRPC_ARG_INTEGER,
                          .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                          .value.integer = (int)config->max_message_bytes };
    /* Core turns SO_REUSEPORT on by default, so a second server on a busy port would
     * start silently. */
    args[1] = (grpc_arg){ .type = GRPC_ARG_INTEGER,
                          .key = GRPC_ARG_ALLOW_REUSEPORT,
                          .value.integer = 0 };
    args[2] = (grpc_arg){ .type = GRPC_ARG_INTEGER,
                          .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                          .value.integer = -1 };

    server->cq = grpc_completion_queue_create_for_next(NULL);
    if (config->direct_threads > 0) {
        server->direct_cq = grpc_completion_queue_create_for_next(NULL);
        server->direct_threads = calloc(config->direct_threads,
                                        sizeof(*server->direct_threads));
        if (!server->direct_threads)
            abort();
    }
    server->endpoints = calloc(config->n_listeners ? config->n_listeners : 1,
                               sizeof(*server->endpoints));
    if (!server->endpoints)
        abort();
    for (size_t i = 0; i < config->n_listeners; i++) {
        server->n_endpoints++;
        if (vg_endpoint_init(server, &server->endpoints[i], &server->listeners[i],
                             &channel_args, error) < 0) {
            vg_server_free(server);
            return NULL;
        }
    }
    return server;
}

int
vg_server_port(const vg_server *server, size_t index)
{
    return index < server->n_endpoints ? server->endpoints[index].port : 0;
}

int
vg_server_start(vg_server *server)
{
    for (size_t i = 0; i < server->n_endpoints; i++)
        grpc_server_start(server->endpoints[i].grpc);
    server->stall_timer = malloc(sizeof(*server->stall_timer));
    if (!server->stall_timer)
        abort();
    uv_timer_init(vg_loop_uv(server->loop), server->stall_timer);
    server->stall_timer->data = server;
    uv_timer_start(server->stall_timer, vg_server_stall_sweep, VG_STALL_SWEEP_MS,
                   VG_STALL_SWEEP_MS);
    /* Not a reason to keep the loop running. */
    uv_unref((uv_handle_t *)server->stall_timer);
    if (pthread_create(&server->cq_thread, NULL, vg_server_cq_main, server) != 0)
        return -1;
    server->cq_thread_started = true;
    for (size_t i = 0; i < server->config.direct_threads; i++) {
        if (pthread_create(&server->direct_threads[i], NULL, vg_server_direct_main,
                           server) != 0)
            return -1;
        server->n_direct_threads = i + 1;
    }
    for (size_t i = 0; i < server->n_endpoints; i++) {
        for (size_t j = 0; j < server->endpoints[i].n_slots; j++)
            vg_server_post(&server->endpoints[i].slots[j]);
    }
    return 0;
}

static void
vg_server_shutdown_finished(void *data)
{
    vg_server *server = data;

    uv_timer_stop(&server->grace_timer);
    uv_close((uv_handle_t *)&server->grace_timer, NULL);
    vg_server_stall_timer_close(server);
    if (server->shutdown_done)
        server->shutdown_done(server->shutdown_data);
}

static void
vg_server_shutdown_tag_done(vg_tag *tag, bool ok)
{
    vg_endpoint *endpoint = (vg_endpoint *)((char *)tag - offsetof(vg_endpoint, shutdown_tag));
    vg_server *server = endpoint->server;

    /* Every listener's calls are released: the last one reports. */
    if (atomic_fetch_sub(&server->endpoints_open, 1) == 1)
        vg_loop_post(server->loop, vg_server_shutdown_finished, server);
}

static void
vg_server_grace_expired(uv_timer_t *timer)
{
    vg_server *server = timer->data;

    vg_log_warn("shutdown grace period over: cancelling the calls still running");
    for (size_t i = 0; i < server->n_endpoints; i++)
        grpc_server_cancel_all_calls(server->endpoints[i].grpc);
}

/*
 * Phase two: stop listening and wait for the calls admitted so far. Streams never end by
 * themselves, so they are ended now and the grace period is spent only on unary calls
 * that can finish.
 */
static void
vg_server_stop_listening(uv_timer_t *timer)
{
    vg_server *server = timer->data;
    vg_stream_link *streams = NULL;

    atomic_store(&server->endpoints_open, server->n_endpoints);
    if (server->n_endpoints == 0)
        vg_loop_post(server->loop, vg_server_shutdown_finished, server);
    for (size_t i = 0; i < server->n_endpoints; i++) {
        vg_endpoint *endpoint = &server->endpoints[i];

        endpoint->shutdown_tag.on_complete = vg_server_shutdown_tag_done;
        grpc_server_shutdown_and_notify(endpoint->grpc, server->cq, &endpoint->shutdown_tag);
    }

    streams = vg_server_streams_ref(server, NULL, NULL);
    for (vg_stream_link *link = streams; link; link = link->next) {
        vg_call_fail(link->call, GRPC_STATUS_UNAVAILABLE, VG_REASON_SHUTDOWN,
                     "server is shutting down");
        vg_call_finish(link->call);
    }
    vg_stream_links_release(streams);

    uv_timer_start(&server->grace_timer, vg_server_grace_expired, server->grace_ms, 0);
}

/* Loop thread: one drain step ended. Calls refused during it mean core may still hold
 * queued ones: keep matching for another step, within the bounds. */
static void
vg_server_drain_tick(uv_timer_t *timer)
{
    vg_server *server = timer->data;
    size_t refused = atomic_load(&server->refused);
    uint64_t elapsed = uv_now(vg_loop_uv(server->loop)) - server->drain_started_ms;

    if (refused != server->refused_seen && elapsed + VG_SHUTDOWN_DRAIN_MS <= server->grace_ms &&
        elapsed + VG_SHUTDOWN_DRAIN_MS <= VG_SHUTDOWN_DRAIN_MAX_MS) {
        server->refused_seen = refused;
        uv_timer_start(timer, vg_server_drain_tick, VG_SHUTDOWN_DRAIN_MS, 0);
        return;
    }
    vg_server_stop_listening(timer);
}

void
vg_server_shutdown(vg_server *server, unsigned grace_ms, void (*done)(void *data),
                   void *data)
{
    atomic_store(&server->shutting_down, true);
    server->shutdown_done = done;
    server->shutdown_data = data;
    server->grace_ms = grace_ms;

    /*
     * Phase one: keep matching calls for a moment, but answer every new one UNAVAILABLE
     * (which clients retry elsewhere). Calls that reached gRPC core but were not matched
     * yet would otherwise be dropped by grpc_server_shutdown_and_notify, and their
     * clients would see CANCELLED, which retry policies do not retry.
     */
    atomic_store(&server->refusing, true);
    uv_timer_init(vg_loop_uv(server->loop), &server->grace_timer);
    server->grace_timer.data = server;
    server->drain_started_ms = uv_now(vg_loop_uv(server->loop));
    uv_timer_start(&server->grace_timer, vg_server_drain_tick,
                   grace_ms < VG_SHUTDOWN_DRAIN_MS ? grace_ms : VG_SHUTDOWN_DRAIN_MS, 0);
}

vg_server *
vg_server_free(vg_server *server)
{
    if (!server)
        return NULL;
    vg_server_stall_timer_close(server);
    for (size_t i = 0; i < server->n_endpoints; i++) {
        vg_endpoint *endpoint = &server->endpoints[i];

        if (!endpoint->grpc)
            continue;
        if (!atomic_load(&server->shutting_down)) {
            /* Never started or never shut down: shut down synchronously. */
            grpc_server_shutdown_and_notify(endpoint->grpc, server->cq, NULL);
            grpc_server_cancel_all_calls(endpoint->grpc);
        }
        grpc_server_destroy(endpoint->grpc);
    }
    if (server->cq) {
        grpc_completion_queue_shutdown(server->cq);
        if (server->cq_thread_started) {
            pthread_join(server->cq_thread, NULL);
        } else {
            while (grpc_completion_queue_next(server->cq,
                                              gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                              NULL).type != GRPC_QUEUE_SHUTDOWN) {
            }
        }
        grpc_completion_queue_destroy(server->cq);
    }
    if (server->direct_cq) {
        grpc_completion_queue_shutdown(server->direct_cq);
        for (size_t i = 0; i < server->n_direct_threads; i++)
            pthread_join(server->direct_threads[i], NULL);
        if (server->n_direct_threads == 0) {
            while (grpc_completion_queue_next(server->direct_cq,
                                              gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                              NULL).type != GRPC_QUEUE_SHUTDOWN) {
            }
        }
        grpc_completion_queue_destroy(server->direct_cq);
    }
    free(server->direct_threads);
    pthread_mutex_destroy(&server->streams_lock);
    server->admission = vg_admission_free(server->admission);
    for (size_t i = 0; i < server->n_endpoints; i++)
        free(server->endpoints[i].slots);
    free(server->endpoints);
    free(server->listeners);
    free(server);
    return NULL;
}
