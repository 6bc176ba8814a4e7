/* Minimal XMPP client over direct TLS (XEP-0368): stream, SASL PLAIN, resource binding, MUC join
 * (XEP-0045, no history), groupchat messages out, groupchat messages in. No XML parser: during
 * set-up the client waits for known markers; once in the room it only scans the stream for the
 * payload marker, and ignores everything else (presences of other occupants). */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { X_STREAM1, X_AUTH, X_STREAM2, X_BIND, X_WAIT_ROOM, X_JOIN, X_CONFIG, X_READY, X_DEAD };

typedef struct {
    int idx, phase;
    conn *c;
} xclient;

static xclient *cl;
static int ncl, nready, ndead;
static bool room_ready;
static char domain[128], room[160];
static const char *password;

static void stream_open(xclient *x)
{
    char s[320];
    int n = snprintf(s, sizeof(s),
                     "<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
                     domain);
    conn_send(x->c, s, (size_t)n);
}

static void join(xclient *x)
{
    char s[400];
    int n = snprintf(s, sizeof(s),
                     "<presence to='%s/u%d'><x xmlns='http://jabber.org/protocol/muc'>"
                     "<history maxstanzas='0'/></x></presence>",
                     room, x->idx);
    conn_send(x->c, s, (size_t)n);
    x->phase = X_JOIN;
}

static void ready(xclient *x)
{
    x->phase = X_READY;
    nready++;
    if (x->idx == 0) {
        room_ready = true;
        for (int i = 1; i < ncl; i++)
            if (cl[i].phase == X_WAIT_ROOM)
                join(&cl[i]);
    }
}

/* Drops everything up to and including the end of the match; returns false if absent. */
static bool take(conn *c, const char *marker)
{
    const uint8_t *m = find(gbuf_data(&c->in), gbuf_size(&c->in), marker);
    if (!m)
        return false;
    gbuf_drop(&c->in, (size_t)(m - gbuf_data(&c->in)) + strlen(marker));
    return true;
}

/* Counts the payloads of complete groupchat <message/> stanzas (not error bounces, which carry
 * the payload back to its sender); returns how many bytes may be dropped. */
static size_t scan_messages(int idx, const uint8_t *d, size_t n)
{
    size_t pos = 0;
    for (;;) {
        const uint8_t *m = find(d + pos, n - pos, "<message");
        if (!m)
            return n > 8 ? n - 8 : 0;
        size_t start = (size_t)(m - d);
        const uint8_t *e = find(m, n - start, "</message>");
        if (!e)
            return start;
        size_t end = (size_t)(e - d) + 10;
        const uint8_t *gt = memchr(m, '>', end - start);
        size_t taglen = gt ? (size_t)(gt - m) : 0;
        if (find(m, taglen, "groupchat")) {
            const uint8_t *p = find(m, end - start, MARKER);
            if (p && (size_t)(d + end - p) >= HEADER_LEN)
                track_delivery(idx, p);
        }
        pos = end;
    }
}

static void on_open(conn *c)
{
    stream_open(c->ud);
}

