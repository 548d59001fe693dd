/* Fetch: read whole record batches from each requested partition and send
 * them as file ranges (sendfile on plain TCP), honouring max_bytes,
 * per-partition max bytes (KIP-74: the first non-empty partition may exceed
 * them by one batch), min_bytes and max_wait_ms (long poll, see fetch_wait.h).
 *
 * Fetch sessions (KIP-227) are not kept: every response carries session id 0,
 * which tells clients to send full fetch requests.
 *
 * Transactions: every response carries the partition's last stable offset
 * (txn/txn_partition.h). A read_committed fetch (isolation_level 1) gets only
 * whole batches below it, plus the aborted transactions that overlap the
 * returned range (from the aborted-transactions index), so the client can
 * skip their records; read_uncommitted reads up to the high watermark. */
#include <stddef.h>
#include <string.h>

#include "base/log.h"
#include "kafka/broker.h"
#include "kafka/dispatch.h"
#include "kafka/errors.h"
#include "kafka/fetch_wait.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "meta/topics.h"
#include "net/reactor.h"
#include "proto/gen/errors.h"
#include "proto/gen/fetch_request.h"
#include "proto/gen/fetch_response.h"
#include "txn/txn_partition.h"

#define FETCH_ISOLATION_READ_COMMITTED 1

/* A fetch in progress; lives in the request's arena. */
struct fetch_state {
	struct request *req;
	struct fetch_request *freq;
	struct fetch_response *resp; /* built once, refilled on every pass */
	struct fetch_waiter waiter;
	struct reactor_timer *timer;
	bool any_error;
};

static bool fetch_uses_topic_ids(const struct request *req)
{
	return req->api_version >= 13;
}

static struct meta_topic *fetch_topic_lookup(struct request *req, const struct fetch_request_fetch_topic *ftopic)
{
	if (fetch_uses_topic_ids(req))
		return meta_topic_get_by_id(req->broker->topics, ftopic->topic_id);
	if (ftopic->topic.len <= 0)
		return NULL;
	char *name = arena_strndup(req->arena, ftopic->topic.ptr, (size_t)ftopic->topic.len);
	return meta_topic_get(req->broker->topics, name);
}

/* Drops the file references of the previous pass. */
static void fetch_release_records(struct fetch_response *resp)
{
	for (int32_t t = 0; t < resp->responses_count; t++) {
		struct fetch_response_fetchable_topic_response *tresp = &resp->responses[t];
		for (int32_t p = 0; p < tresp->partitions_count; p++) {
			struct krecords *rec = &tresp->partitions[p].records;
			file_ref_put(rec->file);
			rec->file = NULL;
			rec->len = 0;
		}
	}
}

static void fetch_partition_reset(struct fetch_response_partition_data *presp, int32_t index, int8_t isolation)
{
	int32_t aborted_count = isolation == FETCH_ISOLATION_READ_COMMITTED ? 0 : -1;
	fetch_response_partition_data_init(presp);
	presp->partition_index = index;
	presp->error_code = KERR_NONE;
	presp->high_watermark = -1;
	presp->last_stable_offset = -1;
	presp->log_start_offset = -1;
	presp->aborted_transactions_count = aborted_count;
	presp->aborted_transactions = NULL;
	presp->preferred_read_replica = -1;
	presp->records = (struct krecords){.ptr = NULL, .len = 0, .file = NULL, .file_pos = 0};
}

/* The aborted transactions overlapping [from, to) (read_committed). */
static void fetch_add_aborted(struct request *req, struct log_partition *part, int64_t from, int64_t to,
			      struct fetch_response_partition_data *presp)
{
	struct txn_aborted *ab;
	int32_t n = txn_partition_aborted(part, from, to, req->arena, &ab);
	if (!n)
		return;
	presp->aborted_transactions = arena_alloc(req->arena, (size_t)n * sizeof(*presp->aborted_transactions));
	for (int32_t i = 0; i < n; i++) {
		fetch_response_aborted_transaction_init(&presp->aborted_transactions[i]);
		presp->aborted_transactions[i].producer_id = ab[i].producer_id;
		presp->aborted_transactions[i].first_offset = ab[i].first_offset;
	}
	presp->aborted_transactions_count = n;
}

/* One read pass over every requested partition. Returns the record bytes
 * gathered; sets st->any_error when a partition has an error. */
