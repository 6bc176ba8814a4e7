/* store: the backend-neutral half of the storage interface. Every public function checks its
 * arguments here and dispatches to the backend vtable (sqlite.c, postgres.c); SQL written here is
 * portable (it runs unchanged on both engines).
 *
 * Design note — the event log. Events get their seq inside the writer's transaction, and appends
 * are serialised (SQLite: the database write lock; PostgreSQL: an advisory transaction lock taken
 * before nextval), so transactions that append commit in seq order. A reader that remembers the
 * last seq it saw and asks for "seq > last" therefore never skips an event, whichever node or
 * process wrote it. */
#include "store/store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const cc_cfg_key store_config_keys[] = {
    {"store_backend", CC_CFG_STRING, "sqlite", 0, 0, false, "sqlite or postgresql"},
    {"pg_conninfo", CC_CFG_STRING, NULL, 0, 0, true,
     "libpq connection string for the postgresql backend"},
};
const size_t store_config_keys_count = sizeof(store_config_keys) / sizeof(store_config_keys[0]);

/* ---- helpers ------------------------------------------------------------------------------- */

void store__set_err(store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
    va_end(ap);
}

void store__why(char *why, size_t whylen, const char *fmt, ...)
{
    if (!why || whylen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

uint64_t store__fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

int store__rewrite_placeholders(const char *sql, char **out, int *count)
{
    *out = NULL;
    *count = 0;
    if (!sql)
        return CC_ERR_INVALID;
    size_t len = strlen(sql);
    /* Each '?' grows into at most "$" + 10 digits. */
    size_t nq = 0;
    for (const char *p = sql; *p; p++)
        nq += (*p == '?');
    char *buf = cc_malloc(len + nq * 10 + 1);
    if (!buf)
        return CC_ERR_NOMEM;
    size_t o = 0;
    int n = 0;
    const char *p = sql;
    while (*p) {
        char c = *p;
        if (c == '\'' || c == '"') {
            /* A quoted literal or identifier; a doubled quote is an escaped one. */
            buf[o++] = *p++;
            while (*p) {
                if (*p == c && p[1] == c) {
                    buf[o++] = *p++;
                    buf[o++] = *p++;
                } else if (*p == c) {
                    buf[o++] = *p++;
                    break;
                } else {
                    buf[o++] = *p++;
                }
            }
        } else if (c == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                buf[o++] = *p++;
        } else if (c == '/' && p[1] == '*') {
            buf[o++] = *p++;
            buf[o++] = *p++;
            while (*p && !(*p == '*' && p[1] == '/'))
                buf[o++] = *p++;
            if (*p) {
                buf[o++] = *p++;
                buf[o++] = *p++;
            }
        } else if (c == '?') {
            o += (size_t)sprintf(buf + o, "$%d", ++n);
            p++;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = '\0';
    *out = buf;
    *count = n;
    return CC_OK;
}

static bool valid_name(const char *name)
{
    if (!name || !*name || strlen(name) > 63)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

/* ---- open and close ------------------------------------------------------------------------ */

static int open_backend(const store_ops *ops, store_backend kind, const char *target, store **out,
                        char *why, size_t whylen)
{
    *out = NULL;
    store *st = cc_calloc(1, sizeof(*st));
    if (!st) {
        store__why(why, whylen, "out of memory");
        return CC_ERR_NOMEM;
    }
    st->ops = ops;
    st->kind = kind;
    int rc =
        kind == STORE_SQLITE ? store__sqlite_connect(st, target) : store__pg_connect(st, target);
    if (rc != CC_OK) {
        store__why(why, whylen, "%s: %s", ops->name, st->errmsg);
        goto fail;
    }
    rc = store__migrate(st, why, whylen);
    if (rc != CC_OK)
        goto fail;
    *out = st;
    return CC_OK;
fail:
    store_close(st);
    return rc;
}

int store_open_sqlite(const char *path, store **out, char *why, size_t whylen)
{
    if (!out || !path || !*path) {
        if (out)
            *out = NULL;
        store__why(why, whylen, "no database path");
        return CC_ERR_INVALID;
    }
    return open_backend(&store__sqlite_ops, STORE_SQLITE, path, out, why, whylen);
}

int store_open_postgres(const char *conninfo, store **out, char *why, size_t whylen)
{
    if (!out || !conninfo) {
        if (out)
            *out = NULL;
        store__why(why, whylen, "no connection string");
        return CC_ERR_INVALID;
    }
    return open_backend(&store__pg_ops, STORE_POSTGRES, conninfo, out, why, whylen);
}

int store_open_config(const cc_config *cfg, store **out, char *why, size_t whylen)
{
    if (!out)
        return CC_ERR_INVALID;
    *out = NULL;
    const char *backend = cc_config_str(cfg, "store_backend");
    if (!backend || strcmp(backend, "sqlite") == 0) {
        const char *dir = cc_config_str(cfg, "data_dir");
        if (!dir || !*dir) {
            store__why(why, whylen, "data_dir: not set (needed by store_backend = sqlite)");
            return CC_ERR_CONFIG;
        }
        int rc = cc_mkdir_p(dir);
        if (rc != CC_OK) {
            store__why(why, whylen, "data_dir: cannot create %s: %s", dir, cc_strerror(rc));
            return rc;
        }
        char *path = cc_sprintf("%s/carecomm.db", dir);
        if (!path) {
            store__why(why, whylen, "out of memory");
            return CC_ERR_NOMEM;
        }
        rc = store_open_sqlite(path, out, why, whylen);
        cc_free(&path);
        return rc;
    }
    if (strcmp(backend, "postgresql") == 0) {
        const char *ci = cc_config_str(cfg, "pg_conninfo");
        if (!ci || !*ci) {
            store__why(why, whylen,
                       "pg_conninfo: not set (required when store_backend = postgresql)");
            return CC_ERR_CONFIG;
        }
        return store_open_postgres(ci, out, why, whylen);
    }
    store__why(why, whylen, "store_backend: unknown backend \"%s\" (expected sqlite or postgresql)",
               backend);
    return CC_ERR_CONFIG;
}

void store_close(store *st)
{
    if (!st)
        return;
    if (st->ops && st->impl)
        st->ops->close(st);
    cc_free_ptr(st);
}

store_backend store_backend_of(const store *st)
{
    return st->kind;
}

const char *store_errmsg(const store *st)
{
    return st ? st->errmsg : "no store";
}

/* ---- migrations ---------------------------------------------------------------------------- */

int store__known_version(const store_ops *ops)
{
    int v = 0;
    for (const store_migration *m = ops->migrations; m->sql; m++)
        if (m->version > v)
            v = m->version;
    return v;
}

static const char SQL_SCHEMA_VERSION[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

/* One migration in its own transaction; re-checks the version under the lock because another
 * node may have applied it meanwhile. */
static int migrate_one(store *st, const store_migration *m, int known, char *why, size_t whylen)
{
    int64_t cur = 0;
    int rc = store_begin(st);
    if (rc != CC_OK)
        goto fail;
    if (st->ops->migrations_lock_sql && (rc = st->ops->script(st, st->ops->migrations_lock_sql)))
        goto fail;
    if ((rc = st->ops->script(st, st->ops->migrations_table_sql)) != CC_OK)
        goto fail;
    if ((rc = store_query_int(st, SQL_SCHEMA_VERSION, NULL, 0, &cur)) != CC_OK)
        goto fail;
    if (cur > known) {
        store_rollback(st);
        store__why(why, whylen, "database schema version %lld is newer than this build knows (%d)",
                   (long long)cur, known);
        return CC_ERR_STORE;
    }
    if (cur < m->version) {
        if ((rc = st->ops->script(st, m->sql)) != CC_OK)
            goto fail;
        store_val p[] = {SV_INT(m->version), SV_INT(cc_now_ms())};
        rc = store_exec(st, "INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)", p,
                        2, NULL);
        if (rc != CC_OK)
            goto fail;
    }
    if ((rc = store_commit(st)) != CC_OK)
        goto fail;
    return CC_OK;
fail:
    store__why(why, whylen, "migration %d: %s", m->version, st->errmsg);
    store_rollback(st);
    return rc ? rc : CC_ERR_STORE;
}

int store__migrate(store *st, char *why, size_t whylen)
{
    int known = store__known_version(st->ops);
    for (const store_migration *m = st->ops->migrations; m->sql; m++) {
        int rc = migrate_one(st, m, known, why, whylen);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

int store_schema_version(store *st, int64_t *version)
{
    return store_query_int(st, SQL_SCHEMA_VERSION, NULL, 0, version);
}

/* ---- transactions -------------------------------------------------------------------------- */

int store_begin(store *st)
{
    if (st->in_tx) {
        store__set_err(st, "a transaction is already open");
        return CC_ERR_INVALID;
    }
    int rc = st->ops->script(st, st->ops->begin_sql);
    if (rc == CC_OK)
        st->in_tx = true;
    return rc;
}

int store_commit(store *st)
{
    int rc = st->ops->script(st, "COMMIT");
    if (rc != CC_OK) {
        /* SQLite may leave the transaction open after a failed COMMIT: end it here so that
         * "the data is not there" holds whether or not the caller rolls back. */
        char keep[sizeof(st->errmsg)];
        memcpy(keep, st->errmsg, sizeof(keep));
        st->ops->script(st, "ROLLBACK");
        memcpy(st->errmsg, keep, sizeof(keep));
    }
    st->in_tx = false;
    return rc;
}

int store_rollback(store *st)
{
    int rc = st->ops->script(st, "ROLLBACK");
    st->in_tx = false;
    return rc;
}

static int savepoint_cmd(store *st, const char *verb, const char *name)
{
    if (!valid_name(name)) {
        store__set_err(st, "invalid savepoint name");
        return CC_ERR_INVALID;
    }
    char sql[128];
    snprintf(sql, sizeof(sql), "%s %s", verb, name);
    return st->ops->script(st, sql);
}

int store_savepoint(store *st, const char *name)
{
    return savepoint_cmd(st, "SAVEPOINT", name);
}

int store_release(store *st, const char *name)
{
    return savepoint_cmd(st, "RELEASE SAVEPOINT", name);
}

int store_rollback_to(store *st, const char *name)
{
    return savepoint_cmd(st, "ROLLBACK TO SAVEPOINT", name);
}

/* ---- queries ------------------------------------------------------------------------------- */

int store_row_cols(const store_row *r)
{
    return r->ncols;
}

bool store_row_is_null(const store_row *r, int col)
{
    if (col < 0 || col >= r->ncols)
        return true;
    return r->ops->row_is_null(r, col);
}

int64_t store_row_int(const store_row *r, int col)
{
    if (col < 0 || col >= r->ncols)
        return 0;
    return r->ops->row_int(r, col);
}

const char *store_row_text(const store_row *r, int col)
{
    if (col < 0 || col >= r->ncols)
        return NULL;
    return r->ops->row_text(r, col);
}

static int check_params(store *st, const char *sql, const store_val *params, size_t nparams)
{
    if (!sql || (nparams && !params)) {
        store__set_err(st, "invalid arguments");
        return CC_ERR_INVALID;
    }
    return CC_OK;
}

int store_exec(store *st, const char *sql, const store_val *params, size_t nparams,
               int64_t *changes)
{
    if (changes)
        *changes = 0;
    int rc = check_params(st, sql, params, nparams);
    if (rc != CC_OK)
        return rc;
    return st->ops->run(st, sql, params, nparams, NULL, NULL, changes);
}

int store_query(store *st, const char *sql, const store_val *params, size_t nparams,
                store_row_fn fn, void *ud)
{
    int rc = check_params(st, sql, params, nparams);
    if (rc != CC_OK)
        return rc;
    return st->ops->run(st, sql, params, nparams, fn, ud, NULL);
}

typedef struct {
    bool found;
    int64_t i;
    char *s;
    bool want_text;
    bool nomem;
} first_cell;

static int first_cell_row(void *ud, const store_row *row)
{
    first_cell *fc = ud;
    fc->found = true;
    if (store_row_cols(row) < 1)
        return 1;
    if (fc->want_text) {
        const char *t = store_row_text(row, 0);
        if (t && !(fc->s = cc_strdup(t)))
            fc->nomem = true;
    } else {
        fc->i = store_row_int(row, 0);
    }
    return 1;
}

int store_query_int(store *st, const char *sql, const store_val *params, size_t nparams,
                    int64_t *out)
{
    first_cell fc = {0};
    *out = 0;
    int rc = store_query(st, sql, params, nparams, first_cell_row, &fc);
    if (rc != CC_OK)
        return rc;
    if (!fc.found)
        return CC_ERR_NOT_FOUND;
    *out = fc.i;
    return CC_OK;
}

int store_query_text(store *st, const char *sql, const store_val *params, size_t nparams,
                     char **out)
{
    first_cell fc = {.want_text = true};
    *out = NULL;
    int rc = store_query(st, sql, params, nparams, first_cell_row, &fc);
    if (rc != CC_OK) {
        cc_free(&fc.s);
        return rc;
    }
    if (fc.nomem)
        return CC_ERR_NOMEM;
    if (!fc.found)
        return CC_ERR_NOT_FOUND;
    *out = fc.s;
    return CC_OK;
}

/* ---- event log ----------------------------------------------------------------------------- */

/* The compact JSON of an event payload in a new string (cc_free). json_dumpb into our own
 * buffer: json_dumps would allocate with jansson's allocator. */
static int event_text(store *st, const json_t *payload, char **out)
{
    size_t n = json_dumpb(payload, NULL, 0, JSON_COMPACT);
    if (n == 0) {
        store__set_err(st, "event payload cannot be encoded");
        return CC_ERR_INVALID;
    }
    char *text = cc_malloc(n + 1);
    if (!text)
        return CC_ERR_NOMEM;
    if (json_dumpb(payload, text, n, JSON_COMPACT) != n) {
        cc_free(&text);
        store__set_err(st, "event payload cannot be encoded");
        return CC_ERR_INVALID;
    }
    text[n] = '\0';
    *out = text;
    return CC_OK;
}

int store_event_append(store *st, const char *type, const char *scope, const json_t *payload,
                       int64_t *seq_out)
{
    if (seq_out)
        *seq_out = 0;
    if (!type || !*type || !scope || !*scope || !json_is_object(payload)) {
        store__set_err(st, "event needs a type, a scope and an object payload");
        return CC_ERR_INVALID;
    }
    char *text = NULL;
    int rc = event_text(st, payload, &text);
    if (rc != CC_OK)
        return rc;
    int64_t seq = 0;
    rc = st->ops->event_append(st, cc_now_ms(), type, scope, text, &seq);
    cc_free(&text);
    if (rc == CC_OK && seq_out)
        *seq_out = seq;
    return rc;
}

int store_event_redact(store *st, int64_t seq, const json_t *payload)
{
    if (!st->in_tx || !json_is_object(payload)) {
        store__set_err(st, "event redaction needs a transaction and an object payload");
        return CC_ERR_INVALID;
    }
    char *text = NULL;
    int rc = event_text(st, payload, &text);
    if (rc != CC_OK)
        return rc;
    int64_t changed = 0;
    store_val p[] = {SV_TEXT(text), SV_INT(seq)};
    rc = store_exec(st, "UPDATE events SET payload = ? WHERE seq = ?", p, 2, &changed);
    cc_free(&text);
    return rc == CC_OK && changed == 0 ? CC_ERR_NOT_FOUND : rc;
}

typedef struct {
    store_event_fn fn;
    void *ud;
} event_read_ctx;

static int event_row(void *ud, const store_row *row)
{
    event_read_ctx *c = ud;
    store_event ev = {
        .seq = store_row_int(row, 0),
        .ts = store_row_int(row, 1),
        .type = store_row_text(row, 2),
        .scope = store_row_text(row, 3),
        .payload = store_row_text(row, 4),
    };
    if (!ev.type || !ev.scope || !ev.payload)
        return CC_ERR_STORE;
    return c->fn(c->ud, &ev);
}

int store_event_read(store *st, int64_t after_seq, int limit, store_event_fn fn, void *ud)
{
    if (!fn || limit <= 0) {
        store__set_err(st, "event read needs a callback and a positive limit");
        return CC_ERR_INVALID;
    }
    event_read_ctx c = {fn, ud};
    store_val p[] = {SV_INT(after_seq), SV_INT(limit)};
    return store_query(st,
                       "SELECT seq, ts, type, scope, payload FROM events WHERE seq > ? "
                       "ORDER BY seq LIMIT ?",
                       p, 2, event_row, &c);
}

int store_event_head(store *st, int64_t *seq_out)
{
    return store_query_int(st, "SELECT COALESCE(MAX(seq), 0) FROM events", NULL, 0, seq_out);
}

int store_chain_lock(store *st, const char *chain)
{
    if (!chain || !*chain) {
        store__set_err(st, "chain lock needs a name");
        return CC_ERR_INVALID;
    }
    if (!st->in_tx) {
        store__set_err(st, "chain lock outside a transaction");
        return CC_ERR_INVALID;
    }
    return st->ops->chain_lock(st, chain);
}

int store_ping(store *st)
{
    int64_t one = 0;
    return store_query_int(st, "SELECT 1", NULL, 0, &one);
}

int store_backup(store *st, const char *dest_path)
{
    if (!dest_path || !*dest_path) {
        store__set_err(st, "backup needs a destination path");
        return CC_ERR_INVALID;
    }
    if (!st->ops->backup) {
        store__set_err(st, "online backup is for SQLite; use pg_dump for PostgreSQL");
        return CC_ERR_INVALID;
    }
    return st->ops->backup(st, dest_path);
}
