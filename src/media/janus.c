/* The Janus client: one WebSocket (subprotocol janus-protocol) and one Janus session per Janus
 * instance, on carecommd's loop.
 *
 * Design note.
 * - States: DISCONNECTED (waiting to retry) -> CONNECTING (WebSocket opening) -> CREATING
 *   ("create" sent) -> UP (session id known, keepalive every keepalive_ms) -> back to
 *   DISCONNECTED when anything ends the session; STOPPED is final.
 * - The session ends when the WebSocket drops (Janus exited or restarted: closing a WebSocket
 *   also destroys its sessions in Janus), when Janus says "timeout" or "no such session" (458),
 *   or when a keepalive or the create goes unanswered for request_timeout_ms (a hung Janus).
 *   Then: every pending request completes with CC_ERR_IO, every live handle gets JANUS_EV_LOST,
 *   the owner gets on_down(generation), and a reconnection is scheduled after a backoff that
 *   starts at backoff_min_ms and doubles up to backoff_max_ms (reset once a session is up).
 * - Each session that comes up gets the next generation number (1, 2, ...) given to on_up.
 *   Handles remember theirs, and a request on a handle of another generation is refused with
 *   CC_ERR_EXPIRED before anything is sent: Janus reuses nothing of a dead session, and neither
 *   may we (Nextcloud's signalling server once retried subscribers against a recreated room).
 * - Transactions: random ids, one map id -> transaction and one list in deadline order (every
 *   request has the same timeout, so appending keeps it sorted; an "ack" moves a request to the
 *   tail with a fresh deadline while its "event" is awaited). One timer is armed for the head.
 * - Plugin errors come as janus:"success" (or an "event") whose plugindata.data has error_code:
 *   they complete the request with an error and that code, never as a success.
 * - Events without a transaction are routed to their handle by "sender" (the handle id). */
#include "media/janus.h"

#include <inttypes.h>
#include <string.h>

#define JANUS_SUBPROTOCOL "janus-protocol"

typedef enum {
    JANUS_DISCONNECTED = 0,
    JANUS_CONNECTING,
    JANUS_CREATING,
    JANUS_UP,
    JANUS_STOPPED,
} janus_state;

typedef enum { HANDLE_ATTACHING = 0, HANDLE_ALIVE, HANDLE_DEAD } janus_handle_state;

struct janus_handle {
    janus_handle *prev, *next; /* j->handles while not detached by the owner */
    int refs;
    janus *j;
    uint64_t id, generation;
    janus_handle_state state;
    bool detached;     /* janus_detach was called: no callback any more */
    bool lost_pending; /* JANUS_EV_LOST still to deliver (janus__lose) */
    struct janus_txn *attach_txn;
    janus_handle_cbs cbs;
    void *ud;
};

typedef struct janus_txn janus_txn;
typedef void (*janus_internal_fn)(janus *j, janus_txn *t, int err, const janus_result *res);
struct janus_txn {
    janus_txn *prev, *next; /* j->txns, in deadline order */
    char id[25];
    bool ack_final; /* keepalive, trickle: the ack is the answer */
    int64_t deadline;
    janus_done_fn done; /* the caller's, or NULL for internal requests */
    void *ud;
    janus_internal_fn internal; /* ours (create, attach, keepalive, detach) */
    janus_handle *h;            /* attach: the handle being attached, NULL once detached */
};

struct janus {
    uv_loop_t *loop;
    net_server *srv;
    char *url, *api_secret;
    int timeout_ms, keepalive_ms, backoff_min_ms, backoff_max_ms, backoff_ms;
    janus_cbs cbs;
    void *ud;
    janus_state state;
    net_ws_client *ws;
    uint64_t session_id, generation;
    cc_map *txn_map;
    janus_txn *txn_head, *txn_tail;
    cc_map *handle_map; /* decimal id -> alive handle */
    janus_handle *handles;
    uv_timer_t txn_timer, keepalive_timer, retry_timer;
    bool timers_init;
};

