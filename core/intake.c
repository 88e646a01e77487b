/* What comes back from workers: answers are read straight into their
 * chunk and checked, and every way a worker can go wrong ends in one
 * recorded outcome for the input it was running: it died, it hung past
 * the timeout, it broke the protocol.  The rest of its work goes to the
 * front of the queue and a fresh worker takes its place. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool_impl.h"

#define TARGET_NS 10e6 /* adaptive chunks aim at 10 ms of work */

static void adapt(tp_pool *p, struct chunk *c, struct worker *w)
{
    uint64_t t = tp_now_ns(), from = c->t_sent > w->t_free ? c->t_sent : w->t_free;
    w->t_free = t;
    if (p->o.chunk)
        return;
    double per = (double)(t - from) / c->n;
    p->ns_per_item = p->ns_per_item > 0 ? 0.7 * p->ns_per_item + 0.3 * per
                                        : per;
    double want = TARGET_NS / (p->ns_per_item > 1 ? p->ns_per_item : 1);
    p->target = want >= p->cap ? p->cap : want < 1 ? 1 : (unsigned)want;
}

/* Record a host-made outcome for record c->done. */
static int record_fail(tp_pool *p, struct chunk *c, enum tp_status st,
                       const char *msg, pid_t pid, unsigned attempts)
{
    size_t n = strlen(msg);
    int timed = p->req_flags & TP_REQ_TIMES;
    if (p->o.text_results) {
        struct fail_hdr f = {c->done, (uint32_t)c->out.len, (uint32_t)st,
                             attempts, (uint32_t)n, pid};
        if (tp_add_fail(c, &f, msg) != 0)
            return tp_pool_fail(p, TP_ERR_SYSTEM, "out of memory");
        c->done++;
        return 0;
    }
    if (tp_buf_reserve(&c->out, TP_WIRE_RES_MAX + n) != 0 ||
        tp_add_mark(c, c->done, pid, attempts) != 0)
        return tp_pool_fail(p, TP_ERR_SYSTEM, "out of memory");
    char *o = c->out.p + c->out.len;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    size_t h = tp_wire_put_res(o, (uint32_t)n, (uint32_t)st, 0,
                               (uint64_t)now.tv_sec * 1000000000u +
                                   (uint64_t)now.tv_nsec,
                               timed);
    memcpy(o + h, msg, n);
    c->out.len += h + n;
    c->done++;
    return 0;
}

/* A dispatch of chunk s ended (all its results are in, or its worker is
 * gone): record a pending failure, then finish or requeue the chunk. */
static void dispatch_ended(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    if (c->stop_at == c->done) {
        if (record_fail(p, c, c->stop_status, c->stop_msg, c->stop_pid,
                        c->stop_attempts) != 0)
            return;
        c->stop_at = NO_REC;
    }
    if (c->done == c->n) {
        tp_chunk_done(p, s);
    } else {
        c->state = C_QUEUED;
        tp_dq_push(p, s, 1);
    }
}

/* The input at c->done + k killed its worker (why, msg): retry it, or
 * record the outcome once the inputs before it are through. */
