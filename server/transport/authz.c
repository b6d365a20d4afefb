/*
 * The role map and the role check. The map is read on the completion-queue thread for
 * every call on a mutual-TLS listener and replaced on reload, so it sits behind a
 * read-write lock (readers never wait for each other).
 */
#include "server/transport/authz.h"

#include <grpc/grpc_security.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/transport/authz-internal.h"
#include "server/transport/call-internal.h"

typedef struct vg_role_entry {
    char *identity;
    vg_role role;
} vg_role_entry;

static pthread_rwlock_t vg_roles_lock = PTHREAD_RWLOCK_INITIALIZER;
static vg_role_entry *vg_roles;
static size_t vg_n_roles;

static const struct {
    vg_role role;
    const char *name;
    const char *proto_name;
} vg_role_names[] = {
    {VG_ROLE_NONE, "none", "ROLE_UNSPECIFIED"},
    {VG_ROLE_READ_ONLY, "read-only", "ROLE_READ_ONLY"},
    {VG_ROLE_OPERATOR, "operator", "ROLE_OPERATOR"},
    {VG_ROLE_ADMIN, "admin", "ROLE_ADMIN"},
};

const char *
vg_role_name(vg_role role)
{
    for (size_t i = 0; i < sizeof(vg_role_names) / sizeof(vg_role_names[0]); i++) {
        if (vg_role_names[i].role == role)
            return vg_role_names[i].name;
    }
    return "none";
}

int
vg_role_parse(const char *text, vg_role *role)
{
    /* "none" is not accepted: a role map entry or a listener role must grant one. */
    for (size_t i = 1; i < sizeof(vg_role_names) / sizeof(vg_role_names[0]); i++) {
        if (strcmp(text, vg_role_names[i].name) == 0 ||
            strcmp(text, vg_role_names[i].proto_name) == 0) {
            *role = vg_role_names[i].role;
            return 0;
        }
    }
    return -1;
}

static void
vg_role_entries_free(vg_role_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(entries[i].identity);
    free(entries);
}

int
vg_authz_set_roles(const char *const *identities, const vg_role *roles, size_t n)
{
    vg_role_entry *entries = calloc(n ? n : 1, sizeof(*entries));
    vg_role_entry *old;
    size_t n_old;

    if (!entries)
        abort();
    for (size_t i = 0; i < n; i++) {
        bool is_duplicate = false;

        for (size_t j = 0; j < i; j++)
            is_duplicate = is_duplicate || strcmp(identities[i], identities[j]) == 0;
        if (!identities[i][0] || is_duplicate || roles[i] == VG_ROLE_NONE) {
            vg_role_entries_free(entries, i);
            return -1;
        }
        entries[i].identity = strdup(identities[i]);
        entries[i].role = roles[i];
        if (!entries[i].identity)
            abort();
    }
    pthread_rwlock_wrlock(&vg_roles_lock);
    old = vg_roles;
    n_old = vg_n_roles;
    vg_roles = entries;
    vg_n_roles = n;
    pthread_rwlock_unlock(&vg_roles_lock);
    vg_role_entries_free(old, n_old);
    return 0;
}

/* The mapped role of `identity`, VG_ROLE_NONE when unmapped. Takes the read lock. */
static vg_role
vg_roles_lookup(const char *identity)
{
    vg_role role = VG_ROLE_NONE;

    pthread_rwlock_rdlock(&vg_roles_lock);
    for (size_t i = 0; i < vg_n_roles; i++) {
        if (strcmp(vg_roles[i].identity, identity) == 0) {
            role = vg_roles[i].role;
            break;
        }
    }
    pthread_rwlock_unlock(&vg_roles_lock);
    return role;
}

/*
 * A mutual-TLS caller: the first of its certificate's common name, then its subject
 * alternative names, that the role map names decides; unmapped, the listener's
 * default role. The identity recorded is the mapped name, or the common name (else the
 * first SAN) when none is mapped.
 */
static void
vg_authz_identify_certificate(vg_call *call)
{
    static const char *const properties[] = {
        GRPC_X509_CN_PROPERTY_NAME,
        GRPC_X509_SAN_PROPERTY_NAME,
    };
    grpc_auth_context *context = grpc_call_auth_context(call->call);
    const char *first_name = NULL;

    call->role = call->listener->role;
    if (!context)
        return;
    for (size_t i = 0; i < sizeof(properties) / sizeof(properties[0]); i++) {
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(context, properties[i]);
        const grpc_auth_property *property;

        while ((property = grpc_auth_property_iterator_next(&it))) {
            vg_role role;

            if (!property->value || !property->value[0])
                continue;
            if (!first_name)
                first_name = property->value;
            role = vg_roles_lookup(property->value);
            if (role != VG_ROLE_NONE) {
                call->role = role;
                call->identity = vg_call_strdup(call, property->value);
                grpc_auth_context_release(context);
                return;
            }
        }
    }
    if (first_name)
        call->identity = vg_call_strdup(call, first_name);
    grpc_auth_context_release(context);
}

void
vg_authz_identify(vg_call *call, const vg_listener_config *listener)
{
    call->listener = listener;
    if (listener->tls == VG_LISTENER_MTLS)
        vg_authz_identify_certificate(call);
    else
        call->role = listener->role;
}

int
vg_call_authorize(vg_call *call, const vg_method *method)
{
    if (call->role >= method->role)
        return 0;
    if (call->identity) {
        return vg_call_fail(
            call, GRPC_STATUS_PERMISSION_DENIED, VG_REASON_PERMISSION_DENIED,
            "'%s' requires role '%s'; the caller '%s' has role '%s'", method->path,
            vg_role_name(method->role), call->identity, vg_role_name(call->role));
    }
    return vg_call_fail(call, GRPC_STATUS_PERMISSION_DENIED, VG_REASON_PERMISSION_DENIED,
                        "'%s' requires role '%s'; callers on listener '%s' have role '%s'",
                        method->path, vg_role_name(method->role),
                        call->listener ? call->listener->name : "?",
                        vg_role_name(call->role));
}

vg_role
vg_call_role(const vg_call *call)
{
    return call->role;
}

const char *
vg_call_identity(const vg_call *call)
{
    return call->identity;
}
