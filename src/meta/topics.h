/* The topic registry: names, ids, partition logs and per-topic configs.
 *
 * Persisted under the data dir: each partition is a Kafka-layout directory
 * <topic>-<n>/, and each topic's id, partition count and config overrides
 * live in __samsa_meta/<topic>.properties (written tmp + fsync + rename), so
 * topics and their configs survive restarts; so do the broker's dynamic
 * configs (__samsa_meta/broker.config). Thread-safe: a rwlock guards the map;
 * topics are refcounted so a reader keeps one alive across a concurrent delete.
 *
 * A struct meta_topic never changes once published: adding partitions or
 * changing configs publishes a new snapshot under the same name (sharing the
 * partition logs), so a reader holding the old one keeps a consistent view
 * (partition_count, partitions, configs, log_config) without locks. Changes
 * (create, delete, partitions, configs) are serialized among themselves. */
#ifndef SAMSA_META_TOPICS_H
#define SAMSA_META_TOPICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/err.h"
#include "log/partition.h"

struct log_flusher;
struct meta_config_change;
struct meta_topics;

struct meta_topic {
	char *name;
	uint8_t id[16];               /* topic id (UUID) */
	int32_t partition_count;
	struct log_partition **partitions;
	int config_count;             /* explicit overrides, as given */
	char **config_keys;
	char **config_values;
	struct log_config log_config; /* broker defaults + overrides */
	/* Registry-private: references held by readers, and whether the topic was
	 * deleted (its data goes when the last reference does). A snapshot
	 * replaced by a newer one holds a reference to it (successor), which owns
	 * the partition logs from then on. */
	atomic_int refs;
	bool deleted;
	struct meta_topic *successor;
};

/* Opens every topic found under data_dir (recovering its partitions), after
 * loading the stored dynamic broker configs into cfg's dynamic layers (they
 * are the topics' defaults). cfg must outlive the registry. Returns NULL with
 * errmsg on failure. */
struct meta_topics *meta_topics_open(const char *data_dir, struct config *cfg,
				     struct log_flusher *flusher, char errmsg[ERRMSG_SIZE]);
void meta_topics_close(struct meta_topics *topics);

/* Kafka's internal topics (__consumer_offsets, __transaction_state): marked
 * internal in Metadata, written only by the broker itself. */
bool meta_topic_is_internal(const char *name);

/* Kafka's topic name rule: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool meta_topic_name_valid(const char *name, char errmsg[ERRMSG_SIZE]);

/* Validates a topic config key/value (known topic keys, typed values).
 * Returns 0 or -SAMSA_EINVAL_CONFIG with errmsg. */
int meta_topic_config_validate(const char *key, const char *value, char errmsg[ERRMSG_SIZE]);

/* Creates a topic. partitions / replication_factor of -1 take the broker's
 * num.partitions / default.replication.factor. Errors (errmsg filled):
 * -SAMSA_EEXIST, -EINVAL (bad name), -ERANGE (bad partition count), -SAMSA_EINVAL_CONFIG,
 * -EDOM (replication factor larger than the live brokers), -errno (disk). With
 * validate_only nothing is created. */
int meta_topic_create(struct meta_topics *topics, const char *name, int32_t partitions,
		      int16_t replication_factor, int config_count, const char *const *config_keys,
		      const char *const *config_values, bool validate_only, char errmsg[ERRMSG_SIZE]);

/* Grows topic `name` to `count` partitions: the new partition directories
 * are created and opened, then the definition is stored, then the new
 * partitions are published. Errors (errmsg filled, Kafka's messages):
 * -SAMSA_ENOTFOUND, -ERANGE (count not above the current count, or over the
 * broker's limit: INVALID_PARTITIONS), -errno (disk). With validate_only only
 * checks. */
int meta_topic_add_partitions(struct meta_topics *topics, const char *name, int32_t count, bool validate_only,
			      char errmsg[ERRMSG_SIZE]);

/* Changes topic `name`'s config overrides (see meta_config_merge() in
 * meta/configs.h for replace and the operations), validated as
 * meta_topic_config_validate() does. Unless validate_only, the new set is
 * stored, then published, and the resulting log settings are applied to every
 * partition at once (log_partition_set_config()). Errors: -SAMSA_ENOTFOUND,
 * -EINVAL (duplicate key, unknown operation), -SAMSA_EINVAL_CONFIG, -errno. */
int meta_topic_alter_configs(struct meta_topics *topics, const char *name, bool replace, int n,
			     const struct meta_config_change *changes, bool validate_only, char errmsg[ERRMSG_SIZE]);

/* Changes the broker's dynamic configs in one layer (CONFIG_LAYER_BROKER for
 * the resource named by node.id, CONFIG_LAYER_DEFAULT for the cluster default
 * ""). Keys must be config_is_dynamic(); errors as meta_topic_alter_configs().
 * Unless validate_only, the result is stored (__samsa_meta/broker.config) and
 * applied at once: config_get() sees it, every topic's log settings are
 * recomputed and pushed to its partitions, and log.level takes effect. */
int meta_broker_alter_configs(struct meta_topics *topics, enum config_layer layer, bool replace, int n,
			      const struct meta_config_change *changes, bool validate_only, char errmsg[ERRMSG_SIZE]);

/* One log cleaner round (log/cleaner.h, log_cleaner_round_fn; arg is the
 * registry): cleans every partition of the topics whose cleanup.policy
 * contains "compact", with their delete.retention.ms, min.compaction.lag.ms
 * and min.cleanable.dirty.ratio. Returns early once *stop is set. */
void meta_topics_clean_round(void *topics, const atomic_bool *stop);

/* The broker configuration the registry was opened with. */
struct config *meta_topics_config(struct meta_topics *topics);

/* The value topic runs with for topic config key: its override, else the
 * broker's default (meta_topic_config_default(), which may use buf). NULL for
 * an unknown key. Lock-free: topic is an immutable snapshot. */
const char *meta_topic_config_value(struct meta_topics *topics, const struct meta_topic *topic, const char *key,
				    char *buf, size_t size);

/* Deletes a topic and its data. -SAMSA_ENOTFOUND if it does not exist. */
int meta_topic_delete(struct meta_topics *topics, const char *name);

/* A referenced topic, or NULL. Release with meta_topic_put(). */
struct meta_topic *meta_topic_get(struct meta_topics *topics, const char *name);
struct meta_topic *meta_topic_get_by_id(struct meta_topics *topics, const uint8_t id[16]);
void meta_topic_put(struct meta_topics *topics, struct meta_topic *topic);

/* All topics, referenced, sorted by name; release with meta_topic_list_free(). */
int meta_topic_list(struct meta_topics *topics, struct meta_topic ***out);
void meta_topic_list_free(struct meta_topics *topics, struct meta_topic **list, int count);

#endif
