/* The pool's API: records are packed into chunks held in a bounded window
 * of slots; finished chunks are delivered in input order (or as they
 * finish), and the halt policy is applied as outcomes are delivered.
 * Everything about workers is in sched.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool_impl.h"

#define MAX_CHUNK 8192           /* records per chunk (measured: see bench/README.md) */
#define CHUNK_BYTES (256u << 10) /* a chunk is sealed past this much input */
#define KEEP_BYTES (4u << 20)    /* slot buffers larger than this are freed */

int tp_pool_fail(tp_pool *p, enum tp_error e, const char *fmt, ...)
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

void tp_dq_push(tp_pool *p, int slot, int front)
{
    if (front) {
        p->dq_head = (p->dq_head + p->nslots - 1) % p->nslots;
        p->dq[p->dq_head] = slot;
    } else {
        p->dq[(p->dq_head + p->dq_len) % p->nslots] = slot;
    }
    p->dq_len++;
}

int tp_dq_pop(tp_pool *p)
{
    int s = p->dq[p->dq_head];
    p->dq_head = (p->dq_head + 1) % p->nslots;
    p->dq_len--;
    return s;
}

int tp_add_mark(struct chunk *c, uint32_t from, pid_t pid, unsigned attempts)
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

int tp_add_fail(struct chunk *c, const struct fail_hdr *f, const char *msg)
{
    if (tp_buf_reserve(&c->fails, sizeof *f + f->len) != 0)
        return -1;
    memcpy(c->fails.p + c->fails.len, f, sizeof *f);
    memcpy(c->fails.p + c->fails.len + sizeof *f, msg, f->len);
    c->fails.len += sizeof *f + f->len;
    return 0;
}

static void free_slot(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    c->state = C_FREE;
    c->n = c->done = 0;
    c->retry_at = c->stop_at = NO_REC;
    c->lost = 0;
    c->in.len = c->out.len = c->fails.len = 0;
    c->nmarks = 0;
    if (c->in.cap > KEEP_BYTES)
        tp_buf_free(&c->in);
    if (c->out.cap > KEEP_BYTES)
        tp_buf_free(&c->out);
    p->freel[p->nfree++] = s;
    p->inflight--;
}

static void check_halt(tp_pool *p)
{
    if (p->o.halt == TP_HALT_NEVER || p->halting)
        return;
    if (p->o.halt_fail_pct > 0) {
        uint64_t total = p->o.expected   ? p->o.expected
                         : p->input_done ? p->next_index
                                         : p->delivered;
        if ((double)p->failed * 100 < p->o.halt_fail_pct * (double)total)
            return;
    } else if (p->failed < (p->o.halt_fail ? p->o.halt_fail : 1)) {
        return;
    }
    if (p->o.halt == TP_HALT_NOW) {
        tp_pool_fail(p, TP_ERR_HALTED, "halted: %llu input%s failed",
                     (unsigned long long)p->failed, p->failed == 1 ? "" : "s");
    } else {
        snprintf(p->msg, sizeof p->msg, "halted: %llu input%s failed",
                 (unsigned long long)p->failed, p->failed == 1 ? "" : "s");
        p->halting = 1;
    }
}

static void count_failure(tp_pool *p, uint32_t status)
{
    if (status != TP_RESULT_OK) {
        p->failed++;
        check_halt(p);
    }
}

/* Text mode: the text of records [*next, upto) of slot s, up to text_off. */
static void text_span(tp_pool *p, struct chunk *c, size_t *tpos,
                      size_t text_off, uint32_t *next, uint32_t upto)
{
    if (upto > *next && p->err == TP_ERR_NONE) {
        p->delivered += upto - *next;
        if (p->cb.text(p->cb.arg, c->out.p + *tpos, text_off - *tpos,
                       upto - *next) != 0)
            tp_pool_fail(p, TP_ERR_STOPPED, "stopped by the text callback");
    }
    *tpos = text_off;
    *next = upto;
}

