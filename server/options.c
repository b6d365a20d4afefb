/*
 * The option table and the two ways into it: command-line flags (getopt_long, built from
 * the table) and the configuration file (GLib's key-file parser). See options.h.
 */
#include "server/options.h"

#include "server/security-options.h"

#include <errno.h>
#include <getopt.h>
#include <glib.h>
#include <grpc/grpc.h>
#include <libvirt/libvirt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VG_VERSION "0.1.0"

typedef enum vg_option_type {
    VG_OPT_STRING,      /* char * */
    VG_OPT_STRING_LIST, /* char *[VG_MAX_LISTENERS] followed by its size_t count */
    VG_OPT_SIZE,        /* size_t, within [min, max] */
    VG_OPT_UINT,        /* unsigned, within [min, max] */
    VG_OPT_LOG_LEVEL,   /* vg_log_level */
    VG_OPT_BOOL,        /* bool: a flag without value; true/false in the file */
    VG_OPT_MODE,        /* unsigned file mode, octal, at most 0777 */
} vg_option_type;

typedef struct vg_option {
    const char *name;  /* --name, and the key in `group` */
    int short_name;    /* -x, or 0 */
    const char *group; /* the configuration file's group */
    vg_option_type type;
    size_t offset;     /* of the value in vg_options */
    unsigned long long min, max;
    const char *arg;   /* what --help calls the value */
    const char *help;
    bool reloadable;   /* SIGHUP applies it without a restart */
} vg_option;

#define VG_FIELD(field) offsetof(vg_options, field)
#define VG_LIMIT_FIELD(id) VG_FIELD(limits[VG_LIMIT_##id])

