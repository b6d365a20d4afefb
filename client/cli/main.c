/*
 * virtgrpc: global options, the subcommand tables, argument parsing and --help, all from
 * the tables in the family files (cli.h). Each command's getopt_long table is built from
 * its cli_option rows plus the global options, so `virtgrpc list --json` and
 * `virtgrpc --json list` both work.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/cli.h"

#define CLI_VERSION "0.1.0"
#define CLI_DEFAULT_SERVER "127.0.0.1:50051"
#define CLI_GLOBAL_BASE 1000 /* getopt `val` of global options; commands use 0.. */

static const cli_command *const cli_families[] = {
    cli_domain_commands, cli_snapshot_commands, cli_event_commands,
    cli_job_commands,    cli_console_commands,  cli_generic_commands,
};
#define CLI_N_FAMILIES (sizeof(cli_families) / sizeof(cli_families[0]))

enum cli_global {
    CLI_GLOBAL_SERVER,
    CLI_GLOBAL_TIMEOUT,
    CLI_GLOBAL_JSON,
    CLI_GLOBAL_TLS,
    CLI_GLOBAL_CACERT,
    CLI_GLOBAL_CERT,
    CLI_GLOBAL_KEY,
    CLI_GLOBAL_HELP,
    CLI_GLOBAL_VERSION,
    CLI_N_GLOBALS,
};

static const cli_option cli_globals[CLI_N_GLOBALS] = {
    [CLI_GLOBAL_SERVER] = {"server", "ADDR",
                           "server: HOST:PORT or unix:/PATH (default $VIRTGRPC_SERVER, "
                           "else " CLI_DEFAULT_SERVER ")"},
    [CLI_GLOBAL_TIMEOUT] = {"timeout", "SECONDS",
                            "deadline of each call (default 30; streams wait forever "
                            "unless given)"},
    [CLI_GLOBAL_JSON] = {"json", NULL,
                         "print the response messages as JSON (proto3 mapping)"},
    [CLI_GLOBAL_TLS] = {"tls", NULL, "TLS with the system's CA certificates"},
    [CLI_GLOBAL_CACERT] = {"cacert", "FILE", "TLS: CA certificates to trust (PEM)"},
    [CLI_GLOBAL_CERT] = {"cert", "FILE", "TLS: client certificate (PEM), for mTLS"},
    [CLI_GLOBAL_KEY] = {"key", "FILE", "TLS: client private key (PEM), for mTLS"},
    [CLI_GLOBAL_HELP] = {"help", NULL, "show help (also after a command)"},
    [CLI_GLOBAL_VERSION] = {"version", NULL, "print the version"},
};

static const char cli_exit_codes[] =
    "Exit status:\n"
    "  0  success\n"
    "  1  the server or libvirt failed the request\n"
    "  2  usage error (bad option, argument, JSON or input file)\n"
    "  3  not found (no such domain, snapshot or job: gRPC NOT_FOUND)\n"
    "  4  server unavailable (cannot connect, or it lost libvirt: UNAVAILABLE)\n";

static void
cli_print_options(const cli_option *options, size_t count)
{
    for (size_t i = 0; i < count && options[i].name; i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", options[i].name, options[i].arg ? "=" : "",
                 options[i].arg ? options[i].arg : "");
        printf("  %-22s %s\n", left, options[i].help);
    }
}

static void
cli_print_help(void)
{
    printf("Usage: virtgrpc [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
           "A virsh-like client of virtgrpcd, libvirt's domain API over gRPC.\n\n"
           "Global options (also accepted after the command):\n");
    cli_print_options(cli_globals, CLI_N_GLOBALS);
    printf("\nCommands:\n");
    for (size_t f = 0; f < CLI_N_FAMILIES; f++) {
        for (const cli_command *command = cli_families[f]; command->name; command++)
            printf("  %-20s %s\n", command->name, command->summary);
    }
    printf("\n'virtgrpc COMMAND --help' describes a command.\n\n%s", cli_exit_codes);
}

static void
cli_print_command_help(const cli_command *command)
{
    printf("Usage: virtgrpc %s [OPTIONS]%s%s\n\n%s\n", command->name,
           command->synopsis[0] ? " " : "", command->synopsis, command->summary);
    if (command->options && command->options[0].name) {
        printf("\nOptions:\n");
        cli_print_options(command->options, CLI_MAX_OPTIONS);
    }
    printf("\nGlobal options:\n");
    cli_print_options(cli_globals, CLI_N_GLOBALS);
    printf("\n%s", cli_exit_codes);
}

static const cli_command *
cli_find_command(const char *name)
{
    for (size_t f = 0; f < CLI_N_FAMILIES; f++) {
        for (const cli_command *command = cli_families[f]; command->name; command++) {
            if (strcmp(command->name, name) == 0)
                return command;
        }
    }
    return NULL;
}

