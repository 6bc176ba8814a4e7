/* The account module's state: caches of users and sessions loaded at start-up and kept current by
 * following the event log (user.updated, session.created, session.revoked), so that every node
 * authenticates from memory and sees changes made by the others or by the CLI. */
#include "account/account_internal.h"

#include <string.h>

const cc_cfg_key account_config_keys[] = {
    {"session_idle_minutes", CC_CFG_INT, "60", 5, 10080, false,
     "A session unused for this long expires (sliding)"},
    {"session_max_hours", CC_CFG_INT, "12", 1, 720, false,
     "A session expires this long after login whatever its use"},
    {"login_delay_after", CC_CFG_INT, "3", 1, 100, false,
     "Failed logins (per address or username) before each next attempt must wait, doubling"},
    {"login_lock_after", CC_CFG_INT, "10", 2, 1000, false,
     "Consecutive failed logins that lock an account"},
    {"login_block_address_after", CC_CFG_INT, "30", 2, 100000, false,
     "Failed logins from one address within the window that block the address"},
    {"login_lock_minutes", CC_CFG_INT, "15", 1, 1440, false,
     "How long an account lock or address block lasts (also the counting window)"},
    {"api_rate_per_minute", CC_CFG_INT, "6000", 0, 60000000, false,
     "Requests per minute one session may make on authenticated routes, sustained (429 above; "
     "6000 is 100 a second); 0: no limit"},
    {"api_rate_burst", CC_CFG_INT, "600", 1, 10000000, false,
     "Requests one session may make at once above the sustained rate"},
    {"totp_issuer", CC_CFG_STRING, "carecomm", 0, 0, false,
     "Issuer name shown in authenticator apps"},
};
const size_t account_config_keys_count =
    sizeof(account_config_keys) / sizeof(account_config_keys[0]);

/* A cached user. Entries are replaced, never changed in place (acct_user_put). */
typedef struct {
    auth_user u; /* first: acct_user hands out &entry->u */
    char *json;  /* owned; acct_user_json_text renders it on first use */
    size_t json_len;
    int64_t json_until; /* Unix ms after which the text's "locked" may be wrong */
} acct_user_entry;

const auth_user *acct_user(account *a, const char *id)
{
    acct_user_entry *e = cc_map_get(a->users, id);
    return e ? &e->u : NULL;
}

const char *acct_user_json_text(account *a, const char *id, size_t *len)
{
    acct_user_entry *e = cc_map_get(a->users, id);
    if (!e)
        return NULL;
    int64_t now = cc_now_ms();
    if (!e->json || now >= e->json_until) {
        cc_buf text = {0};
        cc_jw w;
        cc_jw_init(&w, &text);
        auth_user_write(&w, NULL, &e->u);
        if (cc_jw_finish(&w) != CC_OK) {
            cc_buf_free(&text);
            return NULL;
        }
        cc_free(&e->json);
        e->json = text.data;
        e->json_len = text.len;
        e->json_until = e->u.locked_until > now ? e->u.locked_until : INT64_MAX;
    }
    *len = e->json_len;
    return e->json;
}

static void acct__user_entry_free(void *v)
{
    acct_user_entry *e = v;
    if (e)
        cc_free(&e->json);
    cc_free_ptr(e);
}

const char *account_user_display_name(account *a, const char *user_id)
{
    const auth_user *u = a && user_id ? acct_user(a, user_id) : NULL;
    return u ? u->display_name : NULL;
}

void acct_user_put(account *a, const auth_user *u)
{
    acct_user_entry *copy = cc_calloc(1, sizeof(*copy)), *old = NULL;
    if (!copy)
        return;
    copy->u = *u;
    if (cc_map_put(a->users, u->id, copy, (void **)&old) != CC_OK)
        acct__user_entry_free(copy);
    acct__user_entry_free(old);
}

int acct_session_add(account *a, const auth_session *s)
{
    if (cc_map_get(a->sessions, s->token_hash))
        return CC_OK; /* already known (our own login, then its event) */
    acct_session *c = cc_calloc(1, sizeof(*c));
    if (!c)
        return CC_ERR_NOMEM;
    c->s = *s;
    c->persisted_seen = s->last_seen_at;
    if (cc_map_put(a->sessions, s->token_hash, c, NULL) != CC_OK ||
        cc_map_put(a->sessions_by_id, s->id, c, NULL) != CC_OK) {
        cc_map_remove(a->sessions, s->token_hash);
        cc_free(&c);
        return CC_ERR_NOMEM;
    }
    return CC_OK;
}

void acct_session_drop(account *a, const char *session_id)
{
    acct_session *c = cc_map_remove(a->sessions_by_id, session_id);
    if (!c)
        return;
    cc_map_remove(a->sessions, c->s.token_hash);
    cc_free(&c);
}

/* Past its end, or idle too long. A system account's token is used by a machine, at its own
 * pace: it has no idle expiry, only its end. */
