/* Around messages: reactions, pins, acknowledgements of urgent messages, and read positions
 * ("read up to", which never moves backwards) with the unread and mention counts they leave. */
#include "msg/msg_internal.h"

#include <string.h>

/* Loads the message of the route with access, refusing deleted ones when alive is set. */
static int extras__message(store *st, msg_ctx *c, bool alive, json_t **m, msg_conv_row *cv)
{
    int rc = msg__message_load(st, c, c->target, m, cv);
    if (rc == CC_OK && alive && json_is_true(json_object_get(*m, "deleted"))) {
        json_decref(*m);
        *m = NULL;
        rc = msg__fail(c, 409, "message_deleted", "this message was deleted");
    }
    return rc;
}

/* ---- reactions ------------------------------------------------------------------------------ */

static int extras__react_job(store *st, void *ctx, bool add)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    json_t *m = NULL;
    int64_t changed = 0;
    int rc = extras__message(st, c, add, &m, &cv);
    if (rc != CC_OK)
        return rc;
    json_decref(m);
    store_val p[] = {SV_TEXT(c->target), SV_TEXT(c->who.user_id), SV_TEXT(c->param),
                     SV_INT(msg__now())};
    if (add)
        rc = store_exec(st,
                        "INSERT INTO msg_reactions(message_id, user_id, emoji, created_at) VALUES "
                        "(?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        p, 4, &changed);
    else
        rc = store_exec(st,
                        "DELETE FROM msg_reactions WHERE message_id = ? AND user_id = ? AND "
                        "emoji = ?",
                        p, 3, &changed);
    c->out = json_pack("{s:s,s:s,s:s,s:s}", "message_id", c->target, "conversation_id", c->conv,
                       "user_id", c->who.user_id, "emoji", c->param);
    if (rc == CC_OK && !c->out)
        rc = CC_ERR_NOMEM;
    if (rc == CC_OK && changed) /* only a change is an event: repeating one is harmless */
        rc = msg__event_conv(st, add ? "reaction.added" : "reaction.removed", c->conv, c->out);
    return rc;
}

static int extras__react_add_job(store *st, void *ctx)
{
    return extras__react_job(st, ctx, true);
}

static int extras__react_del_job(store *st, void *ctx)
{
    return extras__react_job(st, ctx, false);
}

/* An emoji or a short code (":+1:"): 1..32 bytes of UTF-8 without spaces, controls or '/'. */
static bool extras__emoji_ok(const char *e)
{
    size_t n = e ? strlen(e) : 0;
    if (n == 0 || n > MSG_EMOJI_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)e[i];
        if (ch <= 0x20 || ch == 0x7F || ch == '/')
            return false;
    }
    json_t *o = json_string(e); /* NULL when not valid UTF-8 */
    if (o)
        json_decref(o);
    return o != NULL;
}

static void extras__react(net_req *r, const char *emoji, store_job_fn job)
{
    if (!extras__emoji_ok(emoji)) {
        net_reply_error(r, 400, "invalid_emoji", "an emoji is 1 to 32 bytes without spaces");
        return;
    }
    msg_ctx *c = msg__ctx_new(r, MSG_ID_MESSAGE);
    if (!c)
        return;
    snprintf(c->param, sizeof(c->param), "%s", emoji);
    msg__submit(c, job);
}

static void extras__react_add(net_req *r)
{
    extras__react(r, json_string_value(json_object_get(net_req_body(r), "emoji")),
                  extras__react_add_job);
}

static void extras__react_del(net_req *r)
{
    extras__react(r, net_req_param(r, "emoji"), extras__react_del_job);
}

/* ---- pins ----------------------------------------------------------------------------------- */

