/* Presence and typing. A person is online when their first WebSocket opens and offline when the
 * last one closes; away after msg_away_after_seconds without using messaging (and back online at
 * the next use); or what they chose (busy, in consultation, on call, away), with a short text.
 * Every change is stored and published as presence.updated, scope "presence:<user>": the person
 * and everyone who shares a conversation with them (who sees them in lists and conversations;
 * anyone may also ask GET /api/v1/presence). Connections are counted per node: in a cluster a
 * person connected to two nodes goes offline when either node loses its last connection (the
 * cross-node bus comes with the high-availability issue). Typing indicators are ephemeral: sent
 * to the members' sockets on this node, never written to the log. */
#include "msg/msg_internal.h"

#include <string.h>

static const char *const pres__statuses[] = {"online", "away", "busy", "in_consultation",
                                             "on_call"};

static msg_presence *pres__get(msg *m, const char *user_id, bool create)
{
    msg_presence *p = cc_map_get(m->presence, user_id);
    if (p || !create)
        return p;
    p = cc_calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    snprintf(p->status, sizeof(p->status), "online");
    snprintf(p->shown, sizeof(p->shown), "offline");
    if (cc_map_put(m->presence, user_id, p, NULL) != CC_OK)
        cc_free(&p);
    return p;
}

json_t *msg__presence_json(msg *m, const char *user_id)
{
    msg_presence *p = pres__get(m, user_id, false);
    if (!p)
        return json_pack("{s:s,s:n,s:I}", "status", "offline", "text", "updated_at", (json_int_t)0);
    return json_pack("{s:s,s:s?,s:I}", "status", p->shown, "text", p->text[0] ? p->text : NULL,
                     "updated_at", (json_int_t)p->updated_at);
}

/* ---- storing and publishing ----------------------------------------------------------------- */

typedef struct {
    char user[CC_ID_LEN + 1];
    char status[16], shown[16];
    char text[MSG_PRESENCE_TEXT_MAX + 1];
    int64_t at;
} pres_change;

static int pres__store(store *st, const pres_change *ch)
{
    store_val p[] = {SV_TEXT(ch->user), SV_TEXT(ch->status), SV_TEXT(ch->text[0] ? ch->text : NULL),
                     SV_TEXT(ch->shown), SV_INT(ch->at)};
    int rc = store_exec(st,
                        "INSERT INTO msg_presence(user_id, status, text, shown, updated_at) VALUES "
                        "(?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET status = "
                        "excluded.status, text = excluded.text, shown = excluded.shown, "
                        "updated_at = excluded.updated_at",
                        p, 5, NULL);
    json_t *ev = json_pack("{s:s,s:s,s:s?,s:I}", "user_id", ch->user, "status", ch->shown, "text",
                           ch->text[0] ? ch->text : NULL, "updated_at", (json_int_t)ch->at);
    char scope[16 + CC_ID_LEN];
    snprintf(scope, sizeof(scope), "presence:%s", ch->user);
    if (rc == CC_OK)
        rc = ev ? msg__event(st, "presence.updated", scope, ev) : CC_ERR_NOMEM;
    if (ev)
        json_decref(ev);
    return rc;
}

static int pres__job(store *st, void *ctx)
{
    return pres__store(st, ctx);
}

static void pres__job_done(void *ctx, int rc)
{
    if (rc != CC_OK)
        cc_logf(CC_LOG_WARN, "presence not stored", "{s:s}", "error", cc_strerror(rc));
    cc_free_ptr(ctx);
}

static void pres__fill(pres_change *ch, const char *user_id, const msg_presence *p)
{
    snprintf(ch->user, sizeof(ch->user), "%s", user_id);
    snprintf(ch->status, sizeof(ch->status), "%s", p->status);
    snprintf(ch->shown, sizeof(ch->shown), "%s", p->shown);
    snprintf(ch->text, sizeof(ch->text), "%s", p->text);
    ch->at = p->updated_at;
}

