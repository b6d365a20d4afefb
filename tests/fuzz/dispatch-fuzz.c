/*
 * libFuzzer target over what a request meets inside virtgrpcd: decoding (protobuf-c
 * with the call's arena allocator, as the transport does), the handler's validation
 * and its libvirt call against the in-process test driver (test:///default), and
 * packing the response or the failure's google.rpc.Status, as the transport would send
 * them. No network: each input runs in a background call (vg_call_new_background, the
 * same kind of call Jobs use), streaming handlers through the in-process seam of
 * call.h (vg_call_background_deliver / _cancel).
 *
 * Input: "<method path>\0<request bytes>", e.g. "/virtgrpc.v1.DomainService/GetDomain"
 * then a serialized GetDomainRequest. A selector that names no method still picks one
 * (by hash), so every input reaches a handler. Streaming methods get their first
 * request: the request of a server stream, the first client message of a client or
 * bidi stream (then a half-close); the call is then cancelled as by a client.
 *
 * Between inputs the test driver is reset to its stock state (only the domain 'test',
 * running), so state cannot pile up and an input replays the same way.
 *
 * Safety: the server runs as root and some calls write files (SaveDomain, CoreDump,
 * jobs). The harness runs in a scratch directory and rewrites every '/' of a request's
 * non-XML strings to '_', so every path names a file in that directory.
 *
 * VG_FUZZ_WRITE_SEEDS=DIR: writes one well-formed request per method into DIR (the
 * seed corpus, always in step with the method table) and exits.
 */
#include <errno.h>
#include <grpc/grpc.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/log.h"
#include "server/runtime/libvirt-conn.h"
#include "server/runtime/libvirt-event-loop.h"
#include "server/runtime/loop.h"
#include "server/runtime/worker-pool.h"
#include "server/services/byte-stream.h"
#include "server/services/event-hub.h"
#include "server/services/health.h"
#include "server/services/job-registry.h"
#include "server/services/service.h"
#include "server/transport/call.h"
#include "vg-methods.h"

/* The longest method path a selector may hold. */
#define VG_FUZZ_MAX_SELECTOR 128
/* Nested messages the seed writer fills (a request's own fields, their messages...). */
#define VG_FUZZ_SEED_DEPTH 4
/* The test driver's stock domain, kept running between inputs. */
#define VG_FUZZ_DOMAIN "test"

typedef struct vg_fuzz {
    vg_loop *loop;
    vg_worker_pool *pool;
    vg_libvirt *libvirt;
    vg_event_hub *events;
    pthread_t loop_thread;
    char *domain_xml; /* the stock domain's persistent definition */
} vg_fuzz;

static vg_fuzz fuzz;

static void vg_fuzz_reset(void);

/* --- start-up: what main.c does, without a gRPC server ---------------------------- */

static void
vg_fuzz_libvirt_changed(bool connected, void *data)
{
    vg_health_set_serving(connected);
}

static void
vg_fuzz_libvirt_quiet(void *data, virErrorPtr error)
{
}

static void *
vg_fuzz_loop_main(void *data)
{
    vg_loop_run(fuzz.loop);
    return NULL;
}

static void
vg_fuzz_die(const char *what)
{
    virErrorPtr error = virGetLastError();

    fprintf(stderr, "dispatch-fuzz: %s: %s\n", what,
            error && error->message ? error->message : strerror(errno));
    exit(1);
}

