/*
 * MemoryService: maximum and current memory, balloon statistics and their refresh
 * period, reading guest memory, and dirty page rate measurement.
 */
#include <limits.h>

#include "server/services/domain-common.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* Room for more statistics than libvirt 9.0 knows (13): a newer libvirt at run time
 * fills in tags this build has no name for, and the response keeps them. */
#define VG_MEMORY_STATS_MAX 64

/* A size in KiB for libvirt's `unsigned long`: not 0, and not beyond what it holds. */
static int
vg_memory_kib_check(vg_call *call, const char *field, uint64_t kib)
{
    if (kib == 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' is 0: give a size in KiB", field);
    }
    if (kib > ULONG_MAX) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' is %llu KiB, more than libvirt takes (%lu)", field,
                            (unsigned long long)kib, ULONG_MAX);
    }
    return 0;
}

int
vgh_memory_service_get_domain_max_memory(
    vg_call *call, const Virtgrpc__V1__GetDomainMaxMemoryRequest *request,
    Virtgrpc__V1__GetDomainMaxMemoryResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    unsigned long max_kib;

    if (!domain)
        return -1;
    if ((max_kib = virDomainGetMaxMemory(domain)) == 0) /* 0: failure */
        return vg_call_fail_libvirt(call);
    response->max_memory_kib = max_kib;
    return 0;
}

int
vgh_memory_service_set_domain_max_memory(
    vg_call *call, const Virtgrpc__V1__SetDomainMaxMemoryRequest *request,
    Virtgrpc__V1__SetDomainMaxMemoryResponse *response)
{
    virDomainPtr domain;

    if (vg_memory_kib_check(call, "max_memory_kib", request->max_memory_kib) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainSetMaxMemory(domain, (unsigned long)request->max_memory_kib) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_memory_service_set_domain_memory(vg_call *call,
                                     const Virtgrpc__V1__SetDomainMemoryRequest *request,
                                     Virtgrpc__V1__SetDomainMemoryResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    if (vg_memory_kib_check(call, "memory_kib", request->memory_kib) < 0)
        return -1;
    if (VG_FLAGS(call, vg_enum_memory_mod_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainSetMemoryFlags(domain, (unsigned long)request->memory_kib, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_memory_service_set_domain_memory_stats_period(
    vg_call *call, const Virtgrpc__V1__SetDomainMemoryStatsPeriodRequest *request,
    Virtgrpc__V1__SetDomainMemoryStatsPeriodResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    if (request->period_seconds > INT_MAX) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'period_seconds' is %u, more than %d", request->period_seconds,
                            INT_MAX);
    }
    if (VG_FLAGS(call, vg_enum_modification_impact, request, impact, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainSetMemoryStatsPeriod(domain, (int)request->period_seconds, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_memory_service_get_domain_memory_stats(
    vg_call *call, const Virtgrpc__V1__GetDomainMemoryStatsRequest *request,
    Virtgrpc__V1__GetDomainMemoryStatsResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    virDomainMemoryStatStruct stats[VG_MEMORY_STATS_MAX];
    int n;

    if (!domain)
        return -1;
    if ((n = virDomainMemoryStats(domain, stats, VG_MEMORY_STATS_MAX, 0)) < 0)
        return vg_call_fail_libvirt(call);
    response->stats = vg_call_alloc(call, sizeof(*response->stats) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        Virtgrpc__V1__MemoryStat *stat =
            VG_NEW(call, Virtgrpc__V1__MemoryStat, virtgrpc__v1__memory_stat__init);

        /* A tag without a name here stays, as UNSPECIFIED with its libvirt number. */
        stat->tag = vg_enum_from_libvirt(&vg_enum_memory_stat_tag, stats[i].tag);
        stat->libvirt_tag = (uint32_t)stats[i].tag;
        stat->value = stats[i].val;
        response->stats[response->n_stats++] = stat;
    }
    return 0;
}

/* virDomainMemoryPeek in the shape vg_peek_read takes (memory has no target). */
static int
vg_memory_peek(virDomainPtr domain, const char *unused, unsigned long long offset,
               size_t size, void *buffer, unsigned int flags)
{
    return virDomainMemoryPeek(domain, offset, size, buffer, flags);
}

int
vgh_memory_service_peek_domain_memory(vg_call *call,
                                      const Virtgrpc__V1__PeekDomainMemoryRequest *request,
                                      Virtgrpc__V1__PeekDomainMemoryResponse *response)
{
    int address_space;
    virDomainPtr domain;

    if (VG_ENUM(call, vg_enum_memory_address_space, request, address_space,
                &address_space) < 0)
        return -1;
    if (vg_peek_check(call, "offset", request->offset, request->size_bytes) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    return vg_peek_read(call, domain, vg_memory_peek, NULL, request->offset,
                        request->size_bytes, (unsigned int)address_space, &response->data);
}

int
vgh_memory_service_start_domain_dirty_rate_calc(
    vg_call *call, const Virtgrpc__V1__StartDomainDirtyRateCalcRequest *request,
    Virtgrpc__V1__StartDomainDirtyRateCalcResponse *response)
{
    int mode = VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING; /* libvirt's default, flags 0 */
    virDomainPtr domain;

    if (request->seconds == 0 || request->seconds > INT_MAX) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'seconds' is %u: give how long to measure, at least 1",
                            request->seconds);
    }
    if (request->mode && VG_ENUM(call, vg_enum_dirty_rate_mode, request, mode, &mode) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainStartDirtyRateCalc(domain, (int)request->seconds, (unsigned int)mode) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}
