#include "server/services/domain-cache.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Buckets of the hash table, and the most entries kept: past it the cache starts over
 * (two entries per domain: a host with thousands of domains still fits). */
#define VG_DOMAIN_CACHE_BUCKETS 1024
#define VG_DOMAIN_CACHE_MAX_ENTRIES 8192

typedef struct vg_cached_domain {
    struct vg_cached_domain *next;
    bool by_name;
    char uuid[VIR_UUID_STRING_BUFLEN];
    virDomainPtr domain; /* our reference */
    int state;           /* read last; -1: unknown */
    int reason;
    char key[];          /* the name, or the UUID text */
} vg_cached_domain;

/* Everything below is protected by `lock`. */
static struct {
    pthread_mutex_t lock;
    vg_cached_domain *buckets[VG_DOMAIN_CACHE_BUCKETS];
    size_t n_entries;
    uint64_t epoch; /* counts forgets */
} vg_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static vg_cached_domain **
vg_cache_bucket(bool by_name, const char *key)
{
    uint32_t hash = by_name ? 2166136261u : 16777619u; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        hash = (hash ^ *p) * 16777619u;
    return &vg_cache.buckets[hash % VG_DOMAIN_CACHE_BUCKETS];
}

/* Unlinks and returns the entries matching `uuid` (every one when NULL). */
static vg_cached_domain *
vg_cache_take_locked(const char *uuid)
{
    vg_cached_domain *taken = NULL;

    vg_cache.epoch++;
    for (size_t i = 0; i < VG_DOMAIN_CACHE_BUCKETS; i++) {
        vg_cached_domain **p = &vg_cache.buckets[i];

        while (*p) {
            vg_cached_domain *entry = *p;

            if (!uuid || strcmp(entry->uuid, uuid) == 0) {
                *p = entry->next;
                entry->next = taken;
                taken = entry;
                vg_cache.n_entries--;
            } else {
                p = &entry->next;
            }
        }
    }
    return taken;
}

/* virDomainFree outside the lock: on a remote connection it may take libvirt's locks. */
static void
vg_cache_release(vg_cached_domain *entries)
{
    while (entries) {
        vg_cached_domain *next = entries->next;

        virDomainFree(entries->domain);
        free(entries);
        entries = next;
    }
}

static void
vg_cache_forget_all(void)
{
    vg_cached_domain *taken;

    pthread_mutex_lock(&vg_cache.lock);
    taken = vg_cache_take_locked(NULL);
    pthread_mutex_unlock(&vg_cache.lock);
    vg_cache_release(taken);
}

void
vg_domain_cache_forget(const char *uuid)
{
    vg_cached_domain *taken;

    pthread_mutex_lock(&vg_cache.lock);
    taken = vg_cache_take_locked(uuid);
    pthread_mutex_unlock(&vg_cache.lock);
    vg_cache_release(taken);
}

virDomainPtr
vg_domain_cache_get(virConnectPtr conn, bool by_name, const char *key, int *state,
                    int *reason)
{
    virDomainPtr found = NULL;

    *state = -1;
    *reason = -1;
    pthread_mutex_lock(&vg_cache.lock);
    for (vg_cached_domain *entry = *vg_cache_bucket(by_name, key); entry;
         entry = entry->next) {
        if (entry->by_name == by_name && strcmp(entry->key, key) == 0) {
            /* A handle of an older connection is useless (and is about to go). */
            if (virDomainGetConnect(entry->domain) == conn && virDomainRef(entry->domain) == 0) {
                found = entry->domain;
                *state = entry->state;
                *reason = entry->reason;
            }
            break;
        }
    }
    pthread_mutex_unlock(&vg_cache.lock);
    return found;
}

