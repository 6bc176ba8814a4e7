/* Internals of the meeting layer (meeting.c: the per-connection signalling relay;
 * meeting_proto.c: the client frames, pure; meeting_room.c: the conversation -> room registry,
 * pure). Not a public header: the unit tests include it to reach the pure parts. */
#ifndef CC_MEDIA_MEETING_INTERNAL_H
#define CC_MEDIA_MEETING_INTERNAL_H

#include "media/janus.h"
#include "media/media_internal.h"

/* ---- meeting_proto.c: client frames (pure) ------------------------------------------------- */

#define MEETING_ROOM_ID_MAX 20 /* a 63-bit number in decimal */
#define MEETING_REQ_ID_MAX 64
#define MEETING_FEED_MAX 64 /* Janus participant ids (string_ids): we let [A-Za-z0-9_-] through */
#define MEETING_SDP_MAX (48 * 1024)
#define MEETING_CANDIDATE_MAX 1024
#define MEETING_STREAMS_MAX 32
#define MEETING_LOBBY_ID_LEN 16 /* a waiting guest's id: random, [A-Za-z0-9_-] */
#define MEETING_LOBBY_MAX 20    /* guests waiting at once in one room's lobby */

typedef enum {
    MEETING_JOIN = 1,
    MEETING_PUBLISH,
    MEETING_SUBSCRIBE,
    MEETING_ANSWER,
    MEETING_TRICKLE,
    MEETING_LEAVE,
    /* the host's */
    MEETING_REMOVE, /* take a participant out (their media stops) */
    MEETING_MUTE,   /* ask a participant's client to mute its microphone */
    MEETING_LOCK,   /* no new joins (locked: true), or again (false) */
    MEETING_END,    /* everyone out, the room destroyed */
    /* anyone's */
    MEETING_HAND,  /* raise (raised: true) or lower one's hand */
    MEETING_LAYER, /* which simulcast layer to receive of some streams (a weak link: lower) */
    /* the host's, for classes */
    MEETING_MODE,      /* class (only presenters send) or meeting (everyone sends) */
    MEETING_PRESENTER, /* a participant may present (on: true) or not */
    /* the host's, for guests from outside waiting in the lobby */
    MEETING_ADMIT,  /* let a waiting guest in */
    MEETING_DENY,   /* turn a waiting guest away */
    MEETING_LIMITS, /* the host's caps for this room: people, bitrate */
} meeting_req_type;

typedef enum { MEETING_TARGET_PUBLISHER = 1, MEETING_TARGET_SUBSCRIBER } meeting_target;

/* A checked client frame. Every json_t here is a new object rebuilt from the checked fields
 * only (never the client's own), owned by the struct: meeting_req_clear frees them. */
typedef struct {
    meeting_req_type type;
    const char *name;                   /* "meeting.join", ... (static) */
    char id[MEETING_REQ_ID_MAX + 1];    /* the client's request id, echoed in answers; "" */
    char conversation[CC_ID_LEN + 1];   /* join: the conversation, or the consultation */
    bool consultation;                  /* join: conversation[] is a consultation's id */
    char room[MEETING_ROOM_ID_MAX + 1]; /* every frame but join */
    json_t *jsep;                       /* publish: {type:"offer",sdp}; answer: "answer" */
    meeting_target target;              /* trickle */
    json_t *candidate;                  /* trickle: {candidate,sdpMid,sdpMLineIndex}; NULL = end */
    json_t *subscribe, *unsubscribe;    /* subscribe: [{feed, mid?}] (unsubscribe may be NULL);
                                           layer: [{mid, substream}] in subscribe */
    char feed[MEETING_FEED_MAX + 1];    /* remove, mute: the participant */
    char guest[MEETING_LOBBY_ID_LEN + 1]; /* admit, deny: the waiting guest */
    bool locked;                   /* lock: locked; hand: raised; mode: class; presenter: on */
    int max_participants, bitrate; /* limits: 0 = unchanged */
} meeting_req;

/* Checks obj, a message of the event WebSocket whose "type" starts with "meeting.". On success
 * out is filled (clear it). CC_ERR_INVALID with a reason in why otherwise (out is then clear;
 * out->id and out->name are still set when they could be read, to answer the request). */
