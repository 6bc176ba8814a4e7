/* Unit tests of interop's HL7 v2 syntax: parsing with any encoding characters and character set,
 * escapes both ways, limits and broken input, error locations, date/times, ACKs and the MLLP
 * framer. */
#include "interop/interop.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/* ---- helpers -------------------------------------------------------------------------------- */

static const char *v_(cc_str v)
{
    return v.p ? v.p : "(absent)";
}
#define GET(m, seg, seq, f, r, c, s) v_(hl7_get((m), (seg), (seq), (f), (r), (c), (s)))

static hl7_msg *parse_ok(const char *text)
{
    hl7_msg *m = NULL;
    hl7_error err;
    int rc = hl7_msg_parse(text, strlen(text), NULL, &m, &err);
    if (rc != CC_OK)
        fail_msg("parse failed: %s (%s)", cc_strerror(rc), err.reason);
    return m;
}

static const char *loc(const hl7_error *e)
{
    static char out[64];
    hl7_error_location(e, out, sizeof(out));
    return out;
}

#define ADT_HEAD "MSH|^~\\&|DXCARE|CHU-NANTES|CARECOMM|CHU-NANTES|20261122093000+0100||"

static const char *msg_fr =
    "MSH|^~\\&|DXCARE|CHU-NANTES|CARECOMM|CHU-NANTES|20261122093000+0100||SIU^S12^SIU_S12|"
    "MSG00042|P|2.5^FRA^2.10|||||FRA|UNICODE UTF-8\r"
    "SCH|RDV123^DXCARE|F456^CARECOMM|||||CONSULT^Consultation^L|TLC^Téléconsultation^L|||||||||||"
    "||||||Booked\r"
    "PID|1||184127645108946^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~123456^^^CHU-NANTES&"
    "1.2.250.1.71.4.2.7&ISO^PI||DUPONT^Hélène^^^^^D||19841231|F|||||^NET^Internet^helene.dupont@"
    "example.fr\r";

/* ---- parsing -------------------------------------------------------------------------------- */

static void test_parse_access(void **state)
{
    (void)state;
    hl7_msg *m = parse_ok(msg_fr);
    assert_int_equal(hl7_segment_count(m), 3);
    assert_string_equal(hl7_segment_id(m, 2), "PID");
    assert_null(hl7_segment_id(m, 3));
    /* MSH-1 is the field separator, MSH-2 the encoding characters, as in the standard. */
    assert_string_equal(GET(m, "MSH", 1, 1, 1, 1, 1), "|");
    assert_string_equal(GET(m, "MSH", 1, 2, 1, 1, 1), "^~\\&");
    assert_string_equal(GET(m, "MSH", 1, 3, 1, 1, 1), "DXCARE");
    assert_string_equal(GET(m, "MSH", 1, 9, 1, 2, 1), "S12");
    assert_string_equal(GET(m, "MSH", 1, 10, 1, 1, 1), "MSG00042");
    assert_string_equal(GET(m, "MSH", 1, 12, 1, 3, 1), "2.10");
    assert_string_equal(GET(m, "MSH", 1, 18, 1, 1, 1), "UNICODE UTF-8");
    /* Repetitions, components and sub-components. */
    assert_int_equal(hl7_rep_count(m, "PID", 1, 3), 2);
    assert_string_equal(GET(m, "PID", 1, 3, 1, 4, 2), "1.2.250.1.213.1.4.8");
    assert_string_equal(GET(m, "PID", 1, 3, 2, 1, 1), "123456");
    assert_string_equal(GET(m, "PID", 1, 3, 2, 5, 1), "PI");
    assert_string_equal(GET(m, "SCH", 1, 8, 1, 2, 1), "Téléconsultation");
    assert_string_equal(GET(m, "SCH", 1, 25, 1, 1, 1), "Booked");
    /* 0 counts as 1; a present empty value is "", an absent one NULL. */
    assert_string_equal(GET(m, "PID", 1, 3, 0, 0, 0), "184127645108946");
    assert_string_equal(GET(m, "PID", 1, 2, 1, 1, 1), "");
    assert_string_equal(GET(m, "PID", 1, 40, 1, 1, 1), "(absent)");
    assert_string_equal(GET(m, "PID", 1, 3, 3, 1, 1), "(absent)");
    assert_string_equal(GET(m, "PID", 2, 1, 1, 1, 1), "(absent)");
    assert_string_equal(GET(m, "ZZZ", 1, 1, 1, 1, 1), "(absent)");
    /* By absolute segment index, for walking segment groups in order. */
    assert_string_equal(v_(hl7_get_at(m, 2, 3, 2, 1, 1)), "123456");
    assert_string_equal(v_(hl7_get_at(m, 0, 9, 1, 1, 1)), "SIU");
    assert_string_equal(v_(hl7_get_at(m, 3, 1, 1, 1, 1)), "(absent)");
    assert_int_equal(hl7_segment_count_of(m, "SCH"), 1);
    assert_int_equal(hl7_segment_count_of(m, "AIP"), 0);
    assert_int_equal(hl7_msg_charset(m), HL7_CS_UTF8);
    hl7_msg_free(&m);
    assert_null(m);
}

