/*
 * libvirt's typed-parameter getters and setters (scheduler, memory, blkio, NUMA,
 * interface bandwidth, block I/O tuning, perf events, ...) behind one pair of helpers,
 * so that no handler repeats the two-step read or the validation before a write.
 *
 * Reading is libvirt's two-step protocol: ask for the count (n_params = 0, or the
 * family's own count call), allocate, ask again. Writing first reads the current
 * parameters for the same impact and uses them as the template of known names and
 * types: an unknown name or a wrong type is INVALID_ARGUMENT naming it, and libvirt is
 * not asked to change anything. Then the setter runs and the parameters are read back.
 */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/transport/call.h"
#include "virtgrpc/v1/domain.pb-c.h"
#include "virtgrpc/v1/typed_parameter.pb-c.h"

/*
 * One family of typed-parameter calls. Set exactly one way to read:
 *   get          libvirt's domain-wide getter (virDomainGetMemoryParameters shape);
 *   get_device   the device-scoped getter (virDomainGetBlockIoTune shape);
 *   get_alloc    a getter that allocates the array itself (virDomainGetPerfEvents);
 * and the matching set / set_device. `count` is for getters that cannot report their
 * count with n_params = 0 (the scheduler's: virDomainGetSchedulerType says it).
 */
typedef struct vg_domain_params_kind {
    /* What the parameters are, for messages: "memory parameters". */
    const char *what;
    int (*get)(virDomainPtr domain, virTypedParameterPtr params, int *n_params,
               unsigned int flags);
    int (*get_device)(virDomainPtr domain, const char *device, virTypedParameterPtr params,
                      int *n_params, unsigned int flags);
    int (*get_alloc)(virDomainPtr domain, virTypedParameterPtr *params, int *n_params,
                     unsigned int flags);
    int (*count)(virDomainPtr domain, int *n_params);
    int (*set)(virDomainPtr domain, virTypedParameterPtr params, int n_params,
               unsigned int flags);
    int (*set_device)(virDomainPtr domain, const char *device, virTypedParameterPtr params,
                      int n_params, unsigned int flags);
    /* OR VIR_TYPED_PARAM_STRING_OKAY into the getter's flags (every getter that takes
     * flags and may return strings; not the scheduler's, whose public API adds it). */
    bool string_okay;
    /* Device-scoped families: the request field naming the device ("disk") and what
     * it takes, for the message when it is empty. */
    const char *device_field;
    const char *device_hint;
} vg_domain_params_kind;

/*
 * Reads the parameters of `kind` (on `device` for device-scoped kinds) with `flags`
 * (virDomainModificationImpact bits). The array is freed when the call ends. Returns 0,
 * or -1 with libvirt's error recorded on the call.
 */
int vg_domain_params_get(vg_call *call, virDomainPtr domain,
                         const vg_domain_params_kind *kind, const char *device,
                         unsigned int flags, virTypedParameterPtr *params, int *n_params);

/*
 * Validates `in` against the parameters the getter reports for the same impact, then
 * sets them. Returns 0, or -1 with INVALID_ARGUMENT (empty, unknown name, wrong type:
 * nothing applied) or libvirt's error recorded on the call.
 */
int vg_domain_params_set(vg_call *call, virDomainPtr domain,
                         const vg_domain_params_kind *kind, const char *device,
                         unsigned int flags, Virtgrpc__V1__TypedParameter *const *in,
                         size_t n_in);

/* Converts libvirt parameters into messages in the call's memory. */
/* Hands a libvirt parameter array to the call: released when the call ends, with
 * virTypedParamsFree, or only its strings with virTypedParamsClear when the array itself
 * is call memory (`is_call_memory`). */
void vg_domain_params_own(vg_call *call, virTypedParameterPtr params, int n_params,
                          bool is_call_memory);

void vg_domain_params_to_proto(vg_call *call, const virTypedParameter *params, int n_params,
                               Virtgrpc__V1__TypedParameter ***out, size_t *n_out);

/*
 * Whole handlers. Resolve `ref`, check `device` (device-scoped kinds), then read, or
 * validate + set + read back, and fill `out` / `n_out`. `flags` are the request's
 * impact bits. With both LIVE and CONFIG, the write's template and read-back use the
 * live definition (libvirt's getters take one of them at a time).
 */
int vg_domain_params_read(vg_call *call, const Virtgrpc__V1__DomainRef *ref,
                          const vg_domain_params_kind *kind, const char *device,
                          unsigned int flags, Virtgrpc__V1__TypedParameter ***out,
                          size_t *n_out);
int vg_domain_params_write(vg_call *call, const Virtgrpc__V1__DomainRef *ref,
                           const vg_domain_params_kind *kind, const char *device,
                           unsigned int flags, Virtgrpc__V1__TypedParameter *const *in,
                           size_t n_in, Virtgrpc__V1__TypedParameter ***out, size_t *n_out);
