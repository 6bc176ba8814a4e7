/* interop/fhir_in: an Appointment a FHIR client sends, as a booking for care (docs/fhir.md). */
#include "interop/interop_service.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *fhir_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int fhir_bad(fhir_error *e, const char *expr, const char *why)
{
    snprintf(e->expression, sizeof e->expression, "%s", expr);
    snprintf(e->why, sizeof e->why, "%s", why);
    return CC_ERR_INVALID;
}

/* Copies a string that must fit; one that does not is an error, never cut. */
static bool fhir_copy(char *dst, size_t n, const char *src)
{
    if (!src)
        src = "";
    if (strlen(src) >= n)
        return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

static bool fhir_code_matches(const json_t *concepts, const char *codes)
{
    /* concepts: a CodeableConcept or an array of them; a code equal (ignoring case) to one of
     * the comma list counts. */
    const json_t *list[8];
    size_t nl = 0;
    if (json_is_array(concepts)) {
        size_t i;
        json_t *v;
        json_array_foreach(concepts, i, v) if (nl < 8) list[nl++] = v;
    } else if (json_is_object(concepts)) {
        list[nl++] = concepts;
    }
    for (size_t k = 0; k < nl; k++) {
        size_t i;
        json_t *coding;
        json_array_foreach(json_object_get(list[k], "coding"), i, coding)
        {
            const char *code = fhir_str(coding, "code");
            if (!code)
                continue;
            for (const char *p = codes; p && *p;) {
                size_t len = strcspn(p, ",");
                while (len && *p == ' ') {
                    p++;
                    len--;
                }
                size_t tl = len;
                while (tl && p[tl - 1] == ' ')
                    tl--;
                if (tl && strlen(code) == tl && strncasecmp(code, p, tl) == 0)
                    return true;
                p += len;
                if (*p == ',')
                    p++;
            }
        }
    }
    return false;
}

static int fhir_patient(const json_t *res, const char *ref, care_booking *b, fhir_error *e)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(res, "contained"), i, c)
    {
        const char *id = fhir_str(c, "id");
        if (!id || strcmp(id, ref + 1) != 0)
            continue;
        if (!fhir_str(c, "resourceType") || strcmp(fhir_str(c, "resourceType"), "Patient") != 0)
            return fhir_bad(e, "Appointment.contained", "the patient must be a Patient");
        json_t *name = json_array_get(json_object_get(c, "name"), 0);
        if (!fhir_copy(b->patient.family, sizeof b->patient.family, fhir_str(name, "family")) ||
            !fhir_copy(b->patient.given, sizeof b->patient.given,
                       json_string_value(json_array_get(json_object_get(name, "given"), 0))) ||
            !fhir_copy(b->patient.birth, sizeof b->patient.birth, fhir_str(c, "birthDate")))
            return fhir_bad(e, "Patient.name", "a name or birth date is too long");
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(c, "telecom"), k, t)
        {
            const char *sys = fhir_str(t, "system"), *val = fhir_str(t, "value");
            if (!sys || !val)
                continue;
            bool ok = true;
            if (strcmp(sys, "email") == 0 && !b->patient.email[0])
                ok = fhir_copy(b->patient.email, sizeof b->patient.email, val);
            else if ((strcmp(sys, "sms") == 0 || strcmp(sys, "phone") == 0) &&
                     (!b->patient.mobile[0] ||
                      (fhir_str(t, "use") && strcmp(fhir_str(t, "use"), "mobile") == 0)))
                ok = fhir_copy(b->patient.mobile, sizeof b->patient.mobile, val);
            if (!ok)
                return fhir_bad(e, "Patient.telecom", "a contact is too long");
        }
        json_t *idv;
        json_array_foreach(json_object_get(c, "identifier"), k, idv)
        {
            if (b->patient.nids == CARE_MAX_IDS)
                break;
            care_ident *d = &b->patient.ids[b->patient.nids];
            char sys[CARE_ID_MAX];
            const char *s = fhir_str(idv, "system");
            interop__fhir_system_in(s ? s : "", sys, sizeof sys);
            if (!fhir_str(idv, "value") || !fhir_copy(d->system, sizeof d->system, sys) ||
                !fhir_copy(d->value, sizeof d->value, fhir_str(idv, "value")))
                return fhir_bad(e, "Patient.identifier", "an identifier is missing or too long");
            b->patient.nids++;
        }
        return CC_OK;
    }
    return fhir_bad(e, "Appointment.participant.actor", "no contained resource has that id");
}

