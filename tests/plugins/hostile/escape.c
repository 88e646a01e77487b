/* escape: a test plugin whose tasks try what a compute kernel does not
 * need, to test --sandbox and the limits (built for make check, not
 * installed).  `act` reads what to do from its input:
 *   ok:TEXT         -> TEXT
 *   open:PATH       -> reads PATH: "read N bytes", or fails "open PATH: ..."
 *   write:PATH      -> creates PATH: "wrote PATH", or fails "open PATH: ..."
 *   exec:MARKER     -> execs /bin/sh to create MARKER (the worker is gone)
 *   fork:MARKER     -> a child creates MARKER: "forked", or fails "fork: ..."
 *   thread          -> starts a thread and joins it: "thread ran"
 *   connect:PORT    -> TCP to 127.0.0.1:PORT: "connected", or fails
 *   ptrace, setuid, mmapshared, int80 (x86-64: getpid through the i386
 *                      entry), x32 (x86-64: getpid as an x32 call) -> the
 *                      call's result: "ptrace: ..."
 *   system          -> system("true"): "system: STATUS"
 *   alloc:N         -> N MiB allocated and touched: "allocated N MiB", or
 *                      fails "allocation of N MiB refused"
 *   xalloc:N        -> the same, but abort()s when refused (as xmalloc)
 *   nullwrite:N     -> the same, but writes through the NULL it got
 *   spin            -> loops for ever;  spinms:MS -> MS ms of CPU time
 *   spinblock, spinignore -> spin with SIGXCPU blocked, or ignored
 *   spinthread      -> leaves a thread spinning for ever: "left a thread"
 *   sleepms:MS      -> sleeps MS ms (no CPU)
 *   forkbomb:N      -> tries N children: "forked K of N" and why it
 *                      stopped; they are killed and reaped before it returns
 *   rootbomb:N      -> setresuid(0, 0, 0) (root's way past RLIMIT_NPROC,
 *                      whatever it returns), then forkbomb:N
 *   pipesize        -> a pipe enlarged to 1 MiB: "F_SETPIPE_SZ: ok", or
 *                      fails "F_SETPIPE_SZ: ..."
 *   forksocket      -> a child calls socket(): "child ended (status S)"
 *   vmdata          -> VmData of /proc/self/status, in KiB
 *   growsdown:N     -> N MiB mapped MAP_GROWSDOWN (a stack to the kernel,
 *                      not data) and touched: "grew N MiB", or fails
 *                      "growsdown: ..."
 *   stacklimit      -> raises RLIMIT_STACK to unlimited: "stack limit
 *                      raised", or fails "stack limit: ..."
 *   memfdwrite:N    -> writes N MiB into the memfd init left: "wrote N
 *                      MiB to the memfd", or fails "write: ..."
 * init (--init-arg): thread -> leaves a thread running; memfd -> leaves a
 * memfd open for writing; memfdro -> the same, then reopens it read-only
 * (and closes the first); shmmap -> leaves 1 MiB of shared anonymous
 * memory mapped (shmro: read-only, as mprotect could make it writable);
 * devshmro -> a file of /dev/shm mapped read-only, deleted; else nothing.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ, setresuid */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <taskpool/plugin.h>

