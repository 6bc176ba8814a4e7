/* store: one storage interface over two backends (SQLite, PostgreSQL), numbered migrations,
 * the event log, and the store worker that runs all database work off the event loop.
 *
 * SQL given to store_exec/store_query is portable: '?' placeholders (rewritten to $n for
 * PostgreSQL), INTEGER/TEXT values only, standard syntax both engines accept (INSERT ...
 * RETURNING, ON CONFLICT ... DO UPDATE, LIMIT/OFFSET). Anything engine-specific (DDL, locking,
 * sequences, backup) lives inside the backend files. Library code: never logs, returns cc_err. */
#ifndef CC_STORE_H
#define CC_STORE_H

#include "core/core.h"
#include <uv.h>

typedef struct store store;

typedef enum { STORE_SQLITE = 1, STORE_POSTGRES = 2 } store_backend;

/* Opens (creating if needed) a SQLite database file in WAL mode with synchronous=FULL and applies
 * the migrations. On failure *out is NULL and why holds the reason. */
int store_open_sqlite(const char *path, store **out, char *why, size_t whylen);
/* Connects to PostgreSQL (libpq conninfo string) and applies the migrations. */
int store_open_postgres(const char *conninfo, store **out, char *why, size_t whylen);
/* Opens the backend the configuration names (store_backend = sqlite|postgresql; the SQLite file
 * is <data_dir>/carecomm.db, PostgreSQL uses pg_conninfo). */
int store_open_config(const cc_config *cfg, store **out, char *why, size_t whylen);
/* Closes the connection. NULL is a no-op. */
void store_close(store *st);
store_backend store_backend_of(const store *st);
/* The last backend error message (borrowed, valid until the next call on st). */
const char *store_errmsg(const store *st);
/* Highest migration version applied. */
int store_schema_version(store *st, int64_t *version);

/* Configuration keys of the store (store_backend, pg_conninfo). */
extern const cc_cfg_key store_config_keys[];
extern const size_t store_config_keys_count;

/* ---- transactions -------------------------------------------------------------------------- */

/* A write transaction. On SQLite it takes the write lock at once (BEGIN IMMEDIATE), so commit
 * order across processes is the order of begin; busy waits up to 5 s. */
int store_begin(store *st);
/* COMMIT; the return value is checked: a failed commit is an error and the data is not there. */
int store_commit(store *st);
int store_rollback(store *st);
/* Nested scopes inside a transaction. name is [a-z0-9_]+. */
int store_savepoint(store *st, const char *name);
int store_release(store *st, const char *name);
int store_rollback_to(store *st, const char *name);

/* ---- queries ------------------------------------------------------------------------------- */

typedef enum { STORE_NULL = 0, STORE_INT, STORE_TEXT } store_kind;
typedef struct {
    store_kind kind;
    int64_t i;
    const char *s; /* borrowed for the duration of the call */
} store_val;
#define SV_NULL ((store_val){STORE_NULL, 0, NULL})
#define SV_INT(x) ((store_val){STORE_INT, (int64_t)(x), NULL})
/* A function, not a ternary in the macro, so char arrays do not trip -Waddress. */
static inline store_val store_val_text(const char *s)
{
    store_val v = {s ? STORE_TEXT : STORE_NULL, 0, s};
    return v;
}
#define SV_TEXT(x) store_val_text(x)

typedef struct store_row store_row;
/* Column accessors, valid only during the row callback. Columns count from 0. */
int store_row_cols(const store_row *r);
bool store_row_is_null(const store_row *r, int col);
int64_t store_row_int(const store_row *r, int col);      /* 0 for NULL */
const char *store_row_text(const store_row *r, int col); /* NULL for NULL; borrowed */

/* Called once per row. Return 0 to continue, 1 to stop early (not an error), <0 to abort with
 * that error. */
typedef int (*store_row_fn)(void *ud, const store_row *row);

/* Runs one statement. *changes (may be NULL) gets the number of rows changed. A unique or
 * primary-key violation returns CC_ERR_EXISTS; other failures CC_ERR_STORE. */
int store_exec(store *st, const char *sql, const store_val *params, size_t nparams,
               int64_t *changes);
/* Runs a query and calls fn for each row (fn may be NULL to just run it). */
int store_query(store *st, const char *sql, const store_val *params, size_t nparams,
                store_row_fn fn, void *ud);
/* First column of the first row as an integer; CC_ERR_NOT_FOUND when there is no row. */
int store_query_int(store *st, const char *sql, const store_val *params, size_t nparams,
                    int64_t *out);
/* First column of the first row as a new string (caller frees with cc_free); NULL value gives
 * *out = NULL and CC_OK; no row gives CC_ERR_NOT_FOUND. */
int store_query_text(store *st, const char *sql, const store_val *params, size_t nparams,
                     char **out);

/* ---- event log ----------------------------------------------------------------------------- */

