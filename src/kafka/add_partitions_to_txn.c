/* AddPartitionsToTxn (v0-5): a transactional producer names the partitions
 * it is about to write to in its transaction.
 *
 * v0-3 (clients): one transaction. Every partition must exist, else those
 * that do not get UNKNOWN_TOPIC_OR_PARTITION, the others
 * OPERATION_NOT_ATTEMPTED, and nothing is added (Kafka's rule). Otherwise
 * the transaction coordinator adds them (txn/coordinator.h) and the request
 * waits until that is durable; every partition gets the same answer.
 * v4+ (Kafka's broker-to-coordinator form, KIP-890): a batch of
 * transactions, each either added as above (v5: a transaction version 2
 * producer) or, with verify_only, checked: NONE for a partition in the
 * ongoing transaction, else TRANSACTION_ABORTABLE or the producer's error.
 * v0-1 clients get INVALID_PRODUCER_EPOCH where newer ones get
 * PRODUCER_FENCED. */
#include <stdatomic.h>
#include <stdlib.h>

#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topics.h"
#include "net/reactor.h"
#include "proto/gen/add_partitions_to_txn_request.h"
#include "proto/gen/add_partitions_to_txn_response.h"
#include "proto/gen/errors.h"
#include "txn/coordinator.h"

/* One transaction of the request. */
struct add_txn {
	struct kstr transactional_id;
	int32_t topic_count;
	const struct add_partitions_to_txn_request_add_partitions_to_txn_topic *topics;
	int16_t *errors; /* per partition, in request order */
	int32_t count;
	struct txn_tps parts;
};

struct add_state {
	struct request *req;
	int32_t txn_count;
	struct add_txn *txns;
	atomic_int pending; /* answers still to come, + 1 while the handler runs */
};

static struct add_partitions_to_txn_response_add_partitions_to_txn_topic_result *
topic_results(struct arena *arena, const struct add_txn *t)
{
	struct add_partitions_to_txn_response_add_partitions_to_txn_topic_result *out =
		arena_alloc(arena, sizeof(*out) * (size_t)(t->topic_count + 1));
	int32_t k = 0;
	for (int32_t i = 0; i < t->topic_count; i++) {
		const struct add_partitions_to_txn_request_add_partitions_to_txn_topic *rt = &t->topics[i];
		struct add_partitions_to_txn_response_add_partitions_to_txn_topic_result *tr = &out[i];
		add_partitions_to_txn_response_add_partitions_to_txn_topic_result_init(tr);
		tr->name = rt->name;
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		tr->results_by_partition_count = np;
		tr->results_by_partition = arena_alloc(arena, sizeof(*tr->results_by_partition) * (size_t)(np + 1));
		for (int32_t p = 0; p < np; p++, k++) {
			struct add_partitions_to_txn_response_add_partitions_to_txn_partition_result *pr =
				&tr->results_by_partition[p];
			add_partitions_to_txn_response_add_partitions_to_txn_partition_result_init(pr);
			pr->partition_index = rt->partitions[p];
			pr->partition_error_code = t->errors[k];
		}
	}
	return out;
}

static void add_respond(struct add_state *st)
{
	struct request *req = st->req;
	struct add_partitions_to_txn_response *resp = arena_alloc(req->arena, sizeof(*resp));
	add_partitions_to_txn_response_init(resp);
	if (req->api_version < 4) {
		resp->results_by_topic_v3_and_below_count = st->txns[0].topic_count;
		resp->results_by_topic_v3_and_below = topic_results(req->arena, &st->txns[0]);
	} else {
		resp->results_by_transaction_count = st->txn_count;
		resp->results_by_transaction =
			arena_alloc(req->arena, sizeof(*resp->results_by_transaction) * (size_t)(st->txn_count + 1));
		for (int32_t i = 0; i < st->txn_count; i++) {
			struct add_partitions_to_txn_response_add_partitions_to_txn_result *r =
				&resp->results_by_transaction[i];
			add_partitions_to_txn_response_add_partitions_to_txn_result_init(r);
			r->transactional_id = st->txns[i].transactional_id;
			r->topic_results_count = st->txns[i].topic_count;
			r->topic_results = topic_results(req->arena, &st->txns[i]);
		}
	}
	for (int32_t i = 0; i < st->txn_count; i++)
		txn_tps_free(&st->txns[i].parts);
	kafka_respond(req, resp);
}

static void add_finish(void *arg)
{
	struct add_state *st = arg;
	add_respond(st);
	request_complete(st->req);
}

static void set_all(struct add_txn *t, int16_t error, int16_t version)
{
	if (error == KERR_PRODUCER_FENCED && version < 2)
		error = KERR_INVALID_PRODUCER_EPOCH;
	for (int32_t k = 0; k < t->count; k++)
		t->errors[k] = error;
}

struct add_wait {
	struct add_state *st;
	struct add_txn *txn;
};

