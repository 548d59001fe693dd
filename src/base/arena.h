/* Per-request bump allocator (nginx pool style).
 *
 * Everything a request decodes (structs, arrays) is allocated from its arena and
 * released in one arena_free() when the response is queued, so no error path
 * can leak. Not thread-safe: an arena belongs to one thread at a time. */
#ifndef SAMSA_BASE_ARENA_H
#define SAMSA_BASE_ARENA_H

#include <stddef.h>

struct arena;

/* A new arena whose first chunk holds at least first_chunk bytes. Aborts on OOM. */
struct arena *arena_new(size_t first_chunk);

/* n zeroed bytes aligned to 16. Never returns NULL (aborts on OOM). */
void *arena_alloc(struct arena *arena, size_t n);

/* Copy of len bytes of src; the copy is NUL terminated. */
char *arena_strndup(struct arena *arena, const char *src, size_t len);

/* Bytes handed out so far (for memory accounting). */
size_t arena_used(const struct arena *arena);

void arena_free(struct arena *arena);

#endif
