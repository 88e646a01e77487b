/* Workers: starting and stopping them, queueing chunks to them (DEPTH at
 * a time, so a worker never waits for the host), the poll loop, and the
 * timeouts.  What comes back from them, and what happens when one is
 * lost, is in intake.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool_impl.h"

#define GRACE_MS 2000  /* an idle worker told to stop gets this long */

static void try_send(tp_pool *p, struct worker *w)
{
    while (w->nsent < w->nq && w->link.fd >= 0) {
        struct chunk *c = &p->c[w->q[w->nsent]];
        size_t body = c->body_until - c->body_from;
        size_t off = w->send_off;
        struct iovec iov[2];
        int n = 0;
        if (off < TP_WIRE_HDR)
            iov[n++] = (struct iovec){c->hdr + off, TP_WIRE_HDR - off};
        size_t boff = off < TP_WIRE_HDR ? 0 : off - TP_WIRE_HDR;
        if (body > boff)
            iov[n++] = (struct iovec){c->in.p + c->body_from + boff,
                                      body - boff};
        ssize_t r = tp_link_send(&w->link, iov, n);
        if (r < 0)
            return; /* EAGAIN: wait for POLLOUT; else EOF shows on read */
        w->send_off += (size_t)r;
        if (w->send_off == TP_WIRE_HDR + body) {
            w->send_off = 0;
            w->nsent++;
        }
    }
}

static int fresh(const struct worker *w)
{
    return w->link.fd >= 0 && w->assigned == 0 && w->nq == 0;
}

void tp_reset_worker(struct worker *w)
{
    w->ready = 0;
    w->nq = w->nsent = 0;
    w->send_off = 0;
    w->rgot = 0;
    w->in_body = 0;
    w->bgot = 0;
    w->fatal.len = 0;
    w->fails.len = 0;
    w->nfails = 0;
    w->answered = w->assigned = 0;
}

/* Replace an idle worker by a fresh one (recycling, or for a retry). */
static int restart(tp_pool *p, struct worker *w)
{
    char err[256];
    tp_link_close(&w->link);
    tp_link_reap(&w->link, GRACE_MS, NULL);
    tp_reset_worker(w);
    if (tp_link_start(&w->link, &p->spec, err, sizeof err) != 0)
        return tp_pool_fail(p, TP_ERR_SYSTEM, "%s", err);
    return 0;
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
    if (p->o.max_tasks && until - c->done > p->o.max_tasks - w->assigned)
        until = c->done + (uint32_t)(p->o.max_tasks - w->assigned);
    return until;
}

static struct worker *pick(tp_pool *p, const struct chunk *c)
{
    struct worker *best = NULL;
    int want_fresh = c->retry_at == c->done;
    for (unsigned i = 0; i < p->jobs; i++) {
        struct worker *w = &p->w[i];
        if (w->link.fd < 0 || w->nq >= DEPTH)
            continue;
        if (p->o.max_tasks && w->assigned >= p->o.max_tasks) {
            if (w->nq == 0 && restart(p, w) != 0)
                return NULL;
            if (w->assigned >= p->o.max_tasks)
                continue;
        }
        if (want_fresh && !fresh(w))
            continue;
        if (!best || w->nq < best->nq)
            best = w;
    }
    if (!best && want_fresh) {
        /* a retry needs a fresh worker: recycle an idle one */
        for (unsigned i = 0; i < p->jobs; i++) {
            struct worker *w = &p->w[i];
            if (w->link.fd >= 0 && w->nq == 0)
                return restart(p, w) == 0 ? w : NULL;
        }
    }
    return best;
}

