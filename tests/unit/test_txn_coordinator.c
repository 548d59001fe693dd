/* The transaction coordinator.
 *
 * First its pure parts, stepped by hand: the state machine of one
 * transactional id (txn/txn_meta.h: InitProducerId with KIP-360 retries and
 * producer id rotation, AddPartitionsToTxn, EndTxn with Kafka's TV1 and TV2
 * rules, the coordinator's epoch fence) and the __transaction_state record
 * formats (txn/txn_log.h). Then the coordinator over a real data directory
 * with a fake clock and no thread (txn_coordinator_settle): markers written
 * on every partition and the LSO released, KIP-890 verification at the
 * partition, replay after a reopen, recovery of a transaction left in
 * PrepareCommit, the timeout abort with its epoch bump, InitProducerId
 * fencing an ongoing transaction, a delayed TV2 EndTxn, id expiry, the
 * admin views and stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/log.h"
#include "log/flusher.h"
#include "log/partition.h"
#include "meta/internal_topics.h"
#include "meta/topics.h"
#include "proto/gen/errors.h"
#include "txn/coordinator.h"
#include "txn/pid.h"
#include "txn/producer_state.h"
#include "txn/txn_log.h"
#include "txn/txn_meta.h"
#include "txn/txn_partition.h"
#include "unit/testutil_batch.h"

#define T0 1700000000000LL

/* ---- the state machine ---------------------------------------------------------- */

static int64_t next_fake_pid = 777;

static int fake_pid(void *arg, int64_t *pid)
{
	(void)arg;
	*pid = next_fake_pid++;
	return 0;
}

static const struct txn_pid_source pids = {fake_pid, NULL};

static struct txn_tps tps_of(const char *topic, int32_t partition)
{
	struct txn_tps s = {0};
	txn_tps_add(&s, topic, partition);
	return s;
}

/* Prepares InitProducerId and completes it; returns the new epoch. */
static int16_t meta_init(struct txn_meta *m, bool has_expected, int64_t pid, int16_t epoch)
{
	struct txn_transit t;
	assert_int_equal(txn_meta_prepare_init(m, 60000, has_expected, pid, epoch, T0, &pids, &t), KERR_NONE);
	assert_int_equal(t.state, TXN_EMPTY);
	assert_int_equal(txn_meta_complete(m, &t), 0);
	txn_transit_free(&t);
	return m->epoch;
}

static void meta_add(struct txn_meta *m, const char *topic, int32_t partition)
{
	struct txn_tps add = tps_of(topic, partition);
	struct txn_transit t;
	bool write;
	assert_int_equal(txn_meta_prepare_add(m, m->producer_id, m->epoch, &add, TXN_TV1, T0 + 10, &t, &write),
			 KERR_NONE);
	assert_true(write);
	assert_int_equal(txn_meta_complete(m, &t), 0);
	txn_transit_free(&t);
	txn_tps_free(&add);
}

/* EndTxn: the error, the transit completed when one is written. */
static int16_t meta_end(struct txn_meta *m, int64_t pid, int16_t epoch, bool commit, int16_t tv, bool *wrote,
			int64_t *rpid, int16_t *repoch)
{
	struct txn_transit t;
	bool write;
	int64_t p;
	int16_t e;
	int16_t err = txn_meta_prepare_end(m, pid, epoch, commit, true, tv, T0 + 20, &pids, &t, &write, &p, &e);
	if (write) {
		assert_int_equal(txn_meta_complete(m, &t), 0);
		txn_transit_free(&t);
	}
	if (wrote)
		*wrote = write;
	if (rpid)
		*rpid = p;
	if (repoch)
		*repoch = e;
	return err;
}

static void meta_complete(struct txn_meta *m)
{
	struct txn_transit t;
	txn_meta_prepare_complete(m, T0 + 30, &t);
	assert_int_equal(txn_meta_complete(m, &t), 0);
	txn_transit_free(&t);
}

