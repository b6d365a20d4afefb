/*
 * Domain commands, as virsh names them: list, dominfo, the lifecycle verbs, define,
 * undefine, dumpxml, domstats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "client/cli/cli.h"
#include "client/cli/json-message.h"

/* A request {"domain": <ref of the command's first argument>}. */
static json_object *
cli_domain_request(const cli_args *args)
{
    json_object *request = json_object_new_object();

    json_object_object_add(request, "domain", cli_domain_ref(args->positional[0]));
    return request;
}

/* "running (booted)": the state and the reason the oneof holds. */
static const char *
cli_state_text(const Virtgrpc__V1__DomainStateInfo *state, char *buffer, size_t size)
{
    const ProtobufCMessageDescriptor *type = &virtgrpc__v1__domain_state_info__descriptor;
    char label[64], reason[64] = "";

    if (state == NULL)
        return "?";
    cli_enum_label(&virtgrpc__v1__domain_state__descriptor, state->state, label,
                   sizeof(label));
    for (unsigned f = 0; f < type->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &type->fields[f];
        if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            field->id == (unsigned)state->reason_case)
            cli_enum_label(field->descriptor,
                           *(const int *)((const char *)state + field->offset), reason,
                           sizeof(reason));
    }
    if (reason[0])
        snprintf(buffer, size, "%s (%s)", label, reason);
    else
        snprintf(buffer, size, "%s", label);
    return buffer;
}

/* ---- list ---- */

static const cli_option cli_list_options[] = {
    {"all", NULL, "list active and inactive domains"},
    {"inactive", NULL, "list inactive domains only"},
    {"name", NULL, "print names only, one per line"},
    {"uuid", NULL, "print UUIDs only, one per line"},
    {NULL},
};

static const cli_enum_option cli_list_filters[] = {
    {"inactive", "filters", "LIST_DOMAINS_FILTER_INACTIVE"},
    {NULL},
};

static int
cli_run_list(cli_context *context, const cli_args *args)
{
    json_object *request = json_object_new_object();
    Virtgrpc__V1__ListDomainsResponse *response = NULL;
    int rc;

    if (cli_flag(args, "name") && cli_flag(args, "uuid"))
        return cli_usage_error(args, "--name and --uuid exclude each other");
    cli_add_enum_options(request, args, cli_list_filters);
    if (!cli_flag(args, "all") && !cli_flag(args, "inactive")) {
        /* virsh's default: running and paused domains only. */
        json_object *filters = json_object_new_array();
        json_object_array_add(filters,
                              json_object_new_string("LIST_DOMAINS_FILTER_ACTIVE"));
        json_object_object_add(request, "filters", filters);
    }
    rc = cli_call(context, "DomainService.ListDomains", request,
                  (ProtobufCMessage **)&response);
    if (rc)
        return rc;

    if (context->json) {
        cli_print_message(&response->base);
    } else if (cli_flag(args, "name") || cli_flag(args, "uuid")) {
        for (size_t i = 0; i < response->n_domains; i++)
            puts(cli_flag(args, "name") ? response->domains[i]->name
                                        : response->domains[i]->uuid);
    } else {
        cli_table *table = cli_table_new(3, "Id", "Name", "State");
        for (size_t i = 0; i < response->n_domains; i++) {
            const Virtgrpc__V1__Domain *domain = response->domains[i];
            char id[16], state[64];
            snprintf(id, sizeof(id), "%d", domain->id);
            cli_table_add(table, domain->id > 0 ? id : "-", domain->name,
                          cli_enum_label(&virtgrpc__v1__domain_state__descriptor,
                                         domain->state ? domain->state->state : 0, state,
                                         sizeof(state)));
        }
        cli_table_print(table);
    }
    cli_free_message(response);
    return CLI_EXIT_OK;
}

/* ---- dominfo ---- */

static int
cli_run_dominfo(cli_context *context, const cli_args *args)
{
    Virtgrpc__V1__DomainInfo *info = NULL;
    char state[128];
    int rc;

    rc = cli_call(context, "DomainService.GetDomainInfo", cli_domain_request(args),
                  (ProtobufCMessage **)&info);
    if (rc)
        return rc;
    if (context->json) {
        cli_print_message(&info->base);
    } else {
        const Virtgrpc__V1__Domain *domain = info->domain;
        if (domain->id > 0)
            printf("%-15s %d\n", "Id:", domain->id);
        else
            printf("%-15s %s\n", "Id:", "-");
        printf("%-15s %s\n", "Name:", domain->name);
        printf("%-15s %s\n", "UUID:", domain->uuid);
        printf("%-15s %s\n", "State:", cli_state_text(domain->state, state, sizeof(state)));
        printf("%-15s %u\n", "CPU(s):", info->vcpus);
        printf("%-15s %.1fs\n", "CPU time:", info->cpu_time_ns / 1e9);
        printf("%-15s %" G_GUINT64_FORMAT " KiB\n", "Max memory:", info->max_memory_kib);
        printf("%-15s %" G_GUINT64_FORMAT " KiB\n", "Used memory:", info->memory_kib);
    }
    cli_free_message(info);
    return CLI_EXIT_OK;
}

