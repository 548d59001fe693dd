/* Internals shared by txn/partition_state.c (lifetime, snapshots, replay)
 * and txn/txn_partition.c (the produce path, markers, LSO, aborted index
 * queries). Nothing outside src/txn/ includes this. */
#ifndef SAMSA_TXN_PARTITION_INT_H
#define SAMSA_TXN_PARTITION_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "txn/producer_state.h"

/* What hangs off a log partition. snap_* are touched only by the checkpoint
 * and close hooks, which never overlap for one partition; ongoing under the
 * state's lock. */
struct txn_part {
	struct txn_pstate *ps;
	int64_t snap_offset;      /* newest snapshot on disk, -1 if none */
	int64_t prev_snap_offset; /* the one before it (kept), -1 if none */
	uint64_t snap_version;    /* ps version it holds */
	/* First offsets of the ongoing transactions with data here, ascending. */
	int64_t *ongoing;
	size_t nongoing, ongoing_cap;
	/* The first unstable offset for lock-free readers: ongoing[0], lowered
	 * to the end offset while a transaction's first batch is being appended
	 * (so a reader that sees the batch sees the bound too); INT64_MAX when
	 * nothing is open. */
	_Atomic int64_t unstable;
};

struct txn_part *txn_part_of(struct log_partition *part);

/* Rebuilds the ongoing set from the producers' txn_first_offset (after a
 * snapshot was loaded). State lock held (or not shared yet). */
void txn_part_ongoing_rebuild(struct txn_part *tp);

/* Records a batch with a producer id appended at offset (produce path,
 * markers, replay at open): the producer state, the ongoing set and, for an
 * abort marker ending a transaction with data here, the partition's
 * aborted-transactions index. commit is a marker's type. State lock held.
 * Returns 0 or -errno from the index write. */
int txn_part_record(struct log_partition *part, struct txn_part *tp, const struct txn_batch *b,
		    bool commit, int64_t offset, int64_t now_ms);

/* Parses the marker record of a control batch (whole batch of len bytes):
 * Kafka's EndTransactionMarker, key (version i16, type i16: 0 abort, 1
 * commit), value (version i16, coordinator epoch i32). False if it is not
 * one. */
bool txn_marker_parse(const uint8_t *batch, size_t len, bool *commit, int32_t *coordinator_epoch);

/* Big-endian field access (producer_state.c). */
uint8_t *txn_put_be(uint8_t *p, uint64_t v, int bytes);
uint64_t txn_get_be(const uint8_t *p, int bytes);

#endif
