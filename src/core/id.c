/* id: time-ordered unique ids (the ULID layout): 48-bit Unix ms then 80 random bits, as 26
 * Crockford base32 chars, so byte order equals creation order.
 * Within one millisecond (or if the clock steps back) the random part of the previous id is
 * increased by a random step instead of redrawn: ids stay strictly increasing in this process
 * while the next id is still not guessable from the last one. */
#include "core/core.h"

#include <pthread.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_ms;
static uint8_t last_rand[10];

/* Adds a 32-bit step to the 80-bit big-endian number r; returns true on overflow. */
static bool rand_add(uint8_t r[10], uint32_t step)
{
    uint64_t carry = step;
    for (int i = 9; i >= 0 && carry; i--) {
        carry += r[i];
        r[i] = (uint8_t)carry;
        carry >>= 8;
    }
    return carry != 0;
}

void cc_id_new(char out[CC_ID_LEN + 1])
{
    uint64_t now = (uint64_t)cc_now_ms() & 0xFFFFFFFFFFFFULL;
    uint8_t bytes[16];

    pthread_mutex_lock(&id_lock);
    if (now > last_ms) {
        last_ms = now;
        cc_random_bytes(last_rand, sizeof last_rand);
    } else {
        uint32_t step;
        cc_random_bytes(&step, sizeof step);
        if (rand_add(last_rand, (step >> 1) + 1)) {
            /* 2^80 ids in one ms cannot happen; borrow the next ms to stay ordered anyway. */
            last_ms++;
            cc_random_bytes(last_rand, sizeof last_rand);
        }
    }
    for (int i = 0; i < 6; i++)
        bytes[i] = (uint8_t)(last_ms >> (8 * (5 - i)));
    for (int i = 0; i < 10; i++)
        bytes[6 + i] = last_rand[i];
    pthread_mutex_unlock(&id_lock);

    /* 128 bits in 26 five-bit groups: the first char carries only the top 3 bits. */
    for (int c = 0; c < CC_ID_LEN; c++) {
        int bit = c == 0 ? 0 : 3 + 5 * (c - 1); /* first bit of this group in the 128 */
        int width = c == 0 ? 3 : 5;
        unsigned v = 0;
        for (int k = 0; k < width; k++) {
            int b = bit + k;
            v = (v << 1) | ((bytes[b / 8] >> (7 - b % 8)) & 1u);
        }
        out[c] = crockford[v];
    }
    out[CC_ID_LEN] = '\0';
}
