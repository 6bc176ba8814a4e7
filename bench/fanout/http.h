/* HTTP/1.1 client connections of fanout_gen (carecomm's REST API). */
#pragma once

#include "gen.h"

#include <jansson.h>

typedef struct hconn hconn;
/* status 0: the connection closed before an answer (body: why). body is NUL-terminated. */
typedef void (*hdone)(hconn *h, void *arg, int status, const char *body, size_t n);

struct hconn {
    conn *c;
    bool busy, dead;
    const char *why;
    hdone cb;
    void *arg;
    void *owner;
    void (*on_dead)(hconn *h);
    int64_t t0;
};

hconn *hconn_new(void *owner);
/* One request at a time per connection; json NULL sends an empty body (Content-Length: 0). */
void http_request(hconn *h, const char *method, const char *path, const char *token,
                  const char *json, hdone cb, void *arg);
/* Caller frees. */
char *json_get(const char *body, const char *key);
