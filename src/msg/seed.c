/* msg/seed: conversations and messages written straight into a store, for `carecomm demo seed`
 * (an empty store, before or beside a running daemon: the events let a running one follow).
 * Plain messages only: no mentions, threads, urgency or attachments. */
#include "msg/msg_internal.h"

#include <stdio.h>
#include <string.h>

int msg_seed_channel(store *st, const char *name, const char *topic, const char *owner,
                     const char *const *members, size_t n, int64_t at, char id_out[CC_ID_LEN + 1])
{
    cc_id_new(id_out);
    json_t *conv = NULL;
    store_val p[] = {SV_TEXT(id_out), SV_TEXT(name), SV_TEXT(topic), SV_TEXT(owner),
                     SV_INT(at),      SV_INT(at),    SV_INT(at)};
    int rc = store_exec(st,
                        "INSERT INTO msg_conversations(id, kind, name, topic, visibility, "
                        "created_by, created_at, updated_at, last_message_at) "
                        "VALUES (?, 'channel', ?, ?, 'public', ?, ?, ?, ?)",
                        p, 7, NULL);
    if (rc == CC_OK)
        rc = msg__member_insert(st, id_out, owner, "owner", 0);
    for (size_t i = 0; rc == CC_OK && i < n; i++)
        if (strcmp(members[i], owner) != 0)
            rc = msg__member_insert(st, id_out, members[i], "member", 0);
    if (rc == CC_OK)
        rc = msg__conv_json(st, id_out, NULL, &conv);
    if (rc == CC_OK)
        rc = msg__event_conv(st, "conversation.created", id_out, conv);
    json_decref(conv);
    return rc;
}

static int seed_view_row(void *ud, const store_row *r)
{
    json_t **out = ud;
    *out = msg__message_json_row(r);
    return 1;
}

int msg_seed_message(store *st, const char *conv, const char *author, const char *body, int64_t at)
{
    char id[CC_ID_LEN + 1];
    int64_t seq = 0, ev_seq = 0;
    json_t *view = NULL;
    cc_id_new(id);
    store_val up[] = {SV_INT(at), SV_TEXT(conv)};
    int rc = store_exec(st,
                        "UPDATE msg_conversations SET last_seq = last_seq + 1, "
                        "last_message_at = ? WHERE id = ?",
                        up, 2, NULL);
    if (rc == CC_OK)
        rc = store_query_int(st, "SELECT last_seq FROM msg_conversations WHERE id = ?", up + 1, 1,
                             &seq);
    store_val p[] = {SV_TEXT(id),     SV_TEXT(conv), SV_INT(seq),
                     SV_TEXT(author), SV_TEXT(body), SV_INT(at)};
    if (rc == CC_OK)
        rc = store_exec(st,
                        "INSERT INTO msg_messages(id, conversation_id, seq, author_id, body, "
                        "urgent, mentions, mention_all, created_at) "
                        "VALUES (?, ?, ?, ?, ?, 0, '[]', 0, ?)",
                        p, 6, NULL);
    if (rc == CC_OK)
        rc = msg__index_terms(st, id, conv, body);
    store_val q[] = {SV_TEXT(id)};
    if (rc == CC_OK)
        rc = store_query(st, "SELECT " MSG_COLS " FROM msg_messages m WHERE m.id = ?", q, 1,
                         seed_view_row, &view);
    if (rc == CC_OK && !view)
        rc = CC_ERR_NOMEM;
    if (rc == CC_OK && json_object_set_new(view, "reactions", json_array()) != 0)
        rc = CC_ERR_NOMEM;
    if (rc == CC_OK)
        rc = msg__event_conv_seq(st, "message.created", conv, view, &ev_seq);
    store_val e[] = {SV_TEXT(id), SV_INT(ev_seq)};
    if (rc == CC_OK)
        rc = store_exec(st, "INSERT INTO msg_events(message_id, seq) VALUES (?, ?)", e, 2, NULL);
    json_decref(view);
    return rc;
}
