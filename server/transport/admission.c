#include "server/transport/admission.h"

#include <grpc/grpc_security.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/limits.h"
#include "server/transport/call-internal.h"

enum { VG_KIND_UNARY, VG_KIND_STREAM, VG_KIND_COUNT };

/* Per kind: the total limit, the per-client limit, and what the numbers count. */
static const struct {
    vg_limit_id total;
    vg_limit_id per_client;
    const char *what;
} vg_kinds[VG_KIND_COUNT] = {
    [VG_KIND_UNARY] = { VG_LIMIT_MAX_INFLIGHT, VG_LIMIT_MAX_INFLIGHT_PER_CLIENT,
                        "concurrent calls" },
    [VG_KIND_STREAM] = { VG_LIMIT_MAX_STREAMS, VG_LIMIT_MAX_STREAMS_PER_CLIENT,
                         "open streams" },
};

/* A client with calls in flight; freed when its last call leaves. */
struct vg_client {
    struct vg_client *next;
    size_t counts[VG_KIND_COUNT];
    char key[];
};

/* Buckets of the client table: a power of two. Chains stay short for thousands of
 * clients, and the table costs 8 KiB. */
#define VG_CLIENT_BUCKETS 1024

struct vg_admission {
    pthread_mutex_t lock;
    size_t totals[VG_KIND_COUNT];
    struct vg_client *buckets[VG_CLIENT_BUCKETS];
};

vg_admission *
vg_admission_new(void)
{
    vg_admission *admission = calloc(1, sizeof(*admission));

    if (!admission)
        abort();
    pthread_mutex_init(&admission->lock, NULL);
    return admission;
}

vg_admission *
vg_admission_free(vg_admission *admission)
{
    if (!admission)
        return NULL;
    for (size_t i = 0; i < VG_CLIENT_BUCKETS; i++) {
        while (admission->buckets[i]) {
            struct vg_client *next = admission->buckets[i]->next;

            free(admission->buckets[i]);
            admission->buckets[i] = next;
        }
    }
    pthread_mutex_destroy(&admission->lock);
    free(admission);
    return NULL;
}

/*
 * The client a call counts for, into `key`: "ipv4:10.1.2.3" and "ipv6:[fd00::1]" (the
 * peer without its port) for TCP; for anything else (Unix sockets, whose peers have no
 * address), the connection, which the call's auth context stands for: gRPC core makes
 * one per connection at its handshake, and every call holds a reference to it, so its
 * address is unique among the connections that have calls counted here.
 */
static void
vg_admission_client_key(vg_call *call, char *key, size_t size)
{
    const char *peer = vg_call_peer(call);
    const char *port;

    if (strncmp(peer, "ipv4:", 5) == 0 || strncmp(peer, "ipv6:", 5) == 0) {
        port = strrchr(peer, ':');
        if (port && port > peer + 4) {
            snprintf(key, size, "%.*s", (int)(port - peer), peer);
            return;
        }
    }
    grpc_auth_context *context = grpc_call_auth_context(call->call);

    snprintf(key, size, "%s#%p", peer, (void *)context);
    if (context)
        grpc_auth_context_release(context);
}

static size_t
vg_admission_hash(const char *key)
{
    uint32_t hash = 2166136261u; /* FNV-1a */

    for (; *key; key++)
        hash = (hash ^ (uint8_t)*key) * 16777619u;
    return hash & (VG_CLIENT_BUCKETS - 1);
}

/* With the lock held. */
static struct vg_client *
vg_admission_client_locked(vg_admission *admission, const char *key)
{
    struct vg_client **bucket = &admission->buckets[vg_admission_hash(key)];
    struct vg_client *client;
    size_t length = strlen(key);

    for (client = *bucket; client; client = client->next) {
        if (strcmp(client->key, key) == 0)
            return client;
    }
    client = calloc(1, sizeof(*client) + length + 1);
    if (!client)
        abort();
    memcpy(client->key, key, length + 1);
    client->next = *bucket;
    *bucket = client;
    return client;
}