static void janus__connect(janus *j);
static void janus__lose(janus *j, const char *why);

/* ---- transactions -------------------------------------------------------------------------- */

static void janus__txn_unlink(janus *j, janus_txn *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        j->txn_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        j->txn_tail = t->prev;
    t->prev = t->next = NULL;
}

static void janus__txn_append(janus *j, janus_txn *t)
{
    t->prev = j->txn_tail;
    t->next = NULL;
    if (j->txn_tail)
        j->txn_tail->next = t;
    else
        j->txn_head = t;
    j->txn_tail = t;
}

static void janus__txn_timer_cb(uv_timer_t *timer);

static void janus__arm_timer(janus *j)
{
    if (!j->timers_init || j->state == JANUS_STOPPED)
        return;
    if (!j->txn_head) {
        uv_timer_stop(&j->txn_timer);
        return;
    }
    int64_t wait = j->txn_head->deadline - cc_monotonic_ms();
    uv_timer_start(&j->txn_timer, janus__txn_timer_cb, wait > 0 ? (uint64_t)wait : 0, 0);
}

/* Removes t and calls its callback once; t is freed afterwards. */
static void janus__complete(janus *j, janus_txn *t, int err, const janus_result *res)
{
    cc_map_remove(j->txn_map, t->id);
    janus__txn_unlink(j, t);
    if (t->internal)
        t->internal(j, t, err, res);
    else if (t->done)
        t->done(t->ud, err, res);
    cc_free_ptr(t);
}

/* Fails every pending request with err; callbacks may add new ones, which are failed too only if
 * they were added before (requests are refused while not up, so none is). */
static void janus__fail_all(janus *j, int err, const char *why)
{
    janus_result res = {.code = 0, .reason = why};
    while (j->txn_head)
        janus__complete(j, j->txn_head, err, &res);
    janus__arm_timer(j);
}

static void janus__txn_timer_cb(uv_timer_t *timer)
{
    janus *j = timer->data;
    janus_result res = {.code = 0, .reason = "no answer from Janus"};
    int64_t now = cc_monotonic_ms();
    while (j->txn_head && j->txn_head->deadline <= now && j->state != JANUS_STOPPED)
        janus__complete(j, j->txn_head, CC_ERR_BUSY, &res);
    janus__arm_timer(j);
}

/* Sends req (stolen) as a new transaction. session: add our session_id; handle_id: add it when
 * non-zero. Returns the transaction (owned by j) or NULL with *rc set. */
static janus_txn *janus__send(janus *j, json_t *req, bool session, uint64_t handle_id,
                              bool ack_final, int *rc)
{
    cc_buf text = {0};
    janus_txn *t = NULL;
    unsigned char rnd[12];
    *rc = CC_ERR_NOMEM;
    if (!req || !j->ws)
        goto fail;
    if (!(t = cc_calloc(1, sizeof(*t))))
        goto fail;
    cc_random_bytes(rnd, sizeof(rnd));
    cc_hex_encode(rnd, sizeof(rnd), t->id);
    t->ack_final = ack_final;
    if (json_object_set_new(req, "transaction", json_string(t->id)) ||
        (j->api_secret && json_object_set_new(req, "apisecret", json_string(j->api_secret))) ||
        (session &&
         json_object_set_new(req, "session_id", json_integer((json_int_t)j->session_id))) ||
        (handle_id && json_object_set_new(req, "handle_id", json_integer((json_int_t)handle_id))))
        goto fail;
    if ((*rc = cc_json_write(&text, req)) != CC_OK ||
        (*rc = cc_map_put(j->txn_map, t->id, t, NULL)) != CC_OK)
        goto fail;
    if ((*rc = net_ws_client_send(j->ws, text.data, text.len)) != CC_OK) {
        cc_map_remove(j->txn_map, t->id);
        goto fail;
    }
    t->deadline = cc_monotonic_ms() + j->timeout_ms;
    janus__txn_append(j, t);
    if (j->txn_head == t)
        janus__arm_timer(j);
    cc_buf_free(&text);
    json_decref(req);
    return t;
fail:
    cc_buf_free(&text);
    cc_free_ptr(t);
    json_decref(req);
    return NULL;
}

