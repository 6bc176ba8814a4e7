/* meeting_join: who may be in which meeting, and entering one.
 *
 * Three kinds of people join: staff in a conversation's meeting (members now, with the meetings
 * permission), the people of a consultation's call (its practitioner, the holders of its links:
 * care decides), and guests from outside invited to a conversation's meeting by a link
 * (messaging decides). Those guests do not enter at once: they wait in the lobby until the host
 * lets them in (meeting_lobby.c). */
#include "media/meeting_internal.h"

#include <string.h>

bool meeting__was_admitted(const meeting_room *r, net_ws_conn conn)
{
    for (size_t i = 0; i < r->admitted.n; i++)
        if (r->admitted.v[i] == conn)
            return true;
    return false;
}

bool meeting__allowed(meeting *mt, net_ws_conn conn, const void *principal, bool guest,
                      bool consult, const char *target, bool join, char *display, size_t n)
{
    if (consult)
        return mt->consult && mt->consult(mt->consult_ud, target,
                                          guest ? NULL : account_principal_user_id(principal),
                                          guest ? principal : NULL, net_ws_guest_ip(mt->srv, conn),
                                          join, display, n);
    if (guest) /* a guest from outside, invited to this conversation's meeting */
        return mt->guest && mt->guest(mt->guest_ud, target, principal, display, n, NULL, 0);
    return mt->member && mt->member(mt->member_ud, target, account_principal_user_id(principal));
}

const char *meeting__enter(meeting *mt, net_ws_conn conn, const char *target, bool consult,
                           const mconn *who, const char **message)
{
    meeting_room *r = meeting_rooms_get(mt->rooms, target, false);
    mconn *c = NULL;
    char key[24];
    if (!janus_is_up(mt->j)) {
        *message = "the media server is not reachable; try again shortly";
        return "media_unavailable";
    }
    if (r && r->members >= (size_t)meeting__room_max_participants(mt, r)) {
        *message = "this meeting has as many people as it may hold";
        return "meeting_full";
    }
    if (!(r = meeting_rooms_get(mt->rooms, target, true)) || !(c = cc_calloc(1, sizeof(*c)))) {
        *message = "out of memory";
        return "internal";
    }
    r->consult = consult; /* a new room takes its kind; an existing one has it */
    *c = *who;
    c->refs = 1;
    c->mt = mt;
    c->conn = conn;
    c->room = r;
    c->state = MC_WAIT_ROOM;
    if (!meeting__host_may_enter(c)) {
        cc_free(&c);
        *message = "the host has locked this meeting";
        return "meeting_locked";
    }
    meeting__key(conn, key);
    if (cc_map_put(mt->conns, key, c, NULL) != CC_OK ||
        meeting_conn_list_add(&r->waiting, conn) != CC_OK) {
        cc_map_remove(mt->conns, key);
        cc_free(&c);
        *message = "out of memory";
        return "internal";
    }
    r->members++;
    c->since = ++mt->arrivals;
    meeting__host_on_join(c);
    meeting__room_ensure(mt, r);
    return NULL;
}

void meeting__join(meeting *mt, net_ws_conn conn, const void *principal, bool guest, meeting_req *q)
{
    const char *user = guest ? "" : account_principal_user_id(principal);
    const char *code = NULL, *message = NULL;
    mconn who = {.guest = guest};
    meeting_room *r = meeting_rooms_get(mt->rooms, q->conversation, false);
    if (meeting__conn(mt, conn)) {
        code = "already_joined";
        message = "this connection is already in a meeting: meeting.leave first";
    } else if ((r && r->consult != q->consultation) ||
               !meeting__allowed(mt, conn, principal, guest, q->consultation, q->conversation, true,
                                 who.display, sizeof(who.display))) {
        code = q->consultation ? "consultation_not_found" : "conversation_not_found";
        message = q->consultation ? "no such consultation in call" : "no such conversation";
    }
    if (code)
        goto fail;
    if (guest && !q->consultation) {
        /* A guest from outside: the lobby, until the host lets them in; one the host let in
         * and whom a media restart took out comes back in at once. */
        mt->guest(mt->guest_ud, q->conversation, principal, NULL, 0, who.link, sizeof(who.link));
        if (r && meeting__was_admitted(r, conn)) {
            who.admitted = true;
            snprintf(who.join_id, sizeof(who.join_id), "%s", q->id);
            if ((code = meeting__enter(mt, conn, q->conversation, false, &who, &message)))
                goto fail;
            return;
        }
        if (!(r = meeting_rooms_get(mt->rooms, q->conversation, true))) {
            code = "internal";
            message = "out of memory";
        } else {
            code = meeting__lobby_enter(mt, r, conn, who.display, who.link, q->id, &message);
        }
        if (code)
            goto fail;
        return;
    }
    snprintf(who.user_id, sizeof(who.user_id), "%s", user);
    if (!guest) {
        const char *name = account_user_display_name(mt->m->acct, user);
        snprintf(who.display, sizeof(who.display), "%s",
                 name && *name ? name : account_principal_username(principal));
    }
    snprintf(who.join_id, sizeof(who.join_id), "%s", q->id);
    if ((code = meeting__enter(mt, conn, q->conversation, q->consultation, &who, &message)))
        goto fail;
    return;
fail:
    /* Consultations: care audits every join, refused ones included. */
    cc_logf(CC_LOG_WARN, "meeting join refused", "{s:s,s:s,s:s}", "user_id",
            guest ? "(guest link)" : user, "target", q->conversation, "code", code);
    if (!guest && strcmp(code, "conversation_not_found") == 0) {
        char object[64];
        snprintf(object, sizeof(object), "meeting:%s", q->conversation);
        account_audit_denied(mt->m->acct, principal, object, code);
    }
    meeting__error(mt, conn, q->name, q->id, NULL, code, message);
}
