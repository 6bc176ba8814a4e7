/* Scheduled meetings: a title, a time, invitees and an agenda, held in a conversation's meeting.
 * Scheduling in an existing conversation (a department's channel: its standing room) needs to be
 * a member; scheduling with invitees makes a group conversation of them for it. The invitation is
 * an event (meeting.scheduled, scope conv:<id>) and a message in the conversation, so it reaches
 * every invitee live, on resume, in the unread counts and in search; cancelling does the same.
 * The meeting itself is the conversation's (media/meeting.c): who may join is who is a member. */
#include "msg/msg_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define MEETING_TITLE_MAX 200
#define MEETING_AGENDA_MAX 4000

static int mtg__row_json(void *ud, const store_row *r)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s?,s:I,s:I,s:s,s:I}", "id", store_row_text(r, 0),
                          "conversation_id", store_row_text(r, 1), "title", store_row_text(r, 2),
                          "agenda", store_row_text(r, 3), "start", (json_int_t)store_row_int(r, 4),
                          "end", (json_int_t)store_row_int(r, 5), "created_by",
                          store_row_text(r, 6), "created_at", (json_int_t)store_row_int(r, 7));
    if (o && !store_row_is_null(r, 8))
        json_object_set_new(o, "cancelled_at", json_integer(store_row_int(r, 8)));
    if (!o || json_array_append_new(ud, o) != 0)
        return CC_ERR_NOMEM;
    return 0;
}

#define MTG_COLS                                                                                   \
    "g.id, g.conversation_id, g.title, g.agenda, g.start_ms, g.end_ms, g.created_by, "             \
    "g.created_at, g.cancelled_at"

static int mtg__one(store *st, const char *id, json_t **out)
{
    json_t *a = json_array();
    store_val p[] = {SV_TEXT(id)};
    int rc = a ? store_query(st, "SELECT " MTG_COLS " FROM msg_meetings g WHERE g.id = ?", p, 1,
                             mtg__row_json, a)
               : CC_ERR_NOMEM;
    *out = rc == CC_OK && json_array_size(a) == 1 ? json_incref(json_array_get(a, 0)) : NULL;
    json_decref(a);
    return rc == CC_OK && !*out ? CC_ERR_NOT_FOUND : rc;
}

/* "📅 Réunion : <title>, le 22/11/2026 à 14:00" in the hospital's language and time. */
static void mtg__line(msg *m, const char *what_fr, const char *what_en, const char *title,
                      int64_t start, char *out, size_t n)
{
    bool en = strcmp(cc_config_str(m->cfg, "default_language"), "en") == 0;
    time_t t = (time_t)(start / 1000);
    struct tm tm;
    char when[64];
    localtime_r(&t, &tm);
    strftime(when, sizeof(when), en ? "%Y-%m-%d at %H:%M" : "le %d/%m/%Y à %H:%M", &tm);
    snprintf(out, n, "📅 %s : %s, %s", en ? what_en : what_fr, title, when);
}

static int mtg__announce(store *st, msg_ctx *c, const char *type, const json_t *meeting,
                         const char *line)
{
    const char *conv = json_string_value(json_object_get(meeting, "conversation_id"));
    int rc = msg__event_conv(st, type, conv, meeting);
    if (rc == CC_OK)
        rc = msg_seed_message(st, conv, c->who.user_id, line, msg__now());
    return rc;
}

