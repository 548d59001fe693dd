/* Legacy message sets (magic 0/1) to record batch v2 (see legacy.h).
 *
 * Old clients (Produce v0-v2: librdkafka with broker.version.fallback < 0.11,
 * kafka-python with api_version < 0.11, librdkafka <= 2.11 whenever it wants
 * to compress and the broker advertises Produce from v0) send message sets;
 * Samsa stores only v2 batches, byte for byte, so the produce path converts
 * them here, the way Kafka's LogValidator up-converts.
 *
 * One pass over the set: every message is checked (lengths against the bytes
 * left, its CRC-32, magic, key/value lengths filling the message exactly) and
 * each uncompressed one is encoded at once as a v2 record appended to a
 * growing buffer that keeps room for the 61-byte batch header in front. A
 * compressed wrapper is decompressed into a temporary buffer (bounded by what
 * is left of the request's inflate budget), its inner set parsed the same way
 * with nesting refused, and the buffer freed. When the set is done the records
 * are compressed with the input's codec (into a new buffer) or left in place,
 * the header written in front, the CRC-32C computed, and the result checked by
 * records_validate() as any produced batch would be.
 *
 * Memory: a v2 record takes no more bytes than the legacy message it came from
 * (at most 23 bytes of overhead against 26 for magic 0, whose timestamp delta
 * is 0; 32 against 34 for magic 1), so the records buffer is bounded by the
 * input plus the inflated bytes; the limit enforced adds the header and the
 * whole inflate budget, which absorbs the few bytes a message a set mixing
 * magic 0 and 1 could add. Error messages are formatted only on failure. */
#include "proto/legacy.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/xalloc.h"
#include "proto/compression.h"
#include "proto/records.h"

#define LEGACY_LOG_OVERHEAD 12   /* offset i64 + message_size i32 */
#define LEGACY_V0_HEADER 6       /* crc u32, magic i8, attributes i8 */
#define LEGACY_V1_HEADER 14      /* + timestamp i64 */
#define LEGACY_ATTR_CODEC 0x07
#define LEGACY_ATTR_LOG_APPEND_TIME 0x08

#define SET_ERR(errmsg, ...)                                                                   \
	do {                                                                                   \
		if (errmsg)                                                                    \
			err_printf(errmsg, __VA_ARGS__);                                       \
	} while (0)

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* Zigzag varint (Kafka's varint/varlong, protobuf's sint64). */
static inline uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline size_t varlong_size(int64_t v)
{
	uint64_t u = zigzag(v);
	size_t n = 1;
	while (u >= 0x80) {
		u >>= 7;
		n++;
	}
	return n;
}

/* ------------------------------------------------------------- conversion */

struct conv {
	/* The batch being built: RECORDS_BATCH_HEADER_SIZE bytes left for the
	 * header, then the v2 records, uncompressed. */
	uint8_t *buf;
	size_t len, cap;
	size_t limit; /* bound on len */
	int32_t count;
	int64_t base_ts, max_ts;
	int codec;           /* of the first compressed wrapper */
	size_t inflate_left; /* decompression budget left */
	char *errmsg;
};

/* The wrapper an inner set came from. */
struct wrapper {
	int index;
	size_t pos;
	int8_t magic;
	bool log_append_time;
	int64_t timestamp;
};

/* Where a message is, for error messages (formatted only on error). */
struct at {
	const struct wrapper *w; /* NULL at the top level */
	int index;
	size_t pos;
};

