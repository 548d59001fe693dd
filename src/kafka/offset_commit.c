/* OffsetCommit (v0-9): a consumer stores its positions. Partitions of
 * unknown topics get UNKNOWN_TOPIC_OR_PARTITION; the rest go to the group
 * coordinator, which checks the member and generation (ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID as Kafka),
 * writes them to __consumer_offsets, and the request parks until the flusher
 * has synced them: a committed offset is never lost once acknowledged.
 *
 * v1 carries a commit timestamp per partition, v2-4 a retention time (the
 * broker's offsets.retention.minutes applies instead, as in Kafka 2.1+),
 * v6+ the leader epoch, v7+ group.instance.id. */
#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/fetch_wait.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topics.h"
#include "net/reactor.h"
#include "proto/gen/errors.h"
#include "proto/gen/offset_commit_request.h"
#include "proto/gen/offset_commit_response.h"

struct commit_state {
	struct request *req;
	struct offset_commit_request *creq;
	struct group_commit_partition *parts; /* flat, in request order */
	int err;                              /* of the sync; set before reactor_post */
};

static void commit_respond(struct commit_state *st)
{
	struct request *req = st->req;
	const struct offset_commit_request *creq = st->creq;
	struct offset_commit_response *resp = arena_alloc(req->arena, sizeof(*resp));
	offset_commit_response_init(resp);
	int32_t nt = creq->topics_count > 0 ? creq->topics_count : 0;
	resp->topics_count = nt;
	resp->topics = arena_alloc(req->arena, sizeof(*resp->topics) * (size_t)(nt + 1));
	int32_t k = 0;
	for (int32_t t = 0; t < nt; t++) {
		const struct offset_commit_request_offset_commit_request_topic *rt = &creq->topics[t];
		struct offset_commit_response_offset_commit_response_topic *tt = &resp->topics[t];
		offset_commit_response_offset_commit_response_topic_init(tt);
		tt->name = rt->name;
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		tt->partitions_count = np;
		tt->partitions = arena_alloc(req->arena, sizeof(*tt->partitions) * (size_t)(np + 1));
		for (int32_t p = 0; p < np; p++, k++) {
			struct offset_commit_response_offset_commit_response_partition *pp = &tt->partitions[p];
			offset_commit_response_offset_commit_response_partition_init(pp);
			pp->partition_index = rt->partitions[p].partition_index;
			pp->error_code = st->parts[k].error;
			if (pp->error_code == KERR_NONE && st->err)
				pp->error_code = group_error_from_err(st->err);
		}
	}
	kafka_respond(req, resp);
}

static void commit_finish(void *arg)
{
	struct commit_state *st = arg;
	commit_respond(st);
	request_complete(st->req);
}

/* Flusher thread (or ours): the records are durable. */
static void commit_done(void *arg, int err)
{
	struct commit_state *st = arg;
	st->err = err;
	reactor_post(st->req->reactor, commit_finish, st);
}

enum handler_result kafka_handle_offset_commit(struct request *req)
{
	struct offset_commit_request *creq = kafka_decode_request(req);
	if (!creq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	struct commit_state *st = arena_alloc(arena, sizeof(*st));
	st->req = req;
	st->creq = creq;
	int32_t nt = creq->topics_count > 0 ? creq->topics_count : 0;
	int32_t total = 0;
	for (int32_t t = 0; t < nt; t++)
		total += creq->topics[t].partitions_count > 0 ? creq->topics[t].partitions_count : 0;
	st->parts = arena_alloc(arena, sizeof(*st->parts) * (size_t)(total + 1));
	int32_t k = 0;
	for (int32_t t = 0; t < nt; t++) {
		const struct offset_commit_request_offset_commit_request_topic *rt = &creq->topics[t];
		char *name = kstr_is_null(rt->name) ? NULL : kstr_dup(arena, rt->name);
		struct meta_topic *topic = name && *name ? meta_topic_get(req->broker->topics, name) : NULL;
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		for (int32_t p = 0; p < np; p++, k++) {
			const struct offset_commit_request_offset_commit_request_partition *rp = &rt->partitions[p];
			struct group_commit_partition *gp = &st->parts[k];
			gp->topic = name ? name : "";
			gp->partition = rp->partition_index;
			gp->offset = rp->committed_offset;
			gp->leader_epoch = req->api_version >= 6 ? rp->committed_leader_epoch : -1;
			gp->metadata = kstr_dup(arena, rp->committed_metadata);
			gp->commit_timestamp = req->api_version == 1 ? rp->commit_timestamp : -1;
			bool known = topic && rp->partition_index >= 0 && rp->partition_index < topic->partition_count;
			gp->error = known ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
		}
		meta_topic_put(req->broker->topics, topic);
	}
	struct group_commit_args args = {
		.group_id = kstr_dup(arena, creq->group_id),
		.member_id = req->api_version >= 1 && !kstr_is_null(creq->member_id) ? kstr_dup(arena, creq->member_id)
										     : "",
		.instance_id = kstr_dup(arena, creq->group_instance_id),
		.generation = req->api_version >= 1 ? creq->generation_id_or_member_epoch : -1,
		.count = total,
		.partitions = st->parts,
	};
	if (group_commit_offsets(req->broker->groups, &args, commit_done, st) == 0) {
		commit_respond(st);
		return HANDLER_DONE;
	}
	kafka_fetch_wait_notify(req->broker); /* records were appended to __consumer_offsets */
	return HANDLER_PARKED;
}
