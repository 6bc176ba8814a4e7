/* Unit tests of net's pure parts: the event WebSocket message parser; and of core's map. */
#include "net/net.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static int parse(const char *text, net_ws_msg *m, char *why)
{
    return net_ws_msg_parse(text, strlen(text), m, why, 160);
}

static void test_ws_hello(void **state)
{
    (void)state;
    net_ws_msg m;
    char why[160];
    assert_int_equal(parse("{\"type\":\"hello\"}", &m, why), CC_OK);
    assert_int_equal(m.type, NET_WS_MSG_HELLO);
    assert_false(m.has_last_seq);
    assert_int_equal(parse("{\"type\":\"hello\",\"last_seq\":1234567890123}", &m, why), CC_OK);
    assert_true(m.has_last_seq);
    assert_int_equal(m.last_seq, 1234567890123LL);
    assert_int_equal(parse("{\"type\":\"hello\",\"last_seq\":0}", &m, why), CC_OK);
    assert_int_equal(m.last_seq, 0);
}

static void test_ws_ping(void **state)
{
    (void)state;
    net_ws_msg m;
    char why[160];
    assert_int_equal(parse("{\"type\":\"ping\",\"id\":\"abc\"}", &m, why), CC_OK);
    assert_int_equal(m.type, NET_WS_MSG_PING);
    assert_string_equal(m.ping_id, "abc");
    assert_int_equal(parse("{\"type\":\"ping\"}", &m, why), CC_OK);
    assert_string_equal(m.ping_id, "");
}

static void test_ws_module_message(void **state)
{
    (void)state;
    net_ws_msg m;
    char why[160];
    /* Any other well-formed type is a module's message, handed over whole. */
    assert_int_equal(parse("{\"type\":\"typing\",\"conversation\":\"x\"}", &m, why), CC_OK);
    assert_int_equal(m.type, NET_WS_MSG_OTHER);
    assert_string_equal(m.other, "typing");
    assert_non_null(m.obj);
    assert_string_equal(json_string_value(json_object_get(m.obj, "conversation")), "x");
    net_ws_msg_clear(&m);
    assert_null(m.obj);
    assert_int_equal(parse("{\"type\":\"a.b_c9\"}", &m, why), CC_OK);
    assert_int_equal(m.type, NET_WS_MSG_OTHER);
    net_ws_msg_clear(&m);
}

static void test_ws_refused(void **state)
{
    (void)state;
    net_ws_msg m;
    char why[160];
    const char *bad[] = {
        "",
        "[]",
        "{\"type\":\"hello\"",
        "{\"type\":1}",
        "{\"type\":\"Subscribe\"}",
        "{\"type\":\"\"}",
        "{\"type\":\"0123456789abcdef0123456789abcdef0\"}",
        "{\"type\":\"a b\"}",
        "{\"type\":\"hello\",\"last_seq\":-1}",
        "{\"type\":\"hello\",\"last_seq\":\"12\"}",
        "{\"type\":\"hello\",\"last_seq\":1.5}",
        "{\"type\":\"hello\",\"extra\":true}",
        "{\"type\":\"ping\",\"id\":12}",
        "{\"type\":\"ping\",\"id\":"
        "\"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
        "{\"type\":\"hello\",\"type\":\"ping\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(parse(bad[i], &m, why), CC_ERR_INVALID);
        assert_true(strlen(why) > 0);
    }
    /* A NUL inside is refused rather than truncated. */
    assert_int_equal(net_ws_msg_parse("{\"type\":\"hello\"}\0x", 18, &m, why, sizeof(why)),
                     CC_ERR_INVALID);
}

static void free_value(void *v)
{
    cc_free_ptr(v);
}

static bool drop_odd(void *ud, const char *key, void *value)
{
    (void)ud;
    (void)key;
    bool odd = *(int *)value % 2 == 1;
    if (odd)
        cc_free_ptr(value);
    return odd;
}

static void test_map(void **state)
{
    (void)state;
    int64_t before = cc_mem_live_bytes();
    cc_map *m = cc_map_new();
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int *v = cc_malloc(sizeof(int));
        *v = i;
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(cc_map_put(m, key, v, NULL), CC_OK);
    }
    assert_int_equal(cc_map_count(m), 5000);
    assert_int_equal(*(int *)cc_map_get(m, "k4321"), 4321);
    assert_null(cc_map_get(m, "k5000"));
    int *old = NULL, *nv = cc_malloc(sizeof(int));
    *nv = 7;
    assert_int_equal(cc_map_put(m, "k7", nv, (void **)&old), CC_OK);
    assert_int_equal(*old, 7);
    cc_free(&old);
    assert_int_equal(cc_map_count(m), 5000);
    int *removed = cc_map_remove(m, "k10");
    assert_int_equal(*removed, 10);
    cc_free(&removed);
    assert_null(cc_map_remove(m, "k10"));
    cc_map_sweep(m, drop_odd, NULL);
    assert_int_equal(cc_map_count(m), 2499);
    assert_null(cc_map_get(m, "k11"));
    assert_non_null(cc_map_get(m, "k12"));
    cc_map_free(m, free_value);
    assert_int_equal(cc_mem_live_bytes(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_hello),
        cmocka_unit_test(test_ws_ping),
        cmocka_unit_test(test_ws_module_message),
        cmocka_unit_test(test_ws_refused),
        cmocka_unit_test(test_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
