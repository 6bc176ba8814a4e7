/* Unit tests for core: memory accounting, strings, ids, crypto, JSON parsing and validation,
 * logging, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_mem_counter(void **state)
{
    (void)state;
    int64_t start = cc_mem_live_bytes();
    char *a = cc_malloc(100);
    char *b = cc_calloc(10, 10);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(cc_mem_live_bytes() - start, 200);
    assert_int_equal((uintptr_t)a % 16, 0);
    a = cc_realloc(a, 1000);
    assert_non_null(a);
    assert_int_equal(cc_mem_live_bytes() - start, 1100);
    char *s = cc_strdup("hello");
    assert_string_equal(s, "hello");
    char *t = cc_strndup("hello", 3);
    assert_string_equal(t, "hel");
    cc_free(&a);
    cc_free(&b);
    cc_free(&s);
    cc_free(&t);
    assert_null(a);
    cc_free_ptr(NULL);
    assert_null(cc_calloc(SIZE_MAX / 2, 4));
    assert_int_equal(cc_mem_live_bytes(), start);
}

static void test_strings(void **state)
{
    (void)state;
    int64_t start = cc_mem_live_bytes();
    char *s = cc_sprintf("%s-%d", "x", 42);
    assert_string_equal(s, "x-42");
    cc_free(&s);
    cc_buf b = {0};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(cc_buf_appendf(&b, "%d,", i % 10), CC_OK);
    assert_int_equal(b.len, 2000);
    assert_int_equal(cc_buf_append(&b, "end", 3), CC_OK);
    assert_int_equal(strlen(b.data), b.len);
    assert_memory_equal(b.data + b.len - 5, "9,end", 5);
    cc_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(cc_mem_live_bytes(), start);
    assert_string_equal(cc_strerror(CC_ERR_NOT_FOUND), "not found");
    assert_string_equal(cc_strerror(12345), "unknown error");
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_ids(void **state)
{
    (void)state;
    enum { N = 5000 };
    static char ids[N][CC_ID_LEN + 1];
    static char sorted[N][CC_ID_LEN + 1];
    for (int i = 0; i < N; i++) {
        cc_id_new(ids[i]);
        assert_int_equal(strlen(ids[i]), CC_ID_LEN);
        assert_int_equal(strspn(ids[i], "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), CC_ID_LEN);
        if (i)
            assert_true(strcmp(ids[i - 1], ids[i]) < 0); /* strictly increasing => unique */
    }
    memcpy(sorted, ids, sizeof ids);
    qsort(sorted, N, sizeof sorted[0], cmp_id);
    assert_memory_equal(sorted, ids, sizeof ids);

    /* An id from later is larger, and the first 10 chars encode the time. */
    char a[CC_ID_LEN + 1], b[CC_ID_LEN + 1];
    cc_id_new(a);
    usleep(3000);
    cc_id_new(b);
    assert_true(strncmp(a, b, 10) < 0);
    assert_true(a[0] <= '7'); /* top 2 bits of 130 are zero */
}

static void test_time(void **state)
{
    (void)state;
    char out[32];
    cc_time_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    cc_time_format(1795341600123LL, out);
    assert_string_equal(out, "2026-11-22T10:00:00.123Z");
    cc_time_format(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    cc_time_format(INT64_MAX, out);
    assert_int_equal(strlen(out), 24);
    int64_t m = cc_monotonic_ms();
    assert_true(cc_monotonic_ms() >= m);
    assert_true(cc_now_ms() > 1700000000000LL);
}

static void test_crypto(void **state)
{
    (void)state;
    char hex[CC_HASH_HEX_LEN + 1];
    cc_blake2b_hex("", 0, NULL, 0, hex);
    assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    char keyed[CC_HASH_HEX_LEN + 1];
    const uint8_t key[32] = {1, 2, 3};
    cc_blake2b_hex("", 0, key, sizeof key, keyed);
    assert_string_not_equal(hex, keyed);

    int64_t start = cc_mem_live_bytes();
    char *t = cc_random_token(32);
    assert_non_null(t);
    assert_int_equal(strlen(t), 43); /* ceil(32 * 4 / 3), no padding */
    assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     43);
    char *u = cc_random_token(32);
    assert_string_not_equal(t, u);
    cc_free(&t);
    cc_free(&u);
    t = cc_random_token(16);
    assert_int_equal(strlen(t), 22);
    cc_free(&t);
    assert_int_equal(cc_mem_live_bytes(), start);

    const uint8_t bytes[] = {0x00, 0xab, 0xff};
    char h[7];
    cc_hex_encode(bytes, 3, h);
    assert_string_equal(h, "00abff");
    assert_true(cc_memeq_ct("abc", "abc", 3));
    assert_false(cc_memeq_ct("abc", "abd", 3));
    assert_true(cc_memeq_ct("a", "b", 0));
}

