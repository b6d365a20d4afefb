#include "server/runtime/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VG_ARENA_ALIGN 16
/* Large enough for a typical response; bigger requests get a chunk of their own. */
#define VG_ARENA_CHUNK_SIZE 8192

struct vg_arena_chunk {
    vg_arena_chunk *next;
    char *next_free;
    char *end;
    /* Data follows, aligned. */
};

struct vg_arena_hook {
    vg_arena_hook *next;
    void (*release)(void *data);
    void *data;
};

static void *
vg_arena_oom(size_t size)
{
    fprintf(stderr, "virtgrpcd: out of memory allocating %zu bytes\n", size);
    abort();
}

static size_t
vg_arena_round_up(size_t size)
{
    return (size + VG_ARENA_ALIGN - 1) & ~(size_t)(VG_ARENA_ALIGN - 1);
}

void
vg_arena_init(vg_arena *arena, void *initial, size_t initial_size)
{
    uintptr_t start = ((uintptr_t)initial + VG_ARENA_ALIGN - 1) &
                      ~(uintptr_t)(VG_ARENA_ALIGN - 1);
    uintptr_t end = (uintptr_t)initial + initial_size;

    arena->chunks = NULL;
    arena->hooks = NULL;
    if (initial && start < end) {
        arena->inline_next = (char *)start;
        arena->inline_end = (char *)end;
    } else {
        arena->inline_next = arena->inline_end = NULL;
    }
}

void *
vg_arena_alloc(vg_arena *arena, size_t size)
{
    size_t rounded = vg_arena_round_up(size ? size : 1);
    vg_arena_chunk *chunk = arena->chunks;
    void *result;

    if ((size_t)(arena->inline_end - arena->inline_next) >= rounded) {
        result = arena->inline_next;
        arena->inline_next += rounded;
        memset(result, 0, size);
        return result;
    }

    if (!chunk || (size_t)(chunk->end - chunk->next_free) < rounded) {
        size_t header = vg_arena_round_up(sizeof(vg_arena_chunk));
        size_t data = rounded > VG_ARENA_CHUNK_SIZE ? rounded : VG_ARENA_CHUNK_SIZE;

        chunk = malloc(header + data);
        if (!chunk)
            return vg_arena_oom(header + data);
        chunk->next_free = (char *)chunk + header;
        chunk->end = chunk->next_free + data;
        chunk->next = arena->chunks;
        arena->chunks = chunk;
    }
    result = chunk->next_free;
    chunk->next_free += rounded;
    memset(result, 0, size);
    return result;
}

char *
vg_arena_strdup(vg_arena *arena, const char *string)
{
    size_t length;
    char *copy;

    if (!string)
        return NULL;
    length = strlen(string);
    copy = vg_arena_alloc(arena, length + 1);
    memcpy(copy, string, length);
    return copy;
}

void
vg_arena_defer(vg_arena *arena, void (*release)(void *data), void *data)
{
    vg_arena_hook *hook = vg_arena_alloc(arena, sizeof(*hook));

    hook->release = release;
    hook->data = data;
    hook->next = arena->hooks;
    arena->hooks = hook;
}

void
vg_arena_release(vg_arena *arena)
{
    /* Hooks live in the arena's own memory: run them all before freeing chunks. */
    for (vg_arena_hook *hook = arena->hooks; hook; hook = hook->next)
        hook->release(hook->data);
    arena->hooks = NULL;

    while (arena->chunks) {
        vg_arena_chunk *next = arena->chunks->next;

        free(arena->chunks);
        arena->chunks = next;
    }
    arena->inline_next = arena->inline_end = NULL;
}
