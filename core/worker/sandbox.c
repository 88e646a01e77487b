/* --sandbox: what a worker gives up after init, before its first task,
 * with what Linux offers unprivileged.
 *
 * Landlock (files): no file access at all, except reading files and
 * listing directories below each allow_read directory.  Every right the
 * kernel's Landlock ABI knows is handled (ABI 1-3 files, 4 TCP, 5 device
 * ioctls, 6 signals and abstract unix sockets scoped to the sandbox), so
 * an open that is not allowed fails with EACCES: the task fails with its
 * own message.  Landlock does not cover metadata (stat, readlink).
 *
 * seccomp (system calls): an allow list; anything else ends the worker
 * with SIGSYS (SECCOMP_RET_TRAP, also for another architecture's calls,
 * such as int 0x80 on x86-64), after the handler below recorded which
 * call it was, and the host names it: "sandbox: blocked system call
 * execve".  Allowed: memory (no shared anonymous mappings, which
 * RLIMIT_DATA would not count), time, futex, read/write/close and the
 * like on descriptors, opening files (Landlock decides), signals (not
 * SIGSYS's handler), identity and limit queries, exit.  Not allowed,
 * among all the rest: execve/execveat, fork/clone (unless --max-procs
 * allows more than one process: then clone without new namespaces, never
 * clone3's unreadable arguments), socket, connect, bind, ptrace, mount,
 * unshare, set*id, setrlimit/prlimit64 with a new limit, prctl,
 * chmod/chown.  These calls get an error instead: ioctl (ENOTTY: stdio
 * asks whether a stream is a terminal), clone3 (ENOSYS: glibc then uses
 * clone), clone for a thread (EAGAIN, see rules()) or for posix_spawn's
 * process (EPERM: system(), popen()), and fcntl's
 * F_SETPIPE_SZ (EPERM: a pipe's buffer is kernel memory RLIMIT_DATA does
 * not count; at 64 KiB a pipe, RLIMIT_NOFILE still bounds it).  Signals: with
 * Landlock ABI 6 or later, which keeps them inside the sandbox, to any
 * process (a kernel's children); before, to the worker only (from a
 * process a kernel forked too: on_sigsys ends the worker so).
 *
 * Landlock holds only the thread that asks, so a worker whose plugin
 * started threads in its set-up refuses to sandbox itself.  The handler
 * finds the progress page through the alternate signal stack (worker_limits.c),
 * which is the worker's main thread's: a blocked call in a thread a kernel
 * started (--max-procs above 1), or made with SIGSYS blocked, is reported
 * without its name.  A process a kernel forks keeps the alternate stack:
 * its blocked call is named, and ends the worker too (on_sigsys).
 *
 * Cost: libseccomp takes about 300 us to turn the rules into a program, so
 * the host builds it once per pool and each worker only loads it (the
 * whole entry then takes a few tens of us); only where the rules name
 * the worker's pid (Landlock before ABI 6) does each worker build its
 * own. */
#include "worker/sandbox.h"

#include "common/errtext.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef HAVE_SECCOMP
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>

/* Landlock's user ABI (linux/landlock.h), written out: Debian 12's
 * headers stop at ABI 2, the kernel has 7. */
struct ll_ruleset_attr {
    uint64_t handled_access_fs, handled_access_net, scoped;
};
struct ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));
#define LL_CREATE_RULESET_VERSION 1u
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_V1 ((1ull << 13) - 1) /* execute ... make_sym */
#define LL_FS_REFER (1ull << 13)    /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15) /* ABI 5 */
#define LL_NET_TCP 3ull              /* ABI 4: bind, connect */
#define LL_SCOPE_ALL 3ull            /* ABI 6: abstract unix sockets, signals */

static int landlock_abi(void)
{
    return (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
                        LL_CREATE_RULESET_VERSION);
}
#endif

#ifdef HAVE_SECCOMP
/* The worker's threads: Landlock would hold only this one.  (The links
 * of /proc/self/task are its threads and 2: one stat, where reading
 * /proc/self/status costs about 80 us.) */
static int threads(void)
{
    struct stat st;
    return stat("/proc/self/task", &st) == 0 ? (int)st.st_nlink - 2 : -1;
}

