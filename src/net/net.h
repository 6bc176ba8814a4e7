/* net: the HTTPS/WSS server on libwebsockets + libuv: router with declarative routes, JSON
 * responses, security headers, limits, metrics, and the event WebSocket with resume and fan-out.
 * net knows no domain module: modules register routes; authentication and event visibility are
 * hooks that main wires to the account module. Everything here runs on the loop thread. */
#ifndef CC_NET_H
#define CC_NET_H

#include "core/core.h"
#include "store/store.h"
#include <uv.h>

typedef struct net_server net_server;
typedef struct net_req net_req;

/* Configuration keys of net (listen, tls_cert, tls_key, plain_http, public_url, allowed_origins,
 * limits and timeouts). */
extern const cc_cfg_key net_config_keys[];
extern const size_t net_config_keys_count;

/* ---- routes -------------------------------------------------------------------------------- */

typedef void (*net_handler_fn)(net_req *r);

enum {
    NET_ROUTE_PUBLIC = 1u << 0,        /* no authentication (login, health) */
    NET_ROUTE_RESTRICTED_OK = 1u << 1, /* usable by a session that must still enrol 2FA or change
                                          its password */
    NET_ROUTE_FREE_BODY = 1u << 2,     /* a JSON object body the handler checks itself (FHIR
                                          resources): parsed and size-limited, fields unchecked */
};

/* A route. Tables are borrowed and must outlive the server. The path may hold ":name" segments.
 * Unless NET_ROUTE_PUBLIC, the authenticator runs first with perm; then the JSON body (required
 * when body != NULL, refused otherwise) is parsed and validated against body[0..nbody), and only
 * then the handler runs with checked input. */
typedef struct {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;   /* "/api/v1/users/:id" */
    int perm;           /* permission id handed to the authenticator; ignored when public */
    unsigned flags;
    const cc_json_field *body;
    size_t nbody;
    net_handler_fn handler;
} net_route;

/* Authentication hook: reads the credentials of r (net_req_cookie / net_req_bearer), checks perm
 * and the route flags. Returns true to let the request continue (after net_req_set_principal), or
 * false after replying itself (401/403). Synchronous: sessions are served from memory. */
typedef bool (*net_authn_fn)(void *ud, net_req *r, int perm, unsigned route_flags);
/* Event visibility hook: may the principal of a WebSocket see this event? */
typedef bool (*net_visible_fn)(void *ud, const void *principal, const char *scope);
/* Readiness hook for /readyz. */
typedef bool (*net_ready_fn)(void *ud);

/* ---- server lifecycle ---------------------------------------------------------------------- */

/* Creates the lws context on loop, the vhost with TLS (generating a self-signed development
 * certificate into <data_dir>/tls/ when none is configured) and starts listening. */
int net_server_create(uv_loop_t *loop, const cc_config *cfg, net_server **out, char *why,
                      size_t whylen);
/* ud is handed to the handlers of this table through net_req_ud(). */
int net_server_add_routes(net_server *s, const net_route *routes, size_t n, void *ud);
void net_server_set_authn(net_server *s, net_authn_fn fn, void *ud);
void net_server_set_visibility(net_server *s, net_visible_fn fn, void *ud);
void net_server_set_ready(net_server *s, net_ready_fn fn, void *ud);
/* A named component /readyz reports besides the store ("janus": "up" | "down"); the server is
 * not ready while one is down. name is borrowed (static). At most 8. */
int net_server_add_ready_component(net_server *s, const char *name, net_ready_fn fn, void *ud);
/* Permission id the authenticator checks for the event WebSocket upgrade. */
void net_server_set_events_perm(net_server *s, int perm);
/* Port actually bound (useful with port 0). */
int net_server_port(const net_server *s);
/* Where users reach this server, for links (patients', guests', FHIR's): public_url without a
 * trailing slash; when it is not configured, https://<listen host>:<port> (http:// with
 * plain_http; localhost for a wildcard address). Borrowed, valid until net_server_free. */
const char *net_server_public_url(const net_server *s);

/* Graceful shutdown, step 1: stop accepting (listen sockets closed), keep answering requests on
 * open connections (HTTP/1.1 ones then close), close every WebSocket with 1001. done is called
 * once no request is in flight after a short grace (NET_DRAIN_GRACE_MS, for requests a client
 * sent just before), or after timeout_ms. */
