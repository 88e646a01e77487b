/* Frames between the host and a worker.
 *
 * A frame is a 24-byte header followed by a body:
 *   u32 magic "TPW1", u32 type, u32 count, u32 flags, u64 body length
 * in host byte order (both ends run the same build).  Bodies:
 *   REQUEST: count input records, each  u32 len, len bytes
 *   RESULT:  count results, each        u32 len, u32 status,
 *            [u32 usec, u64 start (CLOCK_REALTIME ns): only if the request
 *            had TP_REQ_TIMES], len bytes
 *            (a chunk's results may span several RESULT frames, in order)
 *   READY:   empty; the worker loaded the plugin and ran init (a remote
 *            worker's count: how many local workers it runs, 0 if unsaid)
 *   FATAL:   a message; the worker could not start (count: TP_FATAL_LOAD
 *            or TP_FATAL_INIT) or gave up later (TP_FATAL_LATER); a far
 *            pool was stopped by a signal (TP_FATAL_STOPPED: its launcher
 *            ends the job)
 * Requests carry a sequence number (flags bits 24-31) that every answer
 * frame echoes (its flags bits 8-15); the last answer frame of a request
 * has TP_ANS_END, and may be empty.  How many records of a request the
 * worker runs is decided through its shared claim word (transport.h): the
 * host may take back records the worker has not claimed yet.
 * Text mode, for plain text output (the host's per-record work is then
 * only finding record boundaries):
 *   REQUEST with TP_REQ_DELIM: records each ended by the byte in flags
 *            bits 8-15, instead of length-prefixed
 *   answers to TP_REQ_TEXT: per batch, a FAILS frame (if any failed), then
 *   TEXT:    count records answered; body: the outputs of those that
 *            succeeded, each ended by the byte in the request's bits 16-23
 *   FAILS:   count entries, each u32 index, u32 text offset (both relative
 *            to the TEXT frame that follows), u32 len, len bytes of message
 * A body longer than TP_WIRE_MAX_BODY is a protocol error, never allocated.
 */
#ifndef TP_WIRE_H
#define TP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TP_WIRE_MAGIC 0x31575054u /* "TPW1" */
#define TP_WIRE_HDR 24
/* Requests a far pool (tp_agent_serve) takes in flight, at most. */
#define TP_WIRE_QUEUE_MAX 32
#define TP_WIRE_MAX_BODY ((uint64_t)256 << 20)
#define TP_WIRE_REQ_REC 4  /* request record header bytes */
#define TP_WIRE_RES_MIN 8  /* result record header bytes, untimed */
#define TP_WIRE_RES_MAX 20 /* ... and with times */
/* The longest input record or result a frame can carry. */
#define TP_RECORD_MAX (TP_WIRE_MAX_BODY - TP_WIRE_RES_MAX)

enum tp__frame_type {
    TP_FRAME_REQUEST = 1,
    TP_FRAME_RESULT = 2,
    TP_FRAME_READY = 3,
    TP_FRAME_FATAL = 4,
    TP_FRAME_TEXT = 5,
    TP_FRAME_FAILS = 6,
    /* host -> node agent (--mpi): the time limit of a task, in ms, in
     * count (--timeout P%: P% of the median over every rank's tasks) */
    TP_FRAME_LIMIT = 7,
    /* node agent -> host (--mpi): at work, nothing to answer yet (a rank
     * timing out a run of hung inputs is not a frozen one) */
    TP_FRAME_ALIVE = 8,
};

/* Request flags. */
#define TP_REQ_TIMES 1u /* measure each task's time (usec field) */
#define TP_REQ_DELIM 2u /* delimited records, delimiter in bits 8-15 */
#define TP_REQ_TEXT 4u  /* TEXT/FAILS answers, terminator in bits 16-23 */
/* Remote workers (tp_agent_serve): each result record carries, after its
 * header, u32 pid and u32 attempts (of the worker at the far end), and its
 * status may be any tp_status. */
#define TP_REQ_REMOTE 8u
#define TP_WIRE_RES_REMOTE 8 /* the extra bytes of a remote result record */
/* ... and a remote FAILS entry carries u32 status, pid, attempts after
 * its len, before the message */
#define TP_WIRE_FAIL_REMOTE 12
#define TP_WIRE_FAIL_REC 12
#define TP_REQ_SEQ(f) (((f) >> 24) & 0xffu)

/* Answer flags. */
#define TP_ANS_END 1u   /* the last answer frame of its request */
#define TP_ANS_SEQ(f) (((f) >> 8) & 0xffu)

enum { TP_FATAL_LATER = 0, TP_FATAL_LOAD = 1, TP_FATAL_INIT = 2,
       TP_FATAL_STOPPED = 3 };

/* Result status, as carried in a result record. */
enum tp__wire_status { TP_WS_OK = 0, TP_WS_ERROR = 1 };

struct tp__frame {
    uint32_t type, count, flags;
    uint64_t len;
};

void tp__wire_put_hdr(unsigned char raw[TP_WIRE_HDR], uint32_t type,
                     uint32_t count, uint32_t flags, uint64_t len);
/* Decode and validate a header.  Returns 0, or -1 with a message in err
 * (bad magic, unknown type, body over the limit, count impossible for the
 * body length). */
int tp__wire_get_hdr(const unsigned char raw[TP_WIRE_HDR], struct tp__frame *f,
                    char *err, size_t errlen);

