/*
 * The limits on what clients control (concurrent calls, streams, message, XML and peek
 * sizes, watch intervals, console buffers): one table of values, read where each limit
 * applies, at the moment it applies, so a configuration reload (SIGHUP) changes them
 * for the next call without a restart.
 *
 * Threads: any. Each value is an atomic word; a reload sets them one by one, so a call
 * admitted during a reload may see some old and some new values, each of which is a
 * valid limit.
 */
#pragma once

#include <stddef.h>

typedef enum vg_limit_id {
    /* Unary calls admitted at once, in all and per client (0: no per-client limit). */
    VG_LIMIT_MAX_INFLIGHT,
    VG_LIMIT_MAX_INFLIGHT_PER_CLIENT,
    /* Streaming calls open at once, in all and per client (0: no per-client limit). */
    VG_LIMIT_MAX_STREAMS,
    VG_LIMIT_MAX_STREAMS_PER_CLIENT,
    /* Largest message, bytes. Requests: fixed at start-up (gRPC core's channel
     * argument); responses: checked before each send. */
    VG_LIMIT_MAX_MESSAGE_BYTES,
    /* Messages a stream may have waiting for a slow client. */
    VG_LIMIT_MAX_QUEUED_MESSAGES,
    /* Longest XML document in any request field that carries XML, bytes. */
    VG_LIMIT_MAX_XML_BYTES,
    /* Largest memory or block peek, bytes. */
    VG_LIMIT_MAX_PEEK_BYTES,
    /* Shortest interval WatchDomainStats and WatchJob accept, ms. */
    VG_LIMIT_MIN_STATS_INTERVAL_MS,
    /* Client input a console, channel or graphics tunnel holds for a guest that has
     * not taken it yet, bytes. */
    VG_LIMIT_MAX_CONSOLE_INPUT_BYTES,
    /* Seconds an ended stream may wait for its client to read what is left before it is
     * cancelled, freeing its slot (a client that never reads holds nothing longer). */
    VG_LIMIT_STREAM_STALL_TIMEOUT_S,
    VG_LIMIT_COUNT
} vg_limit_id;

/* The value in force now. */
size_t vg_limit(vg_limit_id id);
/* Sets a value (start-up, reload). */
void vg_limit_set(vg_limit_id id, size_t value);
/* The built-in default. */
size_t vg_limit_default(vg_limit_id id);
/* The option (command-line flag and config key) that sets it, e.g. "max-inflight": for
 * messages that tell an operator what to raise. */
const char *vg_limit_option(vg_limit_id id);

/* "1 MiB", "64 KiB" or "1000 bytes": a byte count for a message, into `buffer`. */
#define VG_BYTES_TEXT_SIZE 32
const char *vg_bytes_text(size_t bytes, char buffer[VG_BYTES_TEXT_SIZE]);
