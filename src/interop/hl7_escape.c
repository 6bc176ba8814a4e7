/* hl7_escape: decoding of one HL7 value as sent (escape sequences, then character set to UTF-8)
 * and the reverse, one character at a time, for the writer. */
#include "interop/interop_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- character sets ------------------------------------------------------------------------- */

/* ISO 8859-15 differs from 8859-1 in eight places. */
static const struct {
    unsigned char byte;
    uint32_t cp;
} latin9[] = {{0xA4, 0x20AC}, {0xA6, 0x0160}, {0xA8, 0x0161}, {0xB4, 0x017D},
              {0xB8, 0x017E}, {0xBC, 0x0152}, {0xBD, 0x0153}, {0xBE, 0x0178}};

static uint32_t byte_to_cp(unsigned char b, hl7_charset cs)
{
    if (cs == HL7_CS_8859_15)
        for (size_t i = 0; i < sizeof(latin9) / sizeof(latin9[0]); i++)
            if (latin9[i].byte == b)
                return latin9[i].cp;
    return b;
}

static int put_cp(cc_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return cc_buf_append(b, u, n);
}

/* One UTF-8 character at p (n bytes): its length, or 0 when malformed. */
static size_t utf8_char(const unsigned char *p, size_t n, uint32_t *cp)
{
    return cc_utf8_decode(p, n, cp);
}

int hl7__charset_from_name(const char *p, size_t n, hl7_charset *cs)
{
    static const struct {
        const char *name;
        hl7_charset cs;
    } names[] = {
        {"", HL7_CS_ASCII},
        {"ASCII", HL7_CS_ASCII},
        {"UNICODE UTF-8", HL7_CS_UTF8},
        {"UTF-8", HL7_CS_UTF8},
        {"UTF8", HL7_CS_UTF8},
        {"8859/1", HL7_CS_8859_1},
        {"ISO-8859-1", HL7_CS_8859_1},
        {"8859/15", HL7_CS_8859_15},
        {"ISO-8859-15", HL7_CS_8859_15},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (hl7__ieq(p, n, names[i].name)) {
            *cs = names[i].cs;
            return CC_OK;
        }
    }
    return CC_ERR_NOT_FOUND;
}

const char *hl7__charset_name(hl7_charset cs)
{
    switch (cs) {
    case HL7_CS_UTF8:
        return "UNICODE UTF-8";
    case HL7_CS_8859_1:
        return "8859/1";
    case HL7_CS_8859_15:
        return "8859/15";
    case HL7_CS_ASCII:
        break;
    }
    return "";
}

int hl7__encode_char(cc_buf *b, const char *p, size_t n, hl7_charset cs, size_t *used)
{
    uint32_t cp;
    size_t l = utf8_char((const unsigned char *)p, n, &cp);
    if (!l) {
        *used = 1;
        return cc_buf_append(b, "?", 1);
    }
    *used = l;
    if (cs == HL7_CS_UTF8 || cs == HL7_CS_ASCII || cp < 0x80)
        return cc_buf_append(b, p, l);
    unsigned char out = '?';
    if (cs == HL7_CS_8859_15) {
        for (size_t i = 0; i < sizeof(latin9) / sizeof(latin9[0]); i++)
            if (latin9[i].cp == cp)
                out = latin9[i].byte;
    }
    if (out == '?' && cp <= 0xFF && byte_to_cp((unsigned char)cp, cs) == cp)
        out = (unsigned char)cp;
    return cc_buf_append(b, &out, 1);
}

/* ---- decoding ------------------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Appends byte ch read in cs: as is for UTF-8 (checked over the whole value later). */
static int put_byte(cc_buf *b, unsigned char ch, hl7_charset cs)
{
    if (cs == HL7_CS_UTF8 || ch < 0x80)
        return cc_buf_append(b, &ch, 1);
    return put_cp(b, byte_to_cp(ch, cs));
}

