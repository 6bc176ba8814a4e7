/* The lws context and vhost on the application's libuv loop, the one protocol callback that
 * dispatches HTTP and WebSocket events, and the server lifecycle (see notes/lws-libuv.md for the
 * shutdown order). */
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <string.h>

const cc_cfg_key net_config_keys[] = {
    {"listen", CC_CFG_STRING, "127.0.0.1:8443", 0, 0, false,
     "Address and port to listen on (host:port); 0.0.0.0:8443 to serve every interface"},
    {"tls_cert", CC_CFG_STRING, NULL, 0, 0, false,
     "PEM certificate chain; empty: a self-signed development certificate in <data_dir>/tls/"},
    {"tls_key", CC_CFG_STRING, NULL, 0, 0, true, "PEM private key of tls_cert"},
    {"tls_ciphersuites", CC_CFG_STRING,
     "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384", 0, 0, false,
     "TLS 1.3 cipher suites, the server's choice first (the first costs least memory per "
     "connection)"},
    {"plain_http", CC_CFG_BOOL, "false", 0, 0, false,
     "Serve plain HTTP instead of HTTPS; refused unless listen is a loopback address"},
    {"public_url", CC_CFG_STRING, NULL, 0, 0, false,
     "URL users reach the server at (https://carecomm.hospital.example), for links; default "
     "https://<listen address> (localhost for 0.0.0.0)"},
    {"allowed_origins", CC_CFG_STRING, NULL, 0, 0, false,
     "Comma-separated extra origins allowed to open the event WebSocket"},
    {"max_body_bytes", CC_CFG_INT, "1048576", 1024, 67108864, false,
     "Largest request body accepted (413 above)"},
    {"max_header_bytes", CC_CFG_INT, "8192", 1024, 32768, false,
     "Largest request line plus headers accepted"},
    {"max_ws_message_bytes", CC_CFG_INT, "65536", 1024, 16777216, false,
     "Largest WebSocket message accepted from a client (closed with 1009 above)"},
    {"ws_messages_per_minute", CC_CFG_INT, "3000", 0, 60000000, false,
     "Messages per minute a client may send on one WebSocket, sustained (3000 is 50 a second); "
     "above it the socket is closed with 4029; 0: no limit"},
    {"ws_messages_burst", CC_CFG_INT, "300", 1, 10000000, false,
     "Messages a client may send at once on one WebSocket above the sustained rate"},
    {"ws_send_queue", CC_CFG_INT, "1024", 16, 1000000, false,
     "Messages queued for one WebSocket before the client is closed as too slow (4008)"},
    {"ws_ping_seconds", CC_CFG_INT, "30", 5, 3600, false,
     "Idle seconds before the server pings a WebSocket; no answer within as long again closes it"},
    {"request_timeout_seconds", CC_CFG_INT, "20", 2, 600, false,
     "Seconds a client has to send its headers or body"},
    {"keepalive_timeout_seconds", CC_CFG_INT, "30", 1, 3600, false,
     "Idle seconds before a keep-alive HTTP connection is closed"},
    {"event_ring_size", CC_CFG_INT, "20000", 100, 10000000, false,
     "Recent events kept in memory to serve resumes without the database"},
    {"site_name", CC_CFG_STRING, "carecomm", 0, 0, false,
     "Name of the hospital or site shown in the web app"},
    {"timezone", CC_CFG_STRING, "Europe/Paris", 0, 0, false,
     "IANA time zone in which the web app shows dates and times"},
    {"default_language", CC_CFG_STRING, "fr", 0, 0, false,
     "Language of the web app until the user picks one: fr or en"},
    {"access_log", CC_CFG_BOOL, "true", 0, 0, false,
     "Log one line per request (route template, status, duration; never the path or data)"},
    {"metrics_token", CC_CFG_STRING, NULL, 0, 0, true,
     "Bearer token a remote Prometheus presents for /metrics (localhost needs none)"},
    {"static_dir", CC_CFG_STRING, "web/dist", 0, 0, false, "Folder of the built web application"},
};
const size_t net_config_keys_count = sizeof(net_config_keys) / sizeof(net_config_keys[0]);

static int net__callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len);

