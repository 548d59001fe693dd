/* Round trip of every generated codec: for every message at every valid
 * version, decode(encode(x)) == x for sample values x (and for the defaults),
 * size() equals the bytes written, re-encoding gives the same bytes, and every
 * strict prefix of an encoding fails to decode with UNDERFLOW. Plus targeted
 * cases: null vs empty, tagged fields (known, unknown, default-omitted),
 * file-backed records, the api table and the error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/gen/all.h"

/* ---- sample values for the generated fill_*() helpers ---- */

struct sample {
	uint64_t state;
	int depth; /* array nesting, to keep samples small */
};

static uint64_t sample_u64(struct sample *s)
{
	/* xorshift64*; also returns extremes now and then */
	s->state ^= s->state >> 12;
	s->state ^= s->state << 25;
	s->state ^= s->state >> 27;
	uint64_t v = s->state * 0x2545F4914F6CDD1Dull;
	switch (v % 16) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX; /* -1 in every width */
	case 2:
		return 0x8000000000000000ull >> (v >> 60 & 0x3f ? 32 : 0);
	default:
		return v >> (v % 7 * 8);
	}
}

static void sample_uuid(struct sample *s, uint8_t u[16])
{
	uint64_t a = sample_u64(s), b = sample_u64(s);
	memcpy(u, &a, 8);
	memcpy(u + 8, &b, 8);
}

static double sample_double(struct sample *s)
{
	return (double)(int32_t)sample_u64(s) / 16.0;
}

static int32_t sample_count(struct sample *s, bool nullable)
{
	uint64_t v = sample_u64(s);
	if (nullable && v % 7 == 0)
		return -1;
	return (int32_t)((v >> 8) % (s->depth < 2 ? 4 : 2));
}

static char long_string[400];
static uint8_t sample_bytes_buf[512];

static void sample_kstr(struct sample *s, bool nullable, struct kstr *k)
{
	static const char *const strs[] = {"", "a", "topic-1", "\xc3\xbcnicode \xe2\x9c\x93", "__consumer_offsets"};
	uint64_t v = sample_u64(s) % 8;
	if (v == 7 && nullable)
		*k = KSTR_NULL;
	else if (v >= 5)
		*k = kstr_from_buf(long_string, (size_t)(v - 4) * 100); /* > 127 bytes: 2-byte varints */
	else
		*k = kstr_from_cstr(strs[v]);
}

static void sample_kbytes(struct sample *s, bool nullable, struct kbytes *b)
{
	uint64_t v = sample_u64(s);
	if (nullable && v % 5 == 0)
		*b = KBYTES_NULL;
	else
		*b = kbytes_from_buf(sample_bytes_buf + v % 64, (size_t)(v >> 8) % 200);
}

static void sample_krecords(struct sample *s, bool nullable, struct krecords *rec)
{
	uint64_t v = sample_u64(s);
	memset(rec, 0, sizeof(*rec));
	if (nullable && v % 5 == 0) {
		rec->len = -1;
		return;
	}
	rec->ptr = sample_bytes_buf + v % 64;
	rec->len = (int32_t)((v >> 8) % 300);
}

static bool eq_fail(const char *what)
{
	print_error("mismatch at %s\n", what);
	return false;
}

static bool eq_krecords(const struct krecords *x, const struct krecords *y)
{
	if (x->len != y->len)
		return false;
	return x->len <= 0 || memcmp(x->ptr, y->ptr, (size_t)x->len) == 0;
}

#include "unit/gen/proto_samples.c"

/* ---- generic round trip over the generated message table ---- */

struct rt_case {
	const char *name;
	int16_t min_version, max_version;
	size_t size;
	void (*init)(void *m);
	void (*fill)(void *m, struct arena *a, int16_t v, struct sample *s);
	int (*decode)(struct preader *r, struct arena *a, int16_t v, void *m);
	void (*encode)(struct pwriter *w, int16_t v, const void *m);
	size_t (*msize)(int16_t v, const void *m);
	bool (*eq)(const void *x, const void *y);
};

