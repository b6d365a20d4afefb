/* JobService: a domain's background job (virDomainGetJobInfo, virDomainGetJobStats,
 * virDomainAbortJob*). */

#include "server/services/domain-params.h"
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
