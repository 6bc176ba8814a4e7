/* Unit tests for the media module's pure parts: TURN REST credentials against a vector computed
 * independently, the Janus and coturn configuration files, the secrets file, the configuration
 * check, URL splitting and the Janus probe's parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "media/media_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const media_secrets test_secrets = {
    .janus_api_secret = "api-secret-0123456789",
    .janus_admin_secret = "admin-secret-0123456789",
    .videoroom_admin_key = "room-key-0123456789",
    .turn_secret = "turn-secret-0123456789",
};

static void test_turn_credential_vector(void **state)
{
    char user[128], cred[64];
    (void)state;
    /* Computed independently:
     *   printf '%s' '1700000000:01JD2V7Q5ZC8W0X3N4M5P6R7S8' |
     *     openssl dgst -sha1 -hmac 'north-wing-turn-secret' -binary | base64
     * and python3 hmac.new(b'north-wing-turn-secret', b'1700000000:01JD...', sha1) agree. */
    assert_int_equal(media_turn_credential("north-wing-turn-secret", 1700000000,
                                           "01JD2V7Q5ZC8W0X3N4M5P6R7S8", user, sizeof user, cred,
                                           sizeof cred),
                     CC_OK);
    assert_string_equal(user, "1700000000:01JD2V7Q5ZC8W0X3N4M5P6R7S8");
    assert_string_equal(cred, "CGVyYsfUfEL13R8XgsJdHy7+9iA=");

    /* Too small buffers, no user, no secret: refused rather than cut. */
    char small[12];
    assert_int_equal(
        media_turn_credential("s", 1700000000, "someone", small, sizeof small, cred, sizeof cred),
        CC_ERR_INVALID);
    assert_int_equal(media_turn_credential("s", 1, "u", user, sizeof user, cred, 28),
                     CC_ERR_INVALID);
    assert_int_equal(media_turn_credential("s", 1, "", user, sizeof user, cred, sizeof cred),
                     CC_ERR_INVALID);
    assert_int_equal(media_turn_credential("", 1, "u", user, sizeof user, cred, sizeof cred),
                     CC_ERR_INVALID);
}

static void test_ice_servers_shape(void **state)
{
    (void)state;
    char *urls[] = {"turn:10.0.0.5:3478?transport=udp", "turn:10.0.0.5:3478?transport=tcp", NULL};
    media m;
    memset(&m, 0, sizeof m);
    m.mode = MEDIA_EMBEDDED;
    m.secrets = test_secrets;
    m.turn_urls = urls;
    m.nturn_urls = 2;
    m.ttl_s = 600;
    json_t *a = media_ice_servers(&m, "USER1", 1700000000123LL);
    assert_non_null(a);
    assert_int_equal(json_array_size(a), 1);
    json_t *s = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(s, "username")), "1700000600:USER1");
    assert_int_equal(json_integer_value(json_object_get(s, "ttl")), 600);
    assert_int_equal(json_array_size(json_object_get(s, "urls")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(s, "urls"), 1)),
                        "turn:10.0.0.5:3478?transport=tcp");
    char user[64], cred[64];
    assert_int_equal(media_turn_credential(test_secrets.turn_secret, 1700000600, "USER1", user,
                                           sizeof user, cred, sizeof cred),
                     CC_OK);
    assert_string_equal(json_string_value(json_object_get(s, "credential")), cred);
    json_decref(a);
    m.mode = MEDIA_OFF;
    assert_null(media_ice_servers(&m, "USER1", 0));
}

