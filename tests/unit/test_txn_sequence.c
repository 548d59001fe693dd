/* The producer state machine (txn/producer_state.h), stepped directly: Kafka's
 * sequence and epoch rules, the 5-batch duplicate window, sequence
 * wrap-around, transactions' first offset, KIP-890's begin and marker
 * fencing, expiry, the hash table under many
 * producers, and the snapshot encoding (round trip, every corruption
 * detected). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "txn/producer_state.h"

#define NOW 1700000000000LL

static struct txn_batch batch(int64_t pid, int16_t epoch, int32_t seq, int32_t count)
{
	struct txn_batch b = {
		.producer_id = pid,
		.epoch = epoch,
		.first_seq = seq,
		.offset_delta = count - 1,
		.append_time = -1,
	};
	return b;
}

/* Checks b, expecting `want`; on TXN_OK records it at *next_offset. */
static void step(struct txn_pstate *ps, struct txn_batch b, enum txn_verdict want, int64_t *next_offset)
{
	struct txn_batch_meta dup;
	char why[ERRMSG_SIZE] = "";
	enum txn_verdict v = txn_pstate_check(ps, &b, &dup, why);
	if (v != want)
		fail_msg("producer %lld epoch %d seq %d: got %s, want %s (%s)", (long long)b.producer_id,
			 b.epoch, b.first_seq, txn_verdict_name(v), txn_verdict_name(want), why);
	if (v == TXN_OK) {
		txn_pstate_update(ps, &b, *next_offset, NOW);
		*next_offset += b.offset_delta + 1;
	}
}

static void test_unknown_producer_any_sequence(void **state)
{
	(void)state;
	struct txn_pstate *ps = txn_pstate_new();
	int64_t off = 0;
	/* No state for the producer (new, or expired): any sequence (KIP-360). */
	step(ps, batch(7, 0, 42, 3), TXN_OK, &off);
	step(ps, batch(7, 0, 45, 1), TXN_OK, &off);
	step(ps, batch(7, 0, 47, 1), TXN_OUT_OF_ORDER, &off);
	step(ps, batch(8, 3, 0, 1), TXN_OK, &off);
	assert_int_equal(txn_pstate_count(ps), 2);
	const struct txn_producer *p = txn_pstate_find(ps, 7);
	assert_non_null(p);
	assert_int_equal(p->nbatches, 2);
	assert_int_equal(p->batches[1].first_seq, 45);
	assert_int_equal(p->batches[1].first_offset, 3);
	assert_null(txn_pstate_find(ps, 9));
	txn_pstate_free(ps);
}

static void test_duplicates_of_last_five(void **state)
{
	(void)state;
	struct txn_pstate *ps = txn_pstate_new();
	int64_t off = 100;
	/* Seven batches of 2 records: seqs 0-1, 2-3, ..., 12-13. */
	for (int i = 0; i < 7; i++)
		step(ps, batch(1, 0, 2 * i, 2), TXN_OK, &off);
	/* Each of the last five is a duplicate with its original offsets. */
	for (int i = 2; i < 7; i++) {
		struct txn_batch b = batch(1, 0, 2 * i, 2);
		struct txn_batch_meta dup;
		char why[ERRMSG_SIZE];
		assert_int_equal(txn_pstate_check(ps, &b, &dup, why), TXN_DUPLICATE);
		assert_int_equal(dup.first_offset, 100 + 2 * i);
		assert_int_equal(dup.offset_delta, 1);
		assert_int_equal(dup.last_seq, 2 * i + 1);
	}
	/* Older than the window: out of order, never appended again. */
	step(ps, batch(1, 0, 0, 2), TXN_OUT_OF_ORDER, &off);
	step(ps, batch(1, 0, 2, 2), TXN_OUT_OF_ORDER, &off);
	/* Same first sequence but another length: not the same batch. */
	step(ps, batch(1, 0, 12, 1), TXN_OUT_OF_ORDER, &off);
	/* A gap. */
	step(ps, batch(1, 0, 15, 1), TXN_OUT_OF_ORDER, &off);
	/* The next one in order. */
	step(ps, batch(1, 0, 14, 5), TXN_OK, &off);
	assert_int_equal(off, 119);
	txn_pstate_free(ps);
}

