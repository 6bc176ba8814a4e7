/* carecommd: start-up, wiring of the modules, signals and the graceful shutdown order
 * (stop accepting, finish requests, close WebSockets with 1001, drain the store, then lws and
 * libuv in the order notes/lws-libuv.md gives). */
#include "account/account.h"
#include "auth/auth.h"
#include "care/care.h"
#include "core/core.h"
#include "interop/interop.h"
#include "media/media.h"
#include "msg/msg.h"
#include "net/net.h"
#include "store/store.h"

#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    uv_loop_t loop;
    cc_config *cfg;
    auth_keys keys;
    net_server *srv;
    account *acct;
    msg *msg;
    media *media;
    interop_svc *interop;
    care *care;
    store_worker *worker;
    uv_signal_t sigterm, sigint;
    uv_timer_t trim;
    bool stopping;
} app;

/* TLS handshakes and bursts leave freed memory in malloc's arenas; give it back to the system so
 * thousands of idle WebSockets cost what they hold, not what their handshakes once needed. */
static void app_trim(uv_timer_t *t)
{
    (void)t;
    malloc_trim(0);
}

/* One event at a time through the modules and then the hub: each event's visibility is checked
 * against the state right after it (a member removed at seq N sees nothing after N). */
static void app_sink(void *ud, const store_event *evs, size_t n)
{
    app *a = ud;
    for (size_t i = 0; i < n; i++) {
        account_on_events(a->acct, &evs[i], 1);
        msg_on_events(a->msg, &evs[i], 1);
        care_on_events(a->care, &evs[i], 1); /* before media: the call set is up to date */
        media_on_events(a->media, &evs[i], 1);
        net_hub_publish(a->srv, &evs[i], 1);
    }
}

static bool app_ready(void *ud)
{
    app *a = ud;
    return a->worker && store_worker_healthy(a->worker);
}

static void app_drained(void *ud)
{
    app *a = ud;
    account_stop(a->acct); /* queues the last session activity */
    msg_stop(a->msg);
    media_stop(a->media);     /* SIGTERM to Janus and coturn; the loop waits for their exit */
    interop_stop(a->interop); /* no more HL7: what is in the worker is still applied */
    care_stop(a->care);
    store_worker_stop(a->worker); /* finishes every queued job, then stops */
    net_server_close(a->srv);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->trim, NULL);
    cc_log(CC_LOG_INFO, "stopped accepting; store flushed", NULL);
}

static void app_on_signal(uv_signal_t *h, int signum)
{
    app *a = h->data;
    if (a->stopping)
        return;
    a->stopping = true;
    cc_logf(CC_LOG_INFO, "shutting down", "{s:i}", "signal", signum);
    net_server_drain(a->srv, 10000, app_drained, a);
}

/* Configuration: defaults, then <data_dir>/carecomm.conf (or --config), then CARECOMM_* env. */
static int app_config(app *a, int argc, char **argv)
{
    char why[256] = "";
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else {
            fprintf(stderr, "usage: carecommd [--config FILE]\n");
            return CC_ERR_INVALID;
        }
    }
    a->cfg = cc_config_new();
    if (!a->cfg || cc_config_register(a->cfg, core_config_keys, core_config_keys_count) ||
        cc_config_register(a->cfg, store_config_keys, store_config_keys_count) ||
        cc_config_register(a->cfg, net_config_keys, net_config_keys_count) ||
        cc_config_register(a->cfg, account_config_keys, account_config_keys_count) ||
        cc_config_register(a->cfg, msg_config_keys, msg_config_keys_count) ||
        cc_config_register(a->cfg, media_config_keys, media_config_keys_count) ||
        cc_config_register(a->cfg, interop_config_keys, interop_config_keys_count) ||
        cc_config_register(a->cfg, care_config_keys, care_config_keys_count))
        return CC_ERR_INTERNAL;
    /* The data folder locates the default config file, so read it from the environment first. */
    if (cc_config_load_env(a->cfg, why, sizeof(why)) != CC_OK)
        goto fail;
    char *def = NULL;
    if (!path && !(def = cc_sprintf("%s/carecomm.conf", cc_config_str(a->cfg, "data_dir"))))
        return CC_ERR_NOMEM;
    int rc = cc_config_load_file(a->cfg, path ? path : def, why, sizeof(why));
    cc_free(&def);
    if (rc != CC_OK && !(rc == CC_ERR_NOT_FOUND && !path))
        goto fail;
    if (cc_config_load_env(a->cfg, why, sizeof(why)) != CC_OK)
        goto fail;
    cc_log_level lvl;
    if (cc_log_level_parse(cc_config_str(a->cfg, "log_level"), &lvl) == CC_OK)
        cc_log_set_level(lvl);
    return CC_OK;
