#include "server/services/event-hub.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "server/log.h"
#include "server/runtime/arena.h"
#include "server/services/event-sources.h"
#include "server/services/service.h"

/*
 * Events held back for one watcher while its listing is taken. A listing takes a few
 * milliseconds (two libvirt calls), so only an event flood fills this; the watcher is
 * then ended like one whose send queue is full.
 */
#define VG_EVENT_HOLD_MAX 4096

/* A DomainRef copied out of the request: events are matched against it by value. */
typedef struct vg_domain_match {
    Virtgrpc__V1__DomainRef__RefCase kind;
    char *text; /* UUID or name */
    uint32_t id;
} vg_domain_match;

typedef struct vg_held_event {
    struct vg_held_event *next;
    Virtgrpc__V1__DomainEvent *event; /* heap copy, protobuf_c_message_free_unpacked */
} vg_held_event;

typedef struct vg_watcher {
    struct vg_watcher *next;
    vg_call *call; /* our reference, dropped when the call is done */
    uint64_t sequence;
    uint64_t kinds; /* bit 1 << VIR_DOMAIN_EVENT_ID_*; 0: every kind */
    vg_domain_match *domains;
    size_t n_domains;
    bool skip_first_listing;
    bool listed;   /* has had a listing (or skipped its first one) */
    bool waiting;  /* a listing is due; events are held until it is sent */
    unsigned min_listing; /* the oldest listing generation that may serve it */
    vg_held_event *held;
    vg_held_event **held_tail;
    size_t n_held;
    bool ended; /* ended by the hub; freed once the call is done */
} vg_watcher;

/*
 * Everything below is protected by `lock`: libvirt delivers events on the loop thread,
 * watchers come and go on the transport's thread, listings and registrations finish on
 * workers. Lock order: hub, then a call's own lock (inside vg_call_send).
 */
#define VG_EVENT_MAX_OBSERVERS 4

struct vg_event_hub {
    vg_loop *loop;
    vg_worker_pool *pool;
    vg_libvirt *libvirt;

    /* Set at start-up, read-only afterwards: no lock. */
    struct {
        vg_event_observer fn;
        void *data;
    } observers[VG_EVENT_MAX_OBSERVERS];
    size_t n_observers;

    pthread_mutex_t lock;
    pthread_cond_t jobs_done;
    unsigned jobs;          /* worker jobs in flight; vg_event_hub_free waits for them */
    vg_watcher *watchers;
    unsigned epoch;         /* +1 on every connection change; older job results are stale */
    virConnectPtr conn;     /* the connection our callbacks are registered on */
    int *callback_ids;      /* one per vg_event_sources entry; -1: not registered */
    bool registered;
    bool lost_connection;   /* disconnected since the last registration */
    Google__Protobuf__Timestamp disconnected_at;
    unsigned listings_started;
    bool listing_running;
};

static vg_event_hub *vg_the_hub;

typedef struct vg_hub_job {
    vg_event_hub *hub;
    unsigned epoch;
    unsigned generation;
    virConnectPtr conn;
    int *callback_ids;
} vg_hub_job;

static void
vg_timestamp_now(Google__Protobuf__Timestamp *out)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    out->seconds = now.tv_sec;
    out->nanos = (int32_t)now.tv_nsec;
}

/* ---- jobs: libvirt calls that may block run on workers, never under the lock ---- */

static vg_hub_job *
vg_hub_job_new_locked(vg_event_hub *hub)
{
    vg_hub_job *job = calloc(1, sizeof(*job));

    if (!job)
        abort();
    job->hub = hub;
    job->epoch = hub->epoch;
    hub->jobs++;
    return job;
}

static void
vg_hub_job_free_locked(vg_hub_job *job)
{
    vg_event_hub *hub = job->hub;

    if (--hub->jobs == 0)
        pthread_cond_broadcast(&hub->jobs_done);
    free(job->callback_ids);
    free(job);
}

