/* net/mllp: the MLLP listener (see net.h). TCP on the loop with libuv; optional TLS with OpenSSL
 * over memory BIOs (bytes from the socket go into the SSL object, what it has to send goes out
 * by uv_write), so the loop never blocks on a handshake. */
#include "net/net.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MLLP_MAX_ALLOW 32
#define MLLP_READ_CHUNK 65536

typedef struct {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int prefix; /* bits */
} mllp_net;

typedef struct mllp_conn mllp_conn;

struct net_mllp {
    uv_loop_t *loop;
    uv_tcp_t server;
    bool listening, closing;
    int port;
    size_t max_message;
    int idle_ms;
    mllp_net allow[MLLP_MAX_ALLOW];
    int nallow;
    SSL_CTX *tls; /* NULL: plain TCP */
    net_mllp_msg_fn fn;
    void *ud;
    net_mllp_stats stats;
    mllp_conn *conns; /* open connections (doubly linked) */
};

struct net_mllp_msg {
    mllp_conn *c;
    net_mllp_msg *next;
    bool answered;
    cc_buf out; /* the framed answer */
};

struct mllp_conn {
    uv_tcp_t tcp;
    uv_timer_t idle;
    net_mllp *l; /* NULL once the connection is closing: the listener may be gone */
    mllp_conn *prev, *next;
    net_mllp_frame frame;
    char peer[64];
    net_mllp_msg *head, *tail; /* messages in arrival order, until their answer is written */
    int inflight;              /* in the handler's hands */
    int writes;                /* uv_write requests not yet completed */
    int handles;               /* libuv handles still open (tcp, idle) */
    bool reading, closing;
    char *rbuf;
    SSL *ssl;         /* with TLS: owns the two BIOs */
    BIO *rbio, *wbio; /* network -> SSL, SSL -> network */
};

typedef struct {
    uv_write_t req;
    mllp_conn *c;
    cc_buf buf;
} mllp_write;

/* ---- allow list ---------------------------------------------------------------------------- */

static int mllp_parse_net(const char *text, mllp_net *out)
{
    char host[64];
    const char *slash = strchr(text, '/');
    size_t hl = slash ? (size_t)(slash - text) : strlen(text);
    if (hl == 0 || hl >= sizeof host)
        return CC_ERR_CONFIG;
    memcpy(host, text, hl);
    host[hl] = '\0';
    memset(out, 0, sizeof *out);
    if (uv_inet_pton(AF_INET, host, out->addr) == 0) {
        out->family = AF_INET;
        out->prefix = 32;
    } else if (uv_inet_pton(AF_INET6, host, out->addr) == 0) {
        out->family = AF_INET6;
        out->prefix = 128;
    } else {
        return CC_ERR_CONFIG;
    }
    if (slash) {
        char *end = NULL;
        long bits = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || bits < 0 || bits > out->prefix)
            return CC_ERR_CONFIG;
        out->prefix = (int)bits;
    }
    return CC_OK;
}

static int mllp_parse_allow(net_mllp *l, const char *list, char *why, size_t whylen)
{
    char item[80];
    const char *p = list;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && (*p == ' ')) {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        if (n) {
            if (n >= sizeof item || l->nallow == MLLP_MAX_ALLOW) {
                cc_say(why, whylen, "the MLLP allow list is too long");
                return CC_ERR_CONFIG;
            }
            memcpy(item, p, n);
            item[n] = '\0';
            if (mllp_parse_net(item, &l->allow[l->nallow]) != CC_OK) {
                cc_say(why, whylen, "'%s' in the MLLP allow list is not an address or CIDR block",
                       item);
                return CC_ERR_CONFIG;
            }
            l->nallow++;
        }
        p = comma ? comma + 1 : NULL;
    }
    return CC_OK;
}

