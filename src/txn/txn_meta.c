/* The transaction state machine of one transactional id; see txn_meta.h.
 * The checks follow Kafka's TransactionCoordinator and TransactionMetadata
 * (3.x/4.x), including their order, since clients react to the first error
 * they get. */
#include "txn/txn_meta.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "proto/gen/errors.h"

static const char *const state_names[TXN_STATE_COUNT] = {
	"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead",
	"PrepareEpochFence",
};

const char *txn_state_name(enum txn_state state)
{
	return state >= 0 && state < TXN_STATE_COUNT ? state_names[state] : "Unknown";
}

enum txn_state txn_state_from_name(const char *name, int32_t len)
{
	for (int i = 0; i < TXN_STATE_COUNT; i++)
		if ((size_t)len == strlen(state_names[i]) && memcmp(name, state_names[i], (size_t)len) == 0)
			return (enum txn_state)i;
	return TXN_NONE;
}

/* ---- partition sets ------------------------------------------------------------ */

static int tp_cmp(const char *topic, int32_t partition, const struct txn_tp *tp)
{
	int c = strcmp(topic, tp->topic);
	if (c)
		return c;
	return partition < tp->partition ? -1 : partition > tp->partition;
}

/* Index of (topic, partition), or -(insertion point) - 1. */
static int32_t tps_find(const struct txn_tps *set, const char *topic, int32_t partition)
{
	int32_t lo = 0, hi = set->n;
	while (lo < hi) {
		int32_t mid = lo + (hi - lo) / 2;
		int c = tp_cmp(topic, partition, &set->v[mid]);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -lo - 1;
}

void txn_tps_free(struct txn_tps *set)
{
	for (int32_t i = 0; i < set->n; i++)
		free(set->v[i].topic);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

bool txn_tps_add(struct txn_tps *set, const char *topic, int32_t partition)
{
	int32_t at = tps_find(set, topic, partition);
	if (at >= 0)
		return false;
	at = -at - 1;
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 4;
		set->v = xrealloc(set->v, sizeof(*set->v) * (size_t)set->cap);
	}
	memmove(&set->v[at + 1], &set->v[at], sizeof(*set->v) * (size_t)(set->n - at));
	set->v[at] = (struct txn_tp){xstrdup(topic), partition};
	set->n++;
	return true;
}

bool txn_tps_contains(const struct txn_tps *set, const char *topic, int32_t partition)
{
	return tps_find(set, topic, partition) >= 0;
}

int32_t txn_tps_index(const struct txn_tps *set, const char *topic, int32_t partition)
{
	int32_t at = tps_find(set, topic, partition);
	return at >= 0 ? at : -1;
}

void txn_tps_copy(struct txn_tps *dst, const struct txn_tps *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src->n)
		return;
	dst->v = xmalloc(sizeof(*dst->v) * (size_t)src->n);
	dst->n = dst->cap = src->n;
	for (int32_t i = 0; i < src->n; i++)
		dst->v[i] = (struct txn_tp){xstrdup(src->v[i].topic), src->v[i].partition};
}

static bool tps_subset(const struct txn_tps *a, const struct txn_tps *b)
{
	for (int32_t i = 0; i < a->n; i++)
		if (!txn_tps_contains(b, a->v[i].topic, a->v[i].partition))
			return false;
	return true;
}

static bool tps_equal(const struct txn_tps *a, const struct txn_tps *b)
{
	return a->n == b->n && tps_subset(a, b);
}

/* ---- metadata ------------------------------------------------------------------ */

void txn_transit_free(struct txn_transit *t)
{
	txn_tps_free(&t->partitions);
}

