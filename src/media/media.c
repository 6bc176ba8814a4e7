/* media: configuration, start-up and wiring of the media engine (see media.h). In embedded mode
 * it lays out <data_dir>/media/ — secrets.json, janus/ (configs and links to the two Janus
 * modules we load), turnserver.conf, the children's logs and pid files — and hands the children
 * to the supervisor (proc.c) and the probes (probe.c). */
#include "media/meeting_internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROBE_INTERVAL_MS 3000
#define KILL_AFTER_MS 5000
#define NOFILE_WANTED 65536

const cc_cfg_key media_config_keys[] = {
    {"media_mode", CC_CFG_STRING, "off", 0, 0, false,
     "Media engine of meetings: off, embedded (carecommd runs Janus and coturn itself) or "
     "external (the services named by janus_url and turn_urls); see docs/media.md"},
    {"media_ip", CC_CFG_STRING, NULL, 0, 0, false,
     "IPv4 address Janus and coturn use for media (candidates, TURN listening and relay); "
     "required when embedded"},
    {"media_public_ip", CC_CFG_STRING, NULL, 0, 0, false,
     "Public IPv4 address when media_ip is behind 1:1 NAT (Janus nat_1_1_mapping, coturn "
     "external-ip); empty: none"},
    {"rtp_port_range", CC_CFG_STRING, "20000-40000", 0, 0, false,
     "UDP ports Janus uses for media, min-max (embedded)"},
    {"janus_binary", CC_CFG_STRING, "/usr/bin/janus", 0, 0, false, "Janus executable (embedded)"},
    {"janus_lib_dir", CC_CFG_STRING, "/usr/lib/x86_64-linux-gnu/janus", 0, 0, false,
     "Folder holding Janus's plugins/ and transports/ (embedded)"},
    {"janus_api_port", CC_CFG_INT, "8188", 1, 65535, false,
     "Port of Janus's WebSocket API on 127.0.0.1 (embedded)"},
    {"janus_admin_port", CC_CFG_INT, "7188", 1, 65535, false,
     "Port of Janus's WebSocket admin API on 127.0.0.1 (embedded)"},
    {"janus_url", CC_CFG_STRING, NULL, 0, 0, false,
     "WebSocket URL of Janus's API, ws://host:port (external); keep it on a private network"},
    {"turnserver_binary", CC_CFG_STRING, "/usr/bin/turnserver", 0, 0, false,
     "coturn executable (embedded)"},
    {"turn_port", CC_CFG_INT, "3478", 1, 65535, false,
     "UDP and TCP port of TURN on media_ip (embedded)"},
    {"turn_relay_port_range", CC_CFG_STRING, "49152-65535", 0, 0, false,
     "UDP ports coturn relays through, min-max (embedded)"},
    {"turn_realm", CC_CFG_STRING, "carecomm", 0, 0, false, "TURN realm (embedded)"},
    {"turn_host", CC_CFG_STRING, NULL, 0, 0, false,
     "Host put in the turn: URLs clients get (embedded); must match turn_tls_cert for turns:; "
     "empty: media_public_ip, else media_ip"},
    {"turn_tls_port", CC_CFG_INT, "0", 0, 65535, false,
     "TURN over TLS port for turns: URLs (embedded), 443 to pass strict firewalls; 0: off"},
    {"turn_tls_cert", CC_CFG_STRING, NULL, 0, 0, false,
     "PEM certificate chain of turn_host (with turn_tls_port)"},
    {"turn_tls_key", CC_CFG_STRING, NULL, 0, 0, false,
     "PEM private key of turn_tls_cert (with turn_tls_port)"},
    {"turn_urls", CC_CFG_STRING, NULL, 0, 0, false,
     "Comma-separated TURN URLs clients get (external), e.g. "
     "turn:turn.example:3478?transport=udp,turns:turn.example:443?transport=tcp"},
    {"turn_credential_ttl_seconds", CC_CFG_INT, "14400", 60, 86400, false,
     "Lifetime of the TURN credentials a client gets when it joins"},
    {"media_secrets_file", CC_CFG_STRING, NULL, 0, 0, false,
     "JSON file (mode 0600) with janus_api_secret, janus_admin_secret, videoroom_admin_key and "
     "turn_secret (external); embedded creates <data_dir>/media/secrets.json"},
    {"meeting_max_publishers", CC_CFG_INT, "16", 2, 100, false,
     "Participants who may send media at once in one meeting room (Janus publishers)"},
    {"meeting_max_participants", CC_CFG_INT, "100", 2, 1000, false,
     "People in one meeting at once (those who only watch included); the next gets meeting_full"},
    {"meeting_bitrate", CC_CFG_INT, "1024000", 64000, 8000000, false,
     "Cap on each publisher's video bitrate in a meeting, bits per second (below 1 Mbps the "
     "first keyframe comes late)"},
    {"call_ring_seconds", CC_CFG_INT, "30", 5, 300, false,
     "How long a call from a conversation rings before it counts as missed"},
};
const size_t media_config_keys_count = sizeof(media_config_keys) / sizeof(media_config_keys[0]);

