/*
 * StatsService: bulk domain statistics (virConnectGetAllDomainStats,
 * virDomainListGetStats), once or sampled on a timer for a stream.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "server/limits.h"
#include "server/runtime/arena.h"
#include "server/services/service.h"
#include "server/typed-params-message.h"
#include "vg-methods.h"

/* WatchDomainStats' longest interval, ms: slower is a poll, not a watch. The shortest
 * is the server's limit min-stats-interval-ms (faster sampling only loads libvirt and
 * the hypervisor). */
#define VG_STATS_INTERVAL_MAX_MS (3600u * 1000u)

/* uuid, name and id: what libvirt's handle knows without asking the daemon. */
static Virtgrpc__V1__Domain *
vg_stats_domain(vg_arena *arena, virDomainPtr domain)
{
    Virtgrpc__V1__Domain *out = vg_arena_alloc(arena, sizeof(*out));
    char uuid[VIR_UUID_STRING_BUFLEN];
    unsigned int id = virDomainGetID(domain);

    virtgrpc__v1__domain__init(out);
    if (virDomainGetUUIDString(domain, uuid) == 0)
        out->uuid = vg_arena_strdup(arena, uuid);
    out->name = vg_arena_strdup(arena, virDomainGetName(domain));
    out->id = id == (unsigned int)-1 ? -1 : (int32_t)id;
    return out;
}

static Virtgrpc__V1__DomainStats *
vg_stats_from_record(vg_arena *arena, const virDomainStatsRecord *record)
{
    const vg_enum_maps_ref enums = {vg_enum_maps, vg_enum_maps_count};
    Virtgrpc__V1__DomainStats *out = vg_arena_alloc(arena, sizeof(*out));

    virtgrpc__v1__domain_stats__init(out);
    out->domain = vg_stats_domain(arena, record->dom);
    /* DomainStats has its `unknown` field, so the mapper cannot refuse it. */
    vg_typed_params_to_message(arena, record->params, record->nparams, &enums, &out->base);
    return out;
}

/*
 * One libvirt call for the statistics of `domains` (NULL-terminated), or of every
 * domain on `conn` that passes `flags`' filters when `domains` is NULL; the result
 * converted into `arena`. Returns 0, or -1 with libvirt's error recorded on `call`.
 */
static int
vg_stats_collect(vg_call *call, virConnectPtr conn, virDomainPtr *domains,
                 unsigned int stats, unsigned int flags, vg_arena *arena,
                 Virtgrpc__V1__DomainStats ***out, size_t *n_out)
{
    virDomainStatsRecordPtr *records = NULL;
    Virtgrpc__V1__DomainStats **list;
    int n;

    n = domains ? virDomainListGetStats(domains, stats, &records, flags)
                : virConnectGetAllDomainStats(conn, stats, &records, flags);
    if (n < 0)
        return vg_call_fail_libvirt(call);
    list = vg_arena_alloc(arena, sizeof(*list) * (n > 0 ? (size_t)n : 1));
    for (int i = 0; i < n; i++)
        list[i] = vg_stats_from_record(arena, records[i]);
    virDomainStatsRecordListFree(records);
    *out = list;
    *n_out = (size_t)n;
    return 0;
}

/*
 * Resolves the request's domain references (handles freed when the call ends), as
 * the NULL-terminated list virDomainListGetStats takes; NULL for none (then the
 * connection to ask is in `*conn`). Returns 0 or -1 with the failure recorded.
 */
static int
vg_stats_resolve(vg_call *call, Virtgrpc__V1__DomainRef *const *refs, size_t n_refs,
                 virDomainPtr **domains, virConnectPtr *conn)
{
    virDomainPtr *list;

    *domains = NULL;
    *conn = NULL;
    if (n_refs == 0)
        return (*conn = vg_service_conn(call)) ? 0 : -1;
    list = vg_call_alloc(call, sizeof(*list) * (n_refs + 1));
    for (size_t i = 0; i < n_refs; i++) {
        if (!(list[i] = vg_domain_lookup(call, refs[i])))
            return -1;
    }
    *domains = list;
    return 0;
}

/* The request's `stats` and `flags` as libvirt bitmasks (both requests have them). */
#define VG_STATS_SELECTION(call, request, stats_out, flags_out)                            \
    vg_stats_selection((call), (const int *)(request)->stats, (request)->n_stats,          \
                       (const int *)(request)->flags, (request)->n_flags, (stats_out),     \
                       (flags_out))