static void *idle(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void *nothing(void *arg)
{
    return arg;
}

static int memfd = -1; /* init's, for memfdwrite */

static int escape_init(tp_ctx *ctx, const char *arg)
{
    pthread_t t;
    if (arg && !strcmp(arg, "thread") && pthread_create(&t, NULL, idle, NULL))
        return tp_fail(ctx, "pthread_create failed");
    if (arg && !strncmp(arg, "memfd", 5)) {
        if ((memfd = memfd_create("escape", 0)) < 0)
            return tp_fail(ctx, "memfd_create failed");
        if (!strcmp(arg, "memfdro")) {
            char p[64];
            snprintf(p, sizeof p, "/proc/self/fd/%d", memfd);
            int ro = open(p, O_RDONLY);
            close(memfd);
            if ((memfd = ro) < 0)
                return tp_fail(ctx, "reopen failed");
        }
    }
    if (arg && (!strcmp(arg, "shmmap") || !strcmp(arg, "shmro")) &&
        mmap(NULL, 1 << 20, PROT_READ | (arg[3] == 'm' ? PROT_WRITE : 0),
             MAP_SHARED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
        return tp_fail(ctx, "mmap failed");
    if (arg && !strcmp(arg, "devshmro")) { /* mapped, then unlinked */
        char p[64];
        snprintf(p, sizeof p, "/dev/shm/escape-%d", (int)getpid());
        int fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || ftruncate(fd, 1 << 20) != 0 ||
            mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
            return tp_fail(ctx, "/dev/shm mapping failed");
        unlink(p);
        close(fd);
    }
    return TP_OK;
}

static int memfd_write(tp_ctx *ctx, long mib)
{
    static char block[1 << 20];
    memset(block, 'm', sizeof block);
    for (long i = 0; i < mib; i++)
        if (write(memfd, block, sizeof block) != (ssize_t)sizeof block)
            return tp_fail(ctx, "write: %s", strerror(errno));
    return tp_printf(ctx, "wrote %ld MiB to the memfd", mib);
}

static long num_after(const char *in, const char *prefix)
{
    return strtol(in + strlen(prefix), NULL, 10);
}

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int task_open(tp_ctx *ctx, const char *path)
{
    char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tp_fail(ctx, "open %s: %s", path, strerror(errno));
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0)
        return tp_fail(ctx, "read %s: %s", path, strerror(errno));
    return tp_printf(ctx, "read %zd bytes", n);
}

static int task_write(tp_ctx *ctx, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return tp_fail(ctx, "open %s: %s", path, strerror(errno));
    ssize_t n = write(fd, "escaped\n", 8);
    close(fd);
    if (n != 8)
        return tp_fail(ctx, "write %s failed", path);
    return tp_printf(ctx, "wrote %s", path);
}

static int task_fork(tp_ctx *ctx, const char *marker)
{
    pid_t pid = fork();
    if (pid < 0)
        return tp_fail(ctx, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(marker, O_WRONLY | O_CREAT, 0644);
        _exit(fd < 0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return tp_puts(ctx, "forked");
}

static int task_connect(tp_ctx *ctx, long port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return tp_fail(ctx, "socket: %s", strerror(errno));
    int r = connect(s, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(s);
    if (r != 0)
        return tp_fail(ctx, "connect: %s", strerror(e));
    return tp_puts(ctx, "connected");
}

/* how: 0 checks, 1 aborts, 2 writes through NULL */
static int task_alloc(tp_ctx *ctx, long mib, int how)
{
    size_t n = (size_t)mib << 20;
    char *p = malloc(n);
    if (!p) {
        if (how == 0)
            return tp_fail(ctx, "allocation of %ld MiB refused", mib);
        if (how == 1)
            abort();
        char *volatile q = p; /* a real store through NULL, not a trap */
        *q = 1;
    }
    for (size_t i = 0; i < n; i += 4096) /* touched, not optimised away */
        ((volatile char *)p)[i] = 1;
    free(p);
    return tp_printf(ctx, "allocated %ld MiB", mib);
}

static int task_forkbomb(tp_ctx *ctx, long n)
{
    pid_t kids[1024];
    long k = 0;
    int e = 0;
    if (n > 1024)
        n = 1024;
    for (; k < n; k++) {
        pid_t pid = fork();
        if (pid == 0)
            for (;;)
                pause();
        if (pid < 0) {
            e = errno;
            break;
        }
        kids[k] = pid;
    }
    for (long i = 0; i < k; i++) {
        kill(kids[i], SIGKILL);
        while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (e)
        return tp_printf(ctx, "forked %ld of %ld (then: %s)", k, n,
                         strerror(e));
    return tp_printf(ctx, "forked %ld of %ld", k, n);
}

static void *spin_for_ever(void *arg)
{
    volatile unsigned long x = 0;
    for (;;)
        x++;
    return arg;
}

static _Noreturn void spin_with(int how)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGXCPU);
    if (how == 0)
        sigprocmask(SIG_BLOCK, &s, NULL);
    else
        signal(SIGXCPU, SIG_IGN);
    volatile unsigned long x = 0;
    for (;;)
        x++;
}

static int task_pipesize(tp_ctx *ctx)
{
    int p[2];
    if (pipe(p) != 0)
        return tp_fail(ctx, "pipe: %s", strerror(errno));
    int r = fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    int e = errno;
    close(p[0]);
    close(p[1]);
    if (r < 0)
        return tp_fail(ctx, "F_SETPIPE_SZ: %s", strerror(e));
    return tp_puts(ctx, "F_SETPIPE_SZ: ok");
}

static int task_forksocket(tp_ctx *ctx)
{
    pid_t pid = fork();
    if (pid < 0)
        return tp_fail(ctx, "fork: %s", strerror(errno));
    if (pid == 0)
        _exit(socket(AF_INET, SOCK_STREAM, 0) < 0);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return tp_printf(ctx, "child ended (status %d)", st);
}

static int task_vmdata(tp_ctx *ctx)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmData: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb < 0 ? tp_fail(ctx, "no VmData") : tp_put_i64(ctx, kb);
}

/* Memory RLIMIT_DATA does not count, unless it is refused. */
static int task_growsdown(tp_ctx *ctx, unsigned long mib)
{
    size_t n = (size_t)mib << 20;
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
    if (p == MAP_FAILED)
        return tp_fail(ctx, "growsdown: %s", strerror(errno));
    for (size_t i = 0; i < n; i += 4096)
        p[i] = 1;
    munmap(p, n);
    return tp_printf(ctx, "grew %lu MiB", mib);
}

static int task_act(tp_ctx *ctx, const char *in, size_t len)
{
    if (!strncmp(in, "ok:", 3))
        return tp_append(ctx, in + 3, len - 3);
    if (!strncmp(in, "open:", 5))
        return task_open(ctx, in + 5);
    if (!strncmp(in, "write:", 6))
        return task_write(ctx, in + 6);
    if (!strncmp(in, "exec:", 5)) {
        execl("/bin/sh", "sh", "-c", ": > \"$0\"", in + 5, (char *)NULL);
        return tp_fail(ctx, "exec: %s", strerror(errno));
    }
    if (!strncmp(in, "fork:", 5))
        return task_fork(ctx, in + 5);
    if (!strcmp(in, "thread")) {
        pthread_t t;
        int e = pthread_create(&t, NULL, nothing, NULL);
        if (e)
            return tp_fail(ctx, "pthread_create: %s", strerror(e));
        pthread_join(t, NULL);
        return tp_puts(ctx, "thread ran");
    }
    if (!strncmp(in, "connect:", 8))
        return task_connect(ctx, num_after(in, "connect:"));
    if (!strcmp(in, "ptrace")) {
        long r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        return tp_printf(ctx, "ptrace: %s", r == 0 ? "ok" : strerror(errno));
    }
    if (!strcmp(in, "setuid")) {
        int r = setuid(getuid());
        return tp_printf(ctx, "setuid: %s", r == 0 ? "ok" : strerror(errno));
    }
    if (!strcmp(in, "mmapshared")) {
        void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        return tp_printf(ctx, "mmapshared: %s",
                         p != MAP_FAILED ? "ok" : strerror(errno));
    }
#if defined(__x86_64__)
    if (!strcmp(in, "int80")) {
        long r = 20; /* getpid on i386 */
        __asm__ volatile("int $0x80" : "+a"(r) : : "memory");
        return tp_printf(ctx, "int80: %s", r > 0 ? "ok" : "failed");
    }
    if (!strcmp(in, "x32")) {
        long r = syscall(0x40000000L | 39); /* __X32_SYSCALL_BIT | getpid */
        return tp_printf(ctx, "x32: %s", r > 0 ? "ok" : strerror(errno));
    }
#endif
    if (!strncmp(in, "memfdwrite:", 11))
        return memfd_write(ctx, num_after(in, "memfdwrite:"));
    if (!strcmp(in, "system"))
        return tp_printf(ctx, "system: %d", system("true"));
    if (!strncmp(in, "alloc:", 6))
        return task_alloc(ctx, num_after(in, "alloc:"), 0);
    if (!strncmp(in, "xalloc:", 7))
        return task_alloc(ctx, num_after(in, "xalloc:"), 1);
    if (!strncmp(in, "nullwrite:", 10))
        return task_alloc(ctx, num_after(in, "nullwrite:"), 2);
    if (!strcmp(in, "spin")) {
        volatile unsigned long x = 0;
        for (;;)
            x++;
    }
    if (!strncmp(in, "spinms:", 7)) {
        double until = cpu_ms() + (double)num_after(in, "spinms:");
        volatile unsigned long x = 0;
        while (cpu_ms() < until)
            x++;
        return tp_printf(ctx, "spun %ld ms", num_after(in, "spinms:"));
    }
    if (!strncmp(in, "sleepms:", 8)) {
        long ms = num_after(in, "sleepms:");
        struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&t, &t) != 0)
            ;
        return tp_printf(ctx, "slept %ld ms", ms);
    }
    if (!strncmp(in, "forkbomb:", 9))
        return task_forkbomb(ctx, num_after(in, "forkbomb:"));
    if (!strcmp(in, "spinblock") || !strcmp(in, "spinignore"))
        spin_with(!strcmp(in, "spinignore"));
    if (!strcmp(in, "spinthread")) {
        pthread_t t;
        int e = pthread_create(&t, NULL, spin_for_ever, NULL);
        if (e)
            return tp_fail(ctx, "pthread_create: %s", strerror(e));
        pthread_detach(t);
        return tp_puts(ctx, "left a thread");
    }
    if (!strncmp(in, "rootbomb:", 9)) {
        (void)!setresuid(0, 0, 0);
        return task_forkbomb(ctx, num_after(in, "rootbomb:"));
    }
    if (!strcmp(in, "pipesize"))
        return task_pipesize(ctx);
    if (!strcmp(in, "forksocket"))
        return task_forksocket(ctx);
    if (!strcmp(in, "vmdata"))
        return task_vmdata(ctx);
    if (!strncmp(in, "growsdown:", 10))
        return task_growsdown(ctx, num_after(in, "growsdown:"));
    if (!strcmp(in, "stacklimit")) {
        struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
        if (setrlimit(RLIMIT_STACK, &r) != 0)
            return tp_fail(ctx, "stack limit: %s", strerror(errno));
        return tp_printf(ctx, "stack limit raised");
    }
    return tp_fail(ctx, "unknown action");
}

static const struct tp_task tasks[] = {
    {"act", "does what the input says (open:, exec:, fork:, alloc:, ...)",
     task_act},
    {NULL, NULL, NULL},
};

TASKPOOL_PLUGIN("escape", "1", tasks, escape_init, NULL)