static int mtg__create_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    const char *title = json_string_value(json_object_get(c->in, "title"));
    const char *agenda = json_string_value(json_object_get(c->in, "agenda"));
    const char *in_conv = json_string_value(json_object_get(c->in, "conversation_id"));
    int64_t start = json_integer_value(json_object_get(c->in, "start"));
    int64_t end = json_integer_value(json_object_get(c->in, "end"));
    char conv[CC_ID_LEN + 1];
    int rc;
    if (in_conv) {
        msg_conv_row row;
        if ((rc = msg__conv_access(st, c, in_conv, true, &row)) != CC_OK)
            return rc;
        if (row.archived)
            return msg__fail(c, 409, "archived", "this conversation is archived");
        snprintf(conv, sizeof(conv), "%s", in_conv);
    } else {
        /* Its own group conversation: the invitees, named after the meeting. */
        json_object_set_new(c->in, "kind", json_string("group"));
        json_object_set_new(c->in, "name", json_string(title));
        json_object_set(c->in, "members", json_object_get(c->in, "invitees"));
        if ((rc = msg__conv_create_job(st, c)) != CC_OK || c->code)
            return rc;
        snprintf(conv, sizeof(conv), "%s", json_string_value(json_object_get(c->out, "id")));
        json_decref(c->out);
        c->out = NULL;
    }
    char id[CC_ID_LEN + 1], line[400], object[16 + CC_ID_LEN];
    cc_id_new(id);
    store_val p[] = {SV_TEXT(id),   SV_TEXT(conv), SV_TEXT(title),          SV_TEXT(agenda),
                     SV_INT(start), SV_INT(end),   SV_TEXT(c->who.user_id), SV_INT(msg__now())};
    json_t *meeting = NULL;
    if ((rc = store_exec(st,
                         "INSERT INTO msg_meetings(id, conversation_id, title, agenda, start_ms, "
                         "end_ms, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         p, 8, NULL)) != CC_OK ||
        (rc = mtg__one(st, id, &meeting)) != CC_OK)
        return rc;
    mtg__line(c->m, "Réunion planifiée", "Meeting planned", title, start, line, sizeof(line));
    snprintf(object, sizeof(object), "meeting:%s", id);
    if ((rc = mtg__announce(st, c, "meeting.scheduled", meeting, line)) == CC_OK)
        rc = msg__audit(st, c, "meeting.schedule", object, NULL);
    if (rc != CC_OK) {
        json_decref(meeting);
        return rc;
    }
    c->status = 201;
    c->out = meeting;
    return CC_OK;
}

static void mtg__create(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_NONE);
    if (!c)
        return;
    json_t *in = c->in;
    int64_t start = json_integer_value(json_object_get(in, "start"));
    int64_t end = json_integer_value(json_object_get(in, "end"));
    const char *conv = json_string_value(json_object_get(in, "conversation_id"));
    const json_t *inv = json_object_get(in, "invitees");
    const char *code = NULL, *why = NULL;
    size_t i;
    json_t *v;
    if (end <= start || end - start > 24LL * 3600000)
        code = "invalid_time", why = "a meeting ends after it starts, within a day";
    else if (start < msg__now() - 3600000)
        code = "invalid_time", why = "a meeting cannot be planned in the past";
    else if (!conv == !inv)
        code = "invalid_request", why = "give either conversation_id or invitees";
    else if (conv && !msg__id_valid(conv))
        code = "invalid_request", why = "conversation_id must be an id";
    if (!code && inv) {
        if (json_array_size(inv) < 1 || json_array_size(inv) + 1 > MSG_GROUP_MAX)
            code = "invalid_members", why = "invite 1 to 49 people";
        json_array_foreach(inv, i, v)
        {
            if (!msg__id_valid(json_string_value(v)))
                code = "invalid_members", why = "invitees must be user ids";
        }
    }
    if (!code && !inv && json_object_get(in, "invitees"))
        code = "invalid_request", why = "give either conversation_id or invitees";
    if (code) {
        net_reply_error(r, 400, code, why);
        msg__ctx_free(c);
        return;
    }
    /* Distinct invitees, without oneself, as a group's members are. */
    if (inv) {
        json_t *norm = json_array();
        json_array_foreach(inv, i, v)
        {
            bool dup = strcmp(json_string_value(v), c->who.user_id) == 0;
            size_t k;
            json_t *w;
            json_array_foreach(norm, k, w)
            {
                dup = dup || json_equal(v, w);
            }
            if (!dup)
                json_array_append(norm, v);
        }
        json_object_set_new(in, "invitees", norm);
        if (json_array_size(norm) == 0) {
            net_reply_error(r, 400, "invalid_members", "invite at least one other person");
            msg__ctx_free(c);
            return;
        }
    }
    msg__submit(c, mtg__create_job);
}

/* Mine: the meetings of the conversations I am a member of, from..to (start), not cancelled. */
static int mtg__list_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    json_t *a = json_array();
    store_val p[] = {SV_TEXT(c->who.user_id), SV_INT(c->after), SV_INT(c->before)};
    int rc = a ? store_query(st,
                             "SELECT " MTG_COLS " FROM msg_meetings g JOIN msg_members mb ON "
                             "mb.conversation_id = g.conversation_id AND mb.user_id = ? WHERE "
                             "g.cancelled_at IS NULL AND g.end_ms > ? AND g.start_ms < ? ORDER BY "
                             "g.start_ms, g.id LIMIT 200",
                             p, 3, mtg__row_json, a)
               : CC_ERR_NOMEM;
    if (rc != CC_OK) {
        json_decref(a);
        return rc;
    }
    c->out = json_pack("{s:o}", "meetings", a);
    return c->out ? CC_OK : CC_ERR_NOMEM;
}

