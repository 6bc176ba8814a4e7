/* str: formatted strings and a growable byte buffer. */
#include "core/core.h"

#include <stdio.h>
#include <string.h>

static char *vsprintf_new(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (len < 0)
        return NULL;
    char *s = cc_malloc((size_t)len + 1);
    if (!s)
        return NULL;
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    return s;
}

char *cc_sprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vsprintf_new(fmt, ap);
    va_end(ap);
    return s;
}

/* Keeps one spare byte so data is always NUL-terminated: callers may hand it to C string APIs. */
int cc_buf_reserve(cc_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return CC_ERR_TOO_BIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return CC_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *d = cc_realloc(b->data, cap);
    if (!d)
        return CC_ERR_NOMEM;
    b->data = d;
    b->cap = cap;
    return CC_OK;
}

/* Appends n bytes of p; on failure b is unchanged. */
int cc_buf_append(cc_buf *b, const void *p, size_t n)
{
    int rc = cc_buf_reserve(b, n);
    if (rc != CC_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return CC_OK;
}

int cc_buf_appendf(cc_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int rc = CC_OK;
    int len = vsnprintf(NULL, 0, fmt, ap);
    if (len < 0) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    rc = cc_buf_reserve(b, (size_t)len);
    if (rc != CC_OK)
        goto out;
    vsnprintf(b->data + b->len, (size_t)len + 1, fmt, ap2);
    b->len += (size_t)len;
out:
    va_end(ap2);
    va_end(ap);
    return rc;
}

/* Frees the storage and leaves b empty and reusable. */
void cc_buf_free(cc_buf *b)
{
    cc_free(&b->data);
    b->len = 0;
    b->cap = 0;
}

size_t cc_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char c = p[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF. */
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

bool cc_utf8_valid(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    uint32_t cp;
    for (size_t i = 0, len; i < n; i += len)
        if (!(len = cc_utf8_decode(s + i, n - i, &cp)))
            return false;
    return true;
}

void cc_say(char *why, size_t whylen, const char *fmt, ...)
{
    if (!why || !whylen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}
