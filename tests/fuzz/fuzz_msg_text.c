/* Fuzz target: msg's text functions on any bytes — search terms (folding, ranges), mentions, and
 * snippets built with terms taken from the input itself. */
#include "msg/msg.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    size_t n, last_end;
    char terms[4][MSG_TERM_MAX + 1];
    size_t nterms;
} fuzz_ctx;

static bool utf8_ok(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n); /* NULL for invalid UTF-8 */
    if (j)
        json_decref(j);
    return j != NULL;
}

static int on_term(void *ud, const char *term, size_t len, size_t start, size_t end)
{
    fuzz_ctx *c = ud;
    /* A term is folded, non-empty, bounded, valid UTF-8, without NUL; its range lies within the
     * input, after the previous one. */
    if (len == 0 || len > MSG_TERM_MAX || strlen(term) != len || !utf8_ok(term, len))
        __builtin_trap();
    if (start >= end || end > c->n || start < c->last_end)
        __builtin_trap();
    for (size_t i = 0; i < len; i++)
        if (term[i] >= 'A' && term[i] <= 'Z')
            __builtin_trap();
    c->last_end = end;
    if (c->nterms < 4)
        memcpy(c->terms[c->nterms++], term, len + 1);
    return 0;
}

static int on_mention(void *ud, const char *name, size_t len)
{
    (void)ud;
    if (len == 0 || len > 64 || strlen(name) != len)
        __builtin_trap();
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-'))
            __builtin_trap();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    fuzz_ctx c = {.n = size};
    if (msg_text_terms(text, size, on_term, &c) != CC_OK)
        __builtin_trap();
    if (msg_text_mentions(text, size, on_mention, NULL) != CC_OK)
        __builtin_trap();
    const char *terms[4];
    for (size_t i = 0; i < c.nterms; i++)
        terms[i] = c.terms[i];
    /* A snippet of valid UTF-8 stays valid UTF-8 (it is cut on character boundaries). */
    char *s = msg_text_snippet(text, size, terms, c.nterms, 1 + size % 300);
    if (s && utf8_ok(text, size) && memchr(text, 0, size) == NULL && !utf8_ok(s, strlen(s)))
        __builtin_trap();
    cc_free(&s);
    return 0;
}
