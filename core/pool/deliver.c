/* When inputs finish and when their results are handed over.  Both run
 * from the pool's own loop, never from inside a socket read: first the
 * completions (in completion order: the finished callback, failure counts
 * and the halt policy), then the results (in input order, or as chunks
 * finish with unordered). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/chunk.h"
#include "pool/deliver.h"
#include "pool/pool_impl.h"

/* Completions are still taken after a signal stopped the run: a killed
 * run leaves every input that finished on record. */
static int live(const tp_pool *p)
{
    return p->err == TP_ERR_NONE || p->err == TP_ERR_CANCELLED;
}

/* The worker and attempts of record i (marks are in record order). */
static void mark_for(const struct chunk *c, uint32_t i, pid_t *pid,
                     unsigned *attempts)
{
    size_t m = 0;
    while (m + 1 < c->nmarks && c->marks[m + 1].from <= i)
        m++;
    *pid = c->nmarks ? c->marks[m].pid : 0;
    *attempts = c->nmarks && c->marks[m].from == i ? c->marks[m].attempts : 1;
}

/* Record i of c, its input and its result record as an outcome, in *r.
 * Filled in place, field by field: a struct returned by value was built
 * on the stack with narrow stores and copied out with wide loads, each
 * stalled on the stores (a fifth of a tiny run's delivery). */
static void wire_result(const struct chunk *c, uint32_t i, const char *in,
                        uint32_t ilen, const struct tp__wire_res *o,
                        struct tp_result *r)
{
    r->size = sizeof *r;
    r->index = c->first + i;
    r->status = (enum tp_status)o->status;
    r->input = in;
    r->input_len = ilen;
    r->data = o->rec;
    r->len = o->len;
    r->usec = o->usec;
    r->start_ns = o->start_ns;
    r->node = c->node;
    mark_for(c, i, &r->worker, &r->attempts);
}

/* Input record i of c, walking on from deliver.c's place. */
static int input_at(tp_pool *p, struct chunk *c, uint32_t i, const char **in,
                    uint32_t *len)
{
    if (i < c->in_rec) {
        c->in_rec = 0;
        c->in_pos = 0;
    }
    for (;;) {
        if (tp__wire_next_rec(c->in.p, c->in.len, &c->in_pos, in, len,
                             c->delim) != 1)
            return tp__pool_fail(p, TP_ERR_SYSTEM, "internal error: chunk "
                                "%llu is corrupt", (unsigned long long)c->seq);
        if (c->in_rec++ == i)
            return 0;
    }
}

/* The halt policy, after one more failure (r, in slot s). */
static void check_halt(tp_pool *p, int s, const struct tp_result *r)
{
    if (p->o.halt == TP_HALT_NEVER || p->halting || p->halt_now)
        return;
    if (p->o.halt_fail_pct > 0) {
        uint64_t total = p->o.expected   ? p->o.expected
                         : p->input_done ? p->next_index
                                         : p->completed;
        if ((double)p->failed * 100 < p->o.halt_fail_pct * (double)total)
            return;
    } else if (p->failed < (p->o.halt_fail ? p->o.halt_fail : 1)) {
        return;
    }
    snprintf(p->msg, sizeof p->msg, "halted: %llu input%s failed",
             (unsigned long long)p->failed, p->failed == 1 ? "" : "s");
    if (p->o.halt == TP_HALT_SOON) {
        p->halting = 1;
        return;
    }
    /* now: keep the failure, to report it even before its turn */
    free(p->trigger_buf);
    p->trigger = *r;
    p->trigger_buf = malloc(r->input_len + r->len + 1);
    if (p->trigger_buf) {
        memcpy(p->trigger_buf, r->input, r->input_len);
        memcpy(p->trigger_buf + r->input_len, r->data, r->len);
        p->trigger.input = p->trigger_buf;
        p->trigger.data = p->trigger_buf + r->input_len;
    }
    p->halt_now = 1;
    p->trigger_slot = s;
}

/* One finished input, of chunk c. */
static void finished(tp_pool *p, const struct chunk *c,
                     const struct tp_result *r)
{
    if (p->cb.finished && p->cb.finished(p->cb.arg, r) != 0)
        tp__pool_fail(p, TP_ERR_STOPPED, "stopped by the finished callback");
    if (r->status != TP_RESULT_OK) {
        p->failed++;
        check_halt(p, (int)(c - p->c), r);
    }
}

