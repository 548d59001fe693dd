/* Group commit. One coordinating thread per data dir turns "durable up to
 * offset X" requests into as few fdatasync calls as possible, and a small
 * fixed pool of threads runs those calls side by side.
 *
 * The coordinator loops: take every queued wait and every due kick, group the
 * waits by partition (arrival order kept within one), and post the round. It
 * and the pool's workers then take the round's partitions one at a time: sync
 * it once (log_partition_sync_internal: directory, sealed segments, then the
 * active one) and run its callbacks right away, without waiting for the other
 * partitions. fdatasyncs of different files issued together share an ext4
 * journal commit, where one after the other each pays its own, so a round over
 * n partitions waits for about n / FLUSHER_THREADS commits rather than n.
 * Everything that arrives while a round is syncing is covered by
 * the next round's single sync per partition, so under load the sync rate
 * stays bounded by the device while the number of acknowledged produces per
 * sync grows.
 *
 * Kicks serve flush.messages (appended count reached; immediate) and flush.ms
 * (a deadline armed by the first append after a sync); the coordinator sleeps
 * on a condition variable, with a timeout only while a timed kick is pending.
 *
 * Closing or deleting a partition detaches it first: its queued waits are
 * handed back to the caller, and if a round is syncing it the detach waits
 * until that partition's sync and callbacks are done, so no flusher thread
 * ever touches a freed partition. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "log/log_int.h"

/* The coordinator plus this many minus one workers. Enough to overlap the
 * journal commits of a round; the threads only wait on the disk. */
#define FLUSHER_THREADS 4

struct wait_vec {
	struct log_flush_wait *v;
	size_t n, cap;
};

struct part_vec {
	struct log_partition **v;
	size_t n, cap;
};

/* A partition of the round and its waits, byp[first .. first + n). */
struct round_part {
	struct log_partition *part;
	size_t first, n;
};

struct log_flusher {
	pthread_mutex_t mu;
	pthread_cond_t wake;  /* work queued, or stopping (coordinator) */
	pthread_cond_t idle;  /* a partition left its round */
	pthread_cond_t work;  /* a round was posted, or quitting (workers) */
	pthread_cond_t done;  /* the round's last partition is done (coordinator) */
	pthread_t thread;
	pthread_t workers[FLUSHER_THREADS - 1];
	bool stopping;
	bool quit;               /* workers leave */
	struct wait_vec pending;
	struct wait_vec taken;   /* the current round's waits, arrival order */
	struct log_flush_wait **byp; /* taken, grouped by partition */
	size_t byp_cap;
	struct part_vec kicks;   /* partitions with fl_kick_deadline set */
	struct round_part *round; /* partitions of the current round */
	size_t round_n, round_cap;
	size_t round_next;       /* the next one to take */
	size_t round_busy;       /* taken, not yet done */
};

static void wait_vec_push(struct wait_vec *w, const struct log_flush_wait *x)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n++] = *x;
}

static void part_vec_push(struct part_vec *p, struct log_partition *part)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n++] = part;
}

void log_flusher_part_init(struct log_partition *part)
{
	part->fl_kick_deadline = INT64_MAX;
	part->fl_in_round = false;
	part->fl_kicked = false;
	part->fl_round_need = INT64_MIN;
}

/* Adds part to the round (flusher->mu held). */
static struct round_part *round_add(struct log_flusher *fl, struct log_partition *part, size_t first)
{
	if (fl->round_n == fl->round_cap) {
		fl->round_cap = fl->round_cap ? fl->round_cap * 2 : 16;
		fl->round = xrealloc(fl->round, fl->round_cap * sizeof(*fl->round));
	}
	part->fl_in_round = true;
	part->fl_kicked = false;
	part->fl_round_need = INT64_MIN;
	struct round_part *rp = &fl->round[fl->round_n++];
	*rp = (struct round_part){.part = part, .first = first};
	return rp;
}

