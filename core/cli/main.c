/* taskpool: the command line.  Reads inputs, feeds the pool, and decides
 * the exit status; the work happens in libtaskpool. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/errtext.h"
#include "cli/feed.h"
#include "cli/joblog.h"
#include "mpi/split.h"
#include "cli/output.h"
#include "cli/sink.h"
#include "taskpool/pool.h"


/* Signals reach the pool through a self-pipe (its cancel fd), and blocked
 * output writes through this flag. */
static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t got_signal;
static int stdout_closed; /* fd 1 was closed at start (now /dev/null) */

static void on_signal(int sig)
{
    int e = errno;
    unsigned char b = (unsigned char)sig;
    got_signal = sig;
    if (write(sig_pipe[1], &b, 1) < 0) {
        /* the pipe is full: a signal is already pending */
    }
    errno = e;
}

static int setup_signals(void)
{
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGHUP, &sa, NULL) != 0)
        return -1;
    /* A closed stdout must show up as EPIPE from write, not kill us
     * before the workers are stopped. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Descriptors 0-2 must be open, or a pipe or socket would land there. */
static int std_fds_open(void)
{
    for (int fd = 0; fd < 3; fd++) {
        /* a closed stdout is held by /dev/null opened read-only: results
         * written there fail (EBADF) and say so, instead of vanishing */
        if (fcntl(fd, F_GETFD) >= 0)
            continue;
        if (open("/dev/null", fd == 1 ? O_RDONLY : O_RDWR) != fd)
            return -1;
        stdout_closed |= fd == 1;
    }
    return 0;
}

/* Out of descriptors (or memory), errno e: a system error, not the
 * user's (exit 3, not 2). */
static int short_of(int e)
{
    return e == EMFILE || e == ENFILE || e == ENOMEM;
}

/* The input: 0, or the -a file; -1 after a message (-2: a system error).
 * One rule: an input that cannot be used (missing, unreadable, a
 * directory) is exit 2 before anything runs; a read that fails later is
 * an I/O error, exit 3. */
