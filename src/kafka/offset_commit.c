/* OffsetCommit (v0-9): a consumer stores its positions. Partitions of
 * unknown topics get UNKNOWN_TOPIC_OR_PARTITION; the rest go to the group
 * coordinator, which checks the member and generation (ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID as Kafka),
 * writes them to __consumer_offsets, and the request parks until the flusher
 * has synced them: a committed offset is never lost once acknowledged.
 *
 * v1 carries a commit timestamp per partition, v2-4 a retention time (the
 * broker's offsets.retention.minutes applies instead, as in Kafka 2.1+),
 * v6+ the leader epoch, v7+ group.instance.id.
 *
 * Also what TxnOffsetCommit shares with it (offset_commit.h). */
#include "kafka/offset_commit.h"

#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/fetch_wait.h"
#include "kafka/handlers.h"
#include "meta/topics.h"
#include "net/reactor.h"
#include "proto/gen/errors.h"
#include "proto/gen/offset_commit_request.h"
#include "proto/gen/offset_commit_response.h"

/* ---- shared with TxnOffsetCommit ---------------------------------------------- */

struct commit_state *commit_state_new(struct request *req, const void *creq, int32_t count,
				      void (*respond)(struct commit_state *st))
{
	struct commit_state *st = arena_alloc(req->arena, sizeof(*st));
	st->req = req;
	st->creq = creq;
	st->parts = arena_alloc(req->arena, sizeof(*st->parts) * (size_t)(count + 1));
	st->err = 0;
	st->respond = respond;
	return st;
}

void commit_resolve_topic(struct request *req, struct kstr name, struct group_commit_partition *parts, int32_t n)
{
	char *topic_name = kstr_is_null(name) ? NULL : kstr_dup(req->arena, name);
	struct meta_topic *topic = topic_name && *topic_name ? meta_topic_get(req->broker->topics, topic_name) : NULL;
	for (int32_t p = 0; p < n; p++) {
		parts[p].topic = topic_name ? topic_name : "";
		bool known = topic && parts[p].partition >= 0 && parts[p].partition < topic->partition_count;
		parts[p].error = known ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
	}
	meta_topic_put(req->broker->topics, topic);
}

void commit_args_group(struct request *req, struct group_commit_args *args, struct kstr group_id, bool has_member,
		       struct kstr member_id, struct kstr instance_id, int32_t generation)
{
	args->group_id = kstr_dup(req->arena, group_id);
	args->member_id = has_member && !kstr_is_null(member_id) ? kstr_dup(req->arena, member_id) : "";
	args->instance_id = has_member ? kstr_dup(req->arena, instance_id) : NULL;
	args->generation = has_member ? generation : -1;
}

int16_t commit_partition_error(const struct commit_state *st, int32_t k)
{
	int16_t error = st->parts[k].error;
	return error == KERR_NONE && st->err ? group_error_from_err(st->err) : error;
}

static void commit_finish(void *arg)
{
	struct commit_state *st = arg;
	st->respond(st);
	request_complete(st->req);
}

void commit_synced(void *arg, int err)
{
	struct commit_state *st = arg;
	st->err = err;
	reactor_post(st->req->reactor, commit_finish, st);
}

enum handler_result commit_submitted(struct commit_state *st, int parked)
{
	if (!parked) {
		st->respond(st);
		return HANDLER_DONE;
	}
	kafka_fetch_wait_notify(st->req->broker); /* records were appended to __consumer_offsets */
	return HANDLER_PARKED;
}

/* ---- OffsetCommit --------------------------------------------------------------- */

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
			pp->error_code = commit_partition_error(st, k);
		}
	}
	kafka_respond(req, resp);
}

enum handler_result kafka_handle_offset_commit(struct request *req)
{
	struct offset_commit_request *creq = kafka_decode_request(req);
	if (!creq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	int32_t nt = creq->topics_count > 0 ? creq->topics_count : 0;
	int32_t total = 0;
	for (int32_t t = 0; t < nt; t++)
		total += creq->topics[t].partitions_count > 0 ? creq->topics[t].partitions_count : 0;
	struct commit_state *st = commit_state_new(req, creq, total, commit_respond);
	int32_t k = 0;
	for (int32_t t = 0; t < nt; t++) {
		const struct offset_commit_request_offset_commit_request_topic *rt = &creq->topics[t];
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		for (int32_t p = 0; p < np; p++) {
			const struct offset_commit_request_offset_commit_request_partition *rp = &rt->partitions[p];
			st->parts[k + p] = (struct group_commit_partition){
				.partition = rp->partition_index,
				.offset = rp->committed_offset,
				.leader_epoch = req->api_version >= 6 ? rp->committed_leader_epoch : -1,
				.metadata = kstr_dup(arena, rp->committed_metadata),
				.commit_timestamp = req->api_version == 1 ? rp->commit_timestamp : -1,
			};
		}
		commit_resolve_topic(req, rt->name, &st->parts[k], np);
		k += np;
	}
	struct group_commit_args args = {.count = total, .partitions = st->parts};
	commit_args_group(req, &args, creq->group_id, req->api_version >= 1, creq->member_id, creq->group_instance_id,
			  creq->generation_id_or_member_epoch);
	return commit_submitted(st, group_commit_offsets(req->broker->groups, &args, commit_synced, st));
}
