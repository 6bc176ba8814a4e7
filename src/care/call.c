/* care/call: the consultation's video call — who may be in it, and the WebSocket the patient
 * (or a relative, or an interpreter) signals it on.
 *
 * Design note.
 * - The call of a consultation is a meeting room keyed by the appointment id (media's meeting
 *   layer). It is open while the consultation is "in call": from the practitioner's admit to
 *   the end (or a no-show, a cancellation). Every node keeps the set of consultations in call
 *   in memory (in_call: appointment -> practitioner), loaded at start and kept up to date from
 *   the appointment.updated events every node follows, so the meeting layer's check on each
 *   frame is a map lookup on the loop.
 * - In it: the consultation's own practitioner, and the holders of its working links, each on
 *   the guest WebSocket (/api/v1/visit/events), which has no session: the client sends
 *   visit.hello with its link token first; the link is checked in the store like the REST
 *   routes check it (an unknown token counts as a guess for the address), then the connection
 *   is bound to a care_guest principal naming that one consultation and the link's end.
 * - Guests are told visit.updated when their consultation changes (admitted, ended,
 *   cancelled), so the waiting room moves on at once instead of at its next poll.
 * - Each join, allowed or refused, is audited (consultation.join), as every view of and action
 *   on a consultation is. */
#include "care/care_api.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    net_guest_kind kind; /* NET_GUEST_PATIENT_LINK */
    char appointment_id[CC_ID_LEN + 1];
    char link_id[AUTH_LINK_ID_LEN + 1];
    char role[16];
    char display[AUTH_DISPLAY_MAX + 1];
    int64_t not_after;
} care_guest;

/* ---- the consultations in call ------------------------------------------------------------- */

static int call_row_in_call(void *ud, const store_row *r)
{
    care *c = ud;
    char *who = cc_strdup(store_row_text(r, 1));
    if (!who || cc_map_put(c->in_call, store_row_text(r, 0), who, NULL) != CC_OK) {
        cc_free(&who);
        return -1;
    }
    return 0;
}

int care_load_calls(care *c, store *st)
{
    return store_query(st,
                       "SELECT id, practitioner_id FROM care_appointments "
                       "WHERE consult_state = 'in_call' AND practitioner_id IS NOT NULL",
                       NULL, 0, call_row_in_call, c);
}

static bool call_guest_of(void *ud, const void *principal)
{
    return net_guest_kind_of(principal) == NET_GUEST_PATIENT_LINK &&
           strcmp(((const care_guest *)principal)->appointment_id, ud) == 0;
}

void care_on_events(care *c, const store_event *evs, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        if (strcmp(evs[i].type, "appointment.updated") != 0 || !evs[i].payload)
            continue;
        json_t *p = json_loads(evs[i].payload, 0, NULL);
        const char *id = json_string_value(json_object_get(p, "id"));
        const char *state = json_string_value(json_object_get(p, "state"));
        const char *who = json_string_value(json_object_get(p, "practitioner_id"));
        if (id && state) {
            char *copy = strcmp(state, "in_call") == 0 && who ? cc_strdup(who) : NULL;
            void *old = NULL;
            if (copy && cc_map_put(c->in_call, id, copy, &old) != CC_OK)
                cc_free(&copy);
            else if (!copy)
                old = cc_map_remove(c->in_call, id);
            cc_free_ptr(old);
            json_t *f = json_pack("{s:s,s:s,s:s?}", "type", "visit.updated", "state", state,
                                  "status", json_string_value(json_object_get(p, "status")));
            if (f && c->srv)
                net_ws_send_guests(c->srv, call_guest_of, (void *)id, f);
            json_decref(f);
        }
        json_decref(p);
    }
}

/* ---- joining ------------------------------------------------------------------------------- */

typedef struct {
    care *c;
    char appointment_id[CC_ID_LEN + 1];
    char user_id[CC_ID_LEN + 1];
    char link_id[AUTH_LINK_ID_LEN + 1];
    char role[16];
    char ip[64];
    bool ok;
} call_audit;

