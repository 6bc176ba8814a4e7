/* The event WebSocket and its hub.
 *
 * Design. Every committed event reaches net_hub_publish in seq order (from the store worker's log
 * follower). The hub serialises each event once into a shared, reference-counted frame and keeps
 * the most recent frames in a ring. Each connection has a cursor (the last seq it has been given
 * or skipped) and a bounded queue of frames to write:
 *  - LIVE connections get new frames pushed as they are published. When a queue overflows (a
 *    burst, or a slow reader) the connection falls back to pulling from the ring at its own pace;
 *    one that the ring overtakes cannot keep up and is closed with 4008 rather than slowing
 *    anyone else or making the server read the log for it.
 *  - CATCHUP connections (after a hello with last_seq) pull: from the ring when the ring holds
 *    everything after their cursor, otherwise from the store through the worker, a page at a
 *    time, paced by their own writes. When the cursor reaches the head they turn LIVE.
 * Because delivery always advances one cursor in seq order, a resume has no gap and no duplicate,
 * and live events that arrive during a catch-up are simply picked up from the ring later. */
#include "net/net_internal.h"

#include <openssl/ssl.h>
#include <string.h>

#define NET_WS_PAGE 500

typedef struct net_frame {
    int refs;
    int64_t seq; /* 0 for control messages */
    char *scope;
    size_t data_off; /* events: where the data starts in the text (net_hub_replace) */
    size_t len;
    unsigned char *buf; /* LWS_PRE + len */
} net_frame;

typedef enum { WS_AWAIT_HELLO = 0, WS_CATCHUP, WS_LIVE } net_ws_state;

struct net_ws {
    net_ws *prev, *next;
    int refs;
    net_server *srv;
    struct lws *wsi; /* NULL once closed */
    void *principal;
    void (*principal_free)(void *);
    net_ws_state state;
    int64_t cursor;
    net_frame **q; /* ring buffer, grown on demand up to qmax: idle sockets stay small */
    size_t qcap, qhead, qlen, qmax;
    cc_buf rx;
    bool fetching;
    bool lagging; /* was LIVE, its queue overflowed: pulls from the ring, never from the store */
    bool closing;
    int close_code;
    char close_reason[100];
};

struct net_hub {
    net_frame **ring;
    size_t cap, start, count;
    int64_t ring_from; /* every event with seq > ring_from (up to head) is in the ring */
    int64_t head;
    store_worker *worker;
    net_ws *conns;
    size_t nconns;
    size_t nclosing; /* of nconns, those with a close under way */
};

static void net__frame_unref(net_frame *f)
{
    if (!f || --f->refs > 0)
        return;
    cc_free(&f->scope);
    cc_free(&f->buf);
    cc_free_ptr(f);
}

static net_frame *net__frame_new(const char *text, size_t len, int64_t seq, const char *scope)
{
    net_frame *f = cc_calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->refs = 1;
    f->seq = seq;
    f->len = len;
    f->buf = cc_malloc(LWS_PRE + len);
    f->scope = cc_strdup(scope ? scope : "");
    if (!f->buf || !f->scope) {
        net__frame_unref(f);
        return NULL;
    }
    memcpy(f->buf + LWS_PRE, text, len);
    return f;
}

