/* How the pool reaches a worker: start it, move bytes, stop it.  One file
 * per transport (transport_fork.c today; MPI ranks later).  The pool only
 * polls link->fd and calls these. */
#ifndef TP_TRANSPORT_H
#define TP_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct tp_worker_spec {
    const char *file;     /* the plugin's shared object, as the host found it */
    const char *task;
    const char *init_arg; /* may be NULL */
};

/* Written by the worker, read by the host once the worker is gone: how
 * many tasks it has started.  Results travel in batches, so this is how
 * the host tells which input a dead worker was running. */
struct tp_progress {
    uint64_t started;    /* tasks started */
    uint64_t t_start_ns; /* CLOCK_MONOTONIC start of the latest (if timed) */
};

struct tp_link {
    int fd;    /* the host's end, non-blocking; -1 when stopped */
    pid_t pid; /* the worker (leader of its own process group) */
    struct tp_progress *prog; /* shared with the worker */
};

/* Start a worker serving spec.  Returns 0, or -1 with err set. */
int tp_link_start(struct tp_link *l, const struct tp_worker_spec *spec,
                  char *err, size_t errlen);

/* Non-blocking transfer: bytes moved, 0 for EOF (recv only), or -1 with
 * errno (EAGAIN when it would block).  EINTR is retried. */
ssize_t tp_link_send(struct tp_link *l, const struct iovec *iov, int n);
ssize_t tp_link_recv(struct tp_link *l, void *p, size_t n);

/* Tasks the worker has started, and when the latest started (if the
 * request asked for times).  Valid until tp_link_reap. */
uint64_t tp_link_started(const struct tp_link *l, uint64_t *t_start_ns);

/* Close the host's end: an idle worker runs fini and exits. */
void tp_link_close(struct tp_link *l);

/* Wait up to grace_ms for the worker to exit (0: not at all), then kill its
 * process group; reap it, and kill what is left of its group (a kernel's
 * children).  Stores the wait status in *wstatus if not NULL.  Returns 0,
 * or -1 if waitpid failed. */
int tp_link_reap(struct tp_link *l, int grace_ms, int *wstatus);

/* "killed by signal 11 (Segmentation fault)" / "exited with status 3". */
void tp_describe_wait(int wstatus, char *buf, size_t len);

#endif
