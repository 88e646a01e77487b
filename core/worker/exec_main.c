/* taskpool-worker: the worker helper.  With exec_workers the fork
 * transport execs it right after the clone that makes a worker's keeper
 * (fork.c), so that the keeper and its worker run in a fresh process
 * image: a host with threads may fork while another thread holds a lock
 * (malloc's, the dynamic loader's, any), and a forked copy that takes it
 * waits forever.  From here on everything is as in the forked keeper.
 *
 *   taskpool-worker FD MEMFD NS UID GID FLAGS HOST
 *
 * FD is the worker's socket, on which the spec comes first
 * (exec_spec.h); MEMFD the progress page; NS, UID, GID, FLAGS and HOST
 * (a pidfd of the host process, or -1) are tp__keeper_main's.  Started
 * by libtaskpool, never by hand. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "transport/transport.h"
#include "worker/exec_spec.h"
#include "worker/keeper.h"
#include "worker/worker.h"

/* A whole decimal argument in [0, max], or -1. */
static long long number(const char *s, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno || end == s || *end || v < 0 || v > max ? -1 : v;
}

static _Noreturn void refuse(const char *msg)
{
    fprintf(stderr, "taskpool-worker: %s\n", msg);
    _exit(127);
}

int main(int argc, char **argv)
{
    if (argc != 8)
        refuse("started by libtaskpool (exec_workers), not by hand");
    long long fd = number(argv[1], INT_MAX), memfd = number(argv[2], INT_MAX),
              ns = number(argv[3], 1), uid = number(argv[4], UINT_MAX),
              gid = number(argv[5], UINT_MAX),
              flags = number(argv[6], TP_KEEP_USERNS | TP_KEEP_MAPPED),
              host = strcmp(argv[7], "-1") ? number(argv[7], INT_MAX) : -2;
    if (fd < 0 || memfd < 0 || ns < 0 || uid < 0 || gid < 0 || flags < 0 ||
        host == -1 || fd == memfd || fd == host || memfd == host)
        refuse("bad arguments (started by libtaskpool, not by hand)");
    /* a static spec: the worker reads it until it exits */
    static struct tp__exec_spec x;
    char err[256];
    int r = tp__exec_spec_read((int)fd, &x, err, sizeof err);
    if (r == 1)
        _exit(127); /* the host died before it could send it: quietly */
    if (r != 0)
        refuse(err);
    struct tp__progress *prog = mmap(NULL, sizeof *prog,
                                     PROT_READ | PROT_WRITE, MAP_SHARED,
                                     (int)memfd, 0);
    if (prog == MAP_FAILED)
        refuse("cannot map the progress page");
    /* a writable memfd would be refused under --sandbox --mem-limit
     * (memhold.c); the mapping is the worker's own page */
    if (close((int)memfd) != 0)
        refuse("cannot close the progress page's descriptor");
    tp__keeper_main((int)fd, host < 0 ? -1 : (int)host, prog, (int)ns,
                    (uid_t)uid, (gid_t)gid,
                    (unsigned)flags, x.spec.confine.cpu_limit,
                    tp__worker_held, &x.spec);
}
