/* The meeting frames a client sends on the event WebSocket (docs/websocket.md, "Meetings"):
 * checked here, pure, and rebuilt from the checked fields only, so that nothing a client adds
 * to a frame ever reaches Janus (no "secret", "pin", "admin_key", "room" of its choosing...). */
#include "media/meeting_internal.h"

#include <string.h>

static const struct {
    const char *name;
    meeting_req_type type;
} meeting__types[] = {
    {"meeting.join", MEETING_JOIN},           {"meeting.publish", MEETING_PUBLISH},
    {"meeting.subscribe", MEETING_SUBSCRIBE}, {"meeting.answer", MEETING_ANSWER},
    {"meeting.trickle", MEETING_TRICKLE},     {"meeting.leave", MEETING_LEAVE},
    {"meeting.remove", MEETING_REMOVE},       {"meeting.mute", MEETING_MUTE},
    {"meeting.lock", MEETING_LOCK},           {"meeting.end", MEETING_END},
    {"meeting.hand", MEETING_HAND},           {"meeting.layer", MEETING_LAYER},
    {"meeting.mode", MEETING_MODE},           {"meeting.presenter", MEETING_PRESENTER},
    {"meeting.admit", MEETING_ADMIT},         {"meeting.deny", MEETING_DENY},
    {"meeting.limits", MEETING_LIMITS},
};

static bool meeting__digits(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool meeting__token(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* {"type":"offer"|"answer","sdp":"v=0..."} -> a new object with just those two. */
static int meeting__jsep(const json_t *j, const char *want, json_t **out, char *why, size_t whylen)
{
    static const cc_json_field fields[] = {
        {"type", CC_JSON_STRING, true, 1, 16},
        {"sdp", CC_JSON_STRING, true, 3, MEETING_SDP_MAX},
    };
    if (!json_is_object(j)) {
        cc_say(why, whylen, "field 'jsep' must be an object {type, sdp}");
        return CC_ERR_INVALID;
    }
    if (cc_json_validate(j, fields, 2, why, whylen) != CC_OK)
        return CC_ERR_INVALID;
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *sdp = json_string_value(json_object_get(j, "sdp"));
    if (strcmp(type, want) != 0) {
        cc_say(why, whylen, "field 'jsep.type' must be \"%s\"", want);
        return CC_ERR_INVALID;
    }
    if (strncmp(sdp, "v=0", 3) != 0) {
        cc_say(why, whylen, "field 'jsep.sdp' is not an SDP (it starts with v=0)");
        return CC_ERR_INVALID;
    }
    *out = json_pack("{s:s,s:s}", "type", type, "sdp", sdp);
    return *out ? CC_OK : CC_ERR_NOMEM;
}

/* An RTCIceCandidate as the browser serialises it; null (or {"completed":true}) ends. */
static int meeting__candidate(const json_t *c, json_t **out, char *why, size_t whylen)
{
    static const cc_json_field fields[] = {
        {"candidate", CC_JSON_STRING, true, 0, MEETING_CANDIDATE_MAX},
        {"sdpMid", CC_JSON_STRING, false, 0, 64},
        {"sdpMLineIndex", CC_JSON_INT, false, 0, 1023},
        {"usernameFragment", CC_JSON_STRING, false, 0, 256},
    };
    *out = NULL;
    if (!c || json_is_null(c))
        return CC_OK;
    if (json_is_object(c) && json_object_size(c) == 1 &&
        json_is_true(json_object_get(c, "completed")))
        return CC_OK;
    if (!json_is_object(c) || cc_json_validate(c, fields, 4, why, whylen) != CC_OK) {
        if (!json_is_object(c))
            cc_say(why, whylen, "field 'candidate' must be an object or null");
        return CC_ERR_INVALID;
    }
    const char *text = json_string_value(json_object_get(c, "candidate"));
    if (!*text)
        return CC_OK; /* an empty candidate is how some browsers say "end of candidates" */
    json_t *o = json_pack("{s:s}", "candidate", text);
    json_t *mid = json_object_get(c, "sdpMid"), *idx = json_object_get(c, "sdpMLineIndex");
    if (o && mid && json_object_set_new(o, "sdpMid", json_string(json_string_value(mid))) != 0)
        goto nomem;
    if (o && idx &&
        json_object_set_new(o, "sdpMLineIndex", json_integer(json_integer_value(idx))) != 0)
        goto nomem;
    if (!o)
        return CC_ERR_NOMEM;
    *out = o;
    return CC_OK;
nomem:
    json_decref(o);
    return CC_ERR_NOMEM;
}

/* [{"mid":"1","substream":0..2}, ...] -> a new array with just those. */
static int meeting__layers(const json_t *a, json_t **out, char *why, size_t whylen)
{
    static const cc_json_field fields[] = {
        {"mid", CC_JSON_STRING, true, 1, 16},
        {"substream", CC_JSON_INT, true, 0, 2},
    };
    *out = NULL;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > MEETING_STREAMS_MAX) {
        cc_say(why, whylen, "field 'streams' must be an array of 1 to %d {mid, substream}",
               MEETING_STREAMS_MAX);
        return CC_ERR_INVALID;
    }
    json_t *res = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_object(v) || cc_json_validate(v, fields, 2, why, whylen) != CC_OK ||
            !meeting__token(json_string_value(json_object_get(v, "mid")), 16)) {
            cc_say(why, whylen, "field 'streams[%zu]' must be {mid, substream: 0 to 2}", i);
            json_decref(res);
            return CC_ERR_INVALID;
        }
        json_t *s = json_pack("{s:s,s:I}", "mid", json_string_value(json_object_get(v, "mid")),
                              "substream", json_integer_value(json_object_get(v, "substream")));
        if (!res || !s || json_array_append_new(res, s) != 0) {
            json_decref(res);
            return CC_ERR_NOMEM;
        }
    }
    *out = res;
    return CC_OK;
}

