/*
 * TuningService: a domain's resource tunables — scheduler, memory, blkio, NUMA,
 * interface bandwidth, block I/O throttling, perf events. Each family is one
 * vg_domain_params_kind; domain-params.c does the two-step reads, the validated writes
 * and the read-back, so every handler here is the same few lines.
 */
#include <stdlib.h>
#include <string.h>

#include "server/services/domain-params.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* The scheduler's getter cannot report its count with n_params = 0: its type call does. */
static int
vg_scheduler_count(virDomainPtr domain, int *n_params)
{
    char *type = virDomainGetSchedulerType(domain, n_params);

    if (!type)
        return -1;
    free(type);
    return 0;
}

/*
 * Without an impact, the calls without Flags (same meaning: the current definition).
 * The test driver rejects every virDomainGetSchedulerParametersFlags call, because the
 * public API adds VIR_TYPED_PARAM_STRING_OKAY, and every non-zero flag of
 * virDomainSetSchedulerParametersFlags.
 */
static int
vg_scheduler_get(virDomainPtr domain, virTypedParameterPtr params, int *n_params,
                 unsigned int flags)
{
    if (flags == 0)
        return virDomainGetSchedulerParameters(domain, params, n_params);
    return virDomainGetSchedulerParametersFlags(domain, params, n_params, flags);
}

static int
vg_scheduler_set(virDomainPtr domain, virTypedParameterPtr params, int n_params,
                 unsigned int flags)
{
    if (flags == 0)
        return virDomainSetSchedulerParameters(domain, params, n_params);
    return virDomainSetSchedulerParametersFlags(domain, params, n_params, flags);
}

static const vg_domain_params_kind vg_scheduler_params = {
    .what = "scheduler parameters",
    .get = vg_scheduler_get,
    .count = vg_scheduler_count,
    .set = vg_scheduler_set,
};

static const vg_domain_params_kind vg_memory_params = {
    .what = "memory parameters",
    .get = virDomainGetMemoryParameters,
    .set = virDomainSetMemoryParameters,
    .string_okay = true,
};

static const vg_domain_params_kind vg_blkio_params = {
    .what = "blkio parameters",
    .get = virDomainGetBlkioParameters,
    .set = virDomainSetBlkioParameters,
    .string_okay = true,
};

static const vg_domain_params_kind vg_numa_params = {
    .what = "NUMA parameters",
    .get = virDomainGetNumaParameters,
    .set = virDomainSetNumaParameters,
    .string_okay = true,
};

static const vg_domain_params_kind vg_interface_params = {
    .what = "interface parameters",
    .get_device = virDomainGetInterfaceParameters,
    .set_device = virDomainSetInterfaceParameters,
    .string_okay = true,
    .device_field = "device",
    .device_hint = "the interface's target device name (e.g. 'vnet0') or MAC address",
};

static const vg_domain_params_kind vg_block_iotune_params = {
    .what = "block I/O tuning parameters",
    .get_device = virDomainGetBlockIoTune,
    .set_device = virDomainSetBlockIoTune,
    .string_okay = true,
    .device_field = "disk",
    .device_hint = "the disk's target name (e.g. 'vda') or source path",
};

static const vg_domain_params_kind vg_perf_events = {
    .what = "perf events",
    .get_alloc = virDomainGetPerfEvents,
    .set = virDomainSetPerfEvents,
    .string_okay = true,
};

/* The request's impact bits; every request of this service names the field `impact`. */
#define VG_IMPACT(call, request, flags)                                                    \
    VG_FLAGS((call), vg_enum_modification_impact, (request), impact, (flags))

int
vgh_tuning_service_get_domain_scheduler_type(
    vg_call *call, const Virtgrpc__V1__GetDomainSchedulerTypeRequest *request,
    Virtgrpc__V1__DomainSchedulerType *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    char *type;
    int n_params = 0;

    if (!domain)
        return -1;
    if (!(type = virDomainGetSchedulerType(domain, &n_params)))
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, free, type);
    response->scheduler = type;
    response->parameter_count = n_params;
    return 0;
}

int
vgh_tuning_service_get_domain_scheduler_parameters(
    vg_call *call, const Virtgrpc__V1__GetDomainSchedulerParametersRequest *request,
    Virtgrpc__V1__DomainSchedulerParameters *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    return vg_domain_params_read(call, request->domain, &vg_scheduler_params, NULL, flags,
                                 &response->parameters, &response->n_parameters);
}

