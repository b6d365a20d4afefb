/*
 * Stops a domain: a clean shutdown request (ShutdownDomain, virDomainShutdown), or
 * with --force a power cut (DestroyDomain, virDomainDestroy).
 * Usage: stop-domain [--force] NAME [TARGET]   (default 127.0.0.1:50051)
 */
#include <stdio.h>
#include <string.h>

#include <virtgrpc/virtgrpc.h>

int
main(int argc, char **argv)
{
    int is_forced = argc > 1 && strcmp(argv[1], "--force") == 0;
    const char *name = argc > 1 + is_forced ? argv[1 + is_forced] : NULL;
    vg_client_options options = {
        .target = argc > 2 + is_forced ? argv[2 + is_forced] : "127.0.0.1:50051",
    };
    Virtgrpc__V1__DomainRef ref = VIRTGRPC__V1__DOMAIN_REF__INIT;
    Virtgrpc__V1__Domain *domain = NULL;
    vg_client *client = NULL;
    vg_status status = {0};
    int rc = 1;

    if (name == NULL) {
        fprintf(stderr, "usage: stop-domain [--force] NAME [TARGET]\n");
        return 2;
    }
    if (vg_client_new(&options, &client, &status) < 0)
        goto out;

    ref.ref_case = VIRTGRPC__V1__DOMAIN_REF__REF_NAME;
    ref.name = (char *)name;
    if (is_forced) {
        Virtgrpc__V1__DestroyDomainRequest request =
            VIRTGRPC__V1__DESTROY_DOMAIN_REQUEST__INIT;

        request.domain = &ref;
        if (vgc_domain_service_destroy_domain(client, &request, &domain, 5000, &status) < 0)
            goto out;
    } else {
        Virtgrpc__V1__ShutdownDomainRequest request =
            VIRTGRPC__V1__SHUTDOWN_DOMAIN_REQUEST__INIT;

        request.domain = &ref;
        if (vgc_domain_service_shutdown_domain(client, &request, &domain, 5000, &status) <
            0)
            goto out;
    }

    const ProtobufCEnumValue *state = protobuf_c_enum_descriptor_get_value(
        &virtgrpc__v1__domain_state__descriptor, domain->state->state);
    printf("%s (%s) is %s\n", domain->name, domain->uuid, state ? state->name : "?");
    rc = 0;

out:
    if (rc != 0) {
        /* vg_code_name(): "FAILED_PRECONDITION"; status.reason: libvirt's error name. */
        fprintf(stderr, "stop-domain: %s (%s, %s)\n",
                status.message ? status.message : "failed", vg_code_name(status.code),
                status.reason ? status.reason : "no details");
    }
    if (domain)
        protobuf_c_message_free_unpacked(&domain->base, NULL);
    vg_status_clear(&status);
    vg_client_free(client);
    return rc;
}
