/* The scheduler: who runs what, and when.  Chunks go to ready workers,
 * at most DEPTH requests each, so that a worker never waits for the host;
 * a worker that has nothing to do while another still has records it has
 * not started takes them over (see steal); a worker that dies, hangs or
 * breaks the protocol costs one recorded outcome and is replaced without
 * stopping the loop; time limits are judged only after every answer that
 * arrived has been read. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool/chunk.h"
#include "pool/pool_impl.h"
#include "pool/sched.h"
#include "worker/sandbox.h"
#include "worker/worker.h"

#define GRACE_MS 2000       /* a worker told to go gets this long for fini */
#define TARGET_NS 10e6      /* adaptive chunks aim at 10 ms of work */
#define STEAL_MIN_NS 200000 /* records worth less are not taken back... */
#define STUCK_NS 2000000    /* ...unless their worker has been silent this long */
#define PCT_FLOOR_NS 1000000000ull /* --timeout P% is never below 1 s */
#define INIT_TIMEOUT_S 30.0
#define NO_PIDFD_NS 100000000u /* without pidfds, look for exits this often */
#define STALL_NS 10000000000ull /* a request not started for this long */

static void try_send(tp_pool *p, struct worker *w)
{
    struct tp__link *l = &w->link;
    while (l->ctl_pending && w->send_off == 0 && l->fd >= 0) {
        struct iovec v = {l->ctl + l->ctl_off, TP_WIRE_HDR - l->ctl_off};
        ssize_t r = tp__link_send(l, &v, 1);
        if (r < 0)
            return;
        if ((l->ctl_off += (size_t)r) == TP_WIRE_HDR)
            l->ctl_pending = 0, l->ctl_off = 0;
    }
    while (!l->ctl_pending && w->nsent < w->nq && l->fd >= 0) {
        struct chunk *c = &p->c[w->q[w->nsent]];
        size_t body = c->in.len - c->from_pos;
        size_t off = w->send_off;
        struct iovec iov[2];
        int n = 0;
        if (off < TP_WIRE_HDR)
            iov[n++] = (struct iovec){c->hdr + off, TP_WIRE_HDR - off};
        size_t boff = off < TP_WIRE_HDR ? 0 : off - TP_WIRE_HDR;
        if (body > boff)
            iov[n++] = (struct iovec){c->in.p + c->from_pos + boff,
                                      body - boff};
        ssize_t r = tp__link_send(&w->link, iov, n);
        if (r < 0)
            return; /* EAGAIN: wait for POLLOUT; else EOF shows on read */
        w->send_off += (size_t)r;
        if (w->send_off == TP_WIRE_HDR + body) {
            w->send_off = 0;
            w->nsent++;
        }
    }
}

static int start_worker(tp_pool *p, struct worker *w)
{
    char err[256];
    unsigned i = (unsigned)(w - p->w);
    tp__intake_reset(w);
    w->t_spawn = tp__now_ns();
    w->gen++;
    w->link.name = p->o.remote_names ? p->o.remote_names[i] : NULL;
    if (p->tr->start(&w->link, &p->spec,
                     p->o.remote_fds ? p->o.remote_fds[i] : -1, err,
                     sizeof err) != 0)
        return tp__pool_fail(p, TP_ERR_SYSTEM, "%s", err);
    return 0;
}

/* Room for one more old worker running fini. */
static int grow_retired(tp_pool *p)
{
    unsigned cap = p->capretired ? 2 * p->capretired : 8;
    struct tp__retiree *r = realloc(p->retired, cap * sizeof *r);
    if (!r)
        return -1;
    p->retired = r;
    p->capretired = cap;
    return 0;
}

/* Replace an idle worker by a fresh one (recycling, or for a retry); the
 * old one runs fini while the loop goes on. */
static int restart(tp_pool *p, struct worker *w)
{
    if (p->nretired == p->capretired && grow_retired(p) != 0)
        return tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
    if (p->tr->stop(&w->link, &p->retired[p->nretired], GRACE_MS))
        p->nretired++;
    return start_worker(p, w);
}

/* Old workers still running fini hold their processes: at most one per
 * job may, so that a slow fini cannot make the run start workers without
 * bound (the next waits until one has gone). */
static int may_restart(const tp_pool *p)
{
    return p->nretired < p->jobs;
}

static int fresh(const struct worker *w)
{
    return w->link.fd >= 0 && w->assigned == 0 && w->nq == 0;
}

/* Which records of chunk c the next dispatch to w sends: [done, until). */
static uint32_t dispatch_until(const tp_pool *p, const struct chunk *c,
                               const struct worker *w)
{
    uint32_t until = c->n;
    if (c->stop_at < until)
        until = c->stop_at;
    if (c->retry_at == c->done)
        until = c->done + 1;
    else if (c->retry_at < until)
        until = c->retry_at;
    if (p->o.max_tasks && !p->tr->far_pool &&
        until - c->done > p->o.max_tasks - w->assigned)
        until = c->done + (uint32_t)(p->o.max_tasks - w->assigned);
    return until;
}

