/*
 * DomainService: finding domains and reading what they are — list, look-up, info,
 * state, host name, the is-active / is-persistent / is-updated questions, OS type,
 * messages, control interface, disk errors, security labels and launch security.
 */
#include <stdlib.h>
#include <string.h>

#include "server/services/domain-cache.h"
#include "server/services/domain-params.h"
#include "server/services/service.h"
#include "vg-methods.h"

int
vgh_domain_service_list_domains(vg_call *call,
                                const Virtgrpc__V1__ListDomainsRequest *request,
                                Virtgrpc__V1__ListDomainsResponse *response)
{
    unsigned int flags = 0;
    virConnectPtr conn;

    if (VG_FLAGS(call, vg_enum_list_domains_filter, request, filters, &flags) < 0)
        return -1;
    if (!(conn = vg_service_conn(call)))
        return -1;
    if (vg_domain_list(vg_call_arena(call), conn, flags, &response->domains,
                       &response->n_domains) < 0)
        return vg_call_fail_libvirt(call);
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

/*
 * The two hot getters use kept domain handles (server/services/domain-cache.h): one
 * libvirt call each while nothing changes, as a C client holding its handle pays. A
 * cached handle whose domain went away (VIR_ERR_NO_DOMAIN) is looked up once more.
 */
int
vgh_domain_service_get_domain_info(vg_call *call,
                                   const Virtgrpc__V1__GetDomainInfoRequest *request,
                                   Virtgrpc__V1__DomainInfo *response)
{
    virDomainPtr domain;
    virDomainInfo info;
    int state;
    int reason;

    for (bool from_cache = true;; from_cache = false) {
        if (!(domain = vg_domain_lookup_cached(call, request->domain, from_cache, &state,
                                               &reason)))
            return -1;
        if (virDomainGetInfo(domain, &info) == 0)
            break;
        if (!from_cache || !vg_domain_cache_stale(domain))
            return vg_call_fail_libvirt(call);
    }
    /* virDomainGetInfo has the state but not its reason: the reason read last still
     * holds while the state is the same (a change comes with an event that forgets it). */
    if (state < 0 || state != info.state) {
        if (virDomainGetState(domain, &state, &reason, 0) < 0)
            return vg_call_fail_libvirt(call);
        vg_domain_cache_set_state(domain, state, reason);
    }
    response->max_memory_kib = info.maxMem;
    response->memory_kib = info.memory;
    response->vcpus = info.nrVirtCpu;
    response->cpu_time_ns = info.cpuTime;
    response->domain = VG_NEW(call, Virtgrpc__V1__Domain, virtgrpc__v1__domain__init);
    return vg_domain_fill_state(call, domain, state, reason, response->domain);
}

int
vgh_domain_service_get_domain_state(vg_call *call,
                                    const Virtgrpc__V1__GetDomainStateRequest *request,
                                    Virtgrpc__V1__DomainStateInfo *response)
{
    virDomainPtr domain;
    int state;
    int reason;

    for (bool from_cache = true;; from_cache = false) {
        if (!(domain = vg_domain_lookup_cached(call, request->domain, from_cache, &state,
                                               &reason)))
            return -1;
        if (virDomainGetState(domain, &state, &reason, 0) == 0)
            break;
        if (!from_cache || !vg_domain_cache_stale(domain))
            return vg_call_fail_libvirt(call);
    }
    vg_domain_cache_set_state(domain, state, reason);
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

int
vgh_domain_service_get_domain_os_type(vg_call *call,
                                      const Virtgrpc__V1__GetDomainOSTypeRequest *request,
                                      Virtgrpc__V1__GetDomainOSTypeResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    char *os_type;

    if (!domain)
        return -1;
    if (!(os_type = virDomainGetOSType(domain)))
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, free, os_type);
    response->os_type = os_type;
    return 0;
}

/* `n_strings` strings in an array, all allocated by libvirt. */
typedef struct vg_string_list {
    char **strings;
    size_t n_strings;
} vg_string_list;

static void
vg_string_list_release(void *data)
{
    vg_string_list *list = data;

    for (size_t i = 0; i < list->n_strings; i++)
        free(list->strings[i]);
    free(list->strings);
}

int
vgh_domain_service_get_domain_messages(vg_call *call,
                                       const Virtgrpc__V1__GetDomainMessagesRequest *request,
                                       Virtgrpc__V1__GetDomainMessagesResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    vg_string_list *list;
    int n;

    if (VG_FLAGS(call, vg_enum_domain_message_type, request, types, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    list = vg_call_alloc(call, sizeof(*list));
    if ((n = virDomainGetMessages(domain, &list->strings, flags)) < 0)
        return vg_call_fail_libvirt(call);
    list->n_strings = (size_t)n;
    vg_call_defer(call, vg_string_list_release, list);
    response->messages = list->strings;
    response->n_messages = list->n_strings;
    return 0;
}

int
vgh_domain_service_get_domain_control_info(
    vg_call *call, const Virtgrpc__V1__GetDomainControlInfoRequest *request,
    Virtgrpc__V1__DomainControlInfo *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    virDomainControlInfo info;

    if (!domain)
        return -1;
    if (virDomainGetControlInfo(domain, &info, 0) < 0) /* flags: reserved, must be 0 */
        return vg_call_fail_libvirt(call);
    response->state = vg_enum_from_libvirt(&vg_enum_domain_control_state, info.state);
    /* `details` holds an error reason only in the ERROR state (0 otherwise, which would
     * read as ERROR_REASON_NONE). */
    if (info.state == VIR_DOMAIN_CONTROL_ERROR) {
        response->error_reason =
            vg_enum_from_libvirt(&vg_enum_domain_control_error_reason, info.details);
    }
    response->state_time_ms = info.stateTime;
    return 0;
}

/* The disk names of a virDomainGetDiskErrors result, which the caller frees. */
typedef struct vg_disk_errors {
    virDomainDiskErrorPtr errors;
    int n_errors;
} vg_disk_errors;

static void
vg_disk_errors_release(void *data)
{
    vg_disk_errors *owned = data;

    for (int i = 0; i < owned->n_errors; i++)
        free(owned->errors[i].disk);
}

int
vgh_domain_service_get_domain_disk_errors(
    vg_call *call, const Virtgrpc__V1__GetDomainDiskErrorsRequest *request,
    Virtgrpc__V1__GetDomainDiskErrorsResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    vg_disk_errors *owned;
    int n;

    if (!domain)
        return -1;
    /* libvirt's two steps: how many disks have errors, then the errors. */
    if ((n = virDomainGetDiskErrors(domain, NULL, 0, 0)) < 0)
        return vg_call_fail_libvirt(call);
    if (n == 0)
        return 0;
    owned = vg_call_alloc(call, sizeof(*owned));
    owned->errors = vg_call_alloc(call, sizeof(*owned->errors) * (size_t)n);
    if ((n = virDomainGetDiskErrors(domain, owned->errors, (unsigned int)n, 0)) < 0)
        return vg_call_fail_libvirt(call);
    owned->n_errors = n;
    vg_call_defer(call, vg_disk_errors_release, owned);

    response->errors = vg_call_alloc(call, sizeof(*response->errors) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        Virtgrpc__V1__DiskError *error = VG_NEW(call, Virtgrpc__V1__DiskError,
                                                virtgrpc__v1__disk_error__init);

        error->disk = owned->errors[i].disk;
        error->error = vg_enum_from_libvirt(&vg_enum_disk_error_code, owned->errors[i].error);
        response->errors[response->n_errors++] = error;
    }
    return 0;
}

/* The public API adds VIR_TYPED_PARAM_STRING_OKAY itself: no string_okay here. */
static const vg_domain_params_kind vg_launch_security_params = {
    .what = "launch-security parameters",
    .get_alloc = virDomainGetLaunchSecurityInfo,
};

int
vgh_domain_service_get_domain_launch_security_info(
    vg_call *call, const Virtgrpc__V1__GetDomainLaunchSecurityInfoRequest *request,
    Virtgrpc__V1__GetDomainLaunchSecurityInfoResponse *response)
{
    return vg_domain_params_read(call, request->domain, &vg_launch_security_params, NULL, 0,
                                 &response->params, &response->n_params);
}

static void
vg_security_label_fill(vg_call *call, const virSecurityLabel *label,
                       Virtgrpc__V1__SecurityLabel *out)
{
    out->label = vg_call_strdup(call, label->label);
    out->enforcing = label->enforcing != 0;
}

int
vgh_domain_service_get_domain_security_label(
    vg_call *call, const Virtgrpc__V1__GetDomainSecurityLabelRequest *request,
    Virtgrpc__V1__SecurityLabel *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    virSecurityLabel label;

    if (!domain)
        return -1;
    memset(&label, 0, sizeof(label));
    if (virDomainGetSecurityLabel(domain, &label) < 0)
        return vg_call_fail_libvirt(call);
    vg_security_label_fill(call, &label, response);
    return 0;
}

int
vgh_domain_service_list_domain_security_labels(
    vg_call *call, const Virtgrpc__V1__ListDomainSecurityLabelsRequest *request,
    Virtgrpc__V1__ListDomainSecurityLabelsResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    virSecurityLabelPtr labels = NULL;
    int n;

    if (!domain)
        return -1;
    if ((n = virDomainGetSecurityLabelList(domain, &labels)) < 0)
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, free, labels);
    response->labels = vg_call_alloc(call, sizeof(*response->labels) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        Virtgrpc__V1__SecurityLabel *label = VG_NEW(call, Virtgrpc__V1__SecurityLabel,
                                                    virtgrpc__v1__security_label__init);

        vg_security_label_fill(call, &labels[i], label);
        response->labels[response->n_labels++] = label;
    }
    return 0;
}
