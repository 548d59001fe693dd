/* Transactions at a partition (txn/txn_partition.h) on a real log: the
 * KIP-890 verification refusals, end-transaction markers in Kafka's format,
 * the last stable offset and read_committed reads below it, the aborted
 * transactions index (<base>.txnindex) across close/reopen, crashes (an image
 * of the directory taken while open, with and without a torn tail) and
 * segment deletion, DescribeProducers' view, and the cleaner dropping aborted
 * records without cleaning past the LSO. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/log.h"
#include "log/cleaner.h"
#define TB_WITH_LOG
#include "unit/testutil_batch.h"
#include "txn/txn_partition.h"

#define AT_EPOCH 51
#define AT_SEQ 53
#define TXN_ENTRY 34

static struct log_partition *open_part(const char *dir, const struct log_config *cfg)
{
	struct log_partition *part;
	char errmsg[ERRMSG_SIZE];
	if (log_partition_open(dir, cfg, NULL, &part, errmsg))
		fail_msg("open %s: %s", dir, errmsg);
	return part;
}

/* One batch of count records from pid (pid -1: a plain batch). */
static void make(struct tb_buf *b, int64_t pid, int16_t epoch, int32_t seq, int32_t count, bool txn,
		 const char *key)
{
	struct tb_opts o;
	tb_opts_default(&o);
	o.count = count;
	o.key = key;
	o.producer_id = pid;
	o.attributes = txn ? RECORDS_ATTR_TRANSACTIONAL : 0;
	size_t at = tb_batch(b, &o);
	if (pid >= 0) {
		tb_set_be(b->data + at + AT_EPOCH, (uint16_t)epoch, 2);
		tb_set_be(b->data + at + AT_SEQ, (uint32_t)seq, 4);
		tb_fix_crc(b->data + at);
	}
}

/* Produces a batch; returns the verdict and *base the offset it got. */
static enum txn_verdict produce_key(struct log_partition *part, int64_t pid, int16_t epoch, int32_t seq,
				    int32_t count, bool txn, const char *key, int64_t *base)
{
	struct tb_buf b = {0};
	make(&b, pid, epoch, seq, count, txn, key);
	struct log_append_result res;
	enum txn_verdict v;
	char why[ERRMSG_SIZE];
	assert_int_equal(txn_partition_append(part, b.data, b.len, count, clock_wall_ms(), &res, &v, why), 0);
	if (base)
		*base = v == TXN_OK || v == TXN_DUPLICATE ? res.base_offset : -1;
	tb_free(&b);
	return v;
}

static enum txn_verdict produce(struct log_partition *part, int64_t pid, int16_t epoch, int32_t seq,
				int32_t count, bool txn, int64_t *base)
{
	return produce_key(part, pid, epoch, seq, count, txn, NULL, base);
}

static int64_t marker(struct log_partition *part, int64_t pid, int16_t epoch, bool commit, int32_t coord_epoch)
{
	int64_t off = -1;
	assert_int_equal(txn_partition_write_marker(part, pid, epoch, commit, coord_epoch, clock_wall_ms(), &off), 0);
	return off;
}

struct aborted_list {
	struct arena *arena;
	struct txn_aborted *v;
	int32_t n;
};

static int32_t aborted(struct log_partition *part, int64_t from, int64_t to, struct aborted_list *l)
{
	if (!l->arena)
		l->arena = arena_new(1024);
	l->n = txn_partition_aborted(part, from, to, l->arena, &l->v);
	return l->n;
}

static void copy_dir(const char *src, const char *dst)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s && cp -p %s/* %s/", dst, dst, src, dst);
	assert_int_equal(system(cmd), 0);
}

static int64_t file_size_in(const char *dir, int64_t base, const char *ext)
{
	char *p = tl_seg_path(dir, base, ext);
	int64_t n = tl_file_size(p);
	free(p);
	return n;
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

/* ---------------------------------------------------------------- tests */

