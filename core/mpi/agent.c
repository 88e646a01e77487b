/* The far end of a remote worker (taskpool --mpi's node agents): requests
 * come in on a socket as they would to a worker; a pool of local workers
 * runs them, with its own timeouts, retries and replacements; the answers
 * go back in request order, each record saying which local worker ran it
 * and in how many attempts.  Kernels run in the local workers only. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buf.h"
#include "pool/far.h"
#include "taskpool/pool.h"
#include "common/wire.h"

#define QMAX TP_WIRE_QUEUE_MAX /* requests in flight */
#define HOLD_NS 50000000u /* results of a request not yet ended wait this
                             long for the rest: each answer is an MPI
                             message, and a rank's messages cost its
                             workers' CPU (bench/README.md) */
#define ALIVE_NS 1000000000u /* a rank with work and nothing to answer says
                               it is alive this often (remote.c) */

struct req {
    uint32_t seq, left;
    int timed;
};

struct agent {
    int fd;
    tp_pool *pool;
    struct req q[QMAX];
    unsigned qh, qn;
    struct tp__buf out; /* the answer being built, for q[qh] */
    uint32_t nout;
    uint64_t held_since; /* when its first result came */
    uint64_t sent_at;    /* when a frame last went to the host */
    /* text mode: outputs travel as TEXT, failures as FAILS entries */
    int text;
    struct tp__buf fails;
    uint32_t nfails;
    char term;
    int err;           /* errno of a failed write to fd */
};

/* One frame in one write (a frame cut in two would go as two MPI
 * messages). */
static int send_frame(int fd, uint32_t type, uint32_t count, uint32_t flags,
                      const void *body, size_t len)
{
    unsigned char h[TP_WIRE_HDR];
    tp__wire_put_hdr(h, type, count, flags, len);
    struct iovec v[2] = {{h, sizeof h}, {(void *)body, len}};
    return tp__writev_all(fd, v, 2);
}

/* Send what is built for the front request (end: and close it), failures
 * and results in one write. */
static int flush(struct agent *a, int end)
{
    struct req *f = &a->q[a->qh];
    uint32_t seq = (f->seq & 0xffu) << 8;
    unsigned char hf[TP_WIRE_HDR], hr[TP_WIRE_HDR];
    struct iovec v[4];
    int n = 0;
    if (a->nfails) {
        tp__wire_put_hdr(hf, TP_FRAME_FAILS, a->nfails, seq, a->fails.len);
        v[n++] = (struct iovec){hf, sizeof hf};
        v[n++] = (struct iovec){a->fails.p, a->fails.len};
    }
    tp__wire_put_hdr(hr, a->text ? TP_FRAME_TEXT : TP_FRAME_RESULT, a->nout,
                    (end ? TP_ANS_END : 0) | seq, a->out.len);
    v[n++] = (struct iovec){hr, sizeof hr};
    v[n++] = (struct iovec){a->out.p, a->out.len};
    if (!a->err && tp__writev_all(a->fd, v, n) != 0)
        a->err = errno ? errno : EIO;
    a->out.len = 0;
    a->nout = 0;
    a->fails.len = 0;
    a->nfails = 0;
    tp__pool_wake_at(a->pool, 0);
    a->sent_at = tp__pool_now_ns();
    if (end) {
        a->qh = (a->qh + 1) % QMAX;
        a->qn--;
    }
    return a->err ? -1 : 0;
}

/* A result is added to the answer being built. */
static void held(struct agent *a)
{
    if (!a->nout && !a->nfails)
        a->held_since = tp__pool_now_ns();
}

/* Text mode: an input that did not succeed, as a FAILS entry at its place
 * in the text. */
static int text_fail(struct agent *a, struct req *f, const struct tp_result *r)
{
    size_t need = TP_WIRE_FAIL_REC + TP_WIRE_FAIL_REMOTE + r->len;
    if (a->nout && a->fails.len + need > TP_WIRE_MAX_BODY && flush(a, 0) != 0)
        return -1;
    if (tp__buf_reserve(&a->fails, need) != 0)
        return -1;
    char *d = a->fails.p + a->fails.len;
    uint32_t v[6] = {a->nout, (uint32_t)a->out.len, (uint32_t)r->len,
                     (uint32_t)r->status, (uint32_t)r->worker, r->attempts};
    for (int i = 0; i < 6; i++)
        tp__put32(d + 4 * i, v[i]);
    if (r->len)
        memcpy(d + 24, r->data, r->len);
    held(a);
    a->fails.len += need;
    a->nfails++;
    a->nout++;
    return --f->left == 0 ? flush(a, 1) : 0;
}