/* Returns the Landlock ABI entered, or -1. */
static int landlock(const struct tp__confine *c, char *err, size_t errlen)
{
    int abi = landlock_abi();
    if (abi < 1) {
        snprintf(err, errlen, "cannot sandbox: landlock_create_ruleset: %s",
                 strerror(errno));
        return -1;
    }
    struct ll_ruleset_attr a = {LL_FS_V1, 0, 0};
    size_t size = sizeof a.handled_access_fs;
    if (abi >= 2)
        a.handled_access_fs |= LL_FS_REFER;
    if (abi >= 3)
        a.handled_access_fs |= LL_FS_TRUNCATE;
    if (abi >= 4) {
        a.handled_access_net = LL_NET_TCP;
        size = offsetof(struct ll_ruleset_attr, scoped);
    }
    if (abi >= 5)
        a.handled_access_fs |= LL_FS_IOCTL_DEV;
    if (abi >= 6) {
        a.scoped = LL_SCOPE_ALL;
        size = sizeof a;
    }
    int rs = (int)syscall(SYS_landlock_create_ruleset, &a, size, 0);
    if (rs < 0) {
        snprintf(err, errlen, "cannot sandbox: landlock_create_ruleset: %s",
                 strerror(errno));
        return -1;
    }
    for (size_t i = 0; c->allow_read && c->allow_read[i]; i++) {
        struct ll_path_beneath_attr pb = {LL_FS_READ_FILE | LL_FS_READ_DIR,
                                          -1};
        pb.parent_fd = open(c->allow_read[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (pb.parent_fd < 0 ||
            syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb,
                    0) != 0) {
            snprintf(err, errlen, "cannot allow reading %s: %s",
                     c->allow_read[i], strerror(errno));
            if (pb.parent_fd >= 0)
                close(pb.parent_fd);
            close(rs);
            return -1;
        }
        close(pb.parent_fd);
    }
    if (syscall(SYS_landlock_restrict_self, rs, 0) != 0) {
        snprintf(err, errlen, "cannot sandbox: landlock_restrict_self: %s",
                 strerror(errno));
        close(rs);
        return -1;
    }
    close(rs);
    return abi;
}

#define X32_SYSCALL_BIT 0x40000000 /* __X32_SYSCALL_BIT */

/* si_code of a SIGSYS from a seccomp filter (SYS_SECCOMP, which glibc
 * 2.36 does not name) */
#define SIGSYS_SECCOMP 1

/* SIGSYS from the filter: record the call, then die of SIGSYS (the
 * disposition is the default again: SA_RESETHAND).  In a process a
 * kernel started (--max-procs above 1), which has the worker's handler
 * and guard, the worker goes too, with SIGKILL (the task may block
 * SIGSYS), after the cause is recorded: the input is the worker's. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    struct tp__guard *g = tp__guard_find();
    if (g && g->prog && si->si_code == SIGSYS_SECCOMP) {
        g->prog->syscall_nr = si->si_syscall;
        g->prog->syscall_arch = si->si_arch;
        __atomic_store_n(&g->prog->cause, TP_CAUSE_SYSCALL, __ATOMIC_RELEASE);
        /* the filter allows it (a signal to the worker, in its sandbox);
         * failing, this process still dies, only not the worker */
        if (g->pid != getpid())
            (void)kill(g->pid, SIGKILL);
    }
    tp__guard_end(g, TP_CAUSE_SYSCALL, sig);
}

/* Allowed whatever their arguments; a name this architecture does not
 * have is skipped. */
static const char *const allowed[] = {
    /* memory (mmap: below) */
    "brk", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync",
    /* time and waiting */
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
    "gettimeofday", "time", "futex", "sched_yield", "pause", "poll", "ppoll",
    "select", "pselect6", "restart_syscall",
    /* descriptors it has or opens */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
    "pwritev", "lseek", "close", "dup", "dup2", "dup3", "pipe",
    "pipe2", "fstat", "newfstatat", "stat", "lstat", "statx", "getdents",
    "getdents64",
    /* files: Landlock decides */
    "open", "openat", "openat2", "access", "faccessat", "faccessat2",
    "readlink", "readlinkat", "getcwd",
    /* signals to itself (kill and tgkill: below) */
    "rt_sigreturn", "rt_sigprocmask", "rt_sigpending", "rt_sigsuspend",
    "rt_sigtimedwait", "sigaltstack",
    /* who and where it is */
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
    "getresuid", "getresgid", "getgroups", "getpgrp", "getpgid", "getsid",
    "uname", "sysinfo", "getrusage", "times", "getrlimit", "getcpu",
    "sched_getaffinity", "getrandom",
    /* children it may have (--max-procs), the end */
    "wait4", "waitid", "exit", "exit_group",
};

/* The calls a rule needs, by name; -1 if this architecture has none. */
static int nr(const char *name)
{
    int n = seccomp_syscall_resolve_name(name);
    return n == __NR_SCMP_ERROR ? -1 : n;
}

