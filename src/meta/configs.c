/* Config changes and descriptions for the admin APIs.
 *
 * meta_config_merge() is the one place Kafka's change semantics live:
 * AlterConfigs hands over a resource's complete set of overrides, while
 * IncrementalAlterConfigs edits it key by key, APPEND and SUBTRACT treating a
 * list value (cleanup.policy) as a set of comma-separated items. The result
 * is validated here and stored and applied by the caller (meta/topics.c).
 *
 * The describe functions rebuild Kafka's view of a key: its effective value,
 * where that comes from (a topic override, this broker's or the cluster's
 * dynamic config, the static config, or the built-in default) and, as
 * synonyms, every layer that sets it, highest precedence first. A topic key
 * falls back to its broker synonym (retention.ms -> log.retention.ms, whose
 * own synonyms are log.retention.minutes and log.retention.hours). */
#include "meta/configs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/xalloc.h"
#include "meta/topic_config.h"
#include "meta/topics.h"

/* ---- sets of overrides ----------------------------------------------------- */

void meta_kv_free(struct meta_kv *kv)
{
	for (int i = 0; i < kv->count; i++) {
		free(kv->keys[i]);
		free(kv->values[i]);
	}
	free(kv->keys);
	free(kv->values);
	kv->count = 0;
	kv->keys = kv->values = NULL;
}

static int kv_find(const struct meta_kv *kv, const char *key)
{
	for (int i = 0; i < kv->count; i++)
		if (strcmp(kv->keys[i], key) == 0)
			return i;
	return -1;
}

/* Inserts or replaces key, keeping the set sorted. */
static void kv_put(struct meta_kv *kv, const char *key, const char *value)
{
	int i = kv_find(kv, key);
	if (i >= 0) {
		char *copy = xstrdup(value);
		free(kv->values[i]);
		kv->values[i] = copy;
		return;
	}
	int pos = 0;
	while (pos < kv->count && strcmp(kv->keys[pos], key) < 0)
		pos++;
	kv->keys = xrealloc(kv->keys, (size_t)(kv->count + 1) * sizeof(char *));
	kv->values = xrealloc(kv->values, (size_t)(kv->count + 1) * sizeof(char *));
	memmove(&kv->keys[pos + 1], &kv->keys[pos], (size_t)(kv->count - pos) * sizeof(char *));
	memmove(&kv->values[pos + 1], &kv->values[pos], (size_t)(kv->count - pos) * sizeof(char *));
	kv->keys[pos] = xstrdup(key);
	kv->values[pos] = xstrdup(value);
	kv->count++;
}

static void kv_del(struct meta_kv *kv, const char *key)
{
	int i = kv_find(kv, key);
	if (i < 0)
		return;
	free(kv->keys[i]);
	free(kv->values[i]);
	memmove(&kv->keys[i], &kv->keys[i + 1], (size_t)(kv->count - i - 1) * sizeof(char *));
	memmove(&kv->values[i], &kv->values[i + 1], (size_t)(kv->count - i - 1) * sizeof(char *));
	kv->count--;
}

/* ---- list values ----------------------------------------------------------- */

struct items {
	char **v;
	int n;
};

/* Splits a comma-separated list into trimmed, non-empty items. */
static void items_split(const char *s, struct items *out)
{
	out->v = NULL;
	out->n = 0;
	while (s && *s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		const char *p = s;
		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (len) {
			out->v = xrealloc(out->v, (size_t)(out->n + 1) * sizeof(char *));
			out->v[out->n++] = xstrndup(p, len);
		}
		s = comma ? comma + 1 : NULL;
	}
}

static int items_find(const struct items *it, const char *s)
{
	for (int i = 0; i < it->n; i++)
		if (strcmp(it->v[i], s) == 0)
			return i;
	return -1;
}