struct txn_meta *txn_meta_new(const char *id, int64_t producer_id, int32_t timeout_ms, int64_t now_ms)
{
	struct txn_meta *meta = xcalloc(1, sizeof(*meta));
	meta->id = xstrdup(id);
	meta->producer_id = producer_id;
	meta->prev_producer_id = -1;
	meta->next_producer_id = -1;
	meta->epoch = -1;
	meta->last_epoch = -1;
	meta->timeout_ms = timeout_ms;
	meta->state = TXN_EMPTY;
	meta->pending = TXN_NONE;
	meta->start_ms = -1;
	meta->update_ms = now_ms;
	meta->client_tv = TXN_TV1;
	return meta;
}

struct txn_meta *txn_meta_from_transit(const char *id, const struct txn_transit *t)
{
	struct txn_meta *meta = txn_meta_new(id, t->producer_id, t->timeout_ms, t->update_ms);
	meta->prev_producer_id = t->prev_producer_id;
	meta->next_producer_id = t->next_producer_id;
	meta->epoch = t->epoch;
	meta->state = t->state;
	if (t->state != TXN_EMPTY)
		txn_tps_copy(&meta->partitions, &t->partitions);
	meta->start_ms = t->start_ms;
	meta->client_tv = t->client_tv;
	return meta;
}

void txn_meta_free(struct txn_meta *meta)
{
	if (!meta)
		return;
	txn_tps_free(&meta->partitions);
	free(meta->id);
	free(meta);
}

static bool epoch_exhausted(int16_t epoch)
{
	return epoch >= TXN_EPOCH_EXHAUSTED;
}

/* Kafka's validPreviousStates. */
static bool valid_previous(enum txn_state to, enum txn_state from)
{
	switch (to) {
	case TXN_EMPTY:
		return from == TXN_EMPTY || from == TXN_COMPLETE_COMMIT || from == TXN_COMPLETE_ABORT;
	case TXN_ONGOING:
		return from == TXN_ONGOING || from == TXN_EMPTY || from == TXN_COMPLETE_COMMIT ||
		       from == TXN_COMPLETE_ABORT;
	case TXN_PREPARE_COMMIT:
		return from == TXN_ONGOING;
	case TXN_PREPARE_ABORT:
		return from == TXN_ONGOING || from == TXN_PREPARE_EPOCH_FENCE || from == TXN_EMPTY ||
		       from == TXN_COMPLETE_COMMIT || from == TXN_COMPLETE_ABORT;
	case TXN_COMPLETE_COMMIT:
		return from == TXN_PREPARE_COMMIT;
	case TXN_COMPLETE_ABORT:
		return from == TXN_PREPARE_ABORT;
	case TXN_DEAD:
		return from == TXN_EMPTY || from == TXN_COMPLETE_COMMIT || from == TXN_COMPLETE_ABORT;
	case TXN_PREPARE_EPOCH_FENCE:
		return from == TXN_ONGOING;
	default:
		return false;
	}
}

/* Kafka's prepareTransitionTo: fills *out and marks the transition pending.
 * Returns NONE, or UNKNOWN_SERVER_ERROR for a transition the rules never
 * make (Kafka throws IllegalStateException there). */
static int16_t prepare_transition(struct txn_meta *meta, enum txn_state to, int64_t producer_id,
				  int64_t next_producer_id, int16_t epoch, int16_t last_epoch, int32_t timeout_ms,
				  const struct txn_tps *partitions, int64_t start_ms, int64_t update_ms,
				  int16_t client_tv, struct txn_transit *out)
{
	if (meta->pending != TXN_NONE || producer_id < 0 || (to != TXN_DEAD && epoch < 0) ||
	    !valid_previous(to, meta->state))
		return KERR_UNKNOWN_SERVER_ERROR;
	memset(out, 0, sizeof(*out));
	out->state = to;
	out->producer_id = producer_id;
	out->prev_producer_id = meta->producer_id;
	out->next_producer_id = next_producer_id;
	out->epoch = epoch;
	out->last_epoch = last_epoch;
	out->timeout_ms = timeout_ms;
	if (partitions)
		txn_tps_copy(&out->partitions, partitions);
	out->start_ms = start_ms;
	out->update_ms = update_ms;
	out->client_tv = client_tv;
	meta->pending = to;
	return KERR_NONE;
}

