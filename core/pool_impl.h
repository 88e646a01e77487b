/* The pool's insides, shared by pool.c (the API, chunk slots, delivery,
 * halting) and sched.c (workers: dispatch, I/O, faults, timeouts). */
#ifndef TP_POOL_IMPL_H
#define TP_POOL_IMPL_H

#include <poll.h>
#include <time.h>

#include "buf.h"
#include "taskpool/pool.h"
#include "transport.h"
#include "wire.h"

#define DEPTH 2          /* chunks queued per worker */
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
    uint64_t seq, first;
    uint32_t n, done;   /* records; results received or recorded */
    uint32_t until;     /* the current dispatch ends before this record */
    /* a record to run again, alone, on a fresh worker */
    uint32_t retry_at;
    unsigned retry_attempts;
    /* a record whose worker died and that is out of retries */
    uint32_t stop_at;
    enum tp_status stop_status;
    pid_t stop_pid;
    unsigned stop_attempts;
    char stop_msg[1024];
    size_t body_from, body_until; /* request body range being sent */
    unsigned lost;      /* workers lost in a row on this chunk, no input
                           blamed (e.g. killed while it read the request) */
    int delim;          /* request body: records ended by this byte, or -1
                           for length-prefixed records */
    struct tp_buf fails; /* text mode: failed records (struct fail_hdr +
                            message each), in record order */
    enum cstate state;
    struct tp_buf in;   /* request body: u32 len + bytes per record */
    struct tp_buf out;  /* result records, as on the wire */
    unsigned char hdr[TP_WIRE_HDR];
    struct mark *marks;
    size_t nmarks, capmarks;
    uint64_t t_sent;
};

struct worker {
    struct tp_link link;
    int ready;
    int q[DEPTH];         /* chunk slots sent or being sent, oldest first */
    unsigned nq, nsent;   /* queued; fully written */
    size_t send_off;      /* bytes of q[nsent]'s frame written */
    unsigned char rhdr[TP_WIRE_HDR];
    size_t rgot;
    struct tp_frame rf;
    int in_body;
    uint64_t bgot;
    struct tp_buf fatal;  /* body of a FATAL frame */
    struct tp_buf fails;  /* body of a FAILS frame, until its TEXT frame */
    uint32_t nfails;
    uint64_t answered;    /* results received from this worker */
    uint64_t assigned;    /* records sent to this worker */
    uint64_t t_free;      /* when it last finished a chunk */
};

struct tp_pool {
    struct tp_pool_options o;
    struct tp_pool_callbacks cb;
    struct tp_worker_spec spec;
    char *file, *task;
    unsigned jobs, nslots;
    struct worker *w;
    struct chunk *c;
    int *freel, *dq, *order;
    unsigned nfree, dq_head, dq_len, inflight;
    uint64_t next_seq, emit_seq, next_index;
    int fill;
    unsigned target, cap;
    double ns_per_item;
    uint32_t req_flags;
    uint64_t delivered, failed;
    int halting, input_done;
    uint32_t *samples;      /* usec of tasks that succeeded (a ring) */
    unsigned nsamples, sample_pos, samples_new;
    uint64_t median_ns;
    struct pollfd *pfd;
    enum tp_error err;
    char msg[4096];
};

/* pool.c */
__attribute__((format(printf, 3, 4))) int
tp_pool_fail(tp_pool *p, enum tp_error e, const char *fmt, ...);
int tp_add_mark(struct chunk *c, uint32_t from, pid_t pid, unsigned attempts);
/* Text mode: file a failed record of chunk c.  0 or -1 (ENOMEM). */
int tp_add_fail(struct chunk *c, const struct fail_hdr *f, const char *msg);
void tp_chunk_done(tp_pool *p, int s);
void tp_dq_push(tp_pool *p, int slot, int front);
int tp_dq_pop(tp_pool *p);

static inline uint64_t tp_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* sched.c */
void tp_reset_worker(struct worker *w);
void tp_sched_dispatch(tp_pool *p);
/* One round of poll over the workers (and extra_fd, and the cancel fd).
 * Returns 1 if extra_fd became readable, 0 if not, -1 on error. */
int tp_sched_run_once(tp_pool *p, int extra_fd);
/* Chunks sent to workers and not yet answered. */
unsigned tp_sched_busy(const tp_pool *p);
int tp_sched_start(tp_pool *p, char *err, size_t errlen);
void tp_sched_stop(tp_pool *p);

/* intake.c: read what w sent; the worker is gone or must go */
void tp_on_readable(tp_pool *p, struct worker *w);
void tp_worker_lost(tp_pool *p, struct worker *w, enum tp_status why,
                    const char *detail);

/* plugins.c */
int tp_load_spec(tp_pool *p, const char *spec, char *err, size_t errlen);

#endif
