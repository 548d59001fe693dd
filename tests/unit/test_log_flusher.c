/* Group commit: concurrent waits all answered and the flushed offset advancing,
 * callbacks never run inside log_flusher_wait, flush.messages / flush.ms kicks,
 * partitions closed or deleted with waits pending, and stop draining. The
 * partitions of one round are synced side by side: waits answered in order per
 * partition, as each partition is done, a failed partition not failing the
 * others, close and delete during a round. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "log/flusher.h"
#include "log/log_int.h"
#define TB_WITH_LOG
#include "unit/testutil_batch.h"

#define NOW 1700000000000LL

static struct log_partition *open_part(const char *dir, const struct log_config *cfg,
				       struct log_flusher *fl)
{
	struct log_partition *part;
	char errmsg[ERRMSG_SIZE];
	int rc = log_partition_open(dir, cfg, fl, &part, errmsg);
	if (rc)
		fail_msg("open %s: %s", dir, errmsg);
	return part;
}

static int64_t append_one(struct log_partition *part, int32_t count)
{
	struct tb_buf b = {0};
	tb_simple(&b, count, 100, NOW);
	struct log_append_result ar;
	int rc = log_partition_append(part, b.data, b.len, count, NOW, &ar);
	tb_free(&b);
	if (rc)
		abort();
	return ar.last_offset + 1;
}

static _Thread_local bool in_wait_call;

struct counter {
	atomic_int ok;
	atomic_int err;
	atomic_int last_err;
	atomic_int sync_calls; /* callbacks that ran inside log_flusher_wait */
	struct log_partition *part;
	atomic_llong min_flushed_seen;
};

struct wait_arg {
	struct counter *c;
	int64_t end;
};

static void count_cb(void *arg, int err)
{
	struct wait_arg *w = arg;
	if (in_wait_call)
		atomic_fetch_add(&w->c->sync_calls, 1);
	if (err) {
		atomic_fetch_add(&w->c->err, 1);
		atomic_store(&w->c->last_err, err);
	} else {
		/* Durable up to end already when we are told so. */
		if (w->c->part && log_partition_flushed_offset(w->c->part) < w->end)
			abort();
		atomic_fetch_add(&w->c->ok, 1);
	}
	free(w);
}

static void wait_for(struct log_flusher *fl, struct log_partition *part, int64_t end,
		     struct counter *c)
{
	struct wait_arg *w = malloc(sizeof(*w));
	w->c = c;
	w->end = end;
	in_wait_call = true;
	log_flusher_wait(fl, part, end, count_cb, w);
	in_wait_call = false;
}

