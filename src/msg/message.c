/* Messages: history by sequence (backwards and forwards, optionally one thread), post (mentions,
 * thread replies, urgent messages with one acknowledgement to collect per recipient), edit by the
 * author, delete by the author or an owner. The previous content of an edited or deleted message
 * goes to msg_retention (purged after msg_retention_days), referenced by an audit record; the
 * search index follows every change in the same transaction. */
#include "msg/msg_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- search index --------------------------------------------------------------------------- */

typedef struct {
    store *st;
    const char *message_id, *conv;
    cc_map *seen;
    int rc;
} index_ctx;

static int message__index_term(void *ud, const char *term, size_t len, size_t start, size_t end)
{
    index_ctx *x = ud;
    (void)len;
    (void)start;
    (void)end;
    if (cc_map_get(x->seen, term))
        return 0;
    if (cc_map_count(x->seen) >= MSG_TERMS_MAX)
        return 1; /* a very long message is found by its first words */
    if (cc_map_put(x->seen, term, x, NULL) != CC_OK)
        return CC_ERR_NOMEM;
    store_val p[] = {SV_TEXT(term), SV_TEXT(x->message_id), SV_TEXT(x->conv)};
    int rc = store_exec(x->st,
                        "INSERT INTO msg_terms(term, message_id, conversation_id) VALUES (?, ?, ?)",
                        p, 3, NULL);
    return rc == CC_OK ? 0 : rc;
}

int msg__index_terms(store *st, const char *message_id, const char *conv, const char *body)
{
    store_val p[] = {SV_TEXT(message_id)};
    int rc = store_exec(st, "DELETE FROM msg_terms WHERE message_id = ?", p, 1, NULL);
    if (rc != CC_OK || !body)
        return rc;
    index_ctx x = {st, message_id, conv, cc_map_new_keyed(), CC_OK};
    if (!x.seen)
        return CC_ERR_NOMEM;
    rc = msg_text_terms(body, strlen(body), message__index_term, &x);
    cc_map_free(x.seen, NULL);
    return rc;
}

/* ---- mentions ------------------------------------------------------------------------------- */

typedef struct {
    store *st;
    const char *conv;
    json_t *ids;
    cc_map *seen;
    bool all;
} mention_ctx;

static int message__mention_row(void *ud, const store_row *r)
{
    mention_ctx *x = ud;
    const char *id = store_row_text(r, 0);
    size_t i;
    json_t *v;
    json_array_foreach(x->ids, i, v)
    {
        if (strcmp(json_string_value(v), id) == 0)
            return 1;
    }
    return json_array_append_new(x->ids, json_string(id)) == 0 ? 1 : CC_ERR_NOMEM;
}

static int message__mention(void *ud, const char *name, size_t len)
{
    mention_ctx *x = ud;
    (void)len;
    if (cc_map_get(x->seen, name))
        return 0;
    if (cc_map_count(x->seen) >= MSG_MENTIONS_MAX)
        return 1;
    if (cc_map_put(x->seen, name, x, NULL) != CC_OK)
        return CC_ERR_NOMEM;
    if (strcmp(name, "channel") == 0 || strcmp(name, "all") == 0 || strcmp(name, "here") == 0) {
        x->all = true;
        return 0;
    }
    /* Only members are mentioned: nobody else can read the message. */
    store_val p[] = {SV_TEXT(x->conv), SV_TEXT(name)};
    int rc = store_query(x->st,
                         "SELECT u.id FROM users u JOIN msg_members mb ON mb.user_id = u.id WHERE "
                         "mb.conversation_id = ? AND u.username = ?",
                         p, 2, message__mention_row, x);
    return rc == CC_OK ? 0 : rc;
}

