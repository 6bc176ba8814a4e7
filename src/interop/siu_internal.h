/* Helpers shared by siu.c and siu_patient.c. */
#ifndef CC_INTEROP_SIU_INTERNAL_H
#define CC_INTEROP_SIU_INTERNAL_H

#include "interop/interop_internal.h"

/* Fills err (a content or support error at the location) and returns CC_ERR_INVALID. */
int siu__fail(hl7_error *err, hl7_err_kind kind, int code, const char *seg, int seq, int field,
              int rep, int comp, const char *reason);
/* Copies v into dst[cap] ("" when absent or the HL7 null); a value that does not fit is a
 * content error at the location, never cut. */
int siu__copy(char *dst, size_t cap, cc_str v, hl7_error *err, const char *seg, int seq, int field,
              int rep, int comp);
/* An XCN (id, family, given, assigning authority, type) at seg[seq]-field~rep. */
int siu__xcn(const hl7_msg *m, const char *seg, int seq, int field, int rep,
             interop_practitioner *p, hl7_error *err);
/* The PID segment, when there is one. */
int siu__patient(const hl7_msg *m, interop_patient *p, hl7_error *err);

#endif
