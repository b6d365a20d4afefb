/*
 * virtgrpc, the command-line client: what the command families share. Each family
 * (domain-cmds.c, snapshot-cmds.c, event-cmds.c, job-cmds.c, console-cmd.c, generic-cmds.c)
 * exports
 * a table of cli_command; main.c parses the global options, finds the command in the
 * tables, parses its options with getopt_long built from the same table (so --help is
 * generated from it too) and runs it. Commands build requests as JSON and call RPCs by
 * name through the generated method table (cli_call), so every --json output comes from
 * one message->JSON converter (json-message.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include <virtgrpc/virtgrpc.h>

/* Exit codes, documented in `virtgrpc --help` and the README. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILED = 1,      /* the server or libvirt refused or failed */
    CLI_EXIT_USAGE = 2,       /* bad command line or input file */
    CLI_EXIT_NOT_FOUND = 3,   /* NOT_FOUND: no such domain, snapshot, job */
    CLI_EXIT_UNAVAILABLE = 4, /* UNAVAILABLE: no server there, or it lost libvirt */
};

/* An option of a command: --NAME, or --NAME=ARG when `arg` names its argument. */
typedef struct cli_option {
    const char *name;
    const char *arg;
    const char *help;
} cli_option;

#define CLI_MAX_OPTIONS 16

typedef struct cli_context {
    const char *server; /* --server, $VIRTGRPC_SERVER, or CLI_DEFAULT_SERVER */
    int64_t timeout_ms; /* --timeout in ms; -1 when not given */
    bool json;          /* --json */
    bool tls;           /* --tls: TLS even without --cacert (the system\'s CAs) */
    const char *cacert; /* --cacert, --cert, --key: TLS (see main.c) */
    const char *cert;
    const char *key;
    vg_client *client; /* connected by cli_call / cli_stream_open on first use */
} cli_context;

typedef struct cli_command cli_command;

typedef struct cli_args {
    const cli_command *command;
    /* Per entry of command->options: its argument, "" for a flag given, NULL if not. */
    const char *values[CLI_MAX_OPTIONS];
    char **positional;
    int n_positional;
} cli_args;

struct cli_command {
    const char *name;
    const char *synopsis; /* positional arguments, e.g. "DOMAIN FILE" */
    int min_args;
    int max_args; /* -1: any number */
    const char *summary;
    const cli_option *options; /* ends with a { NULL } row; NULL for none */
    int (*run)(cli_context *context, const cli_args *args);
};

/* The command families; each table ends with a { NULL } row. */
extern const cli_command cli_domain_commands[];
extern const cli_command cli_snapshot_commands[];
extern const cli_command cli_event_commands[];
extern const cli_command cli_job_commands[];
extern const cli_command cli_console_commands[];
extern const cli_command cli_generic_commands[];

/* ---- arguments ---- */

/* The argument of option `name` ("" for a flag given), or NULL when it was not given. */
const char *cli_option_value(const cli_args *args, const char *name);
bool cli_flag(const cli_args *args, const char *name);
/* Parses a non-negative integer option; 0 ok, or prints a usage error and returns 2. */
int cli_option_uint(const cli_args *args, const char *name, uint64_t fallback,
                    uint64_t *value);
/* A DomainRef as JSON from what the user typed: a UUID, a numeric id, else a name
 * (virsh's rule). */
json_object *cli_domain_ref(const char *text);

/*
 * Options that add enum values to a repeated enum field of a request. A flag option
 * (no argument) adds `value`; an option with an argument adds `value` + the argument
 * upper-cased with '-' -> '_', for each comma-separated item ("--group=state,cpu-total"
 * with value "STATS_TYPE_" adds STATS_TYPE_STATE and STATS_TYPE_CPU_TOTAL).
 */
typedef struct cli_enum_option {
    const char *option;
    const char *field;
    const char *value;
} cli_enum_option;
/* Applies the rows (ending with { NULL }) whose option was given to `request`. */
void cli_add_enum_options(json_object *request, const cli_args *args,
                          const cli_enum_option *rows);

/* ---- errors: each prints one line on stderr and returns the exit code ---- */

int cli_error(int exit_code, const char *format, ...) __attribute__((format(printf, 2, 3)));
int cli_usage_error(const cli_args *args, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* "virtgrpc: error: <message> (<grpc code>, <libvirt code name>)" and the exit code the
 * gRPC code maps to. Clears `status`. */
int cli_status_error(vg_status *status);
const char *cli_code_name(vg_code code);

/* ---- calls ---- */

/* The RPC `name` names: "DomainService.GetDomain", "virtgrpc.v1.DomainService.GetDomain"
 * or "/virtgrpc.v1.DomainService/GetDomain"; NULL when there is none. */
const vg_client_method *cli_find_method(const char *name);
/* Connects context->client if it is not yet (0, or the exit code after the error). */
int cli_connect(cli_context *context);
/* The deadline of a unary call: --timeout, else 30 s. */
int64_t cli_unary_deadline_ms(const cli_context *context);
/* Calls unary RPC `method` with the request built from `request` (consumed). 0 with
 * *response set (free with protobuf_c_message_free_unpacked), or the exit code after
 * printing the error. */
int cli_call(cli_context *context, const char *method, json_object *request,
             ProtobufCMessage **response);
/* Opens a server-streaming RPC (request JSON consumed) or, with request NULL, a
 * bidirectional one. Streams wait forever unless --timeout was given. */
int cli_stream_open(cli_context *context, const char *method, json_object *request,
                    vg_client_stream **stream);
/* Builds a message of `type` from `json` (consumed); prints the error and returns 2. */
int cli_message_from_json(json_object *json, const ProtobufCMessageDescriptor *type,
                          ProtobufCMessage **message);

/* ---- output (output.c) ---- */

/* The message as JSON on stdout: indented, or on one line (for streams: JSON Lines). */
void cli_print_message(const ProtobufCMessage *message);
void cli_print_message_line(const ProtobufCMessage *message);
/* Any JSON value, indented (for the few outputs that are not one message). */
void cli_print_json_object(json_object *json);
/* An enum value as people say it: DOMAIN_STATE_SHUTOFF -> "shutoff" (the value names
 * without the prefix its _UNSPECIFIED value has, lower case, '_' -> ' '). */
const char *cli_enum_label(const ProtobufCEnumDescriptor *type, int value, char *buffer,
                           size_t size);
/* Every leaf of a JSON object as "  path.to.key=value" lines (domstats). */
void cli_print_flat(json_object *json, const char *indent);

/* A table printed with aligned columns. */
typedef struct cli_table cli_table;
cli_table *cli_table_new(int n_columns, ...); /* the column headers */
void cli_table_add(cli_table *table, ...);    /* one row: n_columns strings */
void cli_table_print(cli_table *table);       /* prints and frees */

/* Releases a protobuf-c message (accepts NULL). */
void cli_free_message(void *message);
