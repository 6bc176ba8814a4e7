/* Accounts in the store. Every visible change appends a "user.updated" event in the same
 * transaction: the event log is how caches on every node and admin screens learn of it. */
#include "auth/auth.h"

#include <sodium.h>
#include <string.h>

#define USER_COLS                                                                                  \
    "id, username, display_name, role, disabled, must_change_password, totp_enabled, "             \
    "locked_until, created_at, updated_at"

bool auth_username_valid(const char *u)
{
    size_t n = strlen(u);
    if (n < 2 || n > AUTH_USERNAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

json_t *auth_user_json(const auth_user *u)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:I}", "id", u->id, "username", u->username,
                     "display_name", u->display_name, "role", auth_role_name(u->role), "disabled",
                     u->disabled, "must_change_password", u->must_change_password, "totp_enabled",
                     u->totp_enabled, "locked", u->locked_until > cc_now_ms(), "created_at",
                     (json_int_t)u->created_at);
}

void auth_user_write(cc_jw *w, const char *key, const auth_user *u)
{
    /* Same fields and order as auth_user_json (a unit test compares them). */
    cc_jw_obj_begin(w, key);
    cc_jw_str(w, "id", u->id);
    cc_jw_str(w, "username", u->username);
    cc_jw_str(w, "display_name", u->display_name);
    cc_jw_str(w, "role", auth_role_name(u->role));
    cc_jw_bool(w, "disabled", u->disabled);
    cc_jw_bool(w, "must_change_password", u->must_change_password);
    cc_jw_bool(w, "totp_enabled", u->totp_enabled);
    cc_jw_bool(w, "locked", u->locked_until > cc_now_ms());
    cc_jw_int(w, "created_at", u->created_at);
    cc_jw_obj_end(w);
}

int auth_user_from_json(const json_t *o, auth_user *out)
{
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *un = json_string_value(json_object_get(o, "username"));
    const char *dn = json_string_value(json_object_get(o, "display_name"));
    const char *role = json_string_value(json_object_get(o, "role"));
    memset(out, 0, sizeof(*out));
    if (!id || !un || !dn || !role || strlen(id) != CC_ID_LEN || strlen(un) > AUTH_USERNAME_MAX ||
        strlen(dn) > AUTH_DISPLAY_MAX || auth_role_parse(role, &out->role) != CC_OK)
        return CC_ERR_INVALID;
    memcpy(out->id, id, CC_ID_LEN + 1);
    snprintf(out->username, sizeof(out->username), "%s", un);
    snprintf(out->display_name, sizeof(out->display_name), "%s", dn);
    out->disabled = json_is_true(json_object_get(o, "disabled"));
    out->must_change_password = json_is_true(json_object_get(o, "must_change_password"));
    out->totp_enabled = json_is_true(json_object_get(o, "totp_enabled"));
    out->created_at = json_integer_value(json_object_get(o, "created_at"));
    return CC_OK;
}

static int user__row(void *ud, const store_row *r)
{
    auth_user *u = ud;
    const char *role = store_row_text(r, 3);
    snprintf(u->id, sizeof(u->id), "%s", store_row_text(r, 0));
    snprintf(u->username, sizeof(u->username), "%s", store_row_text(r, 1));
    snprintf(u->display_name, sizeof(u->display_name), "%s", store_row_text(r, 2));
    if (!role || auth_role_parse(role, &u->role) != CC_OK)
        return CC_ERR_INVALID;
    u->disabled = store_row_int(r, 4) != 0;
    u->must_change_password = store_row_int(r, 5) != 0;
    u->totp_enabled = store_row_int(r, 6) != 0;
    u->locked_until = store_row_int(r, 7);
    u->created_at = store_row_int(r, 8);
    u->updated_at = store_row_int(r, 9);
    return 1; /* one row */
}

int auth_user_get(store *st, const char *id, const char *username, auth_user *out)
{
    memset(out, 0, sizeof(*out));
    store_val p[] = {SV_TEXT(id ? id : username)};
    const char *sql = id ? "SELECT " USER_COLS " FROM users WHERE id = ?"
                         : "SELECT " USER_COLS " FROM users WHERE username = ?";
    int rc = store_query(st, sql, p, 1, user__row, out);
    if (rc != CC_OK)
        return rc;
    return out->id[0] ? CC_OK : CC_ERR_NOT_FOUND;
}

/* Appends the user.updated event with the current public view of the account. */
static int user__emit(store *st, const char *id)
{
    auth_user u;
    int rc = auth_user_get(st, id, NULL, &u);
    if (rc != CC_OK)
        return rc;
    json_t *payload = auth_user_json(&u);
    if (!payload)
        return CC_ERR_NOMEM;
    rc = store_event_append(st, "user.updated", "perm:users.read", payload, NULL);
    json_decref(payload);
    return rc;
}