#define NET_DRAIN_GRACE_MS 200
void net_server_drain(net_server *s, int timeout_ms, void (*done)(void *ud), void *ud);
/* Step 2: destroy the lws context; the loop must then run until it returns by itself. */
void net_server_close(net_server *s);
/* Step 3: after the loop has returned. */
void net_server_free(net_server *s);

/* ---- requests ------------------------------------------------------------------------------ */

/* A request is reference counted: take a ref before handing it to async work, and reply from the
 * completion. Replying to a request whose client has gone is harmless (the response is dropped). */
net_req *net_req_ref(net_req *r);
void net_req_unref(net_req *r);
/* True if the client is gone: skip work that only served the reply. */
bool net_req_gone(const net_req *r);

const char *net_req_method(const net_req *r);
const char *net_req_path(const net_req *r);
const char *net_req_route_path(const net_req *r); /* route template, for logs and metrics */
const char *net_req_id(const net_req *r);         /* request id for logs (16 hex chars) */
const char *net_req_source_ip(const net_req *r);
const char *net_req_user_agent(const net_req *r); /* "" if none */
/* The value of path parameter ":name", or NULL. Borrowed. */
const char *net_req_param(const net_req *r, const char *name);
/* The decoded value of query argument name into buf; false if absent. */
bool net_req_query(const net_req *r, const char *name, char *buf, size_t buflen);
/* The nth (0-based) value of a query argument given several times (FHIR's date=ge..&date=le..). */
bool net_req_query_nth(const net_req *r, const char *name, int nth, char *buf, size_t buflen);
/* Reads integer query argument name in [min, max] into *out (left as it is when absent;
 * *present, may be NULL, says whether it was there). Returns false after replying
 * 400 invalid_request when it is there but not such an integer. */
bool net_req_query_int(net_req *r, const char *name, int64_t min, int64_t max, bool *present,
                       int64_t *out);
/* The value of the cookie name (borrowed) or NULL. */
const char *net_req_cookie(const net_req *r, const char *name);
/* The bearer token of the Authorization header (borrowed) or NULL. */
const char *net_req_bearer(const net_req *r);
/* The validated JSON body (borrowed) or NULL when the route takes none. */
json_t *net_req_body(const net_req *r);
net_server *net_req_server(const net_req *r);
/* The ud given with the route table of the matched route. */
void *net_req_ud(const net_req *r);

/* The principal set by the authenticator; freed with free_fn when the request ends. */
void net_req_set_principal(net_req *r, void *principal, void (*free_fn)(void *));
void *net_req_principal(const net_req *r);

/* Adds a response header (copied). Before replying only. */
void net_reply_header(net_req *r, const char *name, const char *value);
/* Replies with body as JSON (reference stolen; NULL gives an empty body). Exactly once. */
void net_reply_json(net_req *r, int status, json_t *body);
/* Replies with JSON text already written (e.g. by cc_jw); takes the buffer's storage. */
void net_reply_json_text(net_req *r, int status, cc_buf *text);
/* Replies {"error":{"code":code,"message":message}}. */
void net_reply_error(net_req *r, int status, const char *code, const char *message);
/* Replies with raw bytes of the given content type (copied). */
void net_reply_raw(net_req *r, int status, const char *content_type, const void *data, size_t n);

/* ---- the event hub ------------------------------------------------------------------------- */

/* Feeds committed events (in seq order) to the hub: kept in a bounded in-memory ring for resume,
 * and fanned out to every WebSocket whose principal may see them. Matches store_event_sink_fn. */
void net_hub_publish(void *server, const store_event *evs, size_t n);
/* Sets the head seq at start-up (events up to it are in the store, not in the ring) and the
 * worker that serves older events for resume. */
void net_hub_start(net_server *s, int64_t head_seq, store_worker *worker);
int64_t net_hub_head(const net_server *s);
/* Replaces the data of event seq in the ring, if it is still there, with payload (JSON object
 * text, borrowed): the in-memory side of store_event_redact, run by every node that follows the
 * change. Sockets that already have the event queued or sent keep the old data. */
void net_hub_replace(net_server *s, int64_t seq, const char *payload);
/* Closes every WebSocket whose principal matches with the given close code and reason. */
void net_ws_close_matching(net_server *s, bool (*match)(void *ud, const void *principal), void *ud,
                           int code, const char *reason);

/* ---- WebSocket hooks for modules ------------------------------------------------------------ */

