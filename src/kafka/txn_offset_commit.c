/* TxnOffsetCommit (v0-4): a transactional producer stores a consumer
 * group's positions inside its transaction (sendOffsetsToTransaction), after
 * AddOffsetsToTxn added the group's __consumer_offsets partition to it.
 * Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; the rest go to
 * the group coordinator, which checks the group (v3+: member, generation,
 * instance id, as OffsetCommit), appends them as one transactional batch and
 * keeps them pending until the transaction's marker commits or aborts them.
 * The request parks until the batch is synced (offset_commit.h).
 *
 * There is no top-level error: a group or transaction error is repeated on
 * every partition, as in Kafka. v2+ carry the leader epoch, v4+ clients know
 * TRANSACTION_ABORTABLE. */
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/offset_commit.h"
#include "proto/gen/txn_offset_commit_request.h"
#include "proto/gen/txn_offset_commit_response.h"

static void txn_commit_respond(struct commit_state *st)
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
			pp->error_code = commit_partition_error(st, k);
		}
	}
	kafka_respond(req, resp);
}

enum handler_result kafka_handle_txn_offset_commit(struct request *req)
{
	struct txn_offset_commit_request *creq = kafka_decode_request(req);
	if (!creq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	int32_t nt = creq->topics_count > 0 ? creq->topics_count : 0;
	int32_t total = 0;
	for (int32_t t = 0; t < nt; t++)
		total += creq->topics[t].partitions_count > 0 ? creq->topics[t].partitions_count : 0;
	struct commit_state *st = commit_state_new(req, creq, total, txn_commit_respond);
	int32_t k = 0;
	for (int32_t t = 0; t < nt; t++) {
		const struct txn_offset_commit_request_txn_offset_commit_request_topic *rt = &creq->topics[t];
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		for (int32_t p = 0; p < np; p++) {
			const struct txn_offset_commit_request_txn_offset_commit_request_partition *rp = &rt->partitions[p];
			st->parts[k + p] = (struct group_commit_partition){
				.partition = rp->partition_index,
				.offset = rp->committed_offset,
				.leader_epoch = req->api_version >= 2 ? rp->committed_leader_epoch : -1,
				.metadata = kstr_dup(arena, rp->committed_metadata),
				.commit_timestamp = -1,
			};
		}
		commit_resolve_topic(req, rt->name, &st->parts[k], np);
		k += np;
	}
	struct group_txn_commit_args args = {
		.commit = {.count = total, .partitions = st->parts},
		.producer_id = creq->producer_id,
		.producer_epoch = creq->producer_epoch,
		.abortable_known = req->api_version >= 4,
	};
	commit_args_group(req, &args.commit, creq->group_id, req->api_version >= 3, creq->member_id,
			  creq->group_instance_id, creq->generation_id);
	return commit_submitted(st, group_txn_commit_offsets(req->broker->groups, &args, commit_synced, st));
}