static int
vg_stats_selection(vg_call *call, const int *stats, size_t n_stats, const int *flags,
                   size_t n_flags, unsigned int *stats_out, unsigned int *flags_out)
{
    if (vg_service_flags(call, &vg_enum_stats_type, stats, n_stats, "stats", stats_out) < 0)
        return -1;
    return vg_service_flags(call, &vg_enum_get_all_stats_flag, flags, n_flags, "flags",
                            flags_out);
}

int
vgh_stats_service_get_all_domain_stats(
    vg_call *call, const Virtgrpc__V1__GetAllDomainStatsRequest *request,
    Virtgrpc__V1__GetAllDomainStatsResponse *response)
{
    unsigned int stats = 0;
    unsigned int flags = 0;
    virDomainPtr *domains;
    virConnectPtr conn;

    if (VG_STATS_SELECTION(call, request, &stats, &flags) < 0)
        return -1;
    if (vg_stats_resolve(call, request->domains, request->n_domains, &domains, &conn) < 0)
        return -1;
    return vg_stats_collect(call, conn, domains, stats, flags, vg_call_arena(call),
                            &response->domains, &response->n_domains);
}

/* --- WatchDomainStats ------------------------------------------------------------ */

/*
 * One stream. The handler runs on the transport's thread and must not block, so the
 * timer lives on the loop and every libvirt call runs on the worker pool, one sample
 * at a time (a tick that finds a sample still running is skipped).
 *
 * Ownership: `refs` counts the timer (until it is closed, or until the start finds the
 * watch already stopped), the call's done notice (until it has been handled), and a
 * running sample. It, `timer` and the is_* flags are touched on the loop thread only.
 * The sample's fields (is_resolved, domains, conn, is_over) belong to the one running
 * sample; the loop reads is_over after the sample posts back. `call` is our reference,
 * released with the watch; the request lives in its memory until then.
 */
typedef struct vg_stats_watch {
    vg_call *call;
    const Virtgrpc__V1__WatchDomainStatsRequest *request;
    unsigned int stats;
    unsigned int flags;
    uint64_t interval_ms;

    int refs;
    uv_timer_t timer;
    bool is_timer_started;
    bool is_stopped;
    bool is_sampling;

    bool is_resolved;
    virDomainPtr *domains;
    virConnectPtr conn;
    bool is_over;
} vg_stats_watch;

static void
vg_stats_watch_unref(vg_stats_watch *watch)
{
    if (--watch->refs > 0)
        return;
    vg_call_unref(watch->call);
    free(watch);
}

static void
vg_stats_watch_timer_closed(uv_handle_t *handle)
{
    vg_stats_watch_unref(handle->data);
}

/* Stops sampling for good. Loop thread; idempotent. */
static void
vg_stats_watch_stop(vg_stats_watch *watch)
{
    if (watch->is_stopped)
        return;
    watch->is_stopped = true;
    if (watch->is_timer_started) {
        uv_timer_stop(&watch->timer);
        uv_close((uv_handle_t *)&watch->timer, vg_stats_watch_timer_closed);
    }
}

static void
vg_stats_watch_sample_done(void *data)
{
    vg_stats_watch *watch = data;

    watch->is_sampling = false;
    if (watch->is_over)
        vg_stats_watch_stop(watch);
    vg_stats_watch_unref(watch);
}

static Google__Protobuf__Timestamp *
vg_stats_now(vg_arena *arena)
{
    Google__Protobuf__Timestamp *time = vg_arena_alloc(arena, sizeof(*time));
    struct timespec now;

    google__protobuf__timestamp__init(time);
    clock_gettime(CLOCK_REALTIME, &now);
    time->seconds = now.tv_sec;
    time->nanos = (int32_t)now.tv_nsec;
    return time;
}

