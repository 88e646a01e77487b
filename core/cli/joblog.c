#include "cli/joblog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/fileio.h"
#include "common/fnv.h"
#include "cli/input.h"
#include "cli/output.h"

#define SHORT_MSG 400
#define LINE_MAX_LEN (4 * SHORT_MSG + 256)
#define MAP_SPAN (1ull << 36) /* address space for marks, not memory */
#define DROP_EVERY (1u << 20)
#define LINES_BUF (64u << 10) /* lines are written in batches of this */

static const char header[] = "index\tworker\tstart\truntime\tattempts\tstatus"
                             "\terror\toutput\tdigest\n";

struct tp__jl_rec {
    uint64_t index, digest, line;
    unsigned status, attempts;
    unsigned char skip, pending, writing;
};

struct tp__jl_writing {
    uint64_t index, line;
    off_t at; /* its "writing" word */
};

/* FILE.held's notes (held.h): for standard output (0) and error (1), the
 * write in flight (struct tp__where) and the path the stream was opened
 * by (NUL-terminated; a longer one is not kept) */
#define NOTE_WHERE(s) (TP_HELD_NOTES_AT + 64u * (unsigned)(s))
#define NOTE_PATH(s) (256u + PATH_KEEP * (unsigned)(s))
#define PATH_KEEP 1920u

struct tp__jl_ready {
    uint64_t index, end;
};

struct tp__jl_pend {
    uint64_t index, held; /* held: its record's seq in FILE.held */
    off_t at; /* 0: an empty slot (no line starts at the header) */
};

uint64_t tp__joblog_digest(const char *p, size_t n)
{
    return tp__fnv(TP_FNV_START, p, n);
}

static void fail_write(struct tp__joblog *j)
{
    if (!j->err)
        j->err = errno ? errno : EIO;
}

static size_t rec_at(const struct tp__joblog *j, uint64_t i);

/* ---- the pending table: index -> where its "pending" word is ---- */

static size_t slot_of(const struct tp__joblog *j, uint64_t index)
{
    return (size_t)((index * 0x9e3779b97f4a7c15ull) >> 20) & (j->pcap - 1);
}

static int pend_grow(struct tp__joblog *j)
{
    size_t old = j->pcap, cap = old ? old * 2 : 1024;
    struct tp__jl_pend *t = calloc(cap, sizeof *t), *o = j->pend;
    if (!t)
        return -1;
    j->pend = t;
    j->pcap = cap;
    for (size_t i = 0; i < old; i++) {
        if (!o[i].at)
            continue;
        size_t s = slot_of(j, o[i].index);
        while (t[s].at)
            s = (s + 1) & (cap - 1);
        t[s] = o[i];
    }
    free(o);
    return 0;
}

static int pend_add(struct tp__joblog *j, uint64_t index, off_t at,
                    uint64_t held)
{
    if ((j->npend + 1) * 2 > j->pcap && pend_grow(j) != 0)
        return -1;
    size_t s = slot_of(j, index);
    while (j->pend[s].at)
        s = (s + 1) & (j->pcap - 1);
    j->pend[s] = (struct tp__jl_pend){index, held, at};
    j->npend++;
    return 0;
}

/* index's entry, or NULL. */
static struct tp__jl_pend *pend_find(struct tp__joblog *j, uint64_t index)
{
    if (!j->pcap)
        return NULL;
    size_t m = j->pcap - 1, s = slot_of(j, index);
    while (j->pend[s].at && j->pend[s].index != index)
        s = (s + 1) & m;
    return j->pend[s].at ? &j->pend[s] : NULL;
}