/* Text mode: deliver the first c->done records of slot s: runs of text,
 * and each failed record on its own, in order. */
static void deliver_text(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    size_t tpos = 0, fpos = 0, ip = 0;
    uint32_t next = 0, irec = 0, ilen = 0;
    const char *in = NULL;
    while (fpos < c->fails.len && p->err == TP_ERR_NONE) {
        struct fail_hdr f;
        memcpy(&f, c->fails.p + fpos, sizeof f);
        const char *msg = c->fails.p + fpos + sizeof f;
        fpos += sizeof f + f.len;
        if (f.index >= c->done)
            break;
        text_span(p, c, &tpos, f.text_off, &next, f.index);
        while (p->err == TP_ERR_NONE && irec <= f.index) {
            if (tp_wire_next_rec(c->in.p, c->in.len, &ip, &in, &ilen,
                                 c->delim) != 1) {
                tp_pool_fail(p, TP_ERR_SYSTEM, "internal error: chunk %llu "
                             "is corrupt", (unsigned long long)c->seq);
                break;
            }
            irec++;
        }
        if (p->err != TP_ERR_NONE)
            break;
        struct tp_result r = {
            .index = c->first + f.index,
            .status = (enum tp_status)f.status,
            .input = in,
            .input_len = ilen,
            .data = msg,
            .len = f.len,
            .worker = f.pid,
            .attempts = f.attempts,
        };
        p->delivered++;
        next = f.index + 1;
        if (p->cb.result(p->cb.arg, &r) != 0)
            tp_pool_fail(p, TP_ERR_STOPPED, "stopped by the result callback");
        count_failure(p, f.status);
    }
    text_span(p, c, &tpos, c->out.len, &next, c->done);
    free_slot(p, s);
}

/* Hand the first c->done results of slot s to the caller, then free it. */
static void deliver(tp_pool *p, int s)
{
    if (p->o.text_results) {
        deliver_text(p, s);
        return;
    }
    struct chunk *c = &p->c[s];
    size_t ip = 0, op = 0, m = 0;
    for (uint32_t i = 0; i < c->done && p->err == TP_ERR_NONE; i++) {
        const char *in;
        uint32_t ilen;
        struct tp_wire_res o;
        if (tp_wire_next_rec(c->in.p, c->in.len, &ip, &in, &ilen,
                             c->delim) != 1 ||
            tp_wire_next_res(c->out.p, c->out.len, &op, &o,
                             p->req_flags & TP_REQ_TIMES) != 1) {
            tp_pool_fail(p, TP_ERR_SYSTEM, "internal error: chunk %llu is "
                         "corrupt", (unsigned long long)c->seq);
            break;
        }
        while (m + 1 < c->nmarks && c->marks[m + 1].from <= i)
            m++;
        struct tp_result r = {
            .index = c->first + i,
            .status = (enum tp_status)o.status,
            .input = in,
            .input_len = ilen,
            .data = o.rec,
            .len = o.len,
            .worker = c->nmarks ? c->marks[m].pid : 0,
            .attempts = c->nmarks && c->marks[m].from == i
                            ? c->marks[m].attempts : 1,
            .usec = o.usec,
            .start_ns = o.start_ns,
        };
        p->delivered++;
        if (p->cb.result(p->cb.arg, &r) != 0)
            tp_pool_fail(p, TP_ERR_STOPPED, "stopped by the result callback");
        count_failure(p, o.status);
    }
    free_slot(p, s);
}

static void emit(tp_pool *p)
{
    while (p->err == TP_ERR_NONE && p->emit_seq < p->next_seq) {
        int s = p->order[p->emit_seq % p->nslots];
        if (p->c[s].state != C_DONE || p->c[s].seq != p->emit_seq)
            break;
        p->emit_seq++;
        deliver(p, s);
    }
}

void tp_chunk_done(tp_pool *p, int s)
{
    p->c[s].state = C_DONE;
    if (p->o.unordered)
        deliver(p, s);
    else
        emit(p);
}

