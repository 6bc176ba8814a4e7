/* Unit tests of auth's crypto building blocks: permissions, server key file, passwords, base32,
 * TOTP, sealing, recovery codes. No store needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/auth.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RFC_SECRET_ASCII "12345678901234567890"
#define RFC_SECRET_B32 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

/* ---- permissions --------------------------------------------------------------------------- */

static void test_perm_table(void **state)
{
    (void)state;
    assert_false(auth_role_has(ROLE_ADMIN, PERM_PATIENT_READ));
    assert_true(auth_role_has(ROLE_ADMIN, PERM_USERS_WRITE));
    assert_true(auth_role_has(ROLE_ADMIN, PERM_AUDIT_READ));
    assert_true(auth_role_has(ROLE_NURSE, PERM_PATIENT_READ));
    assert_true(auth_role_has(ROLE_PRACTITIONER, PERM_PATIENT_READ));
    assert_true(auth_role_has(ROLE_SECRETARY, PERM_PATIENT_READ));
    assert_false(auth_role_has(ROLE_NURSE, PERM_USERS_READ));
    assert_true(auth_role_has(ROLE_IT_SUPPORT, PERM_USERS_READ));
    assert_false(auth_role_has(ROLE_IT_SUPPORT, PERM_USERS_WRITE));
    assert_false(auth_role_has(ROLE_IT_SUPPORT, PERM_PATIENT_READ));
    /* Every person's role; a system account (a machine) has none of these. */
    for (int r = 0; r < ROLE__COUNT; r++) {
        if (auth_role_is_system((auth_role)r))
            continue;
        assert_true(auth_role_has((auth_role)r, PERM_SELF));
        assert_true(auth_role_has((auth_role)r, PERM_EVENTS));
        assert_true(auth_role_has((auth_role)r, PERM_MESSAGES));
        assert_true(auth_role_has((auth_role)r, PERM_MEETINGS));
    }
    assert_false(auth_role_has(ROLE__COUNT, PERM_SELF));
    assert_false(auth_role_has(ROLE_ADMIN, PERM__COUNT));

    assert_true(auth_role_requires_totp(ROLE_NURSE));
    assert_true(auth_role_requires_totp(ROLE_PRACTITIONER));
    assert_true(auth_role_requires_totp(ROLE_SECRETARY));
    assert_true(auth_role_requires_totp(ROLE_ADMIN));
    /* Messages can carry patient data: IT support messages too, so it needs 2FA as well. */
    assert_true(auth_role_requires_totp(ROLE_IT_SUPPORT));
}

static void test_perm_names(void **state)
{
    static const char *const roles[] = {"admin",     "practitioner", "nurse",
                                        "secretary", "it_support",   "booking_system"};
    static const char *const perms[] = {"self",        "events",     "users.read",
                                        "users.write", "audit.read", "patient.read",
                                        "messages",    "meetings",   "bookings"};
    auth_role r;
    auth_perm p;
    (void)state;
    for (int i = 0; i < ROLE__COUNT; i++) {
        assert_string_equal(auth_role_name((auth_role)i), roles[i]);
        assert_int_equal(auth_role_parse(roles[i], &r), CC_OK);
        assert_int_equal(r, i);
    }
    for (int i = 0; i < PERM__COUNT; i++) {
        assert_string_equal(auth_perm_name((auth_perm)i), perms[i]);
        assert_int_equal(auth_perm_parse(perms[i], &p), CC_OK);
        assert_int_equal(p, i);
    }
    assert_int_equal(auth_role_parse("Admin", &r), CC_ERR_INVALID);
    assert_int_equal(auth_role_parse("", &r), CC_ERR_INVALID);
    assert_int_equal(auth_role_parse(NULL, &r), CC_ERR_INVALID);
    assert_int_equal(auth_perm_parse("patient", &p), CC_ERR_INVALID);
    /* The machine's account: FHIR bookings only, no 2FA (it has no interactive login). */
    assert_true(auth_role_is_system(ROLE_BOOKING_SYSTEM));
    assert_false(auth_role_is_system(ROLE_SECRETARY));
    assert_true(auth_role_has(ROLE_BOOKING_SYSTEM, PERM_BOOKINGS));
    assert_false(auth_role_has(ROLE_BOOKING_SYSTEM, PERM_PATIENT_READ));
    assert_false(auth_role_has(ROLE_BOOKING_SYSTEM, PERM_SELF));
    assert_false(auth_role_requires_totp(ROLE_BOOKING_SYSTEM));
    assert_true(auth_role_requires_totp(ROLE_SECRETARY));
    assert_null(auth_role_name(ROLE__COUNT));
    assert_null(auth_perm_name(PERM__COUNT));
}

