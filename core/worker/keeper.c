/* The keeper: the first process of a worker's own PID namespace.  Process
 * groups cannot hold what a kernel starts (setsid() leaves them, a daemon
 * forked from a constructor never joined); a PID namespace can: when its
 * first process exits, the kernel kills everything left inside.  The
 * keeper forks the worker (which thus keeps the ordinary signal rules: a
 * kernel's own raise(SIGSEGV) kills it, which it would not as PID 1),
 * reaps whatever ends up as its child, and when the worker is gone it
 * records the worker's wait status for the host and exits, taking the
 * namespace with it.  It dies with the host (PR_SET_PDEATHSIG; or, when
 * started by exec, as the host process ends: see next_signal), and so
 * does the namespace.
 *
 * Where namespaces are refused, the keeper runs without one, as a child
 * subreaper: orphans a kernel leaves are reparented to it, and it kills
 * them when the worker is gone.  Weaker: a keeper killed by SIGKILL leaves
 * them to init.
 *
 * With --max-procs the worker gets a user namespace of its own as well
 * (fork_held): since Linux 5.14 RLIMIT_NPROC counts the processes of a
 * real uid per user namespace, so there it counts the worker and what it
 * starts, nothing else.  Root is exempt from RLIMIT_NPROC (the kernel
 * skips the check for uid 0, and for CAP_SYS_RESOURCE or CAP_SYS_ADMIN in
 * the first namespace): a root worker's namespace maps every id to itself
 * (files are reached exactly as before) and its real uid becomes
 * NPROC_UID while its effective uid stays 0 (until the worker gives up
 * uid 0 before its first task: worker_limits.c), and it has no capability
 * outside its namespace.
 *
 * --cpu-limit is per task, and watched from here.  RLIMIT_CPU counts the
 * whole life of a process in whole seconds; resetting it before each task
 * (the CPU clock read and setrlimit: 575 ns, measured) would make the
 * tiny workload (about 46 ns per input per worker) 13 times slower.
 * Instead a timer on the worker's process CPU clock ticks here every
 * tenth of the limit, and the worker counts its tasks in the page it
 * shares with us (two increments each, no call): a task seen running at
 * TICKS ticks in a row has used its limit, and the keeper records that
 * and sends the worker SIGXCPU; one tick later, if the worker still runs
 * (the task blocked or ignored SIGXCPU), SIGKILL.  So a task is stopped
 * after between 1 and 1.1 times its limit of CPU time (plus the kernel's
 * timer resolution, a scheduler tick; another tick if it held off
 * SIGXCPU).  The worker's whole CPU time counts, all its threads (one a
 * task left running counts against the tasks after it); time it spends
 * blocked does not, nor does that of processes it starts.  The timer was
 * the worker's own until a task that blocked SIGXCPU escaped it. */
#include "worker/keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/wire.h"
#include "worker/worker.h"


pid_t tp__keeper_spawn(int *ns, int bare)
{
    /* TASKPOOL_NO_PIDNS=1 tries the fallback where namespaces work */
    const char *no = getenv("TASKPOOL_NO_PIDNS");
    if (!no || strcmp(no, "1") != 0) {
        unsigned long fl = CLONE_NEWPID | SIGCHLD;
        if (geteuid() != 0)
            fl |= CLONE_NEWUSER;
        /* fork semantics (no new stack): the child returns 0 here */
        pid_t pid = (pid_t)syscall(SYS_clone, fl, NULL, NULL, NULL, NULL);
        if (pid >= 0) {
            *ns = 1;
            return pid;
        }
        if (errno != EPERM && errno != EINVAL && errno != ENOSPC &&
            errno != EUSERS && errno != ENOSYS)
            return -1;
    }
    *ns = 0;
    return bare ? (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL)
                : fork();
}

/* The real uid of a root worker under --max-procs: not root, so that
 * RLIMIT_NPROC applies (counted in its own namespace, so nobody's other
 * processes do not count). */
