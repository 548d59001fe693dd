/* Metadata: the broker list (this node), the cluster id, the controller (this
 * node: clients send CreateTopics and InitProducerId there), and for each
 * requested topic its partitions, each led by this node.
 *
 * A requested topic that does not exist is created with the broker defaults
 * when auto.create.topics.enable is on and the request allows it (v4+ has the
 * flag; older versions always allow). Creation is synchronous here, so the
 * topic is answered at once, without Kafka's LEADER_NOT_AVAILABLE round. */
#include <errno.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/errors.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topics.h"
#include "proto/gen/errors.h"
#include "proto/gen/metadata_request.h"
#include "proto/gen/metadata_response.h"

/* Every ACL operation (READ..ALTER_CONFIGS except ALL and ANY, Kafka's
 * AclOperation codes 3-12): with no authorizer every client may do all. */
#define METADATA_ALL_TOPIC_OPERATIONS 0x1ff8

static void metadata_topic_fill(struct request *req, struct meta_topic *topic, bool include_ops,
				struct metadata_response_metadata_response_topic *tresp)
{
	int32_t node = req->broker->node_id;
	size_t len = strlen(topic->name);
	metadata_response_metadata_response_topic_init(tresp);
	tresp->error_code = KERR_NONE;
	tresp->name = (struct kstr){.ptr = arena_strndup(req->arena, topic->name, len), .len = (int32_t)len};
	memcpy(tresp->topic_id, topic->id, sizeof(tresp->topic_id));
	tresp->is_internal = meta_topic_is_internal(topic->name);
	tresp->topic_authorized_operations = include_ops ? METADATA_ALL_TOPIC_OPERATIONS : INT32_MIN;
	tresp->partitions_count = topic->partition_count;
	tresp->partitions = arena_alloc(req->arena, sizeof(*tresp->partitions) * (size_t)topic->partition_count);
	int32_t *replicas = arena_alloc(req->arena, sizeof(int32_t));
	replicas[0] = node;
	for (int32_t p = 0; p < topic->partition_count; p++) {
		struct metadata_response_metadata_response_partition *presp = &tresp->partitions[p];
		metadata_response_metadata_response_partition_init(presp);
		presp->error_code = KERR_NONE;
		presp->partition_index = p;
		presp->leader_id = node;
		presp->leader_epoch = 0;
		presp->replica_nodes_count = 1;
		presp->replica_nodes = replicas;
		presp->isr_nodes_count = 1;
		presp->isr_nodes = replicas;
		presp->offline_replicas_count = 0;
	}
}

static void metadata_topic_error(struct metadata_response_metadata_response_topic *tresp, struct kstr name,
				 int16_t code)
{
	metadata_response_metadata_response_topic_init(tresp);
	tresp->error_code = code;
	tresp->name = name;
	tresp->topic_authorized_operations = INT32_MIN;
	tresp->partitions_count = 0;
}

/* Looks up (or auto-creates) one requested topic and fills its entry. */
static void metadata_requested_topic(struct request *req, const struct metadata_request *mreq,
				     const struct metadata_request_metadata_request_topic *rtopic,
				     struct metadata_response_metadata_response_topic *tresp)
{
	struct meta_topics *topics = req->broker->topics;
	bool include_ops = mreq->include_topic_authorized_operations;
	struct meta_topic *topic;
	if (rtopic->name.len < 0) { /* v10+: by topic id */
		topic = meta_topic_get_by_id(topics, rtopic->topic_id);
		if (!topic) {
			metadata_topic_error(tresp, rtopic->name, KERR_UNKNOWN_TOPIC_ID);
			memcpy(tresp->topic_id, rtopic->topic_id, sizeof(tresp->topic_id));
			return;
		}
		metadata_topic_fill(req, topic, include_ops, tresp);
		meta_topic_put(topics, topic);
		return;
	}
	char *name = arena_strndup(req->arena, rtopic->name.ptr, (size_t)rtopic->name.len);
	topic = meta_topic_get(topics, name);
	if (!topic) {
		char errmsg[ERRMSG_SIZE];
		if (!meta_topic_name_valid(name, errmsg)) {
			metadata_topic_error(tresp, rtopic->name, KERR_INVALID_TOPIC_EXCEPTION);
			return;
		}
		bool allowed = req->api_version < 4 || mreq->allow_auto_topic_creation;
		if (!allowed || !config_get_bool(req->broker->config, "auto.create.topics.enable")) {
			metadata_topic_error(tresp, rtopic->name, KERR_UNKNOWN_TOPIC_OR_PARTITION);
			return;
		}
		int rc = meta_topic_create(topics, name, -1, -1, 0, NULL, NULL, false, errmsg);
		if (rc < 0 && rc != -SAMSA_EEXIST) { /* EEXIST: another client won the race */
			log_warn("metadata", "auto-creating topic %s for %s failed: %s", name, req->peer, errmsg);
			metadata_topic_error(tresp, rtopic->name,
					     rc == -EDOM ? KERR_INVALID_REPLICATION_FACTOR : kafka_error_from_err(rc));
			return;
		}
		topic = meta_topic_get(topics, name);
		if (!topic) { /* deleted again in between */
			metadata_topic_error(tresp, rtopic->name, KERR_UNKNOWN_TOPIC_OR_PARTITION);
			return;
		}
	}
	metadata_topic_fill(req, topic, include_ops, tresp);
	meta_topic_put(topics, topic);
}

enum handler_result kafka_handle_metadata(struct request *req)
{
	struct metadata_request *mreq = kafka_decode_request(req);
	if (!mreq)
		return HANDLER_DONE;
	struct broker *broker = req->broker;

	struct metadata_response *resp = arena_alloc(req->arena, sizeof(*resp));
	metadata_response_init(resp);
	resp->brokers_count = 1;
	resp->brokers = arena_alloc(req->arena, sizeof(*resp->brokers));
	metadata_response_metadata_response_broker_init(&resp->brokers[0]);
	resp->brokers[0].node_id = broker->node_id;
	resp->brokers[0].host = (struct kstr){.ptr = broker->advertised_host,
					      .len = (int32_t)strlen(broker->advertised_host)};
	resp->brokers[0].port = broker->advertised_port;
	resp->brokers[0].rack = (struct kstr){.ptr = NULL, .len = -1};
	resp->cluster_id = (struct kstr){.ptr = broker->cluster_id, .len = (int32_t)strlen(broker->cluster_id)};
	resp->controller_id = broker->node_id;
	resp->cluster_authorized_operations = INT32_MIN;

	/* v0: an empty list means all topics; v1+: null means all topics. */
	bool all = mreq->topics_count < 0 || (req->api_version == 0 && mreq->topics_count == 0);
	if (all) {
		struct meta_topic **list;
		int n = meta_topic_list(broker->topics, &list);
		resp->topics_count = n;
		resp->topics = arena_alloc(req->arena, sizeof(*resp->topics) * (size_t)n);
		for (int i = 0; i < n; i++)
			metadata_topic_fill(req, list[i], mreq->include_topic_authorized_operations, &resp->topics[i]);
		meta_topic_list_free(broker->topics, list, n);
	} else {
		resp->topics_count = mreq->topics_count;
		resp->topics = arena_alloc(req->arena, sizeof(*resp->topics) * (size_t)mreq->topics_count);
		for (int32_t i = 0; i < mreq->topics_count; i++)
			metadata_requested_topic(req, mreq, &mreq->topics[i], &resp->topics[i]);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
