/* The Janus client, internal to the media module: one WebSocket and one Janus session per Janus
 * instance, transactions, keepalives, plugin handles with their events, and reconnection with a
 * generation number (see the design note at the top of janus.c; handles are in janus_handle.c,
 * VideoRoom requests in janus_videoroom.c). Everything runs on the loop thread and nothing
 * blocks. */
#ifndef CC_MEDIA_JANUS_H
#define CC_MEDIA_JANUS_H

#include "core/core.h"
#include "net/net.h"
#include <uv.h>

typedef struct janus janus;
typedef struct janus_handle janus_handle;

typedef struct {
    const char *url;        /* ws://127.0.0.1:8188 */
    const char *api_secret; /* sent as "apisecret" with every request; NULL: none */
    int request_timeout_ms; /* 0: 10000 */
    int keepalive_ms;       /* 0: 25000 (Janus's session_timeout defaults to 60 s) */
    int backoff_min_ms;     /* 0: 500; doubled after each failed attempt... */
    int backoff_max_ms;     /* ...up to this, 0: 10000 */
} janus_opts;

/* The session's life, for the owner (the meeting layer). */
typedef struct {
    /* A session exists: for the first time (generation 1) or again after a loss (generation+1).
     * Rooms of an earlier generation are gone from Janus: recreate them, reattach handles. */
    void (*on_up)(void *ud, uint64_t generation);
    /* The session of this generation is gone (WebSocket dropped, Janus restarted, session
     * expired, keepalive unanswered): every handle of it is dead; tell clients to rejoin.
     * Reconnection is already under way. */
    void (*on_down)(void *ud, uint64_t generation, const char *why);
} janus_cbs;

/* Outcome of a request. err is CC_OK, or: CC_ERR_NOT_FOUND / CC_ERR_EXISTS / CC_ERR_DENIED /
 * CC_ERR_INVALID for an error Janus or its plugin reported (code holds Janus's number: 426 no
 * such room, 427 room exists, 433 unauthorized, 458 no such session...), CC_ERR_BUSY for no answer
 * within the request timeout or janus_stop, CC_ERR_IO when the connection was lost first. */
typedef struct {
    int code;           /* Janus's error code or the plugin's error_code; 0 on success */
    const char *reason; /* Janus's text or ours; "" on success */
    const json_t *data; /* plugindata.data for plugin requests, data for core ones; may be NULL */
    const json_t *jsep; /* may be NULL */
    const json_t *msg;  /* the whole message, or NULL when it did not come from Janus */
} janus_result;
/* Called exactly once per accepted request; everything in res is borrowed for the call. */
typedef void (*janus_done_fn)(void *ud, int err, const janus_result *res);

/* Creates the client and starts connecting (o and its strings are copied; cbs copied). The net
 * server provides the WebSocket; loop its timers. */
int janus_create(uv_loop_t *loop, net_server *srv, const janus_opts *o, const janus_cbs *cbs,
                 void *ud, janus **out);
/* Closes the WebSocket and the timers. Pending requests complete with CC_ERR_BUSY; no other
 * callback is made afterwards (no on_down, no handle event). Call it before the net server
 * closes. Then run the loop, then janus_free. */
void janus_stop(janus *j);
/* After janus_stop and the loop has run. Frees handles still attached. NULL is ignored. */
void janus_free(janus *j);

bool janus_is_up(const janus *j);
/* Generation of the current (or last) session; 0 before the first. */
uint64_t janus_generation(const janus *j);

/* ---- plugin handles ------------------------------------------------------------------------ */

typedef enum {
    JANUS_EV_PLUGIN = 1, /* an "event" of the plugin not answering a request (data, jsep) */
    JANUS_EV_WEBRTCUP,   /* the PeerConnection is up */
    JANUS_EV_MEDIA,      /* msg: type audio|video, receiving true|false */
    JANUS_EV_SLOWLINK,   /* msg: uplink, lost... */
    JANUS_EV_HANGUP,     /* the PeerConnection went down (msg: reason) */
    JANUS_EV_TRICKLE,    /* a candidate from Janus (msg: candidate) */
    JANUS_EV_DETACHED,   /* Janus detached the handle: it is dead */
    JANUS_EV_LOST,       /* its session ended (janus down/restarted): the handle is dead */
} janus_event_kind;