/* Replaces the entry for (by_name, key) with `domain`. Returns the old one, or NULL. */
static vg_cached_domain *
vg_cache_put_locked(bool by_name, const char *key, const char *uuid, virDomainPtr domain)
{
    vg_cached_domain **bucket = vg_cache_bucket(by_name, key);
    size_t key_size = strlen(key) + 1;
    vg_cached_domain *entry = malloc(sizeof(*entry) + key_size);
    vg_cached_domain *old = NULL;

    if (!entry)
        abort();
    for (vg_cached_domain **p = bucket; *p; p = &(*p)->next) {
        if ((*p)->by_name == by_name && strcmp((*p)->key, key) == 0) {
            old = *p;
            *p = old->next;
            old->next = NULL;
            vg_cache.n_entries--;
            break;
        }
    }
    entry->by_name = by_name;
    memcpy(entry->uuid, uuid, sizeof(entry->uuid));
    virDomainRef(domain);
    entry->domain = domain;
    entry->state = -1;
    entry->reason = -1;
    memcpy(entry->key, key, key_size);
    entry->next = *bucket;
    *bucket = entry;
    vg_cache.n_entries++;
    return old;
}

uint64_t
vg_domain_cache_epoch(void)
{
    uint64_t epoch;

    pthread_mutex_lock(&vg_cache.lock);
    epoch = vg_cache.epoch;
    pthread_mutex_unlock(&vg_cache.lock);
    return epoch;
}

void
vg_domain_cache_put(virDomainPtr domain, uint64_t epoch)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    const char *name = virDomainGetName(domain);
    vg_cached_domain *old[2];
    vg_cached_domain *overflow = NULL;

    /* Both are cached in the handle: no round trip. */
    if (!name || virDomainGetUUIDString(domain, uuid) < 0) {
        virResetLastError();
        return;
    }
    pthread_mutex_lock(&vg_cache.lock);
    if (vg_cache.epoch != epoch) {
        /* Something was forgotten since the handle was made: it may be what changed. */
        pthread_mutex_unlock(&vg_cache.lock);
        return;
    }
    if (vg_cache.n_entries + 2 > VG_DOMAIN_CACHE_MAX_ENTRIES)
        overflow = vg_cache_take_locked(NULL);
    old[0] = vg_cache_put_locked(true, name, uuid, domain);
    old[1] = vg_cache_put_locked(false, uuid, uuid, domain);
    pthread_mutex_unlock(&vg_cache.lock);
    vg_cache_release(old[0]);
    vg_cache_release(old[1]);
    vg_cache_release(overflow);
}

void
vg_domain_cache_set_state(virDomainPtr domain, int state, int reason)
{
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (virDomainGetUUIDString(domain, uuid) < 0) {
        virResetLastError();
        return;
    }
    pthread_mutex_lock(&vg_cache.lock);
    for (size_t i = 0; i < 2; i++) {
        bool by_name = i == 0;
        const char *key = by_name ? virDomainGetName(domain) : uuid;

        for (vg_cached_domain *entry = *vg_cache_bucket(by_name, key); entry;
             entry = entry->next) {
            /* Only the same handle: a newer one may already stand for a newer state. */
            if (entry->by_name == by_name && entry->domain == domain &&
                strcmp(entry->key, key) == 0) {
                entry->state = state;
                entry->reason = reason;
                break;
            }
        }
    }
    pthread_mutex_unlock(&vg_cache.lock);
}

bool
vg_domain_cache_stale(virDomainPtr domain)
{
    virErrorPtr error = virGetLastError();
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (!error || error->code != VIR_ERR_NO_DOMAIN)
        return false;
    if (virDomainGetUUIDString(domain, uuid) == 0)
        vg_domain_cache_forget(uuid);
    virResetLastError();
    return true;
}

/* Loop thread, for every event before watchers get it. */
static void
vg_domain_cache_on_event(int event_id, const Virtgrpc__V1__DomainEvent *event, void *data)
{
    (void)data;
    if (event_id == VIR_DOMAIN_EVENT_ID_LIFECYCLE && event->domain && event->domain->uuid)
        vg_domain_cache_forget(event->domain->uuid);
}

/* Loop thread: handles belong to one connection; a new one starts empty. */
static void
vg_domain_cache_connection_changed(bool connected, void *data)
{
    (void)connected;
    (void)data;
    vg_cache_forget_all();
}

void
vg_domain_cache_init(vg_event_hub *hub, vg_libvirt *libvirt)
{
    vg_event_hub_observe(hub, vg_domain_cache_on_event, NULL);
    vg_libvirt_listen(libvirt, vg_domain_cache_connection_changed, NULL);
}