/* A client message type a module handles on the event WebSocket (e.g. "typing"). obj is the
 * whole parsed message (borrowed for the call), principal the socket's (borrowed). Returns NULL
 * when accepted, or a stable error code (static string) with *message (static), which net sends
 * back as {"type":"error","code":...,"message":...}; the connection stays open. */
typedef const char *(*net_ws_msg_fn)(void *ud, const void *principal, const json_t *obj,
                                     const char **message);
/* Registers a handler for messages of the given type ([a-z][a-z0-9_.]{0,31}; not "hello" or
 * "ping"; type is borrowed and must outlive the server). CC_ERR_EXISTS if already taken. */
int net_server_add_ws_message(net_server *s, const char *type, net_ws_msg_fn fn, void *ud);

/* Connection observer: on_open runs once a WebSocket is established (authenticated), on_close
 * once it has ended, each exactly once per connection and with the same principal (borrowed for
 * the call). Either may be NULL. */
typedef void (*net_ws_conn_fn)(void *ud, const void *principal);
int net_server_add_ws_observer(net_server *s, net_ws_conn_fn on_open, net_ws_conn_fn on_close,
                               void *ud);

/* Per-connection hooks, for state that belongs to one socket rather than to a user (a meeting:
 * a person may have two tabs, each its own participant). Every event WebSocket gets an id when it
 * is established, unique for the server's life (1, 2, ...; never reused), so a module can key its
 * state by it without holding a pointer into net. */
typedef uint64_t net_ws_conn;
/* Like net_ws_msg_fn, with the connection's id. Registered with net_server_add_ws_conn_message,
 * under the same rules as net_server_add_ws_message (one handler per type, either kind). */
typedef const char *(*net_ws_conn_msg_fn)(void *ud, net_ws_conn conn, const void *principal,
                                          const json_t *obj, const char **message);
int net_server_add_ws_conn_message(net_server *s, const char *type, net_ws_conn_msg_fn fn,
                                   void *ud);
/* on_close runs once per connection that was established, after it has ended (its id is then
 * never valid again), with its principal (borrowed for the call). */
typedef void (*net_ws_conn_close_fn)(void *ud, net_ws_conn conn, const void *principal);
int net_server_add_ws_conn_observer(net_server *s, net_ws_conn_close_fn on_close, void *ud);
/* Sends obj (borrowed) as one ephemeral frame to connection conn, hello or not (it answers the
 * connection's own request). CC_ERR_NOT_FOUND when conn has ended or is closing, CC_ERR_TOO_BIG
 * when its send queue is full (the frame is dropped; the connection stays open), CC_ERR_NOMEM. */
int net_ws_send_to(net_server *s, net_ws_conn conn, const json_t *obj);

/* Sends obj (borrowed) as one ephemeral frame — not in the log, never replayed — to every
 * WebSocket that has said hello and whose principal matches. A socket whose send queue is full
 * misses it (ephemeral frames are best effort; they never close a connection). Returns the
 * number of sockets it was queued to. */
size_t net_ws_send_matching(net_server *s, bool (*match)(void *ud, const void *principal), void *ud,
                            const json_t *obj);

/* ---- the guest WebSocket ---------------------------------------------------------------------
 * A second WebSocket path for people without an account (a patient with a consultation link, a
 * guest from outside invited to a meeting).
 * Its upgrade needs no session (the origin check still applies). The connection has no principal
 * until the module that checks the client's credential binds one (net_ws_guest_bind); unbound
 * after NET_WS_GUEST_BIND_S it is closed. A guest connection never receives events (hello gets
 * a not_allowed error), its messages go only to handlers registered with
 * net_server_add_ws_guest_message (which receive the module's principal, or NULL before the
 * bind), it is left out of net_server_add_ws_observer's observers and of
 * net_ws_close_matching / net_ws_send_matching; conn observers see its close (with its
 * principal or NULL) and net_ws_send_to reaches it. */
#define NET_WS_GUEST_BIND_S 15
#define NET_WS_GUEST_PER_IP 20 /* open guest connections from one address; more get 429 */
/* One path ("/api/v1/visit/events"; copied). CC_ERR_INVALID if set already. */
int net_server_set_ws_guest_path(net_server *s, const char *path);
/* As net_server_add_ws_conn_message, for guest connections (the two tables are separate). */
int net_server_add_ws_guest_message(net_server *s, const char *type, net_ws_conn_msg_fn fn,
                                    void *ud);
