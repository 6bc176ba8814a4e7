/* auth/totp: RFC 4648 base32, RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s steps), the otpauth://
 * enrolment URI, and sealing of TOTP secrets at rest. base32 and verify take untrusted input
 * (tests/fuzz/fuzz_base32.c). */
#include "auth/auth.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define TOTP_PERIOD 30
#define TOTP_DIGITS 6
/* RFC 4226 R6 asks for at least 128 bits; we generate 160. The upper bound only sizes a stack
 * buffer (longer HMAC keys are hashed down anyway). */
#define TOTP_SECRET_MIN 16
#define TOTP_SECRET_MAX 64
#define SEAL_MAX_PLAIN 4096

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* ---- base32 -------------------------------------------------------------------------------- */

int auth_base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    if ((!in && n > 0) || !out)
        return CC_ERR_INVALID;
    if (n > (SIZE_MAX - 5) / 8 || outlen < (n * 8 + 4) / 5 + 1)
        return CC_ERR_TOO_BIG;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return CC_OK;
}

static int b32_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

/* Canonical decoding only: a length that cannot come from whole bytes, or non-zero bits left
 * over at the end, is rejected, so each byte string has exactly one accepted spelling (apart
 * from case, spaces and optional padding, which humans add when they copy a secret). */
int auth_base32_decode(const char *in, uint8_t *out, size_t outlen, size_t *written)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0, nchars = 0, npad = 0;
    int rc;
    if (written)
        *written = 0;
    if (!in || (!out && outlen > 0)) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        int v;
        if (c == ' ')
            continue;
        if (c == '=') {
            npad++;
            continue;
        }
        v = b32_value(c);
        if (v < 0 || npad > 0) { /* data after padding is not base32 */
            rc = CC_ERR_INVALID;
            goto out;
        }
        nchars++;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outlen) {
                rc = CC_ERR_TOO_BIG;
                goto out;
            }
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0 ||
        (npad > 0 && (npad >= 8 || (nchars + npad) % 8 != 0))) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    if (written)
        *written = o;
    rc = CC_OK;
out:
    if (rc != CC_OK && out && o > 0)
        sodium_memzero(out, o);
    return rc;
}

/* ---- TOTP ---------------------------------------------------------------------------------- */

void auth_totp_new_secret(char out[AUTH_TOTP_SECRET_B32_LEN + 1])
{
    uint8_t raw[AUTH_TOTP_SECRET_B32_LEN * 5 / 8];
    randombytes_buf(raw, sizeof raw);
    /* Cannot fail: the sizes are fixed and match. */
    (void)auth_base32_encode(raw, sizeof raw, out, AUTH_TOTP_SECRET_B32_LEN + 1);
    sodium_memzero(raw, sizeof raw);
}

static int secret_decode(const char *secret_b32, uint8_t key[TOTP_SECRET_MAX], size_t *klen)
{
    if (!secret_b32)
        return CC_ERR_INVALID;
    if (auth_base32_decode(secret_b32, key, TOTP_SECRET_MAX, klen) != CC_OK ||
        *klen < TOTP_SECRET_MIN) {
        sodium_memzero(key, TOTP_SECRET_MAX);
        return CC_ERR_INVALID;
    }
    return CC_OK;
}

/* HOTP (RFC 4226 section 5.3) of one counter value. */
static int hotp(const uint8_t *key, size_t klen, uint64_t counter, char out[TOTP_DIGITS + 1])
{
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    uint32_t bin;
    unsigned off;
    int rc;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)counter;
        counter >>= 8;
    }
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, key, klen, msg, sizeof msg, mac, sizeof mac,
                   &maclen) ||
        maclen != 20) {
        rc = CC_ERR_CRYPTO;
        goto out;
    }
    off = mac[19] & 0x0f;
    bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
          ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
    snprintf(out, TOTP_DIGITS + 1, "%06u", (unsigned)(bin % 1000000u));
    rc = CC_OK;
out:
    sodium_memzero(mac, sizeof mac);
    return rc;
}

