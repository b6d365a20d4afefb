/*
 * virtgrpcd: libvirt's domain API over gRPC.
 *
 * Threads: the main thread runs the libuv loop (signals, timers, libvirt's event loop);
 * one thread drains gRPC core's main completion queue (streams, inline services) and
 * dispatches calls; up to 4 threads drain a second queue and run unary libvirt calls
 * themselves (server/transport/server.c); a pool of --workers workers takes what they
 * hand off and other blocking work.
 */
#include <errno.h>
#include <glib.h>
#include <grpc/grpc.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/limits.h"
#include "server/log.h"
#include "server/options.h"
#include "server/security-options.h"
#include "server/runtime/libvirt-conn.h"
#include "server/runtime/libvirt-event-loop.h"
#include "server/runtime/loop.h"
#include "server/runtime/worker-pool.h"
#include "server/services/domain-cache.h"
#include "server/services/event-hub.h"
#include "server/services/byte-stream.h"
#include "server/services/health.h"
#include "server/services/job-registry.h"
#include "server/services/service.h"
#include "server/transport/audit.h"
#include "server/transport/server.h"

/* How long after the grace period the process may take to finish its calls and tear
 * down before it exits regardless. */
#define VG_HARD_STOP_AFTER_GRACE_S 2

typedef struct vg_daemon {
    vg_options options;
    vg_security security; /* listeners, built from the options */
    vg_loop *loop;
    vg_worker_pool *pool;
    vg_libvirt *libvirt;
    vg_event_hub *events;
    vg_server *server;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_signal_t sighup;
    bool stopping;
} vg_daemon;

/* libvirt prints every error to stderr by default; handlers report them to clients, so
 * keep them out of the log unless debugging. */
static void
vg_libvirt_error_to_log(void *data, virErrorPtr error)
{
    vg_log_debug("libvirt: %s", error && error->message ? error->message : "error");
}

static void
vg_daemon_libvirt_changed(bool connected, void *data)
{
    vg_daemon *daemon = data;

    if (!daemon->stopping)
        vg_health_set_serving(connected);
}

static void
vg_daemon_stopped(void *data)
{
    vg_daemon *daemon = data;

    vg_log_info("all calls finished; exiting");
    vg_loop_stop(daemon->loop);
}

/*
 * The bound on a shutdown, whatever blocks it. When the grace period is over its calls
 * are cancelled, but a worker may still be inside a libvirt call (a stuck libvirtd
 * answers nothing, and libvirt cannot abandon a call in flight): then neither the
 * worker pool nor the libvirt connection can be torn down. The clients have their
 * answer already, so exit without waiting, as the grace period promised. A thread of
 * its own, because the loop may be stopped or blocked by then.
 */
static void *
vg_daemon_hard_stop(void *data)
{
    unsigned grace_s = *(unsigned *)data;

    sleep(grace_s + VG_HARD_STOP_AFTER_GRACE_S);
    vg_log_warn("still not stopped %u s after the grace period (calls blocked in "
                "libvirt?); exiting without waiting for them", VG_HARD_STOP_AFTER_GRACE_S);
    fflush(stderr);
    _exit(0);
}

static void
vg_daemon_signal(uv_signal_t *handle, int signum)
{
    vg_daemon *daemon = handle->data;

    if (daemon->stopping)
        return;
    daemon->stopping = true;
    vg_log_info("%s received: draining calls for up to %u s", strsignal(signum),
                daemon->options.shutdown_grace_s);
    vg_health_set_serving(false);
    uv_signal_stop(&daemon->sigterm);
    uv_signal_stop(&daemon->sigint);
    uv_signal_stop(&daemon->sighup);
    /* The probe port (a health-only listener) drains with the rest: probes see
     * NOT_SERVING, then nothing. */
    vg_server_shutdown(daemon->server, daemon->options.shutdown_grace_s * 1000,
                       vg_daemon_stopped, daemon);
    pthread_t hard_stop;

    if (pthread_create(&hard_stop, NULL, vg_daemon_hard_stop,
                       &daemon->options.shutdown_grace_s) == 0)
        pthread_detach(hard_stop);
}

/* Applies what can change while serving. Runs on the loop thread. */
static void
vg_daemon_apply_reloadable(const vg_options *options)
{
    vg_log_set_level(options->log_level);
    for (int id = 0; id < VG_LIMIT_COUNT; id++) {
        /* gRPC core holds the request size limit for the server's life. */
        if (id != VG_LIMIT_MAX_MESSAGE_BYTES)
            vg_limit_set(id, options->limits[id]);
    }
    vg_byte_stream_set_limits(&options->byte_streams);
    vg_jobs_set_limits((unsigned)options->job_retention_s, options->max_jobs);
}

