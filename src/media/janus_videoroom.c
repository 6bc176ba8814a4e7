/* VideoRoom requests on a control handle of janus.plugin.videoroom: create, destroy, exists,
 * list participants, allowed lists and kick. Rooms are private, not permanent (carecommd
 * recreates them after a Janus restart) and protected by a secret and a pin only carecommd
 * knows; create also needs the plugin's admin_key. */
#include "media/janus.h"

#include <string.h>

/* Adds key: value (a string) to body when value is not NULL. */
static int janus__vr_opt(json_t *body, const char *key, const char *value)
{
    return value && json_object_set_new(body, key, json_string(value)) != 0 ? CC_ERR_NOMEM : CC_OK;
}

int janus_vr_create(janus_handle *h, const janus_vr_room *r, janus_done_fn done, void *ud)
{
    if (!r->room || !r->secret)
        return CC_ERR_INVALID;
    json_t *body = json_pack("{s:s,s:s,s:b,s:b,s:i,s:i,s:s,s:s,s:b}", "request", "create", "room",
                             r->room, "permanent", 0, "is_private", 1, "publishers",
                             r->publishers > 0 ? r->publishers : 6, "bitrate",
                             r->bitrate > 0 ? r->bitrate : 1024000, "videocodec", "vp8,h264",
                             "audiocodec", "opus", "notify_joining", 1);
    if (!body || janus__vr_opt(body, "secret", r->secret) || janus__vr_opt(body, "pin", r->pin) ||
        janus__vr_opt(body, "admin_key", r->admin_key) ||
        janus__vr_opt(body, "description", r->description) ||
        (r->use_allowed && json_object_set_new(body, "allowed", json_array()) != 0)) {
        json_decref(body);
        return CC_ERR_NOMEM;
    }
    return janus_message(h, body, NULL, done, ud);
}

int janus_vr_destroy(janus_handle *h, const char *room, const char *secret, janus_done_fn done,
                     void *ud)
{
    json_t *body = json_pack("{s:s,s:s,s:b}", "request", "destroy", "room", room, "permanent", 0);
    if (!body || janus__vr_opt(body, "secret", secret)) {
        json_decref(body);
        return CC_ERR_NOMEM;
    }
    return janus_message(h, body, NULL, done, ud);
}

int janus_vr_edit_bitrate(janus_handle *h, const char *room, const char *secret, int bitrate,
                          janus_done_fn done, void *ud)
{
    json_t *body = json_pack("{s:s,s:s,s:i,s:b}", "request", "edit", "room", room, "new_bitrate",
                             bitrate, "permanent", 0);
    if (!body || janus__vr_opt(body, "secret", secret)) {
        json_decref(body);
        return CC_ERR_NOMEM;
    }
    return janus_message(h, body, NULL, done, ud);
}

int janus_vr_exists(janus_handle *h, const char *room, janus_done_fn done, void *ud)
{
    json_t *body = json_pack("{s:s,s:s}", "request", "exists", "room", room);
    return body ? janus_message(h, body, NULL, done, ud) : CC_ERR_NOMEM;
}

int janus_vr_list_participants(janus_handle *h, const char *room, janus_done_fn done, void *ud)
{
    json_t *body = json_pack("{s:s,s:s}", "request", "listparticipants", "room", room);
    return body ? janus_message(h, body, NULL, done, ud) : CC_ERR_NOMEM;
}

int janus_vr_allowed(janus_handle *h, const char *room, const char *secret, const char *action,
                     json_t *tokens, janus_done_fn done, void *ud)
{
    json_t *body = json_pack("{s:s,s:s,s:s,s:o}", "request", "allowed", "room", room, "action",
                             action, "allowed", tokens);
    if (!body || janus__vr_opt(body, "secret", secret)) {
        json_decref(body);
        return CC_ERR_NOMEM;
    }
    return janus_message(h, body, NULL, done, ud);
}

static int janus__vr_send_kick(janus_handle *h, const char *room, const char *secret,
                               const char *id, janus_done_fn done, void *ud)
{
    json_t *body = json_pack("{s:s,s:s,s:s}", "request", "kick", "room", room, "id", id);
    if (!body || janus__vr_opt(body, "secret", secret)) {
        json_decref(body);
        return CC_ERR_NOMEM;
    }
    return janus_message(h, body, NULL, done, ud);
}

/* A kick that first takes the token out of the allowed list: two requests in sequence (Janus may
 * run the requests of one handle concurrently), one answer. */
typedef struct {
    janus_handle *h; /* a reference */
    char *room, *secret, *id;
    janus_done_fn done;
    void *ud;
} janus_vr_kick_ctx;

static void janus__vr_kick_ctx_free(janus_vr_kick_ctx *k)
{
    janus_handle_unref(k->h);
    cc_free(&k->room);
    cc_free(&k->secret);
    cc_free(&k->id);
    cc_free_ptr(k);
}

static void janus__vr_kick_after_allowed(void *ud, int err, const janus_result *res)
{
    janus_vr_kick_ctx *k = ud;
    if (err == CC_OK)
        err = janus__vr_send_kick(k->h, k->room, k->secret, k->id, k->done, k->ud);
    if (err != CC_OK) {
        /* the token is still allowed, or the kick could not be sent: the caller decides */
        janus_result none = {.reason = "kick not sent"};
        k->done(k->ud, err, res ? res : &none);
    }
    janus__vr_kick_ctx_free(k);
}

int janus_vr_kick(janus_handle *h, const char *room, const char *secret, const char *id,
                  const char *token, janus_done_fn done, void *ud)
{
    if (!token)
        return janus__vr_send_kick(h, room, secret, id, done, ud);
    janus_vr_kick_ctx *k = cc_calloc(1, sizeof(*k));
    if (!k)
        return CC_ERR_NOMEM;
    k->h = janus_handle_ref(h);
    k->room = cc_strdup(room);
    k->secret = secret ? cc_strdup(secret) : NULL;
    k->id = cc_strdup(id);
    k->done = done;
    k->ud = ud;
    int rc = CC_ERR_NOMEM;
    if (k->room && k->id && (!secret || k->secret))
        rc = janus_vr_allowed(h, room, secret, "remove", json_pack("[s]", token),
                              janus__vr_kick_after_allowed, k);
    if (rc != CC_OK)
        janus__vr_kick_ctx_free(k);
    return rc;
}
