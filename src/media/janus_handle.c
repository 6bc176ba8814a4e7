/* Plugin handles of the Janus client: attach (per use), detach, requests on a handle, and the
 * events Janus sends about a handle, routed by its id. A handle belongs to one session
 * generation and is refused once that generation has ended (see janus.c). */
#include "media/janus_internal.h"

#include <inttypes.h>
#include <string.h>

static void janus__handle_key(uint64_t id, char key[24])
{
    snprintf(key, 24, "%" PRIu64, id);
}

janus_handle *janus_handle_ref(janus_handle *h)
{
    h->refs++;
    return h;
}

void janus_handle_unref(janus_handle *h)
{
    if (h && --h->refs == 0)
        cc_free_ptr(h);
}

/* Takes h out of the id map (it no longer receives events). */
void janus__handle_unmap(janus *j, janus_handle *h)
{
    char key[24];
    if (h->state != HANDLE_ALIVE)
        return;
    janus__handle_key(h->id, key);
    if (cc_map_get(j->handle_map, key) == h)
        cc_map_remove(j->handle_map, key);
}

static void janus__noop_done(janus *j, janus_txn *t, int err, const janus_result *res)
{
    (void)j;
    (void)t;
    (void)err;
    (void)res;
}

static void janus__send_detach(janus *j, uint64_t id)
{
    int rc;
    janus_txn *t = janus__send(j, json_pack("{s:s}", "janus", "detach"), true, id, false, &rc);
    if (t)
        t->internal = janus__noop_done;
}

static void janus__attached(janus *j, janus_txn *t, int err, const janus_result *res)
{
    janus_handle *h = t->h;
    uint64_t id = err == CC_OK ? (uint64_t)json_integer_value(json_object_get(res->data, "id")) : 0;
    if (err == CC_OK && id == 0)
        err = CC_ERR_INVALID; /* a success without a handle id: nothing to use */
    if (!h) {                 /* detached by its owner meanwhile: do not leave it in Janus */
        if (err == CC_OK && j->state == JANUS_UP)
            janus__send_detach(j, id);
        return;
    }
    h->attach_txn = NULL;
    if (err == CC_OK && j->state == JANUS_UP) {
        char key[24];
        janus__handle_key(id, key);
        if (cc_map_put(j->handle_map, key, h, NULL) != CC_OK) {
            janus__send_detach(j, id);
            err = CC_ERR_NOMEM;
        } else {
            h->id = id;
            h->generation = j->generation;
            h->state = HANDLE_ALIVE;
        }
    } else if (err == CC_OK) {
        err = CC_ERR_IO;
    }
    if (err != CC_OK)
        h->state = HANDLE_DEAD;
    if (j->state != JANUS_STOPPED && h->cbs.on_attached)
        h->cbs.on_attached(h->ud, h, err);
}

int janus_attach(janus *j, const char *plugin, const janus_handle_cbs *cbs, void *ud,
                 janus_handle **out)
{
    int rc;
    *out = NULL;
    if (j->state != JANUS_UP)
        return CC_ERR_BUSY;
    janus_handle *h = cc_calloc(1, sizeof(*h));
    if (!h)
        return CC_ERR_NOMEM;
    janus_txn *t = janus__send(j, json_pack("{s:s,s:s}", "janus", "attach", "plugin", plugin), true,
                               0, false, &rc);
    if (!t) {
        cc_free_ptr(h);
        return rc;
    }
    t->internal = janus__attached;
    t->h = h;
    h->refs = 1;
    h->j = j;
    h->cbs = *cbs;
    h->ud = ud;
    h->attach_txn = t;
    h->next = j->handles;
    if (h->next)
        h->next->prev = h;
    j->handles = h;
    *out = h;
    return CC_OK;
}

void janus_detach(janus_handle *h)
{
    if (!h || h->detached)
        return;
    janus *j = h->j;
    h->detached = true;
    if (h->attach_txn)
        h->attach_txn->h = NULL;
    if (h->state == HANDLE_ALIVE && j->state == JANUS_UP && h->generation == j->generation)
        janus__send_detach(j, h->id);
    janus__handle_unmap(j, h);
    h->state = HANDLE_DEAD;
    if (h->prev)
        h->prev->next = h->next;
    else
        j->handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    h->prev = h->next = NULL;
    janus_handle_unref(h);
}

