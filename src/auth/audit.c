/* auth/audit: the hash-chained audit log.
 *
 * Each record carries prev_hash (the hash of the record before it; 64 '0's for record 1) and
 * hash = keyed BLAKE2b-256 (server audit key) over a version tag, prev_hash, id, ts and every
 * field. Fields are encoded as an 8-byte big-endian length followed by the bytes, with NULL
 * written as the length 0xFFFFFFFFFFFFFFFF and no bytes, so no two different records encode the
 * same way (no field boundary or NULL/"" ambiguity). Ids are dense from 1, so a deleted record
 * leaves a gap that verification names; editing a record breaks its own hash; reordering breaks
 * both. The key lives outside the database (auth/keys.c), so someone holding only the database
 * cannot recompute the chain after an edit. Deleting the newest records is only detectable
 * against a head hash kept elsewhere, which is why verification reports it.
 *
 * details is stored as compact JSON with sorted keys and the hash covers that stored text, so
 * verification never depends on how a JSON library re-serialises it. */
#include "auth/auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Changing the tag or the field order is a new chain format: every old record would fail. */
#define AUDIT_TAG "carecomm.audit.v1"
#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_CHAIN "audit"
/* Keyset batches keep memory flat on PostgreSQL, whose client library buffers a whole result. */
#define VERIFY_BATCH 500

_Static_assert(sizeof AUDIT_GENESIS == CC_HASH_HEX_LEN + 1, "genesis hash length");

typedef struct {
    int64_t id;
    int64_t ts;
    const char *actor_id;
    const char *actor_name;
    const char *action;
    const char *object;
    const char *source_ip;
    const char *outcome;
    const char *details;
    const char *prev_hash;
} audit_fields;

static int enc_len(cc_buf *b, uint64_t n)
{
    uint8_t be[8];
    for (int i = 7; i >= 0; i--) {
        be[i] = (uint8_t)n;
        n >>= 8;
    }
    return cc_buf_append(b, be, sizeof be);
}

static int enc_str(cc_buf *b, const char *s)
{
    int rc;
    if (!s)
        return enc_len(b, UINT64_MAX);
    size_t n = strlen(s);
    rc = enc_len(b, n);
    if (rc == CC_OK && n > 0)
        rc = cc_buf_append(b, s, n);
    return rc;
}

static int enc_int(cc_buf *b, int64_t v)
{
    int rc = enc_len(b, 8);
    if (rc == CC_OK)
        rc = enc_len(b, (uint64_t)v);
    return rc;
}

/* scratch is reused between records by verify; its contents on return are unspecified. */
static int audit_hash(const auth_keys *keys, const audit_fields *f, cc_buf *scratch,
                      char out[CC_HASH_HEX_LEN + 1])
{
    int rc;
    scratch->len = 0;
    if ((rc = enc_str(scratch, AUDIT_TAG)) != CC_OK || (rc = enc_str(scratch, f->prev_hash)) ||
        (rc = enc_int(scratch, f->id)) || (rc = enc_int(scratch, f->ts)) ||
        (rc = enc_str(scratch, f->actor_id)) || (rc = enc_str(scratch, f->actor_name)) ||
        (rc = enc_str(scratch, f->action)) || (rc = enc_str(scratch, f->object)) ||
        (rc = enc_str(scratch, f->source_ip)) || (rc = enc_str(scratch, f->outcome)) ||
        (rc = enc_str(scratch, f->details)))
        return rc;
    cc_blake2b_hex(scratch->data, scratch->len, keys->audit_key, sizeof keys->audit_key, out);
    return CC_OK;
}

/* ---- append -------------------------------------------------------------------------------- */

typedef struct {
    bool found;
    bool bad;
    int64_t id;
    char hash[CC_HASH_HEX_LEN + 1];
} audit_head;

static int head_row(void *ud, const store_row *r)
{
    audit_head *h = ud;
    const char *hash = store_row_text(r, 1);
    h->found = true;
    h->id = store_row_int(r, 0);
    if (!hash || strlen(hash) != CC_HASH_HEX_LEN) {
        h->bad = true;
        return 1;
    }
    memcpy(h->hash, hash, sizeof h->hash);
    return 1;
}

