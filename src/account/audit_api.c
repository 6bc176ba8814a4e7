/* GET /api/v1/audit (filtered, newest first, paged by id) and POST /api/v1/audit/verify. Reading
 * the audit log is itself audited: it shows who did what to which record. */
#include "account/account_internal.h"

#include <string.h>

#define AUDIT_PAGE_MAX 500

typedef struct {
    account *a;
    net_req *r;
    acct_principal who;
    char actor[AUTH_USERNAME_MAX + 1], action[64], object[128], outcome[16];
    int64_t from, to, before, limit;
    json_t *result;
    auth_audit_report report;
    int verify_rc;
} audit_ctx;

static void audit__free(audit_ctx *c)
{
    if (c->result)
        json_decref(c->result);
    net_req_unref(c->r);
    cc_free_ptr(c);
}

static int audit__row(void *ud, const store_row *r)
{
    audit_ctx *c = ud;
    json_t *details = NULL;
    const char *d = store_row_text(r, 8);
    if (d)
        details = json_loads(d, 0, NULL);
    json_t *o = json_pack("{s:I,s:I,s:s?,s:s?,s:s,s:s?,s:s?,s:s,s:o?,s:s}", "id",
                          (json_int_t)store_row_int(r, 0), "ts", (json_int_t)store_row_int(r, 1),
                          "actor_id", store_row_text(r, 2), "actor_name", store_row_text(r, 3),
                          "action", store_row_text(r, 4), "object", store_row_text(r, 5),
                          "source_ip", store_row_text(r, 6), "outcome", store_row_text(r, 7),
                          "details", details, "hash", store_row_text(r, 9));
    if (!o)
        return CC_ERR_NOMEM;
    json_array_append_new(json_object_get(c->result, "records"), o);
    return 0;
}

static int audit__list_job(store *st, void *ctx)
{
    audit_ctx *c = ctx;
    char sql[512];
    store_val p[8];
    size_t n = 0;
    int len = snprintf(sql, sizeof(sql),
                       "SELECT id, ts, actor_id, actor_name, action, object, source_ip, outcome, "
                       "details, hash FROM audit WHERE 1 = 1");
#define AUDIT_FILTER(cond, clause, val)                                                            \
    if (cond) {                                                                                    \
        len += snprintf(sql + len, sizeof(sql) - (size_t)len, " AND " clause);                     \
        p[n++] = val;                                                                              \
    }
    AUDIT_FILTER(c->actor[0], "actor_name = ?", SV_TEXT(c->actor))
    AUDIT_FILTER(c->action[0], "action = ?", SV_TEXT(c->action))
    AUDIT_FILTER(c->object[0], "object = ?", SV_TEXT(c->object))
    AUDIT_FILTER(c->outcome[0], "outcome = ?", SV_TEXT(c->outcome))
    AUDIT_FILTER(c->from > 0, "ts >= ?", SV_INT(c->from))
    AUDIT_FILTER(c->to > 0, "ts < ?", SV_INT(c->to))
    AUDIT_FILTER(c->before > 0, "id < ?", SV_INT(c->before))
#undef AUDIT_FILTER
    snprintf(sql + len, sizeof(sql) - (size_t)len, " ORDER BY id DESC LIMIT ?");
    p[n++] = SV_INT(c->limit + 1);
    if (!(c->result = json_pack("{s:[]}", "records")))
        return CC_ERR_NOMEM;
    int rc = store_query(st, sql, p, n, audit__row, c);
    if (rc != CC_OK)
        return rc;
    json_t *records = json_object_get(c->result, "records");
    if ((int64_t)json_array_size(records) > c->limit) {
        json_array_remove(records, json_array_size(records) - 1);
        json_t *last = json_array_get(records, json_array_size(records) - 1);
        json_object_set(c->result, "next_before", json_object_get(last, "id"));
    }
    return acct_audit(st, c->a, &c->who, "audit.read", NULL, net_req_source_ip(c->r), "success",
                      NULL);
}

static void audit__done(void *ctx, int rc)
{
    audit_ctx *c = ctx;
    if (rc != CC_OK) {
        net_reply_error(c->r, 503, "store_unavailable", "try again in a moment");
    } else {
        net_reply_json(c->r, 200, c->result);
        c->result = NULL;
    }
    audit__free(c);
}

static audit_ctx *audit__new(net_req *r)
{
    audit_ctx *c = cc_calloc(1, sizeof(*c));
    if (!c) {
        net_reply_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    c->a = net_req_ud(r);
    c->r = net_req_ref(r);
    c->who = *(const acct_principal *)net_req_principal(r);
    return c;
}

void acct_audit_list(net_req *r);
void acct_audit_list(net_req *r)
{
    audit_ctx *c = audit__new(r);
    if (!c)
        return;
    c->limit = 100;
    if (!net_req_query_int(r, "from", 0, INT64_MAX, NULL, &c->from) ||
        !net_req_query_int(r, "to", 0, INT64_MAX, NULL, &c->to) ||
        !net_req_query_int(r, "before", 0, INT64_MAX, NULL, &c->before) ||
        !net_req_query_int(r, "limit", 1, AUDIT_PAGE_MAX, NULL, &c->limit)) {
        audit__free(c);
        return;
    }
    net_req_query(r, "actor", c->actor, sizeof(c->actor));
    net_req_query(r, "action", c->action, sizeof(c->action));
    net_req_query(r, "object", c->object, sizeof(c->object));
    net_req_query(r, "outcome", c->outcome, sizeof(c->outcome));
    if (store_worker_submit(c->a->worker, audit__list_job, audit__done, c) != CC_OK) {
        net_reply_error(r, 503, "busy", "try again in a moment");
        audit__free(c);
    }
}

static int audit__verify_job(store *st, void *ctx)
{
    audit_ctx *c = ctx;
    c->verify_rc = auth_audit_verify(st, c->a->keys, &c->report);
    if (c->verify_rc != CC_OK && c->verify_rc != CC_ERR_TAMPERED)
        return c->verify_rc;
    c->result =
        json_pack("{s:b,s:I,s:I,s:s,s:s}", "intact", c->verify_rc == CC_OK, "records",
                  (json_int_t)c->report.records, "first_bad", (json_int_t)c->report.first_bad,
                  "reason", c->report.reason, "head_hash", c->report.head_hash);
    return acct_audit(st, c->a, &c->who, "audit.verify", NULL, net_req_source_ip(c->r),
                      c->verify_rc == CC_OK ? "success" : "failure", NULL);
}

void acct_audit_verify(net_req *r);
void acct_audit_verify(net_req *r)
{
    audit_ctx *c = audit__new(r);
    if (c && store_worker_submit(c->a->worker, audit__verify_job, audit__done, c) != CC_OK) {
        net_reply_error(r, 503, "busy", "try again in a moment");
        audit__free(c);
    }
}
