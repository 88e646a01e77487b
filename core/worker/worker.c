/* A worker: set up the process, load the plugin, run init, enter its
 * limits and sandbox, then answer REQUEST frames with RESULT frames until
 * the host closes the socket. */
#include "worker/worker.h"

#include "worker/memhold.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "worker/worker_limits.h"
#include "worker/loader.h"
#include "worker/sandbox.h"
#include "common/wire.h"

#define SOCK_FD 3
/* Results are sent in frames of about this size, so a chunk's output need
 * not fit one frame and the host sees progress. */
#define FLUSH_AT (256u << 10)
/* The buffers every worker allocates once it is ready. */
#define OUT_BUFFER (FLUSH_AT + 4096)
#define FAILS_BUFFER 4096
/* What a ready worker allocates besides its tasks: those, a request of a
 * full chunk (256 KiB) and malloc's own margins.  A memory limit must
 * leave room for it, or the worker would die before any input could be
 * blamed. */
#define OWN_MEMORY (OUT_BUFFER + FAILS_BUFFER + (512u << 10))

struct wctx {
    tp_ctx pub; /* first: the plugin's tp_ctx* is a struct wctx* */
    struct tp__buf *out;
    char err[1024];
    int failed;
};

static int w_reserve(tp_ctx *c, size_t n)
{
    struct wctx *w = (struct wctx *)c;
    size_t used = (size_t)(c->cur - w->out->p);
    if (n > TP_RECORD_MAX || used - w->out->len > TP_RECORD_MAX - n) {
        if (!w->failed)
            snprintf(w->err, sizeof w->err, "result exceeds the limit of "
                     "%llu bytes", (unsigned long long)TP_RECORD_MAX);
        w->failed = 1;
        return -1;
    }
    size_t saved = w->out->len;
    w->out->len = used;
    int r = tp__buf_reserve(w->out, n);
    w->out->len = saved;
    if (r != 0) {
        if (!w->failed)
            snprintf(w->err, sizeof w->err, "out of memory");
        w->failed = 1;
        return -1;
    }
    c->cur = w->out->p + used;
    c->end = w->out->p + w->out->cap;
    return 0;
}

static void w_vfail(tp_ctx *c, const char *fmt, va_list ap)
{
    struct wctx *w = (struct wctx *)c;
    if (!w->failed)
        vsnprintf(w->err, sizeof w->err, fmt, ap);
    w->failed = 1;
}

static const struct tp_host_api api = {sizeof(struct tp_host_api), w_reserve,
                                       w_vfail};

static _Noreturn void die_as(int fd, uint32_t kind, const char *msg)
{
    unsigned char h[TP_WIRE_HDR];
    size_t n = strlen(msg);
    tp__wire_put_hdr(h, TP_FRAME_FATAL, kind, 0, n);
    if (tp__write_all(fd, h, sizeof h) == 0)
        (void)tp__write_all(fd, msg, n);
    _exit(1);
}

static _Noreturn void die(int fd, const char *msg)
{
    die_as(fd, TP_FATAL_LATER, msg);
}

/* The worker's own buffers could not grow: under a memory limit, the
 * limit's doing (the host says so only if there is one). */
static _Noreturn void out_of_memory(int fd, struct tp__progress *prog)
{
    __atomic_store_n(&prog->cause, TP_CAUSE_MEMORY, __ATOMIC_RELEASE);
    die(fd, "out of memory");
}

/* A fresh process: no fds but stdio and the socket, default signals, and
 * no life beyond the host's. */
void tp__worker_setup(int fd, pid_t host)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    /* The terminal's Ctrl-C is for the host, which stops us itself. */
    if (setpgid(0, 0) != 0 && getpgid(0) != getpid())
        _exit(1);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != host)
        _exit(1); /* no parent to die with, or it is already gone */
    if (fd != SOCK_FD) {
        if (dup2(fd, SOCK_FD) < 0)
            _exit(1);
        close(fd);
    }
    if (close_range(SOCK_FD + 1, ~0U, 0) != 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long i = SOCK_FD + 1; i < (max > 0 ? max : 1024); i++)
            close((int)i);
    }
    /* what a kernel execs does not get the socket */
    if (fcntl(SOCK_FD, F_SETFD, FD_CLOEXEC) < 0)
        _exit(1);
    /* What the host's stdio had buffered is the host's to write, not ours
     * (an embedding program's unflushed printf would come out once per
     * worker). */
    __fpurge(stdout);
    __fpurge(stderr);
    /* The host's input is not ours; what a kernel prints is not output. */
    int nul = open("/dev/null", O_RDONLY);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(2, 1) < 0)
        die(SOCK_FD, "cannot redirect the worker's stdin/stdout");
    if (nul > 2)
        close(nul);
    setvbuf(stdout, NULL, _IOLBF, 0);
}

