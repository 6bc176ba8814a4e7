/* Wrong credentials per key (a client address) within a window: how links are kept from being
 * guessed. Addresses whose window has passed are forgotten before the table grows large, and it
 * never holds more than CC_GUESSES_MAX_KEYS: beyond, new keys are not counted (memory bounded). */
#include "core/core.h"

#define CC_GUESSES_SWEEP_AT 10000
#define CC_GUESSES_MAX_KEYS 100000

typedef struct {
    int count;
    int64_t since;
} cc_guess;

struct cc_guesses {
    cc_map *by_key;
    int limit;
    int64_t window_ms;
};

cc_guesses *cc_guesses_new(int limit, int64_t window_ms)
{
    cc_guesses *g = cc_calloc(1, sizeof(*g));
    if (!g || !(g->by_key = cc_map_new_keyed())) {
        cc_free(&g);
        return NULL;
    }
    g->limit = limit;
    g->window_ms = window_ms;
    return g;
}

void cc_guesses_free(cc_guesses *g)
{
    if (!g)
        return;
    cc_map_free(g->by_key, cc_free_ptr);
    cc_free_ptr(g);
}

bool cc_guesses_blocked(const cc_guesses *g, const char *key, int64_t now_ms)
{
    const cc_guess *e = cc_map_get(g->by_key, key);
    return e && now_ms - e->since < g->window_ms && e->count >= g->limit;
}

typedef struct {
    int64_t now, window;
} cc_guesses_sweep;

static bool cc_guesses_stale(void *ud, const char *key, void *value)
{
    (void)key;
    const cc_guesses_sweep *s = ud;
    if (s->now - ((cc_guess *)value)->since < s->window)
        return false;
    cc_free_ptr(value); /* removed: the value is ours */
    return true;
}

int cc_guesses_failed(cc_guesses *g, const char *key, int64_t now_ms)
{
    cc_guess *e = cc_map_get(g->by_key, key);
    if (!e) {
        if (cc_map_count(g->by_key) >= CC_GUESSES_SWEEP_AT) {
            cc_guesses_sweep s = {now_ms, g->window_ms};
            cc_map_sweep(g->by_key, cc_guesses_stale, &s);
        }
        if (cc_map_count(g->by_key) >= CC_GUESSES_MAX_KEYS || !(e = cc_calloc(1, sizeof(*e))))
            return 0;
        if (cc_map_put(g->by_key, key, e, NULL) != CC_OK) {
            cc_free_ptr(e);
            return 0;
        }
    }
    if (now_ms - e->since >= g->window_ms) {
        e->since = now_ms;
        e->count = 0;
    }
    return ++e->count;
}
