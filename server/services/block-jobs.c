/*
 * BlockJobService: block pull, rebase, copy and commit of a running domain's disk, and
 * following, throttling and ending the disk's block job (virDomainBlock*,
 * virDomainGetBlockJobInfo, virDomainBlockJobSetSpeed, virDomainBlockJobAbort).
 *
 * Bandwidths are bytes per second everywhere: every call that takes one gets libvirt's
 * *_BANDWIDTH_BYTES flag, so a client never has to know libvirt's MiB/s default.
 */
#include <stdbool.h>
#include <stdint.h>

#include "server/services/domain-params.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* QEMU keeps bandwidths and buffer sizes as int64_t: larger values would wrap. */
#define VG_BLOCK_BYTES_MAX ((uint64_t)INT64_MAX)
/* The copy granularities QEMU's mirror accepts (it also wants a power of two). */
#define VG_BLOCK_GRANULARITY_MIN 512u
#define VG_BLOCK_GRANULARITY_MAX (64u * 1024 * 1024)

/* INVALID_ARGUMENT for a byte count (a bandwidth, a buffer size) above
 * VG_BLOCK_BYTES_MAX. */
static int
vg_block_bytes_check(vg_call *call, const char *field, uint64_t value)
{
    if (value > VG_BLOCK_BYTES_MAX) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' is %llu, more than the maximum %llu", field,
                            (unsigned long long)value,
                            (unsigned long long)VG_BLOCK_BYTES_MAX);
    }
    return 0;
}

/*
 * What every handler does before its libvirt call, in this order: checks the request's
 * bandwidth (0 for calls without one) and its disk, then resolves the domain. NULL with
 * the failure recorded.
 */
static virDomainPtr
vg_block_job_domain(vg_call *call, const Virtgrpc__V1__DomainRef *ref, const char *disk,
                    uint64_t bandwidth_bytes_per_s)
{
    if (vg_block_bytes_check(call, "bandwidth_bytes_per_s", bandwidth_bytes_per_s) < 0)
        return NULL;
    if (!disk || !*disk) {
        vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                     "'disk' is empty: give the disk's target (e.g. 'vda') or source path");
        return NULL;
    }
    return vg_domain_lookup(call, ref);
}

/* An optional image name: libvirt takes NULL, not "", for "none given". */
static const char *
vg_block_optional(const char *image)
{
    return image && *image ? image : NULL;
}

