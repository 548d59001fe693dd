/* The topic registry: names, ids, partition logs and per-topic configs.
 *
 * Persisted under the data dir: each partition is a Kafka-layout directory
 * <topic>-<n>/, and each topic's id and config overrides live in
 * __samsa_meta/<topic>.properties (written tmp + fsync + rename), so topics
 * and their configs survive restarts. Thread-safe: a rwlock guards the map;
 * topics are refcounted so a reader keeps one alive across a concurrent delete. */
#ifndef SAMSA_META_TOPICS_H
#define SAMSA_META_TOPICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "log/partition.h"

struct config;
struct log_flusher;
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
	 * deleted (its data goes when the last reference does). */
	atomic_int refs;
	bool deleted;
};

/* Opens every topic found under data_dir (recovering its partitions).
 * Returns NULL with errmsg on failure. */
struct meta_topics *meta_topics_open(const char *data_dir, const struct config *cfg,
				     struct log_flusher *flusher, char errmsg[ERRMSG_SIZE]);
void meta_topics_close(struct meta_topics *topics);

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
