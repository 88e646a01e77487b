/* The commands that only look at plugins: --list and --dry-run. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/input.h"
#include "cli/output.h"

static int print_plugin(void *arg, const struct tp_plugin_info *info)
{
    (void)arg;
    const struct tp_task *t = info->desc->tasks;
    int w = 0;
    for (size_t i = 0; t[i].name; i++)
        if ((int)strlen(t[i].name) > w)
            w = (int)strlen(t[i].name);
    printf("%s %s  %s\n", info->name, info->desc->version, info->file);
    for (size_t i = 0; t[i].name; i++)
        printf("  %-*s  %s\n", w, t[i].name,
               t[i].summary ? t[i].summary : "");
    return 0;
}

/* a TSV field: tabs and line ends would split the record, so they become
 * spaces */
static void put_field(const char *s, int end)
{
    for (; s && *s; s++)
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
    putchar(end);
}

/* --list --format=tsv: PLUGIN<TAB>TASK<TAB>SUMMARY, a line per task */
static int print_plugin_tsv(void *arg, const struct tp_plugin_info *info)
{
    (void)arg;
    for (const struct tp_task *t = info->desc->tasks; t->name; t++) {
        put_field(info->name, '\t');
        put_field(t->name, '\t');
        put_field(t->summary, '\n');
    }
    return 0;
}

static void print_bad(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "taskpool: skipping %s\n", msg);
}

int tp__cli_list(const char *const *path, const char *only, double timeout,
                int tsv)
{
    char err[4096];
    int r = tp_plugins_each(path, only, timeout,
                            tsv ? print_plugin_tsv : print_plugin, print_bad,
                            NULL, err, sizeof err);
    if (r != 0) {
        fprintf(stderr, "taskpool: %s\n", err);
        return EXIT_USAGE;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "taskpool: write error: %s\n", strerror(errno));
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

struct dry_ctx {
    const char *task;
    int found;
    char tasks[1024]; /* "a, b, c" for the error message */
};

static int dry_plugin(void *arg, const struct tp_plugin_info *info)
{
    struct dry_ctx *d = arg;
    size_t used = 0;
    for (size_t i = 0; info->desc->tasks[i].name; i++) {
        d->found |= !strcmp(info->desc->tasks[i].name, d->task);
        if (used < sizeof d->tasks)
            used += (size_t)snprintf(d->tasks + used, sizeof d->tasks - used,
                                     "%s%s", i ? ", " : "",
                                     info->desc->tasks[i].name);
    }
    if (d->found)
        printf("plugin  %s %s %s\n", info->name, info->desc->version,
               info->file);
    return 0;
}

#define DRY_SHOWN 10 /* inputs --dry-run shows */

/* "input   N  RECORD" for the first DRY_SHOWN inputs. */
static void show_input(uint64_t n, const char *rec, size_t len)
{
    char esc[4 * 200 + 4];
    if (n > DRY_SHOWN)
        return;
    tp__escape(rec, len, 200, esc);
    printf("input   %llu  %s\n", (unsigned long long)n, esc);
}

/* Read every record of fd, showing the first ones; *n counts them. */
static int count_inputs(int fd, char delim, uint64_t *n)
{
    struct tp__input in;
    if (tp__input_init(&in, fd, delim, TP_POOL_RECORD_MAX) != 0)
        return -1;
    int r = 0;
    for (;;) {
        const char *rec;
        size_t len;
        int k = tp__input_next(&in, &rec, &len);
        if (k > 0) {
            show_input(++*n, rec, len);
        } else if (k < 0) {
            break;
        } else if (tp__input_fill(&in) != 0) {
            r = -1;
            break;
        }
    }
    tp__input_free(&in);
    return r;
}

/* --dry-run: resolve and check everything, start nothing; show the
 * inputs (the first DRY_SHOWN, and how many). */
int tp__cli_dry(const char *spec, const struct tp_pool_options *o,
               char *const *args, int nargs, int fd, const char *arg_file,
               char delim)
{
    const char *colon = strrchr(spec, ':');
    char plugin[4096], err[4096];
    if (!colon || colon == spec || !colon[1] ||
        (size_t)(colon - spec) >= sizeof plugin) {
        fprintf(stderr, "taskpool: expected PLUGIN:TASK, got '%s'\n", spec);
        return EXIT_USAGE;
    }
    snprintf(plugin, sizeof plugin, "%.*s", (int)(colon - spec), spec);
    struct dry_ctx d = {colon + 1, 0, ""};
    if (tp_plugins_each(o->plugin_path, plugin, o->init_timeout, dry_plugin,
                        NULL, &d, err, sizeof err) != 0) {
        fprintf(stderr, "taskpool: %s\n", err);
        return EXIT_USAGE;
    }
    if (!d.found) {
        fprintf(stderr, "taskpool: plugin '%s' has no task '%s' (tasks: %s)\n",
                plugin, d.task, d.tasks);
        return EXIT_USAGE;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf("task    %s\n", d.task);
    printf("jobs    %u\n", o->jobs ? o->jobs : ncpu > 0 ? (unsigned)ncpu : 1);
    if (o->chunk)
        printf("chunk   %u\n", o->chunk);
    else
        printf("chunk   adaptive\n");
    uint64_t n = 0;
    if (nargs) {
        for (int i = 0; i < nargs; i++)
            show_input(++n, args[i], strlen(args[i]));
        printf("inputs  %llu arguments\n", (unsigned long long)n);
    } else {
        const char *from = fd ? arg_file : "standard input";
        if (count_inputs(fd, delim, &n) != 0) {
            fprintf(stderr, "taskpool: %s: %s\n", from,
                    errno == EFBIG ? "record exceeds the size limit"
                                   : strerror(errno));
            return EXIT_RUNTIME;
        }
        printf("inputs  %llu %s-terminated records from %s\n",
               (unsigned long long)n, delim ? "newline" : "NUL", from);
    }
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}
