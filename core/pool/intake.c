/* What comes back from a worker: frames are read straight into place
 * (answers into their chunk), checked against what was asked, and turned
 * into events for the scheduler.  Nothing here decides what happens next. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pool/chunk.h"
#include "pool/pool_impl.h"
#include "pool/sched.h"

void tp__intake_reset(struct worker *w)
{
    w->ready = 0;
    w->nq = w->nsent = 0;
    w->send_off = 0;
    w->rgot = 0;
    w->in_body = 0;
    w->bgot = 0;
    w->fatal.len = 0;
    w->fatal_kind = 0;
    w->fails.len = 0;
    w->nfails = 0;
    w->assigned = 0;
    w->any_ended = 0;
}

static enum tp__ev lost(struct tp__event *ev, enum tp_status why,
                       const char *detail)
{
    ev->type = EV_LOST;
    ev->why = why;
    ev->stale = 0;
    snprintf(ev->detail, sizeof ev->detail, "%s", detail ? detail : "");
    return EV_LOST;
}

static void add_sample(tp_pool *p, uint32_t usec)
{
    p->samples[p->sample_pos] = usec;
    p->sample_pos = (p->sample_pos + 1) % SAMPLES;
    if (p->nsamples < SAMPLES)
        p->nsamples++;
    p->samples_new++;
}

/* The attempts of the record about to be answered, and a mark for it. */
static int answer_mark(tp_pool *p, struct chunk *c, pid_t pid, unsigned *att)
{
    int retried = c->retry_at == c->done;
    *att = retried ? c->retry_attempts : 1;
    if (tp__add_mark(c, c->done, pid, *att) != 0)
        return tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
    if (retried)
        c->retry_at = NO_REC;
    return 0;
}

/* k records of w's first request are answered; their results are in
 * place at c->out.p + c->out.len, blen bytes. */
static void took(struct chunk *c, uint32_t k, size_t blen)
{
    c->out.len += blen;
    c->done += k;
    c->lost = 0;
}

const char *tp__worker_name(const tp_pool *p, const struct worker *w,
                           char *buf, size_t len)
{
    if (w->link.name)
        return w->link.name;
    snprintf(buf, len, "remote worker %u", (unsigned)(w - p->w) + 1);
    return buf;
}

/* A far pool whose options are not the host's: as if it had sent
 * a FATAL frame saying so (a usage error, exit 2). */
static void not_same(tp_pool *p, struct worker *w, struct tp__event *ev)
{
    char buf[64], msg[512];
    int n = snprintf(msg, sizeof msg, "%s: started with other options than "
                     "rank 0 (every rank needs the same PLUGIN:TASK, "
                     "--init-arg, --chunk, time limits, --retries, "
                     "--max-tasks-per-child, limits, sandbox and output "
                     "format)", tp__worker_name(p, w, buf, sizeof buf));
    w->fatal.len = 0;
    if (n > 0 && tp__buf_reserve(&w->fatal, (size_t)n) == 0) {
        memcpy(w->fatal.p, msg, (size_t)n);
        w->fatal.len = (size_t)n;
    }
    w->fatal_kind = TP_FATAL_LOAD;
    lost(ev, TP_RESULT_CRASHED, "other options");
}

/* A far pool's RESULT body: each record also says which worker at
 * the far end ran it and in how many attempts, and may have any status.
 * Those go to marks; the records are rewritten in place, shorter, as a
 * local worker's. */
struct remote_ctx {
    tp_pool *p;
    struct chunk *c;
};

static int remote_record(void *arg, uint32_t k,
                         const struct tp__wire_remote *r)
{
    struct remote_ctx *x = arg;
    if (r->status == TP_RESULT_OK && x->p->o.timeout_pct > 0 &&
        x->p->req_flags & TP_REQ_TIMES)
        add_sample(x->p, r->usec);
    return tp__add_mark(x->c, x->c->done + k, (pid_t)r->pid, r->attempts);
}

static int take_remote(tp_pool *p, struct worker *w, struct chunk *c,
                       char *why, size_t len)
{
    struct remote_ctx x = {p, c};
    long long n = tp__wire_take_remote(c->out.p + c->out.len,
                                      (size_t)w->rf.len,
                                      (p->req_flags & TP_REQ_TIMES) != 0,
                                      w->rf.count, remote_record, &x);
    if (n == -2) {
        tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
        return 0;
    }
    if (n < 0) {
        snprintf(why, len, "malformed result frame (%u records declared)",
                 (unsigned)w->rf.count);
        return -1;
    }
    took(c, w->rf.count, (size_t)n);
    return 0;
}

