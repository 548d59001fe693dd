/* One transactional id's state at the transaction coordinator (Kafka's
 * TransactionMetadata) and the rules that move it.
 *
 * Every change is two steps, as in Kafka: a prepare function checks a
 * request against the state and, if a write is needed, returns the target
 * state as a struct txn_transit (what the __transaction_state record says)
 * and marks the transition pending; once the record is durable,
 * txn_meta_complete() applies it (or txn_meta_abandon() drops it when the
 * write failed). While a transition is pending, other requests get
 * CONCURRENT_TRANSACTIONS. Pure state: no I/O, no locks, no clock (times are
 * passed in), so tests step it directly; txn/coordinator.c does the rest.
 *
 * States (their ids are the TransactionStatus byte of the records):
 *   Empty --AddPartitions--> Ongoing --EndTxn--> PrepareCommit|PrepareAbort
 *   --markers written--> CompleteCommit|CompleteAbort --AddPartitions--> ...
 * PrepareEpochFence is the in-memory step of an abort forced by the
 * coordinator (InitProducerId during a transaction, a timed-out
 * transaction): the epoch is bumped so the old producer is fenced, then the
 * transaction goes to PrepareAbort. Dead: expired, its tombstone in flight.
 *
 * Transaction version 2 (KIP-890, EndTxn v5): every end bumps the epoch
 * (markers carry the new one, the client gets it in the EndTxn response), a
 * retried EndTxn is recognised by its epoch being one lower, and an epoch
 * about to overflow rotates to a new producer id at the end of the
 * transaction. Errors returned are Kafka wire codes (proto/gen/errors.h). */
#ifndef SAMSA_TXN_META_H
#define SAMSA_TXN_META_H

#include <stdbool.h>
#include <stdint.h>

enum txn_state {
	TXN_NONE = -1, /* no pending transition */
	TXN_EMPTY = 0,
	TXN_ONGOING = 1,
	TXN_PREPARE_COMMIT = 2,
	TXN_PREPARE_ABORT = 3,
	TXN_COMPLETE_COMMIT = 4,
	TXN_COMPLETE_ABORT = 5,
	TXN_DEAD = 6,
	TXN_PREPARE_EPOCH_FENCE = 7,
};

#define TXN_STATE_COUNT 8

/* Kafka's names (DescribeTransactions, ListTransactions filters). */
const char *txn_state_name(enum txn_state state);
/* The state named name, or TXN_NONE. */
enum txn_state txn_state_from_name(const char *name, int32_t len);

/* Transaction versions a client speaks (ClientTransactionVersion). */
#define TXN_TV1 0 /* classic: EndTxn v0-4 (Kafka records it as 0) */
#define TXN_TV2 2 /* EndTxn v5: epoch bumped at every end */

/* The last epoch a client may use: Short.MaxValue is kept for fencing. */
#define TXN_EPOCH_EXHAUSTED (INT16_MAX - 1)

struct txn_tp {
	char *topic; /* owned */
	int32_t partition;
};

/* A set of partitions, sorted by topic then partition. */
struct txn_tps {
	struct txn_tp *v;
	int32_t n;
	int32_t cap;
};

void txn_tps_free(struct txn_tps *set);
/* Adds (topic, partition) unless present; returns true if added. */
bool txn_tps_add(struct txn_tps *set, const char *topic, int32_t partition);
bool txn_tps_contains(const struct txn_tps *set, const char *topic, int32_t partition);
/* The index of (topic, partition) in set->v, or -1. */
int32_t txn_tps_index(const struct txn_tps *set, const char *topic, int32_t partition);
void txn_tps_copy(struct txn_tps *dst, const struct txn_tps *src);

/* A target state: the content of one __transaction_state value. */
struct txn_transit {
	enum txn_state state;
	int64_t producer_id;
	int64_t prev_producer_id; /* the id before the last rotation, -1 if none */
	int64_t next_producer_id; /* TV2: the id the transaction ends with, -1 if none */
	int16_t epoch;
	int16_t last_epoch;
	int32_t timeout_ms;
	struct txn_tps partitions; /* owned */
	int64_t start_ms;          /* wall clock; -1 when no transaction started */
	int64_t update_ms;
	int16_t client_tv;
};

void txn_transit_free(struct txn_transit *t);

