/* crypto: thin wrappers over libsodium so the rest of the tree has one place to audit. */
#include "core/core.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int cc_crypto_init(void)
{
    return sodium_init() < 0 ? CC_ERR_CRYPTO : CC_OK;
}

void cc_random_bytes(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

/* Caller frees the result with cc_free. NULL on allocation failure. */
char *cc_random_token(size_t nbytes)
{
    const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    size_t outlen = sodium_base64_ENCODED_LEN(nbytes, variant);
    unsigned char *raw = cc_malloc(nbytes ? nbytes : 1);
    char *tok = cc_malloc(outlen);
    if (!raw || !tok) {
        cc_free(&tok);
        goto out;
    }
    randombytes_buf(raw, nbytes);
    sodium_bin2base64(tok, outlen, raw, nbytes, variant);
out:
    if (raw)
        sodium_memzero(raw, nbytes);
    cc_free(&raw);
    return tok;
}

static unsigned char crypto__table_key[crypto_shorthash_KEYBYTES];
static pthread_once_t crypto__table_key_once = PTHREAD_ONCE_INIT;

static void crypto__table_key_draw(void)
{
    if (sodium_init() < 0)
        abort(); /* no randomness: nothing in the server can work */
    randombytes_buf(crypto__table_key, sizeof crypto__table_key);
}

uint64_t cc_keyed_hash64(const void *data, size_t n)
{
    pthread_once(&crypto__table_key_once, crypto__table_key_draw);
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, data, n, crypto__table_key);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h;
}

void cc_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* keylen above crypto_generichash_KEYBYTES_MAX is a programming error: abort rather than hand
 * back an unkeyed hash the caller believes is a MAC. */
void cc_blake2b_hex(const void *data, size_t n, const uint8_t *key, size_t keylen,
                    char out[CC_HASH_HEX_LEN + 1])
{
    uint8_t h[32];
    if (crypto_generichash(h, sizeof h, data, n, key, key ? keylen : 0) != 0)
        abort();
    cc_hex_encode(h, sizeof h, out);
}

bool cc_memeq_ct(const void *a, const void *b, size_t n)
{
    return n == 0 || sodium_memcmp(a, b, n) == 0;
}
