/* The keeper: the first process of a worker's own PID namespace.  Process
 * groups cannot hold what a kernel starts (setsid() leaves them, a daemon
 * forked from a constructor never joined); a PID namespace can: when its
 * first process exits, the kernel kills everything left inside.  The
 * keeper forks the worker (which thus keeps the ordinary signal rules: a
 * kernel's own raise(SIGSEGV) kills it, which it would not as PID 1),
 * reaps whatever ends up as its child, and when the worker is gone it
 * records the worker's wait status for the host and exits, taking the
 * namespace with it.  It dies with the host (PR_SET_PDEATHSIG), and so
 * does the namespace.
 *
 * Where namespaces are refused, the keeper runs without one, as a child
 * subreaper: orphans a kernel leaves are reparented to it, and it kills
 * them when the worker is gone.  Weaker: a keeper killed by SIGKILL leaves
 * them to init. */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


pid_t tp_keeper_spawn(int *ns)
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
    return fork();
}

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

_Noreturn void tp_keeper_main(int fd, struct tp_progress *prog, int ns,
                              uid_t uid, gid_t gid, tp_held_fn fn,
                              const void *arg)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(127);
    /* the host's other descriptors (other workers' sockets among them)
     * must not be held here */
    if ((fd > 3 && close_range(3, (unsigned)fd - 1, 0) != 0) ||
        close_range((unsigned)fd + 1, ~0U, 0) != 0)
        _exit(127);
    /* the host may have died before that: then its end of the socket is
     * closed already */
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLHUP | POLLERR)))
        _exit(127);
    if (ns && uid != 0 && map_ids(uid, gid) != 0)
        _exit(127);
    if (!ns && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        _exit(127);
    if (setpgid(0, 0) != 0 && getpgid(0) != getpid())
        _exit(127);
    pid_t self = getpid();
    pid_t w = fork();
    if (w < 0)
        _exit(127);
    if (w == 0) {
        fn(fd, self, prog, arg);
        _exit(127);
    }
    close(fd);
    for (;;) {
        int st;
        pid_t r = waitpid(-1, &st, 0);
        if (r == w) {
            prog->wstatus = st;
            __atomic_store_n(&prog->exited, 1, __ATOMIC_RELEASE);
            if (!ns) {
                kill(-w, SIGKILL);
                kill_orphans();
            }
            _exit(0);
        }
        if (r < 0 && errno != EINTR)
            _exit(127);
    }
}
