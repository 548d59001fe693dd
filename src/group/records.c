/* Encoding and decoding of __consumer_offsets records and batches; see
 * records.h for the formats. Decoding reads every version Kafka has written
 * (so a data directory holding Kafka-written records would load), encoding
 * writes the versions Kafka 3.x writes. */
#include "group/records.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "proto/reader.h"
#include "proto/records.h"

/* ---- buffer --------------------------------------------------------------- */

void grec_buf_init(struct grec_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void grec_buf_fini(struct grec_buf *b)
{
	free(b->data);
	grec_buf_init(b);
}

void grec_buf_reset(struct grec_buf *b)
{
	b->len = 0;
}

static uint8_t *buf_grow(struct grec_buf *b, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	uint8_t *p = b->data + b->len;
	b->len += n;
	return p;
}

static void put_raw(struct grec_buf *b, const void *p, size_t n)
{
	if (n)
		memcpy(buf_grow(b, n), p, n);
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void put_i16(struct grec_buf *b, int16_t v)
{
	put_be(buf_grow(b, 2), (uint16_t)v, 2);
}

static void put_i32(struct grec_buf *b, int32_t v)
{
	put_be(buf_grow(b, 4), (uint32_t)v, 4);
}

static void put_i64(struct grec_buf *b, int64_t v)
{
	put_be(buf_grow(b, 8), (uint64_t)v, 8);
}

/* Classic (non-flexible) string: int16 length, -1 for null. */
static void put_str(struct grec_buf *b, const char *s, bool nullable)
{
	if (!s && nullable) {
		put_i16(b, -1);
		return;
	}
	size_t len = s ? strlen(s) : 0;
	if (len > INT16_MAX)
		len = INT16_MAX;
	put_i16(b, (int16_t)len);
	put_raw(b, s, len);
}

static void put_bytes(struct grec_buf *b, const uint8_t *p, int32_t len)
{
	if (len < 0)
		len = 0;
	put_i32(b, len);
	put_raw(b, p, (size_t)len);
}

static void put_uvarint(struct grec_buf *b, uint64_t v)
{
	while (v >= 0x80) {
		*buf_grow(b, 1) = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*buf_grow(b, 1) = (uint8_t)v;
}

static void put_varint(struct grec_buf *b, int64_t v)
{
	put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* ---- keys and values -------------------------------------------------------- */

void grec_offset_key(struct grec_buf *b, const char *group, const char *topic, int32_t partition)
{
	put_i16(b, GREC_KEY_OFFSET_COMMIT);
	put_str(b, group, false);
	put_str(b, topic, false);
	put_i32(b, partition);
}

void grec_offset_value(struct grec_buf *b, int64_t offset, int32_t leader_epoch, const char *metadata,
		       int64_t commit_timestamp)
{
	put_i16(b, GREC_OFFSET_VALUE_VERSION);
	put_i64(b, offset);
	put_i32(b, leader_epoch);
	put_str(b, metadata ? metadata : "", false);
	put_i64(b, commit_timestamp);
}

void grec_group_key(struct grec_buf *b, const char *group)
{
	put_i16(b, GREC_KEY_GROUP_METADATA);
	put_str(b, group, false);
}

void grec_group_value(struct grec_buf *b, const struct grec_group *g)
{
	put_i16(b, GREC_GROUP_VALUE_VERSION);
	put_str(b, g->protocol_type ? g->protocol_type : "", false);
	put_i32(b, g->generation);
	put_str(b, g->protocol, true);
	put_str(b, g->leader, true);
	put_i64(b, g->state_timestamp);
	put_i32(b, g->member_count);
	for (int32_t i = 0; i < g->member_count; i++) {
		const struct grec_member *m = &g->members[i];
		put_str(b, m->member_id, false);
		put_str(b, m->instance_id, true);
		put_str(b, m->client_id, false);
		put_str(b, m->client_host, false);
		put_i32(b, m->rebalance_timeout_ms);
		put_i32(b, m->session_timeout_ms);
		put_bytes(b, m->subscription, m->subscription_len);
		put_bytes(b, m->assignment, m->assignment_len);
	}
}

int grec_parse_key(const uint8_t *p, size_t len, struct grec_key *out)
{
	struct preader r;
	preader_init(&r, p, len);
	memset(out, 0, sizeof(*out));
	int16_t version = pr_int16(&r);
	if (r.err)
		return -SAMSA_ECORRUPT;
	switch (version) {
	case 0:
	case 1:
		out->type = GREC_OFFSET;
		pr_string(&r, false, false, &out->group);
		pr_string(&r, false, false, &out->topic);
		out->partition = pr_int32(&r);
		break;
	case 2:
		out->type = GREC_GROUP;
		pr_string(&r, false, false, &out->group);
		break;
	default:
		out->type = GREC_OTHER;
		return 0;
	}
	return r.err ? -SAMSA_ECORRUPT : 0;
}

int grec_parse_offset_value(const uint8_t *p, size_t len, struct grec_offset *out)
{
	struct preader r;
	preader_init(&r, p, len);
	int16_t version = pr_int16(&r);
	if (r.err || version < 0 || version > 4)
		return -SAMSA_ECORRUPT;
	bool flex = version >= 4;
	out->offset = pr_int64(&r);
	out->leader_epoch = version >= 3 ? pr_int32(&r) : -1;
	pr_string(&r, flex, false, &out->metadata);
	out->commit_timestamp = pr_int64(&r);
	if (version == 1)
		(void)pr_int64(&r); /* expire timestamp: the broker's retention rules instead */
	if (flex)
		pr_tags_skip(&r);
	return r.err ? -SAMSA_ECORRUPT : 0;
}

static const char *arena_cstr(struct arena *arena, struct kstr s)
{
	return kstr_dup(arena, s);
}

int grec_parse_group_value(const uint8_t *p, size_t len, struct arena *arena, struct grec_group *out)
{
	struct preader r;
	preader_init(&r, p, len);
	memset(out, 0, sizeof(*out));
	int16_t version = pr_int16(&r);
	if (r.err || version < 0 || version > 4)
		return -SAMSA_ECORRUPT;
	bool flex = version >= 4;
	struct kstr s;
	pr_string(&r, flex, false, &s);
	out->protocol_type = arena_cstr(arena, s);
	out->generation = pr_int32(&r);
	pr_string(&r, flex, true, &s);
	out->protocol = arena_cstr(arena, s);
	pr_string(&r, flex, true, &s);
	out->leader = arena_cstr(arena, s);
	out->state_timestamp = version >= 2 ? pr_int64(&r) : -1;
	int32_t n = pr_array(&r, flex, false, 8);
	if (r.err || n < 0)
		return -SAMSA_ECORRUPT;
	out->member_count = n;
	out->members = n ? arena_alloc(arena, sizeof(*out->members) * (size_t)n) : NULL;
	for (int32_t i = 0; i < n && !r.err; i++) {
		struct grec_member *m = &out->members[i];
		struct kbytes bytes;
		pr_string(&r, flex, false, &s);
		m->member_id = arena_cstr(arena, s);
		if (version >= 3) {
			pr_string(&r, flex, true, &s);
			m->instance_id = arena_cstr(arena, s);
		}
		pr_string(&r, flex, false, &s);
		m->client_id = arena_cstr(arena, s);
		pr_string(&r, flex, false, &s);
		m->client_host = arena_cstr(arena, s);
		m->rebalance_timeout_ms = -1;
		if (version >= 1)
			m->rebalance_timeout_ms = pr_int32(&r);
		m->session_timeout_ms = pr_int32(&r);
		if (version < 1)
			m->rebalance_timeout_ms = m->session_timeout_ms;
		pr_bytes(&r, flex, false, &bytes);
		m->subscription = bytes.ptr;
		m->subscription_len = bytes.len > 0 ? bytes.len : 0;
		pr_bytes(&r, flex, false, &bytes);
		m->assignment = bytes.ptr;
		m->assignment_len = bytes.len > 0 ? bytes.len : 0;
		if (flex)
			pr_tags_skip(&r);
	}
	if (flex)
		pr_tags_skip(&r);
	return r.err ? -SAMSA_ECORRUPT : 0;
}

/* ---- batches ---------------------------------------------------------------- */

void grec_batch_init(struct grec_batch *batch, int64_t timestamp)
{
	grec_buf_init(&batch->buf);
	batch->count = 0;
	batch->timestamp = timestamp;
	batch->producer_id = -1;
	batch->producer_epoch = -1;
	memset(buf_grow(&batch->buf, RECORDS_BATCH_HEADER_SIZE), 0, RECORDS_BATCH_HEADER_SIZE);
}

void grec_batch_set_producer(struct grec_batch *batch, int64_t producer_id, int16_t epoch)
{
	batch->producer_id = producer_id;
	batch->producer_epoch = epoch;
}

void grec_batch_fini(struct grec_batch *batch)
{
	grec_buf_fini(&batch->buf);
}

void grec_batch_add(struct grec_batch *batch, const struct grec_buf *key, const uint8_t *value, int32_t value_len)
{
	/* The body first, to know the record's length prefix. */
	struct grec_buf body;
	grec_buf_init(&body);
	*buf_grow(&body, 1) = 0;  /* attributes */
	put_varint(&body, 0);     /* timestamp delta */
	put_varint(&body, batch->count); /* offset delta */
	put_varint(&body, (int64_t)key->len);
	put_raw(&body, key->data, key->len);
	if (!value || value_len < 0) {
		put_varint(&body, -1);
	} else {
		put_varint(&body, value_len);
		put_raw(&body, value, (size_t)value_len);
	}
	put_varint(&body, 0); /* headers */
	put_varint(&batch->buf, (int64_t)body.len);
	put_raw(&batch->buf, body.data, body.len);
	grec_buf_fini(&body);
	batch->count++;
}

void grec_batch_finish(struct grec_batch *batch)
{
	uint8_t *h = batch->buf.data;
	int32_t n = batch->count;
	put_be(h + 0, 0, 8);                                  /* base offset */
	put_be(h + 8, (uint32_t)(batch->buf.len - RECORDS_LOG_OVERHEAD), 4);
	put_be(h + 12, 0, 4);                                 /* partition leader epoch */
	h[16] = 2;                                            /* magic */
	put_be(h + 21, batch->producer_id >= 0 ? RECORDS_ATTR_TRANSACTIONAL : 0, 2); /* attributes */
	put_be(h + 23, (uint32_t)(n > 0 ? n - 1 : 0), 4);     /* last offset delta */
	put_be(h + 27, (uint64_t)batch->timestamp, 8);
	put_be(h + 35, (uint64_t)batch->timestamp, 8);
	put_be(h + 43, (uint64_t)batch->producer_id, 8);
	put_be(h + 51, (uint16_t)batch->producer_epoch, 2);
	put_be(h + 53, (uint32_t)-1, 4);                      /* base sequence */
	put_be(h + 57, (uint32_t)n, 4);
	put_be(h + 17, crc32c(0, h + 21, batch->buf.len - 21), 4);
}

static int walk_records(const uint8_t *p, size_t len, const struct grec_batch_info *info, int64_t base_offset,
			int32_t count, grec_record_fn fn, void *arg)
{
	struct preader r;
	preader_init(&r, p, len);
	for (int32_t i = 0; i < count; i++) {
		int32_t rec_len = pr_varint(&r);
		if (r.err || rec_len < 0 || (size_t)rec_len > preader_remaining(&r))
			return -SAMSA_ECORRUPT;
		struct preader rec;
		preader_init(&rec, r.p, (size_t)rec_len);
		r.p += rec_len;
		(void)pr_int8(&rec);    /* attributes */
		(void)pr_varlong(&rec); /* timestamp delta */
		int32_t offset_delta = pr_varint(&rec);
		int32_t key_len = pr_varint(&rec);
		const uint8_t *key = NULL;
		if (key_len > 0)
			key = pr_raw(&rec, (size_t)key_len);
		int32_t value_len = pr_varint(&rec);
		const uint8_t *value = NULL;
		if (value_len > 0)
			value = pr_raw(&rec, (size_t)value_len);
		else if (value_len == 0)
			value = (const uint8_t *)"";
		if (rec.err || key_len < 0 || value_len < -1)
			return -SAMSA_ECORRUPT;
		int rc = fn(arg, info, key, key_len, value_len < 0 ? NULL : value, value_len, base_offset + offset_delta);
		if (rc)
			return rc;
	}
	return 0;
}

int grec_batches_foreach(const uint8_t *data, size_t len, grec_record_fn fn, void *arg, int *skipped)
{
	size_t pos = 0;
	while (pos + RECORDS_LOG_OVERHEAD <= len) {
		const uint8_t *b = data + pos;
		int32_t batch_length = (int32_t)((uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11]);
		if (batch_length < 0 || pos + RECORDS_LOG_OVERHEAD + (size_t)batch_length > len)
			return -SAMSA_ECORRUPT;
		size_t total = RECORDS_LOG_OVERHEAD + (size_t)batch_length;
		pos += total;
		if (total < RECORDS_BATCH_HEADER_SIZE || b[16] != 2) {
			if (skipped)
				(*skipped)++;
			continue;
		}
		struct records_batch_header hdr;
		records_header_parse(b, &hdr);
		if (hdr.attributes & RECORDS_ATTR_COMPRESSION_MASK) {
			if (skipped)
				(*skipped)++;
			continue;
		}
		struct grec_batch_info info = {
			.producer_id = hdr.producer_id,
			.transactional = (hdr.attributes & RECORDS_ATTR_TRANSACTIONAL) != 0,
			.control = (hdr.attributes & RECORDS_ATTR_CONTROL) != 0,
		};
		int rc = walk_records(b + RECORDS_BATCH_HEADER_SIZE, total - RECORDS_BATCH_HEADER_SIZE, &info,
				      hdr.base_offset, hdr.record_count, fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}

int64_t grec_batches_next_offset(const uint8_t *data, size_t len)
{
	int64_t next = -1;
	size_t pos = 0;
	while (pos + RECORDS_BATCH_HEADER_SIZE <= len) {
		struct records_batch_header hdr;
		records_header_parse(data + pos, &hdr);
		if (hdr.batch_length < 0 || pos + RECORDS_LOG_OVERHEAD + (size_t)hdr.batch_length > len)
			break;
		next = hdr.base_offset + hdr.last_offset_delta + 1;
		pos += RECORDS_LOG_OVERHEAD + (size_t)hdr.batch_length;
	}
	return next;
}

/* ---- partitioning ---------------------------------------------------------- */

int32_t grec_partition_for(const char *group_id, int32_t partitions)
{
	uint32_t h = 0;
	const uint8_t *s = (const uint8_t *)group_id;
	while (*s) {
		uint32_t cp;
		int extra;
		if (s[0] < 0x80) {
			cp = s[0];
			extra = 0;
		} else if ((s[0] & 0xe0) == 0xc0) {
			cp = s[0] & 0x1f;
			extra = 1;
		} else if ((s[0] & 0xf0) == 0xe0) {
			cp = s[0] & 0x0f;
			extra = 2;
		} else if ((s[0] & 0xf8) == 0xf0) {
			cp = s[0] & 0x07;
			extra = 3;
		} else {
			cp = 0xfffd;
			extra = -1;
		}
		int i = 1;
		for (; i <= extra; i++) {
			if ((s[i] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (extra < 0 || i <= extra) { /* malformed: one replacement char per byte, as Java decodes */
			cp = 0xfffd;
			i = 1;
		}
		s += i;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			h = 31 * h + (0xd800 + (cp >> 10));
			h = 31 * h + (0xdc00 + (cp & 0x3ff));
		} else {
			h = 31 * h + cp;
		}
	}
	int32_t v = (int32_t)h;
	int32_t a = v == INT32_MIN ? 0 : (v < 0 ? -v : v);
	return partitions > 0 ? a % partitions : 0;
}
