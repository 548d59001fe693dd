/* OffsetFetch (v0-9): a consumer reads the positions its group committed.
 * Partitions without a committed offset get -1 (and metadata ""), as in
 * Kafka. v0-7 ask for one group (v2+ may leave the topics null: every
 * committed offset of the group), v8+ for several groups at once. The
 * answer comes from the coordinator's cache, which mirrors __consumer_offsets.
 *
 * Offsets a transaction wrote (TxnOffsetCommit) are not shown before the
 * transaction commits. require_stable (v7+, read_committed consumers) asks
 * for no such pending offsets: a partition that has some gets
 * UNSTABLE_OFFSET_COMMIT, which clients retry (Kafka's answer). */
#include <string.h>

#include "group/coordinator.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "proto/gen/errors.h"
#include "proto/gen/offset_fetch_request.h"
#include "proto/gen/offset_fetch_response.h"

/* A group's answer before it is shaped into the version's structs: topics
 * with their partitions, in order. */
struct fetch_topic {
	struct kstr name;
	int32_t count;
	struct group_offset *offsets;
};

struct fetch_group {
	int16_t error;
	int32_t topic_count;
	struct fetch_topic *topics;
};

/* The requested partitions; topic_count < 0 (null) asks for every one. */
static void fetch_one_group(struct request *req, const char *group_id, bool require_stable, int32_t topic_count,
			    const struct kstr *names, const int32_t *partition_counts,
			    int32_t *const *partition_indexes, struct fetch_group *out)
{
	struct arena *arena = req->arena;
	struct group_coordinator *coord = req->broker->groups;
	memset(out, 0, sizeof(*out));
	if (topic_count < 0) {
		struct group_offset *all;
		int32_t n;
		out->error = group_fetch_all_offsets(coord, group_id, require_stable, arena, &all, &n);
		out->topics = arena_alloc(arena, sizeof(*out->topics) * (size_t)(n + 1));
		for (int32_t i = 0; i < n; i++) {
			struct fetch_topic *t = out->topic_count ? &out->topics[out->topic_count - 1] : NULL;
			if (!t || strcmp(t->offsets[0].topic, all[i].topic) != 0) {
				t = &out->topics[out->topic_count++];
				t->name = kstr_from_cstr(all[i].topic);
				t->offsets = &all[i];
				t->count = 0;
			}
			t->count++;
		}
		return;
	}
	int32_t total = 0;
	for (int32_t t = 0; t < topic_count; t++)
		total += partition_counts[t] > 0 ? partition_counts[t] : 0;
	struct group_offset *flat = arena_alloc(arena, sizeof(*flat) * (size_t)(total + 1));
	out->topic_count = topic_count;
	out->topics = arena_alloc(arena, sizeof(*out->topics) * (size_t)(topic_count + 1));
	int32_t k = 0;
	for (int32_t t = 0; t < topic_count; t++) {
		const char *name = kstr_is_null(names[t]) ? "" : kstr_dup(arena, names[t]);
		int32_t np = partition_counts[t] > 0 ? partition_counts[t] : 0;
		out->topics[t] = (struct fetch_topic){names[t], np, &flat[k]};
		for (int32_t p = 0; p < np; p++, k++) {
			flat[k].topic = name;
			flat[k].partition = partition_indexes[t][p];
		}
	}
	out->error = group_fetch_offsets(coord, group_id, require_stable, total, flat, arena);
	if (out->error)
		for (int32_t i = 0; i < total; i++)
			flat[i] = (struct group_offset){flat[i].topic, flat[i].partition, -1, -1, "", out->error};
}

static void respond_v0_7(struct request *req, const struct fetch_group *g)
{
	struct offset_fetch_response *resp = arena_alloc(req->arena, sizeof(*resp));
	offset_fetch_response_init(resp);
	resp->error_code = g->error;
	resp->topics_count = g->topic_count;
	resp->topics = arena_alloc(req->arena, sizeof(*resp->topics) * (size_t)(g->topic_count + 1));
	for (int32_t t = 0; t < g->topic_count; t++) {
		struct offset_fetch_response_offset_fetch_response_topic *rt = &resp->topics[t];
		offset_fetch_response_offset_fetch_response_topic_init(rt);
		rt->name = g->topics[t].name;
		rt->partitions_count = g->topics[t].count;
		rt->partitions = arena_alloc(req->arena, sizeof(*rt->partitions) * (size_t)(rt->partitions_count + 1));
		for (int32_t p = 0; p < rt->partitions_count; p++) {
			const struct group_offset *o = &g->topics[t].offsets[p];
			struct offset_fetch_response_offset_fetch_response_partition *rp = &rt->partitions[p];
			offset_fetch_response_offset_fetch_response_partition_init(rp);
			rp->partition_index = o->partition;
			rp->committed_offset = o->offset;
			rp->committed_leader_epoch = o->leader_epoch;
			rp->metadata = kstr_from_cstr(o->metadata);
			rp->error_code = o->error;
		}
	}
	kafka_respond(req, resp);
}