static char *items_join(const struct items *it)
{
	size_t len = 1;
	for (int i = 0; i < it->n; i++)
		len += strlen(it->v[i]) + 1;
	char *out = xmalloc(len), *p = out;
	*p = '\0';
	for (int i = 0; i < it->n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", it->v[i]);
	return out;
}

static void items_free(struct items *it)
{
	for (int i = 0; i < it->n; i++)
		free(it->v[i]);
	free(it->v);
}

/* APPEND / SUBTRACT of the items of arg to/from the list current. */
static char *list_edit(const char *current, const char *arg, bool append)
{
	struct items cur, add;
	items_split(current, &cur);
	items_split(arg, &add);
	for (int i = 0; i < add.n; i++) {
		int at = items_find(&cur, add.v[i]);
		if (append && at < 0) {
			cur.v = xrealloc(cur.v, (size_t)(cur.n + 1) * sizeof(char *));
			cur.v[cur.n++] = xstrdup(add.v[i]);
		} else if (!append && at >= 0) {
			free(cur.v[at]);
			memmove(&cur.v[at], &cur.v[at + 1], (size_t)(cur.n - at - 1) * sizeof(char *));
			cur.n--;
		}
	}
	char *out = items_join(&cur);
	items_free(&cur);
	items_free(&add);
	return out;
}

/* ---- merge ----------------------------------------------------------------- */

static int merge_one(struct meta_kv *work, const struct meta_config_change *ch, const struct meta_config_rules *rules,
		     char errmsg[ERRMSG_SIZE])
{
	int rc = rules->validate(rules->ctx, ch->key, NULL, errmsg);
	if (rc < 0)
		return rc;
	switch (ch->op) {
	case META_CONFIG_SET:
		if (!ch->value) {
			err_printf(errmsg, "Null value not supported for : %s", ch->key);
			return -EINVAL;
		}
		rc = rules->validate(rules->ctx, ch->key, ch->value, errmsg);
		if (rc == 0)
			kv_put(work, ch->key, ch->value);
		return rc;
	case META_CONFIG_DELETE:
		kv_del(work, ch->key);
		return 0;
	case META_CONFIG_APPEND:
	case META_CONFIG_SUBTRACT: {
		bool append = ch->op == META_CONFIG_APPEND;
		if (!rules->is_list(ch->key)) {
			err_printf(errmsg, "Can't %s to key %s because its type is not LIST.",
				   append ? "APPEND" : "SUBTRACT", ch->key);
			return -SAMSA_EINVAL_CONFIG;
		}
		if (!ch->value) {
			err_printf(errmsg, "Null value not supported for : %s", ch->key);
			return -EINVAL;
		}
		char buf[64];
		int at = kv_find(work, ch->key);
		const char *current = at >= 0 ? work->values[at] : rules->base(rules->ctx, ch->key, buf, sizeof(buf));
		char *edited = list_edit(current ? current : "", ch->value, append);
		rc = rules->validate(rules->ctx, ch->key, edited, errmsg);
		if (rc == 0)
			kv_put(work, ch->key, edited);
		free(edited);
		return rc;
	}
	default:
		err_printf(errmsg, "Unknown config operation type %d for %s", ch->op, ch->key);
		return -EINVAL;
	}
}

int meta_config_merge(const struct meta_kv *cur, bool replace, int n, const struct meta_config_change *changes,
		      const struct meta_config_rules *rules, struct meta_kv *out, char errmsg[ERRMSG_SIZE])
{
	*out = (struct meta_kv){0};
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < i; j++) {
			if (strcmp(changes[i].key, changes[j].key) == 0) {
				err_printf(errmsg, "Error due to duplicate config keys: %s", changes[i].key);
				return -EINVAL;
			}
		}
	}
	struct meta_kv work = {0};
	if (!replace)
		for (int i = 0; i < cur->count; i++)
			kv_put(&work, cur->keys[i], cur->values[i]);
	for (int i = 0; i < n; i++) {
		const struct meta_config_change *ch = &changes[i];
		int rc;
		if (replace) {
			/* AlterConfigs: the new complete set; a null value leaves the key out. */
			rc = rules->validate(rules->ctx, ch->key, ch->value, errmsg);
			if (rc == 0 && ch->value)
				kv_put(&work, ch->key, ch->value);
		} else {
			rc = merge_one(&work, ch, rules, errmsg);
		}
		if (rc < 0) {
			meta_kv_free(&work);
			return rc;
		}
	}
	*out = work;
	return 0;
}

int meta_config_broker_layer(int32_t node_id, const char *name, enum config_layer *layer,
			     char errmsg[ERRMSG_SIZE])
{
	if (!name || !*name) {
		*layer = CONFIG_LAYER_DEFAULT;
		return 0;
	}
	char *end;
	errno = 0;
	long long id = strtoll(name, &end, 10);
	if (errno || *end || end == name) {
		err_printf(errmsg, "Broker id must be an integer, but it is: %.100s", name);
		return -EINVAL;
	}
	if (id != node_id) {
		err_printf(errmsg, "Unexpected broker id, expected %d or empty string, but received %.100s", node_id,
			   name);
		return -EINVAL;
	}
	*layer = CONFIG_LAYER_BROKER;
	return 0;
}

