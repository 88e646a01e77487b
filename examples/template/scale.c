/* scale: a template for a taskpool plugin of your own.
 *
 * One task, scale:by, multiplies each input (a number) by a factor that
 * every worker reads once, in init, from --init-arg (default 1):
 *
 *     taskpool -L . --init-arg 2.5 scale:by 1 2 3     prints 2.5, 5, 7.5
 *
 * init runs once per worker before its first task, fini when the worker
 * stops; what init sets up is that worker's own (one task at a time per
 * worker, so no locking).  See taskpool-plugin(7) for the rules. */
#include <stdlib.h>

#include <taskpool/plugin.h>

struct state {
    double factor;
    unsigned long tasks; /* run by this worker */
};

static struct state *st; /* this worker's: set by init, freed by fini */

static int init(tp_ctx *ctx, const char *arg)
{
    double f = 1;
    if (arg && tp_parse_double(arg, strlen(arg), &f) != 0)
        return tp_fail(ctx, "--init-arg: not a number: %s", arg); /* exit 2 */
    if (!(st = malloc(sizeof *st)))
        return tp_fail(ctx, "out of memory");
    st->factor = f;
    st->tasks = 0;
    return TP_OK;
}

static void fini(void)
{
    free(st);
    st = NULL;
}

static int by(tp_ctx *ctx, const char *in, size_t len)
{
    double x;
    if (tp_parse_double(in, len, &x) != 0)
        return tp_fail(ctx, "not a number"); /* this input fails, the run goes on */
    st->tasks++;
    return tp_printf(ctx, "%.17g", x * st->factor);
}

static const struct tp_task tasks[] = {
    {"by", "a number times the factor given with --init-arg", by},
    {NULL, NULL, NULL},
};

TASKPOOL_PLUGIN("scale", "1.0", tasks, init, fini)
