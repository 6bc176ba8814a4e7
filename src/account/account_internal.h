/* Internal structures of account/, shared by its files only. */
#ifndef CC_ACCOUNT_INTERNAL_H
#define CC_ACCOUNT_INTERNAL_H

#include "account/account.h"

#define ACCT_COOKIE "cc_session"

/* A live session in the cache (keyed by token hash). */
typedef struct {
    auth_session s;
    int64_t persisted_seen; /* last_seen_at as last written to the store */
    /* Request rate limit (GCRA): when the bucket is next empty, in monotonic microseconds, and
     * when a refusal was last audited. Per node, like the login counters. */
    int64_t rate_tat_us;
    int64_t rate_audited_us;
} acct_session;

/* Who a request or WebSocket is: copied out of the caches so it stays valid on its own. Kept
 * small: every idle event WebSocket holds one. */
typedef struct {
    char user_id[CC_ID_LEN + 1];
    char session_id[CC_ID_LEN + 1];
    char username[AUTH_USERNAME_MAX + 1];
    auth_role role;
} acct_principal;

/* Failed-login bookkeeping for one address or one username (memory only, per node). */
typedef struct {
    int failures;
    int pending; /* attempts reserved and not yet decided (their hash is being checked) */
    int64_t window_start;
    int64_t next_allowed; /* growing delay */
    int64_t blocked_until;
} acct_throttle;

struct account {
    uv_loop_t *loop;
    const cc_config *cfg;
    const auth_keys *keys;
    net_server *srv;
    store_worker *worker;
    cc_map *users;          /* id -> auth_user */
    cc_map *sessions;       /* token hash -> acct_session */
    cc_map *sessions_by_id; /* session id -> acct_session (same objects) */
    cc_map *throttle_ip;    /* address -> acct_throttle */
    cc_map *throttle_user;  /* username -> acct_throttle */
    uv_timer_t timer;
    bool timer_init;
    int64_t idle_ms, max_ms;
    cc_rate rate;                     /* each session's request budget (api_rate_*) */
    char dummy_hash[AUTH_PWHASH_LEN]; /* verified against for unknown users: same timing */
    struct {
        const char *prefix;
        size_t len;
        auth_perm perm;
        account_scope_fn fn;
        void *ud;
    } scopes[8]; /* module-resolved event scopes (account_add_scope) */
    size_t nscopes;
};

/* account.c */
const auth_user *acct_user(account *a, const char *id);
/* Puts a copy of u in the cache, replacing the entry of the same id (entries never change). */
void acct_user_put(account *a, const auth_user *u);
/* The user's JSON object as GET /me shows it (auth_user_write), rendered once and kept with the
 * cached user: a user who changes gets a new cache entry, so the text is never stale ("locked",
 * which turns with time, is re-rendered when the lock ends). NULL if unknown or out of memory. */
const char *acct_user_json_text(account *a, const char *id, size_t *len);
/* The live session of a token, or NULL (expired ones are dropped). */
acct_session *acct_session_find(account *a, const char *token_hash, int64_t now);
int acct_session_add(account *a, const auth_session *s);
void acct_session_drop(account *a, const char *session_id);
/* Closes the WebSockets of one session (session_id) or of every session of a user. */
void acct_close_sockets(account *a, const char *user_id, const char *session_id, int code,
                        const char *reason);
/* 403 from restricted state, or NULL if the user may use full routes. */
const char *acct_restriction(const auth_user *u, const char **message);

/* authn.c */
bool acct_authenticate(void *ud, net_req *r, int perm, unsigned flags);
bool acct_visible(void *ud, const void *principal, const char *scope);
void acct_principal_free(void *p);
/* Appends an audit record from the loop without waiting (denials, throttling). Copies. */
void acct_audit_async(account *a, const acct_principal *who, const char *action, const char *object,
                      const char *ip, const char *outcome, json_t *details);
/* Appends inside a job. who may be NULL (system). details (may be NULL) is taken: callers pass
 * a fresh json_pack(). */
int acct_audit(store *st, account *a, const acct_principal *who, const char *action,
               const char *object, const char *ip, const char *outcome, json_t *details);

/* login.c */
extern const net_route acct_login_routes[];
extern const size_t acct_login_routes_count;
/* Throttle check for an address and username: 0 if allowed, else seconds to wait. */
int64_t acct_throttle_check(account *a, const char *ip, const char *username, int64_t now);
void acct_throttle_failure(account *a, const char *ip, const char *username, int64_t now);
/* An attempt that passed the check holds a slot until its outcome is known, so that guesses sent
 * in parallel count before their failures are recorded. Pair each reserve with one release. */
void acct_throttle_reserve(account *a, const char *ip, const char *username);
void acct_throttle_release(account *a, const char *ip, const char *username);
void acct_throttle_sweep(account *a, int64_t now);

/* self.c */
extern const net_route acct_self_routes[];
extern const size_t acct_self_routes_count;

/* admin.c */
extern const net_route acct_admin_routes[];
extern const size_t acct_admin_routes_count;

/* A temporary password for an account an admin creates or resets (shown once). */
void acct_temp_password(char out[24]);

#endif
