/* hl7: HL7 v2 message parsing (ER7, the pipe-and-hat syntax) and access to its values.
 *
 * The parser reads the encoding characters from MSH-1/MSH-2 and the character set from MSH-18
 * first, then splits every segment into fields, repetitions, components and sub-components and
 * decodes each leaf once (escapes, then character set to UTF-8), so accessors return views and
 * never allocate. Every error names its segment and field for the ERR segment of the ACK. */
#include "interop/interop_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const hl7_enc hl7_enc_default = {'|', '^', '~', '\\', '&', 0};
const hl7_limits hl7_limits_default = {1024 * 1024, 2000, 256};

/* Offsets are 32-bit and decoded text can be up to three times the input. */
#define HL7_HARD_MAX_BYTES (256u * 1024 * 1024)

void hl7__err(hl7_error *e, hl7_err_kind kind, int code, const char *seg, int seg_seq, int field,
              int rep, int comp, int sub, const char *fmt, ...)
{
    if (!e)
        return;
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->code = code;
    if (seg)
        snprintf(e->seg, sizeof(e->seg), "%s", seg);
    /* A component lives in a repetition: name the first rather than leave it blank. */
    if ((comp || sub) && !rep)
        rep = 1;
    if (sub && !comp)
        comp = 1;
    e->seg_seq = seg_seq;
    e->field = field;
    e->rep = rep;
    e->comp = comp;
    e->sub = sub;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
    va_end(ap);
}

void hl7_error_location(const hl7_error *e, char *out, size_t outlen)
{
    if (!outlen)
        return;
    out[0] = '\0';
    if (!e || !e->seg[0])
        return;
    int v[5] = {e->seg_seq, e->field, e->rep, e->comp, e->sub};
    int last = 0; /* how many of v to print */
    for (int i = 0; i < 5; i++) {
        bool is_default = v[i] == 0 || (i == 2 && v[i] == 1);
        if (!is_default)
            last = i + 1;
    }
    size_t o = (size_t)snprintf(out, outlen, "%s", e->seg);
    for (int i = 0; i < last && o < outlen; i++) {
        if (v[i])
            o += (size_t)snprintf(out + o, outlen - o, "^%d", v[i]);
        else
            o += (size_t)snprintf(out + o, outlen - o, "^");
    }
}

bool hl7__ieq(const char *a, size_t an, const char *b)
{
    return an == strlen(b) && strncasecmp(a, b, an) == 0;
}

/* ---- building the arrays -------------------------------------------------------------------- */

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return CC_OK;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = cc_realloc(*arr, nc * elem);
    if (!p)
        return CC_ERR_NOMEM;
    *arr = p;
    *cap = nc;
    return CC_OK;
}

#define PUSH(m, arr, cnt, cap) grow((void **)&(m)->arr, &(m)->cap, (m)->cnt, sizeof(*(m)->arr))

void hl7_msg_free(hl7_msg **pm)
{
    hl7_msg *m = pm ? *pm : NULL;
    if (!m)
        return;
    cc_buf_free(&m->text);
    cc_free(&m->segs);
    cc_free(&m->fields);
    cc_free(&m->reps);
    cc_free(&m->comps);
    cc_free(&m->leaves);
    cc_free(pm);
}

/* Appends a leaf holding exactly p[n], not decoded (MSH-1, MSH-2). */
static int add_literal_leaf(hl7_msg *m, const char *p, size_t n)
{
    int rc;
    if ((rc = PUSH(m, leaves, nleaves, capleaves)) != CC_OK)
        return rc;
    uint32_t off = (uint32_t)m->text.len;
    if ((rc = cc_buf_append(&m->text, p, n)) != CC_OK ||
        (rc = cc_buf_append(&m->text, "", 1)) != CC_OK)
        return rc;
    m->leaves[m->nleaves++] = (hl7__leaf){off, (uint32_t)n};
    return CC_OK;
}

/* A field made of one literal leaf. */
static int add_literal_field(hl7_msg *m, const char *p, size_t n)
{
    int rc;
    if ((rc = PUSH(m, comps, ncomps, capcomps)) != CC_OK ||
        (rc = PUSH(m, reps, nreps, capreps)) != CC_OK ||
        (rc = PUSH(m, fields, nfields, capfields)) != CC_OK)
        return rc;
    m->comps[m->ncomps] = (hl7__range){(uint32_t)m->nleaves, 1};
    m->reps[m->nreps] = (hl7__range){(uint32_t)m->ncomps, 1};
    m->fields[m->nfields] = (hl7__range){(uint32_t)m->nreps, 1};
    m->ncomps++;
    m->nreps++;
    m->nfields++;
    return add_literal_leaf(m, p, n);
}