static bool mllp_net_has(const mllp_net *n, int family, const uint8_t *addr)
{
    if (n->family != family)
        return false;
    int full = n->prefix / 8, rest = n->prefix % 8;
    if (memcmp(n->addr, addr, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (n->addr[full] & mask) == (addr[full] & mask);
}

/* Fills c->peer; false if the allow list leaves this peer out. */
static bool mllp_peer_allowed(net_mllp *l, mllp_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return false;
    uint8_t addr[16] = {0};
    int family = ss.ss_family;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        memcpy(addr, &in->sin_addr, 4);
        uv_ip4_name(in, c->peer, sizeof c->peer);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        memcpy(addr, &in6->sin6_addr, 16);
        uv_ip6_name(in6, c->peer, sizeof c->peer);
    } else {
        return false;
    }
    if (l->nallow == 0)
        return true;
    for (int i = 0; i < l->nallow; i++)
        if (mllp_net_has(&l->allow[i], family, addr))
            return true;
    return false;
}

/* ---- connections --------------------------------------------------------------------------- */

static void mllp_conn_maybe_free(mllp_conn *c)
{
    if (c->handles > 0 || c->inflight > 0 || c->writes > 0)
        return;
    net_mllp_frame_clear(&c->frame);
    SSL_free(c->ssl);
    while (c->head) {
        net_mllp_msg *m = c->head;
        c->head = m->next;
        cc_buf_free(&m->out);
        cc_free_ptr(m);
    }
    cc_free(&c->rbuf);
    cc_free_ptr(c);
}

static void mllp_handle_closed(uv_handle_t *h)
{
    mllp_conn *c = h->data;
    c->handles--;
    mllp_conn_maybe_free(c);
}

/* Closes at once (a broken or refused connection); answers still to come are dropped. */
static void mllp_conn_close(mllp_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    net_mllp *l = c->l;
    if (l) {
        if (c->prev)
            c->prev->next = c->next;
        else
            l->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        l->stats.open_connections--;
        c->l = NULL;
    }
    uv_close((uv_handle_t *)&c->idle, mllp_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, mllp_handle_closed);
}

static void mllp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    mllp_conn *c = h->data;
    if (!c->rbuf)
        c->rbuf = cc_malloc(MLLP_READ_CHUNK);
    buf->base = c->rbuf;
    buf->len = c->rbuf ? MLLP_READ_CHUNK : 0;
}

static int mllp_on_frame(void *ud, const char *msg, size_t n, bool oversize)
{
    mllp_conn *c = ud;
    net_mllp *l = c->l;
    if (!l)
        return CC_ERR_IO; /* closed by an answer given during this feed */
    net_mllp_msg *m = cc_calloc(1, sizeof *m);
    if (!m)
        return CC_ERR_NOMEM;
    m->c = c;
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->inflight++;
    l->stats.messages++;
    if (oversize)
        l->stats.oversize++;
    l->fn(l->ud, m, msg, n, oversize);
    return CC_OK;
}

static void mllp_read_pause(mllp_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void mllp_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ---- TLS ------------------------------------------------------------------------------------ */

static void mllp_on_written(uv_write_t *req, int status);

/* Writes n bytes (copied) to the socket. */
static void mllp_send(mllp_conn *c, const char *p, size_t n)
{
    if (c->closing || n == 0)
        return;
    mllp_write *w = cc_calloc(1, sizeof *w);
    if (!w || cc_buf_append(&w->buf, p, n) != CC_OK) {
        if (w)
            cc_buf_free(&w->buf);
        cc_free_ptr(w);
        mllp_conn_close(c);
        return;
    }
    w->c = c;
    uv_buf_t b = uv_buf_init(w->buf.data, (unsigned)w->buf.len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, mllp_on_written) == 0) {
        c->writes++;
    } else {
        cc_buf_free(&w->buf);
        cc_free_ptr(w);
        mllp_conn_close(c);
    }
}

/* Sends what the SSL object has produced (handshake records, encrypted answers, alerts). */
static void mllp_tls_out(mllp_conn *c)
{
    char chunk[16384];
    int n;
    while ((n = BIO_read(c->wbio, chunk, sizeof chunk)) > 0)
        mllp_send(c, chunk, (size_t)n);
}

/* Bytes from the socket: the handshake, then decrypted bytes to the framer. */
static int mllp_tls_in(mllp_conn *c, const char *p, size_t n)
{
    if (BIO_write(c->rbio, p, (int)n) != (int)n)
        return CC_ERR_NOMEM;
    int rc = CC_OK;
    if (!SSL_is_init_finished(c->ssl)) {
        int r = SSL_do_handshake(c->ssl);
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                rc = CC_ERR_IO; /* not TLS, or a failed handshake: the alert goes, then close */
        }
    }
    char plain[16384];
    while (rc == CC_OK && SSL_is_init_finished(c->ssl)) {
        int r = SSL_read(c->ssl, plain, sizeof plain);
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                rc = CC_ERR_IO; /* close_notify or an error */
            break;
        }
        rc = net_mllp_frame_feed(&c->frame, (const uint8_t *)plain, (size_t)r, mllp_on_frame, c);
    }
    ERR_clear_error();
    mllp_tls_out(c);
    return rc;
}

static void mllp_read_resume(mllp_conn *c)
{
    if (!c->reading && !c->closing &&
        uv_read_start((uv_stream_t *)&c->tcp, mllp_alloc, mllp_on_read) == 0)
        c->reading = true;
}

