/* Transactions at one partition (txn_partition.h) and the produce path's
 * locked check + append (producer_state.h): everything that appends a batch
 * with a producer id holds the partition's producer-state lock from the check
 * to the record, so the state, the set of ongoing transactions and the
 * aborted-transactions index always describe exactly the batches below the
 * end offset read under that lock (what snapshots rely on).
 *
 * Last stable offset. The ongoing set holds the first offsets of the
 * transactions with data here, ascending (first offsets are handed out in
 * log order, so inserts land at the end; removals are rare and small).
 * Readers do not take the lock: they read the end offset, then
 * tp->unstable. A transaction's first batch lowers tp->unstable to the end
 * offset before the append publishes the batch, so a reader that sees the
 * batch also sees a bound at or below its offset. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "log/partition.h"
#include "txn/partition_int.h"
#include "txn/txn_partition.h"

#define TXN_MODULE "txn"

/* An end-transaction marker batch: header plus one 17-byte record. */
#define MARKER_RECORD_BODY 16
#define MARKER_BATCH_SIZE (RECORDS_BATCH_HEADER_SIZE + 1 + MARKER_RECORD_BODY)
#define MARKER_KEY_SIZE 4   /* version i16, type i16 */
#define MARKER_VALUE_SIZE 6 /* version i16, coordinator epoch i32 */

/* ---------------------------------------------------------- ongoing set */

static void unstable_publish(struct txn_part *tp)
{
	atomic_store(&tp->unstable, tp->nongoing ? tp->ongoing[0] : INT64_MAX);
}

static void ongoing_add(struct txn_part *tp, int64_t first)
{
	if (tp->nongoing == tp->ongoing_cap) {
		tp->ongoing_cap = tp->ongoing_cap ? tp->ongoing_cap * 2 : 8;
		tp->ongoing = xrealloc(tp->ongoing, tp->ongoing_cap * sizeof(*tp->ongoing));
	}
	size_t i = tp->nongoing;
	while (i && tp->ongoing[i - 1] > first)
		i--;
	memmove(tp->ongoing + i + 1, tp->ongoing + i, (tp->nongoing - i) * sizeof(*tp->ongoing));
	tp->ongoing[i] = first;
	tp->nongoing++;
}

static void ongoing_remove(struct txn_part *tp, int64_t first)
{
	size_t lo = 0, hi = tp->nongoing;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tp->ongoing[mid] < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == tp->nongoing || tp->ongoing[lo] != first)
		return;
	memmove(tp->ongoing + lo, tp->ongoing + lo + 1, (tp->nongoing - lo - 1) * sizeof(*tp->ongoing));
	tp->nongoing--;
}

static void collect_ongoing(void *arg, const struct txn_producer *p)
{
	if (p->txn_first_offset >= 0)
		ongoing_add(arg, p->txn_first_offset);
}

void txn_part_ongoing_rebuild(struct txn_part *tp)
{
	tp->nongoing = 0;
	txn_pstate_foreach(tp->ps, collect_ongoing, tp);
	unstable_publish(tp);
}

int txn_part_record(struct log_partition *part, struct txn_part *tp, const struct txn_batch *b,
		    bool commit, int64_t offset, int64_t now_ms)
{
	const struct txn_producer *p = txn_pstate_find(tp->ps, b->producer_id);
	int64_t first = p ? p->txn_first_offset : -1;
	txn_pstate_update(tp->ps, b, offset, now_ms);
	int rc = 0;
	if (b->control && first >= 0) {
		ongoing_remove(tp, first);
		if (!commit) {
			/* Kafka's lastStableOffset(completedTxn): the next open
			 * transaction's start, else just past the marker. */
			struct log_aborted_txn t = {
				.producer_id = b->producer_id,
				.first_offset = first,
				.last_offset = offset,
				.last_stable_offset = tp->nongoing ? tp->ongoing[0] : offset + 1,
			};
			rc = log_partition_add_aborted(part, &t);
		}
	} else if (!b->control && b->transactional && first < 0) {
		ongoing_add(tp, offset);
	}
	unstable_publish(tp);
	return rc;
}

/* -------------------------------------------------------------- markers */

