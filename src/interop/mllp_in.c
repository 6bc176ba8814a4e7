/* interop/mllp_in: HL7 v2 bookings over MLLP, end to end. A message is parsed and mapped on the
 * loop (pure and fast), applied by a store-worker job that also remembers its MSH-10, and
 * acknowledged once that job's group has committed: AA means durably applied. A message sent
 * again with the same MSH-10 (an engine that lost our ACK) gets the same answer and is not
 * applied twice. */
#include "interop/interop.h"
#include "interop/interop_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One message on its way through the worker. Owns everything it points to. */
typedef struct {
    interop_svc *svc;
    net_mllp_msg *m;
    char *raw; /* the message, for its ACK */
    size_t raw_len;
    char sender[200];     /* MSH-3^MSH-4 */
    char control_id[200]; /* MSH-10 */
    care_booking booking;
    /* results, set by the job */
    bool seen_before;
    char seen_code[3];
    char seen_error[200];
    care_result res;
} mllp_job;

static const char *svc_code(const interop_svc *s, hl7_err_kind k)
{
    switch (k) {
    case HL7_ERRK_CONTENT:
        return s->ack_content;
    case HL7_ERRK_UNSUPPORTED:
        return s->ack_unsupported;
    default:
        return s->ack_unprocessable;
    }
}

/* Answers with an ACK of the given code and error (NULL for none). */
static void svc_answer(interop_svc *s, net_mllp_msg *m, const char *raw, size_t n, const char *code,
                       const hl7_error *err)
{
    cc_buf out = {0};
    char *control = cc_random_token(12); /* 16 characters: MSH-10 is at most 20 */
    hl7_ack_opts o = {.code = code,
                      .control_id = control ? control : "0",
                      .now_ms = cc_now_ms(),
                      .sending_app = "CARECOMM",
                      .err = err};
    if (hl7_ack_build(raw, n, &o, &out) != CC_OK) {
        /* Not even an ACK could be built from it: say so in the plainest ACK there is. */
        out.len = 0;
        cc_buf_appendf(&out, "MSH|^~\\&|CARECOMM||||||ACK|%s|P|2.5\rMSA|AR|\r",
                       control ? control : "0");
    }
    cc_free(&control);
    if (strcmp(code, "AA") == 0)
        s->stats.accepted++;
    else
        s->stats.refused++;
    net_mllp_reply(m, out.data ? out.data : "", out.len);
    cc_buf_free(&out);
}

/* ---- the mapping to a booking -------------------------------------------------------------- */

static care_action svc_action(interop_siu_event e)
{
    switch (e) {
    case INTEROP_SIU_S13:
        return CARE_RESCHEDULE;
    case INTEROP_SIU_S14:
        return CARE_MODIFY;
    case INTEROP_SIU_S15:
        return CARE_CANCEL;
    case INTEROP_SIU_S17:
        return CARE_DELETE;
    case INTEROP_SIU_S26:
        return CARE_NOSHOW;
    default:
        return CARE_BOOK;
    }
}

static void svc_ident(care_ident *out, const char *kind, const interop_ident *id)
{
    const char *authority = id->uid[0] ? id->uid : id->ns;
    snprintf(out->system, sizeof out->system, "%s%s%s", kind ? kind : "", kind ? ":" : "",
             authority);
    snprintf(out->value, sizeof out->value, "%s", id->id);
}

void interop__booking_from_siu(const interop_booking *in, int64_t msg_ts, care_booking *b)
{
    memset(b, 0, sizeof *b);
    b->action = svc_action(in->event);
    b->msg_ts = msg_ts;
    if (in->placer.id[0])
        svc_ident(&b->ids[b->nids++], "placer", &in->placer);
    if (in->filler.id[0])
        svc_ident(&b->ids[b->nids++], "filler", &in->filler);
    if (in->filler_status[0])
        snprintf(b->status, sizeof b->status, "%s", interop_appt_status_code(in->status));
    b->start_ms = in->has_start ? in->start_ms : 0;
    b->end_ms = in->has_end ? in->end_ms : 0;
    for (size_t i = 0; i < in->n_practitioners && b->nprac < CARE_MAX_IDS; i++)
        if (in->practitioners[i].ident.id[0])
            snprintf(b->practitioner_idents[b->nprac++], CARE_ID_MAX, "%s",
                     in->practitioners[i].ident.id);
    b->teleconsult = in->teleconsultation;
    const interop_patient *p = &in->patient;
    snprintf(b->patient.family, sizeof b->patient.family, "%s", p->family);
    snprintf(b->patient.given, sizeof b->patient.given, "%s", p->given);
    snprintf(b->patient.birth, sizeof b->patient.birth, "%s", p->birth_date);
    snprintf(b->patient.email, sizeof b->patient.email, "%s", p->email);
    snprintf(b->patient.mobile, sizeof b->patient.mobile, "%s",
             p->mobile[0] ? p->mobile : p->phone);
    for (size_t i = 0; i < p->n_ids && b->patient.nids < CARE_MAX_IDS; i++)
        svc_ident(&b->patient.ids[b->patient.nids++], NULL, &p->ids[i]);
}