static void test_line_endings(void **state)
{
    (void)state;
    const char *lf = ADT_HEAD "SIU^S12|1|P|2.5\nSCH|A\n\nPID|1||X\n";
    const char *crlf = ADT_HEAD "SIU^S12|1|P|2.5\r\nSCH|A\r\nPID|1||X\r\n\r\n";
    const char *none = ADT_HEAD "SIU^S12|1|P|2.5\rSCH|A\rPID|1||X";
    const char *all[] = {lf, crlf, none};
    for (int i = 0; i < 3; i++) {
        hl7_msg *m = parse_ok(all[i]);
        assert_int_equal(hl7_segment_count(m), 3);
        assert_string_equal(GET(m, "MSH", 1, 12, 1, 1, 1), "2.5");
        assert_string_equal(GET(m, "SCH", 1, 1, 1, 1, 1), "A");
        assert_string_equal(GET(m, "PID", 1, 3, 1, 1, 1), "X");
        hl7_msg_free(&m);
    }
}

static void test_custom_encoding(void **state)
{
    (void)state;
    /* '#' as component separator and '*' as field separator, as some senders do. */
    const char *text = "MSH*#~\\&*APP*FAC*CARECOMM*FAC*20261122**SIU#S12*ID7*P*2.5\r"
                       "PID*1**123#^weird#^x&y~456\r";
    hl7_msg *m = parse_ok(text);
    hl7_enc e = hl7_msg_enc(m);
    assert_int_equal(e.field, '*');
    assert_int_equal(e.comp, '#');
    assert_string_equal(GET(m, "MSH", 1, 1, 1, 1, 1), "*");
    assert_string_equal(GET(m, "MSH", 1, 9, 1, 2, 1), "S12");
    /* '^' is plain text here. */
    assert_string_equal(GET(m, "PID", 1, 3, 1, 1, 1), "123");
    assert_string_equal(GET(m, "PID", 1, 3, 1, 2, 1), "^weird");
    assert_string_equal(GET(m, "PID", 1, 3, 1, 3, 2), "y");
    assert_string_equal(GET(m, "PID", 1, 3, 2, 1, 1), "456");
    /* Written back with the same characters, byte for byte. */
    cc_buf b = {0};
    assert_int_equal(hl7_msg_write(m, &b), CC_OK);
    assert_string_equal(b.data, text);
    cc_buf_free(&b);
    hl7_msg_free(&m);

    /* '-' as escape character: "UTF-8" in MSH-18 is written escaped and still read back as the
     * character set (found by fuzz_hl7). */
    m = parse_ok("MSH|^~-&|A-B|F|||||SIU^S12|1|P|2.5|||||FRA|UNICODE UTF-8\rNTE|1||x\r");
    assert_string_equal(GET(m, "MSH", 1, 3, 1, 1, 1), "A-B");
    assert_int_equal(hl7_msg_write(m, &b), CC_OK);
    assert_non_null(strstr(b.data, "|A-E-B|"));
    hl7_msg *m2 = parse_ok(b.data);
    assert_int_equal(hl7_msg_charset(m2), HL7_CS_UTF8);
    assert_string_equal(GET(m2, "MSH", 1, 3, 1, 1, 1), "A-B");
    hl7_msg_free(&m2);
    hl7_msg_free(&m);
    cc_buf_free(&b);
}

