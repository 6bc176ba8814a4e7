/* care: what its files share. Not for other modules. */
#ifndef CC_CARE_INTERNAL_H
#define CC_CARE_INTERNAL_H

#include "care/care.h"
#include "net/net.h"

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

/* ---- outbox (outbox.c) ---------------------------------------------------------------------- */

/* A notification to send, with what it needs read from the appointment at claim time. */
typedef struct {
    char id[CC_ID_LEN + 1];
    char appointment_id[CC_ID_LEN + 1];
    char kind[16];   /* invite, update, cancel */
    char channel[8]; /* email, sms */
    int attempts;
    char status[24];
    int64_t start_ms, end_ms;
    char family[CARE_TEXT_MAX], given[CARE_TEXT_MAX];
    char email[CARE_EMAIL_MAX], mobile[CARE_PHONE_MAX];
    char practitioner[CARE_TEXT_MAX];
    char link_id[AUTH_LINK_ID_LEN + 1]; /* "" when the consultation has no working link */
} care_outbox_item;

/* Claims up to max notifications that are due (leased for 5 minutes). */
int care_outbox_claim(store *st, int64_t now_ms, care_outbox_item *items, size_t max, size_t *n);
/* Records a send: error NULL = sent; otherwise tried again later (first_retry_ms, doubling up to
 * an hour), and marked failed after 40 attempts (about a day and a half from 30 s). */
int care_outbox_done(store *st, const char *id, int attempts, const char *error,
                     int64_t first_retry_ms, int64_t now_ms);
/* A notification that no longer makes sense (an invitation to a consultation cancelled since). */
int care_outbox_skip(store *st, const char *id, int64_t now_ms);

/* ---- notifications (mail.c, notify.c) ------------------------------------------------------- */

typedef struct {
    char lang[4]; /* fr, en */
    char site[CARE_TEXT_MAX];
    int before_minutes; /* the waiting room opens this long before */
} care_notice_opts;

/* Subject and text of a notification; url is the patient link ("" for a cancellation). */
int care__notice_render(const care_outbox_item *it, const care_notice_opts *o, const char *url,
                        cc_buf *subject, cc_buf *body);
/* An RFC 5322 message (UTF-8 text, CRLF). */
int care__mail_compose(const char *from, const char *to, const char *subject, const char *body,
                       const char *message_id, int64_t now_ms, cc_buf *out);
/* Blocking (thread pool): one message through the relay; err says why it failed. */
int care__mail_send(const char *smtp_url, const char *from, const char *to, const cc_buf *msg,
                    char *err, size_t errlen);
/* Blocking (thread pool): POST {"to","text"} as JSON to the gateway; 2xx is success. */
int care__sms_send(const char *gateway_url, const char *to, const char *text, char *err,
                   size_t errlen);

/* ---- the module at run time (notify.c, api.c, visit.c) -------------------------------------- */

#define NOTIFY_BATCH 16
#define CARE_GUESS_LIMIT 10 /* unknown links per address per window, then 429 */
#define CARE_GUESS_WINDOW_MS (10 * 60000)

struct care {
    uv_loop_t *loop;
    const auth_keys *keys;
    store_worker *worker;
    char *smtp_url, *smtp_from, *sms_url, *public_url, *outbox_dir;
    care_notice_opts notice;
    int64_t retry_ms;        /* first delay after a failed send */
    int64_t waiting_room_ms; /* the waiting room opens this long before the start */
    cc_guesses *guesses;     /* unknown links per address: refused for a while past the limit */
    net_server *srv;
    cc_map *in_call; /* appointment id -> its practitioner's user id, while in call (call.c) */
    uv_timer_t timer;
    bool busy, stopping;
    care_outbox_item items[NOTIFY_BATCH];
    size_t n, next;
    /* the send in progress */
    uv_work_t work;
    cc_buf payload; /* e-mail message or SMS text */
    char to[CARE_EMAIL_MAX];
    char file[600];
    char err[240];
    int rc;
    bool skip;
};

/* api.c, visit.c: the REST routes. */
extern const net_route care_routes[];
extern const size_t care_routes_count;

#endif
