/* media/conf: the configuration files carecommd writes for its own Janus and coturn (pure text
 * generation; media.c writes them). They are regenerated at every start, so what runs always
 * follows carecomm.conf; docs/media.md explains each choice. */
#include "media/media_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

int media_port_range_parse(const char *s, int *min, int *max)
{
    char *end;
    if (!s || !*s)
        return CC_ERR_INVALID;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '-')
        return CC_ERR_INVALID;
    const char *b_start = end + 1;
    long b = strtol(b_start, &end, 10);
    if (end == b_start || *end != '\0')
        return CC_ERR_INVALID;
    /* Privileged ports are never media ports, and a range of one port serves one stream. */
    if (a < 1024 || b > 65535 || a >= b)
        return CC_ERR_INVALID;
    *min = (int)a;
    *max = (int)b;
    return CC_OK;
}

bool media_ip_is_loopback(const char *ip)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!ip)
        return false;
    if (inet_pton(AF_INET, ip, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, ip, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* Janus's API and admin API are reached only by carecommd on loopback: the listeners bind to
 * 127.0.0.1 and their ACLs refuse anything else, and both still demand their secrets. Plugins,
 * transports, event handlers and loggers are loaded from folders media.c fills with links to the
 * ones we use (VideoRoom, WebSockets) and nothing else, which needs no list of every .so Debian
 * ships. */
char *media_conf_janus(const media_janus_params *p)
{
    cc_buf b = {0};
    int rc = cc_buf_appendf(&b,
                            "# Written by carecommd at every start: edit carecomm.conf instead "
                            "(docs/media.md).\n"
                            "general: {\n"
                            "\tconfigs_folder = \"%s\"\n"
                            "\tplugins_folder = \"%s/plugins\"\n"
                            "\ttransports_folder = \"%s/transports\"\n"
                            "\tevents_folder = \"%s/events\"\n"
                            "\tloggers_folder = \"%s/loggers\"\n"
                            "\tlog_to_stdout = true\n"
                            "\tdebug_level = 4\n"
                            "\tdebug_timestamps = true\n"
                            "\tserver_name = \"carecomm\"\n"
                            "\tsession_timeout = 60\n"
                            "\thide_dependencies = true\n"
                            "\ttoken_auth = false\n"
                            "\tapi_secret = \"%s\"\n"
                            "\tadmin_secret = \"%s\"\n"
                            "}\n"
                            "certificates: {\n}\n"
                            "media: {\n"
                            "\tipv6 = false\n"
                            "\trtp_port_range = \"%s\"\n"
                            "}\n"
                            "nat: {\n"
                            "\tnice_debug = false\n"
                            "\tice_lite = false\n"
                            "\tice_tcp = false\n"
                            "\tignore_mdns = true\n",
                            p->dir, p->dir, p->dir, p->dir, p->dir, p->secrets->janus_api_secret,
                            p->secrets->janus_admin_secret, p->rtp_port_range);
    /* Janus never gathers loopback candidates: an enforce list naming a loopback address would
     * leave it none at all, so a loopback media_ip (tests of signalling) gets no list. */
    if (!media_ip_is_loopback(p->media_ip))
        rc |= cc_buf_appendf(&b, "\tice_enforce_list = \"%s\"\n", p->media_ip);
    if (p->public_ip && *p->public_ip)
        rc |= cc_buf_appendf(&b, "\tnat_1_1_mapping = \"%s\"\n\tkeep_private_host = true\n",
                             p->public_ip);
    rc |= cc_buf_appendf(&b, "}\n"
                             "plugins: {\n}\n"
                             "transports: {\n}\n"
                             "loggers: {\n}\n"
                             "events: {\n\tbroadcast = false\n}\n");
    if (rc != CC_OK) {
        cc_buf_free(&b);
        return NULL;
    }
    return b.data;
}

char *media_conf_janus_ws(const media_janus_params *p)
{
    cc_buf b = {0};
    int rc = cc_buf_appendf(&b,
                            "# Written by carecommd at every start (docs/media.md).\n"
                            "general: {\n"
                            "\tjson = \"compact\"\n"
                            "\tws = true\n"
                            "\tws_port = %d\n"
                            "\tws_ip = \"127.0.0.1\"\n"
                            "\tws_acl = \"127.0.0.1\"\n"
                            "\twss = false\n"
                            "\tws_logging = \"err,warn\"\n"
                            "}\n"
                            "admin: {\n"
                            "\tadmin_ws = true\n"
                            "\tadmin_ws_port = %d\n"
                            "\tadmin_ws_ip = \"127.0.0.1\"\n"
                            "\tadmin_ws_acl = \"127.0.0.1\"\n"
                            "\tadmin_wss = false\n"
                            "}\n"
                            "certificates: {\n}\n",
                            p->api_port, p->admin_port);
    if (rc != CC_OK) {
        cc_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* No rooms here: carecommd creates each meeting's room through the API, which admin_key
 * reserves to it; string_ids lets rooms carry carecomm's ids. */
char *media_conf_videoroom(const media_janus_params *p)
{
    cc_buf b = {0};
    int rc = cc_buf_appendf(&b,
                            "# Written by carecommd at every start (docs/media.md).\n"
                            "general: {\n"
                            "\tadmin_key = \"%s\"\n"
                            "\tlock_rtp_forward = true\n"
                            "\tstring_ids = true\n"
                            "}\n",
                            p->secrets->videoroom_admin_key);
    if (rc != CC_OK) {
        cc_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Peers a relay may send to: never the hospital's private networks or this host (a TURN server
 * is otherwise a way into them), except the one address Janus receives media on. */
static const char *const turn__denied[] = {
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.0.0.0-192.0.0.255",
    "192.0.2.0-192.0.2.255",
    "192.88.99.0-192.88.99.255",
    "192.168.0.0-192.168.255.255",
    "198.18.0.0-198.19.255.255",
    "198.51.100.0-198.51.100.255",
    "203.0.113.0-203.0.113.255",
    "224.0.0.0-255.255.255.255",
    "::1",
    "64:ff9b::-64:ff9b::ffff:ffff",
    "::ffff:0.0.0.0-::ffff:255.255.255.255",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
};

char *media_conf_turn(const media_turn_params *p)
{
    cc_buf b = {0};
    int rc = cc_buf_appendf(&b,
                            "# Written by carecommd at every start: edit carecomm.conf instead "
                            "(docs/media.md).\n"
                            "listening-port=%d\n"
                            "listening-ip=%s\n"
                            "relay-ip=%s\n"
                            "min-port=%d\n"
                            "max-port=%d\n"
                            "realm=%s\n"
                            "use-auth-secret\n"
                            "static-auth-secret=%s\n"
                            "fingerprint\n"
                            "no-cli\n"
                            "no-multicast-peers\n"
                            "no-software-attribute\n"
                            "no-rfc5780\n"
                            "no-tlsv1\n"
                            "no-tlsv1_1\n"
                            "stale-nonce=600\n"
                            "userdb=%s/turndb\n"
                            "pidfile=%s/turnserver.coturn.pid\n"
                            "log-file=stdout\n"
                            "simple-log\n",
                            p->port, p->media_ip, p->media_ip, p->relay_min, p->relay_max, p->realm,
                            p->secret, p->dir, p->dir);
    if (p->public_ip && *p->public_ip)
        rc |= cc_buf_appendf(&b, "external-ip=%s/%s\n", p->public_ip, p->media_ip);
    if (p->tls_port > 0)
        rc |= cc_buf_appendf(&b, "tls-listening-port=%d\ncert=%s\npkey=%s\nno-dtls\n", p->tls_port,
                             p->tls_cert, p->tls_key);
    else
        rc |= cc_buf_appendf(&b, "no-tls\nno-dtls\n");
    for (size_t i = 0; i < sizeof(turn__denied) / sizeof(turn__denied[0]); i++)
        rc |= cc_buf_appendf(&b, "denied-peer-ip=%s\n", turn__denied[i]);
    rc |= cc_buf_appendf(&b, "allowed-peer-ip=%s\n", p->media_ip);
    /* Only tests run media on loopback; coturn refuses loopback peers unless told. */
    if (media_ip_is_loopback(p->media_ip))
        rc |= cc_buf_appendf(&b, "allow-loopback-peers\n");
    if (rc != CC_OK) {
        cc_buf_free(&b);
        return NULL;
    }
    return b.data;
}