/* Blocking. Removes our callbacks from `conn` (a dead one too: libvirt drops them
 * locally even when telling the daemon fails) and releases it. */
static void
vg_hub_deregister(virConnectPtr conn, int *callback_ids)
{
    for (size_t i = 0; i < vg_event_sources_count; i++) {
        if (callback_ids[i] >= 0 && virConnectDomainEventDeregisterAny(conn, callback_ids[i]) < 0)
            virResetLastError();
    }
    virConnectClose(conn);
}

static void
vg_hub_deregister_run(void *data)
{
    vg_hub_job *job = data;
    vg_event_hub *hub = job->hub;

    vg_hub_deregister(job->conn, job->callback_ids);
    pthread_mutex_lock(&hub->lock);
    vg_hub_job_free_locked(job);
    pthread_mutex_unlock(&hub->lock);
}

/* Hands the hub's registration to a worker for removal. */
static void
vg_hub_drop_registration_locked(vg_event_hub *hub)
{
    vg_hub_job *job;

    hub->registered = false;
    if (!hub->conn)
        return;
    job = vg_hub_job_new_locked(hub);
    job->conn = hub->conn;
    job->callback_ids = hub->callback_ids;
    hub->conn = NULL;
    hub->callback_ids = NULL;
    vg_worker_pool_submit(hub->pool, vg_hub_deregister_run, job);
}

/* ---- sending to one watcher ---- */

/* Ends a watcher from the server's side; it is freed when its call is done. */
static void
vg_watcher_end_locked(vg_watcher *watcher, grpc_status_code code, const char *reason,
                      const char *message)
{
    if (watcher->ended)
        return;
    watcher->ended = true;
    vg_call_fail(watcher->call, code, reason, "%s", message);
    vg_call_finish(watcher->call);
}

static void
vg_watcher_send_locked(vg_watcher *watcher, Virtgrpc__V1__DomainEvent *event)
{
    char message[200];

    if (watcher->ended)
        return;
    event->sequence = ++watcher->sequence;
    if (vg_call_send(watcher->call, &event->base) == 0)
        return;
    /* The call ended (then this status is ignored) or its queue is full. */
    snprintf(message, sizeof(message),
             "this watcher fell behind: %zu messages were waiting unread; watch again "
             "and start from the listing",
             vg_call_queued(watcher->call));
    vg_watcher_end_locked(watcher, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT, message);
}

static void
vg_watcher_drop_held(vg_watcher *watcher)
{
    while (watcher->held) {
        vg_held_event *next = watcher->held->next;

        protobuf_c_message_free_unpacked(&watcher->held->event->base, NULL);
        free(watcher->held);
        watcher->held = next;
    }
    watcher->held_tail = &watcher->held;
    watcher->n_held = 0;
}

/* Keeps a copy of `event` until the watcher's listing has been sent. */
static void
vg_watcher_hold_locked(vg_watcher *watcher, const Virtgrpc__V1__DomainEvent *event)
{
    vg_held_event *held;
    size_t size;
    uint8_t *packed;

    if (watcher->ended)
        return;
    if (watcher->n_held >= VG_EVENT_HOLD_MAX) {
        vg_watcher_drop_held(watcher);
        vg_watcher_end_locked(watcher, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT,
                              "more events arrived while the listing was taken than the "
                              "server holds for one watcher; watch again");
        return;
    }
    /* A deep copy by round trip: the event's strings belong to libvirt's callback. */
    size = protobuf_c_message_get_packed_size(&event->base);
    packed = malloc(size ? size : 1);
    held = malloc(sizeof(*held));
    if (!packed || !held)
        abort();
    protobuf_c_message_pack(&event->base, packed);
    held->event = (Virtgrpc__V1__DomainEvent *)protobuf_c_message_unpack(
        &virtgrpc__v1__domain_event__descriptor, NULL, size, packed);
    free(packed);
    if (!held->event)
        abort(); /* only on out-of-memory: we packed it ourselves */
    held->next = NULL;
    *watcher->held_tail = held;
    watcher->held_tail = &held->next;
    watcher->n_held++;
}