static void test_meta_tv1(void **state)
{
	(void)state;
	struct txn_meta *m = txn_meta_new("app", 100, 60000, T0);
	assert_int_equal(m->epoch, -1);
	assert_int_equal(meta_init(m, false, -1, -1), 0);
	assert_int_equal(meta_init(m, false, -1, -1), 1); /* a new producer: the old one is fenced */
	assert_int_equal(m->state, TXN_EMPTY);

	/* EndTxn on Empty: nothing to end */
	assert_int_equal(meta_end(m, 100, 1, true, TXN_TV1, NULL, NULL, NULL), KERR_INVALID_TXN_STATE);

	meta_add(m, "t", 0);
	assert_int_equal(m->state, TXN_ONGOING);
	assert_int_equal(m->start_ms, T0 + 10);
	struct txn_tps again = tps_of("t", 0);
	struct txn_transit t;
	bool write = true;
	assert_int_equal(txn_meta_prepare_add(m, 100, 1, &again, TXN_TV1, T0 + 11, &t, &write), KERR_NONE);
	assert_false(write); /* already in: nothing written */
	assert_int_equal(txn_meta_prepare_add(m, 101, 1, &again, TXN_TV1, T0 + 11, &t, &write),
			 KERR_INVALID_PRODUCER_ID_MAPPING);
	assert_int_equal(txn_meta_prepare_add(m, 100, 0, &again, TXN_TV1, T0 + 11, &t, &write), KERR_PRODUCER_FENCED);
	assert_int_equal(txn_meta_verify(m, 100, 1, "t", 0), KERR_NONE);
	assert_int_equal(txn_meta_verify(m, 100, 1, "t", 1), KERR_TRANSACTION_ABORTABLE);
	assert_int_equal(txn_meta_verify(m, 100, 0, "t", 0), KERR_PRODUCER_FENCED);

	/* TV1 EndTxn: strict epoch, same epoch in the Prepare record */
	assert_int_equal(meta_end(m, 100, 0, true, TXN_TV1, NULL, NULL, NULL), KERR_PRODUCER_FENCED);
	assert_int_equal(meta_end(m, 100, 2, true, TXN_TV1, NULL, NULL, NULL), KERR_PRODUCER_FENCED);
	assert_int_equal(meta_end(m, 7, 1, true, TXN_TV1, NULL, NULL, NULL), KERR_INVALID_PRODUCER_ID_MAPPING);
	bool wrote;
	assert_int_equal(meta_end(m, 100, 1, true, TXN_TV1, &wrote, NULL, NULL), KERR_NONE);
	assert_true(wrote);
	assert_int_equal(m->state, TXN_PREPARE_COMMIT);
	assert_int_equal(m->epoch, 1);

	/* while Prepare*: retry later, or the wrong outcome */
	assert_int_equal(txn_meta_prepare_add(m, 100, 1, &again, TXN_TV1, T0, &t, &write), KERR_CONCURRENT_TRANSACTIONS);
	assert_int_equal(meta_end(m, 100, 1, true, TXN_TV1, NULL, NULL, NULL), KERR_CONCURRENT_TRANSACTIONS);
	assert_int_equal(meta_end(m, 100, 1, false, TXN_TV1, NULL, NULL, NULL), KERR_INVALID_TXN_STATE);
	assert_int_equal(txn_meta_prepare_init(m, 60000, false, -1, -1, T0, &pids, &t), KERR_CONCURRENT_TRANSACTIONS);

	/* markers written: Complete, partitions cleared */
	txn_meta_prepare_complete(m, T0 + 30, &t);
	assert_int_equal(m->pending, TXN_COMPLETE_COMMIT);
	assert_int_equal(meta_end(m, 100, 1, true, TXN_TV1, NULL, NULL, NULL), KERR_CONCURRENT_TRANSACTIONS);
	assert_int_equal(txn_meta_complete(m, &t), 0);
	txn_transit_free(&t);
	assert_int_equal(m->state, TXN_COMPLETE_COMMIT);
	assert_int_equal(m->partitions.n, 0);
	assert_int_equal(m->update_ms, T0 + 30);

	/* a retried commit succeeds, an abort after it does not */
	assert_int_equal(meta_end(m, 100, 1, true, TXN_TV1, &wrote, NULL, NULL), KERR_NONE);
	assert_false(wrote);
	assert_int_equal(meta_end(m, 100, 1, false, TXN_TV1, NULL, NULL, NULL), KERR_INVALID_TXN_STATE);

	/* the next transaction starts at its first partition */
	meta_add(m, "u", 3);
	assert_int_equal(m->state, TXN_ONGOING);
	assert_int_equal(m->partitions.n, 1);
	assert_int_equal(meta_end(m, 100, 1, false, TXN_TV1, NULL, NULL, NULL), KERR_NONE);
	meta_complete(m);
	assert_int_equal(m->state, TXN_COMPLETE_ABORT);
	txn_tps_free(&again);
	txn_meta_free(m);
}

static void test_meta_init_retries_and_rotation(void **state)
{
	(void)state;
	struct txn_meta *m = txn_meta_new("app", 100, 60000, T0);
	/* KIP-360 from a fresh id: any expected id is accepted */
	assert_int_equal(meta_init(m, true, 55, 9), 0);
	assert_int_equal(meta_init(m, false, -1, -1), 1);
	assert_int_equal(meta_init(m, false, -1, -1), 2);
	/* the producer continues after an error with its current epoch */
	assert_int_equal(meta_init(m, true, 100, 2), 3);
	assert_int_equal(m->last_epoch, 2);
	/* the same request again (its answer was lost): the same epoch */
	assert_int_equal(meta_init(m, true, 100, 2), 3);
	struct txn_transit t;
	assert_int_equal(txn_meta_prepare_init(m, 60000, true, 100, 1, T0, &pids, &t), KERR_PRODUCER_FENCED);
	assert_int_equal(txn_meta_prepare_init(m, 60000, true, 99, 3, T0, &pids, &t), KERR_PRODUCER_FENCED);
	assert_int_equal(m->pending, TXN_NONE);

	/* an exhausted epoch rotates to a new producer id */
	m->epoch = TXN_EPOCH_EXHAUSTED;
	next_fake_pid = 777;
	assert_int_equal(meta_init(m, true, 100, TXN_EPOCH_EXHAUSTED), 0);
	assert_int_equal(m->producer_id, 777);
	assert_int_equal(m->prev_producer_id, 100);
	assert_int_equal(m->last_epoch, TXN_EPOCH_EXHAUSTED);
	/* a retry of it, from the old id at the exhausted epoch, is not fenced */
	assert_int_equal(txn_meta_prepare_init(m, 60000, true, 100, TXN_EPOCH_EXHAUSTED, T0, &pids, &t), KERR_NONE);
	txn_meta_abandon(m, false);
	txn_transit_free(&t);
	txn_meta_free(m);
}

