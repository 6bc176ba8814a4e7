/* HTTP requests: copying what a handler may read out of lws (so it can be answered later, after
 * async work), and writing the response with the security headers in as few writes as possible. */
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static const char net__json_type[] = "application/json";

static uint64_t net__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The path and the headers a handler may read, copied into one allocation (r->strings): a
 * request then costs one malloc for them, not six. Absent headers read as "". */
static int net__req_copy_strings(net_req *r, struct lws *wsi, const char *uri, int urilen)
{
    static const enum lws_token_indexes tokens[] = {
        WSI_TOKEN_HTTP_USER_AGENT, WSI_TOKEN_HTTP_COOKIE, WSI_TOKEN_HTTP_AUTHORIZATION,
        WSI_TOKEN_HTTP_CONTENT_TYPE, WSI_TOKEN_ORIGIN};
    const char **fields[] = {&r->user_agent, &r->cookie, &r->authorization, &r->content_type,
                             &r->origin};
    int lens[sizeof(tokens) / sizeof(tokens[0])];
    if (!uri || urilen <= 0) {
        uri = "/";
        urilen = 1;
    }
    size_t total = (size_t)urilen + 1;
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        lens[i] = lws_hdr_total_length(wsi, tokens[i]);
        if (lens[i] < 0)
            lens[i] = 0;
        total += (size_t)lens[i] + 1; /* the header limit of lws bounds them */
    }
    char *a = cc_malloc(total);
    if (!a)
        return CC_ERR_NOMEM;
    r->strings = a;
    memcpy(a, uri, (size_t)urilen);
    a[urilen] = '\0';
    r->path = a;
    a += urilen + 1;
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        a[0] = '\0';
        if (lens[i] > 0 && lws_hdr_copy(wsi, a, lens[i] + 1, tokens[i]) < 0)
            a[0] = '\0';
        *fields[i] = a;
        a += lens[i] + 1;
    }
    return CC_OK;
}

static const char *net__method_of(int m)
{
    /* Order of lws_http_get_uri_and_method(): GET POST OPTIONS PUT PATCH DELETE CONNECT HEAD
     * then h2 :path. */
    static const char *const names[] = {"GET",   "POST",   "OPTIONS", "PUT",
                                        "PATCH", "DELETE", "CONNECT", "HEAD"};
    if (m >= 0 && m < (int)(sizeof(names) / sizeof(names[0])))
        return names[m];
    return NULL;
}

static int net__copy_query(net_req *r, struct lws *wsi)
{
    char buf[1024];
    for (int i = 0; i < NET_MAX_QUERY; i++) {
        int n = lws_hdr_copy_fragment(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            break;
        if (!(r->query[r->nquery] = cc_strndup(buf, (size_t)n)))
            return CC_ERR_NOMEM;
        r->nquery++;
    }
    return CC_OK;
}

/* Request ids only tie log lines together: unique, not secret. A random prefix drawn once per
 * process and a counter (a getrandom system call per request cost more than the handler). */
static void net__req_id_next(net_server *s, char out[17])
{
    if (!s->req_id_prefix_set) {
        cc_random_bytes(&s->req_id_prefix, sizeof(s->req_id_prefix));
        s->req_id_prefix_set = true;
    }
    uint64_t v = ((uint64_t)(uint32_t)s->req_id_prefix << 32) | (uint32_t)s->req_id_counter++;
    uint8_t be[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        be[i] = (uint8_t)v;
    cc_hex_encode(be, sizeof be, out);
}

/* The peer's address, asked of the kernel once per connection rather than at every request of a
 * keep-alive connection (getpeername was a tenth of the request path). lws frees our per-session
 * data between transactions, so the address rides in the connection's opaque pointer: an IPv4
 * address fits in it (as 1 << 32 | address); an IPv6 peer is looked up each time. */
_Static_assert(sizeof(uintptr_t) >= 8, "an IPv4 address and a tag fit in a pointer");
static void net__peer_ip(struct lws *wsi, char *out, size_t outlen)
{
    struct lws *conn = lws_get_network_wsi(wsi);
    uintptr_t cached = (uintptr_t)lws_get_opaque_user_data(conn);
    struct in_addr a;
    if (cached >> 32 == 1 && outlen >= INET_ADDRSTRLEN) {
        char *o = out; /* dotted quad by hand: glibc's inet_ntop goes through sprintf */
        for (int shift = 24; shift >= 0; shift -= 8) {
            unsigned v = (unsigned)(cached >> shift) & 255u;
            if (v >= 100)
                *o++ = (char)('0' + v / 100);
            if (v >= 10)
                *o++ = (char)('0' + v / 10 % 10);
            *o++ = (char)('0' + v % 10);
            *o++ = shift ? '.' : '\0';
        }
        return;
    }
    if (lws_get_peer_simple(wsi, out, outlen) == NULL) {
        snprintf(out, outlen, "unknown");
        return;
    }
    /* The listen socket takes IPv4 and IPv6: show IPv4 clients as they know themselves, so audit
     * records, session lists and throttling keys use one form per address. */
    if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, '.') && !strchr(out + 7, ':'))
        memmove(out, out + 7, strlen(out + 7) + 1);
    if (!cached && inet_pton(AF_INET, out, &a) == 1)
        lws_set_opaque_user_data(conn, (void *)(((uintptr_t)1 << 32) | ntohl(a.s_addr)));
}

