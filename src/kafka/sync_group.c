/* SyncGroup (v0-5): the leader hands in the assignment, every member gets
 * its own. The request parks until the leader's arrives (or the rebalance
 * is abandoned); answers come back as in JoinGroup (join_group.c). v5+
 * carry and return the protocol type and name. */
#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "net/reactor.h"
#include "proto/gen/errors.h"
#include "proto/gen/sync_group_request.h"
#include "proto/gen/sync_group_response.h"

struct sync_state {
	struct grp_waiter waiter; /* first: the coordinator hands this back */
	struct request *req;
	struct grp_result *res;
};

static struct kstr kstr_or_null(const char *s)
{
	return s ? kstr_from_cstr(s) : KSTR_NULL;
}

static void sync_finish(void *arg)
{
	struct sync_state *st = arg;
	struct request *req = st->req;
	struct grp_result *res = st->res;
	struct sync_group_response *resp = arena_alloc(req->arena, sizeof(*resp));
	sync_group_response_init(resp);
	resp->error_code = res->error;
	resp->protocol_type = kstr_or_null(res->protocol_type);
	resp->protocol_name = kstr_or_null(res->protocol_name);
	resp->assignment = kbytes_from_buf(res->assignment, (size_t)res->assignment_len);
	kafka_respond(req, resp);
	grp_result_free(res);
	request_complete(req);
}

static void sync_done(struct grp_waiter *waiter, struct grp_result *res)
{
	struct sync_state *st = (struct sync_state *)waiter;
	st->res = res;
	reactor_post(st->req->reactor, sync_finish, st);
}

enum handler_result kafka_handle_sync_group(struct request *req)
{
	struct sync_group_request *sreq = kafka_decode_request(req);
	if (!sreq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	int32_t n = sreq->assignments_count > 0 ? sreq->assignments_count : 0;
	struct grp_assignment *asg = arena_alloc(arena, sizeof(*asg) * (size_t)(n + 1));
	for (int32_t i = 0; i < n; i++) {
		const struct sync_group_request_sync_group_request_assignment *a = &sreq->assignments[i];
		asg[i].member_id = kstr_is_null(a->member_id) ? "" : kstr_dup(arena, a->member_id);
		asg[i].data = a->assignment.len > 0 ? a->assignment.ptr : NULL;
		asg[i].len = a->assignment.len > 0 ? a->assignment.len : 0;
	}
	struct grp_sync_args args = {
		.member_id = kstr_is_null(sreq->member_id) ? "" : kstr_dup(arena, sreq->member_id),
		.instance_id = kstr_dup(arena, sreq->group_instance_id),
		.generation = sreq->generation_id,
		.protocol_type = kstr_dup(arena, sreq->protocol_type),
		.protocol_name = kstr_dup(arena, sreq->protocol_name),
		.assignment_count = n,
		.assignments = asg,
	};
	struct sync_state *st = arena_alloc(arena, sizeof(*st));
	st->waiter.done = sync_done;
	st->req = req;
	group_sync(req->broker->groups, kstr_dup(arena, sreq->group_id), &args, &st->waiter);
	return HANDLER_PARKED;
}