static void mtg__list(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_NONE);
    if (!c)
        return;
    int64_t now = msg__now();
    c->after = now - 3600000;              /* from an hour ago (meetings under way) */
    c->before = now + 30LL * 24 * 3600000; /* to a month ahead */
    if (!net_req_query_int(r, "from", 0, INT64_MAX, NULL, &c->after) ||
        !net_req_query_int(r, "to", 0, INT64_MAX, NULL, &c->before)) {
        msg__ctx_free(c);
        return;
    }
    msg__submit(c, mtg__list_job);
}

static int mtg__cancel_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    json_t *meeting = NULL;
    int rc = mtg__one(st, c->target, &meeting);
    if (rc == CC_ERR_NOT_FOUND)
        return msg__fail(c, 404, "meeting_not_found", "no such meeting");
    if (rc != CC_OK)
        return rc;
    const char *conv = json_string_value(json_object_get(meeting, "conversation_id"));
    msg_conv_row row;
    if ((rc = msg__conv_access(st, c, conv, true, &row)) != CC_OK)
        goto out;
    /* Whoever planned it, or an owner of its conversation. */
    if (strcmp(json_string_value(json_object_get(meeting, "created_by")), c->who.user_id) != 0 &&
        row.my_role != MSG_ROLE_OWNER) {
        rc = msg__fail(c, 403, "forbidden", "only who planned it, or an owner, cancels it");
        goto out;
    }
    if (json_object_get(meeting, "cancelled_at")) {
        rc = msg__fail(c, 409, "cancelled", "this meeting is already cancelled");
        goto out;
    }
    int64_t now = msg__now();
    store_val p[] = {SV_INT(now), SV_TEXT(c->target)};
    char line[400], object[16 + CC_ID_LEN];
    if ((rc = store_exec(st, "UPDATE msg_meetings SET cancelled_at = ? WHERE id = ?", p, 2,
                         NULL)) != CC_OK)
        goto out;
    json_object_set_new(meeting, "cancelled_at", json_integer(now));
    mtg__line(c->m, "Réunion annulée", "Meeting cancelled",
              json_string_value(json_object_get(meeting, "title")),
              json_integer_value(json_object_get(meeting, "start")), line, sizeof(line));
    snprintf(object, sizeof(object), "meeting:%s", c->target);
    if ((rc = mtg__announce(st, c, "meeting.cancelled", meeting, line)) == CC_OK &&
        (rc = msg__audit(st, c, "meeting.cancel", object, NULL)) == CC_OK) {
        c->out = meeting;
        meeting = NULL;
    }
out:
    json_decref(meeting);
    return rc;
}

static void mtg__cancel(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_NONE);
    if (!c)
        return;
    const char *id = net_req_param(r, "id");
    if (!msg__id_valid(id)) {
        net_reply_error(r, 404, "meeting_not_found", "no such meeting");
        msg__ctx_free(c);
        return;
    }
    snprintf(c->target, sizeof(c->target), "%s", id);
    msg__submit(c, mtg__cancel_job);
}

static const cc_json_field mtg__create_body[] = {
    {"title", CC_JSON_STRING, true, 1, MEETING_TITLE_MAX},
    {"start", CC_JSON_INT, true, 1, 0},
    {"end", CC_JSON_INT, true, 1, 0},
    {"agenda", CC_JSON_STRING, false, 0, MEETING_AGENDA_MAX},
    {"conversation_id", CC_JSON_STRING, false, 1, CC_ID_LEN},
    {"invitees", CC_JSON_ARRAY, false, 0, 0},
};

const net_route msg_meeting_routes[] = {
    {"GET", "/api/v1/meetings", PERM_MEETINGS, 0, NULL, 0, mtg__list},
    {"POST", "/api/v1/meetings", PERM_MEETINGS, 0, mtg__create_body, 6, mtg__create},
    {"POST", "/api/v1/meetings/:id/cancel", PERM_MEETINGS, 0, NULL, 0, mtg__cancel},
};
const size_t msg_meeting_routes_count = sizeof(msg_meeting_routes) / sizeof(msg_meeting_routes[0]);
