/* Members of a conversation: invite (and change a member's role), remove, list with presence.
 * Private channels are run by their owners; in public channels and groups any member may add
 * people; only owners remove others. Invitations, role changes and removals are audited. */
#include "msg/msg_internal.h"

#include <string.h>

static int mem__role_row(void *ud, const store_row *r)
{
    const char *role = store_row_text(r, 0);
    *(msg_role *)ud = strcmp(role, "owner") == 0 ? MSG_ROLE_OWNER : MSG_ROLE_MEMBER;
    return 1;
}

static int mem__role(store *st, const char *conv, const char *user, msg_role *out)
{
    *out = MSG_ROLE_NONE;
    store_val p[] = {SV_TEXT(conv), SV_TEXT(user)};
    return store_query(st, "SELECT role FROM msg_members WHERE conversation_id = ? AND user_id = ?",
                       p, 2, mem__role_row, out);
}

static int mem__first_row(void *ud, const store_row *r)
{
    snprintf(ud, CC_ID_LEN + 1, "%s", store_row_text(r, 0));
    return 1;
}

int msg__member_remove(store *st, msg_ctx *c, const char *conv, const char *user,
                       const char *reason)
{
    char scope[8 + 2 * CC_ID_LEN];
    store_val p[] = {SV_TEXT(conv), SV_TEXT(user)};
    int64_t owners = 0;
    char heir[CC_ID_LEN + 1] = "";
    int rc = store_exec(st, "DELETE FROM msg_members WHERE conversation_id = ? AND user_id = ?", p,
                        2, NULL);
    if (rc == CC_OK) /* no more reminders for someone who cannot read the conversation */
        rc = store_exec(st,
                        "DELETE FROM msg_acks WHERE conversation_id = ? AND user_id = ? AND "
                        "acked_at IS NULL",
                        p, 2, NULL);
    if (rc != CC_OK)
        return rc;
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "conversation_id", conv, "user_id", user, "by",
                           c->who.user_id, "reason", reason);
    snprintf(scope, sizeof(scope), "conv:%s:%s", conv, user);
    rc = ev ? msg__event(st, "member.left", scope, ev) : CC_ERR_NOMEM;
    if (ev)
        json_decref(ev);
    if (rc == CC_OK)
        rc = store_query_int(st,
                             "SELECT COUNT(*) FROM msg_members WHERE conversation_id = ? AND "
                             "role = 'owner'",
                             p, 1, &owners);
    if (rc != CC_OK || owners > 0)
        return rc;
    if ((rc = store_query(st,
                          "SELECT user_id FROM msg_members WHERE conversation_id = ? ORDER BY "
                          "joined_at, user_id LIMIT 1",
                          p, 1, mem__first_row, heir)) != CC_OK ||
        !heir[0])
        return rc;
    store_val q[] = {SV_TEXT(conv), SV_TEXT(heir)};
    if ((rc = store_exec(st,
                         "UPDATE msg_members SET role = 'owner' WHERE conversation_id = ? AND "
                         "user_id = ?",
                         q, 2, NULL)) != CC_OK)
        return rc;
    ev = json_pack("{s:s,s:s,s:s}", "conversation_id", conv, "user_id", heir, "role", "owner");
    rc = ev ? msg__event_conv(st, "member.updated", conv, ev) : CC_ERR_NOMEM;
    if (ev)
        json_decref(ev);
    return rc;
}

/* ---- invite, or change a member's role ------------------------------------------------------ */

static int mem__set_role(store *st, msg_ctx *c, const char *target, const char *role)
{
    store_val p[] = {SV_TEXT(role), SV_TEXT(c->conv), SV_TEXT(target)};
    int rc =
        store_exec(st, "UPDATE msg_members SET role = ? WHERE conversation_id = ? AND user_id = ?",
                   p, 3, NULL);
    json_t *ev =
        json_pack("{s:s,s:s,s:s}", "conversation_id", c->conv, "user_id", target, "role", role);
    if (rc == CC_OK)
        rc = ev ? msg__event_conv(st, "member.updated", c->conv, ev) : CC_ERR_NOMEM;
    if (ev)
        json_decref(ev);
    char object[32 + CC_ID_LEN];
    snprintf(object, sizeof(object), "conversation:%s", c->conv);
    if (rc == CC_OK)
        rc = msg__audit(st, c, "conversation.member_role", object,
                        json_pack("{s:s,s:s}", "user_id", target, "role", role));
    return rc;
}