/* Resolves the mentions of body and stores them for message_id (replacing earlier ones). */
static int message__mentions(store *st, const char *message_id, const char *conv, int64_t seq,
                             const char *body, json_t **ids_out, bool *all)
{
    mention_ctx x = {st, conv, json_array(), cc_map_new_keyed(), false};
    store_val p[] = {SV_TEXT(message_id), SV_NULL, SV_TEXT(conv), SV_INT(seq)};
    int rc = x.ids && x.seen ? CC_OK : CC_ERR_NOMEM;
    if (rc == CC_OK)
        rc = msg_text_mentions(body, strlen(body), message__mention, &x);
    if (rc == CC_OK)
        rc = store_exec(st, "DELETE FROM msg_mentions WHERE message_id = ?", p, 1, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(x.ids, i, v)
    {
        if (rc != CC_OK)
            break;
        p[1] = SV_TEXT(json_string_value(v));
        rc = store_exec(st,
                        "INSERT INTO msg_mentions(message_id, user_id, conversation_id, seq) "
                        "VALUES (?, ?, ?, ?)",
                        p, 4, NULL);
    }
    cc_map_free(x.seen, NULL);
    if (rc != CC_OK) {
        if (x.ids)
            json_decref(x.ids);
        return rc;
    }
    *ids_out = x.ids;
    *all = x.all;
    return CC_OK;
}

/* ---- read back ------------------------------------------------------------------------------ */

static int message__view_row(void *ud, const store_row *r)
{
    json_t *o = msg__message_json_row(r);
    return o && json_array_append_new(ud, o) == 0 ? 0 : CC_ERR_NOMEM;
}

/* The message as clients see it, with its reactions. */
static int message__view(store *st, const char *id, json_t **out)
{
    json_t *arr = json_array();
    store_val p[] = {SV_TEXT(id)};
    int rc = arr ? store_query(st, "SELECT " MSG_COLS " FROM msg_messages m WHERE m.id = ?", p, 1,
                               message__view_row, arr)
                 : CC_ERR_NOMEM;
    json_t *m = json_array_get(arr, 0);
    if (rc == CC_OK && !m)
        rc = CC_ERR_NOT_FOUND;
    if (rc == CC_OK) {
        int64_t seq = json_integer_value(json_object_get(m, "seq"));
        rc = msg__add_reactions(st, arr, json_string_value(json_object_get(m, "conversation_id")),
                                seq, seq);
    }
    if (rc == CC_OK)
        *out = json_incref(m);
    if (arr)
        json_decref(arr);
    return rc;
}

/* ---- events --------------------------------------------------------------------------------- */

static int message__seq_row(void *ud, const store_row *r)
{
    return json_array_append_new(ud, json_integer(store_row_int(r, 0))) == 0 ? 0 : CC_ERR_NOMEM;
}

/* Appends a message event (view borrowed) and keeps older versions out of the log: the earlier
 * events of the message are given this version's data (store_event_redact) and the new event
 * names them in "redacts", so that every node replaces them in its ring too. What an edited or
 * deleted message said lives on only in msg_retention, for the retention period. */
static int message__event(store *st, const char *type, const char *conv, const json_t *view)
{
    const char *id = json_string_value(json_object_get(view, "id"));
    json_t *ev = json_deep_copy(view), *seqs = json_array(), *v;
    int64_t seq = 0;
    size_t i;
    store_val p[] = {SV_TEXT(id), SV_NULL};
    int rc = ev && seqs ? store_query(st,
                                      "SELECT seq FROM msg_events WHERE message_id = ? ORDER BY "
                                      "seq",
                                      p, 1, message__seq_row, seqs)
                        : CC_ERR_NOMEM;
    json_array_foreach(seqs, i, v)
    {
        if (rc != CC_OK)
            break;
        rc = store_event_redact(st, json_integer_value(v), view);
        if (rc == CC_ERR_NOT_FOUND)
            rc = CC_OK;
    }
    if (rc == CC_OK && json_array_size(seqs) > 0)
        rc = json_object_set(ev, "redacts", seqs) == 0 ? CC_OK : CC_ERR_NOMEM;
    if (rc == CC_OK)
        rc = msg__event_conv_seq(st, type, conv, ev, &seq);
    p[1] = SV_INT(seq);
    if (rc == CC_OK)
        rc = store_exec(st, "INSERT INTO msg_events(message_id, seq) VALUES (?, ?)", p, 2, NULL);
    if (ev)
        json_decref(ev);
    if (seqs)
        json_decref(seqs);
    return rc;
}

/* ---- history -------------------------------------------------------------------------------- */

static int message__history_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    int rc = msg__conv_access(st, c, c->conv, true, &cv);
    if (rc != CC_OK)
        return rc;
    json_t *arr = json_array();
    if (!arr)
        return CC_ERR_NOMEM;
    bool thread = c->target[0] != '\0';
    store_val p[] = {SV_TEXT(c->conv), SV_INT(c->has_after ? c->after : c->before),
                     SV_TEXT(c->target), SV_TEXT(c->target), SV_INT(c->limit + 1)};
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT " MSG_COLS " FROM msg_messages m WHERE m.conversation_id = ? AND m.seq %s ? "
             "%s ORDER BY m.seq %s LIMIT ?",
             c->has_after ? ">" : "<", thread ? "AND (m.thread_root = ? OR m.id = ?)" : "",
             c->has_after ? "ASC" : "DESC");
    if (!thread)
        p[2] = p[4];
    rc = store_query(st, sql, p, thread ? 5 : 3, message__view_row, arr);
    bool more = rc == CC_OK && (int64_t)json_array_size(arr) > c->limit;
    if (more)
        json_array_remove(arr, json_array_size(arr) - 1);
    if (rc == CC_OK && !c->has_after) { /* newest first from the store; oldest first out */
        size_t n = json_array_size(arr);
        for (size_t i = 0; i < n / 2; i++) {
            json_t *a = json_incref(json_array_get(arr, i));
            json_array_set(arr, i, json_array_get(arr, n - 1 - i));
            json_array_set_new(arr, n - 1 - i, a);
        }
    }
    size_t n = json_array_size(arr);
    if (rc == CC_OK && n > 0)
        rc = msg__add_reactions(
            st, arr, c->conv, json_integer_value(json_object_get(json_array_get(arr, 0), "seq")),
            json_integer_value(json_object_get(json_array_get(arr, n - 1), "seq")));
    if (rc == CC_OK && !(c->out = json_pack("{s:O,s:b}", "messages", arr, "has_more", more)))
        rc = CC_ERR_NOMEM;
    json_decref(arr);
    return rc;
}

