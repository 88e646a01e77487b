/* --sandbox with --mem-limit: memory that init left within a task's reach
 * (memhold.c). */
#ifndef TP_WORKER_MEMHOLD_H
#define TP_WORKER_MEMHOLD_H

#include <stddef.h>

/* After init, before the sandbox: 0, or -1 with a one-line message when a
 * descriptor other than keep_fd (and 0-2, the host's) is open for writing
 * on a memory file system, or a shared mapping of memory other than the
 * one at own_page exists. */
int tp__memhold_check(int keep_fd, const void *own_page, char *err,
                      size_t errlen);

#endif
