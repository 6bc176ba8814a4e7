/* media/probe: is Janus (or coturn) answering? Readiness is probed on a uv timer with
 * non-blocking sockets, never by waiting on the loop.
 *
 * A TCP probe is up when a connection opens. The Janus probe goes further, because Janus opens
 * its listening socket before it can serve: it upgrades to a WebSocket (subprotocol
 * janus-protocol) and sends {"janus":"info"}, which Janus answers without a session or secret;
 * up means the reply is "server_info". An attempt that takes more than 2 s counts as down. */
#include "media/media_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_TIMEOUT_MS 2000
#define PROBE_DOWN_INTERVAL_MS 250 /* while down: notice a (re)started child quickly */
#define PROBE_MAX_REPLY 65536

typedef enum { PROBE_IDLE, PROBE_ATTEMPT, PROBE_CLOSING } probe_state;

struct media_probe {
    uv_loop_t *loop;
    media_probe_kind kind;
    char host[256];
    int port;
    int interval_ms;
    probe_state state;
    bool up, stopping, upgraded, gai_pending, timer_closed;
    uv_timer_t timer; /* the next attempt when idle, the attempt's deadline otherwise */
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wr[2]; /* the upgrade, then the info frame: each its own request and buffer, as */
    cc_buf out[2];    /* the first may not have reported completion when the reply arrives */
    uv_getaddrinfo_t gai;
    cc_buf in;
    size_t hdr_len;
};

/* ---- the pure part ------------------------------------------------------------------------- */

int media_probe_janus_upgrade_req(cc_buf *b, const char *host, int port)
{
    uint8_t key[16];
    char key64[32];
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    cc_random_bytes(key, sizeof key);
    size_t o = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)key[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)key[i + 1] << 8;
        if (i + 2 < 16)
            v |= key[i + 2];
        key64[o++] = b64[(v >> 18) & 63];
        key64[o++] = b64[(v >> 12) & 63];
        key64[o++] = i + 1 < 16 ? b64[(v >> 6) & 63] : '=';
        key64[o++] = i + 2 < 16 ? b64[v & 63] : '=';
    }
    key64[o] = '\0';
    return cc_buf_appendf(b,
                          "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: janus-protocol\r\n"
                          "\r\n",
                          host, port, key64);
}

int media_probe_janus_info_req(cc_buf *b)
{
    static const char msg[] = "{\"janus\":\"info\",\"transaction\":\"carecomm-probe\"}";
    uint8_t hdr[6], mask[4];
    size_t n = sizeof(msg) - 1;
    cc_random_bytes(mask, sizeof mask);
    hdr[0] = 0x81;              /* FIN, text */
    hdr[1] = 0x80 | (uint8_t)n; /* masked (a client must), length < 126 */
    memcpy(hdr + 2, mask, 4);
    int rc = cc_buf_append(b, hdr, sizeof hdr);
    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        uint8_t c = (uint8_t)msg[i] ^ mask[i % 4];
        rc = cc_buf_append(b, &c, 1);
    }
    return rc;
}

int media_probe_janus_handshake(const char *buf, size_t n, size_t *hdr_len)
{
    static const char status[] = "HTTP/1.1 101";
    size_t cmp = n < sizeof(status) - 1 ? n : sizeof(status) - 1;
    if (memcmp(buf, status, cmp) != 0)
        return -1;
    for (size_t i = 0; i + 3 < n; i++) {
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            *hdr_len = i + 4;
            return n >= sizeof(status) - 1 ? 1 : -1;
        }
    }
    return n > 8192 ? -1 : 0;
}

int media_probe_janus_frame(const char *buf, size_t n)
{
    const uint8_t *p = (const uint8_t *)buf;
    if (n < 2)
        return 0;
    /* One unfragmented, unmasked text frame: what Janus sends for a reply. */
    if (p[0] != 0x81 || (p[1] & 0x80))
        return -1;
    uint64_t len = p[1] & 0x7f;
    size_t off = 2;
    if (len == 126) {
        if (n < 4)
            return 0;
        len = ((uint64_t)p[2] << 8) | p[3];
        off = 4;
    } else if (len == 127) {
        return -1; /* a reply to "info" is a few hundred bytes */
    }
    if (len > PROBE_MAX_REPLY)
        return -1;
    if (n - off < len)
        return 0;
    json_t *obj = json_loadb(buf + off, (size_t)len, 0, NULL);
    const char *kind = json_string_value(json_object_get(obj, "janus"));
    int rc = kind && strcmp(kind, "server_info") == 0 ? 1 : -1;
    json_decref(obj);
    return rc;
}

