/*
 * DomainService: a running domain's memory to a file and back — save and restore to a
 * path, managed save (an image libvirt keeps and StartDomain resumes from) and core
 * dumps. Paths are on the server's host. Each handler is one libvirt call that can run
 * for as long as the guest's memory takes to write or read.
 */
#include <stdlib.h>

#include "server/services/domain-common.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* Optional XML fields: empty means "none" to libvirt. */
static const char *
vg_optional(const char *text)
{
    return text && *text ? text : NULL;
}

int
vgh_domain_service_save_domain(vg_call *call,
                               const Virtgrpc__V1__SaveDomainRequest *request,
                               Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    if (VG_FLAGS(call, vg_enum_save_flag, request, flags, &flags) < 0 ||
        vg_request_host_path(call, "path", request->path) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainSaveFlags(domain, request->path, vg_optional(request->xml), flags) < 0)
        return vg_call_fail_libvirt(call);
    /* A transient domain is gone once saved. */
    return vg_domain_fill_gone(call, domain, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SAVED,
                               response);
}

int
vgh_domain_service_restore_domain(vg_call *call,
                                  const Virtgrpc__V1__RestoreDomainRequest *request,
                                  Virtgrpc__V1__RestoreDomainResponse *response)
{
    unsigned int flags = 0;
    virConnectPtr conn;

    (void)response;
    if (VG_FLAGS(call, vg_enum_save_flag, request, flags, &flags) < 0 ||
        vg_request_host_path(call, "path", request->path) < 0)
        return -1;
    if (!(conn = vg_service_conn(call)))
        return -1;
    if (virDomainRestoreFlags(conn, request->path, vg_optional(request->xml), flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_domain_service_managed_save_domain(
    vg_call *call, const Virtgrpc__V1__ManagedSaveDomainRequest *request,
    Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;

    if (VG_FLAGS(call, vg_enum_save_flag, request, flags, &flags) < 0)
        return -1;
    return vg_domain_act_flags(call, request->domain, virDomainManagedSave, flags,
                               VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SAVED, response);
}

int
vgh_domain_service_has_domain_managed_save_image(
    vg_call *call, const Virtgrpc__V1__HasDomainManagedSaveImageRequest *request,
    Virtgrpc__V1__HasDomainManagedSaveImageResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    int rc;

    if (!domain)
        return -1;
    if ((rc = virDomainHasManagedSaveImage(domain, 0)) < 0) /* flags: reserved */
        return vg_call_fail_libvirt(call);
    response->has_image = rc != 0;
    return 0;
}

int
vgh_domain_service_remove_domain_managed_save_image(
    vg_call *call, const Virtgrpc__V1__RemoveDomainManagedSaveImageRequest *request,
    Virtgrpc__V1__Domain *response)
{
    /* flags: reserved, must be 0 */
    return vg_domain_act_flags(call, request->domain, virDomainManagedSaveRemove, 0,
                               VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_UNKNOWN, response);
}

int
vgh_domain_service_define_domain_managed_save_xml(
    vg_call *call, const Virtgrpc__V1__DefineDomainManagedSaveXMLRequest *request,
    Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    if (VG_FLAGS(call, vg_enum_save_flag, request, flags, &flags) < 0)
        return -1;
    if (!*request->xml) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'xml' is empty: give the domain XML to store in the "
                            "managed-save image");
    }
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainManagedSaveDefineXML(domain, request->xml, flags) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}

int
vgh_domain_service_get_domain_managed_save_xml(
    vg_call *call, const Virtgrpc__V1__GetDomainManagedSaveXMLRequest *request,
    Virtgrpc__V1__GetDomainManagedSaveXMLResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    char *xml;

    if (VG_FLAGS(call, vg_enum_save_image_xml_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (!(xml = virDomainManagedSaveGetXMLDesc(domain, flags)))
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, free, xml);
    response->xml = xml;
    return 0;
}

int
vgh_domain_service_core_dump_domain(vg_call *call,
                                    const Virtgrpc__V1__CoreDumpDomainRequest *request,
                                    Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    int format = -1;
    int rc;

    if (VG_FLAGS(call, vg_enum_core_dump_flag, request, flags, &flags) < 0 ||
        vg_request_host_path(call, "path", request->path) < 0)
        return -1;
    /* The format is optional: unset means the hypervisor's default format. */
    if (request->format != VIRTGRPC__V1__CORE_DUMP_FORMAT__CORE_DUMP_FORMAT_UNSPECIFIED &&
        VG_ENUM(call, vg_enum_core_dump_format, request, format, &format) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (format < 0)
        rc = virDomainCoreDump(domain, request->path, flags);
    else
        rc =
            virDomainCoreDumpWithFormat(domain, request->path, (unsigned int)format, flags);
    if (rc < 0)
        return vg_call_fail_libvirt(call);
    /* CORE_DUMP_FLAG_CRASH stops the domain; a transient one is then gone. */
    return vg_domain_fill_gone(call, domain, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED,
                               response);
}
