/* care internals: what the REST handlers (api.c, visit.c) share. */
#ifndef CC_CARE_API_H
#define CC_CARE_API_H

#include "account/account.h"
#include "care/care_internal.h"

/* One request on its way through the store worker. */
typedef struct {
    care *c;
    net_req *r;
    json_t *in;              /* the body (a copy) */
    json_t *out;             /* the answer */
    int status;              /* of the answer (200 when 0) */
    const char *code, *text; /* an error answer, when code is set */
    char ip[64];
    /* staff */
    char user_id[CC_ID_LEN + 1], username[65];
    auth_role role;
    char id[CC_ID_LEN + 1]; /* the appointment of the path */
    char day[11];           /* agenda: YYYY-MM-DD */
    /* patient */
    char token[AUTH_LINK_TOKEN_LEN + 1];
    care_link link;
    bool guess_failed;
    bool poll; /* the waiting room asking again: not a new opening of the page */
    int action;
} care_req;

/* A context for r (its body copied, its principal read when there is one); NULL after replying
 * 500 itself. */
care_req *care_req_new(net_req *r);
void care_req_free(care_req *q);
/* Sets the error answer; returns CC_ERR_DENIED so a job rolls back. */
int care_fail(care_req *q, int status, const char *code, const char *text);
/* The done callback: replies with the error, 503, or out; frees q. */
void care_req_done(void *ctx, int rc);
/* visit.c: the patient enters the waiting room (consent given, room open). */
int care__arrive(store *st, care_req *q, int64_t now);

/* call.c: the guest WebSocket's path and its visit.hello. */
int care__call_register(care *c, net_server *srv);

extern const net_route care_visit_routes[];
extern const size_t care_visit_routes_count;

#endif
