/* Unit tests of the store worker (src/store/worker.c) against both backends: SQLite in a
 * temporary folder and PostgreSQL in a fresh database of the server named by CARECOMM_TEST_PG.
 * Without CARECOMM_TEST_PG the PostgreSQL group fails: start a server with
 * scripts/pg-test-server start DIR and export the line it prints. */
#include "store/store.h"

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

/* ---- loop, sink and jobs ------------------------------------------------------------------- */

static uv_loop_t loop;
static uv_timer_t tick;
static store_worker *w;

static void on_tick(uv_timer_t *t)
{
    (void)t; /* only wakes uv_run so that run_until can check its deadline */
}

typedef bool (*pred_fn)(void *ud);

static bool run_until(pred_fn pred, void *ud, int timeout_ms)
{
    int64_t end = cc_monotonic_ms() + timeout_ms;
    while (!pred(ud)) {
        if (cc_monotonic_ms() > end)
            return false;
        uv_run(&loop, UV_RUN_ONCE);
    }
    return true;
}

typedef struct {
    int64_t *seqs;
    size_t n, cap;
    int64_t last;
    bool ordered;
    int calls;
    char payload0[64];
} sink_state;

static sink_state sk;

static void sink(void *ud, const store_event *evs, size_t n)
{
    sink_state *s = ud;
    s->calls++;
    for (size_t i = 0; i < n; i++) {
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 64;
            s->seqs = realloc(s->seqs, s->cap * sizeof(int64_t));
            assert_non_null(s->seqs);
        }
        if (evs[i].seq <= s->last)
            s->ordered = false;
        if (s->n == 0)
            snprintf(s->payload0, sizeof(s->payload0), "%s", evs[i].payload);
        assert_string_equal(evs[i].type, "job.done");
        s->seqs[s->n++] = evs[i].seq;
        s->last = evs[i].seq;
    }
}

typedef struct {
    int idx;
    uv_sem_t *started; /* posted when the job starts */
    uv_sem_t *gate;    /* waited on before the job runs */
    int sleep_ms;
    bool append;   /* appends one event */
    bool fail;     /* writes, then fails */
    bool dangling; /* inserts a row whose deferred foreign key fails at COMMIT */
    /* results */
    int64_t seq;
    int rc;
    bool done;
    int order;
    int64_t delivered_at_done;
} jctx;

static int done_count;

static int job_fn(store *st, void *ud)
{
    jctx *j = ud;
    if (j->started)
        uv_sem_post(j->started);
    if (j->gate)
        uv_sem_wait(j->gate);
    if (j->sleep_ms)
        usleep((useconds_t)j->sleep_ms * 1000);
    if (j->dangling)
        return store_exec(st, "INSERT INTO dfk(id, ref) VALUES (1, 99)", NULL, 0, NULL);
    char id[32], name[32];
    snprintf(id, sizeof(id), "u%d", j->idx);
    snprintf(name, sizeof(name), "user%d", j->idx);
    store_val p[] = {SV_TEXT(id),     SV_TEXT(name), SV_TEXT("Name"), SV_TEXT("nurse"),
                     SV_TEXT("hash"), SV_INT(1),     SV_INT(1)};
    int rc = store_exec(st,
                        "INSERT INTO users(id, username, display_name, role, password_hash, "
                        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        p, 7, NULL);
    if (rc == CC_OK && j->append) {
        json_t *pl = json_pack("{s:i}", "job", j->idx);
        rc = store_event_append(st, "job.done", "all", pl, &j->seq);
        json_decref(pl);
    }
    if (rc == CC_OK && j->fail)
        return CC_ERR_INVALID;
    return rc;
}

static void done_fn(void *ud, int rc)
{
    jctx *j = ud;
    assert_false(j->done); /* exactly once */
    j->rc = rc;
    j->done = true;
    j->order = done_count++;
    j->delivered_at_done = store_worker_delivered_seq(w);
}

static bool all_done(void *ud)
{
    return done_count >= *(int *)ud;
}

static bool delivered_up_to(void *ud)
{
    return store_worker_delivered_seq(w) >= *(int64_t *)ud;
}

