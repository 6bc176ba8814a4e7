/* Fuzz target: an Appointment a FHIR client sends (any bytes as the body), through the same JSON
 * parser as the router and the mapping to a booking; and any booking-shaped appointment back to
 * a resource. What must hold: no crash or leak; a mapping either succeeds with bounded strings
 * and start/end together, or names the element it refuses; the resource built back has the
 * Appointment's required elements. */
#include "care/care.h"
#include "interop/interop_service.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    json_t *res = cc_json_parse_object((const char *)data, size, 1 << 20, &why);
    if (!res)
        return 0;
    care_booking b;
    fhir_error e;
    int rc = interop__fhir_to_booking(res, "TLC,TELECONSULTATION", size % 2, &b, &e);
    if (rc == CC_OK) {
        if ((b.start_ms == 0) != (b.end_ms == 0) || b.nids > CARE_MAX_IDS ||
            b.nprac > CARE_MAX_IDS || b.patient.nids > CARE_MAX_IDS)
            __builtin_trap();
        check_string(b.patient.email, sizeof b.patient.email);
        check_string(b.patient.family, sizeof b.patient.family);
        check_string(b.practitioner_user, sizeof b.practitioner_user);
        /* What carecomm would answer with, from what was read. */
        care_appointment a;
        memset(&a, 0, sizeof a);
        memcpy(a.id, "00000000000000000000000000", CC_ID_LEN);
        memcpy(a.ids, b.ids, sizeof a.ids);
        a.nids = b.nids;
        snprintf(a.status, sizeof a.status, "%s", b.status);
        a.start_ms = b.start_ms;
        a.end_ms = b.end_ms;
        a.teleconsult = b.teleconsult;
        memcpy(a.patient.ids, b.patient.ids, sizeof a.patient.ids);
        a.patient.nids = b.patient.nids;
        json_t *out = interop__fhir_appointment(&a, "https://x/visit/t", "");
        if (!out || !json_object_get(out, "status") || !json_object_get(out, "participant"))
            __builtin_trap();
        json_decref(out);
    } else if (rc != CC_ERR_INVALID || !e.expression[0] || !e.why[0]) {
        __builtin_trap();
    }
    json_decref(res);
    return 0;
}
