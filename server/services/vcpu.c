/*
 * VcpuService: vCPU counts and hot-plug, the guest agent's view of its vCPUs, per-vCPU
 * state and affinity, pinning vCPUs, emulator threads and I/O threads to host CPUs,
 * I/O thread tuning, and CPU time statistics.
 *
 * Host CPU sets travel as lists of CPU numbers. libvirt wants bitmaps (cpumaps) sized
 * for the host, so every pin and affinity RPC goes through the vg_cpumap helpers below,
 * which learn the host's CPU count from the domain's own connection.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/virterror.h>

#include "server/services/domain-params.h"
#include "server/services/service.h"
#include "server/typed-params.h"
#include "vg-methods.h"

/* --- host CPU sets ----------------------------------------------------------------- */

/* `n_maps` cpumaps of `length` bytes each, back to back (libvirt's cpumaps layout). */
typedef struct vg_cpumap {
    unsigned char *bytes;
    int length;
    int host_cpus;
} vg_cpumap;

/*
 * The host's CPU count: the larger of what virNodeGetCPUMap (present CPUs) and
 * virNodeGetInfo (the topology) say. Drivers size their own cpumaps from either; the
 * test driver says 8 to the first and 16 to the second and reports vCPUs on CPU 15.
 */
static int
vg_host_cpu_count(vg_call *call, virDomainPtr domain, int *host_cpus)
{
    virConnectPtr conn = virDomainGetConnect(domain); /* borrowed, not referenced */
    int present = conn ? virNodeGetCPUMap(conn, NULL, NULL, 0) : -1;
    virNodeInfo info;
    int topology = -1;

    if (conn && virNodeGetInfo(conn, &info) == 0)
        topology = (int)VIR_NODEINFO_MAXCPUS(info);
    if (present <= 0 && topology <= 0)
        return vg_call_fail_libvirt(call);
    virResetLastError(); /* one of the two may have failed */
    *host_cpus = present > topology ? present : topology;
    return 0;
}

/* Zeroed room for `n_maps` cpumaps of the host of `domain`. */
static int
vg_cpumap_alloc(vg_call *call, virDomainPtr domain, int n_maps, vg_cpumap *map)
{
    if (vg_host_cpu_count(call, domain, &map->host_cpus) < 0)
        return -1;
    map->length = VIR_CPU_MAPLEN(map->host_cpus);
    map->bytes =
        vg_call_alloc(call, (size_t)map->length * (size_t)(n_maps > 0 ? n_maps : 1));
    return 0;
}

/* One cpumap from the CPU numbers of request field `field`, each a CPU the host has. */
static int
vg_cpumap_from_list(vg_call *call, virDomainPtr domain, const uint32_t *cpus, size_t n_cpus,
                    const char *field, vg_cpumap *map)
{
    if (vg_cpumap_alloc(call, domain, 1, map) < 0)
        return -1;
    for (size_t i = 0; i < n_cpus; i++) {
        if (cpus[i] >= (uint32_t)map->host_cpus) {
            return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                                VG_REASON_INVALID_REQUEST,
                                "'%s' has host CPU %u, but the host has %d CPUs (0-%d)",
                                field, cpus[i], map->host_cpus, map->host_cpus - 1);
        }
        VIR_USE_CPU(map->bytes, cpus[i]);
    }
    return 0;
}

/* The CPU numbers set in one cpumap of `length` bytes, ascending. */
static void
vg_cpumap_to_list(vg_call *call, const unsigned char *bytes, int length, uint32_t **cpus,
                  size_t *n_cpus)
{
    size_t n = 0;

    *cpus = vg_call_alloc(call, sizeof(**cpus) * (size_t)(length > 0 ? length : 1) * 8);
    for (int cpu = 0; cpu < length * 8; cpu++) {
        if (VIR_CPU_USABLE(bytes, length, 0, cpu))
            (*cpus)[n++] = (uint32_t)cpu;
    }
    *n_cpus = n;
}

/* --- vCPU lists as libvirt's text ("0-1,3") ------------------------------------------- */

/* "1,2" for the vCPU numbers of request field `field` (at least one). */
static char *
vg_vcpu_list_format(vg_call *call, const uint32_t *vcpus, size_t n_vcpus, const char *field)
{
    size_t size = n_vcpus * 11 + 1; /* up to 10 digits and a comma each */
    char *text;
    size_t used = 0;

    if (n_vcpus == 0) {
        vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                     "'%s' is empty: give at least one vCPU number", field);
        return NULL;
    }
    text = vg_call_alloc(call, size);
    for (size_t i = 0; i < n_vcpus; i++)
        used += (size_t)snprintf(text + used, size - used, "%s%u", i ? "," : "", vcpus[i]);
    return text;
}

