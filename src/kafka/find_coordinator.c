/* FindCoordinator: on a single node this broker coordinates every group and
 * every transactional id. v0-3 ask for one key, v4+ for a batch. Key types
 * other than group (0) and transaction (1) are INVALID_REQUEST. */
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/errors.h"
#include "proto/gen/find_coordinator_request.h"
#include "proto/gen/find_coordinator_response.h"

#define COORDINATOR_KEY_GROUP 0
#define COORDINATOR_KEY_TRANSACTION 1

enum handler_result kafka_handle_find_coordinator(struct request *req)
{
	struct find_coordinator_request *freq = kafka_decode_request(req);
	if (!freq)
		return HANDLER_DONE;
	struct broker *broker = req->broker;
	struct kstr host = kstr_from_cstr(broker->advertised_host);
	bool known_type = freq->key_type == COORDINATOR_KEY_GROUP || freq->key_type == COORDINATOR_KEY_TRANSACTION;
	int16_t error = known_type ? KERR_NONE : KERR_INVALID_REQUEST;
	bool ok = error == KERR_NONE;

	struct find_coordinator_response *resp = arena_alloc(req->arena, sizeof(*resp));
	find_coordinator_response_init(resp);
	resp->error_code = error;
	resp->node_id = ok ? broker->node_id : -1;
	resp->host = ok ? host : KSTR_LIT("");
	resp->port = ok ? broker->advertised_port : -1;
	int32_t n = freq->coordinator_keys_count > 0 ? freq->coordinator_keys_count : 0;
	resp->coordinators_count = n;
	resp->coordinators = arena_alloc(req->arena, sizeof(*resp->coordinators) * (size_t)n);
	for (int32_t i = 0; i < n; i++) {
		struct find_coordinator_response_coordinator *c = &resp->coordinators[i];
		find_coordinator_response_coordinator_init(c);
		c->key = freq->coordinator_keys[i];
		c->error_code = error;
		c->node_id = resp->node_id;
		c->host = resp->host;
		c->port = resp->port;
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