typedef struct {
    /* Attach finished: err CC_OK (the handle is usable) or an error (it is dead: detach it). */
    void (*on_attached)(void *ud, janus_handle *h, int err);
    /* An asynchronous event for this handle; ev is borrowed for the call. */
    void (*on_event)(void *ud, janus_handle *h, janus_event_kind kind, const janus_result *ev);
} janus_handle_cbs;

/* Attaches a handle of plugin ("janus.plugin.videoroom") to the current session. The handle is
 * the caller's until janus_detach, whatever happens; on_attached follows (never from inside
 * this call). CC_ERR_BUSY when Janus is not up. */
int janus_attach(janus *j, const char *plugin, const janus_handle_cbs *cbs, void *ud,
                 janus_handle **out);
/* Detaches (if still alive in Janus) and frees h: no callback for it afterwards. Requests of h
 * still pending complete normally (their done is independent of h). NULL is ignored. */
void janus_detach(janus_handle *h);
/* References for those that keep a handle across requests (janus_videoroom.c): the memory
 * stays valid until the last unref, even after janus_detach. */
janus_handle *janus_handle_ref(janus_handle *h);
void janus_handle_unref(janus_handle *h);
/* Alive: attached in the current generation, not detached nor lost. */
bool janus_handle_alive(const janus_handle *h);
uint64_t janus_handle_generation(const janus_handle *h);
uint64_t janus_handle_id(const janus_handle *h); /* Janus's id; 0 until attached */

/* Sends a plugin message: body (reference stolen, always) and optional jsep (stolen; NULL).
 * Synchronous plugin requests complete on "success", asynchronous ones on the "event" that
 * follows their "ack"; a plugin error (error_code in the data) completes with an error.
 * CC_ERR_EXPIRED when h is not alive (e.g. a handle of an earlier generation): done is then
 * never called. */
int janus_message(janus_handle *h, json_t *body, json_t *jsep, janus_done_fn done, void *ud);
/* Sends a trickle candidate (stolen; NULL means {"completed":true}). Completes on the ack. */
int janus_trickle(janus_handle *h, json_t *candidate, janus_done_fn done, void *ud);
/* Hangs up the handle's PeerConnection. */
int janus_hangup(janus_handle *h, janus_done_fn done, void *ud);

/* ---- VideoRoom (janus_videoroom.c) ------------------------------------------------------- */

/* A room as carecommd creates it: private, with a secret and a pin only carecommd knows. */
typedef struct {
    const char *room;      /* string id (the plugin runs with string_ids = true) */
    const char *secret;    /* needed to edit, destroy, kick */
    const char *pin;       /* needed to join; NULL: none */
    const char *admin_key; /* the plugin's admin_key, needed to create; NULL: none */
    const char *description;
    int publishers;   /* 0: 6 */
    int bitrate;      /* bits per second, 0: 1024000 (below 1 Mbps keyframes come late) */
    bool use_allowed; /* joins need a token from the room's allowed list (so kicks hold) */
} janus_vr_room;

/* Creates the room (not permanent, private). 427 (CC_ERR_EXISTS) if it exists. */
int janus_vr_create(janus_handle *h, const janus_vr_room *r, janus_done_fn done, void *ud);
int janus_vr_destroy(janus_handle *h, const char *room, const char *secret, janus_done_fn done,
                     void *ud);
/* Completes with res->data {"room":..., "exists": true|false}. */
int janus_vr_exists(janus_handle *h, const char *room, janus_done_fn done, void *ud);
/* Changes the room's bitrate cap (for publishers that join from now on; each one already
 * sending takes it with a "configure" of its own handle). */
int janus_vr_edit_bitrate(janus_handle *h, const char *room, const char *secret, int bitrate,
                          janus_done_fn done, void *ud);
/* Completes with res->data {"participants":[{"id","display","publisher",...}]}; 426 if none. */
int janus_vr_list_participants(janus_handle *h, const char *room, janus_done_fn done, void *ud);
/* action "add" or "remove" tokens (array of strings, stolen) in the room's allowed list. */
int janus_vr_allowed(janus_handle *h, const char *room, const char *secret, const char *action,
                     json_t *tokens, janus_done_fn done, void *ud);
/* Kicks participant id out of the room. A kick is not a ban: when token is not NULL it is first
 * removed from the allowed list, so the same client cannot come straight back. */
int janus_vr_kick(janus_handle *h, const char *room, const char *secret, const char *id,
                  const char *token, janus_done_fn done, void *ud);

#endif
