/* A chunk: records sent to a worker as one request, their results, and
 * its bookkeeping (chunk.c); with the pool's error, the bottom of the
 * pool. */
#ifndef TP_POOL_CHUNK_H
#define TP_POOL_CHUNK_H

#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/wire.h"
#include "taskpool/pool.h"

#define NO_REC UINT32_MAX

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

#endif
