/* DeleteRecords on a topic's partition logs: the log start offset moves up,
 * reads below it fail, whole segments below it are deleted, -1 means the high
 * watermark, offsets above it are refused, and the new start offset survives
 * a reopen (also one that finds it beyond a truncated tail). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/config.h"
#include "log/partition.h"
#include "meta/topics.h"
#include "testutil_batch.h"

struct fixture {
	char dir[64];
	struct config *cfg;
	struct meta_topics *topics;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/samsa-delrec-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->cfg = config_new();
	char errmsg[ERRMSG_SIZE];
	fx->topics = meta_topics_open(fx->dir, fx->cfg, NULL, errmsg);
	assert_non_null(fx->topics);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	meta_topics_close(fx->topics);
	config_free(fx->cfg);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void reopen(struct fixture *fx)
{
	char errmsg[ERRMSG_SIZE];
	meta_topics_close(fx->topics);
	fx->topics = meta_topics_open(fx->dir, fx->cfg, NULL, errmsg);
	assert_non_null(fx->topics);
}

/* count batches of 10 records each (~300 bytes per batch). */
static void append_batches(struct log_partition *part, int count)
{
	for (int i = 0; i < count; i++) {
		struct tb_buf b = {0};
		tb_simple(&b, 10, 16, 1700000000000LL + i);
		assert_int_equal(log_partition_append(part, b.data, b.len, 10, 1700000000000LL + i, NULL), 0);
		tb_free(&b);
	}
}

static int count_segments(const struct fixture *fx, const char *pdir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", fx->dir, pdir);
	DIR *d = opendir(path);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strlen(de->d_name) == 24 && strcmp(de->d_name + 20, ".log") == 0)
			n++;
	closedir(d);
	return n;
}

static int read_at(struct log_partition *part, int64_t offset)
{
	struct log_read_result rr;
	int rc = log_partition_read(part, offset, 1 << 20, false, &rr);
	if (rr.file)
		file_ref_put(rr.file);
	return rc;
}

static void test_delete_records(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	const char *keys[] = {"segment.bytes", "index.interval.bytes"};
	const char *values[] = {"1000", "100"};
	assert_int_equal(meta_topic_create(fx->topics, "dr", 2, 1, 2, keys, values, false, errmsg), 0);
	struct meta_topic *topic = meta_topic_get(fx->topics, "dr");
	struct log_partition *part = topic->partitions[0];
	append_batches(part, 20); /* offsets 0..199, several segments */
	int segs = count_segments(fx, "dr-0");
	assert_true(segs >= 4);
	assert_int_equal(log_partition_end_offset(part), 200);

	int64_t low = 0;
	assert_int_equal(log_partition_delete_records(part, 201, &low), -SAMSA_ERANGE);
	assert_int_equal(log_partition_delete_records(part, -2, &low), -SAMSA_ERANGE);
	assert_int_equal(log_partition_start_offset(part), 0);

	assert_int_equal(log_partition_delete_records(part, 105, &low), 0);
	assert_int_equal(low, 105);
	assert_int_equal(log_partition_start_offset(part), 105);
	assert_int_equal(read_at(part, 104), -SAMSA_ERANGE);
	assert_int_equal(read_at(part, 0), -SAMSA_ERANGE);
	assert_int_equal(read_at(part, 105), 0);
	assert_int_equal(read_at(part, 199), 0);
	int left = count_segments(fx, "dr-0");
	assert_true(left < segs);
	assert_true(left >= 1);

	/* Lower offsets change nothing and report the current start. */
	assert_int_equal(log_partition_delete_records(part, 50, &low), 0);
	assert_int_equal(low, 105);
	meta_topic_put(fx->topics, topic);

	reopen(fx);
	topic = meta_topic_get(fx->topics, "dr");
	part = topic->partitions[0];
	assert_int_equal(log_partition_start_offset(part), 105);
	assert_int_equal(log_partition_end_offset(part), 200);
	assert_int_equal(read_at(part, 104), -SAMSA_ERANGE);
	assert_int_equal(read_at(part, 105), 0);
	assert_int_equal(log_partition_start_offset(topic->partitions[1]), 0);

	/* -1: everything up to the high watermark. Appends carry on after it. */
	assert_int_equal(log_partition_delete_records(part, -1, &low), 0);
	assert_int_equal(low, 200);
	assert_int_equal(count_segments(fx, "dr-0"), 1);
	assert_int_equal(read_at(part, 199), -SAMSA_ERANGE);
	append_batches(part, 1);
	assert_int_equal(log_partition_end_offset(part), 210);
	assert_int_equal(read_at(part, 200), 0);
	meta_topic_put(fx->topics, topic);

	reopen(fx);
	topic = meta_topic_get(fx->topics, "dr");
	assert_int_equal(log_partition_start_offset(topic->partitions[0]), 200);
	assert_int_equal(log_partition_end_offset(topic->partitions[0]), 210);
	meta_topic_put(fx->topics, topic);
}

/* A stored start offset beyond the end (the tail it pointed into was lost)
 * is lowered to the end offset; a malformed file is ignored. */
static void test_start_offset_clamped(void **state)
{
	struct fixture *fx = *state;
	char errmsg[ERRMSG_SIZE];
	assert_int_equal(meta_topic_create(fx->topics, "cl", 2, 1, 0, NULL, NULL, false, errmsg), 0);
	struct meta_topic *topic = meta_topic_get(fx->topics, "cl");
	append_batches(topic->partitions[0], 3);
	append_batches(topic->partitions[1], 3);
	meta_topic_put(fx->topics, topic);
	meta_topics_close(fx->topics);
	fx->topics = NULL;

	char path[256];
	snprintf(path, sizeof(path), "%s/cl-0/log-start-offset", fx->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "1 500\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/cl-1/log-start-offset", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "garbage\n");
	fclose(f);

	fx->topics = meta_topics_open(fx->dir, fx->cfg, NULL, errmsg);
	assert_non_null(fx->topics);
	topic = meta_topic_get(fx->topics, "cl");
	assert_int_equal(log_partition_start_offset(topic->partitions[0]), 30);
	assert_int_equal(log_partition_end_offset(topic->partitions[0]), 30);
	assert_int_equal(log_partition_start_offset(topic->partitions[1]), 0);
	meta_topic_put(fx->topics, topic);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delete_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_offset_clamped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