static void test_escapes(void **state)
{
    (void)state;
    hl7_msg *m = parse_ok(ADT_HEAD "SIU^S12|1|P|2.5\r"
                                   "NTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41C3A9\\g\\.br\\h"
                                   "\\H\\bold\\N\\|C:\\dir\r");
    /* Decoded: separators, \X..\ bytes (UTF-8 here), \.br\ as a line break; \H\ \N\ dropped. */
    assert_string_equal(GET(m, "NTE", 1, 3, 1, 1, 1), "a|b^c&d~e\\fA\xc3\xa9g\nhbold");
    /* An escape character that closes nothing stays as text. */
    assert_string_equal(GET(m, "NTE", 1, 4, 1, 1, 1), "C:\\dir");
    /* Round trip: the writer escapes again and the values come back the same. */
    cc_buf b = {0};
    assert_int_equal(hl7_msg_write(m, &b), CC_OK);
    assert_non_null(strstr(b.data, "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"));
    assert_non_null(strstr(b.data, "\\.br\\"));
    hl7_msg *m2 = parse_ok(b.data);
    assert_string_equal(GET(m2, "NTE", 1, 3, 1, 1, 1), GET(m, "NTE", 1, 3, 1, 1, 1));
    assert_string_equal(GET(m2, "NTE", 1, 4, 1, 1, 1), "C:\\dir");
    hl7_msg_free(&m2);
    hl7_msg_free(&m);
    cc_buf_free(&b);

    /* The writer escapes any value it is given, control characters too; a NUL is dropped. */
    cc_buf w = {0};
    hl7_writer wr;
    hl7_w_init(&wr, &w, &hl7_enc_default, HL7_CS_UTF8);
    hl7_w_segment(&wr, "MSH");
    hl7_w_field_str(&wr, "A|B");
    hl7_w_segment(&wr, "NTE");
    hl7_w_field_str(&wr, "1");
    hl7_w_field_str(&wr, "x\ry^z~&\\");
    hl7_w_field(&wr);
    hl7_w_text(&wr, "a\0b", 3);
    assert_int_equal(hl7_w_finish(&wr), CC_OK);
    assert_string_equal(w.data, "MSH|^~\\&|A\\F\\B\rNTE|1|x\\X0D\\y\\S\\z\\R\\\\T\\\\E\\|ab\r");
    cc_buf_free(&w);
}

static void test_bad_escape_located(void **state)
{
    (void)state;
    const char *text = ADT_HEAD "SIU^S12|1|P|2.5\rPID|1||A~B^\\XZ1\\\r";
    hl7_msg *m = NULL;
    hl7_error err;
    assert_int_equal(hl7_msg_parse(text, strlen(text), NULL, &m, &err), CC_ERR_INVALID);
    assert_null(m);
    assert_int_equal(err.kind, HL7_ERRK_CONTENT);
    assert_int_equal(err.code, HL7_E_DATA_TYPE);
    assert_string_equal(loc(&err), "PID^1^3^2^2^1");
    assert_non_null(strstr(err.reason, "hexadecimal"));
}

