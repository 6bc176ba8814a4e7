/* auth/password: Argon2id password hashes and the password policy. Hashing and verifying take
 * ~100 ms and 64 MiB each on purpose: run them on a worker thread, never on the event loop. */
#include "auth/auth.h"

#include <sodium.h>
#include <string.h>

#define PW_OPSLIMIT 3ULL
#define PW_MEMLIMIT (64ULL * 1024 * 1024)
#define PW_MIN_BYTES 12
#define PW_MAX_BYTES 256
/* Shorter names would forbid too many passwords for no gain (a 2-letter name is in many
 * words); account names are longer than this anyway. */
#define PW_MIN_NAME_CHECK 3

_Static_assert(AUTH_PWHASH_LEN == crypto_pwhash_STRBYTES, "AUTH_PWHASH_LEN out of sync");

int auth_password_hash(const char *password, char out[AUTH_PWHASH_LEN])
{
    if (!password || !out)
        return CC_ERR_INVALID;
    /* Name the algorithm rather than rely on crypto_pwhash_str's default, which a future
     * libsodium may change. */
    if (crypto_pwhash_str_alg(out, password, strlen(password), PW_OPSLIMIT, (size_t)PW_MEMLIMIT,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return CC_ERR_NOMEM; /* the only documented failure: the memory limit was refused */
    return CC_OK;
}

int auth_password_verify(const char *hash, const char *password)
{
    static const char prefix[] = "$argon2id$";
    if (!hash || !password)
        return CC_ERR_INVALID;
    /* Only hashes we wrote are accepted: an unterminated value or another algorithm in the
     * column means corrupted or planted data, not a wrong password. */
    if (strnlen(hash, AUTH_PWHASH_LEN) >= AUTH_PWHASH_LEN ||
        strncmp(hash, prefix, sizeof prefix - 1) != 0)
        return CC_ERR_INVALID;
    if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
        return CC_ERR_DENIED;
    return CC_OK;
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF). Counts code points
 * and tells whether they are all the same one. */
static bool utf8_scan(const unsigned char *s, size_t n, bool *all_same)
{
    size_t first_len = 0, len;
    uint32_t cp;
    *all_same = true;
    for (size_t i = 0; i < n; i += len) {
        if (!(len = cc_utf8_decode(s + i, n - i, &cp)))
            return false;
        if (i == 0)
            first_len = len;
        else if (len != first_len || memcmp(s, s + i, len) != 0)
            *all_same = false;
    }
    return true;
}

int auth_password_policy(const char *password, const char *username, const char **why)
{
    const char *reason = NULL;
    bool all_same;
    size_t n;
    if (!password) {
        reason = "password is missing";
        goto out;
    }
    n = strlen(password);
    if (n < PW_MIN_BYTES) {
        reason = "password must be at least 12 bytes long";
        goto out;
    }
    if (n > PW_MAX_BYTES) {
        reason = "password must be at most 256 bytes long";
        goto out;
    }
    if (!utf8_scan((const unsigned char *)password, n, &all_same)) {
        reason = "password is not valid UTF-8";
        goto out;
    }
    if (all_same) {
        reason = "password must not repeat a single character";
        goto out;
    }
    /* ASCII case folding only: usernames are ASCII in practice, and a locale-dependent fold
     * would make the policy differ between hosts. */
    if (username && strlen(username) >= PW_MIN_NAME_CHECK && strcasestr(password, username)) {
        reason = "password must not contain the username";
        goto out;
    }
out:
    if (why)
        *why = reason;
    return reason ? CC_ERR_INVALID : CC_OK;
}
