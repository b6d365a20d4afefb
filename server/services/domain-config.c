/*
 * DomainService: persistent configuration — defining and undefining domains, their XML,
 * and autostart.
 */
#include <stdlib.h>

#include "server/services/service.h"
#include "vg-methods.h"

int
vgh_domain_service_define_domain(vg_call *call,
                                 const Virtgrpc__V1__DefineDomainRequest *request,
                                 Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    virConnectPtr conn;
    virDomainPtr domain;

    if (VG_FLAGS(call, vg_enum_define_flag, request, flags, &flags) < 0)
        return -1;
    if (!*request->xml) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'xml' is empty: give the domain XML to define");
    }
    if (!(conn = vg_service_conn(call)))
        return -1;
    domain = vg_domain_adopt(call, virDomainDefineXMLFlags(conn, request->xml, flags));
    if (!domain)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}

int
vgh_domain_service_undefine_domain(vg_call *call,
                                   const Virtgrpc__V1__UndefineDomainRequest *request,
                                   Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    if (VG_FLAGS(call, vg_enum_undefine_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainUndefineFlags(domain, flags) < 0)
        return vg_call_fail_libvirt(call);
    /* A shut-off domain is gone now; a running one lives on as a transient domain. */
    return vg_domain_fill_gone(call, domain, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_UNKNOWN,
                               response);
}

int
vgh_domain_service_get_domain_xml(vg_call *call,
                                  const Virtgrpc__V1__GetDomainXMLRequest *request,
                                  Virtgrpc__V1__GetDomainXMLResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    char *xml;

    if (VG_FLAGS(call, vg_enum_domain_xml_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (!(xml = virDomainGetXMLDesc(domain, flags)))
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, free, xml);
    response->xml = xml;
    return 0;
}

static int
vg_domain_autostart_fill(vg_call *call, virDomainPtr domain,
                         Virtgrpc__V1__DomainAutostart *response)
{
    int autostart;

    if (virDomainGetAutostart(domain, &autostart) < 0)
        return vg_call_fail_libvirt(call);
    response->autostart = autostart != 0;
    response->domain = VG_NEW(call, Virtgrpc__V1__Domain, virtgrpc__v1__domain__init);
    return vg_domain_fill(call, domain, response->domain);
}

int
vgh_domain_service_get_domain_autostart(vg_call *call,
                                        const Virtgrpc__V1__GetDomainAutostartRequest *request,
                                        Virtgrpc__V1__DomainAutostart *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);

    if (!domain)
        return -1;
    return vg_domain_autostart_fill(call, domain, response);
}

int
vgh_domain_service_set_domain_autostart(vg_call *call,
                                        const Virtgrpc__V1__SetDomainAutostartRequest *request,
                                        Virtgrpc__V1__DomainAutostart *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);

    if (!domain)
        return -1;
    if (virDomainSetAutostart(domain, request->autostart) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_autostart_fill(call, domain, response);
}
