/* One's own account: who am I, logout, my sessions, change my password, enrol 2FA. These routes
 * (but logout-all) stay usable by a restricted session: they are how it stops being restricted. */
#include "account/account_internal.h"

#include <sodium.h>
#include <string.h>

/* Common context of the self routes: the request, its principal, and scratch for each flow. */
typedef struct {
    account *a;
    net_req *r;
    acct_principal who;
    uv_work_t work;
    char *old_pw, *new_pw;
    char new_hash[AUTH_PWHASH_LEN];
    auth_user_secrets secrets;
    char session_id[CC_ID_LEN + 1];
    char *sealed;
    char code[8];
    int64_t step;
    char recovery[AUTH_RECOVERY_CODES][AUTH_RECOVERY_CODE_LEN + 1];
    char hashes[AUTH_RECOVERY_CODES][CC_HASH_HEX_LEN + 1];
    json_t *result;
    int status;
    const char *err_code, *err_msg;
} self_ctx;

static self_ctx *self__new(net_req *r)
{
    self_ctx *c = cc_calloc(1, sizeof(*c));
    if (!c) {
        net_reply_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    c->a = net_req_ud(r);
    c->r = net_req_ref(r);
    c->who = *(const acct_principal *)net_req_principal(r);
    return c;
}

static void self__wipe_free(char **s)
{
    if (*s) {
        sodium_memzero(*s, strlen(*s));
        cc_free(s);
    }
}

static void self__free(self_ctx *c)
{
    self__wipe_free(&c->old_pw);
    self__wipe_free(&c->new_pw);
    cc_free(&c->sealed);
    sodium_memzero(c->recovery, sizeof(c->recovery));
    auth_user_secrets_clear(&c->secrets);
    if (c->result)
        json_decref(c->result);
    net_req_unref(c->r);
    cc_free_ptr(c);
}

static void self__submit(self_ctx *c, store_job_fn job, store_done_fn done)
{
    if (store_worker_submit(c->a->worker, job, done, c) != CC_OK) {
        net_reply_error(c->r, 503, "busy", "try again in a moment");
        self__free(c);
    }
}

/* The generic ending: an error chosen by the job, a result, or a store failure. */
static void self__reply_done(void *ctx, int rc)
{
    self_ctx *c = ctx;
    if (c->err_code)
        net_reply_error(c->r, c->status, c->err_code, c->err_msg);
    else if (rc != CC_OK)
        net_reply_error(c->r, 503, "store_unavailable", "try again in a moment");
    else {
        net_reply_json(c->r, c->status ? c->status : 200, c->result ? c->result : json_object());
        c->result = NULL;
    }
    self__free(c);
}

static void self__fail(self_ctx *c, int status, const char *code, const char *msg)
{
    c->status = status;
    c->err_code = code;
    c->err_msg = msg;
}

/* ---- GET /api/v1/me ------------------------------------------------------------------------ */

static void self__me(net_req *r)
{
    account *a = net_req_ud(r);
    const acct_principal *p = net_req_principal(r);
    const auth_user *u = acct_user(a, p->user_id);
    acct_session *s = cc_map_get(a->sessions_by_id, p->session_id);
    if (!u || !s) {
        net_reply_error(r, 401, "session_expired", "your session has ended: log in again");
        return;
    }
    /* Every page load asks this: written straight to text, without a jansson tree. */
    const char *msg;
    const char *restricted = acct_restriction(u, &msg);
    int64_t idle_end = s->s.last_seen_at + a->idle_ms;
    cc_buf text = {0};
    cc_buf_reserve(&text, 1024); /* a user's answer is about 400 bytes: no growing on the way */
    cc_jw w;
    cc_jw_init(&w, &text);
    cc_jw_obj_begin(&w, NULL);
    size_t ulen;
    const char *utext = acct_user_json_text(a, p->user_id, &ulen);
    if (utext)
        cc_jw_raw(&w, "user", utext, ulen);
    else
        auth_user_write(&w, "user", u);
    cc_jw_obj_begin(&w, "session");
    cc_jw_str(&w, "id", s->s.id);
    cc_jw_int(&w, "expires_at", idle_end < s->s.expires_at ? idle_end : s->s.expires_at);
    cc_jw_int(&w, "created_at", s->s.created_at);
    cc_jw_obj_end(&w);
    cc_jw_arr_begin(&w, "permissions");
    for (int i = 0; i < PERM__COUNT; i++)
        if (auth_role_has(u->role, (auth_perm)i))
            cc_jw_str(&w, NULL, auth_perm_name((auth_perm)i));
    cc_jw_arr_end(&w);
    if (restricted)
        cc_jw_str(&w, "restriction", restricted);
    cc_jw_bool(&w, "totp_required", auth_role_requires_totp(u->role));
    cc_jw_obj_end(&w);
    if (cc_jw_finish(&w) != CC_OK) {
        cc_buf_free(&text);
        net_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    net_reply_json_text(r, 200, &text);
}

/* ---- logout, sessions ---------------------------------------------------------------------- */

static void self__clear_cookie(net_req *r)
{
    net_reply_header(r, "Set-Cookie",
                     ACCT_COOKIE "=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
}

static int self__logout_job(store *st, void *ctx)
{
    self_ctx *c = ctx;
    char object[8 + CC_ID_LEN];
    snprintf(object, sizeof(object), "user:%s", c->who.user_id);
    int rc = auth_session_revoke(st, c->who.user_id, c->session_id);
    if (rc == CC_ERR_NOT_FOUND) {
        self__fail(c, 404, "session_not_found", "no such session of yours");
        return rc;
    }
    if (rc != CC_OK)
        return rc;
    return acct_audit(st, c->a, &c->who, "auth.logout", object, net_req_source_ip(c->r), "success",
                      json_pack("{s:s}", "session", c->session_id));
}

static void self__logout(net_req *r)
{
    self_ctx *c = self__new(r);
    if (!c)
        return;
    memcpy(c->session_id, c->who.session_id, sizeof(c->session_id));
    self__clear_cookie(r);
    self__submit(c, self__logout_job, self__reply_done);
}

static int self__logout_all_job(store *st, void *ctx)
{
    self_ctx *c = ctx;
    int64_t n = 0;
    char object[8 + CC_ID_LEN];
    snprintf(object, sizeof(object), "user:%s", c->who.user_id);
    int rc = auth_session_revoke_all(st, c->who.user_id, NULL, &n);
    if (rc != CC_OK)
        return rc;
    c->result = json_pack("{s:I}", "revoked", (json_int_t)n);
    return acct_audit(st, c->a, &c->who, "auth.logout_all", object, net_req_source_ip(c->r),
                      "success", json_pack("{s:I}", "sessions", (json_int_t)n));
}

static void self__logout_all(net_req *r)
{
    self_ctx *c = self__new(r);
    if (!c)
        return;
    self__clear_cookie(r);
    self__submit(c, self__logout_all_job, self__reply_done);
}

static void self__session_row(void *ud, const auth_session *s)
{
    self_ctx *c = ud;
    json_t *o = auth_session_json(s);
    if (!o)
        return;
    json_object_set_new(o, "current", json_boolean(strcmp(s->id, c->who.session_id) == 0));
    json_array_append_new(json_object_get(c->result, "sessions"), o);
}

static int self__sessions_job(store *st, void *ctx)
{
    self_ctx *c = ctx;
    c->result = json_pack("{s:[]}", "sessions");
    if (!c->result)
        return CC_ERR_NOMEM;
    return auth_session_list(st, c->who.user_id, cc_now_ms(), self__session_row, c);
}

static void self__sessions(net_req *r)
{
    self_ctx *c = self__new(r);
    if (c)
        self__submit(c, self__sessions_job, self__reply_done);
}

static void self__revoke(net_req *r)
{
    const char *id = net_req_param(r, "id");
    if (strlen(id) != CC_ID_LEN) {
        net_reply_error(r, 404, "session_not_found", "no such session of yours");
        return;
    }
    self_ctx *c = self__new(r);
    if (!c)
        return;
    memcpy(c->session_id, id, CC_ID_LEN + 1);
    if (strcmp(id, c->who.session_id) == 0)
        self__clear_cookie(r);
    self__submit(c, self__logout_job, self__reply_done);
}

/* ---- POST /api/v1/auth/password ------------------------------------------------------------ */

static int self__pw_save_job(store *st, void *ctx)
{
    self_ctx *c = ctx;
    char object[8 + CC_ID_LEN];
    snprintf(object, sizeof(object), "user:%s", c->who.user_id);
    int rc = auth_user_set_password(st, c->who.user_id, c->new_hash, false);
    if (rc == CC_OK)
        rc = auth_session_revoke_all(st, c->who.user_id, c->who.session_id, NULL);
    if (rc == CC_OK)
        rc = acct_audit(st, c->a, &c->who, "auth.password_change", object, net_req_source_ip(c->r),
                        "success", NULL);
    return rc;
}

static int self__pw_fail_job(store *st, void *ctx)
{
    self_ctx *c = ctx;
    char object[8 + CC_ID_LEN];
    snprintf(object, sizeof(object), "user:%s", c->who.user_id);
    return acct_audit(st, c->a, &c->who, "auth.password_change", object, net_req_source_ip(c->r),
                      "failure", json_pack("{s:s}", "reason", "wrong_old_password"));
}

static void self__pw_work(uv_work_t *w)
{
    self_ctx *c = w->data;
    if (auth_password_verify(c->secrets.password_hash, c->old_pw) != CC_OK) {
        self__fail(c, 403, "wrong_password", "the current password is wrong");
        return;
    }
    if (auth_password_hash(c->new_pw, c->new_hash) != CC_OK)
        self__fail(c, 500, "internal", "could not hash the password");
}

static void self__pw_work_done(uv_work_t *w, int status)
{
    self_ctx *c = w->data;
    if (status != 0)
        self__fail(c, 500, "internal", "could not check the password");
    if (c->err_code && c->status == 403) {
        acct_throttle_failure(c->a, net_req_source_ip(c->r), c->who.username, cc_now_ms());
        self__submit(c, self__pw_fail_job, self__reply_done);
        return;
    }
    if (c->err_code) {
        self__reply_done(c, CC_OK);
        return;
    }
    self__submit(c, self__pw_save_job, self__reply_done);
}

static int self__secrets_job(store *st, void *ctx)
{
    self_ctx *c = ctx;
    return auth_user_get_secrets(st, c->who.user_id, &c->secrets);
}

static void self__pw_read_done(void *ctx, int rc)
{
    self_ctx *c = ctx;
    if (rc != CC_OK) {
        self__reply_done(c, rc);
        return;
    }
    c->work.data = c;
    if (uv_queue_work(c->a->loop, &c->work, self__pw_work, self__pw_work_done) != 0) {
        self__fail(c, 503, "busy", "try again in a moment");
        self__reply_done(c, CC_OK);
    }
}

static void self__password(net_req *r)
{
    account *a = net_req_ud(r);
    json_t *b = net_req_body(r);
    const char *old_pw = json_string_value(json_object_get(b, "old"));
    const char *new_pw = json_string_value(json_object_get(b, "new"));
    const acct_principal *p = net_req_principal(r);
    const char *why;
    int64_t wait = acct_throttle_check(a, net_req_source_ip(r), p->username, cc_now_ms());
    if (wait > 0) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%lld", (long long)wait);
        net_reply_header(r, "Retry-After", ra);
        net_reply_json(r, 429,
                       json_pack("{s:{s:s,s:s,s:I}}", "error", "code", "too_many_attempts",
                                 "message", "too many failed attempts: wait before trying again",
                                 "retry_after", (json_int_t)wait));
        return;
    }
    if (auth_password_policy(new_pw, p->username, &why) != CC_OK) {
        net_reply_error(r, 400, "weak_password", why);
        return;
    }
    if (strcmp(old_pw, new_pw) == 0) {
        net_reply_error(r, 400, "password_reused", "choose a password different from the old one");
        return;
    }
    self_ctx *c = self__new(r);
    if (!c)
        return;
    c->old_pw = cc_strdup(old_pw);
    c->new_pw = cc_strdup(new_pw);
    if (!c->old_pw || !c->new_pw) {
        self__fail(c, 500, "internal", "out of memory");
        self__reply_done(c, CC_OK);
        return;
    }
    self__submit(c, self__secrets_job, self__pw_read_done);
}

/* ---- 2FA enrolment -------------------------------------------------------------------------- */

static int self__enroll_job(store *st, void *ctx)
{
    self_ctx *c = ctx;
    return auth_user_set_totp_pending(st, c->who.user_id, c->sealed);
}

static void self__totp_enroll(net_req *r)
{
    account *a = net_req_ud(r);
    const acct_principal *p = net_req_principal(r);
    const auth_user *u = acct_user(a, p->user_id);
    if (u && u->totp_enabled) {
        net_reply_error(
            r, 409, "totp_already_enabled",
            "two-factor authentication is already set up; an administrator can reset it");
        return;
    }
    self_ctx *c = self__new(r);
    if (!c)
        return;
    char secret[AUTH_TOTP_SECRET_B32_LEN + 1];
    auth_totp_new_secret(secret);
    char *uri = auth_totp_uri(cc_config_str(a->cfg, "totp_issuer"), c->who.username, secret);
    if (!uri || auth_secret_seal(a->keys, c->who.user_id, secret, &c->sealed) != CC_OK) {
        cc_free(&uri);
        self__fail(c, 500, "internal", "could not create a secret");
        self__reply_done(c, CC_OK);
        return;
    }
    c->result = json_pack("{s:s,s:s}", "secret", secret, "uri", uri);
    sodium_memzero(secret, sizeof(secret));
    cc_free(&uri);
    self__submit(c, self__enroll_job, self__reply_done);
}

static int self__confirm_save_job(store *st, void *ctx)
{
    self_ctx *c = ctx;
    char object[8 + CC_ID_LEN];
    snprintf(object, sizeof(object), "user:%s", c->who.user_id);
    int rc = auth_user_enable_totp(st, c->who.user_id, c->step, c->hashes, AUTH_RECOVERY_CODES);
    if (rc == CC_ERR_NOT_FOUND) {
        self__fail(c, 409, "totp_not_started", "start the set-up again");
        return rc;
    }
    if (rc == CC_OK)
        rc = acct_audit(st, c->a, &c->who, "auth.totp_enable", object, net_req_source_ip(c->r),
                        "success", NULL);
    return rc;
}

static void self__confirm_read_done(void *ctx, int rc)
{
    self_ctx *c = ctx;
    char *secret = NULL;
    if (rc != CC_OK) {
        self__reply_done(c, rc);
        return;
    }
    if (!c->secrets.totp_pending_sealed) {
        self__fail(c, 409, "totp_not_started", "start the set-up first");
        self__reply_done(c, CC_OK);
        return;
    }
    if (auth_secret_open(c->a->keys, c->who.user_id, c->secrets.totp_pending_sealed, &secret,
                         NULL) != CC_OK) {
        self__fail(c, 500, "internal", "could not read the secret");
        self__reply_done(c, CC_OK);
        return;
    }
    rc = auth_totp_verify(secret, c->code, cc_now_ms() / 1000, 0, &c->step);
    sodium_memzero(secret, strlen(secret));
    cc_free(&secret);
    if (rc != CC_OK) {
        self__fail(c, 400, "bad_code", "wrong or expired code: try the current one");
        self__reply_done(c, CC_OK);
        return;
    }
    json_t *codes = json_array();
    for (int i = 0; i < AUTH_RECOVERY_CODES; i++) {
        auth_recovery_code_new(c->recovery[i]);
        auth_recovery_code_hash(c->a->keys, c->recovery[i], c->hashes[i]);
        json_array_append_new(codes, json_string(c->recovery[i]));
    }
    c->result = json_pack("{s:o}", "recovery_codes", codes);
    self__submit(c, self__confirm_save_job, self__reply_done);
}

static void self__totp_confirm(net_req *r)
{
    const char *code = json_string_value(json_object_get(net_req_body(r), "code"));
    self_ctx *c = self__new(r);
    if (!c)
        return;
    snprintf(c->code, sizeof(c->code), "%s", code);
    self__submit(c, self__secrets_job, self__confirm_read_done);
}

static const cc_json_field self__pw_body[] = {
    {"old", CC_JSON_STRING, true, 1, 1024},
    {"new", CC_JSON_STRING, true, 1, 1024},
};
static const cc_json_field self__confirm_body[] = {
    {"code", CC_JSON_STRING, true, 6, 6},
};

#define R NET_ROUTE_RESTRICTED_OK
const net_route acct_self_routes[] = {
    {"GET", "/api/v1/me", PERM_SELF, R, NULL, 0, self__me},
    {"POST", "/api/v1/auth/logout", PERM_SELF, R, NULL, 0, self__logout},
    {"POST", "/api/v1/auth/logout-all", PERM_SELF, 0, NULL, 0, self__logout_all},
    {"GET", "/api/v1/auth/sessions", PERM_SELF, R, NULL, 0, self__sessions},
    {"DELETE", "/api/v1/auth/sessions/:id", PERM_SELF, R, NULL, 0, self__revoke},
    {"POST", "/api/v1/auth/password", PERM_SELF, R, self__pw_body, 2, self__password},
    {"POST", "/api/v1/auth/totp/enroll", PERM_SELF, R, NULL, 0, self__totp_enroll},
    {"POST", "/api/v1/auth/totp/confirm", PERM_SELF, R, self__confirm_body, 1, self__totp_confirm},
};
#undef R
const size_t acct_self_routes_count = sizeof(acct_self_routes) / sizeof(acct_self_routes[0]);