static void message__history(net_req *r)
{
    int64_t before = INT64_MAX, after = 0, limit = 50;
    bool hb, ha, ht;
    char thread[64] = "";
    if (!net_req_query_int(r, "before", 1, INT64_MAX, &hb, &before) ||
        !net_req_query_int(r, "after", 0, INT64_MAX, &ha, &after) ||
        !net_req_query_int(r, "limit", 1, MSG_PAGE_MAX, NULL, &limit))
        return;
    if (hb && ha) {
        net_reply_error(r, 400, "invalid_request", "give before or after, not both");
        return;
    }
    ht = net_req_query(r, "thread", thread, sizeof(thread));
    if (ht && !msg__id_valid(thread)) {
        net_reply_error(r, 400, "invalid_request", "thread must be a message id");
        return;
    }
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (!c)
        return;
    c->before = before;
    c->after = after;
    c->has_after = ha;
    c->limit = limit;
    if (ht)
        memcpy(c->target, thread, CC_ID_LEN + 1);
    msg__submit(c, message__history_job);
}

/* ---- post ----------------------------------------------------------------------------------- */

static int message__root_row(void *ud, const store_row *r)
{
    char *root = ud;
    /* A reply to a reply joins the first message's thread. */
    const char *up = store_row_text(r, 1);
    snprintf(root, CC_ID_LEN + 1, "%s", up ? up : store_row_text(r, 0));
    return 1;
}