/* ---- InitProducerId ------------------------------------------------------------- */

static int16_t prepare_increment_epoch(struct txn_meta *meta, int32_t timeout_ms, bool has_expected,
				       int16_t expected_epoch, int64_t now_ms, struct txn_transit *out)
{
	int16_t next, last;
	if (!has_expected) {
		next = (int16_t)(meta->epoch + 1);
		last = -1;
	} else if (meta->epoch == -1 || expected_epoch == meta->epoch) {
		/* the producer continues after an error and nobody else initialized */
		next = (int16_t)(meta->epoch + 1);
		last = meta->epoch;
	} else if (expected_epoch == meta->last_epoch) {
		/* a retry of a bump that succeeded: answer the same epoch again */
		next = meta->epoch;
		last = meta->last_epoch;
	} else {
		return KERR_PRODUCER_FENCED;
	}
	if (next != meta->epoch && epoch_exhausted(meta->epoch))
		return KERR_PRODUCER_FENCED;
	return prepare_transition(meta, TXN_EMPTY, meta->producer_id, -1, next, last, timeout_ms, NULL, -1, now_ms,
				  meta->client_tv, out);
}

int16_t txn_meta_prepare_init(struct txn_meta *meta, int32_t timeout_ms, bool has_expected, int64_t expected_pid,
			      int16_t expected_epoch, int64_t now_ms, const struct txn_pid_source *pids,
			      struct txn_transit *out)
{
	/* KIP-360: a producer that brings its id and epoch is fenced unless the
	 * id is new here, is the current one (the epoch is checked below), or is
	 * the previous one at an exhausted epoch (a retry after a rotation). */
	bool valid_pid = meta->epoch == -1 || expected_pid == meta->producer_id ||
			 (expected_pid == meta->prev_producer_id && epoch_exhausted(expected_epoch));
	if (meta->pending != TXN_NONE)
		return KERR_CONCURRENT_TRANSACTIONS;
	if (has_expected && !valid_pid)
		return KERR_PRODUCER_FENCED;
	switch (meta->state) {
	case TXN_PREPARE_COMMIT:
	case TXN_PREPARE_ABORT:
		return KERR_CONCURRENT_TRANSACTIONS;
	case TXN_EMPTY:
	case TXN_COMPLETE_COMMIT:
	case TXN_COMPLETE_ABORT:
		if (epoch_exhausted(meta->epoch) && (!has_expected || expected_epoch == meta->epoch)) {
			int64_t pid;
			if (pids->next(pids->arg, &pid) < 0)
				return KERR_COORDINATOR_NOT_AVAILABLE;
			return prepare_transition(meta, TXN_EMPTY, pid, -1, 0, has_expected ? meta->epoch : -1,
						  timeout_ms, NULL, -1, now_ms, meta->client_tv, out);
		}
		return prepare_increment_epoch(meta, timeout_ms, has_expected, expected_epoch, now_ms, out);
	case TXN_ONGOING:
		/* Abort the transaction first; the client retries (CONCURRENT_TRANSACTIONS)
		 * and gets the epoch bumped once more then. */
		return txn_meta_prepare_fence(meta, out);
	default:
		return KERR_UNKNOWN_SERVER_ERROR;
	}
}

/* ---- AddPartitionsToTxn --------------------------------------------------------- */

