/* Producer state of one partition: what idempotence (and, later, transactions)
 * needs to know about every producer id that wrote to it.
 *
 * For each producer id: its current epoch and the metadata of its last
 * TXN_MAX_BATCHES batches (first and last sequence, first offset, offset
 * delta), Kafka's ProducerStateEntry. A produced batch is checked against it
 * (txn_pstate_check), following Kafka's rules (ProducerAppendInfo, KIP-360):
 *   - the same epoch and sequence range as one of the cached batches is a
 *     duplicate: answered with the original offsets, not appended again;
 *   - an epoch older than the current one is fenced (INVALID_PRODUCER_EPOCH);
 *   - a newer epoch must start at sequence 0;
 *   - in the same epoch the first sequence must follow the last one
 *     (Integer.MAX_VALUE wraps to 0), else OUT_OF_ORDER_SEQUENCE_NUMBER;
 *   - a producer id the partition has no state for is accepted at any
 *     sequence (its state may have expired; the client's own checks cover the
 *     rest), as Kafka does since 2.5.
 * After a successful append the caller records the batch (txn_pstate_update);
 * the same function replays batches read back from the log at open, so the
 * state after a restart is what it was before.
 *
 * Transactions hook in here: each producer also carries the first offset of
 * its ongoing transaction (set by its first transactional batch, cleared by a
 * commit/abort marker), the coordinator epoch of the last marker, which is
 * what the last stable offset and the aborted-transactions index are built
 * from, and the epoch the coordinator began a transaction in here (KIP-890
 * verification, txn_pstate_begin / txn_pstate_check_txn). Everything in this file is pure state: no I/O, no clock (times are
 * passed in), so tests step it directly. Persistence (snapshots, replay from
 * the log) and the produce path's locked check+append live in
 * txn/partition_state.c. */
#ifndef SAMSA_TXN_PRODUCER_STATE_H
#define SAMSA_TXN_PRODUCER_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "proto/records.h"

struct log_partition;
struct log_append_result;

/* Batches remembered per producer: why max.in.flight.requests.per.connection
 * must be <= 5 for idempotence. */
#define TXN_MAX_BATCHES 5

struct txn_batch_meta {
	int32_t first_seq;
	int32_t last_seq;
	int64_t first_offset;
	int32_t offset_delta;   /* last offset - first offset */
	int64_t append_time;    /* LogAppendTime of the batch, or -1 (CreateTime) */
};

struct txn_producer {
	int64_t producer_id;
	int16_t epoch;
	int32_t coordinator_epoch; /* of the last transaction marker, -1 if none */
	int64_t txn_first_offset;  /* first offset of the ongoing transaction, -1 if none */
	int64_t last_update_ms;    /* broker wall clock of the last batch (expiry) */
	int16_t begun_epoch;       /* epoch the coordinator began a transaction in, -1 (not persisted) */
	int nbatches;              /* valid entries in batches[], oldest first */
	struct txn_batch_meta batches[TXN_MAX_BATCHES];
};

/* A batch as the state machine sees it: the fields of its v2 header. */
struct txn_batch {
	int64_t producer_id;
	int16_t epoch;
	int32_t first_seq;      /* baseSequence */
	int32_t offset_delta;   /* lastOffsetDelta */
	bool transactional;
	bool control;           /* a commit/abort marker */
	int32_t coordinator_epoch; /* a marker's, from its value; -1 otherwise */
	int64_t append_time;    /* -1 unless the stored batch has LogAppendTime */
};

/* The batch fields of a parsed header. */
void txn_batch_from_header(const struct records_batch_header *hdr, struct txn_batch *b);

/* seq + delta with Kafka's wrap-around past INT32_MAX (to 0). */
int32_t txn_seq_add(int32_t seq, int32_t delta);

enum txn_verdict {
	TXN_OK,            /* append it (after txn_partition_append: appended) */
	TXN_DUPLICATE,     /* a cached batch again: answer with its offsets */
	TXN_OUT_OF_ORDER,  /* OUT_OF_ORDER_SEQUENCE_NUMBER */
	TXN_INVALID_EPOCH, /* older epoch: INVALID_PRODUCER_EPOCH */
	TXN_INVALID,       /* not a valid idempotent batch: INVALID_RECORD */
	TXN_NO_TXN,        /* transactional batch outside a transaction: INVALID_TXN_STATE */
};

const char *txn_verdict_name(enum txn_verdict v);

struct txn_pstate;

struct txn_pstate *txn_pstate_new(void);
void txn_pstate_free(struct txn_pstate *ps);

/* The lock that makes check + append + update atomic for a partition
 * (txn_partition_append holds it); also taken by snapshots. Lock order:
 * ps lock -> the log's partition locks. */
void txn_pstate_lock(struct txn_pstate *ps);
void txn_pstate_unlock(struct txn_pstate *ps);

/* The producer's entry, or NULL. Valid until the next update/expire. */
const struct txn_producer *txn_pstate_find(const struct txn_pstate *ps, int64_t producer_id);
size_t txn_pstate_count(const struct txn_pstate *ps);

