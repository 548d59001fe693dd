/* OffsetDelete (v0): removes committed offsets of a group. Allowed for an
 * Empty group, and for a consumer group's topics it no longer subscribes to
 * (GROUP_SUBSCRIBED_TO_TOPIC otherwise); tombstones go to __consumer_offsets
 * and the request parks until they are durable. */
#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topics.h"
#include "net/reactor.h"
#include "proto/gen/errors.h"
#include "proto/gen/offset_delete_request.h"
#include "proto/gen/offset_delete_response.h"

struct delete_state {
	struct request *req;
	struct offset_delete_request *dreq;
	struct group_offset_delete *parts;
	int16_t group_error;
	int err;
};

static void delete_respond(struct delete_state *st)
{
	struct request *req = st->req;
	struct offset_delete_response *resp = arena_alloc(req->arena, sizeof(*resp));
	offset_delete_response_init(resp);
	resp->error_code = st->group_error;
	int32_t nt = st->group_error || st->dreq->topics_count < 0 ? 0 : st->dreq->topics_count;
	resp->topics_count = nt;
	resp->topics = arena_alloc(req->arena, sizeof(*resp->topics) * (size_t)(nt + 1));
	int32_t k = 0;
	for (int32_t t = 0; t < nt; t++) {
		const struct offset_delete_request_offset_delete_request_topic *rt = &st->dreq->topics[t];
		struct offset_delete_response_offset_delete_response_topic *tt = &resp->topics[t];
		offset_delete_response_offset_delete_response_topic_init(tt);
		tt->name = rt->name;
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		tt->partitions_count = np;
		tt->partitions = arena_alloc(req->arena, sizeof(*tt->partitions) * (size_t)(np + 1));
		for (int32_t p = 0; p < np; p++, k++) {
			struct offset_delete_response_offset_delete_response_partition *pp = &tt->partitions[p];
			offset_delete_response_offset_delete_response_partition_init(pp);
			pp->partition_index = rt->partitions[p].partition_index;
			pp->error_code = st->parts[k].error;
			if (pp->error_code == KERR_NONE && st->err)
				pp->error_code = group_error_from_err(st->err);
		}
	}
	kafka_respond(req, resp);
}

static void delete_finish(void *arg)
{
	struct delete_state *st = arg;
	delete_respond(st);
	request_complete(st->req);
}

static void delete_done(void *arg, int err)
{
	struct delete_state *st = arg;
	st->err = err;
	reactor_post(st->req->reactor, delete_finish, st);
}

enum handler_result kafka_handle_offset_delete(struct request *req)
{
	struct offset_delete_request *dreq = kafka_decode_request(req);
	if (!dreq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	struct delete_state *st = arena_alloc(arena, sizeof(*st));
	st->req = req;
	st->dreq = dreq;
	int32_t nt = dreq->topics_count > 0 ? dreq->topics_count : 0;
	int32_t total = 0;
	for (int32_t t = 0; t < nt; t++)
		total += dreq->topics[t].partitions_count > 0 ? dreq->topics[t].partitions_count : 0;
	st->parts = arena_alloc(arena, sizeof(*st->parts) * (size_t)(total + 1));
	int32_t k = 0;
	for (int32_t t = 0; t < nt; t++) {
		const struct offset_delete_request_offset_delete_request_topic *rt = &dreq->topics[t];
		char *name = kstr_is_null(rt->name) ? "" : kstr_dup(arena, rt->name);
		struct meta_topic *topic = *name ? meta_topic_get(req->broker->topics, name) : NULL;
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		for (int32_t p = 0; p < np; p++, k++) {
			int32_t index = rt->partitions[p].partition_index;
			bool known = topic && index >= 0 && index < topic->partition_count;
			st->parts[k] = (struct group_offset_delete){name, index,
								    known ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION};
		}
		meta_topic_put(req->broker->topics, topic);
	}
	if (group_delete_offsets(req->broker->groups, kstr_dup(arena, dreq->group_id), total, st->parts,
				 &st->group_error, delete_done, st) == 0) {
		delete_respond(st);
		return HANDLER_DONE;
	}
	return HANDLER_PARKED;
}
