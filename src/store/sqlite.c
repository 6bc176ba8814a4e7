/* store: the SQLite backend (WAL, synchronous=FULL, BEGIN IMMEDIATE, a small prepared-statement
 * cache), plus online backup and restore of a SQLite database file. */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STMT_CACHE 64
#define BACKUP_PAGES 1024

typedef struct {
    char *sql;
    uint64_t hash;
    sqlite3_stmt *stmt;
    bool busy;     /* in use further up the stack (a query from inside a row callback) */
    uint64_t used; /* for least-recently-used eviction */
} cached_stmt;

typedef struct {
    sqlite3 *db;
    cached_stmt cache[STMT_CACHE];
    uint64_t tick;
} sq_impl;

static sqlite3 *db_of(store *st)
{
    return ((sq_impl *)st->impl)->db;
}

static int map_err(store *st, int rc)
{
    store__set_err(st, "%s", sqlite3_errmsg(db_of(st)));
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return CC_ERR_EXISTS;
    if (rc == SQLITE_NOMEM)
        return CC_ERR_NOMEM;
    return CC_ERR_STORE;
}

/* Creates the file with mode 0600 if it does not exist: it holds credentials. */
static int precreate(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return CC_OK;
    }
    return errno == EEXIST ? CC_OK : CC_ERR_IO;
}

static int open_db(const char *path, int flags, sqlite3 **out, char *err, size_t errlen)
{
    *out = NULL;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return CC_ERR_STORE;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    *out = db;
    return CC_OK;
}

int store__sqlite_connect(store *st, const char *path)
{
    sq_impl *im = cc_calloc(1, sizeof(*im));
    if (!im) {
        store__set_err(st, "out of memory");
        return CC_ERR_NOMEM;
    }
    if (precreate(path) != CC_OK) {
        store__set_err(st, "%s: %s", path, strerror(errno));
        cc_free(&im);
        return CC_ERR_IO;
    }
    int rc = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &im->db, st->errmsg,
                     sizeof(st->errmsg));
    if (rc != CC_OK) {
        cc_free(&im);
        return rc;
    }
    st->impl = im;
    char *mode = NULL;
    /* Two processes opening a new database at once (the daemon and the CLI, two CLIs) race to
     * switch it to WAL; SQLite answers the loser SQLITE_BUSY at once, without its busy handler. */
    for (int tries = 0;; tries++) {
        rc = store_query_text(st, "PRAGMA journal_mode=WAL", NULL, 0, &mode);
        int code = sqlite3_errcode(im->db);
        if (rc == CC_OK || (code != SQLITE_BUSY && code != SQLITE_LOCKED) || tries >= 100)
            break;
        sqlite3_sleep(50);
    }
    if (rc == CC_OK && (!mode || strcmp(mode, "wal") != 0)) {
        store__set_err(st, "%s: cannot switch to WAL mode (got %s)", path, mode ? mode : "?");
        rc = CC_ERR_STORE;
    }
    cc_free(&mode);
    if (rc == CC_OK)
        rc = st->ops->script(st, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
    return rc;
}

static void sq_close(store *st)
{
    sq_impl *im = st->impl;
    for (int i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(im->cache[i].stmt);
        cc_free(&im->cache[i].sql);
    }
    sqlite3_close_v2(im->db);
    cc_free(&im);
    st->impl = NULL;
}

/* ---- statements ---------------------------------------------------------------------------- */

static bool only_blank(const char *p)
{
    for (; p && *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != ';')
            return false;
    return true;
}

/* Returns a statement ready to bind: from the cache when free, else freshly prepared. *slot is
 * the cache slot (-1 when the statement is not cached and must be finalized). */
static int stmt_get(store *st, const char *sql, sqlite3_stmt **out, int *slot)
{
    sq_impl *im = st->impl;
    uint64_t h = store__fnv1a64(sql);
    int victim = -1;
    *slot = -1;
    for (int i = 0; i < STMT_CACHE; i++) {
        cached_stmt *c = &im->cache[i];
        if (c->stmt && c->hash == h && strcmp(c->sql, sql) == 0) {
            if (c->busy) {
                victim = -1; /* nested use of the same SQL: a private statement */
                break;
            }
            c->busy = true;
            c->used = ++im->tick;
            *out = c->stmt;
            *slot = i;
            return CC_OK;
        }
        if (!c->busy && (victim < 0 || !c->stmt ||
                         (im->cache[victim].stmt && c->used < im->cache[victim].used)))
            victim = i;
    }
    const char *tail = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(im->db, sql, -1, &stmt, &tail);
    if (rc != SQLITE_OK)
        return map_err(st, rc);
    if (!stmt || !only_blank(tail)) {
        sqlite3_finalize(stmt);
        store__set_err(st, "expected exactly one SQL statement");
        return CC_ERR_INVALID;
    }
    *out = stmt;
    if (victim >= 0) {
        char *copy = cc_strdup(sql);
        if (copy) {
            cached_stmt *c = &im->cache[victim];
            sqlite3_finalize(c->stmt);
            cc_free(&c->sql);
            *c = (cached_stmt){copy, h, stmt, true, ++im->tick};
            *slot = victim;
        }
    }
    return CC_OK;
}

