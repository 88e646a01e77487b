/* chaos: a test plugin whose tasks misbehave on request (built for make
 * check, not installed).  `act` reads what to do from its input:
 *   ok:TEXT  -> TEXT            fail:MSG -> a task failure with MSG
 *   segv, abort, exit:N, hang   -> the worker dies or never answers
 *   forkhang -> starts a child process, then hangs
 *   forkcrash, setsidcrash -> starts a child that keeps the worker's socket
 *               (setsidcrash: in a session of its own), then segfaults
 *   execfd3  -> "open" or "closed": whether a program it runs has fd 3
 *   uidmap   -> the first line of /proc/self/uid_map, blanks squeezed
 *   forge:S  -> writes a well-formed TEXT answer "forged" for request
 *               sequence S to the worker's socket, then answers "real"
 *   steal    -> reads what is waiting on the worker's socket (the next
 *               request), then answers "stolen"
 *   setsidok, setsidhang -> starts a child in a session of its own (it has
 *               left the worker's process group before the task goes on),
 *               then answers "ok" or hangs
 *   sleep:MS -> sleeps, then "slept MS"
 *   huge:N   -> N bytes of 'x'  garbage -> writes junk to the worker socket
 *   bigframe -> writes a frame header announcing a 1 TiB body
 *   badfails -> writes a FAILS frame for an input that is not there
 *   once:PATH:ACTION -> ACTION the first time (PATH is created), then "second
 *               time lucky"   leak:N, spin:N -> leaks N bytes, loops N times
 *   note:PATH:ACTION -> appends ACTION and a newline to PATH, then ACTION
 *               (counts the runs of each input)
 *   env:NAME -> the value of environment variable NAME, or "(unset)"
 * init (--init-arg): fail -> init fails; hang -> init never returns;
 *   hang-respawn:PATH -> succeeds if PATH does not exist (creating it), else
 *   never returns (the first worker starts, its replacements hang); any
 *   other value (or none) succeeds.
 * init appends "init PID" to $CHAOS_INIT_FILE if set.
 * fini: appends "fini PID" to $CHAOS_FINI_FILE if set, then sleeps
 *   $CHAOS_FINI_SLEEP_MS milliseconds if set.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <taskpool/plugin.h>

static pid_t init_pid;

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

/* Our pid as seen from outside our PID namespace (workers run in one). */
static pid_t outer_pid(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long pid = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "NSpid: %ld", &pid) == 1)
            break;
    if (f)
        fclose(f);
    return pid > 0 ? (pid_t)pid : getpid();
}

static int chaos_init(tp_ctx *ctx, const char *arg)
{
    const char *log = getenv("CHAOS_INIT_FILE");
    if (log) { /* "init PID", for tests that match inits with finis */
        int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
        char line[64];
        int n = snprintf(line, sizeof line, "init %ld\n", (long)outer_pid());
        if (fd >= 0 && n > 0 && write(fd, line, (size_t)n) < 0)
            n = 0;
        if (fd >= 0)
            close(fd);
    }
    if (arg && !strcmp(arg, "fail"))
        return tp_fail(ctx, "asked to fail by --init-arg");
    if (arg && !strcmp(arg, "hang"))
        for (;;)
            pause();
    if (arg && !strncmp(arg, "hang-respawn:", 13)) {
        /* the first worker creates PATH and starts; later ones hang */
        int fd = open(arg + 13, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0)
            for (;;)
                pause();
        close(fd);
    }
    init_pid = outer_pid();
    return TP_OK;
}

/* fini: if CHAOS_FINI_FILE is set, append "fini PID" to it; then if
 * CHAOS_FINI_SLEEP_MS is set, sleep that many milliseconds */
static void chaos_fini(void)
{
    const char *f = getenv("CHAOS_FINI_FILE");
    if (f) {
        int fd = open(f, O_WRONLY | O_APPEND | O_CREAT, 0600);
        if (fd >= 0) {
            char line[64];
            int n = snprintf(line, sizeof line, "fini %ld\n", (long)outer_pid());
            if (n > 0 && write(fd, line, (size_t)n) < 0) {
                /* nothing to tell anyone */
            }
            close(fd);
        }
    }
    const char *ms = getenv("CHAOS_FINI_SLEEP_MS");
    long n = ms ? strtol(ms, NULL, 10) : 0;
    if (n > 0)
        sleep_ms(n);
}

static int task_echo(tp_ctx *ctx, const char *in, size_t len)
{
    return tp_append(ctx, in, len);
}

static int task_length(tp_ctx *ctx, const char *in, size_t len)
{
    (void)in;
    return tp_put_i64(ctx, (int64_t)len);
}

static int task_pid(tp_ctx *ctx, const char *in, size_t len)
{
    (void)in;
    (void)len;
    return tp_printf(ctx, "%ld %ld", (long)outer_pid(), (long)init_pid);
}