#define NPROC_UID 65534

static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* In a new user namespace: the same uid and gid as outside, so that files
 * are reached exactly as before. */
static int map_ids(uid_t uid, gid_t gid)
{
    char line[64];
    snprintf(line, sizeof line, "%lu %lu 1\n", (unsigned long)uid,
             (unsigned long)uid);
    if (write_file("/proc/self/uid_map", line) != 0 ||
        write_file("/proc/self/setgroups", "deny\n") != 0)
        return -1;
    snprintf(line, sizeof line, "%lu %lu 1\n", (unsigned long)gid,
             (unsigned long)gid);
    return write_file("/proc/self/gid_map", line);
}

/* The maps of the user namespace of the held process, whose /proc
 * directory is dir: root maps every id to itself; anyone else maps their
 * own uid and gid (as map_ids). */
static int map_held(const char *dir, uid_t uid, gid_t gid)
{
    char path[96], line[64];
    if (uid == 0) {
        snprintf(path, sizeof path, "%s/uid_map", dir);
        if (write_file(path, "0 0 4294967295\n") != 0)
            return -1;
        snprintf(path, sizeof path, "%s/gid_map", dir);
        return write_file(path, "0 0 4294967295\n");
    }
    snprintf(path, sizeof path, "%s/uid_map", dir);
    snprintf(line, sizeof line, "%lu %lu 1\n", (unsigned long)uid,
             (unsigned long)uid);
    if (write_file(path, line) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/setgroups", dir);
    if (write_file(path, "deny\n") != 0)
        return -1;
    snprintf(path, sizeof path, "%s/gid_map", dir);
    snprintf(line, sizeof line, "%lu %lu 1\n", (unsigned long)gid,
             (unsigned long)gid);
    return write_file(path, line);
}

/* Fork the held process; with TP_KEEP_USERNS into a user namespace of its
 * own, whose maps we write (from here: only the parent namespace may map
 * more than one's own id) while it waits.  Where the namespace is refused
 * it is forked as usual, and prog->userns_errno says why (the worker
 * refuses to start then). */
static pid_t fork_held(unsigned flags, uid_t uid, gid_t gid,
                       struct tp__progress *prog)
{
    int sv[2];
    if (!(flags & TP_KEEP_USERNS))
        return fork();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    pid_t w = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL,
                             NULL, NULL);
    if (w < 0) {
        prog->userns_errno = errno;
        close(sv[0]);
        close(sv[1]);
        return fork();
    }
    if (w == 0) {
        char c = 0;
        long me = (long)tp__outer_pid(); /* as /proc knows it */
        close(sv[0]);
        if (tp__write_all(sv[1], &me, sizeof me) != 0 ||
            tp__read_all(sv[1], &c, 1) != 1)
            _exit(127); /* the keeper is gone */
        close(sv[1]);
        /* 'n': no maps (the keeper set userns_errno): the worker refuses
         * to start, with a message */
        if (c == 'y' && uid == 0 && setresuid(NPROC_UID, 0, 0) != 0)
            prog->userns_errno = errno;
        return 0;
    }
    close(sv[1]);
    long pid = 0;
    char ok = 'n', dir[64];
    errno = 0;
    if (tp__read_all(sv[0], &pid, sizeof pid) == 1) {
        snprintf(dir, sizeof dir, "/proc/%ld", pid);
        ok = map_held(dir, uid, gid) == 0 ? 'y' : 'n';
    }
    if (ok == 'n')
        prog->userns_errno = errno ? errno : EIO;
    if (tp__write_all(sv[0], &ok, 1) != 0 && ok == 'y')
        prog->userns_errno = errno;
    close(sv[0]);
    return w;
}

#define TICKS 10 /* a task is stopped after 1 to 1 + 1/TICKS of its limit */
#define TICK_SIG SIGALRM /* the CPU timer's, blocked and waited for */

