#include "server/services/job-registry.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "google/protobuf/any.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "server/limits.h"
#include "server/log.h"
#include "server/runtime/arena.h"
#include "server/services/job-stats.h"
#include "server/services/service.h"
#include "server/transport/authz.h"
#include "vg-methods.h"

/* Finished jobs kept at most, whatever their age: memory stays bounded. */
#define VG_JOBS_MAX_FINISHED 1000
/* The poller's tick: the finest progress interval WatchJob offers. */
#define VG_JOBS_TICK_MS 100
#define VG_JOBS_DEFAULT_INTERVAL_MS 1000

typedef struct vg_job_watcher {
    struct vg_job_watcher *next;
    vg_call *call;
    unsigned interval_ms;
} vg_job_watcher;

typedef struct vg_job {
    struct vg_job *next; /* registry order: oldest first */
    unsigned refs;       /* the registry, the runner thread, a progress poll */
    char id[UUID_STR_LEN];
    char domain_uuid[VIR_UUID_STRING_BUFLEN]; /* "" when the job has no domain */
    char *domain_name;
    Virtgrpc__V1__JobKind kind;
    Virtgrpc__V1__JobState state;
    vg_job_completion completion;
    char *disk; /* block jobs: the request's `disk` */
    /* Event-ended jobs: the handler has returned (libvirt's job is started), and the
     * end an event announced before that, with its message. */
    bool handler_returned;
    Virtgrpc__V1__JobState early_end;
    char early_message[256];
    struct timespec created_at;
    struct timespec ended_at;
    bool cancel_requested;

    /* The operation: the method, and the request unpacked into the runner's memory. */
    const vg_method *method;
    vg_call *runner;
    ProtobufCMessage *request;

    /* Packed messages, so a Job can be built for any reader at any time. */
    uint8_t *progress; /* JobStats */
    size_t progress_len;
    uint8_t *block;    /* BlockJobProgress */
    size_t block_len;
    uint8_t *result;   /* the method's response (Job.result, an Any) */
    size_t result_len;
    uint8_t *error;    /* google.rpc.Status */
    size_t error_len;

    vg_job_watcher *watchers;
    bool polling;
    struct timespec next_poll_at;
} vg_job;

/* Everything in here is protected by `lock`. */
static struct {
    pthread_mutex_t lock;
    vg_job *jobs;
    size_t running;
    size_t max_running;
    unsigned retention_s;
    uv_timer_t poller; /* loop thread */
} registry = { .lock = PTHREAD_MUTEX_INITIALIZER };

static double
vg_seconds_since(const struct timespec *then, const struct timespec *now)
{
    return (double)(now->tv_sec - then->tv_sec) + (double)(now->tv_nsec - then->tv_nsec) / 1e9;
}

static void
vg_job_unref_locked(vg_job *job)
{
    if (--job->refs > 0)
        return;
    vg_call_unref(job->runner);
    free(job->domain_name);
    free(job->disk);
    free(job->block);
    free(job->progress);
    free(job->result);
    free(job->error);
    free(job);
}

/* Not ended: running, or a block job waiting in READY. */
static bool
vg_job_running(const vg_job *job)
{
    return job->state == VIRTGRPC__V1__JOB_STATE__JOB_STATE_RUNNING ||
           job->state == VIRTGRPC__V1__JOB_STATE__JOB_STATE_READY;
}

static const char *
vg_job_state_name(Virtgrpc__V1__JobState state)
{
    switch (state) {
    case VIRTGRPC__V1__JOB_STATE__JOB_STATE_RUNNING:
        return "running";
    case VIRTGRPC__V1__JOB_STATE__JOB_STATE_READY:
        return "ready";
    case VIRTGRPC__V1__JOB_STATE__JOB_STATE_COMPLETED:
        return "completed";
    case VIRTGRPC__V1__JOB_STATE__JOB_STATE_FAILED:
        return "failed";
    case VIRTGRPC__V1__JOB_STATE__JOB_STATE_CANCELLED:
        return "cancelled";
    default:
        return "unknown";
    }
}

/* Drops finished jobs older than the retention, and the oldest finished ones beyond
 * VG_JOBS_MAX_FINISHED. */
static void
vg_jobs_prune_locked(void)
{
    struct timespec now;
    size_t finished = 0;

    clock_gettime(CLOCK_REALTIME, &now);
    for (vg_job *job = registry.jobs; job; job = job->next)
        finished += !vg_job_running(job);
    for (vg_job **p = &registry.jobs; *p;) {
        vg_job *job = *p;

        if (!vg_job_running(job) &&
            (finished > VG_JOBS_MAX_FINISHED ||
             vg_seconds_since(&job->ended_at, &now) > registry.retention_s)) {
            *p = job->next;
            finished--;
            vg_job_unref_locked(job);
        } else {
            p = &job->next;
        }
    }
}

