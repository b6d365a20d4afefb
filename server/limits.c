#include "server/limits.h"

#include <stdatomic.h>
#include <stdio.h>

typedef struct vg_limit_entry {
    const char *option;
    size_t default_value;
    atomic_size_t value;
} vg_limit_entry;

/* The value starts as the default: limits read before main() set anything (jobs,
 * unit tests) are sane. */
#define VG_LIMIT_ENTRY(option, default_value) { option, default_value, default_value }
#define VG_MIB (1024 * 1024)

/* The defaults; the ranges and help are in the option table (server/options.c).
 * Per-client limits of 0 are off. */
static vg_limit_entry vg_limits[VG_LIMIT_COUNT] = {
    [VG_LIMIT_MAX_INFLIGHT] = VG_LIMIT_ENTRY("max-inflight", 256),
    /* A quarter of the total: one busy client cannot take every slot. */
    [VG_LIMIT_MAX_INFLIGHT_PER_CLIENT] =
        VG_LIMIT_ENTRY("max-inflight-per-client", 64),
    [VG_LIMIT_MAX_STREAMS] = VG_LIMIT_ENTRY("max-streams", 10000),
    /* Watchers per client: a controller watching every domain of a large host fits. */
    [VG_LIMIT_MAX_STREAMS_PER_CLIENT] =
        VG_LIMIT_ENTRY("max-streams-per-client", 1000),
    [VG_LIMIT_MAX_MESSAGE_BYTES] =
        VG_LIMIT_ENTRY("max-message-bytes", 16 * VG_MIB),
    [VG_LIMIT_MAX_QUEUED_MESSAGES] = VG_LIMIT_ENTRY("max-queued-messages", 1024),
    /* Real domain XML is a few KiB to a few hundred; libvirt's own remote protocol takes
     * strings up to 4 MiB (REMOTE_STRING_MAX), and parsing costs a multiple of the size. */
    [VG_LIMIT_MAX_XML_BYTES] = VG_LIMIT_ENTRY("max-xml-bytes", VG_MIB),
    /* Keeps an answer far below the message limit. */
    [VG_LIMIT_MAX_PEEK_BYTES] = VG_LIMIT_ENTRY("max-peek-bytes", VG_MIB),
    /* Faster sampling only loads libvirt and the hypervisor; jobs are polled every
     * 100 ms anyway. */
    [VG_LIMIT_MIN_STATS_INTERVAL_MS] =
        VG_LIMIT_ENTRY("min-stats-interval-ms", 100),
    [VG_LIMIT_MAX_CONSOLE_INPUT_BYTES] =
        VG_LIMIT_ENTRY("max-console-input-bytes", VG_MIB),
    /* Long enough for a client that reads slowly or pauses (a GC, a debugger step) to
     * still get the stream's status with its details; short against slot exhaustion. */
    [VG_LIMIT_STREAM_STALL_TIMEOUT_S] = VG_LIMIT_ENTRY("stream-stall-timeout", 30),
};

size_t
vg_limit(vg_limit_id id)
{
    return atomic_load_explicit(&vg_limits[id].value, memory_order_relaxed);
}

void
vg_limit_set(vg_limit_id id, size_t value)
{
    atomic_store_explicit(&vg_limits[id].value, value, memory_order_relaxed);
}

size_t
vg_limit_default(vg_limit_id id)
{
    return vg_limits[id].default_value;
}

const char *
vg_limit_option(vg_limit_id id)
{
    return vg_limits[id].option;
}

const char *
vg_bytes_text(size_t bytes, char buffer[VG_BYTES_TEXT_SIZE])
{
    if (bytes && bytes % (1024 * 1024) == 0)
        snprintf(buffer, VG_BYTES_TEXT_SIZE, "%zu MiB", bytes / (1024 * 1024));
    else if (bytes && bytes % 1024 == 0)
        snprintf(buffer, VG_BYTES_TEXT_SIZE, "%zu KiB", bytes / 1024);
    else
        snprintf(buffer, VG_BYTES_TEXT_SIZE, "%zu bytes", bytes);
    return buffer;
}
