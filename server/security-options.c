/* Listeners and the role map from the options and the configuration file (see
 * security-options.h). */
#include "server/security-options.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/transport/authz.h"

#define VG_LISTENER_GROUP_PREFIX "listener "

static const char *const vg_listener_keys[] = {
    "address", "tls",  "cert",  "key",         "client-ca",
    "role",    "mode", "group", "health-only", NULL,
};

static char *
vg_security_keep(vg_security *security, char *string)
{
    if (string)
        security->strings[security->n_strings++] = string;
    return string;
}

static vg_listener_config *
vg_security_add(vg_security *security, const vg_options *options, const char *address,
                char *name, char **error)
{
    vg_listener_config *listener;

    if (security->n_listeners == VG_MAX_ALL_LISTENERS) {
        *error = g_strdup_printf("at most %d listeners", VG_MAX_ALL_LISTENERS);
        free(name);
        return NULL;
    }
    listener = &security->listeners[security->n_listeners++];
    *listener = (vg_listener_config){
        .name = vg_security_keep(security, name),
        .address = address,
        .socket_mode = options->socket_mode,
        .socket_group = vg_listener_is_unix(address) ? options->socket_group : NULL,
    };
    return listener;
}

/* The TLS of the flags' TCP listeners: the [tls] files decide. */
static int
vg_security_flags_tls(const vg_options *options, vg_listener_tls *tls, char **error)
{
    *tls = VG_LISTENER_PLAINTEXT;
    if (!options->tls_cert != !options->tls_key) {
        *error = g_strdup("tls-cert and tls-key go together");
        return -1;
    }
    if (options->tls_client_ca && !options->tls_cert) {
        *error = g_strdup("tls-client-ca needs tls-cert and tls-key");
        return -1;
    }
    if (options->tls_cert)
        *tls = options->tls_client_ca ? VG_LISTENER_MTLS : VG_LISTENER_TLS;
    return 0;
}

/* One [listener NAME] group into `listener` (strings kept in `security` when given). */
static int
vg_security_read_listener(GKeyFile *file, const char *group, const vg_options *options,
                          vg_security *security, vg_listener_config *listener, char **error)
{
    g_autofree char *tls = g_key_file_get_string(file, group, "tls", NULL);
    g_autofree char *role = g_key_file_get_string(file, group, "role", NULL);
    g_autofree char *mode = g_key_file_get_string(file, group, "mode", NULL);
    g_autofree char *health_only = g_key_file_get_string(file, group, "health-only", NULL);
    g_auto(GStrv) keys = g_key_file_get_keys(file, group, NULL, NULL);

    for (size_t i = 0; keys && keys[i]; i++) {
        bool known = false;

        for (size_t k = 0; vg_listener_keys[k]; k++)
            known = known || strcmp(keys[i], vg_listener_keys[k]) == 0;
        if (!known) {
            *error = g_strdup_printf("[%s]: unknown key '%s' (address, tls, cert, key, "
                                     "client-ca, role, mode, group, health-only)",
                                     group, keys[i]);
            return -1;
        }
    }
    if (!listener->address) {
        *error =
            g_strdup_printf("[%s]: 'address' is required (HOST:PORT or unix:/PATH)", group);
        return -1;
    }
    if (!tls || strcmp(tls, "none") == 0) {
        listener->tls = VG_LISTENER_PLAINTEXT;
    } else if (strcmp(tls, "server") == 0) {
        listener->tls = VG_LISTENER_TLS;
    } else if (strcmp(tls, "mutual") == 0) {
        listener->tls = VG_LISTENER_MTLS;
    } else {
        *error = g_strdup_printf("[%s] tls: none, server or mutual, not '%s'", group, tls);
        return -1;
    }
    if (role && vg_role_parse(role, &listener->role) < 0) {
        *error = g_strdup_printf("[%s] role: read-only, operator or admin, not '%s'", group,
                                 role);
        return -1;
    }
    if (mode) {
        char *end;
        unsigned long value = strtoul(mode, &end, 8);

        if (end == mode || *end || value > 0777) {
            *error = g_strdup_printf("[%s] mode: an octal file mode such as 0660, not '%s'",
                                     group, mode);
            return -1;
        }
        listener->socket_mode = (unsigned)value;
    }
    if (health_only && strcmp(health_only, "true") != 0 &&
        strcmp(health_only, "false") != 0) {
        *error = g_strdup_printf("[%s] health-only: true or false, not '%s'", group,
                                 health_only);
        return -1;
    }
    listener->health_only = health_only && strcmp(health_only, "true") == 0;
    if (security) {
        char *cert = g_key_file_get_string(file, group, "cert", NULL);
        char *key = g_key_file_get_string(file, group, "key", NULL);
        char *client_ca = g_key_file_get_string(file, group, "client-ca", NULL);
        char *socket_group = g_key_file_get_string(file, group, "group", NULL);

        listener->cert_file = cert ? vg_security_keep(security, cert) : options->tls_cert;
        listener->key_file = key ? vg_security_keep(security, key) : options->tls_key;
        listener->client_ca_file =
            client_ca ? vg_security_keep(security, client_ca) : options->tls_client_ca;
        if (socket_group)
            listener->socket_group = vg_security_keep(security, socket_group);
    }
    return 0;
}

int
vg_security_check_listener_group(GKeyFile *file, const char *group, char **error)
{
    vg_listener_config listener = {0};
    g_autofree char *address = g_key_file_get_string(file, group, "address", NULL);

    listener.address = address;
    return vg_security_read_listener(file, group, NULL, NULL, &listener, error);
}