static int open_input(const struct cli *cl)
{
    int fd = 0;
    if (cl->arg_file && strcmp(cl->arg_file, "-") != 0) {
        fd = open(cl->arg_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            fprintf(stderr, "taskpool: %s: %s\n", cl->arg_file,
                    tp__errtext(e));
            return short_of(e) ? -2 : -1;
        }
    }
    struct stat st;
    if (!cl->nargs && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "taskpool: %s: %s\n",
                fd ? cl->arg_file : "standard input", strerror(EISDIR));
        if (fd > 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* The output tells the log around each write (joblog.h). */
static void on_writing(void *arg, uint64_t from, const char *p, size_t n)
{
    tp__joblog_writing(arg, from, p, n);
}

static void on_wrote(void *arg, uint64_t total)
{
    tp__joblog_written(arg, total);
}

static void on_telling(void *arg, uint64_t index, const char *p, size_t n)
{
    tp__joblog_telling(arg, index, p, n);
}

static void on_told(void *arg, uint64_t index, int ok)
{
    tp__joblog_told(arg, index, ok);
}

/* What the output needs of the pool (the same on every rank of --mpi). */
static void pool_output_options(struct cli *cl)
{
    cl->opt.measure = cl->jsonl || cl->joblog;
    cl->opt.cancel_fd = sig_pipe[0];
    /* plain text output: successful results travel in bulk */
    cl->opt.text_results = !cl->jsonl && !cl->tag && !cl->joblog &&
                           cl->opt.timeout_pct == 0;
    cl->opt.text_term = cl->print0 ? '\0' : '\n';
}

/* Under --mpi, a rank lost may be the job ending: rank 0's own MPI
 * process killed closes every rank's socket a moment before its death
 * signals this process (PR_SET_PDEATHSIG).  So before a rank is said to be
 * lost, that signal gets 100 ms to come: 1 if it did, or the bridge has
 * gone, and the launcher's line is what to say. */
static pid_t bridge_pid;
static int job_ending(void)
{
    if (!bridge_pid)
        return got_signal != 0;
    for (int i = 0; i < 10 && !got_signal && getppid() == bridge_pid; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    if (!got_signal && getppid() != bridge_pid)
        got_signal = SIGTERM;
    return got_signal != 0;
}

/* The output, the joblog and the pool's options for them.  0, or an exit
 * status after a message. */
static int setup_output(struct cli *cl, struct tp__sink *s, int input_fd)
{
    char err[1024];
    s->logging = 0;
    s->held_err = 0;
    s->lost = 0;
    s->ending = cl->mpi ? job_ending : NULL;
    s->unordered = cl->opt.unordered;
    if (tp__output_init(&s->o, 1) != 0)
        return EXIT_RUNTIME;
    if (cl->joblog) {
        if (tp__joblog_open(&s->jl, cl->joblog, cl->resume,
                           cl->nargs ? -1 : input_fd, err, sizeof err) != 0) {
            /* (the log or its held file: the message names which, and
             * says strerror's words, whatever errno is after cleaning up) */
            int e = strstr(err, strerror(EMFILE))   ? EMFILE
                    : strstr(err, strerror(ENFILE)) ? ENFILE
                                                    : 0;
            const char *colon = strrchr(err, ':');
            if (e)
                fprintf(stderr, "taskpool: %.*s: %s\n",
                        colon ? (int)(colon - err) : (int)strlen(err), err,
                        tp__errtext(e));
            else
                fprintf(stderr, "taskpool: %s\n", err);
            tp__output_free(&s->o);
            return e ? EXIT_RUNTIME : EXIT_USAGE;
        }
        s->logging = 1;
        s->o.writing = on_writing;
        s->o.wrote = on_wrote;
        s->o.telling = on_telling;
        s->o.told = on_told;
        s->o.wrote_arg = &s->jl;
        struct stat st;
        if (fstat(1, &st) == 0 && !S_ISREG(st.st_mode))
            s->o.piece = PIPE_BUF;
    }
    struct tp__output *o = &s->o;
    if (cl->print0)
        o->term = '\0';
    o->jsonl = cl->jsonl;
    o->tag = cl->tag;
    o->stop = &got_signal;
    o->progress = cl->progress;
    o->progress_tty = cl->progress && isatty(2);
    o->total = (uint64_t)cl->nargs;
    pool_output_options(cl);
    return 0;
}

/* Close the output and the log: status, or 3 if the log could not be
 * written (after a message). */
static int close_sink(const struct cli *cl, struct tp__sink *s, int status)
{
    tp__output_free(&s->o);
    if (s->logging && tp__joblog_close(&s->jl) != 0 &&
        (status == EXIT_OK || status == EXIT_FAILED_INPUTS)) {
        fprintf(stderr, "taskpool: %s: %s\n", cl->joblog, strerror(errno));
        status = EXIT_RUNTIME;
    }
    return status;
}

/* The exit status of a run that ended with r (0 or -1), saying why. */
static int run_status(const struct cli *cl, struct tp__output *o, int r,
                      enum tp_error pe, const char *msg, int read_err)
{
    if (pe == TP_ERR_CANCELLED && cl->mpi && !got_signal)
        got_signal = SIGTERM; /* a rank stopped by the launcher: ending */
    if (pe == TP_ERR_SYSTEM && cl->mpi && bridge_pid)
        job_ending();
    if (got_signal && cl->mpi && got_signal == SIGTERM)
        /* mpirun and srun end a job with SIGTERM: after Ctrl-C or
         * scancel, or when a rank died (the launcher says which) */
        fprintf(stderr, "taskpool: terminated by the MPI launcher (Ctrl-C, "
                "scancel, or a rank was lost); finished inputs are in the "
                "joblog, if any\n");
    if (got_signal) /* also when it came while the workers ran fini */
        return 128 + got_signal;
    if (r == 0)
        return o->failed ? EXIT_FAILED_INPUTS : EXIT_OK;
    if (pe == TP_ERR_CANCELLED)
        return 128 + SIGINT;
    if (read_err) {
        fprintf(stderr, "taskpool: %s: %s\n",
                cl->arg_file ? cl->arg_file : "stdin",
                read_err == EFBIG ? "record exceeds the size limit"
                                  : strerror(read_err));
        return EXIT_RUNTIME;
    }
    if (pe == TP_ERR_STOPPED && o->err == EPIPE) {
        /* the reader went away: end as quietly as a killed filter */
        tp__output_free(o);
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
        return EXIT_RUNTIME;
    }
    if (pe == TP_ERR_STOPPED && o->err == EBADF) {
        fprintf(stderr, "taskpool: standard output is closed\n");
        return EXIT_RUNTIME;
    }
    if (pe == TP_ERR_STOPPED && o->err) {
        fprintf(stderr, "taskpool: write error: %s\n", strerror(o->err));
        return EXIT_RUNTIME;
    }
    fprintf(stderr, "taskpool: %s\n", msg);
    return pe == TP_ERR_HALTED                        ? EXIT_FAILED_INPUTS
           : pe == TP_ERR_INIT || pe == TP_ERR_LOAD ? EXIT_USAGE
                                                    : EXIT_RUNTIME;
}

/* Feed every input, then let the pool finish.  0 or -1. */
static int feed_all(struct tp__feed *f, const struct cli *cl, int fd)
{
    int r = cl->nargs ? tp__feed_args(f, cl->args, cl->nargs)
                      : tp__feed_fd(f, fd, cl->delim);
    /* after a halt "soon", finish lets the running tasks end */
    if (r == 0 || tp_pool_error(f->pool, NULL) == TP_ERR_HALTED)
        r = tp_pool_finish(f->pool);
    return r;
}

/* The pool for the run, or NULL with *status set after a message. */
static tp_pool *open_pool(const struct cli *cl, struct tp__sink *s, int *status)
{
    struct tp_pool_callbacks cb = TP_POOL_CALLBACKS_INIT;
    cb.result = tp__sink_result;
    cb.idle = tp__sink_idle;
    cb.arg = s;
    cb.text = tp__sink_text;
    cb.finished = tp__sink_finished;
    tp_pool *pool;
    char err[4096];
    int e = tp_pool_open(&pool, cl->spec, &cl->opt, &cb, err, sizeof err);
    if (e == TP_ERR_NONE)
        return pool;
    if (e == TP_ERR_CANCELLED || got_signal) {
        *status = 128 + (got_signal ? got_signal : SIGINT);
    } else {
        fprintf(stderr, "taskpool: %s\n", err);
        *status = e == TP_ERR_SYSTEM ? EXIT_RUNTIME : EXIT_USAGE;
    }
    return NULL;
}

/* A held result could not be written out (tp__sink_replay): why, and the
 * exit status. */
static int held_failed(const struct cli *cl, struct tp__sink *s)
{
    if (!s->held_err)
        return run_status(cl, &s->o, -1, TP_ERR_STOPPED, "cannot write "
                          "the results", 0);
    fprintf(stderr, "taskpool: %s: input %" PRIu64 "'s result cannot be "
            "read back (%s): run again with --resume to run it\n",
            s->jl.held.path, tp__held_next(&s->jl.held) + 1,
            strerror(s->held_err));
    return EXIT_RUNTIME;
}

/* The run itself: inputs through the pool to the output. */
static int run(struct cli *cl, int fd)
{
    struct tp__sink s;
    if (stdout_closed) { /* before anything runs, not after every input */
        fprintf(stderr, "taskpool: standard output is closed\n");
        return EXIT_RUNTIME;
    }
    int status = setup_output(cl, &s, fd);
    if (status != 0)
        return status;
    struct tp__feed f = {.resume = cl->resume ? &s.jl : NULL,
                        .total = &s.o.total,
                        .estimate = cl->progress ? &s.o.estimate : NULL};
    /* arguments are known: a changed one is refused before anything runs */
    if (tp__feed_check_args(&f, cl->args, cl->nargs) != 0) {
        fprintf(stderr, "taskpool: %s\n", f.msg);
        return close_sink(cl, &s, EXIT_USAGE);
    }
    s.o.total = (uint64_t)cl->nargs - f.skipped;
    cl->opt.expected = s.o.total;
    /* unordered, held results need no turn: out first, and their space
     * in the held file is free for the run */
    s.given = (uint64_t)cl->nargs;
    s.turn = 0;
    if (s.unordered && tp__sink_replay(&s, 0) != 0)
        return close_sink(cl, &s, held_failed(cl, &s));
    if (!(f.pool = open_pool(cl, &s, &status)))
        return close_sink(cl, &s, status);
    s.o.pool = f.pool;
    int r = feed_all(&f, cl, fd);
    const char *pmsg = NULL;
    char msg[4096] = "";
    enum tp_error pe = r == 0 ? TP_ERR_NONE : tp_pool_error(f.pool, &pmsg);
    if (pmsg)
        snprintf(msg, sizeof msg, "%s", pmsg);
    s.o.done = tp_pool_completed(f.pool, &s.o.done_failed);
    s.given = tp_pool_fed(f.pool);
    s.o.pool = NULL;
    tp_pool_close(f.pool); /* frees pmsg */
    /* held results after the last input that ran */
    if (r == 0 && !got_signal && (tp__sink_replay(&s, 1) != 0 ||
                                  tp__sink_idle(&s) != 0)) {
        r = -1;
        pe = TP_ERR_STOPPED;
    }
    /* results delivered before a halt or an error are written out */
    if (r != 0 && pe != TP_ERR_CANCELLED && !got_signal)
        tp__sink_idle(&s);
    if (f.changed && !got_signal) {
        fprintf(stderr, "taskpool: %s\n", f.msg);
        status = EXIT_USAGE;
    } else if (s.logging && s.jl.err && !got_signal) {
        status = EXIT_OK; /* close_sink says why */
    } else if (s.held_err && !got_signal) {
        status = held_failed(cl, &s);
    } else {
        status = run_status(cl, &s.o, r, pe, msg, f.read_err);
    }
    if (cl->progress && pe != TP_ERR_CANCELLED && !got_signal)
        tp__output_progress(&s.o, 1);
    return close_sink(cl, &s, status);
}

/* --mpi, ranks other than 0: serve the host with -j workers here.  The
 * host prints what goes wrong (it names this rank); this side says it in
 * its exit status only. */
static int serve_rank(struct cli *cl, const struct tp__mpi_role *role)
{
    char err[4096];
    pool_output_options(cl);
    tp__mpi_scrub_env();
    int e = tp_agent_serve(role->fds[0], cl->spec, &cl->opt,
                           role->names[role->rank], err, sizeof err);
    if (got_signal)
        return 128 + got_signal;
    return e == TP_ERR_NONE                       ? EXIT_OK
           : e == TP_ERR_LOAD || e == TP_ERR_INIT ? EXIT_USAGE
           : e == TP_ERR_CANCELLED                ? 128 + SIGTERM
                                                  : EXIT_RUNTIME;
}

/* --mpi: this rank's part.  Rank 0 reads the inputs and runs them through
 * the other ranks, which serve them. */
static int run_mpi(struct cli *cl)
{
    struct tp__mpi_role role;
    char err[1024];
    if (tp__mpi_start(&role, err, sizeof err) != 0) {
        if (!cl->quiet)
            fprintf(stderr, "taskpool: %s\n", err);
        return EXIT_USAGE;
    }
    int status;
    if (role.size < 2) {
        fprintf(stderr, "taskpool: --mpi needs at least 2 ranks: rank 0 "
                "reads the inputs and writes the results, the others run "
                "the tasks\n");
        status = EXIT_USAGE;
    } else if (role.rank == 0) {
        tp__mpi_direct_stdout();
        int fd = open_input(cl);
        cl->opt.remote_fds = role.fds;
        cl->opt.nremote = (unsigned)role.nfds;
        cl->opt.remote_names = (const char *const *)role.names + 1;
        bridge_pid = getppid();
        status = fd == -2 ? EXIT_RUNTIME : fd < 0 ? EXIT_USAGE : run(cl, fd);
        if (fd > 0)
            close(fd);
    } else {
        /* a node agent stopped by a signal must still go with its rank:
         * SIGTERM would wait for a SIGCONT */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        status = serve_rank(cl, &role);
    }
    tp__mpi_free(&role);
    return status;
}

int main(int argc, char **argv)
{
    struct cli cl = {.delim = '\n', .opt = TP_POOL_OPTIONS_INIT};
    if (std_fds_open() != 0 || setup_signals() != 0) {
        fprintf(stderr, "taskpool: cannot set up: %s\n", tp__errtext(errno));
        return EXIT_RUNTIME;
    }
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--mpi"))
            cl.quiet = tp__mpi_rank_env() > 0;
    int status = tp__cli_parse(argc, argv, &cl);
    if (status < 0 && cl.mpi && (cl.do_list || cl.dry_run) &&
        tp__mpi_rank_env() > 0)
        status = EXIT_OK; /* one listing for the job: rank 0's */
    if (status < 0 && cl.do_list) {
        status = tp__cli_list(cl.path.v, cl.list_only, cl.opt.init_timeout,
                             cl.format && !strcmp(cl.format, "tsv"));
    } else if (status < 0 && cl.mpi && !cl.dry_run) {
        cl.opt.plugin_path = cl.path.v;
        status = run_mpi(&cl);
    } else if (status < 0) {
        int fd = open_input(&cl);
        cl.opt.plugin_path = cl.path.v;
        if (fd < 0)
            status = fd == -2 ? EXIT_RUNTIME : EXIT_USAGE;
        else if (cl.dry_run)
            status = tp__cli_dry(cl.spec, &cl.opt, cl.args, cl.nargs, fd,
                                cl.arg_file, cl.delim);
        else
            status = run(&cl, fd);
        if (fd > 0)
            close(fd);
    }
    free(cl.path.v);
    free(cl.path.env);
    free(cl.allow_read.v);
    return status;
}
