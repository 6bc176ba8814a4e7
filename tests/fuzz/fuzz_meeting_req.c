/* Fuzz target: meeting.* frames a client sends on the event WebSocket, through the same parse
 * as net (the JSON) and then the meeting layer's checks (media/meeting_proto.c). */
#include "media/meeting_internal.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    net_ws_msg m;
    char why[160];
    if (net_ws_msg_parse((const char *)data, size, &m, why, sizeof(why)) != CC_OK)
        return 0;
    if (m.type == NET_WS_MSG_OTHER && strncmp(m.other, "meeting.", 8) == 0) {
        meeting_req q;
        if (meeting_req_parse(m.obj, &q, why, sizeof(why)) == CC_OK) {
            /* what reaches Janus is rebuilt and bounded */
            if (!q.type || strlen(q.room) > MEETING_ROOM_ID_MAX ||
                (q.type == MEETING_JOIN) != (q.conversation[0] != '\0') ||
                ((q.type == MEETING_PUBLISH || q.type == MEETING_ANSWER) && !q.jsep) ||
                (q.type == MEETING_SUBSCRIBE && !q.subscribe))
                __builtin_trap();
        }
        meeting_req_clear(&q);
    }
    net_ws_msg_clear(&m);
    return 0;
}