/* Text mode: only failures are seen one by one; the rest are counted. */
static void complete_text(tp_pool *p, struct chunk *c)
{
    while (c->fin_fail < c->fails.len && !p->halt_now && live(p)) {
        struct fail_hdr f;
        memcpy(&f, c->fails.p + c->fin_fail, sizeof f);
        if (f.index >= c->done)
            break;
        const char *in;
        uint32_t ilen;
        if (input_at(p, c, f.index, &in, &ilen) != 0)
            return;
        struct tp_result r = {
            .size = sizeof r,
            .index = c->first + f.index,
            .status = (enum tp_status)f.status,
            .input = in,
            .input_len = ilen,
            .data = c->fails.p + c->fin_fail + sizeof f,
            .len = f.len,
            .worker = f.pid,
            .attempts = f.attempts,
            .node = c->node,
        };
        c->fin_fail += sizeof f + f.len;
        p->completed += f.index + 1 - c->fin;
        c->fin = f.index + 1;
        finished(p, c, &r);
    }
    if (!p->halt_now && live(p)) {
        p->completed += c->done - c->fin;
        c->fin = c->done;
    }
}

/* Records [fin, done) of c have finished. */
static void complete(tp_pool *p, struct chunk *c)
{
    if (p->o.text_results) {
        complete_text(p, c);
        return;
    }
    int timed = p->req_flags & TP_REQ_TIMES;
    while (c->fin < c->done && !p->halt_now && live(p)) {
        struct tp__wire_res o;
        const char *in = NULL;
        uint32_t ilen = 0;
        if (tp__wire_next_res(c->out.p, c->out.len, &c->fin_out, &o, timed) !=
            1) {
            tp__pool_fail(p, TP_ERR_SYSTEM, "internal error: chunk %llu is "
                         "corrupt", (unsigned long long)c->seq);
            return;
        }
        uint32_t i = c->fin++;
        p->completed++;
        if (!p->cb.finished && o.status == TP_RESULT_OK)
            continue;
        if (input_at(p, c, i, &in, &ilen) != 0)
            return;
        struct tp_result r;
        wire_result(c, i, in, ilen, &o, &r);
        finished(p, c, &r);
    }
}

static void result(tp_pool *p, const struct tp_result *r)
{
    p->delivered++;
    if (p->halt_now && r->index == p->trigger.index)
        p->trigger_done = 1;
    if (p->cb.result(p->cb.arg, r) != 0)
        tp__pool_fail(p, TP_ERR_STOPPED, "stopped by the result callback");
}

/* Text mode: the text of records [*next, upto) of slot s, up to text_off. */
static void text_span(tp_pool *p, struct chunk *c, size_t *tpos,
                      size_t text_off, uint32_t *next, uint32_t upto)
{
    if (upto > *next && p->err == TP_ERR_NONE) {
        p->delivered += upto - *next;
        if (p->cb.text(p->cb.arg, c->out.p + *tpos, text_off - *tpos,
                       upto - *next) != 0)
            tp__pool_fail(p, TP_ERR_STOPPED, "stopped by the text callback");
    }
    *tpos = text_off;
    *next = upto;
}

/* Text mode: deliver the first n records of c: runs of text, and each
 * failed record on its own, in order. */
static void deliver_text(tp_pool *p, struct chunk *c, uint32_t n)
{
    size_t tpos = 0, fpos = 0, ip = 0, end = c->out.len;
    uint32_t next = 0, irec = 0, ilen = 0;
    const char *in = NULL;
    while (fpos < c->fails.len && p->err == TP_ERR_NONE) {
        struct fail_hdr f;
        memcpy(&f, c->fails.p + fpos, sizeof f);
        const char *msg = c->fails.p + fpos + sizeof f;
        fpos += sizeof f + f.len;
        if (f.index >= n)
            break;
        text_span(p, c, &tpos, f.text_off, &next, f.index);
        while (p->err == TP_ERR_NONE && irec <= f.index) {
            if (tp__wire_next_rec(c->in.p, c->in.len, &ip, &in, &ilen,
                                 c->delim) != 1) {
                tp__pool_fail(p, TP_ERR_SYSTEM, "internal error: chunk %llu "
                             "is corrupt", (unsigned long long)c->seq);
                break;
            }
            irec++;
        }
        if (p->err != TP_ERR_NONE)
            break;
        struct tp_result r = {
            .size = sizeof r,
            .index = c->first + f.index,
            .status = (enum tp_status)f.status,
            .input = in,
            .input_len = ilen,
            .data = msg,
            .len = f.len,
            .worker = f.pid,
            .attempts = f.attempts,
        };
        next = f.index + 1;
        result(p, &r);
    }
    if (n < c->done) { /* halting now: records [next, n) succeeded */
        end = tpos;
        for (uint32_t i = next; i < n; i++) {
            const char *e = memchr(c->out.p + end, p->o.text_term,
                                   c->out.len - end);
            if (!e)
                break;
            end = (size_t)(e - c->out.p) + 1;
        }
    }
    text_span(p, c, &tpos, end, &next, n);
}