int
vgh_tuning_service_set_domain_scheduler_parameters(
    vg_call *call, const Virtgrpc__V1__SetDomainSchedulerParametersRequest *request,
    Virtgrpc__V1__DomainSchedulerParameters *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    return vg_domain_params_write(call, request->domain, &vg_scheduler_params, NULL, flags,
                                  request->parameters, request->n_parameters,
                                  &response->parameters, &response->n_parameters);
}

int
vgh_tuning_service_get_domain_memory_parameters(
    vg_call *call, const Virtgrpc__V1__GetDomainMemoryParametersRequest *request,
    Virtgrpc__V1__DomainMemoryParameters *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    return vg_domain_params_read(call, request->domain, &vg_memory_params, NULL, flags,
                                 &response->parameters, &response->n_parameters);
}

int
vgh_tuning_service_set_domain_memory_parameters(
    vg_call *call, const Virtgrpc__V1__SetDomainMemoryParametersRequest *request,
    Virtgrpc__V1__DomainMemoryParameters *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    return vg_domain_params_write(call, request->domain, &vg_memory_params, NULL, flags,
                                  request->parameters, request->n_parameters,
                                  &response->parameters, &response->n_parameters);
}

int
vgh_tuning_service_get_domain_blkio_parameters(
    vg_call *call, const Virtgrpc__V1__GetDomainBlkioParametersRequest *request,
    Virtgrpc__V1__DomainBlkioParameters *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    return vg_domain_params_read(call, request->domain, &vg_blkio_params, NULL, flags,
                                 &response->parameters, &response->n_parameters);
}

int
vgh_tuning_service_set_domain_blkio_parameters(
    vg_call *call, const Virtgrpc__V1__SetDomainBlkioParametersRequest *request,
    Virtgrpc__V1__DomainBlkioParameters *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    return vg_domain_params_write(call, request->domain, &vg_blkio_params, NULL, flags,
                                  request->parameters, request->n_parameters,
                                  &response->parameters, &response->n_parameters);
}

/* Decodes "numa_mode" into the response's enum. */
static void
vg_numa_mode_fill(Virtgrpc__V1__DomainNumaParameters *response)
{
    for (size_t i = 0; i < response->n_parameters; i++) {
        const Virtgrpc__V1__TypedParameter *p = response->parameters[i];

        if (strcmp(p->name, VIR_DOMAIN_NUMA_MODE) == 0 &&
            p->value_case == VIRTGRPC__V1__TYPED_PARAMETER__VALUE_INT32_VALUE) {
            response->mode =
                vg_enum_from_libvirt(&vg_enum_numatune_mem_mode, p->int32_value);
        }
    }
}

int
vgh_tuning_service_get_domain_numa_parameters(
    vg_call *call, const Virtgrpc__V1__GetDomainNumaParametersRequest *request,
    Virtgrpc__V1__DomainNumaParameters *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    if (vg_domain_params_read(call, request->domain, &vg_numa_params, NULL, flags,
                              &response->parameters, &response->n_parameters) < 0)
        return -1;
    vg_numa_mode_fill(response);
    return 0;
}

/*
 * The request's parameters plus `mode` as libvirt's "numa_mode" (an int holding a
 * virDomainNumatuneMemMode), in the call's memory. Returns 0, or -1 with
 * INVALID_ARGUMENT when the mode has no libvirt value or is given twice.
 */
