/* The event WebSocket's connections: the upgrade (path, origin, authentication), messages from
 * the client (hello, ping, modules' types), writing queued frames and the close. The hub (frames,
 * ring, queues, resume) is in ws_hub.c. */
#include "net/ws_internal.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

bool net__ws_origin_allowed(net_server *s, const char *origin)
{
    if (!origin || !*origin)
        return true; /* not a browser: it must still authenticate with a bearer token */
    for (size_t i = 0; i < s->norigins; i++)
        if (strcasecmp(s->origins[i], origin) == 0)
            return true;
    return false;
}

/* Upgrade: right path, allowed origin, authenticated session with the events permission. */
/* Refuses an upgrade with an HTTP status rather than by closing alone, so that the client learns
 * why. Over HTTP/2 (RFC 8441) lws 4.1.6 cannot refuse cleanly: it has allocated the stream's
 * WebSocket state before asking us and leaks it (224 bytes, for anyone who asks) when we refuse;
 * so such an upgrade is accepted and closed at once, before anything is sent, with the code
 * matching the status (4001: log in; 4029: too many requests, retry later; 1008: not allowed;
 * 1001: shutting down). Returns what the FILTER callback returns. */
static int net__ws_refuse(struct lws *wsi, net_pss *pss, unsigned int status)
{
    if (lws_get_network_wsi(wsi) != wsi) {
        pss->refuse_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
        if (status == HTTP_STATUS_UNAUTHORIZED)
            pss->refuse_code = 4001;
        else if (status == 429)
            pss->refuse_code = 4029;
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
    if (code == 4029)
        return "too many requests: wait, then reconnect";
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
    if (lws_hdr_copy(wsi, path, sizeof(path), path_token) <= 0)
        return net__ws_refuse(wsi, pss, HTTP_STATUS_NOT_FOUND);
    bool guest = s->guest_path && strcmp(path, s->guest_path) == 0;
    if (!guest && strcmp(path, "/api/v1/events") != 0)
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
    if (guest) {
        /* No session: the module binds a principal once the client proves who it is (a
         * consultation link), within NET_WS_GUEST_BIND_S. */
        if (!net__ws_guest_admit(s, net_req_source_ip(r))) {
            cc_log(CC_LOG_WARN, "guest websocket refused: too many from one address", NULL);
            status = 429;
        } else if (!(pss->guest_ip = cc_strdup(net_req_source_ip(r)))) {
            net__ws_guest_gone(s, net_req_source_ip(r));
            status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
        } else {
            pss->guest = true;
        }
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
    ws->direct = lws_get_network_wsi(wsi) == wsi;
    if (!pss->upgrade_principal && !pss->guest) {
        net__ws_unref(ws);
        return -1;
    }
    ws->principal = pss->upgrade_principal;
    ws->principal_free = pss->upgrade_principal_free;
    pss->upgrade_principal = NULL;
    ws->guest = pss->guest;
    ws->guest_ip = pss->guest_ip;
    pss->guest_ip = NULL;
    if (ws->guest) /* bound by then, or let go (net_ws_guest_bind lifts it) */
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, NET_WS_GUEST_BIND_S);
    SSL *ssl = lws_get_ssl(wsi);
    if (ssl) /* an idle TLS connection gives its read and write buffers back (~34 KiB) */
        SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    ws->id = ++s->hub->next_id;
    char key[24];
    snprintf(key, sizeof(key), "%llu", (unsigned long long)ws->id);
    if (cc_map_put(s->hub->by_id, key, ws, NULL) != CC_OK) {
        if (ws->guest)
            net__ws_guest_gone(s, ws->guest_ip);
        net__ws_unref(ws);
        return -1;
    }
    ws->next = s->hub->conns;
    if (ws->next)
        ws->next->prev = ws;
    s->hub->conns = ws;
    s->hub->nconns++;
    pss->ws = ws;
    for (size_t i = 0; !ws->guest && i < s->nws_observers; i++)
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
            if (s->ws_msgs[i].conn_fn)
                code = s->ws_msgs[i].conn_fn(s->ws_msgs[i].ud, ws->id, ws->principal, m->obj,
                                             &message);
            else
                code = s->ws_msgs[i].fn(s->ws_msgs[i].ud, ws->principal, m->obj, &message);
            break;
        }
    }
    if (code)
        net__ws_send_error(ws, m->obj, code, message ? message : "refused");
}

