#include "cli/feed.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/input.h"

int tp__feed_check_args(struct tp__feed *f, char *const *args, int n)
{
    f->skipped = 0;
    for (int i = 0; f->resume && i < n; i++) {
        int m = tp__joblog_match(f->resume, (uint64_t)i, args[i],
                                strlen(args[i]), f->msg, sizeof f->msg);
        if (m < 0) {
            f->changed = 1;
            return -1;
        }
        f->skipped += (uint64_t)m;
    }
    if (f->resume)
        tp__joblog_rewind(f->resume);
    return 0;
}

/* One input: run it, or skip it when the log being resumed has it done. */
static int one(struct tp__feed *f, const char *rec, size_t len)
{
    int m = f->resume ? tp__joblog_match(f->resume, tp_pool_fed(f->pool), rec,
                                        len, f->msg, sizeof f->msg)
                      : 0;
    if (m < 0) {
        f->changed = 1;
        return -1;
    }
    f->skipped += (uint64_t)m;
    return m ? tp_pool_skip(f->pool, 1) : tp_pool_feed(f->pool, rec, len);
}

static void at_end(struct tp__feed *f)
{
    if (f->total)
        *f->total = tp_pool_fed(f->pool) - f->skipped;
}

int tp__feed_args(struct tp__feed *f, char *const *args, int n)
{
    f->skipped = 0;
    for (int i = 0; i < n; i++)
        if (one(f, args[i], strlen(args[i])) != 0)
            return -1;
    at_end(f);
    return 0;
}

/* The bytes of fd still to read if it is a regular file (from where it
 * stands), or 0. */
static uint64_t file_left(int fd)
{
    struct stat st;
    off_t at;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (at = lseek(fd, 0, SEEK_CUR)) < 0 || st.st_size <= at)
        return 0;
    return (uint64_t)(st.st_size - at);
}

/* --progress from a file of size bytes, before its end is seen: the
 * inputs to run, from the records read so far (fed, and those buffered)
 * and the share of the file they came from; exact once all of it is read.
 * Costs a scan of the buffer per read, and only with --progress. */
static void guess(struct tp__feed *f, const struct tp__input *in,
                  uint64_t size)
{
    uint64_t seen = tp_pool_fed(f->pool);
    for (const char *p = in->buf + in->start, *e = in->buf + in->end;
         (p = memchr(p, in->delim, (size_t)(e - p))); p++)
        seen++;
    if (in->got >= size) /* a last record without its terminator counts */
        seen += in->end > in->start && in->buf[in->end - 1] != in->delim;
    else
        seen = in->got ? (uint64_t)((double)seen * (double)size /
                                    (double)in->got)
                       : 0;
    *f->estimate = seen > f->skipped ? seen - f->skipped : 0;
    if (in->got >= size && f->total) /* all of it read: no guess */
        *f->total = *f->estimate;
}

/* While the log records inputs ahead, records go one at a time (each is
 * checked); after that, in bulk. */
int tp__feed_fd(struct tp__feed *f, int fd, char delim)
{
    struct tp__input in;
    if (tp__input_init(&in, fd, delim, TP_POOL_RECORD_MAX) != 0) {
        f->read_err = errno;
        return -1;
    }
    uint64_t size = f->estimate ? file_left(fd) : 0;
    f->skipped = 0;
    uint64_t checked = f->resume ? tp__joblog_recorded(f->resume) : 0;
    int r = 0, m;
    for (;;) {
        const char *rec;
        size_t len;
        if (tp_pool_fed(f->pool) < checked) {
            if ((m = tp__input_next(&in, &rec, &len)) > 0) {
                if ((r = one(f, rec, len)) != 0)
                    break;
                continue;
            }
            if (m < 0) {
                at_end(f);
                break;
            }
        } else if (tp__input_records(&in, &rec, &len)) {
            if ((r = tp_pool_feed_records(f->pool, rec, len, delim)) != 0)
                break;
            continue;
        } else if (in.eof) { /* a last record without its terminator */
            if (tp__input_next(&in, &rec, &len) > 0)
                r = tp_pool_feed(f->pool, rec, len);
            at_end(f); /* now progress can show an ETA */
            break;
        }
        if ((r = tp_pool_wait_fd(f->pool, fd)) != 0)
            break;
        if (tp__input_fill(&in) != 0) {
            f->read_err = errno;
            r = -1;
            break;
        }
        if (size)
            guess(f, &in, size);
    }
    tp__input_free(&in);
    return r;
}
