/* The Janus client against a real Janus (Debian's janus, started here with configs this test
 * writes: WebSocket transport on 127.0.0.1 at a free port, VideoRoom only, api_secret, admin_key,
 * string ids, a short session_timeout), over a real net_server's lws context on a uv loop:
 * session, rooms, plugin errors, participants and kicks, keepalives, and a Janus killed and
 * restarted (down, reconnection, generation + 1). Skipped, loudly, only if janus is missing. */
#include "media/janus.h"
#include "net/net.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define JANUS_BIN "/usr/bin/janus"
#define API_SECRET "test-api-secret-5f0c"
#define ADMIN_KEY "test-admin-key-91ab"
#define SESSION_TIMEOUT_S 5
#define KEEPALIVE_MS 2000

static uv_loop_t loop;
static uv_timer_t tick;
static char dir[256];
static char libdir[256]; /* .../janus, with plugins/ and transports/ */
static int port;
static pid_t janus_pid = -1;
static net_server *g_srv; /* what teardown must close when a test stops half-way */
static janus *g_j;
static cc_config *g_cfg;
static bool finished; /* the test reached its end: teardown shows Janus's log otherwise */
static const char *client_secret = API_SECRET;

/* ---- Janus, the process -------------------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* Comma-separated names of every .so in folder but keep (Janus wants exact file names). */
static char *disable_list(const char *folder, const char *keep)
{
    char path[512];
    cc_buf b = {0};
    snprintf(path, sizeof(path), "%s/%s", libdir, folder);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".so") != 0 ||
            (keep && strcmp(e->d_name, keep) == 0))
            continue;
        cc_buf_appendf(&b, "%s%s", b.len ? "," : "", e->d_name);
    }
    if (d)
        closedir(d);
    cc_buf_append(&b, "", 0); /* a NUL-terminated buffer even when empty */
    return b.data;
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void write_configs(void)
{
    char *plugins = disable_list("plugins", "libjanus_videoroom.so");
    char *transports = disable_list("transports", "libjanus_websockets.so");
    char *events = disable_list("events", NULL);
    char *loggers = disable_list("loggers", NULL);
    char *main_cfg =
        cc_sprintf("general: {\n"
                   "  configs_folder = \"%s\"\n  plugins_folder = \"%s/plugins\"\n"
                   "  transports_folder = \"%s/transports\"\n  events_folder = \"%s/events\"\n"
                   "  loggers_folder = \"%s/loggers\"\n"
                   "  debug_level = 4\n  api_secret = \"" API_SECRET "\"\n"
                   "  admin_secret = \"test-admin-secret\"\n  session_timeout = %d\n"
                   "  hide_dependencies = true\n}\n"
                   "media: { ipv6 = false }\n"
                   "nat: { ignore_mdns = true }\n"
                   "plugins: { disable = \"%s\" }\n"
                   "transports: { disable = \"%s\" }\n"
                   "events: { broadcast = false\n  disable = \"%s\" }\n"
                   "loggers: { disable = \"%s\" }\n",
                   dir, libdir, libdir, libdir, libdir, SESSION_TIMEOUT_S, plugins, transports,
                   events, loggers);
    char *ws_cfg = cc_sprintf("general: {\n  json = \"compact\"\n  ws = true\n  ws_port = %d\n"
                              "  ws_ip = \"127.0.0.1\"\n  wss = false\n}\n"
                              "admin: { admin_ws = false\n  admin_wss = false }\n",
                              port);
    write_file("janus.jcfg", main_cfg);
    write_file("janus.transport.websockets.jcfg", ws_cfg);
    write_file("janus.plugin.videoroom.jcfg",
               "general: {\n  admin_key = \"" ADMIN_KEY "\"\n  string_ids = true\n}\n");
    cc_free(&main_cfg);
    cc_free(&ws_cfg);
    cc_free(&plugins);
    cc_free(&transports);
    cc_free(&events);
    cc_free(&loggers);
}

static void janus_start(void)
{
    char log[300];
    snprintf(log, sizeof(log), "%s/janus.log", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Janus runs out of descriptors at the usual 1024 under load: take the hard limit. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(JANUS_BIN, "janus", "-F", dir, "-o", (char *)NULL);
        _exit(127);
    }
    janus_pid = pid;
}

