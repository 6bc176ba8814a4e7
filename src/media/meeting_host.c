/* meeting_host: the host of a meeting and what only they may do — take a participant out (their
 * media stops: Janus kicks their publisher), ask one to mute, lock the meeting to new joins, end
 * it for everyone.
 *
 * Who hosts: in a consultation's call, the practitioner (a patient or a guest never hosts); in a
 * conversation's meeting, whoever opened it (the first to join), then, when the host leaves, the
 * staff participant who has been there longest. The room says who it is (meeting.joined's host,
 * then meeting.host to everyone when it changes). A lock ends with the meeting: the next one in
 * the same conversation starts open. */
#include "media/meeting_internal.h"

#include <string.h>

typedef struct {
    const meeting_room *r;
    mconn **v;
    size_t n, cap;
} host__list;

static bool host__collect(void *ud, const char *key, void *value)
{
    (void)key;
    host__list *l = ud;
    mconn *c = value;
    if (c->room == l->r && !c->gone && l->n < l->cap)
        l->v[l->n++] = c;
    return false;
}

/* The connections in room r (borrowed; valid until one is torn down). Free l->v. */
static void host__in_room(meeting *mt, const meeting_room *r, host__list *l)
{
    *l = (host__list){r, cc_calloc(cc_map_count(mt->conns) + 1, sizeof(mconn *)), 0,
                      cc_map_count(mt->conns) + 1};
    if (l->v)
        cc_map_sweep(mt->conns, host__collect, l);
    else
        l->cap = 0;
}

void meeting__tell_room(meeting *mt, const meeting_room *r, json_t *o, bool staff_only)
{
    host__list l;
    host__in_room(mt, r, &l);
    for (size_t i = 0; o && i < l.n; i++)
        if (l.v[i]->state == MC_JOINED && !(staff_only && l.v[i]->guest))
            net_ws_send_to(mt->srv, l.v[i]->conn, o);
    cc_free(&l.v);
    json_decref(o);
}

static void host__announce(meeting *mt, meeting_room *r)
{
    mconn *h = r->host ? meeting__conn(mt, r->host) : NULL;
    meeting__tell_room(mt, r,
                       json_pack("{s:s,s:s,s:s?,s:s?}", "type", "meeting.host", "room", r->id,
                                 "feed", h && h->feed[0] ? h->feed : NULL, "display",
                                 h ? h->display : NULL),
                       false);
}

void meeting__host_on_join(mconn *c)
{
    meeting_room *r = c->room;
    if (c->guest)
        return;
    /* A consultation's practitioner takes the host's place; elsewhere the first comer keeps it,
     * and takes it back when they come back (a reload, a media-server restart). */
    if (r->consult || !r->host_user[0] || strcmp(r->host_user, c->user_id) == 0) {
        r->host = c->conn;
        snprintf(r->host_user, sizeof(r->host_user), "%s", c->user_id);
    }
}

bool meeting__host_may_enter(const mconn *c)
{
    /* A locked call still lets its practitioner back in (a dropped connection). */
    return !c->room->locked || (c->room->consult && !c->guest) || c->admitted;
}

void meeting__host_on_leave(mconn *c)
{
    meeting *mt = c->mt;
    meeting_room *r = c->room;
    if (r->host != c->conn)
        return;
    r->host = 0;
    if (mt->restarting)
        return; /* everyone comes back: so does the host, and takes the place back */
    host__list l;
    host__in_room(mt, r, &l);
    const mconn *next = NULL;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i] != c && !l.v[i]->guest && (!next || l.v[i]->since < next->since))
            next = l.v[i];
    r->host = next ? next->conn : 0;
    snprintf(r->host_user, sizeof(r->host_user), "%s", next ? next->user_id : "");
    cc_free(&l.v);
    if (!r->host)
        r->locked = false; /* nobody left to unlock it: the next meeting starts open */
    host__announce(mt, r);
}

void meeting__host_joined(mconn *c)
{
    /* Now that the host has a feed id, everyone can be told whose it is. */
    if (c->room->host == c->conn)
        host__announce(c->mt, c->room);
    meeting__lobby_show(c);
}

static void host__noop(void *ud, int err, const janus_result *res)
{
    (void)ud;
    (void)err;
    (void)res;
}

static mconn *host__find_feed(meeting *mt, const meeting_room *r, const char *feed)
{
    host__list l;
    mconn *found = NULL;
    host__in_room(mt, r, &l);
    for (size_t i = 0; i < l.n && !found; i++)
        if (strcmp(l.v[i]->feed, feed) == 0)
            found = l.v[i];
    cc_free(&l.v);
    return found;
}

bool meeting__may_publish(const mconn *c)
{
    return !c->room->classroom || c->room->host == c->conn || c->presenter;
}

void meeting__hand(mconn *c, const meeting_req *q)
{
    /* Ephemeral like everything in a meeting: whoever joins later sees hands raised from then. */
    meeting__tell_room(c->mt, c->room,
                       json_pack("{s:s,s:s,s:s,s:b,s:s}", "type", "meeting.hand", "room",
                                 c->room->id, "feed", c->feed, "raised", q->locked, "display",
                                 c->display),
                       false);
}

int meeting__room_max_participants(const meeting *mt, const meeting_room *r)
{
    return r->max_participants ? r->max_participants : mt->participants;
}

int meeting__room_bitrate(const meeting *mt, const meeting_room *r)
{
    return r->bitrate ? r->bitrate : mt->bitrate;
}

