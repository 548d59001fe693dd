/* Recovery at open: torn tails, flipped bytes, stray and missing files, empty
 * segments, crash images taken while the partition was open, and the recovery
 * point. Each case reopens the directory and checks the end offset and that
 * everything before the damage reads back byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#define TB_WITH_LOG
#include "unit/testutil_batch.h"

#define NOW 1700000000000LL

/* The log as appended: batch i holds offsets [3i, 3i+2] and is `blen` bytes. */
#define RECS 3

static struct log_partition *open_part(const char *dir, const struct log_config *cfg)
{
	struct log_partition *part;
	char errmsg[ERRMSG_SIZE];
	int rc = log_partition_open(dir, cfg, NULL, &part, errmsg);
	if (rc)
		fail_msg("open %s: %s", dir, errmsg);
	return part;
}

/* Appends n batches of RECS records of 200-byte values; returns the batch size. */
static size_t fill(struct log_partition *part, int n)
{
	size_t blen = 0;
	for (int i = 0; i < n; i++) {
		struct tb_buf b = {0};
		tb_simple(&b, RECS, 200, NOW + i);
		blen = b.len;
		struct log_append_result ar;
		assert_int_equal(log_partition_append(part, b.data, b.len, RECS, NOW, &ar), 0);
		tb_free(&b);
	}
	return blen;
}

/* Reads everything and checks offsets 0..end-1 are there, valid, in order. */
static void check_log(struct log_partition *part, int64_t end)
{
	assert_int_equal(log_partition_end_offset(part), end);
	int64_t offset = 0;
	while (offset < end) {
		struct log_read_result res;
		assert_int_equal(log_partition_read(part, offset, 1 << 20, false, &res), 0);
		assert_true(res.len > 0);
		uint8_t *bytes = tl_read_bytes(&res);
		assert_int_equal(records_validate(bytes, (size_t)res.len, 0, NULL, NULL), 0);
		for (size_t at = 0; at < (size_t)res.len;) {
			struct records_batch_header h;
			records_header_parse(bytes + at, &h);
			assert_int_equal(h.base_offset, offset);
			offset += h.last_offset_delta + 1;
			at += (size_t)h.batch_length + 12;
		}
		free(bytes);
		file_ref_put(res.file);
	}
	assert_int_equal(offset, end);
	/* And appending continues at end. */
	struct tb_buf b = {0};
	tb_simple(&b, 1, 10, NOW);
	struct log_append_result ar;
	assert_int_equal(log_partition_append(part, b.data, b.len, 1, NOW, &ar), 0);
	assert_int_equal(ar.base_offset, end);
	tb_free(&b);
}

static void remove_checkpoint(const char *dir)
{
	char *p = tl_path(dir, "recovery-point");
	unlink(p);
	free(p);
}

static void truncate_file(const char *path, int64_t by)
{
	int64_t size = tl_file_size(path);
	assert_true(size >= by);
	assert_int_equal(truncate(path, size - by), 0);
}

static void flip_byte(const char *path, int64_t pos)
{
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, pos, SEEK_SET);
	int c = fgetc(f);
	fseek(f, pos, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
}

static void test_torn_tail(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	size_t blen = fill(part, 20);
	log_partition_close(part);

	/* Half of the last batch is gone. Even with the clean-close recovery point
	 * still there (it now points past the end of the file). */
	char *p = tl_seg_path(dir, 0, "log");
	truncate_file(p, (int64_t)blen / 2);
	part = open_part(dir, &cfg);
	assert_int_equal(tl_file_size(p), (int64_t)(19 * blen));
	check_log(part, 19 * RECS);
	log_partition_close(part);

	/* Only a few bytes of a header left (check_log appended a batch: drop it
	 * first, then add 7 bytes of a header). */
	truncate_file(p, tl_file_size(p) - (int64_t)(19 * blen));
	part = open_part(dir, &cfg);
	log_partition_close(part);
	FILE *f = fopen(p, "ab");
	fwrite("\0\0\0\0\0\0\0", 1, 7, f);
	fclose(f);
	remove_checkpoint(dir);
	part = open_part(dir, &cfg);
	assert_int_equal(tl_file_size(p), (int64_t)(19 * blen));
	check_log(part, 19 * RECS);
	log_partition_close(part);
	free(p);
	tl_rmdir(dir);
}

static void test_crc_flip_last_batch(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	size_t blen = fill(part, 20);
	log_partition_close(part);

	/* A crash before any recovery point: everything is validated. */
	remove_checkpoint(dir);
	char *p = tl_seg_path(dir, 0, "log");
	flip_byte(p, (int64_t)(19 * blen + 100));
	part = open_part(dir, &cfg);
	assert_int_equal(tl_file_size(p), (int64_t)(19 * blen));
	check_log(part, 19 * RECS);
	log_partition_close(part);
	free(p);
	tl_rmdir(dir);
}

