/* The topic registry. A sorted array of referenced topics behind a rwlock:
 * lookups take the read lock for a binary search and a reference; create and
 * delete take the write lock. A deleted topic leaves the array at once, and
 * its partition directories are removed when the last reference is dropped, so
 * a produce or fetch already holding the topic finishes safely.
 *
 * Each topic's definition (id, partition count, config overrides) is stored in
 * <data dir>/__samsa_meta/<topic>.properties; see topic_store.c. */
#include "meta/topics.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/config.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "meta/topic_config.h"
#include "meta/topic_store.h"

/* Partitions beyond this are refused: each costs open files and memory. */
#define META_MAX_PARTITIONS 10000

struct meta_topics {
	char *data_dir;
	const struct config *cfg;
	struct log_flusher *flusher;
	pthread_rwlock_t lock;
	struct meta_topic **topics; /* sorted by name */
	int count;
	int cap;
};

bool meta_topic_name_valid(const char *name, char errmsg[ERRMSG_SIZE])
{
	size_t len = strlen(name);
	if (len == 0) {
		err_printf(errmsg, "Topic name is illegal, it can't be empty");
		return false;
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		err_printf(errmsg, "Topic name cannot be \".\" or \"..\"");
		return false;
	}
	if (len > 249) {
		err_printf(errmsg, "Topic name is illegal, it can't be longer than 249 characters, topic name: %.40s...", name);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-')) {
			err_printf(errmsg,
				   "Topic name \"%.120s\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'",
				   name);
			return false;
		}
	}
	return true;
}

static void meta_topic_free(struct meta_topic *topic, bool remove_data)
{
	for (int32_t i = 0; i < topic->partition_count; i++) {
		if (!topic->partitions[i])
			continue;
		if (remove_data)
			log_partition_delete(topic->partitions[i]);
		else
			log_partition_close(topic->partitions[i]);
	}
	free(topic->partitions);
	for (int i = 0; i < topic->config_count; i++) {
		free(topic->config_keys[i]);
		free(topic->config_values[i]);
	}
	free(topic->config_keys);
	free(topic->config_values);
	free(topic->name);
	free(topic);
}

static char *partition_dir(const struct meta_topics *topics, const char *name, int32_t index)
{
	char *path;
	if (asprintf(&path, "%s/%s-%d", topics->data_dir, name, index) < 0)
		abort();
	return path;
}

