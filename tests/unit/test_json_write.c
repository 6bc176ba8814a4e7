/* cc_json_write must produce JSON that reads back as the same value, and the same text as
 * jansson's compact writer for the values our API produces (reals may be spelled differently:
 * shortest text that reads back exactly). */
#include "auth/auth.h"
#include "core/core.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static char *write_text(const json_t *v)
{
    cc_buf b = {0};
    assert_int_equal(cc_json_write(&b, v), CC_OK);
    return b.data;
}

static void check_same_as_jansson(const char *json_in)
{
    json_t *v = json_loads(json_in, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    char *ours = write_text(v);
    char *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(ours, theirs);
    json_t *back = json_loads(ours, JSON_DECODE_ANY, NULL);
    assert_true(json_equal(v, back));
    json_decref(back);
    free(theirs);
    cc_free(&ours);
    json_decref(v);
}

static void test_like_jansson(void **state)
{
    (void)state;
    check_same_as_jansson(
        "{\"user\":{\"id\":\"01M80\",\"name\":\"Dr Émile Çaça\",\"n\":42,"
        "\"ok\":true,\"no\":false,\"x\":null},\"list\":[1,-2,3000000000000,[],{}]}");
    check_same_as_jansson("\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r\"");
    check_same_as_jansson("\"\\u0001\\u001f\\b\\f control characters\"");
    check_same_as_jansson("\"emoji \\ud83d\\ude00 and \\u00e9\"");
    check_same_as_jansson("{}");
    check_same_as_jansson("[]");
}

static void test_keys_escaped_and_nul(void **state)
{
    (void)state;
    json_t *o = json_object();
    json_object_set_new(o, "a\"b", json_stringn("x\0y", 3));
    char *t = write_text(o);
    assert_string_equal(t, "{\"a\\\"b\":\"x\\u0000y\"}");
    json_t *back = json_loads(t, JSON_ALLOW_NUL, NULL);
    assert_true(json_equal(o, back));
    json_decref(back);
    cc_free(&t);
    json_decref(o);
}

static void test_reals_read_back_exactly(void **state)
{
    (void)state;
    double vals[] = {0.1, 1.0 / 3.0, 123456789.125, -0.0, 5e-324, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        json_t *v = json_real(vals[i]);
        char *t = write_text(v);
        json_t *back = json_loads(t, JSON_DECODE_ANY, NULL);
        assert_non_null(back);
        assert_true(json_is_real(back));
        assert_true(json_real_value(back) == vals[i]);
        json_decref(back);
        cc_free(&t);
        json_decref(v);
    }
}

static void test_jw_like_tree(void **state)
{
    (void)state;
    /* auth_user_write (GET /api/v1/me) and auth_user_json (lists, events) say the same. */
    auth_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "01M80CRAVV7SBYFTHGPMFSCHGE");
    snprintf(u.username, sizeof(u.username), "c.martin");
    snprintf(u.display_name, sizeof(u.display_name), "Dr Cécile \"Cé\" Martin");
    u.role = ROLE_PRACTITIONER;
    u.totp_enabled = true;
    u.created_at = 1795309710203LL;
    cc_buf text = {0};
    cc_jw w;
    cc_jw_init(&w, &text);
    cc_jw_obj_begin(&w, NULL);
    auth_user_write(&w, "user", &u);
    cc_jw_arr_begin(&w, "list");
    cc_jw_int(&w, NULL, -42);
    cc_jw_null(&w, NULL);
    cc_jw_str(&w, NULL, NULL);
    cc_jw_arr_end(&w);
    cc_jw_obj_end(&w);
    assert_int_equal(cc_jw_finish(&w), CC_OK);
    json_t *got = json_loads(text.data, 0, NULL);
    assert_non_null(got);
    json_t *want = json_pack("{s:o,s:[i,n,n]}", "user", auth_user_json(&u), "list", -42);
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    cc_buf_free(&text);

    /* A key that needs escaping takes the careful way; plain keys the quick one. */
    cc_jw_init(&w, &text);
    cc_jw_obj_begin(&w, NULL);
    cc_jw_int(&w, "plain", 1);
    cc_jw_str(&w, "quote\"back\\slash\nline", "v");
    cc_jw_bool(&w, "", true);
    cc_jw_raw(&w, "raw", "[1,{\"a\":null}]", 14);
    cc_jw_obj_end(&w);
    assert_int_equal(cc_jw_finish(&w), CC_OK);
    assert_string_equal(
        text.data,
        "{\"plain\":1,\"quote\\\"back\\\\slash\\nline\":\"v\",\"\":true,\"raw\":[1,{\"a\":null}]}");
    cc_buf_free(&text);

    /* Unbalanced containers are reported, not written silently. */
    cc_jw_init(&w, &text);
    cc_jw_obj_begin(&w, NULL);
    assert_int_equal(cc_jw_finish(&w), CC_ERR_INTERNAL);
    cc_buf_free(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_like_jansson),
        cmocka_unit_test(test_keys_escaped_and_nul),
        cmocka_unit_test(test_reals_read_back_exactly),
        cmocka_unit_test(test_jw_like_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
