/* The seed plugin: the examples of Python's multiprocessing material,
 * as C kernels (Pool.map doubling numbers, processes printing numbers,
 * a Process saying hello). */
#include <taskpool/plugin.h>

static int parse_int(tp_ctx *ctx, const char *in, size_t len, int64_t *v)
{
    int e = tp_parse_i64(in, len, v);
    if (e == ERANGE)
        return tp_fail(ctx, "integer out of range");
    if (e != 0)
        return tp_fail(ctx, "not an integer");
    return TP_OK;
}

static int task_double(tp_ctx *ctx, const char *in, size_t len)
{
    int64_t v;
    if (parse_int(ctx, in, len, &v) != TP_OK)
        return TP_FAIL;
    if (v > INT64_MAX / 2 || v < INT64_MIN / 2)
        return tp_fail(ctx, "integer out of range");
    return tp_put_i64(ctx, v * 2);
}

static int task_print_number(tp_ctx *ctx, const char *in, size_t len)
{
    int64_t v;
    if (parse_int(ctx, in, len, &v) != TP_OK)
        return TP_FAIL;
    return tp_put_i64(ctx, v);
}

static int task_hello(tp_ctx *ctx, const char *in, size_t len)
{
    (void)in;
    (void)len;
    return tp_puts(ctx, "This is a new process");
}

static const struct tp_task seed_tasks[] = {
    {"double", "an integer times two", task_double},
    {"print_number", "the integer itself", task_print_number},
    {"hello", "says \"This is a new process\", whatever the input", task_hello},
    {NULL, NULL, NULL},
};

TASKPOOL_PLUGIN("seed", TP_PACKAGE_VERSION, seed_tasks, NULL, NULL)