static int extras__pin_job(store *st, void *ctx, bool pin)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    json_t *m = NULL;
    int64_t changed = 0, now = msg__now();
    int rc = extras__message(st, c, pin, &m, &cv);
    if (rc != CC_OK)
        return rc;
    json_decref(m);
    store_val p[] = {SV_INT(now), SV_TEXT(c->who.user_id), SV_TEXT(c->target)};
    if (pin)
        rc = store_exec(st,
                        "UPDATE msg_messages SET pinned_at = ?, pinned_by = ? WHERE id = ? AND "
                        "pinned_at IS NULL",
                        p, 3, &changed);
    else
        rc = store_exec(st,
                        "UPDATE msg_messages SET pinned_at = NULL, pinned_by = NULL WHERE id = ? "
                        "AND pinned_at IS NOT NULL",
                        p + 2, 1, &changed);
    c->out = json_pack("{s:s,s:s,s:s,s:I,s:b}", "message_id", c->target, "conversation_id", c->conv,
                       "user_id", c->who.user_id, "at", (json_int_t)now, "pinned", pin);
    if (rc == CC_OK && !c->out)
        rc = CC_ERR_NOMEM;
    if (rc == CC_OK && changed)
        rc = msg__event_conv(st, pin ? "message.pinned" : "message.unpinned", c->conv, c->out);
    return rc;
}

static int extras__pin_add_job(store *st, void *ctx)
{
    return extras__pin_job(st, ctx, true);
}

static int extras__pin_del_job(store *st, void *ctx)
{
    return extras__pin_job(st, ctx, false);
}

static void extras__pin(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_MESSAGE);
    if (c)
        msg__submit(c, extras__pin_add_job);
}

static void extras__unpin(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_MESSAGE);
    if (c)
        msg__submit(c, extras__pin_del_job);
}

static int extras__pins_row(void *ud, const store_row *r)
{
    json_t *o = msg__message_json_row(r);
    return o && json_array_append_new(ud, o) == 0 ? 0 : CC_ERR_NOMEM;
}

static int extras__pins_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    int rc = msg__conv_access(st, c, c->conv, true, &cv);
    if (rc != CC_OK)
        return rc;
    json_t *arr = json_array();
    if (!arr || !(c->out = json_pack("{s:o}", "messages", arr)))
        return CC_ERR_NOMEM;
    store_val p[] = {SV_TEXT(c->conv)};
    return store_query(st,
                       "SELECT " MSG_COLS " FROM msg_messages m WHERE m.conversation_id = ? AND "
                       "m.pinned_at IS NOT NULL ORDER BY m.pinned_at DESC, m.seq DESC",
                       p, 1, extras__pins_row, arr);
}

static void extras__pins(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (c)
        msg__submit(c, extras__pins_job);
}

/* ---- acknowledgements ----------------------------------------------------------------------- */

static int extras__ack_row(void *ud, const store_row *r)
{
    int64_t *at = ud;
    at[0] = 1;
    at[1] = store_row_is_null(r, 0) ? 0 : store_row_int(r, 0);
    return 1;
}

static int extras__ack_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    json_t *m = NULL;
    int64_t found[2] = {0, 0}, now = msg__now();
    int rc = extras__message(st, c, true, &m, &cv);
    if (rc != CC_OK)
        return rc;
    bool urgent = json_is_true(json_object_get(m, "urgent"));
    json_decref(m);
    if (!urgent)
        return msg__fail(c, 409, "not_urgent", "only urgent messages are acknowledged");
    store_val p[] = {SV_INT(now), SV_TEXT(c->target), SV_TEXT(c->who.user_id)};
    if ((rc = store_query(st, "SELECT acked_at FROM msg_acks WHERE message_id = ? AND user_id = ?",
                          p + 1, 2, extras__ack_row, found)) != CC_OK)
        return rc;
    if (!found[0])
        return msg__fail(c, 409, "not_a_recipient",
                         "you were not among the recipients of this message");
    if (found[1]) /* acknowledged before: keep the first time */
        now = found[1];
    else if ((rc = store_exec(st,
                              "UPDATE msg_acks SET acked_at = ? WHERE message_id = ? AND user_id = "
                              "? AND acked_at IS NULL",
                              p, 3, NULL)) != CC_OK)
        return rc;
    c->out = json_pack("{s:s,s:s,s:s,s:I}", "message_id", c->target, "conversation_id", c->conv,
                       "user_id", c->who.user_id, "at", (json_int_t)now);
    if (!c->out)
        return CC_ERR_NOMEM;
    return found[1] ? CC_OK : msg__event_conv(st, "urgent.acknowledged", c->conv, c->out);
}

