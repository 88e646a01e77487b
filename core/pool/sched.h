/* The workers as the scheduler sees them (sched.c), and what intake.c
 * reads from their sockets. */
#ifndef TP_POOL_SCHED_H
#define TP_POOL_SCHED_H

#include <stdint.h>

#include "common/buf.h"
#include "common/wire.h"
#include "taskpool/pool.h"
#include "transport/transport.h"

struct worker {
    struct tp__link link;
    int ready;
    int *q;               /* chunk slots sent or being sent, oldest first
                             (at most the transport's depth) */
    unsigned nq, nsent;   /* queued; fully written */
    size_t send_off;      /* bytes of q[nsent]'s frame written */
    uint8_t rseq;         /* sequence of the next request */
    uint8_t ended;        /* sequence of the last request that ended */
    int any_ended;
    unsigned char rhdr[TP_WIRE_HDR];
    size_t rgot;
    struct tp__frame rf;
    int in_body;
    uint64_t bgot;
    struct tp__buf fatal;  /* body of a FATAL frame */
    uint32_t fatal_kind;
    struct tp__buf fails;  /* body of a FAILS frame, until its TEXT frame */
    uint32_t nfails;
    uint64_t assigned;    /* records sent to this worker */
    double ns_item;       /* its recent wall time per record */
    uint64_t t_free;      /* when it last finished a request */
    uint64_t t_heard;     /* when it last answered, or got work when idle */
    uint64_t t_spawn;     /* when it was started */
    unsigned gen, polled; /* starts so far; gen when last polled (a worker
                             replaced since has new descriptors, maybe
                             with the old numbers) */
};

/* What intake.c saw on a worker's socket. */
enum tp__ev { EV_NONE, EV_READY, EV_ANSWER, EV_END, EV_LOST };
struct tp__event {
    enum tp__ev type;
    uint32_t k;          /* EV_ANSWER, EV_END: records answered */
    enum tp_status why;  /* EV_LOST */
    int stale;           /* EV_LOST: an answer to a request that had ended
                            (the input it answered is done; blame none) */
    char detail[512];
};

/* intake.c: w in messages: its link's name, or "remote worker N" */
const char *tp__worker_name(const tp_pool *p, const struct worker *w,
                           char *buf, size_t len);

/* sched.c */
void tp__sched_dispatch(tp_pool *p);
/* The time limit in ns, or 0 for none. */
uint64_t tp__sched_limit_ns(tp_pool *p);
/* One round of poll over the workers (and extra_fd, and the cancel fd).
 * Returns 1 if extra_fd became readable, 0 if not, -1 on error. */
int tp__sched_run_once(tp_pool *p, int extra_fd);
/* Requests sent to workers and not yet answered. */
unsigned tp__sched_busy(const tp_pool *p);
/* Start the workers; wait until one is ready (or one failed). */
int tp__sched_start(tp_pool *p, char *err, size_t errlen);
void tp__sched_stop(tp_pool *p);

/* intake.c: read what w sent, up to one event */
enum tp__ev tp__intake(tp_pool *p, struct worker *w, struct tp__event *ev);
void tp__intake_reset(struct worker *w);

#endif