static void on_data(conn *c)
{
    xclient *x = c->ud;
    for (;;) {
        const uint8_t *d = gbuf_data(&c->in);
        size_t n = gbuf_size(&c->in);
        switch (x->phase) {
        case X_STREAM1:
            if (!take(c, "</stream:features>"))
                return;
            {
                char raw[160], b64[240], s[400];
                int rl = snprintf(raw, sizeof(raw), "%cu%d%c%s", 0, x->idx, 0, password);
                b64_encode((const uint8_t *)raw, (size_t)rl, b64);
                int sl = snprintf(s, sizeof(s),
                                  "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                                  "mechanism='PLAIN'>%s</auth>",
                                  b64);
                conn_send(c, s, (size_t)sl);
            }
            x->phase = X_AUTH;
            break;
        case X_AUTH:
            if (find(d, n, "<failure")) {
                conn_close(c, "SASL PLAIN failed");
                return;
            }
            if (!take(c, "<success"))
                return;
            stream_open(x);
            x->phase = X_STREAM2;
            break;
        case X_STREAM2:
            if (!take(c, "</stream:features>"))
                return;
            {
                /* A resource of its own per run: a session of an earlier run that the server
                 * has not finished closing must not be taken for this one. */
                char s[200];
                int sl = snprintf(s, sizeof(s),
                                  "<iq type='set' id='bind1'><bind "
                                  "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>fo%d"
                                  "</resource></bind></iq>",
                                  (int)getpid());
                conn_send(c, s, (size_t)sl);
            }
            x->phase = X_BIND;
            break;
        case X_BIND:
            if (!find(d, n, "</jid>"))
                return;
            take(c, "</iq>");
            if (x->idx == 0 || room_ready)
                join(x);
            else
                x->phase = X_WAIT_ROOM;
            break;
        case X_WAIT_ROOM:
            gbuf_drop(&c->in, n);
            return;
        case X_JOIN: {
            /* The self-presence (status 110) comes after every other occupant's presence. */
            const uint8_t *m = find(d, n, "code='110'");
            if (!m)
                m = find(d, n, "code=\"110\"");
            const uint8_t *end = m ? find(m, n - (size_t)(m - d), "</presence>") : NULL;
            if (!end) {
                /* Keep the last stanza start: the self-presence may be arriving in pieces. */
                const uint8_t *last = NULL, *p = d;
                const uint8_t *stop = m ? m : d + n;
                while ((p = find(p, (size_t)(stop - p), "<presence")) != NULL)
                    last = p++;
                if (last)
                    gbuf_drop(&c->in, (size_t)(last - d));
                else if (!m)
                    gbuf_drop(&c->in, n);
                return;
            }
            bool created = find(d, (size_t)(end - d), "code='201'") ||
                           find(d, (size_t)(end - d), "code=\"201\"");
            gbuf_drop(&c->in, (size_t)(end - d) + strlen("</presence>"));
            if (x->idx == 0 && created) {
                /* A new room stays locked until its owner accepts the default configuration
                 * (an "instant room"). */
                char s[300];
                int sl = snprintf(s, sizeof(s),
                                  "<iq type='set' id='fanoutcfg' to='%s'><query "
                                  "xmlns='http://jabber.org/protocol/muc#owner'><x "
                                  "xmlns='jabber:x:data' type='submit'/></query></iq>",
                                  room);
                conn_send(c, s, (size_t)sl);
                x->phase = X_CONFIG;
            } else {
                ready(x);
            }
            break;
        }
        case X_CONFIG: {
            const uint8_t *m = find(d, n, "fanoutcfg");
            if (!m)
                return;
            const uint8_t *end = find(m, n - (size_t)(m - d), ">");
            if (!end)
                return;
            bool err = find(d, (size_t)(end - d), "type='error'") ||
                       find(d, (size_t)(end - d), "type=\"error\"");
            if (err) {
                conn_close(c, "room configuration refused");
                return;
            }
            gbuf_drop(&c->in, (size_t)(end - d) + 1);
            ready(x);
            break;
        }
        case X_READY:
            gbuf_drop(&c->in, scan_messages(x->idx, d, n));
            return;
        default:
            gbuf_drop(&c->in, n);
            return;
        }
        if (c->state != C_OPEN)
            return;
    }
}

static void on_close(conn *c, const char *why)
{
    xclient *x = c->ud;
    if (x->phase == X_READY)
        nready--;
    if (x->phase != X_DEAD) {
        ndead++;
        if (ndead <= 3)
            say("xmpp client %d closed: %s", x->idx, why);
    }
    x->phase = X_DEAD;
}

static const conn_ops ops = {on_open, on_data, on_close};

static bool setup_done(void *arg)
{
    (void)arg;
    return nready + ndead >= ncl || (cl[0].phase == X_DEAD);
}

static int setup(const gen_cfg *cfg)
{
    ncl = cfg->n;
    password = cfg->password;
    snprintf(domain, sizeof(domain), "%s", cfg->domain);
    snprintf(room, sizeof(room), "bench%d@conference.%s", cfg->n, cfg->domain);
    cl = calloc((size_t)ncl, sizeof(*cl));
    for (int i = 0; i < ncl; i++) {
        cl[i].idx = i;
        cl[i].c = conn_new(&ops, &cl[i]);
    }
    net_run(now_ns() + (int64_t)cfg->setup_seconds * 1000000000, setup_done, NULL, NULL);
    return nready == ncl ? 0 : -1;
}

static bool xsend(int sender, const char *payload, size_t n)
{
    xclient *x = &cl[sender];
    if (x->phase != X_READY)
        return false;
    char head[240];
    int hl = snprintf(head, sizeof(head), "<message to='%s' type='groupchat'><body>", room);
    conn_send(x->c, head, (size_t)hl);
    conn_send(x->c, payload, n);
    conn_send(x->c, "</body></message>", 17);
    return true;
}

static long x_zero(void)
{
    return 0;
}
static int x_alive(void)
{
    return nready;
}

const driver drv_xmpp = {"xmpp", setup, xsend, x_zero, x_zero, x_alive};
