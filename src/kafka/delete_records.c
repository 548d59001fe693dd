/* DeleteRecords: moves each partition's log start offset (low watermark) up
 * to the requested offset, -1 meaning the high watermark. The new start
 * offset is on disk before the answer, survives a restart, and whole segments
 * below it are deleted; fetches below it get OFFSET_OUT_OF_RANGE and
 * ListOffsets EARLIEST returns it. An offset above the high watermark is
 * OFFSET_OUT_OF_RANGE; the internal topics refuse with INVALID_TOPIC_EXCEPTION
 * as Kafka's do. */
#include <string.h>

#include "base/log.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/errors.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "log/partition.h"
#include "meta/topics.h"
#include "proto/gen/delete_records_request.h"
#include "proto/gen/delete_records_response.h"
#include "proto/gen/errors.h"

static void delete_records_topic(struct request *req, const struct delete_records_request_delete_records_topic *rt,
				 struct delete_records_response_delete_records_topic_result *tres)
{
	struct meta_topics *topics = req->broker->topics;
	char *name = kstr_dup(req->arena, rt->name);
	struct meta_topic *topic = name ? meta_topic_get(topics, name) : NULL;
	tres->name = rt->name;
	tres->partitions_count = rt->partitions_count > 0 ? rt->partitions_count : 0;
	tres->partitions = arena_alloc(req->arena, sizeof(*tres->partitions) * (size_t)(tres->partitions_count + 1));
	for (int32_t p = 0; p < tres->partitions_count; p++) {
		const struct delete_records_request_delete_records_partition *rp = &rt->partitions[p];
		struct delete_records_response_delete_records_partition_result *pres = &tres->partitions[p];
		delete_records_response_delete_records_partition_result_init(pres);
		pres->partition_index = rp->partition_index;
		pres->low_watermark = -1;
		if (!topic || rp->partition_index < 0 || rp->partition_index >= topic->partition_count) {
			pres->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		if (meta_topic_is_internal(topic->name)) {
			pres->error_code = KERR_INVALID_TOPIC_EXCEPTION;
			continue;
		}
		int64_t low;
		int rc = log_partition_delete_records(topic->partitions[rp->partition_index], rp->offset, &low);
		if (rc < 0) {
			pres->error_code = kafka_error_from_err(rc);
			log_debug("delete_records", "%s-%d offset %lld from %s: %s", topic->name, rp->partition_index,
				  (long long)rp->offset, req->peer, kerr_name(pres->error_code));
			continue;
		}
		pres->error_code = KERR_NONE;
		pres->low_watermark = low;
	}
	meta_topic_put(topics, topic);
}

enum handler_result kafka_handle_delete_records(struct request *req)
{
	struct delete_records_request *dreq = kafka_decode_request(req);
	if (!dreq)
		return HANDLER_DONE;
	struct delete_records_response *resp = arena_alloc(req->arena, sizeof(*resp));
	delete_records_response_init(resp);
	resp->topics_count = dreq->topics_count > 0 ? dreq->topics_count : 0;
	resp->topics = arena_alloc(req->arena, sizeof(*resp->topics) * (size_t)(resp->topics_count + 1));
	for (int32_t t = 0; t < resp->topics_count; t++) {
		delete_records_response_delete_records_topic_result_init(&resp->topics[t]);
		delete_records_topic(req, &dreq->topics[t], &resp->topics[t]);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
