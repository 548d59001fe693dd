/* Time sources. Wall-clock milliseconds for record timestamps and segment ages;
 * monotonic milliseconds for timeouts. */
#ifndef SAMSA_BASE_CLOCK_H
#define SAMSA_BASE_CLOCK_H

#include <pthread.h>
#include <stdint.h>

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);

/* Initializes cond for clock_cond_wait_ms(): its timed waits run on
 * CLOCK_MONOTONIC, so a step of the wall clock neither cuts one short nor
 * stretches it. */
void clock_cond_init(pthread_cond_t *cond);

/* Waits on cond (mu held) until signalled or delay_ms have passed (below 0:
 * 0; above a day: a day, callers check again and wait on): 0 (signalled, or a
 * spurious wake-up) or ETIMEDOUT. */
int clock_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t delay_ms);

#endif
