/* care: what its files share. Not for other modules. */
#ifndef CC_CARE_INTERNAL_H
#define CC_CARE_INTERNAL_H

#include "care/care.h"

/* An appointment as it was before a change. */
typedef struct {
    bool found;
    char id[CC_ID_LEN + 1];
    char status[24];
    int64_t msg_ts, start_ms, end_ms;
    bool teleconsult;
    char practitioner_id[CC_ID_LEN + 1];
    char room[48];
    char email[CARE_EMAIL_MAX], mobile[CARE_PHONE_MAX];
} care_appt_row;

/* What a change makes of it. */
typedef struct {
    char id[CC_ID_LEN + 1];
    char status[24];
    int64_t start_ms, end_ms;
    bool teleconsult;
    char practitioner_id[CC_ID_LEN + 1];
} care_change;

/* appt.c: loads one appointment; CC_ERR_NOT_FOUND. */
int care__appt_load(store *st, const char *id, care_appt_row *a);
/* consult.c: the room, links and outbox follow the appointment (after its row is written). */
int care__consult_follow(store *st, const care_appt_row *before, const care_change *c,
                         const care_policy *p, int64_t now_ms);
/* consult.c: appends "appointment.updated" with the appointment as it now is. */
int care__event_updated(store *st, const char *appointment_id);

#endif
