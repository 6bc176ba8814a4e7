/* Conversations: create (channels, groups, direct conversations — one per pair of people), list
 * mine with unread and mention counts, discover public channels, read, change (owners), join,
 * leave. Members are in members.c. */
#include "msg/msg_internal.h"

#include <string.h>

/* ---- create --------------------------------------------------------------------------------- */

static int conv__check_users(store *st, msg_ctx *c, const json_t *ids)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        auth_user u;
        int rc = auth_user_get(st, json_string_value(v), NULL, &u);
        if (rc == CC_ERR_NOT_FOUND || (rc == CC_OK && u.disabled))
            return msg__fail(c, 400, "unknown_user", "a member is not an active account");
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

static int conv__found(void *ud, const store_row *r)
{
    snprintf(ud, CC_ID_LEN + 1, "%s", store_row_text(r, 0));
    return 1;
}

int msg__member_insert(store *st, const char *conv, const char *user, const char *role,
                       int64_t read_seq)
{
    store_val p[] = {SV_TEXT(conv), SV_TEXT(user), SV_TEXT(role), SV_INT(msg__now()),
                     SV_INT(read_seq)};
    return store_exec(st,
                      "INSERT INTO msg_members(conversation_id, user_id, role, joined_at, "
                      "read_seq) VALUES (?, ?, ?, ?, ?)",
                      p, 5, NULL);
}

