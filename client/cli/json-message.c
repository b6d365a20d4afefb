/*
 * The proto3 JSON mapping over protobuf-c descriptors (see json-message.h). protobuf-c
 * 1.4.1 keeps no JSON names, so lowerCamelCase is derived from the field name the way
 * protoc does (drop '_', capitalise the next letter).
 *
 * Messages built from JSON are laid out exactly as protobuf_c_message_unpack() would lay
 * them out (malloc'ed strings, arrays and sub-messages, defaults left pointing at the
 * descriptor's), so protobuf_c_message_free_unpacked() frees them, also half-built
 * after an error: every pointer is stored before what it points to is filled.
 */
#define _GNU_SOURCE /* asprintf */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include <virtgrpc/virtgrpc.h>

#include "client/cli/json-message.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

#define CLI_TYPE_URL_PREFIX "type.googleapis.com/"

/* ---- field access -------------------------------------------------------------- */

static void *
cli_member(const ProtobufCMessage *message, const ProtobufCFieldDescriptor *field)
{
    return (char *)message + field->offset;
}

static void *
cli_quantifier(const ProtobufCMessage *message, const ProtobufCFieldDescriptor *field)
{
    return (char *)message + field->quantifier_offset;
}

static size_t
cli_element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default: /* 32-bit integers and enums */
        return sizeof(uint32_t);
    }
}

/* Whether a singular field is there to print (see json-message.h for the rules). */
static bool
cli_field_present(const ProtobufCMessage *message, const ProtobufCFieldDescriptor *field)
{
    const void *member = cli_member(message, field);

    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)cli_quantifier(message, field) == field->id;
    if (field->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(void *const *)member != NULL;
    if (field->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (field->type == PROTOBUF_C_TYPE_STRING) {
            const char *text = *(const char *const *)member;
            return text != NULL && text != field->default_value;
        }
        return *(const protobuf_c_boolean *)cli_quantifier(message, field);
    }
    return true;
}

/* A map<K, V> field is a repeated nested "<Name>Entry" message with fields key, value. */
static bool
cli_is_map_entry(const ProtobufCMessageDescriptor *type)
{
    size_t length = strlen(type->name);

    return type->n_fields == 2 && length > 5 &&
           strcmp(type->name + length - 5, "Entry") == 0 &&
           strcmp(type->fields[0].name, "key") == 0 &&
           strcmp(type->fields[1].name, "value") == 0;
}

/* "max_memory_kib" -> "maxMemoryKib", as protoc derives json_name. */
static char *
cli_lower_camel(const char *name)
{
    char *camel = malloc(strlen(name) + 1);
    char *out = camel;
    bool upper_next = false;

    if (camel == NULL)
        abort();
    for (; *name; name++) {
        if (*name == '_') {
            upper_next = true;
            continue;
        }
        *out++ = upper_next ? g_ascii_toupper(*name) : *name;
        upper_next = false;
    }
    *out = '\0';
    return camel;
}

/* ---- the type registry, for Any ------------------------------------------------- */

static const ProtobufCMessageDescriptor **cli_types;
static size_t cli_n_types;
static size_t cli_types_capacity;

static void
cli_register_type(const ProtobufCMessageDescriptor *type)
{
    for (size_t i = 0; i < cli_n_types; i++) {
        if (cli_types[i] == type)
            return;
    }
    if (cli_n_types == cli_types_capacity) {
        cli_types_capacity = cli_types_capacity ? 2 * cli_types_capacity : 256;
        cli_types = realloc(cli_types, cli_types_capacity * sizeof(*cli_types));
        if (cli_types == NULL)
            abort();
    }
    cli_types[cli_n_types++] = type;
    for (unsigned f = 0; f < type->n_fields; f++) {
        if (type->fields[f].type == PROTOBUF_C_TYPE_MESSAGE)
            cli_register_type(type->fields[f].descriptor);
    }
}