static int janus__err_of_code(int code)
{
    switch (code) {
    case 426: /* VideoRoom: no such room */
    case 428: /* VideoRoom: no such feed */
    case 458: /* no such session */
    case 459: /* no such handle */
        return CC_ERR_NOT_FOUND;
    case 427: /* VideoRoom: room exists */
    case 425: /* VideoRoom: already joined */
        return CC_ERR_EXISTS;
    case 403: /* unauthorized (api_secret) */
    case 405: /* plugin not allowed */
    case 433: /* VideoRoom: unauthorized (secret, pin, admin_key, allowed list) */
        return CC_ERR_DENIED;
    default:
        return CC_ERR_INVALID;
    }
}

/* A reply that finishes a request: "success", "event", "error" (or an ack_final "ack"). */
static void janus__answer(janus *j, janus_txn *t, const char *kind, json_t *m)
{
    janus_result res = {.code = 0, .reason = "", .msg = m, .jsep = json_object_get(m, "jsep")};
    int err = CC_OK;
    if (strcmp(kind, "error") == 0) {
        json_t *e = json_object_get(m, "error");
        res.code = (int)json_integer_value(json_object_get(e, "code"));
        res.reason = json_string_value(json_object_get(e, "reason"));
        err = janus__err_of_code(res.code);
    } else {
        json_t *pd = json_object_get(m, "plugindata");
        res.data = pd ? json_object_get(pd, "data") : json_object_get(m, "data");
        json_t *ec = json_object_get(res.data, "error_code");
        if (ec) {
            res.code = (int)json_integer_value(ec);
            res.reason = json_string_value(json_object_get(res.data, "error"));
            err = janus__err_of_code(res.code);
        }
    }
    if (!res.reason)
        res.reason = "";
    janus__complete(j, t, err, &res);
    janus__arm_timer(j);
    if (res.code == 458 && strcmp(kind, "error") == 0 && j->state == JANUS_UP)
        janus__lose(j, "Janus no longer knows the session");
}

/* ---- handles ------------------------------------------------------------------------------- */

static void janus__handle_key(uint64_t id, char key[24])
{
    snprintf(key, 24, "%" PRIu64, id);
}

janus_handle *janus_handle_ref(janus_handle *h)
{
    h->refs++;
    return h;
}

void janus_handle_unref(janus_handle *h)
{
    if (h && --h->refs == 0)
        cc_free_ptr(h);
}

/* Takes h out of the id map (it no longer receives events). */
static void janus__handle_unmap(janus *j, janus_handle *h)
{
    char key[24];
    if (h->state != HANDLE_ALIVE)
        return;
    janus__handle_key(h->id, key);
    if (cc_map_get(j->handle_map, key) == h)
        cc_map_remove(j->handle_map, key);
}

static void janus__noop_done(janus *j, janus_txn *t, int err, const janus_result *res)
{
    (void)j;
    (void)t;
    (void)err;
    (void)res;
}

static void janus__send_detach(janus *j, uint64_t id)
{
    int rc;
    janus_txn *t = janus__send(j, json_pack("{s:s}", "janus", "detach"), true, id, false, &rc);
    if (t)
        t->internal = janus__noop_done;
}

static void janus__attached(janus *j, janus_txn *t, int err, const janus_result *res)
{
    janus_handle *h = t->h;
    uint64_t id = err == CC_OK ? (uint64_t)json_integer_value(json_object_get(res->data, "id")) : 0;
    if (err == CC_OK && id == 0)
        err = CC_ERR_INVALID; /* a success without a handle id: nothing to use */
    if (!h) { /* detached by its owner meanwhile: do not leave it in Janus */
        if (err == CC_OK && j->state == JANUS_UP)
            janus__send_detach(j, id);
        return;
    }
    h->attach_txn = NULL;
    if (err == CC_OK && j->state == JANUS_UP) {
        char key[24];
        janus__handle_key(id, key);
        if (cc_map_put(j->handle_map, key, h, NULL) != CC_OK) {
            janus__send_detach(j, id);
            err = CC_ERR_NOMEM;
        } else {
            h->id = id;
            h->generation = j->generation;
            h->state = HANDLE_ALIVE;
        }
    } else if (err == CC_OK) {
        err = CC_ERR_IO;
    }
    if (err != CC_OK)
        h->state = HANDLE_DEAD;
    if (j->state != JANUS_STOPPED && h->cbs.on_attached)
        h->cbs.on_attached(h->ud, h, err);
}