/* Parses libvirt's list text ("0-3,5"; "" for none) into ascending numbers. */
static int
vg_vcpu_list_parse(vg_call *call, const char *name, const char *text, uint32_t **list,
                   size_t *n_list)
{
    size_t capacity = 8;
    const char *p = text;

    *n_list = 0;
    *list = vg_call_alloc(call, sizeof(**list) * capacity);
    while (*p) {
        char *end;
        unsigned long first = strtoul(p, &end, 10);
        unsigned long last = first;

        if (end == p)
            goto bad;
        if (*end == '-') {
            p = end + 1;
            last = strtoul(p, &end, 10);
            if (end == p || last < first)
                goto bad;
        }
        if (last > UINT32_MAX || last - first >= 65536)
            goto bad;
        for (unsigned long n = first; n <= last; n++) {
            if (*n_list == capacity) {
                uint32_t *bigger = vg_call_alloc(call, sizeof(**list) * capacity * 2);

                memcpy(bigger, *list, sizeof(**list) * capacity);
                *list = bigger;
                capacity *= 2;
            }
            (*list)[(*n_list)++] = (uint32_t)n;
        }
        if (*end == ',')
            end++;
        else if (*end)
            goto bad;
        p = end;
    }
    return 0;

bad:
    return vg_call_fail(call, GRPC_STATUS_INTERNAL, VG_REASON_INTERNAL,
                        "libvirt reported guest vCPU list '%s' as '%s', which is not a "
                        "list of numbers and ranges",
                        name, text);
}

/* --- shared shapes ------------------------------------------------------------------ */

/* The start of most handlers here: AFFECT_* flags from `impact`, then the domain. */
static virDomainPtr
vg_impact_lookup(vg_call *call, const Virtgrpc__V1__DomainRef *ref, const void *impact,
                 size_t n_impact, unsigned int *flags)
{
    if (vg_service_flags(call, &vg_enum_modification_impact, impact, n_impact, "impact",
                         flags) < 0)
        return NULL;
    return vg_domain_lookup(call, ref);
}

#define VG_IMPACT_LOOKUP(call, request, flags)                                             \
    vg_impact_lookup((call), (request)->domain, (request)->impact, (request)->n_impact,    \
                     (flags))

typedef int (*vg_pin_fn)(virDomainPtr domain, unsigned int id, unsigned char *cpumap,
                         int maplen, unsigned int flags);

