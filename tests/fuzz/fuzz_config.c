/* Fuzz target for the configuration parser: parse arbitrary text against the core keys and a
 * few test keys of each type, then dump and document the result. */
#include "core/core.h"

#include <stdlib.h>

static const cc_cfg_key fuzz_keys[] = {
    {"port", CC_CFG_INT, "8443", 1, 65535, false, "a bounded integer"},
    {"offset", CC_CFG_INT, NULL, 0, 0, false, "an unbounded integer"},
    {"tls", CC_CFG_BOOL, "true", 0, 0, false, "a boolean"},
    {"name", CC_CFG_STRING, NULL, 0, 0, false, "a string"},
    {"secret_key", CC_CFG_STRING, "s3cret", 0, 0, true, "a secret"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t start = cc_mem_live_bytes();
    char why[256];
    cc_config *cfg = cc_config_new();
    if (!cfg)
        return 0;
    if (cc_config_register(cfg, core_config_keys, core_config_keys_count) != CC_OK ||
        cc_config_register(cfg, fuzz_keys, sizeof fuzz_keys / sizeof fuzz_keys[0]) != CC_OK)
        abort();
    /* Errors are expected; what matters is memory safety and a terminated message. */
    why[0] = '\0';
    if (cc_config_parse(cfg, (const char *)data, size, why, sizeof why) != CC_OK && why[0] == '\0')
        abort();
    json_t *dump = cc_config_dump(cfg);
    char *text = json_dumps(dump, JSON_COMPACT);
    free(text);
    json_decref(dump);
    char *doc = cc_config_doc(cfg);
    cc_free(&doc);
    (void)cc_config_str(cfg, "name");
    (void)cc_config_int(cfg, "port");
    (void)cc_config_bool(cfg, "tls");
    cc_config_free(cfg);
    if (cc_mem_live_bytes() != start)
        abort(); /* leak through the counting allocator */
    return 0;
}
