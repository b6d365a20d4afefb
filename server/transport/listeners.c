/*
 * Listener checks, credentials and Unix socket permissions. TLS uses gRPC core's
 * certificate-provider API: the file watcher re-reads the certificate, key and CA files
 * every `tls_refresh_s` seconds, so renewed certificates (cert-manager, a cron job) are
 * served to new connections without a restart or a signal.
 */
#include "server/transport/listeners.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VG_SOCKET_MODE_DEFAULT 0660

static int
vg_listener_error(char **error, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    if (vasprintf(error, format, args) < 0)
        *error = NULL;
    va_end(args);
    return -1;
}

bool
vg_listener_is_unix(const char *address)
{
    return strncmp(address, "unix:", 5) == 0;
}

bool
vg_listener_is_loopback(const char *address)
{
    const char *colon = strrchr(address, ':');
    char host[256];
    size_t length;
    struct in_addr v4;
    struct in6_addr v6;

    if (strncmp(address, "ipv4:", 5) == 0 || strncmp(address, "ipv6:", 5) == 0)
        address += 5;
    colon = strrchr(address, ':');
    if (!colon)
        return false;
    length = (size_t)(colon - address);
    if (length >= 2 && address[0] == '[' && address[length - 1] == ']') {
        address++;
        length -= 2;
    }
    if (length == 0 || length >= sizeof(host))
        return false; /* ":50051" binds every address */
    memcpy(host, address, length);
    host[length] = '\0';
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6);
    return false;
}

static int
vg_listener_check_file(const vg_listener_config *config, const char *what, const char *path,
                       char **error)
{
    if (!path || !*path) {
        return vg_listener_error(error, "listener '%s' (%s): TLS needs a %s file",
                                 config->name, config->address, what);
    }
    if (access(path, R_OK) < 0) {
        return vg_listener_error(
            error, "listener '%s' (%s): cannot read the %s file '%s': %s", config->name,
            config->address, what, path, strerror(errno));
    }
    return 0;
}

int
vg_listener_check(vg_listener_config *config, bool allow_insecure_plaintext, char **error)
{
    bool is_unix = vg_listener_is_unix(config->address);
    bool is_loopback = !is_unix && vg_listener_is_loopback(config->address);

    if (is_unix && config->tls != VG_LISTENER_PLAINTEXT) {
        return vg_listener_error(error,
                                 "listener '%s' (%s): Unix sockets do not use TLS; "
                                 "their file mode and group control who connects",
                                 config->name, config->address);
    }
    if (!is_unix && !is_loopback && config->tls == VG_LISTENER_PLAINTEXT &&
        !config->health_only && !allow_insecure_plaintext) {
        return vg_listener_error(error,
                                 "listener '%s' (%s): refusing plaintext on a "
                                 "non-loopback address: anyone on the network could "
                                 "control the domains. Configure TLS (tls-cert, tls-key, "
                                 "tls-client-ca) or pass --allow-insecure-plaintext",
                                 config->name, config->address);
    }
    if (config->tls != VG_LISTENER_PLAINTEXT) {
        if (vg_listener_check_file(config, "certificate", config->cert_file, error) < 0 ||
            vg_listener_check_file(config, "private key", config->key_file, error) < 0)
            return -1;
    }
    if (config->tls == VG_LISTENER_MTLS &&
        vg_listener_check_file(config, "client CA", config->client_ca_file, error) < 0)
        return -1;
    if (config->socket_group && !is_unix) {
        return vg_listener_error(error,
                                 "listener '%s' (%s): a socket group applies to "
                                 "Unix sockets only",
                                 config->name, config->address);
    }

    if (config->role == VG_ROLE_NONE && config->tls != VG_LISTENER_MTLS) {
        if (config->health_only)
            config->role = VG_ROLE_READ_ONLY;
        else
            config->role = is_unix || is_loopback ? VG_ROLE_ADMIN : VG_ROLE_READ_ONLY;
    }
    if (config->socket_mode == 0)
        config->socket_mode = VG_SOCKET_MODE_DEFAULT;
    return 0;
}

grpc_server_credentials *
vg_listener_credentials(const vg_listener_config *config, unsigned tls_refresh_s)
{
    grpc_tls_certificate_provider *provider;
    grpc_tls_credentials_options *options;
    grpc_server_credentials *credentials;
    bool is_mutual = config->tls == VG_LISTENER_MTLS;

    if (config->tls == VG_LISTENER_PLAINTEXT)
        return grpc_insecure_server_credentials_create();

    provider = grpc_tls_certificate_provider_file_watcher_create(
        config->key_file, config->cert_file, is_mutual ? config->client_ca_file : NULL,
        tls_refresh_s ? tls_refresh_s : 1);
    options = grpc_tls_credentials_options_create();
    grpc_tls_credentials_options_set_certificate_provider(options, provider);
    grpc_tls_credentials_options_watch_identity_key_cert_pairs(options);
    if (is_mutual) {
        grpc_tls_credentials_options_watch_root_certs(options);
        grpc_tls_credentials_options_set_cert_request_type(
            options, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    } else {
        grpc_tls_credentials_options_set_cert_request_type(
            options, GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    }
    credentials = grpc_tls_server_credentials_create(options); /* owns options */
    grpc_tls_certificate_provider_release(provider);           /* options hold a ref */
    return credentials;
}

static int
vg_listener_set_socket_permissions(const vg_listener_config *config, char **error)
{
    const char *path = config->address + strlen("unix:");
    gid_t group = (gid_t)-1;

    if (config->socket_group) {
        struct group *entry = getgrnam(config->socket_group);

        if (!entry) {
            return vg_listener_error(error, "listener '%s' (%s): unknown socket group '%s'",
                                     config->name, config->address, config->socket_group);
        }
        group = entry->gr_gid;
        if (chown(path, (uid_t)-1, group) < 0) {
            return vg_listener_error(error,
                                     "listener '%s': cannot give '%s' to group "
                                     "'%s': %s",
                                     config->name, path, config->socket_group,
                                     strerror(errno));
        }
    }
    if (chmod(path, config->socket_mode) < 0) {
        return vg_listener_error(error,
                                 "listener '%s': cannot set the mode of '%s' to "
                                 "%04o: %s",
                                 config->name, path, config->socket_mode, strerror(errno));
    }
    return 0;
}

int
vg_listener_bind(const vg_listener_config *config, grpc_server *server,
                 unsigned tls_refresh_s, char **error)
{
    bool is_unix = vg_listener_is_unix(config->address);
    grpc_server_credentials *credentials = vg_listener_credentials(config, tls_refresh_s);
    mode_t umask_before = 0;
    int port;

    /*
     * gRPC core creates the socket file with the process umask, and the mode is only
     * right once chmod ran: bind owner-only so that nobody connects in between (the
     * way libvirtd binds its sockets). Startup is single-threaded for file creation.
     */
    if (is_unix)
        umask_before = umask(0177);
    port = grpc_server_add_http2_port(server, config->address, credentials);
    if (is_unix)
        umask(umask_before);
    grpc_server_credentials_release(credentials);
    if (port == 0) {
        return vg_listener_error(error, "listener '%s': cannot listen on '%s'",
                                 config->name, config->address);
    }
    if (is_unix) {
        if (vg_listener_set_socket_permissions(config, error) < 0)
            return -1;
        return 0;
    }
    return port;
}