static vg_job *
vg_jobs_find_locked(const char *id)
{
    for (vg_job *job = registry.jobs; job; job = job->next) {
        if (strcmp(job->id, id) == 0)
            return job;
    }
    return NULL;
}

static void
vg_timestamp_set(vg_arena *arena, const struct timespec *when,
                 Google__Protobuf__Timestamp **out)
{
    *out = vg_arena_alloc(arena, sizeof(**out));
    google__protobuf__timestamp__init(*out);
    (*out)->seconds = when->tv_sec;
    (*out)->nanos = (int32_t)when->tv_nsec;
}

static void *
vg_arena_pb_alloc(void *data, size_t size)
{
    return vg_arena_alloc(data, size);
}

static void
vg_arena_pb_free(void *data, void *pointer)
{
    (void)data;
    (void)pointer; /* released with the arena */
}

/* Fills `out` from `job`, in `arena` memory. */
static void
vg_job_to_proto_locked(const vg_job *job, vg_arena *arena, Virtgrpc__V1__Job *out)
{
    ProtobufCAllocator allocator = {
        .alloc = vg_arena_pb_alloc, .free = vg_arena_pb_free, .allocator_data = arena
    };

    out->id = vg_arena_strdup(arena, job->id);
    if (job->domain_uuid[0]) {
        out->domain = vg_arena_alloc(arena, sizeof(*out->domain));
        virtgrpc__v1__domain__init(out->domain);
        out->domain->uuid = vg_arena_strdup(arena, job->domain_uuid);
        out->domain->name = vg_arena_strdup(arena, job->domain_name);
        out->domain->id = -1;
    }
    out->kind = job->kind;
    out->state = job->state;
    vg_timestamp_set(arena, &job->created_at, &out->created_at);
    if (!vg_job_running(job))
        vg_timestamp_set(arena, &job->ended_at, &out->ended_at);
    if (job->progress) {
        out->progress = virtgrpc__v1__job_stats__unpack(&allocator, job->progress_len,
                                                        job->progress);
    }
    if (job->block) {
        out->block = virtgrpc__v1__block_job_progress__unpack(&allocator, job->block_len,
                                                              job->block);
    }
    if (job->result) {
        Google__Protobuf__Any *any = vg_arena_alloc(arena, sizeof(*any));
        char type_url[256];

        google__protobuf__any__init(any);
        snprintf(type_url, sizeof(type_url), "type.googleapis.com/%s",
                 job->method->output->name);
        any->type_url = vg_arena_strdup(arena, type_url);
        any->value.data = job->result;
        any->value.len = job->result_len;
        out->outcome_case = VIRTGRPC__V1__JOB__OUTCOME_RESULT;
        out->result = any;
    } else if (job->error) {
        out->outcome_case = VIRTGRPC__V1__JOB__OUTCOME_ERROR;
        out->error = google__rpc__status__unpack(&allocator, job->error_len, job->error);
    }
}

/* Sends the job as it is now to every watcher; when it has ended, ends their streams. */
static void
vg_job_notify_locked(vg_job *job)
{
    Virtgrpc__V1__Job message = VIRTGRPC__V1__JOB__INIT;
    vg_arena arena;

    if (!job->watchers)
        return;
    vg_arena_init(&arena, NULL, 0);
    vg_job_to_proto_locked(job, &arena, &message);
    for (vg_job_watcher *w = job->watchers; w; w = w->next) {
        if (vg_call_send(w->call, &message.base) < 0) {
            vg_call_fail(w->call, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT,
                         "this watcher fell behind: %zu updates were waiting unread",
                         vg_call_queued(w->call));
            vg_call_finish(w->call);
        } else if (!vg_job_running(job)) {
            vg_call_finish(w->call);
        }
    }
    vg_arena_release(&arena);
}

/* ---- running a job ---- */

/* Ends a job: `state` COMPLETED keeps the result the handler stored, FAILED and
 * CANCELLED pack the failure recorded on the runner call. */