static void extras__ack(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_MESSAGE);
    if (c)
        msg__submit(c, extras__ack_job);
}

static int extras__acks_row(void *ud, const store_row *r)
{
    json_t *out = ud;
    if (store_row_is_null(r, 1))
        return json_array_append_new(json_object_get(out, "pending"),
                                     json_string(store_row_text(r, 0))) == 0
                   ? 0
                   : CC_ERR_NOMEM;
    json_t *o = json_pack("{s:s,s:I}", "user_id", store_row_text(r, 0), "at",
                          (json_int_t)store_row_int(r, 1));
    return o && json_array_append_new(json_object_get(out, "acknowledged"), o) == 0 ? 0
                                                                                    : CC_ERR_NOMEM;
}

static int extras__acks_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    json_t *m = NULL;
    int rc = extras__message(st, c, false, &m, &cv);
    if (rc != CC_OK)
        return rc;
    bool urgent = json_is_true(json_object_get(m, "urgent"));
    json_decref(m);
    c->out = json_pack("{s:s,s:b,s:[],s:[]}", "message_id", c->target, "urgent", urgent,
                       "acknowledged", "pending");
    if (!c->out)
        return CC_ERR_NOMEM;
    store_val p[] = {SV_TEXT(c->target)};
    return store_query(st,
                       "SELECT user_id, acked_at FROM msg_acks WHERE message_id = ? ORDER BY "
                       "acked_at, user_id",
                       p, 1, extras__acks_row, c->out);
}

static void extras__acks(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_MESSAGE);
    if (c)
        msg__submit(c, extras__acks_job);
}

/* The urgent messages I have still to acknowledge: what a client shows at once after it loads,
 * rather than at the next reminder. Only where I am still a member, deleted messages left out. */
static int extras__pending_row(void *ud, const store_row *r)
{
    json_t *o =
        json_pack("{s:s,s:s,s:I,s:s,s:I,s:I}", "message_id", store_row_text(r, 0),
                  "conversation_id", store_row_text(r, 1), "seq", (json_int_t)store_row_int(r, 2),
                  "author_id", store_row_text(r, 3), "created_at", (json_int_t)store_row_int(r, 4),
                  "reminders", (json_int_t)store_row_int(r, 5));
    return o && json_array_append_new(ud, o) == 0 ? 0 : CC_ERR_NOMEM;
}

#define EXTRAS_PENDING_MAX 200

static int extras__pending_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    json_t *list = json_array();
    if (!list)
        return CC_ERR_NOMEM;
    store_val p[] = {SV_TEXT(c->who.user_id), SV_INT(EXTRAS_PENDING_MAX)};
    int rc = store_query(st,
                         "SELECT a.message_id, a.conversation_id, m.seq, m.author_id, "
                         "m.created_at, a.reminders FROM msg_acks a "
                         "JOIN msg_messages m ON m.id = a.message_id "
                         "JOIN msg_members b ON b.conversation_id = a.conversation_id AND "
                         "b.user_id = a.user_id "
                         "WHERE a.user_id = ? AND a.acked_at IS NULL AND m.deleted_at IS NULL "
                         "ORDER BY m.created_at, a.message_id LIMIT ?",
                         p, 2, extras__pending_row, list);
    if (rc == CC_OK && !(c->out = json_pack("{s:O}", "pending", list)))
        rc = CC_ERR_NOMEM;
    json_decref(list);
    return rc;
}

static void extras__pending(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_NONE);
    if (c)
        msg__submit(c, extras__pending_job);
}

/* ---- read positions ------------------------------------------------------------------------- */

static int extras__counts_row(void *ud, const store_row *r)
{
    int64_t *o = ud;
    o[0] = store_row_int(r, 0);
    o[1] = store_row_int(r, 1);
    o[2] = store_row_int(r, 2);
    return 1;
}

