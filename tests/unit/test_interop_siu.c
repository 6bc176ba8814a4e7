/* Unit tests of the SIU mapping: a French v2.5 booking with an INS, a v2.3 rescheduling with
 * SCH-11 timing, status mapping, the teleconsultation rule, INS (NIR, Corsica) and SSIN keys, and
 * the errors with their ERR locations and kinds. */
#include "interop/interop.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* ---- messages ------------------------------------------------------------------------------- */

static const char *msg_fr =
    "MSH|^~\\&|DXCARE|CHU-NANTES|CARECOMM|CHU-NANTES|20261122093000+0100||SIU^S12^SIU_S12|"
    "MSG00042|P|2.5^FRA^2.10|||||FRA|UNICODE UTF-8\r"
    "SCH|RDV123^DXCARE|F456^CARECOMM|||||CONSULT^Consultation^L|TLC^Téléconsultation^L|||||||||||"
    "||||||Booked\r"
    "TQ1|1||||||20261201143000+0100|20261201150000+0100\r"
    "PID|1||184127645108946^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~123456^^^CHU-NANTES&"
    "1.2.250.1.71.4.2.7&ISO^PI||DUPONT^Hélène^^^^^D~DUPONT-MARTIN^Hélène Marie^^^^^L||19841231|F||"
    "|||^NET^Internet^helene.dupont@example.fr~^PRN^CP^^^^^^^^^0612345678|||||||||||||||||||VALI\r"
    "RGS|1|A\r"
    "AIS|1|A|CONS^Consultation^L|20261201143000+0100|||30|min\r"
    "AIP|1|A|10001234567^MARTIN^Paul^^^Dr^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^^^^RPPS~ADELI123^"
    "MARTIN^Paul^^^^^^ADELI&1.2.250.1.71.4.2.1&ISO^^^^ADELI|MED\r"
    "AIP|2|D|999^ANCIEN^Jean\r"
    "AIP|3|A|10009876543^DURAND^Claire^^^Dr^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^^^^RPPS\r";

static const char *msg_v23 =
    "MSH|^~\\&|RDVSOFT|CH-ANNECY|CARECOMM|CH-ANNECY|20260315101500||SIU^S13|A23-77|P|2.3\r"
    "SCH|P-991||||||||45|min|^^45^202603201030^||||||||||||||Booked\r"
    "PID|1||IPP778^^^CH-ANNECY^PI||LEGRAND^Luc||1960||||||06 98 76 54 32\r"
    "RGS|1\r"
    "AIL|1||TELECONSULTATION^^^CH-ANNECY\r";

/* A segment from (field number, value) pairs ending with 0: the empty fields between are
 * written, so tests say which field they mean. */
static void seg(cc_buf *b, const char *id, ...)
{
    va_list ap;
    va_start(ap, id);
    cc_buf_appendf(b, "%s", id);
    int at = 0;
    for (;;) {
        int f = va_arg(ap, int);
        if (!f)
            break;
        const char *v = va_arg(ap, const char *);
        for (; at < f; at++)
            cc_buf_append(b, "|", 1);
        cc_buf_appendf(b, "%s", v);
    }
    cc_buf_append(b, "\r", 1);
    va_end(ap);
}

static void msh(cc_buf *b, const char *type, const char *version)
{
    cc_buf_appendf(b, "MSH|^~\\&|HIS|HOSP|CARECOMM|HOSP|20261122093000||%s|C1|P|%s\r", type,
                   version);
}

static hl7_msg *parse_ok(const char *text, size_t n)
{
    hl7_msg *m = NULL;
    hl7_error err;
    int rc = hl7_msg_parse(text, n, NULL, &m, &err);
    if (rc != CC_OK)
        fail_msg("parse failed: %s (%s)", cc_strerror(rc), err.reason);
    return m;
}

/* Maps text; returns the code and fills b, err and loc. */
static int map(const char *text, const interop_siu_opts *o, interop_booking *b, hl7_error *err,
               char *loc)
{
    hl7_msg *m = parse_ok(text, strlen(text));
    int rc = interop_siu_map(m, o, b, err);
    hl7_error_location(err, loc, 64);
    hl7_msg_free(&m);
    return rc;
}