/* Remove index; returns its entry (at 0 if it is not there). */
static struct tp__jl_pend pend_take(struct tp__joblog *j, uint64_t index)
{
    struct tp__jl_pend none = {0, 0, 0};
    if (!j->pcap)
        return none;
    size_t m = j->pcap - 1, s = slot_of(j, index);
    while (j->pend[s].at && j->pend[s].index != index)
        s = (s + 1) & m;
    struct tp__jl_pend got = j->pend[s];
    if (!got.at)
        return none;
    /* backward-shift deletion keeps every probe chain unbroken: an entry
     * moves into the hole unless its home lies between hole and entry */
    size_t e = s;
    j->pend[e].at = 0;
    for (size_t n = (e + 1) & m; j->pend[n].at; n = (n + 1) & m) {
        size_t home = slot_of(j, j->pend[n].index);
        if (((n - home) & m) >= ((n - e) & m)) {
            j->pend[e] = j->pend[n];
            j->pend[n].at = 0;
            e = n;
        }
    }
    j->npend--;
    return got;
}

/* ---- writing ---- */

void tp__joblog_finished(struct tp__joblog *j, const struct tp_result *r)
{
    char err[4 * SHORT_MSG + 4], line[LINE_MAX_LEN], who[48];
    uint64_t digest = tp__joblog_digest(r->input, r->input_len), held = 0;
    if (r->status == TP_RESULT_OK)
        err[0] = '\0';
    else
        tp__escape(r->data, r->len, SHORT_MSG, err);
    /* under --mpi, RANK:PID */
    if (r->node)
        snprintf(who, sizeof who, "%u:%ld", r->node, (long)r->worker);
    else
        snprintf(who, sizeof who, "%ld", (long)r->worker);
    int n = snprintf(line, sizeof line,
                     "%" PRIu64 "\t%s\t%" PRIu64 ".%03u\t%.3f\t%u\t%s\t%s"
                     "\t%s\t%016" PRIx64 "\n",
                     r->index, who, r->start_ns / 1000000000u,
                     (unsigned)(r->start_ns / 1000000u % 1000u),
                     r->usec / 1e6, r->attempts,
                     tp__output_status_name(r->status), err,
                     j->seekable ? "pending" : "-", digest);
    if (n <= 0 || (size_t)n >= sizeof line) {
        errno = EOVERFLOW;
        fail_write(j);
        return;
    }
    if (!j->seekable) { /* a pipe or a device: no marks, no resuming */
        if (tp__file_write(j->fd, line, (size_t)n) != 0)
            fail_write(j);
        return;
    }
    /* the result first: a line says "pending" only with it kept */
    if (tp__held_put(&j->held, r, digest, &held) != 0) {
        fail_write(j);
        return;
    }
    /* "pending\t" and 16 hex digits and "\n" end the line */
    off_t word = j->end + n - 25;
    if (j->llen + (size_t)n > LINES_BUF && tp__joblog_flush(j) != 0)
        return;
    if (!j->lines && !(j->lines = malloc(LINES_BUF))) {
        fail_write(j);
        return;
    }
    memcpy(j->lines + j->llen, line, (size_t)n);
    j->llen += (size_t)n;
    j->end += n;
    if (pend_add(j, r->index, word, held) != 0)
        fail_write(j);
}

int tp__joblog_flush(struct tp__joblog *j)
{
    if (!j->llen)
        return 0;
    /* the results first: a line says "pending" only with its kept */
    if (tp__held_flush(&j->held) != 0 ||
        tp__file_pwrite(j->fd, j->lines, j->llen,
                       (uint64_t)j->end - j->llen) != 0) {
        fail_write(j);
        return -1;
    }
    j->llen = 0;
    return 0;
}

void tp__joblog_delivered(struct tp__joblog *j, uint64_t index, uint64_t end)
{
    if (!j->seekable)
        return;
    if (j->nready == j->rcap) {
        size_t cap = j->rcap ? j->rcap * 2 : 256;
        struct tp__jl_ready *v = malloc(cap * sizeof *v);
        if (!v) {
            fail_write(j);
            return;
        }
        for (size_t i = 0; i < j->nready; i++)
            v[i] = j->ready[(j->rhead + i) % j->rcap];
        free(j->ready);
        j->ready = v;
        j->rhead = 0;
        j->rcap = cap;
    }
    j->ready[(j->rhead + j->nready++) % j->rcap] =
        (struct tp__jl_ready){index, end};
}