/* Event types are identifiers ([a-z0-9._]); payloads are JSON the store wrote. */
static net_frame *net__frame_event(const store_event *ev)
{
    char ts[32];
    cc_time_format(ev->ts, ts);
    for (const char *c = ev->type; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' || *c == '_'))
            return NULL;
    char *text = cc_sprintf("{\"type\":\"event\",\"seq\":%lld,\"event\":\"%s\",\"ts\":\"%s\","
                            "\"data\":%s}",
                            (long long)ev->seq, ev->type, ts, ev->payload ? ev->payload : "{}");
    if (!text)
        return NULL;
    size_t len = strlen(text);
    net_frame *f = net__frame_new(text, len, ev->seq, ev->scope);
    if (f)
        f->data_off = len - strlen(ev->payload ? ev->payload : "{}") - 1;
    cc_free(&text);
    return f;
}

static net_frame *net__frame_json(json_t *o)
{
    cc_buf text = {0};
    int rc = o ? cc_json_write(&text, o) : CC_ERR_NOMEM;
    json_decref(o);
    net_frame *f = rc == CC_OK ? net__frame_new(text.data, text.len, 0, NULL) : NULL;
    cc_buf_free(&text);
    return f;
}

int net__hub_create(net_server *s)
{
    net_hub *h = cc_calloc(1, sizeof(*h));
    if (!h)
        return CC_ERR_NOMEM;
    h->cap = (size_t)cc_config_int(s->cfg, "event_ring_size");
    h->ring = cc_calloc(h->cap, sizeof(*h->ring));
    if (!h->ring) {
        cc_free_ptr(h);
        return CC_ERR_NOMEM;
    }
    s->hub = h;
    return CC_OK;
}

static void net__ws_unref(net_ws *ws)
{
    if (!ws || --ws->refs > 0)
        return;
    while (ws->qlen) {
        net__frame_unref(ws->q[ws->qhead]);
        ws->qhead = (ws->qhead + 1) % ws->qcap;
        ws->qlen--;
    }
    cc_free(&ws->q);
    cc_buf_free(&ws->rx);
    if (ws->principal && ws->principal_free)
        ws->principal_free(ws->principal);
    cc_free_ptr(ws);
}

void net__hub_free(net_server *s)
{
    net_hub *h = s->hub;
    if (!h)
        return;
    for (size_t i = 0; i < h->count; i++)
        net__frame_unref(h->ring[(h->start + i) % h->cap]);
    cc_free(&h->ring);
    cc_free_ptr(h);
    s->hub = NULL;
}

void net_hub_start(net_server *s, int64_t head_seq, store_worker *worker)
{
    s->hub->head = head_seq;
    s->hub->ring_from = head_seq;
    s->hub->worker = worker;
}

int64_t net_hub_head(const net_server *s)
{
    return s->hub ? s->hub->head : 0;
}

size_t net__ws_count(const net_server *s)
{
    return s->hub ? s->hub->nconns : 0;
}

/* Sockets being served: one that is closing (its close frame may wait behind a reader that
 * stopped reading) no longer counts. */
size_t net__ws_serving(const net_server *s)
{
    return s->hub ? s->hub->nconns - s->hub->nclosing : 0;
}

static bool net__visible(net_server *s, net_ws *ws, const char *scope)
{
    if (strcmp(scope, "internal") == 0)
        return false; /* server-side only (cache updates between nodes) */
    return s->visible && s->visible(s->visible_ud, ws->principal, scope);
}

static void net__ws_start_close(net_ws *ws, int code, const char *reason)
{
    if (ws->closing || !ws->wsi)
        return;
    ws->closing = true;
    ws->srv->hub->nclosing++;
    ws->close_code = code;
    snprintf(ws->close_reason, sizeof(ws->close_reason), "%s", reason);
    lws_callback_on_writable(ws->wsi);
}

/* Doubles the queue ring (up to qmax), keeping order. */
static bool net__ws_grow(net_ws *ws)
{
    size_t cap = ws->qcap ? ws->qcap * 2 : 8;
    if (cap > ws->qmax)
        cap = ws->qmax;
    if (cap <= ws->qcap)
        return false;
    net_frame **q = cc_malloc(cap * sizeof(*q));
    if (!q)
        return false;
    for (size_t i = 0; i < ws->qlen; i++)
        q[i] = ws->q[(ws->qhead + i) % ws->qcap];
    cc_free(&ws->q);
    ws->q = q;
    ws->qcap = cap;
    ws->qhead = 0;
    return true;
}

/* Queues a frame (taking a reference). false when the queue is full. */
static bool net__ws_enqueue(net_ws *ws, net_frame *f)
{
    if (ws->qlen >= ws->qcap && !net__ws_grow(ws))
        return false;
    f->refs++;
    ws->q[(ws->qhead + ws->qlen) % ws->qcap] = f;
    ws->qlen++;
    if (ws->qlen == 1 && ws->wsi)
        lws_callback_on_writable(ws->wsi);
    return true;
}

static void net__ws_send_json(net_ws *ws, json_t *o)
{
    net_frame *f = net__frame_json(o);
    if (!f || !net__ws_enqueue(ws, f))
        net__ws_start_close(ws, 4008, "send queue full");
    net__frame_unref(f);
}

/* Index in the ring of the first frame with seq > after (count if none). */
static size_t net__ring_after(const net_hub *h, int64_t after)
{
    size_t lo = 0, hi = h->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->ring[(h->start + mid) % h->cap]->seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void net__ws_pump(net_ws *ws);

/* Queue slots a catching-up connection keeps free for live control messages (pong, error): a
 * quarter of the queue, at most NET_WS_PAGE / 4. Scaled to the queue, or a ws_send_queue below
 * NET_WS_PAGE / 4 (the minimum is 16) would never let a resume start. */
static size_t net__ws_reserve(const net_ws *ws)
{
    size_t r = ws->qmax / 4;
    return r < NET_WS_PAGE / 4 ? r : NET_WS_PAGE / 4;
}

typedef struct {
    net_ws *ws;
    int64_t after;
    size_t limit; /* events to read: what the queue can take, at most NET_WS_PAGE */
    store_event *evs;
    size_t n, cap;
    bool alloc_failed;
} net_fetch;

static int net__fetch_row(void *ud, const store_event *ev)
{
    net_fetch *f = ud;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        store_event *g = cc_realloc(f->evs, cap * sizeof(*g));
        if (!g)
            return CC_ERR_NOMEM;
        f->evs = g;
        f->cap = cap;
    }
    store_event *c = &f->evs[f->n];
    c->seq = ev->seq;
    c->ts = ev->ts;
    c->type = cc_strdup(ev->type);
    c->scope = cc_strdup(ev->scope);
    c->payload = cc_strdup(ev->payload);
    f->n++;
    if (!c->type || !c->scope || !c->payload)
        return CC_ERR_NOMEM;
    return 0;
}

/* Worker thread: one page of the log after the connection's cursor. */
static int net__fetch_job(store *st, void *ctx)
{
    net_fetch *f = ctx;
    return store_event_read(st, f->after, f->limit, net__fetch_row, f);
}

static void net__fetch_free(net_fetch *f)
{
    for (size_t i = 0; i < f->n; i++) {
        cc_free_ptr((void *)f->evs[i].type);
        cc_free_ptr((void *)f->evs[i].scope);
        cc_free_ptr((void *)f->evs[i].payload);
    }
    cc_free(&f->evs);
    cc_free_ptr(f);
}

static void net__fetch_done(void *ctx, int rc)
{
    net_fetch *f = ctx;
    net_ws *ws = f->ws;
    ws->fetching = false;
    if (ws->wsi && !ws->closing) {
        if (rc != CC_OK) {
            net__ws_start_close(ws, 1011, "event log unavailable");
        } else {
            int64_t head = ws->srv->hub->head;
            for (size_t i = 0; i < f->n && f->evs[i].seq <= head; i++) {
                if (f->evs[i].seq <= ws->cursor)
                    continue;
                if (net__visible(ws->srv, ws, f->evs[i].scope)) {
                    /* Control messages queued during the read may have taken the room: stop
                     * without moving the cursor, the rest is read again once the client reads. */
                    if (ws->qlen >= ws->qmax)
                        break;
                    net_frame *fr = net__frame_event(&f->evs[i]);
                    bool ok = fr && net__ws_enqueue(ws, fr);
                    net__frame_unref(fr);
                    if (!ok) {
                        net__ws_start_close(ws, 1011, "resume failed");
                        break;
                    }
                }
                ws->cursor = f->evs[i].seq;
            }
            /* An empty page below the head means the rest is in the ring (or rolled back). */
            if (f->n == 0 && ws->cursor < ws->srv->hub->ring_from)
                ws->cursor = ws->srv->hub->ring_from;
            net__ws_pump(ws);
        }
    }
    net__ws_unref(ws);
    net__fetch_free(f);
}

/* Moves a CATCHUP connection forward while its queue has room. */
static void net__ws_pump(net_ws *ws)
{
    net_server *s = ws->srv;
    net_hub *h = s->hub;
    while (ws->state == WS_CATCHUP && !ws->closing && !ws->fetching) {
        if (ws->cursor >= h->head) {
            ws->state = WS_LIVE;
            ws->lagging = false;
            return;
        }
        if (ws->lagging && ws->cursor < h->ring_from) {
            /* A live reader that fell behind everything kept in memory cannot keep up: it must
             * not make the server read the log for it. It resumes after reconnecting. */
            net__ws_start_close(ws, 4008, "too slow: fell behind the event stream");
            return;
        }
        /* Pages are paced by the client's reading: leave room for live control messages. */
        size_t reserve = net__ws_reserve(ws);
        if (ws->qlen + reserve >= ws->qmax)
            return;
        if (ws->cursor >= h->ring_from) {
            size_t i = net__ring_after(h, ws->cursor);
            size_t budget = ws->qmax - ws->qlen - reserve;
            for (; i < h->count && budget > 0; i++) {
                net_frame *f = h->ring[(h->start + i) % h->cap];
                if (net__visible(s, ws, f->scope) && !net__ws_enqueue(ws, f)) {
                    net__ws_start_close(ws, 1011, "out of memory");
                    return; /* cursor not advanced: nothing is skipped */
                }
                ws->cursor = f->seq;
                budget--;
            }
            if (i >= h->count)
                ws->cursor = h->head;
            continue;
        }
        net_fetch *f = cc_calloc(1, sizeof(*f));
        if (!f || !h->worker) {
            cc_free(&f);
            net__ws_start_close(ws, 1011, "event log unavailable");
            return;
        }
        f->ws = ws;
        f->after = ws->cursor;
        f->limit = ws->qmax - ws->qlen - reserve;
        if (f->limit > NET_WS_PAGE)
            f->limit = NET_WS_PAGE;
        ws->refs++;
        ws->fetching = true;
        if (store_worker_submit(h->worker, net__fetch_job, net__fetch_done, f) != CC_OK) {
            ws->fetching = false;
            ws->refs--;
            cc_free(&f);
            net__ws_start_close(ws, 1011, "event log unavailable");
        }
        return;
    }
}

void net_hub_replace(net_server *s, int64_t seq, const char *payload)
{
    net_hub *h = s->hub;
    if (!h || seq <= h->ring_from)
        return; /* not in memory: resumes read the store, which has the new payload */
    size_t i = net__ring_after(h, seq - 1);
    net_frame **slot = i < h->count ? &h->ring[(h->start + i) % h->cap] : NULL;
    if (!slot || (*slot)->seq != seq || (*slot)->data_off == 0)
        return;
    /* Same seq, type, time and scope; the new data. Queues holding the old frame keep it. */
    net_frame *old = *slot, *f = NULL;
    cc_buf b = {0};
    if (cc_buf_append(&b, old->buf + LWS_PRE, old->data_off) == CC_OK &&
        cc_buf_append(&b, payload, strlen(payload)) == CC_OK && cc_buf_append(&b, "}", 1) == CC_OK)
        f = net__frame_new(b.data, b.len, seq, old->scope);
    cc_buf_free(&b);
    if (!f)
        return;
    f->data_off = old->data_off;
    *slot = f;
    net__frame_unref(old);
}

void net_hub_publish(void *server, const store_event *evs, size_t n)
{
    net_server *s = server;
    net_hub *h = s->hub;
    for (size_t i = 0; i < n; i++) {
        if (evs[i].seq <= h->head)
            continue; /* already known (start-up race with the head read) */
        net_frame *f = net__frame_event(&evs[i]);
        if (!f) {
            /* Cannot happen with events this server wrote; skip rather than stall everyone. */
            cc_logf(CC_LOG_ERROR, "event not publishable", "{s:I}", "seq",
                    (json_int_t)evs[i].seq);
            h->head = evs[i].seq;
            continue;
        }
        if (h->count == h->cap) {
            net_frame *old = h->ring[h->start];
            h->ring_from = old->seq;
            net__frame_unref(old);
            h->start = (h->start + 1) % h->cap;
            h->count--;
            /* A lagging reader is judged here, not only when it can take more: one that stopped
             * reading never becomes writable, and must still be let go. */
            for (net_ws *ws = h->conns; ws; ws = ws->next)
                if (ws->lagging && !ws->closing && !ws->fetching && ws->cursor < h->ring_from)
                    net__ws_start_close(ws, 4008, "too slow: fell behind the event stream");
        }
        h->ring[(h->start + h->count) % h->cap] = f;
        h->count++;
        h->head = f->seq;
        for (net_ws *ws = h->conns; ws; ws = ws->next) {
            if (ws->state != WS_LIVE || ws->closing)
                continue;
            if (net__visible(s, ws, f->scope) && !net__ws_enqueue(ws, f)) {
                /* Queue full: a burst, or a slow reader. Either way the connection now pulls
                 * from the ring at its own pace, from this event on; only a reader the ring
                 * overtakes is too slow (closed with 4008 in net__ws_pump). */
                ws->state = WS_CATCHUP;
                ws->lagging = true;
                continue;
            }
            ws->cursor = f->seq;
        }
    }
}

bool net__ws_origin_allowed(net_server *s, const char *origin)
{
    if (!origin || !*origin)
        return true; /* not a browser: it must still authenticate with a bearer token */
    for (size_t i = 0; i < s->norigins; i++)
        if (strcasecmp(s->origins[i], origin) == 0)
            return true;
    return false;
}

void net_ws_close_matching(net_server *s, bool (*match)(void *ud, const void *principal), void *ud,
                           int code, const char *reason)
{
    for (net_ws *ws = s->hub->conns; ws; ws = ws->next)
        if (match(ud, ws->principal))
            net__ws_start_close(ws, code, reason);
}

void net__ws_close_all(net_server *s, int code, const char *reason)
{
    for (net_ws *ws = s->hub->conns; ws; ws = ws->next)
        net__ws_start_close(ws, code, reason);
}

/* Upgrade: right path, allowed origin, authenticated session with the events permission. */
/* Refuses an upgrade with an HTTP status rather than by closing alone, so that the client learns
 * why. Over HTTP/2 (RFC 8441) lws 4.1.6 cannot refuse cleanly: it has allocated the stream's
 * WebSocket state before asking us and leaks it (224 bytes, for anyone who asks) when we refuse;
 * so such an upgrade is accepted and closed at once, before anything is sent, with the code
 * matching the status (4001: log in; 1008: not allowed; 1001: shutting down). Returns what the
 * FILTER callback returns. */
static int net__ws_refuse(struct lws *wsi, net_pss *pss, unsigned int status)
{
    if (lws_get_network_wsi(wsi) != wsi) {
        pss->refuse_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
        if (status == HTTP_STATUS_UNAUTHORIZED)
            pss->refuse_code = 4001;
        else if (status == HTTP_STATUS_SERVICE_UNAVAILABLE)
            pss->refuse_code = LWS_CLOSE_STATUS_GOINGAWAY;
        return 0;
    }
    lws_return_http_status(wsi, status, NULL);
    return 1;
}

static const char *net__ws_refuse_reason(int code)
{
    if (code == 4001)
        return "log in first";
    return code == LWS_CLOSE_STATUS_GOINGAWAY ? "server shutting down" : "not allowed";
}

static int net__ws_filter(net_server *s, struct lws *wsi, net_pss *pss)
{
    char path[64];
    /* Over HTTP/2 (RFC 8441 extended CONNECT, which browsers use since lws announces it) the
     * path is in :path, not in a GET request line. */
    enum lws_token_indexes path_token =
        lws_get_network_wsi(wsi) != wsi ? WSI_TOKEN_HTTP_COLON_PATH : WSI_TOKEN_GET_URI;
    if (s->draining)
        return net__ws_refuse(wsi, pss, HTTP_STATUS_SERVICE_UNAVAILABLE);
    if (lws_hdr_copy(wsi, path, sizeof(path), path_token) <= 0 ||
        strcmp(path, "/api/v1/events") != 0)
        return net__ws_refuse(wsi, pss, HTTP_STATUS_NOT_FOUND);
    net_req *r = net__req_new(s, wsi);
    if (!r)
        return net__ws_refuse(wsi, pss, HTTP_STATUS_INTERNAL_SERVER_ERROR);
    net__req_detach(r); /* a probe, not a transaction: replies from the authenticator drop */
    unsigned int status = 0;
    if (!net__ws_origin_allowed(s, r->origin)) {
        cc_logf(CC_LOG_WARN, "websocket upgrade refused: origin not allowed", "{s:s}", "req_id",
                r->id);
        status = HTTP_STATUS_FORBIDDEN;
        goto out;
    }
    if (!s->authn || !s->authn(s->authn_ud, r, s->events_perm, 0)) {
        /* the authenticator's dropped reply still says which refusal it was (401, 403) */
        status = HTTP_STATUS_UNAUTHORIZED;
        if (r->replied && r->status >= 400)
            status = (unsigned int)r->status;
        goto out;
    }
    pss->upgrade_principal = r->principal;
    pss->upgrade_principal_free = r->principal_free;
    r->principal = NULL;
out:
    net_req_unref(r);
    return status ? net__ws_refuse(wsi, pss, status) : 0;
}

static int net__ws_established(net_server *s, struct lws *wsi, net_pss *pss)
{
    net_ws *ws = cc_calloc(1, sizeof(*ws));
    if (!ws)
        return -1;
    ws->refs = 1;
    ws->srv = s;
    ws->wsi = wsi;
    ws->qmax = s->ws_queue_max;
    if (!pss->upgrade_principal) {
        net__ws_unref(ws);
        return -1;
    }
    ws->principal = pss->upgrade_principal;
    ws->principal_free = pss->upgrade_principal_free;
    pss->upgrade_principal = NULL;
    SSL *ssl = lws_get_ssl(wsi);
    if (ssl) /* an idle TLS connection gives its read and write buffers back (~34 KiB) */
        SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    ws->next = s->hub->conns;
    if (ws->next)
        ws->next->prev = ws;
    s->hub->conns = ws;
    s->hub->nconns++;
    pss->ws = ws;
    for (size_t i = 0; i < s->nws_observers; i++)
        if (s->ws_observers[i].on_open)
            s->ws_observers[i].on_open(s->ws_observers[i].ud, ws->principal);
    return 0;
}

/* A module's message: its handler checks it; an unknown type is a client error. */
static void net__ws_on_module_message(net_ws *ws, const net_ws_msg *m)
{
    net_server *s = ws->srv;
    const char *code = "bad_message", *message = "unknown message type";
    for (size_t i = 0; i < s->nws_msgs; i++) {
        if (strcmp(s->ws_msgs[i].type, m->other) == 0) {
            message = NULL;
            code = s->ws_msgs[i].fn(s->ws_msgs[i].ud, ws->principal, m->obj, &message);
            break;
        }
    }
    if (code)
        net__ws_send_json(ws, json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message",
                                        message ? message : "refused"));
}