int interop__fhir_to_booking(const json_t *res, const char *tlc_codes, bool update, care_booking *b,
                             fhir_error *e)
{
    memset(b, 0, sizeof *b);
    memset(e, 0, sizeof *e);
    const char *type = fhir_str(res, "resourceType");
    if (!type || strcmp(type, "Appointment") != 0)
        return fhir_bad(e, "resourceType", "the resource must be an Appointment");
    const char *status = fhir_str(res, "status");
    static const char *const known[] = {"proposed",   "pending",   "booked", "arrived",
                                        "fulfilled",  "cancelled", "noshow", "entered-in-error",
                                        "checked-in", "waitlist"};
    bool ok = false;
    for (size_t i = 0; status && i < sizeof known / sizeof known[0]; i++)
        ok = ok || strcmp(status, known[i]) == 0;
    if (!ok)
        return fhir_bad(e, "Appointment.status", "status is missing or not an Appointment status");
    b->action = strcmp(status, "cancelled") == 0          ? CARE_CANCEL
                : strcmp(status, "noshow") == 0           ? CARE_NOSHOW
                : strcmp(status, "entered-in-error") == 0 ? CARE_DELETE
                : update                                  ? CARE_MODIFY
                                                          : CARE_BOOK;
    snprintf(b->status, sizeof b->status, "%s", status);
    b->msg_ts = cc_now_ms();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(res, "identifier"), i, v)
    {
        if (b->nids == CARE_MAX_IDS - 1) /* one place is kept for the appointment's own */
            break;
        char sys[CARE_ID_MAX];
        const char *s = fhir_str(v, "system");
        interop__fhir_system_in(s ? s : "urn:carecomm:fhir", sys, sizeof sys);
        if (!fhir_str(v, "value") || !fhir_copy(b->ids[b->nids].system, CARE_ID_MAX, sys) ||
            !fhir_copy(b->ids[b->nids].value, CARE_ID_MAX, fhir_str(v, "value")))
            return fhir_bad(e, "Appointment.identifier", "an identifier is missing or too long");
        b->nids++;
    }
    const char *start = fhir_str(res, "start"), *end = fhir_str(res, "end");
    if ((start && interop__fhir_parse_instant(start, &b->start_ms) != CC_OK) ||
        (end && interop__fhir_parse_instant(end, &b->end_ms) != CC_OK))
        return fhir_bad(e, start && b->start_ms == 0 ? "Appointment.start" : "Appointment.end",
                        "not an instant with its time zone (2026-12-01T10:00:00+01:00)");
    if (!start != !end)
        return fhir_bad(e, "Appointment", "start and end go together (app-2)");
    json_array_foreach(json_object_get(res, "participant"), i, v)
    {
        json_t *actor = json_object_get(v, "actor");
        const char *ref = fhir_str(actor, "reference");
        if (ref && strncmp(ref, "Practitioner/", 13) == 0) {
            if (!fhir_copy(b->practitioner_user, sizeof b->practitioner_user, ref + 13))
                return fhir_bad(e, "Appointment.participant.actor", "unknown practitioner");
        } else if (ref && ref[0] == '#') {
            int rc = fhir_patient(res, ref, b, e);
            if (rc != CC_OK)
                return rc;
        } else if (!ref && fhir_str(json_object_get(actor, "identifier"), "value") &&
                   b->nprac < CARE_MAX_IDS) {
            /* a practitioner named by an identifier, as in HL7's AIP-3 */
            if (!fhir_copy(b->practitioner_idents[b->nprac], CARE_ID_MAX,
                           fhir_str(json_object_get(actor, "identifier"), "value")))
                return fhir_bad(e, "Appointment.participant.actor", "identifier too long");
            b->nprac++;
        }
    }
    /* A teleconsultation: it has the virtualService extension, or a teleconsultation code. */
    json_array_foreach(json_object_get(res, "extension"), i, v)
    {
        const char *url = fhir_str(v, "url");
        if (url && strcmp(url, INTEROP_FHIR_VIRTUAL_SERVICE) == 0)
            b->teleconsult = true;
    }
    if (!b->teleconsult)
        b->teleconsult = fhir_code_matches(json_object_get(res, "appointmentType"), tlc_codes) ||
                         fhir_code_matches(json_object_get(res, "serviceType"), tlc_codes) ||
                         fhir_code_matches(json_object_get(res, "serviceCategory"), tlc_codes);
    return CC_OK;
}