fail:
    cc_logf(CC_LOG_ERROR, "invalid configuration", "{s:s}", "reason", why);
    return CC_ERR_CONFIG;
}

/* Meetings are per conversation: their members may join. */
static bool app_is_member(void *ud, const char *conversation_id, const char *user_id)
{
    return msg_is_member(ud, conversation_id, user_id);
}

/* A call nobody answered: a message from the caller in the conversation, in the hospital's
 * language, so that it is in the history, the unread counts and search like any message. */
typedef struct {
    char conv[CC_ID_LEN + 1], caller[CC_ID_LEN + 1];
    const char *text;
} app_missed;

static int app_missed_job(store *st, void *ctx)
{
    app_missed *m = ctx;
    return msg_seed_message(st, m->conv, m->caller, m->text, cc_now_ms());
}

static void app_missed_done(void *ctx, int rc)
{
    if (rc != CC_OK)
        cc_logf(CC_LOG_WARN, "missed call not written", "{s:s}", "error", cc_strerror(rc));
    cc_free_ptr(ctx);
}

static void app_missed_call(void *ud, const char *conv, const char *caller, const char *display)
{
    (void)display; /* the message is the caller's own: their name is already on it */
    app *a = ud;
    app_missed *m = cc_calloc(1, sizeof(*m));
    if (!m)
        return;
    snprintf(m->conv, sizeof(m->conv), "%s", conv);
    snprintf(m->caller, sizeof(m->caller), "%s", caller);
    m->text = strcmp(cc_config_str(a->cfg, "default_language"), "en") == 0 ? "📞 Missed call"
                                                                           : "📞 Appel manqué";
    if (!a->worker || store_worker_submit(a->worker, app_missed_job, app_missed_done, m) != CC_OK)
        app_missed_done(m, CC_ERR_BUSY);
}

/* A consultation's call: its practitioner and the holders of its links, while in call. */
static bool app_may_join_call(void *ud, const char *consultation_id, const char *user_id,
                              const void *guest, const char *ip, bool join, char *display, size_t n)
{
    return care_call_allowed(ud, consultation_id, user_id, guest, ip, join, display, n);
}

static bool app_guest_may_join(void *ud, const char *conversation_id, const void *principal,
                               char *display, size_t n, char *link, size_t ln)
{
    return msg_guest_allowed(ud, conversation_id, principal, display, n, link, ln);
}

static void app_hint_first_admin(account *acct, store *st)
{
    (void)acct;
    int64_t n = 0;
    if (store_query_int(st, "SELECT COUNT(*) FROM users", NULL, 0, &n) == CC_OK && n == 0)
        cc_log(CC_LOG_WARN,
               "no account yet: create the first administrator with "
               "`build/carecomm user create admin --role admin` (it reads the password on "
               "standard input), then log in at the address above and set up 2FA",
               NULL);
}

