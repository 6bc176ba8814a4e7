/* care/visit: the patient's side of a teleconsultation, with no account — the link is the key.
 * GET the consultation as the link allows, record consent, enter the waiting room. A link never
 * opens another consultation (its id names one), never works revoked or out of its window, and
 * an address that tries unknown links is slowed down, then refused, and every refusal is audited.
 */
#include "care/care_api.h"

#include <stdio.h>
#include <string.h>

/* ---- the job --------------------------------------------------------------------------------- */

typedef enum { VISIT_VIEW, VISIT_CONSENT, VISIT_ARRIVE } visit_action;

static int visit_row(void *ud, const store_row *r)
{
    care_req *q = ud;
    int64_t start = store_row_int(r, 1);
    q->out = json_pack("{s:s,s:I,s:I,s:s?,s:s,s:b,s:I,s:s,s:s?}", "status", store_row_text(r, 0),
                       "start", (json_int_t)start, "end", (json_int_t)store_row_int(r, 2),
                       "practitioner", store_row_text(r, 3), "consultation", store_row_text(r, 4),
                       "consent", !store_row_is_null(r, 5), "waiting_room_opens",
                       (json_int_t)(start - q->c->waiting_room_ms), "site", q->c->notice.site,
                       "patient_given", store_row_text(r, 7));
    if (q->out && !store_row_is_null(r, 6))
        json_object_set_new(q->out, "waiting_since", json_integer(store_row_int(r, 6)));
    if (q->out && !store_row_is_null(r, 8))
        json_object_set_new(q->out, "notice",
                            json_pack("{s:s,s:I}", "text", store_row_text(r, 8), "at",
                                      (json_int_t)store_row_int(r, 9)));
    if (q->out)
        json_object_set_new(q->out, "role", json_string(q->link.role));
    return 1;
}

static int visit_audit(store *st, care_req *q, const char *action, const char *outcome)
{
    char object[CC_ID_LEN + 16];
    snprintf(object, sizeof object, "appointment:%s", q->link.appointment_id);
    json_t *d = json_pack("{s:s}", "role", q->link.role);
    auth_audit_entry e = {.actor_name = "patient-link",
                          .action = action,
                          .object = q->link.appointment_id[0] ? object : NULL,
                          .source_ip = q->ip,
                          .outcome = outcome,
                          .details = d};
    int rc = auth_audit_append(st, q->c->keys, &e, NULL);
    json_decref(d);
    return rc;
}

static int visit_job(store *st, void *ctx)
{
    care_req *q = ctx;
    care_link_state state;
    int64_t now = cc_now_ms();
    int rc = care_link_check(st, q->c->keys, q->token, now, &q->link, &state);
    if (rc != CC_OK)
        return rc;
    /* Refusals return CC_OK: their audit record must be kept (an error rolls the job back). */
    if (state == CARE_LINK_UNKNOWN) {
        q->guess_failed = true;
        care_fail(q, 404, "link_unknown", "this link does not open any consultation");
        return visit_audit(st, q, "visit.denied", "denied");
    }
    if (state == CARE_LINK_REVOKED || state == CARE_LINK_EXPIRED) {
        if (state == CARE_LINK_REVOKED)
            care_fail(q, 410, "link_revoked",
                      "this consultation was cancelled; the link no longer works");
        else
            care_fail(q, 410, "link_expired", "this consultation is over");
        return visit_audit(st, q, "visit.denied", "denied");
    }
    const char *id = q->link.appointment_id;
    if (q->action == VISIT_CONSENT && strcmp(q->link.role, "patient") != 0) {
        return care_fail(q, 403, "patient_only", "only the patient consents to their consultation");
    } else if (q->action == VISIT_CONSENT) {
        store_val p[] = {SV_INT(now), SV_TEXT(id)};
        if ((rc = store_exec(st,
                             "UPDATE care_appointments SET consent_at = COALESCE(consent_at, ?) "
                             "WHERE id = ?",
                             p, 2, NULL)) != CC_OK ||
            (rc = visit_audit(st, q, "visit.consent", "success")) != CC_OK)
            return rc;
    } else if (q->action == VISIT_ARRIVE) {
        if ((rc = care__arrive(st, q, now)) != CC_OK)
            return rc;
    } else if (!q->poll && (rc = visit_audit(st, q, "visit.open", "success")) != CC_OK) {
        /* The waiting room asks again every few seconds (poll=1): one record per opening of the
         * page, not one per question. */
        return rc;
    }
    store_val p[] = {SV_TEXT(id)};
    rc = store_query(st,
                     "SELECT a.status, a.start_ms, a.end_ms, u.display_name, a.consult_state, "
                     "a.consent_at, a.waiting_since, a.patient_given, a.patient_notice, "
                     "a.patient_notice_at FROM care_appointments a "
                     "LEFT JOIN users u ON u.id = a.practitioner_id WHERE a.id = ?",
                     p, 1, visit_row, q);
    if (rc == CC_OK && !q->out)
        rc = CC_ERR_NOMEM;
    if (rc == CC_OK)
        json_object_set_new(q->out, "link",
                            json_string(state == CARE_LINK_TOO_EARLY ? "early" : "open"));
    return rc;
}

