/* The pool's API: records are packed into chunks held in a bounded window
 * of slots and handed to the scheduler; after each round of the loop the
 * news (finished inputs, finished chunks) goes to deliver.c.  See
 * pool_impl.h for who owns what. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/paths.h"
#include "pool/far.h"
#include "pool/chunk.h"
#include "pool/deliver.h"
#include "pool/pool_impl.h"
#include "pool/sched.h"
#include "pool/sized.h"
#include "worker/sandbox.h"

_Static_assert(TP_RECORD_MAX == TP_POOL_RECORD_MAX, "pool.h states the limit");

#define MAX_CHUNK 8192           /* records per chunk (measured: see bench/README.md) */
#define CHUNK_BYTES (256u << 10) /* a chunk is sealed past this much input */
#define MAX_SLOTS 256  /* chunks in flight at most, when they are small */
#define SMALL_BYTES 512 /* a small chunk's buffers start at this size */

/* One round of the loop, then the news it brought, then new work: so a
 * failure that halts the run is seen before anything else is sent. */
static int pump(tp_pool *p, int fd)
{
    int r = tp__sched_run_once(p, fd);
    tp__deliver_news(p);
    tp__sched_dispatch(p);
    return p->err != TP_ERR_NONE ? -1 : r;
}

static void seal(tp_pool *p)
{
    int s = p->fill;
    p->fill = -1;
    p->c[s].state = C_QUEUED;
    tp__dq_push(p, s, 0);
    tp__sched_dispatch(p);
}

/* Stopped for good, or halting soon (tp_pool_error tells which). */
static int stopped(const tp_pool *p)
{
    return p->err != TP_ERR_NONE || p->halting;
}

/* Room for one more chunk?  Always within the base window (jobs * 3 + 1
 * chunks); beyond it while the buffers that chunks in flight hold stay
 * within half of what the base window's full-size chunks hold, so that with
 * small chunks (a slow kernel, one record each) a slow input at the head
 * does not stop the other workers after a handful of records.  Where
 * records cannot be taken back (MPI ranks), a chunk beyond it is formed
 * only when few wait to be sent, so at the size the latest timings call
 * for: hundreds formed at once at the first, untimed size (one record
 * each, an MPI round trip each) made the first fifth of a 2-second run.  A few slots always stay free for records
 * taken back from a worker. */
static int room(const tp_pool *p)
{
    if (p->nfree <= p->jobs)
        return 0;
    if (p->inflight < p->window)
        return 1;
    if (!p->tr->take_back && p->dq_len > p->jobs)
        return 0;
    size_t held = 0;
    for (unsigned i = 0; i < p->nslots; i++)
        if (p->c[i].state != C_FREE)
            held += p->c[i].in.cap + p->c[i].out.cap;
    return held + 2 * SMALL_BYTES <= (size_t)p->window * (p->chunk_bytes + 4096);
}