static void mllp_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    mllp_conn *c = s->data;
    if (nread < 0) {
        /* End of stream or error: answers still owed cannot be delivered any more. */
        mllp_read_pause(c);
        mllp_conn_close(c);
        return;
    }
    if (nread == 0 || !c->l)
        return;
    uv_timer_again(&c->idle);
    int rc = c->ssl ? mllp_tls_in(c, buf->base, (size_t)nread)
                    : net_mllp_frame_feed(&c->frame, (const uint8_t *)buf->base, (size_t)nread,
                                          mllp_on_frame, c);
    if (rc != CC_OK) {
        mllp_conn_close(c);
        return;
    }
    if (c->inflight >= NET_MLLP_MAX_INFLIGHT)
        mllp_read_pause(c); /* the sender waits for its answers before sending more */
}

static void mllp_on_idle(uv_timer_t *t)
{
    mllp_conn *c = t->data;
    if (c->inflight == 0 && c->writes == 0)
        mllp_conn_close(c);
}

static void mllp_on_written(uv_write_t *req, int status)
{
    mllp_write *w = (mllp_write *)req;
    mllp_conn *c = w->c;
    cc_buf_free(&w->buf);
    cc_free_ptr(w);
    c->writes--;
    if (status != 0)
        mllp_conn_close(c);
    mllp_conn_maybe_free(c);
}

/* Writes the answers at the head of the queue that are ready, in arrival order. */
static void mllp_flush(mllp_conn *c)
{
    while (c->head && c->head->answered) {
        net_mllp_msg *m = c->head;
        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        if (!c->closing && c->ssl) {
            if (SSL_write(c->ssl, m->out.data, (int)m->out.len) != (int)m->out.len)
                mllp_conn_close(c);
            else
                mllp_tls_out(c);
        } else {
            mllp_send(c, m->out.data, m->out.len);
        }
        cc_buf_free(&m->out);
        cc_free_ptr(m);
    }
}

void net_mllp_reply(net_mllp_msg *m, const char *ack, size_t n)
{
    mllp_conn *c = m->c;
    m->answered = true;
    if (net_mllp_frame_wrap(&m->out, ack, n) != CC_OK)
        mllp_conn_close(c);
    c->inflight--;
    mllp_flush(c);
    if (c->inflight < NET_MLLP_MAX_INFLIGHT / 2)
        mllp_read_resume(c);
    mllp_conn_maybe_free(c);
}

const char *net_mllp_peer(const net_mllp_msg *m)
{
    return m->c->peer;
}

static void mllp_on_connection(uv_stream_t *server, int status)
{
    net_mllp *l = server->data;
    if (status != 0 || l->closing)
        return;
    mllp_conn *c = cc_calloc(1, sizeof *c);
    if (!c)
        return;
    c->l = l;
    c->tcp.data = c->idle.data = c;
    uv_tcp_init(l->loop, &c->tcp);
    uv_timer_init(l->loop, &c->idle);
    c->handles = 2;
    net_mllp_frame_init(&c->frame, l->max_message);
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->stats.open_connections++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        mllp_conn_close(c);
        return;
    }
    if (!mllp_peer_allowed(l, c)) {
        l->stats.refused_peers++;
        cc_logf(CC_LOG_WARN, "MLLP connection refused by the allow list", "{s:s}", "peer", c->peer);
        mllp_conn_close(c);
        return;
    }
    if (l->tls) {
        c->ssl = SSL_new(l->tls);
        c->rbio = BIO_new(BIO_s_mem());
        c->wbio = BIO_new(BIO_s_mem());
        if (!c->ssl || !c->rbio || !c->wbio) {
            BIO_free(c->rbio);
            BIO_free(c->wbio);
            c->rbio = c->wbio = NULL;
            mllp_conn_close(c);
            return;
        }
        SSL_set_bio(c->ssl, c->rbio, c->wbio);
        SSL_set_accept_state(c->ssl);
    }
    l->stats.connections++;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->idle, mllp_on_idle, (uint64_t)l->idle_ms, (uint64_t)l->idle_ms);
    mllp_read_resume(c);
}

/* ---- the listener -------------------------------------------------------------------------- */

static int mllp_parse_listen(const char *hp, struct sockaddr_storage *ss, char *why, size_t whylen)
{
    char host[64];
    const char *colon = hp && hp[0] == '[' ? strstr(hp, "]:") : (hp ? strrchr(hp, ':') : NULL);
    const char *h = hp && hp[0] == '[' ? hp + 1 : hp;
    if (!colon || (size_t)(colon - h) >= sizeof host) {
        cc_say(why, whylen, "'%s' is not host:port", hp ? hp : "");
        return CC_ERR_CONFIG;
    }
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    const char *ps = colon + (hp[0] == '[' ? 2 : 1);
    char *end = NULL;
    long port = strtol(ps, &end, 10);
    if (!*ps || *end || port < 0 || port > 65535) {
        cc_say(why, whylen, "'%s': the port is not a number from 0 to 65535", hp);
        return CC_ERR_CONFIG;
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) != 0 &&
        uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) != 0) {
        cc_say(why, whylen, "'%s': the host must be a numeric address", hp);
        return CC_ERR_CONFIG;
    }
    return CC_OK;
}