static const struct lws_protocols net__protocols[] = {
    /* rx_buffer_size is allocated per WebSocket: clients send small messages (hello, ping), larger
     * ones arrive in pieces that ws.c assembles up to max_ws_message_bytes. tx_packet_size must be
     * set apart: when 0, lws caps every send() at rx_buffer_size, so a response went out in
     * 276-byte pieces, one loop iteration each (and a drain could end with them still buffered). */
    {"carecomm", net__callback, sizeof(net_pss), 64, 0, NULL, 65536},
    /* Outgoing WebSockets (ws_client.c): no per-session data, clients are found by wsi. Replies
     * of a peer such as Janus (SDP) are larger than our clients' messages. */
    {NET_WS_CLIENT_PROTOCOL, net__ws_client_callback, 0, 4096, 0, NULL, 65536},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};
/* Bind subprotocol-less WebSocket upgrades to our protocol (notes/lws-libuv.md). */
static const struct lws_protocol_vhost_options net__pvo_default = {NULL, NULL, "default", "1"};
/* lws keeps pointers to these for the life of the vhost: static storage. */
static const struct lws_protocol_vhost_options net__pvo = {NULL, &net__pvo_default, "carecomm", ""};

static void net__lws_log(int level, const char *line)
{
    char buf[512];
    size_t n = strlen(line);
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    memcpy(buf, line, n);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    cc_logf(level == LLL_ERR ? CC_LOG_WARN : CC_LOG_DEBUG, "libwebsockets", "{s:s}", "line", buf);
}

static bool net__is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* Splits "host:port"; host may be empty (all interfaces) or a bracketed IPv6 address. */
static int net__parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon[1] == '\0')
        return CC_ERR_INVALID;
    const char *h = s;
    size_t hn = (size_t)(colon - s);
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    }
    if (hn >= hostlen)
        return CC_ERR_INVALID;
    memcpy(host, h, hn);
    host[hn] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535)
        return CC_ERR_INVALID;
    *port = (int)p;
    return CC_OK;
}

static int net__add_origin(net_server *s, const char *o, size_t n)
{
    while (n && (*o == ' ' || *o == '\t')) {
        o++;
        n--;
    }
    while (n && (o[n - 1] == ' ' || o[n - 1] == '\t'))
        n--;
    /* A browser's Origin is scheme://host[:port], without a path and without the scheme's
     * default port: reduce a URL such as https://host:443/carecomm/ to that, or it never
     * matches. */
    const char *sep = memmem(o, n, "://", 3);
    if (sep) {
        const char *auth = sep + 3;
        const char *slash = memchr(auth, '/', n - (size_t)(auth - o));
        if (slash)
            n = (size_t)(slash - o);
        size_t scheme = (size_t)(sep - o);
        if (scheme == 5 && strncasecmp(o, "https", 5) == 0 && n > 4 &&
            memcmp(o + n - 4, ":443", 4) == 0)
            n -= 4;
        else if (scheme == 4 && strncasecmp(o, "http", 4) == 0 && n > 3 &&
                 memcmp(o + n - 3, ":80", 3) == 0)
            n -= 3;
    }
    while (n && o[n - 1] == '/')
        n--;
    if (n == 0)
        return CC_OK;
    char **grown = cc_realloc(s->origins, (s->norigins + 1) * sizeof(*grown));
    if (!grown)
        return CC_ERR_NOMEM;
    s->origins = grown;
    s->origins[s->norigins] = cc_strndup(o, n);
    if (!s->origins[s->norigins])
        return CC_ERR_NOMEM;
    s->norigins++;
    return CC_OK;
}

/* The origins allowed to open the event WebSocket: the public URL, the local names of the port,
 * and any configured extra ones. */
/* net_server_public_url: public_url, else where this server listens (a wildcard address is no
 * place to send anyone: localhost then). */
static int net__setup_public_url(net_server *s, const char *host, int port)
{
    const char *pub = cc_config_str(s->cfg, "public_url");
    bool wildcard = !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
    cc_buf url = {0};
    int rc;
    if (pub && *pub)
        rc = cc_buf_appendf(&url, "%s", pub);
    else
        rc = cc_buf_appendf(&url, strchr(host, ':') && !wildcard ? "%s://[%s]:%d" : "%s://%s:%d",
                            s->tls ? "https" : "http", wildcard ? "localhost" : host, port);
    while (rc == CC_OK && url.len && url.data[url.len - 1] == '/')
        url.data[--url.len] = '\0';
    if (rc != CC_OK || !url.data) {
        cc_buf_free(&url);
        return CC_ERR_NOMEM;
    }
    s->public_url = url.data;
    return CC_OK;
}