int janus_attach(janus *j, const char *plugin, const janus_handle_cbs *cbs, void *ud,
                 janus_handle **out)
{
    int rc;
    *out = NULL;
    if (j->state != JANUS_UP)
        return CC_ERR_BUSY;
    janus_handle *h = cc_calloc(1, sizeof(*h));
    if (!h)
        return CC_ERR_NOMEM;
    janus_txn *t = janus__send(j, json_pack("{s:s,s:s}", "janus", "attach", "plugin", plugin), true,
                               0, false, &rc);
    if (!t) {
        cc_free_ptr(h);
        return rc;
    }
    t->internal = janus__attached;
    t->h = h;
    h->refs = 1;
    h->j = j;
    h->cbs = *cbs;
    h->ud = ud;
    h->attach_txn = t;
    h->next = j->handles;
    if (h->next)
        h->next->prev = h;
    j->handles = h;
    *out = h;
    return CC_OK;
}

void janus_detach(janus_handle *h)
{
    if (!h || h->detached)
        return;
    janus *j = h->j;
    h->detached = true;
    if (h->attach_txn)
        h->attach_txn->h = NULL;
    if (h->state == HANDLE_ALIVE && j->state == JANUS_UP && h->generation == j->generation)
        janus__send_detach(j, h->id);
    janus__handle_unmap(j, h);
    h->state = HANDLE_DEAD;
    if (h->prev)
        h->prev->next = h->next;
    else
        j->handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    h->prev = h->next = NULL;
    janus_handle_unref(h);
}

bool janus_handle_alive(const janus_handle *h)
{
    return h && !h->detached && h->state == HANDLE_ALIVE && h->j->state == JANUS_UP &&
           h->generation == h->j->generation;
}

uint64_t janus_handle_generation(const janus_handle *h)
{
    return h->generation;
}

uint64_t janus_handle_id(const janus_handle *h)
{
    return h->id;
}

static int janus__handle_request(janus_handle *h, json_t *req, bool ack_final, janus_done_fn done,
                                 void *ud)
{
    int rc;
    if (!janus_handle_alive(h)) {
        json_decref(req);
        return CC_ERR_EXPIRED;
    }
    janus_txn *t = janus__send(h->j, req, true, h->id, ack_final, &rc);
    if (!t)
        return rc;
    t->done = done;
    t->ud = ud;
    return CC_OK;
}

int janus_message(janus_handle *h, json_t *body, json_t *jsep, janus_done_fn done, void *ud)
{
    json_t *req = json_pack("{s:s,s:o}", "janus", "message", "body", body);
    if (req && jsep && json_object_set_new(req, "jsep", jsep) != 0) {
        json_decref(req);
        return CC_ERR_NOMEM;
    }
    if (!req)
        json_decref(jsep);
    return janus__handle_request(h, req, false, done, ud);
}

int janus_trickle(janus_handle *h, json_t *candidate, janus_done_fn done, void *ud)
{
    if (!candidate)
        candidate = json_pack("{s:b}", "completed", 1);
    return janus__handle_request(
        h, json_pack("{s:s,s:o}", "janus", "trickle", "candidate", candidate), true, done, ud);
}

int janus_hangup(janus_handle *h, janus_done_fn done, void *ud)
{
    return janus__handle_request(h, json_pack("{s:s}", "janus", "hangup"), false, done, ud);
}

/* ---- incoming messages --------------------------------------------------------------------- */