/* Checks a client's batch (producer_id >= 0) against the state, without
 * changing it. On TXN_DUPLICATE *dup is the original batch; on an error why
 * says what is wrong in Kafka's words. Transactional batches are checked
 * like any other here; txn_pstate_check_txn decides whether a transaction
 * is open. */
enum txn_verdict txn_pstate_check(const struct txn_pstate *ps, const struct txn_batch *b,
				  struct txn_batch_meta *dup, char why[ERRMSG_SIZE]);

/* The coordinator declared (KIP-890 verification) that producer_id has an
 * ongoing transaction in epoch that includes this partition. In memory only;
 * cleared by the transaction's marker. */
void txn_pstate_begin(struct txn_pstate *ps, int64_t producer_id, int16_t epoch, int64_t now_ms);

/* The transaction rules for a data batch that passed the other checks
 * (Kafka's ProducerAppendInfo + KIP-890): a transactional batch needs a
 * transaction with data here in its epoch, or a begin in its epoch (an older
 * epoch than the begun one: TXN_INVALID_EPOCH, else TXN_NO_TXN); a
 * non-transactional batch while the producer's transaction is ongoing is
 * TXN_NO_TXN. */
enum txn_verdict txn_pstate_check_txn(const struct txn_pstate *ps, const struct txn_batch *b,
				      char why[ERRMSG_SIZE]);

/* Checks an end-transaction marker before it is written: an epoch older than
 * the producer's (or the begun one), or a coordinator epoch older than its
 * last marker's, is fenced: -ESTALE with why. 0 when it may be written. */
int txn_pstate_check_marker(const struct txn_pstate *ps, int64_t producer_id, int16_t epoch,
			    int32_t coordinator_epoch, char why[ERRMSG_SIZE]);

/* Records a batch stored at first_offset: a checked client batch after its
 * append, or any batch replayed from the log (no checks: the log is the
 * truth). A new epoch drops the cached batches; a control batch ends the
 * ongoing transaction (and the begun state) and keeps its coordinator epoch.
 * now_ms is the broker's wall clock. */
void txn_pstate_update(struct txn_pstate *ps, const struct txn_batch *b, int64_t first_offset,
		       int64_t now_ms);

/* Forgets producers with no batch for expiration_ms (producer.id.expiration.ms)
 * and no ongoing or begun transaction. Returns how many went. */
size_t txn_pstate_expire(struct txn_pstate *ps, int64_t now_ms, int64_t expiration_ms);

/* Calls fn for every producer entry (any order). */
void txn_pstate_foreach(const struct txn_pstate *ps,
			void (*fn)(void *arg, const struct txn_producer *p), void *arg);

/* Bumped by every change; snapshots compare it to skip unchanged state. */
uint64_t txn_pstate_version(const struct txn_pstate *ps);

/* Snapshot encoding (a self-checking blob: magic, version, CRC-32C): the
 * state as of log offset `offset`. Returns a malloc'ed buffer. */
uint8_t *txn_pstate_encode(const struct txn_pstate *ps, int64_t offset, size_t *len);
/* Replaces ps's producers with the snapshot's. Returns 0 with *offset set, or
 * -SAMSA_ECORRUPT with errmsg (ps is then left empty). */
int txn_pstate_decode(struct txn_pstate *ps, const uint8_t *data, size_t len, int64_t *offset,
		      char errmsg[ERRMSG_SIZE]);

/* ---------------------------------------------------------------------------
 * The partition side (txn/partition_state.c): the producer state attached to
 * every log partition through the log's observer hooks. */

/* Installs the log observer (log_partition_observer_set) that loads each
 * partition's producer state when it opens (the newest usable snapshot, then
 * the batches after it replayed from the log), writes a snapshot after each
 * recovery point and at close, and drops producers idle for expiration_ms.
 * Call once at start-up, before any partition is opened. */
void txn_partition_state_install(int64_t expiration_ms);
/* Removes it again (tests). */
void txn_partition_state_uninstall(void);

/* The producer state of part, or NULL when none is attached. */
struct txn_pstate *txn_pstate_of(struct log_partition *part);

/* Appends a produced record set (validated by records_validate) to part.
 * Sets without a producer id go straight to log_partition_append. With one,
 * under the partition's producer-state lock: the set must be a single batch;
 * it is checked (txn_pstate_check), appended when TXN_OK and recorded.
 * Returns -errno when the append itself failed; otherwise 0 and *verdict:
 * TXN_OK (appended, res filled), TXN_DUPLICATE (not appended, res holds the
 * original batch's offsets), or an error verdict with why filled (nothing
 * appended). */
int txn_partition_append(struct log_partition *part, uint8_t *batches, size_t len,
			 int32_t record_count, int64_t now_ms, struct log_append_result *res,
			 enum txn_verdict *verdict, char why[ERRMSG_SIZE]);

#endif
