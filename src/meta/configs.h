/* Config changes and descriptions for the admin APIs (AlterConfigs,
 * IncrementalAlterConfigs, DescribeConfigs), for topics and the broker.
 *
 * A change set is applied to a resource's current overrides by
 * meta_config_merge() (Kafka's semantics: AlterConfigs replaces the whole set,
 * IncrementalAlterConfigs applies SET / DELETE / APPEND / SUBTRACT key by
 * key), then validated, persisted and applied by meta_topic_alter_configs()
 * or meta_broker_alter_configs() (meta/topics.h). A description lists
 * every known key with its effective value and where it comes from, the way
 * Kafka's DescribeConfigs does (sources, synonyms, types). */
#ifndef SAMSA_META_CONFIGS_H
#define SAMSA_META_CONFIGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/err.h"

struct arena;
struct meta_topics;

/* IncrementalAlterConfigs operations, by Kafka's OpType value. */
enum meta_config_op {
	META_CONFIG_SET = 0,
	META_CONFIG_DELETE = 1,
	META_CONFIG_APPEND = 2,
	META_CONFIG_SUBTRACT = 3,
};

struct meta_config_change {
	const char *key;
	const char *value; /* NULL: a null value on the wire */
	int op;            /* enum meta_config_op; AlterConfigs gives SET */
};

/* A set of overrides (malloc'd strings, sorted by key). */
struct meta_kv {
	int count;
	char **keys;
	char **values;
};

void meta_kv_free(struct meta_kv *kv);

/* What a resource accepts. validate(key, NULL) checks only that the key may
 * be set (it is also asked before a DELETE); base() gives the value APPEND and
 * SUBTRACT start from when the key has no override (buf may hold it). */
struct meta_config_rules {
	int (*validate)(void *ctx, const char *key, const char *value, char errmsg[ERRMSG_SIZE]);
	bool (*is_list)(const char *key);
	const char *(*base)(void *ctx, const char *key, char *buf, size_t size);
	void *ctx;
};

/* Applies changes to cur into *out (allocated; meta_kv_free() it). With
 * replace (AlterConfigs), out is exactly the SET changes with a non-null
 * value; otherwise (IncrementalAlterConfigs) each change edits cur: SET
 * replaces, DELETE removes, APPEND adds the comma-separated items not yet in
 * the list, SUBTRACT removes them (list keys only). Errors, with errmsg:
 * -EINVAL (duplicate key, unknown operation: Kafka's INVALID_REQUEST),
 * -SAMSA_EINVAL_CONFIG (unknown key, bad value, APPEND/SUBTRACT on a non-list
 * key). */
int meta_config_merge(const struct meta_kv *cur, bool replace, int n, const struct meta_config_change *changes,
		      const struct meta_config_rules *rules, struct meta_kv *out, char errmsg[ERRMSG_SIZE]);

/* Which dynamic layer a broker resource name means for node node_id: ""
 * is the cluster default, the node id this broker's own. Anything else is
 * -EINVAL with Kafka's message (an INVALID_REQUEST). */
int meta_config_broker_layer(int32_t node_id, const char *name, enum config_layer *layer,
			     char errmsg[ERRMSG_SIZE]);

/* Kafka's ConfigResource types, by value. */
enum meta_config_resource {
	META_RESOURCE_TOPIC = 2,
	META_RESOURCE_BROKER = 4,
};

/* One resource of an AlterConfigs (replace) or IncrementalAlterConfigs
 * request: a topic by name, or this broker (node_id, or "" for the cluster
 * default). Errors, with errmsg: -SAMSA_ENOTFOUND (no such topic), -EINVAL
 * (INVALID_REQUEST: another broker, an unsupported resource type, duplicate
 * keys, an unknown operation), -SAMSA_EINVAL_CONFIG, -errno (disk). */
int meta_config_alter(struct meta_topics *topics, int32_t node_id, int8_t resource_type, const char *name,
		      bool replace, int n, const struct meta_config_change *changes, bool validate_only,
		      char errmsg[ERRMSG_SIZE]);

/* ---- DescribeConfigs ------------------------------------------------------ */

/* Kafka's DescribeConfigs config sources, by value. */
enum meta_config_source {
	META_SOURCE_UNKNOWN = 0,
	META_SOURCE_DYNAMIC_TOPIC = 1,
	META_SOURCE_DYNAMIC_BROKER = 2,
	META_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
	META_SOURCE_STATIC_BROKER = 4,
	META_SOURCE_DEFAULT = 5,
};

struct meta_config_synonym {
	const char *name;
	const char *value; /* NULL for a sensitive key */
	int8_t source;
};

struct meta_config_entry {
	const char *name;
	const char *value; /* effective value; NULL if none or sensitive */
	int8_t source;     /* enum meta_config_source */
	int8_t type;       /* enum meta_config_type (meta/topic_config.h) */
	bool read_only;
	bool sensitive;
	int synonyms_count; /* in precedence order, the effective one first */
	struct meta_config_synonym *synonyms;
};

/* Every topic config key of topic `name`: its override (DYNAMIC_TOPIC_CONFIG)
 * or the broker default it falls back to, with synonyms. Allocated from
 * arena. Returns the count, or -SAMSA_ENOTFOUND. */
int meta_config_describe_topic(struct meta_topics *topics, const char *name, struct arena *arena,
			       struct meta_config_entry **out);

/* Every known broker key with its effective value (read_only unless
 * dynamic). With cluster_default, only the cluster-wide dynamic defaults
 * (resource name ""), as Kafka answers for that resource. */
int meta_config_describe_broker(const struct config *cfg, bool cluster_default, struct arena *arena,
				struct meta_config_entry **out);

#endif
