/* media/proc: one supervised child process (Janus or coturn) on carecommd's loop.
 *
 * Design: the child is spawned with uv_spawn (no shell), in its own session so that a Ctrl-C
 * meant for carecommd reaches it only through us, in order, at shutdown. Its output goes to a log
 * file of its own (not carecommd's JSON log). When it exits, the process handle is closed and a
 * timer restarts it after a backoff that doubles from 0.5 s to 30 s and starts over once a child
 * has stayed up for a minute, so a crash loop costs little and a rare crash is repaired at once.
 * Stopping sends SIGTERM, then SIGKILL after a timeout, and the handles close only once the child
 * has exited, which keeps the loop (and so carecommd) alive until no child is left. */
#include "media/media_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define STABLE_AFTER_MS 60000
#define LOG_ROTATE_BYTES (16 * 1024 * 1024)

struct media_proc {
    uv_loop_t *loop;
    char *name;
    char **argv;
    char *log_path, *pid_path;
    media_proc_fn fn;
    void *ud;
    uv_process_t proc;
    uv_timer_t timer; /* restart delay, then the SIGKILL deadline while stopping */
    bool proc_open;   /* proc needs uv_close */
    bool running;
    bool stopping;
    bool timer_closed;
    int pid;
    int64_t started_ms;
    int64_t backoff_ms; /* the delay of the next restart */
    int64_t delay_ms;   /* the delay of the restart now pending */
    uint64_t spawns;
};

static void proc__spawn(media_proc *p);

/* carecommd's own descriptors (listening sockets, the database, client connections) must not
 * leak into a child that may outlive it, where a held listening socket would stop the next
 * carecommd from binding. libuv only sets up the child's stdio, so mark everything else
 * close-on-exec before each spawn. */
static void proc__cloexec_all(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd <= 2 || fd == self)
            continue;
        int fl = fcntl((int)fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
    }
    closedir(d);
}

/* A child's log grows with its life; keep the current one and one previous generation. */
static int proc__open_log(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && sb.st_size > LOG_ROTATE_BYTES) {
        char *old = cc_sprintf("%s.1", path);
        if (old)
            rename(path, old);
        cc_free(&old);
    }
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static void proc__timer_closed(uv_handle_t *h)
{
    media_proc *p = h->data;
    p->timer_closed = true;
}

static void proc__restart_cb(uv_timer_t *t)
{
    media_proc *p = t->data;
    if (!p->stopping)
        proc__spawn(p);
}

/* The delay before the restart now due; the one after it doubles, up to the maximum. */
static int64_t proc__next_delay(media_proc *p)
{
    int64_t delay = p->backoff_ms;
    p->backoff_ms = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    return delay;
}

static void proc__closed(uv_handle_t *h)
{
    media_proc *p = h->data;
    p->proc_open = false;
    if (p->stopping) {
        uv_timer_stop(&p->timer);
        uv_close((uv_handle_t *)&p->timer, proc__timer_closed);
        return;
    }
    uv_timer_start(&p->timer, proc__restart_cb, (uint64_t)p->delay_ms, 0);
}

static void proc__exited(uv_process_t *h, int64_t status, int term_signal)
{
    media_proc *p = h->data;
    int64_t up_ms = cc_monotonic_ms() - p->started_ms;
    p->running = false;
    p->pid = 0;
    unlink(p->pid_path);
    if (p->stopping) {
        cc_logf(CC_LOG_INFO, "media process stopped", "{s:s,s:I,s:i}", "name", p->name, "status",
                (json_int_t)status, "signal", term_signal);
    } else {
        if (up_ms >= STABLE_AFTER_MS)
            p->backoff_ms = BACKOFF_MIN_MS;
        p->delay_ms = proc__next_delay(p);
        cc_logf(CC_LOG_WARN, "media process exited; restarting", "{s:s,s:I,s:i,s:I,s:I}", "name",
                p->name, "status", (json_int_t)status, "signal", term_signal, "up_ms",
                (json_int_t)up_ms, "restart_in_ms", (json_int_t)p->delay_ms);
    }
    if (p->fn)
        p->fn(p->ud, p, false);
    uv_close((uv_handle_t *)&p->proc, proc__closed);
}