static int net__setup_origins(net_server *s, int port)
{
    const char *scheme = s->tls ? "https" : "http";
    char buf[300];
    int rc = CC_OK;
    const char *pub = cc_config_str(s->cfg, "public_url");
    if (pub && *pub && (rc = net__add_origin(s, pub, strlen(pub))) != CC_OK)
        return rc;
    const char *locals[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < 3; i++) {
        int n = snprintf(buf, sizeof(buf), "%s://%s:%d", scheme, locals[i], port);
        if ((rc = net__add_origin(s, buf, (size_t)n)) != CC_OK)
            return rc;
    }
    const char *extra = cc_config_str(s->cfg, "allowed_origins");
    while (extra && *extra) {
        const char *comma = strchr(extra, ',');
        size_t n = comma ? (size_t)(comma - extra) : strlen(extra);
        if ((rc = net__add_origin(s, extra, n)) != CC_OK)
            return rc;
        extra = comma ? comma + 1 : NULL;
    }
    return CC_OK;
}

int net_server_create(uv_loop_t *loop, const cc_config *cfg, net_server **out, char *why,
                      size_t whylen)
{
    int rc = CC_ERR_CONFIG;
    char host[128];
    int port;
    char *cert = NULL, *key = NULL;
    net_server *s = cc_calloc(1, sizeof(*s));
    *out = NULL;
    if (!s)
        return CC_ERR_NOMEM;
    s->loop = loop;
    s->cfg = cfg;
    s->max_body = (size_t)cc_config_int(cfg, "max_body_bytes");
    s->request_timeout_us = (uint64_t)cc_config_int(cfg, "request_timeout_seconds") * 1000000u;
    s->max_ws_message = (size_t)cc_config_int(cfg, "max_ws_message_bytes");
    s->ws_queue_max = (size_t)cc_config_int(cfg, "ws_send_queue");
    s->ws_rx_rate = cc_rate_per_minute(cc_config_int(cfg, "ws_messages_per_minute"),
                                       cc_config_int(cfg, "ws_messages_burst"));
    s->access_log = cc_config_bool(cfg, "access_log");
    const char *sd = cc_config_str(cfg, "static_dir");
    if (sd && *sd && !(s->static_dir = cc_strdup(sd))) {
        rc = CC_ERR_NOMEM;
        goto fail;
    }

    if (net__parse_listen(cc_config_str(cfg, "listen"), host, sizeof(host), &port) != CC_OK) {
        snprintf(why, whylen, "listen: expected host:port, got '%s'", cc_config_str(cfg, "listen"));
        goto fail;
    }
    s->tls = !cc_config_bool(cfg, "plain_http");
    if (!s->tls && !net__is_loopback(host)) {
        snprintf(why, whylen, "plain_http: refused because listen '%s' is not a loopback address",
                 host);
        goto fail;
    }
    if (s->tls && !net__tls_ciphersuites_valid(cc_config_str(cfg, "tls_ciphersuites"))) {
        snprintf(why, whylen,
                 "tls_ciphersuites: not a list of TLS 1.3 cipher suites OpenSSL knows");
        goto fail;
    }
    if (s->tls) {
        const char *c = cc_config_str(cfg, "tls_cert"), *k = cc_config_str(cfg, "tls_key");
        if (c && *c) {
            if (!k || !*k) {
                snprintf(why, whylen, "tls_key: required when tls_cert is set");
                goto fail;
            }
            cert = cc_strdup(c);
            key = cc_strdup(k);
            if (!cert || !key) {
                rc = CC_ERR_NOMEM;
                goto fail;
            }
        } else if ((rc = net__tls_ensure_dev_cert(cc_config_str(cfg, "data_dir"), &cert, &key, why,
                                                  whylen)) != CC_OK) {
            goto fail;
        }
    }

    lws_set_log_level(LLL_ERR | LLL_WARN, net__lws_log);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *foreign_loops[1] = {loop};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                   LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.foreign_loops = foreign_loops;
    info.user = s;
    info.timeout_secs = (unsigned)cc_config_int(cfg, "request_timeout_seconds");
    info.max_http_header_data = (unsigned short)cc_config_int(cfg, "max_header_bytes");
    info.max_http_header_pool = 1024;
    /* lws reads each connection into this per-thread buffer. At 4096 (the default) a TLS record
     * of a larger request body (up to 16 KiB) stayed half-read inside OpenSSL, which lws 4.1.6
     * on libuv never drains: the socket had nothing more to poll, so HTTP/1.1 bodies over ~8 KB
     * never completed. A buffer that holds a whole record takes each one out at once. */
    info.pt_serv_buf_size = NET_READ_BUF;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(why, whylen, "libwebsockets: context creation failed");
        rc = CC_ERR_INTERNAL;
        goto fail;
    }

    s->retry.secs_since_valid_ping = (uint16_t)cc_config_int(cfg, "ws_ping_seconds");
    s->retry.secs_since_valid_hangup = (uint16_t)(2 * cc_config_int(cfg, "ws_ping_seconds"));

    struct lws_context_creation_info vinfo;
    memset(&vinfo, 0, sizeof(vinfo));
    vinfo.vhost_name = "carecomm";
    vinfo.port = port;
    vinfo.iface = host[0] ? host : NULL;
    vinfo.protocols = net__protocols;
    vinfo.pvo = &net__pvo;
    vinfo.keepalive_timeout = (int)cc_config_int(cfg, "keepalive_timeout_seconds");
    /* The headers of a request after the first on a keep-alive connection are timed by this one
     * (lws default 10 s), not by timeout_secs: without it a slowloris got 10 s per connection. */
    vinfo.timeout_secs_ah_idle = info.timeout_secs;
    vinfo.retry_and_idle_policy = &s->retry;
    vinfo.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                    (s->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    /* An IPv4 address to listen on needs an IPv4 socket: on its IPv6 socket lws 4.1.6 leaves the
     * address unset and listens on every interface ("127.0.0.1:8443" was reachable from the
     * network). */
    struct in_addr v4;
    if (host[0] && inet_pton(AF_INET, host, &v4) == 1)
        vinfo.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    vinfo.server_string = "carecomm";
    if (s->tls) {
        vinfo.ssl_cert_filepath = cert;
        vinfo.ssl_private_key_filepath = key;
        vinfo.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                                SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE;
        /* The server picks: OpenSSL's own order puts AES-256-GCM first, and an idle connection
         * under it holds about 0.4 KiB more than under ChaCha20-Poly1305 (bench/RESULTS.md); at
         * thousands of idle WebSockets that is what matters, not the cipher's speed on small
         * messages. */
        vinfo.tls1_3_plus_cipher_list = cc_config_str(cfg, "tls_ciphersuites");
    }
    s->vhost = lws_create_vhost(s->ctx, &vinfo);
    if (!s->vhost) {
        snprintf(why, whylen, "listen: cannot serve on %s:%d (address in use, or bad certificate)",
                 host, port);
        rc = CC_ERR_IO;
        goto fail;
    }
    s->port = lws_get_vhost_listen_port(s->vhost);
    if ((rc = net__setup_origins(s, s->port)) != CC_OK ||
        (rc = net__setup_public_url(s, host, s->port)) != CC_OK ||
        (rc = net__hub_create(s)) != CC_OK || (rc = net__builtin_register(s)) != CC_OK) {
        snprintf(why, whylen, "net: set-up failed (%s)", cc_strerror(rc));
        goto fail;
    }
    net__watchdog_start(s);
    cc_free(&cert);
    cc_free(&key);
    *out = s;
    return CC_OK;
fail:
    cc_free(&cert);
    cc_free(&key);
    if (s->ctx) {
        /* No connection exists yet, so one destroy call frees everything; the loop still has to
         * run for lws's handles to close, which the caller does on its error path. */
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
    }
    net_server_free(s);
    return rc;
}

