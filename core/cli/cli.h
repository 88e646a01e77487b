/* The command line's pieces besides main.c: the plugin search path (searchpath.c)
 * and the commands that only look at plugins (listing.c). */
#ifndef TP_CLI_H
#define TP_CLI_H

#include <stddef.h>

#include "cli/joblog.h"
#include "taskpool/pool.h"

enum {
    EXIT_OK = 0,
    EXIT_FAILED_INPUTS = 1,
    EXIT_USAGE = 2,
    EXIT_RUNTIME = 3,
};

/* The plugin search path: -L dirs, then TASKPOOL_PLUGIN_PATH's. */
struct paths {
    const char **v;
    size_t n, cap;
    char *env; /* copy of TASKPOOL_PLUGIN_PATH, split in place */
};
/* 0, or -1 (ENOMEM); v stays NULL-terminated. */
int tp__cli_paths_add(struct paths *p, const char *dir);
int tp__cli_paths_add_env(struct paths *p);

/* args.c: everything the command line says */
struct cli {
    struct tp_pool_options opt;
    struct paths path;
    struct paths allow_read; /* --allow-read DIRs */
    const char *arg_file, *joblog;
    const char *list_only, *format; /* --list PLUGIN, --format */
    char delim;
    int do_list, print0, jsonl, tag, progress, dry_run;
    enum tp__resume resume;
    int mpi;
    int quiet;   /* a rank of --mpi other than 0: no usage messages */
    const char *spec;
    char **args; /* inputs given as arguments */
    int nargs;
};

/* Parse the options and operands into cl (zeroed, delim '\n', quiet
 * set): -1 to go on, else the exit status (--help, --version, a usage
 * error, after its message). */
int tp__cli_parse(int argc, char **argv, struct cli *cl);

/* listing.c: --list [PLUGIN] (tsv: --format=tsv, a PLUGIN<TAB>TASK<TAB>
 * SUMMARY line per task) and --dry-run; return the exit status */
int tp__cli_list(const char *const *path, const char *only, double timeout,
                int tsv);
int tp__cli_dry(const char *spec, const struct tp_pool_options *o,
               char *const *args, int nargs, int fd, const char *arg_file,
               char delim);

#endif
