/* txn_transform: librdkafka's exactly-once consume-transform-produce loop, as
 * librdkafka's documentation prescribes it, while the test kills the broker.
 *
 *   txn_transform <bootstrap> <input> <output> <group> <transactional.id> <records per txn> <deadline s> [rate]
 *
 * A consumer in group <group> (subscribe, isolation.level=read_committed,
 * enable.auto.commit=false) reads <input>; a transactional producer writes each
 * record to the same partition of <output> with the value "out:" + input value and
 * the input key. Every <records per txn> records (or 200 ms) it sends the consumed
 * positions with rd_kafka_send_offsets_to_transaction(rd_kafka_consumer_group_metadata)
 * and commits, processing at most [rate] records/s (default: no limit) so that the test's
 * crashes land in the middle of the run. Errors are handled as librdkafka documents:
 *   - retriable: retry the same call;
 *   - abortable (txn_requires_abort): rd_kafka_abort_transaction, then rewind the
 *     consumer to the group's committed offsets (rd_kafka_committed + seek);
 *   - fatal, or neither of the above: print it and exit 1 (the test starts a new
 *     instance, whose init_transactions fences this one).
 * On a revoke the open transaction is aborted. Exits 0 once the committed offsets
 * reach the input's high watermarks (read at start) with no transaction open, 2
 * after the deadline. Prints one summary line:
 *   txn_transform: exit=<why> commits=<n> aborts=<n> records=<n> (committed) retries=<n> */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MAX_PARTS 64

static rd_kafka_t *producer, *consumer;
static const char *in_topic, *out_topic;
static int parts;
static int64_t hw[MAX_PARTS];        /* input high watermarks */
static int64_t committed[MAX_PARTS]; /* group offsets as of our last commit (-1: unknown) */
static int64_t pos[MAX_PARTS];       /* next offset to process, this transaction included */
static int in_txn_records, txn_open;
static double txn_started;
static long n_commits, n_aborts, n_records, n_retries;

static void finish(int rc, const char *why)
{
	printf("txn_transform: exit=%s commits=%ld aborts=%ld records=%ld retries=%ld\n", why, n_commits,
	       n_aborts, n_records, n_retries);
	fflush(stdout);
	exit(rc);
}

static void fatal(const char *what, rd_kafka_error_t *error)
{
	fprintf(stderr, "txn_transform: %s: %s (%s)%s\n", what, rd_kafka_error_string(error),
		rd_kafka_err2name(rd_kafka_error_code(error)), rd_kafka_error_is_fatal(error) ? " [fatal]" : "");
	rd_kafka_error_destroy(error);
	finish(1, "fatal");
}

/* Re-reads the group's committed offsets for the current assignment; seeks there
 * when `seek` (after an abort). Retries while the broker is away. */
static void load_committed(int seek)
{
	rd_kafka_topic_partition_list_t *asg = NULL;
	if (rd_kafka_assignment(consumer, &asg) || !asg)
		return;
	for (;;) {
		rd_kafka_resp_err_t err = rd_kafka_committed(consumer, asg, 10000);
		if (!err)
			break;
		n_retries++;
		fprintf(stderr, "txn_transform: committed(): %s, retrying\n", rd_kafka_err2name(err));
		usleep(100 * 1000);
	}
	for (int i = 0; i < asg->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &asg->elems[i];
		if (tp->partition < 0 || tp->partition >= parts)
			continue;
		if (tp->offset < 0)
			tp->offset = 0; /* nothing committed yet: the input starts at 0 */
		committed[tp->partition] = tp->offset;
		pos[tp->partition] = tp->offset;
	}
	if (seek) {
		rd_kafka_error_t *error = rd_kafka_seek_partitions(consumer, asg, 10000);
		if (error)
			fatal("seek_partitions", error);
	}
	rd_kafka_topic_partition_list_destroy(asg);
}

