/* Results kept beside the joblog, in FILE.held, until their output is
 * written.  A result waits in the host after its input finished: in input
 * order for the slower inputs before it, and in any order for standard
 * output to take it.  A host killed then (kill -9, a lost node) loses it,
 * and a resumed run would have to run the input again.  So each result is
 * written here before its joblog line, and a resume writes out the ones
 * whose line says "pending" from here, in their turn, instead of running
 * them.
 *
 * The file: a header page saying where the oldest record that may still
 * be needed starts (and holding the log's notes of where its last writes
 * went: joblog.c), then records in the order the inputs finished (each with
 * a checksum; a record cut short by a kill ends the file).  The space of
 * records whose output was written is given back (punched out) as the run
 * goes, the file is emptied whenever nothing in it is needed, and removed
 * at the end of a run that left nothing in it.  Native byte order: a held
 * file is read back by the taskpool of the machine that wrote it. */
#ifndef TP_HELD_H
#define TP_HELD_H

#include <stddef.h>
#include <stdint.h>

#include "taskpool/pool.h"

/* A record found when reading the file back. */
struct tp__held_rec {
    uint64_t index, digest, off, seq;
    unsigned status, attempts;
};

struct tp__held_slot; /* a record written or found, in file order */

struct tp__held {
    int fd;
    char *path;
    uint64_t end;     /* where the next record goes (after the batch) */
    char *wbuf;       /* the batch of records not yet written */
    size_t wlen;
    uint64_t low;     /* the header's: no record below it is needed */
    uint64_t punched; /* the space below it was given back */
    struct tp__held_slot *fifo; /* records that may be needed, file order */
    size_t fhead, fn, fcap;
    uint64_t fseq;    /* the sequence number of fifo[fhead] */
    struct tp__held_rec *replay; /* to write out, by index */
    size_t nreplay, next;
    char *buf;        /* the replay loaded */
    size_t bufcap;
};

/* Open (or create) JOBLOG.held, as it is.  0, or -1 with a one-line
 * message in err (h closed). */
int tp__held_open(struct tp__held *h, const char *joblog, char *err,
                 size_t errlen);
/* Then start on it: empty it (keep 0) or read its header (keep 1, to
 * resume).  0, or -1 with a message (close h then). */
int tp__held_begin(struct tp__held *h, int keep, char *err, size_t errlen);

/* The header page's bytes from TP_HELD_NOTES_AT to its end are the log's
 * (where its writes in flight went, joblog.c): put or get n bytes at at.
 * 0, or -1 (errno). */
#define TP_HELD_NOTES_AT 64u
int tp__held_note_put(struct tp__held *h, size_t at, const void *p, size_t n);
int tp__held_note_get(struct tp__held *h, size_t at, void *p, size_t n);

/* Resume: read the records back.  want() says whether a record is the
 * result of a joblog line still "pending" and to be written out instead
 * of run (the last record of an index wins); those become the replays.
 * What follows a record cut short is cut off.  0, or -1 with a message. */
int tp__held_scan(struct tp__held *h,
                 int (*want)(void *arg, const struct tp__held_rec *r),
                 void *arg, char *err, size_t errlen);

/* Keep r (digest: of its input), in a batch written by tp__held_flush
 * before its joblog line is; *seq names it for tp__held_done.  0, or -1
 * (errno). */
int tp__held_put(struct tp__held *h, const struct tp_result *r,
                uint64_t digest, uint64_t *seq);
/* Write the records kept so far (before their joblog lines).  0, or -1
 * (errno). */
int tp__held_flush(struct tp__held *h);
/* Record seq is not needed any more: its output was written. */
void tp__held_done(struct tp__held *h, uint64_t seq);

/* The index of the next replay, or UINT64_MAX when none is left. */
uint64_t tp__held_next(const struct tp__held *h);
/* Load the next replay into r (valid until the next call).  0, or -1
 * (errno; EBADMSG if the record changed since it was read back). */
int tp__held_load(struct tp__held *h, struct tp_result *r);
/* The replay loaded has been kept again (tp__held_put): go to the next. */
void tp__held_loaded(struct tp__held *h);

/* Close; the file is removed when nothing in it is needed. */
void tp__held_close(struct tp__held *h);

#endif