const ProtobufCMessageDescriptor *
cli_json_find_type(const char *full_name)
{
    if (cli_n_types == 0) {
        /* Everything an RPC sends or receives, and what google.rpc.Status.details
         * carries from virtgrpc (not reachable through fields: it is inside an Any). */
        for (size_t m = 0; m < vg_client_methods_count; m++) {
            cli_register_type(vg_client_methods[m].request_type);
            cli_register_type(vg_client_methods[m].response_type);
        }
        cli_register_type(&google__rpc__error_info__descriptor);
    }
    for (size_t i = 0; i < cli_n_types; i++) {
        if (strcmp(cli_types[i]->name, full_name) == 0)
            return cli_types[i];
    }
    return NULL;
}

/* ---- message -> JSON ----------------------------------------------------------- */

static json_object *cli_message_to_json(const ProtobufCMessage *message);

static json_object *
cli_timestamp_to_json(const Google__Protobuf__Timestamp *timestamp)
{
    char text[64];
    char fraction[16] = "";
    struct tm tm;
    time_t seconds = (time_t)timestamp->seconds;

    if (gmtime_r(&seconds, &tm) == NULL)
        return json_object_new_string("");
    if (timestamp->nanos % 1000000 == 0 && timestamp->nanos != 0)
        snprintf(fraction, sizeof(fraction), ".%03d", timestamp->nanos / 1000000);
    else if (timestamp->nanos % 1000 == 0 && timestamp->nanos != 0)
        snprintf(fraction, sizeof(fraction), ".%06d", timestamp->nanos / 1000);
    else if (timestamp->nanos != 0)
        snprintf(fraction, sizeof(fraction), ".%09d", timestamp->nanos);
    snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fraction);
    return json_object_new_string(text);
}

static json_object *
cli_any_to_json(const Google__Protobuf__Any *any)
{
    const char *type_name = any->type_url ? strrchr(any->type_url, '/') : NULL;
    const ProtobufCMessageDescriptor *type =
        cli_json_find_type(type_name ? type_name + 1 : "");
    ProtobufCMessage *packed = NULL;
    json_object *json;

    if (type != NULL)
        packed = protobuf_c_message_unpack(type, NULL, any->value.len, any->value.data);
    if (packed == NULL) {
        /* An unknown type: its bytes as they are. */
        gchar *base64 = g_base64_encode(any->value.data, any->value.len);
        json = json_object_new_object();
        json_object_object_add(json, "@type", json_object_new_string(any->type_url));
        json_object_object_add(json, "value", json_object_new_string(base64));
        g_free(base64);
        return json;
    }
    json = cli_message_to_json(packed);
    protobuf_c_message_free_unpacked(packed, NULL);
    /* "@type" first, as every other implementation prints it. */
    json_object *with_type = json_object_new_object();
    json_object_object_add(with_type, "@type", json_object_new_string(any->type_url));
    json_object_object_foreach(json, key, value)
    {
        json_object_object_add(with_type, key, json_object_get(value));
    }
    json_object_put(json);
    return with_type;
}

static json_object *
cli_int64_string(const char *format, ...)
{
    char text[32];
    va_list args;

    va_start(args, format);
    vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    return json_object_new_string(text);
}

static json_object *
cli_double_to_json(double value)
{
    if (isnan(value))
        return json_object_new_string("NaN");
    if (isinf(value))
        return json_object_new_string(value > 0 ? "Infinity" : "-Infinity");
    return json_object_new_double(value);
}

