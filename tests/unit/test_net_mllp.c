/* Unit tests of MLLP: the framing decoder on the cases interface engines produce (end bytes in a
 * later packet, several frames in one read, junk between frames, oversize), and the listener on
 * real loopback sockets: answers in arrival order whatever order the handler answers in, the
 * allow list, the idle timeout. */
#include "net/net.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- the decoder --------------------------------------------------------------------------- */

typedef struct {
    char msgs[8][128];
    bool oversize[8];
    int n;
} frames;

static int on_frame(void *ud, const char *msg, size_t n, bool oversize)
{
    frames *f = ud;
    assert_true(f->n < 8);
    snprintf(f->msgs[f->n], sizeof f->msgs[0], "%.*s", (int)n, msg);
    f->oversize[f->n++] = oversize;
    return CC_OK;
}

static void feed(net_mllp_frame *d, frames *f, const char *bytes)
{
    assert_int_equal(net_mllp_frame_feed(d, (const uint8_t *)bytes, strlen(bytes), on_frame, f),
                     CC_OK);
}

static void test_frame_split_and_merged(void **state)
{
    (void)state;
    net_mllp_frame d;
    frames f = {0};
    net_mllp_frame_init(&d, 64);
    /* the end bytes in two later packets */
    feed(&d, &f, "\x0bMSH|1");
    feed(&d, &f, "\x1c");
    assert_int_equal(f.n, 0);
    feed(&d, &f, "\x0d");
    assert_int_equal(f.n, 1);
    assert_string_equal(f.msgs[0], "MSH|1");
    /* two frames and the start of a third in one read, junk before them */
    feed(&d, &f, "\r\n\x0bMSH|2\x1c\x0d\x0bMSH|3\x1c\x0d\x0bMSH|");
    assert_int_equal(f.n, 3);
    assert_string_equal(f.msgs[1], "MSH|2");
    assert_string_equal(f.msgs[2], "MSH|3");
    feed(&d, &f, "4\x1c\x0d");
    assert_string_equal(f.msgs[3], "MSH|4");
    assert_int_equal(d.skipped, 2);
    /* a 0x1C not followed by 0x0D is content */
    feed(&d, &f,
         "\x0b"
         "a\x1c"
         "b\x1c\x0d");
    assert_string_equal(f.msgs[4], "a\x1c"
                                   "b");
    /* an unfinished frame followed by a new start is dropped */
    feed(&d, &f, "\x0bhalf\x0bMSH|6\x1c\x0d");
    assert_int_equal(f.n, 6);
    assert_string_equal(f.msgs[5], "MSH|6");
    net_mllp_frame_clear(&d);
}

static void test_frame_oversize_keeps_the_head(void **state)
{
    (void)state;
    net_mllp_frame d;
    frames f = {0};
    net_mllp_frame_init(&d, 8);
    feed(&d, &f, "\x0bMSH|^~\\&|BOOKING|");
    feed(&d, &f, "more and more\x1c\x0d\x0bMSH|ok\x1c\x0d");
    assert_int_equal(f.n, 2);
    assert_true(f.oversize[0]);
    assert_string_equal(f.msgs[0], "MSH|^~\\&");
    assert_false(f.oversize[1]);
    assert_string_equal(f.msgs[1], "MSH|ok");
    net_mllp_frame_clear(&d);
}

/* ---- the listener -------------------------------------------------------------------------- */

typedef struct {
    net_mllp_msg *held[8];
    char texts[8][64];
    int nheld;
    int received;
    bool reverse; /* answer in reverse order once 3 are held */
} handler_state;

static void answer(net_mllp_msg *m, const char *text)
{
    char ack[96];
    int n = snprintf(ack, sizeof ack, "ACK:%s", text);
    net_mllp_reply(m, ack, (size_t)n);
}

