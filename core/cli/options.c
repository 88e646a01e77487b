/* Parsing the command line's values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

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
int tp__cli_parse_jobs(const char *s, unsigned *out)
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

int tp__cli_parse_seconds(const char *s, double *out, int *pct)
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
int tp__cli_parse_halt(const char *s, struct tp_pool_options *o)
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
int tp__cli_parse_size(const char *s, uint64_t *out)
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

int tp__cli_parse_count(const char *s, unsigned *out)
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


int tp__cli_paths_add(struct paths *p, const char *dir)
{
    if (p->n + 2 > p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        const char **v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = dir;
    p->v[p->n] = NULL;
    return 0;
}

/* Empty components are skipped: an empty path never means ".". */
int tp__cli_paths_add_env(struct paths *p)
{
    const char *e = getenv("TASKPOOL_PLUGIN_PATH");
    if (!e || !*e)
        return 0;
    if (!(p->env = strdup(e)))
        return -1;
    for (char *s = p->env, *tok; (tok = strsep(&s, ":"));)
        if (*tok && tp__cli_paths_add(p, tok) != 0)
            return -1;
    return 0;
}