/* getopt_long's table: the command's options (val = index), then the globals. */
static size_t
cli_long_options(const cli_command *command, struct option *table)
{
    size_t n = 0;

    for (size_t i = 0; command && command->options && command->options[i].name; i++) {
        table[n++] = (struct option){
            command->options[i].name,
            command->options[i].arg ? required_argument : no_argument, NULL, (int)i};
    }
    for (size_t g = 0; g < CLI_N_GLOBALS; g++) {
        table[n++] = (struct option){cli_globals[g].name,
                                     cli_globals[g].arg ? required_argument : no_argument,
                                     NULL, CLI_GLOBAL_BASE + (int)g};
    }
    table[n] = (struct option){0};
    return n;
}

/* Applies a global option. Returns 0, or the exit code of a usage error. */
static int
cli_apply_global(cli_context *context, int global, const char *arg, bool *help,
                 bool *version)
{
    char *end;
    double seconds;

    switch (global) {
    case CLI_GLOBAL_SERVER:
        context->server = arg;
        break;
    case CLI_GLOBAL_TIMEOUT:
        seconds = strtod(arg, &end);
        if (end == arg || *end || seconds <= 0 || seconds > 86400)
            return cli_error(CLI_EXIT_USAGE,
                             "--timeout wants seconds in (0, 86400], not '%s'", arg);
        context->timeout_ms = (int64_t)(seconds * 1000);
        break;
    case CLI_GLOBAL_JSON:
        context->json = true;
        break;
    case CLI_GLOBAL_TLS:
        context->tls = true;
        break;
    case CLI_GLOBAL_CACERT:
        context->cacert = arg;
        break;
    case CLI_GLOBAL_CERT:
        context->cert = arg;
        break;
    case CLI_GLOBAL_KEY:
        context->key = arg;
        break;
    case CLI_GLOBAL_HELP:
        *help = true;
        break;
    case CLI_GLOBAL_VERSION:
        *version = true;
        break;
    }
    return 0;
}

/*
 * Parses argv (from argv[0] = the command name, or the program for the globals) with
 * getopt_long. `command` NULL: globals only, stopping at the first non-option (the
 * command). Fills `args` for a command.
 */
static int
cli_parse(cli_context *context, const cli_command *command, int argc, char **argv,
          cli_args *args, bool *help, bool *version)
{
    struct option table[CLI_MAX_OPTIONS + CLI_N_GLOBALS + 1];
    int option;

    cli_long_options(command, table);
    optind = 0; /* glibc: a full re-initialisation for the second parse */
    opterr = 0;
    while ((option = getopt_long(argc, argv, command ? ":" : "+:", table, NULL)) != -1) {
        if (option == '?' || option == ':') {
            const char *what = option == ':' ? "needs an argument" : "is not known";
            if (command)
                return cli_usage_error(args, "option '%s' %s", argv[optind - 1], what);
            return cli_error(CLI_EXIT_USAGE, "option '%s' %s (see 'virtgrpc --help')",
                             argv[optind - 1], what);
        }
        if (option >= CLI_GLOBAL_BASE) {
            int rc =
                cli_apply_global(context, option - CLI_GLOBAL_BASE, optarg, help, version);
            if (rc)
                return rc;
        } else {
            args->values[option] = optarg ? optarg : "";
        }
    }
    if (command) {
        args->positional = argv + optind;
        args->n_positional = argc - optind;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    cli_context context = {.timeout_ms = -1};
    cli_args args = {0};
    const cli_command *command;
    bool help = false, version = false;
    int rc;

    context.server = getenv("VIRTGRPC_SERVER");
    if (context.server == NULL || context.server[0] == '\0')
        context.server = CLI_DEFAULT_SERVER;

    rc = cli_parse(&context, NULL, argc, argv, &args, &help, &version);
    if (rc)
        return rc;
    if (version) {
        printf("virtgrpc " CLI_VERSION "\n");
        return CLI_EXIT_OK;
    }
    if (optind >= argc) {
        if (help) {
            cli_print_help();
            return CLI_EXIT_OK;
        }
        return cli_error(CLI_EXIT_USAGE, "no command given (see 'virtgrpc --help')");
    }
    /* `virtgrpc help COMMAND` reads better than `virtgrpc COMMAND --help` to some. */
    if (strcmp(argv[optind], "help") == 0) {
        if (optind + 1 >= argc) {
            cli_print_help();
            return CLI_EXIT_OK;
        }
        optind++;
        help = true;
    }
    command = cli_find_command(argv[optind]);
    if (command == NULL)
        return cli_error(CLI_EXIT_USAGE, "unknown command '%s' (see 'virtgrpc --help')",
                         argv[optind]);

    args.command = command;
    rc = cli_parse(&context, command, argc - optind, argv + optind, &args, &help, &version);
    if (rc)
        return rc;
    if (help) {
        cli_print_command_help(command);
        return CLI_EXIT_OK;
    }
    if (args.n_positional < command->min_args ||
        (command->max_args >= 0 && args.n_positional > command->max_args))
        return cli_usage_error(&args, "'%s' takes %s%s", command->name,
                               command->synopsis[0] ? "arguments " : "no arguments",
                               command->synopsis);

    rc = command->run(&context, &args);
    vg_client_free(context.client);
    return rc;
}
