/* Loop watchdog: a stuck loop stalls every client at once, so it must be visible (HAProxy's
 * wdt.c does the same for its threads). A timer that should run every NET_WD_PERIOD_MS measures
 * how late it runs: whatever held the loop (a slow callback of lws, a timer, a store completion,
 * the whole process paused) shows as a gap between two runs. Timing each iteration from libuv's
 * check to its prepare handle instead missed the I/O callbacks, which run inside the poll, and
 * cost two clock reads per iteration on the request path. */
#include "net/net_internal.h"

#define NET_STALL_MS 100
#define NET_WD_PERIOD_MS 25

static uint64_t net__wd_now(void)
{
    return uv_hrtime() / 1000000u;
}

static void net__wd_tick(uv_timer_t *t)
{
    net_server *s = t->data;
    uint64_t now = net__wd_now();
    /* The gap is the period plus however long the loop was held past it. */
    uint64_t held =
        now - s->wd_last_ms > NET_WD_PERIOD_MS ? now - s->wd_last_ms - NET_WD_PERIOD_MS : 0;
    s->wd_last_ms = now;
    if (held >= NET_STALL_MS) {
        s->loop_stalls++;
        cc_logf(CC_LOG_WARN, "event loop stalled", "{s:I}", "ms", (json_int_t)held);
    }
}

void net__watchdog_start(net_server *s)
{
    uv_timer_init(s->loop, &s->wd_timer);
    s->wd_timer.data = s;
    s->wd_last_ms = net__wd_now();
    uv_timer_start(&s->wd_timer, net__wd_tick, NET_WD_PERIOD_MS, NET_WD_PERIOD_MS);
    /* It should not keep the loop alive at shutdown. */
    uv_unref((uv_handle_t *)&s->wd_timer);
    s->wd_init = true;
}

void net__watchdog_stop(net_server *s)
{
    if (!s->wd_init)
        return;
    uv_close((uv_handle_t *)&s->wd_timer, NULL);
    s->wd_init = false;
}
