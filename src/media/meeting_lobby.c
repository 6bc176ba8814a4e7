/* meeting_lobby: guests from outside wait at the door of a conversation's meeting.
 *
 * A guest invited by a link (messaging binds them on the guest WebSocket) asks to join; instead of
 * entering they wait in the room's lobby (meeting.lobby_wait), and everyone in the meeting sees who
 * waits (meeting.lobby, to staff only: a guest does not see other guests' names before they are
 * in). The host lets one in (meeting.admit: the guest then enters as anyone does, even into a
 * locked meeting, since the host chose) or turns them away (meeting.deny: meeting.left, reason
 * "denied"). A guest can wait before anyone has opened the meeting: the first staff member in is
 * told. Revoking the link sends its guests away, from the lobby and from the meeting. The lobby
 * is per node, like the rest of a meeting's state. */
#include "media/meeting_internal.h"

#include <string.h>

static json_t *lobby__json(const meeting_room *r)
{
    json_t *guests = json_array();
    for (size_t i = 0; guests && i < r->lobby.n; i++)
        json_array_append_new(guests, json_pack("{s:s,s:s,s:I}", "id", r->lobby.v[i].id, "name",
                                                r->lobby.v[i].display, "since",
                                                (json_int_t)r->lobby.v[i].since));
    return guests ? json_pack("{s:s,s:s,s:o}", "type", "meeting.lobby", "room", r->id, "guests",
                              guests)
                  : NULL;
}

/* Everyone (staff) in the meeting is told who waits now. */
static void lobby__announce(meeting *mt, const meeting_room *r)
{
    meeting__tell_room(mt, r, lobby__json(r), true);
}

static void lobby__remove_at(meeting_room *r, size_t i)
{
    memmove(&r->lobby.v[i], &r->lobby.v[i + 1], (r->lobby.n - i - 1) * sizeof(r->lobby.v[0]));
    r->lobby.n--;
}

typedef struct {
    net_ws_conn conn;
    const char *link;
    meeting_room *room;
    size_t at;
} lobby__find;

static void lobby__find_conn(void *ud, meeting_room *r)
{
    lobby__find *f = ud;
    for (size_t i = 0; !f->room && i < r->lobby.n; i++)
        if (r->lobby.v[i].conn == f->conn) {
            f->room = r;
            f->at = i;
        }
}

const char *meeting__lobby_enter(meeting *mt, meeting_room *r, net_ws_conn conn,
                                 const char *display, const char *link, const char *join_id,
                                 const char **message)
{
    lobby__find f = {.conn = conn};
    meeting_rooms_each(mt->rooms, lobby__find_conn, &f);
    if (f.room) {
        *message = "you are already waiting to be let in";
        return "already_waiting";
    }
    if (r->lobby.n >= MEETING_LOBBY_MAX) {
        *message = "too many people are waiting to join this meeting; try again later";
        return "lobby_full";
    }
    if (r->lobby.n == r->lobby.cap) {
        size_t cap = r->lobby.cap ? r->lobby.cap * 2 : 4;
        meeting_guest_wait *v = cc_realloc(r->lobby.v, cap * sizeof(*v));
        if (!v) {
            *message = "out of memory";
            return "internal";
        }
        r->lobby.v = v;
        r->lobby.cap = cap;
    }
    meeting_guest_wait *w = &r->lobby.v[r->lobby.n];
    memset(w, 0, sizeof(*w));
    char *id = cc_random_token(12); /* 16 characters */
    if (!id) {
        *message = "out of memory";
        return "internal";
    }
    snprintf(w->id, sizeof(w->id), "%s", id);
    cc_free(&id);
    w->conn = conn;
    snprintf(w->display, sizeof(w->display), "%s", display);
    snprintf(w->link, sizeof(w->link), "%s", link);
    snprintf(w->join_id, sizeof(w->join_id), "%s", join_id);
    w->since = cc_now_ms();
    r->lobby.n++;
    cc_logf(CC_LOG_INFO, "meeting guest waiting", "{s:s,s:s}", "link", w->link, "room", r->id);
    meeting__send(mt, conn,
                  json_pack("{s:s,s:s,s:s}", "type", "meeting.lobby_wait", "conversation", r->conv,
                            "room", r->id),
                  join_id);
    lobby__announce(mt, r);
    return NULL;
}

bool meeting__lobby_leave(meeting *mt, net_ws_conn conn, const char *reason)
{
    lobby__find f = {.conn = conn};
    meeting_rooms_each(mt->rooms, lobby__find_conn, &f);
    if (!f.room)
        return false;
    lobby__remove_at(f.room, f.at);
    if (reason)
        meeting__send(mt, conn,
                      json_pack("{s:s,s:s,s:s}", "type", "meeting.left", "room", f.room->id,
                                "reason", reason),
                      NULL);
    lobby__announce(mt, f.room);
    return true;
}