struct cpu_watch {
    uint32_t task;  /* the task seen at the last tick */
    uint32_t ticks; /* ticks in a row it was seen running */
    int fired;      /* SIGXCPU was sent */
};

/* The worker w went over its limit, and was told so: now it goes. */
static void cpu_kill(pid_t w, int sig)
{
    /* ESRCH: it is gone already, and its SIGCHLD on the way */
    if (kill(w, sig) != 0 && errno != ESRCH)
        _exit(127);
}

/* A timer on w's CPU time, ticking every tenth of limit seconds. */
static int watch_cpu(pid_t w, double limit)
{
    clockid_t clk;
    int e = clock_getcpuclockid(w, &clk);
    if (e) {
        errno = e;
        return -1;
    }
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = TICK_SIG;
    timer_t t;
    if (timer_create(clk, &ev, &t) != 0)
        return -1;
    double period = limit / TICKS;
    struct itimerspec its;
    its.it_interval.tv_sec = (time_t)period;
    its.it_interval.tv_nsec = (long)((period - (double)(time_t)period) * 1e9);
    if (!its.it_interval.tv_sec && !its.it_interval.tv_nsec)
        its.it_interval.tv_nsec = 1;
    its.it_value = its.it_interval;
    return timer_settime(t, 0, &its, NULL);
}

/* A tick: the worker w has used another tenth of the limit. */
static void cpu_tick(struct cpu_watch *cw, pid_t w, struct tp__progress *prog)
{
    uint32_t t = __atomic_load_n(&prog->task, __ATOMIC_RELAXED);
    if (!cw->fired && (!(t & 1) || t != cw->task)) { /* between tasks, or a new one */
        cw->task = t;
        cw->ticks = 0;
        return;
    }
    if (!cw->fired && ++cw->ticks < TICKS)
        return;
    __atomic_store_n(&prog->cause, TP_CAUSE_CPU, __ATOMIC_RELEASE);
    cpu_kill(w, cw->fired ? SIGKILL : SIGXCPU);
    cw->fired = 1;
}

/* Without a namespace: kill what was reparented to us, until none is. */
static void kill_orphans(void)
{
    for (int round = 0; round < 100; round++) {
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/self/task/%ld/children",
                 (long)getpid());
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n <= 0)
            break;
        buf[n] = '\0';
        for (char *p = buf, *e; *p; p = e) {
            long pid = strtol(p, &e, 10);
            if (e == p)
                break;
            if (pid > 0)
                kill((pid_t)pid, SIGKILL);
        }
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    }
}

/* Reap what has ended; when w has, record its status and go (with the
 * namespace, or killing what it left). */
static void reap(pid_t w, int ns, struct tp__progress *prog)
{
    for (;;) {
        int st;
        pid_t r = waitpid(-1, &st, WNOHANG);
        if (r == 0)
            return;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            _exit(127);
        if (r == w) {
            prog->wstatus = st;
            __atomic_store_n(&prog->exited, 1, __ATOMIC_RELEASE);
            if (!ns) {
                kill(-w, SIGKILL);
                kill_orphans();
            }
            _exit(0);
        }
    }
}

/* Close every descriptor above stdio but a and b (a < b; b may be -1). */
static int close_except(int a, int b)
{
    int keep[2] = {a, b}, from = 3;
    for (int i = 0; i < 2; i++) {
        if (keep[i] < 0)
            continue;
        if (keep[i] > from && close_range((unsigned)from,
                                          (unsigned)keep[i] - 1, 0) != 0)
            return -1;
        from = keep[i] + 1;
    }
    return close_range((unsigned)from, ~0U, 0);
}

/* The host process has ended: so does what we hold (with the namespace,
 * or killed one by one), as PR_SET_PDEATHSIG would have ended us. */
static _Noreturn void host_gone(pid_t w, int ns)
{
    if (!ns && w > 0) {
        kill(-w, SIGKILL);
        kill_orphans();
    }
    _exit(0);
}