size_t net_ws_send_matching(net_server *s, bool (*match)(void *ud, const void *principal),
                            void *ud, const json_t *obj)
{
    size_t sent = 0;
    net_frame *f = NULL;
    for (net_ws *ws = s->hub ? s->hub->conns : NULL; ws; ws = ws->next) {
        if (ws->state == WS_AWAIT_HELLO || ws->closing || !match(ud, ws->principal))
            continue;
        if (!f && !(f = net__frame_json(json_incref((json_t *)obj))))
            return sent;
        /* Best effort: a full queue keeps its room for the events that must arrive. */
        if (ws->qlen < ws->qmax && net__ws_enqueue(ws, f))
            sent++;
    }
    net__frame_unref(f);
    return sent;
}

static void net__ws_on_message(net_ws *ws)
{
    net_ws_msg m;
    char why[160];
    net_hub *h = ws->srv->hub;
    if (net_ws_msg_parse(ws->rx.data, ws->rx.len, &m, why, sizeof(why)) != CC_OK) {
        net__ws_send_json(ws, json_pack("{s:s,s:s,s:s}", "type", "error", "code", "bad_message",
                                        "message", why));
        return;
    }
    if (m.type == NET_WS_MSG_PING) {
        net__ws_send_json(ws, json_pack("{s:s,s:s}", "type", "pong", "id", m.ping_id));
        return;
    }
    if (m.type == NET_WS_MSG_OTHER) {
        net__ws_on_module_message(ws, &m);
        net_ws_msg_clear(&m);
        return;
    }
    if (ws->state != WS_AWAIT_HELLO) {
        net__ws_send_json(ws, json_pack("{s:s,s:s,s:s}", "type", "error", "code", "already_started",
                                        "message", "hello was already received"));
        return;
    }
    bool reset = false;
    ws->cursor = m.has_last_seq ? m.last_seq : h->head;
    if (ws->cursor > h->head) {
        /* The client saw a future the server does not have (a restored backup): start over. */
        ws->cursor = h->head;
        reset = true;
    }
    net__ws_send_json(ws, json_pack("{s:s,s:I,s:I,s:b}", "type", "welcome", "head",
                                    (json_int_t)h->head, "resume_from", (json_int_t)ws->cursor,
                                    "reset", reset));
    ws->state = WS_CATCHUP;
    net__ws_pump(ws);
}

