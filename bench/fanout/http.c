/* Minimal HTTP/1.1 client over TLS for carecomm's REST calls: one request at a time per
 * connection, keep-alive, responses with Content-Length (carecomm writes no chunked responses). */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void h_on_data(conn *c)
{
    hconn *h = c->ud;
    for (;;) {
        const uint8_t *d = gbuf_data(&c->in);
        size_t n = gbuf_size(&c->in);
        const uint8_t *end = find(d, n, "\r\n\r\n");
        if (!end)
            return;
        size_t hlen = (size_t)(end - d) + 4;
        int status = n > 12 ? atoi((const char *)d + 9) : 0;
        long clen = -1;
        for (const uint8_t *p = d; p < end;) {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                break;
            if (nl - p > 15 && strncasecmp((const char *)p, "content-length:", 15) == 0)
                clen = strtol((const char *)p + 15, NULL, 10);
            p = nl + 1;
        }
        if (clen < 0) {
            if (find(d, hlen, "hunked")) {
                conn_close(c, "chunked response not supported");
                return;
            }
            clen = 0;
        }
        if (n < hlen + (size_t)clen)
            return;
        hdone cb = h->cb;
        void *arg = h->arg;
        h->cb = NULL;
        h->busy = false;
        char *body = malloc((size_t)clen + 1);
        memcpy(body, d + hlen, (size_t)clen);
        body[clen] = 0;
        gbuf_drop(&c->in, hlen + (size_t)clen);
        if (cb)
            cb(h, arg, status, body, (size_t)clen);
        free(body);
        if (c->state != C_OPEN)
            return;
    }
}

static void h_on_close(conn *c, const char *why)
{
    hconn *h = c->ud;
    h->dead = true;
    h->why = why;
    if (h->busy && h->cb) {
        hdone cb = h->cb;
        h->cb = NULL;
        h->busy = false;
        cb(h, h->arg, 0, why, strlen(why));
    }
    if (h->on_dead)
        h->on_dead(h);
}

static const conn_ops hops = {NULL, h_on_data, h_on_close};

hconn *hconn_new(void *owner)
{
    hconn *h = calloc(1, sizeof(*h));
    if (!h)
        die("out of memory");
    h->owner = owner;
    h->c = conn_new(&hops, h);
    return h;
}

void http_request(hconn *h, const char *method, const char *path, const char *token,
                  const char *json, hdone cb, void *arg)
{
    gbuf r = {0};
    size_t blen = json ? strlen(json) : 0;
    gbuf_printf(&r, "%s %s HTTP/1.1\r\nHost: localhost\r\n", method, path);
    if (token)
        gbuf_printf(&r, "Authorization: Bearer %s\r\n", token);
    if (json)
        gbuf_puts(&r, "Content-Type: application/json\r\n");
    gbuf_printf(&r, "Content-Length: %zu\r\n\r\n", blen);
    if (json)
        gbuf_put(&r, json, blen);
    h->busy = true;
    h->cb = cb;
    h->arg = arg;
    conn_send(h->c, gbuf_data(&r), gbuf_size(&r));
    gbuf_free(&r);
    if (h->dead) { /* conn_send dropped it */
        h->busy = false;
        h->cb = NULL;
        cb(h, arg, 0, "connection closed", 17);
    }
}

/* The string or number under "key" at the top level or below; NULL if absent. */
char *json_get(const char *body, const char *key)
{
    json_error_t e;
    json_t *j = json_loads(body, 0, &e);
    if (!j)
        return NULL;
    json_t *v = json_object_get(j, key);
    char *out = NULL;
    if (json_is_string(v))
        out = strdup(json_string_value(v));
    else if (json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        out = strdup(buf);
    } else if (json_is_null(v))
        out = strdup("null");
    json_decref(j);
    return out;
}
