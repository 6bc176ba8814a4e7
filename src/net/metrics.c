/* Request metrics (counts by route, method and status; a latency histogram) and their Prometheus
 * text rendering with the gauges modules register. */
#include "net/net_internal.h"

#include <string.h>

static const double net__bounds[NET_LATENCY_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                        0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

void net__metrics_record(net_server *s, const net_req *r, uint64_t now)
{
    const char *route = net_req_route_path(r);
    net_metric_row *row, **link;
    for (link = &s->metric_rows; (row = *link); link = &row->next)
        if (row->status == r->status && strcmp(row->method, r->method) == 0 &&
            strcmp(row->route, route) == 0)
            break;
    if (row && link != &s->metric_rows) {
        /* to the front: the busy routes are found first (there is a row per route and status) */
        *link = row->next;
        row->next = s->metric_rows;
        s->metric_rows = row;
    }
    if (!row) {
        row = cc_calloc(1, sizeof(*row));
        if (row && !(row->route = cc_strdup(route)))
            cc_free(&row);
        if (!row)
            return;
        snprintf(row->method, sizeof(row->method), "%s", r->method);
        row->status = r->status;
        row->next = s->metric_rows;
        s->metric_rows = row;
    }
    row->count++;
    double secs = (double)(now - r->start_us) / 1e6;
    int b = 0;
    while (b < NET_LATENCY_BUCKETS && secs > net__bounds[b])
        b++;
    s->latency_buckets[b]++;
    s->latency_sum += secs;
    s->latency_count++;
}

void net__metrics_free(net_server *s)
{
    net_metric_row *row = s->metric_rows;
    while (row) {
        net_metric_row *next = row->next;
        cc_free(&row->route);
        cc_free_ptr(row);
        row = next;
    }
    s->metric_rows = NULL;
}

char *net__metrics_render(net_server *s)
{
    cc_buf b = {0};
    int rc = CC_OK;
    rc |= cc_buf_appendf(&b, "# HELP carecomm_http_requests_total HTTP requests answered.\n"
                             "# TYPE carecomm_http_requests_total counter\n");
    for (net_metric_row *row = s->metric_rows; row; row = row->next)
        rc |=
            cc_buf_appendf(&b,
                           "carecomm_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"}"
                           " %llu\n",
                           row->route, row->method, row->status, (unsigned long long)row->count);
    rc |= cc_buf_appendf(&b, "# HELP carecomm_http_request_duration_seconds Time from request "
                             "headers to response.\n"
                             "# TYPE carecomm_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < NET_LATENCY_BUCKETS; i++) {
        cum += s->latency_buckets[i];
        rc |= cc_buf_appendf(&b, "carecomm_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                             net__bounds[i], (unsigned long long)cum);
    }
    cum += s->latency_buckets[NET_LATENCY_BUCKETS];
    rc |= cc_buf_appendf(&b,
                         "carecomm_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                         "carecomm_http_request_duration_seconds_sum %.6f\n"
                         "carecomm_http_request_duration_seconds_count %llu\n",
                         (unsigned long long)cum, s->latency_sum,
                         (unsigned long long)s->latency_count);
    rc |= cc_buf_appendf(
        &b,
        "# HELP carecomm_websockets_open Event WebSockets being served (not closing).\n"
        "# TYPE carecomm_websockets_open gauge\ncarecomm_websockets_open %zu\n"
        "# HELP carecomm_event_log_head Highest event sequence delivered.\n"
        "# TYPE carecomm_event_log_head gauge\ncarecomm_event_log_head %lld\n"
        "# HELP carecomm_http_requests_in_flight Requests not yet answered.\n"
        "# TYPE carecomm_http_requests_in_flight gauge\n"
        "carecomm_http_requests_in_flight %d\n"
        "# HELP carecomm_memory_bytes Bytes allocated through carecomm's "
        "allocator.\n# TYPE carecomm_memory_bytes gauge\n"
        "carecomm_memory_bytes %lld\n"
        "# HELP carecomm_loop_stalls_total Times the event loop was held 100 ms "
        "or more.\n# TYPE carecomm_loop_stalls_total counter\n"
        "carecomm_loop_stalls_total %llu\n",
        net__ws_serving(s), (long long)net_hub_head(s), s->inflight, (long long)cc_mem_live_bytes(),
        (unsigned long long)s->loop_stalls);
    for (size_t i = 0; i < s->ngauges; i++)
        rc |= cc_buf_appendf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", s->gauges[i].name,
                             s->gauges[i].help, s->gauges[i].name,
                             s->gauges[i].counter ? "counter" : "gauge", s->gauges[i].name,
                             s->gauges[i].fn(s->gauges[i].ud));
    if (rc != CC_OK) {
        cc_buf_free(&b);
        return NULL;
    }
    return b.data;
}
