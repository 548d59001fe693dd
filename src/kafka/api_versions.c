/* ApiVersions (key 18): the first request of every modern client, telling it
 * which APIs and versions this broker serves. The list is the dispatch table
 * (kafka/handlers.h), so we never advertise what we cannot handle.
 *
 * v1+ add throttle_time_ms; v3+ (flexible) carry the client's software name
 * and version, which Kafka validates (INVALID_REQUEST if malformed), and the
 * response's feature fields, which we leave empty with an unknown (-1)
 * finalized-features epoch: there are no feature flags to negotiate yet. */
#include <ctype.h>
#include <stdbool.h>

#include "base/arena.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/api_versions_request.h"
#include "proto/gen/api_versions_response.h"
#include "proto/gen/errors.h"

#define MAX_APIS 128

/* Kafka's rule for ClientSoftwareName/Version: [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? */
static bool software_field_valid(struct kstr s)
{
	if (s.len <= 0)
		return false;
	for (int32_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		bool edge = i == 0 || i == s.len - 1;
		if (!isalnum(c) && (edge || (c != '-' && c != '.')))
			return false;
	}
	return true;
}

static void fill_api_keys(struct request *req, struct api_versions_response *resp)
{
	struct kafka_api_support apis[MAX_APIS];
	int n = kafka_supported_apis(apis, MAX_APIS);
	if (n > MAX_APIS)
		n = MAX_APIS;
	resp->api_keys = arena_alloc(req->arena, (size_t)n * sizeof(*resp->api_keys) + 1);
	resp->api_keys_count = n;
	for (int i = 0; i < n; i++) {
		resp->api_keys[i].api_key = apis[i].api_key;
		resp->api_keys[i].min_version = apis[i].min_version;
		resp->api_keys[i].max_version = apis[i].max_version;
	}
}

enum handler_result kafka_handle_api_versions(struct request *req)
{
	struct api_versions_response *resp = arena_alloc(req->arena, sizeof(*resp));
	api_versions_response_init(resp);
	struct api_versions_request *in = kafka_decode_request(req);
	if (!in) {
		resp->error_code = KERR_INVALID_REQUEST;
	} else if (req->api_version >= 3 &&
		   (!software_field_valid(in->client_software_name) || !software_field_valid(in->client_software_version))) {
		resp->error_code = KERR_INVALID_REQUEST;
	} else {
		fill_api_keys(req, resp);
	}
	resp->throttle_time_ms = 0;
	kafka_respond(req, resp);
	return HANDLER_DONE;
}

enum handler_result kafka_api_versions_unsupported(struct request *req)
{
	struct api_versions_response *resp = arena_alloc(req->arena, sizeof(*resp));
	api_versions_response_init(resp);
	resp->error_code = KERR_UNSUPPORTED_VERSION;
	fill_api_keys(req, resp);
	kafka_respond_version(req, 0, resp);
	return HANDLER_DONE;
}
