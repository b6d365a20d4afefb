/* JobService: long operations as Jobs (StartJob... over job-registry.c), and a domain's
 * background job as libvirt reports it (virDomainGetJobInfo, virDomainGetJobStats,
 * virDomainAbortJob*). */
#include <stdlib.h>
#include <string.h>

#include "server/services/domain-params.h"
#include "server/services/job-registry.h"
#include "server/services/job-stats.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* The response's domain and an empty JobStats to fill. */
static Virtgrpc__V1__JobStats *
vg_job_response_init(vg_call *call, virDomainPtr domain,
                     Virtgrpc__V1__DomainJobStats *response)
{
    response->domain = VG_NEW(call, Virtgrpc__V1__Domain, virtgrpc__v1__domain__init);
    if (vg_domain_fill(call, domain, response->domain) < 0)
        return NULL;
    response->stats = VG_NEW(call, Virtgrpc__V1__JobStats, virtgrpc__v1__job_stats__init);
    return response->stats;
}

int
vgh_job_service_get_domain_job_info(vg_call *call,
                                    const Virtgrpc__V1__GetDomainJobInfoRequest *request,
                                    Virtgrpc__V1__DomainJobStats *response)
{
    virDomainJobInfo info = {0};
    Virtgrpc__V1__JobStats *stats;
    virDomainPtr domain;

    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainGetJobInfo(domain, &info) < 0)
        return vg_call_fail_libvirt(call);
    if (!(stats = vg_job_response_init(call, domain, response)))
        return -1;
    vg_job_stats_from_info(&info, stats);
    return 0;
}

