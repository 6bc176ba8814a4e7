/* nir: check keys of national person identifiers carried in PID-3 — the French NIR behind the INS
 * and the Belgian SSIN (INSZ/NISS). */
#include "interop/interop_internal.h"

#include <string.h>

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

static uint64_t to_u64(const char *s, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    return v;
}

int interop_nir_check(const char *s, size_t n, char *why, size_t whylen)
{
    if (n != 15) {
        cc_say(why, whylen, "an NIR has 15 characters, not %zu", n);
        return CC_ERR_INVALID;
    }
    /* Corsica: département 2A and 2B stand as 19 and 18 in the key computation. */
    char digits[13];
    memcpy(digits, s, 13);
    if (digits[5] == '2' && (digits[6] == 'A' || digits[6] == 'B')) {
        digits[5] = '1';
        digits[6] = digits[6] == 'A' ? '9' : '8';
    }
    if (!all_digits(digits, 13) || !all_digits(s + 13, 2)) {
        cc_say(why, whylen, "an NIR is 13 digits (2A or 2B for Corsica) and a 2-digit key");
        return CC_ERR_INVALID;
    }
    if (digits[0] == '0' || digits[0] == '9') {
        cc_say(why, whylen, "an NIR starts with 1 to 8");
        return CC_ERR_INVALID;
    }
    uint64_t key = 97 - to_u64(digits, 13) % 97;
    if (key != to_u64(s + 13, 2)) {
        cc_say(why, whylen, "wrong NIR key %.2s (expected %02u)", s + 13, (unsigned)key);
        return CC_ERR_INVALID;
    }
    return CC_OK;
}

int interop_ssin_check(const char *s, size_t n, char *why, size_t whylen)
{
    if (n != 11 || !all_digits(s, n)) {
        cc_say(why, whylen, "an SSIN is 11 digits");
        return CC_ERR_INVALID;
    }
    uint64_t body = to_u64(s, 9), check = to_u64(s + 9, 2);
    /* Born from 2000: the key is computed over 2 followed by the nine digits. */
    if (97 - body % 97 == check || 97 - (2000000000ull + body) % 97 == check)
        return CC_OK;
    cc_say(why, whylen, "wrong SSIN check digits %.2s", s + 9);
    return CC_ERR_INVALID;
}
