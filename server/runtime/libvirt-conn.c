#include "server/runtime/libvirt-conn.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"

/* Back-off between reconnect attempts: doubles from the first to the last value. */
#define VG_RECONNECT_FIRST_MS 250
#define VG_RECONNECT_MAX_MS 10000

typedef struct vg_libvirt_listener {
    struct vg_libvirt_listener *next;
    vg_libvirt_state_cb cb;
    void *data;
} vg_libvirt_listener;

struct vg_libvirt {
    vg_loop *loop;
    vg_worker_pool *pool;
    char *uri;
    int keepalive_interval_s; /* set before the first open */
    unsigned keepalive_count;

    pthread_mutex_t lock;
    virConnectPtr conn; /* protected by lock */

    /* Loop thread only. */
    vg_libvirt_listener *listeners;
    uv_timer_t retry_timer;
    uv_timer_t alive_timer;
    unsigned open_timers; /* handles not yet closed by libuv */
    unsigned retry_ms;
    bool connecting;
    bool stopping;
};

typedef struct vg_libvirt_attempt {
    vg_libvirt *libvirt;
    virConnectPtr conn;
} vg_libvirt_attempt;

static void vg_libvirt_schedule_retry(vg_libvirt *libvirt);
static void vg_libvirt_closed(virConnectPtr conn, int reason, void *opaque);

static void
vg_libvirt_release_conn(void *conn)
{
    virConnectClose(conn);
}

static void
vg_libvirt_notify(vg_libvirt *libvirt, bool connected)
{
    for (vg_libvirt_listener *l = libvirt->listeners; l; l = l->next)
        l->cb(connected, l->data);
}

/* Loop thread: `conn` is dead; drop it (if it is still the current one), tell the
 * listeners and reconnect. */
static void
vg_libvirt_lost(vg_libvirt *libvirt, virConnectPtr conn, const char *why)
{
    bool was_current;

    pthread_mutex_lock(&libvirt->lock);
    was_current = libvirt->conn == conn;
    if (was_current)
        libvirt->conn = NULL;
    pthread_mutex_unlock(&libvirt->lock);

    if (!was_current)
        return;
    vg_log_warn("libvirt connection to '%s' closed (%s); reconnecting", libvirt->uri, why);
    vg_libvirt_notify(libvirt, false);
    /* Drop our reference outside libvirt's callback: it still uses the object. */
    vg_loop_post(libvirt->loop, vg_libvirt_release_conn, conn);
    if (!libvirt->stopping)
        vg_libvirt_schedule_retry(libvirt);
}

/* libvirt calls this from its event loop, i.e. on our loop thread. */
static void
vg_libvirt_closed(virConnectPtr conn, int reason, void *opaque)
{
    static const char *const reasons[] = { "error", "end of file", "keepalive timeout",
                                           "client request" };

    vg_libvirt_lost(opaque, conn, reason >= 0 && reason < 4 ? reasons[reason] : "unknown");
}

/*
 * libvirt's close callback does not always come: when several threads wait on a remote
 * connection and keepalive declares libvirtd dead, libvirt 9.0 fails the call that was
 * polling the socket, leaves the other threads waiting and never calls the callback
 * (measured with a SIGSTOPped libvirtd). virConnectIsAlive does see it, cheaply and
 * without blocking: ask it once a second.
 */
#define VG_ALIVE_CHECK_MS 1000

static void
vg_libvirt_alive_check(uv_timer_t *timer)
{
    vg_libvirt *libvirt = timer->data;
    virConnectPtr conn = vg_libvirt_get(libvirt);

    if (!conn)
        return;
    if (virConnectIsAlive(conn) == 0)
        vg_libvirt_lost(libvirt, conn, "found dead");
    virConnectClose(conn);
}

/* Opens a connection; blocking. Returns NULL with the error logged. */
static virConnectPtr
vg_libvirt_try_open(vg_libvirt *libvirt)
{
    virConnectPtr conn = virConnectOpen(libvirt->uri);

    if (!conn) {
        virErrorPtr error = virGetLastError();

        vg_log_warn("cannot connect to libvirt at '%s': %s", libvirt->uri,
                    error && error->message ? error->message : "unknown error");
        return NULL;
    }
    /* Remote drivers only; the embedded test driver says "not supported". Without it a
     * libvirtd that hangs (stopped, deadlocked) holds every call until TCP gives up. */
    if (virConnectSetKeepAlive(conn, libvirt->keepalive_interval_s,
                               libvirt->keepalive_count) < 0)
        virResetLastError();
    return conn;
}

/* Loop thread: adopt a freshly opened connection. */
static void
vg_libvirt_adopt(vg_libvirt *libvirt, virConnectPtr conn)
{
    if (virConnectRegisterCloseCallback(conn, vg_libvirt_closed, libvirt, NULL) < 0)
        virResetLastError();
    pthread_mutex_lock(&libvirt->lock);
    libvirt->conn = conn;
    pthread_mutex_unlock(&libvirt->lock);
    libvirt->retry_ms = 0;
    vg_log_info("connected to libvirt at '%s'", libvirt->uri);
    vg_libvirt_notify(libvirt, true);
}

static void
vg_libvirt_attempt_done(void *data)
{
    vg_libvirt_attempt *attempt = data;
    vg_libvirt *libvirt = attempt->libvirt;

    libvirt->connecting = false;
    if (libvirt->stopping) {
        if (attempt->conn)
            virConnectClose(attempt->conn);
    } else if (attempt->conn) {
        vg_libvirt_adopt(libvirt, attempt->conn);
    } else {
        vg_libvirt_schedule_retry(libvirt);
    }
    free(attempt);
}