int meeting_req_parse(const json_t *obj, meeting_req *out, char *why, size_t whylen);
void meeting_req_clear(meeting_req *r);

/* ---- meeting_room.c: a room per conversation (pure) ---------------------------------------- */

typedef enum {
    MEETING_ROOM_ABSENT = 0, /* not in Janus (never created, destroyed, or Janus restarted) */
    MEETING_ROOM_CREATING,
    MEETING_ROOM_READY, /* in Janus for generation gen */
    MEETING_ROOM_DESTROYING,
} meeting_room_state;

typedef struct {
    net_ws_conn *v;
    size_t n, cap;
} meeting_conn_list;

/* A guest from outside waiting to be let in (meeting_lobby.c). */
typedef struct {
    char id[MEETING_LOBBY_ID_LEN + 1];
    net_ws_conn conn;
    char display[AUTH_DISPLAY_MAX + 1];
    char link[AUTH_LINK_ID_LEN + 1]; /* the invitation it came with (revoking it sends it away) */
    char join_id[MEETING_REQ_ID_MAX + 1];
    int64_t since; /* Unix ms */
} meeting_guest_wait;

typedef struct {
    meeting_guest_wait *v;
    size_t n, cap;
} meeting_lobby;

typedef struct meeting_room {
    char conv[CC_ID_LEN + 1]; /* the conversation, or the consultation when consult */
    bool consult;
    char id[MEETING_ROOM_ID_MAX + 1]; /* random, 63 bits, decimal: what Janus and clients see */
    char *secret, *pin;               /* only carecommd knows them */
    meeting_room_state state;
    uint64_t gen;
    size_t members;                /* connections in it (joining or joined) */
    meeting_conn_list waiting;     /* joins waiting for the room to be READY */
    meeting_conn_list rejoin;      /* connections to tell "rejoin" once it is READY again */
    net_ws_conn host;              /* its host's connection, 0 when none (meeting_host.c) */
    char host_user[CC_ID_LEN + 1]; /* who hosts: their connection takes it back on rejoining */
    bool locked;                   /* no new joins */
    bool classroom;                /* class mode: only the host and presenters publish */
    meeting_lobby lobby;           /* guests from outside waiting for the host */
    meeting_conn_list admitted;    /* guests the host let in: a rejoin after a media restart
                                      comes straight back in */
    int max_participants;          /* the host's caps (meeting.limits); 0: the node's */
    int bitrate;
} meeting_room;

typedef struct meeting_rooms meeting_rooms;
meeting_rooms *meeting_rooms_new(void);
/* NULL is a no-op. Frees every room. */
void meeting_rooms_free(meeting_rooms *rs);
/* The room of conversation conv, made (random id, secret and pin) when absent and create is
 * set. NULL when absent (or out of memory). The room lives until meeting_rooms_free. */
meeting_room *meeting_rooms_get(meeting_rooms *rs, const char *conv, bool create);
/* The room with this id, or NULL. */
meeting_room *meeting_rooms_by_id(meeting_rooms *rs, const char *id);
/* Calls fn for every room (it must not add rooms). */
void meeting_rooms_each(meeting_rooms *rs, void (*fn)(void *ud, meeting_room *r), void *ud);
size_t meeting_rooms_count(const meeting_rooms *rs);

/* Appends conn (no duplicates). CC_ERR_NOMEM. */
int meeting_conn_list_add(meeting_conn_list *l, net_ws_conn conn);
void meeting_conn_list_remove(meeting_conn_list *l, net_ws_conn conn);
/* Moves the list out (l is left empty): the caller frees out->v with cc_free. */
void meeting_conn_list_take(meeting_conn_list *l, meeting_conn_list *out);

/* ---- meeting.c ----------------------------------------------------------------------------- */

typedef struct meeting meeting;

/* ---- shared by meeting.c and meeting_peer.c, nothing else ---------------------------------- */

typedef enum { MC_WAIT_ROOM = 1, MC_ATTACHING, MC_JOINING, MC_JOINED } mconn_state;

