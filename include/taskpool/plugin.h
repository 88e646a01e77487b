/* taskpool plugin ABI.
 *
 * A plugin is a shared object (a libtool module) that exports one function,
 * taskpool_plugin(), returning a constant descriptor: an ABI stamp, the
 * plugin's name and version, a table of tasks, and optional per-worker
 * init/fini hooks.  Write it with the TASKPOOL_PLUGIN() macro:
 *
 *     #include <taskpool/plugin.h>
 *
 *     static int twice(tp_ctx *ctx, const char *in, size_t len)
 *     {
 *         int64_t v;
 *         if (tp_parse_i64(in, len, &v) != 0)
 *             return tp_fail(ctx, "not an integer");
 *         return tp_put_i64(ctx, 2 * v);
 *     }
 *
 *     static const struct tp_task tasks[] = {
 *         { "twice", "multiply an integer by two", twice },
 *         { NULL, NULL, NULL }
 *     };
 *     TASKPOOL_PLUGIN("mine", "1.0", tasks, NULL, NULL)
 *
 * A plugin whose tasks need more than memory and time says so with
 * TASKPOOL_PLUGIN_FLAGS(name, version, tasks, init, fini, flags):
 * TP_PLUGIN_READS_FILES declares that its tasks read files (the hash
 * plugin reads the files its inputs name), so that `taskpool --sandbox`
 * refuses to run it without `--allow-read DIR` instead of failing every
 * input.
 *
 * What the host guarantees:
 * - The plugin is loaded in each worker process by the worker itself; the
 *   host only opens it to check the stamp and read the task table.
 * - init(ctx, arg) runs once per worker before its first task, with the
 *   --init-arg string (or NULL).  fini() runs when the worker is told to stop.
 * - One task at a time per worker; a task's input is valid only during the
 *   call.  `in` is followed by a NUL byte for convenience, but the record may
 *   itself contain NUL bytes: `len` is the truth.
 * - Whatever a task writes to stdout goes to the host's stderr, never into
 *   the result stream.
 * - Limits (--mem-limit, --cpu-limit, --max-procs) and the sandbox
 *   (--sandbox) are entered after init: loading and init are never
 *   restricted, tasks may be.
 *
 * What a plugin must not do:
 * - write to, close or dup onto file descriptors it did not open (the
 *   worker's socket and stdio belong to the host);
 * - call exit() or change signal dispositions or the signal mask (a worker
 *   that exits is recorded as crashed; the limits use SIGXCPU, SIGSEGV,
 *   SIGBUS, SIGABRT and SIGSYS handlers and an alternate signal stack);
 *   keep state across tasks only if it is per-worker.
 * - Plugins use only this header, libc and the libraries their kernels
 *   call (link those: -lm for sin); they need not link libtaskpool.
 *
 * ABI versioning: TASKPOOL_ABI_MAJOR changes when a change to this header
 * breaks existing plugins (layout of tp_plugin, tp_task, tp_ctx,
 * tp_host_api, or the meaning of a field); the host refuses a plugin with
 * another major.  TASKPOOL_ABI_MINOR grows when something is appended; the
 * host refuses a plugin built against a newer minor than its own, and
 * loads one built against its own or an older minor: such a descriptor has
 * the size struct tp_plugin had in that minor (the `size` field), and the
 * host reads only the fields that minor had.
 */
#ifndef TASKPOOL_PLUGIN_H
#define TASKPOOL_PLUGIN_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TASKPOOL_ABI_MAGIC 0x4c504b54u /* "TKPL" read little-endian */
#define TASKPOOL_ABI_MAJOR 1
#define TASKPOOL_ABI_MINOR 1 /* 1.1: struct tp_plugin's flags */

/* Status a task or init hook returns. */
#define TP_OK 0
#define TP_FAIL (-1)

typedef struct tp_ctx tp_ctx;

/* Host services behind a context.  Plugins call them through the inline
 * helpers below, never directly. */
