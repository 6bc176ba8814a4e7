/* Buffers, messages, base64, TOTP (RFC 6238) and a small random source for fanout_gen. */
#include "gen.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t *gbuf_reserve(gbuf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return b->p + b->len;
    if (b->off) { /* compact first */
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= n)
            return b->p + b->len;
    }
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - b->len < n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        die("out of memory");
    b->p = p;
    b->cap = cap;
    return b->p + b->len;
}

void gbuf_put(gbuf *b, const void *d, size_t n)
{
    if (!n)
        return;
    memcpy(gbuf_reserve(b, n), d, n);
    b->len += n;
}

void gbuf_puts(gbuf *b, const char *s)
{
    gbuf_put(b, s, strlen(s));
}

void gbuf_printf(gbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = (char *)gbuf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void gbuf_drop(gbuf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

void gbuf_free(gbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fanout_gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int totp_code(const char *secret, int64_t unix_time)
{
    uint8_t key[64];
    size_t klen = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (const char *s = secret; *s && *s != '='; s++) {
        int v;
        if (*s >= 'A' && *s <= 'Z')
            v = *s - 'A';
        else if (*s >= 'a' && *s <= 'z')
            v = *s - 'a';
        else if (*s >= '2' && *s <= '7')
            v = *s - '2' + 26;
        else
            return -1;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (klen == sizeof(key))
                return -1;
            key[klen++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    uint64_t counter = (uint64_t)(unix_time / 30);
    uint8_t msg[8];
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)counter;
        counter >>= 8;
    }
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mlen = 0;
    if (!HMAC(EVP_sha1(), key, (int)klen, msg, sizeof(msg), mac, &mlen) || mlen < 20)
        return -1;
    int off = mac[mlen - 1] & 15;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    return (int)(bin % 1000000);
}

const uint8_t *find(const uint8_t *p, size_t n, const char *s)
{
    return memmem(p, n, s, strlen(s));
}

uint32_t rnd32(void)
{
    static uint64_t x = 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (uint32_t)(x >> 16);
}

void payload_make(char out[PAYLOAD_BYTES], int sender, uint32_t seq, int64_t sched_ns)
{
    int n = snprintf(out, PAYLOAD_BYTES, MARKER "%d q=%010u t=%020lld ", sender, seq,
                     (long long)sched_ns);
    memset(out + n, 'x', PAYLOAD_BYTES - (size_t)n);
}
