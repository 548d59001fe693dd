/* LeaveGroup (v0-5): members leave a group, which rebalances without them.
 * v0-2 name one member and answer with its error; v3+ take a batch of
 * members (by member id, or by group.instance.id alone for an admin removal
 * of a static member) and answer each. */
#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/errors.h"
#include "proto/gen/leave_group_request.h"
#include "proto/gen/leave_group_response.h"

enum handler_result kafka_handle_leave_group(struct request *req)
{
	struct leave_group_request *lreq = kafka_decode_request(req);
	if (!lreq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	bool batched = req->api_version >= 3;
	int32_t n = batched ? (lreq->members_count > 0 ? lreq->members_count : 0) : 1;
	struct group_leave_member *members = arena_alloc(arena, sizeof(*members) * (size_t)(n + 1));
	if (batched) {
		for (int32_t i = 0; i < n; i++) {
			const struct leave_group_request_member_identity *m = &lreq->members[i];
			members[i].member_id = kstr_is_null(m->member_id) ? "" : kstr_dup(arena, m->member_id);
			members[i].instance_id = kstr_dup(arena, m->group_instance_id);
			members[i].reason = kstr_dup(arena, m->reason);
		}
	} else {
		members[0].member_id = kstr_is_null(lreq->member_id) ? "" : kstr_dup(arena, lreq->member_id);
	}
	int16_t err = group_leave(req->broker->groups, kstr_dup(arena, lreq->group_id), n, members);

	struct leave_group_response *resp = arena_alloc(arena, sizeof(*resp));
	leave_group_response_init(resp);
	if (!batched) {
		resp->error_code = err ? err : members[0].error;
	} else {
		resp->error_code = err;
		resp->members_count = err ? 0 : n;
		resp->members = arena_alloc(arena, sizeof(*resp->members) * (size_t)(n + 1));
		for (int32_t i = 0; i < resp->members_count; i++) {
			struct leave_group_response_member_response *m = &resp->members[i];
			leave_group_response_member_response_init(m);
			m->member_id = kstr_from_cstr(members[i].member_id);
			m->group_instance_id = members[i].instance_id ? kstr_from_cstr(members[i].instance_id) : KSTR_NULL;
			m->error_code = members[i].error;
		}
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
