/*
 * The process's libuv loop, run by the main thread. It owns orchestration: signals,
 * timers (reconnect back-off, shutdown grace), libvirt's event loop (libvirt-event-loop.c)
 * and state changes that several threads observe (health). Only the loop thread touches
 * libuv handles; other threads hand work over with vg_loop_post().
 */
#pragma once

#include <uv.h>

typedef struct vg_loop vg_loop;
typedef void (*vg_loop_fn)(void *data);

vg_loop *vg_loop_new(void);
/* The libuv loop, for code that runs on the loop thread. */
uv_loop_t *vg_loop_uv(vg_loop *loop);
/* Runs `fn(data)` on the loop thread soon. Safe from any thread, including the loop
 * thread itself (then it runs on a later iteration, never re-entrantly). */
void vg_loop_post(vg_loop *loop, vg_loop_fn fn, void *data);
/* True when called from the loop thread. */
int vg_loop_is_current(vg_loop *loop);
/* Runs the loop until vg_loop_stop(). */
void vg_loop_run(vg_loop *loop);
/* Makes vg_loop_run return once the current iteration ends. Loop thread only. */
void vg_loop_stop(vg_loop *loop);
/* Closes every handle and frees the loop. Accepts NULL; returns NULL. */
vg_loop *vg_loop_free(vg_loop *loop);
