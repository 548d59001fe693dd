/* base/clock: the monotonic timed wait every background thread sleeps in. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/clock.h"

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool ready;
};

static void waiter_init(struct waiter *w)
{
	pthread_mutex_init(&w->mu, NULL);
	clock_cond_init(&w->cond);
	w->ready = false;
}

static void waiter_destroy(struct waiter *w)
{
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
}

static void test_wait_times_out_after_the_delay(void **state)
{
	(void)state;
	struct waiter w;
	waiter_init(&w);
	pthread_mutex_lock(&w.mu);
	int64_t t0 = clock_mono_ms();
	int rc;
	do /* a spurious wake-up returns 0 early: wait out the rest */
		rc = clock_cond_wait_ms(&w.cond, &w.mu, 30 - (clock_mono_ms() - t0));
	while (rc == 0);
	int64_t waited = clock_mono_ms() - t0;
	pthread_mutex_unlock(&w.mu);
	assert_int_equal(rc, ETIMEDOUT);
	assert_true(waited >= 29); /* ms granularity of the two readings */
	waiter_destroy(&w);
}

static void test_negative_delay_does_not_wait(void **state)
{
	(void)state;
	struct waiter w;
	waiter_init(&w);
	pthread_mutex_lock(&w.mu);
	int64_t t0 = clock_mono_ms();
	int rc = clock_cond_wait_ms(&w.cond, &w.mu, -5000);
	int64_t waited = clock_mono_ms() - t0;
	pthread_mutex_unlock(&w.mu);
	assert_int_equal(rc, ETIMEDOUT);
	assert_true(waited < 1000);
	waiter_destroy(&w);
}

static void *signal_later(void *arg)
{
	struct waiter *w = arg;
	pthread_mutex_lock(&w->mu);
	w->ready = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void test_signal_ends_a_long_wait(void **state)
{
	(void)state;
	struct waiter w;
	waiter_init(&w);
	pthread_mutex_lock(&w.mu);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, signal_later, &w), 0);
	int64_t t0 = clock_mono_ms();
	int rc = 0;
	while (!w.ready && rc == 0)
		rc = clock_cond_wait_ms(&w.cond, &w.mu, 60000);
	int64_t waited = clock_mono_ms() - t0;
	pthread_mutex_unlock(&w.mu);
	pthread_join(th, NULL);
	assert_int_equal(rc, 0);
	assert_true(w.ready);
	assert_true(waited < 30000);
	waiter_destroy(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_times_out_after_the_delay),
		cmocka_unit_test(test_negative_delay_does_not_wait),
		cmocka_unit_test(test_signal_ends_a_long_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