#define RT_DEFINE(M, LO, HI)                                                             \
	static void rt_init_##M(void *m)                                                 \
	{                                                                                \
		M##_init(m);                                                             \
	}                                                                                \
	static void rt_fill_##M(void *m, struct arena *a, int16_t v, struct sample *s)   \
	{                                                                                \
		fill_##M(m, a, v, s);                                                    \
	}                                                                                \
	static int rt_decode_##M(struct preader *r, struct arena *a, int16_t v, void *m) \
	{                                                                                \
		return M##_decode(r, a, v, m);                                           \
	}                                                                                \
	static void rt_encode_##M(struct pwriter *w, int16_t v, const void *m)           \
	{                                                                                \
		M##_encode(w, v, m);                                                     \
	}                                                                                \
	static size_t rt_size_##M(int16_t v, const void *m)                              \
	{                                                                                \
		return M##_size(v, m);                                                   \
	}                                                                                \
	static bool rt_eq_##M(const void *x, const void *y)                              \
	{                                                                                \
		return eq_##M(x, y);                                                     \
	}
PROTO_SAMPLE_MESSAGES(RT_DEFINE)

#define RT_ENTRY(M, LO, HI)                                                                  \
	{#M,           LO,          HI,           sizeof(struct M), rt_init_##M, rt_fill_##M, \
	 rt_decode_##M, rt_encode_##M, rt_size_##M, rt_eq_##M},
static const struct rt_case rt_cases[] = {PROTO_SAMPLE_MESSAGES(RT_ENTRY)};
#define RT_COUNT ((int)(sizeof(rt_cases) / sizeof(rt_cases[0])))

/* Flattened copy of a chain (malloc'd). */
static uint8_t *flatten(const struct buf_chain *chain)
{
	uint8_t *p = malloc(chain->len + 1);
	assert_non_null(p);
	assert_int_equal(buf_chain_flatten(chain, p), 0);
	return p;
}

static uint8_t *encode_msg(const struct rt_case *c, int16_t v, const void *m, size_t *len)
{
	struct buf_chain out;
	struct pwriter w;
	buf_chain_init(&out);
	pwriter_init(&w, &out);
	c->encode(&w, v, m);
	*len = out.len;
	if (out.len != c->msize(v, m)) {
		print_error("%s v%d: size() %zu != encoded %zu\n", c->name, v, c->msize(v, m), out.len);
		fail();
	}
	uint8_t *p = flatten(&out);
	buf_chain_fini(&out);
	return p;
}

static size_t total_bytes, total_cases;

static void roundtrip(const struct rt_case *c, int16_t v, uint64_t seed, bool prefixes)
{
	struct arena *a = arena_new(4096);
	struct sample s = {seed * 0x9E3779B97F4A7C15ull + 0x1234567, 0};
	void *x = arena_alloc(a, c->size), *y = arena_alloc(a, c->size);
	c->init(x);
	if (seed)
		c->fill(x, a, v, &s);
	size_t len, len2;
	uint8_t *bytes = encode_msg(c, v, x, &len);

	struct preader r;
	preader_init(&r, bytes, len);
	int rc = c->decode(&r, a, v, y);
	if (rc != 0 || preader_remaining(&r) != 0) {
		print_error("%s v%d seed %llu: decode rc %d at offset %zu, %zu bytes left of %zu\n", c->name, v,
			    (unsigned long long)seed, rc, r.err_off, preader_remaining(&r), len);
		fail();
	}
	if (!c->eq(x, y)) {
		print_error("%s v%d seed %llu: decoded value differs\n", c->name, v, (unsigned long long)seed);
		fail();
	}
	uint8_t *again = encode_msg(c, v, y, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(bytes, again, len);
	free(again);

	if (prefixes) {
		/* Every strict prefix must fail cleanly (each copy is exactly sized, so
		 * ASan catches any read past its end). */
		for (size_t k = 0; k < len; k++) {
			uint8_t *pre = malloc(k + 1);
			memcpy(pre, bytes, k);
			struct arena *pa = arena_new(256);
			void *z = arena_alloc(pa, c->size);
			preader_init(&r, pre, k);
			rc = c->decode(&r, pa, v, z);
			if (rc != PROTO_ERR_UNDERFLOW || r.err_off > k) {
				print_error("%s v%d: %zu-byte prefix of %zu gave rc %d at %zu\n", c->name, v, k, len, rc,
					    r.err_off);
				fail();
			}
			arena_free(pa);
			free(pre);
		}
	}
	total_bytes += len;
	total_cases++;
	free(bytes);
	arena_free(a);
}

static void test_roundtrip_every_message_every_version(void **state)
{
	(void)state;
	int versions = 0;
	for (int i = 0; i < RT_COUNT; i++) {
		const struct rt_case *c = &rt_cases[i];
		for (int16_t v = c->min_version; v <= c->max_version; v++) {
			versions++;
			for (uint64_t seed = 0; seed < 24; seed++)
				roundtrip(c, v, seed, seed == 1 || seed == 2);
		}
	}
	print_message("%d messages, %d message versions, %zu round trips, %zu bytes\n", RT_COUNT, versions,
		      total_cases, total_bytes);
	assert_true(RT_COUNT >= 186);
}

/* ---- targeted cases ---- */

struct enc {
	struct buf_chain out;
	struct pwriter w;
};

static void enc_init(struct enc *e)
{
	buf_chain_init(&e->out);
	pwriter_init(&e->w, &e->out);
}

static void test_null_vs_empty(void **state)
{
	(void)state;
	struct arena *a = arena_new(1024);
	for (int16_t v = 9; v <= 12; v++) {
		struct metadata_request m, d;
		metadata_request_init(&m);
		struct enc e1, e2;
		m.topics_count = -1; /* null: all topics */
		enc_init(&e1);
		metadata_request_encode(&e1.w, v, &m);
		m.topics_count = 0; /* empty: no topics */
		enc_init(&e2);
		metadata_request_encode(&e2.w, v, &m);
		uint8_t *b1 = flatten(&e1.out), *b2 = flatten(&e2.out);
		assert_int_equal(b1[0], 0); /* compact array: 0 = null */
		assert_int_equal(b2[0], 1); /* 1 = empty */
		struct preader r;
		preader_init(&r, b1, e1.out.len);
		assert_int_equal(metadata_request_decode(&r, a, v, &d), 0);
		assert_int_equal(d.topics_count, -1);
		preader_init(&r, b2, e2.out.len);
		assert_int_equal(metadata_request_decode(&r, a, v, &d), 0);
		assert_int_equal(d.topics_count, 0);
		free(b1);
		free(b2);
		buf_chain_fini(&e1.out);
		buf_chain_fini(&e2.out);
	}
	/* classic nullable string: null is length -1, empty is 0 */
	struct produce_request p, q;
	produce_request_init(&p);
	assert_true(kstr_is_null(p.transactional_id)); /* default null */
	struct enc e;
	enc_init(&e);
	produce_request_encode(&e.w, 3, &p);
	uint8_t *b = flatten(&e.out);
	assert_int_equal(b[0], 0xff);
	assert_int_equal(b[1], 0xff);
	struct preader r;
	preader_init(&r, b, e.out.len);
	assert_int_equal(produce_request_decode(&r, a, 3, &q), 0);
	assert_true(kstr_is_null(q.transactional_id));
	free(b);
	buf_chain_fini(&e.out);
	p.transactional_id = KSTR_LIT("");
	enc_init(&e);
	produce_request_encode(&e.w, 3, &p);
	b = flatten(&e.out);
	assert_int_equal(b[0], 0);
	assert_int_equal(b[1], 0);
	preader_init(&r, b, e.out.len);
	assert_int_equal(produce_request_decode(&r, a, 3, &q), 0);
	assert_int_equal(q.transactional_id.len, 0);
	free(b);
	buf_chain_fini(&e.out);
	/* null where the version is not nullable: written as empty */
	struct metadata_request m;
	metadata_request_init(&m);
	m.topics_count = -1;
	enc_init(&e);
	metadata_request_encode(&e.w, 0, &m); /* v0 topics are not nullable */
	b = flatten(&e.out);
	assert_int_equal(e.out.len, 4);
	assert_memory_equal(b, "\0\0\0\0", 4);
	free(b);
	buf_chain_fini(&e.out);
	arena_free(a);
}

static void test_defaults(void **state)
{
	(void)state;
	struct fetch_response_partition_data p;
	fetch_response_partition_data_init(&p);
	assert_int_equal(p.last_stable_offset, -1);
	assert_int_equal(p.log_start_offset, -1);
	assert_int_equal(p.preferred_read_replica, -1);
	assert_int_equal(p.diverging_epoch.epoch, -1);
	assert_int_equal(p.current_leader.leader_id, -1);
	assert_int_equal(p.records.len, -1);
	assert_int_equal(p.aborted_transactions_count, 0);
	struct fetch_request f;
	fetch_request_init(&f);
	assert_int_equal(f.replica_id, -1);
	assert_int_equal(f.max_bytes, 0x7fffffff);
	assert_int_equal(f.isolation_level, 0);
	assert_true(kstr_is_null(f.cluster_id));
	struct create_topics_request_creatable_topic t;
	create_topics_request_creatable_topic_init(&t);
	assert_int_equal(t.num_partitions, 0); /* no schema default */
	struct list_offsets_request lo;
	list_offsets_request_init(&lo);
	assert_int_equal(lo.replica_id, 0); /* no default in the schema */
	struct join_group_request jg;
	join_group_request_init(&jg);
	assert_int_equal(jg.rebalance_timeout_ms, -1);
	assert_true(kstr_is_null(jg.group_instance_id));
}

/* Fetch response v12+: the tagged struct fields are written only when they
 * differ from their defaults, and read back. */
static void test_tagged_fields(void **state)
{
	(void)state;
	struct arena *a = arena_new(1024);
	struct fetch_response m, d;
	struct fetch_response_fetchable_topic_response topic;
	struct fetch_response_partition_data part;
	fetch_response_init(&m);
	fetch_response_fetchable_topic_response_init(&topic);
	fetch_response_partition_data_init(&part);
	topic.topic = KSTR_LIT("t");
	topic.partitions_count = 1;
	topic.partitions = &part;
	m.responses_count = 1;
	m.responses = &topic;
	struct enc e;
	enc_init(&e);
	fetch_response_encode(&e.w, 12, &m);
	size_t plain = e.out.len;
	buf_chain_fini(&e.out);

	part.diverging_epoch.epoch = 7;
	part.diverging_epoch.end_offset = 1000;
	enc_init(&e);
	fetch_response_encode(&e.w, 12, &m);
	/* tag 0, size 1+4+8 (tags + int32 + int64), 13 bytes of value */
	assert_int_equal(e.out.len, plain + 1 + 1 + 13);
	assert_int_equal(e.out.len, fetch_response_size(12, &m));
	uint8_t *b = flatten(&e.out);
	struct preader r;
	preader_init(&r, b, e.out.len);
	assert_int_equal(fetch_response_decode(&r, a, 12, &d), 0);
	assert_int_equal(d.responses[0].partitions[0].diverging_epoch.epoch, 7);
	assert_int_equal(d.responses[0].partitions[0].diverging_epoch.end_offset, 1000);
	assert_int_equal(d.responses[0].partitions[0].current_leader.leader_id, -1);
	free(b);
	buf_chain_fini(&e.out);

	/* in v11 (not flexible) the tagged field does not exist: omitted */
	enc_init(&e);
	fetch_response_encode(&e.w, 11, &m);
	b = flatten(&e.out);
	preader_init(&r, b, e.out.len);
	assert_int_equal(fetch_response_decode(&r, a, 11, &d), 0);
	assert_int_equal(d.responses[0].partitions[0].diverging_epoch.epoch, -1);
	free(b);
	buf_chain_fini(&e.out);
	arena_free(a);
}

/* Tagged fields are written in ascending tag order; unknown tags are skipped;
 * a tagged field whose size runs past the end fails. */
static void test_tagged_order_and_unknown(void **state)
{
	(void)state;
	struct arena *a = arena_new(1024);
	struct api_versions_response m, d;
	api_versions_response_init(&m);
	struct api_versions_response_supported_feature_key sf = {KSTR_LIT("f"), 1, 2};
	m.supported_features_count = 1;
	m.supported_features = &sf;
	m.finalized_features_epoch = 5;
	m.zk_migration_ready = true;
	struct enc e;
	enc_init(&e);
	api_versions_response_encode(&e.w, 3, &m);
	uint8_t *b = flatten(&e.out);
	/* error_code(2) api_keys(1: empty compact) throttle(4), then tags */
	const uint8_t *t = b + 7;
	assert_int_equal(t[0], 3); /* three tagged fields */
	assert_int_equal(t[1], 0); /* tag 0 first */
	size_t s0 = t[2];
	assert_int_equal(t[3 + s0], 1); /* then tag 1 */
	assert_int_equal(t[3 + s0 + 1], 8);
	assert_int_equal(t[3 + s0 + 10], 3); /* then tag 3 */
	struct preader r;
	preader_init(&r, b, e.out.len);
	assert_int_equal(api_versions_response_decode(&r, a, 3, &d), 0);
	assert_int_equal(d.finalized_features_epoch, 5);
	assert_true(d.zk_migration_ready);
	assert_int_equal(d.supported_features_count, 1);
	assert_true(kstr_eq_cstr(d.supported_features[0].name, "f"));
	assert_int_equal(d.supported_features[0].max_version, 2);
	assert_int_equal(d.finalized_features_count, 0);
	free(b);
	buf_chain_fini(&e.out);

	/* ApiVersionsRequest v3 with an unknown tag 9 (3 bytes) in its body */
	const uint8_t req[] = {2, 'c', 2, '1', 1, 9, 3, 'x', 'y', 'z'};
	struct api_versions_request q;
	preader_init(&r, req, sizeof(req));
	assert_int_equal(api_versions_request_decode(&r, a, 3, &q), 0);
	assert_true(kstr_eq_cstr(q.client_software_name, "c"));
	assert_true(kstr_eq_cstr(q.client_software_version, "1"));
	assert_int_equal(preader_remaining(&r), 0);
	/* the same with a tag size past the end */
	const uint8_t bad[] = {2, 'c', 2, '1', 1, 9, 4, 'x', 'y', 'z'};
	preader_init(&r, bad, sizeof(bad));
	assert_int_equal(api_versions_request_decode(&r, a, 3, &q), PROTO_ERR_UNDERFLOW);
	/* a known tagged field whose value is cut short inside its size */
	const uint8_t cut[] = {0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0xff, 0};
	struct api_versions_response ar;
	preader_init(&r, cut, sizeof(cut));
	assert_int_equal(api_versions_response_decode(&r, a, 3, &ar), PROTO_ERR_UNDERFLOW);
	assert_int_equal(r.err_off, 10); /* where the int64 value starts */
	arena_free(a);
}

static void test_records_from_file(void **state)
{
	(void)state;
	char path[] = "/tmp/samsa-test-proto-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	uint8_t data[256];
	for (int i = 0; i < 256; i++)
		data[i] = (uint8_t)i;
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	struct file_ref *file = file_ref_new(fd);

	struct fetch_response m, d;
	struct fetch_response_fetchable_topic_response topic;
	struct fetch_response_partition_data part;
	fetch_response_init(&m);
	fetch_response_fetchable_topic_response_init(&topic);
	fetch_response_partition_data_init(&part);
	topic.topic = KSTR_LIT("t");
	topic.partitions_count = 1;
	topic.partitions = &part;
	m.responses_count = 1;
	m.responses = &topic;
	part.records.file = file;
	part.records.file_pos = 100;
	part.records.len = 50;
	for (int16_t v = 4; v <= 17; v += 13) {
		struct enc e;
		enc_init(&e);
		fetch_response_encode(&e.w, v, &m);
		assert_int_equal(e.out.len, fetch_response_size(v, &m));
		/* the file range is a segment of its own; in v12+ the tagged-field
		 * sections follow it in memory */
		assert_int_equal(e.out.tail->kind, v >= 12 ? BUF_SEG_MEM : BUF_SEG_FILE);
		uint8_t *b = flatten(&e.out);
		struct arena *a = arena_new(1024);
		struct preader r;
		preader_init(&r, b, e.out.len);
		assert_int_equal(fetch_response_decode(&r, a, v, &d), 0);
		const struct krecords *rec = &d.responses[0].partitions[0].records;
		assert_int_equal(rec->len, 50);
		assert_null(rec->file);
		assert_memory_equal(rec->ptr, data + 100, 50);
		arena_free(a);
		free(b);
		buf_chain_fini(&e.out);
	}
	file_ref_put(file);
}

/* Request header v2 keeps the client id a classic nullable string. */
static void test_request_header(void **state)
{
	(void)state;
	struct request_header h, d;
	request_header_init(&h);
	h.request_api_key = 18;
	h.request_api_version = 3;
	h.correlation_id = 1;
	h.client_id = KSTR_LIT("rdkafka");
	struct enc e;
	enc_init(&e);
	request_header_encode(&e.w, 2, &h);
	uint8_t *b = flatten(&e.out);
	const uint8_t want[] = {0, 18, 0, 3, 0, 0, 0, 1, 0, 7, 'r', 'd', 'k', 'a', 'f', 'k', 'a', 0};
	assert_int_equal(e.out.len, sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
	struct arena *a = arena_new(256);
	struct preader r;
	preader_init(&r, b, e.out.len);
	assert_int_equal(request_header_decode(&r, a, 2, &d), 0);
	assert_true(kstr_eq(d.client_id, h.client_id));
	free(b);
	buf_chain_fini(&e.out);
	/* v0 has no client id */
	enc_init(&e);
	request_header_encode(&e.w, 0, &h);
	assert_int_equal(e.out.len, 8);
	buf_chain_fini(&e.out);
	arena_free(a);
}

static void test_api_table(void **state)
{
	(void)state;
	assert_true(proto_api_count >= 70);
	for (int i = 1; i < proto_api_count; i++)
		assert_true(proto_apis[i - 1].key < proto_apis[i].key);
	for (int i = 0; i < proto_api_count; i++)
		assert_ptr_equal(proto_api_lookup(proto_apis[i].key), &proto_apis[i]);
	const struct proto_api *api = proto_api_lookup(PROTO_API_PRODUCE);
	assert_non_null(api);
	assert_string_equal(api->name, "Produce");
	assert_int_equal(api->first_flexible, 9);
	assert_string_equal(proto_api_lookup(PROTO_API_API_VERSIONS)->name, "ApiVersions");
	assert_int_equal(proto_api_lookup(PROTO_API_SASL_HANDSHAKE)->first_flexible, -1);
	assert_null(proto_api_lookup(-1));
	assert_null(proto_api_lookup(1000));
	assert_null(proto_api_lookup(INT16_MAX));

	assert_int_equal(proto_request_header_version(PROTO_API_PRODUCE, 8), 1);
	assert_int_equal(proto_request_header_version(PROTO_API_PRODUCE, 9), 2);
	assert_int_equal(proto_request_header_version(PROTO_API_API_VERSIONS, 3), 2);
	assert_int_equal(proto_request_header_version(PROTO_API_API_VERSIONS, 2), 1);
	assert_int_equal(proto_request_header_version(PROTO_API_CONTROLLED_SHUTDOWN, 0), 0);
	assert_int_equal(proto_request_header_version(PROTO_API_CONTROLLED_SHUTDOWN, 1), 1);
	assert_int_equal(proto_request_header_version(PROTO_API_SASL_HANDSHAKE, 1), 1);
	assert_int_equal(proto_request_header_version(-5, 0), -1);
	assert_int_equal(proto_response_header_version(PROTO_API_API_VERSIONS, 3), 0);
	assert_int_equal(proto_response_header_version(PROTO_API_FETCH, 12), 1);
	assert_int_equal(proto_response_header_version(PROTO_API_FETCH, 11), 0);

	struct arena *a = arena_new(256);
	void *msg = (void *)1;
	const uint8_t empty[1] = {0};
	struct preader r;
	preader_init(&r, empty, 0);
	assert_int_equal(proto_request_decode(999, 0, &r, a, &msg), PROTO_ERR_UNSUPPORTED);
	assert_null(msg);
	assert_int_equal(proto_request_decode(PROTO_API_PRODUCE, 12, &r, a, &msg), PROTO_ERR_UNSUPPORTED);
	assert_int_equal(proto_request_decode(PROTO_API_PRODUCE, -1, &r, a, &msg), PROTO_ERR_UNSUPPORTED);
	assert_int_equal(proto_request_decode(PROTO_API_PRODUCE, 3, &r, a, &msg), PROTO_ERR_UNDERFLOW);
	assert_non_null(msg);
	/* ApiVersions v0 request has no fields: decodes from nothing */
	preader_init(&r, empty, 0);
	assert_int_equal(proto_request_decode(PROTO_API_API_VERSIONS, 0, &r, a, &msg), 0);

	/* generic encode/size agree with the typed ones */
	struct api_versions_response resp;
	api_versions_response_init(&resp);
	struct api_versions_response_api_version keys[2] = {{0, 0, 11}, {18, 0, 4}};
	resp.api_keys_count = 2;
	resp.api_keys = keys;
	struct enc e;
	enc_init(&e);
	proto_response_encode(PROTO_API_API_VERSIONS, 3, &e.w, &resp);
	assert_int_equal(e.out.len, proto_response_size(PROTO_API_API_VERSIONS, 3, &resp));
	assert_int_equal(e.out.len, api_versions_response_size(3, &resp));
	uint8_t *b = flatten(&e.out);
	preader_init(&r, b, e.out.len);
	assert_int_equal(proto_response_decode(PROTO_API_API_VERSIONS, 3, &r, a, &msg), 0);
	assert_int_equal(((struct api_versions_response *)msg)->api_keys[1].max_version, 4);
	free(b);
	buf_chain_fini(&e.out);
	enc_init(&e);
	proto_response_encode(999, 0, &e.w, &resp);
	assert_int_equal(e.out.len, 0);
	assert_int_equal(proto_response_size(999, 0, &resp), 0);
	arena_free(a);
}

static void test_errors(void **state)
{
	(void)state;
	assert_int_equal(KERR_NONE, 0);
	assert_int_equal(KERR_UNKNOWN_SERVER_ERROR, -1);
	assert_int_equal(KERR_OFFSET_OUT_OF_RANGE, 1);
	assert_int_equal(KERR_UNSUPPORTED_VERSION, 35);
	assert_string_equal(kerr_name(KERR_NONE), "NONE");
	assert_string_equal(kerr_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
	assert_string_equal(kerr_name(-1), "UNKNOWN_SERVER_ERROR");
	assert_string_equal(kerr_name(99), "UNKNOWN_ERROR_CODE"); /* a hole in the table */
	assert_string_equal(kerr_name(-2), "UNKNOWN_ERROR_CODE");
	assert_string_equal(kerr_name(INT16_MAX), "UNKNOWN_ERROR_CODE");
	assert_true(kerr_retriable(KERR_NOT_LEADER_OR_FOLLOWER));
	assert_true(kerr_retriable(KERR_UNKNOWN_TOPIC_OR_PARTITION));
	assert_false(kerr_retriable(KERR_NONE));
	assert_false(kerr_retriable(KERR_UNKNOWN_SERVER_ERROR));
	assert_false(kerr_retriable(KERR_OFFSET_OUT_OF_RANGE));
	assert_false(kerr_retriable(INT16_MIN));
}

int main(void)
{
	memset(long_string, 'x', sizeof(long_string));
	for (size_t i = 0; i < sizeof(sample_bytes_buf); i++)
		sample_bytes_buf[i] = (uint8_t)(i * 7 + 3);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_message_every_version),
		cmocka_unit_test(test_null_vs_empty),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_tagged_fields),
		cmocka_unit_test(test_tagged_order_and_unknown),
		cmocka_unit_test(test_records_from_file),
		cmocka_unit_test(test_request_header),
		cmocka_unit_test(test_api_table),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
