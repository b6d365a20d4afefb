/*
 * The one shared libvirt connection (libvirt connections are thread-safe), opened from
 * --connect. When libvirt reports the connection closed (libvirtd restarted, keepalive
 * timeout), the connection is dropped, listeners hear "disconnected" (health goes
 * NOT_SERVING) and a reconnect runs on a worker with exponential back-off; listeners
 * hear "connected" once it is back. Calls made meanwhile fail with UNAVAILABLE.
 */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>

#include "server/runtime/loop.h"
#include "server/runtime/worker-pool.h"

typedef struct vg_libvirt vg_libvirt;

/* Called on the loop thread on every change of connection state. */
typedef void (*vg_libvirt_state_cb)(bool connected, void *data);

vg_libvirt *vg_libvirt_new(vg_loop *loop, vg_worker_pool *pool, const char *uri);
/* libvirt's keepalive on remote connections (virConnectSetKeepAlive): a probe after
 * `interval_s` seconds of silence, the connection is declared dead (and reconnected)
 * after `count` probes go unanswered, i.e. after about interval_s * (count + 1)
 * seconds. interval_s 0 turns it off. Before vg_libvirt_open; applies to every
 * reconnect. */
#define VG_LIBVIRT_DEFAULT_KEEPALIVE_INTERVAL_S 5
#define VG_LIBVIRT_DEFAULT_KEEPALIVE_COUNT 3
void vg_libvirt_set_keepalive(vg_libvirt *libvirt, int interval_s, unsigned count);
/* Opens the connection now, from the calling thread (start-up). On failure, logs
 * libvirt's error, schedules reconnects and returns -1: the server still starts and
 * reports NOT_SERVING until libvirt is reachable. */
int vg_libvirt_open(vg_libvirt *libvirt);
/* A new reference to the connection (release with virConnectClose), or NULL while
 * disconnected. Any thread. */
virConnectPtr vg_libvirt_get(vg_libvirt *libvirt);
bool vg_libvirt_is_connected(vg_libvirt *libvirt);
const char *vg_libvirt_uri(const vg_libvirt *libvirt);
/* Adds a state listener. Loop thread, or before the loop runs. */
void vg_libvirt_listen(vg_libvirt *libvirt, vg_libvirt_state_cb cb, void *data);
/* Stops reconnecting and closes the connection. Accepts NULL; returns NULL. */
vg_libvirt *vg_libvirt_free(vg_libvirt *libvirt);