/* [{"feed":"<id>","mid":"0"?}, ...] -> a new array with just those. */
static int meeting__streams(const json_t *a, const char *field, bool required, json_t **out,
                            char *why, size_t whylen)
{
    static const cc_json_field fields[] = {
        {"feed", CC_JSON_STRING, true, 1, MEETING_FEED_MAX},
        {"mid", CC_JSON_STRING, false, 1, 16},
    };
    *out = NULL;
    if (!a && !required)
        return CC_OK;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > MEETING_STREAMS_MAX) {
        cc_say(why, whylen, "field '%s' must be an array of 1 to %d {feed, mid?}", field,
               MEETING_STREAMS_MAX);
        return CC_ERR_INVALID;
    }
    json_t *res = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_object(v) || cc_json_validate(v, fields, 2, why, whylen) != CC_OK ||
            !meeting__token(json_string_value(json_object_get(v, "feed")), MEETING_FEED_MAX) ||
            (json_object_get(v, "mid") &&
             !meeting__token(json_string_value(json_object_get(v, "mid")), 16))) {
            cc_say(why, whylen, "field '%s[%zu]' must be {feed: participant id, mid?}", field, i);
            json_decref(res);
            return CC_ERR_INVALID;
        }
        json_t *s = json_pack("{s:s}", "feed", json_string_value(json_object_get(v, "feed")));
        json_t *mid = json_object_get(v, "mid");
        if (s && mid)
            json_object_set_new(s, "mid", json_string(json_string_value(mid)));
        if (!res || !s || json_array_append_new(res, s) != 0) {
            json_decref(res);
            return CC_ERR_NOMEM;
        }
    }
    *out = res;
    return CC_OK;
}

