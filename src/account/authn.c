/* Authentication and authorisation of every request, in one place: the session from the cookie or
 * bearer token (memory only), the account's state, the restricted mode of accounts that must still
 * change their password or enrol 2FA, and the route's permission. Every refusal for lack of
 * permission is audited. Also the rule of which events a principal may see. */
#include "account/account_internal.h"

#include <string.h>

void acct_principal_free(void *p)
{
    cc_free_ptr(p);
}

typedef struct {
    account *a;
    acct_principal who;
    bool has_who;
    char *action, *object, *ip, *outcome;
    json_t *details;
} acct_audit_job;

static int acct__audit_run(store *st, void *ctx)
{
    acct_audit_job *j = ctx;
    return acct_audit(st, j->a, j->has_who ? &j->who : NULL, j->action, j->object, j->ip,
                      j->outcome, j->details ? json_incref(j->details) : NULL);
}

static void acct__audit_done(void *ctx, int rc)
{
    acct_audit_job *j = ctx;
    if (rc != CC_OK)
        cc_logf(CC_LOG_ERROR, "audit record not written", "{s:s,s:s}", "action", j->action, "error",
                cc_strerror(rc));
    cc_free(&j->action);
    cc_free(&j->object);
    cc_free(&j->ip);
    cc_free(&j->outcome);
    if (j->details)
        json_decref(j->details);
    cc_free_ptr(j);
}

int acct_audit(store *st, account *a, const acct_principal *who, const char *action,
               const char *object, const char *ip, const char *outcome, json_t *details)
{
    auth_audit_entry e = {
        .actor_id = who ? who->user_id : NULL,
        .actor_name = who ? who->username : "system",
        .action = action,
        .object = object,
        .source_ip = ip,
        .outcome = outcome,
        .details = details,
    };
    int rc = auth_audit_append(st, a->keys, &e, NULL);
    if (details)
        json_decref(details);
    return rc;
}

void acct_audit_async(account *a, const acct_principal *who, const char *action, const char *object,
                      const char *ip, const char *outcome, json_t *details)
{
    acct_audit_job *j = cc_calloc(1, sizeof(*j));
    if (!j) {
        if (details)
            json_decref(details);
        return;
    }
    j->a = a;
    if (who) {
        j->who = *who;
        j->has_who = true;
    }
    j->action = cc_strdup(action);
    j->object = object ? cc_strdup(object) : NULL;
    j->ip = ip ? cc_strdup(ip) : NULL;
    j->outcome = cc_strdup(outcome);
    j->details = details;
    if (!j->action || !j->outcome || !a->worker ||
        store_worker_submit(a->worker, acct__audit_run, acct__audit_done, j) != CC_OK)
        acct__audit_done(j, CC_ERR_BUSY);
}

void account_audit_denied(account *a, const void *principal, const char *object, const char *reason)
{
    if (a && principal)
        acct_audit_async(a, principal, "access.denied", object, NULL, "denied",
                         json_pack("{s:s}", "reason", reason));
}

void account_audit_action(account *a, const void *principal, const char *action, const char *object,
                          json_t *details)
{
    if (a && principal)
        acct_audit_async(a, principal, action, object, NULL, "success", details);
    else
        json_decref(details);
}

static void acct__deny(account *a, net_req *r, const acct_principal *p, int status,
                       const char *code, const char *message)
{
    char object[160];
    snprintf(object, sizeof(object), "route:%s %s", net_req_method(r), net_req_route_path(r));
    acct_audit_async(a, p, "access.denied", object, net_req_source_ip(r), "denied",
                     json_pack("{s:s}", "reason", code));
    net_reply_error(r, status, code, message);
}

/* The audit gets one record a minute per flooding session, not one per refused request. */
#define ACCT_RATE_AUDIT_EVERY_US 60000000LL

static void acct__refuse_rate(account *a, net_req *r, acct_session *s, const acct_principal *p,
                              int64_t wait_us, int64_t now_us)
{
    int64_t seconds = (wait_us + 999999) / 1000000;
    char ra[24];
    if (s->rate_audited_us == 0 || now_us - s->rate_audited_us >= ACCT_RATE_AUDIT_EVERY_US) {
        char object[8 + CC_ID_LEN];
        snprintf(object, sizeof(object), "user:%s", p->user_id);
        s->rate_audited_us = now_us;
        acct_audit_async(
            a, p, "api.throttled", object, net_req_source_ip(r), "denied",
            json_pack("{s:s,s:s}", "session", p->session_id, "route", net_req_route_path(r)));
    }
    snprintf(ra, sizeof(ra), "%lld", (long long)seconds);
    net_reply_header(r, "Retry-After", ra);
    net_reply_json(r, 429,
                   json_pack("{s:{s:s,s:s,s:I}}", "error", "code", "too_many_requests", "message",
                             "too many requests from this session: wait, then try again",
                             "retry_after", (json_int_t)seconds));
}