static void stmt_put(store *st, sqlite3_stmt *stmt, int slot)
{
    sq_impl *im = st->impl;
    if (slot < 0) {
        sqlite3_finalize(stmt);
        return;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    im->cache[slot].busy = false;
}

static int bind_params(store *st, sqlite3_stmt *stmt, const store_val *params, size_t n)
{
    if ((size_t)sqlite3_bind_parameter_count(stmt) != n) {
        store__set_err(st, "statement has %d placeholders, %zu values given",
                       sqlite3_bind_parameter_count(stmt), n);
        return CC_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        int idx = (int)i + 1, rc;
        switch (params[i].kind) {
        case STORE_INT:
            rc = sqlite3_bind_int64(stmt, idx, params[i].i);
            break;
        case STORE_TEXT:
            rc = params[i].s ? sqlite3_bind_text(stmt, idx, params[i].s, -1, SQLITE_STATIC)
                             : sqlite3_bind_null(stmt, idx);
            break;
        default:
            rc = sqlite3_bind_null(stmt, idx);
            break;
        }
        if (rc != SQLITE_OK)
            return map_err(st, rc);
    }
    return CC_OK;
}

static int sq_run(store *st, const char *sql, const store_val *params, size_t nparams,
                  store_row_fn fn, void *ud, int64_t *changes)
{
    sqlite3_stmt *stmt = NULL;
    int slot = -1;
    int rc = stmt_get(st, sql, &stmt, &slot);
    if (rc != CC_OK)
        return rc;
    rc = bind_params(st, stmt, params, nparams);
    if (rc != CC_OK)
        goto out;
    store_row row = {&store__sqlite_ops, stmt, 0, sqlite3_column_count(stmt)};
    for (;;) {
        int s = sqlite3_step(stmt);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            rc = map_err(st, s);
            goto out;
        }
        if (fn) {
            int r = fn(ud, &row);
            if (r < 0) {
                rc = r;
                goto out;
            }
            if (r > 0)
                break;
        }
    }
    if (changes)
        *changes = sqlite3_stmt_readonly(stmt) ? 0 : sqlite3_changes64(db_of(st));
out:
    stmt_put(st, stmt, slot);
    return rc;
}