static void test_meta_tv2(void **state)
{
	(void)state;
	struct txn_meta *m = txn_meta_new("tv2", 200, 60000, T0);
	meta_init(m, false, -1, -1);
	/* TV2 may abort with no transaction (it cannot know whether one began) */
	bool wrote;
	int64_t rpid;
	int16_t repoch;
	assert_int_equal(meta_end(m, 200, 0, false, TXN_TV2, &wrote, NULL, NULL), KERR_NONE);
	assert_true(wrote);
	assert_int_equal(m->epoch, 1);
	meta_complete(m);
	assert_int_equal(m->state, TXN_COMPLETE_ABORT);

	meta_add(m, "t", 0);
	assert_int_equal(meta_end(m, 200, 1, true, TXN_TV2, &wrote, NULL, NULL), KERR_NONE);
	assert_int_equal(m->state, TXN_PREPARE_COMMIT);
	assert_int_equal(m->epoch, 2); /* the markers carry the bumped epoch */
	assert_int_equal(m->last_epoch, 1);
	/* a retry while the markers are written */
	assert_int_equal(meta_end(m, 200, 1, true, TXN_TV2, NULL, NULL, NULL), KERR_CONCURRENT_TRANSACTIONS);
	meta_complete(m);
	assert_int_equal(m->state, TXN_COMPLETE_COMMIT);
	assert_int_equal(m->epoch, 2);

	/* the same EndTxn again (old epoch): NONE with the new epoch; the other outcome: ITS */
	assert_int_equal(meta_end(m, 200, 1, true, TXN_TV2, &wrote, &rpid, &repoch), KERR_NONE);
	assert_false(wrote);
	assert_int_equal(rpid, 200);
	assert_int_equal(repoch, 2);
	assert_int_equal(meta_end(m, 200, 1, false, TXN_TV2, NULL, NULL, NULL), KERR_INVALID_TXN_STATE);
	assert_int_equal(meta_end(m, 200, 0, true, TXN_TV2, NULL, NULL, NULL), KERR_PRODUCER_FENCED);

	/* the next transaction: a delayed EndTxn with the old epoch cannot end it */
	meta_add(m, "t", 1);
	assert_int_equal(meta_end(m, 200, 1, true, TXN_TV2, NULL, NULL, NULL), KERR_PRODUCER_FENCED);
	assert_int_equal(meta_end(m, 200, 1, false, TXN_TV2, NULL, NULL, NULL), KERR_PRODUCER_FENCED);
	assert_int_equal(m->state, TXN_ONGOING);
	assert_int_equal(meta_end(m, 200, 2, false, TXN_TV2, &wrote, NULL, NULL), KERR_NONE);
	assert_int_equal(m->epoch, 3);
	meta_complete(m);

	/* the epoch about to overflow: the transaction ends with a new producer id */
	meta_add(m, "t", 0);
	m->epoch = TXN_EPOCH_EXHAUSTED;
	next_fake_pid = 900;
	assert_int_equal(meta_end(m, 200, TXN_EPOCH_EXHAUSTED, true, TXN_TV2, &wrote, NULL, NULL), KERR_NONE);
	assert_int_equal(m->epoch, INT16_MAX); /* the markers' epoch */
	assert_int_equal(m->next_producer_id, 900);
	meta_complete(m);
	assert_int_equal(m->producer_id, 900);
	assert_int_equal(m->epoch, 0);
	assert_int_equal(m->prev_producer_id, 200);
	/* its retry (old id, last epoch) still succeeds, with the new id */
	assert_int_equal(meta_end(m, 200, TXN_EPOCH_EXHAUSTED, true, TXN_TV2, &wrote, &rpid, &repoch), KERR_NONE);
	assert_false(wrote);
	assert_int_equal(rpid, 900);
	assert_int_equal(repoch, 0);
	txn_meta_free(m);
}

static void test_meta_fence(void **state)
{
	(void)state;
	struct txn_meta *m = txn_meta_new("f", 300, 60000, T0);
	meta_init(m, false, -1, -1);
	meta_init(m, false, -1, -1);
	meta_add(m, "t", 0);
	/* InitProducerId during a transaction: the fence */
	struct txn_transit t, end;
	assert_int_equal(txn_meta_prepare_init(m, 60000, false, -1, -1, T0, &pids, &t), KERR_NONE);
	assert_int_equal(t.state, TXN_PREPARE_EPOCH_FENCE);
	assert_int_equal(t.epoch, 2);
	/* the coordinator's abort with the fenced epoch */
	bool write;
	int64_t p;
	int16_t e;
	assert_int_equal(txn_meta_prepare_end(m, t.producer_id, t.epoch, false, false, TXN_TV1, T0, &pids, &end,
					      &write, &p, &e),
			 KERR_NONE);
	txn_transit_free(&t);
	assert_true(write);
	assert_int_equal(end.state, TXN_PREPARE_ABORT);
	assert_int_equal(end.epoch, 2);
	/* the write failed: the next fence does not bump again */
	txn_meta_abandon(m, true);
	assert_int_equal(m->epoch, 2);
	assert_int_equal(m->state, TXN_ONGOING);
	txn_transit_free(&end);
	assert_int_equal(txn_meta_prepare_fence(m, &t), KERR_NONE);
	assert_int_equal(t.epoch, 2);
	assert_int_equal(txn_meta_prepare_end(m, t.producer_id, t.epoch, false, false, TXN_TV1, T0, &pids, &end,
					      &write, &p, &e),
			 KERR_NONE);
	assert_int_equal(txn_meta_complete(m, &end), 0);
	txn_transit_free(&t);
	txn_transit_free(&end);
	assert_int_equal(m->state, TXN_PREPARE_ABORT);
	meta_complete(m);
	assert_false(m->failed_fence);
	/* the old producer is fenced everywhere */
	assert_int_equal(meta_end(m, 300, 1, false, TXN_TV1, NULL, NULL, NULL), KERR_PRODUCER_FENCED);
	assert_int_equal(meta_init(m, false, -1, -1), 3);
	txn_meta_free(m);
}

/* ---- records ---------------------------------------------------------------------- */

