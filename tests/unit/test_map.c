/* cc_map: every key found again, whatever its length (the hash reads eight bytes at a time and
 * then the tail), through growth, replacement, removal and sweeping. */
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
static void test_keys_of_every_length(void **state)
{
    (void)state;
    cc_map *m = cc_map_new();
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
    (void)state;
    cc_map *m = cc_map_new();
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_of_every_length),
        cmocka_unit_test(test_growth_replace_remove_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