int media_url_host_port(const char *url, char *host, size_t hostlen, int default_port, int *port)
{
    const char *p = url;
    const char *scheme = strstr(url, "://");
    if (scheme)
        p = scheme + 3;
    else if (strncmp(url, "turn:", 5) == 0 || strncmp(url, "stun:", 5) == 0)
        p = url + 5;
    else if (strncmp(url, "turns:", 6) == 0)
        p = url + 6;
    const char *h = p, *hend;
    if (*p == '[') {
        h = p + 1;
        if (!(hend = strchr(h, ']')))
            return CC_ERR_INVALID;
        p = hend + 1;
    } else {
        hend = p + strcspn(p, ":/?");
        p = hend;
    }
    size_t hl = (size_t)(hend - h);
    if (hl == 0 || hl >= hostlen)
        return CC_ERR_INVALID;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = default_port;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v < 1 || v > 65535 || (*end && !strchr("/?", *end)))
            return CC_ERR_INVALID;
        *port = (int)v;
    } else if (*p && !strchr("/?", *p)) {
        return CC_ERR_INVALID;
    }
    return CC_OK;
}

/* ---- the probe on the loop ------------------------------------------------------------------ */

static void probe__tick(uv_timer_t *t);

static void probe__schedule(media_probe *p)
{
    p->state = PROBE_IDLE;
    if (!p->stopping)
        uv_timer_start(&p->timer, probe__tick,
                       (uint64_t)(p->up ? p->interval_ms : PROBE_DOWN_INTERVAL_MS), 0);
}

static void probe__tcp_closed(uv_handle_t *h)
{
    media_probe *p = h->data;
    probe__schedule(p);
}

static void probe__finish(media_probe *p, bool ok)
{
    if (p->state != PROBE_ATTEMPT)
        return;
    uv_timer_stop(&p->timer);
    if (ok != p->up)
        cc_logf(ok ? CC_LOG_INFO : CC_LOG_WARN, ok ? "media component up" : "media component down",
                "{s:s,s:s,s:i}", "probe", p->kind == MEDIA_PROBE_JANUS ? "janus" : "tcp", "host",
                p->host, "port", p->port);
    p->up = ok;
    p->state = PROBE_CLOSING;
    uv_close((uv_handle_t *)&p->tcp, probe__tcp_closed);
}

static void probe__alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    media_probe *p = h->data;
    (void)suggested;
    if (p->in.cap - p->in.len < 4096) {
        size_t ncap = p->in.cap ? p->in.cap * 2 : 8192;
        char *d = cc_realloc(p->in.data, ncap);
        if (d) {
            p->in.data = d;
            p->in.cap = ncap;
        }
    }
    *buf = uv_buf_init(p->in.data ? p->in.data + p->in.len : NULL,
                       p->in.data ? (unsigned)(p->in.cap - p->in.len) : 0);
}

static void probe__written(uv_write_t *w, int status)
{
    media_probe *p = w->data;
    if (status < 0)
        probe__finish(p, false);
}

static void probe__send(media_probe *p, int i)
{
    uv_buf_t b = uv_buf_init(p->out[i].data, (unsigned)p->out[i].len);
    p->wr[i].data = p;
    if (uv_write(&p->wr[i], (uv_stream_t *)&p->tcp, &b, 1, probe__written) != 0)
        probe__finish(p, false);
}

static void probe__read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    media_probe *p = s->data;
    (void)buf;
    if (nread < 0) {
        probe__finish(p, false);
        return;
    }
    p->in.len += (size_t)nread;
    if (p->in.len > PROBE_MAX_REPLY + 8192) {
        probe__finish(p, false);
        return;
    }
    if (!p->upgraded) {
        int rc = media_probe_janus_handshake(p->in.data, p->in.len, &p->hdr_len);
        if (rc < 0)
            probe__finish(p, false);
        if (rc <= 0)
            return;
        p->upgraded = true;
        /* Only after the 101: a frame sent with the upgrade request may be read as HTTP. */
        p->out[1].len = 0;
        if (media_probe_janus_info_req(&p->out[1]) != CC_OK) {
            probe__finish(p, false);
            return;
        }
        probe__send(p, 1);
    }
    int rc = media_probe_janus_frame(p->in.data + p->hdr_len, p->in.len - p->hdr_len);
    if (rc != 0)
        probe__finish(p, rc > 0);
}

