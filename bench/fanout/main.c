/* fanout_gen: N receivers in one room, two senders at stepped offered rates; prints one line per
 * step (delivered/s, latency percentiles, loss, duplicates, server CPU per delivery, server RSS,
 * the generator's own CPU). Driven by bench/fanout/run, which starts the servers.
 *
 *   fanout_gen run --server carecomm|prosody|ejabberd|mosquitto --port P --n N --rates 5,10,20
 *              --pid SERVER_PID [--seconds 10] [--drain 5] [--tokens FILE] [--password PW]
 *              [--domain localhost] [--setup-timeout 300] [--no-stop] [--final-drain 20]
 *              [--batch-us 500]
 *   fanout_gen carecomm-login --port P --users FILE --password PW [--parallel 8]
 *              (prints "name token" lines)
 */
#include "gen.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static struct {
    const driver *d;
    double rate;
    int64_t t0, end;
    uint64_t k;
    uint32_t seq[2];
    long sent, refused;
    int n;
    long failed0;
} S;

static int64_t send_tick(void *arg, int64_t now)
{
    (void)arg;
    for (;;) {
        int64_t due = S.t0 + (int64_t)((double)S.k * 1e9 / S.rate);
        if (due >= S.end)
            return 0;
        if (due > now)
            return due;
        int s = (int)(S.k & 1);
        char p[PAYLOAD_BYTES];
        payload_make(p, s, S.seq[s], due);
        if (S.d->send(s, p, PAYLOAD_BYTES)) {
            S.seq[s]++;
            S.sent++;
        } else {
            S.refused++;
        }
        S.k++;
    }
}

static uint64_t expected(void)
{
    long ok = S.sent - (S.d->failed() - S.failed0);
    return ok > 0 ? (uint64_t)ok * (uint64_t)S.n : 0;
}

static bool drained(void *arg)
{
    (void)arg;
    return S.d->inflight() == 0 && T.uniq + 0 >= expected();
}

/* CPU time of every thread of the process, in nanoseconds (schedstat), so that short steps at low
 * rates are not rounded to the 10 ms ticks of /proc/PID/stat. Threads that end during a step
 * would take their time with them: the servers measured keep theirs. */
static double proc_cpu_seconds_sched(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    double total = 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p2[300];
        snprintf(p2, sizeof(p2), "/proc/%d/task/%s/schedstat", pid, e->d_name);
        FILE *f = fopen(p2, "r");
        if (!f)
            continue;
        unsigned long long ns;
        if (fscanf(f, "%llu", &ns) == 1) {
            total += (double)ns / 1e9;
            found++;
        }
        fclose(f);
    }
    closedir(d);
    return found ? total : -1;
}

static double proc_cpu_seconds(int pid)
{
    double s = proc_cpu_seconds_sched(pid);
    if (s >= 0)
        return s;
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command may hold spaces */
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* after ")": state(3) ... utime is field 14, stime 15 */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double proc_rss_mib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    double kib = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lf", &kib) == 1)
            break;
    fclose(f);
    return kib / 1024;
}

static double self_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(double p)
{
    if (!T.nlat)
        return -1;
    size_t i = (size_t)(p * (double)T.nlat);
    if (i >= T.nlat)
        i = T.nlat - 1;
    return T.lat[i] / 1000.0;
}

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