/* The JSON text exactly as stored and hashed. Caller frees. */
static int details_text(const json_t *details, char **out)
{
    const size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY;
    size_t n, m;
    char *s;
    *out = NULL;
    if (!details)
        return CC_OK;
    /* json_dumpb into our own buffer rather than json_dumps, whose result must be freed with
     * whatever allocator jansson was configured with. */
    n = json_dumpb(details, NULL, 0, flags);
    if (n == 0)
        return CC_ERR_INVALID;
    s = cc_malloc(n + 1);
    if (!s)
        return CC_ERR_NOMEM;
    m = json_dumpb(details, s, n, flags);
    if (m != n) {
        cc_free(&s);
        return CC_ERR_INTERNAL;
    }
    s[n] = '\0';
    *out = s;
    return CC_OK;
}

int auth_audit_append(store *st, const auth_keys *keys, const auth_audit_entry *e, int64_t *id_out)
{
    audit_head head = {0};
    audit_fields f = {0};
    cc_buf scratch = {0};
    char *details = NULL;
    char hash[CC_HASH_HEX_LEN + 1];
    int rc;
    if (!st || !keys || !e || !e->action || !e->outcome) {
        rc = CC_ERR_INVALID;
        goto out;
    }
    rc = details_text(e->details, &details);
    if (rc != CC_OK)
        goto out;
    /* Two writers reading the same head would both write id N+1; the lock makes the
     * read-then-insert atomic with respect to other appenders until the caller commits. */
    rc = store_chain_lock(st, AUDIT_CHAIN);
    if (rc != CC_OK)
        goto out;
    rc = store_query(st, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", NULL, 0, head_row,
                     &head);
    if (rc != CC_OK)
        goto out;
    if (head.bad) {
        /* Chaining onto a damaged head would bury the damage under valid-looking records. */
        rc = CC_ERR_TAMPERED;
        goto out;
    }
    if (head.found && head.id == INT64_MAX) {
        rc = CC_ERR_TOO_BIG;
        goto out;
    }
    f.id = head.found ? head.id + 1 : 1;
    f.prev_hash = head.found ? head.hash : AUDIT_GENESIS;
    f.ts = cc_now_ms();
    f.actor_id = e->actor_id;
    f.actor_name = e->actor_name;
    f.action = e->action;
    f.object = e->object;
    f.source_ip = e->source_ip;
    f.outcome = e->outcome;
    f.details = details;
    rc = audit_hash(keys, &f, &scratch, hash);
    if (rc != CC_OK)
        goto out;
    {
        const store_val params[] = {
            SV_INT(f.id),       SV_INT(f.ts),         SV_TEXT(f.actor_id),  SV_TEXT(f.actor_name),
            SV_TEXT(f.action),  SV_TEXT(f.object),    SV_TEXT(f.source_ip), SV_TEXT(f.outcome),
            SV_TEXT(f.details), SV_TEXT(f.prev_hash), SV_TEXT(hash),
        };
        rc = store_exec(st,
                        "INSERT INTO audit (id, ts, actor_id, actor_name, action, object, "
                        "source_ip, outcome, details, prev_hash, hash) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        params, sizeof params / sizeof params[0], NULL);
    }
    if (rc != CC_OK)
        goto out;
    if (id_out)
        *id_out = f.id;
out:
    cc_buf_free(&scratch);
    cc_free(&details);
    return rc;
}

/* ---- verify -------------------------------------------------------------------------------- */

typedef struct {
    const auth_keys *keys;
    auth_audit_report *rep;
    cc_buf scratch;
    int64_t expect_id;                   /* id the next record must have */
    char prev_hash[CC_HASH_HEX_LEN + 1]; /* hash of the last intact record */
    int64_t last_id;                     /* where the next batch starts */
    int rows;                            /* rows seen in the current batch */
    bool bad;
} verify_ctx;

static int verify_row(void *ud, const store_row *r)
{
    verify_ctx *v = ud;
    auth_audit_report *rep = v->rep;
    audit_fields f;
    const char *stored;
    char hash[CC_HASH_HEX_LEN + 1];
    int rc;

    f.id = store_row_int(r, 0);
    v->rows++;
    v->last_id = f.id;
    if (f.id != v->expect_id) {
        rep->first_bad = f.id;
        if (f.id < v->expect_id)
            snprintf(rep->reason, sizeof rep->reason, "record %" PRId64 " has an invalid id", f.id);
        else if (f.id - v->expect_id == 1)
            snprintf(rep->reason, sizeof rep->reason, "record %" PRId64 " missing", v->expect_id);
        else
            snprintf(rep->reason, sizeof rep->reason, "records %" PRId64 " to %" PRId64 " missing",
                     v->expect_id, f.id - 1);
        v->bad = true;
        return 1;
    }
    f.ts = store_row_int(r, 1);
    f.actor_id = store_row_text(r, 2);
    f.actor_name = store_row_text(r, 3);
    f.action = store_row_text(r, 4);
    f.object = store_row_text(r, 5);
    f.source_ip = store_row_text(r, 6);
    f.outcome = store_row_text(r, 7);
    f.details = store_row_text(r, 8);
    f.prev_hash = store_row_text(r, 9);
    stored = store_row_text(r, 10);
    rc = audit_hash(v->keys, &f, &v->scratch, hash);
    if (rc != CC_OK)
        return rc;
    /* Own hash first: an edited record is named as altered rather than blamed on its link. */
    if (!stored || strcmp(stored, hash) != 0) {
        rep->first_bad = f.id;
        /* A wrong key fails on the very first record; say so, as it is the likelier cause. */
        snprintf(rep->reason, sizeof rep->reason, "record %" PRId64 " was altered%s", f.id,
                 rep->records == 0 ? " (or the server key is not the one that wrote the chain)"
                                   : "");
        v->bad = true;
        return 1;
    }
    if (!f.prev_hash || strcmp(f.prev_hash, v->prev_hash) != 0) {
        rep->first_bad = f.id;
        if (f.id == 1)
            snprintf(rep->reason, sizeof rep->reason,
                     "record 1 does not start the chain (prev_hash is not the genesis value)");
        else
            snprintf(rep->reason, sizeof rep->reason,
                     "record %" PRId64 " does not follow record %" PRId64 " (prev_hash mismatch)",
                     f.id, f.id - 1);
        v->bad = true;
        return 1;
    }
    memcpy(v->prev_hash, hash, sizeof v->prev_hash);
    rep->records++;
    v->expect_id++;
    return 0;
}

/* report->records counts the intact records before the first bad one; head_hash is the hash of
 * the last intact record (the genesis value for an empty chain). */
int auth_audit_verify(store *st, const auth_keys *keys, auth_audit_report *report)
{
    verify_ctx v = {0};
    int rc;
    if (!st || !keys || !report)
        return CC_ERR_INVALID;
    memset(report, 0, sizeof *report);
    v.keys = keys;
    v.rep = report;
    v.expect_id = 1;
    /* Start below every possible id so that rows planted with id <= 0 are seen, not skipped. */
    v.last_id = INT64_MIN;
    memcpy(v.prev_hash, AUDIT_GENESIS, sizeof v.prev_hash);
    do {
        const store_val params[] = {SV_INT(v.last_id), SV_INT(VERIFY_BATCH)};
        v.rows = 0;
        rc = store_query(st,
                         "SELECT id, ts, actor_id, actor_name, action, object, source_ip, "
                         "outcome, details, prev_hash, hash FROM audit WHERE id > ? "
                         "ORDER BY id LIMIT ?",
                         params, 2, verify_row, &v);
        if (rc != CC_OK)
            goto out;
    } while (!v.bad && v.rows == VERIFY_BATCH);
    memcpy(report->head_hash, v.prev_hash, sizeof report->head_hash);
    rc = v.bad ? CC_ERR_TAMPERED : CC_OK;
out:
    cc_buf_free(&v.scratch);
    return rc;
}
