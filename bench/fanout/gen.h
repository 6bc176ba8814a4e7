/* fanout_gen: the load generator of bench/fanout. One thread, one epoll loop, OpenSSL for TLS,
 * hand-written WebSocket, HTTP/1.1, XMPP and MQTT client framing: lean enough that the generator
 * measures the server, not itself. */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- byte buffers ----------------------------------------------------------------------------
 * Data lives in p[off..len); dropping from the front moves off, and the buffer is compacted only
 * when space is needed at the end. */
typedef struct {
    uint8_t *p;
    size_t off, len, cap;
} gbuf;

static inline uint8_t *gbuf_data(const gbuf *b)
{
    return b->p + b->off;
}
static inline size_t gbuf_size(const gbuf *b)
{
    return b->len - b->off;
}
uint8_t *gbuf_reserve(gbuf *b, size_t n); /* room for n more bytes at the end */
void gbuf_put(gbuf *b, const void *d, size_t n);
void gbuf_puts(gbuf *b, const char *s);
void gbuf_printf(gbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gbuf_drop(gbuf *b, size_t n);
void gbuf_free(gbuf *b);

/* ---- connections over TLS (net.c) --------------------------------------------------------------
 */
typedef struct conn conn;
typedef struct {
    void (*on_open)(conn *c);                   /* TLS is up */
    void (*on_data)(conn *c);                   /* new bytes in c->in: consume what was used */
    void (*on_close)(conn *c, const char *why); /* once; the conn stays allocated until net_free */
} conn_ops;

enum { C_QUEUED, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSED };

struct conn {
    int fd, state;
    SSL *ssl;
    gbuf in, out;
    const conn_ops *ops;
    void *ud;
    bool dirty, want_out;
    conn *next_dirty, *next_queued, *next_all;
};

void net_init(const char *host, int port);
/* Starts a connection (TCP, then TLS). At most net_max_connecting handshakes run at once; the
 * others wait their turn. */
conn *conn_new(const conn_ops *ops, void *ud);
/* Queues bytes; every queued byte is written at the end of the loop iteration (one TLS record
 * and one write for everything queued meanwhile). */
void conn_send(conn *c, const void *d, size_t n);
void conn_close(conn *c, const char *why);
int64_t now_ns(void);
/* Runs the loop until done(arg) is true or the deadline (CLOCK_MONOTONIC ns) passes. tick(arg, now)
 * runs every iteration and returns when it wants to run next (0: no wish). Returns true if done. */
bool net_run(int64_t deadline, bool (*done)(void *), int64_t (*tick)(void *, int64_t), void *arg);
void net_free(void);
extern int net_max_connecting;
extern int64_t net_batch_ns; /* least time between two polls that found work (0: none) */
extern int net_open_count;
extern uint64_t net_bytes_in; /* decrypted bytes received, all connections */

/* ---- WebSocket client framing (ws.c) ------------------------------------------------------------
 */
enum { WS_CONT = 0, WS_TEXT = 1, WS_BIN = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };
typedef struct {
    bool open; /* 101 received */
    int status;
    gbuf frag;
    int frag_op;
} ws_state;
/* Sends the upgrade request; extra: more header lines, each ending in \r\n, or NULL. */
void ws_upgrade(conn *c, const char *path, const char *extra);
/* Parses what c->in holds: the 101 response, then frames; calls on_msg for every complete data
 * message and answers pings. Returns -1 when the connection must close (and closes it). */
int ws_feed(conn *c, ws_state *w, void (*on_msg)(conn *c, int op, const uint8_t *p, size_t n));
void ws_send(conn *c, int op, const void *p, size_t n);

/* ---- the payload and the receivers' bookkeeping (track.c) ---------------------------------------
 */
#define PAYLOAD_BYTES 256
#define MARKER "FO1 s="
#define MARKER_LEN 6
/* "FO1 s=S q=QQQQQQQQQQ t=TTTTTTTTTTTTTTTTTTTT " then 'x' up to PAYLOAD_BYTES */
#define HEADER_LEN (MARKER_LEN + 1 + 3 + 10 + 3 + 20 + 1)

typedef struct {
    int n;            /* receivers */
    uint32_t base[2]; /* first sequence number of this step, per sender */
    uint32_t cap;     /* sequence numbers per sender in this step */
    size_t words;     /* of the bitmap, per receiver and sender */
    uint64_t *bits;   /* [receiver][sender][words]: seen */
    uint32_t *last;   /* [receiver][sender]: last sequence seen (order check) */
    uint64_t uniq, dup, stale, ooo, bad;
    uint32_t *lat; /* latency of every unique delivery, microseconds */
    size_t nlat, latcap;
    int64_t last_ns; /* time of the last unique delivery */
} tracker;
extern tracker T;
void track_step(int n, const uint32_t base[2], uint32_t cap);

void payload_make(char out[PAYLOAD_BYTES], int sender, uint32_t seq, int64_t sched_ns);
/* A receiver got bytes that start with MARKER, at least HEADER_LEN of them. */
void track_delivery(int receiver, const uint8_t *p);
/* Scans p[0..n) for payloads; returns how many bytes may be dropped (keeps a partial header). */
size_t track_scan(int receiver, const uint8_t *p, size_t n);

/* ---- the server under test (one of cc.c, xmpp.c, mqtt.c) ---------------------------------------
 */
typedef struct {
    const char *host; /* 127.0.0.1 */
    int port;
    int n;                   /* receivers (members of the room), senders are receivers 0 and 1 */
    const char *domain;      /* XMPP domain */
    const char *tokens_file; /* carecomm: "name token" lines */
    const char *password;    /* XMPP */
    int setup_seconds;
} gen_cfg;

typedef struct {
    const char *name;
    /* Connects every receiver and sender and joins the room; runs the loop until ready. */
    int (*setup)(const gen_cfg *cfg);
    /* Sends one payload from sender 0 or 1 now (or queues it); false if the sender is gone. */
    bool (*send)(int sender, const char *payload, size_t n);
    /* Sends not yet acknowledged, and sends that failed since the start. */
    long (*inflight)(void);
    long (*failed)(void);
    int (*alive)(void); /* receivers still connected */
} driver;

extern const driver drv_carecomm, drv_xmpp, drv_mqtt;

/* carecomm's account set-up (cc.c): logs every user in, enrols TOTP, writes the tokens file. */
int cc_login_all(const gen_cfg *cfg, const char *users_file, const char *password, int parallel);

/* ---- small helpers (util.c)
 * ---------------------------------------------------------------------- */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
size_t b64_encode(const uint8_t *in, size_t n, char *out);   /* out: 4*ceil(n/3)+1 bytes */
int totp_code(const char *base32_secret, int64_t unix_time); /* -1 if the secret is bad */
const uint8_t *find(const uint8_t *p, size_t n, const char *s);
uint32_t rnd32(void);
