#include "server/services/domain-common.h"

int
vg_domain_act_flags(vg_call *call, const Virtgrpc__V1__DomainRef *ref,
                    int (*action)(virDomainPtr, unsigned int), unsigned int flags,
                    int gone_state, int gone_reason, Virtgrpc__V1__Domain *response)
{
    virDomainPtr domain = vg_domain_lookup(call, ref);

    if (!domain)
        return -1;
    if (action(domain, flags) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill_gone(call, domain, gone_state, gone_reason, response);
}

int
vg_request_enum(vg_call *call, const vg_enum_map *map, int value, const char *field,
                int *libvirt_value)
{
    int64_t converted;

    if (value == 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "field '%s' is not set: give a %s value", field,
                            map->full_name);
    }
    if (vg_enum_to_libvirt(map, value, &converted) < 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "field '%s' has value %d, which is not a %s", field, value,
                            map->full_name);
    }
    *libvirt_value = (int)converted;
    return 0;
}

int
vg_request_host_path(vg_call *call, const char *field, const char *path)
{
    if (!path || !*path) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' is empty: give an absolute path on the server's host",
                            field);
    }
    if (path[0] != '/') {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' is '%s', a relative path: give an absolute path on the "
                            "server's host",
                            field, path);
    }
    return 0;
}