/* Decodes the escape sequence body e[n] (between the escape characters). */
static int decode_escape(cc_buf *b, const char *e, size_t n, const hl7_enc *enc, hl7_charset cs,
                         bool lenient, char *why, size_t whylen)
{
    char one = 0;
    if (n == 1) {
        switch (e[0]) {
        case 'F':
            one = enc->field;
            break;
        case 'S':
            one = enc->comp;
            break;
        case 'T':
            one = enc->sub;
            break;
        case 'R':
            one = enc->rep;
            break;
        case 'E':
            one = enc->esc;
            break;
        case 'P':
            one = enc->trunc;
            break;
        default: /* \H\ \N\ (highlighting) and unknown one-letter escapes carry no text */
            return CC_OK;
        }
        return one ? cc_buf_append(b, &one, 1) : CC_OK;
    }
    if (n >= 1 && e[0] == 'X') {
        if ((n - 1) % 2 != 0 || n == 1)
            goto bad_hex;
        for (size_t i = 1; i < n; i += 2) {
            int hi = hexval(e[i]), lo = hexval(e[i + 1]);
            if (hi < 0 || lo < 0)
                goto bad_hex;
            unsigned char ch = (unsigned char)(hi * 16 + lo);
            if (ch == 0) {
                if (lenient)
                    continue;
                cc_say(why, whylen, "escape \\X00\\ would put a NUL in the value");
                return CC_ERR_INVALID;
            }
            int rc = put_byte(b, ch, cs);
            if (rc != CC_OK)
                return rc;
        }
        return CC_OK;
    }
    /* Formatting: a line break for .br and .sp, nothing for the other commands; \Cxxyy\ and
     * \Mxxyyzz\ (ISO 2022 switches) and \Z..\ (local) are dropped. */
    if (n >= 3 && e[0] == '.' && (memcmp(e + 1, "br", 2) == 0 || memcmp(e + 1, "sp", 2) == 0))
        return cc_buf_append(b, "\n", 1);
    return CC_OK;
bad_hex:
    if (lenient)
        return CC_OK;
    cc_say(why, whylen, "escape \\%.*s\\ is not an even number of hexadecimal digits",
           (int)(n > 20 ? 20 : n), e);
    return CC_ERR_INVALID;
}

int hl7__decode(cc_buf *b, const char *raw, size_t n, const hl7_enc *enc, hl7_charset cs,
                bool lenient, char *why, size_t whylen)
{
    size_t start = b->len;
    int rc = CC_OK;
    for (size_t i = 0; i < n && rc == CC_OK;) {
        unsigned char ch = (unsigned char)raw[i];
        if (enc->esc && ch == (unsigned char)enc->esc) {
            const char *close = memchr(raw + i + 1, enc->esc, n - i - 1);
            if (close) {
                size_t len = (size_t)(close - (raw + i + 1));
                rc = decode_escape(b, raw + i + 1, len, enc, cs, lenient, why, whylen);
                i += len + 2;
                continue;
            }
            /* An escape character that closes nothing is a plain character: many senders
             * write Windows paths and the like without escaping. */
        }
        if (ch == 0) {
            i++;
            continue; /* only in a lenient read: the parser refuses NUL otherwise */
        }
        rc = put_byte(b, ch, cs);
        i++;
    }
    if (rc != CC_OK) {
        b->len = start;
        return rc;
    }
    if (cs == HL7_CS_UTF8 && b->len > start && !cc_utf8_valid(b->data + start, b->len - start)) {
        if (!lenient) {
            b->len = start;
            cc_say(why, whylen, "not valid UTF-8");
            return CC_ERR_INVALID;
        }
        /* Read it again as ISO 8859-1: an ACK can still show something. */
        size_t end = b->len;
        cc_buf tmp = {0};
        if ((rc = cc_buf_append(&tmp, b->data + start, end - start)) != CC_OK)
            return rc;
        b->len = start;
        for (size_t i = 0; i < tmp.len && rc == CC_OK; i++)
            rc = put_byte(b, (unsigned char)tmp.data[i], HL7_CS_8859_1);
        cc_buf_free(&tmp);
        if (rc != CC_OK)
            return rc;
    }
    return cc_buf_append(b, "", 1);
}
