/* care/consult: what follows an appointment's change for its teleconsultation — the room, the
 * patient link and its window, the invitations queued in the outbox — and the event staff see. */
#include "care/care_internal.h"

#include <stdio.h>
#include <string.h>

/* Queues a message to the patient on every channel the appointment has an address for. The
 * outbox keeps no address and no link: the sender reads them when it sends, so a message for a
 * changed e-mail goes to the new one and nothing secret sits in the queue. */
static int care_outbox_add(store *st, const char *appt, const char *kind, int64_t now)
{
    static const char *const channels[][2] = {{"email", "patient_email"},
                                              {"sms", "patient_mobile"}};
    for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++) {
        char sql[160];
        int64_t n = 0;
        snprintf(sql, sizeof sql,
                 "SELECT COUNT(*) FROM care_appointments WHERE id = ? AND %s IS NOT NULL",
                 channels[i][1]);
        store_val q[] = {SV_TEXT(appt)};
        int rc = store_query_int(st, sql, q, 1, &n);
        if (rc != CC_OK)
            return rc;
        if (n == 0)
            continue;
        char id[CC_ID_LEN + 1];
        cc_id_new(id);
        store_val p[] = {SV_TEXT(id), SV_TEXT(appt), SV_TEXT(kind), SV_TEXT(channels[i][0]),
                         SV_INT(now), SV_INT(now)};
        rc = store_exec(st,
                        "INSERT INTO care_outbox(id, appointment_id, kind, channel, state, "
                        "next_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                        p, 6, NULL);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

static int care_link_create(store *st, const char *appt, const char *role, int64_t nb, int64_t na,
                            int64_t now)
{
    char id[AUTH_LINK_ID_LEN + 1];
    auth_link_new_id(id);
    store_val p[] = {SV_TEXT(id), SV_TEXT(appt), SV_TEXT(role),
                     SV_INT(nb),  SV_INT(na),    SV_INT(now)};
    return store_exec(st,
                      "INSERT INTO care_links(id, appointment_id, role, not_before, not_after, "
                      "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                      p, 6, NULL);
}

static int care_consult_open(store *st, const care_appt_row *before, const care_change *c,
                             const care_policy *p, int64_t now)
{
    int rc = CC_OK;
    if (!before->room[0]) {
        /* The room's name in carecomm; the media layer maps it to a Janus room of its own. */
        char *room = cc_random_token(16);
        if (!room)
            return CC_ERR_NOMEM;
        store_val q[] = {SV_TEXT(room), SV_TEXT(c->id)};
        rc = store_exec(st, "UPDATE care_appointments SET room = ? WHERE id = ?", q, 2, NULL);
        cc_free(&room);
        if (rc != CC_OK)
            return rc;
    }
    int64_t nb = c->start_ms - p->link_before_ms, na = c->end_ms + p->link_after_ms;
    care_link l;
    rc = care_link_of(st, c->id, &l);
    if (rc == CC_ERR_NOT_FOUND || (rc == CC_OK && l.revoked)) {
        /* First booking, or booked again after a cancellation: a new link, a new invitation. */
        if ((rc = care_link_create(st, c->id, "patient", nb, na, now)) != CC_OK)
            return rc;
        return care_outbox_add(st, c->id, "invite", now);
    }
    if (rc != CC_OK)
        return rc;
    if (before->start_ms == c->start_ms && before->end_ms == c->end_ms)
        return CC_OK;
    /* Rescheduled: every link of the consultation follows the new times. */
    store_val q[] = {SV_INT(nb), SV_INT(na), SV_TEXT(c->id)};
    rc = store_exec(st,
                    "UPDATE care_links SET not_before = ?, not_after = ? "
                    "WHERE appointment_id = ? AND revoked_at IS NULL",
                    q, 3, NULL);
    return rc == CC_OK ? care_outbox_add(st, c->id, "update", now) : rc;
}

int care__consult_follow(store *st, const care_appt_row *before, const care_change *c,
                         const care_policy *p, int64_t now_ms)
{
    if (c->teleconsult && care_status_active(c->status))
        return care_consult_open(st, before, c, p, now_ms);
    /* Cancelled, deleted, no-show, done, or no longer a teleconsultation: no link opens it. */
    int64_t revoked = 0;
    store_val q[] = {SV_INT(now_ms), SV_TEXT(c->id)};
    int rc = store_exec(st,
                        "UPDATE care_links SET revoked_at = ? "
                        "WHERE appointment_id = ? AND revoked_at IS NULL",
                        q, 2, &revoked);
    if (rc != CC_OK)
        return rc;
    bool tell = revoked > 0 && (strcmp(c->status, "cancelled") == 0 ||
                                strcmp(c->status, "entered-in-error") == 0 || !c->teleconsult);
    return tell ? care_outbox_add(st, c->id, "cancel", now_ms) : CC_OK;
}

/* ---- the event ----------------------------------------------------------------------------- */

static int care_row_event(void *ud, const store_row *r)
{
    json_t **out = ud;
    *out =
        json_pack("{s:s,s:s,s:I,s:I,s:s?,s:b,s:I,s:s?,s:{s:s?,s:s?}}", "id", store_row_text(r, 0),
                  "status", store_row_text(r, 1), "start", (json_int_t)store_row_int(r, 2), "end",
                  (json_int_t)store_row_int(r, 3), "practitioner_id", store_row_text(r, 4),
                  "teleconsult", store_row_int(r, 5) != 0, "version",
                  (json_int_t)store_row_int(r, 6), "service", store_row_text(r, 7), "patient",
                  "family", store_row_text(r, 8), "given", store_row_text(r, 9));
    return 1;
}

/* The consultation's own state beside the appointment's status. */
static int care_row_state(void *ud, const store_row *r)
{
    json_t *o = ud;
    json_object_set_new(o, "state", json_string(store_row_text(r, 0)));
    static const char *const times[] = {"waiting_since", "admitted_at", "ended_at"};
    for (int i = 0; i < 3; i++)
        if (!store_row_is_null(r, 1 + i))
            json_object_set_new(o, times[i], json_integer(store_row_int(r, 1 + i)));
    return 1;
}

int care__event_updated(store *st, const char *appointment_id)
{
    json_t *payload = NULL;
    store_val p[] = {SV_TEXT(appointment_id)};
    int rc = store_query(st,
                         "SELECT id, status, start_ms, end_ms, practitioner_id, teleconsult, "
                         "version, service, patient_family, patient_given "
                         "FROM care_appointments WHERE id = ?",
                         p, 1, care_row_event, &payload);
    if (rc == CC_OK && !payload)
        rc = CC_ERR_NOMEM;
    if (rc == CC_OK)
        rc = store_query(st,
                         "SELECT consult_state, waiting_since, admitted_at, ended_at "
                         "FROM care_appointments WHERE id = ?",
                         p, 1, care_row_state, payload);
    /* Who may see it: its practitioner, and the staff with patient data who are not
     * practitioners (nurses, secretaries: they see every agenda); see care__scope. */
    char scope[CC_ID_LEN + 8];
    const char *who = json_string_value(json_object_get(payload, "practitioner_id"));
    snprintf(scope, sizeof scope, "care:%s", who ? who : "-");
    if (rc == CC_OK)
        rc = store_event_append(st, "appointment.updated", scope, payload, NULL);
    json_decref(payload);
    return rc;
}
