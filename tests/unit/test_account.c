/* Unit tests of the account module's in-memory rules: login throttling, the session cache's
 * expiry, restricted accounts and event visibility. No network and no store. */
#include "account/account_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static account *new_account(cc_config **cfg_out)
{
    char why[200];
    cc_config *cfg = cc_config_new();
    assert_int_equal(cc_config_register(cfg, account_config_keys, account_config_keys_count),
                     CC_OK);
    assert_int_equal(cc_config_set(cfg, "login_delay_after", "3", why, sizeof(why)), CC_OK);
    assert_int_equal(cc_config_set(cfg, "login_block_address_after", "6", why, sizeof(why)), CC_OK);
    account *a = cc_calloc(1, sizeof(*a));
    a->cfg = cfg;
    a->users = cc_map_new();
    a->sessions = cc_map_new();
    a->sessions_by_id = cc_map_new();
    a->throttle_ip = cc_map_new();
    a->throttle_user = cc_map_new();
    a->idle_ms = 60 * 60000;
    a->max_ms = 12 * 3600000LL;
    *cfg_out = cfg;
    return a;
}

static void free_account(account *a, cc_config *cfg)
{
    account_free(a);
    cc_config_free(cfg);
}

static void test_throttle_grows_then_blocks(void **state)
{
    (void)state;
    cc_config *cfg;
    account *a = new_account(&cfg);
    int64_t t = 1000000;
    /* The first failures cost nothing: people mistype. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(acct_throttle_check(a, "10.0.0.1", "alice", t), 0);
        acct_throttle_failure(a, "10.0.0.1", "alice", t);
    }
    acct_throttle_failure(a, "10.0.0.1", "alice", t);
    int64_t w1 = acct_throttle_check(a, "10.0.0.1", "alice", t);
    assert_true(w1 >= 1);
    /* Another user on another address is not affected. */
    assert_int_equal(acct_throttle_check(a, "10.0.0.2", "bob", t), 0);
    /* The delay doubles with each further failure. */
    t += w1 * 1000;
    assert_int_equal(acct_throttle_check(a, "10.0.0.1", "alice", t), 0);
    acct_throttle_failure(a, "10.0.0.1", "alice", t);
    int64_t w2 = acct_throttle_check(a, "10.0.0.1", "alice", t);
    assert_true(w2 >= 2 * w1);
    /* An address that failed login_block_address_after times is blocked for the window, even
     * for another username. */
    for (int i = 0; i < 3; i++)
        acct_throttle_failure(a, "10.0.0.1", "carol", t);
    int64_t blocked = acct_throttle_check(a, "10.0.0.1", "dave", t);
    assert_true(blocked >= 14 * 60);
    /* The window ends: everything is forgotten. */
    t += 16 * 60000;
    assert_int_equal(acct_throttle_check(a, "10.0.0.1", "dave", t), 0);
    free_account(a, cfg);
}

static void test_throttle_counts_parallel_attempts(void **state)
{
    (void)state;
    cc_config *cfg;
    account *a = new_account(&cfg);
    int64_t t = 5000000;
    /* Guesses in flight count against the username before their outcome is known. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(acct_throttle_check(a, "10.0.0.9", "erin", t), 0);
        acct_throttle_reserve(a, "10.0.0.9", "erin");
    }
    assert_true(acct_throttle_check(a, "10.0.0.9", "erin", t) >= 1);
    for (int i = 0; i < 3; i++)
        acct_throttle_release(a, "10.0.0.9", "erin");
    assert_int_equal(acct_throttle_check(a, "10.0.0.9", "erin", t), 0);
    free_account(a, cfg);
}

static void add_session(account *a, const char *id, const char *hash, int64_t created, int64_t seen)
{
    auth_session s;
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "%s", id);
    snprintf(s.token_hash, sizeof(s.token_hash), "%s", hash);
    snprintf(s.user_id, sizeof(s.user_id), "U0000000000000000000000001");
    s.created_at = created;
    s.last_seen_at = seen;
    s.expires_at = created + a->max_ms;
    assert_int_equal(acct_session_add(a, &s), CC_OK);
}

static void test_session_expiry(void **state)
{
    (void)state;
    cc_config *cfg;
    account *a = new_account(&cfg);
    int64_t t0 = 1800000000000LL;
    add_session(a, "S0000000000000000000000001", "h1", t0, t0);
    assert_non_null(acct_session_find(a, "h1", t0 + 59 * 60000));
    /* Idle for longer than session_idle_minutes: gone. */
    assert_null(acct_session_find(a, "h1", t0 + 61 * 60000));
    /* Used regularly, it still ends at the absolute limit. */
    add_session(a, "S0000000000000000000000002", "h2", t0, t0 + a->max_ms - 1000);
    assert_non_null(acct_session_find(a, "h2", t0 + a->max_ms - 500));
    assert_null(acct_session_find(a, "h2", t0 + a->max_ms));
    assert_null(acct_session_find(a, "unknown", t0));
    /* Dropping by id removes it from both indexes. */
    acct_session_drop(a, "S0000000000000000000000002");
    assert_null(cc_map_get(a->sessions, "h2"));
    free_account(a, cfg);
}

