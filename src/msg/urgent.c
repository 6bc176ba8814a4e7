/* Reminders of urgent messages, and the purge of retained content past its retention period.
 *
 * Each recipient of an urgent message has a row in msg_acks with the time of its next reminder.
 * The loop keeps the earliest such time in memory (loaded at start, lowered by every urgent
 * message.created event, whichever node wrote it); when it is due, one job sends what is due as
 * urgent.reminder events (scope user:<recipient>) and moves each row's next time one period on.
 * A row moves only if it still holds the time the job read, so two nodes never remind twice. */
#include "msg/msg_internal.h"

#include <string.h>

#define REMIND_BATCH 500

int msg__urgent_load(msg *m, store *st)
{
    int64_t v = 0;
    int rc = store_query_int(st, "SELECT MIN(next_remind_at) FROM msg_acks WHERE acked_at IS NULL",
                             NULL, 0, &v);
    if (rc == CC_OK && v > 0)
        m->next_remind = v;
    return rc == CC_ERR_NOT_FOUND ? CC_OK : rc;
}

typedef struct {
    char message_id[CC_ID_LEN + 1], user_id[CC_ID_LEN + 1], conv[CC_ID_LEN + 1];
    char author[CC_ID_LEN + 1];
    int64_t reminders, due, seq;
} due_row;

typedef struct {
    msg *m;
    int64_t now, period;
    due_row *rows;
    size_t n;
    int64_t next; /* earliest pending time after the job */
} remind_job;

static int urgent__row(void *ud, const store_row *r)
{
    remind_job *j = ud;
    due_row *d = &j->rows[j->n++];
    snprintf(d->message_id, sizeof(d->message_id), "%s", store_row_text(r, 0));
    snprintf(d->user_id, sizeof(d->user_id), "%s", store_row_text(r, 1));
    snprintf(d->conv, sizeof(d->conv), "%s", store_row_text(r, 2));
    d->reminders = store_row_int(r, 3);
    d->due = store_row_int(r, 4);
    d->seq = store_row_int(r, 5);
    snprintf(d->author, sizeof(d->author), "%s", store_row_text(r, 6));
    return j->n == REMIND_BATCH ? 1 : 0;
}

static int urgent__remind_one(store *st, remind_job *j, const due_row *d)
{
    int64_t changed = 0;
    store_val p[] = {SV_INT(j->now + j->period), SV_TEXT(d->message_id), SV_TEXT(d->user_id),
                     SV_INT(d->due)};
    int rc = store_exec(st,
                        "UPDATE msg_acks SET reminders = reminders + 1, next_remind_at = ? WHERE "
                        "message_id = ? AND user_id = ? AND next_remind_at = ? AND acked_at IS "
                        "NULL",
                        p, 4, &changed);
    if (rc != CC_OK || changed == 0)
        return rc; /* acknowledged meanwhile, or another node sent it */
    char scope[8 + CC_ID_LEN];
    snprintf(scope, sizeof(scope), "user:%s", d->user_id);
    /* No message text: the reminder names the message, the client reads it as a member. */
    json_t *ev =
        json_pack("{s:s,s:s,s:I,s:s,s:I,s:I}", "message_id", d->message_id, "conversation_id",
                  d->conv, "seq", (json_int_t)d->seq, "author_id", d->author, "reminder",
                  (json_int_t)(d->reminders + 1), "at", (json_int_t)j->now);
    rc = ev ? msg__event(st, "urgent.reminder", scope, ev) : CC_ERR_NOMEM;
    if (ev)
        json_decref(ev);
    return rc;
}

static int urgent__job(store *st, void *ctx)
{
    remind_job *j = ctx;
    store_val p[] = {SV_INT(j->now)};
    j->n = 0;
    int rc = store_query(st,
                         "SELECT a.message_id, a.user_id, a.conversation_id, a.reminders, "
                         "a.next_remind_at, m.seq, m.author_id FROM msg_acks a JOIN msg_messages "
                         "m ON m.id = a.message_id WHERE a.acked_at IS NULL AND a.next_remind_at "
                         "<= ? ORDER BY a.next_remind_at LIMIT 500",
                         p, 1, urgent__row, j);
    for (size_t i = 0; rc == CC_OK && i < j->n; i++)
        rc = urgent__remind_one(st, j, &j->rows[i]);
    int64_t next = 0;
    if (rc == CC_OK) {
        rc = store_query_int(st, "SELECT MIN(next_remind_at) FROM msg_acks WHERE acked_at IS NULL",
                             NULL, 0, &next);
        if (rc == CC_ERR_NOT_FOUND)
            rc = CC_OK;
    }
    j->next = next > 0 ? next : INT64_MAX;
    return rc;
}

static void urgent__done(void *ctx, int rc)
{
    remind_job *j = ctx;
    msg *m = j->m;
    m->remind_running = false;
    if (rc != CC_OK) {
        cc_logf(CC_LOG_WARN, "urgent reminders not sent", "{s:s}", "error", cc_strerror(rc));
        j->next = j->now + 5000; /* try again shortly */
    }
    /* Urgent messages that arrived while the job ran have lowered next_remind already. */
    if (j->next < m->next_remind)
        m->next_remind = j->next;
    cc_free(&j->rows);
    cc_free_ptr(j);
}

void msg__urgent_tick(msg *m)
{
    int64_t now = msg__now();
    if (m->remind_running || !m->worker || now < m->next_remind)
        return;
    remind_job *j = cc_calloc(1, sizeof(*j));
    if (j && !(j->rows = cc_calloc(REMIND_BATCH, sizeof(*j->rows))))
        cc_free(&j);
    if (!j)
        return;
    j->m = m;
    j->now = now;
    j->period = m->remind_ms;
    m->next_remind = INT64_MAX; /* the job's result, or newer urgent messages, set it again */
    m->remind_running = true;
    if (store_worker_submit(m->worker, urgent__job, urgent__done, j) != CC_OK) {
        m->remind_running = false;
        m->next_remind = now;
        cc_free(&j->rows);
        cc_free(&j);
    }
}

/* ---- retention ------------------------------------------------------------------------------ */

static int urgent__purge_job(store *st, void *ctx)
{
    int64_t *before = ctx;
    store_val p[] = {SV_INT(*before)};
    return store_exec(st, "DELETE FROM msg_retention WHERE at < ?", p, 1, NULL);
}

static void urgent__purge_done(void *ctx, int rc)
{
    if (rc != CC_OK)
        cc_logf(CC_LOG_WARN, "retention purge failed", "{s:s}", "error", cc_strerror(rc));
    cc_free_ptr(ctx);
}

void msg__retention_tick(msg *m)
{
    int64_t *before = cc_malloc(sizeof(*before));
    if (!before)
        return;
    *before = msg__now() - m->retention_ms;
    if (!m->worker ||
        store_worker_submit(m->worker, urgent__purge_job, urgent__purge_done, before) != CC_OK)
        cc_free(&before);
}