/* SIGHUP: re-read the configuration file; a bad file keeps the running configuration. */
static void
vg_daemon_reload(uv_signal_t *handle, int signum)
{
    vg_daemon *daemon = handle->data;
    vg_options next;
    char *error = NULL;

    if (daemon->stopping)
        return;
    if (vg_options_reload(&daemon->options, &next, &error) < 0) {
        vg_log_error("reload: %s; keeping the running configuration", error);
        free(error);
        return;
    }
    /* The role map first: a bad [roles] group keeps the whole running configuration. */
    if (vg_security_apply_roles(&next, &error) < 0) {
        vg_log_error("reload: %s; keeping the running configuration", error);
        g_free(error);
        vg_options_clear(&next);
        return;
    }
    /* Apply first: a new log level decides whether the changes below are logged. */
    vg_daemon_apply_reloadable(&next);
    vg_options_log_changes(&daemon->options, &next);
    /* Settings that need a restart keep their running values; only the reloadable ones and
     * the parsed file move over (listeners and others read the file they were started
     * with until the next start). */
    daemon->options.log_level = next.log_level;
    daemon->options.byte_streams = next.byte_streams;
    daemon->options.job_retention_s = next.job_retention_s;
    daemon->options.max_jobs = next.max_jobs;
    for (int id = 0; id < VG_LIMIT_COUNT; id++) {
        if (id != VG_LIMIT_MAX_MESSAGE_BYTES)
            daemon->options.limits[id] = next.limits[id];
    }
    vg_options_clear(&next);
    vg_log_info("reload: done%s%s", daemon->options.config_path ? " from " : "",
                daemon->options.config_path ? daemon->options.config_path : "");
}

static int
vg_write_port_file(const char *path, int port)
{
    char tmp[PATH_MAX];
    FILE *file;

    /* Write then rename, so a reader never sees a half-written port. */
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -1;
    file = fopen(tmp, "w");
    if (!file)
        return -1;
    fprintf(file, "%d\n", port);
    if (fclose(file) != 0)
        return -1;
    return rename(tmp, path);
}

/*
 * glibc gives freed memory back to the kernel as soon as 128 KiB are free at the top of
 * a heap, and serves blocks over 128 KiB (growing adaptively) with mmap: a call that
 * builds a large response (ListDomains, GetAllDomainStats of 1,000 domains: a few MiB)
 * then pays madvise/munmap with TLB shoot-downs and page faults on the next call, on
 * every one of the threads' heaps. perf under GetAllDomainStats: 20% of the server's
 * CPU in madvise, 9% clearing faulted pages. Keep up to 16 MiB per heap instead.
 */
#define VG_MALLOC_KEEP_BYTES (16 * 1024 * 1024)

/*
 * Threads running unary libvirt calls directly (server/transport/server.c): up to
 * --workers, at most this many. More only add CPU contention and let a burst be admitted
 * faster than it is served (ShutdownTest's 500-call burst then hit --max-inflight with
 * 16 of them); the pool's --workers threads still give blocking calls their concurrency.
 */
#define VG_DIRECT_THREADS_MAX 4

static void
vg_tune_malloc(void)
{
    mallopt(M_TRIM_THRESHOLD, VG_MALLOC_KEEP_BYTES);
    mallopt(M_MMAP_THRESHOLD, VG_MALLOC_KEEP_BYTES);
}

