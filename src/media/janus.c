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
#include "media/janus_internal.h"

#include <string.h>

#define JANUS_SUBPROTOCOL "janus-protocol"

static void janus__connect(janus *j);

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
janus_txn *janus__send(janus *j, json_t *req, bool session, uint64_t handle_id, bool ack_final,
                       int *rc)
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

/* ---- incoming messages --------------------------------------------------------------------- */

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
void janus__lose(janus *j, const char *why)
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
    janus__handles_lost(j, why);
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