static void test_epochs(void **state)
{
	(void)state;
	struct txn_pstate *ps = txn_pstate_new();
	int64_t off = 0;
	step(ps, batch(5, 3, 0, 1), TXN_OK, &off);
	step(ps, batch(5, 3, 1, 1), TXN_OK, &off);
	/* An older epoch is fenced, even for a sequence that would fit. */
	step(ps, batch(5, 2, 2, 1), TXN_INVALID_EPOCH, &off);
	step(ps, batch(5, 2, 0, 1), TXN_INVALID_EPOCH, &off);
	/* A newer epoch must start at 0. */
	step(ps, batch(5, 4, 2, 1), TXN_OUT_OF_ORDER, &off);
	step(ps, batch(5, 4, 0, 2), TXN_OK, &off);
	const struct txn_producer *p = txn_pstate_find(ps, 5);
	assert_int_equal(p->epoch, 4);
	assert_int_equal(p->nbatches, 1); /* the new epoch dropped the old batches */
	/* The old epoch's batches are no longer duplicates: fenced instead. */
	step(ps, batch(5, 3, 1, 1), TXN_INVALID_EPOCH, &off);
	step(ps, batch(5, 4, 2, 1), TXN_OK, &off);
	/* A duplicate in the current epoch. */
	step(ps, batch(5, 4, 0, 2), TXN_DUPLICATE, &off);
	txn_pstate_free(ps);
}

static void test_sequence_wraps(void **state)
{
	(void)state;
	assert_int_equal(txn_seq_add(INT32_MAX, 0), INT32_MAX);
	assert_int_equal(txn_seq_add(INT32_MAX, 1), 0);
	assert_int_equal(txn_seq_add(INT32_MAX - 1, 3), 1);
	assert_int_equal(txn_seq_add(10, 5), 15);
	struct txn_pstate *ps = txn_pstate_new();
	int64_t off = 0;
	step(ps, batch(3, 0, INT32_MAX - 4, 5), TXN_OK, &off); /* ends at INT32_MAX */
	step(ps, batch(3, 0, 0, 3), TXN_OK, &off);
	step(ps, batch(3, 0, 3, 1), TXN_OK, &off);
	/* A batch that straddles the wrap. */
	struct txn_pstate *ps2 = txn_pstate_new();
	int64_t off2 = 0;
	step(ps2, batch(4, 0, INT32_MAX - 1, 4), TXN_OK, &off2); /* last seq 1 */
	assert_int_equal(txn_pstate_find(ps2, 4)->batches[0].last_seq, 1);
	step(ps2, batch(4, 0, 2, 1), TXN_OK, &off2);
	step(ps2, batch(4, 0, INT32_MAX - 1, 4), TXN_DUPLICATE, &off2);
	txn_pstate_free(ps2);
	txn_pstate_free(ps);
}

static void test_invalid_batches(void **state)
{
	(void)state;
	struct txn_pstate *ps = txn_pstate_new();
	int64_t off = 0;
	step(ps, batch(1, 0, -1, 1), TXN_INVALID, &off);
	step(ps, batch(1, -1, 0, 1), TXN_INVALID, &off);
	struct txn_batch c = batch(1, 0, 0, 1);
	c.control = true;
	step(ps, c, TXN_INVALID, &off);
	assert_int_equal(txn_pstate_count(ps), 0);
	txn_pstate_free(ps);
}

static void test_transaction_first_offset(void **state)
{
	(void)state;
	struct txn_pstate *ps = txn_pstate_new();
	struct txn_batch b = batch(9, 1, 0, 3);
	b.transactional = true;
	txn_pstate_update(ps, &b, 40, NOW);
	b.first_seq = 3;
	txn_pstate_update(ps, &b, 50, NOW);
	assert_int_equal(txn_pstate_find(ps, 9)->txn_first_offset, 40);
	/* A marker (control batch, no sequence) ends it and caches no batch. */
	struct txn_batch marker = batch(9, 1, -1, 1);
	marker.control = true;
	txn_pstate_update(ps, &marker, 60, NOW);
	const struct txn_producer *p = txn_pstate_find(ps, 9);
	assert_int_equal(p->txn_first_offset, -1);
	assert_int_equal(p->nbatches, 2);
	/* An ongoing transaction keeps its producer from expiring. */
	b.first_seq = 6;
	txn_pstate_update(ps, &b, 70, NOW);
	assert_int_equal(txn_pstate_expire(ps, NOW + 1000000, 1000), 0);
	txn_pstate_update(ps, &marker, 80, NOW);
	assert_int_equal(txn_pstate_expire(ps, NOW + 1000000, 1000), 1);
	txn_pstate_free(ps);
}

