/*
 * virtgrpcd: libvirt's domain API over gRPC.
 *
 * Threads: the main thread runs the libuv loop (signals, timers, libvirt's event loop);
 * one thread drains gRPC core's completion queue and dispatches calls; a bounded pool of
 * workers makes the libvirt calls.
 */
#include <errno.h>
#include <getopt.h>
#include <grpc/grpc.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
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
#include "server/transport/server.h"

#define VG_VERSION "0.1.0"
#define VG_MAX_LISTENERS 16

typedef struct vg_options {
    const char *connect_uri;
    const char *listen[VG_MAX_LISTENERS];
    size_t n_listen;
    size_t workers;
    size_t max_inflight;
    size_t max_streams;
    size_t max_message_bytes;
    size_t max_queued_messages;
    unsigned shutdown_grace_s;
    size_t max_jobs;
    size_t job_retention_s;
    vg_byte_stream_limits byte_streams;
    const char *port_file;
    vg_log_level log_level;
} vg_options;

typedef struct vg_daemon {
    vg_options options;
    vg_loop *loop;
    vg_worker_pool *pool;
    vg_libvirt *libvirt;
    vg_event_hub *events;
    vg_server *server;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    bool stopping;
} vg_daemon;

static void
vg_usage(FILE *out)
{
    fprintf(out,
        "Usage: virtgrpcd [OPTION]...\n"
        "Serve libvirt's domain API over gRPC.\n"
        "\n"
        "  -c, --connect=URI            libvirt connection URI (default test:///default,\n"
        "                               libvirt's embedded test driver; e.g.\n"
        "                               qemu:///system for real guests)\n"
        "  -l, --listen=ADDR            address to serve on: HOST:PORT (port 0 picks a\n"
        "                               free one) or unix:/PATH; repeat for several\n"
        "                               (default 127.0.0.1:50051)\n"
        "      --workers=N              threads making libvirt calls (default 16)\n"
        "      --max-inflight=N         unary calls admitted at once; more fail with\n"
        "                               RESOURCE_EXHAUSTED (default 256)\n"
        "      --max-streams=N          streaming calls open at once (default 10000)\n"
        "      --max-message-bytes=N    largest request accepted; larger ones fail with\n"
        "                               RESOURCE_EXHAUSTED (default 16777216)\n"
        "      --max-queued-messages=N  messages a stream may have waiting for a slow\n"
        "                               client (default 1024)\n"
        "      --shutdown-grace=SECONDS time calls get to finish on SIGTERM/SIGINT before\n"
        "                               they are cancelled (default 10)\n"
        "      --max-jobs=N             jobs (JobService.StartJob) running at once; more\n"
        "                               fail with RESOURCE_EXHAUSTED (default 32)\n"
        "      --job-retention=SECONDS  how long finished jobs stay readable (default 600;\n"
        "                               at most 1000 are kept)\n"
        "      --max-consoles=N         consoles, channels and graphics tunnels open at\n"
        "                               once; more fail with RESOURCE_EXHAUSTED (default %d)\n"
        "      --max-consoles-per-domain=N  the same, per domain (default %d)\n"
        "      --console-idle-timeout=SECONDS  end a console, channel or graphics tunnel\n"
        "                               after this long without a byte either way;\n"
        "                               0 never (default %d)\n"
        "      --port-file=FILE         write the port of the first TCP listener to FILE\n"
        "                               once serving (for tests and supervisors)\n"
        "      --log-level=LEVEL        error, warn, info or debug (default info)\n"
        "  -h, --help                   show this help and exit\n"
        "  -V, --version                show the version and exit\n"
        "\n"
        "Health (grpc.health.v1) and server reflection (v1, v1alpha) are always served.\n",
        VG_BYTE_STREAM_DEFAULT_MAX_TOTAL, VG_BYTE_STREAM_DEFAULT_MAX_PER_DOMAIN,
        VG_BYTE_STREAM_DEFAULT_IDLE_TIMEOUT_S);
}

static int
vg_parse_size(const char *option, const char *text, size_t min, size_t max, size_t *out)
{
    char *end;
    unsigned long long value;

    errno = 0;
    value = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || value < min || value > max) {
        fprintf(stderr, "virtgrpcd: --%s takes a whole number from %zu to %zu, not '%s'\n",
                option, min, max, text);
        return -1;
    }
    *out = (size_t)value;
    return 0;
}

