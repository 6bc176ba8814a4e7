/* carecomm's side of fanout_gen: logging the bench users in (with TOTP enrolment), creating the
 * channel and joining it, N event WebSockets as receivers, and two senders posting over HTTPS
 * (each with a small pool of keep-alive connections, so that a slow answer does not hold back
 * the next message: the offered load stays open-loop). */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- logging every user in ----------------------------------------------------------------------
 */

typedef struct {
    char *name, *token;
    int64_t retry_at;
    int tries;
} user;

typedef struct {
    hconn *h;
    int u; /* user in progress, -1 none */
} worker;

static user *users;
static int nusers, next_user, nlogged, nfailed_users;
static const char *login_pw;

static void w_next(worker *w);

static void w_fail(worker *w, const char *what, int status, const char *body)
{
    nfailed_users++;
    if (nfailed_users <= 5)
        say("carecomm user %s: %s failed (%d): %.200s", users[w->u].name, what, status, body);
    w->u = -1;
    w_next(w);
}

static void w_done(worker *w)
{
    nlogged++;
    w->u = -1;
    w_next(w);
}

static void on_me2(hconn *h, void *arg, int status, const char *body, size_t n)
{
    worker *w = arg;
    (void)h, (void)n;
    char *r = status == 200 ? json_get(body, "restriction") : NULL;
    if (status == 200 && (!r || strcmp(r, "null") == 0)) /* absent or null: none */
        w_done(w);
    else
        w_fail(w, "restriction after TOTP", status, body);
    free(r);
}

static void on_confirm(hconn *h, void *arg, int status, const char *body, size_t n)
{
    worker *w = arg;
    (void)n;
    if (status != 200) {
        w_fail(w, "totp confirm", status, body);
        return;
    }
    http_request(h, "GET", "/api/v1/me", users[w->u].token, NULL, on_me2, w);
}

static void on_enroll(hconn *h, void *arg, int status, const char *body, size_t n)
{
    worker *w = arg;
    (void)n;
    char *secret = status == 200 ? json_get(body, "secret") : NULL;
    int code = secret ? totp_code(secret, (int64_t)time(NULL)) : -1;
    free(secret);
    if (code < 0) {
        w_fail(w, "totp enroll", status, body);
        return;
    }
    char json[64];
    snprintf(json, sizeof(json), "{\"code\":\"%06d\"}", code);
    http_request(h, "POST", "/api/v1/auth/totp/confirm", users[w->u].token, json, on_confirm, w);
}

static void on_me(hconn *h, void *arg, int status, const char *body, size_t n)
{
    worker *w = arg;
    (void)n;
    char *r = status == 200 ? json_get(body, "restriction") : NULL;
    if (status == 200 && (!r || strcmp(r, "null") == 0))
        w_done(w);
    else if (r && strcmp(r, "totp_enrolment_required") == 0)
        http_request(h, "POST", "/api/v1/auth/totp/enroll", users[w->u].token, NULL, on_enroll, w);
    else
        w_fail(w, "GET /api/v1/me", status, body);
    free(r);
}

static void on_login(hconn *h, void *arg, int status, const char *body, size_t n)
{
    worker *w = arg;
    (void)n;
    user *u = &users[w->u];
    if (status == 429 && u->tries < 20) {
        u->retry_at = now_ns() + 1000000000;
        u->tries++;
        w->u = -1; /* picked up again by the tick */
        w_next(w);
        return;
    }
    char *tok = status == 200 ? json_get(body, "token") : NULL;
    if (!tok) {
        w_fail(w, "login", status, body);
        return;
    }
    u->token = tok;
    http_request(h, "GET", "/api/v1/me", u->token, NULL, on_me, w);
}

static void w_start(worker *w, int u)
{
    w->u = u;
    if (!w->h || w->h->dead)
        w->h = hconn_new(w);
    json_t *j = json_pack("{s:s,s:s}", "username", users[u].name, "password", login_pw);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    http_request(w->h, "POST", "/api/v1/auth/login", NULL, s, on_login, w);
    free(s);
}

static void w_next(worker *w)
{
    if (next_user < nusers)
        w_start(w, next_user++);
}

static worker *workers;
static int nworkers;

static int64_t login_tick(void *arg, int64_t now)
{
    (void)arg;
    int64_t wake = 0;
    for (int i = 0; i < nusers; i++) {
        if (!users[i].retry_at)
            continue;
        if (users[i].retry_at > now) {
            if (!wake || users[i].retry_at < wake)
                wake = users[i].retry_at;
            continue;
        }
        for (int k = 0; k < nworkers; k++) {
            if (workers[k].u < 0) {
                users[i].retry_at = 0;
                w_start(&workers[k], i);
                break;
            }
        }
    }
    return wake;
}

