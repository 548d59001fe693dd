/* Broker configuration: a table of the keys Samsa knows (Kafka's names, types
 * and defaults) and a sorted store of every key with a value.
 *
 * Known keys start at their default and are type-checked when set; unknown
 * keys are stored as given so a Kafka server.properties loads unchanged (the
 * caller logs them once with config_is_known()). A few Kafka keys are derived
 * from others when not set themselves, and are recomputed after every set:
 *   log.dirs              <- log.dir
 *   node.id               <- broker.id (when >= 0)
 *   log.retention.ms      <- log.retention.minutes <- log.retention.hours
 *   log.roll.ms           <- log.roll.hours
 *   log.flush.interval.ms <- log.flush.scheduler.interval.ms
 * so readers ask for the most precise key only. */
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/xalloc.h"

enum config_type { CFG_STRING, CFG_LIST, CFG_BOOL, CFG_SHORT, CFG_INT, CFG_LONG };

typedef int (*config_check_fn)(const char *value, char errmsg[ERRMSG_SIZE]);

struct config_key {
	const char *name;
	enum config_type type;
	const char *def; /* NULL: no value unless set (or derived) */
	int64_t min;
	int64_t max;
	config_check_fn check;
};

struct config_entry {
	char *key;
	char *value;
	bool is_set; /* given explicitly (file, env or --set), not a default */
	const struct config_key *known;
};

/* One dynamic layer: sorted keys and their values, all interned in
 * config.dyn_strings so a returned pointer outlives a later change. */
struct config_dyn {
	const char **keys;
	const char **values;
	int count;
	int cap;
};

struct config {
	struct config_entry *entries; /* sorted by key; static after start-up */
	int count;
	int cap;
	pthread_rwlock_t dyn_lock;    /* guards dyn[] and dyn_strings */
	struct config_dyn dyn[2];     /* by enum config_layer */
	atomic_int dyn_count;         /* entries in both layers: 0 skips the lock */
	char **dyn_strings;           /* every dynamic key and value ever stored */
	int dyn_nstrings;
	int dyn_strings_cap;
};

#define I16_MAX 32767
#define I32_MAX 2147483647
#define I64_MAX INT64_MAX
#define I64_MAX_STR "9223372036854775807"

static int check_log_level(const char *value, char errmsg[ERRMSG_SIZE]);
static int check_timestamp_type(const char *value, char errmsg[ERRMSG_SIZE]);
static int check_compression(const char *value, char errmsg[ERRMSG_SIZE]);
static int check_cleanup_policy(const char *value, char errmsg[ERRMSG_SIZE]);