static void
vg_watcher_flush_held_locked(vg_watcher *watcher)
{
    for (vg_held_event *held = watcher->held; held; held = held->next)
        vg_watcher_send_locked(watcher, held->event);
    vg_watcher_drop_held(watcher);
}

/* ---- filters ---- */

static bool
vg_watcher_wants_domain(const vg_watcher *watcher, const char *uuid, const char *name,
                        int32_t id)
{
    if (watcher->n_domains == 0)
        return true;
    for (size_t i = 0; i < watcher->n_domains; i++) {
        const vg_domain_match *match = &watcher->domains[i];

        switch (match->kind) {
        case VIRTGRPC__V1__DOMAIN_REF__REF_UUID:
            if (strcasecmp(match->text, uuid) == 0)
                return true;
            break;
        case VIRTGRPC__V1__DOMAIN_REF__REF_NAME:
            if (strcmp(match->text, name) == 0)
                return true;
            break;
        case VIRTGRPC__V1__DOMAIN_REF__REF_ID:
            if (id >= 0 && match->id == (uint32_t)id)
                return true;
            break;
        default:
            break;
        }
    }
    return false;
}

static bool
vg_watcher_wants_kind(const vg_watcher *watcher, int event_id)
{
    return watcher->kinds == 0 || (event_id >= 0 && event_id < 64 &&
                                   (watcher->kinds & (UINT64_C(1) << event_id)));
}

/* ---- listings ---- */

static void vg_hub_listing_run(void *data);

/* Starts a listing if a watcher waits for one and none is running. */
static void
vg_hub_start_listing_locked(vg_event_hub *hub)
{
    vg_hub_job *job;
    bool someone_waits = false;

    if (!hub->registered || hub->listing_running)
        return;
    for (vg_watcher *w = hub->watchers; w && !someone_waits; w = w->next)
        someone_waits = w->waiting && !w->ended;
    if (!someone_waits)
        return;
    hub->listing_running = true;
    job = vg_hub_job_new_locked(hub);
    job->generation = ++hub->listings_started;
    vg_worker_pool_submit(hub->pool, vg_hub_listing_run, job);
}

static void
vg_watcher_send_listing_locked(vg_watcher *watcher, Virtgrpc__V1__Domain **domains,
                               size_t n_domains, vg_arena *arena)
{
    Virtgrpc__V1__DomainEvent event = VIRTGRPC__V1__DOMAIN_EVENT__INIT;
    Virtgrpc__V1__CurrentDomains listing = VIRTGRPC__V1__CURRENT_DOMAINS__INIT;
    Google__Protobuf__Timestamp now = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

    listing.domains = vg_arena_alloc(arena, sizeof(*listing.domains) * (n_domains + 1));
    for (size_t i = 0; i < n_domains; i++) {
        if (vg_watcher_wants_domain(watcher, domains[i]->uuid, domains[i]->name,
                                    domains[i]->id))
            listing.domains[listing.n_domains++] = domains[i];
    }
    vg_timestamp_now(&now);
    event.time = &now;
    event.event_case = VIRTGRPC__V1__DOMAIN_EVENT__EVENT_CURRENT_DOMAINS;
    event.current_domains = &listing;
    vg_watcher_send_locked(watcher, &event);
}

