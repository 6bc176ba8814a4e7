/* meeting: the signalling of video meetings, relayed between the event WebSocket and Janus.
 *
 * Design note.
 * - Clients never reach Janus: they send meeting.* frames on the event WebSocket
 *   (docs/websocket.md, "Meetings") and carecommd makes the Janus requests on their behalf,
 *   with a room id, secret and pin only it knows (meeting_room.c). Every frame is authorised:
 *   the `meetings` permission, membership of the conversation now (msg's index, through the
 *   media_member_fn main wires), and for every frame after the join, a room equal to the one
 *   *this connection* joined. A room id from elsewhere (forged, or another tab's) is refused.
 * - State is per connection (net_ws_conn), not per user: two tabs are two participants. A
 *   connection has one publisher handle (join as publisher with the display name, then
 *   publish with the client's offer) and at most one subscriber handle (Janus 1.x multistream:
 *   join as subscriber with streams, then update to add or remove; Janus offers, the client
 *   answers with start). Trickle goes both ways on either handle. Janus's room events on the
 *   publisher handle (publishers, unpublished, leaving, joining) go to that connection: every
 *   connection in a room has its own handle, so every one hears them.
 * - A room is created in Janus at the first join of its generation (on a control handle) and
 *   destroyed when its last connection leaves; joins arriving meanwhile wait in the room.
 * - Janus lost (on_down): every connection in a meeting is told meeting.left (media_restarting)
 *   and its handles go; once a new session is up (on_up) its rooms are created again (same id)
 *   and those connections are told meeting.rejoin.
 * - The two handles of a connection (publisher, subscriber) are in meeting_peer.c.
 * - Lifetimes: a connection's state (mconn) is reference counted; each Janus request holds a
 *   reference and checks `gone` on completion. Its handles are detached when it leaves or its
 *   socket closes, after which Janus calls nothing for them. */
#include "media/meeting_internal.h"

#include <inttypes.h>
#include <string.h>

#define VIDEOROOM "janus.plugin.videoroom"

typedef struct {
    meeting *mt;
    meeting_room *r;
    uint64_t gen;
} mroom_req;

static const janus_handle_cbs meeting__ctl_cbs;

/* ---- helpers ------------------------------------------------------------------------------- */

void meeting__key(net_ws_conn conn, char key[24])
{
    snprintf(key, 24, "%" PRIu64, (uint64_t)conn);
}

mconn *meeting__conn(meeting *mt, net_ws_conn conn)
{
    char key[24];
    meeting__key(conn, key);
    return cc_map_get(mt->conns, key);
}

void meeting__conn_unref(mconn *c)
{
    if (!c || --c->refs > 0)
        return;
    json_decref(c->sub_pending);
    cc_free_ptr(c);
}

/* Sends o (stolen) to conn, with the request id when there is one. */
void meeting__send(meeting *mt, net_ws_conn conn, json_t *o, const char *id)
{
    if (o && id && *id)
        json_object_set_new(o, "id", json_string(id));
    if (o)
        net_ws_send_to(mt->srv, conn, o);
    json_decref(o);
}

void meeting__error(meeting *mt, net_ws_conn conn, const char *request, const char *id,
                    const char *room, const char *code, const char *message)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "type", "meeting.error", "request",
                          request ? request : "meeting", "code", code, "message", message);
    if (o && room && *room)
        json_object_set_new(o, "room", json_string(room));
    meeting__send(mt, conn, o, id);
}

mreq *meeting__req_new(mconn *c, meeting_req_type what, const char *id)
{
    mreq *q = cc_calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->c = c;
    c->refs++;
    q->what = what;
    snprintf(q->id, sizeof(q->id), "%s", id ? id : "");
    return q;
}

void meeting__req_free(mreq *q)
{
    meeting__conn_unref(q->c);
    cc_free_ptr(q);
}

/* Janus's error as a stable code for clients. */
const char *meeting__janus_code(int err, const janus_result *res)
{
    if (res && res->code == 432)
        return "meeting_full";
    if (res && res->code == 428)
        return "no_such_feed";
    if (err == CC_ERR_BUSY || err == CC_ERR_IO || err == CC_ERR_EXPIRED)
        return "media_unavailable";
    return "media_error";
}

static void meeting__noop(void *ud, int err, const janus_result *res)
{
    (void)ud;
    (void)err;
    (void)res;
}

