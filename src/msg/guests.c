/* Guests from outside in a conversation's meeting: a specialist from another hospital, an
 * interpreter, a family member the team wants to hear, with no account here.
 *
 * A member of the conversation makes an invitation link (name, validity in hours): its token is
 * "<id>.<mac>" like a patient's link (auth_link_token with the server's link key), the store keeps
 * the id only, and the token is shown once, to its maker. The guest opens /join/<token>: the page
 * opens the guest WebSocket and sends meeting.guest_hello with the token; the link is checked in
 * the store (unknown tokens count as guesses for the address), and the connection is bound to a
 * msg_guest principal naming that one conversation and the link's end. From there the meeting
 * layer (media/meeting_lobby.c) keeps the guest in the lobby until the host lets them in.
 * Revoking the link (its maker or an owner of the conversation) closes its guests' connections
 * at once, on every node (event guest_link.revoked). Making, using and revoking links is
 * audited. */
#include "msg/msg_internal.h"

#include <stdio.h>
#include <string.h>

#define GUEST_NAME_MAX 80
#define GUEST_HOURS_DEFAULT 24
#define GUEST_HOURS_MAX 168
#define GUEST_LINKS_MAX 50 /* working links of one conversation */

typedef struct {
    net_guest_kind kind; /* NET_GUEST_MEETING_LINK */
    char link_id[AUTH_LINK_ID_LEN + 1];
    char conversation[CC_ID_LEN + 1];
    char name[AUTH_DISPLAY_MAX + 1];
    int64_t not_after;
} msg_guest;

static int gst__row_json(void *ud, const store_row *r)
{
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "id", store_row_text(r, 0), "conversation_id",
                  store_row_text(r, 1), "name", store_row_text(r, 2), "created_by",
                  store_row_text(r, 3), "created_at", (json_int_t)store_row_int(r, 4), "expires_at",
                  (json_int_t)store_row_int(r, 5));
    if (!o || json_array_append_new(ud, o) != 0)
        return CC_ERR_NOMEM;
    return 0;
}

#define GST_COLS "id, conversation_id, name, created_by, created_at, expires_at"

/* The working links of conversation conv (not revoked, not expired), oldest first. */
static int gst__active(store *st, const char *conv, json_t **out)
{
    json_t *a = json_array();
    store_val p[] = {SV_TEXT(conv), SV_INT(msg__now())};
    int rc = a ? store_query(st,
                             "SELECT " GST_COLS " FROM msg_guest_links WHERE conversation_id = ? "
                             "AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at, id",
                             p, 2, gst__row_json, a)
               : CC_ERR_NOMEM;
    if (rc != CC_OK)
        json_decref(a);
    *out = rc == CC_OK ? a : NULL;
    return rc;
}