net_req *net__req_new(net_server *s, struct lws *wsi)
{
    net_req *r = cc_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->refs = 1;
    r->srv = s;
    r->wsi = wsi;
    r->start_us = net__now_us();
    r->content_length = -1;
    r->is_h2 = lws_get_network_wsi(wsi) != wsi;
    net__req_id_next(s, r->id);
    net__peer_ip(wsi, r->ip, sizeof(r->ip));

    char *uri = NULL;
    int urilen = 0;
    int m = lws_http_get_uri_and_method(wsi, &uri, &urilen);
    const char *method = net__method_of(m);
    if (!method && r->is_h2) {
        char mbuf[16];
        if (lws_hdr_copy(wsi, mbuf, sizeof(mbuf), WSI_TOKEN_HTTP_COLON_METHOD) > 0)
            method = strcmp(mbuf, "GET") == 0 ? "GET" : NULL;
    }
    if (!method)
        method = "?";
    memcpy(r->method, method, strlen(method) + 1); /* the longest, "OPTIONS", fits */
    /* lws hands over the path already url-decoded and without the query string. */
    if (net__req_copy_strings(r, wsi, uri, urilen) != CC_OK || net__copy_query(r, wsi) != CC_OK)
        goto fail;
    char cl[32];
    if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        char *end;
        long long v = strtoll(cl, &end, 10);
        r->content_length = (*end == '\0' && v >= 0) ? v : -2; /* -2: malformed */
    }
    s->inflight++;
    r->counted_inflight = true;
    return r;
fail:
    net_req_unref(r);
    return NULL;
}

net_req *net_req_ref(net_req *r)
{
    r->refs++;
    return r;
}

static void net__req_free(net_req *r)
{
    cc_free(&r->strings);
    for (int i = 0; i < r->nparams; i++)
        cc_free(&r->param_values[i]);
    for (int i = 0; i < r->nquery; i++)
        cc_free(&r->query[i]);
    cc_buf_free(&r->body);
    cc_buf_free(&r->resp_body);
    if (r->json)
        json_decref(r->json);
    if (r->principal && r->principal_free)
        r->principal_free(r->principal);
    if (r->resp_type_owned)
        cc_free_ptr((char *)r->resp_type);
    for (int i = 0; i < r->nheaders_out; i++) {
        cc_free(&r->headers_out[i][0]);
        cc_free(&r->headers_out[i][1]);
    }
    cc_free_ptr(r);
}

void net_req_unref(net_req *r)
{
    if (!r || --r->refs > 0)
        return;
    net__req_free(r);
}

