/* store: the PostgreSQL backend (libpq, one connection, text parameters and results). A broken
 * connection is reset once before a statement fails; inside a transaction it is not (the
 * transaction is gone), and the statement fails so that the caller rolls back. */
#include "store/store_internal.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INT8OID 20
/* Advisory lock keys (two-int form): class 0x63630001 = the event log, 0x63630002 = hash chains,
 * 0x63630003 = migrations. */
#define LOCK_EVENTS "SELECT pg_advisory_xact_lock(1667432449, 0)"
#define LOCK_CHAIN_CLASS 1667432450
#define LOCK_MIGRATIONS "SELECT pg_advisory_xact_lock(1667432451, 0)"

typedef struct {
    PGconn *conn;
} pg_impl;

static PGconn *conn_of(store *st)
{
    return ((pg_impl *)st->impl)->conn;
}

static void set_pg_err(store *st, const char *msg)
{
    store__set_err(st, "%s", msg && *msg ? msg : "unknown PostgreSQL error");
    size_t n = strlen(st->errmsg);
    while (n > 0 && (st->errmsg[n - 1] == '\n' || st->errmsg[n - 1] == ' '))
        st->errmsg[--n] = '\0';
}

static void quiet_notices(void *arg, const char *message)
{
    (void)arg; /* library code never logs; NOTICEs (e.g. "already exists, skipping") are noise */
    (void)message;
}

int store__pg_connect(store *st, const char *conninfo)
{
    pg_impl *im = cc_calloc(1, sizeof(*im));
    if (!im) {
        store__set_err(st, "out of memory");
        return CC_ERR_NOMEM;
    }
    st->impl = im;
    /* Ours first, then the user's string (expanded from dbname), so the user's values win.
     * A connect timeout: without one, a reset towards a vanished host blocks the worker for
     * minutes. */
    const char *const keys[] = {"client_encoding", "application_name", "connect_timeout", "dbname",
                                NULL};
    const char *const vals[] = {"UTF8", "carecomm", "10", conninfo, NULL};
    im->conn = PQconnectdbParams(keys, vals, 1);
    if (!im->conn) {
        store__set_err(st, "out of memory");
        return CC_ERR_NOMEM;
    }
    PQsetNoticeProcessor(im->conn, quiet_notices, NULL);
    if (PQstatus(im->conn) != CONNECTION_OK) {
        set_pg_err(st, PQerrorMessage(im->conn));
        return CC_ERR_STORE;
    }
    return CC_OK;
}

static void pg_close(store *st)
{
    pg_impl *im = st->impl;
    if (im->conn)
        PQfinish(im->conn);
    cc_free(&im);
    st->impl = NULL;
}

/* Makes sure the connection is up before a statement: reset once when it broke outside a
 * transaction. */
static int ensure_conn(store *st)
{
    PGconn *c = conn_of(st);
    if (PQstatus(c) == CONNECTION_OK)
        return CC_OK;
    if (st->in_tx) {
        store__set_err(st, "connection to PostgreSQL lost inside a transaction");
        return CC_ERR_STORE;
    }
    PQreset(c);
    if (PQstatus(c) != CONNECTION_OK) {
        set_pg_err(st, PQerrorMessage(c));
        return CC_ERR_STORE;
    }
    return CC_OK;
}

/* A statement that failed because the connection broke may be sent again when that cannot apply
 * a write twice: outside a transaction, a BEGIN or a SELECT. */
static bool retryable(store *st, const char *sql)
{
    if (st->in_tx || PQstatus(conn_of(st)) == CONNECTION_OK)
        return false;
    while (isspace((unsigned char)*sql))
        sql++;
    return strncasecmp(sql, "SELECT", 6) == 0 || strcasecmp(sql, st->ops->begin_sql) == 0;
}

static int result_err(store *st, PGresult *res)
{
    set_pg_err(st, res ? PQresultErrorMessage(res) : PQerrorMessage(conn_of(st)));
    if (!res)
        return PQstatus(conn_of(st)) == CONNECTION_OK ? CC_ERR_NOMEM : CC_ERR_STORE;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state && strcmp(state, "23505") == 0)
        return CC_ERR_EXISTS;
    return CC_ERR_STORE;
}