static void test_port_range(void **state)
{
    int a, b;
    (void)state;
    assert_int_equal(media_port_range_parse("20000-40000", &a, &b), CC_OK);
    assert_int_equal(a, 20000);
    assert_int_equal(b, 40000);
    const char *bad[] = {"",      "20000",      "20000-",       "-40000",    "40000-20000",
                         "80-90", "1024-70000", "20000-40000x", "2e4-40000", "20000 - 40000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(media_port_range_parse(bad[i], &a, &b), CC_ERR_INVALID);
}

static media_janus_params janus_params(const char *ip, const char *pub)
{
    media_janus_params p = {.dir = "/var/lib/carecomm/media/janus",
                            .media_ip = ip,
                            .public_ip = pub,
                            .rtp_port_range = "20000-20999",
                            .api_port = 18188,
                            .admin_port = 17188,
                            .secrets = &test_secrets};
    return p;
}

static void test_janus_conf(void **state)
{
    (void)state;
    media_janus_params p = janus_params("10.1.2.3", NULL);
    char *t = media_conf_janus(&p);
    assert_non_null(t);
    assert_non_null(strstr(t, "api_secret = \"api-secret-0123456789\""));
    assert_non_null(strstr(t, "admin_secret = \"admin-secret-0123456789\""));
    assert_non_null(strstr(t, "plugins_folder = \"/var/lib/carecomm/media/janus/plugins\""));
    assert_non_null(strstr(t, "transports_folder = \"/var/lib/carecomm/media/janus/transports\""));
    assert_non_null(strstr(t, "ipv6 = false"));
    assert_non_null(strstr(t, "rtp_port_range = \"20000-20999\""));
    assert_non_null(strstr(t, "ice_enforce_list = \"10.1.2.3\""));
    assert_non_null(strstr(t, "ice_lite = false"));
    assert_non_null(strstr(t, "hide_dependencies = true"));
    assert_null(strstr(t, "nat_1_1_mapping"));
    cc_free(&t);

    /* Loopback (signalling tests): no enforce list, which would leave Janus no candidate. */
    p = janus_params("127.0.0.1", "");
    assert_non_null(t = media_conf_janus(&p));
    assert_null(strstr(t, "ice_enforce_list"));
    cc_free(&t);

    p = janus_params("10.1.2.3", "198.51.100.7");
    assert_non_null(t = media_conf_janus(&p));
    assert_non_null(strstr(t, "nat_1_1_mapping = \"198.51.100.7\""));
    cc_free(&t);

    assert_non_null(t = media_conf_janus_ws(&p));
    assert_non_null(strstr(t, "ws_port = 18188"));
    assert_non_null(strstr(t, "ws_ip = \"127.0.0.1\""));
    assert_non_null(strstr(t, "ws_acl = \"127.0.0.1\""));
    assert_non_null(strstr(t, "wss = false"));
    assert_non_null(strstr(t, "admin_ws = true"));
    assert_non_null(strstr(t, "admin_ws_port = 17188"));
    assert_non_null(strstr(t, "admin_ws_ip = \"127.0.0.1\""));
    assert_non_null(strstr(t, "admin_ws_acl = \"127.0.0.1\""));
    cc_free(&t);

    assert_non_null(t = media_conf_videoroom(&p));
    assert_non_null(strstr(t, "admin_key = \"room-key-0123456789\""));
    assert_non_null(strstr(t, "string_ids = true"));
    cc_free(&t);
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

static void test_turn_conf(void **state)
{
    (void)state;
    media_turn_params p = {.dir = "/srv/cc/media",
                           .media_ip = "10.1.2.3",
                           .public_ip = NULL,
                           .port = 3478,
                           .relay_min = 49152,
                           .relay_max = 65535,
                           .realm = "carecomm",
                           .tls_port = 0,
                           .secret = test_secrets.turn_secret};
    char *t = media_conf_turn(&p);
    assert_non_null(t);
    const char *lines[] = {"listening-port=3478",
                           "listening-ip=10.1.2.3",
                           "relay-ip=10.1.2.3",
                           "min-port=49152",
                           "max-port=65535",
                           "realm=carecomm",
                           "use-auth-secret",
                           "static-auth-secret=turn-secret-0123456789",
                           "fingerprint",
                           "no-cli",
                           "no-multicast-peers",
                           "no-tlsv1",
                           "no-tlsv1_1",
                           "no-tls",
                           "no-dtls",
                           "userdb=/srv/cc/media/turndb",
                           "denied-peer-ip=10.0.0.0-10.255.255.255",
                           "denied-peer-ip=172.16.0.0-172.31.255.255",
                           "denied-peer-ip=192.168.0.0-192.168.255.255",
                           "denied-peer-ip=127.0.0.0-127.255.255.255",
                           "allowed-peer-ip=10.1.2.3"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        assert_true(has_line(t, lines[i]));
    assert_false(has_line(t, "allow-loopback-peers"));
    assert_null(strstr(t, "external-ip"));
    assert_null(strstr(t, "tls-listening-port"));
    cc_free(&t);

    p.media_ip = "127.0.0.1";
    p.public_ip = "198.51.100.7";
    p.tls_port = 443;
    p.tls_cert = "/etc/ssl/turn.pem";
    p.tls_key = "/etc/ssl/turn.key";
    assert_non_null(t = media_conf_turn(&p));
    assert_true(has_line(t, "allow-loopback-peers"));
    assert_true(has_line(t, "external-ip=198.51.100.7/127.0.0.1"));
    assert_true(has_line(t, "tls-listening-port=443"));
    assert_true(has_line(t, "cert=/etc/ssl/turn.pem"));
    assert_true(has_line(t, "pkey=/etc/ssl/turn.key"));
    assert_false(has_line(t, "no-tls"));
    cc_free(&t);
}

static void test_url_host_port(void **state)
{
    char host[64];
    int port;
    (void)state;
    assert_int_equal(media_url_host_port("ws://10.0.0.5:8188", host, sizeof host, 1, &port), CC_OK);
    assert_string_equal(host, "10.0.0.5");
    assert_int_equal(port, 8188);
    assert_int_equal(media_url_host_port("ws://janus.internal/", host, sizeof host, 8188, &port),
                     CC_OK);
    assert_string_equal(host, "janus.internal");
    assert_int_equal(port, 8188);
    assert_int_equal(
        media_url_host_port("turn:turn.example:3479?transport=tcp", host, sizeof host, 3478, &port),
        CC_OK);
    assert_string_equal(host, "turn.example");
    assert_int_equal(port, 3479);
    assert_int_equal(media_url_host_port("turns:[2001:db8::1]:443?transport=tcp", host, sizeof host,
                                         3478, &port),
                     CC_OK);
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 443);
    assert_int_equal(media_url_host_port("ws://:80", host, sizeof host, 1, &port), CC_ERR_INVALID);
    assert_int_equal(media_url_host_port("ws://h:99999", host, sizeof host, 1, &port),
                     CC_ERR_INVALID);
    assert_int_equal(media_url_host_port("ws://h:80x", host, sizeof host, 1, &port),
                     CC_ERR_INVALID);
}

static void test_janus_probe_parser(void **state)
{
    size_t hl = 0;
    (void)state;
    const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    assert_int_equal(media_probe_janus_handshake(ok, 10, &hl), 0);
    assert_int_equal(media_probe_janus_handshake(ok, strlen(ok), &hl), 1);
    assert_int_equal(hl, strlen(ok));
    const char no[] = "HTTP/1.1 403 Forbidden\r\n\r\n";
    assert_int_equal(media_probe_janus_handshake(no, strlen(no), &hl), -1);

    const char reply[] = "{\"janus\":\"server_info\",\"transaction\":\"carecomm-probe\"}";
    char frame[128];
    frame[0] = (char)0x81;
    frame[1] = (char)(sizeof(reply) - 1);
    memcpy(frame + 2, reply, sizeof(reply) - 1);
    size_t n = 2 + sizeof(reply) - 1;
    assert_int_equal(media_probe_janus_frame(frame, 1), 0);
    assert_int_equal(media_probe_janus_frame(frame, n - 1), 0);
    assert_int_equal(media_probe_janus_frame(frame, n), 1);
    const char err[] = "{\"janus\":\"error\"}";
    frame[1] = (char)(sizeof(err) - 1);
    memcpy(frame + 2, err, sizeof(err) - 1);
    assert_int_equal(media_probe_janus_frame(frame, 2 + sizeof(err) - 1), -1);
    frame[0] = (char)0x88; /* close */
    assert_int_equal(media_probe_janus_frame(frame, 2 + sizeof(err) - 1), -1);

    /* The request: an upgrade with the janus-protocol subprotocol, then one masked frame. */
    cc_buf b = {0};
    assert_int_equal(media_probe_janus_upgrade_req(&b, "127.0.0.1", 18188), CC_OK);
    assert_non_null(b.data);
    assert_non_null(strstr(b.data, "Sec-WebSocket-Protocol: janus-protocol\r\n"));
    assert_non_null(strstr(b.data, "Host: 127.0.0.1:18188\r\n"));
    cc_buf_free(&b);
    assert_int_equal(media_probe_janus_info_req(&b), CC_OK);
    const uint8_t *f = (const uint8_t *)b.data;
    assert_int_equal(f[0], 0x81);
    assert_true(f[1] & 0x80);
    size_t len = f[1] & 0x7f;
    assert_int_equal(b.len, 6 + len);
    char plain[128];
    for (size_t i = 0; i < len; i++)
        plain[i] = (char)(f[6 + i] ^ f[2 + i % 4]);
    plain[len] = '\0';
    assert_string_equal(plain, "{\"janus\":\"info\",\"transaction\":\"carecomm-probe\"}");
    cc_buf_free(&b);
}

static void test_secrets_file(void **state)
{
    char dir[] = "/tmp/carecomm-media-XXXXXX", path[256], why[256];
    media_secrets a, b;
    struct stat sb;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/secrets.json", dir);

    assert_int_equal(media_secrets_load(path, false, &a, why, sizeof why), CC_ERR_NOT_FOUND);
    assert_int_equal(media_secrets_load(path, true, &a, why, sizeof why), CC_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_true(strlen(a.turn_secret) >= 32);
    assert_string_not_equal(a.janus_api_secret, a.janus_admin_secret);
    /* A second start reads the same secrets. */
    assert_int_equal(media_secrets_load(path, true, &b, why, sizeof why), CC_OK);
    assert_string_equal(a.turn_secret, b.turn_secret);
    assert_string_equal(a.videoroom_admin_key, b.videoroom_admin_key);
    media_secrets_clear(&b);
    assert_null(b.turn_secret);

    /* Readable by others: refused, and the message never shows a secret. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(media_secrets_load(path, false, &b, why, sizeof why), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "chmod 600"));
    assert_null(strstr(why, a.turn_secret));

    /* An operator's file with a secret that would break a configuration line. */
    const char bad[] = "{\"janus_api_secret\":\"0123456789abcdef\",\"janus_admin_secret\":"
                       "\"0123456789abcdef\",\"videoroom_admin_key\":\"0123456789abcdef\","
                       "\"turn_secret\":\"has a space in it!!\"}";
    assert_int_equal(cc_file_write_atomic(path, bad, strlen(bad), 0600), CC_OK);
    assert_int_equal(media_secrets_load(path, false, &b, why, sizeof why), CC_ERR_INVALID);
    assert_non_null(strstr(why, "turn_secret"));
    assert_null(b.janus_api_secret);

    media_secrets_clear(&a);
    unlink(path);
    rmdir(dir);
}

static cc_config *media_cfg(void)
{
    cc_config *cfg = cc_config_new();
    if (!cfg || cc_config_register(cfg, core_config_keys, core_config_keys_count) != CC_OK ||
        cc_config_register(cfg, media_config_keys, media_config_keys_count) != CC_OK)
        return NULL;
    return cfg;
}

static void test_config_check(void **state)
{
    char why[256];
    (void)state;
    cc_config *cfg = media_cfg();
    assert_non_null(cfg);
    assert_int_equal(media_config_check(cfg, why, sizeof why), CC_OK); /* off */

    assert_int_equal(cc_config_set(cfg, "media_mode", "sideways", why, sizeof why), CC_OK);
    assert_int_equal(media_config_check(cfg, why, sizeof why), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "media_mode"));

    assert_int_equal(cc_config_set(cfg, "media_mode", "embedded", why, sizeof why), CC_OK);
    assert_int_equal(media_config_check(cfg, why, sizeof why), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "media_ip: required"));

    assert_int_equal(cc_config_set(cfg, "media_ip", "not-an-ip", why, sizeof why), CC_OK);
    assert_int_equal(media_config_check(cfg, why, sizeof why), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "media_ip"));

    assert_int_equal(cc_config_set(cfg, "media_ip", "127.0.0.1", why, sizeof why), CC_OK);
    assert_int_equal(cc_config_set(cfg, "rtp_port_range", "40000-20000", why, sizeof why), CC_OK);
    assert_int_equal(media_config_check(cfg, why, sizeof why), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "rtp_port_range"));

    assert_int_equal(cc_config_set(cfg, "rtp_port_range", "20000-40000", why, sizeof why), CC_OK);
    assert_int_equal(cc_config_set(cfg, "janus_binary", "/nonexistent/janus", why, sizeof why),
                     CC_OK);
    assert_int_equal(media_config_check(cfg, why, sizeof why), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "janus_binary: /nonexistent/janus"));

    assert_int_equal(cc_config_set(cfg, "media_mode", "external", why, sizeof why), CC_OK);
    assert_int_equal(media_config_check(cfg, why, sizeof why), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "janus_url"));
    assert_int_equal(cc_config_set(cfg, "janus_url", "ws://10.0.0.5:8188", why, sizeof why), CC_OK);
    assert_int_equal(media_config_check(cfg, why, sizeof why), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "turn_urls"));
    assert_int_equal(
        cc_config_set(cfg, "turn_urls", "turn:10.0.0.6:3478?transport=udp", why, sizeof why),
        CC_OK);
    assert_int_equal(media_config_check(cfg, why, sizeof why), CC_ERR_CONFIG);
    assert_non_null(strstr(why, "media_secrets_file"));
    assert_int_equal(
        cc_config_set(cfg, "media_secrets_file", "/etc/carecomm/media.json", why, sizeof why),
        CC_OK);
    assert_int_equal(media_config_check(cfg, why, sizeof why), CC_OK);
    cc_config_free(cfg);
}