static int mem__invite_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    const char *target = json_string_value(json_object_get(c->in, "user_id"));
    const char *role = json_string_value(json_object_get(c->in, "role"));
    msg_role current;
    auth_user u;
    int rc = msg__conv_access(st, c, c->conv, true, &cv);
    if (rc != CC_OK)
        return rc;
    bool owner = cv.my_role == MSG_ROLE_OWNER;
    if (strcmp(cv.kind, "direct") == 0)
        return msg__fail(c, 409, "direct_conversation",
                         "a direct conversation is between two people: start a group instead");
    if (cv.archived)
        return msg__fail(c, 409, "archived", "this conversation is archived");
    if (!owner && ((strcmp(cv.kind, "channel") == 0 && strcmp(cv.visibility, "private") == 0) ||
                   (role && strcmp(role, "owner") == 0)))
        return msg__fail(c, 403, "not_owner", "only the conversation's owners can do this");
    rc = auth_user_get(st, target, NULL, &u);
    if (rc == CC_ERR_NOT_FOUND || (rc == CC_OK && u.disabled))
        return msg__fail(c, 404, "user_not_found", "no such active account");
    if (rc != CC_OK || (rc = mem__role(st, c->conv, target, &current)) != CC_OK)
        return rc;
    if (current != MSG_ROLE_NONE) {
        const char *now = current == MSG_ROLE_OWNER ? "owner" : "member";
        if (role && strcmp(role, now) != 0) {
            if (!owner)
                return msg__fail(c, 403, "not_owner", "only the conversation's owners can do this");
            if ((rc = mem__set_role(st, c, target, role)) != CC_OK)
                return rc;
            now = role;
        }
        c->out =
            json_pack("{s:s,s:s,s:s}", "conversation_id", c->conv, "user_id", target, "role", now);
        return c->out ? CC_OK : CC_ERR_NOMEM;
    }
    if (strcmp(cv.kind, "group") == 0) {
        int64_t n = 0;
        store_val p[] = {SV_TEXT(c->conv)};
        if ((rc = store_query_int(st, "SELECT COUNT(*) FROM msg_members WHERE conversation_id = ?",
                                  p, 1, &n)) != CC_OK)
            return rc;
        if (n >= MSG_GROUP_MAX)
            return msg__fail(c, 409, "group_full", "a group conversation has at most 50 people");
    }
    if (!role)
        role = "member";
    if ((rc = msg__member_insert(st, c->conv, target, role, cv.last_seq)) != CC_OK)
        return rc;
    json_t *conv = NULL, *ev = NULL;
    if ((rc = msg__conv_json(st, c->conv, NULL, &conv)) != CC_OK)
        return rc;
    ev = json_pack("{s:s,s:s,s:s,s:s,s:O}", "conversation_id", c->conv, "user_id", target, "role",
                   role, "by", c->who.user_id, "conversation", conv);
    json_decref(conv);
    rc = ev ? msg__event_conv(st, "member.joined", c->conv, ev) : CC_ERR_NOMEM;
    if (ev)
        json_decref(ev);
    char object[32 + CC_ID_LEN];
    snprintf(object, sizeof(object), "conversation:%s", c->conv);
    if (rc == CC_OK)
        rc = msg__audit(st, c, "conversation.invite", object,
                        json_pack("{s:s,s:s}", "user_id", target, "role", role));
    if (rc != CC_OK)
        return rc;
    c->status = 201;
    c->out =
        json_pack("{s:s,s:s,s:s}", "conversation_id", c->conv, "user_id", target, "role", role);
    return c->out ? CC_OK : CC_ERR_NOMEM;
}

static void mem__invite(net_req *r)
{
    json_t *b = net_req_body(r);
    const char *role = json_string_value(json_object_get(b, "role"));
    if (!msg__id_valid(json_string_value(json_object_get(b, "user_id")))) {
        net_reply_error(r, 404, "user_not_found", "no such active account");
        return;
    }
    if (role && strcmp(role, "owner") != 0 && strcmp(role, "member") != 0) {
        net_reply_error(r, 400, "invalid_role", "role is owner or member");
        return;
    }
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (c)
        msg__submit(c, mem__invite_job);
}

