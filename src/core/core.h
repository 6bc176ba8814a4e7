/* core: errors, logging, configuration, strings, JSON helpers, time, ids and crypto wrappers.
 * Everything here is usable from any thread unless a function says otherwise. */
#ifndef CC_CORE_H
#define CC_CORE_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CC_VERSION "0.1.0"

/* ---- errors -------------------------------------------------------------------------------- */

/* The project's one error enum. Functions return CC_OK or a negative code; results go through
 * out-parameters. */
typedef enum {
    CC_OK = 0,
    CC_ERR_NOMEM = -1,     /* allocation failed */
    CC_ERR_INVALID = -2,   /* malformed or out-of-range input */
    CC_ERR_NOT_FOUND = -3, /* no such object */
    CC_ERR_EXISTS = -4,    /* object already exists (unique constraint) */
    CC_ERR_IO = -5,        /* file or socket error */
    CC_ERR_STORE = -6,     /* database error */
    CC_ERR_BUSY = -7,      /* temporarily unavailable, retry */
    CC_ERR_DENIED = -8,    /* not allowed */
    CC_ERR_TOO_BIG = -9,   /* input over a limit */
    CC_ERR_CONFIG = -10,   /* invalid configuration */
    CC_ERR_CRYPTO = -11,   /* crypto library failure */
    CC_ERR_TAMPERED = -12, /* integrity check failed */
    CC_ERR_EXPIRED = -13,  /* credential or object expired */
    CC_ERR_INTERNAL = -14, /* a bug: an invariant did not hold */
} cc_err;

/* Static human text for an error code. */
const char *cc_strerror(int err);

/* ---- memory and strings -------------------------------------------------------------------- */

/* Allocation wrappers that count live bytes (shown in /metrics). They abort on nothing: callers
 * check for NULL. */
void *cc_malloc(size_t n);
void *cc_calloc(size_t count, size_t n);
void *cc_realloc(void *p, size_t n);
char *cc_strdup(const char *s);
char *cc_strndup(const char *s, size_t n);
void cc_free_ptr(void *p);
/* Frees *pp and sets it to NULL. */
#define cc_free(pp)                                                                                \
    do {                                                                                           \
        cc_free_ptr(*(pp));                                                                        \
        *(pp) = NULL;                                                                              \
    } while (0)
/* Live bytes allocated through the wrappers. */
int64_t cc_mem_live_bytes(void);

