/* The commands that only look at plugins: --list and --dry-run. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

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

int tp_cli_list(const char *const *path, const char *only, double timeout,
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

/* --dry-run: resolve and check everything, start nothing. */
int tp_cli_dry(const char *spec, const struct tp_pool_options *o, int nargs,
               const char *arg_file, char delim)
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
    if (nargs)
        printf("inputs  %d arguments\n", nargs);
    else
        printf("inputs  %s, %s-terminated records\n",
               arg_file && strcmp(arg_file, "-") ? arg_file : "standard input",
               delim ? "newline" : "NUL");
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}