/* The client is gone or the transaction finished: count the request as ended once. */
void net__req_detach(net_req *r)
{
    r->wsi = NULL;
    if (r->counted_inflight) {
        r->counted_inflight = false;
        r->srv->inflight--;
        net__drain_check(r->srv);
    }
}

uint64_t net__req_age_us(const net_req *r)
{
    return net__now_us() - r->start_us;
}

bool net_req_gone(const net_req *r)
{
    return r->wsi == NULL;
}

const char *net_req_method(const net_req *r)
{
    return r->method;
}
const char *net_req_path(const net_req *r)
{
    return r->path;
}
const char *net_req_route_path(const net_req *r)
{
    return r->route ? r->route->path : r->label ? r->label : "unmatched";
}
const char *net_req_id(const net_req *r)
{
    return r->id;
}
const char *net_req_source_ip(const net_req *r)
{
    return r->ip;
}
const char *net_req_user_agent(const net_req *r)
{
    return r->user_agent ? r->user_agent : "";
}
json_t *net_req_body(const net_req *r)
{
    return r->json;
}
net_server *net_req_server(const net_req *r)
{
    return r->srv;
}
void *net_req_ud(const net_req *r)
{
    return r->route_ud;
}

const char *net_req_param(const net_req *r, const char *name)
{
    /* names point into the route template and run to the next '/' */
    size_t nl = strlen(name);
    for (int i = 0; i < r->nparams; i++)
        if (strcspn(r->param_names[i], "/") == nl && strncmp(r->param_names[i], name, nl) == 0)
            return r->param_values[i];
    return NULL;
}

bool net_req_query(const net_req *r, const char *name, char *buf, size_t buflen)
{
    return net_req_query_nth(r, name, 0, buf, buflen);
}

bool net_req_query_nth(const net_req *r, const char *name, int nth, char *buf, size_t buflen)
{
    size_t nl = strlen(name);
    for (int i = 0; i < r->nquery; i++) {
        const char *q = r->query[i];
        if (strncmp(q, name, nl) == 0 && q[nl] == '=' && nth-- == 0) {
            snprintf(buf, buflen, "%s", q + nl + 1);
            return true;
        }
    }
    return false;
}

bool net_req_query_int(net_req *r, const char *name, int64_t min, int64_t max, bool *present,
                       int64_t *out)
{
    char buf[32], *end;
    bool here = net_req_query(r, name, buf, sizeof(buf));
    if (present)
        *present = here;
    if (!here)
        return true;
    long long v = strtoll(buf, &end, 10);
    if (!*buf || *end || v < min || v > max) {
        char msg[96];
        snprintf(msg, sizeof(msg), "query argument '%s' must be an integer from %lld to %lld", name,
                 (long long)min, (long long)max);
        net_reply_error(r, 400, "invalid_request", msg);
        return false;
    }
    *out = v;
    return true;
}

/* Cookie header: "a=1; b=2" (HTTP/2 may join several with ", "). The value is copied into a
 * per-thread buffer: valid until the next call (loop thread only). */
const char *net_req_cookie(const net_req *r, const char *name)
{
    static __thread char value[512];
    size_t nl = strlen(name);
    const char *p = r->cookie;
    while (p && *p) {
        while (*p == ' ' || *p == ';' || *p == ',')
            p++;
        size_t seg = strcspn(p, ";,");
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vn = seg - nl - 1;
            if (vn >= sizeof(value))
                return NULL;
            memcpy(value, p + nl + 1, vn);
            value[vn] = '\0';
            return value;
        }
        p += seg;
    }
    return NULL;
}

const char *net_req_bearer(const net_req *r)
{
    const char *a = r->authorization;
    if (!a || strncasecmp(a, "Bearer ", 7) != 0)
        return NULL;
    a += 7;
    while (*a == ' ')
        a++;
    return *a ? a : NULL;
}

void net_req_set_principal(net_req *r, void *principal, void (*free_fn)(void *))
{
    if (r->principal && r->principal_free)
        r->principal_free(r->principal);
    r->principal = principal;
    r->principal_free = free_fn;
}

void *net_req_principal(const net_req *r)
{
    return r->principal;
}

