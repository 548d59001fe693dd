/* Retention (log/retention.h) with an injected clock: whole sealed segments
 * older than retention.ms go, then the oldest ones while the log is above
 * retention.bytes; never the active segment; the log start offset moves
 * durably (survives a reopen); reads below it fail; a reader holding a file
 * of a deleted segment keeps reading it; the background thread runs passes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define TB_WITH_LOG
#include "base/buf.h"
#include "log/partition.h"
#include "log/retention.h"
#include "testutil_batch.h"

#define T0 1700000000000LL
#define NBATCH 10

/* Opens a partition whose segments each hold one batch of one 100-byte
 * record; batch i has timestamp T0 + i * 1000. Returns the batch size. */
static size_t open_filled(const char *dir, struct log_partition **part)
{
	struct tb_buf b = {0};
	size_t size = tb_simple(&b, 1, 100, T0);
	size = b.len;
	tb_free(&b);
	struct log_config cfg;
	log_config_defaults(&cfg);
	cfg.segment_bytes = (int64_t)size + 10; /* one batch per segment */
	cfg.retention_ms = -1;
	cfg.retention_bytes = -1;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(log_partition_open(dir, &cfg, NULL, part, errmsg), 0);
	for (int i = 0; i < NBATCH; i++) {
		tb_simple(&b, 1, 100, T0 + i * 1000);
		assert_int_equal(log_partition_append(*part, b.data, b.len, 1, T0 + i * 1000, NULL), 0);
		tb_free(&b);
	}
	assert_int_equal(log_partition_end_offset(*part), NBATCH);
	return size;
}

static void set_retention(struct log_partition *part, const char *dir, int64_t ms, int64_t bytes)
{
	(void)dir;
	struct log_config cfg;
	log_config_defaults(&cfg);
	cfg.segment_bytes = 200;
	cfg.retention_ms = ms;
	cfg.retention_bytes = bytes;
	log_partition_set_config(part, &cfg);
}

static int read_rc(struct log_partition *part, int64_t offset)
{
	struct log_read_result rr;
	int rc = log_partition_read(part, offset, 1 << 20, false, &rr);
	file_ref_put(rr.file);
	return rc;
}

static bool seg_exists(const char *dir, int64_t base)
{
	char *p = tl_seg_path(dir, base, "log");
	bool e = access(p, F_OK) == 0;
	free(p);
	return e;
}