int main(int argc, char **argv)
{
    app a;
    char why[256] = "";
    int rc, exit_code = 1;
    store *st = NULL;
    int64_t head = 0;
    memset(&a, 0, sizeof(a));
    if (cc_crypto_init() != CC_OK || uv_loop_init(&a.loop) != 0)
        return 1;
    if (app_config(&a, argc, argv) != CC_OK)
        goto out;
    /* Local time is the hospital's (dates in patient messages); logs and APIs stay in UTC. Set
     * before any thread starts: setenv is not thread-safe. */
    setenv("TZ", cc_config_str(a.cfg, "timezone"), 1);
    tzset();
    const char *data_dir = cc_config_str(a.cfg, "data_dir");
    if (cc_mkdir_p(data_dir) != CC_OK) {
        cc_logf(CC_LOG_ERROR, "cannot create the data folder", "{s:s}", "path", data_dir);
        goto out;
    }
    if (auth_keys_load(data_dir, true, &a.keys, why, sizeof(why)) != CC_OK ||
        store_open_config(a.cfg, &st, why, sizeof(why)) != CC_OK ||
        store_event_head(st, &head) != CC_OK) {
        cc_logf(CC_LOG_ERROR, "start-up failed", "{s:s}", "reason", why[0] ? why : "store");
        goto out;
    }
    if (net_server_create(&a.loop, a.cfg, &a.srv, why, sizeof(why)) != CC_OK) {
        cc_logf(CC_LOG_ERROR, "start-up failed", "{s:s}", "reason", why);
        goto out;
    }
    if ((rc = account_create(&a.loop, a.cfg, &a.keys, st, a.srv, &a.acct)) != CC_OK) {
        cc_logf(CC_LOG_ERROR, "start-up failed", "{s:s,s:s}", "reason", "accounts", "error",
                cc_strerror(rc));
        goto out;
    }
    if ((rc = msg_create(&a.loop, a.cfg, &a.keys, st, a.srv, a.acct, &a.msg)) != CC_OK) {
        cc_logf(CC_LOG_ERROR, "start-up failed", "{s:s,s:s}", "reason", "messaging", "error",
                cc_strerror(rc));
        goto out;
    }
    if ((rc = media_create(&a.loop, a.cfg, a.srv, a.acct, &a.media, why, sizeof(why))) != CC_OK) {
        cc_logf(CC_LOG_ERROR, "start-up failed", "{s:s,s:s}", "reason", "media", "error", why);
        goto out;
    }
    media_set_member_check(a.media, app_is_member, a.msg);
    media_set_missed_call(a.media, app_missed_call, &a);
    media_set_guest_check(a.media, app_guest_may_join, a.msg);
    if ((rc = interop_start(&a.loop, a.cfg, &a.keys, a.srv, &a.interop, why, sizeof(why))) !=
        CC_OK) {
        cc_logf(CC_LOG_ERROR, "start-up failed", "{s:s,s:s}", "reason", "HL7", "error", why);
        goto out;
    }
    if ((rc = care_create(&a.loop, a.cfg, &a.keys, a.srv, a.acct, &a.care)) != CC_OK) {
        cc_logf(CC_LOG_ERROR, "start-up failed", "{s:s,s:s}", "reason", "care", "error",
                cc_strerror(rc));
        goto out;
    }
    if ((rc = care_load_calls(a.care, st)) != CC_OK) {
        cc_logf(CC_LOG_ERROR, "start-up failed", "{s:s,s:s}", "reason", "care", "error",
                cc_strerror(rc));
        goto out;
    }
    media_set_consult_check(a.media, app_may_join_call, a.care);
    app_hint_first_admin(a.acct, st);
    net_server_set_ready(a.srv, app_ready, &a);
    if ((rc = store_worker_start(&a.loop, st, head, 250, app_sink, &a, &a.worker)) != CC_OK) {
        cc_logf(CC_LOG_ERROR, "start-up failed", "{s:s}", "reason", "store worker");
        goto out;
    }
    st = NULL; /* owned by the worker */
    account_set_worker(a.acct, a.worker);
    msg_set_worker(a.msg, a.worker);
    interop_set_worker(a.interop, a.worker);
    care_set_worker(a.care, a.worker);
    net_hub_start(a.srv, head, a.worker);

    uv_signal_init(&a.loop, &a.sigterm);
    uv_signal_init(&a.loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    uv_signal_start(&a.sigterm, app_on_signal, SIGTERM);
    uv_signal_start(&a.sigint, app_on_signal, SIGINT);
    uv_timer_init(&a.loop, &a.trim);
    uv_timer_start(&a.trim, app_trim, 10000, 10000);

    char url[300];
    snprintf(url, sizeof(url), "%s://%s", cc_config_bool(a.cfg, "plain_http") ? "http" : "https",
             cc_config_str(a.cfg, "listen"));
    cc_logf(CC_LOG_INFO, "carecommd ready", "{s:s,s:i,s:s,s:I}", "url", url, "port",
            net_server_port(a.srv), "store", cc_config_str(a.cfg, "store_backend"), "event_head",
            (json_int_t)head);
    uv_run(&a.loop, UV_RUN_DEFAULT);
    exit_code = 0;
out:
    if (a.srv && !a.stopping) {
        /* start-up failed after the server existed: close it the same way */
        account_stop(a.acct);
        msg_stop(a.msg);
        media_stop(a.media);
        interop_stop(a.interop);
        care_stop(a.care);
        if (a.worker)
            store_worker_stop(a.worker);
        net_server_close(a.srv);
        uv_run(&a.loop, UV_RUN_DEFAULT);
    }
    net_server_free(a.srv);
    account_free(a.acct);
    msg_free(a.msg); /* after the server: its WebSockets' close notifications reach msg */
    media_free(a.media);
    interop_free(a.interop);
    care_free(a.care);
    store_worker_free(a.worker);
    store_close(st);
    cc_config_free(a.cfg);
    uv_run(&a.loop, UV_RUN_NOWAIT);
    if (uv_loop_close(&a.loop) != 0)
        cc_log(CC_LOG_WARN, "event loop closed with handles still open", NULL);
    sodium_memzero(&a.keys, sizeof(a.keys));
    return exit_code;
}