int
vg_admission_enter(vg_admission *admission, vg_call *call)
{
    int kind = call->is_stream ? VG_KIND_STREAM : VG_KIND_UNARY;
    size_t total_limit = vg_limit(vg_kinds[kind].total);
    size_t client_limit = vg_limit(vg_kinds[kind].per_client);
    char key[256];
    size_t total;
    size_t mine;

    if (call->client)
        return 0; /* counted already */
    vg_admission_client_key(call, key, sizeof(key));

    pthread_mutex_lock(&admission->lock);
    call->client = vg_admission_client_locked(admission, key);
    call->client_kind = kind;
    total = ++admission->totals[kind];
    mine = ++call->client->counts[kind];
    pthread_mutex_unlock(&admission->lock);

    if (total > total_limit) {
        return vg_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT,
                            "server is at its limit of %zu %s (%s); retry later, or "
                            "raise the limit", total_limit, vg_kinds[kind].what,
                            vg_limit_option(vg_kinds[kind].total));
    }
    if (client_limit && mine > client_limit) {
        return vg_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT,
                            "client '%s' is at its limit of %zu %s (%s); retry later, "
                            "or raise the limit", key, client_limit, vg_kinds[kind].what,
                            vg_limit_option(vg_kinds[kind].per_client));
    }
    return 0;
}

void
vg_admission_leave(vg_admission *admission, vg_call *call)
{
    struct vg_client *client = call->client;
    int kind = call->client_kind;

    if (!client)
        return;
    call->client = NULL;
    pthread_mutex_lock(&admission->lock);
    admission->totals[kind]--;
    if (--client->counts[kind] == 0 && client->counts[!kind] == 0) {
        struct vg_client **p = &admission->buckets[vg_admission_hash(client->key)];

        while (*p != client)
            p = &(*p)->next;
        *p = client->next;
        free(client);
    }
    pthread_mutex_unlock(&admission->lock);
}

void
vg_admission_counts(vg_admission *admission, size_t *unary, size_t *streams)
{
    pthread_mutex_lock(&admission->lock);
    *unary = admission->totals[VG_KIND_UNARY];
    *streams = admission->totals[VG_KIND_STREAM];
    pthread_mutex_unlock(&admission->lock);
}

/* --- request content --------------------------------------------------------------- */

/* Fields that carry an XML document, by the API's naming rule. */
static bool
vg_field_carries_xml(const char *name)
{
    size_t length = strlen(name);

    return strcmp(name, "xml") == 0 || strcmp(name, "metadata") == 0 ||
           (length > 4 && strcmp(name + length - 4, "_xml") == 0);
}

static int
vg_admission_check_message(vg_call *call, const ProtobufCMessage *message, size_t max_xml)
{
    const ProtobufCMessageDescriptor *type = message->descriptor;

    for (unsigned i = 0; i < type->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &type->fields[i];
        const char *base = (const char *)message;
        const void *const *values;
        size_t count = 1;

        if (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* Only the member the case names is there. */
            if (*(const uint32_t *)(base + field->quantifier_offset) != field->id)
                continue;
        }
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            count = *(const size_t *)(base + field->quantifier_offset);
            values = *(const void *const *const *)(base + field->offset);
        } else {
            values = (const void *const *)(base + field->offset);
        }
        for (size_t j = 0; j < count; j++) {
            const void *value = values[j];

            if (!value)
                continue;
            if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (vg_admission_check_message(call, value, max_xml) < 0)
                    return -1;
            } else if (vg_field_carries_xml(field->name)) {
                size_t length = strnlen(value, max_xml + 1);

                if (length > max_xml) {
                    return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_LIMIT,
                                        "'%s' of %s is %zu bytes, over the server's limit "
                                        "of %zu bytes of XML (%s)", field->name, type->name,
                                        strlen(value), max_xml,
                                        vg_limit_option(VG_LIMIT_MAX_XML_BYTES));
                }
            }
        }
    }
    return 0;
}

int
vg_admission_check_request(vg_call *call, const ProtobufCMessage *request)
{
    return vg_admission_check_message(call, request, vg_limit(VG_LIMIT_MAX_XML_BYTES));
}