/* Returns 0 to run, 1 to exit successfully (help, version), -1 on a usage error. */
static int
vg_parse_options(int argc, char **argv, vg_options *options)
{
    enum {
        OPT_WORKERS = 256,
        OPT_MAX_INFLIGHT,
        OPT_MAX_STREAMS,
        OPT_MAX_MESSAGE_BYTES,
        OPT_MAX_QUEUED,
        OPT_GRACE,
        OPT_MAX_JOBS,
        OPT_JOB_RETENTION,
        OPT_PORT_FILE,
        OPT_LOG_LEVEL,
        OPT_MAX_CONSOLES,
        OPT_MAX_CONSOLES_PER_DOMAIN,
        OPT_CONSOLE_IDLE_TIMEOUT,
    };
    static const struct option long_options[] = {
        { "connect", required_argument, NULL, 'c' },
        { "listen", required_argument, NULL, 'l' },
        { "workers", required_argument, NULL, OPT_WORKERS },
        { "max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT },
        { "max-streams", required_argument, NULL, OPT_MAX_STREAMS },
        { "max-message-bytes", required_argument, NULL, OPT_MAX_MESSAGE_BYTES },
        { "max-queued-messages", required_argument, NULL, OPT_MAX_QUEUED },
        { "shutdown-grace", required_argument, NULL, OPT_GRACE },
        { "max-jobs", required_argument, NULL, OPT_MAX_JOBS },
        { "job-retention", required_argument, NULL, OPT_JOB_RETENTION },
        { "port-file", required_argument, NULL, OPT_PORT_FILE },
        { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
        { "max-consoles", required_argument, NULL, OPT_MAX_CONSOLES },
        { "max-consoles-per-domain", required_argument, NULL, OPT_MAX_CONSOLES_PER_DOMAIN },
        { "console-idle-timeout", required_argument, NULL, OPT_CONSOLE_IDLE_TIMEOUT },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    size_t grace;
    size_t value;
    int opt;

    *options = (vg_options){
        .connect_uri = "test:///default",
        .workers = 16,
        .max_inflight = 256,
        .max_streams = 10000,
        .max_message_bytes = 16 * 1024 * 1024,
        .max_queued_messages = 1024,
        .shutdown_grace_s = 10,
        .max_jobs = 32,
        .job_retention_s = 600,
        .log_level = VG_LOG_INFO,
        .byte_streams = {
            .max_per_domain = VG_BYTE_STREAM_DEFAULT_MAX_PER_DOMAIN,
            .max_total = VG_BYTE_STREAM_DEFAULT_MAX_TOTAL,
            .idle_timeout_s = VG_BYTE_STREAM_DEFAULT_IDLE_TIMEOUT_S,
        },
    };

    while ((opt = getopt_long(argc, argv, "c:l:hV", long_options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            options->connect_uri = optarg;
            break;
        case 'l':
            if (options->n_listen == VG_MAX_LISTENERS) {
                fprintf(stderr, "virtgrpcd: at most %d --listen addresses\n",
                        VG_MAX_LISTENERS);
                return -1;
            }
            options->listen[options->n_listen++] = optarg;
            break;
        case OPT_WORKERS:
            if (vg_parse_size("workers", optarg, 1, 1024, &options->workers) < 0)
                return -1;
            break;
        case OPT_MAX_INFLIGHT:
            if (vg_parse_size("max-inflight", optarg, 1, 1000000, &options->max_inflight) < 0)
                return -1;
            break;
        case OPT_MAX_STREAMS:
            if (vg_parse_size("max-streams", optarg, 1, 1000000, &options->max_streams) < 0)
                return -1;
            break;
        case OPT_MAX_MESSAGE_BYTES:
            if (vg_parse_size("max-message-bytes", optarg, 1024, INT_MAX,
                              &options->max_message_bytes) < 0)
                return -1;
            break;
        case OPT_MAX_QUEUED:
            if (vg_parse_size("max-queued-messages", optarg, 1, 1000000,
                              &options->max_queued_messages) < 0)
                return -1;
            break;
        case OPT_GRACE:
            if (vg_parse_size("shutdown-grace", optarg, 0, 3600, &grace) < 0)
                return -1;
            options->shutdown_grace_s = (unsigned)grace;
            break;
        case OPT_MAX_JOBS:
            if (vg_parse_size("max-jobs", optarg, 1, 10000, &options->max_jobs) < 0)
                return -1;
            break;
        case OPT_JOB_RETENTION:
            if (vg_parse_size("job-retention", optarg, 0, 7 * 24 * 3600,
                              &options->job_retention_s) < 0)
                return -1;
            break;
        case OPT_MAX_CONSOLES:
            if (vg_parse_size("max-consoles", optarg, 1, 100000, &value) < 0)
                return -1;
            options->byte_streams.max_total = (unsigned)value;
            break;
        case OPT_MAX_CONSOLES_PER_DOMAIN:
            if (vg_parse_size("max-consoles-per-domain", optarg, 1, 1000, &value) < 0)
                return -1;
            options->byte_streams.max_per_domain = (unsigned)value;
            break;
        case OPT_CONSOLE_IDLE_TIMEOUT:
            if (vg_parse_size("console-idle-timeout", optarg, 0, 7 * 24 * 3600, &value) < 0)
                return -1;
            options->byte_streams.idle_timeout_s = (unsigned)value;
            break;
        case OPT_PORT_FILE:
            options->port_file = optarg;
            break;
        case OPT_LOG_LEVEL:
            if (vg_log_level_parse(optarg, &options->log_level) < 0) {
                fprintf(stderr, "virtgrpcd: --log-level takes error, warn, info or debug, "
                                "not '%s'\n", optarg);
                return -1;
            }
            break;
        case 'h':
            vg_usage(stdout);
            return 1;
        case 'V':
            printf("virtgrpcd %s (gRPC %s, libvirt %d)\n", VG_VERSION, grpc_version_string(),
                   LIBVIR_VERSION_NUMBER);
            return 1;
        default:
            vg_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "virtgrpcd: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (options->n_listen == 0)
        options->listen[options->n_listen++] = "127.0.0.1:50051";
    return 0;
}

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
    vg_server_shutdown(daemon->server, daemon->options.shutdown_grace_s * 1000,
                       vg_daemon_stopped, daemon);
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
    int rc;

    vg_tune_malloc();
    rc = vg_parse_options(argc, argv, &daemon.options);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    vg_log_set_level(daemon.options.log_level);

    /* Threads started from here on (gRPC core's, the workers) inherit a mask without
     * these signals; the loop thread takes them through uv_signal. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
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
    vg_services_init(daemon.libvirt, daemon.loop, daemon.pool);
    daemon.events = vg_event_hub_init(daemon.loop, daemon.pool, daemon.libvirt);
    vg_domain_cache_init(daemon.events, daemon.libvirt);
    vg_jobs_init(daemon.events, (unsigned)daemon.options.job_retention_s,
                 daemon.options.max_jobs);
    vg_byte_stream_set_limits(&daemon.options.byte_streams);
    vg_libvirt_listen(daemon.libvirt, vg_daemon_libvirt_changed, &daemon);
    vg_libvirt_open(daemon.libvirt); /* on failure it keeps retrying, NOT_SERVING */

    vg_server_config config = {
        .listen = daemon.options.listen,
        .n_listen = daemon.options.n_listen,
        .max_inflight = daemon.options.max_inflight,
        .max_streams = daemon.options.max_streams,
        .max_message_bytes = daemon.options.max_message_bytes,
        .max_queued_messages = daemon.options.max_queued_messages,
        .direct_threads = daemon.options.workers,
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
    for (size_t i = 0; i < daemon.options.n_listen; i++) {
        vg_log_info("listening on %s (port %d), libvirt '%s'", daemon.options.listen[i],
                    vg_server_port(daemon.server, i), daemon.options.connect_uri);
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
    pthread_sigmask(SIG_UNBLOCK, &signals, NULL);

    vg_loop_run(daemon.loop);

    daemon.server = vg_server_free(daemon.server);
    daemon.events = vg_event_hub_free(daemon.events);
    daemon.libvirt = vg_libvirt_free(daemon.libvirt);
    daemon.pool = vg_worker_pool_free(daemon.pool);
    daemon.loop = vg_loop_free(daemon.loop);
    grpc_shutdown();
    return 0;
}