/* Whether w may be sent another request: below its link's depth, and as
 * its transport judges what it has (a rank's far pool cannot give records
 * back, so it gets what its workers can start soon). */
static int has_room(const tp_pool *p, const struct worker *w)
{
    if (w->nq >= p->tr->depth(&w->link))
        return 0;
    uint64_t left = 0;
    for (unsigned i = 0; i < w->nq; i++)
        left += p->c[w->q[i]].until - p->c[w->q[i]].done;
    return p->tr->room(&w->link, w->nq, left, w->ns_item, p->input_done);
}

/* The worker for chunk c: a ready one with the shortest queue (a fresh
 * one, maybe still starting, for a retry). */
static struct worker *pick(tp_pool *p, const struct chunk *c)
{
    struct worker *best = NULL;
    int want_fresh = c->retry_at == c->done;
    for (unsigned i = 0; i < p->jobs; i++) {
        struct worker *w = &p->w[i];
        if (w->link.fd < 0 || (!w->ready && !want_fresh))
            continue;
        if (p->o.max_tasks && !p->tr->far_pool &&
            w->assigned >= p->o.max_tasks) {
            if (w->nq == 0 && may_restart(p) && restart(p, w) != 0)
                return NULL;
            continue; /* the new one is not ready yet */
        }
        if ((want_fresh && !fresh(w)) || !has_room(p, w))
            continue;
        if (!best || w->nq < best->nq)
            best = w;
    }
    if (!best && want_fresh) {
        /* a retry needs a fresh worker: recycle an idle one */
        for (unsigned i = 0; i < p->jobs; i++) {
            struct worker *w = &p->w[i];
            if (w->link.fd >= 0 && w->ready && w->nq == 0 && may_restart(p))
                return restart(p, w) == 0 ? w : NULL;
        }
    }
    return best;
}

static void send_chunk(tp_pool *p, struct worker *w, int s)
{
    struct chunk *c = &p->c[s];
    c->until = dispatch_until(p, c, w);
    if (c->done == 0) {
        c->from_pos = 0;
    } else if (c->from != c->done) { /* find where record done starts */
        const char *r;
        uint32_t l;
        size_t pos = c->from_pos;
        uint32_t i = c->from;
        if (c->done < c->from)
            pos = 0, i = 0;
        for (; i < c->done; i++)
            tp__wire_next_rec(c->in.p, c->in.len, &pos, &r, &l, c->delim);
        c->from_pos = pos;
    }
    c->from = c->done;
    c->rseq = w->rseq++;
    uint32_t flags = p->req_flags | (uint32_t)c->rseq << 24;
    if (c->delim >= 0)
        flags |= TP_REQ_DELIM | (uint32_t)c->delim << 8;
    /* the whole rest of the body goes; the claim word says how much of it
     * the worker may run */
    uint32_t count = c->n - c->done;
    tp__wire_put_hdr(c->hdr, TP_FRAME_REQUEST, count, flags,
                    c->in.len - c->from_pos);
    if (w->link.prog)
        tp__link_offer(&w->link, c->rseq, c->until - c->from);
    c->node = p->tr->far_pool ? (unsigned)(w - p->w) + 1 : 0;
    c->state = C_SENT;
    c->t_sent = tp__now_ns();
    if (w->nq == 0)
        w->t_free = w->t_heard = c->t_sent;
    w->assigned += c->until - c->from;
    w->q[w->nq++] = s;
    try_send(p, w);
}

/* w has nothing to do and nothing is queued: take over records another
 * worker has not started (all of its second request, or half of what is
 * left of its first), unless they are worth less than a round trip and
 * their worker is moving (the records behind a slow input wait for it,
 * whatever they cost themselves). */
static int steal(tp_pool *p, struct worker *thief)
{
    if (!p->tr->take_back)
        return 0;
    struct worker *v = NULL;
    unsigned vi = 0;
    uint32_t most = 0;
    for (unsigned i = 0; i < p->jobs; i++) {
        struct worker *w = &p->w[i];
        if (w == thief || w->link.fd < 0)
            continue;
        for (unsigned j = w->nsent; j-- > 0;) {
            uint32_t lim, next;
            next = tp__link_claimed(&w->link, p->c[w->q[j]].rseq, &lim);
            if (lim > next) {
                if (lim - next > most)
                    v = w, vi = j, most = lim - next;
                break;
            }
        }
    }
    if (!v)
        return 0;
    int s = v->q[vi];
    struct chunk *c = &p->c[s];
    uint32_t lim, next = tp__link_claimed(&v->link, c->rseq, &lim);
    uint32_t keep = vi > 0 ? next : next + (lim - next) / 2;
    uint64_t now = tp__now_ns();
    if (p->ns_per_item > 0 && p->ns_per_item * (lim - keep) < STEAL_MIN_NS &&
        now - v->t_heard < STUCK_NS) {
        if (!p->steal_at || v->t_heard + STUCK_NS < p->steal_at)
            p->steal_at = v->t_heard + STUCK_NS;
        return 0;
    }
    if (!p->nfree)
        return 0;
    uint32_t got = tp__link_take_back(&v->link, c->rseq, keep);
    if (got >= lim)
        return 0;
    v->assigned -= lim - got;
    return tp__chunk_split(p, s, c->from + got) >= 0;
}