/* A minimal booking: SCH with ids and a start, and a PID with pid3 when not NULL. */
static cc_buf booking_buf;
static char *booking(const char *event, const char *version, const char *pid3)
{
    cc_buf *b = &booking_buf;
    cc_buf_free(b);
    char type[16];
    snprintf(type, sizeof(type), "SIU^%s", event);
    msh(b, type, version);
    seg(b, "SCH", 1, "A1^HIS", 11, "^^^202612011430+0100", 25, "Booked", 0);
    if (pid3)
        seg(b, "PID", 1, "1", 3, pid3, 5, "NOM^Prenom", 13, "^NET^Internet^p@example.org", 0);
    return b->data;
}

/* ---- mapping -------------------------------------------------------------------------------- */

static void test_siu_s12_france(void **state)
{
    (void)state;
    interop_booking b;
    hl7_error err;
    char loc[64];
    assert_int_equal(map(msg_fr, NULL, &b, &err, loc), CC_OK);
    assert_int_equal(err.kind, HL7_ERRK_NONE);
    assert_int_equal(b.event, INTEROP_SIU_S12);
    assert_string_equal(b.control_id, "MSG00042");
    assert_string_equal(b.version, "2.5");
    assert_string_equal(b.placer.id, "RDV123");
    assert_string_equal(b.placer.ns, "DXCARE");
    assert_string_equal(b.filler.id, "F456");
    assert_string_equal(b.filler.ns, "CARECOMM");
    /* TQ1-7/TQ1-8 with +0100: 14:30 and 15:00 in Nantes are 13:30 and 14:00 UTC. */
    assert_true(b.has_start && b.has_end);
    assert_int_equal(b.start_ms, 1796131800000LL);
    assert_int_equal(b.end_ms, 1796133600000LL);
    assert_string_equal(b.filler_status, "Booked");
    assert_int_equal(b.status, INTEROP_APPT_BOOKED);
    assert_string_equal(interop_appt_status_code(b.status), "booked");
    assert_true(b.teleconsultation); /* SCH-8 TLC */
    /* AIP 1 (two repetitions) and AIP 3; AIP 2 is marked deleted. */
    assert_int_equal(b.n_practitioners, 3);
    assert_string_equal(b.practitioners[0].ident.id, "10001234567");
    assert_string_equal(b.practitioners[0].ident.ns, "ASIP-SANTE-PS");
    assert_string_equal(b.practitioners[0].ident.uid, "1.2.250.1.71.4.2.1");
    assert_string_equal(b.practitioners[0].ident.type, "RPPS");
    assert_string_equal(b.practitioners[0].family, "MARTIN");
    assert_string_equal(b.practitioners[0].given, "Paul");
    assert_string_equal(b.practitioners[1].ident.id, "ADELI123");
    assert_string_equal(b.practitioners[1].ident.type, "ADELI");
    assert_string_equal(b.practitioners[2].ident.id, "10009876543");
    assert_string_equal(b.practitioners[2].family, "DURAND");
    /* The patient: the INS recognised and checked, the local id beside it. */
    const interop_patient *p = &b.patient;
    assert_true(p->present);
    assert_int_equal(p->n_ids, 2);
    assert_int_equal(p->ins_index, 0);
    assert_int_equal(p->ids[0].kind, INTEROP_ID_INS_NIR);
    assert_string_equal(p->ids[0].id, "184127645108946");
    assert_string_equal(p->ids[0].ns, "ASIP-SANTE-INS-NIR");
    assert_string_equal(p->ids[0].uid, "1.2.250.1.213.1.4.8");
    assert_string_equal(p->ids[0].uid_type, "ISO");
    assert_string_equal(p->ids[0].type, "INS");
    assert_int_equal(p->ids[1].kind, INTEROP_ID_OTHER);
    assert_string_equal(p->ids[1].id, "123456");
    assert_string_equal(p->ids[1].type, "PI");
    assert_string_equal(p->identity_status, "VALI");
    /* The legal name (XPN-7 L), not the first repetition. */
    assert_string_equal(p->family, "DUPONT-MARTIN");
    assert_string_equal(p->given, "Hélène Marie");
    assert_string_equal(p->birth_date, "1984-12-31");
    assert_string_equal(p->email, "helene.dupont@example.fr");
    assert_string_equal(p->mobile, "0612345678"); /* XTN-12, CP */
    assert_string_equal(p->phone, "");
}

