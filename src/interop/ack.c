/* ack: the acknowledgement of an HL7 v2 message (original mode), built from whatever its MSH
 * lets us read, so that even a broken message gets an answer its sender can match (MSA-2). */
#include "interop/interop_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *code_text(int code)
{
    switch (code) {
    case 0:
        return "Message accepted";
    case HL7_E_SEGMENT_SEQUENCE:
        return "Segment sequence error";
    case HL7_E_REQUIRED_MISSING:
        return "Required field missing";
    case HL7_E_DATA_TYPE:
        return "Data type error";
    case HL7_E_TABLE_VALUE:
        return "Table value not found";
    case HL7_E_UNSUPPORTED_TYPE:
        return "Unsupported message type";
    case HL7_E_UNSUPPORTED_EVENT:
        return "Unsupported event code";
    case HL7_E_UNSUPPORTED_PROCESSING_ID:
        return "Unsupported processing id";
    case HL7_E_UNSUPPORTED_VERSION:
        return "Unsupported version id";
    default:
        return "Application internal error";
    }
}

/* Versions before 2.5 read the error location from ERR-1. */
static bool before_2_5(const hl7_msg *m)
{
    cc_str v = hl7_get(m, "MSH", 1, 12, 1, 1, 1);
    if (!v.p || v.n < 3 || v.p[0] != '2' || v.p[1] != '.')
        return false;
    return v.p[2] >= '0' && v.p[2] <= '4' && (v.n == 3 || v.p[3] == '.');
}

static void copy_field(hl7_writer *w, const hl7_msg *m, int f)
{
    hl7_w_field(w);
    if (m)
        hl7__write_field(w, m, 0, f);
}

static void put_int(hl7_writer *w, int v)
{
    char s[16];
    if (v > 0) {
        snprintf(s, sizeof(s), "%d", v);
        hl7_w_text(w, s, strlen(s));
    }
}

static void write_err(hl7_writer *w, const hl7_error *e, bool old)
{
    char code[8];
    snprintf(code, sizeof(code), "%d", e->code ? e->code : HL7_E_INTERNAL);
    const char *text = code_text(e->code);
    hl7_w_segment(w, "ERR");
    hl7_w_field(w); /* ERR-1: error code and location (ELD), before 2.5 */
    if (old && e->seg[0]) {
        hl7_w_text(w, e->seg, strlen(e->seg));
        hl7_w_comp(w);
        put_int(w, e->seg_seq);
        hl7_w_comp(w);
        put_int(w, e->field);
        hl7_w_comp(w);
        hl7_w_text(w, code, strlen(code));
        hl7_w_sub(w);
        hl7_w_text(w, text, strlen(text));
        hl7_w_sub(w);
        hl7_w_text(w, "HL70357", 7);
    }
    hl7_w_field(w); /* ERR-2: error location (ERL) */
    if (e->seg[0]) {
        int v[5] = {e->seg_seq, e->field, e->rep, e->comp, e->sub};
        int last = 0;
        for (int i = 0; i < 5; i++)
            if (v[i])
                last = i + 1;
        hl7_w_text(w, e->seg, strlen(e->seg));
        for (int i = 0; i < last; i++) {
            hl7_w_comp(w);
            put_int(w, v[i]);
        }
    }
    hl7_w_field(w); /* ERR-3: HL7 error code (CWE, table 0357) */
    hl7_w_text(w, code, strlen(code));
    hl7_w_comp(w);
    hl7_w_text(w, text, strlen(text));
    hl7_w_comp(w);
    hl7_w_text(w, "HL70357", 7);
    hl7_w_field_str(w, "E");       /* ERR-4: severity */
    hl7_w_field(w);                /* ERR-5 application error code */
    hl7_w_field(w);                /* ERR-6 application error parameter */
    hl7_w_field(w);                /* ERR-7 diagnostic information */
    hl7_w_field_str(w, e->reason); /* ERR-8: user message */
}

int hl7_ack_build(const char *data, size_t n, const hl7_ack_opts *o, cc_buf *out)
{
    if (!o || !o->code || !o->control_id)
        return CC_ERR_INVALID;
    hl7_limits lim = hl7_limits_default;
    hl7__parse_opts po = {.lim = &lim, .lenient = true, .header_only = true};
    hl7_msg *m = NULL;
    hl7_error perr;
    int rc = hl7__parse(data ? data : "", data ? n : 0, &po, &m, &perr);
    if (rc == CC_ERR_NOMEM)
        return rc;
    /* Answer in the sender's encoding when it is complete, else in the usual one. */
    hl7_enc enc = hl7_enc_default;
    hl7_charset cs = HL7_CS_ASCII;
    if (m) {
        hl7_enc me = hl7_msg_enc(m);
        if (me.comp && me.rep && me.esc && me.sub)
            enc = me;
        cs = hl7_msg_charset(m);
    }
    char ts[32] = "";
    time_t secs = (time_t)(o->now_ms / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm))
        strftime(ts, sizeof(ts), "%Y%m%d%H%M%S+0000", &tm);

    size_t start = out->len;
    hl7_writer w;
    hl7_w_init(&w, out, &enc, cs);
    hl7_w_segment(&w, "MSH");
    cc_str recv_app = hl7_get(m, "MSH", 1, 5, 1, 1, 1);
    if (m && recv_app.n) {
        copy_field(&w, m, 5); /* MSH-3 <- MSH-5 */
    } else {
        hl7_w_field_str(&w, o->sending_app);
    }
    copy_field(&w, m, 6); /* MSH-4 <- MSH-6 */
    copy_field(&w, m, 3); /* MSH-5 <- MSH-3 */
    copy_field(&w, m, 4); /* MSH-6 <- MSH-4 */
    hl7_w_field_str(&w, ts);
    hl7_w_field(&w); /* MSH-8 security */
    hl7_w_field_str(&w, "ACK");
    hl7_w_comp(&w);
    cc_str trig = hl7_get(m, "MSH", 1, 9, 1, 2, 1);
    if (trig.p)
        hl7_w_text(&w, trig.p, trig.n);
    hl7_w_comp(&w);
    hl7_w_text(&w, "ACK", 3);
    hl7_w_field_str(&w, o->control_id);
    copy_field(&w, m, 11);
    copy_field(&w, m, 12);
    if (cs != HL7_CS_ASCII) {
        for (int f = 13; f <= 18; f++)
            hl7_w_field(&w);
        const char *name = hl7__charset_name(cs);
        hl7_w_text(&w, name, strlen(name));
    }

    bool has_err = o->err && o->err->kind != HL7_ERRK_NONE;
    hl7_w_segment(&w, "MSA");
    hl7_w_field_str(&w, o->code);
    copy_field(&w, m, 10);
    if (has_err)
        hl7_w_field_str(&w, o->err->reason); /* MSA-3, read by partners before 2.5 */
    if (has_err)
        write_err(&w, o->err, before_2_5(m));
    rc = hl7_w_finish(&w);
    hl7_msg_free(&m);
    if (rc != CC_OK && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}
