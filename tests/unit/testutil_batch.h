/* Test helper: builds valid record batch v2 bytes by hand (no client library),
 * so tests of validation and of the log can make batches of any shape.
 * Header-only because the build links each tests/unit/test_*.c on its own. */
#ifndef SAMSA_TESTS_TESTUTIL_BATCH_H
#define SAMSA_TESTS_TESTUTIL_BATCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/records.h"

struct tb_buf {
	uint8_t *data;
	size_t len, cap;
};

struct tb_opts {
	int32_t count;         /* records, >= 1 */
	int64_t base_ts;       /* baseTimestamp */
	int64_t ts_step;       /* timestampDelta of record i = i * ts_step */
	size_t value_size;     /* bytes per value (filled from a counter) */
	const char *key;       /* NULL: null key */
	int headers;           /* headers per record ("h<i>" -> "v") */
	int16_t attributes;    /* e.g. compression bits (payload stays uncompressed) */
	int64_t producer_id;   /* -1 default */
	int64_t base_offset;   /* as sent by a producer: usually 0 */
};

static inline void tb_opts_default(struct tb_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->count = 1;
	o->base_ts = 1700000000000LL;
	o->ts_step = 1;
	o->value_size = 16;
	o->producer_id = -1;
}

static inline void tb_reserve(struct tb_buf *b, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->data = realloc(b->data, cap);
		b->cap = cap;
	}
}

static inline void tb_put(struct tb_buf *b, const void *p, size_t n)
{
	tb_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void tb_u8(struct tb_buf *b, uint8_t v)
{
	tb_put(b, &v, 1);
}

static inline void tb_be(struct tb_buf *b, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		tb_u8(b, (uint8_t)(v >> (8 * i)));
}

static inline void tb_varlong(struct tb_buf *b, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	while (z >= 0x80) {
		tb_u8(b, (uint8_t)(z | 0x80));
		z >>= 7;
	}
	tb_u8(b, (uint8_t)z);
}

static inline void tb_set_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		*p++ = (uint8_t)(v >> (8 * i));
}

static inline uint64_t tb_get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* Recomputes the CRC of the batch at p (after editing it). */
static inline void tb_fix_crc(uint8_t *p)
{
	uint32_t blen = (uint32_t)tb_get_be(p + 8, 4);
	uint32_t crc = crc32c(0, p + 21, blen + 12 - 21);
	tb_set_be(p + 17, crc, 4);
}

/* Appends one batch to b; returns its offset in b. */
static inline size_t tb_batch(struct tb_buf *b, const struct tb_opts *o)
{
	size_t start = b->len;
	tb_be(b, (uint64_t)o->base_offset, 8);
	tb_be(b, 0, 4);                        /* batchLength, patched */
	tb_be(b, (uint64_t)-1, 4);             /* partitionLeaderEpoch */
	tb_u8(b, 2);                           /* magic */
	tb_be(b, 0, 4);                        /* crc, patched */
	tb_be(b, (uint16_t)o->attributes, 2);
	tb_be(b, (uint32_t)(o->count - 1), 4); /* lastOffsetDelta */
	tb_be(b, (uint64_t)o->base_ts, 8);
	tb_be(b, (uint64_t)(o->base_ts + (int64_t)(o->count - 1) * o->ts_step), 8);
	tb_be(b, (uint64_t)o->producer_id, 8);
	tb_be(b, (uint16_t)-1, 2);             /* producerEpoch */
	tb_be(b, (uint32_t)-1, 4);             /* baseSequence */
	tb_be(b, (uint32_t)o->count, 4);
	for (int32_t i = 0; i < o->count; i++) {
		struct tb_buf r = {0};
		tb_u8(&r, 0);
		tb_varlong(&r, (int64_t)i * o->ts_step);
		tb_varlong(&r, i);
		if (o->key) {
			tb_varlong(&r, (int64_t)strlen(o->key));
			tb_put(&r, o->key, strlen(o->key));
		} else {
			tb_varlong(&r, -1);
		}
		tb_varlong(&r, (int64_t)o->value_size);
		tb_reserve(&r, o->value_size);
		for (size_t k = 0; k < o->value_size; k++)
			r.data[r.len++] = (uint8_t)(i + k);
		tb_varlong(&r, o->headers);
		for (int h = 0; h < o->headers; h++) {
			char hk[16];
			int n = snprintf(hk, sizeof(hk), "h%d", h);
			tb_varlong(&r, n);
			tb_put(&r, hk, (size_t)n);
			tb_varlong(&r, 1);
			tb_u8(&r, 'v');
		}
		tb_varlong(b, (int64_t)r.len);
		tb_put(b, r.data, r.len);
		free(r.data);
	}
	tb_set_be(b->data + start + 8, b->len - start - 12, 4);
	tb_fix_crc(b->data + start);
	return start;
}

/* Convenience: a batch of count records with value_size-byte values. */
static inline size_t tb_simple(struct tb_buf *b, int32_t count, size_t value_size, int64_t base_ts)
{
	struct tb_opts o;
	tb_opts_default(&o);
	o.count = count;
	o.value_size = value_size;
	o.base_ts = base_ts;
	return tb_batch(b, &o);
}

static inline void tb_free(struct tb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}


/* ------------------------------------------------------------------------
 * Log test helpers (temp dirs, reading results back), for test_log_*.c:
 * define TB_WITH_LOG before including this header. */
#ifdef TB_WITH_LOG
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/partition.h"

static inline char *tl_tmpdir(void)
{
	char tmpl[] = "/tmp/samsa-logtest-XXXXXX";
	char *d = mkdtemp(tmpl);
	if (!d)
		abort();
	char *dir = malloc(strlen(d) + 16);
	sprintf(dir, "%s/t-0", d);
	return dir; /* partition dir inside a fresh parent (not created yet) */
}

static int tl_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes the partition dir's parent (the mkdtemp directory) and frees dir. */
static inline void tl_rmdir(char *dir)
{
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	nftw(dir, tl_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static inline uint8_t *tl_read_bytes(const struct log_read_result *res)
{
	uint8_t *buf = malloc(res->len ? (size_t)res->len : 1);
	ssize_t n = pread(res->file->fd, buf, (size_t)res->len, res->file_pos);
	if (n != res->len)
		abort();
	return buf;
}

static inline char *tl_path(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

static inline char *tl_seg_path(const char *dir, int64_t base, const char *ext)
{
	char name[64];
	snprintf(name, sizeof(name), "%020lld.%s", (long long)base, ext);
	return tl_path(dir, name);
}

static inline int64_t tl_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static inline int tl_count_files(const char *dir, const char *ext)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.%s$'", dir, ext);
	FILE *f = popen(cmd, "r");
	int n = 0;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

/* A small-segment config for tests. */
static inline void tl_config(struct log_config *cfg, int64_t segment_bytes)
{
	log_config_defaults(cfg);
	cfg->segment_bytes = segment_bytes;
	cfg->index_interval_bytes = 256;
}

#endif /* TB_WITH_LOG */

#endif
