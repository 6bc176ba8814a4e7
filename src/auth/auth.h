/* auth: roles and permissions, passwords, TOTP, recovery codes, users, sessions and the audit
 * chain. Logic functions take plain values and a store handle (inside a transaction the caller
 * owns), so tests call them without a network. Slow functions (password hashing) say so: never
 * call them on the event loop. */
#ifndef CC_AUTH_H
#define CC_AUTH_H

#include "core/core.h"
#include "store/store.h"

/* ---- roles and permissions ----------------------------------------------------------------- */

typedef enum {
    ROLE_ADMIN = 0,
    ROLE_PRACTITIONER,
    ROLE_NURSE,
    ROLE_SECRETARY,
    ROLE_IT_SUPPORT,
    ROLE_BOOKING_SYSTEM, /* a machine: the hospital's booking system on FHIR, with a token */
    ROLE__COUNT
} auth_role;

/* Permissions a route can require. The role -> permission table lives in perm.c, nowhere else. */
typedef enum {
    PERM_SELF = 0,     /* one's own account: me, sessions, password, 2FA */
    PERM_EVENTS,       /* the event WebSocket */
    PERM_USERS_READ,   /* list and view accounts */
    PERM_USERS_WRITE,  /* create, disable, reset, change role */
    PERM_AUDIT_READ,   /* read and verify the audit chain */
    PERM_PATIENT_READ, /* see patient data (later issues); implies 2FA */
    PERM_MESSAGES,     /* messaging and presence; messages can carry patient data: implies 2FA */
    PERM_MEETINGS,     /* video meetings (ICE servers, rooms); they show patients: implies 2FA */
    PERM_BOOKINGS,     /* appointments over FHIR (booking systems, and staff who read them) */
    PERM__COUNT
} auth_perm;

const char *auth_role_name(auth_role r);
/* A system account: no interactive login (no password, no 2FA); it uses a long-lived token that
 * an administrator issues on the server (`carecomm user token`), revocable like a session. */
bool auth_role_is_system(auth_role r);
int auth_role_parse(const char *s, auth_role *out); /* CC_ERR_INVALID if unknown */
const char *auth_perm_name(auth_perm p);
int auth_perm_parse(const char *s, auth_perm *out);
bool auth_role_has(auth_role r, auth_perm p);
/* Roles that can see patient data must use 2FA (and so must admins). */
bool auth_role_requires_totp(auth_role r);

/* ---- server secret ------------------------------------------------------------------------- */

/* 32-byte secret kept in <data_dir>/server.key (mode 0600), outside the database, from which the
 * keys below are derived. */
#define AUTH_KEY_BYTES 32
typedef struct {
    uint8_t audit_key[AUTH_KEY_BYTES];    /* keys the BLAKE2b of the audit chain */
    uint8_t totp_key[AUTH_KEY_BYTES];     /* encrypts TOTP secrets at rest */
    uint8_t link_key[AUTH_KEY_BYTES];     /* keys the MAC of patient links */
    uint8_t recovery_key[AUTH_KEY_BYTES]; /* keys the hashes of 2FA recovery codes */
} auth_keys;
/* Loads <data_dir>/server.key, creating it when create is true and it does not exist. */
int auth_keys_load(const char *data_dir, bool create, auth_keys *out, char *why, size_t whylen);

/* ---- patient links ------------------------------------------------------------------------ */

/* A patient link's token is "<id>.<mac>": id is 16 random bytes and mac a keyed BLAKE2b-256 of
 * it (link_key), both base64url without padding. The store keeps the id only, so a copy of the
 * database cannot open a consultation, yet the token can be derived again to resend it. */
#define AUTH_LINK_ID_LEN 22
#define AUTH_LINK_TOKEN_LEN (AUTH_LINK_ID_LEN + 1 + 43)
void auth_link_new_id(char out[AUTH_LINK_ID_LEN + 1]);
/* The token of link_id (which must be AUTH_LINK_ID_LEN base64url characters: CC_ERR_INVALID). */
int auth_link_token(const auth_keys *k, const char *link_id, char out[AUTH_LINK_TOKEN_LEN + 1]);
/* Checks a token's shape and MAC (constant time); on CC_OK link_id gets its id. CC_ERR_DENIED
 * for any token this server did not make. Says nothing of revocation or expiry (the store does). */
int auth_link_verify(const auth_keys *k, const char *token, char link_id[AUTH_LINK_ID_LEN + 1]);

/* ---- passwords (SLOW: off the loop) --------------------------------------------------------- */

#define AUTH_PWHASH_LEN 128 /* crypto_pwhash_STRBYTES */
/* Argon2id (libsodium crypto_pwhash_str, interactive limits raised to 64 MiB / 3 passes). */
int auth_password_hash(const char *password, char out[AUTH_PWHASH_LEN]);
/* CC_OK if it matches, CC_ERR_DENIED if not. */
int auth_password_verify(const char *hash, const char *password);
/* Policy: 12..256 bytes of valid UTF-8, not containing the username (case-insensitive), not
 * all one character. why gets a static reason. */
