/* The partition log: append/read round trips across segment rolls, reads from
 * inside a batch, KIP-74 and strict max_bytes, offset ranges, timestamps,
 * LogAppendTime, reopen after a clean close, failed appends, concurrent
 * readers, delete, the fd budget (one per partition plus the bounded cache of
 * sealed segments' files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/log.h"
#include "log/flusher.h"
#include "log/log_int.h"
#define TB_WITH_LOG
#include "unit/testutil_batch.h"

#define NOW 1700000000000LL

struct batch_rec {
	int64_t base, last;
	size_t pos; /* in the expected byte stream */
	size_t len;
	int64_t max_ts;
};

/* Everything appended, as stored (baseOffset patched). */
struct expect {
	uint8_t *bytes;
	size_t len, cap;
	struct batch_rec *b;
	int n, cap_b;
};

static void expect_add(struct expect *e, const uint8_t *p, size_t len)
{
	/* Split into batches. */
	for (size_t at = 0; at < len;) {
		struct records_batch_header h;
		records_header_parse(p + at, &h);
		size_t bl = (size_t)h.batch_length + 12;
		if (e->n == e->cap_b) {
			e->cap_b = e->cap_b ? e->cap_b * 2 : 64;
			e->b = realloc(e->b, (size_t)e->cap_b * sizeof(*e->b));
		}
		e->b[e->n++] = (struct batch_rec){h.base_offset, h.base_offset + h.last_offset_delta,
						  e->len + at, bl, h.max_timestamp};
		at += bl;
	}
	if (e->len + len > e->cap) {
		e->cap = (e->len + len) * 2;
		e->bytes = realloc(e->bytes, e->cap);
	}
	memcpy(e->bytes + e->len, p, len);
	e->len += len;
}

static void expect_free(struct expect *e)
{
	free(e->bytes);
	free(e->b);
}

/* Appends `batches` batches of 1..5 records (sizes vary) in sets of 1..3. */
static void append_many(struct log_partition *part, struct expect *e, int batches, int64_t now,
			unsigned seed)
{
	int done = 0;
	while (done < batches) {
		struct tb_buf b = {0};
		int in_set = 1 + (int)(seed % 3);
		int32_t records = 0;
		for (int k = 0; k < in_set && done < batches; k++, done++) {
			seed = seed * 1103515245 + 12345;
			int32_t count = 1 + (int32_t)((seed >> 8) % 5);
			size_t vsize = 10 + (seed >> 12) % 300;
			tb_simple(&b, count, vsize, now + done * 10);
			records += count;
		}
		int64_t end = log_partition_end_offset(part);
		struct log_append_result res;
		int rc = log_partition_append(part, b.data, b.len, records, now, &res);
		assert_int_equal(rc, 0);
		assert_int_equal(res.base_offset, end);
		assert_int_equal(res.last_offset, end + records - 1);
		assert_int_equal(res.log_append_time, -1);
		assert_int_equal(log_partition_end_offset(part), end + records);
		expect_add(e, b.data, b.len);
		tb_free(&b);
	}
}

/* Reads the whole log with max_bytes chunks and compares with e. */
static void check_read_all(struct log_partition *part, struct expect *e, int32_t max_bytes)
{
	size_t got = 0;
	int64_t offset = log_partition_start_offset(part);
	int64_t end = log_partition_end_offset(part);
	while (offset < end) {
		struct log_read_result res;
		assert_int_equal(log_partition_read(part, offset, max_bytes, false, &res), 0);
		assert_true(res.len > 0);
		assert_int_equal(res.high_watermark, end);
		uint8_t *bytes = tl_read_bytes(&res);
		assert_true(got + (size_t)res.len <= e->len);
		assert_memory_equal(bytes, e->bytes + got, (size_t)res.len);
		assert_int_equal(records_validate(bytes, (size_t)res.len, 0, NULL, NULL), 0);
		/* Whole batches, and no more than max_bytes unless it is one batch. */
		size_t at = 0, n = 0;
		int64_t last = -1;
		while (at < (size_t)res.len) {
			struct records_batch_header h;
			records_header_parse(bytes + at, &h);
			at += (size_t)h.batch_length + 12;
			last = h.base_offset + h.last_offset_delta;
			n++;
		}
		assert_int_equal(at, (size_t)res.len);
		if (n > 1)
			assert_true(res.len <= max_bytes);
		got += (size_t)res.len;
		offset = last + 1;
		free(bytes);
		file_ref_put(res.file);
	}
	assert_int_equal(got, e->len);
}

