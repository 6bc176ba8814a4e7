/* POST /api/v1/auth/login, and the brute-force protection around it.
 *
 * The flow never blocks the loop: (1) throttle check in memory, (2) the store worker reads the
 * account, (3) libuv's thread pool runs Argon2id and the TOTP check, (4) the store worker records
 * the outcome (session or failure count, and the audit record) in one transaction, (5) reply.
 * Throttling: per address and per username, a growing delay after a few failures; an address is
 * blocked after many; an account is locked after consecutive failures (persisted, audited). */
#include "account/account_internal.h"

#include <sodium.h>
#include <string.h>

static void login__wipe(char *s)
{
    sodium_memzero(s, strlen(s));
}

/* ---- throttling ------------------------------------------------------------------------------ */

static acct_throttle *acct__throttle_get(cc_map *m, const char *key, bool create)
{
    acct_throttle *t = cc_map_get(m, key);
    if (!t && create && cc_map_count(m) < 200000) {
        t = cc_calloc(1, sizeof(*t));
        if (t && cc_map_put(m, key, t, NULL) != CC_OK)
            cc_free(&t);
    }
    return t;
}

int64_t acct_throttle_check(account *a, const char *ip, const char *username, int64_t now)
{
    int64_t wait = 0;
    int64_t window = cc_config_int(a->cfg, "login_lock_minutes") * 60000;
    int64_t delay_after = cc_config_int(a->cfg, "login_delay_after");
    acct_throttle *t[2] = {acct__throttle_get(a->throttle_ip, ip, false),
                           acct__throttle_get(a->throttle_user, username, false)};
    for (int i = 0; i < 2; i++) {
        if (!t[i])
            continue;
        int64_t until =
            t[i]->blocked_until > t[i]->next_allowed ? t[i]->blocked_until : t[i]->next_allowed;
        if (until > now && until - now > wait)
            wait = until - now;
        /* Attempts still being hashed count as failures to come: without this, guesses sent in
         * parallel all pass the check before the first failure is recorded. For an address this
         * only starts once it has failed, so that staff behind one NAT logging in at the same
         * moment are not slowed down. */
        int failures = now - t[i]->window_start > window ? 0 : t[i]->failures;
        bool counts = i == 1 || failures > 0;
        if (counts && t[i]->pending > 0 && failures + t[i]->pending >= delay_after && wait < 1000)
            wait = 1000;
    }
    return wait ? (wait + 999) / 1000 : 0;
}

void acct_throttle_reserve(account *a, const char *ip, const char *username)
{
    acct_throttle *t = acct__throttle_get(a->throttle_ip, ip, true);
    if (t)
        t->pending++;
    t = acct__throttle_get(a->throttle_user, username, true);
    if (t)
        t->pending++;
}

void acct_throttle_release(account *a, const char *ip, const char *username)
{
    /* Looked up again rather than kept: the entry may have been created or replaced since. */
    acct_throttle *t = acct__throttle_get(a->throttle_ip, ip, false);
    if (t && t->pending > 0)
        t->pending--;
    t = acct__throttle_get(a->throttle_user, username, false);
    if (t && t->pending > 0)
        t->pending--;
}

static void acct__throttle_bump(account *a, acct_throttle *t, int64_t now, int64_t block_after)
{
    int64_t window = cc_config_int(a->cfg, "login_lock_minutes") * 60000;
    int64_t delay_after = cc_config_int(a->cfg, "login_delay_after");
    if (now - t->window_start > window) {
        t->failures = 0;
        t->window_start = now;
    }
    t->failures++;
    if (t->failures >= delay_after) {
        int shift = t->failures - (int)delay_after;
        int64_t delay = shift >= 6 ? 60000 : (int64_t)1000 << shift; /* 1 s doubling, max 60 s */
        t->next_allowed = now + delay;
    }
    if (block_after > 0 && t->failures >= block_after)
        t->blocked_until = now + window;
}

void acct_throttle_failure(account *a, const char *ip, const char *username, int64_t now)
{
    acct_throttle *t = acct__throttle_get(a->throttle_ip, ip, true);
    if (t)
        acct__throttle_bump(a, t, now, cc_config_int(a->cfg, "login_block_address_after"));
    t = acct__throttle_get(a->throttle_user, username, true);
    if (t)
        acct__throttle_bump(a, t, now, 0); /* accounts are locked in the store, not here */
}