/* Where p[n] next holds c, or n. */
static size_t find(const char *p, size_t n, char c)
{
    if (!c)
        return n;
    const char *q = memchr(p, c, n);
    return q ? (size_t)(q - p) : n;
}

typedef struct {
    hl7_msg *m;
    const hl7__parse_opts *po;
    hl7_error *err;
    size_t seg_index; /* of the segment being parsed */
} parse_ctx;

/* How many segments before index si share its id, plus one: its sequence number. */
static int seg_seq_of(const hl7_msg *m, size_t si)
{
    int seq = 1;
    for (size_t i = 0; i < si; i++)
        if (memcmp(m->segs[i].id, m->segs[si].id, 4) == 0)
            seq++;
    return seq;
}

static int parse_field(parse_ctx *c, const char *p, size_t n, int fno)
{
    hl7_msg *m = c->m;
    int rc;
    if ((rc = PUSH(m, fields, nfields, capfields)) != CC_OK)
        return rc;
    size_t fi = m->nfields++;
    m->fields[fi] = (hl7__range){(uint32_t)m->nreps, 0};
    int rno = 0;
    for (size_t rs = 0;;) {
        size_t rl = find(p + rs, n - rs, m->enc.rep);
        if ((rc = PUSH(m, reps, nreps, capreps)) != CC_OK)
            return rc;
        size_t ri = m->nreps++;
        m->reps[ri] = (hl7__range){(uint32_t)m->ncomps, 0};
        m->fields[fi].n++;
        rno++;
        const char *r = p + rs;
        int cno = 0;
        for (size_t cs = 0;;) {
            size_t cl = find(r + cs, rl - cs, m->enc.comp);
            if ((rc = PUSH(m, comps, ncomps, capcomps)) != CC_OK)
                return rc;
            size_t ci = m->ncomps++;
            m->comps[ci] = (hl7__range){(uint32_t)m->nleaves, 0};
            m->reps[ri].n++;
            cno++;
            const char *q = r + cs;
            int sno = 0;
            for (size_t ss = 0;;) {
                size_t sl = find(q + ss, cl - ss, m->enc.sub);
                if ((rc = PUSH(m, leaves, nleaves, capleaves)) != CC_OK)
                    return rc;
                uint32_t off = (uint32_t)m->text.len;
                char why[120];
                sno++;
                rc = hl7__decode(&m->text, q + ss, sl, &m->enc, m->read_as, c->po->lenient, why,
                                 sizeof(why));
                if (rc == CC_ERR_INVALID) {
                    const hl7__seg *sg = &m->segs[c->seg_index];
                    /* Only UTF-8 can be invalid text; say why UTF-8 was expected. */
                    const char *ctx = "";
                    if (strstr(why, "UTF-8"))
                        ctx = m->cs == HL7_CS_UTF8 ? " (MSH-18 declares UTF-8)"
                                                   : " (the rest of the message is UTF-8)";
                    hl7__err(c->err, HL7_ERRK_CONTENT, HL7_E_DATA_TYPE, sg->id,
                             seg_seq_of(m, c->seg_index), fno, rno, cno, sno, "%s-%d: %s%s", sg->id,
                             fno, why, ctx);
                }
                if (rc != CC_OK)
                    return rc;
                /* The decoder ended the value with a NUL. */
                m->leaves[m->nleaves++] = (hl7__leaf){off, (uint32_t)(m->text.len - off - 1)};
                m->comps[ci].n++;
                if (ss + sl >= cl)
                    break;
                ss += sl + 1;
            }
            if (cs + cl >= rl)
                break;
            cs += cl + 1;
        }
        if (rs + rl >= n)
            break;
        rs += rl + 1;
    }
    return CC_OK;
}

