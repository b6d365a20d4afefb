/*
 * The listeners and the role map, built from the options (options.h) and the groups of
 * the configuration file that are not table options:
 *
 *     [listener public]              # one group per listener, NAME after "listener "
 *     address = 0.0.0.0:50051        # HOST:PORT or unix:/PATH (required)
 *     tls = mutual                   # none | server | mutual (TCP; default none)
 *     cert = /etc/virtgrpc/tls/server.crt   # default: [tls] tls-cert
 *     key = /etc/virtgrpc/tls/server.key    # default: [tls] tls-key
 *     client-ca = /etc/virtgrpc/tls/ca.crt  # default: [tls] tls-client-ca
 *     role = read-only               # callers' role; on mutual TLS the role of
 *                                    # identities [roles] does not name (default: none)
 *     mode = 0660                    # Unix sockets (default [server] socket-mode)
 *     group = libvirt                # Unix sockets (default [server] socket-group)
 *     health-only = false            # serve grpc.health.v1 only
 *
 *     [roles]                        # certificate identity (CN or SAN) = role
 *     ops.example.com = operator
 *     admin.example.com = admin
 *
 * The flags' listeners (listen, listen-read-only, health-listen) come first, in that
 * order, then the [listener NAME] groups in file order. A file with [listener NAME]
 * groups replaces the default listen address (127.0.0.1:50051) unless listen is given.
 */
#pragma once

#include "server/options.h"
#include "server/transport/listeners.h"

#define VG_MAX_ALL_LISTENERS (3 * VG_MAX_LISTENERS + 1)

typedef struct vg_security {
    vg_listener_config listeners[VG_MAX_ALL_LISTENERS];
    size_t n_listeners;
    /* Strings of the listeners above (names, paths), freed by vg_security_clear. */
    char *strings[VG_MAX_ALL_LISTENERS * 8];
    size_t n_strings;
} vg_security;

/* Builds the listeners of `options`. Returns 0, or -1 with *error (free()). */
int vg_security_load(const vg_options *options, vg_security *security, char **error);
void vg_security_clear(vg_security *security);

/* Replaces the process-wide role map (transport/authz.h) with [roles] and the role
 * flags of `options` (a flag wins over the file for the same identity). At start and on
 * SIGHUP. Returns 0, or -1 with *error (free()); the running map stays then. */
int vg_security_apply_roles(const vg_options *options, char **error);

/* The checks options.c runs on the file's [roles] and [listener NAME] groups, so that
 * --check-config covers them. */
int vg_security_check_roles_group(GKeyFile *file, const char *group, char **error);
int vg_security_check_listener_group(GKeyFile *file, const char *group, char **error);
