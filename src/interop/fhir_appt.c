/* interop/fhir_appt: FHIR R4 Appointment <-> carecomm's appointments (docs/fhir.md). The patient
 * travels as a contained Patient; the join details in the R5 cross-version extension
 * virtualService; identifiers from HL7 keep their placer/filler nature in their system, so that a
 * booking made over HL7 and updated over FHIR (or the other way) is one consultation. */
#include "interop/interop_service.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define URN_PLACER "urn:carecomm:placer:"
#define URN_FILLER "urn:carecomm:filler:"
#define URN_ASSIGNER "urn:carecomm:assigner:"
#define TYPE_SYSTEM "urn:carecomm:appointment-type"

/* ---- identifiers --------------------------------------------------------------------------- */

static bool fhir_is_oid(const char *s)
{
    if (!*s || !isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && *s != '.')
            return false;
    return true;
}

/* A stored identifier system as a FHIR URI. */
static void fhir_system_out(const char *sys, char *out, size_t n)
{
    if (strncmp(sys, "placer:", 7) == 0)
        snprintf(out, n, URN_PLACER "%s", sys + 7);
    else if (strncmp(sys, "filler:", 7) == 0)
        snprintf(out, n, URN_FILLER "%s", sys + 7);
    else if (fhir_is_oid(sys))
        snprintf(out, n, "urn:oid:%s", sys);
    else if (strchr(sys, ':'))
        snprintf(out, n, "%s", sys);
    else
        snprintf(out, n, URN_ASSIGNER "%s", sys);
}

/* The reverse, for what a client sends back. */
void interop__fhir_system_in(const char *uri, char *out, size_t n)
{
    if (strncmp(uri, URN_PLACER, strlen(URN_PLACER)) == 0)
        snprintf(out, n, "placer:%s", uri + strlen(URN_PLACER));
    else if (strncmp(uri, URN_FILLER, strlen(URN_FILLER)) == 0)
        snprintf(out, n, "filler:%s", uri + strlen(URN_FILLER));
    else if (strncmp(uri, "urn:oid:", 8) == 0)
        snprintf(out, n, "%s", uri + 8);
    else if (strncmp(uri, URN_ASSIGNER, strlen(URN_ASSIGNER)) == 0)
        snprintf(out, n, "%s", uri + strlen(URN_ASSIGNER));
    else
        snprintf(out, n, "%s", uri);
}

static json_t *fhir_identifiers(const care_ident *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        char sys[CARE_ID_MAX + 32];
        fhir_system_out(ids[i].system, sys, sizeof sys);
        json_t *id = json_pack("{s:s,s:s}", "system", sys, "value", ids[i].value);
        const char *code = strncmp(ids[i].system, "placer:", 7) == 0   ? "PLAC"
                           : strncmp(ids[i].system, "filler:", 7) == 0 ? "FILL"
                                                                       : NULL;
        if (id && code)
            json_object_set_new(id, "type",
                                json_pack("{s:[{s:s,s:s}]}", "coding", "system",
                                          "http://terminology.hl7.org/CodeSystem/v2-0203", "code",
                                          code));
        json_array_append_new(a, id);
    }
    return a;
}

/* ---- times --------------------------------------------------------------------------------- */

void interop__fhir_instant(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)": FHIR instants carry their offset. */
int interop__fhir_parse_instant(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return CC_ERR_INVALID;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return CC_ERR_INVALID;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh > 14 || om > 59)
            return CC_ERR_INVALID;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return CC_ERR_INVALID;
    }
    if (*p)
        return CC_ERR_INVALID;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    *ms = ((int64_t)timegm(&tm) - (int64_t)off * 60) * 1000;
    return CC_OK;
}

/* ---- out ----------------------------------------------------------------------------------- */