static int fail(struct conv *c, const struct at *at, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct conv *c, const struct at *at, int rc, const char *fmt, ...)
{
	if (!c->errmsg)
		return rc;
	int n;
	if (at->w)
		n = snprintf(c->errmsg, ERRMSG_SIZE,
			     "message %d at byte %zu, inner message %d at byte %zu: ", at->w->index,
			     at->w->pos, at->index, at->pos);
	else
		n = snprintf(c->errmsg, ERRMSG_SIZE, "message %d at byte %zu: ", at->index, at->pos);
	if (n >= 0 && n < ERRMSG_SIZE) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->errmsg + n, ERRMSG_SIZE - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int append_record(struct conv *c, const struct at *at, int64_t ts, const uint8_t *key,
			 int32_t klen, const uint8_t *value, int32_t vlen)
{
	if (c->count == INT32_MAX)
		return fail(c, at, -SAMSA_ECORRUPT, "more than %d messages", INT32_MAX);
	if (c->count == 0) {
		c->base_ts = ts;
		c->max_ts = ts;
	} else if (ts > c->max_ts) {
		c->max_ts = ts;
	}
	/* Wrapping subtraction: any int64 pair has a delta that decodes back. */
	int64_t delta = (int64_t)((uint64_t)ts - (uint64_t)c->base_ts);
	size_t body = 1 + varlong_size(delta) + varlong_size(c->count) + varlong_size(klen) +
		      (klen > 0 ? (size_t)klen : 0) + varlong_size(vlen) +
		      (vlen > 0 ? (size_t)vlen : 0) + 1;
	size_t total = varlong_size((int64_t)body) + body;
	if (body > INT32_MAX || total > c->limit - c->len)
		return fail(c, at, -SAMSA_ETOOLARGE, "converted records exceed %zu bytes",
			    c->limit);
	if (c->len + total > c->cap) {
		size_t cap = c->cap;
		while (cap < c->len + total)
			cap = cap > c->limit / 2 ? c->limit : cap * 2;
		c->buf = xrealloc(c->buf, cap);
		c->cap = cap;
	}
	uint8_t *p = c->buf + c->len;
	p += records_write_varlong(p, (int64_t)body);
	*p++ = 0; /* attributes */
	p += records_write_varlong(p, delta);
	p += records_write_varlong(p, c->count);
	p += records_write_varlong(p, klen);
	if (klen > 0) {
		memcpy(p, key, (size_t)klen);
		p += klen;
	}
	p += records_write_varlong(p, vlen);
	if (vlen > 0) {
		memcpy(p, value, (size_t)vlen);
		p += vlen;
	}
	*p++ = 0; /* header count */
	c->len += total;
	c->count++;
	return 0;
}

/* Reads an i32-length bytes field (-1 null) inside [*q, end). */
static bool read_bytes(const uint8_t **q, const uint8_t *end, const uint8_t **data,
		       int32_t *len)
{
	if (end - *q < 4)
		return false;
	int32_t n = (int32_t)be32(*q);
	*q += 4;
	if (n < -1 || (n > 0 && (size_t)(end - *q) < (size_t)n))
		return false;
	*data = *q;
	*len = n;
	if (n > 0)
		*q += n;
	return true;
}

static int parse_set(struct conv *c, const uint8_t *data, size_t len, const struct wrapper *w);

static int inflate_wrapper(struct conv *c, const struct at *at, const struct wrapper *iw,
			   int codec, const uint8_t *value, int32_t vlen)
{
	char zerr[ERRMSG_SIZE];
	uint8_t *inner;
	size_t inner_len;
	/* Magic 0 lz4 may carry the KAFKA-3160 header checksum. */
	unsigned flags = iw->magic == 0 ? COMPRESSION_F_LZ4_KAFKA3160 : 0;
	int rc = compression_decompress_ex(codec, flags, value, (size_t)vlen, c->inflate_left,
					   &inner, &inner_len, zerr);
	if (rc == -SAMSA_ETOOLARGE)
		return fail(c, at, rc, "%s payload decompresses past the limit of %zu bytes",
			    compression_name(codec), c->inflate_left);
	if (rc < 0)
		return fail(c, at, rc == -ENOMEM ? rc : -SAMSA_ECORRUPT,
			    "%s payload does not decompress: %.100s", compression_name(codec), zerr);
	c->inflate_left -= inner_len;
	if (c->codec == COMPRESSION_NONE)
		c->codec = codec;
	int32_t before = c->count;
	rc = parse_set(c, inner, inner_len, iw);
	free(inner);
	if (rc == 0 && c->count == before)
		rc = fail(c, at, -SAMSA_ECORRUPT, "compressed message holds no messages");
	return rc;
}

static int parse_set(struct conv *c, const uint8_t *data, size_t len, const struct wrapper *w)
{
	struct at at = {.w = w};
	for (size_t pos = 0; pos < len; at.index++) {
		at.pos = pos;
		size_t left = len - pos;
		if (left < LEGACY_LOG_OVERHEAD)
			return fail(c, &at, -SAMSA_ECORRUPT,
				    "partial message (%zu bytes left, need %d)", left,
				    LEGACY_LOG_OVERHEAD);
		int32_t size = (int32_t)be32(data + pos + 8);
		if (size < LEGACY_V0_HEADER + 8)
			return fail(c, &at, -SAMSA_ECORRUPT, "message_size %d below the minimum of %d",
				    size, LEGACY_V0_HEADER + 8);
		if ((size_t)size > left - LEGACY_LOG_OVERHEAD)
			return fail(c, &at, -SAMSA_ECORRUPT,
				    "partial message (message_size %d, %zu bytes left)", size,
				    left - LEGACY_LOG_OVERHEAD);
		const uint8_t *m = data + pos + LEGACY_LOG_OVERHEAD;
		const uint8_t *end = m + size;
		int8_t magic = (int8_t)m[4];
		uint8_t attr = m[5];
		if (magic != 0 && magic != 1)
			return fail(c, &at, -SAMSA_ECORRUPT, "bad magic %d", magic);
		size_t hdr = magic == 1 ? LEGACY_V1_HEADER : LEGACY_V0_HEADER;
		if ((size_t)size < hdr + 8)
			return fail(c, &at, -SAMSA_ECORRUPT,
				    "message_size %d below the minimum of %zu for magic %d", size,
				    hdr + 8, magic);
		uint32_t stored = be32(m);
		uint32_t crc = (uint32_t)crc32_z(0, m + 4, (size_t)size - 4);
		if (crc != stored)
			return fail(c, &at, -SAMSA_ECORRUPT,
				    "CRC mismatch (stored 0x%08x, computed 0x%08x)", stored, crc);
		int64_t ts = magic == 1 ? (int64_t)be64(m + 6) : -1;
		const uint8_t *q = m + hdr, *key = NULL, *value = NULL;
		int32_t klen = -1, vlen = -1;
		if (!read_bytes(&q, end, &key, &klen))
			return fail(c, &at, -SAMSA_ECORRUPT, "key length does not fit the message");
		if (!read_bytes(&q, end, &value, &vlen))
			return fail(c, &at, -SAMSA_ECORRUPT, "value length does not fit the message");
		if (q != end)
			return fail(c, &at, -SAMSA_ECORRUPT, "%zu bytes after the value",
				    (size_t)(end - q));
		if (w && magic != w->magic)
			return fail(c, &at, -SAMSA_ECORRUPT,
				    "magic %d inside a magic %d compressed message", magic, w->magic);
		int codec = attr & LEGACY_ATTR_CODEC;
		if (codec > COMPRESSION_MAX)
			return fail(c, &at, -SAMSA_ECORRUPT, "unknown compression codec %d", codec);
		int rc;
		if (codec != COMPRESSION_NONE) {
			if (w)
				return fail(c, &at, -SAMSA_ECORRUPT,
					    "nested compression (%s inside a compressed message)",
					    compression_name(codec));
			if (codec == COMPRESSION_ZSTD)
				return fail(c, &at, -ENOTSUP,
					    "zstd needs magic 2, message has magic %d", magic);
			if (vlen < 0)
				return fail(c, &at, -SAMSA_ECORRUPT,
					    "compressed message with a null value");
			struct wrapper iw = {
				.index = at.index,
				.pos = pos,
				.magic = magic,
				.log_append_time = magic == 1 && (attr & LEGACY_ATTR_LOG_APPEND_TIME),
				.timestamp = ts,
			};
			rc = inflate_wrapper(c, &at, &iw, codec, value, vlen);
		} else {
			/* Under a LogAppendTime wrapper, the wrapper's time is the
			 * time of every inner message. */
			if (w && w->log_append_time)
				ts = w->timestamp;
			rc = append_record(c, &at, ts, key, klen, value, vlen);
		}
		if (rc < 0)
			return rc;
		pos += LEGACY_LOG_OVERHEAD + (size_t)size;
	}
	return 0;
}

/* Fills in the v2 header at b, in front of total - 61 bytes of payload. */
static void write_header(const struct conv *c, uint8_t *b, size_t total)
{
	put_be64(b, 0);                                            /* baseOffset */
	put_be32(b + 8, (uint32_t)(total - RECORDS_LOG_OVERHEAD)); /* batchLength */
	put_be32(b + 12, (uint32_t)-1);                            /* partitionLeaderEpoch */
	b[16] = 2;                                                 /* magic */
	put_be16(b + 21, (uint16_t)c->codec);                      /* attributes: CreateTime */
	put_be32(b + 23, (uint32_t)(c->count - 1));                /* lastOffsetDelta */
	put_be64(b + 27, (uint64_t)c->base_ts);                    /* baseTimestamp */
	put_be64(b + 35, (uint64_t)c->max_ts);                     /* maxTimestamp */
	put_be64(b + 43, (uint64_t)-1);                            /* producerId */
	put_be16(b + 51, (uint16_t)-1);                            /* producerEpoch */
	put_be32(b + 53, (uint32_t)-1);                            /* baseSequence */
	put_be32(b + 57, (uint32_t)c->count);                      /* records count */
	put_be32(b + 17, crc32c(0, b + 21, total - 21));           /* crc */
}

int legacy_to_v2(const uint8_t *in, size_t len, int32_t max_batch_bytes, uint8_t **out,
		 size_t *out_len, int32_t *record_count, char errmsg[ERRMSG_SIZE])
{
	*out = NULL;
	*out_len = 0;
	*record_count = 0;
	if (errmsg)
		errmsg[0] = '\0';
	if (len == 0) {
		SET_ERR(errmsg, "empty message set");
		return -SAMSA_ECORRUPT;
	}
	struct conv c = {
		.base_ts = -1,
		.max_ts = -1,
		.codec = COMPRESSION_NONE,
		.errmsg = errmsg,
	};
	c.inflate_left = LEGACY_MAX_INFLATE;
	if (max_batch_bytes > 0 && (size_t)max_batch_bytes * 4 > c.inflate_left)
		c.inflate_left = (size_t)max_batch_bytes * 4;
	/* Records never outgrow the messages they come from (see the top). */
	size_t room = c.inflate_left + RECORDS_BATCH_HEADER_SIZE;
	c.limit = len > SIZE_MAX - room ? SIZE_MAX : len + room;
	/* Enough for an uncompressed set in one allocation. */
	c.cap = len < 4096 ? 4096 : len + RECORDS_BATCH_HEADER_SIZE;
	c.buf = xmalloc(c.cap);
	c.len = RECORDS_BATCH_HEADER_SIZE;

	uint8_t *batch = NULL, *z = NULL;
	size_t total = 0;
	int rc = parse_set(&c, in, len, NULL);
	if (rc < 0)
		goto done;

	size_t plen = c.len - RECORDS_BATCH_HEADER_SIZE;
	if (c.codec != COMPRESSION_NONE) {
		char zerr[ERRMSG_SIZE];
		rc = compression_compress(c.codec, c.buf + RECORDS_BATCH_HEADER_SIZE, plen, &z,
					  &plen, zerr);
		if (rc < 0) {
			SET_ERR(errmsg, "re-compressing %d records with %s failed: %.180s", c.count,
				compression_name(c.codec), zerr);
			goto done;
		}
	}
	total = RECORDS_BATCH_HEADER_SIZE + plen;
	if (total - RECORDS_LOG_OVERHEAD > INT32_MAX ||
	    (max_batch_bytes > 0 && total > (size_t)max_batch_bytes)) {
		SET_ERR(errmsg, "converted batch of %d records is %zu bytes, over the limit of %d",
			c.count, total, max_batch_bytes > 0 ? max_batch_bytes : INT32_MAX);
		rc = -SAMSA_ETOOLARGE;
		goto done;
	}
	if (z) {
		batch = xmalloc(total);
		memcpy(batch + RECORDS_BATCH_HEADER_SIZE, z, plen);
	} else {
		batch = c.buf; /* header space was kept in front */
		c.buf = NULL;
	}
	write_header(&c, batch, total);

	/* The same checks as any produced batch: a conversion bug must not
	 * reach the log. */
	struct records_info info;
	char verr[ERRMSG_SIZE];
	rc = records_validate(batch, total, max_batch_bytes, &info, verr);
	if (rc == 0 && info.record_count != c.count) {
		snprintf(verr, sizeof(verr), "record count %d, converted %d", info.record_count,
			 c.count);
		rc = -SAMSA_ECORRUPT;
	}
	if (rc < 0) {
		SET_ERR(errmsg, "converted batch fails validation: %.200s", verr);
		free(batch);
		goto done;
	}
	*out = batch;
	*out_len = total;
	*record_count = c.count;
done:
	free(z);
	free(c.buf);
	return rc;
}
