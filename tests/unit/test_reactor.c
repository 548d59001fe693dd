/* Reactor: timers fire in deadline order (ties in insertion order), cancel
 * works, posts from other threads run on the reactor thread, fd callbacks and
 * before_sleep callbacks run, stop ends the loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/clock.h"
#include "net/reactor.h"

struct order_log {
	struct reactor *reactor;
	int seen[32];
	int count;
	int stop_after;
};

struct order_item {
	struct order_log *log;
	int id;
};

static void record_fire(void *arg)
{
	struct order_item *item = arg;
	item->log->seen[item->log->count++] = item->id;
	if (item->log->count == item->log->stop_after)
		reactor_stop(item->log->reactor);
}

static void test_timers_fire_in_order(void **state)
{
	(void)state;
	struct reactor *reactor = reactor_new(0);
	struct order_log log = {.reactor = reactor, .stop_after = 5};
	struct order_item items[5];
	/* ids in expected firing order: delays 5, 10, 10 (added later), 20, 30 */
	int delays[5] = {30, 10, 5, 20, 10};
	int ids[5] = {4, 1, 0, 3, 2};
	/* Before the timers are added: deadlines count from then, in whole ms. */
	int64_t start = clock_mono_ms();
	for (int i = 0; i < 5; i++) {
		items[i] = (struct order_item){&log, ids[i]};
		reactor_timer_add(reactor, delays[i], record_fire, &items[i]);
	}
	reactor_run(reactor);
	assert_true(clock_mono_ms() - start >= 30);
	assert_int_equal(log.count, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(log.seen[i], i);
	reactor_free(reactor);
}

static void test_timer_cancel(void **state)
{
	(void)state;
	struct reactor *reactor = reactor_new(0);
	struct order_log log = {.reactor = reactor, .stop_after = 2};
	struct order_item items[4] = {{&log, 0}, {&log, 1}, {&log, 2}, {&log, 3}};
	struct reactor_timer *t0 = reactor_timer_add(reactor, 1, record_fire, &items[0]);
	reactor_timer_add(reactor, 5, record_fire, &items[1]);
	struct reactor_timer *t2 = reactor_timer_add(reactor, 3, record_fire, &items[2]);
	reactor_timer_add(reactor, 8, record_fire, &items[3]);
	reactor_timer_cancel(reactor, t2);
	reactor_timer_cancel(reactor, t0);
	reactor_run(reactor);
	assert_int_equal(log.count, 2);
	assert_int_equal(log.seen[0], 1);
	assert_int_equal(log.seen[1], 3);
	reactor_free(reactor);
}

/* Many timers with random-ish deadlines and cancellations keep heap order. */
struct heap_state {
	struct reactor *reactor;
	int64_t last_when;
	int fired;
	int expected;
	bool out_of_order;
};

struct heap_item {
	struct heap_state *hs;
	int64_t when;
	struct reactor_timer *timer;
};

static void heap_fire(void *arg)
{
	struct heap_item *item = arg;
	struct heap_state *hs = item->hs;
	if (item->when < hs->last_when)
		hs->out_of_order = true;
	hs->last_when = item->when;
	item->timer = NULL;
	if (++hs->fired == hs->expected)
		reactor_stop(hs->reactor);
}

static void test_timer_heap_stress(void **state)
{
	(void)state;
	enum { N = 500 };
	static struct heap_item items[N];
	struct heap_state hs = {.reactor = reactor_new(0)};
	uint32_t x = 12345;
	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		/* deadlines 10 ms apart, far more than adding all of them takes */
		int64_t delay = (int64_t)((x >> 8) % 10) * 10;
		items[i] = (struct heap_item){&hs, delay, NULL};
		items[i].timer = reactor_timer_add(hs.reactor, delay, heap_fire, &items[i]);
	}
	int cancelled = 0;
	for (int i = 0; i < N; i += 3) {
		reactor_timer_cancel(hs.reactor, items[i].timer);
		items[i].timer = NULL;
		cancelled++;
	}
	hs.expected = N - cancelled;
	reactor_run(hs.reactor);
	assert_false(hs.out_of_order);
	assert_int_equal(hs.fired, N - cancelled);
	reactor_free(hs.reactor);
}

/* A timer that re-adds itself with delay 0 does not starve the loop. */
struct rearm_state {
	struct reactor *reactor;
	int rearms;
	bool other_fired;
};

static void rearm_fire(void *arg)
{
	struct rearm_state *rs = arg;
	if (rs->other_fired) {
		reactor_stop(rs->reactor);
		return;
	}
	rs->rearms++;
	reactor_timer_add(rs->reactor, 0, rearm_fire, rs);
}

