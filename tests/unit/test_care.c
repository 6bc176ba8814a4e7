/* Unit tests of care's bookings against both backends: a teleconsultation booked, rescheduled,
 * cancelled; a cancellation that overtakes its booking; refusals that write nothing; patient
 * links that open one consultation only, within their window, until revoked; an invitation
 * claimed by one node at a time, however the nodes' claims interleave. */
#include "care/care.h"
#include "care/care_internal.h"

#include <fcntl.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "store_test_backend.h"

static store *g_st;
static auth_keys g_keys;
static char g_doc[CC_ID_LEN + 1];
static const care_policy g_policy = {.link_before_ms = 3600000, .link_after_ms = 7200000};

#define T0 1795000000000LL /* a Tuesday in 2026, 09:46 UTC */
#define HOUR 3600000LL

static int setup(void **state)
{
    (void)state;
    if (tb_open(&g_st) != CC_OK)
        return -1;
    static const char *const clean[] = {
        "DELETE FROM care_outbox",   "DELETE FROM care_links",
        "DELETE FROM care_appt_ids", "DELETE FROM care_appointments",
        "DELETE FROM user_idents",   "DELETE FROM events",
        "DELETE FROM audit",         "DELETE FROM users",
    };
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++)
        if (store_exec(g_st, clean[i], NULL, 0, NULL) != CC_OK)
            return -1;
    randombytes_buf(&g_keys, sizeof g_keys);
    auth_user u;
    if (auth_user_create(g_st, "dr.martin", "Dr Martin", ROLE_PRACTITIONER, "x", false, &u) !=
            CC_OK ||
        care_ident_add(g_st, u.id, "10003456789") != CC_OK)
        return -1;
    snprintf(g_doc, sizeof g_doc, "%s", u.id);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(g_st);
    g_st = NULL;
    return 0;
}

/* A teleconsultation booking as an SIU^S12 maps to it. */
static care_booking booking(const char *placer, care_action a, int64_t msg_ts)
{
    care_booking b;
    memset(&b, 0, sizeof b);
    b.action = a;
    b.msg_ts = msg_ts;
    snprintf(b.ids[0].system, sizeof b.ids[0].system, "placer:AGENDA");
    snprintf(b.ids[0].value, sizeof b.ids[0].value, "%s", placer);
    b.nids = 1;
    b.start_ms = T0 + 24 * HOUR;
    b.end_ms = b.start_ms + HOUR / 2;
    snprintf(b.practitioner_idents[0], CARE_ID_MAX, "10003456789");
    b.nprac = 1;
    b.teleconsult = true;
    snprintf(b.patient.family, CARE_TEXT_MAX, "Dupont");
    snprintf(b.patient.given, CARE_TEXT_MAX, "Jeanne");
    snprintf(b.patient.email, CARE_EMAIL_MAX, "jeanne.dupont@example.org");
    return b;
}

static int64_t count(const char *sql, const char *arg)
{
    int64_t n = -1;
    store_val p[] = {SV_TEXT(arg)};
    assert_int_equal(store_query_int(g_st, sql, p, arg ? 1 : 0, &n), CC_OK);
    return n;
}

static care_result apply_ok(const care_booking *b, int64_t now)
{
    care_result r;
    assert_int_equal(store_begin(g_st), CC_OK);
    int rc = care_apply_booking(g_st, &g_keys, b, &g_policy, "hl7:AGENDA", now, &r);
    assert_int_equal(rc, CC_OK);
    assert_int_equal(store_commit(g_st), CC_OK);
    return r;
}

static void token_of(const char *appt, char token[AUTH_LINK_TOKEN_LEN + 1])
{
    care_link l;
    assert_int_equal(care_link_of(g_st, appt, &l), CC_OK);
    assert_int_equal(care_link_token(g_st, &g_keys, l.link_id, token), CC_OK);
}

