/* The guest WebSocket: a second path for people without an account (a patient, a relative or
 * an interpreter holding a consultation link). The upgrade needs no session (the origin check
 * still applies); the connection has no principal until a module binds one, and is closed if
 * that has not happened within NET_WS_GUEST_BIND_S. A guest never receives events from the log
 * (hello is refused), never reaches the handlers of staff messages, and is left out of the
 * staff observers (presence) and of net_ws_close_matching / net_ws_send_matching, whose
 * callbacks only know staff principals. */
#include "net/ws_internal.h"

#include <string.h>

int net_server_set_ws_guest_path(net_server *s, const char *path)
{
    if (!path || path[0] != '/' || strcmp(path, "/api/v1/events") == 0 || s->guest_path)
        return CC_ERR_INVALID;
    if (!(s->guests_by_ip = cc_map_new_keyed()) || !(s->guest_path = cc_strdup(path)))
        return CC_ERR_NOMEM;
    return CC_OK;
}

/* Nobody needs a session to open a guest connection: one address may hold only so many. */
bool net__ws_guest_admit(net_server *s, const char *ip)
{
    int *n = cc_map_get(s->guests_by_ip, ip);
    if (n && *n >= NET_WS_GUEST_PER_IP)
        return false;
    if (!n) {
        if (!(n = cc_calloc(1, sizeof(*n))) || cc_map_put(s->guests_by_ip, ip, n, NULL) != CC_OK) {
            cc_free(&n);
            return false;
        }
    }
    (*n)++;
    return true;
}

void net__ws_guest_gone(net_server *s, const char *ip)
{
    int *n = s->guests_by_ip && ip ? cc_map_get(s->guests_by_ip, ip) : NULL;
    if (n && --(*n) <= 0)
        cc_free_ptr(cc_map_remove(s->guests_by_ip, ip));
}

int net_server_add_ws_guest_message(net_server *s, const char *type, net_ws_conn_msg_fn fn,
                                    void *ud)
{
    if (!type || !fn || strcmp(type, "hello") == 0 || strcmp(type, "ping") == 0 ||
        strlen(type) > NET_WS_TYPE_MAX)
        return CC_ERR_INVALID;
    for (size_t i = 0; i < s->nws_guest_msgs; i++)
        if (strcmp(s->ws_guest_msgs[i].type, type) == 0)
            return CC_ERR_EXISTS;
    if (s->nws_guest_msgs >= NET_MAX_WS_HOOKS)
        return CC_ERR_TOO_BIG;
    s->ws_guest_msgs[s->nws_guest_msgs].type = type;
    s->ws_guest_msgs[s->nws_guest_msgs].fn = fn;
    s->ws_guest_msgs[s->nws_guest_msgs].ud = ud;
    s->nws_guest_msgs++;
    return CC_OK;
}

void net__ws_on_guest_message(net_ws *ws, const net_ws_msg *m)
{
    net_server *s = ws->srv;
    const char *code = "bad_message", *message = "unknown message type";
    for (size_t i = 0; i < s->nws_guest_msgs; i++) {
        if (strcmp(s->ws_guest_msgs[i].type, m->other) == 0) {
            message = NULL;
            code = s->ws_guest_msgs[i].fn(s->ws_guest_msgs[i].ud, ws->id, ws->principal, m->obj,
                                          &message);
            break;
        }
    }
    if (code)
        net__ws_send_error(ws, m->obj, code, message ? message : "refused");
}

static net_ws *net__guest(net_server *s, net_ws_conn conn)
{
    net_ws *ws = net__ws_by_id(s, conn);
    return ws && ws->guest && ws->wsi && !ws->closing ? ws : NULL;
}

int net_ws_guest_bind(net_server *s, net_ws_conn conn, void *principal, void (*free_fn)(void *))
{
    net_ws *ws = net__guest(s, conn);
    if (!ws) {
        if (principal && free_fn)
            free_fn(principal);
        return CC_ERR_NOT_FOUND;
    }
    if (ws->principal && ws->principal_free)
        ws->principal_free(ws->principal);
    ws->principal = principal;
    ws->principal_free = free_fn;
    lws_set_timeout(ws->wsi, NO_PENDING_TIMEOUT, 0);
    return CC_OK;
}

const char *net_ws_guest_ip(net_server *s, net_ws_conn conn)
{
    net_ws *ws = net__guest(s, conn);
    return ws && ws->guest_ip ? ws->guest_ip : "";
}

size_t net_ws_send_guests(net_server *s, bool (*match)(void *ud, const void *principal), void *ud,
                          const json_t *obj)
{
    return net__ws_send_if(s, true, match, ud, obj);
}

void net_ws_guest_close_matching(net_server *s, bool (*match)(void *ud, const void *principal),
                                 void *ud, int code, const char *reason)
{
    for (net_ws *ws = s->hub ? s->hub->conns : NULL; ws; ws = ws->next)
        if (ws->guest && ws->principal && match(ud, ws->principal))
            net__ws_start_close(ws, code, reason);
}
