/* DescribeTransactions (v0): the state of transactional ids at their
 * coordinator (kafka-transactions.sh describe): state, producer id and
 * epoch, timeout, start time and the partitions of the ongoing transaction.
 * An unknown id is TRANSACTIONAL_ID_NOT_FOUND. */
#include <string.h>

#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/describe_transactions_request.h"
#include "proto/gen/describe_transactions_response.h"
#include "proto/gen/errors.h"
#include "txn/coordinator.h"

/* The end of the run of partitions of d->topics[i]'s topic. */
static int32_t topic_run_end(const struct txn_description *d, int32_t i)
{
	int32_t j = i;
	while (j < d->partition_count && strcmp(d->topics[j], d->topics[i]) == 0)
		j++;
	return j;
}

/* The description's partitions, sorted by topic, grouped by topic. */
static void fill_topics(struct arena *arena, const struct txn_description *d,
			struct describe_transactions_response_transaction_state *st)
{
	int32_t topics = 0;
	for (int32_t i = 0; i < d->partition_count; i = topic_run_end(d, i))
		topics++;
	st->topics_count = topics;
	st->topics = arena_alloc(arena, sizeof(*st->topics) * (size_t)(topics + 1));
	int32_t t = 0;
	for (int32_t i = 0, j; i < d->partition_count; i = j, t++) {
		j = topic_run_end(d, i);
		struct describe_transactions_response_topic_data *td = &st->topics[t];
		describe_transactions_response_topic_data_init(td);
		td->topic = kstr_from_cstr(d->topics[i]);
		td->partitions_count = j - i;
		td->partitions = &d->partitions[i];
	}
}

enum handler_result kafka_handle_describe_transactions(struct request *req)
{
	struct describe_transactions_request *dreq = kafka_decode_request(req);
	if (!dreq)
		return HANDLER_DONE;
	struct describe_transactions_response *resp = arena_alloc(req->arena, sizeof(*resp));
	describe_transactions_response_init(resp);
	int32_t n = dreq->transactional_ids_count > 0 ? dreq->transactional_ids_count : 0;
	resp->transaction_states_count = n;
	resp->transaction_states = arena_alloc(req->arena, sizeof(*resp->transaction_states) * (size_t)(n + 1));
	for (int32_t i = 0; i < n; i++) {
		struct describe_transactions_response_transaction_state *st = &resp->transaction_states[i];
		describe_transactions_response_transaction_state_init(st);
		st->transactional_id = dreq->transactional_ids[i];
		struct txn_description d = {.error = KERR_COORDINATOR_NOT_AVAILABLE, .state = ""};
		if (req->broker->txns)
			txn_describe(req->broker->txns, kstr_dup(req->arena, dreq->transactional_ids[i]), req->arena,
				     &d);
		st->error_code = d.error;
		st->transaction_state = kstr_from_cstr(d.state);
		if (d.error != KERR_NONE)
			continue;
		st->transaction_timeout_ms = d.timeout_ms;
		st->transaction_start_time_ms = d.start_ms;
		st->producer_id = d.producer_id;
		st->producer_epoch = d.producer_epoch;
		fill_topics(req->arena, &d, st);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