/* Make sure a chunk of the given body form is being filled. */
static int filling(tp_pool *p, int delim)
{
    if (p->fill >= 0 && p->c[p->fill].delim != delim)
        seal(p);
    if (p->fill >= 0)
        return 0;
    while (!room(p)) {
        if (pump(p, -1) < 0 || p->halting)
            return -1;
    }
    int s = p->freel[--p->nfree];
    struct chunk *c = &p->c[s];
    /* a slot's buffers are sized once, not grown record by record: fewer
     * copies, and memory that does not creep with the input; chunks of a
     * few records (slow kernels) start small */
    size_t want = p->target >= 64 ? p->chunk_bytes + 4096 : SMALL_BYTES;
    if ((c->in.cap < want && tp__buf_reserve(&c->in, want) != 0) ||
        (c->out.cap < want && tp__buf_reserve(&c->out, want) != 0))
        return tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
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
        return tp__pool_fail(p, TP_ERR_INPUT, "input %llu: record of %zu "
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
    if (tp__buf_reserve(&c->in, TP_WIRE_REQ_REC + len + 1) != 0)
        return tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
    char *d = c->in.p + c->in.len;
    tp__put32(d, (uint32_t)len);
    if (len)
        memcpy(d + TP_WIRE_REQ_REC, rec, len);
    c->in.len += TP_WIRE_REQ_REC + len;
    c->n++;
    p->next_index++;
    if (c->n >= p->target || c->in.len >= p->chunk_bytes)
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
        size_t budget = c->in.len < p->chunk_bytes ? p->chunk_bytes - c->in.len
                                                   : 0;
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
                return tp__pool_fail(p, TP_ERR_USAGE, "unterminated record "
                                    "given to tp_pool_feed_records");
            take = (size_t)(e - b) + 1;
            k = 1;
        }
        if (k == 1 && take - 1 > TP_RECORD_MAX)
            return tp__pool_fail(p, TP_ERR_INPUT, "input %llu: record of %zu "
                                "bytes exceeds the limit of %llu bytes",
                                (unsigned long long)p->next_index + 1,
                                take - 1, (unsigned long long)TP_RECORD_MAX);
        if (k) {
            if (tp__buf_reserve(&c->in, take + 1) != 0)
                return tp__pool_fail(p, TP_ERR_SYSTEM, "out of memory");
            memcpy(c->in.p + c->in.len, b, take);
            c->in.len += take;
            c->n += k;
            p->next_index += k;
            b += take;
            len -= take;
        }
        if (!k || c->n >= p->target || c->in.len >= p->chunk_bytes)
            seal(p);
    }
    return 0;
}

int tp_pool_skip(tp_pool *p, uint64_t n)
{
    if (stopped(p))
        return -1;
    /* a chunk's records have consecutive indices: the gap starts a new one */
    if (n && p->fill >= 0 && p->c[p->fill].n)
        seal(p);
    p->next_index += n;
    if (p->fill >= 0)
        p->c[p->fill].first = p->next_index;
    return 0;
}

uint64_t tp_pool_fed(const tp_pool *p) { return p->next_index; }

uint64_t tp_pool_completed(const tp_pool *p, uint64_t *failed)
{
    if (failed)
        *failed = p->failed;
    return p->completed;
}

int tp_pool_wait_fd(tp_pool *p, int fd)
{
    if (stopped(p))
        return -1;
    if (p->fill >= 0)
        seal(p);
    for (;;) {
        if (p->inflight == 0) {
            if (p->cb.idle && p->cb.idle(p->cb.arg) != 0)
                return tp__pool_fail(p, TP_ERR_STOPPED,
                                    "stopped by the idle callback");
            return 0;
        }
        int r = pump(p, fd);
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
    while (p->err == TP_ERR_NONE && tp__sched_busy(p))
        if (pump(p, -1) < 0)
            return -1;
    if (p->err == TP_ERR_NONE)
        tp__deliver_rest(p);
    if (p->err == TP_ERR_NONE && p->cb.idle && p->cb.idle(p->cb.arg) != 0)
        return tp__pool_fail(p, TP_ERR_STOPPED, "stopped by the idle callback");
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
        if (pump(p, -1) < 0)
            return -1;
        if (p->halting)
            return finish_halting(p);
    }
    if (p->cb.idle && p->cb.idle(p->cb.arg) != 0)
        return tp__pool_fail(p, TP_ERR_STOPPED, "stopped by the idle callback");
    return 0;
}

void tp__pool_wake_at(tp_pool *p, uint64_t ns) { p->wake_at = ns; }

void tp__pool_far_limit(tp_pool *p, uint64_t ns) { p->far_limit_ns = ns; }

uint64_t tp__pool_now_ns(void) { return tp__now_ns(); }