/* Where records cannot be taken back, once the input has ended chunk s
 * is cut to a worker's share of what is left to send (guided
 * self-scheduling): slow records at the end are spread across workers,
 * not stranded behind each other in one request (a rank's far pool runs a
 * request's records in order).  Without a free slot it goes whole. */
static void share(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    uint64_t left = c->n - c->done;
    for (unsigned i = 0; i < p->dq_len; i++) {
        const struct chunk *q = &p->c[p->dq[(p->dq_head + i) % p->nslots]];
        left += q->n - q->done;
    }
    uint64_t share = (left + 2 * p->jobs - 1) / (2 * p->jobs);
    if (c->n - c->done > share)
        tp__chunk_split(p, s, c->done + (uint32_t)share);
}

void tp__sched_dispatch(tp_pool *p)
{
    while (!p->halting && p->err == TP_ERR_NONE) {
        if (!p->dq_len) {
            int took = 0;
            p->steal_at = 0;
            for (unsigned i = 0; i < p->jobs && !took; i++) {
                struct worker *w = &p->w[i];
                if (w->link.fd >= 0 && w->ready && w->nq == 0)
                    took = steal(p, w);
            }
            if (!took)
                return;
        }
        struct worker *w = pick(p, &p->c[p->dq[p->dq_head]]);
        if (!w)
            return;
        int s = tp__dq_pop(p);
        if (!p->tr->take_back && p->input_done)
            share(p, s);
        send_chunk(p, w, s);
    }
}

/* An estimate of time per record after a new measurement, per: averaged
 * in, or taken as it is when there was none, or when per is a whole
 * round trip's and the estimate eight times it (see adapt). */
static double next_estimate(double old, double per, int whole)
{
    return old > 0 && !(whole && old > 8 * per) ? 0.7 * old + 0.3 * per
                                                : per;
}

static void adapt(tp_pool *p, struct chunk *c, struct worker *w)
{
    uint64_t t = tp__now_ns(),
             from = c->t_sent > w->t_free ? c->t_sent : w->t_free;
    w->t_free = t;
    uint32_t k = c->until - c->from;
    if (!k)
        return;
    double per = (double)(t - from) / k;
    /* where round trips count, an estimate eight times the time of a
     * request sent to an idle link came from requests that they dominated
     * (the first, of a record or a few): dropped, not averaged down a few
     * tens of requests.  Only such a time: one queued behind another may
     * have come in the same read as it, and measure nothing */
    int whole = p->tr->round_trips && from == c->t_sent;
    p->ns_per_item = next_estimate(p->ns_per_item, per, whole);
    w->ns_item = next_estimate(w->ns_item, per, whole);
    if (p->o.chunk)
        return;
    double want = TARGET_NS / (p->ns_per_item > 1 ? p->ns_per_item : 1);
    /* records that cannot be taken back: a chunk grows at most 32-fold
     * per answer, whatever one time said */
    if (!p->tr->take_back && want > 32.0 * p->target)
        want = 32.0 * p->target;
    p->target = want >= p->cap ? p->cap : want < 1 ? 1 : (unsigned)want;
}

/* A dispatch of chunk s ended (all its results are in, or its worker is
 * gone): record a pending failure, then finish or requeue the chunk. */
static void dispatch_ended(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    if (c->stop_at == c->done) {
        if (tp__record_fail(p, c, c->stop_status, c->stop_msg, c->stop_pid,
                           c->stop_attempts) != 0)
            return;
        c->stop_at = NO_REC;
    }
    if (c->done == c->n) {
        c->state = C_DONE;
    } else {
        c->state = C_QUEUED;
        tp__dq_push(p, s, 1);
    }
    tp__chunk_news(p, s);
}

/* The input at c->done + k killed its worker (why, msg): retry it, or
 * record the outcome once the inputs before it are through.  An input over
 * a limit or stopped by the sandbox (final) would only do it again. */
static void blame(tp_pool *p, struct chunk *c, uint32_t k, enum tp_status why,
                  const char *msg, pid_t pid, int final)
{
    uint32_t at = c->done + k;
    if (at >= c->n) /* what was left of it was taken back: none to blame
                       (a kernel that read the worker's socket took this
                       request, and another worker ran its records) */
        return;
    c->lost = 0;
    unsigned attempts = c->retry_at == at ? c->retry_attempts : 1;
    if (why != TP_RESULT_PROTOCOL && !final && attempts <= p->o.retries) {
        c->retry_at = at;
        c->retry_attempts = attempts + 1;
        return;
    }
    if (c->retry_at == at)
        c->retry_at = NO_REC;
    c->stop_at = at;
    c->stop_status = why;
    c->stop_pid = pid;
    c->stop_attempts = attempts;
    snprintf(c->stop_msg, sizeof c->stop_msg, "%s", msg);
}