static void test_siu_v23_sch11(void **state)
{
    (void)state;
    interop_booking b;
    hl7_error err;
    char loc[64];
    /* No offset in the message: local time at +60 minutes (Paris in March). */
    interop_siu_opts o = {.local_offset_min = 60};
    assert_int_equal(map(msg_v23, &o, &b, &err, loc), CC_OK);
    assert_int_equal(b.event, INTEROP_SIU_S13);
    assert_string_equal(b.version, "2.3");
    assert_string_equal(b.placer.id, "P-991");
    assert_string_equal(b.filler.id, "");
    assert_int_equal(b.start_ms, 1773999000000LL); /* 2026-03-20T09:30Z */
    /* No SCH-11.5: the end is start + SCH-9/SCH-10 (45 min). */
    assert_true(b.has_end);
    assert_int_equal(b.end_ms, 1774001700000LL);
    assert_true(b.teleconsultation); /* AIL-3 */
    assert_string_equal(b.patient.birth_date, "1960");
    assert_string_equal(b.patient.family, "LEGRAND");
    assert_int_equal(b.patient.ins_index, -1);
    /* A French mobile number in XTN-1 without equipment type. */
    assert_string_equal(b.patient.mobile, "0698765432");
    assert_int_equal(b.practitioners[0].ident.id[0], '\0');
    assert_int_equal(b.n_practitioners, 0);
}

static void test_siu_times_other_sources(void **state)
{
    (void)state;
    interop_booking b;
    hl7_error err;
    char loc[64];
    cc_buf t = {0};
    /* Only AIS-4 with a duration in hours (AIS-7/8). */
    msh(&t, "SIU^S12", "2.5");
    seg(&t, "SCH", 1, "A1", 0);
    seg(&t, "RGS", 1, "1", 0);
    seg(&t, "AIS", 1, "1", 3, "X", 4, "20261201143000+0100", 7, "2", 8, "h", 0);
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_OK);
    assert_int_equal(b.start_ms, 1796131800000LL);
    assert_int_equal(b.end_ms, 1796131800000LL + 2 * 3600000LL);
    cc_buf_free(&t);
    /* Only AIP-6, no duration: a start without an end. */
    msh(&t, "SIU^S12", "2.4");
    seg(&t, "SCH", 2, "F1", 0);
    seg(&t, "AIP", 1, "1", 3, "123^DOC", 6, "20261201133000-0000", 0);
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_OK);
    assert_int_equal(b.start_ms, 1796131800000LL);
    assert_false(b.has_end);
    assert_string_equal(b.filler.id, "F1");
    assert_int_equal(b.n_practitioners, 1);
    cc_buf_free(&t);
}

static void test_siu_status(void **state)
{
    (void)state;
    static const struct {
        const char *event, *code, *status;
    } cases[] = {
        {"S12", "Pending", "pending"},
        {"S12", "Waitlist", "waitlist"},
        {"S12", "Booked", "booked"},
        {"S14", "Started", "checked-in"},
        {"S14", "Complete", "fulfilled"},
        {"S14", "Cancelled", "cancelled"},
        {"S14", "Deleted", "entered-in-error"},
        {"S14", "Noshow", "noshow"},
        {"S12", "Overbook", "booked"},
        {"S12", "Blocked", "cancelled"},
        {"S12", "BOOKED", "booked"},
        {"S12", "Whatever", "booked"},
        {"S12", "", "booked"},
        /* The event wins over SCH-25. */
        {"S15", "Booked", "cancelled"},
        {"S26", "Booked", "noshow"},
        {"S17", "Booked", "entered-in-error"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cc_buf t = {0};
        char type[16];
        snprintf(type, sizeof(type), "SIU^%s", cases[i].event);
        msh(&t, type, "2.5");
        seg(&t, "SCH", 1, "A1", 25, cases[i].code, 0);
        seg(&t, "TQ1", 1, "1", 7, "202612011430", 0);
        interop_booking b;
        hl7_error err;
        char loc[64];
        assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_OK);
        if (strcmp(interop_appt_status_code(b.status), cases[i].status) != 0)
            fail_msg("%s %s: %s, expected %s", cases[i].event, cases[i].code,
                     interop_appt_status_code(b.status), cases[i].status);
        assert_string_equal(b.filler_status, cases[i].code);
        cc_buf_free(&t);
    }
}

