/* care/api: the staff's side of teleconsultations — a day's agenda with each patient's state,
 * admit, end with the report French rules require, no-show, send the link again, and the
 * notifications that did not go. Practitioners act on their own consultations; secretaries and
 * nurses see every agenda. Every view and action is audited. */
#include "care/care_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- requests -------------------------------------------------------------------------------- */

care_req *care_req_new(net_req *r)
{
    care_req *q = cc_calloc(1, sizeof *q);
    json_t *body = net_req_body(r);
    if (!q || (body && !(q->in = json_deep_copy(body)))) {
        cc_free(&q);
        net_reply_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    q->c = net_req_ud(r);
    q->r = net_req_ref(r);
    snprintf(q->ip, sizeof q->ip, "%s", net_req_source_ip(r));
    const void *p = net_req_principal(r);
    if (p) {
        snprintf(q->user_id, sizeof q->user_id, "%s", account_principal_user_id(p));
        snprintf(q->username, sizeof q->username, "%s", account_principal_username(p));
        q->role = account_principal_role(p);
    }
    return q;
}

void care_req_free(care_req *q)
{
    if (!q)
        return;
    json_decref(q->in);
    json_decref(q->out);
    if (q->r)
        net_req_unref(q->r);
    cc_free_ptr(q);
}

int care_fail(care_req *q, int status, const char *code, const char *text)
{
    q->status = status;
    q->code = code;
    q->text = text;
    return CC_ERR_DENIED;
}

void care_req_done(void *ctx, int rc)
{
    care_req *q = ctx;
    if (q->code)
        net_reply_error(q->r, q->status, q->code, q->text);
    else if (rc != CC_OK)
        net_reply_error(q->r, 503, "store_unavailable", "try again in a moment");
    else {
        net_reply_json(q->r, q->status ? q->status : 200, q->out ? q->out : json_object());
        q->out = NULL;
    }
    care_req_free(q);
}

static void care_submit(care_req *q, store_job_fn job)
{
    if (!q->c->worker || store_worker_submit(q->c->worker, job, care_req_done, q) != CC_OK) {
        net_reply_error(q->r, 503, "busy", "try again in a moment");
        care_req_free(q);
    }
}

static int care_audit_staff(store *st, care_req *q, const char *action, const char *object,
                            json_t *details)
{
    auth_audit_entry e = {.actor_id = q->user_id,
                          .actor_name = q->username,
                          .action = action,
                          .object = object,
                          .source_ip = q->ip,
                          .outcome = "success",
                          .details = details};
    int rc = auth_audit_append(st, q->c->keys, &e, NULL);
    json_decref(details);
    return rc;
}

/* ---- the agenda ------------------------------------------------------------------------------ */

static int care_row_agenda(void *ud, const store_row *r)
{
    json_t *list = ud;
    json_t *a =
        json_pack("{s:s,s:s,s:s,s:I,s:I,s:s?,s:s?,s:b,s:{s:s?,s:s?,s:s?},s:I}", "id",
                  store_row_text(r, 0), "status", store_row_text(r, 1), "state",
                  store_row_text(r, 2), "start", (json_int_t)store_row_int(r, 3), "end",
                  (json_int_t)store_row_int(r, 4), "practitioner_id", store_row_text(r, 5),
                  "practitioner", store_row_text(r, 6), "consent", !store_row_is_null(r, 7),
                  "patient", "family", store_row_text(r, 8), "given", store_row_text(r, 9),
                  "birth_date", store_row_text(r, 10), "version", (json_int_t)store_row_int(r, 11));
    if (!a)
        return CC_ERR_NOMEM;
    static const char *const times[] = {"waiting_since", "admitted_at", "ended_at", "notice_at"};
    for (int i = 0; i < 4; i++)
        if (!store_row_is_null(r, 12 + i))
            json_object_set_new(a, times[i], json_integer(store_row_int(r, 12 + i)));
    json_array_append_new(list, a);
    return 0;
}

/* The day [from, to) in the hospital's time zone. */
static bool care_day_bounds(const char *day, int64_t *from, int64_t *to)
{
    struct tm tm = {0};
    char *end = strptime(day, "%Y-%m-%d", &tm);
    if (!end || *end)
        return false;
    tm.tm_isdst = -1;
    time_t a = mktime(&tm);
    tm.tm_mday += 1;
    tm.tm_isdst = -1;
    time_t b = mktime(&tm);
    if (a == (time_t)-1 || b == (time_t)-1)
        return false;
    *from = (int64_t)a * 1000;
    *to = (int64_t)b * 1000;
    return true;
}

static int care_agenda_job(store *st, void *ctx)
{
    care_req *q = ctx;
    int64_t from, to;
    if (!care_day_bounds(q->day, &from, &to))
        return care_fail(q, 400, "invalid_request", "date must be YYYY-MM-DD");
    /* A practitioner's agenda is their own; others see the one asked for, or all. */
    const char *who = q->role == ROLE_PRACTITIONER ? q->user_id : (q->id[0] ? q->id : NULL);
    json_t *list = json_array();
    if (!list)
        return CC_ERR_NOMEM;
    store_val p[] = {SV_INT(from), SV_INT(to), who ? SV_TEXT(who) : SV_NULL,
                     who ? SV_TEXT(who) : SV_NULL};
    int rc = store_query(st,
                         "SELECT a.id, a.status, a.consult_state, a.start_ms, a.end_ms, "
                         "a.practitioner_id, u.display_name, a.consent_at, a.patient_family, "
                         "a.patient_given, a.patient_birth, a.version, a.waiting_since, "
                         "a.admitted_at, a.ended_at, a.patient_notice_at FROM care_appointments "
                         "a LEFT JOIN users u "
                         "ON u.id = a.practitioner_id WHERE a.start_ms >= ? AND a.start_ms < ? "
                         "AND (? IS NULL OR a.practitioner_id = ?) AND a.teleconsult = 1 "
                         "ORDER BY a.start_ms, a.id",
                         p, 4, care_row_agenda, list);
    if (rc == CC_OK)
        rc = care_audit_staff(st, q, "care.agenda.view", NULL,
                              json_pack("{s:s,s:s?}", "date", q->day, "practitioner_id", who));
    if (rc != CC_OK) {
        json_decref(list);
        return rc;
    }
    q->out = json_pack("{s:s,s:o}", "date", q->day, "appointments", list);
    return q->out ? CC_OK : CC_ERR_NOMEM;
}

static void care_agenda(net_req *r)
{
    care_req *q = care_req_new(r);
    if (!q)
        return;
    if (!net_req_query(r, "date", q->day, sizeof q->day)) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(q->day, sizeof q->day, "%Y-%m-%d", &tm);
    }
    char prac[CC_ID_LEN + 1] = "";
    if (net_req_query(r, "practitioner", prac, sizeof prac))
        snprintf(q->id, sizeof q->id, "%s", prac);
    care_submit(q, care_agenda_job);
}