/* Shows p as shown, in memory now and everywhere once the store has it. */
static void pres__publish(msg *m, const char *user_id, msg_presence *p, const char *shown)
{
    snprintf(p->shown, sizeof(p->shown), "%s", shown);
    p->updated_at = msg__now();
    pres_change *ch = cc_calloc(1, sizeof(*ch));
    if (!ch)
        return;
    pres__fill(ch, user_id, p);
    /* The worker refuses work while the server stops: the next start shows them offline. */
    if (!m->worker || store_worker_submit(m->worker, pres__job, pres__job_done, ch) != CC_OK)
        cc_free(&ch);
}

/* ---- connections and activity --------------------------------------------------------------- */

void msg__ws_open(void *ud, const void *principal)
{
    msg *m = ud;
    const char *user = account_principal_user_id(principal);
    msg_presence *p = pres__get(m, user, true);
    if (!p)
        return;
    p->last_active = cc_monotonic_ms();
    if (++p->conns == 1) {
        p->auto_away = false;
        if (strcmp(p->shown, p->status) != 0)
            pres__publish(m, user, p, p->status);
    }
}

void msg__ws_close(void *ud, const void *principal)
{
    msg *m = ud;
    const char *user = account_principal_user_id(principal);
    msg_presence *p = pres__get(m, user, false);
    if (!p || p->conns == 0)
        return;
    if (--p->conns == 0 && strcmp(p->shown, "offline") != 0)
        pres__publish(m, user, p, "offline");
}

void msg__activity(msg *m, const char *user_id)
{
    msg_presence *p = pres__get(m, user_id, false);
    if (!p)
        return;
    p->last_active = cc_monotonic_ms();
    if (p->auto_away && p->conns > 0) {
        p->auto_away = false;
        pres__publish(m, user_id, p, p->status);
    }
}

static bool pres__sweep_one(void *ud, const char *user_id, void *value)
{
    msg *m = ud;
    msg_presence *p = value;
    if (p->conns > 0 && !p->auto_away && strcmp(p->status, "online") == 0 &&
        strcmp(p->shown, "online") == 0 && cc_monotonic_ms() - p->last_active >= m->away_ms) {
        p->auto_away = true;
        pres__publish(m, user_id, p, "away");
    }
    return false;
}

static bool pres__sweep_typing(void *ud, const char *key, void *value)
{
    (void)key;
    int64_t *last = value;
    if (cc_monotonic_ms() - *last < 10 * MSG_TYPING_INTERVAL_MS)
        return false;
    (void)ud;
    cc_free_ptr(last);
    return true;
}

void msg__presence_sweep(msg *m)
{
    cc_map_sweep(m->presence, pres__sweep_one, m);
    cc_map_sweep(m->typing, pres__sweep_typing, m);
}

/* ---- loading, restart, other nodes ---------------------------------------------------------- */

static int pres__load_row(void *ud, const store_row *r)
{
    msg *m = ud;
    msg_presence *p = pres__get(m, store_row_text(r, 0), true);
    if (!p)
        return CC_ERR_NOMEM;
    snprintf(p->status, sizeof(p->status), "%s", store_row_text(r, 1));
    snprintf(p->text, sizeof(p->text), "%s", store_row_text(r, 2) ? store_row_text(r, 2) : "");
    snprintf(p->shown, sizeof(p->shown), "offline"); /* nobody is connected yet */
    p->updated_at = store_row_int(r, 3);
    return 0;
}

int msg__presence_load(msg *m, store *st)
{
    return store_query(st, "SELECT user_id, status, text, updated_at FROM msg_presence", NULL, 0,
                       pres__load_row, m);
}

typedef struct {
    pres_change *v;
    size_t n, cap;
} change_list;