void net_reply_header(net_req *r, const char *name, const char *value)
{
    if (r->replied || r->nheaders_out >= NET_MAX_HEADERS_OUT)
        return;
    char *n = cc_strdup(name), *v = cc_strdup(value);
    if (!n || !v) {
        cc_free(&n);
        cc_free(&v);
        return;
    }
    r->headers_out[r->nheaders_out][0] = n;
    r->headers_out[r->nheaders_out][1] = v;
    r->nheaders_out++;
}

void net_reply_raw(net_req *r, int status, const char *content_type, const void *data, size_t n)
{
    if (r->replied)
        return;
    r->replied = true;
    r->status = status;
    /* JSON, most answers' type, is not copied */
    r->resp_type_owned = content_type != net__json_type;
    r->resp_type = r->resp_type_owned ? cc_strdup(content_type) : net__json_type;
    if (n && cc_buf_append(&r->resp_body, data, n) != CC_OK)
        r->status = 500;
    uint64_t now = net__now_us();
    net__metrics_record(r->srv, r, now);
    /* One line per request: the route template, never the path or the query (they can name
     * people), and the request id that ties it to other lines. */
    cc_log_level lvl = r->status >= 500     ? CC_LOG_ERROR
                       : r->srv->access_log ? CC_LOG_INFO
                                            : CC_LOG_DEBUG;
    cc_logf(lvl, "request", "{s:s,s:s,s:s,s:i,s:I}", "req_id", r->id, "method", r->method, "route",
            net_req_route_path(r), "status", r->status, "us", (json_int_t)(now - r->start_us));
    if (r->wsi && !r->in_callback)
        lws_callback_on_writable(r->wsi);
}

void net_reply_json_text(net_req *r, int status, cc_buf *text)
{
    if (r->replied) { /* the first answer stands */
        cc_buf_free(text);
        return;
    }
    r->resp_body = *text; /* the text becomes the body, without a copy */
    *text = (cc_buf){0};
    net_reply_raw(r, status, net__json_type, NULL, 0);
}

void net_reply_json(net_req *r, int status, json_t *body)
{
    cc_buf text = {0};
    int rc = body ? cc_json_write(&text, body) : CC_OK;
    if (body)
        json_decref(body);
    if (rc != CC_OK) {
        cc_buf_free(&text);
        net_reply_raw(r, 500, "application/json", "{\"error\":{\"code\":\"internal\"}}", 29);
        return;
    }
    net_reply_json_text(r, status, &text);
}

void net_reply_error(net_req *r, int status, const char *code, const char *message)
{
    net_reply_json(r, status,
                   json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
}

/* One header line. HTTP/1.1: "name value\r\n" copied straight in, as lws would write it but
 * without its byte-by-byte copy; HTTP/2: lws's HPACK encoder. Non-zero when it does not fit. */
static int net__put_header(struct lws *wsi, bool h2, const char *name, const char *value,
                           size_t vlen, unsigned char **p, unsigned char *end)
{
    if (h2)
        return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                           (const unsigned char *)value, (int)vlen, p, end);
    size_t nlen = strlen(name);
    if ((size_t)(end - *p) < nlen + vlen + 3)
        return -1;
    memcpy(*p, name, nlen);
    (*p)[nlen] = ' ';
    memcpy(*p + nlen + 1, value, vlen);
    memcpy(*p + nlen + 1 + vlen, "\r\n", 2);
    *p += nlen + vlen + 3;
    return 0;
}

static int net__header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                       unsigned char *end)
{
    return net__put_header(wsi, lws_get_network_wsi(wsi) != wsi, name, value, strlen(value), p,
                           end);
}

/* HTTP/1.1's status line; lws's own goes through snprintf. Reason phrases are only for people
 * reading traces (RFC 9112, 4): the usual ones are given, others are left empty. */
static const struct {
    int status;
    const char *reason;
} net__reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

