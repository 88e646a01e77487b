/* Frame encoding and checked blocking I/O; see wire.h for the format. */
#include "common/wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

void tp__wire_put_hdr(unsigned char raw[TP_WIRE_HDR], uint32_t type,
                     uint32_t count, uint32_t flags, uint64_t len)
{
    tp__put32(raw, TP_WIRE_MAGIC);
    tp__put32(raw + 4, type);
    tp__put32(raw + 8, count);
    tp__put32(raw + 12, flags);
    __builtin_memcpy(raw + 16, &len, 8);
}

int tp__wire_get_hdr(const unsigned char raw[TP_WIRE_HDR], struct tp__frame *f,
                    char *err, size_t errlen)
{
    uint32_t magic = tp__get32(raw);
    f->type = tp__get32(raw + 4);
    f->count = tp__get32(raw + 8);
    f->flags = tp__get32(raw + 12);
    __builtin_memcpy(&f->len, raw + 16, 8);
    if (magic != TP_WIRE_MAGIC) {
        snprintf(err, errlen, "bad frame magic 0x%08x", (unsigned)magic);
        return -1;
    }
    if (f->type < TP_FRAME_REQUEST || f->type > TP_FRAME_ALIVE) {
        snprintf(err, errlen, "unknown frame type %u", (unsigned)f->type);
        return -1;
    }
    if (f->len > TP_WIRE_MAX_BODY) {
        snprintf(err, errlen,
                 "frame of %llu bytes exceeds the limit of %llu bytes",
                 (unsigned long long)f->len,
                 (unsigned long long)TP_WIRE_MAX_BODY);
        return -1;
    }
    /* the least bytes a record takes, to bound count by the length */
    uint64_t per = 0;
    switch (f->type) {
    case TP_FRAME_REQUEST:
        per = f->flags & TP_REQ_DELIM ? 1 : TP_WIRE_REQ_REC;
        break;
    case TP_FRAME_RESULT:
        per = TP_WIRE_RES_MIN;
        break;
    case TP_FRAME_FAILS:
        per = TP_WIRE_FAIL_REC;
        break;
    case TP_FRAME_TEXT: /* records that all failed leave no text */
        per = 0;
        break;
    case TP_FRAME_FATAL: /* count is the kind of failure */
        per = f->count > TP_FATAL_STOPPED ? UINT64_MAX : 0;
        break;
    default: /* READY: count is a remote worker's number of workers;
                LIMIT: count is a time limit; ALIVE: nothing */
        if (f->len) {
            snprintf(err, errlen, "%s frame with a body of %llu bytes",
                     f->type == TP_FRAME_READY   ? "READY"
                     : f->type == TP_FRAME_LIMIT ? "LIMIT"
                                                 : "ALIVE",
                     (unsigned long long)f->len);
            return -1;
        }
    }
    if ((per == UINT64_MAX && f->count) ||
        (per && per != UINT64_MAX && (uint64_t)f->count * per > f->len)) {
        snprintf(err, errlen, "frame claims %u records in %llu bytes",
                 (unsigned)f->count, (unsigned long long)f->len);
        return -1;
    }
    return 0;
}

int tp__wire_get_fail(const char *body, size_t blen, size_t *pos,
                     const struct tp__wire_fail *prev, uint32_t count,
                     size_t tlen, int remote, struct tp__wire_fail *f)
{
    size_t p = *pos, h = TP_WIRE_FAIL_REC + (remote ? TP_WIRE_FAIL_REMOTE : 0);
    if (p > blen || blen - p < h)
        return -1;
    f->index = tp__get32(body + p);
    f->text_off = tp__get32(body + p + 4);
    f->len = tp__get32(body + p + 8);
    f->status = remote ? tp__get32(body + p + 12) : 1;
    f->pid = remote ? tp__get32(body + p + 16) : 0;
    f->attempts = remote ? tp__get32(body + p + 20) : 1;
    p += h;
    if (blen - p < f->len || f->index >= count || f->text_off > tlen ||
        (prev && (f->index <= prev->index || f->text_off < prev->text_off)) ||
        f->status < 1 || f->status > 4 || !f->attempts)
        return -1;
    f->msg = body + p;
    *pos = p + f->len;
    return 0;
}

long long tp__wire_take_remote(char *body, size_t blen, int timed,
                              uint32_t count,
                              int (*each)(void *arg, uint32_t k,
                                          const struct tp__wire_remote *rec),
                              void *arg)
{
    size_t h = tp__wire_res_hdr(timed), pos = 0, to = 0;
    uint32_t k = 0;
    while (pos < blen && k < count) {
        if (blen - pos < h + TP_WIRE_RES_REMOTE)
            return -1;
        uint32_t n = tp__get32(body + pos);
        if (blen - pos - h - TP_WIRE_RES_REMOTE < n)
            return -1;
        struct tp__wire_remote r = {
            tp__get32(body + pos + 4), timed ? tp__get32(body + pos + 8) : 0,
            tp__get32(body + pos + h), tp__get32(body + pos + h + 4)};
        if (r.status > 4 || !r.attempts) /* tp_status ends at PROTOCOL */
            return -1;
        if (each && each(arg, k, &r) != 0)
            return -2;
        memmove(body + to, body + pos, h);
        memmove(body + to + h, body + pos + h + TP_WIRE_RES_REMOTE, n);
        to += h + n;
        pos += h + TP_WIRE_RES_REMOTE + n;
        k++;
    }
    return pos == blen && k == count ? (long long)to : -1;
}

int tp__write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int tp__writev_all(int fd, struct iovec *v, int n)
{
    while (n) {
        ssize_t w = writev(fd, v, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (; n && (size_t)w >= v->iov_len; v++, n--)
            w -= (ssize_t)v->iov_len;
        if (n) {
            v->iov_base = (char *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int tp__read_all(int fd, void *p, size_t n)
{
    char *c = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, c + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            if (got == 0)
                return 0;
            errno = EPIPE;
            return -1;
        }
        got += (size_t)r;
    }
    return 1;
}
