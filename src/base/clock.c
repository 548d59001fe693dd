#include "base/clock.h"

#include <time.h>

#define CLOCK_WAIT_MAX_MS (24 * 3600 * 1000LL)

int64_t clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_mono_ms(void)
{
	return clock_mono_us() / 1000;
}

void clock_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

int clock_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t delay_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (delay_ms < 0)
		delay_ms = 0;
	if (delay_ms > CLOCK_WAIT_MAX_MS)
		delay_ms = CLOCK_WAIT_MAX_MS;
	int64_t ns = ts.tv_nsec + (delay_ms % 1000) * 1000000;
	ts.tv_sec += (time_t)(delay_ms / 1000 + ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	return pthread_cond_timedwait(cond, mu, &ts);
}