int auth_user_create(store *st, const char *username, const char *display_name, auth_role role,
                     const char *password_hash, bool must_change_password, auth_user *out)
{
    char id[CC_ID_LEN + 1];
    int64_t now = cc_now_ms();
    if (!auth_username_valid(username) || !display_name || !*display_name ||
        strlen(display_name) > AUTH_DISPLAY_MAX)
        return CC_ERR_INVALID;
    cc_id_new(id);
    store_val p[] = {SV_TEXT(id),
                     SV_TEXT(username),
                     SV_TEXT(display_name),
                     SV_TEXT(auth_role_name(role)),
                     SV_TEXT(password_hash),
                     SV_INT(must_change_password),
                     SV_INT(now),
                     SV_INT(now)};
    int rc = store_exec(st,
                        "INSERT INTO users (id, username, display_name, role, password_hash, "
                        "must_change_password, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                        p, 8, NULL);
    if (rc != CC_OK)
        return rc;
    if ((rc = user__emit(st, id)) != CC_OK)
        return rc;
    return out ? auth_user_get(st, id, NULL, out) : CC_OK;
}

void auth_user_secrets_clear(auth_user_secrets *s)
{
    cc_free(&s->totp_sealed);
    cc_free(&s->totp_pending_sealed);
    sodium_memzero(s->password_hash, sizeof(s->password_hash));
}

typedef struct {
    auth_user_secrets *s;
    bool found;
    int rc;
} user_secrets_ctx;

static int user__secrets_row(void *ud, const store_row *r)
{
    user_secrets_ctx *c = ud;
    const char *h = store_row_text(r, 0);
    c->found = true;
    snprintf(c->s->password_hash, sizeof(c->s->password_hash), "%s", h ? h : "");
    if (store_row_text(r, 1) && !(c->s->totp_sealed = cc_strdup(store_row_text(r, 1))))
        return CC_ERR_NOMEM;
    if (store_row_text(r, 2) && !(c->s->totp_pending_sealed = cc_strdup(store_row_text(r, 2))))
        return CC_ERR_NOMEM;
    c->s->totp_last_step = store_row_int(r, 3);
    c->s->failed_logins = store_row_int(r, 4);
    return 1;
}

int auth_user_get_secrets(store *st, const char *id, auth_user_secrets *out)
{
    memset(out, 0, sizeof(*out));
    user_secrets_ctx c = {out, false, CC_OK};
    store_val p[] = {SV_TEXT(id)};
    int rc = store_query(st,
                         "SELECT password_hash, CASE WHEN totp_enabled = 1 THEN totp_secret END, "
                         "totp_pending, totp_last_step, failed_logins FROM users WHERE id = ?",
                         p, 1, user__secrets_row, &c);
    if (rc != CC_OK) {
        auth_user_secrets_clear(out);
        return rc;
    }
    return c.found ? CC_OK : CC_ERR_NOT_FOUND;
}

typedef struct {
    void (*fn)(void *, const auth_user *);
    void *ud;
} user_list_ctx;

static int user__list_row(void *ud, const store_row *r)
{
    user_list_ctx *c = ud;
    auth_user u;
    memset(&u, 0, sizeof(u));
    int rc = user__row(&u, r);
    if (rc < 0)
        return rc;
    c->fn(c->ud, &u);
    return 0;
}

int auth_user_list(store *st, void (*fn)(void *ud, const auth_user *u), void *ud)
{
    user_list_ctx c = {fn, ud};
    return store_query(st, "SELECT " USER_COLS " FROM users ORDER BY username", NULL, 0,
                       user__list_row, &c);
}

/* Runs an UPDATE on one user by id (the last parameter), then emits the event. */
static int user__update(store *st, const char *sql, store_val *p, size_t n, bool emit)
{
    int64_t changes = 0;
    int rc = store_exec(st, sql, p, n, &changes);
    if (rc != CC_OK)
        return rc;
    if (changes == 0)
        return CC_ERR_NOT_FOUND;
    return emit ? user__emit(st, p[n - 1].s) : CC_OK;
}

int auth_user_set_password(store *st, const char *id, const char *password_hash,
                           bool must_change_password)
{
    store_val p[] = {SV_TEXT(password_hash), SV_INT(must_change_password), SV_INT(cc_now_ms()),
                     SV_TEXT(id)};
    return user__update(st,
                        "UPDATE users SET password_hash = ?, must_change_password = ?, "
                        "failed_logins = 0, locked_until = 0, updated_at = ? WHERE id = ?",
                        p, 4, true);
}

int auth_user_set_disabled(store *st, const char *id, bool disabled)
{
    store_val p[] = {SV_INT(disabled), SV_INT(cc_now_ms()), SV_TEXT(id)};
    return user__update(st, "UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?", p, 3,
                        true);
}

int auth_user_set_role(store *st, const char *id, auth_role role)
{
    store_val p[] = {SV_TEXT(auth_role_name(role)), SV_INT(cc_now_ms()), SV_TEXT(id)};
    return user__update(st, "UPDATE users SET role = ?, updated_at = ? WHERE id = ?", p, 3, true);
}

int auth_user_set_display_name(store *st, const char *id, const char *display_name)
{
    if (!display_name || !*display_name || strlen(display_name) > AUTH_DISPLAY_MAX)
        return CC_ERR_INVALID;
    store_val p[] = {SV_TEXT(display_name), SV_INT(cc_now_ms()), SV_TEXT(id)};
    return user__update(st, "UPDATE users SET display_name = ?, updated_at = ? WHERE id = ?", p, 3,
                        true);
}

int auth_user_reset_totp(store *st, const char *id)
{
    store_val p[] = {SV_INT(cc_now_ms()), SV_TEXT(id)};
    store_val q[] = {SV_TEXT(id)};
    int rc = store_exec(st, "DELETE FROM recovery_codes WHERE user_id = ?", q, 1, NULL);
    if (rc != CC_OK)
        return rc;
    return user__update(st,
                        "UPDATE users SET totp_secret = NULL, totp_pending = NULL, "
                        "totp_enabled = 0, totp_last_step = 0, updated_at = ? WHERE id = ?",
                        p, 2, true);
}

int auth_user_set_totp_pending(store *st, const char *id, const char *sealed)
{
    store_val p[] = {SV_TEXT(sealed), SV_TEXT(id)};
    return user__update(st, "UPDATE users SET totp_pending = ? WHERE id = ?", p, 2, false);
}

int auth_user_enable_totp(store *st, const char *id, int64_t step,
                          char hashes[][CC_HASH_HEX_LEN + 1], size_t n)
{
    store_val q[] = {SV_TEXT(id)};
    int rc = store_exec(st, "DELETE FROM recovery_codes WHERE user_id = ?", q, 1, NULL);
    for (size_t i = 0; rc == CC_OK && i < n; i++) {
        store_val c[] = {SV_TEXT(id), SV_TEXT(hashes[i])};
        rc = store_exec(st, "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)", c, 2,
                        NULL);
    }
    if (rc != CC_OK)
        return rc;
    store_val p[] = {SV_INT(step), SV_INT(cc_now_ms()), SV_TEXT(id)};
    return user__update(st,
                        "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, "
                        "totp_enabled = 1, totp_last_step = ?, updated_at = ? "
                        "WHERE id = ? AND totp_pending IS NOT NULL",
                        p, 3, true);
}

/* A compare-and-set, not a plain write: two logins racing with the same code both pass the
 * check against the step they read earlier, and only the first may move the step forward; the
 * other is a replay. CC_ERR_DENIED when the step is not above the stored one. */
int auth_user_set_totp_step(store *st, const char *id, int64_t step)
{
    int64_t changes = 0;
    store_val p[] = {SV_INT(step), SV_TEXT(id), SV_INT(step)};
    int rc =
        store_exec(st, "UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?", p,
                   3, &changes);
    if (rc != CC_OK)
        return rc;
    return changes ? CC_OK : CC_ERR_DENIED;
}

int auth_user_reseal_totp(store *st, const char *id, const char *old_sealed, const char *sealed)
{
    store_val p[] = {SV_TEXT(sealed), SV_TEXT(id), SV_TEXT(old_sealed)};
    return store_exec(st, "UPDATE users SET totp_secret = ? WHERE id = ? AND totp_secret = ?", p, 3,
                      NULL);
}

int auth_user_use_recovery_code(store *st, const char *id, const char *code_hash)
{
    int64_t changes = 0;
    store_val p[] = {SV_INT(cc_now_ms()), SV_TEXT(id), SV_TEXT(code_hash)};
    int rc = store_exec(st,
                        "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? "
                        "AND used_at IS NULL",
                        p, 3, &changes);
    if (rc != CC_OK)
        return rc;
    return changes ? CC_OK : CC_ERR_NOT_FOUND;
}

int auth_user_count_login_failure(store *st, const char *id, int64_t *failed)
{
    store_val p[] = {SV_TEXT(id)};
    int rc = store_exec(st, "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?", p, 1,
                        NULL);
    if (rc != CC_OK)
        return rc;
    return store_query_int(st, "SELECT failed_logins FROM users WHERE id = ?", p, 1, failed);
}

int auth_user_set_login_failures(store *st, const char *id, int64_t failed, int64_t locked_until)
{
    store_val p[] = {SV_INT(failed), SV_INT(locked_until), SV_TEXT(id)};
    return user__update(st, "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?", p,
                        3, false);
}

int auth_user_count_active(store *st, auth_role role, int64_t *out)
{
    store_val p[] = {SV_TEXT(auth_role_name(role))};
    return store_query_int(st, "SELECT COUNT(*) FROM users WHERE role = ? AND disabled = 0", p, 1,
                           out);
}
