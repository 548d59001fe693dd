/* Topic and broker config admin: validation, the AlterConfigs /
 * IncrementalAlterConfigs merge rules, persistence across reopen, live
 * application (log settings of every partition, broker dynamic defaults),
 * DescribeConfigs sources and synonyms, and CreatePartitions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/config.h"
#include "meta/configs.h"
#include "meta/topic_config.h"
#include "meta/topics.h"

struct fixture {
	char dir[64];
	struct config *cfg;
	struct meta_topics *topics;
};

static struct config *fixture_config(void)
{
	char errmsg[ERRMSG_SIZE];
	struct config *cfg = config_new();
	assert_int_equal(config_set(cfg, "num.partitions", "2", errmsg), 0);
	assert_int_equal(config_set(cfg, "log.segment.bytes", "2000000", errmsg), 0);
	return cfg;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/samsa-metacfg-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->cfg = fixture_config();
	char errmsg[ERRMSG_SIZE];
	fx->topics = meta_topics_open(fx->dir, fx->cfg, NULL, errmsg);
	assert_non_null(fx->topics);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	meta_topics_close(fx->topics);
	config_free(fx->cfg);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* Closes and reopens the registry with a fresh static config (as a restart
 * does), so dynamic broker configs must come back from disk. */
static void restart(struct fixture *fx)
{
	char errmsg[ERRMSG_SIZE];
	meta_topics_close(fx->topics);
	config_free(fx->cfg);
	fx->cfg = fixture_config();
	fx->topics = meta_topics_open(fx->dir, fx->cfg, NULL, errmsg);
	assert_non_null(fx->topics);
}

static bool dir_exists(const struct fixture *fx, const char *name)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *topic_override(const struct meta_topic *topic, const char *key)
{
	for (int i = 0; i < topic->config_count; i++)
		if (strcmp(topic->config_keys[i], key) == 0)
			return topic->config_values[i];
	return NULL;
}

static const struct meta_config_entry *find_entry(const struct meta_config_entry *e, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return &e[i];
	return NULL;
}

/* ---- the key table ---------------------------------------------------------- */

