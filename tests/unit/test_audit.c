/* Unit tests of the audit chain on a real store: an intact chain verifies, and edits, deletions,
 * reordering, grafts and a wrong key made behind the store's back (a raw sqlite3 or libpq
 * connection, as an intruder with database access would use) are caught and name the right
 * record. Runs on SQLite always, and on PostgreSQL when CARECOMM_TEST_PG names an admin
 * conninfo (scripts/run-unit-tests sets it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/auth.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHAIN_LEN 20
#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_COLS                                                                                 \
    "id, ts, actor_id, actor_name, action, object, source_ip, outcome, details, "                  \
    "prev_hash, hash"
#define NCOLS 11

typedef struct {
    store_backend kind;
    char dir[64];      /* SQLite: temp folder */
    char db[128];      /* SQLite: database file */
    char dbname[32];   /* PostgreSQL: throwaway database */
    char *pg_conninfo; /* PostgreSQL: conninfo of that database */
    store *st;
    auth_keys keys;
} fixture;

/* ---- PostgreSQL plumbing ------------------------------------------------------------------- */

static int pg_exec(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = NULL;
    int rc = -1;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect: %s", PQerrorMessage(c));
        goto out;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
        goto out;
    }
    rc = 0;
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* The admin conninfo with dbname replaced. Caller frees with cc_free. */
static char *pg_conninfo_for(const char *admin, const char *db)
{
    PQconninfoOption *opts = PQconninfoParse(admin, NULL);
    cc_buf b = {0};
    char *s;
    if (!opts)
        return NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || strcmp(o->keyword, "dbname") == 0)
            continue;
        cc_buf_appendf(&b, "%s='", o->keyword);
        for (const char *p = o->val; *p; p++)
            cc_buf_appendf(&b, "%s%c", (*p == '\'' || *p == '\\') ? "\\" : "", *p);
        cc_buf_appendf(&b, "' ");
    }
    cc_buf_appendf(&b, "dbname='%s'", db);
    PQconninfoFree(opts);
    s = cc_strndup(b.data, b.len);
    cc_buf_free(&b);
    return s;
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static fixture *fixture_new(store_backend kind)
{
    fixture *f = calloc(1, sizeof *f);
    char why[256], sql[64];
    uint8_t rnd[6];
    if (!f)
        return NULL;
    f->kind = kind;
    if (kind == STORE_SQLITE) {
        snprintf(f->dir, sizeof f->dir, "/tmp/cc_audit_XXXXXX");
        if (!mkdtemp(f->dir))
            goto fail;
        snprintf(f->db, sizeof f->db, "%s/carecomm.db", f->dir);
        if (store_open_sqlite(f->db, &f->st, why, sizeof why) != CC_OK)
            goto fail_why;
    } else {
        const char *admin = getenv("CARECOMM_TEST_PG");
        randombytes_buf(rnd, sizeof rnd);
        snprintf(f->dbname, sizeof f->dbname, "cc_audit_%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5]);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->dbname);
        if (pg_exec(admin, sql) != 0)
            goto fail;
        f->pg_conninfo = pg_conninfo_for(admin, f->dbname);
        if (!f->pg_conninfo)
            goto fail;
        if (store_open_postgres(f->pg_conninfo, &f->st, why, sizeof why) != CC_OK)
            goto fail_why;
    }
    randombytes_buf(&f->keys, sizeof f->keys);
    return f;
fail_why:
    fprintf(stderr, "store open: %s\n", why);
fail:
    free(f);
    return NULL;
}

static void fixture_free(fixture *f)
{
    char p[192], sql[64];
    static const char *const files[] = {"carecomm.db", "carecomm.db-wal", "carecomm.db-shm"};
    if (!f)
        return;
    store_close(f->st);
    if (f->kind == STORE_SQLITE) {
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
            unlink(p);
        }
        rmdir(f->dir);
    } else {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", f->dbname);
        (void)pg_exec(getenv("CARECOMM_TEST_PG"), sql);
        cc_free(&f->pg_conninfo);
    }
    free(f);
}

static int setup_sqlite(void **state)
{
    *state = fixture_new(STORE_SQLITE);
    return *state ? 0 : -1;
}