int net_server_add_routes(net_server *s, const net_route *routes, size_t n, void *ud)
{
    if (s->ntables >= NET_MAX_ROUTE_TABLES)
        return CC_ERR_TOO_BIG;
    s->tables[s->ntables] = routes;
    s->table_len[s->ntables] = n;
    s->table_ud[s->ntables] = ud;
    s->ntables++;
    return CC_OK;
}

void net_server_set_authn(net_server *s, net_authn_fn fn, void *ud)
{
    s->authn = fn;
    s->authn_ud = ud;
}

void net_server_set_visibility(net_server *s, net_visible_fn fn, void *ud)
{
    s->visible = fn;
    s->visible_ud = ud;
}

void net_server_set_ready(net_server *s, net_ready_fn fn, void *ud)
{
    s->ready = fn;
    s->ready_ud = ud;
}

static int net__add_ws_message(net_server *s, const char *type, net_ws_msg_fn fn,
                               net_ws_conn_msg_fn conn_fn, void *ud)
{
    if (!type || strcmp(type, "hello") == 0 || strcmp(type, "ping") == 0 ||
        strlen(type) > NET_WS_TYPE_MAX)
        return CC_ERR_INVALID;
    for (size_t i = 0; i < s->nws_msgs; i++)
        if (strcmp(s->ws_msgs[i].type, type) == 0)
            return CC_ERR_EXISTS;
    if (s->nws_msgs >= NET_MAX_WS_HOOKS)
        return CC_ERR_TOO_BIG;
    s->ws_msgs[s->nws_msgs].type = type;
    s->ws_msgs[s->nws_msgs].fn = fn;
    s->ws_msgs[s->nws_msgs].conn_fn = conn_fn;
    s->ws_msgs[s->nws_msgs].ud = ud;
    s->nws_msgs++;
    return CC_OK;
}

