/* Routes net serves itself: liveness, readiness and metrics for load balancers and monitoring. */
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static void net__healthz(net_req *r)
{
    net_reply_json(r, 200, json_pack("{s:s}", "status", "alive"));
}

/* {"status":"ready","components":{"store":"up","janus":"up",...}}, or 503 with the usual error
 * body plus the same components, so a monitor sees which part is down. */
static void net__readyz(net_req *r)
{
    net_server *s = r->srv;
    bool store_up = !s->ready || s->ready(s->ready_ud);
    const char *down = store_up ? NULL : "store";
    json_t *parts = json_object();
    if (parts)
        json_object_set_new(parts, "store", json_string(store_up ? "up" : "down"));
    for (size_t i = 0; i < s->nready_parts; i++) {
        bool up = s->ready_parts[i].fn(s->ready_parts[i].ud);
        if (!up && !down)
            down = s->ready_parts[i].name;
        if (parts)
            json_object_set_new(parts, s->ready_parts[i].name, json_string(up ? "up" : "down"));
    }
    if (!s->draining && !down) {
        net_reply_json(r, 200, json_pack("{s:s,s:o*}", "status", "ready", "components", parts));
        return;
    }
    if (s->draining) {
        json_decref(parts);
        net_reply_error(r, 503, "not_ready", "shutting down");
        return;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "%s unavailable", down);
    net_reply_json(r, 503,
                   json_pack("{s:{s:s,s:s},s:o*}", "error", "code", "not_ready", "message", msg,
                             "components", parts));
}

/* What the web app needs before anyone logs in. Nothing here is secret. */
static void net__info(net_req *r)
{
    const cc_config *cfg = r->srv->cfg;
    net_reply_json(r, 200,
                   json_pack("{s:s,s:s,s:s,s:s}", "name", cc_config_str(cfg, "site_name"),
                             "timezone", cc_config_str(cfg, "timezone"), "default_language",
                             cc_config_str(cfg, "default_language"), "version", CC_VERSION));
}

static bool net__ip_is_loopback(const char *ip)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, ip, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, ip, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

/* Metrics reveal load and counts, not data; still, only the local host or a scraper holding the
 * configured token may read them. */
static void net__metrics(net_req *r)
{
    const char *token = cc_config_str(r->srv->cfg, "metrics_token");
    const char *given = net_req_bearer(r);
    bool ok = net__ip_is_loopback(r->ip);
    if (!ok && token && *token && given && strlen(given) == strlen(token))
        ok = cc_memeq_ct(given, token, strlen(token));
    if (!ok) {
        net_reply_error(r, 403, "forbidden", "metrics are served to localhost or with the token");
        return;
    }
    char *text = net__metrics_render(r->srv);
    if (!text) {
        net_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    net_reply_raw(r, 200, "text/plain; version=0.0.4", text, strlen(text));
    cc_free(&text);
}

const net_route net__builtin_routes[] = {
    {"GET", "/healthz", 0, NET_ROUTE_PUBLIC, NULL, 0, net__healthz},
    {"GET", "/readyz", 0, NET_ROUTE_PUBLIC, NULL, 0, net__readyz},
    {"GET", "/metrics", 0, NET_ROUTE_PUBLIC, NULL, 0, net__metrics},
    {"GET", "/api/v1/info", 0, NET_ROUTE_PUBLIC, NULL, 0, net__info},
};
const size_t net__builtin_routes_count =
    sizeof(net__builtin_routes) / sizeof(net__builtin_routes[0]);

int net__builtin_register(net_server *s)
{
    return net_server_add_routes(s, net__builtin_routes,
                                 sizeof(net__builtin_routes) / sizeof(net__builtin_routes[0]), s);
}