static void test_log_records(void **state)
{
	(void)state;
	size_t klen;
	uint8_t *key = txn_log_key("my-id", &klen);
	static const uint8_t want_key[] = {0, 0, 0, 5, 'm', 'y', '-', 'i', 'd'};
	assert_int_equal(klen, sizeof(want_key));
	assert_memory_equal(key, want_key, klen);
	char *id = NULL;
	assert_int_equal(txn_log_parse_key(key, klen, &id), 0);
	assert_string_equal(id, "my-id");
	free(id);
	free(key);
	static const uint8_t group_key[] = {0, 2, 0, 1, 'g'};
	assert_int_equal(txn_log_parse_key(group_key, sizeof(group_key), &id), 1);
	assert_int_equal(txn_log_parse_key(group_key, 1, &id), -SAMSA_ECORRUPT);

	struct txn_transit t = {
		.state = TXN_PREPARE_COMMIT,
		.producer_id = 42,
		.prev_producer_id = 41,
		.next_producer_id = 43,
		.epoch = 7,
		.timeout_ms = 60000,
		.start_ms = T0,
		.update_ms = T0 + 5,
		.client_tv = TXN_TV2,
	};
	txn_tps_add(&t.partitions, "b", 2);
	txn_tps_add(&t.partitions, "a", 1);
	txn_tps_add(&t.partitions, "b", 0);
	size_t vlen;
	uint8_t *value = txn_log_value(&t, &vlen);
	assert_int_equal(value[0], 0);
	assert_int_equal(value[1], 1); /* version 1 */
	struct txn_transit back;
	assert_int_equal(txn_log_parse_value(value, vlen, &back), 0);
	assert_int_equal(back.state, TXN_PREPARE_COMMIT);
	assert_int_equal(back.producer_id, 42);
	assert_int_equal(back.prev_producer_id, 41);
	assert_int_equal(back.next_producer_id, 43);
	assert_int_equal(back.epoch, 7);
	assert_int_equal(back.last_epoch, -1);
	assert_int_equal(back.timeout_ms, 60000);
	assert_int_equal(back.start_ms, T0);
	assert_int_equal(back.update_ms, T0 + 5);
	assert_int_equal(back.client_tv, TXN_TV2);
	assert_int_equal(back.partitions.n, 3);
	assert_true(txn_tps_contains(&back.partitions, "a", 1));
	assert_true(txn_tps_contains(&back.partitions, "b", 0));
	assert_true(txn_tps_contains(&back.partitions, "b", 2));
	txn_transit_free(&back);
	for (size_t cut = 0; cut < vlen; cut++)
		assert_int_equal(txn_log_parse_value(value, cut, &back), -SAMSA_ECORRUPT);
	free(value);
	txn_transit_free(&t);

	/* version 0, as Kafka 2.x-3.x writes it: classic strings and arrays, no tags */
	struct tb_buf b = {0};
	tb_be(&b, 0, 2);
	tb_be(&b, 9, 8);        /* producer id */
	tb_be(&b, 3, 2);        /* epoch */
	tb_be(&b, 15000, 4);    /* timeout */
	tb_be(&b, TXN_ONGOING, 1);
	tb_be(&b, 1, 4);        /* one topic */
	tb_be(&b, 1, 2);
	tb_put(&b, "x", 1);
	tb_be(&b, 2, 4);        /* two partitions */
	tb_be(&b, 4, 4);
	tb_be(&b, 5, 4);
	tb_be(&b, (uint64_t)(T0 + 1), 8);
	tb_be(&b, (uint64_t)T0, 8);
	assert_int_equal(txn_log_parse_value(b.data, b.len, &back), 0);
	assert_int_equal(back.state, TXN_ONGOING);
	assert_int_equal(back.producer_id, 9);
	assert_int_equal(back.epoch, 3);
	assert_int_equal(back.prev_producer_id, -1);
	assert_int_equal(back.client_tv, 0);
	assert_int_equal(back.partitions.n, 2);
	assert_true(txn_tps_contains(&back.partitions, "x", 5));
	txn_transit_free(&back);
	b.data[16] = 9; /* no such state */
	assert_int_equal(txn_log_parse_value(b.data, b.len, &back), -SAMSA_ECORRUPT);
	tb_free(&b);
}

/* ---- the coordinator on a real data directory ---------------------------------------- */

static int64_t fake_mono = 5000000;
static int64_t fake_wall = T0;

static int64_t mono_ms(void)
{
	return fake_mono;
}

static int64_t wall_ms(void)
{
	return fake_wall;
}

static const struct txn_clock fake_clock = {mono_ms, wall_ms};

static void advance(int64_t ms)
{
	fake_mono += ms;
	fake_wall += ms;
}

struct fixture {
	char dir[64];
	struct config *cfg;
	struct log_flusher *flusher;
	struct meta_topics *topics;
	struct txn_pids *pids;
	struct txn_coordinator *coord;
	int markers_written;
	int offsets_failures; /* offsets_marker fails this many more times */
};

static void on_markers(void *arg)
{
	struct fixture *fx = arg;
	fx->markers_written++;
}

/* The group coordinator's part, minus the offsets: the marker itself. */
static int offsets_marker(void *arg, int32_t partition, int64_t producer_id, int16_t epoch, bool commit,
			  int32_t coordinator_epoch, int64_t *marker_offset)
{
	struct fixture *fx = arg;
	if (fx->offsets_failures > 0) {
		fx->offsets_failures--;
		return -EIO;
	}
	struct meta_topic *topic = meta_topic_get(fx->topics, "__consumer_offsets");
	int rc = txn_partition_write_marker(topic->partitions[partition], producer_id, epoch, commit,
					    coordinator_epoch, fake_wall, marker_offset);
	meta_topic_put(fx->topics, topic);
	return rc;
}

static void open_coordinator(struct fixture *fx)
{
	char errmsg[ERRMSG_SIZE];
	struct txn_coordinator_options opts = {.clock = &fake_clock, .no_thread = true};
	struct txn_hooks hooks = {.offsets_marker = offsets_marker, .markers_written = on_markers, .arg = fx};
	fx->coord = txn_coordinator_open(fx->cfg, fx->topics, fx->flusher, fx->pids, &hooks, &opts, errmsg);
	if (!fx->coord)
		fail_msg("open: %s", errmsg);
}

static void reopen_coordinator(struct fixture *fx)
{
	txn_coordinator_close(fx->coord);
	open_coordinator(fx);
}

static void set(struct fixture *fx, const char *key, const char *value)
{
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(config_set(fx->cfg, key, value, errmsg), 0);
}

