/* msg/text: the pure text functions of messaging — folding words for search (case and accents),
 * finding mentions, building highlighted snippets. No allocation but the snippet's; no I/O. */
#include "msg/msg.h"

#include <string.h>

/* One UTF-8 character at s[i]: its length, or 0 (the byte then separates words). */
static size_t text__decode(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
    return cc_utf8_decode(s + i, n - i, cp);
}

static size_t text__encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* U+00C0..U+00FF and U+0100..U+017F folded to ASCII: one letter each, or '*' for a separator;
 * the capitals A, E, I, O, T, S stand for "ae", "ae", "ij", "oe", "th", "ss". */
static const char text__latin1[65] = "aaaaaaAceeeeiiiidnooooo*ouuuuyTS"
                                     "aaaaaaAceeeeiiiidnooooo*ouuuuyTy";
static const char text__latin_ext_a[129] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii"
                                           "IIjjkkkllllllllllnnnnnnnnnooooooOOrrrrrrssssssss"
                                           "ttttttuuuuuuuuuuuuwwyyyzzzzzzs";

typedef enum { TEXT_SEP = 0, TEXT_DROP, TEXT_WORD } text_class;

/* Classifies a character and gives its folded form (up to 4 bytes in out, *outlen). */
static text_class text__fold(uint32_t cp, char out[4], size_t *outlen)
{
    char f = 0;
    *outlen = 0;
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z')
            f = (char)(cp + 32);
        else if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
            f = (char)cp;
        else
            return TEXT_SEP;
    } else if (cp >= 0xC0 && cp <= 0xFF) {
        f = text__latin1[cp - 0xC0];
    } else if (cp >= 0x100 && cp <= 0x17F) {
        f = text__latin_ext_a[cp - 0x100];
    } else if (cp >= 0x300 && cp <= 0x36F) {
        return TEXT_DROP; /* combining accents of decomposed text (e + U+0301) */
    } else if (cp < 0xC0 || (cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
               (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFF00 && cp <= 0xFF0F) || cp == 0xFEFF ||
               cp >= 0x1F000) {
        /* Latin-1 punctuation (non-breaking space, « », °), general punctuation (’ “ ” …),
         * arrows, symbols, dingbats, CJK punctuation, variation selectors, emoji. */
        return TEXT_SEP;
    } else {
        if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2)
            cp += 0x20; /* Greek capitals */
        else if (cp >= 0x410 && cp <= 0x42F)
            cp += 0x20; /* Cyrillic capitals */
        else if (cp >= 0x400 && cp <= 0x40F)
            cp += 0x50;
        *outlen = text__encode(cp, out);
        return TEXT_WORD;
    }
    if (f == '*')
        return TEXT_SEP;
    static const char *const digraphs[] = {"ae", "ij", "oe", "th", "ss"};
    const char *d = NULL;
    switch (f) {
    case 'A':
        d = digraphs[0];
        break;
    case 'I':
        d = digraphs[1];
        break;
    case 'O':
        d = digraphs[2];
        break;
    case 'T':
        d = digraphs[3];
        break;
    case 'S':
        d = digraphs[4];
        break;
    default:
        break;
    }
    if (d) {
        out[0] = d[0];
        out[1] = d[1];
        *outlen = 2;
    } else {
        out[0] = f;
        *outlen = 1;
    }
    return TEXT_WORD;
}

int msg_text_terms(const char *text, size_t n, msg_term_fn fn, void *ud)
{
    const unsigned char *s = (const unsigned char *)text;
    char term[MSG_TERM_MAX + 1];
    size_t tlen = 0, start = 0, end = 0, i = 0;
    bool in_word = false, full = false;
    for (;;) {
        uint32_t cp = 0;
        size_t clen = i < n ? text__decode(s, n, i, &cp) : 0;
        char f[4];
        size_t flen = 0;
        text_class k = clen ? text__fold(cp, f, &flen) : TEXT_SEP;
        if (k == TEXT_SEP) {
            if (in_word && tlen > 0) {
                term[tlen] = '\0';
                int rc = fn(ud, term, tlen, start, end);
                if (rc != 0)
                    return rc < 0 ? rc : CC_OK;
            }
            in_word = false;
            if (i >= n)
                return CC_OK;
            i += clen ? clen : 1;
            continue;
        }
        if (!in_word) {
            in_word = true;
            full = false;
            tlen = 0;
            start = i;
        }
        if (k == TEXT_WORD && !full) {
            if (tlen + flen <= MSG_TERM_MAX) {
                memcpy(term + tlen, f, flen);
                tlen += flen;
            } else {
                full = true; /* a longer word is indexed by its first MSG_TERM_MAX bytes */
            }
        }
        i += clen;
        end = i;
    }
}

