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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "server/runtime/libvirt-conn.h"
#include "server/runtime/libvirt-event-loop.h"
#include "server/runtime/loop.h"
#include "server/runtime/worker-pool.h"
#include "server/services/event-hub.h"
#include "server/services/byte-stream.h"
#include "server/services/health.h"
#include "server/services/job-registry.h"
#include "server/services/service.h"
#include "server/transport/audit.h"
#include "server/transport/authz.h"
#include "server/transport/listeners.h"
#include "server/transport/server.h"

#define VG_VERSION "0.1.0"
#define VG_MAX_LISTENERS 16
#define VG_MAX_ROLES 256

/* Security options: listeners, TLS, roles, audit (server/transport/listeners.h). */
typedef struct vg_security_options {
    const char *listen_read_only[VG_MAX_LISTENERS];
    size_t n_listen_read_only;
    const char *health_listen;
    const char *tls_cert;
    const char *tls_key;
    const char *tls_client_ca;
    size_t tls_refresh_s;
    bool allow_insecure_plaintext;
    unsigned socket_mode;
    const char *socket_group;
    const char *audit_log;
    /* --role IDENTITY=ROLE */
    const char *role_identities[VG_MAX_ROLES];
    vg_role roles[VG_MAX_ROLES];
    size_t n_roles;
    /* Built from all of the above by vg_security_listeners. */
    vg_listener_config listeners[2 * VG_MAX_LISTENERS + 1];
    char listener_names[2 * VG_MAX_LISTENERS + 1][32];
    size_t n_listeners;
} vg_security_options;