static bool eventually(atomic_int *v, int want)
{
	for (int i = 0; i < 5000; i++) {
		if (atomic_load(v) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

struct producer {
	struct log_flusher *fl;
	struct log_partition *part;
	struct counter *c;
	int n;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	for (int i = 0; i < p->n; i++) {
		int64_t end = append_one(p->part, 1 + i % 3);
		wait_for(p->fl, p->part, end, p->c);
	}
	return NULL;
}

static void test_many_concurrent_waits(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	char *dir2 = malloc(strlen(dir) + 4);
	sprintf(dir2, "%s-b", dir);
	struct log_config cfg;
	tl_config(&cfg, 16384);
	struct log_flusher *fl = log_flusher_start();
	struct log_partition *parts[2] = {open_part(dir, &cfg, fl), open_part(dir2, &cfg, fl)};
	struct counter c = {0};
	enum { THREADS = 4, PER = 300 };
	pthread_t th[THREADS];
	struct producer pr[THREADS];
	for (int i = 0; i < THREADS; i++) {
		pr[i] = (struct producer){fl, parts[i % 2], &c, PER};
		pthread_create(&th[i], NULL, producer_main, &pr[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_true(eventually(&c.ok, THREADS * PER));
	assert_int_equal(atomic_load(&c.err), 0);
	assert_int_equal(atomic_load(&c.sync_calls), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(log_partition_flushed_offset(parts[i]),
				 log_partition_end_offset(parts[i]));

	/* A wait for what is already durable is still answered (asynchronously). */
	c.part = parts[0];
	int before = atomic_load(&c.ok);
	wait_for(fl, parts[0], log_partition_end_offset(parts[0]), &c);
	wait_for(fl, parts[0], 0, &c);
	assert_true(eventually(&c.ok, before + 2));
	assert_int_equal(atomic_load(&c.sync_calls), 0);

	log_partition_close(parts[0]);
	log_partition_close(parts[1]);
	log_flusher_stop(fl);
	free(dir2);
	tl_rmdir(dir);
}

/* A callback that blocks the flusher thread until released, so that later
 * waits stay queued. */
struct blocker {
	sem_t entered;
	sem_t release;
};

static void block_cb(void *arg, int err)
{
	(void)err;
	struct blocker *b = arg;
	sem_post(&b->entered);
	sem_wait(&b->release);
}

/* Appends to part and parks a flusher thread in the callback of that sync
 * until b->release is posted; returns once it is parked. */
static void park_flusher(struct log_flusher *fl, struct log_partition *part, struct blocker *b)
{
	sem_init(&b->entered, 0, 0);
	sem_init(&b->release, 0, 0);
	log_flusher_wait(fl, part, append_one(part, 1), block_cb, b);
	sem_wait(&b->entered);
}

/* "<base>-<i>", malloc'd: the directory of the i-th partition of a test. */
static char *part_dir(const char *base, int i)
{
	char *dir = malloc(strlen(base) + 16);
	sprintf(dir, "%s-%d", base, i);
	return dir;
}

struct closer {
	struct log_partition *part;
	atomic_bool done;
};

static void *closer_main(void *arg)
{
	struct closer *cl = arg;
	log_partition_close(cl->part);
	atomic_store(&cl->done, true);
	return NULL;
}

static void test_close_with_pending_waits(void **state)
{
	(void)state;
	char *base = tl_tmpdir();
	char *dirs[3];
	for (int i = 0; i < 3; i++) {
		dirs[i] = part_dir(base, i);
	}
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_flusher *fl = log_flusher_start();
	struct log_partition *a = open_part(dirs[0], &cfg, fl);
	struct log_partition *b = open_part(dirs[1], &cfg, fl);
	struct log_partition *d = open_part(dirs[2], &cfg, fl);

	/* Park the flusher in a round that syncs a. */
	struct blocker blk;
	park_flusher(fl, a, &blk);

	/* Queue waits on b and d; they cannot be served while the flusher is parked. */
	struct counter cb_close = {0}, cb_delete = {0};
	for (int i = 0; i < 10; i++) {
		wait_for(fl, b, append_one(b, 2), &cb_close);
		wait_for(fl, d, append_one(d, 2), &cb_delete);
	}
	/* Closing b answers its waits (final sync done: success). */
	int64_t b_end = log_partition_end_offset(b);
	log_partition_close(b);
	assert_int_equal(atomic_load(&cb_close.ok), 10);
	assert_int_equal(atomic_load(&cb_close.err), 0);
	/* Deleting d answers them with an error. */
	assert_int_equal(log_partition_delete(d), 0);
	assert_int_equal(atomic_load(&cb_delete.err), 10);
	assert_int_equal(atomic_load(&cb_delete.last_err), -ENOENT);

	/* Closing a, which the parked round is syncing, waits for the round. */
	struct closer cl = {.part = a};
	atomic_init(&cl.done, false);
	pthread_t th;
	pthread_create(&th, NULL, closer_main, &cl);
	usleep(50000);
	assert_false(atomic_load(&cl.done));
	sem_post(&blk.release);
	pthread_join(th, NULL);
	assert_true(atomic_load(&cl.done));

	/* b's data survived its close. */
	b = open_part(dirs[1], &cfg, NULL);
	assert_int_equal(log_partition_end_offset(b), b_end);
	assert_int_equal(log_partition_flushed_offset(b), b_end);
	log_partition_close(b);

	log_flusher_stop(fl);
	sem_destroy(&blk.entered);
	sem_destroy(&blk.release);
	for (int i = 0; i < 3; i++)
		free(dirs[i]);
	tl_rmdir(base);
}

/* Many partitions, each appended to and waited on by one thread: every wait
 * answered once, and per partition in the order it was queued. */
enum { MP_PARTS = 24, MP_THREADS = 4, MP_PER = 150 };

struct ordered {
	struct log_partition *part;
	atomic_llong last_end; /* largest end answered so far */
	atomic_int ok, out_of_order;
};

struct ordered_wait {
	struct ordered *o;
	int64_t end;
};

static void ordered_cb(void *arg, int err)
{
	struct ordered_wait *w = arg;
	if (!err && log_partition_flushed_offset(w->o->part) >= w->end) {
		if (atomic_exchange(&w->o->last_end, w->end) >= w->end)
			atomic_fetch_add(&w->o->out_of_order, 1);
		atomic_fetch_add(&w->o->ok, 1);
	}
	free(w);
}

struct mp_producer {
	struct log_flusher *fl;
	struct ordered *parts; /* this thread's partitions: index % MP_THREADS == id */
	int id;
};

static void *mp_producer_main(void *arg)
{
	struct mp_producer *p = arg;
	for (int i = 0; i < MP_PER; i++) {
		for (int k = p->id; k < MP_PARTS; k += MP_THREADS) {
			struct ordered_wait *w = malloc(sizeof(*w));
			w->o = &p->parts[k];
			w->end = append_one(w->o->part, 1 + (i + k) % 3);
			log_flusher_wait(p->fl, w->o->part, w->end, ordered_cb, w);
		}
	}
	return NULL;
}

static void test_many_partitions_in_order(void **state)
{
	(void)state;
	char *base = tl_tmpdir();
	char *dirs[MP_PARTS];
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_flusher *fl = log_flusher_start();
	struct ordered parts[MP_PARTS];
	for (int i = 0; i < MP_PARTS; i++) {
		dirs[i] = part_dir(base, i);
		parts[i].part = open_part(dirs[i], &cfg, fl);
		atomic_init(&parts[i].last_end, 0);
		atomic_init(&parts[i].ok, 0);
		atomic_init(&parts[i].out_of_order, 0);
	}
	pthread_t th[MP_THREADS];
	struct mp_producer pr[MP_THREADS];
	for (int i = 0; i < MP_THREADS; i++) {
		pr[i] = (struct mp_producer){fl, parts, i};
		pthread_create(&th[i], NULL, mp_producer_main, &pr[i]);
	}
	for (int i = 0; i < MP_THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < MP_PARTS; i++) {
		assert_true(eventually(&parts[i].ok, MP_PER));
		assert_int_equal(atomic_load(&parts[i].ok), MP_PER);
		assert_int_equal(atomic_load(&parts[i].out_of_order), 0);
		assert_int_equal(log_partition_flushed_offset(parts[i].part),
				 log_partition_end_offset(parts[i].part));
		log_partition_close(parts[i].part);
		free(dirs[i]);
	}
	log_flusher_stop(fl);
	tl_rmdir(base);
}

/* Two waits of one round meet: each callback waits for the other's, which
 * only works when the partitions' syncs and answers run side by side rather
 * than one after the other or all at the round's end. */
struct rendezvous {
	sem_t arrived[2];
	atomic_int met;
};

struct rv_wait {
	struct rendezvous *rv;
	int me;
};

static void rendezvous_cb(void *arg, int err)
{
	struct rv_wait *w = arg;
	sem_post(&w->rv->arrived[w->me]);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	if (!err && sem_timedwait(&w->rv->arrived[!w->me], &ts) == 0)
		atomic_fetch_add(&w->rv->met, 1);
}

static void test_round_partitions_side_by_side(void **state)
{
	(void)state;
	char *base = tl_tmpdir();
	char *dirs[3];
	for (int i = 0; i < 3; i++) {
		dirs[i] = part_dir(base, i);
	}
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_flusher *fl = log_flusher_start();
	struct log_partition *z = open_part(dirs[0], &cfg, fl);
	struct log_partition *a = open_part(dirs[1], &cfg, fl);
	struct log_partition *b = open_part(dirs[2], &cfg, fl);

	/* Park a round on z so the waits on a and b share the next one. */
	struct blocker blk;
	park_flusher(fl, z, &blk);
	struct rendezvous rv;
	sem_init(&rv.arrived[0], 0, 0);
	sem_init(&rv.arrived[1], 0, 0);
	atomic_init(&rv.met, 0);
	struct rv_wait wa = {&rv, 0}, wb = {&rv, 1};
	log_flusher_wait(fl, a, append_one(a, 2), rendezvous_cb, &wa);
	log_flusher_wait(fl, b, append_one(b, 2), rendezvous_cb, &wb);
	sem_post(&blk.release);
	assert_true(eventually(&rv.met, 2));

	log_partition_close(z);
	log_partition_close(a);
	log_partition_close(b);
	log_flusher_stop(fl);
	sem_destroy(&blk.entered);
	sem_destroy(&blk.release);
	sem_destroy(&rv.arrived[0]);
	sem_destroy(&rv.arrived[1]);
	for (int i = 0; i < 3; i++)
		free(dirs[i]);
	tl_rmdir(base);
}

/* In one round: a partition whose sync fails (its sticky error), a healthy
 * one answered while another partition's callback still blocks, one closed
 * and one deleted before their turn is over. */
static void test_round_error_close_delete(void **state)
{
	(void)state;
	char *base = tl_tmpdir();
	enum { N = 6 };
	char *dirs[N];
	for (int i = 0; i < N; i++) {
		dirs[i] = part_dir(base, i);
	}
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_flusher *fl = log_flusher_start();
	struct log_partition *z = open_part(dirs[0], &cfg, fl);
	struct log_partition *bad = open_part(dirs[1], &cfg, fl);
	struct log_partition *good = open_part(dirs[2], &cfg, fl);
	struct log_partition *slow = open_part(dirs[3], &cfg, fl);
	struct log_partition *closed = open_part(dirs[4], &cfg, fl);
	struct log_partition *deleted = open_part(dirs[5], &cfg, fl);

	struct blocker park, hold;
	park_flusher(fl, z, &park);

	/* The next round: all five partitions. */
	struct counter c_bad = {0}, c_good = {0}, c_closed = {0}, c_deleted = {0};
	c_good.part = good;
	int64_t bad_end = append_one(bad, 3);
	pthread_mutex_lock(&bad->append_mu);
	bad->io_error = -EIO; /* as after a failed fdatasync */
	pthread_mutex_unlock(&bad->append_mu);
	for (int i = 0; i < 5; i++) {
		wait_for(fl, bad, bad_end, &c_bad);
		wait_for(fl, good, append_one(good, 2), &c_good);
		wait_for(fl, closed, append_one(closed, 2), &c_closed);
		wait_for(fl, deleted, append_one(deleted, 2), &c_deleted);
	}
	sem_init(&hold.entered, 0, 0);
	sem_init(&hold.release, 0, 0);
	log_flusher_wait(fl, slow, append_one(slow, 1), block_cb, &hold);
	sem_post(&park.release);
	sem_wait(&hold.entered); /* slow's callback holds one thread */

	/* The other partitions are answered meanwhile. */
	assert_true(eventually(&c_good.ok, 5));
	assert_true(eventually(&c_bad.err, 5));
	assert_int_equal(atomic_load(&c_bad.last_err), -EIO);
	assert_int_equal(atomic_load(&c_bad.ok), 0);
	assert_int_equal(atomic_load(&c_good.err), 0);
	/* Closed or deleted in the middle of the round: their waits were answered
	 * by the round or by the close (success) / delete (-ENOENT). */
	int64_t closed_end = log_partition_end_offset(closed);
	log_partition_close(closed);
	assert_int_equal(log_partition_delete(deleted), 0);
	assert_int_equal(atomic_load(&c_closed.ok), 5);
	assert_int_equal(atomic_load(&c_closed.err), 0);
	assert_int_equal(atomic_load(&c_deleted.ok) + atomic_load(&c_deleted.err), 5);
	if (atomic_load(&c_deleted.err))
		assert_int_equal(atomic_load(&c_deleted.last_err), -ENOENT);
	sem_post(&hold.release);

	/* The error is sticky; the healthy partition keeps working. */
	wait_for(fl, bad, bad_end, &c_bad);
	assert_true(eventually(&c_bad.err, 6));
	assert_int_equal(atomic_load(&c_bad.last_err), -EIO);
	wait_for(fl, good, append_one(good, 1), &c_good);
	assert_true(eventually(&c_good.ok, 6));

	closed = open_part(dirs[4], &cfg, NULL);
	assert_int_equal(log_partition_end_offset(closed), closed_end);
	assert_int_equal(log_partition_flushed_offset(closed), closed_end);
	log_partition_close(closed);
	log_partition_close(z);
	log_partition_close(bad);
	log_partition_close(good);
	log_partition_close(slow);
	log_flusher_stop(fl);
	sem_destroy(&park.entered);
	sem_destroy(&park.release);
	sem_destroy(&hold.entered);
	sem_destroy(&hold.release);
	for (int i = 0; i < N; i++)
		free(dirs[i]);
	tl_rmdir(base);
}

static void test_flush_policies(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	cfg.flush_messages = 10;
	struct log_flusher *fl = log_flusher_start();
	struct log_partition *part = open_part(dir, &cfg, fl);

	/* flush.messages = 10: 9 messages do not trigger a sync, 10 do. */
	append_one(part, 3);
	append_one(part, 3);
	append_one(part, 3);
	usleep(50000);
	assert_int_equal(log_partition_flushed_offset(part), 0);
	append_one(part, 1);
	int64_t t0 = clock_mono_ms();
	while (log_partition_flushed_offset(part) < 10 && clock_mono_ms() - t0 < 5000)
		usleep(1000);
	assert_int_equal(log_partition_flushed_offset(part), 10);

	/* flush.ms = 100: a sync follows within about that. */
	cfg.flush_messages = INT64_MAX;
	cfg.flush_ms = 100;
	log_partition_set_config(part, &cfg);
	t0 = clock_mono_ms();
	int64_t end = append_one(part, 1);
	usleep(30000);
	assert_true(log_partition_flushed_offset(part) < end);
	while (log_partition_flushed_offset(part) < end && clock_mono_ms() - t0 < 5000)
		usleep(1000);
	assert_int_equal(log_partition_flushed_offset(part), end);
	assert_true(clock_mono_ms() - t0 >= 90);

	/* A kick by hand. */
	cfg.flush_ms = INT64_MAX;
	log_partition_set_config(part, &cfg);
	end = append_one(part, 1);
	log_flusher_kick(fl, part);
	t0 = clock_mono_ms();
	while (log_partition_flushed_offset(part) < end && clock_mono_ms() - t0 < 5000)
		usleep(1000);
	assert_int_equal(log_partition_flushed_offset(part), end);

	/* Close with a flush.ms kick still armed far in the future. */
	cfg.flush_ms = 1000000;
	log_partition_set_config(part, &cfg);
	append_one(part, 1);
	log_partition_close(part);
	log_flusher_stop(fl);
	tl_rmdir(dir);
}

/* A roll kicks the flusher: the sealed segment gets synced and the recovery
 * point moves past it without anyone waiting (recovery after a crash then
 * only rescans the active segment). */
static void test_roll_advances_recovery_point(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 4096);
	struct log_flusher *fl = log_flusher_start();
	struct log_partition *part = open_part(dir, &cfg, fl);
	for (int i = 0; i < 40; i++)
		append_one(part, 2);
	assert_true(tl_count_files(dir, "log") >= 3);
	char *cp = tl_path(dir, "recovery-point");
	long long off = -1, base = -1;
	int64_t t0 = clock_mono_ms();
	int64_t want = 0; /* the active segment's base */
	DIR *d = opendir(dir);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		long long b;
		if (sscanf(de->d_name, "%20lld.log", &b) == 1 && b > want)
			want = b;
	}
	closedir(d);
	while (clock_mono_ms() - t0 < 5000) {
		FILE *f = fopen(cp, "r");
		if (f) {
			int v;
			if (fscanf(f, "%d %lld %lld", &v, &off, &base) != 3)
				off = -1;
			fclose(f);
		}
		if (off >= want)
			break;
		usleep(1000);
	}
	assert_true(off >= want);
	assert_true(base > 0);
	assert_true(log_partition_flushed_offset(part) >= off);
	free(cp);
	log_partition_close(part);
	log_flusher_stop(fl);
	tl_rmdir(dir);
}

static void test_stop_drains(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct log_config cfg;
	tl_config(&cfg, 1 << 20);
	struct log_flusher *fl = log_flusher_start();
	/* Opened without the flusher so it may outlive it (in the broker the
	 * flusher outlives every partition). */
	struct log_partition *part = open_part(dir, &cfg, NULL);
	struct counter c = {0};
	c.part = part;
	for (int i = 0; i < 100; i++)
		wait_for(fl, part, append_one(part, 1), &c);
	log_flusher_stop(fl); /* every queued wait is answered before it returns */
	assert_int_equal(atomic_load(&c.ok), 100);
	assert_int_equal(log_partition_flushed_offset(part), 100);
	log_partition_close(part);
	tl_rmdir(dir);
}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_concurrent_waits),
		cmocka_unit_test(test_close_with_pending_waits),
		cmocka_unit_test(test_many_partitions_in_order),
		cmocka_unit_test(test_round_partitions_side_by_side),
		cmocka_unit_test(test_round_error_close_delete),
		cmocka_unit_test(test_flush_policies),
		cmocka_unit_test(test_roll_advances_recovery_point),
		cmocka_unit_test(test_stop_drains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
