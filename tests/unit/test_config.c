/* Configuration: defaults, typed validation, derived keys, the properties
 * parser, KAFKA_* environment mapping and sorted listing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"

static void test_defaults(void **state)
{
	(void)state;
	struct config *cfg = config_new();
	assert_string_equal(config_get(cfg, "listeners"), "PLAINTEXT://:9092");
	assert_string_equal(config_get(cfg, "advertised.listeners"), "");
	assert_string_equal(config_get(cfg, "log.dirs"), "./data");
	assert_int_equal(config_get_int(cfg, "num.partitions"), 1);
	assert_int_equal(config_get_int(cfg, "default.replication.factor"), 1);
	assert_true(config_get_bool(cfg, "auto.create.topics.enable"));
	assert_int_equal(config_get_int(cfg, "log.segment.bytes"), 1073741824);
	assert_int_equal(config_get_int(cfg, "log.roll.hours"), 168);
	assert_int_equal(config_get_int(cfg, "log.roll.ms"), 168LL * 3600 * 1000);
	assert_int_equal(config_get_int(cfg, "log.retention.hours"), 168);
	assert_int_equal(config_get_int(cfg, "log.retention.ms"), 168LL * 3600 * 1000);
	assert_int_equal(config_get_int(cfg, "log.retention.bytes"), -1);
	assert_int_equal(config_get_int(cfg, "log.index.interval.bytes"), 4096);
	assert_int_equal(config_get_int(cfg, "log.flush.interval.messages"), INT64_MAX);
	assert_int_equal(config_get_int(cfg, "log.flush.interval.ms"), INT64_MAX);
	assert_int_equal(config_get_int(cfg, "message.max.bytes"), 1048588);
	assert_int_equal(config_get_int(cfg, "socket.request.max.bytes"), 104857600);
	assert_int_equal(config_get_int(cfg, "node.id"), 1);
	assert_int_equal(config_get_int(cfg, "num.network.threads"), 0);
	assert_int_equal(config_get_int(cfg, "connections.max.idle.ms"), 600000);
	assert_string_equal(config_get(cfg, "log.level"), "info");
	assert_int_equal(config_get_int(cfg, "group.initial.rebalance.delay.ms"), 3000);
	assert_int_equal(config_get_int(cfg, "offsets.topic.replication.factor"), 3);
	assert_int_equal(config_get_int(cfg, "transaction.state.log.replication.factor"), 3);
	assert_null(config_get(cfg, "no.such.key"));
	assert_null(config_get(cfg, "log.retention.minutes"));
	assert_false(config_is_set(cfg, "listeners"));
	assert_true(config_is_known("log.dirs"));
	assert_false(config_is_known("zookeeper.connect"));
	config_free(cfg);
}

static void test_set_and_validate(void **state)
{
	(void)state;
	char err[ERRMSG_SIZE];
	struct config *cfg = config_new();
	assert_int_equal(config_set(cfg, "num.partitions", " 3 ", err), 0);
	assert_int_equal(config_get_int(cfg, "num.partitions"), 3);
	assert_true(config_is_set(cfg, "num.partitions"));

	assert_int_equal(config_set(cfg, "num.partitions", "three", err), -SAMSA_EINVAL_CONFIG);
	assert_non_null(strstr(err, "num.partitions"));
	assert_int_equal(config_get_int(cfg, "num.partitions"), 3); /* unchanged */
	assert_int_equal(config_set(cfg, "num.partitions", "0", err), -SAMSA_EINVAL_CONFIG);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(config_set(cfg, "num.partitions", "", err), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(config_set(cfg, "num.partitions", "99999999999", err), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(config_set(cfg, "default.replication.factor", "40000", err), -SAMSA_EINVAL_CONFIG);

	assert_int_equal(config_set(cfg, "auto.create.topics.enable", "FALSE", err), 0);
	assert_false(config_get_bool(cfg, "auto.create.topics.enable"));
	assert_int_equal(config_set(cfg, "auto.create.topics.enable", "yes", err), -SAMSA_EINVAL_CONFIG);

	assert_int_equal(config_set(cfg, "log.level", "debug", err), 0);
	assert_int_equal(config_set(cfg, "log.level", "verbose", err), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(config_set(cfg, "log.message.timestamp.type", "LogAppendTime", err), 0);
	assert_int_equal(config_set(cfg, "log.message.timestamp.type", "Now", err), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(config_set(cfg, "log.cleanup.policy", "compact, delete", err), 0);
	assert_int_equal(config_set(cfg, "log.cleanup.policy", "forever", err), -SAMSA_EINVAL_CONFIG);
	assert_int_equal(config_set(cfg, "log.flush.interval.messages", "9223372036854775807", err), 0);
	assert_int_equal(config_set(cfg, "log.flush.interval.messages", "9223372036854775808", err),
			 -SAMSA_EINVAL_CONFIG);

	/* unknown keys are kept verbatim */
	assert_int_equal(config_set(cfg, "zookeeper.connect", "localhost:2181", err), 0);
	assert_string_equal(config_get(cfg, "zookeeper.connect"), "localhost:2181");
	assert_int_equal(config_set(cfg, "  ", "x", err), -SAMSA_EINVAL_CONFIG);
	config_free(cfg);
}

static void test_derived(void **state)
{
	(void)state;
	char err[ERRMSG_SIZE];
	struct config *cfg = config_new();
	/* log.dir feeds log.dirs unless log.dirs is set */
	assert_int_equal(config_set(cfg, "log.dir", "/var/lib/x", err), 0);
	assert_string_equal(config_get(cfg, "log.dirs"), "/var/lib/x");
	assert_false(config_is_set(cfg, "log.dirs"));
	assert_int_equal(config_set(cfg, "log.dirs", "/a", err), 0);
	assert_int_equal(config_set(cfg, "log.dir", "/b", err), 0);
	assert_string_equal(config_get(cfg, "log.dirs"), "/a");

	/* broker.id is an alias of node.id; node.id wins when both are set */
	assert_int_equal(config_set(cfg, "broker.id", "7", err), 0);
	assert_int_equal(config_get_int(cfg, "node.id"), 7);
	assert_int_equal(config_set(cfg, "node.id", "9", err), 0);
	assert_int_equal(config_get_int(cfg, "node.id"), 9);

	/* retention: ms > minutes > hours */
	assert_int_equal(config_set(cfg, "log.retention.hours", "1", err), 0);
	assert_int_equal(config_get_int(cfg, "log.retention.ms"), 3600000);
	assert_int_equal(config_set(cfg, "log.retention.minutes", "2", err), 0);
	assert_int_equal(config_get_int(cfg, "log.retention.ms"), 120000);
	assert_int_equal(config_set(cfg, "log.retention.hours", "5", err), 0);
	assert_int_equal(config_get_int(cfg, "log.retention.ms"), 120000);
	assert_int_equal(config_set(cfg, "log.retention.ms", "-1", err), 0);
	assert_int_equal(config_set(cfg, "log.retention.minutes", "3", err), 0);
	assert_int_equal(config_get_int(cfg, "log.retention.ms"), -1);

	assert_int_equal(config_set(cfg, "log.roll.hours", "2", err), 0);
	assert_int_equal(config_get_int(cfg, "log.roll.ms"), 7200000);
	assert_int_equal(config_set(cfg, "log.flush.scheduler.interval.ms", "1000", err), 0);
	assert_int_equal(config_get_int(cfg, "log.flush.interval.ms"), 1000);
	config_free(cfg);

	cfg = config_new();
	assert_int_equal(config_set(cfg, "log.retention.hours", "-1", err), 0);
	assert_int_equal(config_get_int(cfg, "log.retention.ms"), -1);
	config_free(cfg);
}

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/samsa-test-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_properties_file(void **state)
{
	(void)state;
	char err[ERRMSG_SIZE];
	char *path = write_temp("# a comment\n"
				"! another comment\n"
				"\n"
				"   \t\n"
				"num.partitions=4\n"
				"  log.dirs = /tmp/data  \n"
				"listeners: PLAINTEXT://0.0.0.0:9093\n"
				"advertised.listeners   PLAINTEXT://broker:9093\n"
				"auto.create.topics.enable  =  false\r\n"
				"custom.multi = one, \\\n"
				"               two, \\\n"
				"               three\n"
				"custom.escaped = a\\tb\\=c\\u00e9\\\\\n"
				"custom.key\\ with\\ space = v\n"
				"custom.empty\n"
				"# broker.id=5\n"
				"custom.last = no newline");
	struct config *cfg = config_new();
	assert_int_equal(config_load_file(cfg, path, err), 0);
	assert_int_equal(config_get_int(cfg, "num.partitions"), 4);
	assert_string_equal(config_get(cfg, "log.dirs"), "/tmp/data");
	assert_string_equal(config_get(cfg, "listeners"), "PLAINTEXT://0.0.0.0:9093");
	assert_string_equal(config_get(cfg, "advertised.listeners"), "PLAINTEXT://broker:9093");
	assert_false(config_get_bool(cfg, "auto.create.topics.enable"));
	assert_string_equal(config_get(cfg, "custom.multi"), "one, two, three");
	assert_string_equal(config_get(cfg, "custom.escaped"), "a\tb=c\xc3\xa9\\");
	assert_string_equal(config_get(cfg, "custom.key with space"), "v");
	assert_string_equal(config_get(cfg, "custom.empty"), "");
	assert_string_equal(config_get(cfg, "custom.last"), "no newline");
	assert_int_equal(config_get_int(cfg, "node.id"), 1);
	config_free(cfg);
	unlink(path);
	free(path);

	/* an invalid value names the file and line */
	path = write_temp("num.partitions=2\n\n"
			  "log.segment.bytes = lots\n");
	cfg = config_new();
	assert_int_equal(config_load_file(cfg, path, err), -SAMSA_EINVAL_CONFIG);
	assert_non_null(strstr(err, ":3:"));
	assert_non_null(strstr(err, "log.segment.bytes"));
	config_free(cfg);
	unlink(path);
	free(path);

	cfg = config_new();
	assert_true(config_load_file(cfg, "/nonexistent/server.properties", err) < 0);
	assert_non_null(strstr(err, "/nonexistent/server.properties"));
	config_free(cfg);
}

static void test_env_mapping(void **state)
{
	(void)state;
	char key[128];
	assert_true(config_env_to_key("KAFKA_ADVERTISED_LISTENERS", key, sizeof(key)));
	assert_string_equal(key, "advertised.listeners");
	assert_true(config_env_to_key("KAFKA_LOG_DIRS", key, sizeof(key)));
	assert_string_equal(key, "log.dirs");
	assert_true(config_env_to_key("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", key, sizeof(key)));
	assert_string_equal(key, "listener.security.protocol.map");
	assert_true(config_env_to_key("KAFKA_FOO__BAR", key, sizeof(key)));
	assert_string_equal(key, "foo_bar");
	assert_true(config_env_to_key("KAFKA_FOO___BAR_BAZ", key, sizeof(key)));
	assert_string_equal(key, "foo-bar.baz");
	assert_false(config_env_to_key("KAFKA_HEAP_OPTS", key, sizeof(key)));
	assert_false(config_env_to_key("KAFKA_OPTS", key, sizeof(key)));
	assert_false(config_env_to_key("KAFKA_", key, sizeof(key)));
	assert_false(config_env_to_key("PATH", key, sizeof(key)));
	assert_false(config_env_to_key("KAFKA_ADVERTISED_LISTENERS", key, 5));

	char err[ERRMSG_SIZE];
	char *env[] = {
		"PATH=/usr/bin",
		"KAFKA_NUM_PARTITIONS=6",
		"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://kafka:9092",
		"KAFKA_HEAP_OPTS=-Xmx1G",
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE=false",
		NULL,
	};
	struct config *cfg = config_new();
	assert_int_equal(config_load_env(cfg, env, err), 0);
	assert_int_equal(config_get_int(cfg, "num.partitions"), 6);
	assert_string_equal(config_get(cfg, "advertised.listeners"), "PLAINTEXT://kafka:9092");
	assert_false(config_get_bool(cfg, "auto.create.topics.enable"));
	assert_null(config_get(cfg, "heap.opts"));

	char *bad[] = {"KAFKA_NUM_PARTITIONS=many", NULL};
	assert_int_equal(config_load_env(cfg, bad, err), -SAMSA_EINVAL_CONFIG);
	assert_non_null(strstr(err, "KAFKA_NUM_PARTITIONS"));
	config_free(cfg);
}

static void test_list_sorted(void **state)
{
	(void)state;
	char err[ERRMSG_SIZE];
	struct config *cfg = config_new();
	assert_int_equal(config_set(cfg, "aaa.custom", "1", err), 0);
	assert_int_equal(config_set(cfg, "zzz.custom", "2", err), 0);
	int total = config_list(cfg, NULL, NULL, 0);
	assert_true(total > 50);
	const char **keys = calloc((size_t)total, sizeof(*keys));
	const char **values = calloc((size_t)total, sizeof(*values));
	assert_int_equal(config_list(cfg, keys, values, total), total);
	assert_string_equal(keys[0], "aaa.custom");
	assert_string_equal(values[0], "1");
	assert_string_equal(keys[total - 1], "zzz.custom");
	for (int i = 1; i < total; i++)
		assert_true(strcmp(keys[i - 1], keys[i]) < 0);
	/* a short array gets the first entries only */
	assert_int_equal(config_list(cfg, keys, values, 2), total);
	free(keys);
	free(values);
	config_free(cfg);
}

static void test_sensitive(void **state)
{
	(void)state;
	assert_true(config_is_sensitive("ssl.keystore.password"));
	assert_true(config_is_sensitive("sasl.jaas.config"));
	assert_false(config_is_sensitive("log.dirs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set_and_validate),
		cmocka_unit_test(test_derived),
		cmocka_unit_test(test_properties_file),
		cmocka_unit_test(test_env_mapping),
		cmocka_unit_test(test_list_sorted),
		cmocka_unit_test(test_sensitive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