static void test_charset_latin(void **state)
{
    (void)state;
    /* é as the single byte 0xE9 in ISO 8859-1 comes out as UTF-8. */
    const char *l1 = ADT_HEAD "SIU^S12|1|P|2.5|||||FRA|8859/1\rPID|1||1||H\xe9l\xe8ne^\\XE9\\\r";
    hl7_msg *m = parse_ok(l1);
    assert_int_equal(hl7_msg_charset(m), HL7_CS_8859_1);
    assert_string_equal(GET(m, "PID", 1, 5, 1, 1, 1), "H\xc3\xa9l\xc3\xa8ne");
    assert_string_equal(GET(m, "PID", 1, 5, 1, 2, 1), "\xc3\xa9");
    /* Written back in its own character set. */
    cc_buf b = {0};
    assert_int_equal(hl7_msg_write(m, &b), CC_OK);
    assert_non_null(strstr(b.data, "H\xe9l\xe8ne^\xe9"));
    cc_buf_free(&b);
    hl7_msg_free(&m);

    /* 8859-15: 0xA4 is the euro sign, 0xBD oe. */
    m = parse_ok(ADT_HEAD "SIU^S12|1|P|2.5|||||FRA|8859/15\rNTE|1||10\xa4 c\xbdur\r");
    assert_string_equal(GET(m, "NTE", 1, 3, 1, 1, 1), "10\xe2\x82\xac c\xc5\x93ur");
    hl7_msg_free(&m);

    /* Nothing declared: valid UTF-8 stays, anything else is read as ISO 8859-1. */
    m = parse_ok(ADT_HEAD "SIU^S12|1|P|2.5\rNTE|1||\xc3\xa9t\xc3\xa9\r");
    assert_string_equal(GET(m, "NTE", 1, 3, 1, 1, 1), "\xc3\xa9t\xc3\xa9");
    hl7_msg_free(&m);
    m = parse_ok(ADT_HEAD "SIU^S12|1|P|2.5\rNTE|1||\xe9t\xe9\r");
    assert_string_equal(GET(m, "NTE", 1, 3, 1, 1, 1), "\xc3\xa9t\xc3\xa9");
    hl7_msg_free(&m);
}

static void test_charset_errors(void **state)
{
    (void)state;
    hl7_msg *m = NULL;
    hl7_error err;
    /* Declared UTF-8 but a lone 0xE9: refused, with the place. */
    const char *bad = ADT_HEAD "SIU^S12|1|P|2.5|||||FRA|UNICODE UTF-8\rPID|1||1||DUPONT^H\xe9l\r";
    assert_int_equal(hl7_msg_parse(bad, strlen(bad), NULL, &m, &err), CC_ERR_INVALID);
    assert_string_equal(loc(&err), "PID^1^5^1^2^1");
    assert_string_equal(err.reason, "PID-5: not valid UTF-8 (MSH-18 declares UTF-8)");
    /* Undeclared, UTF-8 everywhere but in an \X..\ escape. */
    const char *undeclared = ADT_HEAD "SIU^S12|1|P|2.5\rNTE|1|\xc3\xa9|\\XE9\\\r";
    assert_int_equal(hl7_msg_parse(undeclared, strlen(undeclared), NULL, &m, &err), CC_ERR_INVALID);
    assert_string_equal(err.reason, "NTE-3: not valid UTF-8 (the rest of the message is UTF-8)");
    /* Overlong and surrogate forms are not UTF-8 either. */
    const char *overlong = ADT_HEAD "SIU^S12|1|P|2.5|||||FRA|UTF-8\rNTE|1||\xc0\xaf\r";
    assert_int_equal(hl7_msg_parse(overlong, strlen(overlong), NULL, &m, &err), CC_ERR_INVALID);
    const char *surrogate = ADT_HEAD "SIU^S12|1|P|2.5|||||FRA|UTF-8\rNTE|1||\xed\xa0\x80\r";
    assert_int_equal(hl7_msg_parse(surrogate, strlen(surrogate), NULL, &m, &err), CC_ERR_INVALID);
    /* A character set we cannot read is unsupported, not a content error. */
    const char *jis = ADT_HEAD "SIU^S12|1|P|2.5|||||JPN|ISO IR87\rNTE|1||x\r";
    assert_int_equal(hl7_msg_parse(jis, strlen(jis), NULL, &m, &err), CC_ERR_INVALID);
    assert_int_equal(err.kind, HL7_ERRK_UNSUPPORTED);
    assert_string_equal(loc(&err), "MSH^1^18");
    assert_null(m);
}

