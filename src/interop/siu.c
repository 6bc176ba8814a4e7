/* siu: SIU scheduling messages (S12 to S26) mapped to an interop_booking — the event, the
 * appointment ids, times, status, practitioners and the teleconsultation rule. The patient part
 * (PID) is in siu_patient.c. Which fields are read is listed in docs/hl7.md. */
#include "interop/siu_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TLC_DEFAULT "TLC,TELECONSULTATION"

int siu__fail(hl7_error *err, hl7_err_kind kind, int code, const char *seg, int seq, int field,
              int rep, int comp, const char *reason)
{
    hl7__err(err, kind, code, seg, seq, field, rep, comp, 0, "%s", reason);
    return CC_ERR_INVALID;
}

int siu__copy(char *dst, size_t cap, cc_str v, hl7_error *err, const char *seg, int seq, int field,
              int rep, int comp)
{
    dst[0] = '\0';
    if (!v.p || (v.n == 2 && memcmp(v.p, "\"\"", 2) == 0)) /* absent, or the HL7 null */
        return CC_OK;
    if (v.n >= cap) {
        hl7__err(err, HL7_ERRK_CONTENT, HL7_E_DATA_TYPE, seg, seq, field, rep, comp, 0,
                 "%s-%d: value of %zu bytes, longer than the %zu accepted", seg, field, v.n,
                 cap - 1);
        return CC_ERR_INVALID;
    }
    memcpy(dst, v.p, v.n);
    dst[v.n] = '\0';
    return CC_OK;
}

const char *interop_appt_status_code(interop_appt_status s)
{
    static const char *codes[] = {"proposed",   "pending",   "booked", "arrived",
                                  "fulfilled",  "cancelled", "noshow", "entered-in-error",
                                  "checked-in", "waitlist"};
    if ((unsigned)s < sizeof(codes) / sizeof(codes[0]))
        return codes[s];
    return "proposed";
}

/* SCH-25 filler status (HL7 table 0278) to FHIR Appointment.status; false when unknown. */
static bool status_of_0278(const char *code, interop_appt_status *st)
{
    static const struct {
        const char *code;
        interop_appt_status st;
    } map[] = {
        {"Pending", INTEROP_APPT_PENDING},
        {"Waitlist", INTEROP_APPT_WAITLIST},
        {"Booked", INTEROP_APPT_BOOKED},
        {"Started", INTEROP_APPT_CHECKED_IN},
        {"Complete", INTEROP_APPT_FULFILLED},
        {"Cancelled", INTEROP_APPT_CANCELLED},
        {"Dc", INTEROP_APPT_CANCELLED},
        {"Deleted", INTEROP_APPT_ENTERED_IN_ERROR},
        {"Noshow", INTEROP_APPT_NOSHOW},
        {"Overbook", INTEROP_APPT_BOOKED},
        /* A blocked slot has no patient to see: nothing may take place in it. */
        {"Blocked", INTEROP_APPT_CANCELLED},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (hl7__ieq(code, strlen(code), map[i].code)) {
            *st = map[i].st;
            return true;
        }
    }
    return false;
}

static int read_event(const hl7_msg *m, interop_booking *b, hl7_error *err)
{
    cc_str type = hl7_get(m, "MSH", 1, 9, 1, 1, 1);
    cc_str trig = hl7_get(m, "MSH", 1, 9, 1, 2, 1);
    if (!type.p || !hl7__ieq(type.p, type.n, "SIU"))
        return siu__fail(err, HL7_ERRK_UNSUPPORTED, HL7_E_UNSUPPORTED_TYPE, "MSH", 1, 9, 0, 1,
                         "MSH-9: only SIU messages are accepted here");
    static const struct {
        const char *code;
        interop_siu_event ev;
    } events[] = {{"S12", INTEROP_SIU_S12}, {"S13", INTEROP_SIU_S13}, {"S14", INTEROP_SIU_S14},
                  {"S15", INTEROP_SIU_S15}, {"S17", INTEROP_SIU_S17}, {"S26", INTEROP_SIU_S26}};
    for (size_t i = 0; trig.p && i < sizeof(events) / sizeof(events[0]); i++) {
        if (hl7__ieq(trig.p, trig.n, events[i].code)) {
            b->event = events[i].ev;
            return CC_OK;
        }
    }
    return siu__fail(err, HL7_ERRK_UNSUPPORTED, HL7_E_UNSUPPORTED_EVENT, "MSH", 1, 9, 0, 2,
                     "MSH-9.2: event not handled (S12, S13, S14, S15, S17, S26)");
}