json_t *interop__fhir_appointment(const care_appointment *a, const char *link_url,
                                  const char *staff_url)
{
    char when[32], updated[32];
    json_t *res = json_pack("{s:s,s:s,s:{s:s,s:s},s:o,s:s}", "resourceType", "Appointment", "id",
                            a->id, "meta", "versionId", "", "lastUpdated", "", "identifier",
                            fhir_identifiers(a->ids, a->nids), "status", a->status);
    if (!res)
        return NULL;
    char version[24];
    snprintf(version, sizeof version, "%lld", (long long)a->version);
    interop__fhir_instant(a->updated_at, updated);
    json_t *meta = json_object_get(res, "meta");
    json_object_set_new(meta, "versionId", json_string(version));
    json_object_set_new(meta, "lastUpdated", json_string(updated));
    if (a->start_ms && a->end_ms) {
        interop__fhir_instant(a->start_ms, when);
        json_object_set_new(res, "start", json_string(when));
        interop__fhir_instant(a->end_ms, when);
        json_object_set_new(res, "end", json_string(when));
        json_object_set_new(res, "minutesDuration",
                            json_integer((a->end_ms - a->start_ms) / 60000));
    }
    if (a->teleconsult)
        json_object_set_new(res, "appointmentType",
                            json_pack("{s:[{s:s,s:s,s:s}],s:s}", "coding", "system", TYPE_SYSTEM,
                                      "code", "TLC", "display", "Teleconsultation", "text",
                                      "Teleconsultation"));
    /* The patient, contained: carecomm keeps no Patient resources of its own. */
    json_t *patient = json_pack("{s:s,s:s,s:o}", "resourceType", "Patient", "id", "patient",
                                "identifier", fhir_identifiers(a->patient.ids, a->patient.nids));
    json_t *name = json_object();
    if (a->patient.family[0])
        json_object_set_new(name, "family", json_string(a->patient.family));
    if (a->patient.given[0])
        json_object_set_new(name, "given", json_pack("[s]", a->patient.given));
    if (json_object_size(name))
        json_object_set_new(patient, "name", json_pack("[o]", name));
    else
        json_decref(name);
    if (a->patient.birth[0])
        json_object_set_new(patient, "birthDate", json_string(a->patient.birth));
    json_t *telecom = json_array();
    if (a->patient.email[0])
        json_array_append_new(telecom,
                              json_pack("{s:s,s:s}", "system", "email", "value", a->patient.email));
    if (a->patient.mobile[0])
        json_array_append_new(telecom, json_pack("{s:s,s:s,s:s}", "system", "phone", "value",
                                                 a->patient.mobile, "use", "mobile"));
    if (json_array_size(telecom))
        json_object_set_new(patient, "telecom", telecom);
    else
        json_decref(telecom);
    if (!json_array_size(json_object_get(patient, "identifier")))
        json_object_del(patient, "identifier");
    json_object_set_new(res, "contained", json_pack("[o]", patient));
    char display[2 * CARE_TEXT_MAX + 2];
    snprintf(display, sizeof display, "%s%s%s", a->patient.given, a->patient.given[0] ? " " : "",
             a->patient.family);
    json_t *parts = json_pack("[{s:{s:s,s:s},s:s,s:s}]", "actor", "reference", "#patient",
                              "display", display, "required", "required", "status", "accepted");
    if (a->practitioner_id[0]) {
        char ref[CC_ID_LEN + 16];
        snprintf(ref, sizeof ref, "Practitioner/%s", a->practitioner_id);
        json_array_append_new(parts, json_pack("{s:{s:s,s:s},s:s,s:s}", "actor", "reference", ref,
                                               "display", a->practitioner_name, "required",
                                               "required", "status", "accepted"));
    }
    json_object_set_new(res, "participant", parts);
    if (a->teleconsult) {
        json_t *ext = json_pack("[{s:s,s:{s:s,s:s,s:s}}]", "url", "channelType", "valueCoding",
                                "system", "urn:carecomm:virtual-service", "code", "carecomm",
                                "display", "carecomm teleconsultation");
        if (link_url && *link_url)
            json_array_append_new(
                ext, json_pack("{s:s,s:s}", "url", "addressUrl", "valueUrl", link_url));
        if (staff_url && *staff_url)
            json_array_append_new(
                ext, json_pack("{s:s,s:s}", "url", "additionalInfo", "valueUrl", staff_url));
        if (a->room[0])
            json_array_append_new(
                ext, json_pack("{s:s,s:s}", "url", "sessionKey", "valueString", a->room));
        json_object_set_new(
            res, "extension",
            json_pack("[{s:s,s:o}]", "url", INTEROP_FHIR_VIRTUAL_SERVICE, "extension", ext));
    }
    return res;
}

json_t *interop__fhir_outcome(const char *code, const char *diagnostics, const char *expression)
{
    json_t *issue =
        json_pack("{s:s,s:s,s:s}", "severity", "error", "code", code, "diagnostics", diagnostics);
    if (issue && expression && *expression)
        json_object_set_new(issue, "expression", json_pack("[s]", expression));
    return json_pack("{s:s,s:[o]}", "resourceType", "OperationOutcome", "issue", issue);
}
