/* Topic-level configuration: Kafka's topic config keys, their validation, and
 * the resulting struct log_config (broker defaults overridden per topic). */
#ifndef SAMSA_META_TOPIC_CONFIG_H
#define SAMSA_META_TOPIC_CONFIG_H

#include <stddef.h>

#include "base/err.h"
#include "log/partition.h"

struct config;

/* meta_topic_config_validate() is declared in meta/topics.h. */

/* Fills out from the broker's log.* defaults in cfg (may be NULL: Kafka's
 * built-in defaults), then applies the topic overrides keys[i]=values[i]
 * (already validated). */
void meta_topic_log_config(const struct config *cfg, int count, const char *const *keys,
			   const char *const *values, struct log_config *out);

/* The broker default of a topic config key as a string (in buf if computed),
 * or NULL if the key is unknown or has no broker-level default. */
const char *meta_topic_config_default(const struct config *cfg, const char *key, char *buf, size_t size);

/* The known topic config keys, for DescribeConfigs. */
int meta_topic_config_count(void);
const char *meta_topic_config_key(int index);

#endif