/* ---- actions on one consultation ----------------------------------------------------------- */

typedef enum {
    ACT_ADMIT = 1,
    ACT_END,
    ACT_NOSHOW,
    ACT_RESEND,
    ACT_LINK,
    ACT_NOTICE
} care_action_kind;

static int care_row_owner(void *ud, const store_row *r)
{
    char(*o)[32] = ud;
    snprintf(o[0], sizeof o[0], "%s", store_row_is_null(r, 0) ? "" : store_row_text(r, 0));
    snprintf(o[1], sizeof o[1], "%s", store_row_text(r, 1));
    snprintf(o[2], sizeof o[2], "%s", store_row_text(r, 2));
    return 1;
}

static int care_act_job(store *st, void *ctx)
{
    care_req *q = ctx;
    char row[3][32] = {"", "", ""}; /* practitioner_id, consult_state, status */
    store_val p[] = {SV_TEXT(q->id)};
    int rc = store_query(st,
                         "SELECT practitioner_id, consult_state, status FROM care_appointments "
                         "WHERE id = ? AND teleconsult = 1",
                         p, 1, care_row_owner, row);
    if (rc != CC_OK)
        return rc;
    if (!row[1][0])
        return care_fail(q, 404, "appointment_not_found", "no such teleconsultation");
    bool own = strcmp(row[0], q->user_id) == 0;
    /* The consultation itself is its practitioner's; a secretary may also resend the link, add
     * a guest's link or record a no-show. Nobody else acts on it. */
    if (!own && (q->action == ACT_ADMIT || q->action == ACT_END || q->role != ROLE_SECRETARY))
        return care_fail(q, 403, "forbidden", "this consultation is another practitioner's");
    if (!care_status_active(row[2]) && q->action != ACT_END)
        return care_fail(q, 409, "not_active", "this consultation is cancelled or over");
    int64_t now = cc_now_ms(), changed = 0;
    const char *action = "";
    json_t *details = NULL;
    if (q->action == ACT_ADMIT) {
        if (strcmp(row[1], "waiting") != 0 && strcmp(row[1], "in_call") != 0)
            return care_fail(q, 409, "not_waiting", "the patient is not in the waiting room");
        store_val u[] = {SV_INT(now), SV_TEXT(q->id)};
        rc = store_exec(st,
                        "UPDATE care_appointments SET consult_state = 'in_call', admitted_at = "
                        "COALESCE(admitted_at, ?), status = 'checked-in', version = version + 1 "
                        "WHERE id = ?",
                        u, 2, &changed);
        action = "care.admit";
    } else if (q->action == ACT_END) {
        if (strcmp(row[1], "in_call") != 0)
            return care_fail(q, 409, "not_in_call", "only a consultation in call can end");
        json_t *report = json_object_get(q->in, "report");
        char *text = json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
            return CC_ERR_NOMEM;
        store_val u[] = {SV_INT(now), SV_TEXT(text), SV_TEXT(q->id)};
        rc = store_exec(st,
                        "UPDATE care_appointments SET consult_state = 'done', ended_at = ?, "
                        "report = ?, status = 'fulfilled', version = version + 1 WHERE id = ?",
                        u, 3, &changed);
        free(text); /* jansson's allocator */
        action = "care.end";
    } else if (q->action == ACT_NOSHOW) {
        if (strcmp(row[1], "scheduled") != 0 && strcmp(row[1], "waiting") != 0)
            return care_fail(q, 409, "not_waiting", "the consultation has already started");
        store_val u[] = {SV_TEXT(q->id)};
        rc = store_exec(st,
                        "UPDATE care_appointments SET consult_state = 'no_show', status = "
                        "'noshow', version = version + 1 WHERE id = ?",
                        u, 1, &changed);
        if (rc == CC_OK) {
            store_val v[] = {SV_INT(now), SV_TEXT(q->id)};
            rc = store_exec(st,
                            "UPDATE care_links SET revoked_at = ? WHERE appointment_id = ? AND "
                            "revoked_at IS NULL",
                            v, 2, NULL);
        }
        action = "care.noshow";
    } else if (q->action == ACT_NOTICE) {
        /* "I am running 15 minutes late": for a patient who has not been admitted yet. The
         * text is patient data: in the appointment, never in the audit record or the logs. */
        if (strcmp(row[1], "scheduled") != 0 && strcmp(row[1], "waiting") != 0)
            return care_fail(q, 409, "not_waiting", "the consultation has already started");
        const char *text = json_string_value(json_object_get(q->in, "text"));
        store_val u[] = {SV_TEXT(text), SV_INT(now), SV_TEXT(q->id)};
        rc = store_exec(st,
                        "UPDATE care_appointments SET patient_notice = ?, patient_notice_at = ?, "
                        "version = version + 1 WHERE id = ?",
                        u, 3, &changed);
        action = "care.notice";
    } else if (q->action == ACT_LINK) {
        const char *role = json_string_value(json_object_get(q->in, "role"));
        const char *label = json_string_value(json_object_get(q->in, "label"));
        care_link l;
        char token[AUTH_LINK_TOKEN_LEN + 1];
        rc = care_link_add(st, q->id, role, label, now, &l);
        if (rc == CC_ERR_INVALID)
            return care_fail(q, 400, "invalid_request",
                             "role must be relative or interpreter, label 1 to 80 bytes");
        if (rc == CC_ERR_NOT_FOUND)
            return care_fail(q, 409, "not_active", "this consultation has no working link");
        if (rc == CC_OK)
            rc = auth_link_token(q->c->keys, l.link_id, token);
        if (rc != CC_OK)
            return rc;
        char url[600];
        snprintf(url, sizeof url, "%s/visit/%s", q->c->public_url, token);
        char object[CC_ID_LEN + 16];
        snprintf(object, sizeof object, "appointment:%s", q->id);
        if ((rc = care_audit_staff(st, q, "care.link.add", object,
                                   json_pack("{s:s}", "role", role))) != CC_OK)
            return rc;
        q->status = 201;
        q->out = json_pack("{s:s,s:s,s:s}", "role", role, "label", label, "url", url);
        return q->out ? CC_OK : CC_ERR_NOMEM;
    } else {
        char id[CC_ID_LEN + 1];
        cc_id_new(id);
        store_val u[] = {SV_TEXT(id), SV_INT(now), SV_INT(now), SV_TEXT(q->id)};
        rc = store_exec(st,
                        "INSERT INTO care_outbox(id, appointment_id, kind, channel, state, "
                        "next_at, created_at) SELECT ?, a.id, 'invite', 'email', 'pending', ?, ? "
                        "FROM care_appointments a WHERE a.id = ? AND a.patient_email IS NOT NULL",
                        u, 4, &changed);
        if (rc == CC_OK && !changed)
            return care_fail(q, 409, "no_email", "the patient has no e-mail address");
        action = "care.resend";
        details = json_pack("{s:s}", "channel", "email");
    }
    if (rc != CC_OK)
        return rc;
    if (q->action != ACT_RESEND && (rc = care__event_updated(st, q->id)) != CC_OK)
        return rc;
    char object[CC_ID_LEN + 16];
    snprintf(object, sizeof object, "appointment:%s", q->id);
    if ((rc = care_audit_staff(st, q, action, object, details)) != CC_OK)
        return rc;
    q->out = json_pack("{s:s,s:s}", "id", q->id, "action", action + 5);
    return q->out ? CC_OK : CC_ERR_NOMEM;
}

