/* Internal structures of msg/, shared by its files only (and its unit tests). */
#ifndef CC_MSG_INTERNAL_H
#define CC_MSG_INTERNAL_H

#include "msg/msg.h"

#define MSG_BODY_MAX 15000 /* bytes: a request stays within one 16 KiB HTTP/2 DATA frame */
#define MSG_GROUP_MAX 50   /* people in a group conversation */
#define MSG_INVITES_MAX 500
#define MSG_NAME_MAX 80
#define MSG_TOPIC_MAX 250
#define MSG_EMOJI_MAX 32
#define MSG_MENTIONS_MAX 50
#define MSG_ATTACHMENTS_MAX 10
#define MSG_ATTACHMENT_BYTES 1024 /* each attachment object, as compact JSON */
#define MSG_TERMS_MAX 2000        /* distinct terms indexed per message */
#define MSG_QUERY_TERMS_MAX 8
#define MSG_PAGE_MAX 200
#define MSG_PRESENCE_TEXT_MAX 100
#define MSG_GUEST_GUESSES 10 /* wrong guest-link tokens per address per window, then refused */
#define MSG_GUEST_GUESS_WINDOW_MS (10 * 60000)
#define MSG_TYPING_INTERVAL_MS 2000 /* at most one typing frame per person and conversation */

typedef enum { MSG_ROLE_NONE = 0, MSG_ROLE_MEMBER = 1, MSG_ROLE_OWNER = 2 } msg_role;

/* A conversation in the membership index (loop thread only). */
typedef struct {
    char kind; /* 'c' channel, 'g' group, 'd' direct */
    bool is_public;
    bool archived;
    cc_map *members; /* user id -> (void *)(intptr_t)msg_role */
} msg_conv_idx;

/* Presence of one person as this node knows it (loop thread only). */
typedef struct {
    char status[16]; /* chosen: online, away, busy, in_consultation, on_call */
    char shown[16];  /* last published: the chosen one, "away" when idle, or "offline" */
    char text[MSG_PRESENCE_TEXT_MAX + 1];
    int conns;           /* open WebSockets on this node */
    int64_t last_active; /* monotonic ms */
    bool auto_away;      /* shown "away" because idle, not by choice */
    int64_t updated_at;
} msg_presence;

struct msg {
    uv_loop_t *loop;
    const cc_config *cfg;
    const auth_keys *keys;
    net_server *srv;
    account *acct;
    store_worker *worker;
    cc_map *convs;       /* conversation id -> msg_conv_idx */
    cc_map *user_convs;  /* user id -> cc_map of the conversation ids they are in */
    uint64_t member_gen; /* bumped by every membership change */
    /* The people who see one person's presence (those sharing a conversation with them), kept
     * for the last person asked: a presence event is checked for every socket in a row. */
    char contacts_of[CC_ID_LEN + 1];
    cc_map *contacts;
    uint64_t contacts_gen;
    cc_map *presence; /* user id -> msg_presence */
    cc_map *typing;   /* "<conv>/<user>" -> int64_t * (monotonic ms of the last frame sent) */
    cc_guesses *guest_guesses; /* wrong guest-link tokens per address (guests.c) */
    uv_timer_t timer;
    bool timer_init;
    int64_t remind_ms, away_ms, retention_ms;
    int64_t next_remind; /* earliest pending reminder (Unix ms), INT64_MAX when none */
    bool remind_running; /* a reminder job is queued */
    int64_t next_sweep;  /* monotonic ms of the next idle-presence sweep */
    int64_t next_purge;  /* monotonic ms of the next retention purge */
};

/* Who acts: copied from the principal so that jobs on the worker thread own it. */
typedef struct {
    char user_id[CC_ID_LEN + 1];
    char username[AUTH_USERNAME_MAX + 1];
    char ip[64];
} msg_who;

