/* Parser of the messages a client sends on the event WebSocket (docs/websocket.md). Pure. */
#include "net/net.h"

#include <string.h>

/* A module's message type: [a-z][a-z0-9_.]{0,31}. */
static bool net__ws_type_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > NET_WS_TYPE_MAX || t[0] < 'a' || t[0] > 'z')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_' ||
              t[i] == '.'))
            return false;
    return true;
}

int net_ws_msg_parse(const char *data, size_t n, net_ws_msg *out, char *why, size_t whylen)
{
    static const cc_json_field hello[] = {
        {"type", CC_JSON_STRING, true, 1, 16},
        {"last_seq", CC_JSON_INT, false, 0, INT64_MAX},
    };
    static const cc_json_field ping[] = {
        {"type", CC_JSON_STRING, true, 1, 16},
        {"id", CC_JSON_STRING, false, 0, 64},
    };
    const char *reason = NULL;
    int rc = CC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    /* The size is bounded before this (max_ws_message_bytes, at most 16 MiB, closes with 1009):
     * a meeting's SDP offer is several KiB, so no tighter cap here. */
    json_t *o = cc_json_parse_object(data, n, 16u << 20, &reason);
    if (!o) {
        snprintf(why, whylen, "invalid JSON: %s", reason ? reason : "parse error");
        return CC_ERR_INVALID;
    }
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!type) {
        snprintf(why, whylen, "field 'type' must be a string");
        goto out;
    }
    if (strcmp(type, "hello") == 0) {
        if (cc_json_validate(o, hello, 2, why, whylen) != CC_OK)
            goto out;
        out->type = NET_WS_MSG_HELLO;
        json_t *ls = json_object_get(o, "last_seq");
        if (ls) {
            out->has_last_seq = true;
            out->last_seq = json_integer_value(ls);
        }
    } else if (strcmp(type, "ping") == 0) {
        if (cc_json_validate(o, ping, 2, why, whylen) != CC_OK)
            goto out;
        out->type = NET_WS_MSG_PING;
        const char *id = json_string_value(json_object_get(o, "id"));
        snprintf(out->ping_id, sizeof(out->ping_id), "%s", id ? id : "");
    } else if (net__ws_type_valid(type)) {
        out->type = NET_WS_MSG_OTHER;
        snprintf(out->other, sizeof(out->other), "%s", type);
        out->obj = o;
        return CC_OK; /* o is the caller's now */
    } else {
        snprintf(why, whylen, "unknown message type");
        goto out;
    }
    rc = CC_OK;
out:
    json_decref(o);
    return rc;
}

void net_ws_msg_clear(net_ws_msg *m)
{
    if (m->obj)
        json_decref(m->obj);
    m->obj = NULL;
}
