/* taskpool: the command line.  Reads inputs, feeds the pool, and decides
 * the exit status; the work happens in libtaskpool. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "output.h"
#include "taskpool/pool.h"


/* Signals reach the pool through a self-pipe (its cancel fd), and blocked
 * output writes through this flag. */
static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t got_signal;

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
    for (int fd = 0; fd < 3; fd++)
        /* a closed stdout is held by /dev/null opened read-only: results
         * written there fail (EBADF) and say so, instead of vanishing */
        if (fcntl(fd, F_GETFD) < 0 &&
            open("/dev/null", fd == 1 ? O_RDONLY : O_RDWR) != fd)
            return -1;
    return 0;
}

static const char usage_text[] =
    "Usage: taskpool [OPTION]... PLUGIN:TASK [INPUT]...\n"
    "       taskpool --list [PLUGIN] [OPTION]...\n"
    "Run TASK of PLUGIN on each INPUT (or each line of standard input) in a\n"
    "pool of worker processes; write one result per input, in input order.\n"
    "\n"
    "  -j, --jobs=N           workers: N, N% of the CPUs, or CPUs+N / CPUs-N\n"
    "                         as +N / -N (default: one per CPU)\n"
    "  -a, --arg-file=FILE    read inputs from FILE instead of standard input\n"
    "  -0, --null             inputs end with NUL instead of newline\n"
    "      --print0           end each result with NUL instead of newline\n"
    "      --tag              prefix each result with its input and a tab\n"
    "      --format=FMT       text (default), or jsonl: a JSON object per input;\n"
    "                         with --list: text or tsv\n"
    "      --unordered        write results in completion order\n"
    "      --chunk=N          send N inputs per request (default: adaptive)\n"
    "      --timeout=T        kill a task after T seconds, or T% of the median\n"
    "                         (at least 1 s)\n"
    "      --init-timeout=T   a worker must load the plugin and run init\n"
    "                         within T seconds (default: 30)\n"
    "      --retries=N        run a crashed or timed-out input N more times\n"
    "      --halt=WHEN[,fail=N|fail=P%]  never, soon or now after failures\n"
    "      --max-tasks-per-child=N  replace a worker after N tasks\n"
    "      --joblog=FILE      write a TSV line per finished input to FILE\n"
    "      --progress         show progress on standard error\n"
    "      --init-arg=STR     pass STR to the plugin's init hook\n"
    "  -L, --plugin-path=DIR  search DIR for plugins first (repeatable)\n"
    "      --list             list the plugins found and their tasks\n"
    "      --dry-run          say what would run, and exit\n"
    "  -h, --help             display this help and exit\n"
    "  -V, --version          output version information and exit\n"
    "\n"
    "Plugins: each -L DIR, each dir of TASKPOOL_PLUGIN_PATH, then\n"
    TP_PLUGINDIR "; a PLUGIN with '/' is a file.\n"
    "Exit status: 0 all inputs succeeded, 1 some failed or --halt stopped\n"
    "the run, 2 usage or plugin error, 3 system or I/O error, 129/130/143 on\n"
    "SIGHUP/SIGINT/SIGTERM.\n"
    "Full documentation: man taskpool; writing plugins: man taskpool-plugin\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "taskpool: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try 'taskpool --help')\n");
    return EXIT_USAGE;
}

/* Feed records from fd until its end.  Returns 0 or -1 (pool error, or
 * errno set for a read error). */
static int feed_fd(tp_pool *p, int fd, char delim, int *read_err,
                   uint64_t *total)
{
    struct tp_input in;
    if (tp_input_init(&in, fd, delim, TP_POOL_RECORD_MAX) != 0) {
        *read_err = errno;
        return -1;
    }
    int r = 0;
    for (;;) {
        const char *rec;
        size_t len;
        if (tp_input_records(&in, &rec, &len)) {
            if ((r = tp_pool_feed_records(p, rec, len, delim)) != 0)
                break;
            continue;
        }
        if (in.eof) { /* a last record without its terminator counts */
            if (tp_input_next(&in, &rec, &len) > 0)
                r = tp_pool_feed(p, rec, len);
            *total = tp_pool_fed(p); /* now progress can show an ETA */
            break;
        }
        if ((r = tp_pool_wait_fd(p, fd)) != 0)
            break;
        if (tp_input_fill(&in) != 0) {
            *read_err = errno;
            r = -1;
            break;
        }
    }
    tp_input_free(&in);
    return r;
}

/* Leave main through `out`, which frees what was allocated. */
#define FAIL_WITH(st)                                                          \
    do {                                                                       \
        status = (st);                                                         \
        goto out;                                                              \
    } while (0)