void tp_sched_dispatch(tp_pool *p)
{
    while (p->dq_len && !p->halting && p->err == TP_ERR_NONE) {
        struct chunk *c = &p->c[p->dq[p->dq_head]];
        struct worker *w = pick(p, c);
        if (!w)
            return;
        int s = tp_dq_pop(p);
        c->until = dispatch_until(p, c, w);
        c->body_from = 0;
        c->body_until = c->in.len;
        if (c->done || c->until < c->n) {
            size_t pos = 0;
            const char *r;
            uint32_t l;
            for (uint32_t i = 0; i < c->until; i++) {
                if (i == c->done)
                    c->body_from = pos;
                tp_wire_next_rec(c->in.p, c->in.len, &pos, &r, &l, c->delim);
            }
            c->body_until = pos;
        }
        uint32_t flags = p->req_flags;
        if (c->delim >= 0)
            flags |= TP_REQ_DELIM | (uint32_t)c->delim << 8;
        tp_wire_put_hdr(c->hdr, TP_FRAME_REQUEST, c->until - c->done, flags,
                        c->body_until - c->body_from);
        c->state = C_SENT;
        c->t_sent = tp_now_ns();
        if (w->nq == 0)
            w->t_free = c->t_sent;
        w->assigned += c->until - c->done;
        w->q[w->nq++] = s;
        try_send(p, w);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The time limit in ns, or 0 for none (P% needs a few successes first). */
static uint64_t limit_ns(tp_pool *p)
{
    if (p->o.timeout > 0)
        return (uint64_t)(p->o.timeout * 1e9);
    if (p->o.timeout_pct <= 0 || p->nsamples < 3)
        return 0;
    if (p->samples_new * 8 >= p->nsamples || !p->median_ns) {
        uint32_t tmp[SAMPLES];
        memcpy(tmp, p->samples, p->nsamples * sizeof *tmp);
        qsort(tmp, p->nsamples, sizeof *tmp, cmp_u32);
        p->median_ns = (uint64_t)tmp[p->nsamples / 2] * 1000 + 1000;
        p->samples_new = 0;
    }
    return (uint64_t)((double)p->median_ns * p->o.timeout_pct / 100);
}

/* Kill workers past the limit; return ms until the next deadline, or -1. */
static int enforce_timeouts(tp_pool *p)
{
    uint64_t lim = limit_ns(p);
    if (!lim)
        return -1;
    uint64_t now = tp_now_ns(), next = UINT64_MAX;
    for (unsigned i = 0; i < p->jobs && p->err == TP_ERR_NONE; i++) {
        struct worker *w = &p->w[i];
        uint64_t t0;
        if (w->link.fd < 0 || !w->nsent)
            continue;
        if (tp_link_started(&w->link, &t0) <= w->answered || !t0) {
            /* its next task has not started yet: look again soon, as it
             * may start any moment and never tell */
            if (now + lim / 4 < next)
                next = now + lim / 4;
            continue;
        }
        if (now >= t0 + lim) {
            char d[128];
            snprintf(d, sizeof d, "timed out after %g s", (double)lim / 1e9);
            tp_worker_lost(p, w, TP_RESULT_TIMEOUT, d);
        } else if (t0 + lim < next) {
            next = t0 + lim;
        }
    }
    if (next == UINT64_MAX)
        return -1;
    return (int)((next - now + 999999) / 1000000);
}

int tp_sched_run_once(tp_pool *p, int extra_fd)
{
    unsigned n = 0;
    int timeout = enforce_timeouts(p);
    if (p->err != TP_ERR_NONE)
        return -1;
    for (unsigned i = 0; i < p->jobs; i++) {
        struct worker *w = &p->w[i];
        p->pfd[n].fd = w->link.fd;
        p->pfd[n].events = POLLIN | (w->nsent < w->nq ? POLLOUT : 0);
        p->pfd[n].revents = 0;
        n++;
    }
    int cancel = p->o.cancel_fd > 0 ? (int)n : -1;
    if (cancel >= 0)
        p->pfd[n++] = (struct pollfd){p->o.cancel_fd, POLLIN, 0};
    int extra = extra_fd >= 0 ? (int)n : -1;
    if (extra >= 0)
        p->pfd[n++] = (struct pollfd){extra_fd, POLLIN, 0};
    int r = poll(p->pfd, n, 0);
    if (r == 0) {
        if (p->cb.idle && p->cb.idle(p->cb.arg) != 0)
            return tp_pool_fail(p, TP_ERR_STOPPED,
                                "stopped by the idle callback");
        r = poll(p->pfd, n, timeout);
    }
    if (r < 0) {
        if (errno == EINTR)
            return 0;
        return tp_pool_fail(p, TP_ERR_SYSTEM, "poll: %s", strerror(errno));
    }
    if (cancel >= 0 && p->pfd[cancel].revents)
        return tp_pool_fail(p, TP_ERR_CANCELLED, "cancelled");
    for (unsigned i = 0; i < p->jobs && p->err == TP_ERR_NONE; i++) {
        struct worker *w = &p->w[i];
        short ev = p->pfd[i].revents;
        if (p->pfd[i].fd != w->link.fd)
            continue; /* replaced during this round */
        if (ev & POLLOUT)
            try_send(p, w);
        if (ev & (POLLIN | POLLHUP | POLLERR))
            tp_on_readable(p, w);
    }
    if (p->err != TP_ERR_NONE)
        return -1;
    return extra >= 0 && p->pfd[extra].revents ? 1 : 0;
}

unsigned tp_sched_busy(const tp_pool *p)
{
    unsigned n = 0;
    for (unsigned i = 0; i < p->jobs; i++)
        n += p->w[i].nq;
    return n;
}

int tp_sched_start(tp_pool *p, char *err, size_t errlen)
{
    p->spec = (struct tp_worker_spec){p->file, p->task, p->o.init_arg};
    for (unsigned i = 0; i < p->jobs; i++)
        p->w[i].link = (struct tp_link){-1, -1, NULL};
    for (unsigned i = 0; i < p->jobs; i++)
        if (tp_link_start(&p->w[i].link, &p->spec, err, errlen) != 0)
            return TP_ERR_SYSTEM;
    /* every worker loaded the plugin and ran init before any input */
    for (;;) {
        unsigned ready = 0;
        for (unsigned i = 0; i < p->jobs; i++)
            ready += p->w[i].ready;
        if (ready == p->jobs)
            return 0;
        if (tp_sched_run_once(p, -1) < 0) {
            snprintf(err, errlen, "%s", p->msg);
            return p->err;
        }
    }
}

void tp_sched_stop(tp_pool *p)
{
    if (!p->w)
        return;
    /* idle workers get EOF and run fini, all at once; busy ones are killed */
    int idle = p->err == TP_ERR_NONE || p->err == TP_ERR_HALTED;
    for (unsigned i = 0; i < p->jobs; i++)
        if (p->w[i].nq || !idle)
            tp_link_reap(&p->w[i].link, 0, NULL);
        else
            tp_link_close(&p->w[i].link);
    for (unsigned i = 0; i < p->jobs; i++) {
        if (p->w[i].link.pid > 0)
            tp_link_reap(&p->w[i].link, GRACE_MS, NULL);
        tp_buf_free(&p->w[i].fatal);
        tp_buf_free(&p->w[i].fails);
    }
}
