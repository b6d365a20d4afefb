/*
 * Listeners: where virtgrpcd accepts connections, how they are secured, and which role
 * their callers get. Each listener is served by a gRPC server of its own (all sharing
 * one completion queue), so a call always knows which listener it came on.
 */
#pragma once

#include <stdbool.h>
#include <grpc/grpc_security.h>

#include "server/transport/method.h"

typedef enum vg_listener_tls {
    VG_LISTENER_PLAINTEXT, /* TCP without TLS, or a Unix socket */
    VG_LISTENER_TLS,       /* TLS with a server certificate; clients are anonymous */
    VG_LISTENER_MTLS,      /* TLS; clients must show a certificate signed by client_ca */
} vg_listener_tls;

typedef struct vg_listener_config {
    /* Names the listener in logs and the audit log ("listen" flags are "listen-N",
     * config file groups `[listener NAME]` are NAME). */
    const char *name;
    /* "HOST:PORT" (port 0 picks a free one) or "unix:/PATH". */
    const char *address;
    vg_listener_tls tls;
    /* PEM files, watched for changes: a rewritten certificate is served to new
     * connections without a restart. */
    const char *cert_file;
    const char *key_file;
    const char *client_ca_file; /* VG_LISTENER_MTLS only */
    /*
     * The role of every caller on this listener, or on a mutual-TLS listener the role of
     * a certificate identity that the [roles] map does not name (VG_ROLE_NONE: such
     * callers may call nothing). VG_ROLE_NONE on other listeners means "the default":
     * vg_listener_check sets it.
     */
    vg_role role;
    /* Unix sockets: file mode set after bind (0: 0660) and group (NULL: unchanged). */
    unsigned socket_mode;
    const char *socket_group;
    /* Serves grpc.health.v1 only, whatever its security (Kubernetes probes speak
     * plaintext). */
    bool health_only;
} vg_listener_config;

/* True for "unix:..." addresses. */
bool vg_listener_is_unix(const char *address);
/* True when `address` ("HOST:PORT") binds only loopback: 127.0.0.0/8, ::1, localhost. */
bool vg_listener_is_loopback(const char *address);

/*
 * Checks one listener and fills in its default role:
 * - plaintext TCP on a non-loopback address is refused unless
 *   `allow_insecure_plaintext` (health-only listeners excepted: they serve no data);
 * - TLS needs cert and key, mutual TLS also client_ca, and the files must be readable;
 * - default roles: Unix sockets and loopback TCP ROLE_ADMIN (as libvirt's read-write
 *   socket: whoever can connect is trusted), other TLS-without-client-certificate and
 *   insecure plaintext listeners ROLE_READ_ONLY (they authenticate nobody), health-only
 *   listeners ROLE_READ_ONLY.
 * Returns 0, or -1 with `*error` set to a malloc'ed message.
 */
int vg_listener_check(vg_listener_config *config, bool allow_insecure_plaintext,
                      char **error);

/* The credentials to add the listener's port with; release them after
 * grpc_server_add_http2_port. `tls_refresh_s`: how often certificate files are
 * re-read. */
grpc_server_credentials *vg_listener_credentials(const vg_listener_config *config,
                                                 unsigned tls_refresh_s);

/* Binds the listener's port on `server` (Unix sockets: no wider than owner-only until
 * their mode and group are set). Returns the bound port (0 for a Unix socket), or -1
 * with `*error` set. */
int vg_listener_bind(const vg_listener_config *config, grpc_server *server,
                     unsigned tls_refresh_s, char **error);
