/* A small hash map from byte-string keys to pointers (the coordinators'
 * groups, offsets and transactional ids).
 *
 * Not thread-safe: the owner's lock guards every map. Keys are copied into
 * the map; values are the caller's (the map never frees them). */
#ifndef SAMSA_BASE_HMAP_H
#define SAMSA_BASE_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_entry {
	struct hmap_entry *next;
	uint64_t hash;
	void *value;
	size_t key_len;
	char key[]; /* key_len bytes, then a NUL (so string keys read as C strings) */
};

struct hmap {
	struct hmap_entry **buckets;
	size_t bucket_count; /* a power of two, or 0 before the first put */
	size_t count;
};

void hmap_init(struct hmap *map);
/* Frees the entries (not the values). */
void hmap_fini(struct hmap *map);

void *hmap_get(const struct hmap *map, const void *key, size_t key_len);
/* Inserts or replaces; returns the previous value or NULL. */
void *hmap_put(struct hmap *map, const void *key, size_t key_len, void *value);
/* Removes; returns the value or NULL if absent. */
void *hmap_del(struct hmap *map, const void *key, size_t key_len);

/* Iteration in no particular order. The current entry may be deleted with
 * hmap_del() during the walk; other changes invalidate the iterator. */
struct hmap_iter {
	const struct hmap *map;
	size_t bucket;
	struct hmap_entry *next;
};

void hmap_iter_init(struct hmap_iter *it, const struct hmap *map);
/* The next entry, or NULL at the end. */
struct hmap_entry *hmap_iter_next(struct hmap_iter *it);

#endif
