#include "cli/held.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/fnv.h"

/* the head page: magic, where the needed records start, then the log's
 * notes (tp__held_note_put) */
#define HDR 4096u
#define GIVE_BACK (1u << 20) /* space given back (or emptied) in such steps */
#define PAGE 4096u
#define WBUF (64u << 10)    /* records are written in batches of this */

static const char file_magic[8] = "tpheld2\n";
static const char rec_magic[8] = "tprec01\n";

/* A record's head, then its input, then its data (output or message). */
struct head {
    char magic[8];
    uint64_t index, digest, start_ns, input_len, data_len, sum;
    int64_t worker;
    uint32_t status, attempts, usec, node;
};
_Static_assert(sizeof(struct head) == 80, "no padding in a held record");

struct tp__held_slot {
    uint64_t start;
    int dead;
};

static uint64_t checksum(struct head hd, const char *in, const char *data)
{
    hd.sum = 0;
    uint64_t s = tp__fnv(TP_FNV_START, &hd, sizeof hd);
    return tp__fnv(tp__fnv(s, in, hd.input_len), data, hd.data_len);
}

static int put_header(struct tp__held *h, uint64_t low)
{
    char b[16]; /* the notes after it are the log's */
    memcpy(b, file_magic, 8);
    memcpy(b + 8, &low, 8);
    if (tp__file_pwrite(h->fd, b, sizeof b, 0) != 0)
        return -1;
    h->low = low;
    return 0;
}

int tp__held_open(struct tp__held *h, const char *joblog, char *err,
                 size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->fd = -1;
    h->punched = PAGE;
    size_t n = strlen(joblog);
    if (!(h->path = malloc(n + 6))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(h->path, joblog, n);
    memcpy(h->path + n, ".held", 6);
    /* never through a link: a fresh run empties it */
    h->fd = open(h->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (h->fd < 0 && errno == ELOOP) {
        snprintf(err, errlen, "%s: a symbolic link (taskpool keeps the "
                 "joblog's held results there): remove it", h->path);
        tp__held_close(h);
        return -1;
    }
    if (h->fd < 0)
        goto sys;
    /* one run at a time, as for the log: another run's log may have
     * this name */
    if (flock(h->fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, errno == EWOULDBLOCK
                 ? "%s: in use by another taskpool run" : "%s: %s",
                 h->path, strerror(errno));
        tp__held_close(h);
        return -1;
    }
    return 0;
sys:
    snprintf(err, errlen, "%s: %s", h->path, strerror(errno));
    tp__held_close(h);
    return -1;
}

int tp__held_note_put(struct tp__held *h, size_t at, const void *p, size_t n)
{
    if (at < TP_HELD_NOTES_AT || at + n > HDR) {
        errno = EINVAL;
        return -1;
    }
    return tp__file_pwrite(h->fd, p, n, at);
}

int tp__held_note_get(struct tp__held *h, size_t at, void *p, size_t n)
{
    if (at < TP_HELD_NOTES_AT || at + n > HDR) {
        errno = EINVAL;
        return -1;
    }
    return tp__file_pread(h->fd, p, n, at);
}

int tp__held_begin(struct tp__held *h, int keep, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(h->fd, &st) != 0)
        goto sys;
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file (taskpool keeps the "
                 "joblog's held results there)", h->path);
        return -1;
    }
    char b[16];
    if (st.st_size && (tp__file_pread(h->fd, b, sizeof b, 0) != 0 ||
                       memcmp(b, file_magic, 8))) {
        snprintf(err, errlen, keep ? "%s: not a file of held results of "
                 "this taskpool: cannot resume from it" : "%s: not a file "
                 "of held results of this taskpool: remove it, or give "
                 "another joblog", h->path);
        return -1;
    }
    if (!keep || st.st_size == 0) {
        /* emptied, then a head page of zeros: no notes */
        if (ftruncate(h->fd, 0) != 0 || ftruncate(h->fd, HDR) != 0 ||
            put_header(h, HDR) != 0)
            goto sys;
        h->end = HDR;
        return 0;
    }
    memcpy(&h->low, b + 8, 8);
    if (h->low < HDR || h->low > (uint64_t)st.st_size) {
        snprintf(err, errlen, "%s: its header is damaged: cannot resume from "
                 "it", h->path);
        return -1;
    }
    h->end = (uint64_t)st.st_size;
    h->punched = h->low & ~(uint64_t)(PAGE - 1);
    if (h->punched < PAGE)
        h->punched = PAGE;
    return 0;
sys:
    snprintf(err, errlen, "%s: %s", h->path, strerror(errno));
    return -1;
}

/* ---- records that may be needed, in file order ---- */

