/*
 * libvirt's event loop implementation (virEventRegisterImpl) on our libuv loop.
 *
 * libvirt needs an event loop for keepalive and disconnect detection on remote
 * connections, for domain events and for streams. It calls the add / update / remove
 * functions from any thread (workers making libvirt calls, its own callbacks), while
 * libuv handles may only be touched on the loop thread. So every function here only
 * updates a record under `registry.lock` and posts a "sync" of that record to the loop;
 * the loop thread makes libuv match the records. Callbacks always run on the loop thread,
 * and free callbacks (`ff`) only after the handle is closed there, so an opaque pointer
 * stays valid while its callback runs.
 *
 * libuv allows one uv_poll per file descriptor while libvirt may watch one fd twice, so
 * watches are grouped per fd and the fd's poll listens for the union of their events.
 * Timers with a period of 0 ("fire on every iteration") use a uv_idle handle: a uv_timer
 * of 0 restarted from its own callback would spin inside one iteration.
 */
#include "server/runtime/libvirt-event-loop.h"

#include <libvirt/libvirt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct vg_fd_poll vg_fd_poll;

typedef struct vg_watch {
    struct vg_watch *next;        /* registry list */
    struct vg_watch *next_on_fd;  /* poll->watches list (loop thread only) */
    int id;
    int fd;
    int events;                   /* VIR_EVENT_HANDLE_* wanted */
    virEventHandleCallback cb;
    void *opaque;
    virFreeCallback ff;
    bool removed;
    int pending_syncs;            /* posted vg_watch_sync calls not yet run */
    bool attached;                /* in a vg_fd_poll (loop thread only) */
} vg_watch;

struct vg_fd_poll {
    vg_fd_poll *next;
    int fd;
    uv_poll_t poll;
    vg_watch *watches;
    bool closing;
};

typedef struct vg_timeout {
    struct vg_timeout *next;
    int id;
    int period_ms;                /* -1 disabled, 0 every iteration, > 0 period */
    virEventTimeoutCallback cb;
    void *opaque;
    virFreeCallback ff;
    bool removed;
    int pending_syncs;            /* posted vg_timeout_sync calls not yet run */
    bool handles_ready;           /* uv handles initialised (loop thread only) */
    int open_handles;             /* handles not yet closed (loop thread only) */
    uv_timer_t timer;
    uv_idle_t idle;
} vg_timeout;

static struct {
    pthread_mutex_t lock;
    vg_loop *loop;
    int next_id;
    vg_watch *watches;
    vg_timeout *timeouts;
    vg_fd_poll *polls;            /* loop thread only */
} registry = { .lock = PTHREAD_MUTEX_INITIALIZER, .next_id = 1 };

static void vg_watch_sync(void *data);
static void vg_timeout_sync(void *data);

/* Queues a sync of `w` on the loop. Called with registry.lock held. */
static void
vg_watch_post_locked(vg_watch *w)
{
    w->pending_syncs++;
    vg_loop_post(registry.loop, vg_watch_sync, w);
}

static void
vg_timeout_post_locked(vg_timeout *t)
{
    t->pending_syncs++;
    vg_loop_post(registry.loop, vg_timeout_sync, t);
}

/* --- file descriptors --------------------------------------------------------- */

static int
vg_to_uv_events(int events)
{
    int uv_events = 0;

    if (events & VIR_EVENT_HANDLE_READABLE)
        uv_events |= UV_READABLE;
    if (events & VIR_EVENT_HANDLE_WRITABLE)
        uv_events |= UV_WRITABLE;
    return uv_events;
}

static vg_watch *
vg_watch_find(int id)
{
    for (vg_watch *w = registry.watches; w; w = w->next) {
        if (w->id == id)
            return w;
    }
    return NULL;
}

static void
vg_poll_closed(uv_handle_t *handle)
{
    free(handle->data);
}

static void
vg_poll_fire(uv_poll_t *handle, int status, int uv_events)
{
    vg_fd_poll *poll = handle->data;
    int fired = 0;

    if (status < 0)
        fired = VIR_EVENT_HANDLE_ERROR | VIR_EVENT_HANDLE_HANGUP;
    if (uv_events & UV_READABLE)
        fired |= VIR_EVENT_HANDLE_READABLE;
    if (uv_events & UV_WRITABLE)
        fired |= VIR_EVENT_HANDLE_WRITABLE;
    if (uv_events & UV_DISCONNECT)
        fired |= VIR_EVENT_HANDLE_HANGUP;

    /* A callback may remove or update watches on this fd, even this one: take each
     * watch's current state under the lock right before calling it. The list itself
     * only changes on this thread, in vg_watch_sync, which cannot run meanwhile. */
    for (vg_watch *w = poll->watches; w; w = w->next_on_fd) {
        virEventHandleCallback cb = NULL;
        void *opaque = NULL;
        int events;

        pthread_mutex_lock(&registry.lock);
        events = fired & (w->events | VIR_EVENT_HANDLE_ERROR | VIR_EVENT_HANDLE_HANGUP);
        if (!w->removed && events) {
            cb = w->cb;
            opaque = w->opaque;
        }
        pthread_mutex_unlock(&registry.lock);

        if (cb)
            cb(w->id, w->fd, events, opaque);
    }
}

