/*
 * DomainService: configuration — defining and undefining domains, their XML, autostart,
 * metadata, renaming, lifecycle actions and the launch-security secret.
 */
#include <stdlib.h>

#include "server/services/domain-cache.h"
#include "server/services/domain-common.h"
#include "server/services/service.h"
#include "server/services/domain-params.h"
#include "server/typed-params.h"
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

/*
 * Checks the metadata fields that depend on the type and turns empty strings into the
 * NULLs libvirt wants: `namespace_uri` is for ELEMENT only and required there; `key`
 * (setters only: `key` != NULL) likewise, and required when a value is set.
 */
static int
vg_metadata_check(vg_call *call, int type, const char *metadata, const char **key,
                  const char **namespace_uri)
{
    bool is_element = type == VIR_DOMAIN_METADATA_ELEMENT;

    if (!**namespace_uri)
        *namespace_uri = NULL;
    if (key && !**key)
        *key = NULL;
    if (!is_element && (*namespace_uri || (key && *key))) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'namespace_uri' and 'key' apply to METADATA_TYPE_ELEMENT "
                            "only: leave them empty for a title or description");
    }
    if (is_element && !*namespace_uri) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'namespace_uri' is empty: METADATA_TYPE_ELEMENT needs the "
                            "element's XML namespace URI");
    }
    if (is_element && key && metadata && !*key) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'key' is empty: setting a METADATA_TYPE_ELEMENT needs the "
                            "XML namespace prefix to store it with");
    }
    return 0;
}

int
vgh_domain_service_get_domain_metadata(vg_call *call,
                                       const Virtgrpc__V1__GetDomainMetadataRequest *request,
                                       Virtgrpc__V1__GetDomainMetadataResponse *response)
{
    unsigned int flags = 0;
    const char *namespace_uri = request->namespace_uri;
    virDomainPtr domain;
    char *metadata;
    int type;

    if (VG_ENUM(call, vg_enum_metadata_type, request, type, &type) < 0 ||
        VG_FLAGS(call, vg_enum_modification_impact, request, impact, &flags) < 0 ||
        vg_metadata_check(call, type, NULL, NULL, &namespace_uri) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (!(metadata = virDomainGetMetadata(domain, type, namespace_uri, flags)))
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, free, metadata);
    response->metadata = metadata;
    return 0;
}

int
vgh_domain_service_set_domain_metadata(vg_call *call,
                                       const Virtgrpc__V1__SetDomainMetadataRequest *request,
                                       Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    const char *metadata = *request->metadata ? request->metadata : NULL;
    const char *key = request->key;
    const char *namespace_uri = request->namespace_uri;
    virDomainPtr domain;
    int type;

    if (VG_ENUM(call, vg_enum_metadata_type, request, type, &type) < 0 ||
        VG_FLAGS(call, vg_enum_modification_impact, request, impact, &flags) < 0 ||
        vg_metadata_check(call, type, metadata, &key, &namespace_uri) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainSetMetadata(domain, type, metadata, key, namespace_uri, flags) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}

int
vgh_domain_service_rename_domain(vg_call *call,
                                 const Virtgrpc__V1__RenameDomainRequest *request,
                                 Virtgrpc__V1__Domain *response)
{
    unsigned char uuid[VIR_UUID_BUFLEN];
    char uuid_text[VIR_UUID_STRING_BUFLEN];
    virDomainPtr domain;
    virDomainPtr renamed;

    if (!*request->new_name) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'new_name' is empty: give the domain's new name");
    }
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainGetUUID(domain, uuid) < 0)
        return vg_call_fail_libvirt(call);
    if (virDomainRename(domain, request->new_name, 0) < 0) /* flags: reserved, must be 0 */
        return vg_call_fail_libvirt(call);
    /* Its kept handle has the old name: forget it now, not when the event arrives. */
    if (virDomainGetUUIDString(domain, uuid_text) == 0)
        vg_domain_cache_forget(uuid_text);
    /* Not every driver updates the handle's cached name (the test driver does not):
     * report the domain as a fresh look-up by its unchanged UUID sees it. */
    renamed = vg_domain_adopt(call, virDomainLookupByUUID(virDomainGetConnect(domain), uuid));
    if (!renamed)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, renamed, response);
}

int
vgh_domain_service_set_domain_lifecycle_action(
    vg_call *call, const Virtgrpc__V1__SetDomainLifecycleActionRequest *request,
    Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    int lifecycle;
    int action;

    if (VG_ENUM(call, vg_enum_domain_lifecycle, request, lifecycle, &lifecycle) < 0 ||
        VG_ENUM(call, vg_enum_domain_lifecycle_action, request, action, &action) < 0 ||
        VG_FLAGS(call, vg_enum_modification_impact, request, impact, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainSetLifecycleAction(domain, (unsigned int)lifecycle, (unsigned int)action,
                                    flags) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}

/* What virDomainSetLaunchSecurityState takes (libvirt has no getter that lists it). */
static const virTypedParameter vg_launch_secret_params[] = {
    { .field = VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_HEADER, .type = VIR_TYPED_PARAM_STRING },
    { .field = VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET, .type = VIR_TYPED_PARAM_STRING },
    { .field = VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_SET_ADDRESS,
      .type = VIR_TYPED_PARAM_ULLONG },
};

int
vgh_domain_service_set_domain_launch_security_state(
    vg_call *call, const Virtgrpc__V1__SetDomainLaunchSecurityStateRequest *request,
    Virtgrpc__V1__Domain *response)
{
    virTypedParameterPtr params = NULL;
    int n_params = 0;
    virDomainPtr domain;
    char error[1024];

    if (request->n_params == 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'params' is empty: give '%s' and '%s'",
                            VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_HEADER,
                            VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET);
    }
    if (vg_typed_params_from_proto(request->params, request->n_params,
                                   vg_launch_secret_params,
                                   sizeof(vg_launch_secret_params) /
                                       sizeof(vg_launch_secret_params[0]),
                                   &params, &n_params, error,
                                   sizeof(error)) < 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "launch-security state: %s", error);
    }
    vg_domain_params_own(call, params, n_params, false);
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    /* flags: reserved, must be 0 */
    if (virDomainSetLaunchSecurityState(domain, params, n_params, 0) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}