static void test_siu_teleconsultation_rule(void **state)
{
    (void)state;
    cc_buf t = {0};
    msh(&t, "SIU^S12", "2.5");
    seg(&t, "SCH", 1, "A1", 7, "Routine^TLC", 8, "NORMAL", 11, "^^^202612011430", 0);
    seg(&t, "RGS", 1, "1", 0);
    seg(&t, "AIS", 1, "1", 3, "CS^Consult~visio^Video consultation", 0);
    seg(&t, "AIS", 1, "2", 3, "Other", 0);
    hl7_msg *m = parse_ok(t.data, t.len);
    /* Component 1 only (not SCH-7.2 "TLC"); any repetition, any AIS; case ignored. */
    assert_false(interop_siu_is_teleconsultation(m, NULL));
    assert_true(interop_siu_is_teleconsultation(m, "VISIO"));
    assert_true(interop_siu_is_teleconsultation(m, " tlc , Visio "));
    assert_true(interop_siu_is_teleconsultation(m, "x,OTHER"));
    assert_true(interop_siu_is_teleconsultation(m, "normal"));
    assert_false(interop_siu_is_teleconsultation(m, "VIS,VISIO2,,"));
    assert_false(interop_siu_is_teleconsultation(m, ""));
    hl7_msg_free(&m);
    cc_buf_free(&t);

    /* A teleconsultation needs a way to reach the patient. */
    interop_booking b;
    hl7_error err;
    char loc[64];
    msh(&t, "SIU^S12", "2.5");
    seg(&t, "SCH", 1, "A1", 8, "TLC", 11, "^^^202612011430", 0);
    seg(&t, "PID", 1, "1", 3, "X1^^^H^PI", 13,
        "^PRN^FX^^^^^^^^^0240000000~^PRN^PH^^^^^^^^^0240123456", 0);
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_int_equal(err.kind, HL7_ERRK_CONTENT);
    assert_int_equal(err.code, HL7_E_REQUIRED_MISSING);
    assert_string_equal(loc, "PID^1^13");
    assert_non_null(strstr(err.reason, "e-mail"));
    /* With custom codes it is no teleconsultation, and the landline is a phone. */
    interop_siu_opts o = {.tlc_codes = "VISIO"};
    assert_int_equal(map(t.data, &o, &b, &err, loc), CC_OK);
    assert_false(b.teleconsultation);
    assert_string_equal(b.patient.phone, "0240123456");
    assert_string_equal(b.patient.mobile, "");
    cc_buf_free(&t);
    /* Cancelling one needs no contact. */
    msh(&t, "SIU^S15", "2.5");
    seg(&t, "SCH", 1, "A1", 8, "TLC", 0);
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_OK);
    assert_int_equal(b.status, INTEROP_APPT_CANCELLED);
    assert_false(b.has_start);
    cc_buf_free(&t);
}

static void test_siu_contacts(void **state)
{
    (void)state;
    cc_buf t = {0};
    msh(&t, "SIU^S12", "2.5");
    seg(&t, "SCH", 1, "A1", 11, "^^^202612011430", 0);
    /* E-mail in XTN-1 with NET, mobile from +country area local (XTN-5/6/7), an invalid e-mail
     * skipped for a later one. */
    seg(&t, "PID", 1, "1", 13, "bad@^NET^Internet~^PRN^CP^^33^6^12345678~x@example.be^NET", 14,
        "^WPN^PH^^^^^^^^^+32 2 555 12 12", 0);
    interop_booking b;
    hl7_error err;
    char loc[64];
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_OK);
    assert_string_equal(b.patient.email, "x@example.be");
    assert_string_equal(b.patient.mobile, "+33612345678");
    assert_string_equal(b.patient.phone, "+3225551212");
    cc_buf_free(&t);
}

/* ---- identities ----------------------------------------------------------------------------- */