static const vg_option vg_option_table[] = {
    { "connect", 'c', "server", VG_OPT_STRING, VG_FIELD(connect_uri), 0, 0, "URI",
      "libvirt connection URI: test:///default is libvirt's embedded test driver, "
      "qemu:///system drives real guests", false },
    { "listen", 'l', "server", VG_OPT_STRING_LIST, VG_FIELD(listen), 0, 0, "ADDR",
      "address to serve on: HOST:PORT (port 0 picks a free one) or unix:/PATH; repeat the "
      "flag (or separate with ';' in the file) for several", false },
    { "workers", 0, "server", VG_OPT_SIZE, VG_FIELD(workers), 1, 1024, "N",
      "threads making libvirt calls (a pool), plus up to 4 more running unary calls "
      "directly", false },
    { "shutdown-grace", 0, "server", VG_OPT_UINT, VG_FIELD(shutdown_grace_s), 0, 3600,
      "SECONDS", "time calls get to finish on SIGTERM/SIGINT before they are cancelled", false },
    { "port-file", 0, "server", VG_OPT_STRING, VG_FIELD(port_file), 0, 0, "FILE",
      "write the port of the first TCP listener to FILE once serving (for tests and "
      "supervisors)", false },
    { "health-listen", 0, "server", VG_OPT_STRING, VG_FIELD(health_listen), 0, 0,
      "HOST:PORT", "also serve grpc.health.v1.Health, and nothing else, in plaintext on "
      "HOST:PORT, for Kubernetes' gRPC probes (which speak no TLS) and grpc_health_probe",
      false },
    { "log-level", 0, "server", VG_OPT_LOG_LEVEL, VG_FIELD(log_level), 0, 0, "LEVEL",
      "error, warn, info or debug", true },
    { "libvirt-keepalive-interval", 0, "server", VG_OPT_UINT,
      VG_FIELD(libvirt_keepalive_interval_s), 0, 3600, "SECONDS",
      "on remote libvirt connections, probe libvirtd after this long without traffic "
      "(virConnectSetKeepAlive); 0 turns keepalive off", false },
    { "libvirt-keepalive-count", 0, "server", VG_OPT_UINT, VG_FIELD(libvirt_keepalive_count),
      0, 100, "N", "declare libvirtd dead after N unanswered probes: calls fail UNAVAILABLE, "
      "health goes NOT_SERVING and the server reconnects", false },

    /* Limits refuse with RESOURCE_EXHAUSTED (or INVALID_ARGUMENT for request content)
     * and an ErrorInfo, in a message that names the option. */
    { "max-inflight", 0, "limits", VG_OPT_SIZE, VG_LIMIT_FIELD(MAX_INFLIGHT), 1, 1000000,
      "N", "unary calls admitted at once; more fail with RESOURCE_EXHAUSTED", true },
    { "max-inflight-per-client", 0, "limits", VG_OPT_SIZE,
      VG_LIMIT_FIELD(MAX_INFLIGHT_PER_CLIENT), 0, 1000000, "N", "the same per client: a "
      "TCP peer's IP address (all its connections), or one Unix-socket connection; 0 off "
      "(behind a proxy or masquerading load balancer every client has its address)", true },
    { "max-streams", 0, "limits", VG_OPT_SIZE, VG_LIMIT_FIELD(MAX_STREAMS), 1, 1000000, "N",
      "streaming calls open at once", true },
    { "max-streams-per-client", 0, "limits", VG_OPT_SIZE,
      VG_LIMIT_FIELD(MAX_STREAMS_PER_CLIENT), 0, 1000000, "N", "the same per client; 0 off",
      true },
    { "max-message-bytes", 0, "limits", VG_OPT_SIZE, VG_LIMIT_FIELD(MAX_MESSAGE_BYTES), 1024,
      INT_MAX, "N", "largest request accepted and response sent; larger ones fail with "
      "RESOURCE_EXHAUSTED", false },
    { "max-queued-messages", 0, "limits", VG_OPT_SIZE, VG_LIMIT_FIELD(MAX_QUEUED_MESSAGES), 1,
      1000000, "N", "messages a stream may have waiting for a slow client before it is "
      "ended with RESOURCE_EXHAUSTED", true },
    { "max-xml-bytes", 0, "limits", VG_OPT_SIZE, VG_LIMIT_FIELD(MAX_XML_BYTES), 1024,
      64 * 1024 * 1024, "N", "longest XML document in a request (domain, device, snapshot, "
      "checkpoint, backup and migration XML, metadata); longer fail with INVALID_ARGUMENT",
      true },
    { "max-peek-bytes", 0, "limits", VG_OPT_SIZE, VG_LIMIT_FIELD(MAX_PEEK_BYTES), 1,
      64 * 1024 * 1024, "N", "largest memory or block peek", true },
    { "min-stats-interval-ms", 0, "limits", VG_OPT_SIZE, VG_LIMIT_FIELD(MIN_STATS_INTERVAL_MS),
      100, 3600000, "MS", "shortest interval WatchDomainStats and WatchJob accept", true },
    { "max-console-input-bytes", 0, "limits", VG_OPT_SIZE,
      VG_LIMIT_FIELD(MAX_CONSOLE_INPUT_BYTES), 1024, 1024 * 1024 * 1024, "N", "input a "
      "console, channel or graphics tunnel holds for a guest that has not taken it yet; "
      "more ends the stream with RESOURCE_EXHAUSTED", true },
    { "stream-stall-timeout", 0, "limits", VG_OPT_SIZE,
      VG_LIMIT_FIELD(STREAM_STALL_TIMEOUT_S), 1, 24 * 3600, "SECONDS", "a stream the server "
      "has ended (its client fell behind, or it is complete) waits this long for a client "
      "that reads nothing; then it is cancelled and its slot freed", true },

    { "max-jobs", 0, "jobs", VG_OPT_SIZE, VG_FIELD(max_jobs), 1, 10000, "N",
      "jobs (JobService.StartJob) running at once; more fail with RESOURCE_EXHAUSTED",
      true },
    { "job-retention", 0, "jobs", VG_OPT_SIZE, VG_FIELD(job_retention_s), 0,
      7 * 24 * 3600, "SECONDS", "how long finished jobs stay readable (at most 1000 are "
      "kept)", true },

    { "max-consoles", 0, "consoles", VG_OPT_UINT, VG_FIELD(byte_streams.max_total), 1,
      100000, "N", "consoles, channels and graphics tunnels open at once; more fail with "
      "RESOURCE_EXHAUSTED", true },
    { "max-consoles-per-domain", 0, "consoles", VG_OPT_UINT,
      VG_FIELD(byte_streams.max_per_domain), 1, 1000, "N", "the same, per domain", true },
    { "console-idle-timeout", 0, "consoles", VG_OPT_UINT,
      VG_FIELD(byte_streams.idle_timeout_s), 0, 7 * 24 * 3600, "SECONDS",
      "end a console, channel or graphics tunnel after this long without a byte either "
      "way; 0 never", true },

    { "listen-read-only", 0, "server", VG_OPT_STRING_LIST, VG_FIELD(listen_read_only), 0, 0,
      "unix:/PATH", "a Unix socket whose callers have the read-only role (as libvirt's "
      "read-only socket); repeat for several", false },
    { "socket-mode", 0, "server", VG_OPT_MODE, VG_FIELD(socket_mode), 0, 0777, "OCTAL",
      "file mode of the Unix sockets, set after bind", false },
    { "socket-group", 0, "server", VG_OPT_STRING, VG_FIELD(socket_group), 0, 0, "GROUP",
      "group owning the Unix sockets (default: the server's)", false },
    { "allow-insecure-plaintext", 0, "server", VG_OPT_BOOL,
      VG_FIELD(allow_insecure_plaintext), 0, 0, NULL, "allow plaintext TCP listeners on "
      "non-loopback addresses: anyone on the network reaches the API (callers there get "
      "the read-only role unless a [listener NAME] group gives another)", false },

    { "tls-cert", 0, "tls", VG_OPT_STRING, VG_FIELD(tls_cert), 0, 0, "FILE",
      "PEM certificate chain of the TCP listeners: with tls-key, every listen HOST:PORT "
      "is TLS", false },
    { "tls-key", 0, "tls", VG_OPT_STRING, VG_FIELD(tls_key), 0, 0, "FILE",
      "PEM private key of tls-cert", false },
    { "tls-client-ca", 0, "tls", VG_OPT_STRING, VG_FIELD(tls_client_ca), 0, 0, "FILE",
      "PEM CA bundle: the TCP listeners require client certificates it signed (mutual "
      "TLS), and a caller's role is its certificate identity's in [roles]", false },
    { "tls-reload-interval", 0, "tls", VG_OPT_UINT, VG_FIELD(tls_reload_interval_s), 1,
      24 * 3600, "SECONDS", "how often certificate, key and CA files are re-read: renewed "
      "files are served to new connections without a restart", false },
    { "role", 0, "tls", VG_OPT_STRING_LIST, VG_FIELD(role), 0, 0, "IDENTITY=ROLE",
      "the role (read-only, operator or admin) of client certificates whose common name "
      "or a subject alternative name is IDENTITY; repeat for several. The [roles] group "
      "of the file maps them as `IDENTITY = ROLE`; unmapped identities may call nothing",
      true },

    { "audit-log", 0, "audit", VG_OPT_STRING, VG_FIELD(audit_log), 0, 0, "FILE",
      "append one line per call of a mutating RPC (time, listener, who, role, method, "
      "domain, outcome) to FILE; - is stderr", false },
};

