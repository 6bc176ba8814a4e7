/* interop: booking systems' messages in. The pure half — an HL7 v2 parser and serializer, the
 * SIU scheduling messages mapped to a plain booking struct and ACK building — takes
 * bytes and returns values or errors (no network, no store, no logging; fuzzed). The service half
 * (at the end) listens for MLLP, has the care module apply each booking through the store worker
 * and acknowledges it once committed (docs/hl7.md).
 *
 * Prefixes: hl7_ for the message syntax (parse, access, write, ACK),
 * interop_ for the mapping of SIU messages and for identity checks. */
#ifndef CC_INTEROP_H
#define CC_INTEROP_H

#include "core/core.h"

#include <limits.h>

/* ---- errors --------------------------------------------------------------------------------- */

/* What kind of failure, for the caller's choice of ACK code (AE or AR is per partner). */
typedef enum {
    HL7_ERRK_NONE = 0,
    HL7_ERRK_CONTENT,       /* wrong content: resending it unchanged will fail again (usually AE) */
    HL7_ERRK_UNSUPPORTED,   /* message type, event, version or character set not handled (AR) */
    HL7_ERRK_UNPROCESSABLE, /* not HL7, over a limit, or broken beyond reading (usually AR) */
} hl7_err_kind;

/* HL7 table 0357 (message error condition codes) used in ERR-3. */
enum {
    HL7_E_SEGMENT_SEQUENCE = 100,
    HL7_E_REQUIRED_MISSING = 101,
    HL7_E_DATA_TYPE = 102,
    HL7_E_TABLE_VALUE = 103,
    HL7_E_UNSUPPORTED_TYPE = 200,
    HL7_E_UNSUPPORTED_EVENT = 201,
    HL7_E_UNSUPPORTED_PROCESSING_ID = 202,
    HL7_E_UNSUPPORTED_VERSION = 203,
    HL7_E_INTERNAL = 207,
};

/* An error with its place in the message (ERR-2, HL7 ERL: segment^sequence^field^repetition^
 * component^sub-component; 0 = not applicable) and a human reason (ERR-8). */
typedef struct {
    hl7_err_kind kind;
    int code;    /* table 0357 */
    char seg[4]; /* segment id, "" when the segment could not be named */
    int seg_seq, field, rep, comp, sub;
    char reason[200];
} hl7_error;

/* Writes the location as HL7 ERL text ("PID^1^3", "PID^1^3^2^1"): trailing defaults (repetition 1,
 * component and sub-component 0) are left out. Empty when the error has no segment. */
void hl7_error_location(const hl7_error *e, char *out, size_t outlen);

/* ---- messages ------------------------------------------------------------------------------- */

/* Encoding characters of a message (MSH-1 and MSH-2). 0 = not used by this message. */
typedef struct {
    char field, comp, rep, esc, sub, trunc;
} hl7_enc;
/* The usual |^~\& */
extern const hl7_enc hl7_enc_default;

/* Character sets of MSH-18 this parser reads. Everything a parsed message returns is UTF-8. */
typedef enum {
    HL7_CS_ASCII = 0, /* MSH-18 empty or ASCII: UTF-8 accepted, otherwise read as ISO 8859-1 */
    HL7_CS_UTF8,      /* UNICODE UTF-8 */
    HL7_CS_8859_1,
    HL7_CS_8859_15,
} hl7_charset;

typedef struct {
    size_t max_bytes;    /* whole message */
    size_t max_segments; /* segments in the message */
    size_t max_fields;   /* fields in one segment */
} hl7_limits;
/* 1 MiB, 2000 segments, 256 fields. */
extern const hl7_limits hl7_limits_default;

/* A parsed message: every value decoded (escapes, character set) to NUL-terminated UTF-8. */
typedef struct hl7_msg hl7_msg;

/* Parses data[n] (segments ending with CR, LF or CRLF). lim may be NULL for the defaults.
 * On success *out is the caller's (hl7_msg_free). On failure returns CC_ERR_INVALID (err says
 * where and why), CC_ERR_TOO_BIG (a limit; err too) or CC_ERR_NOMEM; *out is NULL. */
int hl7_msg_parse(const char *data, size_t n, const hl7_limits *lim, hl7_msg **out, hl7_error *err);
void hl7_msg_free(hl7_msg **m);

/* One value, HL7 1-based numbering: seg_seq counts segments of that id (1 = the first), field as
 * in the standard (MSH-1 is the field separator, MSH-2 the encoding characters), rep, comp and
 * sub as well; 0 is taken as 1. Returns {NULL, 0} when the value is absent; an empty value that
 * is present has p pointing at "". p is NUL-terminated and lives as long as m. The HL7 null
 * `""` is returned as the two characters. */
cc_str hl7_get(const hl7_msg *m, const char *seg, int seg_seq, int field, int rep, int comp,
               int sub);