/* A complete RESULT body sits at c->out.p + c->out.len; check and take it. */
static int take_results(tp_pool *p, struct worker *w, struct chunk *c,
                        char *why, size_t len)
{
    if (p->tr->far_pool)
        return take_remote(p, w, c, why, len);
    const char *body = c->out.p + c->out.len;
    size_t pos = 0, blen = (size_t)w->rf.len;
    uint32_t k = 0;
    struct tp__wire_res r;
    int m;
    unsigned att;
    while ((m = tp__wire_next_res(body, blen, &pos, &r,
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
    if (k && answer_mark(p, c, tp__link_pid(&w->link), &att) != 0)
        return 0;
    took(c, k, blen);
    return 0;
}

/* A complete TEXT body sits at c->out.p + c->out.len, and the FAILS of
 * the same batch (if any) in w->fails: check both and take them. */
static int take_text(tp_pool *p, struct worker *w, struct chunk *c, char *why,
                     size_t len)
{
    size_t blen = (size_t)w->rf.len, fpos = 0;
    uint32_t count = w->rf.count;
    unsigned att = 1;
    struct tp__wire_fail f, prev;
    if (count && answer_mark(p, c, tp__link_pid(&w->link), &att) != 0)
        return 0;
    for (uint32_t i = 0; i < w->nfails; i++) {
        /* a far pool's entries say how, by whom and in how many
         * attempts */
        if (tp__wire_get_fail(w->fails.p, w->fails.len, &fpos,
                             i ? &prev : NULL, count, blen, p->tr->far_pool,
                             &f) != 0) {
            snprintf(why, len, "malformed FAILS frame");
            return -1;
        }
        prev = f;
        struct fail_hdr h = {f.index + c->done,
                             f.text_off + (uint32_t)c->out.len, f.status,
                             p->tr->far_pool ? f.attempts
                             : f.index == 0  ? att
                                             : 1,
                             f.len,
                             p->tr->far_pool ? (pid_t)f.pid
                                             : tp__link_pid(&w->link)};
        if (tp__add_fail(c, &h, f.msg) != 0) {
            tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
            return 0;
        }
    }
    w->fails.len = 0;
    w->nfails = 0;
    took(c, count, blen);
    return 0;
}

/* A header arrived: check it against what was asked and say where its
 * body goes (NULL: it is a READY, or wrong, as ev then says). */
static struct tp__buf *body_for(tp_pool *p, struct worker *w,
                               struct tp__event *ev)
{
    struct tp__frame *f = &w->rf;
    char why[512];
    if (tp__wire_get_hdr(w->rhdr, f, why, sizeof why) != 0) {
        lost(ev, TP_RESULT_PROTOCOL, why);
        return NULL;
    }
    int text = p->o.text_results != 0;
    if (f->type == TP_FRAME_READY) {
        if (w->ready)
            lost(ev, TP_RESULT_PROTOCOL, "unexpected READY frame");
        else
            ev->type = EV_READY;
        w->ready = 1;
        w->link.jobs = !f->count ? 1 : f->count > 65536 ? 65536 : f->count;
        if (p->tr->far_pool && f->flags != p->same)
            not_same(p, w, ev);
        return NULL;
    }
    if (f->type == TP_FRAME_FATAL) {
        w->fatal_kind = f->count;
        return &w->fatal;
    }
    if (f->type == TP_FRAME_ALIVE && p->tr->far_pool) {
        w->t_heard = tp__now_ns(); /* at work: not frozen (remote.c) */
        return NULL;
    }
    struct chunk *c = w->nsent ? &p->c[w->q[0]] : NULL;
    if (c && (f->type == TP_FRAME_FAILS || f->type == TP_FRAME_TEXT ||
              f->type == TP_FRAME_RESULT) &&
        TP_ANS_SEQ(f->flags) != c->rseq) {
        snprintf(why, sizeof why, "answer to request %u, expected %u",
                 (unsigned)TP_ANS_SEQ(f->flags), (unsigned)c->rseq);
        lost(ev, TP_RESULT_PROTOCOL, why);
        /* a second answer to the request that just ended, before the
         * worker started the next: no input of that one is to blame */
        ev->stale = w->any_ended && TP_ANS_SEQ(f->flags) == w->ended &&
                    w->link.prog && !tp__link_claimed(&w->link, c->rseq, NULL);
        return NULL;
    }
    if (f->type == (text ? TP_FRAME_TEXT : TP_FRAME_RESULT)) {
        if (!c && w->any_ended && TP_ANS_SEQ(f->flags) == w->ended) {
            lost(ev, TP_RESULT_PROTOCOL, "second answer to a request");
            ev->stale = 1;
            return NULL;
        }
        if (!c || f->count > c->until - c->done ||
            (!f->count && !(f->flags & TP_ANS_END))) {
            lost(ev, TP_RESULT_PROTOCOL, "unexpected result frame");
            return NULL;
        }
        return &c->out;
    }
    if (f->type == TP_FRAME_FAILS && text && c && !w->nfails && f->count) {
        w->fails.len = 0;
        return &w->fails;
    }
    lost(ev, TP_RESULT_PROTOCOL, "unexpected frame");
    return NULL;
}

/* A whole body is in: take it.  Returns the event, or EV_NONE to go on. */
static enum tp__ev body_done(tp_pool *p, struct worker *w, struct tp__event *ev)
{
    char why[512];
    w->in_body = 0;
    if (w->rf.type == TP_FRAME_FATAL) {
        w->fatal.len = (size_t)w->rf.len;
        return lost(ev, TP_RESULT_CRASHED, NULL);
    }
    if (w->rf.type == TP_FRAME_FAILS) {
        w->fails.len = (size_t)w->rf.len;
        w->nfails = w->rf.count;
        return EV_NONE;
    }
    struct chunk *c = &p->c[w->q[0]];
    uint32_t before = c->done;
    if ((w->rf.type == TP_FRAME_TEXT
             ? take_text(p, w, c, why, sizeof why)
             : take_results(p, w, c, why, sizeof why)) != 0)
        return lost(ev, TP_RESULT_PROTOCOL, why);
    ev->k = c->done - before;
    ev->type = w->rf.flags & TP_ANS_END ? EV_END : EV_ANSWER;
    return ev->type;
}

enum tp__ev tp__intake(tp_pool *p, struct worker *w, struct tp__event *ev)
{
    ev->type = EV_NONE;
    ev->k = 0;
    while (w->link.fd >= 0 && p->err == TP_ERR_NONE) {
        ssize_t r;
        if (!w->in_body) {
            r = tp__link_recv(&w->link, w->rhdr + w->rgot,
                             TP_WIRE_HDR - w->rgot);
            if (r > 0 && (w->rgot += (size_t)r) == TP_WIRE_HDR) {
                w->rgot = 0;
                struct tp__buf *dst = body_for(p, w, ev);
                if (!dst && ev->type == EV_NONE && p->err == TP_ERR_NONE &&
                    w->rf.type == TP_FRAME_ALIVE && p->tr->far_pool)
                    continue;
                if (!dst)
                    return ev->type;
                if (tp__buf_reserve(dst, (size_t)w->rf.len) != 0) {
                    tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
                    return EV_NONE;
                }
                w->in_body = 1;
                w->bgot = 0;
                continue;
            }
        } else {
            struct tp__buf *dst = w->rf.type == TP_FRAME_FATAL   ? &w->fatal
                                 : w->rf.type == TP_FRAME_FAILS ? &w->fails
                                                    : &p->c[w->q[0]].out;
            size_t want = (size_t)(w->rf.len - w->bgot);
            r = want ? tp__link_recv(&w->link, dst->p + dst->len + w->bgot,
                                    want)
                     : 0;
            if (r > 0)
                w->bgot += (uint64_t)r;
            if (w->bgot == w->rf.len) {
                if (body_done(p, w, ev) != EV_NONE)
                    return ev->type;
                continue;
            }
        }
        if (r == 0)
            return lost(ev, TP_RESULT_CRASHED, NULL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return EV_NONE;
            return lost(ev, TP_RESULT_CRASHED, NULL);
        }
    }
    return EV_NONE;
}