/* Why the worker is gone, for the input it was running.  Returns 1 when
 * a limit or the sandbox ended it (the worker recorded it, and its wait
 * status agrees): such an outcome is final, not retried. */
static int lost_msg(const tp_pool *p, const struct worker *w, pid_t pid,
                    enum tp_status why, const char *detail,
                    const struct tp__end *end, char *msg, size_t len)
{
    char how[256], base[768], lim[64];
    int st = end->wstatus, sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    tp__describe_wait(st, how, sizeof how);
    if (w->fatal.len) /* it gave up later, e.g. out of memory: a crash */
        snprintf(base, sizeof base, "worker %d: %.*s", (int)pid,
                 (int)(w->fatal.len < 512 ? w->fatal.len : 512), w->fatal.p);
    else if (why == TP_RESULT_PROTOCOL)
        snprintf(base, sizeof base, "worker %d: protocol error: %s", (int)pid,
                 detail);
    else if (why == TP_RESULT_TIMEOUT)
        snprintf(base, sizeof base, "worker %d %s", (int)pid, detail);
    else
        snprintf(base, sizeof base, "worker %d %s", (int)pid, how);
    /* SIGKILL: a process the kernel started made the call (sandbox.c) */
    if (why == TP_RESULT_CRASHED && p->o.sandbox &&
        (sig == SIGSYS ||
         (sig == SIGKILL && end->cause == TP_CAUSE_SYSCALL))) {
        char name[64] = "(not reported)";
        if (end->cause == TP_CAUSE_SYSCALL)
            tp__sandbox_call_name(end->syscall_arch, end->syscall_nr, name,
                                 sizeof name);
        snprintf(msg, len, "sandbox: blocked system call %s", name);
        return 1;
    }
    /* SIGKILL: the task held off the keeper's SIGXCPU (keeper.c) */
    if (why == TP_RESULT_CRASHED && p->o.cpu_limit > 0 &&
        (sig == SIGXCPU || sig == SIGKILL) && end->cause == TP_CAUSE_CPU) {
        tp__human_time((uint64_t)(p->o.cpu_limit * 1e9), lim, sizeof lim);
        snprintf(msg, len, "cpu limit (%s): %s", lim, base);
        return 1;
    }
    if (why == TP_RESULT_CRASHED && p->o.mem_limit &&
        end->cause == TP_CAUSE_MEMORY && (sig || w->fatal.len)) {
        tp__human_size(p->o.mem_limit, lim, sizeof lim);
        snprintf(msg, len, "memory limit (%s): %s", lim, base);
        return 1;
    }
    snprintf(msg, len, "%s", base);
    return 0;
}

/* The worker is gone or must go: blame the input it was running, send the
 * rest of its work elsewhere, start a fresh worker. */
/* A far pool is gone (its process died, its link broke).  What it had not
 * answered goes back to the queue, in order, and runs on the others, as a
 * lost worker's inputs do (none is blamed: a lost node is not an input's
 * fault); the pool notes it for tp_pool_lost.  A far pool that could not
 * load the plugin or run init, one that broke the protocol, or the last
 * one, ends the run. */
static void far_lost(tp_pool *p, struct worker *w, enum tp_status why,
                     const char *detail)
{
    char buf[64];
    const char *name = tp__worker_name(p, w, buf, sizeof buf);
    unsigned live = 0, inputs = 0;
    for (unsigned i = 0; i < p->jobs; i++)
        live += &p->w[i] != w && p->w[i].link.fd >= 0 && p->w[i].ready;
    for (unsigned i = 0; i < w->nq; i++)
        inputs += p->c[w->q[i]].until - p->c[w->q[i]].done;
    if (w->fatal.len) { /* (stopped: its launcher ends the whole job) */
        tp__pool_fail(p, w->fatal_kind == TP_FATAL_LOAD      ? TP_ERR_LOAD
                         : w->fatal_kind == TP_FATAL_INIT    ? TP_ERR_INIT
                         : w->fatal_kind == TP_FATAL_STOPPED ? TP_ERR_CANCELLED
                                                             : TP_ERR_SYSTEM,
                      "%.*s", (int)w->fatal.len, w->fatal.p);
        return;
    }
    if (why == TP_RESULT_PROTOCOL) {
        tp__pool_fail(p, TP_ERR_SYSTEM, "%s: protocol error: %s", name,
                      detail);
        return;
    }
    char what[64] = "";
    if (inputs)
        snprintf(what, sizeof what, " with %u input%s in flight", inputs,
                 inputs == 1 ? "" : "s");
    if (!live || !w->ready) {
        tp__pool_fail(p, TP_ERR_SYSTEM, "%s was lost%s (its process or its "
                      "node is gone)%s", name, what,
                      w->ready ? "; no other is left" : "");
        return;
    }
    snprintf(p->lost_msg, sizeof p->lost_msg, "%s was lost%s (its process "
             "or its node is gone)%s", name, what,
             inputs ? "; they run again on the others" : "");
    p->nlost++;
    p->tr->stop(&w->link, NULL, 0);
    unsigned nq = w->nq;
    w->nq = w->nsent = 0;
    for (unsigned i = nq; i-- > 0;)
        dispatch_ended(p, w->q[i]);
}