static void probe__connected(uv_connect_t *c, int status)
{
    media_probe *p = c->data;
    if (status < 0) {
        probe__finish(p, false);
        return;
    }
    if (p->kind == MEDIA_PROBE_TCP) {
        probe__finish(p, true);
        return;
    }
    p->out[0].len = 0;
    if (media_probe_janus_upgrade_req(&p->out[0], p->host, p->port) != CC_OK ||
        uv_read_start((uv_stream_t *)&p->tcp, probe__alloc, probe__read) != 0) {
        probe__finish(p, false);
        return;
    }
    probe__send(p, 0);
}

static void probe__connect(media_probe *p, const struct sockaddr *sa)
{
    p->conn.data = p;
    if (uv_tcp_connect(&p->conn, &p->tcp, sa, probe__connected) != 0)
        probe__finish(p, false);
}

static void probe__resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    media_probe *p = req->data;
    p->gai_pending = false;
    if (!p->stopping && p->state == PROBE_ATTEMPT) {
        if (status == 0 && res)
            probe__connect(p, res->ai_addr);
        else
            probe__finish(p, false);
    }
    uv_freeaddrinfo(res);
}

static void probe__tick(uv_timer_t *t)
{
    media_probe *p = t->data;
    if (p->state == PROBE_ATTEMPT) { /* the deadline passed */
        probe__finish(p, false);
        return;
    }
    if (p->gai_pending) { /* a slow resolver from an attempt that timed out */
        probe__schedule(p);
        return;
    }
    p->state = PROBE_ATTEMPT;
    p->upgraded = false;
    p->in.len = 0;
    p->hdr_len = 0;
    uv_tcp_init(p->loop, &p->tcp);
    p->tcp.data = p;
    uv_timer_start(&p->timer, probe__tick, PROBE_TIMEOUT_MS, 0);
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    if (uv_ip4_addr(p->host, p->port, &a4) == 0) {
        probe__connect(p, (const struct sockaddr *)&a4);
    } else if (uv_ip6_addr(p->host, p->port, &a6) == 0) {
        probe__connect(p, (const struct sockaddr *)&a6);
    } else {
        char port[8];
        struct addrinfo hints;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        snprintf(port, sizeof port, "%d", p->port);
        p->gai.data = p;
        if (uv_getaddrinfo(p->loop, &p->gai, probe__resolved, p->host, port, &hints) == 0)
            p->gai_pending = true;
        else
            probe__finish(p, false);
    }
}

int media_probe_start(uv_loop_t *loop, media_probe_kind kind, const char *host, int port,
                      int interval_ms, media_probe **out)
{
    *out = NULL;
    if (strlen(host) >= sizeof(((media_probe *)0)->host))
        return CC_ERR_INVALID;
    media_probe *p = cc_calloc(1, sizeof(*p));
    if (!p)
        return CC_ERR_NOMEM;
    p->loop = loop;
    p->kind = kind;
    snprintf(p->host, sizeof p->host, "%s", host);
    p->port = port;
    p->interval_ms = interval_ms;
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    p->state = PROBE_IDLE;
    uv_timer_start(&p->timer, probe__tick, 100, 0);
    *out = p;
    return CC_OK;
}

bool media_probe_up(const media_probe *p)
{
    return p && p->up;
}

void media_probe_kick(media_probe *p)
{
    if (!p || p->stopping)
        return;
    if (p->up)
        cc_logf(CC_LOG_WARN, "media component down", "{s:s,s:s,s:i}", "probe",
                p->kind == MEDIA_PROBE_JANUS ? "janus" : "tcp", "host", p->host, "port", p->port);
    p->up = false;
    if (p->state == PROBE_IDLE)
        uv_timer_start(&p->timer, probe__tick, PROBE_DOWN_INTERVAL_MS, 0);
}

static void probe__timer_closed(uv_handle_t *h)
{
    media_probe *p = h->data;
    p->timer_closed = true;
}

void media_probe_stop(media_probe *p)
{
    if (!p || p->stopping)
        return;
    p->stopping = true;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, probe__timer_closed);
    if (p->state == PROBE_ATTEMPT) {
        p->state = PROBE_CLOSING;
        uv_close((uv_handle_t *)&p->tcp, NULL);
    }
    if (p->gai_pending)
        uv_cancel((uv_req_t *)&p->gai); /* its callback still runs, and sees stopping */
}

void media_probe_free(media_probe *p)
{
    if (!p)
        return;
    cc_buf_free(&p->out[0]);
    cc_buf_free(&p->out[1]);
    cc_buf_free(&p->in);
    cc_free_ptr(p);
}