/* Text mode: the outputs of n inputs that succeeded, each ended by the
 * terminator; they belong to the front request (the local pool's chunks
 * never span two requests: see serve). */
static int on_text(void *arg, const char *data, size_t len, uint64_t n)
{
    struct agent *a = arg;
    struct req *f = &a->q[a->qh];
    if (!a->qn || n > f->left)
        return -1;
    if (a->nout && a->out.len + len > TP_WIRE_MAX_BODY && flush(a, 0) != 0)
        return -1;
    /* a span larger than a frame can only come from huge outputs: it
     * goes out in several frames, cut after a terminator */
    while (len > TP_WIRE_MAX_BODY) {
        const char *cut = memrchr(data, a->term, TP_WIRE_MAX_BODY);
        size_t k = cut ? (size_t)(cut - data) + 1 : TP_WIRE_MAX_BODY;
        if (tp__buf_reserve(&a->out, k) != 0)
            return -1;
        memcpy(a->out.p, data, k);
        a->out.len = k;
        a->nout = 1;
        f->left--;
        n--;
        if (flush(a, f->left == 0) != 0)
            return -1;
        data += k;
        len -= k;
    }
    if (tp__buf_reserve(&a->out, len) != 0)
        return -1;
    memcpy(a->out.p + a->out.len, data, len);
    held(a);
    a->out.len += len;
    a->nout += (uint32_t)n;
    f->left -= (uint32_t)n;
    return f->left == 0 && n ? flush(a, 1) : 0;
}

static int on_result(void *arg, const struct tp_result *r)
{
    struct agent *a = arg;
    if (!a->qn)
        return -1; /* a result nobody asked for: cannot happen */
    struct req *f = &a->q[a->qh];
    if (a->text)
        return text_fail(a, f, r);
    size_t h = tp__wire_res_hdr(f->timed);
    size_t need = h + TP_WIRE_RES_REMOTE + r->len;
    if (a->nout && a->out.len + need > TP_WIRE_MAX_BODY && flush(a, 0) != 0)
        return -1;
    if (tp__buf_reserve(&a->out, need) != 0)
        return -1;
    char *d = a->out.p + a->out.len;
    tp__wire_put_res(d, (uint32_t)r->len, (uint32_t)r->status, r->usec,
                    r->start_ns, f->timed);
    tp__put32(d + h, (uint32_t)r->worker);
    tp__put32(d + h + 4, r->attempts);
    if (r->len)
        memcpy(d + h + TP_WIRE_RES_REMOTE, r->data, r->len);
    held(a);
    a->out.len += need;
    a->nout++;
    return --f->left == 0 ? flush(a, 1) : 0;
}

/* Before the pool waits: a request's answer goes when it ends; what is
 * answered of one that takes longer goes HOLD_NS after its first result,
 * so that the host hears of finished inputs as they finish; with nothing
 * to answer for ALIVE_NS (inputs timing out one after another), an ALIVE
 * frame says the rank is at work.  The pool wakes for whichever is due. */
static int on_idle(void *arg)
{
    struct agent *a = arg;
    if (!a->qn)
        return 0;
    uint64_t now = tp__pool_now_ns();
    if (a->nout && now - a->held_since >= HOLD_NS)
        return flush(a, 0);
    if (now - a->sent_at >= ALIVE_NS) {
        if (!a->err && send_frame(a->fd, TP_FRAME_ALIVE, 0, 0, NULL, 0) != 0)
            a->err = errno ? errno : EIO;
        a->sent_at = now;
        if (a->err)
            return -1;
    }
    uint64_t wake = a->sent_at + ALIVE_NS;
    if (a->nout && a->held_since + HOLD_NS < wake)
        wake = a->held_since + HOLD_NS;
    tp__pool_wake_at(a->pool, wake);
    return 0;
}

/* Wait until fd has something (running the pool meanwhile).  0, or -1
 * when the pool stopped or cancel_fd became readable. */