/* ---- server key ---------------------------------------------------------------------------- */

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[PATH_MAX];
    if (!d)
        return;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR)
            rm_rf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void test_keys_file(void **state)
{
    char dir[] = "/tmp/cc_keys_XXXXXX";
    char sub[256], path[512], why[256];
    auth_keys k1, k2;
    struct stat sb;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/data", dir);
    snprintf(path, sizeof path, "%s/server.key", sub);

    assert_int_equal(auth_keys_load(sub, false, &k1, why, sizeof why), CC_ERR_NOT_FOUND);
    assert_true(why[0] != '\0');
    /* create makes the folder too */
    assert_int_equal(auth_keys_load(sub, true, &k1, why, sizeof why), CC_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_size, AUTH_KEY_BYTES);
    assert_memory_not_equal(k1.audit_key, k1.totp_key, AUTH_KEY_BYTES);
    assert_memory_not_equal(k1.recovery_key, k1.totp_key, AUTH_KEY_BYTES);
    assert_memory_not_equal(k1.recovery_key, k1.audit_key, AUTH_KEY_BYTES);
    assert_memory_not_equal(k1.recovery_key, k1.link_key, AUTH_KEY_BYTES);

    /* reload (with or without create) gives the same keys, and does not rewrite the file */
    assert_int_equal(auth_keys_load(sub, false, &k2, why, sizeof why), CC_OK);
    assert_memory_equal(&k1, &k2, sizeof k1);
    assert_int_equal(auth_keys_load(sub, true, &k2, why, sizeof why), CC_OK);
    assert_memory_equal(&k1, &k2, sizeof k1);

    /* group-readable: refused with the reason */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(auth_keys_load(sub, true, &k2, why, sizeof why), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "0640"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(auth_keys_load(sub, false, &k2, why, sizeof why), CC_ERR_CONFIG);
    assert_int_equal(chmod(path, 0600), 0);

    /* wrong size: refused, never "fixed" by regenerating */
    assert_int_equal(truncate(path, 31), 0);
    assert_int_equal(auth_keys_load(sub, true, &k2, why, sizeof why), CC_ERR_INVALID);
    assert_non_null(strstr(why, "31 bytes"));
    assert_int_equal(truncate(path, 33), 0);
    assert_int_equal(auth_keys_load(sub, true, &k2, why, sizeof why), CC_ERR_INVALID);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 33);

    /* another server's key derives other keys */
    unlink(path);
    assert_int_equal(auth_keys_load(sub, true, &k2, why, sizeof why), CC_OK);
    assert_memory_not_equal(k1.audit_key, k2.audit_key, AUTH_KEY_BYTES);

    assert_int_equal(auth_keys_load(NULL, true, &k2, why, sizeof why), CC_ERR_INVALID);
    rm_rf(dir);
}

/* ---- passwords ----------------------------------------------------------------------------- */

static void test_password_hash_verify(void **state)
{
    char h[AUTH_PWHASH_LEN], h2[AUTH_PWHASH_LEN];
    (void)state;
    assert_int_equal(auth_password_hash("correct horse battery", h), CC_OK);
    assert_non_null(strstr(h, "$argon2id$v=19$m=65536,t=3,"));
    assert_int_equal(auth_password_verify(h, "correct horse battery"), CC_OK);
    assert_int_equal(auth_password_verify(h, "correct horse batterY"), CC_ERR_DENIED);
    assert_int_equal(auth_password_verify(h, ""), CC_ERR_DENIED);
    /* salted: same password, different hash */
    assert_int_equal(auth_password_hash("correct horse battery", h2), CC_OK);
    assert_string_not_equal(h, h2);
    /* not one of ours */
    assert_int_equal(auth_password_verify("$2y$10$abcdefghijklmnopqrstuv", "x"), CC_ERR_INVALID);
    assert_int_equal(auth_password_verify("", "x"), CC_ERR_INVALID);
    assert_int_equal(auth_password_verify(NULL, "x"), CC_ERR_INVALID);
}

