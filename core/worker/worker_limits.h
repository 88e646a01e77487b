/* Limits a worker puts on itself after init, and the guard its signal
 * handlers share (worker_limits.c). */
#ifndef TP_WORKER_LIMITS_H
#define TP_WORKER_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "transport/transport.h"

/* What the worker's own signal handlers need.  A handler has no argument
 * to carry it and the library keeps no global state, so it lives at the
 * bottom of the alternate signal stack, where tp__guard_find() finds it. */
struct tp__guard {
    uint64_t magic;
    struct tp__progress *prog;
    uint64_t mem_limit; /* bytes, or 0 */
    int statm_fd;       /* /proc/self/statm, opened before any sandbox */
    long page;
    pid_t pid; /* the worker's (a process a kernel starts inherits this) */
};

/* Before the plugin is loaded: did the keeper do what c needs (the user
 * namespace of max_procs)?  0, or -1 with a one-line message. */
int tp__limits_precheck(const struct tp__confine *c,
                       const struct tp__progress *prog, char *err,
                       size_t errlen);

/* Enter what c asks of a worker that has run init: the guard, then
 * RLIMIT_DATA (with the attribution of crashes to it; refused if what the
 * worker holds and the `more` bytes it will allocate before its first task
 * do not fit), RLIMIT_NPROC (the CPU limit is its keeper's: keeper.c).
 * Returns the guard (also for the sandbox's handler), or NULL with a
 * one-line message in err: the worker must not serve then. */
struct tp__guard *tp__limits_enter(const struct tp__confine *c,
                                 struct tp__progress *prog, size_t more,
                                 char *err, size_t errlen);

/* From inside a signal handler: the guard, or NULL. */
struct tp__guard *tp__guard_find(void);

/* From inside the handler of sig: record cause in the progress page, make
 * sig's action the default and send it to ourselves.  It is delivered, and
 * ends the worker, when the handler returns (which it must do at once). */
void tp__guard_end(struct tp__guard *g, int cause, int sig);

/* "64 MiB", "1.5 GiB", "512 KiB": sizes in messages (one decimal). */
void tp__human_size(uint64_t bytes, char *buf, size_t len);

#endif