int auth_totp_code(const char *secret_b32, int64_t step, char out[7])
{
    uint8_t key[TOTP_SECRET_MAX];
    size_t klen = 0;
    int rc;
    if (!out || step < 0)
        return CC_ERR_INVALID;
    rc = secret_decode(secret_b32, key, &klen);
    if (rc != CC_OK)
        goto out;
    rc = hotp(key, klen, (uint64_t)step, out);
out:
    sodium_memzero(key, sizeof key);
    return rc;
}

int auth_totp_verify(const char *secret_b32, const char *code, int64_t unix_seconds,
                     int64_t last_step, int64_t *matched_step)
{
    uint8_t key[TOTP_SECRET_MAX];
    char expect[TOTP_DIGITS + 1];
    size_t klen = 0;
    int64_t step, matched = -1;
    int rc;
    /* Reject malformed codes before any HMAC: cheap for floods, and nothing but six ASCII
     * digits can match. The NUL stops the loop on short input. */
    if (!code || unix_seconds < 0)
        return CC_ERR_DENIED;
    for (int i = 0; i < TOTP_DIGITS; i++)
        if (code[i] < '0' || code[i] > '9')
            return CC_ERR_DENIED;
    if (code[TOTP_DIGITS] != '\0')
        return CC_ERR_DENIED;
    rc = secret_decode(secret_b32, key, &klen);
    if (rc != CC_OK)
        goto out;
    step = unix_seconds / TOTP_PERIOD;
    /* Every eligible step is computed and compared in full (no early exit), so timing says
     * nothing about which one matched. Ascending order keeps the highest match: recording it
     * as last_step forbids the most replays if two steps happen to share a code. */
    for (int64_t s = step - 1; s <= step + 1; s++) {
        if (s < 0 || s <= last_step)
            continue;
        rc = hotp(key, klen, (uint64_t)s, expect);
        if (rc != CC_OK)
            goto out;
        if (cc_memeq_ct(expect, code, TOTP_DIGITS))
            matched = s;
    }
    if (matched < 0) {
        rc = CC_ERR_DENIED;
        goto out;
    }
    if (matched_step)
        *matched_step = matched;
    rc = CC_OK;
out:
    sodium_memzero(key, sizeof key);
    sodium_memzero(expect, sizeof expect);
    return rc;
}

/* ---- enrolment URI ------------------------------------------------------------------------- */

/* RFC 3986 unreserved characters pass; everything else (':' '@' ' ' '&' UTF-8 bytes ...) is
 * %XX, so a name can neither break the label nor inject a query parameter. */
static char *pct_encode(char *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    return o;
}

char *auth_totp_uri(const char *issuer, const char *account, const char *secret_b32)
{
    static const char tail[] = "&algorithm=SHA1&digits=6&period=30";
    size_t il, al, sl, cap;
    char *uri, *o;
    if (!account || !*account || !secret_b32)
        return NULL;
    if (!issuer)
        issuer = "";
    il = strlen(issuer);
    al = strlen(account);
    sl = strlen(secret_b32);
    /* Names are short; the bound keeps the size arithmetic far from overflow. */
    if (il > 1024 || al > 1024 || sl > 1024)
        return NULL;
    cap = sizeof "otpauth://totp/" + 3 * il + 1 + 3 * al + sizeof "?secret=" + 3 * sl +
          sizeof "&issuer=" + 3 * il + sizeof tail;
    uri = cc_malloc(cap);
    if (!uri)
        return NULL;
    o = uri;
    memcpy(o, "otpauth://totp/", 15);
    o += 15;
    if (il > 0) {
        o = pct_encode(o, issuer);
        *o++ = ':';
    }
    o = pct_encode(o, account);
    memcpy(o, "?secret=", 8);
    o += 8;
    o = pct_encode(o, secret_b32);
    if (il > 0) {
        memcpy(o, "&issuer=", 8);
        o += 8;
        o = pct_encode(o, issuer);
    }
    memcpy(o, tail, sizeof tail); /* with its NUL */
    return uri;
}

/* ---- sealing secrets at rest --------------------------------------------------------------- */

#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES

/* The current format's prefix; the first format was the bare base64, sealed without the user
 * id (':' is not a base64 character, so the two cannot be confused). */
#define SEAL_V2 "v2:"
#define SEAL_V2_LEN (sizeof SEAL_V2 - 1)