static void care_act(net_req *r, care_action_kind what)
{
    care_req *q = care_req_new(r);
    if (!q)
        return;
    const char *id = net_req_param(r, "id");
    if (!id || strlen(id) != CC_ID_LEN) {
        net_reply_error(r, 404, "appointment_not_found", "no such teleconsultation");
        care_req_free(q);
        return;
    }
    snprintf(q->id, sizeof q->id, "%s", id);
    q->action = (int)what;
    care_submit(q, care_act_job);
}

static void care_admit(net_req *r)
{
    care_act(r, ACT_ADMIT);
}
/* What French rules ask of a teleconsultation's report beside the identities and times the
 * appointment already holds: the act (TC, TCG) and any technical incident. */
static const cc_json_field care_report_fields[] = {
    {"act", CC_JSON_STRING, true, 2, 8},
    {"incidents", CC_JSON_STRING, false, 0, 2000},
    {"notes", CC_JSON_STRING, false, 0, 20000},
};

static void care_end(net_req *r)
{
    char why[160];
    json_t *report = json_object_get(net_req_body(r), "report");
    if (cc_json_validate(report, care_report_fields, 3, why, sizeof why) != CC_OK) {
        net_reply_error(r, 400, "invalid_request", why);
        return;
    }
    care_act(r, ACT_END);
}
static void care_noshow(net_req *r)
{
    care_act(r, ACT_NOSHOW);
}
static void care_resend(net_req *r)
{
    care_act(r, ACT_RESEND);
}
static void care_add_link(net_req *r)
{
    care_act(r, ACT_LINK);
}
static void care_notice(net_req *r)
{
    const char *text = json_string_value(json_object_get(net_req_body(r), "text"));
    for (const char *p = text; p && *p; p++) {
        if ((unsigned char)*p < 0x20 && *p != '\n') {
            net_reply_error(r, 400, "invalid_request", "text: no control characters");
            return;
        }
    }
    care_act(r, ACT_NOTICE);
}