/* ---- rooms in Janus ------------------------------------------------------------------------ */

/* The room is in Janus for this generation: the joins waiting go on, the connections dropped by
 * a Janus restart are told to rejoin. */
static void meeting__room_ready(meeting *mt, meeting_room *r);

static void meeting__room_failed(meeting *mt, meeting_room *r, const char *code)
{
    meeting_conn_list l;
    meeting_conn_list_take(&r->waiting, &l);
    for (size_t i = 0; i < l.n; i++) {
        mconn *c = meeting__conn(mt, l.v[i]);
        if (c && c->room == r && c->state == MC_WAIT_ROOM) {
            meeting__error(mt, c->conn, "meeting.join", c->join_id, NULL, code,
                           "the meeting could not be opened on the media server");
            meeting__teardown(c);
        }
    }
    cc_free(&l.v);
}

static void meeting__room_created(void *ud, int err, const janus_result *res)
{
    (void)res;
    mroom_req *q = ud;
    meeting *mt = q->mt;
    meeting_room *r = q->r;
    bool same = !mt->stopped && janus_is_up(mt->j) && janus_generation(mt->j) == q->gen;
    cc_free_ptr(q);
    /* 427: it is there already (a create raced with a restart of ours): ours all the same. */
    if ((err == CC_OK || err == CC_ERR_EXISTS) && same) {
        r->state = MEETING_ROOM_READY;
        r->gen = janus_generation(mt->j);
        meeting__room_ready(mt, r);
        return;
    }
    r->state = MEETING_ROOM_ABSENT;
    if (mt->stopped)
        return;
    if (!same && janus_is_up(mt->j))
        meeting__room_ensure(mt, r); /* a newer generation: try there */
    else if (!janus_is_up(mt->j) || err != CC_OK)
        meeting__room_failed(mt, r, meeting__janus_code(err, res));
}

static void meeting__room_destroyed(void *ud, int err, const janus_result *res)
{
    (void)err;
    (void)res;
    mroom_req *q = ud;
    meeting *mt = q->mt;
    meeting_room *r = q->r;
    cc_free_ptr(q);
    r->state = MEETING_ROOM_ABSENT;
    if (!mt->stopped && (r->waiting.n || r->rejoin.n))
        meeting__room_ensure(mt, r); /* someone joined while it was going */
}

void meeting__room_ensure(meeting *mt, meeting_room *r)
{
    uint64_t gen = janus_generation(mt->j);
    if (mt->stopped)
        return;
    if (r->state == MEETING_ROOM_READY && r->gen == gen && janus_is_up(mt->j)) {
        meeting__room_ready(mt, r);
        return;
    }
    if (r->state == MEETING_ROOM_READY)
        r->state = MEETING_ROOM_ABSENT; /* of an earlier generation: Janus forgot it */
    if (!mt->ctl && janus_is_up(mt->j) &&
        janus_attach(mt->j, VIDEOROOM, &meeting__ctl_cbs, mt, &mt->ctl) != CC_OK)
        mt->ctl = NULL; /* an earlier attach failed: try again now that someone waits */
    if (r->state != MEETING_ROOM_ABSENT || !mt->ctl_ready || !janus_handle_alive(mt->ctl))
        return; /* the request under way, or the control handle's attach, comes back here */
    mroom_req *q = cc_calloc(1, sizeof(*q));
    janus_vr_room vr = {.room = r->id,
                        .secret = r->secret,
                        .pin = r->pin,
                        .admin_key = media_videoroom_admin_key(mt->m),
                        .description = "carecomm meeting",
                        .publishers = mt->publishers,
                        .bitrate = meeting__room_bitrate(mt, r)};
    int rc = CC_ERR_NOMEM;
    if (q) {
        *q = (mroom_req){mt, r, gen};
        rc = janus_vr_create(mt->ctl, &vr, meeting__room_created, q);
    }
    if (rc == CC_OK) {
        r->state = MEETING_ROOM_CREATING;
        return;
    }
    cc_free(&q);
    meeting__room_failed(mt, r, "media_unavailable");
}