int net_server_add_ws_message(net_server *s, const char *type, net_ws_msg_fn fn, void *ud)
{
    return net__add_ws_message(s, type, fn, NULL, ud);
}

int net_server_add_ws_conn_message(net_server *s, const char *type, net_ws_conn_msg_fn fn, void *ud)
{
    return net__add_ws_message(s, type, NULL, fn, ud);
}

int net_server_add_ws_conn_observer(net_server *s, net_ws_conn_close_fn on_close, void *ud)
{
    if (s->nws_observers >= NET_MAX_WS_HOOKS)
        return CC_ERR_TOO_BIG;
    memset(&s->ws_observers[s->nws_observers], 0, sizeof(s->ws_observers[0]));
    s->ws_observers[s->nws_observers].on_close_conn = on_close;
    s->ws_observers[s->nws_observers].ud = ud;
    s->nws_observers++;
    return CC_OK;
}

int net_server_add_ws_observer(net_server *s, net_ws_conn_fn on_open, net_ws_conn_fn on_close,
                               void *ud)
{
    if (s->nws_observers >= NET_MAX_WS_HOOKS)
        return CC_ERR_TOO_BIG;
    memset(&s->ws_observers[s->nws_observers], 0, sizeof(s->ws_observers[0]));
    s->ws_observers[s->nws_observers].on_open = on_open;
    s->ws_observers[s->nws_observers].on_close = on_close;
    s->ws_observers[s->nws_observers].ud = ud;
    s->nws_observers++;
    return CC_OK;
}

void net_server_set_events_perm(net_server *s, int perm)
{
    s->events_perm = perm;
}

const char *net_server_public_url(const net_server *s)
{
    return s->public_url;
}

int net_server_port(const net_server *s)
{
    return s->port;
}

int net_server_add_ready_component(net_server *s, const char *name, net_ready_fn fn, void *ud)
{
    if (s->nready_parts >= NET_MAX_READY_PARTS)
        return CC_ERR_TOO_BIG;
    s->ready_parts[s->nready_parts].name = name;
    s->ready_parts[s->nready_parts].fn = fn;
    s->ready_parts[s->nready_parts].ud = ud;
    s->nready_parts++;
    return CC_OK;
}

static int net__add_metric(net_server *s, const char *name, const char *help, net_gauge_fn fn,
                           void *ud, bool counter);

int net_metrics_add_gauge(net_server *s, const char *name, const char *help, net_gauge_fn fn,
                          void *ud)
{
    return net__add_metric(s, name, help, fn, ud, false);
}

int net_metrics_add_counter(net_server *s, const char *name, const char *help, net_gauge_fn fn,
                            void *ud)
{
    return net__add_metric(s, name, help, fn, ud, true);
}