static void
vg_hub_listing_run(void *data)
{
    vg_hub_job *job = data;
    vg_event_hub *hub = job->hub;
    virConnectPtr conn = vg_libvirt_get(hub->libvirt);
    Virtgrpc__V1__Domain **domains = NULL;
    size_t n_domains = 0;
    char error[512] = "";
    vg_arena arena;
    int rc = -1;

    vg_arena_init(&arena, NULL, 0);
    if (!conn) {
        snprintf(error, sizeof(error), "not connected to libvirt");
    } else {
        rc = vg_domain_list(&arena, conn, 0, &domains, &n_domains);
        if (rc < 0) {
            virErrorPtr last = virGetLastError();

            snprintf(error, sizeof(error), "cannot list domains: %s",
                     last && last->message ? last->message : "unknown libvirt error");
            virResetLastError();
        }
        virConnectClose(conn);
    }

    pthread_mutex_lock(&hub->lock);
    hub->listing_running = false;
    if (job->epoch == hub->epoch) {
        for (vg_watcher *w = hub->watchers; w; w = w->next) {
            if (!w->waiting || w->ended || w->min_listing > job->generation)
                continue;
            if (rc < 0) {
                /* Connected, yet libvirt cannot list: say so rather than hang. */
                vg_watcher_drop_held(w);
                vg_watcher_end_locked(w, GRPC_STATUS_UNAVAILABLE, VG_REASON_UNAVAILABLE,
                                      error);
                continue;
            }
            if (!(w->skip_first_listing && !w->listed))
                vg_watcher_send_listing_locked(w, domains, n_domains, &arena);
            w->listed = true;
            w->waiting = false;
            vg_watcher_flush_held_locked(w);
        }
    }
    /* Watchers that came while this listing ran need a newer one. */
    vg_hub_start_listing_locked(hub);
    vg_hub_job_free_locked(job);
    pthread_mutex_unlock(&hub->lock);
    vg_arena_release(&arena);
}

/* ---- registration ---- */

static void
vg_hub_register_run(void *data)
{
    vg_hub_job *job = data;
    vg_event_hub *hub = job->hub;
    virConnectPtr conn = vg_libvirt_get(hub->libvirt);

    if (conn) {
        job->callback_ids = malloc(sizeof(int) * vg_event_sources_count);
        if (!job->callback_ids)
            abort();
        for (size_t i = 0; i < vg_event_sources_count; i++) {
            job->callback_ids[i] = virConnectDomainEventRegisterAny(
                conn, NULL, vg_event_sources[i].id, vg_event_sources[i].callback, hub, NULL);
            if (job->callback_ids[i] < 0) {
                virErrorPtr error = virGetLastError();

                /* An older libvirt (or driver) without this event ID: the others work. */
                vg_log_warn("libvirt does not deliver event %d: %s", vg_event_sources[i].id,
                            error && error->message ? error->message : "unknown error");
                virResetLastError();
            }
        }
    }

    pthread_mutex_lock(&hub->lock);
    if (conn && job->epoch == hub->epoch) {
        hub->conn = conn;
        hub->callback_ids = job->callback_ids;
        job->callback_ids = NULL;
        hub->registered = true;
        vg_hub_start_listing_locked(hub);
    } else if (conn) {
        /* The connection changed while we registered: undo on this one. */
        vg_hub_job *undo = vg_hub_job_new_locked(hub);

        undo->conn = conn;
        undo->callback_ids = job->callback_ids;
        job->callback_ids = NULL;
        vg_worker_pool_submit(hub->pool, vg_hub_deregister_run, undo);
    }
    vg_hub_job_free_locked(job);
    pthread_mutex_unlock(&hub->lock);
}