/* A mark: "written", "pending" or "writing" over the word at at.  Through
 * the shared mapping it is a store, not a system call; only bytes within
 * the file may be touched (else SIGBUS), so a log that someone cut short
 * is an error, not a crash. */
static void put_word(struct tp__joblog *j, off_t at, const char *word)
{
    if (j->map && at + 7 <= j->size && (uint64_t)at + 7 <= MAP_SPAN)
        memcpy(j->map + at, word, 7);
    else if (tp__file_pwrite(j->fd, word, 7, (uint64_t)at) != 0)
        fail_write(j);
}

/* Before marking: the lines in the file, and its size known. */
static int ready_to_mark(struct tp__joblog *j)
{
    struct stat st;
    if (tp__joblog_flush(j) != 0)
        return -1;
    if (j->map && fstat(j->fd, &st) == 0)
        j->size = st.st_size;
    return 0;
}

static int put_where(struct tp__joblog *j, int stream,
                     const struct tp__where *w)
{
    if (tp__held_note_put(&j->held, NOTE_WHERE(stream), w, sizeof *w) == 0)
        return 0;
    fail_write(j);
    return -1;
}

/* Where a write to a regular file puts the records it ends: from the
 * start of the first (begun, maybe, by earlier writes) to end. */
static void where_in_file(struct tp__jl_stream *s, struct tp__where *w,
                          uint64_t end)
{
    uint64_t off;
    w->kind = TP_WHERE_UNSURE;
    if (tp__landing_at(&s->l, &off) != 0 || off < s->from - s->start)
        return;
    w->kind = TP_WHERE_FILE;
    w->dev = s->l.dev;
    w->ino = s->l.ino;
    w->off = off - (s->from - s->start);
    w->len = end - s->start;
    w->sum = tp__fnv(s->sum, s->p, (size_t)(end - s->from));
}

void tp__joblog_writing(struct tp__joblog *j, uint64_t from, const char *p,
                       size_t n)
{
    struct tp__jl_stream *s = &j->out;
    *s = (struct tp__jl_stream){s->l, s->start, s->sum, p, from, 0, n};
    if (!j->seekable)
        return;
    /* the records this write ends: none, and a kill costs no mark */
    struct tp__where w = {.kind = TP_WHERE_OTHER};
    uint64_t end = 0;
    for (size_t i = 0; i < j->nready; i++, w.count++) {
        const struct tp__jl_ready *r = &j->ready[(j->rhead + i) % j->rcap];
        if (r->end > from + n)
            break;
        end = r->end;
        w.index = r->index;
    }
    if (!w.count || ready_to_mark(j) != 0)
        return;
    if (s->l.regular)
        where_in_file(s, &w, end);
    /* the note first: a line says "writing" only with it there */
    if (put_where(j, 0, &w) != 0)
        return;
    for (size_t i = 0; i < w.count; i++) {
        const struct tp__jl_pend *e =
            pend_find(j, j->ready[(j->rhead + i) % j->rcap].index);
        if (e)
            put_word(j, e->at, "writing");
    }
    s->flight = end;
}

/* The checksum goes on from the last record end the stream reached. */
static void follow(struct tp__jl_stream *s, uint64_t total, uint64_t last)
{
    if (!s->l.regular || total < s->from)
        return;
    if (last > s->start && last >= s->from) {
        s->start = last;
        s->sum = tp__fnv(TP_FNV_START, s->p + (last - s->from),
                         (size_t)(total - last));
    } else {
        s->sum = tp__fnv(s->sum, s->p, (size_t)(total - s->from));
    }
}