static care_link_state link_state(const char *token, int64_t now, care_link *l)
{
    care_link_state s;
    assert_int_equal(care_link_check(g_st, &g_keys, token, now, l, &s), CC_OK);
    return s;
}

static void test_book_reschedule_cancel(void **state)
{
    (void)state;
    care_booking b = booking("RDV-1", CARE_BOOK, T0);
    care_result r = apply_ok(&b, T0);
    assert_int_equal(r.outcome, CARE_CREATED);
    assert_string_equal(r.status, "booked");
    assert_int_equal(count("SELECT COUNT(*) FROM care_outbox WHERE kind = 'invite' AND "
                           "channel = 'email' AND appointment_id = ?",
                           r.appointment_id),
                     1);
    /* For its practitioner (and the staff who are not practitioners), not every practitioner. */
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE type = 'appointment.updated' "
                           "AND scope = (SELECT 'care:' || practitioner_id FROM care_appointments "
                           "WHERE id = ?)",
                           r.appointment_id),
                     1);

    /* The link opens the hour before and closes two hours after; a stranger's token does not. */
    char token[AUTH_LINK_TOKEN_LEN + 1];
    token_of(r.appointment_id, token);
    care_link l;
    assert_int_equal(link_state(token, b.start_ms - 2 * HOUR, &l), CARE_LINK_TOO_EARLY);
    assert_int_equal(link_state(token, b.start_ms - HOUR / 2, &l), CARE_LINK_OK);
    assert_string_equal(l.appointment_id, r.appointment_id);
    assert_string_equal(l.role, "patient");
    assert_int_equal(link_state(token, b.end_ms + 3 * HOUR, &l), CARE_LINK_EXPIRED);
    char forged[AUTH_LINK_TOKEN_LEN + 1];
    memcpy(forged, token, sizeof forged);
    forged[AUTH_LINK_TOKEN_LEN - 1] = forged[AUTH_LINK_TOKEN_LEN - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(link_state(forged, b.start_ms, &l), CARE_LINK_UNKNOWN);
    assert_int_equal(link_state("not a token", b.start_ms, &l), CARE_LINK_UNKNOWN);

    /* The same booking sent again (a lost ACK) changes nothing visible and sends nothing. */
    r = apply_ok(&b, T0);
    assert_int_equal(r.outcome, CARE_UPDATED);
    assert_int_equal(
        count("SELECT COUNT(*) FROM care_outbox WHERE appointment_id = ?", r.appointment_id), 1);

    /* Rescheduled a day later: the same link follows, the patient is told. */
    care_booking s13 = booking("RDV-1", CARE_RESCHEDULE, T0 + 1000);
    s13.start_ms += 24 * HOUR;
    s13.end_ms += 24 * HOUR;
    r = apply_ok(&s13, T0 + 1000);
    assert_int_equal(r.outcome, CARE_UPDATED);
    assert_int_equal(link_state(token, b.start_ms, &l), CARE_LINK_TOO_EARLY);
    assert_int_equal(link_state(token, s13.start_ms, &l), CARE_LINK_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM care_outbox WHERE kind = 'update' AND "
                           "appointment_id = ?",
                           r.appointment_id),
                     1);

    /* Cancelled with only its id: the link stops working, the patient is told. */
    care_booking s15;
    memset(&s15, 0, sizeof s15);
    s15.action = CARE_CANCEL;
    s15.msg_ts = T0 + 2000;
    s15.ids[0] = b.ids[0];
    s15.nids = 1;
    s15.teleconsult = true;
    r = apply_ok(&s15, T0 + 2000);
    assert_string_equal(r.status, "cancelled");
    assert_int_equal(link_state(token, s13.start_ms, &l), CARE_LINK_REVOKED);
    assert_int_equal(count("SELECT COUNT(*) FROM care_outbox WHERE kind = 'cancel' AND "
                           "appointment_id = ?",
                           r.appointment_id),
                     1);
    assert_int_equal(
        count("SELECT COUNT(*) FROM care_appointments WHERE patient_family = ?", "Dupont"), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM audit WHERE action LIKE ?", "appointment.%"), 4);
}

