/* CreateTopics: creates each topic with its partition count, replication
 * factor (validated against the live brokers: one, for now) and config
 * overrides, or with validateOnly only checks. Errors carry Kafka's messages.
 * v5+ answers with the resulting partition count, replication factor and
 * configs. */
#include <errno.h>
#include <string.h>

#include "base/config.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/errors.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topic_config.h"
#include "meta/topics.h"
#include "proto/gen/create_topics_request.h"
#include "proto/gen/create_topics_response.h"
#include "proto/gen/errors.h"

/* Kafka's DescribeConfigs config sources. */
#define CONFIG_SOURCE_DYNAMIC_TOPIC 1
#define CONFIG_SOURCE_DEFAULT 5

static struct kstr arena_kstr(struct arena *arena, const char *s)
{
	if (!s)
		return (struct kstr){.ptr = NULL, .len = -1};
	size_t len = strlen(s);
	return (struct kstr){.ptr = arena_strndup(arena, s, len), .len = (int32_t)len};
}

static int16_t create_topics_error_code(int rc)
{
	switch (rc) {
	case -EINVAL:
		return KERR_INVALID_TOPIC_EXCEPTION;
	case -ERANGE:
		return KERR_INVALID_PARTITIONS;
	case -EDOM:
		return KERR_INVALID_REPLICATION_FACTOR;
	default:
		return kafka_error_from_err(rc);
	}
}

/* v5+: the created topic's configs, overrides first then broker defaults. */
static void create_topics_fill_result(struct request *req, struct meta_topic *topic,
				      struct create_topics_response_creatable_topic_result *res)
{
	memcpy(res->topic_id, topic->id, sizeof(res->topic_id));
	res->num_partitions = topic->partition_count;
	res->replication_factor = 1;
	int n = meta_topic_config_count();
	res->configs_count = n;
	res->configs = arena_alloc(req->arena, sizeof(*res->configs) * (size_t)n);
	for (int i = 0; i < n; i++) {
		const char *key = meta_topic_config_key(i);
		const char *value = NULL;
		int8_t source = CONFIG_SOURCE_DEFAULT;
		for (int j = 0; j < topic->config_count; j++) {
			if (strcmp(topic->config_keys[j], key) == 0) {
				value = topic->config_values[j];
				source = CONFIG_SOURCE_DYNAMIC_TOPIC;
			}
		}
		char buf[32];
		create_topics_response_creatable_topic_configs_init(&res->configs[i]);
		if (!value)
			value = meta_topic_config_default(req->broker->config, key, buf, sizeof(buf));
		res->configs[i].name = arena_kstr(req->arena, key);
		res->configs[i].value = arena_kstr(req->arena, value);
		res->configs[i].read_only = false;
		res->configs[i].config_source = source;
		res->configs[i].is_sensitive = false;
	}
}

/* Manual assignment: every replica must be this node. Sets partitions/rf. */
static bool create_topics_assignment(struct request *req, const struct create_topics_request_creatable_topic *ct,
				     int32_t *partitions, int16_t *rf, char errmsg[ERRMSG_SIZE])
{
	*partitions = ct->assignments_count;
	*rf = (int16_t)(ct->assignments_count > 0 ? ct->assignments[0].broker_ids_count : 0);
	for (int32_t i = 0; i < ct->assignments_count; i++) {
		const struct create_topics_request_creatable_replica_assignment *a = &ct->assignments[i];
		if (a->partition_index != i || a->broker_ids_count != *rf || *rf < 1) {
			err_printf(errmsg, "Inconsistent replica assignment for partition %d", a->partition_index);
			return false;
		}
		for (int32_t b = 0; b < a->broker_ids_count; b++) {
			if (a->broker_ids[b] != req->broker->node_id) {
				err_printf(errmsg, "Replica assignment names broker %d, which is not registered",
					   a->broker_ids[b]);
				return false;
			}
		}
	}
	return true;
}

