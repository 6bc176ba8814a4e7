/* Fuzz target: HL7 v2 parsing, SIU mapping and ACK building on any bytes. What must hold: no
 * crash or leak; a parsed message written out and parsed again writes out the same; a mapping
 * either succeeds with bounded strings or says where and why it failed; and the ACK of anything,
 * even garbage, is itself a message that parses and carries MSA-1. */
#include "interop/interop.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap)
        __builtin_trap();
}

static void check_booking(const interop_booking *b)
{
    check_string(b->control_id, sizeof(b->control_id));
    check_string(b->placer.id, sizeof(b->placer.id));
    check_string(b->filler.id, sizeof(b->filler.id));
    check_string(b->patient.email, sizeof(b->patient.email));
    check_string(b->patient.mobile, sizeof(b->patient.mobile));
    check_string(b->patient.birth_date, sizeof(b->patient.birth_date));
    if (!b->placer.id[0] && !b->filler.id[0])
        __builtin_trap();
    if (b->has_end && !b->has_start)
        __builtin_trap();
    if (b->n_practitioners > INTEROP_MAX_PRACTITIONERS ||
        b->patient.n_ids > INTEROP_MAX_PATIENT_IDS)
        __builtin_trap();
    if (b->patient.ins_index >= (int)b->patient.n_ids)
        __builtin_trap();
    if (!interop_appt_status_code(b->status))
        __builtin_trap();
}

static void round_trip(const hl7_msg *m)
{
    cc_buf a = {0}, b = {0};
    hl7_msg *m2 = NULL;
    hl7_error err;
    if (hl7_msg_write(m, &a) != CC_OK)
        goto out; /* only possible when the encoding has no escape character */
    hl7_limits big = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
    if (hl7_msg_parse(a.data, a.len, &big, &m2, &err) != CC_OK)
        __builtin_trap();
    if (hl7_msg_write(m2, &b) != CC_OK || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        __builtin_trap();
    if (hl7_segment_count(m2) != hl7_segment_count(m))
        __builtin_trap();
out:
    hl7_msg_free(&m2);
    cc_buf_free(&a);
    cc_buf_free(&b);
}

static void check_ack(const uint8_t *data, size_t size, const hl7_error *err)
{
    cc_buf out = {0};
    hl7_ack_opts o = {.code = err->kind == HL7_ERRK_NONE ? "AA" : "AE",
                      .control_id = "ACK|1^",
                      .now_ms = 1796131800000LL,
                      .sending_app = "CARECOMM",
                      .err = err};
    if (hl7_ack_build((const char *)data, size, &o, &out) != CC_OK)
        __builtin_trap();
    hl7_msg *a = NULL;
    hl7_error aerr;
    hl7_limits big = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
    if (hl7_msg_parse(out.data, out.len, &big, &a, &aerr) != CC_OK)
        __builtin_trap();
    cc_str code = hl7_get(a, "MSA", 1, 1, 1, 1, 1);
    cc_str id = hl7_get(a, "MSH", 1, 10, 1, 1, 1);
    if (!code.p || strcmp(code.p, o.code) != 0 || !id.p || strcmp(id.p, "ACK|1^") != 0)
        __builtin_trap();
    hl7_msg_free(&a);
    cc_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t start = cc_mem_live_bytes();
    hl7_msg *m = NULL;
    hl7_error err;
    hl7_limits lim = {64 * 1024, 200, 64};
    int rc = hl7_msg_parse((const char *)data, size, &lim, &m, &err);
    if (rc == CC_OK) {
        round_trip(m);
        interop_booking b;
        interop_siu_opts o = {.local_offset_min = 60, .tlc_codes = "TLC,visio"};
        rc = interop_siu_map(m, &o, &b, &err);
        if (rc == CC_OK)
            check_booking(&b);
        hl7_msg_free(&m);
    }
    if (rc != CC_OK && (err.kind == HL7_ERRK_NONE || err.reason[0] == '\0'))
        __builtin_trap();
    check_ack(data, size, &err);
    if (cc_mem_live_bytes() != start)
        __builtin_trap(); /* a leak */
    return 0;
}