/* ---- notifications that did not go ---------------------------------------------------------- */

static int care_row_outbox(void *ud, const store_row *r)
{
    json_t *a = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:i,s:s?,s:I,s:s?,s:s?}", "id", store_row_text(r, 0),
        "appointment_id", store_row_text(r, 1), "kind", store_row_text(r, 2), "channel",
        store_row_text(r, 3), "state", store_row_text(r, 4), "attempts", (int)store_row_int(r, 5),
        "last_error", store_row_text(r, 6), "start", (json_int_t)store_row_int(r, 7),
        "patient_family", store_row_text(r, 8), "patient_given", store_row_text(r, 9));
    return a && json_array_append_new(ud, a) == 0 ? 0 : CC_ERR_NOMEM;
}

static int care_outbox_job(store *st, void *ctx)
{
    care_req *q = ctx;
    json_t *list = json_array();
    int rc = list ? store_query(st,
                                "SELECT o.id, o.appointment_id, o.kind, o.channel, o.state, "
                                "o.attempts, o.last_error, a.start_ms, a.patient_family, "
                                "a.patient_given FROM care_outbox o JOIN care_appointments a ON "
                                "a.id = o.appointment_id WHERE o.state IN ('pending', 'sending', "
                                "'failed') AND o.attempts > 0 ORDER BY o.created_at LIMIT 200",
                                NULL, 0, care_row_outbox, list)
                  : CC_ERR_NOMEM;
    if (rc == CC_OK)
        rc = care_audit_staff(st, q, "care.outbox.view", NULL, NULL);
    if (rc != CC_OK) {
        json_decref(list);
        return rc;
    }
    q->out = json_pack("{s:o}", "undelivered", list);
    return q->out ? CC_OK : CC_ERR_NOMEM;
}

