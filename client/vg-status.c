/*
 * vg_status: a failed call's gRPC status, with the google.rpc.ErrorInfo virtgrpc puts in
 * the `grpc-status-details-bin` trailer decoded into reason, domain and libvirt code.
 */
#define _GNU_SOURCE /* vasprintf */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/slice.h>

#include "client/vg-client-internal.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

#define VG_STATUS_DETAILS_KEY "grpc-status-details-bin"
/* Any.type_url is "<prefix>/<full message name>"; only the name identifies the type. */
#define VG_ERROR_INFO_TYPE "google.rpc.ErrorInfo"

const char *
vg_code_name(vg_code code)
{
    /* Indexed by the code: the numbers are fixed by the gRPC specification. */
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };

    if ((unsigned)code >= sizeof(names) / sizeof(names[0]))
        return "UNKNOWN_CODE";
    return names[code];
}

void
vg_status_clear(vg_status *status)
{
    if (status == NULL)
        return;
    free(status->message);
    free(status->reason);
    free(status->error_domain);
    memset(status, 0, sizeof(*status));
    status->code = VG_CODE_OK;
}

void
vg_status_set(vg_status *status, vg_code code, const char *format, ...)
{
    va_list args;
    char *message = NULL;

    if (status == NULL)
        return;
    va_start(args, format);
    if (vasprintf(&message, format, args) < 0)
        message = NULL;
    va_end(args);

    memset(status, 0, sizeof(*status));
    status->code = code;
    status->message = message;
}

static char *
vg_slice_strdup(grpc_slice slice)
{
    size_t length = GRPC_SLICE_LENGTH(slice);
    char *copy = malloc(length + 1);

    if (copy == NULL)
        return NULL;
    memcpy(copy, GRPC_SLICE_START_PTR(slice), length);
    copy[length] = '\0';
    return copy;
}

static int
vg_is_error_info(const char *type_url)
{
    const char *slash = type_url != NULL ? strrchr(type_url, '/') : NULL;

    return slash != NULL && strcmp(slash + 1, VG_ERROR_INFO_TYPE) == 0;
}

static void
vg_status_take_error_info(vg_status *status, const ProtobufCBinaryData *value)
{
    Google__Rpc__ErrorInfo *info;
    size_t i;

    info = google__rpc__error_info__unpack(NULL, value->len, value->data);
    if (info == NULL)
        return; /* The status itself is what matters; the details are a bonus. */

    if (info->reason != NULL && info->reason[0] != '\0')
        status->reason = strdup(info->reason);
    if (info->domain != NULL && info->domain[0] != '\0')
        status->error_domain = strdup(info->domain);
    for (i = 0; i < info->n_metadata; i++) {
        const Google__Rpc__ErrorInfo__MetadataEntry *entry = info->metadata[i];

        if (entry->key != NULL && entry->value != NULL && strcmp(entry->key, "code") == 0)
            status->libvirt_code = (int)strtol(entry->value, NULL, 10);
    }
    google__rpc__error_info__free_unpacked(info, NULL);
}

/* Core has already base64-decoded the -bin trailer: the slice is the serialized proto. */
static void
vg_status_take_details(vg_status *status, grpc_slice details)
{
    Google__Rpc__Status *rpc_status;
    size_t i;

    rpc_status = google__rpc__status__unpack(NULL, GRPC_SLICE_LENGTH(details),
                                             GRPC_SLICE_START_PTR(details));
    if (rpc_status == NULL)
        return;
    for (i = 0; i < rpc_status->n_details; i++) {
        const Google__Protobuf__Any *any = rpc_status->details[i];

        if (status->reason == NULL && vg_is_error_info(any->type_url))
            vg_status_take_error_info(status, &any->value);
    }
    if ((status->message == NULL || status->message[0] == '\0') &&
        rpc_status->message != NULL && rpc_status->message[0] != '\0') {
        free(status->message);
        status->message = strdup(rpc_status->message);
    }
    google__rpc__status__free_unpacked(rpc_status, NULL);
}

void
vg_status_from_call(vg_status *status, grpc_status_code code, grpc_slice details,
                    const char *error_string, const grpc_metadata_array *trailing_metadata)
{
    size_t i;

    if (status == NULL)
        return;
    memset(status, 0, sizeof(*status));
    status->code = (vg_code)code;
    status->message = vg_slice_strdup(details);

    for (i = 0; trailing_metadata != NULL && i < trailing_metadata->count; i++) {
        const grpc_metadata *entry = &trailing_metadata->metadata[i];

        if (grpc_slice_str_cmp(entry->key, VG_STATUS_DETAILS_KEY) == 0) {
            vg_status_take_details(status, entry->value);
            break;
        }
    }

    /* Never leave a failure without words: fall back on core's own diagnostic. */
    if (status->message != NULL && status->message[0] == '\0') {
        free(status->message);
        status->message = NULL;
    }
    if (status->message == NULL)
        status->message = strdup(error_string != NULL ? error_string : "no message");
}
