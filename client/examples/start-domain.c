/*
 * Starts a domain by name and prints its new state; on failure prints the gRPC status
 * and the libvirt error name. The README shows its core.
 * Usage: start-domain NAME [TARGET]   (default 127.0.0.1:50051)
 */
#include <stdio.h>

#include <virtgrpc/virtgrpc.h>

int
main(int argc, char **argv)
{
    vg_client_options options = { .target = argc > 2 ? argv[2] : "127.0.0.1:50051" };
    vg_client *client = NULL;
    vg_status status = { 0 };
    Virtgrpc__V1__DomainRef ref = VIRTGRPC__V1__DOMAIN_REF__INIT;
    Virtgrpc__V1__StartDomainRequest request = VIRTGRPC__V1__START_DOMAIN_REQUEST__INIT;
    Virtgrpc__V1__Domain *domain = NULL;
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: start-domain NAME [TARGET]\n");
        return 2;
    }
    if (vg_client_new(&options, &client, &status) < 0)
        goto out;

    ref.ref_case = VIRTGRPC__V1__DOMAIN_REF__REF_NAME;
    ref.name = argv[1];
    request.domain = &ref;
    if (vgc_domain_service_start_domain(client, &request, &domain, 5000, &status) < 0)
        goto out;

    const ProtobufCEnumValue *state = protobuf_c_enum_descriptor_get_value(
        &virtgrpc__v1__domain_state__descriptor, domain->state->state);
    printf("%s (%s) is %s\n", domain->name, domain->uuid, state ? state->name : "?");
    rc = 0;

out:
    if (rc != 0) {
        /* status.code: the gRPC code; status.message: libvirt's message;
         * status.reason: e.g. "VIR_ERR_OPERATION_INVALID"; status.libvirt_code: 55. */
        fprintf(stderr, "start-domain: %s (code %d, %s)\n",
                status.message ? status.message : "failed", status.code,
                status.reason ? status.reason : "no details");
    }
    if (domain)
        protobuf_c_message_free_unpacked(&domain->base, NULL);
    vg_status_clear(&status);
    vg_client_free(client);
    return rc;
}