static void create_topics_one(struct request *req, const struct create_topics_request *creq,
			      const struct create_topics_request_creatable_topic *ct,
			      struct create_topics_response_creatable_topic_result *res)
{
	char errmsg[ERRMSG_SIZE] = "";
	struct meta_topics *topics = req->broker->topics;
	create_topics_response_creatable_topic_result_init(res);
	res->name = ct->name;
	res->error_code = KERR_NONE;
	res->error_message = (struct kstr){.ptr = NULL, .len = -1};
	res->num_partitions = -1;
	res->replication_factor = -1;
	res->configs_count = -1;

	char *name = arena_strndup(req->arena, ct->name.ptr, ct->name.len > 0 ? (size_t)ct->name.len : 0);
	int32_t partitions = ct->num_partitions;
	int16_t rf = ct->replication_factor;
	if (ct->assignments_count > 0) {
		if (partitions != -1 || rf != -1) {
			res->error_code = KERR_INVALID_REQUEST;
			res->error_message = arena_kstr(req->arena,
				"Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
			return;
		}
		if (!create_topics_assignment(req, ct, &partitions, &rf, errmsg)) {
			res->error_code = KERR_INVALID_REPLICA_ASSIGNMENT;
			res->error_message = arena_kstr(req->arena, errmsg);
			return;
		}
	}
	int count = ct->configs_count > 0 ? ct->configs_count : 0;
	const char **keys = arena_alloc(req->arena, sizeof(char *) * (size_t)(count + 1));
	const char **values = arena_alloc(req->arena, sizeof(char *) * (size_t)(count + 1));
	for (int i = 0; i < count; i++) {
		const struct kstr *k = &ct->configs[i].name, *v = &ct->configs[i].value;
		keys[i] = arena_strndup(req->arena, k->ptr, k->len > 0 ? (size_t)k->len : 0);
		values[i] = v->len < 0 ? NULL : arena_strndup(req->arena, v->ptr, (size_t)v->len);
	}
	int rc = meta_topic_create(topics, name, partitions, rf, count, keys, values, creq->validate_only, errmsg);
	if (rc < 0) {
		res->error_code = create_topics_error_code(rc);
		res->error_message = arena_kstr(req->arena, errmsg);
		return;
	}
	if (req->api_version < 5)
		return;
	if (creq->validate_only) {
		res->num_partitions = partitions == -1 ? (int32_t)config_get_int(req->broker->config, "num.partitions")
						       : partitions;
		res->replication_factor = 1;
		return;
	}
	struct meta_topic *topic = meta_topic_get(topics, name);
	if (topic) {
		create_topics_fill_result(req, topic, res);
		meta_topic_put(topics, topic);
	}
}

static bool create_topics_duplicate(const struct create_topics_request *creq, int32_t i)
{
	for (int32_t j = 0; j < creq->topics_count; j++) {
		const struct kstr *a = &creq->topics[i].name, *b = &creq->topics[j].name;
		if (j != i && a->len == b->len && a->len > 0 && memcmp(a->ptr, b->ptr, (size_t)a->len) == 0)
			return true;
	}
	return false;
}

enum handler_result kafka_handle_create_topics(struct request *req)
{
	struct create_topics_request *creq = kafka_decode_request(req);
	if (!creq)
		return HANDLER_DONE;
	struct create_topics_response *resp = arena_alloc(req->arena, sizeof(*resp));
	create_topics_response_init(resp);
	resp->topics_count = creq->topics_count > 0 ? creq->topics_count : 0;
	resp->topics = arena_alloc(req->arena, sizeof(*resp->topics) * (size_t)resp->topics_count);
	for (int32_t i = 0; i < resp->topics_count; i++) {
		if (create_topics_duplicate(creq, i)) {
			struct create_topics_response_creatable_topic_result *res = &resp->topics[i];
			create_topics_response_creatable_topic_result_init(res);
			res->name = creq->topics[i].name;
			res->error_code = KERR_INVALID_REQUEST;
			res->error_message = arena_kstr(req->arena, "Create topics request contains multiple entries for this topic.");
			res->num_partitions = -1;
			res->replication_factor = -1;
			res->configs_count = -1;
			continue;
		}
		create_topics_one(req, creq, &creq->topics[i], &resp->topics[i]);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
