/* Outgoing WebSocket connections (e.g. to Janus) on the server's own lws context and loop: a
 * second protocol of the vhost, a send queue written one frame per WRITEABLE, and messages
 * assembled from fragments. Clients are kept in a list on the server and found by wsi: lws
 * allocates no per-session data for them, and a wsi can be reported closed through several
 * callbacks (connection error, closed, destroyed) of which the first one found ends the client. */
#include "net/net_internal.h"

#include <stdio.h>
#include <string.h>

#define NET_WSC_MAX_MESSAGE (4u * 1024 * 1024) /* Janus replies hold SDP and participant lists */
#define NET_WSC_MAX_QUEUE 4096

typedef struct net_wsc_frame {
    struct net_wsc_frame *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE + len */
} net_wsc_frame;

struct net_ws_client {
    net_ws_client *next;
    net_server *srv;
    struct lws *wsi;
    net_ws_client_cbs cbs;
    void *ud;
    net_wsc_frame *qhead, *qtail;
    size_t qlen;
    cc_buf rx;
    bool opening;     /* inside lws_client_connect_via_info: failures are returned, not called */
    bool open_failed; /* it failed while opening */
    bool established;
    bool user_closed; /* net_ws_client_close was called: no callback any more */
};

/* Ping an idle connection so a peer that hangs (not only one that exits) is noticed. lws keeps
 * a pointer: static storage. */
static const lws_retry_bo_t net__wsc_retry = {
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 60,
};

static net_ws_client *net__wsc_find(net_server *s, struct lws *wsi)
{
    for (net_ws_client *c = s->ws_clients; c; c = c->next)
        if (c->wsi == wsi)
            return c;
    return NULL;
}

static void net__wsc_unlink(net_ws_client *c)
{
    for (net_ws_client **pp = &c->srv->ws_clients; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            return;
        }
    }
}

static void net__wsc_free(net_ws_client *c)
{
    while (c->qhead) {
        net_wsc_frame *f = c->qhead;
        c->qhead = f->next;
        cc_free_ptr(f);
    }
    cc_buf_free(&c->rx);
    cc_free_ptr(c);
}

/* The connection is over (failed, closed or destroyed): tell the owner once, unless it closed
 * it itself, and free. */
static void net__wsc_end(net_ws_client *c, const char *why)
{
    net__wsc_unlink(c);
    c->wsi = NULL;
    if (c->opening) {
        /* lws_client_connect_via_info reports it by returning NULL; net_ws_client_open frees */
        c->open_failed = true;
        return;
    }
    if (!c->user_closed && c->cbs.on_close)
        c->cbs.on_close(c->ud, c->established, why ? why : "closed");
    net__wsc_free(c);
}

/* Splits ws://host:port/path. Only plain ws: the peers are local services (Janus on loopback);
 * wss would need a client TLS context on the vhost. */
static int net__wsc_parse_url(const char *url, char *host, size_t hostlen, int *port, char *path,
                              size_t pathlen)
{
    if (strncmp(url, "ws://", 5) != 0)
        return CC_ERR_INVALID;
    const char *h = url + 5, *slash = strchr(h, '/');
    const char *end = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(end - h));
    if (!colon || colon == h || (size_t)(colon - h) >= hostlen)
        return CC_ERR_INVALID;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    long p = 0;
    for (const char *q = colon + 1; q < end; q++) {
        if (*q < '0' || *q > '9' || p > 65535)
            return CC_ERR_INVALID;
        p = p * 10 + (*q - '0');
    }
    if (p <= 0 || p > 65535)
        return CC_ERR_INVALID;
    *port = (int)p;
    int n = snprintf(path, pathlen, "%s", slash ? slash : "/");
    return n < 0 || (size_t)n >= pathlen ? CC_ERR_INVALID : CC_OK;
}

int net_ws_client_open(net_server *s, const char *url, const char *subprotocol,
                       const net_ws_client_cbs *cbs, void *ud, net_ws_client **out)
{
    char host[128], path[256];
    int port;
    *out = NULL;
    if (!s->ctx || s->draining || s->closing)
        return CC_ERR_BUSY;
    if (net__wsc_parse_url(url, host, sizeof(host), &port, path, sizeof(path)) != CC_OK)
        return CC_ERR_INVALID;
    net_ws_client *c = cc_calloc(1, sizeof(*c));
    if (!c)
        return CC_ERR_NOMEM;
    c->srv = s;
    c->cbs = *cbs;
    c->ud = ud;
    c->next = s->ws_clients;
    s->ws_clients = c;

    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = s->ctx;
    ci.vhost = s->vhost;
    ci.address = host;
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.origin = host;
    ci.protocol = subprotocol;
    ci.local_protocol_name = NET_WS_CLIENT_PROTOCOL;
    ci.retry_and_idle_policy = &net__wsc_retry;
    c->opening = true;
    s->ws_client_opening = c;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    s->ws_client_opening = NULL;
    c->opening = false;
    if (!wsi || c->open_failed) {
        net__wsc_unlink(c);
        net__wsc_free(c);
        return CC_ERR_IO;
    }
    c->wsi = wsi;
    *out = c;
    return CC_OK;
}

