/* hl7_write: building HL7 v2 text value by value, escaping what the encoding characters reserve,
 * and serializing a parsed message. */
#include "interop/interop_internal.h"

#include <stdio.h>
#include <string.h>

void hl7_w_init(hl7_writer *w, cc_buf *b, const hl7_enc *enc, hl7_charset cs)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
    w->enc = enc ? *enc : hl7_enc_default;
    w->cs = cs;
}

static void put(hl7_writer *w, const void *p, size_t n)
{
    if (w->rc == CC_OK)
        w->rc = cc_buf_append(w->b, p, n);
}

static void put_sep(hl7_writer *w, char c)
{
    if (w->rc != CC_OK)
        return;
    if (!w->open || !c) {
        w->rc = CC_ERR_INVALID; /* outside a segment, or the encoding has no such separator */
        return;
    }
    put(w, &c, 1);
}

void hl7_w_segment(hl7_writer *w, const char *seg)
{
    if (w->rc != CC_OK)
        return;
    if (strlen(seg) != 3) {
        w->rc = CC_ERR_INVALID;
        return;
    }
    if (w->open)
        put(w, "\r", 1);
    put(w, seg, 3);
    w->open = true;
    if (strcmp(seg, "MSH") == 0) {
        const hl7_enc *e = &w->enc;
        const char hdr[6] = {e->field, e->comp, e->rep, e->esc, e->sub, e->trunc};
        size_t k = 1;
        while (k < 6 && hdr[k])
            k++;
        put(w, hdr, k);
    }
}

void hl7_w_field(hl7_writer *w)
{
    put_sep(w, w->enc.field);
}

void hl7_w_rep(hl7_writer *w)
{
    put_sep(w, w->enc.rep);
}

void hl7_w_comp(hl7_writer *w)
{
    put_sep(w, w->enc.comp);
}

void hl7_w_sub(hl7_writer *w)
{
    put_sep(w, w->enc.sub);
}

/* The escape of a character the encoding reserves, or NULL when it is plain. */
static const char *escape_of(const hl7_enc *e, char c)
{
    if (c == e->field)
        return "F";
    if (c == e->comp)
        return "S";
    if (c == e->sub)
        return "T";
    if (c == e->rep)
        return "R";
    if (c == e->esc)
        return "E";
    if (e->trunc && c == e->trunc)
        return "P";
    return NULL;
}

void hl7_w_text(hl7_writer *w, const char *p, size_t n)
{
    if (w->rc == CC_OK && !w->open)
        w->rc = CC_ERR_INVALID;
    for (size_t i = 0; i < n && w->rc == CC_OK;) {
        char c = p[i];
        if (c == '\0') {
            i++; /* dropped: no HL7 reader takes it back (\X00\ is refused) */
            continue;
        }
        const char *esc = escape_of(&w->enc, c);
        char tmp[8];
        if (!esc && c == '\n')
            esc = ".br";
        if (!esc && (unsigned char)c < 0x20 && c != '\t') {
            snprintf(tmp, sizeof(tmp), "X%02X", (unsigned)(unsigned char)c);
            esc = tmp;
        }
        if (esc) {
            if (!w->enc.esc) {
                w->rc = CC_ERR_INVALID; /* no way to write it */
                return;
            }
            put(w, &w->enc.esc, 1);
            put(w, esc, strlen(esc));
            put(w, &w->enc.esc, 1);
            i++;
            continue;
        }
        size_t used = 1;
        if (w->rc == CC_OK)
            w->rc = hl7__encode_char(w->b, p + i, n - i, w->cs, &used);
        i += used;
    }
}

void hl7_w_field_str(hl7_writer *w, const char *s)
{
    hl7_w_field(w);
    if (s)
        hl7_w_text(w, s, strlen(s));
}

int hl7_w_finish(hl7_writer *w)
{
    if (w->open)
        put(w, "\r", 1);
    w->open = false;
    return w->rc;
}

void hl7__write_field(hl7_writer *w, const hl7_msg *m, size_t si, int f)
{
    const hl7__seg *sg = &m->segs[si];
    if (f < 1 || (uint32_t)f > sg->fields.n)
        return;
    const hl7__range *fr = &m->fields[sg->fields.first + (uint32_t)f - 1];
    for (uint32_t r = 0; r < fr->n; r++) {
        if (r)
            hl7_w_rep(w);
        const hl7__range *rr = &m->reps[fr->first + r];
        for (uint32_t c = 0; c < rr->n; c++) {
            if (c)
                hl7_w_comp(w);
            const hl7__range *cr = &m->comps[rr->first + c];
            for (uint32_t s = 0; s < cr->n; s++) {
                if (s)
                    hl7_w_sub(w);
                const hl7__leaf *l = &m->leaves[cr->first + s];
                hl7_w_text(w, m->text.data + l->off, l->len);
            }
        }
    }
}

int hl7_msg_write(const hl7_msg *m, cc_buf *out)
{
    hl7_writer w;
    hl7_w_init(&w, out, &m->enc, m->cs);
    for (size_t si = 0; si < m->nsegs; si++) {
        const hl7__seg *sg = &m->segs[si];
        hl7_w_segment(&w, sg->id);
        /* MSH-1 and MSH-2 were written by hl7_w_segment. */
        int first = si == 0 ? 3 : 1;
        for (int f = first; (uint32_t)f <= sg->fields.n; f++) {
            hl7_w_field(&w);
            hl7__write_field(&w, m, si, f);
        }
    }
    return hl7_w_finish(&w);
}
