/* interop internals: the HL7 service (MLLP in, bookings applied by the store worker). Not for
 * other modules: they use interop.h. */
#ifndef CC_INTEROP_SERVICE_H
#define CC_INTEROP_SERVICE_H

#include "care/care.h"
#include "interop/interop.h"
#include "net/net.h"

struct interop_svc {
    const auth_keys *keys;
    store_worker *worker;
    net_mllp *mllp;
    care_policy policy;
    size_t max_message;
    int utc_offset_min;
    char *tlc_codes;
    char ack_content[3], ack_unsupported[3], ack_unprocessable[3];
    char *public_url; /* https://host:port, for links in resources */
    int pending;      /* messages in the worker's hands */
    struct {
        uint64_t accepted, refused, duplicates, ignored;
    } stats;
};

/* mllp_in.c */
void interop__on_mllp_message(void *ud, net_mllp_msg *m, const char *data, size_t n, bool oversize);
void interop__booking_from_siu(const interop_booking *in, int64_t msg_ts, care_booking *b);

/* ---- FHIR R4 (fhir_appt.c, fhir_in.c, fhir_api.c) ----------------------------------------- */

#define INTEROP_FHIR_VIRTUAL_SERVICE                                                               \
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService"

/* Where a resource a client sent is wrong: a FHIRPath expression and a reason. */
typedef struct {
    char expression[64];
    char why[160];
} fhir_error;

/* The booking an Appointment describes (update: an existing appointment is being changed).
 * CC_ERR_INVALID with e filled. */
int interop__fhir_to_booking(const json_t *res, const char *tlc_codes, bool update, care_booking *b,
                             fhir_error *e);
/* The Appointment resource of an appointment; link_url (the patient's) and staff_url may be "". */
json_t *interop__fhir_appointment(const care_appointment *a, const char *link_url,
                                  const char *staff_url);
/* An OperationOutcome with one error issue (code from the FHIR IssueType value set). */
json_t *interop__fhir_outcome(const char *code, const char *diagnostics, const char *expression);
void interop__fhir_system_in(const char *uri, char *out, size_t n);
void interop__fhir_instant(int64_t ms, char out[32]);
int interop__fhir_parse_instant(const char *s, int64_t *ms);
/* fhir_api.c */
extern const net_route interop_fhir_routes[];
extern const size_t interop_fhir_routes_count;

#endif