static vg_fd_poll *
vg_fd_poll_get(int fd)
{
    vg_fd_poll *poll;

    for (poll = registry.polls; poll; poll = poll->next) {
        if (poll->fd == fd && !poll->closing)
            return poll;
    }
    poll = calloc(1, sizeof(*poll));
    if (!poll)
        abort();
    poll->fd = fd;
    if (uv_poll_init(vg_loop_uv(registry.loop), &poll->poll, fd) < 0) {
        free(poll);
        return NULL;
    }
    poll->poll.data = poll;
    poll->next = registry.polls;
    registry.polls = poll;
    return poll;
}

static void
vg_fd_poll_drop(vg_fd_poll *poll)
{
    for (vg_fd_poll **p = &registry.polls; *p; p = &(*p)->next) {
        if (*p == poll) {
            *p = poll->next;
            break;
        }
    }
    poll->closing = true;
    uv_close((uv_handle_t *)&poll->poll, vg_poll_closed);
}

/* Recomputes one fd's poll from its watches; releases removed watches. Loop thread. */
static void
vg_fd_poll_refresh(vg_fd_poll *poll)
{
    int uv_events = 0;
    vg_watch **link = &poll->watches;

    while (*link) {
        vg_watch *w = *link;
        bool removed;

        pthread_mutex_lock(&registry.lock);
        removed = w->removed;
        if (!removed)
            uv_events |= vg_to_uv_events(w->events);
        /* A sync still queued for this watch will come back here and free it. */
        removed = removed && w->pending_syncs == 0;
        pthread_mutex_unlock(&registry.lock);

        if (removed) {
            *link = w->next_on_fd;
            w->attached = false;
            if (w->ff)
                w->ff(w->opaque);
            free(w);
        } else {
            link = &w->next_on_fd;
        }
    }

    if (!poll->watches) {
        vg_fd_poll_drop(poll);
    } else if (uv_events) {
        uv_poll_start(&poll->poll, uv_events | UV_DISCONNECT, vg_poll_fire);
    } else {
        uv_poll_stop(&poll->poll);
    }
}

static void
vg_watch_sync(void *data)
{
    vg_watch *w = data;
    vg_fd_poll *poll;
    bool removed;
    bool last;

    pthread_mutex_lock(&registry.lock);
    w->pending_syncs--;
    removed = w->removed;
    last = w->pending_syncs == 0;
    pthread_mutex_unlock(&registry.lock);

    if (!w->attached) {
        if (removed) {
            if (!last)
                return; /* the last queued sync frees it */
            /* Removed before it was ever attached. */
            if (w->ff)
                w->ff(w->opaque);
            free(w);
            return;
        }
        poll = vg_fd_poll_get(w->fd);
        if (!poll) {
            /* Not pollable (libvirt only watches sockets and pipes, so the fd was
             * closed already): the watch never fires and is freed on removal. */
            return;
        }
        w->attached = true;
        w->next_on_fd = poll->watches;
        poll->watches = w;
    } else {
        for (poll = registry.polls; poll; poll = poll->next) {
            if (poll->fd == w->fd && !poll->closing)
                break;
        }
        if (!poll)
            return;
    }
    vg_fd_poll_refresh(poll);
}

static int
vg_add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
              virFreeCallback ff)
{
    vg_watch *w = calloc(1, sizeof(*w));
    int id;

    if (!w)
        return -1;
    w->fd = fd;
    w->events = events;
    w->cb = cb;
    w->opaque = opaque;
    w->ff = ff;

    pthread_mutex_lock(&registry.lock);
    id = w->id = registry.next_id++;
    w->next = registry.watches;
    registry.watches = w;
    vg_watch_post_locked(w);
    pthread_mutex_unlock(&registry.lock);
    return id;
}

static void
vg_update_handle(int id, int events)
{
    vg_watch *w;

    pthread_mutex_lock(&registry.lock);
    w = vg_watch_find(id);
    if (w && !w->removed) {
        w->events = events;
        vg_watch_post_locked(w);
    }
    pthread_mutex_unlock(&registry.lock);
}

static int
vg_remove_handle(int id)
{
    vg_watch *w;

    pthread_mutex_lock(&registry.lock);
    w = vg_watch_find(id);
    if (w && !w->removed) {
        w->removed = true;
        /* Unlink from the registry now: the id is dead for libvirt. */
        for (vg_watch **p = &registry.watches; *p; p = &(*p)->next) {
            if (*p == w) {
                *p = w->next;
                break;
            }
        }
        vg_watch_post_locked(w);
    } else {
        w = NULL;
    }
    pthread_mutex_unlock(&registry.lock);
    return w ? 0 : -1;
}

