/* interop/fhir_api: /fhir/R4 — the CapabilityStatement and Appointment create, read, update,
 * search (cancel is an update to status cancelled). Staff with patient.read (a booking system
 * uses such an account's session). Answers are application/fhir+json; errors OperationOutcome.
 * Every read, search and change is audited. */
#include "account/account.h"
#include "interop/interop_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FHIR_TYPE "application/fhir+json; charset=utf-8"

typedef struct {
    interop_svc *s;
    net_req *r;
    care_booking booking;
    bool update;
    char id[CC_ID_LEN + 1];
    char user_id[CC_ID_LEN + 1], username[65], ip[64];
    auth_role role;
    care_search search;
    /* answer */
    int status;
    json_t *out;
    char location[200];
    size_t total;
} fhir_ctx;

static void fhir_reply(net_req *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (!text) {
        net_reply_error(r, 500, "internal", "out of memory");
    } else {
        net_reply_raw(r, status, FHIR_TYPE, text, strlen(text));
        free(text); /* jansson's allocator */
    }
    json_decref(body);
}

static void fhir_error_reply(net_req *r, int status, const char *code, const char *why,
                             const char *expr)
{
    fhir_reply(r, status, interop__fhir_outcome(code, why, expr));
}

static fhir_ctx *fhir_ctx_new(net_req *r)
{
    fhir_ctx *c = cc_calloc(1, sizeof *c);
    if (!c) {
        net_reply_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    c->s = net_req_ud(r);
    c->r = net_req_ref(r);
    const void *p = net_req_principal(r);
    snprintf(c->user_id, sizeof c->user_id, "%s", account_principal_user_id(p));
    snprintf(c->username, sizeof c->username, "%s", account_principal_username(p));
    snprintf(c->ip, sizeof c->ip, "%s", net_req_source_ip(r));
    c->role = account_principal_role(p);
    const char *id = net_req_param(r, "id");
    if (id)
        snprintf(c->id, sizeof c->id, "%s", id);
    return c;
}

static void fhir_ctx_free(fhir_ctx *c)
{
    json_decref(c->out);
    net_req_unref(c->r);
    cc_free_ptr(c);
}

static void fhir_done(void *ctx, int rc)
{
    fhir_ctx *c = ctx;
    if (rc != CC_OK && !c->status) {
        fhir_error_reply(c->r, 503, "transient", "the store is unavailable; try again", NULL);
    } else {
        if (c->location[0])
            net_reply_header(c->r, "Location", c->location);
        fhir_reply(c->r, c->status ? c->status : 200, c->out);
        c->out = NULL;
    }
    fhir_ctx_free(c);
}

static void fhir_submit(fhir_ctx *c, store_job_fn job)
{
    if (!c->s->worker || store_worker_submit(c->s->worker, job, fhir_done, c) != CC_OK) {
        fhir_error_reply(c->r, 503, "transient", "busy; try again", NULL);
        fhir_ctx_free(c);
    }
}

static int fhir_fail(fhir_ctx *c, int status, const char *code, const char *why, const char *expr)
{
    c->status = status;
    json_decref(c->out);
    c->out = interop__fhir_outcome(code, why, expr);
    return CC_OK; /* the answer is set; the audit record written so far is kept */
}

static int fhir_audit(store *st, fhir_ctx *c, const char *action, const char *object)
{
    auth_audit_entry e = {.actor_id = c->user_id,
                          .actor_name = c->username,
                          .action = action,
                          .object = object,
                          .source_ip = c->ip,
                          .outcome = "success"};
    return auth_audit_append(st, c->s->keys, &e, NULL);
}

/* The resource as carecomm now has it, with the patient's link when it works. */
static json_t *fhir_resource(store *st, interop_svc *s, const care_appointment *a)
{
    char link[AUTH_LINK_TOKEN_LEN + 400] = "", staff[300];
    care_link l;
    char token[AUTH_LINK_TOKEN_LEN + 1];
    if (a->teleconsult && care_link_of(st, a->id, &l) == CC_OK && !l.revoked &&
        auth_link_token(s->keys, l.link_id, token) == CC_OK)
        snprintf(link, sizeof link, "%s/visit/%s", s->public_url, token);
    snprintf(staff, sizeof staff, "%s/consultations/%s", s->public_url, a->id);
    return interop__fhir_appointment(a, link, staff);
}

/* ---- read ---------------------------------------------------------------------------------- */

static int fhir_read_job(store *st, void *ctx)
{
    fhir_ctx *c = ctx;
    care_appointment a;
    int rc = care_appointment_get(st, c->id, &a);
    if (rc == CC_ERR_NOT_FOUND)
        return fhir_fail(c, 404, "not-found", "no such Appointment", NULL);
    if (rc != CC_OK)
        return rc;
    char object[CC_ID_LEN + 16];
    snprintf(object, sizeof object, "appointment:%s", a.id);
    if ((rc = fhir_audit(st, c, "fhir.read", object)) != CC_OK)
        return rc;
    c->out = fhir_resource(st, c->s, &a);
    return c->out ? CC_OK : CC_ERR_NOMEM;
}

static void fhir_read(net_req *r)
{
    fhir_ctx *c = fhir_ctx_new(r);
    if (c)
        fhir_submit(c, fhir_read_job);
}

/* ---- create and update --------------------------------------------------------------------- */

static int fhir_row_id(void *ud, const store_row *r)
{
    care_booking *b = ud;
    if (b->nids == CARE_MAX_IDS)
        return 1;
    snprintf(b->ids[b->nids].system, CARE_ID_MAX, "%s", store_row_text(r, 0));
    snprintf(b->ids[b->nids].value, CARE_ID_MAX, "%s", store_row_text(r, 1));
    b->nids++;
    return 0;
}

static int fhir_write_job(store *st, void *ctx)
{
    fhir_ctx *c = ctx;
    care_booking *b = &c->booking;
    int rc;
    if (c->update) {
        /* The appointment's own identifiers first: they name it, whatever the client sent. */
        care_booking sent = *b;
        b->nids = 0;
        store_val p[] = {SV_TEXT(c->id)};
        if ((rc = store_query(st,
                              "SELECT system, value FROM care_appt_ids WHERE appointment_id = ? "
                              "ORDER BY system, value",
                              p, 1, fhir_row_id, b)) != CC_OK)
            return rc;
        if (b->nids == 0)
            return fhir_fail(c, 404, "not-found", "no such Appointment", NULL);
        for (size_t i = 0; i < sent.nids && b->nids < CARE_MAX_IDS; i++)
            b->ids[b->nids++] = sent.ids[i];
    } else if (b->nids == 0) {
        /* No identifier of the booking system's: one of carecomm's own, so that a client that
         * did not keep the id can still search for it. */
        char id[CC_ID_LEN + 1];
        cc_id_new(id);
        snprintf(b->ids[0].system, CARE_ID_MAX, "urn:carecomm:fhir");
        snprintf(b->ids[0].value, CARE_ID_MAX, "%s", id);
        b->nids = 1;
    }
    char actor[80];
    snprintf(actor, sizeof actor, "fhir:%s", c->username);
    care_result res;
    if ((rc = store_savepoint(st, "fhir")) != CC_OK)
        return rc;
    rc = care_apply_booking(st, c->s->keys, b, &c->s->policy, actor, cc_now_ms(), &res);
    if (rc == CC_ERR_INVALID) {
        static const char *const where[] = {"Appointment", "Appointment.identifier",
                                            "Appointment.participant.actor", "Appointment.start",
                                            "Patient.telecom"};
        if ((rc = store_rollback_to(st, "fhir")) != CC_OK ||
            (rc = store_release(st, "fhir")) != CC_OK)
            return rc;
        return fhir_fail(c, 422, "business-rule", res.reason, where[res.field]);
    }
    if (rc != CC_OK || (rc = store_release(st, "fhir")) != CC_OK)
        return rc;
    if (res.outcome == CARE_IGNORED)
        return fhir_fail(c, 422, "business-rule",
                         "carecomm keeps teleconsultations only: give appointmentType TLC or "
                         "the virtualService extension",
                         "Appointment.appointmentType");
    if (c->update && strcmp(res.appointment_id, c->id) != 0)
        return fhir_fail(c, 409, "conflict", "these identifiers belong to another Appointment",
                         "Appointment.identifier");
    care_appointment a;
    if ((rc = care_appointment_get(st, res.appointment_id, &a)) != CC_OK)
        return rc;
    c->out = fhir_resource(st, c->s, &a);
    if (!c->out)
        return CC_ERR_NOMEM;
    if (res.outcome == CARE_CREATED) {
        c->status = 201;
        snprintf(c->location, sizeof c->location, "%s/fhir/R4/Appointment/%s/_history/%lld",
                 c->s->public_url, a.id, (long long)a.version);
    }
    return CC_OK;
}

static void fhir_write(net_req *r, bool update)
{
    fhir_ctx *c = fhir_ctx_new(r);
    if (!c)
        return;
    fhir_error e;
    c->update = update;
    /* Booking is the secretariat's (and its booking system's, through such an account):
     * practitioners and nurses read, they do not book or cancel. */
    if (c->role != ROLE_SECRETARY && c->role != ROLE_BOOKING_SYSTEM) {
        fhir_error_reply(r, 403, "forbidden", "only the secretariat books and changes appointments",
                         NULL);
        fhir_ctx_free(c);
        return;
    }
    json_t *body = net_req_body(r);
    if (interop__fhir_to_booking(body, c->s->tlc_codes, update, &c->booking, &e) != CC_OK) {
        fhir_error_reply(r, 400, "invalid", e.why, e.expression);
        fhir_ctx_free(c);
        return;
    }
    const char *rid = json_string_value(json_object_get(body, "id"));
    if (update && (!rid || strcmp(rid, c->id) != 0)) {
        fhir_error_reply(r, 400, "invalid", "the resource's id must be the one of the URL",
                         "Appointment.id");
        fhir_ctx_free(c);
        return;
    }
    fhir_submit(c, fhir_write_job);
}

static void fhir_create(net_req *r)
{
    fhir_write(r, false);
}
static void fhir_update(net_req *r)
{
    fhir_write(r, true);
}

/* ---- search -------------------------------------------------------------------------------- */

typedef struct {
    fhir_ctx *c;
    store *st;
    json_t *entries;
} search_acc;

static int fhir_collect(void *ud, const care_appointment *a)
{
    search_acc *acc = ud;
    char url[300];
    snprintf(url, sizeof url, "%s/fhir/R4/Appointment/%s", acc->c->s->public_url, a->id);
    json_t *res = fhir_resource(acc->st, acc->c->s, a);
    json_t *e = res ? json_pack("{s:s,s:o,s:{s:s}}", "fullUrl", url, "resource", res, "search",
                                "mode", "match")
                    : NULL;
    return e && json_array_append_new(acc->entries, e) == 0 ? CC_OK : CC_ERR_NOMEM;
}

static int fhir_search_job(store *st, void *ctx)
{
    fhir_ctx *c = ctx;
    search_acc acc = {.c = c, .st = st, .entries = json_array()};
    if (!acc.entries)
        return CC_ERR_NOMEM;
    int rc = care_appointment_search(st, &c->search, fhir_collect, &acc, &c->total);
    if (rc == CC_OK)
        rc = fhir_audit(st, c, "fhir.search", NULL);
    if (rc != CC_OK) {
        json_decref(acc.entries);
        return rc;
    }
    c->out = json_pack("{s:s,s:s,s:I,s:o}", "resourceType", "Bundle", "type", "searchset", "total",
                       (json_int_t)json_array_size(acc.entries), "entry", acc.entries);
    return c->out ? CC_OK : CC_ERR_NOMEM;
}

/* date=[prefix]YYYY-MM-DD or a full instant; eq/ge/gt/le/lt on the start. */
static bool fhir_date_param(const char *v, care_search *q)
{
    char prefix[3] = "eq";
    if (strlen(v) > 2 && v[0] >= 'a' && v[0] <= 'z' && v[1] >= 'a' && v[1] <= 'z') {
        memcpy(prefix, v, 2);
        v += 2;
    }
    int64_t from, to;
    if (strlen(v) == 10) {
        struct tm tm = {0};
        char *end = strptime(v, "%Y-%m-%d", &tm);
        if (!end || *end)
            return false;
        tm.tm_isdst = -1;
        from = (int64_t)mktime(&tm) * 1000; /* the hospital's day (TZ) */
        tm.tm_mday++;
        tm.tm_isdst = -1;
        to = (int64_t)mktime(&tm) * 1000;
    } else if (interop__fhir_parse_instant(v, &from) == CC_OK) {
        to = from + 1000;
    } else {
        return false;
    }
    if (strcmp(prefix, "eq") == 0) {
        q->start_from = from;
        q->start_before = to;
    } else if (strcmp(prefix, "ge") == 0) {
        q->start_from = from;
    } else if (strcmp(prefix, "gt") == 0) {
        q->start_from = to;
    } else if (strcmp(prefix, "lt") == 0) {
        q->start_before = from;
    } else if (strcmp(prefix, "le") == 0) {
        q->start_before = to;
    } else {
        return false;
    }
    return true;
}

static void fhir_search(net_req *r)
{
    fhir_ctx *c = fhir_ctx_new(r);
    if (!c)
        return;
    care_search *q = &c->search;
    char v[CARE_ID_MAX * 2];
    const char *bad = NULL;
    if (net_req_query(r, "identifier", v, sizeof v)) {
        char *bar = strchr(v, '|');
        const char *value = bar ? bar + 1 : v;
        if (bar)
            *bar = '\0';
        if (strlen(value) >= sizeof q->identifier || (bar && strlen(v) >= sizeof q->identifier))
            bad = "identifier";
        else {
            memcpy(q->identifier, value, strlen(value) + 1);
            if (bar)
                interop__fhir_system_in(v, q->identifier_system, sizeof q->identifier_system);
        }
    }
    if (net_req_query(r, "practitioner", v, sizeof v)) {
        const char *id = strncmp(v, "Practitioner/", 13) == 0 ? v + 13 : v;
        if (strlen(id) >= sizeof q->practitioner)
            bad = "practitioner";
        else
            memcpy(q->practitioner, id, strlen(id) + 1);
    }
    if (net_req_query(r, "patient", v, sizeof v) ||
        net_req_query(r, "patient:identifier", v, sizeof v)) {
        char *bar = strchr(v, '|');
        const char *value = bar ? bar + 1 : v;
        if (strlen(value) >= CARE_ID_MAX)
            bad = "patient";
        else
            care_search_patient(q, value);
    }
    for (int i = 0; i < 2 && !bad && net_req_query_nth(r, "date", i, v, sizeof v); i++)
        if (!fhir_date_param(v, q))
            bad = "date";
    if (net_req_query(r, "status", v, sizeof v)) {
        for (char *tok = strtok(v, ","); tok && q->nstatus < 8; tok = strtok(NULL, ","))
            snprintf(q->status[q->nstatus++], sizeof q->status[0], "%s", tok);
    }
    if (bad) {
        fhir_error_reply(r, 400, "invalid",
                         strcmp(bad, "date") == 0
                             ? "date must be [eq|ge|gt|le|lt]YYYY-MM-DD or an instant"
                             : "a search parameter is too long",
                         bad);
        fhir_ctx_free(c);
        return;
    }
    fhir_submit(c, fhir_search_job);
}

/* ---- metadata ------------------------------------------------------------------------------ */

static void fhir_metadata(net_req *r)
{
    interop_svc *s = net_req_ud(r);
    char now[32];
    interop__fhir_instant(cc_now_ms(), now);
    json_t *params = json_pack(
        "[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s}]", "name",
        "identifier", "type", "token", "documentation", "SCH-1/SCH-2 or any identifier, any system",
        "name", "practitioner", "type", "reference", "documentation", "Practitioner/<user id>",
        "name", "patient", "type", "token", "documentation",
        "an identifier of the (contained) patient: INS, SSIN, hospital id", "name", "date", "type",
        "date", "documentation", "the start; eq, ge, gt, le, lt; twice for a range", "name",
        "status", "type", "token", "documentation", "comma list of statuses");
    json_t *cs = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:s,s:[s],s:[{s:s,s:[{s:s,s:[{s:s},{s:s},{s:s},{s:s}],"
        "s:s,s:o}]}]}",
        "resourceType", "CapabilityStatement", "status", "active", "date", now, "kind", "instance",
        "fhirVersion", "4.0.1", "software", "name", "carecomm", "version", "1",
        "implementation_url", s->public_url, "format", "json", "rest", "mode", "server", "resource",
        "type", "Appointment", "interaction", "code", "read", "code", "create", "code", "update",
        "code", "search-type", "versioning", "versioned", "searchParam", params);
    if (cs) {
        /* "implementation" is an object: built apart (json_pack cannot nest that key above). */
        json_object_del(cs, "implementation_url");
        json_object_set_new(cs, "implementation",
                            json_pack("{s:s,s:s}", "description", "carecomm FHIR R4 endpoint",
                                      "url", s->public_url));
    }
    fhir_reply(r, 200, cs);
}

const net_route interop_fhir_routes[] = {
    {"GET", "/fhir/R4/metadata", 0, NET_ROUTE_PUBLIC, NULL, 0, fhir_metadata},
    {"GET", "/fhir/R4/Appointment", PERM_BOOKINGS, 0, NULL, 0, fhir_search},
    {"POST", "/fhir/R4/Appointment", PERM_BOOKINGS, NET_ROUTE_FREE_BODY, NULL, 0, fhir_create},
    {"GET", "/fhir/R4/Appointment/:id", PERM_BOOKINGS, 0, NULL, 0, fhir_read},
    {"PUT", "/fhir/R4/Appointment/:id", PERM_BOOKINGS, NET_ROUTE_FREE_BODY, NULL, 0, fhir_update},
};
const size_t interop_fhir_routes_count =
    sizeof(interop_fhir_routes) / sizeof(interop_fhir_routes[0]);
