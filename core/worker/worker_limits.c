/* Limits a worker puts on itself after init, before its first task.
 *
 * Memory: RLIMIT_DATA, not RLIMIT_AS.  Both refuse an allocation that
 * would go over (mmap and brk fail with ENOMEM, malloc returns NULL), but
 * RLIMIT_AS also counts address space that holds no memory: glibc
 * reserves 64 MiB per thread arena, JITs, Go and the sanitizers reserve
 * far more, PROT_NONE.  Measured (bench/memlimit): a program whose four
 * threads had each malloc'd once could then allocate 67 MiB under
 * RLIMIT_AS=200M, 197 MiB under RLIMIT_DATA=200M, where a 1 GiB PROT_NONE
 * reservation also passed.  RLIMIT_DATA counts private writable memory (heap,
 * anonymous mappings, thread stacks, libraries' data); not shared
 * mappings (--sandbox blocks shared anonymous ones).
 * A kernel whose allocation is refused and that says so fails its input
 * with its own message.  One that dies of it (a NULL dereference, xmalloc's
 * abort, C++'s bad_alloc) dies of SIGSEGV, SIGBUS or SIGABRT; the handler
 * below records it as the memory limit's doing if errno is ENOMEM then
 * (the task's last failed call was an allocation: errno is cleared before
 * each task, the worker's other calls succeed) or if the worker's data is
 * within 1/8 of the limit, and the host words the outcome so.
 *
 * CPU: a per-task limit, which the worker's keeper watches (keeper.c):
 * a signal the worker sent itself could be blocked or ignored by a task.
 *
 * Processes: RLIMIT_NPROC, counted in the user namespace of the worker's
 * own that its keeper made (keeper.c), so that it counts the worker and
 * what it starts, threads included, and also holds for root: the kernel
 * exempts a real uid of 0, which the keeper made 65534 (the effective uid
 * stayed 0).  But with an effective uid of 0, setresuid(0, 0, 0) takes
 * it back, no capability needed (a real uid may become the effective
 * one), so a root worker gives up uid 0 before its first task: every uid
 * becomes 65534 but the filesystem uid, which stays 0 (files are reached
 * as before, with the capabilities root has in the namespace: the change
 * keeps them, SECBIT_NO_SETUID_FIXUP), and the capabilities that would
 * change uids back or lift limits go from every set, the bounding set
 * too, with no new privileges (no set-user-ID root program). */
#include "worker/worker_limits.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GUARD_MAGIC 0x64726175475054ull /* "TPGuard" */
#define GUARD_STACK (64u << 10)         /* guard + alternate signal stack */

struct tp__guard *tp__guard_find(void)
{
    stack_t ss;
    if (sigaltstack(NULL, &ss) != 0 || !ss.ss_sp ||
        ss.ss_size < sizeof(struct tp__guard))
        return NULL;
    struct tp__guard *g = ss.ss_sp;
    return g->magic == GUARD_MAGIC ? g : NULL;
}

void tp__guard_end(struct tp__guard *g, int cause, int sig)
{
    if (g && g->prog)
        __atomic_store_n(&g->prog->cause, cause, __ATOMIC_RELEASE);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    /* blocked while its handler runs: delivered as it returns */
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
}

void tp__human_size(uint64_t b, char *buf, size_t len)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b / 1024;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    char num[32];
    int n = snprintf(num, sizeof num, "%.1f", v);
    if (n >= 2 && !strcmp(num + n - 2, ".0")) /* "64", not "64.0" */
        num[n - 2] = '\0';
    snprintf(buf, len, "%s %s", num, unit[u]);
}

/* The data field of /proc/self/statm (private writable memory and stack)
 * in bytes, read with async-signal-safe calls; 0 if unknown. */
static uint64_t data_bytes(const struct tp__guard *g)
{
    char b[128];
    ssize_t n = g->statm_fd >= 0 ? pread(g->statm_fd, b, sizeof b - 1, 0) : -1;
    if (n <= 0)
        return 0;
    b[n] = '\0';
    const char *p = b;
    for (int field = 0; field < 5; field++) { /* skip size ... lib */
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
    }
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (uint64_t)(*p - '0');
    return v * (uint64_t)g->page;
}

/* SIGSEGV, SIGBUS, SIGABRT under a memory limit: was the limit the cause? */
static void on_crash(int sig, siginfo_t *si, void *uc)
{
    int e = errno;
    (void)si;
    (void)uc;
    struct tp__guard *g = tp__guard_find();
    int cause = TP_CAUSE_NONE;
    if (g && g->mem_limit &&
        (e == ENOMEM || data_bytes(g) >= g->mem_limit - g->mem_limit / 8))
        cause = TP_CAUSE_MEMORY;
    tp__guard_end(g, cause, sig);
}

static int handle(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

/* Lower resource res to at most v (soft and hard: a kernel cannot raise
 * it again); a hard limit already lower stays, since it holds too. */
static int lower(int res, uint64_t v)
{
    struct rlimit r;
    if (getrlimit(res, &r) != 0)
        return -1;
    if (r.rlim_max != RLIM_INFINITY && r.rlim_max < v)
        v = r.rlim_max;
    r.rlim_cur = r.rlim_max = (rlim_t)v;
    return setrlimit(res, &r);
}

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, strerror(errno));
    return -1;
}

