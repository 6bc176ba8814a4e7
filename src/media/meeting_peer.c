/* meeting: the two Janus handles of a connection in a meeting. The publisher joins the room
 * with the person's display name and publishes the client's offer (Janus answers); it also hears
 * the room's news (publishers, unpublished, leaving, joining), relayed to the client. The
 * subscriber (Janus 1.x multistream) joins with the streams asked for, then updates; Janus
 * offers and the client answers (start). Trickle candidates go both ways. See meeting.c. */
#include "media/meeting_internal.h"

#include <string.h>

#define VIDEOROOM "janus.plugin.videoroom"

static void meeting__join_failed(mconn *c, const char *code, const char *message)
{
    meeting__error(c->mt, c->conn, "meeting.join", c->join_id, NULL, code, message);
    meeting__teardown(c);
}

static void meeting__joined(void *ud, int err, const janus_result *res)
{
    mreq *q = ud;
    mconn *c = q->c;
    meeting *mt = c->mt;
    if (c->gone)
        goto out;
    if (err != CC_OK) {
        meeting__join_failed(c, meeting__janus_code(err, res), "the media server refused the join");
        goto out;
    }
    json_t *id = json_object_get(res->data, "id"), *pubs = json_object_get(res->data, "publishers");
    if (json_is_string(id))
        snprintf(c->feed, sizeof(c->feed), "%s", json_string_value(id));
    else
        snprintf(c->feed, sizeof(c->feed), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
    c->private_id = json_integer_value(json_object_get(res->data, "private_id"));
    c->state = MC_JOINED;
    /* A guest has no user id: its TURN credentials name the consultation instead. */
    json_t *ice = media_ice_servers(mt->m, c->guest ? c->room->conv : c->user_id, cc_now_ms());
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "type", "meeting.joined", "room",
                          c->room->id, c->room->consult ? "consultation" : "conversation",
                          c->room->conv, "feed", c->feed, "ice_servers", ice ? ice : json_array(),
                          "publishers", json_is_array(pubs) ? json_deep_copy(pubs) : json_array());
    if (o) {
        json_object_set_new(o, "host", json_boolean(c->room->host == c->conn));
        mconn *h = c->room->host ? meeting__conn(mt, c->room->host) : NULL;
        if (h && h->feed[0])
            json_object_set_new(o, "host_feed", json_string(h->feed));
        json_object_set_new(o, "locked", json_boolean(c->room->locked));
        json_object_set_new(o, "mode", json_string(c->room->classroom ? "class" : "meeting"));
        json_object_set_new(o, "may_publish", json_boolean(meeting__may_publish(c)));
        json_object_set_new(o, "max_participants",
                            json_integer(meeting__room_max_participants(mt, c->room)));
        json_object_set_new(o, "bitrate", json_integer(meeting__room_bitrate(mt, c->room)));
        json_object_set_new(o, "max_participants_allowed", json_integer(mt->participants));
    }
    meeting__send(mt, c->conn, o, q->id);
    meeting__host_joined(c);
    cc_logf(CC_LOG_INFO, "meeting joined", "{s:s,s:s,s:s}", "user_id", c->user_id, "conversation",
            c->room->conv, "room", c->room->id);
out:
    meeting__req_free(q);
}

static void meeting__pub_attached(void *ud, janus_handle *h, int err)
{
    (void)h;
    mconn *c = ud;
    if (c->gone)
        return;
    if (err != CC_OK) {
        meeting__join_failed(c, "media_unavailable", "the media server is unavailable");
        return;
    }
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s}", "request", "join", "ptype", "publisher",
                             "room", c->room->id, "pin", c->room->pin, "display", c->display);
    mreq *q = body ? meeting__req_new(c, MEETING_JOIN, c->join_id) : NULL;
    int rc = q ? janus_message(c->pub, body, NULL, meeting__joined, q) : CC_ERR_NOMEM;
    if (rc != CC_OK) {
        if (!q)
            json_decref(body);
        else
            meeting__req_free(q);
        meeting__join_failed(c, "media_unavailable", "the media server is unavailable");
        return;
    }
    c->state = MC_JOINING;
}