static int message__post_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    const char *body = json_string_value(json_object_get(c->in, "body"));
    const char *thread = json_string_value(json_object_get(c->in, "thread_root"));
    bool urgent = json_is_true(json_object_get(c->in, "urgent"));
    json_t *att = json_object_get(c->in, "attachments"), *mentions = NULL, *view = NULL;
    char id[CC_ID_LEN + 1], root[CC_ID_LEN + 1] = "", *att_text = NULL;
    int64_t seq = 0, now = msg__now();
    bool all = false;
    int rc = msg__conv_access(st, c, c->conv, true, &cv);
    if (rc != CC_OK)
        return rc;
    if (cv.archived)
        return msg__fail(c, 409, "archived", "this conversation is archived");
    if (thread) {
        store_val p[] = {SV_TEXT(thread), SV_TEXT(c->conv)};
        if ((rc = store_query(st,
                              "SELECT id, thread_root FROM msg_messages WHERE id = ? AND "
                              "conversation_id = ?",
                              p, 2, message__root_row, root)) != CC_OK)
            return rc;
        if (!root[0])
            return msg__fail(c, 400, "invalid_thread", "no such message to reply to here");
    }
    store_val up[] = {SV_INT(now), SV_TEXT(c->conv)};
    if ((rc = store_exec(st,
                         "UPDATE msg_conversations SET last_seq = last_seq + 1, last_message_at = "
                         "? WHERE id = ?",
                         up, 2, NULL)) != CC_OK ||
        (rc = store_query_int(st, "SELECT last_seq FROM msg_conversations WHERE id = ?", up + 1, 1,
                              &seq)) != CC_OK)
        return rc;
    cc_id_new(id);
    if ((rc = message__mentions(st, id, c->conv, seq, body, &mentions, &all)) != CC_OK)
        return rc;
    if (strcmp(cv.kind, "direct") == 0)
        all = false;
    char *ment_text = json_dumps(mentions, JSON_COMPACT);
    if (att && json_array_size(att) > 0)
        att_text = json_dumps(att, JSON_COMPACT);
    store_val p[] = {SV_TEXT(id),    SV_TEXT(c->conv),
                     SV_INT(seq),    SV_TEXT(c->who.user_id),
                     SV_TEXT(body),  SV_TEXT(root[0] ? root : NULL),
                     SV_INT(urgent), SV_TEXT(ment_text),
                     SV_INT(all),    SV_TEXT(att_text),
                     SV_INT(now)};
    rc = ment_text
             ? store_exec(st,
                          "INSERT INTO msg_messages(id, conversation_id, seq, author_id, body, "
                          "thread_root, urgent, mentions, mention_all, attachments, "
                          "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          p, 11, NULL)
             : CC_ERR_NOMEM;
    free(ment_text);
    free(att_text);
    if (rc == CC_OK)
        rc = msg__index_terms(st, id, c->conv, body);
    if (rc == CC_OK && root[0]) {
        store_val q[] = {SV_TEXT(root)};
        rc = store_exec(st, "UPDATE msg_messages SET reply_count = reply_count + 1 WHERE id = ?", q,
                        1, NULL);
    }
    if (rc == CC_OK && urgent) {
        /* Every other member at this moment must acknowledge; reminders start after a period. */
        store_val q[] = {SV_TEXT(id), SV_TEXT(c->conv), SV_INT(now + c->m->remind_ms),
                         SV_TEXT(c->conv), SV_TEXT(c->who.user_id)};
        rc = store_exec(st,
                        "INSERT INTO msg_acks(message_id, user_id, conversation_id, "
                        "next_remind_at) SELECT ?, user_id, ?, ? FROM msg_members WHERE "
                        "conversation_id = ? AND user_id <> ?",
                        q, 5, NULL);
    }
    if (rc == CC_OK)
        rc = message__view(st, id, &view);
    if (rc == CC_OK)
        rc = message__event(st, "message.created", c->conv, view);
    if (rc == CC_OK) {
        c->status = 201;
        c->out = view;
        view = NULL;
    }
    if (view)
        json_decref(view);
    json_decref(mentions);
    return rc;
}

static bool message__attachments_ok(const json_t *att)
{
    size_t i;
    json_t *a;
    if (!att)
        return true;
    if (json_array_size(att) > MSG_ATTACHMENTS_MAX)
        return false;
    json_array_foreach(att, i, a)
    {
        if (!json_is_object(a))
            return false;
        char *t = json_dumps(a, JSON_COMPACT);
        size_t n = t ? strlen(t) : SIZE_MAX;
        free(t);
        if (n > MSG_ATTACHMENT_BYTES)
            return false;
    }
    return true;
}