/* Stops Janus (SIGTERM, or SIGKILL when kill is set or it does not exit in 5 s) and waits. */
static void janus_kill(bool hard)
{
    if (janus_pid <= 0)
        return;
    kill(janus_pid, hard ? SIGKILL : SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(janus_pid, NULL, WNOHANG) == janus_pid) {
            janus_pid = -1;
            return;
        }
        usleep(10000);
    }
    kill(janus_pid, SIGKILL);
    waitpid(janus_pid, NULL, 0);
    janus_pid = -1;
}

/* ---- the loop and what the client reports -------------------------------------------------- */

static int ups, downs;
static uint64_t up_gen, down_gen;
static char down_why[160];

static void on_up(void *ud, uint64_t generation)
{
    (void)ud;
    ups++;
    up_gen = generation;
}

static void on_down(void *ud, uint64_t generation, const char *why)
{
    (void)ud;
    downs++;
    down_gen = generation;
    snprintf(down_why, sizeof(down_why), "%s", why);
}

typedef struct {
    bool done;
    int err, code;
    json_t *data;
} result;

static void on_done(void *ud, int err, const janus_result *res)
{
    result *r = ud;
    r->done = true;
    r->err = err;
    r->code = res->code;
    json_decref(r->data);
    r->data = res->data ? json_deep_copy(res->data) : NULL;
}

typedef struct {
    bool attached;
    int err, lost, detached, events;
    json_t *last; /* data of the last plugin event */
} handle_obs;

static void on_attached(void *ud, janus_handle *h, int err)
{
    (void)h;
    handle_obs *o = ud;
    o->attached = true;
    o->err = err;
}

static void on_event(void *ud, janus_handle *h, janus_event_kind kind, const janus_result *ev)
{
    (void)h;
    handle_obs *o = ud;
    if (kind == JANUS_EV_LOST)
        o->lost++;
    if (kind == JANUS_EV_DETACHED)
        o->detached++;
    o->events++;
    if (kind == JANUS_EV_PLUGIN && ev->data) {
        json_decref(o->last);
        o->last = json_deep_copy(ev->data);
    }
}

static const janus_handle_cbs handle_cbs = {on_attached, on_event};

static void on_tick(uv_timer_t *t)
{
    (void)t; /* wakes the loop so run_until sees its deadline */
}

