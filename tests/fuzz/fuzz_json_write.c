/* Fuzz target: whatever JSON value jansson reads, cc_json_write writes text that reads back as
 * the same value. */
#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
        return 0;
    cc_buf b = {0};
    if (cc_json_write(&b, v) == CC_OK) {
        json_t *back = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!back || !json_equal(v, back))
            __builtin_trap();
        json_decref(back);
    }
    cc_buf_free(&b);
    json_decref(v);
    return 0;
}