static bool message__blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\r' && *s != '\t')
            return false;
    return true;
}

static void message__post(net_req *r)
{
    json_t *b = net_req_body(r);
    json_t *att = json_object_get(b, "attachments");
    const char *thread = json_string_value(json_object_get(b, "thread_root"));
    if (!message__attachments_ok(att)) {
        net_reply_error(r, 400, "invalid_attachments",
                        "attachments: at most 10 objects of at most 1024 bytes each");
        return;
    }
    if (message__blank(json_string_value(json_object_get(b, "body"))) &&
        json_array_size(att) == 0) {
        net_reply_error(r, 400, "empty_message", "write something or attach a file");
        return;
    }
    if (thread && !msg__id_valid(thread)) {
        net_reply_error(r, 400, "invalid_thread", "no such message to reply to here");
        return;
    }
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (c)
        msg__submit(c, message__post_job);
}

/* ---- edit and delete ------------------------------------------------------------------------ */

/* Keeps the content a change is about to replace: the medical-legal record. */
static int message__retain(store *st, msg_ctx *c, const char *action, char rid[CC_ID_LEN + 1])
{
    cc_id_new(rid);
    store_val p[] = {SV_TEXT(rid), SV_TEXT(action), SV_TEXT(c->who.user_id), SV_INT(msg__now()),
                     SV_TEXT(c->target)};
    return store_exec(st,
                      "INSERT INTO msg_retention(id, message_id, conversation_id, author_id, "
                      "action, body, attachments, by_user, at) SELECT ?, id, conversation_id, "
                      "author_id, ?, body, attachments, ?, ? FROM msg_messages WHERE id = ?",
                      p, 5, NULL);
}

static int message__changed(store *st, msg_ctx *c, const char *event, const char *action,
                            const char *rid)
{
    json_t *view = NULL;
    int rc = message__view(st, c->target, &view);
    if (rc == CC_OK)
        rc = message__event(st, event, c->conv, view);
    char object[16 + CC_ID_LEN];
    snprintf(object, sizeof(object), "message:%s", c->target);
    if (rc == CC_OK)
        rc = msg__audit(st, c, action, object,
                        json_pack("{s:s,s:s,s:s}", "conversation_id", c->conv, "retention_id", rid,
                                  "author_id",
                                  json_string_value(json_object_get(view, "author_id"))));
    if (rc == CC_OK) {
        c->out = view;
        view = NULL;
    }
    if (view)
        json_decref(view);
    return rc;
}

static int message__edit_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    json_t *cur = NULL, *mentions = NULL;
    const char *body = json_string_value(json_object_get(c->in, "body"));
    char rid[CC_ID_LEN + 1];
    bool all = false;
    int rc = msg__message_load(st, c, c->target, &cur, &cv);
    if (rc != CC_OK)
        return rc;
    if (strcmp(json_string_value(json_object_get(cur, "author_id")), c->who.user_id) != 0)
        rc = msg__fail(c, 403, "not_author", "only the author can edit a message");
    else if (json_is_true(json_object_get(cur, "deleted")))
        rc = msg__fail(c, 409, "message_deleted", "this message was deleted");
    else if (cv.archived)
        rc = msg__fail(c, 409, "archived", "this conversation is archived");
    int64_t seq = json_integer_value(json_object_get(cur, "seq"));
    json_decref(cur);
    if (rc != CC_OK || (rc = message__retain(st, c, "edit", rid)) != CC_OK ||
        (rc = message__mentions(st, c->target, c->conv, seq, body, &mentions, &all)) != CC_OK)
        return rc;
    char *ment_text = json_dumps(mentions, JSON_COMPACT);
    json_decref(mentions);
    store_val p[] = {SV_TEXT(body), SV_TEXT(ment_text),
                     SV_INT(all && strcmp(cv.kind, "direct") != 0), SV_INT(msg__now()),
                     SV_TEXT(c->target)};
    rc = ment_text ? store_exec(st,
                                "UPDATE msg_messages SET body = ?, mentions = ?, mention_all = ?, "
                                "edited_at = ? WHERE id = ?",
                                p, 5, NULL)
                   : CC_ERR_NOMEM;
    free(ment_text);
    if (rc == CC_OK)
        rc = msg__index_terms(st, c->target, c->conv, body);
    return rc == CC_OK ? message__changed(st, c, "message.updated", "message.edit", rid) : rc;
}

