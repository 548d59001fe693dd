/* Chained hash map with FNV-1a hashing and power-of-two bucket arrays that
 * double when the load factor passes 1. */
#include "group/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static uint64_t ghmap_hash(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void ghmap_init(struct ghmap *map)
{
	map->buckets = NULL;
	map->bucket_count = 0;
	map->count = 0;
}

void ghmap_fini(struct ghmap *map)
{
	for (size_t b = 0; b < map->bucket_count; b++) {
		struct ghmap_entry *e = map->buckets[b];
		while (e) {
			struct ghmap_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(map->buckets);
	ghmap_init(map);
}

static struct ghmap_entry **ghmap_slot(const struct ghmap *map, const void *key, size_t len, uint64_t h)
{
	if (!map->bucket_count)
		return NULL;
	struct ghmap_entry **slot = &map->buckets[h & (map->bucket_count - 1)];
	while (*slot) {
		struct ghmap_entry *e = *slot;
		if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
			return slot;
		slot = &e->next;
	}
	return slot;
}

void *ghmap_get(const struct ghmap *map, const void *key, size_t key_len)
{
	struct ghmap_entry **slot = ghmap_slot(map, key, key_len, ghmap_hash(key, key_len));
	return slot && *slot ? (*slot)->value : NULL;
}

static void ghmap_grow(struct ghmap *map)
{
	size_t n = map->bucket_count ? map->bucket_count * 2 : 16;
	struct ghmap_entry **buckets = xcalloc(n, sizeof(*buckets));
	for (size_t b = 0; b < map->bucket_count; b++) {
		struct ghmap_entry *e = map->buckets[b];
		while (e) {
			struct ghmap_entry *next = e->next;
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

void *ghmap_put(struct ghmap *map, const void *key, size_t key_len, void *value)
{
	uint64_t h = ghmap_hash(key, key_len);
	struct ghmap_entry **slot = ghmap_slot(map, key, key_len, h);
	if (slot && *slot) {
		void *old = (*slot)->value;
		(*slot)->value = value;
		return old;
	}
	if (map->count + 1 > map->bucket_count) {
		ghmap_grow(map);
		slot = ghmap_slot(map, key, key_len, h);
	}
	struct ghmap_entry *e = xmalloc(sizeof(*e) + key_len + 1);
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

void *ghmap_del(struct ghmap *map, const void *key, size_t key_len)
{
	struct ghmap_entry **slot = ghmap_slot(map, key, key_len, ghmap_hash(key, key_len));
	if (!slot || !*slot)
		return NULL;
	struct ghmap_entry *e = *slot;
	void *value = e->value;
	*slot = e->next;
	free(e);
	map->count--;
	return value;
}

void ghmap_iter_init(struct ghmap_iter *it, const struct ghmap *map)
{
	it->map = map;
	it->bucket = 0;
	it->next = map->bucket_count ? map->buckets[0] : NULL;
}

struct ghmap_entry *ghmap_iter_next(struct ghmap_iter *it)
{
	while (!it->next) {
		if (++it->bucket >= it->map->bucket_count)
			return NULL;
		it->next = it->map->buckets[it->bucket];
	}
	struct ghmap_entry *e = it->next;
	it->next = e->next;
	return e;
}
