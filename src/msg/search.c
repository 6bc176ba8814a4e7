/* Full-text search over the messages a person may read now: the conversations they are a member
 * of (public channels they have not joined are not searched). Words are folded (case, accents)
 * the same way when indexed and when searched; each query word matches the words it is a prefix
 * of, all query words must match; results come newest first with a highlighted snippet. */
#include "msg/msg_internal.h"

#include <stdlib.h>
#include <string.h>

#define SEARCH_SNIPPET_BYTES 200
#define SEARCH_LIMIT_MAX 50
/* U+10FFFF, the last character: every term starting with p sorts below p + this, bytewise. */
#define SEARCH_TERM_END "\xf4\x8f\xbf\xbf"

typedef struct {
    json_t *terms;
} query_ctx;

static int search__query_term(void *ud, const char *term, size_t len, size_t start, size_t end)
{
    query_ctx *q = ud;
    size_t i;
    json_t *v;
    (void)len;
    (void)start;
    (void)end;
    json_array_foreach(q->terms, i, v)
    {
        if (strcmp(json_string_value(v), term) == 0)
            return 0;
    }
    if (json_array_size(q->terms) >= MSG_QUERY_TERMS_MAX)
        return 1;
    return json_array_append_new(q->terms, json_string(term)) == 0 ? 0 : CC_ERR_NOMEM;
}

typedef struct {
    json_t *results;
    const char *terms[MSG_QUERY_TERMS_MAX];
    size_t nterms;
} result_ctx;

static int search__row(void *ud, const store_row *r)
{
    result_ctx *x = ud;
    json_t *m = msg__message_json_row(r);
    const char *body = store_row_text(r, 4);
    char *snippet =
        m ? msg_text_snippet(body, strlen(body), x->terms, x->nterms, SEARCH_SNIPPET_BYTES) : NULL;
    json_t *o = snippet ? json_pack("{s:o,s:s,s:{s:s,s:s,s:s?}}", "message", m, "snippet", snippet,
                                    "conversation", "id", store_row_text(r, 1), "kind",
                                    store_row_text(r, 17), "name", store_row_text(r, 18))
                        : NULL;
    if (!o && m)
        json_decref(m);
    cc_free(&snippet);
    return o && json_array_append_new(x->results, o) == 0 ? 0 : CC_ERR_NOMEM;
}

static int search__job(store *st, void *ctx)
{
    msg_ctx *c = ctx;
    msg_conv_row cv;
    const json_t *terms = json_object_get(c->in, "terms");
    int rc;
    if (c->conv[0] && (rc = msg__conv_access(st, c, c->conv, true, &cv)) != CC_OK)
        return rc;
    result_ctx x = {json_array(), {NULL}, 0};
    if (!x.results)
        return CC_ERR_NOMEM;
    /* Membership is part of the query: what someone may read is decided now, in SQL. */
    cc_buf sql = {0};
    store_val p[3 + 2 * MSG_QUERY_TERMS_MAX + 2];
    char *ends[MSG_QUERY_TERMS_MAX] = {NULL};
    size_t np = 0;
    rc = cc_buf_appendf(&sql, "SELECT " MSG_COLS ", c.kind, c.name FROM msg_messages m JOIN "
                              "msg_members mb ON mb.conversation_id = m.conversation_id AND "
                              "mb.user_id = ? JOIN msg_conversations c ON c.id = "
                              "m.conversation_id WHERE m.deleted_at IS NULL");
    p[np++] = SV_TEXT(c->who.user_id);
    if (c->conv[0]) {
        rc = rc ? rc : cc_buf_appendf(&sql, " AND m.conversation_id = ?");
        p[np++] = SV_TEXT(c->conv);
    }
    size_t i;
    json_t *t;
    json_array_foreach(terms, i, t)
    {
        const char *term = json_string_value(t);
        x.terms[x.nterms++] = term;
        ends[i] = cc_sprintf("%s" SEARCH_TERM_END, term);
        if (!ends[i]) {
            rc = CC_ERR_NOMEM;
            break;
        }
        rc = rc ? rc
                : cc_buf_appendf(&sql, " AND m.id IN (SELECT t.message_id FROM msg_terms t "
                                       "WHERE t.term >= ? AND t.term < ?)");
        p[np++] = SV_TEXT(term);
        p[np++] = SV_TEXT(ends[i]);
    }
    rc = rc ? rc : cc_buf_appendf(&sql, " ORDER BY m.created_at DESC, m.id DESC LIMIT ? OFFSET ?");
    p[np++] = SV_INT(c->limit + 1);
    p[np++] = SV_INT(c->offset);
    char *text = rc == CC_OK ? cc_strndup(sql.data, sql.len) : NULL;
    if (rc == CC_OK && !text)
        rc = CC_ERR_NOMEM;
    if (rc == CC_OK)
        rc = store_query(st, text, p, np, search__row, &x);
    bool more = (int64_t)json_array_size(x.results) > c->limit;
    if (more)
        json_array_remove(x.results, json_array_size(x.results) - 1);
    if (rc == CC_OK && !(c->out = json_pack("{s:O,s:b,s:O}", "results", x.results, "has_more", more,
                                            "terms", terms)))
        rc = CC_ERR_NOMEM;
    for (size_t k = 0; k < MSG_QUERY_TERMS_MAX; k++)
        cc_free(&ends[k]);
    cc_free(&text);
    cc_buf_free(&sql);
    json_decref(x.results);
    return rc;
}

static void search__get(net_req *r)
{
    char q[512], conv[64] = "";
    int64_t limit = 20, offset = 0;
    if (!net_req_query(r, "q", q, sizeof(q)) || strlen(q) > 200) {
        net_reply_error(r, 400, "invalid_query", "search with q: 1 to 200 bytes");
        return;
    }
    if (net_req_query(r, "conversation", conv, sizeof(conv)) && !msg__id_valid(conv)) {
        net_reply_error(r, 404, "conversation_not_found", "no such conversation");
        return;
    }
    if (!net_req_query_int(r, "limit", 1, SEARCH_LIMIT_MAX, NULL, &limit) ||
        !net_req_query_int(r, "offset", 0, 10000, NULL, &offset))
        return;
    query_ctx qc = {json_array()};
    if (!qc.terms || msg_text_terms(q, strlen(q), search__query_term, &qc) != CC_OK ||
        json_array_size(qc.terms) == 0) {
        if (qc.terms)
            json_decref(qc.terms);
        net_reply_error(r, 400, "invalid_query", "search for at least one word");
        return;
    }
    msg_ctx *c = msg__ctx_new(r, MSG_ID_NONE);
    if (!c) {
        json_decref(qc.terms);
        return;
    }
    if (!(c->in = json_pack("{s:o}", "terms", qc.terms))) {
        net_reply_error(r, 500, "internal", "out of memory");
        msg__ctx_free(c);
        return;
    }
    if (conv[0])
        memcpy(c->conv, conv, CC_ID_LEN + 1);
    c->limit = limit;
    c->offset = offset;
    msg__submit(c, search__job);
}

const net_route msg_search_routes[] = {
    {"GET", "/api/v1/search", PERM_MESSAGES, 0, NULL, 0, search__get},
};
const size_t msg_search_routes_count = sizeof(msg_search_routes) / sizeof(msg_search_routes[0]);
