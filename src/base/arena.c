/* Bump allocator: a list of chunks, each request served from the newest one.
 * Large requests get a chunk of their own so a big allocation does not waste
 * the rest of the current chunk. */
#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define ARENA_ALIGN 16

struct arena_chunk {
	struct arena_chunk *next;
	size_t cap;
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena {
	struct arena_chunk *head;
	size_t chunk_size;
	size_t used;
};

static struct arena_chunk *arena_chunk_new(size_t cap)
{
	struct arena_chunk *chunk = xmalloc(sizeof(*chunk) + cap);
	chunk->next = NULL;
	chunk->cap = cap;
	chunk->used = 0;
	return chunk;
}

struct arena *arena_new(size_t first_chunk)
{
	struct arena *arena = xmalloc(sizeof(*arena));
	arena->chunk_size = first_chunk < 256 ? 256 : first_chunk;
	arena->head = arena_chunk_new(arena->chunk_size);
	arena->used = 0;
	return arena;
}

void *arena_alloc(struct arena *arena, size_t n)
{
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	struct arena_chunk *chunk = arena->head;
	if (need < n)
		abort(); /* overflow: callers bound n by input size */
	if (chunk->cap - chunk->used < need) {
		if (need > arena->chunk_size / 2) {
			/* Dedicated chunk, linked behind the head so the head keeps serving. */
			struct arena_chunk *big = arena_chunk_new(need);
			big->used = need;
			big->next = chunk->next;
			chunk->next = big;
			arena->used += need;
			memset(big->data, 0, need);
			return big->data;
		}
		if (arena->chunk_size < (1u << 20))
			arena->chunk_size *= 2;
		chunk = arena_chunk_new(arena->chunk_size);
		chunk->next = arena->head;
		arena->head = chunk;
	}
	void *p = chunk->data + chunk->used;
	chunk->used += need;
	arena->used += need;
	memset(p, 0, need);
	return p;
}

char *arena_strndup(struct arena *arena, const char *src, size_t len)
{
	char *dst = arena_alloc(arena, len + 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
	return dst;
}

size_t arena_used(const struct arena *arena)
{
	return arena->used;
}

void arena_free(struct arena *arena)
{
	if (!arena)
		return;
	struct arena_chunk *chunk = arena->head;
	while (chunk) {
		struct arena_chunk *next = chunk->next;
		free(chunk);
		chunk = next;
	}
	free(arena);
}
