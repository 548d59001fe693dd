/* EndTxn (v0-5): a transactional producer commits or aborts its
 * transaction. The coordinator (txn/coordinator.h) writes PrepareCommit or
 * PrepareAbort and the request waits until it is durable, as in Kafka; the
 * markers and Complete* follow on the coordinator's thread.
 *
 * v5 is transaction version 2 (KIP-890 part 2): the epoch is bumped at every
 * end and the response carries the producer id and epoch to use next; a
 * retry of an end already done, with the epoch it was sent with, succeeds
 * with them; any other older epoch is PRODUCER_FENCED. v0-1 clients get
 * INVALID_PRODUCER_EPOCH where newer ones get PRODUCER_FENCED. */
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "net/reactor.h"
#include "proto/gen/end_txn_request.h"
#include "proto/gen/end_txn_response.h"
#include "proto/gen/errors.h"
#include "txn/coordinator.h"

struct end_state {
	struct request *req;
	struct txn_result res;
};

static void end_respond(struct request *req, const struct txn_result *res)
{
	struct end_txn_response *resp = arena_alloc(req->arena, sizeof(*resp));
	end_txn_response_init(resp);
	resp->error_code = res->error;
	if (res->error == KERR_PRODUCER_FENCED && req->api_version < 2)
		resp->error_code = KERR_INVALID_PRODUCER_EPOCH;
	resp->producer_id = res->error == KERR_NONE ? res->producer_id : -1;
	resp->producer_epoch = res->error == KERR_NONE ? res->producer_epoch : -1;
	kafka_respond(req, resp);
}

static void end_finish(void *arg)
{
	struct end_state *st = arg;
	end_respond(st->req, &st->res);
	request_complete(st->req);
}

/* Coordinator thread: the Prepare* record is durable (or not). */
static void end_done(void *arg, const struct txn_result *res)
{
	struct end_state *st = arg;
	st->res = *res;
	reactor_post(st->req->reactor, end_finish, st);
}

enum handler_result kafka_handle_end_txn(struct request *req)
{
	struct end_txn_request *ereq = kafka_decode_request(req);
	if (!ereq)
		return HANDLER_DONE;
	struct txn_result res = {KERR_COORDINATOR_NOT_AVAILABLE, -1, -1};
	struct end_state *st = arena_alloc(req->arena, sizeof(*st));
	st->req = req;
	if (req->broker->txns &&
	    txn_end(req->broker->txns, kstr_dup(req->arena, ereq->transactional_id), ereq->producer_id,
		    ereq->producer_epoch, ereq->committed, req->api_version >= 5 ? TXN_TV2 : TXN_TV1, &res, end_done,
		    st) == 1)
		return HANDLER_PARKED;
	end_respond(req, &res);
	return HANDLER_DONE;
}