/* Its last connection left: destroy it in Janus, unless someone is waiting for it. */
static void meeting__room_release(meeting *mt, meeting_room *r)
{
    if (r->members || r->waiting.n || r->rejoin.n || r->state != MEETING_ROOM_READY ||
        r->gen != janus_generation(mt->j) || !mt->ctl_ready || !janus_handle_alive(mt->ctl) ||
        mt->stopped)
        return;
    mroom_req *q = cc_calloc(1, sizeof(*q));
    if (!q)
        return;
    *q = (mroom_req){mt, r, r->gen};
    if (janus_vr_destroy(mt->ctl, r->id, r->secret, meeting__room_destroyed, q) == CC_OK)
        r->state = MEETING_ROOM_DESTROYING;
    else
        cc_free(&q);
}

/* ---- leaving ------------------------------------------------------------------------------ */

void meeting__teardown(mconn *c)
{
    if (c->gone)
        return;
    meeting *mt = c->mt;
    char key[24];
    c->gone = true;
    janus_detach(c->pub); /* Janus then tells the room this participant left */
    janus_detach(c->sub);
    c->pub = c->sub = NULL;
    meeting__key(c->conn, key);
    cc_map_remove(mt->conns, key);
    meeting__host_on_leave(c);
    meeting_conn_list_remove(&c->room->waiting, c->conn);
    if (!mt->restarting) /* left, removed, or its page closed: it asks again next time */
        meeting_conn_list_remove(&c->room->admitted, c->conn);
    c->room->members--;
    if (c->room->members == 0 && !mt->restarting) {
        /* The meeting is over: the next one in this conversation starts anew. */
        c->room->host = 0;
        c->room->host_user[0] = '\0';
        c->room->locked = false;
        c->room->classroom = false;
        c->room->max_participants = c->room->bitrate = 0;
    }
    meeting__room_release(mt, c->room);
    meeting__conn_unref(c);
}

static void meeting__room_ready(meeting *mt, meeting_room *r)
{
    meeting_conn_list l;
    meeting_conn_list_take(&r->waiting, &l);
    for (size_t i = 0; i < l.n; i++) {
        mconn *c = meeting__conn(mt, l.v[i]);
        if (c && c->room == r && c->state == MC_WAIT_ROOM)
            meeting__attach_pub(c);
    }
    cc_free(&l.v);
    meeting_conn_list_take(&r->rejoin, &l);
    for (size_t i = 0; i < l.n; i++)
        meeting__send(mt, l.v[i],
                      json_pack("{s:s,s:s,s:s}", "type", "meeting.rejoin", "room", r->id,
                                r->consult ? "consultation" : "conversation", r->conv),
                      NULL);
    /* Everyone who waited left while it was being created: do not leave it in Janus. (After
     * a rejoin notice it stays, for those about to come back.) */
    if (l.n == 0)
        meeting__room_release(mt, r);
    cc_free(&l.v);
}

/* ---- frames from clients ------------------------------------------------------------------- */

static void meeting__layered(void *ud, int err, const janus_result *res)
{
    mreq *q = ud;
    mconn *c = q->c;
    if (!c->gone) {
        if (err != CC_OK)
            meeting__error(c->mt, c->conn, "meeting.layer", q->id, c->room->id,
                           meeting__janus_code(err, res), "the media server refused the layer");
        else
            meeting__send(c->mt, c->conn,
                          json_pack("{s:s,s:s,s:s}", "type", "meeting.done", "request",
                                    "meeting.layer", "room", c->room->id),
                          q->id);
    }
    meeting__req_free(q);
}

