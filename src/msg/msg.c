/* The msg module's state: the membership index and presence kept in memory, the "conv:" event
 * scope resolved from that index, and the one timer that drives reminders, idle presence and the
 * retention purge.
 *
 * Design note. Every permission a request needs is checked in SQL by the job that acts, inside
 * its transaction: the store is the truth, whichever node wrote last. The index only answers the
 * question the fan-out asks for every event and every socket — is this user a member of this
 * conversation now? — and it follows the event log (conversation.created, member.joined,
 * member.left, member.updated, conversation.updated), so every node agrees with the store as soon
 * as it has read the log. main.c hands events one by one to the modules and then to the hub, so
 * an event is checked against the membership as it was right after that event: a member removed
 * at seq N sees nothing of the conversation after N, live or on resume; member.left itself uses
 * the scope "conv:<id>:<user>", which also reaches the person who left. */
#include "msg/msg_internal.h"

#include <stdlib.h>
#include <string.h>

const cc_cfg_key msg_config_keys[] = {
    {"msg_urgent_reminder_seconds", CC_CFG_INT, "300", 1, 86400, false,
     "Recipients who have not acknowledged an urgent message are reminded this often"},
    {"msg_away_after_seconds", CC_CFG_INT, "600", 1, 86400, false,
     "A connected person who has not used messaging for this long is shown away"},
    {"msg_retention_days", CC_CFG_INT, "7300", 1, 36500, false,
     "Days the previous content of edited and deleted messages is kept (medical-legal record)"},
};
const size_t msg_config_keys_count = sizeof(msg_config_keys) / sizeof(msg_config_keys[0]);

msg_conv_idx *msg__conv(msg *m, const char *conv_id)
{
    return cc_map_get(m->convs, conv_id);
}

msg_role msg__role(msg *m, const char *conv_id, const char *user_id)
{
    msg_conv_idx *c = msg__conv(m, conv_id);
    return c ? (msg_role)(intptr_t)cc_map_get(c->members, user_id) : MSG_ROLE_NONE;
}

bool msg_is_member(msg *m, const char *conv_id, const char *user_id)
{
    return m && conv_id && user_id && msg__role(m, conv_id, user_id) != MSG_ROLE_NONE;
}

static void msg__conv_free(void *v)
{
    msg_conv_idx *c = v;
    if (!c)
        return;
    cc_map_free(c->members, NULL);
    cc_free_ptr(c);
}

static msg_conv_idx *msg__conv_put(msg *m, const char *id, const char *kind, const char *vis,
                                   bool archived)
{
    msg_conv_idx *c = msg__conv(m, id);
    if (!c) {
        c = cc_calloc(1, sizeof(*c));
        if (!c || !(c->members = cc_map_new()) || cc_map_put(m->convs, id, c, NULL) != CC_OK) {
            msg__conv_free(c);
            return NULL;
        }
    }
    c->kind = kind ? kind[0] : 'c';
    c->is_public = vis && strcmp(vis, "public") == 0;
    c->archived = archived;
    return c;
}

static void msg__map_free(void *v)
{
    cc_map_free(v, NULL);
}

static void msg__member_put(msg *m, const char *conv_id, const char *user_id, const char *role)
{
    msg_conv_idx *c = msg__conv(m, conv_id);
    if (!c || !user_id || strlen(user_id) != CC_ID_LEN)
        return;
    intptr_t r = role && strcmp(role, "owner") == 0 ? MSG_ROLE_OWNER : MSG_ROLE_MEMBER;
    cc_map_put(c->members, user_id, (void *)r, NULL);
    cc_map *mine = cc_map_get(m->user_convs, user_id);
    if (!mine && (mine = cc_map_new()) && cc_map_put(m->user_convs, user_id, mine, NULL) != CC_OK) {
        cc_map_free(mine, NULL);
        mine = NULL;
    }
    if (mine)
        cc_map_put(mine, conv_id, (void *)1, NULL);
    m->member_gen++;
}