static int gst__create_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row row;
    json_t *links = NULL, *link = NULL;
    int rc = msg__conv_access(st, c, c->conv, true, &row);
    if (rc != CC_OK)
        return rc;
    if (row.archived)
        return msg__fail(c, 409, "archived", "this conversation is archived");
    if ((rc = gst__active(st, c->conv, &links)) != CC_OK)
        return rc;
    size_t n = json_array_size(links);
    json_decref(links);
    if (n >= GUEST_LINKS_MAX)
        return msg__fail(c, 409, "too_many_links",
                         "this conversation has as many guest links as it may: revoke one first");
    char id[AUTH_LINK_ID_LEN + 1], token[AUTH_LINK_TOKEN_LEN + 1], object[16 + AUTH_LINK_ID_LEN];
    auth_link_new_id(id);
    if ((rc = auth_link_token(c->m->keys, id, token)) != CC_OK)
        return rc;
    int64_t now = msg__now();
    const char *name = json_string_value(json_object_get(c->in, "name"));
    store_val p[] = {SV_TEXT(id),   SV_TEXT(c->conv),
                     SV_TEXT(name), SV_TEXT(c->who.user_id),
                     SV_INT(now),   SV_INT(now + c->limit * 3600000)};
    if ((rc = store_exec(st,
                         "INSERT INTO msg_guest_links(id, conversation_id, name, created_by, "
                         "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                         p, 6, NULL)) != CC_OK)
        return rc;
    links = json_array();
    store_val q[] = {SV_TEXT(id)};
    if (!links || (rc = store_query(st, "SELECT " GST_COLS " FROM msg_guest_links WHERE id = ?", q,
                                    1, gst__row_json, links)) != CC_OK) {
        json_decref(links);
        return links ? rc : CC_ERR_NOMEM;
    }
    link = json_incref(json_array_get(links, 0));
    json_decref(links);
    snprintf(object, sizeof(object), "guest_link:%s", id);
    if ((rc = msg__event_conv(st, "guest_link.created", c->conv, link)) != CC_OK ||
        (rc = msg__audit(st, c, "meeting.guest_link", object,
                         json_pack("{s:s}", "conversation_id", c->conv))) != CC_OK) {
        json_decref(link);
        return rc;
    }
    char url[512];
    snprintf(url, sizeof(url), "%s/join/%s", net_server_public_url(c->m->srv), token);
    c->out = json_pack("{s:o,s:s}", "link", link, "url", url);
    c->status = 201;
    return c->out ? CC_OK : CC_ERR_NOMEM;
}

static void gst__create(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (!c)
        return;
    json_t *hours = json_object_get(c->in, "hours");
    c->limit = hours ? json_integer_value(hours) : GUEST_HOURS_DEFAULT;
    if (c->limit < 1 || c->limit > GUEST_HOURS_MAX) {
        net_reply_error(r, 400, "invalid_request", "hours must be 1 to 168");
        msg__ctx_free(c);
        return;
    }
    msg__submit(c, gst__create_job);
}

static int gst__list_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row row;
    json_t *links = NULL;
    int rc = msg__conv_access(st, c, c->conv, true, &row);
    if (rc != CC_OK || (rc = gst__active(st, c->conv, &links)) != CC_OK)
        return rc;
    c->out = json_pack("{s:o}", "links", links);
    return c->out ? CC_OK : CC_ERR_NOMEM;
}

static void gst__list(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (c)
        msg__submit(c, gst__list_job);
}

static int gst__creator(void *ud, const store_row *r)
{
    snprintf(ud, CC_ID_LEN + 1, "%s", store_row_text(r, 0));
    return 1;
}

static int gst__revoke_job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row row;
    char creator[CC_ID_LEN + 1] = "", object[16 + AUTH_LINK_ID_LEN];
    int rc = msg__conv_access(st, c, c->conv, true, &row);
    if (rc != CC_OK)
        return rc;
    store_val p[] = {SV_TEXT(c->param), SV_TEXT(c->conv)};
    if ((rc = store_query(st,
                          "SELECT created_by FROM msg_guest_links WHERE id = ? AND "
                          "conversation_id = ? AND revoked_at IS NULL",
                          p, 2, gst__creator, creator)) != CC_OK)
        return rc;
    if (!creator[0])
        return msg__fail(c, 404, "link_not_found", "no such guest link");
    /* Whoever made it, or an owner of the conversation. */
    if (strcmp(creator, c->who.user_id) != 0 && row.my_role != MSG_ROLE_OWNER)
        return msg__fail(c, 403, "forbidden", "only who made it, or an owner, revokes it");
    store_val u[] = {SV_INT(msg__now()), SV_TEXT(c->param)};
    json_t *payload = json_pack("{s:s,s:s}", "id", c->param, "conversation_id", c->conv);
    snprintf(object, sizeof(object), "guest_link:%.*s", AUTH_LINK_ID_LEN, c->param);
    if (!payload)
        return CC_ERR_NOMEM;
    if ((rc = store_exec(st, "UPDATE msg_guest_links SET revoked_at = ? WHERE id = ?", u, 2,
                         NULL)) == CC_OK &&
        (rc = msg__event_conv(st, "guest_link.revoked", c->conv, payload)) == CC_OK)
        rc = msg__audit(st, c, "meeting.guest_link_revoke", object,
                        json_pack("{s:s}", "conversation_id", c->conv));
    json_decref(payload);
    c->status = 204;
    return rc;
}

static void gst__revoke(net_req *r)
{
    msg_ctx *c = msg__ctx_new(r, MSG_ID_CONV);
    if (!c)
        return;
    const char *link = net_req_param(r, "link");
    if (!link || strlen(link) != AUTH_LINK_ID_LEN) {
        net_reply_error(r, 404, "link_not_found", "no such guest link");
        msg__ctx_free(c);
        return;
    }
    snprintf(c->param, sizeof(c->param), "%s", link);
    msg__submit(c, gst__revoke_job);
}