static int rules(scmp_filter_ctx f, const struct tp__confine *c, int abi)
{
    int r = 0;
    pid_t self = getpid();
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0] && !r; i++) {
        int n = nr(allowed[i]);
        if (n >= 0)
            r = seccomp_rule_add(f, SCMP_ACT_ALLOW, n, 0);
    }
    /* private mappings, or file-backed shared ones: not shared anonymous
     * memory, nor MAP_GROWSDOWN (a stack to the kernel), which
     * RLIMIT_DATA does not count */
    r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                                 SCMP_A3(SCMP_CMP_MASKED_EQ,
                                         MAP_SHARED | MAP_GROWSDOWN, 0));
    r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                                 SCMP_A3(SCMP_CMP_MASKED_EQ,
                                         MAP_ANONYMOUS | MAP_GROWSDOWN, 0));
    /* fcntl, but a pipe's buffer stays as it is made (64 KiB): grown,
     * it would hold kernel memory that RLIMIT_DATA does not count
     * (EPERM: what an unprivileged F_SETPIPE_SZ past the system's
     * maximum gets) */
    r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                                 SCMP_A1(SCMP_CMP_NE, F_SETPIPE_SZ));
    r = r ? r : seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl),
                                 1, SCMP_A1(SCMP_CMP_EQ, F_SETPIPE_SZ));
    /* the worker's READY on its socket (fd 3), no address */
    r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 2,
                                 SCMP_A0(SCMP_CMP_EQ, 3),
                                 SCMP_A4(SCMP_CMP_EQ, 0));
    /* handlers, but not SIGSYS's */
    r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1,
                                 SCMP_A0(SCMP_CMP_NE, SIGSYS));
    /* signals: Landlock 6 keeps them inside the sandbox; before it, to
     * the worker only (raise, abort, the limits' own ends, and a forked
     * process's SIGKILL of the worker: on_sigsys) */
    static const char *const kills[] = {"kill", "tgkill", "tkill"};
    for (size_t i = 0; i < 3 && !r; i++)
        r = abi >= 6 ? seccomp_rule_add(f, SCMP_ACT_ALLOW, nr(kills[i]), 0)
                     : seccomp_rule_add(f, SCMP_ACT_ALLOW, nr(kills[i]), 1,
                                        SCMP_A0(SCMP_CMP_EQ,
                                                (scmp_datum_t)self));
    /* limits may be read, not changed */
    r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
                                 SCMP_A2(SCMP_CMP_EQ, 0));
    r = r ? r : seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl),
                                 0);
    r = r ? r : seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
                                 0);
    if (!r && c->max_procs <= 1)
        /* a thread: EAGAIN, as an exhausted RLIMIT_NPROC, so a library
         * that would start threads stays in the calling one (a trap could
         * not be named: glibc blocks every signal around this clone) */
        r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EAGAIN), SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
                                     CLONE_THREAD));
    if (!r && c->max_procs <= 1)
        /* posix_spawn's process (system(), popen()): EPERM, for the same
         * reason; a plain fork is trapped and named */
        r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ,
                                     CLONE_VM | CLONE_VFORK | CLONE_THREAD,
                                     CLONE_VM | CLONE_VFORK));
    if (!r && c->max_procs > 1) {
        /* new processes and threads, in no new namespace */
        const scmp_datum_t ns = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                CLONE_NEWNET;
        r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, ns, 0));
        static const char *const more[] = {"fork", "vfork", "set_robust_list",
                                           "rseq", "set_tid_address"};
        for (size_t i = 0; i < sizeof more / sizeof more[0] && !r; i++) {
            int n = nr(more[i]);
            if (n >= 0)
                r = seccomp_rule_add(f, SCMP_ACT_ALLOW, n, 0);
        }
    }
    return r;
}

/* The program of f, into c->filter (malloc'd).  0 or -errno. */
static int export(scmp_filter_ctx f, struct tp__confine *c)
{
    int fd = memfd_create("taskpool-filter", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = seccomp_export_bpf(f, fd);
    off_t n = r ? 0 : lseek(fd, 0, SEEK_END);
    void *p = n > 0 && n % sizeof(struct sock_filter) == 0 &&
                      n / sizeof(struct sock_filter) <= BPF_MAXINSNS
                  ? malloc((size_t)n)
                  : NULL;
    if (!r && (!p || pread(fd, p, (size_t)n, 0) != n)) {
        r = p ? -EIO : -ENOMEM;
        free(p);
        p = NULL;
    }
    close(fd);
    c->filter = p;
    c->filter_len = p ? (uint32_t)(n / sizeof(struct sock_filter)) : 0;
    return r;
}

/* The system call filter: built into c->filter (in the host, for every
 * worker: keep), or built and loaded (in a worker).  0, or -1 with a
 * message. */
static int build(struct tp__confine *c, int abi, int keep, char *err,
                 size_t errlen)
{
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_TRAP);
    if (!f) {
        snprintf(err, errlen, "cannot sandbox: seccomp_init failed");
        return -1;
    }
    /* a call of another architecture (int 0x80 on x86-64) is trapped too:
     * its number would mean another call */
    int r = seccomp_attr_set(f, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
    r = r ? r : rules(f, c, abi);
    r = r ? r : keep ? export(f, c) : seccomp_load(f);
    seccomp_release(f);
    if (r) {
        snprintf(err, errlen, "cannot sandbox: the system call filter: %s",
                 tp__errtext(-r));
        errno = -r;
        return -1;
    }
    return 0;
}

/* Load the program the host built (no new privileges is set already). */
static int load(const struct tp__confine *c, char *err, size_t errlen)
{
    struct sock_fprog prog = {(unsigned short)c->filter_len,
                              (struct sock_filter *)c->filter};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        snprintf(err, errlen, "cannot sandbox: the system call filter: %s",
                 strerror(errno));
        return -1;
    }
    return 0;
}
#endif