/* ---- lifecycle: one RPC on one domain, answered with the Domain ---- */

typedef struct cli_action {
    const char *command;
    const char *method;
    const char *done;               /* "Domain 'x' <done>" */
    const cli_enum_option *options; /* may be NULL */
} cli_action;

static const cli_option cli_start_options[] = {
    {"paused", NULL, "leave the domain paused after starting it"},
    {"force-boot", NULL, "boot, discarding a managed save image"},
    {NULL},
};
static const cli_option cli_mode_options[] = {
    {"mode", "MODE",
     "how: acpi-power-btn, guest-agent, initctl, signal, paravirt (comma-separated)"},
    {NULL},
};
static const cli_option cli_destroy_options[] = {
    {"graceful", NULL, "ask the hypervisor nicely (SIGTERM), never SIGKILL"},
    {NULL},
};

static const cli_action cli_actions[] = {
    {"start", "DomainService.StartDomain", "started",
     (const cli_enum_option[]){{"paused", "flags", "START_FLAG_PAUSED"},
                               {"force-boot", "flags", "START_FLAG_FORCE_BOOT"},
                               {NULL}}},
    {"shutdown", "DomainService.ShutdownDomain", "is being shutdown",
     (const cli_enum_option[]){{"mode", "modes", "SHUTDOWN_MODE_"}, {NULL}}},
    {"reboot", "DomainService.RebootDomain", "is being rebooted",
     (const cli_enum_option[]){{"mode", "modes", "REBOOT_MODE_"}, {NULL}}},
    {"destroy", "DomainService.DestroyDomain", "destroyed",
     (const cli_enum_option[]){{"graceful", "flags", "DESTROY_FLAG_GRACEFUL"}, {NULL}}},
    {"suspend", "DomainService.SuspendDomain", "suspended", NULL},
    {"resume", "DomainService.ResumeDomain", "resumed", NULL},
    {"undefine", "DomainService.UndefineDomain", "has been undefined",
     (const cli_enum_option[]){
         {"snapshots-metadata", "flags", "UNDEFINE_FLAG_SNAPSHOTS_METADATA"},
         {"managed-save", "flags", "UNDEFINE_FLAG_MANAGED_SAVE"},
         {"nvram", "flags", "UNDEFINE_FLAG_NVRAM"},
         {NULL}}},
};

static const cli_option cli_undefine_options[] = {
    {"snapshots-metadata", NULL, "also remove snapshot metadata"},
    {"managed-save", NULL, "also remove a managed save image"},
    {"nvram", NULL, "also remove the NVRAM file"},
    {NULL},
};

static int
cli_run_action(cli_context *context, const cli_args *args)
{
    const cli_action *action = NULL;
    Virtgrpc__V1__Domain *domain = NULL;
    json_object *request;
    int rc;

    for (size_t i = 0; i < G_N_ELEMENTS(cli_actions); i++) {
        if (strcmp(cli_actions[i].command, args->command->name) == 0)
            action = &cli_actions[i];
    }
    request = cli_domain_request(args);
    if (action->options)
        cli_add_enum_options(request, args, action->options);
    rc = cli_call(context, action->method, request, (ProtobufCMessage **)&domain);
    if (rc)
        return rc;
    if (context->json)
        cli_print_message(&domain->base);
    else
        printf("Domain '%s' %s\n", domain->name, action->done);
    cli_free_message(domain);
    return CLI_EXIT_OK;
}

/* ---- define, dumpxml ---- */

static const cli_option cli_define_options[] = {
    {"validate", NULL, "validate the XML against libvirt's schema"},
    {NULL},
};

static int
cli_run_define(cli_context *context, const cli_args *args)
{
    const char *path = args->positional[0];
    Virtgrpc__V1__Domain *domain = NULL;
    json_object *request;
    GError *error = NULL;
    gchar *xml = NULL;
    int rc;

    if (strcmp(path, "-") == 0 ? !g_file_get_contents("/dev/stdin", &xml, NULL, &error)
                               : !g_file_get_contents(path, &xml, NULL, &error)) {
        rc = cli_error(CLI_EXIT_USAGE, "cannot read '%s': %s", path, error->message);
        g_error_free(error);
        return rc;
    }
    request = json_object_new_object();
    json_object_object_add(request, "xml", json_object_new_string(xml));
    g_free(xml);
    cli_add_enum_options(
        request, args,
        (const cli_enum_option[]){{"validate", "flags", "DEFINE_FLAG_VALIDATE"}, {NULL}});
    rc = cli_call(context, "DomainService.DefineDomain", request,
                  (ProtobufCMessage **)&domain);
    if (rc)
        return rc;
    if (context->json)
        cli_print_message(&domain->base);
    else
        printf("Domain '%s' defined from %s\n", domain->name, path);
    cli_free_message(domain);
    return CLI_EXIT_OK;
}