static void test_password_policy(void **state)
{
    const char *why = NULL;
    char buf[300];
    (void)state;
    assert_int_equal(auth_password_policy("correct horse battery", "jdupont", &why), CC_OK);
    assert_null(why);
    assert_int_equal(auth_password_policy("abcdefghijk", "jdupont", &why), CC_ERR_INVALID);
    assert_non_null(why);
    assert_int_equal(auth_password_policy("abcdefghijkl", "jdupont", &why), CC_OK);
    memset(buf, 'a', 256);
    buf[0] = 'b';
    buf[256] = '\0';
    assert_int_equal(auth_password_policy(buf, "jdupont", &why), CC_OK);
    buf[256] = 'a';
    buf[257] = '\0';
    assert_int_equal(auth_password_policy(buf, "jdupont", &why), CC_ERR_INVALID);
    /* all one character, ASCII and multi-byte */
    assert_int_equal(auth_password_policy("aaaaaaaaaaaaaaa", NULL, &why), CC_ERR_INVALID);
    assert_int_equal(auth_password_policy(
                         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL, &why),
                     CC_ERR_INVALID);
    /* accents are fine */
    assert_int_equal(auth_password_policy("h\xc3\xb4pital du c\xc5\x93ur", NULL, &why), CC_OK);
    /* invalid UTF-8: stray byte, overlong, surrogate, truncated */
    assert_int_equal(auth_password_policy("abcdefghijkl\xff", NULL, &why), CC_ERR_INVALID);
    assert_int_equal(auth_password_policy("abcdefghijkl\xc0\xaf", NULL, &why), CC_ERR_INVALID);
    assert_int_equal(auth_password_policy("abcdefghijkl\xed\xa0\x80", NULL, &why), CC_ERR_INVALID);
    assert_int_equal(auth_password_policy("abcdefghijkl\xe2\x82", NULL, &why), CC_ERR_INVALID);
    /* contains the username, any case */
    assert_int_equal(auth_password_policy("my name is JDupont!!", "jdupont", &why), CC_ERR_INVALID);
    assert_non_null(strstr(why, "username"));
    assert_int_equal(auth_password_policy(NULL, "x", &why), CC_ERR_INVALID);
}

/* ---- base32 -------------------------------------------------------------------------------- */

static void test_base32_rfc4648(void **state)
{
    static const struct {
        const char *in, *out, *padded;
    } v[] = {
        {"", "", ""},
        {"f", "MY", "MY======"},
        {"fo", "MZXQ", "MZXQ===="},
        {"foo", "MZXW6", "MZXW6==="},
        {"foob", "MZXW6YQ", "MZXW6YQ="},
        {"fooba", "MZXW6YTB", "MZXW6YTB"},
        {"foobar", "MZXW6YTBOI", "MZXW6YTBOI======"},
    };
    char enc[64];
    uint8_t dec[64];
    size_t n;
    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t len = strlen(v[i].in);
        assert_int_equal(auth_base32_encode((const uint8_t *)v[i].in, len, enc, sizeof enc), CC_OK);
        assert_string_equal(enc, v[i].out);
        assert_int_equal(auth_base32_decode(v[i].out, dec, sizeof dec, &n), CC_OK);
        assert_int_equal(n, len);
        assert_memory_equal(dec, v[i].in, len);
        assert_int_equal(auth_base32_decode(v[i].padded, dec, sizeof dec, &n), CC_OK);
        assert_int_equal(n, len);
        assert_memory_equal(dec, v[i].in, len);
    }
    /* lower case and spaces */
    assert_int_equal(auth_base32_decode("mzxw 6ytb oi", dec, sizeof dec, &n), CC_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(dec, "foobar", 6);
    assert_int_equal(auth_base32_encode((const uint8_t *)RFC_SECRET_ASCII, 20, enc, sizeof enc),
                     CC_OK);
    assert_string_equal(enc, RFC_SECRET_B32);
}