static int
vg_numa_request_params(vg_call *call,
                       const Virtgrpc__V1__SetDomainNumaParametersRequest *request,
                       Virtgrpc__V1__TypedParameter ***params, size_t *n_params)
{
    Virtgrpc__V1__TypedParameter *mode;
    int64_t libvirt_mode;

    *params = request->parameters;
    *n_params = request->n_parameters;
    if (request->mode == VIRTGRPC__V1__NUMATUNE_MEM_MODE__NUMATUNE_MEM_MODE_UNSPECIFIED)
        return 0;
    if (vg_enum_to_libvirt(&vg_enum_numatune_mem_mode, (int)request->mode, &libvirt_mode) <
        0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "field 'mode' has value %d, which is not a %s",
                            (int)request->mode, vg_enum_numatune_mem_mode.full_name);
    }
    for (size_t i = 0; i < request->n_parameters; i++) {
        if (request->parameters[i]->name &&
            strcmp(request->parameters[i]->name, VIR_DOMAIN_NUMA_MODE) == 0) {
            return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                                VG_REASON_INVALID_REQUEST,
                                "the mode is set twice: in 'mode' and as parameter '%s'; "
                                "set one of them",
                                VIR_DOMAIN_NUMA_MODE);
        }
    }

    mode = VG_NEW(call, Virtgrpc__V1__TypedParameter, virtgrpc__v1__typed_parameter__init);
    mode->name = vg_call_strdup(call, VIR_DOMAIN_NUMA_MODE);
    mode->value_case = VIRTGRPC__V1__TYPED_PARAMETER__VALUE_INT32_VALUE;
    mode->int32_value = (int32_t)libvirt_mode;
    *params = vg_call_alloc(call, sizeof(**params) * (request->n_parameters + 1));
    if (request->n_parameters) {
        memcpy(*params, request->parameters, sizeof(**params) * request->n_parameters);
    }
    (*params)[request->n_parameters] = mode;
    *n_params = request->n_parameters + 1;
    return 0;
}

int
vgh_tuning_service_set_domain_numa_parameters(
    vg_call *call, const Virtgrpc__V1__SetDomainNumaParametersRequest *request,
    Virtgrpc__V1__DomainNumaParameters *response)
{
    Virtgrpc__V1__TypedParameter **params;
    size_t n_params;
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0 ||
        vg_numa_request_params(call, request, &params, &n_params) < 0)
        return -1;
    if (vg_domain_params_write(call, request->domain, &vg_numa_params, NULL, flags, params,
                               n_params, &response->parameters,
                               &response->n_parameters) < 0)
        return -1;
    vg_numa_mode_fill(response);
    return 0;
}

int
vgh_tuning_service_get_domain_interface_parameters(
    vg_call *call, const Virtgrpc__V1__GetDomainInterfaceParametersRequest *request,
    Virtgrpc__V1__DomainInterfaceParameters *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    response->device = request->device;
    return vg_domain_params_read(call, request->domain, &vg_interface_params,
                                 request->device, flags, &response->parameters,
                                 &response->n_parameters);
}

int
vgh_tuning_service_set_domain_interface_parameters(
    vg_call *call, const Virtgrpc__V1__SetDomainInterfaceParametersRequest *request,
    Virtgrpc__V1__DomainInterfaceParameters *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    response->device = request->device;
    return vg_domain_params_write(call, request->domain, &vg_interface_params,
                                  request->device, flags, request->parameters,
                                  request->n_parameters, &response->parameters,
                                  &response->n_parameters);
}

int
vgh_tuning_service_get_domain_block_io_tune(
    vg_call *call, const Virtgrpc__V1__GetDomainBlockIoTuneRequest *request,
    Virtgrpc__V1__DomainBlockIoTune *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    response->disk = request->disk;
    return vg_domain_params_read(call, request->domain, &vg_block_iotune_params,
                                 request->disk, flags, &response->parameters,
                                 &response->n_parameters);
}

int
vgh_tuning_service_set_domain_block_io_tune(
    vg_call *call, const Virtgrpc__V1__SetDomainBlockIoTuneRequest *request,
    Virtgrpc__V1__DomainBlockIoTune *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    response->disk = request->disk;
    return vg_domain_params_write(call, request->domain, &vg_block_iotune_params,
                                  request->disk, flags, request->parameters,
                                  request->n_parameters, &response->parameters,
                                  &response->n_parameters);
}

int
vgh_tuning_service_get_domain_perf_events(
    vg_call *call, const Virtgrpc__V1__GetDomainPerfEventsRequest *request,
    Virtgrpc__V1__DomainPerfEvents *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    return vg_domain_params_read(call, request->domain, &vg_perf_events, NULL, flags,
                                 &response->parameters, &response->n_parameters);
}

int
vgh_tuning_service_set_domain_perf_events(
    vg_call *call, const Virtgrpc__V1__SetDomainPerfEventsRequest *request,
    Virtgrpc__V1__DomainPerfEvents *response)
{
    unsigned int flags = 0;

    if (VG_IMPACT(call, request, &flags) < 0)
        return -1;
    return vg_domain_params_write(call, request->domain, &vg_perf_events, NULL, flags,
                                  request->parameters, request->n_parameters,
                                  &response->parameters, &response->n_parameters);
}