bool janus_handle_alive(const janus_handle *h)
{
    return h && !h->detached && h->state == HANDLE_ALIVE && h->j->state == JANUS_UP &&
           h->generation == h->j->generation;
}

uint64_t janus_handle_generation(const janus_handle *h)
{
    return h->generation;
}

uint64_t janus_handle_id(const janus_handle *h)
{
    return h->id;
}

static int janus__handle_request(janus_handle *h, json_t *req, bool ack_final, janus_done_fn done,
                                 void *ud)
{
    int rc;
    if (!janus_handle_alive(h)) {
        json_decref(req);
        return CC_ERR_EXPIRED;
    }
    janus_txn *t = janus__send(h->j, req, true, h->id, ack_final, &rc);
    if (!t)
        return rc;
    t->done = done;
    t->ud = ud;
    return CC_OK;
}

int janus_message(janus_handle *h, json_t *body, json_t *jsep, janus_done_fn done, void *ud)
{
    json_t *req = json_pack("{s:s,s:o}", "janus", "message", "body", body);
    if (req && jsep && json_object_set_new(req, "jsep", jsep) != 0) {
        json_decref(req);
        return CC_ERR_NOMEM;
    }
    if (!req)
        json_decref(jsep);
    return janus__handle_request(h, req, false, done, ud);
}

int janus_trickle(janus_handle *h, json_t *candidate, janus_done_fn done, void *ud)
{
    if (!candidate)
        candidate = json_pack("{s:b}", "completed", 1);
    return janus__handle_request(
        h, json_pack("{s:s,s:o}", "janus", "trickle", "candidate", candidate), true, done, ud);
}

int janus_hangup(janus_handle *h, janus_done_fn done, void *ud)
{
    return janus__handle_request(h, json_pack("{s:s}", "janus", "hangup"), false, done, ud);
}

void janus__handle_event(janus *j, const char *kind, json_t *m)
{
    static const struct {
        const char *name;
        janus_event_kind kind;
    } kinds[] = {
        {"event", JANUS_EV_PLUGIN},      {"webrtcup", JANUS_EV_WEBRTCUP},
        {"media", JANUS_EV_MEDIA},       {"slowlink", JANUS_EV_SLOWLINK},
        {"hangup", JANUS_EV_HANGUP},     {"trickle", JANUS_EV_TRICKLE},
        {"detached", JANUS_EV_DETACHED},
    };
    janus_event_kind ek = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i].name) == 0)
            ek = kinds[i].kind;
    json_t *sender = json_object_get(m, "sender");
    if (!ek || !json_is_integer(sender))
        return; /* nothing we know, or not about a handle */
    char key[24];
    janus__handle_key((uint64_t)json_integer_value(sender), key);
    janus_handle *h = cc_map_get(j->handle_map, key);
    if (!h)
        return; /* a handle detached meanwhile */
    json_t *pd = json_object_get(m, "plugindata");
    janus_result ev = {.code = 0,
                       .reason = "",
                       .msg = m,
                       .jsep = json_object_get(m, "jsep"),
                       .data = pd ? json_object_get(pd, "data") : NULL};
    if (ek == JANUS_EV_DETACHED) {
        janus__handle_unmap(j, h);
        h->state = HANDLE_DEAD;
    }
    janus_handle_ref(h); /* the owner may detach it inside the callback */
    if (h->cbs.on_event && !h->detached)
        h->cbs.on_event(h->ud, h, ek, &ev);
    janus_handle_unref(h);
}

void janus__handles_lost(janus *j, const char *why)
{
    for (janus_handle *h = j->handles; h; h = h->next) {
        if (h->state == HANDLE_ALIVE) {
            janus__handle_unmap(j, h);
            h->lost_pending = true;
        }
        h->state = HANDLE_DEAD;
    }
    for (;;) {
        janus_handle *h = j->handles;
        while (h && !h->lost_pending)
            h = h->next;
        if (!h || j->state == JANUS_STOPPED)
            break;
        h->lost_pending = false;
        janus_result ev = {.reason = why ? why : ""};
        if (h->cbs.on_event)
            h->cbs.on_event(h->ud, h, JANUS_EV_LOST, &ev);
    }
}