const char *meeting__lobby_decide(mconn *c, const void *principal, const meeting_req *q,
                                  const char **message)
{
    meeting *mt = c->mt;
    meeting_room *r = c->room;
    if (r->host != c->conn) {
        *message = "only the host lets guests in";
        return "not_host";
    }
    size_t i = 0;
    while (i < r->lobby.n && strcmp(r->lobby.v[i].id, q->guest) != 0)
        i++;
    if (i == r->lobby.n) {
        *message = "nobody with that id is waiting (they may have left)";
        return "guest_not_found";
    }
    meeting_guest_wait w = r->lobby.v[i];
    lobby__remove_at(r, i);
    bool admit = q->type == MEETING_ADMIT;
    cc_logf(CC_LOG_INFO, admit ? "meeting guest admitted" : "meeting guest denied", "{s:s,s:s,s:s}",
            "link", w.link, "room", r->id, "by", c->user_id);
    /* Someone from outside now hears the meeting: who let them in is on record. */
    char object[16 + AUTH_LINK_ID_LEN];
    snprintf(object, sizeof(object), "guest_link:%s", w.link);
    account_audit_action(mt->m->acct, principal, admit ? "meeting.admit" : "meeting.deny", object,
                         json_pack("{s:s}", "conversation_id", r->conv));
    if (admit) {
        meeting_conn_list_add(&r->admitted, w.conn); /* out of memory: asks again after a restart */
        mconn who = {.guest = true, .admitted = true};
        snprintf(who.display, sizeof(who.display), "%s", w.display);
        snprintf(who.link, sizeof(who.link), "%s", w.link);
        snprintf(who.join_id, sizeof(who.join_id), "%s", w.join_id);
        const char *why = NULL;
        const char *code = meeting__enter(mt, w.conn, r->conv, false, &who, &why);
        if (code) /* the guest hears why; the host's admit itself was done */
            meeting__error(mt, w.conn, "meeting.join", w.join_id, r->id, code, why);
    } else {
        meeting__send(
            mt, w.conn,
            json_pack("{s:s,s:s,s:s}", "type", "meeting.left", "room", r->id, "reason", "denied"),
            w.join_id);
    }
    meeting__send(
        mt, c->conn,
        json_pack("{s:s,s:s,s:s}", "type", "meeting.done", "request", q->name, "room", r->id),
        q->id);
    lobby__announce(mt, r);
    return NULL;
}

void meeting__lobby_show(mconn *c)
{
    if (!c->guest && c->room->lobby.n)
        meeting__send(c->mt, c->conn, lobby__json(c->room), NULL);
}

typedef struct {
    meeting *mt;
    const char *link;
    mconn **v; /* joined guests of the link */
    size_t n, cap;
} lobby__revoke;

static void lobby__revoke_waiting(void *ud, meeting_room *r)
{
    lobby__revoke *rv = ud;
    size_t before = r->lobby.n;
    for (size_t i = 0; i < r->lobby.n;) {
        if (strcmp(r->lobby.v[i].link, rv->link) != 0) {
            i++;
            continue;
        }
        meeting__send(
            rv->mt, r->lobby.v[i].conn,
            json_pack("{s:s,s:s,s:s}", "type", "meeting.left", "room", r->id, "reason", "removed"),
            NULL);
        lobby__remove_at(r, i);
    }
    if (r->lobby.n != before)
        lobby__announce(rv->mt, r);
}

static bool lobby__collect_guests(void *ud, const char *key, void *value)
{
    (void)key;
    lobby__revoke *rv = ud;
    mconn *c = value;
    if (c->guest && !c->gone && strcmp(c->link, rv->link) == 0 && rv->n < rv->cap)
        rv->v[rv->n++] = c;
    return false;
}

void meeting__lobby_revoked(meeting *mt, const char *link)
{
    if (!*link)
        return;
    lobby__revoke rv = {mt, link, NULL, 0, cc_map_count(mt->conns)};
    meeting_rooms_each(mt->rooms, lobby__revoke_waiting, &rv);
    if (rv.cap && (rv.v = cc_calloc(rv.cap, sizeof(*rv.v))))
        cc_map_sweep(mt->conns, lobby__collect_guests, &rv);
    for (size_t i = 0; i < rv.n; i++) {
        mconn *c = rv.v[i];
        meeting__send(mt, c->conn,
                      json_pack("{s:s,s:s,s:s}", "type", "meeting.left", "room", c->room->id,
                                "reason", "removed"),
                      NULL);
        meeting__teardown(c);
    }
    cc_free(&rv.v);
}
