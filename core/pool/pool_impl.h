/* The pool's structures.  Who owns what, so that calls go one way only
 * (pool.c -> deliver.c, sched.c -> intake.c -> chunk.c):
 *   pool.c     the API and the window of chunk slots (filling, sealing)
 *   deliver.c  what happens when inputs finish (completion callbacks,
 *              halting) and delivery in input or completion order
 *   sched.c    the workers: dispatch, taking back unstarted records,
 *              blame, retry, replacement, timeouts, the poll loop
 *   intake.c   bytes from a worker -> checked answers and events
 *   chunk.c    a chunk's bookkeeping (marks, failures, splitting, the
 *              list of chunks with news for deliver.c)
 * The scheduler never calls into delivery: it leaves chunks with news on
 * the pending list, and the pool's own loop takes them from there. */
#ifndef TP_POOL_IMPL_H
#define TP_POOL_IMPL_H

#include <poll.h>
#include <time.h>

#include "common/buf.h"
#include "taskpool/pool.h"
#include "transport/transport.h"
#include "common/wire.h"

#define NO_REC UINT32_MAX
#define SAMPLES 1024     /* task times kept for --timeout P% */

enum cstate { C_FREE, C_FILLING, C_QUEUED, C_SENT, C_DONE };

/* Text mode: a failed record, and where in the chunk's text it would
 * have been. */
struct fail_hdr {
    uint32_t index, text_off, status, attempts, len;
    pid_t pid;
};

/* From record `from` on, results came from pid; `from` took `attempts`. */
struct mark {
    uint32_t from;
    pid_t pid;
    unsigned attempts;
};

struct chunk {
    uint64_t seq, first; /* order of its head part; index of record 0 */
    uint32_t n, done;    /* records; results received or recorded */
    uint32_t from, until; /* the current dispatch: records [from, until) */
    size_t from_pos;     /* where record `from` starts in `in` */
    uint32_t fin;        /* records whose completion deliver.c has seen */
    size_t fin_out, fin_fail; /* ... and where its result / failure is */
    uint32_t in_rec;     /* deliver.c's place in `in`: record in_rec */
    size_t in_pos;       /* starts here */
    int next_part;       /* slot holding the records split off, or -1 */
    int pending;         /* on the pending list */
    uint8_t rseq;        /* request sequence of the current dispatch */
    unsigned node;       /* a far pool's link: which one has it (from 1) */
    /* a record to run again, alone, on a fresh worker */
    uint32_t retry_at;
    unsigned retry_attempts;
    /* a record whose worker died and that is out of retries */
    uint32_t stop_at;
    enum tp_status stop_status;
    pid_t stop_pid;
    unsigned stop_attempts;
    char stop_msg[1024];
    unsigned lost;      /* workers lost in a row on this chunk, no input
                           blamed (e.g. killed while it read the request) */
    int delim;          /* request body: records ended by this byte, or -1
                           for length-prefixed records */
    struct tp__buf fails; /* text mode: failed records (struct fail_hdr +
                            message each), in record order */
    enum cstate state;
    struct tp__buf in;   /* request body: u32 len + bytes per record */
    struct tp__buf out;  /* result records, as on the wire */
    unsigned char hdr[TP_WIRE_HDR];
    struct mark *marks;
    size_t nmarks, capmarks;
    uint64_t t_sent;
};

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

struct tp_pool {
    struct tp_pool_options o;
    struct tp_pool_callbacks cb;
    struct tp__worker_spec spec;
    struct tp__confine confine; /* the limits and the sandbox; its filter
                                  (built once for every worker) is ours */
    char *file, *task;
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

/* chunk.c */
/* Set the pool's error (unless one is set already); returns -1. */
__attribute__((format(printf, 3, 4))) int
tp__pool_fail(tp_pool *p, enum tp_error e, const char *fmt, ...);
int tp__add_mark(struct chunk *c, uint32_t from, pid_t pid, unsigned attempts);
/* Text mode: file a failed record of chunk c.  0 or -1 (ENOMEM). */
int tp__add_fail(struct chunk *c, const struct fail_hdr *f, const char *msg);
/* Record a host-made outcome (crash, timeout) for record c->done. */
int tp__record_fail(tp_pool *p, struct chunk *c, enum tp_status st,
                   const char *msg, pid_t pid, unsigned attempts);
void tp__dq_push(tp_pool *p, int slot, int front);
int tp__dq_pop(tp_pool *p);
/* Slot s has records finished or is done: deliver.c will look at it. */
void tp__chunk_news(tp_pool *p, int s);
/* Move records [at, n) of slot s to a free slot, queued first; returns
 * it, or -1 if no slot is free. */
int tp__chunk_split(tp_pool *p, int s, uint32_t at);
void tp__chunk_free(tp_pool *p, int s);

/* "150 ms", "0.5 ms", "2.5 s" */
void tp__human_time(uint64_t ns, char *buf, size_t len);

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

/* deliver.c: take the news of the pending chunks: completions (the
 * finished callback, failure counts, halting), then results in order. */
void tp__deliver_news(tp_pool *p);
/* Halting: deliver every result there is, in order, and no more. */
void tp__deliver_rest(tp_pool *p);

/* plugins.c */
int tp__load_spec(tp_pool *p, const char *spec, char *err, size_t errlen);

#endif