static PGresult *exec_params(store *st, const char *sql, int n, const Oid *types,
                             const char *const *values)
{
    PGresult *res = PQexecParams(conn_of(st), sql, n, types, values, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(res);
    if ((s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) && retryable(st, sql) &&
        ensure_conn(st) == CC_OK) {
        PQclear(res);
        res = PQexecParams(conn_of(st), sql, n, types, values, NULL, NULL, 0);
    }
    return res;
}

static int pg_run(store *st, const char *sql, const store_val *params, size_t nparams,
                  store_row_fn fn, void *ud, int64_t *changes)
{
    char *q = NULL;
    int count = 0, rc;
    const char **values = NULL;
    Oid *types = NULL;
    char(*ints)[24] = NULL;
    PGresult *res = NULL;
    if ((rc = store__rewrite_placeholders(sql, &q, &count)) != CC_OK)
        return rc;
    if ((size_t)count != nparams) {
        store__set_err(st, "statement has %d placeholders, %zu values given", count, nparams);
        rc = CC_ERR_INVALID;
        goto out;
    }
    if (nparams) {
        values = cc_calloc(nparams, sizeof(*values));
        types = cc_calloc(nparams, sizeof(*types));
        ints = cc_calloc(nparams, sizeof(*ints));
        if (!values || !types || !ints) {
            rc = CC_ERR_NOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < nparams; i++) {
        /* Integers are typed bigint so "? IS NULL" or arithmetic resolve; text stays untyped
         * so the server infers it from the context like a literal. */
        if (params[i].kind == STORE_INT) {
            snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)params[i].i);
            values[i] = ints[i];
            types[i] = INT8OID;
        } else if (params[i].kind == STORE_TEXT) {
            values[i] = params[i].s;
        }
    }
    if ((rc = ensure_conn(st)) != CC_OK)
        goto out;
    res = exec_params(st, q, (int)nparams, types, values);
    ExecStatusType s = PQresultStatus(res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        rc = result_err(st, res);
        goto out;
    }
    store_row row = {&store__pg_ops, res, 0, PQnfields(res)};
    int nrows = PQntuples(res);
    for (int r = 0; fn && r < nrows; r++) {
        row.row = r;
        int x = fn(ud, &row);
        if (x < 0) {
            rc = x;
            goto out;
        }
        if (x > 0)
            break;
    }
    if (changes) {
        /* SELECT reports its row count here; only writes count as changes (as on SQLite). */
        const char *t = PQcmdTuples(res);
        *changes =
            (t && *t && strncasecmp(PQcmdStatus(res), "SELECT", 6) != 0) ? strtoll(t, NULL, 10) : 0;
    }
out:
    PQclear(res);
    cc_free(&q);
    cc_free(&values);
    cc_free(&types);
    cc_free(&ints);
    return rc;
}

static int pg_script(store *st, const char *sql)
{
    int rc = ensure_conn(st);
    if (rc != CC_OK)
        return rc;
    PGresult *res = PQexec(conn_of(st), sql);
    ExecStatusType s = PQresultStatus(res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && retryable(st, sql) &&
        ensure_conn(st) == CC_OK) {
        PQclear(res);
        res = PQexec(conn_of(st), sql);
        s = PQresultStatus(res);
    }
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        rc = result_err(st, res);
    } else if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        /* COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK. */
        store__set_err(st, "transaction was aborted by an earlier error; nothing committed");
        rc = CC_ERR_STORE;
    }
    PQclear(res);
    return rc;
}

typedef struct {
    int64_t seq;
} seq_ctx;

static int seq_row(void *ud, const store_row *row)
{
    ((seq_ctx *)ud)->seq = store_row_int(row, 0);
    return 0;
}

static int pg_event_append(store *st, int64_t ts, const char *type, const char *scope,
                           const char *payload, int64_t *seq_out)
{
    /* The lock comes before nextval and is held until commit: whoever gets a higher seq
     * commits later, so "seq > last" readers never skip one. */
    bool own = !st->in_tx;
    int rc = own ? store_begin(st) : CC_OK;
    if (rc != CC_OK)
        return rc;
    seq_ctx c = {0};
    store_val p[] = {SV_INT(ts), SV_TEXT(type), SV_TEXT(scope), SV_TEXT(payload)};
    rc = pg_script(st, LOCK_EVENTS);
    if (rc == CC_OK)
        rc = pg_run(st,
                    "INSERT INTO events(seq, ts, type, scope, payload) "
                    "VALUES (nextval('events_seq'), ?, ?, ?, ?) RETURNING seq",
                    p, 4, seq_row, &c, NULL);
    if (own) {
        if (rc == CC_OK)
            rc = store_commit(st);
        if (rc != CC_OK) {
            char keep[sizeof(st->errmsg)];
            memcpy(keep, st->errmsg, sizeof(keep));
            store_rollback(st);
            memcpy(st->errmsg, keep, sizeof(keep));
        }
    }
    *seq_out = rc == CC_OK ? c.seq : 0;
    return rc;
}

static int pg_chain_lock(store *st, const char *chain)
{
    char sql[96];
    int32_t key = (int32_t)(uint32_t)(store__fnv1a64(chain) & 0xffffffffu);
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, %d)", LOCK_CHAIN_CLASS, (int)key);
    return pg_script(st, sql);
}

static bool pg_row_is_null(const store_row *r, int col)
{
    return PQgetisnull(r->h, r->row, col);
}

static int64_t pg_row_int(const store_row *r, int col)
{
    if (PQgetisnull(r->h, r->row, col))
        return 0;
    const char *v = PQgetvalue(r->h, r->row, col);
    /* A boolean result (e.g. from EXISTS) reads as 0/1 like on SQLite. */
    if (v[0] == 't' && v[1] == '\0')
        return 1;
    return strtoll(v, NULL, 10);
}

static const char *pg_row_text(const store_row *r, int col)
{
    if (PQgetisnull(r->h, r->row, col))
        return NULL;
    return PQgetvalue(r->h, r->row, col);
}

const store_ops store__pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .run = pg_run,
    .script = pg_script,
    .begin_sql = "BEGIN",
    .event_append = pg_event_append,
    .chain_lock = pg_chain_lock,
    .backup = NULL,
    .migrations_table_sql = "CREATE TABLE IF NOT EXISTS schema_migrations("
                            "version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    .migrations_lock_sql = LOCK_MIGRATIONS,
    .migrations = store_pg_migrations,
    .row_is_null = pg_row_is_null,
    .row_int = pg_row_int,
    .row_text = pg_row_text,
};
