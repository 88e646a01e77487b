/* Result writers: the only code that writes to stdout. */
#ifndef TP_OUTPUT_H
#define TP_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "taskpool/pool.h"

struct tp_output {
    int fd;
    char term;       /* written after each result: '\n' or '\0' */
    char *buf;
    size_t len, cap;
    int err;         /* errno of a failed write to fd (EPIPE: reader left) */
    uint64_t failed; /* inputs that did not succeed */
};

int tp_output_init(struct tp_output *o, int fd);
void tp_output_free(struct tp_output *o);

/* Pool callbacks (arg is the tp_output).  A result that is OK is written as
 * its output and o->term; any other writes one line to stderr:
 * "taskpool: input N (INPUT): MESSAGE" with N counted from 1 and INPUT
 * shortened and escaped.  Both return non-zero once fd cannot be written. */
int tp_output_result(void *arg, const struct tp_result *r);
int tp_output_flush(void *arg);

/* Escape s for a one-line message: \n \t \\ and \xHH for other control
 * bytes; at most max bytes of s, then "...".  Returns the length written
 * (always NUL-terminated, out must hold 4 * max + 4 bytes). */
size_t tp_escape(const char *s, size_t n, size_t max, char *out);

#endif