static void net__ws_on_message(net_ws *ws)
{
    net_ws_msg m;
    char why[160];
    net_hub *h = ws->srv->hub;
    if (net_ws_msg_parse(ws->rx.data, ws->rx.len, &m, why, sizeof(why)) != CC_OK) {
        net__ws_send_json(
            ws, json_pack("{s:s,s:s,s:s}", "type", "error", "code", "bad_message", "message", why));
        return;
    }
    if (m.type == NET_WS_MSG_PING) {
        net__ws_send_json(ws, json_pack("{s:s,s:s}", "type", "pong", "id", m.ping_id));
        return;
    }
    if (ws->guest) {
        if (m.type == NET_WS_MSG_OTHER)
            net__ws_on_guest_message(ws, &m);
        else
            net__ws_send_json(ws, json_pack("{s:s,s:s,s:s}", "type", "error", "code", "not_allowed",
                                            "message", "this connection receives no events"));
        net_ws_msg_clear(&m);
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
    net__ws_send_json(ws,
                      json_pack("{s:s,s:I,s:I,s:b}", "type", "welcome", "head", (json_int_t)h->head,
                                "resume_from", (json_int_t)ws->cursor, "reset", reset));
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

/* Writes a frame at once when nothing waits before it, which spares the POLLOUT round trip (on
 * libuv, lws turns POLLOUT on and off with two epoll_ctl each: more than the write itself, per
 * delivery). HTTP/1.1 connections only: over HTTP/2 lws frames and credits writes from WRITEABLE.
 * lws 4.1.6 takes a write outside WRITEABLE; what the socket does not take it keeps (partial
 * buffered), and later frames queue behind it. false: queue the frame. */
bool net__ws_write_now(net_ws *ws, net_frame *f)
{
    if (!ws->wsi || !ws->direct || ws->closing || lws_partial_buffered(ws->wsi))
        return false;
    if (lws_write(ws->wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT) < 0)
        net__ws_start_close(ws, 1011, "write failed"); /* WRITEABLE then finds it broken */
    return true;
}

/* Writes queued frames: on HTTP/1.1 as many as the socket takes, over HTTP/2 one. */
static int net__ws_writeable(net_ws *ws)
{
    if (ws->closing) {
        net__ws_write_close(ws->wsi, ws->close_code, ws->close_reason ? ws->close_reason : "");
        return -1;
    }
    do {
        if (ws->qlen == 0)
            break;
        net_frame *f = ws->q[ws->qhead];
        ws->qhead = (ws->qhead + 1) % ws->qcap;
        ws->qlen--;
        int w = lws_write(ws->wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
        net__frame_unref(f);
        if (w < 0)
            return -1;
        if (ws->state == WS_CATCHUP && ws->qlen < ws->srv->ws_queue_max / 2)
            net__ws_pump(ws);
    } while (ws->direct && !ws->closing && !lws_partial_buffered(ws->wsi));
    if (ws->qlen || ws->closing)
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
            /* A client sending faster than any page does is closed rather than read: each
             * message is parsed and may reach Janus, on the loop every other client shares. */
            if (cc_rate_take(&ws->srv->ws_rx_rate, &ws->rx_tat_us, cc_monotonic_us()) > 0)
                net__ws_start_close(ws, 4029, "too many messages: wait, then reconnect");
            else
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
        if (pss && pss->guest_ip) /* counted at the upgrade, never established */
            net__ws_guest_gone(s, pss->guest_ip);
        if (pss)
            cc_free(&pss->guest_ip);
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
            char key[24];
            snprintf(key, sizeof(key), "%llu", (unsigned long long)ws->id);
            cc_map_remove(h->by_id, key);
            if (ws->guest)
                net__ws_guest_gone(s, ws->guest_ip);
            for (size_t i = 0; i < s->nws_observers; i++) {
                if (s->ws_observers[i].on_close && !ws->guest)
                    s->ws_observers[i].on_close(s->ws_observers[i].ud, ws->principal);
                if (s->ws_observers[i].on_close_conn)
                    s->ws_observers[i].on_close_conn(s->ws_observers[i].ud, ws->id, ws->principal);
            }
            net__ws_unref(ws);
            net__drain_check(s);
        }
        return 0;
    default:
        return 0;
    }
}