static void test_crc_flip_after_clean_close(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	size_t blen = fill(part, 20);
	log_partition_close(part);

	/* The recovery point says everything is durable, yet the last batch was
	 * damaged on disk since: it must still be found and cut off. */
	char *p = tl_seg_path(dir, 0, "log");
	flip_byte(p, (int64_t)(19 * blen + 100));
	part = open_part(dir, &cfg);
	assert_int_equal(tl_file_size(p), (int64_t)(19 * blen));
	check_log(part, 19 * RECS);
	log_partition_close(part);
	free(p);
	tl_rmdir(dir);
}

static void test_flip_in_middle_segment(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 4096);
	struct log_partition *part = open_part(dir, &cfg);
	size_t blen = fill(part, 40);
	int per_seg = (int)(4096 / blen);
	int nseg = tl_count_files(dir, "log");
	assert_true(nseg >= 4);
	log_partition_close(part);
	remove_checkpoint(dir);

	/* Damage the second batch of the second segment: it and everything after
	 * it goes, segments 3.. included. */
	int64_t seg1 = (int64_t)per_seg * RECS;
	char *p = tl_seg_path(dir, seg1, "log");
	flip_byte(p, (int64_t)blen + 70);
	part = open_part(dir, &cfg);
	assert_int_equal(tl_count_files(dir, "log"), 2);
	assert_int_equal(tl_count_files(dir, "index"), 2);
	assert_int_equal(tl_file_size(p), (int64_t)blen);
	check_log(part, seg1 + RECS);
	log_partition_close(part);
	free(p);
	tl_rmdir(dir);
}

/* Copies every regular file of src into dst (a crash image). */
static void copy_dir(const char *src, const char *dst)
{
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp -p %s/* %s/", dst, src, dst);
	assert_int_equal(system(cmd), 0);
}

/* Size of the 1-record batch check_log appends. */
static size_t blen_small(void)
{
	struct tb_buf b = {0};
	tb_simple(&b, 1, 10, NOW);
	size_t n = b.len;
	tb_free(&b);
	return n;
}

static void test_crash_image(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 8192);
	struct log_partition *part = open_part(dir, &cfg);
	fill(part, 30);
	/* Image 1: taken while open, after a sync (no recovery point written
	 * yet: the interval has not passed). */
	assert_int_equal(log_partition_sync(part), 0);
	char *img = malloc(strlen(dir) + 8);
	sprintf(img, "%s-img", dir);
	copy_dir(dir, img);
	int64_t end = log_partition_end_offset(part);
	log_partition_close(part);

	part = open_part(img, &cfg);
	check_log(part, end);
	log_partition_close(part);

	/* The same image with the batch check_log appended torn. */
	int64_t active_base = 0;
	DIR *d = opendir(img);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		long long base;
		if (sscanf(de->d_name, "%20lld.log", &base) == 1 && base > active_base)
			active_base = base;
	}
	closedir(d);
	assert_true(active_base > 0);
	remove_checkpoint(img);
	char *p = tl_seg_path(img, active_base, "log");
	int64_t size = tl_file_size(p);
	truncate_file(p, 5);
	part = open_part(img, &cfg);
	assert_int_equal(tl_file_size(p), size - (int64_t)blen_small());
	check_log(part, end);
	log_partition_close(part);
	free(p);
	free(img); /* it lives in the same temp parent as dir */
	tl_rmdir(dir);
}

