/* store internals: the backend vtable and helpers shared by store.c, sqlite.c, postgres.c and
 * the migration tables. Not for use outside src/store (tests excepted). */
#ifndef CC_STORE_INTERNAL_H
#define CC_STORE_INTERNAL_H

#include "store/store.h"

/* One schema migration: its number (1, 2, ...) and the DDL, which may hold several statements.
 * Lists end with {0, NULL}. */
typedef struct {
    int version;
    const char *sql;
} store_migration;

typedef struct store_ops store_ops;

struct store_row {
    const store_ops *ops;
    void *h; /* sqlite3_stmt * or PGresult * */
    int row; /* PostgreSQL row index */
    int ncols;
};

struct store_ops {
    const char *name;
    void (*close)(store *st);
    /* One statement with parameters; fn (may be NULL) per row; *changes (may be NULL). */
    int (*run)(store *st, const char *sql, const store_val *params, size_t nparams, store_row_fn fn,
               void *ud, int64_t *changes);
    /* Statements without parameters (transaction control, DDL; several allowed). */
    int (*script)(store *st, const char *sql);
    const char *begin_sql;
    /* Appends one event (payload already compact JSON text). */
    int (*event_append)(store *st, int64_t ts, const char *type, const char *scope,
                        const char *payload, int64_t *seq_out);
    int (*chain_lock)(store *st, const char *chain);
    int (*backup)(store *st, const char *dest_path);
    /* Migrations: DDL of schema_migrations, an optional lock taken inside each migration's
     * transaction (several nodes may start at once), the numbered list ({0, NULL} ends it). */
    const char *migrations_table_sql;
    const char *migrations_lock_sql;
    const store_migration *migrations;
    /* Row accessors. */
    bool (*row_is_null)(const store_row *r, int col);
    int64_t (*row_int)(const store_row *r, int col);
    const char *(*row_text)(const store_row *r, int col);
};

struct store {
    const store_ops *ops;
    store_backend kind;
    void *impl; /* backend state */
    bool in_tx; /* between store_begin and store_commit/store_rollback */
    char errmsg[512];
};

extern const store_migration store_sqlite_migrations[];
extern const store_migration store_pg_migrations[];

/* Backend constructors: fill st->impl (st is zeroed, ops and kind already set). */
extern const store_ops store__sqlite_ops;
extern const store_ops store__pg_ops;
int store__sqlite_connect(store *st, const char *path);
int store__pg_connect(store *st, const char *conninfo);

/* Rewrites '?' placeholders to $1..$n, leaving '?' inside '...' literals, "..." identifiers and
 * -- or C-style comments alone. *out is a new string (cc_free); *count the number of
 * placeholders. */
int store__rewrite_placeholders(const char *sql, char **out, int *count);

/* Sets st->errmsg (printf-style). */
void store__set_err(store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes printf-style text into why (whylen may be 0). */
void store__why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Applies the backend's pending migrations, each in its own transaction. */
int store__migrate(store *st, char *why, size_t whylen);
/* Highest migration version the backend knows. */
int store__known_version(const store_ops *ops);

/* 64-bit FNV-1a, for advisory lock keys. */
uint64_t store__fnv1a64(const char *s);

#endif
