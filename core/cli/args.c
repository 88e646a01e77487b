/* The command line's options, into struct cli (cli.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/optparse.h"
#include "common/paths.h"
#include "mpi/split.h"

#define TAKEN (-1)    /* an option taken: go on */
#define NOT_MINE (-2) /* not an option of this group */

static const char usage_text[] =
    "Usage: taskpool [OPTION]... PLUGIN:TASK [INPUT]...\n"
    "       taskpool --list [PLUGIN] [OPTION]...\n"
    "Run TASK of PLUGIN on each INPUT (or each line of standard input) in a\n"
    "pool of worker processes; write one result per input, in input order.\n"
    "\n"
    "  -j, --jobs=N           workers: N, N% of CPUs, or +N/-N more/fewer than CPUs\n"
    "  -a, --arg-file=FILE    read inputs from FILE instead of standard input\n"
    "  -0, --null             inputs end with NUL instead of newline\n"
    "      --print0           end each result with NUL instead of newline\n"
    "      --tag              prefix each result with its input and a tab\n"
    "      --format=FMT       text, or jsonl: a JSON object per input (--list: tsv)\n"
    "      --unordered        write results in completion order\n"
    "      --chunk=N          send N inputs per request (default: adaptive)\n"
    "      --timeout=T        kill a task after T s, or T% of the median (>= 1 s)\n"
    "      --init-timeout=T   seconds a worker may take to load and init (30)\n"
    "      --retries=N        run a crashed or timed-out input N more times\n"
    "      --halt=WHEN[,fail=N|fail=P%]  never, soon or now after failures\n"
    "      --max-tasks-per-child=N  replace a worker after N tasks\n"
    "      --mem-limit=SIZE   memory of a worker, at most (k, M, G)\n"
    "      --cpu-limit=T      CPU seconds of a task, at most\n"
    "      --max-procs=N      processes of a worker, itself included, at most\n"
    "      --sandbox          tasks get no files, exec, processes or sockets\n"
    "      --allow-read=DIR   with --sandbox: tasks may read below DIR\n"
    "      --joblog=FILE      write a TSV line per finished input to FILE\n"
    "      --resume           with --joblog: skip the inputs FILE has done\n"
    "      --resume-failed    ... but those that failed\n"
    "      --progress         show progress on standard error\n"
    "      --init-arg=STR     pass STR to the plugin's init hook\n"
    "      --mpi              under mpirun: rank 0 reads and writes, others work\n"
    "  -L, --plugin-path=DIR  search DIR for plugins first (repeatable)\n"
    "      --list             list the plugins found and their tasks\n"
    "      --dry-run          say what would run, and exit\n"
    "  -h, --help             display this help and exit\n"
    "  -V, --version          output version information (and MPI's) and exit\n"
    "\n"
    "Plugins: -L DIRs, TASKPOOL_PLUGIN_PATH, " TP_PLUGINDIR "; or a file\n"
    "Exit status: 0 all inputs succeeded, 1 some failed or --halt stopped\n"
    "the run, 2 usage or plugin error (or a sandbox this system cannot hold),\n"
    "3 system or I/O error, 129/130/143 on SIGHUP/SIGINT/SIGTERM.\n"
    "Full documentation: man taskpool; writing plugins: man taskpool-plugin\n";


/* Under mpirun with --mpi, every rank runs the same command line: only
 * rank 0 tells what is wrong with it, once (cl->quiet elsewhere). */
static int usage_error(const struct cli *cl, const char *fmt, const char *arg)
{
    if (cl->quiet)
        return EXIT_USAGE;
    fprintf(stderr, "taskpool: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try 'taskpool --help')\n");
    return EXIT_USAGE;
}

enum {
    OPT_CHUNK = 256, OPT_UNORDERED, OPT_INIT_ARG, OPT_LIST, OPT_PRINT0,
    OPT_FORMAT, OPT_TIMEOUT, OPT_RETRIES, OPT_HALT, OPT_MAXTASKS,
    OPT_TAG, OPT_JOBLOG, OPT_PROGRESS, OPT_DRYRUN, OPT_INIT_TIMEOUT,
    OPT_RESUME, OPT_RESUME_FAILED, OPT_MPI,
    OPT_MEM_LIMIT, OPT_CPU_LIMIT, OPT_MAX_PROCS, OPT_SANDBOX,
    OPT_ALLOW_READ,
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
    {"mem-limit", required_argument, NULL, OPT_MEM_LIMIT},
    {"cpu-limit", required_argument, NULL, OPT_CPU_LIMIT},
    {"max-procs", required_argument, NULL, OPT_MAX_PROCS},
    {"sandbox", no_argument, NULL, OPT_SANDBOX},
    {"allow-read", required_argument, NULL, OPT_ALLOW_READ},
    {"tag", no_argument, NULL, OPT_TAG},
    {"joblog", required_argument, NULL, OPT_JOBLOG},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"resume-failed", no_argument, NULL, OPT_RESUME_FAILED},
    {"mpi", no_argument, NULL, OPT_MPI},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"dry-run", no_argument, NULL, OPT_DRYRUN},
    {"init-arg", required_argument, NULL, OPT_INIT_ARG},
    {"plugin-path", required_argument, NULL, 'L'},
    {"list", no_argument, NULL, OPT_LIST},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Why getopt refused the long option arg: an argument given to one that
 * takes none, an abbreviation of several, or none at all. */
