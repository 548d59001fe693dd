/* The log cleaner (log/cleaner.c): latest value per key survives in sealed
 * segments, offsets are preserved, tombstones go after delete.retention.ms,
 * compressed and multi-record batches are filtered, reads through the
 * indexes still find every offset (also in gaps), the dirty ratio is
 * honoured, and a restart after a cleaned swap (and with a leftover .cleaned
 * file) reads the same records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "log/cleaner.h"
#include "log/log_int.h"
#include "proto/compression.h"
#define TB_WITH_LOG
#include "unit/testutil_batch.h"

#define NOW 1700000000000LL
#define DAY 86400000LL

/* ------------------------------------------------------------ encoding */

static size_t zz(uint8_t *p, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 0;
	while (u >= 0x80) {
		p[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	p[n++] = (uint8_t)u;
	return n;
}

struct kv {
	const char *key;   /* NULL: null key */
	const char *value; /* NULL: tombstone */
	int64_t ts;
};

/* One v2 batch of n records (codec: compression of the records section). */
static struct tb_buf make_batch(const struct kv *r, int n, int codec, int64_t pid)
{
	struct tb_buf recs = {0};
	for (int i = 0; i < n; i++) {
		uint8_t body[512], *p = body;
		*p++ = 0;
		p += zz(p, r[i].ts - r[0].ts);
		p += zz(p, i);
		if (r[i].key) {
			p += zz(p, (int64_t)strlen(r[i].key));
			memcpy(p, r[i].key, strlen(r[i].key));
			p += strlen(r[i].key);
		} else {
			p += zz(p, -1);
		}
		if (r[i].value) {
			p += zz(p, (int64_t)strlen(r[i].value));
			memcpy(p, r[i].value, strlen(r[i].value));
			p += strlen(r[i].value);
		} else {
			p += zz(p, -1);
		}
		p += zz(p, 0);
		uint8_t lb[10];
		size_t ll = zz(lb, p - body);
		tb_put(&recs, lb, ll);
		tb_put(&recs, body, (size_t)(p - body));
	}
	uint8_t *payload = recs.data;
	size_t plen = recs.len;
	uint8_t *comp = NULL;
	if (codec) {
		assert_int_equal(compression_compress(codec, recs.data, recs.len, &comp, &plen, NULL), 0);
		payload = comp;
	}
	struct tb_buf b = {0};
	tb_reserve(&b, 61 + plen);
	memset(b.data, 0, 61);
	b.len = 61;
	log_put_be32(b.data + 8, (uint32_t)(49 + plen));
	b.data[16] = 2;
	b.data[22] = (uint8_t)codec;
	log_put_be32(b.data + 23, (uint32_t)(n - 1));
	int64_t max_ts = 0;
	for (int i = 0; i < n; i++)
		if (r[i].ts > max_ts)
			max_ts = r[i].ts;
	log_put_be64(b.data + 27, (uint64_t)r[0].ts);
	log_put_be64(b.data + 35, (uint64_t)max_ts);
	log_put_be64(b.data + 43, (uint64_t)pid);
	log_put_be32(b.data + 53, pid >= 0 ? 0u : 0xffffffffu);
	log_put_be32(b.data + 57, (uint32_t)n);
	tb_put(&b, payload, plen);
	log_put_be32(b.data + 17, crc32c(0, b.data + 21, b.len - 21));
	free(comp);
	free(recs.data);
	return b;
}

static void append(struct log_partition *part, const struct kv *r, int n, int codec)
{
	struct tb_buf b = make_batch(r, n, codec, -1);
	assert_int_equal(log_partition_append(part, b.data, b.len, n, NOW, NULL), 0);
	free(b.data);
}

/* ------------------------------------------------------------ reading */

struct got {
	int64_t off;
	char key[32];
	char value[64];
	bool tombstone, null_key;
};

/* Reads the whole partition from offset 0 with small fetches. */
static int read_all(struct log_partition *part, struct got **out)
{
	int64_t off = log_partition_start_offset(part), end = log_partition_end_offset(part);
	struct got *g = NULL;
	int n = 0, cap = 0;
	while (off < end) {
		struct log_read_result res;
		assert_int_equal(log_partition_read(part, off, 300, false, &res), 0);
		assert_true(res.len > 0); /* never stuck in a gap */
		uint8_t *buf = tl_read_bytes(&res);
		file_ref_put(res.file);
		for (int64_t pos = 0; pos < res.len;) {
			struct records_batch_header h;
			records_header_parse(buf + pos, &h);
			int64_t total = h.batch_length + 12;
			assert_int_equal(crc32c(0, buf + pos + 21, (size_t)total - 21), h.crc);
			assert_int_equal(h.record_count, h.last_offset_delta + 1);
			const uint8_t *p = buf + pos + 61, *e = buf + pos + total;
			uint8_t *dec = NULL;
			if (h.attributes & 7) {
				size_t dl;
				assert_int_equal(compression_decompress(h.attributes & 7, p, (size_t)(e - p), 1 << 20,
									&dec, &dl, NULL), 0);
				p = dec;
				e = dec + dl;
			}
			for (int i = 0; i < h.record_count; i++) {
				int64_t len, v, od, kl, vl;
				p += records_read_varlong(p, e, 5, &len);
				const uint8_t *q = p + 1, *re = p + len;
				q += records_read_varlong(q, re, 10, &v);
				q += records_read_varlong(q, re, 5, &od);
				q += records_read_varlong(q, re, 5, &kl);
				struct got x = {.off = h.base_offset + od};
				x.null_key = kl < 0;
				if (kl > 0) {
					memcpy(x.key, q, (size_t)kl);
					q += kl;
				}
				q += records_read_varlong(q, re, 5, &vl);
				x.tombstone = vl < 0;
				if (vl > 0)
					memcpy(x.value, q, (size_t)vl);
				p = re;
				if (x.off < off)
					continue;
				if (n == cap) {
					cap = cap ? cap * 2 : 256;
					g = realloc(g, (size_t)cap * sizeof(*g));
				}
				if (n)
					assert_true(x.off > g[n - 1].off);
				g[n++] = x;
			}
			free(dec);
			off = h.base_offset + h.last_offset_delta + 1;
			pos += total;
		}
		free(buf);
	}
	*out = g;
	return n;
}

static struct log_partition *open_part(const char *dir)
{
	struct log_config cfg;
	log_config_defaults(&cfg);
	cfg.segment_bytes = 1024;
	cfg.index_interval_bytes = 128;
	struct log_partition *part;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(log_partition_open(dir, &cfg, NULL, &part, errmsg), 0);
	return part;
}

/* ------------------------------------------------------------ tests */

#define NKEYS 10
#define NREC 400

/* Writes NREC updates of NKEYS keys, value "v<offset>". */
static void fill(struct log_partition *part)
{
	for (int i = 0; i < NREC; i++) {
		char k[16], v[16];
		snprintf(k, sizeof(k), "k%d", i % NKEYS);
		snprintf(v, sizeof(v), "v%d", i);
		struct kv r = {k, v, NOW + i};
		append(part, &r, 1, 0);
	}
}

/* Every record seen has value v<offset>; below the cleaned end only the
 * latest offset of each key remains. */
static void check_compacted(struct log_partition *part, int64_t clean_to, int ntotal)
{
	struct got *g;
	int n = read_all(part, &g);
	int below = 0;
	for (int i = 0; i < n; i++) {
		char v[16];
		snprintf(v, sizeof(v), "v%lld", (long long)g[i].off);
		assert_string_equal(g[i].value, v);
		if (g[i].off < clean_to) {
			below++;
			int key = atoi(g[i].key + 1);
			/* the latest offset of this key below clean_to */
			int64_t latest = -1;
			for (int64_t o = key; o < clean_to && o < ntotal; o += NKEYS)
				latest = o;
			assert_int_equal(g[i].off, latest);
		}
	}
	assert_true(below <= NKEYS);
	assert_int_equal(n - below, ntotal - clean_to);
	free(g);
}

static void test_latest_per_key(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_partition *part = open_part(dir);
	fill(part);
	assert_int_equal(log_partition_sync(part), 0);
	assert_true(part->nsegs > 5);
	int64_t clean_to = part->segs[part->nsegs - 1]->base_offset;
	struct log_clean_config cc;
	log_clean_config_defaults(&cc);
	struct log_clean_stats st;
	assert_int_equal(log_partition_clean(part, &cc, NOW + DAY / 2, false, &st), 0);
	assert_true(st.segments_rewritten > 0);
	assert_true(st.bytes_after < st.bytes_before);
	check_compacted(part, clean_to, NREC);
	assert_int_equal(log_partition_start_offset(part), 0);
	assert_int_equal(log_partition_end_offset(part), NREC);

	/* Nothing dirty: a second pass does nothing. */
	assert_int_equal(log_partition_clean(part, &cc, NOW + DAY / 2, false, &st), 0);
	assert_int_equal(st.segments_rewritten, 0);

	/* Reads from every offset (gaps included) land on the next record. */
	for (int64_t o = 0; o < NREC; o++) {
		struct log_read_result res;
		assert_int_equal(log_partition_read(part, o, 1, false, &res), 0);
		assert_true(res.len > 0);
		uint8_t *b = tl_read_bytes(&res);
		struct records_batch_header h;
		records_header_parse(b, &h);
		assert_true(h.base_offset + h.last_offset_delta >= o);
		free(b);
		file_ref_put(res.file);
	}

	/* Restart after the swap, with a leftover .cleaned file. */
	log_partition_close(part);
	char *left = tl_seg_path(dir, 0, "log.cleaned");
	FILE *f = fopen(left, "w");
	fputs("junk", f);
	fclose(f);
	part = open_part(dir);
	assert_int_equal(tl_file_size(left), -1);
	free(left);
	check_compacted(part, clean_to, NREC);
	assert_int_equal(log_partition_end_offset(part), NREC);

	/* Appending and cleaning again keeps working after the restart. */
	for (int i = NREC; i < NREC + 100; i++) {
		char k[16], v[16];
		snprintf(k, sizeof(k), "k%d", i % NKEYS);
		snprintf(v, sizeof(v), "v%d", i);
		struct kv r = {k, v, NOW + i};
		append(part, &r, 1, 0);
	}
	assert_int_equal(log_partition_sync(part), 0);
	clean_to = part->segs[part->nsegs - 1]->base_offset;
	assert_int_equal(log_partition_clean(part, &cc, NOW + DAY / 2, true, &st), 0);
	check_compacted(part, clean_to, NREC + 100);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_tombstones_and_compressed(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_partition *part = open_part(dir);
	/* Offsets 0..5: one gzip batch and one lz4 batch of three records. */
	struct kv a[3] = {{"a", "a0", NOW - 3 * DAY}, {"b", "b0", NOW - 3 * DAY}, {"a", "a1", NOW - 3 * DAY}};
	append(part, a, 3, COMPRESSION_GZIP);
	struct kv b[3] = {{"c", "c0", NOW - 3 * DAY}, {"b", "b1", NOW - 3 * DAY}, {"d", "d0", NOW - 3 * DAY}};
	append(part, b, 3, COMPRESSION_LZ4);
	/* 6: old tombstone for a; 7: recent tombstone for c; 8: keyless (dropped). */
	struct kv t1 = {"a", NULL, NOW - 2 * DAY};
	append(part, &t1, 1, 0);
	struct kv t2 = {"c", NULL, NOW};
	append(part, &t2, 1, 0);
	struct kv nk = {NULL, "nokey", NOW};
	append(part, &nk, 1, 0);
	/* Filler so the above are sealed. */
	for (int i = 0; i < 40; i++) {
		char v[16];
		snprintf(v, sizeof(v), "f%d", i);
		struct kv r = {"filler", v, NOW};
		append(part, &r, 1, 0);
	}
	assert_int_equal(log_partition_sync(part), 0);
	struct log_clean_config cc;
	log_clean_config_defaults(&cc);
	assert_int_equal(log_partition_clean(part, &cc, NOW + 1000, true, NULL), 0);
	struct got *g;
	int n = read_all(part, &g);
	int64_t active = part->segs[part->nsegs - 1]->base_offset;
	/* Expected below the active segment: b1 (4), d0 (5), tombstone c (7), latest filler. */
	int i = 0;
	assert_true(n >= 4);
	assert_int_equal(g[i].off, 4);
	assert_string_equal(g[i].value, "b1");
	i++;
	assert_int_equal(g[i].off, 5);
	assert_string_equal(g[i].value, "d0");
	i++;
	assert_int_equal(g[i].off, 7);
	assert_true(g[i].tombstone);
	assert_string_equal(g[i].key, "c");
	i++;
	int fillers_below = 0;
	for (; i < n; i++) {
		assert_string_equal(g[i].key, "filler");
		assert_false(g[i].null_key);
		if (g[i].off < active)
			fillers_below++;
	}
	assert_true(fillers_below <= 1);
	free(g);

	/* A day later the recent tombstone expires too (dirty ratio forced). */
	assert_int_equal(log_partition_clean(part, &cc, NOW + 2 * DAY, true, NULL), 0);
	n = read_all(part, &g);
	for (i = 0; i < n; i++)
		assert_false(g[i].tombstone);
	assert_int_equal(g[0].off, 4);
	free(g);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_dirty_ratio_and_lag(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_partition *part = open_part(dir);
	fill(part);
	assert_int_equal(log_partition_sync(part), 0);
	struct log_clean_config cc;
	log_clean_config_defaults(&cc);
	struct log_clean_stats st;
	/* Every segment is younger than the lag: nothing cleaned. */
	cc.min_compaction_lag_ms = DAY;
	assert_int_equal(log_partition_clean(part, &cc, NOW + 1000, false, &st), 0);
	assert_int_equal(st.segments_rewritten, 0);
	cc.min_compaction_lag_ms = 0;
	assert_int_equal(log_partition_clean(part, &cc, NOW + 1000, false, &st), 0);
	assert_true(st.segments_rewritten > 0);
	/* A little new dirty data is below the ratio. */
	for (int i = NREC; i < NREC + 30; i++) {
		char k[16], v[16];
		snprintf(k, sizeof(k), "k%d", i % NKEYS);
		snprintf(v, sizeof(v), "v%d", i);
		struct kv r = {k, v, NOW + i};
		append(part, &r, 1, 0);
	}
	assert_int_equal(log_partition_sync(part), 0);
	cc.min_cleanable_ratio = 0.99;
	assert_int_equal(log_partition_clean(part, &cc, NOW + 1000, false, &st), 0);
	assert_int_equal(st.segments_rewritten, 0);
	log_partition_close(part);
	tl_rmdir(dir);
}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latest_per_key),
		cmocka_unit_test(test_tombstones_and_compressed),
		cmocka_unit_test(test_dirty_ratio_and_lag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