static int setup_pg(void **state)
{
    *state = fixture_new(STORE_POSTGRES);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

/* One transaction per record, like the daemon's handlers. Fields vary so that NULLs, empty
 * strings and JSON details are all covered by the hash. */
static void append_n(fixture *f, int n)
{
    for (int i = 1; i <= n; i++) {
        char actor[32], object[32];
        int64_t id = 0;
        json_t *details =
            json_pack("{s:i,s:s,s:b}", "z_attempt", i, "a_reason", "test", "m_flag", i % 2);
        snprintf(actor, sizeof actor, "01HUSER%02d", i);
        snprintf(object, sizeof object, "user:%d", i);
        auth_audit_entry e = {
            .actor_id = i % 3 == 0 ? NULL : actor,
            .actor_name = i % 3 == 0 ? "system" : "jdupont",
            .action = i % 2 ? "auth.login" : "user.update",
            .object = i % 4 == 0 ? NULL : (i % 5 == 0 ? "" : object),
            .source_ip = i % 2 ? "10.0.0.7" : NULL,
            .outcome = i % 3 == 1 ? "failure" : "success",
            .details = i % 6 == 0 ? NULL : details,
        };
        assert_non_null(details);
        assert_int_equal(store_begin(f->st), CC_OK);
        assert_int_equal(auth_audit_append(f->st, &f->keys, &e, &id), CC_OK);
        assert_int_equal(store_commit(f->st), CC_OK);
        assert_int_equal(id, i);
        json_decref(details);
    }
}

/* Changes the database behind the store's back, through a connection of its own. */
static void raw_sql(const fixture *f, const char *sql)
{
    if (f->kind == STORE_POSTGRES) {
        assert_int_equal(pg_exec(f->pg_conninfo, sql), 0);
        return;
    }
    sqlite3 *db = NULL;
    char *err = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err);
        sqlite3_free(err);
        fail();
    }
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void expect_tampered(fixture *f, const auth_keys *keys, int64_t bad, const char *reason)
{
    auth_audit_report rep;
    int rc = auth_audit_verify(f->st, keys, &rep);
    if (rc != CC_ERR_TAMPERED || rep.first_bad != bad || !strstr(rep.reason, reason))
        fprintf(stderr, "rc=%d first_bad=%lld reason=\"%s\"\n", rc, (long long)rep.first_bad,
                rep.reason);
    assert_int_equal(rc, CC_ERR_TAMPERED);
    assert_int_equal(rep.first_bad, bad);
    assert_non_null(strstr(rep.reason, reason));
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_empty_chain(void **state)
{
    fixture *f = *state;
    auth_audit_report rep;
    assert_int_equal(auth_audit_verify(f->st, &f->keys, &rep), CC_OK);
    assert_int_equal(rep.records, 0);
    assert_int_equal(rep.first_bad, 0);
    assert_string_equal(rep.head_hash, GENESIS);
}

static void expect_text(fixture *f, const char *sql, const char *want)
{
    char *got = NULL;
    assert_int_equal(store_query_text(f->st, sql, NULL, 0, &got), CC_OK);
    if (want)
        assert_string_equal(got, want);
    else
        assert_null(got);
    cc_free(&got);
}

static void test_intact_chain(void **state)
{
    fixture *f = *state;
    auth_audit_report rep;
    char *hash1 = NULL;
    append_n(f, CHAIN_LEN);
    assert_int_equal(auth_audit_verify(f->st, &f->keys, &rep), CC_OK);
    assert_int_equal(rep.records, CHAIN_LEN);
    assert_int_equal(rep.first_bad, 0);
    assert_string_equal(rep.reason, "");
    expect_text(f, "SELECT hash FROM audit WHERE id = 20", rep.head_hash);
    expect_text(f, "SELECT prev_hash FROM audit WHERE id = 1", GENESIS);
    assert_int_equal(
        store_query_text(f->st, "SELECT hash FROM audit WHERE id = 1", NULL, 0, &hash1), CC_OK);
    expect_text(f, "SELECT prev_hash FROM audit WHERE id = 2", hash1);
    cc_free(&hash1);
    /* details: compact, keys sorted, stable; NULL stays NULL */
    expect_text(f, "SELECT details FROM audit WHERE id = 1",
                "{\"a_reason\":\"test\",\"m_flag\":true,\"z_attempt\":1}");
    expect_text(f, "SELECT details FROM audit WHERE id = 6", NULL);
    expect_text(f, "SELECT object FROM audit WHERE id = 5", "");
    expect_text(f, "SELECT object FROM audit WHERE id = 4", NULL);
}

static void test_append_invalid(void **state)
{
    fixture *f = *state;
    auth_audit_entry e = {.action = "auth.login", .outcome = NULL};
    assert_int_equal(store_begin(f->st), CC_OK);
    assert_int_equal(auth_audit_append(f->st, &f->keys, &e, NULL), CC_ERR_INVALID);
    e.outcome = "success";
    e.action = NULL;
    assert_int_equal(auth_audit_append(f->st, &f->keys, &e, NULL), CC_ERR_INVALID);
    e.action = "auth.login";
    assert_int_equal(auth_audit_append(f->st, &f->keys, &e, NULL), CC_OK);
    assert_int_equal(store_commit(f->st), CC_OK);
}

static void test_updated_record(void **state)
{
    fixture *f = *state;
    append_n(f, CHAIN_LEN);
    /* record 7 was a failure (7 % 3 == 1); make it look like a success */
    raw_sql(f, "UPDATE audit SET outcome = 'success' WHERE id = 7");
    expect_tampered(f, &f->keys, 7, "record 7 was altered");
}

static void test_updated_null_to_empty(void **state)
{
    fixture *f = *state;
    append_n(f, CHAIN_LEN);
    /* NULL and "" are different values and must hash differently */
    raw_sql(f, "UPDATE audit SET object = '' WHERE id = 4");
    expect_tampered(f, &f->keys, 4, "record 4 was altered");
}

static void test_updated_ts(void **state)
{
    fixture *f = *state;
    append_n(f, CHAIN_LEN);
    raw_sql(f, "UPDATE audit SET ts = ts + 1 WHERE id = 15");
    expect_tampered(f, &f->keys, 15, "record 15 was altered");
}

static void test_updated_details(void **state)
{
    fixture *f = *state;
    append_n(f, CHAIN_LEN);
    /* same JSON value, other spelling: the hash covers the stored text */
    raw_sql(f, "UPDATE audit SET details = replace(details, ':', ': ') WHERE id = 2");
    expect_tampered(f, &f->keys, 2, "record 2 was altered");
}

static void test_deleted_record(void **state)
{
    fixture *f = *state;
    append_n(f, CHAIN_LEN);
    raw_sql(f, "DELETE FROM audit WHERE id = 10");
    expect_tampered(f, &f->keys, 11, "record 10 missing");
}

static void test_deleted_first_records(void **state)
{
    fixture *f = *state;
    append_n(f, CHAIN_LEN);
    raw_sql(f, "DELETE FROM audit WHERE id <= 3");
    expect_tampered(f, &f->keys, 4, "records 1 to 3 missing");
}

static void test_swapped_records(void **state)
{
    fixture *f = *state;
    append_n(f, CHAIN_LEN);
    raw_sql(f, "UPDATE audit SET id = -5 WHERE id = 5;"
               "UPDATE audit SET id = 5 WHERE id = 6;"
               "UPDATE audit SET id = 6 WHERE id = -5;");
    expect_tampered(f, &f->keys, 5, "record 5 was altered");
}

typedef struct {
    bool null[NCOLS];
    char *text[NCOLS];
    int64_t id, ts;
} row_copy;

static int copy_row(void *ud, const store_row *r)
{
    row_copy *c = ud;
    c->id = store_row_int(r, 0);
    c->ts = store_row_int(r, 1);
    for (int i = 2; i < NCOLS; i++) {
        c->null[i] = store_row_is_null(r, i);
        c->text[i] = c->null[i] ? NULL : cc_strdup(store_row_text(r, i));
    }
    return 1;
}

static void test_grafted_record(void **state)
{
    fixture *f = *state;
    fixture *other = fixture_new(f->kind);
    row_copy c = {0};
    store_val p[NCOLS];
    /* A record from another chain under the same key carries a valid hash of its own (same
     * id), so only the prev_hash link can reveal the graft. */
    assert_non_null(other);
    other->keys = f->keys;
    append_n(other, 5);
    assert_int_equal(store_query(other->st, "SELECT " AUDIT_COLS " FROM audit WHERE id = 3", NULL,
                                 0, copy_row, &c),
                     CC_OK);
    fixture_free(other);
    append_n(f, CHAIN_LEN);
    raw_sql(f, "DELETE FROM audit WHERE id = 3");
    p[0] = SV_INT(c.id);
    p[1] = SV_INT(c.ts);
    for (int i = 2; i < NCOLS; i++)
        p[i] = SV_TEXT(c.text[i]);
    assert_int_equal(store_exec(f->st,
                                "INSERT INTO audit (" AUDIT_COLS ") "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                p, NCOLS, NULL),
                     CC_OK);
    for (int i = 2; i < NCOLS; i++)
        cc_free(&c.text[i]);
    expect_tampered(f, &f->keys, 3, "record 3 does not follow record 2");
}

static void test_planted_record_zero(void **state)
{
    fixture *f = *state;
    append_n(f, 3);
    raw_sql(f, "INSERT INTO audit (id, ts, action, outcome, prev_hash, hash) "
               "VALUES (0, 0, 'x', 'success', '" GENESIS "', '" GENESIS "')");
    expect_tampered(f, &f->keys, 0, "invalid id");
}

static void test_wrong_key(void **state)
{
    fixture *f = *state;
    auth_keys other = f->keys;
    auth_audit_report rep;
    append_n(f, CHAIN_LEN);
    other.audit_key[0] ^= 1;
    expect_tampered(f, &other, 1, "record 1 was altered");
    /* the TOTP key plays no part */
    other = f->keys;
    other.totp_key[0] ^= 1;
    assert_int_equal(auth_audit_verify(f->st, &other, &rep), CC_OK);
}

static void test_long_chain_batches(void **state)
{
    fixture *f = *state;
    auth_audit_report rep;
    auth_audit_entry e = {.actor_name = "cli", .action = "user.create", .outcome = "success"};
    /* more than one verify batch; one transaction keeps the test fast */
    assert_int_equal(store_begin(f->st), CC_OK);
    for (int i = 0; i < 1203; i++)
        assert_int_equal(auth_audit_append(f->st, &f->keys, &e, NULL), CC_OK);
    assert_int_equal(store_commit(f->st), CC_OK);
    assert_int_equal(auth_audit_verify(f->st, &f->keys, &rep), CC_OK);
    assert_int_equal(rep.records, 1203);
    raw_sql(f, "DELETE FROM audit WHERE id = 1001");
    expect_tampered(f, &f->keys, 1002, "record 1001 missing");
}

typedef struct {
    fixture *f;
    int n;
    int rc;
} appender;

/* A second process (another node, the CLI) appending at the same time: its own connection. */
static void *append_thread(void *ud)
{
    appender *a = ud;
    char why[256];
    store *st = NULL;
    auth_audit_entry e = {.actor_name = "system", .action = "auth.login", .outcome = "success"};
    a->rc = a->f->kind == STORE_SQLITE
                ? store_open_sqlite(a->f->db, &st, why, sizeof why)
                : store_open_postgres(a->f->pg_conninfo, &st, why, sizeof why);
    for (int i = 0; i < a->n && a->rc == CC_OK; i++) {
        a->rc = store_begin(st);
        if (a->rc == CC_OK)
            a->rc = auth_audit_append(st, &a->f->keys, &e, NULL);
        if (a->rc == CC_OK)
            a->rc = store_commit(st);
        else
            (void)store_rollback(st);
    }
    store_close(st);
    return NULL;
}

static void test_concurrent_appenders(void **state)
{
    fixture *f = *state;
    appender a[4];
    pthread_t t[4];
    auth_audit_report rep;
    for (int i = 0; i < 4; i++) {
        a[i] = (appender){f, 25, CC_OK};
        if (pthread_create(&t[i], NULL, append_thread, &a[i]) != 0)
            abort(); /* cannot fail the test cleanly with threads already running */
    }
    /* join every thread before any assertion: a failing one must not free the fixture under
     * the others */
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(a[i].rc, CC_OK);
    assert_int_equal(auth_audit_verify(f->st, &f->keys, &rep), CC_OK);
    assert_int_equal(rep.records, 100);
}

/* The same cases on each backend. */
#define AUDIT_TESTS(setup)                                                                         \
    {                                                                                              \
        cmocka_unit_test_setup_teardown(test_empty_chain, setup, teardown),                        \
            cmocka_unit_test_setup_teardown(test_intact_chain, setup, teardown),                   \
            cmocka_unit_test_setup_teardown(test_append_invalid, setup, teardown),                 \
            cmocka_unit_test_setup_teardown(test_updated_record, setup, teardown),                 \
            cmocka_unit_test_setup_teardown(test_updated_null_to_empty, setup, teardown),          \
            cmocka_unit_test_setup_teardown(test_updated_ts, setup, teardown),                     \
            cmocka_unit_test_setup_teardown(test_updated_details, setup, teardown),                \
            cmocka_unit_test_setup_teardown(test_deleted_record, setup, teardown),                 \
            cmocka_unit_test_setup_teardown(test_deleted_first_records, setup, teardown),          \
            cmocka_unit_test_setup_teardown(test_swapped_records, setup, teardown),                \
            cmocka_unit_test_setup_teardown(test_grafted_record, setup, teardown),                 \
            cmocka_unit_test_setup_teardown(test_planted_record_zero, setup, teardown),            \
            cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),                      \
            cmocka_unit_test_setup_teardown(test_long_chain_batches, setup, teardown),             \
            cmocka_unit_test_setup_teardown(test_concurrent_appenders, setup, teardown),           \
    }

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = AUDIT_TESTS(setup_sqlite);
    const struct CMUnitTest pg_tests[] = AUDIT_TESTS(setup_pg);
    const char *pg = getenv("CARECOMM_TEST_PG");
    int failed = 0;
    if (cc_crypto_init() != CC_OK)
        return 1;
    failed += cmocka_run_group_tests_name("audit_sqlite", sqlite_tests, NULL, NULL);
    if (pg && *pg)
        failed += cmocka_run_group_tests_name("audit_postgresql", pg_tests, NULL, NULL);
    else
        fprintf(stderr, "test_audit: CARECOMM_TEST_PG not set, PostgreSQL cases not run "
                        "(scripts/run-unit-tests sets it)\n");
    return failed ? 1 : 0;
}