int msg__conv_create_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    const char *kind = json_string_value(json_object_get(c->in, "kind"));
    const json_t *others = json_object_get(c->in, "members");
    bool direct = strcmp(kind, "direct") == 0, channel = strcmp(kind, "channel") == 0;
    char id[CC_ID_LEN + 1] = "", key[2 * CC_ID_LEN + 2] = "";
    json_t *conv = NULL, *roles = NULL;
    int rc = conv__check_users(st, c, others);
    if (rc != CC_OK)
        return rc;
    if (direct) {
        const char *other = json_string_value(json_array_get(others, 0));
        bool me_first = strcmp(c->who.user_id, other) < 0;
        snprintf(key, sizeof(key), "%s:%s", me_first ? c->who.user_id : other,
                 me_first ? other : c->who.user_id);
        store_val p[] = {SV_TEXT(key)};
        if ((rc = store_query(st, "SELECT id FROM msg_conversations WHERE direct_key = ?", p, 1,
                              conv__found, id)) != CC_OK)
            return rc;
        if (id[0]) { /* one direct conversation per pair: give the one they have */
            c->status = 200;
            return msg__conv_json(st, id, c->who.user_id, &c->out);
        }
    }
    cc_id_new(id);
    int64_t now = msg__now();
    const char *vis = json_string_value(json_object_get(c->in, "visibility"));
    store_val p[] = {SV_TEXT(id),
                     SV_TEXT(kind),
                     SV_TEXT(json_string_value(json_object_get(c->in, "name"))),
                     SV_TEXT(json_string_value(json_object_get(c->in, "topic"))),
                     SV_TEXT(channel ? (vis ? vis : "public") : "private"),
                     SV_TEXT(direct ? key : NULL),
                     SV_TEXT(c->who.user_id),
                     SV_INT(now),
                     SV_INT(now),
                     SV_INT(now)};
    if ((rc = store_exec(st,
                         "INSERT INTO msg_conversations(id, kind, name, topic, visibility, "
                         "direct_key, created_by, created_at, updated_at, last_message_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         p, 10, NULL)) != CC_OK)
        return rc;
    const char *my_role = direct ? "member" : "owner";
    if (!(roles = json_array()) ||
        json_array_append_new(
            roles, json_pack("{s:s,s:s}", "user_id", c->who.user_id, "role", my_role)) != 0)
        goto nomem;
    if ((rc = msg__member_insert(st, id, c->who.user_id, my_role, 0)) != CC_OK)
        goto out;
    size_t i;
    json_t *v;
    json_array_foreach(others, i, v)
    {
        if ((rc = msg__member_insert(st, id, json_string_value(v), "member", 0)) != CC_OK)
            goto out;
        if (json_array_append_new(roles, json_pack("{s:O,s:s}", "user_id", v, "role", "member")) !=
            0)
            goto nomem;
    }
    if ((rc = msg__conv_json(st, id, NULL, &conv)) != CC_OK)
        goto out;
    json_object_set(conv, "member_roles", roles);
    if ((rc = msg__event_conv(st, "conversation.created", id, conv)) != CC_OK)
        goto out;
    if (channel || json_array_size(others) > 0) {
        char object[32 + CC_ID_LEN];
        snprintf(object, sizeof(object), "conversation:%s", id);
        rc = msg__audit(st, c, "conversation.create", object,
                        json_pack("{s:s,s:s,s:I}", "kind", kind, "visibility",
                                  json_string_value(json_object_get(conv, "visibility")), "invited",
                                  (json_int_t)json_array_size(others)));
        if (rc != CC_OK)
            goto out;
    }
    c->status = 201;
    rc = msg__conv_json(st, id, c->who.user_id, &c->out);
    goto out;
nomem:
    rc = CC_ERR_NOMEM;
out:
    if (conv)
        json_decref(conv);
    if (roles)
        json_decref(roles);
    return rc;
}

/* Checks and normalises "members" (distinct ids, without the creator) for the kind. Returns
 * NULL, or an error code with its message in *why. */
static const char *conv__members_ok(msg_ctx *c, const char *kind, const char **why)
{
    json_t *in = json_object_get(c->in, "members"), *out = json_array(), *v;
    size_t i;
    *why = "out of memory";
    if (!out)
        return "internal";
    json_array_foreach(in, i, v)
    {
        const char *id = json_string_value(v);
        bool dup = false;
        size_t k;
        json_t *w;
        if (!msg__id_valid(id)) {
            json_decref(out);
            *why = "members must be user ids";
            return "invalid_request";
        }
        json_array_foreach(out, k, w)
        {
            dup = dup || strcmp(json_string_value(w), id) == 0;
        }
        if (!dup && strcmp(id, c->who.user_id) != 0)
            json_array_append_new(out, json_string(id));
    }
    json_object_set_new(c->in, "members", out);
    size_t n = json_array_size(out);
    if (strcmp(kind, "direct") == 0 && n != 1)
        *why = "a direct conversation is between you and one other person";
    else if (strcmp(kind, "group") == 0 && (n < 1 || n + 1 > MSG_GROUP_MAX))
        *why = "a group conversation has 2 to 50 people";
    else if (strcmp(kind, "channel") == 0 && n > MSG_INVITES_MAX)
        *why = "invite at most 500 people at creation";
    else
        return NULL;
    return "invalid_members";
}

static void conv__create(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_NONE);
    if (!c)
        return;
    const char *kind = json_string_value(json_object_get(c->in, "kind"));
    const char *vis = json_string_value(json_object_get(c->in, "visibility"));
    const char *name = json_string_value(json_object_get(c->in, "name"));
    const char *code = NULL, *why = NULL;
    if (strcmp(kind, "channel") != 0 && strcmp(kind, "group") != 0 && strcmp(kind, "direct") != 0)
        code = "invalid_kind", why = "kind is channel, group or direct";
    else if (strcmp(kind, "channel") == 0 && !name)
        code = "invalid_request", why = "a channel needs a name";
    else if (vis && (strcmp(kind, "channel") != 0 ||
                     (strcmp(vis, "public") != 0 && strcmp(vis, "private") != 0)))
        code = "invalid_visibility", why = "visibility is public or private, for channels only";
    else if (strcmp(kind, "direct") == 0 && (name || json_object_get(c->in, "topic")))
        code = "invalid_request", why = "a direct conversation has no name or topic";
    else
        code = conv__members_ok(c, kind, &why);
    if (code) {
        net_reply_error(r, strcmp(code, "internal") == 0 ? 500 : 400, code, why);
        msg__ctx_free(c);
        return;
    }
    msg__submit(c, msg__conv_create_job);
}

/* ---- list, discover, read ------------------------------------------------------------------- */

#define CONV_LIST_COLS                                                                             \
    "c.id, c.kind, c.name, c.topic, c.visibility, c.archived, c.created_at, c.created_by, "        \
    "c.last_seq, (SELECT COUNT(*) FROM msg_members x WHERE x.conversation_id = c.id), "            \
    "c.last_message_at"

/* Unread: messages of others after my read position, not deleted; mentions: those of them that
 * name me or the whole conversation. Counted at query time, so only for current members. */
#define CONV_COUNTS                                                                                \
    ", mb.role, mb.read_seq, (SELECT COUNT(*) FROM msg_messages m WHERE m.conversation_id = "      \
    "c.id AND m.seq > mb.read_seq AND m.author_id <> mb.user_id AND m.deleted_at IS NULL), "       \
    "(SELECT COUNT(*) FROM msg_messages m WHERE m.conversation_id = c.id AND m.seq > "             \
    "mb.read_seq AND m.author_id <> mb.user_id AND m.deleted_at IS NULL AND (m.mention_all = 1 "   \
    "OR EXISTS (SELECT 1 FROM msg_mentions x WHERE x.message_id = m.id AND x.user_id = "           \
    "mb.user_id)))"

static int conv__list_row(void *ud, const store_row *r)
{
    json_t *o = json_pack(
        "{s:s,s:s,s:s?,s:s?,s:s,s:b,s:I,s:s,s:I,s:I,s:I}", "id", store_row_text(r, 0), "kind",
        store_row_text(r, 1), "name", store_row_text(r, 2), "topic", store_row_text(r, 3),
        "visibility", store_row_text(r, 4), "archived", store_row_int(r, 5) != 0, "created_at",
        (json_int_t)store_row_int(r, 6), "created_by", store_row_text(r, 7), "last_seq",
        (json_int_t)store_row_int(r, 8), "members_count", (json_int_t)store_row_int(r, 9),
        "last_message_at", (json_int_t)store_row_int(r, 10));
    if (!o)
        return CC_ERR_NOMEM;
    if (store_row_cols(r) > 11) {
        json_object_set_new(o, "my_role", json_string(store_row_text(r, 11)));
        json_object_set_new(o, "read_seq", json_integer(store_row_int(r, 12)));
        json_object_set_new(o, "unread", json_integer(store_row_int(r, 13)));
        json_object_set_new(o, "mentions", json_integer(store_row_int(r, 14)));
    } else {
        json_object_set_new(o, "my_role", json_null());
    }
    return json_array_append_new(ud, o) == 0 ? 0 : CC_ERR_NOMEM;
}

static int conv__add_members(store *st, json_t *list)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "kind")), "channel") == 0)
            continue;
        json_t *ids;
        int rc = msg__conv_member_ids(st, json_string_value(json_object_get(o, "id")), &ids);
        if (rc != CC_OK)
            return rc;
        json_object_set_new(o, "members", ids);
    }
    return CC_OK;
}

