/* Inputs into the pool: the arguments, or records read from a descriptor.
 * When a joblog is being resumed, the inputs it records as done are
 * skipped, each after checking that it is the input the log recorded. */
#ifndef TP_FEED_H
#define TP_FEED_H

#include <stdint.h>

#include "cli/joblog.h"
#include "taskpool/pool.h"

struct tp__feed {
    tp_pool *pool;
    struct tp__joblog *resume; /* or NULL */
    uint64_t skipped;         /* inputs the joblog had done */
    uint64_t *total;          /* set to the inputs to run once the end is
                                 seen (for --progress), or NULL */
    uint64_t *estimate;       /* ... and before that, from a regular file:
                                 set after each read (see guess), or NULL */
    int read_err;             /* errno of a failed read, EFBIG: too long */
    int changed;              /* an input differs from the log's: msg */
    char msg[512];
};

/* Before the pool starts: check the arguments against the log being
 * resumed and count those to skip.  0, or -1 (changed, with msg). */
int tp__feed_check_args(struct tp__feed *f, char *const *args, int n);

/* Feed all of them, then nothing else (the caller finishes the pool).
 * 0, or -1: a pool error, read_err or changed. */
int tp__feed_args(struct tp__feed *f, char *const *args, int n);
int tp__feed_fd(struct tp__feed *f, int fd, char delim);

#endif