int
vgh_block_job_service_block_pull(vg_call *call,
                                 const Virtgrpc__V1__BlockPullRequest *request,
                                 Virtgrpc__V1__BlockPullResponse *response)
{
    virDomainPtr domain;

    (void)response;
    if (!(domain = vg_block_job_domain(call, request->domain, request->disk,
                                       request->bandwidth_bytes_per_s)))
        return -1;
    if (virDomainBlockPull(domain, request->disk, request->bandwidth_bytes_per_s,
                           VIR_DOMAIN_BLOCK_PULL_BANDWIDTH_BYTES) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_block_job_service_block_rebase(vg_call *call,
                                   const Virtgrpc__V1__BlockRebaseRequest *request,
                                   Virtgrpc__V1__BlockRebaseResponse *response)
{
    unsigned int flags = VIR_DOMAIN_BLOCK_REBASE_BANDWIDTH_BYTES;
    virDomainPtr domain;

    (void)response;
    if (VG_FLAGS(call, vg_enum_block_rebase_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_block_job_domain(call, request->domain, request->disk,
                                       request->bandwidth_bytes_per_s)))
        return -1;
    if (virDomainBlockRebase(domain, request->disk, vg_block_optional(request->base_image),
                             request->bandwidth_bytes_per_s, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

/* INVALID_ARGUMENT unless `granularity` is 0 (the default) or what QEMU's mirror takes:
 * libvirt itself only checks for a power of two. */
static int
vg_block_granularity_check(vg_call *call, uint32_t granularity)
{
    bool is_power_of_two = (granularity & (granularity - 1)) == 0;

    if (granularity && (!is_power_of_two || granularity < VG_BLOCK_GRANULARITY_MIN ||
                        granularity > VG_BLOCK_GRANULARITY_MAX)) {
        return vg_call_fail(
            call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
            "'granularity_bytes' is %u: give 0 or a power of two from %u to %u",
            granularity, VG_BLOCK_GRANULARITY_MIN, VG_BLOCK_GRANULARITY_MAX);
    }
    return 0;
}

/* BlockCopyRequest's tunables as libvirt's typed parameters (each only when set); the
 * array is freed when the call ends. */
static int
vg_block_copy_params(vg_call *call, const Virtgrpc__V1__BlockCopyRequest *request,
                     virTypedParameterPtr *params, int *n_params)
{
    int max_params = 0;
    int rc = 0;

    *params = NULL;
    *n_params = 0;
    if (request->bandwidth_bytes_per_s) {
        rc = virTypedParamsAddULLong(params, n_params, &max_params,
                                     VIR_DOMAIN_BLOCK_COPY_BANDWIDTH,
                                     request->bandwidth_bytes_per_s);
    }
    if (rc == 0 && request->granularity_bytes) {
        rc = virTypedParamsAddUInt(params, n_params, &max_params,
                                   VIR_DOMAIN_BLOCK_COPY_GRANULARITY,
                                   request->granularity_bytes);
    }
    if (rc == 0 && request->buffer_size_bytes) {
        rc = virTypedParamsAddULLong(params, n_params, &max_params,
                                     VIR_DOMAIN_BLOCK_COPY_BUF_SIZE,
                                     request->buffer_size_bytes);
    }
    vg_domain_params_own(call, *params, *n_params, false);
    return rc < 0 ? vg_call_fail_libvirt(call) : 0;
}

int
vgh_block_job_service_block_copy(vg_call *call,
                                 const Virtgrpc__V1__BlockCopyRequest *request,
                                 Virtgrpc__V1__BlockCopyResponse *response)
{
    virTypedParameterPtr params;
    unsigned int flags = 0;
    virDomainPtr domain;
    int n_params;

    (void)response;
    if (VG_FLAGS(call, vg_enum_block_copy_flag, request, flags, &flags) < 0)
        return -1;
    if (!*request->destination_xml) {
        return vg_call_fail(
            call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
            "'destination_xml' is empty: give the copy as a <disk> element");
    }
    if (vg_block_granularity_check(call, request->granularity_bytes) < 0 ||
        vg_block_bytes_check(call, "buffer_size_bytes", request->buffer_size_bytes) < 0)
        return -1;
    if (!(domain = vg_block_job_domain(call, request->domain, request->disk,
                                       request->bandwidth_bytes_per_s)))
        return -1;
    if (vg_block_copy_params(call, request, &params, &n_params) < 0)
        return -1;
    if (virDomainBlockCopy(domain, request->disk, request->destination_xml, params,
                           n_params, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_block_job_service_block_commit(vg_call *call,
                                   const Virtgrpc__V1__BlockCommitRequest *request,
                                   Virtgrpc__V1__BlockCommitResponse *response)
{
    unsigned int flags = VIR_DOMAIN_BLOCK_COMMIT_BANDWIDTH_BYTES;
    virDomainPtr domain;

    (void)response;
    if (VG_FLAGS(call, vg_enum_block_commit_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_block_job_domain(call, request->domain, request->disk,
                                       request->bandwidth_bytes_per_s)))
        return -1;
    if (virDomainBlockCommit(domain, request->disk, vg_block_optional(request->base_image),
                             vg_block_optional(request->top_image),
                             request->bandwidth_bytes_per_s, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_block_job_service_get_block_job_info(
    vg_call *call, const Virtgrpc__V1__GetBlockJobInfoRequest *request,
    Virtgrpc__V1__BlockJobInfo *response)
{
    virDomainBlockJobInfo info = {0};
    virDomainPtr domain;
    int rc;

    if (!(domain = vg_block_job_domain(call, request->domain, request->disk, 0)))
        return -1;
    rc = virDomainGetBlockJobInfo(domain, request->disk, &info,
                                  VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES);
    if (rc < 0)
        return vg_call_fail_libvirt(call);
    if (rc == 0) /* no job: libvirt leaves `info` alone */
        return 0;
    response->active = true;
    response->type = vg_enum_from_libvirt(&vg_enum_block_job_type, info.type);
    response->bandwidth_bytes_per_s = info.bandwidth;
    response->cur = info.cur;
    response->end = info.end;
    return 0;
}

int
vgh_block_job_service_set_block_job_speed(
    vg_call *call, const Virtgrpc__V1__SetBlockJobSpeedRequest *request,
    Virtgrpc__V1__SetBlockJobSpeedResponse *response)
{
    virDomainPtr domain;

    (void)response;
    if (!(domain = vg_block_job_domain(call, request->domain, request->disk,
                                       request->bandwidth_bytes_per_s)))
        return -1;
    if (virDomainBlockJobSetSpeed(domain, request->disk, request->bandwidth_bytes_per_s,
                                  VIR_DOMAIN_BLOCK_JOB_SPEED_BANDWIDTH_BYTES) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_block_job_service_abort_block_job(vg_call *call,
                                      const Virtgrpc__V1__AbortBlockJobRequest *request,
                                      Virtgrpc__V1__AbortBlockJobResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    (void)response;
    if (VG_FLAGS(call, vg_enum_block_job_abort_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_block_job_domain(call, request->domain, request->disk, 0)))
        return -1;
    if (virDomainBlockJobAbort(domain, request->disk, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}