static int conv__list_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    json_t *list = json_array();
    int rc;
    if (!list || !(c->out = json_pack("{s:o}", "conversations", list)))
        return CC_ERR_NOMEM;
    store_val p[] = {SV_TEXT(c->who.user_id)};
    if (c->param[0]) /* discover: public channels I am not in */
        rc = store_query(st,
                         "SELECT " CONV_LIST_COLS " FROM msg_conversations c WHERE c.kind = "
                         "'channel' AND c.visibility = 'public' AND c.archived = 0 AND NOT "
                         "EXISTS (SELECT 1 FROM msg_members mb WHERE mb.conversation_id = c.id "
                         "AND mb.user_id = ?) ORDER BY c.name, c.id",
                         p, 1, conv__list_row, list);
    else
        rc = store_query(st,
                         "SELECT " CONV_LIST_COLS CONV_COUNTS " FROM msg_members mb JOIN "
                         "msg_conversations c ON c.id = mb.conversation_id WHERE mb.user_id = ? "
                         "ORDER BY c.last_message_at DESC, c.id",
                         p, 1, conv__list_row, list);
    return rc == CC_OK ? conv__add_members(st, list) : rc;
}

static void conv__list(net_req *r)
{
    char q[32] = "";
    if (net_req_query(r, "discover", q, sizeof(q)) && strcmp(q, "public") != 0) {
        net_reply_error(r, 400, "invalid_request", "discover takes the value public");
        return;
    }
    msg_ctx *c = msg__ctx_new(r, MSG_ID_NONE);
    if (!c)
        return;
    snprintf(c->param, sizeof(c->param), "%s", q);
    msg__submit(c, conv__list_job);
}