static void expect_reject(const char *body, size_t n, size_t max, const char *reason)
{
    const char *why = NULL;
    json_t *j = cc_json_parse_object(body, n, max, &why);
    assert_null(j);
    assert_non_null(why);
    assert_string_equal(why, reason);
}

static void test_json_parse(void **state)
{
    (void)state;
    const char *why = "unchanged";
    const char *ok = "{\"a\": [1, {\"b\": \"x\"}], \"c\": null}";
    json_t *j = cc_json_parse_object(ok, strlen(ok), 1024, &why);
    assert_non_null(j);
    assert_null(why);
    json_decref(j);

    expect_reject(ok, strlen(ok), 10, "too large");
    expect_reject("[1,2]", 5, 100, "not a JSON object");
    expect_reject("\"x\"", 3, 100, "not a JSON object");
    expect_reject("", 0, 100, "invalid JSON");
    expect_reject("{\"a\":1", 6, 100, "invalid JSON");
    expect_reject("{\"a\":1} x", 9, 100, "invalid JSON");
    expect_reject("{\"a\":1,\"a\":2}", 13, 100, "duplicate key");
    expect_reject("{\"a\":\"x\0y\"}", 11, 100, "contains a NUL byte");
    expect_reject("{\"a\":\"\\u0000\"}", 14, 100, "invalid JSON");

    /* Depth 16 passes, 17 fails, and a huge depth fails fast without parsing. */
    char deep[4096];
    size_t n = 0;
    for (int d = 0; d < 16; d++)
        n += (size_t)sprintf(deep + n, "{\"k\":");
    n += (size_t)sprintf(deep + n, "1");
    for (int d = 0; d < 16; d++)
        deep[n++] = '}';
    j = cc_json_parse_object(deep, n, sizeof deep, &why);
    assert_non_null(j);
    json_decref(j);
    n = 0;
    for (int d = 0; d < 16; d++)
        n += (size_t)sprintf(deep + n, "{\"k\":");
    n += (size_t)sprintf(deep + n, "[1]");
    for (int d = 0; d < 16; d++)
        deep[n++] = '}';
    expect_reject(deep, n, sizeof deep, "nested too deeply");
    size_t big = 100000;
    char *huge = malloc(big);
    huge[0] = '{';
    memcpy(huge + 1, "\"a\":", 4);
    memset(huge + 5, '[', big - 5);
    expect_reject(huge, big, big, "nested too deeply");
    free(huge);
    /* Brackets inside strings do not count. */
    const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"{{{{{{{{{{{{{{{{{{{{{{{{\"}";
    j = cc_json_parse_object(s, strlen(s), 1024, &why);
    assert_non_null(j);
    json_decref(j);
}

static const cc_json_field login_fields[] = {
    {"username", CC_JSON_STRING, true, 1, 64}, {"password", CC_JSON_STRING, true, 1, 256},
    {"totp", CC_JSON_STRING, false, 0, 16},    {"remember", CC_JSON_BOOL, false, 0, 0},
    {"days", CC_JSON_INT, false, 1, 30},       {"meta", CC_JSON_OBJECT, false, 0, 0},
    {"tags", CC_JSON_ARRAY, false, 0, 0},
};

static void expect_invalid(const char *body, const char *msg)
{
    char why[256] = "";
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(cc_json_validate(j, login_fields, 7, why, sizeof why), CC_ERR_INVALID);
    assert_string_equal(why, msg);
    json_decref(j);
}

