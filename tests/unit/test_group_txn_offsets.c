/* Transactional offsets in the group coordinator over a real data
 * directory, with the partitions' producer state installed: TxnOffsetCommit
 * offsets stay pending (invisible to OffsetFetch, UNSTABLE_OFFSET_COMMIT with
 * require_stable) until group_txn_end commits or aborts them, Kafka's
 * later-record-wins rule against plain commits, the refusals of the producer
 * state (no transaction begun, old epoch), the replay of transactional and
 * control batches at start-up, and tombstones / expiry / DeleteGroups with
 * pending offsets. Fake clock, no timer thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/config.h"
#include "base/log.h"
#include "group/coordinator.h"
#include "group/records.h"
#include "log/flusher.h"
#include "log/partition.h"
#include "meta/internal_topics.h"
#include "meta/topics.h"
#include "proto/batch.h"
#include "proto/gen/errors.h"
#include "proto/records.h"
#include "txn/txn_partition.h"
#include "testutil_group.h"

static int setup(void **state)
{
	log_set_level(LOG_WARN);
	txn_partition_state_install(86400000);
	*state = fixture_new("samsa-gtxn", NULL);
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	txn_partition_state_uninstall();
	return 0;
}

/* ---- helpers -------------------------------------------------------------------- */

/* What AddOffsetsToTxn does: the producer's transaction includes the
 * group's partition of __consumer_offsets. Returns that partition. */
static int32_t add_offsets(struct fixture *fx, const char *group, int64_t pid, int16_t epoch)
{
	int32_t p = group_offsets_partition(fx->coord, group);
	assert_int_equal(p, meta_internal_partition_for(group, 3));
	struct meta_topic *ot = meta_topic_get(fx->topics, META_OFFSETS_TOPIC);
	assert_non_null(ot);
	txn_partition_begin(ot->partitions[p], pid, epoch);
	meta_topic_put(fx->topics, ot);
	return p;
}

static int16_t txn_commit_v(struct fixture *fx, const char *group, int64_t pid, int16_t epoch, int32_t partition,
			    int64_t offset, bool abortable_known)
{
	struct group_commit_partition p = {"t", partition, offset, 4, "txn", -1, KERR_NONE};
	struct group_txn_commit_args a = {
		.commit = {.group_id = group, .member_id = "", .generation = -1, .count = 1, .partitions = &p},
		.producer_id = pid,
		.producer_epoch = epoch,
		.abortable_known = abortable_known,
	};
	struct done_flag d = {0};
	if (group_txn_commit_offsets(fx->coord, &a, on_done, &d))
		wait_done(&d);
	return p.error;
}

static int16_t txn_commit(struct fixture *fx, const char *group, int64_t pid, int16_t epoch, int32_t partition,
			  int64_t offset)
{
	return txn_commit_v(fx, group, pid, epoch, partition, offset, false);
}

static int16_t commit(struct fixture *fx, const char *group, int32_t partition, int64_t offset)
{
	struct group_commit_partition p = {"t", partition, offset, 3, NULL, -1, KERR_NONE};
	struct group_commit_args a = {group, "", NULL, -1, 1, &p};
	struct done_flag d = {0};
	if (group_commit_offsets(fx->coord, &a, on_done, &d))
		wait_done(&d);
	return p.error;
}

/* The committed offset; *error gets the partition's error (require_stable). */
static int64_t fetch_v(struct fixture *fx, const char *group, int32_t partition, bool require_stable, int16_t *error)
{
	struct arena *arena = arena_new(1024);
	struct group_offset o = {.topic = "t", .partition = partition};
	assert_int_equal(group_fetch_offsets(fx->coord, group, require_stable, 1, &o, arena), KERR_NONE);
	if (error)
		*error = o.error;
	arena_free(arena);
	return o.offset;
}

