/* A small chained hash map with string keys, doubling when the load passes 1. Maps whose keys a
 * client chooses are keyed (SipHash under a per-process random key); the others use a fast
 * deterministic hash. */
#include "core/core.h"

#include <string.h>

typedef struct cc_map_entry {
    struct cc_map_entry *next;
    uint64_t hash;
    void *value;
    char key[];
} cc_map_entry;

struct cc_map {
    cc_map_entry **buckets;
    size_t nbuckets;
    size_t count;
    bool keyed; /* cc_map_new_keyed */
};

/* Eight bytes a step, each mixed by a multiply and a shift, then a final mix so that the low bits
 * (the bucket) depend on every byte. The keys are ids, token hashes, addresses and names of 20
 * to 64 bytes: FNV-1a's byte-a-step loop was a tenth of an authenticated GET /me. Deterministic,
 * like FNV: iteration order is reproducible from one run to the next. */
static uint64_t map__hash(const char *k, size_t n)
{
    const uint64_t mul = 0x9E3779B97F4A7C15ULL;
    uint64_t h = (uint64_t)n * mul, w;
    for (; n >= 8; k += 8, n -= 8) {
        memcpy(&w, k, 8);
        h = (h ^ w) * mul;
        h ^= h >> 29;
    }
    if (n) {
        w = 0;
        memcpy(&w, k, n);
        h = (h ^ w) * mul;
        h ^= h >> 29;
    }
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    return h ^ (h >> 32);
}

static uint64_t map__hash_of(const cc_map *m, const char *k, size_t n)
{
    return m->keyed ? cc_keyed_hash64(k, n) : map__hash(k, n);
}

cc_map *cc_map_new_keyed(void)
{
    cc_map *m = cc_map_new();
    if (m)
        m->keyed = true;
    return m;
}

cc_map *cc_map_new(void)
{
    cc_map *m = cc_calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->nbuckets = 64;
    m->buckets = cc_calloc(m->nbuckets, sizeof(*m->buckets));
    if (!m->buckets) {
        cc_free_ptr(m);
        return NULL;
    }
    return m;
}

void cc_map_free(cc_map *m, void (*free_value)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        cc_map_entry *e = m->buckets[i];
        while (e) {
            cc_map_entry *next = e->next;
            if (free_value)
                free_value(e->value);
            cc_free_ptr(e);
            e = next;
        }
    }
    cc_free_ptr(m->buckets);
    cc_free_ptr(m);
}

static void map__grow(cc_map *m)
{
    size_t n = m->nbuckets * 2;
    cc_map_entry **b = cc_calloc(n, sizeof(*b));
    if (!b)
        return; /* keep working with longer chains */
    for (size_t i = 0; i < m->nbuckets; i++) {
        cc_map_entry *e = m->buckets[i];
        while (e) {
            cc_map_entry *next = e->next;
            e->next = b[e->hash % n];
            b[e->hash % n] = e;
            e = next;
        }
    }
    cc_free_ptr(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

int cc_map_put(cc_map *m, const char *key, void *value, void **old)
{
    size_t kl = strlen(key);
    uint64_t h = map__hash_of(m, key, kl);
    if (old)
        *old = NULL;
    for (cc_map_entry *e = m->buckets[h % m->nbuckets]; e; e = e->next) {
        if (e->hash == h && strcmp(e->key, key) == 0) {
            if (old)
                *old = e->value;
            e->value = value;
            return CC_OK;
        }
    }
    cc_map_entry *e = cc_malloc(sizeof(*e) + kl + 1);
    if (!e)
        return CC_ERR_NOMEM;
    e->hash = h;
    e->value = value;
    memcpy(e->key, key, kl + 1);
    e->next = m->buckets[h % m->nbuckets];
    m->buckets[h % m->nbuckets] = e;
    if (++m->count > m->nbuckets)
        map__grow(m);
    return CC_OK;
}

void *cc_map_get(const cc_map *m, const char *key)
{
    uint64_t h = map__hash_of(m, key, strlen(key));
    for (cc_map_entry *e = m->buckets[h % m->nbuckets]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e->value;
    return NULL;
}

void *cc_map_remove(cc_map *m, const char *key)
{
    uint64_t h = map__hash_of(m, key, strlen(key));
    cc_map_entry **pp = &m->buckets[h % m->nbuckets];
    for (; *pp; pp = &(*pp)->next) {
        cc_map_entry *e = *pp;
        if (e->hash == h && strcmp(e->key, key) == 0) {
            void *v = e->value;
            *pp = e->next;
            cc_free_ptr(e);
            m->count--;
            return v;
        }
    }
    return NULL;
}

size_t cc_map_count(const cc_map *m)
{
    return m->count;
}

size_t cc_map_longest_chain(const cc_map *m)
{
    size_t longest = 0;
    for (size_t i = 0; i < m->nbuckets; i++) {
        size_t n = 0;
        for (const cc_map_entry *e = m->buckets[i]; e; e = e->next)
            n++;
        if (n > longest)
            longest = n;
    }
    return longest;
}

void cc_map_sweep(cc_map *m, bool (*fn)(void *ud, const char *key, void *value), void *ud)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        cc_map_entry **pp = &m->buckets[i];
        while (*pp) {
            cc_map_entry *e = *pp;
            if (fn(ud, e->key, e->value)) {
                *pp = e->next;
                cc_free_ptr(e);
                m->count--;
            } else {
                pp = &e->next;
            }
        }
    }
}
