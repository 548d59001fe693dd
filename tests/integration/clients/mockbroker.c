/* mockbroker: librdkafka's in-memory mock cluster (rd_kafka_mock_cluster_new) as a
 * stand-in process for samsa, so the client side of the integration tests can be
 * checked without a broker (SAMSA_TEST_MOCK=1, see lib/samsa_harness.py).
 *
 *   mockbroker [--set num.partitions=N] [--set other=ignored ...] [--topic name:partitions ...]
 *
 * Prints "INFO serving on <host:port>" to stderr once listening and runs until
 * SIGTERM/SIGINT, then exits 0. --topic pre-creates a topic (default: num.partitions). It is not a model of Samsa: it keeps nothing on
 * disk and does not serve every API. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int partitions = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--set") == 0 && strncmp(argv[i + 1], "num.partitions=", 15) == 0)
			partitions = atoi(argv[i + 1] + 15);
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "ERROR rd_kafka_new: %s\n", errstr);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
	if (!mc) {
		fprintf(stderr, "ERROR rd_kafka_mock_cluster_new failed\n");
		return 1;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--topic") == 0) {
			char name[256];
			snprintf(name, sizeof(name), "%s", argv[i + 1]);
			char *colon = strrchr(name, ':');
			int n = partitions;
			if (colon) {
				*colon = '\0';
				n = atoi(colon + 1);
			}
			rd_kafka_mock_topic_create(mc, name, n, 1);
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fprintf(stderr, "INFO mockbroker serving on %s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stderr);
	while (!stop)
		usleep(50 * 1000);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
