/* produce_consume: a librdkafka round trip that checks every record.
 *
 *   produce_consume <bootstrap> <topic> <count> <size> <partitions> <codec> [create|nocreate|consume]
 *
 * 1. Creates <topic> with <partitions> partitions through the Admin API (CreateTopics,
 *    replication factor 1) unless "nocreate" or "consume".
 * 2. Produces <count> records with acks=all and compression.codec=<codec> (none, gzip,
 *    snappy, lz4, zstd). Record i goes to partition i % partitions with key
 *    "k<i>" and a value of <size> bytes derived from i (compressible, different for
 *    every i). Every delivery report must be successful and carry offset
 *    i / partitions: the offsets of a fresh topic, contiguous from 0 and in produce
 *    order. "consume" skips steps 1 and 2 (read back what an earlier run wrote).
 * 3. A new consumer (no group) assign()s every partition at offset 0 and reads to the
 *    end (partition EOF): each partition must yield offsets 0, 1, 2, ... with no gap,
 *    and the record at offset o of partition p must be record i = o * partitions + p,
 *    key and value byte-identical, with exactly count / partitions (+1) records.
 *
 * Prints what it checked and the throughput; exits 0 when everything matched. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

static const char *bootstrap;
static const char *topic;
static long count;
static int size;
static int partitions;
static const char *codec;

static long dr_ok, dr_err, dr_bad_offset;
static char first_error[512];

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stdout, "FAIL: ");
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	va_end(ap);
	fflush(stdout);
	exit(1);
}

static size_t make_key(long i, char *buf, size_t cap)
{
	return (size_t)snprintf(buf, cap, "k%ld", i);
}

/* value of record i: "v<i>|" then text that depends on i, in runs of 4 bytes
 * (compressible, unlike random bytes, so every codec has something to do). */
static void make_value(long i, char *buf)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	int n = snprintf(buf, (size_t)size + 1, "v%ld|", i);
	if (n > size)
		n = size;
	for (int j = n; j < size; j++)
		buf[j] = alphabet[(i + j / 4) % 36];
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	(void)rk;
	(void)opaque;
	long i = (long)(intptr_t)msg->_private;
	if (msg->err) {
		if (dr_err++ == 0)
			snprintf(first_error, sizeof(first_error), "record %ld partition %d: %s", i,
				 (int)msg->partition, rd_kafka_err2str(msg->err));
		return;
	}
	dr_ok++;
	if (msg->offset != i / partitions || msg->partition != (int32_t)(i % partitions)) {
		if (dr_bad_offset++ < 5)
			printf("  delivery report for record %ld: partition %d offset %" PRId64
			       ", expected partition %ld offset %ld\n",
			       i, (int)msg->partition, msg->offset, i % partitions, i / partitions);
	}
}

static int compression_refused;

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 4) /* warnings and worse: keep them in the test log */
		fprintf(stderr, "librdkafka %d %s: %s\n", level, fac, buf);
	/* with debug=msg librdkafka says when it will not compress for this broker */
	if (strstr(buf, "does not support compression") && compression_refused++ == 0)
		printf("librdkafka: %s\n", buf);
}

static void create_topic(void)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	conf_set(conf, "bootstrap.servers", bootstrap);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf, "admin");
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, errstr, sizeof(errstr));
	if (!nt)
		die("NewTopic: %s", errstr);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_operation_timeout(opts, 30000, errstr, sizeof(errstr));
	rd_kafka_AdminOptions_set_request_timeout(opts, 30000, errstr, sizeof(errstr));
	rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
	if (!ev)
		die("CreateTopics %s: no result within 60 s", topic);
	if (rd_kafka_event_error(ev))
		die("CreateTopics %s: %s", topic, rd_kafka_event_error_string(ev));
	const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
	size_t n;
	const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
	if (n != 1)
		die("CreateTopics %s: %zu topic results", topic, n);
	if (rd_kafka_topic_result_error(tr[0]))
		die("CreateTopics %s: %s: %s", topic, rd_kafka_err2name(rd_kafka_topic_result_error(tr[0])),
		    rd_kafka_topic_result_error_string(tr[0]));
	printf("ok: CreateTopics %s with %d partitions\n", topic, partitions);
	rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
}

