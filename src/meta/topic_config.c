/* Topic-level configs: which keys exist, how their values are checked, and how
 * the broker's defaults plus a topic's overrides become a struct log_config.
 * Key names, ranges and defaults are Kafka's (TopicConfig / LogConfig). */
#include "meta/topic_config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strings.h>

#include "base/config.h"
#include "meta/topics.h"

enum topic_config_type { TC_LONG, TC_INT, TC_BOOL, TC_DOUBLE, TC_ENUM, TC_LIST, TC_STRING };

struct topic_config_def {
	const char *key;
	enum topic_config_type type;
	int64_t min;
	const char *choices; /* TC_ENUM / TC_LIST: comma-separated allowed values */
	const char *broker_key; /* broker config giving the default, or NULL */
	const char *dflt;       /* Kafka's built-in default */
};

#define TC_NOMIN INT64_MIN
#define TC_LONG_MAX "9223372036854775807"

/* Sorted by key. */
static const struct topic_config_def topic_config_defs[] = {
	{"cleanup.policy", TC_LIST, 0, "delete,compact", "log.cleanup.policy", "delete"},
	{"compression.type", TC_ENUM, 0, "uncompressed,zstd,lz4,snappy,gzip,producer", "compression.type", "producer"},
	{"delete.retention.ms", TC_LONG, 0, NULL, "log.cleaner.delete.retention.ms", "86400000"},
	{"file.delete.delay.ms", TC_LONG, 0, NULL, "log.segment.delete.delay.ms", "60000"},
	{"flush.messages", TC_LONG, 1, NULL, "log.flush.interval.messages", TC_LONG_MAX},
	{"flush.ms", TC_LONG, 0, NULL, "log.flush.interval.ms", TC_LONG_MAX},
	{"follower.replication.throttled.replicas", TC_STRING, 0, NULL, NULL, ""},
	{"index.interval.bytes", TC_INT, 0, NULL, "log.index.interval.bytes", "4096"},
	{"leader.replication.throttled.replicas", TC_STRING, 0, NULL, NULL, ""},
	{"local.retention.bytes", TC_LONG, -2, NULL, NULL, "-2"},
	{"local.retention.ms", TC_LONG, -2, NULL, NULL, "-2"},
	{"max.compaction.lag.ms", TC_LONG, 1, NULL, "log.cleaner.max.compaction.lag.ms", TC_LONG_MAX},
	{"max.message.bytes", TC_INT, 0, NULL, "message.max.bytes", "1048588"},
	{"message.downconversion.enable", TC_BOOL, 0, NULL, NULL, "true"},
	{"message.format.version", TC_STRING, 0, NULL, NULL, "3.0-IV1"},
	{"message.timestamp.after.max.ms", TC_LONG, 0, NULL, NULL, TC_LONG_MAX},
	{"message.timestamp.before.max.ms", TC_LONG, 0, NULL, NULL, TC_LONG_MAX},
	{"message.timestamp.difference.max.ms", TC_LONG, 0, NULL, NULL, TC_LONG_MAX},
	{"message.timestamp.type", TC_ENUM, 0, "CreateTime,LogAppendTime", "log.message.timestamp.type", "CreateTime"},
	{"min.cleanable.dirty.ratio", TC_DOUBLE, 0, NULL, "log.cleaner.min.cleanable.ratio", "0.5"},
	{"min.compaction.lag.ms", TC_LONG, 0, NULL, "log.cleaner.min.compaction.lag.ms", "0"},
	{"min.insync.replicas", TC_INT, 1, NULL, "min.insync.replicas", "1"},
	{"preallocate", TC_BOOL, 0, NULL, "log.preallocate", "false"},
	{"remote.storage.enable", TC_BOOL, 0, NULL, NULL, "false"},
	{"retention.bytes", TC_LONG, TC_NOMIN, NULL, "log.retention.bytes", "-1"},
	{"retention.ms", TC_LONG, -1, NULL, "log.retention.ms", "604800000"},
	{"segment.bytes", TC_INT, 14, NULL, "log.segment.bytes", "1073741824"},
	{"segment.index.bytes", TC_INT, 4, NULL, "log.index.size.max.bytes", "10485760"},
	{"segment.jitter.ms", TC_LONG, 0, NULL, "log.roll.jitter.ms", "0"},
	{"segment.ms", TC_LONG, 1, NULL, "log.roll.ms", "604800000"},
	{"unclean.leader.election.enable", TC_BOOL, 0, NULL, "unclean.leader.election.enable", "false"},
};

#define TOPIC_CONFIG_COUNT ((int)(sizeof(topic_config_defs) / sizeof(topic_config_defs[0])))