static void test_limits(void **state)
{
    (void)state;
    hl7_msg *m = NULL;
    hl7_error err;
    hl7_limits lim = {200, 3, 12};
    const char *big =
        ADT_HEAD "SIU^S12|1|P|2.5\rNTE|1||"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r";
    assert_int_equal(hl7_msg_parse(big, strlen(big), &lim, &m, &err), CC_ERR_TOO_BIG);
    assert_int_equal(err.kind, HL7_ERRK_UNPROCESSABLE);
    assert_non_null(strstr(err.reason, "limit"));
    const char *segs = ADT_HEAD "SIU^S12|1|P|2.5\rNTE|1\rNTE|2\rNTE|3\r";
    assert_int_equal(hl7_msg_parse(segs, strlen(segs), &lim, &m, &err), CC_ERR_TOO_BIG);
    assert_non_null(strstr(err.reason, "segments"));
    const char *fields = ADT_HEAD "SIU^S12|1|P|2.5\rNTE|1|2|3|4|5|6|7|8|9|10|11|12|13|14\r";
    assert_int_equal(hl7_msg_parse(fields, strlen(fields), &lim, &m, &err), CC_ERR_TOO_BIG);
    assert_string_equal(loc(&err), "NTE^1^13");
    assert_null(m);
}

static void test_broken_input(void **state)
{
    (void)state;
    hl7_msg *m = NULL;
    hl7_error err;
    const char *bad[] = {"",           "\r\n",       "hello",   "MSH",    "MSH|",     "MSHX^~\\&|",
                         "MSH|^^\\&|", "MSH|1~\\&|", "PID|1\r", "MSH||x", "MSH ^~\\&"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(hl7_msg_parse(bad[i], strlen(bad[i]), NULL, &m, &err), CC_OK);
        assert_null(m);
        assert_true(err.reason[0] != '\0');
        assert_int_equal(err.kind, HL7_ERRK_UNPROCESSABLE);
    }
    /* A segment without a proper id names its position. */
    const char *badseg = ADT_HEAD "SIU^S12|1|P|2.5\rSCH|1\rpid|1\r";
    assert_int_equal(hl7_msg_parse(badseg, strlen(badseg), NULL, &m, &err), CC_ERR_INVALID);
    assert_non_null(strstr(err.reason, "segment 3"));
    /* A NUL byte is refused. */
    const char nul[] = ADT_HEAD "SIU^S12|1|P|2.5\rNTE|1|a\0b\r";
    assert_int_equal(hl7_msg_parse(nul, sizeof(nul) - 1, NULL, &m, &err), CC_ERR_INVALID);
    /* Every truncation of a real message parses or fails cleanly, never crashes. */
    size_t n = strlen(msg_fr);
    int ok = 0;
    for (size_t k = 0; k <= n; k++) {
        int rc = hl7_msg_parse(msg_fr, k, NULL, &m, &err);
        if (rc == CC_OK) {
            ok++;
            hl7_msg_free(&m);
        } else {
            assert_true(err.reason[0] != '\0');
        }
    }
    /* Everything from "MSH|^" on is a readable (if short) message, except cuts inside a
     * multi-byte UTF-8 character or inside the name of the character set. */
    assert_true(ok > (int)n - 30);
}

static void test_error_location_text(void **state)
{
    (void)state;
    hl7_error e = {.seg = "PID", .seg_seq = 1, .field = 3};
    assert_string_equal(loc(&e), "PID^1^3");
    e.rep = 1;
    assert_string_equal(loc(&e), "PID^1^3");
    e.rep = 2;
    assert_string_equal(loc(&e), "PID^1^3^2");
    e.rep = 1;
    e.comp = 4;
    assert_string_equal(loc(&e), "PID^1^3^1^4");
    e.rep = 0;
    assert_string_equal(loc(&e), "PID^1^3^^4");
    hl7_error none = {0};
    assert_string_equal(loc(&none), "");
}