/* Loop thread: libvirt-conn's listener. */
static void
vg_hub_connection_changed(bool connected, void *data)
{
    vg_event_hub *hub = data;
    vg_hub_job *job;

    pthread_mutex_lock(&hub->lock);
    hub->epoch++;
    if (!connected) {
        vg_hub_drop_registration_locked(hub);
        hub->lost_connection = true;
        vg_timestamp_now(&hub->disconnected_at);
        pthread_mutex_unlock(&hub->lock);
        return;
    }
    /* Every watcher needs a fresh listing; those that had one learn why first. */
    for (vg_watcher *w = hub->watchers; w; w = w->next) {
        if (w->ended)
            continue;
        if (w->listed && hub->lost_connection) {
            Virtgrpc__V1__DomainEvent event = VIRTGRPC__V1__DOMAIN_EVENT__INIT;
            Virtgrpc__V1__Resync resync = VIRTGRPC__V1__RESYNC__INIT;
            Google__Protobuf__Timestamp now = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

            vg_timestamp_now(&now);
            resync.disconnected_at = &hub->disconnected_at;
            resync.uri = (char *)vg_libvirt_uri(hub->libvirt);
            event.time = &now;
            event.event_case = VIRTGRPC__V1__DOMAIN_EVENT__EVENT_RESYNC;
            event.resync = &resync;
            vg_watcher_send_locked(w, &event);
        }
        w->waiting = true;
        w->min_listing = hub->listings_started + 1;
    }
    hub->lost_connection = false;
    vg_hub_drop_registration_locked(hub);
    job = vg_hub_job_new_locked(hub);
    /* Registering is a round trip per event ID on a remote libvirtd: not on the loop. */
    vg_worker_pool_submit(hub->pool, vg_hub_register_run, job);
    pthread_mutex_unlock(&hub->lock);
}

/* ---- publishing ---- */

void
vg_event_hub_publish(vg_event_hub *hub, virDomainPtr domain, int event_id,
                     Virtgrpc__V1__DomainEvent *event)
{
    Virtgrpc__V1__Domain about = VIRTGRPC__V1__DOMAIN__INIT;
    Google__Protobuf__Timestamp now = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    unsigned int id;

    /* All three are cached in the handle libvirt made for this event: no round trip. */
    if (virDomainGetUUIDString(domain, uuid) < 0)
        virResetLastError();
    about.uuid = uuid;
    about.name = (char *)(virDomainGetName(domain) ? virDomainGetName(domain) : "");
    id = virDomainGetID(domain);
    about.id = id == (unsigned int)-1 ? -1 : (int32_t)id;
    vg_timestamp_now(&now);
    event->domain = &about;
    event->time = &now;

    for (size_t i = 0; i < hub->n_observers; i++)
        hub->observers[i].fn(event_id, event, hub->observers[i].data);

    pthread_mutex_lock(&hub->lock);
    for (vg_watcher *w = hub->watchers; w; w = w->next) {
        if (w->ended || !vg_watcher_wants_kind(w, event_id) ||
            !vg_watcher_wants_domain(w, about.uuid, about.name, about.id))
            continue;
        if (w->waiting)
            vg_watcher_hold_locked(w, event);
        else
            vg_watcher_send_locked(w, event);
    }
    pthread_mutex_unlock(&hub->lock);
}

/* ---- watchers ---- */

static void
vg_watcher_free(vg_watcher *watcher)
{
    vg_watcher_drop_held(watcher);
    for (size_t i = 0; i < watcher->n_domains; i++)
        free(watcher->domains[i].text);
    free(watcher->domains);
    vg_call_unref(watcher->call);
    free(watcher);
}

/* Transport thread: the call is over (client cancel, deadline, or our finish). */
static void
vg_watcher_done(vg_call *call, bool cancelled, void *data)
{
    vg_event_hub *hub = data;
    vg_watcher *gone = NULL;

    (void)cancelled;
    pthread_mutex_lock(&hub->lock);
    for (vg_watcher **p = &hub->watchers; *p; p = &(*p)->next) {
        if ((*p)->call == call) {
            gone = *p;
            *p = gone->next;
            break;
        }
    }
    pthread_mutex_unlock(&hub->lock);
    if (gone)
        vg_watcher_free(gone);
}