static void test_base32_invalid(void **state)
{
    static const char *const bad[] = {
        "M",          /* 5 bits: no whole byte */
        "MZX",        /* 15 bits */
        "MZXW6Y",     /* 30 bits */
        "MZ",         /* non-zero leftover bits */
        "MZXW6YTBOJ", /* same, longer */
        "MY=",        /* wrong padding length */
        "MY=======",  /* too much padding */
        "MY======MY", /* data after padding */
        "MZXW1",      /* 1 is not base32 */
        "MZXW0",      /* nor 0 */
        "MZ-XW",      /* nor punctuation */
        "MZ\tXW",     /* spaces only, not tabs */
        "\xc3\xa9",   /* nor UTF-8 */
    };
    char enc[8];
    uint8_t dec[64];
    size_t n = 99;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_not_equal(auth_base32_decode(bad[i], dec, sizeof dec, &n), CC_OK);
    assert_int_equal(n, 0);
    /* output too small */
    assert_int_equal(auth_base32_decode("MZXW6YTBOI", dec, 5, &n), CC_ERR_TOO_BIG);
    assert_int_equal(auth_base32_decode("MZXW6YTBOI", dec, 6, &n), CC_OK);
    assert_int_equal(auth_base32_encode((const uint8_t *)"foobar", 6, enc, sizeof enc),
                     CC_ERR_TOO_BIG);
    assert_int_equal(auth_base32_decode(NULL, dec, sizeof dec, &n), CC_ERR_INVALID);
}

static void test_base32_roundtrip(void **state)
{
    uint8_t in[64], dec[64];
    char enc[128];
    size_t n;
    (void)state;
    for (size_t len = 0; len <= sizeof in; len++) {
        randombytes_buf(in, len);
        assert_int_equal(auth_base32_encode(in, len, enc, sizeof enc), CC_OK);
        assert_int_equal(strlen(enc), (len * 8 + 4) / 5);
        assert_int_equal(auth_base32_decode(enc, dec, sizeof dec, &n), CC_OK);
        assert_int_equal(n, len);
        assert_memory_equal(dec, in, len);
    }
}

/* ---- TOTP ---------------------------------------------------------------------------------- */

static void test_totp_rfc6238(void **state)
{
    static const struct {
        int64_t t;
        const char *code;
    } v[] = {
        {59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
        {1234567890, "005924"}, {2000000000, "279037"},
    };
    char code[7];
    int64_t m;
    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(auth_totp_code(RFC_SECRET_B32, v[i].t / 30, code), CC_OK);
        assert_string_equal(code, v[i].code);
        assert_int_equal(auth_totp_verify(RFC_SECRET_B32, v[i].code, v[i].t, 0, &m), CC_OK);
        assert_int_equal(m, v[i].t / 30);
    }
    /* lower case secret with spaces is the same secret */
    assert_int_equal(auth_totp_code("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", 1, code), CC_OK);
    assert_string_equal(code, "287082");
}

static void test_totp_window_replay(void **state)
{
    const int64_t t = 1111111111, step = t / 30;
    char prev[7], cur[7], next[7], far_past[7], far_next[7];
    int64_t m = 0;
    (void)state;
    assert_int_equal(auth_totp_code(RFC_SECRET_B32, step - 1, prev), CC_OK);
    assert_int_equal(auth_totp_code(RFC_SECRET_B32, step, cur), CC_OK);
    assert_int_equal(auth_totp_code(RFC_SECRET_B32, step + 1, next), CC_OK);
    assert_int_equal(auth_totp_code(RFC_SECRET_B32, step - 2, far_past), CC_OK);
    assert_int_equal(auth_totp_code(RFC_SECRET_B32, step + 2, far_next), CC_OK);

    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, prev, t, 0, &m), CC_OK);
    assert_int_equal(m, step - 1);
    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, next, t, 0, &m), CC_OK);
    assert_int_equal(m, step + 1);
    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, far_past, t, 0, &m), CC_ERR_DENIED);
    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, far_next, t, 0, &m), CC_ERR_DENIED);

    /* replay: once step is used, neither it nor earlier steps pass again */
    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, cur, t, 0, &m), CC_OK);
    assert_int_equal(m, step);
    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, cur, t, m, &m), CC_ERR_DENIED);
    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, prev, t, step, &m), CC_ERR_DENIED);
    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, next, t, step, &m), CC_OK);
    assert_int_equal(m, step + 1);
    /* matched_step may be NULL */
    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, cur, t, 0, NULL), CC_OK);
    /* wrong secret */
    assert_int_equal(auth_totp_verify("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", cur, t, 0, &m),
                     CC_ERR_DENIED);
}