unsigned tp_pool_lost(const tp_pool *p, const char **msg)
{
    if (msg)
        *msg = p->nlost ? p->lost_msg : NULL;
    return p->nlost;
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
    tp__sched_stop(p);
    for (unsigned i = 0; p->c && i < p->nslots; i++) {
        tp__buf_free(&p->c[i].in);
        tp__buf_free(&p->c[i].out);
        tp__buf_free(&p->c[i].fails);
        free(p->c[i].marks);
    }
    for (unsigned i = 0; p->w && i < p->jobs; i++)
        free(p->w[i].q);
    free(p->w);
    free(p->c);
    free(p->freel);
    free(p->dq);
    free(p->order);
    free(p->pfd);
    free(p->pend);
    free(p->retired);
    free(p->trigger_buf);
    free(p->samples);
    free(p->file);
    free(p->task);
    free((void *)p->confine.filter);
    free(p->exec);
    free(p);
}

/* The limits and the sandbox asked for, into p->confine: possible here,
 * or TP_ERR_USAGE before any worker starts (a sandbox is never silently
 * left out). */
static int check_confine(tp_pool *p, char *err, size_t errlen)
{
    const struct tp_pool_options *o = &p->o;
    if (o->cpu_limit != 0 && !(o->cpu_limit >= 0.1)) {
        snprintf(err, errlen, "cpu limit of %g s: the least is 0.1 s",
                 o->cpu_limit);
        return TP_ERR_USAGE;
    }
    if (o->allow_read && o->allow_read[0] && !o->sandbox) {
        snprintf(err, errlen, "directories allowed for reading, but no "
                 "sandbox (allow_read needs sandbox)");
        return TP_ERR_USAGE;
    }
    p->confine = (struct tp__confine){o->mem_limit, o->cpu_limit, o->max_procs,
                                     o->sandbox,
                                     o->sandbox ? o->allow_read : NULL, NULL,
                                     0};
    /* far pools confine their own workers, on their machines */
    if (o->sandbox && !p->tr->far_pool &&
        tp__sandbox_prepare(&p->confine, err, errlen) != 0)
        /* (no descriptor left to build the filter: not the system's lack) */
        return errno == EMFILE || errno == ENFILE ? TP_ERR_SYSTEM
                                                  : TP_ERR_USAGE;
    return 0;
}

/* exec_workers: the helper each worker execs, checked now so that a
 * missing one is one clear message, not every worker dying as it starts.
 * NULL in p->exec: workers are forked copies. */