static bool acct__session_over(account *a, const acct_session *c, int64_t now)
{
    if (now >= c->s.expires_at)
        return true;
    if (now < c->s.last_seen_at + a->idle_ms)
        return false;
    const auth_user *u = acct_user(a, c->s.user_id);
    return !(u && auth_role_is_system(u->role));
}

acct_session *acct_session_find(account *a, const char *token_hash, int64_t now)
{
    acct_session *c = cc_map_get(a->sessions, token_hash);
    if (!c || acct__session_over(a, c, now))
        return NULL; /* expired: the sweep drops it */
    return c;
}

const char *acct_restriction(const auth_user *u, const char **message)
{
    if (u->must_change_password) {
        *message = "change your password before going on";
        return "password_change_required";
    }
    if (auth_role_requires_totp(u->role) && !u->totp_enabled) {
        *message = "set up two-factor authentication before going on";
        return "totp_enrolment_required";
    }
    return NULL;
}

typedef struct {
    const char *user_id, *session_id;
} acct_close_match;

static bool acct__match(void *ud, const void *principal)
{
    const acct_close_match *m = ud;
    const acct_principal *p = principal;
    if (m->session_id)
        return strcmp(p->session_id, m->session_id) == 0;
    return strcmp(p->user_id, m->user_id) == 0;
}

void acct_close_sockets(account *a, const char *user_id, const char *session_id, int code,
                        const char *reason)
{
    acct_close_match m = {user_id, session_id};
    net_ws_close_matching(a->srv, acct__match, &m, code, reason);
}

static void acct__on_user(account *a, const json_t *o)
{
    auth_user u;
    if (auth_user_from_json(o, &u) != CC_OK)
        return;
    const auth_user *before = acct_user(a, u.id);
    bool was_restricted = false;
    const char *msg;
    if (before)
        was_restricted = acct_restriction(before, &msg) != NULL;
    bool role_changed = before && before->role != u.role;
    acct_user_put(a, &u);
    if (u.disabled) {
        /* Sessions are revoked in the same transaction; close sockets now regardless. */
        acct_close_sockets(a, u.id, NULL, 4001, "account disabled");
    } else if (role_changed || (!was_restricted && acct_restriction(&u, &msg))) {
        /* What the sockets were allowed to see has changed: they reconnect with new rights. */
        acct_close_sockets(a, u.id, NULL, 4003, "permissions changed");
    }
}

void account_on_events(account *a, const store_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const store_event *ev = &evs[i];
        bool user = strcmp(ev->type, "user.updated") == 0;
        bool created = strcmp(ev->type, "session.created") == 0;
        bool revoked = strcmp(ev->type, "session.revoked") == 0;
        if (!user && !created && !revoked)
            continue;
        json_t *o = json_loads(ev->payload, 0, NULL);
        if (!o)
            continue;
        if (user) {
            acct__on_user(a, o);
        } else if (created) {
            auth_session s;
            if (auth_session_from_json(o, &s) == CC_OK)
                acct_session_add(a, &s);
        } else {
            const char *sid = json_string_value(json_object_get(o, "id"));
            if (sid) {
                acct_close_sockets(a, NULL, sid, 4001, "session revoked");
                acct_session_drop(a, sid);
            }
        }
        json_decref(o);
    }
}

static void acct__load_user(void *ud, const auth_user *u)
{
    acct_user_put(ud, u);
}

static void acct__load_session(void *ud, const auth_session *s)
{
    acct_session_add(ud, s);
}

/* ---- periodic work: persist sliding activity, drop expired sessions --------------------- */

typedef struct {
    size_t n;
    char (*ids)[CC_ID_LEN + 1];
    int64_t *seen;
} acct_touch_job;

