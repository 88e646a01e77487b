/* The fork transport: one socketpair per worker, and a worker held by its
 * keeper (keeper.c) in a PID namespace of its own. */
#include "transport/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/errtext.h"
#include "worker/keeper.h"
#include "worker/worker.h"

static void unmap(struct tp__link *l)
{
    if (l->prog)
        munmap(l->prog, sizeof *l->prog);
    l->prog = NULL;
}

int tp__link_start(struct tp__link *l, const struct tp__worker_spec *spec,
                  char *err, size_t errlen)
{
    int sv[2];
    l->fd = -1;
    l->pid = -1;
    l->pidfd = -1;
    l->prog = mmap(NULL, sizeof *l->prog, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (l->prog == MAP_FAILED) {
        l->prog = NULL;
        snprintf(err, errlen, "mmap: %s", strerror(errno));
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "socketpair: %s", tp__errtext(errno));
        unmap(l);
        return -1;
    }
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int ns;
    pid_t pid = tp__keeper_spawn(&ns);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        unmap(l);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        tp__keeper_main(sv[1], l->prog, ns, uid, gid,
                       spec->confine.max_procs ? TP_KEEP_USERNS : 0,
                       spec->confine.cpu_limit, tp__worker_held, spec);
    }
    close(sv[1]);
    l->fd = sv[0];
    l->pid = pid;
    l->jobs = 1;
    l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    /* Also from the parent, so the group exists before any kill(-pid). */
    const char *what = NULL;
    if (setpgid(pid, pid) != 0 && errno != EACCES && errno != ESRCH)
        what = "setpgid";
    int fl = what ? 0 : fcntl(sv[0], F_GETFL);
    if (!what && (fl < 0 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) < 0))
        what = "fcntl";
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
