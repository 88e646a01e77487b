#include "cli/output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "cli/fault.h"
#include "common/fileio.h"
#include "common/status.h"
#include "common/utf8.h"


#define OUT_CAP (64u << 10)
#define REDRAW_NS 100000000u /* progress: at most 10 redraws a second */

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
#define SHORT_INPUT 40
#define SHORT_MSG 400

int tp__output_init(struct tp__output *o, int fd)
{
    memset(o, 0, sizeof *o);
    o->fd = fd;
    o->term = '\n';
    o->t_start = now_ns();
    o->cap = OUT_CAP;
    o->buf = malloc(o->cap);
    return o->buf ? 0 : -1;
}

void tp__output_free(struct tp__output *o)
{
    free(o->buf);
    free(o->ends);
    o->buf = NULL;
    o->ends = NULL;
    o->nends = o->capends = 0;
}

/* The record end after written_total, or 0 (none is being written). */
static uint64_t next_end(struct tp__output *o)
{
    while (o->nends && o->ends[o->ends_head] <= o->written_total) {
        o->ends_head = (o->ends_head + 1) % o->capends;
        o->nends--;
    }
    return o->nends ? o->ends[o->ends_head] : 0;
}

/* A record ends here in the stream (best effort: without memory, a
 * signal simply stops the write where it is). */
static void end_record(struct tp__output *o)
{
    next_end(o);
    if (o->nends == o->capends) {
        size_t cap = o->capends ? 2 * o->capends : 256;
        uint64_t *e = malloc(cap * sizeof *e);
        if (!e)
            return;
        for (size_t i = 0; i < o->nends; i++)
            e[i] = o->ends[(o->ends_head + i) % o->capends];
        free(o->ends);
        o->ends = e;
        o->ends_head = 0;
        o->capends = cap;
    }
    o->ends[(o->ends_head + o->nends++) % o->capends] = o->put_total;
}

/* After a signal: how much of n may still be written, to end the record
 * under way within a second of the first look; 0 to stop now. */
static size_t grace(struct tp__output *o, size_t n, uint64_t *deadline)
{
    uint64_t end = next_end(o), now = now_ns();
    if (!end)
        return 0;
    if (!*deadline)
        *deadline = now + 1000000000u;
    struct pollfd f = {o->fd, POLLOUT, 0};
    int ms = now < *deadline ? (int)((*deadline - now) / 1000000u) : 0;
    if (ms <= 0 || poll(&f, 1, ms) <= 0)
        return 0;
    /* pieces a pipe takes without blocking, up to the record's end */
    uint64_t k = end - o->written_total;
    if (k > PIPE_BUF)
        k = PIPE_BUF;
    return k < n ? (size_t)k : n;
}

/* The next write under o->piece: as many whole records as fit in a
 * piece (a record longer than that, a piece of it), at most n. */
static size_t piece_of(struct tp__output *o, size_t n)
{
    if (!o->piece || n <= o->piece)
        return n;
    next_end(o);
    uint64_t lim = o->written_total + o->piece, upto = 0;
    for (size_t i = 0; i < o->nends; i++) {
        uint64_t e = o->ends[(o->ends_head + i) % o->capends];
        if (e > lim)
            break;
        upto = e;
    }
    return upto ? (size_t)(upto - o->written_total) : o->piece;
}

/* One write(2) of k bytes of the stream, told to the log before and
 * after (the fault points are where a kill -9 would cost a mark). */
static ssize_t write_piece(struct tp__output *o, const char *p, size_t k)
{
    if (o->writing)
        o->writing(o->wrote_arg, o->written_total, p, k);
    TP_FAULT_KILL("out-before");
    if (tp__fault("out-cut")) { /* a kill inside the write */
        if (write(o->fd, p, k / 2) >= 0)
            raise(SIGKILL);
    }
    ssize_t w = write(o->fd, p, k);
    int e = errno;
    if (w > 0) {
        o->written_total += (uint64_t)w;
        TP_FAULT_KILL("out-written");
    }
    if (o->wrote)
        o->wrote(o->wrote_arg, o->written_total);
    errno = e;
    return w;
}

