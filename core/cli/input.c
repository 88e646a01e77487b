#include "cli/input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_SIZE (64u << 10)

int tp__input_init(struct tp__input *in, int fd, char delim, size_t max)
{
    memset(in, 0, sizeof *in);
    in->fd = fd;
    in->delim = delim;
    in->max = max;
    in->cap = 2 * READ_SIZE;
    in->buf = malloc(in->cap);
    return in->buf ? 0 : -1;
}

void tp__input_free(struct tp__input *in)
{
    free(in->buf);
    in->buf = NULL;
}

int tp__input_next(struct tp__input *in, const char **rec, size_t *len)
{
    char *hit = memchr(in->buf + in->scan, in->delim, in->end - in->scan);
    if (hit) {
        *rec = in->buf + in->start;
        *len = (size_t)(hit - *rec);
        in->start = in->scan = (size_t)(hit - in->buf) + 1;
        return 1;
    }
    in->scan = in->end;
    if (!in->eof)
        return 0;
    if (in->start == in->end)
        return -1;
    *rec = in->buf + in->start;
    *len = in->end - in->start;
    in->start = in->scan = in->end;
    return 1;
}

int tp__input_records(struct tp__input *in, const char **rec, size_t *len)
{
    char *last = memrchr(in->buf + in->scan, in->delim, in->end - in->scan);
    if (!last) {
        in->scan = in->end;
        return 0;
    }
    *rec = in->buf + in->start;
    *len = (size_t)(last + 1 - *rec);
    in->start = in->scan = (size_t)(last - in->buf) + 1;
    return 1;
}

int tp__input_fill(struct tp__input *in)
{
    if (in->end - in->start > in->max) {
        errno = EFBIG;
        return -1;
    }
    if (in->cap - in->end < READ_SIZE && in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->scan -= in->start;
        in->start = 0;
    }
    if (in->cap - in->end < READ_SIZE) {
        char *b = realloc(in->buf, in->cap * 2);
        if (!b)
            return -1;
        in->buf = b;
        in->cap *= 2;
    }
    /* no more than can still end the record begun: a record longer than
     * max then always meets the check above, however the reads fall */
    size_t want = in->cap - in->end, left = in->max - (in->end - in->start);
    if (left < want)
        want = left + 1;
    for (;;) {
        ssize_t r = read(in->fd, in->buf + in->end, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            in->eof = 1;
        in->end += (size_t)r;
        in->got += (uint64_t)r;
        return 0;
    }
}