static bool acct__throttle_stale(void *ud, const char *key, void *value)
{
    const int64_t *now = ud;
    acct_throttle *t = value;
    (void)key;
    if (*now - t->window_start > 24 * 3600000LL && t->blocked_until < *now && t->pending == 0) {
        cc_free(&t);
        return true;
    }
    return false;
}

void acct_throttle_sweep(account *a, int64_t now)
{
    cc_map_sweep(a->throttle_ip, acct__throttle_stale, &now);
    cc_map_sweep(a->throttle_user, acct__throttle_stale, &now);
}

/* ---- the login flow ------------------------------------------------------------------------- */

typedef enum {
    LOGIN_OK = 0,
    LOGIN_BAD_PASSWORD,
    LOGIN_UNKNOWN_USER,
    LOGIN_TOTP_REQUIRED,
    LOGIN_BAD_TOTP,
    LOGIN_DISABLED,
    LOGIN_LOCKED,
    LOGIN_ERROR,
} login_outcome;

typedef struct {
    account *a;
    net_req *r;
    uv_work_t work;
    char username[AUTH_USERNAME_MAX + 1];
    char *password;
    char totp[33];
    bool found;
    auth_user user;
    auth_user_secrets secrets;
    bool reserved; /* holds a throttle slot (released in login__free) */
    login_outcome outcome;
    int64_t totp_step;                               /* step used, to refuse replays */
    char recovery_hash[CC_HASH_HEX_LEN + 1];         /* a recovery code was used instead */
    char recovery_hash_unkeyed[CC_HASH_HEX_LEN + 1]; /* how codes made before the key are kept */
    char *resealed; /* the TOTP secret sealed for its user, to replace a first-format one */
    int64_t lock_until;
    char token[64];
    auth_session session;
} login_ctx;

static void login__free(login_ctx *c)
{
    if (c->password) {
        login__wipe(c->password);
        cc_free(&c->password);
    }
    auth_user_secrets_clear(&c->secrets);
    cc_free(&c->resealed);
    if (c->reserved)
        acct_throttle_release(c->a, net_req_source_ip(c->r), c->username);
    net_req_unref(c->r);
    cc_free_ptr(c);
}

static int login__read_job(store *st, void *ctx)
{
    login_ctx *c = ctx;
    int rc = auth_user_get(st, NULL, c->username, &c->user);
    if (rc == CC_ERR_NOT_FOUND)
        return CC_OK;
    if (rc == CC_OK && (rc = auth_user_get_secrets(st, c->user.id, &c->secrets)) == CC_OK)
        c->found = true;
    return rc;
}

static bool login__looks_like_recovery(const char *code)
{
    size_t n = strlen(code);
    return n >= 10 && n <= 12 && strspn(code, "0123456789") != n;
}

/* Thread pool: Argon2id, then the second factor. Touches only c. */
static void login__verify_work(uv_work_t *w)
{
    login_ctx *c = w->data;
    if (!c->found) {
        auth_password_verify(c->a->dummy_hash, c->password);
        c->outcome = LOGIN_UNKNOWN_USER;
        return;
    }
    if (auth_password_verify(c->secrets.password_hash, c->password) != CC_OK) {
        c->outcome = LOGIN_BAD_PASSWORD;
        return;
    }
    if (c->user.disabled) {
        c->outcome = LOGIN_DISABLED;
        return;
    }
    if (!c->user.totp_enabled || !c->secrets.totp_sealed) {
        c->outcome = LOGIN_OK;
        return;
    }
    if (!c->totp[0]) {
        c->outcome = LOGIN_TOTP_REQUIRED;
        return;
    }
    if (login__looks_like_recovery(c->totp)) {
        if (auth_recovery_code_hash(c->a->keys, c->totp, c->recovery_hash) != CC_OK ||
            auth_recovery_code_hash(NULL, c->totp, c->recovery_hash_unkeyed) != CC_OK)
            c->recovery_hash[0] = '\0';
        c->outcome = c->recovery_hash[0] ? LOGIN_OK : LOGIN_BAD_TOTP;
        return;
    }
    char *secret = NULL;
    bool first_format = false;
    if (auth_secret_open(c->a->keys, c->user.id, c->secrets.totp_sealed, &secret, &first_format) !=
        CC_OK) {
        c->outcome = LOGIN_ERROR;
        return;
    }
    /* Sealed before secrets were bound to their user: bind it now (failing that, it stays). */
    if (first_format && auth_secret_seal(c->a->keys, c->user.id, secret, &c->resealed) != CC_OK)
        c->resealed = NULL;
    int64_t now_s = cc_now_ms() / 1000;
    c->outcome =
        auth_totp_verify(secret, c->totp, now_s, c->secrets.totp_last_step, &c->totp_step) == CC_OK
            ? LOGIN_OK
            : LOGIN_BAD_TOTP;
    login__wipe(secret);
    cc_free(&secret);
}