static void test_restriction_and_visibility(void **state)
{
    (void)state;
    cc_config *cfg;
    account *a = new_account(&cfg);
    const char *msg;
    auth_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "U0000000000000000000000001");
    u.role = ROLE_NURSE;
    u.must_change_password = true;
    assert_string_equal(acct_restriction(&u, &msg), "password_change_required");
    u.must_change_password = false;
    assert_string_equal(acct_restriction(&u, &msg), "totp_enrolment_required");
    u.totp_enabled = true;
    assert_null(acct_restriction(&u, &msg));
    u.role = ROLE_IT_SUPPORT;
    u.totp_enabled = false;
    /* it_support sees no patient record, but messages can carry patient data. */
    assert_string_equal(acct_restriction(&u, &msg), "totp_enrolment_required");

    u.role = ROLE_NURSE;
    acct_user_put(a, &u);
    acct_principal p;
    memset(&p, 0, sizeof(p));
    memcpy(p.user_id, u.id, sizeof(p.user_id));
    assert_true(acct_visible(a, &p, "all"));
    assert_true(acct_visible(a, &p, "user:U0000000000000000000000001"));
    assert_false(acct_visible(a, &p, "user:U0000000000000000000000002"));
    assert_false(acct_visible(a, &p, "perm:users.read"));
    assert_false(acct_visible(a, &p, "internal"));
    assert_false(acct_visible(a, &p, "channel:42")); /* unknown scopes are private */
    /* The live role counts: promoted to admin, the same socket sees admin events. */
    u.role = ROLE_ADMIN;
    acct_user_put(a, &u);
    assert_true(acct_visible(a, &p, "perm:users.read"));
    u.disabled = true;
    acct_user_put(a, &u);
    assert_false(acct_visible(a, &p, "perm:users.read"));
    free_account(a, cfg);
}

/* A module's scope: in "conv:<id>", members only; the live role must hold the permission. */
static bool only_conv_7(void *ud, const char *user_id, const char *scope)
{
    int *calls = ud;
    (*calls)++;
    return strcmp(scope, "conv:7") == 0 && strcmp(user_id, "U0000000000000000000000001") == 0;
}

static void test_module_scopes(void **state)
{
    (void)state;
    cc_config *cfg;
    account *a = new_account(&cfg);
    int calls = 0;
    auth_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "U0000000000000000000000001");
    u.role = ROLE_NURSE;
    acct_user_put(a, &u);
    acct_principal p;
    memset(&p, 0, sizeof(p));
    memcpy(p.user_id, u.id, sizeof(p.user_id));
    assert_false(acct_visible(a, &p, "conv:7")); /* nobody resolves it yet */
    assert_int_equal(account_add_scope(a, "conv:", PERM_MESSAGES, only_conv_7, &calls), CC_OK);
    assert_int_equal(account_add_scope(a, "", PERM_MESSAGES, only_conv_7, &calls), CC_ERR_INVALID);
    assert_true(acct_visible(a, &p, "conv:7"));
    assert_false(acct_visible(a, &p, "conv:8"));
    assert_false(acct_visible(a, &p, "convx"));
    assert_int_equal(calls, 2);
    u.disabled = true;
    acct_user_put(a, &u);
    assert_false(acct_visible(a, &p, "conv:7"));
    assert_int_equal(calls, 2); /* a disabled account is refused before the module is asked */
    assert_string_equal(account_principal_user_id(&p), u.id);
    free_account(a, cfg);
}

static void test_temp_password(void **state)
{
    (void)state;
    char a[24], b[24];
    acct_temp_password(a);
    acct_temp_password(b);
    assert_int_equal(strlen(a), 23);
    assert_string_not_equal(a, b);
    const char *why;
    assert_int_equal(auth_password_policy(a, "someone", &why), CC_OK);
}

int main(void)
{
    cc_crypto_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_throttle_grows_then_blocks),
        cmocka_unit_test(test_throttle_counts_parallel_attempts),
        cmocka_unit_test(test_session_expiry),
        cmocka_unit_test(test_restriction_and_visibility),
        cmocka_unit_test(test_module_scopes),
        cmocka_unit_test(test_temp_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