static void test_nir_keys(void **state)
{
    (void)state;
    char why[120];
#define NIR(s) interop_nir_check((s), strlen(s), why, sizeof(why))
    assert_int_equal(NIR("184127645108946"), CC_OK);
    assert_int_equal(NIR("269069934123465"), CC_OK);
    assert_int_equal(NIR("184127645108947"), CC_ERR_INVALID);
    assert_non_null(strstr(why, "key"));
    assert_non_null(strstr(why, "46"));
    /* Corsica: 2A counts as 19 and 2B as 18 for the key. */
    assert_int_equal(NIR("290052A00401266"), CC_OK);
    assert_int_equal(NIR("290052B00401293"), CC_OK);
    assert_int_equal(NIR("290052A00401293"), CC_ERR_INVALID);
    assert_int_equal(NIR("29005190040128"), CC_ERR_INVALID); /* 14 characters */
    assert_non_null(strstr(why, "15"));
    assert_int_equal(NIR("2900A1900401266"), CC_ERR_INVALID);
    assert_int_equal(NIR("084127645108946"), CC_ERR_INVALID);
    assert_int_equal(NIR("18412764510894 "), CC_ERR_INVALID);
#undef NIR
}

static void test_ssin_keys(void **state)
{
    (void)state;
    char why[120];
    assert_int_equal(interop_ssin_check("85073003328", 11, why, sizeof(why)), CC_OK);
    /* Born from 2000: 2 before the nine digits. */
    assert_int_equal(interop_ssin_check("01020312345", 11, why, sizeof(why)), CC_OK);
    assert_int_equal(interop_ssin_check("01020312316", 11, why, sizeof(why)), CC_OK);
    assert_int_equal(interop_ssin_check("85073003329", 11, why, sizeof(why)), CC_ERR_INVALID);
    assert_non_null(strstr(why, "check"));
    assert_int_equal(interop_ssin_check("8507300332", 10, why, sizeof(why)), CC_ERR_INVALID);
    assert_int_equal(interop_ssin_check("85.07.30-033.28", 15, why, sizeof(why)), CC_ERR_INVALID);
}

