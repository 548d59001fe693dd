/* Group commit. One thread per data dir turns "durable up to offset X" requests
 * into as few fdatasync calls as possible.
 *
 * The thread loops: take every queued wait and every due kick, sync each
 * partition involved once (log_partition_sync_internal: directory, sealed
 * segments, then the active one), then run the callbacks. Everything that
 * arrives while a round is syncing is covered by the next round's single sync
 * per partition, so under load the sync rate stays bounded by the device
 * while the number of acknowledged produces per sync grows.
 *
 * Kicks serve flush.messages (appended count reached; immediate) and flush.ms
 * (a deadline armed by the first append after a sync); the thread sleeps on a
 * condition variable, with a timeout only while a timed kick is pending.
 *
 * Closing or deleting a partition detaches it first: its queued waits are
 * handed back to the caller, and if a round is syncing it the detach waits for
 * that round to end, so the flusher never touches a freed partition. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "log/log_int.h"

struct wait_vec {
	struct log_flush_wait *v;
	size_t n, cap;
};

struct part_vec {
	struct log_partition **v;
	size_t n, cap;
};

struct log_flusher {
	pthread_mutex_t mu;
	pthread_cond_t wake;  /* work queued, or stopping */
	pthread_cond_t idle;  /* a round ended */
	pthread_t thread;
	bool stopping;
	bool in_round;
	struct wait_vec pending;
	struct wait_vec taken;   /* the current round's waits (flusher thread) */
	struct part_vec kicks;   /* partitions with fl_kick_deadline set */
	struct part_vec round;   /* partitions of the current round */
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
	part->fl_round_err = 0;
	part->fl_round_need = INT64_MIN;
}

/* Adds part to the round (flusher->mu held). */
static void round_add(struct log_flusher *fl, struct log_partition *part)
{
	if (part->fl_in_round)
		return;
	part->fl_in_round = true;
	part->fl_kicked = false;
	part->fl_round_err = 0;
	part->fl_round_need = INT64_MIN;
	part_vec_push(&fl->round, part);
}

static void run_round(struct log_flusher *fl)
{
	/* Sync each partition once. A partition only waited on by requests it
	 * already satisfies is not synced again. */
	for (size_t i = 0; i < fl->round.n; i++) {
		struct log_partition *part = fl->round.v[i];
		bool need = part->fl_kicked ||
			    part->fl_round_need > log_partition_flushed_offset(part);
		part->fl_round_err = need ? log_partition_sync_internal(part, false) : 0;
	}
	for (size_t i = 0; i < fl->taken.n; i++) {
		struct log_flush_wait *w = &fl->taken.v[i];
		int err = w->part->fl_round_err;
		if (!err && w->end_offset > log_partition_flushed_offset(w->part))
			err = -SAMSA_ERANGE; /* awaited an offset never appended */
		w->cb(w->arg, err);
	}
	fl->taken.n = 0;
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
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				int64_t ms = next_deadline - now;
				ts.tv_sec += ms / 1000;
				ts.tv_nsec += (ms % 1000) * 1000000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&fl->wake, &fl->mu, &ts);
			}
			continue;
		}

		/* Take the round: all waits, all due kicks. */
		struct wait_vec tmp = fl->taken;
		fl->taken = fl->pending;
		fl->pending = tmp;
		fl->round.n = 0;
		for (size_t i = 0; i < fl->taken.n; i++) {
			struct log_partition *part = fl->taken.v[i].part;
			round_add(fl, part);
			if (fl->taken.v[i].end_offset > part->fl_round_need)
				part->fl_round_need = fl->taken.v[i].end_offset;
		}
		size_t keep = 0;
		for (size_t i = 0; i < fl->kicks.n; i++) {
			struct log_partition *part = fl->kicks.v[i];
			if (part->fl_kick_deadline <= now || fl->stopping) {
				part->fl_kick_deadline = INT64_MAX;
				atomic_store(&part->timed_kick, false);
				round_add(fl, part);
				part->fl_kicked = true;
			} else {
				fl->kicks.v[keep++] = part;
			}
		}
		fl->kicks.n = keep;
		fl->in_round = true;
		pthread_mutex_unlock(&fl->mu);

		run_round(fl);

		pthread_mutex_lock(&fl->mu);
		for (size_t i = 0; i < fl->round.n; i++)
			fl->round.v[i]->fl_in_round = false;
		fl->round.n = 0;
		fl->in_round = false;
		pthread_cond_broadcast(&fl->idle);
	}
	pthread_mutex_unlock(&fl->mu);
	return NULL;
}

struct log_flusher *log_flusher_start(void)
{
	struct log_flusher *fl = xcalloc(1, sizeof(*fl));
	pthread_mutex_init(&fl->mu, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&fl->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&fl->idle, NULL);
	int rc = pthread_create(&fl->thread, NULL, flusher_main, fl);
	if (rc) {
		log_error(LOG_MODULE, "cannot start the flusher thread: %s", strerror(rc));
		abort();
	}
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
	/* Anything queued after the thread left (a caller bug) still gets an answer. */
	for (size_t i = 0; i < fl->pending.n; i++)
		fl->pending.v[i].cb(fl->pending.v[i].arg, -ESHUTDOWN);
	free(fl->pending.v);
	free(fl->taken.v);
	free(fl->kicks.v);
	free(fl->round.v);
	pthread_cond_destroy(&fl->wake);
	pthread_cond_destroy(&fl->idle);
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
