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
#include "net/ws_internal.h"

#include <string.h>

void net__frame_unref(net_frame *f)
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

net_frame *net__frame_json(json_t *o)
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
    h->by_id = cc_map_new();
    if (!h->ring || !h->by_id) {
        cc_free(&h->ring);
        cc_map_free(h->by_id, NULL);
        cc_free_ptr(h);
        return CC_ERR_NOMEM;
    }
    s->hub = h;
    return CC_OK;
}

void net__ws_unref(net_ws *ws)
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
    cc_free(&ws->guest_ip);
    cc_free(&ws->close_reason);
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
    cc_map_free(h->by_id, NULL);
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
    if (ws->guest || strcmp(scope, "internal") == 0)
        return false; /* guests see no event; internal: cache updates between nodes */
    return s->visible && s->visible(s->visible_ud, ws->principal, scope);
}

void net__ws_start_close(net_ws *ws, int code, const char *reason)
{
    if (ws->closing || !ws->wsi)
        return;
    ws->closing = true;
    ws->srv->hub->nclosing++;
    ws->close_code = code;
    ws->close_reason = cc_strndup(reason, 100); /* NULL (out of memory): a close without reason */
    lws_callback_on_writable(ws->wsi);
}

/* Doubles the queue ring (up to ws_send_queue), keeping order. */
static bool net__ws_grow(net_ws *ws)
{
    size_t cap = ws->qcap ? ws->qcap * 2 : 8;
    if (cap > ws->srv->ws_queue_max)
        cap = ws->srv->ws_queue_max;
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

/* Sends a frame: written at once when possible, else queued (taking a reference). false when
 * the queue is full. */
bool net__ws_enqueue(net_ws *ws, net_frame *f)
{
    if (ws->qlen == 0 && net__ws_write_now(ws, f))
        return true;
    if (ws->qlen >= ws->qcap && !net__ws_grow(ws))
        return false;
    f->refs++;
    ws->q[(ws->qhead + ws->qlen) % ws->qcap] = f;
    ws->qlen++;
    if (ws->qlen == 1 && ws->wsi)
        lws_callback_on_writable(ws->wsi);
    return true;
}

void net__ws_send_json(net_ws *ws, json_t *o)
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

void net__ws_pump(net_ws *ws);

/* Queue slots a catching-up connection keeps free for live control messages (pong, error): a
 * quarter of the queue, at most NET_WS_PAGE / 4. Scaled to the queue, or a ws_send_queue below
 * NET_WS_PAGE / 4 (the minimum is 16) would never let a resume start. */
static size_t net__ws_reserve(const net_ws *ws)
{
    size_t r = ws->srv->ws_queue_max / 4;
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
                    if (ws->qlen >= ws->srv->ws_queue_max)
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
void net__ws_pump(net_ws *ws)
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
        if (ws->qlen + reserve >= ws->srv->ws_queue_max)
            return;
        if (ws->cursor >= h->ring_from) {
            size_t i = net__ring_after(h, ws->cursor);
            size_t budget = ws->srv->ws_queue_max - ws->qlen - reserve;
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
        f->limit = ws->srv->ws_queue_max - ws->qlen - reserve;
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
            cc_logf(CC_LOG_ERROR, "event not publishable", "{s:I}", "seq", (json_int_t)evs[i].seq);
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

void net_ws_close_matching(net_server *s, bool (*match)(void *ud, const void *principal), void *ud,
                           int code, const char *reason)
{
    for (net_ws *ws = s->hub->conns; ws; ws = ws->next)
        if (!ws->guest && match(ud, ws->principal))
            net__ws_start_close(ws, code, reason);
}

void net__ws_close_all(net_server *s, int code, const char *reason)
{
    for (net_ws *ws = s->hub->conns; ws; ws = ws->next)
        net__ws_start_close(ws, code, reason);
}

size_t net__ws_send_if(net_server *s, bool guests, bool (*match)(void *ud, const void *principal),
                       void *ud, const json_t *obj)
{
    size_t sent = 0;
    net_frame *f = NULL;
    for (net_ws *ws = s->hub ? s->hub->conns : NULL; ws; ws = ws->next) {
        /* Staff sockets once they said hello; guests once a module bound them. */
        bool ready =
            guests ? ws->guest && ws->principal : !ws->guest && ws->state != WS_AWAIT_HELLO;
        if (!ready || ws->closing || !match(ud, ws->principal))
            continue;
        if (!f && !(f = net__frame_json(json_incref((json_t *)obj))))
            return sent;
        /* Best effort: a full queue keeps its room for the events that must arrive. */
        if (ws->qlen < ws->srv->ws_queue_max && net__ws_enqueue(ws, f))
            sent++;
    }
    net__frame_unref(f);
    return sent;
}

size_t net_ws_send_matching(net_server *s, bool (*match)(void *ud, const void *principal), void *ud,
                            const json_t *obj)
{
    return net__ws_send_if(s, false, match, ud, obj);
}

void net__ws_send_error(net_ws *ws, const json_t *request, const char *code, const char *message)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", message);
    const char *id = json_string_value(json_object_get(request, "id"));
    if (o && id && strlen(id) <= 64)
        json_object_set_new(o, "id", json_string(id));
    net__ws_send_json(ws, o);
}

net_ws *net__ws_by_id(net_server *s, net_ws_conn conn)
{
    char key[24];
    snprintf(key, sizeof(key), "%llu", (unsigned long long)conn);
    return s->hub ? cc_map_get(s->hub->by_id, key) : NULL;
}

int net_ws_send_to(net_server *s, net_ws_conn conn, const json_t *obj)
{
    net_ws *ws = net__ws_by_id(s, conn);
    if (!ws || ws->closing || !ws->wsi)
        return CC_ERR_NOT_FOUND;
    if (ws->qlen >= ws->srv->ws_queue_max)
        return CC_ERR_TOO_BIG; /* the slot is kept for the events that must arrive */
    net_frame *f = net__frame_json(json_incref((json_t *)obj));
    if (!f)
        return CC_ERR_NOMEM;
    bool ok = net__ws_enqueue(ws, f);
    net__frame_unref(f);
    return ok ? CC_OK : CC_ERR_TOO_BIG;
}
