/* How the pool reaches a worker, whatever it is: a struct tp__link per
 * worker, and a struct tp__transport that says what differs between kinds
 * of worker (how much may be in flight, whether unstarted records can be
 * taken back, whether limits apply at the far side, how long silence may
 * last).  The pool and the scheduler ask these and never the kind.  Two
 * implementations: fork.c (a forked worker on a socketpair, held by its
 * keeper, sharing claim words with the host) and remote.c (an MPI rank's
 * pool of workers, reached through its bridge; see doc/design.md). */
#ifndef TP_TRANSPORT_H
#define TP_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common/wire.h"

/* What a worker enters after init, before its first task (worker_limits.c,
 * sandbox.c); zeros: nothing. */
struct tp__confine {
    uint64_t mem_limit; /* bytes of private writable memory (RLIMIT_DATA) */
    double cpu_limit;   /* CPU seconds per task */
    unsigned max_procs; /* processes and threads of the worker and what it
                           starts (RLIMIT_NPROC in a user namespace of the
                           worker's own) */
    int sandbox;        /* Landlock and seccomp */
    const char *const *allow_read; /* with sandbox: readable directories,
                                      NULL-terminated, or NULL */
    const void *filter; /* with sandbox: the seccomp program the host built
                           (filter_len BPF instructions), or NULL: each
                           worker builds its own (sandbox.c) */
    uint32_t filter_len;
};

struct tp__worker_spec {
    const char *file;     /* the plugin's shared object, as the host found it */
    const char *task;
    const char *init_arg; /* may be NULL */
    struct tp__confine confine;
    /* The worker helper to exec right after the clone (exec_workers), or
     * NULL: the fork transport's child goes on as a copy of the host. */
    const char *exec;
};

/* Why a worker went, as it recorded it itself just before (worker_limits.c,
 * sandbox.c): the host words the outcome from it and the wait status. */
enum tp__cause {
    TP_CAUSE_NONE = 0,
    TP_CAUSE_MEMORY,  /* an allocation was refused under its memory limit */
    TP_CAUSE_CPU,     /* a task ran past its CPU limit */
    TP_CAUSE_SYSCALL, /* the sandbox blocked a system call */
};

/* Shared by the host and a worker (and its keeper).  Results travel in
 * batches, so the claim words are also how the host tells which input a
 * dead worker was running. */
struct tp__progress {
    uint64_t t_start_ns; /* CLOCK_MONOTONIC start of the running task, 0
                            between tasks (only if the request is timed) */
    /* One claim word per request slot (request sequence & 1): the limit
     * (high 32 bits) and the next record (low 32 bits) of that request.
     * The worker claims records with a compare-and-swap before it runs
     * them; the host takes back unclaimed records by lowering the limit
     * the same way, so both agree exactly on who runs what. */
    uint64_t claim[2];
    /* Odd while a task runs: the worker adds 1 as each task starts and
     * again as it ends (two increments per task, on a line the claims
     * write anyway: the whole per-task cost of --cpu-limit), and its
     * keeper, which watches its CPU time, reads it (keeper.c). */
    uint32_t task;
    /* Written once: the worker's pid as the host sees it (it may run in
     * a PID namespace of its own), and, once it has gone, its wait status
     * (exited set), recorded by the keeper that held it. */
    int32_t wpid, wstatus, exited;
    int32_t stage; /* enum tp__stage (worker.h): how far it got */
    /* Written by the worker as a limit or the sandbox ends it: the cause
     * (enum tp__cause) and, for a blocked call, its number and AUDIT_ARCH_*
     * architecture. */
    int32_t cause, syscall_nr;
    uint32_t syscall_arch;
    /* Written by the keeper: errno of its failed attempt to give the
     * worker the user namespace of its own that max_procs needs. */
    int32_t userns_errno;
};

/* How a worker ended: its wait status (as its keeper saw it) and what it
 * recorded before it went. */
struct tp__end {
    int wstatus;
    int cause; /* enum tp__cause */
    int syscall_nr;
    uint32_t syscall_arch;
};

struct tp__link {
    int fd;    /* the host's end, non-blocking; -1 when stopped */
    pid_t pid; /* the worker (leader of its own process group), or 0 */
    struct tp__progress *prog; /* shared with the worker, or NULL */
    int pidfd; /* readable once the worker exited (a child a kernel left
                  may hold the socket open), or -1 where the kernel has no
                  pidfd: then tp__link_exited is asked now and then */
    const char *name; /* in messages, or NULL: "worker PID" */
    uint32_t jobs;    /* workers behind it: 1, or as its READY said */
    /* a control frame to send before the next request (a LIMIT), its
     * bytes written, and whether one is pending */
    unsigned char ctl[TP_WIRE_HDR];
    size_t ctl_off;
    int ctl_pending;
    uint32_t lim_ms; /* the time limit it was last sent */
};

struct tp__retiree;

#define TP_DEPTH_MAX 32 /* requests outstanding to a link, at most, in any
                           transport */