int main(int argc, char **argv)
{
    enum {
        OPT_CHUNK = 256, OPT_UNORDERED, OPT_INIT_ARG, OPT_LIST, OPT_PRINT0,
        OPT_FORMAT, OPT_TIMEOUT, OPT_RETRIES, OPT_HALT, OPT_MAXTASKS,
        OPT_TAG, OPT_JOBLOG, OPT_PROGRESS, OPT_DRYRUN, OPT_INIT_TIMEOUT,
    };
    static const struct option longopts[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"arg-file", required_argument, NULL, 'a'},
        {"null", no_argument, NULL, '0'},
        {"print0", no_argument, NULL, OPT_PRINT0},
        {"chunk", required_argument, NULL, OPT_CHUNK},
        {"unordered", no_argument, NULL, OPT_UNORDERED},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"init-timeout", required_argument, NULL, OPT_INIT_TIMEOUT},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"halt", required_argument, NULL, OPT_HALT},
        {"max-tasks-per-child", required_argument, NULL, OPT_MAXTASKS},
        {"tag", no_argument, NULL, OPT_TAG},
        {"joblog", required_argument, NULL, OPT_JOBLOG},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"dry-run", no_argument, NULL, OPT_DRYRUN},
        {"init-arg", required_argument, NULL, OPT_INIT_ARG},
        {"plugin-path", required_argument, NULL, 'L'},
        {"list", no_argument, NULL, OPT_LIST},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int status = EXIT_OK;
    struct tp_pool_options opt = {0};
    struct paths path = {0};
    const char *arg_file = NULL;
    char delim = '\n';
    int do_list = 0, print0 = 0, jsonl = 0, tag = 0, progress = 0;
    int dry_run = 0, c;
    const char *joblog = NULL;
    const char *list_only = NULL, *format = NULL; /* --list PLUGIN, --format */

    if (std_fds_open() != 0 || setup_signals() != 0) {
        fprintf(stderr, "taskpool: cannot set up: %s\n", strerror(errno));
        return EXIT_RUNTIME;
    }
    opterr = 0;