static int64_t fetch_pass(struct fetch_state *st)
{
	struct request *req = st->req;
	struct fetch_request *freq = st->freq;
	struct fetch_response *resp = st->resp;
	int64_t total = 0;
	int64_t max_bytes = freq->max_bytes > 0 ? freq->max_bytes : 0;
	st->any_error = false;
	fetch_release_records(resp);

	for (int32_t t = 0; t < resp->responses_count; t++) {
		const struct fetch_request_fetch_topic *ftopic = &freq->topics[t];
		struct fetch_response_fetchable_topic_response *tresp = &resp->responses[t];
		struct meta_topic *topic = fetch_topic_lookup(req, ftopic);
		for (int32_t p = 0; p < tresp->partitions_count; p++) {
			const struct fetch_request_fetch_partition *fpart = &ftopic->partitions[p];
			struct fetch_response_partition_data *presp = &tresp->partitions[p];
			fetch_partition_reset(presp, fpart->partition, freq->isolation_level);
			if (!topic || fpart->partition < 0 || fpart->partition >= topic->partition_count) {
				presp->error_code = fetch_uses_topic_ids(req) && !topic ? KERR_UNKNOWN_TOPIC_ID
											: KERR_UNKNOWN_TOPIC_OR_PARTITION;
				st->any_error = true;
				continue;
			}
			struct log_partition *part = topic->partitions[fpart->partition];
			int64_t room = max_bytes - total;
			int32_t limit = fpart->partition_max_bytes;
			if (room < limit)
				limit = room > 0 ? (int32_t)room : 0;
			bool committed = freq->isolation_level == FETCH_ISOLATION_READ_COMMITTED;
			int64_t lso = txn_partition_lso(part);
			struct log_read_result rr;
			int rc = log_partition_read_upto(part, fpart->fetch_offset, limit, total > 0,
							 committed ? lso : INT64_MAX, &rr);
			presp->high_watermark = log_partition_end_offset(part);
			presp->last_stable_offset = lso;
			presp->log_start_offset = log_partition_start_offset(part);
			if (rc < 0) {
				presp->error_code = kafka_error_from_err(rc);
				st->any_error = true;
				continue;
			}
			presp->high_watermark = rr.high_watermark;
			presp->log_start_offset = rr.log_start_offset;
			presp->records.file = rr.file;
			presp->records.file_pos = rr.file_pos;
			presp->records.len = rr.len;
			if (committed && rr.len > 0)
				fetch_add_aborted(req, part, fpart->fetch_offset, rr.next_offset, presp);
			total += rr.len;
		}
		meta_topic_put(req->broker->topics, topic);
	}
	return total;
}

static void fetch_respond(struct fetch_state *st)
{
	kafka_respond(st->req, st->resp);
	fetch_release_records(st->resp); /* the response chain holds its own references */
}

static bool fetch_ready(const struct fetch_state *st, int64_t bytes)
{
	return st->any_error || bytes >= st->freq->min_bytes || st->freq->max_wait_ms <= 0;
}

static void fetch_finish_parked(struct fetch_state *st)
{
	kafka_fetch_wait_remove(st->req->broker, st->req->reactor, &st->waiter);
	if (st->timer)
		reactor_timer_cancel(st->req->reactor, st->timer);
	st->timer = NULL;
	fetch_respond(st);
	request_complete(st->req);
}

static void fetch_wake(struct fetch_waiter *waiter, bool final)
{
	struct fetch_state *st = (struct fetch_state *)((char *)waiter - offsetof(struct fetch_state, waiter));
	int64_t bytes = fetch_pass(st);
	if (final || fetch_ready(st, bytes))
		fetch_finish_parked(st);
}

static void fetch_timeout(void *arg)
{
	struct fetch_state *st = arg;
	st->timer = NULL; /* fired timers are gone */
	fetch_pass(st);
	fetch_finish_parked(st);
}

/* The response skeleton mirroring the request, filled by each pass. */
static struct fetch_response *fetch_response_new(struct request *req, const struct fetch_request *freq)
{
	struct fetch_response *resp = arena_alloc(req->arena, sizeof(*resp));
	fetch_response_init(resp);
	resp->error_code = KERR_NONE;
	resp->session_id = 0;
	resp->responses_count = freq->topics_count > 0 ? freq->topics_count : 0;
	resp->responses = arena_alloc(req->arena, sizeof(*resp->responses) * (size_t)resp->responses_count);
	for (int32_t t = 0; t < resp->responses_count; t++) {
		const struct fetch_request_fetch_topic *ftopic = &freq->topics[t];
		struct fetch_response_fetchable_topic_response *tresp = &resp->responses[t];
		fetch_response_fetchable_topic_response_init(tresp);
		tresp->topic = ftopic->topic;
		memcpy(tresp->topic_id, ftopic->topic_id, sizeof(tresp->topic_id));
		tresp->partitions_count = ftopic->partitions_count > 0 ? ftopic->partitions_count : 0;
		tresp->partitions = arena_alloc(req->arena, sizeof(*tresp->partitions) * (size_t)tresp->partitions_count);
		for (int32_t p = 0; p < tresp->partitions_count; p++)
			fetch_partition_reset(&tresp->partitions[p], ftopic->partitions[p].partition, freq->isolation_level);
	}
	return resp;
}

enum handler_result kafka_handle_fetch(struct request *req)
{
	struct fetch_request *freq = kafka_decode_request(req);
	if (!freq)
		return HANDLER_DONE;

	struct fetch_state *st = arena_alloc(req->arena, sizeof(*st));
	st->req = req;
	st->freq = freq;
	st->resp = fetch_response_new(req, freq);
	if (fetch_ready(st, fetch_pass(st))) {
		fetch_respond(st);
		return HANDLER_DONE;
	}
	/* Register first, then look again: an append that landed between the first
	 * pass and the registration would otherwise not wake us. */
	st->waiter.wake = fetch_wake;
	kafka_fetch_wait_add(req->broker, req->reactor, &st->waiter);
	if (fetch_ready(st, fetch_pass(st))) {
		kafka_fetch_wait_remove(req->broker, req->reactor, &st->waiter);
		fetch_respond(st);
		return HANDLER_DONE;
	}
	st->timer = reactor_timer_add(req->reactor, freq->max_wait_ms, fetch_timeout, st);
	return HANDLER_PARKED;
}
