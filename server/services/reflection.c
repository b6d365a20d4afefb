/*
 * grpc.reflection.v1 and v1alpha ServerReflection, answered from the descriptors the
 * generator embedded (vg-descriptors.c), so grpcurl and other reflection clients need
 * no .proto files.
 *
 * The two versions are wire-identical. One implementation serves both: a v1alpha
 * request is re-read as v1 (a re-encode of a few bytes), and the v1 response is sent as
 * is, since its encoding is exactly v1alpha's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/transport/call.h"
#include "vg-descriptors.h"
#include "vg-methods.h"

typedef Grpc__Reflection__V1__ServerReflectionRequest vg_reflection_request;
typedef Grpc__Reflection__V1__ServerReflectionResponse vg_reflection_response;

/* Answers for one request are built on the stack and in this scratch, sized for the
 * largest answer the embedded descriptors allow; it is freed after the send
 * (vg_call_send packs at once). */
typedef struct vg_reflection_scratch {
    ProtobufCBinaryData *files;                          /* vg_descriptor_files_count */
    Grpc__Reflection__V1__ServiceResponse *services;     /* vg_descriptor_services_count */
    Grpc__Reflection__V1__ServiceResponse **service_ptrs;
    int32_t *numbers;                                    /* vg_descriptor_extensions_count */
} vg_reflection_scratch;

static void *
vg_reflection_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);

    if (!p)
        abort();
    return p;
}

static void
vg_reflection_scratch_init(vg_reflection_scratch *scratch)
{
    scratch->files = vg_reflection_calloc(vg_descriptor_files_count, sizeof(*scratch->files));
    scratch->services = vg_reflection_calloc(vg_descriptor_services_count,
                                             sizeof(*scratch->services));
    scratch->service_ptrs = vg_reflection_calloc(vg_descriptor_services_count,
                                                 sizeof(*scratch->service_ptrs));
    scratch->numbers = vg_reflection_calloc(vg_descriptor_extensions_count,
                                            sizeof(*scratch->numbers));
}

static void
vg_reflection_scratch_release(vg_reflection_scratch *scratch)
{
    free(scratch->files);
    free(scratch->services);
    free(scratch->service_ptrs);
    free(scratch->numbers);
}

static void
vg_reflection_error(vg_reflection_response *response,
                    Grpc__Reflection__V1__ErrorResponse *error, int code,
                    const char *message)
{
    error->error_code = code;
    error->error_message = (char *)message;
    response->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    response->error_response = error;
}

/* The file and everything it imports. */
static void
vg_reflection_files(vg_reflection_response *response,
                    Grpc__Reflection__V1__FileDescriptorResponse *files,
                    vg_reflection_scratch *scratch, int index)
{
    const vg_descriptor_file *file = &vg_descriptor_files[index];
    size_t n = 0;

    scratch->files[n].data = (uint8_t *)file->data;
    scratch->files[n++].len = file->size;
    for (size_t i = 0; i < file->n_deps; i++) {
        const vg_descriptor_file *dep = &vg_descriptor_files[file->deps[i]];

        scratch->files[n].data = (uint8_t *)dep->data;
        scratch->files[n++].len = dep->size;
    }
    files->n_file_descriptor_proto = n;
    files->file_descriptor_proto = scratch->files;
    response->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    response->file_descriptor_response = files;
}

