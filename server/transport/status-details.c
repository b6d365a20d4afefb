#include "server/transport/status-details.h"

#include <stdio.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "server/libvirt-errors.h"

#define VG_ERROR_INFO_TYPE_URL "type.googleapis.com/google.rpc.ErrorInfo"

grpc_slice
vg_status_details_encode(const vg_status_details *details)
{
    Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
    Google__Rpc__ErrorInfo__MetadataEntry entries[3];
    Google__Rpc__ErrorInfo__MetadataEntry *entry_ptrs[3];
    char code_text[16];
    char domain_text[16];
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    Google__Protobuf__Any *any_ptr = &any;
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    grpc_slice info_bytes;
    grpc_slice status_bytes;

    info.reason = (char *)details->reason;
    info.domain = (char *)details->error_domain;
    if (details->libvirt_code) {
        snprintf(code_text, sizeof(code_text), "%d", details->libvirt_code);
        snprintf(domain_text, sizeof(domain_text), "%d", details->libvirt_domain);
        const char *keys[] = { "code", "domain", "domain_name" };
        const char *values[] = { code_text, domain_text,
                                 vg_libvirt_error_domain_name(details->libvirt_domain) };

        for (size_t i = 0; i < 3; i++) {
            google__rpc__error_info__metadata_entry__init(&entries[i]);
            entries[i].key = (char *)keys[i];
            entries[i].value = (char *)values[i];
            entry_ptrs[i] = &entries[i];
        }
        info.n_metadata = 3;
        info.metadata = entry_ptrs;
    }

    info_bytes = grpc_slice_malloc(google__rpc__error_info__get_packed_size(&info));
    google__rpc__error_info__pack(&info, GRPC_SLICE_START_PTR(info_bytes));

    any.type_url = VG_ERROR_INFO_TYPE_URL;
    any.value.data = GRPC_SLICE_START_PTR(info_bytes);
    any.value.len = GRPC_SLICE_LENGTH(info_bytes);

    status.code = details->code;
    status.message = (char *)details->message;
    status.n_details = 1;
    status.details = &any_ptr;

    status_bytes = grpc_slice_malloc(google__rpc__status__get_packed_size(&status));
    google__rpc__status__pack(&status, GRPC_SLICE_START_PTR(status_bytes));
    grpc_slice_unref(info_bytes);
    return status_bytes;
}
