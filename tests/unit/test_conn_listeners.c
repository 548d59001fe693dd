/* `listeners` / `advertised.listeners`: endpoint parsing and the choice of
 * what to bind and what to advertise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "net/server.h"

static void parse_ok(const char *text, const char *name, const char *host, int port)
{
	struct net_endpoint ep;
	char err[ERRMSG_SIZE];
	assert_int_equal(net_endpoint_parse(text, strlen(text), &ep, err), 0);
	assert_string_equal(ep.name, name);
	assert_string_equal(ep.host, host);
	assert_int_equal(ep.port, port);
}

static void parse_bad(const char *text)
{
	struct net_endpoint ep;
	char err[ERRMSG_SIZE] = "";
	assert_int_equal(net_endpoint_parse(text, strlen(text), &ep, err), -EINVAL);
	assert_true(strlen(err) > 0);
}

static void test_endpoint_parse(void **state)
{
	(void)state;
	parse_ok("PLAINTEXT://:9092", "PLAINTEXT", "", 9092);
	parse_ok("  plaintext://localhost:9093 ", "PLAINTEXT", "localhost", 9093);
	parse_ok("PLAINTEXT://0.0.0.0:0", "PLAINTEXT", "0.0.0.0", 0);
	parse_ok("PLAINTEXT://[::1]:9092", "PLAINTEXT", "::1", 9092);
	parse_ok("PLAINTEXT_HOST://kafka-1.example.com:29092", "PLAINTEXT_HOST", "kafka-1.example.com", 29092);
	parse_bad("localhost:9092");
	parse_bad("://host:1");
	parse_bad("PLAINTEXT://host");
	parse_bad("PLAINTEXT://host:");
	parse_bad("PLAINTEXT://host:99999");
	parse_bad("PLAINTEXT://host:12a");
	parse_bad("PLAIN TEXT://host:1");
	parse_bad("PLAINTEXT://[::1:9092");
}

static void resolve(const char *const *sets, int want_rc, const char *bind_host, int bind_port, const char *adv_host,
		    int adv_port)
{
	struct config *cfg = config_new();
	char err[ERRMSG_SIZE];
	for (int i = 0; sets[i]; i += 2)
		assert_int_equal(config_set(cfg, sets[i], sets[i + 1], err), 0);
	struct net_endpoint bind, adv;
	int rc = net_listeners_resolve(cfg, &bind, &adv, err);
	assert_int_equal(rc, want_rc);
	if (rc == 0) {
		assert_string_equal(bind.host, bind_host);
		assert_int_equal(bind.port, bind_port);
		assert_string_equal(adv.host, adv_host);
		assert_int_equal(adv.port, adv_port);
	}
	config_free(cfg);
}

static void test_resolve(void **state)
{
	(void)state;
	/* defaults: every interface, advertised as localhost so kcat -b localhost:9092 works */
	resolve((const char *const[]){NULL}, 0, "", 9092, "localhost", 9092);
	resolve((const char *const[]){"listeners", "PLAINTEXT://0.0.0.0:9093", NULL}, 0, "0.0.0.0", 9093, "localhost",
		9093);
	resolve((const char *const[]){"listeners", "PLAINTEXT://127.0.0.1:0", NULL}, 0, "127.0.0.1", 0, "127.0.0.1", 0);
	/* advertised.listeners entry of the same name wins */
	resolve((const char *const[]){"listeners", "PLAINTEXT://:9092", "advertised.listeners",
				       "PLAINTEXT://broker.example:19092", NULL},
		0, "", 9092, "broker.example", 19092);
	/* KRaft compose files: the controller listener is skipped */
	resolve((const char *const[]){"listeners", "CONTROLLER://:9093,PLAINTEXT://:9092", "controller.listener.names",
				       "CONTROLLER", "listener.security.protocol.map",
				       "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT", "advertised.listeners",
				       "PLAINTEXT://localhost:9092", NULL},
		0, "", 9092, "localhost", 9092);
	/* named listeners mapped to PLAINTEXT: the first one is served */
	resolve((const char *const[]){"listeners", "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092",
				       "listener.security.protocol.map", "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
				       "advertised.listeners", "INTERNAL://kafka:29092,EXTERNAL://localhost:9092", NULL},
		0, "0.0.0.0", 29092, "kafka", 29092);
	/* TLS listeners are not served yet; a PLAINTEXT one after it is */
	resolve((const char *const[]){"listeners", "SSL://:9093,PLAINTEXT://:9092", NULL}, 0, "", 9092, "localhost", 9092);
	resolve((const char *const[]){"listeners", "SSL://:9093", NULL}, -EINVAL, NULL, 0, NULL, 0);
	/* a name missing from the protocol map is an error, as in Kafka */
	resolve((const char *const[]){"listeners", "FOO://:9092", NULL}, -EINVAL, NULL, 0, NULL, 0);
	resolve((const char *const[]){"listeners", "PLAINTEXT://:x", NULL}, -EINVAL, NULL, 0, NULL, 0);
	resolve((const char *const[]){"listeners", "", NULL}, -EINVAL, NULL, 0, NULL, 0);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_parse),
		cmocka_unit_test(test_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