/* Every frame after the join: the connection's own room, still a member. */
static void meeting__in_room(meeting *mt, net_ws_conn conn, const void *principal, bool guest,
                             meeting_req *q)
{
    const char *user = guest ? "(patient link)" : account_principal_user_id(principal);
    const char *code = NULL, *message = "";
    mconn *c = meeting__conn(mt, conn);
    if (!c || strcmp(c->room->id, q->room) != 0) {
        cc_logf(CC_LOG_WARN, "meeting frame refused: not this connection's room", "{s:s,s:s}",
                "user_id", user, "type", q->name);
        meeting__error(mt, conn, q->name, q->id, q->room, "not_in_room",
                       "this connection has not joined that room");
        /* A late frame for a room of one's own conversation (after a leave) is no attempt; a
         * room id that is nobody's, or another conversation's, is. */
        meeting_room *r = meeting_rooms_by_id(mt->rooms, q->room);
        if (!guest && (!r || !meeting__allowed(mt, conn, principal, guest, r->consult, r->conv,
                                               false, NULL, 0))) {
            char object[64];
            snprintf(object, sizeof(object), "meeting_room:%s", q->room);
            account_audit_denied(mt->m->acct, principal, object, "not_in_room");
        }
        return;
    }
    if (!meeting__allowed(mt, conn, principal, guest, c->room->consult, c->room->conv, false, NULL,
                          0)) {
        /* removed from the conversation (or the consultation ended) since the join: out */
        meeting__send(mt, conn,
                      json_pack("{s:s,s:s,s:s}", "type", "meeting.left", "room", c->room->id,
                                "reason", c->room->consult ? "ended" : "removed"),
                      NULL);
        meeting__teardown(c);
        meeting__error(mt, conn, q->name, q->id, q->room,
                       c->room->consult ? "consultation_not_found" : "conversation_not_found",
                       "no longer in this meeting");
        return;
    }
    if (q->type != MEETING_LEAVE && c->state != MC_JOINED) {
        meeting__error(mt, conn, q->name, q->id, q->room, "not_joined",
                       "wait for meeting.joined first");
        return;
    }
    int rc = CC_OK;
    mreq *r = NULL;
    switch (q->type) {
    case MEETING_PUBLISH:
        if (!meeting__may_publish(c)) {
            code = "not_presenter";
            message = "in a class only the host and the presenters send; raise your hand";
            break;
        }
        if (!(r = meeting__req_new(c, q->type, q->id))) {
            rc = CC_ERR_NOMEM;
            break;
        }
        /* The first offer publishes; a later one (a screen shared, a track stopped)
         * renegotiates the same publisher. */
        rc = janus_message(c->pub,
                           json_pack("{s:s}", "request", c->published ? "configure" : "publish"),
                           q->jsep, meeting__published, r);
        q->jsep = NULL; /* taken, whatever happened */
        break;
    case MEETING_SUBSCRIBE:
        code = meeting__subscribe(c, q);
        message = code && strcmp(code, "busy") == 0
                      ? "a subscription change is under way: wait for its meeting.offer"
                      : "the media server is unavailable";
        break;
    case MEETING_ANSWER:
        if (!c->sub_joined) {
            code = "not_subscribed";
            message = "meeting.answer answers a meeting.offer";
        } else if (!(r = meeting__req_new(c, q->type, q->id))) {
            rc = CC_ERR_NOMEM;
        } else {
            rc = janus_message(c->sub, json_pack("{s:s}", "request", "start"), q->jsep,
                               meeting__started, r);
            q->jsep = NULL; /* taken, whatever happened */
        }
        break;
    case MEETING_TRICKLE: {
        janus_handle *h = q->target == MEETING_TARGET_PUBLISHER ? c->pub : c->sub;
        if (!h || !janus_handle_alive(h)) {
            code = "not_subscribed";
            message = "no such peer connection yet";
            break;
        }
        janus_trickle(h, q->candidate, meeting__noop, NULL);
        q->candidate = NULL;
        break;
    }
    case MEETING_HAND:
        meeting__hand(c, q);
        break;
    case MEETING_LAYER:
        if (!c->sub_joined || !janus_handle_alive(c->sub)) {
            code = "not_subscribed";
            message = "no receiving connection yet";
        } else if (!(r = meeting__req_new(c, q->type, q->id))) {
            rc = CC_ERR_NOMEM;
        } else {
            /* Janus's simulcast: 0 is the lowest layer; it falls back by itself if the one
             * asked for stops arriving. */
            rc = janus_message(
                c->sub, json_pack("{s:s,s:o}", "request", "configure", "streams", q->subscribe),
                NULL, meeting__layered, r);
            q->subscribe = NULL;
        }
        break;
    case MEETING_REMOVE:
    case MEETING_MUTE:
    case MEETING_LOCK:
    case MEETING_END:
    case MEETING_MODE:
    case MEETING_PRESENTER:
    case MEETING_LIMITS:
        code = meeting__host_frame(c, q, &message);
        break;
    case MEETING_ADMIT:
    case MEETING_DENY:
        code = meeting__lobby_decide(c, principal, q, &message);
        break;
    case MEETING_LEAVE:
        meeting__teardown(c);
        meeting__send(
            mt, conn,
            json_pack("{s:s,s:s,s:s}", "type", "meeting.left", "room", q->room, "reason", "left"),
            q->id);
        break;
    default:
        break;
    }
    if (rc != CC_OK) {
        if (r)
            meeting__req_free(r);
        code = "media_unavailable";
        message = "the media server is unavailable";
    }
    if (code)
        meeting__error(mt, conn, q->name, q->id, q->room, code, message);
}