/* The next of the blocked signals in set, as sigtimedwait (timeout in
 * ms, -1: none; -1 with EAGAIN when it passed).  With a pidfd of the host
 * (host >= 0; sfd a signalfd of set) it watches that too: PDEATHSIG
 * follows the thread that started us, and a host with threads may well
 * end that thread and go on (a Python thread that opened a pool). */
static int next_signal(const sigset_t *set, int sfd, int host, pid_t w,
                       int ns, int timeout_ms)
{
    if (host < 0) {
        struct timespec t = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
        return sigtimedwait(set, NULL, timeout_ms < 0 ? NULL : &t);
    }
    struct pollfd p[2] = {{sfd, POLLIN, 0}, {host, POLLIN, 0}};
    int n = poll(p, 2, timeout_ms);
    if (n == 0)
        errno = EAGAIN;
    if (n <= 0)
        return -1;
    if (p[1].revents)
        host_gone(w, ns);
    struct signalfd_siginfo si;
    ssize_t r = read(sfd, &si, sizeof si);
    if (r != (ssize_t)sizeof si) {
        errno = r < 0 && errno == EAGAIN ? EINTR : errno;
        return -1;
    }
    return (int)si.ssi_signo;
}

_Noreturn void tp__keeper_main(int fd, int host, struct tp__progress *prog,
                              int ns, uid_t uid, gid_t gid, unsigned flags,
                              double cpu_limit, tp__held_fn fn,
                              const void *arg)
{
    if (host < 0 && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(127);
    /* the host's other descriptors (other workers' sockets among them)
     * must not be held here */
    if (close_except(host >= 0 && host < fd ? host : fd,
                     host < 0 ? -1 : host < fd ? fd : host) != 0)
        _exit(127);
    /* the host may have died before that: then its end of the socket is
     * closed already */
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLHUP | POLLERR)))
        _exit(127);
    if (ns && uid != 0 && !(flags & TP_KEEP_MAPPED) && map_ids(uid, gid) != 0)
        _exit(127);
    if (!ns && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        _exit(127);
    if (setpgid(0, 0) != 0 && getpgid(0) != getpid())
        _exit(127);
    /* waited for, not handled: blocked before the fork, so none is lost */
    sigset_t wait_for, before;
    sigemptyset(&wait_for);
    sigaddset(&wait_for, SIGCHLD);
    sigaddset(&wait_for, TICK_SIG);
    if (sigprocmask(SIG_BLOCK, &wait_for, &before) != 0)
        _exit(127);
    pid_t self = getpid();
    pid_t w = fork_held(flags, uid, gid, prog);
    if (w < 0)
        _exit(127);
    if (w == 0) {
        if (sigprocmask(SIG_SETMASK, &before, NULL) != 0)
            _exit(127);
        fn(fd, self, prog, arg);
        _exit(127);
    }
    close(fd);
    if (cpu_limit > 0 && watch_cpu(w, cpu_limit) != 0)
        _exit(127);
    int sfd = host >= 0 ? signalfd(-1, &wait_for, SFD_CLOEXEC) : -1;
    if (host >= 0 && sfd < 0)
        _exit(127);
    struct cpu_watch cw = {0, 0, 0};
    /* once SIGXCPU is sent, SIGKILL follows at the next tick, or after
     * this long (ms) if the worker holds it off without using CPU (a task
     * that ignored it and returned) */
    static const int grace_ms = 1000;
    for (;;) {
        int s = next_signal(&wait_for, sfd, host, w, ns,
                            cw.fired ? grace_ms : -1);
        if (s == TICK_SIG)
            cpu_tick(&cw, w, prog);
        else if (s == SIGCHLD)
            reap(w, ns, prog);
        else if (errno == EAGAIN)
            cpu_kill(w, SIGKILL);
        else if (errno != EINTR)
            _exit(127);
    }
}
