/* The staff directory: the people one may message. Anyone with the messages permission finds
 * colleagues by name (to start a direct message or a group) and reads the names of the people
 * they see in conversations, without users.read: only the id, username (what @mentions use),
 * display name, role and presence of active accounts, never anything else of the account.
 *
 * A name search folds case and accents like message search (each query word must begin a word of
 * the display name or the username: "helene" finds "Hélène Durand"). It scans the active
 * accounts in the worker, which a hospital's staff count (thousands) keeps cheap, and stops at
 * the page size. */
#include "msg/msg_internal.h"

#include <string.h>

#define DIR_QUERY_MAX 100 /* bytes of q */
#define DIR_LIMIT_MAX 50
#define DIR_IDS_MAX 100
#define DIR_TERMS_MAX 4

typedef struct {
    char terms[DIR_TERMS_MAX][MSG_TERM_MAX + 1];
    size_t nterms;
} dir_query;

static int dir__query_term(void *ud, const char *term, size_t len, size_t start, size_t end)
{
    dir_query *q = ud;
    (void)start;
    (void)end;
    if (q->nterms == DIR_TERMS_MAX)
        return 1;
    snprintf(q->terms[q->nterms++], MSG_TERM_MAX + 1, "%.*s", (int)len, term);
    return 0;
}

typedef struct {
    const char *term;
    bool found;
} dir_word;

static int dir__word(void *ud, const char *term, size_t len, size_t start, size_t end)
{
    dir_word *w = ud;
    size_t n = strlen(w->term);
    (void)start;
    (void)end;
    if (len >= n && memcmp(term, w->term, n) == 0) {
        w->found = true;
        return 1;
    }
    return 0;
}

/* Every query word begins a word of one of the names. */
static bool dir__matches(const dir_query *q, const char *username, const char *display)
{
    for (size_t i = 0; i < q->nterms; i++) {
        dir_word w = {q->terms[i], false};
        if (msg_text_terms(display, strlen(display), dir__word, &w) < 0 ||
            (!w.found && msg_text_terms(username, strlen(username), dir__word, &w) < 0) || !w.found)
            return false;
    }
    return true;
}

typedef struct {
    msg_ctx *c;
    dir_query q;
    json_t *people;
    bool more;
} dir_scan;

static int dir__row(void *ud, const store_row *r)
{
    dir_scan *s = ud;
    const char *username = store_row_text(r, 1), *display = store_row_text(r, 2);
    if (s->q.nterms > 0 && !dir__matches(&s->q, username, display))
        return 0;
    if ((int64_t)json_array_size(s->people) == s->c->limit) {
        s->more = true;
        return 1;
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", store_row_text(r, 0), "username", username,
                          "display_name", display, "role", store_row_text(r, 3));
    return o && json_array_append_new(s->people, o) == 0 ? 0 : CC_ERR_NOMEM;
}

#define DIR_COLS "SELECT id, username, display_name, role FROM users WHERE disabled = 0"

static int dir__job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    dir_scan s = {c, {{{0}}, 0}, json_array(), false};
    cc_buf sql = {0};
    store_val p[DIR_IDS_MAX];
    size_t np = 0;
    char *text = NULL;
    int rc = s.people ? CC_OK : CC_ERR_NOMEM;
    const json_t *ids = json_object_get(c->in, "ids");
    if (rc == CC_OK && ids) {
        size_t i;
        json_t *v;
        rc = cc_buf_appendf(&sql, DIR_COLS " AND id IN (");
        json_array_foreach(ids, i, v)
        {
            rc = rc ? rc : cc_buf_appendf(&sql, i ? ", ?" : "?");
            p[np++] = SV_TEXT(json_string_value(v));
        }
        rc = rc ? rc : cc_buf_appendf(&sql, ") ORDER BY lower(display_name), username");
    } else if (rc == CC_OK) {
        const char *q = json_string_value(json_object_get(c->in, "q"));
        rc = msg_text_terms(q, strlen(q), dir__query_term, &s.q);
        rc = rc < 0 ? rc : cc_buf_appendf(&sql, DIR_COLS " ORDER BY lower(display_name), username");
    }
    if (rc == CC_OK && !(text = cc_strndup(sql.data, sql.len)))
        rc = CC_ERR_NOMEM;
    if (rc == CC_OK)
        rc = store_query(st, text, p, np, dir__row, &s);
    if (rc == CC_OK && !(c->out = json_pack("{s:O,s:b}", "people", s.people, "has_more", s.more)))
        rc = CC_ERR_NOMEM;
    cc_free(&text);
    cc_buf_free(&sql);
    if (s.people)
        json_decref(s.people);
    return rc;
}

