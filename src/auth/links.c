/* auth/links: tokens of patient links (see auth.h). */
#include "auth/auth.h"

#include <sodium.h>
#include <string.h>

#define LINK_ID_BYTES 16
#define LINK_MAC_BYTES 32

static bool link_is_b64url(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

void auth_link_new_id(char out[AUTH_LINK_ID_LEN + 1])
{
    uint8_t id[LINK_ID_BYTES];
    randombytes_buf(id, sizeof id);
    sodium_bin2base64(out, AUTH_LINK_ID_LEN + 1, id, sizeof id,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void link_mac(const auth_keys *k, const char *link_id, char out[44])
{
    uint8_t mac[LINK_MAC_BYTES];
    crypto_generichash(mac, sizeof mac, (const uint8_t *)link_id, AUTH_LINK_ID_LEN, k->link_key,
                       sizeof k->link_key);
    sodium_bin2base64(out, 44, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int auth_link_token(const auth_keys *k, const char *link_id, char out[AUTH_LINK_TOKEN_LEN + 1])
{
    if (!link_id || strlen(link_id) != AUTH_LINK_ID_LEN ||
        !link_is_b64url(link_id, AUTH_LINK_ID_LEN))
        return CC_ERR_INVALID;
    memcpy(out, link_id, AUTH_LINK_ID_LEN);
    out[AUTH_LINK_ID_LEN] = '.';
    link_mac(k, link_id, out + AUTH_LINK_ID_LEN + 1);
    return CC_OK;
}

int auth_link_verify(const auth_keys *k, const char *token, char link_id[AUTH_LINK_ID_LEN + 1])
{
    char want[44];
    if (!token || strlen(token) != AUTH_LINK_TOKEN_LEN || token[AUTH_LINK_ID_LEN] != '.' ||
        !link_is_b64url(token, AUTH_LINK_ID_LEN))
        return CC_ERR_DENIED;
    memcpy(link_id, token, AUTH_LINK_ID_LEN);
    link_id[AUTH_LINK_ID_LEN] = '\0';
    link_mac(k, link_id, want);
    if (sodium_memcmp(want, token + AUTH_LINK_ID_LEN + 1, 43) != 0) {
        link_id[0] = '\0';
        return CC_ERR_DENIED;
    }
    return CC_OK;
}
