/* Internal structures of net/, shared by its files and by nothing else. */
#ifndef CC_NET_INTERNAL_H
#define CC_NET_INTERNAL_H

#include "net/net.h"
#include <libwebsockets.h>

#define NET_MAX_PARAMS 8
#define NET_MAX_QUERY 16
#define NET_MAX_HEADERS_OUT 8
#define NET_MAX_GAUGES 32
#define NET_MAX_READY_PARTS 8
#define NET_MAX_ROUTE_TABLES 32
#define NET_MAX_WS_HOOKS 32
#define NET_READ_BUF (32 * 1024) /* lws pt_serv_buf_size: more than a TLS record (16 KiB) */

typedef struct net_ws net_ws;

/* Per-connection user data of the one lws protocol: an HTTP transaction or a WebSocket. */
typedef struct {
    net_req *req;            /* current HTTP transaction, owned (one reference) */
    net_ws *ws;              /* WebSocket state after upgrade, owned */
    void *upgrade_principal; /* principal authenticated at the upgrade, handed to ws */
    void (*upgrade_principal_free)(void *);
    int refuse_code; /* HTTP/2 upgrade accepted only to be closed with this code (ws.c) */
    bool guest;      /* an upgrade on the guest path: no session, no principal yet */
    char *guest_ip;  /* its source address, owned until handed to ws */
} net_pss;

struct net_req {
    int refs;
    net_server *srv;
    struct lws *wsi; /* NULL once the client is gone */
    const net_route *route;
    const char *label; /* for logs and metrics when no route matched ("static") */
    void *route_ud;
    bool is_h2;
    char method[8];
    const char *path; /* this and the headers below point into strings */
    char id[17];
    char ip[64];
    const char *user_agent, *cookie, *authorization, *content_type, *origin;
    char *strings; /* owned: path and headers, one after the other */
    int nparams;
    const char *param_names[NET_MAX_PARAMS];
    char *param_values[NET_MAX_PARAMS];
    int nquery;
    char *query[NET_MAX_QUERY]; /* "name=value", decoded by lws */
    int64_t content_length;     /* -1 if absent */
    cc_buf body;
    bool body_expected; /* the route takes a body and it is still to come in HTTP_BODY chunks */
    bool body_complete;
    json_t *json;
    void *principal;
    void (*principal_free)(void *);
    /* response */
    bool replied;
    bool headers_sent; /* h2: headers went in an earlier write */
    size_t body_sent;  /* h2: body bytes already sent in DATA frames */
    bool flushing;     /* written, but lws still buffers part of it */
    int write_rc;      /* net__req_write's result, kept while flushing */
    int status;
    const char *resp_type;
    bool resp_type_owned; /* false: it is net__json_type, not a copy */
    cc_buf resp_body;
    int nheaders_out;
    char *headers_out[NET_MAX_HEADERS_OUT][2];
    uint64_t start_us;
    bool counted_inflight;
    bool in_callback; /* lws is calling us for it: a reply is written on return, not on POLLOUT */
};

typedef struct {
    char *name, *help;
    net_gauge_fn fn;
    void *ud;
    bool counter;
} net_gauge;

/* Request counters by route template, method and status. */
typedef struct net_metric_row {
    struct net_metric_row *next;
    char *route;
    char method[8];
    int status;
    uint64_t count;
} net_metric_row;

#define NET_LATENCY_BUCKETS 12

typedef struct net_hub net_hub;

#define NET_STATIC_MAX_FILES 512
typedef struct {
    char *path;
    char *data; /* NULL: known to be missing */
    size_t len;
} net_static_file;

