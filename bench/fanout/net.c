/* The generator's event loop: non-blocking TCP + OpenSSL on one epoll, level-triggered reads with
 * read-ahead (one read() per wake-up, not two per TLS record), writes coalesced per iteration. */
#include "gen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int net_max_connecting = 32;
int64_t net_batch_ns;
int net_open_count;
uint64_t net_bytes_in;

static int ep = -1;
static SSL_CTX *ctx;
static struct sockaddr_in addr;
static conn *all, *dirty, *queued_head, *queued_tail;
static int connecting;

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void net_init(const char *host, int port)
{
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        die("bad address %s", host);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1: %s", strerror(errno));
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        die("SSL_CTX_new failed");
    /* Every server gets the same TLS: 1.2 or 1.3, AES-128-GCM (AES-NI), no certificate check
     * (self-signed certificates on loopback; verification costs nothing after the handshake). */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_set_cipher_list(ctx, "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
}

static void set_events(conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0), .data.ptr = c};
    c->want_out = out;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void start_connect(conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->state = C_CLOSED;
        if (c->ops->on_close)
            c->ops->on_close(c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    connecting++;
    c->state = C_CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
        conn_close(c, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
    c->want_out = true;
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void start_queued(void)
{
    while (queued_head && connecting < net_max_connecting) {
        conn *c = queued_head;
        queued_head = c->next_queued;
        if (!queued_head)
            queued_tail = NULL;
        if (c->state == C_QUEUED) /* else closed while it waited */
            start_connect(c);
    }
}

conn *conn_new(const conn_ops *ops, void *ud)
{
    conn *c = calloc(1, sizeof(*c));
    if (!c)
        die("out of memory");
    c->fd = -1;
    c->ops = ops;
    c->ud = ud;
    c->state = C_QUEUED;
    c->next_all = all;
    all = c;
    if (queued_tail)
        queued_tail->next_queued = c;
    else
        queued_head = c;
    queued_tail = c;
    start_queued();
    return c;
}

void conn_close(conn *c, const char *why)
{
    if (c->state == C_CLOSED)
        return;
    if (c->state == C_CONNECTING || c->state == C_HANDSHAKE)
        connecting--;
    if (c->state == C_OPEN)
        net_open_count--;
    c->state = C_CLOSED;
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    gbuf_free(&c->in);
    gbuf_free(&c->out);
    if (c->ops->on_close)
        c->ops->on_close(c, why);
    start_queued();
}

void conn_send(conn *c, const void *d, size_t n)
{
    if (c->state == C_CLOSED)
        return;
    gbuf_put(&c->out, d, n);
    if (!c->dirty) {
        c->dirty = true;
        c->next_dirty = dirty;
        dirty = c;
    }
}

static const char *ssl_why(void)
{
    static char buf[160];
    unsigned long e = ERR_get_error();
    if (!e)
        return errno ? strerror(errno) : "closed";
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return buf;
}

static void flush(conn *c)
{
    while (c->state == C_OPEN && gbuf_size(&c->out)) {
        size_t n = gbuf_size(&c->out);
        int r = SSL_write(c->ssl, gbuf_data(&c->out), n > (1 << 20) ? (1 << 20) : (int)n);
        if (r > 0) {
            gbuf_drop(&c->out, (size_t)r);
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            if (!c->want_out)
                set_events(c, true);
            return;
        }
        conn_close(c, ssl_why());
        return;
    }
    if (c->state == C_OPEN && c->want_out)
        set_events(c, false);
}

static void do_read(conn *c)
{
    bool got = false;
    for (;;) {
        uint8_t *p = gbuf_reserve(&c->in, 16384);
        int r = SSL_read(c->ssl, p, 16384);
        if (r > 0) {
            c->in.len += (size_t)r;
            net_bytes_in += (uint64_t)r;
            got = true;
            if (SSL_has_pending(c->ssl))
                continue;
            break;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        if (got && c->ops->on_data)
            c->ops->on_data(c);
        conn_close(c, e == SSL_ERROR_ZERO_RETURN ? "closed by server" : ssl_why());
        return;
    }
    if (got && c->ops->on_data)
        c->ops->on_data(c);
}

static void handle(conn *c, uint32_t ev)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            conn_close(c, strerror(err));
            return;
        }
        if (!(ev & EPOLLOUT))
            return;
        c->ssl = SSL_new(ctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_tlsext_host_name(c->ssl, "localhost");
        c->state = C_HANDSHAKE;
    }
    if (c->state == C_HANDSHAKE) {
        int r = SSL_connect(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ) {
                if (c->want_out)
                    set_events(c, false);
                return;
            }
            if (e == SSL_ERROR_WANT_WRITE) {
                if (!c->want_out)
                    set_events(c, true);
                return;
            }
            conn_close(c, ssl_why());
            return;
        }
        c->state = C_OPEN;
        connecting--;
        net_open_count++;
        set_events(c, false);
        start_queued();
        if (c->ops->on_open)
            c->ops->on_open(c);
        if (c->state != C_OPEN)
            return;
        if (gbuf_size(&c->out)) /* written before the handshake ended */
            conn_send(c, "", 0);
        ev |= EPOLLIN; /* application data may already sit in OpenSSL's buffer */
    }
    if (c->state != C_OPEN)
        return;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        do_read(c);
    if (c->state == C_OPEN && (ev & EPOLLOUT))
        flush(c);
}

static void flush_dirty(void)
{
    while (dirty) {
        conn *c = dirty;
        dirty = c->next_dirty;
        c->dirty = false;
        flush(c);
    }
}

bool net_run(int64_t deadline, bool (*done)(void *), int64_t (*tick)(void *, int64_t), void *arg)
{
    struct epoll_event evs[256];
    int64_t last_poll = 0;
    bool busy = false;
    for (;;) {
        int64_t now = now_ns();
        int64_t wake = deadline;
        if (tick) {
            int64_t t = tick(arg, now);
            if (t > 0 && t < wake)
                wake = t;
        }
        flush_dirty();
        if (done && done(arg))
            return true;
        if (now >= deadline)
            return false;
        /* Batching: after a wake-up that found work, sleep out the rest of net_batch_ns before
         * polling again, so that one wake-up serves many deliveries (a wake-up per delivery
         * costs more than the delivery). Latencies read up to net_batch_ns high. */
        if (net_batch_ns && busy) {
            int64_t until = last_poll + net_batch_ns;
            if (until > wake)
                until = wake;
            if (until > now_ns()) {
                struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            }
        }
        int64_t wait = wake - now_ns();
        if (wait < 0)
            wait = 0;
        struct timespec ts = {.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
        int n = epoll_pwait2(ep, evs, 256, &ts, NULL);
        if (n < 0 && errno != EINTR)
            die("epoll_pwait2: %s", strerror(errno));
        last_poll = now_ns();
        busy = n > 0;
        for (int i = 0; i < n; i++)
            handle(evs[i].data.ptr, evs[i].events);
        flush_dirty();
    }
}

void net_free(void)
{
    dirty = queued_head = queued_tail = NULL;
    while (all) {
        conn *c = all;
        all = c->next_all;
        const conn_ops quiet = {0};
        c->ops = &quiet;
        conn_close(c, "end");
        free(c);
    }
    connecting = 0;
    if (ctx)
        SSL_CTX_free(ctx);
    ctx = NULL;
    if (ep >= 0)
        close(ep);
    ep = -1;
}