static void test_retention_ms(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_partition *part;
	size_t size = open_filled(dir, &part);
	struct log_retention_result r;

	/* retention.ms = -1 (forever) and retention.bytes = -1: nothing. */
	assert_int_equal(log_partition_apply_retention(part, T0 + 1000000, &r), 0);
	assert_int_equal(r.segments, 0);
	assert_int_equal(log_partition_start_offset(part), 0);

	/* now - ts > 5000 for batches 0..6 (ts up to T0 + 6000). */
	set_retention(part, dir, 5000, -1);
	assert_int_equal(log_partition_apply_retention(part, T0 + 12000, &r), 0);
	assert_int_equal(r.segments, 7);
	assert_int_equal(r.bytes, (int64_t)(7 * size));
	assert_int_equal(r.start_offset, 7);
	assert_int_equal(log_partition_start_offset(part), 7);
	assert_int_equal(read_rc(part, 6), -SAMSA_ERANGE);
	assert_int_equal(read_rc(part, 7), 0);
	for (int i = 0; i < 7; i++)
		assert_false(seg_exists(dir, i));
	for (int i = 7; i < NBATCH; i++)
		assert_true(seg_exists(dir, i));

	/* Same clock again: nothing more. */
	assert_int_equal(log_partition_apply_retention(part, T0 + 12000, &r), 0);
	assert_int_equal(r.segments, 0);
	assert_int_equal(r.start_offset, 7);

	/* Far future: all but the active segment (offset 9). */
	assert_int_equal(log_partition_apply_retention(part, T0 + 100000000, &r), 0);
	assert_int_equal(r.segments, 2);
	assert_int_equal(log_partition_start_offset(part), 9);
	assert_true(seg_exists(dir, 9));
	assert_int_equal(log_partition_apply_retention(part, T0 + 100000000, &r), 0);
	assert_int_equal(r.segments, 0);

	/* Durable: a reopen starts at 9. */
	log_partition_close(part);
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(log_partition_open(dir, NULL, NULL, &part, errmsg), 0);
	assert_int_equal(log_partition_start_offset(part), 9);
	assert_int_equal(log_partition_end_offset(part), NBATCH);
	assert_int_equal(read_rc(part, 8), -SAMSA_ERANGE);
	assert_int_equal(read_rc(part, 9), 0);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_retention_bytes(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_partition *part;
	size_t size = open_filled(dir, &part);
	struct log_retention_result r;

	/* 10 segments of size bytes; keep at least 3 * size + 1: 6 go (the
	 * log may not drop below retention.bytes, Kafka's rule). */
	set_retention(part, dir, -1, 3 * (int64_t)size + 1);
	assert_int_equal(log_partition_apply_retention(part, T0, &r), 0);
	assert_int_equal(r.segments, 6);
	assert_int_equal(r.bytes, (int64_t)(6 * size));
	assert_int_equal(log_partition_start_offset(part), 6);

	/* Exactly 2 segments' worth: down to 2 (one sealed + the active). */
	set_retention(part, dir, -1, 2 * (int64_t)size);
	assert_int_equal(log_partition_apply_retention(part, T0, &r), 0);
	assert_int_equal(r.segments, 2);
	assert_int_equal(log_partition_start_offset(part), 8);

	/* 0 bytes: everything but the active segment. */
	set_retention(part, dir, -1, 0);
	assert_int_equal(log_partition_apply_retention(part, T0, &r), 0);
	assert_int_equal(r.segments, 1);
	assert_int_equal(log_partition_start_offset(part), 9);
	assert_int_equal(log_partition_apply_retention(part, T0, &r), 0);
	assert_int_equal(r.segments, 0);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_reader_keeps_file(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_partition *part;
	open_filled(dir, &part);
	struct log_read_result rr;
	assert_int_equal(log_partition_read(part, 0, 1 << 20, false, &rr), 0);
	assert_non_null(rr.file);
	uint8_t *before = tl_read_bytes(&rr);

	set_retention(part, dir, 0, -1);
	struct log_retention_result r;
	assert_int_equal(log_partition_apply_retention(part, T0 + 20000, &r), 0);
	assert_int_equal(r.segments, NBATCH - 1);
	assert_false(seg_exists(dir, 0));

	uint8_t *after = tl_read_bytes(&rr); /* the unlinked file is still readable */
	assert_memory_equal(before, after, (size_t)rr.len);
	free(before);
	free(after);
	file_ref_put(rr.file);

	/* Appends go on after the start moved. */
	struct tb_buf b = {0};
	tb_simple(&b, 1, 100, T0 + 30000);
	struct log_append_result ar;
	assert_int_equal(log_partition_append(part, b.data, b.len, 1, T0 + 30000, &ar), 0);
	assert_int_equal(ar.base_offset, NBATCH);
	assert_int_equal(ar.log_start_offset, NBATCH - 1);
	tb_free(&b);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_active_segment_stays(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	log_config_defaults(&cfg);
	cfg.retention_ms = 0;
	cfg.retention_bytes = 0;
	struct log_partition *part;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(log_partition_open(dir, &cfg, NULL, &part, errmsg), 0);
	struct log_retention_result r;
	assert_int_equal(log_partition_apply_retention(part, T0, &r), 0); /* empty log */
	assert_int_equal(r.segments, 0);
	struct tb_buf b = {0};
	tb_simple(&b, 5, 100, T0);
	assert_int_equal(log_partition_append(part, b.data, b.len, 5, T0, NULL), 0);
	tb_free(&b);
	assert_int_equal(log_partition_apply_retention(part, T0 + 100000000, &r), 0);
	assert_int_equal(r.segments, 0);
	assert_int_equal(log_partition_start_offset(part), 0);
	assert_int_equal(read_rc(part, 0), 0);
	log_partition_close(part);
	tl_rmdir(dir);
}

static atomic_int passes;
static atomic_llong last_now;

static void count_pass(void *arg, int64_t now_ms)
{
	assert_ptr_equal(arg, &passes);
	atomic_fetch_add(&passes, 1);
	atomic_store(&last_now, now_ms);
}

static void test_thread(void **state)
{
	(void)state;
	struct log_retention *ret = log_retention_start(10, count_pass, &passes);
	assert_non_null(ret);
	struct timespec ts = {0, 150 * 1000000};
	nanosleep(&ts, NULL);
	log_retention_stop(ret);
	int n = atomic_load(&passes);
	assert_true(n >= 2);
	assert_true(atomic_load(&last_now) > T0);
	/* A long interval: stop does not wait for it. */
	ret = log_retention_start(3600000, count_pass, &passes);
	log_retention_stop(ret);
	assert_int_equal(atomic_load(&passes), n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retention_ms),
		cmocka_unit_test(test_retention_bytes),
		cmocka_unit_test(test_reader_keeps_file),
		cmocka_unit_test(test_active_segment_stays),
		cmocka_unit_test(test_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
