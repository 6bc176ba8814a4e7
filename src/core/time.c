/* time: clocks and RFC 3339 formatting. */
#include "core/core.h"

#include <stdio.h>
#include <time.h>

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cc_now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t cc_monotonic_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

int64_t cc_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

cc_rate cc_rate_per_minute(int64_t per_minute, int64_t burst)
{
    cc_rate r = {0, 0};
    if (per_minute <= 0)
        return r;
    r.interval_us = per_minute >= 60000000 ? 1 : 60000000 / per_minute;
    r.tolerance_us = r.interval_us * (burst > 1 ? burst - 1 : 0);
    return r;
}

int64_t cc_rate_take(const cc_rate *rate, int64_t *tat_us, int64_t now_us)
{
    if (rate->interval_us == 0)
        return 0;
    int64_t tat = *tat_us > now_us ? *tat_us : now_us;
    if (tat - now_us > rate->tolerance_us)
        return tat - now_us - rate->tolerance_us;
    *tat_us = tat + rate->interval_us;
    return 0;
}

void cc_time_format(int64_t ms, char out[32])
{
    /* Floor division so instants before 1970 still get a 0..999 millisecond part. */
    int64_t sec = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        sec -= 1;
    }
    /* Four-digit years only: anything else is garbage input and must not overflow out. */
    struct tm tm;
    time_t t = (time_t)sec;
    if (sec < -62167219200LL || sec > 253402300799LL || !gmtime_r(&t, &tm)) {
        snprintf(out, 32, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int)frac);
}