/* KIP-890 verification and marker fencing, on the pure state. */
static void test_begin_and_marker_rules(void **state)
{
	(void)state;
	struct txn_pstate *ps = txn_pstate_new();
	char why[ERRMSG_SIZE];
	struct txn_batch b = batch(4, 2, 0, 1);
	b.transactional = true;
	assert_int_equal(txn_pstate_check_txn(ps, &b, why), TXN_NO_TXN);
	txn_pstate_begin(ps, 4, 2, NOW);
	assert_int_equal(txn_pstate_find(ps, 4)->epoch, -1); /* begun, nothing written */
	assert_int_equal(txn_pstate_check_txn(ps, &b, why), TXN_OK);
	b.epoch = 1;
	assert_int_equal(txn_pstate_check_txn(ps, &b, why), TXN_INVALID_EPOCH);
	b.epoch = 3;
	assert_int_equal(txn_pstate_check_txn(ps, &b, why), TXN_NO_TXN);
	b.epoch = 2;
	txn_pstate_update(ps, &b, 10, NOW);
	/* Ongoing: non-transactional writes are refused, begun producers never expire. */
	struct txn_batch plain = batch(4, 2, 1, 1);
	assert_int_equal(txn_pstate_check_txn(ps, &plain, why), TXN_NO_TXN);
	txn_pstate_begin(ps, 5, 0, NOW);
	assert_int_equal(txn_pstate_expire(ps, NOW + 1000000, 1000), 0);
	/* Markers: an older epoch or coordinator epoch is fenced. */
	assert_int_equal(txn_pstate_check_marker(ps, 4, 1, 0, why), -ESTALE);
	assert_int_equal(txn_pstate_check_marker(ps, 4, 2, 0, why), 0);
	assert_int_equal(txn_pstate_check_marker(ps, 99, 0, 0, why), 0);
	struct txn_batch m = batch(4, 3, -1, 1);
	m.control = true;
	m.coordinator_epoch = 7;
	txn_pstate_update(ps, &m, 11, NOW);
	const struct txn_producer *p = txn_pstate_find(ps, 4);
	assert_int_equal(p->epoch, 3);
	assert_int_equal(p->coordinator_epoch, 7);
	assert_int_equal(p->txn_first_offset, -1);
	assert_int_equal(p->begun_epoch, -1);
	assert_int_equal(p->nbatches, 0); /* a new epoch restarts sequences */
	assert_int_equal(txn_pstate_check_marker(ps, 4, 3, 6, why), -ESTALE);
	b.epoch = 3;
	assert_int_equal(txn_pstate_check_txn(ps, &b, why), TXN_NO_TXN);
	txn_pstate_free(ps);
}

static void test_expiry(void **state)
{
	(void)state;
	struct txn_pstate *ps = txn_pstate_new();
	for (int64_t pid = 0; pid < 10; pid++) {
		struct txn_batch b = batch(pid, 0, 0, 1);
		txn_pstate_update(ps, &b, pid, NOW + pid * 1000);
	}
	uint64_t v = txn_pstate_version(ps);
	assert_int_equal(txn_pstate_expire(ps, NOW + 4000, 60000), 0);
	assert_int_equal(txn_pstate_version(ps), v);
	/* Idle >= 60 s at NOW + 64000: producers 0..4. */
	assert_int_equal(txn_pstate_expire(ps, NOW + 64000, 60000), 5);
	assert_true(txn_pstate_version(ps) != v);
	for (int64_t pid = 0; pid < 10; pid++)
		assert_true((txn_pstate_find(ps, pid) != NULL) == (pid >= 5));
	/* An expired producer is unknown again: any sequence is accepted. */
	int64_t off = 100;
	step(ps, batch(2, 0, 17, 1), TXN_OK, &off);
	txn_pstate_free(ps);
}

/* Many producers, half expired in a scattered pattern: backward-shift
 * deletion must keep every survivor reachable. */
static void test_many_producers(void **state)
{
	(void)state;
	struct txn_pstate *ps = txn_pstate_new();
	const int n = 20000;
	for (int i = 0; i < n; i++) {
		struct txn_batch b = batch(i * 7 + 1, 0, 0, 1);
		txn_pstate_update(ps, &b, i, (i % 3 == 0) ? NOW : NOW + 100000);
	}
	assert_int_equal(txn_pstate_count(ps), n);
	size_t gone = txn_pstate_expire(ps, NOW + 100000, 50000);
	assert_int_equal(gone, (n + 2) / 3);
	for (int i = 0; i < n; i++) {
		const struct txn_producer *p = txn_pstate_find(ps, i * 7 + 1);
		if (i % 3 == 0) {
			assert_null(p);
		} else {
			assert_non_null(p);
			assert_int_equal(p->batches[0].first_offset, i);
		}
	}
	assert_null(txn_pstate_find(ps, 0));
	txn_pstate_free(ps);
}