static const struct topic_config_def *topic_config_find(const char *key)
{
	int lo = 0, hi = TOPIC_CONFIG_COUNT - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(key, topic_config_defs[mid].key);
		if (c == 0)
			return &topic_config_defs[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool choice_allowed(const char *choices, const char *value, size_t len)
{
	const char *p = choices;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == len && strncmp(p, value, len) == 0)
			return true;
		p += n + (comma ? 1 : 0);
	}
	return false;
}

static int parse_long(const char *value, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(value, &end, 10);
	if (errno || end == value || *end)
		return -1;
	*out = v;
	return 0;
}

int meta_topic_config_validate(const char *key, const char *value, char errmsg[ERRMSG_SIZE])
{
	const struct topic_config_def *def = topic_config_find(key);
	if (!def) {
		err_printf(errmsg, "Unknown topic config name: %s", key);
		return -SAMSA_EINVAL_CONFIG;
	}
	if (!value) {
		err_printf(errmsg, "Null value not supported for topic config %s", key);
		return -SAMSA_EINVAL_CONFIG;
	}
	if (strpbrk(value, "\r\n")) {
		err_printf(errmsg, "Invalid value for configuration %s: line breaks are not allowed", key);
		return -SAMSA_EINVAL_CONFIG;
	}
	int64_t v;
	switch (def->type) {
	case TC_LONG:
	case TC_INT:
		if (parse_long(value, &v) ||
		    (def->type == TC_INT && (v < INT32_MIN || v > INT32_MAX))) {
			err_printf(errmsg, "Invalid value %s for configuration %s: Not a number of type %s",
				   value, key, def->type == TC_INT ? "INT" : "LONG");
			return -SAMSA_EINVAL_CONFIG;
		}
		if (def->min != TC_NOMIN && v < def->min) {
			err_printf(errmsg, "Invalid value %s for configuration %s: Value must be at least %lld",
				   value, key, (long long)def->min);
			return -SAMSA_EINVAL_CONFIG;
		}
		return 0;
	case TC_BOOL:
		if (strcasecmp(value, "true") && strcasecmp(value, "false")) {
			err_printf(errmsg, "Invalid value %s for configuration %s: Expected value to be either true or false",
				   value, key);
			return -SAMSA_EINVAL_CONFIG;
		}
		return 0;
	case TC_DOUBLE: {
		char *end;
		double d = strtod(value, &end);
		if (end == value || *end || d < 0 || d > 1) {
			err_printf(errmsg, "Invalid value %s for configuration %s: Value must be between 0 and 1",
				   value, key);
			return -SAMSA_EINVAL_CONFIG;
		}
		return 0;
	}
	case TC_ENUM:
		if (!choice_allowed(def->choices, value, strlen(value))) {
			err_printf(errmsg, "Invalid value %s for configuration %s: String must be one of: %s",
				   value, key, def->choices);
			return -SAMSA_EINVAL_CONFIG;
		}
		return 0;
	case TC_LIST: {
		const char *p = value;
		if (p[strspn(p, " ")] == '\0')
			return 0; /* an empty list */
		do {
			while (*p == ' ')
				p++;
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);
			while (n && p[n - 1] == ' ')
				n--;
			if (!choice_allowed(def->choices, p, n)) {
				err_printf(errmsg, "Invalid value %s for configuration %s: String must be one of: %s",
					   value, key, def->choices);
				return -SAMSA_EINVAL_CONFIG;
			}
			p = comma ? comma + 1 : NULL;
		} while (p);
		return 0;
	}
	case TC_STRING:
		return 0;
	}
	return 0;
}

/* The broker-level value of a topic key's default, as an integer, or dflt. */
static int64_t broker_int(const struct config *cfg, const char *key, int64_t dflt)
{
	const char *v = cfg ? config_get(cfg, key) : NULL;
	int64_t n;
	if (!v || !*v || parse_long(v, &n))
		return dflt;
	return n;
}

/* Kafka's time settings come in ms / minutes / hours flavours, ms winning. */
static int64_t broker_ms(const struct config *cfg, const char *prefix, int64_t dflt_hours)
{
	char key[64];
	snprintf(key, sizeof(key), "%s.ms", prefix);
	int64_t v = broker_int(cfg, key, INT64_MIN);
	if (v != INT64_MIN)
		return v;
	snprintf(key, sizeof(key), "%s.minutes", prefix);
	v = broker_int(cfg, key, INT64_MIN);
	if (v != INT64_MIN)
		return v * 60000;
	snprintf(key, sizeof(key), "%s.hours", prefix);
	return broker_int(cfg, key, dflt_hours) * 3600000;
}

