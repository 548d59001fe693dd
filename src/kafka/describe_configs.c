/* DescribeConfigs: every known config of a topic (resource type 2) or of
 * this broker (type 4, named by its node id; "" is the cluster-wide dynamic
 * default) with its effective value, source, read-only and sensitive flags,
 * synonyms (v1+, when asked) and type (v3+); documentation is null. The
 * configuration_keys list, when given, narrows the answer to those keys. The
 * values come from meta/configs.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/errors.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/configs.h"
#include "meta/topics.h"
#include "proto/gen/describe_configs_request.h"
#include "proto/gen/describe_configs_response.h"
#include "proto/gen/errors.h"

#define RESOURCE_TOPIC 2
#define RESOURCE_BROKER 4

static bool describe_configs_wanted(const struct describe_configs_request_describe_configs_resource *res,
				    const char *name)
{
	if (res->configuration_keys_count < 0)
		return true;
	for (int32_t i = 0; i < res->configuration_keys_count; i++)
		if (kstr_eq_cstr(res->configuration_keys[i], name))
			return true;
	return false;
}

static void describe_configs_error(struct request *req, struct describe_configs_response_describe_configs_result *out,
				   int16_t code, const char *msg)
{
	out->error_code = code;
	out->error_message = kstr_from_cstr(arena_strndup(req->arena, msg, strlen(msg)));
	out->configs_count = 0;
}

static void describe_configs_resource(struct request *req, const struct describe_configs_request *dreq,
				      const struct describe_configs_request_describe_configs_resource *res,
				      struct describe_configs_response_describe_configs_result *out)
{
	char errmsg[ERRMSG_SIZE];
	char *name = kstr_dup(req->arena, res->resource_name);
	struct meta_config_entry *entries = NULL;
	int n;
	out->resource_type = res->resource_type;
	out->resource_name = res->resource_name;
	out->error_code = KERR_NONE;
	out->error_message = KSTR_NULL;
	if (res->resource_type == RESOURCE_TOPIC) {
		if (!name || !meta_topic_name_valid(name, errmsg)) {
			describe_configs_error(req, out, KERR_INVALID_TOPIC_EXCEPTION, name ? errmsg : "Topic name is null");
			return;
		}
		n = meta_config_describe_topic(req->broker->topics, name, req->arena, &entries);
		if (n < 0) {
			snprintf(errmsg, sizeof(errmsg), "The topic '%.200s' does not exist.", name);
			describe_configs_error(req, out, KERR_UNKNOWN_TOPIC_OR_PARTITION, errmsg);
			return;
		}
	} else if (res->resource_type == RESOURCE_BROKER) {
		enum config_layer layer;
		if (meta_config_broker_layer(req->broker->node_id, name, &layer, errmsg) < 0) {
			describe_configs_error(req, out, KERR_INVALID_REQUEST, errmsg);
			return;
		}
		n = meta_config_describe_broker(req->broker->config, layer == CONFIG_LAYER_DEFAULT, req->arena,
						&entries);
	} else {
		snprintf(errmsg, sizeof(errmsg), "Unsupported resource type: %d", res->resource_type);
		describe_configs_error(req, out, KERR_INVALID_REQUEST, errmsg);
		return;
	}

	bool synonyms = req->api_version >= 1 && dreq->include_synonyms;
	out->configs = arena_alloc(req->arena, sizeof(*out->configs) * (size_t)(n + 1));
	out->configs_count = 0;
	for (int i = 0; i < n; i++) {
		const struct meta_config_entry *e = &entries[i];
		if (!describe_configs_wanted(res, e->name))
			continue;
		struct describe_configs_response_describe_configs_resource_result *c = &out->configs[out->configs_count++];
		describe_configs_response_describe_configs_resource_result_init(c);
		c->name = kstr_from_cstr(e->name);
		c->value = kstr_from_cstr(e->value);
		c->read_only = e->read_only;
		c->is_default = e->source == META_SOURCE_DEFAULT;
		c->config_source = e->source;
		c->is_sensitive = e->sensitive;
		c->config_type = e->type;
		c->documentation = KSTR_NULL;
		c->synonyms_count = 0;
		if (synonyms && e->synonyms_count > 0) {
			c->synonyms_count = e->synonyms_count;
			c->synonyms = arena_alloc(req->arena, sizeof(*c->synonyms) * (size_t)e->synonyms_count);
			for (int s = 0; s < e->synonyms_count; s++) {
				describe_configs_response_describe_configs_synonym_init(&c->synonyms[s]);
				c->synonyms[s].name = kstr_from_cstr(e->synonyms[s].name);
				c->synonyms[s].value = kstr_from_cstr(e->synonyms[s].value);
				c->synonyms[s].source = e->synonyms[s].source;
			}
		}
	}
}

enum handler_result kafka_handle_describe_configs(struct request *req)
{
	struct describe_configs_request *dreq = kafka_decode_request(req);
	if (!dreq)
		return HANDLER_DONE;
	struct describe_configs_response *resp = arena_alloc(req->arena, sizeof(*resp));
	describe_configs_response_init(resp);
	resp->results_count = dreq->resources_count > 0 ? dreq->resources_count : 0;
	resp->results = arena_alloc(req->arena, sizeof(*resp->results) * (size_t)(resp->results_count + 1));
	for (int32_t i = 0; i < resp->results_count; i++) {
		describe_configs_response_describe_configs_result_init(&resp->results[i]);
		describe_configs_resource(req, dreq, &dreq->resources[i], &resp->results[i]);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