bool txn_marker_parse(const uint8_t *batch, size_t len, bool *commit, int32_t *coordinator_epoch)
{
	if (len < RECORDS_BATCH_HEADER_SIZE)
		return false;
	const uint8_t *p = batch + RECORDS_BATCH_HEADER_SIZE, *end = batch + len;
	int64_t rec_len, v, key_len, value_len;
	size_t k = records_read_varlong(p, end, 5, &rec_len);
	if (!k || rec_len < 1 || end - (p + k) < rec_len)
		return false;
	p += k;
	end = p + rec_len;
	p++; /* attributes */
	for (int i = 0; i < 2; i++) { /* timestampDelta, offsetDelta */
		if (!(k = records_read_varlong(p, end, 10, &v)))
			return false;
		p += k;
	}
	if (!(k = records_read_varlong(p, end, 5, &key_len)) || key_len < MARKER_KEY_SIZE ||
	    end - (p + k) < key_len)
		return false;
	p += k;
	int16_t version = (int16_t)txn_get_be(p, 2);
	int16_t type = (int16_t)txn_get_be(p + 2, 2);
	if (version < 0 || (type != 0 && type != 1))
		return false;
	p += key_len;
	if (!(k = records_read_varlong(p, end, 5, &value_len)) || value_len < MARKER_VALUE_SIZE ||
	    end - (p + k) < value_len)
		return false;
	p += k;
	*commit = type == 1;
	*coordinator_epoch = (int32_t)txn_get_be(p + 2, 4);
	return true;
}

/* Kafka's control batch for an EndTransactionMarker, into buf[MARKER_BATCH_SIZE]. */
static void marker_build(uint8_t *buf, int64_t producer_id, int16_t epoch, bool commit,
			 int32_t coordinator_epoch, int64_t now_ms)
{
	uint8_t *w = txn_put_be(buf, 0, 8);                          /* baseOffset */
	w = txn_put_be(w, MARKER_BATCH_SIZE - RECORDS_LOG_OVERHEAD, 4); /* batchLength */
	w = txn_put_be(w, 0, 4);                                     /* partitionLeaderEpoch */
	*w++ = 2;                                                    /* magic */
	w = txn_put_be(w, 0, 4);                                     /* crc, below */
	w = txn_put_be(w, RECORDS_ATTR_TRANSACTIONAL | RECORDS_ATTR_CONTROL, 2);
	w = txn_put_be(w, 0, 4);                                     /* lastOffsetDelta */
	w = txn_put_be(w, (uint64_t)now_ms, 8);                      /* baseTimestamp */
	w = txn_put_be(w, (uint64_t)now_ms, 8);                      /* maxTimestamp */
	w = txn_put_be(w, (uint64_t)producer_id, 8);
	w = txn_put_be(w, (uint16_t)epoch, 2);
	w = txn_put_be(w, (uint32_t)-1, 4);                          /* baseSequence */
	w = txn_put_be(w, 1, 4);                                     /* records */
	w += records_write_varlong(w, MARKER_RECORD_BODY);
	*w++ = 0;                                                    /* attributes */
	w += records_write_varlong(w, 0);                            /* timestampDelta */
	w += records_write_varlong(w, 0);                            /* offsetDelta */
	w += records_write_varlong(w, MARKER_KEY_SIZE);
	w = txn_put_be(w, 0, 2);                                     /* key version */
	w = txn_put_be(w, commit ? 1 : 0, 2);                        /* type */
	w += records_write_varlong(w, MARKER_VALUE_SIZE);
	w = txn_put_be(w, 0, 2);                                     /* value version */
	w = txn_put_be(w, (uint32_t)coordinator_epoch, 4);
	w += records_write_varlong(w, 0);                            /* headers */
	txn_put_be(buf + 17, crc32c(0, buf + 21, MARKER_BATCH_SIZE - 21), 4);
}

int txn_partition_write_marker(struct log_partition *part, int64_t producer_id, int16_t epoch,
			       bool commit, int32_t coordinator_epoch, int64_t now_ms,
			       int64_t *marker_offset)
{
	struct txn_part *tp = txn_part_of(part);
	if (!tp)
		return -ENOTSUP;
	if (producer_id < 0 || epoch < 0)
		return -EINVAL;
	uint8_t buf[MARKER_BATCH_SIZE];
	marker_build(buf, producer_id, epoch, commit, coordinator_epoch, now_ms);
	char why[ERRMSG_SIZE];
	txn_pstate_lock(tp->ps);
	int rc = txn_pstate_check_marker(tp->ps, producer_id, epoch, coordinator_epoch, why);
	if (rc) {
		txn_pstate_unlock(tp->ps);
		log_info(TXN_MODULE, "%s: %s marker refused: %s", log_partition_dir(part),
			 commit ? "commit" : "abort", why);
		return rc;
	}
	struct log_append_result res;
	rc = log_partition_append(part, buf, sizeof(buf), 1, now_ms, &res);
	if (!rc) {
		struct records_batch_header hdr;
		records_header_parse(buf, &hdr);
		struct txn_batch b;
		txn_batch_from_header(&hdr, &b);
		b.coordinator_epoch = coordinator_epoch;
		rc = txn_part_record(part, tp, &b, commit, res.base_offset, clock_wall_ms());
		*marker_offset = res.base_offset;
	}
	txn_pstate_unlock(tp->ps);
	return rc;
}