static bool flag(int argc, char **argv, const char *name)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static bool idle(void *arg)
{
    (void)arg;
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: fanout_gen run|carecomm-login ... (see the top of bench/fanout/main.c)");
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    gen_cfg cfg = {
        .host = arg(argc, argv, "--host", "127.0.0.1"),
        .port = atoi(arg(argc, argv, "--port", "0")),
        .n = atoi(arg(argc, argv, "--n", "10")),
        .domain = arg(argc, argv, "--domain", "localhost"),
        .tokens_file = arg(argc, argv, "--tokens", NULL),
        .password = arg(argc, argv, "--password", "fanout-bench-pw"),
        .setup_seconds = atoi(arg(argc, argv, "--setup-timeout", "300")),
    };
    if (!cfg.port)
        die("--port is required");
    net_init(cfg.host, cfg.port);
    net_batch_ns = (int64_t)(atof(arg(argc, argv, "--batch-us", "500")) * 1000);

    if (strcmp(argv[1], "carecomm-login") == 0) {
        const char *users = arg(argc, argv, "--users", NULL);
        if (!users)
            die("--users is required");
        int rc = cc_login_all(&cfg, users, cfg.password, atoi(arg(argc, argv, "--parallel", "8")));
        net_free();
        return rc ? 1 : 0;
    }
    if (strcmp(argv[1], "run") != 0)
        die("unknown command %s", argv[1]);

    const char *server = arg(argc, argv, "--server", "");
    int pid = atoi(arg(argc, argv, "--pid", "0"));
    double seconds = atof(arg(argc, argv, "--seconds", "10"));
    double drain = atof(arg(argc, argv, "--drain", "5"));
    double final_drain = atof(arg(argc, argv, "--final-drain", "20"));
    bool no_stop = flag(argc, argv, "--no-stop");
    if (strcmp(server, "carecomm") == 0)
        S.d = &drv_carecomm;
    else if (strcmp(server, "prosody") == 0 || strcmp(server, "ejabberd") == 0)
        S.d = &drv_xmpp;
    else if (strcmp(server, "mosquitto") == 0)
        S.d = &drv_mqtt;
    else
        die("--server must be carecomm, prosody, ejabberd or mosquitto");
    if (pid <= 0 || proc_cpu_seconds(pid) < 0)
        die("--pid must be the server's process id");
    if (cfg.n < 2)
        die("--n must be at least 2 (the senders are receivers 0 and 1)");
    S.n = cfg.n;

    int64_t t_setup = now_ns();
    int rc = S.d->setup(&cfg);
    if (rc == -2) {
        printf("server=%s n=%d skipped=messaging_api_missing\n", server, cfg.n);
        net_free();
        return 3;
    }
    if (rc != 0) {
        printf("server=%s n=%d setup_failed=1 ready=%d\n", server, cfg.n, S.d->alive());
        net_free();
        return 2;
    }
    /* Let what the set-up set off (the presence storm of 1,000 MUC joins) pass: wait for one
     * second without a byte received, two minutes at most. */
    int64_t quiet_until = now_ns() + 120000000000;
    while (now_ns() < quiet_until) {
        uint64_t b = net_bytes_in;
        net_run(now_ns() + 1000000000, idle, NULL, NULL);
        if (net_bytes_in == b)
            break;
    }
    /* What the server burns with every client connected and nothing sent (timers, polling,
     * schedulers): at low rates this, divided by few deliveries, dominates CPU per delivery. */
    double idle_cpu0 = proc_cpu_seconds(pid);
    int64_t idle_t0 = now_ns();
    net_run(idle_t0 + 2000000000, idle, NULL, NULL);
    double idle_pct =
        (proc_cpu_seconds(pid) - idle_cpu0) * 100 / ((double)(now_ns() - idle_t0) / 1e9);
    say("%s n=%d: %d receivers ready in %.1f s; server idle CPU %.1f%%", server, cfg.n,
        S.d->alive(), (double)(now_ns() - t_setup) / 1e9, idle_pct);

    char *rates = strdup(arg(argc, argv, "--rates", "5,10,20,50,100"));
    int exit_code = 0;
    for (char *tok = strtok(rates, ","); tok; tok = strtok(NULL, ",")) {
        S.rate = atof(tok);
        if (S.rate <= 0)
            continue;
        uint32_t per_sender = (uint32_t)(S.rate * seconds / 2) + 2;
        track_step(cfg.n, S.seq, per_sender);
        S.sent = S.refused = 0;
        S.k = 0;
        S.failed0 = S.d->failed();
        double cpu0 = proc_cpu_seconds(pid), gen0 = self_cpu_seconds();
        S.t0 = now_ns() + 1000000; /* the first message is due in 1 ms */
        S.end = S.t0 + (int64_t)(seconds * 1e9);
        net_run(S.end, NULL, send_tick, NULL);
        net_run(S.end + (int64_t)(drain * 1e9), drained, NULL, NULL);
        int64_t t1 = now_ns();
        double cpu1 = proc_cpu_seconds(pid), gen1 = self_cpu_seconds();
        double rss = proc_rss_mib(pid);

        uint64_t exp = expected();
        uint64_t lost = exp > T.uniq ? exp - T.uniq : 0;
        int64_t last = T.last_ns > S.end ? T.last_ns : S.end;
        double span = (double)(last - S.t0) / 1e9;
        double dps = T.uniq / span;
        qsort(T.lat, T.nlat, sizeof(uint32_t), cmp_u32);
        double p50 = pct_ms(0.50), p99 = pct_ms(0.99);
        double cpu_us = T.uniq ? (cpu1 - cpu0) * 1e6 / (double)T.uniq : -1;
        double gen_pct = (gen1 - gen0) * 100 / ((double)(t1 - S.t0) / 1e9);
        long failed = S.d->failed() - S.failed0;
        bool clean =
            lost == 0 && T.dup == 0 && failed == 0 && S.refused == 0 && p99 >= 0 && p99 < 100;
        printf("server=%s n=%d rate=%g sent=%ld delivered_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
               "lost=%llu dup=%llu cpu_us_per_delivery=%.2f server_rss_mib=%.1f "
               "gen_cpu_pct=%.0f errors=%ld out_of_order=%llu server_idle_cpu_pct=%.1f clean=%d\n",
               server, cfg.n, S.rate, S.sent, dps, p50, p99, (unsigned long long)lost,
               (unsigned long long)T.dup, cpu_us, rss, gen_pct, failed + S.refused,
               (unsigned long long)T.ooo, idle_pct, clean ? 1 : 0);
        if (gen_pct > 80)
            say("%s n=%d rate=%g: the generator used %.0f%% of its core: this step measures it "
                "too",
                server, cfg.n, S.rate, gen_pct);
        if (S.d->alive() < cfg.n) {
            say("%s n=%d: %d receivers left, stopping", server, cfg.n, S.d->alive());
            exit_code = 4;
            break;
        }
        /* Saturated: the server falls behind (p99 over a second), drops or fails. */
        if (!no_stop && (lost || failed || p99 > 1000 || dps < 0.8 * S.rate * cfg.n)) {
            say("%s n=%d saturated at %g msg/s: no higher step", server, cfg.n, S.rate);
            /* "lost" above means "not delivered by the end of the drain": a saturated server
             * may still deliver its backlog. Wait for it (at most final-drain seconds) to tell
             * late from lost. */
            if (lost) {
                int64_t t2 = now_ns();
                net_run(t2 + (int64_t)(final_drain * 1e9), drained, NULL, NULL);
                uint64_t e2 = expected();
                printf("server=%s n=%d saturated_rate=%g missing_after_drain=%llu "
                       "missing_after_%.0fs_more=%llu dup=%llu\n",
                       server, cfg.n, S.rate, (unsigned long long)lost, final_drain,
                       (unsigned long long)(e2 > T.uniq ? e2 - T.uniq : 0),
                       (unsigned long long)T.dup);
            }
            break;
        }
        /* A pause between steps: late deliveries of this step arrive here, not in the next. */
        net_run(now_ns() + 1000000000, idle, NULL, NULL);
    }
    free(rates);
    net_free();
    (void)errno;
    return exit_code;
}