static void
vg_job_end_locked(vg_job *job, Virtgrpc__V1__JobState state)
{
    if (!vg_job_running(job))
        return;
    job->state = state;
    clock_gettime(CLOCK_REALTIME, &job->ended_at);
    if (state != VIRTGRPC__V1__JOB_STATE__JOB_STATE_COMPLETED) {
        free(job->result);
        job->result = NULL;
        job->error = vg_call_failure_pack(job->runner, &job->error_len);
    }
    registry.running--;
    vg_log_info("job %s (%s) ended %s", job->id, job->method->path, vg_job_state_name(state));
    vg_job_notify_locked(job);
}

/* Records why an event ended a job, as the failure a client reads in Job.error. */
static void
vg_job_record_event_end(vg_job *job, Virtgrpc__V1__JobState state, const char *message)
{
    if (state == VIRTGRPC__V1__JOB_STATE__JOB_STATE_FAILED)
        vg_call_fail(job->runner, GRPC_STATUS_ABORTED, VG_REASON_JOB_FAILED, "%s", message);
    else if (state == VIRTGRPC__V1__JOB_STATE__JOB_STATE_CANCELLED)
        vg_call_fail(job->runner, GRPC_STATUS_CANCELLED, VG_REASON_JOB_CANCELLED, "%s",
                     message);
}

static void *
vg_job_run(void *data)
{
    vg_job *job = data;
    const ProtobufCMessageDescriptor *output = job->method->output;
    ProtobufCMessage *response = vg_call_alloc(job->runner, output->sizeof_message);
    vg_call_failure failure;
    int rc;

    output->message_init(response);
    rc = job->method->unary(job->runner, job->request, response);

    pthread_mutex_lock(&registry.lock);
    if (rc < 0 || vg_call_get_failure(job->runner, &failure)) {
        vg_call_get_failure(job->runner, &failure);
        vg_job_end_locked(job, failure.libvirt_code == VIR_ERR_OPERATION_ABORTED ||
                                       job->cancel_requested
                                   ? VIRTGRPC__V1__JOB_STATE__JOB_STATE_CANCELLED
                                   : VIRTGRPC__V1__JOB_STATE__JOB_STATE_FAILED);
    } else {
        job->result_len = protobuf_c_message_get_packed_size(response);
        job->result = malloc(job->result_len ? job->result_len : 1);
        if (!job->result)
            abort();
        protobuf_c_message_pack(response, job->result);
        job->handler_returned = true;
        if (job->completion == VG_JOB_ENDS_ON_RETURN) {
            vg_job_end_locked(job, VIRTGRPC__V1__JOB_STATE__JOB_STATE_COMPLETED);
        } else if (job->early_end) {
            /* libvirt's event came before its call returned. */
            vg_job_record_event_end(job, job->early_end, job->early_message);
            vg_job_end_locked(job, job->early_end);
        }
        /* Otherwise libvirt's job runs on: an event will end ours. */
    }
    vg_job_unref_locked(job);
    pthread_mutex_unlock(&registry.lock);
    return NULL;
}

/* An event says how libvirt's job ended (or that a block job is READY). */
static void
vg_job_event_locked(vg_job *job, Virtgrpc__V1__JobState state, const char *message)
{
    if (state == VIRTGRPC__V1__JOB_STATE__JOB_STATE_READY) {
        if (job->state == VIRTGRPC__V1__JOB_STATE__JOB_STATE_RUNNING) {
            job->state = state;
            vg_job_notify_locked(job);
        }
        return;
    }
    /* libvirt reports an aborted backup as a failed job. */
    if (state == VIRTGRPC__V1__JOB_STATE__JOB_STATE_FAILED && job->cancel_requested)
        state = VIRTGRPC__V1__JOB_STATE__JOB_STATE_CANCELLED;
    if (!job->handler_returned) {
        job->early_end = state;
        snprintf(job->early_message, sizeof(job->early_message), "%s", message);
        return;
    }
    vg_job_record_event_end(job, state, message);
    vg_job_end_locked(job, state);
}