static int bad_long_option(const struct cli *cl, const struct option *lo,
                           const char *arg)
{
    const char *name = arg + (arg[0] == '-' && arg[1] == '-' ? 2 : 0);
    size_t len = strcspn(name, "=");
    const struct option *hit = NULL;
    int hits = 0;
    for (; lo->name; lo++) {
        if (strncmp(lo->name, name, len) != 0)
            continue;
        hit = lo;
        if (strlen(lo->name) == len) {
            hits = 1;
            break;
        }
        hits++;
    }
    if (hits == 1 && name[len] == '=' && hit->has_arg == no_argument)
        return usage_error(cl, "option '--%s' doesn't allow an argument",
                           hit->name);
    if (hits > 1) {
        char what[128];
        snprintf(what, sizeof what, "%.*s", (int)len, name);
        return usage_error(cl, "option '--%s' is ambiguous", what);
    }
    return usage_error(cl, "unrecognized option '%s'", arg);
}

/* The options that take a value (common/optparse.c), by their codes. */
static int take_number(struct cli *cl, int c, const char *arg)
{
    static const struct {
        int c;
        const char *name;
    } names[] = {
        {'j', "jobs"}, {OPT_CHUNK, "chunk"}, {OPT_TIMEOUT, "timeout"},
        {OPT_INIT_TIMEOUT, "init-timeout"}, {OPT_RETRIES, "retries"},
        {OPT_HALT, "halt"}, {OPT_MAXTASKS, "max-tasks-per-child"},
        {OPT_MEM_LIMIT, "mem-limit"}, {OPT_CPU_LIMIT, "cpu-limit"},
        {OPT_MAX_PROCS, "max-procs"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (names[i].c == c)
            return tp__opt_set(&cl->opt, names[i].name, arg, err,
                               sizeof err) == 0
                       ? TAKEN
                       : usage_error(cl, "%s", err);
    return NOT_MINE;
}

/* The others. */
static int take_other(struct cli *cl, int c, const char *arg)
{
    switch (c) {
    case 'a':
        if (cl->arg_file)
            return usage_error(cl, "%s", "-a/--arg-file given twice");
        cl->arg_file = arg;
        return TAKEN;
    case '0':
        cl->delim = '\0';
        return TAKEN;
    case OPT_FORMAT: /* tsv is --list's: checked after the options */
        if (strcmp(arg, "text") && strcmp(arg, "jsonl") &&
            strcmp(arg, "tsv"))
            return usage_error(cl, cl->do_list ? "invalid --list format '%s' "
                                             "(text or tsv)"
                                           : "invalid format '%s' (text or "
                                             "jsonl)", arg);
        cl->jsonl = !strcmp(arg, "jsonl");
        cl->format = arg;
        return TAKEN;
    case OPT_SANDBOX:
        cl->opt.sandbox = 1;
        return TAKEN;
    case OPT_ALLOW_READ:
        if (tp__cli_paths_add(&cl->allow_read, arg) != 0)
            return EXIT_RUNTIME;
        return TAKEN;
    case OPT_TAG:
        cl->tag = 1;
        return TAKEN;
    case OPT_JOBLOG:
        if (!*arg)
            return usage_error(cl, "%s", "--joblog needs a FILE");
        cl->joblog = arg;
        return TAKEN;
    case OPT_RESUME:
        if (cl->resume != TP_RESUME_FAILED)
            cl->resume = TP_RESUME_DONE;
        return TAKEN;
    case OPT_RESUME_FAILED:
        cl->resume = TP_RESUME_FAILED;
        return TAKEN;
    case OPT_MPI:
        cl->mpi = 1;
        return TAKEN;
    case OPT_PROGRESS:
        cl->progress = 1;
        return TAKEN;
    case OPT_DRYRUN:
        cl->dry_run = 1;
        return TAKEN;
    case OPT_PRINT0:
        cl->print0 = 1;
        return TAKEN;
    case OPT_UNORDERED:
        cl->opt.unordered = 1;
        return TAKEN;
    case OPT_INIT_ARG:
        cl->opt.init_arg = arg;
        return TAKEN;
    case 'L':
        if (tp__cli_paths_add(&cl->path, arg) != 0)
            return EXIT_RUNTIME;
        return TAKEN;
    case OPT_LIST:
        cl->do_list = 1;
        return TAKEN;
    case 'h':
    case 'V':
        if (cl->quiet) /* under --mpi, rank 0 prints for the job */
            return EXIT_OK;
        if (c == 'V')
            break;
        fputs(usage_text, stdout);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
    default:
        return NOT_MINE;
    }
    printf("taskpool %s (plugin ABI %d.%d, MPI: %s)\n",
           PACKAGE_VERSION, TASKPOOL_ABI_MAJOR, TASKPOOL_ABI_MINOR,
           tp__mpi_bridge_path() ? "yes, with " TP_MPI_NAME : "no");
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}

/* What getopt refused (c): the exit status after a message. */
static int refused(const struct cli *cl, int c, char **argv)
{
    if (c == ':')
        return usage_error(cl, "option '%s' requires an argument",
                           argv[optind - 1]);
    if (optopt > 0 && optopt < 256)
        return usage_error(cl, "invalid option -- '%s'",
                           (char[]){(char)optopt, 0});
    return bad_long_option(cl, longopts, argv[optind - 1]);
}

/* After the options: what they say together, and the operands. */
static int operands(struct cli *cl, int argc, char **argv)
{
    if (tp__cli_paths_add_env(&cl->path) != 0)
        return EXIT_RUNTIME;
    /* a test knob, not an option (HACKING.md): the CLI's tests run again
     * through the exec path that threaded embedders use */
    const char *ew = getenv("TASKPOOL_EXEC_WORKERS");
    cl->opt.exec_workers = ew && !strcmp(ew, "1");
    if (cl->allow_read.n && !cl->opt.sandbox)
        return usage_error(cl, "%s", "--allow-read applies to --sandbox, which "
                                     "is not given");
    cl->opt.allow_read = cl->allow_read.v;
    if (cl->jsonl && (cl->tag || cl->print0))
        return usage_error(cl, "%s", "--tag and --print0 apply to text output, "
                                     "not to --format jsonl");
    if (cl->do_list) {
        if (!cl->list_only && optind < argc)
            cl->list_only = argv[optind++];
        if (optind < argc)
            return usage_error(cl, "--list takes at most one PLUGIN, got '%s'",
                                   argv[optind]);
        if (cl->jsonl)
            return usage_error(cl, "invalid --list format '%s' (text or tsv)",
                                   cl->format);
        return -1;
    }
    if (cl->format && !strcmp(cl->format, "tsv"))
        return usage_error(cl, "invalid format '%s' (text or jsonl)",
                           cl->format);
    if (cl->resume && !cl->joblog)
        return usage_error(cl, "%s",
                           cl->resume == TP_RESUME_DONE
                               ? "--resume needs --joblog FILE"
                               : "--resume-failed needs --joblog FILE");
    if (optind >= argc)
        return usage_error(cl, "%s", "missing PLUGIN:TASK");
    cl->spec = argv[optind++];
    cl->args = argv + optind;
    cl->nargs = argc - optind;
    if (cl->nargs && cl->arg_file)
        return usage_error(cl, "%s", "inputs given both as arguments and with "
                                     "-a/--arg-file");
    return -1;
}

int tp__cli_parse(int argc, char **argv, struct cli *cl)
{
    int c;
    opterr = 0;
    for (;;) {
        while ((c = getopt_long(argc, argv, "+:j:a:0L:hV", longopts,
                                NULL)) != -1) {
            int r = take_number(cl, c, optarg);
            if (r == NOT_MINE)
                r = take_other(cl, c, optarg);
            if (r == NOT_MINE)
                return refused(cl, c, argv);
            if (r != TAKEN)
                return r;
        }
        /* --list [PLUGIN] [OPTION]...: options may follow the PLUGIN
         * (not after "--") */
        if (!cl->do_list || cl->list_only || optind >= argc ||
            !strcmp(argv[optind - 1], "--"))
            break;
        cl->list_only = argv[optind++];
    }
    return operands(cl, argc, argv);
}