void meta_topic_log_config(const struct config *cfg, int count, const char *const *keys,
			   const char *const *values, struct log_config *out)
{
	log_config_defaults(out);
	out->segment_bytes = broker_int(cfg, "log.segment.bytes", out->segment_bytes);
	out->segment_ms = broker_ms(cfg, "log.roll", 168);
	out->retention_ms = broker_ms(cfg, "log.retention", 168);
	out->retention_bytes = broker_int(cfg, "log.retention.bytes", out->retention_bytes);
	out->max_message_bytes = (int32_t)broker_int(cfg, "message.max.bytes", out->max_message_bytes);
	out->index_interval_bytes = (int32_t)broker_int(cfg, "log.index.interval.bytes", out->index_interval_bytes);
	out->segment_index_bytes = (int32_t)broker_int(cfg, "log.index.size.max.bytes", out->segment_index_bytes);
	out->flush_messages = broker_int(cfg, "log.flush.interval.messages", out->flush_messages);
	out->flush_ms = broker_int(cfg, "log.flush.interval.ms", out->flush_ms);
	const char *ts_type = cfg ? config_get(cfg, "log.message.timestamp.type") : NULL;
	out->timestamp_log_append = ts_type && strcmp(ts_type, "LogAppendTime") == 0;

	for (int i = 0; i < count; i++) {
		const char *k = keys[i], *v = values[i];
		int64_t n;
		if (!v)
			continue;
		if (strcmp(k, "message.timestamp.type") == 0) {
			out->timestamp_log_append = strcmp(v, "LogAppendTime") == 0;
			continue;
		}
		if (parse_long(v, &n))
			continue;
		if (strcmp(k, "segment.bytes") == 0)
			out->segment_bytes = n;
		else if (strcmp(k, "segment.ms") == 0)
			out->segment_ms = n;
		else if (strcmp(k, "retention.ms") == 0)
			out->retention_ms = n;
		else if (strcmp(k, "retention.bytes") == 0)
			out->retention_bytes = n;
		else if (strcmp(k, "max.message.bytes") == 0)
			out->max_message_bytes = (int32_t)n;
		else if (strcmp(k, "index.interval.bytes") == 0)
			out->index_interval_bytes = (int32_t)n;
		else if (strcmp(k, "segment.index.bytes") == 0)
			out->segment_index_bytes = (int32_t)n;
		else if (strcmp(k, "flush.messages") == 0)
			out->flush_messages = n;
		else if (strcmp(k, "flush.ms") == 0)
			out->flush_ms = n;
	}
}

const char *meta_topic_config_default(const struct config *cfg, const char *key, char *buf, size_t size)
{
	const struct topic_config_def *def = topic_config_find(key);
	if (!def)
		return NULL;
	if (strcmp(key, "retention.ms") == 0 || strcmp(key, "segment.ms") == 0) {
		int64_t ms = broker_ms(cfg, strcmp(key, "retention.ms") == 0 ? "log.retention" : "log.roll", 168);
		snprintf(buf, size, "%lld", (long long)ms);
		return buf;
	}
	const char *v = def->broker_key && cfg ? config_get(cfg, def->broker_key) : NULL;
	return v ? v : def->dflt;
}

const char *meta_topic_config_broker_key(const char *key)
{
	const struct topic_config_def *def = topic_config_find(key);
	return def ? def->broker_key : NULL;
}

const char *meta_topic_config_builtin_default(const char *key)
{
	const struct topic_config_def *def = topic_config_find(key);
	return def ? def->dflt : NULL;
}

enum meta_config_type meta_topic_config_type(const char *key)
{
	const struct topic_config_def *def = topic_config_find(key);
	if (!def)
		return META_CONFIG_TYPE_UNKNOWN;
	switch (def->type) {
	case TC_LONG: return META_CONFIG_TYPE_LONG;
	case TC_INT: return META_CONFIG_TYPE_INT;
	case TC_BOOL: return META_CONFIG_TYPE_BOOLEAN;
	case TC_DOUBLE: return META_CONFIG_TYPE_DOUBLE;
	case TC_LIST: return META_CONFIG_TYPE_LIST;
	case TC_ENUM:
	case TC_STRING: break;
	}
	return META_CONFIG_TYPE_STRING;
}

bool meta_topic_config_known(const char *key)
{
	return topic_config_find(key) != NULL;
}

int meta_topic_config_count(void)
{
	return TOPIC_CONFIG_COUNT;
}

const char *meta_topic_config_key(int index)
{
	return topic_config_defs[index].key;
}

bool meta_log_config_differs(const struct log_config *a, const struct log_config *b)
{
	return a->segment_bytes != b->segment_bytes || a->segment_ms != b->segment_ms ||
	       a->retention_ms != b->retention_ms || a->retention_bytes != b->retention_bytes ||
	       a->max_message_bytes != b->max_message_bytes || a->index_interval_bytes != b->index_interval_bytes ||
	       a->segment_index_bytes != b->segment_index_bytes || a->flush_messages != b->flush_messages ||
	       a->flush_ms != b->flush_ms || a->timestamp_log_append != b->timestamp_log_append;
}