static void test_totp_malformed(void **state)
{
    static const char *const bad[] = {"28708a",
                                      "28708",
                                      "2870820",
                                      " 287082",
                                      "287082 ",
                                      "+28708",
                                      "-28708",
                                      "",
                                      "２８７０８２",
                                      "28 082",
                                      "\x32\x38\x37\x30\x38\xb2"};
    char code[7];
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(auth_totp_verify(RFC_SECRET_B32, bad[i], 59, 0, NULL), CC_ERR_DENIED);
    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, NULL, 59, 0, NULL), CC_ERR_DENIED);
    assert_int_equal(auth_totp_verify(RFC_SECRET_B32, "287082", -1, 0, NULL), CC_ERR_DENIED);
    /* a broken or too short secret is never "OK" */
    assert_int_not_equal(auth_totp_verify("not base32!", "287082", 59, 0, NULL), CC_OK);
    assert_int_not_equal(auth_totp_verify("MZXW6YTB", "287082", 59, 0, NULL), CC_OK);
    assert_int_not_equal(auth_totp_verify(NULL, "287082", 59, 0, NULL), CC_OK);
    assert_int_equal(auth_totp_code("MZXW6YTB", 1, code), CC_ERR_INVALID);
    assert_int_equal(auth_totp_code(RFC_SECRET_B32, -1, code), CC_ERR_INVALID);
}

static void test_totp_secret_and_uri(void **state)
{
    char s1[AUTH_TOTP_SECRET_B32_LEN + 1], s2[AUTH_TOTP_SECRET_B32_LEN + 1], code[7];
    uint8_t raw[32];
    size_t n;
    char *uri;
    (void)state;
    auth_totp_new_secret(s1);
    auth_totp_new_secret(s2);
    assert_int_equal(strlen(s1), AUTH_TOTP_SECRET_B32_LEN);
    assert_string_not_equal(s1, s2);
    assert_int_equal(auth_base32_decode(s1, raw, sizeof raw, &n), CC_OK);
    assert_int_equal(n, 20);
    assert_int_equal(auth_totp_code(s1, 1000, code), CC_OK);

    uri = auth_totp_uri("H\xc3\xb4pital Nord", "j.dupont@chu:fr&x=1", RFC_SECRET_B32);
    assert_non_null(uri);
    assert_string_equal(uri, "otpauth://totp/H%C3%B4pital%20Nord:j.dupont%40chu%3Afr%26x%3D1"
                             "?secret=" RFC_SECRET_B32 "&issuer=H%C3%B4pital%20Nord"
                             "&algorithm=SHA1&digits=6&period=30");
    cc_free(&uri);
    uri = auth_totp_uri("carecomm", "nurse1", s1);
    assert_non_null(uri);
    assert_non_null(strstr(uri, s1));
    cc_free(&uri);
    assert_null(auth_totp_uri("carecomm", NULL, s1));
}

/* ---- sealing ------------------------------------------------------------------------------- */

#define USER_A "01JBN0A6X5S0ZQ4M3T8V9WCDEF"
#define USER_B "01JBN0A6X5S0ZQ4M3T8V9WCDEG"