typedef struct mconn {
    int refs;
    bool gone;
    meeting *mt;
    net_ws_conn conn;
    bool guest;    /* on the guest WebSocket (a patient's or a guest's link) */
    bool admitted; /* a guest from outside the host let in: the lock does not apply */
    char link[AUTH_LINK_ID_LEN + 1]; /* a guest from outside: its invitation */
    uint64_t since;                  /* order of arrival (meeting_host.c: who hosts next) */
    char user_id[CC_ID_LEN + 1];     /* "" for a guest */
    char display[AUTH_DISPLAY_MAX + 1];
    meeting_room *room; /* rooms live until meeting_free */
    mconn_state state;
    char join_id[MEETING_REQ_ID_MAX + 1];
    janus_handle *pub, *sub;
    bool sub_joined;     /* the subscriber's join was answered */
    bool sub_busy;       /* a subscriber join or update is under way */
    json_t *sub_pending; /* streams for the subscriber's join, once attached */
    char sub_id[MEETING_REQ_ID_MAX + 1];
    char feed[MEETING_FEED_MAX + 1]; /* our publisher's participant id */
    json_int_t private_id;
    bool published; /* a first offer was answered: later ones renegotiate (configure) */
    bool presenter; /* class mode: the host let them present */
} mconn;

struct meeting {
    media *m;
    net_server *srv;
    janus *j;
    meeting_rooms *rooms;
    cc_map *conns; /* decimal connection id -> mconn */
    janus_handle *ctl;
    bool ctl_ready, stopped;
    media_member_fn member;
    void *member_ud;
    media_consult_fn consult;
    void *consult_ud;
    media_guest_fn guest;
    void *guest_ud;
    int publishers, bitrate, participants;
    uint64_t arrivals; /* joins so far: mconn.since */
    bool restarting;   /* everyone is leaving because Janus went: hosts are kept */
    cc_map *rings;     /* ring.c: call id -> ring */
    int64_t ring_ms;   /* call_ring_seconds */
    media_missed_fn missed;
    void *missed_ud;
};

/* One Janus request of a connection. */
typedef struct {
    mconn *c; /* a reference */
    meeting_req_type what;
    char id[MEETING_REQ_ID_MAX + 1];
    bool sub_join;
} mreq;

/* meeting.c */
void meeting__key(net_ws_conn conn, char key[24]); /* of mt->conns */
mconn *meeting__conn(meeting *mt, net_ws_conn conn);
/* Creates r in Janus when it is not there (for this generation), else lets its waiting in. */
void meeting__room_ensure(meeting *mt, meeting_room *r);
void meeting__conn_unref(mconn *c);
/* Sends o (stolen) to conn, with the request id id when not empty. */
void meeting__send(meeting *mt, net_ws_conn conn, json_t *o, const char *id);
void meeting__error(meeting *mt, net_ws_conn conn, const char *request, const char *id,
                    const char *room, const char *code, const char *message);
/* A request of c (holding a reference to it) / its end. */
mreq *meeting__req_new(mconn *c, meeting_req_type what, const char *id);
void meeting__req_free(mreq *q);
/* Janus's error as a stable code for clients. */
const char *meeting__janus_code(int err, const janus_result *res);
/* The connection leaves: its handles are detached, the room released if it was the last. */
void meeting__teardown(mconn *c);

/* Everyone in room r leaves, told reason (meeting.left). */
void meeting__end_room(meeting *mt, meeting_room *r, const char *reason);
/* meeting_join.c */
/* May this connection be in the meeting of target (a conversation, or with consult a
 * consultation)? With join, care audits the answer (consultations); display gets a guest's
 * name. */
bool meeting__allowed(meeting *mt, net_ws_conn conn, const void *principal, bool guest,
                      bool consult, const char *target, bool join, char *display, size_t n);
/* Whether the host let conn (a guest from outside) into r during this meeting. */
bool meeting__was_admitted(const meeting_room *r, net_ws_conn conn);
/* meeting.join: staff and a consultation's people enter; a guest from outside waits. */
void meeting__join(meeting *mt, net_ws_conn conn, const void *principal, bool guest,
                   meeting_req *q);
/* conn enters room target (a conversation, or with consult a consultation) once authorised:
 * NULL, or an error code with *message. */
const char *meeting__enter(meeting *mt, net_ws_conn conn, const char *target, bool consult,
                           const mconn *who, const char **message);
