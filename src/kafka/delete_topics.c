/* DeleteTopics: removes topics by name (v0-5) or by name or id (v6+). A
 * deleted topic disappears from metadata at once; its files are removed when
 * the last in-flight request using it finishes. */
#include <string.h>

#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/errors.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topics.h"
#include "proto/gen/delete_topics_request.h"
#include "proto/gen/delete_topics_response.h"
#include "proto/gen/errors.h"

/* Deletes one topic given by name (len >= 0) or id; fills res. */
static void delete_topics_one(struct request *req, struct kstr name, const uint8_t id[16],
			      struct delete_topics_response_deletable_topic_result *res)
{
	struct meta_topics *topics = req->broker->topics;
	delete_topics_response_deletable_topic_result_init(res);
	res->name = name;
	res->error_message = (struct kstr){.ptr = NULL, .len = -1};
	if (id)
		memcpy(res->topic_id, id, sizeof(res->topic_id));
	struct meta_topic *topic;
	if (name.len >= 0) {
		char *cname = arena_strndup(req->arena, name.ptr, (size_t)name.len);
		topic = meta_topic_get(topics, cname);
	} else {
		topic = meta_topic_get_by_id(topics, id);
	}
	if (!topic) {
		res->error_code = name.len >= 0 ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_UNKNOWN_TOPIC_ID;
		return;
	}
	size_t len = strlen(topic->name);
	res->name = (struct kstr){.ptr = arena_strndup(req->arena, topic->name, len), .len = (int32_t)len};
	memcpy(res->topic_id, topic->id, sizeof(res->topic_id));
	int rc = meta_topic_delete(topics, topic->name);
	meta_topic_put(topics, topic);
	res->error_code = rc == -SAMSA_ENOTFOUND ? KERR_UNKNOWN_TOPIC_OR_PARTITION : kafka_error_from_err(rc);
}

enum handler_result kafka_handle_delete_topics(struct request *req)
{
	struct delete_topics_request *dreq = kafka_decode_request(req);
	if (!dreq)
		return HANDLER_DONE;
	struct delete_topics_response *resp = arena_alloc(req->arena, sizeof(*resp));
	delete_topics_response_init(resp);
	bool by_state = req->api_version >= 6;
	int32_t n = by_state ? dreq->topics_count : dreq->topic_names_count;
	resp->responses_count = n > 0 ? n : 0;
	resp->responses = arena_alloc(req->arena, sizeof(*resp->responses) * (size_t)resp->responses_count);
	for (int32_t i = 0; i < resp->responses_count; i++) {
		if (by_state)
			delete_topics_one(req, dreq->topics[i].name, dreq->topics[i].topic_id, &resp->responses[i]);
		else
			delete_topics_one(req, dreq->topic_names[i], NULL, &resp->responses[i]);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