/* Where a refused booking is wrong, as HL7 sees it. */
static void svc_care_error(const care_result *r, hl7_error *e)
{
    memset(e, 0, sizeof *e);
    e->kind = HL7_ERRK_CONTENT;
    e->code = HL7_E_REQUIRED_MISSING;
    e->seg_seq = 1;
    switch (r->field) {
    case CARE_FIELD_PRACTITIONER:
        snprintf(e->seg, sizeof e->seg, "AIP");
        e->field = 3;
        e->code = HL7_E_TABLE_VALUE;
        break;
    case CARE_FIELD_CONTACT:
        snprintf(e->seg, sizeof e->seg, "PID");
        e->field = 13;
        break;
    case CARE_FIELD_TIME:
        snprintf(e->seg, sizeof e->seg, "SCH");
        e->field = 11;
        break;
    default:
        snprintf(e->seg, sizeof e->seg, "SCH");
        e->field = 1;
        break;
    }
    snprintf(e->reason, sizeof e->reason, "%s", r->reason);
}

/* ---- the job ------------------------------------------------------------------------------- */

static int svc_seen_row(void *ud, const store_row *r)
{
    mllp_job *j = ud;
    j->seen_before = true;
    snprintf(j->seen_code, sizeof j->seen_code, "%s", store_row_text(r, 0));
    snprintf(j->seen_error, sizeof j->seen_error, "%s",
             store_row_is_null(r, 1) ? "" : store_row_text(r, 1));
    return 1;
}

static int svc_job(store *st, void *ctx)
{
    mllp_job *j = ctx;
    store_val k[] = {SV_TEXT(j->sender), SV_TEXT(j->control_id)};
    int rc = store_query(st,
                         "SELECT code, error FROM care_hl7_seen WHERE sender = ? AND "
                         "control_id = ?",
                         k, 2, svc_seen_row, j);
    if (rc != CC_OK || j->seen_before)
        return rc;
    char actor[220];
    snprintf(actor, sizeof actor, "hl7:%s", j->sender);
    if ((rc = store_savepoint(st, "booking")) != CC_OK)
        return rc;
    rc = care_apply_booking(st, j->svc->keys, &j->booking, &j->svc->policy, actor, cc_now_ms(),
                            &j->res);
    if (rc == CC_ERR_INVALID) {
        if ((rc = store_rollback_to(st, "booking")) != CC_OK)
            return rc;
        rc = CC_ERR_INVALID;
    } else if (rc != CC_OK) {
        return rc;
    }
    bool refused = rc == CC_ERR_INVALID;
    if ((rc = store_release(st, "booking")) != CC_OK)
        return rc;
    /* Refusals are remembered too: the same message sent again gets the same answer. */
    store_val p[] = {SV_TEXT(j->sender), SV_TEXT(j->control_id), SV_TEXT(refused ? "AE" : "AA"),
                     refused ? SV_TEXT(j->res.reason) : SV_NULL, SV_INT(cc_now_ms())};
    rc = store_exec(st,
                    "INSERT INTO care_hl7_seen(sender, control_id, code, error, at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    p, 5, NULL);
    if (rc == CC_OK && refused)
        j->res.field = j->res.field ? j->res.field : CARE_FIELD_ID;
    return rc;
}

static void svc_job_free(mllp_job *j)
{
    cc_free(&j->raw);
    cc_free_ptr(j);
}

static void svc_job_done(void *ctx, int rc)
{
    mllp_job *j = ctx;
    interop_svc *s = j->svc;
    s->pending--;
    if (rc != CC_OK) {
        /* Not applied (store failure, shutdown): AR says "send it again later". */
        hl7_error e = {.kind = HL7_ERRK_UNPROCESSABLE, .code = HL7_E_INTERNAL};
        snprintf(e.reason, sizeof e.reason, "the booking could not be stored; send it again");
        svc_answer(s, j->m, j->raw, j->raw_len, "AR", &e);
    } else if (j->seen_before) {
        s->stats.duplicates++;
        hl7_error e = {.kind = HL7_ERRK_CONTENT, .code = HL7_E_REQUIRED_MISSING};
        snprintf(e.reason, sizeof e.reason, "%s", j->seen_error);
        bool ok = strcmp(j->seen_code, "AA") == 0;
        svc_answer(s, j->m, j->raw, j->raw_len, ok ? "AA" : svc_code(s, HL7_ERRK_CONTENT),
                   ok ? NULL : &e);
    } else if (j->res.field != CARE_FIELD_NONE) {
        hl7_error e;
        svc_care_error(&j->res, &e);
        svc_answer(s, j->m, j->raw, j->raw_len, svc_code(s, HL7_ERRK_CONTENT), &e);
    } else {
        if (j->res.outcome == CARE_IGNORED)
            s->stats.ignored++;
        svc_answer(s, j->m, j->raw, j->raw_len, "AA", NULL);
    }
    svc_job_free(j);
}

/* ---- a message arrives --------------------------------------------------------------------- */

static void svc_copy_field(const hl7_msg *h, int field, char *out, size_t outlen)
{
    cc_str v = hl7_get(h, "MSH", 1, field, 1, 1, 1);
    snprintf(out, outlen, "%.*s", v.p ? (int)v.n : 0, v.p ? v.p : "");
}

/* Whether the message says what kind of appointment it is (where the teleconsultation codes
 * are looked for): a short S14 or S15 often does not. */
static bool svc_type_present(const hl7_msg *h)
{
    static const struct {
        const char *seg;
        int field;
    } where[] = {{"SCH", 7}, {"SCH", 8}, {"AIS", 3}, {"AIL", 3}};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        size_t nseg = hl7_segment_count_of(h, where[i].seg);
        for (size_t k = 1; k <= nseg; k++) {
            cc_str v = hl7_get(h, where[i].seg, (int)k, where[i].field, 1, 1, 1);
            if (v.p && v.n)
                return true;
        }
    }
    return false;
}