parse:
    while ((c = getopt_long(argc, argv, "+:j:a:0L:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (tp_cli_parse_jobs(optarg, &opt.jobs) != 0)
                FAIL_WITH(usage_error("invalid number of jobs '%s' (N, N%%, +N "
                                   "or -N)", optarg));
            break;
        case 'a':
            if (arg_file)
                FAIL_WITH(usage_error("%s", "-a/--arg-file given twice"));
            arg_file = optarg;
            break;
        case '0':
            delim = '\0';
            break;
        case OPT_CHUNK:
            if (tp_cli_parse_count(optarg, &opt.chunk) != 0)
                FAIL_WITH(usage_error("invalid chunk size '%s' (1 to 100000)",
                                   optarg));
            break;
        case OPT_FORMAT: /* tsv is --list's: checked after the options */
            if (strcmp(optarg, "text") && strcmp(optarg, "jsonl") &&
                strcmp(optarg, "tsv"))
                FAIL_WITH(usage_error(do_list ? "invalid --list format '%s' "
                                             "(text or tsv)"
                                           : "invalid format '%s' (text or "
                                             "jsonl)", optarg));
            jsonl = !strcmp(optarg, "jsonl");
            format = optarg;
            break;
        case OPT_TIMEOUT: {
            double v;
            int pct;
            if (tp_cli_parse_seconds(optarg, &v, &pct) != 0)
                FAIL_WITH(usage_error("invalid timeout '%s' (0.001 to 1000000 "
                                   "seconds, or a percentage like 200%%)",
                                   optarg));
            if (pct)
                opt.timeout_pct = v;
            else
                opt.timeout = v;
            break;
        }
        case OPT_INIT_TIMEOUT: {
            int pct;
            if (tp_cli_parse_seconds(optarg, &opt.init_timeout, &pct) != 0 ||
                pct)
                FAIL_WITH(usage_error("invalid init timeout '%s' (0.001 to "
                                   "1000000 seconds)", optarg));
            break;
        }
        case OPT_RETRIES:
            if (strcmp(optarg, "0") &&
                tp_cli_parse_count(optarg, &opt.retries) != 0)
                FAIL_WITH(usage_error("invalid number of retries '%s' (0 to "
                                   "100000)", optarg));
            break;
        case OPT_HALT:
            if (tp_cli_parse_halt(optarg, &opt) != 0)
                FAIL_WITH(usage_error("invalid halt policy '%s' (never, soon or "
                                   "now, then optionally ,fail=N or ,fail=P%%)",
                                   optarg));
            break;
        case OPT_MAXTASKS:
            if (tp_cli_parse_count(optarg, &opt.max_tasks) != 0)
                FAIL_WITH(usage_error("invalid --max-tasks-per-child '%s' (1 to "
                                   "100000)", optarg));
            break;
        case OPT_TAG:
            tag = 1;
            break;
        case OPT_JOBLOG:
            joblog = optarg;
            break;
        case OPT_PROGRESS:
            progress = 1;
            break;
        case OPT_DRYRUN:
            dry_run = 1;
            break;
        case OPT_PRINT0:
            print0 = 1;
            break;
        case OPT_UNORDERED:
            opt.unordered = 1;
            break;
        case OPT_INIT_ARG:
            opt.init_arg = optarg;
            break;
        case 'L':
            if (tp_cli_paths_add(&path, optarg) != 0)
                FAIL_WITH(EXIT_RUNTIME);
            break;
        case OPT_LIST:
            do_list = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            FAIL_WITH(fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME);
        case 'V':
            printf("taskpool %s (plugin ABI %d.%d)\n", PACKAGE_VERSION,
                   TASKPOOL_ABI_MAJOR, TASKPOOL_ABI_MINOR);
            FAIL_WITH(fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME);
        case ':':
            FAIL_WITH(usage_error("option '%s' requires an argument",
                               argv[optind - 1]));
        default:
            if (optopt)
                FAIL_WITH(usage_error("invalid option -- '%s'",
                                   (char[]){(char)optopt, 0}));
            FAIL_WITH(usage_error("unrecognized option '%s'", argv[optind - 1]));
        }
    }
    /* --list [PLUGIN] [OPTION]...: options may follow the PLUGIN (not
     * after "--") */
    if (do_list && !list_only && optind < argc &&
        strcmp(argv[optind - 1], "--")) {
        list_only = argv[optind++];
        goto parse;
    }
    if (tp_cli_paths_add_env(&path) != 0)
        FAIL_WITH(EXIT_RUNTIME);
    if (jsonl && (tag || print0))
        FAIL_WITH(usage_error("%s", "--tag and --print0 apply to text output, "
                                    "not to --format jsonl"));
    if (do_list) {
        if (!list_only && optind < argc)
            list_only = argv[optind++];
        if (optind < argc)
            status = usage_error("--list takes at most one PLUGIN, got '%s'",
                                 argv[optind]);
        else if (jsonl)
            status = usage_error("invalid --list format '%s' (text or tsv)",
                                 format);
        else
            status = tp_cli_list(path.v, list_only, opt.init_timeout,
                                 format && !strcmp(format, "tsv"));
        goto out;
    }
    if (format && !strcmp(format, "tsv")) {
        status = usage_error("invalid format '%s' (text or jsonl)", format);
        goto out;
    }
    if (optind >= argc) {
        status = usage_error("%s", "missing PLUGIN:TASK");
        goto out;
    }
    const char *spec = argv[optind++];
    int nargs = argc - optind;
    if (nargs && arg_file) {
        status = usage_error("%s", "inputs given both as arguments and with "
                                   "-a/--arg-file");
        goto out;
    }
    int fd = 0;
    if (arg_file && strcmp(arg_file, "-") != 0) {
        fd = open(arg_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "taskpool: %s: %s\n", arg_file, strerror(errno));
            status = EXIT_USAGE;
            goto out;
        }
    }
    /* one rule for inputs: one that cannot be used (missing, unreadable, a
     * directory) is exit 2 before anything runs; a read that fails later
     * is an I/O error, exit 3 */
    struct stat in_st;
    if (!nargs && fstat(fd, &in_st) == 0 && S_ISDIR(in_st.st_mode)) {
        fprintf(stderr, "taskpool: %s: %s\n",
                fd ? arg_file : "standard input", strerror(EISDIR));
        status = EXIT_USAGE;
        goto out;
    }
    opt.plugin_path = path.v;
    opt.expected = (uint64_t)nargs;
    if (dry_run) {
        status = tp_cli_dry(spec, &opt, argv + optind, nargs, fd, arg_file,
                            delim);
        goto out;
    }
    int logfd = -1;
    if (joblog) {
        logfd = open(joblog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (logfd < 0) {
            fprintf(stderr, "taskpool: %s: %s\n", joblog, strerror(errno));
            status = EXIT_USAGE;
            goto out;
        }
    }

    struct tp_output o;
    if (tp_output_init(&o, 1) != 0) {
        status = EXIT_RUNTIME;
        goto out;
    }
    if (print0)
        o.term = '\0';
    o.jsonl = jsonl;
    o.tag = tag;
    o.stop = &got_signal;
    o.progress = progress;
    o.progress_tty = progress && isatty(2);
    o.total = (uint64_t)nargs;
    if (logfd >= 0 && tp_output_joblog_open(&o, logfd) != 0) {
        fprintf(stderr, "taskpool: %s: %s\n", joblog, strerror(errno));
        status = EXIT_RUNTIME;
        tp_output_free(&o);
        goto out;
    }
    opt.measure = jsonl || logfd >= 0;
    opt.cancel_fd = sig_pipe[0];
    struct tp_pool_callbacks cb = {tp_output_result, tp_output_flush, &o,
                                   tp_output_text, tp_output_finished};
    /* plain text output: successful results travel in bulk */
    opt.text_results = !jsonl && !tag && logfd < 0 && opt.timeout_pct == 0;
    opt.text_term = o.term;
    tp_pool *pool;
    char err[4096];
    int e = tp_pool_open(&pool, spec, &opt, &cb, err, sizeof err);
    if (e != TP_ERR_NONE) {
        if (e == TP_ERR_CANCELLED || got_signal) {
            status = 128 + (got_signal ? got_signal : SIGINT);
        } else {
            fprintf(stderr, "taskpool: %s\n", err);
            status = e == TP_ERR_SYSTEM ? EXIT_RUNTIME : EXIT_USAGE;
        }
        tp_output_free(&o);
        goto out;
    }
    o.pool = pool;
    int r = 0, read_err = 0;
    if (nargs) {
        for (int i = 0; i < nargs && r == 0; i++)
            r = tp_pool_feed(pool, argv[optind + i], strlen(argv[optind + i]));
    } else {
        r = feed_fd(pool, fd, delim, &read_err, &o.total);
    }
    /* after a halt "soon", finish lets the running tasks end */
    if (r == 0 || tp_pool_error(pool, NULL) == TP_ERR_HALTED)
        r = tp_pool_finish(pool);
    const char *pmsg;
    char msg[4096];
    enum tp_error pe = r == 0 ? TP_ERR_NONE : tp_pool_error(pool, &pmsg);
    snprintf(msg, sizeof msg, "%s", r == 0 ? "" : pmsg);
    o.done = tp_pool_completed(pool, &o.done_failed);
    o.pool = NULL;
    tp_pool_close(pool); /* frees pmsg */
    /* results delivered before a halt or an error are written out */
    if (r != 0 && pe != TP_ERR_CANCELLED && !got_signal)
        tp_output_flush(&o);
    if (got_signal) { /* also when it came while the workers ran fini */
        status = 128 + got_signal;
    } else if (r == 0) {
        status = o.failed ? EXIT_FAILED_INPUTS : EXIT_OK;
    } else if (pe == TP_ERR_CANCELLED) {
        status = 128 + (got_signal ? got_signal : SIGINT);
    } else if (read_err) {
        fprintf(stderr, "taskpool: %s: %s\n", arg_file ? arg_file : "stdin",
                read_err == EFBIG ? "record exceeds the size limit"
                                  : strerror(read_err));
        status = EXIT_RUNTIME;
    } else if (pe == TP_ERR_STOPPED && o.err == EPIPE) {
        /* the reader went away: end as quietly as a killed filter */
        tp_output_free(&o);
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
        status = EXIT_RUNTIME;
    } else if (pe == TP_ERR_STOPPED && o.err == EBADF) {
        fprintf(stderr, "taskpool: standard output is closed\n");
        status = EXIT_RUNTIME;
    } else if (pe == TP_ERR_STOPPED && o.err) {
        fprintf(stderr, "taskpool: write error: %s\n", strerror(o.err));
        status = EXIT_RUNTIME;
    } else {
        fprintf(stderr, "taskpool: %s\n", msg);
        status = pe == TP_ERR_HALTED                     ? EXIT_FAILED_INPUTS
                 : pe == TP_ERR_INIT || pe == TP_ERR_LOAD ? EXIT_USAGE
                                                          : EXIT_RUNTIME;
    }
    if (progress && pe != TP_ERR_CANCELLED && !got_signal)
        tp_output_progress(&o, 1);
    tp_output_free(&o);
    if (fd > 0)
        close(fd);
    if (logfd >= 0 && close(logfd) != 0 && status == EXIT_OK) {
        fprintf(stderr, "taskpool: %s: %s\n", joblog, strerror(errno));
        status = EXIT_RUNTIME;
    }
out:
    free(path.v);
    free(path.env);
    return status;
}