static struct log_partition *open_part(const char *dir, const struct log_config *cfg)
{
	struct log_partition *part;
	char errmsg[ERRMSG_SIZE];
	int rc = log_partition_open(dir, cfg, NULL, &part, errmsg);
	if (rc)
		fail_msg("open %s: %s", dir, errmsg);
	return part;
}

/* Partition i of a test's set: directory "<base>-<i>" (into dir). */
static struct log_partition *open_nth(char *dir, size_t cap, const char *base, int i,
				      const struct log_config *cfg)
{
	snprintf(dir, cap, "%s-%d", base, i);
	return open_part(dir, cfg);
}

static void test_new_partition(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	assert_int_equal(log_partition_start_offset(part), 0);
	assert_int_equal(log_partition_end_offset(part), 0);
	char *p = tl_seg_path(dir, 0, "log");
	assert_int_equal(tl_file_size(p), 0);
	free(p);
	struct log_read_result res;
	assert_int_equal(log_partition_read(part, 0, 1000, false, &res), 0);
	assert_int_equal(res.len, 0);
	assert_null(res.file);
	assert_int_equal(log_partition_read(part, 1, 1000, false, &res), -SAMSA_ERANGE);
	assert_int_equal(log_partition_read(part, -1, 1000, false, &res), -SAMSA_ERANGE);
	int64_t ts, off;
	log_partition_max_timestamp(part, &ts, &off);
	assert_int_equal(ts, -1);
	assert_int_equal(off, -1);
	assert_int_equal(log_partition_offset_for_time(part, 0, &off, &ts), 0);
	assert_int_equal(off, -1);

	/* A second open of the same directory is refused while it is open. */
	struct log_partition *again;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(log_partition_open(dir, &cfg, NULL, &again, errmsg), -EBUSY);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_round_trip_rolls(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 8192);
	struct log_partition *part = open_part(dir, &cfg);
	struct expect e = {0};
	append_many(part, &e, 400, NOW, 1);
	assert_true(tl_count_files(dir, "log") > 10);
	assert_int_equal(tl_count_files(dir, "log"), tl_count_files(dir, "index"));
	check_read_all(part, &e, 1 << 20);
	check_read_all(part, &e, 3000);
	check_read_all(part, &e, 1);

	/* Offsets are contiguous and every offset reads its own batch. */
	for (int i = 0; i < e.n; i++) {
		if (i)
			assert_int_equal(e.b[i].base, e.b[i - 1].last + 1);
		for (int64_t o = e.b[i].base; o <= e.b[i].last; o++) {
			struct log_read_result res;
			assert_int_equal(log_partition_read(part, o, 1, false, &res), 0);
			assert_int_equal(res.len, (int32_t)e.b[i].len);
			uint8_t *bytes = tl_read_bytes(&res);
			assert_memory_equal(bytes, e.bytes + e.b[i].pos, e.b[i].len);
			free(bytes);
			file_ref_put(res.file);
		}
	}
	log_partition_close(part);
	expect_free(&e);
	tl_rmdir(dir);
}

