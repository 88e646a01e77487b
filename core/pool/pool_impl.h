/* The pool's own structure: what every part of core/pool shares.  Who
 * owns what, so that calls go one way only (pool.c -> sched.c -> intake.c
 * -> chunk.c, pool.c -> deliver.c -> chunk.c):
 *   pool.c     the API and the window of chunk slots (filling, sealing)
 *   deliver.c  what happens when inputs finish (completion callbacks,
 *              halting) and delivery in input or completion order
 *   sched.c    the workers: dispatch, taking back unstarted records,
 *              blame, retry, replacement, timeouts, the poll loop
 *   intake.c   bytes from a worker -> checked answers and events
 *   chunk.c    a chunk's bookkeeping (marks, failures, splitting, the
 *              list of chunks with news for deliver.c), the pool's error
 * The scheduler never calls into delivery: it leaves chunks with news on
 * the pending list, and the pool's own loop takes them from there.  The
 * workers are reached through the transport interface only. */
#ifndef TP_POOL_IMPL_H
#define TP_POOL_IMPL_H

#include <poll.h>
#include <stdint.h>
#include <time.h>

#include "taskpool/pool.h"
#include "transport/transport.h"

#define SAMPLES 1024     /* task times kept for --timeout P% */

struct worker;
struct chunk;

struct tp_pool {
    struct tp_pool_options o;
    struct tp_pool_callbacks cb;
    struct tp__worker_spec spec;
    struct tp__confine confine; /* the limits and the sandbox; its filter
                                  (built once for every worker) is ours */
    char *file, *task;
    char *exec;             /* the worker helper (exec_workers), or NULL */
    unsigned jobs, nslots, window;
    const struct tp__transport *tr; /* what the workers are */
    uint32_t same;          /* far pools: what each one's READY must say
                               (tp__options_digest) */
    struct worker *w;
    struct chunk *c;
    int *freel, *dq, *order, *pend;
    unsigned nfree, dq_head, dq_len, inflight, npend;
    uint64_t next_seq, emit_seq, next_index;
    int fill;
    unsigned target, cap;
    size_t chunk_bytes;     /* a chunk is sealed past this much input */
    double ns_per_item;
    uint32_t req_flags;
    uint64_t steal_at;      /* look again for records to take back then */
    uint64_t far_limit_ns;  /* a node agent's pool: the host's limit for
                               --timeout P%, or 0 */
    uint64_t wake_at;       /* the idle callback's own deadline (the node
                               agent's), or 0: poll no longer */
    uint64_t delivered, completed, failed;
    int halting, input_done;
    uint32_t *samples;      /* usec of tasks that succeeded (a ring) */
    unsigned nsamples, sample_pos, samples_new;
    uint64_t median_ns;
    struct tp__retiree *retired; /* old workers finishing fini */
    unsigned nretired, capretired;
    struct pollfd *pfd;
    unsigned cappfd;
    /* --halt now: the failure that stopped the run, delivered even when
     * its turn had not come */
    struct tp_result trigger;
    char *trigger_buf;
    int halt_now, trigger_done;
    int trigger_slot;       /* the chunk it is in */
    enum tp_error err;
    char msg[4096];
    unsigned nlost;         /* far pools lost, the run going on without */
    char lost_msg[512];     /* ... and what the latest said */
};


static inline uint64_t tp__now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* plugins.c */
int tp__load_spec(tp_pool *p, const char *spec, char *err, size_t errlen);

#endif
