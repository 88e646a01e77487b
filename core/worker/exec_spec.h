/* A worker's spec on its way to the worker helper (exec_main.c): the fork
 * transport's exec path writes it on the worker's socket right after the
 * clone; the helper reads it before anything else.  Both ends are the
 * same build of taskpool, but the helper checks every length and
 * terminator all the same: its input is bytes on a socket.
 *
 * The frame: magic (TP_EXEC_SPEC_MAGIC, which carries the version) and
 * the body's length, both u32, then the body, native order:
 *   mem_limit u64, cpu_limit u64 (the double's bits), max_procs u32,
 *   sandbox u32, filter_len u32, number of allow_read directories u32,
 *   has init_arg u32;
 *   file, task, [init_arg], each allow_read directory: NUL-terminated;
 *   the seccomp program: filter_len instructions of 8 bytes. */
#ifndef TP_EXEC_SPEC_H
#define TP_EXEC_SPEC_H

#include <stddef.h>

#include "transport/transport.h"

#define TP_EXEC_SPEC_MAGIC 0x31585054u /* "TPX1" */
#define TP_EXEC_SPEC_MAX (1u << 20)    /* body bytes, at most */

/* A decoded spec; its strings and filter point into mem. */
struct tp__exec_spec {
    struct tp__worker_spec spec;
    char *mem;          /* the body */
    const char **allow; /* allow_read, NULL-terminated, or NULL */
    void *filter;       /* the program, aligned */
};

/* The frame for s, malloc'd, into *out and *len.  0, or -1 with errno
 * (E2BIG past TP_EXEC_SPEC_MAX). */
int tp__exec_spec_encode(const struct tp__worker_spec *s, char **out,
                         size_t *len);

/* Decode the body of len bytes at body (malloc'd; taken).  0, or -1 with
 * a message; either way out is freed with tp__exec_spec_free. */
int tp__exec_spec_decode(char *body, size_t len, struct tp__exec_spec *out,
                         char *err, size_t errlen);

/* Read one frame from fd (blocking) and decode it.  0; 1 at once at EOF
 * (the host is gone); or -1 with a message.  Either way out is freed with
 * tp__exec_spec_free. */
int tp__exec_spec_read(int fd, struct tp__exec_spec *out, char *err,
                       size_t errlen);

void tp__exec_spec_free(struct tp__exec_spec *s);

#endif