pid_t tp__outer_pid(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long pid = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "NSpid: %ld", &pid) == 1)
            break;
    if (f)
        fclose(f);
    return pid > 0 ? (pid_t)pid : getpid();
}

static uint32_t usec_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t us = (t1.tv_sec - t0->tv_sec) * 1000000 +
                 (t1.tv_nsec - t0->tv_nsec) / 1000;
    return us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Send the batch in out (and, in text mode, its FAILS first). */
static int send_batch(int fd, int text, struct tp__buf *out,
                      struct tp__buf *fails, uint32_t count, uint32_t nfails,
                      uint32_t aflags)
{
    if (nfails) {
        tp__wire_put_hdr((unsigned char *)fails->p, TP_FRAME_FAILS, nfails,
                        aflags & ~TP_ANS_END, fails->len - TP_WIRE_HDR);
        if (tp__write_all(fd, fails->p, fails->len) != 0)
            return -1;
        fails->len = TP_WIRE_HDR;
    }
    tp__wire_put_hdr((unsigned char *)out->p,
                    text ? TP_FRAME_TEXT : TP_FRAME_RESULT, count, aflags,
                    out->len - TP_WIRE_HDR);
    int r = tp__write_all(fd, out->p, out->len);
    out->len = TP_WIRE_HDR;
    return r;
}

/* Claim the next record of the request: 0 when none is left (all run,
 * or the host took the rest back).  One compare-and-swap per record, on a
 * line only the host reads now and then: about 1 ns, measured (a clock
 * read per record cost ten times that); the host can then take back
 * anything not started, exactly. */