static void meeting__frame(meeting *mt, net_ws_conn conn, const void *principal, bool guest,
                           const json_t *obj)
{
    meeting_req q;
    char why[160];
    if (meeting_req_parse(obj, &q, why, sizeof(why)) != CC_OK) {
        meeting__error(mt, conn, q.name, q.id, NULL, "bad_message", why);
        return;
    }
    if (mt->stopped || !mt->j) {
        meeting__error(mt, conn, q.name, q.id, NULL, "media_unavailable", "the server is stopping");
    } else if (guest && !principal) {
        meeting__error(mt, conn, q.name, q.id, NULL, "not_allowed", "send your link's hello first");
    } else if (guest && q.type == MEETING_LEAVE && meeting__lobby_leave(mt, conn, NULL)) {
        meeting__send(
            mt, conn,
            json_pack("{s:s,s:s,s:s}", "type", "meeting.left", "room", q.room, "reason", "left"),
            q.id);
    } else if (guest) {
        if (q.type == MEETING_JOIN)
            meeting__join(mt, conn, principal, true, &q);
        else
            meeting__in_room(mt, conn, principal, true, &q);
    } else if (!auth_role_has(account_principal_role(principal), PERM_MEETINGS)) {
        cc_logf(CC_LOG_WARN, "meeting frame refused: no meetings permission", "{s:s}", "user_id",
                account_principal_user_id(principal));
        meeting__error(mt, conn, q.name, q.id, NULL, "forbidden",
                       "meetings need the meetings permission");
        account_audit_denied(mt->m->acct, principal, "meeting", "forbidden");
    } else if (q.type == MEETING_JOIN) {
        meeting__join(mt, conn, principal, false, &q);
    } else {
        meeting__in_room(mt, conn, principal, false, &q);
    }
    meeting_req_clear(&q);
}

static const char *meeting__on_frame(void *ud, net_ws_conn conn, const void *principal,
                                     const json_t *obj, const char **message)
{
    (void)message;
    meeting__frame(ud, conn, principal, false, obj);
    return NULL;
}

/* The same frames from the guest WebSocket (patients' links): principal is care's, or NULL. */
static const char *meeting__on_guest_frame(void *ud, net_ws_conn conn, const void *principal,
                                           const json_t *obj, const char **message)
{
    (void)message;
    meeting__frame(ud, conn, principal, true, obj);
    return NULL;
}

static void meeting__on_close(void *ud, net_ws_conn conn, const void *principal)
{
    (void)principal;
    meeting *mt = ud;
    mconn *c = meeting__conn(mt, conn);
    if (c)
        meeting__teardown(c);
    meeting__lobby_leave(mt, conn, NULL);
    meeting__ring_conn_closed(mt, conn);
}

/* ---- Janus's session ----------------------------------------------------------------------- */

static void meeting__ctl_attached(void *ud, janus_handle *h, int err);
static void meeting__ctl_event(void *ud, janus_handle *h, janus_event_kind kind,
                               const janus_result *ev)
{
    (void)ev;
    meeting *mt = ud;
    if ((kind == JANUS_EV_DETACHED || kind == JANUS_EV_LOST) && mt->ctl == h) {
        janus_detach(h);
        mt->ctl = NULL;
        mt->ctl_ready = false;
    }
}

static const janus_handle_cbs meeting__ctl_cbs = {meeting__ctl_attached, meeting__ctl_event};

static void meeting__ensure_each(void *ud, meeting_room *r)
{
    if (r->waiting.n || r->rejoin.n)
        meeting__room_ensure(ud, r);
}

static void meeting__ctl_attached(void *ud, janus_handle *h, int err)
{
    meeting *mt = ud;
    if (mt->ctl != h)
        return;
    if (err != CC_OK) {
        janus_detach(h);
        mt->ctl = NULL;
        cc_log(CC_LOG_WARN, "meetings: cannot attach to the VideoRoom plugin", NULL);
        return;
    }
    mt->ctl_ready = true;
    meeting_rooms_each(mt->rooms, meeting__ensure_each, mt);
}