static int call_audit_job(store *st, void *ctx)
{
    call_audit *a = ctx;
    char object[CC_ID_LEN + 16];
    snprintf(object, sizeof object, "appointment:%s", a->appointment_id);
    json_t *d = a->link_id[0] ? json_pack("{s:s}", "role", a->role) : NULL;
    auth_audit_entry e = {.actor_id = a->user_id[0] ? a->user_id : NULL,
                          .actor_name = a->user_id[0] ? NULL : "patient-link",
                          .action = "consultation.join",
                          .object = object,
                          .source_ip = a->ip[0] ? a->ip : NULL,
                          .outcome = a->ok ? "success" : "denied",
                          .details = d};
    int rc = auth_audit_append(st, a->c->keys, &e, NULL);
    json_decref(d);
    return rc;
}

static void call_audit_done(void *ctx, int rc)
{
    if (rc != CC_OK)
        cc_logf(CC_LOG_ERROR, "consultation join not audited", "{s:s}", "error", cc_strerror(rc));
    cc_free_ptr(ctx);
}

static void call_audit_submit(care *c, const char *appt, const char *user_id, const care_guest *g,
                              const char *ip, bool ok)
{
    call_audit *a = cc_calloc(1, sizeof *a);
    if (!a)
        return;
    a->c = c;
    a->ok = ok;
    snprintf(a->appointment_id, sizeof a->appointment_id, "%s", appt);
    snprintf(a->user_id, sizeof a->user_id, "%s", user_id ? user_id : "");
    snprintf(a->ip, sizeof a->ip, "%s", ip ? ip : "");
    if (g) {
        snprintf(a->link_id, sizeof a->link_id, "%s", g->link_id);
        snprintf(a->role, sizeof a->role, "%s", g->role);
    }
    if (!c->worker || store_worker_submit(c->worker, call_audit_job, call_audit_done, a) != CC_OK)
        call_audit_done(a, CC_ERR_BUSY);
}

bool care_call_allowed(care *c, const char *appointment_id, const char *user_id, const void *guest,
                       const char *ip, bool join, char *display, size_t n)
{
    const care_guest *g = guest;
    if (g && net_guest_kind_of(g) != NET_GUEST_PATIENT_LINK)
        return false; /* another module's guest (a meeting's): never in a consultation */
    const char *practitioner = cc_map_get(c->in_call, appointment_id);
    bool ok = false;
    if (practitioner && g)
        ok = strcmp(g->appointment_id, appointment_id) == 0 && cc_now_ms() <= g->not_after;
    else if (practitioner && user_id)
        ok = strcmp(practitioner, user_id) == 0;
    if (ok && g && display && n)
        snprintf(display, n, "%s", g->display);
    if (join)
        call_audit_submit(c, appointment_id, g ? NULL : user_id, g, ip, ok);
    return ok;
}

/* ---- the guest WebSocket: visit.hello ------------------------------------------------------- */

typedef struct {
    care *c;
    net_ws_conn conn;
    char token[AUTH_LINK_TOKEN_LEN + 1];
    char req_id[65];
    char ip[64];
    care_link link;
    care_link_state state;
    care_guest *guest; /* filled when the link works */
    bool guess_failed;
} call_hello;

static int call_row_display(void *ud, const store_row *r)
{
    call_hello *h = ud;
    const char *label = store_row_text(r, 0);
    if (strcmp(h->link.role, "patient") != 0 && label && *label)
        snprintf(h->guest->display, sizeof h->guest->display, "%s", label);
    else
        snprintf(h->guest->display, sizeof h->guest->display, "%s %s",
                 store_row_text(r, 1) ? store_row_text(r, 1) : "",
                 store_row_text(r, 2) ? store_row_text(r, 2) : "");
    return 1;
}

