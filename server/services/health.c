#include "server/services/health.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/transport/call.h"
#include "vg-methods.h"

typedef Grpc__Health__V1__HealthCheckResponse__ServingStatus vg_serving_status;

typedef struct vg_health_watcher {
    struct vg_health_watcher *next;
    vg_call *call;
} vg_health_watcher;

/* `serving` and the watcher list are protected by `lock`. Lock order: health, then the
 * call's own lock inside vg_call_send. */
static struct {
    pthread_mutex_t lock;
    bool serving;
    vg_health_watcher *watchers;
} health = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Services that Check and Watch know: "" (the whole server) and every service in the
 * method table. */
static bool
vg_health_knows(const char *service)
{
    if (!service || !*service)
        return true;
    for (size_t i = 0; i < vg_methods_count; i++) {
        if (strcmp(vg_methods[i].service, service) == 0)
            return true;
    }
    return false;
}

static vg_serving_status
vg_health_status_locked(void)
{
    return health.serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                          : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static void
vg_health_send(vg_call *call, vg_serving_status status)
{
    Grpc__Health__V1__HealthCheckResponse response =
        GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

    response.status = status;
    /* A watcher that lets many updates pile up only loses stale ones. */
    vg_call_send(call, &response.base);
}

void
vg_health_set_serving(bool serving)
{
    pthread_mutex_lock(&health.lock);
    if (health.serving != serving) {
        health.serving = serving;
        for (vg_health_watcher *w = health.watchers; w; w = w->next)
            vg_health_send(w->call, vg_health_status_locked());
    }
    pthread_mutex_unlock(&health.lock);
}

bool
vg_health_is_serving(void)
{
    bool serving;

    pthread_mutex_lock(&health.lock);
    serving = health.serving;
    pthread_mutex_unlock(&health.lock);
    return serving;
}

int
vgh_grpc_health_v1_health_check(vg_call *call,
                                const Grpc__Health__V1__HealthCheckRequest *request,
                                Grpc__Health__V1__HealthCheckResponse *response)
{
    if (!vg_health_knows(request->service)) {
        return vg_call_fail(call, GRPC_STATUS_NOT_FOUND, VG_REASON_INVALID_REQUEST,
                            "unknown service '%s'", request->service);
    }
    pthread_mutex_lock(&health.lock);
    response->status = vg_health_status_locked();
    pthread_mutex_unlock(&health.lock);
    return 0;
}

static void
vg_health_watch_done(vg_call *call, bool cancelled, void *data)
{
    pthread_mutex_lock(&health.lock);
    for (vg_health_watcher **p = &health.watchers; *p; p = &(*p)->next) {
        if ((*p)->call == call) {
            vg_health_watcher *gone = *p;

            *p = gone->next;
            free(gone);
            break;
        }
    }
    pthread_mutex_unlock(&health.lock);
    vg_call_unref(call);
}

int
vgh_grpc_health_v1_health_watch(vg_call *call,
                                const Grpc__Health__V1__HealthCheckRequest *request)
{
    vg_health_watcher *watcher;

    if (!vg_health_knows(request->service)) {
        /* The protocol keeps the stream open for a service that may appear later. */
        vg_health_send(call,
                       GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN);
        return 0;
    }
    watcher = calloc(1, sizeof(*watcher));
    if (!watcher)
        abort();
    watcher->call = vg_call_ref(call);

    pthread_mutex_lock(&health.lock);
    watcher->next = health.watchers;
    health.watchers = watcher;
    vg_health_send(call, vg_health_status_locked());
    pthread_mutex_unlock(&health.lock);

    vg_call_on_done(call, vg_health_watch_done, NULL);
    return 0;
}
