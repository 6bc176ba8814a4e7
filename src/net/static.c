/* Static files of the web application. Files are read once and kept in memory (a built web app
 * is a few hundred KiB and never changes while the server runs), so the loop does not touch the
 * disk after the first request for a file. Hashed assets are cached as immutable by browsers;
 * index.html never is; unknown app paths fall back to index.html (client-side routing). */
#include "net/net_internal.h"

#include <string.h>

#define NET_STATIC_MAX_FILE (8u << 20)

static const char *net__mime(const char *path)
{
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".webmanifest", "application/manifest+json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(dot, map[i][0]) == 0)
            return map[i][1];
    return "application/octet-stream";
}

/* Only plain relative paths of [A-Za-z0-9._-/] without dot segments are served. */
static bool net__safe_path(const char *p)
{
    if (*p != '/')
        return false;
    for (const char *c = p; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-' || *c == '/';
        if (!ok)
            return false;
        if (*c == '/' && c[1] == '.')
            return false;
    }
    return strlen(p) < 200;
}

static const net_static_file *net__load(net_server *s, const char *dir, const char *rel)
{
    net_static_file *net__files = s->static_files;
    for (size_t i = 0; i < s->nstatic; i++)
        if (strcmp(net__files[i].path, rel) == 0)
            return net__files[i].data ? &net__files[i] : NULL;
    if (s->nstatic >= NET_STATIC_MAX_FILES)
        return NULL;
    char *full = cc_sprintf("%s%s", dir, rel);
    if (!full)
        return NULL;
    net_static_file *f = &net__files[s->nstatic];
    char *data = NULL;
    size_t len = 0;
    if (cc_file_read(full, NET_STATIC_MAX_FILE, &data, &len) != CC_OK)
        data = NULL; /* remembered as missing */
    cc_free(&full);
    if (!(f->path = cc_strdup(rel))) {
        cc_free(&data);
        return NULL;
    }
    f->data = data;
    f->len = len;
    s->nstatic++;
    return data ? f : NULL;
}

int net__static_serve(net_req *r)
{
    const char *dir = r->srv->static_dir;
    if (!dir || (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0))
        return 0;
    const char *path = strcmp(r->path, "/") == 0 ? "/index.html" : r->path;
    if (!net__safe_path(path))
        return 0;
    const net_static_file *f = net__load(r->srv, dir, path);
    bool is_index = f && strcmp(path, "/index.html") == 0;
    if (!f) {
        /* An app route (no extension) gets the app; a missing asset is a real 404. A link's
         * page (/visit/<id>.<mac>, a patient's; /join/<id>.<mac>, a meeting guest's) is an app
         * route whatever its dot. */
        const char *last = strrchr(path, '/');
        if (strchr(last, '.') && strncmp(path, "/visit/", 7) != 0 &&
            strncmp(path, "/join/", 6) != 0)
            return 0;
        f = net__load(r->srv, dir, "/index.html");
        is_index = true;
        if (!f)
            return 0;
    }
    r->label = "static";
    if (is_index)
        net_reply_header(r, "Cache-Control", "no-cache");
    else if (strncmp(path, "/assets/", 8) == 0)
        net_reply_header(r, "Cache-Control", "public, max-age=31536000, immutable");
    else
        net_reply_header(r, "Cache-Control", "public, max-age=3600");
    net_reply_raw(r, 200, net__mime(is_index ? "/index.html" : path), f->data, f->len);
    return 1;
}

void net__static_free(net_server *s)
{
    net_static_file *net__files = s->static_files;
    for (size_t i = 0; i < s->nstatic; i++) {
        cc_free(&net__files[i].path);
        cc_free(&net__files[i].data);
    }
    s->nstatic = 0;
}