static bool set(const char *v)
{
    return v && *v;
}

static int mode_parse(const char *s, media_mode *out)
{
    static const char *const names[] = {"off", "embedded", "external"};
    for (int i = 0; i < 3; i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *out = (media_mode)i;
            return CC_OK;
        }
    }
    return CC_ERR_INVALID;
}

static bool ipv4_ok(const char *s)
{
    struct in_addr a;
    return s && inet_pton(AF_INET, s, &a) == 1;
}

/* Paths go into Janus's libconfig files in double quotes and coturn's lines. */
static bool path_ok(const char *s)
{
    return s && *s && !strpbrk(s, "\"\\\n\r#");
}

static int check_file(const char *key, const char *path, int mode, char *why, size_t whylen)
{
    struct stat sb;
    if (!set(path) || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || access(path, mode) != 0) {
        cc_say(why, whylen, "%s: %s is not %s file%s", key, set(path) ? path : "(unset)",
               mode == X_OK ? "an executable" : "a readable",
               mode == X_OK ? " (install Debian's janus and coturn: scripts/install-deps)" : "");
        return CC_ERR_CONFIG;
    }
    return CC_OK;
}

static int check_embedded(const cc_config *cfg, char *why, size_t whylen)
{
    int a, b, rc;
    const char *ip = cc_config_str(cfg, "media_ip"), *pub = cc_config_str(cfg, "media_public_ip");
    if (!set(ip)) {
        cc_say(why, whylen,
               "media_ip: required when media_mode = embedded (the IPv4 address of this host that "
               "browsers reach for media)");
        return CC_ERR_CONFIG;
    }
    if (!ipv4_ok(ip)) {
        cc_say(why, whylen, "media_ip: must be an IPv4 address");
        return CC_ERR_CONFIG;
    }
    if (set(pub) && !ipv4_ok(pub)) {
        cc_say(why, whylen, "media_public_ip: must be an IPv4 address");
        return CC_ERR_CONFIG;
    }
    if (media_port_range_parse(cc_config_str(cfg, "rtp_port_range"), &a, &b) != CC_OK) {
        cc_say(why, whylen, "rtp_port_range: must be min-max with 1024 <= min < max <= 65535");
        return CC_ERR_CONFIG;
    }
    if (media_port_range_parse(cc_config_str(cfg, "turn_relay_port_range"), &a, &b) != CC_OK) {
        cc_say(why, whylen,
               "turn_relay_port_range: must be min-max with 1024 <= min < max <= 65535");
        return CC_ERR_CONFIG;
    }
    int64_t api = cc_config_int(cfg, "janus_api_port"),
            adm = cc_config_int(cfg, "janus_admin_port");
    int64_t turn = cc_config_int(cfg, "turn_port"), tls = cc_config_int(cfg, "turn_tls_port");
    if (api == adm || (tls && tls == turn)) {
        cc_say(why, whylen, "%s: must differ from %s",
               api == adm ? "janus_admin_port" : "turn_tls_port",
               api == adm ? "janus_api_port" : "turn_port");
        return CC_ERR_CONFIG;
    }
    if (tls && ((rc = check_file("turn_tls_cert", cc_config_str(cfg, "turn_tls_cert"), R_OK, why,
                                 whylen)) != CC_OK ||
                (rc = check_file("turn_tls_key", cc_config_str(cfg, "turn_tls_key"), R_OK, why,
                                 whylen)) != CC_OK))
        return rc;
    if (tls && (!path_ok(cc_config_str(cfg, "turn_tls_cert")) ||
                !path_ok(cc_config_str(cfg, "turn_tls_key")))) {
        cc_say(why, whylen, "turn_tls_cert: paths may not contain quotes, backslashes or '#'");
        return CC_ERR_CONFIG;
    }
    const char *realm = cc_config_str(cfg, "turn_realm"), *host = cc_config_str(cfg, "turn_host");
    if (!path_ok(realm) || strpbrk(realm, " \t")) {
        cc_say(why, whylen, "turn_realm: must be a non-empty word");
        return CC_ERR_CONFIG;
    }
    if (set(host) && strpbrk(host, " \t,\"\\/?#@")) {
        cc_say(why, whylen, "turn_host: must be a host name or an address");
        return CC_ERR_CONFIG;
    }
    if (!path_ok(cc_config_str(cfg, "data_dir"))) {
        cc_say(why, whylen, "data_dir: may not contain quotes, backslashes or '#' with media");
        return CC_ERR_CONFIG;
    }
    if ((rc = check_file("janus_binary", cc_config_str(cfg, "janus_binary"), X_OK, why, whylen)) !=
            CC_OK ||
        (rc = check_file("turnserver_binary", cc_config_str(cfg, "turnserver_binary"), X_OK, why,
                         whylen)) != CC_OK)
        return rc;
    const char *lib = cc_config_str(cfg, "janus_lib_dir");
    static const char *const mods[] = {"plugins/libjanus_videoroom.so",
                                       "transports/libjanus_websockets.so"};
    for (size_t i = 0; i < 2; i++) {
        char *p = cc_sprintf("%s/%s", lib ? lib : "", mods[i]);
        rc = p ? check_file("janus_lib_dir", p, R_OK, why, whylen) : CC_ERR_NOMEM;
        cc_free(&p);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

static int check_external(const cc_config *cfg, char *why, size_t whylen)
{
    const char *url = cc_config_str(cfg, "janus_url"), *turn = cc_config_str(cfg, "turn_urls");
    char host[256];
    int port;
    if (!set(url) || strncmp(url, "ws://", 5) != 0 ||
        media_url_host_port(url, host, sizeof host, 8188, &port) != CC_OK) {
        cc_say(why, whylen, "janus_url: required when media_mode = external, as ws://host:port");
        return CC_ERR_CONFIG;
    }
    if (!set(turn)) {
        cc_say(why, whylen, "turn_urls: required when media_mode = external");
        return CC_ERR_CONFIG;
    }
    if (!set(cc_config_str(cfg, "media_secrets_file"))) {
        cc_say(why, whylen,
               "media_secrets_file: required when media_mode = external (the secrets Janus and "
               "coturn were configured with)");
        return CC_ERR_CONFIG;
    }
    return CC_OK;
}

int media_config_check(const cc_config *cfg, char *why, size_t whylen)
{
    media_mode mode;
    if (mode_parse(cc_config_str(cfg, "media_mode"), &mode) != CC_OK) {
        cc_say(why, whylen, "media_mode: must be off, embedded or external");
        return CC_ERR_CONFIG;
    }
    if (mode == MEDIA_EMBEDDED)
        return check_embedded(cfg, why, whylen);
    if (mode == MEDIA_EXTERNAL)
        return check_external(cfg, why, whylen);
    return CC_OK;
}

/* ---- embedded: the files ------------------------------------------------------------------- */

static int write_text(const char *path, char *text, char *why, size_t whylen)
{
    if (!text)
        return CC_ERR_NOMEM;
    int rc = cc_file_write_atomic(path, text, strlen(text), 0600);
    cc_free(&text);
    if (rc != CC_OK)
        cc_say(why, whylen, "cannot write %s: %s", path, cc_strerror(rc));
    return rc;
}

/* Empties dir (our own links from a previous start) and links the named module into it. */
static int link_modules(const char *dir, const char *target, char *why, size_t whylen)
{
    int rc = cc_mkdir_p(dir);
    if (rc != CC_OK) {
        cc_say(why, whylen, "cannot create %s: %s", dir, cc_strerror(rc));
        return rc;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = cc_sprintf("%s/%s", dir, e->d_name);
        if (p)
            unlink(p);
        cc_free(&p);
    }
    if (d)
        closedir(d);
    if (!target)
        return CC_OK;
    const char *base = strrchr(target, '/');
    char *link_path = cc_sprintf("%s/%s", dir, base ? base + 1 : target);
    if (!link_path)
        return CC_ERR_NOMEM;
    if (symlink(target, link_path) != 0) {
        cc_say(why, whylen, "cannot link %s: %s", link_path, strerror(errno));
        rc = CC_ERR_IO;
    }
    cc_free(&link_path);
    return rc;
}

typedef struct {
    char *media_dir, *janus_dir, *janus_cfg, *turn_cfg;
} media_paths;

static void paths_free(media_paths *p)
{
    cc_free(&p->media_dir);
    cc_free(&p->janus_dir);
    cc_free(&p->janus_cfg);
    cc_free(&p->turn_cfg);
}

static int write_configs(media *m, const media_paths *ps, char *why, size_t whylen)
{
    const cc_config *cfg = m->cfg;
    const char *lib = cc_config_str(cfg, "janus_lib_dir");
    int rc, relay_min, relay_max;
    char *sub = NULL, *target = NULL;
    media_janus_params jp = {
        .dir = ps->janus_dir,
        .media_ip = cc_config_str(cfg, "media_ip"),
        .public_ip = cc_config_str(cfg, "media_public_ip"),
        .rtp_port_range = cc_config_str(cfg, "rtp_port_range"),
        .api_port = (int)cc_config_int(cfg, "janus_api_port"),
        .admin_port = (int)cc_config_int(cfg, "janus_admin_port"),
        .secrets = &m->secrets,
    };
    media_port_range_parse(cc_config_str(cfg, "turn_relay_port_range"), &relay_min, &relay_max);
    media_turn_params tp = {
        .dir = ps->media_dir,
        .media_ip = jp.media_ip,
        .public_ip = jp.public_ip,
        .port = (int)cc_config_int(cfg, "turn_port"),
        .relay_min = relay_min,
        .relay_max = relay_max,
        .realm = cc_config_str(cfg, "turn_realm"),
        .tls_port = (int)cc_config_int(cfg, "turn_tls_port"),
        .tls_cert = cc_config_str(cfg, "turn_tls_cert"),
        .tls_key = cc_config_str(cfg, "turn_tls_key"),
        .secret = m->secrets.turn_secret,
    };
    static const char *const folders[][2] = {{"plugins", "plugins/libjanus_videoroom.so"},
                                             {"transports", "transports/libjanus_websockets.so"},
                                             {"events", NULL},
                                             {"loggers", NULL}};
    for (size_t i = 0; i < 4; i++) {
        sub = cc_sprintf("%s/%s", ps->janus_dir, folders[i][0]);
        target = folders[i][1] ? cc_sprintf("%s/%s", lib, folders[i][1]) : NULL;
        if (!sub || (folders[i][1] && !target)) {
            rc = CC_ERR_NOMEM;
            goto out;
        }
        if ((rc = link_modules(sub, target, why, whylen)) != CC_OK)
            goto out;
        cc_free(&sub);
        cc_free(&target);
    }
    if (!(sub = cc_sprintf("%s/janus.transport.websockets.jcfg", ps->janus_dir)) ||
        !(target = cc_sprintf("%s/janus.plugin.videoroom.jcfg", ps->janus_dir))) {
        rc = CC_ERR_NOMEM;
        goto out;
    }
    if ((rc = write_text(ps->janus_cfg, media_conf_janus(&jp), why, whylen)) != CC_OK ||
        (rc = write_text(sub, media_conf_janus_ws(&jp), why, whylen)) != CC_OK ||
        (rc = write_text(target, media_conf_videoroom(&jp), why, whylen)) != CC_OK ||
        (rc = write_text(ps->turn_cfg, media_conf_turn(&tp), why, whylen)) != CC_OK)
        goto out;
out:
    cc_free(&sub);
    cc_free(&target);
    return rc;
}

/* Janus needs a descriptor per socket of every stream ("Too many open files" otherwise); the
 * children inherit our limit, so raise our soft limit to what the hard one allows. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= NOFILE_WANTED)
        return;
    rlim_t want =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > NOFILE_WANTED ? NOFILE_WANTED : rl.rlim_max;
    if (want > rl.rlim_cur) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096)
        cc_logf(CC_LOG_WARN, "open-file limit is low for Janus; raise it (ulimit -n)", "{s:I}",
                "limit", (json_int_t)rl.rlim_cur);
}

static void on_child(void *ud, media_proc *p, bool running)
{
    media *m = ud;
    if (running)
        return;
    /* Down now, not at the next probe. */
    media_probe_kick(p == m->janus ? m->janus_probe : m->turn_probe);
}

static int start_embedded(media *m, char *why, size_t whylen)
{
    const cc_config *cfg = m->cfg;
    const char *data_dir = cc_config_str(cfg, "data_dir");
    media_paths ps = {0};
    char *secrets = NULL, *log = NULL, *pid = NULL, *host = NULL;
    int rc = CC_ERR_NOMEM;
    int64_t turn_port = cc_config_int(cfg, "turn_port"), tls = cc_config_int(cfg, "turn_tls_port");
    if (!(ps.media_dir = cc_sprintf("%s/media", data_dir)) ||
        !(ps.janus_dir = cc_sprintf("%s/janus", ps.media_dir)) ||
        !(ps.janus_cfg = cc_sprintf("%s/janus.jcfg", ps.janus_dir)) ||
        !(ps.turn_cfg = cc_sprintf("%s/turnserver.conf", ps.media_dir)) ||
        !(secrets = cc_sprintf("%s/secrets.json", ps.media_dir)))
        goto out;
    if ((rc = cc_mkdir_p(ps.janus_dir)) != CC_OK || chmod(ps.media_dir, 0700) != 0) {
        cc_say(why, whylen, "cannot create %s: %s", ps.janus_dir, cc_strerror(rc ? rc : CC_ERR_IO));
        rc = rc ? rc : CC_ERR_IO;
        goto out;
    }
    if ((rc = media_secrets_load(secrets, true, &m->secrets, why, whylen)) != CC_OK ||
        (rc = write_configs(m, &ps, why, whylen)) != CC_OK)
        goto out;
    rc = CC_ERR_NOMEM;
    const char *th = cc_config_str(cfg, "turn_host"), *pub = cc_config_str(cfg, "media_public_ip");
    host = cc_strdup(set(th) ? th : set(pub) ? pub : cc_config_str(cfg, "media_ip"));
    if (!host ||
        !(m->janus_url =
              cc_sprintf("ws://127.0.0.1:%d", (int)cc_config_int(cfg, "janus_api_port"))) ||
        !(m->turn_urls = cc_calloc(4, sizeof(char *))) ||
        !(m->turn_urls[0] = cc_sprintf("turn:%s:%d?transport=udp", host, (int)turn_port)) ||
        !(m->turn_urls[1] = cc_sprintf("turn:%s:%d?transport=tcp", host, (int)turn_port)) ||
        (tls && !(m->turn_urls[2] = cc_sprintf("turns:%s:%d?transport=tcp", host, (int)tls))))
        goto out;
    m->nturn_urls = tls ? 3 : 2;
    raise_nofile();

    /* Probes first: a child's exit kicks its probe. Each child gets its own log and pid file. */
    if ((rc = media_probe_start(m->loop, MEDIA_PROBE_JANUS, "127.0.0.1",
                                (int)cc_config_int(cfg, "janus_api_port"), PROBE_INTERVAL_MS,
                                &m->janus_probe)) != CC_OK ||
        (rc = media_probe_start(m->loop, MEDIA_PROBE_TCP, cc_config_str(cfg, "media_ip"),
                                (int)turn_port, PROBE_INTERVAL_MS, &m->turn_probe)) != CC_OK)
        goto out;
    rc = CC_ERR_NOMEM;
    if (!(log = cc_sprintf("%s/janus.log", ps.media_dir)) ||
        !(pid = cc_sprintf("%s/janus.pid", ps.media_dir)))
        goto out;
    media_proc_reap_stale(pid, ps.janus_cfg);
    char *const jargv[] = {(char *)cc_config_str(cfg, "janus_binary"),
                           "-C",
                           ps.janus_cfg,
                           "-F",
                           ps.janus_dir,
                           "-o",
                           NULL};
    if ((rc = media_proc_start(m->loop, "janus", jargv, log, pid, on_child, m, &m->janus)) != CC_OK)
        goto out;
    cc_free(&log);
    cc_free(&pid);
    rc = CC_ERR_NOMEM;
    if (!(log = cc_sprintf("%s/turnserver.log", ps.media_dir)) ||
        !(pid = cc_sprintf("%s/turnserver.pid", ps.media_dir)))
        goto out;
    media_proc_reap_stale(pid, ps.turn_cfg);
    char *const targv[] = {(char *)cc_config_str(cfg, "turnserver_binary"), "-c", ps.turn_cfg,
                           NULL};
    rc = media_proc_start(m->loop, "turnserver", targv, log, pid, on_child, m, &m->turn);
out:
    paths_free(&ps);
    cc_free(&secrets);
    cc_free(&log);
    cc_free(&pid);
    cc_free(&host);
    return rc;
}

static int start_external(media *m, char *why, size_t whylen)
{
    const cc_config *cfg = m->cfg;
    const char *turn = cc_config_str(cfg, "turn_urls");
    char host[256];
    int port, rc;
    if ((rc = media_secrets_load(cc_config_str(cfg, "media_secrets_file"), false, &m->secrets, why,
                                 whylen)) != CC_OK)
        return rc;
    if (!(m->janus_url = cc_strdup(cc_config_str(cfg, "janus_url"))))
        return CC_ERR_NOMEM;
    size_t n = 1;
    for (const char *c = turn; *c; c++)
        n += *c == ',';
    if (!(m->turn_urls = cc_calloc(n + 1, sizeof(char *))))
        return CC_ERR_NOMEM;
    for (const char *c = turn; *c;) {
        size_t len = strcspn(c, ",");
        while (len && (*c == ' ' || *c == '\t'))
            c++, len--;
        while (len && (c[len - 1] == ' ' || c[len - 1] == '\t'))
            len--;
        if (len) {
            if (!(m->turn_urls[m->nturn_urls] = cc_strndup(c, len)))
                return CC_ERR_NOMEM;
            const char *u = m->turn_urls[m->nturn_urls++];
            if (strncmp(u, "turn:", 5) != 0 && strncmp(u, "turns:", 6) != 0) {
                cc_say(why, whylen, "turn_urls: each URL must start with turn: or turns:");
                return CC_ERR_CONFIG;
            }
        }
        c += strcspn(c, ",");
        if (*c == ',')
            c++;
    }
    if (m->nturn_urls == 0) {
        cc_say(why, whylen, "turn_urls: no URL given");
        return CC_ERR_CONFIG;
    }
    if (media_url_host_port(m->janus_url, host, sizeof host, 8188, &port) != CC_OK ||
        (rc = media_probe_start(m->loop, MEDIA_PROBE_JANUS, host, port, PROBE_INTERVAL_MS,
                                &m->janus_probe)) != CC_OK)
        return rc ? rc : CC_ERR_CONFIG;
    /* coturn listens on TCP on the port of its URLs as well as UDP. */
    if (media_url_host_port(m->turn_urls[0], host, sizeof host, 3478, &port) != CC_OK) {
        cc_say(why, whylen, "turn_urls: cannot read a host and port in the first URL");
        return CC_ERR_CONFIG;
    }
    return media_probe_start(m->loop, MEDIA_PROBE_TCP, host, port, PROBE_INTERVAL_MS,
                             &m->turn_probe);
}

/* ---- readiness and metrics ----------------------------------------------------------------- */

static bool ready_janus(void *ud)
{
    return media_probe_up(((media *)ud)->janus_probe);
}

static bool ready_turn(void *ud)
{
    return media_probe_up(((media *)ud)->turn_probe);
}

static double gauge_janus_up(void *ud)
{
    return ready_janus(ud) ? 1 : 0;
}

static double gauge_turn_up(void *ud)
{
    return ready_turn(ud) ? 1 : 0;
}

static double gauge_janus_restarts(void *ud)
{
    return (double)media_proc_restarts(((media *)ud)->janus);
}

static double gauge_turn_restarts(void *ud)
{
    return (double)media_proc_restarts(((media *)ud)->turn);
}

static int register_status(media *m)
{
    int rc;
    if ((rc = net_server_add_ready_component(m->srv, "janus", ready_janus, m)) != CC_OK ||
        (rc = net_server_add_ready_component(m->srv, "turn", ready_turn, m)) != CC_OK ||
        (rc = net_metrics_add_gauge(m->srv, "carecomm_media_janus_up",
                                    "1 when Janus answers its readiness probe.", gauge_janus_up,
                                    m)) != CC_OK ||
        (rc = net_metrics_add_gauge(m->srv, "carecomm_media_turn_up",
                                    "1 when coturn accepts TCP connections.", gauge_turn_up, m)) !=
            CC_OK)
        return rc;
    if (m->mode != MEDIA_EMBEDDED)
        return CC_OK;
    if ((rc = net_metrics_add_counter(m->srv, "carecomm_media_janus_restarts_total",
                                      "Times carecommd restarted its Janus after it exited.",
                                      gauge_janus_restarts, m)) != CC_OK ||
        (rc = net_metrics_add_counter(m->srv, "carecomm_media_turn_restarts_total",
                                      "Times carecommd restarted its coturn after it exited.",
                                      gauge_turn_restarts, m)) != CC_OK)
        return rc;
    return CC_OK;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int media_create(uv_loop_t *loop, const cc_config *cfg, net_server *srv, account *acct, media **out,
                 char *why, size_t whylen)
{
    int rc;
    *out = NULL;
    cc_say(why, whylen, "%s", "");
    if ((rc = media_config_check(cfg, why, whylen)) != CC_OK)
        return rc;
    media *m = cc_calloc(1, sizeof(*m));
    if (!m)
        return CC_ERR_NOMEM;
    m->loop = loop;
    m->cfg = cfg;
    m->srv = srv;
    m->acct = acct;
    m->ttl_s = cc_config_int(cfg, "turn_credential_ttl_seconds");
    mode_parse(cc_config_str(cfg, "media_mode"), &m->mode);
    /* From here on the caller stops and frees m whatever happens: children or probes may run. */
    *out = m;
    if ((rc = net_server_add_routes(srv, media_routes, media_routes_count, m)) != CC_OK)
        return rc;
    if (m->mode == MEDIA_OFF)
        return CC_OK;
    rc =
        m->mode == MEDIA_EMBEDDED ? start_embedded(m, why, whylen) : start_external(m, why, whylen);
    if (rc == CC_OK)
        rc = register_status(m);
    if (rc == CC_OK && (rc = meeting_create(m, &m->meeting)) != CC_OK)
        cc_say(why, whylen, "meetings: %s", cc_strerror(rc));
    if (rc == CC_OK)
        cc_logf(CC_LOG_INFO, "media engine configured", "{s:s,s:s,s:i}", "mode",
                m->mode == MEDIA_EMBEDDED ? "embedded" : "external", "janus", m->janus_url,
                "turn_urls", (int)m->nturn_urls);
    else if (why && !why[0])
        cc_say(why, whylen, "media: %s", cc_strerror(rc));
    return rc;
}

void media_set_member_check(media *m, media_member_fn fn, void *ud)
{
    if (m)
        meeting_set_member_check(m->meeting, fn, ud);
}

void media_set_consult_check(media *m, media_consult_fn fn, void *ud)
{
    if (m)
        meeting_set_consult_check(m->meeting, fn, ud);
}

void media_set_guest_check(media *m, media_guest_fn fn, void *ud)
{
    if (m)
        meeting_set_guest_check(m->meeting, fn, ud);
}

void media_set_missed_call(media *m, media_missed_fn fn, void *ud)
{
    if (m)
        meeting_set_missed_call(m->meeting, fn, ud);
}

void media_on_events(media *m, const store_event *evs, size_t n)
{
    if (m)
        meeting_on_events(m->meeting, evs, n);
}

media_mode media_get_mode(const media *m)
{
    return m ? m->mode : MEDIA_OFF;
}

const char *media_janus_url(const media *m)
{
    return m && m->mode != MEDIA_OFF ? m->janus_url : NULL;
}

const char *media_janus_api_secret(const media *m)
{
    return m && m->mode != MEDIA_OFF ? m->secrets.janus_api_secret : NULL;
}

const char *media_janus_admin_secret(const media *m)
{
    return m && m->mode != MEDIA_OFF ? m->secrets.janus_admin_secret : NULL;
}

const char *media_videoroom_admin_key(const media *m)
{
    return m && m->mode != MEDIA_OFF ? m->secrets.videoroom_admin_key : NULL;
}

bool media_janus_up(const media *m)
{
    return m && media_probe_up(m->janus_probe);
}

void media_stop(media *m)
{
    if (!m || m->stopped)
        return;
    m->stopped = true;
    meeting_stop(m->meeting);
    media_probe_stop(m->janus_probe);
    media_probe_stop(m->turn_probe);
    media_proc_stop(m->janus, KILL_AFTER_MS);
    media_proc_stop(m->turn, KILL_AFTER_MS);
}

void media_free(media *m)
{
    if (!m)
        return;
    meeting_free(m->meeting);
    media_probe_free(m->janus_probe);
    media_probe_free(m->turn_probe);
    media_proc_free(m->janus);
    media_proc_free(m->turn);
    media_secrets_clear(&m->secrets);
    for (size_t i = 0; m->turn_urls && m->turn_urls[i]; i++)
        cc_free(&m->turn_urls[i]);
    cc_free(&m->turn_urls);
    cc_free(&m->janus_url);
    cc_free_ptr(m);
}