static const cli_option cli_dumpxml_options[] = {
    {"inactive", NULL, "the configuration the next boot uses"},
    {"security-info", NULL, "include security-sensitive data (passwords)"},
    {"migratable", NULL, "the XML fit for migration"},
    {NULL},
};

static int
cli_run_dumpxml(cli_context *context, const cli_args *args)
{
    Virtgrpc__V1__GetDomainXMLResponse *response = NULL;
    json_object *request = cli_domain_request(args);
    int rc;

    cli_add_enum_options(
        request, args,
        (const cli_enum_option[]){{"inactive", "flags", "DOMAIN_XML_FLAG_INACTIVE"},
                                  {"security-info", "flags", "DOMAIN_XML_FLAG_SECURE"},
                                  {"migratable", "flags", "DOMAIN_XML_FLAG_MIGRATABLE"},
                                  {NULL}});
    rc = cli_call(context, "DomainService.GetDomainXML", request,
                  (ProtobufCMessage **)&response);
    if (rc)
        return rc;
    if (context->json)
        cli_print_message(&response->base);
    else
        printf("%s%s", response->xml, g_str_has_suffix(response->xml, "\n") ? "" : "\n");
    cli_free_message(response);
    return CLI_EXIT_OK;
}

/* ---- domstats ---- */

static const cli_option cli_domstats_options[] = {
    {"group", "GROUPS",
     "statistics groups, comma-separated: state, cpu-total, balloon, vcpu, interface, "
     "block, perf, iothread, memory, dirtyrate, vm (default: all)"},
    {"enforce", NULL, "fail when a requested group is not supported"},
    {NULL},
};

static int
cli_run_domstats(cli_context *context, const cli_args *args)
{
    Virtgrpc__V1__GetAllDomainStatsResponse *response = NULL;
    json_object *request = json_object_new_object();
    json_object *domains = json_object_new_array();
    int rc;

    for (int i = 0; i < args->n_positional; i++)
        json_object_array_add(domains, cli_domain_ref(args->positional[i]));
    json_object_object_add(request, "domains", domains);
    cli_add_enum_options(
        request, args,
        (const cli_enum_option[]){{"group", "stats", "STATS_TYPE_"},
                                  {"enforce", "flags", "GET_ALL_STATS_FLAG_ENFORCE_STATS"},
                                  {NULL}});
    rc = cli_call(context, "StatsService.GetAllDomainStats", request,
                  (ProtobufCMessage **)&response);
    if (rc)
        return rc;
    if (context->json) {
        cli_print_message(&response->base);
    } else {
        for (size_t i = 0; i < response->n_domains; i++) {
            json_object *stats = cli_json_from_message(&response->domains[i]->base);
            json_object_object_del(stats, "domain");
            printf("%sDomain: '%s'\n", i ? "\n" : "", response->domains[i]->domain->name);
            cli_print_flat(stats, "  ");
            json_object_put(stats);
        }
    }
    cli_free_message(response);
    return CLI_EXIT_OK;
}

const cli_command cli_domain_commands[] = {
    {"list", "", 0, 0, "list domains (running ones unless --all)", cli_list_options,
     cli_run_list},
    {"dominfo", "DOMAIN", 1, 1, "basic information about a domain", NULL, cli_run_dominfo},
    {"start", "DOMAIN", 1, 1, "start a defined, inactive domain", cli_start_options,
     cli_run_action},
    {"shutdown", "DOMAIN", 1, 1, "ask a domain's guest to shut down", cli_mode_options,
     cli_run_action},
    {"reboot", "DOMAIN", 1, 1, "ask a domain's guest to reboot", cli_mode_options,
     cli_run_action},
    {"destroy", "DOMAIN", 1, 1, "stop a domain at once (pull the plug)",
     cli_destroy_options, cli_run_action},
    {"suspend", "DOMAIN", 1, 1, "pause a running domain", NULL, cli_run_action},
    {"resume", "DOMAIN", 1, 1, "resume a paused domain", NULL, cli_run_action},
    {"define", "FILE", 1, 1,
     "define (but not start) a domain from an XML file ('-': stdin)", cli_define_options,
     cli_run_define},
    {"undefine", "DOMAIN", 1, 1, "remove a domain's configuration", cli_undefine_options,
     cli_run_action},
    {"dumpxml", "DOMAIN", 1, 1, "a domain's XML description", cli_dumpxml_options,
     cli_run_dumpxml},
    {"domstats", "[DOMAIN...]", 0, -1, "statistics of domains (all when none is named)",
     cli_domstats_options, cli_run_domstats},
    {NULL},
};
