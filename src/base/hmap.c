/* Chained hash map with FNV-1a hashing and power-of-two bucket arrays that
 * double when the load factor passes 1. */
#include "base/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static uint64_t hmap_hash(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void hmap_init(struct hmap *map)
{
	map->buckets = NULL;
	map->bucket_count = 0;
	map->count = 0;
}

void hmap_fini(struct hmap *map)
{
	for (size_t b = 0; b < map->bucket_count; b++) {
		struct hmap_entry *e = map->buckets[b];
		while (e) {
			struct hmap_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(map->buckets);
	hmap_init(map);
}

static struct hmap_entry **hmap_slot(const struct hmap *map, const void *key, size_t len, uint64_t h)
{
	if (!map->bucket_count)
		return NULL;
	struct hmap_entry **slot = &map->buckets[h & (map->bucket_count - 1)];
	while (*slot) {
		struct hmap_entry *e = *slot;
		if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
			return slot;
		slot = &e->next;
	}
	return slot;
}

void *hmap_get(const struct hmap *map, const void *key, size_t key_len)
{
	struct hmap_entry **slot = hmap_slot(map, key, key_len, hmap_hash(key, key_len));
	return slot && *slot ? (*slot)->value : NULL;
}

static void hmap_grow(struct hmap *map)
{
	size_t n = map->bucket_count ? map->bucket_count * 2 : 16;
	struct hmap_entry **buckets = xcalloc(n, sizeof(*buckets));
	for (size_t b = 0; b < map->bucket_count; b++) {
		struct hmap_entry *e = map->buckets[b];
		while (e) {
			struct hmap_entry *next = e->next;
			size_t i = e->hash & (n - 1);
			e->next = buckets[i];
			buckets[i] = e;
			e = next;
		}
	}
	free(map->buckets);
	map->buckets = buckets;
	map->bucket_count = n;
}

void *hmap_put(struct hmap *map, const void *key, size_t key_len, void *value)
{
	uint64_t h = hmap_hash(key, key_len);
	struct hmap_entry **slot = hmap_slot(map, key, key_len, h);
	if (slot && *slot) {
		void *old = (*slot)->value;
		(*slot)->value = value;
		return old;
	}
	if (map->count + 1 > map->bucket_count) {
		hmap_grow(map);
		slot = hmap_slot(map, key, key_len, h);
	}
	struct hmap_entry *e = xmalloc(sizeof(*e) + key_len + 1);
	e->next = NULL;
	e->hash = h;
	e->value = value;
	e->key_len = key_len;
	memcpy(e->key, key, key_len);
	e->key[key_len] = '\0';
	*slot = e;
	map->count++;
	return NULL;
}

void *hmap_del(struct hmap *map, const void *key, size_t key_len)
{
	struct hmap_entry **slot = hmap_slot(map, key, key_len, hmap_hash(key, key_len));
	if (!slot || !*slot)
		return NULL;
	struct hmap_entry *e = *slot;
	void *value = e->value;
	*slot = e->next;
	free(e);
	map->count--;
	return value;
}

void hmap_iter_init(struct hmap_iter *it, const struct hmap *map)
{
	it->map = map;
	it->bucket = 0;
	it->next = map->bucket_count ? map->buckets[0] : NULL;
}

struct hmap_entry *hmap_iter_next(struct hmap_iter *it)
{
	while (!it->next) {
		if (++it->bucket >= it->map->bucket_count)
			return NULL;
		it->next = it->map->buckets[it->bucket];
	}
	struct hmap_entry *e = it->next;
	it->next = e->next;
	return e;
}
