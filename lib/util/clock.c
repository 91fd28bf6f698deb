/* clock.c - monotonic milliseconds and RFC 3339 UTC timestamps */
#include <stdio.h>
#include <time.h>

#include "util/clock.h"
#include "util/banned.h"

long rv_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void rv_clock_iso(char out[RV_TIME_ISO_LEN], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, RV_TIME_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, RV_TIME_ISO_LEN, "%lld", (long long)t);
}
