/*
 * DomainService: what acts on a running guest without stopping it — guest power
 * management (PM suspend and wake-up), the NMI button, key presses, signals to guest
 * processes, and the guest's clock. Every RPC but GetDomainTime returns the domain as
 * it is after the call.
 */
#include "server/services/domain-common.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* Nanoseconds per second: DomainTime.nanoseconds stays below it. */
#define VG_NANOSECONDS_PER_SECOND 1000000000u

int
vgh_domain_service_pm_suspend_domain(vg_call *call,
                                     const Virtgrpc__V1__PMSuspendDomainRequest *request,
                                     Virtgrpc__V1__Domain *response)
{
    virDomainPtr domain;
    int target;

    if (VG_ENUM(call, vg_enum_pm_suspend_target, request, target, &target) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    /* flags: reserved, must be 0 */
    if (virDomainPMSuspendForDuration(domain, (unsigned int)target, request->duration_s,
                                      0) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}

int
vgh_domain_service_pm_wakeup_domain(vg_call *call,
                                    const Virtgrpc__V1__PMWakeupDomainRequest *request,
                                    Virtgrpc__V1__Domain *response)
{
    /* flags: reserved, must be 0 */
    return vg_domain_act_flags(call, request->domain, virDomainPMWakeup, 0,
                               VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_UNKNOWN, response);
}

int
vgh_domain_service_inject_domain_nmi(vg_call *call,
                                     const Virtgrpc__V1__InjectDomainNMIRequest *request,
                                     Virtgrpc__V1__Domain *response)
{
    /* flags: reserved, must be 0 */
    return vg_domain_act_flags(call, request->domain, virDomainInjectNMI, 0,
                               VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_UNKNOWN, response);
}

int
vgh_domain_service_send_domain_key(vg_call *call,
                                   const Virtgrpc__V1__SendDomainKeyRequest *request,
                                   Virtgrpc__V1__Domain *response)
{
    virDomainPtr domain;
    int keycode_set;

    if (VG_ENUM(call, vg_enum_keycode_set, request, keycode_set, &keycode_set) < 0)
        return -1;
    if (request->n_keycodes == 0 || request->n_keycodes > VIR_DOMAIN_SEND_KEY_MAX_KEYS) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'keycodes' has %zu codes: give 1 to %d keys to press together",
                            request->n_keycodes, VIR_DOMAIN_SEND_KEY_MAX_KEYS);
    }
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    /* flags: reserved, must be 0 */
    if (virDomainSendKey(domain, (unsigned int)keycode_set, request->hold_time_ms,
                         request->keycodes, (int)request->n_keycodes, 0) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}

int
vgh_domain_service_send_domain_process_signal(
    vg_call *call, const Virtgrpc__V1__SendDomainProcessSignalRequest *request,
    Virtgrpc__V1__Domain *response)
{
    virDomainPtr domain;
    int signal_number;

    if (request->pid < 1) {
        return vg_call_fail(
            call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
            "'pid' is %lld: give the id of a process in the guest (1 or more)",
            (long long)request->pid);
    }
    if (VG_ENUM(call, vg_enum_process_signal, request, signal, &signal_number) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    /* flags: reserved, must be 0 */
    if (virDomainSendProcessSignal(domain, request->pid, (unsigned int)signal_number, 0) <
        0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}

int
vgh_domain_service_get_domain_time(vg_call *call,
                                   const Virtgrpc__V1__GetDomainTimeRequest *request,
                                   Virtgrpc__V1__DomainTime *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    long long seconds;
    unsigned int nanoseconds;

    if (!domain)
        return -1;
    if (virDomainGetTime(domain, &seconds, &nanoseconds, 0) < 0) /* flags: reserved */
        return vg_call_fail_libvirt(call);
    response->seconds = seconds;
    response->nanoseconds = nanoseconds;
    return 0;
}

int
vgh_domain_service_set_domain_time(vg_call *call,
                                   const Virtgrpc__V1__SetDomainTimeRequest *request,
                                   Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    if (VG_FLAGS(call, vg_enum_set_time_flag, request, flags, &flags) < 0)
        return -1;
    if (request->nanoseconds >= VG_NANOSECONDS_PER_SECOND) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'nanoseconds' is %u: give 0 to 999999999 (whole seconds go in "
                            "'seconds')",
                            request->nanoseconds);
    }
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainSetTime(domain, request->seconds, request->nanoseconds, flags) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}
