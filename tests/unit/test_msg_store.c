/* Unit tests of msg's SQL against both backends (SQLite in a temporary folder, PostgreSQL in a
 * fresh database of CARECOMM_TEST_PG): the search index and its prefix ranges (bytewise on both,
 * whatever PostgreSQL's locale), membership changes and their events, redaction of the log. */
#include "msg/msg_internal.h"

#include <fcntl.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- backends ------------------------------------------------------------------------------ */

#include "store_test_backend.h"

/* ---- fixtures ------------------------------------------------------------------------------ */

static store *g_st;
static msg g_msg;
static auth_keys g_keys;

#define CONV "0CONV000000000000000000001"
#define ALICE "0USER00000000000000000000A"
#define BOB "0USER00000000000000000000B"
#define CAROL "0USER00000000000000000000C"

static void add_user(const char *id, const char *name)
{
    store_val p[] = {SV_TEXT(id),  SV_TEXT(name), SV_TEXT(name), SV_TEXT("nurse"),
                     SV_TEXT("x"), SV_INT(1),     SV_INT(1)};
    assert_int_equal(
        store_exec(g_st,
                   "INSERT INTO users(id, username, display_name, role, "
                   "password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   p, 7, NULL),
        CC_OK);
}

static int setup(void **state)
{
    (void)state;
    if (tb_open(&g_st) != CC_OK)
        return -1;
    static const char *const clean[] = {
        "DELETE FROM msg_terms", "DELETE FROM msg_members", "DELETE FROM msg_messages",
        "DELETE FROM msg_acks",  "DELETE FROM msg_events",  "DELETE FROM msg_conversations",
        "DELETE FROM events",    "DELETE FROM audit",       "DELETE FROM users",
    };
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++)
        if (store_exec(g_st, clean[i], NULL, 0, NULL) != CC_OK)
            return -1;
    memset(&g_msg, 0, sizeof(g_msg));
    g_msg.keys = &g_keys;
    add_user(ALICE, "alice");
    add_user(BOB, "bob");
    add_user(CAROL, "carol");
    store_val p[] = {SV_TEXT(CONV), SV_TEXT(ALICE)};
    return store_exec(g_st,
                      "INSERT INTO msg_conversations(id, kind, name, visibility, created_by, "
                      "created_at, updated_at, last_message_at) VALUES (?, 'channel', 'c', "
                      "'private', ?, 1, 1, 1)",
                      p, 2, NULL) == CC_OK
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    store_close(g_st);
    g_st = NULL;
    return 0;
}

/* Ids of the messages having a term that starts with prefix, as search queries it. */
static int collect_id(void *ud, const store_row *r)
{
    char *out = ud;
    size_t o = strlen(out);
    snprintf(out + o, 256 - o, "%s%s", o ? "," : "", store_row_text(r, 0));
    return 0;
}

