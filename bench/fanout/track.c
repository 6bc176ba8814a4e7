/* What every receiver checks: each payload carries its sender, the sender's sequence number and
 * the time it was due; a bitmap per receiver and sender finds duplicates and, at the end of a
 * step, losses; the latencies of unique deliveries are kept for the percentiles. */
#include "gen.h"

#include <stdlib.h>
#include <string.h>

tracker T;

void track_step(int n, const uint32_t base[2], uint32_t cap)
{
    free(T.bits);
    free(T.last);
    uint32_t *lat = T.lat;
    size_t latcap = T.latcap;
    memset(&T, 0, sizeof(T));
    T.lat = lat;
    T.latcap = latcap;
    T.n = n;
    T.base[0] = base[0];
    T.base[1] = base[1];
    T.cap = cap;
    T.words = (cap + 63) / 64;
    T.bits = calloc((size_t)n * 2 * T.words, sizeof(uint64_t));
    T.last = calloc((size_t)n * 2, sizeof(uint32_t));
    if (!T.bits || !T.last)
        die("out of memory");
}

static uint64_t digits(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    return v;
}

void track_delivery(int receiver, const uint8_t *p)
{
    if (!T.bits || receiver < 0 || receiver >= T.n)
        return;
    int s = p[MARKER_LEN] - '0';
    if (s < 0 || s > 1) {
        T.bad++;
        return;
    }
    uint32_t seq = (uint32_t)digits(p + MARKER_LEN + 4, 10);
    int64_t t = (int64_t)digits(p + MARKER_LEN + 17, 20);
    if (seq < T.base[s]) {
        T.stale++; /* from an earlier step: counted lost there */
        return;
    }
    uint32_t k = seq - T.base[s];
    if (k >= T.cap) {
        T.bad++;
        return;
    }
    size_t slot = (size_t)receiver * 2 + (size_t)s;
    uint64_t *w = T.bits + slot * T.words + k / 64;
    uint64_t bit = 1ull << (k % 64);
    if (*w & bit) {
        T.dup++;
        return;
    }
    *w |= bit;
    if (k + 1 < T.last[slot])
        T.ooo++;
    else
        T.last[slot] = k + 1;
    T.uniq++;
    int64_t now = now_ns();
    T.last_ns = now;
    if (T.nlat == T.latcap) {
        T.latcap = T.latcap ? T.latcap * 2 : 65536;
        T.lat = realloc(T.lat, T.latcap * sizeof(uint32_t));
        if (!T.lat)
            die("out of memory");
    }
    int64_t us = (now - t) / 1000;
    T.lat[T.nlat++] = us < 0 ? 0 : (us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
}

size_t track_scan(int receiver, const uint8_t *p, size_t n)
{
    size_t pos = 0;
    for (;;) {
        const uint8_t *m = memmem(p + pos, n - pos, MARKER, MARKER_LEN);
        if (!m)
            return n >= MARKER_LEN ? (n - (MARKER_LEN - 1) > pos ? n - (MARKER_LEN - 1) : pos)
                                   : pos;
        size_t at = (size_t)(m - p);
        if (n - at < HEADER_LEN)
            return at;
        track_delivery(receiver, m);
        pos = at + HEADER_LEN;
    }
}