/* The same by absolute segment index (0 = MSH), for walking segment groups in order. */
cc_str hl7_get_at(const hl7_msg *m, size_t seg_index, int field, int rep, int comp, int sub);
size_t hl7_segment_count(const hl7_msg *m);
/* Segment id at index ("MSH"), NULL past the end. */
const char *hl7_segment_id(const hl7_msg *m, size_t seg_index);
/* How many segments have this id. */
size_t hl7_segment_count_of(const hl7_msg *m, const char *seg);
/* Repetitions of a field of the seg_seq-th segment seg (0 when absent). */
size_t hl7_rep_count(const hl7_msg *m, const char *seg, int seg_seq, int field);
hl7_enc hl7_msg_enc(const hl7_msg *m);
hl7_charset hl7_msg_charset(const hl7_msg *m);

/* Serializes m with its own encoding characters and character set (segments end with CR), every
 * value escaped again: parsing the output gives back the same values. Appends to out. */
int hl7_msg_write(const hl7_msg *m, cc_buf *out);

/* A writer that builds a message value by value with escaping. Errors are sticky and returned by
 * hl7_w_finish. Text given to hl7_w_text is UTF-8, converted to cs (characters the set cannot hold
 * become '?'). */
typedef struct {
    cc_buf *b;
    hl7_enc enc;
    hl7_charset cs;
    int rc;
    bool open; /* a segment is open */
} hl7_writer;
void hl7_w_init(hl7_writer *w, cc_buf *b, const hl7_enc *enc, hl7_charset cs);
/* Ends the open segment (CR) and starts one named seg; for "MSH" also writes MSH-1 and MSH-2. */
void hl7_w_segment(hl7_writer *w, const char *seg);
void hl7_w_field(hl7_writer *w); /* field separator: moves to the next field */
void hl7_w_rep(hl7_writer *w);
void hl7_w_comp(hl7_writer *w);
void hl7_w_sub(hl7_writer *w);
void hl7_w_text(hl7_writer *w, const char *p, size_t n); /* escaped; NUL bytes dropped */
/* hl7_w_field then hl7_w_text of a C string (NULL = empty field). */
void hl7_w_field_str(hl7_writer *w, const char *s);
/* Ends the open segment; returns the first error met. */
int hl7_w_finish(hl7_writer *w);

/* Decodes a DTM ("YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]") to UTC Unix milliseconds; a value
 * without offset is local time at local_offset_min minutes east of UTC, or, with HL7_LOCAL_TZ,
 * in the process's time zone (TZ) with its summer time at that date. min_digits is the least
 * precision accepted (8 = a day, 12 = a minute). CC_ERR_INVALID with a reason in why. */
#define HL7_LOCAL_TZ INT_MIN
int hl7_dtm_parse(const char *s, size_t n, int local_offset_min, int min_digits, int64_t *ms,
                  char *why, size_t whylen);

/* ---- ACK ------------------------------------------------------------------------------------ */

typedef struct {
    const char *code;        /* MSA-1: "AA", "AE", "AR" (or CA/CE/CR) */
    const char *control_id;  /* MSH-10 of the ACK, new for every ACK */
    int64_t now_ms;          /* MSH-7 */
    const char *sending_app; /* MSH-3 of the ACK when the message has no MSH-5; may be NULL */
    const hl7_error *err;    /* an ERR segment (and MSA-3) when not NULL and kind != NONE */
} hl7_ack_opts;

/* Builds the ACK of the message in data[n] into out: MSH with sender and receiver swapped, the
 * message's MSH-11 and MSH-12, MSH-9 ACK^<trigger>^ACK; MSA|code|<MSH-10>; optional ERR (v2.5
 * form, plus ERR-1 for versions before 2.5). Reads only what it can of a broken message: a
 * message whose MSH cannot be read at all gets an ACK with empty copied fields. Written with the
 * message's encoding characters and character set when they are readable. */
int hl7_ack_build(const char *data, size_t n, const hl7_ack_opts *o, cc_buf *out);

/* ---- SIU mapping ---------------------------------------------------------------------------- */

typedef enum {
    INTEROP_SIU_S12 = 12, /* new booking */
    INTEROP_SIU_S13 = 13, /* rescheduling */
    INTEROP_SIU_S14 = 14, /* modification */
    INTEROP_SIU_S15 = 15, /* cancellation */
    INTEROP_SIU_S17 = 17, /* deletion */
    INTEROP_SIU_S26 = 26, /* no-show */
} interop_siu_event;

/* FHIR R4 Appointment.status. */
typedef enum {
    INTEROP_APPT_PROPOSED,
    INTEROP_APPT_PENDING,
    INTEROP_APPT_BOOKED,
    INTEROP_APPT_ARRIVED,
    INTEROP_APPT_FULFILLED,
    INTEROP_APPT_CANCELLED,
    INTEROP_APPT_NOSHOW,
    INTEROP_APPT_ENTERED_IN_ERROR,
    INTEROP_APPT_CHECKED_IN,
    INTEROP_APPT_WAITLIST,
} interop_appt_status;
/* The FHIR code ("booked", "entered-in-error"). */
const char *interop_appt_status_code(interop_appt_status s);

