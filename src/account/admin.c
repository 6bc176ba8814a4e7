/* Administration of accounts and the audit log. Every change is audited in the transaction that
 * makes it; disabling an account or resetting its credentials revokes its sessions, which closes
 * its open pages' connections (through the session.revoked events). */
#include "account/account_internal.h"

#include <sodium.h>
#include <string.h>

void acct_temp_password(char out[24])
{
    /* 4 groups of 5 from an unambiguous alphabet: ~98 bits, readable over the phone. */
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
    int o = 0;
    for (int g = 0; g < 4; g++) {
        for (int i = 0; i < 5; i++)
            out[o++] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
        out[o++] = g < 3 ? '-' : '\0';
    }
}

typedef struct {
    account *a;
    net_req *r;
    acct_principal who;
    uv_work_t work;
    char target[CC_ID_LEN + 1];
    char username[AUTH_USERNAME_MAX + 1];
    char display[AUTH_DISPLAY_MAX + 1];
    auth_role role;
    bool set_role, set_display, set_disabled, disabled;
    char password[24];
    char hash[AUTH_PWHASH_LEN];
    store_job_fn after_hash; /* the job that stores the new password hash */
    json_t *result;
    int status;
    const char *err_code, *err_msg;
} admin_ctx;

static admin_ctx *admin__new(net_req *r)
{
    admin_ctx *c = cc_calloc(1, sizeof(*c));
    if (!c) {
        net_reply_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    c->a = net_req_ud(r);
    c->r = net_req_ref(r);
    c->who = *(const acct_principal *)net_req_principal(r);
    return c;
}

static void admin__free(admin_ctx *c)
{
    sodium_memzero(c->password, sizeof(c->password));
    if (c->result)
        json_decref(c->result);
    net_req_unref(c->r);
    cc_free_ptr(c);
}

static void admin__fail(admin_ctx *c, int status, const char *code, const char *msg)
{
    c->status = status;
    c->err_code = code;
    c->err_msg = msg;
}

static void admin__done(void *ctx, int rc)
{
    admin_ctx *c = ctx;
    if (c->err_code)
        net_reply_error(c->r, c->status, c->err_code, c->err_msg);
    else if (rc == CC_ERR_EXISTS)
        net_reply_error(c->r, 409, "username_taken", "this username is already used");
    else if (rc != CC_OK)
        net_reply_error(c->r, 503, "store_unavailable", "try again in a moment");
    else {
        net_reply_json(c->r, c->status ? c->status : 200, c->result ? c->result : json_object());
        c->result = NULL;
    }
    admin__free(c);
}

static void admin__submit(admin_ctx *c, store_job_fn job)
{
    if (store_worker_submit(c->a->worker, job, admin__done, c) != CC_OK) {
        net_reply_error(c->r, 503, "busy", "try again in a moment");
        admin__free(c);
    }
}

static int admin__audit(store *st, admin_ctx *c, const char *action, json_t *details)
{
    char object[8 + CC_ID_LEN];
    snprintf(object, sizeof(object), "user:%s", c->target);
    return acct_audit(st, c->a, &c->who, action, object, net_req_source_ip(c->r), "success",
                      details);
}

/* ---- list and read -------------------------------------------------------------------------- */

static void admin__list_row(void *ud, const auth_user *u)
{
    json_array_append_new(json_object_get(ud, "users"), auth_user_json(u));
}

static int admin__list_job(store *st, void *ctx)
{
    admin_ctx *c = ctx;
    if (!(c->result = json_pack("{s:[]}", "users")))
        return CC_ERR_NOMEM;
    return auth_user_list(st, admin__list_row, c->result);
}

static void admin__list(net_req *r)
{
    admin_ctx *c = admin__new(r);
    if (c)
        admin__submit(c, admin__list_job);
}

static int admin__get_job(store *st, void *ctx)
{
    admin_ctx *c = ctx;
    auth_user u;
    int rc = auth_user_get(st, c->target, NULL, &u);
    if (rc == CC_ERR_NOT_FOUND)
        admin__fail(c, 404, "user_not_found", "no such user");
    else if (rc == CC_OK)
        c->result = auth_user_json(&u);
    return rc;
}

static bool admin__target(admin_ctx *c)
{
    const char *id = net_req_param(c->r, "id");
    if (!id || strlen(id) != CC_ID_LEN) {
        net_reply_error(c->r, 404, "user_not_found", "no such user");
        admin__free(c);
        return false;
    }
    memcpy(c->target, id, CC_ID_LEN + 1);
    return true;
}

static void admin__get(net_req *r)
{
    admin_ctx *c = admin__new(r);
    if (c && admin__target(c))
        admin__submit(c, admin__get_job);
}

/* ---- create --------------------------------------------------------------------------------- */

static int admin__create_job(store *st, void *ctx)
{
    admin_ctx *c = ctx;
    auth_user u;
    int rc = auth_user_create(st, c->username, c->display, c->role, c->hash, true, &u);
    if (rc != CC_OK)
        return rc;
    memcpy(c->target, u.id, sizeof(c->target));
    c->result =
        json_pack("{s:o,s:s}", "user", auth_user_json(&u), "temporary_password", c->password);
    c->status = 201;
    return admin__audit(
        st, c, "user.create",
        json_pack("{s:s,s:s}", "username", u.username, "role", auth_role_name(u.role)));
}

static void admin__hash_work(uv_work_t *w)
{
    admin_ctx *c = w->data;
    if (auth_password_hash(c->password, c->hash) != CC_OK)
        admin__fail(c, 500, "internal", "could not hash the password");
}

static void admin__hash_done(uv_work_t *w, int status)
{
    admin_ctx *c = w->data;
    if (status != 0)
        admin__fail(c, 500, "internal", "could not hash the password");
    if (c->err_code) {
        admin__done(c, CC_OK);
        return;
    }
    admin__submit(c, c->after_hash);
}

/* A temporary password, hashed in the thread pool, then stored by job. */
static void admin__hash_then(admin_ctx *c, store_job_fn job)
{
    c->after_hash = job;
    acct_temp_password(c->password);
    c->work.data = c;
    if (uv_queue_work(c->a->loop, &c->work, admin__hash_work, admin__hash_done) != 0) {
        admin__fail(c, 503, "busy", "try again in a moment");
        admin__done(c, CC_OK);
    }
}

static void admin__create(net_req *r)
{
    json_t *b = net_req_body(r);
    const char *username = json_string_value(json_object_get(b, "username"));
    const char *display = json_string_value(json_object_get(b, "display_name"));
    const char *role = json_string_value(json_object_get(b, "role"));
    auth_role rl;
    if (!auth_username_valid(username)) {
        net_reply_error(r, 400, "invalid_username",
                        "usernames are 2 to 64 lower-case letters, digits, '.', '_' or '-'");
        return;
    }
    if (auth_role_parse(role, &rl) != CC_OK) {
        net_reply_error(r, 400, "invalid_role", "unknown role");
        return;
    }
    if (auth_role_is_system(rl)) {
        /* A machine account has no password anyone knows: made on the server's shell. */
        net_reply_error(r, 400, "invalid_role",
                        "system accounts are made with `carecomm user create` and `user token`");
        return;
    }
    admin_ctx *c = admin__new(r);
    if (!c)
        return;
    snprintf(c->username, sizeof(c->username), "%s", username);
    snprintf(c->display, sizeof(c->display), "%s", display);
    c->role = rl;
    admin__hash_then(c, admin__create_job);
}

/* ---- change: display name, role, disabled ------------------------------------------------ */

/* Refuses to leave the hospital without an active administrator. */
static int admin__keeps_an_admin(store *st, admin_ctx *c, const auth_user *u)
{
    bool loses_admin = u->role == ROLE_ADMIN && !u->disabled &&
                       ((c->set_role && c->role != ROLE_ADMIN) || (c->set_disabled && c->disabled));
    if (!loses_admin)
        return CC_OK;
    int64_t n = 0;
    int rc = auth_user_count_active(st, ROLE_ADMIN, &n);
    if (rc != CC_OK)
        return rc;
    if (n <= 1) {
        admin__fail(c, 409, "last_admin", "this is the last active administrator");
        return CC_ERR_DENIED;
    }
    return CC_OK;
}

static int admin__patch_job(store *st, void *ctx)
{
    admin_ctx *c = ctx;
    auth_user u;
    int rc = auth_user_get(st, c->target, NULL, &u);
    if (rc == CC_ERR_NOT_FOUND)
        admin__fail(c, 404, "user_not_found", "no such user");
    if (rc != CC_OK || (rc = admin__keeps_an_admin(st, c, &u)) != CC_OK)
        return rc;
    json_t *changes = json_object();
    if (c->set_display && strcmp(u.display_name, c->display) != 0) {
        if ((rc = auth_user_set_display_name(st, c->target, c->display)) != CC_OK)
            goto out;
        json_object_set_new(changes, "display_name", json_true());
    }
    if (c->set_role && u.role != c->role) {
        if ((rc = auth_user_set_role(st, c->target, c->role)) != CC_OK)
            goto out;
        json_object_set_new(changes, "role", json_string(auth_role_name(c->role)));
    }
    if (c->set_disabled && u.disabled != c->disabled) {
        if ((rc = auth_user_set_disabled(st, c->target, c->disabled)) != CC_OK ||
            (c->disabled && (rc = auth_session_revoke_all(st, c->target, NULL, NULL)) != CC_OK))
            goto out;
        json_object_set_new(changes, "disabled", json_boolean(c->disabled));
    }
    if ((rc = auth_user_get(st, c->target, NULL, &u)) != CC_OK)
        goto out;
    c->result = auth_user_json(&u);
    if (json_object_size(changes) == 0)
        goto out;
    rc = admin__audit(st, c, "user.update", changes);
    changes = NULL;
out:
    if (changes)
        json_decref(changes);
    return rc;
}

static void admin__patch(net_req *r)
{
    json_t *b = net_req_body(r);
    const char *display = json_string_value(json_object_get(b, "display_name"));
    const char *role = json_string_value(json_object_get(b, "role"));
    json_t *disabled = json_object_get(b, "disabled");
    admin_ctx *c = admin__new(r);
    if (!c || !admin__target(c))
        return;
    if (role && (auth_role_parse(role, &c->role) != CC_OK || auth_role_is_system(c->role))) {
        admin__fail(c, 400, "invalid_role", "unknown role, or a system account's");
        admin__done(c, CC_OK);
        return;
    }
    c->set_role = role != NULL;
    if (display) {
        c->set_display = true;
        snprintf(c->display, sizeof(c->display), "%s", display);
    }
    if (disabled) {
        c->set_disabled = true;
        c->disabled = json_is_true(disabled);
    }
    if (c->disabled && strcmp(c->target, c->who.user_id) == 0) {
        admin__fail(c, 409, "cannot_disable_self", "you cannot disable your own account");
        admin__done(c, CC_OK);
        return;
    }
    admin__submit(c, admin__patch_job);
}

/* ---- resets --------------------------------------------------------------------------------- */

static int admin__reset_pw_job(store *st, void *ctx)
{
    admin_ctx *c = ctx;
    int rc = auth_user_set_password(st, c->target, c->hash, true);
    if (rc == CC_ERR_NOT_FOUND)
        admin__fail(c, 404, "user_not_found", "no such user");
    if (rc != CC_OK || (rc = auth_session_revoke_all(st, c->target, NULL, NULL)) != CC_OK)
        return rc;
    c->result = json_pack("{s:s}", "temporary_password", c->password);
    c->status = 200;
    return admin__audit(st, c, "user.reset_password", NULL);
}

static void admin__reset_password(net_req *r)
{
    admin_ctx *c = admin__new(r);
    if (!c || !admin__target(c))
        return;
    admin__hash_then(c, admin__reset_pw_job);
}

static int admin__reset_totp_job(store *st, void *ctx)
{
    admin_ctx *c = ctx;
    int rc = auth_user_reset_totp(st, c->target);
    if (rc == CC_ERR_NOT_FOUND)
        admin__fail(c, 404, "user_not_found", "no such user");
    if (rc != CC_OK || (rc = auth_session_revoke_all(st, c->target, NULL, NULL)) != CC_OK)
        return rc;
    return admin__audit(st, c, "user.reset_totp", NULL);
}

static void admin__reset_totp(net_req *r)
{
    admin_ctx *c = admin__new(r);
    if (c && admin__target(c))
        admin__submit(c, admin__reset_totp_job);
}

static const cc_json_field admin__create_body[] = {
    {"username", CC_JSON_STRING, true, 2, AUTH_USERNAME_MAX},
    {"display_name", CC_JSON_STRING, true, 1, AUTH_DISPLAY_MAX},
    {"role", CC_JSON_STRING, true, 1, 32},
};
static const cc_json_field admin__patch_body[] = {
    {"display_name", CC_JSON_STRING, false, 1, AUTH_DISPLAY_MAX},
    {"role", CC_JSON_STRING, false, 1, 32},
    {"disabled", CC_JSON_BOOL, false, 0, 0},
};

void acct_audit_list(net_req *r);   /* audit_api.c */
void acct_audit_verify(net_req *r); /* audit_api.c */

const net_route acct_admin_routes[] = {
    {"GET", "/api/v1/users", PERM_USERS_READ, 0, NULL, 0, admin__list},
    {"POST", "/api/v1/users", PERM_USERS_WRITE, 0, admin__create_body, 3, admin__create},
    {"GET", "/api/v1/users/:id", PERM_USERS_READ, 0, NULL, 0, admin__get},
    {"PATCH", "/api/v1/users/:id", PERM_USERS_WRITE, 0, admin__patch_body, 3, admin__patch},
    {"POST", "/api/v1/users/:id/reset-password", PERM_USERS_WRITE, 0, NULL, 0,
     admin__reset_password},
    {"POST", "/api/v1/users/:id/reset-totp", PERM_USERS_WRITE, 0, NULL, 0, admin__reset_totp},
    {"GET", "/api/v1/audit", PERM_AUDIT_READ, 0, NULL, 0, acct_audit_list},
    {"POST", "/api/v1/audit/verify", PERM_AUDIT_READ, 0, NULL, 0, acct_audit_verify},
};
const size_t acct_admin_routes_count = sizeof(acct_admin_routes) / sizeof(acct_admin_routes[0]);
