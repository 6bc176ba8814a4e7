/* interop internals shared by the module's files: the parsed message's layout, the leaf decoder
 * and encoder, and error helpers. */
#ifndef CC_INTEROP_INTERNAL_H
#define CC_INTEROP_INTERNAL_H

#include "interop/interop.h"

/* A parsed message is five flat arrays, each level a range of the next: segments -> fields ->
 * repetitions -> components -> sub-components (leaves), and the leaves' decoded text in one
 * arena. Offsets rather than pointers because the arena grows while parsing. */
typedef struct {
    uint32_t off, len; /* in text */
} hl7__leaf;

typedef struct {
    uint32_t first, n; /* a range of the next level */
} hl7__range;

typedef struct {
    char id[4];
    hl7__range fields;
} hl7__seg;

struct hl7_msg {
    hl7_enc enc;
    hl7_charset cs;      /* as declared in MSH-18 */
    hl7_charset read_as; /* as read: ASCII is read as UTF-8 or ISO 8859-1 */
    cc_buf text;
    hl7__seg *segs;
    hl7__range *fields, *reps, *comps;
    hl7__leaf *leaves;
    size_t nsegs, nfields, nreps, ncomps, nleaves;
    size_t capsegs, capfields, capreps, capcomps, capleaves;
};

typedef struct {
    const hl7_limits *lim;
    bool lenient;     /* keep going on bad escapes and bytes (for ACKs of broken messages) */
    bool header_only; /* read the MSH segment and stop */
} hl7__parse_opts;

int hl7__parse(const char *data, size_t n, const hl7__parse_opts *po, hl7_msg **out,
               hl7_error *err);

/* Decodes one sub-component as sent (raw[n]) into b as UTF-8 followed by a NUL. cs is the
 * character set to read with (never ASCII). CC_ERR_INVALID with a reason when not lenient. */
int hl7__decode(cc_buf *b, const char *raw, size_t n, const hl7_enc *enc, hl7_charset cs,
                bool lenient, char *why, size_t whylen);
/* Character set named by MSH-18 text; CC_ERR_NOT_FOUND when unknown. */
int hl7__charset_from_name(const char *p, size_t n, hl7_charset *cs);
const char *hl7__charset_name(hl7_charset cs);
/* Appends the UTF-8 character at p (length *used) converted to cs; '?' when cs cannot hold it. */
int hl7__encode_char(cc_buf *b, const char *p, size_t n, hl7_charset cs, size_t *used);

/* Fills e. seg may be NULL. */
void hl7__err(hl7_error *e, hl7_err_kind kind, int code, const char *seg, int seg_seq, int field,
              int rep, int comp, int sub, const char *fmt, ...)
    __attribute__((format(printf, 10, 11)));

/* Writes every repetition of field f of segment index si with w (the value, no separator). */
void hl7__write_field(hl7_writer *w, const hl7_msg *m, size_t si, int f);

/* Equal ignoring ASCII case. */
bool hl7__ieq(const char *a, size_t an, const char *b);

#endif
