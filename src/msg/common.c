/* What every msg route shares: the request context handed to the worker and answered on the
 * loop, the access rule of conversations and messages, their JSON views, events and audit. */
#include "msg/msg_internal.h"

#include <string.h>

int64_t msg__now(void)
{
    return cc_now_ms();
}

bool msg__id_valid(const char *s)
{
    /* Crockford base32 as cc_id_new writes it: anything else cannot name a row. */
    if (!s || strlen(s) != CC_ID_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z')))
            return false;
    return true;
}

msg_ctx *msg__ctx_new(net_req *r, msg_idparam idparam)
{
    msg_ctx *c = cc_calloc(1, sizeof(*c));
    const void *p = net_req_principal(r);
    json_t *body = net_req_body(r);
    if (!c || (body && !(c->in = json_deep_copy(body)))) {
        cc_free(&c);
        net_reply_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    c->m = net_req_ud(r);
    c->r = net_req_ref(r);
    snprintf(c->who.user_id, sizeof(c->who.user_id), "%s", account_principal_user_id(p));
    snprintf(c->who.username, sizeof(c->who.username), "%s", account_principal_username(p));
    snprintf(c->who.ip, sizeof(c->who.ip), "%s", net_req_source_ip(r));
    msg__activity(c->m, c->who.user_id);
    if (idparam != MSG_ID_NONE) {
        const char *id = net_req_param(r, "id");
        bool conv = idparam == MSG_ID_CONV;
        if (!msg__id_valid(id)) {
            net_reply_error(r, 404, conv ? "conversation_not_found" : "message_not_found",
                            conv ? "no such conversation" : "no such message");
            msg__ctx_free(c);
            return NULL;
        }
        memcpy(conv ? c->conv : c->target, id, CC_ID_LEN + 1);
    }
    return c;
}

void msg__ctx_free(msg_ctx *c)
{
    if (!c)
        return;
    if (c->in)
        json_decref(c->in);
    if (c->out)
        json_decref(c->out);
    if (c->r)
        net_req_unref(c->r);
    cc_free_ptr(c);
}

int msg__fail(msg_ctx *c, int status, const char *code, const char *text)
{
    c->status = status;
    c->code = code;
    c->text = text;
    return CC_ERR_DENIED;
}

void msg__done(void *ctx, int rc)
{
    msg_ctx *c = ctx;
    if (c->code)
        net_reply_error(c->r, c->status, c->code, c->text);
    else if (rc == CC_ERR_EXISTS)
        net_reply_error(c->r, 409, "conflict", "changed by someone else meanwhile: try again");
    else if (rc != CC_OK)
        net_reply_error(c->r, 503, "store_unavailable", "try again in a moment");
    else {
        if (c->finish)
            c->finish(c);
        net_reply_json(c->r, c->status ? c->status : 200, c->out ? c->out : json_object());
        c->out = NULL;
    }
    msg__ctx_free(c);
}

void msg__submit(msg_ctx *c, store_job_fn job)
{
    if (!c->m->worker || store_worker_submit(c->m->worker, job, msg__done, c) != CC_OK) {
        net_reply_error(c->r, 503, "busy", "try again in a moment");
        msg__ctx_free(c);
    }
}

/* ---- conversations -------------------------------------------------------------------------- */

static int conv__row(void *ud, const store_row *r)
{
    msg_conv_row *o = ud;
    snprintf(o->id, sizeof(o->id), "%s", store_row_text(r, 0));
    snprintf(o->kind, sizeof(o->kind), "%s", store_row_text(r, 1));
    snprintf(o->visibility, sizeof(o->visibility), "%s", store_row_text(r, 2));
    o->archived = store_row_int(r, 3) != 0;
    o->last_seq = store_row_int(r, 4);
    const char *role = store_row_text(r, 5);
    o->my_role = !role                        ? MSG_ROLE_NONE
                 : strcmp(role, "owner") == 0 ? MSG_ROLE_OWNER
                                              : MSG_ROLE_MEMBER;
    o->my_read_seq = store_row_int(r, 6);
    return 1;
}

int msg__conv_access(store *st, msg_ctx *c, const char *id, bool need_member, msg_conv_row *out)
{
    memset(out, 0, sizeof(*out));
    store_val p[] = {SV_TEXT(c->who.user_id), SV_TEXT(id)};
    int rc = store_query(st,
                         "SELECT c.id, c.kind, c.visibility, c.archived, c.last_seq, mb.role, "
                         "mb.read_seq FROM msg_conversations c LEFT JOIN msg_members mb ON "
                         "mb.conversation_id = c.id AND mb.user_id = ? WHERE c.id = ?",
                         p, 2, conv__row, out);
    if (rc != CC_OK)
        return rc;
    bool public_channel =
        strcmp(out->kind, "channel") == 0 && strcmp(out->visibility, "public") == 0;
    if (!out->id[0] || (out->my_role == MSG_ROLE_NONE && !public_channel))
        return msg__fail(c, 404, "conversation_not_found", "no such conversation");
    if (need_member && out->my_role == MSG_ROLE_NONE)
        return msg__fail(c, 403, "not_a_member", "join this channel first");
    return CC_OK;
}

static int conv__json_row(void *ud, const store_row *r)
{
    json_t **out = ud;
    const char *role = store_row_text(r, 10);
    *out = json_pack(
        "{s:s,s:s,s:s?,s:s?,s:s,s:b,s:I,s:s,s:I,s:I,s:I}", "id", store_row_text(r, 0), "kind",
        store_row_text(r, 1), "name", store_row_text(r, 2), "topic", store_row_text(r, 3),
        "visibility", store_row_text(r, 4), "archived", store_row_int(r, 5) != 0, "created_at",
        (json_int_t)store_row_int(r, 6), "created_by", store_row_text(r, 7), "last_seq",
        (json_int_t)store_row_int(r, 8), "members_count", (json_int_t)store_row_int(r, 9),
        "last_message_at", (json_int_t)store_row_int(r, 11));
    if (*out)
        json_object_set_new(*out, "my_role", role ? json_string(role) : json_null());
    return *out ? 1 : CC_ERR_NOMEM;
}

int msg__conv_json(store *st, const char *id, const char *user_id, json_t **out)
{
    *out = NULL;
    store_val p[] = {SV_TEXT(user_id ? user_id : ""), SV_TEXT(id)};
    int rc = store_query(st,
                         "SELECT c.id, c.kind, c.name, c.topic, c.visibility, c.archived, "
                         "c.created_at, c.created_by, c.last_seq, (SELECT COUNT(*) FROM "
                         "msg_members x WHERE x.conversation_id = c.id), (SELECT y.role FROM "
                         "msg_members y WHERE y.conversation_id = c.id AND y.user_id = ?), "
                         "c.last_message_at FROM msg_conversations c WHERE c.id = ?",
                         p, 2, conv__json_row, out);
    if (rc == CC_OK && !*out)
        rc = CC_ERR_NOT_FOUND;
    if (rc == CC_OK && !user_id)
        json_object_del(*out, "my_role");
    if (rc == CC_OK && *out) {
        const char *kind = json_string_value(json_object_get(*out, "kind"));
        json_t *ids = NULL;
        if (strcmp(kind, "channel") != 0 && (rc = msg__conv_member_ids(st, id, &ids)) == CC_OK)
            json_object_set_new(*out, "members", ids);
    }
    return rc;
}

static int conv__member_id(void *ud, const store_row *r)
{
    return json_array_append_new(ud, json_string(store_row_text(r, 0))) == 0 ? 0 : CC_ERR_NOMEM;
}

int msg__conv_member_ids(store *st, const char *id, json_t **out)
{
    *out = json_array();
    if (!*out)
        return CC_ERR_NOMEM;
    store_val p[] = {SV_TEXT(id)};
    int rc = store_query(st,
                         "SELECT user_id FROM msg_members WHERE conversation_id = ? ORDER BY "
                         "joined_at, user_id",
                         p, 1, conv__member_id, *out);
    if (rc != CC_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- messages ------------------------------------------------------------------------------- */

json_t *msg__message_json_row(const store_row *r)
{
    bool deleted = !store_row_is_null(r, 12);
    json_t *mentions = deleted ? json_array() : json_loads(store_row_text(r, 7), 0, NULL);
    const char *att = store_row_text(r, 8);
    json_t *attachments = !deleted && att ? json_loads(att, 0, NULL) : json_array();
    json_t *o = json_pack(
        "{s:s,s:s,s:I,s:s,s:s,s:s?,s:b,s:o,s:b,s:o,s:I,s:I,s:o,s:b,s:o,s:o,s:o,s:o}", "id",
        store_row_text(r, 0), "conversation_id", store_row_text(r, 1), "seq",
        (json_int_t)store_row_int(r, 2), "author_id", store_row_text(r, 3), "body",
        deleted ? "" : store_row_text(r, 4), "thread_root", store_row_text(r, 5), "urgent",
        store_row_int(r, 6) != 0, "mentions", mentions ? mentions : json_array(),
        "mentions_channel", !deleted && store_row_int(r, 16) != 0, "attachments",
        attachments ? attachments : json_array(), "reply_count", (json_int_t)store_row_int(r, 9),
        "created_at", (json_int_t)store_row_int(r, 10), "edited_at",
        store_row_is_null(r, 11) ? json_null() : json_integer(store_row_int(r, 11)), "deleted",
        deleted, "deleted_at", deleted ? json_integer(store_row_int(r, 12)) : json_null(),
        "deleted_by", deleted ? json_string(store_row_text(r, 13)) : json_null(), "pinned_at",
        store_row_is_null(r, 14) ? json_null() : json_integer(store_row_int(r, 14)), "pinned_by",
        store_row_is_null(r, 15) ? json_null() : json_string(store_row_text(r, 15)));
    return o;
}

static int message__row(void *ud, const store_row *r)
{
    json_t **out = ud;
    *out = msg__message_json_row(r);
    return *out ? 1 : CC_ERR_NOMEM;
}

int msg__message_load(store *st, msg_ctx *c, const char *id, json_t **msg_out,
                      msg_conv_row *conv_out)
{
    *msg_out = NULL;
    store_val p[] = {SV_TEXT(id)};
    int rc = store_query(st, "SELECT " MSG_COLS " FROM msg_messages m WHERE m.id = ?", p, 1,
                         message__row, msg_out);
    if (rc != CC_OK)
        return rc;
    if (!*msg_out)
        return msg__fail(c, 404, "message_not_found", "no such message");
    const char *conv = json_string_value(json_object_get(*msg_out, "conversation_id"));
    snprintf(c->conv, sizeof(c->conv), "%s", conv);
    rc = msg__conv_access(st, c, c->conv, true, conv_out);
    if (rc == CC_ERR_DENIED) /* not readable: for them the message does not exist */
        rc = msg__fail(c, 404, "message_not_found", "no such message");
    if (rc != CC_OK) {
        json_decref(*msg_out);
        *msg_out = NULL;
    }
    return rc;
}

typedef struct {
    json_t *by_id; /* message id -> message */
} react_ctx;

static int react__row(void *ud, const store_row *r)
{
    react_ctx *x = ud;
    json_t *msgj = json_object_get(x->by_id, store_row_text(r, 0));
    if (!msgj)
        return 0;
    json_t *list = json_object_get(msgj, "reactions");
    const char *emoji = store_row_text(r, 1);
    json_t *entry = NULL, *e;
    size_t i;
    json_array_foreach(list, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "emoji")), emoji) == 0) {
            entry = e;
            break;
        }
    }
    if (!entry) {
        entry = json_pack("{s:s,s:[],s:i}", "emoji", emoji, "users", "count", 0);
        if (!entry || json_array_append_new(list, entry) != 0)
            return CC_ERR_NOMEM;
    }
    json_array_append_new(json_object_get(entry, "users"), json_string(store_row_text(r, 2)));
    json_object_set_new(entry, "count",
                        json_integer((json_int_t)json_array_size(json_object_get(entry, "users"))));
    return 0;
}