/* lws 4.1 keeps LWS_WRITE_CLOSE private (roles/ws/private-lib-roles-ws.h); its value is 4. */
#define NET_LWS_WRITE_CLOSE ((enum lws_write_protocol)4)

/* Writes the close frame itself rather than through lws_close_reason() and returning -1: the
 * Debian build of lws 4.1.6 is a _DEBUG one, whose libuv "close again" self-test in
 * lws_service_fd_tsi() kills the connection before the queued close frame goes out (clients saw
 * 1006 instead of our code). Returning -1 after this write just closes the socket; lws flushes
 * what is still buffered first. */
static void net__ws_write_close(struct lws *wsi, int code, const char *reason)
{
    unsigned char buf[LWS_PRE + 125];
    size_t n = strlen(reason);
    if (n > 123)
        n = 123; /* a control frame's payload is at most 125 bytes, with the 2-byte code */
    buf[LWS_PRE] = (unsigned char)((code >> 8) & 0xff);
    buf[LWS_PRE + 1] = (unsigned char)(code & 0xff);
    memcpy(buf + LWS_PRE + 2, reason, n);
    lws_write(wsi, buf + LWS_PRE, 2 + n, NET_LWS_WRITE_CLOSE);
}

static int net__ws_writeable(net_ws *ws)
{
    if (ws->closing) {
        net__ws_write_close(ws->wsi, ws->close_code, ws->close_reason);
        return -1;
    }
    if (ws->qlen == 0)
        return 0;
    net_frame *f = ws->q[ws->qhead];
    ws->qhead = (ws->qhead + 1) % ws->qcap;
    ws->qlen--;
    int w = lws_write(ws->wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
    net__frame_unref(f);
    if (w < 0)
        return -1;
    if (ws->state == WS_CATCHUP && ws->qlen < ws->qmax / 2)
        net__ws_pump(ws);
    if (ws->qlen)
        lws_callback_on_writable(ws->wsi);
    else {
        cc_free(&ws->q); /* idle sockets hold no queue: most of them are idle */
        ws->qcap = ws->qhead = 0;
    }
    return 0;
}

int net__ws_callback(struct lws *wsi, enum lws_callback_reasons reason, net_pss *pss, void *in,
                     size_t len)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    net_ws *ws = pss ? pss->ws : NULL;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return net__ws_filter(s, wsi, pss);
    case LWS_CALLBACK_ESTABLISHED:
        if (pss && pss->refuse_code) {
            lws_callback_on_writable(wsi); /* a refused HTTP/2 upgrade: close it first thing */
            return 0;
        }
        return net__ws_established(s, wsi, pss);
    case LWS_CALLBACK_RECEIVE:
        if (!ws || ws->closing)
            return 0;
        if (lws_frame_is_binary(wsi)) {
            net__ws_start_close(ws, 1003, "text messages only");
            return 0;
        }
        if (ws->rx.len + len > ws->srv->max_ws_message) {
            net__ws_start_close(ws, 1009, "message too big");
            return 0;
        }
        if (cc_buf_append(&ws->rx, in, len) != CC_OK)
            return -1;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            net__ws_on_message(ws);
            cc_buf_free(&ws->rx);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!ws && pss && pss->refuse_code) {
            net__ws_write_close(wsi, pss->refuse_code, net__ws_refuse_reason(pss->refuse_code));
            return -1;
        }
        return ws ? net__ws_writeable(ws) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (pss && pss->upgrade_principal && pss->upgrade_principal_free) {
            pss->upgrade_principal_free(pss->upgrade_principal);
            pss->upgrade_principal = NULL;
        }
        if (ws) {
            net_hub *h = s->hub;
            if (ws->prev)
                ws->prev->next = ws->next;
            else
                h->conns = ws->next;
            if (ws->next)
                ws->next->prev = ws->prev;
            h->nconns--;
            if (ws->closing)
                h->nclosing--;
            ws->wsi = NULL;
            pss->ws = NULL;
            for (size_t i = 0; i < s->nws_observers; i++)
                if (s->ws_observers[i].on_close)
                    s->ws_observers[i].on_close(s->ws_observers[i].ud, ws->principal);
            net__ws_unref(ws);
            net__drain_check(s);
        }
        return 0;
    default:
        return 0;
    }
}