/* Sorted by name (binary search). */
static const struct config_key known_keys[] = {
	{"advertised.listeners", CFG_LIST, "", 0, 0, NULL},
	{"auto.create.topics.enable", CFG_BOOL, "true", 0, 0, NULL},
	{"auto.leader.rebalance.enable", CFG_BOOL, "true", 0, 0, NULL},
	{"broker.id", CFG_INT, "-1", -1, I32_MAX, NULL},
	{"compression.type", CFG_STRING, "producer", 0, 0, check_compression},
	{"connections.max.idle.ms", CFG_LONG, "600000", -1, I64_MAX, NULL},
	{"controller.listener.names", CFG_LIST, "", 0, 0, NULL},
	{"controller.quorum.voters", CFG_LIST, "", 0, 0, NULL},
	{"default.replication.factor", CFG_INT, "1", 1, I16_MAX, NULL},
	{"delete.topic.enable", CFG_BOOL, "true", 0, 0, NULL},
	{"fetch.max.bytes", CFG_INT, "57671680", 1024, I32_MAX, NULL},
	{"group.initial.rebalance.delay.ms", CFG_INT, "3000", 0, I32_MAX, NULL},
	{"group.max.session.timeout.ms", CFG_INT, "1800000", 0, I32_MAX, NULL},
	{"group.max.size", CFG_INT, "2147483647", 1, I32_MAX, NULL},
	{"group.min.session.timeout.ms", CFG_INT, "6000", 0, I32_MAX, NULL},
	{"inter.broker.listener.name", CFG_STRING, "", 0, 0, NULL},
	{"listener.security.protocol.map", CFG_LIST,
	 "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", 0, 0, NULL},
	{"listeners", CFG_LIST, "PLAINTEXT://:9092", 0, 0, NULL},
	{"log.cleaner.backoff.ms", CFG_LONG, "15000", 0, I64_MAX, NULL},
	{"log.cleaner.delete.retention.ms", CFG_LONG, "86400000", 0, I64_MAX, NULL},
	{"log.cleaner.enable", CFG_BOOL, "true", 0, 0, NULL},
	{"log.cleaner.min.cleanable.ratio", CFG_STRING, "0.5", 0, 0, NULL},
	{"log.cleaner.min.compaction.lag.ms", CFG_LONG, "0", 0, I64_MAX, NULL},
	{"log.cleanup.policy", CFG_LIST, "delete", 0, 0, check_cleanup_policy},
	{"log.dir", CFG_STRING, "./data", 0, 0, NULL},
	{"log.dirs", CFG_LIST, "./data", 0, 0, NULL},
	{"log.flush.interval.messages", CFG_LONG, I64_MAX_STR, 1, I64_MAX, NULL},
	{"log.flush.interval.ms", CFG_LONG, I64_MAX_STR, 0, I64_MAX, NULL},
	{"log.flush.scheduler.interval.ms", CFG_LONG, I64_MAX_STR, 0, I64_MAX, NULL},
	{"log.index.interval.bytes", CFG_INT, "4096", 0, I32_MAX, NULL},
	{"log.index.size.max.bytes", CFG_INT, "10485760", 4, I32_MAX, NULL},
	{"log.level", CFG_STRING, "info", 0, 0, check_log_level},
	{"log.message.timestamp.type", CFG_STRING, "CreateTime", 0, 0, check_timestamp_type},
	{"log.retention.bytes", CFG_LONG, "-1", INT64_MIN, I64_MAX, NULL},
	{"log.retention.check.interval.ms", CFG_LONG, "300000", 1, I64_MAX, NULL},
	{"log.retention.hours", CFG_INT, "168", INT32_MIN, I32_MAX, NULL},
	{"log.retention.minutes", CFG_INT, NULL, INT32_MIN, I32_MAX, NULL},
	{"log.retention.ms", CFG_LONG, "604800000", INT64_MIN, I64_MAX, NULL},
	{"log.roll.hours", CFG_INT, "168", 1, I32_MAX, NULL},
	{"log.roll.ms", CFG_LONG, "604800000", 1, I64_MAX, NULL},
	{"log.segment.bytes", CFG_INT, "1073741824", 14, I32_MAX, NULL},
	{"max.connections", CFG_INT, "2147483647", 0, I32_MAX, NULL},
	{"max.connections.per.ip", CFG_INT, "2147483647", 0, I32_MAX, NULL},
	{"message.max.bytes", CFG_INT, "1048588", 0, I32_MAX, NULL},
	{"min.insync.replicas", CFG_INT, "1", 1, I32_MAX, NULL},
	{"node.id", CFG_INT, "1", 0, I32_MAX, NULL},
	{"num.io.threads", CFG_INT, "8", 1, I32_MAX, NULL},
	{"num.network.threads", CFG_INT, "0", 0, 1024, NULL},
	{"num.partitions", CFG_INT, "1", 1, I32_MAX, NULL},
	{"num.recovery.threads.per.data.dir", CFG_INT, "1", 1, I32_MAX, NULL},
	{"offset.metadata.max.bytes", CFG_INT, "4096", 0, I32_MAX, NULL},
	{"offsets.retention.check.interval.ms", CFG_INT, "600000", 1, I32_MAX, NULL},
	{"offsets.retention.minutes", CFG_INT, "10080", 1, I32_MAX, NULL},
	{"offsets.topic.num.partitions", CFG_INT, "50", 1, I32_MAX, NULL},
	{"offsets.topic.replication.factor", CFG_SHORT, "3", 1, I16_MAX, NULL},
	{"offsets.topic.segment.bytes", CFG_INT, "104857600", 1, I32_MAX, NULL},
	{"process.roles", CFG_LIST, "", 0, 0, NULL},
	{"producer.id.expiration.ms", CFG_INT, "86400000", 1, I32_MAX, NULL},
	{"queued.max.requests", CFG_INT, "500", 1, I32_MAX, NULL},
	{"socket.receive.buffer.bytes", CFG_INT, "102400", -1, I32_MAX, NULL},
	{"socket.request.max.bytes", CFG_INT, "104857600", 1, I32_MAX, NULL},
	{"socket.send.buffer.bytes", CFG_INT, "102400", -1, I32_MAX, NULL},
	{"transaction.abort.timed.out.transaction.cleanup.interval.ms", CFG_INT, "10000", 1, I32_MAX, NULL},
	{"transaction.max.timeout.ms", CFG_INT, "900000", 1, I32_MAX, NULL},
	{"transaction.remove.expired.transaction.cleanup.interval.ms", CFG_INT, "3600000", 1, I32_MAX, NULL},
	{"transaction.state.log.load.buffer.size", CFG_INT, "5242880", 1, I32_MAX, NULL},
	{"transaction.state.log.min.isr", CFG_INT, "2", 1, I32_MAX, NULL},
	{"transaction.state.log.num.partitions", CFG_INT, "50", 1, I32_MAX, NULL},
	{"transaction.state.log.replication.factor", CFG_SHORT, "3", 1, I16_MAX, NULL},
	{"transaction.state.log.segment.bytes", CFG_INT, "104857600", 1, I32_MAX, NULL},
	{"transactional.id.expiration.ms", CFG_INT, "604800000", 1, I32_MAX, NULL},
	{"unclean.leader.election.enable", CFG_BOOL, "false", 0, 0, NULL},
};