static void proc__spawn(media_proc *p)
{
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    int logfd = proc__open_log(p->log_path);
    memset(&o, 0, sizeof(o));
    memset(stdio, 0, sizeof(stdio));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = logfd >= 0 ? UV_INHERIT_FD : UV_IGNORE;
    stdio[1].data.fd = logfd;
    stdio[2] = stdio[1];
    o.file = p->argv[0];
    o.args = p->argv;
    o.exit_cb = proc__exited;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.flags = UV_PROCESS_DETACHED;
    proc__cloexec_all();
    p->proc.data = p;
    p->spawns++;
    p->started_ms = cc_monotonic_ms();
    int rc = uv_spawn(p->loop, &p->proc, &o);
    if (logfd >= 0)
        close(logfd);
    p->proc_open = true; /* even a failed uv_spawn leaves a handle to close */
    if (rc != 0) {
        p->delay_ms = proc__next_delay(p);
        cc_logf(CC_LOG_ERROR, "cannot start media process", "{s:s,s:s,s:s,s:I}", "name", p->name,
                "binary", p->argv[0], "error", uv_strerror(rc), "retry_in_ms",
                (json_int_t)p->delay_ms);
        uv_close((uv_handle_t *)&p->proc, proc__closed);
        return;
    }
    p->running = true;
    p->pid = (int)uv_process_get_pid(&p->proc);
    char pidtext[32];
    int n = snprintf(pidtext, sizeof pidtext, "%d\n", p->pid);
    if (cc_file_write_atomic(p->pid_path, pidtext, (size_t)n, 0600) != CC_OK)
        cc_logf(CC_LOG_WARN, "cannot write pid file", "{s:s}", "path", p->pid_path);
    cc_logf(CC_LOG_INFO, "media process started", "{s:s,s:i,s:s}", "name", p->name, "pid", p->pid,
            "log", p->log_path);
    if (p->fn)
        p->fn(p->ud, p, true);
}

int media_proc_start(uv_loop_t *loop, const char *name, char *const argv[], const char *log_path,
                     const char *pid_path, media_proc_fn fn, void *ud, media_proc **out)
{
    size_t argc = 0;
    *out = NULL;
    while (argv[argc])
        argc++;
    media_proc *p = cc_calloc(1, sizeof(*p));
    if (!p || !(p->argv = cc_calloc(argc + 1, sizeof(char *))))
        goto nomem;
    for (size_t i = 0; i < argc; i++)
        if (!(p->argv[i] = cc_strdup(argv[i])))
            goto nomem;
    if (!(p->name = cc_strdup(name)) || !(p->log_path = cc_strdup(log_path)) ||
        !(p->pid_path = cc_strdup(pid_path)))
        goto nomem;
    p->loop = loop;
    p->fn = fn;
    p->ud = ud;
    p->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    proc__spawn(p);
    *out = p;
    return CC_OK;
nomem:
    if (p) {
        /* nothing was started: the timer is not initialised yet */
        p->timer_closed = true;
        media_proc_free(p);
    }
    return CC_ERR_NOMEM;
}

uint64_t media_proc_restarts(const media_proc *p)
{
    return p && p->spawns > 0 ? p->spawns - 1 : 0;
}

bool media_proc_running(const media_proc *p)
{
    return p && p->running;
}

int media_proc_pid(const media_proc *p)
{
    return p ? p->pid : 0;
}

static void proc__kill_cb(uv_timer_t *t)
{
    media_proc *p = t->data;
    if (p->running) {
        cc_logf(CC_LOG_WARN, "media process ignored SIGTERM; killing it", "{s:s,s:i}", "name",
                p->name, "pid", p->pid);
        uv_process_kill(&p->proc, SIGKILL);
    }
}

void media_proc_stop(media_proc *p, int kill_after_ms)
{
    if (!p || p->stopping)
        return;
    p->stopping = true;
    uv_timer_stop(&p->timer);
    if (p->running) {
        uv_process_kill(&p->proc, SIGTERM);
        uv_timer_start(&p->timer, proc__kill_cb, (uint64_t)kill_after_ms, 0);
    } else if (!p->proc_open) {
        /* between a death and its restart: nothing to wait for */
        uv_close((uv_handle_t *)&p->timer, proc__timer_closed);
    }
    /* else the process handle is closing: proc__closed closes the timer */
}

void media_proc_free(media_proc *p)
{
    if (!p)
        return;
    if (p->argv)
        for (size_t i = 0; p->argv[i]; i++)
            cc_free(&p->argv[i]);
    cc_free(&p->argv);
    cc_free(&p->name);
    cc_free(&p->log_path);
    cc_free(&p->pid_path);
    cc_free_ptr(p);
}

/* The command line of pid with its NULs turned into spaces, in buf; false if there is none
 * (no such process, or a zombie). */
static bool proc__cmdline(long pid, char *buf, size_t buflen)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, buflen - 1);
    close(fd);
    if (n <= 0)
        return false;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    return true;
}

void media_proc_reap_stale(const char *pid_path, const char *marker)
{
    char *text = NULL, cmd[4096];
    size_t len;
    if (cc_file_read(pid_path, 64, &text, &len) != CC_OK)
        return;
    char *end;
    long pid = strtol(text, &end, 10);
    cc_free(&text);
    /* Only a process whose command line names our own configuration: a pid file outlives its
     * process, and the pid may since belong to anything. */
    if (pid > 1 && pid != (long)getpid() && proc__cmdline(pid, cmd, sizeof cmd) &&
        strstr(cmd, marker)) {
        cc_logf(CC_LOG_WARN, "killing a media process left by a previous carecommd", "{s:I}", "pid",
                (json_int_t)pid);
        kill((pid_t)pid, SIGKILL);
        for (int i = 0; i < 60 && proc__cmdline(pid, cmd, sizeof cmd); i++) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    unlink(pid_path);
}