int
vg_security_check_roles_group(GKeyFile *file, const char *group, char **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(file, group, NULL, NULL);

    for (size_t i = 0; keys && keys[i]; i++) {
        g_autofree char *value = g_key_file_get_string(file, group, keys[i], NULL);
        vg_role role;

        if (!value || vg_role_parse(value, &role) < 0) {
            *error = g_strdup_printf("[%s] %s: read-only, operator or admin, not '%s'",
                                     group, keys[i], value ? value : "");
            return -1;
        }
    }
    return 0;
}

/* The default listen address gives way to [listener NAME] groups: a file that defines
 * its listeners listens there only. */
static bool
vg_security_default_replaced(const vg_options *options)
{
    g_auto(GStrv) groups = NULL;

    if (options->listen_given || !options->file)
        return false;
    groups = g_key_file_get_groups(options->file, NULL);
    for (size_t g = 0; groups[g]; g++) {
        if (strncmp(groups[g], VG_LISTENER_GROUP_PREFIX, strlen(VG_LISTENER_GROUP_PREFIX)) == 0)
            return true;
    }
    return false;
}

int
vg_security_load(const vg_options *options, vg_security *security, char **error)
{
    vg_listener_tls tcp_tls;

    memset(security, 0, sizeof(*security));
    if (vg_security_flags_tls(options, &tcp_tls, error) < 0)
        return -1;
    for (size_t i = 0; i < options->n_listen && !vg_security_default_replaced(options); i++) {
        vg_listener_config *listener = vg_security_add(
            security, options, options->listen[i], g_strdup_printf("listen-%zu", i), error);

        if (!listener)
            return -1;
        if (!vg_listener_is_unix(listener->address)) {
            listener->tls = tcp_tls;
            listener->cert_file = options->tls_cert;
            listener->key_file = options->tls_key;
            listener->client_ca_file = options->tls_client_ca;
        }
    }
    for (size_t i = 0; i < options->n_listen_read_only; i++) {
        vg_listener_config *listener =
            vg_security_add(security, options, options->listen_read_only[i],
                            g_strdup_printf("read-only-%zu", i), error);

        if (!listener)
            return -1;
        if (!vg_listener_is_unix(listener->address)) {
            *error = g_strdup_printf("listen-read-only takes unix:/PATH, not '%s'",
                                     listener->address);
            return -1;
        }
        listener->role = VG_ROLE_READ_ONLY;
    }
    if (options->health_listen) {
        vg_listener_config *listener = vg_security_add(
            security, options, options->health_listen, g_strdup("health"), error);

        if (!listener)
            return -1;
        listener->health_only = true;
    }
    if (options->file) {
        g_auto(GStrv) groups = g_key_file_get_groups(options->file, NULL);

        for (size_t g = 0; groups[g]; g++) {
            const char *name = groups[g] + strlen(VG_LISTENER_GROUP_PREFIX);
            char *address;
            vg_listener_config *listener;

            if (strncmp(groups[g], VG_LISTENER_GROUP_PREFIX,
                        strlen(VG_LISTENER_GROUP_PREFIX)) != 0)
                continue;
            address = g_key_file_get_string(options->file, groups[g], "address", NULL);
            listener = vg_security_add(security, options, "", g_strdup(name), error);
            if (!listener) {
                g_free(address);
                return -1;
            }
            listener->address = address ? vg_security_keep(security, address) : NULL;
            listener->socket_group = options->socket_group;
            if (vg_security_read_listener(options->file, groups[g], options, security,
                                          listener, error) < 0)
                return -1;
            if (!vg_listener_is_unix(listener->address))
                listener->socket_group = NULL;
        }
    }
    return 0;
}

void
vg_security_clear(vg_security *security)
{
    for (size_t i = 0; i < security->n_strings; i++)
        g_free(security->strings[i]);
    memset(security, 0, sizeof(*security));
}

int
vg_security_apply_roles(const vg_options *options, char **error)
{
    g_autoptr(GPtrArray) identities = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) roles = g_array_new(FALSE, FALSE, sizeof(vg_role));

    /* Flags first, so they win over the file's entry for the same identity. */
    for (size_t i = 0; i < options->n_role; i++) {
        const char *text = options->role[i];
        const char *equals = strrchr(text, '=');
        vg_role role;

        if (!equals || equals == text || vg_role_parse(equals + 1, &role) < 0) {
            *error = g_strdup_printf("role takes IDENTITY=ROLE with ROLE read-only, "
                                     "operator or admin, not '%s'",
                                     text);
            return -1;
        }
        g_ptr_array_add(identities, g_strndup(text, (size_t)(equals - text)));
        g_array_append_val(roles, role);
    }
    if (options->file && g_key_file_has_group(options->file, "roles")) {
        g_auto(GStrv) keys = g_key_file_get_keys(options->file, "roles", NULL, NULL);

        for (size_t i = 0; keys && keys[i]; i++) {
            g_autofree char *value =
                g_key_file_get_string(options->file, "roles", keys[i], NULL);
            bool from_flag = false;
            vg_role role;

            for (size_t j = 0; j < options->n_role; j++)
                from_flag =
                    from_flag || strcmp(g_ptr_array_index(identities, j), keys[i]) == 0;
            if (from_flag)
                continue;
            if (!value || vg_role_parse(value, &role) < 0) {
                *error =
                    g_strdup_printf("[roles] %s: read-only, operator or admin, not '%s'",
                                    keys[i], value ? value : "");
                return -1;
            }
            g_ptr_array_add(identities, g_strdup(keys[i]));
            g_array_append_val(roles, role);
        }
    }
    if (vg_authz_set_roles((const char *const *)identities->pdata,
                           (const vg_role *)roles->data, identities->len) < 0) {
        *error = g_strdup("role: an identity is empty or mapped twice");
        return -1;
    }
    return 0;
}