/* Coordinator thread: one transaction's partitions are added (or not). */
static void add_done(void *arg, const struct txn_result *res)
{
	struct add_wait *w = arg;
	struct add_state *st = w->st;
	set_all(w->txn, res->error, st->req->api_version);
	if (atomic_fetch_sub(&st->pending, 1) == 1)
		reactor_post(st->req->reactor, add_finish, st);
}

/* Checks that every partition exists and collects them; false (errors set)
 * when one does not. */
static bool collect(struct request *req, struct add_txn *t)
{
	bool ok = true;
	int32_t k = 0;
	for (int32_t i = 0; i < t->topic_count; i++) {
		const struct add_partitions_to_txn_request_add_partitions_to_txn_topic *rt = &t->topics[i];
		char *name = kstr_is_null(rt->name) ? NULL : kstr_dup(req->arena, rt->name);
		struct meta_topic *topic = name ? meta_topic_get(req->broker->topics, name) : NULL;
		for (int32_t p = 0; p < rt->partitions_count; p++, k++) {
			int32_t index = rt->partitions[p];
			if (topic && index >= 0 && index < topic->partition_count) {
				t->errors[k] = KERR_OPERATION_NOT_ATTEMPTED;
				txn_tps_add(&t->parts, name, index);
			} else {
				t->errors[k] = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				ok = false;
			}
		}
		meta_topic_put(req->broker->topics, topic);
	}
	return ok;
}

/* Starts one transaction's work; counts one more pending answer when it
 * waits for the coordinator. */
static void add_one(struct add_state *st, struct add_txn *t, int64_t producer_id, int16_t epoch, bool verify_only)
{
	struct request *req = st->req;
	int32_t total = 0;
	for (int32_t i = 0; i < t->topic_count; i++)
		total += t->topics[i].partitions_count > 0 ? t->topics[i].partitions_count : 0;
	t->count = total;
	t->errors = arena_alloc(req->arena, sizeof(*t->errors) * (size_t)(total + 1));
	if (!collect(req, t))
		return;
	const char *id = kstr_dup(req->arena, t->transactional_id);
	struct txn_coordinator *txns = req->broker->txns;
	if (!txns) {
		set_all(t, KERR_COORDINATOR_NOT_AVAILABLE, req->api_version);
	} else if (verify_only) {
		int16_t *errors = arena_alloc(req->arena, sizeof(*errors) * (size_t)(t->parts.n + 1));
		txn_verify_partitions(txns, id, producer_id, epoch, &t->parts, errors);
		int32_t k = 0;
		for (int32_t i = 0; i < t->topic_count; i++) {
			char *name = kstr_dup(req->arena, t->topics[i].name);
			for (int32_t p = 0; p < t->topics[i].partitions_count; p++, k++)
				t->errors[k] = errors[txn_tps_index(&t->parts, name, t->topics[i].partitions[p])];
		}
	} else {
		struct add_wait *w = arena_alloc(req->arena, sizeof(*w));
		*w = (struct add_wait){st, t};
		struct txn_result res;
		int16_t tv = req->api_version >= 5 ? TXN_TV2 : TXN_TV1;
		atomic_fetch_add(&st->pending, 1);
		if (txn_add_partitions(txns, id, producer_id, epoch, &t->parts, tv, &res, add_done, w) == 0) {
			atomic_fetch_sub(&st->pending, 1);
			set_all(t, res.error, req->api_version);
		}
	}
}

enum handler_result kafka_handle_add_partitions_to_txn(struct request *req)
{
	struct add_partitions_to_txn_request *areq = kafka_decode_request(req);
	if (!areq)
		return HANDLER_DONE;
	struct add_state *st = arena_alloc(req->arena, sizeof(*st));
	st->req = req;
	atomic_init(&st->pending, 1);
	if (req->api_version < 4) {
		st->txn_count = 1;
		st->txns = arena_alloc(req->arena, sizeof(*st->txns));
		*st->txns = (struct add_txn){
			.transactional_id = areq->v3_and_below_transactional_id,
			.topic_count = areq->v3_and_below_topics_count > 0 ? areq->v3_and_below_topics_count : 0,
			.topics = areq->v3_and_below_topics,
		};
		add_one(st, st->txns, areq->v3_and_below_producer_id, areq->v3_and_below_producer_epoch, false);
	} else {
		int32_t n = areq->transactions_count > 0 ? areq->transactions_count : 0;
		st->txn_count = n;
		st->txns = arena_alloc(req->arena, sizeof(*st->txns) * (size_t)(n + 1));
		for (int32_t i = 0; i < n; i++) {
			const struct add_partitions_to_txn_request_add_partitions_to_txn_transaction *rt =
				&areq->transactions[i];
			st->txns[i] = (struct add_txn){
				.transactional_id = rt->transactional_id,
				.topic_count = rt->topics_count > 0 ? rt->topics_count : 0,
				.topics = rt->topics,
			};
			add_one(st, &st->txns[i], rt->producer_id, rt->producer_epoch, rt->verify_only);
		}
	}
	if (atomic_fetch_sub(&st->pending, 1) == 1) {
		add_respond(st);
		return HANDLER_DONE;
	}
	return HANDLER_PARKED;
}
