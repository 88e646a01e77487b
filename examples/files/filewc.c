/* filewc: lines and bytes of the file each input names, as `wc -l -c`
 * counts them (LINES BYTES), made for
 *
 *     find DIR -type f -print0 |
 *         taskpool -0 --sandbox --allow-read DIR --tag -L . filewc:count
 *
 * -0 keeps names with blanks and newlines whole; --tag writes each name
 * before its counts.  The plugin declares TP_PLUGIN_READS_FILES, so that
 * --sandbox without --allow-read is refused at once (exit status 2,
 * naming the flag) instead of failing every input with EACCES.  Each
 * worker allocates its read buffer once, in init, and frees it in fini. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <taskpool/plugin.h>

#define BLOCK (256 * 1024)

static char *buf; /* this worker's */

static int init(tp_ctx *ctx, const char *arg)
{
    (void)arg;
    if (!(buf = malloc(BLOCK)))
        return tp_fail(ctx, "out of memory");
    return TP_OK;
}

static void fini(void)
{
    free(buf);
}

static int count(tp_ctx *ctx, const char *in, size_t len)
{
    if (memchr(in, '\0', len)) /* in[len] is a NUL: in is a C string */
        return tp_fail(ctx, "file name contains a NUL byte");
    int fd = open(in, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tp_fail(ctx, "%s", strerror(errno)); /* EACCES outside --allow-read */
    long long lines = 0, bytes = 0;
    ssize_t r;
    while ((r = read(fd, buf, BLOCK)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return tp_fail(ctx, "%s", strerror(e)); /* a directory: EISDIR */
        }
        bytes += r;
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p))); p++)
            lines++;
    }
    close(fd);
    return tp_printf(ctx, "%lld %lld", lines, bytes);
}

static const struct tp_task tasks[] = {
    {"count", "lines and bytes of the file named by the input", count},
    {NULL, NULL, NULL},
};

TASKPOOL_PLUGIN_FLAGS("filewc", "1.0", tasks, init, fini, TP_PLUGIN_READS_FILES)
