/* The group coordinator: every consumer group of this broker (group/group.h
 * state machines) and their committed offsets, kept in the internal topic
 * __consumer_offsets as Kafka keeps them (group/records.h).
 *
 * Threads. Handlers call in from any reactor thread; one mutex guards all
 * groups and offsets and is held only for in-memory work plus, for writes,
 * one append (a pwrite into the page cache) so that the log order of a
 * group's records is the order of its changes. Parked JoinGroup and
 * SyncGroup requests are answered through their grp_waiter after the lock is
 * dropped, on whichever thread completed them; the kafka handlers post the
 * answer to the request's own reactor. A timer thread runs the groups'
 * deadlines (sessions, rebalance timeouts, initial delay) and the periodic
 * offset expiry. Writes that the client waits for (commits, deletions) are
 * acknowledged once the flusher has synced them (acks=all): their completion
 * callback runs on the flusher thread, or on the caller's thread if the sync
 * happened before the call returned.
 *
 * Errors handed back are Kafka wire codes (proto/gen/errors.h), the ones
 * Kafka's coordinator gives for the same situation. */
#ifndef SAMSA_GROUP_COORDINATOR_H
#define SAMSA_GROUP_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "group/group.h"

struct config;
struct log_flusher;
struct meta_topics;
struct group_coordinator;

struct group_clock {
	int64_t (*mono_ms)(void);
	int64_t (*wall_ms)(void);
};

struct group_coordinator_options {
	const struct group_clock *clock; /* NULL: the real clocks */
	bool no_thread;                  /* tests: no timer thread; call group_coordinator_tick() */
};

/* Reads the group settings from cfg and, when __consumer_offsets exists,
 * replays it to rebuild every group and committed offset (tombstones delete).
 * The topic is created on first use (offsets.topic.num.partitions
 * partitions, replication factor 1). opts may be NULL. Returns NULL with
 * errmsg on failure. */
struct group_coordinator *group_coordinator_open(const struct config *cfg, struct meta_topics *topics,
						 struct log_flusher *flusher,
						 const struct group_coordinator_options *opts,
						 char errmsg[ERRMSG_SIZE]);

/* Stops serving: every parked JoinGroup/SyncGroup is answered with
 * NOT_COORDINATOR (so clients look for the coordinator again), later calls get
 * NOT_COORDINATOR, and the timer thread is joined. Idempotent. */
void group_coordinator_stop(struct group_coordinator *coord);

/* Stops (if needed) and frees. Call before the topics are closed. */
void group_coordinator_close(struct group_coordinator *coord);

/* Runs every due deadline now (what the timer thread does). */
void group_coordinator_tick(struct group_coordinator *coord);

/* Maps an internal write error (-errno, -SAMSA_E*) to the error a client gets
 * for a group write, as Kafka maps its append errors: storage errors become
 * NOT_COORDINATOR, a missing partition COORDINATOR_NOT_AVAILABLE. */
int16_t group_error_from_err(int err);

/* Completion of a durable write: err 0, or the internal error of the sync.
 * Called once, on the flusher thread or the calling thread; must not block. */
typedef void (*group_write_cb)(void *arg, int err);

/* ---- membership (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) ------------ */

/* The answer goes to waiter, exactly once. args->new_member_id is ignored: the
 * coordinator makes one (client id or instance id, '-', a random UUID). */
void group_join(struct group_coordinator *coord, const char *group_id, const struct grp_join_args *args,
		struct grp_waiter *waiter);
void group_sync(struct group_coordinator *coord, const char *group_id, const struct grp_sync_args *args,
		struct grp_waiter *waiter);
int16_t group_heartbeat(struct group_coordinator *coord, const char *group_id, const char *member_id,
			const char *instance_id, int32_t generation);

struct group_leave_member {
	const char *member_id;
	const char *instance_id; /* NULL: none */
	const char *reason;      /* NULL: none */
	int16_t error;           /* out */
};

/* Returns the group-level error; members' errors are filled. */
int16_t group_leave(struct group_coordinator *coord, const char *group_id, int32_t count,
		    struct group_leave_member *members);

/* ---- committed offsets ----------------------------------------------------- */

struct group_commit_partition {
	const char *topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;     /* -1: none */
	const char *metadata;     /* NULL: none ("") */
	int64_t commit_timestamp; /* -1: now */
	int16_t error; /* in: NONE, or an error the caller already decided (unknown topic);
			* out: the partition's result */
};

struct group_commit_args {
	const char *group_id;
	const char *member_id;   /* "" outside group management */
	const char *instance_id; /* NULL: none */
	int32_t generation;      /* -1 outside group management */
	int32_t count;
	struct group_commit_partition *partitions;
};

/* OffsetCommit. Returns 0 when every partition's error is final (nothing to
 * wait for), or 1 when records were appended: done(arg, err) follows once
 * they are durable, and partitions still at NONE then get
 * group_error_from_err(err) if err != 0. */
int group_commit_offsets(struct group_coordinator *coord, const struct group_commit_args *args,
			 group_write_cb done, void *arg);

struct group_offset {
	const char *topic;
	int32_t partition;
	int64_t offset;       /* out: -1 when nothing is committed */
	int32_t leader_epoch; /* out: -1 when unknown */
	const char *metadata; /* out: in the arena; "" when none */
	int16_t error;        /* out */
};

