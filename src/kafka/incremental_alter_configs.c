/* IncrementalAlterConfigs: for each resource, a topic or this broker (its
 * node id, or "" for the cluster-wide default), each config is changed by its
 * operation: SET, DELETE (back to the default), APPEND or SUBTRACT (items of a
 * list config such as cleanup.policy). Keys not named keep their overrides.
 * Validated first (an unknown key, a bad value or APPEND to a non-list key is
 * INVALID_CONFIG with a message, nothing changes); with validateOnly only
 * checked; otherwise stored and in effect before the answer. The work is
 * meta_config_alter()'s (meta/configs.c). */
#include <errno.h>
#include <string.h>

#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/errors.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/configs.h"
#include "proto/gen/errors.h"
#include "proto/gen/incremental_alter_configs_request.h"
#include "proto/gen/incremental_alter_configs_response.h"

enum handler_result kafka_handle_incremental_alter_configs(struct request *req)
{
	struct incremental_alter_configs_request *areq = kafka_decode_request(req);
	if (!areq)
		return HANDLER_DONE;
	struct incremental_alter_configs_response *resp = arena_alloc(req->arena, sizeof(*resp));
	incremental_alter_configs_response_init(resp);
	resp->responses_count = areq->resources_count > 0 ? areq->resources_count : 0;
	resp->responses = arena_alloc(req->arena, sizeof(*resp->responses) * (size_t)(resp->responses_count + 1));
	for (int32_t i = 0; i < resp->responses_count; i++) {
		const struct incremental_alter_configs_request_alter_configs_resource *res = &areq->resources[i];
		struct incremental_alter_configs_response_alter_configs_resource_response *out = &resp->responses[i];
		incremental_alter_configs_response_alter_configs_resource_response_init(out);
		out->resource_type = res->resource_type;
		out->resource_name = res->resource_name;
		out->error_code = KERR_NONE;
		out->error_message = KSTR_NULL;
		int n = res->configs_count > 0 ? res->configs_count : 0;
		struct meta_config_change *changes = arena_alloc(req->arena, sizeof(*changes) * (size_t)(n + 1));
		for (int k = 0; k < n; k++) {
			changes[k].key = kstr_dup(req->arena, res->configs[k].name);
			changes[k].value = kstr_dup(req->arena, res->configs[k].value);
			changes[k].op = res->configs[k].config_operation;
		}
		char errmsg[ERRMSG_SIZE] = "";
		int rc = meta_config_alter(req->broker->topics, req->broker->node_id, res->resource_type,
					   kstr_dup(req->arena, res->resource_name), false, n, changes,
					   areq->validate_only, errmsg);
		if (rc < 0) {
			out->error_code = kafka_config_error_from_err(rc);
			out->error_message = kstr_from_cstr(arena_strndup(req->arena, errmsg, strlen(errmsg)));
		}
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