#define KNOWN_COUNT ((int)(sizeof(known_keys) / sizeof(known_keys[0])))

/* Known keys that may change at runtime (DescribeConfigs says read_only for
 * the rest). Kafka's dynamic log defaults, plus a few Samsa reads per request
 * anyway (topic creation defaults). Sorted. */
static const char *const dynamic_keys[] = {
	"auto.create.topics.enable",
	"compression.type",
	"default.replication.factor",
	"log.cleanup.policy",
	"log.flush.interval.messages",
	"log.flush.interval.ms",
	"log.index.interval.bytes",
	"log.index.size.max.bytes",
	"log.level",
	"log.message.timestamp.type",
	"log.retention.bytes",
	"log.retention.ms",
	"log.roll.ms",
	"log.segment.bytes",
	"message.max.bytes",
	"min.insync.replicas",
	"num.partitions",
	"unclean.leader.election.enable",
};

static const struct config_key *known_find(const char *key)
{
	int lo = 0, hi = KNOWN_COUNT - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(key, known_keys[mid].name);
		if (c == 0)
			return &known_keys[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

bool config_is_known(const char *key)
{
	return known_find(key) != NULL;
}

bool config_is_sensitive(const char *key)
{
	return strstr(key, "password") || strstr(key, "secret") || strstr(key, "jaas.config") ||
	       strstr(key, "credentials") || strstr(key, ".key");
}

/* ---- value checks --------------------------------------------------------- */

static int check_log_level(const char *value, char errmsg[ERRMSG_SIZE])
{
	if (log_level_parse(value) < 0) {
		err_printf(errmsg, "expected one of debug, info, warn, error");
		return -1;
	}
	return 0;
}

static int check_one_of(const char *value, const char *const *names, const char *what, char errmsg[ERRMSG_SIZE])
{
	for (int i = 0; names[i]; i++)
		if (strcmp(value, names[i]) == 0)
			return 0;
	err_printf(errmsg, "expected %s", what);
	return -1;
}

static int check_timestamp_type(const char *value, char errmsg[ERRMSG_SIZE])
{
	static const char *const names[] = {"CreateTime", "LogAppendTime", NULL};
	return check_one_of(value, names, "CreateTime or LogAppendTime", errmsg);
}

static int check_compression(const char *value, char errmsg[ERRMSG_SIZE])
{
	static const char *const names[] = {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd", NULL};
	return check_one_of(value, names, "one of producer, uncompressed, gzip, snappy, lz4, zstd", errmsg);
}

static int check_cleanup_policy(const char *value, char errmsg[ERRMSG_SIZE])
{
	const char *p = value;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		while (len && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (!((len == 6 && strncmp(p, "delete", 6) == 0) || (len == 7 && strncmp(p, "compact", 7) == 0))) {
			err_printf(errmsg, "expected a list of delete and/or compact");
			return -1;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* Appends s to the message in errmsg, truncating at ERRMSG_SIZE. */
static void msg_append(char errmsg[ERRMSG_SIZE], const char *s)
{
	size_t len = strnlen(errmsg, ERRMSG_SIZE - 1);
	size_t n = strlen(s);
	if (n > ERRMSG_SIZE - 1 - len)
		n = ERRMSG_SIZE - 1 - len;
	memcpy(errmsg + len, s, n);
	errmsg[len + n] = '\0';
}

/* Parses a whole (already trimmed) decimal integer. */
static bool parse_int64(const char *s, int64_t *out)
{
	if (!*s)
		return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0) {
		*out = true;
		return true;
	}
	if (strcasecmp(s, "false") == 0) {
		*out = false;
		return true;
	}
	return false;
}

static int validate(const struct config_key *known, const char *value, char errmsg[ERRMSG_SIZE])
{
	char why[ERRMSG_SIZE] = "";
	int64_t v;
	bool b;
	switch (known->type) {
	case CFG_BOOL:
		if (!parse_bool(value, &b)) {
			err_printf(errmsg, "%s: expected true or false, got '%s'", known->name, value);
			return -SAMSA_EINVAL_CONFIG;
		}
		break;
	case CFG_SHORT:
	case CFG_INT:
	case CFG_LONG:
		if (!parse_int64(value, &v)) {
			err_printf(errmsg, "%s: expected an integer, got '%s'", known->name, value);
			return -SAMSA_EINVAL_CONFIG;
		}
		if (v < known->min || v > known->max) {
			err_printf(errmsg, "%s: %s is out of range [%" PRId64 ", %" PRId64 "]", known->name, value,
				   known->min, known->max);
			return -SAMSA_EINVAL_CONFIG;
		}
		break;
	case CFG_STRING:
	case CFG_LIST:
		break;
	}
	if (known->check && known->check(value, why) < 0) {
		err_printf(errmsg, "%s: invalid value '%s': ", known->name, value);
		msg_append(errmsg, why);
		return -SAMSA_EINVAL_CONFIG;
	}
	return 0;
}

/* ---- the store ------------------------------------------------------------ */

static int entry_index(const struct config *cfg, const char *key, bool *found)
{
	int lo = 0, hi = cfg->count - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(key, cfg->entries[mid].key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

static struct config_entry *entry_find(const struct config *cfg, const char *key)
{
	bool found;
	int i = entry_index(cfg, key, &found);
	return found ? &cfg->entries[i] : NULL;
}

/* Stores value under key (creating the entry), without validation. */
static struct config_entry *entry_put(struct config *cfg, const char *key, const char *value, bool is_set)
{
	bool found;
	int i = entry_index(cfg, key, &found);
	if (!found) {
		if (cfg->count == cfg->cap) {
			cfg->cap = cfg->cap ? cfg->cap * 2 : 128;
			cfg->entries = xrealloc(cfg->entries, (size_t)cfg->cap * sizeof(*cfg->entries));
		}
		memmove(&cfg->entries[i + 1], &cfg->entries[i], (size_t)(cfg->count - i) * sizeof(*cfg->entries));
		cfg->count++;
		cfg->entries[i] = (struct config_entry){xstrdup(key), NULL, false, known_find(key)};
	}
	struct config_entry *entry = &cfg->entries[i];
	free(entry->value);
	entry->value = xstrdup(value);
	entry->is_set = is_set;
	return entry;
}

/* Gives a derived key the value of its source unless it was set itself. */
static void derive(struct config *cfg, const char *key, const char *value)
{
	struct config_entry *entry = entry_find(cfg, key);
	if (entry && entry->is_set)
		return;
	if (!entry || strcmp(entry->value, value) != 0)
		entry_put(cfg, key, value, false);
}

static bool is_set(const struct config *cfg, const char *key)
{
	const struct config_entry *entry = entry_find(cfg, key);
	return entry && entry->is_set;
}

static void derive_scaled(struct config *cfg, const char *key, const char *from, int64_t factor)
{
	char buf[32];
	int64_t v = config_get_int(cfg, from);
	/* Kafka: a negative retention means unlimited, whatever the unit. */
	int64_t scaled = v < 0 ? -1 : v > INT64_MAX / factor ? INT64_MAX : v * factor;
	snprintf(buf, sizeof(buf), "%" PRId64, scaled);
	derive(cfg, key, buf);
}

static void config_derive(struct config *cfg)
{
	if (is_set(cfg, "log.dir") && !is_set(cfg, "log.dirs"))
		derive(cfg, "log.dirs", config_get(cfg, "log.dir"));
	else
		derive(cfg, "log.dirs", known_find("log.dirs")->def);

	if (is_set(cfg, "broker.id") && config_get_int(cfg, "broker.id") >= 0)
		derive(cfg, "node.id", config_get(cfg, "broker.id"));
	else
		derive(cfg, "node.id", known_find("node.id")->def);

	if (is_set(cfg, "log.retention.minutes"))
		derive_scaled(cfg, "log.retention.ms", "log.retention.minutes", 60000);
	else
		derive_scaled(cfg, "log.retention.ms", "log.retention.hours", 3600000);

	derive_scaled(cfg, "log.roll.ms", "log.roll.hours", 3600000);
	derive(cfg, "log.flush.interval.ms", config_get(cfg, "log.flush.scheduler.interval.ms"));
}

struct config *config_new(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	pthread_rwlock_init(&cfg->dyn_lock, NULL);
	atomic_init(&cfg->dyn_count, 0);
	for (int i = 0; i < KNOWN_COUNT; i++) {
		if (i > 0 && strcmp(known_keys[i - 1].name, known_keys[i].name) >= 0) {
			log_error("config", "known key table not sorted at %s", known_keys[i].name);
			abort();
		}
		if (known_keys[i].def)
			entry_put(cfg, known_keys[i].name, known_keys[i].def, false);
	}
	config_derive(cfg);
	return cfg;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (int i = 0; i < cfg->count; i++) {
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	for (int i = 0; i < 2; i++) {
		free(cfg->dyn[i].keys);
		free(cfg->dyn[i].values);
	}
	for (int i = 0; i < cfg->dyn_nstrings; i++)
		free(cfg->dyn_strings[i]);
	free(cfg->dyn_strings);
	pthread_rwlock_destroy(&cfg->dyn_lock);
	free(cfg);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

int config_set(struct config *cfg, const char *key, const char *value, char errmsg[ERRMSG_SIZE])
{
	char *kcopy = xstrdup(key);
	char *vcopy = xstrdup(value);
	char *k = trim(kcopy);
	char *v = trim(vcopy);
	int rc = 0;
	if (!*k) {
		err_printf(errmsg, "empty config key");
		rc = -SAMSA_EINVAL_CONFIG;
		goto out;
	}
	const struct config_key *known = known_find(k);
	if (known && (rc = validate(known, v, errmsg)) < 0)
		goto out;
	entry_put(cfg, k, v, true);
	config_derive(cfg);
out:
	free(kcopy);
	free(vcopy);
	return rc;
}

/* ---- dynamic layers -------------------------------------------------------- */

static int dyn_index(const struct config_dyn *d, const char *key, bool *found)
{
	int lo = 0, hi = d->count - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(key, d->keys[mid]);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

/* The dynamic value of key (broker layer, then default layer), or NULL. */
static const char *dyn_value(const struct config *cfg, const char *key)
{
	if (atomic_load_explicit(&cfg->dyn_count, memory_order_acquire) == 0)
		return NULL;
	pthread_rwlock_t *lock = (pthread_rwlock_t *)&cfg->dyn_lock; /* a lock is mutable state */
	const char *value = NULL;
	pthread_rwlock_rdlock(lock);
	for (int layer = CONFIG_LAYER_BROKER; layer >= CONFIG_LAYER_DEFAULT && !value; layer--) {
		bool found;
		int i = dyn_index(&cfg->dyn[layer], key, &found);
		if (found)
			value = cfg->dyn[layer].values[i];
	}
	pthread_rwlock_unlock(lock);
	return value;
}

/* A copy of s that lives until config_free(). dyn_lock held for writing. */
static const char *dyn_intern(struct config *cfg, const char *s)
{
	if (cfg->dyn_nstrings == cfg->dyn_strings_cap) {
		cfg->dyn_strings_cap = cfg->dyn_strings_cap ? cfg->dyn_strings_cap * 2 : 32;
		cfg->dyn_strings = xrealloc(cfg->dyn_strings, (size_t)cfg->dyn_strings_cap * sizeof(char *));
	}
	char *copy = xstrdup(s);
	cfg->dyn_strings[cfg->dyn_nstrings++] = copy;
	return copy;
}

bool config_is_dynamic(const char *key)
{
	int lo = 0, hi = (int)(sizeof(dynamic_keys) / sizeof(dynamic_keys[0])) - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(key, dynamic_keys[mid]);
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return false;
}

int config_validate(const char *key, const char *value, char errmsg[ERRMSG_SIZE])
{
	const struct config_key *known = known_find(key);
	if (!known) {
		err_printf(errmsg, "Unknown broker config: %s", key);
		return -SAMSA_EINVAL_CONFIG;
	}
	if (!value) {
		err_printf(errmsg, "Null value not supported for broker config %s", key);
		return -SAMSA_EINVAL_CONFIG;
	}
	return validate(known, value, errmsg);
}

int config_dynamic_set(struct config *cfg, enum config_layer layer, const char *key, const char *value,
		       char errmsg[ERRMSG_SIZE])
{
	if (!config_is_dynamic(key)) {
		if (known_find(key))
			err_printf(errmsg, "Cannot update these configs dynamically: %s", key);
		else
			err_printf(errmsg, "Unknown broker config: %s", key);
		return -SAMSA_EINVAL_CONFIG;
	}
	int rc = value ? config_validate(key, value, errmsg) : 0;
	if (rc < 0)
		return rc;
	struct config_dyn *d = &cfg->dyn[layer];
	pthread_rwlock_wrlock(&cfg->dyn_lock);
	bool found;
	int i = dyn_index(d, key, &found);
	if (!value) {
		if (found) {
			memmove(&d->keys[i], &d->keys[i + 1], (size_t)(d->count - i - 1) * sizeof(*d->keys));
			memmove(&d->values[i], &d->values[i + 1], (size_t)(d->count - i - 1) * sizeof(*d->values));
			d->count--;
			atomic_fetch_sub(&cfg->dyn_count, 1);
		}
	} else if (found) {
		if (strcmp(d->values[i], value) != 0)
			d->values[i] = dyn_intern(cfg, value);
	} else {
		if (d->count == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 16;
			d->keys = xrealloc(d->keys, (size_t)d->cap * sizeof(*d->keys));
			d->values = xrealloc(d->values, (size_t)d->cap * sizeof(*d->values));
		}
		memmove(&d->keys[i + 1], &d->keys[i], (size_t)(d->count - i) * sizeof(*d->keys));
		memmove(&d->values[i + 1], &d->values[i], (size_t)(d->count - i) * sizeof(*d->values));
		d->keys[i] = dyn_intern(cfg, key);
		d->values[i] = dyn_intern(cfg, value);
		d->count++;
		atomic_fetch_add(&cfg->dyn_count, 1);
	}
	pthread_rwlock_unlock(&cfg->dyn_lock);
	return 0;
}

const char *config_dynamic_get(const struct config *cfg, enum config_layer layer, const char *key)
{
	pthread_rwlock_t *lock = (pthread_rwlock_t *)&cfg->dyn_lock;
	pthread_rwlock_rdlock(lock);
	bool found;
	int i = dyn_index(&cfg->dyn[layer], key, &found);
	const char *value = found ? cfg->dyn[layer].values[i] : NULL;
	pthread_rwlock_unlock(lock);
	return value;
}

int config_dynamic_list(const struct config *cfg, enum config_layer layer, const char ***keys,
			const char ***values)
{
	pthread_rwlock_t *lock = (pthread_rwlock_t *)&cfg->dyn_lock;
	pthread_rwlock_rdlock(lock);
	const struct config_dyn *d = &cfg->dyn[layer];
	int n = d->count;
	*keys = xcalloc((size_t)n + 1, sizeof(char *));
	*values = xcalloc((size_t)n + 1, sizeof(char *));
	if (n) {
		memcpy(*keys, d->keys, (size_t)n * sizeof(char *));
		memcpy(*values, d->values, (size_t)n * sizeof(char *));
	}
	pthread_rwlock_unlock(lock);
	return n;
}

const char *config_static_get(const struct config *cfg, const char *key)
{
	const struct config_entry *entry = entry_find(cfg, key);
	return entry ? entry->value : NULL;
}

int config_known_count(void)
{
	return KNOWN_COUNT;
}

const char *config_known_name(int index)
{
	return index >= 0 && index < KNOWN_COUNT ? known_keys[index].name : NULL;
}

const char *config_known_default(const char *key)
{
	const struct config_key *known = known_find(key);
	return known ? known->def : NULL;
}

enum config_value_type config_known_type(const char *key)
{
	const struct config_key *known = known_find(key);
	switch (known ? known->type : CFG_STRING) {
	case CFG_LIST: return CONFIG_VALUE_LIST;
	case CFG_BOOL: return CONFIG_VALUE_BOOL;
	case CFG_SHORT: return CONFIG_VALUE_SHORT;
	case CFG_INT: return CONFIG_VALUE_INT;
	case CFG_LONG: return CONFIG_VALUE_LONG;
	case CFG_STRING: break;
	}
	return CONFIG_VALUE_STRING;
}

const char *config_get(const struct config *cfg, const char *key)
{
	const char *value = dyn_value(cfg, key);
	if (value)
		return value;
	const struct config_entry *entry = entry_find(cfg, key);
	return entry ? entry->value : NULL;
}

bool config_is_set(const struct config *cfg, const char *key)
{
	return is_set(cfg, key);
}

static const struct config_entry *typed_entry(const struct config *cfg, const char *key, bool want_bool)
{
	const struct config_entry *entry = entry_find(cfg, key);
	const struct config_key *known = known_find(key);
	bool type_ok = known && (want_bool ? known->type == CFG_BOOL
					   : (known->type == CFG_SHORT || known->type == CFG_INT ||
					      known->type == CFG_LONG));
	if (!type_ok) {
		log_error("config", "programming error: %s is not a known %s key", key, want_bool ? "boolean" : "integer");
		abort();
	}
	return entry;
}

int64_t config_get_int(const struct config *cfg, const char *key)
{
	const struct config_entry *entry = typed_entry(cfg, key, false);
	const char *value = dyn_value(cfg, key);
	int64_t v = 0;
	if (value || entry)
		parse_int64(value ? value : entry->value, &v); /* validated when set */
	return v;
}

bool config_get_bool(const struct config *cfg, const char *key)
{
	const struct config_entry *entry = typed_entry(cfg, key, true);
	const char *value = dyn_value(cfg, key);
	bool b = false;
	if (value || entry)
		parse_bool(value ? value : entry->value, &b);
	return b;
}

int config_list(const struct config *cfg, const char **keys, const char **values, int max)
{
	for (int i = 0; i < cfg->count && i < max; i++) {
		keys[i] = cfg->entries[i].key;
		values[i] = cfg->entries[i].value;
	}
	return cfg->count;
}

/* ---- properties files ----------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sbuf_putc(struct sbuf *sb, char c)
{
	if (sb->len + 1 >= sb->cap) {
		sb->cap = sb->cap ? sb->cap * 2 : 128;
		sb->p = xrealloc(sb->p, sb->cap);
	}
	sb->p[sb->len++] = c;
	sb->p[sb->len] = '\0';
}

static void sbuf_put_utf8(struct sbuf *sb, unsigned cp)
{
	if (cp < 0x80) {
		sbuf_putc(sb, (char)cp);
	} else if (cp < 0x800) {
		sbuf_putc(sb, (char)(0xc0 | (cp >> 6)));
		sbuf_putc(sb, (char)(0x80 | (cp & 0x3f)));
	} else {
		sbuf_putc(sb, (char)(0xe0 | (cp >> 12)));
		sbuf_putc(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sbuf_putc(sb, (char)(0x80 | (cp & 0x3f)));
	}
}

/* A line ending in an odd number of backslashes continues on the next. */
static bool line_continues(const char *line, size_t len)
{
	size_t n = 0;
	while (n < len && line[len - 1 - n] == '\\')
		n++;
	return n % 2 == 1;
}

/* Splits one logical line (continuations already joined, escapes intact) into
 * key and value with Java's rules: the key ends at the first unescaped '=',
 * ':' or whitespace; whitespace and one separator after it are skipped. */
static void parse_logical_line(const char *s, struct sbuf *key, struct sbuf *value)
{
	struct sbuf *out = key;
	bool in_value = false;
	while (isspace((unsigned char)*s))
		s++;
	while (*s) {
		char c = *s++;
		if (!in_value && (c == '=' || c == ':' || isspace((unsigned char)c))) {
			while (isspace((unsigned char)*s))
				s++;
			if (isspace((unsigned char)c) && (*s == '=' || *s == ':')) {
				s++;
				while (isspace((unsigned char)*s))
					s++;
			}
			in_value = true;
			out = value;
			continue;
		}
		if (c == '\\' && *s) {
			c = *s++;
			switch (c) {
			case 't': sbuf_putc(out, '\t'); break;
			case 'n': sbuf_putc(out, '\n'); break;
			case 'r': sbuf_putc(out, '\r'); break;
			case 'f': sbuf_putc(out, '\f'); break;
			case 'u': {
				unsigned cp = 0;
				int i;
				for (i = 0; i < 4 && isxdigit((unsigned char)s[i]); i++)
					cp = cp * 16 + (unsigned)(isdigit((unsigned char)s[i]) ? s[i] - '0'
										 : (tolower((unsigned char)s[i]) - 'a' + 10));
				if (i == 4) {
					sbuf_put_utf8(out, cp);
					s += 4;
				} else {
					sbuf_putc(out, 'u');
				}
				break;
			}
			default: sbuf_putc(out, c); break;
			}
			continue;
		}
		sbuf_putc(out, c);
	}
}

static int load_line(struct config *cfg, const char *logical, const char *path, int line,
		     char errmsg[ERRMSG_SIZE])
{
	struct sbuf key = {0}, value = {0};
	char why[ERRMSG_SIZE];
	parse_logical_line(logical ? logical : "", &key, &value);
	int rc = config_set(cfg, key.p ? key.p : "", value.p ? value.p : "", why);
	free(key.p);
	free(value.p);
	if (rc < 0) {
		err_printf(errmsg, "%s:%d: ", path, line);
		msg_append(errmsg, why);
	}
	return rc;
}

int config_load_file(struct config *cfg, const char *path, char errmsg[ERRMSG_SIZE])
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int err = errno;
		err_printf(errmsg, "cannot open %s: %s", path, strerror(err));
		return -err;
	}
	char *line = NULL;
	size_t line_cap = 0;
	ssize_t n;
	int lineno = 0, start_line = 0;
	struct sbuf logical = {0};
	bool continuing = false;
	int rc = 0;
	while ((n = getline(&line, &line_cap, f)) >= 0) {
		lineno++;
		size_t len = (size_t)n;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		line[len] = '\0';
		const char *p = line;
		if (continuing) {
			while (isspace((unsigned char)*p))
				p++;
			len -= (size_t)(p - line);
		} else {
			while (isspace((unsigned char)*p))
				p++;
			len -= (size_t)(p - line);
			if (*p == '\0' || *p == '#' || *p == '!')
				continue;
			start_line = lineno;
			logical.len = 0;
			if (logical.p)
				logical.p[0] = '\0';
		}
		continuing = line_continues(p, len);
		for (size_t i = 0; i < len - (continuing ? 1 : 0); i++)
			sbuf_putc(&logical, p[i]);
		if (continuing)
			continue;
		rc = load_line(cfg, logical.p, path, start_line, errmsg);
		if (rc < 0)
			break;
	}
	if (rc == 0 && continuing && logical.len) /* the file ended in a continuation */
		rc = load_line(cfg, logical.p, path, start_line, errmsg);
	if (rc == 0 && ferror(f)) {
		int err = errno;
		err_printf(errmsg, "reading %s: %s", path, strerror(err));
		rc = -err;
	}
	free(logical.p);
	free(line);
	fclose(f);
	return rc;
}

/* ---- environment ---------------------------------------------------------- */

/* KAFKA_* variables that configure the JVM or the image, not the broker. */
static const char *const env_excluded[] = {
	"KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
	"KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL",
	"KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL", "KAFKA_JMX_HOSTNAME", "KAFKA_JMX_PORT",
	"KAFKA_HOME", "KAFKA_DEBUG", "KAFKA_CLASSPATH", NULL,
};

bool config_env_to_key(const char *name, char *out, size_t out_size)
{
	static const char prefix[] = "KAFKA_";
	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0 || !out_size)
		return false;
	for (int i = 0; env_excluded[i]; i++)
		if (strcmp(name, env_excluded[i]) == 0)
			return false;
	const char *s = name + sizeof(prefix) - 1;
	if (!*s)
		return false;
	size_t o = 0;
	while (*s) {
		char c;
		if (*s == '_') {
			int run = 0;
			while (s[run] == '_' && run < 3)
				run++;
			c = run == 3 ? '-' : run == 2 ? '_' : '.';
			s += run;
		} else {
			c = (char)tolower((unsigned char)*s++);
		}
		if (o + 1 >= out_size)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

int config_load_env(struct config *cfg, char **envp, char errmsg[ERRMSG_SIZE])
{
	for (char **e = envp; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		char name[256], key[256];
		size_t nlen = (size_t)(eq - *e);
		if (nlen >= sizeof(name))
			continue;
		memcpy(name, *e, nlen);
		name[nlen] = '\0';
		if (!config_env_to_key(name, key, sizeof(key)))
			continue;
		char why[ERRMSG_SIZE];
		int rc = config_set(cfg, key, eq + 1, why);
		if (rc < 0) {
			err_printf(errmsg, "environment ");
			msg_append(errmsg, name);
			msg_append(errmsg, ": ");
			msg_append(errmsg, why);
			return rc;
		}
	}
	return 0;
}