int16_t txn_meta_prepare_add(struct txn_meta *meta, int64_t producer_id, int16_t epoch, const struct txn_tps *add,
			     int16_t client_tv, int64_t now_ms, struct txn_transit *out, bool *write)
{
	*write = false;
	if (meta->producer_id != producer_id)
		return KERR_INVALID_PRODUCER_ID_MAPPING;
	if (meta->epoch != epoch)
		return KERR_PRODUCER_FENCED;
	if (meta->pending != TXN_NONE || meta->state == TXN_PREPARE_COMMIT || meta->state == TXN_PREPARE_ABORT)
		return KERR_CONCURRENT_TRANSACTIONS;
	if (meta->state == TXN_ONGOING && tps_subset(add, &meta->partitions))
		return KERR_NONE;
	bool starts = meta->state == TXN_EMPTY || meta->state == TXN_COMPLETE_COMMIT ||
		      meta->state == TXN_COMPLETE_ABORT;
	struct txn_tps all;
	txn_tps_copy(&all, &meta->partitions);
	for (int32_t i = 0; i < add->n; i++)
		txn_tps_add(&all, add->v[i].topic, add->v[i].partition);
	int16_t err = prepare_transition(meta, TXN_ONGOING, meta->producer_id, -1, meta->epoch, meta->last_epoch,
					 meta->timeout_ms, &all, starts ? now_ms : meta->start_ms, now_ms, client_tv,
					 out);
	txn_tps_free(&all);
	*write = err == KERR_NONE;
	return err;
}

int16_t txn_meta_verify(const struct txn_meta *meta, int64_t producer_id, int16_t epoch, const char *topic,
			int32_t partition)
{
	if (meta->producer_id != producer_id)
		return KERR_INVALID_PRODUCER_ID_MAPPING;
	if (meta->epoch != epoch)
		return KERR_PRODUCER_FENCED;
	if (meta->state == TXN_PREPARE_COMMIT || meta->state == TXN_PREPARE_ABORT)
		return KERR_CONCURRENT_TRANSACTIONS;
	return txn_tps_contains(&meta->partitions, topic, partition) ? KERR_NONE : KERR_TRANSACTION_ABORTABLE;
}

/* ---- EndTxn ----------------------------------------------------------------------- */

/* Kafka's prepareAbortOrCommit: TV2 bumps the epoch (the last epoch keeps
 * the one the client used). Without partitions (TV2 may abort an empty
 * transaction) the start time is now. */
static int16_t prepare_abort_or_commit(struct txn_meta *meta, enum txn_state to, int16_t client_tv,
				       int64_t next_producer_id, int64_t now_ms, bool no_partition_added,
				       struct txn_transit *out)
{
	int16_t epoch = meta->epoch, last = meta->last_epoch;
	if (client_tv >= TXN_TV2 && meta->epoch < INT16_MAX) {
		epoch = (int16_t)(meta->epoch + 1);
		last = meta->epoch;
	}
	return prepare_transition(meta, to, meta->producer_id, next_producer_id, epoch, last, meta->timeout_ms,
				  &meta->partitions, no_partition_added ? now_ms : meta->start_ms, now_ms, client_tv,
				  out);
}

static int16_t end_tv1(struct txn_meta *meta, int64_t producer_id, int16_t epoch, bool commit, bool from_client,
		       int64_t now_ms, struct txn_transit *out, bool *write)
{
	if (meta->producer_id != producer_id)
		return KERR_INVALID_PRODUCER_ID_MAPPING;
	/* clients never bump the epoch themselves: strict equality */
	if ((from_client && epoch != meta->epoch) || epoch < meta->epoch)
		return KERR_PRODUCER_FENCED;
	if (meta->pending != TXN_NONE && meta->pending != TXN_PREPARE_EPOCH_FENCE)
		return KERR_CONCURRENT_TRANSACTIONS;
	switch (meta->state) {
	case TXN_ONGOING: {
		enum txn_state to = commit ? TXN_PREPARE_COMMIT : TXN_PREPARE_ABORT;
		if (to == TXN_PREPARE_ABORT && meta->pending == TXN_PREPARE_EPOCH_FENCE) {
			/* the fence's bumped epoch goes into the abort record */
			meta->pending = TXN_NONE;
			meta->epoch = epoch;
			meta->last_epoch = -1;
		}
		int16_t err = prepare_abort_or_commit(meta, to, TXN_TV1, -1, now_ms, false, out);
		*write = err == KERR_NONE;
		return err;
	}
	case TXN_COMPLETE_COMMIT:
		return commit ? KERR_NONE : KERR_INVALID_TXN_STATE;
	case TXN_COMPLETE_ABORT:
		return commit ? KERR_INVALID_TXN_STATE : KERR_NONE;
	case TXN_PREPARE_COMMIT:
		return commit ? KERR_CONCURRENT_TRANSACTIONS : KERR_INVALID_TXN_STATE;
	case TXN_PREPARE_ABORT:
		return commit ? KERR_INVALID_TXN_STATE : KERR_CONCURRENT_TRANSACTIONS;
	case TXN_EMPTY:
		return KERR_INVALID_TXN_STATE;
	default:
		return KERR_UNKNOWN_SERVER_ERROR;
	}
}

