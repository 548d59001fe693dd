/* One consumer group's membership: Kafka's classic group protocol
 * (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) as a state machine.
 *
 *   Empty --join--> PreparingRebalance --all joined / timeout--> CompletingRebalance
 *     ^                 ^                                         |  leader's SyncGroup
 *     |                 +------ join, leave, member expiry -------+--> Stable
 *     +-- last member gone (the join phase completes with nobody) ------+
 *   Dead: deleted (DeleteGroups, offsets expired); never left again.
 *
 * The machine does no I/O, takes no locks and reads no clock: every call gets
 * the time from its caller (struct grp_now) and answers parked JoinGroup and
 * SyncGroup requests by queuing results in a struct grp_effects, which the
 * caller delivers once it has dropped its lock. Timeouts (session, rebalance,
 * pending SyncGroup, group.initial.rebalance.delay.ms, pending member ids)
 * are deadlines: the caller asks grp_next_deadline() and calls grp_tick() when
 * it has passed. Unit tests step the clock by hand (tests/unit/test_group_state.c).
 *
 * Error codes in results are Kafka wire codes (proto/gen/errors.h): the
 * outcome of a group operation is exactly what the client is told.
 *
 * Every parked request (a grp_waiter) is answered exactly once: with its
 * result, or with an error when its member is removed, replaced, fenced or
 * the group fails its waiters (grp_fail_waiters, at shutdown). */
#ifndef SAMSA_GROUP_GROUP_H
#define SAMSA_GROUP_GROUP_H

#include <stdbool.h>
#include <stdint.h>

enum grp_state {
	GRP_EMPTY,
	GRP_PREPARING_REBALANCE,
	GRP_COMPLETING_REBALANCE,
	GRP_STABLE,
	GRP_DEAD,
};

/* Kafka's names: "Empty", "PreparingRebalance", "CompletingRebalance",
 * "Stable", "Dead". */
const char *grp_state_name(enum grp_state state);
/* Case-insensitive; -1 if unknown. */
int grp_state_parse(const char *name);

struct grp_config {
	int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms */
	int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms */
	int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms */
	int32_t max_size;                   /* group.max.size */
};

/* The time of a call: monotonic for deadlines, wall clock for the state
 * timestamp kept in the group's metadata record. */
struct grp_now {
	int64_t mono_ms;
	int64_t wall_ms;
};

/* ---- results and effects ---------------------------------------------- */

enum grp_result_kind { GRP_RESULT_JOIN, GRP_RESULT_SYNC };

struct grp_join_member {
	char *member_id;
	char *instance_id; /* NULL: dynamic member */
	uint8_t *metadata;
	int32_t metadata_len;
};

/* The answer to a parked JoinGroup or SyncGroup; heap-allocated, owned by
 * whoever receives it (grp_result_free). */
struct grp_result {
	enum grp_result_kind kind;
	int16_t error;
	char *protocol_type; /* NULL: none (errors) */
	char *protocol_name; /* NULL: none (errors) */
	/* JoinGroup */
	int32_t generation;  /* -1 on errors */
	char *leader;        /* "" on errors */
	char *member_id;     /* the member's id ("" or the new id on errors) */
	bool skip_assignment;
	int32_t member_count; /* the leader gets every member, others none */
	struct grp_join_member *members;
	/* SyncGroup */
	uint8_t *assignment;
	int32_t assignment_len;
};

void grp_result_free(struct grp_result *res);
/* An error answer for a request the state machine never saw (unknown group,
 * coordinator stopping). */
struct grp_result *grp_result_error(enum grp_result_kind kind, const char *member_id, int16_t error);

/* A parked request. done() is called exactly once, by grp_effects_deliver(),
 * with no lock held, on the delivering thread; it owns res. */
struct grp_waiter {
	void (*done)(struct grp_waiter *waiter, struct grp_result *res);
};

struct grp_effect {
	struct grp_effect *next;
	struct grp_waiter *waiter;
	struct grp_result *res;
};

/* Results queued by one or more calls, delivered in order. */
struct grp_effects {
	struct grp_effect *head;
	struct grp_effect **tail;
};

void grp_effects_init(struct grp_effects *fx);
/* Calls each waiter's done() in queue order and empties fx. */
void grp_effects_deliver(struct grp_effects *fx);

/* ---- members (read-only for callers) ----------------------------------- */

struct grp_member_protocol {
	char *name;
	uint8_t *metadata;
	int32_t metadata_len;
};

struct grp_member {
	char *member_id;
	char *instance_id; /* group.instance.id; NULL: dynamic */
	char *client_id;
	char *client_host;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;
	int32_t protocol_count;
	struct grp_member_protocol *protocols; /* in the member's order of preference */
	uint8_t *assignment;                   /* from the leader's SyncGroup */
	int32_t assignment_len;
	/* Private to group.c. */
	struct grp_waiter *join_waiter;
	struct grp_waiter *sync_waiter;
	bool is_new;       /* joined in the current rebalance, no generation yet */
	bool pending_sync; /* joined the current generation, has not sent SyncGroup */
	int64_t hb_deadline; /* session expiry (monotonic ms); INT64_MAX: none */
};

struct grp;

/* A new group in state Empty, generation 0, no protocol type. */
struct grp *grp_new(const char *group_id, const struct grp_config *cfg, const struct grp_now *now);
/* Frees the group. Waiters still parked are not answered: call
 * grp_fail_waiters() first. */
void grp_free(struct grp *grp);

