/* DescribeCluster: this node as the one broker, the cluster id, the
 * controller (this node too) and, when asked, the operations a client may do
 * on the cluster (all of them: there is no authorizer yet). A single Samsa
 * node is both broker and controller on the same listener, so it answers the
 * broker and the controller endpoint types alike. */
#include <stdio.h>
#include <string.h>

#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/describe_cluster_request.h"
#include "proto/gen/describe_cluster_response.h"
#include "proto/gen/errors.h"

/* Kafka's AclOperation codes that apply to the cluster resource: CREATE (5),
 * ALTER (7), DESCRIBE (8), CLUSTER_ACTION (10), ALTER_CONFIGS (11),
 * DESCRIBE_CONFIGS (12), IDEMPOTENT_WRITE (13). */
#define DESCRIBE_CLUSTER_ALL_OPERATIONS \
	((1 << 5) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13))

#define ENDPOINT_TYPE_BROKER 1
#define ENDPOINT_TYPE_CONTROLLER 2

enum handler_result kafka_handle_describe_cluster(struct request *req)
{
	struct describe_cluster_request *dreq = kafka_decode_request(req);
	if (!dreq)
		return HANDLER_DONE;
	struct broker *broker = req->broker;
	struct describe_cluster_response *resp = arena_alloc(req->arena, sizeof(*resp));
	describe_cluster_response_init(resp);
	resp->error_code = KERR_NONE;
	resp->error_message = KSTR_NULL;
	resp->endpoint_type = req->api_version >= 1 ? dreq->endpoint_type : ENDPOINT_TYPE_BROKER;
	resp->cluster_id = kstr_from_cstr(broker->cluster_id);
	resp->controller_id = broker->node_id;
	resp->cluster_authorized_operations =
		dreq->include_cluster_authorized_operations ? DESCRIBE_CLUSTER_ALL_OPERATIONS : INT32_MIN;
	if (resp->endpoint_type != ENDPOINT_TYPE_BROKER && resp->endpoint_type != ENDPOINT_TYPE_CONTROLLER) {
		char msg[64];
		snprintf(msg, sizeof(msg), "Unsupported endpoint type %d", resp->endpoint_type);
		resp->error_code = KERR_UNSUPPORTED_ENDPOINT_TYPE;
		resp->error_message = kstr_from_cstr(arena_strndup(req->arena, msg, strlen(msg)));
		resp->brokers_count = 0;
		kafka_respond(req, resp);
		return HANDLER_DONE;
	}
	resp->brokers_count = 1;
	resp->brokers = arena_alloc(req->arena, sizeof(*resp->brokers));
	describe_cluster_response_describe_cluster_broker_init(&resp->brokers[0]);
	resp->brokers[0].broker_id = broker->node_id;
	resp->brokers[0].host = kstr_from_cstr(broker->advertised_host);
	resp->brokers[0].port = broker->advertised_port;
	resp->brokers[0].rack = KSTR_NULL;
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