static bool login_finished(void *arg)
{
    (void)arg;
    return nlogged + nfailed_users >= nusers;
}

int cc_login_all(const gen_cfg *cfg, const char *users_file, const char *password, int parallel)
{
    FILE *f = fopen(users_file, "r");
    if (!f)
        die("cannot read %s", users_file);
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line)
            continue;
        users = realloc(users, (size_t)(nusers + 1) * sizeof(*users));
        memset(&users[nusers], 0, sizeof(*users));
        users[nusers++].name = strdup(line);
    }
    fclose(f);
    login_pw = password;
    nworkers = parallel;
    workers = calloc((size_t)nworkers, sizeof(*workers));
    for (int i = 0; i < nworkers; i++) {
        workers[i].u = -1;
        w_next(&workers[i]);
    }
    net_run(now_ns() + (int64_t)cfg->setup_seconds * 1000000000, login_finished, login_tick, NULL);
    if (nlogged != nusers) {
        say("carecomm: %d of %d users logged in", nlogged, nusers);
        return -1;
    }
    for (int i = 0; i < nusers; i++)
        printf("%s %s\n", users[i].name, users[i].token);
    return 0;
}

/* ---- the channel, receivers and senders ---------------------------------------------------------
 */

enum { R_WS, R_WELCOME, R_READY, R_DEAD };

typedef struct {
    int idx, phase;
    conn *c;
    ws_state ws;
} receiver;

#define POOL_MAX 32

typedef struct {
    int idx;
    hconn *h[POOL_MAX];
    int n;
    gbuf queue; /* payloads waiting for a free connection, PAYLOAD_BYTES each */
} sender;

static struct {
    int n;
    char **tokens;
    char *conv;
    bool missing, conv_failed;
    receiver *rx;
    int nready, ndead, joins_left, joins_failed, next_join;
    sender snd[2];
    long inflight, failed;
    char msg_path[256];
} C;

static void rx_msg(conn *c, int op, const uint8_t *p, size_t n)
{
    receiver *r = c->ud;
    (void)op;
    if (r->phase == R_READY) {
        const uint8_t *m = n >= HEADER_LEN ? memmem(p, n, MARKER, MARKER_LEN) : NULL;
        if (m && (size_t)(p + n - m) >= HEADER_LEN)
            track_delivery(r->idx, m);
    } else if (r->phase == R_WELCOME && find(p, n, "\"welcome\"")) {
        r->phase = R_READY;
        C.nready++;
    }
}

static void rx_open(conn *c)
{
    receiver *r = c->ud;
    char hdr[300];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", C.tokens[r->idx]);
    ws_upgrade(c, "/api/v1/events", hdr);
}

static void rx_data(conn *c)
{
    receiver *r = c->ud;
    if (ws_feed(c, &r->ws, rx_msg) < 0)
        return;
    if (r->phase == R_WS && r->ws.open) {
        ws_send(c, WS_TEXT, "{\"type\":\"hello\"}", 16);
        r->phase = R_WELCOME;
    }
}

static void rx_close(conn *c, const char *why)
{
    receiver *r = c->ud;
    if (r->phase == R_READY)
        C.nready--;
    if (r->phase != R_DEAD) {
        C.ndead++;
        if (C.ndead <= 3)
            say("carecomm receiver %d closed: %s", r->idx, why);
    }
    r->phase = R_DEAD;
}

static const conn_ops rx_ops = {rx_open, rx_data, rx_close};

static void on_created(hconn *h, void *arg, int status, const char *body, size_t n)
{
    (void)h, (void)arg, (void)n;
    if (status == 404)
        C.missing = true;
    else if (status == 201 || status == 200)
        C.conv = json_get(body, "id");
    if (!C.conv && !C.missing) {
        say("carecomm: creating the channel failed (%d): %.300s", status, body);
        C.conv_failed = true;
    }
}

static bool created(void *arg)
{
    (void)arg;
    return C.conv || C.missing || C.conv_failed;
}

static void join_next(hconn *h);

static void on_joined(hconn *h, void *arg, int status, const char *body, size_t n)
{
    (void)arg, (void)n;
    C.joins_left--;
    if (status < 200 || (status >= 300 && status != 409)) {
        if (++C.joins_failed <= 3)
            say("carecomm: join failed (%d): %.200s", status, body);
    }
    join_next(h);
}

static void join_next(hconn *h)
{
    if (C.next_join >= C.n)
        return;
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/conversations/%s/join", C.conv);
    int u = C.next_join++;
    if (h->dead)
        h = hconn_new(NULL);
    http_request(h, "POST", path, C.tokens[u], NULL, on_joined, NULL);
}

static bool joined(void *arg)
{
    (void)arg;
    return C.joins_left <= 0;
}

static bool rx_all(void *arg)
{
    (void)arg;
    return C.nready + C.ndead >= C.n;
}

