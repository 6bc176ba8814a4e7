/* Unit tests of src/store against both backends: SQLite in a temporary folder and PostgreSQL in
 * a fresh database of the server named by CARECOMM_TEST_PG (a libpq conninfo; the user may
 * CREATE DATABASE). Without CARECOMM_TEST_PG the PostgreSQL group fails: start a server with
 * scripts/pg-test-server start DIR and export the line it prints. */
#include "store/store_internal.h"

#include <fcntl.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
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

static int tb_clean(store *st)
{
    static const char *const sql[] = {
        "DELETE FROM sessions", "DELETE FROM recovery_codes", "DELETE FROM users",
        "DELETE FROM audit",    "DELETE FROM events",         "DROP TABLE IF EXISTS dfk",
    };
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
        if (store_exec(st, sql[i], NULL, 0, NULL) != CC_OK)
            return -1;
    return 0;
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static store *g_st;

static int setup(void **state)
{
    (void)state;
    if (tb_open(&g_st) != CC_OK || tb_clean(g_st) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(g_st);
    g_st = NULL;
    return 0;
}

static int insert_user(store *st, const char *id, const char *username, const char *totp)
{
    store_val p[] = {
        SV_TEXT(id),     SV_TEXT(username), SV_TEXT("Dr Test"),      SV_TEXT("nurse"),
        SV_TEXT("hash"), SV_TEXT(totp),     SV_INT(1700000000000LL), SV_INT(1700000000001LL)};
    return store_exec(st,
                      "INSERT INTO users(id, username, display_name, role, password_hash, "
                      "totp_secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      p, 8, NULL);
}

static int64_t count_users(store *st)
{
    int64_t n = -1;
    assert_int_equal(store_query_int(st, "SELECT count(*) FROM users", NULL, 0, &n), CC_OK);
    return n;
}

/* ---- placeholder rewrite (backend independent) --------------------------------------------- */

static void test_rewrite(void **state)
{
    (void)state;
    char *out = NULL;
    int n = -1;
    assert_int_equal(store__rewrite_placeholders("SELECT a FROM t WHERE b = ? AND c = 'x?y' "
                                                 "AND d = ? AND e = 'it''s ?' AND f = ?",
                                                 &out, &n),
                     CC_OK);
    assert_string_equal(out, "SELECT a FROM t WHERE b = $1 AND c = 'x?y' AND d = $2 AND "
                             "e = 'it''s ?' AND f = $3");
    assert_int_equal(n, 3);
    cc_free(&out);

    assert_int_equal(
        store__rewrite_placeholders("SELECT \"odd?name\", ? -- why?\n, ? /* ? */", &out, &n),
        CC_OK);
    assert_string_equal(out, "SELECT \"odd?name\", $1 -- why?\n, $2 /* ? */");
    assert_int_equal(n, 2);
    cc_free(&out);

    assert_int_equal(store__rewrite_placeholders("SELECT 1", &out, &n), CC_OK);
    assert_string_equal(out, "SELECT 1");
    assert_int_equal(n, 0);
    cc_free(&out);

    /* Many placeholders: two-digit numbers. */
    char sql[256] = "VALUES (?";
    for (int i = 1; i < 12; i++)
        strcat(sql, ",?");
    strcat(sql, ")");
    assert_int_equal(store__rewrite_placeholders(sql, &out, &n), CC_OK);
    assert_int_equal(n, 12);
    assert_non_null(strstr(out, "$10,$11,$12)"));
    cc_free(&out);

    /* An unterminated literal swallows the rest but does not overrun. */
    assert_int_equal(store__rewrite_placeholders("SELECT ? 'abc?", &out, &n), CC_OK);
    assert_string_equal(out, "SELECT $1 'abc?");
    cc_free(&out);
}

/* ---- per-backend tests --------------------------------------------------------------------- */

static void test_migrations(void **state)
{
    (void)state;
    int64_t v = 0, rows = 0;
    int known = store__known_version(g_st->ops);
    assert_true(known >= 1);
    assert_int_equal(store_schema_version(g_st, &v), CC_OK);
    assert_int_equal(v, known);
    /* Reopening applies nothing twice. */
    store_close(g_st);
    g_st = NULL;
    assert_int_equal(tb_open(&g_st), CC_OK);
    assert_int_equal(store_schema_version(g_st, &v), CC_OK);
    assert_int_equal(v, known);
    assert_int_equal(
        store_query_int(g_st, "SELECT count(*) FROM schema_migrations", NULL, 0, &rows), CC_OK);
    assert_int_equal(rows, known);
    assert_int_equal(store_backend_of(g_st), tb.kind);
    /* The tables of migration 1 are all there. */
    static const char *const tables[] = {"events", "users", "recovery_codes", "sessions", "audit"};
    for (size_t i = 0; i < 5; i++) {
        char sql[64];
        int64_t n = -1;
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        assert_int_equal(store_query_int(g_st, sql, NULL, 0, &n), CC_OK);
    }
}

typedef struct {
    int rows;
    char ids[8][32];
    bool totp_null[8];
    int64_t created[8];
} user_rows;

static int collect_users(void *ud, const store_row *row)
{
    user_rows *u = ud;
    assert_int_equal(store_row_cols(row), 3);
    snprintf(u->ids[u->rows], sizeof(u->ids[0]), "%s", store_row_text(row, 0));
    u->totp_null[u->rows] = store_row_is_null(row, 1);
    if (u->totp_null[u->rows])
        assert_null(store_row_text(row, 1));
    u->created[u->rows] = store_row_int(row, 2);
    u->rows++;
    return 0;
}

static int stop_after_one(void *ud, const store_row *row)
{
    (void)row;
    (*(int *)ud)++;
    return 1;
}

static int abort_row(void *ud, const store_row *row)
{
    (void)ud;
    (void)row;
    return CC_ERR_DENIED;
}

/* Runs the same SQL again from inside the row callback (the SQLite statement cache must hand
 * out a second statement, not reset the one being stepped). */
static int nested_row(void *ud, const store_row *row)
{
    int64_t inner = 0;
    assert_int_equal(store_query_int(ud, "SELECT count(*) FROM users", NULL, 0, &inner), CC_OK);
    assert_int_equal(inner, 2);
    assert_int_equal(store_row_int(row, 0), 2);
    return 0;
}

static void test_exec_query(void **state)
{
    (void)state;
    int64_t changes = -1;
    assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_OK);
    assert_int_equal(insert_user(g_st, "u2", "bob", "secret"), CC_OK);
    assert_int_equal(count_users(g_st), 2);

    user_rows u = {0};
    assert_int_equal(store_query(g_st, "SELECT id, totp_secret, created_at FROM users ORDER BY id",
                                 NULL, 0, collect_users, &u),
                     CC_OK);
    assert_int_equal(u.rows, 2);
    assert_string_equal(u.ids[0], "u1");
    assert_true(u.totp_null[0]);
    assert_false(u.totp_null[1]);
    assert_int_equal(u.created[0], 1700000000000LL); /* beyond 32 bits */

    /* Parameters in WHERE, changes. */
    store_val p[] = {SV_INT(5), SV_TEXT("alice")};
    assert_int_equal(
        store_exec(g_st, "UPDATE users SET failed_logins = ? WHERE username = ?", p, 2, &changes),
        CC_OK);
    assert_int_equal(changes, 1);
    assert_int_equal(store_exec(g_st, "UPDATE users SET disabled = 1", NULL, 0, &changes), CC_OK);
    assert_int_equal(changes, 2);

    int64_t v = 0;
    store_val q[] = {SV_TEXT("alice")};
    assert_int_equal(
        store_query_int(g_st, "SELECT failed_logins FROM users WHERE username = ?", q, 1, &v),
        CC_OK);
    assert_int_equal(v, 5);
    store_val none[] = {SV_TEXT("nobody")};
    assert_int_equal(
        store_query_int(g_st, "SELECT failed_logins FROM users WHERE username = ?", none, 1, &v),
        CC_ERR_NOT_FOUND);

    /* Text results: value, NULL value, no row. */
    char *s = NULL;
    assert_int_equal(
        store_query_text(g_st, "SELECT totp_secret FROM users WHERE id = 'u2'", NULL, 0, &s),
        CC_OK);
    assert_string_equal(s, "secret");
    cc_free(&s);
    assert_int_equal(
        store_query_text(g_st, "SELECT totp_secret FROM users WHERE id = 'u1'", NULL, 0, &s),
        CC_OK);
    assert_null(s);
    assert_int_equal(
        store_query_text(g_st, "SELECT totp_secret FROM users WHERE id = 'zz'", NULL, 0, &s),
        CC_ERR_NOT_FOUND);

    /* NULL parameters (SV_NULL and SV_TEXT(NULL)), and "? IS NULL". */
    store_val pn[] = {SV_NULL, SV_TEXT(NULL), SV_TEXT("u2")};
    assert_int_equal(store_exec(g_st,
                                "UPDATE users SET totp_secret = ?, totp_pending = ? WHERE id = ?",
                                pn, 3, &changes),
                     CC_OK);
    assert_int_equal(
        store_query_int(g_st, "SELECT count(*) FROM users WHERE totp_secret IS NULL", NULL, 0, &v),
        CC_OK);
    assert_int_equal(v, 2);
    store_val pi[] = {SV_INT(7)};
    assert_int_equal(
        store_query_int(g_st, "SELECT CASE WHEN ? IS NULL THEN 0 ELSE 1 END", pi, 1, &v), CC_OK);
    assert_int_equal(v, 1);
    /* A quoted '?' is not a placeholder on either engine. */
    store_val pq[] = {SV_TEXT("u1")};
    assert_int_equal(store_query_text(g_st, "SELECT '?' || id FROM users WHERE id = ?", pq, 1, &s),
                     CC_OK);
    assert_string_equal(s, "?u1");
    cc_free(&s);

    /* Early stop and abort from the row callback; NULL callback. */
    int seen = 0;
    assert_int_equal(store_query(g_st, "SELECT id FROM users", NULL, 0, stop_after_one, &seen),
                     CC_OK);
    assert_int_equal(seen, 1);
    assert_int_equal(store_query(g_st, "SELECT id FROM users", NULL, 0, abort_row, NULL),
                     CC_ERR_DENIED);
    assert_int_equal(store_query(g_st, "SELECT id FROM users", NULL, 0, NULL, NULL), CC_OK);
    assert_int_equal(store_query(g_st, "SELECT count(*) FROM users", NULL, 0, nested_row, g_st),
                     CC_OK);

    /* Wrong number of parameters, bad SQL. */
    assert_int_equal(store_exec(g_st, "UPDATE users SET disabled = ?", NULL, 0, NULL),
                     CC_ERR_INVALID);
    assert_int_equal(store_exec(g_st, "SELEKT 1", NULL, 0, NULL), CC_ERR_STORE);
    assert_true(strlen(store_errmsg(g_st)) > 0);
    /* The connection still works after errors. */
    assert_int_equal(store_ping(g_st), CC_OK);
}

static void test_unique(void **state)
{
    (void)state;
    assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_OK);
    assert_int_equal(insert_user(g_st, "u2", "alice", NULL), CC_ERR_EXISTS); /* UNIQUE */
    assert_int_equal(insert_user(g_st, "u1", "carol", NULL), CC_ERR_EXISTS); /* PRIMARY KEY */
    store_val p[] = {SV_TEXT("u1"), SV_TEXT("h1")};
    const char *rc_sql = "INSERT INTO recovery_codes(user_id, code_hash) VALUES (?, ?)";
    assert_int_equal(store_exec(g_st, rc_sql, p, 2, NULL), CC_OK);
    assert_int_equal(store_exec(g_st, rc_sql, p, 2, NULL), CC_ERR_EXISTS); /* composite key */
    /* A foreign key violation is not "exists". */
    store_val f[] = {SV_TEXT("nobody"), SV_TEXT("h1")};
    assert_int_equal(store_exec(g_st, rc_sql, f, 2, NULL), CC_ERR_STORE);
    /* ON DELETE CASCADE (foreign keys are on). */
    assert_int_equal(store_exec(g_st, "DELETE FROM users WHERE id = 'u1'", NULL, 0, NULL), CC_OK);
    int64_t n = -1;
    assert_int_equal(store_query_int(g_st, "SELECT count(*) FROM recovery_codes", NULL, 0, &n),
                     CC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(count_users(g_st), 0);
}

static void test_transactions(void **state)
{
    (void)state;
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(store_begin(g_st), CC_ERR_INVALID); /* no nesting: use savepoints */
    assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_OK);
    assert_int_equal(count_users(g_st), 1);
    assert_int_equal(store_rollback(g_st), CC_OK);
    assert_int_equal(count_users(g_st), 0);

    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_int_equal(count_users(g_st), 1);

    /* Visible to another connection only after commit. */
    store *other = NULL;
    assert_int_equal(tb_open(&other), CC_OK);
    assert_int_equal(count_users(other), 1);
    store_close(other);
}

static void test_savepoints(void **state)
{
    (void)state;
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_OK);
    assert_int_equal(store_savepoint(g_st, "s1"), CC_OK);
    assert_int_equal(insert_user(g_st, "u2", "bob", NULL), CC_OK);
    assert_int_equal(store_rollback_to(g_st, "s1"), CC_OK);
    assert_int_equal(store_release(g_st, "s1"), CC_OK);
    /* A failed statement inside a savepoint: rolling back to it keeps the transaction usable
     * (PostgreSQL aborts the whole transaction otherwise). */
    assert_int_equal(store_savepoint(g_st, "s2"), CC_OK);
    assert_int_equal(insert_user(g_st, "u3", "alice", NULL), CC_ERR_EXISTS);
    assert_int_equal(store_rollback_to(g_st, "s2"), CC_OK);
    assert_int_equal(store_release(g_st, "s2"), CC_OK);
    /* Nested savepoints, inner released. */
    assert_int_equal(store_savepoint(g_st, "outer_1"), CC_OK);
    assert_int_equal(store_savepoint(g_st, "inner_2"), CC_OK);
    assert_int_equal(insert_user(g_st, "u4", "dave", NULL), CC_OK);
    assert_int_equal(store_release(g_st, "inner_2"), CC_OK);
    assert_int_equal(store_release(g_st, "outer_1"), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);

    user_rows u = {0};
    assert_int_equal(store_query(g_st, "SELECT id, totp_secret, created_at FROM users ORDER BY id",
                                 NULL, 0, collect_users, &u),
                     CC_OK);
    assert_int_equal(u.rows, 2);
    assert_string_equal(u.ids[0], "u1");
    assert_string_equal(u.ids[1], "u4");

    assert_int_equal(store_savepoint(g_st, "Bad-Name"), CC_ERR_INVALID);
    assert_int_equal(store_savepoint(g_st, "x; DROP TABLE users"), CC_ERR_INVALID);
    assert_int_equal(store_savepoint(g_st, ""), CC_ERR_INVALID);
}