static void test_identities_in_messages(void **state)
{
    (void)state;
    interop_booking b;
    hl7_error err;
    char loc[64];
    /* A wrong INS key is a content error at PID-3. */
    const char *bad =
        booking("S12", "2.5", "184127645108947^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS");
    assert_int_equal(map(bad, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_int_equal(err.kind, HL7_ERRK_CONTENT);
    assert_int_equal(err.code, HL7_E_DATA_TYPE);
    assert_string_equal(loc, "PID^1^3");
    assert_non_null(strstr(err.reason, "NIR key"));
    /* In a second repetition, the location says which (recognised by the OID alone). */
    bad = booking("S12", "2.5", "X1^^^H^PI~184127645108947^^^&1.2.250.1.213.1.4.8&ISO^INS");
    assert_int_equal(map(bad, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_string_equal(loc, "PID^1^3^2");
    /* Corsican INS. */
    const char *ok =
        booking("S12", "2.5", "290052A00401266^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS");
    assert_int_equal(map(ok, NULL, &b, &err, loc), CC_OK);
    assert_int_equal(b.patient.ids[0].kind, INTEROP_ID_INS_NIR);
    assert_int_equal(b.patient.ins_index, 0);
    /* NIA: recognised, length checked. */
    ok = booking("S12", "2.5", "X1^^^H^PI~199999999999999^^^&1.2.250.1.213.1.4.9&ISO^INS");
    assert_int_equal(map(ok, NULL, &b, &err, loc), CC_OK);
    assert_int_equal(b.patient.ids[1].kind, INTEROP_ID_INS_NIA);
    assert_int_equal(b.patient.ins_index, 1);
    bad = booking("S12", "2.5", "1999^^^ASIP-SANTE-INS-NIA&1.2.250.1.213.1.4.9&ISO^INS");
    assert_int_equal(map(bad, NULL, &b, &err, loc), CC_ERR_INVALID);
    /* Belgian SSIN, by namespace, by type NNBEL or by the eHealth system. */
    ok = booking("S12", "2.5", "85073003328^^^SSIN");
    assert_int_equal(map(ok, NULL, &b, &err, loc), CC_OK);
    assert_int_equal(b.patient.ids[0].kind, INTEROP_ID_SSIN);
    assert_int_equal(b.patient.ins_index, -1);
    bad = booking("S12", "2.5", "85073003329^^^RN^NNBEL");
    assert_int_equal(map(bad, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_string_equal(loc, "PID^1^3");
    assert_non_null(strstr(err.reason, "SSIN"));
    bad = booking("S12", "2.5",
                  "01020312399^^^&https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/"
                  "ssin&URI");
    assert_int_equal(map(bad, NULL, &b, &err, loc), CC_ERR_INVALID);
}

/* ---- errors --------------------------------------------------------------------------------- */

static void test_siu_errors(void **state)
{
    (void)state;
    interop_booking b;
    hl7_error err;
    char loc[64];
    cc_buf t = {0};
    /* Not SIU, an event we do not handle, an old version: unsupported, not content. */
    msh(&t, "ADT^A01", "2.5");
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_int_equal(err.kind, HL7_ERRK_UNSUPPORTED);
    assert_int_equal(err.code, HL7_E_UNSUPPORTED_TYPE);
    assert_string_equal(loc, "MSH^1^9^1^1");
    cc_buf_free(&t);
    msh(&t, "SIU^S99", "2.5");
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_int_equal(err.code, HL7_E_UNSUPPORTED_EVENT);
    assert_string_equal(loc, "MSH^1^9^1^2");
    cc_buf_free(&t);
    assert_int_equal(map(booking("S12", "2.2", NULL), NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_int_equal(err.kind, HL7_ERRK_UNSUPPORTED);
    assert_int_equal(err.code, HL7_E_UNSUPPORTED_VERSION);
    assert_int_equal(map(booking("S12", "2.8.2", NULL), NULL, &b, &err, loc), CC_OK);
    /* Neither SCH-1 nor SCH-2. */
    msh(&t, "SIU^S12", "2.5");
    seg(&t, "SCH", 3, "1", 11, "^^^202612011430", 0);
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_int_equal(err.kind, HL7_ERRK_CONTENT);
    assert_int_equal(err.code, HL7_E_REQUIRED_MISSING);
    assert_string_equal(loc, "SCH^1^1");
    cc_buf_free(&t);
    /* No SCH at all. */
    msh(&t, "SIU^S12", "2.5");
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_int_equal(err.code, HL7_E_SEGMENT_SEQUENCE);
    cc_buf_free(&t);
    /* An unreadable time, and a booking without any. */
    msh(&t, "SIU^S12", "2.5");
    seg(&t, "SCH", 1, "A1", 0);
    seg(&t, "TQ1", 1, "1", 7, "2026-12-01 14:30", 0);
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_int_equal(err.code, HL7_E_DATA_TYPE);
    assert_string_equal(loc, "TQ1^1^7^1^1");
    assert_non_null(strstr(err.reason, "TQ1-7"));
    cc_buf_free(&t);
    msh(&t, "SIU^S12", "2.5");
    seg(&t, "SCH", 1, "A1", 0);
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_int_equal(err.code, HL7_E_REQUIRED_MISSING);
    cc_buf_free(&t);
    /* The end before the start. */
    msh(&t, "SIU^S12", "2.5");
    seg(&t, "SCH", 1, "A1", 11, "^^^202612011430^202612011330", 0);
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_ERR_INVALID);
    cc_buf_free(&t);
    /* A value longer than the struct holds is refused, not cut. */
    char longid[200];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    msh(&t, "SIU^S12", "2.5");
    seg(&t, "SCH", 1, longid, 11, "^^^202612011430", 0);
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_string_equal(loc, "SCH^1^1^1^1");
    assert_non_null(strstr(err.reason, "longer"));
    cc_buf_free(&t);
    /* A wrong birth date. */
    msh(&t, "SIU^S12", "2.5");
    seg(&t, "SCH", 1, "A1", 11, "^^^202612011430", 0);
    seg(&t, "PID", 1, "1", 7, "19841331", 0);
    assert_int_equal(map(t.data, NULL, &b, &err, loc), CC_ERR_INVALID);
    assert_string_equal(loc, "PID^1^7");
    cc_buf_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siu_s12_france),
        cmocka_unit_test(test_siu_v23_sch11),
        cmocka_unit_test(test_siu_times_other_sources),
        cmocka_unit_test(test_siu_status),
        cmocka_unit_test(test_siu_teleconsultation_rule),
        cmocka_unit_test(test_siu_contacts),
        cmocka_unit_test(test_nir_keys),
        cmocka_unit_test(test_ssin_keys),
        cmocka_unit_test(test_identities_in_messages),
        cmocka_unit_test(test_siu_errors),
    };
    int rc = cmocka_run_group_tests_name("interop_siu", tests, NULL, NULL);
    cc_buf_free(&booking_buf);
    return rc;
}