int auth_password_policy(const char *password, const char *username, const char **why);

/* ---- TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s) ------------------------------------------- */

/* RFC 4648 base32 without padding. decode accepts lower case and ignores spaces. */
int auth_base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen);
int auth_base32_decode(const char *in, uint8_t *out, size_t outlen, size_t *written);
#define AUTH_TOTP_SECRET_B32_LEN 32 /* 20 random bytes */
void auth_totp_new_secret(char out[AUTH_TOTP_SECRET_B32_LEN + 1]);
/* The 6-digit code for a time step (step = unix_seconds / 30). */
int auth_totp_code(const char *secret_b32, int64_t step, char out[7]);
/* Accepts the code of step-1, step or step+1 whose step is > last_step (no replay). On success
 * *matched_step gets the step used. CC_ERR_DENIED otherwise. Constant-time comparison. */
int auth_totp_verify(const char *secret_b32, const char *code, int64_t unix_seconds,
                     int64_t last_step, int64_t *matched_step);
/* otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30,
 * percent-encoded. Caller frees. */
char *auth_totp_uri(const char *issuer, const char *account, const char *secret_b32);
/* Encrypts / decrypts a TOTP secret for storage: XChaCha20-Poly1305 with keys->totp_key and
 * the owner's user id as associated data, so a sealed secret copied onto another user's row does
 * not open ("v2:" then base64). Open also reads the first format, sealed without the user id,
 * and then sets *legacy (may be NULL) so that the caller seals it again. Caller frees. */
int auth_secret_seal(const auth_keys *keys, const char *user_id, const char *plain, char **sealed);
int auth_secret_open(const auth_keys *keys, const char *user_id, const char *sealed, char **plain,
                     bool *legacy);

/* ---- recovery codes ------------------------------------------------------------------------ */

#define AUTH_RECOVERY_CODES 10
#define AUTH_RECOVERY_CODE_LEN 11 /* "abcde-fghij" */
/* Random code from an unambiguous alphabet. */
void auth_recovery_code_new(char out[AUTH_RECOVERY_CODE_LEN + 1]);
/* Normalised (lower case, dash optional) BLAKE2b hex of a code keyed with keys->recovery_key,
 * for storage and lookup: a copy of the database does not allow guessing codes offline. With
 * keys NULL, the unkeyed hash that codes made before the key had (still accepted at login). */
int auth_recovery_code_hash(const auth_keys *keys, const char *code, char out[CC_HASH_HEX_LEN + 1]);

/* ---- audit chain --------------------------------------------------------------------------- */

/* One audit record. Strings borrowed. */
typedef struct {
    const char *actor_id;   /* user id, or NULL for the system / CLI */
    const char *actor_name; /* username, "cli", "system" */
    const char *action;     /* "auth.login", "user.create", "access.denied" ... */
    const char *object;     /* "user:<id>", "route:GET /api/v1/audit" ... may be NULL */
    const char *source_ip;  /* may be NULL */
    const char *outcome;    /* "success", "failure", "denied" */
    const json_t *details;  /* may be NULL; never patient data */
} auth_audit_entry;

/* Appends a record inside the caller's transaction: takes the chain lock, reads the last record,
 * id = last id + 1, prev_hash = its hash, hash = keyed BLAKE2b-256 over prev_hash and every field
 * in a fixed, length-prefixed encoding. *id_out may be NULL. */
int auth_audit_append(store *st, const auth_keys *keys, const auth_audit_entry *e, int64_t *id_out);

typedef struct {
    int64_t records;                     /* records checked */
    int64_t first_bad;                   /* id of the first bad record, 0 if intact */
    char reason[160];                    /* what is wrong with it */
    char head_hash[CC_HASH_HEX_LEN + 1]; /* hash of the last record (for external anchoring) */
} auth_audit_report;
/* Walks the chain in id order checking contiguous ids, prev_hash links and each hash. Returns
 * CC_OK if intact, CC_ERR_TAMPERED with the report naming the first bad record, or another error
 * if it could not read. */
int auth_audit_verify(store *st, const auth_keys *keys, auth_audit_report *report);

/* ---- users (inside the caller's transaction) ---------------------------------------------- */

#define AUTH_USERNAME_MAX 64
#define AUTH_DISPLAY_MAX 128

/* The public view of an account: no secret in it. */
typedef struct {
    char id[CC_ID_LEN + 1];
    char username[AUTH_USERNAME_MAX + 1];
    char display_name[AUTH_DISPLAY_MAX + 1];
    auth_role role;
    bool disabled;
    bool must_change_password;
    bool totp_enabled;
    int64_t locked_until; /* Unix ms; 0 = not locked */
    int64_t created_at, updated_at;
} auth_user;

/* What login needs besides the public view. Owned strings: auth_user_secrets_clear. */
typedef struct {
    char password_hash[AUTH_PWHASH_LEN];
    char *totp_sealed;         /* confirmed secret, NULL when 2FA is not enabled */
    char *totp_pending_sealed; /* secret being enrolled */
    int64_t totp_last_step;
    int64_t failed_logins;
} auth_user_secrets;
void auth_user_secrets_clear(auth_user_secrets *s);

