/* JoinGroup (v0-9): a member joins a consumer group, or rejoins it for a
 * rebalance. The request parks until the group's join phase ends (everyone
 * rejoined, the rebalance timeout or group.initial.rebalance.delay.ms ran
 * out); the group coordinator (group/coordinator.h) answers through a
 * grp_waiter from whichever thread ended it, and the answer is posted back to
 * this request's reactor to be encoded there.
 *
 * v0 has no rebalance timeout (the session timeout serves), v4+ get the
 * MEMBER_ID_REQUIRED round trip, v5+ carry group.instance.id (static
 * membership), v7+ return the protocol type, v9 skip_assignment. */
#include <string.h>

#include "base/log.h"
#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "net/reactor.h"
#include "proto/gen/errors.h"
#include "proto/gen/join_group_request.h"
#include "proto/gen/join_group_response.h"

struct join_state {
	struct grp_waiter waiter; /* first: the coordinator hands this back */
	struct request *req;
	struct grp_result *res;   /* written before reactor_post, read after */
};

static struct kstr kstr_or_null(const char *s)
{
	return s ? kstr_from_cstr(s) : KSTR_NULL;
}

/* Kafka's client host: "/" and the peer's address, without the port. */
static const char *client_host(struct request *req)
{
	const char *colon = strrchr(req->peer, ':');
	size_t len = colon ? (size_t)(colon - req->peer) : strlen(req->peer);
	const char *start = req->peer;
	if (len >= 2 && start[0] == '[' && start[len - 1] == ']') {
		start++;
		len -= 2;
	}
	char *host = arena_alloc(req->arena, len + 2);
	host[0] = '/';
	memcpy(host + 1, start, len);
	host[len + 1] = '\0';
	return host;
}

/* Reactor thread: encode the answer. */
static void join_finish(void *arg)
{
	struct join_state *st = arg;
	struct request *req = st->req;
	struct grp_result *res = st->res;
	struct join_group_response *resp = arena_alloc(req->arena, sizeof(*resp));
	join_group_response_init(resp);
	resp->error_code = res->error;
	resp->generation_id = res->generation;
	resp->protocol_type = kstr_or_null(res->protocol_type);
	resp->protocol_name = kstr_or_null(res->protocol_name);
	resp->leader = kstr_from_cstr(res->leader);
	resp->member_id = kstr_from_cstr(res->member_id);
	resp->skip_assignment = res->skip_assignment;
	resp->members_count = res->member_count;
	resp->members = arena_alloc(req->arena, sizeof(*resp->members) * (size_t)(res->member_count + 1));
	for (int32_t i = 0; i < res->member_count; i++) {
		struct join_group_response_join_group_response_member *m = &resp->members[i];
		join_group_response_join_group_response_member_init(m);
		m->member_id = kstr_from_cstr(res->members[i].member_id);
		m->group_instance_id = kstr_or_null(res->members[i].instance_id);
		m->metadata = kbytes_from_buf(res->members[i].metadata, (size_t)res->members[i].metadata_len);
	}
	kafka_respond(req, resp);
	grp_result_free(res);
	request_complete(req);
}

/* Any thread, no lock held. */
static void join_done(struct grp_waiter *waiter, struct grp_result *res)
{
	struct join_state *st = (struct join_state *)waiter;
	st->res = res;
	reactor_post(st->req->reactor, join_finish, st);
}

enum handler_result kafka_handle_join_group(struct request *req)
{
	struct join_group_request *jreq = kafka_decode_request(req);
	if (!jreq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	int32_t n = jreq->protocols_count > 0 ? jreq->protocols_count : 0;
	struct grp_protocol *protocols = arena_alloc(arena, sizeof(*protocols) * (size_t)(n + 1));
	for (int32_t i = 0; i < n; i++) {
		const struct join_group_request_join_group_request_protocol *p = &jreq->protocols[i];
		protocols[i].name = kstr_is_null(p->name) ? "" : kstr_dup(arena, p->name);
		protocols[i].metadata = p->metadata.len > 0 ? p->metadata.ptr : NULL;
		protocols[i].metadata_len = p->metadata.len > 0 ? p->metadata.len : 0;
	}
	struct grp_join_args args = {
		.member_id = kstr_is_null(jreq->member_id) ? "" : kstr_dup(arena, jreq->member_id),
		.instance_id = kstr_dup(arena, jreq->group_instance_id),
		.client_id = req->client_id,
		.client_host = client_host(req),
		.session_timeout_ms = jreq->session_timeout_ms,
		.rebalance_timeout_ms = req->api_version >= 1 ? jreq->rebalance_timeout_ms : jreq->session_timeout_ms,
		.protocol_type = kstr_is_null(jreq->protocol_type) ? "" : kstr_dup(arena, jreq->protocol_type),
		.protocol_count = n,
		.protocols = protocols,
		.require_known_member_id = req->api_version >= 4,
		.reason = kstr_dup(arena, jreq->reason),
	};
	struct join_state *st = arena_alloc(arena, sizeof(*st));
	st->waiter.done = join_done;
	st->req = req;
	const char *group_id = kstr_dup(arena, jreq->group_id);
	log_debug("group", "%s: JoinGroup v%d group %s member '%s' client '%s'", req->peer, req->api_version,
		  group_id ? group_id : "(null)", args.member_id, req->client_id);
	group_join(req->broker->groups, group_id, &args, &st->waiter);
	return HANDLER_PARKED;
}