static int net__add_metric(net_server *s, const char *name, const char *help, net_gauge_fn fn,
                           void *ud, bool counter)
{
    if (s->ngauges >= NET_MAX_GAUGES)
        return CC_ERR_TOO_BIG;
    net_gauge *g = &s->gauges[s->ngauges];
    g->name = cc_strdup(name);
    g->help = cc_strdup(help);
    if (!g->name || !g->help) {
        cc_free(&g->name);
        cc_free(&g->help);
        return CC_ERR_NOMEM;
    }
    g->fn = fn;
    g->ud = ud;
    g->counter = counter;
    s->ngauges++;
    return CC_OK;
}

static void net__drain_finish(net_server *s)
{
    void (*done)(void *) = s->drain_done;
    s->drain_done = NULL;
    if (s->drain_timer_init)
        uv_timer_stop(&s->drain_timer);
    if (done)
        done(s->drain_ud);
}

static void net__drain_timeout(uv_timer_t *t)
{
    net_server *s = t->data;
    if (!s->drain_grace_over) {
        /* The grace is over: requests already on the wire have been read and are in flight. */
        s->drain_grace_over = true;
        uv_timer_start(&s->drain_timer, net__drain_timeout, (uint64_t)s->drain_rest_ms, 0);
        net__drain_check(s);
        return;
    }
    if (s->inflight > 0 || net__ws_count(s) > 0)
        cc_logf(CC_LOG_WARN, "shutdown: requests or WebSockets still open at the deadline",
                "{s:i,s:i}", "inflight", s->inflight, "websockets", (int)net__ws_count(s));
    net__drain_finish(s);
}

/* Called whenever a request ends or a WebSocket closes, so a drain completes as soon as it may:
 * once no request is in flight and every WebSocket has been sent its close frame (destroying
 * the context earlier kills them without one, and clients would see 1006 instead of 1001). */
void net__drain_check(net_server *s)
{
    if (s->draining && s->drain_grace_over && s->inflight == 0 && net__ws_count(s) == 0 &&
        s->drain_done)
        net__drain_finish(s);
}