static bool text__name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int msg_text_mentions(const char *text, size_t n, msg_mention_fn fn, void *ud)
{
    const unsigned char *s = (const unsigned char *)text;
    char name[65];
    for (size_t i = 0; i < n; i++) {
        /* An address (alice@example.org) is not a mention: the '@' must start a word. */
        if (s[i] != '@' || (i > 0 && (text__name_char(s[i - 1]) || s[i - 1] == '@')))
            continue;
        size_t j = i + 1;
        while (j < n && text__name_char(s[j]))
            j++;
        size_t len = j - i - 1;
        while (len && (s[i + len] == '.' || s[i + len] == '_' || s[i + len] == '-'))
            len--;
        if (len == 0 || len > 64) {
            i = j - 1;
            continue;
        }
        for (size_t k = 0; k < len; k++) {
            unsigned char c = s[i + 1 + k];
            name[k] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
        }
        name[len] = '\0';
        int rc = fn(ud, name, len);
        if (rc != 0)
            return rc < 0 ? rc : CC_OK;
        i = j - 1;
    }
    return CC_OK;
}

/* ---- snippets ------------------------------------------------------------------------------ */

#define SNIPPET_MAX_MATCHES 64

typedef struct {
    const char *const *terms;
    size_t nterms;
    size_t starts[SNIPPET_MAX_MATCHES], ends[SNIPPET_MAX_MATCHES];
    size_t n;
} snippet_matches;

static int snippet__term(void *ud, const char *term, size_t len, size_t start, size_t end)
{
    snippet_matches *m = ud;
    for (size_t i = 0; i < m->nterms; i++) {
        size_t tl = strlen(m->terms[i]);
        if (tl > 0 && tl <= len && memcmp(term, m->terms[i], tl) == 0) {
            m->starts[m->n] = start;
            m->ends[m->n] = end;
            return ++m->n == SNIPPET_MAX_MATCHES ? 1 : 0;
        }
    }
    return 0;
}

/* Moves i back to the start of the UTF-8 character it is in. */
static size_t text__char_start(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

char *msg_text_snippet(const char *text, size_t n, const char *const *terms, size_t nterms,
                       size_t max_bytes)
{
    snippet_matches m = {.terms = terms, .nterms = nterms};
    cc_buf b = {0};
    char *out = NULL;
    if (msg_text_terms(text, n, snippet__term, &m) != CC_OK)
        return NULL;
    size_t ws = 0;
    if (m.n > 0 && m.starts[0] > max_bytes / 3) {
        /* Some words of context before the first match, starting at a word boundary. */
        ws = text__char_start(text, m.starts[0] - max_bytes / 3);
        size_t sp = ws;
        while (sp < m.starts[0] && text[sp] != ' ' && text[sp] != '\n')
            sp++;
        if (sp < m.starts[0])
            ws = sp + 1;
    }
    size_t we = n;
    if (we - ws > max_bytes) {
        we = text__char_start(text, ws + max_bytes);
        size_t sp = we;
        while (sp > ws && text[sp - 1] != ' ' && text[sp - 1] != '\n')
            sp--;
        if (sp > ws + max_bytes / 2)
            we = sp; /* end after a whole word when one ends not too far back */
    }
    if (ws > 0 && cc_buf_append(&b, "\xe2\x80\xa6", 3) != CC_OK)
        goto out;
    size_t k = 0; /* next match */
    while (k < m.n && m.starts[k] < ws)
        k++;
    bool open = false;
    for (size_t i = ws; i < we; i++) {
        if (!open && k < m.n && m.starts[k] == i && m.ends[k] <= we) {
            if (cc_buf_append(&b, MSG_HL_OPEN, strlen(MSG_HL_OPEN)) != CC_OK)
                goto out;
            open = true;
        }
        char c = text[i];
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        if (cc_buf_append(&b, &c, 1) != CC_OK)
            goto out;
        if (open && i + 1 == m.ends[k]) {
            if (cc_buf_append(&b, MSG_HL_CLOSE, strlen(MSG_HL_CLOSE)) != CC_OK)
                goto out;
            open = false;
            k++;
        }
    }
    if (we < n && cc_buf_append(&b, "\xe2\x80\xa6", 3) != CC_OK)
        goto out;
    out = cc_strndup(b.data ? b.data : "", b.len);
out:
    cc_buf_free(&b);
    return out;
}