static void test_cancel_overtakes_booking(void **state)
{
    (void)state;
    /* The cancellation was made after the booking but arrives first. */
    care_booking s15 = booking("RDV-2", CARE_CANCEL, T0 + 5000);
    care_result r = apply_ok(&s15, T0);
    assert_int_equal(r.outcome, CARE_CREATED);
    assert_string_equal(r.status, "cancelled");
    care_booking s12 = booking("RDV-2", CARE_BOOK, T0);
    r = apply_ok(&s12, T0 + 10);
    assert_int_equal(r.outcome, CARE_STALE);
    assert_string_equal(r.status, "cancelled");
    assert_int_equal(
        count("SELECT COUNT(*) FROM care_links WHERE appointment_id = ?", r.appointment_id), 0);
    assert_int_equal(
        count("SELECT COUNT(*) FROM care_outbox WHERE appointment_id = ?", r.appointment_id), 0);
    /* Made in the same second (HL7 times often have no more): the cancellation still wins. */
    care_booking tie = booking("RDV-2", CARE_BOOK, T0 + 5000);
    assert_int_equal(apply_ok(&tie, T0 + 20).outcome, CARE_STALE);
}

static void test_refusals_write_nothing(void **state)
{
    (void)state;
    care_booking b = booking("RDV-3", CARE_BOOK, T0);
    snprintf(b.practitioner_idents[0], CARE_ID_MAX, "99999999999");
    care_result r;
    assert_int_equal(store_begin(g_st), CC_OK);
    assert_int_equal(care_apply_booking(g_st, &g_keys, &b, &g_policy, "hl7", T0, &r),
                     CC_ERR_INVALID);
    assert_int_equal(r.field, CARE_FIELD_PRACTITIONER);
    assert_non_null(strstr(r.reason, "99999999999"));

    b = booking("RDV-3", CARE_BOOK, T0);
    b.patient.email[0] = '\0';
    assert_int_equal(care_apply_booking(g_st, &g_keys, &b, &g_policy, "hl7", T0, &r),
                     CC_ERR_INVALID);
    assert_int_equal(r.field, CARE_FIELD_CONTACT);
    assert_null(strstr(r.reason, "Dupont")); /* no patient data in what goes back */

    b = booking("RDV-3", CARE_BOOK, T0);
    b.end_ms = b.start_ms - 1;
    assert_int_equal(care_apply_booking(g_st, &g_keys, &b, &g_policy, "hl7", T0, &r),
                     CC_ERR_INVALID);
    assert_int_equal(r.field, CARE_FIELD_TIME);
    b.nids = 0;
    assert_int_equal(care_apply_booking(g_st, &g_keys, &b, &g_policy, "hl7", T0, &r),
                     CC_ERR_INVALID);
    assert_int_equal(r.field, CARE_FIELD_ID);
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM care_appointments", NULL), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE type LIKE ?", "appointment.%"), 0);

    /* A booking that is not a teleconsultation is none of carecomm's business. */
    b = booking("RDV-4", CARE_BOOK, T0);
    b.teleconsult = false;
    assert_int_equal(apply_ok(&b, T0).outcome, CARE_IGNORED);
    assert_int_equal(count("SELECT COUNT(*) FROM care_appointments", NULL), 0);
}

