/*
 * Watches a domain's lifecycle events (EventService.WatchEvents) with the callback
 * form of a stream, and stops after COUNT events. Prints "watching" once the stream
 * is open and the server has listed the domain's current state, so a script knows
 * when events will be seen.
 * Usage: watch-events NAME COUNT [TARGET]   (default 127.0.0.1:50051)
 */
#include <stdio.h>
#include <stdlib.h>

#include <virtgrpc/virtgrpc.h>

struct watch {
    int wanted; /* lifecycle events to print before stopping */
    int seen;
};

/* Called for each DomainEvent; returns non-zero to stop (the call is cancelled). */
static int
on_event(const Virtgrpc__V1__DomainEvent *event, void *user_data)
{
    struct watch *watch = user_data;

    if (event->event_case == VIRTGRPC__V1__DOMAIN_EVENT__EVENT_CURRENT_DOMAINS) {
        printf("watching\n");
    } else if (event->event_case == VIRTGRPC__V1__DOMAIN_EVENT__EVENT_LIFECYCLE) {
        const ProtobufCEnumValue *type = protobuf_c_enum_descriptor_get_value(
            &virtgrpc__v1__lifecycle_event_type__descriptor, event->lifecycle->type);

        printf("event %llu: %s %s\n", (unsigned long long)event->sequence,
               event->domain->name, type ? type->name : "?");
        watch->seen++;
    }
    fflush(stdout); /* a script reads this line by line */
    return watch->seen >= watch->wanted;
}

int
main(int argc, char **argv)
{
    vg_client_options options = {.target = argc > 3 ? argv[3] : "127.0.0.1:50051"};
    Virtgrpc__V1__DomainRef ref = VIRTGRPC__V1__DOMAIN_REF__INIT;
    Virtgrpc__V1__DomainRef *refs[] = {&ref};
    Virtgrpc__V1__EventKind kinds[] = {VIRTGRPC__V1__EVENT_KIND__EVENT_KIND_LIFECYCLE};
    Virtgrpc__V1__WatchEventsRequest request = VIRTGRPC__V1__WATCH_EVENTS_REQUEST__INIT;
    struct watch watch = {0, 0};
    vg_client_stream *stream = NULL;
    vg_client *client = NULL;
    vg_status status = {0};
    int rc = 1;

    if (argc < 3 || (watch.wanted = atoi(argv[2])) <= 0) {
        fprintf(stderr, "usage: watch-events NAME COUNT [TARGET]\n");
        return 2;
    }
    if (vg_client_new(&options, &client, &status) < 0)
        goto out;

    ref.ref_case = VIRTGRPC__V1__DOMAIN_REF__REF_NAME;
    ref.name = argv[1];
    request.n_domains = 1;
    request.domains = refs;
    request.n_kinds = 1;
    request.kinds = kinds;
    /* No deadline: a watch lasts until we stop it (another thread could end it with
     * vg_client_stream_cancel(stream)). */
    if (vgc_event_service_watch_events_open(client, &request, -1, &stream, &status) < 0 ||
        vgc_event_service_watch_events_each(stream, on_event, &watch, &status) < 0)
        goto out;
    rc = watch.seen >= watch.wanted ? 0 : 1;
    if (rc != 0)
        fprintf(stderr, "watch-events: the server ended the stream early\n");
    vg_client_stream_free(stream);
    stream = NULL;

out:
    if (rc != 0 && status.code != VG_CODE_OK) {
        fprintf(stderr, "watch-events: %s (%s, %s)\n",
                status.message ? status.message : "failed", vg_code_name(status.code),
                status.reason ? status.reason : "no details");
    }
    vg_client_stream_free(stream);
    vg_status_clear(&status);
    vg_client_free(client);
    return rc;
}
