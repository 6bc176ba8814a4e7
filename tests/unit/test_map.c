/* cc_map, plain and keyed: every key found again, whatever its length (the hash reads eight bytes
 * at a time and then the tail), through growth, replacement, removal and sweeping; and keys
 * crafted to collide under the plain hash spread out in a keyed map. */
#include "core/core.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Keys of every length from 0 to 40 that differ only in their last byte, or only in their first:
 * a hash that dropped the tail or the head of a key would confuse them. */
static cc_map *new_map(void **state)
{
    return *state ? cc_map_new_keyed() : cc_map_new();
}

static void test_keys_of_every_length(void **state)
{
    cc_map *m = new_map(state);
    assert_non_null(m);
    static int values[41][2];
    char key[48];
    for (int len = 0; len <= 40; len++) {
        for (int variant = 0; variant < 2; variant++) {
            memset(key, 'k', (size_t)len);
            key[len] = '\0';
            if (len > 0)
                key[variant ? 0 : len - 1] = (char)('A' + variant);
            if (len == 0 && variant == 1)
                continue; /* only one empty key */
            assert_int_equal(cc_map_put(m, key, &values[len][variant], NULL), CC_OK);
        }
    }
    assert_int_equal(cc_map_count(m), 81);
    for (int len = 0; len <= 40; len++) {
        for (int variant = 0; variant < 2; variant++) {
            if (len == 0 && variant == 1)
                continue;
            memset(key, 'k', (size_t)len);
            key[len] = '\0';
            if (len > 0)
                key[variant ? 0 : len - 1] = (char)('A' + variant);
            assert_ptr_equal(cc_map_get(m, key), &values[len][variant]);
        }
    }
    assert_null(cc_map_get(m, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk")); /* 41 bytes */
    cc_map_free(m, NULL);
}

static bool remove_odd(void *ud, const char *key, void *value)
{
    (void)key;
    (*(int *)ud)++;
    return (uintptr_t)value % 2 == 1;
}

/* Many keys of the shapes the server uses (ids, addresses): growth keeps them all; replacing
 * hands back the old value; removal and sweeping drop exactly what they should. */
static void test_growth_replace_remove_sweep(void **state)
{
    cc_map *m = new_map(state);
    char key[64];
    for (uintptr_t i = 1; i <= 20000; i++) {
        snprintf(key, sizeof(key), "127.%u.%u.%u|01M82GXQ72KTKQ%06u", (unsigned)(i >> 16) & 255,
                 (unsigned)(i >> 8) & 255, (unsigned)i & 255, (unsigned)i);
        assert_int_equal(cc_map_put(m, key, (void *)i, NULL), CC_OK);
    }
    assert_int_equal(cc_map_count(m), 20000);
    void *old = NULL;
    snprintf(key, sizeof(key), "127.0.0.7|01M82GXQ72KTKQ%06u", 7u);
    assert_int_equal(cc_map_put(m, key, (void *)(uintptr_t)70001, &old), CC_OK);
    assert_ptr_equal(old, (void *)(uintptr_t)7);
    assert_int_equal(cc_map_count(m), 20000);
    assert_ptr_equal(cc_map_remove(m, key), (void *)(uintptr_t)70001);
    assert_null(cc_map_get(m, key));
    assert_int_equal(cc_map_count(m), 19999);

    int visited = 0;
    cc_map_sweep(m, remove_odd, &visited);
    assert_int_equal(visited, 19999);
    assert_int_equal(cc_map_count(m), 10000);
    for (uintptr_t i = 1; i <= 20000; i++) {
        snprintf(key, sizeof(key), "127.%u.%u.%u|01M82GXQ72KTKQ%06u", (unsigned)(i >> 16) & 255,
                 (unsigned)(i >> 8) & 255, (unsigned)i & 255, (unsigned)i);
        void *v = cc_map_get(m, key);
        if (i % 2 == 1)
            assert_null(v);
        else
            assert_ptr_equal(v, (void *)i);
    }
    cc_map_free(m, NULL);
}

/* ---- keys an attacker picks --------------------------------------------------------------- */

#define MUL 0x9E3779B97F4A7C15ULL /* the plain hash's step (map.c), undone below */

static uint64_t step(uint64_t h, uint64_t w)
{
    h = (h ^ w) * MUL;
    return h ^ (h >> 29);
}

/* The w that takes state h to state target in one step. */
static uint64_t step_to(uint64_t h, uint64_t target)
{
    uint64_t inv = MUL; /* MUL's inverse modulo 2^64, by Newton's iteration */
    for (int i = 0; i < 6; i++)
        inv *= 2 - MUL * inv;
    uint64_t x = target ^ (target >> 29) ^ (target >> 58);
    return h ^ (x * inv);
}

/* 16-byte usernames that all reach the same state after their two eight-byte blocks: the plain
 * hash gives them one value, so one bucket. Anyone can compute them from the source. */
static int colliding_keys(char (*keys)[17], int n)
{
    const uint64_t target = 0x0123456789ABCDEFULL, h0 = 16 * MUL;
    int made = 0;
    for (unsigned i = 0; made < n && i < (unsigned)n * 2; i++) {
        char first[9];
        snprintf(first, sizeof first, "u%07u", i);
        uint64_t w1, w2;
        memcpy(&w1, first, 8);
        w2 = step_to(step(h0, w1), target);
        memcpy(keys[made], &w1, 8);
        memcpy(keys[made] + 8, &w2, 8);
        keys[made][16] = '\0';
        if (strlen(keys[made]) == 16) /* no NUL inside the second block */
            made++;
    }
    return made;
}

static void test_chosen_collisions(void **state)
{
    (void)state;
    enum { N = 2000 };
    static char keys[N][17];
    assert_int_equal(colliding_keys(keys, N), N);
    cc_map *plain = cc_map_new(), *keyed = cc_map_new_keyed();
    for (int i = 0; i < N; i++) {
        assert_int_equal(cc_map_put(plain, keys[i], keys[i], NULL), CC_OK);
        assert_int_equal(cc_map_put(keyed, keys[i], keys[i], NULL), CC_OK);
    }
    /* The attack is real: every lookup in the plain map walks all of them... */
    assert_int_equal(cc_map_longest_chain(plain), N);
    /* ...and the keyed map (at least 2048 buckets) does not care. */
    assert_true(cc_map_longest_chain(keyed) < 16);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(cc_map_get(keyed, keys[i]), keys[i]);
    cc_map_free(plain, NULL);
    cc_map_free(keyed, NULL);
}

int main(void)
{
    static int keyed = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_of_every_length),
        cmocka_unit_test(test_growth_replace_remove_sweep),
        cmocka_unit_test_prestate(test_keys_of_every_length, &keyed),
        cmocka_unit_test_prestate(test_growth_replace_remove_sweep, &keyed),
        cmocka_unit_test(test_chosen_collisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
