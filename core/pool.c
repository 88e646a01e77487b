/* The scheduler: records are packed into chunks, chunks are queued to
 * workers (DEPTH at a time, so a worker never waits for the host), results
 * come back per chunk and are delivered in order from a bounded window of
 * chunk slots.  A worker that dies or breaks the protocol fails the input it
 * was running; the rest of its chunks go to the front of the queue and a
 * fresh worker takes its place. */
#include "taskpool/pool.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "loader.h"
#include "transport.h"
#include "wire.h"

#define DEPTH 2                  /* chunks queued per worker */
#define MAX_CHUNK 8192           /* records per chunk */
#define CHUNK_BYTES (256u << 10) /* a chunk is sealed past this much input */
#define TARGET_NS 2e6            /* adaptive chunks aim at 2 ms of work */
#define KEEP_BYTES (4u << 20)    /* slot buffers larger than this are freed */

enum cstate { C_FREE, C_FILLING, C_QUEUED, C_SENT, C_DONE };

/* From record `from` on, results came from pid; `from` took `attempts`. */
struct mark {
    uint32_t from;
    pid_t pid;
    unsigned attempts;
};

#define NO_STOP UINT32_MAX

struct chunk {
    uint64_t seq, first;
    uint32_t n, done;   /* records; results received or recorded */
    uint32_t until;     /* the current dispatch ends before this record */
    uint32_t stop_at;   /* record that killed a worker, or NO_STOP */
    enum tp_status stop_status;
    pid_t stop_pid;
    char stop_msg[512];
    size_t body_from, body_until; /* request body range being sent */
    enum cstate state;
    struct tp_buf in;   /* request body: u32 len + bytes per record */
    struct tp_buf out;  /* result records, as on the wire */
    unsigned char hdr[TP_WIRE_HDR];
    struct mark *marks;
    size_t nmarks, capmarks;
    uint64_t t_sent;
};

struct worker {
    struct tp_link link;
    int ready;
    int q[DEPTH];         /* chunk slots sent or being sent, oldest first */
    unsigned nq, nsent;   /* queued; fully written */
    size_t send_off;      /* bytes of q[nsent]'s frame written */
    unsigned char rhdr[TP_WIRE_HDR];
    size_t rgot;
    struct tp_frame rf;
    int in_body;
    uint64_t bgot;
    struct tp_buf fatal;  /* body of a FATAL frame */
    uint64_t answered;    /* results received from this worker */
    uint64_t t_free;      /* when it last finished a chunk */
};