static const cc_json_field gst__create_body[] = {
    {"name", CC_JSON_STRING, true, 1, GUEST_NAME_MAX},
    {"hours", CC_JSON_INT, false, 0, 0},
};

const net_route msg_guest_routes[] = {
    {"GET", "/api/v1/conversations/:id/guest-links", PERM_MEETINGS, 0, NULL, 0, gst__list},
    {"POST", "/api/v1/conversations/:id/guest-links", PERM_MEETINGS, 0, gst__create_body, 2,
     gst__create},
    {"DELETE", "/api/v1/conversations/:id/guest-links/:link", PERM_MEETINGS, 0, NULL, 0,
     gst__revoke},
};
const size_t msg_guest_routes_count = sizeof(msg_guest_routes) / sizeof(msg_guest_routes[0]);

/* ---- the guest WebSocket: meeting.guest_hello ---------------------------------------------- */

typedef struct {
    msg *m;
    net_ws_conn conn;
    char token[AUTH_LINK_TOKEN_LEN + 1];
    char req_id[65];
    char ip[64];
    char link[AUTH_LINK_ID_LEN + 1]; /* from the token's MAC; "" when the token is not ours */
    const char *code;                /* refusal, NULL when the link works */
    msg_guest *guest;                /* filled when it works */
    char title[256];
} gst_hello;

static int gst__hello_row(void *ud, const store_row *r)
{
    gst_hello *h = ud;
    int64_t now = msg__now();
    if (!store_row_is_null(r, 3)) {
        h->code = "link_revoked";
    } else if (now > store_row_int(r, 2)) {
        h->code = "link_expired";
    } else if (!(h->guest = cc_calloc(1, sizeof(*h->guest)))) {
        return CC_ERR_NOMEM;
    } else {
        h->code = NULL;
        h->guest->kind = NET_GUEST_MEETING_LINK;
        snprintf(h->guest->link_id, sizeof(h->guest->link_id), "%s", h->link);
        snprintf(h->guest->conversation, sizeof(h->guest->conversation), "%s",
                 store_row_text(r, 0));
        snprintf(h->guest->name, sizeof(h->guest->name), "%s", store_row_text(r, 1));
        h->guest->not_after = store_row_int(r, 2);
        /* The meeting's title when one is planned in it, else the conversation's name. */
        const char *title = store_row_text(r, 5) ? store_row_text(r, 5) : store_row_text(r, 4);
        snprintf(h->title, sizeof(h->title), "%s", title ? title : "");
    }
    return 1;
}

static int gst__hello_job(store *st, void *ctx)
{
    gst_hello *h = ctx;
    h->code = "link_unknown";
    if (!h->link[0])
        return CC_OK;
    store_val p[] = {SV_INT(msg__now()), SV_TEXT(h->link)};
    int rc = store_query(
        st,
        "SELECT l.conversation_id, l.name, l.expires_at, l.revoked_at, c.name, "
        "(SELECT g.title FROM msg_meetings g WHERE g.conversation_id = l.conversation_id AND "
        "g.cancelled_at IS NULL AND g.end_ms > ? ORDER BY g.start_ms LIMIT 1) "
        "FROM msg_guest_links l JOIN msg_conversations c ON c.id = l.conversation_id "
        "WHERE l.id = ?",
        p, 2, gst__hello_row, h);
    if (rc != CC_OK || !h->guest)
        return rc;
    json_t *details = json_pack("{s:s}", "conversation_id", h->guest->conversation);
    char object[16 + AUTH_LINK_ID_LEN];
    snprintf(object, sizeof(object), "guest_link:%s", h->link);
    auth_audit_entry e = {.actor_name = "(guest link)",
                          .action = "meeting.guest_hello",
                          .object = object,
                          .source_ip = h->ip[0] ? h->ip : NULL,
                          .outcome = "success",
                          .details = details};
    rc = auth_audit_append(st, h->m->keys, &e, NULL);
    json_decref(details);
    return rc;
}