static void abort_txn(int rewind)
{
	if (txn_open) {
		for (;;) {
			rd_kafka_error_t *error = rd_kafka_abort_transaction(producer, -1);
			if (!error)
				break;
			if (rd_kafka_error_is_retriable(error) && !rd_kafka_error_is_fatal(error)) {
				n_retries++;
				rd_kafka_error_destroy(error);
				continue;
			}
			fatal("abort_transaction", error);
		}
		n_aborts++;
	}
	txn_open = 0;
	in_txn_records = 0;
	if (rewind)
		load_committed(1);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *list,
			 void *opaque)
{
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		rd_kafka_assign(rk, list);
		load_committed(0);
	} else {
		abort_txn(0); /* records of partitions we lose must not be committed by us */
		rd_kafka_assign(rk, NULL);
	}
}

/* An error from a transactional call: 1 = retry it, 0 = it was aborted and rewound. */
static int handle(const char *what, rd_kafka_error_t *error)
{
	if (rd_kafka_error_is_fatal(error))
		fatal(what, error);
	if (rd_kafka_error_txn_requires_abort(error)) {
		fprintf(stderr, "txn_transform: %s: %s: aborting\n", what, rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
		abort_txn(1);
		return 0;
	}
	if (rd_kafka_error_is_retriable(error)) {
		n_retries++;
		rd_kafka_error_destroy(error);
		usleep(50 * 1000);
		return 1;
	}
	fatal(what, error);
	return 0;
}

static void commit_txn(void)
{
	rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(parts);
	for (int p = 0; p < parts; p++)
		if (pos[p] > committed[p])
			rd_kafka_topic_partition_list_add(offs, in_topic, p)->offset = pos[p];
	rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(consumer);
	rd_kafka_error_t *error;
	while ((error = rd_kafka_send_offsets_to_transaction(producer, offs, cgmd, -1)))
		if (!handle("send_offsets_to_transaction", error))
			goto out;
	while ((error = rd_kafka_commit_transaction(producer, -1)))
		if (!handle("commit_transaction", error))
			goto out;
	n_commits++;
	n_records += in_txn_records;
	for (int i = 0; i < offs->cnt; i++)
		committed[offs->elems[i].partition] = offs->elems[i].offset;
	txn_open = 0;
	in_txn_records = 0;
out:
	rd_kafka_consumer_group_metadata_destroy(cgmd);
	rd_kafka_topic_partition_list_destroy(offs);
}

static void process(rd_kafka_message_t *m)
{
	if (!txn_open) {
		rd_kafka_error_t *error = rd_kafka_begin_transaction(producer);
		if (error)
			fatal("begin_transaction", error);
		txn_open = 1;
		txn_started = now_s();
	}
	char val[256];
	int len = snprintf(val, sizeof(val), "out:%.*s", (int)(m->len < 200 ? m->len : 200), (const char *)m->payload);
	for (;;) {
		rd_kafka_resp_err_t err = rd_kafka_producev(
			producer, RD_KAFKA_V_TOPIC(out_topic), RD_KAFKA_V_PARTITION(m->partition),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(m->key, m->key_len),
			RD_KAFKA_V_VALUE(val, (size_t)len), RD_KAFKA_V_END);
		if (!err)
			break;
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			rd_kafka_poll(producer, 10);
			continue;
		}
		/* the transaction failed underneath (e.g. an abortable produce error) */
		fprintf(stderr, "txn_transform: producev: %s: aborting\n", rd_kafka_err2name(err));
		char fe[256];
		if (rd_kafka_fatal_error(producer, fe, sizeof(fe))) {
			fprintf(stderr, "txn_transform: fatal: %s\n", fe);
			finish(1, "fatal");
		}
		abort_txn(1);
		return;
	}
	pos[m->partition] = m->offset + 1;
	in_txn_records++;
}

