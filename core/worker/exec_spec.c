/* The worker spec as the worker helper receives it (exec_spec.h has the
 * frame). */
#include "worker/exec_spec.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"

#define FIXED 36 /* the body's fixed fields */
#define INSN 8   /* sizeof(struct sock_filter) */
#define MAX_INSNS 4096 /* BPF_MAXINSNS */

static size_t count_allow(const struct tp__confine *c)
{
    size_t n = 0;
    while (c->allow_read && c->allow_read[n])
        n++;
    return n;
}

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    return p + n;
}

static void put64(char *p, uint64_t v) { memcpy(p, &v, 8); }

int tp__exec_spec_encode(const struct tp__worker_spec *s, char **out,
                         size_t *len)
{
    const struct tp__confine *c = &s->confine;
    size_t nallow = count_allow(c);
    uint32_t nf = c->filter ? c->filter_len : 0;
    size_t body = FIXED + strlen(s->file) + 1 + strlen(s->task) + 1 +
                  (s->init_arg ? strlen(s->init_arg) + 1 : 0) +
                  (size_t)nf * INSN;
    for (size_t i = 0; i < nallow; i++)
        body += strlen(c->allow_read[i]) + 1;
    if (body > TP_EXEC_SPEC_MAX || nf > MAX_INSNS) {
        errno = E2BIG;
        return -1;
    }
    char *f = malloc(8 + body);
    if (!f)
        return -1;
    uint64_t cpu;
    memcpy(&cpu, &c->cpu_limit, 8);
    tp__put32(f, TP_EXEC_SPEC_MAGIC);
    tp__put32(f + 4, (uint32_t)body);
    char *p = f + 8;
    put64(p, c->mem_limit);
    put64(p + 8, cpu);
    tp__put32(p + 16, c->max_procs);
    tp__put32(p + 20, (uint32_t)c->sandbox);
    tp__put32(p + 24, nf);
    tp__put32(p + 28, (uint32_t)nallow);
    tp__put32(p + 32, s->init_arg != NULL);
    p = put_str(put_str(p + FIXED, s->file), s->task);
    if (s->init_arg)
        p = put_str(p, s->init_arg);
    for (size_t i = 0; i < nallow; i++)
        p = put_str(p, c->allow_read[i]);
    if (nf)
        memcpy(p, c->filter, (size_t)nf * INSN);
    *out = f;
    *len = 8 + body;
    return 0;
}

/* The next NUL-terminated string at *at, before end, or NULL. */
static const char *take_str(const char **at, const char *end)
{
    const char *s = *at, *nul = memchr(s, '\0', (size_t)(end - s));
    if (!nul)
        return NULL;
    *at = nul + 1;
    return s;
}

static int bad(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "malformed worker spec from the host: %s", what);
    return -1;
}

/* The strings after the fixed fields; *at is left at the filter. */
static int take_strings(struct tp__exec_spec *o, uint32_t nallow,
                        int has_arg, const char **at, const char *end,
                        char *err, size_t errlen)
{
    o->spec.file = take_str(at, end);
    o->spec.task = o->spec.file ? take_str(at, end) : NULL;
    if (!o->spec.task || !*o->spec.file || !*o->spec.task)
        return bad(err, errlen, "plugin file or task");
    if (has_arg && !(o->spec.init_arg = take_str(at, end)))
        return bad(err, errlen, "init argument");
    if (!nallow)
        return 0;
    if (nallow > (size_t)(end - *at) ||
        !(o->allow = calloc((size_t)nallow + 1, sizeof *o->allow)))
        return bad(err, errlen, "allow_read list");
    for (uint32_t i = 0; i < nallow; i++)
        if (!(o->allow[i] = take_str(at, end)))
            return bad(err, errlen, "allow_read list");
    o->spec.confine.allow_read = o->allow;
    return 0;
}

int tp__exec_spec_decode(char *body, size_t len, struct tp__exec_spec *o,
                         char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->mem = body;
    if (len < FIXED)
        return bad(err, errlen, "too short");
    struct tp__confine *c = &o->spec.confine;
    uint64_t cpu;
    memcpy(&c->mem_limit, body, 8);
    memcpy(&cpu, body + 8, 8);
    memcpy(&c->cpu_limit, &cpu, 8);
    c->max_procs = tp__get32(body + 16);
    uint32_t sandbox = tp__get32(body + 20), nf = tp__get32(body + 24),
             nallow = tp__get32(body + 28), has_arg = tp__get32(body + 32);
    if (sandbox > 1 || has_arg > 1 || nf > MAX_INSNS ||
        !(c->cpu_limit >= 0) || (nallow && !sandbox))
        return bad(err, errlen, "fixed fields");
    c->sandbox = (int)sandbox;
    const char *at = body + FIXED, *end = body + len;
    if (take_strings(o, nallow, (int)has_arg, &at, end, err, errlen) != 0)
        return -1;
    if ((size_t)(end - at) != (size_t)nf * INSN)
        return bad(err, errlen, "system call filter's length");
    if (nf) {
        if (!(o->filter = malloc((size_t)nf * INSN)))
            return bad(err, errlen, "out of memory");
        memcpy(o->filter, at, (size_t)nf * INSN);
        c->filter = o->filter;
        c->filter_len = nf;
    }
    return 0;
}

int tp__exec_spec_read(int fd, struct tp__exec_spec *o, char *err,
                       size_t errlen)
{
    memset(o, 0, sizeof *o);
    unsigned char h[8];
    int r = tp__read_all(fd, h, sizeof h);
    if (r == 0)
        return 1;
    if (r < 0) {
        snprintf(err, errlen, "no worker spec from the host: %s",
                 strerror(errno));
        return -1;
    }
    uint32_t len = tp__get32(h + 4);
    if (tp__get32(h) != TP_EXEC_SPEC_MAGIC || len > TP_EXEC_SPEC_MAX)
        return bad(err, errlen, "bad magic or length (not the same taskpool?)");
    char *body = malloc(len ? len : 1);
    if (!body)
        return bad(err, errlen, "out of memory");
    if (len && tp__read_all(fd, body, len) != 1) {
        free(body);
        snprintf(err, errlen, "worker spec from the host cut short: %s",
                 strerror(errno));
        return -1;
    }
    return tp__exec_spec_decode(body, len, o, err, errlen);
}

void tp__exec_spec_free(struct tp__exec_spec *s)
{
    free(s->mem);
    free(s->allow);
    free(s->filter);
    memset(s, 0, sizeof *s);
}
