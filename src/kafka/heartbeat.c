/* Heartbeat (v0-4): a member says it is alive; the answer tells it whether a
 * rebalance started (REBALANCE_IN_PROGRESS) or it was dropped. */
#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/errors.h"
#include "proto/gen/heartbeat_request.h"
#include "proto/gen/heartbeat_response.h"

enum handler_result kafka_handle_heartbeat(struct request *req)
{
	struct heartbeat_request *hreq = kafka_decode_request(req);
	if (!hreq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	struct heartbeat_response *resp = arena_alloc(arena, sizeof(*resp));
	heartbeat_response_init(resp);
	resp->error_code = group_heartbeat(req->broker->groups, kstr_dup(arena, hreq->group_id),
					   kstr_is_null(hreq->member_id) ? "" : kstr_dup(arena, hreq->member_id),
					   kstr_dup(arena, hreq->group_instance_id), hreq->generation_id);
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