static void test_read_limits(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	struct tb_buf b = {0};
	tb_simple(&b, 5, 1000, NOW);     /* ~5 KiB, offsets 0..4 */
	tb_simple(&b, 1, 100, NOW + 1);  /* offset 5 */
	tb_simple(&b, 2, 100, NOW + 2);  /* offsets 6..7 */
	struct records_batch_header h;
	records_header_parse(b.data, &h);
	int32_t first = h.batch_length + 12;
	records_header_parse(b.data + first, &h);
	int32_t second = h.batch_length + 12;
	struct log_append_result ar;
	assert_int_equal(log_partition_append(part, b.data, b.len, 8, NOW, &ar), 0);

	struct log_read_result res;
	/* KIP-74: the first batch even though larger than max_bytes. */
	assert_int_equal(log_partition_read(part, 2, 100, false, &res), 0);
	assert_int_equal(res.file_pos, 0);
	assert_int_equal(res.len, first);
	file_ref_put(res.file);
	/* strict_max: nothing. */
	assert_int_equal(log_partition_read(part, 2, 100, true, &res), 0);
	assert_int_equal(res.len, 0);
	assert_null(res.file);
	/* Exactly two batches fit. */
	assert_int_equal(log_partition_read(part, 0, first + second, true, &res), 0);
	assert_int_equal(res.len, first + second);
	file_ref_put(res.file);
	assert_int_equal(log_partition_read(part, 0, first + second + 10, false, &res), 0);
	assert_int_equal(res.len, first + second);
	file_ref_put(res.file);
	/* From offset 5: the second batch onwards. */
	assert_int_equal(log_partition_read(part, 5, 1 << 20, false, &res), 0);
	assert_int_equal(res.file_pos, first);
	assert_int_equal(res.len, (int32_t)b.len - first);
	file_ref_put(res.file);
	/* End and beyond. */
	assert_int_equal(log_partition_read(part, 8, 100, false, &res), 0);
	assert_int_equal(res.len, 0);
	assert_int_equal(res.high_watermark, 8);
	assert_int_equal(log_partition_read(part, 9, 100, false, &res), -SAMSA_ERANGE);
	assert_int_equal(res.high_watermark, 8);
	/* Bad input to append: set and count do not agree. */
	assert_int_equal(log_partition_append(part, b.data, b.len, 7, NOW, &ar), -EINVAL);
	assert_int_equal(log_partition_append(part, b.data, b.len - 1, -1, NOW, &ar), -EINVAL);
	assert_int_equal(log_partition_end_offset(part), 8);
	tb_free(&b);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_timestamps(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 4096);
	struct log_partition *part = open_part(dir, &cfg);
	/* 100 batches of 4 records: batch i has timestamps T + 100 i + {0, 10, 20, 30},
	 * except batch 50 which is far in the past (non-monotonic). */
	const int64_t T = NOW;
	for (int i = 0; i < 100; i++) {
		struct tb_buf b = {0};
		struct tb_opts o;
		tb_opts_default(&o);
		o.count = 4;
		o.ts_step = 10;
		o.value_size = 200;
		o.base_ts = i == 50 ? T - 100000 : T + 100 * i;
		tb_batch(&b, &o);
		struct log_append_result ar;
		assert_int_equal(log_partition_append(part, b.data, b.len, 4, NOW, &ar), 0);
		tb_free(&b);
	}
	int64_t off, ts;
	/* Before everything: the first record. */
	assert_int_equal(log_partition_offset_for_time(part, T - 200000, &off, &ts), 0);
	assert_int_equal(off, 0);
	assert_int_equal(ts, T);
	/* Exactly a record's timestamp, and between two records of a batch. */
	assert_int_equal(log_partition_offset_for_time(part, T + 100 * 70 + 20, &off, &ts), 0);
	assert_int_equal(off, 70 * 4 + 2);
	assert_int_equal(ts, T + 100 * 70 + 20);
	assert_int_equal(log_partition_offset_for_time(part, T + 100 * 70 + 21, &off, &ts), 0);
	assert_int_equal(off, 70 * 4 + 3);
	/* Between batches: the next batch's first record. */
	assert_int_equal(log_partition_offset_for_time(part, T + 100 * 30 + 31, &off, &ts), 0);
	assert_int_equal(off, 31 * 4);
	assert_int_equal(ts, T + 100 * 31);
	/* Past the end. */
	assert_int_equal(log_partition_offset_for_time(part, T + 100 * 99 + 31, &off, &ts), 0);
	assert_int_equal(off, -1);
	log_partition_max_timestamp(part, &ts, &off);
	assert_int_equal(ts, T + 100 * 99 + 30);
	assert_int_equal(off, 99 * 4 + 3);

	/* Same answers after a reopen (indexes from files, sealed segments mapped). */
	log_partition_close(part);
	part = open_part(dir, &cfg);
	assert_int_equal(log_partition_offset_for_time(part, T + 100 * 70 + 21, &off, &ts), 0);
	assert_int_equal(off, 70 * 4 + 3);
	assert_int_equal(log_partition_offset_for_time(part, T + 100 * 30 + 31, &off, &ts), 0);
	assert_int_equal(off, 31 * 4);
	log_partition_max_timestamp(part, &ts, &off);
	assert_int_equal(ts, T + 100 * 99 + 30);
	assert_int_equal(off, 99 * 4 + 3);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_log_append_time(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	cfg.timestamp_log_append = true;
	struct log_partition *part = open_part(dir, &cfg);
	struct tb_buf b = {0};
	tb_simple(&b, 3, 50, 1000);
	tb_simple(&b, 2, 50, 2000);
	struct log_append_result ar;
	assert_int_equal(log_partition_append(part, b.data, b.len, 5, NOW + 5, &ar), 0);
	assert_int_equal(ar.log_append_time, NOW + 5);
	struct log_read_result res;
	assert_int_equal(log_partition_read(part, 0, 1 << 20, false, &res), 0);
	uint8_t *bytes = tl_read_bytes(&res);
	assert_int_equal(records_validate(bytes, (size_t)res.len, 0, NULL, NULL), 0);
	struct records_batch_header h;
	records_header_parse(bytes, &h);
	assert_true(h.attributes & RECORDS_ATTR_TIMESTAMP_TYPE);
	assert_int_equal(h.max_timestamp, NOW + 5);
	assert_int_equal(h.base_timestamp, 1000);
	free(bytes);
	file_ref_put(res.file);
	int64_t off, ts;
	assert_int_equal(log_partition_offset_for_time(part, NOW, &off, &ts), 0);
	assert_int_equal(off, 0);
	assert_int_equal(ts, NOW + 5);
	tb_free(&b);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_reopen(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 16384);
	struct log_partition *part = open_part(dir, &cfg);
	struct expect e = {0};
	append_many(part, &e, 300, NOW, 7);
	int64_t end = log_partition_end_offset(part);
	log_partition_close(part);

	part = open_part(dir, &cfg);
	assert_int_equal(log_partition_end_offset(part), end);
	assert_int_equal(log_partition_flushed_offset(part), end);
	check_read_all(part, &e, 5000);
	append_many(part, &e, 50, NOW, 8);
	check_read_all(part, &e, 1 << 20);
	end = log_partition_end_offset(part);
	log_partition_close(part);

	/* And a third time, with a different index interval. */
	cfg.index_interval_bytes = 4096;
	part = open_part(dir, &cfg);
	assert_int_equal(log_partition_end_offset(part), end);
	check_read_all(part, &e, 777);
	log_partition_close(part);
	expect_free(&e);
	tl_rmdir(dir);
}

static void test_segment_ms(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	cfg.segment_ms = 1000;
	struct log_partition *part = open_part(dir, &cfg);
	struct tb_buf b = {0};
	tb_simple(&b, 1, 10, NOW);
	struct log_append_result ar;
	uint8_t *copy = malloc(b.len);
	memcpy(copy, b.data, b.len);
	assert_int_equal(log_partition_append(part, b.data, b.len, 1, NOW, &ar), 0);
	memcpy(b.data, copy, b.len);
	assert_int_equal(log_partition_append(part, b.data, b.len, 1, NOW + 1000, &ar), 0);
	assert_int_equal(tl_count_files(dir, "log"), 1);
	memcpy(b.data, copy, b.len);
	assert_int_equal(log_partition_append(part, b.data, b.len, 1, NOW + 1001, &ar), 0);
	assert_int_equal(tl_count_files(dir, "log"), 2);
	char *p = tl_seg_path(dir, 2, "log");
	assert_int_equal(tl_file_size(p), (int64_t)b.len);
	free(p);
	free(copy);
	tb_free(&b);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_append_failure(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	struct tb_buf b = {0};
	tb_simple(&b, 10, 1000, NOW);
	uint8_t *copy = malloc(b.len);
	memcpy(copy, b.data, b.len);
	struct log_append_result ar;
	assert_int_equal(log_partition_append(part, b.data, b.len, 10, NOW, &ar), 0);

	/* A file size limit in the middle of the next batch: a short write, then
	 * EFBIG. Nothing of it may stay. */
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)(b.len + b.len / 2);
	setrlimit(RLIMIT_FSIZE, &lim);
	memcpy(b.data, copy, b.len);
	int rc = log_partition_append(part, b.data, b.len, 10, NOW, &ar);
	setrlimit(RLIMIT_FSIZE, &old);
	assert_int_equal(rc, -EFBIG);
	assert_int_equal(log_partition_end_offset(part), 10);
	char *p = tl_seg_path(dir, 0, "log");
	assert_int_equal(tl_file_size(p), (int64_t)b.len);
	free(p);
	struct log_read_result res;
	assert_int_equal(log_partition_read(part, 0, 1 << 20, false, &res), 0);
	assert_int_equal(res.len, (int32_t)b.len);
	file_ref_put(res.file);
	/* And the log carries on. */
	memcpy(b.data, copy, b.len);
	assert_int_equal(log_partition_append(part, b.data, b.len, 10, NOW, &ar), 0);
	assert_int_equal(ar.base_offset, 10);
	assert_int_equal(log_partition_end_offset(part), 20);
	free(copy);
	tb_free(&b);
	log_partition_close(part);
	tl_rmdir(dir);
}

struct conc {
	struct log_partition *part;
	atomic_bool stop;
	atomic_long reads;
};

static void *reader_main(void *arg)
{
	struct conc *c = arg;
	unsigned seed = (unsigned)(uintptr_t)pthread_self();
	while (!atomic_load(&c->stop)) {
		int64_t end = log_partition_end_offset(c->part);
		if (end == 0)
			continue;
		seed = seed * 1103515245 + 12345;
		int64_t o = (int64_t)((seed >> 4) % (uint64_t)end);
		struct log_read_result res;
		int rc = log_partition_read(c->part, o, 1 + (int32_t)((seed >> 10) % 20000), false, &res);
		if (rc != 0 || res.len <= 0 || res.high_watermark < end)
			abort();
		uint8_t *bytes = tl_read_bytes(&res);
		if (records_validate(bytes, (size_t)res.len, 0, NULL, NULL) != 0)
			abort();
		struct records_batch_header h;
		records_header_parse(bytes, &h);
		if (h.base_offset > o || h.base_offset + h.last_offset_delta < o)
			abort();
		free(bytes);
		file_ref_put(res.file);
		atomic_fetch_add(&c->reads, 1);
	}
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 65536);
	cfg.flush_messages = 100; /* the flusher syncs while we append and read */
	struct log_flusher *fl = log_flusher_start();
	struct log_partition *part;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(log_partition_open(dir, &cfg, fl, &part, errmsg), 0);
	struct conc c = {.part = part};
	atomic_init(&c.stop, false);
	atomic_init(&c.reads, 0);
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader_main, &c);
	struct expect e = {0};
	append_many(c.part, &e, 3000, NOW, 3);
	while (atomic_load(&c.reads) < 1000)
		usleep(1000);
	atomic_store(&c.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	check_read_all(c.part, &e, 1 << 16);
	log_partition_close(c.part);
	log_flusher_stop(fl);
	expect_free(&e);
	tl_rmdir(dir);
}