/* Loop thread, every domain event: ends block jobs and backups. */
static void
vg_jobs_on_event(int event_id, const Virtgrpc__V1__DomainEvent *event, void *data)
{
    const char *uuid = event->domain ? event->domain->uuid : "";
    char message[256];

    (void)data;
    if (event_id != VIR_DOMAIN_EVENT_ID_BLOCK_JOB && event_id != VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2 &&
        event_id != VIR_DOMAIN_EVENT_ID_JOB_COMPLETED)
        return;
    pthread_mutex_lock(&registry.lock);
    for (vg_job *job = registry.jobs; job; job = job->next) {
        if (!vg_job_running(job) || strcasecmp(job->domain_uuid, uuid) != 0)
            continue;
        if (job->completion == VG_JOB_ENDS_ON_BLOCK_EVENT &&
            event_id != VIR_DOMAIN_EVENT_ID_JOB_COMPLETED) {
            const Virtgrpc__V1__BlockJobEvent *block =
                event_id == VIR_DOMAIN_EVENT_ID_BLOCK_JOB ? event->block_job : event->block_job_2;

            if (!block || !job->disk || strcmp(block->disk, job->disk) != 0)
                continue;
            switch (block->status) {
            case VIRTGRPC__V1__BLOCK_JOB_STATUS__BLOCK_JOB_STATUS_COMPLETED:
                vg_job_event_locked(job, VIRTGRPC__V1__JOB_STATE__JOB_STATE_COMPLETED, "");
                break;
            case VIRTGRPC__V1__BLOCK_JOB_STATUS__BLOCK_JOB_STATUS_READY:
                vg_job_event_locked(job, VIRTGRPC__V1__JOB_STATE__JOB_STATE_READY, "");
                break;
            case VIRTGRPC__V1__BLOCK_JOB_STATUS__BLOCK_JOB_STATUS_CANCELED:
                snprintf(message, sizeof(message),
                         "the block job on disk '%s' was cancelled", job->disk);
                vg_job_event_locked(job, VIRTGRPC__V1__JOB_STATE__JOB_STATE_CANCELLED, message);
                break;
            default:
                snprintf(message, sizeof(message),
                         "libvirt reports that the block job on disk '%s' failed "
                         "(BLOCK_JOB_2 FAILED; libvirt gives no reason: see libvirtd's log)",
                         job->disk);
                vg_job_event_locked(job, VIRTGRPC__V1__JOB_STATE__JOB_STATE_FAILED, message);
                break;
            }
        } else if (job->completion == VG_JOB_ENDS_ON_JOB_COMPLETED_EVENT &&
                   event_id == VIR_DOMAIN_EVENT_ID_JOB_COMPLETED && event->job_completed &&
                   event->job_completed->stats) {
            const Virtgrpc__V1__JobStats *stats = event->job_completed->stats;
            bool failed = (stats->has_success && !stats->success) || stats->errmsg;
            size_t size = protobuf_c_message_get_packed_size(&stats->base);

            free(job->progress);
            job->progress = malloc(size ? size : 1);
            if (!job->progress)
                abort();
            protobuf_c_message_pack(&stats->base, job->progress);
            job->progress_len = size;
            snprintf(message, sizeof(message), "the job failed: %s",
                     stats->errmsg ? stats->errmsg : "libvirt gives no reason");
            vg_job_event_locked(job,
                                failed ? VIRTGRPC__V1__JOB_STATE__JOB_STATE_FAILED
                                       : VIRTGRPC__V1__JOB_STATE__JOB_STATE_COMPLETED,
                                message);
        }
    }
    pthread_mutex_unlock(&registry.lock);
}

static const vg_method *
vg_method_find(const char *path)
{
    for (size_t i = 0; i < vg_methods_count; i++) {
        if (strcmp(vg_methods[i].path, path) == 0)
            return &vg_methods[i];
    }
    return NULL;
}

/* The request's `domain` field (a DomainRef), directly or inside one of its message
 * fields (SnapshotRef.domain); NULL when it has none. */
static Virtgrpc__V1__DomainRef **
vg_request_domain_field(ProtobufCMessage *request, int depth)
{
    const ProtobufCMessageDescriptor *descriptor = request->descriptor;

    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        ProtobufCMessage **inner;

        if (field->type != PROTOBUF_C_TYPE_MESSAGE || field->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        if (field->descriptor == &virtgrpc__v1__domain_ref__descriptor &&
            strcmp(field->name, "domain") == 0)
            return (Virtgrpc__V1__DomainRef **)((char *)request + field->offset);
        inner = (ProtobufCMessage **)((char *)request + field->offset);
        if (depth > 0 && *inner) {
            Virtgrpc__V1__DomainRef **found = vg_request_domain_field(*inner, depth - 1);

            if (found)
                return found;
        }
    }
    return NULL;
}

/* The request's `disk` string field, or NULL. */
static const char *
vg_request_disk(const ProtobufCMessage *request)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name(request->descriptor, "disk");

    if (!field || field->type != PROTOBUF_C_TYPE_STRING)
        return NULL;
    return *(const char *const *)((const char *)request + field->offset);
}