void interop__on_mllp_message(void *ud, net_mllp_msg *m, const char *data, size_t n, bool oversize)
{
    interop_svc *s = ud;
    hl7_error err;
    hl7_msg *h = NULL;
    interop_booking *in = NULL;
    mllp_job *j = NULL;
    memset(&err, 0, sizeof err);
    if (oversize) {
        err.kind = HL7_ERRK_UNPROCESSABLE;
        err.code = HL7_E_INTERNAL;
        snprintf(err.reason, sizeof err.reason, "message over %zu bytes", s->max_message);
        goto refuse;
    }
    hl7_limits lim = hl7_limits_default;
    lim.max_bytes = s->max_message;
    if (hl7_msg_parse(data, n, &lim, &h, &err) != CC_OK)
        goto refuse;
    in = cc_calloc(1, sizeof *in);
    j = cc_calloc(1, sizeof *j);
    if (!in || !j || !(j->raw = cc_strndup(data, n))) {
        err.kind = HL7_ERRK_UNPROCESSABLE;
        err.code = HL7_E_INTERNAL;
        snprintf(err.reason, sizeof err.reason, "out of memory");
        goto refuse;
    }
    interop_siu_opts o = {.local_offset_min = s->utc_offset_min, .tlc_codes = s->tlc_codes};
    if (interop_siu_map(h, &o, in, &err) != CC_OK)
        goto refuse;
    char app[96], fac[96];
    svc_copy_field(h, 3, app, sizeof app);
    svc_copy_field(h, 4, fac, sizeof fac);
    snprintf(j->sender, sizeof j->sender, "%s^%s", app, fac);
    snprintf(j->control_id, sizeof j->control_id, "%s", in->control_id);
    int64_t msg_ts = cc_now_ms();
    cc_str t = hl7_get(h, "MSH", 1, 7, 1, 1, 1);
    if (t.p && t.n)
        hl7_dtm_parse(t.p, t.n, s->utc_offset_min, 8, &msg_ts, NULL, 0);
    interop__booking_from_siu(in, msg_ts, &j->booking);
    j->booking.type_unknown = !svc_type_present(h);
    j->svc = s;
    j->m = m;
    j->raw_len = n;
    if (!s->worker || store_worker_submit(s->worker, svc_job, svc_job_done, j) != CC_OK) {
        err.kind = HL7_ERRK_UNPROCESSABLE;
        err.code = HL7_E_INTERNAL;
        snprintf(err.reason, sizeof err.reason, "the server is stopping; send it again");
        goto refuse;
    }
    s->pending++;
    cc_free_ptr(in);
    hl7_msg_free(&h);
    return;
refuse:
    svc_answer(s, m, data, n, svc_code(s, err.kind), &err);
    if (j)
        svc_job_free(j);
    cc_free_ptr(in);
    hl7_msg_free(&h);
}
