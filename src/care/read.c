/* care/read: appointments as other modules read them (FHIR): one by id, or a search. */
#include "care/care_internal.h"

#include <stdio.h>
#include <string.h>

#define APPT_COLS                                                                                  \
    "a.id, a.status, a.start_ms, a.end_ms, a.practitioner_id, u.display_name, a.teleconsult, "     \
    "a.room, a.service, a.location, a.patient_family, a.patient_given, a.patient_birth, "          \
    "a.patient_email, a.patient_mobile, a.patient_ids, a.version, a.updated_at, a.consult_state"

#define APPT_FROM " FROM care_appointments a LEFT JOIN users u ON u.id = a.practitioner_id "

static void care_copy(char *dst, size_t n, const store_row *r, int col)
{
    snprintf(dst, n, "%s", store_row_is_null(r, col) ? "" : store_row_text(r, col));
}

static void care_row_to_appt(const store_row *r, care_appointment *a)
{
    memset(a, 0, sizeof *a);
    care_copy(a->id, sizeof a->id, r, 0);
    care_copy(a->status, sizeof a->status, r, 1);
    a->start_ms = store_row_int(r, 2);
    a->end_ms = store_row_int(r, 3);
    care_copy(a->practitioner_id, sizeof a->practitioner_id, r, 4);
    care_copy(a->practitioner_name, sizeof a->practitioner_name, r, 5);
    a->teleconsult = store_row_int(r, 6) != 0;
    care_copy(a->room, sizeof a->room, r, 7);
    care_copy(a->service, sizeof a->service, r, 8);
    care_copy(a->location, sizeof a->location, r, 9);
    care_copy(a->patient.family, sizeof a->patient.family, r, 10);
    care_copy(a->patient.given, sizeof a->patient.given, r, 11);
    care_copy(a->patient.birth, sizeof a->patient.birth, r, 12);
    care_copy(a->patient.email, sizeof a->patient.email, r, 13);
    care_copy(a->patient.mobile, sizeof a->patient.mobile, r, 14);
    json_t *ids = store_row_is_null(r, 15) ? NULL : json_loads(store_row_text(r, 15), 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (a->patient.nids == CARE_MAX_IDS)
            break;
        care_ident *d = &a->patient.ids[a->patient.nids++];
        const char *sys = json_string_value(json_object_get(v, "system"));
        const char *val = json_string_value(json_object_get(v, "value"));
        snprintf(d->system, sizeof d->system, "%s", sys ? sys : "");
        snprintf(d->value, sizeof d->value, "%s", val ? val : "");
    }
    json_decref(ids);
    a->version = store_row_int(r, 16);
    a->updated_at = store_row_int(r, 17);
    care_copy(a->state, sizeof a->state, r, 18);
}

typedef struct {
    store *st;
    care_appointment a;
    care_appt_fn fn;
    void *ud;
    int count;
} read_ctx;

static int care_row_ids(void *ud, const store_row *r)
{
    care_appointment *a = ud;
    if (a->nids == CARE_MAX_IDS)
        return 1;
    care_ident *d = &a->ids[a->nids++];
    care_copy(d->system, sizeof d->system, r, 0);
    care_copy(d->value, sizeof d->value, r, 1);
    return 0;
}

static int care_fill_ids(store *st, care_appointment *a)
{
    store_val p[] = {SV_TEXT(a->id)};
    return store_query(st,
                       "SELECT system, value FROM care_appt_ids WHERE appointment_id = ? "
                       "ORDER BY system, value",
                       p, 1, care_row_ids, a);
}

static int care_row_one(void *ud, const store_row *r)
{
    read_ctx *c = ud;
    care_row_to_appt(r, &c->a);
    c->count++;
    return 1;
}

int care_appointment_get(store *st, const char *id, care_appointment *out)
{
    read_ctx c = {.st = st};
    store_val p[] = {SV_TEXT(id)};
    int rc =
        store_query(st, "SELECT " APPT_COLS APPT_FROM "WHERE a.id = ?", p, 1, care_row_one, &c);
    if (rc != CC_OK)
        return rc;
    if (!c.count)
        return CC_ERR_NOT_FOUND;
    *out = c.a;
    return care_fill_ids(st, out);
}

