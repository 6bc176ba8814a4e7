/* log: structured JSON lines on stderr, one write(2) per line so lines from several threads
 * never interleave. */
#include "core/core.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static _Atomic int min_level = CC_LOG_INFO;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void cc_log_set_level(cc_log_level lvl)
{
    atomic_store(&min_level, (int)lvl);
}

int cc_log_level_parse(const char *s, cc_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (s && strcasecmp(s, level_names[i]) == 0) {
            *out = (cc_log_level)i;
            return CC_OK;
        }
    }
    return CC_ERR_INVALID;
}

static void write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere left to report a logging failure */
        p += w;
        n -= (size_t)w;
    }
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return cc_buf_append(data, buf, size) == CC_OK ? 0 : -1;
}

void cc_log(cc_log_level lvl, const char *msg, json_t *fields)
{
    if ((int)lvl < atomic_load(&min_level) || (int)lvl < 0 || lvl > CC_LOG_ERROR)
        return;
    char ts[32];
    cc_time_format(cc_now_ms(), ts);
    cc_buf line = {0};
    bool ok = false;
    json_t *o = json_object();
    if (!o)
        goto out;
    /* ts, level and msg first and authoritative: fields may not override them. */
    if (json_object_set_new(o, "ts", json_string(ts)) ||
        json_object_set_new(o, "level", json_string(level_names[lvl])) ||
        json_object_set_new(o, "msg", json_string(msg ? msg : "")))
        goto out;
    if (json_is_object(fields) && json_object_update_missing(o, fields))
        goto out;
    if (json_dump_callback(o, dump_cb, &line, JSON_COMPACT | JSON_ENSURE_ASCII) ||
        cc_buf_append(&line, "\n", 1))
        goto out;
    ok = true;
out:
    if (ok) {
        write_all(line.data, line.len);
    } else {
        static const char fallback[] = "{\"level\":\"error\",\"msg\":\"log line lost\"}\n";
        write_all(fallback, sizeof fallback - 1);
    }
    cc_buf_free(&line);
    json_decref(o);
}

void cc_logf(cc_log_level lvl, const char *msg, const char *fmt, ...)
{
    if ((int)lvl < atomic_load(&min_level))
        return;
    json_t *fields = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fields = json_vpack_ex(NULL, 0, fmt, ap);
        va_end(ap);
    }
    cc_log(lvl, msg, fields);
    json_decref(fields);
}