static int fifo_push(struct tp__held *h, uint64_t start, uint64_t *seq)
{
    if (h->fn == h->fcap) {
        size_t cap = h->fcap ? h->fcap * 2 : 256;
        struct tp__held_slot *v = malloc(cap * sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < h->fn; i++)
            v[i] = h->fifo[(h->fhead + i) % h->fcap];
        free(h->fifo);
        h->fifo = v;
        h->fhead = 0;
        h->fcap = cap;
    }
    h->fifo[(h->fhead + h->fn) % h->fcap] = (struct tp__held_slot){start, 0};
    *seq = h->fseq + h->fn++;
    return 0;
}

/* Give back what no record needs: all of it when nothing is needed, else
 * the space below the oldest needed record, each once it is worth a call.
 * The header moves first, so a kill in between never points into a hole.
 * A failure only leaves the space in use. */
static void give_back(struct tp__held *h)
{
    if (tp__held_flush(h) != 0)
        return;
    if (!h->fn) {
        if (h->end - HDR >= GIVE_BACK && put_header(h, HDR) == 0 &&
            ftruncate(h->fd, HDR) == 0) {
            h->end = HDR;
            h->punched = PAGE;
        }
        return;
    }
    uint64_t low = h->fifo[h->fhead].start;
    if (low - h->low < GIVE_BACK || put_header(h, low) != 0)
        return;
    uint64_t upto = low & ~(uint64_t)(PAGE - 1);
    if (upto > h->punched &&
        fallocate(h->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)h->punched, (off_t)(upto - h->punched)) == 0)
        h->punched = upto;
}

void tp__held_done(struct tp__held *h, uint64_t seq)
{
    if (seq < h->fseq || seq - h->fseq >= h->fn)
        return;
    h->fifo[(h->fhead + (seq - h->fseq)) % h->fcap].dead = 1;
    if (seq != h->fseq)
        return;
    while (h->fn && h->fifo[h->fhead].dead) {
        h->fhead = (h->fhead + 1) % h->fcap;
        h->fseq++;
        h->fn--;
    }
    give_back(h);
}

int tp__held_flush(struct tp__held *h)
{
    if (!h->wlen)
        return 0;
    if (tp__file_pwrite(h->fd, h->wbuf, h->wlen, h->end - h->wlen) != 0)
        return -1;
    h->wlen = 0;
    return 0;
}

/* Into the batch, or (a record larger than a batch) straight to the file. */
static int put_rec(struct tp__held *h, struct iovec *v, size_t n)
{
    if (h->wlen + n > WBUF && tp__held_flush(h) != 0)
        return -1;
    if (n > WBUF)
        return tp__file_pwritev(h->fd, v, 3, h->end);
    if (!h->wbuf && !(h->wbuf = malloc(WBUF)))
        return -1;
    for (int i = 0; i < 3; i++) {
        memcpy(h->wbuf + h->wlen, v[i].iov_base, v[i].iov_len);
        h->wlen += v[i].iov_len;
    }
    return 0;
}

int tp__held_put(struct tp__held *h, const struct tp_result *r,
                uint64_t digest, uint64_t *seq)
{
    struct head hd = {
        .index = r->index, .digest = digest, .start_ns = r->start_ns,
        .input_len = r->input_len, .data_len = r->len,
        .worker = r->worker, .status = (uint32_t)r->status,
        .attempts = r->attempts, .usec = r->usec, .node = r->node,
    };
    memcpy(hd.magic, rec_magic, 8);
    hd.sum = checksum(hd, r->input, r->data);
    struct iovec v[3] = {{&hd, sizeof hd}, {(void *)r->input, r->input_len},
                         {(void *)r->data, r->len}};
    size_t n = sizeof hd + r->input_len + r->len;
    if (put_rec(h, v, n) != 0)
        return -1;
    if (fifo_push(h, h->end, seq) != 0) {
        errno = ENOMEM;
        return -1;
    }
    h->end += n;
    return 0;
}

/* ---- reading back ---- */

/* The record at off, checked whole: 0 with its head, or -1. */
static int read_rec(struct tp__held *h, uint64_t off, struct head *hd)
{
    if (h->end - off < sizeof *hd ||
        tp__file_pread(h->fd, hd, sizeof *hd, off) != 0 ||
        memcmp(hd->magic, rec_magic, 8) ||
        hd->input_len > TP_POOL_RECORD_MAX ||
        hd->data_len > TP_POOL_RECORD_MAX ||
        h->end - off - sizeof *hd < hd->input_len + hd->data_len)
        return -1;
    struct head z = *hd;
    z.sum = 0;
    uint64_t s = tp__fnv(TP_FNV_START, &z, sizeof z);
    char b[65536];
    off += sizeof *hd;
    for (uint64_t left = hd->input_len + hd->data_len; left;) {
        size_t n = left < sizeof b ? (size_t)left : sizeof b;
        if (tp__file_pread(h->fd, b, n, off) != 0)
            return -1;
        s = tp__fnv(s, b, n);
        off += n;
        left -= n;
    }
    return s == hd->sum ? 0 : -1;
}