/* Unaligned native-order field access. */
static inline uint32_t tp__get32(const void *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
static inline void tp__put32(void *p, uint32_t v) { __builtin_memcpy(p, &v, 4); }

/* Walk the records of a body.  *pos is the offset of the next record; on
 * success sets the record's fields and advances *pos.
 * Returns 1 for a record, 0 at the end of the body, -1 if malformed.
 * Inline: the host and the workers call these once per record. */
static inline int tp__wire_next_req(const char *body, size_t blen, size_t *pos,
                                   const char **rec, uint32_t *len)
{
    size_t p = *pos;
    if (p == blen)
        return 0;
    if (blen - p < TP_WIRE_REQ_REC)
        return -1;
    uint32_t n = tp__get32(body + p);
    p += TP_WIRE_REQ_REC;
    if (blen - p < n)
        return -1;
    *rec = body + p;
    *len = n;
    *pos = p + n;
    return 1;
}

/* The next record of a request body in either form: delim >= 0 for a
 * delimited body, -1 for a length-prefixed one.  Returns as above. */
static inline int tp__wire_next_rec(const char *body, size_t blen, size_t *pos,
                                   const char **rec, uint32_t *len, int delim)
{
    if (delim < 0)
        return tp__wire_next_req(body, blen, pos, rec, len);
    size_t p = *pos;
    if (p == blen)
        return 0;
    const char *e = __builtin_memchr(body + p, delim, blen - p);
    if (!e)
        return -1;
    *rec = body + p;
    *len = (uint32_t)(e - *rec);
    *pos = (size_t)(e - body) + 1;
    return 1;
}

/* One result record, as tp__wire_next_res reads it. */
struct tp__wire_res {
    const char *rec;
    uint32_t len, status, usec; /* usec, start: 0 unless timed */
    uint64_t start_ns;
};

static inline size_t tp__wire_res_hdr(int timed)
{
    return timed ? TP_WIRE_RES_MAX : TP_WIRE_RES_MIN;
}

/* timed: the records carry usec and start (the request had TP_REQ_TIMES) */
static inline int tp__wire_next_res(const char *body, size_t blen, size_t *pos,
                                   struct tp__wire_res *r, int timed)
{
    size_t p = *pos, h = tp__wire_res_hdr(timed);
    if (p == blen)
        return 0;
    if (blen - p < h)
        return -1;
    r->len = tp__get32(body + p);
    r->status = tp__get32(body + p + 4);
    r->usec = 0;
    r->start_ns = 0;
    if (timed) {
        r->usec = tp__get32(body + p + 8);
        __builtin_memcpy(&r->start_ns, body + p + 12, 8);
    }
    p += h;
    if (blen - p < r->len)
        return -1;
    r->rec = body + p;
    *pos = p + r->len;
    return 1;
}

/* Write a result record header at p; returns its size. */
static inline size_t tp__wire_put_res(char *p, uint32_t len, uint32_t status,
                                     uint32_t usec, uint64_t start_ns,
                                     int timed)
{
    tp__put32(p, len);
    tp__put32(p + 4, status);
    if (timed) {
        tp__put32(p + 8, usec);
        __builtin_memcpy(p + 12, &start_ns, 8);
    }
    return tp__wire_res_hdr(timed);
}

/* One entry of a FAILS body. */
struct tp__wire_fail {
    uint32_t index, text_off, len; /* relative to the TEXT frame */
    /* a remote worker's entry says these; else TP_RESULT_ERROR (1), 0, 1 */
    uint32_t status, pid, attempts;
    const char *msg;               /* len bytes, in the body */
};

/* Read the FAILS entry at *pos and check it against the TEXT frame it
 * describes (count records, tlen bytes of text) and the entry before it
 * (prev, NULL for the first): indexes rise and stay below count, offsets
 * never go back nor past the text, so that the text between two failures
 * is a span of it; a remote entry (TP_REQ_REMOTE) has a status that is a
 * failure's (1 to 4) and at least one attempt.  Returns 0 and advances
 * *pos, or -1 if malformed. */
int tp__wire_get_fail(const char *body, size_t blen, size_t *pos,
                     const struct tp__wire_fail *prev, uint32_t count,
                     size_t tlen, int remote, struct tp__wire_fail *f);

/* One record of a remote worker's RESULT body, as tp__wire_take_remote
 * found it (before the body is rewritten past it). */
struct tp__wire_remote {
    uint32_t status, usec, pid, attempts;
};

/* A remote worker's RESULT body (TP_REQ_REMOTE): count records, each a
 * result record's header, u32 pid, u32 attempts, its bytes.  Checks it
 * (any tp_status, at least one attempt, exactly count records covering the
 * body) and rewrites it in place as a local worker's (the 8 bytes gone),
 * calling each(arg, k, &rec) for record k first (non-zero stops it).
 * Returns the new length, -1 if malformed (the body is then garbage), or
 * -2 if each stopped it. */
long long tp__wire_take_remote(char *body, size_t blen, int timed,
                              uint32_t count,
                              int (*each)(void *arg, uint32_t k,
                                          const struct tp__wire_remote *rec),
                              void *arg);

/* Blocking I/O that retries on EINTR and short counts.
 * tp__write_all, tp__writev_all (which advances v): returns 0, or -1 with
 * errno.
 * tp__read_all: returns 1 when n bytes were read, 0 on EOF before the first
 * byte, -1 with errno (EPIPE for EOF in the middle). */
int tp__write_all(int fd, const void *p, size_t n);
struct iovec;
int tp__writev_all(int fd, struct iovec *v, int n);
int tp__read_all(int fd, void *p, size_t n);

#endif
