/* media/secrets: the secrets carecommd shares with Janus (API, admin, VideoRoom admin key) and
 * coturn (the TURN REST static-auth-secret), kept in a 0600 JSON file beside server.key and
 * never in carecomm.conf, a log or the repository. */
#include "media/media_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

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
    int rc = CC_ERR_IO;
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
    rc = cc_file_create_private(path, text, strlen(text), why, whylen);
out:
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text); /* jansson's allocator */
    }
    json_decref(obj);
    return rc;
}

static int secrets_read(const char *path, media_secrets *out, char *why, size_t whylen)
{
    char buf[SECRETS_MAX_BYTES];
    size_t got = 0;
    json_t *obj = NULL;
    int rc = cc_file_read_private(path, "the media secrets", buf, sizeof buf, &got, why, whylen);
    if (rc != CC_OK)
        goto out;
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