struct txn_meta {
	char *id;                /* owned */
	int64_t producer_id;
	int64_t prev_producer_id;
	int64_t next_producer_id;
	int16_t epoch;           /* -1 until the first InitProducerId completes */
	int16_t last_epoch;      /* KIP-360: the epoch before the last bump, for retries */
	int32_t timeout_ms;
	enum txn_state state;
	enum txn_state pending;  /* the transition in flight, TXN_NONE if none */
	struct txn_tps partitions;
	int64_t start_ms;
	int64_t update_ms;
	int16_t client_tv;
	bool failed_fence;       /* a fencing write failed: do not bump again */
};

/* A new id (InitProducerId for an unknown transactional id): Empty, epoch -1. */
struct txn_meta *txn_meta_new(const char *id, int64_t producer_id, int32_t timeout_ms, int64_t now_ms);
/* From a replayed record (no pending transition, last epoch unknown). */
struct txn_meta *txn_meta_from_transit(const char *id, const struct txn_transit *t);
void txn_meta_free(struct txn_meta *meta);

/* A new producer id for rotations: 0, or -errno when none can be issued. */
struct txn_pid_source {
	int (*next)(void *arg, int64_t *producer_id);
	void *arg;
};

/* InitProducerId (with expected id/epoch when has_expected, v3+ KIP-360).
 * On NONE, *out is Empty (the client gets out->producer_id/epoch once it is
 * written) or PrepareEpochFence (a transaction is ongoing: the caller aborts
 * it with txn_meta_prepare_end(from_client = false) and answers
 * CONCURRENT_TRANSACTIONS, so the client retries). */
int16_t txn_meta_prepare_init(struct txn_meta *meta, int32_t timeout_ms, bool has_expected, int64_t expected_pid,
			      int16_t expected_epoch, int64_t now_ms, const struct txn_pid_source *pids,
			      struct txn_transit *out);

/* AddPartitionsToTxn / AddOffsetsToTxn. NONE with *write false: every
 * partition is already in the ongoing transaction (nothing to write). */
int16_t txn_meta_prepare_add(struct txn_meta *meta, int64_t producer_id, int16_t epoch, const struct txn_tps *add,
			     int16_t client_tv, int64_t now_ms, struct txn_transit *out, bool *write);

/* AddPartitionsToTxn v4+ with verify_only: whether part is in the ongoing
 * transaction of producer_id/epoch (NONE, else TRANSACTION_ABORTABLE or the
 * producer error). Changes nothing. */
int16_t txn_meta_verify(const struct txn_meta *meta, int64_t producer_id, int16_t epoch, const char *topic,
			int32_t partition);

/* EndTxn (from_client) or the coordinator's own abort of a fenced
 * transaction (from_client false, producer id/epoch from the fence transit).
 * NONE with *write false: a retry of an end already done (TV2: the id and
 * epoch to answer are in *resp_pid / *resp_epoch). On NONE with *write, *out
 * is PrepareCommit or PrepareAbort. */
int16_t txn_meta_prepare_end(struct txn_meta *meta, int64_t producer_id, int16_t epoch, bool commit,
			     bool from_client, int16_t client_tv, int64_t now_ms, const struct txn_pid_source *pids,
			     struct txn_transit *out, bool *write, int64_t *resp_pid, int16_t *resp_epoch);

/* The forced abort's first step: PrepareEpochFence with the epoch bumped
 * (not again after a failed fence write). The state must be Ongoing with
 * nothing pending. Returns NONE, or UNKNOWN_SERVER_ERROR at epoch 32767. */
int16_t txn_meta_prepare_fence(struct txn_meta *meta, struct txn_transit *out);

/* After the markers of a Prepare* state are written: CompleteCommit or
 * CompleteAbort (TV2 overflow: with the next producer id, epoch 0). */
void txn_meta_prepare_complete(struct txn_meta *meta, int64_t now_ms, struct txn_transit *out);

/* transactional.id.expiration.ms: Dead (the caller writes a tombstone and
 * removes the id once it is durable). State Empty/Complete*, nothing pending. */
void txn_meta_prepare_dead(struct txn_meta *meta, struct txn_transit *out);

/* Applies t, whose record is durable; t->state must be meta->pending.
 * Returns 0, or -1 (nothing changed) when t does not follow from the state:
 * a bug, which the caller logs. */
int txn_meta_complete(struct txn_meta *meta, const struct txn_transit *t);

/* The write of the pending transition failed: nothing changes, except that a
 * failed fence is remembered. */
void txn_meta_abandon(struct txn_meta *meta, bool was_fence);

#endif
