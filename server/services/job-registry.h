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

/* Once, at start-up. `max_running`: jobs running at once (each holds a thread). */
void vg_jobs_init(unsigned retention_s, size_t max_running);

/*
 * Starts `request` (an input message of `method_path`, e.g.
 * "/virtgrpc.v1.DomainService/SaveDomain") as a job of `kind` and fills `out` with it.
 * The request's `domain` reference, if it has one, is resolved now: NOT_FOUND for an
 * unknown domain, ABORTED when a job already runs on it.
 */
int vg_jobs_start(vg_call *call, Virtgrpc__V1__JobKind kind, const char *method_path,
                  const ProtobufCMessage *request, Virtgrpc__V1__Job *out);

/* The job `id` (NOT_FOUND when unknown or pruned). */
int vg_jobs_get(vg_call *call, const char *id, Virtgrpc__V1__Job *out);

/* Jobs on the domain `domain` names (NULL: all; matched by the UUID or name the job
 * recorded, so jobs of a domain deleted since stay listable; an id is looked up) in the
 * states of `state_mask` (bit 1 << JobState; 0: all), oldest first. */
int vg_jobs_list(vg_call *call, const Virtgrpc__V1__DomainRef *domain, uint32_t state_mask,
                 Virtgrpc__V1__ListJobsResponse *out);

/* Asks libvirt to abort the job's operation; the job ends CANCELLED once the operation
 * returns. FAILED_PRECONDITION when the job has ended already. */
int vg_jobs_cancel(vg_call *call, const char *id, Virtgrpc__V1__Job *out);

/* WatchJob: streams the job now, on every progress refresh (every `interval_ms`) and
 * when it ends, then ends the stream. Any thread; never blocks. */
int vg_jobs_watch(vg_call *call, const char *id, unsigned interval_ms);
