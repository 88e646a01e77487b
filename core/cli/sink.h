/* Where the CLI's results go: the output, and the joblog when there is one
 * (the pool's callbacks).  A resumed run also writes out, each in its turn,
 * the results the log's FILE.held kept for inputs it does not run again. */
#ifndef TP_SINK_H
#define TP_SINK_H

#include <stdint.h>

#include "cli/joblog.h"
#include "cli/output.h"
#include "taskpool/pool.h"

struct tp__sink {
    struct tp__output o;
    struct tp__joblog jl;
    int logging;   /* jl is open */
    int unordered; /* results come in completion order */
    int held_err;  /* errno of a held result that could not be read */
    uint64_t given; /* inputs given so far (the pool's, or set) */
    uint64_t turn;  /* in input order: the next index to write */
    unsigned lost;  /* remote workers lost, as said so far */
    /* under --mpi: whether the job is being ended (then a lost rank is
     * not news), or NULL */
    int (*ending)(void);
};

/* The pool callbacks; arg is the tp__sink. */
int tp__sink_result(void *arg, const struct tp_result *r);
int tp__sink_idle(void *arg);
int tp__sink_text(void *arg, const char *data, size_t len, uint64_t n);
int tp__sink_finished(void *arg, const struct tp_result *r);

/* Write out the held results whose turn has come, as if they had just
 * finished: of inputs given (s->given, or the pool's count), and in input
 * order once every input before them was written (all: the run is over,
 * every one left of the inputs given).  0, or -1: a write failed, or
 * held_err is set. */
int tp__sink_replay(struct tp__sink *s, int all);

#endif
