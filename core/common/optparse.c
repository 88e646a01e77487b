/* Option values as taskpool(1) reads them (optparse.h). */
#include "common/optparse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every number on the command line is written the same way: decimal
 * digits, with frac a fraction (".5") and an exponent ("1e-3") too; no
 * blanks, no sign (-j's +N and -N aside), no hexadecimal, no "inf".
 * Returns the length of the number at the start of s, or 0 if there is
 * none; strtol and strtod accept all of those others. */
static size_t decimal(const char *s, int frac)
{
    size_t n = strspn(s, "0123456789");
    if (!frac)
        return n;
    if (s[n] == '.') {
        size_t f = strspn(s + n + 1, "0123456789");
        if (!n && !f)
            return 0;
        n += 1 + f;
    }
    if (n && (s[n] == 'e' || s[n] == 'E')) {
        size_t e = n + 1 + (s[n + 1] == '+' || s[n + 1] == '-');
        size_t d = strspn(s + e, "0123456789");
        if (d)
            n = e + d;
    }
    return n;
}

/* N, N% of the online CPUs, +N or -N relative to them (GNU parallel's -j) */
static int parse_jobs(const char *s, unsigned *out)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN), v;
    char *end;
    if (ncpu < 1)
        ncpu = 1;
    size_t sign = *s == '+' || *s == '-', n = decimal(s + sign, 0);
    if (!n)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (end != s + sign + n || errno || v < -100000 || v > 100000)
        return -1;
    if (*s == '+' || *s == '-') {
        if (*end)
            return -1;
        v = ncpu + v;
        v = v < 1 ? 1 : v;
    } else if (*end == '%' && !end[1]) {
        if (v < 1)
            return -1;
        v = ncpu * v / 100;
        v = v < 1 ? 1 : v;
    } else if (*end || v < 1) {
        return -1;
    }
    *out = (unsigned)(v > 100000 ? 100000 : v);
    return 0;
}

static int parse_seconds(const char *s, double *out, int *pct)
{
    char *end;
    *pct = 0;
    size_t n = decimal(s, 1);
    errno = 0;
    double v = n ? strtod(s, &end) : 0;
    if (!n || end != s + n)
        return -1;
    *pct = *end == '%' && !end[1];
    /* the loop enforces limits to the millisecond: a smaller one could
     * not mean what it says */
    if (end == s || (*end && !*pct) || errno || v > 1e6 ||
        !(v >= (*pct ? 1e-6 : 0.001)))
        return -1;
    *out = v;
    return 0;
}

/* never | soon | now, optionally ",fail=N" or ",fail=P%" */
static int parse_halt(const char *s, struct tp_pool_options *o)
{
    size_t n = strcspn(s, ",");
    if (n == 5 && !strncmp(s, "never", 5))
        o->halt = TP_HALT_NEVER;
    else if (n == 4 && !strncmp(s, "soon", 4))
        o->halt = TP_HALT_SOON;
    else if (n == 3 && !strncmp(s, "now", 3))
        o->halt = TP_HALT_NOW;
    else
        return -1;
    if (!s[n])
        return 0;
    if (o->halt == TP_HALT_NEVER || strncmp(s + n, ",fail=", 6))
        return -1;
    const char *v = s + n + 6;
    char *end;
    size_t k = decimal(v, 1);
    errno = 0;
    double d = k ? strtod(v, &end) : 0;
    if (!k || end != v + k || errno || d <= 0)
        return -1;
    if (*end == '%' && !end[1] && d <= 100) {
        o->halt_fail_pct = d;
        return 0;
    }
    if (*end || d != (unsigned)d || d > 1e9)
        return -1;
    o->halt_fail = (unsigned)d;
    return 0;
}

