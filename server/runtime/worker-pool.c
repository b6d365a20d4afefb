#include "server/runtime/worker-pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct vg_work_item {
    struct vg_work_item *next;
    vg_work_fn fn;
    void *data;
} vg_work_item;

/* All fields below `lock` are protected by it. */
struct vg_worker_pool {
    pthread_t *threads;
    size_t n_threads;

    pthread_mutex_t lock;
    pthread_cond_t work_available;
    vg_work_item *head;
    vg_work_item *tail;
    vg_work_item *free_items; /* recycled items: no malloc per job on the hot path */
    size_t pending;
    size_t idle_threads;
    bool stopping;
};

static void *
vg_worker_main(void *opaque)
{
    vg_worker_pool *pool = opaque;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        vg_work_item *item;
        vg_work_fn fn;
        void *data;

        while (!pool->head && !pool->stopping) {
            pool->idle_threads++;
            pthread_cond_wait(&pool->work_available, &pool->lock);
            pool->idle_threads--;
        }
        if (!pool->head)
            break; /* stopping and drained */

        item = pool->head;
        pool->head = item->next;
        if (!pool->head)
            pool->tail = NULL;
        fn = item->fn;
        data = item->data;
        item->next = pool->free_items;
        pool->free_items = item;
        pthread_mutex_unlock(&pool->lock);

        fn(data);

        pthread_mutex_lock(&pool->lock);
        pool->pending--;
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

vg_worker_pool *
vg_worker_pool_new(size_t n_threads)
{
    vg_worker_pool *pool;

    if (n_threads == 0) {
        errno = EINVAL;
        return NULL;
    }
    pool = calloc(1, sizeof(*pool));
    if (!pool)
        return NULL;
    pool->threads = calloc(n_threads, sizeof(*pool->threads));
    if (!pool->threads) {
        free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_available, NULL);

    for (size_t i = 0; i < n_threads; i++) {
        int rc = pthread_create(&pool->threads[i], NULL, vg_worker_main, pool);

        if (rc != 0) {
            pool->n_threads = i;
            vg_worker_pool_free(pool);
            errno = rc;
            return NULL;
        }
        pool->n_threads = i + 1;
    }
    return pool;
}

void
vg_worker_pool_submit(vg_worker_pool *pool, vg_work_fn fn, void *data)
{
    vg_work_item *item;
    bool wake;

    pthread_mutex_lock(&pool->lock);
    item = pool->free_items;
    if (item) {
        pool->free_items = item->next;
    } else {
        item = malloc(sizeof(*item));
        if (!item)
            abort();
    }
    item->fn = fn;
    item->data = data;
    item->next = NULL;
    if (pool->tail)
        pool->tail->next = item;
    else
        pool->head = item;
    pool->tail = item;
    pool->pending++;
    /* Signal only when someone sleeps: a busy pool picks the job up anyway. */
    wake = pool->idle_threads > 0;
    pthread_mutex_unlock(&pool->lock);

    if (wake)
        pthread_cond_signal(&pool->work_available);
}

size_t
vg_worker_pool_pending(vg_worker_pool *pool)
{
    size_t pending;

    pthread_mutex_lock(&pool->lock);
    pending = pool->pending;
    pthread_mutex_unlock(&pool->lock);
    return pending;
}

vg_worker_pool *
vg_worker_pool_free(vg_worker_pool *pool)
{
    if (!pool)
        return NULL;

    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->work_available);
    pthread_mutex_unlock(&pool->lock);

    for (size_t i = 0; i < pool->n_threads; i++)
        pthread_join(pool->threads[i], NULL);

    while (pool->free_items) {
        vg_work_item *next = pool->free_items->next;

        free(pool->free_items);
        pool->free_items = next;
    }
    pthread_cond_destroy(&pool->work_available);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool);
    return NULL;
}