/* A scratch directory to run in: every path a request names lands there. */
static void
vg_fuzz_enter_scratch(void)
{
    const char *base = getenv("TEST_TMPDIR");
    char dir[4096];

    snprintf(dir, sizeof(dir), "%s/virtgrpc-fuzz-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(dir) || chdir(dir) < 0)
        vg_fuzz_die("cannot make a scratch directory");
}

static void
vg_fuzz_start(void)
{
    virConnectPtr conn;
    virDomainPtr domain;

    vg_log_set_level(VG_LOG_ERROR);
    grpc_init();
    if (virInitialize() < 0)
        vg_fuzz_die("virInitialize");
    virSetErrorFunc(NULL, vg_fuzz_libvirt_quiet);
    fuzz.loop = vg_loop_new();
    if (vg_libvirt_event_loop_register(fuzz.loop) < 0)
        vg_fuzz_die("cannot register libvirt's event loop");
    fuzz.pool = vg_worker_pool_new(4);
    if (!fuzz.pool)
        vg_fuzz_die("cannot start the worker pool");
    fuzz.libvirt = vg_libvirt_new(fuzz.loop, fuzz.pool, "test:///default");
    vg_services_init(fuzz.libvirt, fuzz.loop, fuzz.pool);
    fuzz.events = vg_event_hub_init(fuzz.loop, fuzz.pool, fuzz.libvirt);
    vg_jobs_init(fuzz.events, 600, 32);
    vg_libvirt_listen(fuzz.libvirt, vg_fuzz_libvirt_changed, NULL);
    if (vg_libvirt_open(fuzz.libvirt) < 0)
        vg_fuzz_die("cannot open test:///default");
    if (pthread_create(&fuzz.loop_thread, NULL, vg_fuzz_loop_main, NULL) != 0)
        vg_fuzz_die("cannot start the loop thread");

    conn = vg_libvirt_get(fuzz.libvirt);
    domain = virDomainLookupByName(conn, VG_FUZZ_DOMAIN);
    if (!domain)
        vg_fuzz_die("no domain '" VG_FUZZ_DOMAIN "' on test:///default");
    fuzz.domain_xml = virDomainGetXMLDesc(domain, VIR_DOMAIN_XML_INACTIVE |
                                                      VIR_DOMAIN_XML_SECURE);
    if (!fuzz.domain_xml)
        vg_fuzz_die("cannot read the stock domain's XML");
    virDomainFree(domain);
    virConnectClose(conn);
    vg_fuzz_enter_scratch();
    vg_fuzz_reset();
}

/* --- between inputs: back to the test driver's stock state ------------------------ */

/* The stock domain's definition and live XML as the last reset left them. */
static char *stock_live_xml;

static char *
vg_fuzz_xml(virDomainPtr domain, unsigned int flags)
{
    return virDomainGetXMLDesc(domain, flags | VIR_DOMAIN_XML_SECURE);
}

static bool
vg_fuzz_same_xml(virDomainPtr domain, unsigned int flags, const char *expected)
{
    char *xml = vg_fuzz_xml(domain, flags);
    bool same = xml && expected && strcmp(xml, expected) == 0;

    free(xml);
    return same;
}

/* True when the test driver holds only the stock domain, running, unchanged: then
 * there is nothing to reset (a reset costs milliseconds, this check microseconds). */
static bool
vg_fuzz_is_stock(virConnectPtr conn)
{
    virDomainPtr domain;
    int state = VIR_DOMAIN_NOSTATE;
    bool stock;

    if (virConnectNumOfDomains(conn) != 1 || virConnectNumOfDefinedDomains(conn) != 0)
        return false;
    domain = virDomainLookupByName(conn, VG_FUZZ_DOMAIN);
    if (!domain)
        return false;
    stock = virDomainGetState(domain, &state, NULL, 0) == 0 &&
            state == VIR_DOMAIN_RUNNING &&
            virDomainSnapshotNum(domain, 0) == 0 &&
            virDomainListAllCheckpoints(domain, NULL, 0) == 0 &&
            virDomainHasManagedSaveImage(domain, 0) == 0 &&
            vg_fuzz_same_xml(domain, VIR_DOMAIN_XML_INACTIVE, fuzz.domain_xml) &&
            vg_fuzz_same_xml(domain, 0, stock_live_xml);
    virDomainFree(domain);
    return stock;
}

static void
vg_fuzz_reset(void)
{
    virConnectPtr conn = vg_libvirt_get(fuzz.libvirt);
    virDomainPtr *domains = NULL;
    virDomainPtr domain;
    int n;

    if (!conn)
        vg_fuzz_die("the libvirt connection is gone");
    if (vg_fuzz_is_stock(conn)) {
        virConnectClose(conn);
        return;
    }
    n = virConnectListAllDomains(conn, &domains, 0);
    for (int i = 0; i < n; i++) {
        if (virDomainIsActive(domains[i]) == 1)
            virDomainDestroy(domains[i]);
        /* The test driver takes no other undefine flags. */
        virDomainUndefineFlags(domains[i], VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                               VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
        virDomainFree(domains[i]);
    }
    free(domains);
    /* A job an input started (jobs run on their own threads) may still be using the
     * domain: then the next input's check sees it and resets again. */
    domain = virDomainDefineXML(conn, fuzz.domain_xml);
    if (domain && virDomainIsActive(domain) == 0)
        virDomainCreate(domain);
    free(stock_live_xml);
    stock_live_xml = domain ? vg_fuzz_xml(domain, 0) : NULL;
    if (domain)
        virDomainFree(domain);
    virConnectClose(conn);
}

/* --- requests: paths stay in the scratch directory -------------------------------- */

static bool
vg_fuzz_field_present(const ProtobufCMessage *message, const ProtobufCFieldDescriptor *field)
{
    if (!(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return true;
    return *(const uint32_t *)((const char *)message + field->quantifier_offset) ==
           field->id;
}

static void
vg_fuzz_jail_string(char *string)
{
    const char *start = string;

    while (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r')
        start++;
    if (*start == '<')
        return; /* XML: the test driver opens no file an XML document names */
    for (char *c = string; *c; c++) {
        if (*c == '/')
            *c = '_';
    }
}

static void
vg_fuzz_jail(ProtobufCMessage *message)
{
    const ProtobufCMessageDescriptor *desc = message->descriptor;

    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        char *member = (char *)message + field->offset;
        size_t n = 1;
        void **values = (void **)member;

        if (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (!vg_fuzz_field_present(message, field))
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(size_t *)((char *)message + field->quantifier_offset);
            values = *(void ***)member;
        }
        for (size_t j = 0; j < n; j++) {
            if (!values[j])
                continue;
            if (field->type == PROTOBUF_C_TYPE_STRING)
                vg_fuzz_jail_string(values[j]);
            else
                vg_fuzz_jail(values[j]);
        }
    }
}

/* --- one input ------------------------------------------------------------------- */

static const vg_method *
vg_fuzz_pick(const uint8_t *data, size_t size, const uint8_t **request, size_t *length)
{
    const uint8_t *nul = memchr(data, '\0', size < VG_FUZZ_MAX_SELECTOR ? size : VG_FUZZ_MAX_SELECTOR);
    size_t selector = nul ? (size_t)(nul - data) : size;
    uint32_t hash = 2166136261u; /* FNV-1a */

    *request = nul ? nul + 1 : data + size;
    *length = nul ? size - selector - 1 : 0;
    for (size_t i = 0; i < vg_methods_count; i++) {
        const char *path = vg_methods[i].path;

        if (strlen(path) == selector && memcmp(path, data, selector) == 0)
            return &vg_methods[i];
    }
    for (size_t i = 0; i < selector; i++)
        hash = (hash ^ data[i]) * 16777619u;
    return &vg_methods[hash % vg_methods_count];
}

/* What the transport sends back: the packed response, or the failure's status. */
static void
vg_fuzz_answer(vg_call *call, const ProtobufCMessage *response)
{
    uint8_t *bytes;
    size_t size;

    if (vg_call_failed(call)) {
        bytes = vg_call_failure_pack(call, &size);
    } else {
        size = protobuf_c_message_get_packed_size(response);
        bytes = malloc(size ? size : 1);
        if (!bytes)
            abort();
        if (protobuf_c_message_pack(response, bytes) != size)
            abort(); /* a response protobuf-c cannot serialize consistently */
    }
    free(bytes);
}

static void
vg_fuzz_unary(vg_call *call, const vg_method *method, const uint8_t *data, size_t size)
{
    ProtobufCMessage *request;
    ProtobufCMessage *response;

    request = protobuf_c_message_unpack(method->input, vg_call_allocator(call), size, data);
    if (!request) {
        vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                     "request is not a valid '%s' message", method->input->name);
        vg_fuzz_answer(call, NULL);
        return;
    }
    vg_fuzz_jail(request);
    response = vg_call_alloc(call, method->output->sizeof_message);
    protobuf_c_message_init(method->output, response);
    if (method->unary(call, request, response) < 0 && !vg_call_failed(call)) {
        vg_call_fail(call, GRPC_STATUS_INTERNAL, VG_REASON_INTERNAL,
                     "handler for '%s' failed without a reason", method->path);
    }
    vg_fuzz_answer(call, response);
}

static void
vg_fuzz_server_stream(vg_call *call, const vg_method *method, const uint8_t *data,
                      size_t size)
{
    ProtobufCMessage *request;

    request = protobuf_c_message_unpack(method->input, vg_call_allocator(call), size, data);
    if (!request)
        return;
    vg_fuzz_jail(request);
    method->server_streaming(call, request);
}

static void
vg_fuzz_client_stream(vg_call *call, const vg_method *method, const uint8_t *data,
                      size_t size)
{
    ProtobufCMessage *message;

    if (method->streaming(call) < 0)
        return;
    /* Stream messages are decoded with malloc, as the transport does. */
    message = protobuf_c_message_unpack(method->input, NULL, size, data);
    if (!message)
        return;
    vg_fuzz_jail(message);
    vg_call_background_deliver(call, message);
    protobuf_c_message_free_unpacked(message, NULL);
    vg_call_background_deliver(call, NULL); /* the client half-closes */
}

static void vg_fuzz_write_seeds(const char *dir);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seeds = getenv("VG_FUZZ_WRITE_SEEDS");

    if (seeds) {
        vg_fuzz_write_seeds(seeds);
        exit(0);
    }
    /* The harness runs in a scratch directory: make libFuzzer's corpus and input
     * paths absolute first. */
    for (int i = 1; i < *argc; i++) {
        char *absolute;

        if ((*argv)[i][0] != '-' && (absolute = realpath((*argv)[i], NULL)))
            (*argv)[i] = absolute; /* kept for the process's life */
    }
    vg_fuzz_start();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *request;
    size_t length;
    const vg_method *method = vg_fuzz_pick(data, size, &request, &length);
    vg_call *call = vg_call_new_background(method);

    switch (method->kind) {
    case VG_RPC_UNARY:
        vg_fuzz_unary(call, method, request, length);
        break;
    case VG_RPC_SERVER_STREAMING:
        vg_fuzz_server_stream(call, method, request, length);
        break;
    case VG_RPC_CLIENT_STREAMING:
    case VG_RPC_BIDI_STREAMING:
        vg_fuzz_client_stream(call, method, request, length);
        break;
    }
    vg_call_background_cancel(call); /* no effect on a unary call */
    vg_call_unref(call);
    vg_fuzz_reset();
    return 0;
}

/* --- the seed corpus: one well-formed request per method -------------------------- */

/* A string a seed request can use for a field, from the field's name. */
static const char *
vg_fuzz_seed_string(const char *name)
{
    if (strstr(name, "uuid"))
        return "6695eb01-f6a4-8304-79aa-97f2502e193f"; /* the stock domain */
    if (strstr(name, "path") || strstr(name, "file") || strcmp(name, "to") == 0)
        return "fuzz-output";
    if (strstr(name, "disk") || strstr(name, "device") || strstr(name, "target"))
        return "vda";
    if (strstr(name, "xml"))
        return "";
    return VG_FUZZ_DOMAIN;
}

static void
vg_fuzz_seed_fill(vg_call *arena, ProtobufCMessage *message,
                  const ProtobufCMessageDescriptor *desc, int depth)
{
    bool is_domain_ref = strcmp(desc->name, "virtgrpc.v1.DomainRef") == 0;

    protobuf_c_message_init(desc, message);
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        char *member = (char *)message + field->offset;
        uint32_t *oneof_case = (uint32_t *)((char *)message + field->quantifier_offset);

        if (field->label == PROTOBUF_C_LABEL_REPEATED)
            continue; /* flags and lists: empty is well-formed */
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* One member per oneof: the first, or for a DomainRef its name. */
            if (*oneof_case != 0 || (is_domain_ref && strcmp(field->name, "name") != 0))
                continue;
        }
        switch (field->type) {
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessageDescriptor *type = field->descriptor;
            ProtobufCMessage *sub;

            if (depth >= VG_FUZZ_SEED_DEPTH)
                continue;
            sub = vg_call_alloc(arena, type->sizeof_message);
            vg_fuzz_seed_fill(arena, sub, type, depth + 1);
            *(ProtobufCMessage **)member = sub;
            break;
        }
        case PROTOBUF_C_TYPE_STRING:
            *(const char **)member = vg_fuzz_seed_string(field->name);
            break;
        case PROTOBUF_C_TYPE_ENUM: {
            const ProtobufCEnumDescriptor *type = field->descriptor;

            for (unsigned v = 0; v < type->n_values; v++) {
                if (type->values[v].value != 0) {
                    *(int *)member = type->values[v].value;
                    break;
                }
            }
            break;
        }
        default:
            continue; /* numbers, booleans and bytes: zero */
        }
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            *oneof_case = field->id;
    }
}

