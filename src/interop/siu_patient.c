/* siu_patient: the patient of an SIU message (PID) — identifiers with the French INS and the
 * Belgian SSIN checked, names, birth date, e-mail and phone numbers — and the XCN of
 * practitioners. */
#include "interop/siu_internal.h"

#include <stdio.h>
#include <string.h>

#define OID_INS_NIR "1.2.250.1.213.1.4.8"
#define OID_INS_NIA "1.2.250.1.213.1.4.9"
#define SSIN_SYSTEM "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"

static bool is(const char *s, const char *want)
{
    return hl7__ieq(s, strlen(s), want);
}

static int copy_at(const hl7_msg *m, char *dst, size_t cap, const char *seg, int seq, int field,
                   int rep, int comp, int sub, hl7_error *err)
{
    return siu__copy(dst, cap, hl7_get(m, seg, seq, field, rep, comp, sub), err, seg, seq, field,
                     rep, comp);
}

int siu__xcn(const hl7_msg *m, const char *seg, int seq, int field, int rep,
             interop_practitioner *p, hl7_error *err)
{
    interop_ident *id = &p->ident;
    int rc;
    if ((rc = copy_at(m, id->id, sizeof(id->id), seg, seq, field, rep, 1, 1, err)) != CC_OK ||
        (rc = copy_at(m, p->family, sizeof(p->family), seg, seq, field, rep, 2, 1, err)) != CC_OK ||
        (rc = copy_at(m, p->given, sizeof(p->given), seg, seq, field, rep, 3, 1, err)) != CC_OK ||
        (rc = copy_at(m, id->ns, sizeof(id->ns), seg, seq, field, rep, 9, 1, err)) != CC_OK ||
        (rc = copy_at(m, id->uid, sizeof(id->uid), seg, seq, field, rep, 9, 2, err)) != CC_OK ||
        (rc = copy_at(m, id->uid_type, sizeof(id->uid_type), seg, seq, field, rep, 9, 3, err)) !=
            CC_OK ||
        (rc = copy_at(m, id->type, sizeof(id->type), seg, seq, field, rep, 13, 1, err)) != CC_OK)
        return rc;
    return CC_OK;
}

/* One PID-3 repetition (CX): id^^^namespace&universal id&type^type code, recognised and checked. */
static int read_cx(const hl7_msg *m, int rep, interop_ident *id, hl7_error *err)
{
    memset(id, 0, sizeof(*id));
    int rc;
    if ((rc = copy_at(m, id->id, sizeof(id->id), "PID", 1, 3, rep, 1, 1, err)) != CC_OK ||
        (rc = copy_at(m, id->ns, sizeof(id->ns), "PID", 1, 3, rep, 4, 1, err)) != CC_OK ||
        (rc = copy_at(m, id->uid, sizeof(id->uid), "PID", 1, 3, rep, 4, 2, err)) != CC_OK ||
        (rc = copy_at(m, id->uid_type, sizeof(id->uid_type), "PID", 1, 3, rep, 4, 3, err)) !=
            CC_OK ||
        (rc = copy_at(m, id->type, sizeof(id->type), "PID", 1, 3, rep, 5, 1, err)) != CC_OK)
        return rc;
    char why[120] = "";
    if (strcmp(id->uid, OID_INS_NIR) == 0 || is(id->ns, "ASIP-SANTE-INS-NIR")) {
        id->kind = INTEROP_ID_INS_NIR;
        rc = interop_nir_check(id->id, strlen(id->id), why, sizeof(why));
    } else if (strcmp(id->uid, OID_INS_NIA) == 0 || is(id->ns, "ASIP-SANTE-INS-NIA")) {
        /* A temporary NIA: only its length is checked (its key rule is not the NIR's to us). */
        id->kind = INTEROP_ID_INS_NIA;
        if (strlen(id->id) != 15) {
            cc_say(why, sizeof(why), "an NIA has 15 characters, not %zu", strlen(id->id));
            rc = CC_ERR_INVALID;
        }
    } else if (strcmp(id->uid, SSIN_SYSTEM) == 0 || is(id->ns, "SSIN") || is(id->ns, "NISS") ||
               is(id->ns, "INSZ") || is(id->type, "NNBEL")) {
        id->kind = INTEROP_ID_SSIN;
        rc = interop_ssin_check(id->id, strlen(id->id), why, sizeof(why));
    }
    if (rc != CC_OK) {
        hl7__err(err, HL7_ERRK_CONTENT, HL7_E_DATA_TYPE, "PID", 1, 3, rep, 0, 0, "PID-3: %s", why);
        return CC_ERR_INVALID;
    }
    return CC_OK;
}

