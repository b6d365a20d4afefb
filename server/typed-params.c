#include "server/typed-params.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

typedef Virtgrpc__V1__TypedParameter__ValueCase vg_value_case;

/* The oneof case that carries each libvirt type, indexed by VIR_TYPED_PARAM_*. */
static const struct {
    vg_value_case value_case;
    const char *field;
} vg_typed_param_types[] = {
    [VIR_TYPED_PARAM_INT] = { VIRTGRPC__V1__TYPED_PARAMETER__VALUE_INT32_VALUE,
                              "int32_value" },
    [VIR_TYPED_PARAM_UINT] = { VIRTGRPC__V1__TYPED_PARAMETER__VALUE_UINT32_VALUE,
                               "uint32_value" },
    [VIR_TYPED_PARAM_LLONG] = { VIRTGRPC__V1__TYPED_PARAMETER__VALUE_INT64_VALUE,
                                "int64_value" },
    [VIR_TYPED_PARAM_ULLONG] = { VIRTGRPC__V1__TYPED_PARAMETER__VALUE_UINT64_VALUE,
                                 "uint64_value" },
    [VIR_TYPED_PARAM_DOUBLE] = { VIRTGRPC__V1__TYPED_PARAMETER__VALUE_DOUBLE_VALUE,
                                 "double_value" },
    [VIR_TYPED_PARAM_BOOLEAN] = { VIRTGRPC__V1__TYPED_PARAMETER__VALUE_BOOL_VALUE,
                                  "bool_value" },
    [VIR_TYPED_PARAM_STRING] = { VIRTGRPC__V1__TYPED_PARAMETER__VALUE_STRING_VALUE,
                                 "string_value" },
};

#define VG_N_TYPES (sizeof(vg_typed_param_types) / sizeof(vg_typed_param_types[0]))

static const char *
vg_value_case_field(vg_value_case value_case)
{
    for (size_t i = 1; i < VG_N_TYPES; i++) {
        if (vg_typed_param_types[i].value_case == value_case)
            return vg_typed_param_types[i].field;
    }
    return "no value";
}

void
vg_typed_params_to_proto(vg_arena *arena, const virTypedParameter *params, int n_params,
                         Virtgrpc__V1__TypedParameter ***out, size_t *n_out)
{
    Virtgrpc__V1__TypedParameter **list;
    size_t n = 0;

    list = vg_arena_alloc(arena, sizeof(*list) * (n_params > 0 ? (size_t)n_params : 1));
    for (int i = 0; i < n_params; i++) {
        const virTypedParameter *p = &params[i];
        Virtgrpc__V1__TypedParameter *m;

        if (p->type <= 0 || (size_t)p->type >= VG_N_TYPES)
            continue;
        m = vg_arena_alloc(arena, sizeof(*m));
        virtgrpc__v1__typed_parameter__init(m);
        m->name = vg_arena_strdup(arena, p->field);
        m->value_case = vg_typed_param_types[p->type].value_case;
        switch (p->type) {
        case VIR_TYPED_PARAM_INT:
            m->int32_value = p->value.i;
            break;
        case VIR_TYPED_PARAM_UINT:
            m->uint32_value = p->value.ui;
            break;
        case VIR_TYPED_PARAM_LLONG:
            m->int64_value = p->value.l;
            break;
        case VIR_TYPED_PARAM_ULLONG:
            m->uint64_value = p->value.ul;
            break;
        case VIR_TYPED_PARAM_DOUBLE:
            m->double_value = p->value.d;
            break;
        case VIR_TYPED_PARAM_BOOLEAN:
            m->bool_value = p->value.b != 0;
            break;
        case VIR_TYPED_PARAM_STRING:
            m->string_value = vg_arena_strdup(arena, p->value.s ? p->value.s : "");
            break;
        }
        list[n++] = m;
    }
    *out = list;
    *n_out = n;
}

static const virTypedParameter *
vg_typed_params_find(const virTypedParameter *params, int n_params, const char *name)
{
    for (int i = 0; i < n_params; i++) {
        if (strcmp(params[i].field, name) == 0)
            return &params[i];
    }
    return NULL;
}

/* "'a', 'b', 'c'"; ends with ", ..." rather than cutting a name when out of room. */
static void
vg_typed_params_known_names(const virTypedParameter *known, int n_known, char *buffer,
                            size_t size)
{
    static const char more[] = ", ...";
    size_t used = 0;

    buffer[0] = '\0';
    for (int i = 0; i < n_known; i++) {
        size_t need = strlen(known[i].field) + 4; /* quotes and ", " */

        if (used + need + sizeof(more) > size) {
            snprintf(buffer + used, size - used, "%s", more);
            return;
        }
        used += (size_t)snprintf(buffer + used, size - used, "%s'%s'", i ? ", " : "",
                                 known[i].field);
    }
}

