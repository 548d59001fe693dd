/* A small hash map from byte-string keys to pointers, used by the group
 * coordinator for its groups (keyed by group id) and for each group's
 * committed offsets (keyed by topic and partition).
 *
 * Not thread-safe: the coordinator's lock guards every map. Keys are copied
 * into the map; values are the caller's (the map never frees them). */
#ifndef SAMSA_GROUP_HMAP_H
#define SAMSA_GROUP_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ghmap_entry {
	struct ghmap_entry *next;
	uint64_t hash;
	void *value;
	size_t key_len;
	char key[]; /* key_len bytes, then a NUL (so string keys read as C strings) */
};

struct ghmap {
	struct ghmap_entry **buckets;
	size_t bucket_count; /* a power of two, or 0 before the first put */
	size_t count;
};

void ghmap_init(struct ghmap *map);
/* Frees the entries (not the values). */
void ghmap_fini(struct ghmap *map);

void *ghmap_get(const struct ghmap *map, const void *key, size_t key_len);
/* Inserts or replaces; returns the previous value or NULL. */
void *ghmap_put(struct ghmap *map, const void *key, size_t key_len, void *value);
/* Removes; returns the value or NULL if absent. */
void *ghmap_del(struct ghmap *map, const void *key, size_t key_len);

/* Iteration in no particular order. The current entry may be deleted with
 * ghmap_del() during the walk; other changes invalidate the iterator. */
struct ghmap_iter {
	const struct ghmap *map;
	size_t bucket;
	struct ghmap_entry *next;
};

void ghmap_iter_init(struct ghmap_iter *it, const struct ghmap *map);
/* The next entry, or NULL at the end. */
struct ghmap_entry *ghmap_iter_next(struct ghmap_iter *it);

#endif
