/* file: whole-file reads with a size cap, crash-safe writes, and mkdir -p. */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* On success *out is a new NUL-terminated buffer the caller frees with cc_free. The size is
 * checked while reading, not from stat, so pipes and growing files cannot exceed max. */
int cc_file_read(const char *path, size_t max, char **out, size_t *outlen)
{
    int rc = CC_OK;
    char *data = NULL;
    size_t len = 0, cap = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? CC_ERR_NOT_FOUND : CC_ERR_IO;
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        rc = CC_ERR_IO;
        goto out;
    }
    cap = st.st_size > 0 && (size_t)st.st_size < max ? (size_t)st.st_size + 1 : 4096;
    if (cap > max + 1)
        cap = max + 1;
    data = cc_malloc(cap + 1);
    if (!data) {
        rc = CC_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                rc = CC_ERR_TOO_BIG;
                goto out;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *d = cc_realloc(data, ncap + 1);
            if (!d) {
                rc = CC_ERR_NOMEM;
                goto out;
            }
            data = d;
            cap = ncap;
        }
        ssize_t r = read(fd, data + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = CC_ERR_IO;
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > max) {
        rc = CC_ERR_TOO_BIG;
        goto out;
    }
    data[len] = '\0';
    *out = data;
    data = NULL;
    if (outlen)
        *outlen = len;
out:
    cc_free(&data);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return CC_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return CC_OK;
}

/* Writes data to a temporary file beside path (mode, synced), then puts it in place: rename()
 * replaces an existing file, link() keeps it (the first creator wins, and that is not an
 * error). The folder is synced after: without it a crash can lose the new name even though the
 * data blocks reached the disk. why (may be NULL) gets the reason of a failure. */
static int file_write_new(const char *path, const void *data, size_t n, unsigned mode, bool replace,
                          char *why, size_t whylen)
{
    int rc = CC_ERR_IO, fd = -1, dfd = -1;
    char *tmp = cc_sprintf("%s.tmp.XXXXXX", path);
    char *dir = cc_strdup(path);
    bool tmp_made = false;
    if (!tmp || !dir) {
        rc = CC_ERR_NOMEM;
        goto out;
    }
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        cc_say(why, whylen, "cannot create a file beside %s: %s", path, strerror(errno));
        goto out;
    }
    tmp_made = true;
    /* mkstemp already uses 0600, but the mode must not depend on the libc. */
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, n) != CC_OK || fsync(fd) != 0) {
        cc_say(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    int cr = close(fd);
    fd = -1;
    if (cr != 0) {
        cc_say(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (replace ? rename(tmp, path) != 0 : (link(tmp, path) != 0 && errno != EEXIST)) {
        cc_say(why, whylen, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    if (replace)
        tmp_made = false; /* renamed: nothing to unlink any more */
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        cc_say(why, whylen, "cannot sync the folder of %s: %s", path, strerror(errno));
        goto out;
    }
    rc = CC_OK;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp_made)
        unlink(tmp);
    cc_free(&tmp);
    cc_free(&dir);
    return rc;
}

int cc_file_write_atomic(const char *path, const void *data, size_t n, unsigned mode)
{
    return file_write_new(path, data, n, mode, true, NULL, 0);
}

static int mkdir_one(const char *p, mode_t mode)
{
    struct stat st;
    if (mkdir(p, mode) == 0)
        return CC_OK;
    if (errno == EEXIST && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
        return CC_OK;
    return errno == EEXIST ? CC_ERR_EXISTS : CC_ERR_IO;
}

/* Parents get 0755 (subject to umask) like mkdir -p; only the leaf, which holds our data, is
 * private. An existing leaf keeps its mode: changing it behind the operator's back is worse. */
int cc_mkdir_p(const char *path)
{
    int rc = CC_OK;
    if (!path || !*path)
        return CC_ERR_INVALID;
    char *p = cc_strdup(path);
    if (!p)
        return CC_ERR_NOMEM;
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    for (char *s = p + 1; *s; s++) {
        if (*s != '/' || s[-1] == '/')
            continue;
        *s = '\0';
        rc = mkdir_one(p, 0755);
        *s = '/';
        if (rc != CC_OK)
            goto out;
    }
    rc = mkdir_one(p, 0700);
out:
    cc_free(&p);
    return rc;
}

/* ---- private files (keys, secrets) --------------------------------------------------------- */

int cc_file_create_private(const char *path, const void *data, size_t n, char *why, size_t whylen)
{
    return file_write_new(path, data, n, 0600, false, why, whylen);
}

int cc_file_read_private(const char *path, const char *what, void *buf, size_t max, size_t *got,
                         char *why, size_t whylen)
{
    struct stat sb;
    size_t len = 0;
    int rc = CC_ERR_IO;
    *got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = errno == ENOENT ? CC_ERR_NOT_FOUND : CC_ERR_IO;
        cc_say(why, whylen, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    /* fstat on the open descriptor, so what is checked is what is read. */
    if (fstat(fd, &sb) != 0) {
        cc_say(why, whylen, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = CC_ERR_CONFIG;
        cc_say(why, whylen, "%s is not a regular file", path);
        goto out;
    }
    if (sb.st_mode & 077) {
        rc = CC_ERR_CONFIG;
        cc_say(why, whylen,
               "%s has mode %04o: other users may read %s; chmod 600 it (and consider it leaked if "
               "they could)",
               path, (unsigned)(sb.st_mode & 07777), what);
        goto out;
    }
    for (;;) {
        char extra;
        /* Once buf is full, one byte more tells a file that is too large. */
        ssize_t r = len < max ? read(fd, (char *)buf + len, max - len) : read(fd, &extra, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cc_say(why, whylen, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        if (len == max) {
            rc = CC_ERR_TOO_BIG;
            cc_say(why, whylen, "%s is larger than %zu bytes", path, max);
            goto out;
        }
        len += (size_t)r;
    }
    rc = CC_OK;
out:
    *got = len;
    if (fd >= 0)
        close(fd);
    return rc;
}