static void rearm_other(void *arg)
{
	struct rearm_state *rs = arg;
	rs->other_fired = true;
}

static void test_timer_zero_delay_rearm(void **state)
{
	(void)state;
	struct rearm_state rs = {.reactor = reactor_new(0)};
	reactor_timer_add(rs.reactor, 0, rearm_fire, &rs);
	reactor_timer_add(rs.reactor, 2, rearm_other, &rs);
	reactor_run(rs.reactor);
	assert_true(rs.other_fired);
	assert_true(rs.rearms >= 1);
	reactor_free(rs.reactor);
}

/* Posts from another thread run on the reactor thread, all of them, in order. */
struct post_state {
	struct reactor *reactor;
	pthread_t reactor_thread;
	atomic_int ran;
	int last;
	bool wrong_thread;
	bool out_of_order;
	bool current_ok;
};

struct post_item {
	struct post_state *ps;
	int seq;
};

enum { POSTS = 10000 };

static void post_fn(void *arg)
{
	struct post_item *item = arg;
	struct post_state *ps = item->ps;
	if (!pthread_equal(pthread_self(), ps->reactor_thread))
		ps->wrong_thread = true;
	if (reactor_current() != ps->reactor)
		ps->current_ok = false;
	if (item->seq != ps->last + 1)
		ps->out_of_order = true;
	ps->last = item->seq;
	if (atomic_fetch_add(&ps->ran, 1) + 1 == POSTS)
		reactor_stop(ps->reactor);
}

static void *reactor_thread_main(void *arg)
{
	struct post_state *ps = arg;
	reactor_run(ps->reactor);
	return NULL;
}

static void test_post_from_other_thread(void **state)
{
	(void)state;
	static struct post_item items[POSTS];
	struct post_state ps = {.reactor = reactor_new(3), .last = -1, .current_ok = true};
	atomic_init(&ps.ran, 0);
	assert_int_equal(reactor_index(ps.reactor), 3);
	assert_null(reactor_current());
	pthread_create(&ps.reactor_thread, NULL, reactor_thread_main, &ps);
	for (int i = 0; i < POSTS; i++) {
		items[i] = (struct post_item){&ps, i};
		reactor_post(ps.reactor, post_fn, &items[i]);
		if (i % 1000 == 0)
			usleep(1000);
	}
	pthread_join(ps.reactor_thread, NULL);
	assert_int_equal(atomic_load(&ps.ran), POSTS);
	assert_false(ps.wrong_thread);
	assert_false(ps.out_of_order);
	assert_true(ps.current_ok);
	assert_null(reactor_current());
	reactor_free(ps.reactor);
}

/* reactor_stop from another thread wakes a loop sleeping with no timers. */
static void *stop_later(void *arg)
{
	usleep(20000);
	reactor_stop(arg);
	return NULL;
}

static void test_stop_from_other_thread(void **state)
{
	(void)state;
	struct reactor *reactor = reactor_new(0);
	pthread_t t;
	pthread_create(&t, NULL, stop_later, reactor);
	int64_t start = clock_mono_ms();
	reactor_run(reactor);
	pthread_join(t, NULL);
	assert_true(clock_mono_ms() - start < 5000);
	reactor_free(reactor);
}

/* Posts that arrive after the loop ended run in reactor_free. */
static void count_fn(void *arg)
{
	(*(int *)arg)++;
}

static void test_posts_after_stop_run_on_free(void **state)
{
	(void)state;
	struct reactor *reactor = reactor_new(0);
	int count = 0;
	reactor_stop(reactor);
	reactor_run(reactor);
	reactor_post(reactor, count_fn, &count);
	reactor_post(reactor, count_fn, &count);
	assert_int_equal(count, 0);
	reactor_free(reactor);
	assert_int_equal(count, 2);
}

/* fd readiness and before_sleep. */
struct io_state {
	struct reactor *reactor;
	int fds[2];
	int reads;
	int before_sleep_runs;
	int order[8];
	int order_len;
};

static void bs_fn(void *arg)
{
	struct io_state *ios = arg;
	ios->before_sleep_runs++;
	ios->order[ios->order_len++] = 2;
	reactor_stop(ios->reactor);
}

