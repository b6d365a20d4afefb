#include "server/runtime/loop.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct vg_loop_task {
    struct vg_loop_task *next;
    vg_loop_fn fn;
    void *data;
} vg_loop_task;

struct vg_loop {
    uv_loop_t uv;
    uv_async_t wakeup;
    pthread_t thread;
    bool thread_known;

    /* Cross-thread hand-over: a locked FIFO drained by the loop thread. uv_async_send
     * coalesces wake-ups, so each wake-up drains everything queued. */
    pthread_mutex_t lock;
    vg_loop_task *head;
    vg_loop_task *tail;
};

static void
vg_loop_drain(uv_async_t *handle)
{
    vg_loop *loop = handle->data;
    vg_loop_task *tasks;

    pthread_mutex_lock(&loop->lock);
    tasks = loop->head;
    loop->head = loop->tail = NULL;
    pthread_mutex_unlock(&loop->lock);

    while (tasks) {
        vg_loop_task *next = tasks->next;

        tasks->fn(tasks->data);
        free(tasks);
        tasks = next;
    }
}

vg_loop *
vg_loop_new(void)
{
    vg_loop *loop = calloc(1, sizeof(*loop));

    if (!loop)
        return NULL;
    if (uv_loop_init(&loop->uv) < 0) {
        free(loop);
        return NULL;
    }
    pthread_mutex_init(&loop->lock, NULL);
    uv_async_init(&loop->uv, &loop->wakeup, vg_loop_drain);
    loop->wakeup.data = loop;
    return loop;
}

uv_loop_t *
vg_loop_uv(vg_loop *loop)
{
    return &loop->uv;
}

void
vg_loop_post(vg_loop *loop, vg_loop_fn fn, void *data)
{
    vg_loop_task *task = malloc(sizeof(*task));

    if (!task)
        abort();
    task->fn = fn;
    task->data = data;
    task->next = NULL;

    pthread_mutex_lock(&loop->lock);
    if (loop->tail)
        loop->tail->next = task;
    else
        loop->head = task;
    loop->tail = task;
    pthread_mutex_unlock(&loop->lock);

    uv_async_send(&loop->wakeup);
}

int
vg_loop_is_current(vg_loop *loop)
{
    return loop->thread_known && pthread_equal(loop->thread, pthread_self());
}

void
vg_loop_run(vg_loop *loop)
{
    loop->thread = pthread_self();
    loop->thread_known = true;
    uv_run(&loop->uv, UV_RUN_DEFAULT);
}

void
vg_loop_stop(vg_loop *loop)
{
    uv_stop(&loop->uv);
}

static void
vg_loop_close_handle(uv_handle_t *handle, void *unused)
{
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

vg_loop *
vg_loop_free(vg_loop *loop)
{
    if (!loop)
        return NULL;
    /* Run what is still queued (it may release resources), then close everything. */
    vg_loop_drain(&loop->wakeup);
    uv_walk(&loop->uv, vg_loop_close_handle, NULL);
    uv_run(&loop->uv, UV_RUN_DEFAULT);
    uv_loop_close(&loop->uv);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
    return NULL;
}
