/* Internal structures of the event WebSocket, shared by ws.c (connections: upgrade, messages,
 * writing) and ws_hub.c (frames, the ring, queues, publication, resume) and by nothing else. */
#ifndef CC_NET_WS_INTERNAL_H
#define CC_NET_WS_INTERNAL_H

#include "net/net_internal.h"

#define NET_WS_PAGE 500

typedef struct net_frame {
    int refs;
    int64_t seq; /* 0 for control messages */
    char *scope;
    size_t data_off; /* events: where the data starts in the text (net_hub_replace) */
    size_t len;
    unsigned char *buf; /* LWS_PRE + len */
} net_frame;

typedef enum { WS_AWAIT_HELLO = 0, WS_CATCHUP, WS_LIVE } net_ws_state;

/* Every idle event WebSocket holds one: the fields are ordered so that no padding is left. */
struct net_ws {
    net_ws *prev, *next;
    int refs;
    net_ws_state state;
    net_ws_conn id;
    net_server *srv;
    struct lws *wsi; /* NULL once closed */
    void *principal;
    void (*principal_free)(void *);
    int64_t cursor;
    net_frame *
        *q; /* ring buffer, grown on demand up to srv->ws_queue_max: idle sockets stay small */
    size_t qcap, qhead, qlen;
    cc_buf rx;
    int64_t rx_tat_us; /* the client's message budget (srv->ws_rx_rate), monotonic */
    char *guest_ip;
    char *close_reason; /* set when closing: idle sockets carry no room for it */
    int close_code;
    bool fetching;
    bool lagging; /* was LIVE, its queue overflowed: pulls from the ring, never from the store */
    bool closing;
    bool direct; /* HTTP/1.1: frames may be written outside WRITEABLE (net__ws_write_now) */
    bool guest;  /* on the guest path: principal is a module's (or NULL), never any event */
};

struct net_hub {
    net_frame **ring;
    size_t cap, start, count;
    int64_t ring_from; /* every event with seq > ring_from (up to head) is in the ring */
    int64_t head;
    store_worker *worker;
    net_ws *conns;
    size_t nconns;
    cc_map *by_id;       /* decimal id -> net_ws, while established (net_ws_send_to) */
    net_ws_conn next_id; /* the last id given */
    size_t nclosing;     /* of nconns, those with a close under way */
};

void net__frame_unref(net_frame *f);
/* A control frame of o (taken); NULL when out of memory. */
net_frame *net__frame_json(json_t *o);
void net__ws_unref(net_ws *ws);
/* Queues a frame (taking a reference); false when the queue is full. */
bool net__ws_enqueue(net_ws *ws, net_frame *f);
void net__ws_send_json(net_ws *ws, json_t *o); /* takes o; closes with 4008 when full */
void net__ws_start_close(net_ws *ws, int code, const char *reason);
/* {"type":"error",code,message} answering request (its "id", when it has one, is echoed). */
void net__ws_send_error(net_ws *ws, const json_t *request, const char *code, const char *message);
void net__ws_pump(net_ws *ws); /* moves a CATCHUP connection forward while its queue has room */
/* ws_guest.c: a guest connection's message, to the guest handlers only. */
void net__ws_on_guest_message(net_ws *ws, const net_ws_msg *m);
/* Counts a guest connection of ip (false: the address has too many open); and its end. */
bool net__ws_guest_admit(net_server *s, const char *ip);
void net__ws_guest_gone(net_server *s, const char *ip);
/* obj to every staff socket that said hello (guests: every bound guest socket) whose principal
 * matches; best effort (a full queue misses it). Returns how many it was queued to. */
size_t net__ws_send_if(net_server *s, bool guests, bool (*match)(void *ud, const void *principal),
                       void *ud, const json_t *obj);
/* The established connection with this id, or NULL. */
net_ws *net__ws_by_id(net_server *s, net_ws_conn conn);

/* Writes f at once when nothing waits before it and the socket allows (ws.c); false: queue it. */
bool net__ws_write_now(net_ws *ws, net_frame *f);

#endif
