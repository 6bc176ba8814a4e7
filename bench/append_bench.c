/* Event-log appends per second through the store worker, as the daemon writes them: N jobs, each
 * appending one event in its own savepoint, submitted from the loop; group commit does the rest.
 * Prints jobs/s and the latency of acknowledgement. Usage: append_bench sqlite DIR | postgresql
 * CONNINFO [N] */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uv_loop_t *loop;
    store_worker *w;
    int total, submitted, done, delivered;
    double *lat_ms;
    double *t0;
    int window;
} bench;

typedef struct {
    bench *b;
    int i;
} job_ctx;

static double now_ms(void)
{
    return (double)uv_hrtime() / 1e6;
}

static int append_job(store *st, void *ctx)
{
    job_ctx *j = ctx;
    json_t *p = json_pack("{s:i,s:s}", "i", j->i, "text", "0123456789abcdef0123456789abcdef");
    int rc = store_event_append(st, "bench.append", "all", p, NULL);
    json_decref(p);
    return rc;
}

static void submit_more(bench *b);

static void append_done(void *ctx, int rc)
{
    job_ctx *j = ctx;
    bench *b = j->b;
    if (rc != CC_OK) {
        fprintf(stderr, "append failed: %s\n", cc_strerror(rc));
        exit(1);
    }
    b->lat_ms[j->i] = now_ms() - b->t0[j->i];
    b->done++;
    free(j);
    submit_more(b);
    if (b->done == b->total)
        store_worker_stop(b->w);
}

static void submit_more(bench *b)
{
    /* Keep `window` jobs in flight, like as many concurrent clients. */
    while (b->submitted < b->total && b->submitted - b->done < b->window) {
        job_ctx *j = malloc(sizeof(*j));
        j->b = b;
        j->i = b->submitted++;
        b->t0[j->i] = now_ms();
        if (store_worker_submit(b->w, append_job, append_done, j) != CC_OK)
            exit(1);
    }
}

static void sink(void *ud, const store_event *evs, size_t n)
{
    (void)evs;
    ((bench *)ud)->delivered += (int)n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    char why[256];
    store *st = NULL;
    if (argc < 3) {
        fprintf(stderr, "usage: append_bench sqlite DIR | postgresql CONNINFO [N] [WINDOW]\n");
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 50000;
    int window = argc > 4 ? atoi(argv[4]) : 256;
    cc_crypto_init();
    int rc;
    if (strcmp(argv[1], "sqlite") == 0) {
        char *path = cc_sprintf("%s/bench.db", argv[2]);
        rc = store_open_sqlite(path, &st, why, sizeof(why));
        cc_free(&path);
    } else {
        rc = store_open_postgres(argv[2], &st, why, sizeof(why));
    }
    if (rc != CC_OK) {
        fprintf(stderr, "open: %s\n", why);
        return 1;
    }
    int64_t head = 0;
    store_event_head(st, &head);
    uv_loop_t loop;
    uv_loop_init(&loop);
    bench b = {&loop, NULL, n, 0, 0, 0, calloc((size_t)n, sizeof(double)),
               calloc((size_t)n, sizeof(double)), window};
    if (store_worker_start(&loop, st, head, 250, sink, &b, &b.w) != CC_OK)
        return 1;
    double start = now_ms();
    submit_more(&b);
    uv_run(&loop, UV_RUN_DEFAULT);
    double secs = (now_ms() - start) / 1000.0;
    store_worker_free(b.w);
    uv_loop_close(&loop);
    qsort(b.lat_ms, (size_t)n, sizeof(double), cmp);
    printf("backend=%s appends=%d in_flight=%d seconds=%.2f appends_per_s=%.0f "
           "ack_p50_ms=%.2f ack_p99_ms=%.2f events_delivered=%d\n",
           argv[1], n, window, secs, n / secs, b.lat_ms[n / 2], b.lat_ms[(int)(n * 0.99)],
           b.delivered);
    free(b.lat_ms);
    free(b.t0);
    return b.delivered == n ? 0 : 1;
}