static void blame(tp_pool *p, struct chunk *c, uint32_t k, enum tp_status why,
                  const char *msg, pid_t pid)
{
    uint32_t at = c->done + k;
    c->lost = 0;
    unsigned attempts = c->retry_at == at ? c->retry_attempts : 1;
    if (why != TP_RESULT_PROTOCOL && attempts <= p->o.retries) {
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

/* The worker is gone or must go: blame the input it was running, send the
 * rest of its work elsewhere, start a fresh worker. */
void tp_worker_lost(tp_pool *p, struct worker *w, enum tp_status why,
                    const char *detail)
{
    pid_t pid = w->link.pid;
    uint64_t started = tp_link_started(&w->link, NULL);
    int st = 0;
    char how[256], msg[1024];
    tp_link_reap(&w->link, 0, &st);
    tp_describe_wait(st, how, sizeof how);
    if (w->fatal.len && !w->ready) { /* could not load the plugin or init */
        tp_pool_fail(p, TP_ERR_INIT, "%.*s", (int)w->fatal.len, w->fatal.p);
        return;
    }
    if (w->fatal.len) /* it gave up later, e.g. out of memory: a crash */
        snprintf(msg, sizeof msg, "worker %d: %.*s", (int)pid,
                 (int)(w->fatal.len < 512 ? w->fatal.len : 512), w->fatal.p);
    else if (why == TP_RESULT_PROTOCOL)
        snprintf(msg, sizeof msg, "worker %d: protocol error: %s", (int)pid,
                 detail);
    else if (why == TP_RESULT_TIMEOUT)
        snprintf(msg, sizeof msg, "worker %d %s", (int)pid, detail);
    else
        snprintf(msg, sizeof msg, "worker %d %s", (int)pid, how);
    if (!w->ready) {
        tp_pool_fail(p, TP_ERR_INIT, "%s while starting", msg);
        return;
    }
    int q[DEPTH];
    unsigned nq = w->nq, nsent = w->nsent;
    uint64_t answered = w->answered;
    memcpy(q, w->q, sizeof q);
    tp_reset_worker(w);
    for (unsigned i = nq; i-- > 1;) {
        p->c[q[i]].state = C_QUEUED;
        tp_dq_push(p, q[i], 1);
    }
    if (nq) {
        /* Results travel in batches: the progress counter says which
         * input of q[0] was running; those before it ran, but their
         * results died with the worker and run again. */
        struct chunk *c = &p->c[q[0]];
        uint64_t k = started - answered - 1;
        if (nsent && started > answered && k < c->until - c->done)
            blame(p, c, (uint32_t)k, why, msg, pid);
        else if ((nsent && why == TP_RESULT_PROTOCOL) || ++c->lost >= 3)
            /* a bad answer seen only once its batch ended (the worker may
             * have moved on), or workers keep dying before they start on
             * this chunk: blame its next input, so the run cannot go round
             * for ever */
            blame(p, c, 0, why, msg, pid);
        dispatch_ended(p, q[0]);
    }
    if (p->err == TP_ERR_NONE &&
        tp_link_start(&w->link, &p->spec, how, sizeof how) != 0) {
        tp_pool_fail(p, TP_ERR_SYSTEM, "%s", how);
        return;
    }
    tp_sched_dispatch(p);
}

static void add_sample(tp_pool *p, uint32_t usec)
{
    p->samples[p->sample_pos] = usec;
    p->sample_pos = (p->sample_pos + 1) % SAMPLES;
    if (p->nsamples < SAMPLES)
        p->nsamples++;
    p->samples_new++;
}

/* k more records of w's first chunk are answered (their results are in
 * place at c->out.p + c->out.len, blen bytes); finish the dispatch if done. */
static void took(tp_pool *p, struct worker *w, uint32_t k, size_t blen)
{
    struct chunk *c = &p->c[w->q[0]];
    c->out.len += blen;
    c->done += k;
    c->lost = 0;
    w->answered += k;
    if (c->done == c->until) {
        int s = w->q[0];
        if (c->until == c->n && c->nmarks == 1) /* one clean dispatch */
            adapt(p, c, w);
        memmove(w->q, w->q + 1, (--w->nq) * sizeof *w->q);
        w->nsent--;
        dispatch_ended(p, s);
        tp_sched_dispatch(p);
    }
}

/* The attempts of the record about to be answered, and a mark for it. */
static int answer_mark(tp_pool *p, struct chunk *c, pid_t pid, unsigned *att)
{
    int retried = c->retry_at == c->done;
    *att = retried ? c->retry_attempts : 1;
    if (tp_add_mark(c, c->done, pid, *att) != 0)
        return tp_pool_fail(p, TP_ERR_SYSTEM, "out of memory");
    if (retried)
        c->retry_at = NO_REC;
    return 0;
}

/* A complete RESULT body sits at c->out.p + c->out.len; check and take it. */
static int take_results(tp_pool *p, struct worker *w, char *why, size_t len)
{
    struct chunk *c = &p->c[w->q[0]];
    const char *body = c->out.p + c->out.len;
    size_t pos = 0, blen = (size_t)w->rf.len;
    uint32_t k = 0;
    struct tp_wire_res r;
    int m;
    unsigned att;
    while ((m = tp_wire_next_res(body, blen, &pos, &r,
                                 p->req_flags & TP_REQ_TIMES)) == 1) {
        if (r.status > TP_WS_ERROR) {
            snprintf(why, len, "result with unknown status %u",
                     (unsigned)r.status);
            return -1;
        }
        if (r.status == TP_WS_OK && p->o.timeout_pct > 0)
            add_sample(p, r.usec);
        k++;
    }
    if (m < 0 || k != w->rf.count) {
        snprintf(why, len, "malformed result frame (%u records declared, "
                 "%u found)", (unsigned)w->rf.count, (unsigned)k);
        return -1;
    }
    if (answer_mark(p, c, w->link.pid, &att) == 0)
        took(p, w, k, blen);
    return 0;
}

/* A complete TEXT body sits at c->out.p + c->out.len, and the FAILS of
 * the same batch (if any) in w->fails: check both and take them. */
static int take_text(tp_pool *p, struct worker *w, char *why, size_t len)
{
    struct chunk *c = &p->c[w->q[0]];
    size_t blen = (size_t)w->rf.len, fpos = 0;
    uint32_t count = w->rf.count, prev = 0, prev_off = 0;
    unsigned att;
    if (answer_mark(p, c, w->link.pid, &att) != 0)
        return 0;
    for (uint32_t i = 0; i < w->nfails; i++) {
        if (w->fails.len - fpos < TP_WIRE_FAIL_REC) {
            snprintf(why, len, "malformed FAILS frame");
            return -1;
        }
        const char *e = w->fails.p + fpos;
        struct fail_hdr f = {tp_get32(e), tp_get32(e + 4), TP_RESULT_ERROR,
                             1, tp_get32(e + 8), w->link.pid};
        if (w->fails.len - fpos - TP_WIRE_FAIL_REC < f.len ||
            f.index >= count || (i && f.index <= prev) || f.text_off > blen ||
            f.text_off < prev_off) {
            snprintf(why, len, "malformed FAILS frame");
            return -1;
        }
        prev = f.index;
        prev_off = f.text_off;
        if (f.index == 0)
            f.attempts = att;
        f.index += c->done;
        f.text_off += (uint32_t)c->out.len;
        if (tp_add_fail(c, &f, e + TP_WIRE_FAIL_REC) != 0) {
            tp_pool_fail(p, TP_ERR_SYSTEM, "out of memory");
            return 0;
        }
        fpos += TP_WIRE_FAIL_REC + f.len;
    }
    w->fails.len = 0;
    w->nfails = 0;
    took(p, w, count, blen);
    return 0;
}

/* Read what the worker sent: headers, then bodies straight into place. */
void tp_on_readable(tp_pool *p, struct worker *w)
{
    char why[512];
    while (w->link.fd >= 0 && p->err == TP_ERR_NONE) {
        ssize_t r;
        if (!w->in_body) {
            r = tp_link_recv(&w->link, w->rhdr + w->rgot,
                             TP_WIRE_HDR - w->rgot);
            if (r > 0 && (w->rgot += (size_t)r) == TP_WIRE_HDR) {
                struct tp_frame *f = &w->rf;
                w->rgot = 0;
                if (tp_wire_get_hdr(w->rhdr, f, why, sizeof why) != 0)
                    return tp_worker_lost(p, w, TP_RESULT_PROTOCOL, why);
                if (f->type == TP_FRAME_READY) {
                    if (w->ready)
                        return tp_worker_lost(p, w, TP_RESULT_PROTOCOL,
                                           "unexpected READY frame");
                    w->ready = 1;
                    continue;
                }
                struct tp_buf *dst = &w->fatal;
                int text = p->o.text_results != 0;
                if (f->type == (text ? TP_FRAME_TEXT : TP_FRAME_RESULT)) {
                    struct chunk *c = w->nsent ? &p->c[w->q[0]] : NULL;
                    if (!c || f->count == 0 || f->count > c->until - c->done)
                        return tp_worker_lost(p, w, TP_RESULT_PROTOCOL,
                                           "unexpected result frame");
                    dst = &c->out;
                } else if (f->type == TP_FRAME_FAILS && text && !w->nfails &&
                           f->count) {
                    dst = &w->fails;
                    dst->len = 0;
                } else if (f->type != TP_FRAME_FATAL) {
                    return tp_worker_lost(p, w, TP_RESULT_PROTOCOL,
                                       "unexpected frame");
                }
                if (tp_buf_reserve(dst, (size_t)f->len) != 0) {
                    tp_pool_fail(p, TP_ERR_SYSTEM, "out of memory");
                    return;
                }
                w->in_body = 1;
                w->bgot = 0;
            }
        } else {
            struct tp_buf *dst = w->rf.type == TP_FRAME_FATAL   ? &w->fatal
                                 : w->rf.type == TP_FRAME_FAILS ? &w->fails
                                                                : &p->c[w->q[0]].out;
            size_t want = (size_t)(w->rf.len - w->bgot);
            r = want ? tp_link_recv(&w->link, dst->p + dst->len + w->bgot,
                                    want)
                     : 0;
            if (r > 0)
                w->bgot += (uint64_t)r;
            if (w->bgot == w->rf.len) {
                w->in_body = 0;
                if (w->rf.type == TP_FRAME_FATAL) {
                    w->fatal.len = (size_t)w->rf.len;
                    return tp_worker_lost(p, w, TP_RESULT_CRASHED, NULL);
                }
                if (w->rf.type == TP_FRAME_FAILS) {
                    w->fails.len = (size_t)w->rf.len;
                    w->nfails = w->rf.count;
                    continue;
                }
                if ((w->rf.type == TP_FRAME_TEXT
                         ? take_text(p, w, why, sizeof why)
                         : take_results(p, w, why, sizeof why)) != 0)
                    return tp_worker_lost(p, w, TP_RESULT_PROTOCOL, why);
                continue;
            }
        }
        if (r == 0)
            return tp_worker_lost(p, w, TP_RESULT_CRASHED, NULL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            return tp_worker_lost(p, w, TP_RESULT_CRASHED, NULL);
        }
    }
}