int
vg_jobs_start(vg_call *call, Virtgrpc__V1__JobKind kind, vg_job_completion completion,
              const char *method_path, const ProtobufCMessage *request,
              Virtgrpc__V1__Job *out)
{
    const vg_method *method = vg_method_find(method_path);
    Virtgrpc__V1__DomainRef **domain_ref;
    virDomainPtr domain = NULL;
    pthread_attr_t attributes;
    pthread_t thread;
    vg_job *job;
    uuid_t uuid;
    size_t size;
    uint8_t *packed;

    if (!method || method->kind != VG_RPC_UNARY || method->input != request->descriptor) {
        return vg_call_fail(call, GRPC_STATUS_INTERNAL, VG_REASON_INTERNAL,
                            "no unary method '%s' for a %s", method_path,
                            request->descriptor->name);
    }
    /* StartJob itself needs only ROLE_OPERATOR: the operation it runs decides. */
    if (vg_call_authorize(call, method) < 0)
        return -1;
    job = calloc(1, sizeof(*job));
    if (!job)
        abort();
    job->kind = kind;
    job->completion = completion;
    job->method = method;
    job->state = VIRTGRPC__V1__JOB_STATE__JOB_STATE_RUNNING;
    clock_gettime(CLOCK_REALTIME, &job->created_at);
    uuid_generate_random(uuid);
    uuid_unparse_lower(uuid, job->id);

    /* The job's own copy of the request, in the memory of the call that will run it. */
    job->runner = vg_call_new_background(method);
    size = protobuf_c_message_get_packed_size(request);
    packed = malloc(size ? size : 1);
    if (!packed)
        abort();
    protobuf_c_message_pack(request, packed);
    job->request = protobuf_c_message_unpack(method->input, vg_call_allocator(job->runner),
                                             size, packed);
    free(packed);

    /* Resolve the domain now, and pin the job to it by UUID. */
    if (completion == VG_JOB_ENDS_ON_BLOCK_EVENT) {
        const char *disk = vg_request_disk(job->request);

        if (!disk || !*disk) {
            vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                         "'disk' is empty: name the disk by target (\"vda\") or source path");
            goto failed;
        }
        job->disk = strdup(disk);
    }
    domain_ref = vg_request_domain_field(job->request, 1);
    if (domain_ref) {
        if (!(domain = vg_domain_lookup(call, *domain_ref)))
            goto failed;
        virDomainGetUUIDString(domain, job->domain_uuid);
        job->domain_name = strdup(virDomainGetName(domain));
        (*domain_ref)->ref_case = VIRTGRPC__V1__DOMAIN_REF__REF_UUID;
        (*domain_ref)->uuid = vg_call_strdup(job->runner, job->domain_uuid);
    }

    pthread_mutex_lock(&registry.lock);
    vg_jobs_prune_locked();
    if (registry.running >= registry.max_running) {
        pthread_mutex_unlock(&registry.lock);
        vg_call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, VG_REASON_LIMIT,
                     "the server runs %zu jobs already (--max-jobs); wait for one to end",
                     registry.max_running);
        goto failed;
    }
    for (vg_job *other = registry.jobs; other && job->domain_uuid[0]; other = other->next) {
        /* libvirt runs one domain job at a time, and one block job per disk. */
        bool conflicts = job->disk && other->disk ? strcmp(job->disk, other->disk) == 0
                                                   : !job->disk && !other->disk;

        if (vg_job_running(other) && conflicts &&
            strcmp(other->domain_uuid, job->domain_uuid) == 0) {
            vg_call_fail(call, GRPC_STATUS_ABORTED, VG_REASON_DOMAIN_BUSY,
                         "domain '%s' already runs job %s (%s); wait for it to end "
                         "(WatchJob) or cancel it (CancelJob)",
                         job->domain_name, other->id, other->method->path);
            pthread_mutex_unlock(&registry.lock);
            goto failed;
        }
    }
    /* Append: ListJobs reports oldest first. */
    vg_job **tail = &registry.jobs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = job;
    job->refs = 2; /* the registry and the runner */
    registry.running++;

    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attributes, vg_job_run, job) != 0)
        abort(); /* no thread for a job: out of resources, as out-of-memory */
    pthread_attr_destroy(&attributes);
    vg_log_info("job %s started: %s on '%s'", job->id, method->path,
                job->domain_name ? job->domain_name : "(new domain)");
    vg_job_to_proto_locked(job, vg_call_arena(call), out);
    pthread_mutex_unlock(&registry.lock);
    return 0;

failed:
    vg_call_unref(job->runner);
    free(job->domain_name);
    free(job->disk);
    free(job);
    return -1;
}

/* ---- reading ---- */

