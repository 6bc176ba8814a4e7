/* media/turn: TURN REST credentials for coturn's use-auth-secret mode, and the route that hands
 * a signed-in user the ICE servers of a meeting. A credential is an expiry and the user's id
 * signed with the secret carecommd shares with coturn: coturn checks it without asking us, and
 * it stops working by itself, so nothing needs revoking. */
#include "media/media_internal.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

int media_turn_credential(const char *secret, int64_t expiry_unix, const char *user, char *username,
                          size_t ulen, char *credential, size_t clen)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!secret || !*secret || !user || !*user || expiry_unix < 0 || clen < 29)
        return CC_ERR_INVALID;
    /* coturn splits the username at its first ':' (the expiry); the user part is only echoed. */
    int n = snprintf(username, ulen, "%lld:%s", (long long)expiry_unix, user);
    if (n < 0 || (size_t)n >= ulen)
        return CC_ERR_INVALID;
    if (!HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)username, (size_t)n,
              mac, &maclen) ||
        maclen != 20)
        return CC_ERR_CRYPTO;
    /* 20 bytes are 28 characters of standard base64 with padding, what coturn compares with. */
    if (EVP_EncodeBlock((unsigned char *)credential, mac, (int)maclen) != 28)
        return CC_ERR_CRYPTO;
    return CC_OK;
}

json_t *media_ice_servers(const media *m, const char *user_id, int64_t now_ms)
{
    char username[128], credential[64];
    if (!m || m->mode == MEDIA_OFF)
        return NULL;
    int64_t expiry = now_ms / 1000 + m->ttl_s;
    if (media_turn_credential(m->secrets.turn_secret, expiry, user_id, username, sizeof username,
                              credential, sizeof credential) != CC_OK)
        return NULL;
    json_t *out = NULL, *urls = json_array();
    for (size_t i = 0; urls && i < m->nturn_urls; i++) {
        if (json_array_append_new(urls, json_string(m->turn_urls[i])) != 0) {
            json_decref(urls);
            urls = NULL;
        }
    }
    /* "o" steals urls even when packing fails, and the array the server. */
    json_t *server = urls ? json_pack("{s:o,s:s,s:s,s:I}", "urls", urls, "username", username,
                                      "credential", credential, "ttl", (json_int_t)m->ttl_s)
                          : NULL;
    if (server)
        out = json_pack("[o]", server);
    memset(credential, 0, sizeof credential);
    return out;
}

/* GET /api/v1/media/ice-servers */
static void media__ice_servers(net_req *r)
{
    media *m = net_req_ud(r);
    if (m->mode == MEDIA_OFF) {
        net_reply_error(r, 404, "media_disabled",
                        "meetings are not enabled on this server (media_mode = off)");
        return;
    }
    const char *user_id = account_principal_user_id(net_req_principal(r));
    json_t *servers = user_id ? media_ice_servers(m, user_id, cc_now_ms()) : NULL;
    if (!servers) {
        net_reply_error(r, 500, "internal", "cannot compute TURN credentials");
        return;
    }
    net_reply_json(r, 200, json_pack("{s:o}", "ice_servers", servers));
}

const net_route media_routes[] = {
    {"GET", "/api/v1/media/ice-servers", PERM_MEETINGS, 0, NULL, 0, media__ice_servers},
};
const size_t media_routes_count = sizeof(media_routes) / sizeof(media_routes[0]);