static void produce(void)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	conf_set(conf, "bootstrap.servers", bootstrap);
	conf_set(conf, "acks", "all");
	conf_set(conf, "compression.codec", codec);
	if (strcmp(codec, "none") != 0)
		conf_set(conf, "debug", "msg");
	conf_set(conf, "linger.ms", "10");
	conf_set(conf, "message.timeout.ms", "120000");
	conf_set(conf, "queue.buffering.max.messages", "200000");
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf, "producer");
	char key[32];
	char *val = malloc((size_t)size + 1);
	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		size_t klen = make_key(i, key, sizeof(key));
		make_value(i, val);
		for (;;) {
			rd_kafka_resp_err_t err = rd_kafka_producev(
				rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)(i % partitions)),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
				RD_KAFKA_V_VALUE(val, (size_t)size), RD_KAFKA_V_OPAQUE((void *)(intptr_t)i),
				RD_KAFKA_V_END);
			if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
				break;
			if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
				die("producev record %ld: %s", i, rd_kafka_err2str(err));
			rd_kafka_poll(rk, 50);
		}
		if ((i & 1023) == 0)
			rd_kafka_poll(rk, 0);
	}
	double t1 = now_s();
	while (rd_kafka_outq_len(rk) > 0 && now_s() - t1 < 180)
		rd_kafka_poll(rk, 100);
	double t2 = now_s();
	int left = rd_kafka_outq_len(rk);
	rd_kafka_destroy(rk);
	free(val);
	if (left)
		die("%d records still undelivered 180 s after the last produce", left);
	if (dr_err)
		die("%ld of %ld delivery reports failed; first: %s", dr_err, count, first_error);
	if (dr_ok != count)
		die("%ld successful delivery reports for %ld records", dr_ok, count);
	if (dr_bad_offset)
		die("%ld delivery reports with an unexpected offset/partition (see above)", dr_bad_offset);
	if (compression_refused)
		printf("NOTE: librdkafka sent %d batch(es) uncompressed: it judged from ApiVersions that the "
		       "broker does not support %s\n", compression_refused, codec);
	printf("ok: %ld records x %d bytes acks=all codec=%s: %ld successful delivery reports, "
	       "offsets 0..%ld in produce order on each of %d partitions (%.1f s, %.1f MB/s)\n",
	       count, size, codec, dr_ok, (count - 1) / partitions, partitions, t2 - t0,
	       (double)count * size / 1e6 / (t2 - t0));
}

