/* Building and walking record batches v2 record by record; see batch.h. */
#include "proto/batch.h"

#include <string.h>

#include "base/err.h"
#include "proto/reader.h"
#include "proto/records.h"

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void put_varint(struct bytebuf *b, int64_t v)
{
	uint8_t tmp[10];
	bytebuf_append(b, tmp, records_write_varlong(tmp, v));
}

void batch_builder_init(struct batch_builder *b, int64_t timestamp)
{
	bytebuf_init(&b->buf);
	b->count = 0;
	b->timestamp = timestamp;
	b->producer_id = -1;
	b->producer_epoch = -1;
	memset(bytebuf_grow(&b->buf, RECORDS_BATCH_HEADER_SIZE), 0, RECORDS_BATCH_HEADER_SIZE);
}

void batch_builder_set_producer(struct batch_builder *b, int64_t producer_id, int16_t epoch)
{
	b->producer_id = producer_id;
	b->producer_epoch = epoch;
}

void batch_builder_fini(struct batch_builder *b)
{
	bytebuf_fini(&b->buf);
}

void batch_builder_add(struct batch_builder *b, const uint8_t *key, size_t key_len, const uint8_t *value,
		       int32_t value_len)
{
	/* The body first, to know the record's length prefix. */
	struct bytebuf body;
	bytebuf_init(&body);
	*bytebuf_grow(&body, 1) = 0; /* attributes */
	put_varint(&body, 0);        /* timestamp delta */
	put_varint(&body, b->count); /* offset delta */
	put_varint(&body, (int64_t)key_len);
	bytebuf_append(&body, key, key_len);
	if (!value || value_len < 0) {
		put_varint(&body, -1);
	} else {
		put_varint(&body, value_len);
		bytebuf_append(&body, value, (size_t)value_len);
	}
	put_varint(&body, 0); /* headers */
	put_varint(&b->buf, (int64_t)body.len);
	bytebuf_append(&b->buf, body.data, body.len);
	bytebuf_fini(&body);
	b->count++;
}

void batch_builder_finish(struct batch_builder *b)
{
	uint8_t *h = b->buf.data;
	int32_t n = b->count;
	put_be(h + 0, 0, 8);                              /* base offset */
	put_be(h + 8, (uint32_t)(b->buf.len - RECORDS_LOG_OVERHEAD), 4);
	put_be(h + 12, 0, 4);                             /* partition leader epoch */
	h[16] = 2;                                        /* magic */
	put_be(h + 21, b->producer_id >= 0 ? RECORDS_ATTR_TRANSACTIONAL : 0, 2); /* attributes */
	put_be(h + 23, (uint32_t)(n > 0 ? n - 1 : 0), 4); /* last offset delta */
	put_be(h + 27, (uint64_t)b->timestamp, 8);
	put_be(h + 35, (uint64_t)b->timestamp, 8);
	put_be(h + 43, (uint64_t)b->producer_id, 8);
	put_be(h + 51, (uint16_t)b->producer_epoch, 2);
	put_be(h + 53, (uint32_t)-1, 4);                  /* base sequence */
	put_be(h + 57, (uint32_t)n, 4);
	put_be(h + 17, crc32c(0, h + 21, b->buf.len - 21), 4);
}

static int walk_records(const uint8_t *p, size_t len, const struct batch_info *info, int64_t base_offset,
			int32_t count, batch_record_fn fn, void *arg)
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

int batches_foreach_record(const uint8_t *data, size_t len, batch_record_fn fn, void *arg, int *skipped)
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
		struct batch_info info = {
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

int64_t batches_next_offset(const uint8_t *data, size_t len)
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