/* The keyed hash first; codes made before recovery codes were keyed are stored unkeyed. */
static int login__use_recovery_code(store *st, login_ctx *c)
{
    int rc = auth_user_use_recovery_code(st, c->user.id, c->recovery_hash);
    if (rc == CC_ERR_NOT_FOUND)
        rc = auth_user_use_recovery_code(st, c->user.id, c->recovery_hash_unkeyed);
    return rc;
}

static json_t *login__details(login_ctx *c, const char *reason)
{
    /* The attempted name only when it is a valid username: a password typed in the wrong field
     * must not land in the audit trail. */
    if (!c->found && !auth_username_valid(c->username))
        return json_pack("{s:s}", "reason", reason);
    return json_pack("{s:s,s:s}", "reason", reason, "username", c->username);
}

/* Store worker: record the outcome, in one transaction with its audit record. */
static int login__record_job(store *st, void *ctx)
{
    login_ctx *c = ctx;
    account *a = c->a;
    acct_principal who;
    memset(&who, 0, sizeof(who));
    if (c->found) {
        memcpy(who.user_id, c->user.id, sizeof(who.user_id));
        snprintf(who.username, sizeof(who.username), "%s", c->user.username);
    }
    const char *ip = net_req_source_ip(c->r);
    char object[8 + CC_ID_LEN];
    snprintf(object, sizeof(object), "user:%s", c->user.id);
    int rc;
    switch (c->outcome) {
    case LOGIN_OK:
        if (c->recovery_hash[0] && login__use_recovery_code(st, c) != CC_OK) {
            c->outcome = LOGIN_BAD_TOTP;
            return login__record_job(st, ctx);
        }
        if (c->resealed && (rc = auth_user_reseal_totp(st, c->user.id, c->secrets.totp_sealed,
                                                       c->resealed)) != CC_OK)
            return rc;
        if (c->totp_step) {
            rc = auth_user_set_totp_step(st, c->user.id, c->totp_step);
            if (rc == CC_ERR_DENIED) {
                /* A concurrent login spent this code first: this one is a replay. */
                c->outcome = LOGIN_BAD_TOTP;
                return login__record_job(st, ctx);
            }
            if (rc != CC_OK)
                return rc;
        }
        if ((rc = auth_user_set_login_failures(st, c->user.id, 0, 0)) != CC_OK ||
            (rc = auth_session_insert(st, &c->session)) != CC_OK)
            return rc;
        return acct_audit(st, a, &who, "auth.login", object, ip, "success",
                          json_pack("{s:s}", "method",
                                    c->recovery_hash[0] ? "recovery_code"
                                    : c->totp_step      ? "password+totp"
                                                        : "password"));
    case LOGIN_TOTP_REQUIRED:
        return acct_audit(st, a, &who, "auth.login", object, ip, "pending",
                          json_pack("{s:s}", "reason", "totp_required"));
    case LOGIN_BAD_PASSWORD:
    case LOGIN_BAD_TOTP: {
        /* Incremented in the store, not computed from the count read before hashing: guesses
         * checked concurrently would each write the same count and never reach the lock. */
        int64_t failed = 0;
        int64_t lock_after = cc_config_int(a->cfg, "login_lock_after");
        if ((rc = auth_user_count_login_failure(st, c->user.id, &failed)) != CC_OK)
            return rc;
        if (failed >= lock_after) {
            c->lock_until = cc_now_ms() + cc_config_int(a->cfg, "login_lock_minutes") * 60000;
            if ((rc = auth_user_set_login_failures(st, c->user.id, failed, c->lock_until)) != CC_OK)
                return rc;
        }
        const char *reason = c->outcome == LOGIN_BAD_PASSWORD ? "bad_password" : "bad_totp";
        if ((rc = acct_audit(st, a, &who, "auth.login", object, ip, "failure",
                             login__details(c, reason))) != CC_OK)
            return rc;
        if (c->lock_until)
            return acct_audit(st, a, &who, "auth.lockout", object, ip, "success",
                              json_pack("{s:I}", "failed_logins", (json_int_t)failed));
        return CC_OK;
    }
    case LOGIN_UNKNOWN_USER:
        return acct_audit(st, a, NULL, "auth.login", NULL, ip, "failure",
                          login__details(c, "unknown_user"));
    case LOGIN_DISABLED:
        return acct_audit(st, a, &who, "auth.login", object, ip, "failure",
                          json_pack("{s:s}", "reason", "disabled"));
    case LOGIN_LOCKED:
        return acct_audit(st, a, &who, "auth.login", object, ip, "failure",
                          json_pack("{s:s}", "reason", "locked"));
    default:
        return acct_audit(st, a, &who, "auth.login", object, ip, "failure",
                          json_pack("{s:s}", "reason", "internal_error"));
    }
}