void
vg_event_hub_watch(vg_event_hub *hub, vg_call *call,
                   Virtgrpc__V1__DomainRef *const *domains, size_t n_domains,
                   uint64_t event_id_mask, bool skip_current_domains)
{
    vg_watcher *watcher = calloc(1, sizeof(*watcher));

    if (!watcher || (n_domains && !(watcher->domains = calloc(n_domains,
                                                              sizeof(*watcher->domains)))))
        abort();
    watcher->call = vg_call_ref(call);
    watcher->kinds = event_id_mask;
    watcher->skip_first_listing = skip_current_domains;
    watcher->held_tail = &watcher->held;
    for (size_t i = 0; i < n_domains; i++) {
        vg_domain_match *match = &watcher->domains[i];

        match->kind = domains[i]->ref_case;
        if (match->kind == VIRTGRPC__V1__DOMAIN_REF__REF_UUID)
            match->text = strdup(domains[i]->uuid);
        else if (match->kind == VIRTGRPC__V1__DOMAIN_REF__REF_NAME)
            match->text = strdup(domains[i]->name);
        else
            match->id = domains[i]->id;
        if ((match->kind == VIRTGRPC__V1__DOMAIN_REF__REF_UUID ||
             match->kind == VIRTGRPC__V1__DOMAIN_REF__REF_NAME) && !match->text)
            abort();
    }
    watcher->n_domains = n_domains;

    pthread_mutex_lock(&hub->lock);
    if (skip_current_domains && hub->registered) {
        watcher->listed = true; /* live at once */
    } else {
        watcher->waiting = true;
        watcher->min_listing = hub->listings_started + 1;
    }
    watcher->next = hub->watchers;
    hub->watchers = watcher;
    vg_hub_start_listing_locked(hub);
    pthread_mutex_unlock(&hub->lock);

    /* Last: it runs vg_watcher_done at once if the client is already gone. */
    vg_call_on_done(call, vg_watcher_done, hub);
}

/* ---- the hub ---- */

vg_event_hub *
vg_event_hub_init(vg_loop *loop, vg_worker_pool *pool, vg_libvirt *libvirt)
{
    vg_event_hub *hub = calloc(1, sizeof(*hub));

    if (!hub)
        abort();
    hub->loop = loop;
    hub->pool = pool;
    hub->libvirt = libvirt;
    pthread_mutex_init(&hub->lock, NULL);
    pthread_cond_init(&hub->jobs_done, NULL);
    google__protobuf__timestamp__init(&hub->disconnected_at);
    vg_libvirt_listen(libvirt, vg_hub_connection_changed, hub);
    vg_the_hub = hub;
    return hub;
}

void
vg_event_hub_observe(vg_event_hub *hub, vg_event_observer observer, void *data)
{
    if (hub->n_observers == VG_EVENT_MAX_OBSERVERS)
        abort(); /* a programming error: raise the constant */
    hub->observers[hub->n_observers].fn = observer;
    hub->observers[hub->n_observers].data = data;
    hub->n_observers++;
}

vg_event_hub *
vg_event_hub_get(void)
{
    return vg_the_hub;
}

vg_event_hub *
vg_event_hub_free(vg_event_hub *hub)
{
    if (!hub)
        return NULL;
    pthread_mutex_lock(&hub->lock);
    hub->epoch++; /* results of jobs still running are dropped */
    while (hub->jobs > 0)
        pthread_cond_wait(&hub->jobs_done, &hub->lock);
    pthread_mutex_unlock(&hub->lock);
    if (hub->conn)
        vg_hub_deregister(hub->conn, hub->callback_ids);
    free(hub->callback_ids);
    /* The server is gone, so every call is done and every watcher freed. */
    while (hub->watchers) {
        vg_watcher *next = hub->watchers->next;

        vg_watcher_free(hub->watchers);
        hub->watchers = next;
    }
    pthread_cond_destroy(&hub->jobs_done);
    pthread_mutex_destroy(&hub->lock);
    if (vg_the_hub == hub)
        vg_the_hub = NULL;
    free(hub);
    return NULL;
}
