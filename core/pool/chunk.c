/* A chunk's bookkeeping: which worker answered which records, failures
 * the host recorded, splitting off records a worker had not started, and
 * the queues of slots (to dispatch; with news for delivery); and the
 * pool's error.  The bottom of the pool: it calls nothing above it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/chunk.h"
#include "pool/pool_impl.h"

#define KEEP_BYTES (4u << 20) /* slot buffers larger than this are freed */

/* The pool's error: the first one seen, by whichever part sees it, wins. */
int tp__pool_fail(tp_pool *p, enum tp_error e, const char *fmt, ...)
{
    if (p->err == TP_ERR_NONE) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->msg, sizeof p->msg, fmt, ap);
        va_end(ap);
        p->err = e;
    }
    return -1;
}

void tp__dq_push(tp_pool *p, int slot, int front)
{
    if (front) {
        p->dq_head = (p->dq_head + p->nslots - 1) % p->nslots;
        p->dq[p->dq_head] = slot;
    } else {
        p->dq[(p->dq_head + p->dq_len) % p->nslots] = slot;
    }
    p->dq_len++;
}

int tp__dq_pop(tp_pool *p)
{
    int s = p->dq[p->dq_head];
    p->dq_head = (p->dq_head + 1) % p->nslots;
    p->dq_len--;
    return s;
}

void tp__chunk_news(tp_pool *p, int s)
{
    if (!p->c[s].pending) {
        p->c[s].pending = 1;
        p->pend[p->npend++] = s;
    }
}

int tp__add_mark(struct chunk *c, uint32_t from, pid_t pid, unsigned attempts)
{
    if (c->nmarks && c->marks[c->nmarks - 1].pid == pid && attempts == 1)
        return 0;
    if (c->nmarks == c->capmarks) {
        size_t cap = c->capmarks ? 2 * c->capmarks : 4;
        struct mark *m = realloc(c->marks, cap * sizeof *m);
        if (!m)
            return -1;
        c->marks = m;
        c->capmarks = cap;
    }
    c->marks[c->nmarks++] = (struct mark){from, pid, attempts};
    return 0;
}

int tp__add_fail(struct chunk *c, const struct fail_hdr *f, const char *msg)
{
    if (tp__buf_reserve(&c->fails, sizeof *f + f->len) != 0)
        return -1;
    memcpy(c->fails.p + c->fails.len, f, sizeof *f);
    memcpy(c->fails.p + c->fails.len + sizeof *f, msg, f->len);
    c->fails.len += sizeof *f + f->len;
    return 0;
}

int tp__record_fail(tp_pool *p, struct chunk *c, enum tp_status st,
                   const char *msg, pid_t pid, unsigned attempts)
{
    size_t n = strlen(msg);
    int timed = p->req_flags & TP_REQ_TIMES;
    if (p->o.text_results) {
        struct fail_hdr f = {c->done, (uint32_t)c->out.len, (uint32_t)st,
                             attempts, (uint32_t)n, pid};
        if (tp__add_fail(c, &f, msg) != 0)
            return tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
        c->done++;
        return 0;
    }
    if (tp__buf_reserve(&c->out, TP_WIRE_RES_MAX + n) != 0 ||
        tp__add_mark(c, c->done, pid, attempts) != 0)
        return tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
    char *o = c->out.p + c->out.len;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    size_t h = tp__wire_put_res(o, (uint32_t)n, (uint32_t)st, 0,
                               (uint64_t)now.tv_sec * 1000000000u +
                                   (uint64_t)now.tv_nsec,
                               timed);
    memcpy(o + h, msg, n);
    c->out.len += h + n;
    c->done++;
    return 0;
}

/* Where record `at` starts in c->in (at >= c->from). */
static size_t rec_pos(const struct chunk *c, uint32_t at)
{
    size_t pos = c->from_pos;
    const char *r;
    uint32_t l;
    for (uint32_t i = c->from; i < at; i++)
        tp__wire_next_rec(c->in.p, c->in.len, &pos, &r, &l, c->delim);
    return pos;
}

int tp__chunk_split(tp_pool *p, int s, uint32_t at)
{
    if (!p->nfree)
        return -1;
    struct chunk *c = &p->c[s];
    size_t pos = rec_pos(c, at);
    int s2 = p->freel[p->nfree - 1];
    struct chunk *d = &p->c[s2];
    if (tp__buf_reserve(&d->in, c->in.len - pos + 1) != 0)
        return -1;
    p->nfree--;
    p->inflight++;
    memcpy(d->in.p, c->in.p + pos, c->in.len - pos);
    d->in.len = c->in.len - pos;
    d->seq = c->seq;
    d->first = c->first + at;
    d->n = c->n - at;
    d->delim = c->delim;
    d->next_part = c->next_part;
    c->next_part = s2;
    /* pending outcomes of records that moved move with them */
    if (c->retry_at != NO_REC && c->retry_at >= at) {
        d->retry_at = c->retry_at - at;
        d->retry_attempts = c->retry_attempts;
        c->retry_at = NO_REC;
    }
    if (c->stop_at != NO_REC && c->stop_at >= at) {
        d->stop_at = c->stop_at - at;
        d->stop_status = c->stop_status;
        d->stop_pid = c->stop_pid;
        d->stop_attempts = c->stop_attempts;
        memcpy(d->stop_msg, c->stop_msg, sizeof d->stop_msg);
        c->stop_at = NO_REC;
    }
    c->n = at;
    c->in.len = pos;
    if (c->until > at)
        c->until = at;
    d->state = C_QUEUED;
    tp__dq_push(p, s2, 1);
    return s2;
}

void tp__chunk_free(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    c->state = C_FREE;
    c->n = c->done = c->fin = 0;
    c->from = c->until = 0;
    c->fin_out = c->fin_fail = c->from_pos = c->in_pos = 0;
    c->in_rec = 0;
    c->next_part = -1;
    c->retry_at = c->stop_at = NO_REC;
    c->lost = 0;
    c->in.len = c->out.len = c->fails.len = 0;
    c->nmarks = 0;
    if (c->in.cap > KEEP_BYTES)
        tp__buf_free(&c->in);
    if (c->out.cap > KEEP_BYTES)
        tp__buf_free(&c->out);
    p->freel[p->nfree++] = s;
    p->inflight--;
}

/* "150 ms", "0.5 ms", "2.5 s" */
void tp__human_time(uint64_t ns, char *buf, size_t len)
{
    if (ns >= 1000000000u)
        snprintf(buf, len, "%.3g s", (double)ns / 1e9);
    else
        snprintf(buf, len, "%.3g ms", (double)ns / 1e6);
}