static void msg__member_drop(msg *m, const char *conv_id, const char *user_id)
{
    msg_conv_idx *c = msg__conv(m, conv_id);
    if (c)
        cc_map_remove(c->members, user_id);
    cc_map *mine = cc_map_get(m->user_convs, user_id);
    if (mine)
        cc_map_remove(mine, conv_id);
    m->member_gen++;
}

/* ---- the event scope ------------------------------------------------------------------------ */

/* "conv:<id>": the members of the conversation; "conv:<id>:<user>": the members and that user
 * (the one who just left or was removed). */
static bool msg__scope(void *ud, const char *user_id, const char *scope)
{
    msg *m = ud;
    const char *p = scope + 5; /* after "conv:" */
    char id[CC_ID_LEN + 1];
    if (strlen(p) < CC_ID_LEN)
        return false;
    memcpy(id, p, CC_ID_LEN);
    id[CC_ID_LEN] = '\0';
    if (p[CC_ID_LEN] == ':' && strcmp(p + CC_ID_LEN + 1, user_id) == 0)
        return true;
    if (p[CC_ID_LEN] != '\0' && p[CC_ID_LEN] != ':')
        return false;
    return msg__role(m, id, user_id) != MSG_ROLE_NONE;
}

/* "presence:<user>": everyone who shares a conversation with the person (themself included, on
 * their other devices, as soon as they are in one). */
static bool msg__add_contact(void *ud, const char *user_id, void *value)
{
    msg *m = ud;
    (void)value;
    cc_map_put(m->contacts, user_id, (void *)1, NULL);
    return false;
}

static bool msg__add_contacts(void *ud, const char *conv_id, void *value)
{
    msg *m = ud;
    (void)value;
    msg_conv_idx *c = msg__conv(m, conv_id);
    if (c)
        cc_map_sweep(c->members, msg__add_contact, m);
    return false;
}

static bool msg__presence_scope(void *ud, const char *user_id, const char *scope)
{
    msg *m = ud;
    const char *subject = scope + 9; /* after "presence:" */
    if (strcmp(m->contacts_of, subject) != 0 || m->contacts_gen != m->member_gen) {
        cc_map_free(m->contacts, NULL);
        m->contacts_of[0] = '\0';
        if (!(m->contacts = cc_map_new()))
            return false;
        cc_map *theirs = cc_map_get(m->user_convs, subject);
        if (theirs)
            cc_map_sweep(theirs, msg__add_contacts, m);
        snprintf(m->contacts_of, sizeof(m->contacts_of), "%s", subject);
        m->contacts_gen = m->member_gen;
    }
    return cc_map_get(m->contacts, user_id) != NULL;
}

/* ---- following the log ---------------------------------------------------------------------- */

static void msg__on_conv(msg *m, const json_t *o, bool with_members)
{
    const char *id = json_string_value(json_object_get(o, "id"));
    if (!id || strlen(id) != CC_ID_LEN)
        return;
    msg_conv_idx *c = msg__conv_put(m, id, json_string_value(json_object_get(o, "kind")),
                                    json_string_value(json_object_get(o, "visibility")),
                                    json_is_true(json_object_get(o, "archived")));
    if (!c || !with_members)
        return;
    size_t i;
    json_t *mb;
    json_array_foreach(json_object_get(o, "member_roles"), i, mb)
        msg__member_put(m, id, json_string_value(json_object_get(mb, "user_id")),
                        json_string_value(json_object_get(mb, "role")));
}