struct tp_host_api {
    uint32_t size; /* sizeof(struct tp_host_api) of the host */
    /* Make room for at least n more bytes after ctx->cur; updates cur/end.
     * Returns 0, or -1 if the result would exceed the host's limit. */
    int (*reserve)(tp_ctx *ctx, size_t n);
    /* Record a failure message (formatted); the result is discarded. */
    void (*vfail)(tp_ctx *ctx, const char *fmt, va_list ap);
};

/* The context a task appends its result to.  cur..end is writable space
 * owned by the host; it moves when reserve() grows the buffer. */
struct tp_ctx {
    const struct tp_host_api *api;
    char *cur;
    char *end;
};

/* A task: compute the result of one input record.  Append output with the
 * helpers, then return TP_OK; or return tp_fail(ctx, ...). */
typedef int (*tp_task_fn)(tp_ctx *ctx, const char *in, size_t len);

struct tp_task {
    const char *name;    /* [A-Za-z0-9_-]+ */
    const char *summary; /* one line, shown by taskpool --list */
    tp_task_fn run;
};

struct tp_plugin {
    uint32_t magic;     /* TASKPOOL_ABI_MAGIC */
    uint16_t abi_major; /* TASKPOOL_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;
    uint32_t size;      /* sizeof(struct tp_plugin) the plugin was built with:
                           the host checks it against the size of abi_minor's
                           layout (fields are only ever appended) */
    const char *name;
    const char *version;
    const struct tp_task *tasks; /* ends with an entry whose name is NULL */
    /* Optional (NULL): per-worker set-up; return TP_OK or tp_fail(ctx,...).
     * Anything appended to ctx is ignored. */
    int (*init)(tp_ctx *ctx, const char *arg);
    /* Optional (NULL): per-worker tear-down. */
    void (*fini)(void);
    /* Since ABI 1.1 (the host reads it only from a 1.1 or later plugin):
     * what the tasks need, TP_PLUGIN_* bits; 0 for pure computation. */
    uint32_t flags;
};

/* struct tp_plugin's flags.  An unknown bit makes the descriptor malformed
 * (a new flag comes with a new minor). */
#define TP_PLUGIN_READS_FILES 0x1u /* tasks read files: --sandbox needs
                                      --allow-read DIR */
#define TP_PLUGIN_FLAGS_KNOWN 0x1u

/* The one symbol the loader looks up.  A function, not data, because dlsym
 * is only promised to work on functions (the PostgreSQL reasoning). */
const struct tp_plugin *taskpool_plugin(void);

/* GNU C attributes (GCC, Clang), left out for compilers without them. */
#if defined(__GNUC__)
#define TP__EXPORT __attribute__((visibility("default")))
#define TP__PRINTF(FMT, ARGS) __attribute__((format(printf, FMT, ARGS)))
#else
#define TP__EXPORT
#define TP__PRINTF(FMT, ARGS)
#endif

/* Define the descriptor: TASKPOOL_PLUGIN(name, version, tasks, init, fini),
 * or with flags (TP_PLUGIN_* bits):
 * TASKPOOL_PLUGIN_FLAGS(name, version, tasks, init, fini, flags) */
#define TASKPOOL_PLUGIN_FLAGS(NAME, VERSION, TASKS, INIT, FINI, FLAGS)         \
    TP__EXPORT const struct tp_plugin *taskpool_plugin(void)                  \
    {                                                                         \
        static const struct tp_plugin tp__descriptor = {                      \
            TASKPOOL_ABI_MAGIC, TASKPOOL_ABI_MAJOR, TASKPOOL_ABI_MINOR,       \
            (uint32_t)sizeof(struct tp_plugin), (NAME), (VERSION), (TASKS),   \
            (INIT), (FINI), (FLAGS)};                                         \
        return &tp__descriptor;                                               \
    }
#define TASKPOOL_PLUGIN(NAME, VERSION, TASKS, INIT, FINI)                      \
    TASKPOOL_PLUGIN_FLAGS(NAME, VERSION, TASKS, INIT, FINI, 0)

/* Append n bytes to the result.  Returns TP_OK, or TP_FAIL if the result
 * would exceed the host's size limit (the task should then return TP_FAIL;
 * the host reports "result too large"). */
