/* crash_producer: keeps producing numbered records to one partition with acks=all while
 * the test kills the broker, and logs exactly what was acknowledged.
 *
 *   crash_producer <bootstrap> <topic> <ack_log> <stop_file> [max_in_flight_records [max_rate]]
 *
 * Every record's value is "seq=<9 digits> attempt=<3 digits>", a unique identity.
 * The producer runs with enable.idempotence=false and message.send.max.retries=0, so
 * librdkafka never sends the same record twice: when a delivery fails (the broker died
 * with the request in flight), the producer itself sends the same seq again as a new
 * record with attempt+1. Any identity found twice in the log is therefore a broker
 * duplicate, and a failed attempt may or may not be in the log (possibly persisted).
 *
 * ack_log gets one line per delivery report, in the order they arrive:
 *   A <seq> <attempt> <offset>      acknowledged at that offset
 *   F <seq> <attempt> <error name>  failed (retried with attempt+1 unless stopping)
 * and a final "END produced=<n> acked=<n> failed=<n>" line. It is flushed after each
 * batch of delivery reports so the test can read it while the producer runs.
 *
 * New seqs are produced at no more than max_rate records/s (default 20000), with at
 * most max_in_flight_records (default 2000) unacknowledged.
 * The producer stops producing new records once stop_file exists, then waits up to
 * 60 s for the outstanding ones (no more retries) and exits 0. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

struct pending {
	long seq;
	int attempt;
};

static FILE *ack_log;
static long produced, acked, failed;
static struct pending *retry;
static size_t retry_len, retry_cap;
static int stopping;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	(void)rk;
	(void)opaque;
	long seq = 0;
	int attempt = 0;
	if (msg->len < 64) {
		char buf[64];
		memcpy(buf, msg->payload, msg->len);
		buf[msg->len] = '\0';
		if (sscanf(buf, "seq=%ld attempt=%d", &seq, &attempt) != 2)
			seq = -1;
	}
	if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		acked++;
		fprintf(ack_log, "A %ld %d %lld\n", seq, attempt, (long long)msg->offset);
		return;
	}
	failed++;
	fprintf(ack_log, "F %ld %d %s\n", seq, attempt, rd_kafka_err2name(msg->err));
	if (!stopping) {
		if (retry_len == retry_cap) {
			retry_cap = retry_cap ? retry_cap * 2 : 1024;
			retry = realloc(retry, retry_cap * sizeof(*retry));
		}
		retry[retry_len++] = (struct pending){seq, attempt + 1};
	}
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf; /* connection refused while the broker restarts: expected, not logged */
}

static int send_one(rd_kafka_t *rk, const char *topic, long seq, int attempt)
{
	char val[64];
	int n = snprintf(val, sizeof(val), "seq=%09ld attempt=%03d", seq, attempt);
	rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
						    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
						    RD_KAFKA_V_VALUE(val, (size_t)n), RD_KAFKA_V_END);
	if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		return -1;
	if (err) {
		fprintf(stderr, "producev: %s\n", rd_kafka_err2str(err));
		exit(1);
	}
	produced++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s <bootstrap> <topic> <ack_log> <stop_file> [max_in_flight]\n",
			argv[0]);
		return 2;
	}
	const char *topic = argv[2];
	const char *stop_file = argv[4];
	long max_in_flight = argc > 5 ? atol(argv[5]) : 2000;
	double max_rate = argc > 6 ? atof(argv[6]) : 20000;
	ack_log = fopen(argv[3], "w");
	if (!ack_log) {
		perror(argv[3]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	rd_kafka_conf_t *conf = conf_for_restarts(argv[1]);
	conf_set(conf, "acks", "all");
	conf_set(conf, "enable.idempotence", "false");
	conf_set(conf, "message.send.max.retries", "0");
	conf_set(conf, "max.in.flight.requests.per.connection", "5");
	conf_set(conf, "linger.ms", "2");
	conf_set(conf, "batch.num.messages", "200");
	conf_set(conf, "message.timeout.ms", "60000");
	conf_set(conf, "request.timeout.ms", "10000");
	conf_set(conf, "topic.metadata.refresh.interval.ms", "1000");
	rd_kafka_conf_set_log_cb(conf, log_cb); /* quieter than log_cb_restarts */
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf, "producer");

	long next_seq = 0;
	double last_check = 0, started = now_s();
	while (!stopping) {
		double now = now_s();
		if (now - last_check > 0.05) {
			last_check = now;
			if (access(stop_file, F_OK) == 0)
				stopping = 1;
		}
		while (retry_len > 0) {
			struct pending p = retry[0];
			if (send_one(rk, topic, p.seq, p.attempt) != 0)
				break;
			memmove(retry, retry + 1, (retry_len - 1) * sizeof(*retry));
			retry_len--;
		}
		if (produced - acked - failed < max_in_flight && retry_len == 0 &&
		    (double)next_seq < (now - started) * max_rate)
			send_one(rk, topic, next_seq++, 1);
		else
			rd_kafka_poll(rk, 5);
		rd_kafka_poll(rk, 0);
		fflush(ack_log);
	}
	double t0 = now_s();
	while (rd_kafka_outq_len(rk) > 0 && now_s() - t0 < 60)
		rd_kafka_poll(rk, 100);
	fflush(ack_log);
	int left = rd_kafka_outq_len(rk);
	rd_kafka_destroy(rk);
	fprintf(ack_log, "END produced=%ld acked=%ld failed=%ld undelivered=%d\n", produced, acked,
		failed, left);
	fclose(ack_log);
	printf("crash_producer: produced %ld records (%ld seqs), acked %ld, failed %ld, undelivered %d\n",
	       produced, next_seq, acked, failed, left);
	free(retry);
	return 0;
}