/* One value of a field (an element when it is repeated) at `value`. */
static json_object *
cli_value_to_json(const ProtobufCFieldDescriptor *field, const void *value)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_object_new_int(*(const int32_t *)value);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_object_new_int64(*(const uint32_t *)value);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return cli_int64_string("%" PRId64, *(const int64_t *)value);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return cli_int64_string("%" PRIu64, *(const uint64_t *)value);
    case PROTOBUF_C_TYPE_FLOAT:
        return cli_double_to_json(*(const float *)value);
    case PROTOBUF_C_TYPE_DOUBLE:
        return cli_double_to_json(*(const double *)value);
    case PROTOBUF_C_TYPE_BOOL:
        return json_object_new_boolean(*(const protobuf_c_boolean *)value);
    case PROTOBUF_C_TYPE_ENUM: {
        int number = *(const int *)value;
        const ProtobufCEnumValue *known =
            protobuf_c_enum_descriptor_get_value(field->descriptor, number);
        return known ? json_object_new_string(known->name) : json_object_new_int(number);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *text = *(const char *const *)value;
        return json_object_new_string(text ? text : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bytes = value;
        gchar *base64 = g_base64_encode(bytes->data, bytes->len);
        json_object *json = json_object_new_string(base64);
        g_free(base64);
        return json;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return cli_message_to_json(*(const ProtobufCMessage *const *)value);
    }
    return NULL;
}

/* A map field's entries as one object; keys are the keys' JSON texts. */
static json_object *
cli_map_to_json(const ProtobufCFieldDescriptor *field, ProtobufCMessage *const *entries,
                size_t n_entries)
{
    const ProtobufCMessageDescriptor *entry_type = field->descriptor;
    json_object *map = json_object_new_object();

    for (size_t i = 0; i < n_entries; i++) {
        json_object *key = cli_value_to_json(
            &entry_type->fields[0], cli_member(entries[i], &entry_type->fields[0]));
        json_object *value = cli_value_to_json(
            &entry_type->fields[1], cli_member(entries[i], &entry_type->fields[1]));
        json_object_object_add(map, json_object_get_string(key), value);
        json_object_put(key);
    }
    return map;
}

static json_object *
cli_message_to_json(const ProtobufCMessage *message)
{
    const ProtobufCMessageDescriptor *type = message->descriptor;
    json_object *json;

    if (type == &google__protobuf__timestamp__descriptor)
        return cli_timestamp_to_json((const Google__Protobuf__Timestamp *)message);
    if (type == &google__protobuf__any__descriptor)
        return cli_any_to_json((const Google__Protobuf__Any *)message);

    json = json_object_new_object();
    for (unsigned f = 0; f < type->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &type->fields[f];
        char *name = cli_lower_camel(field->name);
        json_object *value;

        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)cli_quantifier(message, field);
            const char *elements = *(const char *const *)cli_member(message, field);

            if (field->type == PROTOBUF_C_TYPE_MESSAGE &&
                cli_is_map_entry(field->descriptor)) {
                value = cli_map_to_json(field, (ProtobufCMessage *const *)elements, count);
            } else {
                value = json_object_new_array();
                for (size_t i = 0; i < count; i++) {
                    json_object_array_add(
                        value, cli_value_to_json(
                                   field, elements + i * cli_element_size(field->type)));
                }
            }
        } else if (cli_field_present(message, field)) {
            value = cli_value_to_json(field, cli_member(message, field));
        } else {
            free(name);
            continue;
        }
        json_object_object_add(json, name, value);
        free(name);
    }
    return json;
}

json_object *
cli_json_from_message(const ProtobufCMessage *message)
{
    return cli_message_to_json(message);
}

/* ---- JSON -> message ----------------------------------------------------------- */

static int cli_message_from_json(json_object *json, ProtobufCMessage *message,
                                 char **error);

static int
cli_fail(char **error, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    if (vasprintf(error, format, args) < 0)
        *error = NULL;
    va_end(args);
    return -1;
}

/* An integer from a JSON number or string; `is_signed` picks the parse. */
static int
cli_integer_from_json(json_object *json, const ProtobufCFieldDescriptor *field,
                      bool is_signed, int64_t min, uint64_t max, void *out, size_t size,
                      char **error)
{
    const char *text;
    char *end;

    if (!json_object_is_type(json, json_type_int) &&
        !json_object_is_type(json, json_type_string))
        return cli_fail(error, "field '%s' wants an integer, not %s", field->name,
                        json_object_to_json_string(json));
    text = json_object_get_string(json);
    errno = 0;
    if (is_signed) {
        long long value = strtoll(text, &end, 10);
        if (errno || end == text || *end || value < min ||
            (value > 0 && (uint64_t)value > max))
            return cli_fail(error, "field '%s': '%s' is not an integer in range",
                            field->name, text);
        if (size == sizeof(int32_t))
            *(int32_t *)out = (int32_t)value;
        else
            *(int64_t *)out = value;
    } else {
        unsigned long long value = strtoull(text, &end, 10);
        if (errno || end == text || *end || text[0] == '-' || value > max)
            return cli_fail(error, "field '%s': '%s' is not an unsigned integer in range",
                            field->name, text);
        if (size == sizeof(uint32_t))
            *(uint32_t *)out = (uint32_t)value;
        else
            *(uint64_t *)out = value;
    }
    return 0;
}

