/*
 * Many threads on one vg_client, for race detectors (ThreadSanitizer, helgrind): each
 * of THREADS threads makes CALLS unary calls (GetDomainInfo), while one more thread
 * keeps opening WatchEvents streams that a canceller thread cancels while they are
 * blocked in vgc_..._each(). Prints the counts; exits 1 on any unexpected failure.
 * Usage: thread-stress TARGET [THREADS [CALLS]]   (defaults 16, 200)
 * See client/stress/BUILD for the ThreadSanitizer command.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <virtgrpc/virtgrpc.h>

static vg_client *client;
static int calls_each;
static atomic_int failures;
static atomic_int calls_done;
static atomic_int streams_cancelled;
static atomic_bool is_stopping;

static void *
caller(void *unused)
{
    (void)unused;
    for (int i = 0; i < calls_each; i++) {
        Virtgrpc__V1__DomainRef ref = VIRTGRPC__V1__DOMAIN_REF__INIT;
        Virtgrpc__V1__GetDomainInfoRequest request =
            VIRTGRPC__V1__GET_DOMAIN_INFO_REQUEST__INIT;
        Virtgrpc__V1__DomainInfo *info = NULL;
        vg_status status = {0};

        ref.ref_case = VIRTGRPC__V1__DOMAIN_REF__REF_NAME;
        ref.name = "test";
        request.domain = &ref;
        if (vgc_domain_service_get_domain_info(client, &request, &info, 10000, &status) <
            0) {
            fprintf(stderr, "GetDomainInfo: %s\n", status.message);
            failures++;
        } else {
            protobuf_c_message_free_unpacked(&info->base, NULL);
            calls_done++;
        }
        vg_status_clear(&status);
    }
    return NULL;
}

/* The stream the canceller may cancel: the lock keeps it from being freed meanwhile
 * (a stream's lifetime is the caller's business; cancelling itself needs no lock). */
struct watch {
    pthread_mutex_t lock;
    vg_client_stream *stream;
    atomic_int messages;
    atomic_bool is_done;
};

static int
on_event(const Virtgrpc__V1__DomainEvent *event, void *user_data)
{
    struct watch *watch = user_data;

    (void)event;
    watch->messages++;
    return 0;
}

static void *
canceller(void *user_data)
{
    struct watch *watch = user_data;
    struct timespec pause = {0, 2 * 1000 * 1000};

    while (!watch->is_done) {
        pthread_mutex_lock(&watch->lock);
        if (watch->stream != NULL && (watch->messages > 0 || is_stopping))
            vg_client_stream_cancel(watch->stream);
        pthread_mutex_unlock(&watch->lock);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void *
watcher(void *user_data)
{
    struct watch *watch = user_data;

    while (!is_stopping) {
        Virtgrpc__V1__WatchEventsRequest request = VIRTGRPC__V1__WATCH_EVENTS_REQUEST__INIT;
        vg_client_stream *stream = NULL;
        vg_status status = {0};

        watch->messages = 0;
        if (vgc_event_service_watch_events_open(client, &request, -1, &stream, &status) <
            0) {
            failures++;
            vg_status_clear(&status);
            continue;
        }
        pthread_mutex_lock(&watch->lock);
        watch->stream = stream;
        pthread_mutex_unlock(&watch->lock);
        if (vgc_event_service_watch_events_each(stream, on_event, watch, &status) == 0 ||
            status.code != VG_CODE_CANCELLED) {
            fprintf(stderr, "WatchEvents ended with %s\n", vg_code_name(status.code));
            failures++;
        } else {
            streams_cancelled++;
        }
        pthread_mutex_lock(&watch->lock);
        watch->stream = NULL;
        pthread_mutex_unlock(&watch->lock);
        vg_client_stream_free(stream);
        vg_status_clear(&status);
    }
    watch->is_done = true;
    return NULL;
}

int
main(int argc, char **argv)
{
    vg_client_options options = {0};
    int threads = argc > 2 ? atoi(argv[2]) : 16;
    pthread_t callers[256], watch_thread, cancel_thread;
    struct watch watch = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, false};
    vg_status status = {0};

    calls_each = argc > 3 ? atoi(argv[3]) : 200;
    if (argc < 2 || threads < 1 || threads > 256 || calls_each < 1) {
        fprintf(stderr, "usage: thread-stress TARGET [THREADS [CALLS]]\n");
        return 2;
    }
    options.target = argv[1];
    if (vg_client_new(&options, &client, &status) < 0) {
        fprintf(stderr, "thread-stress: %s\n", status.message);
        return 1;
    }

    pthread_create(&watch_thread, NULL, watcher, &watch);
    pthread_create(&cancel_thread, NULL, canceller, &watch);
    for (int t = 0; t < threads; t++)
        pthread_create(&callers[t], NULL, caller, NULL);
    for (int t = 0; t < threads; t++)
        pthread_join(callers[t], NULL);
    is_stopping = true; /* the canceller ends the watcher's last stream */
    pthread_join(watch_thread, NULL);
    pthread_join(cancel_thread, NULL);

    printf("threads %d, calls %d ok, streams cancelled %d, failures %d\n", threads,
           calls_done + 0, streams_cancelled + 0, failures + 0);
    vg_client_free(client);
    return failures == 0 && calls_done == threads * calls_each ? 0 : 1;
}
