/* The room of each conversation, as carecommd knows it: the Janus room id (random, derived on the
 * server: a client can neither choose nor guess one that serves it), the secret and pin only
 * carecommd knows, and where it stands in Janus. Rooms stay in memory until shutdown (one small
 * entry per conversation that had a meeting), so that a room recreated after a Janus restart or
 * after it emptied keeps its id. Pure: no Janus, no network. */
#include "media/meeting_internal.h"

#include <inttypes.h>
#include <string.h>

struct meeting_rooms {
    cc_map *by_conv; /* conversation id -> meeting_room */
    cc_map *by_id;   /* room id -> the same meeting_room (not owned) */
};

static void meeting__room_free(void *v)
{
    meeting_room *r = v;
    if (!r)
        return;
    cc_free(&r->secret);
    cc_free(&r->pin);
    cc_free(&r->waiting.v);
    cc_free(&r->rejoin.v);
    cc_free(&r->lobby.v);
    cc_free(&r->admitted.v);
    cc_free_ptr(r);
}

meeting_rooms *meeting_rooms_new(void)
{
    meeting_rooms *rs = cc_calloc(1, sizeof(*rs));
    if (rs && (!(rs->by_conv = cc_map_new()) || !(rs->by_id = cc_map_new()))) {
        meeting_rooms_free(rs);
        return NULL;
    }
    return rs;
}

void meeting_rooms_free(meeting_rooms *rs)
{
    if (!rs)
        return;
    cc_map_free(rs->by_id, NULL);
    cc_map_free(rs->by_conv, meeting__room_free);
    cc_free_ptr(rs);
}

meeting_room *meeting_rooms_get(meeting_rooms *rs, const char *conv, bool create)
{
    meeting_room *r = cc_map_get(rs->by_conv, conv);
    if (r || !create || strlen(conv) > CC_ID_LEN)
        return r;
    if (!(r = cc_calloc(1, sizeof(*r))))
        return NULL;
    snprintf(r->conv, sizeof(r->conv), "%s", conv);
    do { /* 63 bits, never 0, never one in use */
        uint64_t n = 0;
        cc_random_bytes(&n, sizeof(n));
        n &= INT64_MAX;
        snprintf(r->id, sizeof(r->id), "%" PRIu64, n ? n : 1);
    } while (cc_map_get(rs->by_id, r->id));
    r->secret = cc_random_token(24);
    r->pin = cc_random_token(16);
    if (!r->secret || !r->pin || cc_map_put(rs->by_conv, conv, r, NULL) != CC_OK) {
        meeting__room_free(r);
        return NULL;
    }
    if (cc_map_put(rs->by_id, r->id, r, NULL) != CC_OK) {
        cc_map_remove(rs->by_conv, conv);
        meeting__room_free(r);
        return NULL;
    }
    return r;
}

meeting_room *meeting_rooms_by_id(meeting_rooms *rs, const char *id)
{
    return cc_map_get(rs->by_id, id);
}

typedef struct {
    void (*fn)(void *ud, meeting_room *r);
    void *ud;
} meeting__each_ctx;

static bool meeting__each(void *ud, const char *key, void *value)
{
    (void)key;
    meeting__each_ctx *e = ud;
    e->fn(e->ud, value);
    return false; /* keep it */
}

void meeting_rooms_each(meeting_rooms *rs, void (*fn)(void *ud, meeting_room *r), void *ud)
{
    meeting__each_ctx e = {fn, ud};
    cc_map_sweep(rs->by_conv, meeting__each, &e);
}

size_t meeting_rooms_count(const meeting_rooms *rs)
{
    return cc_map_count(rs->by_conv);
}

int meeting_conn_list_add(meeting_conn_list *l, net_ws_conn conn)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == conn)
            return CC_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        net_ws_conn *v = cc_realloc(l->v, cap * sizeof(*v));
        if (!v)
            return CC_ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = conn;
    return CC_OK;
}

void meeting_conn_list_remove(meeting_conn_list *l, net_ws_conn conn)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i] == conn) {
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
            l->n--;
            return;
        }
    }
}

void meeting_conn_list_take(meeting_conn_list *l, meeting_conn_list *out)
{
    *out = *l;
    memset(l, 0, sizeof(*l));
}