static void io_fn(void *arg, uint32_t events)
{
	struct io_state *ios = arg;
	assert_true(events & EPOLLIN);
	char buf[16];
	ssize_t n = read(ios->fds[0], buf, sizeof(buf));
	assert_int_equal(n, 3);
	ios->reads++;
	ios->order[ios->order_len++] = 1;
	/* registered twice: runs twice, once per registration */
	reactor_before_sleep(ios->reactor, bs_fn, ios);
	reactor_before_sleep(ios->reactor, bs_fn, ios);
}

static void test_fd_and_before_sleep(void **state)
{
	(void)state;
	struct io_state ios = {.reactor = reactor_new(0)};
	assert_int_equal(pipe(ios.fds), 0);
	assert_int_equal(reactor_add_fd(ios.reactor, ios.fds[0], EPOLLIN, io_fn, &ios), 0);
	assert_int_equal(reactor_add_fd(ios.reactor, ios.fds[0], EPOLLIN, io_fn, &ios), -EEXIST);
	assert_int_equal(write(ios.fds[1], "abc", 3), 3);
	reactor_run(ios.reactor);
	assert_int_equal(ios.reads, 1);
	assert_int_equal(ios.before_sleep_runs, 2);
	assert_int_equal(ios.order[0], 1);
	assert_int_equal(ios.order[1], 2);
	/* mod to no events: nothing fires; del twice is harmless */
	assert_int_equal(reactor_mod_fd(ios.reactor, ios.fds[0], 0, io_fn, &ios), 0);
	reactor_del_fd(ios.reactor, ios.fds[0]);
	reactor_del_fd(ios.reactor, ios.fds[0]);
	assert_int_equal(reactor_mod_fd(ios.reactor, ios.fds[0], EPOLLIN, io_fn, &ios), -ENOENT);
	close(ios.fds[0]);
	close(ios.fds[1]);
	reactor_free(ios.reactor);
}

/* An event already collected for an fd that an earlier callback of the same
 * batch closed and replaced is dropped, not delivered to the new owner. */
struct stale_state {
	struct reactor *reactor;
	int pipes[2][2];
	int calls;
	int new_calls;
	int new_fd;
};

struct stale_side {
	struct stale_state *ss;
	int which;
};

static void stale_new_fn(void *arg, uint32_t events)
{
	(void)events;
	struct stale_state *ss = arg;
	ss->new_calls++;
}

static void stale_fn(void *arg, uint32_t events)
{
	(void)events;
	struct stale_side *side = arg;
	struct stale_state *ss = side->ss;
	ss->calls++;
	/* The first one to fire closes the other pipe and reuses its fd number
	 * for a new registration, while the other's event is still queued. */
	int victim = ss->pipes[!side->which][0];
	reactor_del_fd(ss->reactor, victim);
	close(victim);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(p[0], victim); /* lowest free number */
	ss->new_fd = p[0];
	assert_int_equal(reactor_add_fd(ss->reactor, p[0], EPOLLIN, stale_new_fn, ss), 0);
	ss->pipes[!side->which][0] = -1;
	close(p[1]);
	reactor_stop(ss->reactor);
}

static void test_stale_event_dropped(void **state)
{
	(void)state;
	struct stale_state ss = {.reactor = reactor_new(0)};
	struct stale_side sides[2] = {{&ss, 0}, {&ss, 1}};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe(ss.pipes[i]), 0);
		reactor_add_fd(ss.reactor, ss.pipes[i][0], EPOLLIN, stale_fn, &sides[i]);
	}
	/* both readable before the loop waits, so both events land in one batch */
	for (int i = 0; i < 2; i++)
		assert_int_equal(write(ss.pipes[i][1], "x", 1), 1);
	reactor_run(ss.reactor);
	assert_int_equal(ss.calls, 1);
	assert_int_equal(ss.new_calls, 0);
	for (int i = 0; i < 2; i++) {
		if (ss.pipes[i][0] >= 0) {
			reactor_del_fd(ss.reactor, ss.pipes[i][0]);
			close(ss.pipes[i][0]);
		}
		close(ss.pipes[i][1]);
	}
	reactor_del_fd(ss.reactor, ss.new_fd);
	close(ss.new_fd);
	reactor_free(ss.reactor);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_order),
		cmocka_unit_test(test_timer_cancel),
		cmocka_unit_test(test_timer_heap_stress),
		cmocka_unit_test(test_timer_zero_delay_rearm),
		cmocka_unit_test(test_post_from_other_thread),
		cmocka_unit_test(test_stop_from_other_thread),
		cmocka_unit_test(test_posts_after_stop_run_on_free),
		cmocka_unit_test(test_fd_and_before_sleep),
		cmocka_unit_test(test_stale_event_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