/* Every pin RPC: resolve, build the cpumap from `cpus`, one libvirt pin call. */
static int
vg_pin(vg_call *call, const Virtgrpc__V1__DomainRef *ref, const void *impact,
       size_t n_impact, unsigned int id, const uint32_t *cpus, size_t n_cpus, vg_pin_fn pin)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    vg_cpumap map;

    /* libvirt would accept an empty map: a thread that may run nowhere. */
    if (n_cpus == 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'cpus' is empty: give at least one host CPU number");
    }
    if (!(domain = vg_impact_lookup(call, ref, impact, n_impact, &flags)))
        return -1;
    if (vg_cpumap_from_list(call, domain, cpus, n_cpus, "cpus", &map) < 0)
        return -1;
    if (pin(domain, id, map.bytes, map.length, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

static int
vg_iothread_id_check(vg_call *call, uint32_t iothread_id)
{
    if (iothread_id == 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'iothread_id' is 0: I/O thread ids start at 1");
    }
    return 0;
}

/* --- counts ------------------------------------------------------------------------- */

int
vgh_vcpu_service_get_domain_max_vcpus(vg_call *call,
                                      const Virtgrpc__V1__GetDomainMaxVcpusRequest *request,
                                      Virtgrpc__V1__GetDomainMaxVcpusResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    int max_vcpus;

    if (!domain)
        return -1;
    if ((max_vcpus = virDomainGetMaxVcpus(domain)) < 0)
        return vg_call_fail_libvirt(call);
    response->max_vcpus = (uint32_t)max_vcpus;
    return 0;
}

int
vgh_vcpu_service_get_domain_vcpu_count(
    vg_call *call, const Virtgrpc__V1__GetDomainVcpuCountRequest *request,
    Virtgrpc__V1__GetDomainVcpuCountResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    int vcpus;

    if (VG_FLAGS(call, vg_enum_vcpu_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if ((vcpus = virDomainGetVcpusFlags(domain, flags)) < 0)
        return vg_call_fail_libvirt(call);
    response->vcpus = (uint32_t)vcpus;
    return 0;
}

int
vgh_vcpu_service_set_domain_vcpu_count(
    vg_call *call, const Virtgrpc__V1__SetDomainVcpuCountRequest *request,
    Virtgrpc__V1__SetDomainVcpuCountResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    if (request->vcpus == 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'vcpus' is 0: a domain needs at least one vCPU");
    }
    if (VG_FLAGS(call, vg_enum_vcpu_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainSetVcpusFlags(domain, request->vcpus, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_vcpu_service_set_domain_vcpu(vg_call *call,
                                 const Virtgrpc__V1__SetDomainVcpuRequest *request,
                                 Virtgrpc__V1__SetDomainVcpuResponse *response)
{
    unsigned int flags = 0;
    char *vcpus = vg_vcpu_list_format(call, request->vcpus, request->n_vcpus, "vcpus");
    virDomainPtr domain;

    if (!vcpus)
        return -1;
    if (!(domain = VG_IMPACT_LOOKUP(call, request, &flags)))
        return -1;
    if (virDomainSetVcpu(domain, vcpus, request->enable, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

/* --- the guest agent's view --------------------------------------------------------- */

int
vgh_vcpu_service_get_domain_guest_vcpus(
    vg_call *call, const Virtgrpc__V1__GetDomainGuestVcpusRequest *request,
    Virtgrpc__V1__GetDomainGuestVcpusResponse *response)
{
    static const char *const names[] = {"vcpus", "online", "offlinable"};
    uint32_t **lists[] = {&response->vcpus, &response->online, &response->offlinable};
    size_t *counts[] = {&response->n_vcpus, &response->n_online, &response->n_offlinable};
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    virTypedParameterPtr params = NULL;
    unsigned int n_params = 0;

    if (!domain)
        return -1;
    if (virDomainGetGuestVcpus(domain, &params, &n_params, 0) < 0)
        return vg_call_fail_libvirt(call);
    vg_domain_params_own(call, params, (int)n_params, false);

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *text = NULL;

        if (virTypedParamsGetString(params, (int)n_params, names[i], &text) < 0)
            return vg_call_fail_libvirt(call);
        if (text && vg_vcpu_list_parse(call, names[i], text, lists[i], counts[i]) < 0)
            return -1;
    }
    return 0;
}

int
vgh_vcpu_service_set_domain_guest_vcpus(
    vg_call *call, const Virtgrpc__V1__SetDomainGuestVcpusRequest *request,
    Virtgrpc__V1__SetDomainGuestVcpusResponse *response)
{
    char *vcpus = vg_vcpu_list_format(call, request->vcpus, request->n_vcpus, "vcpus");
    virDomainPtr domain;

    if (!vcpus)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainSetGuestVcpus(domain, vcpus, request->online, 0) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

/* --- per-vCPU information and pinning ------------------------------------------------ */

int
vgh_vcpu_service_get_domain_vcpu_info(vg_call *call,
                                      const Virtgrpc__V1__GetDomainVcpuInfoRequest *request,
                                      Virtgrpc__V1__GetDomainVcpuInfoResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain = VG_IMPACT_LOOKUP(call, request, &flags);
    virVcpuInfoPtr info = NULL;
    vg_cpumap maps;
    int max_vcpus;
    int n;

    if (!domain)
        return -1;
    /* Room for every vCPU the definition asked about may have. */
    max_vcpus = virDomainGetVcpusFlags(domain, VIR_DOMAIN_VCPU_MAXIMUM | flags);
    if (max_vcpus < 0)
        return vg_call_fail_libvirt(call);
    if (vg_cpumap_alloc(call, domain, max_vcpus, &maps) < 0)
        return -1;
    if (flags & VIR_DOMAIN_AFFECT_CONFIG) {
        /* The configuration has no runtime state: only the affinity. */
        n = virDomainGetVcpuPinInfo(domain, max_vcpus, maps.bytes, maps.length, flags);
    } else {
        info = vg_call_alloc(call, sizeof(*info) * (size_t)max_vcpus);
        n = virDomainGetVcpus(domain, info, max_vcpus, maps.bytes, maps.length);
    }
    if (n < 0)
        return vg_call_fail_libvirt(call);

    response->vcpus = vg_call_alloc(call, sizeof(*response->vcpus) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        Virtgrpc__V1__VcpuInfo *vcpu =
            VG_NEW(call, Virtgrpc__V1__VcpuInfo, virtgrpc__v1__vcpu_info__init);

        vcpu->number = info ? info[i].number : (uint32_t)i;
        vg_cpumap_to_list(call, VIR_GET_CPUMAP(maps.bytes, maps.length, i), maps.length,
                          &vcpu->affinity, &vcpu->n_affinity);
        if (info) {
            Virtgrpc__V1__VcpuRuntimeInfo *runtime = VG_NEW(
                call, Virtgrpc__V1__VcpuRuntimeInfo, virtgrpc__v1__vcpu_runtime_info__init);

            runtime->state = vg_enum_from_libvirt(&vg_enum_vcpu_state, info[i].state);
            runtime->cpu_time_ns = info[i].cpuTime;
            if (info[i].cpu >= 0) {
                runtime->host_cpu_case = VIRTGRPC__V1__VCPU_RUNTIME_INFO__HOST_CPU_CPU;
                runtime->cpu = (uint32_t)info[i].cpu;
            } else {
                runtime->host_cpu_case =
                    VIRTGRPC__V1__VCPU_RUNTIME_INFO__HOST_CPU_CPU_STATE;
                runtime->cpu_state =
                    vg_enum_from_libvirt(&vg_enum_vcpu_host_cpu_state, info[i].cpu);
            }
            vcpu->runtime = runtime;
        }
        response->vcpus[response->n_vcpus++] = vcpu;
    }
    return 0;
}

int
vgh_vcpu_service_pin_domain_vcpu(vg_call *call,
                                 const Virtgrpc__V1__PinDomainVcpuRequest *request,
                                 Virtgrpc__V1__PinDomainVcpuResponse *response)
{
    return vg_pin(call, request->domain, request->impact, request->n_impact, request->vcpu,
                  request->cpus, request->n_cpus, virDomainPinVcpuFlags);
}

/* --- emulator threads --------------------------------------------------------------- */

int
vgh_vcpu_service_get_domain_emulator_pin_info(
    vg_call *call, const Virtgrpc__V1__GetDomainEmulatorPinInfoRequest *request,
    Virtgrpc__V1__GetDomainEmulatorPinInfoResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain = VG_IMPACT_LOOKUP(call, request, &flags);
    vg_cpumap map;
    int pinned;

    if (!domain)
        return -1;
    if (vg_cpumap_alloc(call, domain, 1, &map) < 0)
        return -1;
    if ((pinned = virDomainGetEmulatorPinInfo(domain, map.bytes, map.length, flags)) < 0)
        return vg_call_fail_libvirt(call);
    /* 0: no emulator threads to pin; the map is all zero, so the list is empty. */
    vg_cpumap_to_list(call, map.bytes, map.length, &response->affinity,
                      &response->n_affinity);
    return 0;
}

/* virDomainPinEmulator in vg_pin_fn's shape: the emulator has no id. */
static int
vg_pin_emulator(virDomainPtr domain, unsigned int id, unsigned char *cpumap, int maplen,
                unsigned int flags)
{
    (void)id;
    return virDomainPinEmulator(domain, cpumap, maplen, flags);
}

int
vgh_vcpu_service_pin_domain_emulator(vg_call *call,
                                     const Virtgrpc__V1__PinDomainEmulatorRequest *request,
                                     Virtgrpc__V1__PinDomainEmulatorResponse *response)
{
    return vg_pin(call, request->domain, request->impact, request->n_impact, 0,
                  request->cpus, request->n_cpus, vg_pin_emulator);
}

/* --- I/O threads -------------------------------------------------------------------- */

typedef struct vg_iothread_list {
    virDomainIOThreadInfoPtr *info;
    int n;
} vg_iothread_list;

static void
vg_iothread_list_release(void *data)
{
    vg_iothread_list *list = data;

    for (int i = 0; i < list->n; i++)
        virDomainIOThreadInfoFree(list->info[i]);
    free(list->info);
}

int
vgh_vcpu_service_list_domain_io_threads(
    vg_call *call, const Virtgrpc__V1__ListDomainIOThreadsRequest *request,
    Virtgrpc__V1__ListDomainIOThreadsResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain = VG_IMPACT_LOOKUP(call, request, &flags);
    vg_iothread_list *list = vg_call_alloc(call, sizeof(*list));

    if (!domain)
        return -1;
    if ((list->n = virDomainGetIOThreadInfo(domain, &list->info, flags)) < 0)
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, vg_iothread_list_release, list);

    response->iothreads =
        vg_call_alloc(call, sizeof(*response->iothreads) * (size_t)(list->n ? list->n : 1));
    for (int i = 0; i < list->n; i++) {
        Virtgrpc__V1__IOThreadInfo *iothread =
            VG_NEW(call, Virtgrpc__V1__IOThreadInfo, virtgrpc__v1__iothread_info__init);

        iothread->iothread_id = list->info[i]->iothread_id;
        vg_cpumap_to_list(call, list->info[i]->cpumap, list->info[i]->cpumaplen,
                          &iothread->affinity, &iothread->n_affinity);
        response->iothreads[response->n_iothreads++] = iothread;
    }
    return 0;
}

int
vgh_vcpu_service_pin_domain_io_thread(vg_call *call,
                                      const Virtgrpc__V1__PinDomainIOThreadRequest *request,
                                      Virtgrpc__V1__PinDomainIOThreadResponse *response)
{
    if (vg_iothread_id_check(call, request->iothread_id) < 0)
        return -1;
    return vg_pin(call, request->domain, request->impact, request->n_impact,
                  request->iothread_id, request->cpus, request->n_cpus,
                  virDomainPinIOThread);
}

/* Add and delete share one shape: an id, AFFECT flags, one call. */
static int
vg_iothread_change(vg_call *call, const Virtgrpc__V1__DomainRef *ref, const void *impact,
                   size_t n_impact, uint32_t iothread_id,
                   int (*change)(virDomainPtr, unsigned int, unsigned int))
{
    unsigned int flags = 0;
    virDomainPtr domain;

    if (vg_iothread_id_check(call, iothread_id) < 0)
        return -1;
    if (!(domain = vg_impact_lookup(call, ref, impact, n_impact, &flags)))
        return -1;
    if (change(domain, iothread_id, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_vcpu_service_add_domain_io_thread(vg_call *call,
                                      const Virtgrpc__V1__AddDomainIOThreadRequest *request,
                                      Virtgrpc__V1__AddDomainIOThreadResponse *response)
{
    return vg_iothread_change(call, request->domain, request->impact, request->n_impact,
                              request->iothread_id, virDomainAddIOThread);
}

int
vgh_vcpu_service_delete_domain_io_thread(
    vg_call *call, const Virtgrpc__V1__DeleteDomainIOThreadRequest *request,
    Virtgrpc__V1__DeleteDomainIOThreadResponse *response)
{
    return vg_iothread_change(call, request->domain, request->impact, request->n_impact,
                              request->iothread_id, virDomainDelIOThread);
}

/* What virDomainSetIOThreadParams takes (libvirt-domain.h), with its types: libvirt has
 * no getter to ask. */
static const virTypedParameter vg_iothread_params[] = {
    {.field = VIR_DOMAIN_IOTHREAD_POLL_MAX_NS, .type = VIR_TYPED_PARAM_ULLONG},
    {.field = VIR_DOMAIN_IOTHREAD_POLL_GROW, .type = VIR_TYPED_PARAM_UINT},
    {.field = VIR_DOMAIN_IOTHREAD_POLL_SHRINK, .type = VIR_TYPED_PARAM_UINT},
    {.field = VIR_DOMAIN_IOTHREAD_THREAD_POOL_MIN, .type = VIR_TYPED_PARAM_INT},
    {.field = VIR_DOMAIN_IOTHREAD_THREAD_POOL_MAX, .type = VIR_TYPED_PARAM_INT},
};

int
vgh_vcpu_service_set_domain_io_thread_params(
    vg_call *call, const Virtgrpc__V1__SetDomainIOThreadParamsRequest *request,
    Virtgrpc__V1__SetDomainIOThreadParamsResponse *response)
{
    unsigned int flags = 0;
    virTypedParameterPtr params = NULL;
    int n_params = 0;
    char error[1024];
    virDomainPtr domain;

    if (vg_iothread_id_check(call, request->iothread_id) < 0)
        return -1;
    if (request->n_parameters == 0) {
        return vg_call_fail(
            call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
            "'parameters' is empty: give at least one I/O thread parameter");
    }
    if (vg_typed_params_from_proto(
            request->parameters, request->n_parameters, vg_iothread_params,
            sizeof(vg_iothread_params) / sizeof(vg_iothread_params[0]), &params, &n_params,
            error, sizeof(error)) < 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "%s", error);
    }
    vg_domain_params_own(call, params, n_params, false);
    if (!(domain = VG_IMPACT_LOOKUP(call, request, &flags)))
        return -1;
    if (virDomainSetIOThreadParams(domain, request->iothread_id, params, n_params, flags) <
        0)
        return vg_call_fail_libvirt(call);
    return 0;
}

/* --- CPU statistics ----------------------------------------------------------------- */

/* libvirt's limit on host CPUs per virDomainGetCPUStats call. */
#define VG_CPU_STATS_MAX_CPUS 128

/* `n_cpus` x `n_params` parameters for the CPUs from `start_cpu` (-1: the total). */
static virTypedParameterPtr
vg_cpu_stats_fetch(vg_call *call, virDomainPtr domain, int start_cpu, int n_cpus,
                   int *n_params)
{
    virTypedParameterPtr params;
    int n;

    /* libvirt's two-step protocol: ask for the count, then fill an array that size. */
    if ((n = virDomainGetCPUStats(domain, NULL, 0, start_cpu, 1, 0)) < 0) {
        vg_call_fail_libvirt(call);
        return NULL;
    }
    params = vg_call_alloc(call, sizeof(*params) * (size_t)(n ? n : 1) * (size_t)n_cpus);
    if (n > 0 && virDomainGetCPUStats(domain, params, (unsigned int)n, start_cpu,
                                      (unsigned int)n_cpus, 0) < 0) {
        vg_call_fail_libvirt(call);
        return NULL;
    }
    vg_domain_params_own(call, params, n * n_cpus, true);
    *n_params = n;
    return params;
}

int
vgh_vcpu_service_get_domain_cpu_stats(vg_call *call,
                                      const Virtgrpc__V1__GetDomainCPUStatsRequest *request,
                                      Virtgrpc__V1__GetDomainCPUStatsResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    virTypedParameterPtr params;
    int host_cpus;
    int n_cpus;
    int n_params;

    if (!domain)
        return -1;
    if (request->cpu_count > VG_CPU_STATS_MAX_CPUS) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'cpu_count' is %u, more than the %d host CPUs one call reads",
                            request->cpu_count, VG_CPU_STATS_MAX_CPUS);
    }
    if (!request->per_cpu) {
        if (!(params = vg_cpu_stats_fetch(call, domain, -1, 1, &n_params)))
            return -1;
        vg_domain_params_to_proto(call, params, n_params, &response->total,
                                  &response->n_total);
        return 0;
    }

    if ((host_cpus = virDomainGetCPUStats(domain, NULL, 0, 0, 0, 0)) < 0)
        return vg_call_fail_libvirt(call);
    response->host_cpu_count = (uint32_t)host_cpus;
    if (request->start_cpu >= (uint32_t)host_cpus) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'start_cpu' is %u, but the host has %d CPUs (0-%d)",
                            request->start_cpu, host_cpus, host_cpus - 1);
    }
    n_cpus = host_cpus - (int)request->start_cpu;
    if (request->cpu_count && (uint32_t)n_cpus > request->cpu_count)
        n_cpus = (int)request->cpu_count;
    if (n_cpus > VG_CPU_STATS_MAX_CPUS)
        n_cpus = VG_CPU_STATS_MAX_CPUS;
    if (!(params =
              vg_cpu_stats_fetch(call, domain, (int)request->start_cpu, n_cpus, &n_params)))
        return -1;

    response->per_cpu = vg_call_alloc(call, sizeof(*response->per_cpu) * (size_t)n_cpus);
    for (int i = 0; i < n_cpus; i++) {
        Virtgrpc__V1__HostCpuStats *stats =
            VG_NEW(call, Virtgrpc__V1__HostCpuStats, virtgrpc__v1__host_cpu_stats__init);

        stats->cpu = request->start_cpu + (uint32_t)i;
        /* Parameters of CPUs the domain never ran on have type 0 and are skipped. */
        vg_domain_params_to_proto(call, params + (size_t)i * (size_t)n_params, n_params,
                                  &stats->parameters, &stats->n_parameters);
        response->per_cpu[response->n_per_cpu++] = stats;
    }
    return 0;
}