/* ---- the supervisor, with real processes on a real loop ------------------------------------ */

typedef struct {
    int starts, exits;
} proc_counts;

static void count_child(void *ud, media_proc *p, bool running)
{
    proc_counts *c = ud;
    (void)p;
    if (running)
        c->starts++;
    else
        c->exits++;
}

static void stop_proc_cb(uv_timer_t *t)
{
    media_proc_stop(t->data, 300);
    uv_close((uv_handle_t *)t, NULL);
}

/* Runs loop until it has nothing left, after stopping p at stop_after_ms; returns how long. */
static int64_t run_then_stop(uv_loop_t *loop, media_proc *p, uint64_t stop_after_ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = p;
    uv_timer_start(&t, stop_proc_cb, stop_after_ms, 0);
    int64_t start = cc_monotonic_ms();
    uv_run(loop, UV_RUN_DEFAULT);
    return cc_monotonic_ms() - start;
}

static void test_proc_restart_backoff(void **state)
{
    char dir[] = "/tmp/carecomm-proc-XXXXXX", log[256], pid[256];
    uv_loop_t loop;
    proc_counts c = {0, 0};
    media_proc *p = NULL;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(log, sizeof log, "%s/child.log", dir);
    snprintf(pid, sizeof pid, "%s/child.pid", dir);
    assert_int_equal(uv_loop_init(&loop), 0);
    /* A child that dies at once: restarted after 0.5 s, then 1 s, then 2 s. */
    char *const argv[] = {"/bin/sh", "-c", "echo child output; exit 3", NULL};
    assert_int_equal(media_proc_start(&loop, "dies", argv, log, pid, count_child, &c, &p), CC_OK);
    run_then_stop(&loop, p, 2200);
    assert_int_equal(c.starts, 3); /* at 0, 0.5 and 1.5 s; the next would be at 3.5 s */
    assert_int_equal(c.exits, 3);
    assert_int_equal(media_proc_restarts(p), 2);
    assert_false(media_proc_running(p));
    char *text = NULL;
    size_t n;
    assert_int_equal(cc_file_read(log, 4096, &text, &n), CC_OK);
    assert_non_null(strstr(text, "child output\nchild output\nchild output\n"));
    cc_free(&text);
    media_proc_free(p);
    assert_int_equal(uv_loop_close(&loop), 0);
    unlink(log);
    rmdir(dir);
}