static int claim(uint64_t *word)
{
    uint64_t v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((uint32_t)v >= (uint32_t)(v >> 32))
            return 0;
        if (__atomic_compare_exchange_n(word, &v, v + 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return 1;
    }
}


struct request {
    tp_task_fn run;
    char *body;
    size_t blen;
    uint32_t flags;
    volatile uint32_t *task; /* odd while a task runs (the keeper's CPU
                                watch reads it) */
};

/* Run one record into out (or fails); returns whether it succeeded. */
static int run_one(int fd, const struct request *q, const char *rec,
                    uint32_t len, uint32_t index, struct tp__buf *out,
                    struct tp__buf *fails, uint32_t *nfails,
                    struct tp__progress *prog)
{
    struct wctx w;
    w.pub.api = &api;
    w.out = out;
    w.failed = 0; /* err is written before it is read: no 1 KiB memset
                     per record */
    int timed = (q->flags & TP_REQ_TIMES) != 0;
    int text = (q->flags & TP_REQ_TEXT) != 0;
    char term = (char)((q->flags >> 16) & 0xff);
    size_t hdr = text ? 0 : tp__wire_res_hdr(timed);
    /* rec is followed by its delimiter, the next record's length or the
     * spare byte the reader left: make it a C string for a while */
    char *mrec = (char *)rec, saved = mrec[len];
    mrec[len] = '\0';
    if (tp__buf_reserve(out, TP_WIRE_RES_MAX + 64) != 0)
        out_of_memory(fd, prog);
    size_t at = out->len;
    w.pub.cur = out->p + at + hdr;
    w.pub.end = out->p + out->cap;
    struct timespec t0, wall = {0, 0};
    if (timed) {
        clock_gettime(CLOCK_REALTIME, &wall);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        __atomic_store_n(&prog->t_start_ns,
                         (uint64_t)t0.tv_sec * 1000000000u +
                             (uint64_t)t0.tv_nsec,
                         __ATOMIC_RELAXED);
    }
    /* a refused allocation during the task is told by errno (worker_limits.c) */
    errno = 0;
    ++*q->task;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    int rc = q->run(&w.pub, rec, len);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    ++*q->task;
    uint32_t us = 0;
    if (timed) {
        us = usec_since(&t0);
        /* between tasks: a worker blocked sending answers is not late */
        __atomic_store_n(&prog->t_start_ns, 0, __ATOMIC_RELAXED);
    }
    mrec[len] = saved;
    int ok = rc == TP_OK && !w.failed;
    if (!ok && !w.failed)
        snprintf(w.err, sizeof w.err, "task failed (returned %d)", rc);
    size_t n = (size_t)(w.pub.cur - (out->p + at + hdr));
    if (text && ok) { /* the output and its terminator */
        if (tp__buf_reserve(out, n + 1) != 0)
            out_of_memory(fd, prog);
        out->p[at + n] = term;
        out->len = at + n + 1;
    } else if (text) { /* the output is dropped; the message is filed */
        size_t m = strlen(w.err);
        if (tp__buf_reserve(fails, TP_WIRE_FAIL_REC + m) != 0)
            out_of_memory(fd, prog);
        char *f = fails->p + fails->len;
        tp__put32(f, index);
        tp__put32(f + 4, (uint32_t)(at - TP_WIRE_HDR));
        tp__put32(f + 8, (uint32_t)m);
        memcpy(f + TP_WIRE_FAIL_REC, w.err, m);
        fails->len += TP_WIRE_FAIL_REC + m;
        (*nfails)++;
    } else {
        if (!ok) {
            n = strlen(w.err);
            if (tp__buf_reserve(out, hdr + n) != 0)
                out_of_memory(fd, prog);
            memcpy(out->p + at + hdr, w.err, n);
        }
        tp__wire_put_res(out->p + at, (uint32_t)n, ok ? TP_WS_OK : TP_WS_ERROR,
                        us,
                        (uint64_t)wall.tv_sec * 1000000000u +
                            (uint64_t)wall.tv_nsec,
                        timed);
        out->len = at + hdr + n;
    }
    return ok;
}

/* Answer one request: run the records claimed, in order, then end the
 * request with an END frame.  Returns 0, or -1 if the socket failed. */
static int serve(int fd, const struct request *q, struct tp__buf *out,
                 struct tp__buf *fails, struct tp__progress *prog)
{
    int text = (q->flags & TP_REQ_TEXT) != 0;
    int delim = q->flags & TP_REQ_DELIM ? (int)((q->flags >> 8) & 0xff) : -1;
    uint32_t aflags = TP_REQ_SEQ(q->flags) << 8;
    uint64_t *word = &prog->claim[TP_REQ_SEQ(q->flags) & 1];
    size_t pos = 0;
    uint32_t count = 0, nfails = 0, len;
    const char *rec;
    while (claim(word)) {
        if (tp__wire_next_rec(q->body, q->blen, &pos, &rec, &len, delim) != 1)
            die(fd, "malformed request frame");
        size_t before = out->len;
        int ok = run_one(fd, q, rec, len, count, out, fails, &nfails, prog);
        if (count && out->len - TP_WIRE_HDR > TP_WIRE_MAX_BODY) {
            /* this result would overflow the frame the earlier ones are
             * in: send those first, then move it to the front */
            size_t end = out->len;
            out->len = before;
            if (send_batch(fd, text, out, fails, count, nfails, aflags) != 0)
                return -1;
            memmove(out->p + TP_WIRE_HDR, out->p + before, end - before);
            out->len = TP_WIRE_HDR + (end - before);
            count = nfails = 0;
        }
        count++;
        /* a failure goes at once: the host may halt on it */
        if (!ok || out->len >= FLUSH_AT || fails->len >= FLUSH_AT) {
            if (send_batch(fd, text, out, fails, count, nfails, aflags) != 0)
                return -1;
            count = nfails = 0;
        }
    }
    return send_batch(fd, text, out, fails, count, nfails,
                      aflags | TP_ANS_END);
}

_Static_assert(TP_STAGE_LOAD == 1 && TP_STAGE_DESCRIBE == 2 &&
                   TP_STAGE_CHECK == 3,
               "loader.c records these stages by number");

const char *tp__stage_name(int stage)
{
    switch (stage) {
    case TP_STAGE_LOAD:
        return "a constructor";
    case TP_STAGE_DESCRIBE:
        return "taskpool_plugin()";
    case TP_STAGE_CHECK:
        return "reading the descriptor";
    case TP_STAGE_INIT:
        return "init";
    case TP_STAGE_CONFINE:
        return "entering its limits and sandbox";
    default:
        return "its set-up";
    }
}

void tp__stage_failure(int stage, const char *file, const char *how,
                      char *buf, size_t len)
{
    static const char *const what[] = {
        [TP_STAGE_LOAD] = "constructor crashed",
        [TP_STAGE_DESCRIBE] = "taskpool_plugin() crashed",
        [TP_STAGE_CHECK] = "malformed descriptor: reading it crashed",
        [TP_STAGE_INIT] = "init crashed",
        [TP_STAGE_CONFINE] = "worker died entering its limits and sandbox",
    };
    if (stage > TP_STAGE_SETUP && stage < TP_STAGE_READY)
        snprintf(buf, len, "%s: %s: %s", file, what[stage], how);
    else
        snprintf(buf, len, "%s: worker %s while starting", file, how);
}

/* The plugin's init hook, if it has one; a failure ends the worker. */
static void run_init(int fd, const struct tp__loaded *l, const char *arg)
{
    if (!l->desc->init)
        return;
    struct tp__buf scratch = {0};
    if (tp__buf_reserve(&scratch, 256) != 0)
        die(fd, "out of memory");
    struct wctx w = {{&api, scratch.p, scratch.p + scratch.cap}, &scratch,
                     {0}, 0};
    int rc = l->desc->init(&w.pub, arg);
    if (rc != TP_OK || w.failed) {
        char msg[1200];
        snprintf(msg, sizeof msg, "%s: init failed: %s", l->desc->name,
                 w.failed ? w.err : "init hook returned an error");
        die_as(fd, TP_FATAL_INIT, msg);
    }
    tp__buf_free(&scratch);
}

/* A plugin that declares it reads files cannot work in a sandbox that
 * allows reading nothing: say so before its init runs. */
static void check_flags(int fd, const struct tp__confine *c,
                        const struct tp__loaded *l)
{
    if (!c->sandbox || (c->allow_read && c->allow_read[0]) ||
        !(tp__loader_flags(l->desc) & TP_PLUGIN_READS_FILES))
        return;
    char msg[512];
    snprintf(msg, sizeof msg, "%s: the plugin declares TP_PLUGIN_READS_FILES "
             "(its tasks read files): in a sandbox it needs the directories "
             "they may read (--allow-read DIR)", l->desc->name);
    die_as(fd, TP_FATAL_LOAD, msg);
}

/* After init: the limits, then the sandbox (no way back); a failure ends
 * the worker. */
static void confine(int fd, const struct tp__confine *c,
                                struct tp__progress *prog)
{
    char err[1024];
    if (!c->mem_limit && !c->max_procs && !c->sandbox)
        return;
    if (c->sandbox && c->mem_limit &&
        tp__memhold_check(fd, prog, err, sizeof err) != 0)
        die_as(fd, TP_FATAL_INIT, err);
    struct tp__guard *g = tp__limits_enter(c, prog, OWN_MEMORY, err,
                                         sizeof err);
    if (!g || (c->sandbox && tp__sandbox_enter(c, g, err, sizeof err) != 0))
        die_as(fd, TP_FATAL_INIT, err);
}

void tp__worker_held(int fd, pid_t host, struct tp__progress *prog,
                    const void *arg)
{
    const struct tp__worker_spec *spec = arg;
    const struct tp__confine *c = &spec->confine;
    tp__worker_setup(fd, host);
    fd = SOCK_FD;
    __atomic_store_n(&prog->wpid, (int32_t)tp__outer_pid(), __ATOMIC_RELEASE);
    char err[4096];
    if (tp__limits_precheck(c, prog, err, sizeof err) != 0)
        die_as(fd, TP_FATAL_INIT, err);
    struct tp__loaded l;
    if (tp__loader_open_now(spec->file, &l, &prog->stage, err,
                           sizeof err) != 0)
        die_as(fd, TP_FATAL_LOAD, err);
    const struct tp_task *t = tp__loader_task(&l, spec->task, err, sizeof err);
    if (!t)
        die_as(fd, TP_FATAL_LOAD, err);
    check_flags(fd, c, &l);
    __atomic_store_n(&prog->stage, TP_STAGE_INIT, __ATOMIC_RELEASE);
    run_init(fd, &l, spec->init_arg);
    __atomic_store_n(&prog->stage, TP_STAGE_CONFINE, __ATOMIC_RELEASE);
    confine(fd, c, prog);
    __atomic_store_n(&prog->stage, TP_STAGE_READY, __ATOMIC_RELEASE);
    unsigned char h[TP_WIRE_HDR];
    tp__wire_put_hdr(h, TP_FRAME_READY, 0, 0, 0);
    /* a host that finished before we were ready has closed the socket:
     * no SIGPIPE then, and fini still runs, since init did */
    ssize_t sent;
    do
        sent = send(fd, h, sizeof h, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent != (ssize_t)sizeof h)
        goto done;

    struct tp__buf in = {0}, out = {0}, fails = {0};
    if (tp__buf_reserve(&out, OUT_BUFFER) != 0 ||
        tp__buf_reserve(&fails, FAILS_BUFFER) != 0)
        out_of_memory(fd, prog);
    out.len = fails.len = TP_WIRE_HDR;
    for (;;) {
        struct tp__frame f;
        int r = tp__read_all(fd, h, sizeof h);
        /* EOF, or ECONNRESET when the host closed before reading our
         * READY: either way the run is over, and fini is due */
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            break;
        if (r < 0)
            _exit(1);
        if (tp__wire_get_hdr(h, &f, err, sizeof err) != 0 ||
            f.type != TP_FRAME_REQUEST)
            die(fd, "protocol error from the host");
        in.len = 0;
        /* one spare byte: the last record gets a NUL after it */
        if (tp__buf_reserve(&in, f.len + 1) != 0)
            out_of_memory(fd, prog);
        if (f.len && tp__read_all(fd, in.p, f.len) != 1)
            _exit(1);
        struct request q = {t->run, in.p, (size_t)f.len, f.flags,
                            &prog->task};
        if (serve(fd, &q, &out, &fails, prog) != 0)
            _exit(1);
    }
done:
    if (l.desc->fini)
        l.desc->fini();
    fflush(stdout);
    _exit(0);
}