struct net_server {
    uv_loop_t *loop;
    const cc_config *cfg;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    lws_retry_bo_t retry; /* lws keeps a pointer: lives as long as the server */
    int port;
    bool tls;
    bool draining;
    bool closing; /* net_server_close was called: the lws context is going away */
    bool access_log;
    bool req_id_prefix_set;
    uint32_t req_id_prefix, req_id_counter;
    int inflight;
    uv_timer_t drain_timer;
    bool drain_timer_init;
    bool drain_grace_over; /* requests sent just before the drain began have been read */
    int drain_rest_ms;     /* the drain's deadline, counted from the end of the grace */
    void (*drain_done)(void *);
    void *drain_ud;
    /* routes */
    const net_route *tables[NET_MAX_ROUTE_TABLES];
    size_t table_len[NET_MAX_ROUTE_TABLES];
    void *table_ud[NET_MAX_ROUTE_TABLES];
    size_t ntables;
    /* hooks */
    net_authn_fn authn;
    void *authn_ud;
    net_visible_fn visible;
    void *visible_ud;
    net_ready_fn ready;
    void *ready_ud;
    struct {
        const char *name;
        net_ready_fn fn;
        void *ud;
    } ready_parts[NET_MAX_READY_PARTS];
    size_t nready_parts;
    int events_perm;
    /* WebSocket hooks of modules (ws.c) */
    struct {
        const char *type;
        net_ws_msg_fn fn;
        net_ws_conn_msg_fn conn_fn; /* instead of fn */
        void *ud;
    } ws_msgs[NET_MAX_WS_HOOKS];
    size_t nws_msgs;
    struct {
        net_ws_conn_fn on_open, on_close;
        net_ws_conn_close_fn on_close_conn;
        void *ud;
    } ws_observers[NET_MAX_WS_HOOKS];
    size_t nws_observers;
    /* the guest WebSocket (ws_guest.c): a path without sessions, its own message handlers */
    char *guest_path;
    char *public_url;     /* net_server_public_url */
    cc_map *guests_by_ip; /* source address -> open guest connections (int *), for the cap */
    struct {
        const char *type;
        net_ws_conn_msg_fn fn;
        void *ud;
    } ws_guest_msgs[NET_MAX_WS_HOOKS];
    size_t nws_guest_msgs;
    /* limits */
    size_t max_body;
    uint64_t request_timeout_us; /* for the headers (lws) and the whole body (http callback) */
    size_t max_ws_message;
    cc_rate ws_rx_rate; /* messages a client may send on one WebSocket */
    size_t ws_queue_max;
    char **origins;
    size_t norigins;
    /* metrics */
    net_metric_row *metric_rows;
    uint64_t latency_buckets[NET_LATENCY_BUCKETS + 1];
    double latency_sum;
    uint64_t latency_count;
    net_gauge gauges[NET_MAX_GAUGES];
    size_t ngauges;
    /* watchdog.c */
    uv_timer_t wd_timer;
    bool wd_init;
    uint64_t wd_last_ms; /* when the watchdog's timer last ran (uv_hrtime, ms) */
    uint64_t loop_stalls;
    /* WebSockets */
    net_hub *hub;
    net_ws_client *ws_clients;        /* outgoing ones (ws_client.c) */
    net_ws_client *ws_client_opening; /* inside lws_client_connect_via_info */
    char *static_dir;
    net_static_file static_files[NET_STATIC_MAX_FILES];
    size_t nstatic;
};

/* server.c: a request ended or a WebSocket closed; completes a drain that waited for it. */
void net__drain_check(net_server *s);

/* http.c */
net_req *net__req_new(net_server *s, struct lws *wsi);
int net__req_write(net_req *r); /* WRITEABLE: 0 keep, -1 close */
void net__req_detach(net_req *r);
uint64_t net__req_age_us(const net_req *r); /* since its headers arrived */
/* Adds the security headers for a response of content_type (may be NULL). */
int net__security_headers(net_server *s, struct lws *wsi, const char *content_type,
                          unsigned char **p, unsigned char *end);

/* router.c */
/* Finds the route for method+path, filling path params. *method_mismatch is set when the path
 * matches a route with another method. */
const net_route *net__route_find(net_server *s, net_req *r, bool *method_mismatch);
void net__dispatch(net_req *r);      /* after headers: authn, body checks, or handler */
void net__body_complete(net_req *r); /* after the body: parse, validate, handler */

/* builtin.c: /healthz, /readyz, /metrics (the table is extern for the OpenAPI drift test) */
extern const net_route net__builtin_routes[];
extern const size_t net__builtin_routes_count;
int net__builtin_register(net_server *s);

/* metrics.c */
void net__metrics_record(net_server *s, const net_req *r, uint64_t now_us);
void net__metrics_free(net_server *s);
char *net__metrics_render(net_server *s);

/* static.c */
int net__static_serve(net_req *r); /* 1 if it replied */
void net__static_free(net_server *s);

/* watchdog.c */
void net__watchdog_start(net_server *s);
void net__watchdog_stop(net_server *s);

/* tls.c */
int net__tls_ensure_dev_cert(const char *data_dir, char **cert_path, char **key_path, char *why,
                             size_t whylen);
/* Whether OpenSSL accepts list as TLS 1.3 cipher suites (lws would only log a refusal). */
bool net__tls_ciphersuites_valid(const char *list);

/* ws.c */
int net__hub_create(net_server *s);
void net__hub_free(net_server *s);
int net__ws_callback(struct lws *wsi, enum lws_callback_reasons reason, net_pss *pss, void *in,
                     size_t len);
bool net__ws_origin_allowed(net_server *s, const char *origin);
size_t net__ws_count(const net_server *s);   /* every socket, closing ones included */
size_t net__ws_serving(const net_server *s); /* those not closing (metrics) */
void net__ws_close_all(net_server *s, int code, const char *reason);

/* ws_client.c: outgoing WebSockets, the vhost's second protocol */
#define NET_WS_CLIENT_PROTOCOL "carecomm-ws-client"
int net__ws_client_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                            size_t len);
/* A wsi is being destroyed (whatever protocol it ended on): ends its client, if it is one. */
void net__ws_client_destroyed(net_server *s, struct lws *wsi);
void net__ws_clients_free(net_server *s);

#endif
