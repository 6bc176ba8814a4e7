/* auth/keys: the server secret in <data_dir>/server.key and the subkeys derived from it. The
 * secret lives outside the database so that a stolen database (or backup) can neither forge the
 * audit chain nor decrypt TOTP secrets. */
#include "auth/auth.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define KEY_FILE "server.key"

/* Fixed forever: changing a context or an id changes the derived keys, which would make every
 * existing audit record look tampered and every sealed TOTP secret unreadable. */
#define KDF_AUDIT_CTX "ccaudit_"
#define KDF_AUDIT_ID 1
#define KDF_TOTP_CTX "cctotp__"
#define KDF_TOTP_ID 2
#define KDF_LINK_CTX "cclink__"
#define KDF_LINK_ID 3
#define KDF_RECOVERY_CTX "ccrecov_"
#define KDF_RECOVERY_ID 4

/* Creates the key file without ever replacing an existing one: if another process (a second
 * node starting, the CLI) created it first, theirs wins and we load it. */
static int key_create(const char *data_dir, const char *path, char *why, size_t whylen)
{
    uint8_t secret[AUTH_KEY_BYTES];
    int rc = cc_mkdir_p(data_dir);
    if (rc != CC_OK) {
        cc_say(why, whylen, "cannot create data folder %s: %s", data_dir, cc_strerror(rc));
        return rc;
    }
    randombytes_buf(secret, sizeof secret);
    rc = cc_file_create_private(path, secret, sizeof secret, why, whylen);
    sodium_memzero(secret, sizeof secret);
    return rc;
}

/* Reads the 32-byte secret, refusing a file others could read. A file of another size is
 * refused, never "fixed" by making a new key: that would orphan the audit chain. */
static int key_read(const char *path, uint8_t secret[AUTH_KEY_BYTES], char *why, size_t whylen)
{
    size_t got = 0;
    int rc =
        cc_file_read_private(path, "the server key", secret, AUTH_KEY_BYTES, &got, why, whylen);
    if (rc == CC_ERR_TOO_BIG || (rc == CC_OK && got != AUTH_KEY_BYTES)) {
        rc = CC_ERR_INVALID;
        if (got == AUTH_KEY_BYTES)
            cc_say(why, whylen, "%s is larger than %d bytes, expected exactly %d", path,
                   AUTH_KEY_BYTES, AUTH_KEY_BYTES);
        else
            cc_say(why, whylen, "%s is %zu bytes, expected exactly %d", path, got, AUTH_KEY_BYTES);
    }
    return rc;
}

int auth_keys_load(const char *data_dir, bool create, auth_keys *out, char *why, size_t whylen)
{
    uint8_t secret[AUTH_KEY_BYTES];
    char path[PATH_MAX];
    int rc;
    cc_say(why, whylen, "%s", "");
    if (!data_dir || !*data_dir || !out) {
        rc = CC_ERR_INVALID;
        cc_say(why, whylen, "no data folder given");
        goto out;
    }
    if (snprintf(path, sizeof path, "%s/%s", data_dir, KEY_FILE) >= (int)sizeof path) {
        rc = CC_ERR_INVALID;
        cc_say(why, whylen, "data folder path too long");
        goto out;
    }
    rc = key_read(path, secret, why, whylen);
    if (rc == CC_ERR_NOT_FOUND && create) {
        rc = key_create(data_dir, path, why, whylen);
        if (rc == CC_OK)
            rc = key_read(path, secret, why, whylen);
    }
    if (rc != CC_OK)
        goto out;
    if (crypto_kdf_derive_from_key(out->audit_key, sizeof out->audit_key, KDF_AUDIT_ID,
                                   KDF_AUDIT_CTX, secret) != 0 ||
        crypto_kdf_derive_from_key(out->link_key, sizeof out->link_key, KDF_LINK_ID, KDF_LINK_CTX,
                                   secret) != 0 ||
        crypto_kdf_derive_from_key(out->totp_key, sizeof out->totp_key, KDF_TOTP_ID, KDF_TOTP_CTX,
                                   secret) != 0 ||
        crypto_kdf_derive_from_key(out->recovery_key, sizeof out->recovery_key, KDF_RECOVERY_ID,
                                   KDF_RECOVERY_CTX, secret) != 0) {
        rc = CC_ERR_CRYPTO;
        cc_say(why, whylen, "key derivation failed");
        goto out;
    }
out:
    sodium_memzero(secret, sizeof secret);
    if (rc != CC_OK && out)
        sodium_memzero(out, sizeof *out);
    return rc;
}