void tp__joblog_written(struct tp__joblog *j, uint64_t total)
{
    struct tp__jl_stream *s = &j->out;
    uint64_t last = 0;
    if (j->nready && j->ready[j->rhead].end <= total && s->flight < total &&
        ready_to_mark(j) != 0)
        return;
    while (j->nready && j->ready[j->rhead].end <= total) {
        last = j->ready[j->rhead].end;
        struct tp__jl_pend p = pend_take(j, j->ready[j->rhead].index);
        j->rhead = (j->rhead + 1) % j->rcap;
        j->nready--;
        if (!p.at)
            continue;
        put_word(j, p.at, "written");
        /* after the mark: a kill in between leaves the result kept */
        tp__held_done(&j->held, p.held);
    }
    /* a write cut short (or failed): what did not go is pending again */
    for (size_t i = 0; i < j->nready; i++) {
        const struct tp__jl_ready *r = &j->ready[(j->rhead + i) % j->rcap];
        const struct tp__jl_pend *e;
        if (r->end > s->flight)
            break;
        if ((e = pend_find(j, r->index)))
            put_word(j, e->at, "pending");
    }
    follow(s, total, last);
    s->flight = 0;
    s->k = 0;
    /* the pages marked stay in the page cache, not in this process */
    if (j->map && (uint64_t)j->end - j->dropped > DROP_EVERY &&
        (uint64_t)j->end <= MAP_SPAN) {
        size_t upto = (size_t)j->end & ~(size_t)0xfff;
        if (madvise(j->map, upto, MADV_DONTNEED) == 0)
            j->dropped = upto;
    }
}

void tp__joblog_telling(struct tp__joblog *j, uint64_t index, const char *p,
                       size_t n)
{
    struct tp__jl_pend *e = pend_find(j, index);
    if (!j->seekable || !e || ready_to_mark(j) != 0)
        return;
    struct tp__where w = {.kind = TP_WHERE_OTHER, .index = index, .count = 1};
    uint64_t off;
    if (j->msgs.regular && tp__landing_at(&j->msgs, &off) != 0)
        w.kind = TP_WHERE_UNSURE;
    else if (j->msgs.regular)
        w = (struct tp__where){TP_WHERE_FILE, j->msgs.dev, j->msgs.ino, off,
                               n, tp__fnv(TP_FNV_START, p, n), index, 1};
    if (put_where(j, 1, &w) == 0)
        put_word(j, e->at, "writing");
}

void tp__joblog_told(struct tp__joblog *j, uint64_t index, int ok)
{
    struct tp__jl_pend p = pend_take(j, index);
    if (!p.at)
        return;
    put_word(j, p.at, ok ? "written" : "pending");
    tp__held_done(&j->held, p.held);
}

/* ---- reading back ---- */

