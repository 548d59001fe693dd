/* Wire primitives (proto/reader.h, proto/writer.h, proto/types.h): exact
 * encodings, and hostile input (negative and huge lengths, array counts larger
 * than the frame, overlong varints) failing with the right error and offset
 * without allocating memory sized by the input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/gen/all.h"
#include "proto/reader.h"
#include "proto/writer.h"

#define RD(r, ...)                                           \
	static const uint8_t r##_bytes[] = {__VA_ARGS__};    \
	struct preader r;                                    \
	preader_init(&r, r##_bytes, sizeof(r##_bytes))

/* Encodes with fn into a flat malloc'd buffer; *len gets its size. */
struct wbuf {
	struct buf_chain out;
	struct pwriter w;
	uint8_t flat[512];
};

static void wbuf_init(struct wbuf *b)
{
	buf_chain_init(&b->out);
	pwriter_init(&b->w, &b->out);
}

static const uint8_t *wbuf_flat(struct wbuf *b)
{
	assert_true(b->out.len <= sizeof(b->flat));
	assert_int_equal(buf_chain_flatten(&b->out, b->flat), 0);
	return b->flat;
}

static void test_fixed_ints(void **state)
{
	(void)state;
	RD(r, 0x80, 0x12, 0x34, 0xff, 0xff, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xab, 0xcd,
	   0xde, 0xad, 0xbe, 0xef, 0x02);
	assert_int_equal(pr_int8(&r), -128);
	assert_int_equal(pr_int16(&r), 0x1234);
	assert_int_equal(pr_int32(&r), -2);
	assert_true(pr_int64(&r) == 0x0102030405060708ll);
	assert_int_equal(pr_uint16(&r), 0xabcd);
	assert_true(pr_uint32(&r) == 0xdeadbeefu);
	assert_true(pr_bool(&r)); /* any non-zero byte */
	assert_int_equal(r.err, 0);
	assert_int_equal(preader_remaining(&r), 0);
	/* underflow: error sticky, p at end, later reads return 0 */
	assert_int_equal(pr_int32(&r), 0);
	assert_int_equal(r.err, PROTO_ERR_UNDERFLOW);
	assert_int_equal(r.err_off, sizeof(r_bytes));

	RD(s, 0, 0, 0, 7, 1, 2, 3);
	assert_int_equal(pr_int32(&s), 7);
	assert_int_equal(pr_int64(&s), 0); /* 3 bytes left */
	assert_int_equal(s.err, PROTO_ERR_UNDERFLOW);
	assert_int_equal(s.err_off, 4);
	assert_int_equal(preader_remaining(&s), 0);
	assert_int_equal(pr_int8(&s), 0);
	assert_int_equal(s.err_off, 4); /* first failure kept */
}

static void test_float_uuid_raw(void **state)
{
	(void)state;
	struct wbuf b;
	wbuf_init(&b);
	pw_float64(&b.w, -2.5);
	uint8_t u[16];
	for (int i = 0; i < 16; i++)
		u[i] = (uint8_t)(i + 1);
	pw_uuid(&b.w, u);
	pw_raw(&b.w, "xyz", 3);
	pw_raw(&b.w, NULL, 0);
	const uint8_t *f = wbuf_flat(&b);
	assert_int_equal(b.out.len, 8 + 16 + 3);
	assert_int_equal(f[0], 0xc0); /* IEEE 754 big-endian: -2.5 = c004000000000000 */
	assert_int_equal(f[1], 0x04);
	struct preader r;
	preader_init(&r, f, b.out.len);
	assert_true(pr_float64(&r) == -2.5);
	uint8_t v[16];
	pr_uuid(&r, v);
	assert_memory_equal(u, v, 16);
	assert_false(kuuid_is_zero(v));
	const uint8_t *p = pr_raw(&r, 3);
	assert_non_null(p);
	assert_memory_equal(p, "xyz", 3);
	assert_null(pr_raw(&r, 1));
	pr_uuid(&r, v);
	assert_true(kuuid_is_zero(v)); /* zeroed on failure */
	buf_chain_fini(&b.out);
}