/* Takes one sample and sends it; on any failure ends the stream. Worker thread. */
static bool
vg_stats_watch_sample_send(vg_stats_watch *watch, vg_arena *arena)
{
    vg_call *call = watch->call;
    Virtgrpc__V1__DomainStatsSample sample = VIRTGRPC__V1__DOMAIN_STATS_SAMPLE__INIT;

    /* Once, on the first sample: the handles are kept for the stream's lifetime, so a
     * named domain undefined later ends the stream with NOT_FOUND. */
    if (!watch->is_resolved) {
        if (vg_stats_resolve(call, watch->request->domains, watch->request->n_domains,
                             &watch->domains, &watch->conn) < 0)
            return false;
        watch->is_resolved = true;
    }
    sample.time = vg_stats_now(arena);
    if (vg_stats_collect(call, watch->conn, watch->domains, watch->stats, watch->flags,
                         arena, &sample.domains, &sample.n_domains) < 0)
        return false;
    if (vg_call_send(call, &sample.base) < 0) {
        /* Ended by the client (nothing to report), or its queue is full. */
        if (!vg_call_is_cancelled(call)) {
            vg_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT,
                         "the watcher fell behind: %zu samples wait to be sent (the "
                         "server's --max-queued-messages limit); read faster or ask "
                         "for a longer 'interval_ms' than %" PRIu64,
                         vg_call_queued(call), watch->interval_ms);
        }
        return false;
    }
    return true;
}

static void
vg_stats_watch_sample(void *data)
{
    vg_stats_watch *watch = data;
    vg_arena arena;

    vg_arena_init(&arena, NULL, 0);
    watch->is_over = !vg_stats_watch_sample_send(watch, &arena);
    if (watch->is_over)
        vg_call_finish(watch->call);
    /* vg_call_send packed the sample: its memory can go now. */
    vg_arena_release(&arena);
    vg_loop_post(vg_services_loop(), vg_stats_watch_sample_done, watch);
}

static void
vg_stats_watch_tick(uv_timer_t *timer)
{
    vg_stats_watch *watch = timer->data;

    if (watch->is_stopped || watch->is_sampling)
        return;
    watch->is_sampling = true;
    watch->refs++;
    vg_worker_pool_submit(vg_services_pool(), vg_stats_watch_sample, watch);
}

static void
vg_stats_watch_start(void *data)
{
    vg_stats_watch *watch = data;

    if (watch->is_stopped) {
        /* The client left before the timer existed: drop the timer's reference. */
        vg_stats_watch_unref(watch);
        return;
    }
    uv_timer_init(vg_loop_uv(vg_services_loop()), &watch->timer);
    watch->timer.data = watch;
    watch->is_timer_started = true;
    /* The first sample at once, then one per interval. */
    uv_timer_start(&watch->timer, vg_stats_watch_tick, 0, watch->interval_ms);
}

static void
vg_stats_watch_ended(void *data)
{
    vg_stats_watch *watch = data;

    vg_stats_watch_stop(watch);
    vg_stats_watch_unref(watch);
}

/* The call ended (client cancel or our finish): stop on the loop thread. */
static void
vg_stats_watch_done(vg_call *call, bool cancelled, void *data)
{
    (void)call;
    (void)cancelled;
    vg_loop_post(vg_services_loop(), vg_stats_watch_ended, data);
}

int
vgh_stats_service_watch_domain_stats(vg_call *call,
                                     const Virtgrpc__V1__WatchDomainStatsRequest *request)
{
    unsigned int stats = 0;
    unsigned int flags = 0;
    vg_stats_watch *watch;
    size_t min_ms = vg_limit(VG_LIMIT_MIN_STATS_INTERVAL_MS);

    if (request->interval_ms < min_ms || request->interval_ms > VG_STATS_INTERVAL_MAX_MS) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'interval_ms' is %u%s: give %zu to %u ms (1 h); the shortest "
                            "is the server's limit %s", request->interval_ms,
                            request->has_interval_ms ? "" : " (not set)", min_ms,
                            VG_STATS_INTERVAL_MAX_MS,
                            vg_limit_option(VG_LIMIT_MIN_STATS_INTERVAL_MS));
    }
    if (VG_STATS_SELECTION(call, request, &stats, &flags) < 0)
        return -1;

    if (!(watch = calloc(1, sizeof(*watch))))
        abort();
    watch->call = vg_call_ref(call);
    watch->request = request;
    watch->stats = stats;
    watch->flags = flags;
    watch->interval_ms = request->interval_ms;
    watch->refs = 2; /* the timer, the done notice */
    /* Posted before the done notice can be: the loop sees start, then stop. */
    vg_loop_post(vg_services_loop(), vg_stats_watch_start, watch);
    vg_call_on_done(call, vg_stats_watch_done, watch);
    return 0;
}
