/* TxnOffsetCommit (v0-4): a transactional producer stores a consumer
 * group's positions inside its transaction (sendOffsetsToTransaction), after
 * AddOffsetsToTxn added the group's __consumer_offsets partition to it.
 * Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; the rest go to
 * the group coordinator, which checks the group (v3+: member, generation,
 * instance id, as OffsetCommit), appends them as one transactional batch and
 * keeps them pending until the transaction's marker commits or aborts them.
 * The request parks until the batch is synced.
 *
 * There is no top-level error: a group or transaction error is repeated on
 * every partition, as in Kafka. v2+ carry the leader epoch, v4+ clients know
 * TRANSACTION_ABORTABLE. */
#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/fetch_wait.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topics.h"
#include "net/reactor.h"
#include "proto/gen/errors.h"
#include "proto/gen/txn_offset_commit_request.h"
#include "proto/gen/txn_offset_commit_response.h"

struct txn_commit_state {
	struct request *req;
	struct txn_offset_commit_request *creq;
	struct group_commit_partition *parts; /* flat, in request order */
	int err;                              /* of the sync; set before reactor_post */
};

static void txn_commit_respond(struct txn_commit_state *st)
{
	struct request *req = st->req;
	const struct txn_offset_commit_request *creq = st->creq;
	struct txn_offset_commit_response *resp = arena_alloc(req->arena, sizeof(*resp));
	txn_offset_commit_response_init(resp);
	int32_t nt = creq->topics_count > 0 ? creq->topics_count : 0;
	resp->topics_count = nt;
	resp->topics = arena_alloc(req->arena, sizeof(*resp->topics) * (size_t)(nt + 1));
	int32_t k = 0;
	for (int32_t t = 0; t < nt; t++) {
		const struct txn_offset_commit_request_txn_offset_commit_request_topic *rt = &creq->topics[t];
		struct txn_offset_commit_response_txn_offset_commit_response_topic *tt = &resp->topics[t];
		txn_offset_commit_response_txn_offset_commit_response_topic_init(tt);
		tt->name = rt->name;
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		tt->partitions_count = np;
		tt->partitions = arena_alloc(req->arena, sizeof(*tt->partitions) * (size_t)(np + 1));
		for (int32_t p = 0; p < np; p++, k++) {
			struct txn_offset_commit_response_txn_offset_commit_response_partition *pp = &tt->partitions[p];
			txn_offset_commit_response_txn_offset_commit_response_partition_init(pp);
			pp->partition_index = rt->partitions[p].partition_index;
			pp->error_code = st->parts[k].error;
			if (pp->error_code == KERR_NONE && st->err)
				pp->error_code = group_error_from_err(st->err);
		}
	}
	kafka_respond(req, resp);
}

static void txn_commit_finish(void *arg)
{
	struct txn_commit_state *st = arg;
	txn_commit_respond(st);
	request_complete(st->req);
}

/* Flusher thread (or ours): the records are durable. */
static void txn_commit_done(void *arg, int err)
{
	struct txn_commit_state *st = arg;
	st->err = err;
	reactor_post(st->req->reactor, txn_commit_finish, st);
}

enum handler_result kafka_handle_txn_offset_commit(struct request *req)
{
	struct txn_offset_commit_request *creq = kafka_decode_request(req);
	if (!creq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	struct txn_commit_state *st = arena_alloc(arena, sizeof(*st));
	st->req = req;
	st->creq = creq;
	st->err = 0;
	int32_t nt = creq->topics_count > 0 ? creq->topics_count : 0;
	int32_t total = 0;
	for (int32_t t = 0; t < nt; t++)
		total += creq->topics[t].partitions_count > 0 ? creq->topics[t].partitions_count : 0;
	st->parts = arena_alloc(arena, sizeof(*st->parts) * (size_t)(total + 1));
	int32_t k = 0;
	for (int32_t t = 0; t < nt; t++) {
		const struct txn_offset_commit_request_txn_offset_commit_request_topic *rt = &creq->topics[t];
		char *name = kstr_is_null(rt->name) ? NULL : kstr_dup(arena, rt->name);
		struct meta_topic *topic = name && *name ? meta_topic_get(req->broker->topics, name) : NULL;
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		for (int32_t p = 0; p < np; p++, k++) {
			const struct txn_offset_commit_request_txn_offset_commit_request_partition *rp = &rt->partitions[p];
			struct group_commit_partition *gp = &st->parts[k];
			gp->topic = name ? name : "";
			gp->partition = rp->partition_index;
			gp->offset = rp->committed_offset;
			gp->leader_epoch = req->api_version >= 2 ? rp->committed_leader_epoch : -1;
			gp->metadata = kstr_dup(arena, rp->committed_metadata);
			gp->commit_timestamp = -1;
			bool known = topic && rp->partition_index >= 0 && rp->partition_index < topic->partition_count;
			gp->error = known ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
		}
		meta_topic_put(req->broker->topics, topic);
	}
	struct group_txn_commit_args args = {
		.group_id = kstr_dup(arena, creq->group_id),
		.member_id = req->api_version >= 3 && !kstr_is_null(creq->member_id) ? kstr_dup(arena, creq->member_id)
										      : "",
		.instance_id = req->api_version >= 3 ? kstr_dup(arena, creq->group_instance_id) : NULL,
		.generation = req->api_version >= 3 ? creq->generation_id : -1,
		.producer_id = creq->producer_id,
		.producer_epoch = creq->producer_epoch,
		.abortable_known = req->api_version >= 4,
		.count = total,
		.partitions = st->parts,
	};
	if (group_txn_commit_offsets(req->broker->groups, &args, txn_commit_done, st) == 0) {
		txn_commit_respond(st);
		return HANDLER_DONE;
	}
	kafka_fetch_wait_notify(req->broker); /* records were appended to __consumer_offsets */
	return HANDLER_PARKED;
}