static void consume(void)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	conf_set(conf, "bootstrap.servers", bootstrap);
	/* librdkafka's assign() needs a group.id; no group is joined (no subscribe) and
	 * nothing is committed, so the broker needs no group coordinator for this. */
	conf_set(conf, "group.id", "samsa-itest-assign");
	conf_set(conf, "enable.partition.eof", "true");
	conf_set(conf, "enable.auto.commit", "false");
	conf_set(conf, "enable.auto.offset.store", "false");
	conf_set(conf, "auto.offset.reset", "error");
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, conf, "consumer");
	rd_kafka_topic_partition_list_t *tpl = rd_kafka_topic_partition_list_new(partitions);
	for (int p = 0; p < partitions; p++)
		rd_kafka_topic_partition_list_add(tpl, topic, p)->offset = 0;
	rd_kafka_resp_err_t err = rd_kafka_assign(rk, tpl);
	if (err)
		die("assign: %s", rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(tpl);

	int64_t *next = calloc((size_t)partitions, sizeof(*next));
	int64_t *expect = calloc((size_t)partitions, sizeof(*expect));
	int *at_end = calloc((size_t)partitions, sizeof(*at_end));
	for (int p = 0; p < partitions; p++)
		expect[p] = count / partitions + (p < count % partitions ? 1 : 0);
	char key[32];
	char *val = malloc((size_t)size + 1);
	long got = 0, mismatches = 0;
	int ended = 0;
	double t0 = now_s(), last_progress = t0;
	while (ended < partitions) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
		if (!m) {
			if (now_s() - last_progress > 60)
				die("no progress for 60 s; %ld of %ld records read", got, count);
			continue;
		}
		last_progress = now_s();
		int p = m->partition;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			/* librdkafka reports EOF once the fetch position reaches the high watermark,
			 * after every record below it was delivered */
			if (p < 0 || p >= partitions)
				die("end of unexpected partition %d", p);
			if (next[p] != expect[p])
				die("partition %d: end of partition at offset %" PRId64 " after reading %" PRId64
				    " records; %" PRId64 " were produced and acknowledged",
				    p, m->offset, next[p], expect[p]);
			if (!at_end[p]) {
				at_end[p] = 1;
				ended++;
			}
			rd_kafka_message_destroy(m);
			continue;
		}
		if (m->err)
			die("consume error partition %d offset %" PRId64 ": %s", p, m->offset,
			    rd_kafka_message_errstr(m));
		if (p < 0 || p >= partitions)
			die("message from unexpected partition %d", p);
		if (m->offset != next[p])
			die("partition %d: offset %" PRId64 " after %" PRId64 " (expected %" PRId64
			    ": offsets must be contiguous from 0)",
			    p, m->offset, next[p] - 1, next[p]);
		if (m->offset >= expect[p])
			die("partition %d: offset %" PRId64 " beyond the %" PRId64 " records produced", p,
			    m->offset, expect[p]);
		long i = (long)(m->offset * partitions + p);
		size_t klen = make_key(i, key, sizeof(key));
		make_value(i, val);
		if (m->key_len != klen || memcmp(m->key, key, klen) != 0 || m->len != (size_t)size ||
		    memcmp(m->payload, val, (size_t)size) != 0) {
			if (mismatches++ < 5)
				printf("  partition %d offset %" PRId64 ": record differs from record %ld "
				       "(key %.*s, value %zu bytes: %.*s...)\n",
				       p, m->offset, i, (int)m->key_len, (const char *)m->key, m->len,
				       (int)(m->len < 24 ? m->len : 24), (const char *)m->payload);
		}
		next[p]++;
		got++;
		rd_kafka_message_destroy(m);
	}
	double t1 = now_s();
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	if (mismatches)
		die("%ld records not byte-identical to what was produced", mismatches);
	if (got != count)
		die("read %ld records, produced %ld", got, count);
	printf("ok: assign() from offset 0 read back all %ld records, key and value byte-identical, "
	       "offsets contiguous from 0 on each of %d partitions (%.1f s, %.1f MB/s)\n",
	       got, partitions, t1 - t0, (double)count * size / 1e6 / (t1 - t0));
	free(next);
	free(expect);
	free(at_end);
	free(val);
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: %s <bootstrap> <topic> <count> <size> <partitions> <codec> "
				"[create|nocreate|consume]\n", argv[0]);
		return 2;
	}
	bootstrap = argv[1];
	topic = argv[2];
	count = atol(argv[3]);
	size = atoi(argv[4]);
	partitions = atoi(argv[5]);
	codec = argv[6];
	const char *mode = argc > 7 ? argv[7] : "create";
	if (strcmp(mode, "create") && strcmp(mode, "nocreate") && strcmp(mode, "consume"))
		die("unknown mode %s", mode);
	if (count <= 0 || size < 1 || partitions <= 0)
		die("bad arguments");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "create") == 0)
		create_topic();
	if (strcmp(mode, "consume") != 0)
		produce();
	consume();
	return 0;
}