static struct txn_pstate *sample_state(void)
{
	struct txn_pstate *ps = txn_pstate_new();
	int64_t off = 0;
	for (int64_t pid = 0; pid < 50; pid++)
		for (int k = 0; k < (int)(pid % 8); k++)
			step(ps, batch(pid * 1000003, (int16_t)(pid % 5), k * 10, 10), TXN_OK, &off);
	struct txn_batch t = batch(77, 2, 0, 1);
	t.transactional = true;
	t.append_time = NOW;
	txn_pstate_update(ps, &t, 999, NOW);
	return ps;
}

static void test_snapshot_round_trip(void **state)
{
	(void)state;
	struct txn_pstate *ps = sample_state();
	size_t len;
	uint8_t *blob = txn_pstate_encode(ps, 12345, &len);
	struct txn_pstate *back = txn_pstate_new();
	int64_t offset = -1;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(txn_pstate_decode(back, blob, len, &offset, errmsg), 0);
	assert_int_equal(offset, 12345);
	assert_int_equal(txn_pstate_count(back), txn_pstate_count(ps));
	for (int64_t pid = 0; pid < 50; pid++) {
		const struct txn_producer *a = txn_pstate_find(ps, pid * 1000003);
		const struct txn_producer *b = txn_pstate_find(back, pid * 1000003);
		assert_true((a == NULL) == (b == NULL));
		if (!a)
			continue;
		assert_int_equal(a->epoch, b->epoch);
		assert_int_equal(a->coordinator_epoch, b->coordinator_epoch);
		assert_int_equal(a->txn_first_offset, b->txn_first_offset);
		assert_int_equal(a->last_update_ms, b->last_update_ms);
		assert_int_equal(a->nbatches, b->nbatches);
		for (int k = 0; k < a->nbatches; k++) {
			const struct txn_batch_meta *x = &a->batches[k], *y = &b->batches[k];
			assert_int_equal(x->first_seq, y->first_seq);
			assert_int_equal(x->last_seq, y->last_seq);
			assert_int_equal(x->first_offset, y->first_offset);
			assert_int_equal(x->offset_delta, y->offset_delta);
			assert_int_equal(x->append_time, y->append_time);
		}
	}
	const struct txn_producer *t = txn_pstate_find(back, 77);
	assert_int_equal(t->txn_first_offset, 999);
	assert_int_equal(t->batches[0].append_time, NOW);
	/* Re-encoding the decoded state gives the same bytes. */
	size_t len2;
	uint8_t *blob2 = txn_pstate_encode(back, 12345, &len2);
	assert_int_equal(len, len2);
	free(blob2);

	/* An empty state. */
	struct txn_pstate *empty = txn_pstate_new();
	size_t elen;
	uint8_t *eblob = txn_pstate_encode(empty, 0, &elen);
	assert_int_equal(txn_pstate_decode(back, eblob, elen, &offset, errmsg), 0);
	assert_int_equal(offset, 0);
	assert_int_equal(txn_pstate_count(back), 0);
	free(eblob);
	txn_pstate_free(empty);
	free(blob);
	txn_pstate_free(back);
	txn_pstate_free(ps);
}

static void test_snapshot_corruption(void **state)
{
	(void)state;
	struct txn_pstate *ps = sample_state();
	size_t len;
	uint8_t *blob = txn_pstate_encode(ps, 777, &len);
	struct txn_pstate *back = txn_pstate_new();
	int64_t offset;
	char errmsg[ERRMSG_SIZE];
	/* Every single-bit flip is caught (CRC-32C), and leaves the state empty. */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			blob[i] ^= (uint8_t)(1 << bit);
			assert_int_equal(txn_pstate_decode(back, blob, len, &offset, errmsg), -SAMSA_ECORRUPT);
			assert_int_equal(txn_pstate_count(back), 0);
			blob[i] ^= (uint8_t)(1 << bit);
		}
	}
	/* Every truncation too. */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(txn_pstate_decode(back, blob, n, &offset, errmsg), -SAMSA_ECORRUPT);
	assert_int_equal(txn_pstate_decode(back, blob, len, &offset, errmsg), 0);
	free(blob);
	txn_pstate_free(back);
	txn_pstate_free(ps);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_producer_any_sequence),
		cmocka_unit_test(test_duplicates_of_last_five),
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_sequence_wraps),
		cmocka_unit_test(test_invalid_batches),
		cmocka_unit_test(test_transaction_first_offset),
		cmocka_unit_test(test_begin_and_marker_rules),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_many_producers),
		cmocka_unit_test(test_snapshot_round_trip),
		cmocka_unit_test(test_snapshot_corruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