/* Write p (the stream from written_total on), counting what got there. */
static int write_out(struct tp__output *o, const char *p, size_t n)
{
    uint64_t deadline = 0;
    while (n) {
        size_t k = piece_of(o, n);
        if (o->stop && *o->stop && !(k = grace(o, k, &deadline))) {
            o->err = EINTR;
            return -1;
        }
        ssize_t w = write_piece(o, p, k);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            o->err = errno;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The buffer is full: write its whole records, keep the record begun at
 * its end (so that what reaches fd ends at a record's end, unless one
 * record alone fills the buffer). */
static int make_room(struct tp__output *o)
{
    uint64_t last = o->nends ? o->ends[(o->ends_head + o->nends - 1) %
                                       o->capends]
                             : 0;
    size_t whole = last > o->written_total
                       ? (size_t)(last - o->written_total) : 0;
    if (!whole)
        return tp__output_flush(o);
    if (write_out(o, o->buf, whole) != 0)
        return -1;
    memmove(o->buf, o->buf + whole, o->len - whole);
    o->len -= whole;
    return 0;
}

static int put(struct tp__output *o, const char *p, size_t n)
{
    if (o->err)
        return -1;
    o->put_total += n;
    if (o->cap - o->len < n && make_room(o) != 0)
        return -1;
    if (o->cap - o->len < n) {
        if (tp__output_flush(o) != 0)
            return -1;
        if (n >= o->cap) /* large results go straight out */
            return write_out(o, p, n);
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return 0;
}

int tp__output_flush(void *arg)
{
    struct tp__output *o = arg;
    if (o->progress && o->progress_tty)
        tp__output_progress(o, 0);
    if (o->err)
        return -1;
    if (o->len && write_out(o, o->buf, o->len) != 0)
        return -1;
    o->len = 0;
    return 0;
}

size_t tp__escape(const char *s, size_t n, size_t max, char *out)
{
    static const char hex[] = "0123456789abcdef";
    char *d = out;
    size_t i;
    for (i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            *d++ = '\\';
            *d++ = 'n';
        } else if (c == '\t') {
            *d++ = '\\';
            *d++ = 't';
        } else if (c == '\\') {
            *d++ = '\\';
            *d++ = '\\';
        } else if (c < 0x20 || c == 0x7f) {
            *d++ = '\\';
            *d++ = 'x';
            *d++ = hex[c >> 4];
            *d++ = hex[c & 15];
        } else {
            *d++ = (char)c;
        }
    }
    if (i < n) {
        memcpy(d, "...", 3);
        d += 3;
    }
    *d = '\0';
    return (size_t)(d - out);
}

int tp__output_json_string(struct tp__output *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    if (put(o, "\"", 1) != 0)
        return -1;
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; i < n;) {
        size_t k = tp__utf8_len(u + i, n - i);
        const char *esc = NULL;
        char ubuf[7];
        size_t elen = 2;
        if (k == 0) {
            esc = "\xef\xbf\xbd"; /* U+FFFD */
            elen = 3;
            k = 1;
        } else if (u[i] == '"') {
            esc = "\\\"";
        } else if (u[i] == '\\') {
            esc = "\\\\";
        } else if (u[i] == '\n') {
            esc = "\\n";
        } else if (u[i] == '\t') {
            esc = "\\t";
        } else if (u[i] == '\r') {
            esc = "\\r";
        } else if (u[i] < 0x20) {
            memcpy(ubuf, "\\u00", 4);
            ubuf[4] = hex[u[i] >> 4];
            ubuf[5] = hex[u[i] & 15];
            esc = ubuf;
            elen = 6;
        }
        if (esc) {
            if (put(o, s + i - run, run) != 0 || put(o, esc, elen) != 0)
                return -1;
            run = 0;
        } else {
            run += k;
        }
        i += k;
    }
    if (put(o, s + n - run, run) != 0)
        return -1;
    return put(o, "\"", 1);
}

const char *tp__output_status_name(enum tp_status st)
{
    return tp__status_word(st);
}

static int json_result(struct tp__output *o, const struct tp_result *r)
{
    char num[96];
    int ok = r->status == TP_RESULT_OK;
    int n = snprintf(num, sizeof num, "{\"index\":%" PRIu64 ",\"input\":",
                     r->index);
    if (put(o, num, (size_t)n) != 0 ||
        tp__output_json_string(o, r->input, r->input_len) != 0)
        return -1;
    n = snprintf(num, sizeof num, ",\"status\":\"%s\",\"%s\":",
                 tp__output_status_name(r->status), ok ? "output" : "error");
    if (put(o, num, (size_t)n) != 0 ||
        tp__output_json_string(o, r->data, r->len) != 0)
        return -1;
    n = r->node ? snprintf(num, sizeof num, ",\"worker\":%ld,\"rank\":%u,"
                           "\"attempts\":%u,\"ms\":%.3f}\n",
                           (long)r->worker, r->node, r->attempts,
                           r->usec / 1000.0)
                : snprintf(num, sizeof num, ",\"worker\":%ld,\"attempts\":%u,"
                           "\"ms\":%.3f}\n", (long)r->worker, r->attempts,
                           r->usec / 1000.0);
    return put(o, num, (size_t)n);
}

void tp__output_progress(struct tp__output *o, int final)
{
    uint64_t now = now_ns();
    /* nothing to say before the first input is in (the pool starting) */
    if (!final && (now - o->t_drawn < REDRAW_NS || !o->pool ||
                   !tp_pool_fed(o->pool)))
        return;
    if (o->pool)
        o->done = tp_pool_completed(o->pool, &o->done_failed);
    o->t_drawn = now;
    double secs = (double)(now - o->t_start) / 1e9;
    double rate = secs > 0 ? (double)o->done / secs : 0;
    char line[256];
    int n;
    if (final && !o->progress_tty) {
        n = snprintf(line, sizeof line, "taskpool: %" PRIu64 " input%s in "
                     "%.2f s (%.0f/s), %" PRIu64 " failed\n", o->done,
                     o->done == 1 ? "" : "s", secs, rate, o->done_failed);
    } else if (o->total || o->estimate) {
        /* an estimate (a file not yet read to its end) is marked "~" */
        uint64_t all = o->total ? o->total : o->estimate;
        all = all > o->done ? all : o->done;
        double eta = rate > 0 ? (double)(all - o->done) / rate : 0;
        n = snprintf(line, sizeof line, "\rtaskpool: %" PRIu64 "/%s%" PRIu64
                     " done (%.0f%%), %" PRIu64 " failed, %.0f/s, ETA %.0f s"
                     "\033[K%s", o->done, o->total ? "" : "~", all,
                     all ? 100.0 * (double)o->done / (double)all : 100.0,
                     o->done_failed, rate, eta, final ? "\n" : "");
    } else {
        n = snprintf(line, sizeof line, "\rtaskpool: %" PRIu64 " done, %"
                     PRIu64 " failed, %.0f/s\033[K%s", o->done,
                     o->done_failed, rate, final ? "\n" : "");
    }
    if (n > 0)
        (void)tp__file_write(2, line, (size_t)n);
}

int tp__output_text(void *arg, const char *data, size_t len, uint64_t n)
{
    struct tp__output *o = arg;
    (void)n;
    if (o->progress && o->progress_tty)
        tp__output_progress(o, 0);
    if (put(o, data, len) != 0)
        return -1;
    end_record(o);
    return 0;
}

int tp__output_result(void *arg, const struct tp_result *r)
{
    struct tp__output *o = arg;
    if (r->status != TP_RESULT_OK)
        o->failed++;
    if (o->progress && o->progress_tty)
        tp__output_progress(o, 0);
    if (o->jsonl) {
        if (json_result(o, r) != 0)
            return -1;
        end_record(o);
        return 0;
    }
    if (r->status == TP_RESULT_OK) {
        if (!o->tag && !o->err && o->cap - o->len > r->len) {
            memcpy(o->buf + o->len, r->data, r->len); /* one copy, usually */
            o->len += r->len;
            o->buf[o->len++] = o->term;
            o->put_total += r->len + 1;
        } else if ((o->tag && (put(o, r->input, r->input_len) != 0 ||
                               put(o, "\t", 1) != 0)) ||
                   put(o, r->data, r->len) != 0 || put(o, &o->term, 1) != 0) {
            return -1;
        }
        end_record(o);
        return 0;
    }
    char in[4 * SHORT_INPUT + 4], msg[4 * SHORT_MSG + 4], line[2048];
    tp__escape(r->input, r->input_len, SHORT_INPUT, in);
    tp__escape(r->data, r->len, SHORT_MSG, msg);
    int n = snprintf(line, sizeof line, "%staskpool: input %" PRIu64
                     " (%s): %s\n", o->progress && o->progress_tty ? "\r\033[K"
                                                                   : "",
                     r->index + 1, in, msg);
    /* a message stderr refused: the run goes on, a log must not say it
     * was told */
    size_t len = n <= 0 ? 0 : (size_t)n < sizeof line ? (size_t)n
                                                       : sizeof line - 1;
    if (len && o->telling)
        o->telling(o->wrote_arg, r->index, line, len);
    int ok = len && tp__file_write(2, line, len) == 0;
    if (ok)
        TP_FAULT_KILL("msg-written");
    if (o->told)
        o->told(o->wrote_arg, r->index, ok);
    return o->err ? -1 : 0;
}
