/*
 * events (EventService.WatchEvents): domain events as they happen, one line each. The
 * stream opens with the current state of the watched domains (one "current" line), then
 * every event; --count stops after that many events (the opening line not counted).
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "client/cli/cli.h"
#include "client/cli/json-message.h"

static const cli_option cli_events_options[] = {
    {"domain", "DOMAIN", "only this domain's events"},
    {"kind", "KINDS",
     "only these kinds, comma-separated: lifecycle, reboot, metadata-change, block-job, "
     "device-added, ... (EventKind names without EVENT_KIND_)"},
    {"count", "N", "exit after N events"},
    {NULL},
};

/* "lifecycle: suspended paused" for lifecycle events; "<kind>: <its JSON>" otherwise. */
static void
cli_print_event(const Virtgrpc__V1__DomainEvent *event)
{
    json_object *json = cli_json_from_message(&event->base);
    const char *time = "";
    json_object *value;

    if (json_object_object_get_ex(json, "time", &value))
        time = json_object_get_string(value);

    if (event->event_case == VIRTGRPC__V1__DOMAIN_EVENT__EVENT_CURRENT_DOMAINS) {
        printf("%s current:", time);
        for (size_t i = 0; i < event->current_domains->n_domains; i++) {
            const Virtgrpc__V1__Domain *domain = event->current_domains->domains[i];
            char state[64];
            printf(" %s (%s)", domain->name,
                   cli_enum_label(&virtgrpc__v1__domain_state__descriptor,
                                  domain->state ? domain->state->state : 0, state,
                                  sizeof(state)));
        }
        putchar('\n');
    } else if (event->event_case == VIRTGRPC__V1__DOMAIN_EVENT__EVENT_LIFECYCLE) {
        const Virtgrpc__V1__LifecycleEvent *lifecycle = event->lifecycle;
        const ProtobufCFieldDescriptor *detail = protobuf_c_message_descriptor_get_field(
            &virtgrpc__v1__lifecycle_event__descriptor, lifecycle->detail_case);
        char type[64], detail_label[64] = "";
        if (detail)
            cli_enum_label(detail->descriptor,
                           *(const int *)((const char *)lifecycle + detail->offset),
                           detail_label, sizeof(detail_label));
        printf("%s %s lifecycle: %s %s\n", time, event->domain ? event->domain->name : "",
               cli_enum_label(&virtgrpc__v1__lifecycle_event_type__descriptor,
                              lifecycle->type, type, sizeof(type)),
               detail_label);
    } else {
        /* Every other kind: its name and the event's own fields as JSON. */
        json_object_object_del(json, "sequence");
        json_object_object_del(json, "time");
        json_object_object_del(json, "domain");
        json_object_object_foreach(json, kind, fields)
        {
            printf("%s %s %s: %s\n", time, event->domain ? event->domain->name : "", kind,
                   json_object_to_json_string_ext(
                       fields, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        }
    }
    fflush(stdout);
    json_object_put(json);
}

static int
cli_run_events(cli_context *context, const cli_args *args)
{
    json_object *request = json_object_new_object();
    const char *domain = cli_option_value(args, "domain");
    vg_client_stream *stream = NULL;
    Virtgrpc__V1__DomainEvent *event = NULL;
    vg_status status = {0};
    uint64_t limit, seen = 0;
    int rc;

    rc = cli_option_uint(args, "count", 0, &limit);
    if (rc) {
        json_object_put(request);
        return rc;
    }
    if (domain) {
        json_object *domains = json_object_new_array();
        json_object_array_add(domains, cli_domain_ref(domain));
        json_object_object_add(request, "domains", domains);
    }
    cli_add_enum_options(
        request, args, (const cli_enum_option[]){{"kind", "kinds", "EVENT_KIND_"}, {NULL}});
    rc = cli_stream_open(context, "EventService.WatchEvents", request, &stream);
    if (rc)
        return rc;
    while ((limit == 0 || seen < limit) &&
           (rc = vgc_event_service_watch_events_next(stream, &event, &status)) == 1) {
        if (context->json)
            cli_print_message_line(&event->base);
        else
            cli_print_event(event);
        if (event->event_case != VIRTGRPC__V1__DOMAIN_EVENT__EVENT_CURRENT_DOMAINS &&
            event->event_case != VIRTGRPC__V1__DOMAIN_EVENT__EVENT_RESYNC)
            seen++;
        cli_free_message(event);
    }
    if (limit && seen == limit)
        rc = CLI_EXIT_OK;
    else
        rc = rc < 0 ? cli_status_error(&status) : CLI_EXIT_OK;
    vg_client_stream_free(stream);
    return rc;
}

const cli_command cli_event_commands[] = {
    {"events", "", 0, 0, "print domain events as they happen", cli_events_options,
     cli_run_events},
    {NULL},
};