static int
vg_jobs_unknown(vg_call *call, const char *id)
{
    if (!id || !*id) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'id' is empty: give a Job.id");
    }
    return vg_call_fail(call, GRPC_STATUS_NOT_FOUND, VG_REASON_INVALID_REQUEST,
                        "no job '%s' (finished jobs are kept for %u s)", id,
                        registry.retention_s);
}

int
vg_jobs_get(vg_call *call, const char *id, Virtgrpc__V1__Job *out)
{
    vg_job *job;

    pthread_mutex_lock(&registry.lock);
    vg_jobs_prune_locked();
    job = vg_jobs_find_locked(id);
    if (job)
        vg_job_to_proto_locked(job, vg_call_arena(call), out);
    pthread_mutex_unlock(&registry.lock);
    return job ? 0 : vg_jobs_unknown(call, id);
}

int
vg_jobs_list(vg_call *call, const Virtgrpc__V1__DomainRef *domain, uint32_t state_mask,
             Virtgrpc__V1__ListJobsResponse *out)
{
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    const char *name = NULL;
    size_t n = 0;

    if (domain) {
        switch (domain->ref_case) {
        case VIRTGRPC__V1__DOMAIN_REF__REF_UUID:
            snprintf(uuid, sizeof(uuid), "%s", domain->uuid);
            break;
        case VIRTGRPC__V1__DOMAIN_REF__REF_NAME:
            name = domain->name;
            break;
        default: {
            /* A running id means nothing once the domain stops: resolve it now. */
            virDomainPtr found = vg_domain_lookup(call, domain);

            if (!found)
                return -1;
            virDomainGetUUIDString(found, uuid);
        }
        }
    }
    pthread_mutex_lock(&registry.lock);
    vg_jobs_prune_locked();
    for (vg_job *job = registry.jobs; job; job = job->next)
        n++;
    out->jobs = vg_call_alloc(call, sizeof(*out->jobs) * (n + 1));
    for (vg_job *job = registry.jobs; job; job = job->next) {
        Virtgrpc__V1__Job *message;

        if (uuid[0] && strcasecmp(uuid, job->domain_uuid) != 0)
            continue;
        if (name && (!job->domain_name || strcmp(name, job->domain_name) != 0))
            continue;
        if (state_mask && !(state_mask & (1u << job->state)))
            continue;
        message = VG_NEW(call, Virtgrpc__V1__Job, virtgrpc__v1__job__init);
        vg_job_to_proto_locked(job, vg_call_arena(call), message);
        out->jobs[out->n_jobs++] = message;
    }
    pthread_mutex_unlock(&registry.lock);
    return 0;
}

/* ---- cancelling ---- */

int
vg_jobs_cancel(vg_call *call, const char *id, bool pivot, Virtgrpc__V1__Job *out)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    char *disk = NULL;
    Virtgrpc__V1__DomainRef ref = VIRTGRPC__V1__DOMAIN_REF__INIT;
    virDomainPtr domain;
    vg_job *job;

    pthread_mutex_lock(&registry.lock);
    job = vg_jobs_find_locked(id);
    if (!job) {
        pthread_mutex_unlock(&registry.lock);
        return vg_jobs_unknown(call, id);
    }
    if (!vg_job_running(job)) {
        vg_call_fail(call, GRPC_STATUS_FAILED_PRECONDITION, VG_REASON_INVALID_REQUEST,
                     "job %s has ended already (%s)", id, vg_job_state_name(job->state));
        pthread_mutex_unlock(&registry.lock);
        return -1;
    }
    if (!job->domain_uuid[0]) {
        pthread_mutex_unlock(&registry.lock);
        return vg_call_fail(call, GRPC_STATUS_FAILED_PRECONDITION, VG_REASON_INVALID_REQUEST,
                            "job %s has no domain yet (a restore): libvirt cannot abort it",
                            id);
    }
    if (pivot && !job->disk) {
        pthread_mutex_unlock(&registry.lock);
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'pivot' is for block jobs only; job %s is not one", id);
    }
    memcpy(uuid, job->domain_uuid, sizeof(uuid));
    if (job->disk)
        disk = vg_call_strdup(call, job->disk);
    pthread_mutex_unlock(&registry.lock);

    /* The abort is a libvirt call: outside the lock. */
    ref.ref_case = VIRTGRPC__V1__DOMAIN_REF__REF_UUID;
    ref.uuid = uuid;
    if (!(domain = vg_domain_lookup(call, &ref)))
        return -1;
    if (disk ? virDomainBlockJobAbort(domain, disk,
                                      VIR_DOMAIN_BLOCK_JOB_ABORT_ASYNC |
                                          (pivot ? VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT : 0)) < 0
             : virDomainAbortJob(domain) < 0)
        return vg_call_fail_libvirt_about(call, "cancelling job %s", id);

    pthread_mutex_lock(&registry.lock);
    job = vg_jobs_find_locked(id);
    if (job) {
        job->cancel_requested = !pivot;
        vg_job_to_proto_locked(job, vg_call_arena(call), out);
    }
    pthread_mutex_unlock(&registry.lock);
    return job ? 0 : vg_jobs_unknown(call, id);
}

