/* media: the media engine of meetings — Janus (the WebRTC SFU) and coturn (TURN).
 *
 * Single node (media_mode = embedded): carecommd writes their configurations into
 * <data_dir>/media/ and runs both as supervised child processes on its loop (restart with
 * backoff, stopped at shutdown), their APIs bound to loopback. Cluster (media_mode = external):
 * the same Janus and coturn run as services named in the configuration. Either way this module
 * holds the secrets shared with them, reports them in /readyz and /metrics, and hands clients ICE
 * servers with short-lived TURN REST credentials (GET /api/v1/media/ice-servers). Clients never
 * reach Janus's API: carecommd's Janus client (janus.h) talks to it on their behalf. */
#ifndef CC_MEDIA_H
#define CC_MEDIA_H

#include "account/account.h"
#include "core/core.h"
#include "net/net.h"

#include <uv.h>

typedef struct media media;

typedef enum { MEDIA_OFF = 0, MEDIA_EMBEDDED, MEDIA_EXTERNAL } media_mode;

/* media_mode, media_ip, rtp_port_range, turn_port, turn_urls, janus_url, binaries, ... */
extern const cc_cfg_key media_config_keys[];
extern const size_t media_config_keys_count;

/* Checks the media keys together (what one key alone cannot say: embedded needs media_ip and
 * the binaries, external needs janus_url, turn_urls and media_secrets_file). CC_ERR_CONFIG with
 * "key: reason" in why. Pure but for the existence checks of the files named. */
int media_config_check(const cc_config *cfg, char *why, size_t whylen);

/* Validates the configuration, loads the secrets (embedded: creating them in
 * <data_dir>/media/secrets.json on first start; external: from media_secrets_file), and in
 * embedded mode writes the configurations of Janus and coturn and starts both under supervision
 * on loop. Registers the ice-servers route, the readiness components and the metrics on srv.
 * Unless media_mode = off it also creates the meeting layer: carecommd's Janus client and the
 * meeting.* messages of the event WebSocket (registered on srv, with a close observer).
 * With media_mode = off it only registers the route, which then answers 404 media_disabled.
 * cfg, srv and acct are borrowed and must outlive it. On failure *out is NULL and why says
 * which key or file and why; nothing is left running. */
int media_create(uv_loop_t *loop, const cc_config *cfg, net_server *srv, account *acct, media **out,
                 char *why, size_t whylen);

media_mode media_get_mode(const media *m);

/* Where carecommd's Janus client connects (ws://127.0.0.1:<janus_api_port> embedded, janus_url
 * external) and the secrets it needs. Borrowed, valid until media_free; NULL when media is off.
 * Never log them. */
const char *media_janus_url(const media *m);
const char *media_janus_api_secret(const media *m);
const char *media_janus_admin_secret(const media *m);
const char *media_videoroom_admin_key(const media *m);
/* Whether Janus answered its last readiness probe. */
bool media_janus_up(const media *m);

/* Meetings (meeting.c; frames in docs/websocket.md, "Meetings"). Who may join the meeting of a
 * conversation: main wires it to messaging's membership index. Until it is set every join is
 * refused (fail closed). Called on the loop for every meeting frame: a memory lookup. */
typedef bool (*media_member_fn)(void *ud, const char *conversation_id, const char *user_id);
void media_set_member_check(media *m, media_member_fn fn, void *ud);

/* Who may be in the call of a consultation (a meeting keyed by the appointment id): main wires
 * it to care. Staff: user_id set, guest NULL. A guest (a patient's link, on the guest WebSocket):
 * guest is the principal care bound, user_id NULL, and its name goes to display. With join, the
 * answer is audited; ip is the client's address. Until it is set every such join is refused. */
typedef bool (*media_consult_fn)(void *ud, const char *consultation_id, const char *user_id,
                                 const void *guest, const char *ip, bool join, char *display,
                                 size_t n);
void media_set_consult_check(media *m, media_consult_fn fn, void *ud);

/* Who may wait in the lobby of a conversation's meeting (and be in it once the host lets them
 * in): a guest from outside, bound by messaging on the guest WebSocket with an invitation link.
 * main wires it to messaging. true when principal is such a guest, invited to conversation_id,
 * whose invitation still works; display gets its name and link its link id (both may be NULL).
 * Until it is set every guest is refused. */
typedef bool (*media_guest_fn)(void *ud, const char *conversation_id, const void *principal,
                               char *display, size_t n, char *link, size_t ln);
void media_set_guest_check(media *m, media_guest_fn fn, void *ud);

/* A call rang in conversation_id and nobody answered (or the caller hung up first): main wires it
 * to messaging, which writes the missed call into the conversation as a message from the caller
 * (display: the caller's name, for the text). On the loop. */
typedef void (*media_missed_fn)(void *ud, const char *conversation_id, const char *caller_id,
                                const char *caller_display);
void media_set_missed_call(media *m, media_missed_fn fn, void *ud);

/* Follows committed events (call from the sink): a member.left takes that person's connections
 * out of the conversation's meeting at once (meeting.left, reason "removed"), rather than at
 * their next frame; an appointment.updated whose consultation is no longer in call ends its
 * call for everyone (reason "ended"). */
void media_on_events(media *m, const store_event *evs, size_t n);

/* ICE servers for user_id at now_ms: a new JSON array (caller owns) of one object
 * {"urls":[...],"username":"<expiry>:<user_id>","credential":...,"ttl":...}; NULL when media is
 * off or memory ran out. */
json_t *media_ice_servers(const media *m, const char *user_id, int64_t now_ms);

/* TURN REST credential (the coturn use-auth-secret scheme): username = "<expiry>:<user>",
 * credential = base64(HMAC-SHA1(secret, username)). Pure. Writes NUL-terminated strings into
 * username (ulen bytes) and credential (clen bytes, at least 29). CC_ERR_INVALID when a buffer
 * is too small or user is empty, CC_ERR_CRYPTO when OpenSSL fails. */
int media_turn_credential(const char *secret, int64_t expiry_unix, const char *user, char *username,
                          size_t ulen, char *credential, size_t clen);

/* Shutdown: stops the Janus client and the probes and sends SIGTERM to the children, SIGKILL to any
 * still running after 5 s. Their handles close once they have exited, so the loop must then run
 * until it returns by itself. NULL and repeated calls are no-ops. */
void media_stop(media *m);
/* After the loop has returned. NULL is a no-op. */
void media_free(media *m);

#endif