static void fill_group_v8(struct request *req, struct kstr group_id, const struct fetch_group *g,
			  struct offset_fetch_response_offset_fetch_response_group *rg)
{
	offset_fetch_response_offset_fetch_response_group_init(rg);
	rg->group_id = group_id;
	rg->error_code = g->error;
	rg->topics_count = g->topic_count;
	rg->topics = arena_alloc(req->arena, sizeof(*rg->topics) * (size_t)(g->topic_count + 1));
	for (int32_t t = 0; t < g->topic_count; t++) {
		struct offset_fetch_response_offset_fetch_response_topics *rt = &rg->topics[t];
		offset_fetch_response_offset_fetch_response_topics_init(rt);
		rt->name = g->topics[t].name;
		rt->partitions_count = g->topics[t].count;
		rt->partitions = arena_alloc(req->arena, sizeof(*rt->partitions) * (size_t)(rt->partitions_count + 1));
		for (int32_t p = 0; p < rt->partitions_count; p++) {
			const struct group_offset *o = &g->topics[t].offsets[p];
			struct offset_fetch_response_offset_fetch_response_partitions *rp = &rt->partitions[p];
			offset_fetch_response_offset_fetch_response_partitions_init(rp);
			rp->partition_index = o->partition;
			rp->committed_offset = o->offset;
			rp->committed_leader_epoch = o->leader_epoch;
			rp->metadata = kstr_from_cstr(o->metadata);
			rp->error_code = o->error;
		}
	}
}

enum handler_result kafka_handle_offset_fetch(struct request *req)
{
	struct offset_fetch_request *freq = kafka_decode_request(req);
	if (!freq)
		return HANDLER_DONE;
	struct arena *arena = req->arena;
	if (req->api_version < 8) {
		int32_t nt = freq->topics_count;
		struct kstr *names = arena_alloc(arena, sizeof(*names) * (size_t)(nt > 0 ? nt : 1));
		int32_t *counts = arena_alloc(arena, sizeof(*counts) * (size_t)(nt > 0 ? nt : 1));
		int32_t **indexes = arena_alloc(arena, sizeof(*indexes) * (size_t)(nt > 0 ? nt : 1));
		for (int32_t t = 0; t < nt; t++) {
			names[t] = freq->topics[t].name;
			counts[t] = freq->topics[t].partition_indexes_count;
			indexes[t] = freq->topics[t].partition_indexes;
		}
		struct fetch_group g;
		fetch_one_group(req, kstr_dup(arena, freq->group_id), req->api_version >= 7 && freq->require_stable, nt,
				names, counts, indexes, &g);
		respond_v0_7(req, &g);
		return HANDLER_DONE;
	}
	struct offset_fetch_response *resp = arena_alloc(arena, sizeof(*resp));
	offset_fetch_response_init(resp);
	int32_t ng = freq->groups_count > 0 ? freq->groups_count : 0;
	resp->groups_count = ng;
	resp->groups = arena_alloc(arena, sizeof(*resp->groups) * (size_t)(ng + 1));
	for (int32_t i = 0; i < ng; i++) {
		const struct offset_fetch_request_offset_fetch_request_group *rg = &freq->groups[i];
		int32_t nt = rg->topics_count;
		struct kstr *names = arena_alloc(arena, sizeof(*names) * (size_t)(nt > 0 ? nt : 1));
		int32_t *counts = arena_alloc(arena, sizeof(*counts) * (size_t)(nt > 0 ? nt : 1));
		int32_t **indexes = arena_alloc(arena, sizeof(*indexes) * (size_t)(nt > 0 ? nt : 1));
		for (int32_t t = 0; t < nt; t++) {
			names[t] = rg->topics[t].name;
			counts[t] = rg->topics[t].partition_indexes_count;
			indexes[t] = rg->topics[t].partition_indexes;
		}
		struct fetch_group g;
		fetch_one_group(req, kstr_dup(arena, rg->group_id), freq->require_stable, nt, names, counts, indexes,
				&g);
		fill_group_v8(req, rg->group_id, &g, &resp->groups[i]);
	}
	kafka_respond(req, resp);
	return HANDLER_DONE;
}