static int
cli_double_from_json(json_object *json, const ProtobufCFieldDescriptor *field, double *out,
                     char **error)
{
    if (json_object_is_type(json, json_type_double) ||
        json_object_is_type(json, json_type_int)) {
        *out = json_object_get_double(json);
        return 0;
    }
    if (json_object_is_type(json, json_type_string)) {
        const char *text = json_object_get_string(json);
        char *end;
        if (strcmp(text, "NaN") == 0) {
            *out = NAN;
            return 0;
        }
        if (strcmp(text, "Infinity") == 0 || strcmp(text, "-Infinity") == 0) {
            *out = text[0] == '-' ? -INFINITY : INFINITY;
            return 0;
        }
        *out = strtod(text, &end);
        if (end != text && *end == '\0')
            return 0;
    }
    return cli_fail(error, "field '%s' wants a number, not %s", field->name,
                    json_object_to_json_string(json));
}

static int
cli_timestamp_from_json(json_object *json, Google__Protobuf__Timestamp *timestamp,
                        char **error)
{
    GDateTime *time;

    if (!json_object_is_type(json, json_type_string) ||
        (time = g_date_time_new_from_iso8601(json_object_get_string(json), NULL)) == NULL)
        return cli_fail(error, "'%s' is not an RFC 3339 timestamp",
                        json_object_get_string(json));
    timestamp->seconds = g_date_time_to_unix(time);
    timestamp->nanos = g_date_time_get_microsecond(time) * 1000;
    g_date_time_unref(time);
    return 0;
}

/* {"@type": ".../full.Name", fields...}: the fields packed as that type. */
static int
cli_any_from_json(json_object *json, Google__Protobuf__Any *any, char **error)
{
    json_object *type_url;
    const char *type_name;
    const ProtobufCMessageDescriptor *type;
    ProtobufCMessage *packed;
    json_object *fields;
    int rc;

    if (!json_object_is_type(json, json_type_object) ||
        !json_object_object_get_ex(json, "@type", &type_url) ||
        !json_object_is_type(type_url, json_type_string))
        return cli_fail(error, "a google.protobuf.Any wants an object with \"@type\"");
    type_name = strrchr(json_object_get_string(type_url), '/');
    type_name = type_name ? type_name + 1 : json_object_get_string(type_url);
    type = cli_json_find_type(type_name);
    if (type == NULL)
        return cli_fail(error, "unknown message type '%s' in \"@type\"", type_name);

    fields = json_object_new_object();
    json_object_object_foreach(json, key, value)
    {
        if (strcmp(key, "@type") != 0)
            json_object_object_add(fields, key, json_object_get(value));
    }
    rc = cli_json_to_message(fields, type, &packed, error);
    json_object_put(fields);
    if (rc < 0)
        return -1;
    any->type_url = strdup(json_object_get_string(type_url));
    any->value.len = protobuf_c_message_get_packed_size(packed);
    any->value.data = malloc(any->value.len ? any->value.len : 1);
    protobuf_c_message_pack(packed, any->value.data);
    protobuf_c_message_free_unpacked(packed, NULL);
    return 0;
}

/* A new, initialised message of `type` stored at `*slot` before it is filled. */
static ProtobufCMessage *
cli_new_message(const ProtobufCMessageDescriptor *type, ProtobufCMessage **slot)
{
    ProtobufCMessage *message = malloc(type->sizeof_message);

    if (message == NULL)
        abort();
    protobuf_c_message_init(type, message);
    *slot = message;
    return message;
}