static void message__edit(net_req *r)
{
    if (message__blank(json_string_value(json_object_get(net_req_body(r), "body")))) {
        net_reply_error(r, 400, "empty_message", "write something, or delete the message");
        return;
    }
    msg_ctx *c = msg__ctx_new(r, MSG_ID_MESSAGE);
    if (c)
        msg__submit(c, message__edit_job);
}

static int message__delete_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    json_t *cur = NULL;
    char rid[CC_ID_LEN + 1];
    int rc = msg__message_load(st, c, c->target, &cur, &cv);
    if (rc != CC_OK)
        return rc;
    bool author = strcmp(json_string_value(json_object_get(cur, "author_id")), c->who.user_id) == 0;
    if (json_is_true(json_object_get(cur, "deleted"))) { /* already: nothing more to do */
        c->out = cur;
        return CC_OK;
    }
    json_decref(cur);
    if (!author && (cv.my_role != MSG_ROLE_OWNER || strcmp(cv.kind, "direct") == 0))
        return msg__fail(c, 403, "not_allowed",
                         "only the author or an owner of the conversation can delete a message");
    if ((rc = message__retain(st, c, "delete", rid)) != CC_OK)
        return rc;
    store_val p[] = {SV_INT(msg__now()), SV_TEXT(c->who.user_id), SV_TEXT(c->target)};
    if ((rc = store_exec(st,
                         "UPDATE msg_messages SET body = '', mentions = '[]', mention_all = 0, "
                         "attachments = NULL, deleted_at = ?, deleted_by = ?, pinned_at = NULL, "
                         "pinned_by = NULL WHERE id = ?",
                         p, 3, NULL)) != CC_OK)
        return rc;
    /* Nothing of it stays findable, counted, reminded or reacted to. */
    static const char *const cleanup[] = {
        "DELETE FROM msg_terms WHERE message_id = ?",
        "DELETE FROM msg_mentions WHERE message_id = ?",
        "DELETE FROM msg_acks WHERE message_id = ? AND acked_at IS NULL",
        "DELETE FROM msg_reactions WHERE message_id = ?",
    };
    for (size_t i = 0; i < sizeof(cleanup) / sizeof(cleanup[0]); i++)
        if ((rc = store_exec(st, cleanup[i], p + 2, 1, NULL)) != CC_OK)
            return rc;
    return message__changed(st, c, "message.deleted", "message.delete", rid);
}

static void message__delete(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_MESSAGE);
    if (c)
        msg__submit(c, message__delete_job);
}

static const cc_json_field message__post_body[] = {
    {"body", CC_JSON_STRING, true, 0, MSG_BODY_MAX},
    {"thread_root", CC_JSON_STRING, false, 1, 64},
    {"urgent", CC_JSON_BOOL, false, 0, 0},
    {"attachments", CC_JSON_ARRAY, false, 0, 0},
};
static const cc_json_field message__edit_body[] = {
    {"body", CC_JSON_STRING, true, 0, MSG_BODY_MAX},
};

const net_route msg_message_routes[] = {
    {"GET", "/api/v1/conversations/:id/messages", PERM_MESSAGES, 0, NULL, 0, message__history},
    {"POST", "/api/v1/conversations/:id/messages", PERM_MESSAGES, 0, message__post_body, 4,
     message__post},
    {"PATCH", "/api/v1/messages/:id", PERM_MESSAGES, 0, message__edit_body, 1, message__edit},
    {"DELETE", "/api/v1/messages/:id", PERM_MESSAGES, 0, NULL, 0, message__delete},
};
const size_t msg_message_routes_count = sizeof(msg_message_routes) / sizeof(msg_message_routes[0]);