/* One event. Strings are owned by whoever produced the struct (see each function). */
typedef struct {
    int64_t seq;         /* strictly increasing, cluster-wide */
    int64_t ts;          /* Unix ms */
    const char *type;    /* "user.updated" */
    const char *scope;   /* who may see it: "user:<id>", "perm:<permission>", "all" */
    const char *payload; /* JSON object text */
} store_event;

/* Appends an event inside the current transaction; it becomes visible when that transaction
 * commits. Appends are serialised across writers (SQLite write lock; a PostgreSQL advisory
 * transaction lock taken before the sequence value), so commit order equals seq order and a
 * reader that reads "seq > last" never skips one. payload is borrowed; it is stored as
 * compact JSON. */
int store_event_append(store *st, const char *type, const char *scope, const json_t *payload,
                       int64_t *seq_out);
/* Replaces the payload of a committed event, inside the caller's transaction: what an edited or
 * deleted message said must not outlive it in the log (its retention is decided elsewhere). Its
 * seq, type and scope stay; readers that already had the event keep their copy; a node's ring of
 * recent events is updated by whoever follows the change (net_hub_replace). CC_ERR_NOT_FOUND if
 * there is no such event. payload is borrowed. */
int store_event_redact(store *st, int64_t seq, const json_t *payload);
/* Calls fn for events with seq > after_seq in order, at most limit of them. The struct and its
 * strings are borrowed for the duration of the callback. fn returns like store_row_fn. */
typedef int (*store_event_fn)(void *ud, const store_event *ev);
int store_event_read(store *st, int64_t after_seq, int limit, store_event_fn fn, void *ud);
/* Highest committed seq (0 when the log is empty). */
int store_event_head(store *st, int64_t *seq_out);

/* Serialises appends to a named hash chain (e.g. "audit") across writers until the current
 * transaction ends. No-op on SQLite (the write lock already serialises). */
int store_chain_lock(store *st, const char *chain);

/* Cheap round trip for readiness checks. */
int store_ping(store *st);

/* Online backup of a SQLite store to dest_path (SQLite backup API, consistent while the daemon
 * runs). CC_ERR_INVALID on PostgreSQL (use pg_dump). */
int store_backup(store *st, const char *dest_path);
/* Replaces the SQLite database at db_path with the backup at src_path, after checking that the
 * backup is a valid carecomm database (integrity check, known schema version). The daemon must
 * be stopped; the old file is kept as db_path + ".before-restore". */
int store_restore_sqlite(const char *src_path, const char *db_path, char *why, size_t whylen);

/* ---- the store worker ---------------------------------------------------------------------- */

/* All database work of the daemon runs on one worker thread that owns the connection. Jobs are
 * grouped: the worker takes every queued job, runs each inside its own savepoint of one
 * transaction, commits once (one fsync for the group), then reports back on the loop thread.
 * After every commit, and every poll_ms in any case, it reads the event log past the last seq it
 * delivered (events appended by this process, by the CLI or by other nodes) and hands them to the
 * event sink on the loop, in seq order, before the done callbacks of that group run. */
typedef struct store_worker store_worker;

/* Runs on the worker thread inside a savepoint. Return CC_OK to keep its writes, an error to roll
 * them back (other jobs of the group are unaffected). Must not call begin/commit. */
typedef int (*store_job_fn)(store *st, void *ctx);
/* Runs on the loop thread once the job's group has committed (rc = the job's result, or
 * CC_ERR_STORE if the commit failed, or CC_ERR_BUSY if the worker is stopping). */
typedef void (*store_done_fn)(void *ctx, int rc);
/* Runs on the loop thread with new events in seq order; the array and strings are freed after the
 * call returns: copy what you keep. */
typedef void (*store_event_sink_fn)(void *ud, const store_event *evs, size_t n);

/* Starts the worker thread. Ownership of st moves to the worker (closed by store_worker_free).
 * Delivery starts after after_seq (normally the log head read at start-up). */
int store_worker_start(uv_loop_t *loop, store *st, int64_t after_seq, int poll_ms,
                       store_event_sink_fn sink, void *sink_ud, store_worker **out);
/* Queues a job. Loop thread only. After stop has begun it fails with CC_ERR_BUSY and done is not
 * called. */
int store_worker_submit(store_worker *w, store_job_fn job, store_done_fn done, void *ctx);
/* Finishes every queued job, delivers their events and done callbacks, joins the thread and
 * closes its libuv handles. Loop thread only; the loop must run once more so the handles close. */
void store_worker_stop(store_worker *w);
/* Frees the worker and closes the store; after the loop has closed the handles. */
void store_worker_free(store_worker *w);
/* Highest seq delivered to the sink so far (loop thread). */
int64_t store_worker_delivered_seq(const store_worker *w);
/* True while the database answers (updated by the worker; readable from the loop). */
bool store_worker_healthy(const store_worker *w);

#endif
