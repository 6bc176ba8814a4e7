/* care/notify: sends the outbox. Every second (when idle) it claims what is due through the store
 * worker, then sends one notification at a time on the thread pool — e-mail through the SMTP
 * relay, SMS through the gateway, or a file in <data_dir>/outbox when neither is configured, so
 * nothing is silently dropped — and records each result. Logs name outbox rows, never patients. */
#include "care/care_api.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define NOTIFY_TICK_MS 1000

static void notify_next(care *c);

/* ---- the worker side ----------------------------------------------------------------------- */

static int notify_claim_job(store *st, void *ctx)
{
    care *c = ctx;
    return care_outbox_claim(st, cc_now_ms(), c->items, NOTIFY_BATCH, &c->n);
}

static void notify_claim_done(void *ctx, int rc)
{
    care *c = ctx;
    c->next = 0;
    if (rc != CC_OK || c->n == 0 || c->stopping) {
        c->n = 0;
        c->busy = false;
        return;
    }
    notify_next(c);
}

static void notify_tick(uv_timer_t *t)
{
    care *c = t->data;
    if (c->busy || !c->worker || c->stopping)
        return;
    c->busy = true;
    if (store_worker_submit(c->worker, notify_claim_job, notify_claim_done, c) != CC_OK)
        c->busy = false;
}

static int notify_record_job(store *st, void *ctx)
{
    care *c = ctx;
    const care_outbox_item *it = &c->items[c->next];
    if (c->skip)
        return care_outbox_skip(st, it->id, cc_now_ms());
    return care_outbox_done(st, it->id, it->attempts, c->rc == CC_OK ? NULL : c->err, c->retry_ms,
                            cc_now_ms());
}

static void notify_record_done(void *ctx, int rc)
{
    care *c = ctx;
    (void)rc; /* not recorded: the lease runs out and it is tried again */
    c->next++;
    notify_next(c);
}

static void notify_record(care *c)
{
    cc_buf_free(&c->payload);
    if (c->stopping || !c->worker ||
        store_worker_submit(c->worker, notify_record_job, notify_record_done, c) != CC_OK) {
        c->busy = false;
        c->n = 0;
    }
}

/* ---- the thread-pool side ------------------------------------------------------------------ */

static void notify_send_work(uv_work_t *w)
{
    care *c = w->data;
    const care_outbox_item *it = &c->items[c->next];
    bool email = strcmp(it->channel, "email") == 0;
    if (email && c->smtp_url)
        c->rc =
            care__mail_send(c->smtp_url, c->smtp_from, c->to, &c->payload, c->err, sizeof c->err);
    else if (!email && c->sms_url)
        c->rc = care__sms_send(c->sms_url, c->to, c->payload.data, c->err, sizeof c->err);
    else if ((c->rc = cc_file_write_atomic(c->file, c->payload.data, c->payload.len, 0600)) !=
             CC_OK)
        cc_say(c->err, sizeof c->err, "cannot write to the outbox folder");
}

static void notify_send_done(uv_work_t *w, int status)
{
    care *c = w->data;
    const care_outbox_item *it = &c->items[c->next];
    if (status != 0) {
        c->rc = CC_ERR_BUSY;
        cc_say(c->err, sizeof c->err, "not sent: shutting down");
    }
    if (c->rc == CC_OK)
        cc_logf(CC_LOG_INFO, "patient notification sent", "{s:s,s:s,s:s}", "outbox_id", it->id,
                "kind", it->kind, "channel", it->channel);
    else
        cc_logf(CC_LOG_WARN, "patient notification not sent, will retry", "{s:s,s:s,s:i}",
                "outbox_id", it->id, "error", c->err, "attempt", it->attempts + 1);
    notify_record(c);
}

/* ---- one notification ---------------------------------------------------------------------- */

static int notify_prepare(care *c, const care_outbox_item *it)
{
    char url[512] = "";
    bool cancel = strcmp(it->kind, "cancel") == 0;
    if (!cancel) {
        char token[AUTH_LINK_TOKEN_LEN + 1];
        if (!it->link_id[0] || !care_status_active(it->status) ||
            auth_link_token(c->keys, it->link_id, token) != CC_OK) {
            c->skip = true; /* cancelled since it was queued: the cancellation says so */
            return CC_OK;
        }
        snprintf(url, sizeof url, "%s/visit/%s", c->public_url, token);
    }
    cc_buf subject = {0}, body = {0};
    int rc = care__notice_render(it, &c->notice, url, &subject, &body);
    bool email = strcmp(it->channel, "email") == 0;
    snprintf(c->to, sizeof c->to, "%s", email ? it->email : it->mobile);
    if (rc == CC_OK && !c->to[0]) {
        c->skip = true; /* the address was removed since */
    } else if (rc == CC_OK && email) {
        char mid[CC_ID_LEN + 64];
        snprintf(mid, sizeof mid, "%s@carecomm", it->id);
        rc = care__mail_compose(c->smtp_from, c->to, subject.data, body.data, mid, cc_now_ms(),
                                &c->payload);
    } else if (rc == CC_OK) {
        rc = cc_buf_appendf(&c->payload, "%s\n%s%s", subject.data, url, url[0] ? "\n" : "");
    }
    snprintf(c->file, sizeof c->file, "%s/%s-%s.%s", c->outbox_dir, it->id, it->kind,
             email ? "eml" : "sms.txt");
    cc_buf_free(&subject);
    cc_buf_free(&body);
    return rc;
}