static bool run_until(const bool *flag, int ms)
{
    int64_t end = cc_monotonic_ms() + ms;
    while (!*flag && cc_monotonic_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    return *flag;
}

static void run_for(int ms)
{
    bool never = false;
    run_until(&never, ms);
}

static bool count_reached(const int *counter, int n, int ms)
{
    int64_t end = cc_monotonic_ms() + ms;
    while (*counter < n && cc_monotonic_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    return *counter >= n;
}

/* Runs a request to completion (within 15 s) and returns its error. */
#define WAIT(r)                                                                                    \
    do {                                                                                           \
        assert_true(run_until(&(r).done, 15000));                                                  \
    } while (0)

static void reset(result *r)
{
    json_decref(r->data);
    memset(r, 0, sizeof(*r));
}

static janus_handle *attach(janus *j, handle_obs *o)
{
    janus_handle *h = NULL;
    memset(o, 0, sizeof(*o));
    assert_int_equal(janus_attach(j, "janus.plugin.videoroom", &handle_cbs, o, &h), CC_OK);
    assert_false(o->attached); /* never from inside janus_attach */
    assert_true(run_until(&o->attached, 10000));
    assert_int_equal(o->err, CC_OK);
    assert_true(janus_handle_alive(h));
    return h;
}

/* Larger than the client's lws receive buffer (4096): "joined" echoes it, so that reply arrives
 * in several pieces that net assembles. */
#define LONG_DESCRIPTION_LEN 10000
static char long_description[LONG_DESCRIPTION_LEN + 1];

static void create_room(janus_handle *h, const char *room, int expect_err, int expect_code)
{
    result r = {0};
    memset(long_description, 'd', LONG_DESCRIPTION_LEN);
    janus_vr_room vr = {.room = room,
                        .secret = "room-secret",
                        .pin = "1234",
                        .admin_key = ADMIN_KEY,
                        .description = long_description,
                        .use_allowed = true};
    assert_int_equal(janus_vr_create(h, &vr, on_done, &r), CC_OK);
    WAIT(r);
    assert_int_equal(r.err, expect_err);
    assert_int_equal(r.code, expect_code);
    reset(&r);
}

static bool room_exists(janus_handle *h, const char *room)
{
    result r = {0};
    assert_int_equal(janus_vr_exists(h, room, on_done, &r), CC_OK);
    WAIT(r);
    assert_int_equal(r.err, CC_OK);
    bool e = json_is_true(json_object_get(r.data, "exists"));
    reset(&r);
    return e;
}

static size_t participants(janus_handle *h, const char *room)
{
    result r = {0};
    assert_int_equal(janus_vr_list_participants(h, room, on_done, &r), CC_OK);
    WAIT(r);
    assert_int_equal(r.err, CC_OK);
    size_t n = json_array_size(json_object_get(r.data, "participants"));
    reset(&r);
    return n;
}

/* Joins room as a publisher with token; returns the error (and the participant id in id). */
static int join(janus_handle *h, const char *room, const char *token, int *code, char *id,
                size_t idlen)
{
    result r = {0};
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "request", "join", "ptype", "publisher",
                             "room", room, "pin", "1234", "display", "Dr Test", "token", token);
    assert_int_equal(janus_message(h, body, NULL, on_done, &r), CC_OK);
    WAIT(r);
    int err = r.err;
    *code = r.code;
    if (err == CC_OK) {
        assert_string_equal(json_string_value(json_object_get(r.data, "videoroom")), "joined");
        assert_int_equal(json_string_length(json_object_get(r.data, "description")),
                         LONG_DESCRIPTION_LEN);
        snprintf(id, idlen, "%s", json_string_value(json_object_get(r.data, "id")));
    }
    reset(&r);
    return err;
}

/* ---- the test ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    finished = false;
    client_secret = API_SECRET;
    ups = downs = 0;
    up_gen = down_gen = 0;
    down_why[0] = '\0';
    snprintf(dir, sizeof(dir), "/tmp/cc_test_janus_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    if (uv_loop_init(&loop) != 0 || uv_timer_init(&loop, &tick) != 0 ||
        uv_timer_start(&tick, on_tick, 20, 20) != 0)
        return -1;
    return 0;
}

/* Closes the client and the server in the order of main.c (client, lws, loop, free). */
static void close_all(void)
{
    janus_stop(g_j);
    if (g_srv)
        net_server_close(g_srv);
    uv_timer_stop(&tick); /* a stopped timer lets uv_run return */
    uv_run(&loop, UV_RUN_DEFAULT);
    net_server_free(g_srv);
    janus_free(g_j);
    cc_config_free(g_cfg);
    g_srv = NULL;
    g_j = NULL;
    g_cfg = NULL;
}

/* A failed test shows what the client saw and the end of Janus's log (CI keeps no files). */
static void show_diagnostics(void)
{
    char path[300], line[512];
    fprintf(stderr, "diagnostics: ups=%d downs=%d up_gen=%d down_gen=%d down_why='%s'\n", ups,
            downs, (int)up_gen, (int)down_gen, down_why);
    snprintf(path, sizeof(path), "%s/janus.log", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    long total = 0;
    while (fgets(line, sizeof(line), f))
        total++;
    rewind(f);
    for (long i = 0; fgets(line, sizeof(line), f); i++)
        if (i >= total - 40)
            fprintf(stderr, "janus.log: %s", line);
    fclose(f);
}

static int teardown(void **state)
{
    (void)state;
    if (!finished)
        show_diagnostics();
    if (g_srv || g_j)
        close_all();
    janus_kill(false);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    if (getenv("CARECOMM_KEEP_JANUS_LOG") == NULL) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            rc = -1;
    }
    return rc == 0 ? 0 : -1;
}

static bool find_libdir(void)
{
    glob_t g;
    bool ok = false;
    if (glob("/usr/lib/*/janus/plugins/libjanus_videoroom.so", 0, NULL, &g) == 0 &&
        g.gl_pathc > 0) {
        snprintf(libdir, sizeof(libdir), "%s", g.gl_pathv[0]);
        *strstr(libdir, "/plugins/") = '\0';
        ok = true;
    }
    globfree(&g);
    return ok;
}

static net_server *start_server(cc_config **cfgp)
{
    char why[256] = "";
    cc_config *cfg = cc_config_new();
    assert_non_null(cfg);
    assert_int_equal(cc_config_register(cfg, core_config_keys, core_config_keys_count), CC_OK);
    assert_int_equal(cc_config_register(cfg, net_config_keys, net_config_keys_count), CC_OK);
    assert_int_equal(cc_config_set(cfg, "data_dir", dir, why, sizeof(why)), CC_OK);
    assert_int_equal(cc_config_set(cfg, "listen", "127.0.0.1:0", why, sizeof(why)), CC_OK);
    assert_int_equal(cc_config_set(cfg, "plain_http", "true", why, sizeof(why)), CC_OK);
    assert_int_equal(cc_config_set(cfg, "static_dir", "", why, sizeof(why)), CC_OK);
    net_server *srv = NULL;
    assert_int_equal(net_server_create(&loop, cfg, &srv, why, sizeof(why)), CC_OK);
    *cfgp = cfg;
    return srv;
}

static void require_janus(void)
{
    if (access(JANUS_BIN, X_OK) != 0 || !find_libdir()) {
        fprintf(stderr,
                "SKIPPED: Janus is not installed (%s or its VideoRoom plugin missing); "
                "scripts/install-deps installs the Debian package janus\n",
                JANUS_BIN);
        finished = true;
        skip();
    }
}

/* Starts a net server and the client (and Janus first unless later is set); waits for the first
 * session unless later is set. */
static janus *start_client_opts(int keepalive_ms, int timeout_ms, bool later)
{
    static char url[64];
    port = free_port();
    assert_true(port > 0);
    write_configs();
    if (!later)
        janus_start();
    g_srv = start_server(&g_cfg);
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", port);
    janus_opts o = {.url = url,
                    .api_secret = client_secret,
                    .keepalive_ms = keepalive_ms,
                    .request_timeout_ms = timeout_ms};
    janus_cbs cbs = {on_up, on_down};
    janus *j = NULL;
    ups = downs = 0;
    assert_int_equal(janus_create(&loop, g_srv, &o, &cbs, NULL, &j), CC_OK);
    g_j = j;
    assert_int_equal(ups, 0); /* never from inside janus_create */
    if (later)
        return j;
    assert_true(count_reached(&ups, 1, 30000)); /* attempts at 0, 0.5, 1.5, 3.5, 7.5, 15.5 s */
    assert_int_equal(up_gen, 1);
    assert_true(janus_is_up(j));
    assert_int_equal(janus_generation(j), 1);
    return j;
}

static janus *start_client(int keepalive_ms)
{
    return start_client_opts(keepalive_ms, 0, false);
}

static void test_janus_client(void **state)
{
    (void)state;
    require_janus();
    int64_t mem_before = cc_mem_live_bytes();
    janus *j = start_client(KEEPALIVE_MS);

    /* Rooms: create with a secret, exists, duplicate (427), missing (426), bad admin_key (433). */
    handle_obs co, po, po2;
    janus_handle *ctl = attach(j, &co);
    char room[40];
    snprintf(room, sizeof(room), "room-%d", (int)getpid());
    create_room(ctl, room, CC_OK, 0);
    assert_true(room_exists(ctl, room));
    assert_false(room_exists(ctl, "no-such-room"));
    create_room(ctl, room, CC_ERR_EXISTS, 427);
    result r = {0};
    assert_int_equal(janus_vr_destroy(ctl, "no-such-room", "x", on_done, &r), CC_OK);
    WAIT(r);
    assert_int_equal(r.err, CC_ERR_NOT_FOUND);
    assert_int_equal(r.code, 426);
    reset(&r);
    janus_vr_room bad = {.room = "room-no-key", .secret = "s", .admin_key = "wrong"};
    assert_int_equal(janus_vr_create(ctl, &bad, on_done, &r), CC_OK);
    WAIT(r);
    assert_int_equal(r.err, CC_ERR_DENIED);
    assert_int_equal(r.code, 433);
    reset(&r);

    /* A participant joins with a token from the allowed list (an asynchronous request: ack,
     * then event), is kicked with its token revoked, and cannot come back with it. */
    assert_int_equal(
        janus_vr_allowed(ctl, room, "room-secret", "add", json_pack("[s]", "tok-1"), on_done, &r),
        CC_OK);
    WAIT(r);
    assert_int_equal(r.err, CC_OK);
    reset(&r);
    janus_handle *pub = attach(j, &po);
    char pid[80] = "";
    int code = 0;
    assert_int_equal(join(pub, room, "tok-2", &code, pid, sizeof(pid)), CC_ERR_DENIED);
    assert_int_equal(code, 433);
    assert_int_equal(join(pub, room, "tok-1", &code, pid, sizeof(pid)), CC_OK);
    assert_true(pid[0] != '\0');
    assert_int_equal(participants(ctl, room), 1);
    assert_int_equal(janus_vr_kick(ctl, room, "room-secret", pid, "tok-1", on_done, &r), CC_OK);
    WAIT(r);
    assert_int_equal(r.err, CC_OK);
    reset(&r);
    /* The kicked participant's handle hears it: an event without a transaction, routed by the
     * handle id. */
    assert_true(count_reached(&po.events, 1, 5000));
    assert_non_null(po.last);
    assert_string_equal(json_string_value(json_object_get(po.last, "videoroom")), "event");
    assert_int_equal(participants(ctl, room), 0);
    janus_handle *pub2 = attach(j, &po2);
    assert_int_equal(join(pub2, room, "tok-1", &code, pid, sizeof(pid)), CC_ERR_DENIED);
    assert_int_equal(code, 433);
    janus_detach(pub2);
    janus_detach(pub);

    /* Keepalives hold the session past Janus's session_timeout. */
    run_for((SESSION_TIMEOUT_S + 3) * 1000);
    assert_int_equal(downs, 0);
    assert_int_equal(janus_generation(j), 1);
    assert_true(room_exists(ctl, room));
    assert_int_equal(co.lost, 0);

    /* Janus dies: down for generation 1, the handle is lost and refused from now on. */
    janus_kill(true);
    assert_true(count_reached(&downs, 1, 10000));
    assert_int_equal(down_gen, 1);
    assert_false(janus_is_up(j));
    assert_int_equal(co.lost, 1);
    assert_false(janus_handle_alive(ctl));
    assert_int_equal(janus_vr_exists(ctl, room, on_done, &r), CC_ERR_EXPIRED);
    assert_false(r.done);
    janus_handle *none = NULL;
    assert_int_equal(janus_attach(j, "janus.plugin.videoroom", &handle_cbs, &po, &none),
                     CC_ERR_BUSY);

    /* Janus is back: a new session, generation 2; its rooms are gone and can be recreated. */
    janus_start();
    assert_true(count_reached(&ups, 2, 20000));
    assert_int_equal(up_gen, 2);
    assert_false(janus_handle_alive(ctl)); /* a handle of generation 1 stays dead */
    assert_int_equal(janus_vr_exists(ctl, room, on_done, &r), CC_ERR_EXPIRED);
    janus_detach(ctl);
    ctl = attach(j, &co);
    assert_int_equal(janus_handle_generation(ctl), 2);
    assert_false(room_exists(ctl, room));
    create_room(ctl, room, CC_OK, 0);
    assert_true(room_exists(ctl, room));
    assert_int_equal(janus_vr_destroy(ctl, room, "room-secret", on_done, &r), CC_OK);
    WAIT(r);
    assert_int_equal(r.err, CC_OK);
    reset(&r);
    assert_false(room_exists(ctl, room));
    assert_int_equal(downs, 1);

    /* A request pending at janus_stop completes with CC_ERR_BUSY; nothing else is called. */
    assert_int_equal(janus_vr_exists(ctl, room, on_done, &r), CC_OK);
    janus_stop(j);
    assert_true(r.done);
    assert_int_equal(r.err, CC_ERR_BUSY);
    reset(&r);
    janus_detach(ctl);
    close_all();
    assert_int_equal(downs, 1);
    json_decref(co.last);
    json_decref(po.last);
    json_decref(po2.last);
    assert_int_equal(cc_mem_live_bytes(), mem_before);
    finished = true;
}

/* Without keepalives Janus times the session out: the client reports it down, with its handles
 * lost, and comes back with a new session (which shows the keepalives above are what held it). */
static void test_janus_session_timeout(void **state)
{
    (void)state;
    require_janus();
    janus *j = start_client(60000);
    handle_obs co;
    janus_handle *ctl = attach(j, &co);
    assert_true(count_reached(&downs, 1, (SESSION_TIMEOUT_S + 6) * 1000));
    assert_int_equal(down_gen, 1);
    /* Janus sends "timeout" and its WebSocket transport then closes the connection, and may do so
     * before the event is out (seen under load): either tells the client. */
    assert_true(strstr(down_why, "timed the session out") || strcmp(down_why, "closed") == 0);
    /* Janus frees the session's handles as it times it out and may say "detached" for this one
     * before the session is seen lost (seen under ASan load): the handle is dead either way. */
    assert_int_equal(co.lost + co.detached, 1);
    assert_false(janus_handle_alive(ctl));
    assert_true(count_reached(&ups, 2, 10000));
    assert_int_equal(up_gen, 2);
    janus_detach(ctl);
    close_all();
    json_decref(co.last);
    finished = true;
}

/* Janus not there yet: attempts fail quietly with backoff (no on_up, no on_down) until it
 * starts. Then Janus hangs (SIGSTOP): requests time out and so does the keepalive, which ends
 * the session; once Janus resumes, the client is back with generation 2. */
static void test_janus_late_and_hung(void **state)
{
    (void)state;
    require_janus();
    janus *j = start_client_opts(1000, 1500, true);
    run_for(2000); /* attempts at 0, 0.5 and 1.5 s, all refused */
    assert_int_equal(ups, 0);
    assert_int_equal(downs, 0);
    assert_false(janus_is_up(j));
    janus_start();
    assert_true(count_reached(&ups, 1, 30000)); /* next attempts at 3.5, 7.5, 15.5 s */
    assert_int_equal(up_gen, 1);
    handle_obs co;
    janus_handle *ctl = attach(j, &co);

    assert_int_equal(kill(janus_pid, SIGSTOP), 0);
    result r = {0};
    assert_int_equal(janus_vr_exists(ctl, "some-room", on_done, &r), CC_OK);
    WAIT(r);
    assert_true(r.err == CC_ERR_BUSY || r.err == CC_ERR_IO); /* timed out, or lost first */
    reset(&r);
    assert_true(count_reached(&downs, 1, 10000));
    assert_int_equal(down_gen, 1);
    assert_int_equal(co.lost, 1);
    assert_int_equal(kill(janus_pid, SIGCONT), 0);
    assert_true(count_reached(&ups, 2, 20000));
    assert_int_equal(up_gen, 2);
    janus_detach(ctl);
    ctl = attach(j, &co);
    assert_false(room_exists(ctl, "some-room"));
    janus_detach(ctl);
    close_all();
    json_decref(co.last);
    finished = true;
}

/* A wrong api_secret: Janus refuses the session (403), the client never reports up nor down and
 * keeps retrying with backoff, without errors. */
static void test_janus_wrong_secret(void **state)
{
    (void)state;
    require_janus();
    client_secret = "not-the-secret";
    janus *j = start_client_opts(0, 0, true);
    janus_start();
    run_for(4000); /* attempts at 0, 0.5, 1.5 and 3.5 s: Janus answers the later ones with 403 */
    assert_int_equal(ups, 0);
    assert_int_equal(downs, 0);
    assert_false(janus_is_up(j));
    assert_int_equal(janus_generation(j), 0);
    close_all();
    finished = true;
}

int main(void)
{
    if (cc_crypto_init() != CC_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_janus_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_janus_session_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_janus_late_and_hung, setup, teardown),
        cmocka_unit_test_setup_teardown(test_janus_wrong_secret, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