static void on_message(void *ud, net_mllp_msg *m, const char *msg, size_t n, bool oversize)
{
    handler_state *h = ud;
    (void)oversize;
    h->received++;
    assert_string_equal(net_mllp_peer(m), "127.0.0.1");
    if (!h->reverse) {
        char text[64];
        snprintf(text, sizeof text, "%.*s", (int)n, msg);
        answer(m, text);
        return;
    }
    snprintf(h->texts[h->nheld], sizeof h->texts[0], "%.*s", (int)n, msg);
    h->held[h->nheld++] = m;
    if (h->nheld == 3) {
        for (int i = 2; i >= 0; i--)
            answer(h->held[i], h->texts[i]);
        h->nheld = 0;
    }
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Runs the loop until the socket has n bytes to read (or closed), returns what was read. */
static size_t read_answers(uv_loop_t *loop, int fd, char *buf, size_t want)
{
    size_t got = 0;
    for (int spins = 0; spins < 2000 && got < want; spins++) {
        uv_run(loop, UV_RUN_NOWAIT);
        ssize_t r = recv(fd, buf + got, want - got, MSG_DONTWAIT);
        if (r == 0)
            break;
        if (r > 0)
            got += (size_t)r;
        else
            usleep(1000);
    }
    buf[got] = '\0';
    return got;
}

static void test_listener_answers_in_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    handler_state h = {.reverse = true};
    net_mllp_opts o = {.max_message = 1 << 20, .idle_timeout_ms = 10000, .allow = "127.0.0.0/8"};
    net_mllp *l = NULL;
    char why[160];
    assert_int_equal(net_mllp_listen(&loop, "127.0.0.1:0", &o, on_message, &h, &l, why, sizeof why),
                     CC_OK);
    int fd = connect_to(net_mllp_port(l));
    /* three messages in one write; the handler answers the third first */
    static const char three[] = "\x0bM1\x1c\x0d\x0bM2\x1c\x0d\x0bM3\x1c\x0d";
    assert_int_equal(write(fd, three, sizeof three - 1), (ssize_t)(sizeof three - 1));
    char buf[256];
    static const char want[] = "\x0b"
                               "ACK:M1\x1c\x0d\x0b"
                               "ACK:M2\x1c\x0d\x0b"
                               "ACK:M3\x1c\x0d";
    assert_int_equal(read_answers(&loop, fd, buf, sizeof want - 1), sizeof want - 1);
    assert_string_equal(buf, want);
    net_mllp_stats st;
    net_mllp_get_stats(l, &st);
    assert_int_equal(st.messages, 3);
    assert_int_equal(st.open_connections, 1);
    close(fd);
    net_mllp_close(l);
    uv_run(&loop, UV_RUN_DEFAULT);
    net_mllp_free(l);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_listener_allow_list_and_idle(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    handler_state h = {0};
    char why[160];
    net_mllp *l = NULL;
    net_mllp_opts bad = {.max_message = 1024, .idle_timeout_ms = 100, .allow = "10.0.0.0/33"};
    assert_int_equal(
        net_mllp_listen(&loop, "127.0.0.1:0", &bad, on_message, &h, &l, why, sizeof why),
        CC_ERR_CONFIG);
    assert_non_null(strstr(why, "10.0.0.0/33"));
    assert_int_equal(
        net_mllp_listen(&loop, "nowhere:2575", &bad, on_message, &h, &l, why, sizeof why),
        CC_ERR_CONFIG);

    /* Only 10.0.0.0/8 may send: a loopback peer is closed without a byte read. */
    net_mllp_opts o = {.max_message = 1024, .idle_timeout_ms = 100, .allow = "10.0.0.0/8, ::1"};
    assert_int_equal(net_mllp_listen(&loop, "127.0.0.1:0", &o, on_message, &h, &l, why, sizeof why),
                     CC_OK);
    int fd = connect_to(net_mllp_port(l));
    static const char one[] = "\x0bM1\x1c\x0d";
    ssize_t w = write(fd, one, sizeof one - 1);
    (void)w;
    char buf[64];
    assert_int_equal(read_answers(&loop, fd, buf, 10), 0);
    assert_int_equal(h.received, 0);
    net_mllp_stats st;
    net_mllp_get_stats(l, &st);
    assert_int_equal(st.refused_peers, 1);
    close(fd);
    net_mllp_close(l);
    uv_run(&loop, UV_RUN_DEFAULT);
    net_mllp_free(l);

    /* Allowed, then silent: closed after the idle timeout. */
    o.allow = NULL;
    assert_int_equal(net_mllp_listen(&loop, "127.0.0.1:0", &o, on_message, &h, &l, why, sizeof why),
                     CC_OK);
    fd = connect_to(net_mllp_port(l));
    assert_int_equal(write(fd, one, sizeof one - 1), (ssize_t)(sizeof one - 1));
    assert_int_equal(read_answers(&loop, fd, buf, 9), 9);
    assert_string_equal(buf, "\x0b"
                             "ACK:M1\x1c\x0d");
    /* nothing more is sent: the server closes (recv returns 0) */
    assert_int_equal(read_answers(&loop, fd, buf, 1), 0);
    net_mllp_get_stats(l, &st);
    assert_int_equal(st.open_connections, 0);
    close(fd);
    net_mllp_close(l);
    uv_run(&loop, UV_RUN_DEFAULT);
    net_mllp_free(l);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_split_and_merged),
        cmocka_unit_test(test_frame_oversize_keeps_the_head),
        cmocka_unit_test(test_listener_answers_in_order),
        cmocka_unit_test(test_listener_allow_list_and_idle),
    };
    return cmocka_run_group_tests_name("net_mllp", tests, NULL, NULL);
}
