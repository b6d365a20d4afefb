/* The audit log (audit.h). */
#include "server/transport/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/transport/authz.h"
#include "server/transport/call-internal.h"
#include "virtgrpc/v1/domain.pb-c.h"

/* -1: no audit log. Written once at startup, before calls arrive. */
static int vg_audit_fd = -1;

/* Longest line written; longer values are cut. Lines stay atomic on regular files. */
#define VG_AUDIT_LINE_MAX 2048

int
vg_audit_open(const char *path, char **error)
{
    int fd;

    if (!path)
        return 0;
    if (strcmp(path, "-") == 0) {
        vg_audit_fd = STDERR_FILENO;
        return 0;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (asprintf(error, "cannot open the audit log '%s': %s", path, strerror(errno)) <
            0)
            *error = NULL;
        return -1;
    }
    vg_audit_fd = fd;
    return 0;
}

void
vg_audit_close(void)
{
    if (vg_audit_fd > STDERR_FILENO)
        close(vg_audit_fd);
    vg_audit_fd = -1;
}

typedef struct vg_line {
    char text[VG_AUDIT_LINE_MAX];
    size_t used;
} vg_line;

static void
vg_line_raw(vg_line *line, const char *text, size_t length)
{
    size_t room = sizeof(line->text) - 1 - line->used; /* keep one byte for '\n' */

    if (length > room)
        length = room;
    memcpy(line->text + line->used, text, length);
    line->used += length;
}

static void
vg_line_printf(vg_line *line, const char *format, ...)
{
    char buffer[512];
    va_list args;
    int n;

    va_start(args, format);
    n = vsnprintf(buffer, sizeof(buffer), format, args);
    va_end(args);
    if (n > 0)
        vg_line_raw(line, buffer,
                    (size_t)n < sizeof(buffer) ? (size_t)n : sizeof(buffer) - 1);
}

/* " key=value", the value quoted and escaped when it needs to be. */
static void
vg_line_field(vg_line *line, const char *key, const char *value)
{
    bool needs_quotes = !*value;

    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;

        needs_quotes =
            needs_quotes || c <= ' ' || c == '"' || c == '\\' || c == '=' || c == 0x7f;
    }
    vg_line_printf(line, " %s=", key);
    if (!needs_quotes) {
        vg_line_raw(line, value, strlen(value));
        return;
    }
    vg_line_raw(line, "\"", 1);
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;

        if (c == '"' || c == '\\')
            vg_line_printf(line, "\\%c", c);
        else if (c < ' ' || c == 0x7f)
            vg_line_printf(line, "\\x%02x", c);
        else
            vg_line_raw(line, (const char *)p, 1);
    }
    vg_line_raw(line, "\"", 1);
}

/* The first DomainRef in `message`'s own fields, or in the message fields it holds
 * (one level: StartJobRequest carries the operation's request in a oneof). */
static const Virtgrpc__V1__DomainRef *
vg_audit_find_domain_ref(const ProtobufCMessage *message, int depth)
{
    const ProtobufCMessageDescriptor *type = message->descriptor;

    if (type == &virtgrpc__v1__domain_ref__descriptor)
        return (const Virtgrpc__V1__DomainRef *)message;
    for (unsigned i = 0; depth < 2 && i < type->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &type->fields[i];
        const ProtobufCMessage *value;
        const Virtgrpc__V1__DomainRef *found;

        if (field->type != PROTOBUF_C_TYPE_MESSAGE ||
            field->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* Only the member that is set. */
            const uint32_t *oneof_case =
                (const uint32_t *)((const char *)message + field->quantifier_offset);
            if (*oneof_case != field->id)
                continue;
        }
        value = *(const ProtobufCMessage *const *)((const char *)message + field->offset);
        if (value && (found = vg_audit_find_domain_ref(value, depth + 1)))
            return found;
    }
    return NULL;
}

static void
vg_audit_domain(vg_line *line, const ProtobufCMessage *request,
                const ProtobufCMessage *response)
{
    const Virtgrpc__V1__DomainRef *ref =
        request ? vg_audit_find_domain_ref(request, 0) : NULL;
    char text[128];

    if (ref) {
        switch (ref->ref_case) {
        case VIRTGRPC__V1__DOMAIN_REF__REF_NAME:
            vg_line_field(line, "domain", ref->name ? ref->name : "");
            return;
        case VIRTGRPC__V1__DOMAIN_REF__REF_UUID:
            snprintf(text, sizeof(text), "uuid:%s", ref->uuid ? ref->uuid : "");
            vg_line_field(line, "domain", text);
            return;
        case VIRTGRPC__V1__DOMAIN_REF__REF_ID:
            snprintf(text, sizeof(text), "id:%u", ref->id);
            vg_line_field(line, "domain", text);
            return;
        default:
            break;
        }
    }
    if (response && response->descriptor == &virtgrpc__v1__domain__descriptor) {
        const Virtgrpc__V1__Domain *domain = (const Virtgrpc__V1__Domain *)response;

        if (domain->name && domain->name[0])
            vg_line_field(line, "domain", domain->name);
    }
}

static const char *
vg_audit_status_name(grpc_status_code code)
{
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

    return (unsigned)code < sizeof(names) / sizeof(names[0]) ? names[code] : "UNKNOWN";
}

void
vg_audit_call(vg_call *call, const ProtobufCMessage *request,
              const ProtobufCMessage *response)
{
    const vg_method *method = call->method;
    vg_call_failure failure;
    vg_line line = {.used = 0};
    struct timespec now;
    struct tm utc;
    char stamp[64];

    if (vg_audit_fd < 0 || !method || method->role <= VG_ROLE_READ_ONLY || !call->call)
        return;
    if (!request && call->request_payload &&
        (method->kind == VG_RPC_UNARY || method->kind == VG_RPC_SERVER_STREAMING)) {
        /* Refused before decoding (role, limits): decode for the domain only. */
        request = vg_call_unpack(call, method->input, call->request_payload,
                                 vg_call_allocator(call));
    }

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &utc);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
    vg_line_printf(&line, "time=%s.%03ldZ", stamp, now.tv_nsec / 1000000);
    vg_line_field(&line, "listener", call->listener ? call->listener->name : "?");
    vg_line_field(&line, "who", call->identity ? call->identity : vg_call_peer(call));
    vg_line_field(&line, "role", vg_role_name(call->role));
    vg_line_field(&line, "method", method->path);
    vg_audit_domain(&line, request, response);
    if (vg_call_get_failure(call, &failure)) {
        vg_line_field(&line, "outcome", vg_audit_status_name(failure.code));
        vg_line_field(&line, "reason", failure.reason ? failure.reason : "");
    } else {
        vg_line_field(&line, "outcome", call->is_stream ? "STREAM_OPENED" : "OK");
    }
    line.text[line.used++] = '\n';
    if (write(vg_audit_fd, line.text, line.used) < 0) {
        /* Nothing sensible to do per call; the file system's state shows in the log. */
    }
}
