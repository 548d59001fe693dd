/* DescribeGroups (v0-5): state, protocol and members of each group; member
 * metadata and assignments only while the group is Stable (as Kafka). A
 * group that does not exist is reported as "Dead" without error (v0-5).
 * v3+ may ask for the authorized operations: without ACLs, everything a
 * group supports (READ, DELETE, DESCRIBE). */
#include <stdint.h>

#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/describe_groups_request.h"
#include "proto/gen/describe_groups_response.h"
#include "proto/gen/errors.h"

/* Kafka's AclOperation codes: READ 3, DELETE 6, DESCRIBE 8. */
#define GROUP_AUTHORIZED_OPERATIONS ((1 << 3) | (1 << 6) | (1 << 8))

static struct kstr kstr_or_null(const char *s)
{
	return s ? kstr_from_cstr(s) : KSTR_NULL;
}

enum handler_result kafka_handle_describe_groups(struct request *req)
{
	struct describe_groups_request *dreq = kafka_decode_request(req);
	if (!dreq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	struct describe_groups_response *resp = arena_alloc(arena, sizeof(*resp));
	describe_groups_response_init(resp);
	int32_t n = dreq->groups_count > 0 ? dreq->groups_count : 0;
	resp->groups_count = n;
	resp->groups = arena_alloc(arena, sizeof(*resp->groups) * (size_t)(n + 1));
	for (int32_t i = 0; i < n; i++) {
		struct describe_groups_response_described_group *g = &resp->groups[i];
		describe_groups_response_described_group_init(g);
		struct group_description d;
		group_describe(req->broker->groups, kstr_dup(arena, dreq->groups[i]), arena, &d);
		g->error_code = d.error;
		g->group_id = dreq->groups[i];
		g->group_state = kstr_from_cstr(d.state);
		g->protocol_type = kstr_from_cstr(d.protocol_type);
		g->protocol_data = kstr_from_cstr(d.protocol);
		g->authorized_operations = dreq->include_authorized_operations ? GROUP_AUTHORIZED_OPERATIONS : INT32_MIN;
		g->members_count = d.member_count;
		g->members = arena_alloc(arena, sizeof(*g->members) * (size_t)(d.member_count + 1));
		for (int32_t m = 0; m < d.member_count; m++) {
			const struct group_member_description *md = &d.members[m];
			struct describe_groups_response_described_group_member *gm = &g->members[m];
			describe_groups_response_described_group_member_init(gm);
			gm->member_id = kstr_from_cstr(md->member_id);
			gm->group_instance_id = kstr_or_null(md->instance_id);
			gm->client_id = kstr_from_cstr(md->client_id);
			gm->client_host = kstr_from_cstr(md->client_host);
			gm->member_metadata = kbytes_from_buf(md->metadata, (size_t)md->metadata_len);
			gm->member_assignment = kbytes_from_buf(md->assignment, (size_t)md->assignment_len);
		}
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
