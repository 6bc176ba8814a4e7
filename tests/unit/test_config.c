/* Unit tests for the configuration engine: parsing, errors with line numbers, environment
 * override, masking of secrets, documentation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cc_cfg_key test_keys[] = {
    {"listen_port", CC_CFG_INT, "8443", 1, 65535, false, "TCP port for HTTPS"},
    {"name", CC_CFG_STRING, NULL, 0, 0, false, "Display name | with a pipe"},
    {"tls", CC_CFG_BOOL, "true", 0, 0, false, "Serve TLS"},
    {"smtp_password", CC_CFG_STRING, "dev-secret", 0, 0, true, "SMTP password"},
    {"offset", CC_CFG_INT, "0", 0, 0, false, "Any integer"},
};
#define NKEYS (sizeof test_keys / sizeof test_keys[0])

static int setup(void **state)
{
    cc_config *cfg = cc_config_new();
    if (!cfg || cc_config_register(cfg, core_config_keys, core_config_keys_count) != CC_OK ||
        cc_config_register(cfg, test_keys, NKEYS) != CC_OK)
        return -1;
    *state = cfg;
    return 0;
}

static int teardown(void **state)
{
    cc_config_free(*state);
    return 0;
}

static int parse(cc_config *cfg, const char *text, char *why, size_t whylen)
{
    return cc_config_parse(cfg, text, strlen(text), why, whylen);
}

static void test_defaults(void **state)
{
    cc_config *cfg = *state;
    assert_string_equal(cc_config_str(cfg, "data_dir"), "./data");
    assert_string_equal(cc_config_str(cfg, "log_level"), "info");
    assert_int_equal(cc_config_int(cfg, "listen_port"), 8443);
    assert_true(cc_config_bool(cfg, "tls"));
    assert_null(cc_config_str(cfg, "name"));
    assert_int_equal(cc_config_register(cfg, test_keys, 1), CC_ERR_EXISTS);
}

static void test_parse_happy(void **state)
{
    cc_config *cfg = *state;
    char why[256] = "";
    const char *text = "# carecomm test\r\n"
                       "\n"
                       "   listen_port   =   9000   \n"
                       "\tname = \"Hôpital \\\"Nord\\\" \\\\ # not a comment\"  \r\n"
                       "  # indented comment\n"
                       "tls = off\n"
                       "data_dir = /var/lib/carecomm # kept\n"
                       "offset = -9223372036854775808\n"
                       "log_level = debug";
    assert_int_equal(parse(cfg, text, why, sizeof why), CC_OK);
    assert_int_equal(cc_config_int(cfg, "listen_port"), 9000);
    assert_string_equal(cc_config_str(cfg, "name"), "Hôpital \"Nord\" \\ # not a comment");
    assert_false(cc_config_bool(cfg, "tls"));
    assert_string_equal(cc_config_str(cfg, "data_dir"), "/var/lib/carecomm # kept");
    assert_int_equal(cc_config_int(cfg, "offset"), INT64_MIN);
    assert_string_equal(cc_config_str(cfg, "log_level"), "debug");

    const char *bools[] = {"true", "yes", "on", "1", "TRUE", "false", "no", "off", "0"};
    for (int i = 0; i < 9; i++) {
        char line[64];
        cc_config *c2 = cc_config_new();
        cc_config_register(c2, test_keys, NKEYS);
        snprintf(line, sizeof line, "tls=%s", bools[i]);
        assert_int_equal(parse(c2, line, why, sizeof why), CC_OK);
        assert_int_equal(cc_config_bool(c2, "tls"), i < 5);
        cc_config_free(c2);
    }
    assert_int_equal(parse(cfg, "name =\nname2_is_not_here = 1", why, sizeof why), CC_ERR_CONFIG);
    assert_string_equal(cc_config_str(cfg, "name"), "");
    assert_string_equal(why, "line 2: unknown key 'name2_is_not_here'");
}

static void expect_error(const char *text, const char *msg)
{
    cc_config *cfg = NULL;
    assert_int_equal(setup((void **)&cfg), 0);
    char why[256] = "";
    assert_int_not_equal(parse(cfg, text, why, sizeof why), CC_OK);
    assert_string_equal(why, msg);
    cc_config_free(cfg);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error("# x\n\n\nfoo = 1\n", "line 4: unknown key 'foo'");
    expect_error("listen_port = 80x",
                 "line 1: 'listen_port' must be an integer between 1 and 65535");
    expect_error("listen_port = ", "line 1: 'listen_port' must be an integer between 1 and 65535");
    expect_error("\n\n\n\nlisten_port = 65536",
                 "line 5: 'listen_port' must be an integer between 1 and 65535");
    expect_error("listen_port = 0", "line 1: 'listen_port' must be an integer between 1 and 65535");
    expect_error("listen_port = 99999999999999999999999",
                 "line 1: 'listen_port' must be an integer between 1 and 65535");
    expect_error("listen_port = +80",
                 "line 1: 'listen_port' must be an integer between 1 and 65535");
    expect_error("offset = 9223372036854775808", "line 1: 'offset' must be an integer");
    expect_error("tls = maybe",
                 "line 1: 'tls' must be a boolean (true/false, yes/no, on/off, 1/0)");
    expect_error("log_level = loud", "line 1: 'log_level' must be one of debug, info, warn, error");
    expect_error("name = \"abc", "line 1: unterminated quoted value");
    expect_error("name = \"abc\\\"", "line 1: unterminated quoted value");
    expect_error("name = \"abc\" def", "line 1: unexpected text after the closing quote");
    expect_error("name = \"a\\nb\"",
                 "line 1: invalid escape in quoted value (only \\\" and \\\\ are allowed)");
    expect_error("just words", "line 1: expected 'key = value'");
    expect_error("= value", "line 1: missing key before '='");
    expect_error("Name = x", "line 1: invalid key name (use a-z, 0-9 and _)");
    expect_error("na me = x", "line 1: invalid key name (use a-z, 0-9 and _)");
    expect_error("name = a\nname = b", "line 2: 'name' already set on line 1");
}

static void test_overlong(void **state)
{
    cc_config *cfg = *state;
    char why[256] = "";
    char *text = malloc(5000);
    memcpy(text, "name = ", 7);
    memset(text + 7, 'x', 4096 - 7);
    text[4096] = '\0';
    assert_int_equal(parse(cfg, text, why, sizeof why), CC_OK); /* exactly 4096 is fine */
    memcpy(text, "\nname = ", 8);
    memset(text + 8, 'y', 4097 - 7);
    text[4098] = '\0';
    assert_int_equal(parse(cfg, text, why, sizeof why), CC_ERR_CONFIG);
    assert_string_equal(why, "line 2: longer than 4096 bytes");
    free(text);

    size_t big = 1024 * 1024 + 1;
    text = malloc(big);
    memset(text, '\n', big);
    assert_int_equal(cc_config_parse(cfg, text, big, why, sizeof why), CC_ERR_TOO_BIG);
    free(text);
    assert_int_equal(cc_config_parse(cfg, "name = a\0b", 10, why, sizeof why), CC_ERR_CONFIG);
    assert_string_equal(why, "line 1: contains a NUL byte");
}