static void seal(tp_pool *p)
{
    int s = p->fill;
    p->fill = -1;
    p->c[s].state = C_QUEUED;
    tp_dq_push(p, s, 0);
    tp_sched_dispatch(p);
}

/* Stopped for good, or halting soon (tp_pool_error tells which). */
static int stopped(const tp_pool *p)
{
    return p->err != TP_ERR_NONE || p->halting;
}

/* Make sure a chunk of the given body form is being filled. */
static int filling(tp_pool *p, int delim)
{
    if (p->fill >= 0 && p->c[p->fill].delim != delim)
        seal(p);
    if (p->fill >= 0)
        return 0;
    while (p->nfree == 0) {
        if (tp_sched_run_once(p, -1) < 0 || p->halting)
            return -1;
    }
    int s = p->freel[--p->nfree];
    struct chunk *c = &p->c[s];
    /* a slot's buffers are sized once, not grown record by record: fewer
     * copies, and memory that does not creep with the input */
    if (c->in.cap < CHUNK_BYTES + 4096 &&
        tp_buf_reserve(&c->in, CHUNK_BYTES + 4096) != 0)
        return tp_pool_fail(p, TP_ERR_SYSTEM, "out of memory");
    if (c->out.cap < CHUNK_BYTES + 4096 &&
        tp_buf_reserve(&c->out, CHUNK_BYTES + 4096) != 0)
        return tp_pool_fail(p, TP_ERR_SYSTEM, "out of memory");
    c->state = C_FILLING;
    c->seq = p->next_seq++;
    c->first = p->next_index;
    c->delim = delim;
    p->order[c->seq % p->nslots] = s;
    p->inflight++;
    p->fill = s;
    return 0;
}

int tp_pool_feed(tp_pool *p, const void *rec, size_t len)
{
    if (stopped(p))
        return -1;
    if (len > TP_RECORD_MAX)
        return tp_pool_fail(p, TP_ERR_INPUT, "input %llu: record of %zu "
                            "bytes exceeds the limit of %llu bytes",
                            (unsigned long long)p->next_index + 1, len,
                            (unsigned long long)TP_RECORD_MAX);
    if (filling(p, -1) != 0)
        return -1;
    struct chunk *c = &p->c[p->fill];
    if (c->n && c->in.len + TP_WIRE_REQ_REC + len > TP_WIRE_MAX_BODY) {
        seal(p);
        return tp_pool_feed(p, rec, len);
    }
    if (tp_buf_reserve(&c->in, TP_WIRE_REQ_REC + len + 1) != 0)
        return tp_pool_fail(p, TP_ERR_SYSTEM, "out of memory");
    char *d = c->in.p + c->in.len;
    tp_put32(d, (uint32_t)len);
    if (len)
        memcpy(d + TP_WIRE_REQ_REC, rec, len);
    c->in.len += TP_WIRE_REQ_REC + len;
    c->n++;
    p->next_index++;
    if (c->n >= p->target || c->in.len >= CHUNK_BYTES)
        seal(p);
    return 0;
}