int
vg_typed_params_from_proto(Virtgrpc__V1__TypedParameter *const *in, size_t n_in,
                           const virTypedParameter *known, int n_known,
                           virTypedParameterPtr *out, int *n_out, char *error,
                           size_t error_size)
{
    virTypedParameterPtr params = NULL;
    int n_params = 0;
    int max_params = 0;
    int rc = 0;

    for (size_t i = 0; i < n_in; i++) {
        const Virtgrpc__V1__TypedParameter *m = in[i];
        const char *name = m->name ? m->name : "";

        if (!*name) {
            snprintf(error, error_size, "typed parameter %zu has no name", i);
            goto fail;
        }
        if (strlen(name) >= VIR_TYPED_PARAM_FIELD_LENGTH) {
            snprintf(error, error_size, "typed parameter name '%s' is longer than %d bytes",
                     name, VIR_TYPED_PARAM_FIELD_LENGTH - 1);
            goto fail;
        }
        if (m->value_case == VIRTGRPC__V1__TYPED_PARAMETER__VALUE__NOT_SET) {
            snprintf(error, error_size, "typed parameter '%s' has no value", name);
            goto fail;
        }
        if (known) {
            const virTypedParameter *k = vg_typed_params_find(known, n_known, name);
            char names[768];

            if (!k) {
                vg_typed_params_known_names(known, n_known, names, sizeof(names));
                snprintf(error, error_size, "unknown parameter '%s'; known: %s", name,
                         names);
                goto fail;
            }
            if (k->type <= 0 || (size_t)k->type >= VG_N_TYPES ||
                vg_typed_param_types[k->type].value_case != m->value_case) {
                snprintf(error, error_size,
                         "parameter '%s' takes %s but the request sets %s", name,
                         k->type > 0 && (size_t)k->type < VG_N_TYPES
                             ? vg_typed_param_types[k->type].field
                             : "an unknown type",
                         vg_value_case_field(m->value_case));
                goto fail;
            }
        }

        switch (m->value_case) {
        case VIRTGRPC__V1__TYPED_PARAMETER__VALUE_INT32_VALUE:
            rc = virTypedParamsAddInt(&params, &n_params, &max_params, name, m->int32_value);
            break;
        case VIRTGRPC__V1__TYPED_PARAMETER__VALUE_UINT32_VALUE:
            rc = virTypedParamsAddUInt(&params, &n_params, &max_params, name,
                                       m->uint32_value);
            break;
        case VIRTGRPC__V1__TYPED_PARAMETER__VALUE_INT64_VALUE:
            rc = virTypedParamsAddLLong(&params, &n_params, &max_params, name,
                                        m->int64_value);
            break;
        case VIRTGRPC__V1__TYPED_PARAMETER__VALUE_UINT64_VALUE:
            rc = virTypedParamsAddULLong(&params, &n_params, &max_params, name,
                                         m->uint64_value);
            break;
        case VIRTGRPC__V1__TYPED_PARAMETER__VALUE_DOUBLE_VALUE:
            rc = virTypedParamsAddDouble(&params, &n_params, &max_params, name,
                                         m->double_value);
            break;
        case VIRTGRPC__V1__TYPED_PARAMETER__VALUE_BOOL_VALUE:
            rc = virTypedParamsAddBoolean(&params, &n_params, &max_params, name,
                                          m->bool_value);
            break;
        case VIRTGRPC__V1__TYPED_PARAMETER__VALUE_STRING_VALUE:
            /* AddString replaces a repeated name; libvirt's list form keeps both. */
            rc = virTypedParamsAddStringList(&params, &n_params, &max_params, name,
                                             (const char *[]){ m->string_value, NULL });
            break;
        default:
            snprintf(error, error_size, "typed parameter '%s' has an unknown value type",
                     name);
            goto fail;
        }
        if (rc < 0) {
            virErrorPtr e = virGetLastError();

            snprintf(error, error_size, "typed parameter '%s': %s", name,
                     e && e->message ? e->message : "rejected by libvirt");
            goto fail;
        }
    }
    *out = params;
    *n_out = n_params;
    return 0;

fail:
    virTypedParamsFree(params, n_params);
    return -1;
}
