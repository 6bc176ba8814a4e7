/* Fuzz target: the MLLP decoder. The first bytes of the input choose the message limit and how
 * the rest is cut into chunks; the events must not depend on the cutting, every message must be
 * within the limit and free of frame bytes, and a message re-encoded decodes to itself. */
#include "interop/interop.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    cc_buf log; /* every event: type byte, length, bytes */
    size_t max;
} sink;

static int on_event(void *ud, mllp_event ev, const char *p, size_t n)
{
    sink *s = ud;
    if (ev == MLLP_EV_MESSAGE) {
        if (n == 0 || n > s->max || memchr(p, MLLP_SB, n))
            __builtin_trap();
        /* Encoding a message with no 0x1C gives a frame that decodes to the same bytes. */
        if (!memchr(p, MLLP_EB, n)) {
            cc_buf f = {0};
            if (mllp_encode(&f, p, n) != CC_OK || f.len != n + 3)
                __builtin_trap();
            cc_buf_free(&f);
        }
    } else if (n != s->max) {
        __builtin_trap();
    }
    char hdr[1 + sizeof(size_t)];
    hdr[0] = (char)ev;
    memcpy(hdr + 1, &n, sizeof(n));
    if (cc_buf_append(&s->log, hdr, sizeof(hdr)) != CC_OK || cc_buf_append(&s->log, p, n) != CC_OK)
        __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int64_t start = cc_mem_live_bytes();
    size_t max = 1 + data[0] % 64;
    unsigned seed = data[1];
    data += 2;
    size -= 2;

    sink whole = {.max = max}, cut = {.max = max};
    mllp_decoder *d1 = mllp_decoder_new(max), *d2 = mllp_decoder_new(max);
    if (!d1 || !d2)
        __builtin_trap();
    if (mllp_feed(d1, data, size, on_event, &whole) != 0)
        __builtin_trap();
    for (size_t i = 0; i < size;) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 7;
        if (n > size - i)
            n = size - i;
        if (mllp_feed(d2, data + i, n, on_event, &cut) != 0)
            __builtin_trap();
        i += n;
    }
    if (whole.log.len != cut.log.len ||
        (whole.log.len && memcmp(whole.log.data, cut.log.data, whole.log.len) != 0))
        __builtin_trap();
    if (mllp_skipped(d1) != mllp_skipped(d2) || mllp_in_frame(d1) != mllp_in_frame(d2))
        __builtin_trap();
    mllp_decoder_free(&d1);
    mllp_decoder_free(&d2);
    cc_buf_free(&whole.log);
    cc_buf_free(&cut.log);
    if (cc_mem_live_bytes() != start)
        __builtin_trap();
    return 0;
}
