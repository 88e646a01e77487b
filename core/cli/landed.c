#include "cli/landed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/fnv.h"

int tp__landing_init(struct tp__landing *l, int fd)
{
    struct stat st;
    memset(l, 0, sizeof *l);
    l->fd = fd;
    if (fstat(fd, &st) != 0)
        return -1;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    l->regular = S_ISREG(st.st_mode);
    l->append = (fl & O_APPEND) != 0;
    l->dev = (uint64_t)st.st_dev;
    l->ino = (uint64_t)st.st_ino;
    return 0;
}

int tp__landing_at(const struct tp__landing *l, uint64_t *off)
{
    /* O_APPEND writes go to the end, wherever the offset is */
    off_t at = lseek(l->fd, 0, l->append ? SEEK_END : SEEK_CUR);
    if (at < 0)
        return -1;
    *off = (uint64_t)at;
    return 0;
}

void tp__landing_path(int fd, char *buf, size_t n)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(link, buf, n);
    if (k <= 0 || (size_t)k >= n || buf[0] != '/')
        k = 0; /* unknown, or too long to keep: only fd_now can match */
    buf[k] = '\0';
}

static int same_file(int fd, const struct tp__where *w)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
           (uint64_t)st.st_dev == w->dev && (uint64_t)st.st_ino == w->ino;
}

/* w's file opened for reading, or -1 (why says what became of it). */
static int open_file(const struct tp__where *w, int fd_now, const char *path,
                     char *why, size_t whylen)
{
    if (same_file(fd_now, w)) {
        /* this run writes there too (>>): read it through a new open
         * file description, as stdout is usually write-only */
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd_now);
        int fd = open(link, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0)
            return fd;
    }
    if (!*path) {
        snprintf(why, whylen, "its path was not recorded");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!same_file(fd, w)) {
        close(fd);
        snprintf(why, whylen, "%s: another file than the killed run wrote "
                 "(moved or replaced)", path);
        return -1;
    }
    return fd;
}

/* The checksum of len bytes at off, or -1 when they cannot be read. */
static int sum_of(int fd, uint64_t off, uint64_t len, uint64_t *sum)
{
    char b[65536];
    uint64_t h = TP_FNV_START;
    while (len) {
        size_t n = len < sizeof b ? (size_t)len : sizeof b;
        if (tp__file_pread(fd, b, n, off) != 0)
            return -1;
        h = tp__fnv(h, b, n);
        off += n;
        len -= n;
    }
    *sum = h;
    return 0;
}

enum tp__landed tp__landed(const struct tp__where *w, int fd_now,
                           const char *path, char *why, size_t whylen)
{
    int fd = open_file(w, fd_now, path, why, whylen);
    if (fd < 0)
        return TP_LANDED_NO;
    const char *name = *path ? path : "the killed run's output";
    struct stat st;
    uint64_t sum = 0;
    enum tp__landed r = TP_LANDED_NO;
    if (fstat(fd, &st) != 0)
        snprintf(why, whylen, "%s: %s", name, strerror(errno));
    else if ((uint64_t)st.st_size <= w->off)
        r = TP_LANDED_NONE; /* the kill came before the write */
    else if ((uint64_t)st.st_size - w->off < w->len)
        snprintf(why, whylen, "%s: shorter than the killed run's last "
                 "write there (cut short by the kill, or truncated)", name);
    else if (sum_of(fd, w->off, w->len, &sum) != 0)
        snprintf(why, whylen, "%s: %s", name, strerror(errno));
    else if (sum != w->sum)
        snprintf(why, whylen, "%s: not as the killed run left it (rewritten)",
                 name);
    else
        r = TP_LANDED_YES;
    close(fd);
    return r;
}
