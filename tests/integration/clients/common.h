/* What the librdkafka test clients share: a monotonic clock, configuration and client
 * creation that exit on error, and the configuration and log callback of the clients
 * that run through broker restarts. Header-only: prepare compiles each client from its
 * own .c file. */
#ifndef ITEST_COMMON_H
#define ITEST_COMMON_H

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sets one property; one librdkafka refuses is a bug in the client: exit 2. */
static inline void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char errstr[512];
	if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "config %s=%s: %s\n", k, v, errstr);
		exit(2);
	}
}

/* rd_kafka_new (which takes conf), or exit 1 saying what failed. */
static inline rd_kafka_t *client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *what)
{
	char errstr[512];
	rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "%s: rd_kafka_new: %s\n", what, errstr);
		exit(1);
	}
	return rk;
}

/* librdkafka's errors, except the connection failures a broker restart or a cut
 * connection causes (expected in the tests that use it). */
static inline void log_cb_restarts(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 3 && !strstr(buf, "Connect") && !strstr(buf, "Disconnected") &&
	    !strstr(buf, "brokers are down") && !strstr(buf, "Receive failed") &&
	    !strstr(buf, "Send failed") && !strstr(buf, "timed out"))
		fprintf(stderr, "librdkafka %d %s: %s\n", level, fac, buf);
}

/* A configuration for bootstrap that reconnects at once (20-200 ms) to a broker back
 * from a restart and logs through log_cb_restarts. */
static inline rd_kafka_conf_t *conf_for_restarts(const char *bootstrap)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	conf_set(conf, "bootstrap.servers", bootstrap);
	conf_set(conf, "reconnect.backoff.ms", "20");
	conf_set(conf, "reconnect.backoff.max.ms", "200");
	rd_kafka_conf_set_log_cb(conf, log_cb_restarts);
	return conf;
}

#endif