#define VG_N_OPTIONS (sizeof(vg_option_table) / sizeof(vg_option_table[0]))

/* Flags about the configuration itself; not settings, so not in the file. */
enum {
    VG_FLAG_CONFIG = 1000,
    VG_FLAG_CHECK_CONFIG,
    VG_FLAG_HELP = 'h',
    VG_FLAG_VERSION = 'V',
};

/* The argv given at start-up, re-applied over the file on every reload. */
static struct {
    int argc;
    char **argv;
} vg_start_flags;

static void
vg_options_defaults(vg_options *options)
{
    *options = (vg_options){
        .connect_uri = strdup("test:///default"),
        .listen = { strdup("127.0.0.1:50051") },
        .n_listen = 1,
        .workers = 16,
        .shutdown_grace_s = 10,
        .log_level = VG_LOG_INFO,
        .libvirt_keepalive_interval_s = VG_LIBVIRT_DEFAULT_KEEPALIVE_INTERVAL_S,
        .libvirt_keepalive_count = VG_LIBVIRT_DEFAULT_KEEPALIVE_COUNT,
        .max_jobs = 32,
        .job_retention_s = 600,
        .byte_streams = {
            .max_per_domain = VG_BYTE_STREAM_DEFAULT_MAX_PER_DOMAIN,
            .max_total = VG_BYTE_STREAM_DEFAULT_MAX_TOTAL,
            .idle_timeout_s = VG_BYTE_STREAM_DEFAULT_IDLE_TIMEOUT_S,
        },
        .socket_mode = 0660,
        .tls_reload_interval_s = 60,
    };
    for (int id = 0; id < VG_LIMIT_COUNT; id++)
        options->limits[id] = vg_limit_default(id);
}

