/*
 * Generic access to every RPC, from the generated method table (vg_client_methods[]):
 * `methods` lists them, `call` calls one with a JSON request and prints the responses
 * as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "client/cli/cli.h"
#include "client/cli/json-message.h"

static const char *const cli_kind_names[] = {
    [VG_CLIENT_RPC_UNARY] = "unary",
    [VG_CLIENT_RPC_SERVER_STREAMING] = "server-streaming",
    [VG_CLIENT_RPC_CLIENT_STREAMING] = "client-streaming",
    [VG_CLIENT_RPC_BIDI_STREAMING] = "bidi-streaming",
};

/* "virtgrpc.v1.DomainService.GetDomain" -> "DomainService.GetDomain": the project's own
 * package goes without saying; others (grpc.health.v1.Health.Check) keep theirs. */
static char *
cli_method_display_name(const vg_client_method *method)
{
    const char *service = method->service;

    if (g_str_has_prefix(service, "virtgrpc.v1."))
        service += strlen("virtgrpc.v1.");
    return g_strconcat(service, ".", method->name, NULL);
}

static int
cli_run_methods(cli_context *context, const cli_args *args)
{
    const char *filter = args->n_positional ? args->positional[0] : "";
    gchar *folded_filter = g_utf8_casefold(filter, -1);
    json_object *list = json_object_new_array();
    cli_table *table = context->json ? NULL : cli_table_new(3, "Method", "Kind", "Summary");

    for (size_t m = 0; m < vg_client_methods_count; m++) {
        const vg_client_method *method = &vg_client_methods[m];
        char *name = cli_method_display_name(method);
        gchar *folded = g_utf8_casefold(method->path, -1);

        if (strstr(folded, folded_filter)) {
            json_object *row = json_object_new_object();
            json_object_object_add(row, "method", json_object_new_string(name));
            json_object_object_add(row, "path", json_object_new_string(method->path));
            json_object_object_add(row, "kind",
                                   json_object_new_string(cli_kind_names[method->kind]));
            json_object_object_add(row, "requestType",
                                   json_object_new_string(method->request_type->name));
            json_object_object_add(row, "responseType",
                                   json_object_new_string(method->response_type->name));
            json_object_object_add(row, "summary", json_object_new_string(method->summary));
            json_object_array_add(list, row);
            if (table)
                cli_table_add(table, name, cli_kind_names[method->kind], method->summary);
        }
        g_free(folded);
        g_free(name);
    }
    if (table)
        cli_table_print(table);
    else
        cli_print_json_object(list);
    json_object_put(list);
    g_free(folded_filter);
    return CLI_EXIT_OK;
}

static const cli_option cli_call_options[] = {
    {"count", "N", "streams: stop after N responses"},
    {NULL},
};

/* The request text: the argument, stdin for "-", "{}" when none is given. */
static int
cli_read_request(const cli_args *args, json_object **json)
{
    const char *text = args->n_positional > 1 ? args->positional[1] : "{}";
    gchar *from_stdin = NULL;
    enum json_tokener_error error;

    if (strcmp(text, "-") == 0) {
        if (!g_file_get_contents("/dev/stdin", &from_stdin, NULL, NULL))
            return cli_usage_error(args, "cannot read the request from stdin");
        text = from_stdin;
    }
    *json = json_tokener_parse_verbose(text, &error);
    g_free(from_stdin);
    if (*json == NULL)
        return cli_usage_error(args, "the request is not JSON: %s",
                               json_tokener_error_desc(error));
    return 0;
}

/* Reads and prints responses, one JSON object per line, up to `limit` (0: all). */
static int
cli_print_stream(vg_client_stream *stream, uint64_t limit)
{
    vg_status status = {0};
    ProtobufCMessage *message = NULL;
    uint64_t printed = 0;
    int rc;

    while ((limit == 0 || printed < limit) &&
           (rc = vg_client_stream_next(stream, &message, &status)) == 1) {
        cli_print_message_line(message);
        cli_free_message(message);
        printed++;
    }
    if (limit && printed == limit)
        return CLI_EXIT_OK;
    return rc < 0 ? cli_status_error(&status) : CLI_EXIT_OK;
}

/* Sends every request of a client-side stream (a JSON array sends one per element),
 * then half-closes. */
static int
cli_send_requests(vg_client_stream *stream, const vg_client_method *method,
                  json_object *json)
{
    bool is_array = json_object_is_type(json, json_type_array);
    size_t count = is_array ? json_object_array_length(json) : 1;
    vg_status status = {0};
    int rc = 0;

    for (size_t i = 0; i < count && rc == 0; i++) {
        json_object *item = is_array ? json_object_array_get_idx(json, i) : json;
        ProtobufCMessage *message = NULL;
        rc = cli_message_from_json(json_object_get(item), method->request_type, &message);
        if (rc == 0 && vg_client_stream_send(stream, message, &status) < 0)
            rc = cli_status_error(&status);
        cli_free_message(message);
    }
    if (rc == 0 && vg_client_stream_close_send(stream, &status) < 0)
        rc = cli_status_error(&status);
    return rc;
}

static int
cli_run_call(cli_context *context, const cli_args *args)
{
    const vg_client_method *method = cli_find_method(args->positional[0]);
    ProtobufCMessage *request = NULL, *response = NULL;
    vg_client_stream *stream = NULL;
    vg_status status = {0};
    json_object *json = NULL;
    uint64_t limit;
    int rc;

    if (method == NULL)
        return cli_usage_error(args, "no RPC '%s' (see 'virtgrpc methods')",
                               args->positional[0]);
    rc = cli_option_uint(args, "count", 0, &limit);
    if (rc == 0)
        rc = cli_read_request(args, &json);
    if (rc)
        return rc;
    if (method->kind == VG_CLIENT_RPC_UNARY ||
        method->kind == VG_CLIENT_RPC_SERVER_STREAMING)
        rc = cli_message_from_json(json_object_get(json), method->request_type, &request);
    if (rc == 0)
        rc = cli_connect(context);
    if (rc)
        goto out;

    switch (method->kind) {
    case VG_CLIENT_RPC_UNARY:
        if (vg_client_call_unary(context->client, method->path, request,
                                 method->response_type, &response,
                                 cli_unary_deadline_ms(context), &status) < 0) {
            rc = cli_status_error(&status);
            break;
        }
        cli_print_message(response);
        break;
    case VG_CLIENT_RPC_SERVER_STREAMING:
    case VG_CLIENT_RPC_CLIENT_STREAMING:
    case VG_CLIENT_RPC_BIDI_STREAMING:
        if (vg_client_stream_open(
                context->client, method->path, request, method->response_type,
                context->timeout_ms > 0 ? context->timeout_ms : -1, &stream, &status) < 0) {
            rc = cli_status_error(&status);
            break;
        }
        if (request == NULL)
            rc = cli_send_requests(stream, method, json);
        if (rc == 0)
            rc = cli_print_stream(stream, limit);
        break;
    }

out:
    vg_client_stream_free(stream);
    cli_free_message(request);
    cli_free_message(response);
    json_object_put(json);
    return rc;
}

const cli_command cli_generic_commands[] = {
    {"methods", "[FILTER]", 0, 1,
     "list every RPC (those whose path contains FILTER), for 'call'", NULL,
     cli_run_methods},
    {"call", "METHOD [JSON|-]", 1, 2,
     "call any RPC with a JSON request ('-': read it from stdin; default {}); "
     "METHOD is Service.Method as 'methods' lists it; streams print one JSON object "
     "per line",
     cli_call_options, cli_run_call},
    {NULL},
};