static void test_env_override(void **state)
{
    cc_config *cfg = *state;
    char why[256] = "";
    assert_int_equal(parse(cfg, "listen_port = 9000\nname = file", why, sizeof why), CC_OK);
    setenv("CARECOMM_LISTEN_PORT", "9443", 1);
    setenv("CARECOMM_DATA_DIR", "/srv/cc", 1);
    assert_int_equal(cc_config_load_env(cfg, why, sizeof why), CC_OK);
    assert_int_equal(cc_config_int(cfg, "listen_port"), 9443);
    assert_string_equal(cc_config_str(cfg, "data_dir"), "/srv/cc");
    assert_string_equal(cc_config_str(cfg, "name"), "file");

    json_t *d = cc_config_dump(cfg);
    json_t *lp = json_object_get(d, "listen_port");
    assert_int_equal(json_integer_value(json_object_get(lp, "value")), 9443);
    assert_string_equal(json_string_value(json_object_get(lp, "source")), "env");
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "name"), "source")),
                        "file");
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "tls"), "source")),
                        "default");
    json_decref(d);

    setenv("CARECOMM_TLS", "sometimes", 1);
    assert_int_equal(cc_config_load_env(cfg, why, sizeof why), CC_ERR_CONFIG);
    assert_string_equal(why,
                        "CARECOMM_TLS: 'tls' must be a boolean (true/false, yes/no, on/off, 1/0)");
    unsetenv("CARECOMM_TLS");
    unsetenv("CARECOMM_LISTEN_PORT");
    unsetenv("CARECOMM_DATA_DIR");
}

