/* ListGroups (v0-5): the groups this coordinator knows, with their protocol
 * type; v4+ add the state and filter by states (case-insensitive), v5+ add
 * the group type ("classic": the only kind this broker runs) and filter by
 * types. */
#include <strings.h>

#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/errors.h"
#include "proto/gen/list_groups_request.h"
#include "proto/gen/list_groups_response.h"

#define GROUP_TYPE_CLASSIC "classic"

static bool filter_matches(int32_t count, const struct kstr *filter, const char *value)
{
	if (count <= 0)
		return true;
	size_t len = strlen(value);
	for (int32_t i = 0; i < count; i++)
		if (filter[i].len == (int32_t)len && strncasecmp(filter[i].ptr, value, len) == 0)
			return true;
	return false;
}

enum handler_result kafka_handle_list_groups(struct request *req)
{
	struct list_groups_request *lreq = kafka_decode_request(req);
	if (!lreq)
		return HANDLER_DONE;
	struct group_listing *list;
	int32_t n;
	struct list_groups_response *resp = arena_alloc(req->arena, sizeof(*resp));
	list_groups_response_init(resp);
	resp->error_code = group_list(req->broker->groups, req->arena, &list, &n);
	resp->groups = arena_alloc(req->arena, sizeof(*resp->groups) * (size_t)(n + 1));
	for (int32_t i = 0; i < n; i++) {
		if (req->api_version >= 4 && !filter_matches(lreq->states_filter_count, lreq->states_filter, list[i].state))
			continue;
		if (req->api_version >= 5 &&
		    !filter_matches(lreq->types_filter_count, lreq->types_filter, GROUP_TYPE_CLASSIC))
			continue;
		struct list_groups_response_listed_group *g = &resp->groups[resp->groups_count++];
		list_groups_response_listed_group_init(g);
		g->group_id = kstr_from_cstr(list[i].group_id);
		g->protocol_type = kstr_from_cstr(list[i].protocol_type);
		g->group_state = kstr_from_cstr(list[i].state);
		g->group_type = KSTR_LIT(GROUP_TYPE_CLASSIC);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
