/* Sessions in the store. The bearer token itself is never stored, only its BLAKE2b hash; the
 * public id is what a user sees and revokes in "my sessions". */
#include "auth/auth.h"

#include <string.h>

#define SESSION_COLS                                                                               \
    "id, token_hash, user_id, created_at, last_seen_at, expires_at, source_ip, user_agent"

void auth_token_hash(const char *token, char out[CC_HASH_HEX_LEN + 1])
{
    cc_blake2b_hex(token, strlen(token), NULL, 0, out);
}

json_t *auth_session_json(const auth_session *s)
{
    return json_pack("{s:s,s:I,s:I,s:I,s:s,s:s}", "id", s->id, "created_at",
                     (json_int_t)s->created_at, "last_seen_at", (json_int_t)s->last_seen_at,
                     "expires_at", (json_int_t)s->expires_at, "source_ip", s->source_ip,
                     "user_agent", s->user_agent);
}

int auth_session_from_json(const json_t *o, auth_session *out)
{
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *th = json_string_value(json_object_get(o, "token_hash"));
    const char *uid = json_string_value(json_object_get(o, "user_id"));
    const char *ip = json_string_value(json_object_get(o, "source_ip"));
    const char *ua = json_string_value(json_object_get(o, "user_agent"));
    memset(out, 0, sizeof(*out));
    if (!id || !th || !uid || strlen(id) != CC_ID_LEN || strlen(th) != CC_HASH_HEX_LEN ||
        strlen(uid) != CC_ID_LEN)
        return CC_ERR_INVALID;
    memcpy(out->id, id, CC_ID_LEN + 1);
    memcpy(out->token_hash, th, CC_HASH_HEX_LEN + 1);
    memcpy(out->user_id, uid, CC_ID_LEN + 1);
    out->created_at = json_integer_value(json_object_get(o, "created_at"));
    out->last_seen_at = json_integer_value(json_object_get(o, "last_seen_at"));
    out->expires_at = json_integer_value(json_object_get(o, "expires_at"));
    snprintf(out->source_ip, sizeof(out->source_ip), "%s", ip ? ip : "");
    snprintf(out->user_agent, sizeof(out->user_agent), "%s", ua ? ua : "");
    return CC_OK;
}

int auth_session_insert(store *st, const auth_session *s)
{
    store_val p[] = {SV_TEXT(s->id),        SV_TEXT(s->token_hash),  SV_TEXT(s->user_id),
                     SV_INT(s->created_at), SV_INT(s->last_seen_at), SV_INT(s->expires_at),
                     SV_TEXT(s->source_ip), SV_TEXT(s->user_agent)};
    int rc = store_exec(st, "INSERT INTO sessions (" SESSION_COLS ") VALUES (?,?,?,?,?,?,?,?)", p,
                        8, NULL);
    if (rc != CC_OK)
        return rc;
    json_t *payload = auth_session_json(s);
    if (!payload)
        return CC_ERR_NOMEM;
    json_object_set_new(payload, "token_hash", json_string(s->token_hash));
    json_object_set_new(payload, "user_id", json_string(s->user_id));
    rc = store_event_append(st, "session.created", "internal", payload, NULL);
    json_decref(payload);
    return rc;
}

static int session__emit_revoked(store *st, const char *user_id, const char *session_id)
{
    char scope[8 + CC_ID_LEN];
    snprintf(scope, sizeof(scope), "user:%s", user_id);
    json_t *payload = json_pack("{s:s,s:s}", "id", session_id, "user_id", user_id);
    if (!payload)
        return CC_ERR_NOMEM;
    int rc = store_event_append(st, "session.revoked", scope, payload, NULL);
    json_decref(payload);
    return rc;
}

int auth_session_revoke(store *st, const char *user_id, const char *session_id)
{
    int64_t changes = 0;
    store_val p[] = {SV_INT(cc_now_ms()), SV_TEXT(session_id), SV_TEXT(user_id)};
    int rc = store_exec(st,
                        "UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND "
                        "revoked_at IS NULL",
                        p, 3, &changes);
    if (rc != CC_OK)
        return rc;
    if (changes == 0)
        return CC_ERR_NOT_FOUND;
    return session__emit_revoked(st, user_id, session_id);
}

typedef struct {
    char (*ids)[CC_ID_LEN + 1];
    size_t n, cap;
} session_ids;

static int session__id_row(void *ud, const store_row *r)
{
    session_ids *c = ud;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        void *g = cc_realloc(c->ids, cap * sizeof(*c->ids));
        if (!g)
            return CC_ERR_NOMEM;
        c->ids = g;
        c->cap = cap;
    }
    snprintf(c->ids[c->n++], CC_ID_LEN + 1, "%s", store_row_text(r, 0));
    return 0;
}

int auth_session_revoke_all(store *st, const char *user_id, const char *keep_id, int64_t *count)
{
    session_ids ids = {0};
    store_val p[] = {SV_TEXT(user_id), SV_TEXT(keep_id ? keep_id : "")};
    int rc = store_query(st,
                         "SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND "
                         "id <> ?",
                         p, 2, session__id_row, &ids);
    for (size_t i = 0; rc == CC_OK && i < ids.n; i++)
        rc = auth_session_revoke(st, user_id, ids.ids[i]);
    if (count)
        *count = (int64_t)ids.n;
    cc_free(&ids.ids);
    return rc;
}

typedef struct {
    void (*fn)(void *, const auth_session *);
    void *ud;
} session_list_ctx;

static int session__row(void *ud, const store_row *r)
{
    session_list_ctx *c = ud;
    auth_session s;
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "%s", store_row_text(r, 0));
    snprintf(s.token_hash, sizeof(s.token_hash), "%s", store_row_text(r, 1));
    snprintf(s.user_id, sizeof(s.user_id), "%s", store_row_text(r, 2));
    s.created_at = store_row_int(r, 3);
    s.last_seen_at = store_row_int(r, 4);
    s.expires_at = store_row_int(r, 5);
    const char *ip = store_row_text(r, 6), *ua = store_row_text(r, 7);
    snprintf(s.source_ip, sizeof(s.source_ip), "%s", ip ? ip : "");
    snprintf(s.user_agent, sizeof(s.user_agent), "%s", ua ? ua : "");
    c->fn(c->ud, &s);
    return 0;
}

int auth_session_list(store *st, const char *user_id, int64_t now_ms,
                      void (*fn)(void *ud, const auth_session *s), void *ud)
{
    session_list_ctx c = {fn, ud};
    store_val p[] = {SV_INT(now_ms), SV_TEXT(user_id)};
    if (user_id)
        return store_query(st,
                           "SELECT " SESSION_COLS " FROM sessions WHERE revoked_at IS NULL AND "
                           "expires_at > ? AND user_id = ? ORDER BY created_at",
                           p, 2, session__row, &c);
    return store_query(st,
                       "SELECT " SESSION_COLS " FROM sessions WHERE revoked_at IS NULL AND "
                       "expires_at > ? ORDER BY created_at",
                       p, 1, session__row, &c);
}

int auth_session_touch(store *st, const char *session_id, int64_t last_seen_at)
{
    store_val p[] = {SV_INT(last_seen_at), SV_TEXT(session_id), SV_INT(last_seen_at)};
    return store_exec(st, "UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?",
                      p, 3, NULL);
}