static int conv__get_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    int rc = msg__conv_access(st, c, c->conv, false, &cv);
    if (rc != CC_OK)
        return rc;
    json_t *list = json_array();
    if (!list)
        return CC_ERR_NOMEM;
    store_val p[] = {SV_TEXT(c->who.user_id), SV_TEXT(c->conv)};
    if (cv.my_role != MSG_ROLE_NONE)
        rc = store_query(st,
                         "SELECT " CONV_LIST_COLS CONV_COUNTS " FROM msg_members mb JOIN "
                         "msg_conversations c ON c.id = mb.conversation_id WHERE mb.user_id = ? "
                         "AND c.id = ?",
                         p, 2, conv__list_row, list);
    else
        rc = store_query(st, "SELECT " CONV_LIST_COLS " FROM msg_conversations c WHERE c.id = ?",
                         p + 1, 1, conv__list_row, list);
    if (rc == CC_OK)
        rc = conv__add_members(st, list);
    if (rc == CC_OK && json_array_size(list) == 1)
        c->out = json_incref(json_array_get(list, 0));
    json_decref(list);
    return rc == CC_OK && !c->out ? CC_ERR_NOT_FOUND : rc;
}

static void conv__get(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (c)
        msg__submit(c, conv__get_job);
}

/* ---- change: name, topic, archived ---------------------------------------------------------- */

static int conv__patch_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    const char *name = json_string_value(json_object_get(c->in, "name"));
    const char *topic = json_string_value(json_object_get(c->in, "topic"));
    json_t *arch = json_object_get(c->in, "archived");
    int rc = msg__conv_access(st, c, c->conv, true, &cv);
    if (rc != CC_OK)
        return rc;
    if (strcmp(cv.kind, "direct") == 0)
        return msg__fail(c, 409, "direct_conversation", "a direct conversation cannot be changed");
    /* Owners run channels; in a group anyone may rename, only its owners archive. */
    if (cv.my_role != MSG_ROLE_OWNER && (strcmp(cv.kind, "channel") == 0 || arch))
        return msg__fail(c, 403, "not_owner", "only the conversation's owners can do this");
    bool archived = arch ? json_is_true(arch) : cv.archived;
    store_val p[] = {SV_TEXT(name), SV_TEXT(topic), SV_INT(archived), SV_INT(msg__now()),
                     SV_TEXT(c->conv)};
    if ((rc = store_exec(st,
                         "UPDATE msg_conversations SET name = COALESCE(?, name), topic = "
                         "COALESCE(?, topic), archived = ?, updated_at = ? WHERE id = ?",
                         p, 5, NULL)) != CC_OK)
        return rc;
    json_t *conv = NULL;
    if ((rc = msg__conv_json(st, c->conv, NULL, &conv)) != CC_OK ||
        (rc = msg__event_conv(st, "conversation.updated", c->conv, conv)) != CC_OK)
        goto out;
    char object[32 + CC_ID_LEN];
    snprintf(object, sizeof(object), "conversation:%s", c->conv);
    if (archived != cv.archived &&
        (rc = msg__audit(st, c, archived ? "conversation.archive" : "conversation.unarchive",
                         object, NULL)) != CC_OK)
        goto out;
    if ((name || topic) && (rc = msg__audit(st, c, "conversation.update", object,
                                            json_pack("{s:b,s:b}", "name", name != NULL, "topic",
                                                      topic != NULL))) != CC_OK)
        goto out;
    rc = msg__conv_json(st, c->conv, c->who.user_id, &c->out);
out:
    if (conv)
        json_decref(conv);
    return rc;
}

