/*
 * virtgrpcd's settings: ONE table (options.c) names every option once. The same name is the
 * command-line flag `--NAME` and the key `NAME` in its group of the configuration file, a
 * GLib key file (INI-like; https://specifications.freedesktop.org/desktop-entry-spec/latest/
 * describes the syntax):
 *
 *     [server]
 *     connect = qemu:///system
 *     listen = 127.0.0.1:50051;unix:/run/virtgrpc/virtgrpcd.sock
 *
 *     [limits]
 *     max-inflight = 512
 *
 * Precedence: built-in defaults < the file given by --config < command-line flags. `--help`
 * is generated from the table, so it documents every option with its default and config key.
 * SIGHUP reloads: the file is read again, the same flags still override it, and the options
 * marked reloadable take effect (vg_options_reloadable_changed says which changed).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "server/limits.h"
#include "server/log.h"
#include "server/runtime/libvirt-conn.h"
#include "server/services/byte-stream.h"

#define VG_MAX_LISTENERS 16

typedef struct _GKeyFile GKeyFile;

typedef struct vg_options {
    /* [server] */
    char *connect_uri;
    char *listen[VG_MAX_LISTENERS];
    size_t n_listen;
    /* Whether the file or a flag set listen (else it is the default, which [listener
     * NAME] groups replace). */
    bool listen_given;
    size_t workers;
    unsigned shutdown_grace_s;
    char *port_file;
    /* HOST:PORT of the plaintext probe port serving only grpc.health.v1.Health, or NULL. */
    char *health_listen;
    vg_log_level log_level;
    unsigned libvirt_keepalive_interval_s;
    unsigned libvirt_keepalive_count;
    /* [limits]: by vg_limit_id (server/limits.h, which holds their defaults and the
     * values in force). */
    size_t limits[VG_LIMIT_COUNT];
    /* [jobs] */
    size_t max_jobs;
    size_t job_retention_s;
    /* [consoles] */
    vg_byte_stream_limits byte_streams;
    /* [server]: more listeners and their security (security-options.h builds them) */
    char *listen_read_only[VG_MAX_LISTENERS];
    size_t n_listen_read_only;
    unsigned socket_mode;
    char *socket_group;
    bool allow_insecure_plaintext;
    /* [tls] */
    char *tls_cert;
    char *tls_key;
    char *tls_client_ca;
    unsigned tls_reload_interval_s;
    char *role[VG_MAX_LISTENERS]; /* IDENTITY=ROLE, besides the [roles] group */
    size_t n_role;
    /* [audit] */
    char *audit_log;

    /* Not settings: where they came from. */
    char *config_path;  /* --config, or NULL */
    GKeyFile *file;     /* the parsed file (groups beyond the table read it), or NULL */
    bool check_only;    /* --check-config: validate, report, exit */
} vg_options;

typedef enum vg_options_result {
    VG_OPTIONS_RUN,        /* start serving with *options */
    VG_OPTIONS_EXIT_OK,    /* --help, --version or a passing --check-config: exit 0 */
    VG_OPTIONS_EXIT_USAGE, /* bad flag, bad file: the message was printed; exit 2 */
} vg_options_result;

/* Parses argv (and the --config file it names) into *options. Messages go to stderr. */
vg_options_result vg_options_load(int argc, char **argv, vg_options *options);

/*
 * Reads the configuration file again and re-applies the command-line flags given at start
 * (SIGHUP). Returns 0 with *next filled, or -1 with *error (free()) saying what was wrong;
 * *current is untouched either way.
 */
int vg_options_reload(const vg_options *current, vg_options *next, char **error);

/* Logs each option that differs between the two. Non-reloadable ones are reported as
 * needing a restart; returns how many reloadable options changed. */
size_t vg_options_log_changes(const vg_options *before, const vg_options *after);

void vg_options_clear(vg_options *options);

/* What --help prints. */
void vg_options_usage(FILE *out);