static int sq_script(store *st, const char *sql)
{
    /* ROLLBACK with no transaction open (e.g. after a failed COMMIT that already ended it) is
     * not an error for us. */
    if (strcmp(sql, "ROLLBACK") == 0 && sqlite3_get_autocommit(db_of(st)))
        return CC_OK;
    int rc = sqlite3_exec(db_of(st), sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? CC_OK : map_err(st, sqlite3_extended_errcode(db_of(st)));
}

typedef struct {
    int64_t seq;
} seq_ctx;

static int seq_row(void *ud, const store_row *row)
{
    ((seq_ctx *)ud)->seq = store_row_int(row, 0);
    return 0;
}

static int sq_event_append(store *st, int64_t ts, const char *type, const char *scope,
                           const char *payload, int64_t *seq_out)
{
    /* Inside BEGIN IMMEDIATE the write lock orders appends; outside a transaction the
     * statement is its own transaction and takes the same lock. */
    seq_ctx c = {0};
    store_val p[] = {SV_INT(ts), SV_TEXT(type), SV_TEXT(scope), SV_TEXT(payload)};
    int rc = sq_run(st,
                    "INSERT INTO events(ts, type, scope, payload) VALUES (?, ?, ?, ?) "
                    "RETURNING seq",
                    p, 4, seq_row, &c, NULL);
    *seq_out = c.seq;
    return rc;
}

static int sq_chain_lock(store *st, const char *chain)
{
    (void)st;
    (void)chain;
    return CC_OK; /* the write lock of BEGIN IMMEDIATE already serialises writers */
}

/* ---- rows ---------------------------------------------------------------------------------- */

static bool sq_row_is_null(const store_row *r, int col)
{
    return sqlite3_column_type(r->h, col) == SQLITE_NULL;
}

static int64_t sq_row_int(const store_row *r, int col)
{
    return sqlite3_column_int64(r->h, col);
}

static const char *sq_row_text(const store_row *r, int col)
{
    return (const char *)sqlite3_column_text(r->h, col);
}

/* ---- backup and restore -------------------------------------------------------------------- */

static int fsync_dir_of(const char *path)
{
    char *dir = cc_strdup(path);
    if (!dir)
        return CC_ERR_NOMEM;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cc_free(&dir);
    if (fd < 0)
        return CC_ERR_IO;
    int rc = fsync(fd) == 0 ? CC_OK : CC_ERR_IO;
    close(fd);
    return rc;
}

static void unlink_sidecars(const char *path)
{
    static const char *const sfx[] = {"-journal", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        char *p = cc_sprintf("%s%s", path, sfx[i]);
        if (p)
            unlink(p);
        cc_free(&p);
    }
}

/* Copies the database src (open) into a new file at dest via dest + ".tmp" and a rename. Copies
 * in chunks with short sleeps between them so a busy source is not held up. */
static int backup_to(sqlite3 *src, const char *dest, char *err, size_t errlen)
{
    int rc = CC_ERR_NOMEM;
    sqlite3 *d = NULL;
    char *tmp = cc_sprintf("%s.tmp", dest);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    unlink(tmp);
    unlink_sidecars(tmp);
    if (precreate(tmp) != CC_OK) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = CC_ERR_IO;
        goto out;
    }
    if ((rc = open_db(tmp, SQLITE_OPEN_READWRITE, &d, err, errlen)) != CC_OK)
        goto out;
    sqlite3_exec(d, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    sqlite3_backup *b = sqlite3_backup_init(d, "main", src, "main");
    if (!b) {
        snprintf(err, errlen, "backup: %s", sqlite3_errmsg(d));
        rc = CC_ERR_STORE;
        goto out;
    }
    int s;
    do {
        s = sqlite3_backup_step(b, BACKUP_PAGES);
        if (s == SQLITE_OK || s == SQLITE_BUSY || s == SQLITE_LOCKED)
            sqlite3_sleep(s == SQLITE_OK ? 1 : 20);
    } while (s == SQLITE_OK || s == SQLITE_BUSY || s == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (s != SQLITE_DONE) {
        snprintf(err, errlen, "backup: %s", sqlite3_errstr(s));
        rc = CC_ERR_STORE;
        goto out;
    }
    if (sqlite3_close(d) != SQLITE_OK) {
        snprintf(err, errlen, "backup: %s", sqlite3_errmsg(d));
        rc = CC_ERR_STORE;
        goto out;
    }
    d = NULL;
    if (rename(tmp, dest) != 0) {
        snprintf(err, errlen, "%s: %s", dest, strerror(errno));
        rc = CC_ERR_IO;
        goto out;
    }
    unlink_sidecars(tmp);
    rc = fsync_dir_of(dest);
    if (rc != CC_OK)
        snprintf(err, errlen, "%s: cannot sync the folder", dest);
out:
    if (d) {
        sqlite3_close_v2(d);
        unlink(tmp);
        unlink_sidecars(tmp);
    }
    cc_free(&tmp);
    return rc;
}

static int sq_backup(store *st, const char *dest_path)
{
    if (st->in_tx) {
        store__set_err(st, "backup inside a transaction");
        return CC_ERR_INVALID;
    }
    /* One read transaction over the whole copy: a consistent snapshot that writes of other
     * connections (WAL) neither block nor restart. */
    int rc = sq_script(st, "BEGIN");
    int64_t n = 0;
    if (rc == CC_OK)
        rc = store_query_int(st, "SELECT count(*) FROM sqlite_master", NULL, 0, &n);
    if (rc == CC_OK)
        rc = backup_to(db_of(st), dest_path, st->errmsg, sizeof(st->errmsg));
    int rb = sq_script(st, "ROLLBACK");
    return rc != CC_OK ? rc : rb;
}

typedef struct {
    int rows;
    bool ok;
} integrity_ctx;

static int integrity_row(void *ud, const store_row *row)
{
    integrity_ctx *c = ud;
    const char *t = store_row_text(row, 0);
    c->rows++;
    c->ok = c->rows == 1 && t && strcmp(t, "ok") == 0;
    return 0;
}

/* Checks that src is a healthy carecomm database with a schema version this build knows. */
static int restore_check(store *st, char *why, size_t whylen)
{
    integrity_ctx ic = {0};
    int rc = sq_run(st, "PRAGMA integrity_check", NULL, 0, integrity_row, &ic, NULL);
    if (rc != CC_OK || !ic.ok) {
        store__why(why, whylen, "backup fails the integrity check%s%s", rc ? ": " : "",
                   rc ? st->errmsg : "");
        return CC_ERR_TAMPERED;
    }
    int64_t exists = 0;
    rc = store_query_int(st,
                         "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                         "name = 'schema_migrations'",
                         NULL, 0, &exists);
    if (rc != CC_OK || !exists) {
        store__why(why, whylen, "not a carecomm database (no schema_migrations table)");
        return CC_ERR_INVALID;
    }
    int64_t v = 0;
    int known = store__known_version(&store__sqlite_ops);
    rc = store_schema_version(st, &v);
    if (rc != CC_OK || v < 1 || v > known) {
        store__why(why, whylen, "unknown schema version %lld (this build knows 1..%d)",
                   (long long)v, known);
        return CC_ERR_INVALID;
    }
    return CC_OK;
}

/* Moves db_path (and its -wal, which may hold committed pages) to db_path.before-restore. */
static int set_aside(const char *db_path, char *why, size_t whylen)
{
    int rc = CC_ERR_NOMEM;
    char *old = cc_sprintf("%s.before-restore", db_path);
    char *wal = cc_sprintf("%s-wal", db_path);
    char *oldwal = cc_sprintf("%s.before-restore-wal", db_path);
    char *shm = cc_sprintf("%s-shm", db_path);
    if (!old || !wal || !oldwal || !shm)
        goto out;
    unlink_sidecars(old); /* a stale WAL would be replayed over the wrong file */
    rc = CC_OK;
    if (rename(db_path, old) != 0 && errno != ENOENT) {
        store__why(why, whylen, "%s: cannot move aside: %s", db_path, strerror(errno));
        rc = CC_ERR_IO;
        goto out;
    }
    if (rename(wal, oldwal) != 0 && errno != ENOENT) {
        store__why(why, whylen, "%s: cannot move aside: %s", wal, strerror(errno));
        rc = CC_ERR_IO;
        goto out;
    }
    unlink(shm);
    char *journal = cc_sprintf("%s-journal", db_path);
    if (journal)
        unlink(journal);
    cc_free(&journal);
out:
    cc_free(&old);
    cc_free(&wal);
    cc_free(&oldwal);
    cc_free(&shm);
    return rc;
}

int store_restore_sqlite(const char *src_path, const char *db_path, char *why, size_t whylen)
{
    if (!src_path || !db_path || !*src_path || !*db_path) {
        store__why(why, whylen, "restore needs a backup file and a database path");
        return CC_ERR_INVALID;
    }
    if (access(src_path, R_OK) != 0) {
        store__why(why, whylen, "%s: %s", src_path, strerror(errno));
        return CC_ERR_NOT_FOUND;
    }
    store tmp = {.ops = &store__sqlite_ops, .kind = STORE_SQLITE};
    sq_impl *im = cc_calloc(1, sizeof(*im));
    if (!im) {
        store__why(why, whylen, "out of memory");
        return CC_ERR_NOMEM;
    }
    tmp.impl = im;
    int rc = open_db(src_path, SQLITE_OPEN_READONLY, &im->db, tmp.errmsg, sizeof(tmp.errmsg));
    if (rc != CC_OK) {
        store__why(why, whylen, "%s", tmp.errmsg);
        goto out;
    }
    if ((rc = restore_check(&tmp, why, whylen)) != CC_OK)
        goto out;
    if ((rc = set_aside(db_path, why, whylen)) != CC_OK)
        goto out;
    /* The backup API rather than a file copy: it also takes pages still in the source's WAL. */
    if ((rc = backup_to(im->db, db_path, tmp.errmsg, sizeof(tmp.errmsg))) != CC_OK)
        store__why(why, whylen, "%s", tmp.errmsg);
out:
    sq_close(&tmp);
    return rc;
}

const store_ops store__sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .run = sq_run,
    .script = sq_script,
    .begin_sql = "BEGIN IMMEDIATE",
    .event_append = sq_event_append,
    .chain_lock = sq_chain_lock,
    .backup = sq_backup,
    .migrations_table_sql = "CREATE TABLE IF NOT EXISTS schema_migrations("
                            "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    .migrations_lock_sql = NULL,
    .migrations = store_sqlite_migrations,
    .row_is_null = sq_row_is_null,
    .row_int = sq_row_int,
    .row_text = sq_row_text,
};