static int check_exec(tp_pool *p, char *err, size_t errlen)
{
    if (!p->o.exec_workers || p->tr->far_pool)
        return 0;
    const char *env = getenv("TASKPOOL_WORKER");
    const char *path = env && *env ? env : TP_WORKER_EXEC;
    if (access(path, X_OK) != 0) {
        snprintf(err, errlen, "cannot start workers by exec: %s: %s (the "
                 "worker helper; TASKPOOL_WORKER names another)", path,
                 strerror(errno));
        return TP_ERR_SYSTEM;
    }
    if (!(p->exec = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        return TP_ERR_SYSTEM;
    }
    return 0;
}

int tp_pool_open(tp_pool **out, const char *spec,
                 const struct tp_pool_options *opt,
                 const struct tp_pool_callbacks *cb, char *err,
                 size_t errlen)
{
    *out = NULL;
    if (!cb) {
        snprintf(err, errlen, "no callbacks");
        return TP_ERR_USAGE;
    }
    tp_pool *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return TP_ERR_SYSTEM;
    }
    static const struct tp_pool_options defaults = TP_POOL_OPTIONS_INIT;
    if (tp__take_sized(&p->o, sizeof p->o, TP__OPTIONS_FIRST,
                       opt ? opt : &defaults, "options", err,
                       errlen) != 0 ||
        tp__take_sized(&p->cb, sizeof p->cb, TP__CALLBACKS_FIRST, cb,
                       "callbacks", err, errlen) != 0) {
        free(p);
        return TP_ERR_USAGE;
    }
    if (!p->cb.result) {
        free(p);
        snprintf(err, errlen, "no result callback");
        return TP_ERR_USAGE;
    }
    p->fill = -1;
    if (p->o.text_results && !p->cb.text) {
        free(p);
        snprintf(err, errlen, "text_results needs a text callback");
        return TP_ERR_USAGE;
    }
    p->tr = p->o.nremote > 0 ? &tp__remote_transport : &tp__fork_transport;
    if (p->o.nremote > 0 && !p->o.remote_fds) {
        snprintf(err, errlen, "nremote without remote_fds");
        free(p);
        return TP_ERR_USAGE;
    }
    int r = check_confine(p, err, errlen);
    if (r == 0)
        r = check_exec(p, err, errlen);
    if (r == 0)
        r = tp__load_spec(p, spec, err, errlen);
    if (r != 0) {
        tp_pool_close(p);
        return r;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    p->jobs = p->o.nremote ? p->o.nremote
              : p->o.jobs ? p->o.jobs
              : ncpu > 0  ? (unsigned)ncpu
                          : 1;
    /* the window bounds memory (see room); the spare slots hold records
     * taken back from a worker (when none is spare, nothing is) */
    p->window = p->jobs * (p->tr->max_depth + 1) + 1; /* at most */
    p->nslots = (p->window > MAX_SLOTS ? p->window : MAX_SLOTS) + p->jobs;
    p->cap = MAX_CHUNK * p->tr->scale;
    p->chunk_bytes = CHUNK_BYTES * p->tr->scale;
    if (p->o.expected) {
        uint64_t per = (p->o.expected + 4 * p->jobs - 1) / (4 * p->jobs);
        if (per < p->cap)
            p->cap = (unsigned)per;
    }
    p->target = p->o.chunk ? p->o.chunk : 1;
    if (p->o.measure || p->o.timeout > 0 || p->o.timeout_pct > 0)
        p->req_flags |= TP_REQ_TIMES;
    if (p->tr->far_pool) {
        p->req_flags |= TP_REQ_REMOTE;
        p->same = tp__options_digest(spec, &p->o);
    }
    if (p->o.text_results)
        p->req_flags |= TP_REQ_TEXT |
                        (uint32_t)(unsigned char)p->o.text_term << 16;
    p->w = calloc(p->jobs, sizeof *p->w);
    int noq = !p->w;
    for (unsigned i = 0; p->w && i < p->jobs; i++) {
        p->w[i].link = (struct tp__link){.fd = -1, .pid = -1, .pidfd = -1};
        noq |= !(p->w[i].q = calloc(p->tr->max_depth, sizeof *p->w[i].q));
    }
    p->c = calloc(p->nslots, sizeof *p->c);
    p->freel = calloc(p->nslots, sizeof *p->freel);
    p->dq = calloc(p->nslots, sizeof *p->dq);
    p->order = calloc(p->nslots, sizeof *p->order);
    p->pend = calloc(p->nslots, sizeof *p->pend);
    p->samples = calloc(SAMPLES, sizeof *p->samples);
    if (noq || !p->c || !p->freel || !p->dq || !p->order || !p->pend ||
        !p->samples) {
        tp_pool_close(p);
        snprintf(err, errlen, "out of memory");
        return TP_ERR_SYSTEM;
    }
    for (unsigned i = 0; i < p->nslots; i++) {
        p->freel[p->nfree++] = (int)(p->nslots - 1 - i);
        p->c[i].retry_at = p->c[i].stop_at = NO_REC;
        p->c[i].next_part = -1;
    }
    r = tp__sched_start(p, err, errlen);
    if (r != 0) {
        tp_pool_close(p);
        return r;
    }
    /* the window as the workers are: a far pool's depth is known once
     * it said how many workers it runs (each did, before any input) */
    p->window = 1;
    for (unsigned i = 0; i < p->jobs; i++)
        p->window += p->tr->depth(&p->w[i].link) + 1;
    *out = p;
    return 0;
}