/* What the pool asks of a kind of worker. */
struct tp__transport {
    /* Requests outstanding to a link at most: per link, and over all. */
    unsigned (*depth)(const struct tp__link *l);
    unsigned max_depth;
    /* Its chunks hold this many times the bytes, records and time of a
     * forked worker's (messages cost more than a socketpair's writes). */
    unsigned scale;
    /* 1: records sent but not started can be taken back (claim words),
     * and what a worker ran is known from them when it dies.  0: once
     * sent, records stay where they went, so the scheduler hands out
     * shares of what is left instead of stealing. */
    unsigned take_back : 1;
    /* 1: a pool at the far end runs the tasks: it loads the plugin,
     * applies time limits, retries, --max-tasks-per-child, the limits and
     * the sandbox, and replaces its workers; its answers say which of its
     * workers ran each record, in how many attempts; it says it is alive
     * while it works; a lost link is not replaced (the run ends). */
    unsigned far_pool : 1;
    /* 1: an answer comes after a round trip that may take longer than a
     * short request's work: the time of a request sent to an idle link
     * says little of its records. */
    unsigned round_trips : 1;
    /* Start l: fork a worker serving spec, or take the connected socket
     * fd.  0, or -1 with err set. */
    int (*start)(struct tp__link *l, const struct tp__worker_spec *spec,
                 int fd, char *err, size_t errlen);
    /* May l be sent another request, with nq requests and `left` records
     * sent and not answered, ns_item the scheduler's estimate of l's wall
     * time per record (0: none yet), and the input ended or not?  (Only
     * asked below depth(l).) */
    int (*room)(const struct tp__link *l, unsigned nq, uint64_t left,
                double ns_item, int input_done);
    /* The run's time limit is now ns: queue a LIMIT frame if the far end
     * needs to know. */
    void (*limit)(struct tp__link *l, uint64_t ns);
    /* How long a link with work may say nothing before it counts as
     * frozen, under a time limit of limit_ns (0: none); 0: never judged
     * so (the scheduler watches each task's time itself). */
    uint64_t (*quiet_ns)(uint64_t limit_ns);
    /* Stop l at the end of the run: hand a worker that may run fini to r
     * (returns 1) if r is not NULL, or end it now (returns 0). */
    int (*stop)(struct tp__link *l, struct tp__retiree *r, int grace_ms);
};

extern const struct tp__transport tp__fork_transport, tp__remote_transport;

/* Has the worker exited (without reaping it)?  1 or 0. */
int tp__link_exited(const struct tp__link *l);

/* The worker's pid, as messages and results name it. */
static inline pid_t tp__link_pid(const struct tp__link *l)
{
    pid_t w = l->prog ? __atomic_load_n(&l->prog->wpid, __ATOMIC_ACQUIRE) : 0;
    return w > 0 ? w : l->pid;
}

/* Start a worker serving spec.  Returns 0, or -1 with err set. */
int tp__link_start(struct tp__link *l, const struct tp__worker_spec *spec,
                  char *err, size_t errlen);

/* Non-blocking transfer: bytes moved, 0 for EOF (recv only), or -1 with
 * errno (EAGAIN when it would block).  EINTR is retried. */
ssize_t tp__link_send(struct tp__link *l, const struct iovec *iov, int n);
ssize_t tp__link_recv(struct tp__link *l, void *p, size_t n);

/* When the task the worker is running started (CLOCK_MONOTONIC ns), or 0
 * between tasks; only kept for requests that asked for times. */
uint64_t tp__link_task_start(const struct tp__link *l);

/* Before sending a request of n records in slot: the worker may claim
 * all of them. */
void tp__link_offer(struct tp__link *l, unsigned slot, uint32_t n);

/* Records of the request in slot that the worker has claimed, and its
 * current limit. */
uint32_t tp__link_claimed(const struct tp__link *l, unsigned slot,
                         uint32_t *limit);

/* Lower the limit of the request in slot to keep (or to what the worker
 * has already claimed, if more).  Returns the final limit: the worker runs
 * exactly that many records of the request. */
uint32_t tp__link_take_back(struct tp__link *l, unsigned slot, uint32_t keep);

/* Close the host's end: an idle worker runs fini and exits. */
void tp__link_close(struct tp__link *l);

/* A worker that was told to go (its socket closed) and may still be
 * running fini: reaped without blocking, killed with its group at the
 * deadline. */
struct tp__retiree {
    pid_t pid;
    int pidfd;            /* readable once it exited, or -1 */
    uint64_t deadline_ns; /* CLOCK_MONOTONIC */
};

/* Hand l's process over to r (l is left stopped); r->deadline_ns = now +
 * grace_ms. */
void tp__link_retire(struct tp__link *l, struct tp__retiree *r, int grace_ms);

/* Reap r if it exited; kill its group if it is past its deadline (or if
 * force).  Returns 1 when r is gone, 0 while it still runs. */
int tp__retiree_check(struct tp__retiree *r, uint64_t now_ns, int force);

/* Wait for pid, a child, to exit, at most ms, leaving it to be reaped:
 * poll a pidfd; where there is none (kernels before 5.3, valgrind), check
 * every ms. */
void tp__wait_exit(pid_t pid, int ms);

/* Wait up to grace_ms for the worker to exit (0: not at all), then kill its
 * process group; reap it, and kill what is left of its group (a kernel's
 * children).  Stores how it ended in *end if not NULL.  Returns 0, or -1
 * if waitpid failed. */
int tp__link_reap(struct tp__link *l, int grace_ms, struct tp__end *end);

/* "killed by signal 11 (Segmentation fault)" / "exited with status 3". */
void tp__describe_wait(int wstatus, char *buf, size_t len);

#endif
