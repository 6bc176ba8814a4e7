/* mllp_frame: MLLP framing (0x0B message 0x1C 0x0D) — an incremental decoder fed with whatever
 * the socket gives, and the encoder.
 *
 * The decoder is a four-state machine. Outside a frame it skips (and counts) bytes until a start
 * byte. Inside, it collects up to max_msg bytes; past that it reports the message as too big once,
 * with the prefix it kept (enough for the MSH an ACK needs), then skips to the frame's end. The
 * end pair 0x1C 0x0D may be split across chunks, so a 0x1C waits for the next byte. A start byte
 * inside a frame abandons the partial frame and starts again: that is how it resyncs. */
#include "interop/interop_internal.h"

#include <string.h>

typedef enum {
    OUTSIDE, /* between frames */
    IN,      /* collecting a message */
    GOT_EB,  /* a 0x1C was seen: the next byte decides */
    DISCARD, /* in a frame that was too big */
} mllp_state;

struct mllp_decoder {
    size_t max;
    mllp_state st;
    bool discard_eb; /* in DISCARD, the previous byte was 0x1C */
    cc_buf buf;
    uint64_t skipped;
};

mllp_decoder *mllp_decoder_new(size_t max_msg)
{
    mllp_decoder *d = cc_calloc(1, sizeof(*d));
    if (d)
        d->max = max_msg;
    return d;
}

void mllp_decoder_free(mllp_decoder **pd)
{
    if (!pd || !*pd)
        return;
    cc_buf_free(&(*pd)->buf);
    cc_free(pd);
}

uint64_t mllp_skipped(const mllp_decoder *d)
{
    return d->skipped;
}

bool mllp_in_frame(const mllp_decoder *d)
{
    return d->st != OUTSIDE;
}

static void start_frame(mllp_decoder *d)
{
    d->skipped += d->buf.len; /* a frame without its end is abandoned */
    d->buf.len = 0;
    d->st = IN;
}

/* Appends p[n] to the message, or reports it too big and starts discarding. */
static int collect(mllp_decoder *d, const char *p, size_t n, mllp_cb cb, void *ud)
{
    if (d->buf.len + n <= d->max)
        return cc_buf_append(&d->buf, p, n);
    size_t room = d->max - d->buf.len;
    int rc = cc_buf_append(&d->buf, p, room);
    if (rc != CC_OK)
        return rc;
    d->st = DISCARD;
    d->discard_eb = false;
    rc = cb(ud, MLLP_EV_TOO_BIG, d->buf.data ? d->buf.data : "", d->buf.len);
    d->skipped += n - room;
    d->buf.len = 0;
    return rc;
}

static int emit(mllp_decoder *d, mllp_cb cb, void *ud)
{
    d->st = OUTSIDE;
    size_t n = d->buf.len;
    d->buf.len = 0;
    if (n == 0) {
        d->skipped += 3; /* an empty frame */
        return CC_OK;
    }
    return cb(ud, MLLP_EV_MESSAGE, d->buf.data, n);
}

int mllp_feed(mllp_decoder *d, const void *data, size_t n, mllp_cb cb, void *ud)
{
    const char *p = data;
    int rc = CC_OK;
    size_t i = 0;
    while (i < n && rc == CC_OK) {
        unsigned char ch = (unsigned char)p[i];
        switch (d->st) {
        case OUTSIDE: {
            const char *sb = memchr(p + i, MLLP_SB, n - i);
            size_t skip = sb ? (size_t)(sb - (p + i)) : n - i;
            d->skipped += skip;
            i += skip;
            if (sb) {
                start_frame(d);
                i++;
            }
            break;
        }
        case IN: {
            /* Copy the run up to the next control byte at once. */
            size_t j = i;
            while (j < n && p[j] != MLLP_EB && p[j] != MLLP_SB)
                j++;
            rc = collect(d, p + i, j - i, cb, ud);
            i = j;
            if (rc != CC_OK || i == n || d->st != IN)
                break;
            if (p[i] == MLLP_SB)
                start_frame(d);
            else
                d->st = GOT_EB;
            i++;
            break;
        }
        case GOT_EB:
            if (ch == MLLP_CR) {
                rc = emit(d, cb, ud);
                i++;
            } else {
                /* A lone 0x1C is not an end: keep it as data, then read this byte again. */
                d->st = IN;
                rc = collect(d, "\x1c", 1, cb, ud);
            }
            break;
        case DISCARD:
            if (ch == MLLP_SB) {
                start_frame(d);
            } else if (ch == MLLP_CR && d->discard_eb) {
                d->st = OUTSIDE;
                d->skipped++;
            } else {
                d->discard_eb = ch == MLLP_EB;
                d->skipped++;
            }
            i++;
            break;
        }
    }
    return rc;
}

int mllp_encode(cc_buf *out, const char *msg, size_t n)
{
    if (memchr(msg, MLLP_SB, n) || memchr(msg, MLLP_EB, n))
        return CC_ERR_INVALID;
    size_t start = out->len;
    int rc;
    if ((rc = cc_buf_append(out, "\x0b", 1)) != CC_OK ||
        (rc = cc_buf_append(out, msg, n)) != CC_OK ||
        (rc = cc_buf_append(out, "\x1c\x0d", 2)) != CC_OK) {
        if (out->data) {
            out->len = start;
            out->data[start] = '\0';
        }
        return rc;
    }
    return CC_OK;
}
