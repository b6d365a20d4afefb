/*
 * DeviceService: device hot-plug from XML, disk peeks, resizes, information, statistics
 * and write thresholds, interface statistics and the guest's IP addresses.
 */
#include <stdlib.h>
#include <string.h>
#include <libvirt/virterror.h>

#include "server/services/domain-common.h"
#include "server/services/service.h"
#include "server/typed-params.h"
#include "vg-methods.h"

/* INVALID_ARGUMENT for an empty required string field. */
static int
vg_device_require(vg_call *call, const char *field, const char *value)
{
    if (!value || !*value) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' is empty", field);
    }
    return 0;
}

/* The shape of attach, detach, detach-by-alias and update: a string (device XML or
 * alias) and virDomainDeviceModifyFlags. */
static int
vg_device_modify(vg_call *call, const Virtgrpc__V1__DomainRef *ref, const char *field,
                 const char *value, const int *flag_values, size_t n_flags,
                 int (*action)(virDomainPtr, const char *, unsigned int))
{
    unsigned int flags = 0;
    virDomainPtr domain;

    if (vg_device_require(call, field, value) < 0)
        return -1;
    if (vg_service_flags(call, &vg_enum_device_modify_flag, flag_values, n_flags, "flags",
                         &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, ref)))
        return -1;
    if (action(domain, value, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_device_service_attach_domain_device(
    vg_call *call, const Virtgrpc__V1__AttachDomainDeviceRequest *request,
    Virtgrpc__V1__AttachDomainDeviceResponse *response)
{
    return vg_device_modify(call, request->domain, "device_xml", request->device_xml,
                            (const int *)request->flags, request->n_flags,
                            virDomainAttachDeviceFlags);
}

int
vgh_device_service_detach_domain_device(
    vg_call *call, const Virtgrpc__V1__DetachDomainDeviceRequest *request,
    Virtgrpc__V1__DetachDomainDeviceResponse *response)
{
    return vg_device_modify(call, request->domain, "device_xml", request->device_xml,
                            (const int *)request->flags, request->n_flags,
                            virDomainDetachDeviceFlags);
}

int
vgh_device_service_detach_domain_device_alias(
    vg_call *call, const Virtgrpc__V1__DetachDomainDeviceAliasRequest *request,
    Virtgrpc__V1__DetachDomainDeviceAliasResponse *response)
{
    return vg_device_modify(call, request->domain, "alias", request->alias,
                            (const int *)request->flags, request->n_flags,
                            virDomainDetachDeviceAlias);
}

int
vgh_device_service_update_domain_device(
    vg_call *call, const Virtgrpc__V1__UpdateDomainDeviceRequest *request,
    Virtgrpc__V1__UpdateDomainDeviceResponse *response)
{
    return vg_device_modify(call, request->domain, "device_xml", request->device_xml,
                            (const int *)request->flags, request->n_flags,
                            virDomainUpdateDeviceFlags);
}

/* Checks a request's disk (or interface) name and resolves its domain. */
static virDomainPtr
vg_device_domain(vg_call *call, const Virtgrpc__V1__DomainRef *ref, const char *field,
                 const char *value)
{
    if (vg_device_require(call, field, value) < 0)
        return NULL;
    return vg_domain_lookup(call, ref);
}

int
vgh_device_service_peek_domain_block(vg_call *call,
                                     const Virtgrpc__V1__PeekDomainBlockRequest *request,
                                     Virtgrpc__V1__PeekDomainBlockResponse *response)
{
    virDomainPtr domain;

    if (vg_peek_check(call, "offset_bytes", request->offset_bytes, request->size_bytes) < 0)
        return -1;
    if (!(domain = vg_device_domain(call, request->domain, "disk", request->disk)))
        return -1;
    return vg_peek_read(call, domain, virDomainBlockPeek, request->disk,
                        request->offset_bytes, request->size_bytes, 0, &response->data);
}

int
vgh_device_service_resize_domain_block(
    vg_call *call, const Virtgrpc__V1__ResizeDomainBlockRequest *request,
    Virtgrpc__V1__ResizeDomainBlockResponse *response)
{
    virDomainPtr domain;

    if (request->size_bytes == 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'size_bytes' is 0: give the disk's new size in bytes");
    }
    if (!(domain = vg_device_domain(call, request->domain, "disk", request->disk)))
        return -1;
    if (virDomainBlockResize(domain, request->disk, request->size_bytes,
                             VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_device_service_get_domain_block_info(
    vg_call *call, const Virtgrpc__V1__GetDomainBlockInfoRequest *request,
    Virtgrpc__V1__GetDomainBlockInfoResponse *response)
{
    virDomainPtr domain = vg_device_domain(call, request->domain, "disk", request->disk);
    virDomainBlockInfo info;

    if (!domain)
        return -1;
    if (virDomainGetBlockInfo(domain, request->disk, &info, 0) < 0)
        return vg_call_fail_libvirt(call);
    response->capacity_bytes = info.capacity;
    response->allocation_bytes = info.allocation;
    response->physical_bytes = info.physical;
    return 0;
}

/* Sets a counter with presence: `field` is in `oneof field_present { int64 field }` of
 * the message whose protobuf-c constants start with `PREFIX`. */
#define VG_SET_PRESENT(msg, PREFIX, field, FIELD, value)                                   \
    do {                                                                                   \
        (msg)->field = (value);                                                            \
        (msg)->field##_present_case = PREFIX##__##FIELD##_PRESENT_##FIELD;                 \
    } while (0)

/* A legacy counter (virDomainBlockStatsStruct, virDomainInterfaceStatsStruct): -1 means
 * the hypervisor does not report it, and the field stays absent. */
#define VG_SET_COUNTER(msg, PREFIX, field, FIELD, value)                                   \
    do {                                                                                   \
        if ((value) >= 0)                                                                  \
            VG_SET_PRESENT(msg, PREFIX, field, FIELD, value);                              \
    } while (0)

#define VG_BLOCK_STAT(setter, field, FIELD, value)                                         \
    setter(response, VIRTGRPC__V1__GET_DOMAIN_BLOCK_STATS_RESPONSE, field, FIELD, value)
#define VG_IFACE_STAT(field, FIELD, value)                                                 \
    VG_SET_COUNTER(response, VIRTGRPC__V1__GET_DOMAIN_INTERFACE_STATS_RESPONSE, field,     \
                   FIELD, value)

typedef struct {
    virTypedParameterPtr params;
    int n_params;
} vg_block_stats_params;

static void
vg_block_stats_params_free(void *data)
{
    vg_block_stats_params *p = data;

    virTypedParamsClear(p->params, p->n_params);
    free(p->params);
}

/* Fills the response from virDomainBlockStats when the driver lacks the Flags call. */
static int
vg_block_stats_legacy(vg_call *call, virDomainPtr domain, const char *disk,
                      Virtgrpc__V1__GetDomainBlockStatsResponse *response)
{
    virDomainBlockStatsStruct stats;

    if (virDomainBlockStats(domain, disk, &stats, sizeof(stats)) < 0)
        return vg_call_fail_libvirt(call);
    VG_BLOCK_STAT(VG_SET_COUNTER, rd_req, RD_REQ, stats.rd_req);
    VG_BLOCK_STAT(VG_SET_COUNTER, rd_bytes, RD_BYTES, stats.rd_bytes);
    VG_BLOCK_STAT(VG_SET_COUNTER, wr_req, WR_REQ, stats.wr_req);
    VG_BLOCK_STAT(VG_SET_COUNTER, wr_bytes, WR_BYTES, stats.wr_bytes);
    VG_BLOCK_STAT(VG_SET_COUNTER, errs, ERRS, stats.errs);
    return 0;
}

int
vgh_device_service_get_domain_block_stats(
    vg_call *call, const Virtgrpc__V1__GetDomainBlockStatsRequest *request,
    Virtgrpc__V1__GetDomainBlockStatsResponse *response)
{
    virDomainPtr domain = vg_device_domain(call, request->domain, "disk", request->disk);
    vg_block_stats_params *p;
    virTypedParameter *other;
    int n_other = 0;
    int n = 0;

    if (!domain)
        return -1;
    /* First ask how many parameters there are; a driver without the Flags call (the test
     * driver) says VIR_ERR_NO_SUPPORT, and the older call answers instead. */
    if (virDomainBlockStatsFlags(domain, request->disk, NULL, &n, 0) < 0) {
        if (virGetLastErrorCode() == VIR_ERR_NO_SUPPORT)
            return vg_block_stats_legacy(call, domain, request->disk, response);
        return vg_call_fail_libvirt(call);
    }
    p = vg_call_alloc(call, sizeof(*p));
    p->params = calloc((size_t)(n ? n : 1), sizeof(*p->params));
    if (!p->params)
        abort();
    vg_call_defer(call, vg_block_stats_params_free, p);
    if (virDomainBlockStatsFlags(domain, request->disk, p->params, &n, 0) < 0)
        return vg_call_fail_libvirt(call);
    p->n_params = n;

    other = vg_call_alloc(call, sizeof(*other) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        const virTypedParameter *param = &p->params[i];
        const char *name = param->field;
        long long value = param->value.l;

        if (param->type != VIR_TYPED_PARAM_LLONG)
            other[n_other++] = *param;
        else if (!strcmp(name, VIR_DOMAIN_BLOCK_STATS_READ_REQ))
            VG_BLOCK_STAT(VG_SET_PRESENT, rd_req, RD_REQ, value);
        else if (!strcmp(name, VIR_DOMAIN_BLOCK_STATS_READ_BYTES))
            VG_BLOCK_STAT(VG_SET_PRESENT, rd_bytes, RD_BYTES, value);
        else if (!strcmp(name, VIR_DOMAIN_BLOCK_STATS_WRITE_REQ))
            VG_BLOCK_STAT(VG_SET_PRESENT, wr_req, WR_REQ, value);
        else if (!strcmp(name, VIR_DOMAIN_BLOCK_STATS_WRITE_BYTES))
            VG_BLOCK_STAT(VG_SET_PRESENT, wr_bytes, WR_BYTES, value);
        else if (!strcmp(name, VIR_DOMAIN_BLOCK_STATS_ERRS))
            VG_BLOCK_STAT(VG_SET_PRESENT, errs, ERRS, value);
        else if (!strcmp(name, VIR_DOMAIN_BLOCK_STATS_FLUSH_REQ))
            VG_BLOCK_STAT(VG_SET_PRESENT, flush_req, FLUSH_REQ, value);
        else if (!strcmp(name, VIR_DOMAIN_BLOCK_STATS_READ_TOTAL_TIMES))
            VG_BLOCK_STAT(VG_SET_PRESENT, rd_total_time_ns, RD_TOTAL_TIME_NS, value);
        else if (!strcmp(name, VIR_DOMAIN_BLOCK_STATS_WRITE_TOTAL_TIMES))
            VG_BLOCK_STAT(VG_SET_PRESENT, wr_total_time_ns, WR_TOTAL_TIME_NS, value);
        else if (!strcmp(name, VIR_DOMAIN_BLOCK_STATS_FLUSH_TOTAL_TIMES))
            VG_BLOCK_STAT(VG_SET_PRESENT, flush_total_time_ns, FLUSH_TOTAL_TIME_NS, value);
        else
            other[n_other++] = *param;
    }
    vg_typed_params_to_proto(vg_call_arena(call), other, n_other, &response->other,
                             &response->n_other);
    return 0;
}

int
vgh_device_service_get_domain_interface_stats(
    vg_call *call, const Virtgrpc__V1__GetDomainInterfaceStatsRequest *request,
    Virtgrpc__V1__GetDomainInterfaceStatsResponse *response)
{
    virDomainPtr domain =
        vg_device_domain(call, request->domain, "device", request->device);
    virDomainInterfaceStatsStruct stats;

    if (!domain)
        return -1;
    if (virDomainInterfaceStats(domain, request->device, &stats, sizeof(stats)) < 0)
        return vg_call_fail_libvirt(call);
    VG_IFACE_STAT(rx_bytes, RX_BYTES, stats.rx_bytes);
    VG_IFACE_STAT(rx_packets, RX_PACKETS, stats.rx_packets);
    VG_IFACE_STAT(rx_errs, RX_ERRS, stats.rx_errs);
    VG_IFACE_STAT(rx_drop, RX_DROP, stats.rx_drop);
    VG_IFACE_STAT(tx_bytes, TX_BYTES, stats.tx_bytes);
    VG_IFACE_STAT(tx_packets, TX_PACKETS, stats.tx_packets);
    VG_IFACE_STAT(tx_errs, TX_ERRS, stats.tx_errs);
    VG_IFACE_STAT(tx_drop, TX_DROP, stats.tx_drop);
    return 0;
}

int
vgh_device_service_set_domain_block_threshold(
    vg_call *call, const Virtgrpc__V1__SetDomainBlockThresholdRequest *request,
    Virtgrpc__V1__SetDomainBlockThresholdResponse *response)
{
    virDomainPtr domain = vg_device_domain(call, request->domain, "disk", request->disk);

    if (!domain)
        return -1;
    if (virDomainSetBlockThreshold(domain, request->disk, request->threshold_bytes, 0) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

typedef struct {
    virDomainInterfacePtr *ifaces;
    int n_ifaces;
} vg_interfaces;

static void
vg_interfaces_free(void *data)
{
    vg_interfaces *list = data;

    for (int i = 0; i < list->n_ifaces; i++)
        virDomainInterfaceFree(list->ifaces[i]);
    free(list->ifaces);
}

int
vgh_device_service_get_domain_interface_addresses(
    vg_call *call, const Virtgrpc__V1__GetDomainInterfaceAddressesRequest *request,
    Virtgrpc__V1__GetDomainInterfaceAddressesResponse *response)
{
    int source = VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE; /* libvirt's 0 */
    virDomainInterfacePtr *ifaces = NULL;
    virDomainPtr domain;
    vg_interfaces *list;
    int n;

    if (request->source &&
        VG_ENUM(call, vg_enum_interface_address_source, request, source, &source) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if ((n = virDomainInterfaceAddresses(domain, &ifaces, (unsigned int)source, 0)) < 0)
        return vg_call_fail_libvirt(call);
    list = vg_call_alloc(call, sizeof(*list));
    list->ifaces = ifaces;
    list->n_ifaces = n;
    vg_call_defer(call, vg_interfaces_free, list);

    response->interfaces =
        vg_call_alloc(call, sizeof(*response->interfaces) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        Virtgrpc__V1__InterfaceAddresses *iface =
            VG_NEW(call, Virtgrpc__V1__InterfaceAddresses,
                   virtgrpc__v1__interface_addresses__init);

        iface->name = vg_call_strdup(call, ifaces[i]->name ? ifaces[i]->name : "");
        iface->hwaddr = vg_call_strdup(call, ifaces[i]->hwaddr ? ifaces[i]->hwaddr : "");
        iface->addresses = vg_call_alloc(
            call, sizeof(*iface->addresses) * (ifaces[i]->naddrs ? ifaces[i]->naddrs : 1));
        for (unsigned int j = 0; j < ifaces[i]->naddrs; j++) {
            const virDomainIPAddress *in = &ifaces[i]->addrs[j];
            Virtgrpc__V1__IpAddress *out =
                VG_NEW(call, Virtgrpc__V1__IpAddress, virtgrpc__v1__ip_address__init);

            out->type = vg_enum_from_libvirt(&vg_enum_ip_address_type, in->type);
            out->address = vg_call_strdup(call, in->addr ? in->addr : "");
            out->prefix = in->prefix;
            iface->addresses[iface->n_addresses++] = out;
        }
        response->interfaces[response->n_interfaces++] = iface;
    }
    return 0;
}
