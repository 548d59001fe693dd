/* AddOffsetsToTxn (v0-4): a transactional producer is about to commit a
 * consumer group's offsets in its transaction (TxnOffsetCommit follows). The
 * group's partition of __consumer_offsets (group_offsets_partition, created
 * on first use) is added to the transaction like any other partition
 * (txn_add_partitions), and the request waits until that is durable. v0-1
 * clients get INVALID_PRODUCER_EPOCH where newer ones get PRODUCER_FENCED. */
#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/internal_topics.h"
#include "net/reactor.h"
#include "proto/gen/add_offsets_to_txn_request.h"
#include "proto/gen/add_offsets_to_txn_response.h"
#include "proto/gen/errors.h"
#include "txn/coordinator.h"

struct offsets_state {
	struct request *req;
	int16_t error;
};

static void offsets_respond(struct request *req, int16_t error)
{
	struct add_offsets_to_txn_response *resp = arena_alloc(req->arena, sizeof(*resp));
	add_offsets_to_txn_response_init(resp);
	resp->error_code = error == KERR_PRODUCER_FENCED && req->api_version < 2 ? KERR_INVALID_PRODUCER_EPOCH : error;
	kafka_respond(req, resp);
}

static void offsets_finish(void *arg)
{
	struct offsets_state *st = arg;
	offsets_respond(st->req, st->error);
	request_complete(st->req);
}

/* Coordinator thread: the partition is in the transaction (or not). */
static void offsets_done(void *arg, const struct txn_result *res)
{
	struct offsets_state *st = arg;
	st->error = res->error;
	reactor_post(st->req->reactor, offsets_finish, st);
}

enum handler_result kafka_handle_add_offsets_to_txn(struct request *req)
{
	struct add_offsets_to_txn_request *oreq = kafka_decode_request(req);
	if (!oreq)
		return HANDLER_DONE;
	struct broker *broker = req->broker;
	struct txn_result res = {KERR_NONE, -1, -1};
	const char *group_id = kstr_is_null(oreq->group_id) ? "" : kstr_dup(req->arena, oreq->group_id);
	int32_t partition = broker->groups ? group_offsets_partition(broker->groups, group_id) : -1;
	if (!broker->txns || partition < 0) {
		res.error = KERR_COORDINATOR_NOT_AVAILABLE;
	} else {
		struct offsets_state *st = arena_alloc(req->arena, sizeof(*st));
		st->req = req;
		struct txn_tps parts = {0};
		txn_tps_add(&parts, META_OFFSETS_TOPIC, partition);
		int rc = txn_add_partitions(broker->txns, kstr_dup(req->arena, oreq->transactional_id),
					    oreq->producer_id, oreq->producer_epoch, &parts, TXN_TV1, &res, offsets_done,
					    st);
		txn_tps_free(&parts);
		if (rc == 1)
			return HANDLER_PARKED;
	}
	offsets_respond(req, res.error);
	return HANDLER_DONE;
}
