/* auth/keys: the server secret in <data_dir>/server.key and the subkeys derived from it. The
 * secret lives outside the database so that a stolen database (or backup) can neither forge the
 * audit chain nor decrypt TOTP secrets. */
#include "auth/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void set_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    if (!why || whylen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Creates the key file without ever replacing an existing one: the secret is written to a
 * temporary file, synced, then link()ed into place, which fails with EEXIST if another process
 * (a second node starting, the CLI) created it first. In that case theirs wins and we load it. */
static int key_create(const char *data_dir, const char *path, char *why, size_t whylen)
{
    uint8_t secret[AUTH_KEY_BYTES];
    char tmp[PATH_MAX];
    int fd = -1, dfd = -1;
    bool tmp_made = false;
    int rc = cc_mkdir_p(data_dir);
    if (rc != CC_OK) {
        set_why(why, whylen, "cannot create data folder %s: %s", data_dir, cc_strerror(rc));
        goto out;
    }
    if (snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", data_dir, KEY_FILE) >= (int)sizeof tmp) {
        rc = CC_ERR_INVALID;
        set_why(why, whylen, "data folder path too long");
        goto out;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = CC_ERR_IO;
        set_why(why, whylen, "cannot create a file in %s: %s", data_dir, strerror(errno));
        goto out;
    }
    tmp_made = true;
    randombytes_buf(secret, sizeof secret);
    /* mkstemp already uses 0600, but do not depend on the libc for a secret. */
    if (fchmod(fd, 0600) != 0 || write_all(fd, secret, sizeof secret) != 0 || fsync(fd) != 0) {
        rc = CC_ERR_IO;
        set_why(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = CC_ERR_IO;
        set_why(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (link(tmp, path) != 0 && errno != EEXIST) {
        rc = CC_ERR_IO;
        set_why(why, whylen, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    /* The new name must survive a crash too. */
    dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        rc = CC_ERR_IO;
        set_why(why, whylen, "cannot sync %s: %s", data_dir, strerror(errno));
        goto out;
    }
    rc = CC_OK;
out:
    sodium_memzero(secret, sizeof secret);
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp_made)
        unlink(tmp);
    return rc;
}

/* Reads the 32-byte secret, refusing a file others could read: a key that may have leaked is
 * not a key, and silently carrying on would hide the problem. */
static int key_read(const char *path, uint8_t secret[AUTH_KEY_BYTES], char *why, size_t whylen)
{
    struct stat sb;
    size_t got = 0;
    int rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = errno == ENOENT ? CC_ERR_NOT_FOUND : CC_ERR_IO;
        set_why(why, whylen, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    /* fstat on the open descriptor, so what we check is what we read. */
    if (fstat(fd, &sb) != 0) {
        rc = CC_ERR_IO;
        set_why(why, whylen, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = CC_ERR_CONFIG;
        set_why(why, whylen, "%s is not a regular file", path);
        goto out;
    }
    if (sb.st_mode & 077) {
        rc = CC_ERR_CONFIG;
        set_why(why, whylen,
                "%s has mode %04o: other users may read the server key; chmod 600 it (and "
                "consider it leaked if they could)",
                path, (unsigned)(sb.st_mode & 07777));
        goto out;
    }
    if (sb.st_size != AUTH_KEY_BYTES) {
        rc = CC_ERR_INVALID;
        set_why(why, whylen, "%s is %lld bytes, expected exactly %d", path, (long long)sb.st_size,
                AUTH_KEY_BYTES);
        goto out;
    }
    while (got < AUTH_KEY_BYTES) {
        ssize_t r = read(fd, secret + got, AUTH_KEY_BYTES - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? CC_ERR_IO : CC_ERR_INVALID;
            set_why(why, whylen, "cannot read %s: %s", path,
                    r < 0 ? strerror(errno) : "file shrank while reading");
            goto out;
        }
        got += (size_t)r;
    }
    rc = CC_OK;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

int auth_keys_load(const char *data_dir, bool create, auth_keys *out, char *why, size_t whylen)
{
    uint8_t secret[AUTH_KEY_BYTES];
    char path[PATH_MAX];
    int rc;
    set_why(why, whylen, "%s", "");
    if (!data_dir || !*data_dir || !out) {
        rc = CC_ERR_INVALID;
        set_why(why, whylen, "no data folder given");
        goto out;
    }
    if (snprintf(path, sizeof path, "%s/%s", data_dir, KEY_FILE) >= (int)sizeof path) {
        rc = CC_ERR_INVALID;
        set_why(why, whylen, "data folder path too long");
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
        set_why(why, whylen, "key derivation failed");
        goto out;
    }
out:
    sodium_memzero(secret, sizeof secret);
    if (rc != CC_OK && out)
        sodium_memzero(out, sizeof *out);
    return rc;
}