static int pres__reset_row(void *ud, const store_row *r)
{
    change_list *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        pres_change *v = cc_realloc(l->v, cap * sizeof(*v));
        if (!v)
            return CC_ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    pres_change *ch = &l->v[l->n++];
    memset(ch, 0, sizeof(*ch));
    snprintf(ch->user, sizeof(ch->user), "%s", store_row_text(r, 0));
    snprintf(ch->status, sizeof(ch->status), "%s", store_row_text(r, 1));
    snprintf(ch->text, sizeof(ch->text), "%s", store_row_text(r, 2) ? store_row_text(r, 2) : "");
    snprintf(ch->shown, sizeof(ch->shown), "offline");
    ch->at = msg__now();
    return 0;
}

/* Rows are read first and written after: no statement runs inside another's row callback. */
static int pres__reset_job(store *st, void *ctx)
{
    (void)ctx;
    change_list l = {NULL, 0, 0};
    int rc =
        store_query(st, "SELECT user_id, status, text FROM msg_presence WHERE shown <> 'offline'",
                    NULL, 0, pres__reset_row, &l);
    for (size_t i = 0; rc == CC_OK && i < l.n; i++)
        rc = pres__store(st, &l.v[i]);
    cc_free(&l.v);
    return rc;
}

void msg__presence_reset(msg *m)
{
    if (store_worker_submit(m->worker, pres__reset_job, pres__job_done, NULL) != CC_OK)
        cc_log(CC_LOG_WARN, "presence of the previous run not reset", NULL);
}

void msg__presence_on_event(msg *m, const json_t *data)
{
    const char *user = json_string_value(json_object_get(data, "user_id"));
    const char *status = json_string_value(json_object_get(data, "status"));
    const char *text = json_string_value(json_object_get(data, "text"));
    msg_presence *p = user && status ? pres__get(m, user, true) : NULL;
    if (!p)
        return;
    /* Another node's change (or our own coming back): what everyone is shown. */
    snprintf(p->shown, sizeof(p->shown), "%s", status);
    snprintf(p->text, sizeof(p->text), "%s", text ? text : "");
    p->updated_at = json_integer_value(json_object_get(data, "updated_at"));
}

/* ---- REST ----------------------------------------------------------------------------------- */

static int pres__put_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    pres_change ch;
    memset(&ch, 0, sizeof(ch));
    snprintf(ch.user, sizeof(ch.user), "%s", c->who.user_id);
    snprintf(ch.status, sizeof(ch.status), "%s",
             json_string_value(json_object_get(c->in, "status")));
    snprintf(ch.shown, sizeof(ch.shown), "%.15s", c->param);
    const char *text = json_string_value(json_object_get(c->in, "text"));
    snprintf(ch.text, sizeof(ch.text), "%s", text ? text : "");
    ch.at = c->offset;
    c->out =
        json_pack("{s:s,s:s,s:s,s:s?,s:I}", "user_id", ch.user, "status", ch.shown, "chosen",
                  ch.status, "text", ch.text[0] ? ch.text : NULL, "updated_at", (json_int_t)ch.at);
    return c->out ? pres__store(st, &ch) : CC_ERR_NOMEM;
}

static void pres__put(net_req *r)
{
    json_t *b = net_req_body(r);
    const char *status = json_string_value(json_object_get(b, "status"));
    const char *text = json_string_value(json_object_get(b, "text"));
    bool known = false;
    for (size_t i = 0; i < sizeof(pres__statuses) / sizeof(pres__statuses[0]); i++)
        known = known || strcmp(status, pres__statuses[i]) == 0;
    if (!known) {
        net_reply_error(r, 400, "invalid_status",
                        "status is online, away, busy, in_consultation or on_call");
        return;
    }
    msg_ctx *c = msg__ctx_new(r, MSG_ID_NONE);
    if (!c)
        return;
    msg_presence *p = pres__get(c->m, c->who.user_id, true);
    if (!p) {
        net_reply_error(r, 500, "internal", "out of memory");
        msg__ctx_free(c);
        return;
    }
    snprintf(p->status, sizeof(p->status), "%s", status);
    snprintf(p->text, sizeof(p->text), "%s", text ? text : "");
    p->auto_away = false;
    /* A choice shows while connected; without a WebSocket the person stays offline. */
    snprintf(p->shown, sizeof(p->shown), "%s", p->conns > 0 ? status : "offline");
    p->updated_at = msg__now();
    snprintf(c->param, sizeof(c->param), "%s", p->shown);
    c->offset = p->updated_at;
    msg__submit(c, pres__put_job);
}

