/* media internals shared by media.c (wiring), conf.c (configuration files), secrets.c,
 * proc.c (the supervisor), probe.c (readiness) and turn.c (credentials and the route).
 * Not a public header: tests include it to reach the pure parts. */
#ifndef CC_MEDIA_INTERNAL_H
#define CC_MEDIA_INTERNAL_H

#include "media/media.h"

/* ---- secrets.c ----------------------------------------------------------------------------- */

/* The secrets carecommd shares with Janus and coturn. Each is printable (base64url) because
 * Janus and coturn read them from text configuration files. */
typedef struct {
    char *janus_api_secret;
    char *janus_admin_secret;
    char *videoroom_admin_key;
    char *turn_secret;
} media_secrets;

/* Reads the secrets file at path (a JSON object with the four keys above; mode must not let
 * group or others read it). With create, a missing file is made first (0600, never replacing
 * one another process made meanwhile). CC_ERR_CONFIG/IO/INVALID with a reason in why (never a
 * secret). */
int media_secrets_load(const char *path, bool create, media_secrets *out, char *why, size_t whylen);
/* Wipes and frees the secrets; the struct can be reused. */
void media_secrets_clear(media_secrets *s);

/* ---- conf.c: the configuration files (pure) ------------------------------------------------ */

typedef struct {
    const char *dir;       /* <data_dir>/media/janus: configs, plugins/, transports/, ... */
    const char *media_ip;  /* the address media candidates use */
    const char *public_ip; /* nat_1_1_mapping; NULL or "" when not behind 1:1 NAT */
    const char *rtp_port_range;
    int api_port, admin_port; /* loopback WebSocket API and admin API */
    const media_secrets *secrets;
} media_janus_params;

typedef struct {
    const char *dir;       /* <data_dir>/media: userdb and pid file */
    const char *media_ip;  /* listening-ip and relay-ip */
    const char *public_ip; /* external-ip; NULL or "" */
    int port;
    int relay_min, relay_max;
    const char *realm;
    int tls_port; /* 0: no TLS (tests, or TLS terminated elsewhere) */
    const char *tls_cert, *tls_key;
    const char *secret;
} media_turn_params;

/* Each returns the text of one file (caller frees with cc_free) or NULL (no memory). */
char *media_conf_janus(const media_janus_params *p);
char *media_conf_janus_ws(const media_janus_params *p);
char *media_conf_videoroom(const media_janus_params *p);
char *media_conf_turn(const media_turn_params *p);

/* Parses "min-max" (1024 <= min < max <= 65535). CC_ERR_INVALID otherwise. */
int media_port_range_parse(const char *s, int *min, int *max);
/* True for 127.0.0.0/8 and ::1. */
bool media_ip_is_loopback(const char *ip);

/* ---- proc.c: one supervised child process -------------------------------------------------- */

typedef struct media_proc media_proc;
/* Called on the loop when the child starts (running = true) or exits (false). */
typedef void (*media_proc_fn)(void *ud, media_proc *p, bool running);

/* argv is NULL-terminated and copied; argv[0] is the binary's path. Output (stdout and stderr)
 * is appended to log_path; the pid is written to pid_path while it runs. The child is started
 * at once and restarted with backoff whenever it exits, until media_proc_stop. */
int media_proc_start(uv_loop_t *loop, const char *name, char *const argv[], const char *log_path,
                     const char *pid_path, media_proc_fn fn, void *ud, media_proc **out);
/* Restarts so far (each spawn after the first). */
uint64_t media_proc_restarts(const media_proc *p);
bool media_proc_running(const media_proc *p);
int media_proc_pid(const media_proc *p); /* 0 when not running */
/* SIGTERM, then SIGKILL after kill_after_ms; handles close once it has exited. */
void media_proc_stop(media_proc *p, int kill_after_ms);
/* After the loop has returned. */
void media_proc_free(media_proc *p);
/* A child left behind by a carecommd that was killed: if pid_path names a live process whose
 * command line contains marker (a path only our child has), kill it and wait up to 3 s. */
void media_proc_reap_stale(const char *pid_path, const char *marker);

/* ---- probe.c: readiness -------------------------------------------------------------------- */

typedef enum { MEDIA_PROBE_TCP, MEDIA_PROBE_JANUS } media_probe_kind;
typedef struct media_probe media_probe;

/* Probes host:port on the loop: MEDIA_PROBE_TCP is up when a TCP connection opens,
 * MEDIA_PROBE_JANUS when Janus answers an "info" request over its WebSocket API. Every
 * interval_ms while up, faster while down; each attempt times out after 2 s. */
int media_probe_start(uv_loop_t *loop, media_probe_kind kind, const char *host, int port,
                      int interval_ms, media_probe **out);
bool media_probe_up(const media_probe *p);
/* Marks it down at once and probes again soon (the supervisor saw the child exit). */
void media_probe_kick(media_probe *p);
void media_probe_stop(media_probe *p);
void media_probe_free(media_probe *p);

/* The pure parts of the Janus probe. The handshake: 0 while the response headers are
 * incomplete, -1 unless they are a 101, else 1 with *hdr_len the bytes of the headers. The
 * frame that follows: 0 while incomplete, 1 for a text frame whose JSON has
 * "janus":"server_info", -1 for anything else. */
int media_probe_janus_handshake(const char *buf, size_t n, size_t *hdr_len);
int media_probe_janus_frame(const char *buf, size_t n);
/* Write the upgrade request (subprotocol janus-protocol), or one masked text frame with an
 * "info" request, into b. */
int media_probe_janus_upgrade_req(cc_buf *b, const char *host, int port);
int media_probe_janus_info_req(cc_buf *b);

/* Splits "ws://host:port/path", "turn:host:port?transport=tcp" or "host:port" into host
 * (hostlen bytes; brackets of an IPv6 literal removed) and port (default_port if absent). */
int media_url_host_port(const char *url, char *host, size_t hostlen, int default_port, int *port);

/* ---- turn.c -------------------------------------------------------------------------------- */

extern const net_route media_routes[];
extern const size_t media_routes_count;

/* ---- media.c ------------------------------------------------------------------------------- */

struct media {
    uv_loop_t *loop;
    const cc_config *cfg;
    net_server *srv;
    account *acct;
    media_mode mode;
    media_secrets secrets;
    char *janus_url;
    char **turn_urls; /* what clients get */
    size_t nturn_urls;
    int64_t ttl_s;
    media_proc *janus, *turn;
    media_probe *janus_probe, *turn_probe;
    struct meeting *meeting; /* meeting.c; NULL when media is off */
    bool stopped;
};

#endif