static void janus__handle_event(janus *j, const char *kind, json_t *m)
{
    static const struct {
        const char *name;
        janus_event_kind kind;
    } kinds[] = {
        {"event", JANUS_EV_PLUGIN},      {"webrtcup", JANUS_EV_WEBRTCUP},
        {"media", JANUS_EV_MEDIA},       {"slowlink", JANUS_EV_SLOWLINK},
        {"hangup", JANUS_EV_HANGUP},     {"trickle", JANUS_EV_TRICKLE},
        {"detached", JANUS_EV_DETACHED},
    };
    janus_event_kind ek = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i].name) == 0)
            ek = kinds[i].kind;
    json_t *sender = json_object_get(m, "sender");
    if (!ek || !json_is_integer(sender))
        return; /* nothing we know, or not about a handle */
    char key[24];
    janus__handle_key((uint64_t)json_integer_value(sender), key);
    janus_handle *h = cc_map_get(j->handle_map, key);
    if (!h)
        return; /* a handle detached meanwhile */
    json_t *pd = json_object_get(m, "plugindata");
    janus_result ev = {.code = 0,
                       .reason = "",
                       .msg = m,
                       .jsep = json_object_get(m, "jsep"),
                       .data = pd ? json_object_get(pd, "data") : NULL};
    if (ek == JANUS_EV_DETACHED) {
        janus__handle_unmap(j, h);
        h->state = HANDLE_DEAD;
    }
    janus_handle_ref(h); /* the owner may detach it inside the callback */
    if (h->cbs.on_event && !h->detached)
        h->cbs.on_event(h->ud, h, ek, &ev);
    janus_handle_unref(h);
}

static void janus__on_message(void *ud, const char *data, size_t n)
{
    janus *j = ud;
    json_error_t jerr;
    json_t *m = json_loadb(data, n, 0, &jerr);
    const char *kind = json_string_value(json_object_get(m, "janus"));
    if (!m || !kind) {
        cc_logf(CC_LOG_WARN, "janus: unreadable message", "{s:s}", "reason",
                m ? "no janus field" : jerr.text);
        json_decref(m);
        return;
    }
    const char *tid = json_string_value(json_object_get(m, "transaction"));
    janus_txn *t = tid ? cc_map_get(j->txn_map, tid) : NULL;
    if (t && strcmp(kind, "ack") == 0) {
        if (t->ack_final) {
            janus__answer(j, t, kind, m);
        } else { /* accepted; its "event" comes later: give it a fresh deadline */
            janus__txn_unlink(j, t);
            t->deadline = cc_monotonic_ms() + j->timeout_ms;
            janus__txn_append(j, t);
            janus__arm_timer(j);
        }
    } else if (t && (strcmp(kind, "success") == 0 || strcmp(kind, "error") == 0 ||
                     strcmp(kind, "event") == 0)) {
        janus__answer(j, t, kind, m);
    } else if (strcmp(kind, "timeout") == 0) {
        json_t *sid = json_object_get(m, "session_id");
        if (j->state == JANUS_UP && (uint64_t)json_integer_value(sid) == j->session_id)
            janus__lose(j, "Janus timed the session out");
    } else if (strcmp(kind, "error") == 0 && !t) {
        const char *r = json_string_value(json_object_get(json_object_get(m, "error"), "reason"));
        cc_logf(CC_LOG_WARN, "janus: error without a request", "{s:s}", "reason", r ? r : "");
    } else {
        janus__handle_event(j, kind, m);
    }
    json_decref(m);
}

/* ---- the session --------------------------------------------------------------------------- */

static void janus__keepalive_done(janus *j, janus_txn *t, int err, const janus_result *res)
{
    (void)t;
    if (err != CC_OK && j->state == JANUS_UP)
        janus__lose(j, res && res->reason && *res->reason ? res->reason : "keepalive failed");
}