static void test_dtm(void **state)
{
    (void)state;
    int64_t ms = 0;
    char why[100];
#define DTM(s, off, min) hl7_dtm_parse((s), strlen(s), (off), (min), &ms, why, sizeof(why))
    assert_int_equal(DTM("20261201143000+0100", 0, 12), CC_OK);
    assert_int_equal(ms, 1796131800000LL); /* 2026-12-01T13:30:00Z */
    assert_int_equal(DTM("202612011430", 60, 12), CC_OK);
    assert_int_equal(ms, 1796131800000LL); /* no offset: the local one given */
    assert_int_equal(DTM("20261201133000.25-0000", 60, 12), CC_OK);
    assert_int_equal(ms, 1796131800250LL);
    assert_int_equal(DTM("20261201093000-0400", 0, 12), CC_OK);
    assert_int_equal(ms, 1796131800000LL);
    assert_int_equal(DTM("19700101", 0, 8), CC_OK);
    assert_int_equal(ms, 0);
    assert_int_equal(DTM("20240229", 0, 8), CC_OK);
    assert_int_equal(DTM("20230229", 0, 8), CC_ERR_INVALID);  /* not a leap year */
    assert_int_equal(DTM("20261201", 0, 12), CC_ERR_INVALID); /* not precise enough */
    assert_int_equal(DTM("202612011", 0, 8), CC_ERR_INVALID);
    assert_int_equal(DTM("20261301", 0, 8), CC_ERR_INVALID);
    assert_int_equal(DTM("202612012460", 0, 8), CC_ERR_INVALID);
    assert_int_equal(DTM("202612011430+01", 0, 8), CC_ERR_INVALID);
    assert_int_equal(DTM("2026-12-01", 0, 4), CC_ERR_INVALID);
    assert_int_equal(DTM("", 0, 4), CC_ERR_INVALID);
    assert_non_null(strstr(why, "date/time"));
#undef DTM
}

/* ---- ACK ------------------------------------------------------------------------------------ */

static hl7_msg *ack_of(const char *in, size_t n, const char *code, const hl7_error *err)
{
    cc_buf b = {0};
    hl7_ack_opts o = {.code = code,
                      .control_id = "ACK-1",
                      .now_ms = 1796131800000LL,
                      .sending_app = "CARECOMM",
                      .err = err};
    assert_int_equal(hl7_ack_build(in, n, &o, &b), CC_OK);
    hl7_msg *m = parse_ok(b.data);
    cc_buf_free(&b);
    return m;
}

static void test_ack_accept(void **state)
{
    (void)state;
    hl7_msg *a = ack_of(msg_fr, strlen(msg_fr), "AA", NULL);
    /* Sender and receiver swapped. */
    assert_string_equal(GET(a, "MSH", 1, 3, 1, 1, 1), "CARECOMM");
    assert_string_equal(GET(a, "MSH", 1, 4, 1, 1, 1), "CHU-NANTES");
    assert_string_equal(GET(a, "MSH", 1, 5, 1, 1, 1), "DXCARE");
    assert_string_equal(GET(a, "MSH", 1, 6, 1, 1, 1), "CHU-NANTES");
    assert_string_equal(GET(a, "MSH", 1, 7, 1, 1, 1), "20261201133000+0000");
    assert_string_equal(GET(a, "MSH", 1, 9, 1, 1, 1), "ACK");
    assert_string_equal(GET(a, "MSH", 1, 9, 1, 2, 1), "S12");
    assert_string_equal(GET(a, "MSH", 1, 9, 1, 3, 1), "ACK");
    assert_string_equal(GET(a, "MSH", 1, 10, 1, 1, 1), "ACK-1");
    assert_string_equal(GET(a, "MSH", 1, 11, 1, 1, 1), "P");
    assert_string_equal(GET(a, "MSH", 1, 12, 1, 1, 1), "2.5");
    assert_string_equal(GET(a, "MSH", 1, 12, 1, 2, 1), "FRA");
    assert_string_equal(GET(a, "MSH", 1, 12, 1, 3, 1), "2.10");
    assert_string_equal(GET(a, "MSH", 1, 18, 1, 1, 1), "UNICODE UTF-8");
    assert_string_equal(GET(a, "MSA", 1, 1, 1, 1, 1), "AA");
    assert_string_equal(GET(a, "MSA", 1, 2, 1, 1, 1), "MSG00042"); /* what Mirth checks */
    assert_int_equal(hl7_segment_count_of(a, "ERR"), 0);
    hl7_msg_free(&a);
}

