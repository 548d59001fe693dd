/* The dispatch table and the entry point net/ calls for every request.
 *
 * The table is indexed by api key and built from the rows of
 * kafka/handlers.h, so it is also what ApiVersions advertises. An API we do
 * not serve, or a version outside our range, closes the connection with a
 * log line, as Kafka does: a client that sent it did not look at our
 * ApiVersions answer, and an error code in a response shape we do not know
 * would not help it. ApiVersions itself is the exception (KIP-511): its
 * unsupported versions get a v0 response saying UNSUPPORTED_VERSION with our
 * table, which clients use to retry at a version we speak. */
#include "kafka/dispatch.h"

#include "base/clock.h"
#include "base/log.h"
#include "kafka/broker.h"
#include "kafka/fetch_wait.h"
#include "kafka/handlers.h"
#include "proto/gen/api_table.h"
#include "proto/reader.h"

#define KAFKA_API_SLOTS 128 /* api keys are small; a row beyond this fails to compile */

struct kafka_handler_row {
	kafka_handler_fn handle; /* NULL: not served */
	int16_t min_version;
	int16_t max_version;
};

#define KAFKA_HANDLER_ROW(key, fn, min, max) [key] = {fn, min, max},
static const struct kafka_handler_row handler_rows[KAFKA_API_SLOTS] = {KAFKA_HANDLERS(KAFKA_HANDLER_ROW)};
#undef KAFKA_HANDLER_ROW

static const struct kafka_handler_row *row_lookup(int16_t api_key)
{
	if (api_key < 0 || api_key >= KAFKA_API_SLOTS || !handler_rows[api_key].handle)
		return NULL;
	return &handler_rows[api_key];
}

static const char *api_name(int16_t api_key)
{
	const struct proto_api *api = proto_api_lookup(api_key);
	return api ? api->name : "unknown";
}

bool kafka_api_supported(int16_t api_key, int16_t *min_version, int16_t *max_version)
{
	const struct kafka_handler_row *row = row_lookup(api_key);
	if (!row)
		return false;
	if (min_version)
		*min_version = row->min_version;
	if (max_version)
		*max_version = row->max_version;
	return true;
}

int kafka_supported_apis(struct kafka_api_support *out, int max)
{
	int n = 0;
	for (int16_t key = 0; key < KAFKA_API_SLOTS; key++) {
		const struct kafka_handler_row *row = row_lookup(key);
		if (!row)
			continue;
		if (n < max)
			out[n] = (struct kafka_api_support){key, row->min_version, row->max_version};
		n++;
	}
	return n;
}

enum dispatch_result kafka_dispatch(struct request *req)
{
	log_debug("kafka", "%s: %s v%d correlation id %d client '%s' (%zu bytes)", req->peer, api_name(req->api_key),
		  req->api_version, req->correlation_id, req->client_id, req->body_len);
	const struct kafka_handler_row *row = row_lookup(req->api_key);
	if (!row) {
		log_warn("kafka", "%s: unsupported api key %d (%s) v%d from client '%s'; closing the connection",
			 req->peer, req->api_key, api_name(req->api_key), req->api_version, req->client_id);
		return DISPATCH_CLOSE;
	}
	if (req->api_version < row->min_version || req->api_version > row->max_version) {
		if (req->api_key == PROTO_API_API_VERSIONS) {
			log_debug("kafka", "%s: ApiVersions v%d from client '%s' is not supported (we serve v%d-v%d); "
					  "answering UNSUPPORTED_VERSION",
				 req->peer, req->api_version, req->client_id, row->min_version, row->max_version);
			return kafka_api_versions_unsupported(req) == HANDLER_DONE ? DISPATCH_DONE : DISPATCH_PARKED;
		}
		log_warn("kafka", "%s: %s v%d from client '%s' is not supported (we serve v%d-v%d); closing the connection",
			 req->peer, api_name(req->api_key), req->api_version, req->client_id, row->min_version,
			 row->max_version);
		return DISPATCH_CLOSE;
	}
	return row->handle(req) == HANDLER_DONE ? DISPATCH_DONE : DISPATCH_PARKED;
}

void *kafka_decode_request(struct request *req)
{
	struct preader r;
	preader_init(&r, req->body, req->body_len);
	void *out = NULL;
	int rc = proto_request_decode(req->api_key, req->api_version, &r, req->arena, &out);
	if (rc != 0) {
		log_warn("kafka", "%s: cannot decode %s v%d request (correlation id %d, client '%s'): %s at byte %zu of %zu",
			 req->peer, api_name(req->api_key), req->api_version, req->correlation_id, req->client_id,
			 rc == PROTO_ERR_UNDERFLOW ? "truncated" : rc == PROTO_ERR_INVALID ? "malformed" : "unsupported",
			 r.err_off, req->body_len);
		req->undecodable = true;
		return NULL;
	}
	return out;
}

void kafka_reactor_shutdown(struct broker *broker, struct reactor *reactor)
{
	if (broker && broker->fetch_waiters)
		kafka_fetch_wait_drain(broker, reactor);
}