int tp_pool_feed_records(tp_pool *p, const void *buf, size_t len, char delim)
{
    const char *b = buf;
    int d = (unsigned char)delim;
    while (len) {
        if (stopped(p) || filling(p, d) != 0)
            return -1;
        struct chunk *c = &p->c[p->fill];
        /* as many whole records as the chunk takes, counted in one pass
         * over the bytes (cheaper than a memchr per short record), then
         * copied at once */
        size_t budget = c->in.len < CHUNK_BYTES ? CHUNK_BYTES - c->in.len : 0;
        size_t lim = len < budget ? len : budget, take = 0, from = 0;
        uint32_t k = 0, room = p->target > c->n ? p->target - c->n : 0;
        size_t i = 0;
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* eight bytes at a time while a whole word's delimiters still fit:
         * ~(((x & 7f..) + 7f..) | x | 7f..) marks exactly the zero bytes */
        const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full;
        const uint64_t pat = 0x0101010101010101ull * (unsigned char)d;
        for (; i + 8 <= lim && k + 8 <= room && i - from <= TP_RECORD_MAX;
             i += 8) {
            uint64_t x;
            memcpy(&x, b + i, 8);
            x ^= pat;
            uint64_t z = ~(((x & lo7) + lo7) | x | lo7);
            if (z) {
                k += (uint32_t)__builtin_popcountll(z);
                from = take = i + (size_t)(63 - __builtin_clzll(z)) / 8 + 1;
            }
        }
#endif
        for (; i < lim && k < room; i++) {
            if (b[i] != (char)d)
                continue;
            if (i - from > TP_RECORD_MAX)
                break;
            from = take = i + 1;
            k++;
        }
        if (!k && !c->n) { /* one record longer than a chunk's budget */
            const char *e = memchr(b, d, len);
            if (!e)
                return tp_pool_fail(p, TP_ERR_USAGE, "unterminated record "
                                    "given to tp_pool_feed_records");
            take = (size_t)(e - b) + 1;
            k = 1;
        }
        if (k == 1 && take - 1 > TP_RECORD_MAX)
            return tp_pool_fail(p, TP_ERR_INPUT, "input %llu: record of %zu "
                                "bytes exceeds the limit of %llu bytes",
                                (unsigned long long)p->next_index + 1,
                                take - 1, (unsigned long long)TP_RECORD_MAX);
        if (k) {
            if (tp_buf_reserve(&c->in, take + 1) != 0)
                return tp_pool_fail(p, TP_ERR_SYSTEM, "out of memory");
            memcpy(c->in.p + c->in.len, b, take);
            c->in.len += take;
            c->n += k;
            p->next_index += k;
            b += take;
            len -= take;
        }
        if (!k || c->n >= p->target || c->in.len >= CHUNK_BYTES)
            seal(p);
    }
    return 0;
}

uint64_t tp_pool_fed(const tp_pool *p) { return p->next_index; }

int tp_pool_wait_fd(tp_pool *p, int fd)
{
    if (stopped(p))
        return -1;
    if (p->fill >= 0)
        seal(p);
    for (;;) {
        if (p->inflight == 0) {
            if (p->cb.idle && p->cb.idle(p->cb.arg) != 0)
                return tp_pool_fail(p, TP_ERR_STOPPED,
                                    "stopped by the idle callback");
            return 0;
        }
        int r = tp_sched_run_once(p, fd);
        if (r != 0 || p->halting)
            return r < 0 || stopped(p) ? -1 : 0;
    }
}

/* Halting soon: let what workers have finish, then deliver every result
 * there is, in order, and no more. */
static int finish_halting(tp_pool *p)
{
    if (p->fill >= 0) {
        p->c[p->fill].state = C_QUEUED;
        p->fill = -1;
    }
    while (p->err == TP_ERR_NONE && tp_sched_busy(p))
        if (tp_sched_run_once(p, -1) < 0)
            return -1;
    for (uint64_t q = p->emit_seq; q < p->next_seq && p->err == TP_ERR_NONE;
         q++) {
        int s = p->order[q % p->nslots];
        if (p->c[s].seq == q && p->c[s].state != C_FREE)
            deliver(p, s);
    }
    if (p->err == TP_ERR_NONE && p->cb.idle && p->cb.idle(p->cb.arg) != 0)
        return tp_pool_fail(p, TP_ERR_STOPPED, "stopped by the idle callback");
    p->err = p->err == TP_ERR_NONE ? TP_ERR_HALTED : p->err;
    return -1;
}