static void test_links_open_their_consultation_only(void **state)
{
    (void)state;
    care_booking a = booking("RDV-5", CARE_BOOK, T0), b = booking("RDV-6", CARE_BOOK, T0);
    care_result ra = apply_ok(&a, T0), rb = apply_ok(&b, T0);
    char ta[AUTH_LINK_TOKEN_LEN + 1], tb_[AUTH_LINK_TOKEN_LEN + 1];
    token_of(ra.appointment_id, ta);
    token_of(rb.appointment_id, tb_);
    assert_string_not_equal(ta, tb_);
    care_link l;
    assert_int_equal(link_state(ta, a.start_ms, &l), CARE_LINK_OK);
    assert_string_equal(l.appointment_id, ra.appointment_id);
    assert_int_equal(link_state(tb_, b.start_ms, &l), CARE_LINK_OK);
    assert_string_equal(l.appointment_id, rb.appointment_id);
    /* Another server's key makes other tokens: a copied database opens nothing. */
    auth_keys other;
    randombytes_buf(&other, sizeof other);
    char foreign[AUTH_LINK_TOKEN_LEN + 1];
    assert_int_equal(auth_link_token(&other, l.link_id, foreign), CC_OK);
    assert_int_equal(link_state(foreign, b.start_ms, &l), CARE_LINK_UNKNOWN);

    /* Cancelling one leaves the other working. */
    care_booking c = booking("RDV-5", CARE_CANCEL, T0 + 1);
    apply_ok(&c, T0 + 1);
    assert_int_equal(link_state(ta, a.start_ms, &l), CARE_LINK_REVOKED);
    assert_int_equal(link_state(tb_, b.start_ms, &l), CARE_LINK_OK);
    /* A revoked link's token cannot be sent again. */
    assert_int_equal(care_link_of(g_st, ra.appointment_id, &l), CC_OK);
    char again[AUTH_LINK_TOKEN_LEN + 1];
    assert_int_equal(care_link_token(g_st, &g_keys, l.link_id, again), CC_ERR_NOT_FOUND);
}

static void test_short_modification_keeps_the_teleconsultation(void **state)
{
    (void)state;
    care_booking b = booking("RDV-7", CARE_BOOK, T0);
    care_result r = apply_ok(&b, T0);
    char token[AUTH_LINK_TOKEN_LEN + 1];
    token_of(r.appointment_id, token);
    /* An S14 that carries no appointment type at all: still a teleconsultation. */
    care_booking s14 = booking("RDV-7", CARE_MODIFY, T0 + 1000);
    s14.teleconsult = false;
    s14.type_unknown = true;
    assert_int_equal(apply_ok(&s14, T0 + 1000).outcome, CARE_UPDATED);
    care_link l;
    assert_int_equal(link_state(token, b.start_ms, &l), CARE_LINK_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM care_outbox WHERE kind = 'cancel' AND "
                           "appointment_id = ?",
                           r.appointment_id),
                     0);
    /* One that says it is now an ordinary consultation: the link goes, the patient is told. */
    care_booking inperson = booking("RDV-7", CARE_MODIFY, T0 + 2000);
    inperson.teleconsult = false;
    apply_ok(&inperson, T0 + 2000);
    assert_int_equal(link_state(token, b.start_ms, &l), CARE_LINK_REVOKED);
    assert_int_equal(count("SELECT COUNT(*) FROM care_outbox WHERE kind = 'cancel' AND "
                           "appointment_id = ?",
                           r.appointment_id),
                     1);
}

static void test_idents(void **state)
{
    (void)state;
    char uid[CC_ID_LEN + 1];
    assert_int_equal(care_ident_user(g_st, "10003456789", uid), CC_OK);
    assert_string_equal(uid, g_doc);
    assert_int_equal(care_ident_add(g_st, g_doc, "10003456789"), CC_ERR_EXISTS);
    assert_int_equal(care_ident_add(g_st, g_doc, "with space"), CC_ERR_INVALID);
    assert_int_equal(care_ident_add(g_st, g_doc, ""), CC_ERR_INVALID);
    assert_int_equal(care_ident_user(g_st, "nobody", uid), CC_ERR_NOT_FOUND);
}

/* ---- the outbox: one node sends each notification ------------------------------------------ */

typedef struct {
    store *st;
    int64_t now;
    care_outbox_item items[4];
    size_t n;
    int rc;
} outbox_claimer;

