/* account: the HTTP API of accounts (login, 2FA, password, sessions, users, audit), the
 * authenticator and event visibility rules net calls, and the in-memory caches of users and
 * sessions that let every request be authenticated on the loop without touching the database. */
#ifndef CC_ACCOUNT_H
#define CC_ACCOUNT_H

#include "auth/auth.h"
#include "net/net.h"
#include "store/store.h"

typedef struct account account;

/* session_idle_minutes, session_max_hours, login throttling limits, issuer. */
extern const cc_cfg_key account_config_keys[];
extern const size_t account_config_keys_count;

/* Loads every account and live session from st (start-up: before the worker owns the store),
 * registers the routes, the authenticator and the visibility rules on srv. keys is borrowed. */
int account_create(uv_loop_t *loop, const cc_config *cfg, const auth_keys *keys, store *st,
                   net_server *srv, account **out);
/* The worker all database work goes through (set once it has started). */
void account_set_worker(account *a, store_worker *w);
/* Follows committed events (cache updates, revocations); call before net_hub_publish. */
void account_on_events(account *a, const store_event *evs, size_t n);
/* Who the principal of a request or WebSocket (as the authenticator set it) is. The strings are
 * borrowed and live as long as the principal. */
const char *account_principal_user_id(const void *principal);
const char *account_principal_username(const void *principal);
auth_role account_principal_role(const void *principal);

/* The display name of an account from the cache (borrowed: copy it before the loop turns), or
 * NULL when unknown. */
const char *account_user_display_name(account *a, const char *user_id);

/* The live role of an enabled account from the cache; false for an unknown or disabled one. */
bool account_user_role(account *a, const char *user_id, auth_role *out);
/* Records in the audit chain (asynchronously, through the worker) that principal was refused
 * something outside an HTTP route: action "access.denied", outcome "denied", object as given
 * ("meeting_room:<id>"), details {"reason": reason}. For modules' WebSocket messages. */
void account_audit_denied(account *a, const void *principal, const char *object,
                          const char *reason);
/* Records in the audit chain (asynchronously) that principal did action on object, with
 * details (taken; may be NULL; never patient data). For modules' WebSocket messages. */
void account_audit_action(account *a, const void *principal, const char *action, const char *object,
                          json_t *details);

/* Event scopes a module resolves itself: an event whose scope starts with prefix ("conv:") is
 * visible to a principal whose live role holds perm and for whom fn(ud, user_id, scope) is true.
 * fn runs on the loop for every delivery of every such event: a memory lookup, never SQL. prefix
 * is borrowed (static). At most 8 prefixes. */
typedef bool (*account_scope_fn)(void *ud, const char *user_id, const char *scope);
int account_add_scope(account *a, const char *prefix, auth_perm perm, account_scope_fn fn,
                      void *ud);

/* Persists pending session activity and stops timers (shutdown, before the worker stops). */
void account_stop(account *a);
void account_free(account *a);

#endif
