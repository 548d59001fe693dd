/* The transaction coordinator: every transactional id of this broker
 * (txn/txn_meta.h state machines), kept in the internal topic
 * __transaction_state as Kafka keeps it (txn/txn_log.h), and the
 * transaction markers that end a transaction on each of its partitions.
 *
 * Threads. Handlers call in from any reactor thread; one mutex guards every
 * id and is held for in-memory work plus, for changes, one append to
 * __transaction_state (so the log order of an id's records is the order of
 * its changes). A change is answered once its record is durable: the
 * flusher's callback only queues it, and the coordinator's thread applies
 * it and calls the request's txn_done_fn (never under the lock, never from
 * inside the call that started it). The same thread writes the markers of
 * ending transactions (Kafka's marker channel): for each partition
 * txn_partition_write_marker, or the offsets hook for __consumer_offsets,
 * then waits for all of them to be synced before writing Complete*. A
 * request for an id with a change in flight waits for it (parked) rather
 * than getting CONCURRENT_TRANSACTIONS, except while failed markers wait for
 * their retry. The thread also aborts transactions open longer than their
 * timeout (epoch bumped, so the producer is fenced) and expires idle
 * transactional ids.
 *
 * Start-up: __transaction_state is replayed in txn_coordinator_open (the
 * listener is not open yet, so no request ever sees a half-loaded
 * coordinator); an Ongoing transaction's partitions are begun again
 * (txn_partition_begin) and a Prepare* one is completed by the thread.
 *
 * Errors handed back are Kafka wire codes (proto/gen/errors.h), the ones
 * Kafka's coordinator gives for the same situation; the handlers map
 * PRODUCER_FENCED to INVALID_PRODUCER_EPOCH for old request versions. */
#ifndef SAMSA_TXN_COORDINATOR_H
#define SAMSA_TXN_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "txn/txn_meta.h"

struct config;
struct log_flusher;
struct meta_topics;
struct txn_pids;
struct txn_coordinator;

/* The coordinator epoch written in markers (Kafka: the leader epoch of the
 * __transaction_state partition; one node never changes leader). */
#define TXN_COORDINATOR_EPOCH 0

struct txn_clock {
	int64_t (*mono_ms)(void);
	int64_t (*wall_ms)(void);
};

/* What the coordinator needs from the layers above it (wired by serve.c). */
struct txn_hooks {
	/* Writes the marker to partition `partition` of __consumer_offsets and
	 * applies or drops the producer's pending transactional offsets there
	 * (group_txn_end). Same contract as txn_partition_write_marker. NULL:
	 * the marker is written directly (tests without groups). */
	int (*offsets_marker)(void *arg, int32_t partition, int64_t producer_id, int16_t epoch, bool commit,
			      int32_t coordinator_epoch, int64_t *marker_offset);
	/* A transaction's markers are written and synced: last stable offsets
	 * moved (wake read_committed fetches). May be NULL. */
	void (*markers_written)(void *arg);
	void *arg;
};

struct txn_coordinator_options {
	const struct txn_clock *clock; /* NULL: the real clocks */
	bool no_thread;                /* tests: no thread; call txn_coordinator_tick() */
};

/* Reads the transaction settings from cfg and replays __transaction_state
 * when it exists (the topic is created on first use with
 * transaction.state.log.num.partitions partitions). hooks and opts may be
 * NULL. Returns NULL with errmsg on failure. */
struct txn_coordinator *txn_coordinator_open(const struct config *cfg, struct meta_topics *topics,
					     struct log_flusher *flusher, struct txn_pids *pids,
					     const struct txn_hooks *hooks, const struct txn_coordinator_options *opts,
					     char errmsg[ERRMSG_SIZE]);

/* Stops serving: later calls get NOT_COORDINATOR; changes already written
 * are still answered (the flusher must still run); markers not yet started
 * are left to the next start-up's recovery. Joins the thread. Idempotent. */
void txn_coordinator_stop(struct txn_coordinator *coord);

/* Stops (if needed) and frees. Call before the topics are closed. */
void txn_coordinator_close(struct txn_coordinator *coord);

/* Tests (no_thread): handles every queued completion and runs what is due
 * (timeouts, expiry, recovery, marker retries), without waiting. */
void txn_coordinator_tick(struct txn_coordinator *coord);
/* Tests (no_thread): ticks until no write or marker is in flight. */
void txn_coordinator_settle(struct txn_coordinator *coord);

/* ---- requests ----------------------------------------------------------------- */

struct txn_result {
	int16_t error;
	int64_t producer_id; /* -1 unless the answer carries one */
	int16_t producer_epoch;
};

/* The answer of a request that waited for a write: called once, on the
 * coordinator's thread (or the stopping thread); must not block. */
typedef void (*txn_done_fn)(void *arg, const struct txn_result *res);

/* Each request function returns 0 with *res filled (answered now), or 1:
 * done(arg, res) follows once the change is durable. */

/* InitProducerId with a transactional id (non-empty; v3+: expected id and
 * epoch, else -1/-1). */
int txn_init_producer_id(struct txn_coordinator *coord, const char *transactional_id, int32_t timeout_ms,
			 int64_t expected_pid, int16_t expected_epoch, struct txn_result *res, txn_done_fn done,
			 void *arg);

/* AddPartitionsToTxn / AddOffsetsToTxn: adds parts (the caller checked the
 * topics exist) to the transaction; every partition shares the error.
 * client_tv: TXN_TV2 for the broker form at v5, else TXN_TV1. Each
 * partition newly added is begun (txn_partition_begin) before the answer. */
int txn_add_partitions(struct txn_coordinator *coord, const char *transactional_id, int64_t producer_id,
		       int16_t epoch, const struct txn_tps *parts, int16_t client_tv, struct txn_result *res,
		       txn_done_fn done, void *arg);

/* AddPartitionsToTxn v4+ verify_only: errors[i] for parts->v[i] (NONE when
 * the partition is in the ongoing transaction). */
void txn_verify_partitions(struct txn_coordinator *coord, const char *transactional_id, int64_t producer_id,
			   int16_t epoch, const struct txn_tps *parts, int16_t *errors);

/* EndTxn. client_tv: TXN_TV2 for v5, else TXN_TV1. The answer comes once the
 * Prepare* record is durable (markers follow); with TV2 it carries the new
 * producer id and epoch. */
int txn_end(struct txn_coordinator *coord, const char *transactional_id, int64_t producer_id, int16_t epoch,
	    bool commit, int16_t client_tv, struct txn_result *res, txn_done_fn done, void *arg);

/* ---- admin ---------------------------------------------------------------------- */

struct txn_description {
	int16_t error;
	const char *state;  /* "" on error */
	int32_t timeout_ms;
	int64_t start_ms;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t partition_count; /* sorted by topic then partition */
	const char **topics;
	int32_t *partitions;
};

/* DescribeTransactions for one id, in the arena. */
void txn_describe(struct txn_coordinator *coord, const char *transactional_id, struct arena *arena,
		  struct txn_description *out);

struct txn_listing {
	const char *transactional_id;
	int64_t producer_id;
	const char *state;
};

/* ListTransactions: ids matching every given filter (none: all), in the
 * arena, sorted by id. min_duration_ms >= 0 keeps transactions that started
 * more than that long ago. Returns the error. */
int16_t txn_list(struct txn_coordinator *coord, int32_t state_count, const enum txn_state *states,
		 int32_t pid_count, const int64_t *pids, int64_t min_duration_ms, struct arena *arena,
		 struct txn_listing **out, int32_t *count);

#endif