/* The limits' names live in server/limits.c (refusal messages name them) and here (the
 * flag and key): a limit whose two names differ, or one without an option, is a
 * programming error every test start-up would hit. */
static void
vg_options_check_limit_names(void)
{
    bool seen[VG_LIMIT_COUNT] = { false };

    for (size_t i = 0; i < sizeof(vg_option_table) / sizeof(vg_option_table[0]); i++) {
        const vg_option *option = &vg_option_table[i];
        size_t first = VG_FIELD(limits), end = first + sizeof(size_t) * VG_LIMIT_COUNT;
        size_t id;

        if (option->offset < first || option->offset >= end)
            continue;
        id = (option->offset - first) / sizeof(size_t);
        if (strcmp(option->name, vg_limit_option(id)) != 0) {
            fprintf(stderr, "virtgrpcd: option '%s' sets limit '%s'\n", option->name,
                    vg_limit_option(id));
            abort();
        }
        seen[id] = true;
    }
    for (int id = 0; id < VG_LIMIT_COUNT; id++) {
        if (!seen[id]) {
            fprintf(stderr, "virtgrpcd: limit '%s' has no option\n", vg_limit_option(id));
            abort();
        }
    }
}

static void *
vg_option_value(const vg_option *option, const vg_options *options)
{
    return (char *)options + option->offset;
}

static size_t *
vg_option_list_count(const vg_option *option, const vg_options *options)
{
    /* The count follows its array (options.h keeps them together). */
    return (size_t *)((char *)vg_option_value(option, options) +
                      VG_MAX_LISTENERS * sizeof(char *));
}

static void
vg_option_list_clear(const vg_option *option, vg_options *options)
{
    char **list = vg_option_value(option, options);
    size_t *count = vg_option_list_count(option, options);

    for (size_t i = 0; i < *count; i++) {
        free(list[i]);
        list[i] = NULL;
    }
    *count = 0;
}

static char *
vg_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));

static char *
vg_printf(const char *format, ...)
{
    va_list args;
    char *text;

    va_start(args, format);
    if (vasprintf(&text, format, args) < 0)
        text = NULL;
    va_end(args);
    return text;
}

/*
 * Sets one option from its text, as the flag or the file gave it. `origin` names where
 * it came from for the message ("--workers", "FILE: [server] workers").
 */
static int
vg_option_set(const vg_option *option, vg_options *options, const char *text,
              const char *origin, char **error)
{
    void *value = vg_option_value(option, options);
    unsigned long long number;
    char *end;

    switch (option->type) {
    case VG_OPT_STRING:
        free(*(char **)value);
        *(char **)value = strdup(text);
        return 0;
    case VG_OPT_STRING_LIST: {
        size_t *count = vg_option_list_count(option, options);

        if (option->offset == VG_FIELD(listen))
            options->listen_given = true;

        if (*count == VG_MAX_LISTENERS) {
            *error = vg_printf("%s: at most %d values", origin, VG_MAX_LISTENERS);
            return -1;
        }
        ((char **)value)[(*count)++] = strdup(text);
        return 0;
    }
    case VG_OPT_SIZE:
    case VG_OPT_UINT:
        errno = 0;
        number = strtoull(text, &end, 10);
        if (errno || end == text || *end || text[0] == '-' || number < option->min ||
            number > option->max) {
            *error = vg_printf("%s takes a whole number from %llu to %llu, not '%s'", origin,
                               option->min, option->max, text);
            return -1;
        }
        if (option->type == VG_OPT_SIZE)
            *(size_t *)value = (size_t)number;
        else
            *(unsigned *)value = (unsigned)number;
        return 0;
    case VG_OPT_LOG_LEVEL:
        if (vg_log_level_parse(text, value) < 0) {
            *error = vg_printf("%s takes error, warn, info or debug, not '%s'", origin, text);
            return -1;
        }
        return 0;
    case VG_OPT_BOOL:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
            *error = vg_printf("%s takes true or false, not '%s'", origin, text);
            return -1;
        }
        *(bool *)value = strcmp(text, "true") == 0;
        return 0;
    case VG_OPT_MODE:
        errno = 0;
        number = strtoull(text, &end, 8);
        if (errno || end == text || *end || text[0] == '-' || number > option->max) {
            *error = vg_printf("%s takes an octal file mode such as 0660, not '%s'", origin,
                               text);
            return -1;
        }
        *(unsigned *)value = (unsigned)number;
        return 0;
    }
    return 0;
}

