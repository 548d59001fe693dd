/* The dispatch table: which APIs and versions this broker serves, and the one
 * entry point net/ calls for every request (kafka_dispatch()).
 *
 * Rows live in kafka/handlers.h (KAFKA_HANDLERS): adding an API is one line
 * there plus its kafka_handle_<api>() in kafka/<api>.c. ApiVersions answers
 * from the same table, so what we advertise is exactly what we dispatch. */
#ifndef SAMSA_KAFKA_DISPATCH_H
#define SAMSA_KAFKA_DISPATCH_H

#include <stdint.h>

#include "kafka/request.h"

struct broker;
struct reactor;

typedef enum handler_result (*kafka_handler_fn)(struct request *req);

/* One supported API: our version range, not the schema's. */
struct kafka_api_support {
	int16_t api_key;
	int16_t min_version;
	int16_t max_version;
};

enum dispatch_result {
	DISPATCH_DONE,   /* the response is in req->response (or no_response) */
	DISPATCH_PARKED, /* the handler will call request_complete() later */
	DISPATCH_CLOSE,  /* close the connection (unknown API / unsupported version) */
};

/* Runs the handler for req on its reactor thread. Unknown API keys and
 * unsupported versions close the connection as Kafka does, except
 * ApiVersions, whose unsupported versions get a v0 response with
 * UNSUPPORTED_VERSION and our version table (KIP-511), so a newer client
 * can retry with a version we speak. Logs every request at debug level. */
enum dispatch_result kafka_dispatch(struct request *req);

/* For handlers: decodes req->body as the generated request struct of
 * req->api_key at req->api_version, allocated from req->arena. Returns it, or
 * NULL after logging why and marking the request undecodable: the handler
 * then returns HANDLER_DONE without a response and the connection is closed,
 * as Kafka closes it for a request it cannot parse. */
void *kafka_decode_request(struct request *req);

/* The supported APIs in api key order; fills up to max, returns the count. */
int kafka_supported_apis(struct kafka_api_support *out, int max);

/* Our range for api_key; false if we do not serve it. */
bool kafka_api_supported(int16_t api_key, int16_t *min_version, int16_t *max_version);

/* Like kafka_respond() but encodes msg at `version` instead of
 * req->api_version (the ApiVersions v0 fallback). */
void kafka_respond_version(struct request *req, int16_t version, const void *msg);

/* Called by net/ on each reactor thread during shutdown, after its
 * connections are closed: answers parked long-polls now so their requests
 * complete. */
void kafka_reactor_shutdown(struct broker *broker, struct reactor *reactor);

#endif
