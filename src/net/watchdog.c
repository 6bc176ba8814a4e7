/* Loop watchdog: measures how long each loop iteration spends outside the poll (handling events)
 * and logs and counts iterations that took longer than a threshold. A stuck loop stalls every
 * client at once, so it must be visible (HAProxy's wdt.c does the same for its threads). */
#include "net/net_internal.h"

#define NET_STALL_MS 100

static uint64_t net__wd_now(void)
{
    return uv_hrtime() / 1000000u;
}

/* Runs right after the poll returned: the iteration's work starts. */
static void net__wd_check(uv_check_t *h)
{
    net_server *s = h->data;
    s->wd_started = net__wd_now();
}

/* Runs right before the next poll: the iteration's work is over. */
static void net__wd_prepare(uv_prepare_t *h)
{
    net_server *s = h->data;
    if (!s->wd_started)
        return;
    uint64_t took = net__wd_now() - s->wd_started;
    s->wd_started = 0;
    if (took >= NET_STALL_MS) {
        s->loop_stalls++;
        cc_logf(CC_LOG_WARN, "event loop stalled", "{s:I}", "ms", (json_int_t)took);
    }
}

void net__watchdog_start(net_server *s)
{
    uv_check_init(s->loop, &s->wd_check);
    uv_prepare_init(s->loop, &s->wd_prepare);
    s->wd_check.data = s->wd_prepare.data = s;
    uv_check_start(&s->wd_check, net__wd_check);
    uv_prepare_start(&s->wd_prepare, net__wd_prepare);
    /* Neither handle should keep the loop alive at shutdown. */
    uv_unref((uv_handle_t *)&s->wd_check);
    uv_unref((uv_handle_t *)&s->wd_prepare);
    s->wd_init = true;
}

void net__watchdog_stop(net_server *s)
{
    if (!s->wd_init)
        return;
    uv_close((uv_handle_t *)&s->wd_check, NULL);
    uv_close((uv_handle_t *)&s->wd_prepare, NULL);
    s->wd_init = false;
}