/* Presence is in memory, on the loop: added once the rows are back. */
static void dir__finish(msg_ctx *c)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(c->out, "people"), i, o)
    {
        const char *user = json_string_value(json_object_get(o, "id"));
        json_object_set_new(o, "presence", msg__presence_json(c->m, user));
    }
}

static void dir__get(net_req *r)
{
    /* One byte more than the longest accepted value: a longer one (cut by net_req_query) is
     * refused, never read in part. */
    char q[DIR_QUERY_MAX + 2], ids[(DIR_IDS_MAX + 1) * (CC_ID_LEN + 1) + 1];
    int64_t limit = 20;
    bool has_q = net_req_query(r, "q", q, sizeof(q));
    bool has_ids = net_req_query(r, "ids", ids, sizeof(ids));
    json_t *in = NULL;
    if (has_q == has_ids) {
        net_reply_error(r, 400, "invalid_request", "give q (a name) or ids, one of the two");
        return;
    }
    if (has_q && strlen(q) > DIR_QUERY_MAX) {
        net_reply_error(r, 400, "invalid_request", "q: at most 100 bytes");
        return;
    }
    if (has_ids && strlen(ids) == sizeof(ids) - 1) {
        net_reply_error(r, 400, "invalid_request", "at most 100 ids at once");
        return;
    }
    if (!net_req_query_int(r, "limit", 1, DIR_LIMIT_MAX, NULL, &limit))
        return;
    if (has_ids) {
        json_t *list = json_array();
        size_t n = 0;
        for (char *save = NULL, *id = strtok_r(ids, ",", &save); id && list;
             id = strtok_r(NULL, ",", &save)) {
            if (!msg__id_valid(id))
                continue; /* as GET /presence: what cannot be an id names nobody */
            if (++n > DIR_IDS_MAX) {
                json_decref(list);
                net_reply_error(r, 400, "invalid_request", "at most 100 ids at once");
                return;
            }
            if (json_array_append_new(list, json_string(id)) != 0) {
                json_decref(list);
                list = NULL;
            }
        }
        in = list ? json_pack("{s:o}", "ids", list) : NULL;
        limit = DIR_IDS_MAX;
    } else {
        in = json_pack("{s:s}", "q", q);
    }
    msg_ctx *c = in ? msg__ctx_new(r, MSG_ID_NONE) : NULL;
    if (!c) {
        if (in)
            json_decref(in);
        else
            net_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    c->in = in;
    c->limit = limit;
    c->finish = dir__finish;
    if (has_ids && json_array_size(json_object_get(in, "ids")) == 0) {
        c->out = json_pack("{s:[],s:b}", "people", "has_more", false);
        net_reply_json(c->r, 200, c->out);
        c->out = NULL;
        msg__ctx_free(c);
        return;
    }
    msg__submit(c, dir__job);
}

const net_route msg_directory_routes[] = {
    {"GET", "/api/v1/directory", PERM_MESSAGES, 0, NULL, 0, dir__get},
};
const size_t msg_directory_routes_count =
    sizeof(msg_directory_routes) / sizeof(msg_directory_routes[0]);
