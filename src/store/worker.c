/* store worker: one thread that owns the store connection and runs all database work of the
 * daemon off the event loop.
 *
 * Design note. The loop submits jobs into a mutex+cond queue. The thread takes every queued job
 * (at most GROUP_MAX), opens one transaction, runs each job inside its own savepoint (a failing
 * job rolls back only its own writes) and commits once: one fsync for the whole group. After the
 * commit, and every poll_ms when idle, it reads the event log past the last seq it read, so
 * events appended by other processes (the CLI, other nodes) are delivered too. Results travel
 * back through one uv_async_t as a list of completed batches; each batch holds deep copies of
 * the events, then the done callbacks of the group, and the loop runs them in that order — so a
 * done callback sees that its own events have already gone to the sink. */
#include "store/store_internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define GROUP_MAX 512
#define READ_BATCH 1000

typedef struct job {
    store_job_fn fn;
    store_done_fn done;
    void *ctx;
    int rc;
    struct job *next;
} job;

typedef struct batch {
    store_event *evs; /* each event's strings live in one block starting at .type */
    size_t n, cap;
    job *jobs;
    struct batch *next;
} batch;

struct store_worker {
    uv_loop_t *loop;
    store *st;
    uv_thread_t thread;
    uv_async_t async;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* under mu */
    job *qhead, *qtail;
    bool stopping;
    batch *bhead, *btail;
    /* worker thread only */
    int poll_ms;
    int64_t read_seq;
    /* loop thread only */
    store_event_sink_fn sink;
    void *sink_ud;
    int64_t delivered_seq;
    bool thread_started, stopped, closed, free_pending;
    /* any thread */
    bool healthy; /* __atomic */
};

static void set_healthy(store_worker *w, bool v)
{
    __atomic_store_n(&w->healthy, v, __ATOMIC_RELEASE);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void free_batch(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        cc_free_ptr((void *)b->evs[i].type);
    cc_free(&b->evs);
    for (job *j = b->jobs, *next; j; j = next) {
        next = j->next;
        cc_free_ptr(j);
    }
    cc_free_ptr(b);
}

/* ---- worker thread ------------------------------------------------------------------------- */

static void post_batch(store_worker *w, batch *b)
{
    if (b->n == 0 && !b->jobs) {
        free_batch(b);
        return;
    }
    pthread_mutex_lock(&w->mu);
    if (w->btail)
        w->btail->next = b;
    else
        w->bhead = b;
    w->btail = b;
    pthread_mutex_unlock(&w->mu);
    uv_async_send(&w->async);
}

typedef struct {
    store_worker *w;
    batch *b;
} read_ctx;

static int copy_event(void *ud, const store_event *ev)
{
    read_ctx *c = ud;
    batch *b = c->b;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        store_event *evs = cc_realloc(b->evs, cap * sizeof(*evs));
        if (!evs)
            return CC_ERR_NOMEM;
        b->evs = evs;
        b->cap = cap;
    }
    size_t lt = strlen(ev->type) + 1, ls = strlen(ev->scope) + 1, lp = strlen(ev->payload) + 1;
    char *blk = cc_malloc(lt + ls + lp);
    if (!blk)
        return CC_ERR_NOMEM;
    memcpy(blk, ev->type, lt);
    memcpy(blk + lt, ev->scope, ls);
    memcpy(blk + lt + ls, ev->payload, lp);
    b->evs[b->n++] = (store_event){ev->seq, ev->ts, blk, blk + lt, blk + lt + ls};
    c->w->read_seq = ev->seq;
    return 0;
}

/* Reads every event past read_seq and posts them in batches; the done callbacks of jobs (may be
 * NULL) ride on the last batch so they run after the events. */