typedef struct vg_options {
    const char *connect_uri;
    const char *listen[VG_MAX_LISTENERS];
    size_t n_listen;
    vg_security_options security;
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
        "\n"
        "Listeners and security:\n"
        "      --listen-read-only=unix:/PATH  a Unix socket whose callers are read-only\n"
        "                               (libvirt-style); repeat for several\n"
        "      --health-listen=HOST:PORT plaintext port serving only grpc.health.v1 (for\n"
        "                               Kubernetes probes, which do not speak TLS)\n"
        "      --tls-cert=FILE          PEM certificate (chain) of the TCP listeners:\n"
        "                               with --tls-key, every --listen HOST:PORT is TLS\n"
        "      --tls-key=FILE           PEM private key of --tls-cert\n"
        "      --tls-client-ca=FILE     PEM CA bundle: TCP listeners require client\n"
        "                               certificates signed by it (mutual TLS); callers'\n"
        "                               roles come from --role\n"
        "      --tls-reload-interval=SECONDS  how often the TLS files are re-read, so\n"
        "                               renewed certificates are served without a restart\n"
        "                               (default 60)\n"
        "      --role=IDENTITY=ROLE     the role (read-only, operator, admin) of a client\n"
        "                               certificate whose common name or subject\n"
        "                               alternative name is IDENTITY; repeat for several.\n"
        "                               Unmapped certificates may call nothing\n"
        "      --allow-insecure-plaintext  allow plaintext TCP on non-loopback addresses\n"
        "                               (anyone on the network controls the domains)\n"
        "      --socket-mode=OCTAL      file mode of Unix sockets (default 0660)\n"
        "      --socket-group=GROUP     group owning Unix sockets (default: unchanged)\n"
        "      --audit-log=FILE         append one line per mutating call (who, method,\n"
        "                               domain, outcome) to FILE; - is stderr\n"
        "  Roles: Unix sockets and loopback TCP give their callers the admin role (the\n"
        "  read-only sockets: read-only); plaintext or server-only TLS on other addresses\n"
        "  read-only; mutual TLS the role mapped by --role.\n"
        "\n"
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

/* The security options in the order of their OPT_ constants from OPT_LISTEN_READ_ONLY. */
enum {
    VG_SEC_LISTEN_READ_ONLY,
    VG_SEC_HEALTH_LISTEN,
    VG_SEC_TLS_CERT,
    VG_SEC_TLS_KEY,
    VG_SEC_TLS_CLIENT_CA,
    VG_SEC_TLS_RELOAD_INTERVAL,
    VG_SEC_ROLE,
    VG_SEC_ALLOW_INSECURE_PLAINTEXT,
    VG_SEC_SOCKET_MODE,
    VG_SEC_SOCKET_GROUP,
    VG_SEC_AUDIT_LOG,
};

static int
vg_parse_security_option(int which, const char *value, vg_security_options *security)
{
    switch (which) {
    case VG_SEC_LISTEN_READ_ONLY:
        if (!vg_listener_is_unix(value)) {
            fprintf(stderr, "virtgrpcd: --listen-read-only takes unix:/PATH, not '%s'\n",
                    value);
            return -1;
        }
        if (security->n_listen_read_only == VG_MAX_LISTENERS) {
            fprintf(stderr, "virtgrpcd: at most %d --listen-read-only sockets\n",
                    VG_MAX_LISTENERS);
            return -1;
        }
        security->listen_read_only[security->n_listen_read_only++] = value;
        return 0;
    case VG_SEC_HEALTH_LISTEN:
        security->health_listen = value;
        return 0;
    case VG_SEC_TLS_CERT:
        security->tls_cert = value;
        return 0;
    case VG_SEC_TLS_KEY:
        security->tls_key = value;
        return 0;
    case VG_SEC_TLS_CLIENT_CA:
        security->tls_client_ca = value;
        return 0;
    case VG_SEC_TLS_RELOAD_INTERVAL:
        return vg_parse_size("tls-reload-interval", value, 1, 24 * 3600,
                             &security->tls_refresh_s);
    case VG_SEC_ROLE: {
        const char *equals = strrchr(value, '=');
        char *identity;

        if (!equals || equals == value ||
            vg_role_parse(equals + 1, &security->roles[security->n_roles]) < 0) {
            fprintf(stderr, "virtgrpcd: --role takes IDENTITY=ROLE with ROLE read-only, "
                            "operator or admin, not '%s'\n", value);
            return -1;
        }
        if (security->n_roles == VG_MAX_ROLES) {
            fprintf(stderr, "virtgrpcd: at most %d --role mappings\n", VG_MAX_ROLES);
            return -1;
        }
        identity = strndup(value, (size_t)(equals - value));
        if (!identity)
            abort();
        security->role_identities[security->n_roles++] = identity; /* lives until exit */
        return 0;
    }
    case VG_SEC_ALLOW_INSECURE_PLAINTEXT:
        security->allow_insecure_plaintext = true;
        return 0;
    case VG_SEC_SOCKET_MODE: {
        char *end;
        unsigned long mode;

        errno = 0;
        mode = strtoul(value, &end, 8);
        if (errno || end == value || *end || mode > 0777) {
            fprintf(stderr, "virtgrpcd: --socket-mode takes an octal mode such as 0660, "
                            "not '%s'\n", value);
            return -1;
        }
        security->socket_mode = (unsigned)mode;
        return 0;
    }
    case VG_SEC_SOCKET_GROUP:
        security->socket_group = value;
        return 0;
    case VG_SEC_AUDIT_LOG:
        security->audit_log = value;
        return 0;
    }
    return -1;
}

/* One listener per --listen (TLS per the tls options when TCP), --listen-read-only and
 * --health-listen. */
static int
vg_security_listeners(const vg_options *options, vg_security_options *security)
{
    vg_listener_tls tcp_tls = VG_LISTENER_PLAINTEXT;

    if (!security->tls_cert != !security->tls_key) {
        fprintf(stderr, "virtgrpcd: --tls-cert and --tls-key go together\n");
        return -1;
    }
    if (security->tls_client_ca && !security->tls_cert) {
        fprintf(stderr, "virtgrpcd: --tls-client-ca needs --tls-cert and --tls-key\n");
        return -1;
    }
    if (security->tls_cert)
        tcp_tls = security->tls_client_ca ? VG_LISTENER_MTLS : VG_LISTENER_TLS;

    for (size_t i = 0; i < options->n_listen + security->n_listen_read_only +
                           (security->health_listen ? 1 : 0); i++) {
        vg_listener_config *listener = &security->listeners[security->n_listeners];
        char *name = security->listener_names[security->n_listeners];
        size_t name_size = sizeof(security->listener_names[0]);

        *listener = (vg_listener_config){
            .socket_mode = security->socket_mode,
            .socket_group = security->socket_group,
        };
        if (i < options->n_listen) {
            listener->address = options->listen[i];
            snprintf(name, name_size, "listen-%zu", i);
            if (!vg_listener_is_unix(listener->address)) {
                listener->tls = tcp_tls;
                listener->cert_file = security->tls_cert;
                listener->key_file = security->tls_key;
                listener->client_ca_file = security->tls_client_ca;
                listener->socket_group = NULL;
            }
        } else if (i < options->n_listen + security->n_listen_read_only) {
            listener->address = security->listen_read_only[i - options->n_listen];
            listener->role = VG_ROLE_READ_ONLY;
            snprintf(name, name_size, "read-only-%zu", i - options->n_listen);
        } else {
            listener->address = security->health_listen;
            listener->health_only = true;
            listener->socket_group = NULL;
            snprintf(name, name_size, "health");
        }
        listener->name = name;
        security->n_listeners++;
    }
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
        OPT_LISTEN_READ_ONLY,
        OPT_HEALTH_LISTEN,
        OPT_TLS_CERT,
        OPT_TLS_KEY,
        OPT_TLS_CLIENT_CA,
        OPT_TLS_RELOAD_INTERVAL,
        OPT_ROLE,
        OPT_ALLOW_INSECURE_PLAINTEXT,
        OPT_SOCKET_MODE,
        OPT_SOCKET_GROUP,
        OPT_AUDIT_LOG,
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
        { "listen-read-only", required_argument, NULL, OPT_LISTEN_READ_ONLY },
        { "health-listen", required_argument, NULL, OPT_HEALTH_LISTEN },
        { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
        { "tls-key", required_argument, NULL, OPT_TLS_KEY },
        { "tls-client-ca", required_argument, NULL, OPT_TLS_CLIENT_CA },
        { "tls-reload-interval", required_argument, NULL, OPT_TLS_RELOAD_INTERVAL },
        { "role", required_argument, NULL, OPT_ROLE },
        { "allow-insecure-plaintext", no_argument, NULL, OPT_ALLOW_INSECURE_PLAINTEXT },
        { "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
        { "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
        { "audit-log", required_argument, NULL, OPT_AUDIT_LOG },
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
        .security = { .tls_refresh_s = 60 },
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
        case OPT_LISTEN_READ_ONLY:
        case OPT_HEALTH_LISTEN:
        case OPT_TLS_CERT:
        case OPT_TLS_KEY:
        case OPT_TLS_CLIENT_CA:
        case OPT_TLS_RELOAD_INTERVAL:
        case OPT_ROLE:
        case OPT_ALLOW_INSECURE_PLAINTEXT:
        case OPT_SOCKET_MODE:
        case OPT_SOCKET_GROUP:
        case OPT_AUDIT_LOG:
            if (vg_parse_security_option(opt - OPT_LISTEN_READ_ONLY, optarg,
                                         &options->security) < 0)
                return -1;
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
    if (options->n_listen == 0 && options->security.n_listen_read_only == 0)
        options->listen[options->n_listen++] = "127.0.0.1:50051";
    return vg_security_listeners(options, &options->security);
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

int
main(int argc, char **argv)
{
    vg_daemon daemon = { 0 };
    sigset_t signals;
    char *error = NULL;
    int rc;

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
    vg_jobs_init(daemon.events, (unsigned)daemon.options.job_retention_s,
                 daemon.options.max_jobs);
    vg_byte_stream_set_limits(&daemon.options.byte_streams);
    vg_libvirt_listen(daemon.libvirt, vg_daemon_libvirt_changed, &daemon);
    vg_libvirt_open(daemon.libvirt); /* on failure it keeps retrying, NOT_SERVING */

    if (vg_authz_set_roles(daemon.options.security.role_identities,
                           daemon.options.security.roles,
                           daemon.options.security.n_roles) < 0) {
        vg_log_error("--role: an identity is empty or mapped twice");
        return 1;
    }
    if (vg_audit_open(daemon.options.security.audit_log, &error) < 0) {
        vg_log_error("%s", error ? error : "cannot open the audit log");
        free(error);
        return 1;
    }
    vg_server_config config = {
        .listeners = daemon.options.security.listeners,
        .n_listeners = daemon.options.security.n_listeners,
        .allow_insecure_plaintext = daemon.options.security.allow_insecure_plaintext,
        .tls_refresh_s = (unsigned)daemon.options.security.tls_refresh_s,
        .max_inflight = daemon.options.max_inflight,
        .max_streams = daemon.options.max_streams,
        .max_message_bytes = daemon.options.max_message_bytes,
        .max_queued_messages = daemon.options.max_queued_messages,
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
    for (size_t i = 0; i < daemon.options.security.n_listeners; i++) {
        const vg_listener_config *listener = &daemon.options.security.listeners[i];

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
    pthread_sigmask(SIG_UNBLOCK, &signals, NULL);

    vg_loop_run(daemon.loop);

    daemon.server = vg_server_free(daemon.server);
    daemon.events = vg_event_hub_free(daemon.events);
    daemon.libvirt = vg_libvirt_free(daemon.libvirt);
    daemon.pool = vg_worker_pool_free(daemon.pool);
    daemon.loop = vg_loop_free(daemon.loop);
    vg_audit_close();
    grpc_shutdown();
    return 0;
}
