/* Remote workers (taskpool --mpi's ranks, served by tp_agent_serve): what
 * the scheduler does differently for them.  Their far ends run the tasks,
 * keep the time and retry; none of their records can be taken back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "pool/pool_impl.h"

#define QUEUE_NS 100000000u /* a remote worker's queue, at most (see room) */
#define SHORT_NS 10000000u  /* ... with more than two requests in it */

const char *tp_remote_name(const tp_pool *p, unsigned w, char *buf,
                           size_t len)
{
    if (p->o.remote_names && p->o.remote_names[w])
        return p->o.remote_names[w];
    snprintf(buf, len, "remote worker %u", w + 1);
    return buf;
}

/* Whether remote worker w may be sent another request.  Its far end has
 * the records and none can be taken back (see steal in sched.c), so it
 * gets only what its workers can start, plus one more request (to cover
 * the round trip) when what it has is expected to take less than
 * QUEUE_NS.  A slow input then strands at most one request behind it
 * while other ranks go idle. */
int tp_remote_room(const tp_pool *p, const struct worker *w)
{
    uint64_t left = 0;
    for (unsigned i = 0; i < w->nq; i++)
        left += p->c[w->q[i]].until - p->c[w->q[i]].done;
    if (left < w->far_jobs)
        return 1;
    if (!(w->ns_item > 0))
        return 0;
    double queued = (double)left * w->ns_item;
    /* requests that round trips dominate (tiny kernels) need more in
     * flight to keep the rank busy, and strand little; but not once the
     * input has ended, where shares are small for balance's sake */
    return w->nq == 1 ? queued < QUEUE_NS
                      : !p->input_done && queued < SHORT_NS;
}

/* Remote workers cannot give records back, so once the input has ended
 * chunk s is cut to a rank's share of what is left to send (guided
 * self-scheduling): slow records at the end are spread across ranks, not
 * stranded behind each other in one request (each rank's far end runs a
 * request's records in order).  Without a free slot it goes whole. */
void tp_remote_share(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    uint64_t left = c->n - c->done;
    for (unsigned i = 0; i < p->dq_len; i++) {
        const struct chunk *q = &p->c[p->dq[(p->dq_head + i) % p->nslots]];
        left += q->n - q->done;
    }
    uint64_t share = (left + 2 * p->jobs - 1) / (2 * p->jobs);
    if (c->n - c->done > share)
        tp_chunk_split(p, s, c->done + (uint32_t)share);
}

/* --timeout P%: each rank's pool enforces the limit next to its workers,
 * but the median is over every rank's tasks, so the host sends each rank
 * the limit when it first has one and whenever it moves by a tenth. */
void tp_remote_limit(tp_pool *p)
{
    uint64_t ns = tp_sched_limit_ns(p), ms = (ns + 999999) / 1000000;
    if (!ms)
        return;
    if (ms > UINT32_MAX)
        ms = UINT32_MAX;
    for (unsigned i = 0; i < p->jobs; i++) {
        struct worker *w = &p->w[i];
        uint64_t d = ms > w->lim_ms ? ms - w->lim_ms : w->lim_ms - ms;
        /* (one half written goes first; the next answer sends this) */
        if (w->link.fd < 0 || w->loff || (w->lim_ms && d * 10 < w->lim_ms))
            continue;
        w->lim_ms = (uint32_t)ms;
        tp_wire_put_hdr(w->lhdr, TP_FRAME_LIMIT, w->lim_ms, 0, 0);
        w->lim_pending = 1;
    }
}

/* A remote worker is gone, and the inputs it had with it: the run ends
 * (its far end retried what crashed; a lost node is not retried). */
void tp_remote_lost(tp_pool *p, struct worker *w, enum tp_status why,
                    const char *detail)
{
    char buf[64];
    const char *name = tp_remote_name(p, (unsigned)(w - p->w), buf,
                                      sizeof buf);
    if (w->fatal.len)
        tp_pool_fail(p, w->fatal_kind == TP_FATAL_LOAD   ? TP_ERR_LOAD
                        : w->fatal_kind == TP_FATAL_INIT ? TP_ERR_INIT
                                                         : TP_ERR_SYSTEM,
                     "%.*s", (int)w->fatal.len, w->fatal.p);
    else if (why == TP_RESULT_PROTOCOL)
        tp_pool_fail(p, TP_ERR_SYSTEM, "%s: protocol error: %s", name,
                     detail);
    else
        tp_pool_fail(p, TP_ERR_SYSTEM, "%s was lost%s (its process or its "
                     "node is gone)", name, w->nq ? " with inputs in flight"
                                                : "");
}

/* A remote worker enforces --timeout itself; one that says nothing for
 * three limits (at least 10 s more than one) while it has work has
 * frozen (a stopped process, a hung node): the run ends, naming it.
 * Without --timeout a kernel may take any time, and so may a rank.
 * Returns when to look again, or UINT64_MAX. */
uint64_t tp_remote_silence(tp_pool *p, struct worker *w, uint64_t now)
{
    if (p->o.timeout <= 0 || !w->nq || w->link.fd < 0)
        return UINT64_MAX;
    uint64_t lim = (uint64_t)(p->o.timeout * 1e9);
    uint64_t quiet = 3 * lim > lim + 10000000000ull ? 3 * lim
                                                    : lim + 10000000000ull;
    if (now < w->t_heard + quiet)
        return w->t_heard + quiet;
    char buf[64], t[64];
    tp_human_time(quiet, t, sizeof t);
    tp_pool_fail(p, TP_ERR_SYSTEM, "%s has not answered for %s with inputs "
                 "in flight (stopped, or its node hangs)",
                 tp_remote_name(p, (unsigned)(w - p->w), buf, sizeof buf), t);
    return UINT64_MAX;
}

/* Remote workers are there already: their sockets. */
int tp_remote_connect(tp_pool *p)
{
    for (unsigned i = 0; i < p->jobs; i++) {
        struct worker *w = &p->w[i];
        int fd = p->o.remote_fds[i], fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
            return tp_pool_fail(p, TP_ERR_SYSTEM, "remote worker %u: %s",
                                i + 1, strerror(errno));
        tp_intake_reset(w);
        w->link.fd = fd;
        w->link.pid = 0;
        w->t_spawn = tp_now_ns();
    }
    return 0;
}

