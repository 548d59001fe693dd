/* ListOffsets: a partition's earliest (-2) or latest (-1) offset, the offset
 * of its largest timestamp (-3, v7+), or the first offset whose timestamp is
 * at least a given time (through the time index). v0 answers in the old
 * style, a list of offsets. With isolation_level 1 (read_committed, v2+) the
 * latest offset is the last stable offset and a lookup that lands at or past
 * it finds nothing, as in Kafka (Partition.fetchOffsetForTimestamp). */
#include <string.h>

#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/errors.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topics.h"
#include "proto/gen/errors.h"
#include "proto/gen/list_offsets_request.h"
#include "proto/gen/list_offsets_response.h"
#include "txn/txn_partition.h"

#define LIST_OFFSETS_LATEST (-1)
#define LIST_OFFSETS_EARLIEST (-2)
#define LIST_OFFSETS_MAX_TIMESTAMP (-3)
#define LIST_OFFSETS_EARLIEST_LOCAL (-4)   /* KIP-405: local log start; no tiering here */
#define LIST_OFFSETS_EARLIEST_TIERED (-5)

#define LIST_OFFSETS_READ_COMMITTED 1

/* Fills offset and timestamp for one partition; returns a wire error code. */
static int16_t list_offsets_partition(struct log_partition *part, int64_t ts, bool committed, int64_t *offset,
				      int64_t *timestamp)
{
	*timestamp = -1;
	int64_t fetchable = committed ? txn_partition_lso(part) : log_partition_end_offset(part);
	int rc = 0;
	switch (ts) {
	case LIST_OFFSETS_LATEST:
		*offset = fetchable;
		return KERR_NONE;
	case LIST_OFFSETS_EARLIEST:
	case LIST_OFFSETS_EARLIEST_LOCAL:
	case LIST_OFFSETS_EARLIEST_TIERED:
		*offset = log_partition_start_offset(part);
		return KERR_NONE;
	case LIST_OFFSETS_MAX_TIMESTAMP:
		log_partition_max_timestamp(part, timestamp, offset);
		break;
	default:
		if (ts < 0)
			return KERR_INVALID_REQUEST;
		rc = log_partition_offset_for_time(part, ts, offset, timestamp);
		break;
	}
	if (!rc && *offset >= fetchable)
		*offset = *timestamp = -1;
	return kafka_error_from_err(rc);
}

enum handler_result kafka_handle_list_offsets(struct request *req)
{
	struct list_offsets_request *lreq = kafka_decode_request(req);
	if (!lreq)
		return HANDLER_DONE;
	struct meta_topics *topics = req->broker->topics;

	struct list_offsets_response *resp = arena_alloc(req->arena, sizeof(*resp));
	list_offsets_response_init(resp);
	resp->topics_count = lreq->topics_count > 0 ? lreq->topics_count : 0;
	resp->topics = arena_alloc(req->arena, sizeof(*resp->topics) * (size_t)resp->topics_count);
	for (int32_t t = 0; t < resp->topics_count; t++) {
		const struct list_offsets_request_list_offsets_topic *rtopic = &lreq->topics[t];
		struct list_offsets_response_list_offsets_topic_response *tresp = &resp->topics[t];
		list_offsets_response_list_offsets_topic_response_init(tresp);
		tresp->name = rtopic->name;
		tresp->partitions_count = rtopic->partitions_count > 0 ? rtopic->partitions_count : 0;
		tresp->partitions = arena_alloc(req->arena, sizeof(*tresp->partitions) * (size_t)tresp->partitions_count);
		char *name = arena_strndup(req->arena, rtopic->name.ptr, rtopic->name.len > 0 ? (size_t)rtopic->name.len : 0);
		struct meta_topic *topic = meta_topic_get(topics, name);
		for (int32_t p = 0; p < tresp->partitions_count; p++) {
			const struct list_offsets_request_list_offsets_partition *rpart = &rtopic->partitions[p];
			struct list_offsets_response_list_offsets_partition_response *presp = &tresp->partitions[p];
			list_offsets_response_list_offsets_partition_response_init(presp);
			presp->partition_index = rpart->partition_index;
			presp->timestamp = -1;
			presp->offset = -1;
			presp->leader_epoch = -1;
			if (!topic || rpart->partition_index < 0 || rpart->partition_index >= topic->partition_count) {
				presp->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			presp->leader_epoch = 0;
			presp->error_code = list_offsets_partition(topic->partitions[rpart->partition_index],
								   rpart->timestamp,
								   lreq->isolation_level == LIST_OFFSETS_READ_COMMITTED,
								   &presp->offset, &presp->timestamp);
			if (req->api_version == 0 && presp->error_code == KERR_NONE) {
				/* v0: up to max_num_offsets offsets; we keep no per-segment list, so one. */
				bool any = rpart->max_num_offsets > 0 && presp->offset >= 0;
				presp->old_style_offsets_count = any ? 1 : 0;
				presp->old_style_offsets = arena_alloc(req->arena, sizeof(int64_t));
				presp->old_style_offsets[0] = presp->offset;
			}
		}
		meta_topic_put(topics, topic);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