/* Several modules bind guests (a patient's link, a meeting guest's link) and every handler of
 * the guest table sees every bound principal: each principal starts with its kind, so that a
 * module acts only on its own. */
typedef enum { NET_GUEST_PATIENT_LINK = 1, NET_GUEST_MEETING_LINK } net_guest_kind;
static inline net_guest_kind net_guest_kind_of(const void *principal)
{
    return principal ? *(const net_guest_kind *)principal : (net_guest_kind)0;
}
/* Gives guest connection conn its principal (taken: freed with free_fn when the connection ends
 * or another is bound), a struct whose first member is its net_guest_kind. CC_ERR_NOT_FOUND
 * (principal freed) when conn is not an open guest. */
int net_ws_guest_bind(net_server *s, net_ws_conn conn, void *principal, void (*free_fn)(void *));
/* The source address of guest connection conn ("" when it is not one). Borrowed. */
const char *net_ws_guest_ip(net_server *s, net_ws_conn conn);
/* Like net_ws_send_matching, over bound guest connections only. */
size_t net_ws_send_guests(net_server *s, bool (*match)(void *ud, const void *principal), void *ud,
                          const json_t *obj);
/* Like net_ws_close_matching, over bound guest connections only. */
void net_ws_guest_close_matching(net_server *s, bool (*match)(void *ud, const void *principal),
                                 void *ud, int code, const char *reason);

/* A parsed client message of the event WebSocket (ws_proto.c; pure, fuzzed). */
typedef enum { NET_WS_MSG_HELLO = 1, NET_WS_MSG_PING, NET_WS_MSG_OTHER } net_ws_msg_type;
#define NET_WS_TYPE_MAX 32
typedef struct {
    net_ws_msg_type type;
    bool has_last_seq;
    int64_t last_seq;                /* hello: resume after this seq */
    char ping_id[65];                /* ping: echoed in the pong ("" if none) */
    char other[NET_WS_TYPE_MAX + 1]; /* OTHER: the type, [a-z][a-z0-9_.]* */
    json_t *obj; /* OTHER: the whole message, owned: net_ws_msg_clear frees it */
} net_ws_msg;
/* Parses one text message: hello and ping fully checked; any other object whose "type" is a
 * well-formed name is OTHER (a module's message, checked by its handler). CC_ERR_INVALID with a
 * reason in why for anything else. */
int net_ws_msg_parse(const char *data, size_t n, net_ws_msg *out, char *why, size_t whylen);
/* Frees what a parse left in m (obj of an OTHER message). */
void net_ws_msg_clear(net_ws_msg *m);

/* ---- outgoing WebSocket clients (e.g. to Janus) -------------------------------------------- */

/* A WebSocket this server opens to another service, on the server's own lws context and loop.
 * Text messages only. Loop thread. */
typedef struct net_ws_client net_ws_client;
typedef struct {
    void (*on_open)(void *ud); /* the handshake completed; queued messages now go out */
    /* One whole text message (fragments assembled), borrowed for the call. */
    void (*on_message)(void *ud, const char *data, size_t n);
    /* The connection failed (was_open false) or ended (true). Last callback: the client is
     * freed right after it returns and must not be used again. */
    void (*on_close)(void *ud, bool was_open, const char *why);
} net_ws_client_cbs;

/* Connects to url (ws://host:port/path; host numeric or resolvable without waiting, e.g.
 * 127.0.0.1) asking for subprotocol. cbs is copied; ud is handed to every callback. On CC_OK,
 * *out is valid until on_close has been called or the caller calls net_ws_client_close, whichever
 * comes first; no callback is ever made from inside this call (a connection refused at once is
 * CC_ERR_IO here). CC_ERR_INVALID for a malformed url, CC_ERR_BUSY once the server drains or
 * closes (so a reconnection timer cannot open one on a context being destroyed). */
int net_ws_client_open(net_server *s, const char *url, const char *subprotocol,
                       const net_ws_client_cbs *cbs, void *ud, net_ws_client **out);
/* Queues a text message (copied); messages queued before on_open go out once open.
 * CC_ERR_BUSY after close, CC_ERR_TOO_BIG when the queue is full (4096 messages). */
int net_ws_client_send(net_ws_client *c, const char *text, size_t n);
/* Closes (on the next loop turn) and forgets c: no callback is made after this call, not even
 * on_close. NULL is ignored. */
void net_ws_client_close(net_ws_client *c);

