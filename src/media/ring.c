/* ring: calling the others of a conversation into its meeting — the ring, accept, decline,
 * cancel, and the missed call.
 *
 * Design note.
 * - The caller opens the conversation's meeting and sends call.ring; every other member who may
 *   meet gets call.incoming on each of their sockets (a phone and a desktop both ring). A ring is
 *   memory on the node where it began (like the meeting itself), ephemeral frames only.
 * - call.accept: the caller is told (call.accepted) and that person's other sockets stop ringing
 *   (call.ended, "answered"); they join the meeting like anyone (meeting.join). call.decline: the
 *   caller is told (call.declined), that person's sockets stop ringing. In a group the others go
 *   on ringing either way, until they answer or call_ring_seconds pass.
 * - The end: the caller hangs up (call.cancel, or their page closes) or the time passes. If
 *   nobody answered, it leaves a missed call in the conversation: a message from the caller,
 *   through the hook main wires to messaging, so that it is in the history, the unread counts
 *   and search like any message; the caller is told no_answer. If someone answered, the
 *   remaining rings just stop.
 * - Every frame is checked as meeting frames are: the meetings permission and membership now. */
#include "media/meeting_internal.h"

#include <string.h>

#define RING_ID_LEN 16

typedef struct ring {
    meeting *mt;
    char id[RING_ID_LEN + 1];
    char conv[CC_ID_LEN + 1];
    char caller[CC_ID_LEN + 1];
    char display[AUTH_DISPLAY_MAX + 1];
    net_ws_conn caller_conn;
    bool answered;
    uv_timer_t timer;
} ring;

/* The members of a conversation who may meet, but one user (the caller, or who answered). */
typedef struct {
    meeting *mt;
    const char *conv, *except;
} ring__who;

static bool ring__callee(void *ud, const void *principal)
{
    const ring__who *w = ud;
    const char *user = account_principal_user_id(principal);
    return (!w->except || strcmp(user, w->except) != 0) &&
           auth_role_has(account_principal_role(principal), PERM_MEETINGS) && w->mt->member &&
           w->mt->member(w->mt->member_ud, w->conv, user);
}

/* Only that user's sockets (their other tabs stop ringing too). */
typedef struct {
    const char *user;
} ring__one;

static bool ring__is(void *ud, const void *principal)
{
    return strcmp(account_principal_user_id(principal), ((const ring__one *)ud)->user) == 0;
}

static void ring__tell_callees(ring *r, const char *except, json_t *o)
{
    ring__who w = {r->mt, r->conv, except};
    if (o)
        net_ws_send_matching(r->mt->srv, ring__callee, &w, o);
    json_decref(o);
}

static void ring__closed(uv_handle_t *h)
{
    cc_free_ptr(h->data);
}

/* The ring is over: forgotten, its timer closed (which frees it). */
static void ring__end(ring *r)
{
    cc_map_remove(r->mt->rings, r->id);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, ring__closed);
}

/* The ring is over for everyone still ringing; unanswered, it is a missed call. */
static void ring__finish(ring *r, const char *reason)
{
    meeting *mt = r->mt;
    ring__tell_callees(r, r->caller,
                       json_pack("{s:s,s:s,s:s,s:s}", "type", "call.ended", "call", r->id,
                                 "conversation", r->conv, "reason", r->answered ? "over" : reason));
    if (!r->answered && mt->missed)
        mt->missed(mt->missed_ud, r->conv, r->caller, r->display);
    ring__end(r);
}

static void ring__timeout(uv_timer_t *t)
{
    ring *r = t->data;
    if (!r->answered)
        meeting__send(r->mt, r->caller_conn,
                      json_pack("{s:s,s:s,s:s,s:s}", "type", "call.ended", "call", r->id,
                                "conversation", r->conv, "reason", "no_answer"),
                      NULL);
    ring__finish(r, "missed");
}

/* Only one person's sockets stop ringing (they answered or declined). */
static void ring__stop_for(ring *r, const char *user, const char *reason)
{
    ring__one one = {user};
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "type", "call.ended", "call", r->id, "conversation",
                          r->conv, "reason", reason);
    if (o)
        net_ws_send_matching(r->mt->srv, ring__is, &one, o);
    json_decref(o);
}

/* The rings a caller has going, and one of them in conv if any: ringing is not to be used to
 * flood a conversation with calls (each unanswered one leaves a message). */
typedef struct {
    const char *caller, *conv;
    int count;
    ring *same;
} ring__mine;

static bool ring__count_mine(void *ud, const char *key, void *value)
{
    (void)key;
    ring__mine *m = ud;
    ring *r = value;
    if (strcmp(r->caller, m->caller) == 0) {
        m->count++;
        if (strcmp(r->conv, m->conv) == 0)
            m->same = r;
    }
    return false;
}

#define RING_PER_CALLER 3