static int all_done(void)
{
	if (txn_open)
		return 0;
	for (int p = 0; p < parts; p++)
		if (committed[p] < hw[p])
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 8) {
		fprintf(stderr, "usage: %s <bootstrap> <input> <output> <group> <transactional.id> "
				"<records per txn> <deadline s> [rate]\n", argv[0]);
		return 2;
	}
	double rate = argc > 8 ? atof(argv[8]) : 0;
	long processed = 0;
	in_topic = argv[2];
	out_topic = argv[3];
	int per_txn = atoi(argv[6]);
	double deadline = now_s() + atof(argv[7]);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);
	rd_kafka_conf_t *pc = conf_for_restarts(argv[1]);
	conf_set(pc, "transactional.id", argv[5]);
	conf_set(pc, "transaction.timeout.ms", "30000");
	conf_set(pc, "linger.ms", "5");
	conf_set(pc, "request.timeout.ms", "5000");
	conf_set(pc, "retry.backoff.ms", "50");
	producer = client_new(RD_KAFKA_PRODUCER, pc, "producer");

	rd_kafka_conf_t *cc = conf_for_restarts(argv[1]);
	conf_set(cc, "group.id", argv[4]);
	conf_set(cc, "isolation.level", "read_committed");
	conf_set(cc, "enable.auto.commit", "false");
	conf_set(cc, "auto.offset.reset", "earliest");
	conf_set(cc, "session.timeout.ms", "3000");
	conf_set(cc, "heartbeat.interval.ms", "500");
	conf_set(cc, "fetch.wait.max.ms", "100");
	rd_kafka_conf_set_rebalance_cb(cc, rebalance_cb);
	consumer = client_new(RD_KAFKA_CONSUMER, cc, "consumer");
	rd_kafka_poll_set_consumer(consumer);

	/* The input is complete before we start: its high watermarks are the goal. */
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(consumer, in_topic, NULL);
	while (rd_kafka_metadata(consumer, 0, rkt, &md, 5000) || md->topic_cnt != 1 ||
	       md->topics[0].err || md->topics[0].partition_cnt < 1) {
		if (md)
			rd_kafka_metadata_destroy(md);
		md = NULL;
		if (now_s() > deadline)
			finish(2, "deadline");
		usleep(100 * 1000);
	}
	parts = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	if (parts > MAX_PARTS)
		return 2;
	for (int p = 0; p < parts; p++) {
		int64_t lo;
		while (rd_kafka_query_watermark_offsets(consumer, in_topic, p, &lo, &hw[p], 5000)) {
			if (now_s() > deadline)
				finish(2, "deadline");
			usleep(100 * 1000);
		}
		committed[p] = -1;
	}

	rd_kafka_error_t *error;
	while ((error = rd_kafka_init_transactions(producer, 10000))) {
		if (rd_kafka_error_is_fatal(error) || !rd_kafka_error_is_retriable(error))
			fatal("init_transactions", error);
		n_retries++;
		rd_kafka_error_destroy(error);
		if (now_s() > deadline)
			finish(2, "deadline");
	}

	rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, in_topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t serr = rd_kafka_subscribe(consumer, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (serr) {
		fprintf(stderr, "subscribe: %s\n", rd_kafka_err2str(serr));
		return 1;
	}

	double started = now_s();
	while (!all_done()) {
		double now = now_s();
		if (now > deadline)
			finish(2, "deadline");
		if (rate > 0 && (double)processed >= (now - started) * rate) {
			rd_kafka_poll(producer, 1);
			if (txn_open && now - txn_started > 0.2)
				commit_txn();
			continue;
		}
		rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 50);
		if (m) {
			if (m->err) {
				if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
					fprintf(stderr, "txn_transform: consume: %s\n", rd_kafka_message_errstr(m));
			} else if (m->partition >= 0 && m->partition < parts) {
				process(m);
				processed++;
			}
			rd_kafka_message_destroy(m);
		}
		rd_kafka_poll(producer, 0);
		if (txn_open && in_txn_records > 0 &&
		    (in_txn_records >= per_txn || now_s() - txn_started > 0.2))
			commit_txn();
	}
	rd_kafka_consumer_close(consumer);
	rd_kafka_destroy(consumer);
	rd_kafka_destroy(producer);
	finish(0, "done");
	return 0;
}