/* Kafka's TV2 table (Retry: the request's epoch is one below the current;
 * Current: equal):
 *                   Abort            Commit
 *                   Retry  Current   Retry  Current
 *   Empty           FENCED bump      FENCED INVALID_TXN_STATE
 *   CompleteAbort   NONE   bump      ITS    ITS
 *   CompleteCommit  ITS    bump      NONE   ITS                        */
static int16_t end_tv2(struct txn_meta *meta, int64_t producer_id, int16_t epoch, bool commit, bool from_client,
		       int64_t now_ms, const struct txn_pid_source *pids, struct txn_transit *out, bool *write)
{
	bool fence = meta->pending == TXN_PREPARE_EPOCH_FENCE;
	/* a retry of an end whose epoch overflowed into a new producer id */
	bool retry_overflow = !fence && meta->prev_producer_id == producer_id && epoch == TXN_EPOCH_EXHAUSTED &&
			      meta->epoch == 0;
	bool retry_bump = !fence && meta->epoch == epoch + 1;
	bool retry = retry_bump || retry_overflow;
	bool valid_epoch;
	if (fence) {
		valid_epoch = (!from_client || epoch == meta->epoch) && epoch >= meta->epoch;
	} else {
		switch (meta->state) {
		case TXN_PREPARE_COMMIT:
		case TXN_PREPARE_ABORT:
			valid_epoch = retry_bump;
			break;
		case TXN_COMPLETE_COMMIT:
		case TXN_COMPLETE_ABORT:
			valid_epoch = retry || epoch == meta->epoch;
			break;
		default:
			valid_epoch = epoch == meta->epoch;
			break;
		}
	}
	if (meta->producer_id != producer_id && !retry_overflow)
		return KERR_INVALID_PRODUCER_ID_MAPPING;
	if (!valid_epoch)
		return KERR_PRODUCER_FENCED;
	if (meta->pending != TXN_NONE && !fence)
		return KERR_CONCURRENT_TRANSACTIONS;

	enum txn_state to;
	bool no_partition_added = true;
	switch (meta->state) {
	case TXN_ONGOING:
		to = commit ? TXN_PREPARE_COMMIT : TXN_PREPARE_ABORT;
		no_partition_added = false;
		break;
	case TXN_COMPLETE_COMMIT:
		if (commit)
			return retry ? KERR_NONE : KERR_INVALID_TXN_STATE;
		if (retry)
			return KERR_INVALID_TXN_STATE;
		to = TXN_PREPARE_ABORT;
		break;
	case TXN_COMPLETE_ABORT:
		if (commit)
			return KERR_INVALID_TXN_STATE;
		if (retry)
			return KERR_NONE;
		to = TXN_PREPARE_ABORT;
		break;
	case TXN_PREPARE_COMMIT:
		return commit ? KERR_CONCURRENT_TRANSACTIONS : KERR_INVALID_TXN_STATE;
	case TXN_PREPARE_ABORT:
		return commit ? KERR_INVALID_TXN_STATE : KERR_CONCURRENT_TRANSACTIONS;
	case TXN_EMPTY:
		if (commit)
			return KERR_INVALID_TXN_STATE;
		to = TXN_PREPARE_ABORT;
		break;
	default:
		return KERR_UNKNOWN_SERVER_ERROR;
	}
	/* The epoch about to be bumped is the last one this id may use: the
	 * transaction ends with a new producer id. */
	int64_t next_pid = -1;
	if (!fence && epoch_exhausted(meta->epoch) && pids->next(pids->arg, &next_pid) < 0)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	if (to == TXN_PREPARE_ABORT && fence) {
		meta->pending = TXN_NONE;
		meta->epoch = epoch;
		meta->last_epoch = -1;
	}
	int16_t err = prepare_abort_or_commit(meta, to, TXN_TV2, next_pid, now_ms, no_partition_added, out);
	*write = err == KERR_NONE;
	return err;
}