static bool is_alnum(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static bool is_sep_char(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && !is_alnum((char)ch);
}

/* Reads MSH-1 and MSH-2 from the first segment line[n]; *enc_len is the length of MSH-2. */
static int read_encoding(const char *line, size_t n, bool lenient, hl7_enc *enc, size_t *enc_len,
                         hl7_error *err)
{
    memset(enc, 0, sizeof(*enc));
    if (n < 4 || memcmp(line, "MSH", 3) != 0) {
        hl7__err(err, HL7_ERRK_UNPROCESSABLE, HL7_E_SEGMENT_SEQUENCE, "MSH", 1, 0, 0, 0, 0,
                 "the message does not start with an MSH segment");
        return CC_ERR_INVALID;
    }
    unsigned char fs = (unsigned char)line[3];
    if (!is_sep_char(fs)) {
        hl7__err(err, HL7_ERRK_UNPROCESSABLE, HL7_E_DATA_TYPE, "MSH", 1, 1, 0, 0, 0,
                 "MSH-1: the field separator must be a punctuation character");
        return CC_ERR_INVALID;
    }
    enc->field = (char)fs;
    size_t k = 0;
    char *slots[5] = {&enc->comp, &enc->rep, &enc->esc, &enc->sub, &enc->trunc};
    while (4 + k < n && line[4 + k] != (char)fs) {
        unsigned char ch = (unsigned char)line[4 + k];
        bool dup = ch == fs;
        for (size_t i = 0; i < k; i++)
            dup = dup || *slots[i] == (char)ch;
        if (k == 5 || !is_sep_char(ch) || dup) {
            if (lenient)
                goto fields_only;
            hl7__err(err, HL7_ERRK_UNPROCESSABLE, HL7_E_DATA_TYPE, "MSH", 1, 2, 0, 0, 0,
                     "MSH-2: encoding characters must be 1 to 5 distinct punctuation characters");
            return CC_ERR_INVALID;
        }
        *slots[k++] = (char)ch;
    }
    if (k == 0) {
        if (lenient)
            goto fields_only;
        hl7__err(err, HL7_ERRK_UNPROCESSABLE, HL7_E_REQUIRED_MISSING, "MSH", 1, 2, 0, 0, 0,
                 "MSH-2: the encoding characters are missing");
        return CC_ERR_INVALID;
    }
    *enc_len = k;
    return CC_OK;
fields_only:
    /* For an ACK: split on the field separator alone, so MSH-10 can still be echoed. */
    memset(enc, 0, sizeof(*enc));
    enc->field = (char)fs;
    *enc_len = find(line + 4, n - 4, (char)fs);
    return CC_OK;
}

/* MSH-18 of the first segment line[n] (raw first repetition, first component). */
static int read_charset(const char *line, size_t n, const hl7_enc *enc, bool lenient,
                        hl7_charset *cs, hl7_error *err)
{
    *cs = HL7_CS_ASCII;
    size_t pos = 3; /* at MSH-1, the separator before MSH-2 */
    for (int f = 2; f < 18; f++) {
        size_t l = find(line + pos + 1, n - pos - 1, enc->field);
        pos += 1 + l;
        if (pos >= n)
            return CC_OK;
    }
    const char *v = line + pos + 1;
    size_t vn = find(v, n - pos - 1, enc->field);
    vn = find(v, vn, enc->rep);
    vn = find(v, vn, enc->comp);
    /* Decoded like any value: a writer may have escaped a character of the name. */
    cc_buf name = {0};
    int rc = hl7__decode(&name, v, vn, enc, HL7_CS_8859_1, true, NULL, 0);
    if (rc != CC_OK)
        return rc;
    v = name.data;
    vn = name.len - 1; /* without the NUL the decoder adds */
    while (vn && v[0] == ' ') {
        v++;
        vn--;
    }
    while (vn && v[vn - 1] == ' ')
        vn--;
    rc = CC_OK;
    if (hl7__charset_from_name(v, vn, cs) != CC_OK && !lenient) {
        hl7__err(err, HL7_ERRK_UNSUPPORTED, HL7_E_TABLE_VALUE, "MSH", 1, 18, 0, 0, 0,
                 "MSH-18: character set '%.*s' is not supported (UNICODE UTF-8, 8859/1, 8859/15, "
                 "ASCII)",
                 (int)(vn > 40 ? 40 : vn), v);
        rc = CC_ERR_INVALID;
    }
    cc_buf_free(&name);
    return rc;
}

/* The next segment from *pos: skips blank lines, returns its bytes without the line end. */
static bool next_line(const char *data, size_t n, size_t *pos, const char **line, size_t *len)
{
    size_t p = *pos;
    while (p < n && (data[p] == '\r' || data[p] == '\n'))
        p++;
    if (p >= n)
        return false;
    size_t e = p;
    while (e < n && data[e] != '\r' && data[e] != '\n')
        e++;
    *line = data + p;
    *len = e - p;
    *pos = e;
    return true;
}

static bool seg_id_ok(const char *line, size_t n, char fs)
{
    if (n < 3 || (n > 3 && line[3] != fs))
        return false;
    for (int i = 0; i < 3; i++) {
        char ch = line[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
            return false;
    }
    return true;
}

static int parse_segment(parse_ctx *c, const char *line, size_t n, size_t enc_len)
{
    hl7_msg *m = c->m;
    const hl7_limits *lim = c->po->lim;
    int rc;
    if (m->nsegs >= lim->max_segments) {
        hl7__err(c->err, HL7_ERRK_UNPROCESSABLE, HL7_E_INTERNAL, NULL, 0, 0, 0, 0, 0,
                 "more than %zu segments", lim->max_segments);
        return CC_ERR_TOO_BIG;
    }
    if (!seg_id_ok(line, n, m->enc.field)) {
        /* Name the segment in ERR-2 only when its id is at least printable. */
        char shown[4] = "";
        if (n >= 3 && is_alnum(line[0]) && is_alnum(line[1]) && is_alnum(line[2]))
            memcpy(shown, line, 3);
        hl7__err(c->err, HL7_ERRK_CONTENT, HL7_E_SEGMENT_SEQUENCE, shown, 0, 0, 0, 0, 0,
                 "segment %zu does not start with a segment id (3 capitals or digits)",
                 m->nsegs + 1);
        return CC_ERR_INVALID;
    }
    bool is_msh = memcmp(line, "MSH", 3) == 0;
    if (is_msh != (m->nsegs == 0)) {
        hl7__err(c->err, HL7_ERRK_UNSUPPORTED, HL7_E_SEGMENT_SEQUENCE, "MSH", 2, 0, 0, 0, 0,
                 "segment %zu: a second MSH (batches are not supported)", m->nsegs + 1);
        return CC_ERR_INVALID;
    }
    if ((rc = PUSH(m, segs, nsegs, capsegs)) != CC_OK)
        return rc;
    c->seg_index = m->nsegs++;
    hl7__seg *sg = &m->segs[c->seg_index];
    memcpy(sg->id, line, 3);
    sg->id[3] = '\0';
    sg->fields = (hl7__range){(uint32_t)m->nfields, 0};
    int fno = 1;
    size_t pos; /* at the separator before field fno */
    if (is_msh) {
        if ((rc = add_literal_field(m, &m->enc.field, 1)) != CC_OK ||
            (rc = add_literal_field(m, line + 4, enc_len)) != CC_OK)
            return rc;
        sg->fields.n = 2;
        fno = 3;
        pos = 4 + enc_len;
    } else {
        pos = 3;
    }
    while (pos < n) {
        if ((size_t)fno > lim->max_fields) {
            if (c->po->lenient)
                break; /* an ACK makes do with the fields before */
            hl7__err(c->err, HL7_ERRK_UNPROCESSABLE, HL7_E_INTERNAL, sg->id,
                     seg_seq_of(m, c->seg_index), fno, 0, 0, 0, "%s: more than %zu fields", sg->id,
                     lim->max_fields);
            return CC_ERR_TOO_BIG;
        }
        const char *f = line + pos + 1;
        size_t fl = find(f, n - pos - 1, m->enc.field);
        if ((rc = parse_field(c, f, fl, fno)) != CC_OK)
            return rc;
        m->segs[c->seg_index].fields.n++;
        pos += 1 + fl;
        fno++;
    }
    return CC_OK;
}

int hl7__parse(const char *data, size_t n, const hl7__parse_opts *po, hl7_msg **out, hl7_error *err)
{
    *out = NULL;
    hl7__err(err, HL7_ERRK_NONE, 0, NULL, 0, 0, 0, 0, 0, "%s", "");
    const hl7_limits *lim = po->lim ? po->lim : &hl7_limits_default;
    size_t max = lim->max_bytes < HL7_HARD_MAX_BYTES ? lim->max_bytes : HL7_HARD_MAX_BYTES;
    if (n > max) {
        if (!po->header_only) {
            hl7__err(err, HL7_ERRK_UNPROCESSABLE, HL7_E_INTERNAL, NULL, 0, 0, 0, 0, 0,
                     "message of %zu bytes, over the limit of %zu", n, max);
            return CC_ERR_TOO_BIG;
        }
        n = max;
    }
    size_t pos = 0;
    const char *line;
    size_t len, enc_len = 0;
    if (!next_line(data, n, &pos, &line, &len)) {
        hl7__err(err, HL7_ERRK_UNPROCESSABLE, HL7_E_SEGMENT_SEQUENCE, "MSH", 1, 0, 0, 0, 0,
                 "empty message");
        return CC_ERR_INVALID;
    }
    hl7_msg *m = cc_calloc(1, sizeof(*m));
    if (!m)
        return CC_ERR_NOMEM;
    int rc;
    if ((rc = read_encoding(line, len, po->lenient, &m->enc, &enc_len, err)) != CC_OK ||
        (rc = read_charset(line, len, &m->enc, po->lenient, &m->cs, err)) != CC_OK)
        goto fail;
    m->read_as = m->cs;
    if (m->cs == HL7_CS_ASCII)
        m->read_as = cc_utf8_valid(data, n) ? HL7_CS_UTF8 : HL7_CS_8859_1;
    if (!po->lenient) {
        const char *nul = memchr(data, '\0', n);
        if (nul) {
            hl7__err(err, HL7_ERRK_CONTENT, HL7_E_DATA_TYPE, NULL, 0, 0, 0, 0, 0,
                     "a NUL byte at offset %zu", (size_t)(nul - data));
            rc = CC_ERR_INVALID;
            goto fail;
        }
    }
    hl7__parse_opts eff = *po;
    eff.lim = lim;
    parse_ctx c = {.m = m, .po = &eff, .err = err};
    do {
        if ((rc = parse_segment(&c, line, len, enc_len)) != CC_OK)
            goto fail;
    } while (!po->header_only && next_line(data, n, &pos, &line, &len));
    *out = m;
    return CC_OK;
fail:
    hl7_msg_free(&m);
    return rc;
}

int hl7_msg_parse(const char *data, size_t n, const hl7_limits *lim, hl7_msg **out, hl7_error *err)
{
    hl7__parse_opts po = {.lim = lim};
    return hl7__parse(data, n, &po, out, err);
}

/* ---- access --------------------------------------------------------------------------------- */

static const hl7__seg *find_seg(const hl7_msg *m, const char *seg, int seq)
{
    if (!m || !seg)
        return NULL;
    if (seq < 1)
        seq = 1;
    for (size_t i = 0; i < m->nsegs; i++)
        if (strncmp(m->segs[i].id, seg, 4) == 0 && --seq == 0)
            return &m->segs[i];
    return NULL;
}

static const cc_str absent = {NULL, 0};

static cc_str get_in(const hl7_msg *m, const hl7__seg *sg, int field, int rep, int comp, int sub)
{
    if (!sg)
        return absent;
    field = field < 1 ? 1 : field;
    rep = rep < 1 ? 1 : rep;
    comp = comp < 1 ? 1 : comp;
    sub = sub < 1 ? 1 : sub;
    if ((uint32_t)field > sg->fields.n)
        return absent;
    const hl7__range *f = &m->fields[sg->fields.first + (uint32_t)field - 1];
    if ((uint32_t)rep > f->n)
        return absent;
    const hl7__range *r = &m->reps[f->first + (uint32_t)rep - 1];
    if ((uint32_t)comp > r->n)
        return absent;
    const hl7__range *c = &m->comps[r->first + (uint32_t)comp - 1];
    if ((uint32_t)sub > c->n)
        return absent;
    const hl7__leaf *l = &m->leaves[c->first + (uint32_t)sub - 1];
    return (cc_str){m->text.data + l->off, l->len};
}

cc_str hl7_get(const hl7_msg *m, const char *seg, int seg_seq, int field, int rep, int comp,
               int sub)
{
    return get_in(m, find_seg(m, seg, seg_seq), field, rep, comp, sub);
}

cc_str hl7_get_at(const hl7_msg *m, size_t si, int field, int rep, int comp, int sub)
{
    if (!m || si >= m->nsegs)
        return absent;
    return get_in(m, &m->segs[si], field, rep, comp, sub);
}

size_t hl7_segment_count(const hl7_msg *m)
{
    return m ? m->nsegs : 0;
}

const char *hl7_segment_id(const hl7_msg *m, size_t si)
{
    return m && si < m->nsegs ? m->segs[si].id : NULL;
}

size_t hl7_segment_count_of(const hl7_msg *m, const char *seg)
{
    size_t k = 0;
    for (size_t i = 0; m && seg && i < m->nsegs; i++)
        if (strncmp(m->segs[i].id, seg, 4) == 0)
            k++;
    return k;
}

size_t hl7_rep_count(const hl7_msg *m, const char *seg, int seg_seq, int field)
{
    const hl7__seg *sg = find_seg(m, seg, seg_seq);
    if (!sg || field < 1 || (uint32_t)field > sg->fields.n)
        return 0;
    return m->fields[sg->fields.first + (uint32_t)field - 1].n;
}

hl7_enc hl7_msg_enc(const hl7_msg *m)
{
    return m->enc;
}

hl7_charset hl7_msg_charset(const hl7_msg *m)
{
    return m->cs;
}