static int wait_input(struct agent *a, int cancel_fd)
{
    if (tp_pool_wait_fd(a->pool, a->fd) != 0)
        return -1;
    struct pollfd f[2] = {{a->fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
    for (;;) {
        int r = poll(f, cancel_fd > 0 ? 2 : 1, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || (cancel_fd > 0 && f[1].revents))
            return -1;
        return 0;
    }
}

/* A request of delimited records, checked and fed at once. */
static int feed_delimited(struct agent *a, const struct tp__frame *fr,
                          const char *body, char delim, char *err,
                          size_t errlen)
{
    size_t len = (size_t)fr->len;
    uint32_t n = 0;
    for (const char *p = body, *e = body + len;
         p < e && (p = memchr(p, delim, (size_t)(e - p))); p++)
        n++;
    if (n != fr->count || (len && body[len - 1] != delim)) {
        snprintf(err, errlen, "malformed request from the host");
        return -1;
    }
    return tp_pool_feed_records(a->pool, body, len, delim);
}

/* One request: its records into the pool.  0, or -1 (message in err). */
static int take_request(struct agent *a, const struct tp__frame *fr,
                        const char *body, char *err, size_t errlen)
{
    if (fr->type != TP_FRAME_REQUEST || a->qn == QMAX) {
        snprintf(err, errlen, "unexpected frame of type %u from the host",
                 (unsigned)fr->type);
        return -1;
    }
    int text = (fr->flags & TP_REQ_TEXT) != 0;
    if (text != a->text ||
        (text && (char)((fr->flags >> 16) & 0xffu) != a->term)) {
        snprintf(err, errlen, "the host asks for %s output: this rank was "
                 "started with other output options than rank 0",
                 text ? "text" : "per-record");
        return -1;
    }
    if (!a->qn) /* (ALIVE_NS counts from here when idle before) */
        a->sent_at = tp__pool_now_ns();
    struct req *q = &a->q[(a->qh + a->qn++) % QMAX];
    *q = (struct req){TP_REQ_SEQ(fr->flags), fr->count,
                      (fr->flags & TP_REQ_TIMES) != 0};
    if (!fr->count)
        return a->qn == 1 ? flush(a, 1) : 0;
    int delim = fr->flags & TP_REQ_DELIM ? (int)((fr->flags >> 8) & 0xffu)
                                         : -1;
    if (delim >= 0) /* records as read from a file: fed in bulk */
        return feed_delimited(a, fr, body, (char)delim, err, errlen);
    size_t pos = 0;
    const char *rec;
    uint32_t len, n = 0;
    int m;
    while ((m = tp__wire_next_rec(body, (size_t)fr->len, &pos, &rec, &len,
                                 delim)) == 1 && n < fr->count) {
        if (tp_pool_feed(a->pool, rec, len) != 0)
            return -1;
        n++;
    }
    if (m < 0 || n != fr->count) {
        snprintf(err, errlen, "malformed request from the host");
        return -1;
    }
    return 0;
}

/* Serve until the end of fd.  0, or -1 with err set. */
static int serve(struct agent *a, int cancel_fd, char *err, size_t errlen)
{
    struct tp__buf body = {0};
    int r = 0;
    for (;;) {
        unsigned char h[TP_WIRE_HDR];
        struct tp__frame fr;
        if (wait_input(a, cancel_fd) != 0) {
            r = -1;
            break;
        }
        int got = tp__read_all(a->fd, h, sizeof h);
        if (got == 0)
            break; /* the host is done (or gone) */
        if (got < 0 || tp__wire_get_hdr(h, &fr, err, errlen) != 0 ||
            tp__buf_reserve(&body, (size_t)fr.len) != 0 ||
            (fr.len && tp__read_all(a->fd, body.p, (size_t)fr.len) != 1)) {
            if (got < 0 || !*err)
                snprintf(err, errlen, "reading from the host: %s",
                         strerror(errno ? errno : EPIPE));
            r = -1;
            break;
        }
        if (fr.type == TP_FRAME_LIMIT) { /* --timeout P%: the host's */
            tp__pool_far_limit(a->pool, (uint64_t)fr.count * 1000000u);
            continue;
        }
        if (take_request(a, &fr, body.p, err, errlen) != 0) {
            r = -1;
            break;
        }
    }
    tp__buf_free(&body);
    return r;
}

/* A launcher binds each rank to a core or a socket (Open MPI: to a core
 * for two ranks, a socket for more), and the workers a rank forks inherit
 * that: two workers bound to one core ran at half speed.  The rank's
 * workers are processes of their own, so when it has more of them than
 * CPUs it is bound to, they may use every CPU of the machine that this
 * process's cpuset (a batch system's allocation) allows: the kernel keeps
 * the mask within it.  The bridge, already running, keeps its binding. */
static void widen_affinity(unsigned jobs)
{
    cpu_set_t now, all;
    if (sched_getaffinity(0, sizeof now, &now) != 0 ||
        (unsigned)CPU_COUNT(&now) >= jobs)
        return;
    long n = sysconf(_SC_NPROCESSORS_CONF);
    CPU_ZERO(&all);
    for (long i = 0; i < n && i < CPU_SETSIZE; i++)
        CPU_SET((int)i, &all);
    (void)sched_setaffinity(0, sizeof all, &all); /* a refusal leaves the
                                                     launcher's binding */
}

int tp_agent_serve(int fd, const char *spec, const struct tp_pool_options *opt,
                   const char *name, char *err, size_t errlen)
{
    struct agent a = {.fd = fd};
    struct tp_pool_options o;
    struct tp_pool_callbacks cb = {.size = sizeof cb, .result = on_result,
                                   .idle = on_idle, .arg = &a};
    char why[4096];
    *err = '\0';
    if (tp__take_options(&o, opt, err, errlen) != 0)
        return TP_ERR_USAGE;
    uint32_t digest = tp__options_digest(spec, &o); /* as the host's */
    o.unordered = 0; /* answers go back in request order */
    o.halt = TP_HALT_NEVER; /* the host decides */
    o.expected = 0;
    o.measure = !o.text_results;
    a.text = o.text_results;
    a.term = o.text_term;
    if (a.text)
        cb.text = on_text;
    o.remote_fds = NULL;
    o.nremote = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN); /* as tp_pool_open counts */
    uint32_t jobs = o.jobs ? o.jobs : ncpu > 0 ? (uint32_t)ncpu : 1;
    widen_affinity(jobs);
    int e = tp_pool_open(&a.pool, spec, &o, &cb, why, sizeof why);
    if (e != TP_ERR_NONE) {
        snprintf(err, errlen, "%s: %s", name, why);
        uint32_t kind = e == TP_ERR_LOAD || e == TP_ERR_USAGE
                            ? TP_FATAL_LOAD : TP_FATAL_INIT;
        send_frame(fd, TP_FRAME_FATAL, kind, 0, err, strlen(err));
        return e;
    }
    if (send_frame(fd, TP_FRAME_READY, jobs, digest,
                   NULL, 0) != 0) {
        snprintf(err, errlen, "%s: writing to the host: %s", name,
                 strerror(errno));
        tp_pool_close(a.pool);
        return TP_ERR_SYSTEM;
    }
    int r = serve(&a, o.cancel_fd, err, errlen);
    const char *msg = NULL;
    e = r == 0 ? TP_ERR_NONE : tp_pool_error(a.pool, &msg);
    if (r != 0 && e == TP_ERR_NONE)
        e = TP_ERR_SYSTEM; /* the host's stream, err says how */
    else if (r != 0 && msg)
        snprintf(err, errlen, "%s", msg);
    if (r != 0 && e == TP_ERR_CANCELLED) {
        /* a signal (the launcher ending the job): the host hears it so,
         * not as a lost rank, should it come before the host's own */
        char tmp[512];
        int n = snprintf(tmp, sizeof tmp, "%s: stopped by a signal", name);
        send_frame(fd, TP_FRAME_FATAL, TP_FATAL_STOPPED, 0, tmp,
                   n > 0 ? (size_t)n : 0);
    } else if (r != 0 && *err) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s: %s", name, err);
        snprintf(err, errlen, "%s", tmp);
        /* a replacement that cannot load or init is still a plugin
         * problem for the host (exit 2), whatever else is not */
        send_frame(fd, TP_FRAME_FATAL, e == TP_ERR_INIT   ? TP_FATAL_INIT
                                       : e == TP_ERR_LOAD ? TP_FATAL_LOAD
                                                          : TP_FATAL_LATER,
                   0, tmp, strlen(tmp));
    }
    tp_pool_close(a.pool);
    tp__buf_free(&a.out);
    tp__buf_free(&a.fails);
    return e;
}