static int net__put_status_h1(int status, unsigned char **p, unsigned char *end)
{
    const char *reason = "";
    for (size_t i = 0; i < sizeof net__reasons / sizeof net__reasons[0]; i++)
        if (net__reasons[i].status == status)
            reason = net__reasons[i].reason;
    if (status < 100 || status > 999)
        status = 500;
    size_t rlen = strlen(reason);
    if ((size_t)(end - *p) < 13 + rlen + 2)
        return -1;
    memcpy(*p, "HTTP/1.1 ", 9);
    (*p)[9] = (unsigned char)('0' + status / 100);
    (*p)[10] = (unsigned char)('0' + status / 10 % 10);
    (*p)[11] = (unsigned char)('0' + status % 10);
    (*p)[12] = ' ';
    memcpy(*p + 13, reason, rlen);
    memcpy(*p + 13 + rlen, "\r\n", 2);
    *p += 13 + rlen + 2;
    return 0;
}

/* A document (the web app's pages, an SVG) gets the page policy: what it may load and run, and
 * the features it may use. Anything else (JSON, scripts, styles, images) is never to be rendered
 * as a page: "default-src 'none'" says so in fewer bytes, which every API answer carries. */
int net__security_headers(net_server *s, struct lws *wsi, const char *content_type,
                          unsigned char **p, unsigned char *end)
{
    bool document = content_type && (strncmp(content_type, "text/html", 9) == 0 ||
                                     strncmp(content_type, "image/svg+xml", 13) == 0);
    if (net__header(wsi, "x-content-type-options:", "nosniff", p, end))
        return -1;
    const char *csp =
        document ? "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: "
                   "blob:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; "
                   "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
                 : "default-src 'none'; frame-ancestors 'none'";
    if (net__header(wsi, "content-security-policy:", csp, p, end))
        return -1;
    /* Framing and referrers concern documents only; CSP's frame-ancestors covers the rest. */
    if (document &&
        (net__header(wsi, "x-frame-options:", "DENY", p, end) ||
         net__header(wsi, "referrer-policy:", "no-referrer", p, end) ||
         net__header(wsi, "permissions-policy:",
                     "camera=(self), microphone=(self), geolocation=(), payment=()", p, end) ||
         net__header(wsi, "cross-origin-opener-policy:", "same-origin", p, end)))
        return -1;
    if (s->tls && net__header(wsi, "strict-transport-security:",
                              "max-age=31536000; includeSubDomains", p, end))
        return -1;
    return 0;
}

/* HTTP/2: one DATA frame per WRITEABLE. lws 4.1 neither splits a write into frames of the peer's
 * maximum size (16 KiB unless it says more) nor holds back what exceeds the peer's flow-control
 * window: one write of a larger body broke the stream (bodies over 16 KiB never arrived). lws
 * withholds WRITEABLE from a stream without credit and calls it again when credit comes. */
#define NET_H2_MAX_DATA 16384