static void worker_lost(tp_pool *p, struct worker *w, enum tp_status why,
                        const char *detail, int stale)
{
    if (p->tr->far_pool) {
        far_lost(p, w, why, detail);
        return;
    }
    pid_t pid = tp__link_pid(&w->link);
    /* records of its first request it had claimed: the last of those that
     * it did not answer was running */
    uint32_t claimed = w->nsent ? tp__link_claimed(&w->link,
                                                  p->c[w->q[0]].rseq, NULL)
                                : 0;
    int stage = w->link.prog ? __atomic_load_n(&w->link.prog->stage,
                                               __ATOMIC_ACQUIRE)
                             : TP_STAGE_SETUP;
    struct tp__end end;
    char msg[1024];
    /* a worker that died is reaped by its keeper, which records how: give
     * it a moment (one that closed its socket and lives on is killed) */
    tp__link_reap(&w->link, why == TP_RESULT_CRASHED ? 200 : 0, &end);
    if (w->fatal.len && w->fatal_kind != TP_FATAL_LATER) {
        tp__pool_fail(p, w->fatal_kind == TP_FATAL_LOAD ? TP_ERR_LOAD
                                                       : TP_ERR_INIT,
                     "%.*s", (int)w->fatal.len, w->fatal.p);
        return;
    }
    if (!w->ready && why == TP_RESULT_CRASHED && !w->fatal.len) {
        /* plugin code killed it before it was ready */
        char how[256];
        tp__describe_wait(end.wstatus, how, sizeof how);
        tp__stage_failure(stage, p->file, how, msg, sizeof msg);
        tp__pool_fail(p, stage == TP_STAGE_INIT || stage == TP_STAGE_SETUP ||
                                stage == TP_STAGE_CONFINE
                            ? TP_ERR_INIT : TP_ERR_LOAD, "%s", msg);
        return;
    }
    int final = lost_msg(p, w, pid, why, detail, &end, msg, sizeof msg);
    if (!w->ready) {
        tp__pool_fail(p, TP_ERR_INIT, "%s while starting", msg);
        return;
    }
    int q[TP_DEPTH_MAX];
    unsigned nq = w->nq, nsent = w->nsent;
    memcpy(q, w->q, nq * sizeof *q);
    for (unsigned i = nq; i-- > 1;) {
        p->c[q[i]].state = C_QUEUED;
        tp__dq_push(p, q[i], 1);
    }
    if (nq) {
        /* Results travel in batches: the claim word says which input of
         * q[0] was running; those before it ran, but their results died
         * with the worker and run again. */
        struct chunk *c = &p->c[q[0]];
        uint32_t answered = c->done - c->from;
        if (nsent && claimed > answered && !stale)
            blame(p, c, claimed - answered - 1, why, msg, pid, final);
        else if ((nsent && why == TP_RESULT_PROTOCOL && !stale) ||
                 ++c->lost >= 3)
            /* a bad answer seen only once its batch ended (the worker may
             * have moved on), or workers keep dying before they start on
             * this chunk: blame its next input, so the run cannot go round
             * for ever */
            blame(p, c, 0, why, msg, pid, final);
        dispatch_ended(p, q[0]);
    }
    if (p->err == TP_ERR_NONE)
        start_worker(p, w);
}

/* --timeout P%: a far pool enforces the limit next to its workers, but the
 * median is over every worker's tasks: each link hears of the limit (the
 * transport decides whether it needs to). */
static void tell_limit(tp_pool *p)
{
    uint64_t ns = tp__sched_limit_ns(p);
    for (unsigned i = 0; ns && i < p->jobs; i++)
        p->tr->limit(&p->w[i].link, ns);
}

/* What w's socket said, acted on. */
static void on_event(tp_pool *p, struct worker *w, const struct tp__event *ev)
{
    if (ev->type == EV_LOST) {
        worker_lost(p, w, ev->why, ev->detail, ev->stale);
        return;
    }
    if (ev->type != EV_ANSWER && ev->type != EV_END)
        return;
    int s = w->q[0];
    struct chunk *c = &p->c[s];
    w->t_heard = tp__now_ns();
    if (ev->k)
        tp__chunk_news(p, s);
    if (ev->k && p->o.timeout_pct > 0)
        tell_limit(p);
    if (ev->type != EV_END)
        return;
    if (c->done != c->until) {
        char d[128];
        snprintf(d, sizeof d, "request ended with %u of %u inputs answered",
                 (unsigned)(c->done - c->from), (unsigned)(c->until - c->from));
        worker_lost(p, w, TP_RESULT_PROTOCOL, d, 0);
        return;
    }
    /* (a far pool's answers come from its many workers: many marks) */
    if (c->until == c->n && (c->nmarks <= 1 || p->tr->far_pool))
        adapt(p, c, w);
    memmove(w->q, w->q + 1, (--w->nq) * sizeof *w->q);
    w->nsent--;
    w->ended = c->rseq;
    w->any_ended = 1;
    dispatch_ended(p, s);
}

