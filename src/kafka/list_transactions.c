/* ListTransactions (v0-1): the transactional ids this coordinator knows
 * (kafka-transactions.sh list), filtered by state names (unknown names are
 * echoed back in unknown_state_filters, as Kafka does), by producer ids, and
 * (v1) to those running longer than duration_filter ms. */
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/errors.h"
#include "proto/gen/list_transactions_request.h"
#include "proto/gen/list_transactions_response.h"
#include "txn/coordinator.h"

enum handler_result kafka_handle_list_transactions(struct request *req)
{
	struct list_transactions_request *lreq = kafka_decode_request(req);
	if (!lreq)
		return HANDLER_DONE;
	struct list_transactions_response *resp = arena_alloc(req->arena, sizeof(*resp));
	list_transactions_response_init(resp);
	int32_t ns = lreq->state_filters_count > 0 ? lreq->state_filters_count : 0;
	enum txn_state *states = arena_alloc(req->arena, sizeof(*states) * (size_t)(ns + 1));
	resp->unknown_state_filters = arena_alloc(req->arena, sizeof(*resp->unknown_state_filters) * (size_t)(ns + 1));
	int32_t known = 0;
	for (int32_t i = 0; i < ns; i++) {
		struct kstr name = lreq->state_filters[i];
		enum txn_state s = kstr_is_null(name) ? TXN_NONE : txn_state_from_name(name.ptr, name.len);
		if (s == TXN_NONE)
			resp->unknown_state_filters[resp->unknown_state_filters_count++] = name;
		else
			states[known++] = s;
	}
	struct txn_listing *list = NULL;
	int32_t count = 0;
	if (!req->broker->txns) {
		resp->error_code = KERR_COORDINATOR_NOT_AVAILABLE;
	} else {
		/* only unknown state names filter nothing, as in Kafka */
		resp->error_code = txn_list(req->broker->txns, known, states,
					    lreq->producer_id_filters_count > 0 ? lreq->producer_id_filters_count : 0,
					    lreq->producer_id_filters, req->api_version >= 1 ? lreq->duration_filter : -1,
					    req->arena, &list, &count);
	}
	resp->transaction_states_count = count;
	resp->transaction_states = arena_alloc(req->arena, sizeof(*resp->transaction_states) * (size_t)(count + 1));
	for (int32_t i = 0; i < count; i++) {
		struct list_transactions_response_transaction_state *st = &resp->transaction_states[i];
		list_transactions_response_transaction_state_init(st);
		st->transactional_id = kstr_from_cstr(list[i].transactional_id);
		st->producer_id = list[i].producer_id;
		st->transaction_state = kstr_from_cstr(list[i].state);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