static void test_json_validate(void **state)
{
    (void)state;
    char why[256] = "";
    json_t *j = json_loads("{\"username\":\"alice\",\"password\":\"pw\",\"remember\":true,"
                           "\"days\":30,\"meta\":{},\"tags\":[],\"totp\":\"\"}",
                           0, NULL);
    assert_int_equal(cc_json_validate(j, login_fields, 7, why, sizeof why), CC_OK);
    json_decref(j);

    expect_invalid("{\"password\":\"pw\"}", "missing field 'username'");
    expect_invalid("{\"username\":5,\"password\":\"pw\"}",
                   "field 'username' must be a string of 1 to 64 bytes");
    expect_invalid("{\"username\":\"\",\"password\":\"pw\"}",
                   "field 'username' must be a string of 1 to 64 bytes");
    char body[200];
    snprintf(body, sizeof body, "{\"username\":\"%065d\",\"password\":\"pw\"}", 0);
    expect_invalid(body, "field 'username' must be a string of 1 to 64 bytes");
    expect_invalid("{\"username\":\"a\",\"password\":\"pw\",\"x\":1}", "unknown field 'x'");
    expect_invalid("{\"username\":\"a\",\"password\":\"pw\",\"days\":31}",
                   "field 'days' must be an integer between 1 and 30");
    expect_invalid("{\"username\":\"a\",\"password\":\"pw\",\"days\":\"3\"}",
                   "field 'days' must be an integer between 1 and 30");
    expect_invalid("{\"username\":\"a\",\"password\":\"pw\",\"remember\":1}",
                   "field 'remember' must be a boolean");
    expect_invalid("{\"username\":\"a\",\"password\":\"pw\",\"meta\":[]}",
                   "field 'meta' must be an object");
    expect_invalid("{\"username\":\"a\",\"password\":\"pw\",\"tags\":{}}",
                   "field 'tags' must be an array");
    expect_invalid("{\"username\":\"a\",\"password\":\"pw\",\"totp\":null}",
                   "field 'totp' must be a string of 0 to 16 bytes");
    expect_invalid("{\"username\":\"a\",\"password\":\"pw\",\"x\\ny\":1}", "unknown field 'x?y'");

    /* Strings built in code can hold a NUL or bad UTF-8: both are refused. */
    j = json_pack("{s:s,s:s%}", "username", "a", "password", "p\0w", (size_t)3);
    assert_int_equal(cc_json_validate(j, login_fields, 7, why, sizeof why), CC_ERR_INVALID);
    json_decref(j);
    j = json_object();
    json_object_set_new(j, "username", json_stringn_nocheck("\xff\xfe", 2));
    json_object_set_new(j, "password", json_string("pw"));
    assert_int_equal(cc_json_validate(j, login_fields, 7, why, sizeof why), CC_ERR_INVALID);
    json_decref(j);
    j = json_array();
    assert_int_equal(cc_json_validate(j, login_fields, 7, why, sizeof why), CC_ERR_INVALID);
    json_decref(j);
}

