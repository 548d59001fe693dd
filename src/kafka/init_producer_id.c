/* InitProducerId (v0-5): a producer id and epoch for an idempotent producer.
 *
 * Without a transactional id Kafka "blindly accepts" the request: a new
 * producer id from the allocator (txn/pid.h), epoch 0. That holds for v3+
 * requests carrying the client's current id and epoch too (KIP-360): for a
 * non-transactional producer the epoch bump after an unknown-producer or
 * sequence error is done by the client itself, and when it asks the broker
 * it gets a fresh id, whose state starts empty everywhere. The id and epoch
 * must be both set or both -1, else INVALID_REQUEST, as in Kafka.
 *
 * A transactional id needs the transaction coordinator, which does not exist
 * yet: an empty one is INVALID_REQUEST (Kafka's answer), any other gets
 * INVALID_REQUEST too, with a broker log line saying transactions are not
 * supported yet. Retriable errors (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR)
 * would make clients retry forever; a non-retriable error fails
 * initTransactions() (kafkajs at once; librdkafka 2.0 retries it every 500 ms
 * until init_transactions() times out, hence the rate-limited log line). */
#include <errno.h>
#include <stdatomic.h>

#include "base/clock.h"
#include "base/log.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/errors.h"
#include "proto/gen/init_producer_id_request.h"
#include "proto/gen/init_producer_id_response.h"
#include "txn/pid.h"

/* The last time the "not supported" line was logged at INFO. */
static _Atomic int64_t txn_refused_logged_ms;

enum handler_result kafka_handle_init_producer_id(struct request *req)
{
	struct init_producer_id_request *ireq = kafka_decode_request(req);
	if (!ireq)
		return HANDLER_DONE;
	struct init_producer_id_response *resp = arena_alloc(req->arena, sizeof(*resp));
	init_producer_id_response_init(resp);
	resp->producer_id = -1;
	resp->producer_epoch = -1;

	bool pid_set = ireq->producer_id != -1, epoch_set = ireq->producer_epoch != -1;
	if (!kstr_is_null(ireq->transactional_id)) {
		int64_t now = clock_mono_ms(), last = atomic_load(&txn_refused_logged_ms);
		if (ireq->transactional_id.len > 0 && now - last >= 10000 &&
		    atomic_compare_exchange_strong(&txn_refused_logged_ms, &last, now))
			log_info("txn", "InitProducerId from %s (client %s) for transactional id '" KSTR_FMT
				 "': transactions are not supported yet (INVALID_REQUEST; logged at most "
				 "every 10 s)", req->peer, req->client_id, KSTR_ARG(ireq->transactional_id));
		resp->error_code = KERR_INVALID_REQUEST;
	} else if (pid_set != epoch_set) {
		resp->error_code = KERR_INVALID_REQUEST;
	} else {
		int64_t pid;
		int rc = req->broker->pids ? txn_pids_next(req->broker->pids, &pid) : -ENODEV;
		if (rc) {
			resp->error_code = KERR_COORDINATOR_NOT_AVAILABLE; /* retriable */
		} else {
			resp->error_code = KERR_NONE;
			resp->producer_id = pid;
			resp->producer_epoch = 0;
			log_debug("txn", "producer id %lld for %s (client %s)", (long long)pid, req->peer,
				  req->client_id);
		}
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
