/* DescribeProducers (v0, KIP-664): the active producers of each requested
 * partition as its producer state knows them: id, epoch, last sequence, time
 * of the last write, coordinator epoch of the last marker and the first offset
 * of the ongoing transaction (-1 if none). An unknown topic or partition is
 * UNKNOWN_TOPIC_OR_PARTITION for that partition, as in Kafka
 * (ReplicaManager.activeProducerState). */
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topics.h"
#include "proto/gen/describe_producers_request.h"
#include "proto/gen/describe_producers_response.h"
#include "proto/gen/errors.h"
#include "txn/txn_partition.h"

static void describe_partition(struct request *req, struct log_partition *part,
			       struct describe_producers_response_partition_response *presp)
{
	struct txn_producer_info *info;
	int32_t n = txn_partition_producers(part, req->arena, &info);
	presp->active_producers_count = n;
	presp->active_producers = arena_alloc(req->arena, (size_t)(n ? n : 1) * sizeof(*presp->active_producers));
	for (int32_t i = 0; i < n; i++) {
		struct describe_producers_response_producer_state *ps = &presp->active_producers[i];
		describe_producers_response_producer_state_init(ps);
		ps->producer_id = info[i].producer_id;
		ps->producer_epoch = info[i].epoch;
		ps->last_sequence = info[i].last_sequence;
		ps->last_timestamp = info[i].last_timestamp;
		ps->coordinator_epoch = info[i].coordinator_epoch;
		ps->current_txn_start_offset = info[i].current_txn_start_offset;
	}
}

enum handler_result kafka_handle_describe_producers(struct request *req)
{
	struct describe_producers_request *dreq = kafka_decode_request(req);
	if (!dreq)
		return HANDLER_DONE;
	struct meta_topics *topics = req->broker->topics;
	struct describe_producers_response *resp = arena_alloc(req->arena, sizeof(*resp));
	describe_producers_response_init(resp);
	resp->topics_count = dreq->topics_count > 0 ? dreq->topics_count : 0;
	resp->topics = arena_alloc(req->arena, (size_t)(resp->topics_count + 1) * sizeof(*resp->topics));
	for (int32_t t = 0; t < resp->topics_count; t++) {
		const struct describe_producers_request_topic_request *rt = &dreq->topics[t];
		struct describe_producers_response_topic_response *tresp = &resp->topics[t];
		describe_producers_response_topic_response_init(tresp);
		tresp->name = rt->name;
		tresp->partitions_count = rt->partition_indexes_count > 0 ? rt->partition_indexes_count : 0;
		tresp->partitions = arena_alloc(req->arena, (size_t)(tresp->partitions_count + 1) * sizeof(*tresp->partitions));
		char *name = arena_strndup(req->arena, rt->name.ptr, rt->name.len > 0 ? (size_t)rt->name.len : 0);
		struct meta_topic *topic = meta_topic_get(topics, name);
		for (int32_t p = 0; p < tresp->partitions_count; p++) {
			struct describe_producers_response_partition_response *presp = &tresp->partitions[p];
			describe_producers_response_partition_response_init(presp);
			int32_t index = rt->partition_indexes[p];
			presp->partition_index = index;
			if (!topic || index < 0 || index >= topic->partition_count) {
				presp->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			presp->error_code = KERR_NONE;
			describe_partition(req, topic->partitions[index], presp);
		}
		meta_topic_put(topics, topic);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
