/* care/appt: applying a booking to the appointments (see care.h for the ordering rules). */
#include "care/care_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DURATION_MS (30 * 60 * 1000)

const char *care_status_for(care_action a, const char *given)
{
    switch (a) {
    case CARE_CANCEL:
        return "cancelled";
    case CARE_DELETE:
        return "entered-in-error";
    case CARE_NOSHOW:
        return "noshow";
    case CARE_BOOK:
    case CARE_RESCHEDULE:
        return given && *given ? given : "booked";
    case CARE_MODIFY:
        return given && *given ? given : "";
    }
    return "";
}

bool care_status_active(const char *s)
{
    return strcmp(s, "booked") == 0 || strcmp(s, "pending") == 0 || strcmp(s, "arrived") == 0 ||
           strcmp(s, "checked-in") == 0;
}

/* Statuses a later booking at the same instant must not undo. */
static bool care_status_final(const char *s)
{
    return strcmp(s, "cancelled") == 0 || strcmp(s, "entered-in-error") == 0 ||
           strcmp(s, "noshow") == 0 || strcmp(s, "fulfilled") == 0;
}

static int care_refuse(care_result *out, care_field f, const char *fmt, const char *arg)
{
    out->field = f;
    snprintf(out->reason, sizeof out->reason, fmt, arg ? arg : "");
    return CC_ERR_INVALID;
}

static store_val care_text_or_null(const char *s)
{
    return (s && *s) ? SV_TEXT(s) : SV_NULL;
}

/* ---- the existing appointment -------------------------------------------------------------- */

static int care_row_existing(void *ud, const store_row *r)
{
    care_appt_row *a = ud;
    a->found = true;
    snprintf(a->status, sizeof a->status, "%s", store_row_text(r, 0));
    a->msg_ts = store_row_int(r, 1);
    a->teleconsult = store_row_int(r, 2) != 0;
    a->start_ms = store_row_int(r, 3);
    a->end_ms = store_row_int(r, 4);
    snprintf(a->practitioner_id, sizeof a->practitioner_id, "%s",
             store_row_is_null(r, 5) ? "" : store_row_text(r, 5));
    snprintf(a->room, sizeof a->room, "%s", store_row_is_null(r, 6) ? "" : store_row_text(r, 6));
    snprintf(a->email, sizeof a->email, "%s", store_row_is_null(r, 7) ? "" : store_row_text(r, 7));
    snprintf(a->mobile, sizeof a->mobile, "%s",
             store_row_is_null(r, 8) ? "" : store_row_text(r, 8));
    return 1;
}

int care__appt_load(store *st, const char *id, care_appt_row *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->id, sizeof a->id, "%s", id);
    store_val p[] = {SV_TEXT(id)};
    int rc = store_query(st,
                         "SELECT status, msg_ts, teleconsult, start_ms, end_ms, practitioner_id, "
                         "room, patient_email, patient_mobile FROM care_appointments WHERE id = ?",
                         p, 1, care_row_existing, a);
    if (rc != CC_OK)
        return rc;
    return a->found ? CC_OK : CC_ERR_NOT_FOUND;
}

/* The appointment any of the booking's identifiers names, if carecomm knows it. */
static int care_find(store *st, const care_booking *b, care_appt_row *a)
{
    memset(a, 0, sizeof *a);
    for (size_t i = 0; i < b->nids; i++) {
        char *id = NULL;
        store_val p[] = {SV_TEXT(b->ids[i].system), SV_TEXT(b->ids[i].value)};
        int rc = store_query_text(
            st, "SELECT appointment_id FROM care_appt_ids WHERE system = ? AND value = ?", p, 2,
            &id);
        if (rc == CC_ERR_NOT_FOUND)
            continue;
        if (rc != CC_OK)
            return rc;
        rc = care__appt_load(st, id, a);
        cc_free(&id);
        return rc;
    }
    return CC_OK; /* a->found stays false */
}

/* ---- checks -------------------------------------------------------------------------------- */

static int care_resolve_practitioner(store *st, const care_booking *b, char out[CC_ID_LEN + 1],
                                     care_result *res)
{
    out[0] = '\0';
    if (b->practitioner_user[0]) {
        store_val p[] = {SV_TEXT(b->practitioner_user)};
        int64_t n = 0;
        int rc = store_query_int(st, "SELECT COUNT(*) FROM users WHERE id = ? AND disabled = 0", p,
                                 1, &n);
        if (rc != CC_OK)
            return rc;
        if (n == 0)
            return care_refuse(res, CARE_FIELD_PRACTITIONER,
                               "no active carecomm user has the id %.32s", b->practitioner_user);
        snprintf(out, CC_ID_LEN + 1, "%s", b->practitioner_user);
        return CC_OK;
    }
    for (size_t i = 0; i < b->nprac; i++) {
        int rc = care_ident_user(st, b->practitioner_idents[i], out);
        if (rc == CC_OK)
            return CC_OK;
        if (rc != CC_ERR_NOT_FOUND)
            return rc;
    }
    if (b->nprac == 0)
        return care_refuse(res, CARE_FIELD_PRACTITIONER, "no practitioner is named%s", "");
    return care_refuse(res, CARE_FIELD_PRACTITIONER,
                       "no carecomm user has the practitioner identifier %.64s",
                       b->practitioner_idents[0]);
}