/* The TLS context of the listener: the given certificate chain and key, TLS 1.2 at least. */
static int mllp_tls_ctx(net_mllp *l, const net_mllp_opts *o, char *why, size_t whylen)
{
    if (!o->tls_cert || !*o->tls_cert)
        return CC_OK;
    l->tls = SSL_CTX_new(TLS_server_method());
    if (!l->tls || SSL_CTX_set_min_proto_version(l->tls, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(l->tls, o->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(l->tls, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(l->tls) != 1) {
        char err[160];
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        cc_say(why, whylen, "MLLP TLS: cannot use %s / %s: %s", o->tls_cert,
               o->tls_key ? o->tls_key : "(no key)", err);
        ERR_clear_error();
        SSL_CTX_free(l->tls);
        l->tls = NULL;
        return CC_ERR_CONFIG;
    }
    SSL_CTX_set_options(l->tls, SSL_OP_NO_RENEGOTIATION);
    /* Mutual TLS: an interface engine proves itself with a certificate from the hospital's CA;
     * without one the handshake fails and no byte of HL7 is read. */
    if (o->tls_client_ca && *o->tls_client_ca) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->tls_client_ca);
        if (!names || SSL_CTX_load_verify_locations(l->tls, o->tls_client_ca, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            cc_say(why, whylen, "MLLP TLS: cannot read the client CA file %s", o->tls_client_ca);
            SSL_CTX_free(l->tls);
            l->tls = NULL;
            return CC_ERR_CONFIG;
        }
        SSL_CTX_set_client_CA_list(l->tls, names);
        SSL_CTX_set_verify(l->tls, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return CC_OK;
}

int net_mllp_listen(uv_loop_t *loop, const char *host_port, const net_mllp_opts *o,
                    net_mllp_msg_fn fn, void *ud, net_mllp **out, char *why, size_t whylen)
{
    struct sockaddr_storage ss;
    *out = NULL;
    memset(&ss, 0, sizeof ss);
    int rc = mllp_parse_listen(host_port, &ss, why, whylen);
    if (rc != CC_OK)
        return rc;
    net_mllp *l = cc_calloc(1, sizeof *l);
    if (!l)
        return CC_ERR_NOMEM;
    l->loop = loop;
    l->fn = fn;
    l->ud = ud;
    l->max_message = o->max_message;
    l->idle_ms = o->idle_timeout_ms;
    if ((rc = mllp_parse_allow(l, o->allow, why, whylen)) != CC_OK ||
        (rc = mllp_tls_ctx(l, o, why, whylen)) != CC_OK) {
        cc_free_ptr(l);
        return rc;
    }
    uv_tcp_init(loop, &l->server);
    l->server.data = l;
    l->listening = true;
    int e = uv_tcp_bind(&l->server, (struct sockaddr *)&ss, 0);
    if (e == 0)
        e = uv_listen((uv_stream_t *)&l->server, 128, mllp_on_connection);
    if (e != 0) {
        cc_say(why, whylen, "cannot listen on %s: %s", host_port, uv_strerror(e));
        l->fn = NULL; /* the handle's close callback frees l */
        net_mllp_close(l);
        return CC_ERR_IO;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&l->server, (struct sockaddr *)&bound, &len);
    l->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                               : ((struct sockaddr_in6 *)&bound)->sin6_port);
    *out = l;
    return CC_OK;
}

int net_mllp_port(const net_mllp *l)
{
    return l->port;
}

void net_mllp_get_stats(const net_mllp *l, net_mllp_stats *out)
{
    *out = l->stats;
}

static void mllp_free_listener(net_mllp *l)
{
    /* Connections hold their own reference to the context (SSL_new): freeing it here is safe. */
    SSL_CTX_free(l->tls);
    cc_free_ptr(l);
}

static void mllp_server_closed(uv_handle_t *h)
{
    net_mllp *l = h->data;
    l->listening = false;
    if (l->closing && !l->conns && l->fn == NULL)
        mllp_free_listener(l);
}

void net_mllp_close(net_mllp *l)
{
    if (!l || l->closing)
        return;
    l->closing = true;
    uv_close((uv_handle_t *)&l->server, mllp_server_closed);
    while (l->conns)
        mllp_conn_close(l->conns);
}

void net_mllp_free(net_mllp *l)
{
    if (!l)
        return;
    /* The server handle may still be closing: the close callback frees it then. */
    l->fn = NULL;
    if (!l->listening)
        mllp_free_listener(l);
}