/* One value of `field` from `json` into `out` (an element when it is repeated). */
static int
cli_value_from_json(json_object *json, const ProtobufCFieldDescriptor *field, void *out,
                    char **error)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return cli_integer_from_json(json, field, true, INT32_MIN, INT32_MAX, out, 4,
                                     error);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return cli_integer_from_json(json, field, false, 0, UINT32_MAX, out, 4, error);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return cli_integer_from_json(json, field, true, INT64_MIN, INT64_MAX, out, 8,
                                     error);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return cli_integer_from_json(json, field, false, 0, UINT64_MAX, out, 8, error);
    case PROTOBUF_C_TYPE_FLOAT: {
        double value;
        if (cli_double_from_json(json, field, &value, error) < 0)
            return -1;
        *(float *)out = (float)value;
        return 0;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        return cli_double_from_json(json, field, out, error);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_object_is_type(json, json_type_boolean))
            return cli_fail(error, "field '%s' wants true or false, not %s", field->name,
                            json_object_to_json_string(json));
        *(protobuf_c_boolean *)out = json_object_get_boolean(json);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *type = field->descriptor;
        const ProtobufCEnumValue *value = NULL;
        if (json_object_is_type(json, json_type_string))
            value = protobuf_c_enum_descriptor_get_value_by_name(
                type, json_object_get_string(json));
        else if (json_object_is_type(json, json_type_int))
            value = protobuf_c_enum_descriptor_get_value(type, json_object_get_int(json));
        if (value == NULL)
            return cli_fail(error, "field '%s': %s is not a value of %s", field->name,
                            json_object_to_json_string(json), type->name);
        *(int *)out = value->value;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (!json_object_is_type(json, json_type_string))
            return cli_fail(error, "field '%s' wants a string, not %s", field->name,
                            json_object_to_json_string(json));
        *(char **)out = strdup(json_object_get_string(json));
        return 0;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *bytes = out;
        gsize length = 0;
        guchar *data;
        if (!json_object_is_type(json, json_type_string))
            return cli_fail(error, "field '%s' wants base64 text, not %s", field->name,
                            json_object_to_json_string(json));
        data = g_base64_decode(json_object_get_string(json), &length);
        bytes->data = malloc(length ? length : 1);
        memcpy(bytes->data, data, length);
        bytes->len = length;
        g_free(data);
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *type = field->descriptor;
        ProtobufCMessage *message = cli_new_message(type, out);
        if (type == &google__protobuf__timestamp__descriptor)
            return cli_timestamp_from_json(json, (Google__Protobuf__Timestamp *)message,
                                           error);
        if (type == &google__protobuf__any__descriptor)
            return cli_any_from_json(json, (Google__Protobuf__Any *)message, error);
        if (!json_object_is_type(json, json_type_object))
            return cli_fail(error, "field '%s' wants an object (%s), not %s", field->name,
                            type->name, json_object_to_json_string(json));
        return cli_message_from_json(json, message, error);
    }
    }
    return cli_fail(error, "field '%s' has a type this tool cannot fill", field->name);
}

/* A map field from a JSON object: each member becomes a key/value entry. */
static int
cli_map_from_json(json_object *json, const ProtobufCFieldDescriptor *field,
                  ProtobufCMessage *message, char **error)
{
    const ProtobufCMessageDescriptor *entry_type = field->descriptor;
    size_t *count = cli_quantifier(message, field);
    ProtobufCMessage **entries;

    if (!json_object_is_type(json, json_type_object))
        return cli_fail(error, "field '%s' is a map and wants an object", field->name);
    entries = calloc(json_object_object_length(json) + 1, sizeof(*entries));
    *(ProtobufCMessage ***)cli_member(message, field) = entries;
    json_object_object_foreach(json, key, value)
    {
        ProtobufCMessage *entry = cli_new_message(entry_type, &entries[*count]);
        json_object *key_json = json_object_new_string(key);
        int rc;

        (*count)++;
        /* Map keys are strings in JSON whatever their type: the integer parse takes
         * strings, so one path serves string and integer keys. */
        rc = cli_value_from_json(key_json, &entry_type->fields[0],
                                 cli_member(entry, &entry_type->fields[0]), error);
        json_object_put(key_json);
        if (rc < 0 ||
            cli_value_from_json(value, &entry_type->fields[1],
                                cli_member(entry, &entry_type->fields[1]), error) < 0)
            return -1;
    }
    return 0;
}