static int read_version(const hl7_msg *m, interop_booking *b, hl7_error *err)
{
    cc_str v = hl7_get(m, "MSH", 1, 12, 1, 1, 1);
    int rc = siu__copy(b->version, sizeof(b->version), v, err, "MSH", 1, 12, 0, 1);
    if (rc != CC_OK)
        return rc;
    /* SIU exists from 2.3; the 2.x minor number is all that matters. */
    const char *s = b->version;
    int minor = -1;
    if (s[0] == '2' && s[1] == '.' && s[2] >= '0' && s[2] <= '9') {
        minor = s[2] - '0';
        if (s[3] >= '0' && s[3] <= '9')
            minor = minor * 10 + (s[3] - '0');
    }
    if (minor < 3)
        return siu__fail(err, HL7_ERRK_UNSUPPORTED, HL7_E_UNSUPPORTED_VERSION, "MSH", 1, 12, 0, 1,
                         "MSH-12: version not supported (2.3 and later)");
    return CC_OK;
}

/* SCH-1 or SCH-2 as an EI: id^namespace^universal id^type. */
static int read_ei(const hl7_msg *m, int field, interop_ident *id, hl7_error *err)
{
    memset(id, 0, sizeof(*id));
    int rc;
    if ((rc = siu__copy(id->id, sizeof(id->id), hl7_get(m, "SCH", 1, field, 1, 1, 1), err, "SCH", 1,
                        field, 0, 1)) != CC_OK ||
        (rc = siu__copy(id->ns, sizeof(id->ns), hl7_get(m, "SCH", 1, field, 1, 2, 1), err, "SCH", 1,
                        field, 0, 2)) != CC_OK ||
        (rc = siu__copy(id->uid, sizeof(id->uid), hl7_get(m, "SCH", 1, field, 1, 3, 1), err, "SCH",
                        1, field, 0, 3)) != CC_OK ||
        (rc = siu__copy(id->uid_type, sizeof(id->uid_type), hl7_get(m, "SCH", 1, field, 1, 4, 1),
                        err, "SCH", 1, field, 0, 4)) != CC_OK)
        return rc;
    return CC_OK;
}

static bool empty(cc_str v)
{
    return !v.p || v.n == 0 || (v.n == 2 && memcmp(v.p, "\"\"", 2) == 0);
}

/* A duration: quantity in units (CE identifier: s, min, h, d, wk; minutes when empty). */
static bool duration_ms(cc_str qty, cc_str unit, int64_t *ms)
{
    if (empty(qty) || qty.n > 6)
        return false;
    int64_t q = 0;
    for (size_t i = 0; i < qty.n; i++) {
        if (qty.p[i] < '0' || qty.p[i] > '9')
            return false;
        q = q * 10 + (qty.p[i] - '0');
    }
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"s", 1000},       {"sec", 1000},   {"S", 1000},     {"min", 60000},
                 {"m", 60000},      {"M", 60000},    {"MIN", 60000},  {"h", 3600000},
                 {"hr", 3600000},   {"H", 3600000},  {"d", 86400000}, {"D", 86400000},
                 {"wk", 604800000}, {"W", 604800000}};
    int64_t per = 60000;
    if (!empty(unit)) {
        per = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (unit.n == strlen(units[i].name) && memcmp(unit.p, units[i].name, unit.n) == 0)
                per = units[i].ms;
        if (!per)
            return false;
    }
    *ms = q * per;
    return true;
}

/* TQ-3 duration: "M30", "H1", "S90", "D1" or bare minutes. */
static bool tq_duration_ms(cc_str v, int64_t *ms)
{
    if (empty(v))
        return false;
    if (v.p[0] >= '0' && v.p[0] <= '9')
        return duration_ms(v, (cc_str){NULL, 0}, ms);
    return duration_ms((cc_str){v.p + 1, v.n - 1}, (cc_str){v.p, 1}, ms);
}

typedef struct {
    const char *seg;
    int seq, field, comp, sub;
} where;

/* Parses the time at w into *ms when present; *found says if it was. */
static int read_time(const hl7_msg *m, where w, const interop_siu_opts *o, int64_t *ms, bool *found,
                     hl7_error *err)
{
    cc_str v = hl7_get(m, w.seg, w.seq, w.field, 1, w.comp, w.sub);
    *found = false;
    if (empty(v))
        return CC_OK;
    char why[120];
    if (hl7_dtm_parse(v.p, v.n, o->local_offset_min, 12, ms, why, sizeof(why)) != CC_OK) {
        hl7__err(err, HL7_ERRK_CONTENT, HL7_E_DATA_TYPE, w.seg, w.seq, w.field, 0, w.comp, 0,
                 "%s-%d: %s (a time to the minute at least)", w.seg, w.field, why);
        return CC_ERR_INVALID;
    }
    *found = true;
    return CC_OK;
}

/* Start and end: TQ1-7/TQ1-8 (v2.5), SCH-11.4/.5 (TQ, before), or AIS-4 / AIP-6 for the start;
 * a missing end comes from a duration (SCH-9/10, TQ1-13, SCH-11.3, AIS-7/8, AIP-8/9). */
