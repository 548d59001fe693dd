/* Produce: validate each partition's record batches, append them to the log,
 * and answer per the request's acks:
 *   acks=0   no response at all;
 *   acks=1   once the bytes are written (page cache);
 *   acks=-1  once the flusher has fdatasync'ed them (group commit): the request
 *            parks, and each partition's flush callback is posted back to this
 *            reactor; the response goes out when the last one arrives.
 * Nothing of a batch that fails validation is appended. Produce v0-2 may
 * carry legacy message sets (magic 0/1); they are converted to one v2 batch.
 * Batches with a producer id (idempotent producers) go through the
 * partition's producer state (txn/producer_state.h): a retried batch is
 * answered with its original offsets instead of being appended again, a
 * sequence gap or an old epoch is refused. A topic whose compression.type
 * names a codec (not "producer") stores its batches in that codec: a batch
 * sent with another one is re-encoded before the append (produce_recompress). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kafka/broker.h"
#include "log/cleaner.h"
#include "kafka/dispatch.h"
#include "kafka/errors.h"
#include "kafka/fetch_wait.h"
#include "kafka/handlers.h"
#include "kafka/request.h"
#include "log/flusher.h"
#include "meta/topics.h"
#include "net/reactor.h"
#include "proto/gen/errors.h"
#include "proto/gen/produce_request.h"
#include "proto/gen/produce_response.h"
#include "proto/compression.h"
#include "proto/legacy.h"
#include "proto/records.h"
#include "txn/producer_state.h"

/* A parked acks=all request, in the request's arena. */
struct produce_wait {
	struct request *req;
	struct produce_response *resp;
	int pending; /* partitions still waiting for their sync; reactor thread only */
};

/* One partition's pending sync. err is written on the flusher thread before
 * reactor_post, which orders it before the reactor reads it. */
struct produce_wait_partition {
	struct produce_wait *wait;
	struct produce_response_partition_produce_response *presp;
	int err;
};

static struct kstr arena_kstr(struct arena *arena, const char *msg)
{
	size_t len = strlen(msg);
	return (struct kstr){.ptr = arena_strndup(arena, msg, len), .len = (int32_t)len};
}

/* The wire error for a refused idempotent batch. */
static int16_t produce_txn_error(enum txn_verdict verdict)
{
	switch (verdict) {
	case TXN_OUT_OF_ORDER:
		return KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	case TXN_INVALID_EPOCH:
		return KERR_INVALID_PRODUCER_EPOCH;
	case TXN_NO_TXN:
		return KERR_INVALID_TXN_STATE;
	case TXN_INVALID:
		return KERR_INVALID_RECORD;
	case TXN_OK:
	case TXN_DUPLICATE:
		break;
	}
	return KERR_NONE;
}

static void produce_partition_error(struct request *req, struct produce_response_partition_produce_response *presp,
				    int16_t code, const char *msg)
{
	presp->error_code = code;
	presp->base_offset = -1;
	if (msg)
		presp->error_message = arena_kstr(req->arena, msg);
}

/* The codec a topic's compression.type asks for, or -1 for "producer" (keep
 * what the producer sent). */
static int produce_topic_codec(struct request *req, const struct meta_topic *topic)
{
	char buf[32];
	const char *v = meta_topic_config_value(req->broker->topics, topic, "compression.type", buf, sizeof(buf));
	if (!v || strcmp(v, "producer") == 0)
		return -1;
	if (strcmp(v, "uncompressed") == 0)
		return COMPRESSION_NONE;
	for (int c = COMPRESSION_GZIP; c <= COMPRESSION_MAX; c++)
		if (strcmp(v, compression_name(c)) == 0)
			return c;
	return -1;
}

/* Decompressed size accepted from one batch when re-encoding it. */
#define PRODUCE_INFLATE_MAX ((size_t)64 << 20)

static uint32_t rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* True if [p, p + len) is exactly count length-prefixed records. */
static bool records_walk(const uint8_t *p, size_t len, int32_t count)
{
	const uint8_t *end = p + len;
	for (int32_t i = 0; i < count; i++) {
		int64_t rlen;
		size_t k = records_read_varlong(p, end, 5, &rlen);
		if (!k || rlen <= 0 || end - (p + k) < rlen)
			return false;
		p += k + (size_t)rlen;
	}
	return p == end;
}