static void janus__keepalive_cb(uv_timer_t *timer)
{
    janus *j = timer->data;
    int rc;
    if (j->state != JANUS_UP)
        return;
    janus_txn *t = janus__send(j, json_pack("{s:s}", "janus", "keepalive"), true, 0, true, &rc);
    if (t)
        t->internal = janus__keepalive_done;
    else
        janus__lose(j, "cannot send a keepalive");
}

static void janus__created(janus *j, janus_txn *t, int err, const janus_result *res)
{
    (void)t;
    if (j->state != JANUS_CREATING)
        return; /* lost meanwhile */
    json_int_t id = json_integer_value(json_object_get(res->data, "id"));
    if (err != CC_OK || id <= 0) {
        cc_logf(CC_LOG_WARN, "janus: cannot create a session", "{s:s,s:i}", "reason",
                res->reason && *res->reason ? res->reason : "no session id", "code", res->code);
        janus__lose(j, "session refused");
        return;
    }
    j->session_id = (uint64_t)id;
    j->generation++;
    j->state = JANUS_UP;
    j->backoff_ms = j->backoff_min_ms;
    uv_timer_start(&j->keepalive_timer, janus__keepalive_cb, (uint64_t)j->keepalive_ms,
                   (uint64_t)j->keepalive_ms);
    cc_logf(CC_LOG_INFO, "janus: session up", "{s:s,s:I}", "url", j->url, "generation",
            (json_int_t)j->generation);
    if (j->cbs.on_up)
        j->cbs.on_up(j->ud, j->generation);
}

static void janus__on_open(void *ud)
{
    janus *j = ud;
    int rc;
    if (j->state != JANUS_CONNECTING)
        return;
    j->state = JANUS_CREATING;
    janus_txn *t = janus__send(j, json_pack("{s:s}", "janus", "create"), false, 0, false, &rc);
    if (t)
        t->internal = janus__created;
    else
        janus__lose(j, "cannot send create");
}

static void janus__on_close(void *ud, bool was_open, const char *why)
{
    janus *j = ud;
    (void)was_open;
    j->ws = NULL; /* freed by net */
    janus__lose(j, why);
}

static void janus__retry_cb(uv_timer_t *timer)
{
    janus__connect(timer->data);
}

static void janus__schedule_retry(janus *j)
{
    if (j->state == JANUS_STOPPED || uv_is_active((uv_handle_t *)&j->retry_timer))
        return;
    uv_timer_start(&j->retry_timer, janus__retry_cb, (uint64_t)j->backoff_ms, 0);
    j->backoff_ms = j->backoff_ms * 2 > j->backoff_max_ms ? j->backoff_max_ms : j->backoff_ms * 2;
}

/* Ends the session (if any) and the WebSocket, tells everyone, and schedules a reconnection. */
static void janus__lose(janus *j, const char *why)
{
    if (j->state == JANUS_STOPPED || j->state == JANUS_DISCONNECTED)
        return;
    bool was_up = j->state == JANUS_UP;
    uint64_t gen = j->generation;
    j->state = JANUS_DISCONNECTED;
    uv_timer_stop(&j->keepalive_timer);
    net_ws_client *ws = j->ws;
    j->ws = NULL;
    net_ws_client_close(ws);
    if (was_up)
        cc_logf(CC_LOG_WARN, "janus: session lost", "{s:s,s:s,s:I}", "url", j->url, "reason",
                why ? why : "", "generation", (json_int_t)gen);
    janus__fail_all(j, CC_ERR_IO, "connection to Janus lost");
    /* Every handle is dead now; tell their owners one at a time (a callback may detach any). */
    for (janus_handle *h = j->handles; h; h = h->next) {
        if (h->state == HANDLE_ALIVE) {
            janus__handle_unmap(j, h);
            h->lost_pending = true;
        }
        h->state = HANDLE_DEAD;
    }
    for (;;) {
        janus_handle *h = j->handles;
        while (h && !h->lost_pending)
            h = h->next;
        if (!h || j->state == JANUS_STOPPED)
            break;
        h->lost_pending = false;
        janus_result ev = {.reason = why ? why : ""};
        if (h->cbs.on_event)
            h->cbs.on_event(h->ud, h, JANUS_EV_LOST, &ev);
    }
    if (was_up && j->state != JANUS_STOPPED && j->cbs.on_down)
        j->cbs.on_down(j->ud, gen, why ? why : "");
    if (j->state == JANUS_DISCONNECTED)
        janus__schedule_retry(j);
}

