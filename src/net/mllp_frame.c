/* net/mllp_frame: the MLLP framing decoder (pure; fuzzed). A frame is 0x0B, the message, 0x1C
 * 0x0D. Interface engines split the end bytes across packets and put several frames in one, so
 * the decoder keeps no assumption about where a read ends. */
#include "net/net.h"

#include <string.h>

#define MLLP_SB 0x0B
#define MLLP_EB 0x1C
#define MLLP_CR 0x0D

void net_mllp_frame_init(net_mllp_frame *f, size_t max_message)
{
    memset(f, 0, sizeof *f);
    f->max = max_message;
}

void net_mllp_frame_clear(net_mllp_frame *f)
{
    cc_buf_free(&f->msg);
    f->state = 0;
}

/* Adds a byte to the message: past the limit only the head is kept (it holds MSH, which the
 * refusal needs), and the frame is marked oversize. */
static int frame_keep(net_mllp_frame *f, const uint8_t *p, size_t n)
{
    size_t room = f->msg.len < f->max ? f->max - f->msg.len : 0;
    if (n > room) {
        f->oversize = true;
        n = room;
    }
    return n ? cc_buf_append(&f->msg, p, n) : CC_OK;
}

int net_mllp_frame_feed(net_mllp_frame *f, const uint8_t *data, size_t n, net_mllp_frame_fn fn,
                        void *ud)
{
    size_t i = 0;
    while (i < n) {
        switch (f->state) {
        case 0: /* between frames: skip to a start byte */
            while (i < n && data[i] != MLLP_SB) {
                f->skipped++;
                i++;
            }
            if (i < n) {
                i++;
                f->state = 1;
                f->msg.len = 0;
                f->oversize = false;
            }
            break;
        case 1: { /* in a message: up to an end byte */
            const uint8_t *eb = memchr(data + i, MLLP_EB, n - i);
            size_t run = eb ? (size_t)(eb - (data + i)) : n - i;
            /* A start byte inside a message: the previous frame never ended. Start again there
             * (the partial message cannot be acknowledged: it has no end). */
            const uint8_t *sb = memchr(data + i, MLLP_SB, run);
            if (sb) {
                f->skipped += f->msg.len + (size_t)(sb - (data + i));
                i = (size_t)(sb - data) + 1;
                f->msg.len = 0;
                f->oversize = false;
                break;
            }
            if (frame_keep(f, data + i, run) != CC_OK)
                return CC_ERR_NOMEM;
            i += run;
            if (eb) {
                i++;
                f->state = 2;
            }
            break;
        }
        case 2: /* after 0x1C: 0x0D ends the frame */
            if (data[i] == MLLP_CR) {
                i++;
                f->state = 0;
                /* the message as text, NUL-terminated for the parsers' convenience */
                if (cc_buf_append(&f->msg, "", 1) != CC_OK)
                    return CC_ERR_NOMEM;
                f->msg.len--;
                int rc = fn(ud, f->msg.data, f->msg.len, f->oversize);
                f->msg.len = 0;
                if (rc != CC_OK)
                    return rc;
            } else {
                /* 0x1C inside the message after all: keep it and go on */
                static const uint8_t eb = MLLP_EB;
                if (frame_keep(f, &eb, 1) != CC_OK)
                    return CC_ERR_NOMEM;
                f->state = 1;
            }
            break;
        }
    }
    return CC_OK;
}

int net_mllp_frame_wrap(cc_buf *out, const char *msg, size_t n)
{
    static const uint8_t sb = MLLP_SB, end[2] = {MLLP_EB, MLLP_CR};
    if (cc_buf_append(out, &sb, 1) != CC_OK || cc_buf_append(out, msg, n) != CC_OK ||
        cc_buf_append(out, end, 2) != CC_OK)
        return CC_ERR_NOMEM;
    return CC_OK;
}
