/* hl7_dtm: HL7 v2 date/time values (DTM, and the first component of TS) to UTC milliseconds. */
#include "interop/interop_internal.h"

#include <time.h>

#include <string.h>

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int hl7_dtm_parse(const char *s, size_t n, int local_offset_min, int min_digits, int64_t *ms,
                  char *why, size_t whylen)
{
    size_t d = 0;
    while (d < n && s[d] >= '0' && s[d] <= '9')
        d++;
    if (d < 4 || d > 14 || d % 2 != 0 || (int)d < min_digits) {
        cc_say(why, whylen, "'%.*s' is not an HL7 date/time of at least %d digits",
               (int)(n > 30 ? 30 : n), s, min_digits);
        return CC_ERR_INVALID;
    }
    int y = num(s, 4);
    int mo = d >= 6 ? num(s + 4, 2) : 1;
    int day = d >= 8 ? num(s + 6, 2) : 1;
    int h = d >= 10 ? num(s + 8, 2) : 0;
    int mi = d >= 12 ? num(s + 10, 2) : 0;
    int sec = d >= 14 ? num(s + 12, 2) : 0;
    int frac_ms = 0;
    size_t i = d;
    if (i < n && s[i] == '.' && d == 14) {
        size_t f = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f || i - f > 4)
            goto bad;
        int scale = 100;
        for (size_t k = f; k < i && k < f + 3; k++, scale /= 10)
            frac_ms += (s[k] - '0') * scale;
    }
    int off = local_offset_min;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        if (n - i != 5)
            goto bad;
        for (size_t k = i + 1; k < n; k++)
            if (s[k] < '0' || s[k] > '9')
                goto bad;
        int oh = num(s + i + 1, 2), om = num(s + i + 3, 2);
        if (oh > 14 || om > 59)
            goto bad;
        off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i = n;
    }
    if (i != n)
        goto bad;
    if (mo < 1 || mo > 12 || day < 1 || day > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        goto bad;
    if (off == HL7_LOCAL_TZ) {
        /* Local time of the process's time zone (the hospital's: TZ), its own summer time at
         * that date: an appointment booked in October for December gets December's offset. */
        struct tm tm = {.tm_year = y - 1900,
                        .tm_mon = mo - 1,
                        .tm_mday = day,
                        .tm_hour = h,
                        .tm_min = mi,
                        .tm_sec = sec,
                        .tm_isdst = -1};
        time_t local = mktime(&tm);
        if (local == (time_t)-1)
            goto bad;
        *ms = (int64_t)local * 1000 + frac_ms;
        return CC_OK;
    }
    int64_t t = days_from_civil(y, mo, day) * 86400 + h * 3600 + mi * 60 + sec;
    *ms = (t - (int64_t)off * 60) * 1000 + frac_ms;
    return CC_OK;
bad:
    cc_say(why, whylen, "'%.*s' is not a valid HL7 date/time", (int)(n > 30 ? 30 : n), s);
    return CC_ERR_INVALID;
}
