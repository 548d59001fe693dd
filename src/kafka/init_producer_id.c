/* InitProducerId (v0-5): a producer id and epoch.
 *
 * Without a transactional id Kafka "blindly accepts" the request: a new
 * producer id from the allocator (txn/pid.h), epoch 0. That holds for v3+
 * requests carrying the client's current id and epoch too (KIP-360): for a
 * non-transactional producer the epoch bump after an unknown-producer or
 * sequence error is done by the client itself, and when it asks the broker
 * it gets a fresh id, whose state starts empty everywhere. The id and epoch
 * must be both set or both -1, else INVALID_REQUEST, as in Kafka.
 *
 * With a transactional id the transaction coordinator answers
 * (txn/coordinator.h), once the id's new epoch is durable in
 * __transaction_state: the same id with the epoch bumped (a new id once the
 * epoch is exhausted), which fences any older producer with that
 * transactional id; an ongoing transaction is aborted first and the client
 * told CONCURRENT_TRANSACTIONS to retry. transaction_timeout_ms above
 * transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT; v0-3 clients
 * get INVALID_PRODUCER_EPOCH where newer ones get PRODUCER_FENCED. */
#include <errno.h>

#include "base/log.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "net/reactor.h"
#include "proto/gen/errors.h"
#include "proto/gen/init_producer_id_request.h"
#include "proto/gen/init_producer_id_response.h"
#include "txn/coordinator.h"
#include "txn/pid.h"

struct init_state {
	struct request *req;
	struct txn_result res;
};

static void init_respond(struct request *req, const struct txn_result *res)
{
	struct init_producer_id_response *resp = arena_alloc(req->arena, sizeof(*resp));
	init_producer_id_response_init(resp);
	resp->error_code = res->error;
	if (res->error == KERR_PRODUCER_FENCED && req->api_version < 4)
		resp->error_code = KERR_INVALID_PRODUCER_EPOCH;
	resp->producer_id = res->error == KERR_NONE ? res->producer_id : -1;
	resp->producer_epoch = res->error == KERR_NONE ? res->producer_epoch : -1;
	kafka_respond(req, resp);
}

static void init_finish(void *arg)
{
	struct init_state *st = arg;
	init_respond(st->req, &st->res);
	request_complete(st->req);
}

/* Coordinator thread: the new epoch is durable (or the write failed). */
static void init_done(void *arg, const struct txn_result *res)
{
	struct init_state *st = arg;
	st->res = *res;
	reactor_post(st->req->reactor, init_finish, st);
}

enum handler_result kafka_handle_init_producer_id(struct request *req)
{
	struct init_producer_id_request *ireq = kafka_decode_request(req);
	if (!ireq)
		return HANDLER_DONE;
	struct txn_result res = {KERR_NONE, -1, -1};
	bool pid_set = ireq->producer_id != -1, epoch_set = ireq->producer_epoch != -1;
	if (pid_set != epoch_set) {
		res.error = KERR_INVALID_REQUEST;
	} else if (!kstr_is_null(ireq->transactional_id)) {
		struct init_state *st = arena_alloc(req->arena, sizeof(*st));
		st->req = req;
		const char *id = kstr_dup(req->arena, ireq->transactional_id);
		if (!req->broker->txns)
			res.error = KERR_COORDINATOR_NOT_AVAILABLE;
		else if (txn_init_producer_id(req->broker->txns, id, ireq->transaction_timeout_ms, ireq->producer_id,
					      ireq->producer_epoch, &res, init_done, st) == 1)
			return HANDLER_PARKED;
		if (res.error != KERR_NONE)
			log_debug("txn", "InitProducerId for transactional id '%s' from %s (client %s): error %d", id,
				  req->peer, req->client_id, res.error);
	} else {
		int64_t pid;
		int rc = req->broker->pids ? txn_pids_next(req->broker->pids, &pid) : -ENODEV;
		if (rc) {
			res.error = KERR_COORDINATOR_NOT_AVAILABLE; /* retriable */
		} else {
			res.producer_id = pid;
			res.producer_epoch = 0;
			log_debug("txn", "producer id %lld for %s (client %s)", (long long)pid, req->peer,
				  req->client_id);
		}
	}
	init_respond(req, &res);
	return HANDLER_DONE;
}
