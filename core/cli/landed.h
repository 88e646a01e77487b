/* Where a write of results (stdout) or of a message (stderr) lands, and,
 * when a killed run is resumed, whether it got there.
 *
 * A joblog mark ("written") is a store made after a write: a kill -9
 * between the two would leave that write's results "pending", and a
 * resumed run would write them again.  So before each write that ends
 * records, the log notes in FILE.held's head page where the write goes
 * (a struct tp__where: the file's device and inode, the offset of the
 * first byte of the records it ends, their length and their checksum)
 * and marks their lines "writing"; after it, "written".  A resume that
 * finds "writing" lines asks tp__landed whether those bytes are in that
 * file: the killed run's stream if the resumed run writes to the same
 * file (`>>`), else the path the killed run recorded (readlink of
 * /proc/self/fd/N at its start), checked to be the same file.  Into a
 * pipe or a terminal nothing can be checked. */
#ifndef TP_LANDED_H
#define TP_LANDED_H

#include <stddef.h>
#include <stdint.h>

enum tp__where_kind {
    TP_WHERE_NONE,   /* nothing noted (a new log, or a lost held file) */
    TP_WHERE_FILE,   /* a regular file: checkable */
    TP_WHERE_OTHER,  /* a pipe, socket, terminal or device */
    TP_WHERE_UNSURE, /* a regular file whose offset was not known */
};

/* One write in flight, as noted in FILE.held (native byte order). */
struct tp__where {
    uint64_t kind, dev, ino;
    uint64_t off, len, sum; /* the bytes of the records it ends */
    uint64_t index, count;  /* the last of them (stderr: the one), how many */
};
_Static_assert(sizeof(struct tp__where) == 64, "no padding in a where");

/* A stream of this run. */
struct tp__landing {
    int fd, regular, append;
    uint64_t dev, ino;
};

/* Look at fd once (fstat, its flags).  0, or -1 (errno). */
int tp__landing_init(struct tp__landing *l, int fd);
/* The offset in l's file where the next write to it goes.  0, or -1. */
int tp__landing_at(const struct tp__landing *l, uint64_t *off);
/* The path fd was opened by (NUL-terminated), or "" if unknown. */
void tp__landing_path(int fd, char *buf, size_t n);

enum tp__landed {
    TP_LANDED_YES,  /* all of w's bytes are there */
    TP_LANDED_NONE, /* none: the file ends where they would start */
    TP_LANDED_NO,   /* anything else (why in why) */
};
/* Resume: are w's bytes (a TP_WHERE_FILE) in its file?  fd_now is this
 * run's own stream (looked at first), path the one recorded. */
enum tp__landed tp__landed(const struct tp__where *w, int fd_now,
                           const char *path, char *why, size_t whylen);

#endif
