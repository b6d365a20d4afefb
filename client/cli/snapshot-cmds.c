/*
 * Snapshot commands, as virsh names them: snapshot-create-as, snapshot-list,
 * snapshot-revert, snapshot-delete, snapshot-dumpxml.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "client/cli/cli.h"

/* {"snapshot": {"domain": <ref>, "name": NAME}} from DOMAIN NAME. */
static json_object *
cli_snapshot_request(const cli_args *args)
{
    json_object *request = json_object_new_object();
    json_object *ref = json_object_new_object();

    json_object_object_add(ref, "domain", cli_domain_ref(args->positional[0]));
    json_object_object_add(ref, "name", json_object_new_string(args->positional[1]));
    json_object_object_add(request, "snapshot", ref);
    return request;
}

static const cli_option cli_create_options[] = {
    {"description", "TEXT", "the snapshot's description"},
    {"disk-only", NULL, "external disk snapshot, no memory state"},
    {"atomic", NULL, "all disks or none"},
    {NULL},
};

static int
cli_run_create(cli_context *context, const cli_args *args)
{
    const char *description = cli_option_value(args, "description");
    Virtgrpc__V1__Snapshot *snapshot = NULL;
    json_object *request = json_object_new_object();
    gchar *name_xml, *description_xml, *xml;
    int rc;

    /* virsh's snapshot-create-as writes the same XML; g_markup escapes the user's text. */
    name_xml = g_markup_printf_escaped("<name>%s</name>", args->positional[1]);
    description_xml =
        description ? g_markup_printf_escaped("<description>%s</description>", description)
                    : g_strdup("");
    xml = g_strconcat("<domainsnapshot>", name_xml, description_xml, "</domainsnapshot>",
                      NULL);
    g_free(name_xml);
    g_free(description_xml);
    json_object_object_add(request, "domain", cli_domain_ref(args->positional[0]));
    json_object_object_add(request, "xml", json_object_new_string(xml));
    g_free(xml);
    cli_add_enum_options(
        request, args,
        (const cli_enum_option[]){{"disk-only", "flags", "SNAPSHOT_CREATE_FLAG_DISK_ONLY"},
                                  {"atomic", "flags", "SNAPSHOT_CREATE_FLAG_ATOMIC"},
                                  {NULL}});
    rc = cli_call(context, "SnapshotService.CreateDomainSnapshot", request,
                  (ProtobufCMessage **)&snapshot);
    if (rc)
        return rc;
    if (context->json)
        cli_print_message(&snapshot->base);
    else
        printf("Domain snapshot %s created\n", snapshot->name);
    cli_free_message(snapshot);
    return CLI_EXIT_OK;
}

static int
cli_run_list(cli_context *context, const cli_args *args)
{
    Virtgrpc__V1__ListDomainSnapshotsResponse *response = NULL;
    json_object *request = json_object_new_object();
    int rc;

    json_object_object_add(request, "domain", cli_domain_ref(args->positional[0]));
    rc = cli_call(context, "SnapshotService.ListDomainSnapshots", request,
                  (ProtobufCMessage **)&response);
    if (rc)
        return rc;
    if (context->json) {
        cli_print_message(&response->base);
    } else {
        cli_table *table = cli_table_new(3, "Name", "Parent", "Current");
        for (size_t i = 0; i < response->n_snapshots; i++) {
            const Virtgrpc__V1__Snapshot *snapshot = response->snapshots[i];
            cli_table_add(table, snapshot->name, snapshot->parent_name,
                          snapshot->is_current ? "yes" : "no");
        }
        cli_table_print(table);
    }
    cli_free_message(response);
    return CLI_EXIT_OK;
}

static const cli_option cli_revert_options[] = {
    {"running", NULL, "run the domain after reverting"},
    {"paused", NULL, "leave the domain paused after reverting"},
    {"force", NULL, "revert even when it is risky"},
    {NULL},
};

static int
cli_run_revert(cli_context *context, const cli_args *args)
{
    Virtgrpc__V1__Domain *domain = NULL;
    json_object *request = cli_snapshot_request(args);
    int rc;

    cli_add_enum_options(
        request, args,
        (const cli_enum_option[]){{"running", "flags", "SNAPSHOT_REVERT_FLAG_RUNNING"},
                                  {"paused", "flags", "SNAPSHOT_REVERT_FLAG_PAUSED"},
                                  {"force", "flags", "SNAPSHOT_REVERT_FLAG_FORCE"},
                                  {NULL}});
    rc = cli_call(context, "SnapshotService.RevertDomainSnapshot", request,
                  (ProtobufCMessage **)&domain);
    if (rc)
        return rc;
    if (context->json)
        cli_print_message(&domain->base);
    else
        printf("Domain '%s' reverted to snapshot %s\n", domain->name, args->positional[1]);
    cli_free_message(domain);
    return CLI_EXIT_OK;
}

static const cli_option cli_delete_options[] = {
    {"children", NULL, "also delete the snapshot's descendants"},
    {"metadata", NULL, "delete libvirt's metadata only"},
    {NULL},
};

static int
cli_run_delete(cli_context *context, const cli_args *args)
{
    ProtobufCMessage *response = NULL;
    json_object *request = cli_snapshot_request(args);
    int rc;

    cli_add_enum_options(request, args,
                         (const cli_enum_option[]){
                             {"children", "flags", "SNAPSHOT_DELETE_FLAG_CHILDREN"},
                             {"metadata", "flags", "SNAPSHOT_DELETE_FLAG_METADATA_ONLY"},
                             {NULL}});
    rc = cli_call(context, "SnapshotService.DeleteDomainSnapshot", request, &response);
    if (rc)
        return rc;
    if (context->json)
        cli_print_message(response);
    else
        printf("Domain snapshot %s deleted\n", args->positional[1]);
    cli_free_message(response);
    return CLI_EXIT_OK;
}

static int
cli_run_dumpxml(cli_context *context, const cli_args *args)
{
    Virtgrpc__V1__GetDomainSnapshotXMLResponse *response = NULL;
    int rc;

    rc = cli_call(context, "SnapshotService.GetDomainSnapshotXML",
                  cli_snapshot_request(args), (ProtobufCMessage **)&response);
    if (rc)
        return rc;
    if (context->json)
        cli_print_message(&response->base);
    else
        printf("%s%s", response->xml, g_str_has_suffix(response->xml, "\n") ? "" : "\n");
    cli_free_message(response);
    return CLI_EXIT_OK;
}

const cli_command cli_snapshot_commands[] = {
    {"snapshot-create-as", "DOMAIN NAME", 2, 2, "create a snapshot named NAME",
     cli_create_options, cli_run_create},
    {"snapshot-list", "DOMAIN", 1, 1, "list a domain's snapshots", NULL, cli_run_list},
    {"snapshot-revert", "DOMAIN NAME", 2, 2, "revert a domain to a snapshot",
     cli_revert_options, cli_run_revert},
    {"snapshot-delete", "DOMAIN NAME", 2, 2, "delete a snapshot", cli_delete_options,
     cli_run_delete},
    {"snapshot-dumpxml", "DOMAIN NAME", 2, 2, "a snapshot's XML description", NULL,
     cli_run_dumpxml},
    {NULL},
};