static void janus__connect(janus *j)
{
    static const net_ws_client_cbs cbs = {janus__on_open, janus__on_message, janus__on_close};
    if (j->state != JANUS_DISCONNECTED)
        return;
    j->state = JANUS_CONNECTING;
    int rc = net_ws_client_open(j->srv, j->url, JANUS_SUBPROTOCOL, &cbs, j, &j->ws);
    if (rc != CC_OK) {
        j->state = JANUS_DISCONNECTED;
        janus__schedule_retry(j);
    }
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int janus_create(uv_loop_t *loop, net_server *srv, const janus_opts *o, const janus_cbs *cbs,
                 void *ud, janus **out)
{
    *out = NULL;
    if (!o->url)
        return CC_ERR_INVALID;
    janus *j = cc_calloc(1, sizeof(*j));
    if (!j)
        return CC_ERR_NOMEM;
    j->loop = loop;
    j->srv = srv;
    j->cbs = *cbs;
    j->ud = ud;
    j->timeout_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms : 10000;
    j->keepalive_ms = o->keepalive_ms > 0 ? o->keepalive_ms : 25000;
    j->backoff_min_ms = o->backoff_min_ms > 0 ? o->backoff_min_ms : 500;
    j->backoff_max_ms = o->backoff_max_ms > 0 ? o->backoff_max_ms : 10000;
    if (j->backoff_max_ms < j->backoff_min_ms)
        j->backoff_max_ms = j->backoff_min_ms;
    j->backoff_ms = j->backoff_min_ms;
    j->url = cc_strdup(o->url);
    j->api_secret = o->api_secret ? cc_strdup(o->api_secret) : NULL;
    j->txn_map = cc_map_new();
    j->handle_map = cc_map_new();
    if (!j->url || (o->api_secret && !j->api_secret) || !j->txn_map || !j->handle_map) {
        janus_free(j);
        return CC_ERR_NOMEM;
    }
    uv_timer_init(loop, &j->txn_timer);
    uv_timer_init(loop, &j->keepalive_timer);
    uv_timer_init(loop, &j->retry_timer);
    j->txn_timer.data = j->keepalive_timer.data = j->retry_timer.data = j;
    j->timers_init = true;
    j->state = JANUS_DISCONNECTED;
    janus__connect(j);
    *out = j;
    return CC_OK;
}

void janus_stop(janus *j)
{
    if (!j || j->state == JANUS_STOPPED)
        return;
    j->state = JANUS_STOPPED;
    net_ws_client_close(j->ws);
    j->ws = NULL;
    janus_result res = {.reason = "shutting down"};
    while (j->txn_head)
        janus__complete(j, j->txn_head, CC_ERR_BUSY, &res);
    for (janus_handle *h = j->handles; h; h = h->next) {
        janus__handle_unmap(j, h);
        h->state = HANDLE_DEAD;
    }
    if (j->timers_init) {
        uv_close((uv_handle_t *)&j->txn_timer, NULL);
        uv_close((uv_handle_t *)&j->keepalive_timer, NULL);
        uv_close((uv_handle_t *)&j->retry_timer, NULL);
    }
}

void janus_free(janus *j)
{
    if (!j)
        return;
    while (j->handles) /* handles the owner never detached */
        janus_detach(j->handles);
    cc_map_free(j->txn_map, NULL);
    cc_map_free(j->handle_map, NULL);
    cc_free(&j->url);
    cc_free(&j->api_secret);
    cc_free_ptr(j);
}

bool janus_is_up(const janus *j)
{
    return j && j->state == JANUS_UP;
}

uint64_t janus_generation(const janus *j)
{
    return j->generation;
}