static const char *ring__start(meeting *mt, net_ws_conn conn, const void *principal,
                               const char *conv, const char *req, const char **message)
{
    const char *user = account_principal_user_id(principal);
    if (!conv || strlen(conv) != CC_ID_LEN || !mt->member ||
        !mt->member(mt->member_ud, conv, user)) {
        *message = "no such conversation";
        return "conversation_not_found";
    }
    ring__mine mine = {user, conv, 0, NULL};
    cc_map_sweep(mt->rings, ring__count_mine, &mine);
    if (mine.same) { /* it rings already: the same call */
        meeting__send(mt, conn,
                      json_pack("{s:s,s:s,s:s}", "type", "call.ringing", "call", mine.same->id,
                                "conversation", conv),
                      req);
        return NULL;
    }
    if (mine.count >= RING_PER_CALLER) {
        *message = "too many calls ringing at once; wait for an answer";
        return "too_many_calls";
    }
    ring *r = cc_calloc(1, sizeof(*r));
    if (!r) {
        *message = "out of memory";
        return "internal";
    }
    r->mt = mt;
    r->caller_conn = conn;
    snprintf(r->conv, sizeof(r->conv), "%s", conv);
    snprintf(r->caller, sizeof(r->caller), "%s", user);
    const char *name = account_user_display_name(mt->m->acct, user);
    snprintf(r->display, sizeof(r->display), "%s",
             name && *name ? name : account_principal_username(principal));
    unsigned char raw[RING_ID_LEN / 2];
    cc_random_bytes(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(r->id + 2 * i, 3, "%02x", raw[i]);
    uv_timer_init(mt->m->loop, &r->timer);
    r->timer.data = r;
    if (cc_map_put(mt->rings, r->id, r, NULL) != CC_OK) {
        uv_close((uv_handle_t *)&r->timer, ring__closed);
        *message = "out of memory";
        return "internal";
    }
    uv_timer_start(&r->timer, ring__timeout, (uint64_t)mt->ring_ms, 0);
    meeting__send(
        mt, conn,
        json_pack("{s:s,s:s,s:s}", "type", "call.ringing", "call", r->id, "conversation", r->conv),
        req);
    ring__tell_callees(r, r->caller,
                       json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "type", "call.incoming", "call",
                                 r->id, "conversation", r->conv, "from", "user_id", r->caller,
                                 "display", r->display));
    cc_logf(CC_LOG_INFO, "call: ringing", "{s:s,s:s}", "conversation", r->conv, "by", user);
    return NULL;
}

static const char *ring__on_frame(void *ud, net_ws_conn conn, const void *principal,
                                  const json_t *obj, const char **message)
{
    meeting *mt = ud;
    const char *type = json_string_value(json_object_get(obj, "type"));
    const char *req = json_string_value(json_object_get(obj, "id"));
    const char *user = account_principal_user_id(principal);
    if (req && strlen(req) > MEETING_REQ_ID_MAX)
        req = NULL;
    if (mt->stopped || !auth_role_has(account_principal_role(principal), PERM_MEETINGS)) {
        *message = "calls need the meetings permission";
        return "forbidden";
    }
    if (strcmp(type, "call.ring") == 0)
        return ring__start(mt, conn, principal,
                           json_string_value(json_object_get(obj, "conversation")), req, message);
    const char *id = json_string_value(json_object_get(obj, "call"));
    ring *r = id && strlen(id) == RING_ID_LEN ? cc_map_get(mt->rings, id) : NULL;
    /* A ring that is over (answered elsewhere, cancelled, timed out) is no error worth more
     * than a word: the client just stops ringing. */
    if (!r || !mt->member || !mt->member(mt->member_ud, r->conv, user)) {
        *message = "this call is no longer ringing";
        return "call_over";
    }
    bool caller = strcmp(user, r->caller) == 0;
    json_t *by = json_pack("{s:s,s:s?}", "user_id", user, "display",
                           account_user_display_name(mt->m->acct, user));
    if (strcmp(type, "call.cancel") == 0 && caller) {
        json_decref(by);
        ring__finish(r, "cancelled");
    } else if ((strcmp(type, "call.accept") == 0 || strcmp(type, "call.decline") == 0) && !caller) {
        bool accept = strcmp(type, "call.accept") == 0;
        meeting__send(mt, r->caller_conn,
                      json_pack("{s:s,s:s,s:s,s:o}", "type",
                                accept ? "call.accepted" : "call.declined", "call", r->id,
                                "conversation", r->conv, "by", by),
                      NULL);
        r->answered = r->answered || accept;
        ring__stop_for(r, user, accept ? "answered" : "declined");
    } else {
        json_decref(by);
        *message =
            caller ? "the caller cancels; the others accept or decline" : "only the caller cancels";
        return "not_allowed";
    }
    return NULL;
}

static const char *const ring__frames[] = {"call.ring", "call.accept", "call.decline",
                                           "call.cancel"};

int meeting__ring_register(meeting *mt)
{
    int rc = CC_OK;
    if (!(mt->rings = cc_map_new()))
        return CC_ERR_NOMEM;
    for (size_t i = 0; rc == CC_OK && i < sizeof(ring__frames) / sizeof(ring__frames[0]); i++)
        rc = net_server_add_ws_conn_message(mt->srv, ring__frames[i], ring__on_frame, mt);
    return rc;
}

typedef struct {
    net_ws_conn conn;
    ring *found;
} ring__by_conn;

static bool ring__find_conn(void *ud, const char *key, void *value)
{
    (void)key;
    ring__by_conn *b = ud;
    if (!b->found && ((ring *)value)->caller_conn == b->conn)
        b->found = value;
    return false;
}

void meeting__ring_conn_closed(meeting *mt, net_ws_conn conn)
{
    /* The caller's page closed while it rang: as if they had hung up. */
    for (;;) {
        ring__by_conn b = {conn, NULL};
        if (!mt->rings || mt->stopped)
            return;
        cc_map_sweep(mt->rings, ring__find_conn, &b);
        if (!b.found)
            return;
        ring__finish(b.found, "cancelled");
    }
}

static bool ring__stop_one(void *ud, const char *key, void *value)
{
    (void)ud;
    (void)key;
    ring *r = value;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, ring__closed);
    return true;
}

void meeting__ring_stop(meeting *mt)
{
    if (mt->rings)
        cc_map_sweep(mt->rings, ring__stop_one, NULL);
}

void meeting__ring_free(meeting *mt)
{
    cc_map_free(mt->rings, NULL);
    mt->rings = NULL;
}