static void gst__hello_reply(gst_hello *h, const char *code, const char *message)
{
    json_t *o =
        code ? json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "request", "meeting.guest_hello",
                         "code", code, "message", message)
             : json_pack("{s:s,s:s,s:s,s:s}", "type", "meeting.guest_welcome", "conversation",
                         h->guest->conversation, "name", h->guest->name, "title", h->title);
    if (o && h->req_id[0])
        json_object_set_new(o, "id", json_string(h->req_id));
    if (o)
        net_ws_send_to(h->m->srv, h->conn, o);
    json_decref(o);
}

static void gst__hello_done(void *ctx, int rc)
{
    gst_hello *h = ctx;
    msg_guest *g = h->guest;
    h->guest = NULL;
    if (rc != CC_OK) {
        gst__hello_reply(h, "busy", "try again in a moment");
    } else if (h->code) {
        if (strcmp(h->code, "link_unknown") == 0 &&
            cc_guesses_failed(h->m->guest_guesses, h->ip, cc_now_ms()) > 0)
            cc_logf(CC_LOG_WARN, "wrong meeting guest link", "{s:s}", "ip", h->ip);
        gst__hello_reply(
            h, h->code,
            strcmp(h->code, "link_unknown") == 0
                ? "this link does not open any meeting"
                : "this invitation no longer works: ask who invited you for a new one");
    } else if (net_ws_guest_bind(h->m->srv, h->conn, g, cc_free_ptr) == CC_OK) {
        h->guest = g; /* the connection's now; read for the welcome only */
        gst__hello_reply(h, NULL, NULL);
        h->guest = NULL;
        g = NULL;
    } else {
        g = NULL; /* freed by net_ws_guest_bind: the connection had gone */
    }
    cc_free_ptr(g);
    cc_free_ptr(h);
}

static const char *gst__hello(void *ud, net_ws_conn conn, const void *principal, const json_t *obj,
                              const char **message)
{
    msg *m = ud;
    const char *token = json_string_value(json_object_get(obj, "token"));
    const char *id = json_string_value(json_object_get(obj, "id"));
    const char *ip = net_ws_guest_ip(m->srv, conn);
    if (principal) {
        *message = "this connection already has its link";
        return "already_started";
    }
    if (!token || strlen(token) > AUTH_LINK_TOKEN_LEN || (id && strlen(id) > 64)) {
        *message = "meeting.guest_hello needs the link's token";
        return "bad_message";
    }
    if (cc_guesses_blocked(m->guest_guesses, ip, cc_now_ms())) {
        *message = "too many wrong links from this address; try again later";
        return "too_many_attempts";
    }
    gst_hello *h = cc_calloc(1, sizeof(*h));
    if (!h) {
        *message = "out of memory";
        return "internal";
    }
    h->m = m;
    h->conn = conn;
    snprintf(h->token, sizeof(h->token), "%s", token);
    snprintf(h->req_id, sizeof(h->req_id), "%s", id ? id : "");
    snprintf(h->ip, sizeof(h->ip), "%s", ip);
    if (auth_link_verify(m->keys, token, h->link) != CC_OK)
        h->link[0] = '\0';
    if (!m->worker || store_worker_submit(m->worker, gst__hello_job, gst__hello_done, h) != CC_OK) {
        cc_free_ptr(h);
        *message = "try again in a moment";
        return "busy";
    }
    return NULL;
}

int msg__guests_register(msg *m)
{
    return net_server_add_ws_guest_message(m->srv, "meeting.guest_hello", gst__hello, m);
}

bool msg_guest_allowed(msg *m, const char *conv_id, const void *principal, char *display, size_t n,
                       char *link, size_t ln)
{
    (void)m;
    const msg_guest *g = principal;
    if (net_guest_kind_of(g) != NET_GUEST_MEETING_LINK || strcmp(g->conversation, conv_id) != 0 ||
        cc_now_ms() > g->not_after)
        return false;
    if (display && n)
        snprintf(display, n, "%s", g->name);
    if (link && ln)
        snprintf(link, ln, "%s", g->link_id);
    return true;
}

static bool gst__of_link(void *ud, const void *principal)
{
    return net_guest_kind_of(principal) == NET_GUEST_MEETING_LINK &&
           strcmp(((const msg_guest *)principal)->link_id, ud) == 0;
}

void msg__guests_on_revoked(msg *m, const json_t *payload)
{
    const char *link = json_string_value(json_object_get(payload, "id"));
    if (link)
        net_ws_guest_close_matching(m->srv, gst__of_link, (void *)link, 4403,
                                    "your invitation was withdrawn");
}