static int limit_memory(struct tp__guard *g, uint64_t limit, size_t more,
                        char *err, size_t errlen)
{
    g->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (g->statm_fd < 0)
        return fail(err, errlen, "/proc/self/statm");
    g->mem_limit = limit;
    uint64_t used = data_bytes(g) + more;
    if (used >= limit) {
        char l[32], u[32];
        tp__human_size(limit, l, sizeof l);
        tp__human_size(used, u, sizeof u);
        snprintf(err, errlen, "memory limit (%s) is below what a worker "
                 "needs once the plugin is loaded and init has run (%s)", l,
                 u);
        return -1;
    }
    /* the stack is not data: its limit is fixed where it is (at most the
     * memory limit), or a task could raise it and grow a stack past */
    struct rlimit st;
    if (lower(RLIMIT_DATA, limit) != 0 || getrlimit(RLIMIT_STACK, &st) != 0 ||
        lower(RLIMIT_STACK, st.rlim_cur < limit ? st.rlim_cur : limit) != 0)
        return fail(err, errlen, "setrlimit(RLIMIT_DATA, RLIMIT_STACK)");
    if (handle(SIGSEGV, on_crash, SA_ONSTACK | SA_RESETHAND) != 0 ||
        handle(SIGBUS, on_crash, SA_ONSTACK | SA_RESETHAND) != 0 ||
        handle(SIGABRT, on_crash, SA_ONSTACK | SA_RESETHAND) != 0)
        return fail(err, errlen, "sigaction");
    return 0;
}

int tp__limits_precheck(const struct tp__confine *c,
                       const struct tp__progress *prog, char *err,
                       size_t errlen)
{
    if (c->max_procs && prog->userns_errno) {
        snprintf(err, errlen, "cannot limit processes: a worker cannot have "
                 "the user namespace of its own that RLIMIT_NPROC needs (%s)",
                 strerror(prog->userns_errno));
        return -1;
    }
    return 0;
}

#define NPROC_UID 65534 /* as keeper.c's */

/* What would make uid 0 ours again, or RLIMIT_NPROC moot. */
static const int root_caps[] = {CAP_SETUID, CAP_SETGID, CAP_SYS_RESOURCE,
                                CAP_SYS_ADMIN, CAP_SETPCAP};

/* Drop root_caps from the effective, permitted and inheritable sets. */
static int drop_caps(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0)
        return -1;
    for (size_t i = 0; i < sizeof root_caps / sizeof root_caps[0]; i++) {
        uint32_t bit = 1u << (root_caps[i] % 32);
        d[root_caps[i] / 32].effective &= ~bit;
        d[root_caps[i] / 32].permitted &= ~bit;
        d[root_caps[i] / 32].inheritable &= ~bit;
    }
    return (int)syscall(SYS_capset, &h, d);
}

/* A root worker (euid 0 in its namespace) gives up uid 0: see the top of
 * this file. */
static int unroot(char *err, size_t errlen)
{
    const unsigned long bits = SECBIT_NO_SETUID_FIXUP |
                               SECBIT_NO_SETUID_FIXUP_LOCKED |
                               SECBIT_NOROOT | SECBIT_NOROOT_LOCKED;
    if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0)
        return fail(err, errlen, "cannot limit processes: securebits");
    if (setresuid(NPROC_UID, NPROC_UID, NPROC_UID) != 0)
        return fail(err, errlen, "cannot limit processes: setresuid");
    /* setfsuid says nothing of failure: ask again with an invalid id */
    setfsuid(0);
    if (setfsuid((uid_t)-1) != 0) {
        snprintf(err, errlen, "cannot limit processes: setfsuid(0) failed");
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        return fail(err, errlen, "cannot limit processes: prctl");
    /* the bounding set first: dropping from it takes CAP_SETPCAP */
    for (size_t i = 0; i < sizeof root_caps / sizeof root_caps[0]; i++)
        if (prctl(PR_CAPBSET_DROP, root_caps[i], 0, 0, 0) != 0)
            return fail(err, errlen, "cannot limit processes: "
                        "PR_CAPBSET_DROP");
    if (drop_caps() != 0)
        return fail(err, errlen, "cannot limit processes: capset");
    return 0;
}

static int limit_procs(unsigned n, char *err, size_t errlen)
{
    if (geteuid() == 0 && unroot(err, errlen) != 0)
        return -1;
    /* the keeper made our real uid one the limit applies to */
    if (getuid() == 0) {
        snprintf(err, errlen, "cannot limit processes: the worker's real "
                 "uid is 0, which RLIMIT_NPROC does not hold");
        return -1;
    }
    if (lower(RLIMIT_NPROC, n) != 0)
        return fail(err, errlen, "setrlimit(RLIMIT_NPROC)");
    return 0;
}

struct tp__guard *tp__limits_enter(const struct tp__confine *c,
                                 struct tp__progress *prog, size_t more,
                                 char *err, size_t errlen)
{
    void *m = mmap(NULL, GUARD_STACK, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        fail(err, errlen, "mmap");
        return NULL;
    }
    struct tp__guard *g = m;
    g->prog = prog;
    g->statm_fd = -1;
    g->page = sysconf(_SC_PAGESIZE);
    g->pid = getpid();
    stack_t ss = {.ss_sp = m, .ss_flags = 0, .ss_size = GUARD_STACK};
    if (sigaltstack(&ss, NULL) != 0) {
        fail(err, errlen, "sigaltstack");
        return NULL;
    }
    g->magic = GUARD_MAGIC;
    if ((c->mem_limit &&
         limit_memory(g, c->mem_limit, more, err, errlen) != 0) ||
        (c->max_procs && limit_procs(c->max_procs, err, errlen) != 0))
        return NULL;
    return g;
}
