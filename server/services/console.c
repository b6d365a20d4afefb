/*
 * ConsoleService's byte streams: the guest's console (virDomainOpenConsole), its
 * character channels (virDomainOpenChannel) and a tunnel to its VNC / SPICE server
 * (virDomainOpenGraphicsFD, or virDomainOpenGraphics on a socket pair). Each says how to
 * open its guest side; byte-stream.c does
 * the rest.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/virterror.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/services/byte-stream.h"
#include "server/services/domain-xml.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* The Open*Request oneofs differ only in their types: one splitter per message. */
#define VG_SPLIT(fn, Type, PREFIX)                                                     \
    static int fn(const ProtobufCMessage *message, const ProtobufCMessage **open,     \
                  ProtobufCBinaryData *input)                                          \
    {                                                                                  \
        const Type *request = (const Type *)message;                                   \
                                                                                       \
        switch (request->request_case) {                                               \
        case PREFIX##__REQUEST_OPEN:                                                   \
            *open = &request->open->base;                                              \
            return VG_BYTE_STREAM_OPEN;                                                \
        case PREFIX##__REQUEST_INPUT:                                                  \
            *input = request->input;                                                   \
            return VG_BYTE_STREAM_INPUT;                                               \
        default:                                                                       \
            return VG_BYTE_STREAM_NOT_SET;                                             \
        }                                                                              \
    }

VG_SPLIT(vg_console_split, Virtgrpc__V1__OpenDomainConsoleRequest,
         VIRTGRPC__V1__OPEN_DOMAIN_CONSOLE_REQUEST)
VG_SPLIT(vg_channel_split, Virtgrpc__V1__OpenDomainChannelRequest,
         VIRTGRPC__V1__OPEN_DOMAIN_CHANNEL_REQUEST)
VG_SPLIT(vg_graphics_split, Virtgrpc__V1__OpenDomainGraphicsRequest,
         VIRTGRPC__V1__OPEN_DOMAIN_GRAPHICS_REQUEST)

/* virDomainOpenConsole and virDomainOpenChannel share this shape. */
typedef int (*vg_open_device_fn)(virDomainPtr domain, const char *name, virStreamPtr stream,
                                 unsigned int flags);

/* Opens device `name` ("" for the first one) of `domain` on a new non-blocking stream. */
static int
vg_open_device(vg_call *call, virDomainPtr domain, const char *what, const char *field,
               const char *name, vg_open_device_fn open_device, unsigned int flags,
               vg_guest_end *end)
{
    virStreamPtr stream;

    if (vg_byte_stream_check_device(call, field, name) < 0 ||
        vg_byte_stream_check_present(call, domain, what, name) < 0)
        return -1;
    stream = virStreamNew(virDomainGetConnect(domain), VIR_STREAM_NONBLOCK);
    if (!stream)
        return vg_call_fail_libvirt(call);
    if (open_device(domain, *name ? name : NULL, stream, flags) < 0) {
        vg_call_fail_libvirt(call);
        virStreamFree(stream);
        return -1;
    }
    end->stream = stream;
    return 0;
}

/* --- console ------------------------------------------------------------------------- */

static const Virtgrpc__V1__DomainRef *
vg_console_domain(const ProtobufCMessage *open)
{
    return ((const Virtgrpc__V1__ConsoleOpen *)open)->domain;
}

static int
vg_console_open(vg_call *call, virDomainPtr domain, const ProtobufCMessage *message,
                vg_guest_end *end)
{
    const Virtgrpc__V1__ConsoleOpen *open = (const Virtgrpc__V1__ConsoleOpen *)message;
    unsigned int flags = 0;

    if (VG_FLAGS(call, vg_enum_console_flag, open, flags, &flags) < 0)
        return -1;
    return vg_open_device(call, domain, "console", "open.device", open->device,
                          virDomainOpenConsole, flags, end);
}

static const vg_byte_stream_kind vg_console_kind = {
    .what = "console",
    .split = vg_console_split,
    .domain_of = vg_console_domain,
    .open = vg_console_open,
};