static const vg_option *
vg_option_find(const char *group, const char *key)
{
    for (size_t i = 0; i < VG_N_OPTIONS; i++) {
        if (strcmp(vg_option_table[i].group, group) == 0 &&
            strcmp(vg_option_table[i].name, key) == 0)
            return &vg_option_table[i];
    }
    return NULL;
}

/* Groups whose keys are not table options: their owners read them from options->file
 * and check them here (so --check-config covers them). An entry ending in ' ' is a prefix
 * ("[listener NAME]"). */
static const struct {
    const char *name;
    int (*check)(GKeyFile *file, const char *group, char **error);
} vg_groups_read_elsewhere[] = {
    { "roles", vg_security_check_roles_group },
    { "listener ", vg_security_check_listener_group },
    { NULL, NULL },
};

static bool
vg_group_is_table_group(const char *group)
{
    for (size_t i = 0; i < VG_N_OPTIONS; i++) {
        if (strcmp(vg_option_table[i].group, group) == 0)
            return true;
    }
    return false;
}

/* NULL, or the check of the group's owner. */
static int (*vg_group_read_elsewhere(const char *group))(GKeyFile *, const char *, char **)
{
    for (size_t i = 0; vg_groups_read_elsewhere[i].name; i++) {
        const char *name = vg_groups_read_elsewhere[i].name;
        size_t len = strlen(name);

        if (name[len - 1] == ' ' ? strncmp(group, name, len) == 0 : strcmp(group, name) == 0)
            return vg_groups_read_elsewhere[i].check;
    }
    return NULL;
}

/* Applies every key of the file; unknown groups and keys are errors, because a typo in a
 * security or limit setting must not be silently ignored. */
