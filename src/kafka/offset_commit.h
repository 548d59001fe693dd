/* What OffsetCommit (offset_commit.c) and TxnOffsetCommit
 * (txn_offset_commit.c) share: the request's partitions flattened in
 * request order for the group coordinator, the group fields of its args,
 * and the answer once the records are synced. Each handler keeps its own
 * decoding (the fields differ by version) and response encoding. */
#ifndef SAMSA_KAFKA_OFFSET_COMMIT_H
#define SAMSA_KAFKA_OFFSET_COMMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "group/coordinator.h"
#include "kafka/request.h"
#include "proto/types.h"

struct commit_state {
	struct request *req;
	const void *creq;                     /* the decoded request */
	struct group_commit_partition *parts; /* flat, in request order */
	int err;                              /* of the sync; set before reactor_post */
	void (*respond)(struct commit_state *st);
};

/* A state for count partitions, in the request's arena. */
struct commit_state *commit_state_new(struct request *req, const void *creq, int32_t count,
				      void (*respond)(struct commit_state *st));

/* parts[0..n), the partitions of topic `name` with their indexes and
 * offsets filled in: named, and UNKNOWN_TOPIC_OR_PARTITION unless the topic
 * exists with that partition. */
void commit_resolve_topic(struct request *req, struct kstr name, struct group_commit_partition *parts, int32_t n);

/* The group fields of args; without has_member (versions before the
 * member fields) the commit is outside group management. */
void commit_args_group(struct request *req, struct group_commit_args *args, struct kstr group_id, bool has_member,
		       struct kstr member_id, struct kstr instance_id, int32_t generation);

/* The answer of partition k: its own error, else the sync's. */
int16_t commit_partition_error(const struct commit_state *st, int32_t k);

/* group_write_cb (flusher thread, or ours): the records are durable; the
 * answer is sent on the request's reactor. */
void commit_synced(void *arg, int err);

/* After the coordinator call: parked (1) answers through commit_synced,
 * else (0) the answer goes now. */
enum handler_result commit_submitted(struct commit_state *st, int parked);

#endif