int
vgh_job_service_get_domain_job_stats(vg_call *call,
                                     const Virtgrpc__V1__GetDomainJobStatsRequest *request,
                                     Virtgrpc__V1__DomainJobStats *response)
{
    virTypedParameterPtr params = NULL;
    Virtgrpc__V1__JobStats *stats;
    virDomainPtr domain;
    unsigned int flags = 0;
    int n_params = 0;
    int type;

    if (VG_FLAGS(call, vg_enum_job_stats_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainGetJobStats(domain, &type, &params, &n_params, flags) < 0)
        return vg_call_fail_libvirt(call);
    vg_domain_params_own(call, params, n_params, false);
    if (!(stats = vg_job_response_init(call, domain, response)))
        return -1;
    vg_job_stats_set_type(stats, type);
    vg_job_stats_fill(vg_call_arena(call), params, n_params, stats);
    return 0;
}

int
vgh_job_service_abort_domain_job(vg_call *call,
                                 const Virtgrpc__V1__AbortDomainJobRequest *request,
                                 Virtgrpc__V1__AbortDomainJobResponse *response)
{
    virDomainPtr domain;
    unsigned int flags = 0;
    int rc;

    (void)response;
    if (VG_FLAGS(call, vg_enum_abort_job_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    /* The plain call without flags: it also works with libvirt daemons older than
     * virDomainAbortJobFlags (8.5). */
    rc = flags ? virDomainAbortJobFlags(domain, flags) : virDomainAbortJob(domain);
    if (rc < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

/* ---- the Job model: long operations in the background (job-registry.c) ---- */

/* StartJobRequest.operation: which RPC runs the job, by oneof case. */
#define VG_OP(CASE, KIND, ENDS, METHOD)                                                \
    { VIRTGRPC__V1__START_JOB_REQUEST__OPERATION_##CASE,                                 \
      VIRTGRPC__V1__JOB_KIND__JOB_KIND_##KIND, VG_JOB_ENDS_ON_##ENDS, METHOD }

static const struct {
    Virtgrpc__V1__StartJobRequest__OperationCase operation;
    Virtgrpc__V1__JobKind kind;
    vg_job_completion completion;
    const char *method;
} vg_job_operations[] = {
    VG_OP(SAVE, SAVE, RETURN, "/virtgrpc.v1.DomainService/SaveDomain"),
    VG_OP(MANAGED_SAVE, MANAGED_SAVE, RETURN, "/virtgrpc.v1.DomainService/ManagedSaveDomain"),
    VG_OP(RESTORE, RESTORE, RETURN, "/virtgrpc.v1.DomainService/RestoreDomain"),
    VG_OP(CORE_DUMP, CORE_DUMP, RETURN, "/virtgrpc.v1.DomainService/CoreDumpDomain"),
    VG_OP(CREATE_SNAPSHOT, SNAPSHOT_CREATE, RETURN,
          "/virtgrpc.v1.SnapshotService/CreateDomainSnapshot"),
    VG_OP(REVERT_SNAPSHOT, SNAPSHOT_REVERT, RETURN,
          "/virtgrpc.v1.SnapshotService/RevertDomainSnapshot"),
    VG_OP(DELETE_SNAPSHOT, SNAPSHOT_DELETE, RETURN,
          "/virtgrpc.v1.SnapshotService/DeleteDomainSnapshot"),
    VG_OP(BLOCK_PULL, BLOCK_PULL, BLOCK_EVENT, "/virtgrpc.v1.BlockJobService/BlockPull"),
    VG_OP(BLOCK_REBASE, BLOCK_REBASE, BLOCK_EVENT, "/virtgrpc.v1.BlockJobService/BlockRebase"),
    VG_OP(BLOCK_COPY, BLOCK_COPY, BLOCK_EVENT, "/virtgrpc.v1.BlockJobService/BlockCopy"),
    VG_OP(BLOCK_COMMIT, BLOCK_COMMIT, BLOCK_EVENT, "/virtgrpc.v1.BlockJobService/BlockCommit"),
    VG_OP(BACKUP, BACKUP, JOB_COMPLETED_EVENT,
          "/virtgrpc.v1.CheckpointService/BeginDomainBackup"),
    VG_OP(MIGRATE, MIGRATION, RETURN, "/virtgrpc.v1.MigrationService/MigrateDomain"),
};

int
vgh_job_service_start_job(vg_call *call, const Virtgrpc__V1__StartJobRequest *request,
                          Virtgrpc__V1__Job *response)
{
    for (size_t i = 0; i < sizeof(vg_job_operations) / sizeof(vg_job_operations[0]); i++) {
        const ProtobufCFieldDescriptor *field;

        if (vg_job_operations[i].operation != request->operation_case)
            continue;
        /* Every member of the oneof is a message pointer at the same offset. */
        field = protobuf_c_message_descriptor_get_field(request->base.descriptor,
                                                        (unsigned)request->operation_case);
        return vg_jobs_start(call, vg_job_operations[i].kind, vg_job_operations[i].completion,
                             vg_job_operations[i].method,
                             *(const ProtobufCMessage **)((const char *)request + field->offset),
                             response);
    }
    return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                        "'operation' is not set: give the request of the operation to run, "
                        "e.g. {\"save\": {...}}");
}

int
vgh_job_service_get_job(vg_call *call, const Virtgrpc__V1__GetJobRequest *request,
                        Virtgrpc__V1__Job *response)
{
    return vg_jobs_get(call, request->id, response);
}

int
vgh_job_service_list_jobs(vg_call *call, const Virtgrpc__V1__ListJobsRequest *request,
                          Virtgrpc__V1__ListJobsResponse *response)
{
    uint32_t states = 0;

    for (size_t i = 0; i < request->n_states; i++) {
        int state = request->states[i];

        if (state <= VIRTGRPC__V1__JOB_STATE__JOB_STATE_UNSPECIFIED ||
            state > VIRTGRPC__V1__JOB_STATE__JOB_STATE_CANCELLED) {
            return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                                "field 'states' has value %d, which is not a "
                                "virtgrpc.v1.JobState",
                                state);
        }
        states |= 1u << state;
    }
    return vg_jobs_list(call, request->domain, states, response);
}

int
vgh_job_service_watch_job(vg_call *call, const Virtgrpc__V1__WatchJobRequest *request)
{
    return vg_jobs_watch(call, request->id, request->interval_ms);
}

int
vgh_job_service_cancel_job(vg_call *call, const Virtgrpc__V1__CancelJobRequest *request,
                           Virtgrpc__V1__Job *response)
{
    return vg_jobs_cancel(call, request->id, request->pivot, response);
}