static int call_hello_job(store *st, void *ctx)
{
    call_hello *h = ctx;
    int rc = care_link_check(st, h->c->keys, h->token, cc_now_ms(), &h->link, &h->state);
    if (rc != CC_OK || h->state != CARE_LINK_OK) {
        h->guess_failed = rc == CC_OK && h->state == CARE_LINK_UNKNOWN;
        return rc;
    }
    if (!(h->guest = cc_calloc(1, sizeof *h->guest)))
        return CC_ERR_NOMEM;
    h->guest->kind = NET_GUEST_PATIENT_LINK;
    snprintf(h->guest->appointment_id, sizeof h->guest->appointment_id, "%s",
             h->link.appointment_id);
    snprintf(h->guest->link_id, sizeof h->guest->link_id, "%s", h->link.link_id);
    snprintf(h->guest->role, sizeof h->guest->role, "%s", h->link.role);
    h->guest->not_after = h->link.not_after;
    store_val p[] = {SV_TEXT(h->link.link_id)};
    return store_query(st,
                       "SELECT l.label, a.patient_given, a.patient_family FROM care_links l "
                       "JOIN care_appointments a ON a.id = l.appointment_id WHERE l.id = ?",
                       p, 1, call_row_display, h);
}

static void call_hello_reply(call_hello *h, const char *code, const char *message)
{
    json_t *o = code ? json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "request", "visit.hello",
                                 "code", code, "message", message)
                     : json_pack("{s:s,s:s,s:s}", "type", "visit.welcome", "consultation",
                                 h->link.appointment_id, "role", h->link.role);
    if (o && h->req_id[0])
        json_object_set_new(o, "id", json_string(h->req_id));
    if (o)
        net_ws_send_to(h->c->srv, h->conn, o);
    json_decref(o);
}

static void call_hello_done(void *ctx, int rc)
{
    call_hello *h = ctx;
    if (h->guess_failed)
        cc_guesses_failed(h->c->guesses, h->ip, cc_now_ms());
    care_guest *g = h->guest;
    h->guest = NULL;
    if (rc != CC_OK)
        call_hello_reply(h, "busy", "try again in a moment");
    else if (h->state == CARE_LINK_UNKNOWN)
        call_hello_reply(h, "link_unknown", "this link does not open any consultation");
    else if (h->state == CARE_LINK_REVOKED)
        call_hello_reply(h, "link_revoked", "this consultation was cancelled");
    else if (h->state != CARE_LINK_OK || !g)
        call_hello_reply(h, "link_closed", "this link does not work at this time");
    else if (net_ws_guest_bind(h->c->srv, h->conn, g, cc_free_ptr) == CC_OK)
        call_hello_reply(h, NULL, NULL);
    else
        g = NULL; /* freed by net_ws_guest_bind: the connection had gone */
    if (rc != CC_OK || h->state != CARE_LINK_OK)
        cc_free_ptr(g);
    cc_free_ptr(h);
}

static const char *care_visit_hello(void *ud, net_ws_conn conn, const void *principal,
                                    const json_t *obj, const char **message)
{
    care *c = ud;
    const char *token = json_string_value(json_object_get(obj, "token"));
    const char *id = json_string_value(json_object_get(obj, "id"));
    const char *ip = net_ws_guest_ip(c->srv, conn);
    if (principal) {
        *message = "this connection already has its link";
        return "already_started";
    }
    if (!token || strlen(token) > AUTH_LINK_TOKEN_LEN || (id && strlen(id) > 64)) {
        *message = "visit.hello needs the link's token";
        return "bad_message";
    }
    if (cc_guesses_blocked(c->guesses, ip, cc_now_ms())) {
        *message = "too many wrong links from this address; try again later";
        return "too_many_attempts";
    }
    call_hello *h = cc_calloc(1, sizeof *h);
    if (!h) {
        *message = "out of memory";
        return "internal";
    }
    h->c = c;
    h->conn = conn;
    snprintf(h->token, sizeof h->token, "%s", token);
    snprintf(h->req_id, sizeof h->req_id, "%s", id ? id : "");
    snprintf(h->ip, sizeof h->ip, "%s", ip);
    if (!c->worker || store_worker_submit(c->worker, call_hello_job, call_hello_done, h) != CC_OK) {
        cc_free_ptr(h);
        *message = "try again in a moment";
        return "busy";
    }
    return NULL;
}

int care__call_register(care *c, net_server *srv)
{
    int rc = net_server_set_ws_guest_path(srv, "/api/v1/visit/events");
    if (rc == CC_OK)
        rc = net_server_add_ws_guest_message(srv, "visit.hello", care_visit_hello, c);
    return rc;
}
