/*
 * The smallest useful virtgrpc client: lists the domains of a virtgrpcd and their
 * states. Usage: list-domains [TARGET]   (default 127.0.0.1:50051)
 */
#include <stdio.h>

#include <virtgrpc/virtgrpc.h>

int
main(int argc, char **argv)
{
    vg_client_options options = { .target = argc > 1 ? argv[1] : "127.0.0.1:50051" };
    Virtgrpc__V1__ListDomainsRequest request = VIRTGRPC__V1__LIST_DOMAINS_REQUEST__INIT;
    Virtgrpc__V1__ListDomainsResponse *response = NULL;
    vg_status status = { 0 };
    vg_client *client = NULL;
    int rc = 1;

    if (vg_client_new(&options, &client, &status) < 0)
        goto out;
    /* Deadline 5000 ms; on failure `status` has the gRPC code, the message and the
     * libvirt error name (e.g. VIR_ERR_NO_DOMAIN). */
    if (vgc_domain_service_list_domains(client, &request, &response, 5000, &status) < 0)
        goto out;

    for (size_t i = 0; i < response->n_domains; i++) {
        const Virtgrpc__V1__Domain *domain = response->domains[i];
        const ProtobufCEnumValue *state = protobuf_c_enum_descriptor_get_value(
            &virtgrpc__v1__domain_state__descriptor, domain->state->state);

        printf("%-36s  %-20s  %s\n", domain->uuid, domain->name,
               state ? state->name : "?");
    }
    rc = 0;

out:
    if (rc != 0) {
        fprintf(stderr, "list-domains: %s (code %d, %s)\n",
                status.message ? status.message : "failed", status.code,
                status.reason ? status.reason : "no details");
    }
    if (response)
        protobuf_c_message_free_unpacked(&response->base, NULL);
    vg_status_clear(&status);
    vg_client_free(client);
    return rc;
}