static void test_seal_open(void **state)
{
    auth_keys k, other;
    char *s1 = NULL, *s2 = NULL, *p = NULL;
    bool legacy = true;
    (void)state;
    randombytes_buf(&k, sizeof k);
    randombytes_buf(&other, sizeof other);
    assert_int_equal(auth_secret_seal(&k, USER_A, RFC_SECRET_B32, &s1), CC_OK);
    assert_int_equal(auth_secret_seal(&k, USER_A, RFC_SECRET_B32, &s2), CC_OK);
    assert_string_not_equal(s1, s2); /* random nonce */
    assert_null(strstr(s1, RFC_SECRET_B32));
    assert_int_equal(strncmp(s1, "v2:", 3), 0);
    assert_int_equal(auth_secret_open(&k, USER_A, s1, &p, &legacy), CC_OK);
    assert_false(legacy);
    assert_string_equal(p, RFC_SECRET_B32);
    cc_free(&p);
    /* Copied onto another user's row, it does not open. */
    assert_int_equal(auth_secret_open(&k, USER_B, s1, &p, NULL), CC_ERR_TAMPERED);
    assert_null(p);

    /* every single-character change is caught: in the data, and in the prefix */
    for (size_t i = 3; i + 2 < strlen(s1); i++) {
        char saved = s1[i];
        s1[i] = saved == 'A' ? 'B' : 'A';
        assert_int_equal(auth_secret_open(&k, USER_A, s1, &p, NULL), CC_ERR_TAMPERED);
        assert_null(p);
        s1[i] = saved;
    }
    for (size_t i = 0; i < 3; i++) {
        char saved = s1[i];
        s1[i] = 'w';
        assert_int_not_equal(auth_secret_open(&k, USER_A, s1, &p, NULL), CC_OK);
        assert_null(p);
        s1[i] = saved;
    }
    /* Without its prefix the text would be read as the first format (no user id): it fails
     * there too, so the prefix cannot be dropped to escape the binding. */
    assert_int_equal(auth_secret_open(&k, USER_B, s1 + 3, &p, NULL), CC_ERR_TAMPERED);
    /* another key, truncation, garbage, no user */
    assert_int_equal(auth_secret_open(&other, USER_A, s1, &p, NULL), CC_ERR_TAMPERED);
    assert_int_equal(auth_secret_open(&k, "", s1, &p, NULL), CC_ERR_INVALID);
    assert_int_equal(auth_secret_seal(&k, NULL, RFC_SECRET_B32, &s2 /* untouched */),
                     CC_ERR_INVALID);
    s1[strlen(s1) - 4] = '\0';
    assert_int_not_equal(auth_secret_open(&k, USER_A, s1, &p, NULL), CC_OK);
    assert_int_equal(auth_secret_open(&k, USER_A, "!!!!", &p, NULL), CC_ERR_INVALID);
    assert_int_equal(auth_secret_open(&k, USER_A, "", &p, NULL), CC_ERR_INVALID);
    assert_int_equal(auth_secret_open(&k, USER_A, "AAAA", &p, NULL), CC_ERR_INVALID);
    assert_int_equal(auth_secret_open(&k, USER_A, "v2:", &p, NULL), CC_ERR_INVALID);
    assert_null(p);
    cc_free(&s1);
    cc_free(&s2);

    /* empty plaintext is allowed */
    assert_int_equal(auth_secret_seal(&k, USER_A, "", &s1), CC_OK);
    assert_int_equal(auth_secret_open(&k, USER_A, s1, &p, NULL), CC_OK);
    assert_string_equal(p, "");
    cc_free(&p);
    cc_free(&s1);
}

/* Secrets sealed in the first format (base64 of nonce, ciphertext and tag, no associated data)
 * still open, for any user id, and say so, so that login seals them again for their owner. */
static void test_open_first_format(void **state)
{
    auth_keys k;
    uint8_t bin[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + sizeof RFC_SECRET_B32 - 1 +
                crypto_aead_xchacha20poly1305_ietf_ABYTES];
    char b64[sodium_base64_ENCODED_LEN(sizeof bin, sodium_base64_VARIANT_ORIGINAL)];
    unsigned long long clen = 0;
    char *p = NULL;
    bool legacy = false;
    (void)state;
    randombytes_buf(&k, sizeof k);
    randombytes_buf(bin, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(
                         bin + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen,
                         (const unsigned char *)RFC_SECRET_B32, sizeof RFC_SECRET_B32 - 1, NULL, 0,
                         NULL, bin, k.totp_key),
                     0);
    sodium_bin2base64(b64, sizeof b64, bin, sizeof bin, sodium_base64_VARIANT_ORIGINAL);
    assert_int_equal(auth_secret_open(&k, USER_A, b64, &p, &legacy), CC_OK);
    assert_true(legacy);
    assert_string_equal(p, RFC_SECRET_B32);
    cc_free(&p);
    /* A first-format text under the "v2:" prefix is bound to nobody: it does not open. */
    char *prefixed = cc_malloc(3 + sizeof b64);
    memcpy(prefixed, "v2:", 3);
    memcpy(prefixed + 3, b64, sizeof b64);
    assert_int_equal(auth_secret_open(&k, USER_A, prefixed, &p, NULL), CC_ERR_TAMPERED);
    cc_free(&prefixed);
}

