#include "common/fileio.h"

#include <errno.h>
#include <unistd.h>

int tp__file_pwritev(int fd, struct iovec *v, int n, uint64_t off)
{
    while (n) {
        ssize_t w = pwritev(fd, v, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        off += (uint64_t)w;
        size_t k = (size_t)w;
        while (n && k >= v->iov_len) {
            k -= v->iov_len;
            v++;
            n--;
        }
        if (n) {
            v->iov_base = (char *)v->iov_base + k;
            v->iov_len -= k;
        }
    }
    return 0;
}

int tp__file_pwrite(int fd, const void *p, size_t n, uint64_t off)
{
    struct iovec v = {(void *)p, n};
    return tp__file_pwritev(fd, &v, 1, off);
}

int tp__file_pread(int fd, void *p, size_t n, uint64_t off)
{
    char *c = p;
    while (n) {
        ssize_t r = pread(fd, c, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EBADMSG;
            return -1;
        }
        c += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int tp__file_write(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}