static void
vg_libvirt_attempt_run(void *data)
{
    vg_libvirt_attempt *attempt = data;

    attempt->conn = vg_libvirt_try_open(attempt->libvirt);
    vg_loop_post(attempt->libvirt->loop, vg_libvirt_attempt_done, attempt);
}

static void
vg_libvirt_retry_fire(uv_timer_t *timer)
{
    vg_libvirt *libvirt = timer->data;
    vg_libvirt_attempt *attempt;

    if (libvirt->stopping || libvirt->connecting)
        return;
    attempt = calloc(1, sizeof(*attempt));
    if (!attempt)
        abort();
    attempt->libvirt = libvirt;
    libvirt->connecting = true;
    /* virConnectOpen can block for seconds: never on the loop. */
    vg_worker_pool_submit(libvirt->pool, vg_libvirt_attempt_run, attempt);
}

static void
vg_libvirt_schedule_retry(vg_libvirt *libvirt)
{
    libvirt->retry_ms = libvirt->retry_ms ? libvirt->retry_ms * 2 : VG_RECONNECT_FIRST_MS;
    if (libvirt->retry_ms > VG_RECONNECT_MAX_MS)
        libvirt->retry_ms = VG_RECONNECT_MAX_MS;
    uv_timer_start(&libvirt->retry_timer, vg_libvirt_retry_fire, libvirt->retry_ms, 0);
}

vg_libvirt *
vg_libvirt_new(vg_loop *loop, vg_worker_pool *pool, const char *uri)
{
    vg_libvirt *libvirt = calloc(1, sizeof(*libvirt));

    if (!libvirt)
        abort();
    libvirt->loop = loop;
    libvirt->pool = pool;
    libvirt->uri = strdup(uri);
    libvirt->keepalive_interval_s = VG_LIBVIRT_DEFAULT_KEEPALIVE_INTERVAL_S;
    libvirt->keepalive_count = VG_LIBVIRT_DEFAULT_KEEPALIVE_COUNT;
    pthread_mutex_init(&libvirt->lock, NULL);
    uv_timer_init(vg_loop_uv(loop), &libvirt->retry_timer);
    libvirt->retry_timer.data = libvirt;
    uv_timer_init(vg_loop_uv(loop), &libvirt->alive_timer);
    libvirt->alive_timer.data = libvirt;
    uv_timer_start(&libvirt->alive_timer, vg_libvirt_alive_check, VG_ALIVE_CHECK_MS,
                   VG_ALIVE_CHECK_MS);
    libvirt->open_timers = 2;
    return libvirt;
}

void
vg_libvirt_set_keepalive(vg_libvirt *libvirt, int interval_s, unsigned count)
{
    libvirt->keepalive_interval_s = interval_s;
    libvirt->keepalive_count = count;
}

int
vg_libvirt_open(vg_libvirt *libvirt)
{
    virConnectPtr conn = vg_libvirt_try_open(libvirt);

    if (!conn) {
        vg_libvirt_schedule_retry(libvirt);
        return -1;
    }
    vg_libvirt_adopt(libvirt, conn);
    return 0;
}

virConnectPtr
vg_libvirt_get(vg_libvirt *libvirt)
{
    virConnectPtr conn;

    pthread_mutex_lock(&libvirt->lock);
    conn = libvirt->conn;
    if (conn)
        virConnectRef(conn);
    pthread_mutex_unlock(&libvirt->lock);
    return conn;
}

bool
vg_libvirt_is_connected(vg_libvirt *libvirt)
{
    bool connected;

    pthread_mutex_lock(&libvirt->lock);
    connected = libvirt->conn != NULL;
    pthread_mutex_unlock(&libvirt->lock);
    return connected;
}

const char *
vg_libvirt_uri(const vg_libvirt *libvirt)
{
    return libvirt->uri;
}

void
vg_libvirt_listen(vg_libvirt *libvirt, vg_libvirt_state_cb cb, void *data)
{
    vg_libvirt_listener *listener = calloc(1, sizeof(*listener));

    if (!listener)
        abort();
    listener->cb = cb;
    listener->data = data;
    listener->next = libvirt->listeners;
    libvirt->listeners = listener;
}

/* The struct holds the timers: free it once libuv is done with both handles (in
 * whatever order libuv reports them). */
static void
vg_libvirt_timer_closed(uv_handle_t *handle)
{
    vg_libvirt *libvirt = handle->data;

    if (--libvirt->open_timers > 0)
        return;
    pthread_mutex_destroy(&libvirt->lock);
    free(libvirt->uri);
    free(libvirt);
}

vg_libvirt *
vg_libvirt_free(vg_libvirt *libvirt)
{
    virConnectPtr conn;

    if (!libvirt)
        return NULL;
    libvirt->stopping = true;
    uv_timer_stop(&libvirt->retry_timer);
    uv_timer_stop(&libvirt->alive_timer);

    pthread_mutex_lock(&libvirt->lock);
    conn = libvirt->conn;
    libvirt->conn = NULL;
    pthread_mutex_unlock(&libvirt->lock);
    if (conn) {
        virConnectUnregisterCloseCallback(conn, vg_libvirt_closed);
        virConnectClose(conn);
    }
    while (libvirt->listeners) {
        vg_libvirt_listener *next = libvirt->listeners->next;

        free(libvirt->listeners);
        libvirt->listeners = next;
    }
    uv_close((uv_handle_t *)&libvirt->retry_timer, vg_libvirt_timer_closed);
    uv_close((uv_handle_t *)&libvirt->alive_timer, vg_libvirt_timer_closed);
    return NULL;
}
