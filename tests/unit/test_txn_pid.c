/* Producer id allocation (txn/pid.h): unique and increasing across blocks,
 * threads and restarts (including a "crash", i.e. no close), and a corrupt
 * high-water mark refuses to start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "txn/pid.h"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/samsa-pidtest-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rmtree(char *dir)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static int64_t read_mark(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/__samsa_meta/" TXN_PID_FILE, dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int version;
	long long v;
	assert_int_equal(fscanf(f, "%d %lld", &version, &v), 2);
	fclose(f);
	assert_int_equal(version, 1);
	return v;
}

static void test_sequential_and_restart(void **state)
{
	(void)state;
	char *dir = tmpdir();
	char errmsg[ERRMSG_SIZE];
	struct txn_pids *pids = txn_pids_open(dir, errmsg);
	assert_non_null(pids);
	assert_int_equal(read_mark(dir), TXN_PID_BLOCK);
	int64_t prev = -1, id;
	for (int i = 0; i < 3 * TXN_PID_BLOCK + 17; i++) {
		assert_int_equal(txn_pids_next(pids, &id), 0);
		assert_int_equal(id, prev + 1);
		prev = id;
	}
	/* Reserved ahead of what was issued, never behind. */
	assert_true(read_mark(dir) > prev);
	/* A restart: the next instance starts above everything reserved. */
	int64_t mark = read_mark(dir);
	txn_pids_close(pids);
	pids = txn_pids_open(dir, errmsg);
	assert_non_null(pids);
	assert_int_equal(txn_pids_next(pids, &id), 0);
	assert_int_equal(id, mark);
	assert_true(id > prev);
	txn_pids_close(pids);
	rmtree(dir);
}

struct taker {
	struct txn_pids *pids;
	int64_t ids[2500];
};

static void *taker_main(void *arg)
{
	struct taker *t = arg;
	for (int i = 0; i < 2500; i++)
		if (txn_pids_next(t->pids, &t->ids[i]) != 0)
			abort();
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_threads_unique(void **state)
{
	(void)state;
	char *dir = tmpdir();
	char errmsg[ERRMSG_SIZE];
	struct txn_pids *pids = txn_pids_open(dir, errmsg);
	assert_non_null(pids);
	enum { NT = 4 };
	struct taker *t = calloc(NT, sizeof(*t));
	pthread_t th[NT];
	for (int i = 0; i < NT; i++) {
		t[i].pids = pids;
		pthread_create(&th[i], NULL, taker_main, &t[i]);
	}
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	int64_t *all = malloc(sizeof(int64_t) * NT * 2500);
	for (int i = 0; i < NT; i++)
		memcpy(all + i * 2500, t[i].ids, sizeof(t[i].ids));
	qsort(all, NT * 2500, sizeof(int64_t), cmp_i64);
	for (int i = 0; i < NT * 2500; i++)
		assert_int_equal(all[i], i);
	assert_true(read_mark(dir) >= NT * 2500);
	free(all);
	free(t);
	txn_pids_close(pids);
	rmtree(dir);
}

static void test_corrupt_mark(void **state)
{
	(void)state;
	char *dir = tmpdir();
	char errmsg[ERRMSG_SIZE];
	struct txn_pids *pids = txn_pids_open(dir, errmsg);
	txn_pids_close(pids);
	char path[4096];
	snprintf(path, sizeof(path), "%s/__samsa_meta/" TXN_PID_FILE, dir);
	FILE *f = fopen(path, "w");
	fputs("1 12x\n", f);
	fclose(f);
	assert_null(txn_pids_open(dir, errmsg));
	assert_non_null(strstr(errmsg, "corrupt"));
	f = fopen(path, "w");
	fputs("1 5000\n", f);
	fclose(f);
	pids = txn_pids_open(dir, errmsg);
	assert_non_null(pids);
	int64_t id;
	assert_int_equal(txn_pids_next(pids, &id), 0);
	assert_int_equal(id, 5000);
	txn_pids_close(pids);
	rmtree(dir);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential_and_restart),
		cmocka_unit_test(test_threads_unique),
		cmocka_unit_test(test_corrupt_mark),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