static void pres__list(net_req *r)
{
    char users[4096];
    if (!net_req_query(r, "users", users, sizeof(users))) {
        net_reply_error(r, 400, "invalid_request", "users: comma-separated user ids");
        return;
    }
    msg *m = net_req_ud(r);
    json_t *list = json_array();
    size_t n = 0;
    for (char *save = NULL, *id = strtok_r(users, ",", &save); id && list;
         id = strtok_r(NULL, ",", &save)) {
        if (!msg__id_valid(id))
            continue;
        if (++n > 100) {
            json_decref(list);
            net_reply_error(r, 400, "invalid_request", "at most 100 users at once");
            return;
        }
        json_t *o = msg__presence_json(m, id);
        if (o)
            json_object_set_new(o, "user_id", json_string(id));
        json_array_append_new(list, o);
    }
    if (!list) {
        net_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    net_reply_json(r, 200, json_pack("{s:o}", "presence", list));
}

/* ---- typing --------------------------------------------------------------------------------- */

typedef struct {
    msg *m;
    const char *conv, *user;
} typing_match;

static bool pres__typing_match(void *ud, const void *principal)
{
    const typing_match *t = ud;
    const char *user = account_principal_user_id(principal);
    return strcmp(user, t->user) != 0 && msg__role(t->m, t->conv, user) != MSG_ROLE_NONE;
}

const char *msg__typing(void *ud, const void *principal, const json_t *obj, const char **message)
{
    static const cc_json_field fields[] = {
        {"type", CC_JSON_STRING, true, 1, 16},
        {"conversation", CC_JSON_STRING, true, CC_ID_LEN, CC_ID_LEN},
    };
    msg *m = ud;
    char why[160];
    if (cc_json_validate(obj, fields, 2, why, sizeof(why)) != CC_OK) {
        *message = "typing takes {\"type\":\"typing\",\"conversation\":<id>}";
        return "bad_message";
    }
    const char *conv = json_string_value(json_object_get(obj, "conversation"));
    const char *user = account_principal_user_id(principal);
    if (msg__role(m, conv, user) == MSG_ROLE_NONE) {
        *message = "no such conversation";
        return "conversation_not_found";
    }
    msg__activity(m, user);
    char key[2 * CC_ID_LEN + 2];
    snprintf(key, sizeof(key), "%s/%s", conv, user);
    int64_t now = cc_monotonic_ms(), *last = cc_map_get(m->typing, key);
    if (last && now - *last < MSG_TYPING_INTERVAL_MS)
        return NULL; /* rate limited: the others were told a moment ago */
    if (!last && (last = cc_malloc(sizeof(*last))) && cc_map_put(m->typing, key, last, NULL))
        cc_free(&last);
    if (last)
        *last = now;
    json_t *frame =
        json_pack("{s:s,s:s,s:s}", "type", "typing", "conversation", conv, "user_id", user);
    typing_match t = {m, conv, user};
    if (frame) {
        net_ws_send_matching(m->srv, pres__typing_match, &t, frame);
        json_decref(frame);
    }
    return NULL;
}

static const cc_json_field pres__put_body[] = {
    {"status", CC_JSON_STRING, true, 1, 32},
    {"text", CC_JSON_STRING, false, 0, MSG_PRESENCE_TEXT_MAX},
};

const net_route msg_presence_routes[] = {
    {"GET", "/api/v1/presence", PERM_MESSAGES, 0, NULL, 0, pres__list},
    {"PUT", "/api/v1/presence", PERM_MESSAGES, 0, pres__put_body, 2, pres__put},
};
const size_t msg_presence_routes_count =
    sizeof(msg_presence_routes) / sizeof(msg_presence_routes[0]);