static int extras__read_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    int64_t changed = 0, counts[3] = {0, 0, 0};
    int rc = msg__conv_access(st, c, c->conv, true, &cv);
    if (rc != CC_OK)
        return rc;
    int64_t seq = c->after < cv.last_seq ? c->after : cv.last_seq;
    store_val p[] = {SV_INT(seq), SV_TEXT(c->conv), SV_TEXT(c->who.user_id), SV_INT(seq)};
    if ((rc = store_exec(st,
                         "UPDATE msg_members SET read_seq = ? WHERE conversation_id = ? AND "
                         "user_id = ? AND read_seq < ?",
                         p, 4, &changed)) != CC_OK)
        return rc;
    if ((rc = store_query(st,
                          "SELECT mb.read_seq, (SELECT COUNT(*) FROM msg_messages m WHERE "
                          "m.conversation_id = mb.conversation_id AND m.seq > mb.read_seq AND "
                          "m.author_id <> mb.user_id AND m.deleted_at IS NULL), (SELECT COUNT(*) "
                          "FROM msg_messages m WHERE m.conversation_id = mb.conversation_id AND "
                          "m.seq > mb.read_seq AND m.author_id <> mb.user_id AND m.deleted_at IS "
                          "NULL AND (m.mention_all = 1 OR EXISTS (SELECT 1 FROM msg_mentions x "
                          "WHERE x.message_id = m.id AND x.user_id = mb.user_id))) FROM "
                          "msg_members mb WHERE mb.conversation_id = ? AND mb.user_id = ?",
                          p + 1, 2, extras__counts_row, counts)) != CC_OK)
        return rc;
    c->out = json_pack("{s:s,s:I,s:I,s:I}", "conversation_id", c->conv, "read_seq",
                       (json_int_t)counts[0], "unread", (json_int_t)counts[1], "mentions",
                       (json_int_t)counts[2]);
    if (!c->out)
        return CC_ERR_NOMEM;
    if (!changed)
        return CC_OK;
    /* The reader's other devices follow. */
    char scope[8 + CC_ID_LEN];
    snprintf(scope, sizeof(scope), "user:%s", c->who.user_id);
    return msg__event(st, "read.updated", scope, c->out);
}

static void extras__read(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (!c)
        return;
    c->after = json_integer_value(json_object_get(c->in, "seq"));
    msg__submit(c, extras__read_job);
}

static const cc_json_field extras__react_body[] = {
    {"emoji", CC_JSON_STRING, true, 1, MSG_EMOJI_MAX},
};
static const cc_json_field extras__read_body[] = {
    {"seq", CC_JSON_INT, true, 0, INT64_MAX},
};

const net_route msg_extra_routes[] = {
    {"POST", "/api/v1/messages/:id/reactions", PERM_MESSAGES, 0, extras__react_body, 1,
     extras__react_add},
    {"DELETE", "/api/v1/messages/:id/reactions/:emoji", PERM_MESSAGES, 0, NULL, 0,
     extras__react_del},
    {"POST", "/api/v1/messages/:id/pin", PERM_MESSAGES, 0, NULL, 0, extras__pin},
    {"DELETE", "/api/v1/messages/:id/pin", PERM_MESSAGES, 0, NULL, 0, extras__unpin},
    {"GET", "/api/v1/conversations/:id/pins", PERM_MESSAGES, 0, NULL, 0, extras__pins},
    {"POST", "/api/v1/messages/:id/ack", PERM_MESSAGES, 0, NULL, 0, extras__ack},
    {"GET", "/api/v1/messages/:id/acks", PERM_MESSAGES, 0, NULL, 0, extras__acks},
    {"GET", "/api/v1/urgent/pending", PERM_MESSAGES, 0, NULL, 0, extras__pending},
    {"POST", "/api/v1/conversations/:id/read", PERM_MESSAGES, 0, extras__read_body, 1,
     extras__read},
};
const size_t msg_extra_routes_count = sizeof(msg_extra_routes) / sizeof(msg_extra_routes[0]);