static int read_times(const hl7_msg *m, const interop_siu_opts *o, interop_booking *b,
                      hl7_error *err)
{
    int rc;
    where starts[2] = {{"TQ1", 1, 7, 1, 1}, {"SCH", 1, 11, 4, 1}};
    where ends[2] = {{"TQ1", 1, 8, 1, 1}, {"SCH", 1, 11, 5, 1}};
    for (int i = 0; i < 2 && !b->has_start; i++) {
        if ((rc = read_time(m, starts[i], o, &b->start_ms, &b->has_start, err)) != CC_OK)
            return rc;
        if (b->has_start && (rc = read_time(m, ends[i], o, &b->end_ms, &b->has_end, err)) != CC_OK)
            return rc;
    }
    size_t nais = hl7_segment_count_of(m, "AIS"), naip = hl7_segment_count_of(m, "AIP");
    for (size_t i = 1; i <= nais && !b->has_start; i++)
        if ((rc = read_time(m, (where){"AIS", (int)i, 4, 1, 1}, o, &b->start_ms, &b->has_start,
                            err)) != CC_OK)
            return rc;
    for (size_t i = 1; i <= naip && !b->has_start; i++)
        if ((rc = read_time(m, (where){"AIP", (int)i, 6, 1, 1}, o, &b->start_ms, &b->has_start,
                            err)) != CC_OK)
            return rc;
    if (b->has_start && !b->has_end) {
        int64_t d = 0;
        bool ok =
            duration_ms(hl7_get(m, "SCH", 1, 9, 1, 1, 1), hl7_get(m, "SCH", 1, 10, 1, 1, 1), &d) ||
            duration_ms(hl7_get(m, "TQ1", 1, 13, 1, 1, 1), hl7_get(m, "TQ1", 1, 13, 1, 2, 1), &d) ||
            tq_duration_ms(hl7_get(m, "SCH", 1, 11, 1, 3, 1), &d);
        for (size_t i = 1; i <= nais && !ok; i++)
            ok = duration_ms(hl7_get(m, "AIS", (int)i, 7, 1, 1, 1),
                             hl7_get(m, "AIS", (int)i, 8, 1, 1, 1), &d);
        for (size_t i = 1; i <= naip && !ok; i++)
            ok = duration_ms(hl7_get(m, "AIP", (int)i, 8, 1, 1, 1),
                             hl7_get(m, "AIP", (int)i, 9, 1, 1, 1), &d);
        if (ok && d > 0) {
            b->end_ms = b->start_ms + d;
            b->has_end = true;
        }
    }
    if (b->has_start && b->has_end && b->end_ms < b->start_ms)
        return siu__fail(err, HL7_ERRK_CONTENT, HL7_E_DATA_TYPE, "SCH", 1, 11, 0, 0,
                         "the appointment ends before it starts");
    /* A booking or a new time needs a start; a cancellation need not repeat it. */
    if (!b->has_start && (b->event == INTEROP_SIU_S12 || b->event == INTEROP_SIU_S13))
        return siu__fail(err, HL7_ERRK_CONTENT, HL7_E_REQUIRED_MISSING,
                         hl7_segment_count_of(m, "TQ1") ? "TQ1" : "SCH", 1,
                         hl7_segment_count_of(m, "TQ1") ? 7 : 11, 0, 0,
                         "no appointment start (TQ1-7, SCH-11.4, AIS-4 or AIP-6)");
    return CC_OK;
}

static int read_status(const hl7_msg *m, interop_booking *b, hl7_error *err)
{
    int rc = siu__copy(b->filler_status, sizeof(b->filler_status),
                       hl7_get(m, "SCH", 1, 25, 1, 1, 1), err, "SCH", 1, 25, 0, 1);
    if (rc != CC_OK)
        return rc;
    /* Unknown codes are kept in filler_status and the event decides. */
    b->status = INTEROP_APPT_BOOKED;
    if (b->filler_status[0])
        status_of_0278(b->filler_status, &b->status);
    if (b->event == INTEROP_SIU_S15)
        b->status = INTEROP_APPT_CANCELLED;
    else if (b->event == INTEROP_SIU_S26)
        b->status = INTEROP_APPT_NOSHOW;
    else if (b->event == INTEROP_SIU_S17)
        b->status = INTEROP_APPT_ENTERED_IN_ERROR;
    return CC_OK;
}

static bool code_listed(const char *codes, cc_str v)
{
    if (empty(v))
        return false;
    for (const char *p = codes; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if (t > p && (size_t)(t - p) == v.n && strncasecmp(v.p, p, v.n) == 0)
            return true;
        p = e;
    }
    return false;
}

