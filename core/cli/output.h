/* Result writers: the only code that writes to stdout. */
#ifndef TP_OUTPUT_H
#define TP_OUTPUT_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "taskpool/pool.h"

struct tp__output {
    int fd;
    char term;       /* written after each result: '\n' or '\0' */
    char *buf;
    size_t len, cap;
    int jsonl;       /* one JSON object per input instead of text */
    int tag;         /* text: "INPUT<TAB>" before each result */
    /* --progress: on stderr, redrawn when a terminal, else one summary */
    int progress, progress_tty;
    uint64_t done, total; /* finished inputs; total: 0 while unknown */
    uint64_t estimate;    /* ... meanwhile, an estimate of it, or 0 */
    uint64_t done_failed; /* finished inputs that did not succeed */
    const tp_pool *pool;  /* where done and done_failed come from */
    uint64_t t_start, t_drawn;
    volatile sig_atomic_t *stop; /* a blocked write gives up once set */
    int err;         /* errno of a failed write to fd (EPIPE: reader left) */
    /* Bytes of fd's stream: handed to it, and written so far.  Where each
     * record ends (put_total after it) waits in a ring until written, so
     * that a signal lets the record being written finish (for a second at
     * most) and a log can tell which results reached fd. */
    uint64_t put_total, written_total;
    uint64_t *ends;
    size_t ends_head, nends, capends;
    /* writes at most this long, ending at a record's end (0: any):
     * PIPE_BUF on a pipe under a log, so that a write that a kill -9 or
     * a stalled reader stops wrote whole records or nothing, and the
     * log's marks are exact (a record longer than that can be cut) */
    size_t piece;
    /* optional (a joblog: joblog.h says why): told before each write of
     * the stream (n bytes p, from written_total) and after it, with
     * written_total then (also when it failed); and before and after each
     * message for stderr (ok: it was written whole) */
    void (*writing)(void *arg, uint64_t from, const char *p, size_t n);
    void (*wrote)(void *arg, uint64_t written_total);
    void (*telling)(void *arg, uint64_t index, const char *p, size_t n);
    void (*told)(void *arg, uint64_t index, int ok);
    void *wrote_arg;
    uint64_t failed; /* inputs that did not succeed */
};

int tp__output_init(struct tp__output *o, int fd);

/* Draw the progress line now (final: and end it, or print the summary). */
void tp__output_progress(struct tp__output *o, int final);
void tp__output_free(struct tp__output *o);

/* Pool callbacks (arg is the tp__output).  Text: a result that is OK is
 * written as its output and o->term; any other writes one line to stderr,
 * "taskpool: input N (INPUT): MESSAGE" with N counted from 1 and INPUT
 * shortened and escaped.  jsonl: one object per input on fd, nothing on
 * stderr.  Both return non-zero once fd cannot be written. */
int tp__output_result(void *arg, const struct tp_result *r);
int tp__output_flush(void *arg);
/* Text mode: the outputs of n successful inputs, terminators included. */
int tp__output_text(void *arg, const char *data, size_t len, uint64_t n);

/* "ok", "error", "crashed", "timeout", "protocol": as jsonl and the joblog
 * name an outcome. */
const char *tp__output_status_name(enum tp_status st);

/* Escape s for a one-line message: \n \t \\ and \xHH for other control
 * bytes; at most max bytes of s, then "...".  Returns the length written
 * (always NUL-terminated, out must hold 4 * max + 4 bytes). */
size_t tp__escape(const char *s, size_t n, size_t max, char *out);

/* Append s as a JSON string (quotes included) to the output buffer:
 * control bytes escaped, invalid UTF-8 replaced byte by byte with U+FFFD.
 * Returns 0 or -1. */
int tp__output_json_string(struct tp__output *o, const char *s, size_t n);

#endif
