/* The topic registry. A sorted array of referenced topics behind a rwlock:
 * lookups take the read lock for a binary search and a reference; create and
 * delete take the write lock. A deleted topic leaves the array at once, and
 * its partition directories are removed when the last reference is dropped, so
 * a produce or fetch already holding the topic finishes safely.
 *
 * Changes to an existing topic (more partitions, other configs) copy it: the
 * new snapshot shares the partition logs, replaces the old one in the array
 * under the write lock, and the old one keeps a reference to it until its own
 * readers are done, so the logs are closed (or deleted) only when no snapshot
 * needs them. admin_mu serializes every change (create, delete, partitions,
 * configs, broker configs) so each starts from the current snapshot; lookups
 * never wait for it. Lock order: admin_mu -> lock.
 *
 * Each topic's definition (id, partition count, config overrides) is stored in
 * <data dir>/__samsa_meta/<topic>.properties, the dynamic broker configs in
 * __samsa_meta/broker.config; see topic_store.c. */
#include "meta/topics.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "log/cleaner.h"
#include "meta/configs.h"
#include "meta/topic_config.h"
#include "meta/topic_store.h"

/* Partitions beyond this are refused: each costs open files and memory. */
#define META_MAX_PARTITIONS 10000

struct meta_topics {
	char *data_dir;
	struct config *cfg;
	struct log_flusher *flusher;
	pthread_mutex_t admin_mu; /* serializes changes */
	pthread_rwlock_t lock;
	struct meta_topic **topics; /* sorted by name */
	int count;
	int cap;
};

bool meta_topic_is_internal(const char *name)
{
	return strcmp(name, "__consumer_offsets") == 0 || strcmp(name, "__transaction_state") == 0;
}

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

