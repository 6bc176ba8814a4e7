/* care: appointments and the teleconsultations they create. A booking arrives from a booking
 * system (HL7 v2 SIU over MLLP or FHIR R4 Appointment: the interop module turns either into a
 * care_booking) and is applied here: the appointment is created or changed, a teleconsultation
 * gets its room and patient link, the patient's invitation is queued in the outbox, and an
 * "appointment.updated" event tells the staff who may see it.
 *
 * Ordering: every booking carries the time its sender made the change (msg_ts). A change older
 * than what the appointment already reflects is acknowledged and not applied, and at equal times
 * a cancellation or deletion wins over a booking: so a cancellation that overtakes its booking
 * (interface engines do that) leaves the appointment cancelled, with no link and no invitation.
 *
 * Logic functions take plain values and a store handle inside the caller's transaction (a store
 * worker job), so unit tests call them without a network. */
#ifndef CC_CARE_H
#define CC_CARE_H

#include "account/account.h"
#include "auth/auth.h"
#include "net/net.h"
#include "store/store.h"

/* ---- bookings ------------------------------------------------------------------------------ */

typedef enum {
    CARE_BOOK = 1,   /* a new booking (SIU^S12, FHIR create) */
    CARE_RESCHEDULE, /* new times (S13) */
    CARE_MODIFY,     /* other details (S14, FHIR update) */
    CARE_CANCEL,     /* S15, FHIR status cancelled */
    CARE_DELETE,     /* S17: entered in error */
    CARE_NOSHOW      /* S26 */
} care_action;

#define CARE_MAX_IDS 4
#define CARE_ID_MAX 144   /* bytes of an identifier value or system, NUL included */
#define CARE_TEXT_MAX 132 /* names, service, location */
#define CARE_EMAIL_MAX 256
#define CARE_PHONE_MAX 48

typedef struct {
    char system[CARE_ID_MAX]; /* "placer:<namespace>", "filler:<namespace>", a FHIR system, ... */
    char value[CARE_ID_MAX];
} care_ident;

/* Plain values, copied by value (no pointers): a job owns its copy. */
typedef struct {
    care_action action;
    int64_t msg_ts;               /* when the sender made this change (Unix ms) */
    care_ident ids[CARE_MAX_IDS]; /* the appointment's identifiers; at least one */
    size_t nids;
    char status[24];          /* FHIR Appointment status the source gave; "" = implied */
    int64_t start_ms, end_ms; /* 0 when unknown */
    /* The practitioner: identifiers matched against `carecomm user create --ident`, or a
     * carecomm user id (FHIR Practitioner references name users directly). */
    char practitioner_idents[CARE_MAX_IDS][CARE_ID_MAX];
    size_t nprac;
    char practitioner_user[CC_ID_LEN + 1];
    char service[CARE_TEXT_MAX], location[CARE_TEXT_MAX];
    bool teleconsult;
    /* The message says nothing of the appointment's type (an S14 or S15 without SCH-7/8, AIS,
     * AIL): an appointment carecomm knows keeps what it is; an unknown one is not a
     * teleconsultation. */
    bool type_unknown;
    struct {
        char family[CARE_TEXT_MAX], given[CARE_TEXT_MAX];
        char birth[16]; /* YYYY-MM-DD or "" */
        char email[CARE_EMAIL_MAX], mobile[CARE_PHONE_MAX];
        care_ident ids[CARE_MAX_IDS]; /* INS, SSIN, hospital ids */
        size_t nids;
    } patient;
} care_booking;

/* What a refused booking got wrong, for the sender's error report (HL7 ERR, OperationOutcome). */
typedef enum {
    CARE_FIELD_NONE = 0,
    CARE_FIELD_ID,           /* no appointment identifier */
    CARE_FIELD_PRACTITIONER, /* unknown practitioner */
    CARE_FIELD_TIME,         /* missing or inverted start/end */
    CARE_FIELD_CONTACT,      /* a teleconsultation without e-mail or mobile */
} care_field;

