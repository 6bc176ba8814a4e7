/* Internals of the Janus client shared by janus.c (connection, session, transactions) and
 * janus_handle.c (plugin handles and their events), and by nothing else. */
#ifndef CC_MEDIA_JANUS_INTERNAL_H
#define CC_MEDIA_JANUS_INTERNAL_H

#include "media/janus.h"

typedef enum {
    JANUS_DISCONNECTED = 0,
    JANUS_CONNECTING,
    JANUS_CREATING,
    JANUS_UP,
    JANUS_STOPPED,
} janus_state;

typedef enum { HANDLE_ATTACHING = 0, HANDLE_ALIVE, HANDLE_DEAD } janus_handle_state;

struct janus_handle {
    janus_handle *prev, *next; /* j->handles while not detached by the owner */
    int refs;
    janus *j;
    uint64_t id, generation;
    janus_handle_state state;
    bool detached;     /* janus_detach was called: no callback any more */
    bool lost_pending; /* JANUS_EV_LOST still to deliver (janus__lose) */
    struct janus_txn *attach_txn;
    janus_handle_cbs cbs;
    void *ud;
};

typedef struct janus_txn janus_txn;
typedef void (*janus_internal_fn)(janus *j, janus_txn *t, int err, const janus_result *res);
struct janus_txn {
    janus_txn *prev, *next; /* j->txns, in deadline order */
    char id[25];
    bool ack_final; /* keepalive, trickle: the ack is the answer */
    int64_t deadline;
    janus_done_fn done; /* the caller's, or NULL for internal requests */
    void *ud;
    janus_internal_fn internal; /* ours (create, attach, keepalive, detach) */
    janus_handle *h;            /* attach: the handle being attached, NULL once detached */
};

struct janus {
    uv_loop_t *loop;
    net_server *srv;
    char *url, *api_secret;
    int timeout_ms, keepalive_ms, backoff_min_ms, backoff_max_ms, backoff_ms;
    janus_cbs cbs;
    void *ud;
    janus_state state;
    net_ws_client *ws;
    uint64_t session_id, generation;
    cc_map *txn_map;
    janus_txn *txn_head, *txn_tail;
    cc_map *handle_map; /* decimal id -> alive handle */
    janus_handle *handles;
    uv_timer_t txn_timer, keepalive_timer, retry_timer;
    bool timers_init;
};

/* janus.c */
/* Sends req (stolen) as a new transaction: session adds our session_id, a non-zero handle_id is
 * added. The transaction belongs to j; its callback is set by the caller. NULL with *rc set. */
janus_txn *janus__send(janus *j, json_t *req, bool session, uint64_t handle_id, bool ack_final,
                       int *rc);
/* Ends the session: see the design note in janus.c. */
void janus__lose(janus *j, const char *why);

/* janus_handle.c */
void janus__handle_unmap(janus *j, janus_handle *h);
/* Routes an event without a transaction to its handle by "sender". */
void janus__handle_event(janus *j, const char *kind, json_t *m);
/* The session is gone: marks every handle dead and delivers JANUS_EV_LOST to those that were
 * alive, one at a time (a callback may detach any). Stops early if the client is stopped. */
void janus__handles_lost(janus *j, const char *why);

#endif