static void msg__on_member(msg *m, const char *type, const json_t *o)
{
    const char *cid = json_string_value(json_object_get(o, "conversation_id"));
    const char *uid = json_string_value(json_object_get(o, "user_id"));
    if (!cid || !uid)
        return;
    if (strcmp(type, "member.left") == 0) {
        msg__member_drop(m, cid, uid);
        return;
    }
    if (!msg__conv(m, cid)) {
        const json_t *conv = json_object_get(o, "conversation");
        if (conv)
            msg__on_conv(m, conv, false);
    }
    msg__member_put(m, cid, uid, json_string_value(json_object_get(o, "role")));
}

/* A new version of a message replaced the data of its earlier events in the store: the ring of
 * recent events on this node must not keep serving the old text. */
static void msg__on_redacts(msg *m, json_t *o)
{
    json_t *seqs = json_incref(json_object_get(o, "redacts")), *v;
    size_t i;
    if (!seqs)
        return;
    json_object_del(o, "redacts");
    char *text = json_dumps(o, JSON_COMPACT);
    json_array_foreach(seqs, i, v)
    {
        if (text)
            net_hub_replace(m->srv, json_integer_value(v), text);
    }
    free(text);
    json_decref(seqs);
}

void msg_on_events(msg *m, const store_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *t = evs[i].type;
        bool conv = strncmp(t, "conversation.", 13) == 0, member = strncmp(t, "member.", 7) == 0;
        bool presence = strcmp(t, "presence.updated") == 0;
        bool revoked = strcmp(t, "guest_link.revoked") == 0;
        bool urgent =
            strcmp(t, "message.created") == 0 && strstr(evs[i].payload, "\"urgent\":true");
        bool redacts = (strcmp(t, "message.updated") == 0 || strcmp(t, "message.deleted") == 0) &&
                       strstr(evs[i].payload, "\"redacts\":[");
        if (!conv && !member && !presence && !urgent && !redacts && !revoked)
            continue;
        json_t *o = json_loads(evs[i].payload, 0, NULL);
        if (!o)
            continue;
        if (revoked)
            msg__guests_on_revoked(m, o);
        else if (conv)
            msg__on_conv(m, o, strcmp(t, "conversation.created") == 0);
        else if (member)
            msg__on_member(m, t, o);
        else if (presence)
            msg__presence_on_event(m, o);
        else if (redacts)
            msg__on_redacts(m, o);
        else if (json_is_true(json_object_get(o, "urgent"))) {
            int64_t due = json_integer_value(json_object_get(o, "created_at")) + m->remind_ms;
            if (due < m->next_remind)
                m->next_remind = due;
        }
        json_decref(o);
    }
}

/* ---- loading -------------------------------------------------------------------------------- */

static int msg__load_conv(void *ud, const store_row *r)
{
    msg *m = ud;
    return msg__conv_put(m, store_row_text(r, 0), store_row_text(r, 1), store_row_text(r, 2),
                         store_row_int(r, 3) != 0)
               ? 0
               : CC_ERR_NOMEM;
}

static int msg__load_member(void *ud, const store_row *r)
{
    msg__member_put(ud, store_row_text(r, 0), store_row_text(r, 1), store_row_text(r, 2));
    return 0;
}

static int msg__load(msg *m, store *st)
{
    int rc = store_query(st, "SELECT id, kind, visibility, archived FROM msg_conversations", NULL,
                         0, msg__load_conv, m);
    if (rc == CC_OK)
        rc = store_query(st, "SELECT conversation_id, user_id, role FROM msg_members", NULL, 0,
                         msg__load_member, m);
    if (rc == CC_OK)
        rc = msg__presence_load(m, st);
    if (rc == CC_OK)
        rc = msg__urgent_load(m, st);
    return rc;
}

/* ---- the timer ------------------------------------------------------------------------------ */

static void msg__tick(uv_timer_t *t)
{
    msg *m = t->data;
    int64_t mono = cc_monotonic_ms();
    msg__urgent_tick(m);
    if (mono >= m->next_sweep) {
        m->next_sweep =
            mono + (m->away_ms / 4 < 15000 ? (m->away_ms / 4 ? m->away_ms / 4 : 1) : 15000);
        msg__presence_sweep(m);
    }
    if (mono >= m->next_purge) {
        m->next_purge = mono + 3600000;
        msg__retention_tick(m);
    }
}

