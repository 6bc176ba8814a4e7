/* err: human text for the project's error codes. */
#include "core/core.h"

const char *cc_strerror(int err)
{
    switch ((cc_err)err) {
    case CC_OK:
        return "success";
    case CC_ERR_NOMEM:
        return "out of memory";
    case CC_ERR_INVALID:
        return "invalid input";
    case CC_ERR_NOT_FOUND:
        return "not found";
    case CC_ERR_EXISTS:
        return "already exists";
    case CC_ERR_IO:
        return "input/output error";
    case CC_ERR_STORE:
        return "database error";
    case CC_ERR_BUSY:
        return "temporarily unavailable";
    case CC_ERR_DENIED:
        return "not allowed";
    case CC_ERR_TOO_BIG:
        return "input too large";
    case CC_ERR_CONFIG:
        return "invalid configuration";
    case CC_ERR_CRYPTO:
        return "crypto failure";
    case CC_ERR_TAMPERED:
        return "integrity check failed";
    case CC_ERR_EXPIRED:
        return "expired";
    case CC_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown error";
}