/* Read everything w has sent and act on it. */
static void drain(tp_pool *p, struct worker *w)
{
    struct tp__event ev;
    pid_t pid = w->link.pid;
    while (p->err == TP_ERR_NONE && w->link.pid == pid &&
           tp__intake(p, w, &ev) != EV_NONE) {
        on_event(p, w, &ev);
        if (ev.type == EV_LOST)
            return;
    }
}

/* The worker's process is gone (seen by pid, not by EOF: a child that a
 * kernel left may hold the socket open): take what it sent, then call it
 * lost. */
static void exited(tp_pool *p, struct worker *w)
{
    pid_t pid = w->link.pid;
    drain(p, w);
    if (p->err == TP_ERR_NONE && w->link.pid == pid && w->link.fd >= 0)
        worker_lost(p, w, TP_RESULT_CRASHED, NULL, 0);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The time limit in ns, or 0 for none (P% needs a few successes first). */
uint64_t tp__sched_limit_ns(tp_pool *p)
{
    if (p->o.timeout > 0)
        return (uint64_t)(p->o.timeout * 1e9);
    if (p->o.timeout_pct > 0 && p->far_limit_ns)
        return p->far_limit_ns; /* the host's, over every rank's tasks */
    if (p->o.timeout_pct <= 0 || p->nsamples < 3)
        return 0;
    if (p->samples_new * 8 >= p->nsamples || !p->median_ns) {
        uint32_t tmp[SAMPLES];
        memcpy(tmp, p->samples, p->nsamples * sizeof *tmp);
        qsort(tmp, p->nsamples, sizeof *tmp, cmp_u32);
        p->median_ns = (uint64_t)tmp[p->nsamples / 2] * 1000 + 1000;
        p->samples_new = 0;
    }
    uint64_t l = (uint64_t)((double)p->median_ns * p->o.timeout_pct / 100);
    return l < PCT_FLOOR_NS ? PCT_FLOOR_NS : l;
}

static uint64_t init_limit_ns(const tp_pool *p)
{
    return (uint64_t)((p->o.init_timeout > 0 ? p->o.init_timeout
                                             : INIT_TIMEOUT_S) * 1e9);
}

/* A ready worker that has not started the request at the front of its
 * queue (all before it were answered) long after it was sent: its socket
 * was read by someone else (a kernel that read fd 3 took the request),
 * and it waits for bytes that will never come.  A protocol outcome, not
 * a hang.  Returns when to look again, or 0 if it was replaced. */
static uint64_t stalled(tp_pool *p, struct worker *w, uint64_t lim,
                        uint64_t now)
{
    struct chunk *c = &p->c[w->q[0]];
    uint64_t limit = !lim ? STALL_NS : lim > 1000000000u ? lim : 1000000000u;
    uint64_t since = c->t_sent > w->t_heard ? c->t_sent : w->t_heard;
    if (tp__link_claimed(&w->link, c->rseq, NULL) || now < since + limit)
        return since + limit > now ? since + limit : now + limit;
    pid_t pid = w->link.pid;
    drain(p, w);
    if (p->err != TP_ERR_NONE || w->link.pid != pid || !w->nsent ||
        &p->c[w->q[0]] != c || tp__link_claimed(&w->link, c->rseq, NULL))
        return now + limit;
    char t[64], d[160];
    tp__human_time(limit, t, sizeof t);
    snprintf(d, sizeof d, "did not start its request within %s (did a "
             "kernel read the worker's socket?)", t);
    worker_lost(p, w, TP_RESULT_PROTOCOL, d, 0);
    return 0;
}

/* One worker's deadline: kill it if past, else return when it is (or
 * when to look again), UINT64_MAX for none. */
static uint64_t deadline(tp_pool *p, struct worker *w, uint64_t lim,
                         uint64_t now)
{
    char t[64], d[128];
    if (!w->ready) {
        uint64_t end = w->t_spawn + init_limit_ns(p);
        if (now < end)
            return end;
        tp__human_time(init_limit_ns(p), t, sizeof t);
        int stage = w->link.prog ? __atomic_load_n(&w->link.prog->stage,
                                                   __ATOMIC_ACQUIRE)
                                 : TP_STAGE_SETUP;
        tp__pool_fail(p, TP_ERR_INIT, "%s: worker %d did not finish loading "
                     "and init within %s (stuck in %s)", p->file,
                     (int)tp__link_pid(&w->link), t, tp__stage_name(stage));
        return UINT64_MAX;
    }
    if (!w->nsent)
        return UINT64_MAX;
    uint64_t stall = stalled(p, w, lim, now);
    if (!stall || !lim)
        return stall ? stall : UINT64_MAX;
    uint64_t t0 = tp__link_task_start(&w->link);
    if (!t0)
        /* between tasks: it may start one any moment and never tell */
        return now + (lim / 4 > 1000000 ? lim / 4 : 1000000);
    if (now < t0 + lim)
        return t0 + lim;
    /* past its deadline: first take what it sent (an answer, or the EOF
     * of a crash), then judge */
    pid_t pid = w->link.pid;
    drain(p, w);
    if (p->err != TP_ERR_NONE || w->link.pid != pid || !w->nsent)
        return now;
    if (tp__link_task_start(&w->link) != t0)
        return now;
    tp__human_time(lim, t, sizeof t);
    snprintf(d, sizeof d, "timed out after %s", t);
    worker_lost(p, w, TP_RESULT_TIMEOUT, d, 0);
    return now;
}

/* Reap the retirees that have gone (kill those past their deadline, or
 * all if force); when to look again, or UINT64_MAX. */
static uint64_t reap_retirees(tp_pool *p, uint64_t now, int force)
{
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < p->nretired;) {
        struct tp__retiree *r = &p->retired[i];
        if (tp__retiree_check(r, now, force)) {
            p->retired[i] = p->retired[--p->nretired];
            continue;
        }
        uint64_t d = r->pidfd >= 0 ? r->deadline_ns : now + 10000000;
        if (d < next)
            next = d;
        i++;
    }
    return next;
}