static void login__reply_throttled(net_req *r, int64_t seconds, const char *code,
                                   const char *message)
{
    char ra[24];
    snprintf(ra, sizeof(ra), "%lld", (long long)seconds);
    net_reply_header(r, "Retry-After", ra);
    net_reply_json(r, 429,
                   json_pack("{s:{s:s,s:s,s:I}}", "error", "code", code, "message", message,
                             "retry_after", (json_int_t)seconds));
}

static void login__record_done(void *ctx, int rc)
{
    login_ctx *c = ctx;
    net_req *r = c->r;
    account *a = c->a;
    if (rc != CC_OK) {
        net_reply_error(r, 503, "store_unavailable", "try again in a moment");
        login__free(c);
        return;
    }
    int64_t now = cc_now_ms();
    switch (c->outcome) {
    case LOGIN_OK: {
        acct_session_add(a, &c->session);
        char cookie[200];
        snprintf(cookie, sizeof(cookie),
                 "%s=%s; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=%lld", ACCT_COOKIE,
                 c->token, (long long)(a->max_ms / 1000));
        net_reply_header(r, "Set-Cookie", cookie);
        const char *msg;
        const char *restricted = acct_restriction(&c->user, &msg);
        net_reply_json(r, 200,
                       json_pack("{s:s,s:s,s:I,s:o,s:s?}", "token", c->token, "session_id",
                                 c->session.id, "expires_at", (json_int_t)c->session.expires_at,
                                 "user", auth_user_json(&c->user), "restriction", restricted));
        break;
    }
    case LOGIN_TOTP_REQUIRED:
        net_reply_error(r, 401, "totp_required", "enter the code from your authenticator app");
        break;
    case LOGIN_DISABLED:
        net_reply_error(r, 403, "account_disabled",
                        "this account is disabled: contact your administrator");
        break;
    case LOGIN_LOCKED:
        break; /* replied before */
    case LOGIN_ERROR:
        net_reply_error(r, 500, "internal", "login failed on the server");
        break;
    default:
        acct_throttle_failure(a, net_req_source_ip(r), c->username, now);
        if (c->lock_until) {
            login__reply_throttled(r, (c->lock_until - now + 999) / 1000, "account_locked",
                                   "too many failed attempts: this account is locked for a while");
        } else {
            net_reply_error(r, 401, "bad_credentials",
                            c->outcome == LOGIN_BAD_TOTP ? "wrong or expired code"
                                                         : "wrong username or password");
        }
        break;
    }
    login__free(c);
}