static int setup(void **state)
{
    (void)state;
    memset(&sk, 0, sizeof(sk));
    sk.ordered = true;
    done_count = 0;
    w = NULL;
    if (uv_loop_init(&loop) != 0 || uv_timer_init(&loop, &tick) != 0 ||
        uv_timer_start(&tick, on_tick, 5, 5) != 0)
        return -1;
    store *st = NULL;
    if (tb_open(&st) != CC_OK)
        return -1;
    int rc = tb_clean(st);
    store_close(st);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    if (w) {
        store_worker_stop(w);
        store_worker_free(w); /* finishes once the loop has closed the handle */
        w = NULL;
    }
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    free(sk.seqs);
    return rc == 0 ? 0 : -1;
}

/* Opens a store, optionally prepares it, and starts the worker after the current head. */
static int64_t start_worker(int poll_ms, const char *prep_sql)
{
    store *st = NULL;
    int64_t head = 0;
    assert_int_equal(tb_open(&st), CC_OK);
    if (prep_sql)
        assert_int_equal(store_exec(st, prep_sql, NULL, 0, NULL), CC_OK);
    assert_int_equal(store_event_head(st, &head), CC_OK);
    sk.last = head;
    assert_int_equal(store_worker_start(&loop, st, head, poll_ms, sink, &sk, &w), CC_OK);
    return head;
}

static int64_t count_users(void)
{
    store *st = NULL;
    int64_t n = -1;
    assert_int_equal(tb_open(&st), CC_OK);
    assert_int_equal(store_query_int(st, "SELECT count(*) FROM users", NULL, 0, &n), CC_OK);
    store_close(st);
    return n;
}

