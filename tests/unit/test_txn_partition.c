/* Producer state on a real partition (txn/partition_state.c): the locked
 * check + append, snapshots at close and at checkpoints, rebuilding from the
 * log after a crash (an image of the directory taken while open), stale and
 * corrupt snapshots, and concurrent idempotent producers with retries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#define TB_WITH_LOG
#include "unit/testutil_batch.h"
#include "log/flusher.h"
#include "txn/producer_state.h"

#define NOW 1700000000000LL /* record timestamps; the state's clock is the wall clock */

/* Header fields tb_batch leaves at -1. */
#define AT_ATTR 21
#define AT_PRODUCER_ID 43
#define AT_EPOCH 51
#define AT_SEQ 53

static void idem_batch(struct tb_buf *b, int64_t pid, int16_t epoch, int32_t seq, int32_t count,
		       int16_t attributes)
{
	struct tb_opts o;
	tb_opts_default(&o);
	o.count = count;
	o.value_size = 40;
	o.producer_id = pid;
	o.attributes = attributes;
	size_t at = tb_batch(b, &o);
	tb_set_be(b->data + at + AT_EPOCH, (uint16_t)epoch, 2);
	tb_set_be(b->data + at + AT_SEQ, (uint32_t)seq, 4);
	tb_fix_crc(b->data + at);
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

/* Produces one batch; returns the verdict, *base the offset answered. */
static enum txn_verdict produce(struct log_partition *part, int64_t pid, int16_t epoch, int32_t seq,
				int32_t count, int64_t *base)
{
	struct tb_buf b = {0};
	idem_batch(&b, pid, epoch, seq, count, 0);
	struct log_append_result res;
	enum txn_verdict v;
	char why[ERRMSG_SIZE];
	int rc = txn_partition_append(part, b.data, b.len, count, clock_wall_ms(), &res, &v, why);
	assert_int_equal(rc, 0);
	if (base)
		*base = (v == TXN_OK || v == TXN_DUPLICATE) ? res.base_offset : -1;
	tb_free(&b);
	return v;
}

static int count_snapshots(const char *dir, int64_t *newest)
{
	DIR *d = opendir(dir);
	int n = 0;
	*newest = -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len == 29 && strcmp(de->d_name + 20, ".snapshot") == 0) {
			n++;
			int64_t off = atoll(de->d_name);
			if (off > *newest)
				*newest = off;
		}
	}
	closedir(d);
	return n;
}

static void copy_dir(const char *src, const char *dst)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp -p %s/* %s/", dst, src, dst);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	txn_partition_state_install(7 * 24 * 3600 * 1000LL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	txn_partition_state_uninstall();
	return 0;
}

static void test_append_and_duplicates(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	assert_non_null(txn_pstate_of(part));
	int64_t base;
	assert_int_equal(produce(part, 1, 0, 0, 3, &base), TXN_OK);
	assert_int_equal(base, 0);
	assert_int_equal(produce(part, 1, 0, 3, 2, &base), TXN_OK);
	assert_int_equal(base, 3);
	/* A retry of the first batch: answered with its offset, not appended. */
	assert_int_equal(produce(part, 1, 0, 0, 3, &base), TXN_DUPLICATE);
	assert_int_equal(base, 0);
	assert_int_equal(log_partition_end_offset(part), 5);
	assert_int_equal(produce(part, 1, 0, 9, 1, &base), TXN_OUT_OF_ORDER);
	assert_int_equal(produce(part, 1, -1, 5, 1, &base), TXN_INVALID);
	assert_int_equal(log_partition_end_offset(part), 5);

	/* Plain batches next to it are untouched by the state. */
	struct tb_buf b = {0};
	tb_simple(&b, 4, 10, NOW);
	struct log_append_result res;
	enum txn_verdict v;
	char why[ERRMSG_SIZE];
	assert_int_equal(txn_partition_append(part, b.data, b.len, 4, clock_wall_ms(), &res, &v, why), 0);
	assert_int_equal(v, TXN_OK);
	assert_int_equal(res.base_offset, 5);
	tb_free(&b);

	/* Two batches in one set from an idempotent producer: refused. */
	idem_batch(&b, 2, 0, 0, 1, 0);
	idem_batch(&b, 2, 0, 1, 1, 0);
	assert_int_equal(txn_partition_append(part, b.data, b.len, 2, clock_wall_ms(), &res, &v, why), 0);
	assert_int_equal(v, TXN_INVALID);
	tb_free(&b);
	/* A transactional batch the coordinator did not begin (test_txn_markers.c). */
	idem_batch(&b, 3, 0, 0, 1, RECORDS_ATTR_TRANSACTIONAL);
	assert_int_equal(txn_partition_append(part, b.data, b.len, 1, clock_wall_ms(), &res, &v, why), 0);
	assert_int_equal(v, TXN_NO_TXN);
	tb_free(&b);
	/* A control batch from a client. */
	idem_batch(&b, 3, 0, 0, 1, RECORDS_ATTR_CONTROL);
	assert_int_equal(txn_partition_append(part, b.data, b.len, 1, clock_wall_ms(), &res, &v, why), 0);
	assert_int_equal(v, TXN_INVALID);
	tb_free(&b);
	assert_int_equal(log_partition_end_offset(part), 9);

	/* Clean close writes a snapshot at the end offset; reopening reads only it. */
	log_partition_close(part);
	int64_t newest;
	assert_int_equal(count_snapshots(dir, &newest), 1);
	assert_int_equal(newest, 9);
	part = open_part(dir, &cfg);
	assert_int_equal(produce(part, 1, 0, 3, 2, &base), TXN_DUPLICATE);
	assert_int_equal(base, 3);
	assert_int_equal(produce(part, 1, 0, 5, 1, &base), TXN_OK);
	assert_int_equal(base, 9);
	log_partition_close(part);
	assert_int_equal(count_snapshots(dir, &newest), 2);
	assert_int_equal(newest, 10);
	tl_rmdir(dir);
}

