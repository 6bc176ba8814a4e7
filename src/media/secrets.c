/* media/secrets: the secrets carecommd shares with Janus (API, admin, VideoRoom admin key) and
 * coturn (the TURN REST static-auth-secret), kept in a 0600 JSON file beside server.key and
 * never in carecomm.conf, a log or the repository. */
#include "media/media_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRETS_MAX_BYTES 4096
#define SECRET_MIN_LEN 16
#define SECRET_MAX_LEN 256

static const char *const secret_names[] = {"janus_api_secret", "janus_admin_secret",
                                           "videoroom_admin_key", "turn_secret"};

static char **secret_slot(media_secrets *s, size_t i)
{
    char **slots[] = {&s->janus_api_secret, &s->janus_admin_secret, &s->videoroom_admin_key,
                      &s->turn_secret};
    return slots[i];
}

static void secret_wipe(char **p)
{
    if (*p)
        sodium_memzero(*p, strlen(*p));
    cc_free(p);
}

void media_secrets_clear(media_secrets *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < 4; i++)
        secret_wipe(secret_slot(s, i));
}

/* Secrets go into Janus's libconfig files and coturn's line-based file unquoted or in double
 * quotes: printable ASCII without quotes, backslashes, spaces or '#' cannot break either. */
static bool secret_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < SECRET_MIN_LEN || n > SECRET_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '#' || c == '\'')
            return false;
    }
    return true;
}

/* Created with link() from a synced temporary file, so a second process starting at the same
 * time (another node on a shared folder, a restart racing a crash) never sees half a file or
 * overwrites the first one's secrets: theirs wins and both read it. */
static int secrets_create(const char *path, char *why, size_t whylen)
{
    char tmp[PATH_MAX];
    int fd = -1, rc = CC_ERR_IO;
    bool tmp_made = false;
    json_t *obj = json_object();
    char *text = NULL;
    if (!obj) {
        rc = CC_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < 4; i++) {
        char *tok = cc_random_token(32);
        json_t *v = tok ? json_string(tok) : NULL;
        if (tok)
            sodium_memzero(tok, strlen(tok));
        cc_free(&tok);
        if (!v || json_object_set_new(obj, secret_names[i], v) != 0) {
            rc = CC_ERR_NOMEM;
            goto out;
        }
    }
    if (!(text = json_dumps(obj, JSON_INDENT(2)))) {
        rc = CC_ERR_NOMEM;
        goto out;
    }
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        rc = CC_ERR_INVALID;
        cc_say(why, whylen, "path too long: %s", path);
        goto out;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        cc_say(why, whylen, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    tmp_made = true;
    size_t n = strlen(text), off = 0;
    if (fchmod(fd, 0600) != 0)
        goto write_failed;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            goto write_failed;
        off += (size_t)w;
    }
    if (write(fd, "\n", 1) != 1 || fsync(fd) != 0)
        goto write_failed;
    if (link(tmp, path) != 0 && errno != EEXIST) {
        cc_say(why, whylen, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    rc = CC_OK;
    goto out;
write_failed:
    cc_say(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (tmp_made)
        unlink(tmp);
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text); /* jansson's allocator */
    }
    json_decref(obj);
    return rc;
}

static int secrets_read(const char *path, media_secrets *out, char *why, size_t whylen)
{
    struct stat sb;
    char buf[SECRETS_MAX_BYTES + 1];
    size_t got = 0;
    json_t *obj = NULL;
    int rc = CC_ERR_IO;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = errno == ENOENT ? CC_ERR_NOT_FOUND : CC_ERR_IO;
        cc_say(why, whylen, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cc_say(why, whylen, "%s is not a readable regular file", path);
        goto out;
    }
    if (sb.st_mode & 077) {
        rc = CC_ERR_CONFIG;
        cc_say(why, whylen,
               "%s has mode %04o: other users may read the media secrets; chmod 600 it (and "
               "consider them leaked if they could)",
               path, (unsigned)(sb.st_mode & 07777));
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cc_say(why, whylen, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got == sizeof(buf) - 1) {
            rc = CC_ERR_INVALID;
            cc_say(why, whylen, "%s is larger than %d bytes", path, SECRETS_MAX_BYTES);
            goto out;
        }
    }
    json_error_t jerr;
    if (!(obj = json_loadb(buf, got, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(obj)) {
        rc = CC_ERR_INVALID;
        cc_say(why, whylen, "%s: not a JSON object", path);
        goto out;
    }
    for (size_t i = 0; i < 4; i++) {
        const char *v = json_string_value(json_object_get(obj, secret_names[i]));
        if (!v || !secret_ok(v)) {
            rc = CC_ERR_INVALID;
            cc_say(why, whylen,
                   "%s: \"%s\" must be a string of %d to %d printable characters without spaces, "
                   "quotes, backslashes or '#'",
                   path, secret_names[i], SECRET_MIN_LEN, SECRET_MAX_LEN);
            goto out;
        }
        if (!(*secret_slot(out, i) = cc_strdup(v))) {
            rc = CC_ERR_NOMEM;
            goto out;
        }
    }
    rc = CC_OK;
out:
    if (fd >= 0)
        close(fd);
    sodium_memzero(buf, sizeof buf);
    if (obj) {
        /* The parsed strings hold the secrets too. */
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v)
        {
            if (json_is_string(v))
                sodium_memzero((void *)json_string_value(v), json_string_length(v));
        }
        json_decref(obj);
    }
    if (rc != CC_OK)
        media_secrets_clear(out);
    return rc;
}

int media_secrets_load(const char *path, bool create, media_secrets *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    int rc = secrets_read(path, out, why, whylen);
    if (rc == CC_ERR_NOT_FOUND && create) {
        if ((rc = secrets_create(path, why, whylen)) == CC_OK)
            rc = secrets_read(path, out, why, whylen);
    }
    return rc;
}