static void test_ack_error(void **state)
{
    (void)state;
    hl7_error e = {.kind = HL7_ERRK_CONTENT,
                   .code = HL7_E_DATA_TYPE,
                   .seg = "PID",
                   .seg_seq = 1,
                   .field = 3,
                   .rep = 1};
    snprintf(e.reason, sizeof(e.reason), "PID-3: wrong NIR key 47 (expected 46)");
    hl7_msg *a = ack_of(msg_fr, strlen(msg_fr), "AE", &e);
    assert_string_equal(GET(a, "MSA", 1, 1, 1, 1, 1), "AE");
    assert_string_equal(GET(a, "MSA", 1, 2, 1, 1, 1), "MSG00042");
    assert_string_equal(GET(a, "ERR", 1, 1, 1, 1, 1), ""); /* 2.5: no ELD */
    assert_string_equal(GET(a, "ERR", 1, 2, 1, 1, 1), "PID");
    assert_string_equal(GET(a, "ERR", 1, 2, 1, 2, 1), "1");
    assert_string_equal(GET(a, "ERR", 1, 2, 1, 3, 1), "3");
    assert_string_equal(GET(a, "ERR", 1, 2, 1, 4, 1), "1");
    assert_string_equal(GET(a, "ERR", 1, 3, 1, 1, 1), "102");
    assert_string_equal(GET(a, "ERR", 1, 3, 1, 2, 1), "Data type error");
    assert_string_equal(GET(a, "ERR", 1, 3, 1, 3, 1), "HL70357");
    assert_string_equal(GET(a, "ERR", 1, 4, 1, 1, 1), "E");
    assert_string_equal(GET(a, "ERR", 1, 8, 1, 1, 1), e.reason);
    hl7_msg_free(&a);

    /* Before 2.5 the location also goes in ERR-1, where those partners read it. */
    const char *v23 = "MSH|^~\\&|RDV|CH|CC|CH|20260315||SIU^S13|A23-77|P|2.3\rSCH|1\r";
    a = ack_of(v23, strlen(v23), "AR", &e);
    assert_string_equal(GET(a, "MSA", 1, 2, 1, 1, 1), "A23-77");
    assert_string_equal(GET(a, "ERR", 1, 1, 1, 1, 1), "PID");
    assert_string_equal(GET(a, "ERR", 1, 1, 1, 3, 1), "3");
    assert_string_equal(GET(a, "ERR", 1, 1, 1, 4, 1), "102");
    assert_string_equal(GET(a, "MSH", 1, 12, 1, 1, 1), "2.3");
    hl7_msg_free(&a);
}