static bool user_exists(int idx)
{
    store *st = NULL;
    int64_t n = -1;
    char id[32];
    snprintf(id, sizeof(id), "u%d", idx);
    store_val p[] = {SV_TEXT(id)};
    assert_int_equal(tb_open(&st), CC_OK);
    assert_int_equal(store_query_int(st, "SELECT count(*) FROM users WHERE id = ?", p, 1, &n),
                     CC_OK);
    store_close(st);
    return n == 1;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_jobs_run_in_order(void **state)
{
    (void)state;
    start_worker(1000, NULL);
    assert_true(store_worker_healthy(w));
    enum { N = 100 };
    static jctx j[N];
    memset(j, 0, sizeof(j));
    for (int i = 0; i < N; i++) {
        j[i].idx = i;
        assert_int_equal(store_worker_submit(w, job_fn, done_fn, &j[i]), CC_OK);
    }
    int n = N;
    assert_true(run_until(all_done, &n, 10000));
    for (int i = 0; i < N; i++) {
        assert_int_equal(j[i].rc, CC_OK);
        assert_int_equal(j[i].order, i); /* done callbacks in submission order */
    }
    assert_true(store_worker_healthy(w));
    assert_int_equal(count_users(), N);
    /* A job without a done callback is fine. */
    static jctx quiet = {.idx = 1000};
    assert_int_equal(store_worker_submit(w, job_fn, NULL, &quiet), CC_OK);
    store_worker_stop(w);
    assert_true(user_exists(1000));
}

static void test_failing_job_isolated(void **state)
{
    (void)state;
    int64_t head = start_worker(1000, NULL);
    uv_sem_t gate, started;
    assert_int_equal(uv_sem_init(&gate, 0), 0);
    assert_int_equal(uv_sem_init(&started, 0), 0);
    /* The gate job holds the worker so that A, B and C are queued and form one group. */
    static jctx g, a, b, c;
    g = (jctx){.idx = 0, .started = &started, .gate = &gate};
    a = (jctx){.idx = 1, .append = true};
    b = (jctx){.idx = 2, .append = true, .fail = true};
    c = (jctx){.idx = 3, .append = true};
    assert_int_equal(store_worker_submit(w, job_fn, done_fn, &g), CC_OK);
    uv_sem_wait(&started); /* g is running alone; the next ones queue up behind it */
    assert_int_equal(store_worker_submit(w, job_fn, done_fn, &a), CC_OK);
    assert_int_equal(store_worker_submit(w, job_fn, done_fn, &b), CC_OK);
    assert_int_equal(store_worker_submit(w, job_fn, done_fn, &c), CC_OK);
    uv_sem_post(&gate);
    int n = 4;
    assert_true(run_until(all_done, &n, 10000));
    assert_int_equal(a.rc, CC_OK);
    assert_int_equal(b.rc, CC_ERR_INVALID);
    assert_int_equal(c.rc, CC_OK);
    assert_true(user_exists(1));
    assert_false(user_exists(2));
    assert_true(user_exists(3));
    /* Only the events of the jobs that kept their writes are delivered. */
    assert_int_equal(sk.n, 2);
    assert_int_equal(sk.seqs[0], a.seq);
    assert_int_equal(sk.seqs[1], c.seq);
    assert_true(a.seq > head);
    assert_true(a.delivered_at_done >= a.seq); /* events before done callbacks */
    assert_true(c.delivered_at_done >= c.seq);
    uv_sem_destroy(&gate);
    uv_sem_destroy(&started);
}

static void test_commit_failure(void **state)
{
    (void)state;
    /* A deferred foreign key fails at COMMIT: every job of the group gets CC_ERR_STORE. */
    start_worker(1000, "CREATE TABLE dfk(id BIGINT PRIMARY KEY, ref BIGINT REFERENCES dfk(id) "
                       "DEFERRABLE INITIALLY DEFERRED)");
    uv_sem_t gate, started;
    assert_int_equal(uv_sem_init(&gate, 0), 0);
    assert_int_equal(uv_sem_init(&started, 0), 0);
    static jctx g, a, b, c;
    g = (jctx){.idx = 0, .started = &started, .gate = &gate};
    a = (jctx){.idx = 1, .append = true};
    b = (jctx){.idx = 2, .dangling = true};
    c = (jctx){.idx = 3};
    assert_int_equal(store_worker_submit(w, job_fn, done_fn, &g), CC_OK);
    uv_sem_wait(&started); /* g is running alone; the next ones queue up behind it */
    assert_int_equal(store_worker_submit(w, job_fn, done_fn, &a), CC_OK);
    assert_int_equal(store_worker_submit(w, job_fn, done_fn, &b), CC_OK);
    uv_sem_post(&gate);
    int n = 3;
    assert_true(run_until(all_done, &n, 10000));
    assert_int_equal(g.rc, CC_OK);
    assert_int_equal(a.rc, CC_ERR_STORE);
    assert_int_equal(b.rc, CC_ERR_STORE);
    assert_false(user_exists(1));
    assert_int_equal(sk.n, 0); /* a's event was rolled back */
    /* The worker goes on. */
    assert_int_equal(store_worker_submit(w, job_fn, done_fn, &c), CC_OK);
    n = 4;
    assert_true(run_until(all_done, &n, 10000));
    assert_int_equal(c.rc, CC_OK);
    assert_true(user_exists(3));
    assert_true(store_worker_healthy(w));
    uv_sem_destroy(&gate);
    uv_sem_destroy(&started);
}

static void test_events_delivered(void **state)
{
    (void)state;
    /* Events already in the log before the start are not delivered. */
    store *cli = NULL;
    assert_int_equal(tb_open(&cli), CC_OK);
    json_t *pl = json_pack("{s:s}", "from", "cli");
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_event_append(cli, "job.done", "all", pl, NULL), CC_OK);
    int64_t head = start_worker(50, NULL);

    enum { N = 10 };
    static jctx j[N];
    memset(j, 0, sizeof(j));
    for (int i = 0; i < N; i++) {
        j[i].idx = i;
        j[i].append = true;
        assert_int_equal(store_worker_submit(w, job_fn, done_fn, &j[i]), CC_OK);
    }
    int n = N;
    assert_true(run_until(all_done, &n, 10000));
    for (int i = 0; i < N; i++) {
        assert_int_equal(j[i].rc, CC_OK);
        assert_true(j[i].delivered_at_done >= j[i].seq);
    }
    assert_string_equal(sk.payload0, "{\"job\":0}");

    /* A second connection (the CLI, another node) appends: picked up by polling. */
    int64_t last = 0;
    for (int i = 0; i < 4; i++)
        assert_int_equal(store_event_append(cli, "job.done", "all", pl, &last), CC_OK);
    assert_int_equal(store_begin(cli), CC_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_event_append(cli, "job.done", "all", pl, &last), CC_OK);
    assert_int_equal(store_commit(cli), CC_OK);
    assert_true(run_until(delivered_up_to, &last, 10000));
    /* More jobs interleaved with the CLI. */
    static jctx more[N];
    memset(more, 0, sizeof(more));
    for (int i = 0; i < N; i++) {
        more[i].idx = 100 + i;
        more[i].append = true;
        assert_int_equal(store_worker_submit(w, job_fn, done_fn, &more[i]), CC_OK);
        assert_int_equal(store_event_append(cli, "job.done", "all", pl, &last), CC_OK);
    }
    n = 2 * N;
    assert_true(run_until(all_done, &n, 10000));
    assert_true(run_until(delivered_up_to, &last, 10000));
    json_decref(pl);

    /* Exactly the log after head, in order, each once. */
    int64_t cnt = 0;
    store_val p[] = {SV_INT(head)};
    assert_int_equal(store_query_int(cli, "SELECT count(*) FROM events WHERE seq > ?", p, 1, &cnt),
                     CC_OK);
    assert_int_equal(sk.n, (size_t)cnt);
    assert_true(sk.ordered);
    for (size_t i = 0; i < sk.n; i++) {
        int64_t s = 0;
        store_val q[] = {SV_INT(head), SV_INT((int64_t)i)};
        assert_int_equal(store_query_int(cli,
                                         "SELECT seq FROM events WHERE seq > ? ORDER BY seq "
                                         "LIMIT 1 OFFSET ?",
                                         q, 2, &s),
                         CC_OK);
        assert_int_equal(sk.seqs[i], s);
    }
    int64_t log_head = 0;
    assert_int_equal(store_event_head(cli, &log_head), CC_OK);
    assert_int_equal(store_worker_delivered_seq(w), log_head);
    store_close(cli);
}

