/* CreatePartitions: grows topics to a larger partition count. The new
 * partition directories are created and the topic's definition stored before
 * the partitions appear in metadata; an explicit assignment must name exactly
 * the added partitions, each on this node (the only broker). validateOnly
 * only checks. Errors carry Kafka's messages: INVALID_PARTITIONS when the
 * count does not grow, INVALID_REPLICA_ASSIGNMENT for a bad assignment,
 * UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST for a topic named twice. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/errors.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topics.h"
#include "proto/gen/create_partitions_request.h"
#include "proto/gen/create_partitions_response.h"
#include "proto/gen/errors.h"

static struct kstr create_partitions_msg(struct request *req, const char *msg)
{
	return kstr_from_cstr(arena_strndup(req->arena, msg, strlen(msg)));
}

/* Checks an explicit assignment of the added partitions. */
static bool create_partitions_assignment(struct request *req, const struct create_partitions_request_create_partitions_topic *ct,
					 int32_t current, char errmsg[ERRMSG_SIZE])
{
	int32_t added = ct->count - current;
	if (ct->assignments_count != added) {
		err_printf(errmsg, "Attempted to add %d additional partition(s), but only %d assignment(s) were specified.",
			   added, ct->assignments_count);
		return false;
	}
	for (int32_t i = 0; i < ct->assignments_count; i++) {
		const struct create_partitions_request_create_partitions_assignment *a = &ct->assignments[i];
		int32_t partition = current + i;
		if (a->broker_ids_count < 1) {
			err_printf(errmsg, "The manual partition assignment includes an empty replica list for partition %d.",
				   partition);
			return false;
		}
		for (int32_t b = 0; b < a->broker_ids_count; b++) {
			if (a->broker_ids[b] != req->broker->node_id) {
				err_printf(errmsg, "Unknown broker(s) in replica assignment: %d.", a->broker_ids[b]);
				return false;
			}
		}
		if (a->broker_ids_count > 1) {
			err_printf(errmsg, "Duplicate brokers not allowed in replica assignment: %d for partition id %d.",
				   req->broker->node_id, partition);
			return false;
		}
	}
	return true;
}

static void create_partitions_one(struct request *req, const struct create_partitions_request *creq,
				  const struct create_partitions_request_create_partitions_topic *ct,
				  struct create_partitions_response_create_partitions_topic_result *res)
{
	struct meta_topics *topics = req->broker->topics;
	char errmsg[ERRMSG_SIZE] = "";
	char *name = kstr_dup(req->arena, ct->name);
	struct meta_topic *topic = name ? meta_topic_get(topics, name) : NULL;
	if (!topic) {
		snprintf(errmsg, sizeof(errmsg), "The topic '%.200s' does not exist.", name ? name : "");
		res->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		res->error_message = create_partitions_msg(req, errmsg);
		return;
	}
	int32_t current = topic->partition_count;
	meta_topic_put(topics, topic);
	if (ct->assignments_count >= 0 && ct->count > current &&
	    !create_partitions_assignment(req, ct, current, errmsg)) {
		res->error_code = KERR_INVALID_REPLICA_ASSIGNMENT;
		res->error_message = create_partitions_msg(req, errmsg);
		return;
	}
	int rc = meta_topic_add_partitions(topics, name, ct->count, creq->validate_only, errmsg);
	if (rc < 0) {
		res->error_code = rc == -ERANGE ? KERR_INVALID_PARTITIONS : kafka_error_from_err(rc);
		res->error_message = create_partitions_msg(req, errmsg);
	}
}

enum handler_result kafka_handle_create_partitions(struct request *req)
{
	struct create_partitions_request *creq = kafka_decode_request(req);
	if (!creq)
		return HANDLER_DONE;
	struct create_partitions_response *resp = arena_alloc(req->arena, sizeof(*resp));
	create_partitions_response_init(resp);
	resp->results_count = creq->topics_count > 0 ? creq->topics_count : 0;
	resp->results = arena_alloc(req->arena, sizeof(*resp->results) * (size_t)(resp->results_count + 1));
	for (int32_t i = 0; i < resp->results_count; i++) {
		const struct create_partitions_request_create_partitions_topic *ct = &creq->topics[i];
		struct create_partitions_response_create_partitions_topic_result *res = &resp->results[i];
		create_partitions_response_create_partitions_topic_result_init(res);
		res->name = ct->name;
		res->error_code = KERR_NONE;
		res->error_message = KSTR_NULL;
		bool duplicate = false;
		for (int32_t j = 0; j < creq->topics_count && !duplicate; j++)
			duplicate = j != i && kstr_eq(creq->topics[j].name, ct->name);
		if (duplicate) {
			res->error_code = KERR_INVALID_REQUEST;
			res->error_message = KSTR_LIT("Duplicate topic in request.");
			continue;
		}
		create_partitions_one(req, creq, ct, res);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