static void test_verification(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	int64_t base;
	/* Not added to a transaction: INVALID_TXN_STATE. */
	assert_int_equal(produce(part, 7, 2, 0, 1, true, &base), TXN_NO_TXN);
	txn_partition_begin(part, 7, 2);
	assert_int_equal(produce(part, 7, 1, 0, 1, true, &base), TXN_INVALID_EPOCH);
	assert_int_equal(produce(part, 7, 3, 0, 1, true, &base), TXN_NO_TXN);
	assert_int_equal(log_partition_end_offset(part), 0);
	assert_int_equal(produce(part, 7, 2, 0, 2, true, &base), TXN_OK);
	assert_int_equal(base, 0);
	assert_int_equal(produce(part, 7, 2, 2, 1, true, &base), TXN_OK);
	/* A retry is still a duplicate; a non-transactional write meanwhile is refused. */
	assert_int_equal(produce(part, 7, 2, 0, 2, true, &base), TXN_DUPLICATE);
	assert_int_equal(base, 0);
	assert_int_equal(produce(part, 7, 2, 3, 1, false, &base), TXN_NO_TXN);
	int64_t m = marker(part, 7, 2, true, 0);
	assert_int_equal(m, 3);
	/* The marker ended it: the next transaction needs a new begin. */
	assert_int_equal(produce(part, 7, 2, 3, 1, true, &base), TXN_NO_TXN);
	txn_partition_begin(part, 7, 2);
	assert_int_equal(produce(part, 7, 2, 3, 1, true, &base), TXN_OK);
	assert_int_equal(base, 4);

	/* Coordinator writes: begun state and epoch, no sequence. */
	struct tb_buf b = {0};
	struct log_append_result res;
	enum txn_verdict v;
	char why[ERRMSG_SIZE];
	make(&b, 9, 0, -1, 2, true, "g");
	assert_int_equal(txn_partition_append_from_coordinator(part, b.data, b.len, 2, clock_wall_ms(), &res, &v,
							       why), 0);
	assert_int_equal(v, TXN_NO_TXN);
	txn_partition_begin(part, 9, 0);
	assert_int_equal(txn_partition_append_from_coordinator(part, b.data, b.len, 2, clock_wall_ms(), &res, &v,
							       why), 0);
	assert_int_equal(v, TXN_OK);
	assert_int_equal(res.base_offset, 5);
	assert_int_equal(txn_partition_append_from_coordinator(part, b.data, b.len, 2, clock_wall_ms(), &res, &v,
							       why), 0);
	assert_int_equal(v, TXN_OK); /* no sequence checks */
	tb_free(&b);
	make(&b, 9, 0, -1, 1, false, "g");
	assert_int_equal(txn_partition_append_from_coordinator(part, b.data, b.len, 1, clock_wall_ms(), &res, &v,
							       why), 0);
	assert_int_equal(v, TXN_INVALID);
	tb_free(&b);
	assert_int_equal(marker(part, 9, 1, false, 0), 9); /* a bumped epoch ends it */
	make(&b, 9, 0, -1, 1, true, "g");
	txn_partition_begin(part, 9, 0);
	assert_int_equal(txn_partition_append_from_coordinator(part, b.data, b.len, 1, clock_wall_ms(), &res, &v,
							       why), 0);
	assert_int_equal(v, TXN_INVALID_EPOCH);
	tb_free(&b);
	assert_int_equal(log_partition_end_offset(part), 10);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_marker_format_and_fencing(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	/* A marker for a producer that wrote nothing here is still written. */
	int64_t m = marker(part, 42, 3, true, 5);
	assert_int_equal(m, 0);
	struct log_read_result rr;
	assert_int_equal(log_partition_read(part, 0, 1 << 20, false, &rr), 0);
	assert_int_equal(rr.len, 78);
	assert_int_equal(rr.next_offset, 1);
	uint8_t *buf = tl_read_bytes(&rr);
	file_ref_put(rr.file);
	struct records_info info;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(records_validate(buf, 78, 1 << 20, &info, errmsg), 0);
	struct records_batch_header h;
	records_header_parse(buf, &h);
	assert_int_equal(h.attributes, RECORDS_ATTR_TRANSACTIONAL | RECORDS_ATTR_CONTROL);
	assert_int_equal(h.producer_id, 42);
	assert_int_equal(h.producer_epoch, 3);
	assert_int_equal(h.base_sequence, -1);
	assert_int_equal(h.record_count, 1);
	/* The record: length 16, attributes, ts delta, offset delta, key (4), value (6), headers. */
	static const uint8_t rec[] = {32, 0, 0, 0, 8, 0, 0, 0, 1, 12, 0, 0, 0, 0, 0, 5, 0};
	assert_memory_equal(buf + 61, rec, sizeof(rec));
	free(buf);

	int64_t off;
	/* Older producer epoch, older coordinator epoch: fenced, nothing written. */
	assert_int_equal(txn_partition_write_marker(part, 42, 2, false, 5, clock_wall_ms(), &off), -ESTALE);
	assert_int_equal(txn_partition_write_marker(part, 42, 3, false, 4, clock_wall_ms(), &off), -ESTALE);
	assert_int_equal(log_partition_end_offset(part), 1);
	/* A newer epoch (a bump) is taken, and fences the producer's old epoch. */
	assert_int_equal(marker(part, 42, 4, false, 5), 1);
	int64_t base;
	assert_int_equal(produce(part, 42, 3, 0, 1, false, &base), TXN_INVALID_EPOCH);
	assert_int_equal(produce(part, 42, 4, 0, 1, false, &base), TXN_OK);

	struct arena *arena = arena_new(1024);
	struct txn_producer_info *pi;
	assert_int_equal(txn_partition_producers(part, arena, &pi), 1);
	assert_int_equal(pi[0].producer_id, 42);
	assert_int_equal(pi[0].epoch, 4);
	assert_int_equal(pi[0].last_sequence, 0);
	assert_int_equal(pi[0].coordinator_epoch, 5);
	assert_int_equal(pi[0].current_txn_start_offset, -1);
	assert_true(pi[0].last_timestamp > 0);
	/* No aborted entry: the aborted producer had no data here. */
	struct aborted_list l = {0};
	assert_int_equal(aborted(part, 0, 100, &l), 0);
	arena_free(arena);
	arena_free(l.arena);
	log_partition_close(part);
	tl_rmdir(dir);
}

static void test_lso_and_read_committed(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	int64_t a, b, base;
	assert_int_equal(produce(part, -1, 0, 0, 2, false, &base), TXN_OK); /* 0-1 */
	assert_int_equal(txn_partition_lso(part), 2);
	txn_partition_begin(part, 1, 0);
	txn_partition_begin(part, 2, 0);
	assert_int_equal(txn_partition_lso(part), 2); /* begun, no data: stable */
	assert_int_equal(produce(part, 1, 0, 0, 3, true, &a), TXN_OK);    /* 2-4 */
	assert_int_equal(produce(part, -1, 0, 0, 1, false, &base), TXN_OK); /* 5 */
	assert_int_equal(produce(part, 2, 0, 0, 2, true, &b), TXN_OK);    /* 6-7 */
	assert_int_equal(produce(part, 1, 0, 3, 1, true, &base), TXN_OK);  /* 8 */
	assert_int_equal(a, 2);
	assert_int_equal(b, 6);
	assert_int_equal(txn_partition_lso(part), 2);

	/* read_committed: whole batches below the LSO only. */
	struct log_read_result rr;
	assert_int_equal(log_partition_read_upto(part, 0, 1 << 20, false, 2, &rr), 0);
	assert_int_equal(rr.next_offset, 2);
	struct tb_buf one = {0};
	make(&one, -1, 0, 0, 2, false, NULL);
	assert_int_equal(rr.len, (int32_t)one.len);
	tb_free(&one);
	file_ref_put(rr.file);
	assert_int_equal(log_partition_read_upto(part, 2, 1 << 20, false, 2, &rr), 0);
	assert_int_equal(rr.len, 0);
	assert_int_equal(log_partition_read_upto(part, 3, 1 << 20, false, 2, &rr), 0);
	assert_int_equal(rr.len, 0);

	int64_t m1 = marker(part, 1, 0, true, 0); /* 9 */
	assert_int_equal(m1, 9);
	assert_int_equal(txn_partition_lso(part), 6);
	assert_int_equal(log_partition_read_upto(part, 0, 1 << 20, false, 6, &rr), 0);
	assert_int_equal(rr.next_offset, 6);
	file_ref_put(rr.file);
	/* A small max_bytes stops earlier, and says where. */
	assert_int_equal(log_partition_read_upto(part, 0, 1, false, 6, &rr), 0);
	assert_int_equal(rr.next_offset, 2);
	file_ref_put(rr.file);

	int64_t m2 = marker(part, 2, 0, false, 0); /* 10 */
	assert_int_equal(txn_partition_lso(part), 11);
	assert_int_equal(log_partition_read_upto(part, 0, 1 << 20, false, 11, &rr), 0);
	assert_int_equal(rr.next_offset, 11);
	file_ref_put(rr.file);

	struct aborted_list l = {0};
	assert_int_equal(aborted(part, 0, 11, &l), 1);
	assert_int_equal(l.v[0].producer_id, 2);
	assert_int_equal(l.v[0].first_offset, 6);
	assert_int_equal(l.v[0].last_offset, m2);
	assert_int_equal(aborted(part, 0, 6, &l), 0);    /* ends before it starts */
	assert_int_equal(aborted(part, 11, 20, &l), 0);  /* starts after its marker */
	assert_int_equal(aborted(part, 7, 8, &l), 1);
	assert_int_equal(aborted(part, 10, 11, &l), 1);
	arena_free(l.arena);
	log_partition_close(part);
	tl_rmdir(dir);
}

/* Three aborts and a commit, interleaved; the index survives a clean close
 * and a crash image (replayed from the log: each abort once), and loses an
 * abort whose marker a crash cut off (the transaction is open again). */
static void test_aborted_index_durable(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_partition *part = open_part(dir, &cfg);
	int64_t first[4], marks[4], base;
	for (int p = 0; p < 4; p++)
		txn_partition_begin(part, 10 + p, 0);
	for (int p = 0; p < 4; p++)
		assert_int_equal(produce(part, 10 + p, 0, 0, 2, true, &first[p]), TXN_OK);
	for (int p = 0; p < 4; p++) {
		assert_int_equal(produce(part, 10 + p, 0, 2, 1, true, &base), TXN_OK);
		marks[p] = marker(part, 10 + p, 0, p == 1, 0);
	}
	int64_t end = log_partition_end_offset(part);
	struct aborted_list l = {0};
	assert_int_equal(aborted(part, 0, end, &l), 3);
	assert_int_equal(l.v[0].producer_id, 10);
	assert_int_equal(l.v[1].producer_id, 12);
	assert_int_equal(l.v[2].producer_id, 13);
	assert_int_equal(l.v[2].first_offset, first[3]);
	assert_int_equal(l.v[2].last_offset, marks[3]);
	assert_int_equal(file_size_in(dir, 0, "txnindex"), 3 * TXN_ENTRY);

	/* Crash image: no snapshot yet, so the whole log is replayed. */
	char *img = malloc(strlen(dir) + 8);
	sprintf(img, "%s-img", dir);
	copy_dir(dir, img);
	log_partition_close(part);

	part = open_part(dir, &cfg);
	assert_int_equal(aborted(part, 0, end, &l), 3);
	assert_int_equal(l.v[1].first_offset, first[2]);
	assert_int_equal(txn_partition_lso(part), end);
	log_partition_close(part);

	struct log_partition *crashed = open_part(img, &cfg);
	assert_int_equal(aborted(crashed, 0, end, &l), 3);
	assert_int_equal(file_size_in(img, 0, "txnindex"), 3 * TXN_ENTRY);
	assert_int_equal(txn_partition_lso(crashed), end);
	log_partition_close(crashed);

	/* A torn tail: the last marker is gone, its index entry with it, and
	 * producer 13's transaction is ongoing again. */
	copy_dir(dir, img);
	char *seg = tl_seg_path(img, 0, "log");
	assert_int_equal(truncate(seg, tl_file_size(seg) - 78), 0);
	char *rp = tl_path(img, "recovery-point");
	unlink(rp);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "rm -f %s/*.snapshot", img);
	assert_int_equal(system(cmd), 0);
	crashed = open_part(img, &cfg);
	assert_int_equal(log_partition_end_offset(crashed), end - 1);
	assert_int_equal(aborted(crashed, 0, end, &l), 2);
	assert_int_equal(file_size_in(img, 0, "txnindex"), 2 * TXN_ENTRY);
	assert_int_equal(txn_partition_lso(crashed), first[3]);
	struct arena *arena = arena_new(1024);
	struct txn_producer_info *pi;
	assert_int_equal(txn_partition_producers(crashed, arena, &pi), 4);
	assert_int_equal(pi[3].producer_id, 13);
	assert_int_equal(pi[3].current_txn_start_offset, first[3]);
	arena_free(arena);
	/* The coordinator aborts it again after its restart. */
	txn_partition_begin(crashed, 13, 0);
	marker(crashed, 13, 0, false, 0);
	assert_int_equal(aborted(crashed, 0, end, &l), 3);
	assert_int_equal(txn_partition_lso(crashed), end);
	log_partition_close(crashed);
	arena_free(l.arena);
	free(rp);
	free(seg);
	free(img);
	tl_rmdir(dir);
}