static void test_stop_drains(void **state)
{
    (void)state;
    start_worker(1000, NULL);
    enum { N = 51 };
    static jctx j[N];
    memset(j, 0, sizeof(j));
    for (int i = 0; i < N; i++) {
        j[i].idx = i;
        j[i].append = true;
        j[i].sleep_ms = i == 0 ? 200 : 0; /* the rest are still queued when stop begins */
        assert_int_equal(store_worker_submit(w, job_fn, done_fn, &j[i]), CC_OK);
    }
    store_worker_stop(w);
    /* Everything ran and was reported before stop returned. */
    assert_int_equal(done_count, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(j[i].rc, CC_OK);
        assert_int_equal(j[i].order, i);
    }
    assert_int_equal(sk.n, N);
    assert_true(sk.ordered);
    static jctx late = {.idx = 999};
    assert_int_equal(store_worker_submit(w, job_fn, done_fn, &late), CC_ERR_BUSY);
    store_worker_stop(w); /* twice is harmless */
    uv_run(&loop, UV_RUN_NOWAIT);
    store_worker_free(w);
    w = NULL;
    assert_int_equal(count_users(), N);
    assert_false(late.done);
}

static void test_start_invalid(void **state)
{
    (void)state;
    store *st = NULL;
    assert_int_equal(tb_open(&st), CC_OK);
    store_worker *x = NULL;
    assert_int_equal(store_worker_start(&loop, st, 0, 0, sink, &sk, &x), CC_ERR_INVALID);
    assert_null(x);
    assert_int_equal(store_worker_start(&loop, NULL, 0, 100, sink, &sk, &x), CC_ERR_INVALID);
    assert_int_equal(store_ping(st), CC_OK); /* still the caller's */
    store_close(st);
    store_worker_free(NULL);
}

/* ---- main ---------------------------------------------------------------------------------- */

#define WORKER_TESTS                                                                               \
    {                                                                                              \
        cmocka_unit_test_setup_teardown(test_jobs_run_in_order, setup, teardown),                  \
            cmocka_unit_test_setup_teardown(test_failing_job_isolated, setup, teardown),           \
            cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),                 \
            cmocka_unit_test_setup_teardown(test_events_delivered, setup, teardown),               \
            cmocka_unit_test_setup_teardown(test_stop_drains, setup, teardown),                    \
            cmocka_unit_test_setup_teardown(test_start_invalid, setup, teardown),                  \
    }

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = WORKER_TESTS;
    const struct CMUnitTest pg_tests[] = WORKER_TESTS;
    int failed = 0;
    failed += cmocka_run_group_tests_name("store_worker_sqlite", sqlite_tests, group_setup_sqlite,
                                          group_teardown);
    int pg = cmocka_run_group_tests_name("store_worker_postgresql", pg_tests, group_setup_pg,
                                         group_teardown);
    if (pg == 0 && !getenv("CARECOMM_TEST_PG"))
        pg = 1;
    failed += pg;
    return failed ? 1 : 0;
}
