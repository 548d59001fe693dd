/* The topic registry: creation rules, config validation, persistence across
 * reopen, deletion. */
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

#include "base/config.h"
#include "meta/topics.h"

struct fixture {
	char dir[64];
	struct config *cfg;
	struct meta_topics *topics;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/samsa-meta-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->cfg = config_new();
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(config_set(fx->cfg, "num.partitions", "3", errmsg), 0);
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

static void reopen(struct fixture *fx)
{
	char errmsg[ERRMSG_SIZE];
	meta_topics_close(fx->topics);
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

static void test_name_rules(void **state)
{
	(void)state;
	char errmsg[ERRMSG_SIZE];
	char long_name[251];
	memset(long_name, 'a', 250);
	long_name[250] = '\0';
	assert_true(meta_topic_name_valid("orders.v1_x-y", errmsg));
	assert_false(meta_topic_name_valid("", errmsg));
	assert_false(meta_topic_name_valid(".", errmsg));
	assert_false(meta_topic_name_valid("..", errmsg));
	assert_false(meta_topic_name_valid("a/b", errmsg));
	assert_false(meta_topic_name_valid("white space", errmsg));
	assert_false(meta_topic_name_valid(long_name, errmsg));
	long_name[249] = '\0';
	assert_true(meta_topic_name_valid(long_name, errmsg));
}

static void test_create_defaults_and_persist(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	const char *keys[] = {"retention.ms", "cleanup.policy"};
	const char *values[] = {"86400000", "compact,delete"};
	assert_int_equal(meta_topic_create(fx->topics, "orders", -1, -1, 2, keys, values, false, errmsg), 0);
	assert_true(dir_exists(fx, "orders-0"));
	assert_true(dir_exists(fx, "orders-2"));
	assert_false(dir_exists(fx, "orders-3"));

	struct meta_topic *topic = meta_topic_get(fx->topics, "orders");
	assert_non_null(topic);
	assert_int_equal(topic->partition_count, 3); /* num.partitions */
	assert_int_equal(topic->log_config.retention_ms, 86400000);
	uint8_t id[16];
	memcpy(id, topic->id, 16);
	meta_topic_put(fx->topics, topic);

	reopen(fx);
	topic = meta_topic_get(fx->topics, "orders");
	assert_non_null(topic);
	assert_int_equal(topic->partition_count, 3);
	assert_memory_equal(topic->id, id, 16);
	assert_int_equal(topic->config_count, 2);
	assert_string_equal(topic->config_keys[1], "cleanup.policy");
	assert_string_equal(topic->config_values[1], "compact,delete");
	assert_int_equal(topic->log_config.retention_ms, 86400000);
	meta_topic_put(fx->topics, topic);

	struct meta_topic *by_id = meta_topic_get_by_id(fx->topics, id);
	assert_non_null(by_id);
	assert_string_equal(by_id->name, "orders");
	meta_topic_put(fx->topics, by_id);
}

static void test_create_errors(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(meta_topic_create(fx->topics, "t", 1, 1, 0, NULL, NULL, false, errmsg), 0);
	assert_int_equal(meta_topic_create(fx->topics, "t", 1, 1, 0, NULL, NULL, false, errmsg), -SAMSA_EEXIST);
	assert_int_equal(meta_topic_create(fx->topics, "bad name", 1, 1, 0, NULL, NULL, false, errmsg), -EINVAL);
	assert_int_equal(meta_topic_create(fx->topics, "p0", 0, 1, 0, NULL, NULL, false, errmsg), -ERANGE);
	assert_int_equal(meta_topic_create(fx->topics, "rf3", 1, 3, 0, NULL, NULL, false, errmsg), -EDOM);
	assert_string_equal(errmsg, "Replication factor: 3 larger than available brokers: 1.");
	assert_int_equal(meta_topic_create(fx->topics, "rf0", 1, 0, 0, NULL, NULL, false, errmsg), -EDOM);

	const char *bad_keys[] = {"retention.ms"};
	const char *bad_values[] = {"soon"};
	assert_int_equal(meta_topic_create(fx->topics, "c", 1, 1, 1, bad_keys, bad_values, false, errmsg),
			 -SAMSA_EINVAL_CONFIG);
	const char *unknown_keys[] = {"no.such.key"};
	assert_int_equal(meta_topic_create(fx->topics, "c", 1, 1, 1, unknown_keys, bad_values, false, errmsg),
			 -SAMSA_EINVAL_CONFIG);
	const char *policy_keys[] = {"cleanup.policy"};
	const char *policy_values[] = {"forever"};
	assert_int_equal(meta_topic_create(fx->topics, "c", 1, 1, 1, policy_keys, policy_values, false, errmsg),
			 -SAMSA_EINVAL_CONFIG);
	assert_null(meta_topic_get(fx->topics, "c"));
	assert_false(dir_exists(fx, "c-0"));
}

static void test_validate_only(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(meta_topic_create(fx->topics, "dry", 2, 1, 0, NULL, NULL, true, errmsg), 0);
	assert_null(meta_topic_get(fx->topics, "dry"));
	assert_false(dir_exists(fx, "dry-0"));
}

static void test_delete(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(meta_topic_create(fx->topics, "gone", 2, 1, 0, NULL, NULL, false, errmsg), 0);
	assert_int_equal(meta_topic_create(fx->topics, "kept", 1, 1, 0, NULL, NULL, false, errmsg), 0);
	struct meta_topic *held = meta_topic_get(fx->topics, "gone");
	assert_int_equal(meta_topic_delete(fx->topics, "gone"), 0);
	assert_null(meta_topic_get(fx->topics, "gone"));
	assert_true(dir_exists(fx, "gone-0")); /* still referenced */
	meta_topic_put(fx->topics, held);
	assert_false(dir_exists(fx, "gone-0"));
	assert_int_equal(meta_topic_delete(fx->topics, "gone"), -SAMSA_ENOTFOUND);

	reopen(fx);
	assert_null(meta_topic_get(fx->topics, "gone"));
	struct meta_topic **list;
	int n = meta_topic_list(fx->topics, &list);
	assert_int_equal(n, 1);
	assert_string_equal(list[0]->name, "kept");
	meta_topic_list_free(fx->topics, list, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_rules),
		cmocka_unit_test_setup_teardown(test_create_defaults_and_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validate_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
