/* Fuzz target: MLLP framing as a booking system's bytes arrive — any content, cut into chunks
 * at places the input chooses. Whatever the cuts, the frames seen are the same, and none is
 * longer than the limit. */
#include "net/net.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MAX_MSG 512

typedef struct {
    cc_buf seen; /* each frame: its length (4 bytes), its oversize flag, then its bytes */
} fuzz_frames;

static int fuzz_on_frame(void *ud, const char *msg, size_t n, bool oversize)
{
    fuzz_frames *f = ud;
    if (n > MAX_MSG || msg[n] != '\0')
        __builtin_trap();
    uint32_t len = (uint32_t)n;
    uint8_t o = oversize;
    if (cc_buf_append(&f->seen, &len, 4) || cc_buf_append(&f->seen, &o, 1) ||
        cc_buf_append(&f->seen, msg, n))
        __builtin_trap();
    return CC_OK;
}

static void fuzz_feed(const uint8_t *data, size_t size, const uint8_t *cuts, size_t ncuts,
                      fuzz_frames *out)
{
    net_mllp_frame f;
    net_mllp_frame_init(&f, MAX_MSG);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts && at < size; i++) {
        size_t step = i < ncuts ? (size_t)cuts[i] + 1 : size - at;
        if (step > size - at)
            step = size - at;
        if (net_mllp_frame_feed(&f, data + at, step, fuzz_on_frame, out) != CC_OK)
            __builtin_trap();
        at += step;
    }
    net_mllp_frame_clear(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte says how many of the following bytes are chunk sizes. */
    if (size < 1)
        return 0;
    size_t ncuts = data[0] % 16;
    if (size < 1 + ncuts)
        return 0;
    const uint8_t *cuts = data + 1, *body = data + 1 + ncuts;
    size_t n = size - 1 - ncuts;
    fuzz_frames whole = {0}, cut = {0};
    fuzz_feed(body, n, NULL, 0, &whole);
    fuzz_feed(body, n, cuts, ncuts, &cut);
    if (whole.seen.len != cut.seen.len || memcmp(whole.seen.data, cut.seen.data, cut.seen.len))
        __builtin_trap();
    cc_buf_free(&whole.seen);
    cc_buf_free(&cut.seen);
    return 0;
}