static void test_dump_and_set(void **state)
{
    cc_config *cfg = *state;
    char why[256] = "";
    json_t *d = cc_config_dump(cfg);
    json_t *pw = json_object_get(json_object_get(d, "smtp_password"), "value");
    assert_string_equal(json_string_value(pw), "********");
    assert_true(json_is_null(json_object_get(json_object_get(d, "name"), "value")));
    assert_true(json_is_true(json_object_get(json_object_get(d, "tls"), "value")));
    char *s = json_dumps(d, 0);
    assert_null(strstr(s, "dev-secret"));
    free(s);
    json_decref(d);

    assert_int_equal(cc_config_set(cfg, "smtp_password", "hunter2", why, sizeof why), CC_OK);
    d = cc_config_dump(cfg);
    s = json_dumps(d, 0);
    assert_null(strstr(s, "hunter2"));
    assert_non_null(strstr(s, "\"set\""));
    free(s);
    json_decref(d);
    assert_string_equal(cc_config_str(cfg, "smtp_password"), "hunter2");
    assert_int_equal(cc_config_set(cfg, "nope", "1", why, sizeof why), CC_ERR_NOT_FOUND);
    assert_int_equal(cc_config_set(cfg, "listen_port", "70000", why, sizeof why), CC_ERR_CONFIG);
    assert_int_equal(cc_config_int(cfg, "listen_port"), 8443); /* unchanged on failure */
}

static int check_even(const char *value, char *why, size_t whylen)
{
    if (strlen(value) % 2 == 0)
        return CC_OK;
    snprintf(why, whylen, "must have an even length");
    return CC_ERR_CONFIG;
}

static void test_check_hook(void **state)
{
    cc_config *cfg = *state;
    char why[256] = "";
    assert_int_equal(cc_config_set_check(cfg, "data_dir", check_even, why, sizeof why),
                     CC_OK); /* "./data" has 6 bytes */
    assert_int_equal(parse(cfg, "data_dir = abc", why, sizeof why), CC_ERR_CONFIG);
    assert_string_equal(why, "line 1: 'data_dir' must have an even length");
    assert_int_equal(cc_config_set_check(cfg, "missing", check_even, why, sizeof why),
                     CC_ERR_NOT_FOUND);
}

static void test_doc(void **state)
{
    cc_config *cfg = *state;
    char *doc = cc_config_doc(cfg);
    assert_non_null(doc);
    assert_true(strncmp(doc, "# Configuration\n\n", 17) == 0);
    assert_non_null(strstr(doc, "`--config PATH`"));
    assert_non_null(strstr(doc, "| key | env | type | default | description |\n|---|"));
    assert_non_null(strstr(doc, "| `data_dir` | `CARECOMM_DATA_DIR` | string | `./data` | "
                                "Folder holding the database, keys, certificates and logs |\n"));
    assert_non_null(strstr(doc, "| `listen_port` | `CARECOMM_LISTEN_PORT` | integer 1..65535 | "
                                "`8443` |"));
    assert_non_null(strstr(doc, "Display name \\| with a pipe"));
    assert_non_null(strstr(doc, "| `name` | `CARECOMM_NAME` | string | (none) |"));
    assert_null(strstr(doc, "dev-secret"));
    assert_non_null(strstr(doc, "SMTP password (secret) |"));
    cc_free(&doc);
}

static void test_load_file(void **state)
{
    cc_config *cfg = *state;
    char why[256] = "";
    char path[] = "/tmp/cc_conf_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "listen_port = 1234\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(cc_config_load_file(cfg, path, why, sizeof why), CC_OK);
    assert_int_equal(cc_config_int(cfg, "listen_port"), 1234);
    unlink(path);
    assert_int_equal(cc_config_load_file(cfg, path, why, sizeof why), CC_ERR_NOT_FOUND);
}

int main(void)
{
    int64_t start = cc_mem_live_bytes();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_happy, setup, teardown),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test_setup_teardown(test_overlong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_and_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_file, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("config", tests, NULL, NULL);
    if (cc_mem_live_bytes() != start) {
        fprintf(stderr, "config: %lld bytes leaked\n", (long long)(cc_mem_live_bytes() - start));
        failed++;
    }
    return failed;
}