/* OffsetFetch for the listed partitions (topic/partition set by the caller).
 * Offsets still pending in a transaction are not shown; with require_stable
 * (Kafka's requireStable, v7+) a partition that has some gets
 * UNSTABLE_OFFSET_COMMIT and offset -1. Returns the group-level error. */
int16_t group_fetch_offsets(struct group_coordinator *coord, const char *group_id, bool require_stable,
			    int32_t count, struct group_offset *offsets, struct arena *arena);
/* Every committed offset of the group, sorted by topic then partition,
 * allocated from arena (require_stable as above). Returns the group-level
 * error. */
int16_t group_fetch_all_offsets(struct group_coordinator *coord, const char *group_id, bool require_stable,
				struct arena *arena, struct group_offset **out, int32_t *count);

struct group_offset_delete {
	const char *topic;
	int32_t partition;
	int16_t error; /* in: NONE, or an error the caller already decided; out: the result */
};

/* OffsetDelete. *group_error gets the group-level error. Returns 0 when done,
 * 1 when tombstones were written and done(arg, err) follows once durable. */
int group_delete_offsets(struct group_coordinator *coord, const char *group_id, int32_t count,
			 struct group_offset_delete *parts, int16_t *group_error, group_write_cb done, void *arg);

/* ---- transactions ----------------------------------------------------------- */

struct group_txn_commit_args {
	/* member fields as for OffsetCommit ("", NULL, -1 before v3); the
	 * partitions' commit_timestamp is -1 (now: TxnOffsetCommit has none) */
	struct group_commit_args commit;
	int64_t producer_id;
	int16_t producer_epoch;
	bool abortable_known;    /* the client knows TRANSACTION_ABORTABLE (v4+) */
};

/* TxnOffsetCommit: checks the group as Kafka does (a group that does not
 * exist is created for a commit without generation, else
 * ILLEGAL_GENERATION; members as for OffsetCommit), appends the offsets as
 * one transactional batch of producer_id/epoch to the group's partition of
 * __consumer_offsets (the producer must have begun a transaction there:
 * AddOffsetsToTxn; else INVALID_TXN_STATE, or TRANSACTION_ABORTABLE when
 * abortable_known; an old epoch: INVALID_PRODUCER_EPOCH) and keeps them
 * pending until the transaction's marker (group_txn_end). Same return and
 * completion contract as group_commit_offsets. */
int group_txn_commit_offsets(struct group_coordinator *coord, const struct group_txn_commit_args *args,
			     group_write_cb done, void *arg);

/* The partition of __consumer_offsets that holds group_id's records (Kafka's
 * partitionFor), creating the topic on first use so that the caller can open
 * that partition (AddOffsetsToTxn adds it to the transaction). Returns the
 * partition, or -errno / -SAMSA_E* when the topic cannot be created. */
int32_t group_offsets_partition(struct group_coordinator *coord, const char *group_id);

/* The transaction coordinator ends producer_id's transaction on partition
 * `partition` of __consumer_offsets: under the group lock, writes the marker
 * (txn_partition_write_marker, txn/txn_partition.h) and makes the producer's
 * pending transactional offsets of every group on that partition committed
 * (commit: each replaces the committed offset unless that was written later
 * in the log, Kafka's rule) or drops them (abort). Does not wait for the
 * marker to be durable: the caller waits for *marker_offset + 1 with
 * log_flusher_wait, as for any other partition. Returns 0, or the marker
 * write's error (-errno / -SAMSA_E*; the pending offsets stay then). */
int group_txn_end(struct group_coordinator *coord, int32_t partition, int64_t producer_id, int16_t epoch,
		  bool commit, int32_t coordinator_epoch, int64_t *marker_offset);

/* ---- admin ------------------------------------------------------------------- */

struct group_listing {
	const char *group_id;
	const char *protocol_type; /* "" for groups that only commit offsets */
	const char *state;
};

/* ListGroups: every live group, in the arena. Returns the error. */
int16_t group_list(struct group_coordinator *coord, struct arena *arena, struct group_listing **out,
		   int32_t *count);

struct group_member_description {
	const char *member_id;
	const char *instance_id; /* NULL: none */
	const char *client_id;
	const char *client_host;
	const uint8_t *metadata; /* empty unless the group is Stable */
	int32_t metadata_len;
	const uint8_t *assignment;
	int32_t assignment_len;
};

struct group_description {
	int16_t error;
	const char *state;         /* "Dead" for a group that does not exist */
	const char *protocol_type; /* "" when none */
	const char *protocol;      /* "" unless Stable */
	int32_t member_count;
	struct group_member_description *members;
};

/* DescribeGroups for one group, in the arena. */
void group_describe(struct group_coordinator *coord, const char *group_id, struct arena *arena,
		    struct group_description *out);

/* DeleteGroups: errors[i] for group_ids[i] (NON_EMPTY_GROUP for groups with
 * members, GROUP_ID_NOT_FOUND). Returns 0 when done, 1 when tombstones were
 * written and done(arg, err) follows once durable. */
int group_delete_groups(struct group_coordinator *coord, int32_t count, const char *const *group_ids,
			int16_t *errors, group_write_cb done, void *arg);

#endif