static void login__verify_done(uv_work_t *w, int status)
{
    login_ctx *c = w->data;
    account *a = c->a;
    if (status != 0)
        c->outcome = LOGIN_ERROR;
    if (c->outcome == LOGIN_OK) {
        char *token = cc_random_token(32);
        if (!token) {
            c->outcome = LOGIN_ERROR;
        } else {
            int64_t now = cc_now_ms();
            snprintf(c->token, sizeof(c->token), "%s", token);
            cc_free(&token);
            auth_session *s = &c->session;
            cc_id_new(s->id);
            auth_token_hash(c->token, s->token_hash);
            memcpy(s->user_id, c->user.id, sizeof(s->user_id));
            s->created_at = s->last_seen_at = now;
            s->expires_at = now + a->max_ms;
            snprintf(s->source_ip, sizeof(s->source_ip), "%s", net_req_source_ip(c->r));
            snprintf(s->user_agent, sizeof(s->user_agent), "%s", net_req_user_agent(c->r));
        }
    }
    if (store_worker_submit(a->worker, login__record_job, login__record_done, c) != CC_OK)
        login__record_done(c, CC_ERR_BUSY);
}

static void login__read_done(void *ctx, int rc)
{
    login_ctx *c = ctx;
    account *a = c->a;
    if (rc != CC_OK) {
        net_reply_error(c->r, 503, "store_unavailable", "try again in a moment");
        login__free(c);
        return;
    }
    int64_t now = cc_now_ms();
    if (c->found && c->user.locked_until > now) {
        /* Locked: do not even check the password (it would let guessing go on). */
        c->outcome = LOGIN_LOCKED;
        login__reply_throttled(c->r, (c->user.locked_until - now + 999) / 1000, "account_locked",
                               "too many failed attempts: this account is locked for a while");
        if (store_worker_submit(a->worker, login__record_job, login__record_done, c) != CC_OK)
            login__free(c);
        return;
    }
    c->work.data = c;
    if (uv_queue_work(a->loop, &c->work, login__verify_work, login__verify_done) != 0) {
        net_reply_error(c->r, 503, "busy", "try again in a moment");
        login__free(c);
    }
}

static void login__handle(net_req *r)
{
    account *a = net_req_ud(r);
    json_t *b = net_req_body(r);
    const char *username = json_string_value(json_object_get(b, "username"));
    const char *password = json_string_value(json_object_get(b, "password"));
    const char *totp = json_string_value(json_object_get(b, "totp"));
    int64_t now = cc_now_ms();
    char lower[AUTH_USERNAME_MAX + 1];
    size_t i;
    for (i = 0; i < AUTH_USERNAME_MAX && username[i]; i++)
        lower[i] =
            (char)((username[i] >= 'A' && username[i] <= 'Z') ? username[i] + 32 : username[i]);
    lower[i] = '\0';

    int64_t wait = acct_throttle_check(a, net_req_source_ip(r), lower, now);
    if (wait > 0) {
        acct_audit_async(a, NULL, "auth.throttled", NULL, net_req_source_ip(r), "denied",
                         json_pack("{s:I}", "retry_after", (json_int_t)wait));
        login__reply_throttled(r, wait, "too_many_attempts",
                               "too many failed attempts: wait before trying again");
        return;
    }
    login_ctx *c = cc_calloc(1, sizeof(*c));
    if (!c || !(c->password = cc_strdup(password))) {
        cc_free(&c);
        net_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    c->a = a;
    c->r = net_req_ref(r);
    memcpy(c->username, lower, sizeof(lower));
    snprintf(c->totp, sizeof(c->totp), "%s", totp ? totp : "");
    acct_throttle_reserve(a, net_req_source_ip(r), c->username);
    c->reserved = true;
    if (store_worker_submit(a->worker, login__read_job, login__read_done, c) != CC_OK) {
        net_reply_error(r, 503, "busy", "try again in a moment");
        login__free(c);
    }
}

static const cc_json_field login__body[] = {
    {"username", CC_JSON_STRING, true, 1, AUTH_USERNAME_MAX},
    {"password", CC_JSON_STRING, true, 1, 1024},
    {"totp", CC_JSON_STRING, false, 0, 32},
};

const net_route acct_login_routes[] = {
    {"POST", "/api/v1/auth/login", 0, NET_ROUTE_PUBLIC, login__body, 3, login__handle},
};
const size_t acct_login_routes_count = sizeof(acct_login_routes) / sizeof(acct_login_routes[0]);