/* Output: "v2:" base64(nonce || ciphertext || tag), the user id as associated data. A random
 * 192-bit nonce cannot collide in practice, so no counter has to be kept anywhere. */
int auth_secret_seal(const auth_keys *keys, const char *user_id, const char *plain, char **sealed)
{
    uint8_t *bin = NULL;
    char *b64 = NULL;
    size_t plen, binlen, b64len;
    unsigned long long clen = 0;
    int rc;
    if (!keys || !user_id || !*user_id || !plain || !sealed) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    *sealed = NULL;
    plen = strlen(plain);
    if (plen > SEAL_MAX_PLAIN) {
        rc = CC_ERR_TOO_BIG;
        goto out;
    }
    binlen = SEAL_NONCE + plen + SEAL_TAG;
    b64len = sodium_base64_ENCODED_LEN(binlen, sodium_base64_VARIANT_ORIGINAL);
    bin = cc_malloc(binlen);
    b64 = cc_malloc(SEAL_V2_LEN + b64len);
    if (!bin || !b64) {
        rc = CC_ERR_NOMEM;
        goto out;
    }
    randombytes_buf(bin, SEAL_NONCE);
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(
            bin + SEAL_NONCE, &clen, (const unsigned char *)plain, plen,
            (const unsigned char *)user_id, strlen(user_id), NULL, bin, keys->totp_key) != 0 ||
        clen != plen + SEAL_TAG) {
        rc = CC_ERR_CRYPTO;
        goto out;
    }
    memcpy(b64, SEAL_V2, SEAL_V2_LEN);
    sodium_bin2base64(b64 + SEAL_V2_LEN, b64len, bin, binlen, sodium_base64_VARIANT_ORIGINAL);
    *sealed = b64;
    b64 = NULL;
    rc = CC_OK;
out:
    cc_free(&bin);
    cc_free(&b64);
    return rc;
}

int auth_secret_open(const auth_keys *keys, const char *user_id, const char *sealed, char **plain,
                     bool *legacy)
{
    uint8_t *bin = NULL;
    char *pt = NULL;
    size_t slen, binmax, binlen = 0;
    unsigned long long plen = 0;
    const unsigned char *ad = NULL;
    size_t adlen = 0;
    int rc;
    if (!keys || !user_id || !*user_id || !sealed || !plain) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    *plain = NULL;
    if (strncmp(sealed, SEAL_V2, SEAL_V2_LEN) == 0) {
        sealed += SEAL_V2_LEN;
        ad = (const unsigned char *)user_id;
        adlen = strlen(user_id);
    }
    if (legacy)
        *legacy = ad == NULL;
    slen = strlen(sealed);
    if (slen > sodium_base64_ENCODED_LEN(SEAL_NONCE + SEAL_MAX_PLAIN + SEAL_TAG,
                                         sodium_base64_VARIANT_ORIGINAL)) {
        rc = CC_ERR_TOO_BIG;
        goto out;
    }
    binmax = slen / 4 * 3 + 3;
    bin = cc_malloc(binmax);
    if (!bin) {
        rc = CC_ERR_NOMEM;
        goto out;
    }
    if (sodium_base642bin(bin, binmax, sealed, slen, NULL, &binlen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        binlen < SEAL_NONCE + SEAL_TAG) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    pt = cc_malloc(binlen - SEAL_NONCE - SEAL_TAG + 1);
    if (!pt) {
        rc = CC_ERR_NOMEM;
        goto out;
    }
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)pt, &plen, NULL,
                                                   bin + SEAL_NONCE, binlen - SEAL_NONCE, ad, adlen,
                                                   bin, keys->totp_key) != 0) {
        /* altered, truncated, sealed under another server key or for another user */
        rc = CC_ERR_TAMPERED;
        goto out;
    }
    pt[plen] = '\0';
    /* Only C strings are sealed; an embedded NUL would silently shorten the secret. */
    if (memchr(pt, '\0', (size_t)plen)) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    *plain = pt;
    pt = NULL;
    rc = CC_OK;
out:
    if (pt) {
        sodium_memzero(pt, binlen - SEAL_NONCE - SEAL_TAG + 1);
        cc_free(&pt);
    }
    cc_free(&bin);
    return rc;
}
