/* care/links: patient links as the store knows them, and practitioners' identifiers. */
#include "care/care_internal.h"

#include <stdio.h>
#include <string.h>

static int care_row_link(void *ud, const store_row *r)
{
    care_link *l = ud;
    snprintf(l->link_id, sizeof l->link_id, "%s", store_row_text(r, 0));
    snprintf(l->appointment_id, sizeof l->appointment_id, "%s", store_row_text(r, 1));
    snprintf(l->role, sizeof l->role, "%s", store_row_text(r, 2));
    l->not_before = store_row_int(r, 3);
    l->not_after = store_row_int(r, 4);
    l->revoked = !store_row_is_null(r, 5);
    return 1;
}

#define LINK_COLS "id, appointment_id, role, not_before, not_after, revoked_at"

static int care_link_by(store *st, const char *sql, const char *arg, care_link *out)
{
    memset(out, 0, sizeof *out);
    store_val p[] = {SV_TEXT(arg)};
    int rc = store_query(st, sql, p, 1, care_row_link, out);
    if (rc != CC_OK)
        return rc;
    return out->link_id[0] ? CC_OK : CC_ERR_NOT_FOUND;
}

int care_link_of(store *st, const char *appointment_id, care_link *out)
{
    /* The newest: after a cancellation and a new booking, the old link stays revoked. */
    return care_link_by(st,
                        "SELECT " LINK_COLS " FROM care_links WHERE appointment_id = ? "
                        "AND role = 'patient' ORDER BY created_at DESC, id DESC LIMIT 1",
                        appointment_id, out);
}

int care_link_check(store *st, const auth_keys *keys, const char *token, int64_t now_ms,
                    care_link *out, care_link_state *state)
{
    char id[AUTH_LINK_ID_LEN + 1];
    memset(out, 0, sizeof *out);
    *state = CARE_LINK_UNKNOWN;
    if (auth_link_verify(keys, token, id) != CC_OK)
        return CC_OK;
    int rc = care_link_by(st, "SELECT " LINK_COLS " FROM care_links WHERE id = ?", id, out);
    if (rc == CC_ERR_NOT_FOUND)
        return CC_OK;
    if (rc != CC_OK)
        return rc;
    if (out->revoked)
        *state = CARE_LINK_REVOKED;
    else if (now_ms < out->not_before)
        *state = CARE_LINK_TOO_EARLY;
    else if (now_ms > out->not_after)
        *state = CARE_LINK_EXPIRED;
    else
        *state = CARE_LINK_OK;
    return CC_OK;
}

int care_link_token(store *st, const auth_keys *keys, const char *link_id,
                    char token[AUTH_LINK_TOKEN_LEN + 1])
{
    care_link l;
    int rc = care_link_by(st, "SELECT " LINK_COLS " FROM care_links WHERE id = ?", link_id, &l);
    if (rc != CC_OK)
        return rc;
    if (l.revoked)
        return CC_ERR_NOT_FOUND;
    return auth_link_token(keys, l.link_id, token);
}

int care_link_add(store *st, const char *appointment_id, const char *role, const char *label,
                  int64_t now_ms, care_link *out)
{
    care_link p;
    size_t ln = label ? strlen(label) : 0;
    if (!role || (strcmp(role, "relative") != 0 && strcmp(role, "interpreter") != 0) || ln == 0 ||
        ln > 80)
        return CC_ERR_INVALID;
    int rc = care_link_of(st, appointment_id, &p);
    if (rc != CC_OK)
        return rc;
    if (p.revoked)
        return CC_ERR_NOT_FOUND;
    memset(out, 0, sizeof *out);
    auth_link_new_id(out->link_id);
    snprintf(out->appointment_id, sizeof out->appointment_id, "%s", appointment_id);
    snprintf(out->role, sizeof out->role, "%s", role);
    out->not_before = p.not_before;
    out->not_after = p.not_after;
    store_val v[] = {SV_TEXT(out->link_id), SV_TEXT(appointment_id), SV_TEXT(role), SV_TEXT(label),
                     SV_INT(p.not_before),  SV_INT(p.not_after),     SV_INT(now_ms)};
    return store_exec(st,
                      "INSERT INTO care_links(id, appointment_id, role, label, not_before, "
                      "not_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      v, 7, NULL);
}

/* ---- practitioners' identifiers ------------------------------------------------------------ */

int care_ident_add(store *st, const char *user_id, const char *ident)
{
    size_t n = ident ? strlen(ident) : 0;
    if (n == 0 || n >= CARE_ID_MAX)
        return CC_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ident[i] < 0x21 || ident[i] == 0x7f)
            return CC_ERR_INVALID;
    store_val p[] = {SV_TEXT(ident), SV_TEXT(user_id)};
    return store_exec(st, "INSERT INTO user_idents(ident, user_id) VALUES (?, ?)", p, 2, NULL);
}

int care_ident_user(store *st, const char *ident, char user_id[CC_ID_LEN + 1])
{
    char *id = NULL;
    store_val p[] = {SV_TEXT(ident)};
    int rc = store_query_text(st,
                              "SELECT i.user_id FROM user_idents i JOIN users u ON u.id = "
                              "i.user_id WHERE i.ident = ? AND u.disabled = 0",
                              p, 1, &id);
    if (rc != CC_OK)
        return rc;
    snprintf(user_id, CC_ID_LEN + 1, "%s", id ? id : "");
    cc_free(&id);
    return user_id[0] ? CC_OK : CC_ERR_NOT_FOUND;
}