static void test_log(void **state)
{
    (void)state;
    cc_log_level lvl;
    assert_int_equal(cc_log_level_parse("warn", &lvl), CC_OK);
    assert_int_equal(lvl, CC_LOG_WARN);
    assert_int_equal(cc_log_level_parse("loud", &lvl), CC_ERR_INVALID);

    /* Capture stderr through a pipe and check the line's shape. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    cc_log_set_level(CC_LOG_INFO);
    cc_log(CC_LOG_DEBUG, "hidden", NULL);
    json_t *f = json_pack("{s:s,s:i,s:s}", "addr", "0.0.0.0:8443", "n", 3, "msg", "override");
    cc_log(CC_LOG_INFO, "listening", f);
    json_decref(f);
    cc_logf(CC_LOG_ERROR, "oops", "{s:s}", "why", "x\"y");
    cc_logf(CC_LOG_WARN, "bare", NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    char out[2048];
    ssize_t r = read(fds[0], out, sizeof out - 1);
    close(fds[0]);
    assert_true(r > 0);
    out[r] = '\0';
    char *save = NULL;
    char *line1 = strtok_r(out, "\n", &save);
    char *line2 = strtok_r(NULL, "\n", &save);
    char *line3 = strtok_r(NULL, "\n", &save);
    assert_non_null(line3);
    assert_null(strtok_r(NULL, "\n", &save));
    json_t *j = json_loads(line1, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "listening");
    assert_string_equal(json_string_value(json_object_get(j, "addr")), "0.0.0.0:8443");
    assert_int_equal(strlen(json_string_value(json_object_get(j, "ts"))), 24);
    assert_true(strncmp(line1, "{\"ts\":", 6) == 0);
    json_decref(j);
    j = json_loads(line2, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "why")), "x\"y");
    json_decref(j);
    assert_non_null(strstr(line3, "\"bare\""));
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/cc_test_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *sub = cc_sprintf("%s/a/b//c/", dir);
    assert_int_equal(cc_mkdir_p(sub), CC_OK);
    assert_int_equal(cc_mkdir_p(sub), CC_OK);
    struct stat st;
    char *leaf = cc_sprintf("%s/a/b/c", dir);
    assert_int_equal(stat(leaf, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    char *path = cc_sprintf("%s/f.txt", leaf);
    assert_int_equal(cc_file_write_atomic(path, "hello", 5, 0600), CC_OK);
    assert_int_equal(cc_file_write_atomic(path, "hello world", 11, 0640), CC_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    char *data = NULL;
    size_t n = 0;
    assert_int_equal(cc_file_read(path, 100, &data, &n), CC_OK);
    assert_int_equal(n, 11);
    assert_string_equal(data, "hello world");
    cc_free(&data);
    assert_int_equal(cc_file_read(path, 11, &data, &n), CC_OK);
    cc_free(&data);
    assert_int_equal(cc_file_read(path, 10, &data, &n), CC_ERR_TOO_BIG);
    assert_null(data);
    char *missing = cc_sprintf("%s/nope", dir);
    assert_int_equal(cc_file_read(missing, 10, &data, &n), CC_ERR_NOT_FOUND);
    assert_int_equal(cc_file_read(dir, 10, &data, &n), CC_ERR_IO);
    assert_int_equal(cc_mkdir_p(path), CC_ERR_EXISTS);

    char *cmd = cc_sprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    cc_free(&cmd);
    cc_free(&missing);
    cc_free(&path);
    cc_free(&leaf);
    cc_free(&sub);
}

/* Files that hold secrets: created once (a second creator keeps the first's content), private,
 * and read only while they stay private, whole and within their size. */
static void test_private_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/cc_test_XXXXXX", why[256], buf[8];
    size_t got = 99;
    struct stat st;
    assert_non_null(mkdtemp(dir));
    char *path = cc_sprintf("%s/secret", dir);
    assert_int_equal(
        cc_file_read_private(path, "the thing", buf, sizeof buf, &got, why, sizeof why),
        CC_ERR_NOT_FOUND);
    assert_int_equal(got, 0);
    assert_int_equal(cc_file_create_private(path, "first", 5, why, sizeof why), CC_OK);
    assert_int_equal(cc_file_create_private(path, "second", 6, why, sizeof why), CC_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(
        cc_file_read_private(path, "the thing", buf, sizeof buf, &got, why, sizeof why), CC_OK);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "first", 5);
    /* no temporary file left beside it */
    char *cmd = cc_sprintf("test $(ls -A '%s' | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    cc_free(&cmd);

    /* exactly the size fits; one byte more does not */
    assert_int_equal(cc_file_read_private(path, "the thing", buf, 5, &got, why, sizeof why), CC_OK);
    assert_int_equal(cc_file_read_private(path, "the thing", buf, 4, &got, why, sizeof why),
                     CC_ERR_TOO_BIG);
    /* readable by the group or others: refused, naming the file, its mode and what it holds */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(
        cc_file_read_private(path, "the thing", buf, sizeof buf, &got, why, sizeof why),
        CC_ERR_CONFIG);
    assert_non_null(strstr(why, "0640"));
    assert_non_null(strstr(why, "the thing"));
    assert_non_null(strstr(why, path));
    assert_int_equal(chmod(path, 0602), 0);
    assert_int_equal(
        cc_file_read_private(path, "the thing", buf, sizeof buf, &got, why, sizeof why),
        CC_ERR_CONFIG);
    /* not a regular file */
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(cc_file_read_private(dir, "the thing", buf, sizeof buf, &got, why, sizeof why),
                     CC_ERR_CONFIG);
    /* a folder that does not exist */
    char *nowhere = cc_sprintf("%s/no/such/secret", dir);
    assert_int_equal(cc_file_create_private(nowhere, "x", 1, why, sizeof why), CC_ERR_IO);
    assert_true(why[0] != '\0');

    cmd = cc_sprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    cc_free(&cmd);
    cc_free(&nowhere);
    cc_free(&path);
}

/* A rate limit (a session's requests, a WebSocket's messages): a burst at once, then the
 * sustained rate; refusals cost nothing, so a client that waits as told gets through; two
 * clients do not share a budget. */
static void test_rate(void **state)
{
    (void)state;
    int64_t s1 = 0, s2 = 0, s3 = 0;
    int64_t t = 5000000000LL;               /* a monotonic clock in microseconds */
    cc_rate r = cc_rate_per_minute(600, 5); /* 10 a second */
    for (int i = 0; i < 5; i++)
        assert_int_equal(cc_rate_take(&r, &s1, t), 0);
    int64_t wait = cc_rate_take(&r, &s1, t);
    assert_int_equal(wait, 100000); /* one unit's worth at 10 a second */
    /* Hammering while refused does not push the wait further. */
    for (int i = 0; i < 50; i++)
        assert_int_equal(cc_rate_take(&r, &s1, t), 100000);
    assert_int_equal(cc_rate_take(&r, &s2, t), 0);
    /* Just before the wait is over: still refused; at its end: one more, not two. */
    assert_true(cc_rate_take(&r, &s1, t + wait - 1) > 0);
    assert_int_equal(cc_rate_take(&r, &s1, t + wait), 0);
    assert_true(cc_rate_take(&r, &s1, t + wait) > 0);
    /* Sustained at the rate: every one passes. */
    int64_t u = t + wait;
    for (int i = 0; i < 100; i++) {
        u += 100000;
        assert_int_equal(cc_rate_take(&r, &s1, u), 0);
    }
    /* A quiet second refills the burst, and no more than the burst. */
    u += 1000000;
    for (int i = 0; i < 5; i++)
        assert_int_equal(cc_rate_take(&r, &s1, u), 0);
    assert_true(cc_rate_take(&r, &s1, u) > 0);
    /* 0 is no limit; a burst of 1 allows one at a time; the finest rate is one a microsecond. */
    r = cc_rate_per_minute(0, 600);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(cc_rate_take(&r, &s1, u), 0);
    r = cc_rate_per_minute(600000000, 0);
    assert_int_equal(r.interval_us, 1);
    assert_int_equal(cc_rate_take(&r, &s3, u), 0);
    assert_int_equal(cc_rate_take(&r, &s3, u), 1);
    /* The default request budget: 100 a second, 600 at once. */
    r = cc_rate_per_minute(6000, 600);
    assert_int_equal(r.interval_us, 10000);
    assert_int_equal(r.tolerance_us, 599 * 10000);
}

static void test_guesses(void **state)
{
    (void)state;
    cc_guesses *g = cc_guesses_new(3, 1000);
    assert_non_null(g);
    assert_false(cc_guesses_blocked(g, "10.0.0.1", 0));
    for (int i = 1; i <= 3; i++)
        assert_int_equal(cc_guesses_failed(g, "10.0.0.1", 100 * i), i);
    assert_true(cc_guesses_blocked(g, "10.0.0.1", 500));
    assert_false(cc_guesses_blocked(g, "10.0.0.2", 500)); /* others are not affected */
    /* the window counts from the first failure: once it has passed, the address may try again */
    assert_false(cc_guesses_blocked(g, "10.0.0.1", 1100));
    assert_int_equal(cc_guesses_failed(g, "10.0.0.1", 1100), 1);
    /* many addresses: old windows are swept, and the table stays bounded */
    char key[32];
    for (int i = 0; i < 12000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cc_guesses_failed(g, key, i < 10000 ? 0 : 5000);
    }
    assert_false(cc_guesses_blocked(g, "k0", 5000));
    assert_int_equal(cc_guesses_failed(g, "k11999", 5000), 2);
    cc_guesses_free(g);
    cc_guesses_free(NULL);
}

int main(void)
{
    if (cc_crypto_init() != CC_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_counter),   cmocka_unit_test(test_strings),
        cmocka_unit_test(test_ids),           cmocka_unit_test(test_time),
        cmocka_unit_test(test_crypto),        cmocka_unit_test(test_json_parse),
        cmocka_unit_test(test_json_validate), cmocka_unit_test(test_log),
        cmocka_unit_test(test_files),         cmocka_unit_test(test_private_files),
        cmocka_unit_test(test_guesses),       cmocka_unit_test(test_rate),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
