/* clock.h - monotonic milliseconds and RFC 3339 UTC timestamps */
#ifndef RV_CLOCK_H
#define RV_CLOCK_H

#include <stdint.h>

#define RV_TIME_ISO_LEN 32

/* Milliseconds on the monotonic clock, for durations. */
long rv_clock_ms(void);

/* t (seconds since the epoch) as "2026-11-22T13:00:00Z" into out; the
 * number itself if gmtime cannot represent it. */
void rv_clock_iso(char out[RV_TIME_ISO_LEN], int64_t t);

#endif