/* After a "kill -9" (a copy of the directory taken while the partition is
 * open, so no final snapshot), the state is rebuilt from the log: every
 * batch of the last five per producer is still a duplicate. */
static void test_rebuild_after_crash(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 4096); /* several segments */
	struct log_partition *part = open_part(dir, &cfg);
	int64_t offsets[3][40];
	for (int i = 0; i < 40; i++)
		for (int p = 0; p < 3; p++)
			assert_int_equal(produce(part, 100 + p, (int16_t)p, i * 2, 2, &offsets[p][i]), TXN_OK);
	int64_t end = log_partition_end_offset(part);
	assert_int_equal(end, 240);
	char *img = malloc(strlen(dir) + 8);
	sprintf(img, "%s-img", dir);
	copy_dir(dir, img);
	log_partition_close(part);

	struct log_partition *crashed = open_part(img, &cfg);
	for (int p = 0; p < 3; p++) {
		for (int i = 35; i < 40; i++) {
			int64_t base;
			assert_int_equal(produce(crashed, 100 + p, (int16_t)p, i * 2, 2, &base), TXN_DUPLICATE);
			assert_int_equal(base, offsets[p][i]);
		}
		int64_t base;
		assert_int_equal(produce(crashed, 100 + p, (int16_t)p, 68, 2, &base), TXN_OUT_OF_ORDER);
		assert_int_equal(produce(crashed, 100 + p, (int16_t)p, 82, 1, &base), TXN_OUT_OF_ORDER);
		assert_int_equal(produce(crashed, 100 + p, (int16_t)p, 80, 1, &base), TXN_OK);
	}
	assert_int_equal(log_partition_end_offset(crashed), end + 3);
	log_partition_close(crashed);
	/* The image's parent is dir's parent: removed with it. */
	free(img);
	tl_rmdir(dir);
}

/* Rolls make the flusher path write a recovery point, and with it a snapshot,
 * so a crash replays only the tail. */