int care__arrive(store *st, care_req *q, int64_t now)
{
    const char *id = q->link.appointment_id;
    int64_t start = 0, consent = 0;
    store_val p[] = {SV_TEXT(id)};
    int rc =
        store_query_int(st, "SELECT start_ms FROM care_appointments WHERE id = ?", p, 1, &start);
    if (rc == CC_OK)
        rc = store_query_int(st,
                             "SELECT COALESCE(consent_at, 0) FROM care_appointments WHERE id = ?",
                             p, 1, &consent);
    if (rc != CC_OK)
        return rc;
    bool patient = strcmp(q->link.role, "patient") == 0;
    if (patient && !consent)
        return care_fail(q, 409, "consent_required",
                         "the patient must consent to the teleconsultation first");
    if (now < start - q->c->waiting_room_ms)
        return care_fail(q, 409, "too_early", "the waiting room is not open yet");
    if (!patient) /* a relative or an interpreter waits with the patient; the state is theirs */
        return visit_audit(st, q, "visit.arrive", "success");
    /* Only from "scheduled" (or back after a dropped connection): a consultation in call or done
     * is not sent back to the waiting room by a reload. */
    store_val u[] = {SV_INT(now), SV_TEXT(id)};
    int64_t changed = 0;
    if ((rc = store_exec(st,
                         "UPDATE care_appointments SET consult_state = 'waiting', "
                         "waiting_since = COALESCE(waiting_since, ?), status = 'arrived', "
                         "version = version + 1 WHERE id = ? AND consult_state = 'scheduled'",
                         u, 2, &changed)) != CC_OK)
        return rc;
    if (changed && (rc = care__event_updated(st, id)) != CC_OK)
        return rc;
    return visit_audit(st, q, "visit.arrive", "success");
}

/* ---- handlers -------------------------------------------------------------------------------- */

static void visit_done(void *ctx, int rc)
{
    care_req *q = ctx;
    if (q->guess_failed)
        cc_guesses_failed(q->c->guesses, q->ip, cc_now_ms());
    care_req_done(q, rc);
}

static void visit_start(net_req *r, visit_action action)
{
    care *c = net_req_ud(r);
    if (cc_guesses_blocked(c->guesses, net_req_source_ip(r), cc_now_ms())) {
        net_reply_header(r, "Retry-After", "600");
        net_reply_error(r, 429, "too_many_attempts",
                        "too many wrong links from this address; try again later");
        return;
    }
    care_req *q = care_req_new(r);
    if (!q)
        return;
    const char *token = net_req_param(r, "token");
    snprintf(q->token, sizeof q->token, "%s",
             token && strlen(token) <= AUTH_LINK_TOKEN_LEN ? token : "");
    q->action = (int)action;
    char poll[4];
    q->poll = action == VISIT_VIEW && net_req_query(r, "poll", poll, sizeof poll) &&
              strcmp(poll, "1") == 0;
    if (action == VISIT_CONSENT && !json_is_true(json_object_get(q->in, "accepted"))) {
        net_reply_error(r, 400, "consent_refused",
                        "without consent the teleconsultation cannot take place");
        care_req_free(q);
        return;
    }
    if (!c->worker || store_worker_submit(c->worker, visit_job, visit_done, q) != CC_OK) {
        net_reply_error(r, 503, "busy", "try again in a moment");
        care_req_free(q);
    }
}

static void visit_get(net_req *r)
{
    visit_start(r, VISIT_VIEW);
}
static void visit_consent(net_req *r)
{
    visit_start(r, VISIT_CONSENT);
}
static void visit_arrive(net_req *r)
{
    visit_start(r, VISIT_ARRIVE);
}

static const cc_json_field visit_consent_body[] = {
    {"accepted", CC_JSON_BOOL, true, 0, 0},
};

const net_route care_visit_routes[] = {
    {"GET", "/api/v1/visit/:token", 0, NET_ROUTE_PUBLIC, NULL, 0, visit_get},
    {"POST", "/api/v1/visit/:token/consent", 0, NET_ROUTE_PUBLIC, visit_consent_body, 1,
     visit_consent},
    {"POST", "/api/v1/visit/:token/arrive", 0, NET_ROUTE_PUBLIC, NULL, 0, visit_arrive},
};
const size_t care_visit_routes_count = sizeof(care_visit_routes) / sizeof(care_visit_routes[0]);