/* N, N.Nk, NM, NG: bytes, KiB, MiB, GiB (either case); 1 MiB to 1 PiB */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    size_t n = decimal(s, 1);
    errno = 0;
    double v = n ? strtod(s, &end) : 0;
    if (!n || end != s + n || errno || !(v > 0))
        return -1;
    switch (*end) {
    case 'k': case 'K':
        v *= 1024, end++;
        break;
    case 'm': case 'M':
        v *= 1024.0 * 1024, end++;
        break;
    case 'g': case 'G':
        v *= 1024.0 * 1024 * 1024, end++;
        break;
    default:
        break;
    }
    if (*end || v < 1024.0 * 1024 || v > 1024.0 * 1024 * 1024 * 1024 * 1024)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_count(const char *s, unsigned *out)
{
    char *end;
    size_t n = decimal(s, 0);
    errno = 0;
    long v = n ? strtol(s, &end, 10) : 0;
    if (!n || end != s + n || *end || errno || v < 1 || v > 100000)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_retries(const char *s, unsigned *out)
{
    if (!strcmp(s, "0")) {
        *out = 0;
        return 0;
    }
    return parse_count(s, out);
}

/* seconds, or a percentage of the median: timeout's two fields */
static int set_timeout(struct tp_pool_options *o, const char *s)
{
    double v;
    int pct;
    if (parse_seconds(s, &v, &pct) != 0)
        return -1;
    o->timeout = pct ? 0 : v;
    o->timeout_pct = pct ? v : 0;
    return 0;
}

static int set_init_timeout(struct tp_pool_options *o, const char *s)
{
    int pct;
    return parse_seconds(s, &o->init_timeout, &pct) != 0 || pct ? -1 : 0;
}

static int set_cpu_limit(struct tp_pool_options *o, const char *s)
{
    int pct;
    return parse_seconds(s, &o->cpu_limit, &pct) != 0 || pct ||
                   o->cpu_limit < 0.1
               ? -1
               : 0;
}

static int set_halt(struct tp_pool_options *o, const char *s)
{
    return parse_halt(s, o);
}

static int set_jobs(struct tp_pool_options *o, const char *s)
{
    return parse_jobs(s, &o->jobs);
}
static int set_chunk(struct tp_pool_options *o, const char *s)
{
    return parse_count(s, &o->chunk);
}
static int set_retries(struct tp_pool_options *o, const char *s)
{
    return parse_retries(s, &o->retries);
}
static int set_max_tasks(struct tp_pool_options *o, const char *s)
{
    return parse_count(s, &o->max_tasks);
}
static int set_mem_limit(struct tp_pool_options *o, const char *s)
{
    return parse_size(s, &o->mem_limit);
}
static int set_max_procs(struct tp_pool_options *o, const char *s)
{
    return parse_count(s, &o->max_procs);
}

static const struct {
    const char *name;
    int (*set)(struct tp_pool_options *o, const char *s);
    const char *bad; /* printf format of the message, with the text */
} opts[] = {
    {"jobs", set_jobs, "invalid number of jobs '%s' (N, N%%, +N or -N)"},
    {"chunk", set_chunk, "invalid chunk size '%s' (1 to 100000)"},
    {"timeout", set_timeout, "invalid timeout '%s' (0.001 to 1000000 "
                             "seconds, or a percentage like 200%%)"},
    {"init-timeout", set_init_timeout,
     "invalid init timeout '%s' (0.001 to 1000000 seconds)"},
    {"retries", set_retries, "invalid number of retries '%s' (0 to 100000)"},
    {"halt", set_halt, "invalid halt policy '%s' (never, soon or now, "
                         "then optionally ,fail=N or ,fail=P%%)"},
    {"max-tasks-per-child", set_max_tasks,
     "invalid --max-tasks-per-child '%s' (1 to 100000)"},
    {"mem-limit", set_mem_limit, "invalid memory limit '%s' (1M to 1048576G; "
                                 "k, M and G are KiB, MiB and GiB)"},
    {"cpu-limit", set_cpu_limit,
     "invalid CPU limit '%s' (0.1 to 1000000 seconds)"},
    {"max-procs", set_max_procs, "invalid --max-procs '%s' (1 to 100000)"},
};

int tp__opt_set(struct tp_pool_options *o, const char *name, const char *text,
                char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        if (strcmp(name, opts[i].name))
            continue;
        if (opts[i].set(o, text) == 0)
            return 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(err, errlen, opts[i].bad, text);
#pragma GCC diagnostic pop
        return -1;
    }
    return 1;
}