/* --- timeouts ----------------------------------------------------------------- */

static vg_timeout *
vg_timeout_find(int id)
{
    for (vg_timeout *t = registry.timeouts; t; t = t->next) {
        if (t->id == id)
            return t;
    }
    return NULL;
}

static void
vg_timeout_fire(vg_timeout *t)
{
    virEventTimeoutCallback cb = NULL;
    void *opaque = NULL;

    pthread_mutex_lock(&registry.lock);
    if (!t->removed && t->period_ms >= 0) {
        cb = t->cb;
        opaque = t->opaque;
    }
    pthread_mutex_unlock(&registry.lock);

    if (cb)
        cb(t->id, opaque);
}

static void
vg_timeout_timer_cb(uv_timer_t *handle)
{
    vg_timeout_fire(handle->data);
}

static void
vg_timeout_idle_cb(uv_idle_t *handle)
{
    vg_timeout_fire(handle->data);
}

static void
vg_timeout_handle_closed(uv_handle_t *handle)
{
    vg_timeout *t = handle->data;

    if (--t->open_handles == 0) {
        if (t->ff)
            t->ff(t->opaque);
        free(t);
    }
}

static void
vg_timeout_sync(void *data)
{
    vg_timeout *t = data;
    bool removed;
    bool last;
    int period;

    pthread_mutex_lock(&registry.lock);
    t->pending_syncs--;
    removed = t->removed;
    last = t->pending_syncs == 0;
    period = t->period_ms;
    pthread_mutex_unlock(&registry.lock);

    if (removed && !last)
        return; /* the last queued sync releases it */
    if (!t->handles_ready) {
        if (removed) {
            if (t->ff)
                t->ff(t->opaque);
            free(t);
            return;
        }
        uv_timer_init(vg_loop_uv(registry.loop), &t->timer);
        uv_idle_init(vg_loop_uv(registry.loop), &t->idle);
        t->timer.data = t->idle.data = t;
        t->handles_ready = true;
        t->open_handles = 2;
    }
    if (uv_is_closing((uv_handle_t *)&t->timer))
        return; /* a removal was already applied */

    if (removed) {
        uv_close((uv_handle_t *)&t->timer, vg_timeout_handle_closed);
        uv_close((uv_handle_t *)&t->idle, vg_timeout_handle_closed);
        return;
    }
    uv_timer_stop(&t->timer);
    uv_idle_stop(&t->idle);
    if (period == 0)
        uv_idle_start(&t->idle, vg_timeout_idle_cb);
    else if (period > 0)
        uv_timer_start(&t->timer, vg_timeout_timer_cb, period, period);
}

static int
vg_add_timeout(int period_ms, virEventTimeoutCallback cb, void *opaque,
               virFreeCallback ff)
{
    vg_timeout *t = calloc(1, sizeof(*t));
    int id;

    if (!t)
        return -1;
    t->period_ms = period_ms;
    t->cb = cb;
    t->opaque = opaque;
    t->ff = ff;

    pthread_mutex_lock(&registry.lock);
    id = t->id = registry.next_id++;
    t->next = registry.timeouts;
    registry.timeouts = t;
    vg_timeout_post_locked(t);
    pthread_mutex_unlock(&registry.lock);
    return id;
}

static void
vg_update_timeout(int id, int period_ms)
{
    vg_timeout *t;

    pthread_mutex_lock(&registry.lock);
    t = vg_timeout_find(id);
    if (t && !t->removed) {
        t->period_ms = period_ms;
        vg_timeout_post_locked(t);
    }
    pthread_mutex_unlock(&registry.lock);
}

static int
vg_remove_timeout(int id)
{
    vg_timeout *t;

    pthread_mutex_lock(&registry.lock);
    t = vg_timeout_find(id);
    if (t && !t->removed) {
        t->removed = true;
        for (vg_timeout **p = &registry.timeouts; *p; p = &(*p)->next) {
            if (*p == t) {
                *p = t->next;
                break;
            }
        }
        vg_timeout_post_locked(t);
    } else {
        t = NULL;
    }
    pthread_mutex_unlock(&registry.lock);
    return t ? 0 : -1;
}

int
vg_libvirt_event_loop_register(vg_loop *loop)
{
    pthread_mutex_lock(&registry.lock);
    if (registry.loop) {
        pthread_mutex_unlock(&registry.lock);
        return -1; /* libvirt takes one implementation per process */
    }
    registry.loop = loop;
    pthread_mutex_unlock(&registry.lock);

    virEventRegisterImpl(vg_add_handle, vg_update_handle, vg_remove_handle,
                         vg_add_timeout, vg_update_timeout, vg_remove_timeout);
    return 0;
}
