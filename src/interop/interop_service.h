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
    int pending; /* messages in the worker's hands */
    struct {
        uint64_t accepted, refused, duplicates, ignored;
    } stats;
};

/* mllp_in.c */
void interop__on_mllp_message(void *ud, net_mllp_msg *m, const char *data, size_t n,
                              bool oversize);
void interop__booking_from_siu(const interop_booking *in, int64_t msg_ts, care_booking *b);

#endif