void net_server_drain(net_server *s, int timeout_ms, void (*done)(void *ud), void *ud)
{
    s->draining = true;
    s->drain_done = done;
    s->drain_ud = ud;
    lws_context_deprecate(s->ctx, NULL);
    net__ws_close_all(s, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    uv_timer_init(s->loop, &s->drain_timer);
    s->drain_timer.data = s;
    s->drain_timer_init = true;
    int grace = timeout_ms < NET_DRAIN_GRACE_MS ? timeout_ms : NET_DRAIN_GRACE_MS;
    s->drain_rest_ms = timeout_ms - grace;
    uv_timer_start(&s->drain_timer, net__drain_timeout, (uint64_t)grace, 0);
}

void net_server_close(net_server *s)
{
    s->closing = true;
    net__watchdog_stop(s);
    if (s->drain_timer_init) {
        uv_close((uv_handle_t *)&s->drain_timer, NULL);
        s->drain_timer_init = false;
    }
    if (s->ctx)
        lws_context_destroy(s->ctx);
}

void net_server_free(net_server *s)
{
    if (!s)
        return;
    if (s->ctx) {
        /* Second call really frees, once the loop has closed lws's handles. */
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
    }
    net__ws_clients_free(s);
    net__hub_free(s);
    net__metrics_free(s);
    net__static_free(s);
    for (size_t i = 0; i < s->ngauges; i++) {
        cc_free(&s->gauges[i].name);
        cc_free(&s->gauges[i].help);
    }
    for (size_t i = 0; i < s->norigins; i++)
        cc_free(&s->origins[i]);
    cc_free(&s->origins);
    cc_free(&s->static_dir);
    cc_free(&s->guest_path);
    cc_free(&s->public_url);
    if (s->guests_by_ip)
        cc_map_free(s->guests_by_ip, cc_free_ptr);
    cc_free_ptr(s);
}

/* Writes (more of) the decided response; the value is the callback's. */
static int net__http_write(struct lws *wsi, net_pss *pss)
{
    int rc = pss->req->flushing ? pss->req->write_rc : net__req_write(pss->req);
    if (rc != 1 && lws_partial_buffered(lws_get_network_wsi(wsi))) {
        /* lws still holds part of the response: the request stays in flight (a drain waits for
         * it) until lws calls back, which it does once it has all been sent. */
        pss->req->flushing = true;
        pss->req->write_rc = rc;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (rc == 1)
        return 0;
    /* finished (0 keep-alive, -1 close): the transaction is over */
    net_req *r = pss->req;
    pss->req = NULL;
    net__req_detach(r);
    net_req_unref(r);
    if (rc == 0 && lws_http_transaction_completed(wsi))
        return -1;
    return rc < 0 ? -1 : 0;
}

/* Runs a step of the request inside lws's callback; a reply decided meanwhile (most are: hot
 * reads come from memory) is written before returning. Asking for POLLOUT instead would cost two
 * epoll_ctl and a loop turn per request on libuv. HTTP/1.1 only: lws 4.1's HTTP/2 framing and
 * flow control want writes from WRITEABLE. lws 4.1.6 accepts a write outside WRITEABLE; what the
 * socket does not take it keeps and sends on POLLOUT (lws_partial_buffered, above). */
static int net__http_step(struct lws *wsi, net_pss *pss, void (*step)(net_req *))
{
    net_req *r = pss->req;
    r->in_callback = true;
    step(r);
    r->in_callback = false;
    if (!r->replied)
        return 0; /* answered later, from WRITEABLE */
    if (r->is_h2 || lws_partial_buffered(wsi)) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return net__http_write(wsi, pss);
}

static void net__req_noop(net_req *r)
{
    (void)r;
}

static int net__http_callback(struct lws *wsi, enum lws_callback_reasons reason, net_pss *pss,
                              void *in, size_t len)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (pss->req) /* a pipelined request while one is still pending: not supported */
            return -1;
        pss->req = net__req_new(s, wsi);
        if (!pss->req)
            return -1;
        return net__http_step(wsi, pss, net__dispatch);
    case LWS_CALLBACK_HTTP_BODY:
        /* Discard when the response (an error) is already decided, or when no body was expected:
         * lws also sends an empty HTTP_BODY for a POST with "Content-Length: 0", while the
         * handler of a route without a body may still be working. */
        if (!pss->req || pss->req->replied || !pss->req->body_expected)
            return 0;
        if (net__req_age_us(pss->req) > s->request_timeout_us) {
            /* lws re-arms its body timeout at every chunk, so a body trickled a byte at a time
             * would hold the connection for ever: the whole body has request_timeout_seconds. */
            net_reply_error(pss->req, 408, "request_timeout", "the request body came too slowly");
            return 0;
        }
        if (pss->req->body.len + len > (size_t)pss->req->content_length) {
            net_reply_error(pss->req, 413, "body_too_large", "request body exceeds its length");
            return 0;
        }
        if (cc_buf_append(&pss->req->body, in, len) != CC_OK)
            return -1;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!pss->req)
            return 0;
        pss->req->body_complete = true;
        if (pss->req->replied)
            return net__http_step(wsi, pss, net__req_noop);
        if (pss->req->body_expected)
            return net__http_step(wsi, pss, net__body_complete);
        /* else: a route without a body ("Content-Length: 0" POST), already dispatched */
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!pss->req || !pss->req->replied)
            return 0;
        return net__http_write(wsi, pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss->upgrade_principal && reason == LWS_CALLBACK_CLOSED_HTTP &&
            pss->upgrade_principal_free) {
            /* authenticated for an upgrade that never completed */
            pss->upgrade_principal_free(pss->upgrade_principal);
            pss->upgrade_principal = NULL;
        }
        if (pss->req) {
            net_req *r = pss->req;
            pss->req = NULL;
            net__req_detach(r);
            net_req_unref(r);
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, pss, in, len);
}

static int net__callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    net_pss *pss = user;
    if (reason == LWS_CALLBACK_WSI_DESTROY) /* a client that failed before binding to its own
                                               protocol ends here */
        net__ws_client_destroyed(lws_context_user(lws_get_context(wsi)), wsi);
    if (!pss && reason != LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS)
        return lws_callback_http_dummy(wsi, reason, user, in, len); /* no per-session data yet */
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        /* Not SSL_MODE_RELEASE_BUFFERS here: for every connection it frees and reallocates
         * two 17 KiB buffers per record, which cost HTTP a third of its throughput. Only event
         * WebSockets, idle most of their life, release them (ws.c). */
        return 0;
    case LWS_CALLBACK_HTTP:
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    case LWS_CALLBACK_HTTP_WRITEABLE:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        return net__http_callback(wsi, reason, pss, in, len);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return net__ws_callback(wsi, reason, pss, in, len);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