/* One request in flight: created on the loop, handed to the worker, answered on the loop. The
 * job reads the inputs and writes out / the error; nothing else touches it meanwhile. */
typedef struct msg_ctx msg_ctx;
struct msg_ctx {
    msg *m;
    net_req *r; /* a reference; NULL in unit tests */
    msg_who who;
    char conv[CC_ID_LEN + 1];   /* :id of a conversation route, or found from the message */
    char target[CC_ID_LEN + 1]; /* :id of a message route, :user_id of a member route */
    json_t *in;                 /* a copy of the body, owned (NULL without one) */
    char param[256];            /* a decoded path or query value the route needs */
    int64_t before, after, limit, offset;
    bool has_before, has_after;
    json_t *out;                /* the response, owned until replied */
    int status;                 /* of a successful response (200 when 0) */
    const char *code, *text;    /* an error to answer with (static strings) */
    void (*finish)(msg_ctx *c); /* on the loop before replying (adds presence from memory) */
};

/* ---- msg.c: state, index, events ------------------------------------------------------------ */
msg_conv_idx *msg__conv(msg *m, const char *conv_id);
msg_role msg__role(msg *m, const char *conv_id, const char *user_id);
/* Something the person did with messaging: resets the idle clock (presence.c). */
void msg__activity(msg *m, const char *user_id);

/* ---- common.c: requests, replies, shared SQL --------------------------------------------------
 */
/* A context for r with the principal, the :id path parameter as conv or target (see idparam),
 * and a copy of the body. Replies 500 and returns NULL when out of memory. */
typedef enum { MSG_ID_NONE, MSG_ID_CONV, MSG_ID_MESSAGE } msg_idparam;
msg_ctx *msg__ctx_new(net_req *r, msg_idparam idparam);
void msg__ctx_free(msg_ctx *c);
/* Queues job; its result is answered by msg__done. */
void msg__submit(msg_ctx *c, store_job_fn job);
void msg__done(void *ctx, int rc);
/* Records an error answer and returns CC_ERR_DENIED (so the job's writes roll back). */
int msg__fail(msg_ctx *c, int status, const char *code, const char *text);
bool msg__id_valid(const char *s);
int64_t msg__now(void);

/* A conversation row as jobs read it. */
typedef struct {
    char id[CC_ID_LEN + 1];
    char kind[16], visibility[16];
    bool archived;
    int64_t last_seq;
    msg_role my_role; /* of the acting user */
    int64_t my_read_seq;
} msg_conv_row;
/* Loads conversation id with user_id's membership. The rule every route follows: a conversation
 * someone may not know of (private, not a member) is 404 conversation_not_found; a public channel
 * they have not joined is 403 not_a_member when need_member. Fails through msg__fail. */
int msg__conv_access(store *st, msg_ctx *c, const char *id, bool need_member, msg_conv_row *out);
/* The conversation as JSON (members_count, last_seq; my_role when user_id is not NULL; member ids
 * of a group or direct conversation) into *out, a new reference the caller owns. */
int msg__conv_json(store *st, const char *id, const char *user_id, json_t **out);
/* Members of a conversation as a JSON array of ids into *out (caller owns). */
int msg__conv_member_ids(store *st, const char *id, json_t **out);

/* A message row; loads by id with the acting user's access to its conversation (a message in a
 * conversation they cannot read is 404 message_not_found). */
#define MSG_COLS                                                                                   \
    "m.id, m.conversation_id, m.seq, m.author_id, m.body, m.thread_root, m.urgent, m.mentions, "   \
    "m.attachments, m.reply_count, m.created_at, m.edited_at, m.deleted_at, m.deleted_by, "        \
    "m.pinned_at, m.pinned_by, m.mention_all"
json_t *msg__message_json_row(const store_row *r); /* from MSG_COLS; new reference, or NULL */
/* *msg_out is a new reference the caller owns (NULL on failure). */
int msg__message_load(store *st, msg_ctx *c, const char *id, json_t **msg_out,
                      msg_conv_row *conv_out);