typedef enum {
    CARE_CREATED = 1, /* a new appointment */
    CARE_UPDATED,     /* an existing one changed */
    CARE_STALE,       /* older than what the appointment reflects: nothing changed */
    CARE_IGNORED,     /* not a teleconsultation, and carecomm does not know it: nothing stored */
} care_outcome;

typedef struct {
    care_outcome outcome;
    char appointment_id[CC_ID_LEN + 1];
    char status[24];  /* the appointment's status after the change */
    care_field field; /* set with CC_ERR_INVALID */
    char reason[160]; /* set with CC_ERR_INVALID: for the sender, never patient data */
} care_result;

/* How long around the appointment its links work. */
typedef struct {
    int64_t link_before_ms; /* a link opens this long before the start */
    int64_t link_after_ms;  /* and closes this long after the end */
} care_policy;

/* Applies a booking inside the caller's transaction, all or nothing. CC_OK with out->outcome;
 * CC_ERR_INVALID (nothing written) with out->field and out->reason when the booking is wrong;
 * other codes for store failures. actor names the sender in the audit trail ("hl7:<app>"). */
int care_apply_booking(store *st, const auth_keys *keys, const care_booking *b,
                       const care_policy *p, const char *actor, int64_t now_ms, care_result *out);

/* The FHIR status a booking's action implies when the source gave none. */
const char *care_status_for(care_action a, const char *given);
/* True for statuses in which a teleconsultation's links work (booked, pending, arrived,
 * checked-in). */
bool care_status_active(const char *status);

/* ---- reading appointments (read.c) ----------------------------------------------------------- */

typedef struct {
    char id[CC_ID_LEN + 1];
    care_ident ids[CARE_MAX_IDS]; /* the booking systems' identifiers */
    size_t nids;
    char status[24]; /* FHIR Appointment status */
    char state[16];  /* the consultation: scheduled, waiting, in_call, done, no_show */
    int64_t start_ms, end_ms;
    char practitioner_id[CC_ID_LEN + 1], practitioner_name[CARE_TEXT_MAX];
    bool teleconsult;
    char room[48];
    char service[CARE_TEXT_MAX], location[CARE_TEXT_MAX];
    struct {
        char family[CARE_TEXT_MAX], given[CARE_TEXT_MAX], birth[16];
        char email[CARE_EMAIL_MAX], mobile[CARE_PHONE_MAX];
        care_ident ids[CARE_MAX_IDS];
        size_t nids;
    } patient;
    int64_t version, updated_at;
} care_appointment;

/* CC_ERR_NOT_FOUND when there is none. */
int care_appointment_get(store *st, const char *id, care_appointment *out);

#define CARE_SEARCH_MAX 200
typedef struct {
    char identifier[CARE_ID_MAX], identifier_system[CARE_ID_MAX]; /* "" = any */
    char practitioner[CC_ID_LEN + 1];
    char patient_identifier[CARE_ID_MAX];
    char patient_like[CARE_ID_MAX * 2 + 16]; /* set by the caller with care_search_patient */
    int64_t start_from, start_before;        /* 0 = unbounded */
    char status[8][24];
    size_t nstatus;
} care_search;
/* Sets the patient identifier a search looks for (any system). */
void care_search_patient(care_search *q, const char *value);
typedef int (*care_appt_fn)(void *ud, const care_appointment *a);
/* Calls fn for each match by start time (at most CARE_SEARCH_MAX); *total (may be NULL) gets
 * how many. */
int care_appointment_search(store *st, const care_search *q, care_appt_fn fn, void *ud,
                            size_t *total);

/* ---- practitioners' identifiers ------------------------------------------------------------ */

/* Adds an identifier (1..143 bytes, printable) to a user; CC_ERR_EXISTS if another user has it. */
int care_ident_add(store *st, const char *user_id, const char *ident);
/* The user an identifier names; CC_ERR_NOT_FOUND. */
int care_ident_user(store *st, const char *ident, char user_id[CC_ID_LEN + 1]);

/* ---- patient links ------------------------------------------------------------------------- */