static int setup(void **state)
{
	log_set_level(LOG_WARN);
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/samsa-txnc-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->cfg = config_new();
	set(fx, "transaction.state.log.num.partitions", "3");
	set(fx, "transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000");
	set(fx, "transaction.remove.expired.transaction.cleanup.interval.ms", "5000");
	set(fx, "transactional.id.expiration.ms", "600000");
	set(fx, "transaction.max.timeout.ms", "300000");
	txn_partition_state_install(86400000);
	fx->flusher = log_flusher_start();
	char errmsg[ERRMSG_SIZE];
	fx->topics = meta_topics_open(fx->dir, fx->cfg, fx->flusher, errmsg);
	assert_non_null(fx->topics);
	assert_int_equal(meta_topic_create(fx->topics, "t", 2, 1, 0, NULL, NULL, false, errmsg), 0);
	fx->pids = txn_pids_open(fx->dir, errmsg);
	assert_non_null(fx->pids);
	open_coordinator(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	txn_coordinator_close(fx->coord);
	meta_topics_close(fx->topics);
	log_flusher_stop(fx->flusher);
	txn_pids_close(fx->pids);
	config_free(fx->cfg);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

struct answer {
	int calls;
	struct txn_result res;
};

static void on_done(void *arg, const struct txn_result *res)
{
	struct answer *a = arg;
	a->res = *res;
	a->calls++;
}

/* The answer of a request function: at once (rc 0) or after its write. */
static struct txn_result settle_answer(struct fixture *fx, int rc, const struct txn_result *now, struct answer *a)
{
	if (rc == 0) {
		assert_int_equal(a->calls, 0);
		return *now;
	}
	assert_int_equal(rc, 1);
	txn_coordinator_settle(fx->coord);
	assert_int_equal(a->calls, 1);
	return a->res;
}

static struct txn_result init(struct fixture *fx, const char *id, int32_t timeout_ms)
{
	struct answer a = {0};
	struct txn_result res;
	int rc = txn_init_producer_id(fx->coord, id, timeout_ms, -1, -1, &res, on_done, &a);
	return settle_answer(fx, rc, &res, &a);
}

static int16_t add(struct fixture *fx, const char *id, int64_t pid, int16_t epoch, const char *topic,
		   int32_t partition)
{
	struct answer a = {0};
	struct txn_result res;
	struct txn_tps parts = tps_of(topic, partition);
	int rc = txn_add_partitions(fx->coord, id, pid, epoch, &parts, TXN_TV1, &res, on_done, &a);
	txn_tps_free(&parts);
	return settle_answer(fx, rc, &res, &a).error;
}

static struct txn_result end(struct fixture *fx, const char *id, int64_t pid, int16_t epoch, bool commit,
			     int16_t tv)
{
	struct answer a = {0};
	struct txn_result res;
	int rc = txn_end(fx->coord, id, pid, epoch, commit, tv, &res, on_done, &a);
	return settle_answer(fx, rc, &res, &a);
}

static const char *state_of(struct fixture *fx, const char *id, int16_t *epoch)
{
	static char buf[32];
	struct arena *arena = arena_new(1024);
	struct txn_description d;
	txn_describe(fx->coord, id, arena, &d);
	snprintf(buf, sizeof(buf), "%s", d.error == KERR_NONE ? d.state : "(none)");
	if (epoch)
		*epoch = d.producer_epoch;
	arena_free(arena);
	return buf;
}

static struct log_partition *partition(struct fixture *fx, int32_t p)
{
	struct meta_topic *topic = meta_topic_get(fx->topics, "t");
	struct log_partition *part = topic->partitions[p];
	meta_topic_put(fx->topics, topic);
	return part;
}

/* A transactional batch from pid/epoch at part: the verdict. */
static enum txn_verdict produce(struct fixture *fx, int32_t p, int64_t pid, int16_t epoch, int32_t seq)
{
	struct tb_buf b = {0};
	struct tb_opts o;
	tb_opts_default(&o);
	o.producer_id = pid;
	o.attributes = RECORDS_ATTR_TRANSACTIONAL;
	size_t at = tb_batch(&b, &o);
	tb_set_be(b.data + at + 51, (uint16_t)epoch, 2);
	tb_set_be(b.data + at + 53, (uint32_t)seq, 4);
	tb_fix_crc(b.data + at);
	struct log_append_result res;
	enum txn_verdict v;
	char why[ERRMSG_SIZE];
	assert_int_equal(txn_partition_append(partition(fx, p), b.data, b.len, 1, fake_wall, &res, &v, why), 0);
	tb_free(&b);
	return v;
}

/* The producer's epoch at partition p as its last marker left it, or -1
 * without a marker. */
static int marker_epoch(struct fixture *fx, int32_t p, int64_t pid)
{
	struct arena *arena = arena_new(1024);
	struct txn_producer_info *info;
	int32_t n = txn_partition_producers(partition(fx, p), arena, &info);
	int epoch = -1;
	for (int32_t i = 0; i < n; i++)
		if (info[i].producer_id == pid && info[i].coordinator_epoch >= 0)
			epoch = info[i].epoch;
	arena_free(arena);
	return epoch;
}

static bool lso_released(struct fixture *fx, int32_t p)
{
	struct log_partition *part = partition(fx, p);
	return txn_partition_lso(part) == log_partition_end_offset(part);
}

static void test_commit_and_replay(void **state)
{
	struct fixture *fx = *state;
	struct txn_result r = init(fx, "app", 60000);
	assert_int_equal(r.error, KERR_NONE);
	assert_int_equal(r.producer_epoch, 0);
	int64_t pid = r.producer_id;
	assert_string_equal(state_of(fx, "app", NULL), "Empty");
	struct meta_topic *log_topic = meta_topic_get(fx->topics, META_TXN_STATE_TOPIC); /* created on first use */
	assert_non_null(log_topic);
	assert_int_equal(log_topic->partition_count, 3);
	meta_topic_put(fx->topics, log_topic);

	/* KIP-890: not added yet, so refused at the partition */
	assert_int_equal(produce(fx, 0, pid, 0, 0), TXN_NO_TXN);
	assert_int_equal(add(fx, "app", pid, 0, "t", 0), KERR_NONE);
	assert_int_equal(add(fx, "app", pid, 0, "t", 1), KERR_NONE);
	assert_int_equal(produce(fx, 0, pid, 0, 0), TXN_OK);
	assert_string_equal(state_of(fx, "app", NULL), "Ongoing");
	assert_false(lso_released(fx, 0));

	r = end(fx, "app", pid, 0, true, TXN_TV1);
	assert_int_equal(r.error, KERR_NONE);
	txn_coordinator_settle(fx->coord);
	assert_string_equal(state_of(fx, "app", NULL), "CompleteCommit");
	assert_int_equal(fx->markers_written, 1);
	/* a marker on both partitions, with the data or without */
	assert_int_equal(marker_epoch(fx, 0, pid), 0);
	assert_int_equal(marker_epoch(fx, 1, pid), 0);
	assert_true(lso_released(fx, 0));
	assert_int_equal(produce(fx, 0, pid, 0, 1), TXN_NO_TXN); /* the transaction is over */

	reopen_coordinator(fx);
	int16_t epoch;
	assert_string_equal(state_of(fx, "app", &epoch), "CompleteCommit");
	assert_int_equal(epoch, 0);
	r = init(fx, "app", 60000);
	assert_int_equal(r.producer_id, pid);
	assert_int_equal(r.producer_epoch, 1);
	assert_int_equal(end(fx, "app", pid, 0, true, TXN_TV1).error, KERR_PRODUCER_FENCED);
}

static void test_recover_prepared(void **state)
{
	struct fixture *fx = *state;
	struct txn_result r = init(fx, "app", 60000);
	int64_t pid = r.producer_id;
	assert_int_equal(add(fx, "app", pid, 0, "t", 0), KERR_NONE);
	assert_int_equal(produce(fx, 0, pid, 0, 0), TXN_OK);
	struct answer a = {0};
	struct txn_result res;
	assert_int_equal(txn_end(fx->coord, "app", pid, 0, true, TXN_TV1, &res, on_done, &a), 1);
	/* the PrepareCommit is durable and answered, then the broker stops
	 * before any marker is written */
	while (a.calls == 0)
		txn_coordinator_tick(fx->coord);
	assert_int_equal(a.res.error, KERR_NONE);
	reopen_coordinator(fx);
	assert_int_equal(fx->markers_written, 0);
	assert_string_equal(state_of(fx, "app", NULL), "PrepareCommit");
	assert_false(lso_released(fx, 0));
	/* meanwhile clients wait */
	assert_int_equal(end(fx, "app", pid, 0, true, TXN_TV1).error, KERR_CONCURRENT_TRANSACTIONS);
	txn_coordinator_settle(fx->coord);
	assert_string_equal(state_of(fx, "app", NULL), "CompleteCommit");
	assert_int_equal(marker_epoch(fx, 0, pid), 0);
	assert_true(lso_released(fx, 0));
	reopen_coordinator(fx);
	assert_string_equal(state_of(fx, "app", NULL), "CompleteCommit");
}

static void test_ongoing_survives_reopen(void **state)
{
	struct fixture *fx = *state;
	struct txn_result r = init(fx, "app", 60000);
	int64_t pid = r.producer_id;
	assert_int_equal(add(fx, "app", pid, 0, "t", 1), KERR_NONE);
	reopen_coordinator(fx);
	assert_string_equal(state_of(fx, "app", NULL), "Ongoing");
	/* still added at the partition after the replay */
	assert_int_equal(produce(fx, 1, pid, 0, 0), TXN_OK);
	assert_int_equal(end(fx, "app", pid, 0, false, TXN_TV1).error, KERR_NONE);
	txn_coordinator_settle(fx->coord);
	assert_string_equal(state_of(fx, "app", NULL), "CompleteAbort");
	assert_true(lso_released(fx, 1));
}

static void test_timeout_abort(void **state)
{
	struct fixture *fx = *state;
	struct txn_result r = init(fx, "slow", 5000);
	int64_t pid = r.producer_id;
	assert_int_equal(add(fx, "slow", pid, 0, "t", 0), KERR_NONE);
	assert_int_equal(produce(fx, 0, pid, 0, 0), TXN_OK);
	advance(4000);
	txn_coordinator_settle(fx->coord);
	assert_string_equal(state_of(fx, "slow", NULL), "Ongoing");
	advance(2000);
	txn_coordinator_settle(fx->coord);
	int16_t epoch;
	assert_string_equal(state_of(fx, "slow", &epoch), "CompleteAbort");
	assert_int_equal(epoch, 1); /* bumped: the producer is fenced */
	assert_true(lso_released(fx, 0));
	assert_int_equal(marker_epoch(fx, 0, pid), 1);
	assert_int_equal(produce(fx, 0, pid, 0, 1), TXN_INVALID_EPOCH);
	assert_int_equal(end(fx, "slow", pid, 0, true, TXN_TV1).error, KERR_PRODUCER_FENCED);
	assert_int_equal(add(fx, "slow", pid, 0, "t", 0), KERR_PRODUCER_FENCED);
	r = init(fx, "slow", 5000);
	assert_int_equal(r.producer_epoch, 2);
}

static void test_init_fences_ongoing(void **state)
{
	struct fixture *fx = *state;
	struct txn_result r = init(fx, "app", 60000);
	int64_t pid = r.producer_id;
	assert_int_equal(add(fx, "app", pid, 0, "t", 0), KERR_NONE);
	assert_int_equal(produce(fx, 0, pid, 0, 0), TXN_OK);
	/* a new instance of the producer: the old transaction is aborted first */
	r = init(fx, "app", 60000);
	assert_int_equal(r.error, KERR_CONCURRENT_TRANSACTIONS);
	txn_coordinator_settle(fx->coord);
	assert_string_equal(state_of(fx, "app", NULL), "CompleteAbort");
	assert_true(lso_released(fx, 0));
	r = init(fx, "app", 60000);
	assert_int_equal(r.error, KERR_NONE);
	assert_int_equal(r.producer_id, pid);
	assert_int_equal(r.producer_epoch, 2);
	assert_int_equal(end(fx, "app", pid, 0, false, TXN_TV1).error, KERR_PRODUCER_FENCED);
	/* bad timeouts */
	assert_int_equal(init(fx, "app", 0).error, KERR_INVALID_TRANSACTION_TIMEOUT);
	assert_int_equal(init(fx, "app", 300001).error, KERR_INVALID_TRANSACTION_TIMEOUT);
	assert_int_equal(init(fx, "", 1000).error, KERR_INVALID_REQUEST);
	assert_int_equal(end(fx, "nobody", 5, 0, true, TXN_TV1).error, KERR_INVALID_PRODUCER_ID_MAPPING);
}

static void test_tv2_delayed_end(void **state)
{
	struct fixture *fx = *state;
	struct txn_result r = init(fx, "tv2", 60000);
	int64_t pid = r.producer_id;
	assert_int_equal(add(fx, "tv2", pid, 0, "t", 0), KERR_NONE);
	r = end(fx, "tv2", pid, 0, true, TXN_TV2);
	assert_int_equal(r.error, KERR_NONE);
	assert_int_equal(r.producer_id, pid);
	assert_int_equal(r.producer_epoch, 1);
	txn_coordinator_settle(fx->coord);
	assert_int_equal(marker_epoch(fx, 0, pid), 1); /* the marker carries the new epoch */
	/* the retry of that EndTxn */
	r = end(fx, "tv2", pid, 0, true, TXN_TV2);
	assert_int_equal(r.error, KERR_NONE);
	assert_int_equal(r.producer_epoch, 1);
	/* the next transaction, then the first EndTxn arrives late again */
	assert_int_equal(add(fx, "tv2", pid, 1, "t", 1), KERR_NONE);
	assert_int_equal(end(fx, "tv2", pid, 0, true, TXN_TV2).error, KERR_PRODUCER_FENCED);
	assert_int_equal(end(fx, "tv2", pid, 0, false, TXN_TV2).error, KERR_PRODUCER_FENCED);
	assert_string_equal(state_of(fx, "tv2", NULL), "Ongoing");
	reopen_coordinator(fx); /* the TV2 fields survive the log */
	r = end(fx, "tv2", pid, 1, false, TXN_TV2);
	assert_int_equal(r.error, KERR_NONE);
	assert_int_equal(r.producer_epoch, 2);
	txn_coordinator_settle(fx->coord);
	assert_string_equal(state_of(fx, "tv2", NULL), "CompleteAbort");
}

/* A request for an id whose transaction is being completed waits for it
 * (instead of CONCURRENT_TRANSACTIONS), unless the markers wait for a retry. */
static void test_parked_requests(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(meta_topic_create(fx->topics, "__consumer_offsets", 2, 1, 0, NULL, NULL, false, errmsg), 0);
	struct txn_result r = init(fx, "app", 60000);
	int64_t pid = r.producer_id;
	assert_int_equal(add(fx, "app", pid, 0, "t", 0), KERR_NONE);
	struct answer e = {0}, a = {0}, x = {0};
	struct txn_result res;
	assert_int_equal(txn_end(fx->coord, "app", pid, 0, true, TXN_TV1, &res, on_done, &e), 1);
	while (e.calls == 0)
		txn_coordinator_tick(fx->coord);
	assert_int_equal(e.res.error, KERR_NONE); /* PrepareCommit is durable; the markers are not written yet */
	struct txn_tps parts = tps_of("t", 1);
	assert_int_equal(txn_add_partitions(fx->coord, "app", pid, 0, &parts, TXN_TV1, &res, on_done, &a), 1);
	assert_int_equal(txn_end(fx->coord, "app", pid, 0, false, TXN_TV1, &res, on_done, &x), 1);
	txn_coordinator_settle(fx->coord);
	assert_int_equal(fx->markers_written, 2); /* the commit's, then the abort's */
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.res.error, KERR_NONE); /* the next transaction began */
	assert_int_equal(x.calls, 1);
	assert_int_equal(x.res.error, KERR_NONE); /* and was aborted, in order */
	assert_string_equal(state_of(fx, "app", NULL), "CompleteAbort");
	txn_tps_free(&parts);

	/* markers that fail wait for a retry: meanwhile requests are told to retry */
	assert_int_equal(add(fx, "app", pid, 0, "__consumer_offsets", 1), KERR_NONE);
	fx->offsets_failures = 1;
	assert_int_equal(end(fx, "app", pid, 0, true, TXN_TV1).error, KERR_NONE);
	txn_coordinator_settle(fx->coord);
	assert_string_equal(state_of(fx, "app", NULL), "PrepareCommit");
	assert_int_equal(end(fx, "app", pid, 0, true, TXN_TV1).error, KERR_CONCURRENT_TRANSACTIONS);
	advance(1000);
	txn_coordinator_settle(fx->coord);
	assert_string_equal(state_of(fx, "app", NULL), "CompleteCommit");
	assert_int_equal(fx->offsets_failures, 0);
	assert_int_equal(end(fx, "app", pid, 0, true, TXN_TV1).error, KERR_NONE);

	/* stop answers a parked request */
	assert_int_equal(add(fx, "app", pid, 0, "t", 0), KERR_NONE);
	struct answer s2 = {0};
	assert_int_equal(txn_end(fx->coord, "app", pid, 0, false, TXN_TV1, &res, on_done, &s2), 1);
	struct answer p2 = {0};
	assert_int_equal(txn_end(fx->coord, "app", pid, 0, false, TXN_TV1, &res, on_done, &p2), 1);
	txn_coordinator_stop(fx->coord);
	assert_int_equal(s2.calls, 1);
	assert_int_equal(s2.res.error, KERR_NONE);
	assert_int_equal(p2.calls, 1);
	assert_int_equal(p2.res.error, KERR_NOT_COORDINATOR);
}

static void test_verify_only(void **state)
{
	struct fixture *fx = *state;
	struct txn_result r = init(fx, "v", 60000);
	int64_t pid = r.producer_id;
	assert_int_equal(add(fx, "v", pid, 0, "t", 0), KERR_NONE);
	struct txn_tps parts = {0};
	txn_tps_add(&parts, "t", 0);
	txn_tps_add(&parts, "t", 1);
	int16_t errors[2];
	txn_verify_partitions(fx->coord, "v", pid, 0, &parts, errors);
	assert_int_equal(errors[0], KERR_NONE);
	assert_int_equal(errors[1], KERR_TRANSACTION_ABORTABLE);
	txn_verify_partitions(fx->coord, "v", pid + 1, 0, &parts, errors);
	assert_int_equal(errors[0], KERR_INVALID_PRODUCER_ID_MAPPING);
	txn_verify_partitions(fx->coord, "unknown", pid, 0, &parts, errors);
	assert_int_equal(errors[1], KERR_INVALID_PRODUCER_ID_MAPPING);
	txn_tps_free(&parts);
}

static void test_expiry(void **state)
{
	struct fixture *fx = *state;
	set(fx, "transactional.id.expiration.ms", "60000");
	reopen_coordinator(fx);
	struct txn_result r = init(fx, "idle", 60000);
	assert_int_equal(r.error, KERR_NONE);
	r = init(fx, "busy", 60000);
	assert_int_equal(add(fx, "busy", r.producer_id, 0, "t", 0), KERR_NONE);
	advance(70000);
	txn_coordinator_settle(fx->coord);
	assert_string_equal(state_of(fx, "idle", NULL), "(none)");
	/* an ongoing transaction is never expired (it times out first) */
	assert_string_equal(state_of(fx, "busy", NULL), "CompleteAbort");
	reopen_coordinator(fx);
	assert_string_equal(state_of(fx, "idle", NULL), "(none)");
	struct arena *arena = arena_new(1024);
	struct txn_description d;
	txn_describe(fx->coord, "idle", arena, &d);
	assert_int_equal(d.error, KERR_TRANSACTIONAL_ID_NOT_FOUND);
	arena_free(arena);
}

static void test_list_describe_stop(void **state)
{
	struct fixture *fx = *state;
	struct txn_result a = init(fx, "a", 60000);
	struct txn_result b = init(fx, "b", 60000);
	assert_int_equal(add(fx, "b", b.producer_id, 0, "t", 1), KERR_NONE);
	assert_int_equal(add(fx, "b", b.producer_id, 0, "t", 0), KERR_NONE);
	advance(1500);
	struct arena *arena = arena_new(4096);
	struct txn_listing *list;
	int32_t n;
	assert_int_equal(txn_list(fx->coord, 0, NULL, 0, NULL, -1, arena, &list, &n), KERR_NONE);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].transactional_id, "a");
	assert_string_equal(list[0].state, "Empty");
	assert_int_equal(list[0].producer_id, a.producer_id);
	enum txn_state ongoing = TXN_ONGOING;
	assert_int_equal(txn_list(fx->coord, 1, &ongoing, 0, NULL, -1, arena, &list, &n), KERR_NONE);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].transactional_id, "b");
	assert_int_equal(txn_list(fx->coord, 0, NULL, 1, &a.producer_id, -1, arena, &list, &n), KERR_NONE);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].transactional_id, "a");
	assert_int_equal(txn_list(fx->coord, 1, &ongoing, 0, NULL, 1000, arena, &list, &n), KERR_NONE);
	assert_int_equal(n, 1);
	assert_int_equal(txn_list(fx->coord, 1, &ongoing, 0, NULL, 2000, arena, &list, &n), KERR_NONE);
	assert_int_equal(n, 0);

	struct txn_description d;
	txn_describe(fx->coord, "b", arena, &d);
	assert_int_equal(d.error, KERR_NONE);
	assert_string_equal(d.state, "Ongoing");
	assert_int_equal(d.timeout_ms, 60000);
	assert_int_equal(d.start_ms, fake_wall - 1500);
	assert_int_equal(d.partition_count, 2);
	assert_string_equal(d.topics[0], "t");
	assert_int_equal(d.partitions[0], 0);
	assert_int_equal(d.partitions[1], 1);
	txn_describe(fx->coord, "", arena, &d);
	assert_int_equal(d.error, KERR_INVALID_REQUEST);

	txn_coordinator_stop(fx->coord);
	assert_int_equal(init(fx, "a", 60000).error, KERR_NOT_COORDINATOR);
	assert_int_equal(end(fx, "b", b.producer_id, 0, true, TXN_TV1).error, KERR_NOT_COORDINATOR);
	assert_int_equal(txn_list(fx->coord, 0, NULL, 0, NULL, -1, arena, &list, &n), KERR_COORDINATOR_NOT_AVAILABLE);
	arena_free(arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_tv1),
		cmocka_unit_test(test_meta_init_retries_and_rotation),
		cmocka_unit_test(test_meta_tv2),
		cmocka_unit_test(test_meta_fence),
		cmocka_unit_test(test_log_records),
		cmocka_unit_test_setup_teardown(test_commit_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_prepared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ongoing_survives_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_fences_ongoing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tv2_delayed_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parked_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_describe_stop, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
