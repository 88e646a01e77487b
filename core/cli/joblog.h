/* The joblog (--joblog FILE): one TSV line per input, written as the input
 * finishes.  Its "output" column says "pending" until the input's output
 * has been written to standard output, then "written" (patched in place),
 * so that a killed run's log tells what a resumed run may skip: a finished
 * input whose output was lost runs again.  --resume and --resume-failed
 * read the log back and append to it.  With a log that is a regular file,
 * each result is also kept in FILE.held until it is written (held.h), and
 * a resume writes out those whose line says "pending" instead of running
 * them again.  Around each write of results or of a message, the lines of
 * the inputs it ends say "writing", and FILE.held notes where it goes, so
 * that a resume can tell whether a killed run's last write got there
 * (landed.h). */
#ifndef TP_JOBLOG_H
#define TP_JOBLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli/held.h"
#include "cli/landed.h"
#include "taskpool/pool.h"

enum tp__resume {
    TP_RESUME_NONE,   /* a new log */
    TP_RESUME_DONE,   /* --resume: skip every input written before */
    TP_RESUME_FAILED, /* --resume-failed: skip only those that succeeded */
};

struct tp__jl_rec; /* an input the log records (joblog.c) */
struct tp__jl_pend;
struct tp__jl_ready;
struct tp__jl_writing; /* resume: a line that says "writing" */

/* Standard output as the log follows it: a checksum of the bytes since
 * the start of the first record not written whole, and the write under
 * way (its bytes p, from stream byte from; records ending by flight say
 * "writing"). */
struct tp__jl_stream {
    struct tp__landing l;
    uint64_t start, sum;
    const char *p;
    uint64_t from, flight;
    size_t k;
};

struct tp__joblog {
    int fd;
    const char *file;
    off_t end;                 /* where the next line goes */
    char *lines;               /* a batch of lines not yet written, */
    size_t llen;               /* ending at end */
    struct tp__jl_pend *pend;   /* index -> offset of its "pending" */
    size_t npend, pcap;        /* an open-addressing table, pcap = 2^k */
    struct tp__jl_ready *ready; /* handed to the output, not yet written: */
    size_t rhead, nready, rcap; /* a ring, in the order of the stream */
    struct tp__jl_rec *rec;     /* resume: recorded inputs by index */
    size_t nrec, next;
    enum tp__resume mode;
    char *map;                 /* the file, shared, to mark it; or NULL */
    uint64_t dropped;          /* map pages below this were let go */
    off_t newline_at;          /* a whole last line lacked its newline */
    int seekable;              /* a regular file: marks, resuming, and */
    struct tp__held held;       /* the results not yet written (held.h) */
    int err;                   /* errno of the first failed log write */
    off_t size;                /* the log's size at the last look */
    struct tp__jl_stream out;   /* standard output */
    struct tp__landing msgs;    /* standard error */
    struct tp__jl_writing *writing; /* resume: lines that said "writing" */
    size_t nwriting;
};

/* Open FILE: a new log (truncated), or with a resume mode the existing one,
 * read back (a missing file is a new log).  FILE may not be the input
 * (input_fd, or -1), standard output or error, a pipe or a socket.  0, or
 * -1 with a one-line message in err (without "taskpool: "). */
int tp__joblog_open(struct tp__joblog *j, const char *file, enum tp__resume mode,
                   int input_fd, char *err, size_t errlen);

/* Input r finished: its line, output "pending", kept in a batch that is
 * written when full, by tp__joblog_flush, and before any line is marked. */
void tp__joblog_finished(struct tp__joblog *j, const struct tp_result *r);
/* Write the batch (held results first).  0, or -1 (j->err set). */
int tp__joblog_flush(struct tp__joblog *j);
/* Input index has been handed to the output: it is written once the
 * output's stream has been written up to end (struct tp__output's
 * put_total after it). */
void tp__joblog_delivered(struct tp__joblog *j, uint64_t index, uint64_t end);
/* Standard output's bytes p[0..n) (from stream byte from) are about to
 * be written: note where they go, mark the inputs they end "writing". */
void tp__joblog_writing(struct tp__joblog *j, uint64_t from, const char *p,
                       size_t n);
/* The output's stream has been written up to total: mark what is in
 * "written", what was on its way and is not back to "pending". */
void tp__joblog_written(struct tp__joblog *j, uint64_t total);
/* Input index's message (p, n) is about to be written to stderr: note
 * where it goes, mark it "writing". */
void tp__joblog_telling(struct tp__joblog *j, uint64_t index, const char *p,
                       size_t n);
/* ... and was written (ok), or was lost: then its line says "pending"
 * and its result is not kept (it runs again when resumed). */
void tp__joblog_told(struct tp__joblog *j, uint64_t index, int ok);

/* Resume, called for increasing i: 1 if input i (rec, len) is to be
 * skipped (it was written, or is to be written from FILE.held: see
 * tp__held_next on j->held), 0 if it runs, -1 if it is not the input the log recorded
 * (message in err). */
int tp__joblog_match(struct tp__joblog *j, uint64_t i, const char *rec,
                    size_t len, char *err, size_t errlen);
/* Resume: 1 if every input in [from, to) is skipped (written before, or
 * to be written from FILE.held), 0 if one runs. */
int tp__joblog_done_span(const struct tp__joblog *j, uint64_t from,
                        uint64_t to);
/* 1 + the highest index the log records: from there on inputs just run. */
uint64_t tp__joblog_recorded(const struct tp__joblog *j);
/* Start matching again from input 0. */
void tp__joblog_rewind(struct tp__joblog *j);

/* Close; 0, or -1 with errno of the first failed write. */
int tp__joblog_close(struct tp__joblog *j);

/* 64-bit FNV-1a: the input digest the log keeps. */
uint64_t tp__joblog_digest(const char *p, size_t n);

#endif