static void test_snapshot_at_checkpoint(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 2048);
	struct log_partition *part = open_part(dir, &cfg);
	int64_t base;
	for (int i = 0; i < 30; i++)
		assert_int_equal(produce(part, 5, 0, i, 1, &base), TXN_OK);
	/* A sync after rolls writes the recovery point: checkpoint hook. */
	assert_int_equal(log_partition_sync(part), 0);
	int64_t newest;
	assert_true(count_snapshots(dir, &newest) >= 1);
	assert_int_equal(newest, 30);
	for (int i = 30; i < 33; i++)
		assert_int_equal(produce(part, 5, 0, i, 1, &base), TXN_OK);
	char *img = malloc(strlen(dir) + 8);
	sprintf(img, "%s-img", dir);
	copy_dir(dir, img);
	log_partition_close(part);

	struct log_partition *crashed = open_part(img, &cfg);
	assert_int_equal(produce(crashed, 5, 0, 32, 1, &base), TXN_DUPLICATE);
	assert_int_equal(base, 32);
	assert_int_equal(produce(crashed, 5, 0, 28, 1, &base), TXN_DUPLICATE);
	assert_int_equal(base, 28);
	assert_int_equal(produce(crashed, 5, 0, 33, 1, &base), TXN_OK);
	log_partition_close(crashed);
	free(img);
	tl_rmdir(dir);
}

static void truncate_file(const char *path, int64_t size)
{
	assert_int_equal(truncate(path, size), 0);
}

/* A snapshot past the log end (the log lost its unsynced tail) is dropped and
 * the state rebuilt from the log; a corrupt snapshot likewise. */
static void test_stale_and_corrupt_snapshots(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	int64_t base;
	for (int i = 0; i < 10; i++)
		assert_int_equal(produce(part, 9, 0, i, 1, &base), TXN_OK);
	log_partition_close(part); /* snapshot at 10 */
	int64_t newest;
	assert_int_equal(count_snapshots(dir, &newest), 1);
	assert_int_equal(newest, 10);

	/* Cut the last two batches off the log, as a power loss could. */
	char *seg = tl_seg_path(dir, 0, "log");
	int64_t size = tl_file_size(seg);
	struct tb_buf b = {0};
	idem_batch(&b, 9, 0, 0, 1, 0);
	truncate_file(seg, size - 2 * (int64_t)b.len);
	tb_free(&b);
	char *rp = tl_path(dir, "recovery-point");
	unlink(rp); /* the recovery point would have said 10 too */
	part = open_part(dir, &cfg);
	assert_int_equal(log_partition_end_offset(part), 8);
	assert_int_equal(count_snapshots(dir, &newest), 0);
	/* Seq 8 is next again, and 7 a duplicate at its offset. */
	assert_int_equal(produce(part, 9, 0, 7, 1, &base), TXN_DUPLICATE);
	assert_int_equal(base, 7);
	assert_int_equal(produce(part, 9, 0, 8, 1, &base), TXN_OK);
	assert_int_equal(base, 8);
	log_partition_close(part);
	assert_int_equal(count_snapshots(dir, &newest), 1);
	assert_int_equal(newest, 9);

	/* Flip a byte of the snapshot: ignored, full replay, same answers. */
	char name[64];
	snprintf(name, sizeof(name), "%020d.snapshot", 9);
	char *snap = tl_path(dir, name);
	FILE *f = fopen(snap, "r+");
	fseek(f, 30, SEEK_SET);
	int c = fgetc(f);
	fseek(f, 30, SEEK_SET);
	fputc(c ^ 0x10, f);
	fclose(f);
	part = open_part(dir, &cfg);
	assert_int_equal(produce(part, 9, 0, 8, 1, &base), TXN_DUPLICATE);
	assert_int_equal(base, 8);
	assert_int_equal(produce(part, 9, 0, 9, 1, &base), TXN_OK);
	log_partition_close(part);
	free(snap);
	free(rp);
	free(seg);
	tl_rmdir(dir);
}

/* Four threads, each an idempotent producer sending every batch twice (a
 * retry racing the original) plus a thread of plain batches: the log holds
 * each batch once, in sequence order per producer. */
struct worker {
	struct log_partition *part;
	int64_t pid;
	int batches;
	int dups;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->batches; i++) {
		for (int attempt = 0; attempt < 2; attempt++) {
			struct tb_buf b = {0};
			if (w->pid >= 0)
				idem_batch(&b, w->pid, 0, i * 3, 3, 0);
			else
				tb_simple(&b, 3, 40, NOW);
			struct log_append_result res;
			enum txn_verdict v;
			char why[ERRMSG_SIZE];
			if (txn_partition_append(w->part, b.data, b.len, 3, clock_wall_ms(), &res, &v, why) != 0)
				abort();
			if (v == TXN_DUPLICATE)
				w->dups++;
			else if (v != TXN_OK)
				abort();
			tb_free(&b);
			if (w->pid < 0)
				break;
		}
	}
	return NULL;
}

