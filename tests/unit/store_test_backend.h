/* Test backends shared by the store unit tests (test_store.c, test_store_worker.c,
 * test_msg_store.c): SQLite in a temporary folder, PostgreSQL in a fresh database of the server
 * named by CARECOMM_TEST_PG. Included once by each test file, after its system headers. */
#ifndef CC_STORE_TEST_BACKEND_H
#define CC_STORE_TEST_BACKEND_H

typedef struct {
    store_backend kind;
    char dir[256];
    char dbpath[320];
    char *pg_conninfo; /* of the test database */
    char *pg_admin;
    char dbname[40];
} test_backend;

static test_backend tb;

static void random_hex(char *out, size_t nbytes)
{
    unsigned char b[32];
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, b, nbytes) != (ssize_t)nbytes) {
        for (size_t i = 0; i < nbytes; i++)
            b[i] = (unsigned char)(rand() ^ getpid());
    }
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* admin conninfo with dbname replaced, as key='value' pairs. */
static char *conninfo_with_db(const char *admin, const char *db)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(admin, &err);
    if (!opts) {
        fprintf(stderr, "CARECOMM_TEST_PG: %s\n", err ? err : "cannot parse");
        PQfreemem(err);
        return NULL;
    }
    cc_buf b = {0};
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
    char *s = cc_strndup(b.data, b.len);
    cc_buf_free(&b);
    return s;
}

static int admin_exec(const char *sql)
{
    PGconn *c = PQconnectdb(tb.pg_admin);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "CARECOMM_TEST_PG: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int group_setup_sqlite(void **state)
{
    (void)state;
    memset(&tb, 0, sizeof(tb));
    tb.kind = STORE_SQLITE;
    snprintf(tb.dir, sizeof(tb.dir), "/tmp/cc_test_store_XXXXXX");
    if (!mkdtemp(tb.dir))
        return -1;
    snprintf(tb.dbpath, sizeof(tb.dbpath), "%s/test.db", tb.dir);
    return 0;
}

static int group_setup_pg(void **state)
{
    (void)state;
    memset(&tb, 0, sizeof(tb));
    tb.kind = STORE_POSTGRES;
    const char *admin = getenv("CARECOMM_TEST_PG");
    if (!admin || !*admin) {
        fprintf(stderr, "FAIL: CARECOMM_TEST_PG is not set. The PostgreSQL tests need a server "
                        "where they may CREATE DATABASE:\n"
                        "  export CARECOMM_TEST_PG=\"$(scripts/pg-test-server start /tmp/pg)\"\n"
                        "(scripts/run-unit-tests does this for you).\n");
        return -1;
    }
    snprintf(tb.dir, sizeof(tb.dir), "/tmp/cc_test_store_XXXXXX");
    if (!mkdtemp(tb.dir))
        return -1;
    tb.pg_admin = cc_strdup(admin);
    char hex[17];
    random_hex(hex, 8);
    snprintf(tb.dbname, sizeof(tb.dbname), "cc_test_%s", hex);
    char sql[96];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", tb.dbname);
    if (admin_exec(sql) != 0)
        return -1;
    tb.pg_conninfo = conninfo_with_db(admin, tb.dbname);
    return tb.pg_conninfo ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = 0;
    if (tb.kind == STORE_POSTGRES && tb.dbname[0]) {
        char sql[96];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", tb.dbname);
        rc = admin_exec(sql);
    }
    if (tb.dir[0])
        nftw(tb.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    cc_free(&tb.pg_conninfo);
    cc_free(&tb.pg_admin);
    return rc;
}

static int tb_open(store **out)
{
    char why[256] = "";
    int rc = tb.kind == STORE_SQLITE ? store_open_sqlite(tb.dbpath, out, why, sizeof(why))
                                     : store_open_postgres(tb.pg_conninfo, out, why, sizeof(why));
    if (rc != CC_OK)
        fprintf(stderr, "open: %s\n", why);
    return rc;
}

#endif