/* Re-encodes with codec every batch of a validated set whose codec differs
 * (control batches stay as they are): the records are decompressed and
 * compressed again as one v2 batch; the header keeps everything else
 * (producer id, epoch, base sequence, the transactional and timestamp-type
 * bits, timestamps, lastOffsetDelta, record count), with the new length,
 * codec bits and CRC-32C. Returns 0 with *out NULL when nothing differs, 0
 * with a new malloc'ed set in *out / *out_len, or -SAMSA_ECORRUPT (records
 * do not decompress or walk), -SAMSA_ETOOLARGE (the result exceeds
 * max_batch_bytes, or inflates past PRODUCE_INFLATE_MAX), -EIO, with errmsg. */
static int produce_recompress(const uint8_t *batches, size_t len, int codec, int32_t max_batch_bytes,
			      uint8_t **out, size_t *out_len, char errmsg[ERRMSG_SIZE])
{
	*out = NULL;
	*out_len = 0;
	bool differs = false;
	for (size_t p = 0; p < len;) {
		const uint8_t *b = batches + p;
		uint16_t attr = (uint16_t)(b[21] << 8 | b[22]);
		if (!(attr & RECORDS_ATTR_CONTROL) && (attr & RECORDS_ATTR_COMPRESSION_MASK) != codec)
			differs = true;
		p += (size_t)(int32_t)rd_be32(b + 8) + RECORDS_LOG_OVERHEAD;
	}
	if (!differs)
		return 0;

	size_t cap = len + 256, n = 0;
	uint8_t *buf = xmalloc(cap);
	int rc = 0;
	for (size_t p = 0; p < len && !rc;) {
		const uint8_t *b = batches + p;
		size_t total = (size_t)(int32_t)rd_be32(b + 8) + RECORDS_LOG_OVERHEAD;
		p += total;
		uint16_t attr = (uint16_t)(b[21] << 8 | b[22]);
		int from = attr & RECORDS_ATTR_COMPRESSION_MASK;
		const uint8_t *body = b + RECORDS_BATCH_HEADER_SIZE;
		size_t body_len = total - RECORDS_BATCH_HEADER_SIZE;
		uint8_t *raw = NULL, *enc = NULL;
		size_t raw_len = body_len, enc_len = 0;
		if ((attr & RECORDS_ATTR_CONTROL) || from == codec) {
			enc_len = body_len; /* copied as is below */
		} else {
			if (from != COMPRESSION_NONE) {
				rc = compression_decompress(from, body, body_len, PRODUCE_INFLATE_MAX, &raw, &raw_len,
							    errmsg);
				if (rc)
					break;
			}
			const uint8_t *records = raw ? raw : body;
			if (!records_walk(records, raw_len, (int32_t)rd_be32(b + 57))) {
				err_printf(errmsg, "%s batch records do not match its record count",
					   compression_name(from));
				free(raw);
				rc = -SAMSA_ECORRUPT;
				break;
			}
			if (codec != COMPRESSION_NONE) {
				rc = compression_compress(codec, records, raw_len, &enc, &enc_len, errmsg);
				if (rc) {
					free(raw);
					break;
				}
			} else {
				enc_len = raw_len;
			}
		}
		size_t new_total = RECORDS_BATCH_HEADER_SIZE + enc_len;
		if (max_batch_bytes > 0 && new_total > (size_t)max_batch_bytes) {
			err_printf(errmsg, "batch re-encoded as %s is %zu bytes, above the limit of %d",
				   compression_name(codec), new_total, max_batch_bytes);
			free(raw);
			free(enc);
			rc = -SAMSA_ETOOLARGE;
			break;
		}
		if (n + new_total > cap) {
			while (n + new_total > cap)
				cap *= 2;
			buf = xrealloc(buf, cap);
		}
		uint8_t *nb = buf + n;
		memcpy(nb, b, RECORDS_BATCH_HEADER_SIZE);
		if ((attr & RECORDS_ATTR_CONTROL) || from == codec) {
			memcpy(nb + RECORDS_BATCH_HEADER_SIZE, body, body_len);
		} else {
			memcpy(nb + RECORDS_BATCH_HEADER_SIZE, enc ? enc : raw ? raw : body, enc_len);
			wr_be32(nb + 8, (uint32_t)(new_total - RECORDS_LOG_OVERHEAD));
			uint16_t nattr = (uint16_t)((attr & ~RECORDS_ATTR_COMPRESSION_MASK) | codec);
			nb[21] = (uint8_t)(nattr >> 8);
			nb[22] = (uint8_t)nattr;
			wr_be32(nb + 17, crc32c(0, nb + 21, new_total - 21));
		}
		n += new_total;
		free(raw);
		free(enc);
	}
	if (rc) {
		free(buf);
		return rc < 0 ? rc : -EIO;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

/* Validates and appends one partition's records; fills presp. Returns the
 * partition to wait on for acks=all with *end_offset set past the last
 * appended record, or NULL. */
static struct log_partition *produce_partition(struct request *req, struct meta_topic *topic,
					       const struct produce_request_partition_produce_data *pdata,
					       struct produce_response_partition_produce_response *presp,
					       int64_t *end_offset)
{
	char errmsg[ERRMSG_SIZE];
	presp->index = pdata->index;
	if (!topic || pdata->index < 0 || pdata->index >= topic->partition_count) {
		produce_partition_error(req, presp, KERR_UNKNOWN_TOPIC_OR_PARTITION, NULL);
		return NULL;
	}
	if (meta_topic_is_internal(topic->name)) {
		snprintf(errmsg, sizeof(errmsg), "Cannot append to internal topic %s", topic->name);
		produce_partition_error(req, presp, KERR_INVALID_TOPIC_EXCEPTION, errmsg);
		return NULL;
	}
	const struct krecords *records = &pdata->records;
	if (records->len <= 0) {
		produce_partition_error(req, presp, KERR_CORRUPT_MESSAGE, "Produce request has no record batches");
		return NULL;
	}
	uint8_t *batches = records->ptr;
	size_t len = (size_t)records->len;
	uint8_t *converted = NULL;
	struct records_info info;
	int rc = records_validate(batches, len, topic->log_config.max_message_bytes, &info, errmsg);
	if (rc == -EPROTONOSUPPORT && req->api_version <= 2) {
		/* Magic 0/1 from an old client: stored as one v2 batch. */
		rc = legacy_to_v2(batches, len, topic->log_config.max_message_bytes, &converted, &len,
				  &info.record_count, errmsg);
		batches = converted;
	} else if (rc == -EPROTONOSUPPORT) {
		snprintf(errmsg, sizeof(errmsg),
			 "Produce requests with version %d are only allowed to contain record batches with magic version 2",
			 req->api_version);
		produce_partition_error(req, presp, KERR_INVALID_RECORD, errmsg);
		return NULL;
	}
	int codec = rc < 0 ? -1 : produce_topic_codec(req, topic);
	if (codec >= 0) {
		uint8_t *re;
		size_t re_len;
		rc = produce_recompress(batches, len, codec, topic->log_config.max_message_bytes, &re, &re_len,
					errmsg);
		if (rc < 0) {
			free(converted);
			converted = NULL;
		} else if (re) {
			free(converted);
			converted = re;
			batches = re;
			len = re_len;
		}
	}
	if (rc < 0) {
		log_debug("produce", "%s-%d from %s: %s", topic->name, pdata->index, req->peer, errmsg);
		produce_partition_error(req, presp, kafka_error_from_err(rc), errmsg);
		return NULL;
	}
	char policy_buf[64]; /* compaction (log/cleaner.c) needs a key on every record */
	const char *policy = meta_topic_config_value(req->broker->topics, topic, "cleanup.policy", policy_buf,
						     sizeof(policy_buf));
	if (policy && strstr(policy, "compact") && log_records_have_null_key(batches, len)) {
		free(converted);
		snprintf(errmsg, sizeof(errmsg), "Compacted topic cannot accept message without key in topic partition %s-%d.",
			 topic->name, pdata->index);
		produce_partition_error(req, presp, KERR_INVALID_RECORD, errmsg);
		return NULL;
	}
	struct log_partition *part = topic->partitions[pdata->index];
	struct log_append_result res;
	enum txn_verdict verdict;
	rc = txn_partition_append(part, batches, len, info.record_count, clock_wall_ms(), &res, &verdict,
				  errmsg);
	free(converted);
	if (rc < 0) {
		log_error("produce", "append to %s-%d failed: %s", topic->name, pdata->index, strerror(-rc));
		produce_partition_error(req, presp, kafka_error_from_err(rc), strerror(-rc));
		return NULL;
	}
	if (verdict != TXN_OK && verdict != TXN_DUPLICATE) {
		log_debug("produce", "%s-%d from %s: %s", topic->name, pdata->index, req->peer, errmsg);
		produce_partition_error(req, presp, produce_txn_error(verdict), errmsg);
		return NULL;
	}
	if (verdict == TXN_DUPLICATE)
		log_info("produce", "%s-%d from %s: duplicate batch (a retry), answered with its offset %lld",
			 topic->name, pdata->index, req->peer, (long long)res.base_offset);
	presp->error_code = KERR_NONE;
	presp->base_offset = res.base_offset;
	presp->log_append_time_ms = res.log_append_time;
	presp->log_start_offset = res.log_start_offset;
	*end_offset = res.last_offset + 1;
	return part;
}

static void produce_finish(struct produce_wait *wait)
{
	kafka_respond(wait->req, wait->resp);
	request_complete(wait->req);
}

/* Reactor thread: one partition of a parked acks=all request is durable. */
static void produce_partition_synced(void *arg)
{
	struct produce_wait_partition *wp = arg;
	if (wp->err < 0) {
		wp->presp->error_code = kafka_error_from_err(wp->err);
		wp->presp->base_offset = -1;
	}
	if (--wp->wait->pending == 0)
		produce_finish(wp->wait);
}

/* Flusher thread. */
static void produce_flush_done(void *arg, int err)
{
	struct produce_wait_partition *wp = arg;
	wp->err = err;
	reactor_post(wp->wait->req->reactor, produce_partition_synced, wp);
}

enum handler_result kafka_handle_produce(struct request *req)
{
	struct produce_request *preq = kafka_decode_request(req);
	if (!preq)
		return HANDLER_DONE;

	struct produce_response *resp = arena_alloc(req->arena, sizeof(*resp));
	produce_response_init(resp);
	bool acks_valid = preq->acks == 0 || preq->acks == 1 || preq->acks == -1;
	struct produce_wait *wait = arena_alloc(req->arena, sizeof(*wait));
	wait->req = req;
	wait->resp = resp;
	/* Held at 1 while appending so callbacks cannot finish the request early. */
	wait->pending = 1;
	bool appended = false;

	resp->responses_count = preq->topic_data_count > 0 ? preq->topic_data_count : 0;
	resp->responses = arena_alloc(req->arena, sizeof(*resp->responses) * (size_t)resp->responses_count);
	for (int32_t t = 0; t < resp->responses_count; t++) {
		const struct produce_request_topic_produce_data *tdata = &preq->topic_data[t];
		struct produce_response_topic_produce_response *tresp = &resp->responses[t];
		produce_response_topic_produce_response_init(tresp);
		tresp->name = tdata->name;
		tresp->partition_responses_count = tdata->partition_data_count > 0 ? tdata->partition_data_count : 0;
		tresp->partition_responses = arena_alloc(req->arena, sizeof(*tresp->partition_responses) *
									     (size_t)tresp->partition_responses_count);
		char *name = arena_strndup(req->arena, tdata->name.ptr, tdata->name.len > 0 ? (size_t)tdata->name.len : 0);
		struct meta_topic *topic = tdata->name.len > 0 ? meta_topic_get(req->broker->topics, name) : NULL;
		for (int32_t p = 0; p < tresp->partition_responses_count; p++) {
			struct produce_response_partition_produce_response *presp = &tresp->partition_responses[p];
			produce_response_partition_produce_response_init(presp);
			if (!acks_valid) {
				presp->index = tdata->partition_data[p].index;
				produce_partition_error(req, presp, KERR_INVALID_REQUIRED_ACKS, NULL);
				continue;
			}
			int64_t end_offset;
			struct log_partition *part =
				produce_partition(req, topic, &tdata->partition_data[p], presp, &end_offset);
			if (!part)
				continue;
			appended = true;
			if (preq->acks == -1) {
				struct produce_wait_partition *wp = arena_alloc(req->arena, sizeof(*wp));
				wp->wait = wait;
				wp->presp = presp;
				wait->pending++;
				log_flusher_wait(req->broker->flusher, part, end_offset, produce_flush_done, wp);
			}
		}
		meta_topic_put(req->broker->topics, topic);
	}
	if (appended)
		kafka_fetch_wait_notify(req->broker);

	if (preq->acks == 0) {
		kafka_respond_none(req);
		return HANDLER_DONE;
	}
	if (--wait->pending == 0) {
		kafka_respond(req, resp);
		return HANDLER_DONE;
	}
	return HANDLER_PARKED;
}