static int acct__touch_run(store *st, void *ctx)
{
    acct_touch_job *j = ctx;
    for (size_t i = 0; i < j->n; i++) {
        int rc = auth_session_touch(st, j->ids[i], j->seen[i]);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

static void acct__touch_done(void *ctx, int rc)
{
    acct_touch_job *j = ctx;
    if (rc != CC_OK)
        cc_logf(CC_LOG_WARN, "session activity not persisted", "{s:s}", "error", cc_strerror(rc));
    cc_free(&j->ids);
    cc_free(&j->seen);
    cc_free_ptr(j);
}

typedef struct {
    account *a;
    int64_t now;
    acct_touch_job *job;
    size_t cap;
    bool flush_all;
} acct_sweep_ctx;

static bool acct__sweep_session(void *ud, const char *key, void *value)
{
    acct_sweep_ctx *c = ud;
    acct_session *s = value;
    (void)key;
    if (acct__session_over(c->a, s, c->now)) {
        acct_close_sockets(c->a, NULL, s->s.id, 4001, "session expired");
        cc_map_remove(c->a->sessions_by_id, s->s.id);
        cc_free(&s);
        return true;
    }
    /* Persist activity at most every minute per session: enough for a restart to keep it. */
    bool due = s->s.last_seen_at > s->persisted_seen &&
               (c->flush_all || s->s.last_seen_at - s->persisted_seen >= 60000);
    if (due && c->job) {
        if (c->job->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 32;
            void *ids = cc_realloc(c->job->ids, cap * sizeof(*c->job->ids));
            if (ids)
                c->job->ids = ids;
            void *seen = ids ? cc_realloc(c->job->seen, cap * sizeof(*c->job->seen)) : NULL;
            if (seen)
                c->job->seen = seen;
            if (!ids || !seen)
                return false;
            c->cap = cap;
        }
        memcpy(c->job->ids[c->job->n], s->s.id, CC_ID_LEN + 1);
        c->job->seen[c->job->n] = s->s.last_seen_at;
        c->job->n++;
        s->persisted_seen = s->s.last_seen_at;
    }
    return false;
}

static void acct__sweep(account *a, bool flush_all)
{
    acct_sweep_ctx c = {a, cc_now_ms(), cc_calloc(1, sizeof(acct_touch_job)), 0, flush_all};
    cc_map_sweep(a->sessions, acct__sweep_session, &c);
    acct_throttle_sweep(a, c.now);
    if (c.job && c.job->n && a->worker &&
        store_worker_submit(a->worker, acct__touch_run, acct__touch_done, c.job) == CC_OK)
        return;
    if (c.job)
        acct__touch_done(c.job, CC_OK);
}

static void acct__timer(uv_timer_t *t)
{
    acct__sweep(t->data, false);
}

int account_create(uv_loop_t *loop, const cc_config *cfg, const auth_keys *keys, store *st,
                   net_server *srv, account **out)
{
    int rc = CC_ERR_NOMEM;
    account *a = cc_calloc(1, sizeof(*a));
    *out = NULL;
    if (!a)
        return CC_ERR_NOMEM;
    a->loop = loop;
    a->cfg = cfg;
    a->keys = keys;
    a->srv = srv;
    a->idle_ms = cc_config_int(cfg, "session_idle_minutes") * 60000;
    a->max_ms = cc_config_int(cfg, "session_max_hours") * 3600000;
    a->rate = cc_rate_per_minute(cc_config_int(cfg, "api_rate_per_minute"),
                                 cc_config_int(cfg, "api_rate_burst"));
    if (!(a->users = cc_map_new()) || !(a->sessions = cc_map_new()) ||
        !(a->sessions_by_id = cc_map_new()) || !(a->throttle_ip = cc_map_new_keyed()) ||
        !(a->throttle_user = cc_map_new_keyed()))
        goto fail;
    if ((rc = auth_user_list(st, acct__load_user, a)) != CC_OK ||
        (rc = auth_session_list(st, NULL, cc_now_ms(), acct__load_session, a)) != CC_OK)
        goto fail;
    /* A hash of a random password: unknown usernames cost the same time as known ones. */
    char *random_pw = cc_random_token(24);
    rc = random_pw ? auth_password_hash(random_pw, a->dummy_hash) : CC_ERR_NOMEM;
    cc_free(&random_pw);
    if (rc != CC_OK)
        goto fail;
    if ((rc = net_server_add_routes(srv, acct_login_routes, acct_login_routes_count, a)) != CC_OK ||
        (rc = net_server_add_routes(srv, acct_self_routes, acct_self_routes_count, a)) != CC_OK ||
        (rc = net_server_add_routes(srv, acct_admin_routes, acct_admin_routes_count, a)) != CC_OK)
        goto fail;
    net_server_set_authn(srv, acct_authenticate, a);
    net_server_set_visibility(srv, acct_visible, a);
    net_server_set_events_perm(srv, PERM_EVENTS);
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    a->timer_init = true;
    uv_timer_start(&a->timer, acct__timer, 15000, 15000);
    *out = a;
    return CC_OK;
fail:
    account_free(a);
    return rc;
}

void account_set_worker(account *a, store_worker *w)
{
    a->worker = w;
}

void account_stop(account *a)
{
    if (!a)
        return;
    acct__sweep(a, true);
    if (a->timer_init) {
        uv_timer_stop(&a->timer);
        uv_close((uv_handle_t *)&a->timer, NULL);
        a->timer_init = false;
    }
}

static void acct__free_value(void *v)
{
    cc_free_ptr(v);
}

void account_free(account *a)
{
    if (!a)
        return;
    cc_map_free(a->users, acct__user_entry_free);
    cc_map_free(a->sessions, acct__free_value);
    cc_map_free(a->sessions_by_id, NULL);
    cc_map_free(a->throttle_ip, acct__free_value);
    cc_map_free(a->throttle_user, acct__free_value);
    cc_free_ptr(a);
}
