/*
 * GetDomainScreenshot: virDomainScreenshot writes the image into a libvirt stream. A
 * worker reads the whole image (blocking stream: the read ends when QEMU's dump does,
 * bounded by VG_SCREENSHOT_MAX_BYTES) and releases the stream at once; the loop then
 * sends the MIME type and the chunks as fast as the client reads them.
 */
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "server/services/service.h"
#include "vg-methods.h"

#define VG_SCREENSHOT_CHUNK_BYTES (64 * 1024)
/* 8K x 8K at 4 bytes per pixel, uncompressed: no real screen is larger. */
#define VG_SCREENSHOT_MAX_BYTES (256u * 1024 * 1024)
/* Messages queued for the client before sending pauses, and how often a paused send
 * looks again (the transport has no "drained" notice). */
#define VG_SCREENSHOT_HIGH_WATER 16
#define VG_SCREENSHOT_POLL_MS 10

typedef struct vg_screenshot {
    vg_call *call;
    const Virtgrpc__V1__GetDomainScreenshotRequest *request;
    char *mime_type;
    uint8_t *data;
    size_t length;
    size_t sent;
    bool mime_sent;
    uv_timer_t timer;
    bool timer_ready;
} vg_screenshot;

static void
vg_screenshot_free(vg_screenshot *shot)
{
    free(shot->mime_type);
    free(shot->data);
    vg_call_unref(shot->call);
    free(shot);
}

static void
vg_screenshot_timer_closed(uv_handle_t *handle)
{
    vg_screenshot_free(handle->data);
}

/* Loop: the call is finished (or gone): release everything. */
static void
vg_screenshot_done(vg_screenshot *shot)
{
    vg_call_finish(shot->call);
    if (shot->timer_ready)
        uv_close((uv_handle_t *)&shot->timer, vg_screenshot_timer_closed);
    else
        vg_screenshot_free(shot);
}

/* Queues the next message; false when the client must catch up first. */
static bool
vg_screenshot_send_next(vg_screenshot *shot, bool *over)
{
    Virtgrpc__V1__ScreenshotChunk chunk = VIRTGRPC__V1__SCREENSHOT_CHUNK__INIT;
    size_t length = 0;

    if (vg_call_queued(shot->call) >= VG_SCREENSHOT_HIGH_WATER)
        return false;
    if (!shot->mime_sent) {
        chunk.chunk_case = VIRTGRPC__V1__SCREENSHOT_CHUNK__CHUNK_MIME_TYPE;
        chunk.mime_type = shot->mime_type;
    } else {
        length = shot->length - shot->sent;
        if (length > VG_SCREENSHOT_CHUNK_BYTES)
            length = VG_SCREENSHOT_CHUNK_BYTES;
        chunk.chunk_case = VIRTGRPC__V1__SCREENSHOT_CHUNK__CHUNK_DATA;
        chunk.data.data = shot->data + shot->sent;
        chunk.data.len = length;
    }
    if (vg_call_send(shot->call, &chunk.base) < 0) {
        /* Refused with an empty queue, or after a cancel (whose queue never drains):
         * the call is over. Otherwise the queue is full: try again later. */
        *over = vg_call_queued(shot->call) == 0 || vg_call_is_cancelled(shot->call);
        return false;
    }
    shot->mime_sent = true;
    shot->sent += length;
    return true;
}

static void vg_screenshot_pump(vg_screenshot *shot);

static void
vg_screenshot_retry(uv_timer_t *timer)
{
    vg_screenshot_pump(timer->data);
}

/* Loop: sends what the client's queue has room for, then looks again later. */
static void
vg_screenshot_pump(vg_screenshot *shot)
{
    bool over = false;

    while (shot->sent < shot->length || !shot->mime_sent) {
        if (vg_screenshot_send_next(shot, &over))
            continue;
        if (over) {
            vg_screenshot_done(shot);
            return;
        }
        if (!shot->timer_ready) {
            uv_timer_init(vg_loop_uv(vg_services_loop()), &shot->timer);
            shot->timer.data = shot;
            shot->timer_ready = true;
        }
        uv_timer_start(&shot->timer, vg_screenshot_retry, VG_SCREENSHOT_POLL_MS, 0);
        return;
    }
    vg_screenshot_done(shot);
}

static void
vg_screenshot_start_sending(void *data)
{
    vg_screenshot *shot = data;

    if (vg_call_failed(shot->call))
        vg_screenshot_done(shot);
    else
        vg_screenshot_pump(shot);
}

/* Reads the stream to its end into shot->data. */
static int
vg_screenshot_read(vg_screenshot *shot, virStreamPtr stream)
{
    size_t capacity = 0;

    for (;;) {
        int n;

        if (vg_call_is_cancelled(shot->call)) {
            return vg_call_fail(shot->call, GRPC_STATUS_CANCELLED, VG_REASON_INTERNAL,
                                "client cancelled the screenshot");
        }
        if (capacity - shot->length < VG_SCREENSHOT_CHUNK_BYTES) {
            if (capacity >= VG_SCREENSHOT_MAX_BYTES) {
                return vg_call_fail(shot->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                    VG_REASON_LIMIT,
                                    "screenshot is larger than the server's limit of %u "
                                    "bytes", VG_SCREENSHOT_MAX_BYTES);
            }
            capacity = capacity ? capacity * 2 : 1024 * 1024;
            shot->data = realloc(shot->data, capacity);
            if (!shot->data)
                abort();
        }
        n = virStreamRecv(stream, (char *)shot->data + shot->length,
                          VG_SCREENSHOT_CHUNK_BYTES);
        if (n < 0)
            return vg_call_fail_libvirt_about(shot->call, "reading the screenshot");
        if (n == 0)
            return 0;
        shot->length += (size_t)n;
    }
}

/* Worker: the screenshot itself, all blocking libvirt calls. */
static void
vg_screenshot_job(void *data)
{
    vg_screenshot *shot = data;
    vg_call *call = shot->call;
    virDomainPtr domain = vg_domain_lookup(call, shot->request->domain);
    virStreamPtr stream = NULL;
    char *mime_type;

    if (!domain)
        goto out;
    stream = virStreamNew(virDomainGetConnect(domain), 0);
    if (!stream) {
        vg_call_fail_libvirt(call);
        goto out;
    }
    mime_type = virDomainScreenshot(domain, stream, shot->request->screen, 0);
    if (!mime_type) {
        vg_call_fail_libvirt_about(call, "screen %u", shot->request->screen);
        goto out;
    }
    shot->mime_type = mime_type;
    if (vg_screenshot_read(shot, stream) < 0) {
        virStreamAbort(stream);
    } else if (virStreamFinish(stream) < 0) {
        vg_call_fail_libvirt_about(call, "finishing the screenshot");
    }

out:
    if (stream)
        virStreamFree(stream);
    vg_loop_post(vg_services_loop(), vg_screenshot_start_sending, shot);
}

int
vgh_console_service_get_domain_screenshot(
    vg_call *call, const Virtgrpc__V1__GetDomainScreenshotRequest *request)
{
    vg_screenshot *shot = calloc(1, sizeof(*shot));

    if (!shot)
        abort();
    shot->call = vg_call_ref(call);
    shot->request = request;
    vg_worker_pool_submit(vg_services_pool(), vg_screenshot_job, shot);
    return 0;
}