int meta_config_alter(struct meta_topics *topics, int32_t node_id, int8_t resource_type, const char *name,
		      bool replace, int n, const struct meta_config_change *changes, bool validate_only,
		      char errmsg[ERRMSG_SIZE])
{
	for (int i = 0; i < n; i++) {
		if (!changes[i].key) {
			err_printf(errmsg, "Config name is null");
			return -EINVAL;
		}
	}
	if (resource_type == META_RESOURCE_TOPIC) {
		if (!name || !meta_topic_name_valid(name, errmsg)) {
			if (!name)
				err_printf(errmsg, "Topic name is null");
			return -SAMSA_ENOTFOUND;
		}
		return meta_topic_alter_configs(topics, name, replace, n, changes, validate_only, errmsg);
	}
	if (resource_type == META_RESOURCE_BROKER) {
		enum config_layer layer;
		int rc = meta_config_broker_layer(node_id, name, &layer, errmsg);
		if (rc < 0)
			return rc;
		return meta_broker_alter_configs(topics, layer, replace, n, changes, validate_only, errmsg);
	}
	err_printf(errmsg, "Unsupported resource type: %d", resource_type);
	return -EINVAL;
}

/* ---- describe -------------------------------------------------------------- */

#define MAX_SYNONYMS 8

struct describe {
	struct arena *arena;
	const struct config *cfg;
	struct meta_config_synonym syn[MAX_SYNONYMS];
	int n;
};

static const char *arena_dup(struct arena *arena, const char *s)
{
	return s ? arena_strndup(arena, s, strlen(s)) : NULL;
}

static void syn_add(struct describe *d, const char *name, const char *value, int8_t source)
{
	if (d->n == MAX_SYNONYMS)
		return;
	d->syn[d->n++] = (struct meta_config_synonym){arena_dup(d->arena, name), arena_dup(d->arena, value), source};
}

/* Broker keys whose value another, less precise key can give (Kafka lists
 * them as synonyms): the first of each group is the one that wins. */
static const char *const *broker_synonym_group(const char *key)
{
	static const char *const retention[] = {"log.retention.ms", "log.retention.minutes", "log.retention.hours", NULL};
	static const char *const roll[] = {"log.roll.ms", "log.roll.hours", NULL};
	static const char *const flush[] = {"log.flush.interval.ms", "log.flush.scheduler.interval.ms", NULL};
	static const char *const dirs[] = {"log.dirs", "log.dir", NULL};
	static const char *const *const groups[] = {retention, roll, flush, dirs};
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(groups[i][0], key) == 0)
			return groups[i];
	return NULL;
}

/* Appends the layers that set broker key `key`, highest precedence first.
 * Returns true if a DEFAULT_CONFIG synonym was added. */
static bool broker_synonyms(struct describe *d, const char *key)
{
	const char *v;
	if ((v = config_dynamic_get(d->cfg, CONFIG_LAYER_BROKER, key)))
		syn_add(d, key, v, META_SOURCE_DYNAMIC_BROKER);
	if ((v = config_dynamic_get(d->cfg, CONFIG_LAYER_DEFAULT, key)))
		syn_add(d, key, v, META_SOURCE_DYNAMIC_DEFAULT_BROKER);
	const char *const single[] = {key, NULL};
	const char *const *group = broker_synonym_group(key);
	if (!group)
		group = single;
	for (int i = 0; group[i]; i++)
		if (config_is_set(d->cfg, group[i]))
			syn_add(d, group[i], config_static_get(d->cfg, group[i]), META_SOURCE_STATIC_BROKER);
	for (int i = 0; group[i]; i++) {
		if ((v = config_known_default(group[i]))) {
			syn_add(d, group[i], v, META_SOURCE_DEFAULT);
			return true;
		}
	}
	return false;
}

