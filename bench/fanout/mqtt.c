/* Minimal MQTT 3.1.1 client over WebSocket (subprotocol "mqtt"): CONNECT (clean session),
 * SUBSCRIBE at QoS 1, PUBLISH at QoS 1 from the senders, PUBACK for every delivery. The
 * WebSocket payloads are one byte stream (an MQTT packet may span frames, a frame hold several). */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC "bench/fanout"

enum { M_WS, M_CONNACK, M_SUBACK, M_READY, M_DEAD };

typedef struct {
    int idx, phase;
    conn *c;
    ws_state ws;
    gbuf stream;
    uint16_t next_id;
} mclient;

static mclient *cl;
static int ncl, nready, ndead;
static long inflight, nfailed;

static void put_len(gbuf *b, size_t n)
{
    do {
        uint8_t d = n % 128;
        n /= 128;
        if (n)
            d |= 0x80;
        gbuf_put(b, &d, 1);
    } while (n);
}

static void put_str(gbuf *b, const char *s)
{
    size_t n = strlen(s);
    uint8_t l[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    gbuf_put(b, l, 2);
    gbuf_put(b, s, n);
}

static void send_packet(mclient *m, uint8_t type, const gbuf *body)
{
    gbuf p = {0};
    gbuf_put(&p, &type, 1);
    put_len(&p, gbuf_size(body));
    gbuf_put(&p, gbuf_data(body), gbuf_size(body));
    ws_send(m->c, WS_BIN, gbuf_data(&p), gbuf_size(&p));
    gbuf_free(&p);
}

static void on_packet(mclient *m, uint8_t type, const uint8_t *p, size_t n)
{
    switch (type >> 4) {
    case 2: /* CONNACK */
        if (m->phase != M_CONNACK || n < 2 || p[1] != 0) {
            conn_close(m->c, "CONNACK refused");
            return;
        }
        {
            gbuf b = {0};
            uint8_t id[2] = {0, 1};
            gbuf_put(&b, id, 2);
            put_str(&b, TOPIC);
            uint8_t qos = 1;
            gbuf_put(&b, &qos, 1);
            send_packet(m, 0x82, &b);
            gbuf_free(&b);
        }
        m->phase = M_SUBACK;
        break;
    case 9: /* SUBACK */
        if (m->phase != M_SUBACK || n < 3 || p[2] != 1) {
            conn_close(m->c, "SUBACK refused or not QoS 1");
            return;
        }
        m->phase = M_READY;
        nready++;
        break;
    case 3: { /* PUBLISH */
        int qos = (type >> 1) & 3;
        if (n < 2)
            return;
        size_t tl = (size_t)p[0] << 8 | p[1];
        size_t off = 2 + tl;
        uint16_t id = 0;
        if (qos) {
            if (n < off + 2)
                return;
            id = (uint16_t)(p[off] << 8 | p[off + 1]);
            off += 2;
        }
        if (n - off >= HEADER_LEN && memcmp(p + off, MARKER, MARKER_LEN) == 0)
            track_delivery(m->idx, p + off);
        if (qos == 1) {
            uint8_t ack[4] = {0x40, 2, (uint8_t)(id >> 8), (uint8_t)id};
            ws_send(m->c, WS_BIN, ack, 4);
        }
        break;
    }
    case 4: /* PUBACK of a sender's PUBLISH */
        if (inflight > 0)
            inflight--;
        break;
    default:
        break;
    }
}

static void on_ws_msg(conn *c, int op, const uint8_t *p, size_t n)
{
    mclient *m = c->ud;
    (void)op;
    gbuf_put(&m->stream, p, n);
    for (;;) {
        const uint8_t *d = gbuf_data(&m->stream);
        size_t avail = gbuf_size(&m->stream);
        if (avail < 2)
            return;
        size_t len = 0, mult = 1, h = 1;
        for (;;) {
            if (h >= avail)
                return;
            len += (d[h] & 127) * mult;
            mult *= 128;
            if (!(d[h++] & 128))
                break;
            if (h > 4) {
                conn_close(c, "bad MQTT length");
                return;
            }
        }
        if (avail < h + len)
            return;
        on_packet(m, d[0], d + h, len);
        if (c->state != C_OPEN)
            return;
        gbuf_drop(&m->stream, h + len);
    }
}

static void on_open(conn *c)
{
    ws_upgrade(c, "/mqtt", "Sec-WebSocket-Protocol: mqtt\r\n");
}

static void on_data(conn *c)
{
    mclient *m = c->ud;
    bool was_open = m->ws.open;
    if (ws_feed(c, &m->ws, on_ws_msg) < 0)
        return;
    if (!was_open && m->ws.open && m->phase == M_WS) {
        gbuf b = {0};
        put_str(&b, "MQTT");
        uint8_t v[4] = {4, 0x02, 0, 0}; /* level 4, clean session, no keep-alive */
        gbuf_put(&b, v, 4);
        char id[32];
        snprintf(id, sizeof(id), "fanout%d", m->idx);
        put_str(&b, id);
        send_packet(m, 0x10, &b);
        gbuf_free(&b);
        m->phase = M_CONNACK;
    }
}

static void on_close(conn *c, const char *why)
{
    mclient *m = c->ud;
    if (m->phase == M_READY)
        nready--;
    if (m->phase != M_DEAD) {
        ndead++;
        if (ndead <= 3)
            say("mqtt client %d closed: %s", m->idx, why);
    }
    m->phase = M_DEAD;
}

static const conn_ops ops = {on_open, on_data, on_close};

static bool setup_done(void *arg)
{
    (void)arg;
    return nready + ndead >= ncl;
}

static int setup(const gen_cfg *cfg)
{
    ncl = cfg->n;
    cl = calloc((size_t)ncl, sizeof(*cl));
    for (int i = 0; i < ncl; i++) {
        cl[i].idx = i;
        cl[i].next_id = 1;
        cl[i].c = conn_new(&ops, &cl[i]);
    }
    net_run(now_ns() + (int64_t)cfg->setup_seconds * 1000000000, setup_done, NULL, NULL);
    return nready == ncl ? 0 : -1;
}

static bool msend(int sender, const char *payload, size_t n)
{
    mclient *m = &cl[sender];
    if (m->phase != M_READY)
        return false;
    gbuf b = {0};
    put_str(&b, TOPIC);
    uint16_t id = m->next_id++;
    if (!m->next_id)
        m->next_id = 1;
    uint8_t idb[2] = {(uint8_t)(id >> 8), (uint8_t)id};
    gbuf_put(&b, idb, 2);
    gbuf_put(&b, payload, n);
    send_packet(m, 0x32, &b);
    gbuf_free(&b);
    inflight++;
    return true;
}

static long m_inflight(void)
{
    return inflight;
}
static long m_failed(void)
{
    return nfailed;
}
static int m_alive(void)
{
    return nready;
}

const driver drv_mqtt = {"mosquitto", setup, msend, m_inflight, m_failed, m_alive};