static void meeting__on_up(void *ud, uint64_t generation)
{
    meeting *mt = ud;
    cc_logf(CC_LOG_INFO, "meetings: Janus session up", "{s:I}", "generation",
            (json_int_t)generation);
    janus_detach(mt->ctl);
    mt->ctl = NULL;
    mt->ctl_ready = false;
    if (janus_attach(mt->j, VIDEOROOM, &meeting__ctl_cbs, mt, &mt->ctl) != CC_OK)
        mt->ctl = NULL;
}

/* The connections in a meeting (of conversation conv and person user when not NULL), as ids:
 * tearing one down changes the map, so it is walked first. */
typedef struct {
    net_ws_conn *v;
    size_t n;
    const char *conv, *user;
} meeting__all;

static bool meeting__collect(void *ud, const char *key, void *value)
{
    (void)key;
    meeting__all *a = ud;
    const mconn *c = value;
    if ((!a->conv || strcmp(c->room->conv, a->conv) == 0) &&
        (!a->user || strcmp(c->user_id, a->user) == 0))
        a->v[a->n++] = c->conn;
    return false;
}

/* Takes the matching connections out of their meetings, telling each why (meeting.left). With
 * rejoin, each is remembered in its room to be told meeting.rejoin once the room is back. */
static void meeting__leave_all(meeting *mt, const char *conv, const char *user, const char *reason,
                               bool rejoin)
{
    meeting__all a = {cc_calloc(cc_map_count(mt->conns) + 1, sizeof(net_ws_conn)), 0, conv, user};
    if (a.v)
        cc_map_sweep(mt->conns, meeting__collect, &a);
    for (size_t i = 0; i < a.n; i++) {
        mconn *c = meeting__conn(mt, a.v[i]);
        if (!c)
            continue;
        if (rejoin)
            meeting_conn_list_add(&c->room->rejoin, c->conn);
        meeting__send(mt, c->conn,
                      json_pack("{s:s,s:s,s:s}", "type", "meeting.left", "room", c->room->id,
                                "reason", reason),
                      NULL);
        meeting__teardown(c);
    }
    cc_free(&a.v);
}

void meeting__end_room(meeting *mt, meeting_room *r, const char *reason)
{
    meeting__leave_all(mt, r->conv, NULL, reason, false);
}

static void meeting__forget_room(void *ud, meeting_room *r)
{
    (void)ud;
    if (r->state == MEETING_ROOM_READY)
        r->state = MEETING_ROOM_ABSENT;
}