static bool email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.') || !at[1])
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* Keeps digits and a leading '+' of a phone number; false when it is not one. */
static bool phone_clean(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = in; *p; p++) {
        if ((*p >= '0' && *p <= '9') || (*p == '+' && o == 0)) {
            if (o + 1 >= cap)
                return false;
            out[o++] = *p;
        } else if (!strchr(" .-()/", *p)) {
            return false;
        }
    }
    out[o] = '\0';
    return o >= 4;
}

/* French mobile numbers (06, 07, +33 6, +33 7): senders often type them PH rather than CP. */
static bool french_mobile(const char *n)
{
    if (strncmp(n, "+33", 3) == 0)
        n += 3;
    else if (strncmp(n, "0033", 4) == 0)
        n += 4;
    else if (n[0] == '0')
        n += 1;
    else
        return false;
    return (n[0] == '6' || n[0] == '7') && strlen(n) == 9;
}

/* PID-13 and PID-14 repetitions (XTN): the first e-mail, mobile and other phone found. */
static void read_xtn(const hl7_msg *m, int field, int rep, interop_patient *p)
{
    char use[16] = "", equip[16] = "", v[256] = "";
    siu__copy(use, sizeof(use), hl7_get(m, "PID", 1, field, rep, 2, 1), NULL, "PID", 1, field, rep,
              2);
    siu__copy(equip, sizeof(equip), hl7_get(m, "PID", 1, field, rep, 3, 1), NULL, "PID", 1, field,
              rep, 3);
    if (is(use, "NET") || is(equip, "Internet") || is(equip, "X.400")) {
        siu__copy(v, sizeof(v), hl7_get(m, "PID", 1, field, rep, 4, 1), NULL, "PID", 1, field, rep,
                  4);
        if (!v[0])
            siu__copy(v, sizeof(v), hl7_get(m, "PID", 1, field, rep, 1, 1), NULL, "PID", 1, field,
                      rep, 1);
        if (!p->email[0] && email_ok(v) && strlen(v) < sizeof(p->email))
            memcpy(p->email, v, strlen(v) + 1);
        return;
    }
    if (is(equip, "FX") || is(equip, "BP") || is(equip, "MD"))
        return;
    /* XTN-12 (v2.5 unformatted number), else XTN-1, else +country area local. */
    siu__copy(v, sizeof(v), hl7_get(m, "PID", 1, field, rep, 12, 1), NULL, "PID", 1, field, rep,
              12);
    if (!v[0])
        siu__copy(v, sizeof(v), hl7_get(m, "PID", 1, field, rep, 1, 1), NULL, "PID", 1, field, rep,
                  1);
    if (!v[0]) {
        char parts[3][64] = {"", "", ""};
        for (int c = 0; c < 3; c++)
            siu__copy(parts[c], sizeof(parts[c]), hl7_get(m, "PID", 1, field, rep, 5 + c, 1), NULL,
                      "PID", 1, field, rep, 5 + c);
        if (parts[2][0])
            snprintf(v, sizeof(v), "%s%s%s%s", parts[0][0] ? "+" : "", parts[0], parts[1],
                     parts[2]);
    }
    char num[41];
    if (!v[0] || !phone_clean(v, num, sizeof(num)))
        return;
    bool mobile = is(equip, "CP") || french_mobile(num);
    char *dst = mobile ? p->mobile : p->phone;
    if (!dst[0])
        memcpy(dst, num, strlen(num) + 1);
}