static void test_failed_commit(void **state)
{
    (void)state;
    /* A deferred foreign key is checked at COMMIT: the commit fails and nothing is there. */
    assert_int_equal(store_exec(g_st,
                                "CREATE TABLE dfk(id BIGINT PRIMARY KEY, ref BIGINT REFERENCES "
                                "dfk(id) DEFERRABLE INITIALLY DEFERRED)",
                                NULL, 0, NULL),
                     CC_OK);
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_OK);
    assert_int_equal(store_exec(g_st, "INSERT INTO dfk(id, ref) VALUES (1, 99)", NULL, 0, NULL),
                     CC_OK);
    assert_int_not_equal(store_commit(g_st), CC_OK);
    assert_true(strlen(store_errmsg(g_st)) > 0);
    /* A failed commit ends the transaction (rolled back); a rollback after it is harmless. */
    assert_int_equal(count_users(g_st), 0);
    assert_int_equal(store_rollback(g_st), CC_OK);

    /* PostgreSQL: after an error, COMMIT answers "ROLLBACK"; that must be a failure. */
    if (tb.kind == STORE_POSTGRES) {
        assert_int_equal(store_begin(g_st), CC_OK);
        assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_OK);
        assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_ERR_EXISTS);
        assert_int_equal(store_commit(g_st), CC_ERR_STORE);
        assert_int_equal(count_users(g_st), 0);
    }
    /* The store is usable afterwards. */
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_int_equal(count_users(g_st), 1);
}