static void test_ack_broken_input(void **state)
{
    (void)state;
    hl7_error e = {.kind = HL7_ERRK_UNPROCESSABLE, .code = HL7_E_INTERNAL};
    snprintf(e.reason, sizeof(e.reason), "not HL7");
    /* Unreadable after MSH-10 (bad UTF-8, a bad escape, a NUL): MSA-2 still echoes it. */
    const char broken[] = "MSH|^~\\&|A|B|C|D|2026||SIU^S12|ID\\F\\1|P|2.5|||||FRA|UNICODE "
                          "UTF-8|\xff\\XZ\\\0\rPID|\xfe";
    hl7_msg *a = ack_of(broken, sizeof(broken) - 1, "AR", &e);
    assert_string_equal(GET(a, "MSA", 1, 2, 1, 1, 1), "ID|1");
    assert_string_equal(GET(a, "MSH", 1, 5, 1, 1, 1), "A");
    hl7_msg_free(&a);
    /* Unusable encoding characters, or more fields than the parser takes: the fields are still
     * found by the field separator. */
    const char *dup_enc = "MSH|^^\\&|A|B|C|D|2026||SIU^S12|ID9|P|2.5\rSCH|1\r";
    a = ack_of(dup_enc, strlen(dup_enc), "AR", &e);
    assert_string_equal(GET(a, "MSA", 1, 2, 1, 1, 1), "ID9");
    assert_string_equal(GET(a, "MSH", 1, 9, 1, 2, 1), "");
    assert_string_equal(GET(a, "MSH", 1, 12, 1, 1, 1), "2.5");
    hl7_msg_free(&a);
    cc_buf many = {0};
    cc_buf_appendf(&many, "MSH|^~\\&|A|B|C|D|2026||SIU^S12|ID10|P|2.5");
    for (int i = 0; i < 400; i++)
        cc_buf_append(&many, "|x", 2);
    a = ack_of(many.data, many.len, "AR", &e);
    assert_string_equal(GET(a, "MSA", 1, 2, 1, 1, 1), "ID10");
    hl7_msg_free(&a);
    cc_buf_free(&many);
    /* Not HL7 at all: an ACK all the same, with what we know. */
    a = ack_of("hello", 5, "AR", &e);
    assert_string_equal(GET(a, "MSA", 1, 1, 1, 1, 1), "AR");
    assert_string_equal(GET(a, "MSA", 1, 2, 1, 1, 1), "");
    assert_string_equal(GET(a, "MSH", 1, 3, 1, 1, 1), "CARECOMM");
    assert_string_equal(GET(a, "ERR", 1, 8, 1, 1, 1), "not HL7");
    hl7_msg_free(&a);
    a = ack_of(NULL, 0, "AR", &e);
    assert_string_equal(GET(a, "MSA", 1, 1, 1, 1, 1), "AR");
    hl7_msg_free(&a);
    /* The sender's own encoding characters are used for the answer. */
    const char *custom = "MSH*#~\\&*APP*FAC*CC*FAC*2026**SIU#S12*X#1*P*2.5\r";
    cc_buf b = {0};
    hl7_ack_opts o = {.code = "AA", .control_id = "K", .now_ms = 0};
    assert_int_equal(hl7_ack_build(custom, strlen(custom), &o, &b), CC_OK);
    assert_non_null(
        strstr(b.data, "MSH*#~\\&*CC*FAC*APP*FAC*19700101000000+0000**ACK#S12#ACK*K*P*2.5\r"));
    assert_non_null(strstr(b.data, "MSA*AA*X#1\r"));
    cc_buf_free(&b);
}

/* Times without offset in the hospital's zone, each with its own date's offset (Paris: +01:00
 * in December, +02:00 in July); an explicit offset wins. */
static void test_dtm_local_zone(void **state)
{
    (void)state;
    int64_t ms = 0;
    char why[120];
    setenv("TZ", "Europe/Paris", 1);
    tzset();
    assert_int_equal(hl7_dtm_parse("202612010900", 12, HL7_LOCAL_TZ, 12, &ms, why, sizeof why),
                     CC_OK);
    assert_int_equal(ms, 1796112000000LL); /* 2026-12-01T08:00:00Z */
    assert_int_equal(hl7_dtm_parse("202607010900", 12, HL7_LOCAL_TZ, 12, &ms, why, sizeof why),
                     CC_OK);
    assert_int_equal(ms, 1782889200000LL); /* 2026-07-01T07:00:00Z */
    assert_int_equal(hl7_dtm_parse("202607010900+0000", 17, HL7_LOCAL_TZ, 12, &ms, why, sizeof why),
                     CC_OK);
    assert_int_equal(ms, 1782896400000LL);
    unsetenv("TZ");
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_access),
        cmocka_unit_test(test_dtm_local_zone),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_custom_encoding),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_bad_escape_located),
        cmocka_unit_test(test_charset_latin),
        cmocka_unit_test(test_charset_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_broken_input),
        cmocka_unit_test(test_error_location_text),
        cmocka_unit_test(test_dtm),
        cmocka_unit_test(test_ack_accept),
        cmocka_unit_test(test_ack_error),
        cmocka_unit_test(test_ack_broken_input),
    };
    return cmocka_run_group_tests_name("interop_hl7", tests, NULL, NULL);
}