int net_ws_client_send(net_ws_client *c, const char *text, size_t n)
{
    if (c->user_closed || !c->wsi)
        return CC_ERR_BUSY;
    if (c->qlen >= NET_WSC_MAX_QUEUE)
        return CC_ERR_TOO_BIG;
    net_wsc_frame *f = cc_malloc(sizeof(*f) + LWS_PRE + n);
    if (!f)
        return CC_ERR_NOMEM;
    f->next = NULL;
    f->len = n;
    memcpy(f->buf + LWS_PRE, text, n);
    if (c->qtail)
        c->qtail->next = f;
    else
        c->qhead = f;
    c->qtail = f;
    c->qlen++;
    if (c->established)
        lws_callback_on_writable(c->wsi);
    return CC_OK;
}

void net_ws_client_close(net_ws_client *c)
{
    if (!c)
        return;
    c->user_closed = true;
    /* lws closes it on its next turn and reports it through the callbacks, which free c then;
     * closing inside the caller's stack (maybe one of our callbacks) would free c under it. */
    if (c->wsi)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* One frame per WRITEABLE (lws 4.1: one lws_write per callback on client connections). */
static int net__wsc_writeable(net_ws_client *c)
{
    if (c->user_closed)
        return -1;
    net_wsc_frame *f = c->qhead;
    if (!f)
        return 0;
    c->qhead = f->next;
    if (!c->qhead)
        c->qtail = NULL;
    c->qlen--;
    int w = lws_write(c->wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
    cc_free_ptr(f);
    if (w < 0)
        return -1;
    if (c->qhead)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static int net__wsc_receive(net_ws_client *c, struct lws *wsi, const void *in, size_t len)
{
    if (c->user_closed)
        return 0;
    if (lws_frame_is_binary(wsi))
        return -1; /* our peers speak JSON text; anything else is a broken peer */
    if (c->rx.len + len > NET_WSC_MAX_MESSAGE)
        return -1;
    if (len && cc_buf_append(&c->rx, in, len) != CC_OK)
        return -1;
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
        /* hand the message over with the buffer detached: the callback may close c */
        cc_buf msg = c->rx;
        memset(&c->rx, 0, sizeof(c->rx));
        if (c->cbs.on_message)
            c->cbs.on_message(c->ud, msg.data ? msg.data : "", msg.len);
        cc_buf_free(&msg);
    }
    return 0;
}

void net__ws_client_destroyed(net_server *s, struct lws *wsi)
{
    net_ws_client *c = net__wsc_find(s, wsi);
    if (c)
        net__wsc_end(c, "destroyed");
}

void net__ws_clients_free(net_server *s)
{
    /* Only clients lws never reported closed (it always should); no callbacks this late. */
    while (s->ws_clients) {
        net_ws_client *c = s->ws_clients;
        s->ws_clients = c->next;
        net__wsc_free(c);
    }
}

int net__ws_client_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                            size_t len)
{
    (void)user;
    net_server *s = lws_context_user(lws_get_context(wsi));
    net_ws_client *c;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
        /* Someone connecting to us asked for this protocol by name: it is not served. */
        return -1;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c = net__wsc_find(s, wsi);
        if (!c || c->user_closed)
            return -1;
        c->established = true;
        if (c->cbs.on_open)
            c->cbs.on_open(c->ud);
        if (c->qhead && !c->user_closed)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        c = net__wsc_find(s, wsi);
        return c ? net__wsc_receive(c, wsi, in, len) : -1;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        c = net__wsc_find(s, wsi);
        return c ? net__wsc_writeable(c) : -1;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        /* lws may report a refused connect before lws_client_connect_via_info has returned the
         * wsi: then it is the one being opened. */
        if ((c = net__wsc_find(s, wsi)) || (c = s->ws_client_opening))
            net__wsc_end(c, in ? (const char *)in : "connection failed");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if ((c = net__wsc_find(s, wsi)))
            net__wsc_end(c, "closed");
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        net__ws_client_destroyed(s, wsi);
        return 0;
    default:
        return 0;
    }
}