int
vgh_console_service_open_domain_console(vg_call *call)
{
    return vg_byte_stream_run(call, &vg_console_kind);
}

/* --- channel ------------------------------------------------------------------------- */

static const Virtgrpc__V1__DomainRef *
vg_channel_domain(const ProtobufCMessage *open)
{
    return ((const Virtgrpc__V1__ChannelOpen *)open)->domain;
}

static int
vg_channel_open(vg_call *call, virDomainPtr domain, const ProtobufCMessage *message,
                vg_guest_end *end)
{
    const Virtgrpc__V1__ChannelOpen *open = (const Virtgrpc__V1__ChannelOpen *)message;
    unsigned int flags = 0;

    if (VG_FLAGS(call, vg_enum_channel_flag, open, flags, &flags) < 0)
        return -1;
    return vg_open_device(call, domain, "channel", "open.name", open->name,
                          virDomainOpenChannel, flags, end);
}

static const vg_byte_stream_kind vg_channel_kind = {
    .what = "channel",
    .split = vg_channel_split,
    .domain_of = vg_channel_domain,
    .open = vg_channel_open,
};

int
vgh_console_service_open_domain_channel(vg_call *call)
{
    return vg_byte_stream_run(call, &vg_channel_kind);
}

/* --- graphics ------------------------------------------------------------------------ */

static const Virtgrpc__V1__DomainRef *
vg_graphics_domain(const ProtobufCMessage *open)
{
    return ((const Virtgrpc__V1__GraphicsOpen *)open)->domain;
}

/* libvirt answers INTERNAL_ERROR for a graphics index the domain does not have: count
 * its <graphics> elements first to answer NOT_FOUND. */
static int
vg_graphics_check_index(vg_call *call, virDomainPtr domain, unsigned int index)
{
    unsigned int count;

    if (vg_domain_xml_count(call, domain, "count(/domain/devices/graphics)", NULL, &count) < 0)
        return -1;
    if (index >= count) {
        return vg_call_fail(call, GRPC_STATUS_NOT_FOUND, VG_REASON_INVALID_REQUEST,
                            "domain '%s' has %u graphics devices: no 'open.index' %u",
                            virDomainGetName(domain), count, index);
    }
    return 0;
}

static int
vg_graphics_open(vg_call *call, virDomainPtr domain, const ProtobufCMessage *message,
                 vg_guest_end *end)
{
    const Virtgrpc__V1__GraphicsOpen *open = (const Virtgrpc__V1__GraphicsOpen *)message;
    unsigned int flags = 0;
    int fd;

    if (VG_FLAGS(call, vg_enum_graphics_flag, open, flags, &flags) < 0 ||
        vg_graphics_check_index(call, domain, open->index) < 0)
        return -1;
    if (open->server_socketpair) {
        int pair[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
            return vg_call_fail(call, GRPC_STATUS_INTERNAL, VG_REASON_INTERNAL,
                                "cannot make a socket pair for the graphics tunnel");
        }
        /* libvirt passes its end on to the hypervisor; we keep ours. */
        if (virDomainOpenGraphics(domain, open->index, pair[1], flags) < 0) {
            close(pair[0]);
            close(pair[1]);
            return vg_call_fail_libvirt_about(call, "graphics index %u", open->index);
        }
        close(pair[1]);
        fd = pair[0];
    } else {
        fd = virDomainOpenGraphicsFD(domain, open->index, flags);
        if (fd < 0)
            return vg_call_fail_libvirt_about(call, "graphics index %u", open->index);
    }
    /* The loop polls it: reads and writes must never block. */
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        close(fd);
        return vg_call_fail(call, GRPC_STATUS_INTERNAL, VG_REASON_INTERNAL,
                            "cannot make the graphics socket non-blocking");
    }
    end->fd = fd;
    return 0;
}

static const vg_byte_stream_kind vg_graphics_kind = {
    .what = "graphics connection",
    .split = vg_graphics_split,
    .domain_of = vg_graphics_domain,
    .open = vg_graphics_open,
};

int
vgh_console_service_open_domain_graphics(vg_call *call)
{
    return vg_byte_stream_run(call, &vg_graphics_kind);
}