/* Times of the appointment after the change: the booking's, or what is known already. */
static int care_times(const care_booking *b, const care_appt_row *ex, int64_t *start, int64_t *end,
                      care_result *res)
{
    *start = b->start_ms ? b->start_ms : (ex->found ? ex->start_ms : 0);
    *end = b->end_ms ? b->end_ms : (b->start_ms ? 0 : (ex->found ? ex->end_ms : 0));
    if (*start && !*end)
        *end = *start + DEFAULT_DURATION_MS; /* SIU without a duration: a usual slot */
    if (!*start)
        return care_refuse(res, CARE_FIELD_TIME, "the appointment has no start time%s", "");
    if (*end <= *start)
        return care_refuse(res, CARE_FIELD_TIME, "the appointment ends before it starts%s", "");
    return CC_OK;
}

/* ---- writing ------------------------------------------------------------------------------- */

static json_t *care_ids_json(const care_ident *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(
            a, json_pack("{s:s,s:s}", "system", ids[i].system, "value", ids[i].value));
    return a;
}

static int care_write_row(store *st, const care_booking *b, const care_appt_row *ex,
                          const care_change *c, const char *actor, int64_t now)
{
    json_t *pids = care_ids_json(b->patient.ids, b->patient.nids);
    char *pids_text = pids ? json_dumps(pids, JSON_COMPACT) : NULL;
    json_decref(pids);
    if (!pids_text)
        return CC_ERR_NOMEM;
    int rc;
    if (!ex->found) {
        store_val p[] = {SV_TEXT(c->id),
                         SV_TEXT(c->status),
                         SV_INT(c->start_ms),
                         SV_INT(c->end_ms),
                         care_text_or_null(c->practitioner_id),
                         SV_INT(c->teleconsult ? 1 : 0),
                         care_text_or_null(b->service),
                         care_text_or_null(b->location),
                         care_text_or_null(b->patient.family),
                         care_text_or_null(b->patient.given),
                         care_text_or_null(b->patient.birth),
                         care_text_or_null(b->patient.email),
                         care_text_or_null(b->patient.mobile),
                         SV_TEXT(pids_text),
                         SV_TEXT(actor),
                         SV_INT(b->msg_ts),
                         SV_INT(now),
                         SV_INT(now)};
        rc = store_exec(st,
                        "INSERT INTO care_appointments(id, status, start_ms, end_ms, "
                        "practitioner_id, teleconsult, service, location, patient_family, "
                        "patient_given, patient_birth, patient_email, patient_mobile, "
                        "patient_ids, source, msg_ts, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        p, sizeof p / sizeof p[0], NULL);
    } else {
        /* Details the booking leaves out (a cancellation often carries only the ids) stay. */
        store_val p[] = {SV_TEXT(c->status),
                         SV_INT(c->start_ms),
                         SV_INT(c->end_ms),
                         care_text_or_null(c->practitioner_id),
                         SV_INT(c->teleconsult ? 1 : 0),
                         care_text_or_null(b->service),
                         care_text_or_null(b->location),
                         care_text_or_null(b->patient.family),
                         care_text_or_null(b->patient.given),
                         care_text_or_null(b->patient.birth),
                         care_text_or_null(b->patient.email),
                         care_text_or_null(b->patient.mobile),
                         b->patient.nids ? SV_TEXT(pids_text) : SV_NULL,
                         SV_INT(b->msg_ts),
                         SV_INT(now),
                         SV_TEXT(c->id)};
        rc = store_exec(st,
                        "UPDATE care_appointments SET status = ?, start_ms = ?, end_ms = ?, "
                        "practitioner_id = COALESCE(?, practitioner_id), teleconsult = ?, "
                        "service = COALESCE(?, service), location = COALESCE(?, location), "
                        "patient_family = COALESCE(?, patient_family), "
                        "patient_given = COALESCE(?, patient_given), "
                        "patient_birth = COALESCE(?, patient_birth), "
                        "patient_email = COALESCE(?, patient_email), "
                        "patient_mobile = COALESCE(?, patient_mobile), "
                        "patient_ids = COALESCE(?, patient_ids), msg_ts = ?, updated_at = ?, "
                        "version = version + 1 WHERE id = ?",
                        p, sizeof p / sizeof p[0], NULL);
    }
    free(pids_text); /* jansson's allocator */
    for (size_t i = 0; rc == CC_OK && i < b->nids; i++) {
        store_val p[] = {SV_TEXT(b->ids[i].system), SV_TEXT(b->ids[i].value), SV_TEXT(c->id)};
        rc = store_exec(st,
                        "INSERT INTO care_appt_ids(system, value, appointment_id) VALUES (?, ?, ?) "
                        "ON CONFLICT (system, value) DO NOTHING",
                        p, 3, NULL);
    }
    return rc;
}

static int care_audit(store *st, const auth_keys *keys, const char *actor, const care_change *c,
                      care_action action, bool created)
{
    static const char *names[] = {"", "book", "reschedule", "modify", "cancel", "delete", "noshow"};
    char object[CC_ID_LEN + 16];
    snprintf(object, sizeof object, "appointment:%s", c->id);
    json_t *d = json_pack("{s:s,s:s,s:b}", "action", names[action], "status", c->status,
                          "teleconsult", c->teleconsult);
    auth_audit_entry e = {.actor_name = actor,
                          .action = created ? "appointment.create" : "appointment.update",
                          .object = object,
                          .outcome = "success",
                          .details = d};
    int rc = d ? auth_audit_append(st, keys, &e, NULL) : CC_ERR_NOMEM;
    json_decref(d);
    return rc;
}

int care_apply_booking(store *st, const auth_keys *keys, const care_booking *b,
                       const care_policy *p, const char *actor, int64_t now_ms, care_result *out)
{
    care_appt_row ex;
    care_change c;
    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    if (b->nids == 0)
        return care_refuse(out, CARE_FIELD_ID, "the appointment has no identifier%s", "");
    int rc = care_find(st, b, &ex);
    if (rc != CC_OK)
        return rc;
    const char *status = care_status_for(b->action, b->status);
    if (!*status)
        status = ex.found ? ex.status : "booked";
    bool teleconsult = ex.found && b->type_unknown ? ex.teleconsult : b->teleconsult;
    if (!ex.found && !teleconsult) {
        out->outcome = CARE_IGNORED;
        return CC_OK;
    }
    if (ex.found &&
        (b->msg_ts < ex.msg_ts ||
         (b->msg_ts == ex.msg_ts && care_status_final(ex.status) && !care_status_final(status)))) {
        out->outcome = CARE_STALE;
        snprintf(out->appointment_id, sizeof out->appointment_id, "%s", ex.id);
        snprintf(out->status, sizeof out->status, "%s", ex.status);
        return CC_OK;
    }
    c.teleconsult = teleconsult;
    snprintf(c.status, sizeof c.status, "%s", status);
    if (care_status_active(status)) {
        /* Something will happen: it needs a practitioner, a time and a way to reach the patient. */
        if ((rc = care_resolve_practitioner(st, b, c.practitioner_id, out)) != CC_OK ||
            (rc = care_times(b, &ex, &c.start_ms, &c.end_ms, out)) != CC_OK)
            return rc;
        bool reachable = b->patient.email[0] || b->patient.mobile[0] ||
                         (ex.found && (ex.email[0] || ex.mobile[0]));
        if (teleconsult && !reachable)
            return care_refuse(out, CARE_FIELD_CONTACT,
                               "a teleconsultation needs the patient's e-mail or mobile number%s",
                               "");
    } else {
        /* A cancellation may name nobody and no time: keep what is known. */
        if (b->nprac || b->practitioner_user[0])
            care_resolve_practitioner(st, b, c.practitioner_id, out);
        out->field = CARE_FIELD_NONE;
        out->reason[0] = '\0';
        c.start_ms = b->start_ms ? b->start_ms : ex.start_ms;
        c.end_ms = b->end_ms ? b->end_ms : ex.end_ms;
    }
    if (ex.found)
        snprintf(c.id, sizeof c.id, "%s", ex.id);
    else
        cc_id_new(c.id);
    if ((rc = care_write_row(st, b, &ex, &c, actor, now_ms)) != CC_OK ||
        (rc = care__consult_follow(st, &ex, &c, p, now_ms)) != CC_OK ||
        (rc = care__event_updated(st, c.id)) != CC_OK ||
        (rc = care_audit(st, keys, actor, &c, b->action, !ex.found)) != CC_OK)
        return rc;
    out->outcome = ex.found ? CARE_UPDATED : CARE_CREATED;
    snprintf(out->appointment_id, sizeof out->appointment_id, "%s", c.id);
    snprintf(out->status, sizeof out->status, "%s", c.status);
    return CC_OK;
}
