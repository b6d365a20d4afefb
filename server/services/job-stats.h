/*
 * virtgrpc.v1.JobStats from what libvirt reports about a domain job: the typed
 * parameters of virDomainGetJobStats (and of the JOB_COMPLETED event), or the
 * virDomainJobInfo struct. Shared by JobService and the events service.
 */
#pragma once

#include <libvirt/libvirt.h>

#include "server/runtime/arena.h"
#include "virtgrpc/v1/job_stats.pb-c.h"

/*
 * Fills `out` (initialised) from job statistics parameters: each VIR_DOMAIN_JOB_* key
 * into its typed field, keys this build does not know into `out->unknown`. Strings are
 * copied into `arena`. Does not set `type` (libvirt reports it apart from the
 * parameters; see vg_job_stats_set_type). Returns how many parameters went to
 * `unknown`.
 */
int vg_job_stats_fill(vg_arena *arena, const virTypedParameter *params, int n_params,
                      Virtgrpc__V1__JobStats *out);

/* Sets `out->type` from a virDomainJobType constant (left unset for a constant newer
 * than this build). */
void vg_job_stats_set_type(Virtgrpc__V1__JobStats *out, int libvirt_type);

/* Fills `out` from virDomainGetJobInfo's struct: type, time_elapsed, time_remaining
 * (bounded jobs only) and the data_*, memory_*, disk_* totals. */
void vg_job_stats_from_info(const virDomainJobInfo *info, Virtgrpc__V1__JobStats *out);
