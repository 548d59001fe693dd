/* Legacy message sets (magic 0/1) converted to record batch v2: synthetic sets
 * of every shape (uncompressed, gzip/snappy/lz4 wrappers, KAFKA-3160 lz4,
 * LogAppendTime wrappers, several wrappers in one set), real client frames
 * (kafka-python 2.0.2 and librdkafka 2.0.2 Produce v0-v2), and rejection of
 * corrupt CRCs, truncation, nested compression, bombs and oversize batches.
 *
 * The converted batch is decoded here by hand (header fields, CRC-32C,
 * decompression, varint records) and compared with the input messages, which
 * a separate, simpler walker in this file reads from the legacy bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "proto/compression.h"
#include "proto/legacy.h"
#include "proto/records.h"

uint32_t compression_xxh32(const void *data, size_t len, uint32_t seed);

#define VEC_DIR "tests/vectors/legacy/"

/* ------------------------------------------------------------ byte helpers */

struct bld {
	uint8_t *p;
	size_t len, cap;
};

static void b_put(struct bld *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void b_be(struct bld *b, uint64_t v, int bytes)
{
	uint8_t tmp[8];
	for (int i = 0; i < bytes; i++)
		tmp[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	b_put(b, tmp, (size_t)bytes);
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static void set_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* One legacy message: offset, size, crc, magic, attributes, [ts], key, value. */
static void put_msg(struct bld *b, int64_t offset, int8_t magic, uint8_t attr, int64_t ts,
		    const void *key, int32_t klen, const void *val, int32_t vlen)
{
	size_t start = b->len;
	b_be(b, (uint64_t)offset, 8);
	b_be(b, 0, 4); /* size, patched */
	b_be(b, 0, 4); /* crc, patched */
	b_be(b, (uint8_t)magic, 1);
	b_be(b, attr, 1);
	if (magic == 1)
		b_be(b, (uint64_t)ts, 8);
	b_be(b, (uint32_t)klen, 4);
	if (klen > 0)
		b_put(b, key, (size_t)klen);
	b_be(b, (uint32_t)vlen, 4);
	if (vlen > 0)
		b_put(b, val, (size_t)vlen);
	uint8_t *m = b->p + start + 12;
	size_t size = b->len - start - 12;
	set_be(b->p + start + 8, size, 4);
	set_be(m, crc32(0, m + 4, (uInt)(size - 4)), 4);
}

/* Recomputes the CRC of the message at byte off of b. */
static void fix_crc(uint8_t *set, size_t off)
{
	uint8_t *m = set + off + 12;
	size_t size = (size_t)get_be(set + off + 8, 4);
	set_be(m, crc32(0, m + 4, (uInt)(size - 4)), 4);
}

/* A compressed wrapper holding inner (a message set). Magic 0 lz4 gets the
 * KAFKA-3160 header checksum, as pre-0.10 clients wrote it. */
static void put_wrapper(struct bld *b, int64_t offset, int8_t magic, int codec, uint8_t extra,
			int64_t ts, const struct bld *inner)
{
	uint8_t *z;
	size_t zlen;
	char err[ERRMSG_SIZE];
	assert_int_equal(compression_compress(codec, inner->p, inner->len, &z, &zlen, err), 0);
	if (magic == 0 && codec == COMPRESSION_LZ4) {
		assert_true(zlen > 7 && z[4] == 0x60);
		z[6] = (uint8_t)(compression_xxh32(z, 6, 0) >> 8);
	}
	put_msg(b, offset, magic, (uint8_t)(codec | extra), ts, NULL, -1, z, (int32_t)zlen);
	free(z);
}

/* ------------------------------------------------- expected: legacy walker */

struct emsg {
	int64_t ts;
	int32_t klen, vlen;
	const uint8_t *key, *value;
};

struct expect {
	struct emsg *m;
	size_t n, cap;
	uint8_t *bufs[64];
	int nbufs;
	int codec;  /* first compressed wrapper's */
	int8_t magic;
};

static void expect_free(struct expect *e)
{
	for (int i = 0; i < e->nbufs; i++)
		free(e->bufs[i]);
	free(e->m);
	memset(e, 0, sizeof(*e));
}

/* Reads a valid legacy set (asserting it is valid) into e. */
static void walk_legacy(struct expect *e, const uint8_t *p, size_t len, bool inner,
			bool lat, int64_t wts)
{
	size_t pos = 0;
	while (pos < len) {
		assert_true(len - pos >= 12);
		size_t size = (size_t)get_be(p + pos + 8, 4);
		assert_true(size <= len - pos - 12);
		const uint8_t *m = p + pos + 12;
		assert_int_equal(get_be(m, 4), crc32(0, m + 4, (uInt)(size - 4)));
		int8_t magic = (int8_t)m[4];
		uint8_t attr = m[5];
		e->magic = magic;
		size_t q = magic == 1 ? 14 : 6;
		int64_t ts = magic == 1 ? (int64_t)get_be(m + 6, 8) : -1;
		int32_t klen = (int32_t)get_be(m + q, 4);
		q += 4;
		const uint8_t *key = m + q;
		q += klen > 0 ? (size_t)klen : 0;
		int32_t vlen = (int32_t)get_be(m + q, 4);
		q += 4;
		const uint8_t *value = m + q;
		q += vlen > 0 ? (size_t)vlen : 0;
		assert_int_equal(q, size);
		int codec = attr & 7;
		if (codec) {
			assert_false(inner);
			uint8_t *u;
			size_t ulen;
			char err[ERRMSG_SIZE];
			int rc = compression_decompress_ex(codec, COMPRESSION_F_LZ4_KAFKA3160, value,
							   (size_t)vlen, (size_t)1 << 26, &u, &ulen,
							   err);
			if (rc)
				fail_msg("expected-side decompress: %s", err);
			assert_true(e->nbufs < 64);
			e->bufs[e->nbufs++] = u;
			if (!e->codec)
				e->codec = codec;
			walk_legacy(e, u, ulen, true, magic == 1 && (attr & 8), ts);
		} else {
			if (e->n == e->cap) {
				e->cap = e->cap ? e->cap * 2 : 16;
				e->m = realloc(e->m, e->cap * sizeof(*e->m));
			}
			e->m[e->n++] = (struct emsg){
				.ts = lat ? wts : ts,
				.klen = klen,
				.vlen = vlen,
				.key = key,
				.value = value,
			};
		}
		pos += 12 + size;
	}
}

/* ----------------------------------------------- actual: v2 batch decoder */

struct v2rec {
	int64_t ts;
	int32_t klen, vlen;
	const uint8_t *key, *value;
};

struct v2batch {
	struct records_batch_header hdr;
	uint8_t *plain; /* decompressed records (owned) */
	struct v2rec *r;
	int32_t n;
};

static int64_t rd_varlong(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		assert_true(*p < end);
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
	}
	fail_msg("varint too long");
	return 0;
}

static void decode_v2(struct v2batch *vb, const uint8_t *batch, size_t len)
{
	memset(vb, 0, sizeof(*vb));
	assert_true(len >= RECORDS_BATCH_HEADER_SIZE);
	records_header_parse(batch, &vb->hdr);
	const struct records_batch_header *h = &vb->hdr;
	assert_int_equal(h->base_offset, 0);
	assert_int_equal((size_t)h->batch_length + 12, len);
	assert_int_equal(h->partition_leader_epoch, -1);
	assert_int_equal(h->magic, 2);
	assert_int_equal(h->crc, crc32c(0, batch + 21, len - 21));
	assert_int_equal(h->attributes & ~7, 0); /* CreateTime, not transactional/control */
	assert_int_equal(h->producer_id, -1);
	assert_int_equal(h->producer_epoch, -1);
	assert_int_equal(h->base_sequence, -1);
	assert_int_equal(h->last_offset_delta, h->record_count - 1);
	int codec = h->attributes & 7;
	char err[ERRMSG_SIZE];
	size_t plen;
	int rc = compression_decompress(codec, batch + RECORDS_BATCH_HEADER_SIZE,
					len - RECORDS_BATCH_HEADER_SIZE, (size_t)1 << 28, &vb->plain,
					&plen, err);
	if (rc)
		fail_msg("decompress v2 payload: %s", err);
	const uint8_t *p = vb->plain, *end = p + plen;
	vb->n = h->record_count;
	vb->r = calloc((size_t)vb->n, sizeof(*vb->r));
	int64_t max_ts = INT64_MIN;
	for (int32_t i = 0; i < vb->n; i++) {
		int64_t rlen = rd_varlong(&p, end);
		assert_true(rlen > 0 && rlen <= end - p);
		const uint8_t *rend = p + rlen;
		assert_int_equal(*p++, 0); /* attributes */
		int64_t delta = rd_varlong(&p, rend);
		assert_int_equal(rd_varlong(&p, rend), i); /* offsetDelta */
		struct v2rec *r = &vb->r[i];
		r->ts = (int64_t)((uint64_t)h->base_timestamp + (uint64_t)delta);
		if (r->ts > max_ts)
			max_ts = r->ts;
		r->klen = (int32_t)rd_varlong(&p, rend);
		r->key = p;
		p += r->klen > 0 ? r->klen : 0;
		r->vlen = (int32_t)rd_varlong(&p, rend);
		r->value = p;
		p += r->vlen > 0 ? r->vlen : 0;
		assert_int_equal(rd_varlong(&p, rend), 0); /* headers */
		assert_ptr_equal(p, rend);
	}
	assert_ptr_equal(p, end);
	assert_int_equal(h->max_timestamp, max_ts);
	if (vb->n > 0)
		assert_int_equal(h->base_timestamp, vb->r[0].ts);
}

static void v2_free(struct v2batch *vb)
{
	free(vb->plain);
	free(vb->r);
}

static void assert_same(const struct expect *e, const struct v2batch *vb)
{
	assert_int_equal(vb->n, (int32_t)e->n);
	assert_int_equal(vb->hdr.attributes & 7, e->codec);
	for (size_t i = 0; i < e->n; i++) {
		const struct emsg *x = &e->m[i];
		const struct v2rec *r = &vb->r[i];
		assert_int_equal(r->ts, x->ts);
		assert_int_equal(r->klen, x->klen < 0 ? -1 : x->klen);
		assert_int_equal(r->vlen, x->vlen < 0 ? -1 : x->vlen);
		if (x->klen > 0)
			assert_memory_equal(r->key, x->key, (size_t)x->klen);
		if (x->vlen > 0)
			assert_memory_equal(r->value, x->value, (size_t)x->vlen);
	}
}

/* Converts set, checks it against the walker's reading, returns the batch. */
static void convert_check(const uint8_t *set, size_t len, struct v2batch *vb, uint8_t **batch,
			  size_t *blen)
{
	char err[ERRMSG_SIZE];
	int32_t count = -5;
	int rc = legacy_to_v2(set, len, 0, batch, blen, &count, err);
	if (rc)
		fail_msg("legacy_to_v2: %d %s", rc, err);
	struct records_info info;
	assert_int_equal(records_validate(*batch, *blen, 0, &info, err), 0);
	assert_int_equal(info.record_count, count);
	assert_int_equal(info.batch_count, 1);
	decode_v2(vb, *batch, *blen);
	struct expect e = {0};
	walk_legacy(&e, set, len, false, false, 0);
	assert_int_equal(count, (int32_t)e.n);
	assert_same(&e, vb);
	expect_free(&e);
}

/* ---------------------------------------------------------- synthetic sets */

struct tmsg {
	const char *key; /* NULL: null */
	const char *value;
	int64_t ts;
};

static const struct tmsg tmsgs[] = {
	{"k0", "value zero", 1700000000000LL},
	{NULL, "null key", 1700000000005LL},
	{"k2", NULL, 1699999999000LL}, /* tombstone, earlier timestamp */
	{"", "", 1700000000001LL},     /* empty, not null */
	{"k4", "the quick brown fox jumps over the lazy dog, the quick brown fox jumps", 1700000001000LL},
};
#define NT (sizeof(tmsgs) / sizeof(tmsgs[0]))

static int32_t slen(const char *s)
{
	return s ? (int32_t)strlen(s) : -1;
}

/* tmsgs as a set of uncompressed messages of magic (offsets 0..n-1). */
static void put_tmsgs(struct bld *b, int8_t magic, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		put_msg(b, (int64_t)(i - from), magic, 0, tmsgs[i].ts, tmsgs[i].key,
			slen(tmsgs[i].key), tmsgs[i].value, slen(tmsgs[i].value));
}

static void check_tmsgs(const struct v2batch *vb, int8_t magic, int codec)
{
	assert_int_equal(vb->n, NT);
	assert_int_equal(vb->hdr.attributes, codec);
	for (size_t i = 0; i < NT; i++) {
		const struct v2rec *r = &vb->r[i];
		assert_int_equal(r->ts, magic == 1 ? tmsgs[i].ts : -1);
		assert_int_equal(r->klen, slen(tmsgs[i].key));
		assert_int_equal(r->vlen, slen(tmsgs[i].value));
		if (r->klen > 0)
			assert_memory_equal(r->key, tmsgs[i].key, (size_t)r->klen);
		if (r->vlen > 0)
			assert_memory_equal(r->value, tmsgs[i].value, (size_t)r->vlen);
	}
	if (magic == 0) {
		assert_int_equal(vb->hdr.base_timestamp, -1);
		assert_int_equal(vb->hdr.max_timestamp, -1);
	} else {
		assert_int_equal(vb->hdr.base_timestamp, tmsgs[0].ts);
		assert_int_equal(vb->hdr.max_timestamp, 1700000001000LL);
	}
}

static void test_uncompressed(void **state)
{
	(void)state;
	for (int8_t magic = 0; magic <= 1; magic++) {
		struct bld b = {0};
		put_tmsgs(&b, magic, 0, NT);
		struct v2batch vb;
		uint8_t *batch;
		size_t blen;
		convert_check(b.p, b.len, &vb, &batch, &blen);
		check_tmsgs(&vb, magic, 0);
		v2_free(&vb);
		free(batch);
		free(b.p);
	}
}

static void test_compressed(void **state)
{
	(void)state;
	static const int zc[] = {COMPRESSION_GZIP, COMPRESSION_SNAPPY, COMPRESSION_LZ4};
	for (int8_t magic = 0; magic <= 1; magic++) {
		for (size_t c = 0; c < 3; c++) {
			struct bld inner = {0}, b = {0};
			put_tmsgs(&inner, magic, 0, NT);
			put_wrapper(&b, NT - 1, magic, zc[c], 0, 1700000001000LL, &inner);
			struct v2batch vb;
			uint8_t *batch;
			size_t blen;
			convert_check(b.p, b.len, &vb, &batch, &blen);
			check_tmsgs(&vb, magic, zc[c]);
			v2_free(&vb);
			free(batch);
			free(inner.p);
			free(b.p);
		}
	}
}

/* Magic 0 lz4 with the correct header checksum is fine too; magic 1 lz4 with
 * the KAFKA-3160 one is not (Kafka fixed it with magic 1). */
static void test_lz4_header_checksums(void **state)
{
	(void)state;
	struct bld inner = {0}, b = {0};
	put_tmsgs(&inner, 1, 0, NT);
	put_wrapper(&b, NT - 1, 1, COMPRESSION_LZ4, 0, 0, &inner);
	/* Value starts after offset 8, size 4, crc 4, magic, attr, ts 8, key 4,
	 * value length 4. */
	uint8_t *z = b.p + 12 + 4 + 2 + 8 + 4 + 4;
	assert_int_equal(get_be(z, 4), 0x04224D18);
	z[6] = (uint8_t)(compression_xxh32(z, 6, 0) >> 8);
	fix_crc(b.p, 0);
	uint8_t *out;
	size_t olen;
	int32_t n;
	char err[ERRMSG_SIZE];
	assert_int_equal(legacy_to_v2(b.p, b.len, 0, &out, &olen, &n, err), -SAMSA_ECORRUPT);
	assert_non_null(strstr(err, "lz4"));
	assert_null(out);
	free(b.p);
	free(inner.p);

	/* magic 0 with a correct HC */
	memset(&b, 0, sizeof(b));
	memset(&inner, 0, sizeof(inner));
	put_tmsgs(&inner, 0, 0, NT);
	uint8_t *zz;
	size_t zlen;
	assert_int_equal(compression_compress(COMPRESSION_LZ4, inner.p, inner.len, &zz, &zlen, err),
			 0);
	put_msg(&b, 0, 0, COMPRESSION_LZ4, 0, NULL, -1, zz, (int32_t)zlen);
	struct v2batch vb;
	convert_check(b.p, b.len, &vb, &out, &olen);
	check_tmsgs(&vb, 0, COMPRESSION_LZ4);
	v2_free(&vb);
	free(out);
	free(zz);
	free(b.p);
	free(inner.p);
}

/* Several wrappers and plain messages in one set keep their order; the batch
 * takes the first wrapper's codec. A LogAppendTime wrapper's timestamp
 * replaces its inner messages'. */
static void test_mixed_set(void **state)
{
	(void)state;
	struct bld a = {0}, c = {0}, b = {0};
	put_tmsgs(&a, 1, 0, 2);
	put_tmsgs(&c, 1, 3, NT);
	put_wrapper(&b, 1, 1, COMPRESSION_SNAPPY, 0, 1700000000005LL, &a);
	put_msg(&b, 2, 1, 0, tmsgs[2].ts, tmsgs[2].key, slen(tmsgs[2].key), tmsgs[2].value,
		slen(tmsgs[2].value));
	put_wrapper(&b, 4, 1, COMPRESSION_GZIP, 0x08, 1800000000000LL, &c);
	struct v2batch vb;
	uint8_t *out;
	size_t olen;
	convert_check(b.p, b.len, &vb, &out, &olen);
	assert_int_equal(vb.n, NT);
	assert_int_equal(vb.hdr.attributes, COMPRESSION_SNAPPY);
	for (size_t i = 0; i < NT; i++) {
		assert_int_equal(vb.r[i].vlen, slen(tmsgs[i].value));
		assert_int_equal(vb.r[i].ts, i < 3 ? tmsgs[i].ts : 1800000000000LL);
	}
	assert_int_equal(vb.hdr.max_timestamp, 1800000000000LL);
	v2_free(&vb);
	free(out);
	free(a.p);
	free(c.p);
	free(b.p);
}

static int convert_rc(const uint8_t *p, size_t len, int32_t max, char err[ERRMSG_SIZE])
{
	uint8_t *out = (uint8_t *)1;
	size_t olen = 9;
	int32_t n = 9;
	int rc = legacy_to_v2(p, len, max, &out, &olen, &n, err);
	if (rc == 0) {
		assert_true(olen > RECORDS_BATCH_HEADER_SIZE);
		assert_int_equal(records_validate(out, olen, max, NULL, NULL), 0);
		free(out);
	} else {
		assert_null(out);
		assert_int_equal(olen, 0);
		assert_int_equal(n, 0);
		assert_true(err[0] != '\0');
	}
	return rc;
}

static void expect_corrupt(const uint8_t *p, size_t len, const char *needle)
{
	char err[ERRMSG_SIZE];
	int rc = convert_rc(p, len, 0, err);
	if (rc != -SAMSA_ECORRUPT)
		fail_msg("expected ECORRUPT (%s), got %d: %s", needle, rc, err);
	if (needle && !strstr(err, needle))
		fail_msg("errmsg \"%s\" lacks \"%s\"", err, needle);
}

static void test_rejects(void **state)
{
	(void)state;
	char err[ERRMSG_SIZE];
	struct bld b = {0};
	put_tmsgs(&b, 1, 0, NT);

	/* Empty set. */
	expect_corrupt(b.p, 0, "empty");
	/* Every truncation (a partial last message). */
	for (size_t cut = 1; cut < b.len; cut++) {
		size_t pos = 0;
		bool boundary = false;
		while (pos < cut) {
			pos += 12 + (size_t)get_be(b.p + pos + 8, 4);
			if (pos == cut)
				boundary = true;
		}
		if (boundary)
			assert_int_equal(convert_rc(b.p, cut, 0, err), 0);
		else
			expect_corrupt(b.p, cut, "partial message");
	}
	/* A flipped value byte: CRC mismatch. */
	b.p[b.len - 3] ^= 0x20;
	expect_corrupt(b.p, b.len, "CRC mismatch");
	b.p[b.len - 3] ^= 0x20;
	/* Key length past the message (CRC fixed so it is the length that is
	 * caught). */
	set_be(b.p + 12 + 4 + 2 + 8, 1000, 4);
	fix_crc(b.p, 0);
	expect_corrupt(b.p, b.len, "key length");
	set_be(b.p + 12 + 4 + 2 + 8, (uint32_t)-2, 4);
	fix_crc(b.p, 0);
	expect_corrupt(b.p, b.len, "key length");
	set_be(b.p + 12 + 4 + 2 + 8, 2, 4);
	fix_crc(b.p, 0);
	assert_int_equal(convert_rc(b.p, b.len, 0, err), 0);
	/* Bad magic. */
	b.p[12 + 4] = 2;
	fix_crc(b.p, 0);
	expect_corrupt(b.p, b.len, "magic");
	b.p[12 + 4] = 1;
	/* Unknown codec. */
	b.p[12 + 5] = 5;
	fix_crc(b.p, 0);
	expect_corrupt(b.p, b.len, "codec");
	b.p[12 + 5] = 0;
	fix_crc(b.p, 0);
	/* message_size too small, and too small for magic 1. */
	set_be(b.p + 8, 10, 4);
	expect_corrupt(b.p, b.len, "message_size");
	set_be(b.p + 8, 20, 4);
	expect_corrupt(b.p, b.len, "message_size");
	free(b.p);

	/* Bytes after the value inside message_size. */
	memset(&b, 0, sizeof(b));
	put_msg(&b, 0, 0, 0, 0, "k", 1, "v", 1);
	b_put(&b, "xy", 2);
	set_be(b.p + 8, get_be(b.p + 8, 4) + 2, 4);
	fix_crc(b.p, 0);
	expect_corrupt(b.p, b.len, "after the value");
	free(b.p);

	/* Nested compression. */
	struct bld in1 = {0}, in2 = {0};
	memset(&b, 0, sizeof(b));
	put_tmsgs(&in1, 1, 0, 2);
	put_wrapper(&in2, 0, 1, COMPRESSION_GZIP, 0, 0, &in1);
	put_wrapper(&b, 0, 1, COMPRESSION_SNAPPY, 0, 0, &in2);
	expect_corrupt(b.p, b.len, "nested");
	free(b.p);
	free(in2.p);

	/* Inner magic differs from the wrapper's. */
	memset(&b, 0, sizeof(b));
	put_wrapper(&b, 0, 0, COMPRESSION_GZIP, 0, 0, &in1);
	expect_corrupt(b.p, b.len, "magic 1 inside a magic 0");
	free(b.p);

	/* Inner set with a partial last message, and with a bad inner CRC. */
	memset(&b, 0, sizeof(b));
	in1.len -= 3;
	put_wrapper(&b, 0, 1, COMPRESSION_LZ4, 0, 0, &in1);
	expect_corrupt(b.p, b.len, "inner message 1");
	in1.len += 3;
	free(b.p);
	memset(&b, 0, sizeof(b));
	in1.p[in1.len - 1] ^= 1;
	put_wrapper(&b, 0, 1, COMPRESSION_GZIP, 0, 0, &in1);
	expect_corrupt(b.p, b.len, "CRC mismatch");
	in1.p[in1.len - 1] ^= 1;
	free(b.p);

	/* Compressed payload that does not decompress (truncated gzip). */
	memset(&b, 0, sizeof(b));
	uint8_t *z;
	size_t zlen;
	assert_int_equal(compression_compress(COMPRESSION_GZIP, in1.p, in1.len, &z, &zlen, err), 0);
	put_msg(&b, 0, 1, COMPRESSION_GZIP, 0, NULL, -1, z, (int32_t)zlen - 4);
	expect_corrupt(b.p, b.len, "does not decompress");
	free(b.p);
	free(z);

	/* Wrapper with an empty inner set, and with a null value. */
	memset(&b, 0, sizeof(b));
	struct bld empty = {0};
	put_wrapper(&b, 0, 1, COMPRESSION_GZIP, 0, 0, &empty);
	expect_corrupt(b.p, b.len, "no messages");
	free(b.p);
	memset(&b, 0, sizeof(b));
	put_msg(&b, 0, 1, COMPRESSION_SNAPPY, 0, NULL, -1, NULL, -1);
	expect_corrupt(b.p, b.len, "null value");
	free(b.p);

	/* zstd needs magic 2. */
	memset(&b, 0, sizeof(b));
	put_wrapper(&b, 0, 1, COMPRESSION_ZSTD, 0, 0, &in1);
	assert_int_equal(convert_rc(b.p, b.len, 0, err), -ENOTSUP);
	assert_non_null(strstr(err, "zstd"));
	free(b.p);
	free(in1.p);

	/* errmsg may be NULL. */
	uint8_t *out;
	size_t olen;
	int32_t n;
	assert_int_equal(legacy_to_v2((const uint8_t *)"x", 1, 0, &out, &olen, &n, NULL),
			 -SAMSA_ECORRUPT);
}

static void test_size_limits(void **state)
{
	(void)state;
	char err[ERRMSG_SIZE];
	for (int gz = 0; gz <= 1; gz++) {
		struct bld inner = {0}, b = {0};
		put_tmsgs(&inner, 1, 0, NT);
		if (gz)
			put_wrapper(&b, 0, 1, COMPRESSION_GZIP, 0, 0, &inner);
		else
			put_tmsgs(&b, 1, 0, NT);
		uint8_t *out;
		size_t olen;
		int32_t n;
		assert_int_equal(legacy_to_v2(b.p, b.len, 0, &out, &olen, &n, err), 0);
		free(out);
		assert_int_equal(convert_rc(b.p, b.len, (int32_t)olen, err), 0);
		assert_int_equal(convert_rc(b.p, b.len, (int32_t)olen - 1, err), -SAMSA_ETOOLARGE);
		assert_non_null(strstr(err, "limit"));
		free(b.p);
		free(inner.p);
	}
}

/* A wrapper that inflates past the request's budget (64 MiB when
 * max_batch_bytes is small) fails with ETOOLARGE, without using that memory
 * for more than the budget. */
static void test_bomb(void **state)
{
	(void)state;
	size_t n = LEGACY_MAX_INFLATE + ((size_t)1 << 20);
	struct bld zeros = {0};
	zeros.p = calloc(1, n);
	zeros.len = zeros.cap = n;
	struct bld b = {0};
	put_wrapper(&b, 0, 1, COMPRESSION_GZIP, 0, 0, &zeros);
	free(zeros.p);
	assert_true(b.len < n / 100);
	char err[ERRMSG_SIZE];
	assert_int_equal(convert_rc(b.p, b.len, 1 << 20, err), -SAMSA_ETOOLARGE);
	assert_non_null(strstr(err, "decompresses past"));
	free(b.p);
}

/* ------------------------------------------------------- captured vectors */

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (tests run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc((size_t)n);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Walks a Produce v0-v2 request frame (size prefix, header v1, acks, timeout,
 * topics[name, partitions[index, records]]) to its first partition's records. */
static const uint8_t *produce_records(const uint8_t *f, size_t len, int16_t *version,
				      size_t *rlen)
{
	size_t p = 0;
	assert_true(len >= 14);
	assert_int_equal(get_be(f, 4), len - 4);
	p = 4;
	assert_int_equal(get_be(f + p, 2), 0); /* api key: Produce */
	*version = (int16_t)get_be(f + p + 2, 2);
	assert_true(*version >= 0 && *version <= 2);
	p += 8; /* api key, version, correlation id */
	int16_t cl = (int16_t)get_be(f + p, 2);
	p += 2 + (cl > 0 ? (size_t)cl : 0);
	p += 2 + 4; /* acks, timeout */
	assert_int_equal(get_be(f + p, 4), 1); /* one topic */
	p += 4;
	p += 2 + get_be(f + p, 2); /* topic name */
	assert_int_equal(get_be(f + p, 4), 1); /* one partition */
	p += 4 + 4; /* count, partition index */
	*rlen = (size_t)get_be(f + p, 4);
	p += 4;
	assert_int_equal(p + *rlen, len);
	return f + p;
}

struct vec {
	const char *file;
	int8_t magic;
	int codec;
	int32_t count;
	const char *first_key, *first_value; /* NULL: null */
	const char *last_key, *last_value;
};

static const struct vec vecs[] = {
	{"kafka-python-2.0.2/Produce-v0-000.bin", 0, 0, 10, "k0", "value-0", "k0", "value-9"},
	{"kafka-python-2.0.2/Produce-v0-001.bin", 0, 1, 10, "k0", "value-0", "k0", "value-9"},
	{"kafka-python-2.0.2/Produce-v1-000.bin", 0, 0, 10, "k0", "value-0", "k0", "value-9"},
	{"kafka-python-2.0.2/Produce-v1-001.bin", 0, 1, 10, "k0", "value-0", "k0", "value-9"},
	{"kafka-python-2.0.2/Produce-v1-002.bin", 0, 2, 10, "k0", "value-0", "k0", "value-9"},
	{"kafka-python-2.0.2/Produce-v2-000.bin", 1, 0, 10, "k0", "value-0", "k0", "value-9"},
	{"kafka-python-2.0.2/Produce-v2-001.bin", 1, 3, 10, "k0", "value-0", "k0", "value-9"},
	{"kafka-python-2.0.2/Produce-v2-002.bin", 1, 1, 10, "k0", "value-0", "k0", "value-9"},
	{"kafka-python-2.0.2/Produce-v2-003.bin", 1, 2, 10, "k0", "value-0", "k0", "value-9"},
	{"kafka-python-2.0.2/Produce-v2-004.bin", 1, 0, 10, "k0", "value-0", "k0", "value-9"},
	{"librdkafka-2.0.2/Produce-v0-000.bin", 0, 0, 4, "key-4", "value-4-abcdefghij", "key-4",
	 "value-19-abcdefghij"},
	{"librdkafka-2.0.2/Produce-v0-001.bin", 0, 0, 8, "key-1", "value-1-abcdefghij", "key-3",
	 "value-18-abcdefghij"},
	{"librdkafka-2.0.2/Produce-v0-002.bin", 0, 0, 8, "key-0", "value-0-abcdefghij", "key-2",
	 "value-17-abcdefghij"},
	{"librdkafka-2.0.2/Produce-v1-000.bin", 0, 0, 4, "key-4", "value-4-abcdefghij", "key-4",
	 "value-19-abcdefghij"},
	{"librdkafka-2.0.2/Produce-v1-001.bin", 0, 0, 8, "key-1", "value-1-abcdefghij", "key-3",
	 "value-18-abcdefghij"},
	{"librdkafka-2.0.2/Produce-v1-002.bin", 0, 0, 8, "key-0", "value-0-abcdefghij", "key-2",
	 "value-17-abcdefghij"},
	{"kcat-1.7.1-stub/Produce-v0-magic0-gzip.bin", 0, 1, 11, "key-0",
	 "value-0-gzip-abcdefghijabcdefghij", "", "null-key-value"},
	{"kcat-1.7.1-stub/Produce-v0-magic0-snappy.bin", 0, 2, 11, "key-0",
	 "value-0-snappy-abcdefghijabcdefghij", "", "null-key-value"},
	{"kcat-1.7.1-stub/Produce-v0-magic0-lz4.bin", 0, 3, 11, "key-0",
	 "value-0-lz4-abcdefghijabcdefghij", "", "null-key-value"},
	{"kcat-1.7.1-stub/Produce-v2-magic1-gzip.bin", 1, 1, 11, "key-0",
	 "value-0-gzip-abcdefghijabcdefghij", "", "null-key-value"},
	{"kcat-1.7.1-stub/Produce-v2-magic1-snappy.bin", 1, 2, 11, "key-0",
	 "value-0-snappy-abcdefghijabcdefghij", "", "null-key-value"},
	{"kcat-1.7.1-stub/Produce-v2-magic1-lz4.bin", 1, 3, 11, "key-0",
	 "value-0-lz4-abcdefghijabcdefghij", "", "null-key-value"},
};
#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

static void assert_field(int32_t len, const uint8_t *p, const char *want)
{
	if (!want) {
		assert_int_equal(len, -1);
		return;
	}
	assert_int_equal(len, (int32_t)strlen(want));
	assert_memory_equal(p, want, strlen(want));
}

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVECS; i++) {
		const struct vec *v = &vecs[i];
		char path[256];
		snprintf(path, sizeof(path), VEC_DIR "%s", v->file);
		size_t flen, rlen;
		uint8_t *f = read_file(path, &flen);
		int16_t version;
		const uint8_t *rec = produce_records(f, flen, &version, &rlen);
		/* records_validate hands legacy sets to us. */
		struct records_info info;
		char err[ERRMSG_SIZE];
		assert_int_equal(records_validate(rec, rlen, 0, &info, err), -EPROTONOSUPPORT);
		assert_int_equal(info.magic, v->magic);

		struct v2batch vb;
		uint8_t *batch;
		size_t blen;
		convert_check(rec, rlen, &vb, &batch, &blen);
		assert_int_equal(vb.hdr.attributes, v->codec);
		if (v->magic == 0) {
			assert_int_equal(vb.hdr.base_timestamp, -1);
			assert_int_equal(vb.hdr.max_timestamp, -1);
		} else {
			assert_true(vb.hdr.base_timestamp > 1500000000000LL);
			assert_true(vb.hdr.max_timestamp >= vb.hdr.base_timestamp);
		}
		if (v->count) {
			assert_int_equal(vb.n, v->count);
			assert_field(vb.r[0].klen, vb.r[0].key, v->first_key);
			assert_field(vb.r[0].vlen, vb.r[0].value, v->first_value);
			assert_field(vb.r[vb.n - 1].klen, vb.r[vb.n - 1].key, v->last_key);
			assert_field(vb.r[vb.n - 1].vlen, vb.r[vb.n - 1].value, v->last_value);
		}
		/* Limits: exactly the batch size passes, one byte less does not. */
		assert_int_equal(convert_rc(rec, rlen, (int32_t)blen, err), 0);
		assert_int_equal(convert_rc(rec, rlen, (int32_t)blen - 1, err), -SAMSA_ETOOLARGE);
		v2_free(&vb);
		free(batch);
		free(f);
	}
}

/* The librdkafka magic 0 lz4 vector carries the KAFKA-3160 header checksum. */
static void test_vector_kafka3160(void **state)
{
	(void)state;
	size_t flen, rlen;
	uint8_t *f = read_file(VEC_DIR "kcat-1.7.1-stub/Produce-v0-magic0-lz4.bin", &flen);
	int16_t version;
	const uint8_t *rec = produce_records(f, flen, &version, &rlen);
	assert_int_equal(version, 0);
	const uint8_t *z = rec + 12 + 6 + 4 + 4; /* offset/size, crc/magic/attr, key -1, len */
	assert_int_equal(get_be(z, 4), 0x04224D18);
	assert_int_equal(z[6], (uint8_t)(compression_xxh32(z, 6, 0) >> 8));
	assert_int_not_equal(z[6], (uint8_t)(compression_xxh32(z + 4, 2, 0) >> 8));
	free(f);
}

/* Random damage to real and synthetic sets: never a crash or a leak; every
 * success is a valid batch. */
static void test_flips(void **state)
{
	(void)state;
	uint32_t x = 7;
	for (size_t i = 0; i < NVECS; i++) {
		char path[256];
		snprintf(path, sizeof(path), VEC_DIR "%s", vecs[i].file);
		size_t flen, rlen;
		uint8_t *f = read_file(path, &flen);
		int16_t version;
		const uint8_t *rec = produce_records(f, flen, &version, &rlen);
		uint8_t *m = malloc(rlen);
		for (int k = 0; k < 200; k++) {
			memcpy(m, rec, rlen);
			for (int j = 0; j < 1 + k % 4; j++) {
				x = x * 1103515245u + 12345u;
				m[(x >> 8) % rlen] ^= (uint8_t)(1u << ((x >> 3) % 8));
			}
			/* Half the time fix the outer CRC so the damage reaches
			 * the lengths and the compressed payload. */
			if (k % 2 && get_be(m + 8, 4) >= 14 && get_be(m + 8, 4) <= rlen - 12)
				fix_crc(m, 0);
			char err[ERRMSG_SIZE];
			int rc = convert_rc(m, rlen, 1 << 20, err);
			assert_true(rc == 0 || rc == -SAMSA_ECORRUPT || rc == -SAMSA_ETOOLARGE ||
				    rc == -ENOTSUP);
		}
		free(m);
		free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uncompressed),
		cmocka_unit_test(test_compressed),
		cmocka_unit_test(test_lz4_header_checksums),
		cmocka_unit_test(test_mixed_set),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_vector_kafka3160),
		cmocka_unit_test(test_flips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