const char *grp_id(const struct grp *grp);
enum grp_state grp_state(const struct grp *grp);
int32_t grp_generation(const struct grp *grp);
const char *grp_protocol_type(const struct grp *grp); /* NULL: none */
const char *grp_protocol_name(const struct grp *grp); /* NULL: none */
const char *grp_leader(const struct grp *grp);        /* NULL: none */
/* Wall-clock time of the last state change (Kafka's currentStateTimestamp). */
int64_t grp_state_timestamp(const struct grp *grp);
int32_t grp_member_count(const struct grp *grp);
/* Members in join order; i < grp_member_count(). */
const struct grp_member *grp_member_at(const struct grp *grp, int32_t i);
/* The member's metadata for the group's selected protocol (NULL, 0 if none). */
const uint8_t *grp_member_metadata(const struct grp *grp, const struct grp_member *member, int32_t *len);

/* For a "consumer" group of known subscriptions: whether a member of the
 * current generation subscribes to topic. Groups whose subscriptions cannot
 * be read answer true (they may consume anything). */
bool grp_subscribed_to(const struct grp *grp, const char *topic);
/* True when the subscribed topics of the current generation are known. */
bool grp_subscriptions_known(const struct grp *grp);

/* True once after each change worth persisting as a group metadata record
 * (a new generation became Stable or Empty, a static member was replaced). */
bool grp_take_dirty(struct grp *grp);

/* ---- operations --------------------------------------------------------- */

struct grp_protocol {
	const char *name;
	const uint8_t *metadata;
	int32_t metadata_len;
};

struct grp_join_args {
	const char *member_id;     /* "" for a member without an id yet */
	const char *instance_id;   /* group.instance.id; NULL: dynamic member */
	const char *new_member_id; /* the id to hand out if one is needed */
	const char *client_id;
	const char *client_host;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;
	const char *protocol_type;
	int32_t protocol_count;
	const struct grp_protocol *protocols;
	bool require_known_member_id; /* JoinGroup v4+: MEMBER_ID_REQUIRED round trip */
	const char *reason;           /* for the log; may be NULL */
};

/* JoinGroup. The answer goes to waiter (now, or when the join phase ends). */
void grp_join(struct grp *grp, const struct grp_join_args *args, struct grp_waiter *waiter,
	      const struct grp_now *now, struct grp_effects *fx);

struct grp_assignment {
	const char *member_id;
	const uint8_t *data;
	int32_t len;
};

struct grp_sync_args {
	const char *member_id;
	const char *instance_id;   /* NULL: none */
	int32_t generation;
	const char *protocol_type; /* NULL: not given (SyncGroup < v5) */
	const char *protocol_name; /* NULL: not given */
	int32_t assignment_count;  /* the leader's assignments */
	const struct grp_assignment *assignments;
};

/* SyncGroup. The answer goes to waiter (now, or once the leader's arrives). */
void grp_sync(struct grp *grp, const struct grp_sync_args *args, struct grp_waiter *waiter,
	      const struct grp_now *now, struct grp_effects *fx);

/* Heartbeat: the error for the response. */
int16_t grp_heartbeat(struct grp *grp, const char *member_id, const char *instance_id, int32_t generation,
		      const struct grp_now *now, struct grp_effects *fx);

/* LeaveGroup for one member. member_id "" with an instance id removes that
 * static member (admin removal). Returns the member's error. */
int16_t grp_leave(struct grp *grp, const char *member_id, const char *instance_id, const char *reason,
		  const struct grp_now *now, struct grp_effects *fx);

/* OffsetCommit's membership check: NONE when the commit may proceed (and
 * counts as a heartbeat), else the error for every partition. A commit with
 * generation -1 comes from outside group management (an admin client, a
 * consumer that assigns partitions itself): allowed only while the group is
 * Empty. */
int16_t grp_commit_check(struct grp *grp, const char *member_id, const char *instance_id, int32_t generation,
			 const struct grp_now *now);

/* TxnOffsetCommit's check (Kafka's validateOffsetCommit, transactional): as
 * OffsetCommit's, except that a commit naming no member and no generation
 * is allowed in any state (v0-2 requests carry neither), CompletingRebalance
 * does not refuse it, and it is not a heartbeat. */
int16_t grp_txn_commit_check(const struct grp *grp, const char *member_id, const char *instance_id,
			     int32_t generation);

/* Runs every deadline that has passed: member session expiry, pending member
 * expiry, the end of the join phase (rebalance timeout or initial delay) and
 * the pending SyncGroup timeout. */
void grp_tick(struct grp *grp, const struct grp_now *now, struct grp_effects *fx);

/* The earliest pending deadline (monotonic ms), INT64_MAX if none. */
int64_t grp_next_deadline(const struct grp *grp);

/* Answers every parked JoinGroup and SyncGroup with error (NOT_COORDINATOR
 * when the coordinator stops). */
void grp_fail_waiters(struct grp *grp, int16_t error, struct grp_effects *fx);

/* DeleteGroups and offset expiry: an Empty group becomes Dead. Returns false
 * (and changes nothing) unless the group is Empty. */
bool grp_set_dead(struct grp *grp, const struct grp_now *now);

/* ---- restore from the log ----------------------------------------------- */

struct grp_restore_member {
	const char *member_id;
	const char *instance_id; /* NULL: dynamic */
	const char *client_id;
	const char *client_host;
	int32_t rebalance_timeout_ms;
	int32_t session_timeout_ms;
	const uint8_t *subscription; /* metadata for the group's protocol */
	int32_t subscription_len;
	const uint8_t *assignment;
	int32_t assignment_len;
};

/* Replaces the group's state with what a group metadata record says (start-up
 * replay): Stable with these members, or Empty without any. Every member's
 * session starts now, so members gone while the broker was down expire and
 * the rest rebalance. */
void grp_restore(struct grp *grp, int32_t generation, const char *protocol_type, const char *protocol_name,
		 const char *leader, int64_t state_timestamp, int32_t member_count,
		 const struct grp_restore_member *members, const struct grp_now *now);

#endif
