/* idempotent_producer: librdkafka with enable.idempotence=true producing numbered
 * records while the test breaks its connections and kills the broker.
 *
 *   idempotent_producer <bootstrap> <topic> <partitions> <count> <ack_log> [rate]
 *
 * Record n goes to partition n % partitions with the value "p=<partition> n=<9 digits>"
 * (n counted per partition, from 0), at no more than `rate` records/s (default 10000).
 * Each record is produced once: every retry is librdkafka's own, with the same producer
 * id, epoch and sequence, which is what the broker must deduplicate. Delivery reports
 * go to ack_log in arrival order:
 *   A <partition> <n> <offset>      acknowledged at that offset
 *   F <partition> <n> <error name>  failed
 * then "END produced=<n> acked=<n> failed=<n> undelivered=<n> fatal=<error or none>".
 * Exits 0 once every record has a delivery report (or after 300 s with some missing,
 * which the test reports). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

static FILE *ack_log;
static long acked, failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	(void)rk;
	(void)opaque;
	int part = -1;
	long n = -1;
	if (msg->len < 64) {
		char buf[64];
		memcpy(buf, msg->payload, msg->len);
		buf[msg->len] = '\0';
		if (sscanf(buf, "p=%d n=%ld", &part, &n) != 2)
			part = -1;
	}
	if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		acked++;
		fprintf(ack_log, "A %d %ld %lld\n", part, n, (long long)msg->offset);
	} else {
		failed++;
		fprintf(ack_log, "F %d %ld %s\n", part, n, rd_kafka_err2name(msg->err));
	}
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s <bootstrap> <topic> <partitions> <count> <ack_log> [rate]\n",
			argv[0]);
		return 2;
	}
	const char *topic = argv[2];
	int partitions = atoi(argv[3]);
	long count = atol(argv[4]);
	double rate = argc > 6 ? atof(argv[6]) : 10000;
	ack_log = fopen(argv[5], "w");
	if (!ack_log || partitions < 1 || count < 1) {
		perror(argv[5]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	rd_kafka_conf_t *conf = conf_for_restarts(argv[1]);
	conf_set(conf, "enable.idempotence", "true"); /* acks=all, retries, max.in.flight <= 5 */
	conf_set(conf, "max.in.flight.requests.per.connection", "5");
	conf_set(conf, "linger.ms", "5");
	conf_set(conf, "batch.num.messages", "500");
	conf_set(conf, "message.timeout.ms", "300000");
	conf_set(conf, "request.timeout.ms", "5000");
	conf_set(conf, "retry.backoff.ms", "50");
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf, "producer");

	long *next_n = calloc((size_t)partitions, sizeof(long));
	double started = now_s();
	long produced = 0;
	while (produced < count) {
		if ((double)produced >= (now_s() - started) * rate) {
			rd_kafka_poll(rk, 1);
			continue;
		}
		int part = (int)(produced % partitions);
		char val[64];
		int len = snprintf(val, sizeof(val), "p=%d n=%09ld", part, next_n[part]);
		rd_kafka_resp_err_t err = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(val, (size_t)len),
			RD_KAFKA_V_END);
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			rd_kafka_poll(rk, 10);
			continue;
		}
		if (err) {
			fprintf(stderr, "producev: %s\n", rd_kafka_err2str(err));
			break;
		}
		next_n[part]++;
		produced++;
		rd_kafka_poll(rk, 0);
	}
	double t0 = now_s();
	while (rd_kafka_outq_len(rk) > 0 && now_s() - t0 < 300)
		rd_kafka_poll(rk, 100);
	char fatal[512] = "none";
	rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
	if (!ferr)
		strcpy(fatal, "none");
	for (char *c = fatal; *c; c++)
		if (*c == ' ' || *c == '\n')
			*c = '_';
	int left = rd_kafka_outq_len(rk);
	rd_kafka_destroy(rk);
	fprintf(ack_log, "END produced=%ld acked=%ld failed=%ld undelivered=%d fatal=%s\n", produced,
		acked, failed, left, fatal);
	fclose(ack_log);
	printf("idempotent_producer: produced %ld, acked %ld, failed %ld, undelivered %d, %.1f s\n",
	       produced, acked, failed, left, now_s() - started);
	free(next_n);
	return 0;
}
