#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define OUT_CAP (64u << 10)
#define SHORT_INPUT 40
#define SHORT_MSG 400

int tp_output_init(struct tp_output *o, int fd)
{
    memset(o, 0, sizeof *o);
    o->fd = fd;
    o->term = '\n';
    o->cap = OUT_CAP;
    o->buf = malloc(o->cap);
    return o->buf ? 0 : -1;
}

void tp_output_free(struct tp_output *o)
{
    free(o->buf);
    o->buf = NULL;
}

static int put(struct tp_output *o, const char *p, size_t n)
{
    if (o->err)
        return -1;
    if (o->cap - o->len < n) {
        if (tp_output_flush(o) != 0)
            return -1;
        if (n >= o->cap) { /* large results go straight out */
            if (tp_write_all(o->fd, p, n) != 0) {
                o->err = errno;
                return -1;
            }
            return 0;
        }
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return 0;
}

int tp_output_flush(void *arg)
{
    struct tp_output *o = arg;
    if (o->err)
        return -1;
    if (o->len && tp_write_all(o->fd, o->buf, o->len) != 0) {
        o->err = errno;
        return -1;
    }
    o->len = 0;
    return 0;
}

size_t tp_escape(const char *s, size_t n, size_t max, char *out)
{
    static const char hex[] = "0123456789abcdef";
    char *d = out;
    size_t i;
    for (i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            *d++ = '\\';
            *d++ = 'n';
        } else if (c == '\t') {
            *d++ = '\\';
            *d++ = 't';
        } else if (c == '\\') {
            *d++ = '\\';
            *d++ = '\\';
        } else if (c < 0x20 || c == 0x7f) {
            *d++ = '\\';
            *d++ = 'x';
            *d++ = hex[c >> 4];
            *d++ = hex[c & 15];
        } else {
            *d++ = (char)c;
        }
    }
    if (i < n) {
        memcpy(d, "...", 3);
        d += 3;
    }
    *d = '\0';
    return (size_t)(d - out);
}

int tp_output_result(void *arg, const struct tp_result *r)
{
    struct tp_output *o = arg;
    if (r->status == TP_RESULT_OK) {
        if (put(o, r->data, r->len) != 0 || put(o, &o->term, 1) != 0)
            return -1;
        return 0;
    }
    o->failed++;
    char in[4 * SHORT_INPUT + 4], msg[4 * SHORT_MSG + 4], line[2048];
    tp_escape(r->input, r->input_len, SHORT_INPUT, in);
    tp_escape(r->data, r->len, SHORT_MSG, msg);
    int n = snprintf(line, sizeof line, "taskpool: input %" PRIu64 " (%s): %s\n",
                     r->index + 1, in, msg);
    if (n > 0)
        (void)tp_write_all(2, line, (size_t)n < sizeof line ? (size_t)n
                                                            : sizeof line - 1);
    return o->err ? -1 : 0;
}