static const net_route *const msg__tables[] = {
    msg_conv_routes,      msg_member_routes,  msg_message_routes,
    msg_extra_routes,     msg_search_routes,  msg_presence_routes,
    msg_directory_routes, msg_meeting_routes, msg_guest_routes};

int msg_create(uv_loop_t *loop, const cc_config *cfg, const auth_keys *keys, store *st,
               net_server *srv, account *acct, msg **out)
{
    int rc = CC_ERR_NOMEM;
    const size_t counts[] = {
        msg_conv_routes_count,      msg_member_routes_count,  msg_message_routes_count,
        msg_extra_routes_count,     msg_search_routes_count,  msg_presence_routes_count,
        msg_directory_routes_count, msg_meeting_routes_count, msg_guest_routes_count};
    msg *m = cc_calloc(1, sizeof(*m));
    *out = NULL;
    if (!m)
        return CC_ERR_NOMEM;
    m->loop = loop;
    m->cfg = cfg;
    m->keys = keys;
    m->srv = srv;
    m->acct = acct;
    m->remind_ms = cc_config_int(cfg, "msg_urgent_reminder_seconds") * 1000;
    m->away_ms = cc_config_int(cfg, "msg_away_after_seconds") * 1000;
    m->retention_ms = cc_config_int(cfg, "msg_retention_days") * 86400000LL;
    m->next_remind = INT64_MAX;
    if (!(m->convs = cc_map_new()) || !(m->presence = cc_map_new()) ||
        !(m->typing = cc_map_new()) || !(m->user_convs = cc_map_new()) ||
        !(m->guest_guesses = cc_guesses_new(MSG_GUEST_GUESSES, MSG_GUEST_GUESS_WINDOW_MS)))
        goto fail;
    if ((rc = msg__load(m, st)) != CC_OK)
        goto fail;
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        if ((rc = net_server_add_routes(srv, msg__tables[i], counts[i], m)) != CC_OK)
            goto fail;
    if ((rc = account_add_scope(acct, "conv:", PERM_MESSAGES, msg__scope, m)) != CC_OK ||
        (rc = account_add_scope(acct, "presence:", PERM_MESSAGES, msg__presence_scope, m)) !=
            CC_OK ||
        (rc = net_server_add_ws_message(srv, "typing", msg__typing, m)) != CC_OK ||
        (rc = net_server_add_ws_observer(srv, msg__ws_open, msg__ws_close, m)) != CC_OK ||
        (rc = msg__guests_register(m)) != CC_OK)
        goto fail;
    *out = m;
    return CC_OK;
fail:
    msg_free(m);
    return rc;
}

void msg_set_worker(msg *m, store_worker *w)
{
    m->worker = w;
    msg__presence_reset(m);
    uv_timer_init(m->loop, &m->timer);
    m->timer.data = m;
    m->timer_init = true;
    m->next_sweep = cc_monotonic_ms() + 1000;
    m->next_purge = cc_monotonic_ms() + 5000;
    uv_timer_start(&m->timer, msg__tick, 1000, 1000);
}

void msg_stop(msg *m)
{
    if (!m || !m->timer_init)
        return;
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, NULL);
    m->timer_init = false;
}

static void msg__free_value(void *v)
{
    cc_free_ptr(v);
}

void msg_free(msg *m)
{
    if (!m)
        return;
    cc_map_free(m->convs, msg__conv_free);
    cc_map_free(m->user_convs, msg__map_free);
    cc_map_free(m->contacts, NULL);
    cc_map_free(m->presence, msg__free_value);
    cc_map_free(m->typing, msg__free_value);
    cc_guesses_free(m->guest_guesses);
    cc_free_ptr(m);
}