static bool senders_open(void *arg)
{
    (void)arg;
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < C.snd[s].n; i++)
            if (C.snd[s].h[i]->c->state != C_OPEN && !C.snd[s].h[i]->dead)
                return false;
    return true;
}

static void post(sender *s, hconn *h, const char *payload);

static void on_posted(hconn *h, void *arg, int status, const char *body, size_t n)
{
    sender *s = arg;
    (void)n;
    C.inflight--;
    if (status != 201 && status != 200) {
        if (++C.failed <= 3)
            say("carecomm: sending failed (%d): %.200s", status, body);
    }
    if (gbuf_size(&s->queue) && !h->dead) {
        char p[PAYLOAD_BYTES];
        memcpy(p, gbuf_data(&s->queue), PAYLOAD_BYTES);
        gbuf_drop(&s->queue, PAYLOAD_BYTES);
        post(s, h, p);
    }
}

static void post(sender *s, hconn *h, const char *payload)
{
    char json[PAYLOAD_BYTES + 16];
    memcpy(json, "{\"body\":\"", 9);
    memcpy(json + 9, payload, PAYLOAD_BYTES);
    memcpy(json + 9 + PAYLOAD_BYTES, "\"}", 3);
    http_request(h, "POST", C.msg_path, C.tokens[s->idx], json, on_posted, s);
}

static bool cc_send(int idx, const char *payload, size_t n)
{
    sender *s = &C.snd[idx];
    (void)n;
    if (C.rx[idx].phase == R_DEAD)
        return false;
    hconn *free_h = NULL;
    for (int i = 0; i < s->n; i++) {
        if (s->h[i]->dead) { /* replace connections the server closed */
            s->h[i] = hconn_new(s);
        }
        if (!s->h[i]->busy && !free_h)
            free_h = s->h[i];
    }
    if (!free_h && s->n < POOL_MAX)
        free_h = s->h[s->n++] = hconn_new(s);
    C.inflight++;
    if (free_h)
        post(s, free_h, payload);
    else
        gbuf_put(&s->queue, payload, PAYLOAD_BYTES);
    return true;
}

static int cc_setup(const gen_cfg *cfg)
{
    C.n = cfg->n;
    C.tokens = calloc((size_t)C.n, sizeof(char *));
    FILE *f = fopen(cfg->tokens_file, "r");
    if (!f)
        die("cannot read %s", cfg->tokens_file);
    char line[512];
    int got = 0;
    while (got < C.n && fgets(line, sizeof(line), f)) {
        char name[128], tok[256];
        if (sscanf(line, "%127s %255s", name, tok) == 2)
            C.tokens[got++] = strdup(tok);
    }
    fclose(f);
    if (got < C.n)
        die("%s has %d tokens, %d needed", cfg->tokens_file, got, C.n);
    int64_t deadline = now_ns() + (int64_t)cfg->setup_seconds * 1000000000;

    char json[128];
    snprintf(json, sizeof(json),
             "{\"kind\":\"channel\",\"name\":\"bench-%d-%ld\",\"visibility\":"
             "\"public\"}",
             C.n, (long)time(NULL));
    hconn *h = hconn_new(NULL);
    http_request(h, "POST", "/api/v1/conversations", C.tokens[0], json, on_created, NULL);
    net_run(deadline, created, NULL, NULL);
    if (C.missing)
        return -2;
    if (!C.conv)
        return -1;
    snprintf(C.msg_path, sizeof(C.msg_path), "/api/v1/conversations/%s/messages", C.conv);

    C.joins_left = C.n - 1;
    C.next_join = 1;
    for (int i = 0; i < 16; i++)
        join_next(i == 0 ? h : hconn_new(NULL));
    if (!net_run(deadline, joined, NULL, NULL) || C.joins_failed)
        return -1;

    C.rx = calloc((size_t)C.n, sizeof(*C.rx));
    for (int i = 0; i < C.n; i++) {
        C.rx[i].idx = i;
        C.rx[i].c = conn_new(&rx_ops, &C.rx[i]);
    }
    net_run(deadline, rx_all, NULL, NULL);
    if (C.nready != C.n)
        return -1;
    for (int s = 0; s < 2; s++) {
        C.snd[s].idx = s;
        for (int i = 0; i < 4; i++)
            C.snd[s].h[C.snd[s].n++] = hconn_new(&C.snd[s]);
    }
    net_run(deadline, senders_open, NULL, NULL);
    return 0;
}

static long cc_inflight(void)
{
    return C.inflight;
}
static long cc_failed(void)
{
    return C.failed;
}
static int cc_alive(void)
{
    return C.nready;
}

const driver drv_carecomm = {"carecomm", cc_setup, cc_send, cc_inflight, cc_failed, cc_alive};