/* ---- watching ---- */

typedef struct vg_job_poll {
    vg_job *job;
    char uuid[VIR_UUID_STRING_BUFLEN];
    char *disk; /* block jobs */
} vg_job_poll;

/* A block job's progress, packed; NULL when libvirt has no job on the disk. */
static uint8_t *
vg_block_progress_pack(virDomainPtr domain, const char *disk, size_t *length)
{
    Virtgrpc__V1__BlockJobProgress progress = VIRTGRPC__V1__BLOCK_JOB_PROGRESS__INIT;
    virDomainBlockJobInfo info;
    uint8_t *packed;

    if (virDomainGetBlockJobInfo(domain, disk, &info,
                                 VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES) != 1)
        return NULL;
    progress.disk = (char *)disk;
    progress.type = vg_enum_from_libvirt(&vg_enum_block_job_type, info.type);
    progress.cursor = info.cur;
    progress.end = info.end;
    progress.bandwidth_bytes_per_s = info.bandwidth;
    *length = protobuf_c_message_get_packed_size(&progress.base);
    packed = malloc(*length ? *length : 1);
    if (!packed)
        abort();
    protobuf_c_message_pack(&progress.base, packed);
    return packed;
}

/* Worker: refreshes one job's progress from libvirt and tells its watchers. */
static void
vg_job_poll_run(void *data)
{
    vg_job_poll *poll = data;
    virConnectPtr conn = vg_libvirt_get(vg_services_libvirt());
    virDomainPtr domain = conn ? virDomainLookupByUUIDString(conn, poll->uuid) : NULL;
    virTypedParameterPtr params = NULL;
    int n_params = 0;
    int type = VIR_DOMAIN_JOB_NONE;
    uint8_t *packed = NULL;
    size_t packed_len = 0;

    if (domain && poll->disk) {
        packed = vg_block_progress_pack(domain, poll->disk, &packed_len);
    } else if (domain && virDomainGetJobStats(domain, &type, &params, &n_params, 0) == 0) {
        Virtgrpc__V1__JobStats stats = VIRTGRPC__V1__JOB_STATS__INIT;
        vg_arena arena;

        vg_arena_init(&arena, NULL, 0);
        vg_job_stats_fill(&arena, params, n_params, &stats);
        vg_job_stats_set_type(&stats, type);
        packed_len = protobuf_c_message_get_packed_size(&stats.base);
        packed = malloc(packed_len ? packed_len : 1);
        if (!packed)
            abort();
        protobuf_c_message_pack(&stats.base, packed);
        vg_arena_release(&arena);
        virTypedParamsFree(params, n_params);
    }
    /* No statistics (the test driver has none, or the job just ended): keep the last. */
    virResetLastError();
    if (domain)
        virDomainFree(domain);
    if (conn)
        virConnectClose(conn);

    pthread_mutex_lock(&registry.lock);
    poll->job->polling = false;
    if (vg_job_running(poll->job) && packed) {
        uint8_t **slot = poll->disk ? &poll->job->block : &poll->job->progress;
        size_t *slot_len = poll->disk ? &poll->job->block_len : &poll->job->progress_len;

        free(*slot);
        *slot = packed;
        *slot_len = packed_len;
        packed = NULL;
        vg_job_notify_locked(poll->job);
    }
    vg_job_unref_locked(poll->job);
    pthread_mutex_unlock(&registry.lock);
    free(packed);
    free(poll->disk);
    free(poll);
}

