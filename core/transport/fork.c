/* The fork transport: one socketpair per worker, and a worker held by its
 * keeper (keeper.c) in a PID namespace of its own.  The keeper is the
 * host's clone, or, with exec_workers (spec->exec), the worker helper
 * exec'd right after the clone (exec_main.c), which gets the spec over
 * the socket and the progress page as a memfd. */
#include "transport/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/errtext.h"
#include "worker/exec_spec.h"
#include "worker/keeper.h"
#include "worker/worker.h"

static void unmap(struct tp__link *l)
{
    if (l->prog)
        munmap(l->prog, sizeof *l->prog);
    l->prog = NULL;
}

/* The progress page: anonymous shared memory that the forked child
 * inherits, or, for a worker that will be exec'd, a memfd (*memfd, the
 * helper maps it again).  0, or -1 with a message. */
static int map_progress(struct tp__link *l, int exec, int *memfd, char *err,
                        size_t errlen)
{
    int fd = -1;
    *memfd = -1;
    if (exec && ((fd = memfd_create("taskpool-progress", MFD_CLOEXEC)) < 0 ||
                 ftruncate(fd, sizeof *l->prog) != 0)) {
        snprintf(err, errlen, "memfd: %s", tp__errtext(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    l->prog = mmap(NULL, sizeof *l->prog, PROT_READ | PROT_WRITE,
                   MAP_SHARED | (exec ? 0 : MAP_ANONYMOUS), fd, 0);
    if (l->prog == MAP_FAILED) {
        l->prog = NULL;
        snprintf(err, errlen, "mmap: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *memfd = fd;
    return 0;
}

/* Everything the clone child of the exec path needs, made before the
 * clone: from the clone to execve the child calls only async-signal-safe
 * functions.  A caller with threads may fork while another thread holds
 * malloc's lock, the dynamic loader's or any other; the child has a copy
 * of that lock, held by a thread that does not exist there, forever. */
struct exec_plan {
    const char *argv[9];  /* helper, fd, memfd, ns, uid, gid, flags, host */
    char fd[12], memfd[12], uid[24], gid[24], flags[2][12], host[12];
    int hostfd;           /* a pidfd of this process, or -1: the keeper
                             ends with the process, not with the thread
                             that starts it (keeper.c, next_signal) */
    char uid_map[48], gid_map[48]; /* "ID ID 1\n": the id mapped to itself */
    char **envp;          /* environ's pointers as they were (a thread's
                             setenv may free the array itself) */
    char *frame;          /* the spec, for the helper (exec_spec.h) */
    size_t frame_len;
};

static int plan_env(struct exec_plan *x)
{
    extern char **environ;
    size_t n = 0;
    while (environ && environ[n])
        n++;
    if (!(x->envp = malloc((n + 1) * sizeof *x->envp)))
        return -1;
    for (size_t i = 0; i < n; i++)
        x->envp[i] = environ[i];
    x->envp[n] = NULL;
    return 0;
}

static int plan_exec(struct exec_plan *x, const struct tp__worker_spec *spec,
                     int fd, int memfd, uid_t uid, gid_t gid)
{
    unsigned fl = spec->confine.max_procs ? TP_KEEP_USERNS : 0;
    memset(x, 0, sizeof *x);
    snprintf(x->fd, sizeof x->fd, "%d", fd);
    snprintf(x->memfd, sizeof x->memfd, "%d", memfd);
    snprintf(x->uid, sizeof x->uid, "%lu", (unsigned long)uid);
    snprintf(x->gid, sizeof x->gid, "%lu", (unsigned long)gid);
    snprintf(x->flags[0], sizeof x->flags[0], "%u", fl);
    snprintf(x->flags[1], sizeof x->flags[1], "%u", fl | TP_KEEP_MAPPED);
    snprintf(x->uid_map, sizeof x->uid_map, "%lu %lu 1\n",
             (unsigned long)uid, (unsigned long)uid);
    snprintf(x->gid_map, sizeof x->gid_map, "%lu %lu 1\n",
             (unsigned long)gid, (unsigned long)gid);
    /* ENOSYS (before Linux 5.3): the keeper dies with this thread */
    x->hostfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    snprintf(x->host, sizeof x->host, "%d", x->hostfd);
    const char *argv[] = {spec->exec, x->fd, x->memfd, "0", x->uid, x->gid,
                          x->flags[0], x->host, NULL};
    memcpy(x->argv, argv, sizeof argv);
    if (plan_env(x) != 0 ||
        tp__exec_spec_encode(spec, &x->frame, &x->frame_len) != 0) {
        int e = errno;
        free(x->envp);
        if (x->hostfd >= 0)
            close(x->hostfd);
        errno = e;
        return -1;
    }
    return 0;
}

static void plan_free(struct exec_plan *x)
{
    free(x->envp);
    free(x->frame);
    if (x->hostfd >= 0)
        close(x->hostfd);
}

/* Async-signal-safe: open, write, close. */
static int put_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = strlen(s);
    ssize_t w = write(fd, s, n);
    return close(fd) == 0 && w == (ssize_t)n ? 0 : -1;
}

/* The clone child of the exec path: only async-signal-safe calls.  The
 * keeper's user namespace (ns, not root) gets its maps here: after
 * execve with an unmapped uid the helper would have no capability in it,
 * and could not write them. */
static _Noreturn void exec_child(struct exec_plan *x, int fd, int memfd,
                                 int ns, uid_t uid)
{
    int mapped = ns && uid != 0;
    if (x->hostfd < 0 && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(127);
    if (mapped && (put_file("/proc/self/uid_map", x->uid_map) != 0 ||
                   put_file("/proc/self/setgroups", "deny\n") != 0 ||
                   put_file("/proc/self/gid_map", x->gid_map) != 0))
        _exit(127);
    /* the helper's: the socket, the page and stdio (fork kept stdio
     * whatever its flags; so does this) */
    int keep[] = {fd, memfd, x->hostfd, 0, 1, 2};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (keep[i] >= 0 && fcntl(keep[i], F_SETFD, 0) != 0 && i < 3)
            _exit(127);
    x->argv[3] = ns ? "1" : "0";
    x->argv[6] = x->flags[mapped];
    execve(x->argv[0], (char *const *)x->argv, x->envp);
    _exit(127);
}

/* In the host: the spec to the helper, before the socket is made
 * non-blocking.  A helper that died first (EPIPE) is not an error here:
 * its end is seen as any worker's that died starting. */
static int send_frame(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EPIPE || errno == ECONNRESET ? 0 : -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The parent's side once the keeper runs: the spec (exec path), its own
 * process group, a non-blocking socket.  NULL, or what failed. */
static const char *link_started(struct tp__link *l, const struct exec_plan *x)
{
    if (x && send_frame(l->fd, x->frame, x->frame_len) != 0)
        return "send";
    /* Also from the parent, so the group exists before any kill(-pid);
     * EACCES: the child exec'd already (and made it itself) */
    if (setpgid(l->pid, l->pid) != 0 && errno != EACCES && errno != ESRCH)
        return "setpgid";
    int fl = fcntl(l->fd, F_GETFL);
    if (fl < 0 || fcntl(l->fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return "fcntl";
    return NULL;
}

static void close_both(int sv[2])
{
    close(sv[0]);
    close(sv[1]);
}

int tp__link_start(struct tp__link *l, const struct tp__worker_spec *spec,
                  char *err, size_t errlen)
{
    int sv[2], memfd, exec = spec->exec != NULL;
    struct exec_plan x;
    l->fd = -1;
    l->pid = -1;
    l->pidfd = -1;
    if (map_progress(l, exec, &memfd, err, errlen) != 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "socketpair: %s", tp__errtext(errno));
        if (exec)
            close(memfd);
        unmap(l);
        return -1;
    }
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (exec && plan_exec(&x, spec, sv[1], memfd, uid, gid) != 0) {
        snprintf(err, errlen, "worker spec: %s", tp__errtext(errno));
        close(memfd);
        close_both(sv);
        unmap(l);
        return -1;
    }
    int ns;
    pid_t pid = tp__keeper_spawn(&ns, exec);
    if (pid == 0 && exec)
        exec_child(&x, sv[1], memfd, ns, uid);
    if (pid == 0) {
        close(sv[0]);
        tp__keeper_main(sv[1], -1, l->prog, ns, uid, gid,
                       spec->confine.max_procs ? TP_KEEP_USERNS : 0,
                       spec->confine.cpu_limit, tp__worker_held, spec);
    }
    if (exec)
        close(memfd);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        if (exec)
            plan_free(&x);
        close_both(sv);
        unmap(l);
        return -1;
    }
    close(sv[1]);
    /* the workers forked after this one must not get its page: under
     * --sandbox --mem-limit a shared mapping of memory that is not a
     * worker's own is refused (memhold.c) */
    if (!exec)
        (void)madvise(l->prog, sizeof *l->prog, MADV_DONTFORK);
    l->fd = sv[0];
    l->pid = pid;
    l->jobs = 1;
    l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    const char *what = link_started(l, exec ? &x : NULL);
    if (exec)
        plan_free(&x);
    if (what) {
        snprintf(err, errlen, "%s: %s", what, tp__errtext(errno));
        tp__link_reap(l, 0, NULL);
        return -1;
    }
    return 0;
}

uint64_t tp__link_task_start(const struct tp__link *l)
{
    return l->prog ? __atomic_load_n(&l->prog->t_start_ns, __ATOMIC_ACQUIRE)
                   : 0;
}

void tp__link_offer(struct tp__link *l, unsigned slot, uint32_t n)
{
    __atomic_store_n(&l->prog->claim[slot & 1], (uint64_t)n << 32,
                     __ATOMIC_RELEASE);
}

uint32_t tp__link_claimed(const struct tp__link *l, unsigned slot,
                         uint32_t *limit)
{
    uint64_t v = __atomic_load_n(&l->prog->claim[slot & 1], __ATOMIC_ACQUIRE);
    if (limit)
        *limit = (uint32_t)(v >> 32);
    return (uint32_t)v;
}

uint32_t tp__link_take_back(struct tp__link *l, unsigned slot, uint32_t keep)
{
    uint64_t *w = &l->prog->claim[slot & 1];
    uint64_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
    for (;;) {
        uint32_t next = (uint32_t)v, lim = (uint32_t)(v >> 32);
        uint32_t nl = keep < next ? next : keep;
        if (nl >= lim)
            return lim;
        if (__atomic_compare_exchange_n(w, &v, (uint64_t)nl << 32 | next, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return nl;
    }
}

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void tp__link_retire(struct tp__link *l, struct tp__retiree *r, int grace_ms)
{
    tp__link_close(l);
    r->pid = l->pid;
    r->pidfd = l->pidfd;
    l->pidfd = -1;
    r->deadline_ns = mono_ns() + (uint64_t)grace_ms * 1000000u;
    l->pid = -1;
    unmap(l);
}

int tp__retiree_check(struct tp__retiree *r, uint64_t now_ns, int force)
{
    if (r->pid <= 0)
        return 1;
    int st;
    pid_t w;
    if (force || now_ns >= r->deadline_ns) {
        kill(-r->pid, SIGKILL);
        kill(r->pid, SIGKILL);
        do
            w = waitpid(r->pid, &st, 0);
        while (w < 0 && errno == EINTR);
    } else {
        do
            w = waitpid(r->pid, &st, WNOHANG);
        while (w < 0 && errno == EINTR);
        if (w == 0)
            return 0;
    }
    /* what a kernel left behind in the group goes too */
    kill(-r->pid, SIGKILL);
    if (r->pidfd >= 0)
        close(r->pidfd);
    r->pidfd = -1;
    r->pid = -1;
    return 1;
}

int tp__link_exited(const struct tp__link *l)
{
    if (l->pidfd >= 0) {
        struct pollfd p = {l->pidfd, POLLIN, 0};
        return poll(&p, 1, 0) == 1;
    }
    siginfo_t info = {0};
    return l->pid > 0 &&
           waitid(P_PID, (id_t)l->pid, &info,
                  WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == l->pid;
}

void tp__link_close(struct tp__link *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

void tp__wait_exit(pid_t pid, int ms)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        struct pollfd p = {pfd, POLLIN, 0};
        while (poll(&p, 1, ms) < 0 && errno == EINTR)
            ;
        close(pfd);
        return;
    }
    for (int i = 0; i < ms; i++) {
        siginfo_t info = {0};
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            info.si_pid == pid)
            return;
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
}

int tp__link_reap(struct tp__link *l, int grace_ms, struct tp__end *end)
{
    int st = 0, r = 0;
    tp__link_close(l);
    if (l->pid > 0) {
        if (grace_ms > 0)
            tp__wait_exit(l->pid, grace_ms);
        kill(-l->pid, SIGKILL);
        kill(l->pid, SIGKILL);
        pid_t w;
        do
            w = waitpid(l->pid, &st, 0);
        while (w < 0 && errno == EINTR);
        if (w < 0)
            r = -1;
        /* grandchildren a kernel left behind go with the group */
        kill(-l->pid, SIGKILL);
    }
    l->pid = -1;
    if (l->pidfd >= 0)
        close(l->pidfd);
    l->pidfd = -1;
    /* the worker's own status, as its keeper saw it, and its last words */
    struct tp__end e = {st, TP_CAUSE_NONE, 0, 0};
    if (l->prog && __atomic_load_n(&l->prog->exited, __ATOMIC_ACQUIRE))
        e.wstatus = l->prog->wstatus;
    if (l->prog) {
        e.cause = __atomic_load_n(&l->prog->cause, __ATOMIC_ACQUIRE);
        e.syscall_nr = l->prog->syscall_nr;
        e.syscall_arch = l->prog->syscall_arch;
    }
    unmap(l);
    if (end)
        *end = e;
    return r;
}

void tp__describe_wait(int st, char *buf, size_t len)
{
    if (WIFSIGNALED(st))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else if (WIFEXITED(st))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    else
        snprintf(buf, len, "stopped (wait status 0x%x)", (unsigned)st);
}

/* Two requests per worker: it starts the second as it sends the answer
 * to the first, never waiting for the host. */
static unsigned fork_depth(const struct tp__link *l)
{
    (void)l;
    return 2;
}

static int fork_start(struct tp__link *l, const struct tp__worker_spec *spec,
                      int fd, char *err, size_t errlen)
{
    (void)fd;
    return tp__link_start(l, spec, err, errlen);
}

/* Records it has not started can be taken back: it may have any number. */
static int fork_room(const struct tp__link *l, unsigned nq, uint64_t left,
                     double ns_item, int input_done)
{
    (void)l, (void)nq, (void)left, (void)ns_item, (void)input_done;
    return 1;
}

/* The host times each task itself (tp__link_task_start). */
static void fork_limit(struct tp__link *l, uint64_t ns)
{
    (void)l, (void)ns;
}

static uint64_t fork_quiet_ns(uint64_t limit_ns)
{
    (void)limit_ns;
    return 0;
}

static int fork_stop(struct tp__link *l, struct tp__retiree *r, int grace_ms)
{
    if (r && l->pid > 0) {
        tp__link_retire(l, r, grace_ms);
        return 1;
    }
    tp__link_reap(l, 0, NULL);
    return 0;
}

const struct tp__transport tp__fork_transport = {
    .depth = fork_depth,
    .max_depth = 2,
    .scale = 1,
    .take_back = 1,
    .far_pool = 0,
    .round_trips = 0,
    .start = fork_start,
    .room = fork_room,
    .limit = fork_limit,
    .quiet_ns = fork_quiet_ns,
    .stop = fork_stop,
};
