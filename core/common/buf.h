/* A growable byte buffer.  The owner frees p; tp__buf_reserve never shrinks. */
#ifndef TP_BUF_H
#define TP_BUF_H

#include <stddef.h>

struct tp__buf {
    char *p;
    size_t len, cap;
};

/* Make room for len + n bytes.  Returns 0, or -1 (ENOMEM) leaving b intact. */
int tp__buf_grow(struct tp__buf *b, size_t n);
static inline int tp__buf_reserve(struct tp__buf *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : tp__buf_grow(b, n);
}
void tp__buf_free(struct tp__buf *b);

#endif
