/*
 * The bounded pool of threads that run blocking work: every libvirt call. Neither the
 * libuv loop nor the completion-queue thread may block, so handlers that call libvirt
 * run here. The queue is bounded by the caller (the transport admits at most
 * `max_inflight` calls), so the pool itself never refuses work.
 */
#pragma once

#include <stddef.h>

typedef struct vg_worker_pool vg_worker_pool;
typedef void (*vg_work_fn)(void *data);

/* Starts `n_threads` workers. Returns NULL on failure (errno set). */
vg_worker_pool *vg_worker_pool_new(size_t n_threads);
/* Queues `fn(data)`; runs on some worker, in FIFO order of submission. */
void vg_worker_pool_submit(vg_worker_pool *pool, vg_work_fn fn, void *data);
/* Runs every queued job, then joins the workers. Accepts NULL; returns NULL. */
vg_worker_pool *vg_worker_pool_free(vg_worker_pool *pool);
/* Jobs queued or running right now (for tests and metrics). */
size_t vg_worker_pool_pending(vg_worker_pool *pool);
