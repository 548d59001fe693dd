/* Transactions on the partition side (KIP-98, KIP-890 part 1): what the
 * transaction coordinator (txn/coordinator.c) and the group coordinator
 * (its TxnOffsetCommit batches) ask of a data partition, and what the read
 * side (Fetch, ListOffsets, DescribeProducers) asks about it. Everything here works on the producer
 * state that txn/partition_state.c attaches to every log partition; a
 * partition opened without it (no observer installed) has no transactions:
 * begin is a no-op, markers fail with -ENOTSUP, the LSO is the end offset.
 *
 * All functions are thread-safe. Lock order: the partition's producer-state
 * lock, then the log's locks (the same as the produce path). */
#ifndef SAMSA_TXN_TXN_PARTITION_H
#define SAMSA_TXN_TXN_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "txn/producer_state.h"

struct log_partition;
struct log_append_result;

/* An aborted transaction: producer id, offset of its first batch at this
 * partition, offset of its abort marker (Fetch's AbortedTransaction). */
struct txn_aborted {
	int64_t producer_id;
	int64_t first_offset;
	int64_t last_offset;
};

/* KIP-890 part 1 "verification": the coordinator declares that (pid, epoch)
 * has an ongoing transaction that includes part (AddPartitionsToTxn,
 * AddOffsetsToTxn, coordinator recovery). A transactional batch from pid is
 * accepted at part only after this, with exactly that epoch (no begin:
 * TXN_NO_TXN -> INVALID_TXN_STATE; an older epoch than the begun one:
 * TXN_INVALID_EPOCH -> INVALID_PRODUCER_EPOCH), or while pid's transaction
 * with data here is ongoing in that epoch. Kept in memory only (the
 * coordinator re-begins ongoing transactions when it recovers); cleared by
 * the transaction's marker. */
void txn_partition_begin(struct log_partition *part, int64_t producer_id, int16_t epoch);

/* Appends a control batch (Kafka's EndTransactionMarker: key version 0 +
 * type 0 abort / 1 commit, value version 0 + coordinator epoch) with producer
 * id and epoch, attributes transactional|control, sequence -1, and ends the
 * producer's transaction at part: the begun state and txn first offset are
 * cleared and the LSO moves. On abort, when the producer wrote transactional
 * data here, {pid, first offset, marker offset} goes into the
 * aborted-transactions index (<segment base>.txnindex, durable with the log,
 * pruned with the segments). A marker is written even when the producer
 * wrote nothing here.
 *
 * Refused, nothing written: an epoch older than the producer's (or the
 * begun) epoch at part, or a coordinator epoch older than the one of the
 * producer's last marker (Kafka: InvalidProducerEpoch /
 * TransactionCoordinatorFenced) give -ESTALE. A newer epoch (TV2 bump,
 * timeout abort bump) is accepted and becomes the producer's epoch.
 *
 * Does not wait for durability: callers use log_flusher_wait(flusher, part,
 * *marker_offset + 1, ...). Returns 0 with *marker_offset, -ENOTSUP without
 * producer state, or -errno from the append. */
int txn_partition_write_marker(struct log_partition *part, int64_t producer_id, int16_t epoch,
			       bool commit, int32_t coordinator_epoch, int64_t now_ms,
			       int64_t *marker_offset);

/* For coordinator-written transactional batches (the group coordinator's
 * TxnOffsetCommit records): one v2 batch with producer id/epoch set, sequence
 * -1, transactional. Checked for the begun state and the epoch, never for
 * sequences (Kafka: AppendOrigin.COORDINATOR). Same result contract as
 * txn_partition_append (TXN_INVALID for a batch that is not one
 * transactional, non-control batch with a producer id). */
int txn_partition_append_from_coordinator(struct log_partition *part, uint8_t *batches, size_t len,
					  int32_t record_count, int64_t now_ms,
					  struct log_append_result *res, enum txn_verdict *verdict,
					  char why[ERRMSG_SIZE]);

/* Last stable offset: the first offset of the oldest ongoing transaction at
 * part (not below the log start offset), else the log end offset. Lock-free
 * (every fetch pass calls it); never above what a reader can see. */
int64_t txn_partition_lso(struct log_partition *part);

/* Aborted transactions whose [first, last] intersects [from, to), in
 * first-offset order, allocated in arena. Returns the count (0: none, *out
 * NULL). */
int32_t txn_partition_aborted(struct log_partition *part, int64_t from, int64_t to,
			      struct arena *arena, struct txn_aborted **out);

/* One producer as DescribeProducers shows it. */
struct txn_producer_info {
	int64_t producer_id;
	int16_t epoch;
	int32_t last_sequence;         /* -1 if none */
	int64_t last_timestamp;        /* broker time of its last write, -1 if none */
	int32_t coordinator_epoch;     /* -1 if no marker yet */
	int64_t current_txn_start_offset; /* -1 if none */
};

/* The producers with state at part (those that wrote batches or markers),
 * in arena, in producer id order. Returns the count. */
int32_t txn_partition_producers(struct log_partition *part, struct arena *arena,
				struct txn_producer_info **out);

#endif