static void read_events(store_worker *w, job *jobs)
{
    for (;;) {
        batch *b = cc_calloc(1, sizeof(*b));
        if (!b && !jobs)
            return; /* a poll: try again next time */
        while (!b) {
            /* Done callbacks must run whatever happens: wait for memory. */
            uv_sleep(10);
            b = cc_calloc(1, sizeof(*b));
        }
        read_ctx c = {w, b};
        int rc = store_event_read(w->st, w->read_seq, READ_BATCH, copy_event, &c);
        if (rc == CC_OK)
            set_healthy(w, true);
        else if (rc != CC_ERR_NOMEM)
            set_healthy(w, false);
        if (rc == CC_OK && b->n == READ_BATCH) {
            post_batch(w, b);
            continue;
        }
        b->jobs = jobs;
        post_batch(w, b);
        return;
    }
}

static void fail_all(job *jobs, int rc)
{
    for (job *j = jobs; j; j = j->next)
        j->rc = rc;
}

/* Runs one job in its savepoint. Returns false when the transaction itself is broken. */
static bool run_job(store *st, job *j)
{
    if (store_savepoint(st, "j") != CC_OK) {
        j->rc = CC_ERR_STORE;
        return false;
    }
    int rc = j->fn(st, j->ctx);
    if (rc == CC_OK && store_release(st, "j") == CC_OK) {
        j->rc = CC_OK;
        return true;
    }
    /* The job failed, or kept going after a failed statement (PostgreSQL refuses RELEASE in an
     * aborted transaction): undo its writes only. */
    j->rc = rc != CC_OK ? rc : CC_ERR_STORE;
    return store_rollback_to(st, "j") == CC_OK && store_release(st, "j") == CC_OK;
}

static void run_group(store_worker *w, job *jobs)
{
    store *st = w->st;
    bool ok = store_begin(st) == CC_OK;
    for (job *j = jobs; ok && j; j = j->next)
        ok = run_job(st, j);
    if (ok)
        ok = store_commit(st) == CC_OK;
    if (!ok) {
        store_rollback(st);
        fail_all(jobs, CC_ERR_STORE);
    }
    set_healthy(w, ok);
    read_events(w, jobs);
}

static void deadline_ts(int64_t at_mono_ms, struct timespec *ts)
{
    ts->tv_sec = (time_t)(at_mono_ms / 1000);
    ts->tv_nsec = (long)(at_mono_ms % 1000) * 1000000L;
}

static void worker_main(void *arg)
{
    store_worker *w = arg;
    int64_t next_poll = mono_ms(); /* first pass reads at once: events since the caller's head */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->qhead && !w->stopping && mono_ms() < next_poll) {
            struct timespec ts;
            deadline_ts(next_poll, &ts);
            int e = pthread_cond_timedwait(&w->cond, &w->mu, &ts);
            if (e != 0 && e != ETIMEDOUT && e != EINTR)
                break;
        }
        job *grp = w->qhead, *last = NULL;
        int n = 0;
        for (job *j = grp; j && n < GROUP_MAX; j = j->next, n++)
            last = j;
        if (last) {
            w->qhead = last->next;
            if (!w->qhead)
                w->qtail = NULL;
            last->next = NULL;
        }
        bool stop = w->stopping && !w->qhead;
        pthread_mutex_unlock(&w->mu);
        if (grp)
            run_group(w, grp);
        else
            read_events(w, NULL); /* poll; the read doubles as the health ping */
        next_poll = mono_ms() + w->poll_ms;
        if (stop && !grp)
            return;
        pthread_mutex_lock(&w->mu);
    }
}

/* ---- loop thread --------------------------------------------------------------------------- */

/* Runs completed batches in order, one at a time so that a callback that re-enters (e.g. calls
 * store_worker_stop) keeps the order. */
static void deliver(store_worker *w)
{
    for (;;) {
        pthread_mutex_lock(&w->mu);
        batch *b = w->bhead;
        if (b) {
            w->bhead = b->next;
            if (!w->bhead)
                w->btail = NULL;
        }
        pthread_mutex_unlock(&w->mu);
        if (!b)
            return;
        if (b->n) {
            w->delivered_seq = b->evs[b->n - 1].seq;
            if (w->sink)
                w->sink(w->sink_ud, b->evs, b->n);
        }
        for (job *j = b->jobs; j; j = j->next)
            if (j->done)
                j->done(j->ctx, j->rc);
        free_batch(b);
    }
}

