/* mem: allocation wrappers that count live bytes, so /metrics can report memory use.
 * Every block carries a 16-byte header holding its requested size; blocks from these wrappers
 * must be released with cc_free / cc_free_ptr, never with free(). */
#include "core/core.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* 16 bytes keeps the user pointer aligned for any type malloc itself would serve. */
#define HDR 16

static _Atomic int64_t live_bytes;

static void *hdr_of(void *p)
{
    return (char *)p - HDR;
}

static void *finish(void *raw, size_t n)
{
    if (!raw)
        return NULL;
    memcpy(raw, &n, sizeof n);
    atomic_fetch_add_explicit(&live_bytes, (int64_t)n, memory_order_relaxed);
    return (char *)raw + HDR;
}

void *cc_malloc(size_t n)
{
    if (n > SIZE_MAX - HDR)
        return NULL;
    return finish(malloc(HDR + n), n);
}

void *cc_calloc(size_t count, size_t n)
{
    if (n != 0 && count > (SIZE_MAX - HDR) / n)
        return NULL;
    return finish(calloc(1, HDR + count * n), count * n);
}

void *cc_realloc(void *p, size_t n)
{
    if (!p)
        return cc_malloc(n);
    if (n > SIZE_MAX - HDR)
        return NULL;
    size_t old;
    memcpy(&old, hdr_of(p), sizeof old);
    void *raw = realloc(hdr_of(p), HDR + n);
    if (!raw)
        return NULL; /* p is untouched and still counted */
    atomic_fetch_sub_explicit(&live_bytes, (int64_t)old, memory_order_relaxed);
    return finish(raw, n);
}

char *cc_strdup(const char *s)
{
    return cc_strndup(s, strlen(s));
}

/* Copies at most n bytes, stopping at a NUL; the result is always NUL-terminated. */
char *cc_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = cc_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void cc_free_ptr(void *p)
{
    if (!p)
        return;
    size_t n;
    memcpy(&n, hdr_of(p), sizeof n);
    atomic_fetch_sub_explicit(&live_bytes, (int64_t)n, memory_order_relaxed);
    free(hdr_of(p));
}

int64_t cc_mem_live_bytes(void)
{
    return atomic_load_explicit(&live_bytes, memory_order_relaxed);
}