static void test_delete(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 4096);
	struct log_partition *part = open_part(dir, &cfg);
	struct expect e = {0};
	append_many(part, &e, 50, NOW, 9);
	assert_int_equal(log_partition_sync(part), 0);
	assert_int_equal(log_partition_flushed_offset(part), log_partition_end_offset(part));
	assert_int_equal(log_partition_delete(part), 0);
	assert_int_equal(access(dir, F_OK), -1);
	expect_free(&e);
	tl_rmdir(dir);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the listing's own */
}

/* Many partitions with many segments hold one fd each (the active .log)
 * plus at most the cache's limit of sealed files, however they are read;
 * a read's file reference outlives the cache closing that file. */
static void test_fd_budget(void **state)
{
	(void)state;
	enum { NPARTS = 40, CACHE = 8 };
	log_segment_file_cache_limit(CACHE);
	char *base = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 4096);
	int before = count_fds();
	struct log_partition *parts[NPARTS];
	struct expect e[NPARTS];
	memset(e, 0, sizeof(e));
	char dir[256];
	for (int i = 0; i < NPARTS; i++) {
		parts[i] = open_nth(dir, sizeof(dir), base, i, &cfg);
		append_many(parts[i], &e[i], 60, NOW, (unsigned)i + 1);
		assert_int_equal(log_partition_sync(parts[i]), 0);
		assert_true(tl_count_files(dir, "log") > 3);
		assert_true(count_fds() - before <= i + 1 + CACHE);
	}
	/* A reference into partition 0's first segment, held while reads of
	 * every segment everywhere cycle the cache. */
	struct log_read_result held;
	assert_int_equal(log_partition_read(parts[0], 0, 1, false, &held), 0);
	assert_true(held.len > 0);
	for (int i = 0; i < NPARTS; i++) {
		check_read_all(parts[i], &e[i], 1000);
		assert_true(count_fds() - before <= NPARTS + CACHE + 1);
	}
	uint8_t *bytes = tl_read_bytes(&held);
	assert_memory_equal(bytes, e[0].bytes, (size_t)held.len);
	free(bytes);
	file_ref_put(held.file);

	/* Reopened partitions: the same budget right after recovery. */
	for (int i = 0; i < NPARTS; i++)
		log_partition_close(parts[i]);
	assert_int_equal(count_fds(), before);
	for (int i = 0; i < NPARTS; i++) {
		parts[i] = open_nth(dir, sizeof(dir), base, i, &cfg);
	}
	assert_true(count_fds() - before <= NPARTS + CACHE);
	for (int i = 0; i < NPARTS; i++) {
		check_read_all(parts[i], &e[i], 1 << 20);
		log_partition_close(parts[i]);
		expect_free(&e[i]);
	}
	assert_int_equal(count_fds(), before);
	log_segment_file_cache_limit(LOG_SEALED_FILES_MAX);
	tl_rmdir(base);
}