static int
vg_options_apply_file(vg_options *options, char **error)
{
    g_autoptr(GError) gerror = NULL;
    g_auto(GStrv) groups = NULL;

    options->file = g_key_file_new();
    if (!g_key_file_load_from_file(options->file, options->config_path, G_KEY_FILE_NONE,
                                   &gerror)) {
        *error = vg_printf("cannot read configuration file '%s': %s", options->config_path,
                           gerror->message);
        return -1;
    }
    groups = g_key_file_get_groups(options->file, NULL);
    for (size_t g = 0; groups[g]; g++) {
        g_auto(GStrv) keys = NULL;

        int (*check)(GKeyFile *, const char *, char **) = vg_group_read_elsewhere(groups[g]);

        if (check) {
            g_autofree char *message = NULL;

            if (check(options->file, groups[g], &message) < 0) {
                *error = vg_printf("%s: %s", options->config_path, message);
                return -1;
            }
            continue;
        }
        if (!vg_group_is_table_group(groups[g])) {
            *error = vg_printf("%s: unknown group [%s]; groups are [server], [limits], "
                               "[jobs], [consoles], [tls], [audit], [roles] and "
                               "[listener NAME] (see virtgrpcd --help)",
                               options->config_path, groups[g]);
            return -1;
        }
        keys = g_key_file_get_keys(options->file, groups[g], NULL, NULL);
        for (size_t k = 0; keys && keys[k]; k++) {
            const vg_option *option = vg_option_find(groups[g], keys[k]);
            g_autofree char *origin = NULL;

            if (!option) {
                *error = vg_printf("%s: unknown key '%s' in group [%s] (see virtgrpcd --help)",
                                   options->config_path, keys[k], groups[g]);
                return -1;
            }
            origin = g_strdup_printf("%s: [%s] %s", options->config_path, groups[g], keys[k]);
            if (option->type == VG_OPT_STRING_LIST) {
                g_auto(GStrv) values =
                    g_key_file_get_string_list(options->file, groups[g], keys[k], NULL, NULL);

                vg_option_list_clear(option, options);
                for (size_t v = 0; values && values[v]; v++) {
                    if (vg_option_set(option, options, values[v], origin, error) < 0)
                        return -1;
                }
            } else {
                g_autofree char *text =
                    g_key_file_get_string(options->file, groups[g], keys[k], &gerror);

                if (!text) {
                    *error = vg_printf("%s: %s", origin, gerror->message);
                    return -1;
                }
                if (vg_option_set(option, options, text, origin, error) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

/* getopt_long's table: every option of the table plus the flags about configuration. */
static void
vg_build_getopt(struct option *long_options, char *short_options)
{
    size_t n = 0;
    char *s = short_options;

    for (size_t i = 0; i < VG_N_OPTIONS; i++) {
        long_options[n++] = (struct option){
            vg_option_table[i].name,
            vg_option_table[i].type == VG_OPT_BOOL ? no_argument : required_argument, NULL,
            (int)(2000 + i) };
        if (vg_option_table[i].short_name) {
            *s++ = (char)vg_option_table[i].short_name;
            *s++ = ':';
        }
    }
    long_options[n++] = (struct option){ "config", required_argument, NULL, VG_FLAG_CONFIG };
    long_options[n++] = (struct option){ "check-config", no_argument, NULL,
                                         VG_FLAG_CHECK_CONFIG };
    long_options[n++] = (struct option){ "help", no_argument, NULL, VG_FLAG_HELP };
    long_options[n++] = (struct option){ "version", no_argument, NULL, VG_FLAG_VERSION };
    long_options[n] = (struct option){ 0 };
    strcpy(s, "hV");
}

static const vg_option *
vg_option_by_flag(int flag)
{
    for (size_t i = 0; i < VG_N_OPTIONS; i++) {
        if (flag == (int)(2000 + i) || (vg_option_table[i].short_name &&
                                        flag == vg_option_table[i].short_name))
            return &vg_option_table[i];
    }
    return NULL;
}

/*
 * Both passes over argv. Pass 1 (apply == false) only finds --config and the flags that end
 * the program; pass 2 applies every table option over the defaults and the file. Returns
 * -1 with *error, or the flag that ends the program (help, version), or 0.
 */
static int
vg_options_scan(int argc, char **argv, vg_options *options, bool apply, char **error)
{
    struct option long_options[VG_N_OPTIONS + 5];
    char short_options[2 * VG_N_OPTIONS + 3];
    bool list_from_flags[VG_N_OPTIONS] = { false };
    int ends = 0;
    int flag;

    vg_build_getopt(long_options, short_options);
    optind = 0; /* glibc: restart scanning from scratch */
    opterr = 0;
    while ((flag = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
        const vg_option *option;

        switch (flag) {
        case VG_FLAG_CONFIG:
            if (!apply) {
                free(options->config_path);
                options->config_path = strdup(optarg);
            }
            continue;
        case VG_FLAG_CHECK_CONFIG:
            options->check_only = true;
            continue;
        case VG_FLAG_HELP:
        case VG_FLAG_VERSION:
            ends = ends ? ends : flag;
            continue;
        case '?':
            if (optopt && vg_option_by_flag(optopt))
                *error = vg_printf("option '%s' needs a value", argv[optind - 1]);
            else
                *error = vg_printf("unrecognised option '%s' (see --help)", argv[optind - 1]);
            return -1;
        }
        option = vg_option_by_flag(flag);
        if (!option || !apply)
            continue;
        if (option->type == VG_OPT_STRING_LIST && !list_from_flags[option - vg_option_table]) {
            /* The first flag replaces the file's (or the default) list; more append. */
            vg_option_list_clear(option, options);
            list_from_flags[option - vg_option_table] = true;
        }
        g_autofree char *origin = g_strdup_printf("--%s", option->name);
        if (vg_option_set(option, options, option->type == VG_OPT_BOOL ? "true" : optarg,
                          origin, error) < 0)
            return -1;
    }
    if (optind < argc) {
        *error = vg_printf("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return ends;
}

static int
vg_options_parse(int argc, char **argv, vg_options *options, char **error)
{
    int ends;

    vg_options_defaults(options);
    ends = vg_options_scan(argc, argv, options, false, error);
    if (ends != 0)
        return ends;
    if (options->config_path && vg_options_apply_file(options, error) < 0)
        return -1;
    if (vg_options_scan(argc, argv, options, true, error) < 0)
        return -1;
    if (options->n_listen == 0) {
        *error = vg_printf("no listen address: give --listen or [server] listen");
        return -1;
    }
    return 0;
}

vg_options_result
vg_options_load(int argc, char **argv, vg_options *options)
{
    char *error = NULL;
    int rc;

    vg_options_check_limit_names();
    vg_start_flags.argc = argc;
    vg_start_flags.argv = argv;
    rc = vg_options_parse(argc, argv, options, &error);
    if (rc < 0) {
        fprintf(stderr, "virtgrpcd: %s\n", error ? error : "out of memory");
        free(error);
        return VG_OPTIONS_EXIT_USAGE;
    }
    if (rc == VG_FLAG_HELP) {
        vg_options_usage(stdout);
        return VG_OPTIONS_EXIT_OK;
    }
    if (rc == VG_FLAG_VERSION) {
        printf("virtgrpcd %s (gRPC %s, libvirt %d)\n", VG_VERSION, grpc_version_string(),
               LIBVIR_VERSION_NUMBER);
        return VG_OPTIONS_EXIT_OK;
    }
    if (options->check_only) {
        printf("virtgrpcd: configuration OK%s%s\n", options->config_path ? ": " : "",
               options->config_path ? options->config_path : "");
        return VG_OPTIONS_EXIT_OK;
    }
    return VG_OPTIONS_RUN;
}

int
vg_options_reload(const vg_options *current, vg_options *next, char **error)
{
    *error = NULL;
    if (vg_options_parse(vg_start_flags.argc, vg_start_flags.argv, next, error) != 0) {
        vg_options_clear(next);
        if (!*error)
            *error = vg_printf("cannot reload the options");
        return -1;
    }
    return 0;
}

/* The value as text, for --help's defaults and the reload log. */
static char *
vg_option_text(const vg_option *option, const vg_options *options)
{
    const void *value = vg_option_value(option, options);

    switch (option->type) {
    case VG_OPT_STRING:
        return strdup(*(char *const *)value ? *(char *const *)value : "");
    case VG_OPT_STRING_LIST: {
        GString *text = g_string_new(NULL);
        size_t count = *vg_option_list_count(option, options);

        for (size_t i = 0; i < count; i++)
            g_string_append_printf(text, "%s%s", i ? ";" : "", ((char *const *)value)[i]);
        return g_string_free(text, FALSE);
    }
    case VG_OPT_SIZE:
        return vg_printf("%zu", *(const size_t *)value);
    case VG_OPT_UINT:
        return vg_printf("%u", *(const unsigned *)value);
    case VG_OPT_LOG_LEVEL: {
        static const char *const names[] = { "error", "warn", "info", "debug" };

        return strdup(names[*(const vg_log_level *)value]);
    }
    case VG_OPT_BOOL:
        return strdup(*(const bool *)value ? "true" : "false");
    case VG_OPT_MODE:
        return vg_printf("%04o", *(const unsigned *)value);
    }
    return strdup("");
}

size_t
vg_options_log_changes(const vg_options *before, const vg_options *after)
{
    size_t applied = 0;

    for (size_t i = 0; i < VG_N_OPTIONS; i++) {
        const vg_option *option = &vg_option_table[i];
        g_autofree char *old_text = vg_option_text(option, before);
        g_autofree char *new_text = vg_option_text(option, after);

        if (strcmp(old_text, new_text) == 0)
            continue;
        if (option->reloadable) {
            vg_log_info("reload: %s %s -> %s", option->name, old_text, new_text);
            applied++;
        } else {
            vg_log_warn("reload: %s changed (%s -> %s) but takes effect only at restart",
                        option->name, old_text, new_text);
        }
    }
    return applied;
}

void
vg_options_clear(vg_options *options)
{
    for (size_t i = 0; i < VG_N_OPTIONS; i++) {
        const vg_option *option = &vg_option_table[i];

        if (option->type == VG_OPT_STRING) {
            char **value = vg_option_value(option, options);

            free(*value);
            *value = NULL;
        } else if (option->type == VG_OPT_STRING_LIST) {
            vg_option_list_clear(option, options);
        }
    }
    free(options->config_path);
    options->config_path = NULL;
    if (options->file)
        g_key_file_free(options->file);
    options->file = NULL;
}

/* Prints `text` from column `indent`, wrapped at 79 columns; `column` is where we are. */
static void
vg_print_wrapped(FILE *out, const char *text, size_t column, size_t indent)
{
    const char *word = text;

    if (column >= indent) {
        fputc('\n', out);
        column = 0;
    }
    fprintf(out, "%*s", (int)(indent - column), "");
    column = indent;
    while (*word) {
        size_t len = strcspn(word, " ");

        if (column > indent && column + 1 + len > 79) {
            fprintf(out, "\n%*s", (int)indent, "");
            column = indent;
        } else if (column > indent) {
            fputc(' ', out);
            column++;
        }
        fwrite(word, 1, len, out);
        column += len;
        word += len;
        while (*word == ' ')
            word++;
    }
    fputc('\n', out);
}

static void
vg_print_flag(FILE *out, int short_name, const char *name, const char *arg, const char *help)
{
    char flag[64];
    int column;

    if (short_name)
        column = snprintf(flag, sizeof(flag), "  -%c, --%s%s%s", short_name, name,
                          arg ? "=" : "", arg ? arg : "");
    else
        column = snprintf(flag, sizeof(flag), "      --%s%s%s", name, arg ? "=" : "",
                          arg ? arg : "");
    fputs(flag, out);
    vg_print_wrapped(out, help, (size_t)column, 30);
}

void
vg_options_usage(FILE *out)
{
    vg_options defaults;
    const char *group = NULL;

    vg_options_defaults(&defaults);
    fprintf(out,
            "Usage: virtgrpcd [OPTION]...\n"
            "Serve libvirt's domain API over gRPC.\n"
            "\n"
            "Every option below can also be set in the configuration file (--config), a GLib\n"
            "key file, as the key of the same name in the [group] it is listed under;\n"
            "command-line flags override the file. SIGHUP re-reads the file and applies the\n"
            "options marked 'reloadable'; the others take effect at the next start.\n");
    for (size_t i = 0; i < VG_N_OPTIONS; i++) {
        const vg_option *option = &vg_option_table[i];
        g_autofree char *value = vg_option_text(option, &defaults);
        g_autofree char *help = NULL;

        if (!group || strcmp(group, option->group) != 0) {
            group = option->group;
            fprintf(out, "\n[%s]\n", group);
        }
        help = g_strdup_printf("%s (default %s%s)", option->help, *value ? value : "none",
                               option->reloadable ? "; reloadable" : "");
        vg_print_flag(out, option->short_name, option->name, option->arg, help);
    }
    fprintf(out, "\nConfiguration:\n");
    vg_print_flag(out, 0, "config", "FILE", "read options from FILE (a GLib key file; see "
                  "deploy/virtgrpcd.conf for a commented example)");
    vg_print_flag(out, 0, "check-config", NULL, "check the flags and the configuration file, "
                  "print the result and exit (0 valid, 2 not)");
    vg_print_flag(out, 'h', "help", NULL, "show this help and exit");
    vg_print_flag(out, 'V', "version", NULL, "show the version and exit");
    fprintf(out, "\nHealth (grpc.health.v1) and server reflection (v1, v1alpha) are always "
                 "served.\nExit status: 0 after a clean shutdown, 1 on a start-up failure, "
                 "2 on a usage or\nconfiguration error.\n");
    vg_options_clear(&defaults);
}