int msg__add_reactions(store *st, json_t *arr, const char *conv, int64_t lo, int64_t hi)
{
    react_ctx x = {json_object()};
    size_t i;
    json_t *msgj;
    if (!x.by_id)
        return CC_ERR_NOMEM;
    json_array_foreach(arr, i, msgj)
    {
        json_object_set_new(msgj, "reactions", json_array());
        json_object_set(x.by_id, json_string_value(json_object_get(msgj, "id")), msgj);
    }
    store_val p[] = {SV_TEXT(conv), SV_INT(lo), SV_INT(hi)};
    int rc = store_query(st,
                         "SELECT r.message_id, r.emoji, r.user_id FROM msg_reactions r JOIN "
                         "msg_messages m ON m.id = r.message_id WHERE m.conversation_id = ? AND "
                         "m.seq >= ? AND m.seq <= ? ORDER BY r.created_at, r.user_id",
                         p, 3, react__row, &x);
    json_decref(x.by_id);
    return rc;
}

/* ---- events and audit ----------------------------------------------------------------------- */

int msg__event(store *st, const char *type, const char *scope, const json_t *payload)
{
    return store_event_append(st, type, scope, payload, NULL);
}

int msg__event_conv_seq(store *st, const char *type, const char *conv, const json_t *payload,
                        int64_t *seq_out)
{
    char scope[8 + CC_ID_LEN];
    snprintf(scope, sizeof(scope), "conv:%s", conv);
    return store_event_append(st, type, scope, payload, seq_out);
}

int msg__event_conv(store *st, const char *type, const char *conv, const json_t *payload)
{
    return msg__event_conv_seq(st, type, conv, payload, NULL);
}

int msg__audit(store *st, msg_ctx *c, const char *action, const char *object, json_t *details)
{
    auth_audit_entry e = {
        .actor_id = c->who.user_id,
        .actor_name = c->who.username,
        .action = action,
        .object = object,
        .source_ip = c->who.ip[0] ? c->who.ip : NULL,
        .outcome = "success",
        .details = details,
    };
    int rc = auth_audit_append(st, c->m->keys, &e, NULL);
    if (details)
        json_decref(details);
    return rc;
}
