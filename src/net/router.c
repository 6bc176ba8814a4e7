/* The router: matches a request against the registered route tables, runs the authenticator,
 * enforces the body rules (JSON only, declared length, size limit, schema) and calls the handler
 * with input that is already checked. */
#include "net/net_internal.h"

#include <string.h>

/* Matches path against a template with ":name" segments, collecting params into r. */
static bool net__path_match(const char *tpl, const char *path, net_req *r)
{
    int np = 0;
    const char *names[NET_MAX_PARAMS];
    const char *vals[NET_MAX_PARAMS];
    size_t vlens[NET_MAX_PARAMS];
    while (*tpl && *path) {
        if (*tpl == ':') {
            const char *name = tpl + 1;
            size_t seg = strcspn(path, "/");
            if (seg == 0 || np >= NET_MAX_PARAMS)
                return false;
            names[np] = name;
            vals[np] = path;
            vlens[np] = seg;
            np++;
            tpl += 1 + strcspn(tpl + 1, "/");
            path += seg;
            continue;
        }
        if (*tpl != *path)
            return false;
        tpl++;
        path++;
    }
    if (*tpl || *path)
        return false;
    if (!r)
        return true;
    for (int i = 0; i < np; i++) {
        /* template names end at '/' or NUL: store them without the rest of the template */
        r->param_names[i] = names[i];
        r->param_values[i] = cc_strndup(vals[i], vlens[i]);
        if (!r->param_values[i])
            return false;
        r->nparams = i + 1;
    }
    return true;
}

const net_route *net__route_find(net_server *s, net_req *r, bool *method_mismatch)
{
    *method_mismatch = false;
    for (size_t t = 0; t < s->ntables; t++) {
        for (size_t i = 0; i < s->table_len[t]; i++) {
            const net_route *rt = &s->tables[t][i];
            if (!net__path_match(rt->path, r->path, NULL))
                continue;
            if (strcmp(rt->method, r->method) != 0) {
                *method_mismatch = true;
                continue;
            }
            if (!net__path_match(rt->path, r->path, r))
                return NULL;
            r->route_ud = s->table_ud[t];
            return rt;
        }
    }
    return NULL;
}

static bool net__is_type(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* JSON bodies: application/json, and FHIR's own type under /fhir/. */
static bool net__is_json_type(const net_req *r)
{
    return net__is_type(r->content_type, "application/json") ||
           (strncmp(r->path, "/fhir/", 6) == 0 &&
            net__is_type(r->content_type, "application/fhir+json"));
}

void net__dispatch(net_req *r)
{
    net_server *s = r->srv;
    bool mismatch;
    if (r->content_length == -2) {
        net_reply_error(r, 400, "bad_content_length", "Content-Length is not a number");
        return;
    }
    r->route = net__route_find(s, r, &mismatch);
    if (!r->route) {
        if (mismatch) {
            net_reply_error(r, 405, "method_not_allowed", "this path does not accept that method");
            return;
        }
        if (strncmp(r->path, "/api/", 5) != 0 && strncmp(r->path, "/fhir/", 6) != 0 &&
            net__static_serve(r))
            return;
        net_reply_error(r, 404, "not_found", "no such resource");
        return;
    }
    if (!(r->route->flags & NET_ROUTE_PUBLIC)) {
        if (!s->authn) {
            net_reply_error(r, 500, "internal", "no authenticator configured");
            return;
        }
        if (!s->authn(s->authn_ud, r, r->route->perm, r->route->flags))
            return; /* the authenticator replied */
    }
    if (!r->route->body && !(r->route->flags & NET_ROUTE_FREE_BODY)) {
        if (r->content_length > 0) {
            net_reply_error(r, 400, "unexpected_body", "this route takes no request body");
            return;
        }
        r->body_complete = true;
        r->route->handler(r);
        return;
    }
    if (!net__is_json_type(r)) {
        net_reply_error(r, 415, "unsupported_media_type", "the body must be application/json");
        return;
    }
    if (r->content_length < 0) {
        net_reply_error(r, 411, "length_required", "send the body with a Content-Length");
        return;
    }
    if ((size_t)r->content_length > s->max_body) {
        net_reply_error(r, 413, "body_too_large", "the request body is too large");
        return;
    }
    if (r->content_length == 0) {
        r->body_complete = true;
        net__body_complete(r);
        return;
    }
    r->body_expected = true; /* the body arrives in LWS_CALLBACK_HTTP_BODY chunks */
}

void net__body_complete(net_req *r)
{
    const char *why = NULL;
    char msg[200];
    if (r->body.len != (size_t)r->content_length) {
        net_reply_error(r, 400, "bad_body", "the body is shorter than its Content-Length");
        return;
    }
    r->json =
        cc_json_parse_object(r->body.data ? r->body.data : "", r->body.len, r->srv->max_body, &why);
    if (!r->json) {
        snprintf(msg, sizeof(msg), "invalid JSON body: %s", why ? why : "parse error");
        net_reply_error(r, 400, "invalid_json", msg);
        return;
    }
    if (!(r->route->flags & NET_ROUTE_FREE_BODY) &&
        cc_json_validate(r->json, r->route->body, r->route->nbody, msg, sizeof(msg)) != CC_OK) {
        net_reply_error(r, 400, "invalid_request", msg);
        return;
    }
    r->route->handler(r);
}
