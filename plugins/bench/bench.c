/* bench: the benchmark kernels.  primes N counts the primes up to N by
 * trial division (CPU-bound, about 1 ms at N = 90000 on a 2020s core);
 * spin N runs a fixed loop N times; sleep N sleeps N milliseconds;
 * length is the byte count of the input (for big records). */
#include <time.h>

#include <taskpool/plugin.h>

#include "kernels.h"

static int parse_count(tp_ctx *ctx, const char *in, size_t len, int64_t *n)
{
    int e = tp_parse_i64(in, len, n);
    if (e == 0 && *n >= 0)
        return TP_OK;
    return tp_fail(ctx, e == ERANGE ? "number out of range"
                                    : "not a non-negative integer");
}

static int task_primes(tp_ctx *ctx, const char *in, size_t len)
{
    int64_t n;
    if (parse_count(ctx, in, len, &n) != TP_OK)
        return TP_FAIL;
    return tp_put_i64(ctx, count_primes(n));
}

static int task_spin(tp_ctx *ctx, const char *in, size_t len)
{
    int64_t n;
    if (parse_count(ctx, in, len, &n) != TP_OK)
        return TP_FAIL;
    return tp_put_i64(ctx, spin(n));
}

static int task_sleep(tp_ctx *ctx, const char *in, size_t len)
{
    int64_t ms;
    if (parse_count(ctx, in, len, &ms) != TP_OK)
        return TP_FAIL;
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
    return tp_put_i64(ctx, ms);
}

static int task_length(tp_ctx *ctx, const char *in, size_t len)
{
    (void)in;
    return tp_put_i64(ctx, (int64_t)len);
}

static const struct tp_task bench_tasks[] = {
    {"primes", "the number of primes up to N (trial division)", task_primes},
    {"spin", "N rounds of xorshift64, printing the state", task_spin},
    {"sleep", "sleeps N milliseconds, prints N", task_sleep},
    {"length", "the input's length in bytes", task_length},
    {NULL, NULL, NULL},
};

TASKPOOL_PLUGIN("bench", TP_PACKAGE_VERSION, bench_tasks, NULL, NULL)
