/* Fuzz target for request bodies: the 64 KiB object parser followed by declarative validation
 * against a login-like field table. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static const cc_json_field login_fields[] = {
    {"username", CC_JSON_STRING, true, 1, 64}, {"password", CC_JSON_STRING, true, 1, 256},
    {"totp", CC_JSON_STRING, false, 0, 16},    {"remember", CC_JSON_BOOL, false, 0, 0},
    {"days", CC_JSON_INT, false, 1, 30},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    json_t *obj = cc_json_parse_object((const char *)data, size, 64 * 1024, &why);
    if (!obj) {
        if (!why)
            abort(); /* every refusal must carry a reason */
        return 0;
    }
    if (why || !json_is_object(obj))
        abort();
    char msg[256];
    msg[0] = '\0';
    int rc = cc_json_validate(obj, login_fields, sizeof login_fields / sizeof login_fields[0], msg,
                              sizeof msg);
    if (rc != CC_OK && (rc != CC_ERR_INVALID || msg[0] == '\0' || strlen(msg) >= sizeof msg))
        abort();
    if (rc == CC_OK) {
        /* What the validator promises, handlers rely on. */
        const json_t *u = json_object_get(obj, "username");
        if (!json_is_string(u) || json_string_length(u) < 1 || json_string_length(u) > 64)
            abort();
    }
    json_decref(obj);
    return 0;
}