void txn_partition_begin(struct log_partition *part, int64_t producer_id, int16_t epoch)
{
	struct txn_part *tp = txn_part_of(part);
	if (!tp)
		return;
	txn_pstate_lock(tp->ps);
	txn_pstate_begin(tp->ps, producer_id, epoch, clock_wall_ms());
	txn_pstate_unlock(tp->ps);
}

/* ---------------------------------------------------------------- append */

/* Appends one checked batch and records it. State lock held. A
 * transaction's first batch bounds the LSO before it becomes visible. */
static int append_locked(struct log_partition *part, struct txn_part *tp, uint8_t *batches, size_t len,
			 int32_t record_count, int64_t now_ms, struct log_append_result *res,
			 struct txn_batch *b)
{
	const struct txn_producer *p = txn_pstate_find(tp->ps, b->producer_id);
	if (b->transactional && !(p && p->txn_first_offset >= 0)) {
		int64_t end = log_partition_end_offset(part);
		if (end < atomic_load(&tp->unstable))
			atomic_store(&tp->unstable, end);
	}
	struct log_append_result local;
	if (!res)
		res = &local;
	int rc = log_partition_append(part, batches, len, record_count, now_ms, res);
	if (!rc) {
		/* The stored header: LogAppendTime may have been stamped. */
		struct records_batch_header hdr;
		records_header_parse(batches, &hdr);
		txn_batch_from_header(&hdr, b);
		rc = txn_part_record(part, tp, b, false, res->base_offset, now_ms);
	} else {
		unstable_publish(tp);
	}
	return rc;
}

int txn_partition_append(struct log_partition *part, uint8_t *batches, size_t len,
			 int32_t record_count, int64_t now_ms, struct log_append_result *res,
			 enum txn_verdict *verdict, char why[ERRMSG_SIZE])
{
	*verdict = TXN_OK;
	/* Any batch with a producer id? (records_validate checked the framing.) */
	bool idempotent = false;
	int nbatches = 0;
	for (size_t p = 0; p + RECORDS_BATCH_HEADER_SIZE <= len;) {
		struct records_batch_header hdr;
		records_header_parse(batches + p, &hdr);
		if (hdr.producer_id >= 0)
			idempotent = true;
		nbatches++;
		int64_t total = (int64_t)hdr.batch_length + RECORDS_LOG_OVERHEAD;
		if (total < RECORDS_BATCH_HEADER_SIZE)
			break;
		p += (size_t)total;
	}
	struct txn_part *tp = idempotent ? txn_part_of(part) : NULL;
	if (!tp)
		return log_partition_append(part, batches, len, record_count, now_ms, res);
	if (nbatches != 1) {
		*verdict = TXN_INVALID;
		err_printf(why, "A produce request from a producer with a producer id must carry exactly "
			   "one record batch per partition (got %d)", nbatches);
		return 0;
	}
	struct records_batch_header hdr;
	records_header_parse(batches, &hdr);
	struct txn_batch b;
	txn_batch_from_header(&hdr, &b);

	txn_pstate_lock(tp->ps);
	struct txn_batch_meta dup;
	*verdict = txn_pstate_check(tp->ps, &b, &dup, why);
	if (*verdict == TXN_OK)
		*verdict = txn_pstate_check_txn(tp->ps, &b, why);
	int rc = 0;
	if (*verdict == TXN_DUPLICATE) {
		if (res) {
			res->base_offset = dup.first_offset;
			res->last_offset = dup.first_offset + dup.offset_delta;
			res->log_append_time = dup.append_time;
			res->log_start_offset = log_partition_start_offset(part);
		}
	} else if (*verdict == TXN_OK) {
		rc = append_locked(part, tp, batches, len, record_count, now_ms, res, &b);
	}
	txn_pstate_unlock(tp->ps);
	return rc;
}

