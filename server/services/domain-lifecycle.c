/*
 * DomainService: starting, stopping, pausing and resetting domains (and refusing
 * StartDomainWithFiles, whose file descriptors cannot cross the network).
 * Every RPC returns the domain as it is after the call.
 */
#include "server/services/domain-common.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* The shape most lifecycle RPCs share: resolve, one libvirt call, report the domain. */
static int
vg_domain_act(vg_call *call, const Virtgrpc__V1__DomainRef *ref,
              int (*action)(virDomainPtr), Virtgrpc__V1__Domain *response)
{
    virDomainPtr domain = vg_domain_lookup(call, ref);

    if (!domain)
        return -1;
    if (action(domain) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}

int
vgh_domain_service_start_domain(vg_call *call,
                                const Virtgrpc__V1__StartDomainRequest *request,
                                Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;

    if (VG_FLAGS(call, vg_enum_start_flag, request, flags, &flags) < 0)
        return -1;
    return vg_domain_act_flags(call, request->domain, virDomainCreateWithFlags, flags,
                               VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_UNKNOWN, response);
}

int
vgh_domain_service_create_domain(vg_call *call,
                                 const Virtgrpc__V1__CreateDomainRequest *request,
                                 Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    virConnectPtr conn;
    virDomainPtr domain;

    if (VG_FLAGS(call, vg_enum_start_flag, request, flags, &flags) < 0)
        return -1;
    if (!*request->xml) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'xml' is empty: give the domain XML to create");
    }
    if (!(conn = vg_service_conn(call)))
        return -1;
    domain = vg_domain_adopt(call, virDomainCreateXML(conn, request->xml, flags));
    if (!domain)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}

int
vgh_domain_service_shutdown_domain(vg_call *call,
                                   const Virtgrpc__V1__ShutdownDomainRequest *request,
                                   Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;

    if (VG_FLAGS(call, vg_enum_shutdown_mode, request, modes, &flags) < 0)
        return -1;
    /* The test driver shuts a transient domain off at once, and it is gone. */
    return vg_domain_act_flags(call, request->domain, virDomainShutdownFlags, flags,
                               VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN, response);
}

int
vgh_domain_service_reboot_domain(vg_call *call,
                                 const Virtgrpc__V1__RebootDomainRequest *request,
                                 Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;

    if (VG_FLAGS(call, vg_enum_reboot_mode, request, modes, &flags) < 0)
        return -1;
    return vg_domain_act_flags(call, request->domain, virDomainReboot, flags,
                               VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_UNKNOWN, response);
}

static int
vg_domain_reset_now(virDomainPtr domain)
{
    return virDomainReset(domain, 0); /* flags: reserved, must be 0 */
}

int
vgh_domain_service_reset_domain(vg_call *call,
                                const Virtgrpc__V1__ResetDomainRequest *request,
                                Virtgrpc__V1__Domain *response)
{
    return vg_domain_act(call, request->domain, vg_domain_reset_now, response);
}

int
vgh_domain_service_destroy_domain(vg_call *call,
                                  const Virtgrpc__V1__DestroyDomainRequest *request,
                                  Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;

    if (VG_FLAGS(call, vg_enum_destroy_flag, request, flags, &flags) < 0)
        return -1;
    return vg_domain_act_flags(call, request->domain, virDomainDestroyFlags, flags,
                               VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED, response);
}

int
vgh_domain_service_suspend_domain(vg_call *call,
                                  const Virtgrpc__V1__SuspendDomainRequest *request,
                                  Virtgrpc__V1__Domain *response)
{
    return vg_domain_act(call, request->domain, virDomainSuspend, response);
}

int
vgh_domain_service_resume_domain(vg_call *call,
                                 const Virtgrpc__V1__ResumeDomainRequest *request,
                                 Virtgrpc__V1__Domain *response)
{
    return vg_domain_act(call, request->domain, virDomainResume, response);
}

int
vgh_domain_service_start_domain_with_files(
    vg_call *call, const Virtgrpc__V1__StartDomainWithFilesRequest *request,
    Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;

    (void)response;
    if (VG_FLAGS(call, vg_enum_start_flag, request, flags, &flags) < 0)
        return -1;
    if (!vg_domain_lookup(call, request->domain))
        return -1;
    /* virDomainCreateWithFiles passes file descriptors of the calling process to the
     * domain: the client's descriptors cannot travel over gRPC, and virtgrpcd's own are
     * no business of the client's. */
    return vg_call_fail(call, GRPC_STATUS_UNIMPLEMENTED, VG_REASON_INVALID_REQUEST,
                        "StartDomainWithFiles cannot pass file descriptors over the network "
                        "(virDomainCreateWithFiles): use StartDomain and give the domain its "
                        "files by path in its XML");
}