/* ---- remove --------------------------------------------------------------------------------- */

static int mem__remove_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    msg_role current;
    bool self = strcmp(c->target, c->who.user_id) == 0;
    int rc = msg__conv_access(st, c, c->conv, true, &cv);
    if (rc != CC_OK)
        return rc;
    if (strcmp(cv.kind, "direct") == 0)
        return msg__fail(c, 409, "direct_conversation", "a direct conversation cannot change");
    if (!self && cv.my_role != MSG_ROLE_OWNER)
        return msg__fail(c, 403, "not_owner", "only the conversation's owners can do this");
    if ((rc = mem__role(st, c->conv, c->target, &current)) != CC_OK)
        return rc;
    if (current == MSG_ROLE_NONE)
        return msg__fail(c, 404, "member_not_found", "this person is not a member");
    if ((rc = msg__member_remove(st, c, c->conv, c->target, self ? "left" : "removed")) != CC_OK)
        return rc;
    if (!self) {
        char object[32 + CC_ID_LEN];
        snprintf(object, sizeof(object), "conversation:%s", c->conv);
        if ((rc = msg__audit(st, c, "conversation.remove", object,
                             json_pack("{s:s}", "user_id", c->target))) != CC_OK)
            return rc;
    }
    c->out = json_pack("{s:s,s:s}", "conversation_id", c->conv, "user_id", c->target);
    return c->out ? CC_OK : CC_ERR_NOMEM;
}

static void mem__remove(net_req *r)
{
    const char *user = net_req_param(r, "user_id");
    if (!msg__id_valid(user)) {
        net_reply_error(r, 404, "member_not_found", "this person is not a member");
        return;
    }
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (!c)
        return;
    memcpy(c->target, user, CC_ID_LEN + 1);
    msg__submit(c, mem__remove_job);
}

/* ---- list ----------------------------------------------------------------------------------- */

static int mem__list_row(void *ud, const store_row *r)
{
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:s}", "user_id", store_row_text(r, 0), "role",
                          store_row_text(r, 1), "joined_at", (json_int_t)store_row_int(r, 2),
                          "username", store_row_text(r, 3), "display_name", store_row_text(r, 4));
    return o && json_array_append_new(ud, o) == 0 ? 0 : CC_ERR_NOMEM;
}

static int mem__list_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    int rc = msg__conv_access(st, c, c->conv, false, &cv);
    if (rc != CC_OK)
        return rc;
    json_t *list = json_array();
    if (!list || !(c->out = json_pack("{s:o}", "members", list)))
        return CC_ERR_NOMEM;
    store_val p[] = {SV_TEXT(c->conv)};
    return store_query(st,
                       "SELECT mb.user_id, mb.role, mb.joined_at, u.username, u.display_name "
                       "FROM msg_members mb JOIN users u ON u.id = mb.user_id WHERE "
                       "mb.conversation_id = ? ORDER BY u.username",
                       p, 1, mem__list_row, list);
}

/* Presence is in memory, on the loop: added once the rows are back. */
static void mem__list_finish(msg_ctx *c)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(c->out, "members"), i, o)
    {
        const char *user = json_string_value(json_object_get(o, "user_id"));
        json_object_set_new(o, "presence", msg__presence_json(c->m, user));
    }
}

static void mem__list(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (!c)
        return;
    c->finish = mem__list_finish;
    msg__submit(c, mem__list_job);
}

static const cc_json_field mem__invite_body[] = {
    {"user_id", CC_JSON_STRING, true, 1, 64},
    {"role", CC_JSON_STRING, false, 1, 16},
};

const net_route msg_member_routes[] = {
    {"GET", "/api/v1/conversations/:id/members", PERM_MESSAGES, 0, NULL, 0, mem__list},
    {"POST", "/api/v1/conversations/:id/members", PERM_MESSAGES, 0, mem__invite_body, 2,
     mem__invite},
    {"DELETE", "/api/v1/conversations/:id/members/:user_id", PERM_MESSAGES, 0, NULL, 0,
     mem__remove},
};
const size_t msg_member_routes_count = sizeof(msg_member_routes) / sizeof(msg_member_routes[0]);
