#include "server/typed-params-message.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/enum-convert.h"
#include "server/typed-params.h"
#include "virtgrpc/v1/typed_parameter.pb-c.h"

/* libvirt keys are at most VIR_TYPED_PARAM_FIELD_LENGTH - 1 bytes; normalising can
 * double that ("aB" -> "a_b"). */
#define VG_KEY_MAX (2 * VIR_TYPED_PARAM_FIELD_LENGTH)
#define VG_PARTS_MAX VIR_TYPED_PARAM_FIELD_LENGTH

/* The field every target message keeps unplaced parameters in. */
static const char vg_unknown_field[] = "unknown";
/* The field of a repeated element that holds the number from its key. */
static const char vg_index_field[] = "index";

typedef struct vg_fill_ctx {
    vg_arena *arena;
    const vg_enum_maps_ref *enums;
} vg_fill_ctx;

/* An integer from any of libvirt's integer types, without losing its sign or range. */
typedef struct vg_integer {
    bool is_negative;
    int64_t as_signed;  /* valid when is_negative or magnitude <= INT64_MAX */
    uint64_t magnitude; /* valid when !is_negative */
} vg_integer;

static bool
vg_integer_from_param(const virTypedParameter *p, vg_integer *out)
{
    int64_t s;

    switch (p->type) {
    case VIR_TYPED_PARAM_INT:
        s = p->value.i;
        break;
    case VIR_TYPED_PARAM_LLONG:
        s = p->value.l;
        break;
    case VIR_TYPED_PARAM_UINT:
        *out = (vg_integer){false, p->value.ui, p->value.ui};
        return true;
    case VIR_TYPED_PARAM_ULLONG:
        *out = (vg_integer){false, (int64_t)p->value.ul, p->value.ul};
        return true;
    default:
        return false;
    }
    *out = (vg_integer){s < 0, s, s < 0 ? 0 : (uint64_t)s};
    return true;
}

static bool
vg_integer_fits_signed(const vg_integer *v, int64_t min, int64_t max)
{
    if (v->is_negative)
        return v->as_signed >= min;
    return v->magnitude <= (uint64_t)max;
}

static const vg_enum_map *
vg_enum_map_find(const vg_enum_maps_ref *enums, const ProtobufCEnumDescriptor *type)
{
    for (size_t i = 0; enums && i < enums->n_maps; i++) {
        if (strcmp(enums->maps[i]->full_name, type->name) == 0)
            return enums->maps[i];
    }
    return NULL;
}

/* Marks an optional (proto2) or oneof field present; proto3 scalars have no marker. */
static void
vg_field_mark_present(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    char *base = (char *)msg;

    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)(base + f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
}

/* Whether a scalar field already holds a value (libvirt repeating a key must not
 * overwrite the first one silently: the second goes to `unknown`). */
static bool
vg_field_is_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)msg;

    if (f->type == PROTOBUF_C_TYPE_STRING)
        return *(char *const *)(base + f->offset) != NULL;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset) != 0;
    return false;
}

/* Stores an integer into an integer or enum field. False when it does not fit. */
static bool
vg_field_set_integer(const vg_fill_ctx *ctx, ProtobufCMessage *msg,
                     const ProtobufCFieldDescriptor *f, const vg_integer *v)
{
    void *slot = (char *)msg + f->offset;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (!vg_integer_fits_signed(v, INT32_MIN, INT32_MAX))
            return false;
        *(int32_t *)slot = (int32_t)v->as_signed;
        return true;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (!vg_integer_fits_signed(v, INT64_MIN, INT64_MAX))
            return false;
        *(int64_t *)slot = v->as_signed;
        return true;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (v->is_negative || v->magnitude > UINT32_MAX)
            return false;
        *(uint32_t *)slot = (uint32_t)v->magnitude;
        return true;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (v->is_negative)
            return false;
        *(uint64_t *)slot = v->magnitude;
        return true;
    case PROTOBUF_C_TYPE_ENUM: {
        /* libvirt reports the constant; the field holds the proto value of the same
         * meaning. A constant the map does not know (newer libvirt) stays unknown. */
        const vg_enum_map *map = vg_enum_map_find(ctx->enums, f->descriptor);
        int proto_value;

        if (!map || !vg_integer_fits_signed(v, INT64_MIN, INT64_MAX))
            return false;
        if (!(proto_value = vg_enum_from_libvirt(map, v->as_signed)))
            return false;
        *(int *)slot = proto_value;
        return true;
    }
    default:
        return false;
    }
}

