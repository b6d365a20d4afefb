/*
 * The gRPC server: listeners, the completion-queue thread, call admission (limits,
 * deadlines) and dispatch through the generated method table. This and the other files
 * in server/transport/ are the only code that uses gRPC core's API, which changes
 * between gRPC releases.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "server/runtime/loop.h"
#include "server/runtime/worker-pool.h"
#include "server/transport/listeners.h"

typedef struct vg_server vg_server;

typedef struct vg_server_config {
    /* Where to listen, how securely, and the role of the callers there (listeners.h).
     * A health-only listener serves grpc.health.v1 alone (a probe port). The strings
     * must outlive the server. */
    const vg_listener_config *listeners;
    size_t n_listeners;
    /* Allows plaintext TCP listeners on non-loopback addresses. */
    bool allow_insecure_plaintext;
    /* How often TLS certificate, key and CA files are re-read, in seconds. */
    unsigned tls_refresh_s;
    /* Largest request accepted; larger ones fail with RESOURCE_EXHAUSTED. gRPC core
     * applies it, so it is fixed for the server's life. The other limits (calls,
     * streams, sizes of responses, queues) are read from server/limits.h at each call. */
    size_t max_message_bytes;
    /* Threads that run unary libvirt-calling handlers themselves, without the hop to
     * the worker pool (server.c explains); 0 sends every such call to the pool. */
    size_t direct_threads;
} vg_server_config;

/* Creates the server, checks and binds every listener (vg_listener_check: plaintext
 * TCP only on loopback unless allowed, readable certificate files; Unix socket mode and
 * group set). On failure returns NULL and sets `*error` to a malloc'ed message. */
vg_server *vg_server_new(const vg_server_config *config, vg_loop *loop,
                         vg_worker_pool *pool, char **error);
/* The port bound for listener `index` (useful with port 0); 0 for unix sockets. */
int vg_server_port(const vg_server *server, size_t index);
/* Starts serving: the completion-queue thread and the first posted requests. */
int vg_server_start(vg_server *server);
/*
 * Stops accepting calls, ends open streams with UNAVAILABLE, lets unary calls in flight
 * finish for up to `grace_ms`, then cancels the rest. Calls `done(data)` on the loop
 * thread once every call is released. Loop thread only.
 */
void vg_server_shutdown(vg_server *server, unsigned grace_ms, void (*done)(void *data),
                        void *data);
/* Accepts NULL; returns NULL. After vg_server_shutdown completed. */
vg_server *vg_server_free(vg_server *server);