static void meeting__on_down(void *ud, uint64_t generation, const char *why)
{
    meeting *mt = ud;
    cc_logf(CC_LOG_WARN, "meetings: Janus session lost; participants will rejoin", "{s:I,s:s,s:i}",
            "generation", (json_int_t)generation, "why", why ? why : "", "participants",
            (int)cc_map_count(mt->conns));
    janus_detach(mt->ctl);
    mt->ctl = NULL;
    mt->ctl_ready = false;
    mt->restarting = true;
    meeting__leave_all(mt, NULL, NULL, "media_restarting", true);
    mt->restarting = false;
    meeting_rooms_each(mt->rooms, meeting__forget_room, NULL);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static const char *const meeting__frames[] = {
    "meeting.join",  "meeting.publish", "meeting.subscribe", "meeting.answer",    "meeting.trickle",
    "meeting.leave", "meeting.remove",  "meeting.mute",      "meeting.lock",      "meeting.end",
    "meeting.hand",  "meeting.layer",   "meeting.mode",      "meeting.presenter", "meeting.admit",
    "meeting.deny",  "meeting.limits"};

static double meeting__participants(void *ud)
{
    const meeting *mt = ud;
    return (double)cc_map_count(mt->conns);
}

int meeting_create(media *m, meeting **out)
{
    int rc = CC_ERR_NOMEM;
    *out = NULL;
    meeting *mt = cc_calloc(1, sizeof(*mt));
    if (!mt)
        return CC_ERR_NOMEM;
    mt->m = m;
    mt->srv = m->srv;
    mt->publishers = (int)cc_config_int(m->cfg, "meeting_max_publishers");
    mt->bitrate = (int)cc_config_int(m->cfg, "meeting_bitrate");
    mt->ring_ms = cc_config_int(m->cfg, "call_ring_seconds") * 1000;
    mt->participants = (int)cc_config_int(m->cfg, "meeting_max_participants");
    if (!(mt->rooms = meeting_rooms_new()) || !(mt->conns = cc_map_new()))
        goto fail;
    for (size_t i = 0; i < sizeof(meeting__frames) / sizeof(meeting__frames[0]); i++)
        if ((rc = net_server_add_ws_conn_message(m->srv, meeting__frames[i], meeting__on_frame,
                                                 mt)) != CC_OK ||
            (rc = net_server_add_ws_guest_message(m->srv, meeting__frames[i],
                                                  meeting__on_guest_frame, mt)) != CC_OK)
            goto fail;
    if ((rc = meeting__ring_register(mt)) != CC_OK ||
        (rc = net_server_add_ws_conn_observer(m->srv, meeting__on_close, mt)) != CC_OK ||
        (rc = net_metrics_add_gauge(m->srv, "carecomm_meeting_participants",
                                    "Connections in a meeting (joining or joined) on this node",
                                    meeting__participants, mt)) != CC_OK)
        goto fail;
    janus_opts o = {.url = media_janus_url(m), .api_secret = media_janus_api_secret(m)};
    janus_cbs cbs = {meeting__on_up, meeting__on_down};
    if ((rc = janus_create(m->loop, m->srv, &o, &cbs, mt, &mt->j)) != CC_OK)
        goto fail;
    *out = mt;
    return CC_OK;
fail:
    /* the hooks registered stay with the server: keep mt alive for them, stopped */
    mt->stopped = true;
    *out = mt;
    return rc;
}

void meeting_on_events(meeting *mt, const store_event *evs, size_t n)
{
    for (size_t i = 0; mt && !mt->stopped && i < n; i++) {
        bool left = strcmp(evs[i].type, "member.left") == 0;
        bool appt = strcmp(evs[i].type, "appointment.updated") == 0;
        bool revoked = strcmp(evs[i].type, "guest_link.revoked") == 0;
        if ((!left && !appt && !revoked) || !evs[i].payload)
            continue;
        json_t *p = json_loads(evs[i].payload, 0, NULL);
        if (revoked) {
            const char *link = json_string_value(json_object_get(p, "id"));
            if (link)
                meeting__lobby_revoked(mt, link);
        } else if (left) {
            const char *conv = json_string_value(json_object_get(p, "conversation_id"));
            const char *user = json_string_value(json_object_get(p, "user_id"));
            if (conv && user)
                meeting__leave_all(mt, conv, user, "removed", false);
        } else {
            /* The consultation ended (or was cancelled, or marked no-show): its call ends for
             * everyone in it, staff and patient alike. */
            const char *id = json_string_value(json_object_get(p, "id"));
            const char *state = json_string_value(json_object_get(p, "state"));
            meeting_room *r = id ? meeting_rooms_get(mt->rooms, id, false) : NULL;
            if (r && r->consult && state && strcmp(state, "in_call") != 0)
                meeting__leave_all(mt, id, NULL, "ended", false);
        }
        json_decref(p);
    }
}

void meeting_set_missed_call(meeting *mt, media_missed_fn fn, void *ud)
{
    if (!mt)
        return;
    mt->missed = fn;
    mt->missed_ud = ud;
}

void meeting_set_consult_check(meeting *mt, media_consult_fn fn, void *ud)
{
    if (!mt)
        return;
    mt->consult = fn;
    mt->consult_ud = ud;
}

void meeting_set_guest_check(meeting *mt, media_guest_fn fn, void *ud)
{
    if (!mt)
        return;
    mt->guest = fn;
    mt->guest_ud = ud;
}

void meeting_set_member_check(meeting *mt, media_member_fn fn, void *ud)
{
    if (!mt)
        return;
    mt->member = fn;
    mt->member_ud = ud;
}

void meeting_stop(meeting *mt)
{
    if (!mt)
        return;
    mt->stopped = true;
    meeting__ring_stop(mt);
    if (mt->j)
        janus_stop(mt->j);
}

static bool meeting__drop(void *ud, const char *key, void *value)
{
    (void)ud;
    (void)key;
    mconn *c = value;
    janus_detach(c->pub);
    janus_detach(c->sub);
    c->gone = true;
    meeting__conn_unref(c);
    return true;
}

void meeting_free(meeting *mt)
{
    if (!mt)
        return;
    if (mt->conns)
        cc_map_sweep(mt->conns, meeting__drop, NULL);
    janus_detach(mt->ctl);
    janus_free(mt->j);
    meeting__ring_free(mt);
    cc_map_free(mt->conns, NULL);
    meeting_rooms_free(mt->rooms);
    cc_free_ptr(mt);
}
