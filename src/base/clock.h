/* Time sources. Wall-clock milliseconds for record timestamps and segment ages;
 * monotonic milliseconds for timeouts. */
#ifndef SAMSA_BASE_CLOCK_H
#define SAMSA_BASE_CLOCK_H

#include <stdint.h>

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);

#endif