/* Metric gauge provided by a module, printed on /metrics. Loop thread. */
typedef double (*net_gauge_fn)(void *ud);
int net_metrics_add_gauge(net_server *s, const char *name, const char *help, net_gauge_fn fn,
                          void *ud);
/* The same for a value that only grows (a Prometheus counter: name it *_total). */
int net_metrics_add_counter(net_server *s, const char *name, const char *help, net_gauge_fn fn,
                            void *ud);

/* ---- MLLP (HL7 v2 over TCP) ---------------------------------------------------------------- */

/* The framing decoder (mllp_frame.c; pure, fuzzed): feed it any chunks, it calls fn once per
 * complete frame with the message (framing removed; NUL-terminated, borrowed for the call).
 * A message longer than max_message is passed with oversize set and only its first max_message
 * bytes (enough for MSH, so that it can be refused properly). Bytes between frames are skipped
 * and counted; a start byte inside a message restarts the frame (the unfinished one is dropped).
 * fn returns CC_OK to go on, anything else stops the feed with that code. */
typedef int (*net_mllp_frame_fn)(void *ud, const char *msg, size_t n, bool oversize);
typedef struct {
    int state;
    size_t max;
    bool oversize;
    size_t skipped; /* bytes outside frames so far */
    cc_buf msg;
} net_mllp_frame;
void net_mllp_frame_init(net_mllp_frame *f, size_t max_message);
int net_mllp_frame_feed(net_mllp_frame *f, const uint8_t *data, size_t n, net_mllp_frame_fn fn,
                        void *ud);
void net_mllp_frame_clear(net_mllp_frame *f);
/* Appends 0x0B msg 0x1C 0x0D to out. */
int net_mllp_frame_wrap(cc_buf *out, const char *msg, size_t n);

/* The listener (mllp.c), on the server's loop. Each message of a connection is handed to the
 * handler as it arrives (several may be in the handler's hands at once, up to
 * NET_MLLP_MAX_INFLIGHT, after which reading pauses); the handler answers each exactly once with
 * net_mllp_reply, in any order, and the answers go out in the order the messages came. A
 * connection that closes with messages in the handler's hands stays valid for those replies
 * (they are dropped). */
#define NET_MLLP_MAX_INFLIGHT 64
typedef struct net_mllp net_mllp;
typedef struct net_mllp_msg net_mllp_msg;
typedef void (*net_mllp_msg_fn)(void *ud, net_mllp_msg *m, const char *msg, size_t n,
                                bool oversize);
typedef struct {
    size_t max_message;             /* bytes */
    int idle_timeout_ms;            /* a connection silent this long (nothing pending) is closed */
    const char *allow;              /* comma list of addresses or CIDR blocks; NULL or "" = any */
    const char *tls_cert, *tls_key; /* PEM files: TLS (1.2 or later) on every connection; NULL =
                                       plain TCP */
    const char *tls_client_ca;      /* with TLS: PEM CAs a client certificate must chain to (mutual
                                       TLS); NULL or "" = none asked */
} net_mllp_opts;
/* Listens on host:port (numeric IPv4 or [IPv6]; port 0 picks one). o is copied. CC_ERR_CONFIG
 * with why for a bad address, allow list or certificate, CC_ERR_IO when the port cannot be
 * bound. */
int net_mllp_listen(uv_loop_t *loop, const char *host_port, const net_mllp_opts *o,
                    net_mllp_msg_fn fn, void *ud, net_mllp **out, char *why, size_t whylen);
int net_mllp_port(const net_mllp *l);
/* The peer's address of a message's connection ("127.0.0.1"), borrowed until the reply. */
const char *net_mllp_peer(const net_mllp_msg *m);
/* Answers a message (ack is framed here; copied). Frees m. */
void net_mllp_reply(net_mllp_msg *m, const char *ack, size_t n);
/* Counters for /metrics. */
typedef struct {
    uint64_t connections, messages, oversize, refused_peers;
    uint64_t open_connections;
} net_mllp_stats;
void net_mllp_get_stats(const net_mllp *l, net_mllp_stats *out);
/* Stops listening and closes every connection (replies still to come are dropped); the loop must
 * run for the handles to close. Then net_mllp_free, once nothing is left in the handler's hands
 * (or after the loop has ended). NULL is a no-op for both. */
void net_mllp_close(net_mllp *l);
void net_mllp_free(net_mllp *l);

#endif