int tp__sandbox_prepare(struct tp__confine *c, char *err, size_t errlen)
{
#ifndef HAVE_SECCOMP
    (void)c;
    snprintf(err, errlen, "cannot sandbox: this taskpool was built without "
             "libseccomp (install libseccomp-dev, then configure and build "
             "again)");
    return -1;
#else
    if (landlock_abi() < 1) {
        snprintf(err, errlen, "cannot sandbox: this kernel has no Landlock "
                 "(landlock_create_ruleset: %s)", strerror(errno));
        return -1;
    }
    uint32_t trap = SECCOMP_RET_TRAP;
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &trap) != 0) {
        snprintf(err, errlen, "cannot sandbox: this kernel has no seccomp "
                 "filters (seccomp: %s)", strerror(errno));
        return -1;
    }
    for (size_t i = 0; c->allow_read && c->allow_read[i]; i++) {
        struct stat st;
        const char *d = c->allow_read[i];
        int e = stat(d, &st) != 0         ? errno
                : !S_ISDIR(st.st_mode) ? ENOTDIR
                                       : 0;
        if (e) {
            snprintf(err, errlen, "cannot allow reading %s: %s", d,
                     strerror(e));
            return -1;
        }
    }
    c->filter = NULL;
    c->filter_len = 0;
    return landlock_abi() >= 6 ? build(c, landlock_abi(), 1, err, errlen) : 0;
#endif
}

int tp__sandbox_enter(const struct tp__confine *c, struct tp__guard *g,
                     char *err, size_t errlen)
{
#ifndef HAVE_SECCOMP
    (void)c;
    (void)g;
    snprintf(err, errlen, "cannot sandbox: this taskpool was built without "
             "libseccomp");
    return -1;
#else
    int n = threads();
    if (n != 1) {
        snprintf(err, errlen, "cannot sandbox: the worker runs %d threads "
                 "once init has run (the plugin started them), and Landlock "
                 "holds only the thread that asks", n);
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot sandbox: PR_SET_NO_NEW_PRIVS: %s",
                 strerror(errno));
        return -1;
    }
    int abi = landlock(c, err, errlen);
    if (abi < 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    if (!g || sigaction(SIGSYS, &sa, NULL) != 0) {
        snprintf(err, errlen, "cannot sandbox: sigaction: %s",
                 strerror(errno));
        return -1;
    }
    if (c->filter)
        return load(c, err, errlen);
    struct tp__confine own = *c;
    return build(&own, abi, 0, err, errlen);
#endif
}

void tp__sandbox_call_name(uint32_t arch, int nr, char *buf, size_t len)
{
#ifdef HAVE_SECCOMP
    /* x32's calls come in as x86-64's, their numbers marked */
    if (arch == SCMP_ARCH_X86_64 && (nr & X32_SYSCALL_BIT))
        arch = SCMP_ARCH_X32;
    char *name = seccomp_syscall_resolve_num_arch(arch, nr);
    const char *other = arch == seccomp_arch_native() ? NULL
                        : arch == SCMP_ARCH_X86    ? "i386"
                        : arch == SCMP_ARCH_X32    ? "x32"
                                                   : "another architecture";
    if (name)
        snprintf(buf, len, "%s%s%s%s", name, other ? " (" : "",
                 other ? other : "", other ? ")" : "");
    else /* (an x32 number without its mark) */
        snprintf(buf, len, "%d%s%s%s",
                 arch == SCMP_ARCH_X32 ? nr & ~X32_SYSCALL_BIT : nr,
                 other ? " (" : "", other ? other : "", other ? ")" : "");
    free(name);
#else
    (void)arch;
    snprintf(buf, len, "%d", nr);
#endif
}