/* Snapshots after aborts: a crash replays only the tail, and the index holds
 * the aborts before the snapshot (from the file) and after it (replayed)
 * exactly once; deleting segments removes their index files. */
static void test_aborted_index_snapshot_and_prune(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1024); /* a few batches per segment */
	struct log_partition *part = open_part(dir, &cfg);
	int64_t base;
	int32_t seq = 0;
	for (int i = 0; i < 12; i++) {
		txn_partition_begin(part, 5, 0);
		assert_int_equal(produce(part, 5, 0, seq, 3, true, &base), TXN_OK);
		seq += 3;
		marker(part, 5, 0, i % 2 == 1, 0); /* even ones abort */
		if (i == 7) {
			assert_int_equal(log_partition_sync(part), 0); /* rolls: a checkpoint + snapshot */
			assert_int_equal(tl_count_files(dir, "snapshot"), 1);
		}
	}
	int64_t end = log_partition_end_offset(part);
	struct aborted_list l = {0};
	assert_int_equal(aborted(part, 0, end, &l), 6);
	char *img = malloc(strlen(dir) + 8);
	sprintf(img, "%s-img", dir);
	copy_dir(dir, img);
	log_partition_close(part);

	struct log_partition *crashed = open_part(img, &cfg);
	assert_int_equal(aborted(crashed, 0, end, &l), 6);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cat %s/*.txnindex | wc -c", img);
	FILE *f = popen(cmd, "r");
	int bytes = 0;
	assert_int_equal(fscanf(f, "%d", &bytes), 1);
	pclose(f);
	assert_int_equal(bytes, 6 * TXN_ENTRY);
	for (int i = 1; i < 6; i++)
		assert_true(l.v[i].first_offset > l.v[i - 1].last_offset);
	assert_int_equal(txn_partition_lso(crashed), end);

	/* Moving the log start offset deletes whole segments and their index files. */
	int64_t lw;
	int before = tl_count_files(img, "txnindex");
	assert_true(before >= 2);
	assert_int_equal(log_partition_delete_records(crashed, l.v[3].first_offset, &lw), 0);
	assert_true(tl_count_files(img, "txnindex") < before);
	assert_true(aborted(crashed, lw, end, &l) >= 2);
	assert_true(l.v[0].last_offset >= lw);
	log_partition_close(crashed);
	crashed = open_part(img, &cfg);
	assert_true(aborted(crashed, lw, end, &l) >= 2);
	log_partition_close(crashed);
	arena_free(l.arena);
	free(img);
	tl_rmdir(dir);
}