/* Janus's news about the room, heard on this connection's publisher handle. */
static void meeting__room_event(mconn *c, const json_t *data)
{
    const char *vr = json_string_value(json_object_get(data, "videoroom"));
    json_t *o = json_pack("{s:s,s:s}", "type", "meeting.participants", "room", c->room->id);
    if (!o || !vr)
        goto out;
    bool news = false;
    if (strcmp(vr, "talking") == 0 || strcmp(vr, "stopped-talking") == 0) {
        json_t *id = json_object_get(data, "id");
        news = id && !json_object_set(o, "talking_id", id) &&
               !json_object_set_new(o, "talking", json_boolean(vr[0] == 't'));
    } else if (strcmp(vr, "event") == 0) {
        static const char *const keys[] = {"publishers", "unpublished", "leaving", "joining"};
        for (size_t i = 0; i < 4; i++) {
            json_t *v = json_object_get(data, keys[i]);
            if (!v || (json_is_string(v) && strcmp(json_string_value(v), "ok") == 0))
                continue; /* "ok": about ourselves (our own unpublish or leave) */
            json_object_set_new(o, keys[i], json_deep_copy(v));
            news = true;
        }
        if (json_object_get(data, "error_code"))
            meeting__error(c->mt, c->conn, "meeting.publish", NULL, c->room->id, "media_error",
                           "the media server reported an error");
    }
    if (news) {
        meeting__send(c->mt, c->conn, o, NULL);
        o = NULL;
    }
out:
    json_decref(o);
}

static void meeting__trickle_out(mconn *c, const char *target, const janus_result *ev)
{
    json_t *cand = json_object_get(ev->msg, "candidate");
    if (!cand)
        return;
    json_t *o = json_pack("{s:s,s:s,s:s,s:O}", "type", "meeting.trickle", "room", c->room->id,
                          "target", target, "candidate", cand);
    meeting__send(c->mt, c->conn, o, NULL);
}

/* Janus dropped a handle on its own (not a restart: that is on_down). */
static void meeting__handle_lost(mconn *c)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "type", "meeting.left", "room", c->room->id, "reason",
                          "media_lost");
    meeting__send(c->mt, c->conn, o, NULL);
    meeting__teardown(c);
}

static void meeting__pub_event(void *ud, janus_handle *h, janus_event_kind kind,
                               const janus_result *ev)
{
    (void)h;
    mconn *c = ud;
    if (c->gone)
        return;
    if (kind == JANUS_EV_PLUGIN && ev->data)
        meeting__room_event(c, ev->data);
    else if (kind == JANUS_EV_TRICKLE)
        meeting__trickle_out(c, "publisher", ev);
    else if (kind == JANUS_EV_DETACHED)
        meeting__handle_lost(c);
}

static const janus_handle_cbs meeting__pub_cbs = {meeting__pub_attached, meeting__pub_event};

void meeting__attach_pub(mconn *c)
{
    c->state = MC_ATTACHING;
    if (janus_attach(c->mt->j, VIDEOROOM, &meeting__pub_cbs, c, &c->pub) != CC_OK)
        meeting__join_failed(c, "media_unavailable", "the media server is unavailable");
}

void meeting__published(void *ud, int err, const janus_result *res)
{
    mreq *q = ud;
    mconn *c = q->c;
    if (c->gone)
        goto out;
    if (err != CC_OK || !res->jsep) {
        meeting__error(c->mt, c->conn, "meeting.publish", q->id, c->room->id,
                       meeting__janus_code(err, res), "the media server refused the offer");
        goto out;
    }
    c->published = true;
    meeting__send(c->mt, c->conn,
                  json_pack("{s:s,s:s,s:s,s:O}", "type", "meeting.answer", "room", c->room->id,
                            "target", "publisher", "jsep", res->jsep),
                  q->id);
out:
    meeting__req_free(q);
}

/* ---- the subscriber: join with streams, update, start -------------------------------------- */

static void meeting__sub_offer(void *ud, int err, const janus_result *res)
{
    mreq *q = ud;
    mconn *c = q->c;
    if (c->gone)
        goto out;
    c->sub_busy = false;
    if (err != CC_OK) {
        meeting__error(c->mt, c->conn, "meeting.subscribe", q->id, c->room->id,
                       meeting__janus_code(err, res), "the media server refused the subscription");
        if (q->sub_join) { /* start afresh at the next subscribe */
            janus_detach(c->sub);
            c->sub = NULL;
        }
        goto out;
    }
    if (q->sub_join)
        c->sub_joined = true;
    if (res->jsep) {
        json_t *streams = json_object_get(res->data, "streams");
        json_t *o = json_pack("{s:s,s:s,s:O}", "type", "meeting.offer", "room", c->room->id, "jsep",
                              res->jsep);
        if (o && streams)
            json_object_set(o, "streams", streams);
        meeting__send(c->mt, c->conn, o, q->id);
    }
out:
    meeting__req_free(q);
}