static int by_index(const void *a, const void *b)
{
    const struct tp__jl_rec *x = a, *y = b;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Split a line into its 9 fields (in place).  0, or -1 if it has not. */
static int fields(char *s, char *f[9])
{
    int k = 0;
    f[k++] = s;
    for (; *s; s++) {
        if (*s != '\t')
            continue;
        if (k == 9)
            return -1;
        *s = '\0';
        f[k++] = s + 1;
    }
    return k == 9 ? 0 : -1;
}

/* A line that says "writing": a killed run's last write, to settle. */
static int add_writing(struct tp__joblog *j, uint64_t index, uint64_t line,
                       off_t word)
{
    if (j->nwriting % 64 == 0) {
        struct tp__jl_writing *v =
            realloc(j->writing, (j->nwriting + 64) * sizeof *v);
        if (!v)
            return -2;
        j->writing = v;
    }
    j->writing[j->nwriting++] = (struct tp__jl_writing){index, line, word};
    return 0;
}

/* Line number line, whose output word is at word in the file. */
static int parse_line(struct tp__joblog *j, char *s, uint64_t line,
                      off_t word, enum tp__resume mode)
{
    char *f[9], *end;
    if (fields(s, f) != 0 || !*f[0] || strlen(f[8]) != 16)
        return -1;
    errno = 0;
    uint64_t index = strtoull(f[0], &end, 10);
    if (errno || *end || *f[0] == '-')
        return -1;
    uint64_t digest = strtoull(f[8], &end, 16);
    if (*end || (strcmp(f[7], "written") && strcmp(f[7], "pending") &&
                 strcmp(f[7], "writing")))
        return -1;
    if (j->nrec % 1024 == 0) {
        struct tp__jl_rec *v = realloc(j->rec, (j->nrec + 1024) * sizeof *v);
        if (!v)
            return -2;
        j->rec = v;
    }
    unsigned status = 0, attempts = (unsigned)strtoul(f[4], &end, 10);
    while (status <= TP_RESULT_PROTOCOL &&
           strcmp(f[5], tp__output_status_name((enum tp_status)status)))
        status++;
    j->rec[j->nrec++] = (struct tp__jl_rec){
        .index = index, .digest = digest, .line = line,
        .status = status, .attempts = attempts,
        .pending = strcmp(f[7], "written") != 0,
        .writing = !strcmp(f[7], "writing"),
        .skip = !strcmp(f[7], "written") &&
                (mode == TP_RESUME_DONE || !strcmp(f[5], "ok")),
    };
    return j->rec[j->nrec - 1].writing ? add_writing(j, index, line, word) : 0;
}

/* The last line for an index is the one that counts. */
static void keep_last(struct tp__joblog *j)
{
    if (!j->nrec) /* (qsort may not be given NULL, even for nothing) */
        return;
    qsort(j->rec, j->nrec, sizeof *j->rec, by_index);
    size_t k = 0;
    for (size_t i = 0; i < j->nrec; i++) {
        if (k && j->rec[k - 1].index == j->rec[i].index)
            k--;
        j->rec[k++] = j->rec[i];
    }
    j->nrec = k;
}

/* Read the log at j->fd; j->end ends up after its last whole line (a line
 * cut short by a killed run is dropped).  0, or -1 with a message. */
static int read_back(struct tp__joblog *j, enum tp__resume mode, char *err,
                     size_t errlen)
{
    struct tp__input in;
    if (tp__input_init(&in, j->fd, '\n', 65536) != 0) {
        snprintf(err, errlen, "%s: %s", j->file, strerror(errno));
        return -1;
    }
    uint64_t line = 0;
    off_t at = 0;
    int r = 0;
    for (;;) {
        const char *rec;
        size_t len;
        int m = tp__input_next(&in, &rec, &len);
        if (m == 0) {
            if ((r = tp__input_fill(&in)) != 0) {
                snprintf(err, errlen, "%s: %s", j->file,
                         errno == EFBIG ? "a line is too long for a joblog"
                                        : strerror(errno));
                break;
            }
            continue;
        }
        if (m < 0)
            break;
        if (in.eof && rec + len == in.buf + in.end) {
            /* a last line without its newline: cut short by a kill (then
             * dropped), or whole (then kept, and its newline added) */
            char *copy = strndup(rec, len);
            int whole = copy && line > 0 &&
                        parse_line(j, copy, line + 1, at + (off_t)len - 24,
                                   mode) == 0;
            free(copy);
            if (whole)
                at += (off_t)len, j->newline_at = at;
            break;
        }
        line++;
        char *s = (char *)rec;
        s[len] = '\0';
        if (line == 1 && (len != sizeof header - 2 ||
                          memcmp(s, header, len) != 0)) {
            snprintf(err, errlen, "%s: not a joblog of this taskpool (its "
                     "header differs): cannot resume from it", j->file);
            r = -1;
            break;
        }
        if (line > 1 && (r = parse_line(j, s, line, at + (off_t)len - 24,
                                        mode)) != 0) {
            snprintf(err, errlen, r == -2 ? "%s: out of memory"
                     : "%s: line %" PRIu64 " is not a joblog line",
                     j->file, line);
            r = -1;
            break;
        }
        at += (off_t)len + 1;
    }
    tp__input_free(&in);
    j->end = at;
    if (r == 0)
        keep_last(j);
    return r;
}

/* The log must not be a file the run also reads or writes: it would be
 * truncated under them, or they would write over it. */
static int shared_with(const struct stat *log, int input_fd, char *err,
                       size_t errlen, const char *file)
{
    static const char *const what[] = {"the input", "standard output",
                                       "standard error"};
    int fds[] = {input_fd, 1, 2};
    for (int i = 0; i < 3; i++) {
        struct stat st;
        if (fds[i] >= 0 && fstat(fds[i], &st) == 0 &&
            st.st_dev == log->st_dev && st.st_ino == log->st_ino &&
            (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
            snprintf(err, errlen, "%s is also %s: the joblog needs a file of "
                     "its own", file, what[i]);
            return 1;
        }
    }
    if (S_ISFIFO(log->st_mode) || S_ISSOCK(log->st_mode)) {
        snprintf(err, errlen, "%s: a pipe or socket cannot hold a joblog (a "
                 "reader that stops would stop the run): use a file", file);
        return 1;
    }
    return 0;
}

/* A record in FILE.held that is the result of a line still "pending",
 * and to be written out rather than run again, makes its input skipped. */
static int want_held(void *arg, const struct tp__held_rec *h)
{
    struct tp__joblog *j = arg;
    size_t at = rec_at(j, h->index);
    struct tp__jl_rec *r = at < j->nrec ? &j->rec[at] : NULL;
    if (!r || r->index != h->index || !r->pending || r->digest != h->digest ||
        r->status != h->status || r->attempts != h->attempts ||
        (j->mode == TP_RESUME_FAILED && r->status != TP_RESULT_OK))
        return 0;
    r->skip = 1;
    return 1;
}

/* ---- resuming after a kill: the writes that were in flight ---- */

/* The note of stream s (zeros when it cannot be read). */
static void get_note(struct tp__joblog *j, int s, struct tp__where *w,
                     char *path)
{
    if (tp__held_note_get(&j->held, NOTE_WHERE(s), w, sizeof *w) != 0)
        memset(w, 0, sizeof *w);
    if (tp__held_note_get(&j->held, NOTE_PATH(s), path, PATH_KEEP) != 0)
        path[0] = '\0';
    path[PATH_KEEP - 1] = '\0';
}

/* Line e now says "written" (landed) or "pending", in the log as in rec. */
static int settle_line(struct tp__joblog *j, const struct tp__jl_writing *e,
                       int landed)
{
    size_t at = rec_at(j, e->index);
    struct tp__jl_rec *r = at < j->nrec ? &j->rec[at] : NULL;
    if (!r || r->index != e->index || r->line != e->line)
        return 0; /* not the line that counts for its input */
    r->writing = 0;
    if (landed) {
        r->pending = 0;
        r->skip = j->mode == TP_RESUME_DONE || r->status == TP_RESULT_OK;
    }
    return tp__file_pwrite(j->fd, landed ? "written" : "pending", 7,
                           (uint64_t)e->at);
}

/* Why the lines of stream s that said "writing" are written again (one
 * line on stderr); nothing when none of their bytes had been written. */
static void say_again(int s, const struct tp__where *w, enum tp__landed got,
                      const char *why, uint64_t n)
{
    char what[96];
    if (got == TP_LANDED_NONE)
        return;
    if (s == 0)
        snprintf(what, sizeof what, "last write to standard output (%" PRIu64
                 " result%s) is", n, n == 1 ? "" : "s");
    else
        snprintf(what, sizeof what, "message for input %" PRIu64 " is",
                 w->index + 1);
    if (w->kind == TP_WHERE_OTHER)
        why = "it went to a pipe, socket or terminal, where it cannot be "
              "checked (it may have been read)";
    else if (w->kind == TP_WHERE_UNSURE)
        why = "its place in the file was not known";
    else if (w->kind != TP_WHERE_FILE)
        why = "the held file has no note of it";
    fprintf(stderr, "taskpool: the killed run's %s written again: %s\n", what,
            why);
}

/* Settle the lines of stream s that say "writing": their bytes are where
 * the note says (written), or are written again (pending). */
static int settle_stream(struct tp__joblog *j, int s, const struct tp__where *w,
                         const struct tp__where *msg, const char *path)
{
    char why[PATH_KEEP + 128] = "";
    enum tp__landed got = TP_LANDED_NO;
    uint64_t n = 0;
    for (size_t i = 0; i < j->nwriting; i++) {
        /* stderr's is the one input its note names */
        int mine = msg->kind != TP_WHERE_NONE &&
                   j->writing[i].index == msg->index;
        if (mine != s)
            continue;
        if (n++ == 0 && w->kind == TP_WHERE_FILE)
            got = tp__landed(w, s + 1, path, why, sizeof why);
        if (settle_line(j, &j->writing[i], got == TP_LANDED_YES) != 0)
            return -1;
    }
    if (n && got != TP_LANDED_YES)
        say_again(s, w, got, why, n);
    return 0;
}

static int settle_writing(struct tp__joblog *j, char *err, size_t errlen)
{
    struct tp__where w[2];
    char path[2][PATH_KEEP];
    if (!j->nwriting)
        return 0;
    get_note(j, 0, &w[0], path[0]);
    get_note(j, 1, &w[1], path[1]);
    if (settle_stream(j, 0, &w[0], &w[1], path[0]) != 0 ||
        settle_stream(j, 1, &w[1], &w[1], path[1]) != 0) {
        snprintf(err, errlen, "%s: %s", j->file, strerror(errno));
        return -1;
    }
    free(j->writing);
    j->writing = NULL;
    j->nwriting = 0;
    return 0;
}

/* This run's streams, as a resume of it will look for them: what they
 * are, the paths they were opened by, and no write in flight yet. */
static int note_streams(struct tp__joblog *j, char *err, size_t errlen)
{
    static const struct tp__where none;
    char path[PATH_KEEP];
    struct tp__landing *l[2] = {&j->out.l, &j->msgs};
    j->out.sum = TP_FNV_START;
    for (int s = 0; s < 2; s++) {
        if (tp__landing_init(l[s], s + 1) != 0)
            l[s]->regular = 0; /* then nothing is checked */
        path[0] = '\0';
        if (l[s]->regular)
            tp__landing_path(s + 1, path, sizeof path);
        if (tp__held_note_put(&j->held, NOTE_WHERE(s), &none,
                              sizeof none) != 0 ||
            tp__held_note_put(&j->held, NOTE_PATH(s), path,
                              strlen(path) + 1) != 0) {
            snprintf(err, errlen, "%s: %s", j->held.path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* FILE.held: emptied for a new log, read back to resume. */
static int open_held(struct tp__joblog *j, enum tp__resume mode, int input_fd,
                     char *err, size_t errlen)
{
    struct stat st;
    if (tp__held_open(&j->held, j->file, err, errlen) != 0)
        return -1;
    if (fstat(j->held.fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", j->held.path, strerror(errno));
        return -1;
    }
    if (shared_with(&st, input_fd, err, errlen, j->held.path) ||
        tp__held_begin(&j->held, mode != TP_RESUME_NONE, err, errlen) != 0)
        return -1;
    j->mode = mode;
    /* the writes in flight settled before the held results are read
     * back: those not there are written from here */
    if (mode != TP_RESUME_NONE &&
        (settle_writing(j, err, errlen) != 0 ||
         tp__held_scan(&j->held, want_held, j, err, errlen) != 0))
        return -1;
    return note_streams(j, err, errlen);
}

int tp__joblog_open(struct tp__joblog *j, const char *file, enum tp__resume mode,
                   int input_fd, char *err, size_t errlen)
{
    memset(j, 0, sizeof *j);
    j->held.fd = -1;
    j->file = file;
    /* not O_TRUNC before the lock: that would wipe a running log */
    j->fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (j->fd < 0 && errno == EACCES && mode == TP_RESUME_NONE)
        j->fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (j->fd < 0) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return -1;
    }
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, errno == EWOULDBLOCK
                 ? "%s: in use by another taskpool run" : "%s: %s", file,
                 strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(j->fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        goto fail;
    }
    if (shared_with(&st, input_fd, err, errlen, file))
        goto fail;
    j->seekable = S_ISREG(st.st_mode);
    if (!j->seekable) {
        if (mode != TP_RESUME_NONE) {
            snprintf(err, errlen, "%s: not a regular file: cannot resume "
                     "from it", file);
            goto fail;
        }
        if (tp__file_write(j->fd, header, sizeof header - 1) != 0) {
            snprintf(err, errlen, "%s: %s", file, strerror(errno));
            goto fail;
        }
        return 0;
    }
    if (mode != TP_RESUME_NONE && read_back(j, mode, err, errlen) != 0)
        goto fail;
    if (open_held(j, mode, input_fd, err, errlen) != 0)
        goto fail;
    if (ftruncate(j->fd, j->end) != 0) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        goto fail;
    }
    if (j->newline_at && j->newline_at == j->end) {
        if (tp__file_pwrite(j->fd, "\n", 1, (uint64_t)j->end) != 0) {
            snprintf(err, errlen, "%s: %s", file, strerror(errno));
            goto fail;
        }
        j->end++;
    }
    if (j->end == 0) {
        if (tp__file_pwrite(j->fd, header, sizeof header - 1, 0) != 0) {
            snprintf(err, errlen, "%s: %s", file, strerror(errno));
            goto fail;
        }
        j->end = sizeof header - 1;
    }
    j->size = j->end;
    void *m = mmap(NULL, MAP_SPAN, PROT_READ | PROT_WRITE, MAP_SHARED |
                   MAP_NORESERVE, j->fd, 0);
    j->map = m == MAP_FAILED ? NULL : m; /* without it, marks are pwrites */
    return 0;
fail:
    tp__joblog_close(j);
    return -1;
}

int tp__joblog_match(struct tp__joblog *j, uint64_t i, const char *rec,
                    size_t len, char *err, size_t errlen)
{
    while (j->next < j->nrec && j->rec[j->next].index < i)
        j->next++;
    if (j->next == j->nrec || j->rec[j->next].index != i)
        return 0;
    const struct tp__jl_rec *r = &j->rec[j->next++];
    if (r->digest != tp__joblog_digest(rec, len)) {
        snprintf(err, errlen, "input %" PRIu64 " is not the one %s recorded "
                 "(its digest differs): the inputs changed, not resuming",
                 i + 1, j->file);
        return -1;
    }
    return r->skip;
}

/* The first record with an index at least i. */
static size_t rec_at(const struct tp__joblog *j, uint64_t i)
{
    size_t lo = 0, hi = j->nrec;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (j->rec[mid].index < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int tp__joblog_done_span(const struct tp__joblog *j, uint64_t from,
                        uint64_t to)
{
    for (size_t at = rec_at(j, from); from < to; from++, at++)
        if (at >= j->nrec || j->rec[at].index != from || !j->rec[at].skip)
            return 0;
    return 1;
}

uint64_t tp__joblog_recorded(const struct tp__joblog *j)
{
    return j->nrec ? j->rec[j->nrec - 1].index + 1 : 0;
}

void tp__joblog_rewind(struct tp__joblog *j) { j->next = 0; }

int tp__joblog_close(struct tp__joblog *j)
{
    if (j->fd >= 0 && j->seekable)
        tp__joblog_flush(j);
    int e = j->err;
    if (j->fd >= 0 && close(j->fd) != 0 && !e)
        e = errno;
    j->fd = -1;
    if (j->map)
        munmap(j->map, MAP_SPAN);
    j->map = NULL;
    tp__held_close(&j->held);
    free(j->pend);
    free(j->ready);
    free(j->rec);
    free(j->writing);
    j->writing = NULL;
    free(j->lines);
    j->lines = NULL;
    j->pend = NULL;
    j->ready = NULL;
    j->rec = NULL;
    errno = e;
    return e ? -1 : 0;
}