/* Data records from producer pid left in the log. */
static int count_records(struct log_partition *part, int64_t pid)
{
	int n = 0;
	int64_t off = log_partition_start_offset(part), end = log_partition_end_offset(part);
	while (off < end) {
		struct log_read_result rr;
		assert_int_equal(log_partition_read(part, off, 1 << 20, false, &rr), 0);
		if (!rr.len)
			break;
		uint8_t *buf = tl_read_bytes(&rr);
		file_ref_put(rr.file);
		for (int32_t p = 0; p < rr.len;) {
			struct records_batch_header h;
			records_header_parse(buf + p, &h);
			if (h.producer_id == pid && !(h.attributes & RECORDS_ATTR_CONTROL))
				n += h.record_count;
			p += h.batch_length + 12;
		}
		off = rr.next_offset;
		free(buf);
	}
	return n;
}

static void test_cleaner_drops_aborted(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 700);
	struct log_partition *part = open_part(dir, &cfg);
	int64_t base;
	/* Producer 1 commits key "a"; producer 2 aborts "a" (later) and "b". */
	txn_partition_begin(part, 1, 0);
	txn_partition_begin(part, 2, 0);
	assert_int_equal(produce_key(part, 1, 0, 0, 1, true, "a", &base), TXN_OK);
	assert_int_equal(produce_key(part, 2, 0, 0, 1, true, "a", &base), TXN_OK);
	assert_int_equal(produce_key(part, 2, 0, 1, 2, true, "b", &base), TXN_OK);
	marker(part, 1, 0, true, 0);
	marker(part, 2, 0, false, 0);
	/* Producer 3 stays open: nothing from its first batch on is cleaned. */
	txn_partition_begin(part, 3, 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(produce_key(part, -1, 0, 0, 1, false, "c", &base), TXN_OK);
	assert_int_equal(produce_key(part, 3, 0, 0, 2, true, "a", &base), TXN_OK);
	int64_t open_first = base;
	for (int i = 0; i < 12; i++)
		assert_int_equal(produce_key(part, -1, 0, 0, 1, false, "c", &base), TXN_OK);
	assert_int_equal(log_partition_sync(part), 0);
	assert_int_equal(txn_partition_lso(part), open_first);

	struct log_clean_config cc;
	log_clean_config_defaults(&cc);
	struct log_clean_stats st;
	assert_int_equal(log_partition_clean(part, &cc, clock_wall_ms(), true, &st), 0);
	assert_true(st.segments_rewritten >= 1);
	assert_int_equal(count_records(part, 2), 0); /* aborted: gone */
	assert_int_equal(count_records(part, 1), 1); /* "a" from the commit: kept, the abort did not supersede it */
	assert_int_equal(count_records(part, 3), 2); /* past the LSO: untouched */

	/* Once producer 3 commits, its "a" supersedes producer 1's. */
	marker(part, 3, 0, true, 0);
	for (int i = 0; i < 12; i++)
		assert_int_equal(produce_key(part, -1, 0, 0, 1, false, "d", &base), TXN_OK);
	assert_int_equal(log_partition_sync(part), 0);
	assert_int_equal(log_partition_clean(part, &cc, clock_wall_ms(), true, &st), 0);
	assert_int_equal(count_records(part, 1), 0);
	assert_int_equal(count_records(part, 3), 1);
	log_partition_close(part);
	tl_rmdir(dir);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verification, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marker_format_and_fencing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lso_and_read_committed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aborted_index_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aborted_index_snapshot_and_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleaner_drops_aborted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