typedef struct {
    int n;
    int64_t seq[16];
    char type[16][32];
    char scope[16][32];
    char payload[16][64];
    int64_t ts[16];
} ev_list;

static int collect_ev(void *ud, const store_event *ev)
{
    ev_list *l = ud;
    assert_true(l->n < 16);
    l->seq[l->n] = ev->seq;
    l->ts[l->n] = ev->ts;
    snprintf(l->type[l->n], 32, "%s", ev->type);
    snprintf(l->scope[l->n], 32, "%s", ev->scope);
    snprintf(l->payload[l->n], 64, "%s", ev->payload);
    l->n++;
    return 0;
}

static void test_events(void **state)
{
    (void)state;
    int64_t h0 = -1, head = -1, seqs[5];
    assert_int_equal(store_event_head(g_st, &h0), CC_OK);
    assert_true(h0 >= 0);
    int64_t before = cc_now_ms();
    assert_int_equal(store_begin(g_st), CC_OK);
    for (int i = 0; i < 5; i++) {
        json_t *p = json_pack("{s:i, s:s}", "i", i, "name", "x y");
        assert_int_equal(store_event_append(g_st, "user.updated", "all", p, &seqs[i]), CC_OK);
        json_decref(p);
        if (i)
            assert_true(seqs[i] > seqs[i - 1]);
        assert_true(seqs[i] > h0);
    }
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_int_equal(store_event_head(g_st, &head), CC_OK);
    assert_int_equal(head, seqs[4]);

    ev_list l = {0};
    assert_int_equal(store_event_read(g_st, h0, 3, collect_ev, &l), CC_OK);
    assert_int_equal(l.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(l.seq[i], seqs[i]);
    assert_string_equal(l.type[0], "user.updated");
    assert_string_equal(l.scope[0], "all");
    assert_string_equal(l.payload[1], "{\"i\":1,\"name\":\"x y\"}"); /* compact JSON */
    assert_true(l.ts[0] >= before && l.ts[0] <= cc_now_ms());

    memset(&l, 0, sizeof(l));
    assert_int_equal(store_event_read(g_st, seqs[2], 100, collect_ev, &l), CC_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.seq[0], seqs[3]);
    assert_int_equal(l.seq[1], seqs[4]);

    memset(&l, 0, sizeof(l));
    assert_int_equal(store_event_read(g_st, seqs[4], 100, collect_ev, &l), CC_OK);
    assert_int_equal(l.n, 0);

    /* Outside a transaction an append is its own transaction. */
    int64_t s6 = 0;
    json_t *p = json_object();
    assert_int_equal(store_event_append(g_st, "presence", "user:u1", p, &s6), CC_OK);
    assert_true(s6 > seqs[4]);
    assert_int_equal(store_event_head(g_st, &head), CC_OK);
    assert_int_equal(head, s6);

    /* Bad arguments. */
    json_t *arr = json_array();
    assert_int_equal(store_event_append(g_st, "t", "all", arr, NULL), CC_ERR_INVALID);
    assert_int_equal(store_event_append(g_st, "", "all", p, NULL), CC_ERR_INVALID);
    assert_int_equal(store_event_append(g_st, "t", NULL, p, NULL), CC_ERR_INVALID);
    assert_int_equal(store_event_read(g_st, 0, 0, collect_ev, &l), CC_ERR_INVALID);
    json_decref(arr);
    json_decref(p);
}

static void test_events_rollback(void **state)
{
    (void)state;
    int64_t h0 = 0, head = 0, seq = 0;
    assert_int_equal(store_event_head(g_st, &h0), CC_OK);
    json_t *p = json_pack("{s:s}", "k", "v");
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(store_event_append(g_st, "x.y", "all", p, &seq), CC_OK);
    assert_int_equal(store_rollback(g_st), CC_OK);
    assert_int_equal(store_event_head(g_st, &head), CC_OK);
    assert_int_equal(head, h0);
    ev_list l = {0};
    assert_int_equal(store_event_read(g_st, h0, 10, collect_ev, &l), CC_OK);
    assert_int_equal(l.n, 0);

    /* Inside a savepoint that is rolled back, too. */
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(store_savepoint(g_st, "a"), CC_OK);
    assert_int_equal(store_event_append(g_st, "x.y", "all", p, &seq), CC_OK);
    assert_int_equal(store_rollback_to(g_st, "a"), CC_OK);
    assert_int_equal(store_release(g_st, "a"), CC_OK);
    int64_t kept = 0;
    assert_int_equal(store_event_append(g_st, "x.z", "all", p, &kept), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_int_equal(store_event_read(g_st, h0, 10, collect_ev, &l), CC_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.seq[0], kept);
    assert_string_equal(l.type[0], "x.z");
    json_decref(p);
}

static void test_chain_lock(void **state)
{
    (void)state;
    assert_int_equal(store_chain_lock(g_st, "audit"), CC_ERR_INVALID); /* needs a transaction */
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(store_chain_lock(g_st, "audit"), CC_OK);
    assert_int_equal(store_chain_lock(g_st, "other"), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_int_equal(store_ping(g_st), CC_OK);
}

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void test_backup_restore(void **state)
{
    (void)state;
    char bak[400], junk[400], foreign[400], before[400];
    snprintf(bak, sizeof(bak), "%s/backup.db", tb.dir);
    if (tb.kind == STORE_POSTGRES) {
        assert_int_equal(store_backup(g_st, bak), CC_ERR_INVALID);
        return;
    }
    assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_OK);
    json_t *p = json_object();
    int64_t seq = 0;
    assert_int_equal(store_event_append(g_st, "a.b", "all", p, &seq), CC_OK);
    json_decref(p);
    assert_int_equal(store_backup(g_st, bak), CC_OK);
    assert_true(file_exists(bak));
    char tmp[420];
    snprintf(tmp, sizeof(tmp), "%s.tmp", bak);
    assert_false(file_exists(tmp));
    struct stat sb;
    assert_int_equal(stat(bak, &sb), 0);
    assert_int_equal(sb.st_mode & 077, 0); /* credentials inside: not world readable */

    /* Changes after the backup are undone by the restore. */
    assert_int_equal(store_exec(g_st, "DELETE FROM users", NULL, 0, NULL), CC_OK);
    assert_int_equal(insert_user(g_st, "u9", "zed", NULL), CC_OK);
    store_close(g_st);
    g_st = NULL;

    char why[256] = "";
    int rc = store_restore_sqlite(bak, tb.dbpath, why, sizeof(why));
    if (rc != CC_OK)
        fprintf(stderr, "restore: %s\n", why);
    assert_int_equal(rc, CC_OK);
    snprintf(before, sizeof(before), "%s.before-restore", tb.dbpath);
    assert_true(file_exists(before));

    assert_int_equal(tb_open(&g_st), CC_OK);
    char *name = NULL;
    assert_int_equal(store_query_text(g_st, "SELECT username FROM users", NULL, 0, &name), CC_OK);
    assert_string_equal(name, "alice");
    cc_free(&name);
    assert_int_equal(count_users(g_st), 1);
    int64_t head = 0;
    assert_int_equal(store_event_head(g_st, &head), CC_OK);
    assert_int_equal(head, seq);
    store_close(g_st);
    g_st = NULL;

    /* The file set aside holds the state just before the restore (its WAL moved with it). */
    store *old = NULL;
    why[0] = '\0';
    assert_int_equal(store_open_sqlite(before, &old, why, sizeof(why)), CC_OK);
    assert_int_equal(store_query_text(old, "SELECT username FROM users", NULL, 0, &name), CC_OK);
    assert_string_equal(name, "zed");
    cc_free(&name);
    store_close(old);

    /* Refused: not a database, and a database that is not carecomm's. The target stays. */
    snprintf(junk, sizeof(junk), "%s/junk.db", tb.dir);
    FILE *f = fopen(junk, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database at all ", f);
    fclose(f);
    assert_int_not_equal(store_restore_sqlite(junk, tb.dbpath, why, sizeof(why)), CC_OK);
    assert_true(strlen(why) > 0);
    snprintf(foreign, sizeof(foreign), "%s/foreign.db", tb.dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(foreign, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE x(a)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    why[0] = '\0';
    assert_int_equal(store_restore_sqlite(foreign, tb.dbpath, why, sizeof(why)), CC_ERR_INVALID);
    assert_non_null(strstr(why, "schema_migrations"));
    assert_int_equal(store_restore_sqlite("/nonexistent/x.db", tb.dbpath, why, sizeof(why)),
                     CC_ERR_NOT_FOUND);

    assert_int_equal(tb_open(&g_st), CC_OK);
    assert_int_equal(count_users(g_st), 1);
}

static void test_open_config(void **state)
{
    (void)state;
    cc_config *cfg = cc_config_new();
    assert_non_null(cfg);
    assert_int_equal(cc_config_register(cfg, core_config_keys, core_config_keys_count), CC_OK);
    assert_int_equal(cc_config_register(cfg, store_config_keys, store_config_keys_count), CC_OK);
    char why[256] = "", dir[300];
    snprintf(dir, sizeof(dir), "%s/cfgdata", tb.dir);
    assert_int_equal(cc_config_set(cfg, "data_dir", dir, why, sizeof(why)), CC_OK);
    store *st = NULL;
    /* Default backend: SQLite in <data_dir>/carecomm.db. */
    assert_int_equal(store_open_config(cfg, &st, why, sizeof(why)), CC_OK);
    assert_int_equal(store_backend_of(st), STORE_SQLITE);
    store_close(st);
    char path[340];
    snprintf(path, sizeof(path), "%s/carecomm.db", dir);
    assert_true(file_exists(path));

    assert_int_equal(cc_config_set(cfg, "store_backend", "postgresql", why, sizeof(why)), CC_OK);
    why[0] = '\0';
    assert_int_equal(store_open_config(cfg, &st, why, sizeof(why)), CC_ERR_CONFIG);
    assert_null(st);
    assert_non_null(strstr(why, "pg_conninfo"));
    if (tb.kind == STORE_POSTGRES) {
        assert_int_equal(cc_config_set(cfg, "pg_conninfo", tb.pg_conninfo, why, sizeof(why)),
                         CC_OK);
        assert_int_equal(store_open_config(cfg, &st, why, sizeof(why)), CC_OK);
        assert_int_equal(store_backend_of(st), STORE_POSTGRES);
        store_close(st);
    }
    assert_int_equal(cc_config_set(cfg, "store_backend", "mysql", why, sizeof(why)), CC_OK);
    why[0] = '\0';
    assert_int_equal(store_open_config(cfg, &st, why, sizeof(why)), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "mysql"));
    cc_config_free(cfg);

    /* Open failures say why. */
    why[0] = '\0';
    if (tb.kind == STORE_POSTGRES) {
        assert_int_equal(
            store_open_postgres("host=127.0.0.1 port=1 connect_timeout=2", &st, why, sizeof(why)),
            CC_ERR_STORE);
    } else {
        assert_int_equal(store_open_sqlite("/nonexistent/dir/x.db", &st, why, sizeof(why)),
                         CC_ERR_IO);
    }
    assert_null(st);
    assert_true(strlen(why) > 0);
}

/* PostgreSQL: a connection killed by the server is reset before the next statement. */
static void test_reconnect(void **state)
{
    (void)state;
    if (tb.kind != STORE_POSTGRES)
        return;
    int64_t pid = 0, one = 0;
    assert_int_equal(store_query_int(g_st, "SELECT pg_backend_pid()", NULL, 0, &pid), CC_OK);
    store *other = NULL;
    assert_int_equal(tb_open(&other), CC_OK);
    store_val p[] = {SV_INT(pid)};
    assert_int_equal(store_query_int(other,
                                     "SELECT CASE WHEN pg_terminate_backend(?::int) "
                                     "THEN 1 ELSE 0 END",
                                     p, 1, &one),
                     CC_OK);
    assert_int_equal(one, 1);
    usleep(100 * 1000);
    assert_int_equal(store_ping(g_st), CC_OK);

    /* Killed inside a transaction: the transaction fails, the next one works. */
    assert_int_equal(store_query_int(g_st, "SELECT pg_backend_pid()", NULL, 0, &pid), CC_OK);
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(insert_user(g_st, "u1", "alice", NULL), CC_OK);
    store_val p2[] = {SV_INT(pid)};
    assert_int_equal(store_query_int(other,
                                     "SELECT CASE WHEN pg_terminate_backend(?::int) "
                                     "THEN 1 ELSE 0 END",
                                     p2, 1, &one),
                     CC_OK);
    usleep(100 * 1000);
    assert_int_not_equal(store_commit(g_st), CC_OK);
    store_rollback(g_st);
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(insert_user(g_st, "u2", "bob", NULL), CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_int_equal(count_users(g_st), 1);
    store_close(other);
}

/* ---- concurrent writers and a polling reader ----------------------------------------------- */

#define WRITER_EVENTS 500

typedef struct {
    int id;
    int rc;
} writer_arg;

static void *writer_main(void *arg)
{
    writer_arg *a = arg;
    store *st = NULL;
    a->rc = tb_open(&st);
    if (a->rc != CC_OK)
        return NULL;
    json_t *p = json_pack("{s:i}", "w", a->id);
    int done = 0, round = 0;
    while (done < WRITER_EVENTS && a->rc == CC_OK) {
        int k = 1 + (round++ % 3); /* small transactions of 1..3 appends */
        if ((a->rc = store_begin(st)) != CC_OK)
            break;
        for (int i = 0; i < k && done < WRITER_EVENTS && a->rc == CC_OK; i++, done++)
            a->rc = store_event_append(st, "w.e", "all", p, NULL);
        if (a->rc == CC_OK)
            a->rc = store_commit(st);
        else
            store_rollback(st);
    }
    json_decref(p);
    store_close(st);
    return NULL;
}

typedef struct {
    int64_t *seqs;
    size_t n, cap;
    int64_t last;
    bool strictly_increasing;
} seq_list;

static int collect_seq(void *ud, const store_event *ev)
{
    seq_list *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->seqs = realloc(l->seqs, l->cap * sizeof(int64_t));
        assert_non_null(l->seqs);
    }
    if (ev->seq <= l->last)
        l->strictly_increasing = false;
    l->seqs[l->n++] = ev->seq;
    l->last = ev->seq;
    return 0;
}

static void test_concurrent_writers(void **state)
{
    (void)state;
    int64_t h0 = 0;
    assert_int_equal(store_event_head(g_st, &h0), CC_OK);
    store *reader = NULL;
    assert_int_equal(tb_open(&reader), CC_OK);
    writer_arg wa[2] = {{1, 0}, {2, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &wa[i]), 0);

    /* The reader polls "seq > last" while the writers run, like a node delivering events. */
    seq_list got = {.last = h0, .strictly_increasing = true};
    size_t target = 0;
    for (int spins = 0; spins < 200000; spins++) {
        assert_int_equal(store_event_read(reader, got.last, 50, collect_seq, &got), CC_OK);
        if (got.n >= 2 * WRITER_EVENTS)
            break;
        if (got.n == target) /* nothing new: let the writers run */
            usleep(200);
        target = got.n;
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(wa[i].rc, CC_OK);
    }
    /* Drain anything left. */
    size_t before;
    do {
        before = got.n;
        assert_int_equal(store_event_read(reader, got.last, 1000, collect_seq, &got), CC_OK);
    } while (got.n != before);

    seq_list all = {.last = h0, .strictly_increasing = true};
    assert_int_equal(store_event_read(reader, h0, 100000, collect_seq, &all), CC_OK);
    assert_int_equal(all.n, 2 * WRITER_EVENTS);
    assert_true(got.strictly_increasing);
    assert_int_equal(got.n, all.n); /* nothing skipped */
    for (size_t i = 0; i < all.n; i++)
        assert_int_equal(got.seqs[i], all.seqs[i]);
    free(got.seqs);
    free(all.seqs);
    store_close(reader);
}

/* ---- main ---------------------------------------------------------------------------------- */

#define STORE_TESTS                                                                                \
    {                                                                                              \
        cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),                         \
            cmocka_unit_test_setup_teardown(test_exec_query, setup, teardown),                     \
            cmocka_unit_test_setup_teardown(test_unique, setup, teardown),                         \
            cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),                   \
            cmocka_unit_test_setup_teardown(test_savepoints, setup, teardown),                     \
            cmocka_unit_test_setup_teardown(test_failed_commit, setup, teardown),                  \
            cmocka_unit_test_setup_teardown(test_events, setup, teardown),                         \
            cmocka_unit_test_setup_teardown(test_events_rollback, setup, teardown),                \
            cmocka_unit_test_setup_teardown(test_chain_lock, setup, teardown),                     \
            cmocka_unit_test_setup_teardown(test_backup_restore, setup, teardown),                 \
            cmocka_unit_test_setup_teardown(test_open_config, setup, teardown),                    \
            cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),                      \
            cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),             \
    }

int main(void)
{
    const struct CMUnitTest pure[] = {cmocka_unit_test(test_rewrite)};
    const struct CMUnitTest sqlite_tests[] = STORE_TESTS;
    const struct CMUnitTest pg_tests[] = STORE_TESTS;
    int failed = 0;
    failed += cmocka_run_group_tests_name("store_rewrite", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("store_sqlite", sqlite_tests, group_setup_sqlite,
                                          group_teardown);
    int pg =
        cmocka_run_group_tests_name("store_postgresql", pg_tests, group_setup_pg, group_teardown);
    if (pg == 0 && !getenv("CARECOMM_TEST_PG"))
        pg = 1;
    failed += pg;
    return failed ? 1 : 0;
}