static void test_concurrent_producers(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 16 << 10); /* many rolls: the flusher snapshots while we append */
	struct log_flusher *flusher = log_flusher_start();
	struct log_partition *part;
	char errmsg[ERRMSG_SIZE];
	if (log_partition_open(dir, &cfg, flusher, &part, errmsg))
		fail_msg("open: %s", errmsg);
	enum { NW = 5, NB = 300 };
	struct worker w[NW];
	pthread_t th[NW];
	for (int i = 0; i < NW; i++) {
		w[i] = (struct worker){part, i < NW - 1 ? 1000 + i : -1, NB, 0};
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < NW; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NW - 1; i++)
		assert_int_equal(w[i].dups, NB);
	assert_int_equal(log_partition_end_offset(part), NW * NB * 3);

	/* Read back: per producer, sequences 0, 3, 6, ... exactly once. */
	int32_t next_seq[NW] = {0};
	int64_t off = 0;
	while (off < log_partition_end_offset(part)) {
		struct log_read_result res;
		assert_int_equal(log_partition_read(part, off, 1 << 20, false, &res), 0);
		uint8_t *bytes = tl_read_bytes(&res);
		for (int32_t p = 0; p < res.len;) {
			struct records_batch_header h;
			records_header_parse(bytes + p, &h);
			if (h.producer_id >= 0) {
				int k = (int)(h.producer_id - 1000);
				assert_int_equal(h.base_sequence, next_seq[k]);
				next_seq[k] += 3;
			}
			off = h.base_offset + h.last_offset_delta + 1;
			p += h.batch_length + 12;
		}
		free(bytes);
		file_ref_put(res.file);
	}
	for (int i = 0; i < NW - 1; i++)
		assert_int_equal(next_seq[i], NB * 3);
	log_partition_close(part);
	log_flusher_stop(flusher);
	int64_t newest;
	assert_true(count_snapshots(dir, &newest) >= 1);
	assert_int_equal(newest, NW * NB * 3);
	/* Reopened from the final snapshot: the last batch of each is a duplicate. */
	part = open_part(dir, &cfg);
	for (int i = 0; i < NW - 1; i++) {
		int64_t base;
		assert_int_equal(produce(part, 1000 + i, 0, (NB - 1) * 3, 3, &base), TXN_DUPLICATE);
	}
	log_partition_close(part);
	tl_rmdir(dir);
}

/* Without the observer (tests of the log alone, tools) nothing is attached
 * and idempotent batches are appended unchecked. */
static void test_no_observer(void **state)
{
	(void)state;
	txn_partition_state_uninstall();
	char *dir = tl_tmpdir();
	struct log_partition *part = open_part(dir, NULL);
	assert_null(txn_pstate_of(part));
	int64_t base;
	assert_int_equal(produce(part, 1, 0, 0, 1, &base), TXN_OK);
	assert_int_equal(produce(part, 1, 0, 0, 1, &base), TXN_OK);
	assert_int_equal(log_partition_end_offset(part), 2);
	log_partition_close(part);
	int64_t newest;
	assert_int_equal(count_snapshots(dir, &newest), 0);
	tl_rmdir(dir);
	txn_partition_state_install(7 * 24 * 3600 * 1000LL);
}

static void test_delete_partition(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_partition *part = open_part(dir, NULL);
	int64_t base;
	assert_int_equal(produce(part, 1, 0, 0, 1, &base), TXN_OK);
	assert_int_equal(log_partition_delete(part), 0);
	assert_int_equal(access(dir, F_OK), -1);
	tl_rmdir(dir);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	if (getenv("LOG_TEST_VERBOSE"))
		log_set_level(LOG_INFO);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_duplicates),
		cmocka_unit_test(test_rebuild_after_crash),
		cmocka_unit_test(test_snapshot_at_checkpoint),
		cmocka_unit_test(test_stale_and_corrupt_snapshots),
		cmocka_unit_test(test_concurrent_producers),
		cmocka_unit_test(test_no_observer),
		cmocka_unit_test(test_delete_partition),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
