/* Internal header of the carecomm command-line tool. */
#ifndef CC_CLI_H
#define CC_CLI_H

#include "account/account.h"
#include "auth/auth.h"
#include "care/care.h"
#include "core/core.h"
#include "interop/interop.h"
#include "media/media.h"
#include "msg/msg.h"
#include "net/net.h"
#include "store/store.h"

typedef struct {
    cc_config *cfg;
    auth_keys keys;
    store *st;
} cli_ctx;

int cli_config_load(cli_ctx *c, const char *path);
/* Creates the data folder and keys if needed and opens the store. Prints its own errors. */
int cli_open(cli_ctx *c);
/* Runs fn in one transaction (rolled back on error). */
int cli_tx(cli_ctx *c, int (*fn)(cli_ctx *c, void *ud), void *ud);
/* Audit record with actor "cli" (details taken; may be NULL). Inside a transaction. */
int cli_audit(cli_ctx *c, const char *action, const char *object, json_t *details);
/* `carecomm user ...`: returns the process exit code. */
int cli_user_cmd(cli_ctx *c, int argc, char **argv);
/* `carecomm demo seed | demo code USER` (demo.c). */
int cli_demo_cmd(cli_ctx *c, int argc, char **argv);

#endif