static void test_proc_stop_escalates(void **state)
{
    char dir[] = "/tmp/carecomm-proc-XXXXXX", log[256], pid[256];
    uv_loop_t loop;
    proc_counts c = {0, 0};
    media_proc *p = NULL;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(log, sizeof log, "%s/child.log", dir);
    snprintf(pid, sizeof pid, "%s/child.pid", dir);
    assert_int_equal(uv_loop_init(&loop), 0);
    /* A child that ignores SIGTERM: killed 300 ms after it, and the loop waits for that. */
    char *const argv[] = {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done", NULL};
    assert_int_equal(media_proc_start(&loop, "stubborn", argv, log, pid, count_child, &c, &p),
                     CC_OK);
    int child = media_proc_pid(p);
    assert_true(child > 0);
    assert_int_equal(access(pid, F_OK), 0);
    int64_t took = run_then_stop(&loop, p, 200);
    assert_true(took >= 450 && took < 3000);
    assert_int_equal(c.starts, 1);
    assert_int_equal(c.exits, 1);
    assert_int_equal(media_proc_restarts(p), 0);
    assert_int_equal(access(pid, F_OK), -1); /* the pid file goes with the child */
    media_proc_free(p);
    assert_int_equal(uv_loop_close(&loop), 0);
    unlink(log);
    rmdir(dir);
}

int main(void)
{
    if (cc_crypto_init() != CC_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_turn_credential_vector),
        cmocka_unit_test(test_ice_servers_shape),
        cmocka_unit_test(test_port_range),
        cmocka_unit_test(test_janus_conf),
        cmocka_unit_test(test_turn_conf),
        cmocka_unit_test(test_url_host_port),
        cmocka_unit_test(test_janus_probe_parser),
        cmocka_unit_test(test_secrets_file),
        cmocka_unit_test(test_config_check),
        cmocka_unit_test(test_proc_restart_backoff),
        cmocka_unit_test(test_proc_stop_escalates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