static int
cli_repeated_from_json(json_object *json, const ProtobufCFieldDescriptor *field,
                       ProtobufCMessage *message, char **error)
{
    size_t *count = cli_quantifier(message, field);
    size_t size = cli_element_size(field->type);
    size_t length;
    char *elements;

    if (field->type == PROTOBUF_C_TYPE_MESSAGE && cli_is_map_entry(field->descriptor))
        return cli_map_from_json(json, field, message, error);
    if (!json_object_is_type(json, json_type_array))
        return cli_fail(error, "field '%s' is repeated and wants an array, not %s",
                        field->name, json_object_to_json_string(json));
    length = json_object_array_length(json);
    elements = calloc(length + 1, size);
    *(char **)cli_member(message, field) = elements;
    for (size_t i = 0; i < length; i++) {
        /* Count the element first: free_unpacked then frees what it holds on failure. */
        (*count)++;
        if (cli_value_from_json(json_object_array_get_idx(json, i), field,
                                elements + i * size, error) < 0)
            return -1;
    }
    return 0;
}

/* The field `key` names: its .proto name or its lowerCamelCase JSON name. */
static const ProtobufCFieldDescriptor *
cli_find_field(const ProtobufCMessageDescriptor *type, const char *key)
{
    for (unsigned f = 0; f < type->n_fields; f++) {
        char *camel = cli_lower_camel(type->fields[f].name);
        bool match = strcmp(type->fields[f].name, key) == 0 || strcmp(camel, key) == 0;
        free(camel);
        if (match)
            return &type->fields[f];
    }
    return NULL;
}

static int
cli_message_from_json(json_object *json, ProtobufCMessage *message, char **error)
{
    const ProtobufCMessageDescriptor *type = message->descriptor;

    json_object_object_foreach(json, key, value)
    {
        const ProtobufCFieldDescriptor *field = cli_find_field(type, key);

        if (field == NULL)
            return cli_fail(error, "%s has no field '%s'", type->name, key);
        if (value == NULL) /* JSON null: the field's default */
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            if (cli_repeated_from_json(value, field, message, error) < 0)
                return -1;
            continue;
        }
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t *selected = cli_quantifier(message, field);
            /* The members of a oneof share their storage: a second one would overwrite
             * the first (and leak what it holds). */
            if (*selected != 0)
                return cli_fail(error,
                                "field '%s' and another member of its oneof are both set",
                                field->name);
            *selected = field->id;
        } else if (field->label == PROTOBUF_C_LABEL_OPTIONAL &&
                   field->type != PROTOBUF_C_TYPE_MESSAGE &&
                   field->type != PROTOBUF_C_TYPE_STRING) {
            *(protobuf_c_boolean *)cli_quantifier(message, field) = 1;
        }
        if (cli_value_from_json(value, field, cli_member(message, field), error) < 0)
            return -1;
    }
    return 0;
}

int
cli_json_to_message(json_object *json, const ProtobufCMessageDescriptor *type,
                    ProtobufCMessage **message, char **error)
{
    ProtobufCMessage *built = NULL;

    *error = NULL;
    if (!json_object_is_type(json, json_type_object))
        return cli_fail(error, "%s wants a JSON object, not %s", type->name,
                        json_object_to_json_string(json));
    cli_new_message(type, &built);
    if (cli_message_from_json(json, built, error) < 0) {
        protobuf_c_message_free_unpacked(built, NULL);
        return -1;
    }
    *message = built;
    return 0;
}