/* Hand the first c->done results of slot s to the caller (halting now,
 * none after the failure that halts), then free it. */
static void deliver(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    uint32_t n = c->done;
    if (p->halt_now && s == p->trigger_slot &&
        p->trigger.index - c->first + 1 < n)
        n = (uint32_t)(p->trigger.index - c->first + 1);
    if (p->o.text_results) {
        deliver_text(p, c, n);
        tp__chunk_free(p, s);
        return;
    }
    size_t ip = 0, op = 0;
    for (uint32_t i = 0; i < n && p->err == TP_ERR_NONE; i++) {
        const char *in;
        uint32_t ilen;
        struct tp__wire_res o;
        if (tp__wire_next_rec(c->in.p, c->in.len, &ip, &in, &ilen,
                             c->delim) != 1 ||
            tp__wire_next_res(c->out.p, c->out.len, &op, &o,
                             p->req_flags & TP_REQ_TIMES) != 1) {
            tp__pool_fail(p, TP_ERR_SYSTEM, "internal error: chunk %llu is "
                         "corrupt", (unsigned long long)c->seq);
            break;
        }
        struct tp_result r;
        wire_result(c, i, in, ilen, &o, &r);
        result(p, &r);
    }
    tp__chunk_free(p, s);
}

/* In input order: the head chunk, part by part, as each is done. */
static void emit(tp_pool *p)
{
    while (p->err == TP_ERR_NONE && p->emit_seq < p->next_seq) {
        unsigned at = (unsigned)(p->emit_seq % p->nslots);
        int s = p->order[at];
        if (p->c[s].state != C_DONE || p->c[s].seq != p->emit_seq)
            break;
        int next = p->c[s].next_part;
        deliver(p, s);
        if (p->halt_now && s == p->trigger_slot)
            break; /* nothing after the failure */
        if (next >= 0)
            p->order[at] = next;
        else
            p->emit_seq++;
    }
}

/* Halting now: what was complete when the failure came, and the failure
 * (in input order: up to the first input still running, and the
 * failure's own chunk up to it; unordered: the chunks that finished in
 * that round), then the run stops. */
static void halt_now(tp_pool *p, unsigned npend)
{
    if (!p->o.unordered) {
        emit(p);
        if (!p->trigger_done && p->err == TP_ERR_NONE &&
            p->emit_seq < p->next_seq &&
            p->order[p->emit_seq % p->nslots] == p->trigger_slot)
            deliver(p, p->trigger_slot);
    } else {
        for (unsigned i = 0; i < npend && p->err == TP_ERR_NONE; i++) {
            int s = p->pend[i];
            if (s == p->trigger_slot ||
                (p->c[s].state == C_DONE && p->c[s].fin == p->c[s].done))
                deliver(p, s);
        }
    }
    if (!p->trigger_done && p->err == TP_ERR_NONE && p->trigger_buf)
        result(p, &p->trigger);
    if (p->err == TP_ERR_NONE)
        p->err = TP_ERR_HALTED; /* p->msg says why (check_halt) */
}

void tp__deliver_news(tp_pool *p)
{
    unsigned n = p->npend;
    for (unsigned i = 0; i < n && live(p) && !p->halt_now; i++)
        complete(p, &p->c[p->pend[i]]);
    for (unsigned i = 0; i < n; i++)
        p->c[p->pend[i]].pending = 0;
    p->npend = 0;
    if (p->halt_now) {
        halt_now(p, n);
        return;
    }
    if (p->err != TP_ERR_NONE)
        return;
    if (!p->o.unordered) {
        emit(p);
        return;
    }
    for (unsigned i = 0; i < n && p->err == TP_ERR_NONE; i++)
        if (p->c[p->pend[i]].state == C_DONE)
            deliver(p, p->pend[i]);
}

static int by_first(const void *a, const void *b, void *arg)
{
    const struct chunk *c = arg;
    uint64_t x = c[*(const int *)a].first, y = c[*(const int *)b].first;
    return x < y ? -1 : x > y;
}

void tp__deliver_rest(tp_pool *p)
{
    tp__deliver_news(p);
    int *s = malloc(p->nslots * sizeof *s);
    unsigned n = 0;
    if (!s) {
        tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
        return;
    }
    for (unsigned i = 0; i < p->nslots; i++) {
        struct chunk *c = &p->c[i];
        if (c->state == C_FREE)
            continue;
        if (c->done > c->fin)
            complete(p, c);
        if (c->done)
            s[n++] = (int)i;
    }
    qsort_r(s, n, sizeof *s, by_first, p->c);
    for (unsigned i = 0; i < n && p->err == TP_ERR_NONE; i++)
        deliver(p, s[i]);
    free(s);
}
