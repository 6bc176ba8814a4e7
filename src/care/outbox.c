/* care/outbox: the store side of the patient notifications. Rows are claimed with a lease (a
 * node that dies while sending leaves them to another after the lease), sent by notify.c, then
 * marked sent or put back with a growing delay. The outbox keeps neither address nor link: they
 * are read here, at send time, from the appointment as it is then. */
#include "care/care_internal.h"

#include <stdio.h>
#include <string.h>

#define OUTBOX_LEASE_MS (5 * 60 * 1000)
#define OUTBOX_RETRY_MAX_MS (60 * 60 * 1000)
#define OUTBOX_GIVE_UP_ATTEMPTS 40 /* about a day and a half of retries */

typedef struct {
    care_outbox_item *items;
    size_t n, max;
    int rc;
} claim_ctx;

static int care_row_item(void *ud, const store_row *r)
{
    claim_ctx *c = ud;
    if (c->n == c->max)
        return 1;
    care_outbox_item *it = &c->items[c->n++];
    memset(it, 0, sizeof *it);
#define COPY(dst, col)                                                                             \
    snprintf(dst, sizeof dst, "%s", store_row_is_null(r, col) ? "" : store_row_text(r, col))
    COPY(it->id, 0);
    COPY(it->appointment_id, 1);
    COPY(it->kind, 2);
    COPY(it->channel, 3);
    it->attempts = (int)store_row_int(r, 4);
    COPY(it->status, 5);
    it->start_ms = store_row_int(r, 6);
    it->end_ms = store_row_int(r, 7);
    COPY(it->family, 8);
    COPY(it->given, 9);
    COPY(it->email, 10);
    COPY(it->mobile, 11);
    COPY(it->practitioner, 12);
#undef COPY
    return 0;
}

int care_outbox_claim(store *st, int64_t now_ms, care_outbox_item *items, size_t max, size_t *n)
{
    claim_ctx c = {.items = items, .max = max};
    *n = 0;
    store_val p[] = {SV_INT(now_ms), SV_INT((int64_t)max)};
    int rc = store_query(st,
                         "SELECT o.id, o.appointment_id, o.kind, o.channel, o.attempts, a.status, "
                         "a.start_ms, a.end_ms, a.patient_family, a.patient_given, "
                         "a.patient_email, a.patient_mobile, u.display_name "
                         "FROM care_outbox o JOIN care_appointments a ON a.id = o.appointment_id "
                         "LEFT JOIN users u ON u.id = a.practitioner_id "
                         "WHERE o.state IN ('pending', 'sending') AND o.next_at <= ? "
                         "ORDER BY o.next_at, o.id LIMIT ?",
                         p, 2, care_row_item, &c);
    size_t kept = 0;
    for (size_t i = 0; rc == CC_OK && i < c.n; i++) {
        /* Claimed only if still due: another node that read the same row first has moved its
         * next_at by the lease (PostgreSQL re-checks the WHERE once that node's change commits),
         * and then it is theirs to send, not a second copy to the patient. */
        store_val q[] = {SV_INT(now_ms + OUTBOX_LEASE_MS), SV_TEXT(items[i].id), SV_INT(now_ms)};
        int64_t claimed = 0;
        rc = store_exec(st,
                        "UPDATE care_outbox SET state = 'sending', next_at = ? WHERE id = ? "
                        "AND state IN ('pending', 'sending') AND next_at <= ?",
                        q, 3, &claimed);
        if (rc != CC_OK || claimed == 0)
            continue;
        if (kept != i)
            items[kept] = items[i];
        care_outbox_item *it = &items[kept++];
        care_link l;
        int lrc = care_link_of(st, it->appointment_id, &l);
        if (lrc == CC_OK && !l.revoked)
            snprintf(it->link_id, sizeof it->link_id, "%s", l.link_id);
        else if (lrc != CC_OK && lrc != CC_ERR_NOT_FOUND)
            rc = lrc;
    }
    if (rc == CC_OK)
        *n = kept;
    return rc;
}

int care_outbox_done(store *st, const char *id, int attempts, const char *error,
                     int64_t first_retry_ms, int64_t now_ms)
{
    if (!error) {
        store_val p[] = {SV_INT(attempts + 1), SV_INT(now_ms), SV_TEXT(id)};
        return store_exec(st,
                          "UPDATE care_outbox SET state = 'sent', attempts = ?, next_at = ?, "
                          "last_error = NULL WHERE id = ?",
                          p, 3, NULL);
    }
    /* 30 s, 1 min, 2 min ... up to an hour between tries; then it is left for a person. */
    int64_t delay = first_retry_ms;
    for (int i = 0; i < attempts && delay < OUTBOX_RETRY_MAX_MS; i++)
        delay *= 2;
    if (delay > OUTBOX_RETRY_MAX_MS)
        delay = OUTBOX_RETRY_MAX_MS;
    const char *state = attempts + 1 >= OUTBOX_GIVE_UP_ATTEMPTS ? "failed" : "pending";
    store_val p[] = {SV_TEXT(state), SV_INT(attempts + 1), SV_INT(now_ms + delay), SV_TEXT(error),
                     SV_TEXT(id)};
    return store_exec(st,
                      "UPDATE care_outbox SET state = ?, attempts = ?, next_at = ?, "
                      "last_error = ? WHERE id = ?",
                      p, 5, NULL);
}

int care_outbox_skip(store *st, const char *id, int64_t now_ms)
{
    store_val p[] = {SV_INT(now_ms), SV_TEXT(id)};
    return store_exec(st, "UPDATE care_outbox SET state = 'skipped', next_at = ? WHERE id = ?", p,
                      2, NULL);
}