static void care_outbox_list(net_req *r)
{
    care_req *q = care_req_new(r);
    if (q)
        care_submit(q, care_outbox_job);
}

static const cc_json_field care_link_body[] = {
    {"role", CC_JSON_STRING, true, 1, 16},
    {"label", CC_JSON_STRING, true, 1, 80},
};

static const cc_json_field care_notice_body[] = {
    {"text", CC_JSON_STRING, true, 1, 500},
};

static const cc_json_field care_end_body[] = {
    {"report", CC_JSON_OBJECT, true, 0, 0},
};

const net_route care_routes[] = {
    {"GET", "/api/v1/care/agenda", PERM_PATIENT_READ, 0, NULL, 0, care_agenda},
    {"POST", "/api/v1/care/appointments/:id/admit", PERM_PATIENT_READ, 0, NULL, 0, care_admit},
    {"POST", "/api/v1/care/appointments/:id/end", PERM_PATIENT_READ, 0, care_end_body, 1, care_end},
    {"POST", "/api/v1/care/appointments/:id/noshow", PERM_PATIENT_READ, 0, NULL, 0, care_noshow},
    {"POST", "/api/v1/care/appointments/:id/resend", PERM_PATIENT_READ, 0, NULL, 0, care_resend},
    {"POST", "/api/v1/care/appointments/:id/links", PERM_PATIENT_READ, 0, care_link_body, 2,
     care_add_link},
    {"POST", "/api/v1/care/appointments/:id/notice", PERM_PATIENT_READ, 0, care_notice_body, 1,
     care_notice},
    {"GET", "/api/v1/care/outbox", PERM_PATIENT_READ, 0, NULL, 0, care_outbox_list},
};
const size_t care_routes_count = sizeof(care_routes) / sizeof(care_routes[0]);
