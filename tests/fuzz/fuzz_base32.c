/* libFuzzer target: auth_base32_decode and auth_totp_verify on arbitrary input must not crash,
 * and every accepted base32 string must be the canonical spelling of what it decodes to. */
#include "auth/auth.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return cc_crypto_init() == CC_OK ? 0 : 1;
}

/* What the decoder should have read: upper case, no spaces, no padding. */
static void canonical(const char *in, char *out)
{
    for (; *in; in++) {
        char c = *in;
        if (c == ' ' || c == '=')
            continue;
        *out++ = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    *out = '\0';
}

static void check_base32(const char *s)
{
    static uint8_t dec[FUZZ_MAX_INPUT], dec2[FUZZ_MAX_INPUT];
    static char enc[FUZZ_MAX_INPUT * 2], canon[FUZZ_MAX_INPUT + 1];
    size_t n = 0, n2 = 0;
    if (auth_base32_decode(s, dec, sizeof dec, &n) != CC_OK) {
        /* a short buffer must fail cleanly too */
        (void)auth_base32_decode(s, dec, 3, &n);
        return;
    }
    if (auth_base32_encode(dec, n, enc, sizeof enc) != CC_OK)
        abort();
    canonical(s, canon);
    if (strcmp(enc, canon) != 0)
        abort();
    if (auth_base32_decode(enc, dec2, sizeof dec2, &n2) != CC_OK || n2 != n ||
        memcmp(dec, dec2, n) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char rfc_secret[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    char *s, *nl;
    int64_t t = 1111111111, last = 0, m = 0;
    if (size > FUZZ_MAX_INPUT)
        return 0;
    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    check_base32(s);
    /* the whole input as a code, then as a secret */
    if (size >= 8) {
        memcpy(&t, data, sizeof t);
        last = t / 30 - (int64_t)(data[0] % 3);
    }
    (void)auth_totp_verify(rfc_secret, s, t, last, &m);
    (void)auth_totp_verify(s, "287082", 59, 0, &m);
    /* "secret\ncode": lets the fuzzer reach the HMAC with its own secret and code */
    nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        (void)auth_totp_verify(s, nl + 1, 59, 0, &m);
        (void)auth_totp_verify(s, nl + 1, t, last, &m);
    }
    free(s);
    return 0;
}