static void
vg_fuzz_write_seeds(const char *dir)
{
    for (size_t i = 0; i < vg_methods_count; i++) {
        const vg_method *method = &vg_methods[i];
        vg_call *arena = vg_call_new_background(method);
        ProtobufCMessage *request = vg_call_alloc(arena, method->input->sizeof_message);
        size_t path_size = strlen(method->path) + 1;
        size_t size;
        uint8_t *bytes;
        char name[4096];
        FILE *file;

        vg_fuzz_seed_fill(arena, request, method->input, 0);
        size = protobuf_c_message_get_packed_size(request);
        bytes = malloc(path_size + size);
        if (!bytes)
            abort();
        memcpy(bytes, method->path, path_size);
        protobuf_c_message_pack(request, bytes + path_size);
        /* "/virtgrpc.v1.DomainService/GetDomain" -> "virtgrpc.v1.DomainService.GetDomain" */
        snprintf(name, sizeof(name), "%s/%s", dir, method->path + 1);
        for (char *c = name + strlen(dir) + 1; *c; c++) {
            if (*c == '/')
                *c = '.';
        }
        file = fopen(name, "wb");
        if (!file || fwrite(bytes, 1, path_size + size, file) != path_size + size ||
            fclose(file) != 0) {
            fprintf(stderr, "dispatch-fuzz: cannot write '%s': %s\n", name, strerror(errno));
            exit(1);
        }
        free(bytes);
        vg_call_unref(arena);
    }
}
