/* The input record readers (input.c) as the host runs them, on bytes
 * written to a pipe in pieces of varying size, so that records and
 * terminators fall across reads.  Input:
 *   byte 0   bit 0: NUL- rather than newline-terminated; bit 1: read as
 *            --dry-run does (tp__input_next only) rather than as a run does
 *            (tp__input_records, and tp__input_next for a last record);
 *            bits 2-3: max is bytes 1-2 shifted left by 0, 4, 8 or 12
 *   bytes 1-2 the longest record accepted (u16, before the shift)
 *   byte 3   the payload is written 1 + byte 3 % 64 times (long inputs
 *            make the buffer move its contents and grow)
 *   byte 4   seeds the sizes of the writes
 *   the rest the payload
 * The records read must be the bytes written, cut at each terminator, and
 * none longer than max; EFBIG only for a record that is longer; the
 * buffer no larger than a record of max bytes needs. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fuzz.h"
#include "cli/input.h"
#include "common/wire.h"

#define HEAD 5

struct run {
    struct tp__input in;
    const char *stream; /* everything written, in order */
    size_t total, sent, got; /* bytes: written, read as records */
    int rfd, wfd;
    uint32_t rnd;
    size_t read_size, max;
};

/* Make the next read return something: write a piece, or end the input. */
static void supply(struct run *r)
{
    int avail = 0;
    FUZZ_CHECK(ioctl(r->rfd, FIONREAD, &avail) == 0);
    if (avail > 0)
        return;
    if (r->sent < r->total) {
        r->rnd = r->rnd * 1103515245u + 12345u;
        size_t n = 1 + (r->rnd >> 16) % 4096; /* under a pipe's capacity */
        if (n > r->total - r->sent)
            n = r->total - r->sent;
        FUZZ_CHECK(tp__write_all(r->wfd, r->stream + r->sent, n) == 0);
        r->sent += n;
    } else if (r->wfd >= 0) {
        close(r->wfd);
        r->wfd = -1;
    }
}

/* A record the reader gave: the next bytes of the stream, then a
 * terminator, or the stream's end. */
static void one(struct run *r, const char *rec, size_t len)
{
    FUZZ_CHECK(len <= r->max);
    FUZZ_CHECK(len <= r->total - r->got);
    FUZZ_CHECK(memcmp(rec, r->stream + r->got, len) == 0);
    r->got += len;
    if (r->got < r->total) {
        FUZZ_CHECK(r->stream[r->got] == r->in.delim);
        r->got++;
    } else {
        FUZZ_CHECK(r->in.eof);
    }
}

/* A span of whole records, as tp__input_records gives them. */
static void span(struct run *r, const char *rec, size_t len)
{
    FUZZ_CHECK(len > 0 && rec[len - 1] == r->in.delim);
    for (size_t i = 0; i < len;) {
        const char *e = memchr(rec + i, r->in.delim, len - i);
        one(r, rec + i, (size_t)(e - (rec + i)));
        i = (size_t)(e - rec) + 1;
    }
}

/* Take every record buffered, as the run or --dry-run does: 1 when the
 * input is over, 0 when a read is needed. */
static int take(struct run *r, int dry)
{
    const char *rec;
    size_t len;
    for (;;) {
        if (dry) {
            int k = tp__input_next(&r->in, &rec, &len);
            if (k <= 0)
                return k < 0;
            one(r, rec, len);
        } else if (tp__input_records(&r->in, &rec, &len)) {
            span(r, rec, len);
        } else {
            if (!r->in.eof)
                return 0;
            if (tp__input_next(&r->in, &rec, &len) > 0)
                one(r, rec, len);
            return 1;
        }
    }
}

/* EFBIG: the record that starts where reading stopped is longer than max. */
static void too_long(const struct run *r)
{
    const char *e = memchr(r->stream + r->got, r->in.delim,
                           r->total - r->got);
    size_t len = e ? (size_t)(e - (r->stream + r->got)) : r->total - r->got;
    FUZZ_CHECK(len > r->max);
}

static void read_all(struct run *r, int dry)
{
    while (!take(r, dry)) {
        supply(r);
        if (tp__input_fill(&r->in) != 0) {
            FUZZ_CHECK(errno == EFBIG);
            too_long(r);
            return;
        }
        /* it grows only to hold one long record */
        FUZZ_CHECK(r->in.cap <= 2 * r->read_size ||
                   r->in.cap <= 2 * (r->max + r->read_size));
    }
    FUZZ_CHECK(r->got == r->total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEAD)
        return 0;
    struct run r = {.rnd = data[4]};
    char delim = data[0] & 1 ? '\0' : '\n';
    int dry = data[0] >> 1 & 1;
    r.max = ((size_t)data[1] | (size_t)data[2] << 8) << (4 * (data[0] >> 2 & 3));
    size_t n = size - HEAD, times = 1 + data[3] % 64;
    char *stream = malloc(n * times + 1);
    FUZZ_CHECK(stream);
    for (size_t i = 0; i < times; i++)
        memcpy(stream + i * n, data + HEAD, n);
    r.stream = stream;
    r.total = n * times;
    int fds[2];
    FUZZ_CHECK(pipe2(fds, O_CLOEXEC) == 0);
    r.rfd = fds[0];
    r.wfd = fds[1];
    FUZZ_CHECK(tp__input_init(&r.in, r.rfd, delim, r.max) == 0);
    r.read_size = r.in.cap / 2; /* the buffer starts at two reads */
    read_all(&r, dry);
    tp__input_free(&r.in);
    close(r.rfd);
    if (r.wfd >= 0)
        close(r.wfd);
    free(stream);
    return 0;
}