int16_t txn_meta_prepare_end(struct txn_meta *meta, int64_t producer_id, int16_t epoch, bool commit,
			     bool from_client, int16_t client_tv, int64_t now_ms, const struct txn_pid_source *pids,
			     struct txn_transit *out, bool *write, int64_t *resp_pid, int16_t *resp_epoch)
{
	*write = false;
	*resp_pid = -1;
	*resp_epoch = -1;
	if (client_tv < TXN_TV2)
		return end_tv1(meta, producer_id, epoch, commit, from_client, now_ms, out, write);
	int64_t pid = meta->producer_id;
	int16_t ep = meta->epoch;
	int16_t err = end_tv2(meta, producer_id, epoch, commit, from_client, now_ms, pids, out, write);
	if (err == KERR_NONE && !*write) {
		*resp_pid = pid;
		*resp_epoch = ep;
	}
	return err;
}

int16_t txn_meta_prepare_fence(struct txn_meta *meta, struct txn_transit *out)
{
	if (meta->epoch == INT16_MAX)
		return KERR_UNKNOWN_SERVER_ERROR; /* cannot be bumped (Kafka refuses too) */
	/* After a failed fence write the epoch was never given out: keep it. */
	int16_t epoch = meta->failed_fence ? meta->epoch : (int16_t)(meta->epoch + 1);
	return prepare_transition(meta, TXN_PREPARE_EPOCH_FENCE, meta->producer_id, -1, epoch, -1, meta->timeout_ms,
			   &meta->partitions, meta->start_ms, meta->update_ms, meta->client_tv, out);
}

/* ---- completion, expiry ----------------------------------------------------------- */

void txn_meta_prepare_complete(struct txn_meta *meta, int64_t now_ms, struct txn_transit *out)
{
	enum txn_state to = meta->state == TXN_PREPARE_COMMIT ? TXN_COMPLETE_COMMIT : TXN_COMPLETE_ABORT;
	meta->failed_fence = false; /* the Prepare record is durable */
	/* TV2 overflow: the client saw the last epoch, then continues with the
	 * new id at epoch 0; the last epoch stays what the client last saw. */
	bool rotate = meta->client_tv >= TXN_TV2 && meta->next_producer_id != -1;
	prepare_transition(meta, to, rotate ? meta->next_producer_id : meta->producer_id, -1,
			   rotate ? 0 : meta->epoch, meta->last_epoch, meta->timeout_ms, NULL, meta->start_ms, now_ms,
			   meta->client_tv, out);
}

void txn_meta_prepare_dead(struct txn_meta *meta, struct txn_transit *out)
{
	prepare_transition(meta, TXN_DEAD, meta->producer_id, -1, meta->epoch, meta->last_epoch, meta->timeout_ms,
			   NULL, meta->start_ms, meta->update_ms, meta->client_tv, out);
}

