/*
 * Calling RPCs by name with JSON requests, and turning failures into one error line and
 * an exit code.
 */
#define _GNU_SOURCE /* vasprintf */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "client/cli/cli.h"
#include "client/cli/json-message.h"

#define CLI_DEFAULT_DEADLINE_MS 30000

static const char *const cli_code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *
cli_code_name(vg_code code)
{
    if ((unsigned)code < sizeof(cli_code_names) / sizeof(cli_code_names[0]))
        return cli_code_names[code];
    return "UNKNOWN";
}

static void
cli_vprint_error(const char *format, va_list args)
{
    fputs("virtgrpc: error: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
}

int
cli_error(int exit_code, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    cli_vprint_error(format, args);
    va_end(args);
    return exit_code;
}

int
cli_usage_error(const cli_args *args, const char *format, ...)
{
    va_list list;

    va_start(list, format);
    cli_vprint_error(format, list);
    va_end(list);
    fprintf(stderr, "Usage: virtgrpc %s [OPTIONS] %s (see 'virtgrpc %s --help')\n",
            args->command->name, args->command->synopsis, args->command->name);
    return CLI_EXIT_USAGE;
}

int
cli_status_error(vg_status *status)
{
    int exit_code;

    if (status->reason)
        fprintf(stderr, "virtgrpc: error: %s (%s, %s)\n",
                status->message ? status->message : "failed", cli_code_name(status->code),
                status->reason);
    else
        fprintf(stderr, "virtgrpc: error: %s (%s)\n",
                status->message ? status->message : "failed", cli_code_name(status->code));
    switch (status->code) {
    case VG_CODE_NOT_FOUND:
        exit_code = CLI_EXIT_NOT_FOUND;
        break;
    case VG_CODE_UNAVAILABLE:
        exit_code = CLI_EXIT_UNAVAILABLE;
        break;
    default:
        exit_code = CLI_EXIT_FAILED;
    }
    vg_status_clear(status);
    return exit_code;
}

/* ---- arguments ---- */

const char *
cli_option_value(const cli_args *args, const char *name)
{
    const cli_option *options = args->command->options;

    for (size_t i = 0; options && options[i].name; i++) {
        if (strcmp(options[i].name, name) == 0)
            return args->values[i];
    }
    abort(); /* a command asked for an option its table lacks: a bug */
}

bool
cli_flag(const cli_args *args, const char *name)
{
    return cli_option_value(args, name) != NULL;
}

int
cli_option_uint(const cli_args *args, const char *name, uint64_t fallback, uint64_t *value)
{
    const char *text = cli_option_value(args, name);
    char *end;

    *value = fallback;
    if (text == NULL)
        return 0;
    *value = strtoull(text, &end, 10);
    if (end == text || *end || text[0] == '-')
        return cli_usage_error(args, "--%s wants a non-negative integer, not '%s'", name,
                               text);
    return 0;
}

static void
cli_append_enum(json_object *request, const char *field, char *value)
{
    json_object *array;

    if (!json_object_object_get_ex(request, field, &array)) {
        array = json_object_new_array();
        json_object_object_add(request, field, array);
    }
    json_object_array_add(array, json_object_new_string(value));
}

void
cli_add_enum_options(json_object *request, const cli_args *args,
                     const cli_enum_option *rows)
{
    for (const cli_enum_option *row = rows; row->option; row++) {
        const char *given = cli_option_value(args, row->option);
        char **items;

        if (given == NULL)
            continue;
        if (given[0] == '\0') { /* a flag */
            cli_append_enum(request, row->field, (char *)row->value);
            continue;
        }
        items = g_strsplit(given, ",", -1);
        for (char **item = items; *item; item++) {
            char *value = g_strconcat(row->value, *item, NULL);
            for (char *c = value; *c; c++)
                *c = *c == '-' ? '_' : g_ascii_toupper(*c);
            cli_append_enum(request, row->field, value);
            g_free(value);
        }
        g_strfreev(items);
    }
}

static bool
cli_is_uuid(const char *text)
{
    if (strlen(text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? text[i] != '-' : !isxdigit((unsigned char)text[i]))
            return false;
    }
    return true;
}

json_object *
cli_domain_ref(const char *text)
{
    json_object *ref = json_object_new_object();
    size_t digits = strspn(text, "0123456789");

    if (cli_is_uuid(text))
        json_object_object_add(ref, "uuid", json_object_new_string(text));
    else if (digits > 0 && digits < 10 && text[digits] == '\0')
        json_object_object_add(ref, "id", json_object_new_int64(strtoll(text, NULL, 10)));
    else
        json_object_object_add(ref, "name", json_object_new_string(text));
    return ref;
}

/* ---- calls ---- */

/* "virtgrpc.v1.DomainService" ends with ".DomainService" or is "DomainService". */
static bool
cli_service_matches(const char *service, const char *name, size_t length)
{
    size_t service_length = strlen(service);

    if (length == service_length)
        return strncmp(service, name, length) == 0;
    return length < service_length && service[service_length - length - 1] == '.' &&
           strncmp(service + service_length - length, name, length) == 0;
}

const vg_client_method *
cli_find_method(const char *name)
{
    const char *dot;

    if (name[0] == '/') {
        for (size_t m = 0; m < vg_client_methods_count; m++) {
            if (strcmp(vg_client_methods[m].path, name) == 0)
                return &vg_client_methods[m];
        }
        return NULL;
    }
    dot = strrchr(name, '.');
    if (dot == NULL)
        return NULL;
    for (size_t m = 0; m < vg_client_methods_count; m++) {
        const vg_client_method *method = &vg_client_methods[m];
        if (strcmp(method->name, dot + 1) == 0 &&
            cli_service_matches(method->service, name, (size_t)(dot - name)))
            return method;
    }
    return NULL;
}

int
cli_connect(cli_context *context)
{
    vg_client_options options = {.target = context->server};
    vg_status status = {0};

    if (context->client)
        return 0;
    /* Any TLS option turns TLS on; --cacert alone: server-authenticated TLS, with
     * --cert and --key: mutual TLS. */
    options.tls.enabled = context->tls;
    options.tls.ca_file = context->cacert;
    options.tls.cert_file = context->cert;
    options.tls.key_file = context->key;
    if (context->timeout_ms > 0)
        options.default_deadline_ms = context->timeout_ms;
    if (vg_client_new(&options, &context->client, &status) < 0) {
        /* Only bad options fail here (an unreadable certificate file): the user's. */
        cli_status_error(&status);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int
cli_message_from_json(json_object *json, const ProtobufCMessageDescriptor *type,
                      ProtobufCMessage **message)
{
    char *error = NULL;
    int rc = cli_json_to_message(json, type, message, &error);

    json_object_put(json);
    if (rc < 0) {
        cli_error(CLI_EXIT_USAGE, "bad %s: %s", type->name,
                  error ? error : "out of memory");
        free(error);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static const vg_client_method *
cli_method_or_die(const char *name)
{
    const vg_client_method *method = cli_find_method(name);

    /* The commands name their RPCs literally: a miss is a bug, not a user error. */
    if (method == NULL) {
        fprintf(stderr, "virtgrpc: internal error: no RPC '%s'\n", name);
        abort();
    }
    return method;
}

int64_t
cli_unary_deadline_ms(const cli_context *context)
{
    return context->timeout_ms > 0 ? context->timeout_ms : CLI_DEFAULT_DEADLINE_MS;
}

int
cli_call(cli_context *context, const char *name, json_object *request,
         ProtobufCMessage **response)
{
    const vg_client_method *method = cli_method_or_die(name);
    ProtobufCMessage *message = NULL;
    vg_status status = {0};
    int rc;

    rc = cli_message_from_json(request, method->request_type, &message);
    if (rc)
        return rc;
    rc = cli_connect(context);
    if (rc == 0 &&
        vg_client_call_unary(context->client, method->path, message, method->response_type,
                             response, cli_unary_deadline_ms(context), &status) < 0)
        rc = cli_status_error(&status);
    protobuf_c_message_free_unpacked(message, NULL);
    return rc;
}

int
cli_stream_open(cli_context *context, const char *name, json_object *request,
                vg_client_stream **stream)
{
    const vg_client_method *method = cli_method_or_die(name);
    ProtobufCMessage *message = NULL;
    vg_status status = {0};
    int rc;

    if (request) {
        rc = cli_message_from_json(request, method->request_type, &message);
        if (rc)
            return rc;
    }
    rc = cli_connect(context);
    if (rc == 0 &&
        vg_client_stream_open(context->client, method->path, message, method->response_type,
                              context->timeout_ms > 0 ? context->timeout_ms : -1, stream,
                              &status) < 0)
        rc = cli_status_error(&status);
    if (message)
        protobuf_c_message_free_unpacked(message, NULL);
    return rc;
}

void
cli_free_message(void *message)
{
    if (message)
        protobuf_c_message_free_unpacked(message, NULL);
}