/* Opens (creating) every partition log of topic. */
static int meta_topic_open_partitions(struct meta_topics *topics, struct meta_topic *topic,
				      char errmsg[ERRMSG_SIZE])
{
	topic->partitions = xcalloc((size_t)topic->partition_count, sizeof(*topic->partitions));
	for (int32_t i = 0; i < topic->partition_count; i++) {
		char *dir = partition_dir(topics, topic->name, i);
		int rc = log_partition_open(dir, &topic->log_config, topics->flusher, &topic->partitions[i], errmsg);
		free(dir);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static struct meta_topic *meta_topic_new(const struct meta_topics *topics, const char *name, int32_t partitions,
					 int count, const char *const *keys, const char *const *values)
{
	struct meta_topic *topic = xcalloc(1, sizeof(*topic));
	topic->name = xstrdup(name);
	topic->partition_count = partitions;
	topic->config_count = count;
	topic->config_keys = xcalloc((size_t)count + 1, sizeof(char *));
	topic->config_values = xcalloc((size_t)count + 1, sizeof(char *));
	for (int i = 0; i < count; i++) {
		topic->config_keys[i] = xstrdup(keys[i]);
		topic->config_values[i] = xstrdup(values[i]);
	}
	meta_topic_log_config(topics->cfg, count, keys, values, &topic->log_config);
	atomic_init(&topic->refs, 1); /* the registry's own reference */
	return topic;
}

/* Index of name in the sorted array, or -(insertion point) - 1. Lock held. */
static int meta_topics_find(const struct meta_topics *topics, const char *name)
{
	int lo = 0, hi = topics->count - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(topics->topics[mid]->name, name);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

static void meta_topics_insert(struct meta_topics *topics, int pos, struct meta_topic *topic)
{
	if (topics->count == topics->cap) {
		topics->cap = topics->cap ? topics->cap * 2 : 16;
		topics->topics = xrealloc(topics->topics, (size_t)topics->cap * sizeof(*topics->topics));
	}
	memmove(&topics->topics[pos + 1], &topics->topics[pos],
		(size_t)(topics->count - pos) * sizeof(*topics->topics));
	topics->topics[pos] = topic;
	topics->count++;
}

static int meta_topics_load_one(struct meta_topics *topics, const struct topic_record *rec, char errmsg[ERRMSG_SIZE])
{
	struct meta_topic *topic = meta_topic_new(topics, rec->name, rec->partition_count, rec->config_count,
						  (const char *const *)rec->config_keys,
						  (const char *const *)rec->config_values);
	memcpy(topic->id, rec->id, sizeof(topic->id));
	int rc = meta_topic_open_partitions(topics, topic, errmsg);
	if (rc < 0) {
		meta_topic_free(topic, false);
		return rc;
	}
	int pos = meta_topics_find(topics, topic->name);
	if (pos >= 0) {
		err_printf(errmsg, "topic %s defined twice", topic->name);
		meta_topic_free(topic, false);
		return -SAMSA_EEXIST;
	}
	meta_topics_insert(topics, -pos - 1, topic);
	return 0;
}

struct meta_topics *meta_topics_open(const char *data_dir, const struct config *cfg, struct log_flusher *flusher,
				     char errmsg[ERRMSG_SIZE])
{
	struct meta_topics *topics = xcalloc(1, sizeof(*topics));
	topics->data_dir = xstrdup(data_dir);
	topics->cfg = cfg;
	topics->flusher = flusher;
	pthread_rwlock_init(&topics->lock, NULL);

	struct topic_record *recs = NULL;
	int n = topic_store_load_all(data_dir, &recs, errmsg);
	if (n < 0) {
		meta_topics_close(topics);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		if (meta_topics_load_one(topics, &recs[i], errmsg) < 0) {
			topic_store_records_free(recs, n);
			meta_topics_close(topics);
			return NULL;
		}
	}
	topic_store_records_free(recs, n);
	if (topics->count)
		log_info("meta", "loaded %d topic%s from %s", topics->count, topics->count == 1 ? "" : "s", data_dir);
	return topics;
}

void meta_topics_close(struct meta_topics *topics)
{
	if (!topics)
		return;
	for (int i = 0; i < topics->count; i++)
		meta_topic_put(topics, topics->topics[i]);
	free(topics->topics);
	pthread_rwlock_destroy(&topics->lock);
	free(topics->data_dir);
	free(topics);
}

static int replication_factor_check(const struct meta_topics *topics, int16_t rf, char errmsg[ERRMSG_SIZE])
{
	(void)topics;
	const int32_t live_brokers = 1; /* a single node until clustering lands */
	if (rf < 1) {
		err_printf(errmsg, "Replication factor must be larger than 0, or -1 to use the default value.");
		return -EDOM;
	}
	if (rf > live_brokers) {
		err_printf(errmsg, "Replication factor: %d larger than available brokers: %d.", rf, live_brokers);
		return -EDOM;
	}
	return 0;
}

int meta_topic_create(struct meta_topics *topics, const char *name, int32_t partitions, int16_t replication_factor,
		      int config_count, const char *const *config_keys, const char *const *config_values,
		      bool validate_only, char errmsg[ERRMSG_SIZE])
{
	if (!meta_topic_name_valid(name, errmsg))
		return -EINVAL;
	if (partitions == -1)
		partitions = (int32_t)config_get_int(topics->cfg, "num.partitions");
	if (partitions < 1) {
		err_printf(errmsg, "Number of partitions must be larger than 0, or -1 to use the default value.");
		return -ERANGE;
	}
	if (partitions > META_MAX_PARTITIONS) {
		err_printf(errmsg, "Number of partitions %d is larger than the broker's limit of %d.", partitions,
			   META_MAX_PARTITIONS);
		return -ERANGE;
	}
	if (replication_factor == -1)
		replication_factor = (int16_t)config_get_int(topics->cfg, "default.replication.factor");
	int rc = replication_factor_check(topics, replication_factor, errmsg);
	if (rc < 0)
		return rc;
	for (int i = 0; i < config_count; i++) {
		rc = meta_topic_config_validate(config_keys[i], config_values[i], errmsg);
		if (rc < 0)
			return rc;
	}

	pthread_rwlock_wrlock(&topics->lock);
	int pos = meta_topics_find(topics, name);
	if (pos >= 0) {
		pthread_rwlock_unlock(&topics->lock);
		err_printf(errmsg, "Topic '%s' already exists.", name);
		return -SAMSA_EEXIST;
	}
	if (validate_only) {
		pthread_rwlock_unlock(&topics->lock);
		return 0;
	}
	struct meta_topic *topic = meta_topic_new(topics, name, partitions, config_count, config_keys, config_values);
	if (getrandom(topic->id, sizeof(topic->id), 0) != (ssize_t)sizeof(topic->id))
		abort();
	topic->id[6] = (uint8_t)((topic->id[6] & 0x0f) | 0x40); /* UUID version 4 */
	topic->id[8] = (uint8_t)((topic->id[8] & 0x3f) | 0x80);

	struct topic_record rec = {
		.name = topic->name,
		.partition_count = partitions,
		.config_count = config_count,
		.config_keys = topic->config_keys,
		.config_values = topic->config_values,
	};
	memcpy(rec.id, topic->id, sizeof(rec.id));
	/* Partitions first: a crash before the definition is stored leaves only
	 * empty directories, never a topic whose partitions are missing. */
	rc = meta_topic_open_partitions(topics, topic, errmsg);
	if (rc == 0)
		rc = topic_store_save(topics->data_dir, &rec, errmsg);
	if (rc < 0) {
		pthread_rwlock_unlock(&topics->lock);
		meta_topic_free(topic, true);
		return rc;
	}
	meta_topics_insert(topics, -pos - 1, topic);
	pthread_rwlock_unlock(&topics->lock);
	log_info("meta", "created topic %s with %d partition%s", name, partitions, partitions == 1 ? "" : "s");
	return 0;
}

int meta_topic_delete(struct meta_topics *topics, const char *name)
{
	pthread_rwlock_wrlock(&topics->lock);
	int pos = meta_topics_find(topics, name);
	if (pos < 0) {
		pthread_rwlock_unlock(&topics->lock);
		return -SAMSA_ENOTFOUND;
	}
	struct meta_topic *topic = topics->topics[pos];
	int rc = topic_store_remove(topics->data_dir, name);
	if (rc < 0) {
		pthread_rwlock_unlock(&topics->lock);
		return rc;
	}
	memmove(&topics->topics[pos], &topics->topics[pos + 1],
		(size_t)(topics->count - pos - 1) * sizeof(*topics->topics));
	topics->count--;
	topic->deleted = true;
	pthread_rwlock_unlock(&topics->lock);
	log_info("meta", "deleted topic %s", name);
	meta_topic_put(topics, topic);
	return 0;
}

struct meta_topic *meta_topic_get(struct meta_topics *topics, const char *name)
{
	struct meta_topic *topic = NULL;
	pthread_rwlock_rdlock(&topics->lock);
	int pos = meta_topics_find(topics, name);
	if (pos >= 0) {
		topic = topics->topics[pos];
		atomic_fetch_add(&topic->refs, 1);
	}
	pthread_rwlock_unlock(&topics->lock);
	return topic;
}

struct meta_topic *meta_topic_get_by_id(struct meta_topics *topics, const uint8_t id[16])
{
	struct meta_topic *topic = NULL;
	pthread_rwlock_rdlock(&topics->lock);
	for (int i = 0; i < topics->count; i++) {
		if (memcmp(topics->topics[i]->id, id, 16) == 0) {
			topic = topics->topics[i];
			atomic_fetch_add(&topic->refs, 1);
			break;
		}
	}
	pthread_rwlock_unlock(&topics->lock);
	return topic;
}

void meta_topic_put(struct meta_topics *topics, struct meta_topic *topic)
{
	(void)topics;
	if (topic && atomic_fetch_sub(&topic->refs, 1) == 1)
		meta_topic_free(topic, topic->deleted);
}

int meta_topic_list(struct meta_topics *topics, struct meta_topic ***out)
{
	pthread_rwlock_rdlock(&topics->lock);
	int n = topics->count;
	struct meta_topic **list = xcalloc((size_t)n + 1, sizeof(*list));
	for (int i = 0; i < n; i++) {
		list[i] = topics->topics[i];
		atomic_fetch_add(&list[i]->refs, 1);
	}
	pthread_rwlock_unlock(&topics->lock);
	*out = list;
	return n;
}

void meta_topic_list_free(struct meta_topics *topics, struct meta_topic **list, int count)
{
	for (int i = 0; i < count; i++)
		meta_topic_put(topics, list[i]);
	free(list);
}