static void
vg_reflection_answer(vg_call *call, const vg_reflection_request *request)
{
    vg_reflection_response response = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
    Grpc__Reflection__V1__FileDescriptorResponse files =
        GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
    Grpc__Reflection__V1__ListServiceResponse services =
        GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
    Grpc__Reflection__V1__ExtensionNumberResponse numbers =
        GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
    Grpc__Reflection__V1__ErrorResponse error = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
    vg_reflection_scratch scratch_storage;
    vg_reflection_scratch *scratch = &scratch_storage;
    char message[512];
    int index;

    vg_reflection_scratch_init(scratch);
    response.valid_host = request->host;
    response.original_request = (vg_reflection_request *)request;

    switch (request->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        for (size_t i = 0; i < vg_descriptor_services_count; i++) {
            grpc__reflection__v1__service_response__init(&scratch->services[i]);
            scratch->services[i].name = (char *)vg_descriptor_services[i];
            scratch->service_ptrs[i] = &scratch->services[i];
            services.n_service++;
        }
        services.service = scratch->service_ptrs;
        response.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
        response.list_services_response = &services;
        break;

    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        index = vg_descriptor_find_file(request->file_by_filename);
        if (index < 0) {
            snprintf(message, sizeof(message), "file '%s' not found",
                     request->file_by_filename);
            vg_reflection_error(&response, &error, GRPC_STATUS_NOT_FOUND, message);
        } else {
            vg_reflection_files(&response, &files, scratch, index);
        }
        break;

    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        index = vg_descriptor_find_symbol(request->file_containing_symbol);
        if (index < 0) {
            snprintf(message, sizeof(message), "symbol '%s' not found",
                     request->file_containing_symbol);
            vg_reflection_error(&response, &error, GRPC_STATUS_NOT_FOUND, message);
        } else {
            vg_reflection_files(&response, &files, scratch, index);
        }
        break;

    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION: {
        const Grpc__Reflection__V1__ExtensionRequest *ext =
            request->file_containing_extension;

        index = ext ? vg_descriptor_find_extension(ext->containing_type,
                                                   ext->extension_number)
                    : -1;
        if (index < 0) {
            snprintf(message, sizeof(message), "extension %d of '%s' not found",
                     ext ? ext->extension_number : 0, ext ? ext->containing_type : "");
            vg_reflection_error(&response, &error, GRPC_STATUS_NOT_FOUND, message);
        } else {
            vg_reflection_files(&response, &files, scratch, index);
        }
        break;
    }

    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE: {
        const char *type = request->all_extension_numbers_of_type;
        const vg_descriptor_extension *first;
        size_t n;

        if (vg_descriptor_find_symbol(type) < 0) {
            snprintf(message, sizeof(message), "type '%s' not found", type);
            vg_reflection_error(&response, &error, GRPC_STATUS_NOT_FOUND, message);
            break;
        }
        n = vg_descriptor_find_extensions(type, &first);
        for (size_t i = 0; i < n; i++)
            scratch->numbers[numbers.n_extension_number++] = first[i].number;
        numbers.extension_number = scratch->numbers;
        numbers.base_type_name = (char *)type;
        response.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
        response.all_extension_numbers_response = &numbers;
        break;
    }

    default:
        vg_reflection_error(&response, &error, GRPC_STATUS_INVALID_ARGUMENT,
                            "request sets none of the known questions");
        break;
    }

    vg_call_send(call, &response.base);
    vg_reflection_scratch_release(scratch);
}

static void
vg_reflection_on_message(vg_call *call, const ProtobufCMessage *message, void *data)
{
    if (!message) {
        vg_call_finish(call); /* the client is done asking */
        return;
    }
    if (message->descriptor == &grpc__reflection__v1__server_reflection_request__descriptor) {
        vg_reflection_answer(call, (const vg_reflection_request *)message);
        return;
    }

    /* v1alpha: same wire format, re-read as v1. */
    size_t size = protobuf_c_message_get_packed_size(message);
    uint8_t *bytes = malloc(size ? size : 1);
    vg_reflection_request *request;

    if (!bytes)
        abort();
    protobuf_c_message_pack(message, bytes);
    request = grpc__reflection__v1__server_reflection_request__unpack(NULL, size, bytes);
    free(bytes);
    if (!request) {
        vg_call_fail(call, GRPC_STATUS_INTERNAL, VG_REASON_INTERNAL,
                     "cannot re-read a v1alpha reflection request as v1");
        vg_call_finish(call);
        return;
    }
    vg_reflection_answer(call, request);
    grpc__reflection__v1__server_reflection_request__free_unpacked(request, NULL);
}

int
vgh_grpc_reflection_v1_server_reflection_server_reflection_info(vg_call *call)
{
    return vg_call_read_start(call, vg_reflection_on_message, NULL);
}

int
vgh_grpc_reflection_v1alpha_server_reflection_server_reflection_info(vg_call *call)
{
    return vg_call_read_start(call, vg_reflection_on_message, NULL);
}
