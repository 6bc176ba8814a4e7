/* Minimal WebSocket client (RFC 6455): the upgrade request, masked frames out, unmasked frames in,
 * fragments reassembled, pings answered. No extensions. */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ws_upgrade(conn *c, const char *path, const char *extra)
{
    uint8_t key[16];
    char key64[32];
    for (int i = 0; i < 16; i += 4) {
        uint32_t r = rnd32();
        memcpy(key + i, &r, 4);
    }
    b64_encode(key, sizeof(key), key64);
    gbuf req = {0};
    gbuf_printf(&req,
                "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                "%s\r\n",
                path, key64, extra ? extra : "");
    conn_send(c, gbuf_data(&req), gbuf_size(&req));
    gbuf_free(&req);
}

void ws_send(conn *c, int op, const void *p, size_t n)
{
    uint8_t hdr[14];
    size_t h = 0;
    hdr[h++] = (uint8_t)(0x80 | op);
    if (n < 126) {
        hdr[h++] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (uint8_t)(n >> 8);
        hdr[h++] = (uint8_t)n;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    uint32_t mask = rnd32();
    uint8_t m[4];
    memcpy(m, &mask, 4);
    memcpy(hdr + h, m, 4);
    h += 4;
    gbuf *o = &c->out;
    conn_send(c, hdr, h);
    if (c->state == C_CLOSED)
        return;
    uint8_t *dst = gbuf_reserve(o, n);
    const uint8_t *src = p;
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] ^ m[i & 3];
    o->len += n;
}

int ws_feed(conn *c, ws_state *w, void (*on_msg)(conn *c, int op, const uint8_t *p, size_t n))
{
    gbuf *in = &c->in;
    if (!w->open) {
        const uint8_t *end = find(gbuf_data(in), gbuf_size(in), "\r\n\r\n");
        if (!end)
            return 0;
        const uint8_t *d = gbuf_data(in);
        w->status = gbuf_size(in) > 12 ? atoi((const char *)d + 9) : 0;
        if (w->status != 101) {
            conn_close(c, "websocket upgrade refused");
            return -1;
        }
        gbuf_drop(in, (size_t)(end + 4 - d));
        w->open = true;
    }
    while (c->state == C_OPEN) {
        const uint8_t *d = gbuf_data(in);
        size_t n = gbuf_size(in);
        if (n < 2)
            break;
        bool fin = d[0] & 0x80;
        int op = d[0] & 15;
        size_t h = 2;
        uint64_t len = d[1] & 127;
        if (d[1] & 0x80) {
            conn_close(c, "masked frame from server");
            return -1;
        }
        if (len == 126) {
            if (n < 4)
                break;
            len = ((uint64_t)d[2] << 8) | d[3];
            h = 4;
        } else if (len == 127) {
            if (n < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | d[2 + i];
            h = 10;
        }
        if (len > (64u << 20)) {
            conn_close(c, "frame too large");
            return -1;
        }
        if (n < h + len)
            break;
        const uint8_t *p = d + h;
        if (op == WS_PING) {
            ws_send(c, WS_PONG, p, (size_t)len);
        } else if (op == WS_CLOSE) {
            int code = len >= 2 ? (p[0] << 8 | p[1]) : 0;
            static char why[64];
            snprintf(why, sizeof(why), "websocket closed by server (%d)", code);
            conn_close(c, why);
            return -1;
        } else if (op == WS_PONG) {
            /* nothing */
        } else if (op == WS_CONT) {
            gbuf_put(&w->frag, p, (size_t)len);
            if (fin) {
                on_msg(c, w->frag_op, gbuf_data(&w->frag), gbuf_size(&w->frag));
                gbuf_free(&w->frag);
            }
        } else if (!fin) {
            gbuf_free(&w->frag);
            w->frag_op = op;
            gbuf_put(&w->frag, p, (size_t)len);
        } else {
            on_msg(c, op, p, (size_t)len);
        }
        if (c->state == C_OPEN)
            gbuf_drop(in, h + (size_t)len);
    }
    return 0;
}