typedef enum {
    INTEROP_ID_OTHER = 0,
    INTEROP_ID_INS_NIR, /* French INS from the NIR, OID 1.2.250.1.213.1.4.8, key checked */
    INTEROP_ID_INS_NIA, /* French INS from a temporary NIA, OID 1.2.250.1.213.1.4.9 */
    INTEROP_ID_SSIN,    /* Belgian national number, check digits checked */
} interop_id_kind;

/* A CX/EI/XCN identifier. Values longer than their array make the mapping fail (never cut). */
typedef struct {
    char id[65];
    char ns[65];   /* assigning authority namespace id */
    char uid[129]; /* assigning authority universal id (OID, URI) */
    char uid_type[17];
    char type[17]; /* identifier type code (CX-5, XCN-13), "INS", "PI", "RPPS" */
    interop_id_kind kind;
} interop_ident;

typedef struct {
    interop_ident ident;
    char family[129];
    char given[129];
} interop_practitioner;

#define INTEROP_MAX_PATIENT_IDS 10
#define INTEROP_MAX_PRACTITIONERS 16

typedef struct {
    bool present; /* a PID segment was there */
    interop_ident ids[INTEROP_MAX_PATIENT_IDS];
    size_t n_ids;
    int ins_index;            /* index in ids of the INS (NIR or NIA), -1 if none */
    char identity_status[17]; /* PID-32, e.g. "VALI" for a qualified identity */
    char family[129];
    char given[129];
    char birth_date[11]; /* "YYYY-MM-DD" (or YYYY-MM, YYYY as sent), "" when absent */
    char email[255];
    char mobile[41];
    char phone[41]; /* a number that is not known to be a mobile */
} interop_patient;

typedef struct {
    interop_siu_event event;
    char control_id[200]; /* MSH-10 */
    char version[17];     /* MSH-12.1 */
    interop_ident placer; /* SCH-1 (id + namespace) */
    interop_ident filler; /* SCH-2 */
    bool has_start, has_end;
    int64_t start_ms, end_ms; /* UTC */
    char filler_status[33];   /* SCH-25.1 as sent */
    interop_appt_status status;
    bool teleconsultation;
    interop_practitioner practitioners[INTEROP_MAX_PRACTITIONERS];
    size_t n_practitioners;
    interop_patient patient;
} interop_booking;

typedef struct {
    int local_offset_min;  /* offset of times sent without one, minutes east of UTC, or HL7_LOCAL_TZ
                            */
    const char *tlc_codes; /* comma list of teleconsultation codes; NULL = "TLC,TELECONSULTATION" */
} interop_siu_opts;

/* Maps an SIU message to *out. CC_OK, or CC_ERR_INVALID with err filled: kind UNSUPPORTED for a
 * message that is not SIU, an unknown event or a version before 2.3; CONTENT for missing SCH-1 and
 * SCH-2, a wrong INS or SSIN key, an unreadable time, a teleconsultation without e-mail nor
 * mobile, a value too long. o may be NULL (UTC, default codes). */
int interop_siu_map(const hl7_msg *m, const interop_siu_opts *o, interop_booking *out,
                    hl7_error *err);

/* True when a code of the comma list (NULL = default) equals, ignoring case, the identifier
 * (component 1) of any repetition of SCH-7, SCH-8, AIS-3 or AIL-3. */
bool interop_siu_is_teleconsultation(const hl7_msg *m, const char *codes);

/* French NIR (15 characters, 13 + key; 2A/2B for Corsica): CC_OK when the shape and key are
 * right, CC_ERR_INVALID with a reason otherwise. */
int interop_nir_check(const char *s, size_t n, char *why, size_t whylen);
/* Belgian SSIN (11 digits, check for births before and from 2000). */
int interop_ssin_check(const char *s, size_t n, char *why, size_t whylen);

/* ---- the HL7 service ------------------------------------------------------------------------ */

#include "auth/auth.h"
#include "net/net.h"

typedef struct interop_svc interop_svc;

/* mllp_listen, mllp_allow, mllp_max_message_bytes, mllp_idle_seconds, teleconsult_codes,
 * hl7_ack_content_error, hl7_ack_unsupported, hl7_ack_unprocessable,
 * link_open_minutes_before, link_close_minutes_after. */
extern const cc_cfg_key interop_config_keys[];
extern const size_t interop_config_keys_count;
/* Checks the keys' values beyond their types (ACK codes, allow list); why says what is wrong. */
int interop_config_check(const cc_config *cfg, char *why, size_t whylen);

/* Starts listening for MLLP when mllp_listen is set (messages are refused with AR until the
 * worker is set). keys and srv are borrowed and must outlive it. */
int interop_start(uv_loop_t *loop, const cc_config *cfg, const auth_keys *keys, net_server *srv,
                  interop_svc **out, char *why, size_t whylen);
void interop_set_worker(interop_svc *s, store_worker *w);
/* The port MLLP listens on, 0 when off. */
int interop_mllp_port(const interop_svc *s);
/* Stops listening and closes the connections (shutdown, before the worker stops: ACKs owed for
 * messages already in the worker are lost, and their senders send them again, which is safe). */
void interop_stop(interop_svc *s);
/* After the loop has run the closes. NULL is a no-op. */
void interop_free(interop_svc *s);

#endif
