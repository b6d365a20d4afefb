/*
 * DomainService: finding domains and reading what they are — list, look-up, info,
 * state, host name, and the is-active / is-persistent / is-updated questions.
 */
#include <stdlib.h>
#include <string.h>

#include "server/services/service.h"
#include "vg-methods.h"

static int
vg_domain_compare_names(const void *a, const void *b)
{
    const Virtgrpc__V1__Domain *const *x = a;
    const Virtgrpc__V1__Domain *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

static void
vg_domain_list_release(void *list)
{
    virDomainPtr *domains = list;

    for (size_t i = 0; domains[i]; i++)
        virDomainFree(domains[i]);
    free(domains);
}

int
vgh_domain_service_list_domains(vg_call *call,
                                const Virtgrpc__V1__ListDomainsRequest *request,
                                Virtgrpc__V1__ListDomainsResponse *response)
{
    unsigned int flags = 0;
    virConnectPtr conn;
    virDomainPtr *domains = NULL;
    virDomainStatsRecordPtr *records = NULL;
    int n;

    if (VG_FLAGS(call, vg_enum_list_domains_filter, request, filters, &flags) < 0)
        return -1;
    if (!(conn = vg_service_conn(call)))
        return -1;
    n = virConnectListAllDomains(conn, &domains, flags);
    if (n < 0)
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, vg_domain_list_release, domains); /* NULL-terminated */
    if (n == 0)
        return 0;

    /* One call for every domain's state instead of one virDomainGetState each: on a
     * remote libvirtd that is one round trip instead of n. */
    if (virDomainListGetStats(domains, VIR_DOMAIN_STATS_STATE, &records, 0) < 0)
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, (void (*)(void *))virDomainStatsRecordListFree, records);

    response->domains = vg_call_alloc(call, sizeof(*response->domains) * (size_t)n);
    for (int i = 0; records[i]; i++) {
        Virtgrpc__V1__Domain *domain = VG_NEW(call, Virtgrpc__V1__Domain,
                                              virtgrpc__v1__domain__init);
        char uuid[VIR_UUID_STRING_BUFLEN];
        unsigned int id = virDomainGetID(records[i]->dom);
        int state = VIR_DOMAIN_NOSTATE;
        int reason = 0;

        virDomainGetUUIDString(records[i]->dom, uuid);
        domain->uuid = vg_call_strdup(call, uuid);
        domain->name = vg_call_strdup(call, virDomainGetName(records[i]->dom));
        domain->id = id == (unsigned int)-1 ? -1 : (int32_t)id;
        virTypedParamsGetInt(records[i]->params, records[i]->nparams, "state.state", &state);
        virTypedParamsGetInt(records[i]->params, records[i]->nparams, "state.reason",
                             &reason);
        domain->state = VG_NEW(call, Virtgrpc__V1__DomainStateInfo,
                               virtgrpc__v1__domain_state_info__init);
        vg_domain_state_set(domain->state, state, reason);
        response->domains[response->n_domains++] = domain;
    }
    qsort(response->domains, response->n_domains, sizeof(*response->domains),
          vg_domain_compare_names);
    return 0;
}

int
vgh_domain_service_get_domain(vg_call *call, const Virtgrpc__V1__GetDomainRequest *request,
                              Virtgrpc__V1__Domain *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);

    if (!domain)
        return -1;
    return vg_domain_fill(call, domain, response);
}

int
vgh_domain_service_get_domain_info(vg_call *call,
                                   const Virtgrpc__V1__GetDomainInfoRequest *request,
                                   Virtgrpc__V1__DomainInfo *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    virDomainInfo info;

    if (!domain)
        return -1;
    if (virDomainGetInfo(domain, &info) < 0)
        return vg_call_fail_libvirt(call);
    response->max_memory_kib = info.maxMem;
    response->memory_kib = info.memory;
    response->vcpus = info.nrVirtCpu;
    response->cpu_time_ns = info.cpuTime;
    response->domain = VG_NEW(call, Virtgrpc__V1__Domain, virtgrpc__v1__domain__init);
    return vg_domain_fill(call, domain, response->domain);
}

int
vgh_domain_service_get_domain_state(vg_call *call,
                                    const Virtgrpc__V1__GetDomainStateRequest *request,
                                    Virtgrpc__V1__DomainStateInfo *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    int state;
    int reason;

    if (!domain)
        return -1;
    if (virDomainGetState(domain, &state, &reason, 0) < 0)
        return vg_call_fail_libvirt(call);
    vg_domain_state_set(response, state, reason);
    return 0;
}

/* The three yes/no questions share one shape: a libvirt call returning 1, 0 or -1. */
static int
vg_domain_ask(vg_call *call, const Virtgrpc__V1__DomainRef *ref,
              int (*question)(virDomainPtr), protobuf_c_boolean *answer)
{
    virDomainPtr domain = vg_domain_lookup(call, ref);
    int rc;

    if (!domain)
        return -1;
    if ((rc = question(domain)) < 0)
        return vg_call_fail_libvirt(call);
    *answer = rc != 0;
    return 0;
}

int
vgh_domain_service_is_domain_active(vg_call *call,
                                    const Virtgrpc__V1__IsDomainActiveRequest *request,
                                    Virtgrpc__V1__IsDomainActiveResponse *response)
{
    return vg_domain_ask(call, request->domain, virDomainIsActive, &response->active);
}

int
vgh_domain_service_is_domain_persistent(
    vg_call *call, const Virtgrpc__V1__IsDomainPersistentRequest *request,
    Virtgrpc__V1__IsDomainPersistentResponse *response)
{
    return vg_domain_ask(call, request->domain, virDomainIsPersistent,
                         &response->persistent);
}

int
vgh_domain_service_is_domain_updated(vg_call *call,
                                     const Virtgrpc__V1__IsDomainUpdatedRequest *request,
                                     Virtgrpc__V1__IsDomainUpdatedResponse *response)
{
    return vg_domain_ask(call, request->domain, virDomainIsUpdated, &response->updated);
}

int
vgh_domain_service_get_domain_hostname(vg_call *call,
                                       const Virtgrpc__V1__GetDomainHostnameRequest *request,
                                       Virtgrpc__V1__GetDomainHostnameResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    char *hostname;

    if (VG_FLAGS(call, vg_enum_hostname_source, request, sources, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (!(hostname = virDomainGetHostname(domain, flags)))
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, free, hostname);
    response->hostname = hostname;
    return 0;
}