static int by_index_then_off(const void *a, const void *b)
{
    const struct tp__held_rec *x = a, *y = b;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int by_off(const void *a, const void *b)
{
    const struct tp__held_rec *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int add_replay(struct tp__held *h, const struct tp__held_rec *r)
{
    if (h->nreplay % 256 == 0) {
        struct tp__held_rec *v =
            realloc(h->replay, (h->nreplay + 256) * sizeof *v);
        if (!v)
            return -1;
        h->replay = v;
    }
    h->replay[h->nreplay++] = *r;
    return 0;
}

/* The last record of each index only; then each becomes needed (in file
 * order, as the fifo wants), and the replays are put in input order. */
static int settle(struct tp__held *h)
{
    if (!h->nreplay)
        return 0;
    qsort(h->replay, h->nreplay, sizeof *h->replay, by_index_then_off);
    size_t k = 0;
    for (size_t i = 0; i < h->nreplay; i++) {
        if (k && h->replay[k - 1].index == h->replay[i].index)
            k--;
        h->replay[k++] = h->replay[i];
    }
    h->nreplay = k;
    qsort(h->replay, k, sizeof *h->replay, by_off);
    for (size_t i = 0; i < k; i++)
        if (fifo_push(h, h->replay[i].off, &h->replay[i].seq) != 0)
            return -1;
    qsort(h->replay, k, sizeof *h->replay, by_index_then_off);
    return 0;
}

int tp__held_scan(struct tp__held *h,
                 int (*want)(void *arg, const struct tp__held_rec *r),
                 void *arg, char *err, size_t errlen)
{
    uint64_t off = h->low;
    struct head hd;
    while (off < h->end && read_rec(h, off, &hd) == 0) {
        struct tp__held_rec r = {
            .index = hd.index, .digest = hd.digest, .off = off,
            .status = hd.status, .attempts = hd.attempts,
        };
        if (want(arg, &r) && add_replay(h, &r) != 0)
            goto oom;
        off += sizeof hd + hd.input_len + hd.data_len;
    }
    if (off < h->end && ftruncate(h->fd, (off_t)off) != 0) {
        snprintf(err, errlen, "%s: %s", h->path, strerror(errno));
        return -1;
    }
    h->end = off;
    if (settle(h) == 0)
        return 0;
oom:
    snprintf(err, errlen, "%s: out of memory", h->path);
    return -1;
}

uint64_t tp__held_next(const struct tp__held *h)
{
    return h->next < h->nreplay ? h->replay[h->next].index : UINT64_MAX;
}

int tp__held_load(struct tp__held *h, struct tp_result *r)
{
    const struct tp__held_rec *p = &h->replay[h->next];
    struct head hd;
    if (tp__file_pread(h->fd, &hd, sizeof hd, p->off) != 0)
        return -1;
    size_t n = (size_t)(hd.input_len + hd.data_len);
    if (memcmp(hd.magic, rec_magic, 8) || hd.index != p->index ||
        hd.input_len > TP_POOL_RECORD_MAX || hd.data_len > TP_POOL_RECORD_MAX) {
        errno = EBADMSG;
        return -1;
    }
    if (n + 1 > h->bufcap) {
        char *b = realloc(h->buf, n + 1);
        if (!b)
            return -1;
        h->buf = b;
        h->bufcap = n + 1;
    }
    if (tp__file_pread(h->fd, h->buf, n, p->off + sizeof hd) != 0)
        return -1;
    if (checksum(hd, h->buf, h->buf + hd.input_len) != hd.sum) {
        errno = EBADMSG;
        return -1;
    }
    *r = (struct tp_result){
        .size = sizeof *r, .index = hd.index, .status = (enum tp_status)hd.status,
        .input = h->buf, .input_len = (size_t)hd.input_len,
        .data = h->buf + hd.input_len, .len = (size_t)hd.data_len,
        .worker = (pid_t)hd.worker, .attempts = hd.attempts,
        .usec = hd.usec, .start_ns = hd.start_ns, .node = hd.node,
    };
    return 0;
}

void tp__held_loaded(struct tp__held *h)
{
    tp__held_done(h, h->replay[h->next++].seq);
}

void tp__held_close(struct tp__held *h)
{
    if (h->fd >= 0) {
        tp__held_flush(h); /* a failure: the log says why */
        if (h->end && !h->fn)
            unlink(h->path);
        close(h->fd);
    }
    h->fd = -1;
    free(h->path);
    free(h->fifo);
    free(h->replay);
    free(h->buf);
    free(h->wbuf);
    h->wbuf = NULL;
    h->path = NULL;
    h->fifo = NULL;
    h->replay = NULL;
    h->buf = NULL;
}
