/* Looking at a plugin without running its code in the host: a probe
 * process, held by a keeper like a worker, loads it and writes back its
 * descriptor (name, version, tasks) as text; a crash, a hang or a print
 * there is a message for the caller, never the caller's problem. */
#include "worker/probe.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "worker/keeper.h"
#include "worker/loader.h"
#include "common/wire.h"
#include "worker/worker.h"

#define PROBE_MAX (1u << 20) /* a description longer than this is refused */

static int add(struct tp__buf *b, const char *s, size_t n)
{
    if (b->len + n > PROBE_MAX || tp__buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

/* In the probe: a u32 length, then "OK\0name\0version\0" and
 * "task\0summary\0" per task, or "ERR\0message".  Then exit.  The length
 * says when it is all there: a daemon the plugin started may hold the
 * socket open. */
static void probe_held(int fd, pid_t parent, struct tp__progress *prog,
                       const void *arg)
{
    const char *file = arg;
    char err[4096];
    struct tp__loaded l;
    struct tp__buf b = {0};
    tp__worker_setup(fd, parent);
    fd = 3;
    if (tp__buf_reserve(&b, 8192) != 0)
        _exit(1);
    b.len = 4;
    if (tp__loader_open_now(file, &l, &prog->stage, err, sizeof err) != 0) {
        if (add(&b, "ERR", 4) != 0 || add(&b, err, strlen(err)) != 0)
            _exit(1);
    } else {
        __atomic_store_n(&prog->stage, TP_STAGE_READY, __ATOMIC_RELEASE);
        const struct tp_plugin *d = l.desc;
        if (add(&b, "OK", 3) != 0 || add(&b, d->name, strlen(d->name) + 1) ||
            add(&b, d->version, strlen(d->version) + 1) != 0)
            _exit(1);
        for (size_t i = 0; d->tasks[i].name; i++) {
            const char *s = d->tasks[i].summary ? d->tasks[i].summary : "";
            if (add(&b, d->tasks[i].name, strlen(d->tasks[i].name) + 1) ||
                add(&b, s, strlen(s) + 1) != 0)
                _exit(1);
        }
    }
    tp__put32(b.p, (uint32_t)(b.len - 4));
    _exit(tp__write_all(fd, b.p, b.len) != 0);
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* Read the probe's answer into *buf until the deadline.  1 when it is all
 * there, 2 at EOF before that, 0 out of time, -1 on error or overflow. */
static int read_until(int fd, char **buf, size_t *len, uint64_t deadline)
{
    size_t cap = 0;
    for (;;) {
        uint64_t t = now_ms();
        if (t >= deadline)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)(deadline - t));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r;
        if (cap - *len < 4096) {
            cap = cap ? 2 * cap : 8192;
            char *n = cap > PROBE_MAX ? NULL : realloc(*buf, cap);
            if (!n)
                return -1;
            *buf = n;
        }
        ssize_t k = read(fd, *buf + *len, cap - *len - 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno == ECONNRESET ? 2 : -1;
        if (k == 0)
            return 2;
        *len += (size_t)k;
        if (*len >= 4 && *len - 4 >= tp__get32(*buf))
            return *len - 4 == tp__get32(*buf) ? 1 : -1;
    }
}

int tp__probe_parse(struct tp__probe *out, char *b, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += b[i] == '\0';
    if (len < 3 || memcmp(b, "OK", 3) != 0 || b[len - 1] != '\0' || n < 3 ||
        (n - 3) % 2)
        return -1;
    size_t ntasks = (n - 3) / 2;
    out->tasks = calloc(ntasks + 1, sizeof *out->tasks);
    if (!out->tasks)
        return -1;
    char *p = b + 3;
    out->desc.name = p;
    p += strlen(p) + 1;
    out->desc.version = p;
    p += strlen(p) + 1;
    for (size_t i = 0; i < ntasks; i++) {
        out->tasks[i].name = p;
        p += strlen(p) + 1;
        out->tasks[i].summary = p;
        p += strlen(p) + 1;
    }
    out->desc.tasks = out->tasks;
    return 0;
}

/* Start the probe: its keeper's pid, or -1. */
static pid_t start(const char *file, struct tp__progress *prog, int *fd)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int ns;
    pid_t pid = tp__keeper_spawn(&ns, 0);
    if (pid == 0) {
        close(sv[0]);
        tp__keeper_main(sv[1], -1, prog, ns, uid, gid, 0, 0, probe_held, file);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return -1;
    }
    *fd = sv[0];
    return pid;
}

int tp__probe(const char *file, double timeout, struct tp__probe *out,
             char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct tp__progress *prog = mmap(NULL, sizeof *prog,
                                    PROT_READ | PROT_WRITE,
                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (prog == MAP_FAILED) {
        snprintf(err, errlen, "mmap: %s", strerror(errno));
        return -1;
    }
    int fd = -1, st = 0, r = -1;
    pid_t pid = start(file, prog, &fd);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        munmap(prog, sizeof *prog);
        return -1;
    }
    size_t len = 0;
    uint64_t limit = (uint64_t)(timeout * 1000);
    int got = read_until(fd, &out->buf, &len, now_ms() + limit);
    close(fd);
    if (got == 2) /* it died: let its keeper record how (it exits then) */
        tp__wait_exit(pid, 1000);
    kill(pid, SIGKILL); /* and whatever the plugin started, with it */
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (__atomic_load_n(&prog->exited, __ATOMIC_ACQUIRE))
        st = prog->wstatus;
    char *body = out->buf ? out->buf + 4 : NULL;
    size_t blen = len >= 4 ? len - 4 : 0;
    if (got == 1 && blen >= 4 && !memcmp(body, "ERR", 4)) {
        out->buf[len] = '\0';
        snprintf(err, errlen, "%s", body + 4);
    } else if (got == 1 && blen >= 3 && !memcmp(body, "OK", 3)) {
        r = tp__probe_parse(out, body, blen);
        if (r != 0)
            snprintf(err, errlen, "%s: unreadable description", file);
    } else if (got == 0) {
        snprintf(err, errlen, "%s: did not answer within %g s (stuck in %s)",
                 file, timeout, tp__stage_name(prog->stage));
    } else if (got < 0) {
        snprintf(err, errlen, "%s: unreadable description", file);
    } else {
        char how[256];
        tp__describe_wait(st, how, sizeof how);
        tp__stage_failure(prog->stage, file, how, err, errlen);
    }
    munmap(prog, sizeof *prog);
    if (r != 0)
        tp__probe_free(out);
    return r;
}

void tp__probe_free(struct tp__probe *p)
{
    free(p->tasks);
    free(p->buf);
    memset(p, 0, sizeof *p);
}