/* PID-5: the legal name (XPN-7 = L) when there is one, else the first. */
static int read_name(const hl7_msg *m, interop_patient *p, hl7_error *err)
{
    size_t nrep = hl7_rep_count(m, "PID", 1, 5);
    int pick = 1;
    for (size_t r = 1; r <= nrep; r++) {
        cc_str t = hl7_get(m, "PID", 1, 5, (int)r, 7, 1);
        if (t.p && hl7__ieq(t.p, t.n, "L")) {
            pick = (int)r;
            break;
        }
    }
    int rc;
    if ((rc = copy_at(m, p->family, sizeof(p->family), "PID", 1, 5, pick, 1, 1, err)) != CC_OK ||
        (rc = copy_at(m, p->given, sizeof(p->given), "PID", 1, 5, pick, 2, 1, err)) != CC_OK)
        return rc;
    return CC_OK;
}

static int read_birth_date(const hl7_msg *m, interop_patient *p, hl7_error *err)
{
    cc_str v = hl7_get(m, "PID", 1, 7, 1, 1, 1);
    if (!v.p || v.n == 0 || (v.n == 2 && memcmp(v.p, "\"\"", 2) == 0))
        return CC_OK;
    int64_t ms;
    char why[120];
    if (hl7_dtm_parse(v.p, v.n, 0, 4, &ms, why, sizeof(why)) != CC_OK) {
        hl7__err(err, HL7_ERRK_CONTENT, HL7_E_DATA_TYPE, "PID", 1, 7, 0, 0, 0, "PID-7: %s", why);
        return CC_ERR_INVALID;
    }
    /* As precise as sent, like a FHIR date: YYYY, YYYY-MM or YYYY-MM-DD. */
    size_t digits = 0;
    while (digits < v.n && digits < 8 && v.p[digits] >= '0' && v.p[digits] <= '9')
        digits++;
    if (digits >= 8)
        snprintf(p->birth_date, sizeof(p->birth_date), "%.4s-%.2s-%.2s", v.p, v.p + 4, v.p + 6);
    else if (digits >= 6)
        snprintf(p->birth_date, sizeof(p->birth_date), "%.4s-%.2s", v.p, v.p + 4);
    else
        snprintf(p->birth_date, sizeof(p->birth_date), "%.4s", v.p);
    return CC_OK;
}

int siu__patient(const hl7_msg *m, interop_patient *p, hl7_error *err)
{
    p->ins_index = -1;
    if (hl7_segment_count_of(m, "PID") == 0)
        return CC_OK;
    p->present = true;
    int rc;
    size_t nrep = hl7_rep_count(m, "PID", 1, 3);
    for (size_t r = 1; r <= nrep; r++) {
        cc_str id = hl7_get(m, "PID", 1, 3, (int)r, 1, 1);
        if (!id.p || id.n == 0)
            continue;
        if (p->n_ids == INTEROP_MAX_PATIENT_IDS)
            return siu__fail(err, HL7_ERRK_CONTENT, HL7_E_DATA_TYPE, "PID", 1, 3, (int)r, 0,
                             "PID-3: more identifiers than accepted (10)");
        interop_ident *ident = &p->ids[p->n_ids];
        if ((rc = read_cx(m, (int)r, ident, err)) != CC_OK)
            return rc;
        bool ins = ident->kind == INTEROP_ID_INS_NIR || ident->kind == INTEROP_ID_INS_NIA;
        if (ins && p->ins_index < 0)
            p->ins_index = (int)p->n_ids;
        p->n_ids++;
    }
    if ((rc = read_name(m, p, err)) != CC_OK || (rc = read_birth_date(m, p, err)) != CC_OK ||
        (rc = copy_at(m, p->identity_status, sizeof(p->identity_status), "PID", 1, 32, 1, 1, 1,
                      err)) != CC_OK)
        return rc;
    for (int field = 13; field <= 14; field++) {
        size_t n = hl7_rep_count(m, "PID", 1, field);
        for (size_t r = 1; r <= n; r++)
            read_xtn(m, field, (int)r, p);
    }
    return CC_OK;
}