int meeting_req_parse(const json_t *obj, meeting_req *out, char *why, size_t whylen)
{
    static const char *const allowed[][8] = {
        [MEETING_JOIN] = {"type", "id", "conversation", "consultation"},
        [MEETING_PUBLISH] = {"type", "id", "room", "jsep"},
        [MEETING_SUBSCRIBE] = {"type", "id", "room", "streams", "unsubscribe"},
        [MEETING_ANSWER] = {"type", "id", "room", "jsep"},
        [MEETING_TRICKLE] = {"type", "id", "room", "target", "candidate"},
        [MEETING_LEAVE] = {"type", "id", "room"},
        [MEETING_REMOVE] = {"type", "id", "room", "feed"},
        [MEETING_MUTE] = {"type", "id", "room", "feed"},
        [MEETING_LOCK] = {"type", "id", "room", "locked"},
        [MEETING_END] = {"type", "id", "room"},
        [MEETING_HAND] = {"type", "id", "room", "raised"},
        [MEETING_LAYER] = {"type", "id", "room", "streams"},
        [MEETING_MODE] = {"type", "id", "room", "mode"},
        [MEETING_PRESENTER] = {"type", "id", "room", "feed", "on"},
        [MEETING_ADMIT] = {"type", "id", "room", "guest"},
        [MEETING_DENY] = {"type", "id", "room", "guest"},
        [MEETING_LIMITS] = {"type", "id", "room", "max_participants", "bitrate"},
    };
    int rc = CC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    const char *type = json_string_value(json_object_get(obj, "type"));
    for (size_t i = 0; type && i < sizeof(meeting__types) / sizeof(meeting__types[0]); i++) {
        if (strcmp(type, meeting__types[i].name) == 0) {
            out->type = meeting__types[i].type;
            out->name = meeting__types[i].name;
        }
    }
    if (!out->type) {
        cc_say(why, whylen, "unknown meeting message type");
        return CC_ERR_INVALID;
    }
    json_t *id = json_object_get(obj, "id");
    if (id) {
        if (!meeting__token(json_string_value(id), MEETING_REQ_ID_MAX)) {
            cc_say(why, whylen, "field 'id' must be 1 to %d of [A-Za-z0-9_-]", MEETING_REQ_ID_MAX);
            goto fail;
        }
        snprintf(out->id, sizeof(out->id), "%s", json_string_value(id));
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < 8 && allowed[out->type][i]; i++)
            known = known || strcmp(key, allowed[out->type][i]) == 0;
        if (!known) {
            cc_say(why, whylen, "unknown field '%.40s' in %s", key, out->name);
            goto fail;
        }
    }
    if (out->type == MEETING_JOIN) {
        /* Exactly one of them: a conversation's meeting, or a consultation's call. */
        const char *conv = json_string_value(json_object_get(obj, "conversation"));
        const char *consult = json_string_value(json_object_get(obj, "consultation"));
        const char *target = conv ? conv : consult;
        if ((conv && json_object_get(obj, "consultation")) || !target) {
            cc_say(why, whylen, "meeting.join names a 'conversation' or a 'consultation'");
            goto fail;
        }
        if (!meeting__token(target, CC_ID_LEN) || strlen(target) != CC_ID_LEN) {
            cc_say(why, whylen, "field '%s' must be an id", conv ? "conversation" : "consultation");
            goto fail;
        }
        memcpy(out->conversation, target, CC_ID_LEN + 1);
        out->consultation = !conv;
        return CC_OK;
    }
    const char *room = json_string_value(json_object_get(obj, "room"));
    if (!room || !meeting__digits(room, MEETING_ROOM_ID_MAX)) {
        cc_say(why, whylen, "field 'room' must be the room id meeting.joined gave");
        goto fail;
    }
    snprintf(out->room, sizeof(out->room), "%s", room);
    switch (out->type) {
    case MEETING_PUBLISH:
    case MEETING_ANSWER:
        rc = meeting__jsep(json_object_get(obj, "jsep"),
                           out->type == MEETING_PUBLISH ? "offer" : "answer", &out->jsep, why,
                           whylen);
        break;
    case MEETING_SUBSCRIBE: {
        /* streams: [] with an unsubscribe only takes streams away (audio only: no more video) */
        const json_t *add = json_object_get(obj, "streams");
        bool none =
            json_is_array(add) && json_array_size(add) == 0 && json_object_get(obj, "unsubscribe");
        rc = none ? ((out->subscribe = json_array()) ? CC_OK : CC_ERR_NOMEM)
                  : meeting__streams(add, "streams", true, &out->subscribe, why, whylen);
        if (rc == CC_OK)
            rc = meeting__streams(json_object_get(obj, "unsubscribe"), "unsubscribe", !!none,
                                  &out->unsubscribe, why, whylen);
        break;
    }
    case MEETING_TRICKLE: {
        const char *t = json_string_value(json_object_get(obj, "target"));
        if (t && strcmp(t, "publisher") == 0)
            out->target = MEETING_TARGET_PUBLISHER;
        else if (t && strcmp(t, "subscriber") == 0)
            out->target = MEETING_TARGET_SUBSCRIBER;
        if (!out->target || !json_object_get(obj, "candidate")) {
            cc_say(why, whylen,
                   "meeting.trickle needs target (publisher|subscriber) and "
                   "candidate (an object, or null at the end)");
            break;
        }
        rc = meeting__candidate(json_object_get(obj, "candidate"), &out->candidate, why, whylen);
        break;
    }
    case MEETING_LAYER:
        rc = meeting__layers(json_object_get(obj, "streams"), &out->subscribe, why, whylen);
        break;
    case MEETING_MODE: {
        const char *mode = json_string_value(json_object_get(obj, "mode"));
        if (!mode || (strcmp(mode, "class") != 0 && strcmp(mode, "meeting") != 0)) {
            cc_say(why, whylen, "field 'mode' must be \"class\" or \"meeting\"");
            break;
        }
        out->locked = strcmp(mode, "class") == 0;
        rc = CC_OK;
        break;
    }
    case MEETING_PRESENTER: {
        const char *feed = json_string_value(json_object_get(obj, "feed"));
        if (!meeting__token(feed, MEETING_FEED_MAX) ||
            !json_is_boolean(json_object_get(obj, "on"))) {
            cc_say(why, whylen, "meeting.presenter needs feed and on (true or false)");
            break;
        }
        snprintf(out->feed, sizeof(out->feed), "%s", feed);
        out->locked = json_is_true(json_object_get(obj, "on"));
        rc = CC_OK;
        break;
    }
    case MEETING_LIMITS: {
        const json_t *n = json_object_get(obj, "max_participants");
        const json_t *b = json_object_get(obj, "bitrate");
        if ((!n && !b) ||
            (n &&
             (!json_is_integer(n) || json_integer_value(n) < 2 || json_integer_value(n) > 1000)) ||
            (b && (!json_is_integer(b) || json_integer_value(b) < 64000 ||
                   json_integer_value(b) > 8000000))) {
            cc_say(why, whylen,
                   "meeting.limits needs max_participants (2 to 1000) and/or bitrate (64000 to "
                   "8000000 bits/s)");
            break;
        }
        out->max_participants = n ? (int)json_integer_value(n) : 0;
        out->bitrate = b ? (int)json_integer_value(b) : 0;
        rc = CC_OK;
        break;
    }
    case MEETING_ADMIT:
    case MEETING_DENY: {
        const char *guest = json_string_value(json_object_get(obj, "guest"));
        if (!meeting__token(guest, MEETING_LOBBY_ID_LEN)) {
            cc_say(why, whylen, "field 'guest' must be the id meeting.lobby gave");
            break;
        }
        snprintf(out->guest, sizeof(out->guest), "%s", guest);
        rc = CC_OK;
        break;
    }
    case MEETING_REMOVE:
    case MEETING_MUTE: {
        const char *feed = json_string_value(json_object_get(obj, "feed"));
        if (!meeting__token(feed, MEETING_FEED_MAX)) {
            cc_say(why, whylen, "field 'feed' must be a participant's feed id");
            break;
        }
        snprintf(out->feed, sizeof(out->feed), "%s", feed);
        rc = CC_OK;
        break;
    }
    case MEETING_LOCK:
    case MEETING_HAND: {
        const char *f = out->type == MEETING_LOCK ? "locked" : "raised";
        if (!json_is_boolean(json_object_get(obj, f))) {
            cc_say(why, whylen, "field '%s' must be true or false", f);
            break;
        }
        out->locked = json_is_true(json_object_get(obj, f));
        rc = CC_OK;
        break;
    }
    default:
        rc = CC_OK;
        break;
    }
    if (rc == CC_OK)
        return CC_OK;
fail:
    meeting_req_clear(out);
    return rc == CC_ERR_NOMEM ? rc : CC_ERR_INVALID;
}

void meeting_req_clear(meeting_req *r)
{
    json_decref(r->jsep);
    json_decref(r->candidate);
    json_decref(r->subscribe);
    json_decref(r->unsubscribe);
    r->jsep = r->candidate = r->subscribe = r->unsubscribe = NULL;
    r->conversation[0] = r->room[0] = '\0';
    r->target = 0;
}