/* ---- recovery codes ------------------------------------------------------------------------ */

static void test_recovery_codes(void **state)
{
    char c1[AUTH_RECOVERY_CODE_LEN + 1], c2[AUTH_RECOVERY_CODE_LEN + 1];
    char h1[CC_HASH_HEX_LEN + 1], h2[CC_HASH_HEX_LEN + 1];
    auth_keys k, other;
    (void)state;
    randombytes_buf(&k, sizeof k);
    randombytes_buf(&other, sizeof other);
    for (int i = 0; i < 200; i++) {
        auth_recovery_code_new(c1);
        assert_int_equal(strlen(c1), AUTH_RECOVERY_CODE_LEN);
        assert_int_equal(c1[5], '-');
        for (int j = 0; j < AUTH_RECOVERY_CODE_LEN; j++) {
            if (j == 5)
                continue;
            assert_non_null(strchr("23456789abcdefghjkmnpqrstuvwxyz", c1[j]));
        }
        assert_null(strpbrk(c1, "01oli"));
        assert_int_equal(auth_recovery_code_hash(&k, c1, h1), CC_OK);
    }
    auth_recovery_code_new(c2);
    assert_string_not_equal(c1, c2);

    assert_int_equal(auth_recovery_code_hash(&k, "k7mqz-2xw9p", h1), CC_OK);
    assert_int_equal(strlen(h1), CC_HASH_HEX_LEN);
    assert_int_equal(auth_recovery_code_hash(&k, "K7MQZ2XW9P", h2), CC_OK);
    assert_string_equal(h1, h2);
    assert_int_equal(auth_recovery_code_hash(&k, " k7mqz - 2XW9p ", h2), CC_OK);
    assert_string_equal(h1, h2);
    /* Keyed with the server's recovery key: not the plain hash anyone could compute from a
     * guess, and not another server's. */
    cc_blake2b_hex("k7mqz2xw9p", 10, k.recovery_key, sizeof k.recovery_key, h2);
    assert_string_equal(h1, h2);
    cc_blake2b_hex("k7mqz2xw9p", 10, NULL, 0, h2);
    assert_string_not_equal(h1, h2);
    assert_int_equal(auth_recovery_code_hash(&other, "k7mqz-2xw9p", h2), CC_OK);
    assert_string_not_equal(h1, h2);
    /* Without keys: the unkeyed hash of the codes made before the key. */
    assert_int_equal(auth_recovery_code_hash(NULL, "K7MQZ-2XW9P", h1), CC_OK);
    cc_blake2b_hex("k7mqz2xw9p", 10, NULL, 0, h2);
    assert_string_equal(h1, h2);
    assert_int_equal(auth_recovery_code_hash(&k, "k7mqz-2xw9q", h2), CC_OK);
    assert_string_not_equal(h1, h2);

    assert_int_equal(auth_recovery_code_hash(&k, "k7mqz-2xw9", h2), CC_ERR_INVALID);
    assert_int_equal(auth_recovery_code_hash(&k, "k7mqz-2xw9pp", h2), CC_ERR_INVALID);
    assert_int_equal(auth_recovery_code_hash(&k, "k7mqz-2xw9o", h2), CC_ERR_INVALID);
    assert_int_equal(auth_recovery_code_hash(&k, "", h2), CC_ERR_INVALID);
    assert_int_equal(auth_recovery_code_hash(&k, NULL, h2), CC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perm_table),      cmocka_unit_test(test_perm_names),
        cmocka_unit_test(test_keys_file),       cmocka_unit_test(test_password_hash_verify),
        cmocka_unit_test(test_password_policy), cmocka_unit_test(test_base32_rfc4648),
        cmocka_unit_test(test_base32_invalid),  cmocka_unit_test(test_base32_roundtrip),
        cmocka_unit_test(test_totp_rfc6238),    cmocka_unit_test(test_totp_window_replay),
        cmocka_unit_test(test_totp_malformed),  cmocka_unit_test(test_totp_secret_and_uri),
        cmocka_unit_test(test_seal_open),       cmocka_unit_test(test_open_first_format),
        cmocka_unit_test(test_recovery_codes),
    };
    if (cc_crypto_init() != CC_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
