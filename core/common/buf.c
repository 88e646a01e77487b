#include "common/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int tp__buf_grow(struct tp__buf *b, size_t n)
{
    if (n > SIZE_MAX - b->len) {
        errno = ENOMEM;
        return -1;
    }
    size_t need = b->len + n, cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

void tp__buf_free(struct tp__buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