static void notify_next(care *c)
{
    while (c->next < c->n && !c->stopping) {
        const care_outbox_item *it = &c->items[c->next];
        c->skip = false;
        c->rc = CC_OK;
        c->err[0] = '\0';
        cc_buf_free(&c->payload);
        if (notify_prepare(c, it) != CC_OK) {
            c->rc = CC_ERR_NOMEM;
            cc_say(c->err, sizeof c->err, "could not prepare the message");
            notify_record(c);
            return;
        }
        if (c->skip) {
            notify_record(c);
            return;
        }
        c->work.data = c;
        if (uv_queue_work(c->loop, &c->work, notify_send_work, notify_send_done) == 0)
            return;
        c->rc = CC_ERR_IO;
        cc_say(c->err, sizeof c->err, "thread pool refused the work");
        notify_record(c);
        return;
    }
    c->busy = false;
    if (c->n == NOTIFY_BATCH && !c->stopping)
        notify_tick(&c->timer); /* more may be due */
    c->n = 0;
}

/* ---- the module's runtime ------------------------------------------------------------------ */

const cc_cfg_key care_config_keys[] = {
    {"smtp_url", CC_CFG_STRING, "", 0, 0, false,
     "SMTP relay for patient e-mail (smtp://host:port, smtps://...); empty = files in "
     "<data_dir>/outbox"},
    {"smtp_from", CC_CFG_STRING, "carecomm@localhost", 0, 0, false,
     "Sender address of patient e-mail"},
    {"sms_gateway_url", CC_CFG_STRING, "", 0, 0, false,
     "HTTP(S) gateway that sends SMS (POST {\"to\",\"text\"} as JSON); empty = files in the "
     "outbox"},
    {"outbox_retry_seconds", CC_CFG_INT, "30", 1, 3600, false,
     "Delay before a failed patient notification is tried again (doubling up to an hour)"},
    {"waiting_room_opens_minutes", CC_CFG_INT, "15", 0, 1440, false,
     "The patient's waiting room opens this long before the appointment"},
};
const size_t care_config_keys_count = sizeof(care_config_keys) / sizeof(care_config_keys[0]);

static char *care_opt(const cc_config *cfg, const char *key)
{
    const char *v = cc_config_str(cfg, key);
    return v && *v ? cc_strdup(v) : NULL;
}

/* "care:<practitioner id>": that practitioner, and every other role with patient data (nurses and
 * secretaries see all the agendas; other practitioners do not see theirs). */
static bool care__scope(void *ud, const char *user_id, const char *scope)
{
    auth_role role;
    if (!account_user_role(ud, user_id, &role))
        return false;
    return role != ROLE_PRACTITIONER || strcmp(scope + 5, user_id) == 0;
}

int care_create(uv_loop_t *loop, const cc_config *cfg, const auth_keys *keys, net_server *srv,
                account *acct, care **out)
{
    *out = NULL;
    care *c = cc_calloc(1, sizeof *c);
    if (!c)
        return CC_ERR_NOMEM;
    c->loop = loop;
    c->keys = keys;
    c->smtp_url = care_opt(cfg, "smtp_url");
    c->smtp_from = care_opt(cfg, "smtp_from");
    c->sms_url = care_opt(cfg, "sms_gateway_url");
    c->public_url = cc_strdup(net_server_public_url(srv));
    cc_buf od = {0};
    cc_buf_appendf(&od, "%s/outbox", cc_config_str(cfg, "data_dir"));
    c->outbox_dir = od.data;
    const char *lang = cc_config_str(cfg, "default_language");
    snprintf(c->notice.lang, sizeof c->notice.lang, "%s", lang && *lang ? lang : "fr");
    snprintf(c->notice.site, sizeof c->notice.site, "%s", cc_config_str(cfg, "site_name"));
    c->notice.before_minutes = (int)cc_config_int(cfg, "waiting_room_opens_minutes");
    c->retry_ms = cc_config_int(cfg, "outbox_retry_seconds") * 1000;
    c->waiting_room_ms = cc_config_int(cfg, "waiting_room_opens_minutes") * 60000;
    c->guesses = cc_guesses_new(CARE_GUESS_LIMIT, CARE_GUESS_WINDOW_MS);
    c->in_call = cc_map_new();
    c->srv = srv;
    int rc = CC_ERR_NOMEM;
    if (!c->smtp_from || !c->public_url || !c->outbox_dir || !c->guesses || !c->in_call ||
        (rc = care__call_register(c, srv)) != CC_OK ||
        (rc = account_add_scope(acct, "care:", PERM_PATIENT_READ, care__scope, acct)) != CC_OK ||
        (rc = cc_mkdir_p(c->outbox_dir)) != CC_OK ||
        (rc = net_server_add_routes(srv, care_routes, care_routes_count, c)) != CC_OK ||
        (rc = net_server_add_routes(srv, care_visit_routes, care_visit_routes_count, c)) != CC_OK) {
        care_free(c);
        return rc;
    }
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    *out = c;
    return CC_OK;
}

void care_set_worker(care *c, store_worker *w)
{
    c->worker = w;
    uv_timer_start(&c->timer, notify_tick, NOTIFY_TICK_MS, NOTIFY_TICK_MS);
}

const char *care_public_url(const care *c)
{
    return c->public_url;
}

void care_stop(care *c)
{
    if (!c || c->stopping)
        return;
    c->stopping = true;
    uv_close((uv_handle_t *)&c->timer, NULL);
}

void care_free(care *c)
{
    if (!c)
        return;
    cc_buf_free(&c->payload);
    cc_guesses_free(c->guesses);
    if (c->in_call)
        cc_map_free(c->in_call, cc_free_ptr);
    cc_free(&c->smtp_url);
    cc_free(&c->smtp_from);
    cc_free(&c->sms_url);
    cc_free(&c->public_url);
    cc_free(&c->outbox_dir);
    cc_free_ptr(c);
}
