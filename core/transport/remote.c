/* The remote transport: a link is a socket to an MPI rank's node agent
 * (core/mpi/agent.c), which runs a pool of its own next to its workers:
 * it applies the time limits, retries and replacements there, and answers
 * each request in request order.  Records sent to it cannot be taken back,
 * so what it is sent is bounded by its workers and by time. */
#include "transport/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define DEPTH_MAX TP_WIRE_QUEUE_MAX /* requests in flight to one rank */
#define QUEUE_NS 100000000u /* what a rank has queued, in time, at most */
#define SHORT_NS 10000000u  /* ... once it has its workers' fill twice */
_Static_assert(DEPTH_MAX <= TP_DEPTH_MAX, "a rank's depth fits the scheduler's");

#define QUIET_NS 10000000000ull /* silence past a time limit (see quiet) */

/* Two requests per worker of the rank (as each forked worker has two),
 * so that the answer to one overlaps the work of the next; at least four
 * (a one-worker rank's round trips) and at most DEPTH_MAX (the agent's
 * queue). */
static unsigned depth(const struct tp__link *l)
{
    uint32_t d = 2 * l->jobs;
    return d < 4 ? 4 : d > DEPTH_MAX ? DEPTH_MAX : (unsigned)d;
}

static int start(struct tp__link *l, const struct tp__worker_spec *spec,
                 int fd, char *err, size_t errlen)
{
    (void)spec;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "%s: %s", l->name ? l->name : "remote worker",
                 strerror(errno));
        return -1;
    }
    l->fd = fd;
    l->pid = 0;
    l->prog = NULL;
    l->pidfd = -1;
    l->jobs = 1;
    return 0;
}

/* Whether the rank may be sent another request.  It always gets enough
 * for each of its workers to start one record; then a second request,
 * or up to twice its workers' fill, so that the round trip of an answer
 * (sent when a request ends) does not leave workers waiting, while what
 * it has is expected to take less than QUEUE_NS; beyond that only requests that round trips dominate (tiny
 * kernels), before the input has ended.  A slow input then strands at
 * most QUEUE_NS of work behind it while other ranks go idle. */
static int room(const struct tp__link *l, unsigned nq, uint64_t left,
                double ns_item, int input_done)
{
    if (left < l->jobs)
        return 1;
    if (!(ns_item > 0))
        return 0;
    double queued = (double)left * ns_item;
    if (nq == 1 || left < 2 * (uint64_t)l->jobs)
        return queued < QUEUE_NS;
    return !input_done && queued < SHORT_NS;
}

/* --timeout P%: the rank's pool enforces the limit next to its workers,
 * but the median is over every rank's tasks: the host sends each rank the
 * limit when it first has one and whenever it moves by a tenth. */
static void limit(struct tp__link *l, uint64_t ns)
{
    uint64_t ms = (ns + 999999) / 1000000;
    if (!ms || l->fd < 0 || l->ctl_off) /* (a frame half written goes
                                           first; the next answer sends
                                           this) */
        return;
    if (ms > UINT32_MAX)
        ms = UINT32_MAX;
    uint64_t d = ms > l->lim_ms ? ms - l->lim_ms : l->lim_ms - ms;
    if (l->lim_ms && d * 10 < l->lim_ms)
        return;
    l->lim_ms = (uint32_t)ms;
    tp__wire_put_hdr(l->ctl, TP_FRAME_LIMIT, l->lim_ms, 0, 0);
    l->ctl_pending = 1;
}

/* A rank keeps --timeout itself and says it is alive every second while
 * it works; one that says nothing for three limits (at least 10 s more
 * than one) has frozen (a stopped process, a hung node).  Without a limit
 * a kernel may take any time, and so may a rank. */
static uint64_t quiet_ns(uint64_t limit_ns)
{
    if (!limit_ns)
        return 0;
    return 3 * limit_ns > limit_ns + QUIET_NS ? 3 * limit_ns
                                              : limit_ns + QUIET_NS;
}

/* The far end sees the end and stops its own workers. */
static int stop(struct tp__link *l, struct tp__retiree *r, int grace_ms)
{
    (void)r;
    (void)grace_ms;
    if (l->fd >= 0)
        shutdown(l->fd, SHUT_RDWR);
    l->fd = -1;
    return 0;
}

const struct tp__transport tp__remote_transport = {
    .depth = depth,
    .max_depth = DEPTH_MAX,
    .scale = 8,
    .take_back = 0,
    .far_pool = 1,
    .round_trips = 1,
    .start = start,
    .room = room,
    .limit = limit,
    .quiet_ns = quiet_ns,
    .stop = stop,
};