int
main(int argc, char **argv)
{
    vg_daemon daemon = { 0 };
    sigset_t signals;
    char *error = NULL;

    vg_tune_malloc();
    switch (vg_options_load(argc, argv, &daemon.options)) {
    case VG_OPTIONS_RUN:
        break;
    case VG_OPTIONS_EXIT_OK:
        vg_options_clear(&daemon.options);
        return 0;
    case VG_OPTIONS_EXIT_USAGE:
        vg_options_clear(&daemon.options);
        return 2;
    }
    vg_log_set_level(daemon.options.log_level);
    for (int id = 0; id < VG_LIMIT_COUNT; id++)
        vg_limit_set(id, daemon.options.limits[id]);
    if (vg_security_load(&daemon.options, &daemon.security, &error) < 0 ||
        vg_security_apply_roles(&daemon.options, &error) < 0 ||
        vg_audit_open(daemon.options.audit_log, &error) < 0) {
        fprintf(stderr, "virtgrpcd: %s\n", error ? error : "out of memory");
        g_free(error);
        return 2;
    }

    /* Threads started from here on (gRPC core's, the workers) inherit a mask without
     * these signals; the loop thread takes them through uv_signal. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    vg_log_route_grpc();
    grpc_init();

    /* libvirt's per-thread error state needs this before any other libvirt call. */
    if (virInitialize() < 0) {
        vg_log_error("cannot initialise libvirt");
        return 1;
    }
    virSetErrorFunc(NULL, vg_libvirt_error_to_log);
    daemon.loop = vg_loop_new();
    /* Before any connection: libvirt refuses event registration otherwise. */
    if (vg_libvirt_event_loop_register(daemon.loop) < 0) {
        vg_log_error("cannot register libvirt's event loop");
        return 1;
    }
    daemon.pool = vg_worker_pool_new(daemon.options.workers);
    if (!daemon.pool) {
        vg_log_error("cannot start %zu worker threads: %s", daemon.options.workers,
                     strerror(errno));
        return 1;
    }

    daemon.libvirt = vg_libvirt_new(daemon.loop, daemon.pool, daemon.options.connect_uri);
    vg_libvirt_set_keepalive(daemon.libvirt, (int)daemon.options.libvirt_keepalive_interval_s,
                             daemon.options.libvirt_keepalive_count);
    vg_services_init(daemon.libvirt, daemon.loop, daemon.pool);
    daemon.events = vg_event_hub_init(daemon.loop, daemon.pool, daemon.libvirt);
    vg_domain_cache_init(daemon.events, daemon.libvirt);
    vg_jobs_init(daemon.events, (unsigned)daemon.options.job_retention_s,
                 daemon.options.max_jobs);
    vg_byte_stream_set_limits(&daemon.options.byte_streams);
    vg_libvirt_listen(daemon.libvirt, vg_daemon_libvirt_changed, &daemon);
    vg_libvirt_open(daemon.libvirt); /* on failure it keeps retrying, NOT_SERVING */

    vg_server_config config = {
        .listeners = daemon.security.listeners,
        .n_listeners = daemon.security.n_listeners,
        .allow_insecure_plaintext = daemon.options.allow_insecure_plaintext,
        .tls_refresh_s = daemon.options.tls_reload_interval_s,
        .max_message_bytes = daemon.options.limits[VG_LIMIT_MAX_MESSAGE_BYTES],
        .direct_threads = daemon.options.workers < VG_DIRECT_THREADS_MAX
                              ? daemon.options.workers
                              : VG_DIRECT_THREADS_MAX,
    };
    daemon.server = vg_server_new(&config, daemon.loop, daemon.pool, &error);
    if (!daemon.server) {
        vg_log_error("%s", error ? error : "cannot create the gRPC server");
        free(error);
        return 1;
    }
    if (vg_server_start(daemon.server) < 0) {
        vg_log_error("cannot start the gRPC server");
        return 1;
    }
    for (size_t i = 0; i < daemon.security.n_listeners; i++) {
        const vg_listener_config *listener = &daemon.security.listeners[i];

        vg_log_info("listening on %s (port %d, listener '%s'), libvirt '%s'",
                    listener->address, vg_server_port(daemon.server, i), listener->name,
                    daemon.options.connect_uri);
    }
    if (daemon.options.port_file) {
        int port = 0;

        for (size_t i = 0; i < daemon.options.n_listen && !port; i++)
            port = vg_server_port(daemon.server, i);
        if (vg_write_port_file(daemon.options.port_file, port) < 0) {
            vg_log_error("cannot write '%s': %s", daemon.options.port_file,
                         strerror(errno));
            return 1;
        }
    }

    uv_signal_init(vg_loop_uv(daemon.loop), &daemon.sigterm);
    uv_signal_init(vg_loop_uv(daemon.loop), &daemon.sigint);
    daemon.sigterm.data = daemon.sigint.data = &daemon;
    uv_signal_start(&daemon.sigterm, vg_daemon_signal, SIGTERM);
    uv_signal_start(&daemon.sigint, vg_daemon_signal, SIGINT);
    uv_signal_init(vg_loop_uv(daemon.loop), &daemon.sighup);
    daemon.sighup.data = &daemon;
    uv_signal_start(&daemon.sighup, vg_daemon_reload, SIGHUP);
    uv_unref((uv_handle_t *)&daemon.sighup);
    pthread_sigmask(SIG_UNBLOCK, &signals, NULL);

    vg_loop_run(daemon.loop);

    daemon.server = vg_server_free(daemon.server);
    daemon.events = vg_event_hub_free(daemon.events);
    daemon.libvirt = vg_libvirt_free(daemon.libvirt);
    daemon.pool = vg_worker_pool_free(daemon.pool);
    daemon.loop = vg_loop_free(daemon.loop);
    grpc_shutdown();
    vg_audit_close();
    vg_security_clear(&daemon.security);
    vg_options_clear(&daemon.options);
    return 0;
}