static void test_recovery_point_trusted_prefix(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	size_t blen = fill(part, 10);
	log_partition_close(part); /* recovery point: offset 30, position 10 * blen */

	/* Append more, then damage the new tail: recovery scans only after the
	 * recovery point and keeps the first 10 batches without reading them. */
	part = open_part(dir, &cfg);
	fill(part, 5);
	log_partition_close(part);
	char *cp = tl_path(dir, "recovery-point");
	{
		/* Put back a recovery point for the first 10 batches: as if the
		 * process died after the last 5 appends without a checkpoint. */
		FILE *f = fopen(cp, "w");
		fprintf(f, "1 %d 0 %lld %lld %d\n", 10 * RECS, (long long)(10 * blen),
			(long long)(NOW + 9 + RECS - 1), 10 * RECS - 1);
		fclose(f);
	}
	char *p = tl_seg_path(dir, 0, "log");
	flip_byte(p, (int64_t)(12 * blen + 80)); /* batch 12 */
	part = open_part(dir, &cfg);
	check_log(part, 12 * RECS);
	int64_t ts, off;
	log_partition_max_timestamp(part, &ts, &off);
	/* The second fill() restarted timestamps at NOW: batch 9 has the max,
	 * known from the recovery point without reading the trusted prefix. */
	assert_int_equal(ts, NOW + 9 + RECS - 1);
	assert_int_equal(off, 10 * RECS - 1);
	log_partition_close(part);

	/* A recovery point that lies (position not at a batch boundary) does
	 * not cost data: the segment is validated from the start instead. */
	FILE *f = fopen(cp, "w");
	fprintf(f, "1 %d 0 %lld -1 -1\n", 5 * RECS, (long long)(5 * blen + 3));
	fclose(f);
	part = open_part(dir, &cfg);
	check_log(part, 12 * RECS + 1);
	log_partition_close(part);

	/* A garbage recovery point is ignored. */
	f = fopen(cp, "w");
	fprintf(f, "garbage\n");
	fclose(f);
	part = open_part(dir, &cfg);
	check_log(part, 12 * RECS + 2);
	log_partition_close(part);
	free(cp);
	free(p);
	tl_rmdir(dir);
}

static void test_stray_and_missing_files(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 4096);
	struct log_partition *part = open_part(dir, &cfg);
	fill(part, 20);
	int64_t end = log_partition_end_offset(part);
	log_partition_close(part);

	/* A stray index without its .log, and a leftover checkpoint temp file. */
	char *stray = tl_seg_path(dir, 99999, "index");
	char *stray2 = tl_seg_path(dir, 99999, "timeindex");
	char *tmp = tl_path(dir, "recovery-point.tmp");
	fclose(fopen(stray, "w"));
	fclose(fopen(stray2, "w"));
	fclose(fopen(tmp, "w"));
	/* A sealed segment lost its indexes, another has a garbage one. */
	char *idx0 = tl_seg_path(dir, 0, "index");
	char *tidx0 = tl_seg_path(dir, 0, "timeindex");
	unlink(idx0);
	unlink(tidx0);
	part = open_part(dir, &cfg);
	assert_int_equal(access(stray, F_OK), -1);
	assert_int_equal(access(stray2, F_OK), -1);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(idx0, F_OK), 0);
	assert_true(tl_file_size(idx0) > 0);
	check_log(part, end);
	int64_t off, ts;
	assert_int_equal(log_partition_offset_for_time(part, NOW + 1, &off, &ts), 0);
	assert_int_equal(off, 1);
	assert_int_equal(log_partition_offset_for_time(part, NOW + 15, &off, &ts), 0);
	assert_int_equal(off, 13 * RECS + 2);
	log_partition_close(part);

	FILE *f = fopen(idx0, "ab");
	fwrite("xyz", 1, 3, f); /* not a whole entry */
	fclose(f);
	part = open_part(dir, &cfg);
	assert_int_equal(tl_file_size(idx0) % 8, 0);
	check_log(part, end + 1);
	log_partition_close(part);
	free(stray);
	free(stray2);
	free(tmp);
	free(idx0);
	free(tidx0);
	tl_rmdir(dir);
}

static void test_empty_segments(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	fill(part, 5);
	log_partition_close(part);

	/* A crash right after a roll: a zero-length active segment. */
	char *p = tl_seg_path(dir, 5 * RECS, "log");
	fclose(fopen(p, "w"));
	remove_checkpoint(dir);
	part = open_part(dir, &cfg);
	check_log(part, 5 * RECS);
	char *p0 = tl_seg_path(dir, 0, "log");
	assert_true(tl_file_size(p) > 0); /* the append went to the new segment */
	log_partition_close(part);

	/* The directory exists but is empty. */
	char *empty = malloc(strlen(dir) + 8);
	sprintf(empty, "%s-e", dir);
	assert_int_equal(mkdir(empty, 0755), 0);
	part = open_part(empty, &cfg);
	check_log(part, 0);
	log_partition_close(part);
	free(empty);
	free(p0);
	free(p);
	tl_rmdir(dir);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	if (getenv("LOG_TEST_VERBOSE"))
		log_set_level(LOG_INFO);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_crc_flip_last_batch),
		cmocka_unit_test(test_crc_flip_after_clean_close),
		cmocka_unit_test(test_flip_in_middle_segment),
		cmocka_unit_test(test_crash_image),
		cmocka_unit_test(test_recovery_point_trusted_prefix),
		cmocka_unit_test(test_stray_and_missing_files),
		cmocka_unit_test(test_empty_segments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
