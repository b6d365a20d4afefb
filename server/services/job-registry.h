/*
 * The server's jobs: long operations run in the background, each the unary handler of
 * an ordinary RPC (SaveDomain, CoreDumpDomain...) executed on a thread of its own with a
 * background call (vg_call_new_background), so a job is checked and behaves exactly as
 * the RPC would. The registry keeps every job (running, then finished for
 * `retention_s`), answers GetJob / ListJobs, streams WatchJob progress and cancels
 * through libvirt.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "server/transport/call.h"
#include "virtgrpc/v1/job.pb-c.h"

#include "server/services/event-hub.h"

/* Once, at start-up, before the loop runs. `max_running`: jobs running at once. */
void vg_jobs_init(vg_event_hub *events, unsigned retention_s, size_t max_running);
/* Changes both at run time (SIGHUP); running jobs beyond a lowered maximum finish. */
void vg_jobs_set_limits(unsigned retention_s, size_t max_running);

/*
 * When a job ends. RETURN: when the operation's handler returns (save, dump,
 * snapshots). BLOCK_EVENT: libvirt's call only starts a block job on the request's
 * `disk`; the BLOCK_JOB / BLOCK_JOB_2 event for that disk ends it. JOB_COMPLETED_EVENT:
 * the call starts a domain job (a backup); the JOB_COMPLETED event ends it.
 */
typedef enum vg_job_completion {
    VG_JOB_ENDS_ON_RETURN,
    VG_JOB_ENDS_ON_BLOCK_EVENT,
    VG_JOB_ENDS_ON_JOB_COMPLETED_EVENT,
} vg_job_completion;

/*
 * Starts `request` (an input message of `method_path`, e.g.
 * "/virtgrpc.v1.DomainService/SaveDomain") as a job of `kind` and fills `out` with it.
 * The request's `domain` reference, if it has one, is resolved now: NOT_FOUND for an
 * unknown domain, ABORTED when a job already runs on it.
 */
int vg_jobs_start(vg_call *call, Virtgrpc__V1__JobKind kind, vg_job_completion completion,
                  const char *method_path, const ProtobufCMessage *request,
                  Virtgrpc__V1__Job *out);

/* The job `id` (NOT_FOUND when unknown or pruned). */
int vg_jobs_get(vg_call *call, const char *id, Virtgrpc__V1__Job *out);

/* Jobs on the domain `domain` names (NULL: all; matched by the UUID or name the job
 * recorded, so jobs of a domain deleted since stay listable; an id is looked up) in the
 * states of `state_mask` (bit 1 << JobState; 0: all), oldest first. */
int vg_jobs_list(vg_call *call, const Virtgrpc__V1__DomainRef *domain, uint32_t state_mask,
                 Virtgrpc__V1__ListJobsResponse *out);

/* Asks libvirt to abort the job's operation (virDomainAbortJob, or for block jobs
 * virDomainBlockJobAbort, with PIVOT when `pivot`); the job ends CANCELLED (COMPLETED
 * after a pivot) once libvirt says so. FAILED_PRECONDITION when it has ended already. */
int vg_jobs_cancel(vg_call *call, const char *id, bool pivot, Virtgrpc__V1__Job *out);

/* WatchJob: streams the job now, on every progress refresh (every `interval_ms`) and
 * when it ends, then ends the stream. Any thread; never blocks. */
int vg_jobs_watch(vg_call *call, const char *id, unsigned interval_ms);
