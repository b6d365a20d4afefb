/*
 * A bump allocator for memory that lives exactly as long as one RPC: the decoded
 * request, the response being built, strings copied out of libvirt. Everything is
 * released at once by vg_arena_release, which also runs the registered release hooks
 * (libvirt objects, malloc'ed strings) in reverse order.
 */
#pragma once

#include <stddef.h>

typedef struct vg_arena_chunk vg_arena_chunk;
typedef struct vg_arena_hook vg_arena_hook;

typedef struct vg_arena {
    vg_arena_chunk *chunks;  /* newest first */
    vg_arena_hook *hooks;    /* newest first */
    char *inline_next;       /* the first chunk lives inside the owner */
    char *inline_end;
} vg_arena;

/* `initial` / `initial_size`: storage owned by the caller (e.g. inside the call
 * struct) used before any malloc, so small calls allocate nothing. */
void vg_arena_init(vg_arena *arena, void *initial, size_t initial_size);
/* Zero-filled, 16-byte aligned. Aborts on out-of-memory. */
void *vg_arena_alloc(vg_arena *arena, size_t size);
char *vg_arena_strdup(vg_arena *arena, const char *string);
void vg_arena_defer(vg_arena *arena, void (*release)(void *data), void *data);
void vg_arena_release(vg_arena *arena);