struct tp_pool {
    struct tp_pool_options o;
    struct tp_pool_callbacks cb;
    struct tp_worker_spec spec;
    char *file, *task;
    unsigned jobs, nslots;
    struct worker *w;
    struct chunk *c;
    int *freel, *dq, *order;
    unsigned nfree, dq_head, dq_len, inflight;
    uint64_t next_seq, emit_seq, next_index;
    int fill;
    unsigned target, cap;
    double ns_per_item;
    struct pollfd *pfd;
    enum tp_error err;
    char msg[4096];
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

__attribute__((format(printf, 3, 4))) static int
fail(tp_pool *p, enum tp_error e, const char *fmt, ...)
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

static void dq_push(tp_pool *p, int slot, int front)
{
    if (front) {
        p->dq_head = (p->dq_head + p->nslots - 1) % p->nslots;
        p->dq[p->dq_head] = slot;
    } else {
        p->dq[(p->dq_head + p->dq_len) % p->nslots] = slot;
    }
    p->dq_len++;
}

static int dq_pop(tp_pool *p)
{
    int s = p->dq[p->dq_head];
    p->dq_head = (p->dq_head + 1) % p->nslots;
    p->dq_len--;
    return s;
}

static int add_mark(struct chunk *c, uint32_t from, pid_t pid,
                    unsigned attempts)
{
    if (c->nmarks && c->marks[c->nmarks - 1].pid == pid &&
        attempts == 1)
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

static void free_slot(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    c->state = C_FREE;
    c->n = c->done = 0;
    c->stop_at = NO_STOP;
    c->in.len = c->out.len = 0;
    c->nmarks = 0;
    if (c->in.cap > KEEP_BYTES)
        tp_buf_free(&c->in);
    if (c->out.cap > KEEP_BYTES)
        tp_buf_free(&c->out);
    p->freel[p->nfree++] = s;
    p->inflight--;
}

/* Hand a finished chunk's results to the caller, in record order. */
static void deliver(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    size_t ip = 0, op = 0, m = 0;
    for (uint32_t i = 0; i < c->n && p->err == TP_ERR_NONE; i++) {
        const char *in, *out;
        uint32_t ilen, olen, st, us;
        if (tp_wire_next_req(c->in.p, c->in.len, &ip, &in, &ilen) != 1 ||
            tp_wire_next_res(c->out.p, c->out.len, &op, &out, &olen, &st,
                             &us) != 1) {
            fail(p, TP_ERR_SYSTEM, "internal error: chunk %llu is corrupt",
                 (unsigned long long)c->seq);
            break;
        }
        while (m + 1 < c->nmarks && c->marks[m + 1].from <= i)
            m++;
        struct tp_result r = {
            .index = c->first + i,
            .status = (enum tp_status)st,
            .input = in,
            .input_len = ilen,
            .data = out,
            .len = olen,
            .worker = c->nmarks ? c->marks[m].pid : 0,
            .attempts = c->nmarks && c->marks[m].from == i
                            ? c->marks[m].attempts : 1,
        };
        if (p->cb.result(p->cb.arg, &r) != 0)
            fail(p, TP_ERR_STOPPED, "stopped by the result callback");
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

static void chunk_done(tp_pool *p, int s)
{
    p->c[s].state = C_DONE;
    if (p->o.unordered)
        deliver(p, s);
    else
        emit(p);
}

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

static void dispatch(tp_pool *p)
{
    while (p->dq_len) {
        struct worker *best = NULL;
        for (unsigned i = 0; i < p->jobs; i++) {
            struct worker *w = &p->w[i];
            if (w->link.fd >= 0 && w->nq < DEPTH &&
                (!best || w->nq < best->nq))
                best = w;
        }
        if (!best)
            return;
        int s = dq_pop(p);
        struct chunk *c = &p->c[s];
        c->until = c->stop_at < c->n ? c->stop_at : c->n;
        c->body_from = 0;
        c->body_until = c->in.len;
        if (c->done || c->until < c->n) {
            size_t pos = 0;
            const char *r;
            uint32_t l;
            for (uint32_t i = 0; i < c->until; i++) {
                if (i == c->done)
                    c->body_from = pos;
                tp_wire_next_req(c->in.p, c->in.len, &pos, &r, &l);
            }
            c->body_until = pos;
        }
        tp_wire_put_hdr(c->hdr, TP_FRAME_REQUEST, c->until - c->done, 0,
                        c->body_until - c->body_from);
        c->state = C_SENT;
        c->t_sent = now_ns();
        if (best->nq == 0)
            best->t_free = c->t_sent;
        best->q[best->nq++] = s;
        try_send(p, best);
    }
}

static void adapt(tp_pool *p, struct chunk *c, struct worker *w)
{
    uint64_t t = now_ns(), from = c->t_sent > w->t_free ? c->t_sent : w->t_free;
    w->t_free = t;
    if (p->o.chunk)
        return;
    double per = (double)(t - from) / (c->n - c->done + 1);
    p->ns_per_item = p->ns_per_item > 0 ? 0.7 * p->ns_per_item + 0.3 * per
                                        : per;
    double want = TARGET_NS / (p->ns_per_item > 1 ? p->ns_per_item : 1);
    p->target = want >= p->cap ? p->cap : want < 1 ? 1 : (unsigned)want;
}

static void reset_rx(struct worker *w)
{
    w->rgot = 0;
    w->in_body = 0;
    w->bgot = 0;
    w->fatal.len = 0;
}

/* Record a host-made outcome for record c->done. */
static int record_fail(tp_pool *p, struct chunk *c, enum tp_status st,
                       const char *msg, pid_t pid)
{
    size_t n = strlen(msg);
    if (tp_buf_reserve(&c->out, TP_WIRE_RES_REC + n) != 0 ||
        add_mark(c, c->done, pid, 1) != 0)
        return fail(p, TP_ERR_SYSTEM, "out of memory");
    char *o = c->out.p + c->out.len;
    tp_put32(o, (uint32_t)n);
    tp_put32(o + 4, (uint32_t)st);
    tp_put32(o + 8, 0);
    memcpy(o + TP_WIRE_RES_REC, msg, n);
    c->out.len += TP_WIRE_RES_REC + n;
    c->done++;
    return 0;
}

/* A dispatch of chunk s ended (all its results are in, or its worker is
 * gone): record a pending failure, then finish or requeue the chunk. */
static void dispatch_ended(tp_pool *p, int s)
{
    struct chunk *c = &p->c[s];
    if (c->stop_at == c->done) {
        if (record_fail(p, c, c->stop_status, c->stop_msg, c->stop_pid) != 0)
            return;
        c->stop_at = NO_STOP;
    }
    if (c->done == c->n) {
        chunk_done(p, s);
    } else {
        c->state = C_QUEUED;
        dq_push(p, s, 1);
    }
}

/* The worker is gone or must go: blame the input it was running, send the
 * rest of its work elsewhere, start a fresh worker. */
static void worker_lost(tp_pool *p, struct worker *w, enum tp_status why,
                        const char *detail)
{
    pid_t pid = w->link.pid;
    uint64_t started = tp_link_started(&w->link);
    int st = 0;
    char how[256], msg[1024];
    if (w->fatal.len)
        snprintf(msg, sizeof msg, "%.*s", (int)w->fatal.len, w->fatal.p);
    else
        msg[0] = 0;
    tp_link_stop(&w->link, 1, &st);
    tp_describe_wait(st, how, sizeof how);
    if (msg[0]) {
        fail(p, TP_ERR_INIT, "%s", msg);
        return;
    }
    if (!w->ready) {
        if (why == TP_RESULT_PROTOCOL)
            fail(p, TP_ERR_INIT, "worker %d: protocol error: %s", (int)pid,
                 detail);
        else
            fail(p, TP_ERR_INIT, "worker %d %s while starting", (int)pid,
                 how);
        return;
    }
    int q[DEPTH];
    unsigned nq = w->nq, nsent = w->nsent;
    memcpy(q, w->q, sizeof q);
    reset_rx(w);
    w->nq = w->nsent = 0;
    w->send_off = 0;
    w->ready = 0;
    for (unsigned i = nq; i-- > 1;) {
        p->c[q[i]].state = C_QUEUED;
        dq_push(p, q[i], 1);
    }
    if (nq) {
        /* Results travel in batches: the progress counter says which
         * input of q[0] was running; those before it ran, but their
         * results died with the worker and run again. */
        struct chunk *c = &p->c[q[0]];
        uint64_t k = started - w->answered - 1;
        if (nsent && started > w->answered && k < c->until - c->done) {
            c->stop_at = c->done + (uint32_t)k;
            c->stop_status = why;
            c->stop_pid = pid;
            if (why == TP_RESULT_PROTOCOL)
                snprintf(c->stop_msg, sizeof c->stop_msg,
                         "worker %d: protocol error: %s", (int)pid, detail);
            else
                snprintf(c->stop_msg, sizeof c->stop_msg, "worker %d %s",
                         (int)pid, how);
        }
        dispatch_ended(p, q[0]);
    }
    w->answered = 0;
    if (p->err == TP_ERR_NONE &&
        tp_link_start(&w->link, &p->spec, how, sizeof how) != 0) {
        fail(p, TP_ERR_SYSTEM, "%s", how);
        return;
    }
    dispatch(p);
}

/* A complete RESULT body sits at c->out.p + c->out.len; check and take it. */
static int take_results(tp_pool *p, struct worker *w, char *why, size_t len)
{
    struct chunk *c = &p->c[w->q[0]];
    const char *body = c->out.p + c->out.len;
    size_t pos = 0, blen = (size_t)w->rf.len;
    uint32_t k = 0, l, st, us;
    const char *r;
    int m;
    while ((m = tp_wire_next_res(body, blen, &pos, &r, &l, &st, &us)) == 1) {
        if (st > TP_WS_ERROR) {
            snprintf(why, len, "result with unknown status %u", (unsigned)st);
            return -1;
        }
        k++;
    }
    if (m < 0 || k != w->rf.count) {
        snprintf(why, len, "malformed result frame (%u records declared, "
                 "%u found)", (unsigned)w->rf.count, (unsigned)k);
        return -1;
    }
    if (add_mark(c, c->done, w->link.pid, 1) != 0) {
        fail(p, TP_ERR_SYSTEM, "out of memory");
        return 0;
    }
    c->out.len += blen;
    c->done += k;
    w->answered += k;
    if (c->done == c->until) {
        int s = w->q[0];
        if (c->until == c->n && c->stop_at == NO_STOP)
            adapt(p, c, w);
        memmove(w->q, w->q + 1, (--w->nq) * sizeof *w->q);
        w->nsent--;
        dispatch_ended(p, s);
        dispatch(p);
    }
    return 0;
}

/* Read what the worker sent: headers, then bodies straight into place. */
static void on_readable(tp_pool *p, struct worker *w)
{
    char why[512];
    while (w->link.fd >= 0 && p->err == TP_ERR_NONE) {
        ssize_t r;
        if (!w->in_body) {
            r = tp_link_recv(&w->link, w->rhdr + w->rgot,
                             TP_WIRE_HDR - w->rgot);
            if (r > 0 && (w->rgot += (size_t)r) == TP_WIRE_HDR) {
                struct tp_frame *f = &w->rf;
                if (tp_wire_get_hdr(w->rhdr, f, why, sizeof why) != 0)
                    return worker_lost(p, w, TP_RESULT_PROTOCOL, why);
                if (f->type == TP_FRAME_READY) {
                    if (w->ready)
                        return worker_lost(p, w, TP_RESULT_PROTOCOL,
                                           "unexpected READY frame");
                    w->ready = 1;
                    w->rgot = 0;
                    continue;
                }
                if (f->type == TP_FRAME_RESULT) {
                    struct chunk *c = w->nsent ? &p->c[w->q[0]] : NULL;
                    if (!c || f->count == 0 || f->count > c->until - c->done)
                        return worker_lost(p, w, TP_RESULT_PROTOCOL,
                                           "unexpected result frame");
                    if (tp_buf_reserve(&c->out, (size_t)f->len) != 0) {
                        fail(p, TP_ERR_SYSTEM, "out of memory");
                        return;
                    }
                } else if (f->type == TP_FRAME_FATAL) {
                    if (tp_buf_reserve(&w->fatal, (size_t)f->len) != 0) {
                        fail(p, TP_ERR_SYSTEM, "out of memory");
                        return;
                    }
                } else {
                    return worker_lost(p, w, TP_RESULT_PROTOCOL,
                                       "unexpected request frame");
                }
                w->in_body = 1;
                w->bgot = 0;
            }
        } else {
            char *dst = w->rf.type == TP_FRAME_FATAL
                            ? w->fatal.p
                            : p->c[w->q[0]].out.p + p->c[w->q[0]].out.len;
            size_t want = (size_t)(w->rf.len - w->bgot);
            r = want ? tp_link_recv(&w->link, dst + w->bgot, want) : 0;
            if (r > 0)
                w->bgot += (uint64_t)r;
            if (w->bgot == w->rf.len) {
                if (w->rf.type == TP_FRAME_FATAL) {
                    w->fatal.len = (size_t)w->rf.len;
                    return worker_lost(p, w, TP_RESULT_CRASHED, NULL);
                }
                w->in_body = 0;
                w->rgot = 0;
                if (take_results(p, w, why, sizeof why) != 0)
                    return worker_lost(p, w, TP_RESULT_PROTOCOL, why);
                continue;
            }
        }
        if (r == 0)
            return worker_lost(p, w, TP_RESULT_CRASHED, NULL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            return worker_lost(p, w, TP_RESULT_CRASHED, NULL);
        }
    }
}

/* One round of poll.  Returns 1 if extra_fd became readable, 0 if not, -1
 * on error. */
static int run_once(tp_pool *p, int extra_fd)
{
    unsigned n = 0;
    for (unsigned i = 0; i < p->jobs; i++) {
        struct worker *w = &p->w[i];
        p->pfd[n].fd = w->link.fd;
        p->pfd[n].events = POLLIN | (w->nsent < w->nq ? POLLOUT : 0);
        p->pfd[n].revents = 0;
        n++;
    }
    if (extra_fd >= 0)
        p->pfd[n++] = (struct pollfd){extra_fd, POLLIN, 0};
    int r = poll(p->pfd, n, 0);
    if (r == 0) {
        if (p->cb.idle && p->cb.idle(p->cb.arg) != 0)
            return fail(p, TP_ERR_STOPPED, "stopped by the idle callback");
        r = poll(p->pfd, n, -1);
    }
    if (r < 0) {
        if (errno == EINTR)
            return 0;
        return fail(p, TP_ERR_SYSTEM, "poll: %s", strerror(errno));
    }
    for (unsigned i = 0; i < p->jobs && p->err == TP_ERR_NONE; i++) {
        struct worker *w = &p->w[i];
        short ev = p->pfd[i].revents;
        if (p->pfd[i].fd != w->link.fd)
            continue; /* replaced during this round */
        if (ev & POLLOUT)
            try_send(p, w);
        if (ev & (POLLIN | POLLHUP | POLLERR))
            on_readable(p, w);
    }
    if (p->err != TP_ERR_NONE)
        return -1;
    return extra_fd >= 0 && p->pfd[n - 1].revents ? 1 : 0;
}

static void seal(tp_pool *p)
{
    int s = p->fill;
    p->fill = -1;
    p->c[s].state = C_QUEUED;
    dq_push(p, s, 0);
    dispatch(p);
}

int tp_pool_feed(tp_pool *p, const void *rec, size_t len)
{
    if (p->err != TP_ERR_NONE)
        return -1;
    if (len > TP_RECORD_MAX)
        return fail(p, TP_ERR_INPUT, "input %llu: record of %zu bytes exceeds "
                    "the limit of %llu bytes",
                    (unsigned long long)p->next_index + 1, len,
                    (unsigned long long)TP_RECORD_MAX);
    if (p->fill < 0) {
        while (p->nfree == 0)
            if (run_once(p, -1) < 0)
                return -1;
        int s = p->freel[--p->nfree];
        struct chunk *c = &p->c[s];
        c->state = C_FILLING;
        c->seq = p->next_seq++;
        c->first = p->next_index;
        p->order[c->seq % p->nslots] = s;
        p->inflight++;
        p->fill = s;
    }
    struct chunk *c = &p->c[p->fill];
    if (c->in.len + TP_WIRE_REQ_REC + len > TP_WIRE_MAX_BODY) {
        seal(p);
        return tp_pool_feed(p, rec, len);
    }
    if (tp_buf_reserve(&c->in, TP_WIRE_REQ_REC + len + 1) != 0)
        return fail(p, TP_ERR_SYSTEM, "out of memory");
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

int tp_pool_wait_fd(tp_pool *p, int fd)
{
    if (p->err != TP_ERR_NONE)
        return -1;
    if (p->fill >= 0)
        seal(p);
    for (;;) {
        if (p->inflight == 0) {
            if (p->cb.idle && p->cb.idle(p->cb.arg) != 0)
                return fail(p, TP_ERR_STOPPED, "stopped by the idle callback");
            return 0;
        }
        int r = run_once(p, fd);
        if (r != 0)
            return r < 0 ? -1 : 0;
    }
}

int tp_pool_finish(tp_pool *p)
{
    if (p->err != TP_ERR_NONE)
        return -1;
    if (p->fill >= 0)
        seal(p);
    while (p->inflight)
        if (run_once(p, -1) < 0)
            return -1;
    if (p->cb.idle && p->cb.idle(p->cb.arg) != 0)
        return fail(p, TP_ERR_STOPPED, "stopped by the idle callback");
    return 0;
}

enum tp_error tp_pool_error(const tp_pool *p, const char **msg)
{
    if (msg)
        *msg = p->msg;
    return p->err;
}

void tp_pool_close(tp_pool *p)
{
    if (!p)
        return;
    int busy = p->inflight != 0 || p->err != TP_ERR_NONE;
    for (unsigned i = 0; p->w && i < p->jobs; i++) {
        if (p->w[i].link.pid > 0 || p->w[i].link.fd >= 0)
            tp_link_stop(&p->w[i].link, busy || p->w[i].nq, NULL);
        tp_buf_free(&p->w[i].fatal);
    }
    for (unsigned i = 0; p->c && i < p->nslots; i++) {
        tp_buf_free(&p->c[i].in);
        tp_buf_free(&p->c[i].out);
        free(p->c[i].marks);
    }
    free(p->w);
    free(p->c);
    free(p->freel);
    free(p->dq);
    free(p->order);
    free(p->pfd);
    free(p->file);
    free(p->task);
    free(p);
}

const char *tp_plugin_dir(void) { return TP_PLUGINDIR; }

/* dirs = path..., installed dir, NULL.  Caller frees the array only. */
static const char **search_dirs(const char *const *path)
{
    size_t n = 0;
    while (path && path[n])
        n++;
    const char **d = calloc(n + 2, sizeof *d);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++)
        d[i] = path[i];
    d[n] = TP_PLUGINDIR;
    return d;
}

static int load_spec(tp_pool *p, const char *spec, char *err, size_t errlen)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        snprintf(err, errlen, "expected PLUGIN:TASK, got '%s'", spec);
        return TP_ERR_USAGE;
    }
    if (!tp_name_valid(colon + 1, strlen(colon + 1))) {
        snprintf(err, errlen, "invalid task name '%s'", colon + 1);
        return TP_ERR_USAGE;
    }
    char *plugin = strndup(spec, (size_t)(colon - spec));
    const char **dirs = search_dirs(p->o.plugin_path);
    p->task = strdup(colon + 1);
    if (!plugin || !dirs || !p->task) {
        free(plugin);
        free(dirs);
        snprintf(err, errlen, "out of memory");
        return TP_ERR_SYSTEM;
    }
    struct tp_loaded l;
    int r = tp_loader_open(plugin, dirs, &l, err, errlen);
    free(plugin);
    free(dirs);
    if (r != 0)
        return TP_ERR_LOAD;
    if (!tp_loader_task(&l, p->task, err, errlen)) {
        tp_loader_close(&l);
        return TP_ERR_LOAD;
    }
    /* The host only checks; each worker loads the plugin itself. */
    p->file = l.file;
    l.file = NULL;
    tp_loader_close(&l);
    return 0;
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
    int r = load_spec(p, spec, err, errlen);
    if (r != 0) {
        tp_pool_close(p);
        return r;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    p->jobs = p->o.jobs ? p->o.jobs : ncpu > 0 ? (unsigned)ncpu : 1;
    p->nslots = p->jobs * (DEPTH + 2) + 2;
    p->cap = MAX_CHUNK;
    if (p->o.expected) {
        uint64_t per = (p->o.expected + 4 * p->jobs - 1) / (4 * p->jobs);
        if (per < p->cap)
            p->cap = (unsigned)per;
    }
    p->target = p->o.chunk ? p->o.chunk : 1;
    p->spec = (struct tp_worker_spec){p->file, p->task, p->o.init_arg};
    p->w = calloc(p->jobs, sizeof *p->w);
    p->c = calloc(p->nslots, sizeof *p->c);
    p->freel = calloc(p->nslots, sizeof *p->freel);
    p->dq = calloc(p->nslots, sizeof *p->dq);
    p->order = calloc(p->nslots, sizeof *p->order);
    p->pfd = calloc(p->jobs + 1, sizeof *p->pfd);
    if (!p->w || !p->c || !p->freel || !p->dq || !p->order || !p->pfd) {
        tp_pool_close(p);
        snprintf(err, errlen, "out of memory");
        return TP_ERR_SYSTEM;
    }
    for (unsigned i = 0; i < p->nslots; i++) {
        p->freel[p->nfree++] = (int)(p->nslots - 1 - i);
        p->c[i].stop_at = NO_STOP;
    }
    for (unsigned i = 0; i < p->jobs; i++)
        p->w[i].link = (struct tp_link){-1, -1, NULL};
    for (unsigned i = 0; i < p->jobs; i++) {
        if (tp_link_start(&p->w[i].link, &p->spec, err, errlen) != 0) {
            tp_pool_close(p);
            return TP_ERR_SYSTEM;
        }
    }
    for (;;) {
        unsigned ready = 0;
        for (unsigned i = 0; i < p->jobs; i++)
            ready += p->w[i].ready;
        if (ready == p->jobs)
            break;
        if (run_once(p, -1) < 0) {
            snprintf(err, errlen, "%s", p->msg);
            r = p->err;
            tp_pool_close(p);
            return r;
        }
    }
    *out = p;
    return 0;
}

struct each_ctx {
    int (*cb)(void *, const struct tp_plugin_info *);
    void *arg;
};

static int each_cb(void *arg, const char *name, const struct tp_loaded *l)
{
    struct each_ctx *e = arg;
    struct tp_plugin_info info = {name, l->desc, l->file};
    return e->cb(e->arg, &info);
}

int tp_plugins_each(const char *const *path, const char *only,
                    int (*cb)(void *arg, const struct tp_plugin_info *info),
                    void (*bad)(void *arg, const char *msg), void *arg,
                    char *err, size_t errlen)
{
    const char **dirs = search_dirs(path);
    if (!dirs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int r;
    if (only) {
        struct tp_loaded l;
        r = tp_loader_open(only, dirs, &l, err, errlen);
        if (r == 0) {
            const char *slash = strrchr(only, '/');
            struct tp_plugin_info info = {slash ? l.desc->name : only, l.desc,
                                          l.file};
            r = cb(arg, &info);
            tp_loader_close(&l);
        }
    } else {
        struct each_ctx e = {cb, arg};
        r = tp_loader_each(dirs, each_cb, bad, &e);
    }
    free(dirs);
    return r;
}