static bool has_recovery_point(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, LOG_CHECKPOINT_FILE);
	return access(path, F_OK) == 0;
}

/* Closing many partitions side by side: each with data gets its final sync
 * and recovery point (reopened, it reads back whole), an empty one writes
 * no recovery point (nothing to recover), a NULL slot is skipped. */
static void test_close_many_side_by_side(void **state)
{
	(void)state;
	enum { NPARTS = 25, EMPTY_FROM = 20 };
	char *base = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 4096);
	struct log_partition *parts[NPARTS + 1];
	struct expect e[NPARTS];
	memset(e, 0, sizeof(e));
	char dir[256];
	for (int i = 0; i < NPARTS; i++) {
		parts[i] = open_nth(dir, sizeof(dir), base, i, &cfg);
		if (i < EMPTY_FROM)
			append_many(parts[i], &e[i], 20 + i, NOW, (unsigned)i + 7);
	}
	parts[NPARTS] = NULL;
	log_partitions_close(parts, NPARTS + 1);
	for (int i = 0; i < NPARTS; i++) {
		snprintf(dir, sizeof(dir), "%s-%d", base, i);
		assert_int_equal(has_recovery_point(dir), i < EMPTY_FROM); /* before reopening */
		struct log_partition *part = open_part(dir, &cfg);
		if (i < EMPTY_FROM)
			check_read_all(part, &e[i], 1 << 20);
		else
			assert_int_equal(log_partition_end_offset(part), 0);
		log_partition_close(part);
		expect_free(&e[i]);
	}
	log_partitions_close(parts, 0);
	tl_rmdir(base);
}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_partition),
		cmocka_unit_test(test_round_trip_rolls),
		cmocka_unit_test(test_read_limits),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_log_append_time),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_segment_ms),
		cmocka_unit_test(test_append_failure),
		cmocka_unit_test(test_concurrent_readers),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_fd_budget),
		cmocka_unit_test(test_close_many_side_by_side),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