/* Frees everything but the partition logs. */
static void meta_topic_free_shell(struct meta_topic *topic)
{
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

static void meta_topic_free(struct meta_topic *topic, bool remove_data)
{
	struct meta_topic *successor = topic->successor;
	if (successor) { /* replaced: the successor owns the logs */
		meta_topic_free_shell(topic);
		meta_topic_put(NULL, successor);
		return;
	}
	for (int32_t i = 0; i < topic->partition_count; i++) {
		if (!topic->partitions[i])
			continue;
		if (remove_data)
			log_partition_delete(topic->partitions[i]);
		else
			log_partition_close(topic->partitions[i]);
	}
	meta_topic_free_shell(topic);
}

static char *partition_dir(const struct meta_topics *topics, const char *name, int32_t index)
{
	char *path;
	if (asprintf(&path, "%s/%s-%d", topics->data_dir, name, index) < 0)
		abort();
	return path;
}

/* Opens (creating) the partition logs of topic from index `from` on; the
 * array holds partition_count slots. */
static int meta_topic_open_partitions_from(struct meta_topics *topics, struct meta_topic *topic, int32_t from,
					   char errmsg[ERRMSG_SIZE])
{
	for (int32_t i = from; i < topic->partition_count; i++) {
		char *dir = partition_dir(topics, topic->name, i);
		int rc = log_partition_open(dir, &topic->log_config, topics->flusher, &topic->partitions[i], errmsg);
		free(dir);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int meta_topic_open_partitions(struct meta_topics *topics, struct meta_topic *topic,
				      char errmsg[ERRMSG_SIZE])
{
	topic->partitions = xcalloc((size_t)topic->partition_count, sizeof(*topic->partitions));
	return meta_topic_open_partitions_from(topics, topic, 0, errmsg);
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

/* Loads the stored dynamic broker configs into cfg. An entry that no longer
 * validates is skipped with a warning rather than keeping the broker down. */
static int meta_broker_configs_load(struct meta_topics *topics, char errmsg[ERRMSG_SIZE])
{
	struct broker_config_entry *entries;
	int n = topic_store_load_broker(topics->data_dir, &entries, errmsg);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		char why[ERRMSG_SIZE];
		if (config_dynamic_set(topics->cfg, entries[i].layer, entries[i].key, entries[i].value, why) < 0)
			log_warn("meta", "ignoring stored dynamic broker config %s=%s: %s", entries[i].key,
				 entries[i].value, why);
		else
			log_info("meta", "dynamic broker config (%s): %s=%s",
				 entries[i].layer == CONFIG_LAYER_BROKER ? "this broker" : "cluster default",
				 entries[i].key, config_is_sensitive(entries[i].key) ? "[hidden]" : entries[i].value);
	}
	topic_store_broker_free(entries, n);
	const char *level = config_get(topics->cfg, "log.level");
	if (level && log_level_parse(level) >= 0)
		log_set_level((enum log_level)log_level_parse(level));
	return 0;
}

struct meta_topics *meta_topics_open(const char *data_dir, struct config *cfg, struct log_flusher *flusher,
				     char errmsg[ERRMSG_SIZE])
{
	struct meta_topics *topics = xcalloc(1, sizeof(*topics));
	topics->data_dir = xstrdup(data_dir);
	topics->cfg = cfg;
	topics->flusher = flusher;
	pthread_mutex_init(&topics->admin_mu, NULL);
	pthread_rwlock_init(&topics->lock, NULL);

	if (meta_broker_configs_load(topics, errmsg) < 0) {
		meta_topics_close(topics);
		return NULL;
	}
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

/* At close: the topic's logs are its own and only the registry holds it, so
 * they can be closed ahead of it. */
static bool meta_topic_closable(struct meta_topic *topic)
{
	return !topic->successor && atomic_load(&topic->refs) == 1;
}

void meta_topics_close(struct meta_topics *topics)
{
	if (!topics)
		return;
	/* The partitions of every topic nobody else holds close side by side
	 * (each makes a last sync), then the topics go. */
	size_t n = 0;
	for (int i = 0; i < topics->count; i++)
		if (meta_topic_closable(topics->topics[i]))
			n += (size_t)topics->topics[i]->partition_count;
	struct log_partition **parts = xmalloc((n ? n : 1) * sizeof(*parts));
	n = 0;
	for (int i = 0; i < topics->count; i++) {
		struct meta_topic *topic = topics->topics[i];
		if (!meta_topic_closable(topic))
			continue;
		for (int32_t p = 0; p < topic->partition_count; p++) {
			parts[n++] = topic->partitions[p];
			topic->partitions[p] = NULL;
		}
	}
	log_partitions_close(parts, n);
	free(parts);
	for (int i = 0; i < topics->count; i++)
		meta_topic_put(topics, topics->topics[i]);
	free(topics->topics);
	pthread_rwlock_destroy(&topics->lock);
	pthread_mutex_destroy(&topics->admin_mu);
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

	pthread_mutex_lock(&topics->admin_mu);
	pthread_rwlock_wrlock(&topics->lock);
	int pos = meta_topics_find(topics, name);
	if (pos >= 0) {
		pthread_rwlock_unlock(&topics->lock);
		pthread_mutex_unlock(&topics->admin_mu);
		err_printf(errmsg, "Topic '%s' already exists.", name);
		return -SAMSA_EEXIST;
	}
	if (validate_only) {
		pthread_rwlock_unlock(&topics->lock);
		pthread_mutex_unlock(&topics->admin_mu);
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
		pthread_mutex_unlock(&topics->admin_mu);
		meta_topic_free(topic, true);
		return rc;
	}
	meta_topics_insert(topics, -pos - 1, topic);
	pthread_rwlock_unlock(&topics->lock);
	pthread_mutex_unlock(&topics->admin_mu);
	log_info("meta", "created topic %s with %d partition%s", name, partitions, partitions == 1 ? "" : "s");
	return 0;
}

int meta_topic_delete(struct meta_topics *topics, const char *name)
{
	pthread_mutex_lock(&topics->admin_mu);
	pthread_rwlock_wrlock(&topics->lock);
	int pos = meta_topics_find(topics, name);
	if (pos < 0) {
		pthread_rwlock_unlock(&topics->lock);
		pthread_mutex_unlock(&topics->admin_mu);
		return -SAMSA_ENOTFOUND;
	}
	struct meta_topic *topic = topics->topics[pos];
	int rc = topic_store_remove(topics->data_dir, name);
	if (rc < 0) {
		pthread_rwlock_unlock(&topics->lock);
		pthread_mutex_unlock(&topics->admin_mu);
		return rc;
	}
	memmove(&topics->topics[pos], &topics->topics[pos + 1],
		(size_t)(topics->count - pos - 1) * sizeof(*topics->topics));
	topics->count--;
	topic->deleted = true;
	pthread_rwlock_unlock(&topics->lock);
	pthread_mutex_unlock(&topics->admin_mu);
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

void meta_topics_clean_round(void *arg, const atomic_bool *stop)
{
	struct meta_topics *topics = arg;
	struct meta_topic **list;
	int n = meta_topic_list(topics, &list);
	for (int i = 0; i < n && !atomic_load(stop); i++) {
		struct meta_topic *t = list[i];
		char buf[64];
		const char *v = meta_topic_config_value(topics, t, "cleanup.policy", buf, sizeof(buf));
		if (t->deleted || !v || !strstr(v, "compact"))
			continue;
		struct log_clean_config cc;
		log_clean_config_defaults(&cc);
		if ((v = meta_topic_config_value(topics, t, "delete.retention.ms", buf, sizeof(buf))))
			cc.delete_retention_ms = strtoll(v, NULL, 10);
		if ((v = meta_topic_config_value(topics, t, "min.compaction.lag.ms", buf, sizeof(buf))))
			cc.min_compaction_lag_ms = strtoll(v, NULL, 10);
		if ((v = meta_topic_config_value(topics, t, "min.cleanable.dirty.ratio", buf, sizeof(buf))))
			cc.min_cleanable_ratio = strtod(v, NULL);
		for (int p = 0; p < t->partition_count && !atomic_load(stop); p++)
			log_partition_clean(t->partitions[p], &cc, clock_wall_ms(), false, NULL);
	}
	meta_topic_list_free(topics, list, n);
}

struct config *meta_topics_config(struct meta_topics *topics)
{
	return topics->cfg;
}

const char *meta_topic_config_value(struct meta_topics *topics, const struct meta_topic *topic, const char *key,
				    char *buf, size_t size)
{
	for (int i = 0; i < topic->config_count; i++)
		if (strcmp(topic->config_keys[i], key) == 0)
			return topic->config_values[i];
	return meta_topic_config_default(topics->cfg, key, buf, size);
}

/* ------------------------------------------------------------ snapshots */

/* A new snapshot of old with `partitions` slots (the first old->partition_count
 * sharing old's logs, the rest NULL for the caller to open) and the given
 * overrides; its log_config is computed from the broker's current defaults. */
static struct meta_topic *meta_topic_copy(const struct meta_topics *topics, const struct meta_topic *old,
					  int32_t partitions, int count, const char *const *keys,
					  const char *const *values)
{
	struct meta_topic *topic = meta_topic_new(topics, old->name, partitions, count, keys, values);
	memcpy(topic->id, old->id, sizeof(topic->id));
	topic->partitions = xcalloc((size_t)partitions, sizeof(*topic->partitions));
	memcpy(topic->partitions, old->partitions, (size_t)old->partition_count * sizeof(*topic->partitions));
	return topic;
}

static int meta_topic_store(const struct meta_topics *topics, const struct meta_topic *topic,
			    char errmsg[ERRMSG_SIZE])
{
	struct topic_record rec = {
		.name = topic->name,
		.partition_count = topic->partition_count,
		.config_count = topic->config_count,
		.config_keys = topic->config_keys,
		.config_values = topic->config_values,
	};
	memcpy(rec.id, topic->id, sizeof(rec.id));
	return topic_store_save(topics->data_dir, &rec, errmsg);
}

/* Publishes topic in place of old, the current snapshot of its name; old
 * pins topic until its own readers are done. admin_mu held. Pushes the new
 * log settings to every partition when they changed. */
static void meta_topics_replace(struct meta_topics *topics, struct meta_topic *old, struct meta_topic *topic)
{
	pthread_rwlock_wrlock(&topics->lock);
	int pos = meta_topics_find(topics, old->name);
	if (pos < 0 || topics->topics[pos] != old)
		abort(); /* admin_mu makes this impossible */
	topics->topics[pos] = topic;
	atomic_fetch_add(&topic->refs, 1);
	old->successor = topic;
	pthread_rwlock_unlock(&topics->lock);
	if (meta_log_config_differs(&old->log_config, &topic->log_config))
		for (int32_t i = 0; i < topic->partition_count; i++)
			log_partition_set_config(topic->partitions[i], &topic->log_config);
	meta_topic_put(topics, old); /* the registry's reference */
}

int meta_topic_add_partitions(struct meta_topics *topics, const char *name, int32_t count, bool validate_only,
			      char errmsg[ERRMSG_SIZE])
{
	pthread_mutex_lock(&topics->admin_mu);
	struct meta_topic *old = meta_topic_get(topics, name);
	int rc = 0;
	if (!old) {
		err_printf(errmsg, "The topic '%s' does not exist.", name);
		rc = -SAMSA_ENOTFOUND;
		goto out;
	}
	if (count < old->partition_count) {
		err_printf(errmsg, "The topic %s currently has %d partition(s); %d would not be an increase.", name,
			   old->partition_count, count);
		rc = -ERANGE;
		goto out;
	}
	if (count == old->partition_count) {
		err_printf(errmsg, "Topic already has %d partition(s).", count);
		rc = -ERANGE;
		goto out;
	}
	if (count > META_MAX_PARTITIONS) {
		err_printf(errmsg, "Number of partitions %d is larger than the broker's limit of %d.", count,
			   META_MAX_PARTITIONS);
		rc = -ERANGE;
		goto out;
	}
	if (validate_only)
		goto out;

	struct meta_topic *topic = meta_topic_copy(topics, old, count, old->config_count,
						   (const char *const *)old->config_keys,
						   (const char *const *)old->config_values);
	/* New directories first, then the definition: a crash in between leaves
	 * only unused empty directories, which a later increase reopens. */
	rc = meta_topic_open_partitions_from(topics, topic, old->partition_count, errmsg);
	if (rc == 0)
		rc = meta_topic_store(topics, topic, errmsg);
	if (rc < 0) {
		for (int32_t i = old->partition_count; i < count; i++)
			if (topic->partitions[i])
				log_partition_delete(topic->partitions[i]);
		meta_topic_free_shell(topic);
		goto out;
	}
	int32_t before = old->partition_count;
	meta_topics_replace(topics, old, topic);
	log_info("meta", "topic %s: partitions increased from %d to %d", name, before, count);
out:
	meta_topic_put(topics, old);
	pthread_mutex_unlock(&topics->admin_mu);
	return rc;
}

/* ------------------------------------------------------- config changes */

static int topic_rule_validate(void *ctx, const char *key, const char *value, char errmsg[ERRMSG_SIZE])
{
	(void)ctx;
	if (!value) {
		if (meta_topic_config_known(key))
			return 0;
		err_printf(errmsg, "Unknown topic config name: %s", key);
		return -SAMSA_EINVAL_CONFIG;
	}
	return meta_topic_config_validate(key, value, errmsg);
}

static bool topic_rule_is_list(const char *key)
{
	return meta_topic_config_type(key) == META_CONFIG_TYPE_LIST;
}

static const char *topic_rule_base(void *ctx, const char *key, char *buf, size_t size)
{
	struct meta_topics *topics = ctx;
	return meta_topic_config_default(topics->cfg, key, buf, size);
}

/* "k1=v1, k2=v2" of the changed keys, for the log. */
static void describe_changes(char *out, size_t size, int n, const struct meta_config_change *changes)
{
	static const char *const ops[] = {"set", "delete", "append", "subtract"};
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < n && len < size; i++) {
		const char *op = changes[i].op >= 0 && changes[i].op <= 3 ? ops[changes[i].op] : "?";
		const char *v = changes[i].value ? changes[i].value : "null";
		if (config_is_sensitive(changes[i].key))
			v = "[hidden]";
		int w = snprintf(out + len, size - len, "%s%s %s=%s", i ? ", " : "", op, changes[i].key, v);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

int meta_topic_alter_configs(struct meta_topics *topics, const char *name, bool replace, int n,
			     const struct meta_config_change *changes, bool validate_only, char errmsg[ERRMSG_SIZE])
{
	pthread_mutex_lock(&topics->admin_mu);
	struct meta_topic *old = meta_topic_get(topics, name);
	struct meta_kv next = {0};
	int rc;
	if (!old) {
		err_printf(errmsg, "The topic '%s' does not exist.", name);
		rc = -SAMSA_ENOTFOUND;
		goto out;
	}
	struct meta_kv cur = {old->config_count, old->config_keys, old->config_values};
	struct meta_config_rules rules = {topic_rule_validate, topic_rule_is_list, topic_rule_base, topics};
	rc = meta_config_merge(&cur, replace, n, changes, &rules, &next, errmsg);
	if (rc < 0 || validate_only)
		goto out;
	struct meta_topic *topic = meta_topic_copy(topics, old, old->partition_count, next.count,
						   (const char *const *)next.keys, (const char *const *)next.values);
	rc = meta_topic_store(topics, topic, errmsg);
	if (rc < 0) {
		meta_topic_free_shell(topic);
		goto out;
	}
	meta_topics_replace(topics, old, topic);
	char what[512];
	describe_changes(what, sizeof(what), n, changes);
	log_info("meta", "topic %s: configs %s (%s)", name, replace ? "replaced" : "altered", what);
out:
	meta_kv_free(&next);
	meta_topic_put(topics, old);
	pthread_mutex_unlock(&topics->admin_mu);
	return rc;
}

/* Recomputes every topic's log settings from the broker's current defaults
 * and publishes the topics whose settings changed. admin_mu held. */
static void meta_topics_reconfigure(struct meta_topics *topics)
{
	struct meta_topic **list;
	int count = meta_topic_list(topics, &list);
	int changed = 0;
	for (int i = 0; i < count; i++) {
		struct meta_topic *old = list[i];
		struct log_config lc;
		meta_topic_log_config(topics->cfg, old->config_count, (const char *const *)old->config_keys,
				      (const char *const *)old->config_values, &lc);
		if (!meta_log_config_differs(&lc, &old->log_config))
			continue;
		struct meta_topic *topic = meta_topic_copy(topics, old, old->partition_count, old->config_count,
							   (const char *const *)old->config_keys,
							   (const char *const *)old->config_values);
		meta_topics_replace(topics, old, topic);
		changed++;
	}
	meta_topic_list_free(topics, list, count);
	if (changed)
		log_info("meta", "new broker defaults applied to %d topic%s", changed, changed == 1 ? "" : "s");
}

static int broker_rule_validate(void *ctx, const char *key, const char *value, char errmsg[ERRMSG_SIZE])
{
	(void)ctx;
	if (!config_is_dynamic(key)) {
		if (config_is_known(key))
			err_printf(errmsg, "Cannot update these configs dynamically: %s", key);
		else
			err_printf(errmsg, "Unknown broker config: %s", key);
		return -SAMSA_EINVAL_CONFIG;
	}
	if (!value)
		return 0;
	if (strpbrk(value, "\r\n")) {
		err_printf(errmsg, "Invalid value for configuration %s: line breaks are not allowed", key);
		return -SAMSA_EINVAL_CONFIG;
	}
	return config_validate(key, value, errmsg);
}

static bool broker_rule_is_list(const char *key)
{
	return config_known_type(key) == CONFIG_VALUE_LIST;
}

static const char *broker_rule_base(void *ctx, const char *key, char *buf, size_t size)
{
	struct meta_topics *topics = ctx;
	(void)buf;
	(void)size;
	return config_static_get(topics->cfg, key);
}

int meta_broker_alter_configs(struct meta_topics *topics, enum config_layer layer, bool replace, int n,
			      const struct meta_config_change *changes, bool validate_only, char errmsg[ERRMSG_SIZE])
{
	pthread_mutex_lock(&topics->admin_mu);
	const char **lkeys[2], **lvalues[2];
	int lcount[2];
	for (int l = 0; l < 2; l++)
		lcount[l] = config_dynamic_list(topics->cfg, (enum config_layer)l, &lkeys[l], &lvalues[l]);
	struct meta_kv cur = {lcount[layer], (char **)lkeys[layer], (char **)lvalues[layer]};
	struct meta_kv next = {0};
	struct meta_config_rules rules = {broker_rule_validate, broker_rule_is_list, broker_rule_base, topics};
	int rc = meta_config_merge(&cur, replace, n, changes, &rules, &next, errmsg);
	if (rc < 0 || validate_only)
		goto out;

	/* Store both layers as they will be, then apply. */
	int other = layer == CONFIG_LAYER_BROKER ? CONFIG_LAYER_DEFAULT : CONFIG_LAYER_BROKER;
	int total = lcount[other] + next.count, k = 0;
	struct broker_config_entry *entries = xcalloc((size_t)total + 1, sizeof(*entries));
	for (int l = 0; l < 2; l++) {
		if (l == (int)layer) {
			for (int i = 0; i < next.count; i++)
				entries[k++] = (struct broker_config_entry){(enum config_layer)l, next.keys[i], next.values[i]};
		} else {
			for (int i = 0; i < lcount[l]; i++)
				entries[k++] = (struct broker_config_entry){(enum config_layer)l, (char *)lkeys[l][i],
									    (char *)lvalues[l][i]};
		}
	}
	rc = topic_store_save_broker(topics->data_dir, entries, k, errmsg);
	free(entries);
	if (rc < 0)
		goto out;
	char why[ERRMSG_SIZE];
	for (int i = 0; i < cur.count; i++) {
		bool kept = false;
		for (int j = 0; j < next.count && !kept; j++)
			kept = strcmp(cur.keys[i], next.keys[j]) == 0;
		if (!kept)
			config_dynamic_set(topics->cfg, layer, cur.keys[i], NULL, why);
	}
	for (int j = 0; j < next.count; j++)
		if (config_dynamic_set(topics->cfg, layer, next.keys[j], next.values[j], why) < 0)
			log_error("meta", "applying dynamic broker config %s: %s", next.keys[j], why);
	char what[512];
	describe_changes(what, sizeof(what), n, changes);
	log_info("meta", "dynamic broker configs (%s) %s: %s",
		 layer == CONFIG_LAYER_BROKER ? "this broker" : "cluster default", replace ? "replaced" : "altered",
		 what);
	const char *level = config_get(topics->cfg, "log.level");
	if (level && log_level_parse(level) >= 0)
		log_set_level((enum log_level)log_level_parse(level));
	meta_topics_reconfigure(topics);
out:
	meta_kv_free(&next);
	for (int l = 0; l < 2; l++) {
		free(lkeys[l]);
		free(lvalues[l]);
	}
	pthread_mutex_unlock(&topics->admin_mu);
	return rc;
}