/* Stores `p` into the scalar field `f`. False when the types do not convert. */
static bool
vg_field_set_scalar(const vg_fill_ctx *ctx, ProtobufCMessage *msg,
                    const ProtobufCFieldDescriptor *f, const virTypedParameter *p)
{
    void *slot = (char *)msg + f->offset;
    vg_integer integer;
    bool is_set = false;

    if (f->label == PROTOBUF_C_LABEL_REPEATED || vg_field_is_present(msg, f))
        return false;

    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (p->type == VIR_TYPED_PARAM_STRING && p->value.s) {
            *(char **)slot = vg_arena_strdup(ctx->arena, p->value.s);
            is_set = true;
        }
        break;
    case PROTOBUF_C_TYPE_BOOL:
        if (p->type == VIR_TYPED_PARAM_BOOLEAN) {
            *(protobuf_c_boolean *)slot = p->value.b != 0;
            is_set = true;
        }
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (p->type == VIR_TYPED_PARAM_DOUBLE) {
            *(double *)slot = p->value.d;
            is_set = true;
        }
        break;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        break;
    default:
        is_set = vg_integer_from_param(p, &integer) &&
                 vg_field_set_integer(ctx, msg, f, &integer);
        break;
    }
    if (is_set)
        vg_field_mark_present(msg, f);
    return is_set;
}

static ProtobufCMessage *
vg_message_new(vg_arena *arena, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = vg_arena_alloc(arena, desc->sizeof_message);

    desc->message_init(msg);
    return msg;
}

/* The sub-message in singular field `f`, created on first use. */
static ProtobufCMessage *
vg_submessage(const vg_fill_ctx *ctx, ProtobufCMessage *msg,
              const ProtobufCFieldDescriptor *f)
{
    ProtobufCMessage **slot = (ProtobufCMessage **)((char *)msg + f->offset);

    if (!*slot)
        *slot = vg_message_new(ctx->arena, f->descriptor);
    return *slot;
}

/* Reads an unsigned integer field (an element's `index`). False for other types. */
static bool
vg_field_get_unsigned(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                      uint64_t *value)
{
    const char *slot = (const char *)msg + f->offset;

    switch (f->type) {
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *value = *(const uint32_t *)slot;
        return true;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *value = *(const uint64_t *)slot;
        return true;
    default:
        return false;
    }
}

/*
 * The element of repeated field `f` whose `index` is `index`, appended on first use.
 * Arrays live in the arena, which cannot grow a block: capacity is implied by the count
 * (4, then doubling), and a full array is copied into one twice its size.
 */
static ProtobufCMessage *
vg_repeated_element(const vg_fill_ctx *ctx, ProtobufCMessage *msg,
                    const ProtobufCFieldDescriptor *f, uint64_t index)
{
    const ProtobufCMessageDescriptor *elem_desc = f->descriptor;
    const ProtobufCFieldDescriptor *index_field =
        protobuf_c_message_descriptor_get_field_by_name(elem_desc, vg_index_field);
    size_t *count = (size_t *)((char *)msg + f->quantifier_offset);
    ProtobufCMessage ***array = (ProtobufCMessage ***)((char *)msg + f->offset);
    const vg_integer index_value = {false, (int64_t)index, index};
    ProtobufCMessage *elem;

    if (!index_field)
        return NULL;
    for (size_t i = 0; i < *count; i++) {
        uint64_t existing;

        if (!vg_field_get_unsigned((*array)[i], index_field, &existing))
            return NULL;
        if (existing == index)
            return (*array)[i];
    }

    if (*count == 0 || (*count >= 4 && (*count & (*count - 1)) == 0)) {
        size_t capacity = *count ? 2 * *count : 4;
        ProtobufCMessage **grown = vg_arena_alloc(ctx->arena, capacity * sizeof(*grown));

        if (*count)
            memcpy(grown, *array, *count * sizeof(*grown));
        *array = grown;
    }
    elem = vg_message_new(ctx->arena, elem_desc);
    if (!vg_field_set_integer(ctx, elem, index_field, &index_value))
        return NULL;
    vg_field_mark_present(elem, index_field);
    (*array)[(*count)++] = elem;
    return elem;
}

static bool
vg_field_is_reserved(const ProtobufCFieldDescriptor *f)
{
    return strcmp(f->name, vg_index_field) == 0 || strcmp(f->name, vg_unknown_field) == 0;
}

/* "42" -> 42; false for anything but a plain decimal number. */
static bool
vg_part_is_index(const char *part, uint64_t *index)
{
    char *end;

    if (!isdigit((unsigned char)part[0]))
        return false;
    errno = 0;
    *index = strtoull(part, &end, 10);
    return *end == '\0' && errno == 0 && *index <= UINT32_MAX;
}

/* parts[0..k) joined with '_' into `name`. False when it does not fit. */
static bool
vg_parts_join(char *const *parts, size_t k, char *name, size_t size)
{
    size_t used = 0;

    for (size_t i = 0; i < k; i++) {
        size_t len = strlen(parts[i]);

        if (used + len + 2 > size)
            return false;
        if (i)
            name[used++] = '_';
        memcpy(name + used, parts[i], len);
        used += len;
    }
    name[used] = '\0';
    return true;
}

/* The one repeated message field of `desc` whose elements have an `index`; NULL when
 * there is none or more than one (then a bare number is ambiguous). */
static const ProtobufCFieldDescriptor *
vg_indexed_list_of(const ProtobufCMessageDescriptor *desc)
{
    const ProtobufCFieldDescriptor *found = NULL;

    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];

        if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE ||
            !protobuf_c_message_descriptor_get_field_by_name(f->descriptor, vg_index_field))
            continue;
        if (found)
            return NULL;
        found = f;
    }
    return found;
}