static void
vg_timespec_add_ms(struct timespec *t, unsigned ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* Loop thread, every VG_JOBS_TICK_MS: polls each watched running job that is due. */
static void
vg_jobs_tick(uv_timer_t *timer)
{
    struct timespec now;

    (void)timer;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&registry.lock);
    for (vg_job *job = registry.jobs; job; job = job->next) {
        unsigned interval = 0;
        vg_job_poll *poll;

        if (!vg_job_running(job) || !job->watchers || job->polling || !job->domain_uuid[0] ||
            vg_seconds_since(&job->next_poll_at, &now) < 0)
            continue;
        for (vg_job_watcher *w = job->watchers; w; w = w->next) {
            if (!interval || w->interval_ms < interval)
                interval = w->interval_ms;
        }
        job->next_poll_at = now;
        vg_timespec_add_ms(&job->next_poll_at, interval);
        poll = calloc(1, sizeof(*poll));
        if (!poll)
            abort();
        poll->job = job;
        memcpy(poll->uuid, job->domain_uuid, sizeof(poll->uuid));
        if (job->disk && !(poll->disk = strdup(job->disk)))
            abort();
        job->refs++;
        job->polling = true;
        vg_worker_pool_submit(vg_services_pool(), vg_job_poll_run, poll);
    }
    pthread_mutex_unlock(&registry.lock);
}

/* Transport thread: a WatchJob call is over. */
static void
vg_job_watch_done(vg_call *call, bool cancelled, void *data)
{
    vg_job_watcher *gone = NULL;

    (void)cancelled;
    (void)data;
    pthread_mutex_lock(&registry.lock);
    for (vg_job *job = registry.jobs; job && !gone; job = job->next) {
        for (vg_job_watcher **p = &job->watchers; *p; p = &(*p)->next) {
            if ((*p)->call == call) {
                gone = *p;
                *p = gone->next;
                break;
            }
        }
    }
    pthread_mutex_unlock(&registry.lock);
    if (gone) {
        vg_call_unref(gone->call);
        free(gone);
    }
}

int
vg_jobs_watch(vg_call *call, const char *id, unsigned interval_ms)
{
    Virtgrpc__V1__Job message = VIRTGRPC__V1__JOB__INIT;
    vg_job_watcher *watcher;
    bool running;
    vg_job *job;
    /* Progress is polled every VG_JOBS_TICK_MS: nothing finer exists. */
    size_t min_ms = vg_limit(VG_LIMIT_MIN_STATS_INTERVAL_MS);
    unsigned default_ms = VG_JOBS_DEFAULT_INTERVAL_MS;

    if (min_ms < VG_JOBS_TICK_MS)
        min_ms = VG_JOBS_TICK_MS;
    if (default_ms < min_ms)
        default_ms = (unsigned)min_ms;
    if (interval_ms == 0)
        interval_ms = default_ms;
    if (interval_ms < min_ms || interval_ms > 3600000) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'interval_ms' is %u: give %zu to 3600000 ms, or 0 for %u; the "
                            "shortest is the server's limit %s", interval_ms, min_ms,
                            default_ms, vg_limit_option(VG_LIMIT_MIN_STATS_INTERVAL_MS));
    }
    pthread_mutex_lock(&registry.lock);
    job = vg_jobs_find_locked(id);
    if (!job) {
        pthread_mutex_unlock(&registry.lock);
        return vg_jobs_unknown(call, id);
    }
    running = vg_job_running(job);
    /* The job as it is now; an ended job ends the stream at once. */
    vg_job_to_proto_locked(job, vg_call_arena(call), &message);
    vg_call_send(call, &message.base);
    if (!running) {
        vg_call_finish(call);
        pthread_mutex_unlock(&registry.lock);
        return 0;
    }
    watcher = calloc(1, sizeof(*watcher));
    if (!watcher)
        abort();
    watcher->call = vg_call_ref(call);
    watcher->interval_ms = interval_ms;
    watcher->next = job->watchers;
    job->watchers = watcher;
    pthread_mutex_unlock(&registry.lock);
    /* After the unlock: it runs at once when the client has gone already. */
    vg_call_on_done(call, vg_job_watch_done, NULL);
    return 0;
}

void
vg_jobs_set_limits(unsigned retention_s, size_t max_running)
{
    pthread_mutex_lock(&registry.lock);
    registry.retention_s = retention_s;
    registry.max_running = max_running;
    pthread_mutex_unlock(&registry.lock);
}

void
vg_jobs_init(vg_event_hub *events, unsigned retention_s, size_t max_running)
{
    vg_event_hub_observe(events, vg_jobs_on_event, NULL);
    vg_jobs_set_limits(retention_s, max_running);
    uv_timer_init(vg_loop_uv(vg_services_loop()), &registry.poller);
    uv_timer_start(&registry.poller, vg_jobs_tick, VG_JOBS_TICK_MS, VG_JOBS_TICK_MS);
    uv_unref((uv_handle_t *)&registry.poller); /* never keeps the loop alive */
}