static int64_t fetch(struct fixture *fx, const char *group, int32_t partition)
{
	int16_t error;
	int64_t offset = fetch_v(fx, group, partition, false, &error);
	assert_int_equal(error, KERR_NONE);
	return offset;
}

static int16_t stable_error(struct fixture *fx, const char *group, int32_t partition)
{
	int16_t error;
	fetch_v(fx, group, partition, true, &error);
	return error;
}

static void end_txn(struct fixture *fx, int32_t partition, int64_t pid, int16_t epoch, bool commit)
{
	int64_t marker = -1;
	assert_int_equal(group_txn_end(fx->coord, partition, pid, epoch, commit, 0, &marker), 0);
	assert_true(marker >= 0);
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_pending_then_commit(void **state)
{
	struct fixture *fx = *state;
	int32_t p = add_offsets(fx, "g", 1000, 0);
	assert_int_equal(txn_commit(fx, "g", 1000, 0, 0, 10), KERR_NONE);
	assert_int_equal(fetch(fx, "g", 0), -1); /* pending: invisible */
	assert_int_equal(stable_error(fx, "g", 0), KERR_UNSTABLE_OFFSET_COMMIT);
	assert_int_equal(stable_error(fx, "g", 1), KERR_NONE);
	end_txn(fx, p, 1000, 0, true);
	assert_int_equal(fetch(fx, "g", 0), 10);
	assert_int_equal(stable_error(fx, "g", 0), KERR_NONE);
	int16_t error;
	assert_int_equal(fetch_v(fx, "g", 0, true, &error), 10);

	/* every committed offset, with require_stable */
	assert_int_equal(commit(fx, "g", 1, 3), KERR_NONE);
	p = add_offsets(fx, "g", 1000, 0);
	assert_int_equal(txn_commit(fx, "g", 1000, 0, 1, 4), KERR_NONE);
	struct arena *arena = arena_new(1024);
	struct group_offset *all;
	int32_t n;
	assert_int_equal(group_fetch_all_offsets(fx->coord, "g", true, arena, &all, &n), KERR_NONE);
	assert_int_equal(n, 2);
	assert_int_equal(all[0].offset, 10);
	assert_int_equal(all[0].error, KERR_NONE);
	assert_int_equal(all[1].offset, -1);
	assert_int_equal(all[1].error, KERR_UNSTABLE_OFFSET_COMMIT);
	assert_int_equal(group_fetch_all_offsets(fx->coord, "g", false, arena, &all, &n), KERR_NONE);
	assert_int_equal(all[1].offset, 3);
	arena_free(arena);
	end_txn(fx, p, 1000, 0, true);
	assert_int_equal(fetch(fx, "g", 1), 4);
}

static void test_abort_drops(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(commit(fx, "g", 0, 5), KERR_NONE);
	int32_t p = add_offsets(fx, "g", 1000, 0);
	assert_int_equal(txn_commit(fx, "g", 1000, 0, 0, 10), KERR_NONE);
	assert_int_equal(fetch(fx, "g", 0), 5);
	end_txn(fx, p, 1000, 0, false);
	assert_int_equal(fetch(fx, "g", 0), 5);
	assert_int_equal(stable_error(fx, "g", 0), KERR_NONE);
	/* a marker for another producer changes nothing here */
	p = add_offsets(fx, "g", 1001, 0);
	assert_int_equal(txn_commit(fx, "g", 1001, 0, 0, 11), KERR_NONE);
	add_offsets(fx, "g", 1002, 0);
	end_txn(fx, p, 1002, 0, true);
	assert_int_equal(fetch(fx, "g", 0), 5);
	assert_int_equal(stable_error(fx, "g", 0), KERR_UNSTABLE_OFFSET_COMMIT);
	end_txn(fx, p, 1001, 0, true);
	assert_int_equal(fetch(fx, "g", 0), 11);
}

static void test_refusals(void **state)
{
	struct fixture *fx = *state;
	/* no AddOffsetsToTxn: the partition knows no transaction */
	assert_int_equal(txn_commit(fx, "g", 1000, 0, 0, 10), KERR_INVALID_TXN_STATE);
	assert_int_equal(txn_commit_v(fx, "g", 1000, 0, 0, 10, true), KERR_TRANSACTION_ABORTABLE);
	assert_int_equal(txn_commit(fx, "g", -1, 0, 0, 10), KERR_INVALID_PRODUCER_ID_MAPPING);
	/* the refused commit left no group behind */
	struct arena *arena = arena_new(1024);
	struct group_listing *list;
	int32_t n;
	assert_int_equal(group_list(fx->coord, arena, &list, &n), KERR_NONE);
	assert_int_equal(n, 0);
	arena_free(arena);
	/* an older epoch than the begun one */
	add_offsets(fx, "g", 1000, 3);
	assert_int_equal(txn_commit(fx, "g", 1000, 2, 0, 10), KERR_INVALID_PRODUCER_EPOCH);
	assert_int_equal(stable_error(fx, "g", 0), KERR_NONE);
	/* group checks: a generation for a group that does not exist, a member
	 * the group does not know, an empty group id, metadata too large */
	struct group_commit_partition part = {"t", 0, 1, -1, NULL, -1, KERR_NONE};
	struct group_txn_commit_args a = {
		.commit = {.group_id = "nope", .member_id = "m", .generation = 4, .count = 1, .partitions = &part},
		.producer_id = 1000,
		.producer_epoch = 3,
	};
	assert_int_equal(group_txn_commit_offsets(fx->coord, &a, on_done, NULL), 0);
	assert_int_equal(part.error, KERR_ILLEGAL_GENERATION);
	assert_int_equal(commit(fx, "g", 1, 1), KERR_NONE);
	part.error = KERR_NONE;
	a.commit.group_id = "g";
	a.commit.generation = 0;
	assert_int_equal(group_txn_commit_offsets(fx->coord, &a, on_done, NULL), 0);
	assert_int_equal(part.error, KERR_UNKNOWN_MEMBER_ID);
	part.error = KERR_NONE;
	a.commit.group_id = "";
	assert_int_equal(group_txn_commit_offsets(fx->coord, &a, on_done, NULL), 0);
	assert_int_equal(part.error, KERR_INVALID_GROUP_ID);
	char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	part = (struct group_commit_partition){"t", 0, 1, -1, big, -1, KERR_NONE};
	a.commit.group_id = "g";
	a.commit.member_id = "";
	a.commit.generation = -1;
	assert_int_equal(group_txn_commit_offsets(fx->coord, &a, on_done, NULL), 0);
	assert_int_equal(part.error, KERR_OFFSET_METADATA_TOO_LARGE);
	/* a stale marker is refused and leaves the pending offsets alone */
	int32_t p = add_offsets(fx, "g", 1000, 3);
	assert_int_equal(txn_commit(fx, "g", 1000, 3, 0, 10), KERR_NONE);
	int64_t marker;
	assert_true(group_txn_end(fx->coord, p, 1000, 2, true, 0, &marker) < 0);
	assert_int_equal(stable_error(fx, "g", 0), KERR_UNSTABLE_OFFSET_COMMIT);
	end_txn(fx, p, 1000, 3, true);
	assert_int_equal(fetch(fx, "g", 0), 10);
}

/* Kafka keeps the most recent record when transactional and plain commits
 * mix, whatever the order of the marker. */
static void test_later_record_wins(void **state)
{
	struct fixture *fx = *state;
	int32_t p = add_offsets(fx, "g", 1000, 0);
	assert_int_equal(txn_commit(fx, "g", 1000, 0, 0, 10), KERR_NONE);
	assert_int_equal(commit(fx, "g", 0, 20), KERR_NONE); /* after the transactional record */
	end_txn(fx, p, 1000, 0, true);
	assert_int_equal(fetch(fx, "g", 0), 20);

	assert_int_equal(commit(fx, "g", 1, 30), KERR_NONE);
	p = add_offsets(fx, "g", 1000, 0);
	assert_int_equal(txn_commit(fx, "g", 1000, 0, 1, 25), KERR_NONE); /* after the plain one */
	end_txn(fx, p, 1000, 0, true);
	assert_int_equal(fetch(fx, "g", 1), 25);

	reopen(fx); /* the replay applies the same rule */
	assert_int_equal(fetch(fx, "g", 0), 20);
	assert_int_equal(fetch(fx, "g", 1), 25);
}

static void test_replay(void **state)
{
	struct fixture *fx = *state;
	int32_t p = add_offsets(fx, "g", 1000, 0);
	assert_int_equal(txn_commit(fx, "g", 1000, 0, 0, 10), KERR_NONE);
	end_txn(fx, p, 1000, 0, true);
	add_offsets(fx, "g", 1001, 0);
	assert_int_equal(txn_commit(fx, "g", 1001, 0, 0, 11), KERR_NONE);
	end_txn(fx, p, 1001, 0, false);
	add_offsets(fx, "g", 1002, 0);
	assert_int_equal(txn_commit(fx, "g", 1002, 0, 1, 12), KERR_NONE); /* no marker yet */
	add_offsets(fx, "other", 1003, 0);
	assert_int_equal(txn_commit(fx, "other", 1003, 0, 1, 13), KERR_NONE);

	reopen(fx);
	assert_int_equal(fetch(fx, "g", 0), 10);
	assert_int_equal(stable_error(fx, "g", 0), KERR_NONE);
	assert_int_equal(fetch(fx, "g", 1), -1);
	assert_int_equal(stable_error(fx, "g", 1), KERR_UNSTABLE_OFFSET_COMMIT);
	assert_int_equal(stable_error(fx, "other", 1), KERR_UNSTABLE_OFFSET_COMMIT);
	/* the transaction coordinator's recovery writes the missing markers */
	end_txn(fx, p, 1002, 0, true);
	end_txn(fx, meta_internal_partition_for("other", 3), 1003, 0, false);
	assert_int_equal(fetch(fx, "g", 1), 12);
	assert_int_equal(stable_error(fx, "other", 1), KERR_NONE);
	assert_int_equal(fetch(fx, "other", 1), -1);

	reopen(fx);
	assert_int_equal(fetch(fx, "g", 0), 10);
	assert_int_equal(fetch(fx, "g", 1), 12);
	assert_int_equal(stable_error(fx, "g", 1), KERR_NONE);
	assert_int_equal(stable_error(fx, "other", 1), KERR_NONE);
}

/* OffsetDelete and DeleteGroups drop pending offsets with tombstones, live
 * and at the replay; a later commit marker brings nothing back. */
static void test_tombstones_drop_pending(void **state)
{
	struct fixture *fx = *state;
	int32_t p = add_offsets(fx, "g", 1000, 0);
	assert_int_equal(txn_commit(fx, "g", 1000, 0, 0, 10), KERR_NONE);
	struct group_offset_delete od = {"t", 0, KERR_NONE};
	int16_t gerr;
	struct done_flag d = {0};
	assert_int_equal(group_delete_offsets(fx->coord, "g", 1, &od, &gerr, on_done, &d), 1);
	wait_done(&d);
	assert_int_equal(gerr, KERR_NONE);
	assert_int_equal(od.error, KERR_NONE);
	assert_int_equal(stable_error(fx, "g", 0), KERR_NONE);
	end_txn(fx, p, 1000, 0, true);
	assert_int_equal(fetch(fx, "g", 0), -1);

	add_offsets(fx, "h", 1001, 0);
	assert_int_equal(txn_commit(fx, "h", 1001, 0, 1, 7), KERR_NONE);
	const char *ids[] = {"h"};
	int16_t errors[1];
	struct done_flag d2 = {0};
	assert_int_equal(group_delete_groups(fx->coord, 1, ids, errors, on_done, &d2), 1);
	wait_done(&d2);
	assert_int_equal(errors[0], KERR_NONE);
	assert_int_equal(stable_error(fx, "h", 1), KERR_NONE);
	end_txn(fx, meta_internal_partition_for("h", 3), 1001, 0, true);
	assert_int_equal(fetch(fx, "h", 1), -1);

	reopen(fx);
	assert_int_equal(fetch(fx, "g", 0), -1);
	assert_int_equal(fetch(fx, "h", 1), -1);
	struct arena *arena = arena_new(1024);
	struct group_description desc;
	group_describe(fx->coord, "h", arena, &desc);
	assert_string_equal(desc.state, "Dead");
	arena_free(arena);
}

/* An offset with a transaction pending on it does not expire, and a group
 * with an open transaction is not removed. */
static void test_expiry_spares_pending(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(commit(fx, "simple", 0, 9), KERR_NONE);
	assert_int_equal(commit(fx, "simple", 1, 9), KERR_NONE);
	int32_t p = add_offsets(fx, "simple", 1000, 0);
	assert_int_equal(txn_commit(fx, "simple", 1000, 0, 0, 10), KERR_NONE);
	fake_mono += 2000;
	fake_wall += 61000;
	group_coordinator_tick(fx->coord);
	assert_int_equal(fetch(fx, "simple", 0), 9);  /* pending on it: kept */
	assert_int_equal(fetch(fx, "simple", 1), -1); /* expired */

	add_offsets(fx, "txnonly", 1001, 0);
	assert_int_equal(txn_commit(fx, "txnonly", 1001, 0, 1, 5), KERR_NONE);
	fake_mono += 2000;
	fake_wall += 61000;
	group_coordinator_tick(fx->coord);
	struct arena *arena = arena_new(1024);
	struct group_listing *list;
	int32_t n;
	assert_int_equal(group_list(fx->coord, arena, &list, &n), KERR_NONE);
	assert_int_equal(n, 2); /* both hold an open transaction */
	arena_free(arena);

	end_txn(fx, p, 1000, 0, true);
	assert_int_equal(fetch(fx, "simple", 0), 10);
	end_txn(fx, meta_internal_partition_for("txnonly", 3), 1001, 0, false);
	/* the transactions are over: the offset (committed at the time of its
	 * TxnOffsetCommit, 122 s ago) expires, and both groups, Empty without
	 * offsets, go */
	fake_mono += 2000;
	group_coordinator_tick(fx->coord);
	assert_int_equal(fetch(fx, "simple", 0), -1);
	arena = arena_new(1024);
	assert_int_equal(group_list(fx->coord, arena, &list, &n), KERR_NONE);
	assert_int_equal(n, 0);
	arena_free(arena);
}

static void test_records_transactional_batch(void **state)
{
	(void)state;
	struct bytebuf key, value;
	bytebuf_init(&key);
	bytebuf_init(&value);
	grec_offset_key(&key, "grp", "topic", 7);
	grec_offset_value(&value, 1234, 5, "md", 99);
	struct batch_builder batch;
	batch_builder_init(&batch, 1000);
	batch_builder_set_producer(&batch, 77, 3);
	batch_builder_add(&batch, key.data, key.len, value.data, (int32_t)value.len);
	batch_builder_finish(&batch);
	struct records_batch_header hdr;
	records_header_parse(batch.buf.data, &hdr);
	assert_int_equal(hdr.producer_id, 77);
	assert_int_equal(hdr.producer_epoch, 3);
	assert_int_equal(hdr.base_sequence, -1);
	assert_int_equal(hdr.attributes, RECORDS_ATTR_TRANSACTIONAL);
	batch_builder_fini(&batch);
	bytebuf_fini(&key);
	bytebuf_fini(&value);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_transactional_batch),
		cmocka_unit_test_setup_teardown(test_pending_then_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_later_record_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstones_drop_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_spares_pending, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