bool acct_authenticate(void *ud, net_req *r, int perm, unsigned flags)
{
    account *a = ud;
    const char *token = net_req_bearer(r);
    if (!token)
        token = net_req_cookie(r, ACCT_COOKIE);
    if (!token || strlen(token) > 128) {
        net_reply_error(r, 401, "unauthenticated", "log in first");
        return false;
    }
    char th[CC_HASH_HEX_LEN + 1];
    auth_token_hash(token, th);
    int64_t now = cc_now_ms();
    acct_session *s = acct_session_find(a, th, now);
    if (!s) {
        net_reply_error(r, 401, "session_expired", "your session has ended: log in again");
        return false;
    }
    const auth_user *u = acct_user(a, s->s.user_id);
    if (!u || u->disabled) {
        net_reply_error(r, 401, "session_expired", "your session has ended: log in again");
        return false;
    }
    s->s.last_seen_at = now; /* sliding expiry; persisted by the periodic sweep */

    acct_principal *p = cc_calloc(1, sizeof(*p));
    if (!p) {
        net_reply_error(r, 500, "internal", "out of memory");
        return false;
    }
    memcpy(p->user_id, u->id, sizeof(p->user_id));
    memcpy(p->session_id, s->s.id, sizeof(p->session_id));
    memcpy(p->username, u->username, strnlen(u->username, sizeof(p->username) - 1));
    p->role = u->role;

    int64_t now_us = cc_monotonic_us();
    int64_t wait_us = cc_rate_take(&a->rate, &s->rate_tat_us, now_us);
    if (wait_us > 0) {
        acct__refuse_rate(a, r, s, p, wait_us, now_us);
        acct_principal_free(p);
        return false;
    }

    const char *msg;
    const char *restricted = acct_restriction(u, &msg);
    if (restricted && !(flags & NET_ROUTE_RESTRICTED_OK)) {
        net_reply_error(r, 403, restricted, msg);
        acct_principal_free(p);
        return false;
    }
    if (perm < 0 || perm >= PERM__COUNT || !auth_role_has(u->role, (auth_perm)perm)) {
        acct__deny(a, r, p, 403, "forbidden", "your role does not allow this");
        acct_principal_free(p);
        return false;
    }
    net_req_set_principal(r, p, acct_principal_free);
    return true;
}

bool acct_visible(void *ud, const void *principal, const char *scope)
{
    account *a = ud;
    const acct_principal *p = principal;
    if (strcmp(scope, "all") == 0)
        return true;
    if (strncmp(scope, "user:", 5) == 0)
        return strcmp(scope + 5, p->user_id) == 0;
    if (strncmp(scope, "perm:", 5) == 0) {
        auth_perm perm;
        /* The live role, not the one at connection time: a demoted admin stops seeing at once. */
        const auth_user *u = acct_user(a, p->user_id);
        return u && !u->disabled && auth_perm_parse(scope + 5, &perm) == CC_OK &&
               auth_role_has(u->role, perm);
    }
    for (size_t i = 0; i < a->nscopes; i++) {
        if (strncmp(scope, a->scopes[i].prefix, a->scopes[i].len) != 0)
            continue;
        const auth_user *u = acct_user(a, p->user_id);
        return u && !u->disabled && auth_role_has(u->role, a->scopes[i].perm) &&
               a->scopes[i].fn(a->scopes[i].ud, p->user_id, scope);
    }
    return false; /* unknown scopes are private by default */
}

bool account_user_role(account *a, const char *user_id, auth_role *out)
{
    const auth_user *u = acct_user(a, user_id);
    if (!u || u->disabled)
        return false;
    *out = u->role;
    return true;
}

int account_add_scope(account *a, const char *prefix, auth_perm perm, account_scope_fn fn, void *ud)
{
    size_t len = prefix ? strlen(prefix) : 0;
    if (len == 0 || !fn)
        return CC_ERR_INVALID;
    if (a->nscopes >= sizeof(a->scopes) / sizeof(a->scopes[0]))
        return CC_ERR_TOO_BIG;
    a->scopes[a->nscopes].prefix = prefix;
    a->scopes[a->nscopes].len = len;
    a->scopes[a->nscopes].perm = perm;
    a->scopes[a->nscopes].fn = fn;
    a->scopes[a->nscopes].ud = ud;
    a->nscopes++;
    return CC_OK;
}

const char *account_principal_user_id(const void *principal)
{
    return ((const acct_principal *)principal)->user_id;
}

const char *account_principal_username(const void *principal)
{
    return ((const acct_principal *)principal)->username;
}

auth_role account_principal_role(const void *principal)
{
    return ((const acct_principal *)principal)->role;
}