static void test_topic_key_table(void **state)
{
	(void)state;
	char errmsg[ERRMSG_SIZE];
	int n = meta_topic_config_count();
	assert_true(n >= 30);
	for (int i = 0; i < n; i++) {
		const char *key = meta_topic_config_key(i);
		if (i > 0)
			assert_true(strcmp(meta_topic_config_key(i - 1), key) < 0); /* sorted: binary search */
		const char *dflt = meta_topic_config_builtin_default(key);
		assert_non_null(dflt);
		if (meta_topic_config_validate(key, dflt, errmsg) != 0)
			fail_msg("default of %s does not validate: %s", key, errmsg);
		assert_int_not_equal(meta_topic_config_type(key), META_CONFIG_TYPE_UNKNOWN);
	}
	assert_int_equal(meta_topic_config_type("cleanup.policy"), META_CONFIG_TYPE_LIST);
	assert_int_equal(meta_topic_config_type("retention.ms"), META_CONFIG_TYPE_LONG);
	assert_int_equal(meta_topic_config_type("nope"), META_CONFIG_TYPE_UNKNOWN);
	assert_string_equal(meta_topic_config_broker_key("retention.ms"), "log.retention.ms");
	assert_string_equal(meta_topic_config_broker_key("max.message.bytes"), "message.max.bytes");

	assert_int_equal(meta_topic_config_validate("retention.ms", "12x", errmsg), -SAMSA_EINVAL_CONFIG);
	assert_non_null(strstr(errmsg, "retention.ms"));
	assert_int_equal(meta_topic_config_validate("retention.ms", "-2", errmsg), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(meta_topic_config_validate("min.cleanable.dirty.ratio", "1.5", errmsg), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(meta_topic_config_validate("cleanup.policy", "compact, delete", errmsg), 0);
	assert_int_equal(meta_topic_config_validate("cleanup.policy", "", errmsg), 0);
	assert_int_equal(meta_topic_config_validate("cleanup.policy", "compact,forever", errmsg), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(meta_topic_config_validate("compression.type", "brotli", errmsg), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(meta_topic_config_validate("preallocate", "yes", errmsg), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(meta_topic_config_validate("leader.replication.throttled.replicas", "a\nb", errmsg),
			 -SAMSA_EINVAL_CONFIG);
	assert_int_equal(meta_topic_config_validate("no.such.key", "1", errmsg), -SAMSA_EINVAL_CONFIG);
	assert_string_equal(errmsg, "Unknown topic config name: no.such.key");

	/* Broker side. */
	assert_true(config_is_dynamic("log.retention.ms"));
	assert_true(config_is_dynamic("message.max.bytes"));
	assert_true(config_is_dynamic("auto.create.topics.enable"));
	assert_false(config_is_dynamic("listeners"));
	assert_false(config_is_dynamic("log.dirs"));
	assert_int_equal(config_validate("message.max.bytes", "-5", errmsg), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(config_validate("num.partitions", "4", errmsg), 0);
}

/* ---- merge ------------------------------------------------------------------ */

static int test_rule_validate(void *ctx, const char *key, const char *value, char errmsg[ERRMSG_SIZE])
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

static bool test_rule_is_list(const char *key)
{
	return meta_topic_config_type(key) == META_CONFIG_TYPE_LIST;
}

static const char *test_rule_base(void *ctx, const char *key, char *buf, size_t size)
{
	(void)ctx;
	return meta_topic_config_default(NULL, key, buf, size);
}

static const struct meta_config_rules test_rules = {test_rule_validate, test_rule_is_list, test_rule_base, NULL};

static const char *kv_get(const struct meta_kv *kv, const char *key)
{
	for (int i = 0; i < kv->count; i++)
		if (strcmp(kv->keys[i], key) == 0)
			return kv->values[i];
	return NULL;
}

static void test_merge_incremental(void **state)
{
	(void)state;
	char errmsg[ERRMSG_SIZE];
	char *ckeys[] = {"cleanup.policy", "retention.ms"};
	char *cvalues[] = {"delete", "1000"};
	struct meta_kv cur = {2, ckeys, cvalues};
	struct meta_kv out;

	struct meta_config_change ch[] = {
		{"cleanup.policy", "compact", META_CONFIG_APPEND},
		{"retention.ms", NULL, META_CONFIG_DELETE},
		{"segment.bytes", "1048576", META_CONFIG_SET},
	};
	assert_int_equal(meta_config_merge(&cur, false, 3, ch, &test_rules, &out, errmsg), 0);
	assert_int_equal(out.count, 2);
	assert_string_equal(out.keys[0], "cleanup.policy"); /* sorted */
	assert_string_equal(kv_get(&out, "cleanup.policy"), "delete,compact");
	assert_null(kv_get(&out, "retention.ms"));
	assert_string_equal(kv_get(&out, "segment.bytes"), "1048576");
	meta_kv_free(&out);

	/* APPEND of an item already there changes nothing; SUBTRACT removes. */
	struct meta_config_change sub[] = {{"cleanup.policy", "delete", META_CONFIG_SUBTRACT}};
	assert_int_equal(meta_config_merge(&cur, false, 1, sub, &test_rules, &out, errmsg), 0);
	assert_string_equal(kv_get(&out, "cleanup.policy"), "");
	assert_string_equal(kv_get(&out, "retention.ms"), "1000");
	meta_kv_free(&out);
	struct meta_config_change again[] = {{"cleanup.policy", "delete", META_CONFIG_APPEND}};
	assert_int_equal(meta_config_merge(&cur, false, 1, again, &test_rules, &out, errmsg), 0);
	assert_string_equal(kv_get(&out, "cleanup.policy"), "delete");
	meta_kv_free(&out);

	/* APPEND to a key without an override starts from its default. */
	struct meta_kv empty = {0};
	struct meta_config_change app[] = {{"cleanup.policy", "compact", META_CONFIG_APPEND}};
	assert_int_equal(meta_config_merge(&empty, false, 1, app, &test_rules, &out, errmsg), 0);
	assert_string_equal(kv_get(&out, "cleanup.policy"), "delete,compact");
	meta_kv_free(&out);

	/* Errors leave *out empty. */
	struct meta_config_change not_list[] = {{"retention.ms", "5", META_CONFIG_APPEND}};
	assert_int_equal(meta_config_merge(&cur, false, 1, not_list, &test_rules, &out, errmsg), -SAMSA_EINVAL_CONFIG);
	assert_string_equal(errmsg, "Can't APPEND to key retention.ms because its type is not LIST.");
	assert_int_equal(out.count, 0);
	struct meta_config_change dup[] = {{"retention.ms", "5", META_CONFIG_SET}, {"retention.ms", "6", META_CONFIG_SET}};
	assert_int_equal(meta_config_merge(&cur, false, 2, dup, &test_rules, &out, errmsg), -EINVAL);
	struct meta_config_change badop[] = {{"retention.ms", "5", 9}};
	assert_int_equal(meta_config_merge(&cur, false, 1, badop, &test_rules, &out, errmsg), -EINVAL);
	struct meta_config_change nullset[] = {{"retention.ms", NULL, META_CONFIG_SET}};
	assert_int_equal(meta_config_merge(&cur, false, 1, nullset, &test_rules, &out, errmsg), -EINVAL);
	struct meta_config_change unknown[] = {{"retention.msx", "5", META_CONFIG_SET}};
	assert_int_equal(meta_config_merge(&cur, false, 1, unknown, &test_rules, &out, errmsg), -SAMSA_EINVAL_CONFIG);
	struct meta_config_change unknown_del[] = {{"retention.msx", NULL, META_CONFIG_DELETE}};
	assert_int_equal(meta_config_merge(&cur, false, 1, unknown_del, &test_rules, &out, errmsg),
			 -SAMSA_EINVAL_CONFIG);
	struct meta_config_change bad[] = {{"segment.bytes", "big", META_CONFIG_SET}};
	assert_int_equal(meta_config_merge(&cur, false, 1, bad, &test_rules, &out, errmsg), -SAMSA_EINVAL_CONFIG);
	assert_non_null(strstr(errmsg, "segment.bytes"));
	assert_int_equal(out.count, 0);
}

static void test_merge_replace(void **state)
{
	(void)state;
	char errmsg[ERRMSG_SIZE];
	char *ckeys[] = {"cleanup.policy", "retention.ms"};
	char *cvalues[] = {"delete", "1000"};
	struct meta_kv cur = {2, ckeys, cvalues};
	struct meta_kv out;
	struct meta_config_change ch[] = {
		{"segment.ms", "60000", META_CONFIG_SET},
		{"retention.bytes", NULL, META_CONFIG_SET}, /* null: left out */
	};
	assert_int_equal(meta_config_merge(&cur, true, 2, ch, &test_rules, &out, errmsg), 0);
	assert_int_equal(out.count, 1);
	assert_string_equal(kv_get(&out, "segment.ms"), "60000");
	meta_kv_free(&out);
	assert_int_equal(meta_config_merge(&cur, true, 0, NULL, &test_rules, &out, errmsg), 0);
	assert_int_equal(out.count, 0);
	struct meta_config_change bad[] = {{"segment.ms", "0", META_CONFIG_SET}};
	assert_int_equal(meta_config_merge(&cur, true, 1, bad, &test_rules, &out, errmsg), -SAMSA_EINVAL_CONFIG);
}

/* ---- topic configs ---------------------------------------------------------- */

static void test_topic_alter_persist_apply(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	const char *keys[] = {"retention.ms"};
	const char *values[] = {"1000"};
	assert_int_equal(meta_topic_create(fx->topics, "orders", 3, 1, 1, keys, values, false, errmsg), 0);
	struct meta_topic *before = meta_topic_get(fx->topics, "orders");
	assert_int_equal(before->log_config.max_message_bytes, 1048588);

	struct meta_config_change ch[] = {
		{"max.message.bytes", "2000", META_CONFIG_SET},
		{"cleanup.policy", "compact", META_CONFIG_APPEND},
	};
	/* validate_only: nothing changes. */
	assert_int_equal(meta_topic_alter_configs(fx->topics, "orders", false, 2, ch, true, errmsg), 0);
	struct meta_topic *topic = meta_topic_get(fx->topics, "orders");
	assert_ptr_equal(topic, before);
	meta_topic_put(fx->topics, topic);

	assert_int_equal(meta_topic_alter_configs(fx->topics, "orders", false, 2, ch, false, errmsg), 0);
	topic = meta_topic_get(fx->topics, "orders");
	assert_ptr_not_equal(topic, before);
	assert_string_equal(topic_override(topic, "retention.ms"), "1000");
	assert_string_equal(topic_override(topic, "max.message.bytes"), "2000");
	assert_string_equal(topic_override(topic, "cleanup.policy"), "delete,compact");
	assert_int_equal(topic->log_config.max_message_bytes, 2000);
	assert_int_equal(topic->log_config.retention_ms, 1000);
	assert_ptr_equal(topic->partitions[2], before->partitions[2]); /* logs are shared */
	/* The snapshot a reader held is unchanged and still usable. */
	assert_int_equal(before->log_config.max_message_bytes, 1048588);
	assert_null(topic_override(before, "max.message.bytes"));
	assert_int_equal(log_partition_end_offset(before->partitions[0]), 0);
	meta_topic_put(fx->topics, before);
	meta_topic_put(fx->topics, topic);

	/* A bad change fails whole: nothing applied. */
	struct meta_config_change bad[] = {
		{"segment.ms", "60000", META_CONFIG_SET},
		{"retention.ms", "forever", META_CONFIG_SET},
	};
	assert_int_equal(meta_topic_alter_configs(fx->topics, "orders", false, 2, bad, false, errmsg),
			 -SAMSA_EINVAL_CONFIG);
	assert_non_null(strstr(errmsg, "forever"));
	assert_int_equal(meta_topic_alter_configs(fx->topics, "nope", false, 1, ch, false, errmsg), -SAMSA_ENOTFOUND);

	restart(fx);
	topic = meta_topic_get(fx->topics, "orders");
	assert_non_null(topic);
	assert_int_equal(topic->partition_count, 3);
	assert_string_equal(topic_override(topic, "max.message.bytes"), "2000");
	assert_string_equal(topic_override(topic, "cleanup.policy"), "delete,compact");
	assert_null(topic_override(topic, "segment.ms"));
	assert_int_equal(topic->log_config.max_message_bytes, 2000);
	meta_topic_put(fx->topics, topic);

	/* AlterConfigs replaces the whole set. */
	struct meta_config_change repl[] = {{"segment.ms", "60000", META_CONFIG_SET}};
	assert_int_equal(meta_topic_alter_configs(fx->topics, "orders", true, 1, repl, false, errmsg), 0);
	restart(fx);
	topic = meta_topic_get(fx->topics, "orders");
	assert_int_equal(topic->config_count, 1);
	assert_string_equal(topic_override(topic, "segment.ms"), "60000");
	assert_int_equal(topic->log_config.segment_ms, 60000);
	assert_int_equal(topic->log_config.max_message_bytes, 1048588);
	assert_int_equal(topic->log_config.retention_ms, 604800000);
	meta_topic_put(fx->topics, topic);
}

/* ---- CreatePartitions ------------------------------------------------------- */

static void test_add_partitions(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(meta_topic_create(fx->topics, "grow", 2, 1, 0, NULL, NULL, false, errmsg), 0);
	assert_int_equal(meta_topic_add_partitions(fx->topics, "grow", 1, false, errmsg), -ERANGE);
	assert_string_equal(errmsg, "The topic grow currently has 2 partition(s); 1 would not be an increase.");
	assert_int_equal(meta_topic_add_partitions(fx->topics, "grow", 2, false, errmsg), -ERANGE);
	assert_string_equal(errmsg, "Topic already has 2 partition(s).");
	assert_int_equal(meta_topic_add_partitions(fx->topics, "grow", 100000, false, errmsg), -ERANGE);
	assert_int_equal(meta_topic_add_partitions(fx->topics, "nope", 3, false, errmsg), -SAMSA_ENOTFOUND);
	assert_int_equal(meta_topic_add_partitions(fx->topics, "grow", 5, true, errmsg), 0);
	assert_false(dir_exists(fx, "grow-2"));

	struct meta_topic *held = meta_topic_get(fx->topics, "grow");
	assert_int_equal(meta_topic_add_partitions(fx->topics, "grow", 5, false, errmsg), 0);
	assert_true(dir_exists(fx, "grow-4"));
	struct meta_topic *topic = meta_topic_get(fx->topics, "grow");
	assert_int_equal(topic->partition_count, 5);
	assert_int_equal(held->partition_count, 2);
	assert_ptr_equal(topic->partitions[1], held->partitions[1]);
	assert_non_null(topic->partitions[4]);
	meta_topic_put(fx->topics, topic);
	/* The old snapshot outlives the registry's switch; logs stay open. */
	assert_int_equal(log_partition_end_offset(held->partitions[1]), 0);
	meta_topic_put(fx->topics, held);

	restart(fx);
	topic = meta_topic_get(fx->topics, "grow");
	assert_int_equal(topic->partition_count, 5);
	meta_topic_put(fx->topics, topic);

	/* Deleting a topic whose old snapshot is still held keeps the data until
	 * that snapshot goes too. */
	held = meta_topic_get(fx->topics, "grow");
	assert_int_equal(meta_topic_add_partitions(fx->topics, "grow", 6, false, errmsg), 0);
	assert_int_equal(meta_topic_delete(fx->topics, "grow"), 0);
	assert_true(dir_exists(fx, "grow-0"));
	meta_topic_put(fx->topics, held);
	assert_false(dir_exists(fx, "grow-0"));
	assert_false(dir_exists(fx, "grow-5"));
}

/* ---- broker dynamic configs ------------------------------------------------- */

static void test_broker_dynamic(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	const char *keys[] = {"max.message.bytes"};
	const char *values[] = {"3000"};
	assert_int_equal(meta_topic_create(fx->topics, "plain", 1, 1, 0, NULL, NULL, false, errmsg), 0);
	assert_int_equal(meta_topic_create(fx->topics, "own", 1, 1, 1, keys, values, false, errmsg), 0);

	struct meta_config_change ch[] = {
		{"message.max.bytes", "5000", META_CONFIG_SET},
		{"log.retention.ms", "3600000", META_CONFIG_SET},
		{"num.partitions", "4", META_CONFIG_SET},
	};
	assert_int_equal(meta_broker_alter_configs(fx->topics, CONFIG_LAYER_BROKER, false, 3, ch, true, errmsg), 0);
	assert_int_equal(config_get_int(fx->cfg, "message.max.bytes"), 1048588);
	assert_int_equal(meta_broker_alter_configs(fx->topics, CONFIG_LAYER_BROKER, false, 3, ch, false, errmsg), 0);
	assert_int_equal(config_get_int(fx->cfg, "message.max.bytes"), 5000);

	struct meta_topic *topic = meta_topic_get(fx->topics, "plain");
	assert_int_equal(topic->log_config.max_message_bytes, 5000);
	assert_int_equal(topic->log_config.retention_ms, 3600000);
	meta_topic_put(fx->topics, topic);
	topic = meta_topic_get(fx->topics, "own");
	assert_int_equal(topic->log_config.max_message_bytes, 3000); /* its override wins */
	assert_int_equal(topic->log_config.retention_ms, 3600000);
	meta_topic_put(fx->topics, topic);
	/* New topics take the new defaults. */
	assert_int_equal(meta_topic_create(fx->topics, "fresh", -1, -1, 0, NULL, NULL, false, errmsg), 0);
	topic = meta_topic_get(fx->topics, "fresh");
	assert_int_equal(topic->partition_count, 4);
	meta_topic_put(fx->topics, topic);

	/* Refused: read-only, unknown, bad values; nothing changes. */
	struct meta_config_change ro[] = {{"listeners", "PLAINTEXT://:1", META_CONFIG_SET}};
	assert_int_equal(meta_broker_alter_configs(fx->topics, CONFIG_LAYER_BROKER, false, 1, ro, false, errmsg),
			 -SAMSA_EINVAL_CONFIG);
	assert_string_equal(errmsg, "Cannot update these configs dynamically: listeners");
	struct meta_config_change unk[] = {{"no.such.thing", "1", META_CONFIG_SET}};
	assert_int_equal(meta_broker_alter_configs(fx->topics, CONFIG_LAYER_BROKER, false, 1, unk, false, errmsg),
			 -SAMSA_EINVAL_CONFIG);
	struct meta_config_change bad[] = {{"message.max.bytes", "lots", META_CONFIG_SET}};
	assert_int_equal(meta_broker_alter_configs(fx->topics, CONFIG_LAYER_BROKER, false, 1, bad, false, errmsg),
			 -SAMSA_EINVAL_CONFIG);
	assert_int_equal(config_get_int(fx->cfg, "message.max.bytes"), 5000);

	/* The cluster default layer sits below this broker's. */
	struct meta_config_change dflt[] = {
		{"message.max.bytes", "7000", META_CONFIG_SET},
		{"auto.create.topics.enable", "false", META_CONFIG_SET},
	};
	assert_int_equal(meta_broker_alter_configs(fx->topics, CONFIG_LAYER_DEFAULT, false, 2, dflt, false, errmsg), 0);
	assert_int_equal(config_get_int(fx->cfg, "message.max.bytes"), 5000);
	assert_false(config_get_bool(fx->cfg, "auto.create.topics.enable"));

	restart(fx);
	assert_int_equal(config_get_int(fx->cfg, "message.max.bytes"), 5000);
	assert_int_equal(config_get_int(fx->cfg, "num.partitions"), 4);
	assert_false(config_get_bool(fx->cfg, "auto.create.topics.enable"));
	assert_string_equal(config_dynamic_get(fx->cfg, CONFIG_LAYER_DEFAULT, "message.max.bytes"), "7000");
	topic = meta_topic_get(fx->topics, "plain");
	assert_int_equal(topic->log_config.max_message_bytes, 5000);
	meta_topic_put(fx->topics, topic);

	/* DELETE falls back to the default layer, then to the static value. */
	struct meta_config_change del[] = {{"message.max.bytes", NULL, META_CONFIG_DELETE}};
	assert_int_equal(meta_broker_alter_configs(fx->topics, CONFIG_LAYER_BROKER, false, 1, del, false, errmsg), 0);
	assert_int_equal(config_get_int(fx->cfg, "message.max.bytes"), 7000);
	topic = meta_topic_get(fx->topics, "plain");
	assert_int_equal(topic->log_config.max_message_bytes, 7000);
	meta_topic_put(fx->topics, topic);
	/* AlterConfigs on the default layer replaces it: only log.level stays. */
	struct meta_config_change repl[] = {{"log.level", "info", META_CONFIG_SET}};
	assert_int_equal(meta_broker_alter_configs(fx->topics, CONFIG_LAYER_DEFAULT, true, 1, repl, false, errmsg), 0);
	assert_int_equal(config_get_int(fx->cfg, "message.max.bytes"), 1048588);
	assert_true(config_get_bool(fx->cfg, "auto.create.topics.enable"));
	restart(fx);
	assert_int_equal(config_get_int(fx->cfg, "message.max.bytes"), 1048588);
	assert_int_equal(config_get_int(fx->cfg, "num.partitions"), 4); /* broker layer kept */
	assert_string_equal(config_dynamic_get(fx->cfg, CONFIG_LAYER_DEFAULT, "log.level"), "info");
}

/* ---- DescribeConfigs -------------------------------------------------------- */

static void test_describe(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	const char *keys[] = {"retention.ms", "cleanup.policy"};
	const char *values[] = {"1000", "compact"};
	assert_int_equal(meta_topic_create(fx->topics, "desc", 1, 1, 2, keys, values, false, errmsg), 0);
	struct meta_config_change ch[] = {{"message.max.bytes", "5000", META_CONFIG_SET}};
	assert_int_equal(meta_broker_alter_configs(fx->topics, CONFIG_LAYER_BROKER, false, 1, ch, false, errmsg), 0);

	struct arena *arena = arena_new(4096);
	struct meta_config_entry *e;
	int n = meta_config_describe_topic(fx->topics, "desc", arena, &e);
	assert_int_equal(n, meta_topic_config_count());
	const struct meta_config_entry *r = find_entry(e, n, "retention.ms");
	assert_string_equal(r->value, "1000");
	assert_int_equal(r->source, META_SOURCE_DYNAMIC_TOPIC);
	assert_int_equal(r->type, META_CONFIG_TYPE_LONG);
	assert_false(r->read_only);
	assert_true(r->synonyms_count >= 2);
	assert_string_equal(r->synonyms[0].name, "retention.ms");
	assert_string_equal(r->synonyms[1].name, "log.retention.ms");
	assert_int_equal(r->synonyms[r->synonyms_count - 1].source, META_SOURCE_DEFAULT);

	r = find_entry(e, n, "max.message.bytes"); /* from this broker's dynamic config */
	assert_string_equal(r->value, "5000");
	assert_int_equal(r->source, META_SOURCE_DYNAMIC_BROKER);
	assert_string_equal(r->synonyms[0].name, "message.max.bytes");

	r = find_entry(e, n, "segment.bytes"); /* static log.segment.bytes */
	assert_string_equal(r->value, "2000000");
	assert_int_equal(r->source, META_SOURCE_STATIC_BROKER);
	assert_int_equal(r->synonyms_count, 2);
	assert_string_equal(r->synonyms[1].value, "1073741824");

	r = find_entry(e, n, "delete.retention.ms"); /* no broker value: built-in */
	assert_string_equal(r->value, "86400000");
	assert_int_equal(r->source, META_SOURCE_DEFAULT);
	r = find_entry(e, n, "cleanup.policy");
	assert_string_equal(r->value, "compact");
	assert_int_equal(r->type, META_CONFIG_TYPE_LIST);

	assert_int_equal(meta_config_describe_topic(fx->topics, "nope", arena, &e), -SAMSA_ENOTFOUND);

	n = meta_config_describe_broker(fx->cfg, false, arena, &e);
	assert_int_equal(n, config_known_count());
	r = find_entry(e, n, "message.max.bytes");
	assert_string_equal(r->value, "5000");
	assert_int_equal(r->source, META_SOURCE_DYNAMIC_BROKER);
	assert_false(r->read_only);
	assert_int_equal(r->synonyms_count, 2);
	assert_int_equal(r->synonyms[1].source, META_SOURCE_DEFAULT);
	r = find_entry(e, n, "listeners");
	assert_true(r->read_only);
	assert_int_equal(r->source, META_SOURCE_DEFAULT);
	r = find_entry(e, n, "num.partitions");
	assert_string_equal(r->value, "2");
	assert_int_equal(r->source, META_SOURCE_STATIC_BROKER);
	assert_int_equal(r->type, META_CONFIG_TYPE_INT);

	n = meta_config_describe_broker(fx->cfg, true, arena, &e);
	assert_int_equal(n, 0);
	assert_int_equal(meta_broker_alter_configs(fx->topics, CONFIG_LAYER_DEFAULT, false, 1, ch, false, errmsg), 0);
	n = meta_config_describe_broker(fx->cfg, true, arena, &e);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].name, "message.max.bytes");
	assert_int_equal(e[0].source, META_SOURCE_DYNAMIC_DEFAULT_BROKER);
	arena_free(arena);

	enum config_layer layer;
	assert_int_equal(meta_config_broker_layer(1, "", &layer, errmsg), 0);
	assert_int_equal(layer, CONFIG_LAYER_DEFAULT);
	assert_int_equal(meta_config_broker_layer(1, "1", &layer, errmsg), 0);
	assert_int_equal(layer, CONFIG_LAYER_BROKER);
	assert_int_equal(meta_config_broker_layer(1, "2", &layer, errmsg), -EINVAL);
	assert_string_equal(errmsg, "Unexpected broker id, expected 1 or empty string, but received 2");
	assert_int_equal(meta_config_broker_layer(1, "x", &layer, errmsg), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_key_table),
		cmocka_unit_test(test_merge_incremental),
		cmocka_unit_test(test_merge_replace),
		cmocka_unit_test_setup_teardown(test_topic_alter_persist_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_partitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broker_dynamic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