/* By partition, then by position in taken (arrival order). */
static int wait_cmp(const void *a, const void *b)
{
	const struct log_flush_wait *x = *(struct log_flush_wait *const *)a;
	const struct log_flush_wait *y = *(struct log_flush_wait *const *)b;
	uintptr_t px = (uintptr_t)x->part, py = (uintptr_t)y->part;
	if (px != py)
		return px < py ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Takes every queued wait and every due kick into the round (flusher->mu held). */
static void round_take(struct log_flusher *fl, int64_t now)
{
	struct wait_vec tmp = fl->taken;
	fl->taken = fl->pending;
	fl->pending = tmp;
	if (fl->byp_cap < fl->taken.n) {
		fl->byp_cap = fl->taken.cap;
		fl->byp = xrealloc(fl->byp, fl->byp_cap * sizeof(*fl->byp));
	}
	for (size_t i = 0; i < fl->taken.n; i++)
		fl->byp[i] = &fl->taken.v[i];
	if (fl->taken.n > 1)
		qsort(fl->byp, fl->taken.n, sizeof(*fl->byp), wait_cmp);
	fl->round_n = 0;
	struct round_part *rp = NULL;
	for (size_t i = 0; i < fl->taken.n; i++) {
		struct log_flush_wait *w = fl->byp[i];
		if (!rp || rp->part != w->part)
			rp = round_add(fl, w->part, i);
		rp->n++;
		if (w->end_offset > w->part->fl_round_need)
			w->part->fl_round_need = w->end_offset;
	}
	size_t keep = 0;
	for (size_t i = 0; i < fl->kicks.n; i++) {
		struct log_partition *part = fl->kicks.v[i];
		if (part->fl_kick_deadline <= now || fl->stopping) {
			part->fl_kick_deadline = INT64_MAX;
			atomic_store(&part->timed_kick, false);
			if (!part->fl_in_round)
				round_add(fl, part, 0);
			part->fl_kicked = true;
		} else {
			fl->kicks.v[keep++] = part;
		}
	}
	fl->kicks.n = keep;
	fl->round_next = 0;
}

/* Syncs one partition of the round, unless its waits are all satisfied
 * already, and answers them. */
static void sync_part(struct log_flusher *fl, const struct round_part *rp)
{
	struct log_partition *part = rp->part;
	bool need = part->fl_kicked || part->fl_round_need > log_partition_flushed_offset(part);
	int err = need ? log_partition_sync_internal(part, false) : 0;
	int64_t flushed = log_partition_flushed_offset(part);
	for (size_t i = 0; i < rp->n; i++) {
		struct log_flush_wait *w = fl->byp[rp->first + i];
		int e = err;
		if (!e && w->end_offset > flushed)
			e = -SAMSA_ERANGE; /* awaited an offset never appended */
		w->cb(w->arg, e);
	}
}

/* Takes the round's partitions until none is left (flusher->mu held, released
 * while syncing). */
static void round_work(struct log_flusher *fl)
{
	while (fl->round_next < fl->round_n) {
		struct round_part rp = fl->round[fl->round_next++];
		fl->round_busy++;
		pthread_mutex_unlock(&fl->mu);
		sync_part(fl, &rp);
		pthread_mutex_lock(&fl->mu);
		rp.part->fl_in_round = false;
		pthread_cond_broadcast(&fl->idle);
		if (--fl->round_busy == 0 && fl->round_next == fl->round_n)
			pthread_cond_signal(&fl->done);
	}
}

static void *worker_main(void *arg)
{
	struct log_flusher *fl = arg;
	pthread_mutex_lock(&fl->mu);
	for (;;) {
		round_work(fl);
		if (fl->quit)
			break;
		pthread_cond_wait(&fl->work, &fl->mu);
	}
	pthread_mutex_unlock(&fl->mu);
	return NULL;
}

static void *flusher_main(void *arg)
{
	struct log_flusher *fl = arg;
	pthread_mutex_lock(&fl->mu);
	for (;;) {
		int64_t now = clock_mono_ms();
		int64_t next_deadline = INT64_MAX;
		bool due = false;
		for (size_t i = 0; i < fl->kicks.n; i++) {
			int64_t d = fl->kicks.v[i]->fl_kick_deadline;
			if (d <= now || fl->stopping)
				due = true;
			else if (d < next_deadline)
				next_deadline = d;
		}
		if (!fl->pending.n && !due) {
			if (fl->stopping)
				break;
			if (next_deadline == INT64_MAX) {
				pthread_cond_wait(&fl->wake, &fl->mu);
			} else {
				clock_cond_wait_ms(&fl->wake, &fl->mu, next_deadline - now);
			}
			continue;
		}

		round_take(fl, now);
		if (fl->round_n > 1)
			pthread_cond_broadcast(&fl->work);
		round_work(fl);
		while (fl->round_busy)
			pthread_cond_wait(&fl->done, &fl->mu);
		fl->round_n = 0;
		fl->taken.n = 0;
	}
	fl->quit = true;
	pthread_cond_broadcast(&fl->work);
	pthread_mutex_unlock(&fl->mu);
	return NULL;
}

static void start_thread(pthread_t *th, void *(*fn)(void *), struct log_flusher *fl)
{
	int rc = pthread_create(th, NULL, fn, fl);
	if (rc) {
		log_error(LOG_MODULE, "cannot start a flusher thread: %s", strerror(rc));
		abort();
	}
}

struct log_flusher *log_flusher_start(void)
{
	struct log_flusher *fl = xcalloc(1, sizeof(*fl));
	pthread_mutex_init(&fl->mu, NULL);
	clock_cond_init(&fl->wake);
	pthread_cond_init(&fl->idle, NULL);
	pthread_cond_init(&fl->work, NULL);
	pthread_cond_init(&fl->done, NULL);
	for (int i = 0; i < FLUSHER_THREADS - 1; i++)
		start_thread(&fl->workers[i], worker_main, fl);
	start_thread(&fl->thread, flusher_main, fl);
	return fl;
}

void log_flusher_stop(struct log_flusher *fl)
{
	if (!fl)
		return;
	pthread_mutex_lock(&fl->mu);
	fl->stopping = true;
	pthread_cond_signal(&fl->wake);
	pthread_mutex_unlock(&fl->mu);
	pthread_join(fl->thread, NULL);
	for (int i = 0; i < FLUSHER_THREADS - 1; i++)
		pthread_join(fl->workers[i], NULL);
	/* Anything queued after the thread left (a caller bug) still gets an answer. */
	for (size_t i = 0; i < fl->pending.n; i++)
		fl->pending.v[i].cb(fl->pending.v[i].arg, -ESHUTDOWN);
	free(fl->pending.v);
	free(fl->taken.v);
	free(fl->byp);
	free(fl->kicks.v);
	free(fl->round);
	pthread_cond_destroy(&fl->wake);
	pthread_cond_destroy(&fl->idle);
	pthread_cond_destroy(&fl->work);
	pthread_cond_destroy(&fl->done);
	pthread_mutex_destroy(&fl->mu);
	free(fl);
}

void log_flusher_wait(struct log_flusher *fl, struct log_partition *part, int64_t end_offset,
		      log_flush_cb cb, void *arg)
{
	struct log_flush_wait w = {.part = part, .end_offset = end_offset, .cb = cb, .arg = arg};
	pthread_mutex_lock(&fl->mu);
	wait_vec_push(&fl->pending, &w);
	if (fl->pending.n == 1)
		pthread_cond_signal(&fl->wake);
	pthread_mutex_unlock(&fl->mu);
}

void log_flusher_kick_after(struct log_flusher *fl, struct log_partition *part, int64_t delay_ms)
{
	if (!fl)
		return;
	int64_t deadline = clock_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	pthread_mutex_lock(&fl->mu);
	if (part->fl_kick_deadline == INT64_MAX) {
		part->fl_kick_deadline = deadline;
		part_vec_push(&fl->kicks, part);
		pthread_cond_signal(&fl->wake);
	} else if (deadline < part->fl_kick_deadline) {
		part->fl_kick_deadline = deadline;
		pthread_cond_signal(&fl->wake);
	}
	pthread_mutex_unlock(&fl->mu);
}

void log_flusher_kick(struct log_flusher *fl, struct log_partition *part)
{
	log_flusher_kick_after(fl, part, 0);
}

void log_flusher_detach(struct log_flusher *fl, struct log_partition *part,
			struct log_flush_wait **waits, size_t *nwaits)
{
	struct wait_vec out = {0};
	pthread_mutex_lock(&fl->mu);
	size_t keep = 0;
	for (size_t i = 0; i < fl->pending.n; i++) {
		if (fl->pending.v[i].part == part)
			wait_vec_push(&out, &fl->pending.v[i]);
		else
			fl->pending.v[keep++] = fl->pending.v[i];
	}
	fl->pending.n = keep;
	keep = 0;
	for (size_t i = 0; i < fl->kicks.n; i++)
		if (fl->kicks.v[i] != part)
			fl->kicks.v[keep++] = fl->kicks.v[i];
	fl->kicks.n = keep;
	part->fl_kick_deadline = INT64_MAX;
	while (part->fl_in_round)
		pthread_cond_wait(&fl->idle, &fl->mu);
	pthread_mutex_unlock(&fl->mu);
	*waits = out.v;
	*nwaits = out.n;
}