/* Kafka's validProducerEpoch for a completing transition. */
static bool valid_producer_epoch(const struct txn_meta *meta, const struct txn_transit *t)
{
	bool tv2 = t->client_tv >= TXN_TV2;
	if (tv2 && (t->state == TXN_COMPLETE_COMMIT || t->state == TXN_COMPLETE_ABORT) && t->epoch == 0)
		return t->last_epoch == meta->last_epoch && t->prev_producer_id == meta->producer_id;
	if (tv2 && (t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT))
		return t->last_epoch == meta->epoch && t->producer_id == meta->producer_id;
	return t->epoch == meta->epoch && t->producer_id == meta->producer_id;
}

int txn_meta_complete(struct txn_meta *meta, const struct txn_transit *t)
{
	if (meta->pending == TXN_NONE || meta->pending != t->state)
		return -1;
	switch (t->state) {
	case TXN_EMPTY: { /* InitProducerId */
		bool bump = t->epoch == meta->epoch + 1 || (t->epoch == 0 && t->producer_id != meta->producer_id);
		if ((t->epoch != meta->epoch && !bump) || t->partitions.n || t->start_ms != -1)
			return -1;
		meta->timeout_ms = t->timeout_ms;
		meta->epoch = t->epoch;
		meta->last_epoch = t->last_epoch;
		meta->producer_id = t->producer_id;
		meta->prev_producer_id = t->prev_producer_id;
		break;
	}
	case TXN_ONGOING: /* AddPartitionsToTxn */
		if (!valid_producer_epoch(meta, t) || !tps_subset(&meta->partitions, &t->partitions) ||
		    meta->timeout_ms != t->timeout_ms)
			return -1;
		meta->start_ms = t->start_ms;
		for (int32_t i = 0; i < t->partitions.n; i++)
			txn_tps_add(&meta->partitions, t->partitions.v[i].topic, t->partitions.v[i].partition);
		break;
	case TXN_PREPARE_COMMIT:
	case TXN_PREPARE_ABORT: { /* EndTxn */
		bool empty_abort = t->state == TXN_PREPARE_ABORT && t->client_tv >= TXN_TV2 &&
				   (meta->state == TXN_EMPTY || meta->state == TXN_COMPLETE_COMMIT ||
				    meta->state == TXN_COMPLETE_ABORT);
		if (!valid_producer_epoch(meta, t) || !tps_equal(&meta->partitions, &t->partitions) ||
		    meta->timeout_ms != t->timeout_ms || (meta->start_ms != t->start_ms && !empty_abort))
			return -1;
		if (t->client_tv >= TXN_TV2) {
			meta->epoch = t->epoch;
			meta->last_epoch = t->last_epoch;
			meta->next_producer_id = t->next_producer_id;
			meta->start_ms = t->start_ms;
		}
		break;
	}
	case TXN_COMPLETE_COMMIT:
	case TXN_COMPLETE_ABORT: /* markers written */
		if (!valid_producer_epoch(meta, t) || meta->timeout_ms != t->timeout_ms || t->start_ms == -1)
			return -1;
		meta->start_ms = t->start_ms;
		txn_tps_free(&meta->partitions);
		if (t->client_tv >= TXN_TV2) {
			meta->epoch = t->epoch;
			meta->last_epoch = t->last_epoch;
			meta->prev_producer_id = t->prev_producer_id;
			meta->producer_id = t->producer_id;
			meta->next_producer_id = t->next_producer_id;
		}
		break;
	default: /* PrepareEpochFence and Dead never complete: Dead removes the id */
		return -1;
	}
	meta->client_tv = t->client_tv;
	meta->update_ms = t->update_ms;
	meta->pending = TXN_NONE;
	meta->state = t->state;
	return 0;
}

void txn_meta_abandon(struct txn_meta *meta, bool was_fence)
{
	meta->pending = TXN_NONE;
	if (was_fence)
		meta->failed_fence = true;
}