/* Adds "reactions" to each message of arr (those of one conversation, seq range given). */
int msg__add_reactions(store *st, json_t *arr, const char *conv, int64_t lo, int64_t hi);

/* Appends an event (payload borrowed). scope "conv:<id>" or "conv:<id>:<user>" or "user:<id>". */
int msg__event(store *st, const char *type, const char *scope, const json_t *payload);
int msg__event_conv(store *st, const char *type, const char *conv, const json_t *payload);
int msg__event_conv_seq(store *st, const char *type, const char *conv, const json_t *payload,
                        int64_t *seq_out);
/* Audit record for an administrative action, object "conversation:<id>" or "message:<id>".
 * details (may be NULL) is taken and never holds message text. */
int msg__audit(store *st, msg_ctx *c, const char *action, const char *object, json_t *details);

/* Membership changes inside a job. Insert: a new member who has read up to read_seq. Remove
 * (reason "left" or "removed"): drops their pending acknowledgements, gives the conversation a
 * new owner when its last one went (the longest-standing member), appends member.left with the
 * scope that also reaches the person removed. */
int msg__member_insert(store *st, const char *conv, const char *user, const char *role,
                       int64_t read_seq);
int msg__member_remove(store *st, msg_ctx *c, const char *conv, const char *user,
                       const char *reason);

/* ---- conv.c, members.c, message.c, extras.c, search.c, presence.c, directory.c: routes ------ */
/* conv.c: creates the conversation c->in describes (kind, name, topic, visibility, members:
 * checked and normalised already), with its event and audit; the new conversation in c->out. */
int msg__conv_create_job(store *st, void *ctx);
extern const net_route msg_meeting_routes[];
extern const size_t msg_meeting_routes_count;

/* ---- guests.c: links for guests from outside to a conversation's meeting ----------------------
 */
extern const net_route msg_guest_routes[];
extern const size_t msg_guest_routes_count;
/* Registers meeting.guest_hello on the guest WebSocket. */
int msg__guests_register(msg *m);
/* guest_link.revoked: the link's guests' connections are closed. */
void msg__guests_on_revoked(msg *m, const json_t *payload);
extern const net_route msg_conv_routes[];
extern const size_t msg_conv_routes_count;
extern const net_route msg_member_routes[];
extern const size_t msg_member_routes_count;
extern const net_route msg_message_routes[];
extern const size_t msg_message_routes_count;
extern const net_route msg_extra_routes[];
extern const size_t msg_extra_routes_count;
extern const net_route msg_search_routes[];
extern const size_t msg_search_routes_count;
extern const net_route msg_presence_routes[];
extern const size_t msg_presence_routes_count;
extern const net_route msg_directory_routes[];
extern const size_t msg_directory_routes_count;

/* message.c: the index of a message's words for search (replaces what it had). */
int msg__index_terms(store *st, const char *message_id, const char *conv, const char *body);

/* ---- presence.c: presence and typing ----------------------------------------------------------
 */
int msg__presence_load(msg *m, store *st);
void msg__presence_on_event(msg *m, const json_t *data);
void msg__presence_sweep(msg *m);
/* Start-up: whoever the store shows online (from before a restart) is offline now. */
void msg__presence_reset(msg *m);
/* {status, text, updated_at} of a person as shown now: a new reference (NULL without memory). */
json_t *msg__presence_json(msg *m, const char *user_id);
void msg__ws_open(void *ud, const void *principal);
void msg__ws_close(void *ud, const void *principal);
const char *msg__typing(void *ud, const void *principal, const json_t *obj, const char **message);

/* ---- urgent.c: reminders and the retention purge -------------------------------------------- */
int msg__urgent_load(msg *m, store *st);
void msg__urgent_tick(msg *m);
void msg__retention_tick(msg *m);

#endif
