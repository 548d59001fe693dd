/* Topic-level configuration: Kafka's topic config keys, their validation, and
 * the resulting struct log_config (broker defaults overridden per topic). */
#ifndef SAMSA_META_TOPIC_CONFIG_H
#define SAMSA_META_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "log/partition.h"

struct config;

/* Kafka's ConfigEntry types (DescribeConfigs v3+ config_type), by value. */
enum meta_config_type {
	META_CONFIG_TYPE_UNKNOWN = 0,
	META_CONFIG_TYPE_BOOLEAN = 1,
	META_CONFIG_TYPE_STRING = 2,
	META_CONFIG_TYPE_INT = 3,
	META_CONFIG_TYPE_SHORT = 4,
	META_CONFIG_TYPE_LONG = 5,
	META_CONFIG_TYPE_DOUBLE = 6,
	META_CONFIG_TYPE_LIST = 7,
	META_CONFIG_TYPE_CLASS = 8,
	META_CONFIG_TYPE_PASSWORD = 9,
};

/* meta_topic_config_validate() is declared in meta/topics.h. */

/* Fills out from the broker's log.* defaults in cfg (may be NULL: Kafka's
 * built-in defaults), then applies the topic overrides keys[i]=values[i]
 * (already validated). */
void meta_topic_log_config(const struct config *cfg, int count, const char *const *keys,
			   const char *const *values, struct log_config *out);

/* The default of a topic config key as a string (in buf if computed): the
 * broker's value of its synonym (retention.ms <- log.retention.ms, ...) when
 * the broker has one, else Kafka's built-in default. NULL for an unknown key.
 * cfg may be NULL. */
const char *meta_topic_config_default(const struct config *cfg, const char *key, char *buf, size_t size);

/* The broker config key that gives a topic key its default, or NULL. */
const char *meta_topic_config_broker_key(const char *key);
/* Kafka's built-in default of a topic key, or NULL if unknown. */
const char *meta_topic_config_builtin_default(const char *key);
/* The type of a topic key; META_CONFIG_TYPE_UNKNOWN if the key is unknown. */
enum meta_config_type meta_topic_config_type(const char *key);
bool meta_topic_config_known(const char *key);

/* The known topic config keys, sorted, for DescribeConfigs. */
int meta_topic_config_count(void);
const char *meta_topic_config_key(int index);

/* True if the two configs differ in any setting. */
bool meta_log_config_differs(const struct log_config *a, const struct log_config *b);

#endif