/* What a node's notify worker does: claim in one transaction. */
static void *outbox_claim_in_tx(void *arg)
{
    outbox_claimer *c = arg;
    c->rc = store_begin(c->st);
    if (c->rc == CC_OK)
        c->rc = care_outbox_claim(c->st, c->now, c->items, 4, &c->n);
    if (c->rc == CC_OK)
        c->rc = store_commit(c->st);
    else
        store_rollback(c->st);
    return NULL;
}

static void test_outbox_lease(void **state)
{
    (void)state;
    care_booking b = booking("RDV-1", CARE_BOOK, T0);
    care_result r = apply_ok(&b, T0);
    outbox_claimer first = {.st = g_st, .now = T0 + 1000};
    outbox_claim_in_tx(&first);
    assert_int_equal(first.rc, CC_OK);
    assert_int_equal(first.n, 1);
    assert_string_equal(first.items[0].appointment_id, r.appointment_id);
    assert_string_equal(first.items[0].kind, "invite");
    assert_true(first.items[0].link_id[0] != '\0');
    /* Claimed: nobody else gets it while the lease runs... */
    outbox_claimer again = {.st = g_st, .now = T0 + 2000};
    outbox_claim_in_tx(&again);
    assert_int_equal(again.rc, CC_OK);
    assert_int_equal(again.n, 0);
    /* ...and once it has run out (the node died while sending), it is tried again. */
    outbox_claimer later = {.st = g_st, .now = T0 + 1000 + 5 * 60000};
    outbox_claim_in_tx(&later);
    assert_int_equal(later.n, 1);
    assert_int_equal(care_outbox_done(g_st, later.items[0].id, later.items[0].attempts, NULL, 30000,
                                      T0 + 400000),
                     CC_OK);
    outbox_claimer sent = {.st = g_st, .now = T0 + 3600000};
    outbox_claim_in_tx(&sent);
    assert_int_equal(sent.n, 0);
}

/* Two nodes on one PostgreSQL database read the same due invitation at the same moment. The one
 * whose claim comes second waits for the first's row lock, and must then find the row taken, not
 * send the patient a second copy. (SQLite has one writer at a time: the race cannot happen.) */
static void test_outbox_concurrent_claims(void **state)
{
    (void)state;
    if (tb.kind != STORE_POSTGRES)
        skip();
    care_booking b = booking("RDV-1", CARE_BOOK, T0);
    apply_ok(&b, T0);
    assert_int_equal(store_begin(g_st), CC_OK);
    care_outbox_item mine[4];
    size_t n = 0;
    assert_int_equal(care_outbox_claim(g_st, T0 + 1000, mine, 4, &n), CC_OK);
    assert_int_equal(n, 1);

    store *watcher = NULL;
    outbox_claimer other = {.now = T0 + 1000};
    assert_int_equal(tb_open(&other.st), CC_OK);
    assert_int_equal(tb_open(&watcher), CC_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, outbox_claim_in_tx, &other), 0);
    int64_t waiting = 0;
    for (int i = 0; i < 1000 && waiting == 0; i++) {
        assert_int_equal(
            store_query_int(watcher,
                            "SELECT COUNT(*) FROM pg_stat_activity WHERE "
                            "wait_event_type = 'Lock' AND datname = current_database()",
                            NULL, 0, &waiting),
            CC_OK);
        if (waiting == 0)
            usleep(10000);
    }
    assert_int_equal(store_commit(g_st), CC_OK);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(waiting, 1); /* the other node did wait on this one's claim */
    assert_int_equal(other.rc, CC_OK);
    assert_int_equal(other.n, 0);
    store_close(other.st);
    store_close(watcher);
}

int main(void)
{
    cc_crypto_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_book_reschedule_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_overtakes_booking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_write_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_open_their_consultation_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_modification_keeps_the_teleconsultation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_concurrent_claims, setup, teardown),
    };
    int failed =
        cmocka_run_group_tests_name("care_sqlite", tests, group_setup_sqlite, group_teardown);
    failed += cmocka_run_group_tests_name("care_postgresql", tests, group_setup_pg, group_teardown);
    return failed;
}
