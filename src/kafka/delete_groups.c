/* DeleteGroups (v0-2): deletes Empty groups with their committed offsets
 * (NON_EMPTY_GROUP for a group with members, GROUP_ID_NOT_FOUND for one that
 * does not exist). Tombstones go to __consumer_offsets; the request parks
 * until they are durable. */
#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "net/reactor.h"
#include "proto/gen/delete_groups_request.h"
#include "proto/gen/delete_groups_response.h"
#include "proto/gen/errors.h"

struct delete_groups_state {
	struct request *req;
	struct delete_groups_request *dreq;
	int16_t *errors;
	int err;
};

static void delete_groups_respond(struct delete_groups_state *st)
{
	struct request *req = st->req;
	struct delete_groups_response *resp = arena_alloc(req->arena, sizeof(*resp));
	delete_groups_response_init(resp);
	int32_t n = st->dreq->groups_names_count > 0 ? st->dreq->groups_names_count : 0;
	resp->results_count = n;
	resp->results = arena_alloc(req->arena, sizeof(*resp->results) * (size_t)(n + 1));
	for (int32_t i = 0; i < n; i++) {
		struct delete_groups_response_deletable_group_result *r = &resp->results[i];
		delete_groups_response_deletable_group_result_init(r);
		r->group_id = st->dreq->groups_names[i];
		r->error_code = st->errors[i];
		if (r->error_code == KERR_NONE && st->err)
			r->error_code = group_error_from_err(st->err);
	}
	kafka_respond(req, resp);
}

static void delete_groups_finish(void *arg)
{
	struct delete_groups_state *st = arg;
	delete_groups_respond(st);
	request_complete(st->req);
}

static void delete_groups_done(void *arg, int err)
{
	struct delete_groups_state *st = arg;
	st->err = err;
	reactor_post(st->req->reactor, delete_groups_finish, st);
}

enum handler_result kafka_handle_delete_groups(struct request *req)
{
	struct delete_groups_request *dreq = kafka_decode_request(req);
	if (!dreq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	struct delete_groups_state *st = arena_alloc(arena, sizeof(*st));
	st->req = req;
	st->dreq = dreq;
	int32_t n = dreq->groups_names_count > 0 ? dreq->groups_names_count : 0;
	const char **ids = arena_alloc(arena, sizeof(*ids) * (size_t)(n + 1));
	st->errors = arena_alloc(arena, sizeof(*st->errors) * (size_t)(n + 1));
	for (int32_t i = 0; i < n; i++)
		ids[i] = kstr_dup(arena, dreq->groups_names[i]);
	if (group_delete_groups(req->broker->groups, n, ids, st->errors, delete_groups_done, st) == 0) {
		delete_groups_respond(st);
		return HANDLER_DONE;
	}
	return HANDLER_PARKED;
}