static int net__req_write_h2_data(net_req *r)
{
    size_t left = r->resp_body.len - r->body_sent;
    lws_fileofs_t allowed = lws_get_peer_write_allowance(r->wsi);
    size_t n = left < NET_H2_MAX_DATA ? left : NET_H2_MAX_DATA;
    if (allowed >= 0 && (lws_fileofs_t)n > allowed)
        n = (size_t)allowed;
    if (n == 0 && left > 0) {
        lws_callback_on_writable(r->wsi); /* no credit: lws calls back once it has some */
        return 1;
    }
    bool last = n == left;
    unsigned char *buf = cc_malloc(LWS_PRE + n + 1);
    if (!buf)
        return -1;
    if (n)
        memcpy(buf + LWS_PRE, r->resp_body.data + r->body_sent, n);
    /* Even an empty body goes in its own DATA frame: it carries END_STREAM. */
    int w = lws_write(r->wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
    cc_free_ptr(buf);
    if (w < 0)
        return -1;
    r->body_sent += n;
    if (last)
        return 0;
    lws_callback_on_writable(r->wsi);
    return 1;
}

/* Writes the response. HTTP/1.1: headers and body in one write (half the cost of two, see
 * notes/lws-libuv.md). HTTP/2: the headers frame first, the body in the next WRITEABLE.
 * Returns 1 when more is to be written, 0 when done (keep-alive), -1 when done and the connection
 * must close (body left unread). */
int net__req_write(net_req *r)
{
    struct lws *wsi = r->wsi;
    size_t body_len = r->resp_body.len;
    /* While draining, an HTTP/1.1 connection closes after its answer: the client's next request
     * then goes to another node (or waits for the restart) instead of to a server about to exit. */
    bool close_after = (!r->body_complete && r->content_length > 0) || r->srv->draining;

    if (r->is_h2 && r->headers_sent)
        return net__req_write_h2_data(r);
    if (r->status == 204 || r->status == 304) {
        /* No body, whatever the handler gave: a client reads the next response where a body
         * would have been (Node's parser failed on the connection's next answer). */
        r->resp_body.len = 0;
        body_len = 0;
    }

    size_t hdr_room = 4096;
    for (int i = 0; i < r->nheaders_out; i++)
        hdr_room += strlen(r->headers_out[i][0]) + strlen(r->headers_out[i][1]) + 8;
    /* Most answers are small: their headers and body are put together on the stack. */
    unsigned char small[LWS_PRE + 8192];
    size_t total = LWS_PRE + hdr_room + body_len;
    unsigned char *buf = total <= sizeof(small) ? small : cc_malloc(total);
    if (!buf)
        return -1;
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + LWS_PRE + hdr_room;
    int rc = -1;
    char clen[24], *cl = clen + sizeof(clen);
    size_t v = body_len;
    do
        *--cl = (char)('0' + v % 10);
    while (v /= 10);
    int cn = (int)(clen + sizeof(clen) - cl);

    if (r->is_h2 ? lws_add_http_header_status(wsi, (unsigned int)r->status, &p, end) != 0
                 : net__put_status_h1(r->status, &p, end) != 0)
        goto out;
    if (r->resp_type && *r->resp_type &&
        net__put_header(wsi, r->is_h2, "content-type:", r->resp_type, strlen(r->resp_type), &p,
                        end))
        goto out;
    if (r->status == 204) {
        /* no Content-Length on a 204 (RFC 9110, 8.6) */
    } else if (r->is_h2) {
        if (lws_add_http_header_content_length(wsi, body_len, &p, end))
            goto out;
    } else if (net__put_header(wsi, false, "content-length:", cl, (size_t)cn, &p, end)) {
        goto out;
    }
    if (net__security_headers(r->srv, wsi, r->resp_type, &p, end))
        goto out;
    bool has_cache = false;
    for (int i = 0; i < r->nheaders_out; i++) {
        char name[128];
        size_t n = 0;
        for (const char *c = r->headers_out[i][0]; *c && n < sizeof(name) - 2; c++)
            name[n++] = (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
        name[n++] = ':';
        name[n] = '\0';
        if (strcmp(name, "cache-control:") == 0)
            has_cache = true;
        if (net__put_header(wsi, r->is_h2, name, r->headers_out[i][1], strlen(r->headers_out[i][1]),
                            &p, end))
            goto out;
    }
    if (!has_cache && net__put_header(wsi, r->is_h2, "cache-control:", "no-store", 8, &p, end))
        goto out;
    if (close_after && !r->is_h2 && net__put_header(wsi, false, "connection:", "close", 5, &p, end))
        goto out;

    if (r->is_h2) {
        if (lws_finalize_write_http_header(wsi, start, &p, end))
            goto out;
        r->headers_sent = true;
        /* Even an empty body goes in its own DATA frame: it carries END_STREAM. */
        lws_callback_on_writable(wsi);
        rc = 1;
        goto out;
    }
    if (lws_finalize_http_header(wsi, &p, end))
        goto out;
    if (body_len) {
        memcpy(p, r->resp_body.data, body_len);
        p += body_len;
    }
    if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_FINAL) < 0)
        goto out;
    rc = close_after ? -1 : 0;
out:
    if (buf != small)
        cc_free_ptr(buf);
    return rc;
}
