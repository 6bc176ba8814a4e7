/* auth/recovery: one-time recovery codes that stand in for a lost TOTP device. Only their
 * hashes are stored; users read them off paper, so the alphabet avoids look-alike characters. */
#include "auth/auth.h"

#include <sodium.h>
#include <string.h>

/* No 0/o, 1/l/i: 31 symbols, 10 of them per code, about 49 bits. */
static const char rc_alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";
#define RC_SYMBOLS (sizeof rc_alphabet - 1)
#define RC_HALF 5
#define RC_CHARS (2 * RC_HALF)
/* Humans add spaces and dashes; anything much longer than a code is not one. */
#define RC_MAX_INPUT 64

_Static_assert(AUTH_RECOVERY_CODE_LEN == RC_CHARS + 1, "recovery code layout out of sync");

void auth_recovery_code_new(char out[AUTH_RECOVERY_CODE_LEN + 1])
{
    size_t o = 0;
    for (int i = 0; i < RC_CHARS; i++) {
        if (i == RC_HALF)
            out[o++] = '-';
        /* uniform() rather than a modulo, which would favour the first symbols. */
        out[o++] = rc_alphabet[randombytes_uniform((uint32_t)RC_SYMBOLS)];
    }
    out[o] = '\0';
}

int auth_recovery_code_hash(const auth_keys *keys, const char *code, char out[CC_HASH_HEX_LEN + 1])
{
    char norm[RC_CHARS];
    size_t n = 0;
    int rc;
    if (!code || !out) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    if (strnlen(code, RC_MAX_INPUT + 1) > RC_MAX_INPUT) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    for (const char *p = code; *p; p++) {
        char c = *p;
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        /* Anything outside the alphabet cannot be a code: fail here rather than hash it and
         * look it up for nothing. */
        if (!memchr(rc_alphabet, c, RC_SYMBOLS) || n == RC_CHARS) {
            rc = CC_ERR_INVALID;
            goto out;
        }
        norm[n++] = c;
    }
    if (n != RC_CHARS) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    if (keys)
        cc_blake2b_hex(norm, n, keys->recovery_key, sizeof keys->recovery_key, out);
    else
        cc_blake2b_hex(norm, n, NULL, 0, out);
    rc = CC_OK;
out:
    sodium_memzero(norm, sizeof norm);
    return rc;
}