/* meeting.limits: a lower cap on people applies to the next joins (nobody is sent away); a
 * bitrate applies to the room (later publishers) and to each publisher already sending. */
static void host__limits(meeting *mt, meeting_room *r, const meeting_req *q)
{
    if (q->max_participants)
        r->max_participants = q->max_participants;
    if (q->bitrate) {
        r->bitrate = q->bitrate;
        if (mt->ctl && janus_handle_alive(mt->ctl))
            janus_vr_edit_bitrate(mt->ctl, r->id, r->secret, r->bitrate, host__noop, NULL);
        host__list l;
        host__in_room(mt, r, &l);
        for (size_t i = 0; i < l.n; i++)
            if (l.v[i]->published && l.v[i]->pub && janus_handle_alive(l.v[i]->pub))
                janus_message(l.v[i]->pub,
                              json_pack("{s:s,s:i}", "request", "configure", "bitrate", r->bitrate),
                              NULL, host__noop, NULL);
        cc_free(&l.v);
    }
    meeting__tell_room(mt, r,
                       json_pack("{s:s,s:s,s:i,s:i,s:i}", "type", "meeting.limits", "room", r->id,
                                 "max_participants", meeting__room_max_participants(mt, r),
                                 "bitrate", meeting__room_bitrate(mt, r),
                                 "max_participants_allowed", mt->participants),
                       false);
}

const char *meeting__host_frame(mconn *c, const meeting_req *q, const char **message)
{
    meeting *mt = c->mt;
    meeting_room *r = c->room;
    if (r->host != c->conn) {
        *message = "only the meeting's host may do this";
        return "not_host";
    }
    if (q->type == MEETING_LIMITS && q->max_participants > mt->participants) {
        *message = "above this server's limit (meeting_max_participants)";
        return "invalid_limits";
    }
    mconn *t = NULL;
    if (q->type == MEETING_REMOVE || q->type == MEETING_MUTE || q->type == MEETING_PRESENTER) {
        t = host__find_feed(mt, r, q->feed);
        if (!t || t == c) {
            *message = "no such participant in this meeting";
            return "no_such_feed";
        }
    }
    json_t *ok =
        json_pack("{s:s,s:s,s:s}", "type", "meeting.done", "request", q->name, "room", r->id);
    meeting__send(mt, c->conn, ok, q->id);
    switch (q->type) {
    case MEETING_REMOVE:
        cc_logf(CC_LOG_INFO, "meeting: the host removed a participant", "{s:s,s:s}", "room", r->id,
                "by", c->user_id);
        /* Janus drops its publisher at once (its media stops for everyone), then we take the
         * connection out: its handles go, and it is told why. */
        if (mt->ctl && janus_handle_alive(mt->ctl))
            janus_vr_kick(mt->ctl, r->id, r->secret, t->feed, NULL, host__noop, NULL);
        meeting__send(mt, t->conn,
                      json_pack("{s:s,s:s,s:s}", "type", "meeting.left", "room", r->id, "reason",
                                "removed_by_host"),
                      NULL);
        meeting__teardown(t);
        break;
    case MEETING_MUTE:
        meeting__send(
            mt, t->conn,
            json_pack("{s:s,s:s,s:s}", "type", "meeting.muted", "room", r->id, "by", c->display),
            NULL);
        break;
    case MEETING_LOCK:
        r->locked = q->locked;
        meeting__tell_room(mt, r,
                           json_pack("{s:s,s:s,s:b}", "type", "meeting.locked", "room", r->id,
                                     "locked", r->locked),
                           false);
        break;
    case MEETING_END:
        cc_logf(CC_LOG_INFO, "meeting: ended by its host", "{s:s}", "room", r->id);
        meeting__end_room(mt, r, "ended");
        break;
    case MEETING_MODE:
        /* A class: the others stop sending (their clients unpublish on meeting.mode) and may
         * only watch, raise a hand, and present when the host lets them. */
        r->classroom = q->locked;
        meeting__tell_room(mt, r,
                           json_pack("{s:s,s:s,s:s}", "type", "meeting.mode", "room", r->id, "mode",
                                     r->classroom ? "class" : "meeting"),
                           false);
        if (r->classroom) {
            host__list l;
            host__in_room(mt, r, &l);
            for (size_t i = 0; i < l.n; i++)
                if (!meeting__may_publish(l.v[i]) && l.v[i]->published && l.v[i]->pub &&
                    janus_handle_alive(l.v[i]->pub)) {
                    janus_message(l.v[i]->pub, json_pack("{s:s}", "request", "unpublish"), NULL,
                                  host__noop, NULL);
                    l.v[i]->published = false; /* a later offer publishes anew */
                }
            cc_free(&l.v);
        }
        break;
    case MEETING_LIMITS:
        host__limits(mt, r, q);
        break;
    case MEETING_PRESENTER:
        t->presenter = q->locked;
        meeting__send(mt, t->conn,
                      json_pack("{s:s,s:s,s:b}", "type", "meeting.presenter", "room", r->id, "on",
                                t->presenter),
                      NULL);
        if (!t->presenter && r->classroom && t->published && t->pub && janus_handle_alive(t->pub)) {
            janus_message(t->pub, json_pack("{s:s}", "request", "unpublish"), NULL, host__noop,
                          NULL);
            t->published = false;
        }
        break;
    default:
        break;
    }
    return NULL;
}
