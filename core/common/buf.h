/* A growable byte buffer.  The owner frees p; tp_buf_reserve never shrinks. */
#ifndef TP_BUF_H
#define TP_BUF_H

#include <stddef.h>

struct tp_buf {
    char *p;
    size_t len, cap;
};

/* Make room for len + n bytes.  Returns 0, or -1 (ENOMEM) leaving b intact. */
int tp_buf_grow(struct tp_buf *b, size_t n);
static inline int tp_buf_reserve(struct tp_buf *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : tp_buf_grow(b, n);
}
void tp_buf_free(struct tp_buf *b);

#endif