static void conv__patch(net_req *r)
{
    if (json_object_size(net_req_body(r)) == 0) {
        net_reply_error(r, 400, "invalid_request", "change name, topic or archived");
        return;
    }
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (c)
        msg__submit(c, conv__patch_job);
}

/* ---- join and leave ------------------------------------------------------------------------- */

static int conv__join_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    int rc = msg__conv_access(st, c, c->conv, false, &cv);
    if (rc != CC_OK)
        return rc;
    if (cv.my_role != MSG_ROLE_NONE) /* already in: nothing to do */
        return msg__conv_json(st, c->conv, c->who.user_id, &c->out);
    if (cv.archived)
        return msg__fail(c, 409, "archived", "this channel is archived");
    /* Joining starts reading from now: the history is there, not counted as unread. */
    if ((rc = msg__member_insert(st, c->conv, c->who.user_id, "member", cv.last_seq)) != CC_OK)
        return rc;
    json_t *conv = NULL, *ev = NULL;
    if ((rc = msg__conv_json(st, c->conv, NULL, &conv)) != CC_OK)
        return rc;
    ev = json_pack("{s:s,s:s,s:s,s:s,s:O}", "conversation_id", c->conv, "user_id", c->who.user_id,
                   "role", "member", "by", c->who.user_id, "conversation", conv);
    rc = ev ? msg__event_conv(st, "member.joined", c->conv, ev) : CC_ERR_NOMEM;
    if (rc == CC_OK)
        rc = msg__conv_json(st, c->conv, c->who.user_id, &c->out);
    json_decref(conv);
    if (ev)
        json_decref(ev);
    return rc;
}

static void conv__join(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (c)
        msg__submit(c, conv__join_job);
}

static int conv__leave_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    int rc = msg__conv_access(st, c, c->conv, true, &cv);
    if (rc != CC_OK)
        return rc;
    if (strcmp(cv.kind, "direct") == 0)
        return msg__fail(c, 409, "direct_conversation", "a direct conversation cannot be left");
    if ((rc = msg__member_remove(st, c, c->conv, c->who.user_id, "left")) != CC_OK)
        return rc;
    c->out = json_pack("{s:s,s:s}", "conversation_id", c->conv, "user_id", c->who.user_id);
    return c->out ? CC_OK : CC_ERR_NOMEM;
}

static void conv__leave(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (c)
        msg__submit(c, conv__leave_job);
}

static const cc_json_field conv__create_body[] = {
    {"kind", CC_JSON_STRING, true, 1, 16},
    {"name", CC_JSON_STRING, false, 1, MSG_NAME_MAX},
    {"topic", CC_JSON_STRING, false, 0, MSG_TOPIC_MAX},
    {"visibility", CC_JSON_STRING, false, 1, 16},
    {"members", CC_JSON_ARRAY, false, 0, 0},
};
static const cc_json_field conv__patch_body[] = {
    {"name", CC_JSON_STRING, false, 1, MSG_NAME_MAX},
    {"topic", CC_JSON_STRING, false, 0, MSG_TOPIC_MAX},
    {"archived", CC_JSON_BOOL, false, 0, 0},
};

const net_route msg_conv_routes[] = {
    {"GET", "/api/v1/conversations", PERM_MESSAGES, 0, NULL, 0, conv__list},
    {"POST", "/api/v1/conversations", PERM_MESSAGES, 0, conv__create_body, 5, conv__create},
    {"GET", "/api/v1/conversations/:id", PERM_MESSAGES, 0, NULL, 0, conv__get},
    {"PATCH", "/api/v1/conversations/:id", PERM_MESSAGES, 0, conv__patch_body, 3, conv__patch},
    {"POST", "/api/v1/conversations/:id/join", PERM_MESSAGES, 0, NULL, 0, conv__join},
    {"POST", "/api/v1/conversations/:id/leave", PERM_MESSAGES, 0, NULL, 0, conv__leave},
};
const size_t msg_conv_routes_count = sizeof(msg_conv_routes) / sizeof(msg_conv_routes[0]);