static const char *find(const char *prefix)
{
    static char out[256];
    char end[64];
    out[0] = '\0';
    snprintf(end, sizeof(end), "%s\xf4\x8f\xbf\xbf", prefix);
    store_val p[] = {SV_TEXT(prefix), SV_TEXT(end)};
    assert_int_equal(store_query(g_st,
                                 "SELECT DISTINCT message_id FROM msg_terms WHERE term >= ? AND "
                                 "term < ? ORDER BY message_id",
                                 p, 2, collect_id, out),
                     CC_OK);
    return out;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_terms_and_prefix_ranges(void **state)
{
    (void)state;
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(msg__index_terms(g_st, "M1", CONV, "Fièvre ÉLEVÉE, œdème; Привет"), CC_OK);
    assert_int_equal(msg__index_terms(g_st, "M2", CONV, "fievre fievre Elephant zèbre"), CC_OK);
    assert_int_equal(msg__index_terms(g_st, "M3", CONV, "ZZZ {curly} ~tilde~ élévation"), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    /* Folded terms, each once per message, found by any prefix; bytewise on both backends: a
     * locale collation would put "é..." or "{" or "~" inside [e, e+U+10FFFF). */
    assert_string_equal(find("fievre"), "M1,M2");
    assert_string_equal(find("fie"), "M1,M2");
    assert_string_equal(find("el"), "M1,M2,M3");
    assert_string_equal(find("ele"), "M1,M2,M3");
    assert_string_equal(find("elep"), "M2");
    assert_string_equal(find("oedeme"), "M1");
    assert_string_equal(find("при"), "M1");
    assert_string_equal(find("zz"), "M3");
    assert_string_equal(find("curly"), "M3");
    assert_string_equal(find("tilde"), "M3");
    assert_string_equal(find("x"), "");
    int64_t n = 0;
    assert_int_equal(store_query_int(g_st, "SELECT COUNT(*) FROM msg_terms WHERE message_id = 'M2'",
                                     NULL, 0, &n),
                     CC_OK);
    assert_int_equal(n, 3); /* fievre, elephant, zebre */
    /* Re-indexing replaces; indexing nothing removes. */
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(msg__index_terms(g_st, "M2", CONV, "scanner"), CC_OK);
    assert_int_equal(msg__index_terms(g_st, "M1", CONV, NULL), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_string_equal(find("fievre"), "");
    assert_string_equal(find("scan"), "M2");
}

static int count_events(const char *type, const char *scope)
{
    int64_t n = 0;
    store_val p[] = {SV_TEXT(type), SV_TEXT(scope)};
    assert_int_equal(
        store_query_int(g_st, "SELECT COUNT(*) FROM events WHERE type = ? AND scope = ?", p, 2, &n),
        CC_OK);
    return (int)n;
}

static void test_members_and_succession(void **state)
{
    (void)state;
    msg_ctx c;
    memset(&c, 0, sizeof(c));
    c.m = &g_msg;
    snprintf(c.who.user_id, sizeof(c.who.user_id), ALICE);
    snprintf(c.who.username, sizeof(c.who.username), "alice");
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(msg__member_insert(g_st, CONV, ALICE, "owner", 0), CC_OK);
    assert_int_equal(msg__member_insert(g_st, CONV, BOB, "member", 0), CC_OK);
    assert_int_equal(msg__member_insert(g_st, CONV, CAROL, "member", 0), CC_OK);
    /* Twice is a unique violation (inside a savepoint, as every job runs: PostgreSQL aborts the
     * whole transaction otherwise). */
    assert_int_equal(store_savepoint(g_st, "again"), CC_OK);
    assert_int_equal(msg__member_insert(g_st, CONV, CAROL, "member", 0), CC_ERR_EXISTS);
    assert_int_equal(store_rollback_to(g_st, "again"), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    msg_conv_row cv;
    assert_int_equal(msg__conv_access(g_st, &c, CONV, true, &cv), CC_OK);
    assert_int_equal(cv.my_role, MSG_ROLE_OWNER);
    assert_string_equal(cv.kind, "channel");
    /* The owner leaves: member.left reaches the members and her; the longest-standing member
     * becomes owner (ties by id: bob). */
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(msg__member_remove(g_st, &c, CONV, ALICE, "left"), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_int_equal(count_events("member.left", "conv:" CONV ":" ALICE), 1);
    assert_int_equal(count_events("member.updated", "conv:" CONV), 1);
    char *role = NULL;
    store_val p[] = {SV_TEXT(CONV), SV_TEXT(BOB)};
    assert_int_equal(store_query_text(g_st,
                                      "SELECT role FROM msg_members WHERE conversation_id = ? AND "
                                      "user_id = ?",
                                      p, 2, &role),
                     CC_OK);
    assert_string_equal(role, "owner");
    cc_free(&role);
    /* Not a member any more: a private conversation she may not know of. */
    assert_int_equal(msg__conv_access(g_st, &c, CONV, false, &cv), CC_ERR_DENIED);
    assert_int_equal(c.status, 404);
    assert_string_equal(c.code, "conversation_not_found");
}

static void test_event_redaction(void **state)
{
    (void)state;
    int64_t seq = 0;
    json_t *v1 = json_pack("{s:s,s:s}", "id", "M1", "body", "secret text");
    json_t *v2 = json_pack("{s:s,s:s,s:b}", "id", "M1", "body", "", "deleted", 1);
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(store_event_append(g_st, "message.created", "conv:" CONV, v1, &seq), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_int_equal(store_event_redact(g_st, seq, v2), CC_ERR_INVALID); /* outside a transaction */
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(store_event_redact(g_st, seq, v2), CC_OK);
    assert_int_equal(store_event_redact(g_st, seq + 1000, v2), CC_ERR_NOT_FOUND);
    assert_int_equal(store_commit(g_st), CC_OK);
    char *payload = NULL, *type = NULL;
    store_val p[] = {SV_INT(seq)};
    assert_int_equal(
        store_query_text(g_st, "SELECT payload FROM events WHERE seq = ?", p, 1, &payload), CC_OK);
    assert_null(strstr(payload, "secret"));
    assert_non_null(strstr(payload, "\"deleted\":true"));
    assert_int_equal(store_query_text(g_st, "SELECT type FROM events WHERE seq = ?", p, 1, &type),
                     CC_OK);
    assert_string_equal(type, "message.created"); /* same event, new data */
    cc_free(&payload);
    cc_free(&type);
    json_decref(v1);
    json_decref(v2);
}

int main(void)
{
    cc_crypto_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_terms_and_prefix_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_members_and_succession, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_redaction, setup, teardown),
    };
    int failed =
        cmocka_run_group_tests_name("msg_store_sqlite", tests, group_setup_sqlite, group_teardown);
    failed +=
        cmocka_run_group_tests_name("msg_store_postgresql", tests, group_setup_pg, group_teardown);
    return failed;
}