/* Rows are collected first (ids), then handed over: a callback may not query during a query. */
typedef struct {
    char (*ids)[CC_ID_LEN + 1];
    size_t n, max;
} id_list;

static int care_row_id(void *ud, const store_row *r)
{
    id_list *l = ud;
    if (l->n == l->max)
        return 1;
    snprintf(l->ids[l->n++], CC_ID_LEN + 1, "%s", store_row_text(r, 0));
    return 0;
}

int care_appointment_search(store *st, const care_search *q, care_appt_fn fn, void *ud,
                            size_t *total)
{
    cc_buf sql = {0};
    store_val p[16];
    size_t np = 0;
    int rc = cc_buf_appendf(&sql, "SELECT a.id FROM care_appointments a WHERE 1 = 1");
    if (q->identifier[0]) {
        rc |= cc_buf_appendf(&sql,
                             " AND a.id IN (SELECT appointment_id FROM care_appt_ids "
                             "WHERE value = ?%s)",
                             q->identifier_system[0] ? " AND system = ?" : "");
        p[np++] = SV_TEXT(q->identifier);
        if (q->identifier_system[0])
            p[np++] = SV_TEXT(q->identifier_system);
    }
    if (q->practitioner[0]) {
        rc |= cc_buf_appendf(&sql, " AND a.practitioner_id = ?");
        p[np++] = SV_TEXT(q->practitioner);
    }
    if (q->patient_identifier[0]) {
        /* patient_ids is a JSON array of {"system","value"}: the value's JSON text, quoted. */
        rc |= cc_buf_appendf(&sql, " AND a.patient_ids LIKE ? ESCAPE '!'");
        p[np++] = SV_TEXT(q->patient_like);
    }
    if (q->start_from) {
        rc |= cc_buf_appendf(&sql, " AND a.start_ms >= ?");
        p[np++] = SV_INT(q->start_from);
    }
    if (q->start_before) {
        rc |= cc_buf_appendf(&sql, " AND a.start_ms < ?");
        p[np++] = SV_INT(q->start_before);
    }
    for (size_t i = 0; i < q->nstatus; i++) {
        rc |= cc_buf_appendf(&sql, "%s?", i == 0 ? " AND a.status IN (" : ", ");
        p[np++] = SV_TEXT(q->status[i]);
    }
    if (q->nstatus)
        rc |= cc_buf_appendf(&sql, ")");
    rc |= cc_buf_appendf(&sql, " ORDER BY a.start_ms, a.id LIMIT %d", CARE_SEARCH_MAX);
    if (rc) {
        cc_buf_free(&sql);
        return CC_ERR_NOMEM;
    }
    char(*ids)[CC_ID_LEN + 1] = cc_calloc(CARE_SEARCH_MAX, CC_ID_LEN + 1);
    id_list l = {.ids = ids, .max = CARE_SEARCH_MAX};
    rc = ids ? store_query(st, sql.data, p, np, care_row_id, &l) : CC_ERR_NOMEM;
    cc_buf_free(&sql);
    for (size_t i = 0; rc == CC_OK && i < l.n; i++) {
        care_appointment a;
        if ((rc = care_appointment_get(st, ids[i], &a)) == CC_OK)
            rc = fn(ud, &a);
    }
    if (total)
        *total = l.n;
    cc_free_ptr(ids);
    return rc;
}

void care_search_patient(care_search *q, const char *value)
{
    /* '"value":"<v>"' inside the JSON text, LIKE's wildcards escaped with '!'. */
    cc_buf b = {0};
    cc_buf_appendf(&b, "%%\"value\":\"");
    for (const char *c = value; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '!')
            cc_buf_append(&b, "!", 1);
        if (*c == '"' || *c == '\\')
            cc_buf_append(&b, "\\", 1);
        cc_buf_append(&b, c, 1);
    }
    cc_buf_appendf(&b, "\"%%");
    snprintf(q->patient_identifier, sizeof q->patient_identifier, "%s", value);
    snprintf(q->patient_like, sizeof q->patient_like, "%s", b.data ? b.data : "");
    cc_buf_free(&b);
}