static void on_async(uv_async_t *h)
{
    deliver(h->data);
}

static void destroy(store_worker *w)
{
    pthread_mutex_lock(&w->mu);
    job *q = w->qhead;
    batch *b = w->bhead;
    w->qhead = w->qtail = NULL;
    w->bhead = w->btail = NULL;
    pthread_mutex_unlock(&w->mu);
    for (job *next; q; q = next) {
        next = q->next;
        cc_free_ptr(q);
    }
    for (batch *next; b; b = next) {
        next = b->next;
        free_batch(b);
    }
    store_close(w->st);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    cc_free_ptr(w);
}

static void on_closed(uv_handle_t *h)
{
    store_worker *w = h->data;
    w->closed = true;
    if (w->free_pending)
        destroy(w);
}

int store_worker_start(uv_loop_t *loop, store *st, int64_t after_seq, int poll_ms,
                       store_event_sink_fn sink, void *sink_ud, store_worker **out)
{
    if (!out)
        return CC_ERR_INVALID;
    *out = NULL;
    if (!loop || !st || poll_ms <= 0 || after_seq < 0)
        return CC_ERR_INVALID;
    store_worker *w = cc_calloc(1, sizeof(*w));
    if (!w)
        return CC_ERR_NOMEM;
    w->loop = loop;
    w->poll_ms = poll_ms;
    w->read_seq = after_seq;
    w->delivered_seq = after_seq;
    w->sink = sink;
    w->sink_ud = sink_ud;
    w->healthy = true;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int e1 = pthread_mutex_init(&w->mu, NULL);
    int e2 = e1 ? -1 : pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (e1 || e2) {
        if (!e1)
            pthread_mutex_destroy(&w->mu);
        cc_free_ptr(w);
        return CC_ERR_INTERNAL;
    }
    if (uv_async_init(loop, &w->async, on_async) != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->mu);
        cc_free_ptr(w);
        return CC_ERR_INTERNAL;
    }
    w->async.data = w;
    w->st = st;
    if (uv_thread_create(&w->thread, worker_main, w) != 0) {
        /* st stays the caller's; w goes once the loop has closed the handle. */
        w->st = NULL;
        w->stopped = true;
        w->free_pending = true;
        uv_close((uv_handle_t *)&w->async, on_closed);
        return CC_ERR_INTERNAL;
    }
    w->thread_started = true;
    *out = w;
    return CC_OK;
}

int store_worker_submit(store_worker *w, store_job_fn job_fn, store_done_fn done, void *ctx)
{
    if (!w || !job_fn)
        return CC_ERR_INVALID;
    job *j = cc_calloc(1, sizeof(*j));
    if (!j)
        return CC_ERR_NOMEM;
    *j = (job){job_fn, done, ctx, 0, NULL};
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        cc_free_ptr(j);
        return CC_ERR_BUSY;
    }
    if (w->qtail)
        w->qtail->next = j;
    else
        w->qhead = j;
    w->qtail = j;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    return CC_OK;
}

void store_worker_stop(store_worker *w)
{
    if (!w || w->stopped)
        return;
    w->stopped = true;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    if (w->thread_started)
        uv_thread_join(&w->thread);
    w->thread_started = false;
    deliver(w);
    uv_close((uv_handle_t *)&w->async, on_closed);
}

void store_worker_free(store_worker *w)
{
    if (!w)
        return;
    store_worker_stop(w);
    if (!w->closed) {
        /* Called before the loop closed the handle: finish when it has. */
        w->free_pending = true;
        return;
    }
    destroy(w);
}

int64_t store_worker_delivered_seq(const store_worker *w)
{
    return w->delivered_seq;
}

bool store_worker_healthy(const store_worker *w)
{
    return __atomic_load_n(&w->healthy, __ATOMIC_ACQUIRE);
}