static void entry_finish(struct describe *d, struct meta_config_entry *e, const char *name, const char *value)
{
	e->name = arena_dup(d->arena, name);
	e->source = d->n ? d->syn[0].source : META_SOURCE_DEFAULT;
	e->value = e->sensitive ? NULL : arena_dup(d->arena, value);
	e->synonyms_count = d->n;
	e->synonyms = arena_alloc(d->arena, sizeof(*e->synonyms) * (size_t)(d->n ? d->n : 1));
	for (int i = 0; i < d->n; i++) {
		e->synonyms[i] = d->syn[i];
		if (e->sensitive)
			e->synonyms[i].value = NULL;
	}
	d->n = 0;
}

int meta_config_describe_topic(struct meta_topics *topics, const char *name, struct arena *arena,
			       struct meta_config_entry **out)
{
	struct meta_topic *topic = meta_topic_get(topics, name);
	if (!topic)
		return -SAMSA_ENOTFOUND;
	struct describe d = {.arena = arena, .cfg = meta_topics_config(topics)};
	int count = meta_topic_config_count();
	struct meta_config_entry *entries = arena_alloc(arena, sizeof(*entries) * (size_t)count);
	for (int i = 0; i < count; i++) {
		const char *key = meta_topic_config_key(i);
		struct meta_config_entry *e = &entries[i];
		memset(e, 0, sizeof(*e));
		e->type = (int8_t)meta_topic_config_type(key);
		const char *value = NULL;
		for (int j = 0; j < topic->config_count; j++) {
			if (strcmp(topic->config_keys[j], key) == 0) {
				value = topic->config_values[j];
				syn_add(&d, key, value, META_SOURCE_DYNAMIC_TOPIC);
			}
		}
		const char *bkey = meta_topic_config_broker_key(key);
		if (bkey && !broker_synonyms(&d, bkey))
			syn_add(&d, bkey, meta_topic_config_builtin_default(key), META_SOURCE_DEFAULT);
		char buf[32];
		if (!value)
			value = meta_topic_config_default(d.cfg, key, buf, sizeof(buf));
		entry_finish(&d, e, key, value);
	}
	meta_topic_put(topics, topic);
	*out = entries;
	return count;
}

static int8_t broker_type(const char *key)
{
	if (config_is_sensitive(key))
		return META_CONFIG_TYPE_PASSWORD;
	switch (config_known_type(key)) {
	case CONFIG_VALUE_LIST: return META_CONFIG_TYPE_LIST;
	case CONFIG_VALUE_BOOL: return META_CONFIG_TYPE_BOOLEAN;
	case CONFIG_VALUE_SHORT: return META_CONFIG_TYPE_SHORT;
	case CONFIG_VALUE_INT: return META_CONFIG_TYPE_INT;
	case CONFIG_VALUE_LONG: return META_CONFIG_TYPE_LONG;
	case CONFIG_VALUE_STRING: break;
	}
	return META_CONFIG_TYPE_STRING;
}

int meta_config_describe_broker(const struct config *cfg, bool cluster_default, struct arena *arena,
				struct meta_config_entry **out)
{
	struct describe d = {.arena = arena, .cfg = cfg};
	if (cluster_default) {
		const char **keys, **values;
		int n = config_dynamic_list(cfg, CONFIG_LAYER_DEFAULT, &keys, &values);
		struct meta_config_entry *entries = arena_alloc(arena, sizeof(*entries) * (size_t)(n ? n : 1));
		for (int i = 0; i < n; i++) {
			struct meta_config_entry *e = &entries[i];
			memset(e, 0, sizeof(*e));
			e->type = broker_type(keys[i]);
			e->sensitive = config_is_sensitive(keys[i]);
			syn_add(&d, keys[i], values[i], META_SOURCE_DYNAMIC_DEFAULT_BROKER);
			entry_finish(&d, e, keys[i], values[i]);
		}
		free(keys);
		free(values);
		*out = entries;
		return n;
	}
	int count = config_known_count();
	struct meta_config_entry *entries = arena_alloc(arena, sizeof(*entries) * (size_t)count);
	for (int i = 0; i < count; i++) {
		const char *key = config_known_name(i);
		struct meta_config_entry *e = &entries[i];
		memset(e, 0, sizeof(*e));
		e->type = broker_type(key);
		e->sensitive = config_is_sensitive(key);
		e->read_only = !config_is_dynamic(key);
		broker_synonyms(&d, key);
		entry_finish(&d, e, key, config_get(cfg, key));
	}
	*out = entries;
	return count;
}