static void meeting__sub_attached(void *ud, janus_handle *h, int err)
{
    (void)h;
    mconn *c = ud;
    if (c->gone)
        return;
    json_t *streams = c->sub_pending;
    c->sub_pending = NULL;
    int rc = err;
    mreq *q = NULL;
    if (rc == CC_OK) {
        json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:I,s:o}", "request", "join", "ptype",
                                 "subscriber", "room", c->room->id, "pin", c->room->pin,
                                 "private_id", c->private_id, "streams", streams);
        streams = NULL;
        q = body ? meeting__req_new(c, MEETING_SUBSCRIBE, c->sub_id) : NULL;
        if (q)
            q->sub_join = true;
        rc = q ? janus_message(c->sub, body, NULL, meeting__sub_offer, q) : CC_ERR_NOMEM;
        if (!q)
            json_decref(body);
    }
    json_decref(streams);
    if (rc != CC_OK) {
        if (q)
            meeting__req_free(q);
        c->sub_busy = false;
        janus_detach(c->sub);
        c->sub = NULL;
        meeting__error(c->mt, c->conn, "meeting.subscribe", c->sub_id, c->room->id,
                       "media_unavailable", "the media server is unavailable");
    }
}

static void meeting__sub_event(void *ud, janus_handle *h, janus_event_kind kind,
                               const janus_result *ev)
{
    (void)h;
    mconn *c = ud;
    if (c->gone)
        return;
    if (kind == JANUS_EV_PLUGIN && ev->jsep) {
        /* Janus renegotiates by itself, e.g. when a publisher we receive leaves. */
        json_t *o = json_pack("{s:s,s:s,s:O}", "type", "meeting.offer", "room", c->room->id, "jsep",
                              ev->jsep);
        json_t *streams = ev->data ? json_object_get(ev->data, "streams") : NULL;
        if (o && streams)
            json_object_set(o, "streams", streams);
        meeting__send(c->mt, c->conn, o, NULL);
    } else if (kind == JANUS_EV_TRICKLE) {
        meeting__trickle_out(c, "subscriber", ev);
    } else if (kind == JANUS_EV_DETACHED) {
        janus_detach(c->sub);
        c->sub = NULL;
        c->sub_joined = c->sub_busy = false;
    }
}

static const janus_handle_cbs meeting__sub_cbs = {meeting__sub_attached, meeting__sub_event};

const char *meeting__subscribe(mconn *c, meeting_req *q)
{
    if (c->sub_busy)
        return "busy";
    if (!c->sub) {
        if (janus_attach(c->mt->j, VIDEOROOM, &meeting__sub_cbs, c, &c->sub) != CC_OK)
            return "media_unavailable";
        c->sub_pending = q->subscribe;
        q->subscribe = NULL;
        c->sub_busy = true;
        c->sub_joined = false;
        snprintf(c->sub_id, sizeof(c->sub_id), "%s", q->id);
        return NULL;
    }
    if (!c->sub_joined)
        return "busy";
    json_t *body = json_pack("{s:s,s:o}", "request", "update", "subscribe", q->subscribe);
    q->subscribe = NULL;
    if (body && q->unsubscribe) {
        json_object_set_new(body, "unsubscribe", q->unsubscribe);
        q->unsubscribe = NULL;
    }
    mreq *r = body ? meeting__req_new(c, MEETING_SUBSCRIBE, q->id) : NULL;
    int rc = r ? janus_message(c->sub, body, NULL, meeting__sub_offer, r) : CC_ERR_NOMEM;
    if (!r)
        json_decref(body);
    if (rc != CC_OK) {
        if (r)
            meeting__req_free(r);
        return "media_unavailable";
    }
    c->sub_busy = true;
    return NULL;
}

void meeting__started(void *ud, int err, const janus_result *res)
{
    mreq *q = ud;
    mconn *c = q->c;
    if (!c->gone && err != CC_OK)
        meeting__error(c->mt, c->conn, "meeting.answer", q->id, c->room->id,
                       meeting__janus_code(err, res), "the media server refused the answer");
    meeting__req_free(q);
}