typedef struct {
    char link_id[AUTH_LINK_ID_LEN + 1];
    char appointment_id[CC_ID_LEN + 1];
    char role[16]; /* patient, relative, interpreter */
    int64_t not_before, not_after;
    bool revoked;
} care_link;

/* Why a link does not open, from the token holder's side. */
typedef enum {
    CARE_LINK_OK = 0,
    CARE_LINK_UNKNOWN, /* not a token of this server, or no such link */
    CARE_LINK_REVOKED, /* the consultation was cancelled or the link withdrawn */
    CARE_LINK_TOO_EARLY,
    CARE_LINK_EXPIRED,
} care_link_state;

/* Checks a token (MAC, then the store): CC_OK with *state and, unless UNKNOWN, *out filled. */
int care_link_check(store *st, const auth_keys *keys, const char *token, int64_t now_ms,
                    care_link *out, care_link_state *state);
/* The token of a link (to send it again). CC_ERR_NOT_FOUND for an unknown or revoked link. */
int care_link_token(store *st, const auth_keys *keys, const char *link_id,
                    char token[AUTH_LINK_TOKEN_LEN + 1]);
/* The patient link of an appointment (its first link with role "patient"); CC_ERR_NOT_FOUND. */
int care_link_of(store *st, const char *appointment_id, care_link *out);
/* A link of its own for someone the practitioner adds (role "relative" or "interpreter"; label
 * "Sa fille", "Interprète en arabe", 1..80 bytes): valid in the patient link's window, revoked
 * with it. CC_ERR_NOT_FOUND when the consultation has no working patient link, CC_ERR_INVALID
 * for another role or label. */
int care_link_add(store *st, const char *appointment_id, const char *role, const char *label,
                  int64_t now_ms, care_link *out);

/* ---- the module at run time: patient notifications ---------------------------------------- */

#include <uv.h>

typedef struct care care;

/* smtp_url, smtp_from, sms_gateway_url, outbox_retry_seconds, waiting_room_opens_minutes. */
extern const cc_cfg_key care_config_keys[];
extern const size_t care_config_keys_count;

/* Reads the configuration (smtp_*, sms_gateway_url, public_url, site_name, default_language,
 * data_dir), creates <data_dir>/outbox and registers the routes (docs/api/openapi.yaml: the
 * staff's /api/v1/care/..., the patients' /api/v1/visit/...) and the event scope "care:" (an
 * appointment's events reach its practitioner and the other staff with patient data who are not
 * practitioners). keys, srv and acct are borrowed and must outlive it. */
int care_create(uv_loop_t *loop, const cc_config *cfg, const auth_keys *keys, net_server *srv,
                account *acct, care **out);
/* Loads the consultations in call (before the worker starts: st is the store it will own). */
int care_load_calls(care *c, store *st);
/* Follows the log: appointment.updated keeps the consultations in call up to date and tells
 * the patient's open pages (visit.updated on /api/v1/visit/events). */
void care_on_events(care *c, const store_event *evs, size_t n);
/* May this person be in the video call of consultation appointment_id now? Staff: user_id set,
 * guest NULL: only the consultation's practitioner. A guest: the principal care bound to a
 * connection of /api/v1/visit/events (user_id NULL): a working link of that consultation; its
 * name (the patient's, or the label of a relative's or interpreter's link) goes to display.
 * Only while the consultation is in call (admitted, not ended). With join, the answer is
 * audited (consultation.join) with ip. */
bool care_call_allowed(care *c, const char *appointment_id, const char *user_id, const void *guest,
                       const char *ip, bool join, char *display, size_t n);
/* Starts sending the outbox through w (every second, when idle). */
void care_set_worker(care *c, store_worker *w);
/* "https://host:port" patient links start with (public_url, or the listen address). */
const char *care_public_url(const care *c);
/* Stops the timer (shutdown, before the worker stops); a send in progress finishes. */
void care_stop(care *c);
/* After the loop has run the closes. NULL is a no-op. */
void care_free(care *c);

#endif