int txn_partition_append_from_coordinator(struct log_partition *part, uint8_t *batches, size_t len,
					  int32_t record_count, int64_t now_ms,
					  struct log_append_result *res, enum txn_verdict *verdict,
					  char why[ERRMSG_SIZE])
{
	*verdict = TXN_OK;
	struct txn_part *tp = txn_part_of(part);
	if (!tp)
		return -ENOTSUP;
	struct records_batch_header hdr;
	if (len >= RECORDS_BATCH_HEADER_SIZE)
		records_header_parse(batches, &hdr);
	if (len < RECORDS_BATCH_HEADER_SIZE ||
	    (size_t)hdr.batch_length + RECORDS_LOG_OVERHEAD != len || hdr.producer_id < 0 ||
	    hdr.producer_epoch < 0 || !(hdr.attributes & RECORDS_ATTR_TRANSACTIONAL) ||
	    (hdr.attributes & RECORDS_ATTR_CONTROL)) {
		*verdict = TXN_INVALID;
		err_printf(why, "A coordinator's transactional write must be one transactional data batch "
			   "with a producer id and epoch");
		return 0;
	}
	struct txn_batch b;
	txn_batch_from_header(&hdr, &b);

	txn_pstate_lock(tp->ps);
	const struct txn_producer *p = txn_pstate_find(tp->ps, b.producer_id);
	if (p && b.epoch < p->epoch) {
		*verdict = TXN_INVALID_EPOCH;
		err_printf(why, "Epoch of producer %" PRId64 " is %d, which is smaller than the last seen "
			   "epoch %d", b.producer_id, (int)b.epoch, (int)p->epoch);
	} else {
		*verdict = txn_pstate_check_txn(tp->ps, &b, why);
	}
	int rc = 0;
	if (*verdict == TXN_OK)
		rc = append_locked(part, tp, batches, len, record_count, now_ms, res, &b);
	txn_pstate_unlock(tp->ps);
	return rc;
}

/* ---------------------------------------------------------------- reads */

int64_t txn_partition_lso(struct log_partition *part)
{
	/* The end offset first: a transaction whose first batch is below it
	 * has lowered tp->unstable before that batch became visible. */
	int64_t end = log_partition_end_offset(part);
	struct txn_part *tp = txn_part_of(part);
	if (!tp)
		return end;
	int64_t lso = atomic_load(&tp->unstable);
	if (lso > end)
		lso = end;
	int64_t start = log_partition_start_offset(part);
	return lso < start ? start : lso;
}

struct aborted_acc {
	struct txn_aborted *v;
	size_t n, cap;
};

static void aborted_add(void *arg, const struct log_aborted_txn *t)
{
	struct aborted_acc *a = arg;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = (struct txn_aborted){t->producer_id, t->first_offset, t->last_offset};
}

static int aborted_cmp(const void *x, const void *y)
{
	const struct txn_aborted *a = x, *b = y;
	return a->first_offset < b->first_offset ? -1 : a->first_offset > b->first_offset;
}

int32_t txn_partition_aborted(struct log_partition *part, int64_t from, int64_t to,
			      struct arena *arena, struct txn_aborted **out)
{
	*out = NULL;
	if (from >= to)
		return 0;
	struct aborted_acc acc = {0};
	log_partition_collect_aborted(part, from, to, aborted_add, &acc);
	if (!acc.n)
		return 0;
	qsort(acc.v, acc.n, sizeof(*acc.v), aborted_cmp);
	*out = arena_alloc(arena, acc.n * sizeof(**out));
	memcpy(*out, acc.v, acc.n * sizeof(**out));
	free(acc.v);
	return (int32_t)acc.n;
}

struct producers_acc {
	struct txn_producer_info *v;
	size_t n;
};

static void producer_add(void *arg, const struct txn_producer *p)
{
	struct producers_acc *a = arg;
	if (p->epoch < 0)
		return; /* only begun, never wrote here */
	a->v[a->n++] = (struct txn_producer_info){
		.producer_id = p->producer_id,
		.epoch = p->epoch,
		.last_sequence = p->nbatches ? p->batches[p->nbatches - 1].last_seq : -1,
		.last_timestamp = p->last_update_ms,
		.coordinator_epoch = p->coordinator_epoch,
		.current_txn_start_offset = p->txn_first_offset,
	};
}

static int producer_cmp(const void *x, const void *y)
{
	const struct txn_producer_info *a = x, *b = y;
	return a->producer_id < b->producer_id ? -1 : a->producer_id > b->producer_id;
}

int32_t txn_partition_producers(struct log_partition *part, struct arena *arena,
				struct txn_producer_info **out)
{
	*out = NULL;
	struct txn_part *tp = txn_part_of(part);
	if (!tp)
		return 0;
	txn_pstate_lock(tp->ps);
	size_t count = txn_pstate_count(tp->ps);
	struct producers_acc acc = {arena_alloc(arena, (count ? count : 1) * sizeof(*acc.v)), 0};
	txn_pstate_foreach(tp->ps, producer_add, &acc);
	txn_pstate_unlock(tp->ps);
	qsort(acc.v, acc.n, sizeof(*acc.v), producer_cmp);
	*out = acc.v;
	return (int32_t)acc.n;
}