/* printf into a new string; caller frees with cc_free. NULL on failure. */
char *cc_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes an explanation into why[whylen] for the caller to show; nothing when why is NULL. */
void cc_say(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* True when p[n] is well-formed UTF-8: no overlong forms, surrogates or values past U+10FFFF. */
bool cc_utf8_valid(const char *p, size_t n);
/* Decodes one UTF-8 character at p (n bytes available): its length, or 0 for an invalid,
 * truncated or overlong sequence, a surrogate or a value past U+10FFFF. */
size_t cc_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* Length-delimited string view; never assumes a NUL. */
typedef struct {
    const char *p;
    size_t n;
} cc_str;

/* Growable byte buffer. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} cc_buf;
int cc_buf_append(cc_buf *b, const void *p, size_t n);
/* Room for extra more bytes in one allocation, for text whose size is known roughly. */
int cc_buf_reserve(cc_buf *b, size_t extra);
int cc_buf_appendf(cc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cc_buf_free(cc_buf *b);

/* Constant-time comparison of two equal-length buffers. */
bool cc_memeq_ct(const void *a, const void *b, size_t n);

/* ---- time and ids -------------------------------------------------------------------------- */

int64_t cc_now_ms(void);       /* wall clock, Unix milliseconds */
int64_t cc_monotonic_ms(void); /* monotonic clock */
int64_t cc_monotonic_us(void); /* the same, in microseconds */

/* A rate limit as one timestamp per client (GCRA, the leaky bucket): `burst` at once, then one
 * every interval_us. cc_rate_take takes one unit at now_us (cc_monotonic_us): 0 if allowed,
 * else the microseconds until one is. Refusals take nothing, so a client that waits gets
 * through. A limit with interval_us 0 allows everything. */
typedef struct {
    int64_t interval_us;  /* one unit's worth; 0: no limit */
    int64_t tolerance_us; /* how far ahead of now the budget may run: (burst - 1) units */
} cc_rate;
/* per_minute 0 means no limit; burst below 1 counts as 1. */
cc_rate cc_rate_per_minute(int64_t per_minute, int64_t burst);
int64_t cc_rate_take(const cc_rate *rate, int64_t *tat_us, int64_t now_us);
/* A time-ordered unique id: 26 chars of Crockford base32 (48-bit ms time + 80 random bits),
 * written to out (27 bytes with NUL). */
#define CC_ID_LEN 26
void cc_id_new(char out[CC_ID_LEN + 1]);
/* Format Unix ms as RFC 3339 UTC ("2026-11-22T10:00:00.000Z") into out (32 bytes). */
void cc_time_format(int64_t ms, char out[32]);

/* ---- crypto wrappers (libsodium) ----------------------------------------------------------- */

/* Must be called once before any other crypto function. */
int cc_crypto_init(void);
void cc_random_bytes(void *buf, size_t n);
/* Random token of nbytes, base64url without padding, into a new string (caller frees). */
char *cc_random_token(size_t nbytes);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void cc_hex_encode(const uint8_t *in, size_t n, char *out);
/* BLAKE2b-256 of data as 64 hex chars + NUL. key may be NULL (unkeyed). */
#define CC_HASH_HEX_LEN 64
void cc_blake2b_hex(const void *data, size_t n, const uint8_t *key, size_t keylen,
                    char out[CC_HASH_HEX_LEN + 1]);
/* SipHash-2-4 of data under a key drawn at random once per process: for hash tables whose keys a
 * client chooses. Thread-safe. */
uint64_t cc_keyed_hash64(const void *data, size_t n);

/* ---- JSON ---------------------------------------------------------------------------------- */

/* Parse a request body: must be one JSON object, at most max_bytes, nesting at most 16 deep.
 * On failure returns NULL and writes a short reason (static string) to *why. Caller owns the
 * result (json_decref). */
json_t *cc_json_parse_object(const char *data, size_t n, size_t max_bytes, const char **why);

/* Appends the compact JSON text of v to b (the same text as json_dumps(v, JSON_COMPACT), keys in
 * insertion order). jansson's own writer validates UTF-8 byte by byte and was the largest cost of
 * answering a request; this one copies runs of plain characters at once. CC_ERR_INVALID for a
 * value that has no JSON text (NaN, infinity). */
int cc_json_write(cc_buf *b, const json_t *v);

/* Streaming JSON writer for hot responses: text straight into a cc_buf, no tree and no
 * allocation per value (building then freeing a jansson tree cost more than the rest of a small
 * request). Keys are given with each value inside an object and are NULL inside an array. Strings
 * must be valid UTF-8 (they come from validated input or from the store). Errors are sticky and
 * reported by cc_jw_finish. Nesting up to 32. */
typedef struct {
    cc_buf *b;
    int rc;
    int depth;
    bool first[32];
} cc_jw;
void cc_jw_init(cc_jw *w, cc_buf *b);
void cc_jw_obj_begin(cc_jw *w, const char *key);
void cc_jw_obj_end(cc_jw *w);
void cc_jw_arr_begin(cc_jw *w, const char *key);
void cc_jw_arr_end(cc_jw *w);
void cc_jw_str(cc_jw *w, const char *key, const char *val); /* NULL writes null */
void cc_jw_int(cc_jw *w, const char *key, int64_t val);
void cc_jw_bool(cc_jw *w, const char *key, bool val);
void cc_jw_null(cc_jw *w, const char *key);
/* A value already in JSON text (from this writer or cc_json_write), copied as it is. */
void cc_jw_raw(cc_jw *w, const char *key, const char *json, size_t n);
/* Writes a jansson value (borrowed) at this position. */
void cc_jw_value(cc_jw *w, const char *key, const json_t *val);
/* CC_OK if everything was written and every container closed. */
int cc_jw_finish(cc_jw *w);

/* Declarative validation of a JSON object's fields. */
typedef enum {
    CC_JSON_STRING,
    CC_JSON_INT,
    CC_JSON_BOOL,
    CC_JSON_OBJECT,
    CC_JSON_ARRAY
} cc_json_type;
typedef struct {
    const char *name;
    cc_json_type type;
    bool required;
    int64_t min; /* strings: minimum length in bytes; ints: minimum value */
    int64_t max; /* strings: maximum length in bytes; ints: maximum value; 0 = no bound */
} cc_json_field;
/* Checks obj against fields (n entries): types, required, bounds, and that no unknown field is
 * present. Strings must be valid UTF-8 without NUL. On failure returns CC_ERR_INVALID and
 * writes a message naming the field into why (whylen bytes). */
int cc_json_validate(const json_t *obj, const cc_json_field *fields, size_t n, char *why,
                     size_t whylen);

/* ---- logging ------------------------------------------------------------------------------- */

typedef enum { CC_LOG_DEBUG = 0, CC_LOG_INFO, CC_LOG_WARN, CC_LOG_ERROR } cc_log_level;
void cc_log_set_level(cc_log_level lvl);
int cc_log_level_parse(const char *s, cc_log_level *out);
/* Writes one JSON line to stderr: {"ts","level","msg", ...fields}. fields may be NULL and is
 * borrowed. Never pass patient data. */
void cc_log(cc_log_level lvl, const char *msg, json_t *fields);
/* Convenience: fields built from a jansson pack format, e.g.
 * cc_logf(CC_LOG_INFO, "listening", "{s:s}", "addr", addr). */
void cc_logf(cc_log_level lvl, const char *msg, const char *fmt, ...);

/* ---- configuration ------------------------------------------------------------------------- */

typedef enum { CC_CFG_STRING, CC_CFG_INT, CC_CFG_BOOL } cc_cfg_type;

/* One configuration key. Each module exports a table of these and main registers them. */
typedef struct {
    const char *name; /* "listen"; environment variable is CARECOMM_ + uppercase name */
    cc_cfg_type type;
    const char *default_value; /* as text; NULL = unset */
    int64_t min, max;          /* bounds for ints */
    bool secret;               /* masked by `config show` */
    const char *help;          /* one line for docs/configuration.md */
} cc_cfg_key;

typedef struct cc_config cc_config;

cc_config *cc_config_new(void);
void cc_config_free(cc_config *cfg);
/* Registers keys (borrowed; must outlive cfg). CC_ERR_EXISTS on a duplicate name. */
int cc_config_register(cc_config *cfg, const cc_cfg_key *keys, size_t n);
/* Parses "key = value" lines ('#' comments, blank lines). Unknown keys and bad values fail with
 * the line number and reason in why. Pure: no I/O. */
int cc_config_parse(cc_config *cfg, const char *text, size_t n, char *why, size_t whylen);
/* Reads the file at path (missing file is CC_ERR_NOT_FOUND) and parses it. */
int cc_config_load_file(cc_config *cfg, const char *path, char *why, size_t whylen);
/* Applies CARECOMM_* environment variables over file values. */
int cc_config_load_env(cc_config *cfg, char *why, size_t whylen);
/* Effective values. The key must be registered (abort otherwise: a programming error). */
const char *cc_config_str(const cc_config *cfg, const char *name); /* NULL if unset */
int64_t cc_config_int(const cc_config *cfg, const char *name);
bool cc_config_bool(const cc_config *cfg, const char *name);
/* Sets a value programmatically (as if from a file). */
int cc_config_set(cc_config *cfg, const char *name, const char *value, char *why, size_t whylen);
/* {"key": {"value":..., "source":"default|file|env"}} with secrets masked. Caller owns. */
json_t *cc_config_dump(const cc_config *cfg);
/* Markdown table of every registered key (docs/configuration.md). Caller frees. */
char *cc_config_doc(const cc_config *cfg);

/* Extra check for one key's value, run on every set (default, file, env, set) after the type
 * check. Returns CC_OK, or an error with a reason in why (no key name, no value: the caller adds
 * the key and never echoes values, which may be secrets). */
typedef int (*cc_cfg_check)(const char *value, char *why, size_t whylen);
/* Attaches check to a registered key and re-checks its current value. CC_ERR_NOT_FOUND if the
 * key is not registered, CC_ERR_CONFIG if the current value fails. */
int cc_config_set_check(cc_config *cfg, const char *name, cc_cfg_check check, char *why,
                        size_t whylen);

/* Core's own keys: data_dir, log_level. Registering this table also attaches the log_level
 * check (debug|info|warn|error). */
extern const cc_cfg_key core_config_keys[];
extern const size_t core_config_keys_count;

/* ---- files --------------------------------------------------------------------------------- */

/* Reads a whole file (at most max bytes) into a new NUL-terminated buffer. */
int cc_file_read(const char *path, size_t max, char **out, size_t *outlen);
/* Writes data to path atomically (temp file, fsync, rename) with the given mode. */
int cc_file_write_atomic(const char *path, const void *data, size_t n, unsigned mode);
/* Creates path (mode 0600) holding data, never replacing an existing file: written beside it,
 * synced, then link()ed into place, which fails if another process (a second node, the CLI)
 * created it first; theirs then stays and this returns CC_OK, so read the file afterwards. */
int cc_file_create_private(const char *path, const void *data, size_t n, char *why, size_t whylen);
/* Reads a file that holds a secret into buf (at most max bytes, not NUL-terminated; *got gets
 * the length). Refuses a file that is not regular or that group or others may access
 * (CC_ERR_CONFIG: a secret that may have leaked is not one, and carrying on would hide it),
 * naming `what` ("the server key") in why; CC_ERR_TOO_BIG above max; CC_ERR_NOT_FOUND. */
int cc_file_read_private(const char *path, const char *what, void *buf, size_t max, size_t *got,
                         char *why, size_t whylen);
/* mkdir -p with mode 0700 for the last component. */
int cc_mkdir_p(const char *path);

/* ---- string-keyed hash map ----------------------------------------------------------------- */

/* Keys are copied; values are borrowed pointers the caller owns. Not thread-safe. */
typedef struct cc_map cc_map;
cc_map *cc_map_new(void);
/* For keys a client chooses (usernames, addresses, words of a message): hashed by
 * cc_keyed_hash64, so that nobody can pick keys that all land in one bucket and turn every lookup
 * into a walk of the whole map. Iteration order then differs from run to run. */
cc_map *cc_map_new_keyed(void);
/* Frees the map; free_value (may be NULL) is called on every value. */
void cc_map_free(cc_map *m, void (*free_value)(void *));
/* Inserts or replaces; the replaced value is returned through *old (may be NULL). */
int cc_map_put(cc_map *m, const char *key, void *value, void **old);
void *cc_map_get(const cc_map *m, const char *key);
/* Removes and returns the value (NULL if absent). */
void *cc_map_remove(cc_map *m, const char *key);
size_t cc_map_count(const cc_map *m);
/* The longest bucket chain: how many keys a lookup may compare (tests, diagnostics). */
size_t cc_map_longest_chain(const cc_map *m);
/* Calls fn for each entry; fn returns true to remove the entry (its value is then the caller's). */
void cc_map_sweep(cc_map *m, bool (*fn)(void *ud, const char *key, void *value), void *ud);

/* ---- guesses (guesses.c): wrong credentials per key within a window ---------------------------
 */
typedef struct cc_guesses cc_guesses;
/* At most limit failures per key within window_ms; NULL when out of memory. */
cc_guesses *cc_guesses_new(int limit, int64_t window_ms);
void cc_guesses_free(cc_guesses *g); /* NULL is a no-op */
/* Whether key has used up its failures for now. */
bool cc_guesses_blocked(const cc_guesses *g, const char *key, int64_t now_ms);
/* Counts a failure of key; returns its failures in the current window (0: not counted). */
int cc_guesses_failed(cc_guesses *g, const char *key, int64_t now_ms);

#endif