int tp_pool_finish(tp_pool *p)
{
    p->input_done = 1;
    if (p->err != TP_ERR_NONE)
        return -1;
    if (p->halting)
        return finish_halting(p);
    if (p->fill >= 0)
        seal(p);
    while (p->inflight) {
        if (tp_sched_run_once(p, -1) < 0)
            return -1;
        if (p->halting)
            return finish_halting(p);
    }
    if (p->cb.idle && p->cb.idle(p->cb.arg) != 0)
        return tp_pool_fail(p, TP_ERR_STOPPED, "stopped by the idle callback");
    return 0;
}

enum tp_error tp_pool_error(const tp_pool *p, const char **msg)
{
    if (msg)
        *msg = p->msg;
    return p->err == TP_ERR_NONE && p->halting ? TP_ERR_HALTED : p->err;
}

void tp_pool_close(tp_pool *p)
{
    if (!p)
        return;
    tp_sched_stop(p);
    for (unsigned i = 0; p->c && i < p->nslots; i++) {
        tp_buf_free(&p->c[i].in);
        tp_buf_free(&p->c[i].out);
        tp_buf_free(&p->c[i].fails);
        free(p->c[i].marks);
    }
    free(p->w);
    free(p->c);
    free(p->freel);
    free(p->dq);
    free(p->order);
    free(p->pfd);
    free(p->samples);
    free(p->file);
    free(p->task);
    free(p);
}

int tp_pool_open(tp_pool **out, const char *spec,
                 const struct tp_pool_options *opt,
                 const struct tp_pool_callbacks *cb, char *err,
                 size_t errlen)
{
    *out = NULL;
    if (!cb || !cb->result) {
        snprintf(err, errlen, "no result callback");
        return TP_ERR_USAGE;
    }
    tp_pool *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return TP_ERR_SYSTEM;
    }
    if (opt)
        p->o = *opt;
    p->cb = *cb;
    p->fill = -1;
    if (p->o.text_results && !p->cb.text) {
        free(p);
        snprintf(err, errlen, "text_results needs a text callback");
        return TP_ERR_USAGE;
    }
    int r = tp_load_spec(p, spec, err, errlen);
    if (r != 0) {
        tp_pool_close(p);
        return r;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    p->jobs = p->o.jobs ? p->o.jobs : ncpu > 0 ? (unsigned)ncpu : 1;
    p->nslots = p->jobs * (DEPTH + 1) + 1;
    p->cap = MAX_CHUNK;
    if (p->o.expected) {
        uint64_t per = (p->o.expected + 4 * p->jobs - 1) / (4 * p->jobs);
        if (per < p->cap)
            p->cap = (unsigned)per;
    }
    p->target = p->o.chunk ? p->o.chunk : 1;
    if (p->o.measure || p->o.timeout > 0 || p->o.timeout_pct > 0)
        p->req_flags |= TP_REQ_TIMES;
    if (p->o.text_results)
        p->req_flags |= TP_REQ_TEXT |
                        (uint32_t)(unsigned char)p->o.text_term << 16;
    p->w = calloc(p->jobs, sizeof *p->w);
    p->c = calloc(p->nslots, sizeof *p->c);
    p->freel = calloc(p->nslots, sizeof *p->freel);
    p->dq = calloc(p->nslots, sizeof *p->dq);
    p->order = calloc(p->nslots, sizeof *p->order);
    p->pfd = calloc(p->jobs + 2, sizeof *p->pfd);
    p->samples = calloc(SAMPLES, sizeof *p->samples);
    if (!p->w || !p->c || !p->freel || !p->dq || !p->order || !p->pfd ||
        !p->samples) {
        tp_pool_close(p);
        snprintf(err, errlen, "out of memory");
        return TP_ERR_SYSTEM;
    }
    for (unsigned i = 0; i < p->nslots; i++) {
        p->freel[p->nfree++] = (int)(p->nslots - 1 - i);
        p->c[i].retry_at = p->c[i].stop_at = NO_REC;
    }
    r = tp_sched_start(p, err, errlen);
    if (r != 0) {
        tp_pool_close(p);
        return r;
    }
    *out = p;
    return 0;
}