/* Usernames: 2..64 of [a-z0-9._-], starting with a letter or digit. */
bool auth_username_valid(const char *username);
/* {"id","username","display_name","role","disabled","must_change_password","totp_enabled",
 * "created_at"} (caller owns). */
json_t *auth_user_json(const auth_user *u);
/* The same view written by a streaming writer (hot paths: GET /api/v1/me). */
void auth_user_write(cc_jw *w, const char *key, const auth_user *u);
/* Parses the JSON of auth_user_json (event payloads) back. */
int auth_user_from_json(const json_t *o, auth_user *out);

/* Every change below appends a "user.updated" event (scope perm:users.read, payload the public
 * view) in the same transaction, so every node's user cache and every admin screen follow. */
int auth_user_create(store *st, const char *username, const char *display_name, auth_role role,
                     const char *password_hash, bool must_change_password, auth_user *out);
/* By id (username NULL) or by username (id NULL). CC_ERR_NOT_FOUND if none. */
int auth_user_get(store *st, const char *id, const char *username, auth_user *out);
int auth_user_get_secrets(store *st, const char *id, auth_user_secrets *out);
/* Calls fn for every account, ordered by username. */
int auth_user_list(store *st, void (*fn)(void *ud, const auth_user *u), void *ud);
int auth_user_set_password(store *st, const char *id, const char *password_hash,
                           bool must_change_password);
int auth_user_set_disabled(store *st, const char *id, bool disabled);
int auth_user_set_role(store *st, const char *id, auth_role role);
int auth_user_set_display_name(store *st, const char *id, const char *display_name);
/* Removes 2FA and its recovery codes: the user enrols again at next login. */
int auth_user_reset_totp(store *st, const char *id);
int auth_user_set_totp_pending(store *st, const char *id, const char *sealed);
/* Makes the pending secret the active one and stores the recovery code hashes (n of them). */
int auth_user_enable_totp(store *st, const char *id, int64_t step,
                          char hashes[][CC_HASH_HEX_LEN + 1], size_t n);
/* Records the TOTP step a login used, only moving forward: CC_ERR_DENIED if a step as recent
 * was already used (a replay, possibly by a concurrent login). */
int auth_user_set_totp_step(store *st, const char *id, int64_t step);
/* Replaces the active sealed TOTP secret by the same secret sealed again (bound to its user),
 * only if it is still old_sealed: a concurrent reset or re-enrolment wins. */
int auth_user_reseal_totp(store *st, const char *id, const char *old_sealed, const char *sealed);
/* Marks a recovery code used; CC_ERR_NOT_FOUND if unknown or already used. */
int auth_user_use_recovery_code(store *st, const char *id, const char *code_hash);
/* Adds one failed login in the store (not from a count read earlier: concurrent guesses must
 * all count) and returns the new count. */
int auth_user_count_login_failure(store *st, const char *id, int64_t *failed);
/* Failed-login bookkeeping: count and optional lock (no event: not a visible change). */
int auth_user_set_login_failures(store *st, const char *id, int64_t failed, int64_t locked_until);
/* Counts accounts with the given role that are not disabled. */
int auth_user_count_active(store *st, auth_role role, int64_t *out);

/* ---- sessions (inside the caller's transaction) ------------------------------------------- */

typedef struct {
    char id[CC_ID_LEN + 1]; /* public id, shown in "my sessions" */
    char token_hash[CC_HASH_HEX_LEN + 1];
    char user_id[CC_ID_LEN + 1];
    int64_t created_at, last_seen_at, expires_at; /* expires_at: absolute limit */
    char source_ip[64];
    char user_agent[160];
} auth_session;

/* The token is never stored: only its BLAKE2b hash. */
void auth_token_hash(const char *token, char out[CC_HASH_HEX_LEN + 1]);
/* Inserts s and appends "session.created" (scope internal: never sent to clients). */
int auth_session_insert(store *st, const auth_session *s);
/* Revokes one session of user_id (CC_ERR_NOT_FOUND if not theirs or already revoked) and
 * appends "session.revoked" (scope user:<id>, payload {"id"}). */
int auth_session_revoke(store *st, const char *user_id, const char *session_id);
/* Revokes every live session of the user except keep_id (may be NULL). */
int auth_session_revoke_all(store *st, const char *user_id, const char *keep_id, int64_t *count);
/* Calls fn for every live (not revoked, not past expires_at) session; user_id NULL = all. */
int auth_session_list(store *st, const char *user_id, int64_t now_ms,
                      void (*fn)(void *ud, const auth_session *s), void *ud);
/* Persists sliding activity (no event: activity is not a change anyone watches). */
int auth_session_touch(store *st, const char *session_id, int64_t last_seen_at);
json_t *auth_session_json(const auth_session *s);               /* without the token hash */
int auth_session_from_json(const json_t *o, auth_session *out); /* with it (internal events) */

#endif
