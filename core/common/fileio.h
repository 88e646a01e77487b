/* Whole reads and writes on files and descriptors, through EINTR and
 * short transfers (the CLI's log, held results and messages). */
#ifndef TP_FILEIO_H
#define TP_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* All of v (n pieces; v is consumed) at off.  0, or -1 (errno; EIO if
 * nothing could be written). */
int tp__file_pwritev(int fd, struct iovec *v, int n, uint64_t off);
/* All of p at off.  0, or -1 (errno). */
int tp__file_pwrite(int fd, const void *p, size_t n, uint64_t off);
/* n bytes at off.  0, or -1 (errno; EBADMSG at the end of the file). */
int tp__file_pread(int fd, void *p, size_t n, uint64_t off);
/* All of p, at the descriptor's offset.  0, or -1 (errno). */
int tp__file_write(int fd, const void *p, size_t n);

#endif
