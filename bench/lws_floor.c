/* The floor of our HTTP stack: libwebsockets 4.1.6 on a libuv loop, as carecommd runs it, with
 * nothing else. It answers every request with one file's bytes in a single write (headers and
 * body together, then keep-alive). bench/run-all measures it beside carecommd and nginx, so the
 * part of the gap to nginx that lws-on-libuv itself costs is visible in the same run.
 * Usage: lws_floor PORT CERT KEY BODY_FILE [poll]
 * With "poll", lws runs its own poll() loop instead of libuv: what the stack costs without
 * libuv's poll handling (not how carecommd runs). */
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static char floor_body[65536];
static size_t floor_body_len;

static int floor_answer(struct lws *wsi)
{
    unsigned char buf[LWS_PRE + 4096 + sizeof(floor_body)];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + LWS_PRE + 4096;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json", floor_body_len, &p,
                                    end) ||
        lws_finalize_http_header(wsi, &p, end))
        return -1;
    memcpy(p, floor_body, floor_body_len);
    p += floor_body_len;
    if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_FINAL) < 0)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int floor_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    if (reason == LWS_CALLBACK_HTTP)
        return floor_answer(wsi);
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols floor_protocols[] = {
    {"http", floor_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int main(int argc, char **argv)
{
    bool own_loop = argc == 6 && strcmp(argv[5], "poll") == 0;
    if (argc != 5 && !own_loop) {
        fprintf(stderr, "usage: lws_floor PORT CERT KEY BODY_FILE [poll]\n");
        return 2;
    }
    FILE *f = fopen(argv[4], "rb");
    if (!f) {
        perror(argv[4]);
        return 1;
    }
    floor_body_len = fread(floor_body, 1, sizeof(floor_body), f);
    fclose(f);

    lws_set_log_level(LLL_ERR, NULL);
    uv_loop_t loop;
    uv_loop_init(&loop);
    void *loops[] = {&loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (!own_loop) {
        info.options |= LWS_SERVER_OPTION_LIBUV;
        info.foreign_loops = loops;
    }
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx)
        return 1;
    info.port = atoi(argv[1]);
    info.iface = "127.0.0.1";
    info.protocols = floor_protocols;
    info.ssl_cert_filepath = argv[2];
    info.ssl_private_key_filepath = argv[3];
    if (!lws_create_vhost(ctx, &info))
        return 1;
    if (own_loop)
        while (lws_service(ctx, 0) >= 0)
            ; /* until killed */
    return uv_run(&loop, UV_RUN_DEFAULT); /* until killed */
}
