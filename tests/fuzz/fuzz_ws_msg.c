/* Fuzz target: messages a client sends on the event WebSocket (hello, ping, and modules'
 * messages such as typing). */
#include "net/net.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    net_ws_msg m;
    char why[160];
    if (net_ws_msg_parse((const char *)data, size, &m, why, sizeof(why)) == CC_OK) {
        /* A parsed message is always one of the two types with bounded fields. */
        if (m.type != NET_WS_MSG_HELLO && m.type != NET_WS_MSG_PING && m.type != NET_WS_MSG_OTHER)
            __builtin_trap();
        if (m.has_last_seq && m.last_seq < 0)
            __builtin_trap();
        if ((m.type == NET_WS_MSG_OTHER) != (m.obj != NULL) || strlen(m.other) > NET_WS_TYPE_MAX)
            __builtin_trap();
        net_ws_msg_clear(&m);
    }
    return 0;
}