/* Places `p` (whose key is `parts`) in `msg`. Returns true when a field took it. */
static bool
vg_fill_parts(const vg_fill_ctx *ctx, ProtobufCMessage *msg, char *const *parts,
              size_t n_parts, const virTypedParameter *p)
{
    char name[VG_KEY_MAX];
    uint64_t index_only;

    /* A number right after a group that is a singular message ("vcpu.3.time"): the
     * element of that message's one indexed list (VcpuStats.vcpus). */
    if (vg_part_is_index(parts[0], &index_only) && n_parts > 1) {
        const ProtobufCFieldDescriptor *list = vg_indexed_list_of(msg->descriptor);
        ProtobufCMessage *elem;

        if (!list || !(elem = vg_repeated_element(ctx, msg, list, index_only)))
            return false;
        return vg_fill_parts(ctx, elem, parts + 1, n_parts - 1, p);
    }

    /* Longest match first: "net.count" is the field net_count, not an element of net. */
    for (size_t k = n_parts; k >= 1; k--) {
        const ProtobufCFieldDescriptor *f;
        uint64_t index;

        if (!vg_parts_join(parts, k, name, sizeof(name)))
            continue;
        f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
        if (!f || vg_field_is_reserved(f))
            continue;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
            if (k != n_parts)
                continue;
            return vg_field_set_scalar(ctx, msg, f, p);
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            ProtobufCMessage *elem;

            if (k + 1 >= n_parts || !vg_part_is_index(parts[k], &index))
                continue;
            if (!(elem = vg_repeated_element(ctx, msg, f, index)))
                return false;
            return vg_fill_parts(ctx, elem, parts + k + 1, n_parts - k - 1, p);
        }
        if (k == n_parts)
            continue;
        return vg_fill_parts(ctx, vg_submessage(ctx, msg, f), parts + k, n_parts - k, p);
    }
    return false;
}

/*
 * Splits `key` at '.' into normalised parts stored in `buffer`: '-' becomes '_', an
 * upper-case letter becomes '_' plus its lower case (libvirt mixes "last-update",
 * "backingIndex" and "rx.bytes"; proto field names are snake_case). Returns the number
 * of parts, 0 for a key that cannot be split (empty part, too long).
 */
static size_t
vg_key_split(const char *key, char *buffer, size_t size, char **parts, size_t max_parts)
{
    size_t used = 0;
    size_t n_parts = 0;
    bool at_part_start = true;

    for (const char *c = key;; c++) {
        if (used + 3 > size)
            return 0;
        if (*c == '.' || *c == '\0') {
            if (at_part_start)
                return 0;
            buffer[used++] = '\0';
            if (*c == '\0')
                break;
            at_part_start = true;
            continue;
        }
        if (at_part_start) {
            if (n_parts == max_parts)
                return 0;
            parts[n_parts++] = buffer + used;
        }
        if (*c == '-') {
            buffer[used++] = '_';
        } else if (isupper((unsigned char)*c)) {
            if (!at_part_start)
                buffer[used++] = '_';
            buffer[used++] = (char)tolower((unsigned char)*c);
        } else {
            buffer[used++] = *c;
        }
        at_part_start = false;
    }
    return n_parts;
}

static const ProtobufCFieldDescriptor *
vg_unknown_field_of(const ProtobufCMessage *out)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(out->descriptor, vg_unknown_field);

    if (!f || f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE ||
        f->descriptor != &virtgrpc__v1__typed_parameter__descriptor)
        return NULL;
    return f;
}

int
vg_typed_params_to_message(vg_arena *arena, const virTypedParameter *params, int n_params,
                           const vg_enum_maps_ref *enums, ProtobufCMessage *out)
{
    const ProtobufCFieldDescriptor *unknown_field = vg_unknown_field_of(out);
    const vg_fill_ctx ctx = {arena, enums};
    virTypedParameter *unknown;
    int n_unknown = 0;

    if (!unknown_field)
        return -1;
    unknown =
        vg_arena_alloc(arena, sizeof(*unknown) * (n_params > 0 ? (size_t)n_params : 1));
    for (int i = 0; i < n_params; i++) {
        char buffer[VG_KEY_MAX];
        char *parts[VG_PARTS_MAX];
        size_t n_parts =
            vg_key_split(params[i].field, buffer, sizeof(buffer), parts, VG_PARTS_MAX);

        if (n_parts == 0 || !vg_fill_parts(&ctx, out, parts, n_parts, &params[i])) {
            /* A shallow copy: vg_typed_params_to_proto copies the strings. */
            unknown[n_unknown++] = params[i];
        }
    }
    if (n_unknown > 0) {
        char *base = (char *)out;

        vg_typed_params_to_proto(
            arena, unknown, n_unknown,
            (Virtgrpc__V1__TypedParameter ***)(base + unknown_field->offset),
            (size_t *)(base + unknown_field->quantifier_offset));
    }
    return n_unknown;
}
