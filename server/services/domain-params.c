#include "server/services/domain-params.h"

#include <stdbool.h>

#include <stdlib.h>

#include "server/runtime/arena.h"
#include "server/services/service.h"
#include "server/typed-params.h"

/* Enough for the longest message vg_typed_params_from_proto writes (a name plus up to
 * 512 bytes of known names). */
#define VG_PARAMS_ERROR_SIZE 1024

typedef struct vg_params_owned {
    virTypedParameterPtr params;
    int n_params;
    bool is_call_memory;
} vg_params_owned;

static void
vg_params_release(void *data)
{
    vg_params_owned *owned = data;

    if (owned->is_call_memory)
        virTypedParamsClear(owned->params, owned->n_params);
    else
        virTypedParamsFree(owned->params, owned->n_params);
}

void
vg_domain_params_own(vg_call *call, virTypedParameterPtr params, int n_params,
                     bool is_call_memory)
{
    vg_params_owned *owned = vg_call_alloc(call, sizeof(*owned));

    owned->params = params;
    owned->n_params = n_params;
    owned->is_call_memory = is_call_memory;
    vg_call_defer(call, vg_params_release, owned);
}

static int
vg_params_call_get(const vg_domain_params_kind *kind, virDomainPtr domain,
                   const char *device, virTypedParameterPtr params, int *n_params,
                   unsigned int flags)
{
    if (kind->get_device)
        return kind->get_device(domain, device, params, n_params, flags);
    return kind->get(domain, params, n_params, flags);
}

/* libvirt's getters take LIVE or CONFIG, not both: a write to both reads the live
 * definition (for a running domain, the same as "current"). */
static unsigned int
vg_params_read_flags(unsigned int flags)
{
    if ((flags & VIR_DOMAIN_AFFECT_LIVE) && (flags & VIR_DOMAIN_AFFECT_CONFIG))
        flags &= ~(unsigned int)VIR_DOMAIN_AFFECT_CONFIG;
    return flags;
}

int
vg_domain_params_get(vg_call *call, virDomainPtr domain, const vg_domain_params_kind *kind,
                     const char *device, unsigned int flags, virTypedParameterPtr *params,
                     int *n_params)
{
    virTypedParameterPtr array;
    int n = 0;

    if (kind->string_okay)
        flags |= VIR_TYPED_PARAM_STRING_OKAY;

    if (kind->get_alloc) {
        array = NULL;
        if (kind->get_alloc(domain, &array, &n, flags) < 0)
            return vg_call_fail_libvirt(call);
        vg_domain_params_own(call, array, n, false);
        *params = array;
        *n_params = n;
        return 0;
    }

    /* Step one: how many parameters there are. */
    if ((kind->count ? kind->count(domain, &n)
                     : vg_params_call_get(kind, domain, device, NULL, &n, flags)) < 0)
        return vg_call_fail_libvirt(call);
    if (n <= 0) {
        *params = NULL;
        *n_params = 0;
        return 0;
    }

    /* Step two: the values. Owned by the call before libvirt fills it, so that strings
     * of a half-filled array are freed too; zeroed entries free nothing. */
    if (!(array = calloc((size_t)n, sizeof(*array))))
        abort();
    vg_domain_params_own(call, array, n, false);
    if (vg_params_call_get(kind, domain, device, array, &n, flags) < 0)
        return vg_call_fail_libvirt(call);
    *params = array;
    *n_params = n;
    return 0;
}

static int
vg_params_check_nonempty(vg_call *call, const vg_domain_params_kind *kind, size_t n_in)
{
    if (n_in == 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'parameters' is empty: nothing to set; give at least one of "
                            "the %s (the getter lists them)",
                            kind->what);
    }
    return 0;
}

int
vg_domain_params_set(vg_call *call, virDomainPtr domain, const vg_domain_params_kind *kind,
                     const char *device, unsigned int flags,
                     Virtgrpc__V1__TypedParameter *const *in, size_t n_in)
{
    virTypedParameterPtr known;
    virTypedParameterPtr params;
    int n_known;
    int n_params;
    int rc;
    char error[VG_PARAMS_ERROR_SIZE];

    if (vg_params_check_nonempty(call, kind, n_in) < 0)
        return -1;
    /* The template: what libvirt reports for the definition about to change. */
    if (vg_domain_params_get(call, domain, kind, device, vg_params_read_flags(flags),
                             &known, &n_known) < 0)
        return -1;
    if (vg_typed_params_from_proto(in, n_in, known, n_known, &params, &n_params, error,
                                   sizeof(error)) < 0) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "%s: %s", kind->what, error);
    }
    vg_domain_params_own(call, params, n_params, false);

    if (kind->set_device)
        rc = kind->set_device(domain, device, params, n_params, flags);
    else
        rc = kind->set(domain, params, n_params, flags);
    if (rc < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

void
vg_domain_params_to_proto(vg_call *call, const virTypedParameter *params, int n_params,
                          Virtgrpc__V1__TypedParameter ***out, size_t *n_out)
{
    vg_typed_params_to_proto(vg_call_arena(call), params, n_params, out, n_out);
}

static int
vg_params_check_device(vg_call *call, const vg_domain_params_kind *kind, const char *device)
{
    if (kind->device_field && (!device || !*device)) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'%s' is empty: give %s", kind->device_field,
                            kind->device_hint);
    }
    return 0;
}

/* Reads the parameters and fills the response's list. */
static int
vg_params_fill(vg_call *call, virDomainPtr domain, const vg_domain_params_kind *kind,
               const char *device, unsigned int flags, Virtgrpc__V1__TypedParameter ***out,
               size_t *n_out)
{
    virTypedParameterPtr params;
    int n_params;

    if (vg_domain_params_get(call, domain, kind, device, flags, &params, &n_params) < 0)
        return -1;
    vg_domain_params_to_proto(call, params, n_params, out, n_out);
    return 0;
}

int
vg_domain_params_read(vg_call *call, const Virtgrpc__V1__DomainRef *ref,
                      const vg_domain_params_kind *kind, const char *device,
                      unsigned int flags, Virtgrpc__V1__TypedParameter ***out,
                      size_t *n_out)
{
    virDomainPtr domain;

    if (vg_params_check_device(call, kind, device) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, ref)))
        return -1;
    return vg_params_fill(call, domain, kind, device, flags, out, n_out);
}

int
vg_domain_params_write(vg_call *call, const Virtgrpc__V1__DomainRef *ref,
                       const vg_domain_params_kind *kind, const char *device,
                       unsigned int flags, Virtgrpc__V1__TypedParameter *const *in,
                       size_t n_in, Virtgrpc__V1__TypedParameter ***out, size_t *n_out)
{
    virDomainPtr domain;

    /* Request checks first: a malformed request costs no libvirt call. */
    if (vg_params_check_device(call, kind, device) < 0 ||
        vg_params_check_nonempty(call, kind, n_in) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, ref)))
        return -1;
    if (vg_domain_params_set(call, domain, kind, device, flags, in, n_in) < 0)
        return -1;
    return vg_params_fill(call, domain, kind, device, vg_params_read_flags(flags), out,
                          n_out);
}