bool interop_siu_is_teleconsultation(const hl7_msg *m, const char *codes)
{
    if (!codes)
        codes = TLC_DEFAULT;
    static const struct {
        const char *seg;
        int field;
    } where_[] = {{"SCH", 7}, {"SCH", 8}, {"AIS", 3}, {"AIL", 3}};
    for (size_t w = 0; w < sizeof(where_) / sizeof(where_[0]); w++) {
        size_t nseg = hl7_segment_count_of(m, where_[w].seg);
        for (size_t s = 1; s <= nseg; s++) {
            size_t nrep = hl7_rep_count(m, where_[w].seg, (int)s, where_[w].field);
            for (size_t r = 1; r <= nrep; r++)
                if (code_listed(codes,
                                hl7_get(m, where_[w].seg, (int)s, where_[w].field, (int)r, 1, 1)))
                    return true;
        }
    }
    return false;
}

/* Every AIP-3 repetition (XCN) of the AIP segments not marked deleted (AIP-2 = D). */
static int read_practitioners(const hl7_msg *m, interop_booking *b, hl7_error *err)
{
    size_t naip = hl7_segment_count_of(m, "AIP");
    for (size_t i = 1; i <= naip; i++) {
        int s = (int)i;
        cc_str action = hl7_get(m, "AIP", s, 2, 1, 1, 1);
        if (action.p && hl7__ieq(action.p, action.n, "D"))
            continue;
        size_t nrep = hl7_rep_count(m, "AIP", s, 3);
        for (size_t r = 1; r <= nrep; r++) {
            int rep = (int)r;
            if (empty(hl7_get(m, "AIP", s, 3, rep, 1, 1)) &&
                empty(hl7_get(m, "AIP", s, 3, rep, 2, 1)))
                continue;
            if (b->n_practitioners == INTEROP_MAX_PRACTITIONERS)
                return siu__fail(err, HL7_ERRK_CONTENT, HL7_E_DATA_TYPE, "AIP", s, 3, rep, 0,
                                 "more practitioners than accepted (16)");
            interop_practitioner *p = &b->practitioners[b->n_practitioners];
            memset(p, 0, sizeof(*p));
            int rc = siu__xcn(m, "AIP", s, 3, rep, p, err);
            if (rc != CC_OK)
                return rc;
            b->n_practitioners++;
        }
    }
    return CC_OK;
}

int interop_siu_map(const hl7_msg *m, const interop_siu_opts *o, interop_booking *out,
                    hl7_error *err)
{
    static const interop_siu_opts defaults = {0, NULL};
    if (!o)
        o = &defaults;
    memset(out, 0, sizeof(*out));
    out->patient.ins_index = -1;
    hl7__err(err, HL7_ERRK_NONE, 0, NULL, 0, 0, 0, 0, 0, "%s", "");
    int rc;
    if ((rc = read_event(m, out, err)) != CC_OK || (rc = read_version(m, out, err)) != CC_OK ||
        (rc = siu__copy(out->control_id, sizeof(out->control_id), hl7_get(m, "MSH", 1, 10, 1, 1, 1),
                        err, "MSH", 1, 10, 0, 0)) != CC_OK)
        return rc;
    if (hl7_segment_count_of(m, "SCH") == 0)
        return siu__fail(err, HL7_ERRK_CONTENT, HL7_E_SEGMENT_SEQUENCE, "SCH", 1, 0, 0, 0,
                         "no SCH segment");
    if ((rc = read_ei(m, 1, &out->placer, err)) != CC_OK ||
        (rc = read_ei(m, 2, &out->filler, err)) != CC_OK)
        return rc;
    if (!out->placer.id[0] && !out->filler.id[0])
        return siu__fail(err, HL7_ERRK_CONTENT, HL7_E_REQUIRED_MISSING, "SCH", 1, 1, 0, 0,
                         "SCH-1 and SCH-2: neither the placer nor the filler appointment id");
    if ((rc = read_times(m, o, out, err)) != CC_OK || (rc = read_status(m, out, err)) != CC_OK ||
        (rc = read_practitioners(m, out, err)) != CC_OK ||
        (rc = siu__patient(m, &out->patient, err)) != CC_OK)
        return rc;
    out->teleconsultation = interop_siu_is_teleconsultation(m, o->tlc_codes);
    bool active = out->event == INTEROP_SIU_S12 || out->event == INTEROP_SIU_S13 ||
                  out->event == INTEROP_SIU_S14;
    if (out->teleconsultation && active && !out->patient.email[0] && !out->patient.mobile[0])
        return siu__fail(err, HL7_ERRK_CONTENT, HL7_E_REQUIRED_MISSING, "PID", 1, 13, 0, 0,
                         "a teleconsultation needs the patient's e-mail (PID-13 ^NET^Internet^) "
                         "or mobile number");
    return CC_OK;
}
