/* msg: messaging and presence — channels, group and direct conversations, messages with
 * mentions, threads, edits and deletes (content kept for the retention period), reactions, pins,
 * urgent messages with acknowledgements and reminders, read positions with unread and mention
 * counts, typing indicators, presence, and search insensitive to case and accents. Its REST
 * routes and events are documented in docs/api/openapi.yaml and docs/websocket.md.
 *
 * The store is the truth for every permission a request needs (membership is checked in SQL,
 * in the job that acts); an in-memory index of memberships, loaded at start and kept current
 * from the event log, serves the per-event visibility checks of the fan-out. */
#ifndef CC_MSG_H
#define CC_MSG_H

#include "account/account.h"
#include "auth/auth.h"
#include "net/net.h"
#include "store/store.h"

typedef struct msg msg;

/* msg_urgent_reminder_seconds, msg_away_after_seconds, msg_retention_days. */
extern const cc_cfg_key msg_config_keys[];
extern const size_t msg_config_keys_count;

/* Loads the conversations, memberships and presence from st (start-up: before the worker owns
 * the store), registers the routes, the "conv:" event scope on acct, the typing message and the
 * connection observer on srv. cfg, keys, acct and srv are borrowed and must outlive it. */
int msg_create(uv_loop_t *loop, const cc_config *cfg, const auth_keys *keys, store *st,
               net_server *srv, account *acct, msg **out);
/* The worker all database work goes through; starts the timers (reminders, idle presence,
 * retention) and marks offline whoever the store still shows online from before a restart. */
void msg_set_worker(msg *m, store_worker *w);
/* Follows committed events (membership index, presence, reminder schedule); call from the sink
 * before net_hub_publish. */
void msg_on_events(msg *m, const store_event *evs, size_t n);
/* Whether user_id is a member of conversation conv_id now (the in-memory index, kept current
 * from the event log; loop thread). For other modules' per-conversation checks (meetings). */
bool msg_is_member(msg *m, const char *conv_id, const char *user_id);
/* Whether principal (bound on the guest WebSocket) is a guest from outside invited to conv_id's
 * meeting, whose link has not ended; display gets its name and link its link id (each may be
 * NULL). The media_guest_fn main wires. Memory only. */
bool msg_guest_allowed(msg *m, const char *conv_id, const void *principal, char *display, size_t n,
                       char *link, size_t ln);
/* Stops the timers (shutdown, before the worker stops). */
void msg_stop(msg *m);
/* After the server (whose WebSockets it observes) has been freed. NULL is a no-op. */
void msg_free(msg *m);

/* ---- text: folding, terms, mentions, snippets (pure; text.c; fuzzed) ---------------------- */

#define MSG_TERM_MAX 48 /* bytes of a folded term; longer words are cut there */

/* Calls fn for each word of text (n bytes of UTF-8; invalid bytes separate words) with its
 * folded form — lower case, Latin accents removed (é→e, ç→c), ligatures expanded (œ→oe, æ→ae,
 * ß→ss), Greek and Cyrillic capitals lowered, combining marks dropped — and the byte range
 * [start, end) of the word in text. A word is a run of letters and digits; other scripts'
 * characters count as letters, punctuation, symbols and emoji separate words. term is valid
 * for the call only. fn returns 0 to go on, 1 to stop, <0 to fail with that error. */
typedef int (*msg_term_fn)(void *ud, const char *term, size_t len, size_t start, size_t end);
int msg_text_terms(const char *text, size_t n, msg_term_fn fn, void *ud);

/* Calls fn for each mention in text: '@' at the start or after a character that cannot be in a
 * username, then a username ([a-z0-9._-], matched case-insensitively, trailing '.', '_', '-'
 * left out: "@alice." names alice). name is lower case, 1..64 bytes, valid for the call only.
 * fn returns like msg_term_fn. */
typedef int (*msg_mention_fn)(void *ud, const char *name, size_t len);
int msg_text_mentions(const char *text, size_t n, msg_mention_fn fn, void *ud);

/* A snippet of text for a search result: about max_bytes of it around the first word matching
 * one of terms (folded query terms, each matching the words it is a prefix of), on character
 * boundaries, line breaks turned into spaces, "…" where it was cut, and every matching word
 * wrapped in MSG_HL_OPEN / MSG_HL_CLOSE. Returns a new string (cc_free) or NULL (no memory). */
#define MSG_HL_OPEN "[["
#define MSG_HL_CLOSE "]]"
char *msg_text_snippet(const char *text, size_t n, const char *const *terms, size_t nterms,
                       size_t max_bytes);

/* ---- seeding (seed.c): for `carecomm demo seed`, inside the caller's transaction ----------- */

/* A public channel owned by owner with these members (owner may be among them). */
int msg_seed_channel(store *st, const char *name, const char *topic, const char *owner,
                     const char *const *members, size_t n, int64_t at, char id_out[CC_ID_LEN + 1]);
/* A plain message (no mention, thread, urgency or attachment) by author at time at. */
int msg_seed_message(store *st, const char *conv, const char *author, const char *body, int64_t at);

#endif