/* Sleeps 0-4 ms, chosen by a hash of the input, then echoes it. */
static int task_jitter(tp_ctx *ctx, const char *in, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)in[i]) * 16777619u;
    sleep_ms((long)(h % 5));
    return tp_append(ctx, in, len);
}

/* The worker's open file descriptors (probed with fcntl). */
static int task_fds(tp_ctx *ctx, const char *in, size_t len)
{
    (void)in;
    (void)len;
    int fds[64], n = 0;
    for (int fd = 0; fd < 1024 && n < 64; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            fds[n++] = fd;
    for (int i = 0; i < n; i++)
        if (tp_printf(ctx, i ? " %d" : "%d", fds[i]) != TP_OK)
            return TP_FAIL;
    return TP_OK;
}

static int task_print(tp_ctx *ctx, const char *in, size_t len)
{
    printf("chaos printed %s\n", in);
    fflush(stdout);
    tp_puts(ctx, "ok ");
    return tp_append(ctx, in, len);
}

static long num_after(const char *in, const char *prefix)
{
    return strtol(in + strlen(prefix), NULL, 10);
}

static int task_act(tp_ctx *ctx, const char *in, size_t len)
{
    if (!strncmp(in, "ok:", 3))
        return tp_append(ctx, in + 3, len - 3);
    if (!strncmp(in, "fail:", 5))
        return tp_fail(ctx, "%s", in + 5);
    if (!strcmp(in, "segv"))
        raise(SIGSEGV);
    if (!strcmp(in, "abort"))
        abort();
    if (!strncmp(in, "exit:", 5))
        _exit((int)num_after(in, "exit:"));
    if (!strcmp(in, "hang"))
        for (;;)
            pause();
    if (!strcmp(in, "forkhang")) { /* a child of the kernel, then hang */
        if (fork() == 0)
            for (;;)
                pause();
        for (;;)
            pause();
    }
    if (!strcmp(in, "forkcrash") || !strcmp(in, "setsidcrash")) {
        if (fork() == 0) {
            if (in[0] == 's')
                setsid();
            for (;;)
                pause();
        }
        raise(SIGSEGV);
    }
    if (!strcmp(in, "setsidok") || !strcmp(in, "setsidhang")) {
        int p[2];
        char c = 0;
        if (pipe(p) != 0)
            return tp_fail(ctx, "pipe failed");
        if (fork() == 0) {
            setsid();
            if (write(p[1], "s", 1) < 0)
                _exit(1);
            for (;;)
                pause();
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1)
            return tp_fail(ctx, "no child");
        close(p[0]);
        if (in[6] == 'h')
            for (;;)
                pause();
        return tp_append(ctx, "ok", 2);
    }
    if (!strcmp(in, "uidmap")) {
        FILE *f = fopen("/proc/self/uid_map", "r");
        unsigned long a, b, c;
        int n = f ? fscanf(f, "%lu %lu %lu", &a, &b, &c) : 0;
        if (f)
            fclose(f);
        if (n != 3)
            return tp_fail(ctx, "cannot read /proc/self/uid_map");
        return tp_printf(ctx, "%lu %lu %lu", a, b, c);
    }
    if (!strcmp(in, "execfd3")) {
        FILE *f = popen("test -e /proc/self/fd/3 && echo open || echo closed",
                        "r");
        char line[32] = "";
        if (!f)
            return tp_fail(ctx, "popen failed");
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        pclose(f);
        line[strcspn(line, "\n")] = '\0';
        return tp_append(ctx, line, strlen(line));
    }
    if (!strncmp(in, "sleep:", 6)) {
        sleep_ms(num_after(in, "sleep:"));
        return tp_printf(ctx, "slept %ld", num_after(in, "sleep:"));
    }
    if (!strncmp(in, "huge:", 5)) {
        long n = num_after(in, "huge:");
        for (long i = 0; i < n; i++)
            if (tp_append(ctx, "x", 1) != TP_OK)
                return TP_FAIL;
        return TP_OK;
    }
    if (!strncmp(in, "forge:", 6)) {
        /* a frame header as the worker writes it (wire.h): magic "TPW1",
         * type TEXT (5), count 1, flags END | seq << 8, body length */
        unsigned char f[24 + 7];
        uint32_t v[4] = {0x31575054u, 5, 1,
                         1u | (uint32_t)num_after(in, "forge:") << 8};
        uint64_t blen = 7;
        memcpy(f, v, 16);
        memcpy(f + 16, &blen, 8);
        memcpy(f + 24, "forged\n", 7);
        if (write(3, f, sizeof f) < 0)
            return tp_fail(ctx, "write: %s", strerror(errno));
        return tp_puts(ctx, "real");
    }
    if (!strcmp(in, "steal")) {
        char buf[4096];
        sleep_ms(200); /* let the next request arrive */
        if (read(3, buf, sizeof buf) < 0)
            return tp_fail(ctx, "read: %s", strerror(errno));
        return tp_puts(ctx, "stolen");
    }
    if (!strcmp(in, "garbage")) {
        /* the worker's socket is the lowest fd above stdio */
        static const char junk[64] = "this is not a frame header at all.....";
        if (write(3, junk, sizeof junk) < 0)
            return tp_fail(ctx, "write: %s", strerror(errno));
        sleep_ms(100);
        return tp_puts(ctx, "garbage sent");
    }
    if (!strncmp(in, "env:", 4)) {
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(len - 4), in + 4);
        const char *v = getenv(name);
        return tp_puts(ctx, v ? v : "(unset)");
    }
    if (!strncmp(in, "note:", 5)) {
        const char *colon = strchr(in + 5, ':');
        if (!colon)
            return tp_fail(ctx, "note:PATH:ACTION expected");
        char path[4096];
        snprintf(path, sizeof path, "%.*s", (int)(colon - in - 5), in + 5);
        int fd = open(path, O_CREAT | O_APPEND | O_WRONLY, 0600);
        size_t n = len - (size_t)(colon + 1 - in);
        char line[4096]; /* one write: workers append side by side */
        int k = snprintf(line, sizeof line, "%.*s\n", (int)n, colon + 1);
        int ok = fd >= 0 && k > 0 && (size_t)k < sizeof line &&
                 write(fd, line, (size_t)k) == k;
        if (fd >= 0)
            close(fd);
        return ok ? task_act(ctx, colon + 1, n)
                  : tp_fail(ctx, "note: cannot append");
    }
    if (!strncmp(in, "once:", 5)) {
        /* once:PATH:ACTION does ACTION only if PATH does not exist yet
         * (creating it), else succeeds: a fault on the first attempt */
        const char *colon = strchr(in + 5, ':');
        if (!colon)
            return tp_fail(ctx, "once:PATH:ACTION expected");
        char path[4096];
        snprintf(path, sizeof path, "%.*s", (int)(colon - in - 5), in + 5);
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0)
            return tp_puts(ctx, "second time lucky");
        close(fd);
        return task_act(ctx, colon + 1, len - (size_t)(colon + 1 - in));
    }
    if (!strncmp(in, "leak:", 5)) {
        long n = num_after(in, "leak:");
        char *p = malloc((size_t)n);
        if (!p)
            return tp_fail(ctx, "out of memory");
        memset(p, 1, (size_t)n);
        return tp_printf(ctx, "leaked %ld", n);
    }
    if (!strncmp(in, "spin:", 5)) {
        volatile unsigned long x = 0;
        for (long i = num_after(in, "spin:"); i > 0; i--)
            x += (unsigned long)i;
        return tp_printf(ctx, "spun %lu", (unsigned long)x);
    }
    if (!strcmp(in, "badfails")) {
        /* a FAILS frame naming input 5 of a batch that has one */
        unsigned char f[24 + 13] = {'T', 'P', 'W', '1', 6, 0, 0, 0, 1, 0, 0, 0,
                                    0, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0,
                                    5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'x'};
        if (write(3, f, sizeof f) < 0)
            return tp_fail(ctx, "write: %s", strerror(errno));
        return tp_puts(ctx, "badfails sent");
    }
    if (!strcmp(in, "bigframe")) {
        /* a well-formed RESULT header announcing a 1 TiB body */
        unsigned char h[24] = {'T', 'P', 'W', '1', 2, 0, 0, 0, 1, 0, 0, 0,
                               0,   0,   0,   0,   0, 0, 0, 0, 0, 1, 0, 0};
        if (write(3, h, sizeof h) < 0)
            return tp_fail(ctx, "write: %s", strerror(errno));
        sleep_ms(100);
        return tp_puts(ctx, "bigframe sent");
    }
    return tp_fail(ctx, "unknown action");
}

static const struct tp_task chaos_tasks[] = {
    {"echo", "the input itself", task_echo},
    {"length", "the input's length in bytes", task_length},
    {"pid", "the worker's pid and the pid that ran init", task_pid},
    {"jitter", "the input, after 0-4 ms chosen by its hash", task_jitter},
    {"print", "printf()s to stdout, then returns \"ok INPUT\"", task_print},
    {"fds", "the worker's open file descriptors", task_fds},
    {"act", "does what the input says (ok:, fail:, segv, exit:N, ...)",
     task_act},
    {NULL, NULL, NULL},
};

TASKPOOL_PLUGIN("chaos", TP_PACKAGE_VERSION, chaos_tasks, chaos_init,
                chaos_fini)