static inline int tp_append(tp_ctx *ctx, const void *p, size_t n)
{
    if ((size_t)(ctx->end - ctx->cur) < n && ctx->api->reserve(ctx, n) != 0)
        return TP_FAIL;
    if (n)
        memcpy(ctx->cur, p, n);
    ctx->cur += n;
    return TP_OK;
}

static inline int tp_puts(tp_ctx *ctx, const char *s)
{
    return tp_append(ctx, s, strlen(s));
}

/* Append printf-style output.  Returns TP_OK or TP_FAIL. */
static inline int tp_printf(tp_ctx *ctx, const char *fmt, ...)
    TP__PRINTF(2, 3);
static inline int tp_printf(tp_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    size_t room = (size_t)(ctx->end - ctx->cur);
    va_start(ap, fmt);
    int n = vsnprintf(ctx->cur, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TP_FAIL;
    if ((size_t)n >= room) {
        if (ctx->api->reserve(ctx, (size_t)n + 1) != 0)
            return TP_FAIL;
        va_start(ap, fmt);
        n = vsnprintf(ctx->cur, (size_t)(ctx->end - ctx->cur), fmt, ap);
        va_end(ap);
        if (n < 0)
            return TP_FAIL;
    }
    ctx->cur += n;
    return TP_OK;
}

/* Append a signed decimal integer, without going through printf: the
 * digits are written in place. */
static inline int tp_put_i64(tp_ctx *ctx, int64_t v)
{
    if ((size_t)(ctx->end - ctx->cur) < 20 && ctx->api->reserve(ctx, 20) != 0)
        return TP_FAIL;
    static const uint64_t p10[19] = {
        10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u,
        1000000000u, 10000000000u, 100000000000u, 1000000000000u,
        10000000000000u, 100000000000000u, 1000000000000000u,
        10000000000000000u, 100000000000000000u, 1000000000000000000u,
        10000000000000000000u};
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = 1; /* digits: compared, not divided, once */
    while (n < 20 && u >= p10[n - 1])
        n++;
    char *p = ctx->cur;
    if (v < 0)
        *p++ = '-';
    ctx->cur = p + n;
    do {
        p[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (n);
    return TP_OK;
}

/* Mark this task (or init) as failed with a message; returns TP_FAIL so a
 * task can say `return tp_fail(ctx, "...")`. */
static inline int tp_fail(tp_ctx *ctx, const char *fmt, ...)
    TP__PRINTF(2, 3);
static inline int tp_fail(tp_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctx->api->vfail(ctx, fmt, ap);
    va_end(ap);
    return TP_FAIL;
}

/* Parse the whole of s[0..len) as a decimal integer: optional sign, then
 * digits, nothing else (no blanks).  Returns 0, EINVAL (empty or junk) or
 * ERANGE (does not fit int64_t); *out is set only on success. */
static inline int tp_parse_i64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t acc = 0, lim;
    if (len && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return EINVAL;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return EINVAL;
        if (acc > (lim - d) / 10) {
            for (i++; i < len; i++) /* junk after an overflow is still junk */
                if ((unsigned)((unsigned char)s[i] - '0') > 9)
                    return EINVAL;
            return ERANGE;
        }
        acc = acc * 10 + d;
    }
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
}

/* Parse the whole of s[0..len) as a finite double (strtod syntax, no
 * leading or trailing blanks, no nan or inf).  Returns 0, EINVAL or ERANGE
 * (overflow or underflow). */
static inline int tp_parse_double(const char *s, size_t len, double *out)
{
    char buf[64], *end;
    double v;
    if (len == 0 || len >= sizeof buf || memchr(s, '\0', len))
        return EINVAL;
    if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
        return EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtod(buf, &end);
    if (end != buf + len)
        return EINVAL;
    if (errno == ERANGE)
        return ERANGE;
    if (v != v || v - v != 0) /* nan, inf */
        return EINVAL;
    *out = v;
    return 0;
}

#ifdef __cplusplus
}
#endif
#endif