static void test_varints(void **state)
{
	(void)state;
	static const uint32_t uv[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX};
	static const size_t uvlen[] = {1, 1, 1, 2, 2, 2, 3, 5};
	static const int64_t sv[] = {0, -1, 1, -64, 63, 64, INT32_MIN, INT32_MAX, INT64_MIN, INT64_MAX};
	struct wbuf b;
	for (size_t i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
		wbuf_init(&b);
		pw_uvarint(&b.w, uv[i]);
		assert_int_equal(b.out.len, uvlen[i]);
		assert_int_equal(ps_uvarint(uv[i]), uvlen[i]);
		struct preader r;
		preader_init(&r, wbuf_flat(&b), b.out.len);
		assert_true(pr_uvarint(&r) == uv[i]);
		assert_int_equal(r.err, 0);
		assert_int_equal(preader_remaining(&r), 0);
		buf_chain_fini(&b.out);
	}
	for (size_t i = 0; i < sizeof(sv) / sizeof(sv[0]); i++) {
		wbuf_init(&b);
		pw_varlong(&b.w, sv[i]);
		if (sv[i] >= INT32_MIN && sv[i] <= INT32_MAX)
			pw_varint(&b.w, (int32_t)sv[i]);
		struct preader r;
		preader_init(&r, wbuf_flat(&b), b.out.len);
		assert_true(pr_varlong(&r) == sv[i]);
		assert_int_equal(b.out.len - preader_remaining(&r), ps_varlong(sv[i]));
		if (sv[i] >= INT32_MIN && sv[i] <= INT32_MAX) {
			assert_int_equal(ps_varint((int32_t)sv[i]), preader_remaining(&r));
			assert_true(pr_varint(&r) == sv[i]);
		}
		assert_int_equal(r.err, 0);
		assert_int_equal(preader_remaining(&r), 0);
		buf_chain_fini(&b.out);
	}
	/* zigzag: -1 -> 1, 1 -> 2 */
	RD(z, 0x01, 0x02, 0x03);
	assert_int_equal(pr_varint(&z), -1);
	assert_int_equal(pr_varint(&z), 1);
	assert_int_equal(pr_varint(&z), -2);

	/* too long: a sixth byte, or bits beyond 32 in the fifth */
	RD(l1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
	pr_uvarint(&l1);
	assert_int_equal(l1.err, PROTO_ERR_INVALID);
	assert_int_equal(l1.err_off, 4);
	RD(l2, 0xff, 0xff, 0xff, 0xff, 0x10);
	pr_uvarint(&l2);
	assert_int_equal(l2.err, PROTO_ERR_INVALID);
	RD(l3, 0xff, 0xff, 0xff, 0xff, 0x0f);
	assert_true(pr_uvarint(&l3) == UINT32_MAX);
	assert_int_equal(l3.err, 0);
	RD(l4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02);
	pr_uvarlong(&l4);
	assert_int_equal(l4.err, PROTO_ERR_INVALID);
	RD(l5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	assert_true(pr_uvarlong(&l5) == UINT64_MAX);
	/* truncated */
	RD(t, 0x80, 0x80);
	pr_uvarint(&t);
	assert_int_equal(t.err, PROTO_ERR_UNDERFLOW);
	assert_int_equal(t.err_off, 2);
}

static void test_strings(void **state)
{
	(void)state;
	struct kstr s;
	/* classic */
	RD(c, 0x00, 0x03, 'a', 'b', 'c', 0xff, 0xff, 0x00, 0x00);
	pr_string(&c, false, false, &s);
	assert_true(kstr_eq_cstr(s, "abc"));
	assert_ptr_equal(s.ptr, c_bytes + 2); /* points into the input */
	pr_string(&c, false, true, &s);
	assert_true(kstr_is_null(s));
	pr_string(&c, false, false, &s);
	assert_int_equal(s.len, 0);
	assert_false(kstr_is_null(s));
	assert_int_equal(c.err, 0);

	RD(n, 0xff, 0xff); /* null where not nullable */
	pr_string(&n, false, false, &s);
	assert_int_equal(n.err, PROTO_ERR_INVALID);
	assert_int_equal(n.err_off, 0);
	RD(neg, 0xff, 0xfe, 'a', 'b'); /* -2 */
	pr_string(&neg, false, true, &s);
	assert_int_equal(neg.err, PROTO_ERR_INVALID);
	RD(big, 0x7f, 0xff, 'a'); /* 32767 bytes claimed, 1 present */
	pr_string(&big, false, true, &s);
	assert_int_equal(big.err, PROTO_ERR_UNDERFLOW);
	assert_int_equal(s.len, 0);

	/* compact: length + 1, 0 = null */
	RD(k, 0x04, 'x', 'y', 'z', 0x00, 0x01);
	pr_string(&k, true, false, &s);
	assert_true(kstr_eq_cstr(s, "xyz"));
	pr_string(&k, true, true, &s);
	assert_true(kstr_is_null(s));
	pr_string(&k, true, false, &s);
	assert_int_equal(s.len, 0);
	assert_int_equal(k.err, 0);
	RD(kn, 0x00);
	pr_string(&kn, true, false, &s);
	assert_int_equal(kn.err, PROTO_ERR_INVALID);
	RD(kh, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'); /* 4 GiB - 2 */
	pr_string(&kh, true, true, &s);
	assert_int_equal(kh.err, PROTO_ERR_INVALID); /* over Kafka's 32767 */
	RD(kb, 0x80, 0x80, 0x01, 'a'); /* 16383 bytes claimed */
	pr_string(&kb, true, true, &s);
	assert_int_equal(kb.err, PROTO_ERR_UNDERFLOW);
}

static void test_bytes_and_records(void **state)
{
	(void)state;
	struct kbytes b;
	struct krecords rec;
	RD(c, 0, 0, 0, 2, 9, 8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);
	pr_bytes(&c, false, false, &b);
	assert_int_equal(b.len, 2);
	assert_int_equal(b.ptr[1], 8);
	pr_bytes(&c, false, true, &b);
	assert_int_equal(b.len, -1);
	pr_bytes(&c, false, false, &b);
	assert_int_equal(b.len, 0);
	assert_int_equal(c.err, 0);
	RD(h, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3); /* 2 GiB claimed */
	pr_records(&h, false, true, &rec);
	assert_int_equal(h.err, PROTO_ERR_UNDERFLOW);
	assert_int_equal(rec.len, 0);
	RD(ng, 0x80, 0, 0, 0, 1, 2, 3); /* INT32_MIN */
	pr_bytes(&ng, false, true, &b);
	assert_int_equal(ng.err, PROTO_ERR_INVALID);
	RD(kh, 0xff, 0xff, 0xff, 0xff, 0x0f); /* compact length 2^32 - 2 > INT32_MAX */
	pr_bytes(&kh, true, true, &b);
	assert_int_equal(kh.err, PROTO_ERR_INVALID);
	RD(kr, 0x03, 7, 8, 0x00);
	pr_records(&kr, true, true, &rec);
	assert_int_equal(rec.len, 2);
	assert_ptr_equal(rec.ptr, kr_bytes + 1);
	assert_null(rec.file);
	pr_records(&kr, true, true, &rec);
	assert_int_equal(rec.len, -1);
}

static void test_arrays_hostile(void **state)
{
	(void)state;
	struct arena *a = arena_new(256);
	size_t used0 = arena_used(a);
	int32_t n, *v;
	/* classic count INT32_MAX with 8 bytes behind it */
	RD(h, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8);
	pr_array_int32(&h, a, false, false, &n, &v);
	assert_int_equal(h.err, PROTO_ERR_UNDERFLOW);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(arena_used(a), used0);
	/* 3 int32s claimed, 8 bytes present: 3 * 4 > 8 */
	RD(h2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8);
	pr_array_int32(&h2, a, false, false, &n, &v);
	assert_int_equal(h2.err, PROTO_ERR_UNDERFLOW);
	assert_int_equal(arena_used(a), used0);
	/* exactly fitting */
	RD(ok, 0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff);
	pr_array_int32(&ok, a, false, false, &n, &v);
	assert_int_equal(ok.err, 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], -1);
	/* negative counts */
	RD(neg, 0xff, 0xff, 0xff, 0xfe);
	assert_int_equal(pr_array(&neg, false, true, 1), 0);
	assert_int_equal(neg.err, PROTO_ERR_INVALID);
	RD(nul, 0xff, 0xff, 0xff, 0xff, 0x00);
	assert_int_equal(pr_array(&nul, false, true, 1), -1);
	assert_int_equal(pr_array(&nul, true, true, 1), -1);
	assert_int_equal(nul.err, 0);
	RD(nn, 0x00);
	pr_array(&nn, true, false, 1);
	assert_int_equal(nn.err, PROTO_ERR_INVALID);
	/* compact: huge counts */
	int64_t *v64;
	RD(kh, 0xff, 0xff, 0xff, 0xff, 0x07, 0, 0);
	pr_array_int64(&kh, a, true, true, &n, &v64);
	assert_int_equal(kh.err, PROTO_ERR_UNDERFLOW);
	RD(kh2, 0xff, 0xff, 0xff, 0xff, 0x0f);
	pr_array(&kh2, true, true, 1);
	assert_int_equal(kh2.err, PROTO_ERR_INVALID); /* count 2^32 - 2 */
	/* strings: min 2 bytes each (classic), 1 (compact) */
	struct kstr *ss;
	RD(sh, 0, 0, 0, 3, 0, 0, 0, 0);
	pr_array_string(&sh, a, false, false, &n, &ss);
	assert_int_equal(sh.err, PROTO_ERR_UNDERFLOW);
	RD(sk, 3, 1, 2, 'q');
	pr_array_string(&sk, a, true, false, &n, &ss);
	assert_int_equal(sk.err, 0);
	assert_int_equal(n, 2);
	assert_true(kstr_eq_cstr(ss[1], "q"));
	uint8_t(*uu)[16];
	RD(uh, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17);
	pr_array_uuid(&uh, a, false, false, &n, &uu);
	assert_int_equal(uh.err, PROTO_ERR_UNDERFLOW);
	int8_t *i8;
	int16_t *i16;
	RD(a8, 2, 0xff, 2, 0, 1);
	pr_array_int8(&a8, a, true, false, &n, &i8);
	assert_int_equal(i8[0], -1);
	pr_array_int16(&a8, a, true, false, &n, &i16);
	assert_int_equal(n, 1);
	assert_int_equal(i16[0], 1);
	assert_int_equal(a8.err, 0);
	assert_true(arena_used(a) < 1024);
	arena_free(a);
}

/* Generated decoders against hostile counts: they must fail, and allocate
 * at most a small multiple of the input size. */
static void test_generated_hostile(void **state)
{
	(void)state;
	struct arena *a = arena_new(256);
	struct produce_request p;
	/* Produce v3: transactional id null, acks, timeout, topic count INT32_MAX */
	RD(r, 0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30, 0x7f, 0xff, 0xff, 0xff, 0, 1, 'x', 0, 0, 0, 1);
	assert_int_equal(produce_request_decode(&r, a, 3, &p), PROTO_ERR_UNDERFLOW);
	assert_int_equal(r.err_off, 12);
	assert_true(arena_used(a) == 0);
	/* Produce v9 (flexible): topic count as compact uvarint 2^31 */
	RD(f, 0x00, 0, 1, 0, 0, 0x75, 0x30, 0x80, 0x80, 0x80, 0x80, 0x08, 2, 'x', 0, 0);
	assert_int_equal(produce_request_decode(&f, a, 9, &p), PROTO_ERR_UNDERFLOW);
	assert_true(arena_used(a) == 0);
	/* a plausible count whose elements are missing: 2 topics, each at least 6 bytes */
	RD(m, 0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30, 0, 0, 0, 2, 0, 1, 'x', 0, 0, 0, 0, 0, 1, 'y', 0, 0);
	assert_int_equal(produce_request_decode(&m, a, 3, &p), PROTO_ERR_UNDERFLOW);
	assert_int_equal(m.err_off, 22);
	assert_int_equal(p.topic_data_count, 2);
	assert_true(kstr_eq_cstr(p.topic_data[0].name, "x"));
	assert_true(arena_used(a) <= 2 * sizeof(struct produce_request_topic_produce_data) + 32);
	/* tagged-field section claiming 2^32-1 fields with a few bytes behind */
	struct api_versions_request q;
	RD(t, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 1, 0);
	assert_int_equal(api_versions_request_decode(&t, a, 3, &q), PROTO_ERR_UNDERFLOW);
	/* a record set longer than the frame */
	RD(rs, 0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30, 0, 0, 0, 1, 0, 1, 'x', 0, 0, 0, 1, 0, 0, 0, 0, 0x10, 0, 0, 0, 1);
	assert_int_equal(produce_request_decode(&rs, a, 3, &p), PROTO_ERR_UNDERFLOW);
	assert_int_equal(rs.err_off, 27); /* where the record bytes should start */
	arena_free(a);
}

static void test_tags(void **state)
{
	(void)state;
	RD(r, 2, 5, 1, 0xaa, 9, 2, 0xbb, 0xcc, 0x42);
	uint32_t ntag = pr_uvarint(&r), tag;
	struct preader sub;
	assert_int_equal(ntag, 2);
	assert_true(pr_tag_next(&r, &ntag, &tag, &sub));
	assert_int_equal(tag, 5);
	assert_int_equal(preader_remaining(&sub), 1);
	assert_int_equal(preader_offset(&sub), 3); /* offsets stay relative to the frame */
	assert_int_equal(pr_int8(&sub), (int8_t)0xaa);
	assert_true(pr_tag_next(&r, &ntag, &tag, &sub));
	assert_int_equal(tag, 9);
	assert_int_equal(pr_int16(&sub), (int16_t)0xbbcc);
	pr_int8(&sub); /* past the field's size */
	assert_int_equal(sub.err, PROTO_ERR_UNDERFLOW);
	assert_int_equal(sub.err_off, 8);
	assert_false(pr_tag_next(&r, &ntag, &tag, &sub));
	assert_int_equal(pr_int8(&r), 0x42); /* the rest of r is untouched */
	assert_int_equal(pr_fail_sub(&r, &sub), PROTO_ERR_UNDERFLOW);
	assert_int_equal(r.err_off, 8);

	RD(s, 2, 0, 0, 1, 1, 0xff, 7);
	pr_tags_skip(&s);
	assert_int_equal(s.err, 0);
	assert_int_equal(pr_int8(&s), 7);
	RD(bad, 1, 0, 5, 1);
	pr_tags_skip(&bad);
	assert_int_equal(bad.err, PROTO_ERR_UNDERFLOW);
	assert_int_equal(bad.err_off, 3);
}

static void test_writer(void **state)
{
	(void)state;
	struct wbuf b;
	wbuf_init(&b);
	pw_int8(&b.w, -1);
	pw_int16(&b.w, 0x1234);
	pw_int32(&b.w, -2);
	pw_int64(&b.w, 0x0102030405060708ll);
	pw_uint16(&b.w, 0xabcd);
	pw_uint32(&b.w, 0xdeadbeef);
	pw_bool(&b.w, true);
	const uint8_t want[] = {0xff, 0x12, 0x34, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8,
				0xab, 0xcd, 0xde, 0xad, 0xbe, 0xef, 1};
	assert_int_equal(b.out.len, sizeof(want));
	assert_memory_equal(wbuf_flat(&b), want, sizeof(want));
	buf_chain_fini(&b.out);

	/* strings, bytes, arrays: classic and compact, null and empty */
	wbuf_init(&b);
	pw_string(&b.w, false, true, KSTR_NULL);
	pw_string(&b.w, false, false, KSTR_NULL); /* not nullable: empty */
	pw_string(&b.w, false, false, KSTR_LIT("ab"));
	pw_string(&b.w, true, true, KSTR_NULL);
	pw_string(&b.w, true, false, (struct kstr){NULL, 0});
	pw_string(&b.w, true, false, KSTR_LIT("ab"));
	pw_bytes(&b.w, false, true, KBYTES_NULL);
	pw_bytes(&b.w, true, false, kbytes_from_buf("z", 1));
	pw_array(&b.w, false, true, -1);
	pw_array(&b.w, true, true, -1);
	pw_array(&b.w, true, false, -1);
	pw_array(&b.w, true, false, 3);
	const uint8_t want2[] = {0xff, 0xff, 0, 0, 0, 2, 'a', 'b', 0, 1, 3, 'a', 'b', 0xff, 0xff, 0xff, 0xff,
				 2, 'z', 0xff, 0xff, 0xff, 0xff, 0, 1, 4};
	assert_int_equal(b.out.len, sizeof(want2));
	assert_memory_equal(wbuf_flat(&b), want2, sizeof(want2));
	assert_int_equal(ps_string(false, true, KSTR_NULL), 2);
	assert_int_equal(ps_string(true, false, KSTR_LIT("ab")), 3);
	assert_int_equal(ps_bytes(false, true, KBYTES_NULL), 4);
	assert_int_equal(ps_array(true, true, -1), 1);
	assert_int_equal(ps_array_fixed(false, false, 3, 8), 28);
	struct kstr two[2] = {KSTR_LIT("a"), KSTR_LIT("bc")};
	assert_int_equal(ps_array_string(true, false, 2, two), 1 + 2 + 3);
	assert_int_equal(ps_tag(1, 300), 1 + 2 + 300);
	buf_chain_fini(&b.out);

	/* primitive arrays round trip */
	wbuf_init(&b);
	int32_t i32[3] = {1, -1, INT32_MIN};
	int64_t i64[2] = {INT64_MAX, -5};
	int16_t i16[1] = {-300};
	int8_t i8[2] = {-128, 127};
	uint8_t uu[2][16] = {{1}, {2}};
	pw_array_int32(&b.w, false, false, 3, i32);
	pw_array_int64(&b.w, true, true, 2, i64);
	pw_array_int16(&b.w, true, true, -1, i16);
	pw_array_int8(&b.w, false, false, 2, i8);
	pw_array_uuid(&b.w, true, false, 2, (const uint8_t(*)[16])uu);
	pw_array_string(&b.w, false, false, 2, two);
	pw_tag(&b.w, 3, 0);
	struct arena *a = arena_new(256);
	struct preader r;
	preader_init(&r, wbuf_flat(&b), b.out.len);
	int32_t n, *o32;
	int64_t *o64;
	int16_t *o16;
	int8_t *o8;
	uint8_t(*ou)[16];
	struct kstr *os;
	pr_array_int32(&r, a, false, false, &n, &o32);
	assert_int_equal(n, 3);
	assert_memory_equal(o32, i32, sizeof(i32));
	pr_array_int64(&r, a, true, true, &n, &o64);
	assert_int_equal(n, 2);
	assert_memory_equal(o64, i64, sizeof(i64));
	pr_array_int16(&r, a, true, true, &n, &o16);
	assert_int_equal(n, -1);
	assert_null(o16);
	pr_array_int8(&r, a, false, false, &n, &o8);
	assert_memory_equal(o8, i8, 2);
	pr_array_uuid(&r, a, true, false, &n, &ou);
	assert_memory_equal(ou, uu, 32);
	pr_array_string(&r, a, false, false, &n, &os);
	assert_true(kstr_eq(os[1], two[1]));
	assert_int_equal(pr_uvarint(&r), 3);
	assert_int_equal(pr_uvarint(&r), 0);
	assert_int_equal(r.err, 0);
	assert_int_equal(preader_remaining(&r), 0);
	arena_free(a);
	buf_chain_fini(&b.out);

	/* over-long strings are cut at Kafka's 32767-byte limit, consistently */
	static char huge[40000];
	memset(huge, 'h', sizeof(huge));
	struct kstr hs = kstr_from_buf(huge, sizeof(huge));
	buf_chain_init(&b.out);
	pw_string(&b.w, true, false, hs);
	assert_int_equal(b.out.len, ps_string(true, false, hs));
	assert_int_equal(b.out.len, 3 + 32767);
	buf_chain_fini(&b.out);
}

static void test_kstr_helpers(void **state)
{
	(void)state;
	struct arena *a = arena_new(256);
	struct kstr s = kstr_from_cstr("topic");
	assert_int_equal(s.len, 5);
	assert_true(kstr_eq_cstr(s, "topic"));
	assert_false(kstr_eq_cstr(s, "topi"));
	assert_false(kstr_eq_cstr(s, NULL));
	assert_true(kstr_eq_cstr(KSTR_NULL, NULL));
	assert_false(kstr_eq_cstr(KSTR_NULL, ""));
	assert_true(kstr_is_null(kstr_from_cstr(NULL)));
	assert_true(kstr_eq((struct kstr){NULL, 0}, KSTR_LIT("")));
	char *d = kstr_dup(a, kstr_from_buf("abcdef", 3));
	assert_string_equal(d, "abc");
	assert_null(kstr_dup(a, KSTR_NULL));
	assert_string_equal(kstr_dup(a, (struct kstr){NULL, 0}), "");
	char line[32];
	snprintf(line, sizeof(line), "[" KSTR_FMT "][" KSTR_FMT "]", KSTR_ARG(s), KSTR_ARG(KSTR_NULL));
	assert_string_equal(line, "[topic][]");
	assert_true(kbytes_eq(kbytes_from_buf("ab", 2), kbytes_from_buf("ab", 2)));
	assert_false(kbytes_eq(KBYTES_NULL, kbytes_from_buf("", 0)));
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_ints),
		cmocka_unit_test(test_float_uuid_raw),
		cmocka_unit_test(test_varints),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_bytes_and_records),
		cmocka_unit_test(test_arrays_hostile),
		cmocka_unit_test(test_generated_hostile),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_kstr_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