/* A link with work that has said nothing for quiet ns has frozen (a
 * stopped process, a hung node): the run ends, naming it.  Returns when
 * to look again, or UINT64_MAX. */
static uint64_t silence(tp_pool *p, struct worker *w, uint64_t quiet,
                        uint64_t now)
{
    if (!w->nq || w->link.fd < 0)
        return UINT64_MAX;
    if (now < w->t_heard + quiet)
        return w->t_heard + quiet;
    char buf[64], t[64];
    tp__human_time(quiet, t, sizeof t);
    tp__pool_fail(p, TP_ERR_SYSTEM, "%s has not answered for %s with inputs "
                 "in flight (stopped, or its node hangs)",
                 tp__worker_name(p, w, buf, sizeof buf), t);
    return UINT64_MAX;
}

/* Enforce every deadline; ms until the next one, or -1. */
static int enforce(tp_pool *p)
{
    uint64_t lim = tp__sched_limit_ns(p), now = tp__now_ns(), next = UINT64_MAX;
    uint64_t quiet = p->tr->quiet_ns(p->o.timeout > 0 ? (uint64_t)(p->o.timeout
                                                                   * 1e9)
                                                      : 0);
    if (p->steal_at)
        next = p->steal_at;
    for (unsigned i = 0; i < p->jobs && p->err == TP_ERR_NONE; i++) {
        struct worker *w = &p->w[i];
        uint64_t d = quiet ? silence(p, w, quiet, now) : UINT64_MAX;
        if (d < next)
            next = d;
        if (p->tr->far_pool) /* its far end keeps the time */
            continue;
        if (w->link.fd >= 0 && w->link.pidfd < 0) {
            /* no pidfd: ask now and then whether it is still there */
            if (tp__link_exited(&w->link))
                exited(p, w);
            if (now + NO_PIDFD_NS < next)
                next = now + NO_PIDFD_NS;
        }
        if (w->link.fd < 0 || p->err != TP_ERR_NONE)
            continue;
        d = deadline(p, w, lim, now);
        if (d < next)
            next = d;
    }
    unsigned retired = p->nretired;
    uint64_t d = reap_retirees(p, now, 0);
    if (d < next)
        next = d;
    /* one that went makes room for a replacement (may_restart): dispatch
     * before waiting, or nothing would wake the loop to start it (the
     * hang of --max-tasks-per-child under --mpi, whose agents' pools have
     * no other event) */
    if (p->nretired < retired)
        return 0;
    if (next == UINT64_MAX)
        return -1;
    return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

static int grow_pfd(tp_pool *p, unsigned n)
{
    if (n <= p->cappfd)
        return 0;
    struct pollfd *f = realloc(p->pfd, n * sizeof *f);
    if (!f)
        return tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
    p->pfd = f;
    p->cappfd = n;
    return 0;
}

int tp__sched_run_once(tp_pool *p, int extra_fd)
{
    unsigned n = 0, j = p->jobs;
    int timeout = enforce(p);
    if (p->err != TP_ERR_NONE ||
        grow_pfd(p, 2 * j + p->nretired + 2) != 0)
        return -1;
    for (unsigned i = 0; i < j; i++) {
        struct worker *w = &p->w[i];
        w->polled = w->gen;
        p->pfd[n++] = (struct pollfd){
            w->link.fd,
            (short)(POLLIN | (w->nsent < w->nq || w->link.ctl_pending
                                  ? POLLOUT
                                  : 0)),
            0};
    }
    for (unsigned i = 0; i < j; i++)
        p->pfd[n++] = (struct pollfd){p->w[i].link.pidfd, POLLIN, 0};
    for (unsigned i = 0; i < p->nretired; i++)
        p->pfd[n++] = (struct pollfd){p->retired[i].pidfd, POLLIN, 0};
    int cancel = p->o.cancel_fd > 0 ? (int)n : -1;
    if (cancel >= 0)
        p->pfd[n++] = (struct pollfd){p->o.cancel_fd, POLLIN, 0};
    int extra = extra_fd >= 0 ? (int)n : -1;
    if (extra >= 0)
        p->pfd[n++] = (struct pollfd){extra_fd, POLLIN, 0};
    int r = poll(p->pfd, n, 0);
    if (r == 0) {
        if (p->cb.idle && p->cb.idle(p->cb.arg) != 0)
            return tp__pool_fail(p, TP_ERR_STOPPED,
                                "stopped by the idle callback");
        if (p->wake_at) {
            uint64_t now = tp__now_ns();
            int ms = p->wake_at <= now
                         ? 0
                         : (int)((p->wake_at - now + 999999) / 1000000);
            timeout = timeout < 0 || ms < timeout ? ms : timeout;
        }
        r = poll(p->pfd, n, timeout);
    }
    if (r < 0) {
        if (errno == EINTR)
            return 0;
        return tp__pool_fail(p, TP_ERR_SYSTEM, "poll: %s", strerror(errno));
    }
    if (cancel >= 0 && p->pfd[cancel].revents)
        return tp__pool_fail(p, TP_ERR_CANCELLED, "cancelled");
    if (p->nretired) /* one that went makes room for a replacement */
        reap_retirees(p, tp__now_ns(), 0);
    for (unsigned i = 0; i < j && p->err == TP_ERR_NONE; i++) {
        struct worker *w = &p->w[i];
        short ev = p->pfd[i].revents;
        if (ev & POLLOUT && w->polled == w->gen)
            try_send(p, w);
        if (ev & (POLLIN | POLLHUP | POLLERR) && w->polled == w->gen)
            drain(p, w);
        if (p->pfd[j + i].revents && w->polled == w->gen)
            exited(p, w);
    }
    if (p->err != TP_ERR_NONE)
        return -1;
    return extra >= 0 && p->pfd[extra].revents ? 1 : 0;
}

unsigned tp__sched_busy(const tp_pool *p)
{
    unsigned n = 0;
    for (unsigned i = 0; i < p->jobs; i++)
        n += p->w[i].nq;
    return n;
}

int tp__sched_start(tp_pool *p, char *err, size_t errlen)
{
    p->spec = (struct tp__worker_spec){p->file, p->task, p->o.init_arg,
                                      p->confine, p->exec};
    for (unsigned i = 0; i < p->jobs; i++)
        if (start_worker(p, &p->w[i]) != 0) {
            snprintf(err, errlen, "%s", p->msg);
            return p->err;
        }
    /* one worker loaded the plugin and ran init: the plugin works; the
     * others go on starting while inputs flow to the ready ones.  Far
     * pools all answer first: each rank's plugin, init and options are
     * checked before any input runs */
    for (;;) {
        unsigned ready = 0;
        for (unsigned i = 0; i < p->jobs; i++)
            ready += p->w[i].ready != 0;
        if (p->tr->far_pool ? ready == p->jobs : ready > 0)
            return 0;
        if (tp__sched_run_once(p, -1) < 0) {
            snprintf(err, errlen, "%s", p->msg);
            return p->err;
        }
    }
}

/* Wait for every retiree to go, all at once: each until its deadline
 * (then it is killed), or at once if a signal asks to stop. */
static void retire_all(tp_pool *p, int force)
{
    while (p->nretired) {
        uint64_t now = tp__now_ns(), next = reap_retirees(p, now, force);
        if (!p->nretired || grow_pfd(p, p->nretired + 1) != 0)
            break;
        unsigned n = 0;
        for (unsigned i = 0; i < p->nretired; i++)
            p->pfd[n++] = (struct pollfd){p->retired[i].pidfd, POLLIN, 0};
        if (p->o.cancel_fd > 0)
            p->pfd[n++] = (struct pollfd){p->o.cancel_fd, POLLIN, 0};
        int ms = next > now ? (int)((next - now + 999999) / 1000000) : 0;
        if (poll(p->pfd, n, ms) > 0 && p->o.cancel_fd > 0 &&
            p->pfd[n - 1].revents)
            force = 1;
    }
}

void tp__sched_stop(tp_pool *p)
{
    if (!p->w)
        return;
    /* idle workers get EOF and run fini, all at once, for at most
     * GRACE_MS; busy ones (and all after an error) are killed */
    int idle = p->err == TP_ERR_NONE || p->err == TP_ERR_HALTED;
    for (unsigned i = 0; i < p->jobs; i++) {
        struct worker *w = &p->w[i];
        struct tp__retiree *r = NULL;
        if (idle && !w->nq &&
            (p->nretired < p->capretired || grow_retired(p) == 0))
            r = &p->retired[p->nretired];
        if (p->tr->stop(&w->link, r, GRACE_MS))
            p->nretired++;
        tp__buf_free(&w->fatal);
        tp__buf_free(&w->fails);
    }
    retire_all(p, !idle);
}