/* (who: guest, user_id, display, join_id, link and admitted are taken from it.) */

/* ring.c: call.ring / accept / decline / cancel (registered with the meeting frames). */
int meeting__ring_register(meeting *mt);
void meeting__ring_conn_closed(meeting *mt, net_ws_conn conn); /* the caller's socket ended */
void meeting__ring_stop(meeting *mt);                          /* timers closed */
void meeting__ring_free(meeting *mt);

/* meeting_lobby.c: guests from outside wait in the lobby of a conversation's meeting until its
 * host lets them in. */
/* conn (a guest authorised for r, display and link from its invitation) waits:
 * meeting.lobby_wait to it, meeting.lobby to the room. NULL or an error code with *message. */
const char *meeting__lobby_enter(meeting *mt, meeting_room *r, net_ws_conn conn,
                                 const char *display, const char *link, const char *join_id,
                                 const char **message);
/* conn stops waiting (it left, or its socket closed); told meeting.left with reason unless NULL.
 * false when it was not waiting. */
bool meeting__lobby_leave(meeting *mt, net_ws_conn conn, const char *reason);
/* meeting.admit / meeting.deny of host c (principal: theirs, for the audit chain): NULL (done)
 * or an error code with *message. */
const char *meeting__lobby_decide(mconn *c, const void *principal, const meeting_req *q,
                                  const char **message);
/* c has just joined: it is told who waits, when someone does. */
void meeting__lobby_show(mconn *c);
/* The invitation link was revoked: its guests leave the lobby and the meeting (removed). */
void meeting__lobby_revoked(meeting *mt, const char *link);
/* Sends o (stolen) to every connection in room r that has joined (staff only: no guests). */
void meeting__tell_room(meeting *mt, const meeting_room *r, json_t *o, bool staff_only);

/* meeting_host.c: who hosts, and the host's frames (remove, mute, lock, end). */
void meeting__host_on_join(mconn *c);         /* a connection enters (before it is joined) */
bool meeting__host_may_enter(const mconn *c); /* false: the room is locked to it */
void meeting__host_joined(mconn *c);          /* meeting.joined was sent: it has a feed id */
void meeting__host_on_leave(mconn *c);        /* before it is taken out of the room */
/* A host frame of c (joined): NULL when done (meeting.done answered), or an error code with
 * *message. c may be gone afterwards (meeting.end). */
const char *meeting__host_frame(mconn *c, const meeting_req *q, const char **message);
/* meeting.hand: everyone in the room is told (meeting.hand with the feed). */
void meeting__hand(mconn *c, const meeting_req *q);
/* The caps of room r now: the host's, else the node's configuration. */
int meeting__room_max_participants(const meeting *mt, const meeting_room *r);
int meeting__room_bitrate(const meeting *mt, const meeting_room *r);
/* May c send media now? Not in a class unless host or presenter. */
bool meeting__may_publish(const mconn *c);

/* meeting_peer.c */
/* The room is ready: attach the publisher handle, then join (meeting.joined follows). */
void meeting__attach_pub(mconn *c);
/* Subscribes to q->subscribe (taken): the first time, attach and join as subscriber; later,
 * update. Returns NULL (meeting.offer follows) or an error code. */
const char *meeting__subscribe(mconn *c, meeting_req *q);
void meeting__published(void *ud, int err, const janus_result *res);
void meeting__started(void *ud, int err, const janus_result *res);
/* Creates the layer and its Janus client (to media_janus_url with the API secret) and registers
 * the meeting.* messages and the close observer on m->srv. */
int meeting_create(media *m, meeting **out);
void meeting_set_member_check(meeting *mt, media_member_fn fn, void *ud);
void meeting_set_consult_check(meeting *mt, media_consult_fn fn, void *ud);
void meeting_set_guest_check(meeting *mt, media_guest_fn fn, void *ud);
void meeting_set_missed_call(meeting *mt, media_missed_fn fn, void *ud);
/* member.left: that person's connections leave the conversation's meeting at once. */
void meeting_on_events(meeting *mt, const store_event *evs, size_t n);
/* Stops the Janus client (before the net server closes). */
void meeting_stop(meeting *mt);
/* After the loop has returned. NULL is a no-op. */
void meeting_free(meeting *mt);

#endif
